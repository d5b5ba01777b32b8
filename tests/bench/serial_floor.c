/*
 * serial_floor.c - the floor under any daemon's CPU per reading: outfalld's
 * own acquisition (acquire.c and the drivers) polling the buses and sensors
 * of a config at their intervals, and doing nothing with the readings - no
 * compliance, outbox or sink. bench-collectd.sh runs it beside outfalld and
 * collectd on a third copy of the simulator, so that the CPU both daemons
 * must spend on the serial line alone is measured in the same run.
 *
 *   serial_floor CONFIG   (runs until SIGTERM or SIGINT)
 */
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>

#include "base/clock.h"
#include "base/log.h"
#include "config/config.h"
#include "daemon/acquire.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void count(void *ctx, int sensor_idx, const struct record *r)
{
	(void)sensor_idx;
	*(unsigned long *)ctx += r->u.poll.n;
}

/* Until polls wait in acquire_fd, or acquire_next_ms (at most 1 s). */
static void wait_polls(const struct acquire *a)
{
	struct pollfd p = { .fd = acquire_fd(a), .events = POLLIN };
	int64_t left = acquire_next_ms(a) - clock_mono_ms();

	poll(&p, 1, left < 0 ? 0 : left > 1000 ? 1000 : (int)left);
}

int main(int argc, char **argv)
{
	struct config *cfg = NULL;
	struct acquire *a;
	unsigned long values = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: serial_floor CONFIG\n");
		return 64;
	}
	log_set_level(LOG_ERR);
	if (config_load(argv[1], &cfg, stderr) != 0)
		return 78;
	a = acquire_new(cfg, clock_mono_ms());
	if (!a) {
		config_free(cfg);
		return 71;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		acquire_run(a, clock_mono_ms(), count, &values);
		wait_polls(a);
	}
	acquire_stop(a, count, &values);
	acquire_free(a);
	config_free(cfg);
	printf("%lu values read\n", values);
	return 0;
}
