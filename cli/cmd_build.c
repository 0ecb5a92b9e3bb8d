/* cmd_build.c - `rapid build`: plan, then run what is stale. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "engine/exec.h"
#include "engine/plan.h"
#include "cli/session.h"
#include "engine/state.h"
#include "engine/submit.h"
#include "cfn/stack.h"
#include "aws/error.h"
#include "aws/batch.h"
#include <unistd.h>
#include "lib/util.h"
#include "runner/container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_DRY_RUN = 1, O_JOBS, O_KEEP_GOING, O_BACKEND, O_FORCE, O_REFRESH, O_VERBOSE, O_CORES, O_MEMORY,
       O_CONTAINER, O_JOB_QUEUE, O_JOB_DEFINITION, O_WAIT };

const struct cli_option build_options[] = {
	{O_DRY_RUN, 'n', "dry-run", NULL, "print the plan and run nothing"},
	{O_JOBS, 'j', "jobs", "[N]", "run at most N at once (default 1; -j alone: one per core)"},
	{O_CORES, 0, "cores", "N", "vcpus the running instances may take (default: all)"},
	{O_MEMORY, 0, "memory", "SIZE", "memory they may take: MiB, or 8G (default: all)"},
	{O_KEEP_GOING, 'k', "keep-going", NULL, "after a failure, go on with what does not depend on it"},
	{O_BACKEND, 0, "backend", "local|batch",
	 "where instances run: local (this machine, the default) or batch (AWS Batch array jobs)"},
	{O_JOB_QUEUE, 0, "job-queue", "QUEUE", "batch: the job queue (default: the remembered stack's)"},
	{O_JOB_DEFINITION, 0, "job-definition", "DEF",
	 "batch: the job definition images derive from (default: the remembered stack's)"},
	{O_CONTAINER, 0, "container", "podman|docker|none",
	 "run each target that names an image in it, with this tool (default none)"},
	{O_WAIT, 0, "wait", NULL, "batch: follow the submission until nothing of it runs; exit 1 if anything failed"},
	{O_FORCE, 0, "force", NULL, "rebuild the named targets (all if none), not upstream"},
	{O_REFRESH, 0, "refresh", NULL, "re-read every input instead of trusting cached fingerprints"},
	{O_VERBOSE, 'v', "verbose", NULL, "also say on stderr which S3 requests the build made"},
	{0},
};

/* A --memory SIZE in MiB: a number of MiB, or of K, M, G or T (powers
 * of 1024; "8G", "8GiB", "512M", "1.5G"); -1 when it is not one. */
static long parse_size(const char *v)
{
	char *end;
	errno = 0;
	double n = strtod(v, &end);
	if (errno || end == v || !(n > 0) || *v == '-' || *v == '+')
		return -1;
	double mib;
	switch (*end) {
	case 'k': case 'K': mib = n / 1024; end++; break;
	case 'm': case 'M': mib = n; end++; break;
	case 'g': case 'G': mib = n * 1024; end++; break;
	case 't': case 'T': mib = n * 1024 * 1024; end++; break;
	default: mib = n; break;
	}
	if (end[0] == 'i' && (end[1] == 'B' || end[1] == 'b'))
		end += 2;
	else if (end[0] == 'B' || end[0] == 'b')
		end++;
	if (*end || mib > 1e12)
		return -1;
	long r = (long)mib;
	return r < mib ? r + 1 : r < 1 ? 1 : r;
}

/* --force: per group, whether its up-to-date instances are rebuilt too.
 * The targets named on the command line (their upstream is not forced),
 * or every selected target when none is named. */
static bool *forced_groups(const struct session *s)
{
	const struct graph *g = s->g;
	bool *f = xcalloc(g->ngroups + 1, sizeof(bool));
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		f[gi] = s->ntargets == 0 && g->groups[gi].selected;
		for (size_t k = 0; k < s->ntargets; k++)
			f[gi] |= !strcmp(g->groups[gi].t->name, s->targets[k]);
	}
	return f;
}

/* --container: each selected target without an image runs on this
 * machine as without the option; say so once for each. */
static void say_no_image(const struct session *s, const char *tool)
{
	const struct graph *g = s->g;
	for (size_t gi = 0; gi < g->ngroups; gi++)
		if (g->groups[gi].selected && !g->groups[gi].t->image)
			warn("target '%s' names no image: it runs on this machine, not in %s",
			     g->groups[gi].t->name, tool);
}

/* The queue and job definition of the batch backend: the options', else
 * the remembered stack's (rapid stack create). 0, or -1 after saying what
 * is missing. */
static int batch_target(const char **queue, const char **definition, struct stack_info *stack)
{
	if (*queue && *definition)
		return 0;
	struct aws_error err = {0};
	int r = stack_load(stack, &err);
	if (r < 0) {
		warn("cannot read the remembered stack: %s", err.message ? err.message : "unknown error");
		aws_error_clear(&err);
		return -1;
	}
	if (!*queue)
		*queue = r > 0 ? stack->job_queue : NULL;
	if (!*definition)
		*definition = r > 0 ? stack->job_definition : NULL;
	if (!*queue || !*definition) {
		warn("build: the batch backend needs a job queue and a job definition: run `rapid stack create`, "
		     "or give --job-queue and --job-definition");
		return -1;
	}
	return 0;
}

/* build --backend batch --wait: plan again every few seconds (which asks
 * Batch about the open submissions) until none of their jobs may still
 * run, with a progress line; then 0 when every selected instance is up
 * to date, 1 when any failed or is still to build (said). */
static int wait_batch(struct session *s, const struct plan_opts *po)
{
	const char *env = getenv("RAPID_POLL_S");
	unsigned poll = env && atoi(env) > 0 ? (unsigned)atoi(env) : 10;
	for (;;) {
		struct plan *p = plan_new(s->g, s->st, po);
		if (!p)
			return 1;
		size_t alive = 0, children[8] = {0}, failed = 0, stale = 0;
		for (size_t k = 0; k < p->njobs; k++) {
			alive += p->jobs[k].alive;
			for (int st = 0; st < 8; st++)
				children[st] += p->jobs[k].summary[st];
		}
		for (size_t i = 0; i < s->g->ninst; i++) {
			const struct instance *in = &s->g->inst[i];
			if (!s->g->groups[in->group].selected)
				continue;
			failed += in->state == INST_STALE && in->reason == R_FAILED;
			stale += in->state == INST_STALE;
		}
		if (!alive) {
			plan_free(p);
			if (failed || stale) {
				warn("submission ended: %zu instance%s failed, %zu not built (rapid status says why)", failed,
				     failed == 1 ? "" : "s", stale - failed);
				return 1;
			}
			fprintf(stderr, "rapid: submission ended: everything is up to date\n");
			return 0;
		}
		fprintf(stderr, "rapid: %zu job%s in flight: children %zu queued, %zu running, %zu succeeded, %zu failed\n",
			alive, alive == 1 ? "" : "s",
			children[BATCH_SUBMITTED] + children[BATCH_PENDING] + children[BATCH_RUNNABLE],
			children[BATCH_STARTING] + children[BATCH_RUNNING], children[BATCH_SUCCEEDED],
			children[BATCH_FAILED]);
		plan_free(p);
		sleep(poll);
	}
}

int cmd_build(int argc, char **argv)
{
	struct session s = {0};
	struct plan_opts po = {0};
	struct build_opts bo = {.jobs = 1};
	struct cli_args a;
	bool dry = false, force = false, jobs_per_core = false, *forced = NULL, batch = false, wait = false;
	const char *queue = NULL, *definition = NULL;
	struct stack_info stack = {0};
	struct plan *p = NULL;
	int ret = 1;
	cli_args_init(&a, "build", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case O_DRY_RUN: dry = true; break;
		case O_KEEP_GOING: bo.keep_going = true; break;
		case O_FORCE: force = true; break;
		case O_REFRESH: po.refresh = true; break;
		case O_VERBOSE: bo.verbose = true; break;
		case O_JOBS:
			/* -j alone: one per core (of --cores when given, wherever it is) */
			if (!a.value)
				jobs_per_core = true;
			else if ((bo.jobs = session_parse_count("-j", a.value)) < 0) {
				ret = 2;
				goto out;
			} else
				jobs_per_core = false;
			break;
		case O_CORES:
			if ((bo.cores = session_parse_count("--cores", a.value)) < 0) {
				ret = 2;
				goto out;
			}
			break;
		case O_MEMORY:
			if ((bo.memory_mib = parse_size(a.value)) < 0) {
				warn("option --memory needs a size in MiB (or with K, M, G, T: 8G), not '%s'", a.value);
				ret = 2;
				goto out;
			}
			break;
		case O_JOB_QUEUE: queue = a.value; break;
		case O_WAIT: wait = true; break;
		case O_JOB_DEFINITION: definition = a.value; break;
		case O_BACKEND:
			batch = !strcmp(a.value, "batch");
			if (strcmp(a.value, "local") && !batch) {
				warn("build: unknown backend '%s' (the backends: local, batch)", a.value);
				cli_usage_lines(stderr, a.cmd);
				ret = 2;
				goto out;
			}
			break;
		case O_CONTAINER:
			if (!strcmp(a.value, "none")) {
				po.container = NULL;
			} else if (container_tool_known(a.value)) {
				po.container = a.value;
			} else {
				warn("build: unknown container tool '%s' (the tools: podman, docker, none)", a.value);
				cli_usage_lines(stderr, a.cmd);
				ret = 2;
				goto out;
			}
			break;
		case CLI_WORD: session_arg(&s, a.value); break;
		default:
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
	}
	if (jobs_per_core)
		bo.jobs = bo.cores ? bo.cores : exec_machine_cores();
	if (batch) {
		if (po.container) {
			warn("build: --container runs recipes on this machine; the batch backend runs them in the "
			     "job definition's image");
			ret = 2;
			goto out;
		}
		po.batch = true;
		if (batch_target(&queue, &definition, &stack) < 0) {
			ret = 2;
			goto out;
		}
	}
	if (session_open(&s, true, true) < 0)
		goto out;
	/* a Batch job gets its inputs and nothing else beside the Rapidfile */
	if (batch && rules_warn_recipe_files(s.rf) > 0) {
		warn("build: the batch backend runs recipes in a container that has only their inputs: "
		     "declare the files above as inputs");
		ret = 2;
		goto out;
	}
	if (force)
		po.forced = forced = forced_groups(&s);
	if (po.container)
		say_no_image(&s, po.container);
	p = plan_new(s.g, s.st, &po);
	if (!p)
		goto out;
	if (batch) {
		struct submit_opts so = {.queue = queue, .definition = definition, .dry_run = dry};
		if (dry)
			plan_print(p, stdout, false);
		ret = submit_build(p, &so);
		if (state_commit(s.st) < 0 && ret == 0)
			ret = 1;
		if (ret == 0 && wait && !dry)
			ret = wait_batch(&s, &po);
	} else if (dry) {
		plan_print(p, stdout, false);
		ret = 0;
	} else if (p->pending == 0) {
		plan_print(p, stdout, false);
		ret = 0;
	} else {
		size_t running = 0, stale = 0;
		for (size_t gi = 0; gi < s.g->ngroups; gi++) {
			running += p->count[gi][INST_RUNNING];
			stale += p->count[gi][INST_STALE];
		}
		fprintf(stderr, "rapid: %zu instance%s to build", stale, stale == 1 ? "" : "s");
		if (p->skipped)
			fprintf(stderr, ", %zu skipped (see rapid plan)", p->skipped);
		if (running)
			fprintf(stderr, ", %zu running in another build", running);
		fputc('\n', stderr);
		plan_sweep(p); /* what killed runners left; said why if it failed */
		int r = exec_local(p, &bo);
		if (state_commit(s.st) < 0)
			r = r ? r : 1;
		ret = r == 0 ? 0 : r > 128 ? r : 1; /* 130 after Ctrl-C, as a shell says */
	}
	if (p->unplannable && ret == 0) {
		/* the rest was built; these were named when planned */
		warn("%zu instance%s could not be planned (an input cannot be read)", p->unplannable,
		     p->unplannable == 1 ? "" : "s");
		ret = 1;
	}
	if (bo.verbose)
		cloud_report();
out:
	stack_info_free(&stack);
	plan_free(p);
	free(forced);
	session_close(&s);
	return ret;
}
