/* cmd_check.c - `rapid check [VAR=value...]`: load the Rapidfile offline
 * (no hooks: nothing touches the network or the inputs) and summarise
 * each target, or print every error found. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/graph.h"
#include "engine/overlap.h"
#include "lib/util.h"
#include "rules/rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_VALUES 4

const struct cli_option check_options[] = {{0}};

/* 1234567 -> "1,234,567" into out. */
static void commas(size_t n, char out[32])
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%zu", n);
	int o = 0;
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = 0;
}

static void print_target(const struct target *t)
{
	char num[32];
	/* Instances: the product of the set sizes, unknown when deferred. */
	bool known = true;
	size_t inst = 1;
	bool overflow = false;
	for (size_t w = 0; w < t->nwildcards; w++) {
		const struct set *s = &t->wildcards[w].values;
		if (s->deferred)
			known = false;
		else if (s->n && inst > SIZE_MAX / s->n)
			overflow = true;
		else
			inst *= s->n;
	}
	printf("target %s: ", t->name);
	if (!known)
		printf("instances not known offline\n");
	else if (overflow)
		printf("too many instances to count\n");
	else {
		commas(inst, num);
		printf("%s instance%s\n", num, inst == 1 ? "" : "s");
	}
	for (size_t w = 0; w < t->nwildcards; w++) {
		const struct wildcard *wc = &t->wildcards[w];
		const struct set *s = &wc->values;
		printf("  foreach %s: ", wc->name);
		if (s->deferred) {
			printf("%s not evaluated offline\n", s->deferred_what);
			continue;
		}
		commas(s->n, num);
		printf("%s value%s", num, s->n == 1 ? "" : "s");
		for (size_t i = 0; i < s->n && i < SHOW_VALUES; i++)
			printf("%s%s", i ? " " : " (", s->v[i]);
		if (s->n > SHOW_VALUES)
			printf(" ...");
		printf("%s\n", s->n ? ")" : "");
	}
	for (size_t i = 0; i < t->ninputs; i++) {
		const struct input *in = &t->inputs[i];
		const char *kw = in->optional ? "input?" : "input";
		if (in->up) {
			printf("  %-7s %s = %s.%s", kw, in->name, in->up->name,
			       in->up->outputs[in->up_output].name);
			if (in->gather) { /* the upstream's wildcards this target lacks */
				printf("  (gathers");
				for (size_t k = 0; k < in->up->nwildcards; k++) {
					bool shared = false;
					for (size_t w = 0; w < t->nwildcards && !shared; w++)
						shared = !strcmp(t->wildcards[w].name, in->up->wildcards[k].name);
					if (!shared)
						printf(" %s", in->up->wildcards[k].name);
				}
				printf(")");
			}
			printf("\n");
		} else {
			char *u = rules_tmpl_text(t, &in->uri);
			printf("  %-7s %s = %s\n", kw, in->name, u);
			free(u);
		}
	}
	for (size_t i = 0; i < t->noutputs; i++) {
		char *u = rules_tmpl_text(t, &t->outputs[i].uri);
		printf("  output  %s = %s\n", t->outputs[i].name, u);
		free(u);
	}
	printf("  root    %s\n", t->root);
	if (t->image)
		printf("  image   %s\n", t->image);
	if (t->memory_mib >= 0 || t->vcpus >= 0 || t->timeout_s >= 0 || t->retries >= 0) {
		printf("  limits ");
		if (t->memory_mib >= 0)
			printf(" memory %ld MiB", t->memory_mib);
		if (t->vcpus >= 0)
			printf(" vcpus %ld", t->vcpus);
		if (t->timeout_s >= 0)
			printf(" timeout %lds", t->timeout_s);
		if (t->retries >= 0)
			printf(" retries %ld", t->retries);
		printf("\n");
	}
}

int cmd_check(int argc, char **argv)
{
	struct rules_opts opts = {0};
	struct cli_args a;
	char **ov = xcalloc((size_t)argc, sizeof(char *));
	int ret = 2;
	cli_args_init(&a, "check", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o != CLI_WORD) {
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
		ov[opts.noverrides++] = a.value;
	}
	opts.overrides = ov;
	const char *path = g_opts.file ? g_opts.file : "Rapidfile";
	struct rapidfile *rf;
	if (rules_load(path, &opts, &rf) < 0) {
		ret = 1;
		goto out;
	}
	/* Overlapping paths need the instances; a set read from S3 is not
	 * known offline, and plan checks those when it knows them. */
	bool deferred = false;
	for (size_t i = 0; i < rf->ntargets; i++)
		for (size_t w = 0; w < rf->targets[i]->nwildcards; w++)
			deferred = deferred || rf->targets[i]->wildcards[w].values.deferred;
	if (!deferred) {
		struct graph *g = graph_new(rf);
		int r = g ? overlap_check(g, NULL) : -1;
		graph_free(g);
		if (r < 0) {
			rules_free(rf);
			ret = 1;
			goto out;
		}
	}
	rules_warn_recipe_files(rf);
	for (size_t i = 0; i < rf->ntargets; i++)
		print_target(rf->targets[i]);
	printf("rapid: %s ok (%zu target%s)\n", path, rf->ntargets, rf->ntargets == 1 ? "" : "s");
	rules_free(rf);
	ret = 0;
out:
	free(ov);
	return ret;
}
