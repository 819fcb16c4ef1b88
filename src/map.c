/* A string-keyed hash map with separate chaining: O(1) lookups on every hot path. */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

struct entry {
	const char *key;
	void *value;
	uint64_t hash;
	struct entry *next;
};

struct map {
	struct entry **buckets;
	size_t nbuckets, count;
};

/* FNV-1a: short keys (JIDs, names), no adversarial control over the table size. */
static uint64_t
hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

struct map *
map_new(void)
{
	struct map *m = xcalloc(1, sizeof(*m));

	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void
map_free(struct map *m)
{
	struct entry *e, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m->buckets);
	free(m);
}

static struct entry **
map_slot(const struct map *m, const char *key, uint64_t h)
{
	struct entry **pp = &m->buckets[h & (m->nbuckets - 1)];

	while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

static void
map_grow(struct map *m)
{
	size_t n = m->nbuckets * 2, i;
	struct entry **b = xcalloc(n, sizeof(*b)), *e, *next;

	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void *
map_get(const struct map *m, const char *key)
{
	struct entry *e = *map_slot(m, key, hash_key(key));

	return e ? e->value : NULL;
}

/* Replaces the value of an existing key. */
void
map_put(struct map *m, const char *key, void *value)
{
	uint64_t h = hash_key(key);
	struct entry **pp = map_slot(m, key, h), *e;

	if (*pp) {
		(*pp)->key = key;
		(*pp)->value = value;
		return;
	}
	e = xmalloc(sizeof(*e));
	e->key = key;
	e->value = value;
	e->hash = h;
	e->next = NULL;
	*pp = e;
	if (++m->count > m->nbuckets)
		map_grow(m);
}

void *
map_del(struct map *m, const char *key)
{
	struct entry **pp = map_slot(m, key, hash_key(key)), *e = *pp;
	void *value;

	if (e == NULL)
		return NULL;
	value = e->value;
	*pp = e->next;
	free(e);
	m->count--;
	return value;
}

size_t
map_count(const struct map *m)
{
	return m->count;
}

/* The callback must not add or remove entries. */
void
map_foreach(const struct map *m, void (*fn)(const char *, void *, void *), void *arg)
{
	struct entry *e;
	size_t i;

	for (i = 0; i < m->nbuckets; i++)
		for (e = m->buckets[i]; e; e = e->next)
			fn(e->key, e->value, arg);
}
