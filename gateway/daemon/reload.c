/*
 * reload.c - SIGHUP: read both config files again and swap the new
 * configuration in without losing queued records, open alerts, evidence or
 * connections.
 *
 * Load -> validate -> commit: an invalid file leaves everything running as
 * it was, with every error logged as file:line. A valid one is prepared
 * first (new acquisition, then the compliance engine, which carries open
 * alerts, periods, rolling windows and rule timers over: compliance_reload
 * and compliance_carry), the changes are logged one line each
 * (reload_diff), and only then is it swapped in:
 *  - the bus threads are stopped first, their last polls emitted under the
 *    old config; the new config's threads start on the loop's next pass;
 *  - buses whose settings did not change keep their open port, and sensors
 *    keep their poll phase, failure count and counters (acquire_carry);
 *  - a sink whose settings and files did not change is kept as it is, with
 *    its connection, its counters and its place in the outbox; one whose
 *    settings changed is made again (it resends what its peer had not
 *    acknowledged: the outbox cursors are on disk);
 *  - the outbox is reopened only when the set of sinks changed, and then
 *    every sink is made again, since they all read from it;
 *  - the status snapshot keeps each remaining sensor's last values.
 *
 * Every SIGHUP also leaves a reload event in the outbox, for every sink
 * (DESIGN §4): applied, with the change lines, or refused, with why.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "reload.h"
#include "base/clock.h"
#include "sinks/influx/influx.h"
#include "sinks/mqtt/mqtt.h"

/* What the new config needs before anything is swapped. */
struct prepared {
	struct acquire *acq;
	bool *active_dirty;
};

static int prepare(const struct config *nc, struct prepared *p)
{
	p->acq = acquire_new(nc, clock_mono_ms());
	p->active_dirty = calloc(nc->n_outlets + 1, sizeof(*p->active_dirty));
	if (p->acq && p->active_dirty)
		return 0;
	acquire_free(p->acq);
	free(p->active_dirty);
	return -ENOMEM;
}

/* The engine's output arrays for its new size; on failure the old ones
 * stay and events beyond them are counted as lost by the engine. */
static void resize_outputs(struct daemon *d)
{
	int max = compliance_max_events(d->comp);
	struct rec_alert *ev;
	struct record *tr;

	if (max <= d->max_events)
		return;
	ev = calloc((size_t)max, sizeof(*ev));
	tr = calloc((size_t)max, sizeof(*tr));
	if (!ev || !tr) {
		free(ev);
		free(tr);
		log_err("reload: out of memory for %d alert events; keeping room for %d",
			max, d->max_events);
		return;
	}
	free(d->events);
	free(d->tick_recs);
	d->events = ev;
	d->tick_recs = tr;
	d->max_events = max;
}

/* ---- sinks -------------------------------------------------------------- */

/* A sink that refused its new settings: it polls nothing and sends nothing
 * (its records wait in the outbox) until a reload makes it again. */
static int off_pollfds(void *impl, struct pollfd *pfds, int max)
{
	(void)impl;
	(void)pfds;
	(void)max;
	return 0;
}

static int64_t off_next_ms(void *impl, int64_t now_ms)
{
	(void)impl;
	(void)now_ms;
	return INT64_MAX;
}

static void off_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	(void)impl;
	(void)pfds;
	(void)n;
	(void)now_ms;
}

static void off_flush(void *impl, int64_t budget_ms)
{
	(void)impl;
	(void)budget_ms;
}

static void off_get_stats(void *impl, struct sink_stats *out)
{
	(void)impl;
	memset(out, 0, sizeof(*out));
}

static void off_get_health(void *impl, struct sink_health *out)
{
	const int64_t *when = impl;

	memset(out, 0, sizeof(*out));
	snprintf(out->last_error, sizeof(out->last_error),
		 "refused the settings of the last reload (see the log); off until the next");
	out->last_error_wall_ms = when ? *when : 0;
}

static bool off_files_changed(void *impl)
{
	(void)impl;
	return true; /* the next reload tries again, whatever changed */
}

static void off_free(void *impl)
{
	free(impl);
}

static const struct sink_ops off_ops = {
	.name = "off",
	.pollfds = off_pollfds,
	.next_ms = off_next_ms,
	.dispatch = off_dispatch,
	.flush = off_flush,
	.get_stats = off_get_stats,
	.get_health = off_get_health,
	.files_changed = off_files_changed,
	.free = off_free,
};

/* Sink i for d->cfg, or the off sink if it refuses (logged by it). */
static void make_sink(struct daemon *d, int i)
{
	int64_t *when;
	int rc = daemon_make_sink(d, i, d->started_ms);

	if (rc == 0)
		return;
	log_err("reload: sink %s refused its new settings; it stays off until the next reload",
		d->sink_names[i]);
	when = malloc(sizeof(*when));
	if (when)
		*when = clock_wall_ms();
	d->sinks[i] = (struct sink){ .ops = &off_ops, .impl = when }; /* NULL: no time */
}

static enum reload_sink reload_sink_kind(const struct daemon *d, int i)
{
	if (i == d->mqtt)
		return RELOAD_MQTT;
	return strcmp(d->sink_names[i], "history") == 0 ? RELOAD_HISTORY : RELOAD_INFLUX;
}

static bool same_sinks(const struct daemon *d, const char *const *names, int n)
{
	if (n != d->n_sinks)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], d->sink_names[i]) != 0)
			return false;
	return true;
}

/* The same set of sinks: each is kept unless its settings or files changed. */
static void keep_or_remake(struct daemon *d, const struct config *old)
{
	bool kept[DAEMON_MAX_SINKS] = { false };
	int n_kept = 0;

	for (int i = 0; i < d->n_sinks; i++) {
		struct sink *sk = &d->sinks[i];
		bool same = daemon_hj212_platform(d, i) >= 0
			    ? reload_hj212_same(old, d->cfg, d->sink_names[i])
			    : reload_sink_same(old, d->cfg, reload_sink_kind(d, i));
		bool files = sk->ops->files_changed(sk->impl);

		if (same && !files) {
			kept[i] = true;
			n_kept++;
			continue;
		}
		if (sk->ops == &off_ops)
			log_notice("reload: sink %s: trying its settings again", d->sink_names[i]);
		else if (same)
			log_notice("reload: sink %s: a password, token or certificate file changed; "
				   "connecting afresh", d->sink_names[i]);
		else
			log_notice("reload: sink %s: settings changed; connecting afresh",
				   d->sink_names[i]);
		sk->ops->free(sk->impl);
		make_sink(d, i);
	}
	if (d->n_sinks && n_kept == d->n_sinks) {
		log_notice("reload: sinks unchanged, connections kept");
		return;
	}
	for (int i = 0; i < d->n_sinks; i++)
		if (kept[i])
			log_notice("reload: sink %s unchanged, connection kept", d->sink_names[i]);
}

/* The sinks for the new config: kept, made again, or all made again with
 * the outbox reopened if their set changed. */
static void remake_sinks(struct daemon *d, const struct config *old)
{
	const char *names[DAEMON_MAX_SINKS];
	int n_old = d->n_sinks;

	memcpy(names, d->sink_names, sizeof(names));
	daemon_name_sinks(d);
	if (same_sinks(d, names, n_old)) {
		keep_or_remake(d, old);
		return;
	}
	for (int i = 0; i < n_old; i++)
		d->sinks[i].ops->free(d->sinks[i].impl);
	log_notice("reload: the set of sinks changed; reopening the outbox and connecting "
		   "every sink afresh");
	outbox_close(d->ob);
	d->ob = NULL;
	if (daemon_open_outbox(d, clock_mono_ms()) < 0) {
		log_err("reload: cannot reopen the outbox; stopping so that the service manager "
			"restarts outfalld");
		d->stop = true;
		d->n_sinks = 0;
		return;
	}
	for (int i = 0; i < d->n_sinks; i++)
		make_sink(d, i);
}

/* ---- status ------------------------------------------------------------- */

/* A sensor that is still there keeps its last values and their times. */
static void carry_status(struct status_snapshot *s, const struct status_snapshot *prev)
{
	for (size_t i = 0; i < s->n_sensors; i++)
		for (size_t k = 0; k < prev->n_sensors; k++) {
			const struct status_sensor *p = &prev->sensors[k];
			struct status_sensor *n = &s->sensors[i];

			if (strcmp(p->name, n->name) != 0)
				continue;
			n->last_ok_wall_ms = p->last_ok_wall_ms;
			n->last_poll_wall_ms = p->last_poll_wall_ms;
			n->n_values = p->n_values;
			memcpy(n->values, p->values, sizeof(n->values));
			break;
		}
}

static void renew_status(struct daemon *d)
{
	struct status_snapshot prev = d->status;

	d->status = (struct status_snapshot){ 0 };
	if (daemon_status_init(d) < 0)
		log_warn("status: no room for a snapshot; outfallctl status will have none");
	else
		carry_status(&d->status, &prev);
	status_clear(&prev);
}

/* ---- the reload --------------------------------------------------------- */

static void commit(struct daemon *d, struct config *nc, struct prepared *p)
{
	struct config *old = d->cfg;

	acquire_carry(p->acq, d->acq, clock_mono_ms());
	acquire_free(d->acq);
	d->acq = p->acq;
	free(d->active_dirty);
	d->active_dirty = p->active_dirty;
	for (size_t o = 0; o < nc->n_outlets; o++)
		d->active_dirty[o] = true;
	resize_outputs(d);
	d->cfg = nc;
	setenv("TZ", nc->timezone, 1);
	tzset();
	remake_sinks(d, old);
	config_free(old);
}

/* ---- the reload event ---------------------------------------------------- */

/* The applied event being built from reload_diff's lines. */
struct change_ev {
	struct record r;
	bool cut; /* the summary is full: later lines are only counted */
};

static void log_change(void *ctx, const char *line)
{
	struct change_ev *ev = ctx;

	log_notice("reload: %s", line);
	if (ev->r.u.reload.changes < UINT16_MAX)
		ev->r.u.reload.changes++;
	if (!ev->cut)
		ev->cut = !rec_reload_append(&ev->r.u.reload, line);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The refused event: errors counted, why in the summary. */
static void __attribute__((format(printf, 3, 4)))
refused(struct daemon *d, int errors, const char *fmt, ...)
{
	struct record r = { .type = REC_RELOAD };
	char why[RELOAD_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap); /* cut again to the summary below */
	va_end(ap);
	r.u.reload.outcome = RLD_REFUSED;
	r.u.reload.changes = errors > UINT16_MAX ? UINT16_MAX : (uint16_t)errors;
	if (rec_reload_append(&r.u.reload, why))
		rec_reload_append(&r.u.reload, "the running configuration stays");
	daemon_append_reload(d, &r);
}

/* ---- the reload --------------------------------------------------------- */

/* Reads both files again into *out; -1 when refused (logged, and the
 * refused event stored). */
static int load(struct daemon *d, struct config **out)
{
	/* as strictly as at start: outfalld --strict refuses warnings then too */
	struct config_opts opts = { .strict = d->cfg->strict };
	int rc = config_load_opts(d->path, &opts, out, stderr);

	if (rc < 0) {
		log_err("reload: %s: %s; the running configuration stays", d->path, strerror(-rc));
		refused(d, 1, "%s: %s", base_name(d->path), strerror(-rc));
		return -1;
	}
	if (rc > 0) {
		log_err("reload: %s: %d error%s (listed above); the running configuration stays",
			d->path, rc, rc == 1 ? "" : "s");
		refused(d, rc, "%d error%s in %s (file:line in the log)", rc, rc == 1 ? "" : "s",
			base_name(d->path));
		return -1;
	}
	return 0;
}

static void out_of_memory(struct daemon *d)
{
	log_err("reload: out of memory; the running configuration stays");
	refused(d, 1, "out of memory");
}

void daemon_reload(struct daemon *d)
{
	struct change_ev ev = { .r = { .type = REC_RELOAD } };
	struct config *nc = NULL;
	struct prepared p;

	log_notice("SIGHUP: reading %s again", d->path);
	if (load(d, &nc) < 0)
		return;
	if (prepare(nc, &p) < 0) {
		out_of_memory(d);
		config_free(nc);
		return;
	}
	/* the old buses' last polls, judged on the old rules; their threads
	 * are stopped before ports move (if the reload fails, the next run
	 * starts them again) */
	acquire_stop(d->acq, daemon_on_poll, d);
	daemon_compliance_step(d, clock_mono_ms()); /* close what ended, on the old rules */
	if (compliance_reload(&d->comp, nc, clock_wall_ms()) < 0) {
		out_of_memory(d);
		acquire_free(p.acq);
		free(p.active_dirty);
		config_free(nc);
		return;
	}
	if (reload_diff(d->cfg, nc, log_change, &ev) == 0) {
		log_notice("reload: no setting changed");
		rec_reload_append(&ev.r.u.reload, "no setting changed");
	}
	commit(d, nc, &p);
	daemon_append_reload(d, &ev.r); /* after the swap: the sinks it goes to now */
	daemon_send_limits(d);
	renew_status(d);
	daemon_save_state(d, true);
	log_notice("reload: done: %zu sensors on %zu buses, %zu outlets, %zu permits, %d sinks",
		   nc->n_sensors, nc->n_buses, nc->n_outlets, nc->n_permits, d->n_sinks);
}
