/* sim_pty.c - socat-made pty pair for --pty mode (see sim_pty.h). */
#include "sim_pty.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"

#define SIM_PTY_STOP_MS 1000 /* grace between SIGTERM and SIGKILL */
#define SIM_PTY_STEP_MS 10   /* polling step while waiting on socat */

void sim_pty_init(struct sim_pty *p)
{
	p->pid = -1;
	p->status = 0;
	p->link[0] = '\0';
	p->sim_link[0] = '\0';
}

bool sim_pty_link_ok(const char *link)
{
	if (link[0] == '\0')
		return false;
	for (const char *c = link; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && strchr("._-/+", *c) == NULL)
			return false;
	return true;
}

/* Removes path if it is a symlink; leaves anything else alone. */
static int sim_pty_clear(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISLNK(st.st_mode))
		return -EEXIST;
	return unlink(path) < 0 ? -errno : 0;
}

/* In the child: a clean signal state, no stdio of ours, then socat. */
static void __attribute__((noreturn))
sim_pty_exec(char **argv, bool verbose, pid_t parent)
{
	sigset_t none;
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1); /* the simulator died before prctl took effect */
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		if (!verbose)
			dup2(nul, STDERR_FILENO);
	}
	execvp(argv[0], argv);
	_exit(127);
}

static int sim_pty_spawn(struct sim_pty *p, bool verbose)
{
	char a[PATH_MAX + 32];
	char b[PATH_MAX + 32];
	char *argv[] = { "socat", "-d", "-d", a, b, NULL };
	pid_t parent = getpid();
	pid_t pid;

	snprintf(a, sizeof(a), "pty,raw,echo=0,link=%s", p->link);
	snprintf(b, sizeof(b), "pty,raw,echo=0,link=%s", p->sim_link);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		sim_pty_exec(argv, verbose, parent);
	p->pid = pid;
	return 0;
}

int sim_pty_check(struct sim_pty *p)
{
	pid_t r;

	if (p->pid < 0)
		return -ECHILD;
	r = waitpid(p->pid, &p->status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return 0;
	p->pid = -1;
	return -ECHILD;
}

static int sim_pty_wait(struct sim_pty *p, int timeout_ms)
{
	int64_t deadline = clock_mono_ms() + timeout_ms;
	struct stat st;

	for (;;) {
		if (stat(p->link, &st) == 0 && stat(p->sim_link, &st) == 0)
			return 0;
		if (sim_pty_check(p) < 0)
			return -ECHILD;
		if (clock_mono_ms() >= deadline)
			return -ETIMEDOUT;
		poll(NULL, 0, SIM_PTY_STEP_MS);
	}
}

int sim_pty_start(struct sim_pty *p, const char *link, bool verbose, int timeout_ms)
{
	int n, rc;

	n = snprintf(p->link, sizeof(p->link), "%s", link);
	if (n < 0 || (size_t)n >= sizeof(p->link))
		goto too_long;
	n = snprintf(p->sim_link, sizeof(p->sim_link), "%s.sim", link);
	if (n < 0 || (size_t)n >= sizeof(p->sim_link))
		goto too_long;
	rc = sim_pty_clear(p->link);
	if (rc == 0)
		rc = sim_pty_clear(p->sim_link);
	if (rc == 0)
		rc = sim_pty_spawn(p, verbose);
	if (rc == 0)
		rc = sim_pty_wait(p, timeout_ms);
	return rc;

too_long:
	p->link[0] = '\0';
	p->sim_link[0] = '\0';
	return -ENAMETOOLONG;
}

void sim_pty_stop(struct sim_pty *p)
{
	int64_t deadline = clock_mono_ms() + SIM_PTY_STOP_MS;

	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		while (sim_pty_check(p) == 0 && clock_mono_ms() < deadline)
			poll(NULL, 0, SIM_PTY_STEP_MS);
	}
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
		p->pid = -1;
	}
	/* socat removes its links on SIGTERM, not on SIGKILL */
	if (p->link[0] != '\0')
		sim_pty_clear(p->link);
	if (p->sim_link[0] != '\0')
		sim_pty_clear(p->sim_link);
}
