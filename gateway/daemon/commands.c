/*
 * commands.c - what an operator asks of the running daemon through the
 * control channel (control.h): a sensor into maintenance or calibration
 * and out again, an alert known to be false closed. Each request is
 * logged with who sent it, acted on in the compliance engine, its events
 * queued for every sink, and answered. Also the maintenance modes' file in
 * data_dir, and whether the wall clock is trusted to judge permit dates
 * (gateway.clock), said in one log line at start and at every change.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "base/clock.h"

#define CONTROL_BURST 16 /* requests taken per loop pass: the rest wait */
#define HISTORY_COMMIT_BUDGET_MS 1000 /* the loop held for a history backlog: the
					* client waits CONTROL_TIMEOUT_MS */

void daemon_control_open(struct daemon *d)
{
	int rc = control_open(d->cfg->data_dir, &d->ctlfd);

	if (rc == 0)
		d->ctl_dir = strdup(d->cfg->data_dir);
	if (rc == 0 && !d->ctl_dir) {
		control_close(d->ctlfd, d->cfg->data_dir);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		d->ctlfd = -1;
		log_err("control: cannot open %s/%s: %s; outfallctl maintenance and alert close "
			"cannot reach this daemon", d->cfg->data_dir, CONTROL_SOCKET, strerror(-rc));
		return;
	}
	log_info("control: listening on %s/%s", d->ctl_dir, CONTROL_SOCKET);
}

void daemon_control_close(struct daemon *d)
{
	if (d->ctlfd >= 0)
		control_close(d->ctlfd, d->ctl_dir);
	d->ctlfd = -1;
	free(d->ctl_dir);
	d->ctl_dir = NULL;
}

/* ---- answering ---------------------------------------------------------- */

struct request {
	struct daemon *d;
	const struct control_peer *peer;
	char who[64];           /* "uid 0, pid 1234" for the log */
};

static void __attribute__((format(printf, 4, 5)))
answer(const struct request *q, bool ok, int code, const char *fmt, ...)
{
	char msg[CONTROL_MSG_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut message still answers */
	va_end(ap);
	rc = control_reply(q->d->ctlfd, q->peer, ok, code, msg);
	if (rc < 0)
		log_info("control: no answer reached %s: %s", q->who, strerror(-rc));
}

/* Wall ms as the gateway's local time, "2026-11-29 18:00:17 CST". */
static void local_time(int64_t wall_ms, char *buf, size_t cap)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, cap, "%lld ms", (long long)wall_ms);
}

static void sensor_list(const struct config *cfg, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_sensors; i++) {
		int n = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", cfg->sensors[i].name);

		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
}

static void run_maint(const struct request *q, const struct control_req *rq)
{
	struct daemon *d = q->d;
	int s = config_find_sensor(d->cfg, rq->sensor);
	struct compliance_maint_req mr = {
		.on = rq->mode != CONTROL_OFF,
		.mode = rq->mode == CONTROL_CALIBRATION ? MM_CALIBRATION : MM_MAINTENANCE,
		.duration_ms = rq->for_s * 1000, .note = rq->reason };
	struct compliance_out out = { .recs = d->tick_recs, .max = d->max_events };
	struct compliance_maint_info mi;
	char list[512], until[64];
	int rc;

	if (rq->mode == CONTROL_OFF)
		log_notice("control: %s asks: %s out of maintenance%s%s", q->who, rq->sensor,
			   rq->reason[0] ? ", reason: " : "", rq->reason);
	else
		log_notice("control: %s asks: %s into %s for %lld s%s%s", q->who, rq->sensor,
			   control_mode_name(rq->mode), (long long)(rq->for_s ? rq->for_s
			   : d->cfg->alerting.maintenance_max_h * 3600LL),
			   rq->reason[0] ? ", reason: " : "", rq->reason);
	if (s < 0) {
		sensor_list(d->cfg, list, sizeof(list));
		answer(q, false, CONTROL_E_UNKNOWN, "no sensor \"%s\" in the running configuration "
		       "(sensors: %s)", rq->sensor, list[0] ? list : "none");
		return;
	}
	rc = compliance_maint_set(d->comp, s, &mr, clock_wall_ms(), clock_mono_ms(), &out);
	if (rc == -ERANGE) {
		answer(q, false, CONTROL_E_RANGE, "%lld s is longer than "
		       "alerting.maintenance_max_h = %d h; a longer job takes a new request when "
		       "this one ends (and more than %d starts a day raise maintenance_overuse)",
		       (long long)rq->for_s, d->cfg->alerting.maintenance_max_h,
		       COMPLIANCE_MAINT_STARTS_MAX);
		return;
	}
	if (rc == -EALREADY) {
		answer(q, false, CONTROL_E_STATE, "sensor %s is not in maintenance", rq->sensor);
		return;
	}
	if (rc < 0) {
		log_err("control: maintenance %s: %s", rq->sensor, strerror(-rc));
		answer(q, false, CONTROL_E_INTERNAL, "the daemon could not do it: %s", strerror(-rc));
		return;
	}
	daemon_append_out(d, &out);
	daemon_maint_save(d, true);
	daemon_status_write(d, false);
	compliance_maint_get(d->comp, s, &mi);
	if (!mi.active) {
		answer(q, true, 0, "sensor %s: maintenance ended; its readings are judged again",
		       rq->sensor);
		return;
	}
	local_time(mi.planned_end_ms, until, sizeof(until));
	answer(q, true, 0, "sensor %s: %s until %s; its readings are kept, flagged %s, and "
	       "raise no alert; the start went to every sink (%d start%s today)", rq->sensor,
	       maint_mode_name(mi.mode), until, mi.mode == MM_CALIBRATION ? "C" : "M",
	       mi.starts_today, mi.starts_today == 1 ? "" : "s");
}

/* The outbox's own data_gap is the daemon's, not the engine's. */
static bool close_gap(struct daemon *d, const struct control_req *rq)
{
	struct record r = { .ts_ms = clock_wall_ms(), .type = REC_ALERT };
	struct compliance_out out = { .recs = &r, .max = 1, .n = 1 };

	if (!d->gap_open || strncmp(d->gap.id, rq->id, sizeof(d->gap.id)) != 0)
		return false;
	r.u.alert = d->gap;
	r.u.alert.state = ALERT_CLEARED;
	r.u.alert.until_ms = r.ts_ms;
	r.u.alert.reason = CR_CLOSED_BY_OPERATOR;
	snprintf(r.u.alert.note, sizeof(r.u.alert.note), "%s", rq->reason);
	d->gap_open = false;
	daemon_append_out(d, &out);
	return true;
}

static void run_close(const struct request *q, const struct control_req *rq)
{
	struct daemon *d = q->d;
	struct compliance_out out = { .recs = d->tick_recs, .max = d->max_events };
	int rc;

	log_notice("control: %s asks: close alert %s, reason: %s", q->who, rq->id, rq->reason);
	rc = compliance_alert_close(d->comp, rq->id, rq->reason, clock_wall_ms(),
				    clock_mono_ms(), &out);
	if (rc == -ENOENT && close_gap(d, rq))
		rc = 0;
	else if (rc == 0)
		daemon_append_out(d, &out);
	if (rc == -ENOENT) {
		answer(q, false, CONTROL_E_UNKNOWN, "no open alert has the id \"%s\" (outfallctl "
		       "status lists the open ones with their ids)", rq->id);
		return;
	}
	if (rc < 0) {
		log_err("control: close %s: %s", rq->id, strerror(-rc));
		answer(q, false, CONTROL_E_INTERNAL, "the daemon could not do it: %s", strerror(-rc));
		return;
	}
	daemon_status_write(d, false);
	answer(q, true, 0, "alert %s closed: a cleared event with reason closed_by_operator and "
	       "your reason went to every sink; its rule raises again only once its condition "
	       "has gone and come back, or after %d h", rq->id,
	       d->cfg->alerting.maintenance_max_h);
}

/* The history sink's index, or -1 when the config keeps no history. */
static int history_sink(const struct daemon *d)
{
	for (int i = 0; i < d->n_sinks; i++)
		if (strcmp(d->sink_names[i], "history") == 0)
			return i;
	return -1;
}

/* history-commit: telemetry waiting for its fdatasync is synced, then the
 * history writes what it has not (a pass of at most 1024 records is tens
 * of ms; the loop waits at most HISTORY_COMMIT_BUDGET_MS for a backlog). */
static void run_history_commit(struct request *q)
{
	struct daemon *d = q->d;
	int i = history_sink(d);
	struct sink_stats before, after;
	struct sink_health health;
	int rc;

	if (i < 0) {
		answer(q, false, CONTROL_E_STATE, "this gateway keeps no local history (no history "
		       "section in its config)");
		return;
	}
	rc = outbox_flush(d->ob, clock_mono_ms());
	d->sinks[i].ops->get_stats(d->sinks[i].impl, &before);
	d->sinks[i].ops->flush(d->sinks[i].impl, HISTORY_COMMIT_BUDGET_MS);
	d->sinks[i].ops->get_stats(d->sinks[i].impl, &after);
	d->sinks[i].ops->get_health(d->sinks[i].impl, &health);
	log_info("control: %s asked for a history commit: %llu records written",
		 q->who, (unsigned long long)(after.sent - before.sent));
	if (rc < 0 || (health.next_retry_ms && health.last_error[0])) {
		answer(q, false, CONTROL_E_INTERNAL, "the history could not be brought up to date: "
		       "%s", rc < 0 ? strerror(-rc) : health.last_error);
		return;
	}
	answer(q, true, 0, "history committed: %llu records written now",
	       (unsigned long long)(after.sent - before.sent));
}

static void run(struct daemon *d, const struct control_peer *peer, const char *buf, size_t n)
{
	struct request q = { .d = d, .peer = peer };
	struct control_req rq;
	char err[160];

	if (peer->has_cred)
		snprintf(q.who, sizeof(q.who), "uid %u, pid %d", (unsigned)peer->uid,
			 (int)peer->pid);
	else
		snprintf(q.who, sizeof(q.who), "an unknown sender");
	if (control_parse(buf, n, &rq, err, sizeof(err)) < 0) {
		log_warn("control: refused a request from %s: %s", q.who, err);
		answer(&q, false, CONTROL_E_USAGE, "%s", err);
		return;
	}
	if (rq.cmd == CONTROL_MAINT)
		run_maint(&q, &rq);
	else if (rq.cmd == CONTROL_ALERT_CLOSE)
		run_close(&q, &rq);
	else if (rq.cmd == CONTROL_HISTORY_COMMIT)
		run_history_commit(&q);
	else
		answer(&q, true, 0, "outfalld %s, gateway %s", OUTFALL_VERSION, d->cfg->id);
}

void daemon_control(struct daemon *d)
{
	char buf[CONTROL_MSG_MAX + 1];

	for (int i = 0; i < CONTROL_BURST && d->ctlfd >= 0; i++) {
		struct control_peer peer;
		ssize_t n = control_recv(d->ctlfd, buf, sizeof(buf), &peer);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n == -EMSGSIZE) {
			struct request q = { .d = d, .peer = &peer, .who = "a sender" };

			log_warn("control: refused a request longer than %d bytes", CONTROL_MSG_MAX);
			answer(&q, false, CONTROL_E_USAGE, "request longer than %d bytes",
			       CONTROL_MSG_MAX);
			continue;
		}
		if (n < 0) {
			log_warn("control: cannot read a request: %s", strerror((int)-n));
			return;
		}
		run(d, &peer, buf, (size_t)n);
	}
}

/* ---- maintenance events and modes on disk ------------------------------- */

void daemon_log_maint(const struct record *r)
{
	const struct rec_maint *m = &r->u.maint;
	char since[CLOCK_RFC3339_LEN], end[CLOCK_RFC3339_LEN];
	const char *by = maint_end_name(m->ended_by);

	clock_rfc3339(m->since_ms, since, sizeof(since));
	clock_rfc3339(m->planned_end_ms, end, sizeof(end));
	log_notice("maintenance %s: sensor %s (outlet %s): %s since %s, planned end %s%s%s%s%.*s",
		   maint_event_name(m->event), m->sensor, m->outlet[0] ? m->outlet : "-",
		   maint_mode_name(m->mode), since, end, by ? ", ended by " : "", by ? by : "",
		   m->note[0] ? ", reason: " : "", (int)strnlen(m->note, sizeof(m->note)), m->note);
}

void daemon_maint_save(struct daemon *d, bool force)
{
	struct maintstate st = { 0 };
	int64_t now = clock_mono_ms();
	int rc;

	if (!compliance_maint_dirty(d->comp) || (!force && now < d->next_maint_save_ms))
		return;
	rc = compliance_maint_export(d->comp, clock_wall_ms(), &st);
	if (rc == 0)
		rc = maintstate_save(d->cfg->data_dir, &st);
	maintstate_clear(&st);
	if (rc == 0) {
		compliance_maint_saved(d->comp);
		complain_recovered(&d->maint_c, "maintenance: saved again in %s", d->cfg->data_dir);
		return;
	}
	d->next_maint_save_ms = now + DAEMON_SAVE_RETRY_MS;
	complain(&d->maint_c, now, LOG_ERR, "maintenance: cannot save %s/%s: %s; a restart "
		 "would end the modes early", d->cfg->data_dir, MAINTSTATE_FILE, strerror(-rc));
}

void daemon_maint_restore(struct daemon *d)
{
	struct maintstate st = { 0 };
	int rc = maintstate_load(d->cfg->data_dir, &st);
	size_t active = 0;

	for (size_t i = 0; rc == 0 && i < st.n; i++)
		active += st.e[i].active;
	if (rc == 0)
		rc = compliance_maint_restore(d->comp, &st, clock_wall_ms(), clock_mono_ms());
	if (rc == 0 && active)
		log_notice("maintenance: %zu sensor%s in maintenance before the restart, from "
			   "%s/%s", active, active == 1 ? " was" : "s were", d->cfg->data_dir,
			   MAINTSTATE_FILE);
	else if (rc == -EBADMSG)
		log_err("maintenance: %s/%s is corrupt; no sensor is in maintenance",
			d->cfg->data_dir, MAINTSTATE_FILE);
	else if (rc < 0 && rc != -ENOENT)
		log_err("maintenance: cannot read %s/%s: %s; no sensor is in maintenance",
			d->cfg->data_dir, MAINTSTATE_FILE, strerror(-rc));
	maintstate_clear(&st);
}

/* ---- the clock ---------------------------------------------------------- */

enum { SAID_NONE, SAID_RTC, SAID_NTP_SYNCED, SAID_NTP_UNSYNCED };

void daemon_clock_check(struct daemon *d)
{
	bool rtc = d->cfg->clock == CLOCK_SRC_RTC;
	int say;

	d->clock_kernel = clock_kernel_synced();
	d->clock_synced = rtc || d->clock_kernel;
	say = rtc ? SAID_RTC : d->clock_kernel ? SAID_NTP_SYNCED : SAID_NTP_UNSYNCED;
	if (say == d->clock_said)
		return;
	d->clock_said = say;
	if (say == SAID_RTC)
		log_notice("permit dates judged: clock=rtc, trusted");
	else if (say == SAID_NTP_SYNCED)
		log_notice("permit dates judged: clock=ntp and the kernel reports NTP sync");
	else
		log_warn("permit dates NOT judged: clock=ntp and the kernel does not report NTP "
			 "sync; set gateway.clock = \"rtc\" if this board has a battery clock");
}

void daemon_status_maint(struct daemon *d)
{
	struct status_snapshot *s = &d->status;

	s->has_clock = true;
	s->clock_rtc = d->cfg->clock == CLOCK_SRC_RTC;
	s->clock_synced = d->clock_kernel;
	s->dates_judged = d->clock_synced;
	for (size_t i = 0; i < s->n_sensors && i < d->cfg->n_sensors; i++) {
		struct status_sensor *ss = &s->sensors[i];
		struct compliance_maint_info mi = { .active = false };

		ss->maint = compliance_maint_get(d->comp, (int)i, &mi) && mi.active;
		if (!ss->maint)
			mi = (struct compliance_maint_info){ .active = false };
		ss->maint_mode = (uint8_t)mi.mode;
		ss->maint_since_ms = mi.since_ms;
		ss->maint_end_ms = mi.planned_end_ms;
		memcpy(ss->maint_reason, mi.note, sizeof(ss->maint_reason));
	}
}
