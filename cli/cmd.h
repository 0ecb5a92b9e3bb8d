/* cmd.h - the subcommands. Each returns the process exit status:
 * 0 success, 1 failure (or pending work with plan --exit-code), 2 usage. */
#ifndef RAPID_CMD_H
#define RAPID_CMD_H

#include "cli/args.h"

/* The global options (-f FILE, --profile NAME; -C DIR changes folder at once). */
struct global_opts {
	const char *file; /* NULL: "Rapidfile" */
	const char *profile; /* --profile NAME: the AWS profile; NULL: AWS_PROFILE */
};
extern struct global_opts g_opts;

/* Each command's options (cli/args.h), in the cmd_*.c that parses them;
 * the table of commands in cli/main.c points to them. */
extern const struct cli_option plan_options[], build_options[], status_options[], logs_options[], graph_options[],
	check_options[], runner_options[], cancel_options[], stack_create_options[], stack_info_options[], stack_delete_options[];

int cmd_plan(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_stack(int argc, char **argv);
int cmd_runner(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#endif
