/*
 * compliance_fixture.h - a small site for the compliance engine's tests,
 * built in code so the engine is tested apart from the config parser:
 *
 *   outlet WS-001 (sewage, permit P-1): probe1 (cod 0..2000, ph 0..14,
 *       nh3n), flow1 (flow 0..1000 m3/h, volume_total uint32 scale 1)
 *   outlet YS-001 (storm, no permit): storm1 (flow, cod, nh3n)
 *   sensor spare: no outlet
 *
 * Every sensor polls each 10 s with gap_s 60. Time is synthetic: wall ms
 * from T0 and, unless a test steps the clock, mono = wall - T0. Events and
 * records are collected in one log per test.
 */
#ifndef OUTFALL_COMPLIANCE_FIXTURE_H
#define OUTFALL_COMPLIANCE_FIXTURE_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/param.h"
#include "compliance/compliance.h"

#define T0 1764403200000LL /* 2025-11-29 08:00:00 UTC, 16:00 in Shanghai */
#define S_MS 1000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

enum { PROBE, FLOW, SPARE, STORM };
enum { WS, YS };

struct fx {
	struct cfg_channel ch_probe[3], ch_flow[2], ch_storm[3], ch_spare[1];
	struct cfg_sensor sensors[4];
	int ws_sensors[2], ys_sensors[1];
	struct cfg_outlet outlets[2];
	struct cfg_limit limits[8];
	struct cfg_permit permit;
	struct config cfg;
	/* the log */
	struct rec_alert ev[512];
	int n_ev;
	struct record aggs[2048];
	int n_aggs;
	struct record recs[1024]; /* one tick's output */
};

static struct fx F;

static inline void fx_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static inline struct cfg_channel fx_chan(int param, bool range, double lo, double hi)
{
	return (struct cfg_channel){ .param = param, .type = VT_FLOAT32, .scale = 1.0,
				     .has_range = range, .range_min = lo, .range_max = hi };
}

static inline void fx_init(void)
{
	memset(&F, 0, sizeof(F));
	fx_tz("Asia/Shanghai");
	F.ch_probe[0] = fx_chan(P_COD, true, 0, 2000);
	F.ch_probe[1] = fx_chan(P_PH, true, 0, 14);
	F.ch_probe[2] = fx_chan(P_NH3N, false, 0, 0);
	F.ch_flow[0] = fx_chan(P_FLOW, true, 0, 1000);
	F.ch_flow[1] = fx_chan(P_VOLUME_TOTAL, false, 0, 0);
	F.ch_flow[1].type = VT_UINT32;
	F.ch_storm[0] = fx_chan(P_FLOW, false, 0, 0);
	F.ch_storm[1] = fx_chan(P_COD, false, 0, 0);
	F.ch_storm[2] = fx_chan(P_NH3N, false, 0, 0);
	F.ch_spare[0] = fx_chan(P_COD, false, 0, 0);
	F.sensors[PROBE] = (struct cfg_sensor){ .name = "probe1", .outlet = WS, .interval_s = 10,
						.gap_s = 60, .channels = F.ch_probe, .n_channels = 3 };
	F.sensors[FLOW] = (struct cfg_sensor){ .name = "flow1", .outlet = WS, .interval_s = 10,
					       .gap_s = 60, .channels = F.ch_flow, .n_channels = 2 };
	F.sensors[SPARE] = (struct cfg_sensor){ .name = "spare", .outlet = -1, .interval_s = 10,
						.gap_s = 60, .channels = F.ch_spare, .n_channels = 1 };
	F.sensors[STORM] = (struct cfg_sensor){ .name = "storm1", .outlet = YS, .interval_s = 10,
						.gap_s = 60, .channels = F.ch_storm, .n_channels = 3 };
	F.ws_sensors[0] = PROBE;
	F.ws_sensors[1] = FLOW;
	F.ys_sensors[0] = STORM;
	F.outlets[WS] = (struct cfg_outlet){ .id = "WS-001", .kind = OUTLET_SEWAGE, .permit = 0,
					     .sensors = F.ws_sensors, .n_sensors = 2,
					     .flow_noise_m3h = 0.1, .rain_hold_min = 60 };
	F.outlets[YS] = (struct cfg_outlet){ .id = "YS-001", .kind = OUTLET_STORM, .permit = -1,
					     .sensors = F.ys_sensors, .n_sensors = 1,
					     .flow_noise_m3h = 0.1, .rain_hold_min = 60,
					     .signature = { { P_COD, 100.0 }, { P_NH3N, 5.0 } },
					     .n_signature = 2 };
	F.permit = (struct cfg_permit){ .number = "浙丽排字第2023-0042号",
					.holder = "丽水某食品有限公司",
					.valid_from = { 2023, 3, 1 }, .valid_until = { 2028, 2, 28 },
					.limits = F.limits };
	F.cfg = (struct config){
		.id = "ls-ws-000123", .sensors = F.sensors, .n_sensors = 4, .outlets = F.outlets,
		.n_outlets = 2, .permits = &F.permit, .n_permits = 1,
		.alerting = { .hysteresis_pct = 2.0, .no_response_polls = 3, .crc_error_pct = 10.0,
			      .expiry_warning_days = 30, .coverage_pct = 75.0 },
	};
}

/* Adds a limit to P-1: NAN leaves that side out. */
static inline struct cfg_limit *fx_limit(int param, int basis, double min, double max,
					 int window_min)
{
	struct cfg_limit *l = &F.limits[F.permit.n_limits++];

	*l = (struct cfg_limit){ .param = param, .has_min = !isnan(min), .min = min,
				 .has_max = !isnan(max), .max = max, .basis = basis,
				 .window_min = window_min, .hysteresis_pct = 2.0 };
	return l;
}

/* ---- driving the engine ------------------------------------------------- */

/* One poll of sensor s with values v[i] of params p[i] (quality q[i]). */
static inline int fx_poll_n(struct compliance *c, int s, int64_t wall, int64_t mono, int n,
		     const int *p, const double *v, const int *q)
{
	struct record r = { .ts_ms = wall, .type = REC_POLL };
	struct compliance_poll cp = { .rec = &r, .mono_ms = mono };
	int got;

	r.u.poll.n = (uint8_t)n;
	for (int i = 0; i < n; i++)
		r.u.poll.values[i] = (struct rec_value){ .v = v[i], .param = (uint8_t)p[i],
							 .quality = (uint8_t)q[i] };
	got = compliance_poll(c, s, &cp, F.ev + F.n_ev,
			      (int)(sizeof(F.ev) / sizeof(F.ev[0])) - F.n_ev);
	F.n_ev += got;
	return got;
}

/* One good value at wall time t (mono = t - T0). */
static inline int fx_poll(struct compliance *c, int s, int64_t t, int param, double v)
{
	int q = Q_OK;

	return fx_poll_n(c, s, t, t - T0, 1, &param, &v, &q);
}

static inline int fx_tick_at(struct compliance *c, int64_t wall, int64_t mono, bool synced)
{
	struct compliance_out out = { .recs = F.recs, .max = compliance_max_events(c) };
	int n;

	assert_true(out.max <= (int)(sizeof(F.recs) / sizeof(F.recs[0])));
	n = compliance_tick(c, wall, mono, synced, &out);
	assert_int_equal(out.dropped, 0);
	for (int i = 0; i < n; i++) {
		if (F.recs[i].type == REC_ALERT)
			F.ev[F.n_ev++] = F.recs[i].u.alert;
		else if (F.n_aggs < (int)(sizeof(F.aggs) / sizeof(F.aggs[0])))
			F.aggs[F.n_aggs++] = F.recs[i];
	}
	return n;
}

static inline int fx_tick(struct compliance *c, int64_t t)
{
	return fx_tick_at(c, t, t - T0, true);
}

/* Events of kind (-1 any) in state (-1 any) logged so far. */
static inline int fx_count(int kind, int state)
{
	int n = 0;

	for (int i = 0; i < F.n_ev; i++)
		n += (kind < 0 || F.ev[i].kind == kind) && (state < 0 || F.ev[i].state == state);
	return n;
}

/* Events of kind in state (-1 any) about param (-1 any) from sensor (NULL
 * any). */
static inline int fx_count_of(int kind, int state, int param, const char *sensor)
{
	int n = 0;

	for (int i = 0; i < F.n_ev; i++)
		n += F.ev[i].kind == kind && (state < 0 || F.ev[i].state == state) &&
		     (param < 0 || F.ev[i].param == param) &&
		     (!sensor || strcmp(F.ev[i].sensor, sensor) == 0);
	return n;
}

/* The last event of kind, NULL if none. */
static inline const struct rec_alert *fx_last(int kind)
{
	for (int i = F.n_ev - 1; i >= 0; i--)
		if (F.ev[i].kind == kind)
			return &F.ev[i];
	return NULL;
}

/* The last logged aggregate of outlet/period, NULL if none. */
static inline const struct record *fx_agg(const char *outlet, int period)
{
	for (int i = F.n_aggs - 1; i >= 0; i--)
		if (F.aggs[i].u.aggregate.period == period &&
		    strcmp(F.aggs[i].u.aggregate.outlet, outlet) == 0)
			return &F.aggs[i];
	return NULL;
}

static inline const struct rec_agg_param *fx_agg_param(const struct record *r, int param)
{
	for (int i = 0; r && i < r->u.aggregate.n; i++)
		if (r->u.aggregate.params[i].param == param)
			return &r->u.aggregate.params[i];
	return NULL;
}

static inline void fx_clear_log(void)
{
	F.n_ev = 0;
	F.n_aggs = 0;
}

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#endif
