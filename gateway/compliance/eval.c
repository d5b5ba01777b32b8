/*
 * eval.c - judging one poll (see compliance_poll in
 * compliance.h): the sensor's answer, each value's plausibility and health
 * (fault.c), then for good values the statistics and every rule that reads
 * them, and last the sensor's fault rules. Work is bounded by the sensor's
 * channels and the rules on their parameters; nothing is allocated.
 */
#include "internal.h"

#include <math.h>

#define MS_PER_HOUR 3600000.0

/* The poll as a whole: silence counts against the sensor, not each value. */
static void judge_response(struct compliance *c, int s, const struct rec_poll *poll,
			   struct cp_emit *em)
{
	struct cp_sensor *x = &c->sensors[s];
	bool silent = poll->n > 0;

	for (int k = 0; k < poll->n && silent; k++)
		silent = poll->values[k].quality == Q_NO_RESPONSE;
	x->streak = silent ? x->streak + 1 : 0;
	if (!silent) {
		x->last_answer_wall = em->wall_ms;
		x->answered += x->answered < DISTRUST_READINGS;
	}
	if (x->r_noresp >= 0)
		rule_judge(c, x->r_noresp, em, x->streak >= c->cfg->alerting.no_response_polls,
			   x->streak == 0, NAN, silent ? Q_NO_RESPONSE : Q_OK, s);
}

static void judge_crc(struct compliance *c, int s, const struct compliance_poll *p,
		      struct cp_emit *em)
{
	struct cp_sensor *x = &c->sensors[s];
	double pct;

	crcwin_add(&x->crc, p->requests, p->crc_errors);
	if (x->r_crc < 0 || !crcwin_pct(&x->crc, &pct))
		return;
	/* the share is no value in a parameter's unit: the cause says it */
	rule_judge(c, x->r_crc, em, pct > c->rules[x->r_crc].limit,
		   rule_inside(&c->rules[x->r_crc], pct), NAN, Q_OK, s);
}

/* True once the channel has read the same for flatline_s: from then on
 * its readings are kept out of statistics and limits like any other
 * fault's, until the value moves. */
static bool judge_flat(struct cp_chan *ch, const struct rec_value *v, int64_t mono_ms)
{
	bool cond;

	if (ch->flatline_ms <= 0)
		return false;
	if (!ch->has_flat || v->v != ch->flat_v) {
		ch->has_flat = true;
		ch->flat_v = v->v;
		ch->flat_since_mono = mono_ms;
	}
	cond = mono_ms - ch->flat_since_mono >= ch->flatline_ms;
	chan_flag(ch, CB_FLAT, cond, v);
	return cond;
}

static bool permit_valid(struct compliance *c, const struct cp_outlet *o, int64_t wall_ms,
			 bool *valid)
{
	int64_t d;

	if (!local_day(c, wall_ms, &d))
		return false;
	*valid = o->permit && config_date_days(o->permit->valid_from) <= d &&
		 d <= config_date_days(o->permit->valid_until);
	return true;
}

/* no_valid_permit and storm flow: both look at flow above the noise floor. */
static void judge_flow(struct compliance *c, int o, double q, int s, struct cp_emit *em)
{
	struct cp_outlet *out = &c->outlets[o];
	double noise = out->cfg->flow_noise_m3h;
	bool flowing = q > noise, valid, rain;

	if (out->r_nopermit >= 0 && c->synced && permit_valid(c, out, em->wall_ms, &valid))
		rule_judge(c, out->r_nopermit, em, flowing && !valid, !flowing || valid, q, Q_OK, s);
	if (out->r_storm_flow >= 0) {
		rain = out->rain && em->mono_ms - out->rain_mono < out->cfg->rain_hold_min * 60000LL;
		rule_judge(c, out->r_storm_flow, em, flowing && !rain, !flowing || rain, q, Q_OK, s);
	}
}

static void add_volume(struct compliance *c, int o, double m3, int s, struct cp_emit *em)
{
	struct cp_outlet *out = &c->outlets[o];

	out->day_m3 += m3;
	if (out->r_volume >= 0)
		rule_judge(c, out->r_volume, em, out->day_m3 > c->rules[out->r_volume].limit, false,
			   out->day_m3, Q_OK, s);
}

/* A counter reading: its step is the volume; backwards is a fault. */
static double counter_volume(struct cp_chan *ch, const struct rec_value *v)
{
	double delta;
	enum counter_step st = counter_step(&ch->counter, v->v, ch->modulus, &delta);

	chan_flag(ch, CB_BACKWARDS, st == CNT_BACKWARDS, v);
	return delta;
}

/*
 * Where a counter reading leaves the counter: each finite reading in the
 * parameter's bounds is what the next step is judged from; after a jump
 * the volume starts again from the next reading believed (the step across
 * it is not counted); a reading kept out for doubt only moves that base.
 */
static void note_counter(struct cp_chan *ch, const struct rec_value *v, enum plausibility why,
			 const struct cp_emit *em)
{
	if (ch->cfg->param != P_VOLUME_TOTAL || v->quality == Q_NO_RESPONSE ||
	    (why != PL_OK && why != PL_JUMP))
		return;
	ch->seen = ch->seen_has_mono = true;
	ch->seen_v = v->v;
	ch->seen_mono = em->mono_ms;
	ch->seen_wall = em->wall_ms;
	if (why == PL_JUMP)
		ch->counter.has = false;
	else if (v->quality == Q_OK && ch->distrust > 0 && !ch->counter.has)
		counter_step(&ch->counter, v->v, ch->modulus, &(double){ 0 });
}

static void add_to_periods(struct cp_ostat *st, double v, double w, int64_t covered,
			   double amount)
{
	for (int p = 0; p < AGG_COUNT; p++)
		acc_add(&st->acc[p], v, w, covered, amount);
}

/* The reading into the outlet's statistics, with its weight and amount:
 * flow integrates to m3 (unless a counter says it better), a concentration
 * weighs by the water it stands for and adds its load in kg. */
static void add_stats(struct compliance *c, struct cp_chan *ch, const struct rec_value *val,
		      int64_t covered, struct cp_emit *em)
{
	struct cp_ostat *st = &c->ostats[ch->ostat];
	struct cp_outlet *out = &c->outlets[ch->outlet];
	double v = val->v, w = NAN, amount = NAN, hours = (double)covered / MS_PER_HOUR;

	if (st->param == P_FLOW) {
		if (out->vol_ostat < 0) {
			amount = v * hours;
			add_volume(c, ch->outlet, amount, ch->sensor, em);
		}
		out->flow_ok = true;
		out->flow_m3h = v;
		out->flow_mono = em->mono_ms;
	} else if (st->param == P_VOLUME_TOTAL) {
		amount = counter_volume(ch, val);
		for (int p = 0; out->flow_ostat >= 0 && p < AGG_COUNT; p++)
			acc_add_cou(&c->ostats[out->flow_ostat].acc[p], amount);
		add_volume(c, ch->outlet, amount, ch->sensor, em);
	} else if (st->conc && out->flow_ok && em->mono_ms - out->flow_mono <= out->flow_gap_ms) {
		w = out->flow_m3h * hours;
		amount = v * w / 1000.0;
	}
	add_to_periods(st, v, w, covered, amount);
	st->last_sensor = ch->sensor;
}

/* Rolling windows: a mean is judged only when the window is covered well
 * enough; a window that has been running long enough and is not, says so. */
static void judge_rolls(struct compliance *c, struct cp_ostat *st, double v, int64_t covered,
			int s, struct cp_emit *em)
{
	for (int j = st->first_roll; j < st->first_roll + st->n_roll; j++) {
		struct cp_roll *rl = &c->rolls[j];
		double cov, mean;
		bool enough;

		roll_add(&rl->r, em->mono_ms, v, covered);
		cov = roll_coverage(&rl->r) * 100.0;
		mean = roll_mean(&rl->r);
		enough = cov >= c->cfg->alerting.coverage_pct;
		em->span_ms = rl->window_min * 60000LL;
		if (enough || roll_established(&rl->r, em->mono_ms))
			rule_judge(c, rl->r_nodata, em, !enough, enough, cov, Q_OK, s);
		for (int ri = st->first_rule; enough && ri < st->first_rule + st->n_rule; ri++) {
			const struct cp_rule *r = &c->rules[ri];

			if (r->roll == j)
				rule_judge(c, ri, em, rule_beyond(r, mean), rule_inside(r, mean), mean,
					   Q_OK, s);
		}
	}
}

/* The reading's own precision goes with it into the evidence; a mean has
 * none. */
static void judge_reading(struct compliance *c, struct cp_chan *ch, const struct rec_value *val,
			  int64_t covered, struct cp_emit *em)
{
	struct cp_ostat *st = &c->ostats[ch->ostat];
	double v = val->v;

	em->vflags = val->flags & RV_F32;
	for (int ri = st->first_rule; ri < st->first_rule + st->n_rule; ri++) {
		const struct cp_rule *r = &c->rules[ri];

		if (r->roll < 0)
			rule_judge(c, ri, em, rule_beyond(r, v), rule_inside(r, v), v, Q_OK,
				   ch->sensor);
	}
	em->vflags = 0;
	judge_rolls(c, st, v, covered, ch->sensor, em);
	if (st->param == P_FLOW)
		judge_flow(c, ch->outlet, v, ch->sensor, em);
}

/* One value, its plausibility why already judged: health first; only a
 * good reading goes on into the statistics and the rules. */
static void eval_value(struct compliance *c, struct cp_chan *ch, const struct rec_value *val,
		       enum plausibility why, struct cp_emit *em)
{
	struct rec_value v = *val;
	int64_t covered;

	mark_value(&v, why);
	note_counter(ch, &v, why, em);
	if (!judge_health(c, ch, &v, why))
		return;
	/* what this reading stands for: back to the last good one, at most a
	 * gap's worth (the first after a start: one poll interval) */
	covered = ch->has_ok ? em->mono_ms - ch->last_ok_mono : ch->nominal_ms;
	if (covered < 0)
		covered = 0;
	if (covered > ch->gap_ms)
		covered = ch->gap_ms;
	ch->has_ok = true;
	ch->last_ok_mono = em->mono_ms;
	rule_judge(c, ch->r_gap, em, false, true, 0, Q_OK, ch->sensor);
	if (judge_flat(ch, &v, em->mono_ms)) {
		mark_unhealthy(c, ch);
		return;
	}
	if (ch->ostat < 0)
		return;
	add_stats(c, ch, &v, covered, em);
	judge_reading(c, ch, &v, covered, em);
}

/* The poll's values in the order given, each with its channel (-1 none)
 * and plausibility; judged all first so a sensor's first polls can cast
 * doubt on all its channels before any is used. */
static void eval_values(struct compliance *c, int s, const struct rec_poll *poll,
			struct cp_emit *em)
{
	const struct cp_sensor *x = &c->sensors[s];
	enum plausibility why[REC_MAX_VALUES];
	int chan[REC_MAX_VALUES], n = poll->n < REC_MAX_VALUES ? poll->n : REC_MAX_VALUES;

	for (int k = 0; k < n; k++) {
		const struct rec_value *v = &poll->values[k];

		chan[k] = v->param < P_COUNT ? x->chan_of_param[v->param] : -1;
		why[k] = chan[k] < 0 ? PL_OK
				     : screen_value(c, &c->chans[x->first_chan + chan[k]], v,
						    em->mono_ms, em->wall_ms);
	}
	doubt_sensor(c, s, why, n);
	for (int k = 0; k < n; k++)
		if (chan[k] >= 0)
			eval_value(c, &c->chans[x->first_chan + chan[k]], &poll->values[k], why[k],
				   em);
	judge_faults(c, s, em);
}

int compliance_poll(struct compliance *c, int sensor_idx, const struct compliance_poll *p,
		    struct rec_alert *out, int max)
{
	struct cp_emit em = { .alerts = out, .amax = max };
	const struct rec_poll *poll;
	struct cp_sensor *x;

	if (!p || !p->rec || p->rec->type != REC_POLL || sensor_idx < 0 ||
	    (size_t)sensor_idx >= c->cfg->n_sensors || c->sensors[sensor_idx].outlet < 0)
		return 0;
	x = &c->sensors[sensor_idx];
	poll = &p->rec->u.poll;
	em.wall_ms = p->rec->ts_ms;
	em.mono_ms = p->mono_ms;
	note_mono(c, p->mono_ms);
	outlet_advance(c, x->outlet, &em);
	if (maint_poll(c, sensor_idx, p)) { /* kept and flagged, not judged */
		c->events_lost += (uint64_t)em.lost;
		return em.an;
	}
	judge_response(c, sensor_idx, poll, &em);
	if (p->has_counters)
		judge_crc(c, sensor_idx, p, &em);
	eval_values(c, sensor_idx, poll, &em);
	c->events_lost += (uint64_t)em.lost;
	return em.an;
}

int compliance_eval(struct compliance *c, int sensor_idx, const struct record *r,
		    struct rec_alert *out, int max)
{
	struct compliance_poll p = { .rec = r, .mono_ms = r ? r->ts_ms : 0 };

	return compliance_poll(c, sensor_idx, &p, out, max);
}
