/* map.c - names to pointers: an open-addressing hash (linear probing,
 * at most half full) with XXH3 of the name, so that looking up a target,
 * a variable or a file costs the same with 100,000 of them as with ten.
 * Keys are borrowed and must outlive the map. */
#include "rules/rint.h"

#include <xxhash.h>

struct rl_map_slot {
	const char *key; /* NULL: empty */
	size_t len;
	uint64_t hash;
	void *val;
};

static struct rl_map_slot *slot_of(struct rl_map *m, const char *key, size_t n, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct rl_map_slot *s = &m->slot[i];
		m->probes++;
		if (!s->key || (s->hash == h && s->len == n && !memcmp(s->key, key, n)))
			return s;
	}
}

void *rl_map_get(struct rl_map *m, const char *key, size_t n)
{
	if (!m->cap)
		return NULL;
	struct rl_map_slot *s = slot_of(m, key, n, XXH3_64bits(key, n));
	return s->key ? s->val : NULL;
}

void rl_map_put(struct rl_map *m, const char *key, size_t n, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct rl_map old = *m;
		m->cap = old.cap ? old.cap * 2 : 16;
		m->slot = xcalloc(m->cap, sizeof(*m->slot));
		for (size_t i = 0; i < old.cap; i++)
			if (old.slot[i].key)
				*slot_of(m, old.slot[i].key, old.slot[i].len, old.slot[i].hash) = old.slot[i];
		free(old.slot);
	}
	uint64_t h = XXH3_64bits(key, n);
	struct rl_map_slot *s = slot_of(m, key, n, h);
	if (!s->key)
		m->n++;
	*s = (struct rl_map_slot){key, n, h, val};
}

void rl_map_free(struct rl_map *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}
