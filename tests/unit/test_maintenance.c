/*
 * test_maintenance.c - sensors in maintenance or calibration and alerts an
 * operator closes (compliance/maintenance.c, maintstate.c): the flags and
 * the start, extend and end events; that nothing the sensor reads meanwhile
 * raises an alert (limits, range, silence, gaps, thin rolling windows); the
 * end by itself and the cap; the restart file, including a wall clock that
 * went back; a reload; maintenance_overuse for too long and too often; an
 * operator's close with its reason and its hold; and status.json.
 */
#include "compliance_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/status.h"
#include "encode/encode.h"
#include "outbox/codec.h"
#include "test_tmpdir.h"

#define MAX_H 8

static struct rec_maint M[64]; /* maintenance events logged */
static int n_m;

static void mt_init(void)
{
	fx_init();
	F.cfg.alerting.maintenance_max_h = MAX_H;
	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800; /* only the probe's gap matters here */
	F.sensors[PROBE].gap_s = 60;
	n_m = 0;
}

static struct compliance *engine(void)
{
	struct compliance *c = compliance_new(&F.cfg);

	assert_non_null(c);
	return c;
}

/* Records out of a tick or a request, into the logs. */
static void take(const struct compliance_out *out)
{
	for (int i = 0; i < out->n; i++) {
		if (out->recs[i].type == REC_ALERT)
			F.ev[F.n_ev++] = out->recs[i].u.alert;
		else if (out->recs[i].type == REC_MAINT)
			M[n_m++] = out->recs[i].u.maint;
	}
}

static void tick_at(struct compliance *c, int64_t wall, int64_t mono)
{
	struct compliance_out out = { .recs = F.recs, .max = compliance_max_events(c) };

	compliance_tick(c, wall, mono, true, &out);
	assert_int_equal(out.dropped, 0);
	take(&out);
}

static void tick(struct compliance *c, int64_t t)
{
	tick_at(c, t, t - T0);
}

static int set_at(struct compliance *c, int s, bool on, int mode, int64_t dur_ms, const char *note,
		  int64_t wall, int64_t mono)
{
	struct compliance_maint_req rq = { .on = on, .mode = mode, .duration_ms = dur_ms,
					   .note = note };
	struct compliance_out out = { .recs = F.recs, .max = compliance_max_events(c) };
	int rc = compliance_maint_set(c, s, &rq, wall, mono, &out);

	take(&out);
	return rc;
}

static int set(struct compliance *c, int s, bool on, int mode, int64_t dur_ms, const char *note,
	       int64_t t)
{
	return set_at(c, s, on, mode, dur_ms, note, t, t - T0);
}

static int poll_q(struct compliance *c, int s, int64_t t, int param, double v, int q)
{
	return fx_poll_n(c, s, t, t - T0, 1, &param, &v, &q);
}

/* ---- the mode ----------------------------------------------------------- */

/* An hour of maintenance: COD over the limit, pH out of range, silence and
 * no good reading for longer than gap_s: nothing is raised. Afterwards the
 * same COD raises at once. */
static void test_nothing_raised_while_it_lasts(void **state)
{
	struct compliance *c;
	int64_t t;

	(void)state;
	mt_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	tick(c, T0);
	assert_int_equal(compliance_maint_flags(c, PROBE), 0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 2 * HOUR_MS, "membrane swap",
			     T0 + 10 * S_MS), 0);
	assert_int_equal(n_m, 1);
	assert_int_equal(M[0].event, MEV_START);
	assert_int_equal(M[0].mode, MM_MAINTENANCE);
	assert_string_equal(M[0].sensor, "probe1");
	assert_string_equal(M[0].outlet, "WS-001");
	assert_string_equal(M[0].note, "membrane swap");
	assert_true(M[0].since_ms == T0 + 10 * S_MS);
	assert_true(M[0].planned_end_ms == T0 + 10 * S_MS + 2 * HOUR_MS);
	assert_int_equal(compliance_maint_flags(c, PROBE), RV_MAINTENANCE);
	assert_int_equal(compliance_maint_flags(c, FLOW), 0);
	for (t = T0 + 20 * S_MS; t < T0 + HOUR_MS; t += 10 * S_MS) {
		int64_t i = (t - T0) / (10 * S_MS);

		if (i % 7 == 0) /* long silences: no_response and the gap */
			poll_q(c, PROBE, t, P_COD, NAN, Q_NO_RESPONSE);
		else if (i < 200)
			poll_q(c, PROBE, t, P_COD, 900.0, Q_OK);
		else if (i % 2)
			poll_q(c, PROBE, t, P_PH, 20.0, Q_OUT_OF_RANGE);
		fx_poll(c, FLOW, t, P_FLOW, 5.0);
		tick(c, t);
	}
	for (t = T0 + HOUR_MS; t < T0 + HOUR_MS + 5 * MIN_MS; t += 10 * S_MS)
		tick(c, t); /* not even polled: still no gap */
	assert_int_equal(F.n_ev, 0);
	assert_int_equal(set(c, PROBE, false, 0, 0, NULL, t), 0);
	assert_int_equal(n_m, 2);
	assert_int_equal(M[1].event, MEV_END);
	assert_int_equal(M[1].ended_by, MEND_OPERATOR);
	assert_true(M[1].until_ms == t);
	assert_string_equal(M[1].note, "membrane swap"); /* the start's reason */
	assert_int_equal(compliance_maint_flags(c, PROBE), 0);
	/* judged again, health starting afresh: one limit alert, no fault */
	poll_q(c, PROBE, t + 10 * S_MS, P_COD, 900.0, Q_OK);
	tick(c, t + 10 * S_MS);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_int_equal(F.n_ev, 1);
	compliance_free(c);
}

/* An alert open before the mode stays open through it, neither cleared by
 * the calibration solutions nor raised again. */
static void test_open_alert_stays(void **state)
{
	struct compliance *c;

	(void)state;
	mt_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	tick(c, T0);
	poll_q(c, PROBE, T0 + S_MS, P_COD, 900.0, Q_OK);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	assert_int_equal(set(c, PROBE, true, MM_CALIBRATION, 30 * MIN_MS, "zero point",
			     T0 + 2 * S_MS), 0);
	assert_int_equal(M[0].mode, MM_CALIBRATION);
	assert_int_equal(compliance_maint_flags(c, PROBE), RV_CALIBRATION);
	for (int i = 1; i < 60; i++) {
		poll_q(c, PROBE, T0 + i * 10 * S_MS, P_COD, i % 2 ? 0.0 : 1000.0, Q_OK);
		tick(c, T0 + i * 10 * S_MS);
	}
	assert_int_equal(F.n_ev, 1);
	assert_int_equal(compliance_open_count(c), 1);
	compliance_free(c);
}

static void test_ends_by_itself_and_cap(void **state)
{
	struct compliance *c;
	struct compliance_maint_info mi;

	(void)state;
	mt_init();
	F.sensors[PROBE].gap_s = 604800; /* never polled here */
	c = engine();
	tick(c, T0);
	/* the cap, and what cannot be asked */
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, MAX_H * HOUR_MS + 1, NULL, T0),
			 -ERANGE);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, -5, NULL, T0), -ERANGE);
	assert_int_equal(set(c, PROBE, true, MM_COUNT, HOUR_MS, NULL, T0), -EINVAL);
	assert_int_equal(set(c, 99, true, MM_MAINTENANCE, HOUR_MS, NULL, T0), -EINVAL);
	assert_int_equal(set(c, PROBE, false, 0, 0, NULL, T0), -EALREADY);
	assert_int_equal(n_m, 0);
	assert_int_equal(compliance_maint_flags(c, PROBE), 0);
	/* no duration: the cap */
	assert_int_equal(set(c, FLOW, true, MM_MAINTENANCE, 0, NULL, T0), 0);
	assert_true(M[0].planned_end_ms == T0 + MAX_H * HOUR_MS);
	assert_string_equal(M[0].note, "");
	/* 30 min, extended at 20 min by 30 min from then */
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 30 * MIN_MS, "a", T0), 0);
	assert_int_equal(set(c, PROBE, true, MM_CALIBRATION, 30 * MIN_MS, "b", T0 + 20 * MIN_MS),
			 0);
	assert_int_equal(n_m, 3);
	assert_int_equal(M[2].event, MEV_EXTEND);
	assert_true(M[2].since_ms == T0);
	assert_true(M[2].planned_end_ms == T0 + 50 * MIN_MS);
	assert_int_equal(M[2].mode, MM_CALIBRATION);
	assert_true(compliance_maint_get(c, PROBE, &mi));
	assert_true(mi.active);
	assert_int_equal(mi.starts_today, 1);
	assert_string_equal(mi.note, "b");
	tick(c, T0 + 50 * MIN_MS - 1);
	assert_int_equal(n_m, 3);
	tick(c, T0 + 50 * MIN_MS);
	assert_int_equal(n_m, 4);
	assert_int_equal(M[3].event, MEV_END);
	assert_int_equal(M[3].ended_by, MEND_EXPIRED);
	assert_true(M[3].until_ms == T0 + 50 * MIN_MS);
	assert_int_equal(compliance_maint_flags(c, PROBE), 0);
	assert_false(compliance_maint_get(c, 99, &mi));
	/* the flow meter's cap */
	tick(c, T0 + MAX_H * HOUR_MS);
	assert_int_equal(n_m, 5);
	assert_int_equal(M[4].ended_by, MEND_EXPIRED);
	assert_int_equal(F.n_ev, 0);
	compliance_free(c);
}

/* The wall clock steps forwards an hour: the mode still ends by the
 * monotonic clock, after the time asked. */
static void test_wall_step_does_not_end_it(void **state)
{
	struct compliance *c;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, HOUR_MS, NULL, T0), 0);
	tick_at(c, T0 + 3 * HOUR_MS, 10 * MIN_MS);
	assert_int_equal(n_m, 1);
	tick_at(c, T0 + 4 * HOUR_MS, HOUR_MS);
	assert_int_equal(n_m, 2);
	compliance_free(c);
}

/* A run of silence, a flat line and garbled answers in the mode hold
 * nothing against the sensor afterwards. */
static void test_health_afresh_after(void **state)
{
	struct compliance *c;
	struct compliance_poll p;
	struct record r = { .type = REC_POLL };

	(void)state;
	mt_init();
	F.ch_probe[0].flatline_s = 60;
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, HOUR_MS, NULL, T0), 0);
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = 100.0, .param = P_COD, .quality = Q_OK };
	for (int i = 1; i <= 30; i++) { /* 5 min flat, half the answers garbled */
		r.ts_ms = T0 + i * 10 * S_MS;
		p = (struct compliance_poll){ .rec = &r, .mono_ms = i * 10 * S_MS,
					      .has_counters = true, .requests = (uint64_t)i * 2,
					      .crc_errors = (uint64_t)i };
		compliance_poll(c, PROBE, &p, F.ev + F.n_ev, 64);
	}
	assert_int_equal(set(c, PROBE, false, 0, 0, NULL, T0 + 301 * S_MS), 0);
	for (int i = 31; i <= 34; i++) { /* clean answers, the same value */
		r.ts_ms = T0 + i * 10 * S_MS;
		p = (struct compliance_poll){ .rec = &r, .mono_ms = i * 10 * S_MS,
					      .has_counters = true, .requests = 60 + (uint64_t)i,
					      .crc_errors = 30 };
		F.n_ev += compliance_poll(c, PROBE, &p, F.ev + F.n_ev, 64);
		tick(c, T0 + i * 10 * S_MS);
	}
	assert_int_equal(F.n_ev, 0);
	compliance_free(c);
}

/* A rolling window thinned by the mode is not a data_gap. */
static void test_thin_window_explained(void **state)
{
	struct compliance *c;
	int64_t t;

	(void)state;
	mt_init();
	F.sensors[PROBE].gap_s = 604800; /* ph and nh3n are not polled */
	fx_limit(P_COD, BASIS_ROLLING, NAN, 400.0, 10);
	c = engine();
	tick(c, T0);
	for (t = T0; t < T0 + 15 * MIN_MS; t += 10 * S_MS) {
		fx_poll(c, PROBE, t, P_COD, 200.0);
		tick(c, t);
	}
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 20 * MIN_MS, NULL, t), 0);
	for (; t <= T0 + 35 * MIN_MS; t += 10 * S_MS) {
		tick(c, t);
		fx_poll(c, PROBE, t, P_COD, 900.0);
	}
	assert_int_equal(n_m, 2); /* ended by itself at 35 min */
	for (; t < T0 + 60 * MIN_MS; t += 10 * S_MS) {
		fx_poll(c, PROBE, t, P_COD, 200.0);
		tick(c, t);
	}
	assert_int_equal(F.n_ev, 0);
	compliance_free(c);
}

/* ---- maintenance_overuse ------------------------------------------------ */

static void test_too_often(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;
	int64_t t = T0;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	for (int i = 0; i < COMPLIANCE_MAINT_STARTS_MAX; i++, t += 10 * MIN_MS) {
		assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 5 * MIN_MS, "x", t), 0);
		assert_int_equal(set(c, PROBE, false, 0, 0, NULL, t + MIN_MS), 0);
		tick(c, t + 2 * MIN_MS);
	}
	assert_int_equal(fx_count(AK_MAINTENANCE, -1), 0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 5 * MIN_MS, "x", t), 0);
	assert_int_equal(fx_count(AK_MAINTENANCE, ALERT_RAISED), 1);
	a = fx_last(AK_MAINTENANCE);
	assert_string_equal(a->sensor, "probe1");
	assert_string_equal(a->outlet, "WS-001");
	assert_true(a->value == COMPLIANCE_MAINT_STARTS_MAX + 1);
	assert_true(a->limit == COMPLIANCE_MAINT_STARTS_MAX);
	assert_non_null(strstr(a->id, "maintenance_often-probe1"));
	/* it stays raised the rest of the day, and clears with the next */
	tick(c, t + 30 * MIN_MS);
	assert_int_equal(fx_count(AK_MAINTENANCE, -1), 1);
	assert_int_equal(compliance_open_count(c), 1);
	tick(c, T0 + DAY_MS);
	assert_int_equal(fx_count(AK_MAINTENANCE, ALERT_CLEARED), 1);
	compliance_free(c);
}

static void test_too_long(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, MAX_H * HOUR_MS, NULL, T0), 0);
	tick(c, T0 + 7 * HOUR_MS);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, MAX_H * HOUR_MS, NULL,
			     T0 + 7 * HOUR_MS), 0);
	tick(c, T0 + MAX_H * HOUR_MS);
	assert_int_equal(fx_count(AK_MAINTENANCE, -1), 0);
	tick(c, T0 + MAX_H * HOUR_MS + S_MS);
	assert_int_equal(fx_count(AK_MAINTENANCE, ALERT_RAISED), 1);
	a = fx_last(AK_MAINTENANCE);
	assert_true(a->value > MAX_H && a->limit == MAX_H);
	assert_non_null(strstr(a->id, "maintenance_long-probe1"));
	assert_int_equal(set(c, PROBE, false, 0, 0, NULL, T0 + 9 * HOUR_MS), 0);
	assert_int_equal(fx_count(AK_MAINTENANCE, ALERT_CLEARED), 1);
	compliance_free(c);
}

/* ---- across a restart --------------------------------------------------- */

/* Export, through the file's bytes, into a new engine. */
static struct compliance *restart(struct compliance *c, int64_t saved, int64_t wall, int64_t mono)
{
	struct maintstate out = { 0 }, in = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	struct compliance *n;

	assert_int_equal(compliance_maint_export(c, saved, &out), 0);
	assert_int_equal(maintstate_encode(&out, &buf, &len), 0);
	assert_int_equal(maintstate_decode(buf, len, &in), 0);
	free(buf);
	maintstate_clear(&out);
	compliance_free(c);
	n = engine();
	assert_int_equal(compliance_maint_restore(n, &in, wall, mono), 0);
	maintstate_clear(&in);
	return n;
}

static void test_restart_neither_ends_nor_stretches(void **state)
{
	struct compliance *c;
	struct compliance_maint_info mi;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_CALIBRATION, 2 * HOUR_MS, "span gas", T0), 0);
	/* down from 10 to 40 min; the new process's monotonic clock starts
	 * at 5 s */
	c = restart(c, T0 + 10 * MIN_MS, T0 + 40 * MIN_MS, 5 * S_MS);
	assert_int_equal(compliance_maint_flags(c, PROBE), RV_CALIBRATION);
	assert_true(compliance_maint_get(c, PROBE, &mi));
	assert_true(mi.since_ms == T0 && mi.planned_end_ms == T0 + 2 * HOUR_MS);
	assert_string_equal(mi.note, "span gas");
	assert_int_equal(mi.starts_today, 1);
	tick_at(c, T0 + 2 * HOUR_MS - S_MS, 5 * S_MS + 80 * MIN_MS - S_MS);
	assert_int_equal(n_m, 1);
	tick_at(c, T0 + 2 * HOUR_MS, 5 * S_MS + 80 * MIN_MS);
	assert_int_equal(n_m, 2);
	assert_int_equal(M[1].event, MEV_END);
	assert_int_equal(M[1].ended_by, MEND_EXPIRED);
	compliance_free(c);
}

static void test_restart_after_planned_end(void **state)
{
	struct compliance *c;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, HOUR_MS, "pump", T0), 0);
	c = restart(c, T0 + MIN_MS, T0 + 3 * HOUR_MS, 0);
	assert_int_equal(compliance_maint_flags(c, PROBE), 0);
	assert_true(compliance_maint_dirty(c));
	tick_at(c, T0 + 3 * HOUR_MS, 0);
	assert_int_equal(n_m, 2);
	assert_int_equal(M[1].event, MEV_END);
	assert_int_equal(M[1].ended_by, MEND_EXPIRED);
	assert_true(M[1].until_ms == T0 + HOUR_MS); /* when it did end */
	assert_string_equal(M[1].note, "pump");
	compliance_free(c);
}

/* Restarted with the clock a day back (a board whose clock was lost): the
 * mode is not open-ended, it lasts at most the cap from now. */
static void test_restart_clock_back_is_capped(void **state)
{
	struct compliance *c;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, 2 * HOUR_MS, NULL, T0), 0);
	c = restart(c, T0, T0 - DAY_MS, 0);
	assert_int_equal(compliance_maint_flags(c, PROBE), RV_MAINTENANCE);
	tick_at(c, T0 - DAY_MS + MAX_H * HOUR_MS - S_MS, MAX_H * HOUR_MS - S_MS);
	assert_int_equal(n_m, 1);
	tick_at(c, T0 - DAY_MS + MAX_H * HOUR_MS, MAX_H * HOUR_MS);
	assert_int_equal(n_m, 2);
	compliance_free(c);
}

/* The starts of the day survive a restart: the fifth after it still
 * raises. A sensor no longer configured has its mode ended. */
static void test_restart_keeps_count_and_ends_removed(void **state)
{
	struct maintstate st = { 0 };
	struct maintstate_entry e[2] = {
		{ .sensor = "probe1", .day = 0, .starts = COMPLIANCE_MAINT_STARTS_MAX },
		{ .sensor = "gone", .active = true, .mode = MM_MAINTENANCE, .since_ms = T0,
		  .planned_end_ms = T0 + HOUR_MS, .note = "old" },
	};
	struct compliance *c;
	int64_t today;

	(void)state;
	mt_init();
	c = engine();
	assert_int_equal(period_local_day(T0, &today), 0);
	e[0].day = today;
	st = (struct maintstate){ .saved_ms = T0, .e = e, .n = 2 };
	assert_int_equal(compliance_maint_restore(c, &st, T0 + MIN_MS, 0), 0);
	tick_at(c, T0 + MIN_MS, 0);
	assert_int_equal(n_m, 1);
	assert_string_equal(M[0].sensor, "gone");
	assert_int_equal(M[0].ended_by, MEND_REMOVED);
	assert_string_equal(M[0].note, "old");
	assert_int_equal(set_at(c, PROBE, true, MM_MAINTENANCE, MIN_MS, NULL, T0 + 2 * MIN_MS,
				MIN_MS), 0);
	assert_int_equal(fx_count(AK_MAINTENANCE, ALERT_RAISED), 1);
	compliance_free(c);
}

/* A reload keeps every mode and its end; one of a sensor that went away
 * ends (removed) with the next tick. */
static void test_reload_carries(void **state)
{
	struct compliance *c;
	struct cfg_sensor sensors[4];
	struct config cfg2;

	(void)state;
	mt_init();
	c = engine();
	tick(c, T0);
	assert_int_equal(set(c, PROBE, true, MM_MAINTENANCE, HOUR_MS, NULL, T0), 0);
	assert_int_equal(set(c, SPARE, true, MM_CALIBRATION, HOUR_MS, NULL, T0), 0);
	assert_string_equal(M[1].outlet, ""); /* a sensor of no outlet */
	memcpy(sensors, F.sensors, sizeof(sensors));
	sensors[SPARE].name = "spare2";
	cfg2 = F.cfg;
	cfg2.sensors = sensors;
	assert_int_equal(compliance_reload(&c, &cfg2, T0 + MIN_MS), 0);
	assert_int_equal(compliance_maint_flags(c, PROBE), RV_MAINTENANCE);
	assert_int_equal(compliance_maint_flags(c, SPARE), 0);
	tick(c, T0 + MIN_MS);
	assert_int_equal(n_m, 3);
	assert_string_equal(M[2].sensor, "spare");
	assert_int_equal(M[2].ended_by, MEND_REMOVED);
	tick(c, T0 + HOUR_MS);
	assert_int_equal(n_m, 4);
	assert_string_equal(M[3].sensor, "probe1");
	compliance_free(c);
}

/* ---- the file ----------------------------------------------------------- */

static void test_file(void **state)
{
	char dir[] = "/tmp/test_maintenance.XXXXXX", path[128];
	struct maintstate_entry e = { .sensor = "probe1", .active = true, .mode = MM_CALIBRATION,
				      .since_ms = T0, .planned_end_ms = T0 + HOUR_MS,
				      .note = "电导率标定", .day = 20421, .starts = 2,
				      .day_ms = 12345 };
	struct maintstate st = { .saved_ms = T0 + 5, .e = &e, .n = 1 }, in = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(maintstate_load(dir, &in), -ENOENT);
	assert_int_equal(maintstate_save(dir, &st), 0);
	assert_int_equal(maintstate_load(dir, &in), 0);
	assert_int_equal(in.n, 1);
	assert_true(in.saved_ms == T0 + 5);
	assert_string_equal(in.e[0].sensor, e.sensor);
	assert_true(in.e[0].active && in.e[0].mode == MM_CALIBRATION);
	assert_true(in.e[0].since_ms == e.since_ms && in.e[0].planned_end_ms == e.planned_end_ms);
	assert_string_equal(in.e[0].note, e.note);
	assert_true(in.e[0].day == e.day && in.e[0].starts == 2 && in.e[0].day_ms == 12345);
	maintstate_clear(&in);
	/* every truncation and a flipped byte are refused */
	assert_int_equal(maintstate_encode(&st, &buf, &len), 0);
	for (size_t n = 0; n < len; n++)
		assert_int_equal(maintstate_decode(buf, n, &in), -EBADMSG);
	buf[len / 2] ^= 0x40;
	assert_int_equal(maintstate_decode(buf, len, &in), -EBADMSG);
	assert_null(in.e);
	snprintf(path, sizeof(path), "%s/%s", dir, MAINTSTATE_FILE);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	assert_int_equal(maintstate_load(dir, &in), -EBADMSG);
	free(buf);
	/* a name longer than its field cannot be saved */
	memset(e.sensor, 'x', sizeof(e.sensor));
	assert_int_equal(maintstate_save(dir, &st), -EINVAL);
	test_rm_tree(dir);
}

/* ---- an operator's close ------------------------------------------------ */

static void test_alert_close(void **state)
{
	struct compliance *c;
	struct compliance_out out = { .recs = F.recs, .max = 8 };
	struct rec_alert a, act[4];

	(void)state;
	mt_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	tick(c, T0);
	fx_poll(c, PROBE, T0 + S_MS, P_COD, 900.0);
	assert_int_equal(F.n_ev, 1);
	a = F.ev[0];
	assert_int_equal(compliance_alert_close(c, "no/such/id", "x", T0, 0, &out), -ENOENT);
	assert_int_equal(out.n, 0);
	assert_int_equal(compliance_alert_close(c, a.id, "probe fouled\nby grease", T0 + 2 * S_MS,
						2 * S_MS, &out), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.recs[0].type, REC_ALERT);
	assert_string_equal(out.recs[0].u.alert.id, a.id);
	assert_int_equal(out.recs[0].u.alert.state, ALERT_CLEARED);
	assert_int_equal(out.recs[0].u.alert.reason, CR_CLOSED_BY_OPERATOR);
	assert_string_equal(out.recs[0].u.alert.note, "probe fouled by grease");
	assert_true(out.recs[0].u.alert.until_ms == T0 + 2 * S_MS);
	assert_int_equal(compliance_active(c, WS, act, 4), 0);
	assert_int_equal(compliance_open_count(c), 0);
	assert_true(compliance_dirty(c));
	/* closed twice: no longer open */
	out.n = 0;
	assert_int_equal(compliance_alert_close(c, a.id, "x", T0, 0, &out), -ENOENT);
	/* held while the condition lasts; back after it went and came again */
	fx_poll(c, PROBE, T0 + 10 * S_MS, P_COD, 900.0);
	fx_poll(c, PROBE, T0 + 20 * S_MS, P_COD, 950.0);
	assert_int_equal(F.n_ev, 1);
	fx_poll(c, PROBE, T0 + 30 * S_MS, P_COD, 100.0);
	fx_poll(c, PROBE, T0 + 40 * S_MS, P_COD, 900.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 2);
	compliance_free(c);
}

/* A close is not open-ended: the condition still true after the cap is
 * raised again. */
static void test_alert_close_hold_is_capped(void **state)
{
	struct compliance *c;
	struct compliance_out out = { .recs = F.recs, .max = 8 };

	(void)state;
	mt_init();
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = engine();
	fx_poll(c, PROBE, T0, P_COD, 900.0);
	assert_int_equal(compliance_alert_close(c, F.ev[0].id, "x", T0, 0, &out), 0);
	fx_poll(c, PROBE, T0 + MAX_H * HOUR_MS - S_MS, P_COD, 900.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1);
	fx_poll(c, PROBE, T0 + MAX_H * HOUR_MS, P_COD, 900.0);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 2);
	compliance_free(c);
}

/* ---- status.json -------------------------------------------------------- */

static void test_status_round_trip(void **state)
{
	char dir[] = "/tmp/test_maintenance.XXXXXX", path[128];
	struct status_sensor ss[2] = { { .name = "probe1", .bus = "b", .device = "/dev/x",
					 .slave = 1, .maint = true, .maint_mode = MM_CALIBRATION,
					 .maint_since_ms = T0, .maint_end_ms = T0 + HOUR_MS,
					 .maint_reason = "zero" },
				       { .name = "flow1", .bus = "b", .device = "/dev/x",
					 .slave = 2 } };
	struct status_snapshot s = { .gateway = "gw", .version = "1", .pid = 1,
				     .now_wall_ms = T0, .has_clock = true, .clock_rtc = true,
				     .clock_synced = false, .dates_judged = true, .sensors = ss,
				     .n_sensors = 2 }, in = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/status.json", dir);
	assert_int_equal(status_write(path, &s), 0);
	assert_int_equal(status_read(path, &in), 0);
	assert_true(in.has_clock && in.clock_rtc && !in.clock_synced && in.dates_judged);
	assert_true(in.sensors[0].maint);
	assert_int_equal(in.sensors[0].maint_mode, MM_CALIBRATION);
	assert_true(in.sensors[0].maint_since_ms == T0);
	assert_true(in.sensors[0].maint_end_ms == T0 + HOUR_MS);
	assert_string_equal(in.sensors[0].maint_reason, "zero");
	assert_false(in.sensors[1].maint);
	status_clear(&in);
	s.has_clock = false; /* an older daemon's file: no clock, no maintenance */
	ss[0].maint = false;
	assert_int_equal(status_write(path, &s), 0);
	assert_int_equal(status_read(path, &in), 0);
	assert_false(in.has_clock);
	assert_false(in.sensors[0].maint);
	status_clear(&in);
	test_rm_tree(dir);
}

/* ---- the event on the wire (encoders of REC_MAINT) ---------------------- */

static struct record maint_rec(void)
{
	struct record r = { .seq = 42, .ts_ms = T0 + HOUR_MS, .type = REC_MAINT };

	r.u.maint = (struct rec_maint){ .event = MEV_END, .mode = MM_CALIBRATION,
					.ended_by = MEND_EXPIRED, .outlet = "WS-001",
					.sensor = "probe1", .since_ms = T0,
					.planned_end_ms = T0 + HOUR_MS, .until_ms = T0 + HOUR_MS,
					.note = "标定 \"span\"" };
	return r;
}

static void test_event_encoded(void **state)
{
	struct record r = maint_rec(), back;
	char buf[PAYLOAD_MAX], lp[1024];
	struct lp_buf lb = { .data = lp, .cap = sizeof(lp) };
	uint8_t bin[OUTBOX_CODEC_MAX];
	int n;

	(void)state;
	assert_true(payload_record(buf, sizeof(buf), "gw", &r) > 0);
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T09:00:00.000Z\",\"seq\":42,"
			    "\"event\":\"end\",\"mode\":\"calibration\",\"flag\":\"C\","
			    "\"outlet\":\"WS-001\",\"sensor\":\"probe1\","
			    "\"since\":\"2025-11-29T08:00:00.000Z\","
			    "\"planned_end\":\"2025-11-29T09:00:00.000Z\","
			    "\"until\":\"2025-11-29T09:00:00.000Z\",\"ended_by\":\"expired\","
			    "\"reason\":\"标定 \\\"span\\\"\"}");
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &r) > 0);
	assert_string_equal(buf, "outfall/gw/maintenance/WS-001");
	assert_int_equal(lp_append_record(&lb, "gw", &r), 1);
	assert_string_equal(lp, "outfall_maintenance,gateway=gw,outlet=WS-001,sensor=probe1,"
			    "event=end,mode=calibration flag=\"C\",reason=\"标定 \\\"span\\\"\","
			    "since=1764403200000i,planned_end=1764406800000i,"
			    "until=1764406800000i,ended_by=\"expired\",seq=42i 1764406800000\n");
	/* a start: no until, no ended_by; no reason is null */
	r.u.maint.event = MEV_START;
	r.u.maint.mode = MM_MAINTENANCE;
	r.u.maint.ended_by = MEND_NONE;
	r.u.maint.note[0] = '\0';
	r.u.maint.outlet[0] = '\0';
	assert_true(payload_record(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"event\":\"start\",\"mode\":\"maintenance\",\"flag\":\"M\","
				    "\"outlet\":null"));
	assert_null(strstr(buf, "until"));
	assert_non_null(strstr(buf, "\"reason\":null}"));
	assert_true(payload_topic(buf, sizeof(buf), "o", &r) > 0);
	assert_string_equal(buf, "o/maintenance/unassigned");
	/* the outbox's bytes round-trip it */
	r = maint_rec();
	n = outbox_codec_encode(&r, bin, sizeof(bin));
	assert_true(n > 0);
	assert_int_equal(outbox_codec_decode(bin, (size_t)n, &back), 0);
	assert_int_equal(back.type, REC_MAINT);
	assert_true(back.ts_ms == r.ts_ms);
	assert_memory_equal(&back.u.maint, &r.u.maint, sizeof(r.u.maint));
	for (int len = 0; len < n; len++)
		assert_int_equal(outbox_codec_decode(bin, (size_t)len, &back), -EBADMSG);
	/* what no sink can be given */
	r.u.maint.event = MEV_COUNT;
	assert_int_equal(payload_record(buf, sizeof(buf), "gw", &r), -EINVAL);
	lb.len = 0;
	assert_int_equal(lp_append_record(&lb, "gw", &r), -EINVAL);
	assert_true(rec_is_event(REC_MAINT) && rec_is_event(REC_ALERT) && !rec_is_event(REC_POLL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_raised_while_it_lasts),
		cmocka_unit_test(test_open_alert_stays),
		cmocka_unit_test(test_ends_by_itself_and_cap),
		cmocka_unit_test(test_wall_step_does_not_end_it),
		cmocka_unit_test(test_health_afresh_after),
		cmocka_unit_test(test_thin_window_explained),
		cmocka_unit_test(test_too_often),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_restart_neither_ends_nor_stretches),
		cmocka_unit_test(test_restart_after_planned_end),
		cmocka_unit_test(test_restart_clock_back_is_capped),
		cmocka_unit_test(test_restart_keeps_count_and_ends_removed),
		cmocka_unit_test(test_reload_carries),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_alert_close),
		cmocka_unit_test(test_alert_close_hold_is_capped),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_event_encoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
