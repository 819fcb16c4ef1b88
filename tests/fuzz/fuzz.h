/*
 * What the libFuzzer targets share. Each target is one file with LLVMFuzzerTestOneInput();
 * it must free all it takes per input (the leak check is on) and use no clock or network.
 */
#ifndef RESPA_FUZZ_H
#define RESPA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a string (cut at its first NUL, as a C parser would see it); must be free()d. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A property the target checks: on failure, say which and abort (libFuzzer keeps the input). */
#define FUZZ_ASSERT(cond)                                                                 \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
			    #cond);                                                       \
			abort();                                                          \
		}                                                                         \
	} while (0)

#endif
