/* cmd.h - the subcommands. Each returns the process exit status:
 * 0 success, 1 failure (or pending work with plan --exit-code), 2 usage. */
#ifndef RAPID_CMD_H
#define RAPID_CMD_H

/* Options that come before the subcommand (-f FILE, -C DIR, --profile NAME). */
struct global_opts {
	const char *file; /* NULL: "Rapidfile" */
	const char *dir;  /* NULL: stay */
	const char *profile; /* --profile NAME: the AWS profile; NULL: AWS_PROFILE */
};
extern struct global_opts g_opts;

int cmd_plan(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_stack(int argc, char **argv);
int cmd_runner(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
