/*
 * report_data.c - the thin part of `outfallctl report` that reads the local
 * history (sinks/history/history.h) into a struct report: the readings of
 * the outlet in the span, its hourly and daily aggregates, its alert
 * events (paired into raised/cleared by id) and its maintenance windows
 * (as bands). Everything else works on the struct alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "report.h"
#include "sinks/history/history.h"

#define MAINT_LOOKBACK_MS (72 * 3600000LL) /* maintenance_max_h at most */
#define ALERTS_MAX 10000

/* Grows the array whose pointer is at arrp (*n elements of size sz) by one
 * slot: the slot, or NULL (out of memory, or max reached). The pointer is
 * moved with memcpy, so any element type's pointer can be passed. */
static void *grow(void *arrp, size_t *n, size_t sz, size_t max)
{
	void *a, *na;

	if (*n >= max)
		return NULL;
	memcpy(&a, arrp, sizeof(a));
	if (*n == 0 || (*n >= 16 && (*n & (*n - 1)) == 0)) { /* full: 16, 32, 64.. */
		na = realloc(a, (*n ? *n * 2 : 16) * sz);
		if (!na)
			return NULL;
		a = na;
		memcpy(arrp, &a, sizeof(a));
	}
	return (char *)a + (*n)++ * sz;
}

static int take_reading(const struct hist_reading *h, void *arg)
{
	struct report *r = arg;
	struct rpt_reading *x = grow(&r->readings, &r->n_readings, sizeof(*x),
				     RPT_MAX_READINGS);

	if (!x)
		return r->n_readings >= RPT_MAX_READINGS ? -EFBIG : -ENOMEM;
	x->ts_ms = h->ts_ms;
	memcpy(x->sensor, h->sensor, sizeof(x->sensor));
	x->sensor[sizeof(x->sensor) - 1] = '\0';
	x->v = h->v;
	return 0;
}

static int take_aggregate(const struct hist_aggregate *h, void *arg)
{
	struct report *r = arg;
	struct rpt_agg *a = grow(&r->aggs, &r->n_aggs, sizeof(*a), RPT_MAX_READINGS);

	if (!a)
		return -ENOMEM;
	*a = (struct rpt_agg){ .ts_ms = h->ts_ms, .end_ms = h->end_ms, .period = h->period,
			       .p = h->p };
	return 0;
}

/* Pairs an event with the others of its id. */
static int take_alert(int64_t ts_ms, const struct rec_alert *e, void *arg)
{
	struct report *r = arg;
	struct rpt_alert *a = NULL;

	(void)ts_ms;
	for (size_t i = 0; i < r->n_alerts && !a; i++)
		if (strcmp(r->alerts[i].has_raised ? r->alerts[i].raised.id
						   : r->alerts[i].cleared.id, e->id) == 0)
			a = &r->alerts[i];
	if (!a) {
		a = grow(&r->alerts, &r->n_alerts, sizeof(*a), ALERTS_MAX);
		if (!a)
			return r->n_alerts >= ALERTS_MAX ? 0 : -ENOMEM;
		memset(a, 0, sizeof(*a));
	}
	if (e->state == ALERT_CLEARED) {
		a->cleared = *e;
		a->has_cleared = true;
	} else if (!a->has_raised) {
		a->raised = *e;
		a->has_raised = true;
	}
	return 0;
}

/* A maintenance event as a band: an end event closes the window at
 * until_ms, a start or extend one reaches to its planned end. A later
 * event of the same window (sensor, since) replaces the earlier band. */
static int take_maint(int64_t ts_ms, const struct rec_maint *m, void *arg)
{
	struct report *r = arg;
	struct rpt_band b = { .kind = m->mode == MM_CALIBRATION ? BAND_CALIB : BAND_MAINT,
			      .param = -1, .from_ms = m->since_ms,
			      .to_ms = m->event == MEV_END ? m->until_ms : m->planned_end_ms };

	(void)ts_ms;
	snprintf(b.sensor, sizeof(b.sensor), "%s", m->sensor);
	snprintf(b.note, sizeof(b.note), "%s", m->note);
	if (b.to_ms <= r->from_ms || b.from_ms >= r->to_ms)
		return 0;
	for (size_t i = 0; i < r->n_bands; i++) {
		struct rpt_band *o = &r->bands[i];

		if ((o->kind == BAND_MAINT || o->kind == BAND_CALIB) && o->from_ms == b.from_ms &&
		    strcmp(o->sensor, b.sensor) == 0) {
			*o = b;
			return 0;
		}
	}
	return report_add_band(r, &b);
}

static int said(int rc, const char *what)
{
	if (rc == -EFBIG)
		fprintf(stderr, "outfallctl report: more than %d readings in the span: ask for a "
			"shorter one\n", RPT_MAX_READINGS);
	else if (rc == -ENOMEM)
		fprintf(stderr, "outfallctl report: out of memory reading %s\n", what);
	else
		fprintf(stderr, "outfallctl report: the history could not be read (%s)\n", what);
	return rc == -EFBIG ? EX_USAGE : rc == -ENOMEM ? EX_OSERR : EX_IOERR;
}

int report_gather(struct history *h, struct report *r)
{
	int rc = history_readings(h, r->outlet, -1, r->from_ms, r->to_ms, take_reading, r);

	if (rc)
		return said(rc, "readings");
	for (int p = AGG_HOUR; p <= AGG_DAY; p++) {
		rc = history_aggregates(h, r->outlet, p, r->from_ms - 86400000, r->to_ms,
					take_aggregate, r);
		if (rc)
			return said(rc, "aggregates");
	}
	if (r->kind != RPT_ALERT) {
		rc = history_alerts(h, r->outlet, r->from_ms, r->to_ms, take_alert, r);
		if (rc)
			return said(rc, "alerts");
	}
	rc = history_maintenance(h, r->outlet, r->from_ms - MAINT_LOOKBACK_MS, r->to_ms,
				 take_maint, r);
	return rc ? said(rc, "maintenance") : 0;
}

int report_find_alert(struct history *h, const char *id, struct rpt_alert *out)
{
	struct report tmp = { 0 };
	int rc = history_alert_events(h, id, take_alert, &tmp);

	if (rc) {
		report_clear(&tmp);
		return said(rc, "alert events");
	}
	if (!tmp.n_alerts || !tmp.alerts[0].has_raised) {
		report_clear(&tmp);
		fprintf(stderr, "outfallctl report: no alert \"%s\" in the history (ids are shown "
			"by outfallctl status and in every alert message)\n", id);
		return EX_NOINPUT;
	}
	*out = tmp.alerts[0];
	report_clear(&tmp);
	return 0;
}
