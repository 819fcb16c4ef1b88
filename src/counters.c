/*
 * What respa counts for the metrics file: plain counters and the commit latency histogram.
 * A leaf, so that any layer may count; counting is an increment, nothing more, and
 * metrics.c reads the numbers on its timer.
 */
#include "respa.h"

uint64_t counters[COUNTER_MAX];

/* upper bounds in seconds; one more bucket, +Inf, is the count itself */
const double commit_buckets[COMMIT_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5 };
uint64_t commit_bucket_counts[COMMIT_BUCKETS];
uint64_t commit_count;
double commit_seconds;

void
counters_commit(double seconds)
{
	int i;

	for (i = 0; i < COMMIT_BUCKETS; i++)
		if (seconds <= commit_buckets[i])
			commit_bucket_counts[i]++; /* cumulative, as Prometheus reads them */
	commit_count++;
	commit_seconds += seconds;
}
