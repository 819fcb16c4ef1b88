/*
 * The configuration file: config_load() on a private regular file holding the input.
 * A refused file must say why (file:line: message); an accepted one must free cleanly.
 */
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"

static char path[64];

static void
remove_file(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	/* in memory where there is a tmpfs: a disk's journal would set the pace */
	snprintf(path, sizeof(path), "%s/respa-fuzz-config-XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if ((fd = mkstemp(path)) == -1) { /* mode 0600: the secret's check passes */
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	atexit(remove_file);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *err;
	int fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 || write(fd, data, size) != (ssize_t)size) {
		perror(path);
		abort();
	}
	close(fd);
	if ((err = open_memstream(&errs, &errlen)) == NULL)
		abort();
	c = config_load(path, err);
	fclose(err);
	if (c == NULL)
		FUZZ_ASSERT(errlen > 0 && strncmp(errs, path, strlen(path)) == 0);
	config_free(c);
	free(errs);
	return 0;
}
