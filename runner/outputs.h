/* outputs.h - a finished recipe's outputs: check they were produced,
 * record each file's size and XXH3-128, move them into place. Each step
 * that fails gives a reason (malloc'd; the caller frees) for the failed
 * sentinel rather than printing. */
#ifndef RAPID_RUNNER_OUTPUTS_H
#define RAPID_RUNNER_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

struct spec;

/* One regular file of an output. */
struct out_file {
	size_t output; /* index into spec.outputs */
	char *rel;     /* path inside a directory output; a file output's base name */
	uint64_t size;
	char xxh3[33];
	char etag[80]; /* its S3 object's ETag once uploaded; "" otherwise */
};

struct out_files {
	struct out_file *v;
	size_t n, cap;
};

/* Every output exists in scratch (scratch[i] is output i's path there; a
 * directory's ends with '/'). 0, or -1 with *reason
 * ("output 'NAME' was not produced"). */
int outputs_check(const struct spec *, char *const *scratch, char **reason);
/* Record every regular file of every output, in a stable order (sorted by
 * name at each level). 0, or -1 with *reason. */
int outputs_hash(const struct spec *, char *const *scratch, struct out_files *, char **reason);
/* Move every output into place: a file by rename over the destination, a
 * directory replacing the old one as a whole (the old one goes through
 * trash, a folder of its own, which is removed). Each output's files and
 * folders are synced before it moves, and every folder whose entries
 * changed (the destinations' parents, and the parents of folders made for
 * them) after all have moved: when this returns 0 the outputs are
 * durable. The caller removes the instance's ok sentinels first
 * (sentinel_drop_ok). 0, or -1 with *reason.
 * On failure the previous directory is back in place; if it cannot be
 * put back it is left in trash, never removed, and *reason names it. */
int outputs_publish(const struct spec *, char *const *scratch, const char *trash, char **reason);
void out_files_free(struct out_files *);

/* XXH3-128 of a file as 32 lowercase hex digits (canonical byte order).
 * 0, or -1 with errno. */
int outputs_hash_file(const char *path, char hex[33], uint64_t *size);

#endif
