/* upload.h - putting a finished instance's outputs and its log on S3.
 *
 * Every regular file of every output (runner/outputs.h's list) is one
 * PutObject from its scratch path, all at once (aws/s3.h: s3_run); a file
 * of at least the multipart threshold is a multipart upload whose parts
 * go in parallel, aborted when any part fails, so no upload stays open.
 * The ETag S3 gives each object is recorded in the list. */
#ifndef RAPID_RUNNER_UPLOAD_H
#define RAPID_RUNNER_UPLOAD_H

#include <stdbool.h>

struct remote;
struct spec;
struct out_files;

/* Upload the outputs (scratch[i]: output i's path in scratch, a folder's
 * ending with '/'). With replace (an instance built before, or taken over
 * from a dead runner): multipart uploads left open under each output are
 * aborted first, and afterwards the objects under a folder output that
 * are not among the new files are deleted, so the folder is replaced as
 * a whole. 0, or -1 with *reason (malloc'd). */
int upload_outputs(struct remote *, const struct spec *, char *const *scratch, struct out_files *,
		   bool replace, char **reason);

/* PUT the local file path as the object uri (s3://bucket/key). 0, or -1
 * with *reason (malloc'd). */
int upload_file(struct remote *, const char *path, const char *uri, char **reason);

#endif
