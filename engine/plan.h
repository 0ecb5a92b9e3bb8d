/* plan.h - decide the state of every selected instance: compute its build
 * key from its inputs, recipe, image and env, look its key up in the
 * store, and say why it is stale. Also prints plans (text and JSON). */
#ifndef RAPID_PLAN_H
#define RAPID_PLAN_H

#include "engine/fingerprint.h"
#include "engine/graph.h"
#include "engine/key.h"

#include <stdbool.h>
#include <stdio.h>

struct outstat;
struct state;
struct store;

struct plan_opts {
	bool refresh;  /* re-hash inputs whatever the cache says */
	/* Per group: its up-to-date instances are stale too (forced);
	 * NULL: none is. Borrowed. */
	const bool *forced;
	/* Leave failed instances' why unset instead of reading their
	 * sentinels (status reads each body once itself). */
	bool no_failed_bodies;
	bool verify;   /* re-hash the outputs of up-to-date instances (outstat.h) */
	/* build --container: the tool ("podman", "docker") that runs the
	 * recipes of targets with an image in it (runner/container.h); NULL:
	 * every recipe runs on this machine. Borrowed. */
	const char *container;
	/* build --backend batch: specs for Batch children (the recipe runs
	 * in the child's scratch folder), and open submissions are read so
	 * that queued work is not stale (engine/submit.h). */
	bool batch;
};

struct plan {
	struct graph *g;
	struct state *st;        /* may be NULL */
	struct store **stores;   /* per group; NULL for unselected groups */
	struct fp_ctx *fp;
	struct plan_opts opts;
	size_t (*count)[5];      /* per group, per enum inst_state */
	size_t pending;          /* stale + running instances */
	size_t skipped;
	size_t unplannable;      /* skipped because an input cannot be read */
	struct fp_stats fpstats; /* what fingerprinting cost */
	struct outstat *os;      /* checks the outputs of up-to-date instances */
	size_t outputs_stated, outputs_hashed; /* what that cost */
	/* Per instance, NULL when none: the Batch job id of the open
	 * submission that will build it (R_QUEUED); NULL when nothing is
	 * queued. Strings in the graph's arena. */
	const char **queued_job;
	/* The jobs of the open submissions under the selected roots, as
	 * Batch last described them (engine/submit.h); all owned. */
	struct plan_job *jobs;
	size_t njobs;
};

/* One chunk job of an open submission. */
struct plan_job {
	char *submission, *target, *chunk, *job_id, *job_name;
	char *dir;               /* the chunk's folder (participants.txt, manifest) */
	int state;               /* enum batch_state (aws/batch.h) */
	bool alive;              /* SUBMITTED..RUNNING */
	size_t size;             /* array size; 0 for a plain job */
	size_t summary[8];       /* children per enum batch_state */
	char *reason;            /* Batch's statusReason, or NULL */
};

/* A gathering input of an expanded instance (rules.h, struct input.gather):
 * the upstream instances it reads, in set order, without the skipped
 * ones. Reused between instances. */
struct gathered {
	uint32_t *ids;           /* gathered upstream instances */
	size_t n, cap;
	size_t total;            /* instances that agree, skipped ones included */
	struct buf uris;         /* their output URIs, each NUL-terminated */
	size_t *off;             /* offset of URI j in uris */
	size_t offcap;
	struct buf comp;         /* the input's key component (key.h) */
};

/* Everything about one instance, expanded (reused between instances). */
struct inst_work {
	size_t cap;
	struct gathered *gath;   /* per input; meaningful for gathering inputs */
	struct buf *uri;         /* per symbol: URI of inputs/outputs */
	const char **sym;        /* per symbol: uri[i].data or NULL */
	char (*fp)[FP_MAX];      /* per input: fingerprint string */
	bool *present;           /* per input */
	struct comps comps;
	struct buf tmp;
};

/* Forget p->jobs (keeping the array for reuse). */
void plan_jobs_clear(struct plan *);

/* Compute the plan. NULL after printing why. */
struct plan *plan_new(struct graph *, struct state *, const struct plan_opts *);
void plan_free(struct plan *);

/* Expand instance i into w (URIs, fingerprints, components) and compute
 * its key into i->key. 0 when buildable; 1 when skipped (i->state,
 * i->reason and i->why set); -1 after printing why. */
int plan_expand(struct plan *, struct instance *, struct inst_work *);
void inst_work_free(struct inst_work *);

/* The argv words run word a of instance i (expanded into w by
 * plan_expand) becomes, with inputs and outputs as URIs, appended to out
 * each NUL-terminated; how many. One, except for a word holding a
 * gathering input: one word per gathered instance, the rest of the word
 * repeated in each ("--maps={maps}" → "--maps=a/", "--maps=b/"), none
 * when it gathered none. */
size_t plan_expand_word(const struct plan *, const struct instance *, const struct inst_work *,
			size_t a, struct buf *out);
/* The gathering input of run word a of target t, or -1 when the word holds none. */
int plan_word_gather(const struct target *t, size_t a);
/* Append "gathered 3 of 4 from rapidtide participant=1" and, when some
 * were skipped, ": run REST2_RL skipped" (the first few, then a count),
 * for gathering input k of instance i, from the plan's states. */
void plan_describe_gather(const struct plan *, const struct instance *, size_t k, struct buf *);

/* Before a build: store_sweep each selected target's store once. 0, or
 * -1 after printing why (the build may go on: it is only tidying). */
int plan_sweep(struct plan *);

/* The store of instance i's target. */
struct store *plan_store(const struct plan *, const struct instance *);
/* Hex key of i into out[33]. */
void plan_key_hex(const struct instance *, char out[33]);

/* Print the plan: grouped by reason, or per instance with explain. */
void plan_print(const struct plan *, FILE *, bool explain);
/* Print the plan as JSON (schema documented in docs/cli.md). */
void plan_print_json(const struct plan *, FILE *);

#endif
