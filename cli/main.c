/* main.c - the table of commands, the global options, and dispatch. The
 * table is also what `rapid help`, `rapid help COMMAND` and every
 * `rapid COMMAND --help` print (cli/args.c formats it); each command's
 * options are in its own table, in its cmd_*.c. */
#include "aws/config.h"
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "lib/util.h"
#include "runner/remote.h"
#include "runner/runner.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { G_FILE = 1, G_DIR, G_PROFILE, G_INPUT_PROFILE, G_READ_TIMEOUT, G_CONNECT_TIMEOUT, G_VERSION };

static const struct cli_option global_options[] = {
	{G_FILE, 'f', NULL, "FILE", "read the Rapidfile FILE (default: Rapidfile)"},
	{G_DIR, 'C', NULL, "DIR", "change to DIR first"},
	{G_PROFILE, 0, "profile", "NAME", "the AWS profile (default: AWS_PROFILE, else default)"},
	{G_INPUT_PROFILE, 0, "input-profile", "NAME",
	 "the AWS profile for input buckets (those no output root is in); default: --profile's"},
	{G_READ_TIMEOUT, 0, "cli-read-timeout", "SECONDS",
	 "retry an AWS request after SECONDS without data (0: never; default 60)"},
	{G_CONNECT_TIMEOUT, 0, "cli-connect-timeout", "SECONDS",
	 "retry connecting to AWS after SECONDS (0: never; default 10)"},
	{G_VERSION, 0, "version", NULL, "print the version"},
	{0},
};

static const struct cli_option version_options[] = {{0}};

static const struct cli_command commands[] = {
	{"rapid", NULL, "COMMAND [ARGS...]",
	 "Run the stale instances of a Rapidfile's targets, on this machine or on AWS Batch.", global_options},
	{"plan", cmd_plan, "[TARGET...] [VAR=value...]",
	 "Say which instances are missing or out of date, and why, without running anything.", plan_options},
	{"build", cmd_build, "[TARGET...] [VAR=value...]",
	 "Plan, then run the stale instances (upstream before downstream).", build_options},
	{"status", cmd_status, "[TARGET...] [VAR=value...]",
	 "Count the current instances by state, and the failures by reason.", status_options},
	{"logs", cmd_logs, "TARGET [WILDCARD=value...] [VAR=value...]",
	 "Print an instance's log; with --follow, as it runs, until it ends.", logs_options},
	{"cancel", cmd_cancel, "[SUBMISSION|TARGET...] [VAR=value...]",
	 "Terminate what the open Batch submissions (all, or those named) still queue or run.", cancel_options},
	{"graph", cmd_graph, "[TARGET...] [VAR=value...]",
	 "Print the named targets, their upstream and edges in DOT.", graph_options},
	{"check", cmd_check, "[VAR=value...]",
	 "Validate the Rapidfile without touching inputs or the network.", check_options},
	{"runner", cmd_runner, NULL,
	 "Run one instance from its spec (what the executors start), or a Batch array child's from its manifest.",
	 runner_options},
	{"stack", cmd_stack, NULL, "Create, show or delete the AWS Batch stack (CloudFormation).", NULL},
	{"stack create", NULL, NULL,
	 "Create the stack, asking on a terminal for what no option gave, and remember it.", stack_create_options},
	{"stack info", NULL, NULL, "Show the stack's status and outputs.", stack_info_options},
	{"stack delete", NULL, NULL, "Delete the stack and wait until it is gone.", stack_delete_options},
	{"version", cmd_version, NULL, "Print the version.", version_options},
	{"help", cmd_help, "[COMMAND [SUBCOMMAND]]", "Print the help of rapid or of a command.", NULL},
};

const struct cli_command *cli_command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

const struct cli_command *cli_command_at(size_t i)
{
	/* commands[0] is rapid itself */
	return i + 1 < ARRAY_LEN(commands) ? &commands[i + 1] : NULL;
}

int cmd_version(int argc, char **argv)
{
	struct cli_args a;
	cli_args_init(&a, "version", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o == CLI_HELP)
			return 0;
		if (o == CLI_USAGE)
			return 2;
		return cli_usage(a.cmd, "unexpected argument '%s'", a.value);
	}
	printf("rapid %s\n", RAPID_VERSION);
	return 0;
}

/* rapid's own help: its options, then every command. */
static void usage(FILE *f)
{
	cli_help(f, &commands[0]);
}

/* "unknown command 'buidl' (did you mean 'build'?)"; returns 2. */
static int unknown_command(const char *name)
{
	const char *names[ARRAY_LEN(commands)];
	size_t n = 0;
	for (size_t c = 1; c < ARRAY_LEN(commands); c++)
		names[n++] = commands[c].name;
	const char *hint = closest_word(name, names, n);
	if (hint)
		warn("unknown command '%s' (did you mean '%s'?)", name, hint);
	else
		warn("unknown command '%s'; see 'rapid help'", name);
	return 2;
}

int cmd_help(int argc, char **argv)
{
	struct cli_args a;
	struct buf name = {0};
	int ret = 2;
	cli_args_init(&a, "help", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o == CLI_HELP || o == CLI_USAGE) {
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
		if (name.len)
			buf_putc(&name, ' ');
		buf_puts(&name, a.value);
	}
	if (!name.len) {
		usage(stdout);
		ret = 0;
	} else if (!cli_command_find(name.data) || !strcmp(name.data, "rapid")) {
		unknown_command(name.data);
	} else {
		cli_help(stdout, cli_command_find(name.data));
		ret = 0;
	}
out:
	buf_free(&name);
	return ret;
}

/* Results go to stdout: a write error there (a full disk, > /dev/full),
 * now or earlier in the run, fails the command with one message. stdout
 * writes through stdout_write so that the first error's errno is kept even
 * when a command flushes stdout itself and carries on. */
static int stdout_errno;

static ssize_t stdout_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (!stdout_errno)
				stdout_errno = errno;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static void stdout_open(void)
{
	cookie_io_functions_t io = {.write = stdout_write};
	FILE *f = fopencookie(NULL, "w", io);
	if (!f)
		return; /* the plain stdout still reports errors, if not their errno */
	setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
	stdout = f;
}

static int stdout_close(int rc)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	int e = stdout_errno ? stdout_errno : errno ? errno : EIO;
	warn("cannot write to standard output: %s", strerror(e));
	return rc ? rc : 1;
}

/* Each global option takes effect where it is read, before or after the
 * command word: -C DIR at once, so that several apply in order. */
int cli_global(int id, const char *value)
{
	switch (id) {
	case G_FILE:
		g_opts.file = value;
		break;
	case G_DIR:
		if (chdir(value) < 0) {
			warn("cannot change to '%s': %s", value, strerror(errno));
			return -1;
		}
		break;
	case G_PROFILE:
		g_opts.profile = value;
		cloud_set_profile(value);
		break;
	case G_INPUT_PROFILE:
		cloud_set_input_profile(value);
		remote_set_input_profile(value);
		break;
	case G_READ_TIMEOUT:
	case G_CONNECT_TIMEOUT: {
		struct aws_error e = {0};
		if (aws_config_set_timeout(id == G_READ_TIMEOUT ? AWS_TIMEOUT_READ : AWS_TIMEOUT_CONNECT, value, &e) < 0) {
			char *m = aws_error_format(&e);
			warn("%s", m);
			free(m);
			aws_error_clear(&e);
			return -1;
		}
		break;
	}
	}
	return 0;
}

/* Whether w is one of rapid's own options (-f FILE, -C DIR, --profile
 * NAME, --input-profile NAME, --cli-read-timeout S, --cli-connect-timeout
 * S, --version, -h,
 * --help), and *value whether it takes the next word. */
static bool own_option(const char *w, bool *value)
{
	static const char *const with_value[] = {"--profile", "--input-profile", "--cli-read-timeout",
						  "--cli-connect-timeout"};
	*value = false;
	if (!strcmp(w, "-f") || !strcmp(w, "-C"))
		return *value = true;
	for (size_t k = 0; k < ARRAY_LEN(with_value); k++) {
		size_t n = strlen(with_value[k]);
		if (!strncmp(w, with_value[k], n) && (!w[n] || w[n] == '='))
			return *value = !w[n], true;
	}
	return (w[1] == 'f' || w[1] == 'C') || !strcmp(w, "--version") || !strcmp(w, "-h") || !strcmp(w, "--help");
}

/* A command's options written before the command word (rapid -j4 build,
 * as make -j4) move after it, where the command's table reads them:
 * argv is rearranged in place. rapid's own options stay where they are. */
static void options_after_command(int argc, char **argv)
{
	int cmd = 0;
	for (int i = 1; i < argc && !cmd; i++) {
		const char *w = argv[i];
		bool value;
		if (!strcmp(w, "--"))
			return;
		if (w[0] != '-' || !w[1])
			cmd = i;
		else if (own_option(w, &value))
			i += value;
		else if (i + 1 < argc && cli_all_digits(argv[i + 1]))
			i++; /* -j 4: a command is never a number */
	}
	if (!cmd)
		return;
	char **moved = xcalloc((size_t)argc + 1, sizeof(char *)), **kept = xcalloc((size_t)argc + 1, sizeof(char *));
	int nm = 0, nk = 0;
	for (int i = 1; i < cmd; i++) {
		bool value;
		if (own_option(argv[i], &value)) {
			kept[nk++] = argv[i];
			if (value && i + 1 < cmd)
				kept[nk++] = argv[++i];
		} else {
			moved[nm++] = argv[i];
			if (i + 1 < cmd && cli_all_digits(argv[i + 1]))
				moved[nm++] = argv[++i];
		}
	}
	if (nm) {
		int j = 1;
		for (int k = 0; k < nk; k++)
			argv[j++] = kept[k];
		argv[j++] = argv[cmd];
		for (int k = 0; k < nm; k++)
			argv[j++] = moved[k];
	}
	free(moved);
	free(kept);
}

/* The global options, then the command; its exit status. */
static int dispatch(int argc, char **argv)
{
	options_after_command(argc, argv);
	struct cli_args a;
	const char *word = NULL;
	cli_args_init(&a, "rapid", argc, argv);
	for (int o; !word && (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case G_FILE:
		case G_DIR:
		case G_PROFILE:
		case G_INPUT_PROFILE:
		case G_READ_TIMEOUT:
		case G_CONNECT_TIMEOUT:
			if (cli_global(o, a.value) < 0)
				return 2;
			break;
		case G_VERSION: return cmd_version(1, argv);
		case CLI_WORD: word = a.value; break;
		case CLI_HELP: return 0;
		default: return 2;
		}
	}
	if (!word) {
		usage(stderr);
		return 2;
	}
	int i = a.i - 1; /* the command word */
	const struct cli_command *c = cli_command_find(word);
	if (!c || !c->fn)
		return unknown_command(word);
	int rc = c->fn(argc - i, argv + i);
	cloud_close();
	return rc;
}

int main(int argc, char **argv)
{
	stdout_open();
	return stdout_close(dispatch(argc, argv));
}
