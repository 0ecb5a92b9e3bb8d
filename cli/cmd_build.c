/* cmd_build.c - `rapid build`: plan, then run what is stale. */
#include "cli/cmd.h"
#include "engine/exec.h"
#include "engine/plan.h"
#include "cli/session.h"
#include "engine/state.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void build_usage(void)
{
	fputs("usage: rapid build [TARGET...] [-n] [-j N] [-k] [--backend local] [--force] [--refresh] [VAR=value...]\n",
	      stderr);
}

int cmd_build(int argc, char **argv)
{
	struct session s = {0};
	struct plan_opts po = {0};
	struct build_opts bo = {.jobs = 1};
	bool dry = false;
	const char *backend = "local";
	int ret = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-n") || !strcmp(a, "--dry-run"))
			dry = true;
		else if (!strcmp(a, "-k") || !strcmp(a, "--keep-going"))
			bo.keep_going = true;
		else if (!strcmp(a, "--force"))
			po.force = bo.force = true;
		else if (!strcmp(a, "--refresh"))
			po.refresh = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			bo.verbose = true;
		else if (!strcmp(a, "-j") || !strcmp(a, "--jobs") || !strncmp(a, "-j", 2)) {
			const char *v = a[1] == 'j' && a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
			if ((bo.jobs = session_parse_count("-j", v)) < 0)
				goto usage;
		} else if (!strcmp(a, "--backend") || !strncmp(a, "--backend=", 10)) {
			backend = a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : "");
			if (strcmp(backend, "local")) {
				if (!strcmp(backend, "batch"))
					warn("build: the batch backend needs the AWS layer, which this build of rapid lacks");
				else
					warn("build: unknown backend '%s' (expected local or batch)", backend);
				goto usage;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			build_usage();
			free(s.targets);
			free(s.overrides);
			return 0;
		} else if (a[0] == '-') {
			warn("build: unknown option '%s'", a);
			goto usage;
		} else
			session_arg(&s, argv[i]);
	}
	struct plan *p = session_plan(&s, &po);
	if (!p)
		goto out;
	if (dry) {
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
		int r = exec_local(p, &bo);
		if (state_commit(s.st) < 0)
			r = r ? r : 1;
		ret = r == 0 ? 0 : 1;
	}
	plan_free(p);
out:
	session_close(&s);
	return ret;
usage:
	build_usage();
	free(s.targets);
	free(s.overrides);
	return 2;
}
