/*
 * daemon.c - the main loop (see daemon.h): builds the pipeline from a
 * loaded config, polls, and shuts down within the SIGTERM budget.
 */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "acquire.h"
#include "clock.h"
#include "compliance.h"
#include "log.h"
#include "param.h"
#include "queue.h"
#include "sink.h"
#include "sink_influx.h"
#include "sink_mqtt.h"

#define MAX_SINKS 2
#define MAX_ALERTS_PER_POLL 32
#define LOOP_MAX_WAIT_MS 1000   /* wake at least this often */
#define STATS_LOG_MS 300000     /* an info line with counters */
#define FLUSH_BUDGET_MS 2000    /* per sink on shutdown; SIGTERM budget is 5 s */

struct daemon {
	const struct config *cfg;
	struct acquire *acq;
	struct compliance *comp;
	struct queue *q;
	struct sink sinks[MAX_SINKS];
	int n_sinks;
	int sigfd;
	bool stop;
	int64_t watchdog_ms;   /* ping interval, 0 when not supervised */
	int64_t next_watchdog_ms;
	int64_t next_stats_ms;
	uint64_t alerts;       /* alert events produced */
};

static void log_alert(const struct rec_alert *a)
{
	log_notice("alert %s: %s %s on outlet %s: value %.10g, limit %.10g %s, permit %s (%s)",
		   alert_state_name(a->state), alert_kind_name(a->kind), param_name(a->param),
		   a->outlet, a->value, a->limit, param_unit(a->param), a->permit, a->id);
}

/* acquire_emit_fn: one poll in, telemetry and alert records out. */
static void on_poll(void *ctx, int sensor_idx, const struct record *r)
{
	struct daemon *d = ctx;
	struct rec_alert alerts[MAX_ALERTS_PER_POLL];
	int n;

	queue_append(d->q, r);
	n = compliance_eval(d->comp, sensor_idx, r, alerts, MAX_ALERTS_PER_POLL);
	for (int i = 0; i < n; i++) {
		struct record ar = { .ts_ms = r->ts_ms, .type = REC_ALERT };

		ar.u.alert = alerts[i];
		queue_append(d->q, &ar);
		log_alert(&alerts[i]);
		d->alerts++;
	}
}

static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN); /* a dropped socket must not kill the daemon */
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_notice("SIGHUP: reloading is not supported by this version; "
				   "restart the service to apply config changes");
			continue;
		}
		log_notice("%s: flushing and stopping", strsignal((int)si.ssi_signo));
		d->stop = true;
	}
}

static int add_sinks(struct daemon *d, int64_t started_ms)
{
	const struct config *cfg = d->cfg;
	int rc;

	if (cfg->mqtt.enabled) {
		rc = sink_mqtt_new(&cfg->mqtt, cfg->id, d->q, d->n_sinks, started_ms,
				   &d->sinks[d->n_sinks]);
		if (rc < 0)
			return rc;
		d->n_sinks++;
	}
	if (cfg->influx.enabled) {
		rc = sink_influx_new(&cfg->influx, cfg->id, d->q, d->n_sinks,
				     &d->sinks[d->n_sinks]);
		if (rc < 0)
			return rc;
		d->n_sinks++;
	}
	return 0;
}

static int daemon_init(struct daemon *d, const struct config *cfg)
{
	int64_t now = clock_mono_ms();
	int n_sinks = cfg->mqtt.enabled + cfg->influx.enabled;
	uint64_t wd_usec = 0;

	d->cfg = cfg;
	d->sigfd = open_signals();
	if (d->sigfd < 0)
		return d->sigfd;
	d->q = queue_new((size_t)cfg->queue_max, n_sinks ? n_sinks : 1);
	d->comp = compliance_new(cfg);
	d->acq = acquire_new(cfg, now);
	if (!d->q || !d->comp || !d->acq)
		return -ENOMEM;
	if (add_sinks(d, clock_wall_ms()) < 0)
		return -EINVAL;
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		d->watchdog_ms = (int64_t)(wd_usec / 2000);
	d->next_watchdog_ms = now;
	d->next_stats_ms = now + STATS_LOG_MS;
	return 0;
}

static void daemon_fini(struct daemon *d)
{
	for (int i = 0; i < d->n_sinks; i++)
		d->sinks[i].ops->free(d->sinks[i].impl);
	acquire_free(d->acq);
	compliance_free(d->comp);
	queue_free(d->q);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

static void log_stats(struct daemon *d)
{
	struct acquire_stats t;

	acquire_totals(d->acq, &t);
	log_info("stats: %llu polls, %llu failed, %llu timeouts, %llu crc errors, %llu alerts",
		 (unsigned long long)t.polls, (unsigned long long)t.failures,
		 (unsigned long long)t.drv.timeouts, (unsigned long long)t.drv.crc_errors,
		 (unsigned long long)d->alerts);
	for (int i = 0; i < d->n_sinks; i++) {
		struct sink_stats s;

		d->sinks[i].ops->get_stats(d->sinks[i].impl, &s);
		log_info("stats: sink %s: %llu sent, %zu queued, %llu dropped, %llu errors",
			 d->sinks[i].ops->name, (unsigned long long)s.sent,
			 queue_unacked(d->q, i), (unsigned long long)queue_dropped(d->q, i),
			 (unsigned long long)s.errors);
	}
}

static void timers(struct daemon *d, int64_t now)
{
	if (d->watchdog_ms && now >= d->next_watchdog_ms) {
		sd_notify(0, "WATCHDOG=1");
		d->next_watchdog_ms = now + d->watchdog_ms;
	}
	if (now >= d->next_stats_ms) {
		log_stats(d);
		d->next_stats_ms = now + STATS_LOG_MS;
	}
}

static int poll_timeout(struct daemon *d, int64_t now)
{
	int64_t next = acquire_next_ms(d->acq);

	if (d->next_stats_ms < next)
		next = d->next_stats_ms;
	if (d->watchdog_ms && d->next_watchdog_ms < next)
		next = d->next_watchdog_ms;
	for (int i = 0; i < d->n_sinks; i++) {
		int64_t t = d->sinks[i].ops->next_ms(d->sinks[i].impl, now);

		if (t < next)
			next = t;
	}
	if (next <= now)
		return 0;
	return next - now > LOOP_MAX_WAIT_MS ? LOOP_MAX_WAIT_MS : (int)(next - now);
}

static void loop_once(struct daemon *d)
{
	struct pollfd pfds[1 + MAX_SINKS * SINK_MAX_FDS];
	int first[MAX_SINKS], count[MAX_SINKS];
	int n = 1;
	int64_t now = clock_mono_ms();

	pfds[0] = (struct pollfd){ .fd = d->sigfd, .events = POLLIN };
	for (int i = 0; i < d->n_sinks; i++) {
		first[i] = n;
		count[i] = d->sinks[i].ops->pollfds(d->sinks[i].impl, &pfds[n], SINK_MAX_FDS);
		n += count[i];
	}
	if (poll(pfds, (nfds_t)n, poll_timeout(d, now)) < 0 && errno != EINTR) {
		log_err("poll: %s", strerror(errno));
		return;
	}
	if (pfds[0].revents & POLLIN)
		read_signals(d);
	now = clock_mono_ms();
	acquire_run(d->acq, now, on_poll, d);
	now = clock_mono_ms();
	for (int i = 0; i < d->n_sinks; i++)
		d->sinks[i].ops->dispatch(d->sinks[i].impl, &pfds[first[i]], count[i], now);
	timers(d, now);
}

int daemon_run(const struct config *cfg)
{
	struct daemon d = { .sigfd = -1 };
	int rc = daemon_init(&d, cfg);

	if (rc < 0) {
		log_err("cannot start: %s", strerror(-rc));
		daemon_fini(&d);
		return rc == -EINVAL ? 78 : 71;
	}
	log_notice("started: gateway %s, %zu sensors on %zu buses, %d sinks", cfg->id,
		   cfg->n_sensors, cfg->n_buses, d.n_sinks);
	sd_notify(0, "READY=1\nSTATUS=polling");
	while (!d.stop)
		loop_once(&d);
	sd_notify(0, "STOPPING=1");
	for (int i = 0; i < d.n_sinks; i++)
		d.sinks[i].ops->flush(d.sinks[i].impl, FLUSH_BUDGET_MS);
	log_stats(&d);
	daemon_fini(&d);
	log_notice("stopped");
	return 0;
}
