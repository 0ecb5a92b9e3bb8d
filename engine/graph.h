/* graph.h - targets expanded into instances (a target at one set of
 * wildcard values) and the edges between them.
 *
 * Instances of a target are numbered in mixed radix over its wildcards
 * (the first wildcard varies slowest), so an instance is just a target and
 * an index; its values are computed, never stored. All memory lives in the
 * graph's arena. */
#ifndef RAPID_GRAPH_H
#define RAPID_GRAPH_H

#include "rules/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define NO_INSTANCE UINT32_MAX

/* Per target: where its instances start in graph->inst, and for every
 * reference input a map from this target's value indices to the upstream's. */
struct tgroup {
	struct target *t;
	uint32_t first, n;
	uint32_t *stride;     /* per wildcard */
	/* upmap[input][wildcard of upstream] -> array indexed by this target's
	 * value index of the same-named wildcard, giving the upstream's value
	 * index or UINT32_MAX. NULL for inputs that are not references. */
	uint32_t ***upmap;
	int **upwc;           /* upwc[input][k]: this target's wildcard index for upstream
			       * wildcard k, or -1 when this target lacks it (a gather) */
	bool selected;        /* asked for (or needed by something asked for) */
};

enum inst_state { INST_UNKNOWN, INST_OK, INST_STALE, INST_RUNNING, INST_SKIPPED };

enum inst_reason {
	R_NONE,
	R_NEVER_BUILT,
	R_FAILED,       /* a failed sentinel with the current key */
	R_KEY_CHANGED,  /* an ok sentinel with another key */
	R_INTERRUPTED,  /* a running sentinel with no live runner */
	R_FORCED,
	R_RUNNING,      /* a live runner holds it */
	R_SKIP_INPUT,   /* a required input is missing */
	R_SKIP_UPSTREAM, /* an upstream instance is missing or skipped */
	R_OUTPUT_CHANGED, /* ok at this key, but an output it records is missing or changed */
	R_INPUT_UNREADABLE, /* skipped: an input cannot be read (EACCES, ELOOP, a FIFO, ...) */
	R_QUEUED        /* in an open Batch submission whose job may still run it */
};

struct instance {
	uint32_t group;        /* index into graph->groups */
	uint32_t idx;          /* index within the target */
	uint8_t key[16];
	uint8_t state, reason;
	int exit_code;         /* R_FAILED: exit code, or -signal */
	char *why;             /* arena: detail (missing input, failure reason, changed output) */
	char *old_key;         /* arena: R_KEY_CHANGED: previous key (hex) */
	char *summary;         /* arena: R_KEY_CHANGED: "input bold changed";
	                          R_OUTPUT_CHANGED: "output dir changed" */
	char *details;         /* arena: R_KEY_CHANGED: lines "image: a → b";
	                          R_OUTPUT_CHANGED: lines "output dir: a.nii missing" */
};

struct graph {
	struct rapidfile *rf;   /* borrowed */
	struct arena *arena;
	char *base;             /* absolute directory relative paths resolve against */
	struct tgroup *groups;  /* one per rf->targets, same order */
	size_t ngroups;
	struct instance *inst;
	size_t ninst;
};

/* Expand every target. NULL after printing why (a target whose set is
 * deferred cannot be expanded: "list(s3://…) needs the S3 backend").
 * Instance counts overflowing 2^32 are an error. */
struct graph *graph_new(struct rapidfile *rf);
void graph_free(struct graph *);

/* Mark the named targets and everything upstream of them as selected; all
 * when n is 0. -1 after printing "no target 'x' (did you mean 'y'?)". */
int graph_select(struct graph *, char **names, size_t n);

/* Value index of wildcard k for instance idx of group g. */
uint32_t graph_value_index(const struct tgroup *g, uint32_t idx, size_t k);
/* Value of wildcard k of instance i. Borrowed. */
const char *graph_value(const struct graph *, const struct instance *, size_t k);
/* The upstream instance feeding reference input `input` of i, or
 * NO_INSTANCE when the upstream target has no such instance or the input
 * gathers (graph_upstream_count and graph_upstream_at cover both). */
uint32_t graph_upstream(const struct graph *, const struct instance *, size_t input);

/* Reference input `input` of i, ordinary or gathering (rules.h, struct
 * input.gather): how many upstream instances it reads. An ordinary one
 * reads 1 (0 when graph_upstream is NO_INSTANCE); a gathering one reads
 * every instance of the upstream target that agrees on the wildcards
 * both targets have. O(wildcards). */
size_t graph_upstream_count(const struct graph *, const struct instance *, size_t input);
/* The j-th of them (j < graph_upstream_count), in set order (the
 * upstream's instance order). O(wildcards): gathers are never stored. */
uint32_t graph_upstream_at(const struct graph *, const struct instance *, size_t input, size_t j);
/* Append the values of upstream instance u's wildcards that the target
 * of i lacks, for input `input` ("run=REST2_RL"). */
void graph_describe_gathered(const struct graph *, const struct instance *i, size_t input,
			     const struct instance *u, struct buf *);

/* Append "participant=100307 run=REST1_LR" (or "" with no wildcards). */
void graph_describe(const struct graph *, const struct instance *, struct buf *);
/* Append "rapidtide participant=100307 run=REST1_LR". */
void graph_name(const struct graph *, const struct instance *, struct buf *);

/* Expand a template for instance i; sym gives the string of every symbol
 * that is not a wildcard (index = symbol index; NULL where unused). */
void graph_expand(const struct graph *, const struct instance *, const struct tmpl *,
		  const char *const *sym, struct buf *out);

/* Whether a URI names S3. */
bool uri_is_s3(const char *uri);
/* Absolute local path for a URI written relative to the graph base. The
 * caller frees. */
char *graph_local_path(const struct graph *, const char *uri);

#endif
