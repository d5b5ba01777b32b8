/*
 * test_plausible.c - plausibility before judgement (DESIGN §5): the
 * physical bounds table, subnormals and NaN, the hints, counter jumps, and
 * what an implausible or missing reading may not do to an alert: raise
 * one, clear one, or count. Ends with the installer's commonest mistake, a
 * wrong word order on every channel, fed through the engine for an hour.
 */
#include <float.h>

#include "compliance_fixture.h"
#include "compliance/internal.h" /* DISTRUST_READINGS */

/* ---- the bounds table --------------------------------------------------- */

struct bound_case {
	int param;
	double v;
	enum plausibility want;
};

static const struct bound_case bound_cases[] = {
	{ P_PH, 0.0, PL_OK },
	{ P_PH, 14.0, PL_OK },
	{ P_PH, -0.01, PL_BELOW },
	{ P_PH, 14.01, PL_ABOVE },
	{ P_COD, 0.0, PL_OK },
	{ P_COD, 5e5, PL_OK },
	{ P_COD, -0.5, PL_BELOW },
	{ P_COD, 5.0001e5, PL_ABOVE },
	{ P_NH3N, 5e4, PL_OK },
	{ P_NH3N, 5.1e4, PL_ABOVE },
	{ P_TEMP, -10.0, PL_OK },     /* salted storm water, brines */
	{ P_TEMP, -10.5, PL_BELOW },
	{ P_TEMP, 100.0, PL_OK },
	{ P_TEMP, 100.5, PL_ABOVE },
	{ P_CONDUCTIVITY, -1.0, PL_BELOW },
	{ P_CONDUCTIVITY, 1e6, PL_OK },
	{ P_CONDUCTIVITY, 2e6, PL_ABOVE },
	{ P_TURBIDITY, -1.0, PL_BELOW },
	{ P_TURBIDITY, 2e5, PL_ABOVE },
	{ P_FLOW, -0.5, PL_BELOW },
	{ P_FLOW, 0.0, PL_OK },
	{ P_FLOW, 1e5, PL_OK },
	{ P_FLOW, 100001.0, PL_ABOVE },
	{ P_VOLUME_TOTAL, -1.0, PL_BELOW },
	{ P_VOLUME_TOTAL, 4294967295.0, PL_OK },
	{ P_VOLUME_TOTAL, 2e10, PL_ABOVE },
};

static void test_bounds_table(void **state)
{
	double lo, hi;

	(void)state;
	for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
		const struct bound_case *b = &bound_cases[i];
		enum plausibility got = param_plausible(b->param, b->v);

		if (got != b->want)
			fail_msg("%s %g: %s, want %s", param_name(b->param), b->v,
				 plausibility_name(got), plausibility_name(b->want));
	}
	/* every parameter has bounds; every concentration starts at 0 */
	for (int p = 0; p < P_COUNT; p++) {
		assert_int_equal(param_bounds(p, &lo, &hi), 0);
		assert_true(lo < hi);
		if (strcmp(param_unit(p), "mg/L") == 0) {
			assert_true(lo == 0);
			assert_int_equal(param_plausible(p, -0.001), PL_BELOW);
			assert_int_equal(param_plausible(p, hi), PL_OK);
		}
	}
	assert_int_equal(param_bounds(P_COUNT, &lo, &hi), -1);
	assert_int_equal(param_bounds(-1, &lo, &hi), -1);
}

static void test_subnormal_and_nan(void **state)
{
	static const struct {
		double v;
		enum plausibility want;
	} cases[] = {
		{ 2.33e-41, PL_TINY },            /* a float32 subnormal, as the issue saw */
		{ (double)FLT_TRUE_MIN, PL_TINY },
		{ DBL_MIN / 4, PL_TINY },         /* a double subnormal */
		{ 4.17e-08, PL_TINY },            /* normal, but no instrument reads it */
		{ -3e-9, PL_TINY },
		{ 9.99e-7, PL_TINY },
		{ 1e-6, PL_OK },
		{ 0.0, PL_OK },
		{ -0.0, PL_OK },
		{ NAN, PL_NOT_FINITE },
		{ INFINITY, PL_NOT_FINITE },
		{ -INFINITY, PL_NOT_FINITE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (param_plausible(P_COD, cases[i].v) != cases[i].want)
			fail_msg("cod %g: %s", cases[i].v,
				 plausibility_name(param_plausible(P_COD, cases[i].v)));
}

static void test_hints(void **state)
{
	(void)state;
	/* a pH register in hundredths read with scale 1 */
	assert_string_equal(param_hint(P_PH, 725, PL_ABOVE, true), "scale?");
	assert_string_equal(param_hint(P_TEMP, 215, PL_ABOVE, true), "scale?");
	/* far beyond any scale: the bytes are in the wrong order */
	assert_string_equal(param_hint(P_PH, 2.7e23, PL_ABOVE, true), "word order or type?");
	assert_string_equal(param_hint(P_PH, -2.7e23, PL_BELOW, true), "word order or type?");
	assert_string_equal(param_hint(P_COD, 2.33e-41, PL_TINY, true), "word order or type?");
	assert_string_equal(param_hint(P_COD, NAN, PL_NOT_FINITE, true), "word order or type?");
	/* an unsigned register read as signed */
	assert_string_equal(param_hint(P_FLOW, -25536, PL_BELOW, true),
			    "sign, offset or signed/unsigned type?");
	assert_non_null(strstr(param_hint(P_VOLUME_TOTAL, 1e9, PL_JUMP, true), "word order"));
	/* an ASCII line has no word order or type */
	assert_string_equal(param_hint(P_COD, NAN, PL_NOT_FINITE, false),
			    "garbled or missing value?");
	assert_string_equal(param_hint(P_PH, 2.7e23, PL_ABOVE, false), "unit or scale?");
	assert_string_equal(param_hint(P_COD, 1, PL_OK, true), "");
}

/* ---- the record the telemetry carries ----------------------------------- */

static void test_screen_marks_the_record(void **state)
{
	struct compliance *c;
	struct record r = { .ts_ms = T0, .type = REC_POLL };
	struct rec_value *v = r.u.poll.values;

	(void)state;
	fx_init();
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	r.u.poll.n = 3;
	v[0] = (struct rec_value){ .v = 2.33e-41, .param = P_COD, .quality = Q_OK, .flags = RV_F32 };
	v[1] = (struct rec_value){ .v = 7.2, .param = P_PH, .quality = Q_OK };
	v[2] = (struct rec_value){ .v = NAN, .param = P_NH3N, .quality = Q_INVALID };
	assert_int_equal(compliance_screen(c, PROBE, &r, 0), 2);
	assert_int_equal(v[0].quality, Q_INVALID);
	assert_int_equal(v[0].flags, RV_F32 | RV_IMPLAUSIBLE);
	assert_true(v[0].v == 2.33e-41); /* the reading is kept as read */
	assert_int_equal(v[1].quality, Q_OK);
	assert_int_equal(v[1].flags, 0);
	assert_int_equal(v[2].flags, RV_IMPLAUSIBLE);
	assert_non_null(strstr(compliance_hint(c, PROBE, &v[0]), "word order"));
	assert_null(compliance_hint(c, PROBE, &v[1]));
	/* marked once; the engine itself is untouched, and judges the same */
	assert_int_equal(compliance_screen(c, PROBE, &r, 0), 0);
	assert_int_equal(compliance_open_count(c), 0);
	/* a sensor of no outlet gets the bounds too */
	r.u.poll.n = 1;
	v[0] = (struct rec_value){ .v = -5, .param = P_COD, .quality = Q_OK };
	assert_int_equal(compliance_screen(c, SPARE, &r, 0), 1);
	assert_int_equal(v[0].quality, Q_INVALID);
	/* COD 231.7 with its words swapped reads -4.17e-08: by its value a
	 * sign or offset, by its bits a word order, and the bits decide */
	v[0] = (struct rec_value){ .v = -4.1737987288570366e-08, .param = P_COD,
				   .quality = Q_OK, .flags = RV_F32 };
	assert_int_equal(compliance_screen(c, PROBE, &r, 0), 1);
	assert_non_null(strstr(compliance_hint(c, PROBE, &v[0]), "word order"));
	/* words that, swapped, still give nonsense: the value's own hint */
	v[0] = (struct rec_value){ .v = -2.0, .param = P_COD, .quality = Q_OK, .flags = RV_F32 };
	assert_int_equal(compliance_screen(c, PROBE, &r, 0), 1);
	assert_string_equal(compliance_hint(c, PROBE, &v[0]), "sign, offset or signed/unsigned type?");
	compliance_free(c);
}

/* ---- counters ----------------------------------------------------------- */

static int count_fault(int cause, int state)
{
	int n = 0;

	for (int i = 0; i < F.n_ev; i++)
		n += F.ev[i].kind == AK_SENSOR_FAULT && F.ev[i].cause == cause &&
		     (state < 0 || F.ev[i].state == state);
	return n;
}

/* A step no flow could make (the meter reads at most 1000 m3/h) is not
 * volume: implausible, the day's volume leaves it out, and the counter
 * counts on from the new value once it is believed again. */
static void test_counter_jump(void **state)
{
	struct compliance *c;
	struct record day;
	double v = 1000;
	int64_t t = T0;

	(void)state;
	fx_init();
	F.permit.has_daily_volume = true;
	F.permit.daily_volume_max_m3 = 120;
	c = compliance_new(&F.cfg);
	fx_poll(c, FLOW, t, P_VOLUME_TOTAL, v);
	fx_poll(c, FLOW, t += 10 * S_MS, P_VOLUME_TOTAL, v += 2);     /* 720 m3/h: fine */
	fx_poll(c, FLOW, t += 10 * S_MS, P_VOLUME_TOTAL, v += 65536); /* a word's worth */
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_RAISED), 1);
	assert_int_equal(fx_last(AK_SENSOR_FAULT)->params[0], P_VOLUME_TOTAL);
	assert_non_null(strstr(fx_last(AK_SENSOR_FAULT)->note, "counter jump"));
	/* on from there: doubted, then counted again */
	for (int i = 0; i < DISTRUST_READINGS + 3; i++)
		fx_poll(c, FLOW, t += 10 * S_MS, P_VOLUME_TOTAL, v += 1);
	assert_int_equal(fx_count(AK_DAILY_VOLUME_EXCEEDED, -1), 0);
	assert_int_equal(compliance_running(c, WS, AGG_DAY, &day), 0);
	/* 2 before the jump, 10 after it: from the first reading after it on
	 * (a glitch that comes back down is then no counter gone backwards) */
	assert_near(fx_agg_param(&day, P_VOLUME_TOTAL)->cou, 2.0 + DISTRUST_READINGS + 2, 1e-9);
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_CLEARED), 1);
	/* after an hour's silence a big step is what the flow could give */
	fx_poll(c, FLOW, t += HOUR_MS, P_VOLUME_TOTAL, v += 900);
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_RAISED), 1);
	assert_int_equal(fx_count(AK_DAILY_VOLUME_EXCEEDED, ALERT_RAISED), 1); /* 912 m3 */
	compliance_free(c);
}

/* ---- what implausible and missing readings may not do ------------------- */

static struct compliance *cod_limit(void)
{
	struct compliance *c;

	fx_init();
	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800;
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	return c;
}

/* The case: a genuine COD exceedance, then the probe reads 4.17e-08
 * (a float in the wrong word order). The alert stays open, marked
 * unhealthy; only good readings clear it. */
static void test_implausible_never_clears(void **state)
{
	struct compliance *c = cod_limit();
	struct rec_alert act[4];
	int64_t t = T0;

	(void)state;
	fx_poll(c, PROBE, t, P_COD, 612.4);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_false(compliance_changed(c, WS));
	fx_poll(c, PROBE, t += 10 * S_MS, P_COD, 4.17e-08);
	fx_poll(c, PROBE, t += 10 * S_MS, P_COD, -1.8e30);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 0);
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_RAISED), 1);
	assert_true(compliance_changed(c, WS)); /* republish the active set, once */
	assert_false(compliance_changed(c, WS));
	assert_int_equal(compliance_active(c, WS, act, 4), 2);
	assert_int_equal(act[0].kind, AK_LIMIT_EXCEEDED);
	assert_int_equal(act[0].unhealthy, 1);
	/* good-looking right after: in doubt, still no clear */
	for (int i = 0; i < DISTRUST_READINGS; i++)
		fx_poll(c, PROBE, t += 10 * S_MS, P_COD, 183.9);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 0);
	fx_poll(c, PROBE, t += 10 * S_MS, P_COD, 183.9);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->reason, CR_BACK_INSIDE);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->unhealthy, 1); /* evidence of it */
	assert_true(fx_last(AK_LIMIT_EXCEEDED)->value == 183.9);
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_CLEARED), 1);
	compliance_free(c);
}

/* Nor can it raise one, and it counts for nothing. */
static void test_implausible_never_raises_or_counts(void **state)
{
	struct compliance *c = cod_limit();
	struct record run;

	(void)state;
	fx_poll(c, PROBE, T0, P_COD, 200.0);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_COD, 3.3e9); /* within no bound */
	fx_poll(c, PROBE, T0 + 20 * S_MS, P_COD, 9e5);
	fx_poll(c, PROBE, T0 + 30 * S_MS, P_COD, 750.0); /* plausible, but in doubt */
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 0);
	assert_int_equal(compliance_running(c, WS, AGG_MINUTE, &run), 0);
	assert_int_equal(fx_agg_param(&run, P_COD)->count, 1);
	assert_true(fx_agg_param(&run, P_COD)->max == 200.0);
	compliance_free(c);
}

/* Out of its range right after an implausible reading: more of the same
 * mistake, so no out_of_range fault beside the implausible one, and the
 * doubt starts again. */
static void test_out_of_range_in_doubt(void **state)
{
	struct compliance *c = cod_limit();
	int64_t t = T0;

	(void)state;
	fx_poll(c, PROBE, t, P_COD, -3.5e12);
	t += 10 * S_MS;
	fx_poll_n(c, PROBE, t, t - T0, 1, (int[]){ P_COD }, (double[]){ 2900 },
		  (int[]){ Q_OUT_OF_RANGE });
	for (int i = 0; i < DISTRUST_READINGS; i++)
		fx_poll(c, PROBE, t += 10 * S_MS, P_COD, 700.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 0);
	assert_int_equal(count_fault(FC_OUT_OF_RANGE, -1), 0);
	assert_int_equal(count_fault(FC_IMPLAUSIBLE, ALERT_RAISED), 1);
	fx_poll(c, PROBE, t += 10 * S_MS, P_COD, 700.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	compliance_free(c);
}

/* An exceedance with the probe silent in the middle: one raised, one
 * cleared. While silent it stays open and says the sensor went unhealthy;
 * the silence is the sensor's fault, not a data gap, and no clear. */
static void test_silent_probe_keeps_alert_open(void **state)
{
	static const int p[3] = { P_COD, P_PH, P_NH3N };
	static const int ok[3] = { Q_OK, Q_OK, Q_OK };
	static const int none[3] = { Q_NO_RESPONSE, Q_NO_RESPONSE, Q_NO_RESPONSE };
	static const double high[3] = { 650, 7, 10 }, low[3] = { 200, 7, 10 }, zero[3] = { 0 };
	struct compliance *c = cod_limit();
	struct rec_alert act[4];
	int64_t t = 0;

	(void)state;
	F.sensors[PROBE].gap_s = 60;
	for (; t < 60; t += 10) {
		fx_tick(c, T0 + t * S_MS);
		fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, high, ok);
	}
	for (; t < 600; t += 10) {
		fx_tick(c, T0 + t * S_MS);
		fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, zero, none);
	}
	assert_int_equal(compliance_active(c, WS, act, 4), 2);
	assert_int_equal(act[0].kind, AK_LIMIT_EXCEEDED);
	assert_int_equal(act[0].unhealthy, 1);
	assert_int_equal(act[1].kind, AK_SENSOR_FAULT);
	assert_int_equal(act[1].cause, FC_NO_RESPONSE);
	assert_int_equal(act[1].last_answer_ms, T0 + 50 * S_MS);
	assert_int_equal(fx_count(AK_DATA_GAP, -1), 0);
	/* back, still above: nothing new; then below: the one clear */
	for (; t < 660; t += 10)
		fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, high, ok);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 1);
	fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, low, ok);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->since_ms, T0);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->until_ms, T0 + 660 * S_MS);
	assert_true(fx_last(AK_LIMIT_EXCEEDED)->peak == 650);
	assert_int_equal(count_fault(FC_NO_RESPONSE, ALERT_RAISED), 1);
	assert_int_equal(count_fault(FC_NO_RESPONSE, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_SENSOR_FAULT)->polls_missed, 54);
	compliance_free(c);
}

/* ---- a wrong word order on every channel -------------------------------- */

/* A float32 as a reader with the words swapped decodes it. */
static double word_swapped(double v)
{
	float f = (float)v, g;
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	b = b << 16 | b >> 16;
	memcpy(&g, &b, sizeof(g));
	return g;
}

/* splitmix64: the simulator's jitter, deterministic */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double jitter(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(mix(s) >> 11) / 9007199254740992.0;
}

/* An hour of a probe (cod 180..260, pH 7..7.6, nh3n 20..30) and a flow
 * meter (3..6 m3/h, a uint32 total from 12345) read in the wrong word
 * order, every 10 s, under limits the true values meet: sensor faults, one
 * per sensor, and no permit alert at all. */
static void test_word_order_everywhere(void **state)
{
	static const int pp[3] = { P_COD, P_PH, P_NH3N }, fp[2] = { P_FLOW, P_VOLUME_TOTAL };
	static const int ok[3] = { Q_OK, Q_OK, Q_OK };
	struct compliance *c;
	uint64_t seed = 1;
	double total = 12345;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	fx_limit(P_PH, BASIS_INSTANT, 6.5, 9.5, 0);
	fx_limit(P_NH3N, BASIS_ROLLING, NAN, 45.0, 10);
	F.permit.has_daily_volume = true;
	F.permit.daily_volume_max_m3 = 120;
	c = compliance_new(&F.cfg);
	for (int64_t t = 0; t < HOUR_MS; t += 10 * S_MS) {
		double pv[3], fv[2], flow = jitter(&seed, 3, 6);
		uint32_t raw;

		pv[0] = word_swapped(jitter(&seed, 180, 260));
		pv[1] = word_swapped(jitter(&seed, 7.0, 7.6));
		pv[2] = word_swapped(jitter(&seed, 20, 30));
		total += flow * 10 / 3600;
		raw = (uint32_t)total;
		fv[0] = word_swapped(flow);
		fv[1] = (double)(raw << 16 | raw >> 16);
		if (t % MIN_MS == 0)
			fx_tick(c, T0 + t);
		fx_poll_n(c, PROBE, T0 + t, t, 3, pp, pv, ok);
		fx_poll_n(c, FLOW, T0 + t, t, 2, fp, fv, ok);
	}
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 0);
	assert_int_equal(fx_count(AK_BELOW_MINIMUM, -1), 0);
	assert_int_equal(fx_count(AK_DAILY_VOLUME_EXCEEDED, -1), 0);
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_RAISED, -1, "probe1"), 1);
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_RAISED, -1, "flow1"), 1);
	for (int i = 0; i < F.n_ev; i++) {
		if (F.ev[i].kind != AK_SENSOR_FAULT)
			continue;
		assert_int_equal(F.ev[i].cause, FC_IMPLAUSIBLE);
		assert_non_null(strstr(F.ev[i].note, "word order"));
	}
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_table),
		cmocka_unit_test(test_subnormal_and_nan),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_screen_marks_the_record),
		cmocka_unit_test(test_counter_jump),
		cmocka_unit_test(test_implausible_never_clears),
		cmocka_unit_test(test_implausible_never_raises_or_counts),
		cmocka_unit_test(test_out_of_range_in_doubt),
		cmocka_unit_test(test_silent_probe_keeps_alert_open),
		cmocka_unit_test(test_word_order_everywhere),
	};
	return cmocka_run_group_tests_name("plausible", tests, NULL, NULL);
}
