/* sentinel_fuzz.c - libFuzzer harness for the sentinel formats of
 * runner/: the first byte picks a name (runner/sentinel_name.c) or a body
 * (runner/sentinel_body.c), the rest is the text. Both round-trip: a name
 * that decodes encodes back to the same last component; a body that
 * parses encodes, re-parses and encodes to the same text. */
#include "lib/util.h"
#include "runner/sentinel_body.h"
#include "runner/sentinel_name.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void name(const char *rel, size_t len)
{
	struct sentinel_name n;
	if (sentinel_name_parse(rel, len, &n) < 0)
		return;
	if (n.dirlen > len || strlen(n.key) != 32)
		abort();
	struct buf b = {0};
	sentinel_base_put(&b, n.key, n.state, n.holder);
	if (b.len != len - n.dirlen || memcmp(b.data, rel + n.dirlen, b.len))
		abort(); /* decoding lost or invented something */
	buf_free(&b);
}

static void body(const char *text, size_t len)
{
	char *err = NULL;
	struct sentinel_body *a = sentinel_body_parse(text, len, &err);
	if (!a) {
		if (!err)
			abort(); /* a failure always says why */
		free(err);
		return;
	}
	size_t n1, n2;
	char *e1 = sentinel_body_encode(a, &n1);
	struct sentinel_body *b = e1 ? sentinel_body_parse(e1, n1, &err) : NULL;
	char *e2 = b ? sentinel_body_encode(b, &n2) : NULL;
	if (!e2 || n1 != n2 || memcmp(e1, e2, n1))
		abort();
	free(e1);
	free(e2);
	sentinel_body_free(a);
	sentinel_body_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	if (data[0] % 2)
		body(text, size - 1);
	else
		name(text, size - 1);
	return 0;
}
