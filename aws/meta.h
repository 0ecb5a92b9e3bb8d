/* meta.h - the metadata services a process asks about itself on AWS:
 * the ECS agent's endpoints (container credentials, task metadata v4,
 * ECS_CONTAINER_METADATA_URI_V4) and EC2's instance metadata service
 * (IMDSv2: a session token by PUT, then GETs that carry it).
 *
 * Every call goes through the HTTP engine (aws/http.h) with one attempt,
 * short timeouts and never a proxy: the services are link-local or
 * loopback, and one that does not answer means "not there", quickly.
 * Nothing here prints, and no message holds a token or a body: values
 * are named by where they came from. */
#ifndef RAPID_AWS_META_H
#define RAPID_AWS_META_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

struct aws_config;
struct aws_meta;

/* A client whose engine is made on its first call: connect_ms to
 * connect, total_ms for the whole answer (0: 1000 and 5000). */
struct aws_meta *aws_meta_new(long connect_ms, long total_ms);
void aws_meta_free(struct aws_meta *);
/* HTTP calls made (answered or not). */
unsigned aws_meta_calls(const struct aws_meta *);

/* method url with headers (name, value pairs, NULL-ended; borrowed),
 * keeping at most max_body bytes of the answer. 0 with *status and the
 * body (any status; *body's storage was sized up front, so no copy of a
 * secret is left behind by a realloc: free it with aws_meta_body_free),
 * or -1 with why written when no HTTP answer came (*status 0). */
int aws_meta_call(struct aws_meta *, const char *method, const char *url, const char *const *headers,
		  size_t max_body, long *status, struct buf *body, struct buf *why);
/* Zero a body (it may hold a secret), then free it. */
void aws_meta_body_free(struct buf *);

/* ---- IMDSv2 ---- */

/* AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool aws_meta_imds_disabled(void);
/* IMDS's base URL without a trailing '/': AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * else the profile's ec2_metadata_service_endpoint (cfg may be NULL), else
 * http://169.254.169.254 (or http://[fd00:ec2::254] when the endpoint mode
 * is IPv6). The caller frees. */
char *aws_meta_imds_base(const struct aws_config *cfg);

enum { AWS_META_OK = 0, AWS_META_ABSENT = 1, AWS_META_FAILED = -1 };
/* A session token (PUT base/latest/api/token with a TTL of 6 hours).
 * AWS_META_OK and *token (the caller cleanses and frees it);
 * AWS_META_ABSENT with why when no answer came (not on EC2);
 * AWS_META_FAILED with why ("HTTP 403", "the IMDSv2 token is empty") when
 * the answer is not a token. */
int aws_meta_imds_token(struct aws_meta *, const char *base, char **token, struct buf *why);
/* GET base + path (from '/') with the token: as aws_meta_call. */
int aws_meta_imds_get(struct aws_meta *, const char *base, const char *token, const char *path, long *status,
		      struct buf *body, struct buf *why);

/* ---- ECS task metadata v4 ---- */

/* The container's image from GET ${ECS_CONTAINER_METADATA_URI_V4} (uri):
 * "ImageID" (the manifest's digest, "sha256:<64 hex>") and "Image" (as
 * the task asked for it). 0 with both (owned; *image NULL when the answer
 * has none), or -1 with why: no answer, a status other than 200, no
 * ImageID of that form. */
int aws_meta_ecs_image(struct aws_meta *, const char *uri, char **image_id, char **image, struct buf *why);

#endif
