/* cmd_runner.c - `rapid runner --spec FILE|-`: read an instance spec and
 * run it (runner/runner.h says what that does). */
#include "cli/args.h"
#include "cli/cmd.h"
#include "lib/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_SPEC = 1 };

const struct cli_option runner_options[] = {
	{O_SPEC, 0, "spec", "FILE|-", "the instance spec (JSON, runner/runner.h); - reads standard input"},
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
	const char *spec_arg = NULL;
	struct cli_args a;
	cli_args_init(&a, "runner", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o == O_SPEC)
			spec_arg = a.value;
		else if (o == CLI_WORD)
			return cli_usage(a.cmd, "unexpected argument '%s'", a.value);
		else
			return o == CLI_HELP ? 0 : 2;
	}
	if (!spec_arg)
		return cli_usage(a.cmd, "--spec FILE is required");
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
