/* args.h - the command table's types and the option parser. Each command
 * has one table of options (in its cmd_*.c) that both parses its argv
 * (cli_next) and makes its help (cli_help); the table of commands
 * (cli/main.c) points to them, so an option is spelled once. */
#ifndef RAPID_CLI_ARGS_H
#define RAPID_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One option. A table ends with an entry whose id is 0. Every command
 * also accepts -h and --help, which are not in its table. */
struct cli_option {
	int id;           /* what cli_next returns for it: > 0 */
	char letter;      /* -x, or 0 */
	const char *name; /* --name, or NULL */
	const char *arg;  /* the value's placeholder ("N"): it takes a value
			   * (-j N, -jN, --jobs N, --jobs=N); NULL: a flag.
			   * In brackets ("[N]") the value may be left out (-j
			   * alone): then only an attached value (-j4,
			   * --jobs=4) or a next word made of digits (-j 4) is
			   * taken, and cli_next gives a NULL value without one. */
	const char *help; /* one line */
};

/* One command, or one subcommand ("stack create": a name with a space,
 * dispatched by its parent, listed in the parent's help). */
struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv); /* NULL for a subcommand */
	const char *args;                 /* positional words for the usage line, or NULL */
	const char *summary;              /* one sentence */
	const struct cli_option *options; /* NULL: none but -h, --help */
};

/* The command called name ("plan", "stack create"); NULL if none.
 * Defined with the table in cli/main.c. */
const struct cli_command *cli_command_find(const char *name);
/* The i-th command of the table, in help order; NULL past the last. */
const struct cli_command *cli_command_at(size_t i);
/* Apply a global option that followed the command word (rapid plan -C
 * DIR): 0, or -1 after printing why. Defined in cli/main.c. */
int cli_global(int id, const char *value);
/* The full help of a command on f: usage line, its sentence, its options
 * (and a parent's subcommands with theirs). */
void cli_help(FILE *f, const struct cli_command *);
/* The usage line(s) of a command on f. */
void cli_usage_lines(FILE *f, const struct cli_command *);

/* What cli_next returns besides an option's id. */
enum {
	CLI_DONE = 0,   /* no more words */
	CLI_WORD = -1,  /* a positional word, in value */
	CLI_HELP = -2,  /* -h or --help: the help is printed on stdout; exit 0 */
	CLI_USAGE = -3, /* a usage error is printed on stderr; exit 2 */
};

struct cli_args {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	int i;             /* the next word of argv */
	char *rest;        /* what follows in a cluster of letters ("-kn") */
	int words_only;    /* after "--" */
	char *value;       /* the last option's value, or the word */
	char spelled[64];  /* how the last option was written ("-j", "--jobs"), for messages */
};

/* Start on argv[1..] of the command called name (which must be in the
 * table). */
void cli_args_init(struct cli_args *, const char *name, int argc, char **argv);
/* The next option's id (its value in a->value when it takes one),
 * CLI_WORD, CLI_DONE, CLI_HELP or CLI_USAGE (see above). */
int cli_next(struct cli_args *);

/* Whether w is a number (all digits, not empty): what an optional value
 * (-j [N]) must be to be read from the next word. */
bool cli_all_digits(const char *w);
/* "rapid: COMMAND: message" and the command's usage on stderr; returns 2,
 * the exit status of a usage error. */
int cli_usage(const struct cli_command *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
