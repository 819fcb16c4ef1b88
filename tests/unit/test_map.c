/* map.c: put, get, replace, delete, growth, count, foreach. */
#include <stdlib.h>

#include "check.h"

#define MANY 100000

static void
count_visits(const char *key, void *value, void *arg)
{
	int *visits = arg;

	(void)key;
	visits[*(int *)value]++;
}

static void
sum_values(const char *key, void *value, void *arg)
{
	(void)key;
	*(long *)arg += *(int *)value;
}

static void
basics(void)
{
	struct map *m = map_new();
	int a = 1, b = 2, c = 3;
	char key[] = "alice@example.com";
	char same[] = "alice@example.com";
	long sum = 0;

	CHECK_INT(map_count(m), 0);
	CHECK(map_get(m, "nobody") == NULL);
	CHECK(map_del(m, "nobody") == NULL);

	map_put(m, key, &a);
	map_put(m, "bob@example.com", &b);
	CHECK_INT(map_count(m), 2);
	CHECK(map_get(m, "alice@example.com") == &a);
	CHECK(map_get(m, same) == &a); /* compared by content, not by pointer */
	CHECK(map_get(m, "bob@example.com") == &b);
	CHECK(map_get(m, "alice@example.co") == NULL);
	CHECK(map_get(m, "") == NULL);

	/* replacing keeps one entry and takes the new key pointer */
	map_put(m, same, &c);
	CHECK_INT(map_count(m), 2);
	CHECK(map_get(m, "alice@example.com") == &c);
	key[0] = 'X'; /* the old key storage may now change without breaking the entry */
	CHECK(map_get(m, "alice@example.com") == &c);

	map_foreach(m, sum_values, &sum);
	CHECK_INT(sum, 2 + 3);

	/* the empty string is a key like any other */
	map_put(m, "", &a);
	CHECK(map_get(m, "") == &a);
	CHECK_INT(map_count(m), 3);

	CHECK(map_del(m, "alice@example.com") == &c);
	CHECK(map_get(m, "alice@example.com") == NULL);
	CHECK(map_del(m, "alice@example.com") == NULL);
	CHECK_INT(map_count(m), 2);
	CHECK(map_get(m, "bob@example.com") == &b);
	CHECK(map_del(m, "") == &a);
	CHECK(map_del(m, "bob@example.com") == &b);
	CHECK_INT(map_count(m), 0);

	map_free(m);
	map_free(NULL);
}

static void
many(void)
{
	struct map *m = map_new();
	char (*keys)[16] = xcalloc(MANY, sizeof(*keys));
	int *visits = xcalloc(MANY, sizeof(*visits));
	int *ids = xcalloc(MANY, sizeof(*ids));
	size_t i, bad, once;

	for (i = 0; i < MANY; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		ids[i] = (int)i;
		map_put(m, keys[i], &ids[i]);
	}
	CHECK_INT(map_count(m), MANY);

	for (i = 0, bad = 0; i < MANY; i++) {
		char probe[16];

		snprintf(probe, sizeof(probe), "k%zu", i);
		if (map_get(m, probe) != &ids[i])
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK(map_get(m, "k100000") == NULL);

	map_foreach(m, count_visits, visits);
	for (i = 0, once = 0; i < MANY; i++)
		once += visits[i] == 1;
	CHECK_INT(once, MANY);

	/* delete every other key, then check both halves */
	for (i = 0, bad = 0; i < MANY; i += 2)
		if (map_del(m, keys[i]) != &ids[i])
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(map_count(m), MANY / 2);
	for (i = 0, bad = 0; i < MANY; i++)
		if (map_get(m, keys[i]) != (i % 2 ? &ids[i] : NULL))
			bad++;
	CHECK_INT(bad, 0);

	memset(visits, 0, MANY * sizeof(*visits));
	map_foreach(m, count_visits, visits);
	for (i = 0, bad = 0; i < MANY; i++)
		if (visits[i] != (int)(i % 2))
			bad++;
	CHECK_INT(bad, 0);

	/* delete everything */
	for (i = 1, bad = 0; i < MANY; i += 2)
		if (map_del(m, keys[i]) != &ids[i])
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(map_count(m), 0);
	memset(visits, 0, MANY * sizeof(*visits));
	map_foreach(m, count_visits, visits);
	for (i = 0, bad = 0; i < MANY; i++)
		bad += visits[i] != 0;
	CHECK_INT(bad, 0);
	CHECK(map_get(m, "k1") == NULL);

	/* and it is usable again */
	map_put(m, keys[7], &bad);
	CHECK(map_get(m, "k7") == &bad);
	CHECK_INT(map_count(m), 1);

	map_free(m);
	free(keys);
	free(visits);
	free(ids);
}

int
main(void)
{
	basics();
	many();
	return check_done();
}
