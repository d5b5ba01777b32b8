/*
 * daemon.h - the poll loop that ties acquisition, compliance, the queue and
 * the sinks together. One thread; every fd (signals, sink sockets and
 * pipes) is registered in one poll(); deadlines come from the monotonic
 * clock. Data moves one way: acquire -> compliance -> queue -> sinks.
 */
#ifndef OUTFALL_DAEMON_H
#define OUTFALL_DAEMON_H

#include "config.h"

/* Runs until SIGTERM or SIGINT; returns a sysexits code (0 on a clean stop).
 * cfg stays owned by the caller. */
int daemon_run(const struct config *cfg);

#endif
