/* sentinel_name.c - encode and decode sentinel names (sentinel_name.h). */
#include "runner/sentinel_name.h"
#include "lib/util.h"

#include <string.h>

static const char *const state_names[] = {"running", "ok", "failed"};

const char *sentinel_state_name(enum sentinel_state s)
{
	return (unsigned)s < ARRAY_LEN(state_names) ? state_names[s] : "unknown";
}

int sentinel_state_parse(const char *s, enum sentinel_state *out)
{
	for (size_t i = 0; i < ARRAY_LEN(state_names); i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum sentinel_state)i;
			return 0;
		}
	return -1;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool holder_ok(const char *h, size_t n)
{
	if (n == 0 || n > SENTINEL_HOLDER_MAX || !is_alnum(h[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(h[i]) && !strchr("._:-", h[i]))
			return false;
	return true;
}

bool sentinel_holder_valid(const char *holder)
{
	return holder && holder_ok(holder, strlen(holder));
}

void sentinel_base_put(struct buf *b, const char *key, enum sentinel_state st, const char *holder)
{
	/* The no-op plan probes one ok sentinel per instance: keep it short. */
	static const char *const dot_state[] = {".running", ".ok", ".failed"};
	buf_puts(b, key);
	buf_puts(b, (unsigned)st < ARRAY_LEN(dot_state) ? dot_state[st] : ".unknown");
	if (st == SENT_RUNNING && holder && sentinel_holder_valid(holder)) {
		buf_putc(b, '.');
		buf_puts(b, holder);
	}
	buf_putn(b, ".json", 5);
}

void sentinel_claim_base_put(struct buf *b, const char *key)
{
	buf_puts(b, key);
	buf_puts(b, ".claim.json");
}

size_t sentinel_name_put(struct buf *b, const char *const *values, size_t nvalues,
			 const char *key, enum sentinel_state st, const char *holder)
{
	size_t start = b->len;
	for (size_t i = 0; i < nvalues; i++) {
		buf_puts(b, values[i]);
		buf_putc(b, '/');
	}
	size_t dirlen = b->len - start;
	sentinel_base_put(b, key, st, holder);
	return dirlen;
}

/* A folder component: what a wildcard value may be, [A-Za-z0-9][A-Za-z0-9._-]*. */
static bool component_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static bool has(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - p) >= n && !memcmp(p, lit, n);
}

int sentinel_name_parse(const char *rel, size_t len, struct sentinel_name *out)
{
	const char *end = rel + len, *base = rel;
	size_t ndirs = 0;
	if (memchr(rel, 0, len))
		return -1;
	for (const char *p = rel; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		if (!slash)
			break;
		if (!component_ok(p, (size_t)(slash - p)))
			return -1;
		ndirs++;
		p = base = slash + 1;
	}
	/* <32 hex>.<state>[.<holder>].json */
	const char *p = base;
	if (end - p < 33)
		return -1;
	for (int i = 0; i < 32; i++)
		if (!is_hex(p[i]))
			return -1;
	if (p[32] != '.')
		return -1;
	const char *q = p + 33;
	if (end - q < 5 || memcmp(end - 5, ".json", 5))
		return -1;
	const char *tail = end - 5; /* where ".json" starts */
	enum sentinel_state st;
	const char *h = NULL;
	if (has(q, tail, "ok") && q + 2 == tail)
		st = SENT_OK;
	else if (has(q, tail, "failed") && q + 6 == tail)
		st = SENT_FAILED;
	else if (has(q, tail, "running") && (q + 7 == tail || q[7] == '.')) {
		st = SENT_RUNNING;
		if (q + 7 != tail) {
			h = q + 8;
			if (!holder_ok(h, (size_t)(tail - h)))
				return -1;
		}
	} else
		return -1;
	memcpy(out->key, p, 32);
	out->key[32] = 0;
	out->state = st;
	out->holder[0] = 0;
	if (h) {
		memcpy(out->holder, h, (size_t)(tail - h));
		out->holder[tail - h] = 0;
	}
	out->dirlen = (size_t)(base - rel);
	out->ndirs = ndirs;
	return 0;
}
