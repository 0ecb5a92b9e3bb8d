/* cmd_plan.c - `rapid plan`: what is missing or out of date, and why,
 * without running anything. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "engine/plan.h"
#include "cli/session.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_EXPLAIN = 1, O_JSON, O_REFRESH, O_EXIT_CODE, O_VERBOSE, O_VERIFY };

const struct cli_option plan_options[] = {
	{O_EXPLAIN, 0, "explain", NULL, "list every instance with its key and each changed component, old -> new"},
	{O_JSON, 0, "json", NULL, "print the plan as JSON (schema 1, docs/cli.md)"},
	{O_REFRESH, 0, "refresh", NULL, "re-read every input instead of trusting cached fingerprints"},
	{O_EXIT_CODE, 0, "exit-code", NULL, "exit 1 when anything is stale or running"},
	{O_VERBOSE, 'v', "verbose", NULL, "also say on stderr what fingerprinting and S3 requests cost"},
	{O_VERIFY, 0, "verify", NULL, "also re-hash the outputs of up-to-date instances against their ok sentinels"},
	{0},
};

int cmd_plan(int argc, char **argv)
{
	struct session s = {0};
	struct plan_opts po = {0};
	struct cli_args a;
	bool explain = false, json = false, exit_code = false, verbose = false;
	int ret = 1;
	cli_args_init(&a, "plan", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case O_EXPLAIN: explain = true; break;
		case O_JSON: json = true; break;
		case O_REFRESH: po.refresh = true; break;
		case O_VERIFY: po.verify = true; break;
		case O_EXIT_CODE: exit_code = true; break;
		case O_VERBOSE: verbose = true; break;
		case CLI_WORD: session_arg(&s, a.value); break;
		default:
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
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
		fprintf(stderr, "rapid: outputs: %zu checked, %zu hashed\n", p->outputs_stated, p->outputs_hashed);
		cloud_report();
	}
	/* an instance that cannot be planned is an error (said by plan_new) */
	ret = p->unplannable || (exit_code && p->pending) ? 1 : 0;
	plan_free(p);
out:
	session_close(&s);
	return ret;
}
