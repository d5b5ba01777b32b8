/*
 * report_calc.c - what the report derives from the readings themselves:
 * gap and unhealthy-quality bands, rolling means, volume and plain means,
 * which parameters to plot. Pure over struct report.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define BANDS_MAX 100000 /* beyond this the axis is one grey smear anyway */

void report_clear(struct report *r)
{
	if (!r)
		return;
	free(r->limits);
	free(r->alerts);
	free(r->readings);
	free(r->aggs);
	free(r->bands);
	r->limits = NULL;
	r->alerts = NULL;
	r->readings = NULL;
	r->aggs = NULL;
	r->bands = NULL;
	r->n_limits = r->n_alerts = r->n_readings = r->n_aggs = r->n_bands = 0;
}

int report_add_band(struct report *r, const struct rpt_band *b)
{
	struct rpt_band *nb;

	if (r->n_bands >= BANDS_MAX)
		return 0; /* said by the count in the legend; never fatal */
	if (r->n_bands == 0 || (r->n_bands >= 8 && (r->n_bands & (r->n_bands - 1)) == 0)) {
		/* full: 8, 16, 32, ... */
		nb = realloc(r->bands, (r->n_bands ? r->n_bands * 2 : 8) * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		r->bands = nb;
	}
	r->bands[r->n_bands++] = *b;
	return 0;
}

/* Gaps of parameter p: no row of p for more than RPT_GAP_POLLS intervals
 * (the sensor's, else 60 s), including the span's two ends. */
static int gap_bands(struct report *r, int p)
{
	int64_t iv = (r->interval_s[p] > 0 ? r->interval_s[p] : 60) * 1000LL;
	int64_t last = r->from_ms, lim = RPT_GAP_POLLS * iv;
	struct rpt_band b = { .kind = BAND_GAP, .param = p };

	for (size_t i = 0; i <= r->n_readings; i++) {
		int64_t t = i < r->n_readings ? r->readings[i].ts_ms : r->to_ms;

		if (i < r->n_readings && r->readings[i].v.param != p)
			continue;
		if (t - last > lim) {
			b.from_ms = last;
			b.to_ms = t;
			if (report_add_band(r, &b) < 0)
				return -ENOMEM;
		}
		last = t;
	}
	return 0;
}

/* Runs of rows of p whose quality is not ok, as one band each. */
static int unhealthy_bands(struct report *r, int p)
{
	struct rpt_band b = { .kind = BAND_UNHEALTHY, .param = p };
	bool open = false;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (x->v.param != p)
			continue;
		if (x->v.quality != Q_OK && !open) {
			open = true;
			b.from_ms = b.to_ms = x->ts_ms;
			snprintf(b.sensor, sizeof(b.sensor), "%s", x->sensor);
			snprintf(b.note, sizeof(b.note), "%s", quality_name(x->v.quality));
		} else if (x->v.quality != Q_OK) {
			b.to_ms = x->ts_ms;
		} else if (open) {
			b.to_ms = x->ts_ms;
			open = false;
			if (report_add_band(r, &b) < 0)
				return -ENOMEM;
		}
	}
	return open ? report_add_band(r, &b) : 0;
}

int report_bands(struct report *r)
{
	int ps[P_COUNT];
	size_t n = report_params(r, ps);

	for (size_t i = 0; i < n; i++)
		if (gap_bands(r, ps[i]) < 0 || unhealthy_bands(r, ps[i]) < 0)
			return -ENOMEM;
	if (r->kind == RPT_ALERT && r->alert.has_raised) {
		struct rpt_band b = { .kind = BAND_ALERT, .param = r->alert.raised.param,
				      .from_ms = r->alert.raised.since_ms,
				      .to_ms = r->alert.has_cleared ? r->alert.cleared.until_ms
								    : r->to_ms };
		return report_add_band(r, &b);
	}
	return 0;
}

size_t report_count(const struct report *r, int p, size_t *with_value)
{
	size_t n = 0, v = 0;

	for (size_t i = 0; i < r->n_readings; i++) {
		if (r->readings[i].v.param != p)
			continue;
		n++;
		v += !isnan(r->readings[i].v.v);
	}
	if (with_value)
		*with_value = v;
	return n;
}

static bool wanted(const struct report *r, int p)
{
	if (report_count(r, p, NULL))
		return true;
	for (size_t i = 0; i < r->n_limits; i++)
		if (r->limits[i].param == p)
			return true;
	return r->kind == RPT_ALERT && r->alert.has_raised && r->alert.raised.param == p;
}

size_t report_params(const struct report *r, int *out)
{
	bool seen[P_COUNT] = { false };
	int order[P_COUNT + 3];
	size_t n = 0, k = 0;

	if (r->kind == RPT_ALERT && r->alert.has_raised && r->alert.raised.param < P_COUNT)
		order[k++] = r->alert.raised.param;
	order[k++] = P_FLOW;
	order[k++] = P_VOLUME_TOTAL;
	for (int p = 0; p < P_COUNT; p++)
		order[k++] = p;
	for (size_t i = 0; i < k; i++) {
		int p = order[i];

		if (seen[p] || !wanted(r, p))
			continue;
		seen[p] = true;
		out[n++] = p;
	}
	return n;
}

static bool good(const struct rpt_reading *x, int p)
{
	return x->v.param == p && x->v.quality == Q_OK && !isnan(x->v.v);
}

size_t report_rolling(const struct report *r, int p, int window_min, double *xs,
		      double *ys)
{
	int64_t w = (int64_t)(window_min > 0 ? window_min : 1) * 60000;
	size_t lo = 0, n = 0, cnt = 0;
	double sum = 0;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (x->v.param != p || isnan(x->v.v))
			continue;
		if (good(x, p)) {
			sum += x->v.v;
			cnt++;
		}
		/* the window is (t - w, t]: drop what fell out of it */
		while (r->readings[lo].ts_ms <= x->ts_ms - w) {
			if (good(&r->readings[lo], p)) {
				sum -= r->readings[lo].v.v;
				cnt--;
			}
			lo++;
		}
		xs[n] = (double)x->ts_ms;
		ys[n++] = cnt ? sum / (double)cnt : NAN;
	}
	return n;
}

/* m3 from the volume counter's rises in [from, to); a fall is a reset. */
static double counter_volume(const struct report *r, int64_t from_ms, int64_t to_ms,
			     bool *any)
{
	double v = 0, last = NAN;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (!good(x, P_VOLUME_TOTAL) || x->ts_ms < from_ms || x->ts_ms >= to_ms)
			continue;
		if (!isnan(last) && x->v.v >= last)
			v += x->v.v - last;
		last = x->v.v;
		*any = true;
	}
	return v;
}

/* m3 by the trapezoids of flow (m3/h) between good readings no further
 * apart than a gap. */
static double flow_volume(const struct report *r, int64_t from_ms, int64_t to_ms, bool *any)
{
	int64_t iv = (r->interval_s[P_FLOW] > 0 ? r->interval_s[P_FLOW] : 60) * 1000LL;
	int64_t lt = 0;
	double v = 0, lv = NAN;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (!good(x, P_FLOW) || x->ts_ms < from_ms || x->ts_ms >= to_ms)
			continue;
		if (!isnan(lv) && x->ts_ms - lt <= RPT_GAP_POLLS * iv)
			v += (lv + x->v.v) / 2 * (double)(x->ts_ms - lt) / 3600000.0;
		lv = x->v.v;
		lt = x->ts_ms;
		*any = true;
	}
	return v;
}

double report_volume(const struct report *r, int64_t from_ms, int64_t to_ms,
		     const char **how)
{
	bool any = false;
	double v = counter_volume(r, from_ms, to_ms, &any);

	*how = "volume_total";
	if (any)
		return v;
	v = flow_volume(r, from_ms, to_ms, &any);
	*how = any ? "flow" : NULL;
	return any ? v : NAN;
}

double report_mean(const struct report *r, int p, int64_t from_ms, int64_t to_ms,
		   size_t *n)
{
	double sum = 0;
	size_t k = 0;

	for (size_t i = 0; i < r->n_readings; i++) {
		const struct rpt_reading *x = &r->readings[i];

		if (good(x, p) && x->ts_ms >= from_ms && x->ts_ms < to_ms) {
			sum += x->v.v;
			k++;
		}
	}
	if (n)
		*n = k;
	return k ? sum / (double)k : NAN;
}
