/* exec.h - run one recipe as a child process group and watch it: output
 * tail, timeout, signals passed on from the runner. */
#ifndef RAPID_RUNNER_EXEC_H
#define RAPID_RUNNER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* How much of the recipe's stdout+stderr is kept. */
#define EXEC_TAIL_MAX 65536
/* Seconds between SIGTERM and SIGKILL. */
#define EXEC_KILL_GRACE_S 10

/* Catch SIGTERM, SIGINT and SIGHUP (recorded, and passed on to a running
 * recipe), watch SIGCHLD, ignore SIGPIPE. 0, or -1 after printing why. */
int exec_signals_init(void);
/* The first of SIGTERM/SIGINT/SIGHUP the runner received, or 0. */
int exec_interrupted(void);

struct exec_opts {
	char *const *argv;       /* argv[0] is looked up on PATH */
	const char *const *env;  /* "NAME=value" set on top of ours; NULL-terminated or NULL */
	const char *cwd;
	long timeout_s;          /* 0: none */
	int log_fd;              /* > 2: every byte of output is also written
				  * here as it comes (0: none) */
	long tick_ms;            /* > 0: tick(tick_arg) is called every
				  * tick_ms while the recipe runs (the
				  * output read so far is in log_fd) */
	void (*tick)(void *arg);
	void *tick_arg;
};

struct exec_result {
	int exit_code;     /* -1 when killed by a signal */
	int signal;        /* the signal that killed it, or 0 */
	bool timed_out;
	int interrupted;   /* the signal the runner passed on, or 0 */
	char *start_error; /* set when the recipe could not be started
			    * ("cannot run 'x': reason"); exit_code is then 127 */
	struct buf tail;   /* the last EXEC_TAIL_MAX bytes of its output */
	uint64_t total;    /* bytes of output in all */
	int log_err;       /* why writing log_fd stopped (errno), or 0 */
};

/* Run the recipe to its end. 0 with *r filled (whatever the recipe did),
 * or -1 after printing why it could not be tried at all. Free *r with
 * exec_result_free. */
int exec_run(const struct exec_opts *, struct exec_result *r);
void exec_result_free(struct exec_result *);

#endif
