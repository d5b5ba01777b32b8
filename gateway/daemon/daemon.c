/*
 * daemon.c - the main loop (see daemon.h): builds the pipeline from a
 * loaded config, polls, and shuts down within the SIGTERM budget. What goes
 * into the outbox is records.c's business.
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
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "base/clock.h"
#include "sinks/hj212/uplink.h"
#include "sinks/history/history.h"
#include "sinks/influx/influx.h"
#include "sinks/mqtt/mqtt.h"

#define LOOP_MAX_WAIT_MS 1000   /* wake at least this often */
#define STATS_LOG_MS 300000     /* an info line with counters */
#define FLUSH_BUDGET_MS 2000    /* per sink on shutdown; SIGTERM budget is 5 s */
#define OUTBOX_SUBDIR "outbox"
/* Cursor files are rewritten at most every 15 min (and at a clean stop): a
 * crash re-sends at most that much - 900 polls of a two-slave gateway, a
 * fraction of a second of sending; repeats are harmless: InfluxDB points
 * are idempotent, MQTT messages carry seq, the history ignores a seq it
 * has. Each rewrite costs the SD card two pages (file and directory): three
 * sinks every 10 s would be 8 MB/h, every 5 min 0.3 MB/h, every 15 min 0.1. */
#define OUTBOX_CURSOR_MS 900000
#define OUTBOX_RESERVE_BYTES (64u << 10) /* kept for alerts on a full disk: ~100 */

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
			d->reload = true;
			continue;
		}
		log_notice("%s: flushing and stopping", strsignal((int)si.ssi_signo));
		d->stop = true;
	}
}

/* The sinks in a fixed order; each is named for its cursor file. */
void daemon_name_sinks(struct daemon *d)
{
	d->n_sinks = 0;
	d->mqtt = -1;
	if (d->cfg->mqtt.enabled) {
		d->mqtt = d->n_sinks;
		d->sink_names[d->n_sinks++] = "mqtt";
	}
	if (d->cfg->influx.enabled)
		d->sink_names[d->n_sinks++] = "influx";
	if (d->cfg->history.enabled)
		d->sink_names[d->n_sinks++] = "history";
	/* config_load allows no more than CFG_MAX_SINKS in all */
	for (size_t k = 0; k < d->cfg->n_hj212 && d->n_sinks < DAEMON_MAX_SINKS; k++)
		d->sink_names[d->n_sinks++] = d->cfg->hj212[k].name;
}

_Static_assert(DAEMON_MAX_SINKS == OUTBOX_MAX_SINKS && DAEMON_MAX_SINKS == CFG_MAX_SINKS,
	       "daemon: the config, the outbox and the loop must agree on the sink count");

int daemon_hj212_platform(const struct daemon *d, int i)
{
	for (size_t k = 0; i >= d->n_sinks - (int)d->cfg->n_hj212 && k < d->cfg->n_hj212; k++)
		if (strcmp(d->sink_names[i], d->cfg->hj212[k].name) == 0)
			return (int)k;
	return -1;
}

/* Sink i of d->cfg, by its name. 0 or what its maker returned (logged). */
int daemon_make_sink(struct daemon *d, int i, int64_t started_ms)
{
	const struct config *cfg = d->cfg;
	int k = daemon_hj212_platform(d, i);

	if (k >= 0)
		return sink_hj212_new(cfg, (size_t)k, d->ob, i, started_ms, &d->sinks[i]);
	if (i == d->mqtt)
		return sink_mqtt_new(&cfg->mqtt, cfg->id, d->ob, i, started_ms, &d->sinks[i]);
	if (strcmp(d->sink_names[i], "history") == 0)
		return sink_history_new(&cfg->history, cfg->id, d->ob, i, &d->sinks[i]);
	return sink_influx_new(&cfg->influx, cfg->id, cfg->data_dir, d->ob, i, &d->sinks[i]);
}

int daemon_add_sinks(struct daemon *d, int64_t started_ms)
{
	int rc = 0;

	for (int i = 0; i < d->n_sinks && rc == 0; i++) {
		rc = daemon_make_sink(d, i, started_ms);
		if (rc < 0)
			d->n_sinks = i; /* only the ones made are freed */
	}
	return rc;
}

int daemon_open_outbox(struct daemon *d, int64_t now)
{
	struct outbox_opts o;
	char dir[4096];
	int n = snprintf(dir, sizeof(dir), "%s/%s", d->cfg->data_dir, OUTBOX_SUBDIR);
	int rc;

	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	outbox_opts_default(&o);
	o.fsync_ms = d->cfg->fsync_ms;
	o.cursor_ms = OUTBOX_CURSOR_MS;
	o.reserve_bytes = OUTBOX_RESERVE_BYTES;
	/* run_dir is a RAM disk when it is not data_dir (the shipped config) */
	o.stage_dir = strcmp(d->cfg->run_dir, d->cfg->data_dir) ? d->cfg->run_dir : NULL;
	o.max_backlog_bytes = (size_t)d->cfg->max_backlog_mb << 20;
	for (int i = 0; i < d->n_sinks; i++)
		o.sink_names[i] = d->sink_names[i];
	/* with no sink, records are still kept on disk for when one is added */
	if (d->n_sinks == 0)
		o.sink_names[0] = "none";
	rc = outbox_open(dir, &o, d->n_sinks ? d->n_sinks : 1, now, &d->ob);
	if (rc < 0)
		log_err("outbox %s: cannot open: %s%s", dir, strerror(-rc),
			rc == -EBUSY ? " (another outfalld uses this data_dir)" : "");
	return rc;
}

void daemon_free_sinks(struct daemon *d)
{
	for (int i = 0; i < d->n_sinks; i++)
		d->sinks[i].ops->free(d->sinks[i].impl);
	d->n_sinks = 0;
}

/* The permits' limits to every InfluxDB sink (DESIGN §6 outfall_limit), at
 * start and after a reload; the sink logs what goes wrong. */
void daemon_send_limits(struct daemon *d)
{
	for (int i = 0; i < d->n_sinks; i++)
		if (strcmp(d->sink_names[i], "influx") == 0)
			sink_influx_set_limits(&d->sinks[i], d->cfg, clock_wall_ms());
}

static int daemon_init(struct daemon *d, struct config *cfg)
{
	int64_t now = clock_mono_ms();
	uint64_t wd_usec = 0;
	int rc;

	d->cfg = cfg;
	/* Local days of daily statistics are in the gateway's time zone. */
	setenv("TZ", cfg->timezone, 1);
	tzset();
	d->sigfd = open_signals();
	if (d->sigfd < 0)
		return d->sigfd;
	daemon_name_sinks(d);
	rc = daemon_open_outbox(d, now);
	if (rc < 0)
		return rc;
	d->acq = acquire_new(cfg, now);
	if (!d->acq)
		return -ENOMEM;
	rc = daemon_records_init(d);
	if (rc < 0)
		return rc;
	d->started_ms = clock_wall_ms();
	if (daemon_add_sinks(d, d->started_ms) < 0)
		return -EINVAL;
	daemon_send_limits(d);
	if (daemon_status_init(d) < 0)
		log_warn("status: no room for a snapshot; outfallctl status will have none");
	daemon_control_open(d);
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		d->watchdog_ms = (int64_t)(wd_usec / 2000);
	d->next_watchdog_ms = now;
	d->next_stats_ms = now + STATS_LOG_MS;
	return 0;
}

static void daemon_fini(struct daemon *d)
{
	daemon_control_close(d);
	daemon_free_sinks(d);
	daemon_records_fini(d);
	acquire_free(d->acq);
	outbox_close(d->ob);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

static void timers(struct daemon *d, int64_t now)
{
	daemon_records_tick(d, now);
	outbox_tick(d->ob, now);
	if (d->watchdog_ms && now >= d->next_watchdog_ms) {
		sd_notify(0, "WATCHDOG=1");
		d->next_watchdog_ms = now + d->watchdog_ms;
	}
	if (now >= d->next_stats_ms) {
		daemon_log_stats(d);
		d->next_stats_ms = now + STATS_LOG_MS;
	}
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int poll_timeout(struct daemon *d, int64_t now)
{
	int64_t next = acquire_next_ms(d->acq);

	next = earliest(next, d->next_stats_ms);
	next = earliest(next, d->next_metrics_ms);
	next = earliest(next, d->next_tick_ms);
	next = earliest(next, d->next_status_ms);
	next = earliest(next, outbox_next_ms(d->ob));
	if (d->watchdog_ms)
		next = earliest(next, d->next_watchdog_ms);
	for (int i = 0; i < d->n_sinks; i++)
		next = earliest(next, d->sinks[i].ops->next_ms(d->sinks[i].impl, now));
	if (next <= now)
		return 0;
	return next - now > LOOP_MAX_WAIT_MS ? LOOP_MAX_WAIT_MS : (int)(next - now);
}

static void loop_once(struct daemon *d)
{
	struct pollfd pfds[3 + DAEMON_MAX_SINKS * SINK_MAX_FDS];
	int first[DAEMON_MAX_SINKS], count[DAEMON_MAX_SINKS];
	int n = 3;
	int64_t now = clock_mono_ms();

	pfds[0] = (struct pollfd){ .fd = d->sigfd, .events = POLLIN };
	pfds[1] = (struct pollfd){ .fd = d->ctlfd, .events = POLLIN }; /* -1: ignored */
	pfds[2] = (struct pollfd){ .fd = acquire_fd(d->acq), .events = POLLIN }; /* polls */
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
	if (d->reload) {
		d->reload = false;
		daemon_reload(d);
		return; /* the sinks' fds changed: poll afresh */
	}
	if (pfds[1].revents & (POLLIN | POLLERR)) /* a read takes a pending error too */
		daemon_control(d);
	acquire_run(d->acq, clock_mono_ms(), daemon_on_poll, d);
	now = clock_mono_ms();
	timers(d, now); /* the outbox tick makes synced telemetry visible to sinks */
	for (int i = 0; i < d->n_sinks; i++)
		d->sinks[i].ops->dispatch(d->sinks[i].impl, &pfds[first[i]], count[i], now);
}

int daemon_run(const char *path, struct config *cfg)
{
	struct daemon d = { .sigfd = -1, .ctlfd = -1, .mqtt = -1, .path = path };
	int rc = daemon_init(&d, cfg);

	if (rc < 0) {
		log_err("cannot start: %s", strerror(-rc));
		daemon_fini(&d);
		config_free(d.cfg);
		if (rc == -EINVAL)
			return 78; /* a sink refused its settings */
		return d.ob ? 71 : 74; /* no outbox: data_dir is unusable */
	}
	log_notice("started: gateway %s, %zu sensors on %zu buses, %d sinks", cfg->id,
		   cfg->n_sensors, cfg->n_buses, d.n_sinks);
	sd_notify(0, "READY=1\nSTATUS=polling");
	while (!d.stop)
		loop_once(&d);
	sd_notify(0, "STOPPING=1");
	acquire_stop(d.acq, daemon_on_poll, &d); /* the polls under way go out too */
	daemon_save_state(&d, true);
	outbox_flush(d.ob, clock_mono_ms());
	for (int i = 0; i < d.n_sinks; i++)
		d.sinks[i].ops->flush(d.sinks[i].impl, FLUSH_BUDGET_MS);
	daemon_log_stats(&d);
	daemon_status_write(&d, true);
	daemon_fini(&d);
	config_free(d.cfg);
	log_notice("stopped");
	return 0;
}
