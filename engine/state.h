/* state.h - the LMDB state cache in .rapid/state/ beside the Rapidfile.
 *
 * A cache, never the truth: deleting the folder loses nothing but time.
 * This module alone owns the MDB_env. Reads go through one read-only
 * transaction that stays open until the next commit; writes are queued
 * and committed together by state_commit in one write transaction (which
 * grows the map and retries on MDB_MAP_FULL). A corrupt or
 * unknown-version environment is a warning and a fresh start; a folder
 * this process cannot write is a warning and no cache. */
#ifndef RAPID_STATE_H
#define RAPID_STATE_H

#include <stddef.h>

struct state;

/* The named databases. */
enum state_db {
	STATE_FP,          /* absolute local path -> struct fp_record (fingerprint.h) */
	STATE_COMP,        /* build key (32 hex) -> key components (key.h encoding) */
	STATE_LISTING,     /* sentinel listing per target root (S3 backend) */
	STATE_SUBMISSIONS, /* submission id -> record (batch backend) */
	STATE_OUTPUTS,     /* build key (32 hex) -> the files its ok sentinel records (outstat.c) */
	STATE_NDB
};

/* Open or create the environment in dir (created with parents). A
 * damaged one (state.c's header says what is checked) is moved aside to
 * "DIR.corrupt.<time>/" after one warning, "rapid: warning: state 'DIR'
 * is unreadable (reason); starting afresh", and created anew. 0 with *out;
 * 0 with *out NULL when this process cannot write the folder (after
 * "rapid: warning: cannot write state 'DIR': reason; going on without
 * it": the caller works without the cache); -1 after printing "rapid:
 * cannot open state 'DIR': reason". */
int state_open_cache(const char *dir, struct state **out);
/* state_open_cache, for callers that need a state: NULL when it gave -1
 * or no state. */
struct state *state_open(const char *dir);
/* Commit nothing further; release everything. NULL is fine. */
void state_close(struct state *);

/* Look up k. 1 and a malloc'd copy in *v (caller frees) when found, 0 when
 * absent, -1 after printing why. Queued, uncommitted puts are not seen. */
int state_get(struct state *, enum state_db, const void *k, size_t klen,
	      void **v, size_t *vlen);
/* state_get without the allocation: copies min(stored size, bufsize) bytes
 * into buf and sets *vlen to the stored size (so a caller can tell a
 * record of unexpected size). 1 found, 0 absent, -1 after printing why. */
int state_get_into(struct state *, enum state_db, const void *k, size_t klen,
		   void *buf, size_t bufsize, size_t *vlen);
/* Queue a put (copies k and v); applied by state_commit. */
void state_put(struct state *, enum state_db, const void *k, size_t klen,
	       const void *v, size_t vlen);
/* Queue a delete of k (absent is fine). */
void state_del(struct state *, enum state_db, const void *k, size_t klen);
/* Apply every queued change in one write transaction. 0, or -1 after
 * printing why (the queued changes are dropped either way). NULL: 0. */
int state_commit(struct state *);

/* Keys longer than LMDB's limit (511 bytes), or empty, are stored under
 * "\xffK" + their XXH3-128 digest; get, put and del agree on it. */

/* Testing only: the map size a newly opened environment starts with
 * (default 256 MiB; 0 restores it). Commits double it when it fills. */
void state_set_initial_mapsize(size_t bytes);

#endif
