/*
 * test_compliance_alerts.c - alerts that say what they mean (DESIGN §5):
 * one sensor_fault per sensor and cause, listing the parameters it affects;
 * why each cleared event came (back inside, the sensor recovered, the limit
 * changed, the permit was replaced); and the new evidence surviving a
 * restart.
 */
#include <stdio.h>
#include <unistd.h>

#include "compliance_fixture.h"

static char state_dir[256];

static int make_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	(void)state;
	n = snprintf(state_dir, sizeof(state_dir), "%s/test_compliance_alerts.",
		     tmp && *tmp ? tmp : P_tmpdir);
	if (n < 0 || (size_t)n + 7 > sizeof(state_dir))
		return -1;
	memset(state_dir + n, 'X', 6);
	state_dir[n + 6] = '\0';
	return mkdtemp(state_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", state_dir, ALERTSTATE_FILE);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

static struct compliance *engine(void)
{
	struct compliance *c;

	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800;
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	return c;
}

static int poll3(struct compliance *c, int64_t t, double cod, int qc, double ph, int qp,
		 double nh3n)
{
	static const int p[3] = { P_COD, P_PH, P_NH3N };
	const double v[3] = { cod, ph, nh3n };
	const int q[3] = { qc, qp, Q_OK };

	return fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, v, q);
}

static bool lists(const struct rec_alert *a, int param)
{
	for (int i = 0; i < a->n_params; i++)
		if (a->params[i] == param)
			return true;
	return false;
}

/* Two channels out of range at once: one alert for the sensor naming both;
 * a third channel implausible: another cause, another alert. A channel
 * coming back while another stays out changes nothing. */
static void test_one_fault_per_sensor(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	F.ch_probe[1].range_min = 2;
	F.ch_probe[1].range_max = 12;
	c = engine();
	poll3(c, 0, 2500, Q_OUT_OF_RANGE, 13, Q_OUT_OF_RANGE, 10);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, -1), 1);
	a = &F.ev[0];
	assert_string_equal(a->id, "ls-ws-000123/WS-001/probe1/out_of_range/1764403200000");
	assert_string_equal(a->sensor, "probe1");
	assert_int_equal(a->cause, FC_OUT_OF_RANGE);
	assert_int_equal(a->n_params, 2);
	assert_true(lists(a, P_COD) && lists(a, P_PH) && !lists(a, P_NH3N));
	assert_true(isnan(a->limit) && isnan(a->peak));
	assert_true(a->value == 2500); /* the first channel showing it */
	assert_int_equal(a->last_answer_ms, T0);
	/* nh3n negative by a mile: implausible, its own alert */
	poll3(c, 10, 2500, Q_OUT_OF_RANGE, 13, Q_OUT_OF_RANGE, -4e20);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 2);
	a = fx_last(AK_SENSOR_FAULT);
	assert_int_equal(a->cause, FC_IMPLAUSIBLE);
	assert_int_equal(a->n_params, 1);
	assert_int_equal(a->params[0], P_NH3N);
	assert_string_equal(a->note, "nh3n -4e+20: below the physical minimum; word order or type?");
	/* cod back in range, pH still out: the range fault stays as it is */
	poll3(c, 20, 300, Q_OK, 13, Q_OUT_OF_RANGE, 10);
	poll3(c, 30, 300, Q_OK, 13, Q_OUT_OF_RANGE, 10);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 2);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 0);
	/* pH back: cleared, still listing both */
	poll3(c, 40, 300, Q_OK, 7, Q_OK, 10);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 1);
	a = fx_last(AK_SENSOR_FAULT);
	assert_int_equal(a->cause, FC_OUT_OF_RANGE);
	assert_int_equal(a->n_params, 2);
	assert_int_equal(a->reason, CR_SENSOR_RECOVERED);
	assert_int_equal(a->until_ms, T0 + 40 * S_MS);
	compliance_free(c);
}

/* A reload that changes a limit's value clears the alert about the old
 * value (limit_changed, with the old limit as evidence) and judges the new
 * one afresh; one that gives the outlet another permit clears the old
 * permit's alerts (permit_replaced). */
static void test_clear_reasons_on_reload(void **state)
{
	struct compliance *c;
	struct cfg_limit lim2[8];
	struct cfg_permit p2, p3;
	struct config cfg2, cfg3;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	fx_limit(P_PH, BASIS_INSTANT, 6.5, 9.5, 0);
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 612.0);
	fx_poll(c, PROBE, T0, P_PH, 5.0);
	assert_int_equal(compliance_open_count(c), 2);
	/* cod's limit lowered to 400 */
	memcpy(lim2, F.limits, sizeof(lim2));
	lim2[0].max = 400.0;
	p2 = F.permit;
	p2.limits = lim2;
	cfg2 = F.cfg;
	cfg2.permits = &p2;
	assert_int_equal(compliance_reload(&c, &cfg2, T0 + MIN_MS), 0);
	fx_tick(c, T0 + MIN_MS);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 1);
	a = fx_last(AK_LIMIT_EXCEEDED);
	assert_int_equal(a->reason, CR_LIMIT_CHANGED);
	assert_true(a->limit == 500.0);
	assert_int_equal(a->until_ms, T0 + MIN_MS);
	fx_poll(c, PROBE, T0 + MIN_MS + 10 * S_MS, P_COD, 450.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 2);
	assert_true(fx_last(AK_LIMIT_EXCEEDED)->limit == 400.0);
	/* the pH limit did not change: still open, not raised again */
	assert_int_equal(fx_count(AK_BELOW_MINIMUM, -1), 1);
	assert_int_equal(compliance_open_count(c), 2);
	/* another permit for the outlet, same limits */
	p3 = p2;
	p3.number = "浙丽排字第2024-0007号";
	cfg3 = cfg2;
	cfg3.permits = &p3;
	assert_int_equal(compliance_reload(&c, &cfg3, T0 + 2 * MIN_MS), 0);
	fx_tick(c, T0 + 2 * MIN_MS);
	assert_int_equal(fx_count(AK_BELOW_MINIMUM, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_BELOW_MINIMUM)->reason, CR_PERMIT_REPLACED);
	assert_string_equal(fx_last(AK_BELOW_MINIMUM)->permit, "浙丽排字第2023-0042号");
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 2);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->reason, CR_PERMIT_REPLACED);
	compliance_free(c);
}

/* A sensor's fault is the sensor's: a new permit number does not clear it. */
static void test_fault_survives_permit_change(void **state)
{
	struct compliance *c;
	struct cfg_permit p2;
	struct config cfg2;

	(void)state;
	fx_init();
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, -7e30);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 1);
	p2 = F.permit;
	p2.number = "P-2";
	cfg2 = F.cfg;
	cfg2.permits = &p2;
	assert_int_equal(compliance_reload(&c, &cfg2, T0 + MIN_MS), 0);
	fx_tick(c, T0 + MIN_MS);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 0);
	assert_int_equal(compliance_open_count(c), 1);
	compliance_free(c);
}

/* What a restart must keep: the fault's cause, parameters and hint, and
 * an alert's unhealthy mark. */
static void test_restart_keeps_the_evidence(void **state)
{
	struct compliance *c;
	struct alertstate out = { 0 }, in = { 0 };
	struct rec_alert act[4];

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 700.0);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_COD, NAN);
	assert_int_equal(compliance_export(c, &out), 0);
	assert_int_equal(alertstate_save(state_dir, &out, NULL), 0);
	alertstate_clear(&out);
	compliance_free(c);
	assert_int_equal(alertstate_load(state_dir, &in), 0);
	c = engine();
	assert_int_equal(compliance_restore(c, &in, T0 + MIN_MS), 0);
	alertstate_clear(&in);
	assert_int_equal(compliance_active(c, WS, act, 4), 2);
	assert_int_equal(act[0].kind, AK_LIMIT_EXCEEDED);
	assert_int_equal(act[0].unhealthy, 1);
	assert_int_equal(act[1].kind, AK_SENSOR_FAULT);
	assert_int_equal(act[1].cause, FC_IMPLAUSIBLE);
	assert_int_equal(act[1].n_params, 1);
	assert_int_equal(act[1].params[0], P_COD);
	assert_int_equal(act[1].last_answer_ms, T0 + 10 * S_MS);
	assert_non_null(strstr(act[1].note, "word order or type?"));
	/* nothing raised again, nothing cleared by the restart */
	fx_tick(c, T0 + MIN_MS);
	assert_int_equal(F.n_ev, 2);
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_fault_per_sensor),
		cmocka_unit_test(test_clear_reasons_on_reload),
		cmocka_unit_test(test_fault_survives_permit_change),
		cmocka_unit_test_setup_teardown(test_restart_keeps_the_evidence, make_dir,
						remove_dir),
	};
	return cmocka_run_group_tests_name("compliance_alerts", tests, NULL, NULL);
}
