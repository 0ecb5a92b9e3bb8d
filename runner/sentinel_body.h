/* sentinel_body.h - a sentinel's body: the one encoder and parser of the
 * provenance a runner records (JSON, schema 1), on a local root and on S3.
 *
 * {
 *   "schema": 1, "state": "ok", "target": "rapidtide",
 *   "wildcards": {"participant": "100307", "run": "REST1_LR"},
 *   "key": "<32 hex>",
 *   "components": {"command": "...", "image": "...", "input bold": "..."},
 *   "command": ["rapidtide", "..."],
 *   "image": {"requested": "fredericklab/rapidtide:3.2.0", "digest": null},
 *   "inputs": [{"name": "bold", "uri": "...", "fingerprint": "...", "present": true}],
 *   "outputs": [{"name": "dir", "path": "a/b.nii.gz", "uri": ".../a/b.nii.gz",
 *                "size": 123, "xxh3": "<32 hex>", "etag": "<ETag>"}],
 *   "exit_code": 0, "signal": null, "reason": null,
 *   "started": "2026-12-02T03:15:00.123Z", "ended": "...", "duration_s": 1.5,
 *   "batch_job_id": null, "array_index": null, "attempt": null,
 *   "instance_type": null, "host": "node1", "pid": 4242,
 *   "rapid_version": "0.1.0", "log": "/abs/out/.rapid/logs/.../<key>.log"
 * }
 * outputs has one entry per regular file: path is its path inside a
 * directory output (a file output's base name), uri the output's URI
 * (with that path for a directory's file), xxh3 the canonical 32-hex
 * XXH3-128, etag the ETag S3 gave the uploaded object (without quotes;
 * left out for a local output). The batch-only fields are null in local mode; exit_code
 * (0..255) is null when a signal ended the recipe (signal is its number,
 * 1..127) or it never ran, and a number out of those ranges reads as null; reason is "exit status N", "killed by signal N (name)", "timeout
 * after Ns", "interrupted by signal N", "cannot run 'cmd': reason",
 * "output 'NAME' was not produced", ... or null when ok; log is null
 * when no log was written. */
#ifndef RAPID_RUNNER_SENTINEL_BODY_H
#define RAPID_RUNNER_SENTINEL_BODY_H

#include "runner/sentinel_name.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct sentinel_pair {
	const char *name, *value;
};

struct sentinel_input {
	const char *name, *uri, *fingerprint; /* fingerprint NULL: none */
	bool present;
};

struct sentinel_output {
	const char *name, *path, *uri;
	uint64_t size;
	char xxh3[33];
	const char *etag; /* the S3 object's ETag (no quotes); NULL: not on S3 */
};

/* NULL strings, and the -1 / false "has" markers, are JSON null. */
struct sentinel_body {
	struct arena *arena; /* what sentinel_body_parse allocated; NULL when filled by hand */
	int schema;
	enum sentinel_state state;
	const char *target;
	struct sentinel_pair *wildcards;
	size_t nwildcards;
	char key[33];
	bool has_components; /* false: the body has none (an older or hand-made one) */
	struct sentinel_pair *components;
	size_t ncomponents;
	const char **command;
	size_t ncommand;
	const char *image, *image_digest;
	struct sentinel_input *inputs;
	size_t ninputs;
	struct sentinel_output *outputs;
	size_t noutputs;
	bool has_exit_code;
	int exit_code;
	int signal;          /* 0: none */
	const char *reason;
	char started[32], ended[32]; /* "" : null */
	double duration_s;   /* < 0: null */
	const char *batch_job_id;
	long array_index, attempt; /* -1: null */
	const char *instance_type, *host;
	long pid;            /* -1: null */
	const char *rapid_version, *log;
};

/* A body with every field null (schema 1, given state). */
void sentinel_body_init(struct sentinel_body *, enum sentinel_state);

/* The body as JSON text, NUL-terminated, *len bytes. NULL only when
 * memory ran out. The caller frees. */
char *sentinel_body_encode(const struct sentinel_body *, size_t *len);

/* Parse a body. Only text that is not a JSON object, or a schema other
 * than 1, is an error (NULL with *err malloc'd, the caller frees it): a
 * field that is missing or of another type counts as null, so a body
 * written by hand or by another version never stops a plan. The caller
 * frees the body with sentinel_body_free. A missing state reads as
 * failed: the name, not the body, says what a sentinel is. */
struct sentinel_body *sentinel_body_parse(const char *text, size_t len, char **err);
void sentinel_body_free(struct sentinel_body *);

#endif
