/* stage.h - staging an instance's s3:// inputs into its scratch folder.
 *
 * A file input is one GET to <scratch>.in/<input>/<base name>; a prefix
 * input (its URI ends with '/') is one ListObjectsV2 of the prefix, then
 * a GET of each object to <scratch>.in/<input>/<path below the prefix>
 * (whatever else is in that folder is removed, so it mirrors the
 * prefix); entry k of a gathering input goes to <scratch>.in/<input>/<k>/.
 * All GETs run at once (aws/s3.h: s3_run). Each object is written to a
 * temporary and renamed when complete; then "<size> <etag>" is recorded
 * beside it, under <scratch>.staged/ (runner/layout.h). A file already in
 * place with its record, of the size and ETag expected (a file input's
 * fingerprint from the plan, a prefix's listing), is not fetched again:
 * a retried attempt resumes, never from a partial file. An object whose
 * ETag is not the fingerprint's fails the instance ("changed since it was
 * planned"). Local inputs stay where they are. */
#ifndef RAPID_RUNNER_STAGE_H
#define RAPID_RUNNER_STAGE_H

#include <stdint.h>

struct remote;
struct spec;

struct stage_stats {
	uint64_t fetched, reused; /* objects */
	uint64_t lists;
};

/* Give every input a local path: in_local[i] (input i; "" when absent or
 * gathering) and gath_local[i][k] (entry k of a gathering input), all
 * malloc'd (arrays of spec.ninputs and of each one's ngathered, allocated
 * by the caller for in_local; gath_local[i] allocated here). rm may be
 * NULL when nothing is on S3. 0, or -1 with *reason (malloc'd). */
int stage_inputs(struct remote *rm, const struct spec *, const char *scratch, char **in_local,
		 char ***gath_local, struct stage_stats *, char **reason);

#endif
