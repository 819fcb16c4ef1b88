/* A header-only test harness: each test program includes it once. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "respa.h"

/* main.c is not in librespa.a: every test program supplies what it defines. */
volatile sig_atomic_t respa_quit;

static int check_passed, check_failed;

static inline int
check_report(int ok, const char *file, int line, const char *expr)
{
	if (ok)
		check_passed++;
	else {
		check_failed++;
		fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, expr);
	}
	return ok;
}

#define CHECK(cond) ((void)check_report(!!(cond), __FILE__, __LINE__, #cond))

#define CHECK_STR(a, b) do { \
	const char *check_a_ = (a), *check_b_ = (b); \
	if (!check_report(check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0, \
	    __FILE__, __LINE__, #a " == " #b)) \
		fprintf(stderr, "\tgot \"%s\"\n\twant \"%s\"\n", \
		    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)"); \
} while (0)

#define CHECK_INT(a, b) do { \
	long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
	if (!check_report(check_a_ == check_b_, __FILE__, __LINE__, #a " == " #b)) \
		fprintf(stderr, "\tgot %lld\n\twant %lld\n", check_a_, check_b_); \
} while (0)

static inline int
check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
