/*
 * rule.c - the alert state machine every rule runs (raise after
 * raise_after_s, clear after clear_after_s inside the hysteresis band, one
 * event each way), the evidence an event carries (each kind its own: a
 * limit, value and peak for limits; coverage and gap for data gaps; days
 * left for an expiring permit; the sensor's side for faults), why a clear
 * came, and the rule names its id and key are made of (see compliance.h).
 */
#include "internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const causes[] = {
	[RT_VOLUME] = "daily_volume", [RT_NO_PERMIT] = "no_valid_permit",
	[RT_EXPIRING] = "permit_expiring", [RT_STORM_FLOW] = "storm_flow",
	[RT_STORM_SIG] = "storm_signature", [RT_NO_RESPONSE] = "no_response",
	[RT_CRC] = "crc_errors", [RT_RANGE] = "out_of_range", [RT_IMPLAUSIBLE] = "implausible",
	[RT_FLATLINE] = "flat_line", [RT_COUNTER] = "counter_backwards", [RT_GAP] = "data_gap",
	[RT_MAINT_LONG] = "maintenance_long", [RT_MAINT_OFTEN] = "maintenance_often",
};

/* The rule part of the id: "rolling60-min", "no_response-probe1". The sensor
 * tells apart two probes of one parameter; with_sensor false leaves it out
 * when the id would not fit otherwise. */
static void rule_token(const struct compliance *c, const struct cp_rule *r, bool with_sensor,
		       char *buf, size_t cap)
{
	char win[16] = "";

	if (r->type == RT_LIMIT || r->type == RT_NODATA) {
		if (r->basis == BASIS_ROLLING)
			snprintf(win, sizeof(win), "%d", r->window_min);
		snprintf(buf, cap, "%s%s%s", config_basis_name(r->basis), win,
			 r->type == RT_NODATA ? "-nodata" : r->side_min ? "-min" : "");
		return;
	}
	if (r->sensor >= 0 && with_sensor)
		snprintf(buf, cap, "%s-%s", causes[r->type], c->cfg->sensors[r->sensor].name);
	else
		snprintf(buf, cap, "%s", causes[r->type]);
}

bool rule_key(const struct compliance *c, int ri, char *buf, size_t cap)
{
	const struct cp_rule *r = &c->rules[ri];
	const struct cp_outlet *o = &c->outlets[r->outlet];
	char token[96];
	int n;

	/* a sensor's fault is the sensor's, whatever the permit */
	if (rule_is_fault(r->type))
		n = snprintf(buf, cap, "%s||%s|%s", o->cfg->id, c->cfg->sensors[r->sensor].name,
			     causes[r->type]);
	else {
		rule_token(c, r, true, token, sizeof(token));
		n = snprintf(buf, cap, "%s|%s|%s|%s", o->cfg->id,
			     o->permit ? o->permit->number : "", param_name(r->param), token);
	}
	return n >= 0 && (size_t)n < cap;
}

static void make_id(const struct compliance *c, const struct cp_rule *r, int64_t raise_ms,
		    char *id, size_t cap)
{
	char token[96];
	int n;

	if (rule_is_fault(r->type)) {
		snprintf(id, cap, "%s/%s/%s/%s/%lld", c->cfg->id, c->outlets[r->outlet].cfg->id,
			 c->cfg->sensors[r->sensor].name, causes[r->type], (long long)raise_ms);
		return;
	}
	for (int with_sensor = 1; with_sensor >= 0; with_sensor--) {
		rule_token(c, r, with_sensor, token, sizeof(token));
		n = snprintf(id, cap, "%s/%s/%s/%s/%lld", c->cfg->id,
			     c->outlets[r->outlet].cfg->id, param_name(r->param), token,
			     (long long)raise_ms);
		if (n >= 0 && (size_t)n < cap)
			return;
	}
}

void emit_alert(struct cp_emit *em, const struct rec_alert *ev)
{
	if (em->out) {
		struct compliance_out *o = em->out;

		if (o->n >= o->max) {
			o->dropped++;
			return;
		}
		memset(&o->recs[o->n], 0, offsetof(struct record, u) + sizeof(struct rec_alert));
		o->recs[o->n].ts_ms = em->wall_ms;
		o->recs[o->n].type = REC_ALERT;
		o->recs[o->n].u.alert = *ev;
		o->n++;
		return;
	}
	if (em->alerts && em->an < em->amax)
		em->alerts[em->an++] = *ev;
	else
		em->lost++;
}

bool rule_beyond(const struct cp_rule *r, double v)
{
	return r->side_min ? v < r->limit : v > r->limit;
}

/* The limit moved inwards by hysteresis_pct of itself. */
bool rule_inside(const struct cp_rule *r, double v)
{
	double band = fabs(r->limit) * r->hysteresis_pct / 100.0;

	return r->side_min ? v >= r->limit + band : v <= r->limit - band;
}

static bool worse(const struct cp_rule *r, double v, double peak)
{
	if (isnan(peak))
		return !isnan(v);
	return r->side_min ? v < peak : v > peak;
}

bool kind_has_limit(int kind)
{
	return kind != AK_SENSOR_FAULT && kind != AK_DATA_GAP && kind != AK_PERMIT_EXPIRING;
}

/* ---- evidence beyond a limit ---------------------------------------------- */

/* Share of the local day so far that param's good readings at the outlet
 * covered, in %; NaN before the day has begun. */
static double day_coverage(const struct compliance *c, const struct cp_rule *r, int64_t wall_ms)
{
	const struct cp_outlet *o = &c->outlets[r->outlet];

	if (!o->open[AGG_DAY] || wall_ms <= o->start[AGG_DAY])
		return NAN;
	for (int k = o->first_ostat; k < o->first_ostat + o->n_ostat; k++)
		if (c->ostats[k].param == r->param)
			return 100.0 * acc_coverage(&c->ostats[k].acc[AGG_DAY],
						    wall_ms - o->start[AGG_DAY]);
	return NAN;
}

static int32_t seconds(double s)
{
	return s > INT32_MAX ? INT32_MAX : s > 0 ? (int32_t)llround(s) : 0;
}

/*
 * What value means for rule ri, into a: a raise (fresh) or a later
 * judgment. Data gaps: for a channel, value is the silence in s, with the
 * day's coverage beside it; for a window or period, value is its coverage
 * in %, the gap what it left uncovered. An expiring permit: days left.
 * None of them has a limit or a value in the parameter's unit.
 */
static void put_evidence(const struct compliance *c, int ri, const struct cp_emit *em,
			 struct rec_alert *a, double value, bool fresh)
{
	const struct cp_rule *r = &c->rules[ri];
	int32_t gap;

	switch (r->type) {
	case RT_GAP:
		gap = seconds(value);
		a->gap_s = fresh || gap > a->gap_s ? gap : a->gap_s;
		a->coverage_pct = day_coverage(c, r, em->wall_ms);
		break;
	case RT_NODATA:
		gap = seconds((double)em->span_ms / 1000.0 * (1.0 - value / 100.0));
		a->gap_s = fresh || gap > a->gap_s ? gap : a->gap_s;
		a->coverage_pct = value;
		break;
	case RT_EXPIRING:
		a->days_left = (int32_t)value;
		break;
	default:
		if (rule_is_fault(r->type))
			fault_evidence(c, ri, a, fresh);
		return;
	}
	a->limit = a->value = a->peak = NAN;
}

static void fill_raised(struct compliance *c, int ri, const struct cp_emit *em, double value,
			int health, int sensor)
{
	const struct cp_rule *r = &c->rules[ri];
	const struct cp_outlet *o = &c->outlets[r->outlet];
	struct rec_alert *a = &c->open[ri];

	memset(a, 0, sizeof(*a));
	a->state = ALERT_RAISED;
	a->kind = r->kind;
	a->param = r->param;
	a->basis = r->basis;
	a->sensor_health = (uint8_t)health;
	a->window_min = r->basis == BASIS_ROLLING ? r->window_min : 0;
	snprintf(a->outlet, sizeof(a->outlet), "%s", o->cfg->id);
	if (sensor >= 0)
		snprintf(a->sensor, sizeof(a->sensor), "%s", c->cfg->sensors[sensor].name);
	if (o->permit) {
		snprintf(a->permit, sizeof(a->permit), "%s", o->permit->number);
		snprintf(a->holder, sizeof(a->holder), "%s", o->permit->holder);
	}
	a->limit = r->limit;
	a->value = value;
	a->peak = value;
	a->value_flags = em->vflags;
	a->since_ms = r->bad_since_wall;
	make_id(c, r, em->wall_ms, a->id, sizeof(a->id));
	if (!kind_has_limit(r->kind))
		put_evidence(c, ri, em, a, value, true);
}

static void raise_now(struct compliance *c, int ri, struct cp_emit *em, double value, int health,
		      int sensor)
{
	struct cp_rule *r = &c->rules[ri];

	r->raised = true;
	r->restored = false;
	r->good = false;
	fill_raised(c, ri, em, value, health, sensor);
	emit_alert(em, &c->open[ri]);
	c->dirty = true;
}

/* A limit's cleared event shows the value that came back; a window's
 * data gap the coverage that did; the other kinds keep what they were
 * raised with. */
void rule_clear(struct compliance *c, int ri, struct cp_emit *em, double value, int reason)
{
	struct cp_rule *r = &c->rules[ri];
	struct rec_alert ev;

	if (!r->raised)
		return;
	r->raised = r->restored = r->bad = r->good = false;
	ev = c->open[ri];
	ev.state = ALERT_CLEARED;
	if (kind_has_limit(r->kind)) {
		ev.value = value;
		ev.value_flags = em->vflags;
	} else if (r->type == RT_NODATA) {
		ev.coverage_pct = value;
	}
	ev.until_ms = em->wall_ms;
	ev.reason = (uint8_t)reason;
	emit_alert(em, &ev);
	c->dirty = true;
}

void rule_remind(struct compliance *c, int ri, struct cp_emit *em, double value)
{
	if (kind_has_limit(c->rules[ri].kind))
		c->open[ri].value = value;
	else
		put_evidence(c, ri, em, &c->open[ri], value, false);
	emit_alert(em, &c->open[ri]);
	c->dirty = true;
}

/* Faults and gaps end when the sensor is back; the rest when the value is. */
static int clear_reason(const struct cp_rule *r)
{
	return r->kind == AK_SENSOR_FAULT || r->kind == AK_DATA_GAP ? CR_SENSOR_RECOVERED
								    : CR_BACK_INSIDE;
}

/* Not raised: the condition must hold for raise_after. */
static void judge_lowered(struct compliance *c, int ri, struct cp_emit *em, bool cond,
			  double value, int health, int sensor)
{
	struct cp_rule *r = &c->rules[ri];

	/* first: a hold ends once its condition has gone */
	if (maint_holds(c, ri, cond, sensor, em) || !cond) {
		r->bad = false;
		return;
	}
	if (!r->bad) {
		r->bad = true;
		r->bad_since_mono = em->mono_ms;
		r->bad_since_wall = em->wall_ms;
	}
	if (r->immediate || em->mono_ms - r->bad_since_mono >= r->raise_after_ms)
		raise_now(c, ri, em, value, health, sensor);
}

void rule_judge(struct compliance *c, int ri, struct cp_emit *em, bool cond, bool clear_ok,
		double value, int health, int sensor)
{
	struct cp_rule *r = &c->rules[ri];
	struct rec_alert *a = &c->open[ri];

	if (!r->raised) {
		judge_lowered(c, ri, em, cond, value, health, sensor);
		return;
	}
	if (!kind_has_limit(r->kind))
		put_evidence(c, ri, em, a, value, false);
	else if (worse(r, value, a->peak))
		a->peak = value;
	/* raised before a restart and found fine on its first judgment: the
	 * downtime stands in for the clear wait */
	if (r->restored && clear_ok) {
		rule_clear(c, ri, em, value, clear_reason(r));
		return;
	}
	r->restored = false;
	if (!clear_ok) {
		r->good = false;
		return;
	}
	if (!r->good) {
		r->good = true;
		r->good_since_mono = em->mono_ms;
	}
	if (r->immediate || em->mono_ms - r->good_since_mono >= r->clear_after_ms)
		rule_clear(c, ri, em, value, clear_reason(r));
}
