/* store.c - pick the store for an output root and dispatch to it. */
#include "engine/store.h"
#include "lib/util.h"
#include "runner/layout.h"

#include <stdlib.h>
#include <string.h>

struct store *store_open(const char *root)
{
	if (!strncmp(root, "s3://", 5))
		return store_open_s3(root);
	return store_open_local(root);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_root(const struct store *s)
{
	return s->root;
}

int store_prepare(struct store *s, const char *target)
{
	return s->ops->prepare ? s->ops->prepare(s, target) : 0;
}

int store_lookup(struct store *s, const char *target, const char *const *values,
		 size_t nvalues, const char *key, struct lookup *out)
{
	return s->ops->lookup(s, target, values, nvalues, key, out);
}

char *store_read(struct store *s, const char *target, const char *const *values,
		 size_t nvalues, const char *key, enum sentinel_state state, size_t *len)
{
	return s->ops->read(s, target, values, nvalues, key, state, len);
}

struct sentinel_body *store_body(struct store *s, const char *target, const char *const *values,
				 size_t nvalues, const char *key, enum sentinel_state state)
{
	size_t len = 0;
	char *text = store_read(s, target, values, nvalues, key, state, &len);
	if (!text)
		return NULL;
	char *err = NULL;
	struct sentinel_body *b = sentinel_body_parse(text, len, &err);
	if (!b) {
		struct buf name = {0};
		layout_put_sentinel_root(&name, s->root, target);
		sentinel_name_put(&name, values, nvalues, key, state, NULL);
		warn("cannot read '%s': %s", name.data, err);
		buf_free(&name);
	}
	free(err);
	free(text);
	return b;
}

int store_scan(struct store *s, const char *target, size_t nvalues, scan_fn fn, void *ctx)
{
	return s->ops->scan(s, target, nvalues, fn, ctx);
}

int store_sweep(struct store *s)
{
	return s->ops->sweep ? s->ops->sweep(s) : 0;
}

int store_holders(struct store *s, const char *target, holder_fn fn, void *ctx)
{
	return s->ops->holders ? s->ops->holders(s, target, fn, ctx) : 0;
}

void store_holder_dead(struct store *s, const char *holder)
{
	if (s->ops->holder_dead)
		s->ops->holder_dead(s, holder);
}
