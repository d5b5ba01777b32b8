/*
 * fault.c - what a reading says about its instrument before any limit sees
 * it (DESIGN §5 "plausibility before judgement", sensor_fault): out of the
 * instrument's range; physically implausible (beyond the parameter's
 * bounds, subnormal, NaN, a volume counter stepping further than the
 * outlet's largest flow could take it); flat; a counter gone backwards.
 * Each channel keeps a bit per cause; one sensor_fault per sensor and
 * cause says so, listing the parameters it affects.
 *
 * A wrong word order still decodes to a plausible-looking float now and
 * then, so after an implausible reading a channel keeps its next
 * DISTRUST_READINGS good-looking readings out as well; during a sensor's
 * first polls, one implausible channel casts that doubt on all of its
 * channels (an installer's mistake is usually the same for every channel
 * of a device). Readings kept out mark the open alerts they would be
 * evidence for unhealthy: those stay open until good readings say
 * otherwise.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_HOUR 3600000.0
#define JUMP_MARGIN 2.0 /* a counter may step twice what the largest flow gives */

/* ---- plausibility ------------------------------------------------------- */

/* On top of the flow: one count of an integer counter, or a float's
 * rounding (a float32 totaliser at 10^8 m3 moves in 8 m3 steps). */
static double counter_slack(const struct cp_chan *ch, double last)
{
	bool whole = ch->cfg->type != VT_FLOAT32 && ch->cfg->type != VT_FLOAT64;

	return (whole ? fabs(ch->cfg->scale) : 0) + 1e-6 * fabs(last);
}

/* A step from the last reading seen that no flow of the outlet could make
 * in the time between (forwards, or across a wrap as counter_step takes
 * it; backwards is a fault of its own). */
static bool counter_jump(const struct compliance *c, const struct cp_chan *ch, double v,
			 int64_t mono_ms, int64_t wall_ms)
{
	int64_t elapsed;
	double d, most;

	if (ch->cfg->param != P_VOLUME_TOTAL || !ch->seen)
		return false;
	elapsed = ch->seen_has_mono ? mono_ms - ch->seen_mono : wall_ms - ch->seen_wall;
	if (elapsed < 0)
		return false; /* a clock stepped back: nothing to judge by */
	d = v - ch->seen_v;
	if (d < 0 && ch->modulus > 0 && d + ch->modulus <= ch->modulus / 8)
		d += ch->modulus;
	most = JUMP_MARGIN * c->outlets[ch->outlet].max_flow_m3h * (double)elapsed / MS_PER_HOUR +
	       counter_slack(ch, ch->seen_v);
	return d > most;
}

enum plausibility screen_value(const struct compliance *c, const struct cp_chan *ch,
			       const struct rec_value *v, int64_t mono_ms, int64_t wall_ms)
{
	enum plausibility why;

	if (v->quality == Q_NO_RESPONSE)
		return PL_OK;
	why = param_plausible(v->param, v->v);
	/* screened before (compliance_screen): plausible by itself, so a jump */
	if (v->flags & RV_IMPLAUSIBLE)
		return why == PL_OK ? PL_JUMP : why;
	/* "invalid" with a number: the driver knows why; unknown is not fine */
	if (why == PL_OK && v->quality == Q_INVALID)
		why = PL_NOT_FINITE;
	if (why == PL_OK && ch && counter_jump(c, ch, v->v, mono_ms, wall_ms))
		why = PL_JUMP;
	return why;
}

void mark_value(struct rec_value *v, enum plausibility why)
{
	if (why == PL_OK)
		return;
	v->quality = Q_INVALID;
	v->flags |= RV_IMPLAUSIBLE;
}

/* The channel of a watched sensor reading param, NULL if none. */
static const struct cp_chan *chan_of(const struct compliance *c, int s, int param)
{
	const struct cp_sensor *x = &c->sensors[s];
	int i;

	if (x->outlet < 0 || param < 0 || param >= P_COUNT)
		return NULL;
	i = x->chan_of_param[param];
	return i >= 0 ? &c->chans[x->first_chan + i] : NULL;
}

int compliance_screen(const struct compliance *c, int sensor_idx, struct record *rec,
		      int64_t mono_ms)
{
	struct rec_poll *poll;
	int n = 0;

	if (!rec || rec->type != REC_POLL || sensor_idx < 0 ||
	    (size_t)sensor_idx >= c->cfg->n_sensors)
		return 0;
	poll = &rec->u.poll;
	for (int k = 0; k < poll->n && k < REC_MAX_VALUES; k++) {
		struct rec_value *v = &poll->values[k];
		enum plausibility why;

		if (v->flags & RV_IMPLAUSIBLE)
			continue;
		why = screen_value(c, chan_of(c, sensor_idx, v->param), v, mono_ms, rec->ts_ms);
		if (why != PL_OK) {
			mark_value(v, why);
			n++;
		}
	}
	return n;
}

/* A float32 read from two registers whose words, swapped back, give a
 * plausible value: the word order is wrong, whatever else looks off. */
static bool swapped_plausible(int param, double v, unsigned flags)
{
	float f = (float)v, g;
	uint32_t u;

	if (!(flags & RV_F32) || !isfinite(v))
		return false;
	memcpy(&u, &f, sizeof(u));
	u = u << 16 | u >> 16;
	memcpy(&g, &u, sizeof(g));
	return param_plausible(param, g) == PL_OK;
}

/* The likely mistake behind an implausible value: the bits first. */
static const char *hint_for(int param, double v, unsigned flags, enum plausibility why,
			    bool registers)
{
	if (registers && swapped_plausible(param, v, flags))
		return "word order? (its words swapped give a plausible value)";
	return param_hint(param, v, why, registers);
}

const char *compliance_hint(const struct compliance *c, int sensor_idx,
			    const struct rec_value *v)
{
	enum plausibility why;
	bool registers;

	if (!(v->flags & RV_IMPLAUSIBLE) || sensor_idx < 0 ||
	    (size_t)sensor_idx >= c->cfg->n_sensors)
		return NULL;
	registers = c->cfg->sensors[sensor_idx].driver == DRIVER_MODBUS;
	why = param_plausible(v->param, v->v);
	return hint_for(v->param, v->v, v->flags, why == PL_OK ? PL_JUMP : why, registers);
}

/* ---- a channel's bits ----------------------------------------------------- */

void chan_flag(struct cp_chan *ch, int bit, bool on, const struct rec_value *v)
{
	if (!on) {
		ch->bad &= (uint8_t)~(1u << bit);
		return;
	}
	ch->bad |= (uint8_t)(1u << bit);
	ch->bad_v[bit] = v->v;
	ch->bad_flags[bit] = v->flags;
}

/* Out of range while in doubt for its own implausible readings: one more
 * of those (a wrong word order lands outside a range as often as beyond
 * the bounds), not a second fault. */
static bool doubted_range(const struct cp_chan *ch, const struct rec_value *v)
{
	return v->quality == Q_OUT_OF_RANGE && (ch->bad & (1u << CB_IMPLAUSIBLE));
}

bool judge_health(struct compliance *c, struct cp_chan *ch, const struct rec_value *v,
		  enum plausibility why)
{
	ch->last_q = v->quality;
	if (v->quality == Q_NO_RESPONSE) {
		mark_unhealthy(c, ch);
		return false;
	}
	if (why == PL_OK && doubted_range(ch, v)) {
		ch->distrust = DISTRUST_READINGS;
		mark_unhealthy(c, ch);
		return false;
	}
	chan_flag(ch, CB_RANGE, v->quality == Q_OUT_OF_RANGE, v);
	if (why != PL_OK) {
		chan_flag(ch, CB_IMPLAUSIBLE, true, v);
		ch->why = (uint8_t)why;
		ch->distrust = DISTRUST_READINGS;
	} else if (v->quality == Q_OK && ch->distrust > 0 && --ch->distrust == 0) {
		chan_flag(ch, CB_IMPLAUSIBLE, false, v);
		mark_unhealthy(c, ch); /* this one is the last kept out */
		return false;
	}
	if (v->quality != Q_OK || why != PL_OK || ch->distrust > 0) {
		mark_unhealthy(c, ch);
		return false;
	}
	return true;
}

/* ---- the sensor's rules --------------------------------------------------- */

static int bit_of(int type)
{
	switch (type) {
	case RT_RANGE: return CB_RANGE;
	case RT_IMPLAUSIBLE: return CB_IMPLAUSIBLE;
	case RT_FLATLINE: return CB_FLAT;
	case RT_COUNTER: return CB_BACKWARDS;
	default: return -1;
	}
}

static int cause_of(int type)
{
	switch (type) {
	case RT_NO_RESPONSE: return FC_NO_RESPONSE;
	case RT_CRC: return FC_CRC_ERRORS;
	case RT_RANGE: return FC_OUT_OF_RANGE;
	case RT_IMPLAUSIBLE: return FC_IMPLAUSIBLE;
	case RT_FLATLINE: return FC_FLAT_LINE;
	case RT_COUNTER: return FC_COUNTER_BACKWARDS;
	default: return FC_NONE;
	}
}

static void add_param(struct rec_alert *a, int param)
{
	for (int i = 0; i < a->n_params; i++)
		if (a->params[i] == param)
			return;
	if (a->n_params < REC_MAX_VALUES)
		a->params[a->n_params++] = (uint8_t)param;
}

static void put_hint(const struct compliance *c, const struct cp_chan *ch, struct rec_alert *a)
{
	const struct cp_sensor *x = &c->sensors[ch->sensor];
	int why = ch->why ? ch->why : PL_NOT_FINITE;

	snprintf(a->note, sizeof(a->note), "%s %.9g: %s; %s", param_name(ch->cfg->param),
		 ch->bad_v[CB_IMPLAUSIBLE], plausibility_name(why),
		 hint_for(ch->cfg->param, ch->bad_v[CB_IMPLAUSIBLE], ch->bad_flags[CB_IMPLAUSIBLE],
			  (enum plausibility)why, x->registers));
}

void fault_evidence(const struct compliance *c, int ri, struct rec_alert *a, bool fresh)
{
	const struct cp_rule *r = &c->rules[ri];
	const struct cp_sensor *x = &c->sensors[r->sensor];
	int bit = bit_of(r->type);

	a->cause = (uint8_t)cause_of(r->type);
	a->limit = NAN; /* a fault is no limit crossed */
	a->peak = NAN;
	if (fresh)
		a->last_answer_ms = x->last_answer_wall;
	if (x->streak > a->polls_missed)
		a->polls_missed = x->streak;
	for (int i = 0; i < x->n_chan; i++) {
		const struct cp_chan *ch = &c->chans[x->first_chan + i];

		if (bit >= 0 && !(ch->bad & (1u << bit)))
			continue;
		add_param(a, ch->cfg->param);
		if (bit == CB_IMPLAUSIBLE && !a->note[0])
			put_hint(c, ch, a);
	}
	if (a->n_params)
		a->param = a->params[0]; /* for consumers that want one */
}

static int health_of(int bit)
{
	return bit == CB_RANGE ? Q_OUT_OF_RANGE : bit == CB_IMPLAUSIBLE ? Q_INVALID : Q_OK;
}

/* One fault rule of sensor s on its channels' bit: the evidence is the
 * first channel showing it. */
static void judge_fault(struct compliance *c, int s, int ri, int bit, struct cp_emit *em)
{
	const struct cp_sensor *x = &c->sensors[s];
	const struct cp_chan *hit = NULL;

	for (int i = 0; i < x->n_chan && !hit; i++)
		if (c->chans[x->first_chan + i].bad & (1u << bit))
			hit = &c->chans[x->first_chan + i];
	em->vflags = hit ? hit->bad_flags[bit] : 0;
	rule_judge(c, ri, em, hit != NULL, hit == NULL, hit ? hit->bad_v[bit] : NAN,
		   health_of(bit), s);
	em->vflags = 0;
}

void judge_faults(struct compliance *c, int s, struct cp_emit *em)
{
	const struct cp_sensor *x = &c->sensors[s];
	const int rules[CB_COUNT] = { [CB_RANGE] = x->r_range, [CB_IMPLAUSIBLE] = x->r_implaus,
				      [CB_FLAT] = x->r_flat, [CB_BACKWARDS] = x->r_counter };

	for (int b = 0; b < CB_COUNT; b++)
		if (rules[b] >= 0)
			judge_fault(c, s, rules[b], b, em);
}

/* During a sensor's first polls an implausible value anywhere in a poll
 * casts doubt on every channel of it: the first reading of a channel read
 * in the wrong word order is as likely to look plausible as any other. */
void doubt_sensor(struct compliance *c, int s, const enum plausibility *why, int n)
{
	struct cp_sensor *x = &c->sensors[s];
	bool any = false;

	for (int k = 0; k < n; k++)
		any |= why[k] != PL_OK;
	if (!any || x->answered >= DISTRUST_READINGS)
		return;
	for (int i = 0; i < x->n_chan; i++)
		c->chans[x->first_chan + i].distrust = DISTRUST_READINGS;
}

/* ---- open alerts a sick channel is evidence for ------------------------- */

static void mark_rule(struct compliance *c, int ri)
{
	if (ri < 0 || !c->rules[ri].raised || c->rules[ri].type == RT_NODATA ||
	    c->open[ri].unhealthy)
		return;
	c->open[ri].unhealthy = 1;
	c->dirty = true;
	c->outlets[c->rules[ri].outlet].open_changed = true;
}

void mark_unhealthy(struct compliance *c, const struct cp_chan *ch)
{
	const struct cp_ostat *st;
	const struct cp_outlet *o;

	if (ch->ostat < 0)
		return;
	st = &c->ostats[ch->ostat];
	o = &c->outlets[ch->outlet];
	for (int ri = st->first_rule; ri < st->first_rule + st->n_rule; ri++)
		mark_rule(c, ri);
	for (int ri = st->first_prule; ri < st->first_prule + st->n_prule; ri++)
		mark_rule(c, ri);
	if (st->param == P_FLOW || st->param == P_VOLUME_TOTAL) {
		mark_rule(c, o->r_volume);
		mark_rule(c, o->r_nopermit);
		mark_rule(c, o->r_storm_flow);
	}
}

static bool raised(const struct compliance *c, int ri)
{
	return ri >= 0 && c->rules[ri].raised;
}

bool chan_faulted(const struct compliance *c, const struct cp_chan *ch)
{
	const struct cp_sensor *x = &c->sensors[ch->sensor];

	return raised(c, x->r_noresp) ||
	       ((ch->bad & (1u << CB_IMPLAUSIBLE)) && raised(c, x->r_implaus)) ||
	       ((ch->bad & (1u << CB_RANGE)) && raised(c, x->r_range)) ||
	       ((ch->bad & (1u << CB_FLAT)) && raised(c, x->r_flat));
}

bool compliance_changed(struct compliance *c, int outlet_idx)
{
	bool changed;

	if (outlet_idx < 0 || (size_t)outlet_idx >= c->cfg->n_outlets)
		return false;
	changed = c->outlets[outlet_idx].open_changed;
	c->outlets[outlet_idx].open_changed = false;
	return changed;
}
