/*
 * report_plot.c - one figure per parameter: its readings over the span
 * against the permit's limit lines, the mean its basis judges as its own
 * line, and the gaps, unhealthy stretches, maintenance and the alert as
 * shaded bands on the time axis.
 *
 * Counting points (what the browser tests rely on): every history row of
 * the parameter in the span is exactly ONE element of class "pt" inside
 * <g class="series" data-param="P" data-points="N">, N the number of rows:
 * a <circle class="pt"> at its value (class "pt q" when its quality is not
 * ok but it has a value, e.g. out_of_range), or, for a row with no value
 * (no_response, invalid), a short <rect class="pt nv"> on the time axis.
 * A limit is a <line class="limit max|min" data-limit="V" data-basis="B">.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "svg.h"
#include "base/numfmt.h"

#define PLOT_W 900
#define PLOT_H 300

static const char *const band_cls[] = {
	[BAND_GAP] = "band gap", [BAND_UNHEALTHY] = "band bad", [BAND_MAINT] = "band maint",
	[BAND_CALIB] = "band calib", [BAND_ALERT] = "band alert",
};

/* The y range: values, limits and the alert's peak, padded to nice ticks. */
static void y_range(const struct report *r, int p, double *lo, double *hi)
{
	double a = INFINITY, b = -INFINITY;

	for (size_t i = 0; i < r->n_readings; i++) {
		double v = r->readings[i].v.v;

		if (r->readings[i].v.param == p && !isnan(v)) {
			a = fmin(a, v);
			b = fmax(b, v);
		}
	}
	for (size_t i = 0; i < r->n_limits; i++) {
		const struct rpt_limit *l = &r->limits[i];

		if (l->param == p && l->has_min)
			a = fmin(a, l->min), b = fmax(b, l->min);
		if (l->param == p && l->has_max)
			a = fmin(a, l->max), b = fmax(b, l->max);
	}
	if (!isfinite(a))
		a = 0, b = 1;
	if (a > 0 && p != P_PH && p != P_TEMP && p != P_VOLUME_TOTAL)
		a = 0; /* concentrations and flow read best from zero */
	*lo = a;
	*hi = b;
}

static void x_axis(const struct svg_plot *sp, const struct report *r)
{
	int64_t ticks[SVG_MAX_TICKS], step;
	time_t t0 = (time_t)(r->from_ms / 1000);
	struct tm tm;
	double xs[SVG_MAX_TICKS];
	char lab[SVG_MAX_TICKS][24];
	const char *labels[SVG_MAX_TICKS];
	long off = localtime_r(&t0, &tm) ? tm.tm_gmtoff : 0;
	int n = svg_time_ticks(r->from_ms, r->to_ms, off, 8, ticks, &step);

	for (int i = 0; i < n; i++) {
		time_t t = (time_t)(ticks[i] / 1000);
		const char *fmt = step >= 86400000 ? "%m-%d" :
				  r->to_ms - r->from_ms > 86400000 ? "%m-%d %H:%M" : "%H:%M";

		if (!localtime_r(&t, &tm) || !strftime(lab[i], sizeof(lab[i]), fmt, &tm))
			lab[i][0] = '\0';
		xs[i] = (double)ticks[i];
		labels[i] = lab[i];
	}
	svg_axis_x(sp, xs, labels, n);
}

static void bands(const struct svg_plot *sp, const struct report *r, int p)
{
	for (size_t i = 0; i < r->n_bands; i++) {
		const struct rpt_band *b = &r->bands[i];
		char title[REC_NOTE + REC_NAME + 8];

		if (b->param >= 0 && b->param != p)
			continue;
		snprintf(title, sizeof(title), "%s%s%s", b->sensor, b->sensor[0] ? ": " : "",
			 b->note);
		svg_band(sp, (double)b->from_ms, (double)b->to_ms, band_cls[b->kind], title);
	}
}

static void limit_lines(const struct svg_plot *sp, const struct report *r, int p)
{
	for (size_t i = 0; i < r->n_limits; i++) {
		const struct rpt_limit *l = &r->limits[i];
		char num[NUMFMT_MAX], attrs[96], label[128];

		for (int k = 0; k < 2 && l->param == p; k++) {
			double v = k ? l->max : l->min;

			if (!(k ? l->has_max : l->has_min))
				continue;
			numfmt_f64(num, v);
			snprintf(attrs, sizeof(attrs), "data-limit=\"%s\" data-basis=\"%s\"", num,
				 config_basis_name((enum basis)l->basis));
			snprintf(label, sizeof(label), "%s %s %s · %s",
				 report_tr(r->lang, k ? S_MAX : S_MIN), num, param_unit(p),
				 config_basis_name((enum basis)l->basis));
			svg_hline(sp, v, k ? "limit max" : "limit min", attrs, label);
		}
	}
}

/* Hourly or daily means as steps: aggregates of that period when the
 * history has them, else the plain mean of the ok readings per period. */
static void period_means(const struct svg_plot *sp, const struct report *r, int p,
			 int period)
{
	size_t cap = 2 * (r->n_aggs + (size_t)((r->to_ms - r->from_ms) / 3600000) + 4), n = 0;
	double *xs = malloc(cap * sizeof(double)), *ys = malloc(cap * sizeof(double));

	for (size_t i = 0; xs && ys && i < r->n_aggs; i++) {
		const struct rpt_agg *a = &r->aggs[i];

		if (a->period != period || a->p.param != p || n + 2 > cap)
			continue;
		xs[n] = (double)a->ts_ms, ys[n++] = a->p.avg;
		xs[n] = (double)a->end_ms, ys[n++] = a->p.avg;
	}
	if (xs && ys && n == 0 && period == AGG_HOUR) {
		for (int64_t t = r->from_ms - r->from_ms % 3600000; t < r->to_ms &&
		     n + 2 <= cap; t += 3600000) {
			double m = report_mean(r, p, t, t + 3600000, NULL);

			xs[n] = (double)t, ys[n++] = m;
			xs[n] = (double)(t + 3600000), ys[n++] = m;
		}
	} else if (xs && ys && n == 0) {
		double m = report_mean(r, p, r->from_ms, r->to_ms, NULL);

		xs[n] = (double)r->from_ms, ys[n++] = m;
		xs[n] = (double)r->to_ms, ys[n++] = m;
	}
	if (xs && ys)
		svg_polyline(sp, xs, ys, n, "mean");
	free(xs);
	free(ys);
}

static void means(const struct svg_plot *sp, const struct report *r, int p)
{
	size_t n = report_count(r, p, NULL);
	double *xs = malloc((n + 1) * sizeof(double)), *ys = malloc((n + 1) * sizeof(double));
	bool done[4] = { false };

	for (size_t i = 0; xs && ys && i < r->n_limits; i++) {
		const struct rpt_limit *l = &r->limits[i];

		if (l->param != p || l->basis == BASIS_INSTANT)
			continue;
		if (l->basis == BASIS_ROLLING)
			svg_polyline(sp, xs, ys, report_rolling(r, p, l->window_min, xs, ys),
				     "mean");
		else if (!done[l->basis])
			period_means(sp, r, p, l->basis == BASIS_HOURLY_MEAN ? AGG_HOUR : AGG_DAY);
		done[l->basis] = true;
	}
	free(xs);
	free(ys);
}

/* Each reading is one "pt" up to PT_MAX per parameter; above, a page a
 * phone can open matters more: the line goes through each pixel column's
 * lowest and highest value (nothing a reader could see is lost), the group
 * says data-drawn="envelope", and the table and CSV keep every reading. */
#define PT_MAX 2000

/* Keeps, per pixel column, its lowest and highest value in time order, and
 * a break (NaN) where the column had a reading without a value; returns how
 * many of xs/ys are left. */
static size_t envelope(const struct svg_plot *sp, double *xs, double *ys, size_t k)
{
	size_t out = 0, i = 0;

	while (i < k) {
		long col = lround(svg_px(sp, xs[i]));
		size_t lo = SIZE_MAX, hi = SIZE_MAX, j = i;
		bool gap = false;

		for (; j < k && lround(svg_px(sp, xs[j])) == col; j++) {
			if (!isfinite(ys[j])) {
				gap = true;
				continue;
			}
			if (lo == SIZE_MAX || ys[j] < ys[lo])
				lo = j;
			if (hi == SIZE_MAX || ys[j] > ys[hi])
				hi = j;
		}
		double x0 = xs[i], ax = 0, ay = NAN, bx = 0, by = NAN;

		if (lo != SIZE_MAX) {
			ax = xs[lo < hi ? lo : hi], ay = ys[lo < hi ? lo : hi];
			bx = xs[lo < hi ? hi : lo], by = ys[lo < hi ? hi : lo];
			xs[out] = ax, ys[out++] = ay;
			if (lo != hi)
				xs[out] = bx, ys[out++] = by;
		}
		if (gap)
			xs[out] = x0, ys[out++] = NAN;
		i = j;
	}
	return out;
}

static void points(const struct svg_plot *sp, const struct report *r, int p)
{
	double base = sp->h - sp->mb;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (x->v.param != p)
			continue;
		if (isnan(x->v.v))
			fprintf(sp->out, "<rect class=\"pt nv\" x=\"%.1f\" y=\"%.1f\" width=\"1.5\" "
				"height=\"6\"/>\n", svg_px(sp, (double)x->ts_ms), base - 6);
		else
			svg_point(sp, (double)x->ts_ms, x->v.v, x->v.quality == Q_OK ? "pt" : "pt q");
	}
}

/* The readings: a line through the values, then the points (above). */
static void series(const struct svg_plot *sp, const struct report *r, int p)
{
	size_t n = report_count(r, p, NULL), k = 0;
	double *xs = malloc((n + 1) * sizeof(double)), *ys = malloc((n + 1) * sizeof(double));
	bool many = n > PT_MAX;

	for (size_t i = 0; xs && ys && i < r->n_readings; i++) {
		if (r->readings[i].v.param == p) {
			xs[k] = (double)r->readings[i].ts_ms;
			ys[k++] = r->readings[i].v.v;
		}
	}
	if (xs && ys)
		svg_polyline(sp, xs, ys, many ? envelope(sp, xs, ys, k) : k, "line");
	fprintf(sp->out, "<g class=\"series\" data-param=\"%s\" data-points=\"%zu\"%s>\n",
		param_name(p), n, many ? " data-drawn=\"envelope\"" : "");
	if (!many)
		points(sp, r, p);
	fputs("</g>\n", sp->out);
	free(xs);
	free(ys);
}

void report_plot(const struct report *r, int p, FILE *out)
{
	struct svg_plot sp = { .out = out, .w = PLOT_W, .h = PLOT_H, .ml = 58, .mr = 12,
			       .mt = 10, .mb = 26, .x0 = (double)r->from_ms,
			       .x1 = (double)r->to_ms };
	double lo, hi, first = 0, step = 1;
	size_t with_value, n = report_count(r, p, &with_value);
	char label[96];
	int nt;

	y_range(r, p, &lo, &hi);
	nt = svg_nice_ticks(lo, hi, 6, &first, &step);
	sp.y0 = nt ? fmin(first, floor(lo / step) * step) : lo;
	sp.y1 = nt ? ceil(hi / step) * step : hi;
	if (sp.y1 <= sp.y0)
		sp.y1 = sp.y0 + step;
	nt = svg_nice_ticks(sp.y0, sp.y1, 6, &first, &step);
	fprintf(out, "<figure class=\"plot\" id=\"plot-%s\">\n<figcaption>%s (%s) · %zu %s"
		"</figcaption>\n", param_name(p), param_name(p), param_unit(p), n,
		report_tr(r->lang, S_POINTS));
	snprintf(label, sizeof(label), "%s %s", param_name(p), param_unit(p));
	svg_begin(&sp, "chart", label);
	bands(&sp, r, p);
	svg_axis_y(&sp, first, step, nt);
	x_axis(&sp, r);
	limit_lines(&sp, r, p);
	means(&sp, r, p);
	series(&sp, r, p);
	svg_end(&sp);
	fputs("</figure>\n", out);
}
