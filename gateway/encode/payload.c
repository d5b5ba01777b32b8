/*
 * payload.c - MQTT JSON payloads and topics (see payload.h): a bounded JSON
 * writer over a caller-owned buffer, and the encoders built on it.
 */
#include "payload.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/numfmt.h"
#include "base/param.h"
#include "config/config.h"
#include "internal.h"

/*
 * The writer never writes past cap - 1, so the NUL always fits; once
 * something does not fit it stops writing and remembers, and the encoder
 * returns -ENOSPC at the end instead of checking after every piece.
 */
struct jw {
	char *buf;
	size_t cap;
	size_t len;   /* bytes written, < cap while !full */
	bool full;
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->full || n >= w->cap - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

static void jw_escape(struct jw *w, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	if (c == '"' || c == '\\') {
		e[1] = (char)c;
		jw_raw(w, e, 2);
	} else {
		jw_raw(w, e, sizeof(e));
	}
}

/* A JSON string of at most max bytes of s (stops at a NUL). Runs of plain
 * bytes, including UTF-8 sequences, are copied in one piece. */
static void jw_strn(struct jw *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	size_t i = 0;

	jw_raw(w, "\"", 1);
	while (i < n) {
		size_t run = i;

		while (run < n && !needs_escape((unsigned char)s[run]))
			run++;
		if (run > i)
			jw_raw(w, s + i, run - i);
		if (run < n)
			jw_escape(w, (unsigned char)s[run++]);
		i = run;
	}
	jw_raw(w, "\"", 1);
}

static void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

/* Empty means "none" for the optional names of a record. */
static void jw_name(struct jw *w, const char *s, size_t max)
{
	if (strnlen(s, max) == 0)
		jw_lit(w, "null");
	else
		jw_strn(w, s, max);
}

/* A number at the precision its RV_* flags say it has (numfmt.h); NaN and
 * the infinities, which JSON cannot carry, as null. */
static void jw_numf(struct jw *w, double v, unsigned rv_flags)
{
	char tmp[NUMFMT_MAX];

	if (!isfinite(v)) {
		jw_lit(w, "null");
		return;
	}
	jw_raw(w, tmp, numfmt_value(tmp, v, rv_flags));
}

static void jw_num(struct jw *w, double v)
{
	jw_numf(w, v, 0);
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);

	if (n <= 0 || (size_t)n >= sizeof(tmp)) {
		w->full = true;
		return;
	}
	jw_raw(w, tmp, (size_t)n);
}

static void jw_i64(struct jw *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);

	if (n <= 0 || (size_t)n >= sizeof(tmp)) {
		w->full = true;
		return;
	}
	jw_raw(w, tmp, (size_t)n);
}

/* ,"key":<v> for the counters of the metrics record */
static void jw_field_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_lit(w, ",\"");
	jw_lit(w, key);
	jw_lit(w, "\":");
	jw_u64(w, v);
}

static void jw_time(struct jw *w, int64_t wall_ms)
{
	char ts[CLOCK_RFC3339_LEN + 8];

	clock_rfc3339(wall_ms, ts, sizeof(ts));
	if (ts[0] == '\0')
		jw_lit(w, "null"); /* outside what gmtime can represent */
	else
		jw_str(w, ts);
}

/* Finishes the document: NUL-terminates and returns its length. */
static int jw_end(struct jw *w)
{
	if (w->full || w->len >= w->cap) {
		if (w->cap)
			w->buf[0] = '\0';
		return -ENOSPC;
	}
	w->buf[w->len] = '\0';
	return (int)w->len;
}

static struct jw jw_start(char *buf, size_t cap)
{
	/* Lengths are returned as int; no payload comes near that. */
	if (cap > INT32_MAX)
		cap = INT32_MAX;
	return (struct jw){ .buf = buf, .cap = cap };
}

/*
 * config_basis_name() lives in config.c; a local table keeps this module
 * (and its test) free of the config parser. Same names as the config file.
 */
static const char *basis_name(int b)
{
	static const char *const names[] = {
		[BASIS_INSTANT] = "instant",
		[BASIS_ROLLING] = "rolling",
		[BASIS_HOURLY_MEAN] = "hourly_mean",
		[BASIS_DAILY_MEAN] = "daily_mean",
	};
	return b >= 0 && b < (int)(sizeof(names) / sizeof(names[0])) ? names[b] : "?";
}

/* Only ok and out_of_range values are measurements; the others carry
 * whatever the decoder left and must not look like data. */
static bool value_is_meaningful(const struct rec_value *v)
{
	return (v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE) && isfinite(v->v);
}

/* {"v","unit","q"}, then only when set: "cause":"implausible" (an invalid
 * value that cannot be physical) and "flag":"M" or "C" (maintenance or
 * calibration, as HJ 212 flags them). */
static void jw_value(struct jw *w, const struct rec_value *v)
{
	jw_str(w, param_name(v->param));
	jw_lit(w, ":{\"v\":");
	if (value_is_meaningful(v))
		jw_numf(w, v->v, v->flags);
	else
		jw_lit(w, "null");
	jw_lit(w, ",\"unit\":");
	jw_str(w, param_unit(v->param));
	jw_lit(w, ",\"q\":");
	jw_str(w, quality_name(v->quality));
	if (v->flags & (RV_IMPLAUSIBLE | RV_MAINTENANCE | RV_CALIBRATION)) {
		if (v->flags & RV_IMPLAUSIBLE)
			jw_lit(w, ",\"cause\":\"implausible\"");
		if (v->flags & RV_CALIBRATION)
			jw_lit(w, ",\"flag\":\"C\"");
		else if (v->flags & RV_MAINTENANCE)
			jw_lit(w, ",\"flag\":\"M\"");
	}
	jw_lit(w, "}");
}

int payload_telemetry(char *buf, size_t cap, const struct record *r)
{
	const struct rec_poll *p = &r->u.poll;
	struct jw w = jw_start(buf, cap);

	if (r->type != REC_POLL || p->n > REC_MAX_VALUES)
		return -EINVAL;
	jw_lit(&w, "{\"ts\":");
	jw_time(&w, r->ts_ms);
	if (r->flags & REC_F_CLOCK_UNSYNCED)
		jw_lit(&w, ",\"clock\":\"unsynced\"");
	jw_lit(&w, ",\"seq\":");
	jw_u64(&w, r->seq);
	jw_lit(&w, ",\"outlet\":");
	jw_name(&w, p->outlet, sizeof(p->outlet));
	jw_lit(&w, ",\"sensor\":");
	jw_strn(&w, p->sensor, sizeof(p->sensor));
	jw_lit(&w, ",\"values\":{");
	for (int i = 0; i < p->n; i++) {
		if (i)
			jw_lit(&w, ",");
		jw_value(&w, &p->values[i]);
	}
	jw_lit(&w, "}}");
	return jw_end(&w);
}

/* The engine's id format, for a record that arrived without one. */
static void jw_alert_id(struct jw *w, const char *gateway, const struct record *r)
{
	const struct rec_alert *a = &r->u.alert;
	char id[REC_ID + 64];
	int n;

	if (strnlen(a->id, sizeof(a->id)) > 0) {
		jw_strn(w, a->id, sizeof(a->id));
		return;
	}
	n = snprintf(id, sizeof(id), "%s/%.*s/%s/%s/%" PRId64, gateway ? gateway : "",
		     (int)strnlen(a->outlet, sizeof(a->outlet)), a->outlet,
		     param_name(a->param), basis_name(a->basis), a->since_ms);
	if (n < 0 || (size_t)n >= sizeof(id)) {
		w->full = true;
		return;
	}
	jw_str(w, id);
}

/* ,"key":<int> */
static void jw_field_i64(struct jw *w, const char *key, int64_t v)
{
	jw_lit(w, ",\"");
	jw_lit(w, key);
	jw_lit(w, "\":");
	jw_i64(w, v);
}

/* A name from record.c's tables, or null when there is none. */
static void jw_opt_str(struct jw *w, const char *s)
{
	if (s)
		jw_str(w, s);
	else
		jw_lit(w, "null");
}

/* parameter, unit, basis, window_min, limit, value, peak: always there,
 * as consumers expect, but null where the kind has no such thing. */
static void jw_alert_evidence(struct jw *w, const struct rec_alert *a,
			      const struct enc_evidence *ev)
{
	jw_lit(w, ",\"parameter\":");
	jw_opt_str(w, ev->param ? param_name(a->param) : NULL);
	jw_lit(w, ",\"unit\":");
	jw_opt_str(w, ev->param && ev->unit ? param_unit(a->param) : NULL);
	jw_lit(w, ",\"basis\":");
	jw_opt_str(w, ev->permit ? basis_name(a->basis) : NULL);
	jw_lit(w, ",\"window_min\":");
	if (ev->permit && a->basis == BASIS_ROLLING)
		jw_u64(w, a->window_min > 0 ? (uint64_t)a->window_min : 0);
	else
		jw_lit(w, "null");
	jw_lit(w, ",\"limit\":");
	jw_num(w, ev->limit ? a->limit : NAN);
	jw_lit(w, ",\"value\":");
	jw_numf(w, ev->value ? a->value : NAN, a->value_flags);
	jw_lit(w, ",\"peak\":");
	jw_numf(w, ev->value ? a->peak : NAN, a->value_flags);
	if (ev->permit) {
		jw_lit(w, ",\"ratio\":");
		jw_num(w, enc_alert_ratio(a));
	}
}

/* The fields of the kinds that are not about a limit (DESIGN §5). */
static void jw_alert_own(struct jw *w, const struct rec_alert *a, const struct enc_evidence *ev)
{
	if (ev->fault) {
		jw_lit(w, ",\"cause\":");
		jw_opt_str(w, fault_cause_name(a->cause));
	}
	if (ev->fault || a->n_params) {
		jw_lit(w, ",\"parameters\":[");
		for (int i = 0; i < a->n_params; i++) {
			if (i)
				jw_lit(w, ",");
			jw_str(w, param_name(a->params[i]));
		}
		jw_lit(w, "]");
	}
	if (ev->fault) {
		jw_field_i64(w, "polls_missed", a->polls_missed);
		jw_lit(w, ",\"last_answer\":");
		if (a->last_answer_ms)
			jw_time(w, a->last_answer_ms);
		else
			jw_lit(w, "null");
	}
	if (ev->gap) {
		jw_field_i64(w, "gap_s", a->gap_s);
		jw_lit(w, ",\"coverage\":");
		jw_num(w, enc_alert_coverage(a));
		if (enc_alert_records_lost(a) >= 0)
			jw_field_i64(w, "records_lost", enc_alert_records_lost(a));
	}
	if (ev->expiry)
		jw_field_i64(w, "days_left", a->days_left);
}

/* since; on cleared events until, duration_s and reason; the note. */
static void jw_alert_times(struct jw *w, const struct record *r)
{
	const struct rec_alert *a = &r->u.alert;

	jw_lit(w, ",\"since\":");
	jw_time(w, a->since_ms);
	if (a->state == ALERT_CLEARED) {
		jw_lit(w, ",\"until\":");
		jw_time(w, enc_alert_until_ms(a, r->ts_ms));
		jw_field_i64(w, "duration_s", enc_alert_duration_s(a, r->ts_ms));
		jw_lit(w, ",\"reason\":");
		jw_opt_str(w, clear_reason_name(a->reason));
	}
	if (enc_alert_has_note(a)) {
		jw_lit(w, ",\"note\":");
		jw_name(w, a->note, sizeof(a->note));
	}
}

int payload_alert(char *buf, size_t cap, const char *gateway, const struct record *r)
{
	const struct rec_alert *a = &r->u.alert;
	struct jw w = jw_start(buf, cap);
	struct enc_evidence ev;

	if (r->type != REC_ALERT || a->n_params > REC_MAX_VALUES)
		return -EINVAL;
	enc_evidence(a, &ev);
	jw_lit(&w, "{\"id\":");
	jw_alert_id(&w, gateway, r);
	jw_lit(&w, ",\"seq\":");
	jw_u64(&w, r->seq);
	jw_lit(&w, ",\"ts\":");
	jw_time(&w, r->ts_ms);
	jw_lit(&w, ",\"state\":");
	jw_str(&w, alert_state_name(a->state));
	jw_lit(&w, ",\"kind\":");
	jw_str(&w, alert_kind_name(a->kind));
	jw_lit(&w, ",\"outlet\":");
	jw_name(&w, a->outlet, sizeof(a->outlet));
	jw_lit(&w, ",\"permit\":");
	jw_name(&w, a->permit, sizeof(a->permit));
	jw_lit(&w, ",\"holder\":");
	jw_name(&w, a->holder, sizeof(a->holder));
	jw_alert_evidence(&w, a, &ev);
	jw_alert_own(&w, a, &ev);
	jw_alert_times(&w, r);
	jw_lit(&w, ",\"sensor\":");
	jw_name(&w, a->sensor, sizeof(a->sensor));
	jw_lit(&w, ",\"sensor_health\":");
	jw_str(&w, quality_name(a->sensor_health));
	jw_lit(&w, a->unhealthy ? ",\"sensor_unhealthy\":true}" : ",\"sensor_unhealthy\":false}");
	return jw_end(&w);
}

static void jw_agg_param(struct jw *w, const struct rec_agg_param *p)
{
	jw_str(w, param_name(p->param));
	jw_lit(w, ":{\"avg\":");
	jw_num(w, p->avg);
	jw_lit(w, ",\"min\":");
	jw_num(w, p->min);
	jw_lit(w, ",\"max\":");
	jw_num(w, p->max);
	jw_lit(w, ",\"cou\":");
	jw_num(w, p->cou);
	jw_lit(w, ",\"count\":");
	jw_u64(w, p->count);
	jw_lit(w, ",\"unit\":");
	jw_str(w, param_unit(p->param));
	jw_lit(w, "}");
}

int payload_aggregate(char *buf, size_t cap, const struct record *r)
{
	const struct rec_aggregate *a = &r->u.aggregate;
	struct jw w = jw_start(buf, cap);

	if (r->type != REC_AGGREGATE || a->n > REC_MAX_VALUES || a->period >= AGG_COUNT)
		return -EINVAL;
	jw_lit(&w, "{\"ts\":");
	jw_time(&w, r->ts_ms);
	jw_lit(&w, ",\"end\":");
	jw_time(&w, a->end_ms);
	jw_lit(&w, ",\"seq\":");
	jw_u64(&w, r->seq);
	jw_lit(&w, ",\"outlet\":");
	jw_name(&w, a->outlet, sizeof(a->outlet));
	jw_lit(&w, ",\"period\":");
	jw_str(&w, agg_period_name(a->period));
	jw_lit(&w, ",\"values\":{");
	for (int i = 0; i < a->n; i++) {
		if (i)
			jw_lit(&w, ",");
		jw_agg_param(&w, &a->params[i]);
	}
	jw_lit(&w, "}}");
	return jw_end(&w);
}

static void jw_sink_metrics(struct jw *w, const struct rec_sink_metrics *m)
{
	jw_strn(w, m->name, sizeof(m->name));
	jw_lit(w, ":{\"queue_depth\":");
	jw_u64(w, m->queue_depth);
	jw_lit(w, ",\"oldest_unsent_s\":");
	jw_i64(w, m->oldest_unsent_s);
	jw_field_u64(w, "sent", m->sent);
	jw_field_u64(w, "retried", m->retried);
	jw_field_u64(w, "dropped", m->dropped);
	jw_field_u64(w, "quarantined", m->quarantined);
	jw_lit(w, "}");
}

int payload_metrics(char *buf, size_t cap, const struct record *r)
{
	const struct rec_metrics *m = &r->u.metrics;
	struct jw w = jw_start(buf, cap);

	if (r->type != REC_METRICS || m->n_sinks > REC_MAX_SINKS)
		return -EINVAL;
	jw_lit(&w, "{\"ts\":");
	jw_time(&w, r->ts_ms);
	jw_field_u64(&w, "seq", r->seq);
	jw_field_u64(&w, "polls", m->polls);
	jw_field_u64(&w, "errors", m->errors);
	jw_field_u64(&w, "timeouts", m->timeouts);
	jw_field_u64(&w, "crc_errors", m->crc_errors);
	jw_field_u64(&w, "exceptions", m->exceptions);
	jw_field_u64(&w, "outbox_corrupt", m->outbox_corrupt);
	jw_field_u64(&w, "outbox_io_errors", m->outbox_io_errors);
	jw_field_u64(&w, "late", m->late);
	jw_lit(&w, ",\"sinks\":{");
	for (int i = 0; i < m->n_sinks; i++) {
		if (i)
			jw_lit(&w, ",");
		jw_sink_metrics(&w, &m->sinks[i]);
	}
	jw_lit(&w, "}}");
	return jw_end(&w);
}

/* ---- maintenance events ------------------------------------------------ */

int payload_maint(char *buf, size_t cap, const struct record *r)
{
	const struct rec_maint *m = &r->u.maint;
	struct jw w = jw_start(buf, cap);

	if (r->type != REC_MAINT || m->event >= MEV_COUNT || m->mode >= MM_COUNT ||
	    m->ended_by >= MEND_COUNT)
		return -EINVAL;
	jw_lit(&w, "{\"ts\":");
	jw_time(&w, r->ts_ms);
	jw_lit(&w, ",\"seq\":");
	jw_u64(&w, r->seq);
	jw_lit(&w, ",\"event\":");
	jw_str(&w, maint_event_name(m->event));
	jw_lit(&w, ",\"mode\":");
	jw_str(&w, maint_mode_name(m->mode));
	jw_lit(&w, m->mode == MM_CALIBRATION ? ",\"flag\":\"C\"" : ",\"flag\":\"M\"");
	jw_lit(&w, ",\"outlet\":");
	jw_name(&w, m->outlet, sizeof(m->outlet));
	jw_lit(&w, ",\"sensor\":");
	jw_strn(&w, m->sensor, sizeof(m->sensor));
	jw_lit(&w, ",\"since\":");
	jw_time(&w, m->since_ms);
	jw_lit(&w, ",\"planned_end\":");
	jw_time(&w, m->planned_end_ms);
	if (m->event == MEV_END) {
		jw_lit(&w, ",\"until\":");
		jw_time(&w, m->until_ms ? m->until_ms : r->ts_ms);
		jw_lit(&w, ",\"ended_by\":");
		if (maint_end_name(m->ended_by))
			jw_str(&w, maint_end_name(m->ended_by));
		else
			jw_lit(&w, "null");
	}
	jw_lit(&w, ",\"reason\":");
	jw_name(&w, m->note, sizeof(m->note));
	jw_lit(&w, "}");
	return jw_end(&w);
}

/* ---- reload events ------------------------------------------------------ */

int payload_reload(char *buf, size_t cap, const struct record *r)
{
	const struct rec_reload *l = &r->u.reload;
	struct jw w = jw_start(buf, cap);

	if (r->type != REC_RELOAD || l->outcome >= RLD_COUNT)
		return -EINVAL;
	jw_lit(&w, "{\"ts\":");
	jw_time(&w, r->ts_ms);
	jw_field_u64(&w, "seq", r->seq);
	jw_lit(&w, ",\"outcome\":");
	jw_str(&w, reload_outcome_name(l->outcome));
	jw_field_u64(&w, "changes", l->changes);
	jw_lit(&w, ",\"summary\":");
	jw_strn(&w, l->summary, sizeof(l->summary));
	jw_lit(&w, "}");
	return jw_end(&w);
}

int payload_record(char *buf, size_t cap, const char *gateway, const struct record *r)
{
	switch (r->type) {
	case REC_POLL:
		return payload_telemetry(buf, cap, r);
	case REC_ALERT:
		return payload_alert(buf, cap, gateway, r);
	case REC_AGGREGATE:
		return payload_aggregate(buf, cap, r);
	case REC_METRICS:
		return payload_metrics(buf, cap, r);
	case REC_MAINT:
		return payload_maint(buf, cap, r);
	case REC_RELOAD:
		return payload_reload(buf, cap, r);
	default:
		return -EINVAL;
	}
}

int payload_status(char *buf, size_t cap, const char *state, const char *version,
		   int64_t started_ms)
{
	struct jw w = jw_start(buf, cap);

	jw_lit(&w, "{\"state\":");
	jw_str(&w, state ? state : "");
	jw_lit(&w, ",\"version\":");
	jw_str(&w, version ? version : "");
	jw_lit(&w, ",\"started\":");
	jw_time(&w, started_ms);
	jw_lit(&w, "}");
	return jw_end(&w);
}

/* One topic level: a name that cannot split the topic or act as a wildcard. */
static void jw_topic_level(struct jw *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char level[REC_NAME];

	if (n == 0) {
		jw_lit(w, "unassigned");
		return;
	}
	if (n > sizeof(level))
		n = sizeof(level);
	for (size_t i = 0; i < n; i++)
		level[i] = s[i] == '/' || s[i] == '+' || s[i] == '#' ? '_' : s[i];
	jw_raw(w, level, n);
}

int payload_topic(char *buf, size_t cap, const char *root, const struct record *r)
{
	struct jw w = jw_start(buf, cap);

	/* checked first so that buf is left alone */
	if (r->type > REC_RELOAD ||
	    (r->type == REC_AGGREGATE && r->u.aggregate.period >= AGG_COUNT))
		return -EINVAL;
	jw_lit(&w, root ? root : "");
	switch (r->type) {
	case REC_POLL:
		jw_lit(&w, "/telemetry/");
		jw_topic_level(&w, r->u.poll.outlet, sizeof(r->u.poll.outlet));
		break;
	case REC_ALERT:
		jw_lit(&w, "/alerts/");
		jw_topic_level(&w, r->u.alert.outlet, sizeof(r->u.alert.outlet));
		break;
	case REC_MAINT:
		jw_lit(&w, "/maintenance/");
		jw_topic_level(&w, r->u.maint.outlet, sizeof(r->u.maint.outlet));
		break;
	case REC_RELOAD:
		jw_lit(&w, "/reload");
		break;
	case REC_AGGREGATE:
		jw_lit(&w, "/aggregate/");
		jw_topic_level(&w, r->u.aggregate.outlet, sizeof(r->u.aggregate.outlet));
		jw_lit(&w, "/");
		jw_lit(&w, agg_period_name(r->u.aggregate.period));
		break;
	default:
		jw_lit(&w, "/metrics");
		break;
	}
	return jw_end(&w);
}

int payload_topic_active(char *buf, size_t cap, const char *root, const char *outlet)
{
	struct jw w = jw_start(buf, cap);

	jw_lit(&w, root ? root : "");
	jw_lit(&w, "/alerts/");
	jw_topic_level(&w, outlet ? outlet : "", REC_NAME);
	jw_lit(&w, "/active");
	return jw_end(&w);
}
