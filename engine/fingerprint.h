/* fingerprint.h - content fingerprints of input files, local and on S3.
 *
 * A file's fingerprint is its size and the XXH3-128 of its bytes. Hashes are
 * cached in the state (STATE_FP) by absolute path together with (dev, inode,
 * size, mtime ns, ctime ns): a file whose stat matches is never re-read.
 * A file modified within FP_RACY_NS of being hashed is hashed again next
 * time (its timestamp cannot tell a later same-tick write apart).
 *
 * An S3 object's fingerprint is "size=N etag=ETAG" from HeadObject, cached
 * in STATE_FP under its URI and trusted until a refresh: inputs are public
 * dataset objects that do not change in practice. */
#ifndef RAPID_FINGERPRINT_H
#define RAPID_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state;

#define FP_RACY_NS 20000000LL
/* "size=N xxh3=<32 hex>" and "files=N size=S xxh3=<32 hex>" fit. */
#define FP_MAX 96

/* The record stored in STATE_FP (native byte order; versioned by the
 * state's format number). */
struct fp_record {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns, checked_ns;
	uint8_t hash[16];
};

struct fp_stats {
	size_t cached;          /* answered from the cache */
	size_t hashed;          /* files read and hashed */
	uint64_t bytes_hashed;
	size_t missing;         /* ENOENT / ENOTDIR, or S3 404 */
	size_t headed;          /* S3 objects asked for with HeadObject */
};

struct fp_ctx;

/* st may be NULL (no caching). refresh: ignore cached hashes (still
 * rewrites them). */
struct fp_ctx *fp_new(struct state *st, bool refresh);
/* Fingerprint the file at an absolute path into out as
 * "size=N xxh3=HEX"; a path ending in '/' is a folder, fingerprinted as a
 * tree: "files=N size=S xxh3=HEX" over each regular file under it (its
 * path inside the folder, size and XXH3-128, each file cached as above),
 * in name order. 1 when present, 0 when missing (ENOENT/ENOTDIR), -1 when
 * it cannot be read (a folder without the trailing '/', a FIFO, EACCES,
 * ELOOP, ...), with fp_error saying "cannot read 'PATH': reason"; nothing
 * is printed. */
int fp_local(struct fp_ctx *, const char *path, char out[FP_MAX]);
/* Stat the paths fp_local is given that lie inside dir (absolute) from
 * an open descriptor of dir: fewer components for the kernel to walk.
 * Paths and the cache keys stay absolute. */
void fp_set_base(struct fp_ctx *, const char *dir);
/* Why the last fp_local gave -1. Borrowed, valid until the next call. */
const char *fp_error(const struct fp_ctx *);
/* Which files differ between two folder fingerprints (each folder's
 * listing is kept in the state, by its tree hash, when it is hashed):
 * appends "sub/y.nii changed, new.nii added, x.nii removed, and 2 more"
 * to out and gives 1; 0 when either listing is unknown. */
struct buf;
int fp_tree_explain(struct fp_ctx *, const char *old_fp, const char *new_fp, struct buf *out);
const struct fp_stats *fp_get_stats(const struct fp_ctx *);
/* Queue the cache updates into the state (the caller commits) and free. */
void fp_free(struct fp_ctx *);

/* S3 inputs. fp_s3_want queues uri (an s3://bucket/key) unless its
 * fingerprint is known; fp_s3_fetch asks S3 for every queued one at once
 * (concurrent HeadObject requests): 0, or -1 after printing the failures.
 * fp_s3 answers for one uri (fetching it alone if it was not fetched):
 * 1 present (out filled), 0 missing, -1 after printing why. */
void fp_s3_want(struct fp_ctx *, const char *uri);
int fp_s3_fetch(struct fp_ctx *);
int fp_s3(struct fp_ctx *, const char *uri, char out[FP_MAX]);

#endif
