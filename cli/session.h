/* session.h - what plan, build, status and graph share: find and load the
 * Rapidfile, split VAR=value overrides from target names, open the state
 * beside the Rapidfile and expand the graph. */
#ifndef RAPID_SESSION_H
#define RAPID_SESSION_H

#include "engine/graph.h"
#include "rules/rules.h"

#include <stdbool.h>

struct state;

struct session {
	struct rapidfile *rf;
	struct graph *g;       /* NULL unless session_open was asked to expand */
	struct state *st;      /* NULL unless asked */
	char **targets;        /* names given on the command line */
	size_t ntargets;
	char **overrides;      /* VAR=value words */
	size_t noverrides;
};

/* Sort a positional word into targets or overrides. */
void session_arg(struct session *, char *word);
/* Load the Rapidfile (g_opts.file or "Rapidfile"); expand the graph and
 * select the named targets when expand; open .rapid/state when state.
 * 0, or -1 after printing why. */
int session_open(struct session *, bool expand, bool state);
void session_close(struct session *);

struct plan;
struct plan_opts;
/* session_open with the graph and the state, then plan_new. NULL after
 * printing why; the caller frees the plan before closing the session. */
struct plan *session_plan(struct session *, const struct plan_opts *);

/* Parse a positive integer option value; -1 after printing a usage error. */
long session_parse_count(const char *opt, const char *v);

#endif
