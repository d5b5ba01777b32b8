/*
 * compliance.c - builds the engine from a config (per outlet the statistics
 * of each measured parameter and the rules on them; per sensor its channels
 * and health rules), and answers what is open (see compliance.h).
 *
 * Setup is the only place that allocates: arrays grow while the config is
 * walked and stay fixed afterwards, so every later pointer is an index.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct builder {
	struct compliance *c;
	size_t cap_rules, cap_ostats, cap_rolls, cap_chans;
	bool nomem;
};

/* Makes room for one more element of size in *arr holding n of *cap. */
static bool grow(struct builder *b, void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t want;

	if (b->nomem)
		return false;
	if (n < *cap)
		return true;
	want = *cap ? *cap * 2 : 16;
	p = realloc(*arr, want * size);
	if (!p) {
		b->nomem = true;
		return false;
	}
	*arr = p;
	*cap = want;
	return true;
}

static int add_rule(struct builder *b, const struct cp_rule *r)
{
	struct compliance *c = b->c;

	if (!grow(b, (void **)&c->rules, &b->cap_rules, (size_t)c->n_rules, sizeof(*c->rules)))
		return -1;
	c->rules[c->n_rules] = *r;
	return c->n_rules++;
}

/* A rule with the alerting section's debounce. */
static struct cp_rule base_rule(const struct compliance *c, int type, int kind, int param,
				int outlet, int sensor, double limit)
{
	const struct cfg_alerting *a = &c->cfg->alerting;

	return (struct cp_rule){ .type = (uint8_t)type, .kind = (uint8_t)kind,
				 .param = (uint8_t)param, .basis = BASIS_INSTANT,
				 .outlet = outlet, .sensor = sensor, .roll = -1, .limit = limit,
				 .hysteresis_pct = a->hysteresis_pct,
				 .raise_after_ms = (int64_t)a->raise_after_s * 1000,
				 .clear_after_ms = (int64_t)a->clear_after_s * 1000 };
}

static bool is_period(int basis)
{
	return basis == BASIS_HOURLY_MEAN || basis == BASIS_DAILY_MEAN;
}

static void add_limit(struct builder *b, int o, const struct cfg_limit *l, bool side_min, int roll)
{
	struct cp_rule r = {
		.type = RT_LIMIT, .kind = side_min ? AK_BELOW_MINIMUM : AK_LIMIT_EXCEEDED,
		.param = (uint8_t)l->param, .basis = (uint8_t)l->basis, .side_min = side_min,
		.immediate = is_period(l->basis),
		.window_min = l->basis == BASIS_ROLLING ? l->window_min : 0, .outlet = o,
		.sensor = -1, .roll = roll, .limit = side_min ? l->min : l->max,
		.hysteresis_pct = l->hysteresis_pct,
		.raise_after_ms = (int64_t)l->raise_after_s * 1000,
		.clear_after_ms = (int64_t)l->clear_after_s * 1000,
	};

	add_rule(b, &r);
}

/* Its evidence is the coverage in %, against alerting.coverage_pct: lower
 * is worse. */
static int add_nodata(struct builder *b, int o, const struct cfg_limit *l)
{
	struct cp_rule r = base_rule(b->c, RT_NODATA, AK_DATA_GAP, l->param, o, -1,
				     b->c->cfg->alerting.coverage_pct);

	r.side_min = true;
	r.basis = (uint8_t)l->basis;
	r.window_min = l->basis == BASIS_ROLLING ? l->window_min : 0;
	r.immediate = is_period(l->basis);
	return add_rule(b, &r);
}

/* Fastest poll interval of the outlet's sensors measuring param. */
static int64_t param_interval_ms(const struct config *cfg, int o, int param)
{
	const struct cfg_outlet *oc = &cfg->outlets[o];
	int64_t best = INT64_MAX;

	for (size_t i = 0; i < oc->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[oc->sensors[i]];

		for (size_t k = 0; k < s->n_channels; k++)
			if (s->channels[k].param == param && s->interval_s * 1000LL < best)
				best = s->interval_s * 1000LL;
	}
	return best == INT64_MAX ? 10000 : best;
}

/* The rolling windows of ostat k, one per distinct window_min. */
static void add_rolls(struct builder *b, int o, int k, const struct cfg_permit *p)
{
	struct compliance *c = b->c;
	struct cp_ostat *st = &c->ostats[k];

	st->first_roll = c->n_rolls;
	for (size_t i = 0; p && i < p->n_limits; i++) {
		const struct cfg_limit *l = &p->limits[i];
		struct cp_roll *r;
		bool have = false;

		if (l->param != st->param || l->basis != BASIS_ROLLING)
			continue;
		for (int j = st->first_roll; j < c->n_rolls; j++)
			have |= c->rolls[j].window_min == l->window_min;
		if (have || !grow(b, (void **)&c->rolls, &b->cap_rolls, (size_t)c->n_rolls,
				  sizeof(*c->rolls)))
			continue;
		r = &c->rolls[c->n_rolls];
		*r = (struct cp_roll){ .ostat = k, .window_min = l->window_min };
		if (roll_init(&r->r, l->window_min * 60000LL, param_interval_ms(c->cfg, o, l->param))) {
			b->nomem = true;
			return;
		}
		c->n_rolls++;
		r->r_nodata = add_nodata(b, o, l);
	}
	st->n_roll = c->n_rolls - st->first_roll;
}

static int roll_of(const struct compliance *c, const struct cp_ostat *st, int window_min)
{
	for (int j = st->first_roll; j < st->first_roll + st->n_roll; j++)
		if (c->rolls[j].window_min == window_min)
			return j;
	return -1;
}

static void add_signature(struct builder *b, int o, int k)
{
	const struct cfg_outlet *oc = b->c->outlets[o].cfg;
	const struct cp_ostat *st = &b->c->ostats[k];

	for (size_t i = 0; oc->kind == OUTLET_STORM && i < oc->n_signature; i++) {
		if (oc->signature[i].param != st->param)
			continue;
		struct cp_rule r = base_rule(b->c, RT_STORM_SIG, AK_STORM_SEWAGE, st->param, o, -1,
					     oc->signature[i].above);
		add_rule(b, &r);
	}
}

/* Rules judged on each reading: instant and rolling limits, the storm
 * signature; then those judged when an hour or a day closes. */
static void add_ostat_rules(struct builder *b, int o, int k)
{
	struct compliance *c = b->c;
	const struct cfg_permit *p = c->outlets[o].permit;
	size_t n = p ? p->n_limits : 0;

	add_rolls(b, o, k, p);
	c->ostats[k].first_rule = c->n_rules;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_limit *l = &p->limits[i];
		int roll = roll_of(c, &c->ostats[k], l->window_min);

		if (l->param != c->ostats[k].param || is_period(l->basis))
			continue;
		if (l->has_max)
			add_limit(b, o, l, false, l->basis == BASIS_ROLLING ? roll : -1);
		if (l->has_min)
			add_limit(b, o, l, true, l->basis == BASIS_ROLLING ? roll : -1);
	}
	add_signature(b, o, k);
	c->ostats[k].n_rule = c->n_rules - c->ostats[k].first_rule;
	c->ostats[k].first_prule = c->n_rules;
	for (int basis = BASIS_HOURLY_MEAN; basis <= BASIS_DAILY_MEAN; basis++) {
		const struct cfg_limit *first = NULL;

		for (size_t i = 0; i < n; i++) {
			const struct cfg_limit *l = &p->limits[i];

			if (l->param != c->ostats[k].param || (int)l->basis != basis)
				continue;
			first = first ? first : l;
			if (l->has_max)
				add_limit(b, o, l, false, -1);
			if (l->has_min)
				add_limit(b, o, l, true, -1);
		}
		if (first)
			add_nodata(b, o, first);
	}
	c->ostats[k].n_prule = c->n_rules - c->ostats[k].first_prule;
}

static int find_ostat(const struct compliance *c, int o, int param)
{
	const struct cp_outlet *out = &c->outlets[o];

	for (int k = out->first_ostat; k < out->first_ostat + out->n_ostat; k++)
		if (c->ostats[k].param == param)
			return k;
	return -1;
}

static void add_ostats(struct builder *b, int o)
{
	struct compliance *c = b->c;
	struct cp_outlet *out = &c->outlets[o];

	out->first_ostat = c->n_ostats;
	for (size_t i = 0; i < out->cfg->n_sensors; i++) {
		const struct cfg_sensor *s = &c->cfg->sensors[out->cfg->sensors[i]];

		for (size_t k = 0; k < s->n_channels; k++) {
			int param = s->channels[k].param;
			struct cp_ostat *st;

			if (param == P_FLOW && out->flow_gap_ms == 0)
				out->flow_gap_ms = s->gap_s * 1000LL;
			out->n_ostat = c->n_ostats - out->first_ostat;
			if (find_ostat(c, o, param) >= 0 ||
			    !grow(b, (void **)&c->ostats, &b->cap_ostats, (size_t)c->n_ostats,
				  sizeof(*c->ostats)))
				continue;
			st = &c->ostats[c->n_ostats++];
			*st = (struct cp_ostat){ .outlet = o, .param = (uint8_t)param,
						 .conc = strcmp(param_unit(param), "mg/L") == 0,
						 .last_sensor = -1 };
			for (int p = 0; p < AGG_COUNT; p++)
				acc_clear(&st->acc[p]);
		}
	}
	out->n_ostat = c->n_ostats - out->first_ostat;
	out->flow_ostat = find_ostat(c, o, P_FLOW);
	out->vol_ostat = find_ostat(c, o, P_VOLUME_TOTAL);
}

static void add_outlet_rules(struct builder *b, int o)
{
	struct compliance *c = b->c;
	struct cp_outlet *out = &c->outlets[o];
	const struct cfg_permit *p = out->permit;
	double noise = out->cfg->flow_noise_m3h;
	struct cp_rule r;
	bool flows = out->flow_ostat >= 0;

	out->r_volume = out->r_nopermit = out->r_expiring = out->r_storm_flow = -1;
	if (p && p->has_daily_volume && (flows || out->vol_ostat >= 0)) {
		r = base_rule(c, RT_VOLUME, AK_DAILY_VOLUME_EXCEEDED, P_VOLUME_TOTAL, o, -1,
			      p->daily_volume_max_m3);
		r.immediate = true; /* the moment the day's volume passes the cap */
		out->r_volume = add_rule(b, &r);
	}
	if (flows && (p || out->cfg->kind == OUTLET_SEWAGE)) {
		r = base_rule(c, RT_NO_PERMIT, AK_NO_VALID_PERMIT, P_FLOW, o, -1, noise);
		out->r_nopermit = add_rule(b, &r);
	}
	if (p && c->cfg->alerting.expiry_warning_days > 0) {
		r = base_rule(c, RT_EXPIRING, AK_PERMIT_EXPIRING, P_FLOW, o, -1,
			      c->cfg->alerting.expiry_warning_days);
		r.immediate = true;
		out->r_expiring = add_rule(b, &r);
	}
	if (flows && out->cfg->kind == OUTLET_STORM) {
		r = base_rule(c, RT_STORM_FLOW, AK_STORM_SEWAGE, P_FLOW, o, -1, noise);
		out->r_storm_flow = add_rule(b, &r);
	}
}

/* The most the outlet's flow can be: its flow channels' instrument range,
 * the physical bound where one has none (or there is no flow channel). */
static double max_flow(const struct config *cfg, const struct cfg_outlet *oc)
{
	double lo, most = 0, bound;
	bool any = false;

	param_bounds(P_FLOW, &lo, &bound);
	for (size_t i = 0; i < oc->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[oc->sensors[i]];

		for (size_t k = 0; k < s->n_channels; k++) {
			const struct cfg_channel *ch = &s->channels[k];
			double hi = ch->has_range && ch->range_max > 0 ? ch->range_max : bound;

			if (ch->param != P_FLOW)
				continue;
			any = true;
			most = hi > most ? hi : most;
		}
	}
	return any ? most : bound;
}

static void build_outlet(struct builder *b, int o)
{
	struct compliance *c = b->c;
	struct cp_outlet *out = &c->outlets[o];
	const struct cfg_outlet *oc = &c->cfg->outlets[o];

	out->cfg = oc;
	out->permit = oc->permit >= 0 ? &c->cfg->permits[oc->permit] : NULL;
	for (int p = 0; p < AGG_COUNT; p++)
		out->last_end[p] = INT64_MIN;
	add_ostats(b, o);
	for (int k = out->first_ostat; k < out->first_ostat + out->n_ostat && !b->nomem; k++)
		add_ostat_rules(b, o, k);
	add_outlet_rules(b, o);
	out->max_flow_m3h = max_flow(c->cfg, oc);
}

/* A health rule of one sensor, -1 when it does not apply. */
static int add_health(struct builder *b, bool applies, int type, int kind, int param, int s,
		      double limit)
{
	struct cp_rule r;

	if (!applies)
		return -1;
	r = base_rule(b->c, type, kind, param, b->c->cfg->sensors[s].outlet, s, limit);
	/* no_response_polls is the wait of the one; the other is an event,
	 * over by the next reading */
	if (type == RT_NO_RESPONSE || type == RT_COUNTER)
		r.raise_after_ms = 0;
	return add_rule(b, &r);
}

/* maintenance_overuse (maintenance.c judges them): too long, against
 * maintenance_max_h, and too often, against the starts a day allows. Both
 * raise and clear at once. */
static void add_maint_rules(struct builder *b, int s, int param)
{
	int ri = add_health(b, true, RT_MAINT_LONG, AK_MAINTENANCE, param, s,
			    b->c->cfg->alerting.maintenance_max_h);

	if (ri >= 0)
		b->c->rules[ri].immediate = true;
	ri = add_health(b, true, RT_MAINT_OFTEN, AK_MAINTENANCE, param, s,
			COMPLIANCE_MAINT_STARTS_MAX);
	if (ri >= 0)
		b->c->rules[ri].immediate = true;
}

static void add_chan(struct builder *b, int s, const struct cfg_channel *ch)
{
	struct compliance *c = b->c;
	const struct cfg_sensor *cs = &c->cfg->sensors[s];
	struct cp_chan *x;
	int i = c->n_chans;

	if (!grow(b, (void **)&c->chans, &b->cap_chans, (size_t)i, sizeof(*c->chans)))
		return;
	x = &c->chans[c->n_chans++];
	*x = (struct cp_chan){ .sensor = s, .outlet = cs->outlet, .cfg = ch,
			       .ostat = find_ostat(c, cs->outlet, ch->param),
			       .gap_ms = cs->gap_s * 1000LL, .flatline_ms = ch->flatline_s * 1000LL,
			       .nominal_ms = cs->interval_s * 1000LL };
	if (ch->param == P_VOLUME_TOTAL)
		x->modulus = counter_modulus(ch);
	x->r_gap = add_health(b, true, RT_GAP, AK_DATA_GAP, ch->param, s, cs->gap_s);
	if (!b->nomem)
		c->sensors[s].chan_of_param[ch->param] = (int8_t)(i - c->sensors[s].first_chan);
}

/* Which of the channel-level fault causes the sensor's channels can show. */
static void sensor_can(const struct cfg_sensor *cs, bool *range, bool *flat, bool *counter)
{
	*range = *flat = *counter = false;
	for (size_t k = 0; k < cs->n_channels; k++) {
		*range |= cs->channels[k].has_range;
		*flat |= cs->channels[k].flatline_s > 0;
		*counter |= cs->channels[k].param == P_VOLUME_TOTAL;
	}
}

/* One sensor_fault rule per cause the sensor can show (the rule's
 * parameter is only a placeholder: the alert lists what it affects). */
static void add_faults(struct builder *b, int s, int first)
{
	const struct cfg_sensor *cs = &b->c->cfg->sensors[s];
	const struct cfg_alerting *a = &b->c->cfg->alerting;
	struct cp_sensor *x = &b->c->sensors[s];
	bool range, flat, counter;

	sensor_can(cs, &range, &flat, &counter);
	x->r_noresp = add_health(b, true, RT_NO_RESPONSE, AK_SENSOR_FAULT, first, s,
				 a->no_response_polls);
	x->r_crc = add_health(b, a->crc_error_pct > 0, RT_CRC, AK_SENSOR_FAULT, first, s,
			      a->crc_error_pct);
	x->r_range = add_health(b, range, RT_RANGE, AK_SENSOR_FAULT, first, s, NAN);
	x->r_implaus = add_health(b, true, RT_IMPLAUSIBLE, AK_SENSOR_FAULT, first, s, NAN);
	x->r_flat = add_health(b, flat, RT_FLATLINE, AK_SENSOR_FAULT, first, s, NAN);
	x->r_counter = add_health(b, counter, RT_COUNTER, AK_SENSOR_FAULT, first, s, NAN);
}

static void build_sensor(struct builder *b, int s)
{
	struct compliance *c = b->c;
	const struct cfg_sensor *cs = &c->cfg->sensors[s];
	struct cp_sensor *x = &c->sensors[s];
	int first = cs->n_channels ? cs->channels[0].param : P_FLOW;

	memset(x->chan_of_param, -1, sizeof(x->chan_of_param));
	x->outlet = cs->outlet;
	x->first_chan = c->n_chans;
	x->r_noresp = x->r_crc = x->r_range = x->r_implaus = x->r_flat = x->r_counter = -1;
	x->registers = cs->driver == DRIVER_MODBUS;
	if (cs->outlet < 0)
		return;
	add_faults(b, s, first);
	for (size_t k = 0; k < cs->n_channels && !b->nomem; k++)
		add_chan(b, s, &cs->channels[k]);
	c->sensors[s].n_chan = c->n_chans - c->sensors[s].first_chan;
	add_maint_rules(b, s, first);
}

struct compliance *compliance_new(const struct config *cfg)
{
	struct compliance *c = calloc(1, sizeof(*c));
	struct builder b = { .c = c };

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->outlets = calloc(cfg->n_outlets ? cfg->n_outlets : 1, sizeof(*c->outlets));
	c->sensors = calloc(cfg->n_sensors ? cfg->n_sensors : 1, sizeof(*c->sensors));
	b.nomem = !c->outlets || !c->sensors;
	for (size_t o = 0; o < cfg->n_outlets && !b.nomem; o++)
		build_outlet(&b, (int)o);
	for (size_t s = 0; s < cfg->n_sensors && !b.nomem; s++)
		build_sensor(&b, (int)s);
	/* calloc: the pages of events never raised are never touched */
	if (!b.nomem)
		c->open = calloc(c->n_rules ? (size_t)c->n_rules : 1, sizeof(*c->open));
	if (b.nomem || !c->open || maint_new(c) < 0) {
		compliance_free(c);
		return NULL;
	}
	return c;
}

void compliance_free(struct compliance *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_rolls; i++)
		roll_free(&c->rolls[i].r);
	free(c->rules);
	free(c->open);
	free(c->chans);
	free(c->sensors);
	free(c->ostats);
	free(c->rolls);
	free(c->outlets);
	free(c->orphans);
	maint_free(c->mt);
	free(c);
}

/* ---- questions ---------------------------------------------------------- */

int compliance_max_events(const struct compliance *c)
{
	/* a rule moves at most twice in one call (a day's volume clears at
	 * midnight and may raise again on the same reading); a sensor's
	 * maintenance may end in a tick */
	return 2 * c->n_rules + AGG_COUNT * (int)c->cfg->n_outlets + c->n_orphans + 1 +
	       (int)c->cfg->n_sensors;
}

int compliance_active(const struct compliance *c, int outlet_idx, struct rec_alert *out, int max)
{
	int n = 0;

	for (int i = 0; i < c->n_rules; i++) {
		if (!c->rules[i].raised || c->rules[i].outlet != outlet_idx)
			continue;
		if (n < max)
			out[n] = c->open[i];
		n++;
	}
	return n;
}

int compliance_open_count(const struct compliance *c)
{
	int n = 0;

	for (int i = 0; i < c->n_rules; i++)
		n += c->rules[i].raised;
	return n;
}

int compliance_running(const struct compliance *c, int outlet_idx, int period, struct record *out)
{
	if (outlet_idx < 0 || (size_t)outlet_idx >= c->cfg->n_outlets || period < 0 ||
	    period >= AGG_COUNT || !c->outlets[outlet_idx].open[period])
		return -ENOENT;
	build_aggregate(c, outlet_idx, period, out);
	return 0;
}

uint64_t compliance_lost(const struct compliance *c)
{
	return c->events_lost + c->aggs_lost;
}

bool compliance_dirty(const struct compliance *c)
{
	return c->dirty;
}

void compliance_rain(struct compliance *c, int outlet_idx, int64_t mono_ms)
{
	if (outlet_idx < 0 || (size_t)outlet_idx >= c->cfg->n_outlets)
		return;
	c->outlets[outlet_idx].rain = true;
	c->outlets[outlet_idx].rain_mono = mono_ms;
}
