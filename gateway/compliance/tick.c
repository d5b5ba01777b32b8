/*
 * tick.c - time in the engine: calendar periods that open and
 * close forward only (their aggregates, the hourly and daily limits, the
 * day's volume), and the rules nothing but the passing of time moves: data
 * gaps and permit expiry (see compliance_tick in compliance.h).
 */
#include "internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

void note_mono(struct compliance *c, int64_t mono_ms)
{
	if (c->started)
		return;
	c->started = true;
	c->mono0 = mono_ms;
}

bool local_day(struct compliance *c, int64_t wall_ms, int64_t *day)
{
	int64_t s, e, d;

	if (c->day_valid && c->day_start <= wall_ms && wall_ms < c->day_end) {
		*day = c->day_num;
		return true;
	}
	if (period_local_day(wall_ms, &d) < 0)
		return false;
	period_bounds(AGG_DAY, wall_ms, &s, &e);
	c->day_valid = true;
	c->day_start = s;
	c->day_end = e;
	c->day_num = d;
	*day = d;
	return true;
}

/* ---- periods ------------------------------------------------------------ */

void build_aggregate(const struct compliance *c, int o, int p, struct record *out)
{
	const struct cp_outlet *x = &c->outlets[o];
	struct rec_aggregate *a = &out->u.aggregate;

	memset(out, 0, offsetof(struct record, u) + sizeof(*a));
	out->ts_ms = x->start[p];
	out->type = REC_AGGREGATE;
	snprintf(a->outlet, sizeof(a->outlet), "%s", x->cfg->id);
	a->period = (uint8_t)p;
	a->end_ms = x->end[p];
	for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat && a->n < REC_MAX_VALUES; k++) {
		const struct cp_ostat *st = &c->ostats[k];
		const struct acc *ac = &st->acc[p];

		if (ac->n == 0 && isnan(ac->cou))
			continue;
		/* the mean of a counter's readings means nothing */
		a->params[a->n++] = (struct rec_agg_param){
			.param = st->param, .count = ac->n,
			.avg = st->param == P_VOLUME_TOTAL ? NAN : acc_mean(ac),
			.min = ac->min, .max = ac->max, .cou = ac->cou };
	}
}

/* A period rule is judged once, at the close: no data enough, no verdict,
 * and the data_gap rule beside it says why. The evidence dates from the
 * period's start. */
static void judge_period_rule(struct compliance *c, int ri, const struct acc *ac, int64_t start,
			      int64_t span, int sensor, struct cp_emit *em)
{
	struct cp_rule *r = &c->rules[ri];
	double cov = acc_coverage(ac, span) * 100.0, mean = acc_mean(ac);

	em->span_ms = span;
	bool enough = cov >= c->cfg->alerting.coverage_pct, cond;
	double value = r->type == RT_NODATA ? cov : mean;

	if (r->type == RT_NODATA)
		cond = !enough;
	else if (!enough)
		return;
	else
		cond = rule_beyond(r, mean);
	if (cond && !r->raised) {
		r->bad = true;
		r->bad_since_mono = em->mono_ms;
		r->bad_since_wall = start;
	}
	rule_judge(c, ri, em, cond, r->type == RT_NODATA ? enough : rule_inside(r, mean), value,
		   Q_OK, sensor);
}

static void judge_period(struct compliance *c, int o, int p, struct cp_emit *em)
{
	const struct cp_outlet *x = &c->outlets[o];
	int basis = p == AGG_HOUR ? BASIS_HOURLY_MEAN : BASIS_DAILY_MEAN;

	for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++) {
		const struct cp_ostat *st = &c->ostats[k];

		for (int ri = st->first_prule; ri < st->first_prule + st->n_prule; ri++)
			if (c->rules[ri].basis == basis)
				judge_period_rule(c, ri, &st->acc[p], x->start[p],
						  x->end[p] - x->start[p], st->last_sensor, em);
	}
}

static void close_period(struct compliance *c, int o, int p, struct cp_emit *em)
{
	struct cp_outlet *x = &c->outlets[o];
	struct record agg;

	build_aggregate(c, o, p, &agg);
	if (agg.u.aggregate.n > 0) {
		if (x->pending[p])
			c->aggs_lost++; /* no tick for a whole period */
		x->closed[p] = agg;
		x->pending[p] = true;
	}
	if (p != AGG_MINUTE) {
		judge_period(c, o, p, em);
		c->dirty = true;
	}
	if (p == AGG_DAY && x->r_volume >= 0)
		rule_clear(c, x->r_volume, em, x->day_m3, CR_BACK_INSIDE);
	x->last_end[p] = x->end[p];
	x->open[p] = false;
}

/* Never before the end of the last closed one: after a step back the clock
 * is in a period already judged, and the open one takes those readings. */
static void open_period(struct compliance *c, int o, int p, int64_t wall_ms)
{
	struct cp_outlet *x = &c->outlets[o];
	int64_t t = wall_ms > x->last_end[p] ? wall_ms : x->last_end[p];

	period_bounds(p, t, &x->start[p], &x->end[p]);
	x->open[p] = true;
	for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++)
		acc_clear(&c->ostats[k].acc[p]);
	if (p == AGG_DAY)
		x->day_m3 = 0;
}

void outlet_advance(struct compliance *c, int o, struct cp_emit *em)
{
	struct cp_outlet *x = &c->outlets[o];

	for (int p = 0; p < AGG_COUNT; p++) {
		if (x->open[p] && em->wall_ms >= x->end[p])
			close_period(c, o, p, em);
		if (!x->open[p])
			open_period(c, o, p, em->wall_ms);
	}
}

/* Hands out closed aggregates; one that does not fit waits for the next. */
static void drain_closed(struct compliance *c, struct compliance_out *out)
{
	for (size_t o = 0; o < c->cfg->n_outlets; o++) {
		struct cp_outlet *x = &c->outlets[o];

		for (int p = 0; p < AGG_COUNT; p++) {
			if (!x->pending[p])
				continue;
			if (out->n >= out->max) {
				out->dropped++;
				continue;
			}
			out->recs[out->n++] = x->closed[p];
			x->pending[p] = false;
		}
	}
}

/* ---- time-driven rules -------------------------------------------------- */

/* Silence explained by a fault of the sensor (it does not answer, or
 * what it says about this channel cannot be used) is not a gap too. */
static void judge_gap(struct compliance *c, const struct cp_chan *ch, struct cp_emit *em)
{
	int64_t last = ch->has_ok ? ch->last_ok_mono : c->mono0;
	int64_t silent_ms = em->mono_ms - last;
	bool cond = silent_ms >= ch->gap_ms;

	if (chan_faulted(c, ch))
		return;
	rule_judge(c, ch->r_gap, em, cond, !cond, (double)silent_ms / 1000.0, ch->last_q,
		   ch->sensor);
}

/* Days left until valid_until (negative once expired); raised within the
 * warning, sent again once a local day, cleared by a renewed permit. */
static void judge_expiry(struct compliance *c, int o, struct cp_emit *em)
{
	struct cp_outlet *x = &c->outlets[o];
	struct cp_rule *r;
	int64_t day, left;

	if (x->r_expiring < 0 || !local_day(c, em->wall_ms, &day))
		return;
	r = &c->rules[x->r_expiring];
	left = config_date_days(x->permit->valid_until) - day;
	if (left > (int64_t)r->limit) {
		rule_clear(c, x->r_expiring, em, (double)left, CR_PERMIT_REPLACED);
	} else if (!r->raised) {
		rule_judge(c, x->r_expiring, em, true, false, (double)left, Q_OK, -1);
		r->reminded_day = day;
	} else if (r->reminded_day != day) {
		r->restored = false;
		rule_remind(c, x->r_expiring, em, (double)left);
		r->reminded_day = day;
	}
}

static void emit_orphans(struct compliance *c, struct cp_emit *em)
{
	int done = 0;

	for (; done < c->n_orphans && em->out->n < em->out->max; done++) {
		struct rec_alert ev = c->orphans[done].ev;

		ev.state = ALERT_CLEARED;
		ev.until_ms = c->orphan_wall_ms;
		ev.reason = c->orphans[done].reason;
		emit_alert(em, &ev);
	}
	if (done)
		memmove(c->orphans, c->orphans + done,
			(size_t)(c->n_orphans - done) * sizeof(*c->orphans));
	c->n_orphans -= done;
}

int compliance_tick(struct compliance *c, int64_t wall_ms, int64_t mono_ms, bool clock_synced,
		    struct compliance_out *out)
{
	struct cp_emit em = { .out = out, .wall_ms = wall_ms, .mono_ms = mono_ms };

	note_mono(c, mono_ms);
	c->synced = clock_synced;
	emit_orphans(c, &em);
	maint_tick(c, &em);
	for (size_t o = 0; o < c->cfg->n_outlets; o++)
		outlet_advance(c, (int)o, &em);
	for (int i = 0; i < c->n_chans; i++)
		if (c->chans[i].r_gap >= 0)
			judge_gap(c, &c->chans[i], &em);
	for (size_t o = 0; clock_synced && o < c->cfg->n_outlets; o++)
		judge_expiry(c, (int)o, &em);
	drain_closed(c, out);
	return out->n;
}
