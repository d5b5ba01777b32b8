/*
 * maintenance.c - sensors in maintenance or calibration, and alerts an
 * operator closes (see compliance.h): the modes and their events, the
 * maintenance_overuse rules, what a mode or a close keeps from being
 * judged, and carrying both across a reload or a restart.
 *
 * Time. A mode ends by the monotonic clock (end_mono), so a wall clock
 * that steps neither ends it early nor stretches it; wall times are what
 * the events and the file say. Nothing here allocates after maint_new but
 * the end events a restart or reload leaves for the next tick.
 */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

struct mt_sensor {
	bool active;               /* a mode lasts */
	uint8_t mode;              /* enum maint_mode */
	int64_t since_wall;        /* it began */
	int64_t planned_end_wall;  /* it ends by itself, as published */
	int64_t end_mono;          /* it ends by itself, as judged */
	int64_t run_mono;          /* this run began (an extension keeps it) */
	char note[REC_NOTE];       /* the operator's reason */
	int64_t day;               /* local day of starts and day_ms, INT64_MIN none */
	int starts;                /* fresh starts that day */
	int64_t day_ms;            /* time in maintenance that day, up to acc_mono */
	int64_t acc_mono;
	bool ended;                /* ended_mono is set */
	int64_t ended_mono;        /* the last end: the coverage it explains */
	int r_long, r_often;       /* its maintenance_overuse rules, -1 none */
};

struct cp_maint {
	struct mt_sensor *s;       /* per configured sensor */
	int64_t *held;             /* per rule: closed by the operator, held
				    * down until this mono ms; 0 none */
	int n_active, n_held;
	bool ended;                /* last_end_mono is set */
	int64_t last_end_mono;     /* the latest end of any sensor's mode */
	bool dirty;                /* the modes changed since the last save */
	struct rec_maint *pending; /* end events for the next tick */
	int n_pending;
};

static int64_t cap_ms(const struct compliance *c)
{
	return (int64_t)c->cfg->alerting.maintenance_max_h * HOUR_MS;
}

static bool rule_up(const struct compliance *c, int ri)
{
	return ri >= 0 && c->rules[ri].raised;
}

int maint_new(struct compliance *c)
{
	size_t ns = c->cfg->n_sensors;
	struct cp_maint *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->s = calloc(ns ? ns : 1, sizeof(*m->s));
	m->held = calloc(c->n_rules ? (size_t)c->n_rules : 1, sizeof(*m->held));
	if (!m->s || !m->held) {
		maint_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ns; i++) {
		m->s[i].day = INT64_MIN;
		m->s[i].r_long = m->s[i].r_often = -1;
	}
	for (int ri = 0; ri < c->n_rules; ri++) {
		const struct cp_rule *r = &c->rules[ri];

		if (r->type == RT_MAINT_LONG)
			m->s[r->sensor].r_long = ri;
		else if (r->type == RT_MAINT_OFTEN)
			m->s[r->sensor].r_often = ri;
	}
	c->mt = m;
	return 0;
}

void maint_free(struct cp_maint *m)
{
	if (!m)
		return;
	free(m->s);
	free(m->held);
	free(m->pending);
	free(m);
}

/* An operator's text into a REC_NOTE field: control characters become
 * spaces, and a text too long is cut where a UTF-8 character begins. */
static void copy_note(char *dst, const char *src)
{
	size_t n = src ? strnlen(src, REC_NOTE) : 0;

	if (n >= REC_NOTE) {
		n = REC_NOTE - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	dst[n] = '\0';
}

/* ---- events ------------------------------------------------------------- */

static bool emit_maint(struct cp_emit *em, const struct rec_maint *ev)
{
	struct compliance_out *o = em->out;
	struct record *r;

	if (!o || o->n >= o->max)
		return false;
	r = &o->recs[o->n++];
	memset(r, 0, offsetof(struct record, u) + sizeof(r->u.maint));
	r->ts_ms = em->wall_ms;
	r->type = REC_MAINT;
	r->u.maint = *ev;
	return true;
}

static void fill_event(const struct compliance *c, int s, const struct mt_sensor *x, int event,
		       struct rec_maint *ev)
{
	const struct cfg_sensor *cs = &c->cfg->sensors[s];

	memset(ev, 0, sizeof(*ev));
	ev->event = (uint8_t)event;
	ev->mode = x->mode;
	if (cs->outlet >= 0)
		snprintf(ev->outlet, sizeof(ev->outlet), "%s", c->cfg->outlets[cs->outlet].id);
	snprintf(ev->sensor, sizeof(ev->sensor), "%s", cs->name);
	ev->since_ms = x->since_wall;
	ev->planned_end_ms = x->planned_end_wall;
	memcpy(ev->note, x->note, sizeof(ev->note));
}

static int add_pending(struct cp_maint *m, const struct rec_maint *ev)
{
	struct rec_maint *p = realloc(m->pending, (size_t)(m->n_pending + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	m->pending = p;
	m->pending[m->n_pending++] = *ev;
	return 0;
}

static void emit_pending(struct compliance *c, struct cp_emit *em)
{
	struct cp_maint *m = c->mt;
	int done = 0;

	for (; done < m->n_pending; done++) {
		struct rec_maint ev = m->pending[done];

		if (!ev.until_ms)
			ev.until_ms = em->wall_ms;
		if (!emit_maint(em, &ev))
			break;
	}
	if (done)
		memmove(m->pending, m->pending + done,
			(size_t)(m->n_pending - done) * sizeof(*m->pending));
	m->n_pending -= done;
	if (done)
		m->dirty = true;
}

/* ---- the modes ---------------------------------------------------------- */

/* Counts time in maintenance up to mono into its local day; a new day
 * starts the count and the starts afresh. */
static void roll_day(struct compliance *c, struct mt_sensor *x, int64_t wall, int64_t mono)
{
	int64_t day;

	if (x->active && mono > x->acc_mono)
		x->day_ms += mono - x->acc_mono;
	x->acc_mono = mono;
	if (!local_day(c, wall, &day) || day == x->day)
		return;
	if (x->starts || x->day_ms)
		c->mt->dirty = true;
	x->day = day;
	x->starts = 0;
	x->day_ms = 0;
}

/* The sensor's health starts afresh at mono: no gap, no silence, no flat
 * run and no garbled-answer window carried over from the mode. */
static void refresh_health(struct compliance *c, int s, int64_t mono)
{
	struct cp_sensor *x = &c->sensors[s];

	x->streak = 0;
	for (int i = x->first_chan; i < x->first_chan + x->n_chan; i++) {
		c->chans[i].has_ok = true;
		c->chans[i].last_ok_mono = mono;
		c->chans[i].has_flat = false;
	}
}

/* maintenance_overuse: one run or the local day's time past the cap, or
 * too many starts in the day. */
static void judge_overuse(struct compliance *c, int s, struct cp_emit *em)
{
	const struct mt_sensor *x = &c->mt->s[s];
	int64_t run = x->active ? em->mono_ms - x->run_mono : 0;
	int64_t worst = run > x->day_ms ? run : x->day_ms;
	bool too_long = x->active && worst > cap_ms(c);
	bool too_often = x->starts > COMPLIANCE_MAINT_STARTS_MAX;

	if (x->r_long >= 0)
		rule_judge(c, x->r_long, em, too_long, !too_long, (double)worst / HOUR_MS, Q_OK, s);
	if (x->r_often >= 0)
		rule_judge(c, x->r_often, em, too_often, !too_often, x->starts, Q_OK, s);
}

/* Ends sensor s's mode with its event; false (nothing changed) when out
 * has no room. note, if given, replaces the start's reason in the event. */
static bool end_mode(struct compliance *c, int s, int by, const char *note, struct cp_emit *em)
{
	struct cp_maint *m = c->mt;
	struct mt_sensor *x = &m->s[s];
	struct rec_maint ev;

	fill_event(c, s, x, MEV_END, &ev);
	ev.ended_by = (uint8_t)by;
	ev.until_ms = em->wall_ms;
	if (note && *note)
		copy_note(ev.note, note);
	if (!emit_maint(em, &ev))
		return false;
	x->active = false;
	m->n_active--;
	x->ended = m->ended = true;
	x->ended_mono = m->last_end_mono = em->mono_ms;
	refresh_health(c, s, em->mono_ms);
	m->dirty = true;
	return true;
}

void maint_tick(struct compliance *c, struct cp_emit *em)
{
	struct cp_maint *m = c->mt;

	if (m->n_pending)
		emit_pending(c, em);
	for (size_t i = 0; i < c->cfg->n_sensors; i++) {
		struct mt_sensor *x = &m->s[i];
		int s = (int)i;

		if (!x->active && x->day == INT64_MIN)
			continue; /* never in maintenance */
		roll_day(c, x, em->wall_ms, em->mono_ms);
		if (x->active) {
			refresh_health(c, s, em->mono_ms); /* no gap while it lasts */
			if (em->mono_ms >= x->end_mono && !end_mode(c, s, MEND_EXPIRED, NULL, em))
				continue; /* no room: the next tick ends it */
		}
		if (x->active || rule_up(c, x->r_long) || rule_up(c, x->r_often))
			judge_overuse(c, s, em);
	}
}

int compliance_maint_set(struct compliance *c, int s, const struct compliance_maint_req *rq,
			 int64_t wall_ms, int64_t mono_ms, struct compliance_out *out)
{
	struct cp_emit em = { .out = out, .wall_ms = wall_ms, .mono_ms = mono_ms };
	struct cp_maint *m = c->mt;
	struct mt_sensor *x;
	struct rec_maint ev;
	int64_t dur = rq->duration_ms ? rq->duration_ms : cap_ms(c);
	int event;

	if (s < 0 || (size_t)s >= c->cfg->n_sensors ||
	    (rq->on && (rq->mode < 0 || rq->mode >= MM_COUNT)))
		return -EINVAL;
	x = &m->s[s];
	if (!rq->on && !x->active)
		return -EALREADY;
	if (rq->on && (dur <= 0 || dur > cap_ms(c)))
		return -ERANGE;
	if (out->max - out->n < 3)
		return -ENOSPC;
	note_mono(c, mono_ms);
	roll_day(c, x, wall_ms, mono_ms);
	if (!rq->on) {
		end_mode(c, s, MEND_OPERATOR, rq->note, &em);
		judge_overuse(c, s, &em);
		return 0;
	}
	event = x->active ? MEV_EXTEND : MEV_START;
	if (!x->active) {
		x->active = true;
		m->n_active++;
		x->since_wall = wall_ms;
		x->run_mono = mono_ms;
		x->starts++;
	}
	x->mode = (uint8_t)rq->mode;
	x->planned_end_wall = wall_ms + dur;
	x->end_mono = mono_ms + dur;
	copy_note(x->note, rq->note);
	fill_event(c, s, x, event, &ev);
	emit_maint(&em, &ev);
	judge_overuse(c, s, &em);
	m->dirty = true;
	return 0;
}

uint8_t compliance_maint_flags(const struct compliance *c, int s)
{
	const struct mt_sensor *x;

	if (s < 0 || (size_t)s >= c->cfg->n_sensors)
		return 0;
	x = &c->mt->s[s];
	if (!x->active)
		return 0;
	return x->mode == MM_CALIBRATION ? RV_CALIBRATION : RV_MAINTENANCE;
}

bool compliance_maint_get(const struct compliance *c, int s, struct compliance_maint_info *out)
{
	const struct mt_sensor *x;

	if (s < 0 || (size_t)s >= c->cfg->n_sensors)
		return false;
	x = &c->mt->s[s];
	memset(out, 0, sizeof(*out));
	out->active = x->active;
	out->mode = x->mode;
	out->since_ms = x->since_wall;
	out->planned_end_ms = x->planned_end_wall;
	memcpy(out->note, x->note, sizeof(out->note));
	out->starts_today = x->starts;
	return true;
}

/* ---- what a mode or a close keeps from being judged --------------------- */

static int64_t judged_span_ms(const struct cp_rule *r)
{
	if (r->basis == BASIS_ROLLING)
		return r->window_min * 60000LL;
	return r->basis == BASIS_HOURLY_MEAN ? HOUR_MS : DAY_MS;
}

/* A sensor measuring the rule's parameter at its outlet was in maintenance
 * within the window or period the rule judges: that explains thin data. */
static bool explains_gap(const struct compliance *c, const struct cp_rule *r, int64_t mono)
{
	const struct cfg_outlet *oc = &c->cfg->outlets[r->outlet];
	int64_t span = judged_span_ms(r);

	for (size_t i = 0; i < oc->n_sensors; i++) {
		int s = oc->sensors[i];
		const struct mt_sensor *x = &c->mt->s[s];

		if (c->sensors[s].chan_of_param[r->param] < 0)
			continue;
		if (x->active || (x->ended && mono - x->ended_mono < span))
			return true;
	}
	return false;
}

bool maint_holds(struct compliance *c, int ri, bool cond, int sensor, const struct cp_emit *em)
{
	struct cp_maint *m = c->mt;
	const struct cp_rule *r = &c->rules[ri];

	if (m->n_held && m->held[ri]) {
		if (cond && em->mono_ms < m->held[ri])
			return true;
		m->held[ri] = 0; /* its condition went, or the hold ran out */
		m->n_held--;
	}
	if (!cond || (!m->n_active && !(m->ended && em->mono_ms - m->last_end_mono < DAY_MS)))
		return false;
	/* the mode's own alerts, and a period mean made of other readings */
	if (r->type == RT_EXPIRING || r->type == RT_MAINT_LONG || r->type == RT_MAINT_OFTEN ||
	    (r->type == RT_LIMIT && r->immediate))
		return false;
	if ((sensor >= 0 && m->s[sensor].active) || (r->sensor >= 0 && m->s[r->sensor].active))
		return true;
	return r->type == RT_NODATA && explains_gap(c, r, em->mono_ms);
}

bool maint_poll(struct compliance *c, int s, const struct compliance_poll *p)
{
	struct cp_sensor *x = &c->sensors[s];

	if (!c->mt->n_active || !c->mt->s[s].active)
		return false;
	refresh_health(c, s, p->mono_ms);
	if (p->has_counters) { /* what the mode garbled is not held against it */
		memset(&x->crc, 0, sizeof(x->crc));
		crcwin_add(&x->crc, p->requests, p->crc_errors);
	}
	return true;
}

/* ---- operator closes ---------------------------------------------------- */

int compliance_alert_close(struct compliance *c, const char *id, const char *note,
			   int64_t wall_ms, int64_t mono_ms, struct compliance_out *out)
{
	struct cp_emit em = { .out = out, .wall_ms = wall_ms, .mono_ms = mono_ms };
	struct cp_maint *m = c->mt;
	struct rec_alert *ev;
	int ri, n;

	for (ri = 0; ri < c->n_rules; ri++)
		if (c->rules[ri].raised && strncmp(c->open[ri].id, id, sizeof(c->open[ri].id)) == 0)
			break;
	if (ri == c->n_rules)
		return -ENOENT;
	if (out->n >= out->max)
		return -ENOSPC;
	n = out->n;
	rule_clear(c, ri, &em, c->open[ri].value, CR_CLOSED_BY_OPERATOR);
	if (out->n != n + 1)
		return -ENOSPC; /* cannot be: room was checked */
	ev = &out->recs[n].u.alert;
	ev->reason = CR_CLOSED_BY_OPERATOR;
	copy_note(ev->note, note);
	if (!m->held[ri])
		m->n_held++;
	m->held[ri] = mono_ms + cap_ms(c);
	return 0;
}

/* ---- across a reload ---------------------------------------------------- */

static int carry_holds(struct compliance *fresh, const struct compliance *old)
{
	char key[ALERTSTATE_KEY], k2[ALERTSTATE_KEY];

	for (int ri = 0; ri < old->n_rules && old->mt->n_held; ri++) {
		if (!old->mt->held[ri] || !rule_key(old, ri, key, sizeof(key)))
			continue;
		for (int fi = 0; fi < fresh->n_rules; fi++) {
			if (!rule_key(fresh, fi, k2, sizeof(k2)) || strcmp(key, k2) != 0)
				continue;
			if (!fresh->mt->held[fi])
				fresh->mt->n_held++;
			fresh->mt->held[fi] = old->mt->held[ri];
			break;
		}
	}
	return 0;
}

int maint_carry(struct compliance *fresh, const struct compliance *old)
{
	struct cp_maint *f = fresh->mt;
	const struct cp_maint *o = old->mt;

	for (size_t i = 0; i < old->cfg->n_sensors; i++) {
		const struct mt_sensor *x = &o->s[i];
		int s = config_find_sensor(fresh->cfg, old->cfg->sensors[i].name);
		struct mt_sensor *y;
		int rl, ro;

		if (s < 0) {
			struct rec_maint ev;

			fill_event(old, (int)i, x, MEV_END, &ev);
			ev.ended_by = MEND_REMOVED;
			if (x->active && add_pending(f, &ev) < 0)
				return -ENOMEM;
			continue;
		}
		y = &f->s[s];
		rl = y->r_long;
		ro = y->r_often;
		*y = *x;
		y->r_long = rl;
		y->r_often = ro;
		f->n_active += y->active;
	}
	for (int i = 0; i < o->n_pending; i++)
		if (add_pending(f, &o->pending[i]) < 0)
			return -ENOMEM;
	f->ended = o->ended;
	f->last_end_mono = o->last_end_mono;
	f->dirty = o->dirty || f->n_pending;
	return carry_holds(fresh, old);
}

/* ---- across a restart --------------------------------------------------- */

bool compliance_maint_dirty(const struct compliance *c)
{
	return c->mt->dirty;
}

void compliance_maint_saved(struct compliance *c)
{
	c->mt->dirty = false;
}

int compliance_maint_export(const struct compliance *c, int64_t wall_ms, struct maintstate *st)
{
	size_t n = 0;

	for (size_t i = 0; i < c->cfg->n_sensors; i++)
		n += c->mt->s[i].active || c->mt->s[i].starts || c->mt->s[i].day_ms;
	st->saved_ms = wall_ms;
	st->e = n ? calloc(n, sizeof(*st->e)) : NULL;
	if (n && !st->e)
		return -ENOMEM;
	for (size_t i = 0; i < c->cfg->n_sensors; i++) {
		const struct mt_sensor *x = &c->mt->s[i];
		struct maintstate_entry *e = &st->e[st->n];

		if (!x->active && !x->starts && !x->day_ms)
			continue;
		snprintf(e->sensor, sizeof(e->sensor), "%s", c->cfg->sensors[i].name);
		e->active = x->active;
		e->mode = x->mode;
		e->since_ms = x->since_wall;
		e->planned_end_ms = x->planned_end_wall;
		memcpy(e->note, x->note, sizeof(e->note));
		e->day = x->day;
		e->starts = (uint32_t)x->starts;
		e->day_ms = x->day_ms;
		st->n++;
	}
	return 0;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One stored mode that is still on: back with its time left (at most the
 * cap whatever the wall clock did), or ended at its planned end. */
static int restore_mode(struct compliance *c, int s, const struct maintstate_entry *e,
			int64_t saved_ms, int64_t wall, int64_t mono)
{
	struct cp_maint *m = c->mt;
	struct mt_sensor *x = &m->s[s];
	int64_t from;

	x->mode = e->mode;
	x->since_wall = e->since_ms;
	x->planned_end_wall = e->planned_end_ms;
	memcpy(x->note, e->note, sizeof(x->note));
	if (e->planned_end_ms <= wall) {
		struct rec_maint ev;

		fill_event(c, s, x, MEV_END, &ev);
		ev.ended_by = MEND_EXPIRED;
		ev.until_ms = e->planned_end_ms > e->since_ms ? e->planned_end_ms : e->since_ms;
		x->ended = true;
		x->ended_mono = mono;
		return add_pending(m, &ev);
	}
	x->active = true;
	m->n_active++;
	x->end_mono = mono + clamp64(e->planned_end_ms - wall, 1, cap_ms(c));
	x->run_mono = mono - clamp64(wall - e->since_ms, 0, DAY_MS);
	/* the time the daemon was down counts, from the day's start at most */
	from = saved_ms > e->since_ms ? saved_ms : e->since_ms;
	if (c->day_valid && from < c->day_start)
		from = c->day_start;
	x->day_ms += clamp64(wall - from, 0, DAY_MS);
	return 0;
}

int compliance_maint_restore(struct compliance *c, const struct maintstate *st, int64_t wall_ms,
			     int64_t mono_ms)
{
	int64_t today = INT64_MIN;
	int rc = 0;

	note_mono(c, mono_ms);
	local_day(c, wall_ms, &today);
	for (size_t i = 0; i < st->n && rc == 0; i++) {
		const struct maintstate_entry *e = &st->e[i];
		int s = config_find_sensor(c->cfg, e->sensor);
		struct mt_sensor *x;

		if (s < 0) { /* a sensor the config no longer has: its mode ends */
			if (e->active)
				rc = add_pending(c->mt, &(struct rec_maint){
					.event = MEV_END, .mode = e->mode, .ended_by = MEND_REMOVED,
					.since_ms = e->since_ms, .planned_end_ms = e->planned_end_ms });
			if (e->active && rc == 0) {
				struct rec_maint *ev = &c->mt->pending[c->mt->n_pending - 1];

				memcpy(ev->sensor, e->sensor, sizeof(ev->sensor));
				memcpy(ev->note, e->note, sizeof(ev->note));
			}
			continue;
		}
		x = &c->mt->s[s];
		x->day = today;
		x->acc_mono = mono_ms;
		if (e->day == today) {
			x->starts = (int)e->starts;
			x->day_ms = e->day_ms;
		}
		if (e->active && e->mode < MM_COUNT)
			rc = restore_mode(c, s, e, st->saved_ms, wall_ms, mono_ms);
	}
	if (c->mt->n_pending)
		c->mt->dirty = true;
	return rc;
}
