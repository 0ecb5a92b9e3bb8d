/* cmd_runner.c - `rapid runner`: run one instance from its spec
 * (--spec, what the local executor starts: runner/runner.h), an array
 * child's instances from a chunk's manifest (--manifest, a Batch job's
 * command: runner/child.h), or a command with the child's
 * participant in PARTICIPANT_FROM_ARRAY (--exec, for rapidtide-cloud's
 * job scripts). */
#include "cli/args.h"
#include "cli/cmd.h"
#include "lib/util.h"
#include "runner/child.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_SPEC = 1, O_MANIFEST, O_INDEX, O_EXEC };

const struct cli_option runner_options[] = {
	{O_SPEC, 0, "spec", "FILE|-", "the instance spec (JSON, runner/spec.h); - reads standard input"},
	{O_MANIFEST, 0, "manifest", "URI", "run the array child's instances from s3://.../manifest.jsonl"},
	{O_INDEX, 0, "index", "N", "the array index (default: AWS_BATCH_JOB_ARRAY_INDEX, else 0)"},
	{O_EXEC, 0, "exec", "CMD",
	 "run CMD (and every word after it) with PARTICIPANT_FROM_ARRAY from line index+1 of "
	 "s3://$OUTPUT_BUCKET/config/$PARTICIPANT_ARRAY_FILE"},
	{0},
};

static char *read_spec(const char *arg, size_t *len)
{
	if (strcmp(arg, "-"))
		return read_file(arg, len);
	return read_file("/dev/stdin", len);
}

int cmd_runner(int argc, char **argv)
{
	const char *spec_arg = NULL, *manifest = NULL, *index_arg = NULL;
	char **exec_argv = NULL;
	struct cli_args a;
	cli_args_init(&a, "runner", argc, argv);
	for (int o; !exec_argv && (o = cli_next(&a)) != CLI_DONE;) {
		if (o == O_SPEC)
			spec_arg = a.value;
		else if (o == O_MANIFEST)
			manifest = a.value;
		else if (o == O_INDEX)
			index_arg = a.value;
		else if (o == O_EXEC) {
			/* every word after --exec CMD is the command's, options too */
			if (!strcmp(a.value, "--")) {
				if (a.i >= a.argc)
					return cli_usage(a.cmd, "--exec needs a command");
				a.value = a.argv[a.i++];
			}
			exec_argv = xcalloc((size_t)(a.argc - a.i) + 2, sizeof(char *));
			exec_argv[0] = a.value;
			for (int k = a.i; k < a.argc; k++)
				exec_argv[k - a.i + 1] = a.argv[k];
		} else if (o == CLI_WORD)
			return cli_usage(a.cmd, "unexpected argument '%s'", a.value);
		else
			return o == CLI_HELP ? 0 : 2;
	}
	if (!!spec_arg + !!manifest + !!exec_argv != 1) {
		free(exec_argv);
		return cli_usage(a.cmd, "give one of --spec FILE, --manifest URI or --exec CMD [ARG...]");
	}
	if (spec_arg) {
		if (index_arg)
			return cli_usage(a.cmd, "--index goes with --manifest or --exec");
		size_t len;
		char *text = read_spec(spec_arg, &len);
		if (!text) {
			warn("cannot read spec '%s': %s", spec_arg, strerror(errno));
			return 2;
		}
		int ret = runner_run_spec(text, len, spec_arg);
		free(text);
		return ret;
	}
	long index;
	int given;
	char *err = NULL;
	if (runner_array_index(index_arg, &index, &given, &err) < 0) {
		int ret = cli_usage(a.cmd, "%s", err);
		free(err);
		free(exec_argv);
		return ret;
	}
	if (manifest)
		return runner_run_manifest(manifest, index, given);
	int ret = runner_exec_array(index, exec_argv);
	free(exec_argv);
	return ret;
}
