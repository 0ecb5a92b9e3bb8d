/* cmd_graph.c - `rapid graph [TARGET...]`: targets and their edges in
 * DOT, offline: the named targets and their upstream, or every target. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "cli/session.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dot_id(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* The attributes of the edge of input k of t: its name, and for a
 * gathering input the wildcards it gathers over ("maps\n(gathers run)"),
 * drawn bold with a crow's foot at the upstream end. */
static void edge_attrs(const struct target *t, size_t k)
{
	const struct input *in = &t->inputs[k];
	printf(" [label=");
	if (!in->gather) {
		dot_id(in->name);
		printf("];\n");
		return;
	}
	struct buf b = {0};
	buf_printf(&b, "%s (gathers", in->name);
	for (size_t uk = 0; uk < in->up->nwildcards; uk++) {
		bool shared = false;
		for (size_t w = 0; w < t->nwildcards && !shared; w++)
			shared = !strcmp(t->wildcards[w].name, in->up->wildcards[uk].name);
		if (!shared)
			buf_printf(&b, " %s", in->up->wildcards[uk].name);
	}
	buf_putc(&b, ')');
	dot_id(b.data);
	printf(", style=bold, dir=both, arrowtail=crow];\n");
	buf_free(&b);
}

/* Per target (rf->targets' order): the named ones and everything
 * upstream of them; every target when none is named. NULL after printing
 * which name is no target. Offline: read from the Rapidfile's references,
 * without expanding any set. */
static bool *select_targets(const struct session *s)
{
	const struct rapidfile *rf = s->rf;
	bool *sel = xcalloc(rf->ntargets + 1, sizeof(bool));
	for (size_t ti = 0; ti < rf->ntargets; ti++)
		sel[ti] = s->ntargets == 0;
	for (size_t k = 0; k < s->ntargets; k++) {
		const struct target *t = rules_target(rf, s->targets[k]);
		if (t) {
			sel[t->index] = true;
			continue;
		}
		const char **names = xcalloc(rf->ntargets + 1, sizeof(char *));
		for (size_t ti = 0; ti < rf->ntargets; ti++)
			names[ti] = rf->targets[ti]->name;
		const char *hint = closest_word(s->targets[k], names, rf->ntargets);
		if (hint)
			warn("no target '%s' in %s (did you mean '%s'?)", s->targets[k], rf->path, hint);
		else
			warn("no target '%s' in %s", s->targets[k], rf->path);
		free(names);
		free(sel);
		return NULL;
	}
	/* targets come upstream first: one pass from the last brings every
	 * upstream along */
	for (size_t ti = rf->ntargets; ti-- > 0;) {
		const struct target *t = rf->targets[ti];
		for (size_t k = 0; sel[ti] && k < t->ninputs; k++)
			if (t->inputs[k].up)
				sel[t->inputs[k].up->index] = true;
	}
	return sel;
}

const struct cli_option graph_options[] = {{0}};

int cmd_graph(int argc, char **argv)
{
	struct session s = {0};
	struct cli_args a;
	bool *selected = NULL;
	int ret = 1;
	cli_args_init(&a, "graph", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o != CLI_WORD) {
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
		session_arg(&s, a.value);
	}
	if (session_open(&s, false, false) < 0)
		goto out;
	selected = select_targets(&s);
	if (!selected)
		goto out;
	printf("digraph rapid {\n  rankdir=LR;\n  node [shape=box];\n");
	for (size_t ti = 0; ti < s.rf->ntargets; ti++) {
		const struct target *t = s.rf->targets[ti];
		if (!selected[ti])
			continue;
		struct buf label = {0};
		buf_puts(&label, t->name);
		for (size_t k = 0; k < t->nwildcards; k++) {
			const struct set *v = &t->wildcards[k].values;
			if (v->deferred)
				buf_printf(&label, "\\n%s: %s", t->wildcards[k].name, v->deferred_what ? v->deferred_what : "?");
			else
				buf_printf(&label, "\\n%s: %zu", t->wildcards[k].name, v->n);
		}
		printf("  ");
		dot_id(t->name);
		printf(" [label=\"");
		for (const char *c = label.data; *c; c++) {
			if (*c == '"')
				putchar('\\');
			putchar(*c);
		}
		printf("\"];\n");
		buf_free(&label);
		for (size_t k = 0; k < t->ninputs; k++) {
			if (!t->inputs[k].up)
				continue;
			printf("  ");
			dot_id(t->inputs[k].up->name);
			printf(" -> ");
			dot_id(t->name);
			edge_attrs(t, k);
		}
	}
	printf("}\n");
	ret = 0;
out:
	free(selected);
	session_close(&s);
	return ret;
}
