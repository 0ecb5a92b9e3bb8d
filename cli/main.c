/* main.c - parse global options and dispatch to a subcommand. The command
 * table below is also what `rapid help` prints. */
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "lib/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *usage;
	const char *summary;
} commands[] = {
	{"plan", cmd_plan,
	 "plan [TARGET...] [--explain] [--json] [--refresh] [--exit-code] [VAR=value...]",
	 "say which instances are missing or out of date, and why"},
	{"build", cmd_build,
	 "build [TARGET...] [-n] [-j N] [-k] [--backend local] [--force] [VAR=value...]",
	 "run the stale instances"},
	{"status", cmd_status, "status [--watch] [--json]",
	 "instances by state from the sentinels; failures with reasons"},
	{"graph", cmd_graph, "graph [VAR=value...]", "the target graph in DOT"},
	{"check", cmd_check, "check [VAR=value...]",
	 "validate the Rapidfile without touching inputs or the network"},
	{"runner", cmd_runner, "runner --spec FILE|-", "run one instance (used by executors)"},
	{"stack", cmd_stack, "stack create|info|delete [--name NAME] [--cli-args]",
	 "create, show or delete the AWS Batch stack (CloudFormation)"},
	{"version", cmd_version, "version", "print the version"},
	{"help", cmd_help, "help", "this text"},
};

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("rapid %s\n", RAPID_VERSION);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: rapid [-f FILE] [-C DIR] [--profile NAME] COMMAND [ARGS...]\n\ncommands:\n", f);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n", f);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		fprintf(f, "  rapid %s\n", commands[i].usage);
	fputs("\nExit status: 0 success, 1 failure, 2 usage error.\n", f);
}

int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if ((!strcmp(a, "-f") || !strcmp(a, "-C")) && i + 1 < argc) {
			if (a[1] == 'f')
				g_opts.file = argv[i + 1];
			else
				g_opts.dir = argv[i + 1];
			i += 2;
		} else if (!strcmp(a, "--profile") && i + 1 < argc) {
			g_opts.profile = argv[i + 1];
			i += 2;
		} else if (!strncmp(a, "--profile=", 10)) {
			g_opts.profile = a + 10;
			i++;
		} else if (!strncmp(a, "-f", 2) && a[2]) {
			g_opts.file = a + 2;
			i++;
		} else if (!strncmp(a, "-C", 2) && a[2]) {
			g_opts.dir = a + 2;
			i++;
		} else if (!strcmp(a, "--version")) {
			return cmd_version(0, NULL);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			warn("unknown option '%s'", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cloud_set_profile(g_opts.profile);
	if (g_opts.dir && chdir(g_opts.dir) < 0) {
		warn("cannot change to '%s': %s", g_opts.dir, strerror(errno));
		return 2;
	}
	for (size_t c = 0; c < ARRAY_LEN(commands); c++)
		if (!strcmp(commands[c].name, argv[i])) {
			int rc = commands[c].fn(argc - i, argv + i);
			cloud_close();
			return rc;
		}
	const char *names[ARRAY_LEN(commands)];
	for (size_t c = 0; c < ARRAY_LEN(commands); c++)
		names[c] = commands[c].name;
	const char *hint = closest_word(argv[i], names, ARRAY_LEN(commands));
	if (hint)
		warn("unknown command '%s' (did you mean '%s'?)", argv[i], hint);
	else
		warn("unknown command '%s'; see 'rapid help'", argv[i]);
	return 2;
}
