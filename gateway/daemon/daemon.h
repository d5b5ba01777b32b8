/*
 * daemon.h - the poll loop that ties acquisition, compliance, the queue and
 * the sinks together. One thread; every fd (signals, sink sockets and
 * pipes) is registered in one poll(); deadlines come from the monotonic
 * clock. Data moves one way: acquire -> compliance -> queue -> sinks.
 * Requests from outfallctl arrive on the control socket, in the same loop.
 */
#ifndef OUTFALL_DAEMON_H
#define OUTFALL_DAEMON_H

#include "control.h" /* the control socket outfallctl talks to */
#include "status.h"  /* status.json, which outfallctl reads */
#include "config/config.h"

/* Runs until SIGTERM or SIGINT; returns a sysexits code (0 on a clean stop).
 * Takes cfg over (frees it, or the config a SIGHUP replaced it with); path
 * is the gateway file to read again on SIGHUP. */
int daemon_run(const char *path, struct config *cfg);

#endif
