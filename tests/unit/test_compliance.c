/* test_compliance.c - instant limits, hysteresis, debounce and evidence. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "compliance.h"
#include "param.h"

static struct cfg_limit limits[3];
static struct cfg_permit permit = {
	.number = "浙丽排字第2023-0042号", .holder = "丽水某食品有限公司", .limits = limits,
};
static int outlet_sensors[] = { 0 };
static struct cfg_outlet outlet = {
	.id = "WS-001", .kind = OUTLET_SEWAGE, .permit = 0, .sensors = outlet_sensors,
	.n_sensors = 1,
};
static struct cfg_sensor sensors[2] = {
	{ .name = "probe1", .outlet = 0 },
	{ .name = "spare", .outlet = -1 },
};
static struct config cfg = {
	.id = "ls-ws-000123", .sensors = sensors, .n_sensors = 2, .outlets = &outlet,
	.n_outlets = 1, .permits = &permit, .n_permits = 1,
};

static void set_limits(int raise_s, int clear_s)
{
	limits[0] = (struct cfg_limit){ .param = P_COD, .has_max = true, .max = 500.0,
					.basis = BASIS_INSTANT, .hysteresis_pct = 2.0,
					.raise_after_s = raise_s, .clear_after_s = clear_s };
	limits[1] = (struct cfg_limit){ .param = P_PH, .has_min = true, .min = 6.5,
					.has_max = true, .max = 9.5, .basis = BASIS_INSTANT,
					.hysteresis_pct = 2.0 };
	/* Not judged in this cut: must never fire. */
	limits[2] = (struct cfg_limit){ .param = P_COD, .has_max = true, .max = 100.0,
					.basis = BASIS_ROLLING, .window_min = 60,
					.hysteresis_pct = 2.0 };
	permit.n_limits = 3;
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
	int expect_n;      /* events expected from this reading */
	int expect_state;  /* of the first event */
	int expect_kind;
};

static void run_steps(const struct step *steps, size_t n, int raise_s, int clear_s)
{
	struct compliance *c;
	struct rec_alert out[4];

	set_limits(raise_s, clear_s);
	c = compliance_new(&cfg);
	assert_non_null(c);
	for (size_t i = 0; i < n; i++) {
		struct record r = poll_of(1764403200000 + steps[i].t_s * 1000, steps[i].param,
					  steps[i].v, steps[i].quality);
		int got = compliance_eval(c, 0, &r, out, 4);

		if (got != steps[i].expect_n)
			print_error("step %zu (v=%g): %d events, want %d\n", i, steps[i].v, got,
				    steps[i].expect_n);
		assert_int_equal(got, steps[i].expect_n);
		if (got) {
			assert_int_equal(out[0].state, steps[i].expect_state);
			assert_int_equal(out[0].kind, steps[i].expect_kind);
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

static void test_bad_quality_never_moves_a_rule(void **state)
{
	static const struct step s[] = {
		{ 0, P_COD, 900.0, Q_OUT_OF_RANGE, 0, 0, 0 },
		{ 1, P_COD, NAN, Q_INVALID, 0, 0, 0 },
		{ 2, P_COD, 0.0, Q_NO_RESPONSE, 0, 0, 0 },
		{ 3, P_COD, 700.0, Q_OK, 1, R, EX },
		{ 4, P_COD, 100.0, Q_OUT_OF_RANGE, 0, 0, 0 }, /* cannot clear it */
		{ 5, P_COD, NAN, Q_INVALID, 0, 0, 0 },
		{ 6, P_COD, 100.0, Q_OK, 1, C, EX },
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
	struct rec_alert out[4];
	int raised = 0, cleared = 0;

	(void)state;
	set_limits(0, 0);
	c = compliance_new(&cfg);
	for (int i = 0; i < 1000; i++) {
		struct record r = poll_of(1000 * i, P_COD, i % 2 ? 501.0 : 499.0, Q_OK);
		int n = compliance_eval(c, 0, &r, out, 4);

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
	struct rec_alert out[4];
	struct record r;

	(void)state;
	set_limits(0, 0);
	c = compliance_new(&cfg);
	r = poll_of(1764403217000, P_COD, 612.4, Q_OK);
	assert_int_equal(compliance_eval(c, 0, &r, out, 4), 1);
	assert_string_equal(out[0].id, "ls-ws-000123/WS-001/cod/instant/1764403217000");
	assert_string_equal(out[0].permit, "浙丽排字第2023-0042号");
	assert_string_equal(out[0].holder, "丽水某食品有限公司");
	assert_string_equal(out[0].outlet, "WS-001");
	assert_string_equal(out[0].sensor, "probe1");
	assert_int_equal(out[0].param, P_COD);
	assert_int_equal(out[0].basis, BASIS_INSTANT);
	assert_true(out[0].limit == 500.0 && out[0].value == 612.4 && out[0].peak == 612.4);
	assert_int_equal(out[0].since_ms, 1764403217000);
	assert_int_equal(out[0].until_ms, 0);
	r = poll_of(1764403227000, P_COD, 700.0, Q_OK);
	assert_int_equal(compliance_eval(c, 0, &r, out, 4), 0);
	r = poll_of(1764403237000, P_COD, 300.0, Q_OK);
	assert_int_equal(compliance_eval(c, 0, &r, out, 4), 1);
	assert_string_equal(out[0].id, "ls-ws-000123/WS-001/cod/instant/1764403217000");
	assert_int_equal(out[0].state, ALERT_CLEARED);
	assert_true(out[0].peak == 700.0 && out[0].value == 300.0);
	assert_int_equal(out[0].since_ms, 1764403217000);
	assert_int_equal(out[0].until_ms, 1764403237000);
	compliance_free(c);
}

static void test_sensor_without_outlet(void **state)
{
	struct compliance *c;
	struct rec_alert out[4];
	struct record r = poll_of(0, P_COD, 9999.0, Q_OK);

	(void)state;
	set_limits(0, 0);
	c = compliance_new(&cfg);
	assert_int_equal(compliance_eval(c, 1, &r, out, 4), 0);
	compliance_free(c);
	compliance_free(NULL);
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
	};
	return cmocka_run_group_tests_name("compliance", tests, NULL, NULL);
}
