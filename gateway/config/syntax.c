/*
 * syntax.c - libconfig's parse of a file, tried first in a short-lived
 * child process.
 *
 * libconfig 1.5, the version Debian 12 ships, leaks the string token it
 * drops while recovering from a syntax error (64 bytes a time; fixed
 * upstream in 1.7.3, hyperrealm/libconfig#142): a daemon reloading a file
 * with such an error on every SIGHUP would grow without bound. Its flex
 * scanner may also exit() the process on input it cannot recover from
 * (hyperrealm/libconfig#292), and a large file of many settings in one
 * group takes seconds (member lookup is linear). So the child parses the
 * file and reports only whether it parsed and, if not, the error; the
 * caller parses it itself only once the child said it does, and a file
 * that parses leaks nothing. Whatever the child leaked dies with it; a
 * child that exits without an answer, or takes longer than
 * CFG_PARSE_TIMEOUT_MS (killed), makes the file an error.
 *
 * The child shares nothing it writes: it parses its own copy of the
 * config_t and the FILE, answers through a pipe and is ended by the
 * parent's SIGKILL (no stdio flush, no atexit handler of the parent's, no
 * leak report; PR_SET_PDEATHSIG ends it if the parent dies first). It
 * reads the file through the descriptor it shares with the parent, so the
 * caller rewinds the stream before parsing again. Blocking bound:
 * CFG_PARSE_TIMEOUT_MS.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX 1024 /* bytes of the child's answer */

/* The child: parses f into its copy of lc and writes 'K', or 'E' and the
 * message, and a newline to fd; then waits for the parent's SIGKILL, so
 * that no leak checker the process runs under (valgrind) reports what
 * libconfig leaked here, which is what the parent is spared. Never
 * returns. */
static void __attribute__((noreturn)) child(config_t *lc, FILE *f, const char *path, int fd,
					    pid_t parent)
{
	char answer[ANSWER_MAX];
	int n;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* best effort: the parent waits */
	if (getppid() != parent)
		_exit(1); /* the parent is gone already: nobody to answer */
	if (config_read(lc, f))
		n = snprintf(answer, sizeof(answer), "K\n");
	else
		n = snprintf(answer, sizeof(answer), "E%s:%d: syntax error: %s\n",
			     CFG_SHOW(config_error_file(lc) ? config_error_file(lc) : path),
			     config_error_line(lc), config_error_text(lc));
	if (n > 0 && (size_t)n >= sizeof(answer))
		answer[sizeof(answer) - 2] = '\n';
	if (n > 0)
		(void)!write(fd, answer, strlen(answer));
	for (;;)
		pause();
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's answer into buf up to its newline (replaced by the
 * end of the string), or until EOF or the deadline: the bytes read, or
 * -ETIMEDOUT. */
static ssize_t read_answer(int fd, char *buf, size_t cap, int64_t deadline_ms)
{
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline_ms - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (buf[len - 1] == '\n' || len == cap - 1)
			break;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	return (ssize_t)len;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int cfg_parse_in_child(struct cfg_ctx *c, config_t *lc, FILE *f, const char *path)
{
	char answer[ANSWER_MAX];
	int fds[2];
	ssize_t n;
	pid_t pid, parent = getpid();

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL); /* an exit() in libconfig would write pending output twice */
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(lc, f, path, fds[1], parent);
	}
	close(fds[1]);
	n = read_answer(fds[0], answer, sizeof(answer), now_ms() + CFG_PARSE_TIMEOUT_MS);
	close(fds[0]);
	reap(pid);
	if (n > 0 && answer[0] == 'K')
		return 1;
	if (n < 0 && n != -ETIMEDOUT)
		return -1; /* poll failed here: no verdict on the file */
	if (n > 1 && answer[0] == 'E')
		fprintf(c->err, "%s\n", answer + 1);
	else if (n == -ETIMEDOUT)
		fprintf(c->err, "%s: took longer than %d s to parse: refused (a configuration "
			"is a few kB)\n", CFG_SHOW(path), CFG_PARSE_TIMEOUT_MS / 1000);
	else
		fprintf(c->err, "%s: libconfig gave up on it without saying where (a syntax "
			"error it cannot recover from)\n", CFG_SHOW(path));
	c->errors++;
	return 0;
}
