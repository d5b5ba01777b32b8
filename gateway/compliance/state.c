/*
 * state.c - carrying the engine's state across a restart or a
 * reload (compliance_export, compliance_restore, compliance_reload in
 * compliance.h): open alerts by rule key, open hours and days by
 * "<outlet>|<param>|<period>", the day's volume by "<outlet>||day_volume",
 * counter readings by "<sensor>|<param>".
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const period_key[AGG_COUNT] = { "minute", "hour", "day" };

static bool acc_key(const struct cp_outlet *x, const char *what, const char *period, char *buf,
		    size_t cap)
{
	int n = snprintf(buf, cap, "%s|%s|%s", x->cfg->id, what, period);

	return n >= 0 && (size_t)n < cap;
}

static bool counter_key(const struct compliance *c, const struct cp_chan *ch, char *buf,
			size_t cap)
{
	int n = snprintf(buf, cap, "%s|%s", c->cfg->sensors[ch->sensor].name,
			 param_name(ch->cfg->param));

	return n >= 0 && (size_t)n < cap;
}

static size_t count_accs(const struct compliance *c)
{
	size_t n = 0;

	for (size_t o = 0; o < c->cfg->n_outlets; o++)
		for (int p = AGG_HOUR; p < AGG_COUNT; p++)
			if (c->outlets[o].open[p])
				n += (size_t)c->outlets[o].n_ostat + (p == AGG_DAY);
	return n;
}

static void export_accs(const struct compliance *c, struct alertstate *st)
{
	for (size_t o = 0; o < c->cfg->n_outlets; o++) {
		const struct cp_outlet *x = &c->outlets[o];

		for (int p = AGG_HOUR; p < AGG_COUNT; p++) {
			struct alertstate_acc *a;

			if (!x->open[p])
				continue;
			for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++) {
				a = &st->accs[st->n_accs];
				if (!acc_key(x, param_name(c->ostats[k].param), period_key[p], a->key,
					     sizeof(a->key)))
					continue;
				a->start_ms = x->start[p];
				a->end_ms = x->end[p];
				a->acc = c->ostats[k].acc[p];
				st->n_accs++;
			}
			if (p != AGG_DAY)
				continue;
			a = &st->accs[st->n_accs];
			if (!acc_key(x, "", "day_volume", a->key, sizeof(a->key)))
				continue;
			a->start_ms = x->start[p];
			a->end_ms = x->end[p];
			acc_clear(&a->acc);
			a->acc.cou = x->day_m3;
			st->n_accs++;
		}
	}
}

static void export_alerts(const struct compliance *c, struct alertstate *st)
{
	for (int i = 0; i < c->n_rules; i++) {
		struct alertstate_alert *a = &st->alerts[st->n_alerts];

		if (!c->rules[i].raised || !rule_key(c, i, a->key, sizeof(a->key)))
			continue;
		a->ev = c->open[i];
		a->reminded_day = c->rules[i].reminded_day;
		st->n_alerts++;
	}
}

static void export_counters(const struct compliance *c, struct alertstate *st)
{
	for (int i = 0; i < c->n_chans; i++) {
		struct alertstate_counter *k = &st->counters[st->n_counters];

		if (!c->chans[i].counter.has ||
		    !counter_key(c, &c->chans[i], k->key, sizeof(k->key)))
			continue;
		k->last = c->chans[i].counter.last;
		/* when it was read, if that is the last reading seen */
		if (c->chans[i].seen && c->chans[i].seen_v == k->last)
			k->wall_ms = c->chans[i].seen_wall;
		st->n_counters++;
	}
}

int compliance_export(const struct compliance *c, struct alertstate *st)
{
	size_t na = (size_t)compliance_open_count(c), nc = count_accs(c);
	size_t nk = (size_t)c->n_chans;

	st->alerts = na ? calloc(na, sizeof(*st->alerts)) : NULL;
	st->accs = nc ? calloc(nc, sizeof(*st->accs)) : NULL;
	st->counters = nk ? calloc(nk, sizeof(*st->counters)) : NULL;
	if ((na && !st->alerts) || (nc && !st->accs) || (nk && !st->counters)) {
		alertstate_clear(st);
		return -ENOMEM;
	}
	/* each fills its array only when it has one: no offset on NULL */
	if (st->alerts)
		export_alerts(c, st);
	if (st->accs)
		export_accs(c, st);
	if (st->counters)
		export_counters(c, st);
	return 0;
}

void compliance_saved(struct compliance *c)
{
	c->dirty = false;
}

/* ---- restore ------------------------------------------------------------ */

static int find_rule(const struct compliance *c, const char *key)
{
	char k[ALERTSTATE_KEY];

	for (int i = 0; i < c->n_rules; i++)
		if (rule_key(c, i, k, sizeof(k)) && strcmp(k, key) == 0)
			return i;
	return -1;
}

static const struct alertstate_acc *find_acc(const struct alertstate *st, const char *key)
{
	for (size_t i = 0; i < st->n_accs; i++)
		if (strcmp(st->accs[i].key, key) == 0)
			return &st->accs[i];
	return NULL;
}

static int add_orphan(struct compliance *c, const struct rec_alert *ev, int reason)
{
	struct cp_orphan *p = realloc(c->orphans, (size_t)(c->n_orphans + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	c->orphans = p;
	c->orphans[c->n_orphans].ev = *ev;
	c->orphans[c->n_orphans++].reason = (uint8_t)reason;
	return 0;
}

/* Why an alert whose rule is gone is cleared: the outlet has another
 * permit now (or none, or is gone), or its permit's rules changed. A
 * sensor's fault or gap whose rule went with a configuration change gets
 * limit_changed too, and a note saying so. */
static int orphan_reason(const struct compliance *c, struct rec_alert *ev)
{
	int o = config_find_outlet(c->cfg, ev->outlet);
	const struct cfg_permit *p = o >= 0 ? c->outlets[o].permit : NULL;

	if (!kind_has_limit(ev->kind) && ev->kind != AK_PERMIT_EXPIRING &&
	    !(ev->kind == AK_DATA_GAP && ev->basis != BASIS_INSTANT)) {
		snprintf(ev->note, sizeof(ev->note), "%s",
			 "its rule is gone from the configuration");
		return CR_LIMIT_CHANGED;
	}
	if (!p || strcmp(p->number, ev->permit) != 0)
		return CR_PERMIT_REPLACED;
	return CR_LIMIT_CHANGED;
}

/* A permit limit restored against a rule that now has another value: the
 * alert was about the old one. */
static bool limit_moved(const struct cp_rule *r, const struct rec_alert *ev)
{
	switch (r->type) {
	case RT_LIMIT:
	case RT_VOLUME:
	case RT_NO_PERMIT:
	case RT_STORM_FLOW:
	case RT_STORM_SIG:
		return !isnan(ev->limit) && ev->limit != r->limit;
	default:
		return false;
	}
}

static int restore_alerts(struct compliance *c, const struct alertstate *st)
{
	for (size_t i = 0; i < st->n_alerts; i++) {
		const struct alertstate_alert *a = &st->alerts[i];
		int ri = find_rule(c, a->key);
		struct rec_alert ev = a->ev;

		if (ri < 0 || c->rules[ri].raised) {
			if (add_orphan(c, &ev, orphan_reason(c, &ev)) < 0)
				return -ENOMEM;
			continue;
		}
		if (limit_moved(&c->rules[ri], &a->ev)) {
			if (add_orphan(c, &a->ev, CR_LIMIT_CHANGED) < 0)
				return -ENOMEM;
			continue;
		}
		c->rules[ri].raised = true;
		c->rules[ri].restored = true;
		c->rules[ri].reminded_day = a->reminded_day;
		c->open[ri] = a->ev;
		c->open[ri].state = ALERT_RAISED;
		c->open[ri].until_ms = 0;
	}
	return 0;
}

/* One stored period of an outlet: the first one found sets the period's
 * bounds, the outlet's other statistics must share them. */
static void restore_acc(struct cp_outlet *x, int p, const struct alertstate_acc *a,
			struct acc *dst)
{
	if (!x->open[p]) {
		x->open[p] = true;
		x->start[p] = a->start_ms;
		x->end[p] = a->end_ms;
	}
	if (x->start[p] == a->start_ms && x->end[p] == a->end_ms && a->end_ms > a->start_ms)
		*dst = a->acc;
}

static void restore_periods(struct compliance *c, int o, const struct alertstate *st)
{
	struct cp_outlet *x = &c->outlets[o];
	char key[ALERTSTATE_KEY];
	const struct alertstate_acc *a;
	struct acc vol;

	for (int p = AGG_HOUR; p < AGG_COUNT; p++) {
		for (int k = x->first_ostat; k < x->first_ostat + x->n_ostat; k++)
			if (acc_key(x, param_name(c->ostats[k].param), period_key[p], key,
				    sizeof(key)) && (a = find_acc(st, key)))
				restore_acc(x, p, a, &c->ostats[k].acc[p]);
	}
	acc_clear(&vol);
	if (acc_key(x, "", "day_volume", key, sizeof(key)) && (a = find_acc(st, key))) {
		restore_acc(x, AGG_DAY, a, &vol);
		if (!isnan(vol.cou))
			x->day_m3 = vol.cou;
	}
}

static void restore_counters(struct compliance *c, const struct alertstate *st)
{
	char key[ALERTSTATE_KEY];

	for (int i = 0; i < c->n_chans; i++) {
		struct cp_chan *ch = &c->chans[i];

		if (ch->cfg->param != P_VOLUME_TOTAL || !counter_key(c, ch, key, sizeof(key)))
			continue;
		for (size_t j = 0; j < st->n_counters; j++) {
			if (strcmp(st->counters[j].key, key) != 0 || !isfinite(st->counters[j].last))
				continue;
			ch->counter.has = true;
			ch->counter.last = st->counters[j].last;
			/* the next step is judged over the time since (if known) */
			ch->seen = st->counters[j].wall_ms > 0;
			ch->seen_has_mono = false;
			ch->seen_v = st->counters[j].last;
			ch->seen_wall = st->counters[j].wall_ms;
		}
	}
}

int compliance_restore(struct compliance *c, const struct alertstate *st, int64_t wall_ms)
{
	int rc;

	c->orphan_wall_ms = wall_ms;
	rc = restore_alerts(c, st);
	for (size_t o = 0; o < c->cfg->n_outlets; o++)
		restore_periods(c, (int)o, st);
	restore_counters(c, st);
	if (c->n_orphans)
		c->dirty = true;
	return rc;
}

int compliance_reload(struct compliance **cp, const struct config *cfg, int64_t wall_ms)
{
	struct compliance *old = *cp, *fresh = compliance_new(cfg);
	struct alertstate st = { 0 };
	int rc = fresh ? compliance_export(old, &st) : -ENOMEM;

	if (rc == 0)
		rc = compliance_restore(fresh, &st, wall_ms);
	if (rc == 0)
		rc = maint_carry(fresh, old);
	if (rc == 0)
		rc = compliance_carry(fresh, old); /* carry.c: windows, timers, minute */
	/* clears the old engine had not handed out yet go with it */
	for (int i = 0; rc == 0 && i < old->n_orphans; i++)
		rc = add_orphan(fresh, &old->orphans[i].ev, old->orphans[i].reason);
	alertstate_clear(&st);
	if (rc < 0) {
		compliance_free(fresh);
		return rc;
	}
	fresh->synced = old->synced;
	fresh->dirty = true;
	compliance_free(old);
	*cp = fresh;
	return 0;
}
