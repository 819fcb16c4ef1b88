/*
 * A binary heap of pointers, shared by the timers and the routers' ready lists. Each element
 * keeps its own index + 1 (0 while out) in a size_t at slot_off, so removing or reordering an
 * element costs O(log n) without a search, and nothing is allocated per element.
 */
#include <stdlib.h>

#include "respa.h"

static size_t *
slot_of(const struct heap *h, void *e)
{
	return (size_t *)(void *)((char *)e + h->slot_off);
}

static void
place(struct heap *h, void *e, size_t i)
{
	h->v[i] = e;
	*slot_of(h, e) = i + 1;
}

static void
sift_up(struct heap *h, size_t i)
{
	void *e = h->v[i];

	while (i > 0 && h->before(e, h->v[(i - 1) / 2])) {
		place(h, h->v[(i - 1) / 2], i);
		i = (i - 1) / 2;
	}
	place(h, e, i);
}

static void
sift_down(struct heap *h, size_t i)
{
	void *e = h->v[i];
	size_t c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->before(h->v[c + 1], h->v[c]))
			c++;
		if (!h->before(h->v[c], e))
			break;
		place(h, h->v[c], i);
		i = c;
	}
	place(h, e, i);
}

/* An empty heap ordered by before(a, b): 1 when a comes first. */
void
heap_init(struct heap *h, int (*before)(const void *, const void *), size_t slot_off)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->before = before;
	h->slot_off = slot_off;
}

/* Into the heap, or to its new place when its order changed. */
void
heap_put(struct heap *h, void *e)
{
	size_t slot = *slot_of(h, e);

	if (slot) {
		sift_up(h, slot - 1);
		sift_down(h, *slot_of(h, e) - 1);
		return;
	}
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	place(h, e, h->n++);
	sift_up(h, h->n - 1);
}

/* Out of the heap; nothing when it is not in. */
void
heap_remove(struct heap *h, void *e)
{
	size_t i = *slot_of(h, e);
	void *last;

	if (i-- == 0)
		return;
	*slot_of(h, e) = 0;
	if (i == --h->n)
		return;
	last = h->v[h->n]; /* fills the hole, then finds its place up or down */
	place(h, last, i);
	sift_up(h, i);
	sift_down(h, *slot_of(h, last) - 1);
}

/* The first element, or NULL when empty. */
void *
heap_top(const struct heap *h)
{
	return h->n ? h->v[0] : NULL;
}

/* Empty again, every element marked out; the array stays for reuse. */
void
heap_clear(struct heap *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		*slot_of(h, h->v[i]) = 0;
	h->n = 0;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
