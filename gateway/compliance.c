/*
 * compliance.c - instant-limit rules and their raise/clear state machine
 * (see compliance.h).
 */
#include "compliance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "param.h"

enum side { SIDE_MAX, SIDE_MIN };

/* One side of one permit limit, applied to one outlet. */
struct rule {
	int outlet;             /* index into cfg->outlets */
	const struct cfg_limit *limit;
	enum side side;
	bool raised;
	int64_t bad_since_ms;   /* first reading beyond the limit, 0 if none */
	int64_t good_since_ms;  /* first reading back inside the band, 0 if none */
	struct rec_alert open;  /* the raised event, kept for evidence */
};

struct compliance {
	const struct config *cfg;
	struct rule *rules;
	size_t n_rules;
};

static size_t count_rules(const struct config *cfg)
{
	size_t n = 0;

	for (size_t o = 0; o < cfg->n_outlets; o++) {
		const struct cfg_outlet *out = &cfg->outlets[o];

		if (out->permit < 0)
			continue;
		const struct cfg_permit *p = &cfg->permits[out->permit];
		for (size_t l = 0; l < p->n_limits; l++)
			n += p->limits[l].has_min + p->limits[l].has_max;
	}
	return n;
}

static void add_rules(struct compliance *c)
{
	const struct config *cfg = c->cfg;

	for (size_t o = 0; o < cfg->n_outlets; o++) {
		if (cfg->outlets[o].permit < 0)
			continue;
		const struct cfg_permit *p = &cfg->permits[cfg->outlets[o].permit];
		for (size_t l = 0; l < p->n_limits; l++) {
			const struct cfg_limit *lim = &p->limits[l];

			if (lim->has_max)
				c->rules[c->n_rules++] = (struct rule){ .outlet = (int)o, .limit = lim, .side = SIDE_MAX };
			if (lim->has_min)
				c->rules[c->n_rules++] = (struct rule){ .outlet = (int)o, .limit = lim, .side = SIDE_MIN };
		}
	}
}

struct compliance *compliance_new(const struct config *cfg)
{
	struct compliance *c = calloc(1, sizeof(*c));
	size_t n = count_rules(cfg);

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->rules = calloc(n ? n : 1, sizeof(*c->rules));
	if (!c->rules) {
		free(c);
		return NULL;
	}
	add_rules(c);
	return c;
}

void compliance_free(struct compliance *c)
{
	if (!c)
		return;
	free(c->rules);
	free(c);
}

static double limit_of(const struct rule *r)
{
	return r->side == SIDE_MAX ? r->limit->max : r->limit->min;
}

static bool beyond(const struct rule *r, double v)
{
	return r->side == SIDE_MAX ? v > r->limit->max : v < r->limit->min;
}

/* Back inside the hysteresis band: the limit moved inwards by pct of it. */
static bool inside_band(const struct rule *r, double v)
{
	double band = fabs(limit_of(r)) * r->limit->hysteresis_pct / 100.0;

	return r->side == SIDE_MAX ? v <= r->limit->max - band : v >= r->limit->min + band;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static void fill_raised(struct compliance *c, struct rule *r, int sensor_idx,
			const struct record *rec, double v)
{
	const struct config *cfg = c->cfg;
	const struct cfg_outlet *o = &cfg->outlets[r->outlet];
	const struct cfg_permit *p = &cfg->permits[o->permit];
	struct rec_alert *a = &r->open;

	memset(a, 0, sizeof(*a));
	a->state = ALERT_RAISED;
	a->kind = r->side == SIDE_MAX ? AK_LIMIT_EXCEEDED : AK_BELOW_MINIMUM;
	a->param = (uint8_t)r->limit->param;
	a->basis = (uint8_t)r->limit->basis;
	a->sensor_health = Q_OK;
	a->window_min = r->limit->basis == BASIS_ROLLING ? r->limit->window_min : 0;
	copy_name(a->outlet, sizeof(a->outlet), o->id);
	copy_name(a->sensor, sizeof(a->sensor), cfg->sensors[sensor_idx].name);
	copy_name(a->permit, sizeof(a->permit), p->number);
	copy_name(a->holder, sizeof(a->holder), p->holder);
	a->limit = limit_of(r);
	a->value = v;
	a->peak = v;
	a->since_ms = r->bad_since_ms;
	snprintf(a->id, sizeof(a->id), "%s/%s/%s/%s/%lld", cfg->id, o->id,
		 param_name(a->param), config_basis_name(r->limit->basis),
		 (long long)rec->ts_ms);
}

static bool worse(const struct rule *r, double v, double peak)
{
	return r->side == SIDE_MAX ? v > peak : v < peak;
}

/* Advances one rule with a good value; returns true when it emitted. */
static bool step(struct compliance *c, struct rule *r, int sensor_idx,
		 const struct record *rec, double v, struct rec_alert *out)
{
	int64_t ts = rec->ts_ms;

	if (!r->raised) {
		if (!beyond(r, v)) {
			r->bad_since_ms = 0;
			return false;
		}
		if (!r->bad_since_ms)
			r->bad_since_ms = ts;
		if (ts - r->bad_since_ms < (int64_t)r->limit->raise_after_s * 1000)
			return false;
		r->raised = true;
		r->good_since_ms = 0;
		fill_raised(c, r, sensor_idx, rec, v);
		*out = r->open;
		return true;
	}
	if (worse(r, v, r->open.peak))
		r->open.peak = v;
	if (!inside_band(r, v)) {
		r->good_since_ms = 0;
		return false;
	}
	if (!r->good_since_ms)
		r->good_since_ms = ts;
	if (ts - r->good_since_ms < (int64_t)r->limit->clear_after_s * 1000)
		return false;
	r->raised = false;
	r->bad_since_ms = 0;
	*out = r->open;
	out->state = ALERT_CLEARED;
	out->value = v;
	out->until_ms = ts;
	return true;
}

int compliance_eval(struct compliance *c, int sensor_idx, const struct record *r,
		    struct rec_alert *out, int max)
{
	int outlet = c->cfg->sensors[sensor_idx].outlet;
	int n = 0;

	if (r->type != REC_POLL || outlet < 0)
		return 0;
	for (size_t i = 0; i < c->n_rules && n < max; i++) {
		struct rule *rule = &c->rules[i];

		if (rule->outlet != outlet || rule->limit->basis != BASIS_INSTANT)
			continue;
		for (int k = 0; k < r->u.poll.n && n < max; k++) {
			const struct rec_value *val = &r->u.poll.values[k];

			if (val->param != rule->limit->param || val->quality != Q_OK)
				continue;
			if (step(c, rule, sensor_idx, r, val->v, &out[n]))
				n++;
		}
	}
	return n;
}

int compliance_open_count(const struct compliance *c)
{
	int n = 0;

	for (size_t i = 0; i < c->n_rules; i++)
		n += c->rules[i].raised;
	return n;
}
