/*
 * carry.c - what a reload keeps that a restart cannot (see
 * compliance_carry in compliance.h). compliance_restore brings back what
 * is saved on disk: open alerts, the open hour and day, counter readings.
 * The rest lives only in the running engine and would be lost by building
 * a new one - most of all the rolling windows, whose readings are the
 * evidence of a rolling-mean alert: a reload that restarted them (say, to
 * lower a limit) would leave the outlet unjudged for a whole window.
 *
 * Everything is matched by name, never by index, since a reload may add,
 * remove or reorder anything: outlets by id, a parameter's statistics by
 * outlet and parameter, a rolling window by outlet, parameter and
 * window_min, a rule by its key, channels by sensor name and parameter.
 * A limit whose value changed keeps its window and its rule's timers; the
 * rule then judges the kept window against the new value.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int find_outlet(const struct compliance *c, const char *id)
{
	for (size_t o = 0; o < c->cfg->n_outlets; o++)
		if (strcmp(c->outlets[o].cfg->id, id) == 0)
			return (int)o;
	return -1;
}

static int find_stat(const struct compliance *c, int o, int param)
{
	const struct cp_outlet *x = &c->outlets[o];

	for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++)
		if (c->ostats[k].param == param)
			return k;
	return -1;
}

/* old's sensor index as fresh's, by name; -1 when gone. */
static int map_sensor(const struct compliance *to, const struct compliance *from, int s)
{
	return s < 0 ? -1 : config_find_sensor(to->cfg, from->cfg->sensors[s].name);
}

/* ---- rolling windows ---------------------------------------------------- */

/* c's readings added to cell d (d stays where it is in time, and leaves
 * with the newest reading it then holds). */
static void cell_merge(struct roll_cell *d, const struct roll_cell *c)
{
	d->last_ms = c->last_ms;
	d->sum += c->sum;
	d->n += c->n;
	d->covered_ms += c->covered_ms;
}

/*
 * src's readings into dst, which has the same window but may have fewer
 * cells (the sensors poll less often now). When they fit, cell for cell;
 * when not, neighbouring cells share one no wider than window / (cells -
 * 2), as roll_init lays out a ring for fast readings: no reading is lost,
 * and one stays in the window at most one such cell's width too long.
 */
static void roll_copy(struct roll *dst, const struct roll *src)
{
	int64_t width = 0;

	if (!dst->cap || dst->window_ms != src->window_ms)
		return;
	roll_reset(dst);
	if (src->len > dst->cap)
		width = dst->cap > 2 ? dst->window_ms / (dst->cap - 2) : dst->window_ms;
	for (uint32_t i = 0; i < src->len; i++) {
		const struct roll_cell *c = &src->cells[(src->head + i) % src->cap];
		struct roll_cell *last = dst->len ? &dst->cells[dst->len - 1] : NULL;

		if (last && (c->first_ms - last->first_ms < width || dst->len == dst->cap))
			cell_merge(last, c);
		else
			dst->cells[dst->len++] = *c;
		dst->sum += c->sum;
		dst->n += c->n;
		dst->covered_ms += c->covered_ms;
	}
	dst->started = src->started;
	dst->started_ms = src->started_ms;
}

static void carry_rolls(struct compliance *c, const struct compliance *old)
{
	for (int j = 0; j < c->n_rolls; j++) {
		struct cp_roll *r = &c->rolls[j];
		const struct cp_ostat *st = &c->ostats[r->ostat];
		int o = find_outlet(old, c->outlets[st->outlet].cfg->id);
		int k = o < 0 ? -1 : find_stat(old, o, st->param);

		for (int i = 0; k >= 0 && i < old->ostats[k].n_roll; i++) {
			const struct cp_roll *from = &old->rolls[old->ostats[k].first_roll + i];

			if (from->window_min == r->window_min)
				roll_copy(&r->r, &from->r);
		}
	}
}

/* ---- outlets: the open minute, what closed, the latest flow ------------- */

static void carry_outlet(struct compliance *c, int o, const struct compliance *old, int oo)
{
	struct cp_outlet *x = &c->outlets[o];
	const struct cp_outlet *y = &old->outlets[oo];

	/* hours and days came back through restore; the minute is not saved */
	if (y->open[AGG_MINUTE] && !x->open[AGG_MINUTE]) {
		x->open[AGG_MINUTE] = true;
		x->start[AGG_MINUTE] = y->start[AGG_MINUTE];
		x->end[AGG_MINUTE] = y->end[AGG_MINUTE];
		for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++) {
			int ko = find_stat(old, oo, c->ostats[k].param);

			if (ko >= 0)
				c->ostats[k].acc[AGG_MINUTE] = old->ostats[ko].acc[AGG_MINUTE];
		}
	}
	for (int p = 0; p < AGG_COUNT; p++) {
		/* a closed period never opens again, reload or not */
		if (y->last_end[p] > x->last_end[p])
			x->last_end[p] = y->last_end[p];
		if (y->pending[p] && !x->pending[p]) {
			x->closed[p] = y->closed[p];
			x->pending[p] = true;
		}
	}
	for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++) {
		int ko = find_stat(old, oo, c->ostats[k].param);

		if (ko >= 0)
			c->ostats[k].last_sensor = map_sensor(c, old, old->ostats[ko].last_sensor);
	}
	x->flow_ok = y->flow_ok;
	x->flow_m3h = y->flow_m3h;
	x->flow_mono = y->flow_mono;
	x->rain = y->rain;
	x->rain_mono = y->rain_mono;
}

/* ---- sensors and channels: health state --------------------------------- */

/* The state fields of a channel; its setup (indexes, rules, timeouts)
 * stays as the new config made it. A state field added to struct cp_chan
 * needs its line here. */
static void carry_chan(struct cp_chan *ch, const struct cp_chan *from)
{
	ch->has_ok = from->has_ok;
	ch->last_ok_mono = from->last_ok_mono;
	ch->last_q = from->last_q;
	ch->bad = from->bad;
	ch->distrust = from->distrust;
	ch->why = from->why;
	memcpy(ch->bad_flags, from->bad_flags, sizeof(ch->bad_flags));
	memcpy(ch->bad_v, from->bad_v, sizeof(ch->bad_v));
	ch->has_flat = from->has_flat;
	ch->flat_v = from->flat_v;
	ch->flat_since_mono = from->flat_since_mono;
	if (!ch->counter.has)
		ch->counter = from->counter;
	ch->seen = from->seen;
	ch->seen_has_mono = from->seen_has_mono;
	ch->seen_v = from->seen_v;
	ch->seen_mono = from->seen_mono;
	ch->seen_wall = from->seen_wall;
}

static void carry_sensor(struct compliance *c, int s, const struct compliance *old, int so)
{
	struct cp_sensor *x = &c->sensors[s];
	const struct cp_sensor *y = &old->sensors[so];

	if (x->outlet < 0 || y->outlet < 0)
		return;
	x->streak = y->streak;
	x->answered = y->answered;
	x->last_answer_wall = y->last_answer_wall;
	x->crc = y->crc;
	for (int i = x->first_chan; i < x->first_chan + x->n_chan; i++) {
		struct cp_chan *ch = &c->chans[i];
		int k = y->chan_of_param[ch->cfg->param];

		if (k >= 0)
			carry_chan(ch, &old->chans[y->first_chan + k]);
	}
}

/* ---- rules: debounce timers --------------------------------------------- */

struct keyed {
	char key[ALERTSTATE_KEY];
	int rule;
};

static int cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

/* The timers of one rule. Only where restore decided as the old engine
 * stands (both raised or both not): a rule restore cleared, or one that
 * was not raised before, starts afresh. */
static void carry_rule(struct cp_rule *r, const struct cp_rule *from)
{
	if (r->raised != from->raised)
		return;
	r->bad = from->bad;
	r->bad_since_mono = from->bad_since_mono;
	r->bad_since_wall = from->bad_since_wall;
	r->good = from->good;
	r->good_since_mono = from->good_since_mono;
	if (!r->raised)
		return;
	/* a live alert is no restart's leftover: its clear waits as usual */
	r->restored = from->restored;
	r->reminded_day = from->reminded_day;
}

static int carry_rules(struct compliance *c, const struct compliance *old)
{
	struct keyed *keys, probe;
	const struct keyed *hit;
	int n = 0;

	if (!old->n_rules || !c->n_rules)
		return 0;
	keys = malloc((size_t)old->n_rules * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (int i = 0; i < old->n_rules; i++)
		if (rule_key(old, i, keys[n].key, sizeof(keys[n].key)))
			keys[n++].rule = i;
	qsort(keys, (size_t)n, sizeof(*keys), cmp_keyed);
	for (int i = 0; i < c->n_rules; i++) {
		if (!rule_key(c, i, probe.key, sizeof(probe.key)))
			continue;
		hit = bsearch(&probe, keys, (size_t)n, sizeof(*keys), cmp_keyed);
		if (hit)
			carry_rule(&c->rules[i], &old->rules[hit->rule]);
	}
	free(keys);
	return 0;
}

int compliance_carry(struct compliance *c, const struct compliance *old)
{
	for (size_t o = 0; o < c->cfg->n_outlets; o++) {
		int oo = find_outlet(old, c->outlets[o].cfg->id);

		if (oo >= 0)
			carry_outlet(c, (int)o, old, oo);
	}
	for (size_t s = 0; s < c->cfg->n_sensors; s++) {
		int so = config_find_sensor(old->cfg, c->cfg->sensors[s].name);

		if (so >= 0)
			carry_sensor(c, (int)s, old, so);
	}
	carry_rolls(c, old);
	return carry_rules(c, old);
}
