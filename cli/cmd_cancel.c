/* cmd_cancel.c - `rapid cancel [SUBMISSION|TARGET...]`: terminate what
 * the open Batch submissions still queue or run, all of them, or those of
 * the submissions or targets named. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "cli/session.h"
#include "engine/plan.h"
#include "engine/submit.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_option cancel_options[] = {{0}};

int cmd_cancel(int argc, char **argv)
{
	struct session s = {0};
	struct plan_opts po = {.no_failed_bodies = true};
	struct cli_args a;
	const char **subs = NULL;
	size_t nsubs = 0;
	int ret = 1;
	cli_args_init(&a, "cancel", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case CLI_WORD:
			if (submit_id_like(a.value)) {
				subs = xreallocarray(subs, nsubs + 1, sizeof(*subs));
				subs[nsubs++] = a.value;
			} else {
				session_arg(&s, a.value);
			}
			break;
		default:
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
	}
	struct plan *p = session_plan(&s, &po);
	if (!p)
		goto out;
	for (size_t k = 0; k < nsubs; k++) {
		bool found = false;
		for (size_t j = 0; j < p->njobs && !found; j++)
			found = !strcmp(p->jobs[j].submission, subs[k]);
		if (!found)
			warn("cancel: no open submission '%s' under the Rapidfile's output roots", subs[k]);
	}
	ret = submit_cancel(p, subs, nsubs, (const char *const *)s.targets, s.ntargets);
	plan_free(p);
out:
	free(subs);
	session_close(&s);
	return ret;
}
