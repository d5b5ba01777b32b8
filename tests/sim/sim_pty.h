/*
 * sim_pty.h - a pty pair made by socat for the simulator's --pty mode:
 * `socat -d -d pty,raw,echo=0,link=LINK pty,raw,echo=0,link=LINK.sim`,
 * started as a child, waited for until both links exist, and stopped (and
 * its links removed) on the way out. The daemon opens LINK, the simulator
 * serves LINK.sim. The child also gets SIGTERM if the simulator dies.
 */
#ifndef OUTFALL_SIM_PTY_H
#define OUTFALL_SIM_PTY_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct sim_pty {
	pid_t pid;               /* socat, or -1 when not running */
	int status;              /* socat's wait status once it has exited */
	char link[PATH_MAX];     /* LINK, the end for the daemon */
	char sim_link[PATH_MAX]; /* LINK.sim, the end served here */
};

/* Makes p safe to stop without having started. */
void sim_pty_init(struct sim_pty *p);

/* True if every byte of link is one socat takes literally in an address. */
bool sim_pty_link_ok(const char *link);

/* Removes stale symlinks at LINK and LINK.sim, starts socat and waits up
 * to timeout_ms for both links. socat's diagnostics go to stderr only when
 * verbose. 0, or -ENAMETOOLONG, -EEXIST (a non-link file is in the way),
 * -ECHILD (socat exited: see p->status), -ETIMEDOUT, or another -errno. */
int sim_pty_start(struct sim_pty *p, const char *link, bool verbose, int timeout_ms);

/* 0 while socat runs, -ECHILD once it has exited (p->status says how). */
int sim_pty_check(struct sim_pty *p);

/* Stops socat (SIGTERM, then SIGKILL after a second) and removes the links
 * if socat left them. Accepts a pty that never started. */
void sim_pty_stop(struct sim_pty *p);

#endif
