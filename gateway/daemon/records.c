/*
 * records.c - what the daemon puts into the outbox, in order: each
 * poll, the alert events the compliance engine judges from it, the
 * engine's aggregates and time-driven alerts on every tick, a data_gap when
 * the outbox lost records, self-metrics every minute, and the event of
 * each reload (reload.c builds it). Also keeps the open-alert state on
 * disk and the retained active-alert sets current.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "encode/encode.h"
#include "sinks/mqtt/mqtt.h"

/* What the alert says, in its own terms: no limit, unit or parameter where
 * there is none (encode_alert_text). */
static void log_alert(const struct rec_alert *a)
{
	char text[ALERT_TEXT_MAX];

	encode_alert_text(text, sizeof(text), a);
	log_notice("alert %s", text);
}

static void append(struct daemon *d, const struct record *r)
{
	uint64_t seq = 0;
	int rc = outbox_append(d->ob, r, clock_mono_ms(), &seq);

	/* a failure is counted and logged by the outbox, and becomes a gap */
	if (rc == 0 && r->type == REC_POLL)
		log_debug("read %s: seq %llu, %u values", r->u.poll.sensor,
			  (unsigned long long)seq, r->u.poll.n);
}

/* An alert the outbox could not store (a full disk, even with its reserve
 * given up) waits here, in order, and is offered again on every tick: it is
 * lost only if more than DAEMON_KEPT_ALERTS wait. */
static void keep_alert(struct daemon *d, const struct record *r)
{
	if (!d->kept && !(d->kept = calloc(DAEMON_KEPT_ALERTS, sizeof(*d->kept)))) {
		d->kept_dropped++;
		log_err("alert %s lost: not stored and no memory to keep it", r->u.alert.id);
		return;
	}
	if (d->n_kept == DAEMON_KEPT_ALERTS) {
		d->kept_dropped++;
		log_err("alert %s lost: %d alerts already wait for room on the disk",
			d->kept[0].u.alert.id, DAEMON_KEPT_ALERTS);
		memmove(d->kept, d->kept + 1, (DAEMON_KEPT_ALERTS - 1) * sizeof(*d->kept));
		d->n_kept--;
	}
	d->kept[d->n_kept++] = *r;
}

/* Stores the kept alerts, oldest first, while the outbox takes them. */
static void store_kept(struct daemon *d)
{
	int i = 0;

	while (i < d->n_kept &&
	       outbox_append_kept(d->ob, &d->kept[i], clock_mono_ms(), NULL) == 0) {
		log_notice("alert %s stored after %lld s in memory", d->kept[i].u.alert.id,
			   (long long)((clock_wall_ms() - d->kept[i].ts_ms) / 1000));
		i++;
	}
	if (i == 0)
		return;
	memmove(d->kept, d->kept + i, (size_t)(d->n_kept - i) * sizeof(*d->kept));
	d->n_kept -= i;
}

static void append_alert(struct daemon *d, int64_t ts_ms, const struct rec_alert *a)
{
	struct record ar = { .ts_ms = ts_ms, .type = REC_ALERT };
	int o = config_find_outlet(d->cfg, a->outlet);

	ar.u.alert = *a;
	if (d->n_kept || outbox_append_kept(d->ob, &ar, clock_mono_ms(), NULL) < 0)
		keep_alert(d, &ar); /* in order behind the ones waiting already */
	log_alert(a);
	d->alerts++;
	if (o >= 0)
		d->active_dirty[o] = true;
}

void daemon_on_poll(void *ctx, int sensor_idx, const struct record *poll)
{
	struct daemon *d = ctx;
	struct acquire_stats st;
	struct record rec = *poll;
	const struct record *r = &rec;
	struct compliance_poll p = { .rec = r, .mono_ms = clock_mono_ms(), .has_counters = true };
	int n, o = d->cfg->sensors[sensor_idx].outlet;

	if (!d->clock_synced)
		rec.flags |= REC_F_CLOCK_UNSYNCED;
	for (int k = 0, mf = compliance_maint_flags(d->comp, sensor_idx); mf && k < rec.u.poll.n;
	     k++) /* in maintenance or calibration: flag M or C */
		rec.u.poll.values[k].flags |= (uint8_t)mf;
	/* the telemetry carries the verdict: implausible values are invalid */
	compliance_screen(d->comp, sensor_idx, &rec, p.mono_ms);
	append(d, r);
	/* a sensor's first poll shows in status.json within a second: the one
	 * written at start, before the bus threads polled, says "not yet" */
	if ((size_t)sensor_idx < d->status.n_sensors &&
	    d->status.sensors[sensor_idx].last_poll_wall_ms == 0 &&
	    d->next_status_ms > p.mono_ms + DAEMON_STATUS_FIRST_MS)
		d->next_status_ms = p.mono_ms + DAEMON_STATUS_FIRST_MS;
	status_note_poll(&d->status, sensor_idx, r);
	acquire_get_stats(d->acq, sensor_idx, &st);
	p.requests = st.drv.requests;
	p.crc_errors = st.drv.crc_errors;
	n = compliance_poll(d->comp, sensor_idx, &p, d->events, d->max_events);
	for (int i = 0; i < n; i++)
		append_alert(d, r->ts_ms, &d->events[i]);
	if (o >= 0 && compliance_changed(d->comp, o))
		d->active_dirty[o] = true; /* an open alert turned unhealthy */
}

void daemon_append_reload(struct daemon *d, struct record *r)
{
	int rc = -EBADF; /* no outbox: a reload that could not reopen it */

	r->ts_ms = clock_wall_ms();
	if (!d->clock_synced)
		r->flags |= REC_F_CLOCK_UNSYNCED;
	if (d->ob)
		rc = outbox_append(d->ob, r, clock_mono_ms(), NULL);
	/* not kept for a retry like an alert: the log has the reload too */
	if (rc < 0)
		log_err("reload: the %s event could not be stored (%s); it is in this log only",
			reload_outcome_name(r->u.reload.outcome), strerror(-rc));
}

/* The time the lost records spanned, in s (their own timestamps). */
static int32_t gap_span_s(int64_t first_ms, int64_t last_ms)
{
	int64_t s = last_ms > first_ms ? (last_ms - first_ms) / 1000 : 0;

	return s > INT32_MAX ? INT32_MAX : (int32_t)s;
}

/* Records the outbox lost (disk cap, disk failure) become a data_gap alert,
 * raised at once and cleared when a metrics interval passes without loss. */
static void check_gap(struct daemon *d, int64_t wall_ms)
{
	struct outbox_gap g;

	if (!outbox_take_gap(d->ob, &g))
		return;
	if (g.last_ts_ms > d->gap_last_ms)
		d->gap_last_ms = g.last_ts_ms;
	if (d->gap_open) {
		d->gap.value += (double)g.records;
		d->gap.peak = d->gap.value;
		d->gap.gap_s = gap_span_s(d->gap.since_ms, d->gap_last_ms);
		log_warn("outbox: %llu more records lost, %.0f since the data_gap was raised",
			 (unsigned long long)g.records, d->gap.value);
		return;
	}
	memset(&d->gap, 0, sizeof(d->gap));
	d->gap.state = ALERT_RAISED;
	d->gap.kind = AK_DATA_GAP;
	d->gap.param = REC_PARAM_NONE; /* lost records are about no parameter */
	d->gap.sensor_health = Q_OK;
	d->gap.value = d->gap.peak = (double)g.records;
	d->gap.limit = NAN;
	d->gap.coverage_pct = NAN;
	d->gap.since_ms = g.first_ts_ms ? g.first_ts_ms : wall_ms;
	d->gap_last_ms = g.last_ts_ms ? g.last_ts_ms : wall_ms;
	d->gap.gap_s = gap_span_s(d->gap.since_ms, d->gap_last_ms);
	snprintf(d->gap.id, sizeof(d->gap.id), "%s/outbox/data_gap/%lld", d->cfg->id,
		 (long long)wall_ms);
	log_err("outbox: %llu records lost (seq %llu..%llu): the disk cap was reached or the "
		"disk failed; raising data_gap", (unsigned long long)g.records,
		(unsigned long long)g.first_seq, (unsigned long long)g.last_seq);
	d->gap_open = true;
	append_alert(d, wall_ms, &d->gap);
}

static void close_gap(struct daemon *d, int64_t wall_ms)
{
	if (!d->gap_open)
		return;
	d->gap.state = ALERT_CLEARED;
	d->gap.until_ms = wall_ms;
	d->gap.reason = CR_BACK_INSIDE; /* the outbox keeps everything again */
	append_alert(d, wall_ms, &d->gap);
	d->gap_open = false;
}

static void fill_sink_metrics(struct daemon *d, struct rec_metrics *m, int64_t wall_ms)
{
	m->n_sinks = (uint8_t)d->n_sinks;
	for (int i = 0; i < d->n_sinks && i < REC_MAX_SINKS; i++) {
		struct rec_sink_metrics *sm = &m->sinks[i];
		struct sink_stats s;
		int64_t oldest = outbox_oldest_unacked_ms(d->ob, i);

		d->sinks[i].ops->get_stats(d->sinks[i].impl, &s);
		snprintf(sm->name, sizeof(sm->name), "%s", d->sink_names[i]);
		sm->queue_depth = outbox_unacked(d->ob, i);
		sm->oldest_unsent_s = oldest && wall_ms > oldest ? (wall_ms - oldest) / 1000 : 0;
		sm->sent = s.sent;
		sm->retried = s.retried;
		sm->dropped = outbox_dropped(d->ob, i);
		sm->quarantined = s.quarantined;
	}
}

/* The gateway's own health as a record, to every sink (outfall_gateway). */
static void emit_metrics(struct daemon *d)
{
	int64_t wall = clock_wall_ms();
	struct record r = { .ts_ms = wall, .type = REC_METRICS };
	struct rec_metrics *m = &r.u.metrics;
	struct acquire_stats t;
	struct outbox_stats os;

	acquire_totals(d->acq, &t);
	outbox_get_stats(d->ob, &os);
	m->polls = t.polls;
	m->errors = t.failures;
	m->timeouts = t.drv.timeouts;
	m->crc_errors = t.drv.crc_errors;
	m->exceptions = t.drv.exceptions;
	m->outbox_corrupt = os.corrupt_found + os.truncated_tail + os.read_resyncs;
	m->outbox_io_errors = os.io_errors;
	m->late = t.late;
	fill_sink_metrics(d, m, wall);
	append(d, &r);
	close_gap(d, wall);
}

void daemon_append_out(struct daemon *d, const struct compliance_out *out)
{
	for (int i = 0; i < out->n; i++) {
		if (out->recs[i].type == REC_ALERT)
			append_alert(d, out->recs[i].ts_ms, &out->recs[i].u.alert);
		else
			append(d, &out->recs[i]);
		if (out->recs[i].type == REC_MAINT)
			daemon_log_maint(&out->recs[i]);
	}
}

void daemon_compliance_step(struct daemon *d, int64_t mono_ms)
{
	int64_t wall = clock_wall_ms();
	struct compliance_out out = { .recs = d->tick_recs, .max = d->max_events };
	uint64_t lost;

	daemon_clock_check(d);
	compliance_tick(d->comp, wall, mono_ms, d->clock_synced, &out);
	daemon_append_out(d, &out);
	lost = compliance_lost(d->comp);
	if (lost > d->lost_seen || out.dropped)
		log_err("compliance: %llu events or aggregates had no room and were lost",
			(unsigned long long)(lost - d->lost_seen + (uint64_t)out.dropped));
	d->lost_seen = lost;
}

/* Due now, or soon enough to be run with this wake (DAEMON_TIMER_SLACK_MS). */
static bool due(int64_t mono_ms, int64_t deadline_ms)
{
	return mono_ms + DAEMON_TIMER_SLACK_MS >= deadline_ms;
}

void daemon_records_tick(struct daemon *d, int64_t mono_ms)
{
	if (due(mono_ms, d->next_tick_ms)) {
		daemon_compliance_step(d, mono_ms);
		d->next_tick_ms = mono_ms + DAEMON_TICK_MS;
	}
	store_kept(d);
	check_gap(d, clock_wall_ms());
	if (due(mono_ms, d->next_metrics_ms)) {
		emit_metrics(d);
		d->next_metrics_ms = mono_ms + DAEMON_METRICS_MS;
	}
	daemon_save_state(d, false);
	daemon_maint_save(d, false);
	daemon_publish_active(d);
	if (due(mono_ms, d->next_status_ms)) {
		daemon_status_write(d, false);
		d->next_status_ms = mono_ms + DAEMON_STATUS_MS;
	}
}

void daemon_save_state(struct daemon *d, bool force)
{
	struct alertstate st = { 0 };
	int64_t now = clock_mono_ms();
	int rc;

	if (!compliance_dirty(d->comp) || (!force && now < d->next_save_ms))
		return;
	rc = compliance_export(d->comp, &st);
	if (rc == 0)
		rc = alertstate_save(d->cfg->data_dir, &st, NULL);
	alertstate_clear(&st);
	if (rc == 0) {
		compliance_saved(d->comp);
		complain_recovered(&d->save_c, "alert state: saved again in %s", d->cfg->data_dir);
		return;
	}
	d->next_save_ms = now + DAEMON_SAVE_RETRY_MS;
	complain(&d->save_c, now, LOG_ERR, "alert state: cannot save in %s: %s; open alerts "
		 "would be raised again after a restart", d->cfg->data_dir, strerror(-rc));
}

/* JSON array of the outlet's open alert events, as payload_alert has them. */
static int active_json(struct daemon *d, int outlet, char *buf, size_t cap)
{
	struct record r = { .type = REC_ALERT };
	int n = compliance_active(d->comp, outlet, d->events, d->max_events);
	size_t len = 1;

	buf[0] = '[';
	for (int i = 0; i < n && i < d->max_events; i++) {
		int w;

		r.ts_ms = d->events[i].since_ms;
		r.u.alert = d->events[i];
		if (len + 2 >= cap)
			break;
		if (i > 0)
			buf[len++] = ',';
		w = payload_alert(buf + len, cap - len - 1, d->cfg->id, &r);
		if (w < 0) { /* no room for the whole set: keep what fits */
			len -= i > 0;
			log_warn("alerts/%s/active: %d open alerts do not fit one message; "
				 "%d published", d->cfg->outlets[outlet].id, n, i);
			break;
		}
		len += (size_t)w;
	}
	buf[len++] = ']';
	buf[len] = '\0';
	return (int)len;
}

void daemon_publish_active(struct daemon *d)
{
	for (size_t o = 0; o < d->cfg->n_outlets; o++) {
		if (!d->active_dirty[o])
			continue;
		d->active_dirty[o] = false;
		if (d->mqtt < 0)
			continue;
		active_json(d, (int)o, d->json, PAYLOAD_MAX);
		sink_mqtt_publish_active(&d->sinks[d->mqtt], d->cfg->outlets[o].id, d->json);
	}
}

/* Open alerts from the last run go back to their rules: none is forgotten
 * or raised twice. */
static void restore_state(struct daemon *d)
{
	struct alertstate st = { 0 };
	int rc = alertstate_load(d->cfg->data_dir, &st);

	if (rc == 0 && compliance_restore(d->comp, &st, clock_wall_ms()) == 0)
		log_info("alert state: %zu open alerts restored from %s/alerts.state",
			 st.n_alerts, d->cfg->data_dir);
	else if (rc == -EBADMSG)
		log_err("alert state: %s/alerts.state is corrupt; starting with no open alerts",
			d->cfg->data_dir);
	else if (rc != -ENOENT && rc != 0)
		log_err("alert state: cannot read %s/alerts.state: %s; starting with no open "
			"alerts", d->cfg->data_dir, strerror(-rc));
	alertstate_clear(&st);
}

int daemon_records_init(struct daemon *d)
{
	int64_t now = clock_mono_ms();

	d->comp = compliance_new(d->cfg);
	if (!d->comp)
		return -ENOMEM;
	restore_state(d);
	daemon_maint_restore(d);
	d->max_events = compliance_max_events(d->comp);
	d->events = calloc((size_t)d->max_events, sizeof(*d->events));
	d->tick_recs = calloc((size_t)d->max_events, sizeof(*d->tick_recs));
	d->active_dirty = calloc(d->cfg->n_outlets + 1, sizeof(*d->active_dirty));
	d->json = malloc(PAYLOAD_MAX);
	if (!d->events || !d->tick_recs || !d->active_dirty || !d->json)
		return -ENOMEM;
	for (size_t o = 0; o < d->cfg->n_outlets; o++)
		d->active_dirty[o] = true; /* replace whatever a broker retained */
	d->next_tick_ms = now;
	daemon_clock_check(d);
	d->next_metrics_ms = now + DAEMON_METRICS_MS;
	return 0;
}

void daemon_records_fini(struct daemon *d)
{
	if (d->comp)
		daemon_save_state(d, true);
	if (d->comp)
		daemon_maint_save(d, true);
	compliance_free(d->comp);
	free(d->events);
	free(d->tick_recs);
	free(d->kept);
	free(d->active_dirty);
	free(d->json);
	status_clear(&d->status);
}

void daemon_log_stats(struct daemon *d)
{
	struct acquire_stats t;

	acquire_totals(d->acq, &t);
	log_info("stats: %llu polls, %llu failed, %llu timeouts, %llu crc errors, %llu late, "
		 "%llu alerts, %d open", (unsigned long long)t.polls, (unsigned long long)t.failures,
		 (unsigned long long)t.drv.timeouts, (unsigned long long)t.drv.crc_errors,
		 (unsigned long long)t.late,
		 (unsigned long long)d->alerts, compliance_open_count(d->comp));
	for (int i = 0; i < d->n_sinks; i++) {
		struct sink_stats s;

		d->sinks[i].ops->get_stats(d->sinks[i].impl, &s);
		log_info("stats: sink %s: %llu sent, %zu unacknowledged, %llu dropped, %llu errors",
			 d->sink_names[i], (unsigned long long)s.sent, outbox_unacked(d->ob, i),
			 (unsigned long long)outbox_dropped(d->ob, i), (unsigned long long)s.errors);
	}
}

int daemon_status_init(struct daemon *d)
{
	int rc;

	status_clear(&d->status);
	rc = status_init(&d->status, d->cfg, (size_t)d->n_sinks, DAEMON_STATUS_ALERTS);
	if (rc < 0)
		return rc;
	snprintf(d->status.version, sizeof(d->status.version), "%s", OUTFALL_VERSION);
	d->status.pid = (int64_t)getpid();
	d->status.started_wall_ms = d->started_ms;
	for (int i = 0; i < d->n_sinks; i++)
		snprintf(d->status.sinks[i].name, sizeof(d->status.sinks[i].name), "%s",
			 d->sink_names[i]);
	return 0;
}

static void status_fill(struct daemon *d)
{
	struct status_snapshot *s = &d->status;

	for (size_t i = 0; i < s->n_sensors && i < d->cfg->n_sensors; i++) {
		struct acquire_stats st;

		acquire_get_stats(d->acq, (int)i, &st);
		s->sensors[i].polls = st.polls;
		s->sensors[i].failures = st.failures;
		s->sensors[i].timeouts = st.drv.timeouts;
		s->sensors[i].crc_errors = st.drv.crc_errors;
		s->sensors[i].exceptions = st.drv.exceptions;
		s->sensors[i].late = st.late;
	}
	for (size_t i = 0; i < s->n_sinks && (int)i < d->n_sinks; i++) {
		struct sink_stats st;
		struct sink_health h;

		d->sinks[i].ops->get_health(d->sinks[i].impl, &h);
		status_note_sink_health(&s->sinks[i], h.last_error, h.last_error_wall_ms,
					h.next_retry_ms, clock_wall_ms(), clock_mono_ms());
		d->sinks[i].ops->get_stats(d->sinks[i].impl, &st);
		s->sinks[i].unacked = outbox_unacked(d->ob, (int)i);
		s->sinks[i].oldest_unacked_ms = outbox_oldest_unacked_ms(d->ob, (int)i);
		s->sinks[i].sent = st.sent;
		s->sinks[i].retried = st.retried;
		s->sinks[i].errors = st.errors;
		s->sinks[i].quarantined = st.quarantined;
		s->sinks[i].dropped = outbox_dropped(d->ob, (int)i);
	}
	s->n_alerts = 0;
	for (size_t o = 0; o < d->cfg->n_outlets && s->n_alerts < s->max_alerts; o++) {
		int n = compliance_active(d->comp, (int)o, s->alerts + s->n_alerts,
					  (int)(s->max_alerts - s->n_alerts));
		size_t room = s->max_alerts - s->n_alerts;

		s->n_alerts += (size_t)n < room ? (size_t)n : room;
	}
	daemon_status_maint(d);
	s->now_wall_ms = clock_wall_ms();
}

void daemon_status_write(struct daemon *d, bool stopped)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", d->cfg->run_dir, STATUS_FILE);
	int rc;

	if (!d->status.sensors && d->cfg->n_sensors)
		return; /* no snapshot (out of memory at start) */
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	status_fill(d);
	d->status.stopped = stopped;
	rc = status_write(path, &d->status);
	if (rc < 0)
		complain(&d->status_c, clock_mono_ms(), LOG_WARNING,
			 "status: cannot write %s: %s (outfallctl status will be stale)", path,
			 strerror(-rc));
	else
		complain_recovered(&d->status_c, "status: %s written again", path);
}
