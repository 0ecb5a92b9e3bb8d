/* store.h - where outputs and sentinels live, behind one interface.
 *
 * The store answers "what state is this instance in at this key" from the
 * sentinels (the truth), and reads sentinel bodies for explanations. The
 * local store works on a directory tree, the S3 store lists each target's
 * sentinel prefix once and answers from memory; both name and read
 * sentinels through runner/sentinel_name.h and runner/sentinel_body.h. */
#ifndef RAPID_STORE_H
#define RAPID_STORE_H

#include "runner/sentinel_body.h"

#include <stddef.h>
#include <stdint.h>

struct store;

enum lookup_state {
	LK_NONE,        /* no sentinel with this key */
	LK_OK,          /* ok with this key: up to date */
	LK_RUNNING,     /* running with this key, held by a live runner */
	LK_INTERRUPTED, /* running with this key, no live runner */
	LK_FAILED       /* failed with this key (and no ok) */
};

struct lookup {
	enum lookup_state state;
	char old_key[33];     /* "" or the newest other key that has an ok (else failed) sentinel */
	int old_ok;           /* whether old_key's sentinel is ok */
	/* LK_OK on a local root: which file the ok sentinel is (a rebuild at
	 * the same key writes a new one), so a cache of what it records can
	 * tell it is still the same. All 0 when unknown. */
	struct {
		uint64_t ino, size;
		int64_t mtime_ns, ctime_ns;
	} ok_id;
};

/* What the sentinels say of one instance, whatever its current key: a
 * live running sentinel makes it running; else its newest sentinel
 * decides (a running one without a live runner is interrupted). */
enum scan_state { SCAN_OK, SCAN_FAILED, SCAN_RUNNING, SCAN_INTERRUPTED };

struct scan_entry {
	const char *const *values; /* its wildcard values (valid during the call) */
	size_t nvalues;
	enum scan_state state;
	char key[33];              /* the key of the sentinel that decided */
};

/* Called for each instance that has a sentinel, in the order of its
 * values (compared one wildcard at a time). Non-zero stops the scan. */
typedef int (*scan_fn)(void *ctx, const struct scan_entry *);

/* Called with the holder of each running sentinel (runner/sentinel_s3.h:
 * "<batch job id>.<attempt>" or "local.<pid>.<start>.<host>"). Non-zero
 * stops. */
typedef int (*holder_fn)(void *ctx, const char *holder);

/* The operations a kind of store provides. */
struct store_ops {
	const char *kind;
	int (*prepare)(struct store *, const char *target);
	int (*lookup)(struct store *, const char *target, const char *const *values,
		      size_t nvalues, const char *key, struct lookup *out);
	char *(*read)(struct store *, const char *target, const char *const *values,
		      size_t nvalues, const char *key, enum sentinel_state, size_t *len);
	int (*scan)(struct store *, const char *target, size_t nvalues, scan_fn, void *ctx);
	int (*sweep)(struct store *);
	int (*holders)(struct store *, const char *target, holder_fn, void *ctx);      /* may be NULL */
	void (*holder_dead)(struct store *, const char *holder);                       /* may be NULL */
	void (*close)(struct store *);
};

/* Every store starts with this; each kind extends it. */
struct store {
	const struct store_ops *ops;
	char *root;
};

/* The store for an output root: an absolute local path ending in '/', or
 * s3://bucket/prefix/. NULL after printing why (e.g. a kind this build
 * cannot reach). */
struct store *store_open(const char *root);
/* An S3 store; NULL after printing why (not an s3://bucket/ URI). */
struct store *store_open_s3(const char *root);
/* A local store (never NULL). */
struct store *store_open_local(const char *root);
void store_close(struct store *);
/* The root it was opened on. Borrowed. */
const char *store_root(const struct store *);

/* Get ready to answer for target (the S3 store lists it here). 0 or -1
 * after printing why. */
int store_prepare(struct store *, const char *target);

/* The state of one instance at key. 0, or -1 after printing why. */
int store_lookup(struct store *, const char *target, const char *const *values,
		 size_t nvalues, const char *key, struct lookup *out);

/* The body of a sentinel, as text. NULL after printing why. The caller
 * frees. */
char *store_read(struct store *, const char *target, const char *const *values,
		 size_t nvalues, const char *key, enum sentinel_state, size_t *len);
/* The same, parsed. NULL after printing why (gone, unreadable, not a
 * sentinel body). The caller frees it with sentinel_body_free. */
struct sentinel_body *store_body(struct store *, const char *target, const char *const *values,
				 size_t nvalues, const char *key, enum sentinel_state);

/* Remove what killed runners left under the root: each scratch folder
 * (<key>.<pid>/) whose runner, by the pid in its name, no longer lives
 * on this machine. Trash is kept: it may hold the only copy of an output
 * that a rollback could not put back (runner/outputs.c). 0, or -1 after
 * printing why; a store without scratch folders does nothing. */
int store_sweep(struct store *);

/* Every instance of target (with nvalues wildcards) that has a sentinel,
 * to fn. 0, the first non-zero fn returned, or -1 after printing why. */
int store_scan(struct store *, const char *target, size_t nvalues, scan_fn fn, void *ctx);

/* The holders of target's running sentinels (duplicates possible), to
 * fn; a store whose holders are probed otherwise (local: by pid) gives
 * none. 0, the first non-zero fn returned, or -1 after printing why. */
int store_holders(struct store *, const char *target, holder_fn fn, void *ctx);
/* From now on a running sentinel of holder is not held: lookup says
 * LK_INTERRUPTED and scan SCAN_INTERRUPTED (its holder is gone). */
void store_holder_dead(struct store *, const char *holder);

#endif
