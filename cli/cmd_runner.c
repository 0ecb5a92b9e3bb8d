/* cmd_runner.c - `rapid runner --spec FILE|-`: read an instance spec and
 * run it (runner/runner.h says what that does). */
#include "cli/cmd.h"
#include "lib/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: rapid runner --spec FILE|-\n", f);
}

static char *read_spec(const char *arg, size_t *len)
{
	if (strcmp(arg, "-"))
		return read_file(arg, len);
	return read_file("/dev/stdin", len);
}

int cmd_runner(int argc, char **argv)
{
	const char *spec_arg = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--spec") && i + 1 < argc) {
			spec_arg = argv[++i];
		} else if (!strncmp(a, "--spec=", 7)) {
			spec_arg = a + 7;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			warn(!strcmp(a, "--spec") ? "runner: option '%s' needs an argument"
						  : "runner: unknown argument '%s'", a);
			usage(stderr);
			return 2;
		}
	}
	if (!spec_arg) {
		warn("runner: --spec FILE is required");
		usage(stderr);
		return 2;
	}
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
