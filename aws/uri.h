/* uri.h - percent-encoding as AWS signs it (SigV4's UriEncode): every byte
 * except the RFC 3986 unreserved set A-Z a-z 0-9 - _ . ~ becomes %XY with
 * uppercase hex; a space is %20, never '+'. */
#ifndef RAPID_AWS_URI_H
#define RAPID_AWS_URI_H

#include <stddef.h>

struct buf;

/* Append n bytes of s to out, encoded; '/' too (query names and values). */
void uri_encode(struct buf *out, const char *s, size_t n);
/* Append n bytes of s to out, encoded except '/' (paths, S3 keys). */
void uri_encode_path(struct buf *out, const char *s, size_t n);
/* Append n bytes of s to out with each valid %XY turned into its byte
 * (either hex case); a '%' not followed by two hex digits and '+' stay as
 * they are. The result may hold NUL bytes: use out->len. */
void uri_decode(struct buf *out, const char *s, size_t n);

/* Append "name=value" to a query string being built in out, both encoded,
 * preceded by '&' unless out is empty. value NULL appends just "name". */
void uri_query_add(struct buf *out, const char *name, const char *value);

#endif
