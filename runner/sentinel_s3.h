/* sentinel_s3.h - sentinels on an S3 output root, and the claim that
 * keeps two runners off one instance.
 *
 * Names are sentinel_name.h's, below the instance's sentinel folder
 * (an s3:// prefix):
 *   <key>.claim.json                 the claim: one object per key, written
 *                                    with If-None-Match: * (or If-Match on
 *                                    the ETag of a dead holder's), body
 *                                    {"holder": "..."}; not a sentinel
 *   <key>.running.<holder>.json      the running sentinel (who holds it)
 *   <key>.ok.json, <key>.failed.json
 * S3 offers no lock, and a running sentinel named after its holder cannot
 * collide with another holder's, so the claim object is what two runners
 * race for: one conditional PUT wins, the other gets 412 and reports the
 * instance held.
 *
 * Holders (sentinel_name.h's characters): "<AWS_BATCH_JOB_ID>.<AWS_BATCH_JOB_ATTEMPT>"
 * in Batch; elsewhere "local.<pid>.<start>.<host>", start being the
 * process's start time (clock ticks since boot, /proc/PID/stat), host the
 * host name with any other character as '-'. A holder is dead when it is
 * this runner's own, when it is an earlier attempt of this Batch job
 * (Batch replaced it), or when it is a local holder of this host whose
 * pid is gone or now belongs to a process started at another time (pid
 * reuse). Any other holder (another Batch job, another host) counts as
 * live: the instance is "held".
 *
 * Requests per instance: one ListObjectsV2 of the folder (which also
 * answers "already built" and says what to prune; a Batch child's
 * instances share one of their common prefix, s3sent_list_group), the
 * claim PUT, the running PUT; at the end the ok (or failed) PUT and one
 * DeleteObjects of the running sentinel, the claim and whatever older
 * sentinels the listing found. Taking over a dead holder's claim without
 * its running sentinel in view costs a GET of the claim. */
#ifndef RAPID_RUNNER_SENTINEL_S3_H
#define RAPID_RUNNER_SENTINEL_S3_H

#include "runner/sentinel_name.h"

#include <stdbool.h>
#include <stddef.h>

struct remote;
struct s3sent;

/* This runner's holder (the caller frees). */
char *s3sent_holder(void);
/* Whether holder (another runner's) may still be working: 1 live, 0 dead. */
int s3sent_holder_live(const char *holder, const char *mine);

/* The sentinels of the instance whose folder is dir (s3://bucket/prefix/,
 * ending with '/') and whose key is key. Borrowed strings must outlive it. */
struct s3sent *s3sent_new(struct remote *, const char *dir, const char *key);
void s3sent_free(struct s3sent *);

enum s3sent_claimed { S3SENT_CLAIMED = 1, S3SENT_DONE = 0, S3SENT_HELD = 2 };

/* List the folders of n instances (of one bucket) at once: one paginated
 * ListObjectsV2 of their longest common prefix, read by each as its own
 * folder's listing, so that s3sent_claim lists nothing. The listing only
 * saves requests: the claim's conditional PUT is what decides, so the
 * claims must follow the listing at once, as s3sent_claim's own listing
 * does (a child claims all its instances before running the first). 1
 * when listed; 0 when not (fewer than 2 instances, other buckets, no
 * common prefix, or more keys below it than n folder listings would
 * read): each lists its own; -1 with *reason when the listing failed. */
int s3sent_list_group(struct s3sent **, size_t n, char **reason);
/* Claim the instance, after listing its folder (unless listed by
 * s3sent_list_group). S3SENT_CLAIMED; S3SENT_DONE when an ok sentinel of
 * key exists (not with force); S3SENT_HELD with *reason ("held by
 * HOLDER") when a live holder has it or another runner won the race; -1
 * with *reason. *reason is malloc'd: the caller frees. */
int s3sent_claim(struct s3sent *, bool force, char **reason);
/* Once claimed, when the instance starts: PUT the running sentinel
 * (body). 0, or -1 with *reason, the claim then released. */
int s3sent_start(struct s3sent *, const char *body, size_t len, char **reason);
/* Whether the listing found no sentinel of the instance at all (its
 * first build), and whether a dead holder's claim was taken over from a
 * holder that may have started (its running sentinel in view, or its
 * claim read by GET): one whose outputs may be half written. */
bool s3sent_fresh(const struct s3sent *);
bool s3sent_took_over(const struct s3sent *);
/* Before any output is touched: delete every ok sentinel of the instance
 * (whatever its key) the listing found. 0, or -1 with *reason. */
int s3sent_drop_ok(struct s3sent *, char **reason);
/* PUT <key>.<state>.json (ok or failed), or rewrite the running
 * sentinel (SENT_RUNNING). 0, or -1 with *reason. */
int s3sent_put(struct s3sent *, enum sentinel_state, const char *body, size_t len, char **reason);
/* The end of the claim, in one DeleteObjects: the running sentinel
 * (unless keep_running: an interrupted instance, or one never started),
 * the older sentinels the listing found when prune (after an ok: failed
 * ones, running ones of dead holders), and the claim. 0, or -1 with
 * *reason (the keys S3 refused). */
int s3sent_release(struct s3sent *, bool keep_running, bool prune, char **reason);

#endif
