/*
 * period.h - calendar periods and the statistics kept over them (DESIGN §5):
 * where the minute, the local hour and the local calendar day around a
 * wall-clock instant start and end, and an accumulator for count, min, max,
 * arithmetic and flow-weighted mean and amount (m3 or kg).
 *
 * Local time comes from the C library (localtime_r, mktime), hence from the
 * process's TZ: the daemon sets TZ to gateway.timezone once at start
 * (setenv + tzset) and leaves it alone while an engine runs; tests do the
 * same. A day is the local calendar day, 23 or 25 hours long across a DST
 * change; an hour is the local clock hour. Nothing here reads a clock:
 * every instant is an argument.
 */
#ifndef OUTFALL_PERIOD_H
#define OUTFALL_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "base/record.h"

/*
 * [*start_ms, *end_ms) of the period (enum agg_period) that holds wall_ms.
 * Always fills both: should the C library fail to convert (a time outside
 * what time_t or struct tm can hold), the UTC period is used instead.
 */
void period_bounds(int period, int64_t wall_ms, int64_t *start_ms, int64_t *end_ms);

/* Local calendar date of wall_ms as days since 1970-01-01 (the numbering of
 * config_date_days). 0 and *day, or -ERANGE (out of the library's range;
 * *day untouched). */
int period_local_day(int64_t wall_ms, int64_t *day);

/* Statistics of one parameter over one period or window. Only good readings
 * are added. */
struct acc {
	uint32_t n;          /* good readings */
	double sum;          /* of the values: the arithmetic mean */
	double min, max;     /* NaN while n == 0 */
	double wsum;         /* of the weights: m3 of water the readings stand for */
	double wvsum;        /* of weight x value: the flow-weighted mean */
	double cou;          /* amount: m3 for flow and volume, kg for a
			      * concentration; NaN while nothing was added */
	int64_t covered_ms;  /* time the good readings stand for (coverage) */
};

void acc_clear(struct acc *a);
/* Adds a good reading v standing for covered_ms. w is its weight (m3) or
 * NaN when no flow is known for it; amount (m3 or kg) is added to cou
 * unless NaN. */
void acc_add(struct acc *a, double v, double w, int64_t covered_ms, double amount);
/* Adds an amount without a reading (a counter's volume delta). */
void acc_add_cou(struct acc *a, double amount);
/* Flow-weighted when some weight is above 0, arithmetic otherwise (no flow,
 * or none known), NaN with no readings. */
double acc_mean(const struct acc *a);
/* Share of span_ms the good readings cover, 0..1 (capped: two probes of one
 * parameter, or a clock stepped back, may cover a period twice). */
double acc_coverage(const struct acc *a, int64_t span_ms);

#endif
