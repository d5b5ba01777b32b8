/*
 * uplink_msg.c - outbox records into HJ 212 messages (uplink.h says what
 * goes out): the 2011 snapshot of the outlet's latest readings, the
 * minute-data window that sums min_interval_min minute aggregates into one
 * 2051, 2061 and 2031 from the hour and day aggregates, the data flag of a
 * period from the readings seen in it, and 2081.
 *
 * What may be acked. A record is covered once every message built from it
 * is delivered. Readings wait in the snapshot and minutes in the window
 * until their message is built, so each keeps the seq before its first
 * record (hold_seq); a message completes the outbox only up to the lowest
 * hold still open, and after a rewind those records are read again.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "outbox/outbox.h"

/* ---- data flags ----------------------------------------------------------- */

/* How bad a flag is, for "one abnormal reading flags the period": an
 * operator mode explains the rest, then a dead link, a fault, above range. */
int uplink_flag_rank(char f)
{
	switch (f) {
	case 'T':
		return 1;
	case 'D':
		return 2;
	case 'B':
		return 3;
	case 'C':
		return 4;
	case 'M':
		return 5;
	default:
		return 0;
	}
}

static int64_t floor_ms(int64_t t, int64_t unit)
{
	int64_t r = t % unit;

	return r < 0 ? t - r - unit : t - r;
}

int64_t uplink_period_start(int period, int64_t t)
{
	int64_t off = (int64_t)uplink_utc_off_min(t) * 60000;

	switch (period) {
	case AGG_MINUTE:
		return floor_ms(t + off, 60000) - off;
	case AGG_HOUR:
		return floor_ms(t + off, 3600000) - off;
	default:
		return floor_ms(t + off, 86400000) - off;
	}
}

char uplink_value_flag(const struct uplink *u, const struct rec_value *rv)
{
	bool above = rv->param < P_COUNT && isfinite(u->range_max[rv->param]) &&
		     rv->v > u->range_max[rv->param];

	return hj212_data_flag(rv, above);
}

/* The worst flag of each parameter in the periods that hold a reading at ts. */
static void track_flags(struct uplink *u, int64_t ts, const struct rec_poll *p)
{
	for (int k = 0; k < AGG_COUNT; k++) {
		int64_t s = uplink_period_start(k, ts);

		if (s != u->pf.start[k][0] && s != u->pf.start[k][1]) {
			u->pf.start[k][1] = u->pf.start[k][0];
			memcpy(u->pf.f[k][1], u->pf.f[k][0], P_COUNT);
			u->pf.start[k][0] = s;
			memset(u->pf.f[k][0], 0, P_COUNT);
		}
		int slot = s == u->pf.start[k][0] ? 0 : 1;

		for (int i = 0; i < p->n && i < REC_MAX_VALUES; i++) {
			const struct rec_value *rv = &p->values[i];
			char f = uplink_value_flag(u, rv);

			if (rv->param >= P_COUNT)
				continue;
			if (uplink_flag_rank(f) > uplink_flag_rank(u->pf.f[k][slot][rv->param]))
				u->pf.f[k][slot][rv->param] = f;
		}
	}
}

/* The -Flag of a period parameter: the worst reading seen, else N with
 * good readings, D without. */
static char period_flag(const struct uplink *u, int period, int64_t start,
			const struct rec_agg_param *ap)
{
	for (int slot = 0; slot < 2; slot++)
		if (u->pf.start[period][slot] == start && ap->param < P_COUNT &&
		    u->pf.f[period][slot][ap->param])
			return u->pf.f[period][slot][ap->param];
	return ap->count ? 'N' : 'D';
}

/* ---- building ------------------------------------------------------------- */

/* The highest telemetry seq every message before now covers: what the
 * snapshot and the window still hold is not. */
static uint64_t ack_point(const struct uplink *u)
{
	uint64_t a = u->last_seq;

	if (u->rtd.any_dirty && u->rtd.hold_seq < a)
		a = u->rtd.hold_seq;
	if (u->mw.open && u->mw.hold_seq < a)
		a = u->mw.hold_seq;
	return a;
}

static void once_not_sent(struct uplink *u, unsigned skipped)
{
	u->n.not_sent += skipped;
	if (skipped && !u->said_not_sent) {
		log_warn("hj212 %s: %u parameter%s of outlet %s ha%s no HJ 212 code and %s not "
			 "sent (give one in local_codes)", u->cfg.name, skipped,
			 skipped == 1 ? "" : "s", u->outlet, skipped == 1 ? "s" : "ve",
			 skipped == 1 ? "is" : "are");
		u->said_not_sent = true;
	}
}

static bool build(struct uplink *u, int cn, const char *data, int len)
{
	int rc = len < 0 ? len : uplink_build(u, &u->msg, cn, u->cfg.ack, data, (size_t)len);

	if (rc < 0) {
		uplink_error(u, LOG_ERR, "a %d record cannot be encoded (%s); skipped", cn,
			     strerror(-rc));
		return false;
	}
	u->msg.ack_seq = ack_point(u);
	return true;
}

/* 2011 for the instant the snapshot describes, then a clean snapshot. */
static bool rtd_emit(struct uplink *u)
{
	struct hj212_rtd v[P_COUNT];
	char data[HJ212_SEG_MAX * HJ_PARTS_MAX];
	size_t n = 0;
	unsigned skipped = 0;
	int64_t t = u->rtd.next_t_ms, age_ms = u->wall() - t;
	int len;

	for (int p = 0; p < P_COUNT; p++) {
		if (u->rtd.dirty[p])
			v[n++] = (struct hj212_rtd){ .param = (uint8_t)p, .flag = u->rtd.flag[p],
						     .v = u->rtd.v[p] };
		u->rtd.dirty[p] = false;
	}
	u->rtd.any_dirty = false;
	if (u->cfg.max_rtd_age_s && age_ms > (int64_t)u->cfg.max_rtd_age_s * 1000) {
		u->n.rtd_skipped++;
		return false;
	}
	u->fmt.utc_offset_min = uplink_utc_off_min(t);
	len = hj212_cp_rtd(data, sizeof(data), &u->fmt, t, v, n, &skipped);
	once_not_sent(u, skipped);
	return build(u, 2011, data, len);
}

static int64_t ceil_ms(int64_t t, int64_t unit)
{
	return -floor_ms(-t, unit);
}

/* A reading of the outlet: first the 2011 of the instant before it, if
 * due; then it joins the snapshot. True when a message was built. */
static bool on_poll(struct uplink *u, const struct record *r)
{
	const struct rec_poll *p = &r->u.poll;
	int64_t unit = (int64_t)u->cfg.rtd_interval_s * 1000;
	bool built = false;

	if (u->cfg.send & (HJS_MIN | HJS_HOUR | HJS_DAY))
		track_flags(u, r->ts_ms, p);
	if (!(u->cfg.send & HJS_RTD))
		return false;
	if (u->rtd.next_t_ms && r->ts_ms > u->rtd.next_t_ms && u->rtd.any_dirty)
		built = rtd_emit(u);
	if (!u->rtd.next_t_ms || r->ts_ms > u->rtd.next_t_ms)
		u->rtd.next_t_ms = ceil_ms(r->ts_ms, unit);
	for (int i = 0; i < p->n && i < REC_MAX_VALUES; i++) {
		const struct rec_value *rv = &p->values[i];
		bool has = rv->quality == Q_OK || rv->quality == Q_OUT_OF_RANGE;

		if (rv->param >= P_COUNT || rv->param == P_VOLUME_TOTAL)
			continue;
		if (!u->rtd.any_dirty)
			u->rtd.hold_seq = u->last_seq;
		u->rtd.any_dirty = true;
		u->rtd.dirty[rv->param] = true;
		u->rtd.v[rv->param] = has ? rv->v : NAN;
		u->rtd.flag[rv->param] = uplink_value_flag(u, rv);
	}
	return built;
}

/* A period record (2061, 2031, or a finished 2051 window). */
static bool period_emit(struct uplink *u, int cn, int64_t start, const struct rec_aggregate *a,
			const char *flags)
{
	char data[HJ212_SEG_MAX * HJ_PARTS_MAX];
	unsigned skipped = 0;
	int len;

	u->fmt.utc_offset_min = uplink_utc_off_min(start);
	len = hj212_cp_period(data, sizeof(data), &u->fmt, start, a, flags, &skipped);
	once_not_sent(u, skipped);
	return build(u, cn, data, len);
}

/* ---- the minute-data window ------------------------------------------------- */

static int mw_find(struct hj_minwin *w, int param)
{
	for (int i = 0; i < w->a.n; i++)
		if (w->a.params[i].param == param)
			return i;
	if (w->a.n >= REC_MAX_VALUES)
		return -1;
	w->a.params[w->a.n] = (struct rec_agg_param){ .param = (uint8_t)param, .min = NAN,
						      .max = NAN, .cou = NAN, .avg = NAN };
	w->flags[w->a.n] = 0;
	w->wsum[w->a.n] = w->w[w->a.n] = 0;
	return w->a.n++;
}

/* This minute's volume (m3), the weight of its concentrations; NaN none. */
static double minute_volume(const struct rec_aggregate *a)
{
	double vol = NAN;

	for (int i = 0; i < a->n; i++) {
		const struct rec_agg_param *ap = &a->params[i];

		if (ap->param == P_FLOW && isfinite(ap->cou))
			return ap->cou;
		if (ap->param == P_VOLUME_TOTAL && isfinite(ap->cou))
			vol = ap->cou;
	}
	return vol;
}

static double add_nan(double a, double b)
{
	return isnan(a) ? b : isnan(b) ? a : a + b;
}

void uplink_mw_begin(struct hj_minwin *w, const char *outlet, int64_t start_ms,
		     int64_t end_ms)
{
	memset(w, 0, sizeof(*w));
	w->open = true;
	w->start_ms = start_ms;
	w->end_ms = end_ms;
	snprintf(w->a.outlet, sizeof(w->a.outlet), "%s", outlet);
	w->a.period = AGG_MINUTE;
	w->a.end_ms = end_ms;
}

void uplink_mw_add(struct hj_minwin *w, const struct rec_aggregate *a, const char *flags)
{
	double vol = minute_volume(a);

	for (int i = 0; i < a->n && i < REC_MAX_VALUES; i++) {
		const struct rec_agg_param *ap = &a->params[i];
		int k = mw_find(w, ap->param);
		struct rec_agg_param *o;
		double wt;

		if (k < 0)
			continue;
		o = &w->a.params[k];
		if (!w->flags[k] || uplink_flag_rank(flags[i]) > uplink_flag_rank(w->flags[k]) ||
		    (w->flags[k] == 'D' && flags[i] == 'N'))
			w->flags[k] = flags[i];
		o->cou = add_nan(o->cou, ap->cou);
		if (!ap->count)
			continue;
		wt = strcmp(param_unit(ap->param), "mg/L") == 0 && isfinite(vol) && vol > 0 ? vol
		     : (double)ap->count;
		o->count += ap->count;
		o->min = isnan(o->min) || ap->min < o->min ? ap->min : o->min;
		o->max = isnan(o->max) || ap->max > o->max ? ap->max : o->max;
		w->wsum[k] += ap->avg * wt;
		w->w[k] += wt;
	}
}

void uplink_mw_finish(struct hj_minwin *w)
{
	for (int i = 0; i < w->a.n; i++) {
		w->a.params[i].avg = w->w[i] > 0 ? w->wsum[i] / w->w[i] : NAN;
		if (w->flags[i] == 'N' && !w->a.params[i].count)
			w->flags[i] = 'D';
	}
	w->open = false;
}

static bool mw_emit(struct uplink *u)
{
	uplink_mw_finish(&u->mw); /* before build: its hold no longer counts */
	return period_emit(u, 2051, u->mw.start_ms, &u->mw.a, u->mw.flags);
}

/* A minute aggregate: closes a window it is past (that message first; the
 * record is then looked at again), joins the window, closes it when it is
 * the window's last minute. */
static bool on_minute(struct uplink *u, const struct record *r, bool *again)
{
	int64_t span = (int64_t)u->cfg.min_interval_min * 60000;
	int64_t off = (int64_t)uplink_utc_off_min(r->ts_ms) * 60000;
	struct hj_minwin *w = &u->mw;
	char flags[REC_MAX_VALUES];

	if (w->open && r->ts_ms >= w->end_ms) {
		*again = true;
		return mw_emit(u);
	}
	if (!w->open) {
		int64_t start = floor_ms(r->ts_ms + off, span) - off;

		uplink_mw_begin(w, u->outlet, start, start + span);
		w->hold_seq = u->last_seq;
	}
	for (int i = 0; i < r->u.aggregate.n && i < REC_MAX_VALUES; i++)
		flags[i] = period_flag(u, AGG_MINUTE, r->ts_ms, &r->u.aggregate.params[i]);
	uplink_mw_add(w, &r->u.aggregate, flags);
	if (r->u.aggregate.end_ms < w->end_ms)
		return false;
	u->last_seq = r->seq; /* this minute is in the message */
	return mw_emit(u);
}

static bool on_aggregate(struct uplink *u, const struct record *r, bool *again)
{
	const struct rec_aggregate *a = &r->u.aggregate;
	char flags[REC_MAX_VALUES];
	unsigned bit = a->period == AGG_MINUTE ? HJS_MIN : a->period == AGG_HOUR ? HJS_HOUR
		       : HJS_DAY;

	if (!(u->cfg.send & bit) || a->period >= AGG_COUNT)
		return false;
	if (a->period == AGG_MINUTE)
		return on_minute(u, r, again);
	for (int i = 0; i < a->n && i < REC_MAX_VALUES; i++)
		flags[i] = period_flag(u, a->period, r->ts_ms, &a->params[i]);
	u->last_seq = r->seq;
	return period_emit(u, hj212_cn_for_period(a->period), r->ts_ms, a, flags);
}

/* One telemetry record; true when it built a message. */
static bool on_record(struct uplink *u, const struct record *r, bool *again)
{
	bool built = false;

	if (r->type == REC_POLL && strcmp(r->u.poll.outlet, u->outlet) == 0)
		built = on_poll(u, r);
	else if (r->type == REC_AGGREGATE && strcmp(r->u.aggregate.outlet, u->outlet) == 0)
		built = on_aggregate(u, r, again);
	if (!*again)
		u->last_seq = r->seq;
	return built;
}

bool uplink_next_msg(struct uplink *u)
{
	for (int i = 0; i < HJ_PASS_RECS; i++) {
		const struct record *r;
		bool again = false;

		if (u->has_stash) {
			r = &u->stash;
			u->has_stash = false;
		} else {
			r = outbox_next(u->ob, u->idx);
		}
		if (!r)
			break;
		if (rec_is_event(r->type)) { /* not HJ 212 messages: done */
			outbox_ack(u->ob, u->idx, r->seq);
			continue;
		}
		if (on_record(u, r, &again)) {
			if (again) {
				u->stash = *r;
				u->has_stash = true;
			}
			return true;
		}
		if (again) { /* nothing was built: look at it again now */
			u->stash = *r;
			u->has_stash = true;
		}
	}
	if (!u->has_stash && ack_point(u))
		outbox_ack(u->ob, u->idx, ack_point(u));
	return false;
}

bool uplink_msg_rtd_now(struct uplink *u, const struct record *polls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (polls[i].type == REC_POLL && strcmp(polls[i].u.poll.outlet, u->outlet) == 0)
			on_poll(u, &polls[i]);
	return u->rtd.any_dirty && rtd_emit(u);
}

void uplink_msg_reset(struct uplink *u)
{
	memset(&u->rtd, 0, sizeof(u->rtd));
	memset(&u->mw, 0, sizeof(u->mw));
	u->has_stash = false;
	u->last_seq = 0;
	/* u->pf stays: re-reading readings only sets the same flags again */
}

int uplink_msg_2081(struct uplink *u, struct hj_msg *m)
{
	char now[15], start[15], data[64];
	int64_t t = u->wall();
	int n;

	if (hj212_time14(now, t, uplink_utc_off_min(t)) < 0 ||
	    hj212_time14(start, u->started_wall_ms, uplink_utc_off_min(u->started_wall_ms)) < 0)
		return -EINVAL;
	n = snprintf(data, sizeof(data), "DataTime=%s;RestartTime=%s", now, start);
	return uplink_build(u, m, 2081, u->cfg.ack, data, (size_t)n);
}
