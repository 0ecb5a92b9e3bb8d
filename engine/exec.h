/* exec.h - executors: run the stale instances of a plan.
 * local: `rapid runner` child processes on this machine, -j at a time,
 * upstream before downstream, an instance only when its target's vcpus
 * and memory fit beside those of the running ones. */
#ifndef RAPID_EXEC_H
#define RAPID_EXEC_H

#include "engine/plan.h"

#include <stdbool.h>

struct build_opts {
	long jobs;        /* runners at once (>= 1) */
	long cores;       /* vcpus the running instances may take together; 0: this machine's */
	long memory_mib;  /* MiB they may take together; 0: this machine's (MemTotal) */
	bool keep_going;  /* -k: go on with what does not depend on a failure */
	bool verbose;
};

/* This machine's cores (the CPUs this process may run on) and memory
 * (MemTotal, in MiB; 0 when unknown). */
long exec_machine_cores(void);
long exec_machine_memory_mib(void);

/* Run every stale instance of the selected targets. 0 when all of them
 * were built, 1 when any failed or could not run (each reported on
 * stderr), 128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped the
 * build (its runners are stopped and leave their instances interrupted),
 * -1 on an internal error (reported). */
int exec_local(struct plan *, const struct build_opts *);

#endif
