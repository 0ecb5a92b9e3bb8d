/* store.c - pick the store for an output root and dispatch to it. */
#include "engine/store.h"
#include "lib/util.h"

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
		 size_t nvalues, const char *key, const char *state, size_t *len)
{
	return s->ops->read(s, target, values, nvalues, key, state, len);
}
