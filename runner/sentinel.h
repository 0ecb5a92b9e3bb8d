/* sentinel.h - sentinels on a local output root: listing, atomic writes
 * and the claim. Names are sentinel_name.h's, bodies sentinel_body.h's,
 * folders layout.h's:
 *
 *   <root>.rapid/sentinels/<target>/<w1>/<w2>/.../<key>.<state>.json
 *
 * state is running, ok or failed; key is the 32-hex build key. Objects are
 * written by rename, never in place. A running sentinel is held under an
 * exclusive flock by the runner that owns the instance for as long as it
 * works on it: a running sentinel whose lock can be taken belongs to a dead
 * runner (the instance was interrupted). Claiming an instance = holding that
 * lock; this is what keeps two builds from running the same instance. */
#ifndef RAPID_SENTINEL_H
#define RAPID_SENTINEL_H

#include "runner/sentinel_name.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* layout_sentinel_dir: <root>.rapid/sentinels/<target>/<v0>/.../ (ends with '/').
 * root ends with '/'. The caller frees. */
char *sentinel_dir(const char *root, const char *target,
		   const char *const *values, size_t nvalues);
/* <dir><key>.<state>.json. The caller frees. */
char *sentinel_path(const char *dir, const char *key, enum sentinel_state);

struct sentinel_entry {
	char key[33];
	enum sentinel_state state;
	int64_t mtime_ns;
};

/* The sentinels in one instance folder, newest first. A missing folder
 * is 0 entries. Names that are not sentinels are ignored; a sentinel's
 * name on anything but a regular file (a directory, a symbolic link) is
 * ignored after "rapid: warning: ignoring sentinel 'PATH': it is a
 * directory". 0, or -1 after printing why. *out is malloc'd (caller
 * frees), NULL when *n is 0. */
int sentinel_list(const char *dir, struct sentinel_entry **out, size_t *n);

/* What a mode that is not a regular file is: "it is a directory", "it is
 * a symbolic link", "it is not a regular file". Static text. */
const char *not_regular(mode_t mode);

/* Whether the running sentinel at path is held by a live runner: 1 live,
 * 0 not (stale or gone), -1 after printing why. */
int sentinel_running_live(const char *path);

/* Write <dir><key>.<state>.json atomically (creating dir): a temporary
 * file, fsync, rename; an ok sentinel's folder is synced too, so the ok
 * is durable when this returns. 0, or -1 after printing
 * "rapid: cannot write 'PATH': reason". */
int sentinel_write(const char *dir, const char *key, enum sentinel_state,
		   const char *body, size_t len);

/* Read a sentinel's body. NULL after printing why. The caller frees. */
char *sentinel_read(const char *dir, const char *key, enum sentinel_state,
		    size_t *len);

struct sentinel_claim;

/* Claim the instance: create (or take over a stale) <key>.running.json
 * with body and hold its lock. 1 and *out when claimed; 0 when a live
 * runner holds it, or when <key>.ok.json already exists as a regular file
 * (nothing to do; anything else at that name is removed once claimed);
 * -1 after printing why. */
int sentinel_claim(const char *dir, const char *key, const char *body,
		   size_t len, struct sentinel_claim **out);
/* The same, for a forced rebuild: an existing ok sentinel does not stop
 * the claim (0 only when a live runner holds it). */
int sentinel_claim_force(const char *dir, const char *key, const char *body,
			 size_t len, struct sentinel_claim **out);
/* Record the claimed instance as built: the running sentinel, still
 * ours, gets body (synced) and is renamed to <key>.ok.json, then the
 * folder is synced (sentinel_write when it is no longer ours). The claim
 * is still to be released. 0, or -1 after printing why (the running
 * sentinel may then hold the ok body: it is still a running sentinel). */
int sentinel_commit_ok(struct sentinel_claim *, const char *dir, const char *key,
		       const char *body, size_t len);
/* Remove the running sentinel (if still ours) and drop the lock. */
void sentinel_release(struct sentinel_claim *);
/* Leave the claimed instance interrupted: replace the running sentinel
 * with body (a new file renamed over it, so nobody holds a lock on what
 * is at its name; NULL keeps the body there) and drop the claim. 0, or
 * -1 after printing why; either way the claim is dropped and a running
 * sentinel without a live runner is left. */
int sentinel_abandon(struct sentinel_claim *, const char *body, size_t len);

/* Before an instance's outputs are touched: remove every ok sentinel in
 * its folder, whatever its key (and anything else at an ok sentinel's
 * name), and sync the folder when one was removed, so that no ok survives
 * a crash that leaves the outputs half replaced. 0, or -1 with *reason
 * (malloc'd: the caller frees). */
int sentinel_drop_ok(const char *dir, char **reason);

/* After an ok sentinel for key is written: remove every other sentinel of
 * the instance except live running ones (they no longer describe its
 * outputs). 0, or -1 after printing why. */
int sentinel_prune(const char *dir, const char *key);

#endif
