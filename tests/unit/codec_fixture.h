/*
 * codec_fixture.h - what test_outbox_codec.c and test_outbox_codec_v2.c
 * share: records to encode, field-by-field comparison (padding is no part
 * of a record), the encode-decode round trip and the rejection check.
 * Helpers are static inline so that each test binary uses what it needs.
 */
#ifndef OUTFALL_CODEC_FIXTURE_H
#define OUTFALL_CODEC_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "outbox/codec.h"

static inline void set_str(char *dst, size_t size, const char *s)
{
	memset(dst, 0, size);
	memcpy(dst, s, strnlen(s, size));
}

static inline double bits_dbl(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static inline void assert_same_dbl(double a, double b)
{
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Field by field: struct padding is not part of a record. */
static inline void assert_same_poll(const struct rec_poll *a, const struct rec_poll *b)
{
	assert_memory_equal(a->outlet, b->outlet, sizeof(a->outlet));
	assert_memory_equal(a->sensor, b->sensor, sizeof(a->sensor));
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_same_dbl(a->values[i].v, b->values[i].v);
		assert_int_equal(a->values[i].param, b->values[i].param);
		assert_int_equal(a->values[i].quality, b->values[i].quality);
		assert_int_equal(a->values[i].flags, b->values[i].flags);
	}
}

static inline void assert_same_alert(const struct rec_alert *a, const struct rec_alert *b)
{
	assert_memory_equal(a->id, b->id, sizeof(a->id));
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->param, b->param);
	assert_int_equal(a->basis, b->basis);
	assert_int_equal(a->sensor_health, b->sensor_health);
	assert_int_equal(a->window_min, b->window_min);
	assert_memory_equal(a->outlet, b->outlet, sizeof(a->outlet));
	assert_memory_equal(a->sensor, b->sensor, sizeof(a->sensor));
	assert_memory_equal(a->permit, b->permit, sizeof(a->permit));
	assert_memory_equal(a->holder, b->holder, sizeof(a->holder));
	assert_same_dbl(a->limit, b->limit);
	assert_same_dbl(a->value, b->value);
	assert_same_dbl(a->peak, b->peak);
	assert_int_equal(a->since_ms, b->since_ms);
	assert_int_equal(a->until_ms, b->until_ms);
	assert_int_equal(a->value_flags, b->value_flags);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->unhealthy, b->unhealthy);
	assert_int_equal(a->cause, b->cause);
	assert_int_equal(a->n_params, b->n_params);
	assert_memory_equal(a->params, b->params, sizeof(a->params));
	assert_int_equal(a->polls_missed, b->polls_missed);
	assert_int_equal(a->last_answer_ms, b->last_answer_ms);
	assert_int_equal(a->gap_s, b->gap_s);
	assert_same_dbl(a->coverage_pct, b->coverage_pct);
	assert_int_equal(a->days_left, b->days_left);
	assert_memory_equal(a->note, b->note, sizeof(a->note));
}

static inline void assert_same_metrics(const struct rec_metrics *a, const struct rec_metrics *b)
{
	assert_int_equal(a->polls, b->polls);
	assert_int_equal(a->errors, b->errors);
	assert_int_equal(a->timeouts, b->timeouts);
	assert_int_equal(a->crc_errors, b->crc_errors);
	assert_int_equal(a->exceptions, b->exceptions);
	assert_int_equal(a->outbox_corrupt, b->outbox_corrupt);
	assert_int_equal(a->outbox_io_errors, b->outbox_io_errors);
	assert_int_equal(a->late, b->late);
	assert_int_equal(a->n_sinks, b->n_sinks);
	for (int i = 0; i < a->n_sinks; i++) {
		const struct rec_sink_metrics *x = &a->sinks[i], *y = &b->sinks[i];

		assert_memory_equal(x->name, y->name, sizeof(x->name));
		assert_int_equal(x->queue_depth, y->queue_depth);
		assert_int_equal(x->oldest_unsent_s, y->oldest_unsent_s);
		assert_int_equal(x->sent, y->sent);
		assert_int_equal(x->retried, y->retried);
		assert_int_equal(x->dropped, y->dropped);
		assert_int_equal(x->quarantined, y->quarantined);
	}
}

static inline void assert_same_aggregate(const struct rec_aggregate *a, const struct rec_aggregate *b)
{
	assert_memory_equal(a->outlet, b->outlet, sizeof(a->outlet));
	assert_int_equal(a->period, b->period);
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->end_ms, b->end_ms);
	for (int i = 0; i < a->n; i++) {
		const struct rec_agg_param *x = &a->params[i], *y = &b->params[i];

		assert_int_equal(x->param, y->param);
		assert_int_equal(x->count, y->count);
		assert_same_dbl(x->avg, y->avg);
		assert_same_dbl(x->min, y->min);
		assert_same_dbl(x->max, y->max);
		assert_same_dbl(x->cou, y->cou);
	}
}

static inline void assert_same_reload(const struct rec_reload *a, const struct rec_reload *b)
{
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->changes, b->changes);
	assert_memory_equal(a->summary, b->summary, sizeof(a->summary));
}

static inline struct record reload_rec(int outcome, int changes, const char *summary)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_RELOAD;
	r.ts_ms = 1764403217000LL;
	r.u.reload.outcome = (uint8_t)outcome;
	r.u.reload.changes = (uint16_t)changes;
	set_str(r.u.reload.summary, sizeof(r.u.reload.summary), summary);
	return r;
}

/* Encodes, decodes and compares; returns the encoded size. */
static inline int round_trip(const struct record *in)
{
	uint8_t buf[OUTBOX_CODEC_MAX];
	struct record out;
	int n = outbox_codec_encode(in, buf, sizeof(buf));
	uint8_t type;
	int64_t ts;

	assert_true(n > 0);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(outbox_codec_decode(buf, (size_t)n, &out), 0);
	assert_int_equal(out.seq, 0);
	assert_int_equal(out.ts_ms, in->ts_ms);
	assert_int_equal(out.type, in->type);
	if (in->type == REC_POLL)
		assert_same_poll(&in->u.poll, &out.u.poll);
	else if (in->type == REC_ALERT)
		assert_same_alert(&in->u.alert, &out.u.alert);
	else if (in->type == REC_METRICS)
		assert_same_metrics(&in->u.metrics, &out.u.metrics);
	else if (in->type == REC_RELOAD)
		assert_same_reload(&in->u.reload, &out.u.reload);
	else
		assert_same_aggregate(&in->u.aggregate, &out.u.aggregate);
	assert_int_equal(outbox_codec_peek(buf, (size_t)n, &type, &ts), 0);
	assert_int_equal(type, in->type);
	assert_int_equal(ts, in->ts_ms);
	return n;
}

static inline struct record poll_rec(const char *outlet, const char *sensor, int n, const double *v)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_POLL;
	r.ts_ms = 1764403217000LL;
	set_str(r.u.poll.outlet, sizeof(r.u.poll.outlet), outlet);
	set_str(r.u.poll.sensor, sizeof(r.u.poll.sensor), sensor);
	r.u.poll.n = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		r.u.poll.values[i].v = v[i];
		r.u.poll.values[i].param = (uint8_t)(i % P_COUNT);
		r.u.poll.values[i].quality = (uint8_t)(i % Q_COUNT);
	}
	return r;
}

static inline struct record alert_rec(void)
{
	struct record r;
	struct rec_alert *a = &r.u.alert;

	memset(&r, 0, sizeof(r));
	r.type = REC_ALERT;
	r.ts_ms = 1764403217000LL;
	set_str(a->id, sizeof(a->id), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	a->state = ALERT_RAISED;
	a->kind = AK_LIMIT_EXCEEDED;
	a->param = P_COD;
	a->basis = 1;
	a->sensor_health = Q_OK;
	a->window_min = 60;
	set_str(a->outlet, sizeof(a->outlet), "WS-001");
	set_str(a->sensor, sizeof(a->sensor), "probe1");
	set_str(a->permit, sizeof(a->permit), "浙丽排字第2023-0042号");
	set_str(a->holder, sizeof(a->holder), "丽水某食品有限公司");
	a->limit = 500.0;
	a->value = 612.4;
	a->peak = 612.4;
	a->since_ms = 1764403217000LL;
	return r;
}

static inline struct record fault_rec(void)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;

	a->kind = AK_SENSOR_FAULT;
	a->value = (float)15.2;
	a->value_flags = RV_F32;
	a->unhealthy = 1;
	a->cause = FC_OUT_OF_RANGE;
	a->n_params = 3;
	a->params[0] = P_PH;
	a->params[1] = P_COD;
	a->params[2] = P_NH3N;
	a->polls_missed = 4;
	a->last_answer_ms = 1764403187000LL;
	a->gap_s = 600;
	a->coverage_pct = 41.66;
	a->days_left = 12;
	return r;
}

static inline void assert_rejected(const uint8_t *buf, size_t len)
{
	struct record out, pattern;
	uint8_t type = 0xee;
	int64_t ts = 0x1234;

	memset(&out, 0xa5, sizeof(out));
	memset(&pattern, 0xa5, sizeof(pattern));
	assert_int_equal(outbox_codec_decode(buf, len, &out), -EBADMSG);
	assert_memory_equal(&out, &pattern, sizeof(out));
	if (len < 2) {
		assert_int_equal(outbox_codec_peek(buf, len, &type, &ts), -EBADMSG);
		assert_int_equal(type, 0xee);
		assert_int_equal(ts, 0x1234);
	}
}

#endif
