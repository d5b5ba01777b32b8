/*
 * test_compliance.c - permit limits: every basis on both sides of its
 * limit, hysteresis and debounce, rolling-window coverage and edges, the
 * evidence and ids of events, and that readings which are not good never
 * move a limit. Health, storm, permit and volume rules are in
 * test_compliance_site.c; periods, aggregates, restarts and clock steps in
 * test_compliance_time.c.
 */
#include "compliance_fixture.h"

/* The first cut's limits: cod instant 500, ph 6.5..9.5, and a rolling cod
 * limit that a short run of readings must never judge. */
static void legacy_limits(int raise_s, int clear_s)
{
	struct cfg_limit *l;

	fx_init();
	l = fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	l->raise_after_s = raise_s;
	l->clear_after_s = clear_s;
	fx_limit(P_PH, BASIS_INSTANT, 6.5, 9.5, 0);
	fx_limit(P_COD, BASIS_ROLLING, NAN, 100.0, 60);
}

static struct record poll_of(int64_t ts_ms, int param, double v, int q)
{
	struct record r = { .ts_ms = ts_ms, .type = REC_POLL };

	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = v, .param = (uint8_t)param,
						 .quality = (uint8_t)q };
	return r;
}

struct step {
	int64_t t_s;
	int param;
	double v;
	int quality;
	int expect_n;      /* limit events expected from this reading */
	int expect_state;  /* of the first of them */
	int expect_kind;
};

static bool is_limit(int kind)
{
	return kind == AK_LIMIT_EXCEEDED || kind == AK_BELOW_MINIMUM;
}

/* Through compliance_eval, as the first cut was driven. Only limit events
 * count: a bad reading may well raise a sensor fault beside them. */
static void run_steps(const struct step *steps, size_t n, int raise_s, int clear_s)
{
	struct compliance *c;
	struct rec_alert out[8];

	legacy_limits(raise_s, clear_s);
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		struct record r = poll_of(T0 + steps[i].t_s * 1000, steps[i].param, steps[i].v,
					  steps[i].quality);
		int got = compliance_eval(c, PROBE, &r, out, 8), lim = 0, first = -1;

		for (int k = 0; k < got; k++)
			if (is_limit(out[k].kind) && lim++ == 0)
				first = k;
		if (lim != steps[i].expect_n)
			print_error("step %zu (v=%g): %d events, want %d\n", i, steps[i].v, lim,
				    steps[i].expect_n);
		assert_int_equal(lim, steps[i].expect_n);
		if (lim) {
			assert_int_equal(out[first].state, steps[i].expect_state);
			assert_int_equal(out[first].kind, steps[i].expect_kind);
		}
	}
	compliance_free(c);
}

#define R ALERT_RAISED
#define C ALERT_CLEARED
#define EX AK_LIMIT_EXCEEDED
#define BM AK_BELOW_MINIMUM

static void test_max_boundary_and_hysteresis(void **state)
{
	static const struct step s[] = {
		{ 0, P_COD, 499.0, Q_OK, 0, 0, 0 },
		{ 1, P_COD, 500.0, Q_OK, 0, 0, 0 },      /* at the limit: allowed */
		{ 2, P_COD, 500.01, Q_OK, 1, R, EX },
		{ 3, P_COD, 612.4, Q_OK, 0, 0, 0 },      /* already raised */
		{ 4, P_COD, 495.0, Q_OK, 0, 0, 0 },      /* inside limit, not band */
		{ 5, P_COD, 490.5, Q_OK, 0, 0, 0 },
		{ 6, P_COD, 490.0, Q_OK, 1, C, EX },     /* 500 - 2 % */
		{ 7, P_COD, 489.0, Q_OK, 0, 0, 0 },
	};
	(void)state;
	run_steps(s, sizeof(s) / sizeof(s[0]), 0, 0);
}

static void test_min_boundary_and_hysteresis(void **state)
{
	static const struct step s[] = {
		{ 0, P_PH, 6.5, Q_OK, 0, 0, 0 },          /* at the minimum: allowed */
		{ 1, P_PH, 6.49, Q_OK, 1, R, BM },
		{ 2, P_PH, 6.55, Q_OK, 0, 0, 0 },         /* above min, inside band */
		{ 3, P_PH, 6.62, Q_OK, 0, 0, 0 },
		{ 4, P_PH, 6.64, Q_OK, 1, C, BM },        /* past 6.5 + 0.13 */
		{ 5, P_PH, 9.5, Q_OK, 0, 0, 0 },
		{ 6, P_PH, 9.51, Q_OK, 1, R, EX },        /* the max side of a range */
		{ 7, P_PH, 7.0, Q_OK, 1, C, EX },
	};
	(void)state;
	run_steps(s, sizeof(s) / sizeof(s[0]), 0, 0);
}

/* Nor do the good-looking readings right after an implausible one: the
 * eight after it are kept out too (DISTRUST_READINGS), the ninth clears. */
static void test_bad_quality_never_moves_a_rule(void **state)
{
	static const struct step s[] = {
		{ 0, P_COD, 900.0, Q_OUT_OF_RANGE, 0, 0, 0 },
		{ 1, P_COD, 0.0, Q_NO_RESPONSE, 0, 0, 0 },
		{ 2, P_COD, 700.0, Q_OK, 1, R, EX },
		{ 3, P_COD, 100.0, Q_OUT_OF_RANGE, 0, 0, 0 }, /* cannot clear it */
		{ 4, P_COD, NAN, Q_INVALID, 0, 0, 0 },
		{ 5, P_COD, NAN, Q_OK, 0, 0, 0 },             /* NaN said ok: still unknown */
		{ 6, P_COD, INFINITY, Q_OK, 0, 0, 0 },
		{ 7, P_COD, 100.0, Q_OK, 0, 0, 0 },           /* 7..14: in doubt */
		{ 8, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 9, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 10, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 11, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 12, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 13, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 14, P_COD, 100.0, Q_OK, 0, 0, 0 },
		{ 15, P_COD, 100.0, Q_OK, 1, C, EX },
	};
	(void)state;
	run_steps(s, sizeof(s) / sizeof(s[0]), 0, 0);
}

static void test_debounce(void **state)
{
	static const struct step s[] = {
		{ 0, P_COD, 600.0, Q_OK, 0, 0, 0 },
		{ 30, P_COD, 600.0, Q_OK, 0, 0, 0 },
		{ 40, P_COD, 400.0, Q_OK, 0, 0, 0 },   /* resets the raise timer */
		{ 50, P_COD, 600.0, Q_OK, 0, 0, 0 },
		{ 109, P_COD, 600.0, Q_OK, 0, 0, 0 },
		{ 110, P_COD, 600.0, Q_OK, 1, R, EX }, /* held for 60 s */
		{ 120, P_COD, 400.0, Q_OK, 0, 0, 0 },
		{ 130, P_COD, 600.0, Q_OK, 0, 0, 0 },  /* resets the clear timer */
		{ 140, P_COD, 400.0, Q_OK, 0, 0, 0 },
		{ 169, P_COD, 400.0, Q_OK, 0, 0, 0 },
		{ 170, P_COD, 400.0, Q_OK, 1, C, EX }, /* good for 30 s */
	};
	(void)state;
	run_steps(s, sizeof(s) / sizeof(s[0]), 60, 30);
}

static void test_no_storm(void **state)
{
	struct compliance *c;
	struct rec_alert out[8];
	int raised = 0, cleared = 0;

	(void)state;
	legacy_limits(0, 0);
	c = compliance_new(&F.cfg);
	for (int i = 0; i < 1000; i++) {
		struct record r = poll_of(T0 + 1000 * i, P_COD, i % 2 ? 501.0 : 499.0, Q_OK);
		int n = compliance_eval(c, PROBE, &r, out, 8);

		for (int k = 0; k < n; k++)
			out[k].state == ALERT_RAISED ? raised++ : cleared++;
	}
	assert_int_equal(raised, 1);
	assert_int_equal(cleared, 0);
	assert_int_equal(compliance_open_count(c), 1);
	compliance_free(c);
}

static void test_evidence(void **state)
{
	struct compliance *c;
	struct rec_alert out[8];
	struct record r;

	(void)state;
	legacy_limits(0, 0);
	c = compliance_new(&F.cfg);
	r = poll_of(1764403217000, P_COD, 612.4, Q_OK);
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 8), 1);
	assert_string_equal(out[0].id, "ls-ws-000123/WS-001/cod/instant/1764403217000");
	assert_string_equal(out[0].permit, "浙丽排字第2023-0042号");
	assert_string_equal(out[0].holder, "丽水某食品有限公司");
	assert_string_equal(out[0].outlet, "WS-001");
	assert_string_equal(out[0].sensor, "probe1");
	assert_int_equal(out[0].param, P_COD);
	assert_int_equal(out[0].basis, BASIS_INSTANT);
	assert_int_equal(out[0].sensor_health, Q_OK);
	assert_true(out[0].limit == 500.0 && out[0].value == 612.4 && out[0].peak == 612.4);
	assert_int_equal(out[0].since_ms, 1764403217000);
	assert_int_equal(out[0].until_ms, 0);
	r = poll_of(1764403227000, P_COD, 700.0, Q_OK);
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 8), 0);
	r = poll_of(1764403237000, P_COD, 300.0, Q_OK);
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 8), 1);
	assert_string_equal(out[0].id, "ls-ws-000123/WS-001/cod/instant/1764403217000");
	assert_int_equal(out[0].state, ALERT_CLEARED);
	assert_true(out[0].peak == 700.0 && out[0].value == 300.0);
	assert_int_equal(out[0].since_ms, 1764403217000);
	assert_int_equal(out[0].until_ms, 1764403237000);
	assert_int_equal(out[0].reason, CR_BACK_INSIDE);
	assert_int_equal(out[0].unhealthy, 0);
	/* the raised event stays in the active set until it clears */
	r = poll_of(1764403247000, P_PH, 5.0, Q_OK);
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 8), 1);
	assert_string_equal(out[0].id, "ls-ws-000123/WS-001/ph/instant-min/1764403247000");
	assert_int_equal(compliance_active(c, WS, out, 8), 1);
	assert_int_equal(out[0].kind, AK_BELOW_MINIMUM);
	assert_int_equal(compliance_active(c, YS, out, 8), 0);
	compliance_free(c);
}

static void test_sensor_without_outlet(void **state)
{
	struct compliance *c;
	struct rec_alert out[4];
	struct record r = poll_of(T0, P_COD, 9999.0, Q_OK);

	(void)state;
	legacy_limits(0, 0);
	c = compliance_new(&F.cfg);
	assert_int_equal(compliance_eval(c, SPARE, &r, out, 4), 0);
	assert_int_equal(compliance_eval(c, 99, &r, out, 4), 0);
	assert_int_equal(compliance_eval(c, -1, &r, out, 4), 0);
	r.type = REC_ALERT;
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 4), 0);
	compliance_free(c);
	compliance_free(NULL);
}

/* What does not fit is counted, never silently gone: an event with no room
 * in out, an aggregate closed twice with no tick to take it. */
static void test_lost_is_counted(void **state)
{
	struct compliance *c;
	struct rec_alert out[1];
	struct record r = poll_of(T0, P_COD, 900.0, Q_OK);

	(void)state;
	legacy_limits(0, 0);
	c = compliance_new(&F.cfg);
	assert_true(compliance_max_events(c) >= 2 * 4);
	assert_int_equal(compliance_eval(c, PROBE, &r, out, 0), 0);
	assert_int_equal(compliance_lost(c), 1);
	assert_int_equal(compliance_open_count(c), 1); /* judged all the same */
	r = poll_of(T0 + MIN_MS, P_COD, 900.0, Q_OK);
	compliance_eval(c, PROBE, &r, out, 1);
	assert_int_equal(compliance_lost(c), 1);
	r = poll_of(T0 + 2 * MIN_MS, P_COD, 900.0, Q_OK);
	compliance_eval(c, PROBE, &r, out, 1);
	assert_int_equal(compliance_lost(c), 2); /* minute 0 overwritten by minute 1 */
	compliance_rain(c, -1, 0);
	compliance_rain(c, 9, 0);
	compliance_free(c);
}

/* ---- every basis on both sides ------------------------------------------ */

struct basis_case {
	int param;
	int basis;
	int window_min;
	bool side_min;
	double limit;
	double fine, bad;   /* steady values just inside and just beyond it */
	double clear;       /* inside the hysteresis band */
	int64_t start;      /* a period boundary */
	int64_t span_ms;    /* one period (a window for rolling) */
	const char *rule;   /* in the id */
	const char *raised; /* raise ms in the id of a period limit */
};

#define SH_DAY (T0 + 8 * HOUR_MS) /* 2025-11-30 00:00 in Shanghai */

static const struct basis_case basis_cases[] = {
	{ P_COD, BASIS_ROLLING, 10, false, 400, 399.5, 400.5, 380, T0, 10 * MIN_MS,
	  "rolling10", NULL },
	{ P_PH, BASIS_ROLLING, 10, true, 6.5, 6.51, 6.49, 6.7, T0, 10 * MIN_MS,
	  "rolling10-min", NULL },
	{ P_COD, BASIS_HOURLY_MEAN, 0, false, 300, 299.9, 300.1, 290, T0, HOUR_MS,
	  "hourly_mean", "1764414000000" },
	{ P_PH, BASIS_HOURLY_MEAN, 0, true, 6.0, 6.01, 5.99, 6.2, T0, HOUR_MS,
	  "hourly_mean-min", "1764414000000" },
	{ P_NH3N, BASIS_DAILY_MEAN, 0, false, 45, 44.9, 45.1, 40, SH_DAY, DAY_MS,
	  "daily_mean", "1764691200000" },
	{ P_PH, BASIS_DAILY_MEAN, 0, true, 6.0, 6.05, 5.95, 6.5, SH_DAY, DAY_MS,
	  "daily_mean-min", "1764691200000" },
};

/* Polls v each minute over [from, to), ticking as it goes. */
static void steady(struct compliance *c, int param, double v, int64_t from, int64_t to)
{
	for (int64_t t = from; t < to; t += MIN_MS) {
		fx_tick(c, t);
		fx_poll(c, PROBE, t, param, v);
	}
	fx_tick(c, to);
}

/* No gaps for these: only the probe's one parameter is polled. */
static void quiet_gaps(void)
{
	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800;
}

static void check_raised(const struct basis_case *bc, const struct rec_alert *a)
{
	char id[REC_ID];

	assert_int_equal(a->basis, bc->basis);
	assert_int_equal(a->window_min, bc->window_min);
	assert_true(a->limit == bc->limit);
	if (bc->side_min)
		assert_true(a->value < bc->limit);
	else
		assert_true(a->value > bc->limit);
	snprintf(id, sizeof(id), "ls-ws-000123/WS-001/%s/%s/", param_name(bc->param), bc->rule);
	assert_memory_equal(a->id, id, strlen(id));
	if (bc->basis == BASIS_ROLLING)
		return;
	/* judged at the close, on the period's mean, dated from its start */
	assert_near(a->value, bc->bad, 1e-9);
	assert_int_equal(a->since_ms, bc->start + 2 * bc->span_ms);
	assert_string_equal(a->id + strlen(id), bc->raised);
}

static void check_basis_case(const struct basis_case *bc)
{
	int kind = bc->side_min ? AK_BELOW_MINIMUM : AK_LIMIT_EXCEEDED;
	int64_t t = bc->start, span = bc->span_ms;
	struct compliance *c;

	fx_init();
	quiet_gaps();
	fx_limit(bc->param, bc->basis, bc->side_min ? bc->limit : NAN,
		 bc->side_min ? NAN : bc->limit, bc->window_min);
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	steady(c, bc->param, bc->fine, t, t + 2 * span);
	if (F.n_ev)
		fail_msg("%s: %d events on the fine side", bc->rule, F.n_ev);
	steady(c, bc->param, bc->bad, t + 2 * span, t + 3 * span);
	assert_int_equal(fx_count(kind, ALERT_RAISED), 1);
	assert_int_equal(F.n_ev, 1);
	check_raised(bc, &F.ev[0]);
	steady(c, bc->param, bc->clear, t + 3 * span, t + 5 * span);
	assert_int_equal(fx_count(kind, ALERT_CLEARED), 1);
	assert_int_equal(F.n_ev, 2);
	assert_string_equal(F.ev[1].id, F.ev[0].id);
	compliance_free(c);
}

static void test_every_basis_both_sides(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(basis_cases) / sizeof(basis_cases[0]); i++)
		check_basis_case(&basis_cases[i]);
}

/* ---- rolling windows ---------------------------------------------------- */

/* A window is judged once its good readings cover 75 % of it: with a
 * reading a minute (the first standing for one poll interval, 10 s) that is
 * the eighth reading, 10 + 7 x 60 = 430 s < 450 s, no; the ninth, yes. */
static void test_rolling_needs_coverage(void **state)
{
	struct compliance *c;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 400.0, 10);
	c = compliance_new(&F.cfg);
	for (int i = 0; i < 8; i++)
		assert_int_equal(fx_poll(c, PROBE, T0 + i * MIN_MS, P_COD, 900.0), 0);
	assert_int_equal(fx_poll(c, PROBE, T0 + 8 * MIN_MS, P_COD, 900.0), 1);
	assert_int_equal(F.ev[0].kind, AK_LIMIT_EXCEEDED);
	assert_true(F.ev[0].value == 900.0);
	assert_int_equal(F.ev[0].since_ms, T0 + 8 * MIN_MS);
	compliance_free(c);
}

/* The mean moves as readings leave the window (now - window, now]; the
 * exact edge is tested on the window itself in test_period.c. Two windows
 * on one parameter are kept apart. */
static void test_rolling_window_moves(void **state)
{
	struct compliance *c;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 400.0, 10);
	fx_limit(P_COD, BASIS_ROLLING, NAN, 1000.0, 30);
	c = compliance_new(&F.cfg);
	for (int i = 0; i < 10; i++)
		fx_poll(c, PROBE, T0 + i * MIN_MS, P_COD, 1000.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_string_equal(F.ev[0].id, "ls-ws-000123/WS-001/cod/rolling10/1764403680000");
	/* zeros from 10 min: at 15 the window (5, 15] still holds 4 x 1000
	 * (mean 400, above the band at 392); at 16, 3 x 1000: 300 */
	for (int i = 10; i < 16; i++)
		fx_poll(c, PROBE, T0 + i * MIN_MS, P_COD, 0.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 0);
	assert_int_equal(fx_poll(c, PROBE, T0 + 16 * MIN_MS, P_COD, 0.0), 1);
	assert_int_equal(F.ev[1].state, ALERT_CLEARED);
	assert_near(F.ev[1].value, 300.0, 1e-9);
	assert_near(F.ev[1].peak, 1000.0, 1e-9);
	assert_string_equal(F.ev[1].id, F.ev[0].id);
	compliance_free(c);
}

/* A window that has run a whole window and loses its data says so, rather
 * than holding a verdict on a handful of readings. */
static void test_rolling_insufficient_data(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 400.0, 10);
	c = compliance_new(&F.cfg);
	for (int i = 0; i <= 10; i++)
		fx_poll(c, PROBE, T0 + i * MIN_MS, P_COD, 100.0);
	assert_int_equal(F.n_ev, 0);
	/* silent 4 minutes: the reading at 15 min covers 60 s (the gap's cap),
	 * the window (5, 15] holds 6 readings: 360 s of 600 */
	assert_int_equal(fx_poll(c, PROBE, T0 + 15 * MIN_MS, P_COD, 900.0), 1);
	a = fx_last(AK_DATA_GAP);
	assert_non_null(a);
	assert_int_equal(a->state, ALERT_RAISED);
	assert_int_equal(a->basis, BASIS_ROLLING);
	assert_int_equal(a->window_min, 10);
	/* its own evidence, no limit: 60 % of 600 s covered, 240 s not */
	assert_near(a->coverage_pct, 60.0, 1e-9);
	assert_int_equal(a->gap_s, 240);
	assert_true(isnan(a->limit) && isnan(a->value));
	assert_memory_equal(a->id, "ls-ws-000123/WS-001/cod/rolling10-nodata/", 41);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 0); /* not judged on half */
	/* the missing minutes leave the window from 21 on: at 22, (12, 22]
	 * holds 15..22, 480 s of 600 */
	for (int i = 16; i <= 21; i++)
		fx_poll(c, PROBE, T0 + i * MIN_MS, P_COD, 100.0);
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_CLEARED), 0);
	fx_poll(c, PROBE, T0 + 22 * MIN_MS, P_COD, 100.0);
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_CLEARED), 1);
	a = fx_last(AK_DATA_GAP);
	assert_int_equal(a->reason, CR_SENSOR_RECOVERED);
	assert_near(a->coverage_pct, 80.0, 1e-9); /* what came back */
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, -1), 0); /* (900 + 7 x 100) / 8 */
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_boundary_and_hysteresis),
		cmocka_unit_test(test_min_boundary_and_hysteresis),
		cmocka_unit_test(test_bad_quality_never_moves_a_rule),
		cmocka_unit_test(test_debounce),
		cmocka_unit_test(test_no_storm),
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_sensor_without_outlet),
		cmocka_unit_test(test_lost_is_counted),
		cmocka_unit_test(test_every_basis_both_sides),
		cmocka_unit_test(test_rolling_needs_coverage),
		cmocka_unit_test(test_rolling_window_moves),
		cmocka_unit_test(test_rolling_insufficient_data),
	};
	return cmocka_run_group_tests_name("compliance", tests, NULL, NULL);
}
