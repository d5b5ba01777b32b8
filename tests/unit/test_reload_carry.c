/* test_reload_carry.c - what compliance_reload keeps through compliance_carry:
 * a rolling window across a changed limit (the case: the alert on
 * the rolling mean fires on the first reading after the reload, not a
 * window later), across a changed poll interval (fewer cells), but not
 * across a changed window; the open minute; a raise_after timer; a
 * channel's last good reading for data gaps. */
#include "compliance_fixture.h"

struct cfg2 {
	struct config cfg;
	struct cfg_permit permit;
	struct cfg_limit limits[8];
	struct cfg_sensor sensors[4];
};

/* A copy of the fixture's config to change and reload into. */
static void copy_cfg(struct cfg2 *n)
{
	memcpy(n->limits, F.limits, sizeof(n->limits));
	memcpy(n->sensors, F.sensors, sizeof(n->sensors));
	n->permit = F.permit;
	n->permit.limits = n->limits;
	n->cfg = F.cfg;
	n->cfg.permits = &n->permit;
	n->cfg.sensors = n->sensors;
}

static struct compliance *engine(void)
{
	struct compliance *c = compliance_new(&F.cfg);

	assert_non_null(c);
	fx_tick(c, T0);
	return c;
}

/* cod every 10 s from t for n polls, ticking as the daemon does */
static void feed_cod(struct compliance *c, int64_t t, int n, double v)
{
	for (int i = 0; i < n; i++) {
		fx_poll(c, PROBE, t + i * 10 * S_MS, P_COD, v);
		fx_tick(c, t + i * 10 * S_MS);
	}
}

static int rolling_raised(void)
{
	int n = 0;

	for (int i = 0; i < F.n_ev; i++)
		n += F.ev[i].kind == AK_LIMIT_EXCEEDED && F.ev[i].param == P_COD &&
		     F.ev[i].basis == BASIS_ROLLING && F.ev[i].state == ALERT_RAISED;
	return n;
}

/* The test, in the engine: 10 minutes of cod 450 under a 500
 * rolling limit; the limit is lowered to 400; the next reading raises. */
static void test_window_survives_limit_change(void **state)
{
	struct compliance *c;
	struct cfg2 n;
	int64_t t = T0 + 10 * MIN_MS;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 500.0, 10);
	c = engine();
	feed_cod(c, T0, 60, 450.0);
	assert_int_equal(rolling_raised(), 0);
	copy_cfg(&n);
	n.limits[0].max = 400.0;
	assert_int_equal(compliance_reload(&c, &n.cfg, t), 0);
	fx_tick(c, t);
	fx_poll(c, PROBE, t, P_COD, 450.0);
	assert_int_equal(rolling_raised(), 1);
	a = fx_last(AK_LIMIT_EXCEEDED);
	assert_int_equal(a->window_min, 10);
	assert_near(a->limit, 400.0, 1e-9);
	assert_near(a->value, 450.0, 1e-6); /* the mean of the whole window */
	compliance_free(c);
}

/* The sensor now polls every 60 s: the ring has fewer cells, neighbouring
 * readings share one, none is lost: the mean is that of the last ten
 * minutes, give or take the oldest cell (a fraction of the window). */
static void test_window_survives_fewer_cells(void **state)
{
	struct compliance *c;
	struct rec_alert open[16];
	double peak = NAN;
	int n_open;
	struct cfg2 n;
	int64_t t = T0 + 10 * MIN_MS;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 500.0, 10);
	c = engine();
	feed_cod(c, T0, 30, 300.0);
	feed_cod(c, T0 + 5 * MIN_MS, 30, 600.0);
	assert_int_equal(rolling_raised(), 0); /* mean 450 */
	copy_cfg(&n);
	n.limits[0].max = 400.0;
	n.sensors[PROBE].interval_s = 60;
	assert_int_equal(compliance_reload(&c, &n.cfg, t), 0);
	fx_poll(c, PROBE, t + S_MS, P_COD, 450.0);
	assert_int_equal(rolling_raised(), 1);
	/* (29 x 300 + 30 x 600 + 450) / 60 once the first reading left the
	 * window; (30 x 300 + ...) / 61 while its cell is still in it */
	assert_true(fx_last(AK_LIMIT_EXCEEDED)->value >= (30 * 300.0 + 30 * 600.0 + 450.0) / 61);
	assert_true(fx_last(AK_LIMIT_EXCEEDED)->value <= (29 * 300.0 + 30 * 600.0 + 450.0) / 60);
	/* a minute on, the oldest readings (300) have left for sure: the mean
	 * rose, and the open alert's peak says so */
	fx_poll(c, PROBE, t + 61 * S_MS, P_COD, 450.0);
	n_open = compliance_active(c, WS, open, 16);
	for (int i = 0; i < n_open && i < 16; i++)
		if (open[i].kind == AK_LIMIT_EXCEEDED && open[i].basis == BASIS_ROLLING)
			peak = open[i].peak;
	assert_true(peak > (29 * 300.0 + 30 * 600.0 + 450.0) / 60);
	compliance_free(c);
}

/* A window of another length is another window: it starts afresh and is
 * not judged until it is covered. */
static void test_new_window_starts_afresh(void **state)
{
	struct compliance *c;
	struct cfg2 n;
	int64_t t = T0 + 10 * MIN_MS;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_ROLLING, NAN, 500.0, 10);
	c = engine();
	feed_cod(c, T0, 60, 450.0);
	copy_cfg(&n);
	n.limits[0].max = 400.0;
	n.limits[0].window_min = 20;
	assert_int_equal(compliance_reload(&c, &n.cfg, t), 0);
	feed_cod(c, t, 3, 450.0);
	assert_int_equal(rolling_raised(), 0);
	compliance_free(c);
}

/* Readings of the open minute before the reload are in its aggregate. */
static void test_open_minute_kept(void **state)
{
	struct compliance *c;
	struct cfg2 n;
	const struct rec_agg_param *p;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	feed_cod(c, T0, 3, 100.0); /* :00 :10 :20 */
	copy_cfg(&n);
	n.limits[0].max = 450.0;
	assert_int_equal(compliance_reload(&c, &n.cfg, T0 + 25 * S_MS), 0);
	feed_cod(c, T0 + 30 * S_MS, 3, 200.0); /* :30 :40 :50 */
	fx_tick(c, T0 + MIN_MS);
	p = fx_agg_param(fx_agg("WS-001", AGG_MINUTE), P_COD);
	assert_non_null(p);
	assert_int_equal(p->count, 6);
	assert_near(p->avg, 150.0, 1e-9);
	assert_near(p->min, 100.0, 1e-9);
	compliance_free(c);
}

/* raise_after_s counts from the first bad reading, reload or not. */
static void test_raise_timer_kept(void **state)
{
	struct compliance *c;
	struct cfg2 n;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0)->raise_after_s = 60;
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 600.0);
	fx_poll(c, PROBE, T0 + 30 * S_MS, P_COD, 600.0);
	copy_cfg(&n);
	n.limits[0].max = 550.0; /* still exceeded */
	assert_int_equal(compliance_reload(&c, &n.cfg, T0 + 40 * S_MS), 0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 0);
	fx_poll(c, PROBE, T0 + 60 * S_MS, P_COD, 600.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	a = fx_last(AK_LIMIT_EXCEEDED);
	assert_int_equal(a->since_ms, T0);
	assert_near(a->limit, 550.0, 1e-9);
	compliance_free(c);
}

/* A channel silent since before the reload has its gap counted from its
 * last good reading, not from the reload. */
static void test_gap_counts_from_last_reading(void **state)
{
	struct compliance *c;
	struct cfg2 n;

	(void)state;
	fx_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 100.0);
	fx_tick(c, T0 + 40 * S_MS);
	copy_cfg(&n);
	assert_int_equal(compliance_reload(&c, &n.cfg, T0 + 40 * S_MS), 0);
	fx_tick(c, T0 + 50 * S_MS);
	assert_int_equal(fx_count_of(AK_DATA_GAP, ALERT_RAISED, P_COD, "probe1"), 0);
	fx_tick(c, T0 + 61 * S_MS); /* gap_s 60 after the last reading, at T0 */
	assert_int_equal(fx_count_of(AK_DATA_GAP, ALERT_RAISED, P_COD, "probe1"), 1);
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_survives_limit_change),
		cmocka_unit_test(test_window_survives_fewer_cells),
		cmocka_unit_test(test_new_window_starts_afresh),
		cmocka_unit_test(test_open_minute_kept),
		cmocka_unit_test(test_raise_timer_kept),
		cmocka_unit_test(test_gap_counts_from_last_reading),
	};
	return cmocka_run_group_tests_name("reload_carry", tests, NULL, NULL);
}
