/*
 * Programs respa runs beside its loop (the [crm] hook, the sendmail program): forked and
 * exec'd without a shell, their standard input a non-blocking pipe the loop feeds, each in a
 * process group of its own so that a timeout kills what it started as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "respa.h"

/* In the child: its input is the pipe, its output goes where respa's log goes. */
static void __attribute__((noreturn)) child(int in, char *const argv[])
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	sigset_t none;
	size_t i;
	long fd, max;

	(void)setpgid(0, 0); /* a timeout kills what it started as well */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, STDIN_FILENO) == -1 || dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
		_exit(127);
	if (close_range(3, ~0U, 0) == -1) {
		max = sysconf(_SC_OPEN_MAX);
		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			close((int)fd);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Forks argv (argv[0] an absolute path) with its standard input on a pipe: its pid, or -1. */
pid_t
proc_spawn(char *const argv[], int *in, char *why, size_t len)
{
	int fds[2];
	pid_t pid;

	if (access(argv[0], X_OK) == -1) {
		snprintf(why, len, "cannot run it: %s", strerror(errno));
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	if (fcntl(fds[1], F_SETFL, O_NONBLOCK) == -1 || (pid = fork()) == -1) {
		snprintf(why, len, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0)
		child(fds[0], argv);
	(void)setpgid(pid, pid); /* also here: a kill may come before the child ran */
	close(fds[0]);
	*in = fds[1];
	return pid;
}

/* Writes what the pipe takes now of data[*off..len); closes it (*fd = -1) once all is in. */
void
proc_feed(int *fd, const char *data, size_t len, size_t *off)
{
	ssize_t n;

	while (*fd != -1 && *off < len) {
		n = write(*fd, data + *off, len - *off);
		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		break; /* EPIPE: it stopped reading; its exit status decides */
	}
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/* Kills the program and what it started. */
void
proc_kill(pid_t pid)
{
	if (kill(-pid, SIGKILL) == -1)
		(void)kill(pid, SIGKILL);
}

/*
 * Why a program failed (status from waitpid(); killed: by its timeout, the setting named key);
 * "" when it exited 0.
 */
void
proc_failure(int status, int killed, const char *key, int timeout, char *why, size_t len)
{
	if (killed)
		snprintf(why, len, "no exit within %s (%d s): killed", key, timeout);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		why[0] = '\0';
	else if (WIFEXITED(status))
		snprintf(why, len, "exited %d%s", WEXITSTATUS(status),
		    WEXITSTATUS(status) == 127 ? " (could it be run?)" : "");
	else
		snprintf(why, len, "killed by signal %d", WTERMSIG(status));
}
