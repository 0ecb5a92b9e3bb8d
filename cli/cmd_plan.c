/* cmd_plan.c - `rapid plan`: what is missing or out of date, and why,
 * without running anything. */
#include "engine/cloud.h"
#include "cli/cmd.h"
#include "engine/plan.h"
#include "cli/session.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void plan_usage(void)
{
	fputs("usage: rapid plan [TARGET...] [--explain] [--json] [--refresh] [--exit-code] [-v] [VAR=value...]\n", stderr);
}

int cmd_plan(int argc, char **argv)
{
	struct session s = {0};
	struct plan_opts po = {0};
	bool explain = false, json = false, exit_code = false, verbose = false;
	int ret = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--explain"))
			explain = true;
		else if (!strcmp(a, "--json"))
			json = true;
		else if (!strcmp(a, "--refresh"))
			po.refresh = true;
		else if (!strcmp(a, "--exit-code"))
			exit_code = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			verbose = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			plan_usage();
			return 0;
		} else if (a[0] == '-') {
			warn("plan: unknown option '%s'", a);
			plan_usage();
			free(s.targets);
			free(s.overrides);
			return 2;
		} else
			session_arg(&s, argv[i]);
	}
	struct plan *p = session_plan(&s, &po);
	if (!p)
		goto out;
	if (json)
		plan_print_json(p, stdout);
	else
		plan_print(p, stdout, explain);
	if (verbose) {
		const struct fp_stats *fs = &p->fpstats;
		fprintf(stderr, "rapid: inputs: %zu cached, %zu hashed (%llu bytes), %zu asked of S3, %zu missing\n",
			fs->cached, fs->hashed, (unsigned long long)fs->bytes_hashed, fs->headed, fs->missing);
		cloud_report();
	}
	ret = exit_code && p->pending ? 1 : 0;
	plan_free(p);
out:
	session_close(&s);
	return ret;
}
