/*
 * report_day.c - the daily sheet of `outfallctl report --day`: the day's
 * volume against the permit's daily cap, each limit's statistic against
 * its limit (instant: the extreme reading; rolling: the extreme window
 * mean; hourly: the extreme hourly mean; daily: the day's mean, from the
 * history's aggregates when it has them, which are flow-weighted like the
 * daemon's judgement, else the plain mean of the ok readings), the
 * exceedances (alerts raised that day) and each parameter's coverage.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "svg.h"

#define T(s) report_tr(r->lang, (s))

/* The extreme (max when hi, else min) of the ok readings of p. */
static double extreme_reading(const struct report *r, int p, bool hi)
{
	double e = NAN;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (x->v.param == p && x->v.quality == Q_OK && !isnan(x->v.v))
			e = isnan(e) ? x->v.v : hi ? fmax(e, x->v.v) : fmin(e, x->v.v);
	}
	return e;
}

static double extreme_rolling(const struct report *r, int p, int window_min, bool hi)
{
	size_t n = report_count(r, p, NULL), k;
	double *xs = malloc((n + 1) * sizeof(double)), *ys = malloc((n + 1) * sizeof(double));
	double e = NAN;

	if (xs && ys) {
		k = report_rolling(r, p, window_min, xs, ys);
		for (size_t i = 0; i < k; i++)
			if (!isnan(ys[i]))
				e = isnan(e) ? ys[i] : hi ? fmax(e, ys[i]) : fmin(e, ys[i]);
	}
	free(xs);
	free(ys);
	return e;
}

/* The extreme of the period means of p (AGG_HOUR or AGG_DAY). */
static double extreme_period(const struct report *r, int p, int period, bool hi)
{
	int64_t len = period == AGG_HOUR ? 3600000 : r->to_ms - r->from_ms;
	double e = NAN;

	for (size_t i = 0; i < r->n_aggs; i++) {
		const struct rpt_agg *a = &r->aggs[i];

		if (a->period == period && a->p.param == p && isfinite(a->p.avg))
			e = isnan(e) ? a->p.avg : hi ? fmax(e, a->p.avg) : fmin(e, a->p.avg);
	}
	if (!isnan(e) || len <= 0)
		return e;
	for (int64_t t = r->from_ms; t < r->to_ms; t += len) {
		double m = report_mean(r, p, t, t + len, NULL);

		if (!isnan(m))
			e = isnan(e) ? m : hi ? fmax(e, m) : fmin(e, m);
	}
	return e;
}

static double statistic(const struct report *r, const struct rpt_limit *l, bool hi)
{
	switch (l->basis) {
	case BASIS_ROLLING:
		return extreme_rolling(r, l->param, l->window_min, hi);
	case BASIS_HOURLY_MEAN:
		return extreme_period(r, l->param, AGG_HOUR, hi);
	case BASIS_DAILY_MEAN:
		return extreme_period(r, l->param, AGG_DAY, hi);
	default:
		return extreme_reading(r, l->param, hi);
	}
}

/* One row: what, statistic, limit, verdict (fail when over is true). */
static void sheet_row(const struct report *r, FILE *out, const char *what, double stat,
		      double limit, bool over)
{
	char s[48], l[48];

	/* a computed mean carries no more than the readings: 4 digits */
	if (isnan(stat))
		snprintf(s, sizeof(s), "-");
	else
		snprintf(s, sizeof(s), fabs(stat) >= 1000 ? "%.0f" : "%.4g", stat);
	report_num(limit, 0, l, sizeof(l));
	fputs("<tr><td>", out);
	svg_escape(out, what);
	fprintf(out, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>", s, l);
	if (isnan(stat))
		fprintf(out, "<td>%s</td></tr>\n", T(S_NOT_JUDGED));
	else
		fprintf(out, "<td class=\"%s\">%s</td></tr>\n", over ? "fail" : "pass",
			over ? T(S_FAIL) : T(S_PASS));
}

static void limit_rows(const struct report *r, FILE *out)
{
	static const enum rpt_str bs[] = { S_INSTANT, S_ROLLING, S_HOURLY, S_DAILY };
	char what[160];

	for (size_t i = 0; i < r->n_limits; i++) {
		const struct rpt_limit *l = &r->limits[i];

		for (int hi = 0; hi < 2; hi++) {
			double st;

			if (!(hi ? l->has_max : l->has_min))
				continue;
			st = statistic(r, l, hi);
			snprintf(what, sizeof(what), "%s (%s) %s, %s", param_name(l->param),
				 param_unit(l->param), T(hi ? S_MAX : S_MIN),
				 T(bs[l->basis < 4 ? l->basis : 0]));
			if (l->basis == BASIS_ROLLING)
				snprintf(what + strlen(what), sizeof(what) - strlen(what), " %d min",
					 l->window_min);
			sheet_row(r, out, what, st, hi ? l->max : l->min,
				  hi ? st > l->max : st < l->min);
		}
	}
}

static void coverage(const struct report *r, FILE *out)
{
	int ps[P_COUNT];
	size_t n = report_params(r, ps);

	fprintf(out, "<h3>%s</h3>\n<table class=\"sheet\">\n<tr><th>%s</th><th>%s</th>"
		"<th>%s</th><th>%s</th></tr>\n", T(S_COVERAGE), T(S_PARAMETER), T(S_GOOD),
		T(S_EXPECTED), T(S_COVERAGE));
	for (size_t i = 0; i < n; i++) {
		int iv = r->interval_s[ps[i]];
		size_t good = 0;
		/* a day still running is judged on its part so far */
		int64_t end = r->made_ms > r->from_ms && r->made_ms < r->to_ms ? r->made_ms : r->to_ms;
		double exp = iv > 0 ? (double)(end - r->from_ms) / (iv * 1000.0) : NAN;

		(void)report_mean(r, ps[i], r->from_ms, r->to_ms, &good);
		fprintf(out, "<tr><td>%s</td><td class=\"n\">%zu</td>", param_name(ps[i]), good);
		if (isnan(exp))
			fputs("<td class=\"n\">-</td><td class=\"n\">-</td></tr>\n", out);
		else
			fprintf(out, "<td class=\"n\">%.0f</td><td class=\"n\">%.1f %%</td></tr>\n",
				exp, fmin(100.0, 100.0 * (double)good / exp));
	}
	fputs("</table>\n", out);
}

void report_day_sheet(const struct report *r, FILE *out)
{
	const char *how;
	double vol = report_volume(r, r->from_ms, r->to_ms, &how);
	size_t exc = 0;
	char what[96];

	fprintf(out, "<h2>%s %s</h2>\n<table class=\"sheet\">\n<tr><th></th><th>%s</th>"
		"<th>%s</th><th>%s</th></tr>\n", T(S_DAY_SHEET), r->day, T(S_STATISTIC),
		T(S_LIMIT), T(S_RESULT));
	snprintf(what, sizeof(what), "%s (m3, %s %s)", T(S_VOLUME), T(S_VOLUME_FROM),
		 how ? how : "-");
	sheet_row(r, out, what, vol, r->has_daily_volume ? r->daily_volume_max_m3 : NAN,
		  r->has_daily_volume && vol > r->daily_volume_max_m3);
	limit_rows(r, out);
	fputs("</table>\n", out);
	for (size_t i = 0; i < r->n_alerts; i++) {
		int k = r->alerts[i].has_raised ? r->alerts[i].raised.kind : -1;

		exc += k == AK_LIMIT_EXCEEDED || k == AK_BELOW_MINIMUM ||
		       k == AK_DAILY_VOLUME_EXCEEDED;
	}
	fprintf(out, "<p>%s: <b class=\"%s\">%zu</b></p>\n", T(S_EXCEEDANCES),
		exc ? "fail" : "pass", exc);
	coverage(r, out);
}
