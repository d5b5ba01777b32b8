/*
 * test_compliance_time.c - the engine over time: minute aggregates checked
 * against a hand computation (flow-weighted mean, kg load, volume), local
 * midnight in Asia/Shanghai and across both Europe/Berlin DST changes, a
 * period judged on too little data, wall-clock steps both ways, restarts
 * through the state file (no duplicate raise, cleared while down, rules
 * gone) and reloads.
 */
#include "compliance_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static void quiet_gaps(void)
{
	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800;
}

static struct compliance *engine(void)
{
	struct compliance *c = compliance_new(&F.cfg);

	assert_non_null(c);
	return c;
}

/* ---- aggregates --------------------------------------------------------- */

/*
 * One minute, flow then cod every 10 s (flow only: no counter):
 *   t s     0    10   20   30   40   50
 *   flow   10    20   30    0   40   10  m3/h
 *   cod   100   200  300  400  100  200  mg/L
 * Each reading stands for 10 s (the first for one poll interval, 10 s).
 * Weights q x 10/3600 m3: sum 110 x 10/3600 = 0.30556 m3 = the volume.
 * Flow-weighted cod (1000 + 4000 + 9000 + 0 + 4000 + 2000) / 110 = 181.82
 * mg/L (arithmetic 250); load 20000 x 10/3600 / 1000 = 0.055556 kg.
 */
static void test_minute_aggregate_by_hand(void **state)
{
	static const double q[] = { 10, 20, 30, 0, 40, 10 }, cod[] = { 100, 200, 300, 400, 100,
								      200 };
	const struct rec_agg_param *f, *k;
	const struct record *r;
	struct compliance *c;

	(void)state;
	fx_init();
	quiet_gaps();
	F.sensors[FLOW].n_channels = 1;
	c = engine();
	fx_tick(c, T0);
	for (int i = 0; i < 6; i++) {
		fx_poll(c, FLOW, T0 + i * 10 * S_MS, P_FLOW, q[i]);
		fx_poll(c, PROBE, T0 + i * 10 * S_MS, P_COD, cod[i]);
	}
	assert_int_equal(F.n_aggs, 0);
	fx_tick(c, T0 + MIN_MS);
	r = fx_agg("WS-001", AGG_MINUTE);
	assert_non_null(r);
	assert_int_equal(r->type, REC_AGGREGATE);
	assert_int_equal(r->ts_ms, T0);
	assert_int_equal(r->u.aggregate.end_ms, T0 + MIN_MS);
	assert_int_equal(r->u.aggregate.n, 2);
	f = fx_agg_param(r, P_FLOW);
	k = fx_agg_param(r, P_COD);
	assert_int_equal(f->count, 6);
	assert_near(f->avg, 110.0 / 6, 1e-9);
	assert_true(f->min == 0 && f->max == 40);
	assert_near(f->cou, 110.0 * 10 / 3600, 1e-12);
	assert_int_equal(k->count, 6);
	assert_near(k->avg, 20000.0 / 110, 1e-9);
	assert_true(k->min == 100 && k->max == 400);
	assert_near(k->cou, 20000.0 * 10 / 3600 / 1000, 1e-12);
	assert_null(fx_agg("YS-001", AGG_MINUTE)); /* nothing measured there */
	compliance_free(c);
}

/* pH is not a concentration: arithmetic mean, no amount, even with flow. */
static void test_non_concentration_is_arithmetic(void **state)
{
	struct compliance *c;
	struct record run;
	const struct rec_agg_param *p;

	(void)state;
	fx_init();
	quiet_gaps();
	c = engine();
	assert_int_equal(compliance_running(c, WS, AGG_HOUR, &run), -ENOENT);
	fx_poll(c, FLOW, T0, P_FLOW, 50);
	fx_poll(c, PROBE, T0, P_PH, 6.0);
	fx_poll(c, FLOW, T0 + 10 * S_MS, P_FLOW, 0);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_PH, 8.0);
	assert_int_equal(compliance_running(c, WS, AGG_HOUR, &run), 0);
	assert_int_equal(run.ts_ms, T0);
	p = fx_agg_param(&run, P_PH);
	assert_true(p->avg == 7.0 && isnan(p->cou));
	assert_int_equal(compliance_running(c, WS, AGG_COUNT, &run), -ENOENT);
	assert_int_equal(compliance_running(c, 7, AGG_HOUR, &run), -ENOENT);
	compliance_free(c);
}

/* A concentration read while the flow reading is older than the flow
 * sensor's gap_s has no weight and no load: the mean rests on the readings
 * that have one, and readings that are not good count nowhere. */
static void test_stale_flow_and_bad_readings(void **state)
{
	struct compliance *c;
	struct record run;
	const struct rec_agg_param *k;

	(void)state;
	fx_init();
	quiet_gaps();
	F.sensors[FLOW].gap_s = 60;
	F.sensors[FLOW].n_channels = 1;
	c = engine();
	fx_poll(c, FLOW, T0, P_FLOW, 36.0);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_COD, 100.0);  /* 36 m3/h x 10 s = 0.1 m3 */
	fx_poll(c, PROBE, T0 + 120 * S_MS, P_COD, 300.0); /* flow 120 s old */
	fx_poll_n(c, PROBE, T0 + 130 * S_MS, 130 * S_MS, 2, (int[]){ P_COD, P_PH },
		  (double[]){ 5000.0, NAN }, (int[]){ Q_OUT_OF_RANGE, Q_INVALID });
	assert_int_equal(compliance_running(c, WS, AGG_HOUR, &run), 0);
	k = fx_agg_param(&run, P_COD);
	assert_int_equal(k->count, 2);
	assert_true(k->avg == 100.0);
	assert_near(k->cou, 100.0 * 0.1 / 1000, 1e-12);
	assert_true(k->max == 300.0);
	assert_null(fx_agg_param(&run, P_PH));
	compliance_free(c);
}

/* ---- local midnight ----------------------------------------------------- */

/* Polls cod every 5 min over [from, to), ticking before each poll. */
static void every_5_min(struct compliance *c, int64_t from, int64_t to, double v)
{
	for (int64_t t = from; t < to; t += 5 * MIN_MS) {
		fx_tick(c, t);
		fx_poll(c, PROBE, t, P_COD, v);
	}
	fx_tick(c, to);
}

/* A cod probe polled every 5 min. */
static void slow_probe(void)
{
	quiet_gaps();
	F.sensors[PROBE].n_channels = 1;
	F.sensors[PROBE].interval_s = 300;
	F.sensors[PROBE].gap_s = 900;
}

/* Day aggregates of [from, to) logged so far: their starts and counts. */
static int day_aggs(int64_t *start, int64_t *end, uint32_t *count, int max)
{
	int n = 0;

	for (int i = 0; i < F.n_aggs && n < max; i++) {
		const struct record *r = &F.aggs[i];

		if (r->u.aggregate.period != AGG_DAY || strcmp(r->u.aggregate.outlet, "WS-001"))
			continue;
		start[n] = r->ts_ms;
		end[n] = r->u.aggregate.end_ms;
		count[n++] = fx_agg_param(r, P_COD)->count;
	}
	return n;
}

static void test_midnight_shanghai(void **state)
{
	int64_t s[4], e[4];
	uint32_t n[4];
	struct compliance *c;

	(void)state;
	fx_init();
	slow_probe();
	fx_limit(P_COD, BASIS_DAILY_MEAN, NAN, 300.0, 0);
	c = engine();
	/* 30 Nov 00:00 to 2 Dec 00:00 local: two whole days */
	every_5_min(c, T0 + 8 * HOUR_MS, T0 + 56 * HOUR_MS, 310.0);
	assert_int_equal(day_aggs(s, e, n, 4), 2);
	assert_int_equal(s[0], 1764432000000); /* 2025-11-29 16:00 UTC */
	assert_int_equal(e[0], 1764518400000);
	assert_int_equal(s[1], e[0]);
	assert_int_equal(n[0], 288);
	assert_int_equal(n[1], 288);
	/* judged at each local midnight, on full data */
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_int_equal(F.ev[0].since_ms, 1764432000000);
	assert_int_equal(fx_count(AK_DATA_GAP, -1), 0);
	compliance_free(c);
}

struct dst_case {
	int64_t from, to;          /* local midnights, two days apart */
	int64_t day2_start, day2_end;
	uint32_t day2_count;       /* readings every 5 min */
	int day2_hours;            /* hour aggregates on day 2 */
};

static const struct dst_case dst_cases[] = {
	/* 28 and 29 March 2026: 29 March has 23 hours */
	{ 1774652400000, 1774821600000, 1774738800000, 1774821600000, 276, 23 },
	/* 24 and 25 October 2026: 25 October has 25, two of them 02:00 */
	{ 1792792800000, 1792969200000, 1792879200000, 1792969200000, 300, 25 },
};

static void check_dst(const struct dst_case *d)
{
	int64_t s[4], e[4];
	uint32_t n[4];
	int hours = 0;
	struct compliance *c;

	fx_init();
	fx_tz("Europe/Berlin");
	slow_probe();
	fx_limit(P_COD, BASIS_DAILY_MEAN, NAN, 300.0, 0);
	c = engine();
	every_5_min(c, d->from, d->to, 250.0);
	assert_int_equal(day_aggs(s, e, n, 4), 2);
	assert_int_equal(s[0], d->from);
	assert_int_equal(s[1], d->day2_start);
	assert_int_equal(e[1], d->day2_end);
	assert_int_equal(n[0], 288);
	assert_int_equal(n[1], d->day2_count);
	for (int i = 0; i < F.n_aggs; i++)
		hours += F.aggs[i].u.aggregate.period == AGG_HOUR &&
			 F.aggs[i].ts_ms >= d->day2_start && F.aggs[i].ts_ms < d->day2_end;
	assert_int_equal(hours, d->day2_hours);
	/* the short or long day is covered in full: judged, and fine */
	assert_int_equal(F.n_ev, 0);
	compliance_free(c);
}

static void test_midnight_berlin_dst(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dst_cases) / sizeof(dst_cases[0]); i++)
		check_dst(&dst_cases[i]);
	fx_tz("Asia/Shanghai");
}

/* ---- too little data ---------------------------------------------------- */

static void test_period_insufficient_data(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	slow_probe();
	F.sensors[PROBE].gap_s = 3600; /* the silence is no channel gap yet */
	fx_limit(P_COD, BASIS_HOURLY_MEAN, NAN, 300.0, 0);
	c = engine();
	/* half an hour far above the limit, then silence */
	every_5_min(c, T0, T0 + 30 * MIN_MS, 900.0);
	fx_tick(c, T0 + HOUR_MS);
	assert_int_equal(F.n_ev, 1);
	a = &F.ev[0];
	assert_int_equal(a->kind, AK_DATA_GAP);
	assert_int_equal(a->basis, BASIS_HOURLY_MEAN);
	assert_near(a->coverage_pct, 50.0, 1e-9); /* 6 x 5 min of 60 */
	assert_int_equal(a->gap_s, 1800);
	assert_true(isnan(a->limit));
	assert_string_equal(a->id, "ls-ws-000123/WS-001/cod/hourly_mean-nodata/1764406800000");
	assert_int_equal(a->since_ms, T0);
	/* a full hour: judged (and over), the gap cleared */
	every_5_min(c, T0 + HOUR_MS, T0 + 2 * HOUR_MS, 900.0);
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_CLEARED), 1);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	compliance_free(c);
}

/* ---- clock steps -------------------------------------------------------- */

static int count_readings(int period)
{
	int n = 0;

	for (int i = 0; i < F.n_aggs; i++)
		if (F.aggs[i].u.aggregate.period == period)
			n += (int)fx_agg_param(&F.aggs[i], P_COD)->count;
	return n;
}

/* Back 2 h at 08:30: the open hour takes the readings until the clock
 * reaches 09:00 again; no closed hour is reopened, nothing is dropped, and
 * debounce runs on the monotonic clock. */
static void test_clock_step_back(void **state)
{
	struct compliance *c;
	int64_t mono = 0, wall = T0;
	struct cfg_limit *l;
	int polls = 0;

	(void)state;
	fx_init();
	quiet_gaps();
	l = fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	l->raise_after_s = 120;
	c = engine();
	for (int i = 0; i < 240; i++, polls++) {
		if (i == 30)
			wall -= 2 * HOUR_MS;
		fx_tick_at(c, wall, mono, true);
		fx_poll_n(c, PROBE, wall, mono, 1, (int[]){ P_COD },
			  (double[]){ i >= 29 && i < 32 ? 600.0 : 100.0 }, (int[]){ Q_OK });
		wall += MIN_MS;
		mono += MIN_MS;
	}
	fx_tick_at(c, wall, mono, true);
	/* hours closed: 08:00 when the clock reached 09:00 again (30 readings
	 * before the step, 150 after), then 09:00 */
	assert_int_equal(fx_agg("WS-001", AGG_HOUR) != NULL, 1);
	for (int i = 0, k = 0; i < F.n_aggs; i++) {
		if (F.aggs[i].u.aggregate.period != AGG_HOUR)
			continue;
		assert_int_equal(F.aggs[i].ts_ms, T0 + k * HOUR_MS);
		assert_int_equal(fx_agg_param(&F.aggs[i], P_COD)->count, k == 0 ? 180 : 60);
		k++;
	}
	assert_int_equal(count_readings(AGG_MINUTE), polls);
	/* 600 at 29, 30, 31 min of mono: held 120 s of mono -> raised at 31 */
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	compliance_free(c);
}

/* Forward 3 h at 08:30: 08:00 closes with half its data and says so; the
 * next hour opens at the new time; the rolling window does not notice. */
static void test_clock_step_forward(void **state)
{
	struct compliance *c;
	int64_t mono = 0, wall = T0;

	(void)state;
	fx_init();
	quiet_gaps();
	fx_limit(P_COD, BASIS_HOURLY_MEAN, NAN, 300.0, 0);
	fx_limit(P_COD, BASIS_ROLLING, NAN, 400.0, 10);
	c = engine();
	for (int i = 0; i < 60; i++) {
		if (i == 30)
			wall += 3 * HOUR_MS;
		fx_tick_at(c, wall, mono, true);
		fx_poll_n(c, PROBE, wall, mono, 1, (int[]){ P_COD }, (double[]){ 100.0 },
			  (int[]){ Q_OK });
		wall += MIN_MS;
		mono += MIN_MS;
	}
	assert_int_equal(F.aggs[0].u.aggregate.period, AGG_MINUTE);
	for (int i = 0; i < F.n_aggs; i++)
		if (F.aggs[i].u.aggregate.period == AGG_HOUR) {
			assert_int_equal(F.aggs[i].ts_ms, T0);
			assert_int_equal(fx_agg_param(&F.aggs[i], P_COD)->count, 30);
		}
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_RAISED), 1);
	assert_int_equal(fx_last(AK_DATA_GAP)->basis, BASIS_HOURLY_MEAN);
	assert_int_equal(fx_count(-1, -1), 1); /* the window stayed covered */
	assert_int_equal(count_readings(AGG_MINUTE), 59);
	fx_tick_at(c, T0 + 4 * HOUR_MS, mono, true);
	assert_int_equal(fx_agg("WS-001", AGG_HOUR)->ts_ms, T0 + 3 * HOUR_MS);
	assert_int_equal(fx_agg_param(fx_agg("WS-001", AGG_HOUR), P_COD)->count, 30);
	compliance_free(c);
}

/* ---- restarts ----------------------------------------------------------- */

static char state_dir[256];

static int make_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	(void)state;
	n = snprintf(state_dir, sizeof(state_dir), "%s/test_compliance_time.",
		     tmp && *tmp ? tmp : P_tmpdir);
	if (n < 0 || (size_t)n + 7 > sizeof(state_dir))
		return -1;
	memset(state_dir + n, 'X', 6); /* the six characters mkdtemp replaces */
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

/* Exports c, saves and frees it, loads the file back and restores it into
 * a new engine at wall ms. */
static struct compliance *restart(struct compliance *c, int64_t wall)
{
	struct alertstate out = { 0 }, in = { 0 };

	assert_true(compliance_dirty(c));
	assert_int_equal(compliance_export(c, &out), 0);
	assert_true(compliance_dirty(c));
	assert_int_equal(alertstate_save(state_dir, &out, NULL), 0);
	compliance_saved(c);
	assert_false(compliance_dirty(c));
	alertstate_clear(&out);
	compliance_free(c);
	assert_int_equal(alertstate_load(state_dir, &in), 0);
	c = engine();
	assert_int_equal(compliance_restore(c, &in, wall), 0);
	alertstate_clear(&in);
	return c;
}

static void test_restart_no_duplicate(void **state)
{
	struct compliance *c;
	struct rec_alert act[4];
	struct record run;

	(void)state;
	fx_init();
	quiet_gaps();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	fx_tick(c, T0);
	fx_poll(c, PROBE, T0, P_COD, 700.0);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_COD, 800.0);
	fx_poll(c, FLOW, T0, P_VOLUME_TOTAL, 1000);
	fx_poll(c, FLOW, T0 + 10 * S_MS, P_VOLUME_TOTAL, 1002);
	fx_tick(c, T0 + 20 * S_MS);
	assert_int_equal(F.n_ev, 1);
	c = restart(c, T0 + 5 * MIN_MS);
	/* still open, same evidence, and not raised again */
	assert_int_equal(compliance_open_count(c), 1);
	assert_int_equal(compliance_active(c, WS, act, 4), 1);
	assert_string_equal(act[0].id, F.ev[0].id);
	assert_true(act[0].peak == 800.0);
	fx_tick(c, T0 + 5 * MIN_MS);
	fx_poll(c, PROBE, T0 + 5 * MIN_MS, P_COD, 900.0);
	assert_int_equal(F.n_ev, 1);
	/* the hour goes on where it was, and the volume counted while down */
	fx_poll(c, FLOW, T0 + 5 * MIN_MS, P_VOLUME_TOTAL, 1100);
	assert_int_equal(compliance_running(c, WS, AGG_HOUR, &run), 0);
	assert_int_equal(run.ts_ms, T0);
	assert_int_equal(fx_agg_param(&run, P_COD)->count, 3);
	assert_near(fx_agg_param(&run, P_VOLUME_TOTAL)->cou, 100.0, 1e-9);
	/* cleared with the peak seen on both sides of the restart */
	fx_poll(c, PROBE, T0 + 5 * MIN_MS + 10 * S_MS, P_COD, 100.0);
	assert_int_equal(F.n_ev, 2);
	assert_int_equal(F.ev[1].state, ALERT_CLEARED);
	assert_string_equal(F.ev[1].id, F.ev[0].id);
	assert_true(F.ev[1].peak == 900.0);
	compliance_free(c);
}

/* Fine again while the daemon was down: cleared on the first judgment,
 * without waiting clear_after_s again. */
static void test_restart_cleared_while_down(void **state)
{
	struct compliance *c;
	struct cfg_limit *l;

	(void)state;
	fx_init();
	quiet_gaps();
	l = fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	l->clear_after_s = 300;
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 700.0);
	c = restart(c, T0 + HOUR_MS);
	fx_tick(c, T0 + HOUR_MS);
	assert_int_equal(F.n_ev, 1);
	fx_poll(c, PROBE, T0 + HOUR_MS, P_COD, 120.0);
	assert_int_equal(F.n_ev, 2);
	assert_int_equal(F.ev[1].state, ALERT_CLEARED);
	assert_int_equal(F.ev[1].until_ms, T0 + HOUR_MS);
	assert_int_equal(compliance_open_count(c), 0);
	compliance_free(c);
}

/* A day that ended while the daemon was down is closed at start: its
 * aggregate goes out, its volume alert clears. A rule that is gone from the
 * config is cleared at the first tick. */
static void test_restart_after_the_day(void **state)
{
	struct compliance *c;
	int64_t midnight = T0 + 8 * HOUR_MS;

	(void)state;
	fx_init();
	quiet_gaps();
	F.permit.has_daily_volume = true;
	F.permit.daily_volume_max_m3 = 50;
	fx_limit(P_PH, BASIS_INSTANT, 6.5, 9.5, 0);
	c = engine();
	fx_poll(c, FLOW, T0, P_VOLUME_TOTAL, 1000);
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_PH, 11.0);
	fx_poll(c, FLOW, T0 + 10 * MIN_MS, P_VOLUME_TOTAL, 1060); /* 360 m3/h */
	assert_int_equal(F.n_ev, 2);
	F.permit.n_limits = 0; /* the next config has no pH limit */
	c = restart(c, midnight + HOUR_MS);
	fx_clear_log();
	fx_tick(c, midnight + HOUR_MS);
	assert_int_equal(fx_count(AK_DAILY_VOLUME_EXCEEDED, ALERT_CLEARED), 1);
	assert_near(fx_last(AK_DAILY_VOLUME_EXCEEDED)->value, 60.0, 1e-9);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->until_ms, midnight + HOUR_MS);
	assert_int_equal(fx_last(AK_LIMIT_EXCEEDED)->reason, CR_LIMIT_CHANGED); /* rule gone */
	assert_int_equal(F.n_ev, 2);
	assert_non_null(fx_agg("WS-001", AGG_DAY));
	assert_int_equal(fx_agg("WS-001", AGG_DAY)->ts_ms, midnight - DAY_MS);
	assert_near(fx_agg_param(fx_agg("WS-001", AGG_DAY), P_VOLUME_TOTAL)->cou, 60.0, 1e-9);
	assert_int_equal(compliance_open_count(c), 0);
	compliance_free(c);
}

/* ---- reload ------------------------------------------------------------- */

static void test_reload_retargets(void **state)
{
	struct compliance *c;
	struct cfg_limit saved[8];
	struct config cfg2;
	struct cfg_permit p2;

	(void)state;
	fx_init();
	quiet_gaps();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	fx_limit(P_PH, BASIS_INSTANT, 6.5, 9.5, 0);
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 700.0);
	fx_poll(c, PROBE, T0, P_PH, 5.0);
	assert_int_equal(compliance_open_count(c), 2);
	/* the new permit has the same pH limit and cod as a rolling limit */
	memcpy(saved, F.limits, sizeof(saved));
	p2 = F.permit;
	p2.limits = saved;
	saved[0].basis = BASIS_ROLLING;
	saved[0].window_min = 60;
	cfg2 = F.cfg;
	cfg2.permits = &p2;
	assert_int_equal(compliance_reload(&c, &cfg2, T0 + MIN_MS), 0);
	assert_int_equal(compliance_open_count(c), 1);
	fx_tick(c, T0 + MIN_MS);
	assert_int_equal(F.n_ev, 3);
	assert_int_equal(F.ev[2].state, ALERT_CLEARED);
	assert_string_equal(F.ev[2].id, F.ev[0].id);
	fx_poll(c, PROBE, T0 + MIN_MS, P_PH, 5.0); /* still low: not raised twice */
	assert_int_equal(F.n_ev, 3);
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minute_aggregate_by_hand),
		cmocka_unit_test(test_non_concentration_is_arithmetic),
		cmocka_unit_test(test_stale_flow_and_bad_readings),
		cmocka_unit_test(test_midnight_shanghai),
		cmocka_unit_test(test_midnight_berlin_dst),
		cmocka_unit_test(test_period_insufficient_data),
		cmocka_unit_test(test_clock_step_back),
		cmocka_unit_test(test_clock_step_forward),
		cmocka_unit_test_setup_teardown(test_restart_no_duplicate, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_restart_cleared_while_down, make_dir,
						remove_dir),
		cmocka_unit_test_setup_teardown(test_restart_after_the_day, make_dir, remove_dir),
		cmocka_unit_test(test_reload_retargets),
	};
	return cmocka_run_group_tests_name("compliance_time", tests, NULL, NULL);
}
