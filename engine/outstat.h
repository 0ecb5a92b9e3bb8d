/* outstat.h - whether an up-to-date instance's outputs are still the files
 * its ok sentinel records: each one there with the recorded size (a stat,
 * as make and ninja do), and under verify with the recorded XXH3-128.
 *
 * What a sentinel records is cached in the state (STATE_OUTPUTS, by key,
 * with which file the sentinel was), so a warm plan stats outputs without
 * reading sentinel bodies. An S3 output root is compared only under
 * verify: one listing of the whole root, each recorded object's presence
 * and size (docs/cli.md). */
#ifndef RAPID_OUTSTAT_H
#define RAPID_OUTSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct graph;
struct instance;
struct lookup;
struct state;
struct store;

struct outstat;

/* st may be NULL (no cache). verify: also re-hash every recorded file. */
struct outstat *outstat_new(struct state *st, bool verify);
void outstat_free(struct outstat *);

/* Check instance i, up to date at key (lk from store_lookup said LK_OK),
 * whose output URIs are out_uris[0..noutputs). 0 when every recorded
 * output is in place; 1 when one is not, with summary set to "output NAME
 * changed", why to the first difference ("a/b.nii.gz missing", "size 12
 * → 0", "content changed", with ", and N more") and details to one line
 * per difference; -1 after printing why (the plan cannot go on). */
int outstat_check(struct outstat *, struct store *, const struct graph *, const struct instance *,
		  const char *const *out_uris, const char *key, const struct lookup *lk,
		  struct buf *summary, struct buf *why, struct buf *details);

/* How many output files (or objects) were checked and hashed so far. */
void outstat_counts(const struct outstat *, size_t *stated, size_t *hashed);

#endif
