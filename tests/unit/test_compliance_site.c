/*
 * test_compliance_site.c - the rules about the site rather than a limit:
 * each sensor_fault cause, data_gap, daily volume (from a counter and from
 * flow), permit validity and expiry, and storm outlets. Each alert kind is
 * raised and cleared exactly once through its debounce.
 */
#include "compliance_fixture.h"

#define RAISE_S 20
#define CLEAR_S 20

static struct compliance *site(void)
{
	struct compliance *c;

	F.cfg.alerting.raise_after_s = RAISE_S;
	F.cfg.alerting.clear_after_s = CLEAR_S;
	c = compliance_new(&F.cfg);
	assert_non_null(c);
	return c;
}

static int poll_q(struct compliance *c, int s, int64_t t, int param, double v, int q)
{
	return fx_poll_n(c, s, t, t - T0, 1, &param, &v, &q);
}

/* ---- sensor faults ------------------------------------------------------ */

static void test_no_response(void **state)
{
	static const int p[3] = { P_COD, P_PH, P_NH3N }, q[3] = { Q_NO_RESPONSE, Q_NO_RESPONSE,
								  Q_NO_RESPONSE };
	static const int ok[3] = { Q_OK, Q_OK, Q_OK };
	static const double v[3] = { 0, 0, 0 }, good[3] = { 200, 7, 10 };
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	c = site();
	fx_tick(c, T0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(fx_poll_n(c, PROBE, T0 + i * 10 * S_MS, i * 10 * S_MS, 3, p, v, q), 0);
	assert_int_equal(fx_poll_n(c, PROBE, T0 + 20 * S_MS, 20 * S_MS, 3, p, v, q), 1);
	a = fx_last(AK_SENSOR_FAULT);
	/* one per sensor, named after it, listing what it measures */
	assert_string_equal(a->id, "ls-ws-000123/WS-001/probe1/no_response/1764403220000");
	assert_string_equal(a->sensor, "probe1");
	assert_int_equal(a->sensor_health, Q_NO_RESPONSE);
	assert_int_equal(a->cause, FC_NO_RESPONSE);
	assert_int_equal(a->n_params, 3);
	assert_true(a->params[0] == P_COD && a->params[1] == P_PH && a->params[2] == P_NH3N);
	assert_int_equal(a->polls_missed, 3);
	assert_int_equal(a->last_answer_ms, 0); /* never answered */
	assert_true(isnan(a->limit) && isnan(a->value));
	/* silent for minutes: one fault, and no data_gap for the probe beside it */
	for (int64_t t = 30; t <= 300; t += 10) {
		fx_tick(c, T0 + t * S_MS);
		fx_poll_n(c, PROBE, T0 + t * S_MS, t * S_MS, 3, p, v, q);
	}
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, -1, -1, "probe1"), 1);
	assert_int_equal(fx_count_of(AK_DATA_GAP, -1, -1, "probe1"), 0);
	/* answers again: cleared after clear_after_s of answers */
	fx_poll_n(c, PROBE, T0 + 310 * S_MS, 310 * S_MS, 3, p, good, ok);
	fx_poll_n(c, PROBE, T0 + 320 * S_MS, 320 * S_MS, 3, p, good, ok);
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_CLEARED, -1, "probe1"), 0);
	fx_poll_n(c, PROBE, T0 + 330 * S_MS, 330 * S_MS, 3, p, good, ok);
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_CLEARED, -1, "probe1"), 1);
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_RAISED, -1, "probe1"), 1);
	a = fx_last(AK_SENSOR_FAULT);
	assert_int_equal(a->polls_missed, 31); /* silent polls at 0..300 s */
	assert_int_equal(a->until_ms, T0 + 330 * S_MS);
	assert_int_equal(a->reason, CR_SENSOR_RECOVERED);
	compliance_free(c);
}

static void test_crc_errors(void **state)
{
	struct compliance *c;
	struct record r = { .type = REC_POLL };
	struct compliance_poll cp = { .rec = &r, .has_counters = true };
	uint64_t req = 500, crc = 7;

	(void)state;
	fx_init();
	c = site();
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = 7.0, .param = P_PH, .quality = Q_OK };
	/* one garbled answer in three: 33 %, over 10 % */
	for (int i = 0; i <= 20; i++) {
		r.ts_ms = T0 + i * 10 * S_MS;
		cp.mono_ms = i * 10 * S_MS;
		cp.requests = req += 3;
		cp.crc_errors = crc += i < 6;
		F.n_ev += compliance_poll(c, PROBE, &cp, F.ev + F.n_ev, 64);
	}
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_RAISED, -1, "probe1"), 1);
	assert_memory_equal(F.ev[0].id, "ls-ws-000123/WS-001/probe1/crc_errors/", 38);
	/* the baseline is poll 0; 10 requests by poll 4 (33 %), held 20 s */
	assert_int_equal(F.ev[0].since_ms, T0 + 40 * S_MS);
	assert_int_equal(F.ev[0].cause, FC_CRC_ERRORS);
	assert_int_equal(F.ev[0].n_params, 3);
	assert_int_equal(F.ev[0].polls_missed, 0);
	assert_int_equal(F.ev[0].last_answer_ms, T0 + 60 * S_MS);
	assert_true(isnan(F.ev[0].limit));
	/* 5 bad of 3 x n requests is inside the band (9.8 %) from n = 18
	 * (9.26 %): at poll 18, held 20 s: poll 20 */
	assert_int_equal(fx_count_of(AK_SENSOR_FAULT, ALERT_CLEARED, -1, "probe1"), 1);
	assert_int_equal(F.ev[1].until_ms, T0 + 200 * S_MS);
	compliance_free(c);
}

static void test_out_of_range_and_invalid(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	c = site();
	for (int t = 0; t < 20; t += 10)
		assert_int_equal(poll_q(c, PROBE, T0 + t * S_MS, P_COD, 2500, Q_OUT_OF_RANGE), 0);
	assert_int_equal(poll_q(c, PROBE, T0 + 20 * S_MS, P_COD, 2600, Q_OUT_OF_RANGE), 1);
	a = fx_last(AK_SENSOR_FAULT);
	assert_memory_equal(a->id, "ls-ws-000123/WS-001/probe1/out_of_range/", 40);
	assert_int_equal(a->sensor_health, Q_OUT_OF_RANGE);
	assert_int_equal(a->cause, FC_OUT_OF_RANGE);
	assert_int_equal(a->n_params, 1);
	assert_int_equal(a->params[0], P_COD);
	assert_true(a->value == 2600 && isnan(a->limit)); /* the range is no limit */
	poll_q(c, PROBE, T0 + 30 * S_MS, P_COD, 2700, Q_OUT_OF_RANGE);
	for (int t = 40; t <= 60; t += 10)
		poll_q(c, PROBE, T0 + t * S_MS, P_COD, 300, Q_OK);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_SENSOR_FAULT)->reason, CR_SENSOR_RECOVERED);
	/* NaN: implausible, its own cause; the readings after it are doubted
	 * (DISTRUST_READINGS) before the clear wait begins */
	for (int t = 70; t <= 90; t += 10)
		poll_q(c, PROBE, T0 + t * S_MS, P_PH, NAN, Q_INVALID);
	a = fx_last(AK_SENSOR_FAULT);
	assert_int_equal(a->state, ALERT_RAISED);
	assert_memory_equal(a->id, "ls-ws-000123/WS-001/probe1/implausible/", 39);
	assert_int_equal(a->sensor_health, Q_INVALID);
	assert_int_equal(a->cause, FC_IMPLAUSIBLE);
	assert_int_equal(a->n_params, 1);
	assert_int_equal(a->params[0], P_PH);
	assert_non_null(strstr(a->note, "word order or type?"));
	for (int t = 100; t <= 180; t += 10)
		poll_q(c, PROBE, T0 + t * S_MS, P_PH, 7.0, Q_OK);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 1);
	poll_q(c, PROBE, T0 + 190 * S_MS, P_PH, 7.0, Q_OK); /* good since 170, held 20 */
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 2);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 2);
	compliance_free(c);
}

/* A reading stuck for flatline_s is a fault, and stuck readings stop
 * counting for statistics and limits from then on: the open alert they
 * were evidence for stays open, unhealthy. */
static void test_flatline(void **state)
{
	struct compliance *c;
	struct record run;
	const struct rec_agg_param *ap;

	(void)state;
	fx_init();
	F.ch_probe[0].flatline_s = 120;
	fx_limit(P_COD, BASIS_INSTANT, NAN, 500.0, 0);
	c = site();
	for (int t = 0; t <= 130; t += 10)
		poll_q(c, PROBE, T0 + t * S_MS, P_COD, 812.5, Q_OK);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_RAISED), 1); /* before it was flat */
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 0);
	poll_q(c, PROBE, T0 + 140 * S_MS, P_COD, 812.5, Q_OK); /* flat at 120, held 20 */
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 1);
	assert_memory_equal(fx_last(AK_SENSOR_FAULT)->id,
			    "ls-ws-000123/WS-001/probe1/flat_line/1764403340000", 50);
	assert_int_equal(fx_last(AK_SENSOR_FAULT)->cause, FC_FLAT_LINE);
	poll_q(c, PROBE, T0 + 150 * S_MS, P_COD, 812.5, Q_OK);
	assert_int_equal(compliance_running(c, WS, AGG_MINUTE, &run), 0);
	ap = fx_agg_param(&run, P_COD);
	assert_null(ap); /* 2:00 .. 2:30 all flat: none counted */
	assert_int_equal(compliance_active(c, WS, F.ev + 256, 8), 2);
	assert_int_equal(F.ev[256].kind, AK_LIMIT_EXCEEDED);
	assert_int_equal(F.ev[256].unhealthy, 1);
	/* a fresh value is no flat line; limits judge again */
	for (int t = 160; t <= 180; t += 10)
		poll_q(c, PROBE, T0 + t * S_MS, P_COD, 300.0 + t, Q_OK);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 1);
	assert_int_equal(fx_count(AK_LIMIT_EXCEEDED, ALERT_CLEARED), 1);
	compliance_free(c);
}

static void test_counter_backwards(void **state)
{
	static const double v[] = { 1000, 1010, 500, 510, 520, 530 };
	struct compliance *c;
	struct record day;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	c = site();
	/* a minute apart: 10 m3 is well within the flow meter's 1000 m3/h */
	for (int i = 0; i < 6; i++)
		fx_poll(c, FLOW, T0 + i * MIN_MS, P_VOLUME_TOTAL, v[i]);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_RAISED), 1);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, ALERT_CLEARED), 1);
	a = &F.ev[0];
	assert_memory_equal(a->id, "ls-ws-000123/WS-001/flow1/counter_backwards/", 44);
	assert_true(a->value == 500 && isnan(a->limit));
	assert_int_equal(a->cause, FC_COUNTER_BACKWARDS);
	assert_int_equal(a->n_params, 1);
	assert_int_equal(a->params[0], P_VOLUME_TOTAL);
	assert_int_equal(F.ev[1].until_ms, T0 + 4 * MIN_MS); /* 510 at 3 min, good 20 s */
	/* no negative volume: 10 before, 30 after the new base */
	assert_int_equal(compliance_running(c, WS, AGG_DAY, &day), 0);
	assert_near(fx_agg_param(&day, P_VOLUME_TOTAL)->cou, 40.0, 1e-9);
	assert_near(fx_agg_param(&day, P_FLOW)->cou, 40.0, 1e-9);
	assert_int_equal(fx_agg_param(&day, P_FLOW)->count, 0);
	compliance_free(c);
}

/* A channel silent for gap_s: one data_gap, cleared by its next reading. */
static void test_data_gap(void **state)
{
	struct compliance *c;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	F.sensors[FLOW].gap_s = F.sensors[STORM].gap_s = 604800;
	c = site();
	fx_tick(c, T0);
	fx_poll(c, PROBE, T0, P_COD, 100);
	fx_poll(c, PROBE, T0, P_NH3N, 10);
	for (int t = 10; t <= 100; t += 10) {
		fx_tick(c, T0 + t * S_MS);
		fx_poll(c, PROBE, T0 + t * S_MS, P_PH, 7.0);
		fx_poll(c, PROBE, T0 + t * S_MS, P_NH3N, 10);
	}
	/* cod silent 60 s at 60, held 20 s: raised by the tick at 80 */
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_RAISED), 1);
	a = fx_last(AK_DATA_GAP);
	assert_int_equal(a->param, P_COD);
	assert_string_equal(a->id, "ls-ws-000123/WS-001/cod/data_gap-probe1/1764403280000");
	assert_int_equal(a->since_ms, T0 + 60 * S_MS);
	/* its own evidence: 80 s without, and the local day so far (from
	 * 00:00 Shanghai, 16 h before T0) covered by cod's one reading (10 s) */
	assert_int_equal(a->gap_s, 80);
	assert_near(a->coverage_pct, 100.0 * 10 / (16 * 3600 + 80), 1e-9);
	assert_true(isnan(a->limit) && isnan(a->value));
	for (int t = 110; t <= 130; t += 10) {
		fx_tick(c, T0 + t * S_MS);
		fx_poll(c, PROBE, T0 + t * S_MS, P_COD, 100);
		fx_poll(c, PROBE, T0 + t * S_MS, P_PH, 7.0);
		fx_poll(c, PROBE, T0 + t * S_MS, P_NH3N, 10);
	}
	assert_int_equal(fx_count(AK_DATA_GAP, ALERT_CLEARED), 1);
	assert_int_equal(fx_count(-1, -1), 2);
	a = fx_last(AK_DATA_GAP);
	assert_int_equal(a->gap_s, 110); /* the tick before cod came back */
	assert_int_equal(a->reason, CR_SENSOR_RECOVERED);
	compliance_free(c);
}

/* ---- daily volume ------------------------------------------------------- */

/* No counter: 100 m3/h integrated, 10 s a reading (the first stands for one
 * interval too): 1000/3600 m3 each, 120 m3 passed at reading 433. */
static void test_daily_volume_from_flow(void **state)
{
	struct compliance *c;
	int64_t midnight = T0 + 8 * HOUR_MS, t, last = 0;
	const struct rec_alert *a;

	(void)state;
	fx_init();
	F.sensors[PROBE].gap_s = F.sensors[STORM].gap_s = 604800;
	F.sensors[FLOW].n_channels = 1;
	F.permit.has_daily_volume = true;
	F.permit.daily_volume_max_m3 = 120;
	c = site();
	for (t = 0; t < 432; t++)
		assert_int_equal(fx_poll(c, FLOW, T0 + t * 10 * S_MS, P_FLOW, 100.0), 0);
	assert_int_equal(fx_poll(c, FLOW, T0 + t * 10 * S_MS, P_FLOW, 100.0), 1);
	a = &F.ev[0];
	assert_int_equal(a->kind, AK_DAILY_VOLUME_EXCEEDED);
	assert_near(a->value, 433 * 1000.0 / 3600, 1e-6);
	assert_true(a->limit == 120);
	assert_int_equal(a->param, P_VOLUME_TOTAL);
	assert_memory_equal(a->id, "ls-ws-000123/WS-001/volume_total/daily_volume/", 46);
	for (t = 433; T0 + t * 10 * S_MS < midnight; t += 6) {
		fx_poll(c, FLOW, T0 + t * 10 * S_MS, P_FLOW, 100.0);
		last = t * 10;
	}
	assert_int_equal(F.n_ev, 1);
	/* cleared when the local day ends, and only then */
	fx_tick(c, midnight - 1);
	assert_int_equal(F.n_ev, 1);
	fx_tick(c, midnight);
	assert_int_equal(fx_count(AK_DAILY_VOLUME_EXCEEDED, ALERT_CLEARED), 1);
	assert_int_equal(fx_last(AK_DAILY_VOLUME_EXCEEDED)->until_ms, midnight);
	/* the first reading stood for 10 s before T0, the rest for the time
	 * since the one before */
	assert_near(fx_last(AK_DAILY_VOLUME_EXCEEDED)->value, 100.0 * (10 + last) / 3600, 1e-6);
	compliance_free(c);
}

/* With a counter its deltas are the volume, across a wrap. */
static void test_daily_volume_from_counter(void **state)
{
	static const double v[] = { 4294967200.0, 4294967290.0, 4.0, 30.0 };
	struct compliance *c;

	(void)state;
	fx_init();
	F.permit.has_daily_volume = true;
	F.permit.daily_volume_max_m3 = 120;
	c = site();
	/* 5 minutes apart: 90 m3 fits the meter's 1000 m3/h */
	fx_poll(c, FLOW, T0, P_FLOW, 5.0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx_poll(c, FLOW, T0 + i * 5 * MIN_MS, P_VOLUME_TOTAL, v[i]), 0);
	assert_int_equal(fx_poll(c, FLOW, T0 + 15 * MIN_MS, P_VOLUME_TOTAL, v[3]), 1);
	assert_near(F.ev[0].value, 90 + 10 + 26, 1e-6);
	assert_int_equal(fx_count(AK_SENSOR_FAULT, -1), 0); /* a wrap is no fault */
	compliance_free(c);
}

/* ---- permits ------------------------------------------------------------ */

struct validity_case {
	struct cfg_date from, until;
	int64_t at;
	bool alert;
	const char *why;
};

static const struct validity_case validity_cases[] = {
	{ { 2023, 3, 1 }, { 2025, 11, 28 }, T0, true, "expired yesterday" },
	{ { 2023, 3, 1 }, { 2025, 11, 29 }, T0, false, "valid_until is inclusive" },
	{ { 2023, 3, 1 }, { 2025, 11, 29 }, T0 + 8 * HOUR_MS, true, "local midnight passed" },
	{ { 2025, 11, 30 }, { 2030, 1, 1 }, T0, true, "not yet valid" },
	{ { 2025, 11, 30 }, { 2030, 1, 1 }, T0 + 8 * HOUR_MS, false, "valid from today" },
};

static void test_no_valid_permit(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(validity_cases) / sizeof(validity_cases[0]); i++) {
		const struct validity_case *v = &validity_cases[i];
		struct compliance *c;
		int64_t t = v->at;

		fx_init();
		F.permit.valid_from = v->from;
		F.permit.valid_until = v->until;
		F.cfg.alerting.expiry_warning_days = 0;
		c = site();
		fx_tick(c, t);
		for (int k = 0; k < 3; k++)
			fx_poll(c, FLOW, t + k * 10 * S_MS, P_FLOW, 5.0);
		if (fx_count(AK_NO_VALID_PERMIT, ALERT_RAISED) != v->alert)
			fail_msg("%s: %d raised", v->why, fx_count(AK_NO_VALID_PERMIT, -1));
		/* flow at the noise floor is no discharge: cleared after 20 s */
		for (int k = 3; k < 6; k++)
			fx_poll(c, FLOW, t + k * 10 * S_MS, P_FLOW, 0.1);
		assert_int_equal(fx_count(AK_NO_VALID_PERMIT, ALERT_CLEARED), v->alert);
		compliance_free(c);
	}
}

/* A clock nobody has set is no basis for telling an expired permit. */
static void test_no_valid_permit_needs_synced_clock(void **state)
{
	struct compliance *c;

	(void)state;
	fx_init();
	F.permit.valid_until = (struct cfg_date){ 2024, 1, 1 };
	c = site();
	fx_tick_at(c, T0, 0, false);
	for (int k = 0; k < 5; k++)
		fx_poll(c, FLOW, T0 + k * 10 * S_MS, P_FLOW, 5.0);
	assert_int_equal(F.n_ev, 0);
	fx_tick_at(c, T0 + 50 * S_MS, 50 * S_MS, true);
	for (int k = 6; k < 9; k++)
		fx_poll(c, FLOW, T0 + k * 10 * S_MS, P_FLOW, 5.0);
	assert_int_equal(fx_count(AK_NO_VALID_PERMIT, ALERT_RAISED), 1);
	assert_int_equal(fx_count(AK_PERMIT_EXPIRING, ALERT_RAISED), 1); /* expired too */
	compliance_free(c);
}

static void test_permit_expiring(void **state)
{
	struct compliance *c;
	int64_t midnight = T0 + 8 * HOUR_MS;
	struct cfg_permit renewed;
	struct config cfg2;

	(void)state;
	fx_init();
	for (int s = 0; s < 4; s++)
		F.sensors[s].gap_s = 604800;
	F.permit.valid_until = (struct cfg_date){ 2025, 12, 20 };
	c = site();
	fx_tick_at(c, T0, 0, false);
	assert_int_equal(F.n_ev, 0);
	fx_tick(c, T0 + S_MS);
	assert_int_equal(fx_count(AK_PERMIT_EXPIRING, ALERT_RAISED), 1);
	assert_int_equal(F.ev[0].days_left, 21);
	assert_true(isnan(F.ev[0].limit) && isnan(F.ev[0].value)); /* 30 days is no limit */
	assert_string_equal(F.ev[0].id,
			    "ls-ws-000123/WS-001/flow/permit_expiring/1764403201000");
	fx_tick(c, midnight - 1);
	assert_int_equal(F.n_ev, 1);
	/* once a local day: the same alert, sent again with the days left */
	fx_tick(c, midnight);
	fx_tick(c, midnight + HOUR_MS);
	assert_int_equal(F.n_ev, 2);
	assert_string_equal(F.ev[1].id, F.ev[0].id);
	assert_int_equal(F.ev[1].state, ALERT_RAISED);
	assert_int_equal(F.ev[1].days_left, 20);
	/* a renewed permit is loaded: cleared */
	renewed = F.permit;
	renewed.valid_until = (struct cfg_date){ 2030, 11, 28 };
	cfg2 = F.cfg;
	cfg2.permits = &renewed;
	assert_int_equal(compliance_reload(&c, &cfg2, midnight + 2 * HOUR_MS), 0);
	fx_tick(c, midnight + 2 * HOUR_MS);
	assert_int_equal(fx_count(AK_PERMIT_EXPIRING, ALERT_CLEARED), 1);
	assert_string_equal(F.ev[2].id, F.ev[0].id);
	assert_int_equal(F.ev[2].reason, CR_PERMIT_REPLACED);
	fx_tick(c, midnight + DAY_MS);
	assert_int_equal(fx_count(AK_PERMIT_EXPIRING, -1), 3);
	compliance_free(c);
}

/* ---- storm outlets ------------------------------------------------------ */

static void test_storm_flow_and_rain(void **state)
{
	struct compliance *c;
	int64_t t;

	(void)state;
	fx_init();
	c = site();
	for (t = 0; t <= 20; t += 10)
		fx_poll(c, STORM, T0 + t * S_MS, P_FLOW, 2.0);
	assert_int_equal(fx_count(AK_STORM_SEWAGE, ALERT_RAISED), 1);
	assert_memory_equal(F.ev[0].id, "ls-ws-000123/YS-001/flow/storm_flow/", 36);
	assert_string_equal(F.ev[0].outlet, "YS-001");
	assert_string_equal(F.ev[0].permit, "");
	assert_true(F.ev[0].limit == 0.1);
	/* it rains: the flow is rain water, cleared after 20 s */
	compliance_rain(c, YS, 25 * S_MS);
	for (t = 30; t <= 50; t += 10)
		fx_poll(c, STORM, T0 + t * S_MS, P_FLOW, 40.0);
	assert_int_equal(fx_count(AK_STORM_SEWAGE, ALERT_CLEARED), 1);
	/* an hour after the last rain the flow counts again */
	for (t = 60; t < 25 + 3600; t += 600)
		fx_poll(c, STORM, T0 + t * S_MS, P_FLOW, 40.0);
	assert_int_equal(F.n_ev, 2);
	for (t = 3630; t <= 3650; t += 10)
		fx_poll(c, STORM, T0 + t * S_MS, P_FLOW, 3.0);
	assert_int_equal(fx_count(AK_STORM_SEWAGE, ALERT_RAISED), 2);
	compliance_free(c);
}

static void test_storm_signature(void **state)
{
	struct compliance *c;

	(void)state;
	fx_init();
	c = site();
	for (int t = 0; t <= 20; t += 10) {
		fx_poll(c, STORM, T0 + t * S_MS, P_COD, 150.0);
		fx_poll(c, STORM, T0 + t * S_MS, P_NH3N, 4.0);
	}
	assert_int_equal(F.n_ev, 1);
	assert_int_equal(F.ev[0].kind, AK_STORM_SEWAGE);
	assert_int_equal(F.ev[0].param, P_COD);
	assert_memory_equal(F.ev[0].id, "ls-ws-000123/YS-001/cod/storm_signature/", 40);
	assert_true(F.ev[0].limit == 100.0 && F.ev[0].value == 150.0);
	/* back under 98 (2 % band) for 20 s */
	for (int t = 30; t <= 50; t += 10)
		fx_poll(c, STORM, T0 + t * S_MS, P_COD, 97.0);
	assert_int_equal(fx_count(AK_STORM_SEWAGE, ALERT_CLEARED), 1);
	for (int t = 60; t <= 80; t += 10)
		fx_poll(c, STORM, T0 + t * S_MS, P_NH3N, 6.5);
	assert_int_equal(fx_count_of(AK_STORM_SEWAGE, ALERT_RAISED, P_NH3N, NULL), 1);
	assert_int_equal(F.n_ev, 3);
	compliance_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_response),
		cmocka_unit_test(test_crc_errors),
		cmocka_unit_test(test_out_of_range_and_invalid),
		cmocka_unit_test(test_flatline),
		cmocka_unit_test(test_counter_backwards),
		cmocka_unit_test(test_data_gap),
		cmocka_unit_test(test_daily_volume_from_flow),
		cmocka_unit_test(test_daily_volume_from_counter),
		cmocka_unit_test(test_no_valid_permit),
		cmocka_unit_test(test_no_valid_permit_needs_synced_clock),
		cmocka_unit_test(test_permit_expiring),
		cmocka_unit_test(test_storm_flow_and_rain),
		cmocka_unit_test(test_storm_signature),
	};
	return cmocka_run_group_tests_name("compliance_site", tests, NULL, NULL);
}
