/*
 * period.c - local calendar periods and the period accumulator (see
 * period.h).
 */
#include "period.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "config/config.h"

#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

/* Rounds towards minus infinity: instants before 1970 belong to the period
 * that starts before them, not after. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static void utc_bounds(int64_t step_ms, int64_t wall_ms, int64_t *start_ms, int64_t *end_ms)
{
	*start_ms = floor_div(wall_ms, step_ms) * step_ms;
	*end_ms = *start_ms + step_ms;
}

static bool local_tm(int64_t wall_ms, struct tm *tm)
{
	time_t t = (time_t)floor_div(wall_ms, 1000);

	return localtime_r(&t, tm) != NULL;
}

/* The local hour starts tm_min:tm_sec before now. Counting back from the
 * instant, rather than asking mktime for hh:00, keeps the two 02:00 hours
 * of an autumn DST change apart. */
static bool local_hour(int64_t wall_ms, int64_t *start_ms, int64_t *end_ms)
{
	struct tm tm;
	int64_t into_ms;

	if (!local_tm(wall_ms, &tm))
		return false;
	into_ms = ((int64_t)tm.tm_min * 60 + tm.tm_sec) * 1000 +
		  (wall_ms - floor_div(wall_ms, 1000) * 1000);
	*start_ms = wall_ms - into_ms;
	*end_ms = *start_ms + HOUR_MS;
	return true;
}

/* Local midnight at the start of day's date plus add_days. The end of one
 * day and the start of the next come from the same call, so days tile even
 * where a DST change jumps over midnight itself. */
static bool local_midnight(const struct tm *day, int add_days, int64_t *ms)
{
	struct tm m = { .tm_year = day->tm_year, .tm_mon = day->tm_mon,
			.tm_mday = day->tm_mday + add_days, .tm_isdst = -1 };
	time_t t = mktime(&m);

	if (t == (time_t)-1)
		return false;
	*ms = (int64_t)t * 1000;
	return true;
}

static bool local_day(int64_t wall_ms, int64_t *start_ms, int64_t *end_ms)
{
	struct tm tm;
	int64_t s, e;

	if (!local_tm(wall_ms, &tm) || !local_midnight(&tm, 0, &s) ||
	    !local_midnight(&tm, 1, &e) || !(s <= wall_ms && wall_ms < e))
		return false;
	*start_ms = s;
	*end_ms = e;
	return true;
}

void period_bounds(int period, int64_t wall_ms, int64_t *start_ms, int64_t *end_ms)
{
	switch (period) {
	case AGG_HOUR:
		if (!local_hour(wall_ms, start_ms, end_ms))
			utc_bounds(HOUR_MS, wall_ms, start_ms, end_ms);
		return;
	case AGG_DAY:
		if (!local_day(wall_ms, start_ms, end_ms))
			utc_bounds(DAY_MS, wall_ms, start_ms, end_ms);
		return;
	default:
		/* every zone in use today is a whole number of minutes off UTC */
		utc_bounds(MINUTE_MS, wall_ms, start_ms, end_ms);
		return;
	}
}

int period_local_day(int64_t wall_ms, int64_t *day)
{
	struct tm tm;

	if (!local_tm(wall_ms, &tm))
		return -ERANGE;
	*day = config_date_days((struct cfg_date){ tm.tm_year + 1900, tm.tm_mon + 1,
						   tm.tm_mday });
	return 0;
}

/* ---- the accumulator ---------------------------------------------------- */

void acc_clear(struct acc *a)
{
	*a = (struct acc){ .min = NAN, .max = NAN, .cou = NAN };
}

void acc_add_cou(struct acc *a, double amount)
{
	if (isnan(amount))
		return;
	a->cou = isnan(a->cou) ? amount : a->cou + amount;
}

void acc_add(struct acc *a, double v, double w, int64_t covered_ms, double amount)
{
	if (a->n == 0 || v < a->min)
		a->min = v;
	if (a->n == 0 || v > a->max)
		a->max = v;
	a->n++;
	a->sum += v;
	a->covered_ms += covered_ms;
	if (!isnan(w)) {
		a->wsum += w;
		a->wvsum += w * v;
	}
	acc_add_cou(a, amount);
}

double acc_mean(const struct acc *a)
{
	if (a->wsum > 0)
		return a->wvsum / a->wsum;
	return a->n ? a->sum / a->n : NAN;
}

double acc_coverage(const struct acc *a, int64_t span_ms)
{
	double f;

	if (span_ms <= 0)
		return 0;
	f = (double)a->covered_ms / (double)span_ms;
	return f > 1 ? 1 : f;
}
