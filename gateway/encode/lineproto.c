/*
 * lineproto.c - InfluxDB line protocol encoder (see lineproto.h).
 *
 * Writes straight into the caller's fixed buffer, one character class check
 * per byte, no allocation: it runs once per reading on the way to InfluxDB.
 * Record strings are read with strnlen() bounded by their field size so a
 * corrupt record replayed from disk cannot run past its array.
 */
#include "lineproto.h"

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

/* Where a string lands decides which characters must be escaped. */
enum lp_ctx {
	LP_MEASUREMENT, /* comma, space */
	LP_TAG,         /* tag key, tag value: comma, '=', space */
	LP_FIELD_KEY,   /* comma, '=', space */
	LP_STRING,      /* string field value: '"', '\\' */
};

/*
 * Basis names as the permits file spells them. Kept here rather than taken
 * from config_basis_name() so this pure encoder links without the config
 * parser (tests, tools). Must match config.c.
 */
static const char *lp_basis_name(int b)
{
	static const char *const names[] = {
		[BASIS_INSTANT] = "instant",
		[BASIS_ROLLING] = "rolling",
		[BASIS_HOURLY_MEAN] = "hourly_mean",
		[BASIS_DAILY_MEAN] = "daily_mean",
	};
	return b >= 0 && b < (int)(sizeof(names) / sizeof(names[0])) ? names[b] : "?";
}

/* Line protocol has no escape for control characters; they become spaces. */
static char lp_clean(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0x20 || u == 0x7f ? ' ' : c;
}

static bool lp_special(char c, enum lp_ctx ctx)
{
	switch (ctx) {
	case LP_MEASUREMENT:
		return c == ',' || c == ' ';
	case LP_TAG:
	case LP_FIELD_KEY:
		return c == ',' || c == '=' || c == ' ';
	default:
		return c == '"' || c == '\\';
	}
}

/* Appends n bytes, always leaving room for and writing the NUL. */
static void lp_put(struct lp_point *p, const char *s, size_t n)
{
	struct lp_buf *b = p->buf;

	if (p->err)
		return;
	if (!b->data || b->len >= b->cap || n >= b->cap - b->len) {
		p->err = -ENOSPC;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void lp_putc(struct lp_point *p, char c)
{
	lp_put(p, &c, 1);
}

/*
 * Backslashes in names, as InfluxDB 1.x/2.x parse them (checked against
 * influxd 1.6): in tags a character counts as escaped when the byte before
 * it is a backslash (no pairing), so a backslash stays literal and
 * round-trips - except at the end, where it would escape the separator we
 * write next. Trailing backslashes cannot be encoded in any name and are
 * dropped, as Telegraf does. Returns the length to encode.
 */
static size_t lp_name_len(const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == '\\')
		n--;
	return n;
}

/*
 * Field keys are scanned pairwise (a backslash escapes whatever follows),
 * and measurements unescape a backslash before a comma, space or '='. In
 * both, a run of backslashes just before one of those cannot survive, so
 * the run is dropped; elsewhere it is literal. Returns the index after the
 * run starting at i if it is to be dropped, else i.
 */
static size_t lp_drop_backslashes(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && s[j] == '\\')
		j++;
	return j < n && lp_special(lp_clean(s[j]), LP_TAG) ? j : i;
}

/* True for a byte that is copied as it is in context ctx. */
static bool lp_plain(char c, enum lp_ctx ctx)
{
	return c != '\\' && lp_clean(c) == c && !lp_special(c, ctx);
}

static void lp_put_escaped(struct lp_point *p, const char *s, size_t n, enum lp_ctx ctx)
{
	for (size_t i = 0; i < n && !p->err; i++) {
		size_t run = i;
		char c;

		while (run < n && lp_plain(s[run], ctx))
			run++;
		if (run > i) { /* names are mostly plain: copy them in one piece */
			lp_put(p, s + i, run - i);
			i = run - 1;
			continue;
		}
		if ((ctx == LP_FIELD_KEY || ctx == LP_MEASUREMENT) && s[i] == '\\')
			i = lp_drop_backslashes(s, i, n);
		c = lp_clean(s[i]);
		if (lp_special(c, ctx))
			lp_putc(p, '\\');
		lp_putc(p, c);
	}
}

static void lp_put_name(struct lp_point *p, const char *s, size_t n, enum lp_ctx ctx)
{
	n = lp_name_len(s, n);
	if (n == 0 && !p->err)
		p->err = -EINVAL;
	lp_put_escaped(p, s, n, ctx);
}

void lp_begin(struct lp_point *p, struct lp_buf *buf, const char *measurement)
{
	p->buf = buf;
	p->start = buf->len;
	p->err = 0;
	p->n_fields = 0;
	if (!measurement) {
		p->err = -EINVAL;
		return;
	}
	lp_put_name(p, measurement, strlen(measurement), LP_MEASUREMENT);
}

static void lp_tag_n(struct lp_point *p, const char *key, const char *value, size_t n)
{
	if (p->err)
		return;
	if (p->n_fields || !key) {
		p->err = -EINVAL;
		return;
	}
	n = lp_name_len(value, n);
	if (n == 0)
		return;
	lp_putc(p, ',');
	lp_put_name(p, key, strlen(key), LP_TAG);
	lp_putc(p, '=');
	lp_put_escaped(p, value, n, LP_TAG);
}

void lp_tag(struct lp_point *p, const char *key, const char *value)
{
	lp_tag_n(p, key, value, value ? strlen(value) : 0);
}

/* Writes the separator and "key=" of the next field. */
static void lp_field_key(struct lp_point *p, const char *key)
{
	if (p->err)
		return;
	if (!key) {
		p->err = -EINVAL;
		return;
	}
	lp_putc(p, p->n_fields ? ',' : ' ');
	lp_put_name(p, key, strlen(key), LP_FIELD_KEY);
	lp_putc(p, '=');
	p->n_fields++;
}

/* Formats into tmp and appends; snprintf truncation is an encoder bug. */
static void lp_put_num(struct lp_point *p, const char *tmp, int n, size_t cap)
{
	if (p->err)
		return;
	if (n < 0 || (size_t)n >= cap) {
		p->err = -EINVAL;
		return;
	}
	lp_put(p, tmp, (size_t)n);
}

/* At the precision rv_flags give (base/numfmt.h): never a decimal comma. */
void lp_field_value(struct lp_point *p, const char *key, double v, unsigned rv_flags)
{
	char tmp[NUMFMT_MAX];

	if (p->err || !isfinite(v))
		return;
	lp_field_key(p, key);
	lp_put(p, tmp, numfmt_value(tmp, v, rv_flags));
}

void lp_field_float(struct lp_point *p, const char *key, double v)
{
	lp_field_value(p, key, v, 0);
}

void lp_field_bool(struct lp_point *p, const char *key, bool v)
{
	lp_field_key(p, key);
	lp_put(p, v ? "true" : "false", v ? 4 : 5);
}

void lp_field_int(struct lp_point *p, const char *key, int64_t v)
{
	char tmp[32];

	lp_field_key(p, key);
	lp_put_num(p, tmp, snprintf(tmp, sizeof(tmp), "%" PRId64 "i", v), sizeof(tmp));
}

static void lp_field_str_n(struct lp_point *p, const char *key, const char *v, size_t n)
{
	lp_field_key(p, key);
	lp_putc(p, '"');
	lp_put_escaped(p, v, n, LP_STRING);
	lp_putc(p, '"');
}

void lp_field_str(struct lp_point *p, const char *key, const char *v)
{
	lp_field_str_n(p, key, v ? v : "", v ? strlen(v) : 0);
}

int lp_end(struct lp_point *p, int64_t ts_ms)
{
	char tmp[32];

	if (!p->err && p->n_fields == 0)
		p->err = -EINVAL;
	lp_put_num(p, tmp, snprintf(tmp, sizeof(tmp), " %" PRId64 "\n", ts_ms), sizeof(tmp));
	if (p->err) {
		p->buf->len = p->start;
		if (p->buf->data && p->buf->cap > p->start)
			p->buf->data[p->start] = '\0';
	}
	return p->err;
}

#define LP_TAG_FIELD(p, key, arr) lp_tag_n(p, key, arr, strnlen(arr, sizeof(arr)))

static int lp_reading(struct lp_buf *buf, const char *gateway, const struct record *r,
		      const struct rec_value *v)
{
	struct lp_point p;

	lp_begin(&p, buf, "outfall_reading");
	lp_tag(&p, "gateway", gateway);
	LP_TAG_FIELD(&p, "outlet", r->u.poll.outlet);
	LP_TAG_FIELD(&p, "sensor", r->u.poll.sensor);
	lp_tag(&p, "parameter", param_name(v->param));
	/* Other qualities carry no usable value: leaving value= out keeps the
	 * gap visible in InfluxDB while q and seq say why. */
	if (v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE)
		lp_field_value(&p, "value", v->v, v->flags);
	lp_field_str(&p, "q", quality_name(v->quality));
	if (v->flags & RV_IMPLAUSIBLE)
		lp_field_str(&p, "cause", "implausible");
	if (v->flags & (RV_MAINTENANCE | RV_CALIBRATION))
		lp_field_str(&p, "flag", v->flags & RV_CALIBRATION ? "C" : "M");
	lp_field_int(&p, "seq", (int64_t)r->seq);
	if (r->flags & REC_F_CLOCK_UNSYNCED)
		lp_field_str(&p, "clock", "unsynced");
	return lp_end(&p, r->ts_ms);
}

/* A wall-clock time as an RFC 3339 string field (as in the MQTT event). */
static void lp_field_time(struct lp_point *p, const char *key, int64_t wall_ms)
{
	char ts[CLOCK_RFC3339_LEN + 8];

	clock_rfc3339(wall_ms, ts, sizeof(ts));
	if (ts[0])
		lp_field_str(p, key, ts);
}

/* The parameters a sensor_fault affects, comma-separated: line protocol
 * has no lists. */
static void lp_field_params(struct lp_point *p, const struct rec_alert *a)
{
	char list[REC_MAX_VALUES * 16];
	size_t len = 0;

	for (int i = 0; i < a->n_params && i < REC_MAX_VALUES; i++) {
		const char *name = param_name(a->params[i]);
		size_t n = strlen(name);

		if (len + n + 2 > sizeof(list))
			break; /* cannot happen: names are shorter than 15 bytes */
		if (i)
			list[len++] = ',';
		memcpy(list + len, name, n);
		len += n;
	}
	lp_field_str_n(p, "parameters", list, len);
}

/* The fields of the kinds that are not about a limit (DESIGN §5). */
static void lp_alert_own(struct lp_point *p, const struct rec_alert *a,
			 const struct enc_evidence *ev)
{
	if (ev->fault) {
		if (fault_cause_name(a->cause))
			lp_field_str(p, "cause", fault_cause_name(a->cause));
		lp_field_params(p, a);
		lp_field_int(p, "polls_missed", a->polls_missed);
		if (a->last_answer_ms)
			lp_field_time(p, "last_answer", a->last_answer_ms);
	}
	if (ev->gap) {
		lp_field_int(p, "gap_s", a->gap_s);
		lp_field_float(p, "coverage", enc_alert_coverage(a));
		if (enc_alert_records_lost(a) >= 0)
			lp_field_int(p, "records_lost", enc_alert_records_lost(a));
	}
	if (ev->expiry)
		lp_field_int(p, "days_left", a->days_left);
}

/*
 * outfall_alert: the fields of the MQTT event (payload.h) that have a
 * value, as line protocol has no null. The rule tag is the basis of a
 * permit limit, or a sensor_fault's cause; sensor is a tag so that two
 * sensors of one outlet failing in the same second stay two points.
 */
static int lp_alert(struct lp_buf *buf, const char *gateway, const struct record *r)
{
	const struct rec_alert *a = &r->u.alert;
	struct enc_evidence ev;
	struct lp_point p;

	enc_evidence(a, &ev);
	lp_begin(&p, buf, "outfall_alert");
	lp_tag(&p, "gateway", gateway);
	LP_TAG_FIELD(&p, "outlet", a->outlet);
	if (ev.param)
		lp_tag(&p, "parameter", param_name(a->param));
	lp_tag(&p, "kind", alert_kind_name(a->kind));
	if (ev.permit)
		lp_tag(&p, "rule", lp_basis_name(a->basis));
	else if (ev.fault)
		lp_tag(&p, "rule", fault_cause_name(a->cause));
	LP_TAG_FIELD(&p, "sensor", a->sensor);
	lp_field_str(&p, "state", alert_state_name(a->state));
	if (ev.value)
		lp_field_value(&p, "value", a->value, a->value_flags);
	if (ev.limit)
		lp_field_float(&p, "limit", a->limit);
	if (ev.value)
		lp_field_value(&p, "peak", a->peak, a->value_flags);
	if (ev.permit)
		lp_field_float(&p, "ratio", enc_alert_ratio(a));
	lp_alert_own(&p, a, &ev);
	lp_field_str_n(&p, "permit", a->permit, strnlen(a->permit, sizeof(a->permit)));
	lp_field_str_n(&p, "holder", a->holder, strnlen(a->holder, sizeof(a->holder)));
	lp_field_time(&p, "since", a->since_ms);
	if (a->state == ALERT_CLEARED) {
		lp_field_time(&p, "until", enc_alert_until_ms(a, r->ts_ms));
		lp_field_int(&p, "duration_s", enc_alert_duration_s(a, r->ts_ms));
		if (clear_reason_name(a->reason))
			lp_field_str(&p, "reason", clear_reason_name(a->reason));
	}
	if (enc_alert_has_note(a))
		lp_field_str_n(&p, "note", a->note, strnlen(a->note, sizeof(a->note)));
	lp_field_str(&p, "sensor_health", quality_name(a->sensor_health));
	lp_field_bool(&p, "sensor_unhealthy", a->unhealthy != 0);
	lp_field_str_n(&p, "id", a->id, strnlen(a->id, sizeof(a->id)));
	lp_field_int(&p, "seq", (int64_t)r->seq);
	return lp_end(&p, r->ts_ms);
}

/* InfluxDB integers are signed 64-bit; a counter past that is pinned
 * rather than wrapped into a negative number. */
static int64_t lp_u64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int lp_gateway(struct lp_buf *buf, const char *gateway, const struct record *r)
{
	const struct rec_metrics *m = &r->u.metrics;
	struct lp_point p;

	lp_begin(&p, buf, "outfall_gateway");
	lp_tag(&p, "gateway", gateway);
	lp_field_int(&p, "polls", lp_u64(m->polls));
	lp_field_int(&p, "errors", lp_u64(m->errors));
	lp_field_int(&p, "timeouts", lp_u64(m->timeouts));
	lp_field_int(&p, "crc_errors", lp_u64(m->crc_errors));
	lp_field_int(&p, "exceptions", lp_u64(m->exceptions));
	lp_field_int(&p, "outbox_corrupt", lp_u64(m->outbox_corrupt));
	lp_field_int(&p, "outbox_io_errors", lp_u64(m->outbox_io_errors));
	lp_field_int(&p, "late", lp_u64(m->late));
	return lp_end(&p, r->ts_ms);
}

/* A sink whose name cannot be a tag (empty, e.g. from a damaged record) is
 * named by its index, so that its line cannot pass for the gateway's. */
static int lp_sink(struct lp_buf *buf, const char *gateway, const struct record *r, int i)
{
	const struct rec_sink_metrics *k = &r->u.metrics.sinks[i];
	char idx[4] = { (char)('0' + i), '\0' };
	size_t n = strnlen(k->name, sizeof(k->name));
	struct lp_point p;

	lp_begin(&p, buf, "outfall_gateway");
	lp_tag(&p, "gateway", gateway);
	if (lp_name_len(k->name, n) > 0)
		lp_tag_n(&p, "sink", k->name, n);
	else
		lp_tag(&p, "sink", idx);
	lp_field_int(&p, "queue_depth", lp_u64(k->queue_depth));
	lp_field_int(&p, "oldest_unsent_s", k->oldest_unsent_s);
	lp_field_int(&p, "sent", lp_u64(k->sent));
	lp_field_int(&p, "retried", lp_u64(k->retried));
	lp_field_int(&p, "dropped", lp_u64(k->dropped));
	lp_field_int(&p, "quarantined", lp_u64(k->quarantined));
	return lp_end(&p, r->ts_ms);
}

/* One parameter of a period; its timestamp is the period start. A NaN
 * statistic (no good reading, no volume) is left out; count always stays. */
static int lp_aggregate(struct lp_buf *buf, const char *gateway, const struct record *r,
			const struct rec_agg_param *ap)
{
	const struct rec_aggregate *a = &r->u.aggregate;
	struct lp_point p;

	lp_begin(&p, buf, "outfall_aggregate");
	lp_tag(&p, "gateway", gateway);
	LP_TAG_FIELD(&p, "outlet", a->outlet);
	lp_tag(&p, "parameter", param_name(ap->param));
	lp_tag(&p, "period", agg_period_name(a->period));
	lp_field_float(&p, "avg", ap->avg);
	lp_field_float(&p, "min", ap->min);
	lp_field_float(&p, "max", ap->max);
	lp_field_float(&p, "cou", ap->cou);
	lp_field_int(&p, "count", ap->count);
	return lp_end(&p, r->ts_ms);
}

/* A maintenance event: outfall_maintenance,gateway,outlet,sensor,event,mode
 * flag="M"|"C",reason,since,planned_end[,until,ended_by],seq. */
static int lp_maint(struct lp_buf *buf, const char *gateway, const struct record *r)
{
	const struct rec_maint *m = &r->u.maint;
	struct lp_point p;

	lp_begin(&p, buf, "outfall_maintenance");
	lp_tag(&p, "gateway", gateway);
	LP_TAG_FIELD(&p, "outlet", m->outlet);
	LP_TAG_FIELD(&p, "sensor", m->sensor);
	lp_tag(&p, "event", maint_event_name(m->event));
	lp_tag(&p, "mode", maint_mode_name(m->mode));
	lp_field_str(&p, "flag", m->mode == MM_CALIBRATION ? "C" : "M");
	lp_field_str_n(&p, "reason", m->note, strnlen(m->note, sizeof(m->note)));
	lp_field_int(&p, "since", m->since_ms);
	lp_field_int(&p, "planned_end", m->planned_end_ms);
	if (m->event == MEV_END) {
		lp_field_int(&p, "until", m->until_ms ? m->until_ms : r->ts_ms);
		if (maint_end_name(m->ended_by))
			lp_field_str(&p, "ended_by", maint_end_name(m->ended_by));
	}
	lp_field_int(&p, "seq", (int64_t)r->seq);
	return lp_end(&p, r->ts_ms);
}

/* A reload event: outfall_reload,gateway,outcome changes,summary,seq. */
static int lp_reload(struct lp_buf *buf, const char *gateway, const struct record *r)
{
	const struct rec_reload *l = &r->u.reload;
	struct lp_point p;

	lp_begin(&p, buf, "outfall_reload");
	lp_tag(&p, "gateway", gateway);
	lp_tag(&p, "outcome", reload_outcome_name(l->outcome));
	lp_field_int(&p, "changes", l->changes);
	lp_field_str_n(&p, "summary", l->summary, strnlen(l->summary, sizeof(l->summary)));
	lp_field_int(&p, "seq", (int64_t)r->seq);
	return lp_end(&p, r->ts_ms);
}

/* One limit of an outlet's permit (or its daily volume cap, param NULL). */
static int lp_limit(struct lp_buf *buf, const char *gateway, const struct cfg_outlet *o,
		    const struct cfg_permit *pm, const struct cfg_limit *l, int64_t ts_ms)
{
	struct lp_point p;

	lp_begin(&p, buf, "outfall_limit");
	lp_tag(&p, "gateway", gateway);
	lp_tag(&p, "outlet", o->id);
	lp_tag(&p, "parameter", l ? param_name(l->param) : "volume");
	lp_tag(&p, "basis", l ? lp_basis_name(l->basis) : "daily");
	lp_tag(&p, "permit", pm->number);
	if (!l) {
		lp_field_float(&p, "max", pm->daily_volume_max_m3);
		return lp_end(&p, ts_ms);
	}
	if (l->has_min)
		lp_field_float(&p, "min", l->min);
	if (l->has_max)
		lp_field_float(&p, "max", l->max);
	if (l->basis == BASIS_ROLLING)
		lp_field_int(&p, "window_min", l->window_min);
	return lp_end(&p, ts_ms);
}

/* The lines of one outlet's permit; a limit with neither side (which the
 * config refuses) has nothing to draw and is left out. */
static int lp_outlet_limits(struct lp_buf *buf, const char *gateway, const struct config *cfg,
			    const struct cfg_outlet *o, int64_t ts_ms)
{
	const struct cfg_permit *pm;
	int lines = 0, err = 0;

	if (o->permit < 0 || (size_t)o->permit >= cfg->n_permits)
		return 0;
	pm = &cfg->permits[o->permit];
	for (size_t i = 0; i < pm->n_limits && !err; i++) {
		const struct cfg_limit *l = &pm->limits[i];

		if (!l->has_min && !l->has_max)
			continue;
		err = lp_limit(buf, gateway, o, pm, l, ts_ms);
		lines++;
	}
	if (!err && pm->has_daily_volume) {
		err = lp_limit(buf, gateway, o, pm, NULL, ts_ms);
		lines++;
	}
	return err ? err : lines;
}

int lp_append_limits(struct lp_buf *buf, const char *gateway, const struct config *cfg,
		     int64_t ts_ms)
{
	size_t start = buf->len;
	int lines = 0;

	for (size_t i = 0; i < cfg->n_outlets; i++) {
		int n = lp_outlet_limits(buf, gateway, cfg, &cfg->outlets[i], ts_ms);

		if (n < 0) {
			buf->len = start;
			if (buf->data && buf->cap > start)
				buf->data[start] = '\0';
			return n;
		}
		lines += n;
	}
	return lines;
}

/* Lines a well-formed record gives, or -EINVAL for one that is not. */
static int lp_lines(const struct record *r)
{
	switch (r->type) {
	case REC_POLL:
		return r->u.poll.n <= REC_MAX_VALUES ? r->u.poll.n : -EINVAL;
	case REC_ALERT:
		return r->u.alert.n_params <= REC_MAX_VALUES ? 1 : -EINVAL;
	case REC_METRICS:
		return r->u.metrics.n_sinks <= REC_MAX_SINKS ? 1 + r->u.metrics.n_sinks : -EINVAL;
	case REC_AGGREGATE:
		return r->u.aggregate.n <= REC_MAX_VALUES && r->u.aggregate.period < AGG_COUNT ?
		       r->u.aggregate.n : -EINVAL;
	case REC_MAINT:
		return r->u.maint.event < MEV_COUNT && r->u.maint.mode < MM_COUNT &&
		       r->u.maint.ended_by < MEND_COUNT ? 1 : -EINVAL;
	case REC_RELOAD:
		return r->u.reload.outcome < RLD_COUNT ? 1 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* Line i of record r. */
static int lp_line(struct lp_buf *buf, const char *gateway, const struct record *r, int i)
{
	switch (r->type) {
	case REC_POLL:
		return lp_reading(buf, gateway, r, &r->u.poll.values[i]);
	case REC_ALERT:
		return lp_alert(buf, gateway, r);
	case REC_METRICS:
		return i == 0 ? lp_gateway(buf, gateway, r) : lp_sink(buf, gateway, r, i - 1);
	case REC_MAINT:
		return lp_maint(buf, gateway, r);
	case REC_RELOAD:
		return lp_reload(buf, gateway, r);
	default:
		return lp_aggregate(buf, gateway, r, &r->u.aggregate.params[i]);
	}
}

int lp_append_record(struct lp_buf *buf, const char *gateway, const struct record *r)
{
	size_t start = buf->len;
	int lines = lp_lines(r);
	int err = 0;

	for (int i = 0; i < lines && !err; i++)
		err = lp_line(buf, gateway, r, i);
	if (err) {
		buf->len = start;
		if (buf->data && buf->cap > start)
			buf->data[start] = '\0';
		return err;
	}
	return lines;
}
