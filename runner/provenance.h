/* provenance.h - where an instance ran, as AWS Batch tells a container:
 * recorded in every sentinel body the runner writes (runner/runner.c's
 * make_body; the fields of runner/sentinel_body.h).
 *
 *   job_id         AWS_BATCH_JOB_ID ("<job id>" or "<job id>:<index>")
 *   array_index    the array index the runner works on (--index, else
 *                  AWS_BATCH_JOB_ARRAY_INDEX); -1 when it has neither
 *   attempt        AWS_BATCH_JOB_ATTEMPT (from 1); -1 when absent
 *   image_digest   "ImageID" of GET ${ECS_CONTAINER_METADATA_URI_V4}
 *                  (the image manifest's "sha256:…" digest actually run)
 *   instance_type  IMDSv2: PUT /latest/api/token, then GET
 *                  /latest/meta-data/instance-type with the token, at
 *                  AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *                  http://169.254.169.254); AWS_EC2_METADATA_DISABLED=true
 *                  skips it
 * The metadata services are asked only inside a Batch job (AWS_BATCH_JOB_ID
 * set), once per runner, with one attempt each and a timeout of
 * PROVENANCE_TIMEOUT_MS (1 s to connect): one that is absent, slow or
 * answers nonsense leaves its field NULL and fails nothing. A value that
 * does not look like what it names (a control character, more than 255
 * bytes, an instance type other than [a-z0-9.-]) is dropped too.
 *
 * Without runner_provenance_set (the local executor's runners), the getter
 * returns NULL and the fields are null in the sentinels. */
#ifndef RAPID_RUNNER_PROVENANCE_H
#define RAPID_RUNNER_PROVENANCE_H

#define PROVENANCE_TIMEOUT_MS 2000

struct buf;

/* NULL strings and -1 numbers: not known. */
struct runner_provenance {
	const char *job_id;
	long array_index, attempt;
	const char *image_digest, *instance_type;
};

/* Fill p from the environment and the metadata services (above); index
 * is the array index the runner uses, or -1 when none was given. Each service that was asked
 * and said nothing usable adds a line to notes ("the image digest is not
 * known: GET 'http://…': HTTP 404"), for the caller to print; nothing
 * else is printed. p's strings are malloc'd: runner_provenance_clear. */
void runner_provenance_collect(struct runner_provenance *p, long index, struct buf *notes);
/* Free what collect put in p and reset it to "not known". */
void runner_provenance_clear(struct runner_provenance *p);

/* Record p (copied) for every sentinel body written from now on; NULL
 * forgets it. */
void runner_provenance_set(const struct runner_provenance *p);
/* What was set, or NULL. Borrowed until the next set. */
const struct runner_provenance *runner_provenance_get(void);

#endif
