/*
 * test_period.c - the engine's small pure parts: local calendar periods
 * (Asia/Shanghai, and Europe/Berlin across both DST changes), the period
 * accumulator against hand computations, the rolling window's exact edge
 * and its bounded ring, volume counter steps (wrap, reset, replaced meter)
 * and the garbled-answer rate.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "compliance/health.h"
#include "compliance/period.h"
#include "compliance/rolling.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

struct bounds_case {
	const char *tz;
	int period;
	int64_t at, start, end;
	const char *why;
};

static const struct bounds_case bounds_cases[] = {
	/* Shanghai, UTC+8, no DST: days run 16:00Z to 16:00Z */
	{ "Asia/Shanghai", AGG_DAY, 1764431940000, 1764345600000, 1764432000000, "23:59 local" },
	{ "Asia/Shanghai", AGG_DAY, 1764432000000, 1764432000000, 1764518400000, "00:00 local" },
	{ "Asia/Shanghai", AGG_HOUR, 1764431940000, 1764428400000, 1764432000000, "23:59" },
	{ "Asia/Shanghai", AGG_MINUTE, 1764431999999, 1764431940000, 1764432000000, "xx:59.999" },
	/* Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST, a 23-hour day */
	{ "Europe/Berlin", AGG_DAY, 1774744200000, 1774738800000, 1774821600000, "spring day" },
	{ "Europe/Berlin", AGG_DAY, 1774738799999, 1774652400000, 1774738800000, "day before" },
	{ "Europe/Berlin", AGG_HOUR, 1774744200000, 1774742400000, 1774746000000, "01:30 CET" },
	{ "Europe/Berlin", AGG_HOUR, 1774747800000, 1774746000000, 1774749600000, "03:30 CEST" },
	/* 25 October 2026: 03:00 CEST becomes 02:00 CET, a 25-hour day with
	 * two hours called 02:00 */
	{ "Europe/Berlin", AGG_DAY, 1792888200000, 1792879200000, 1792969200000, "autumn day" },
	{ "Europe/Berlin", AGG_DAY, 1792969200000, 1792969200000, 1793055600000, "day after" },
	{ "Europe/Berlin", AGG_HOUR, 1792888200000, 1792886400000, 1792890000000, "02:30 CEST" },
	{ "Europe/Berlin", AGG_HOUR, 1792891800000, 1792890000000, 1792893600000, "02:30 CET" },
	/* before 1970 the period starts before the instant */
	{ "UTC", AGG_MINUTE, -1, -60000, 0, "1969" },
};

static void test_period_bounds(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bounds_cases) / sizeof(bounds_cases[0]); i++) {
		const struct bounds_case *b = &bounds_cases[i];
		int64_t s = 0, e = 0;

		set_tz(b->tz);
		period_bounds(b->period, b->at, &s, &e);
		if (s != b->start || e != b->end)
			fail_msg("%s %s: [%lld, %lld), want [%lld, %lld)", b->tz, b->why,
				 (long long)s, (long long)e, (long long)b->start,
				 (long long)b->end);
	}
}

/* Days tile: each one's end is the next one's start, through both changes. */
static void test_days_tile(void **state)
{
	int64_t t = 1774306800000; /* 2026-03-24 00:00 CET */
	int lengths[40];

	(void)state;
	set_tz("Europe/Berlin");
	for (int i = 0; i < 40; i++) {
		int64_t s, e;

		period_bounds(AGG_DAY, t, &s, &e);
		assert_int_equal(s, t);
		lengths[i] = (int)((e - s) / HOUR_MS);
		t = e;
	}
	assert_int_equal(lengths[4], 24); /* 28 March */
	assert_int_equal(lengths[5], 23); /* 29 March */
	assert_int_equal(lengths[6], 24);
	t = 1792706400000; /* 2026-10-23 00:00 CEST */
	for (int i = 0; i < 4; i++) {
		int64_t s, e;

		period_bounds(AGG_DAY, t, &s, &e);
		lengths[i] = (int)((e - s) / HOUR_MS);
		t = e;
	}
	assert_int_equal(lengths[1], 24); /* 24 October */
	assert_int_equal(lengths[2], 25); /* 25 October */
	assert_int_equal(lengths[3], 24);
}

static void test_local_day(void **state)
{
	int64_t d = 0;

	(void)state;
	set_tz("Asia/Shanghai");
	assert_int_equal(period_local_day(1764431999999, &d), 0);
	assert_int_equal(d, config_date_days((struct cfg_date){ 2025, 11, 29 }));
	assert_int_equal(period_local_day(1764432000000, &d), 0);
	assert_int_equal(d, config_date_days((struct cfg_date){ 2025, 11, 30 }));
	set_tz("Europe/Berlin");
	assert_int_equal(period_local_day(1774738800000, &d), 0);
	assert_int_equal(d, config_date_days((struct cfg_date){ 2026, 3, 29 }));
}

/* ---- accumulator -------------------------------------------------------- */

/* Three cod readings with the flow at each: 100 mg/L at 10 m3/h for 0.5 h,
 * 300 at 30 for 0.5 h, 200 at 0 for 0.5 h. By hand: weights 5, 15, 0 m3;
 * flow-weighted mean (500 + 4500) / 20 = 250 mg/L; arithmetic 200; load
 * (100 x 5 + 300 x 15) / 1000 = 5 kg. */
static void test_acc_hand_computed(void **state)
{
	struct acc a;
	const double v[] = { 100, 300, 200 }, q[] = { 10, 30, 0 };

	(void)state;
	acc_clear(&a);
	assert_true(isnan(acc_mean(&a)) && isnan(a.cou) && isnan(a.min));
	for (int i = 0; i < 3; i++) {
		double w = q[i] * 0.5;

		acc_add(&a, v[i], w, 30 * MIN_MS, v[i] * w / 1000.0);
	}
	assert_int_equal(a.n, 3);
	assert_true(acc_mean(&a) == 250.0);
	assert_true(a.cou == 5.0);
	assert_true(a.min == 100.0 && a.max == 300.0);
	assert_true(acc_coverage(&a, 2 * HOUR_MS) == 0.75);
	assert_true(acc_coverage(&a, HOUR_MS) == 1.0); /* capped */
	assert_true(acc_coverage(&a, 0) == 0.0);
	/* no weights at all: arithmetic */
	acc_clear(&a);
	acc_add(&a, 100, NAN, MIN_MS, NAN);
	acc_add(&a, 300, 0, MIN_MS, NAN);
	assert_true(acc_mean(&a) == 200.0);
	assert_true(isnan(a.cou));
	acc_add_cou(&a, 2.5);
	acc_add_cou(&a, NAN);
	assert_true(a.cou == 2.5);
}

/* ---- rolling window ----------------------------------------------------- */

static void test_roll_edge(void **state)
{
	struct roll r;

	(void)state;
	assert_int_equal(roll_init(&r, 10 * MIN_MS, MIN_MS), 0);
	assert_int_equal(r.cell_ms, 0);
	roll_add(&r, 0, 1000, MIN_MS);
	for (int i = 1; i < 10; i++)
		roll_add(&r, i * MIN_MS, 0, MIN_MS);
	assert_true(roll_mean(&r) == 100.0);
	assert_true(roll_coverage(&r) == 1.0);
	assert_false(roll_established(&r, 10 * MIN_MS - 1));
	assert_true(roll_established(&r, 10 * MIN_MS));
	roll_evict(&r, 10 * MIN_MS - 1); /* 0 is still inside (-0.001, 9:59.999] */
	assert_true(roll_mean(&r) == 100.0);
	roll_evict(&r, 10 * MIN_MS);     /* and out of (0, 10:00] */
	assert_true(roll_mean(&r) == 0.0);
	assert_int_equal(r.n, 9);
	assert_true(roll_coverage(&r) == 0.9);
	roll_evict(&r, 100 * MIN_MS);
	assert_true(isnan(roll_mean(&r)));
	assert_true(roll_coverage(&r) == 0.0);
	roll_reset(&r);
	assert_false(roll_established(&r, 1000 * MIN_MS));
	roll_free(&r);
	roll_free(&r);
}

/* A day's window of readings each second cannot hold a cell per reading:
 * cells of window/510 keep the mean and memory bounded. */
static void test_roll_bucketed(void **state)
{
	struct roll r;
	int64_t w = 1440 * MIN_MS;

	(void)state;
	assert_int_equal(roll_init(&r, w, 1000), 0);
	assert_int_equal(r.cap, ROLL_CELLS_MAX);
	assert_true(r.cell_ms > 0);
	for (int64_t t = 0; t < 2 * w; t += 1000)
		roll_add(&r, t, t < w ? 10.0 : 20.0, 1000);
	assert_true(r.len <= r.cap);
	/* the window (w, 2w) holds the 20s, and at most a cell of 10s */
	assert_true(roll_mean(&r) > 19.9 && roll_mean(&r) <= 20.0);
	assert_true(roll_coverage(&r) == 1.0);
	roll_free(&r);
}

/* Readings much faster than sized for merge the oldest cells: nothing is
 * lost, the totals stay exact. */
static void test_roll_overfull(void **state)
{
	struct roll r;

	(void)state;
	assert_int_equal(roll_init(&r, 10 * MIN_MS, MIN_MS), 0);
	for (int i = 0; i < 100; i++)
		roll_add(&r, 1000 + i, (double)i, 1);
	assert_true(r.len <= r.cap);
	assert_int_equal(r.n, 100);
	assert_true(roll_mean(&r) == 49.5);
	roll_free(&r);
}

/* ---- counters ----------------------------------------------------------- */

struct counter_case {
	enum value_type type;
	double scale;
	double from, to;
	int step;       /* enum counter_step */
	double delta;
	const char *why;
};

static const struct counter_case counter_cases[] = {
	{ VT_UINT32, 1.0, 100, 105, CNT_FORWARD, 5, "counts on" },
	{ VT_UINT32, 1.0, 100, 100, CNT_FORWARD, 0, "stands still" },
	{ VT_UINT32, 1.0, 4294967290.0, 4, CNT_WRAP, 10, "uint32 wraps" },
	{ VT_UINT16, 0.1, 6553.0, 0.5, CNT_WRAP, 1.1, "uint16 x 0.1 wraps" },
	{ VT_INT32, 1.0, 2147483647.0, -2147483647.0, CNT_WRAP, 2, "int32 wraps to -max" },
	{ VT_UINT32, 1.0, 123456, 0, CNT_BACKWARDS, 0, "reset to 0" },
	{ VT_UINT32, 1.0, 123456, 2000, CNT_BACKWARDS, 0, "replaced meter" },
	{ VT_UINT16, 1.0, 30000, 100, CNT_BACKWARDS, 0, "not near the top: a reset" },
	{ VT_FLOAT32, 1.0, 5000.5, 12.5, CNT_BACKWARDS, 0, "floats never wrap" },
	{ VT_FLOAT32, 1.0, 100000.0, 99999.999, CNT_FORWARD, 0, "float rounding" },
};

static void test_counter_steps(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(counter_cases) / sizeof(counter_cases[0]); i++) {
		const struct counter_case *k = &counter_cases[i];
		struct cfg_channel ch = { .type = k->type, .scale = k->scale };
		struct counter c = { 0 };
		double d = -1;

		assert_int_equal(counter_step(&c, k->from, counter_modulus(&ch), &d), CNT_FIRST);
		assert_true(d == 0);
		if ((int)counter_step(&c, k->to, counter_modulus(&ch), &d) != k->step ||
		    fabs(d - k->delta) > 1e-6)
			fail_msg("%s: step or delta %g wrong (want %g)", k->why, d, k->delta);
		/* after a reset the new reading is the base */
		if (k->step == CNT_BACKWARDS) {
			assert_int_equal(counter_step(&c, k->to + 3, counter_modulus(&ch), &d),
					 CNT_FORWARD);
			assert_true(fabs(d - 3) < 1e-9);
		}
	}
}

/* ---- garbled answers ---------------------------------------------------- */

static void test_crc_rate(void **state)
{
	struct crcwin w = { 0 };
	double pct = -1;

	(void)state;
	crcwin_add(&w, 1000, 50); /* the baseline: nothing counted yet */
	assert_false(crcwin_pct(&w, &pct));
	for (int i = 1; i <= 4; i++)
		crcwin_add(&w, 1000 + 2 * (uint64_t)i, 50);
	assert_false(crcwin_pct(&w, &pct)); /* 8 requests: too few */
	crcwin_add(&w, 1010, 51);
	assert_true(crcwin_pct(&w, &pct));
	assert_true(pct == 10.0);          /* 1 of 10 */
	for (int i = 0; i < CRC_WINDOW_POLLS; i++)
		crcwin_add(&w, 1011 + (uint64_t)i, 51);
	assert_true(crcwin_pct(&w, &pct) && pct == 0.0); /* the bad ones left */
	crcwin_add(&w, 5, 5);              /* counters restarted: new baseline */
	crcwin_add(&w, 6, 6);
	assert_true(crcwin_pct(&w, &pct));
	assert_true(pct > 0 && pct < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_bounds),
		cmocka_unit_test(test_days_tile),
		cmocka_unit_test(test_local_day),
		cmocka_unit_test(test_acc_hand_computed),
		cmocka_unit_test(test_roll_edge),
		cmocka_unit_test(test_roll_bucketed),
		cmocka_unit_test(test_roll_overfull),
		cmocka_unit_test(test_counter_steps),
		cmocka_unit_test(test_crc_rate),
	};
	return cmocka_run_group_tests_name("period", tests, NULL, NULL);
}
