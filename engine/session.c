/* session.c - load a Rapidfile and its state for a subcommand. */
#include "engine/session.h"
#include "engine/cmd.h"
#include "engine/plan.h"
#include "engine/state.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct global_opts g_opts;

void session_arg(struct session *s, char *word)
{
	if (strchr(word, '=')) {
		s->overrides = xreallocarray(s->overrides, s->noverrides + 1, sizeof(char *));
		s->overrides[s->noverrides++] = word;
	} else {
		s->targets = xreallocarray(s->targets, s->ntargets + 1, sizeof(char *));
		s->targets[s->ntargets++] = word;
	}
}

int session_open(struct session *s, bool expand, bool state)
{
	const char *file = g_opts.file ? g_opts.file : "Rapidfile";
	struct rules_opts ro = {.overrides = s->overrides, .noverrides = s->noverrides};
	if (rules_load(file, &ro, &s->rf) < 0)
		return -1;
	if (state) {
		char *dir = path_join(s->rf->dir, ".rapid/state");
		s->st = state_open(dir);
		free(dir);
		if (!s->st)
			return -1;
	}
	if (expand) {
		s->g = graph_new(s->rf);
		if (!s->g)
			return -1;
		if (graph_select(s->g, s->targets, s->ntargets) < 0)
			return -1;
	}
	return 0;
}

struct plan *session_plan(struct session *s, const struct plan_opts *po)
{
	if (session_open(s, true, true) < 0)
		return NULL;
	return plan_new(s->g, s->st, po);
}

void session_close(struct session *s)
{
	graph_free(s->g);
	state_close(s->st);
	if (s->rf)
		rules_free(s->rf);
	free(s->targets);
	free(s->overrides);
	memset(s, 0, sizeof(*s));
}

long session_parse_count(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || *end || n <= 0 || n > 100000) {
		warn("option %s needs a positive number, not '%s'", opt, v ? v : "");
		return -1;
	}
	return n;
}
