/*
 * test_outbox_codec.c - the outbox record encoding: exact round trips of
 * polls and alerts (NaN payloads, -0.0, every quality and parameter, UTF-8
 * and full-length strings), rejection of truncated, overlong and garbage
 * input with the output left untouched, and the encoded sizes.
 */
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

#include "outbox_codec.h"
#include "param.h"

static void set_str(char *dst, size_t size, const char *s)
{
	memset(dst, 0, size);
	memcpy(dst, s, strnlen(s, size));
}

static double bits_dbl(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static void assert_same_dbl(double a, double b)
{
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Field by field: struct padding is not part of a record. */
static void assert_same_poll(const struct rec_poll *a, const struct rec_poll *b)
{
	assert_memory_equal(a->outlet, b->outlet, sizeof(a->outlet));
	assert_memory_equal(a->sensor, b->sensor, sizeof(a->sensor));
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_same_dbl(a->values[i].v, b->values[i].v);
		assert_int_equal(a->values[i].param, b->values[i].param);
		assert_int_equal(a->values[i].quality, b->values[i].quality);
	}
}

static void assert_same_alert(const struct rec_alert *a, const struct rec_alert *b)
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
}

/* Encodes, decodes and compares; returns the encoded size. */
static int round_trip(const struct record *in)
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
	else
		assert_same_alert(&in->u.alert, &out.u.alert);
	assert_int_equal(outbox_codec_peek(buf, (size_t)n, &type, &ts), 0);
	assert_int_equal(type, in->type);
	assert_int_equal(ts, in->ts_ms);
	return n;
}

static struct record poll_rec(const char *outlet, const char *sensor, int n, const double *v)
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

static void test_poll_round_trips(void **state)
{
	static const double sample[REC_MAX_VALUES] = {
		0.0, 123.4, 7.25, -3.5, 1e300, 0.1, 2000.0, 4294967295.0,
		DBL_MIN, 5e-324, -DBL_MAX, 1.0 / 3.0, 12345678.9, 1e-7, 1e16, -0.001,
	};
	const double odd[] = { NAN, -0.0, INFINITY, -INFINITY, bits_dbl(0x7ff0000000000001ULL),
			       bits_dbl(0xfff8000000000abcULL), bits_dbl(0x7ff8000000000001ULL),
			       9007199254740993.0, -9007199254740992.0, FLT_MAX, 3.4e38 * 10 };
	struct record r;

	(void)state;
	r = poll_rec("", "", 0, NULL);
	round_trip(&r);
	r = poll_rec("WS-001", "probe1", 1, sample + 1);
	round_trip(&r);
	r = poll_rec("WS-001", "probe1", REC_MAX_VALUES, sample);
	round_trip(&r);
	r = poll_rec("o", "s", (int)(sizeof(odd) / sizeof(odd[0])), odd);
	round_trip(&r);
	/* every parameter with every quality */
	for (int p = 0; p < P_COUNT; p++) {
		r = poll_rec("WS-001", "probe1", Q_COUNT, sample);
		for (int q = 0; q < Q_COUNT; q++) {
			r.u.poll.values[q].param = (uint8_t)p;
			r.u.poll.values[q].quality = (uint8_t)q;
		}
		round_trip(&r);
	}
	r.ts_ms = INT64_MIN;
	round_trip(&r);
	r.ts_ms = INT64_MAX;
	round_trip(&r);
	r.ts_ms = -1;
	round_trip(&r);
}

/* Random doubles, as bit patterns and as sensor-like decimals. */
static void test_poll_random_values(void **state)
{
	double v[REC_MAX_VALUES];
	struct record r;

	(void)state;
	srand(7);
	for (int iter = 0; iter < 20000; iter++) {
		for (int i = 0; i < REC_MAX_VALUES; i++) {
			uint64_t b = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^
				     (uint64_t)rand();

			if (iter & 1)
				v[i] = bits_dbl(b);
			else
				v[i] = (double)((int)(b % 2000001) - 1000000) /
				       (double)(1 + b % 1000);
		}
		r = poll_rec("WS-001", "probe1", REC_MAX_VALUES, v);
		round_trip(&r);
	}
}

static struct record alert_rec(void)
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

static void test_alert_round_trips(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	int n;

	(void)state;
	n = round_trip(&r);
	print_message("encoded alert (typical): %d bytes\n", n);
	a->state = ALERT_CLEARED;
	a->until_ms = 1764406817000LL;
	a->window_min = INT32_MIN;
	a->limit = NAN;
	a->value = -0.0;
	a->peak = bits_dbl(0x7ff4000000000000ULL);
	a->kind = 255; /* raw bytes round-trip whatever they hold */
	a->basis = 200;
	round_trip(&r);
	/* every string filled to its size, no NUL, multi-byte UTF-8 inside */
	memset(a->id, 'i', sizeof(a->id));
	memset(a->outlet, 'o', sizeof(a->outlet));
	memset(a->sensor, 's', sizeof(a->sensor));
	for (size_t i = 0; i + 3 <= sizeof(a->permit); i += 3)
		memcpy(a->permit + i, "排", 3);
	for (size_t i = 0; i + 3 <= sizeof(a->holder); i += 3)
		memcpy(a->holder + i, "水", 3);
	a->holder[sizeof(a->holder) - 1] = 'x';
	a->window_min = INT32_MAX;
	n = round_trip(&r);
	assert_true(n <= OUTBOX_CODEC_MAX);
	print_message("encoded alert (every string full): %d bytes\n", n);
}

static void test_encode_rejects(void **state)
{
	double v[1] = { 1.0 };
	struct record r = poll_rec("WS-001", "probe1", 1, v);
	uint8_t buf[OUTBOX_CODEC_MAX];
	struct record a = alert_rec();

	(void)state;
	r.u.poll.n = REC_MAX_VALUES + 1;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.u.poll.n = 1;
	r.u.poll.values[0].quality = Q_COUNT;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.u.poll.values[0].quality = Q_OK;
	r.u.poll.values[0].param = 16;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.u.poll.values[0].param = P_COD;
	r.type = 7;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.type = REC_POLL;
	for (size_t cap = 0; cap < 12; cap++)
		assert_int_equal(outbox_codec_encode(&r, buf, cap), -ENOSPC);
	assert_int_equal(outbox_codec_encode(&a, buf, 40), -ENOSPC);
}

static void assert_rejected(const uint8_t *buf, size_t len)
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

static void test_decode_rejects_truncated_and_trailing(void **state)
{
	double v[3] = { 1.5, 2.0, NAN };
	struct record recs[2] = { poll_rec("WS-001", "probe1", 3, v), alert_rec() };
	uint8_t buf[OUTBOX_CODEC_MAX + 1];

	(void)state;
	for (int k = 0; k < 2; k++) {
		int n = outbox_codec_encode(&recs[k], buf, OUTBOX_CODEC_MAX);

		assert_true(n > 0);
		for (int len = 0; len < n; len++)
			assert_rejected(buf, (size_t)len);
		buf[n] = 0;
		assert_rejected(buf, (size_t)n + 1);
	}
}

static void test_decode_rejects_malformed(void **state)
{
	/* version 1 poll, ts 0, outlet "", sensor "", n */
	static const uint8_t bad_version[] = { 0x20, 0, 0, 0, 0 };
	static const uint8_t bad_type[] = { 0x12, 0, 0, 0, 0 };
	static const uint8_t too_many[] = { 0x10, 0, 0, 0, REC_MAX_VALUES + 1 };
	static const uint8_t long_outlet[] = { 0x10, 0, REC_NAME + 1 };
	static const uint8_t huge_len[] = { 0x10, 0, 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t nul_in_str[] = { 0x10, 0, 2, 'a', 0, 0, 0 };
	static const uint8_t overlong_varint[] = { 0x10, 0x80, 0x00, 0, 0, 0 };
	static const uint8_t varint_65bit[] = { 0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
						0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0 };
	static const uint8_t varint_11[] = { 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					     0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0 };
	/* one value: tag decimal, m = 2^53 + 1 (zigzag << 3 | 0) */
	uint8_t dec_big[32] = { 0x10, 0, 0, 0, 1, 0x80 };
	uint64_t zz = ((1ULL << 53) + 1) << 1 << 3;
	size_t n = 6;

	(void)state;
	assert_rejected(bad_version, sizeof(bad_version));
	assert_rejected(bad_type, sizeof(bad_type));
	assert_rejected(too_many, sizeof(too_many));
	assert_rejected(long_outlet, sizeof(long_outlet));
	assert_rejected(huge_len, sizeof(huge_len));
	assert_rejected(nul_in_str, sizeof(nul_in_str));
	assert_rejected(overlong_varint, sizeof(overlong_varint));
	assert_rejected(varint_65bit, sizeof(varint_65bit));
	assert_rejected(varint_11, sizeof(varint_11));
	while (zz >= 0x80) {
		dec_big[n++] = (uint8_t)(zz | 0x80);
		zz >>= 7;
	}
	dec_big[n++] = (uint8_t)zz;
	assert_rejected(dec_big, n);
	assert_rejected(NULL, 0);
}

/* An alert whose double tag has reserved bits set must not decode. */
static void test_decode_rejects_reserved_bits(void **state)
{
	struct record a = alert_rec();
	uint8_t buf[OUTBOX_CODEC_MAX];
	int n;

	(void)state;
	a.u.alert.limit = 0.1 + 0.2; /* float64: tag 0x00 then 8 bytes */
	a.u.alert.value = 0.1 + 0.2;
	a.u.alert.peak = 0.1 + 0.2;
	a.u.alert.since_ms = 0;
	a.u.alert.until_ms = 0;
	n = outbox_codec_encode(&a, buf, sizeof(buf));
	assert_true(n > 29);
	/* tail: 3 x (tag + 8 bytes), then two one-byte varints */
	assert_int_equal(buf[n - 2 - 27], 0x00);
	buf[n - 2 - 27] = 0x01;
	assert_rejected(buf, (size_t)n);
}

/* Random bytes and mutated encodings: never a crash or an over-read. */
static void test_decode_garbage(void **state)
{
	double v[5] = { 1.0, 2.5, 3.25, 400.0, NAN };
	struct record recs[2] = { poll_rec("WS-001", "probe1", 5, v), alert_rec() };
	uint8_t good[2][OUTBOX_CODEC_MAX];
	int glen[2];
	struct record out;
	int accepted = 0;

	(void)state;
	srand(11);
	for (int k = 0; k < 2; k++)
		glen[k] = outbox_codec_encode(&recs[k], good[k], OUTBOX_CODEC_MAX);
	for (int iter = 0; iter < 50000; iter++) {
		size_t len = (size_t)(rand() % 200);
		uint8_t *buf = malloc(len ? len : 1);

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		if (iter & 1 && len > 0) {
			buf[0] = 0x10 | (uint8_t)(rand() & 1); /* plausible head */
		} else if (iter % 4 == 2) {
			int k = rand() & 1;

			len = (size_t)glen[k];
			free(buf);
			buf = malloc(len);
			memcpy(buf, good[k], len);
			buf[rand() % (int)len] ^= (uint8_t)(1 + rand() % 255);
		}
		accepted += outbox_codec_decode(buf, len, &out) == 0;
		free(buf);
	}
	print_message("garbage inputs accepted as records: %d of 50000\n", accepted);
}

static void test_sizes(void **state)
{
	/* a typical poll: 5 channels of a probe, decimals from the instrument */
	const double v[5] = { 123.4, 7.25, 18.6, 35.0, 0.82 };
	struct record r = poll_rec("WS-001", "probe1", 5, v);
	double f[5];
	int n;

	(void)state;
	n = round_trip(&r);
	print_message("encoded poll, 5 decimal values: %d bytes (+15 framing)\n", n);
	assert_true(n + 15 < 150);
	assert_true(n <= 60);
	for (int i = 0; i < 5; i++)
		f[i] = (double)(float)(v[i] * 1.37); /* float32 registers, unscaled */
	r = poll_rec("WS-001", "probe1", 5, f);
	n = round_trip(&r);
	print_message("encoded poll, 5 float32 values: %d bytes (+15 framing)\n", n);
	assert_true(n <= 50);
	for (int i = 0; i < 5; i++)
		f[i] = v[i] * 1.0000001; /* the worst case: full doubles */
	r = poll_rec("WS-001", "probe1", 5, f);
	n = round_trip(&r);
	print_message("encoded poll, 5 arbitrary doubles: %d bytes (+15 framing)\n", n);
	assert_true(n + 15 < 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_round_trips),
		cmocka_unit_test(test_poll_random_values),
		cmocka_unit_test(test_alert_round_trips),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_decode_rejects_truncated_and_trailing),
		cmocka_unit_test(test_decode_rejects_malformed),
		cmocka_unit_test(test_decode_rejects_reserved_bits),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests_name("outbox_codec", tests, NULL, NULL);
}
