/* sentinel_name.h - a sentinel's name: the one encoder and decoder, for
 * a local output root and an S3 one alike.
 *
 * Under the target's sentinel folder (runner/layout.h) a sentinel is
 *   <v0>/<v1>/.../<vn-1>/<key>.<state>.json
 *   <v0>/<v1>/.../<vn-1>/<key>.running.<holder>.json
 * v0... are the instance's wildcard values (valid ids, one component
 * each), key the 32 lowercase hex digits of its build key, state running,
 * ok or failed. Only a running sentinel may name its holder: on S3
 * "<job id>.<attempt>" in Batch, "local.<pid>.<start>.<host>" elsewhere
 * (runner/sentinel_s3.h; so a dead holder is recognised without reading
 * it); a local running sentinel has none in its name (its claim is a
 * lock on one fixed name; host and pid are in its body). The same
 * relative name is a local path below the folder and an S3 key below the
 * prefix, since both use '/'. */
#ifndef RAPID_RUNNER_SENTINEL_NAME_H
#define RAPID_RUNNER_SENTINEL_NAME_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

enum sentinel_state { SENT_RUNNING, SENT_OK, SENT_FAILED };

/* "running", "ok", "failed". */
const char *sentinel_state_name(enum sentinel_state);
/* The state named s; -1 when it is none of them. */
int sentinel_state_parse(const char *s, enum sentinel_state *out);

/* The longest holder a name may carry. */
#define SENTINEL_HOLDER_MAX 200

/* A decoded name. */
struct sentinel_name {
	char key[33];
	enum sentinel_state state;
	char holder[SENTINEL_HOLDER_MAX + 1]; /* "" when the name has none */
	size_t dirlen; /* bytes of the folder part ("v0/v1/.../", "" for none) */
	size_t ndirs;  /* its components: the instance's number of wildcards */
};

/* Whether holder may go in a name: 1 to SENTINEL_HOLDER_MAX bytes of
 * [A-Za-z0-9._:-], starting with a letter or digit. */
bool sentinel_holder_valid(const char *holder);

/* Append the name of the instance's sentinel (values may be 0 of them)
 * to b. holder NULL or "" for none; a holder is only for SENT_RUNNING and
 * must be sentinel_holder_valid (else it is left out). Returns the length
 * of the folder part appended ("v0/.../", 0 without values). */
size_t sentinel_name_put(struct buf *b, const char *const *values, size_t nvalues,
		       const char *key, enum sentinel_state, const char *holder);
/* Only the last component: "<key>.<state>[.<holder>].json". */
void sentinel_base_put(struct buf *b, const char *key, enum sentinel_state, const char *holder);

/* An S3 root's claim object, beside the sentinels: "<key>.claim.json"
 * (runner/sentinel_s3.h). It is not a sentinel: sentinel_name_parse
 * refuses it and stores ignore it. */
void sentinel_claim_base_put(struct buf *b, const char *key);

/* Decode rel (len bytes, relative to the target's sentinel folder). 0
 * and *out, or -1 when rel is not a sentinel's name (another object, a
 * temporary file, an empty or "."/".." component, a holder on an ok or
 * failed sentinel, upper-case hex...): never a partial parse. */
int sentinel_name_parse(const char *rel, size_t len, struct sentinel_name *out);

#endif
