/*
 * test_outbox_codec.c - the outbox record encoding: exact round trips of
 * polls, alerts, self-metrics, aggregates and reload events (NaN payloads, -0.0, every
 * quality and parameter, UTF-8 and full-length strings, extreme counters),
 * rejection of truncated, overlong and garbage input with the output left
 * untouched, and the encoded sizes, worst cases included. What version 2
 * added (value flags, alert evidence, reading version 1) is in
 * test_outbox_codec_v2.c.
 */
#include "codec_fixture.h"

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
	r.flags = REC_F_CLOCK_UNSYNCED; /* readings before NTP set the clock */
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
		for (int i = 0; i < REC_MAX_VALUES && iter % 3; i++)
			r.u.poll.values[i].flags = (uint8_t)(iter % 3 == 1 ? iter & 0x7f
							     : rand() & 0x7f);
		round_trip(&r);
	}
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

static struct record metrics_rec(int n_sinks)
{
	static const char *const names[REC_MAX_SINKS] = { "mqtt", "influx", "hj212", "x" };
	struct record r;
	struct rec_metrics *m = &r.u.metrics;

	memset(&r, 0, sizeof(r));
	r.type = REC_METRICS;
	r.ts_ms = 1764403260000LL;
	m->polls = 8640;
	m->errors = 12;
	m->timeouts = 9;
	m->crc_errors = 3;
	m->exceptions = 1;
	m->outbox_corrupt = 0;
	m->outbox_io_errors = 2;
	m->late = (uint64_t)n_sinks; /* 0: no tail */
	m->n_sinks = (uint8_t)n_sinks;
	for (int i = 0; i < n_sinks; i++) {
		struct rec_sink_metrics *k = &m->sinks[i];

		set_str(k->name, sizeof(k->name), names[i]);
		k->queue_depth = 100u * (unsigned)i;
		k->oldest_unsent_s = 5 * i;
		k->sent = 8600 + (uint64_t)i;
		k->retried = (uint64_t)i;
		k->dropped = 0;
		k->quarantined = (uint64_t)i;
	}
	return r;
}

static void test_metrics_round_trips(void **state)
{
	struct record r;
	struct rec_metrics *m = &r.u.metrics;
	int n;

	(void)state;
	for (int k = 0; k <= REC_MAX_SINKS; k++) {
		r = metrics_rec(k);
		round_trip(&r);
	}
	n = round_trip(&r);
	print_message("encoded metrics, 4 sinks (typical): %d bytes\n", n);
	/* the extremes: every counter at its maximum, names filling their field */
	m->polls = m->errors = m->timeouts = m->crc_errors = UINT64_MAX;
	m->exceptions = m->outbox_corrupt = m->outbox_io_errors = m->late = UINT64_MAX;
	for (int i = 0; i < REC_MAX_SINKS; i++) {
		struct rec_sink_metrics *k = &m->sinks[i];

		memset(k->name, 'n', sizeof(k->name));
		k->queue_depth = k->sent = k->retried = k->dropped = k->quarantined = UINT64_MAX;
		k->oldest_unsent_s = i & 1 ? INT64_MIN : INT64_MAX;
	}
	r.ts_ms = INT64_MIN;
	n = round_trip(&r);
	assert_true(n <= OUTBOX_CODEC_MAX);
	print_message("encoded metrics, every field at its maximum: %d bytes\n", n);
}

static struct record agg_rec(int n_params)
{
	struct record r;
	struct rec_aggregate *a = &r.u.aggregate;

	memset(&r, 0, sizeof(r));
	r.type = REC_AGGREGATE;
	r.ts_ms = 1764403200000LL;
	set_str(a->outlet, sizeof(a->outlet), "WS-001");
	a->period = AGG_HOUR;
	a->end_ms = r.ts_ms + 3600000;
	a->n = (uint8_t)n_params;
	for (int i = 0; i < n_params; i++) {
		struct rec_agg_param *p = &a->params[i];

		p->param = (uint8_t)(i % P_COUNT);
		p->count = 360;
		p->avg = 412.5 + i;    /* a mean: often not a short decimal */
		p->min = 380.25;
		p->max = 612.4;
		p->cou = i % 3 ? 20.625 : NAN;
	}
	return r;
}

static void test_aggregate_round_trips(void **state)
{
	const double odd[] = { NAN, -0.0, INFINITY, -INFINITY, bits_dbl(0x7ff0000000000001ULL),
			       bits_dbl(0xfff8000000000abcULL), 1.0 / 3.0, 5e-324 };
	const size_t n_odd = sizeof(odd) / sizeof(odd[0]);
	struct record r;
	struct rec_aggregate *a = &r.u.aggregate;

	(void)state;
	for (int k = 0; k <= REC_MAX_VALUES; k++) {
		r = agg_rec(k);
		round_trip(&r);
	}
	for (int i = 0; i < REC_MAX_VALUES; i++) {
		struct rec_agg_param *p = &a->params[i];

		p->avg = odd[i % n_odd];
		p->min = odd[(i + 1) % n_odd];
		p->max = odd[(i + 2) % n_odd];
		p->cou = odd[(i + 3) % n_odd];
		p->count = i & 1 ? UINT32_MAX : 0;
	}
	a->period = 255; /* a raw byte round-trips whatever it holds */
	round_trip(&r);
	/* end before start, and the span wrapping around int64 */
	a->end_ms = INT64_MIN;
	r.ts_ms = INT64_MAX;
	round_trip(&r);
	a->end_ms = INT64_MAX;
	r.ts_ms = INT64_MIN;
	round_trip(&r);
	a->end_ms = 0;
	round_trip(&r);
}

/* The largest record there is must fit OUTBOX_CODEC_MAX. */
static void test_aggregate_worst_case(void **state)
{
	struct record r = agg_rec(REC_MAX_VALUES);
	struct rec_aggregate *a = &r.u.aggregate;
	int n;

	(void)state;
	memset(a->outlet, 'o', sizeof(a->outlet));
	r.ts_ms = INT64_MIN; /* ten bytes, and so is the span of 2^63 to end_ms 0 */
	a->end_ms = 0;
	for (int i = 0; i < REC_MAX_VALUES; i++) {
		struct rec_agg_param *p = &a->params[i];

		p->count = UINT32_MAX;
		/* neither short decimals nor float32: a float64 each */
		p->avg = bits_dbl(0x400921fb54442d18ULL + (uint64_t)i);
		p->min = bits_dbl(0x3fd5555555555555ULL + (uint64_t)i);
		p->max = bits_dbl(0x4005bf0a8b145769ULL + (uint64_t)i);
		p->cou = bits_dbl(0x3ff6a09e667f3bcdULL + (uint64_t)i);
	}
	n = round_trip(&r);
	print_message("encoded aggregate, worst case: %d bytes (maximum %d)\n", n,
		      OUTBOX_CODEC_MAX);
	assert_int_equal(n, 680);
	assert_true(n <= OUTBOX_CODEC_MAX);
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
	r.type = REC_RELOAD + 1;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.type = REC_POLL;
	for (size_t cap = 0; cap < 12; cap++)
		assert_int_equal(outbox_codec_encode(&r, buf, cap), -ENOSPC);
	assert_int_equal(outbox_codec_encode(&a, buf, 40), -ENOSPC);
}

static void test_encode_rejects_new_records(void **state)
{
	struct record m = metrics_rec(2);
	struct record g = agg_rec(3);
	uint8_t buf[OUTBOX_CODEC_MAX];

	(void)state;
	m.u.metrics.n_sinks = REC_MAX_SINKS + 1;
	assert_int_equal(outbox_codec_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.u.metrics.n_sinks = 2;
	for (size_t cap = 0; cap < 20; cap++)
		assert_int_equal(outbox_codec_encode(&m, buf, cap), -ENOSPC);
	g.u.aggregate.n = REC_MAX_VALUES + 1;
	assert_int_equal(outbox_codec_encode(&g, buf, sizeof(buf)), -EINVAL);
	g.u.aggregate.n = 3;
	g.u.aggregate.params[2].param = 16;
	assert_int_equal(outbox_codec_encode(&g, buf, sizeof(buf)), -EINVAL);
	g.u.aggregate.params[2].param = P_COD;
	for (size_t cap = 0; cap < 20; cap++)
		assert_int_equal(outbox_codec_encode(&g, buf, cap), -ENOSPC);
}

static void test_decode_rejects_truncated_and_trailing(void **state)
{
	double v[3] = { 1.5, 2.0, NAN };
	struct record recs[6] = { poll_rec("WS-001", "probe1", 3, v), alert_rec(),
				  metrics_rec(REC_MAX_SINKS), agg_rec(4),
				  poll_rec("WS-001", "probe1", 3, v), alert_rec() };
	uint8_t buf[OUTBOX_CODEC_MAX + 1];

	(void)state;
	recs[2].u.metrics.late = 0; /* a cut before the optional tail reads as a record
				     * without it: the frame's CRC catches that one */
	recs[4].u.poll.values[2].flags = RV_IMPLAUSIBLE;
	recs[5].u.alert.n_params = 2;
	recs[5].u.alert.coverage_pct = 0.1 + 0.2;
	set_str(recs[5].u.alert.note, sizeof(recs[5].u.alert.note), "n");
	for (int k = 0; k < 6; k++) {
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
	static const uint8_t bad_version[] = { 0x30, 0, 0, 0, 0, 0 };
	static const uint8_t version0[] = { 0x00, 0, 0, 0, 0, 0 };
	static const uint8_t bad_type[] = { 0x14, 0, 0, 0, 0 };
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
	assert_rejected(version0, sizeof(version0));
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

/* Metrics and aggregates: counts over their maximum, a parameter byte with
 * reserved bits, a count past 32 bits. */
static void test_decode_rejects_new_records(void **state)
{
	/* metrics, ts 0, seven zero counters, n_sinks */
	static const uint8_t many_sinks[] = { 0x12, 0, 0, 0, 0, 0, 0, 0, 0, REC_MAX_SINKS + 1 };
	/* aggregate, ts 0, outlet "", period 0, n, span 0 */
	static const uint8_t many_params[] = { 0x13, 0, 0, 0, REC_MAX_VALUES + 1, 0 };
	/* one param: byte, encs (all NaN: no bodies), count */
	static const uint8_t reserved[] = { 0x13, 0, 0, 0, 1, 0, 0x13, 0xff, 0 };
	static const uint8_t big_count[] = { 0x13, 0, 0, 0, 1, 0, 0x03, 0xff,
					     0x80, 0x80, 0x80, 0x80, 0x10 };
	static const uint8_t ok_count[] = { 0x13, 0, 0, 0, 1, 0, 0x03, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x0f };
	struct record out;

	(void)state;
	assert_rejected(many_sinks, sizeof(many_sinks));
	assert_rejected(many_params, sizeof(many_params));
	assert_rejected(reserved, sizeof(reserved));
	assert_rejected(big_count, sizeof(big_count));
	assert_int_equal(outbox_codec_decode(ok_count, sizeof(ok_count), &out), 0);
	assert_int_equal(out.type, REC_AGGREGATE);
	assert_int_equal(out.u.aggregate.params[0].param, P_COD);
	assert_int_equal(out.u.aggregate.params[0].count, UINT32_MAX);
	assert_true(isnan(out.u.aggregate.params[0].cou));
}

/* Metrics' late count is an optional tail: without it (as written before
 * it was counted, or when it is 0) it reads 0; a tail of 0 is not one the
 * encoder writes, and a torn one is damage. */
static void test_metrics_late_tail(void **state)
{
	/* metrics v2, ts 0, seven zero counters, no sinks, then the tail */
	static const uint8_t none[] = { 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t five[] = { 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const uint8_t zero[] = { 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t torn[] = { 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x85 };
	static const uint8_t extra[] = { 0x22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5 };
	struct record out;
	uint8_t buf[64];
	struct record r = metrics_rec(0);

	(void)state;
	assert_int_equal(outbox_codec_decode(none, sizeof(none), &out), 0);
	assert_int_equal(out.type, REC_METRICS);
	assert_int_equal(out.u.metrics.late, 0);
	assert_int_equal(outbox_codec_decode(five, sizeof(five), &out), 0);
	assert_int_equal(out.u.metrics.late, 5);
	assert_rejected(zero, sizeof(zero));
	assert_rejected(torn, sizeof(torn));
	assert_rejected(extra, sizeof(extra));
	/* the encoder leaves the tail off for 0, and a count adds one byte */
	r.ts_ms = 0;
	r.u.metrics = (struct rec_metrics){ 0 };
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), (int)sizeof(none));
	assert_memory_equal(buf, none, sizeof(none));
	r.u.metrics.late = 5;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), (int)sizeof(five));
	assert_memory_equal(buf, five, sizeof(five));
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
	assert_true(n > 12 + 29);
	/* tail: 3 x (tag + 8 bytes), two one-byte varints, then the evidence
	 * (all zero: 12 bytes, see test_decode_version1) */
	assert_int_equal(buf[n - 12 - 2 - 27], 0x00);
	buf[n - 12 - 2 - 27] = 0x01;
	assert_rejected(buf, (size_t)n);
}

/*
 * One garbage input against the decoder's contract: rejected with *out
 * untouched, or accepted as a record the encoder takes back (every field
 * in range), whose encoding decodes to itself: encode(decode(x)) is a
 * fixed point, byte for byte. Returns whether it was accepted.
 */
static bool check_garbage(const uint8_t *buf, size_t len, int iter)
{
	struct record out, again, pattern;
	uint8_t canon[OUTBOX_CODEC_MAX], canon2[OUTBOX_CODEC_MAX];
	int n, n2;

	memset(&out, 0xa5, sizeof(out));
	memset(&pattern, 0xa5, sizeof(pattern));
	if (outbox_codec_decode(buf, len, &out) != 0) {
		if (memcmp(&out, &pattern, sizeof(out)) != 0)
			fail_msg("input %d: rejected, but the output was written", iter);
		return false;
	}
	if (out.seq != 0)
		fail_msg("input %d: seq %llu, want 0 (the frame carries it)", iter,
			 (unsigned long long)out.seq);
	n = outbox_codec_encode(&out, canon, sizeof(canon));
	if (n <= 0)
		fail_msg("input %d (%zu bytes): accepted as a type %d record the encoder "
			 "refuses (%d)", iter, len, out.type, n);
	if (outbox_codec_decode(canon, (size_t)n, &again) != 0)
		fail_msg("input %d: the re-encoding of what it decoded to is rejected", iter);
	n2 = outbox_codec_encode(&again, canon2, sizeof(canon2));
	if (n2 != n || memcmp(canon, canon2, (size_t)n) != 0)
		fail_msg("input %d: decode/encode is not a fixed point (%d then %d bytes)",
			 iter, n, n2);
	return true;
}

/* Random bytes and mutated encodings: each is rejected cleanly or decodes
 * to a record that survives a round trip (check_garbage); never a crash,
 * and no over-read (exact-size buffers, run under ASan and valgrind). */
static void test_decode_garbage(void **state)
{
	double v[5] = { 1.0, 2.5, 3.25, 400.0, NAN };
	struct record recs[6] = { poll_rec("WS-001", "probe1", 5, v), alert_rec(),
				  metrics_rec(2), agg_rec(3), poll_rec("WS-001", "probe1", 5, v),
				  fault_rec() };
	uint8_t good[6][OUTBOX_CODEC_MAX];
	int glen[6];
	int accepted = 0, mutated = 0, mutated_accepted = 0;

	(void)state;
	srand(11);
	recs[4].u.poll.values[1].flags = RV_F32; /* flags of their own */
	set_str(recs[5].u.alert.note, sizeof(recs[5].u.alert.note), "closed: false alarm");
	for (int k = 0; k < 6; k++) {
		glen[k] = outbox_codec_encode(&recs[k], good[k], OUTBOX_CODEC_MAX);
		assert_true(glen[k] > 0);
		assert_true(check_garbage(good[k], (size_t)glen[k], -1 - k));
	}
	for (int iter = 0; iter < 50000; iter++) {
		size_t len = (size_t)(rand() % 200);
		uint8_t *buf = malloc(len ? len : 1);
		bool mut = false, ok;

		assert_non_null(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		if (iter & 1 && len > 0) {
			/* a plausible head, of either version */
			buf[0] = (uint8_t)((iter & 2 ? 0x20 : 0x10) | (rand() % 5));
		} else if (iter % 4 == 2) {
			int k = rand() % 6;

			len = (size_t)glen[k];
			free(buf);
			buf = malloc(len);
			assert_non_null(buf);
			memcpy(buf, good[k], len);
			buf[rand() % (int)len] ^= (uint8_t)(1 + rand() % 255);
			mut = true;
		}
		ok = check_garbage(buf, len, iter);
		accepted += ok;
		mutated += mut;
		mutated_accepted += mut && ok;
		free(buf);
	}
	print_message("garbage inputs accepted as records: %d of 50000 (%d of %d mutated "
		      "encodings)\n", accepted, mutated_accepted, mutated);
	/* A byte flipped inside a name or a number still decodes: the round
	 * trip check above must have had records to check. */
	assert_true(mutated > 10000);
	assert_true(mutated_accepted > mutated / 10);
}

/* Reload events: both outcomes, an empty and a full UTF-8 summary, the
 * largest count; a truncated one, an outcome or count out of range and a
 * reload in a version 1 record are refused. */
static void test_reload_round_trips(void **state)
{
	char full[REC_SUMMARY];
	struct record r = reload_rec(RLD_APPLIED, 1, "permit 浙丽排字第2023-0042号: cod instant "
				     "max 500 -> 400 mg/L");

	(void)state;
	round_trip(&r);
	r = reload_rec(RLD_REFUSED, 2, "2 errors reading outfall.conf; the running "
		       "configuration stays");
	r.flags = REC_F_CLOCK_UNSYNCED;
	round_trip(&r);
	r = reload_rec(RLD_APPLIED, 0, "");
	round_trip(&r);
	memset(full, 'x', sizeof(full)); /* filled, no NUL: stored whole */
	r = reload_rec(RLD_APPLIED, UINT16_MAX, "");
	memcpy(r.u.reload.summary, full, sizeof(full));
	assert_true(round_trip(&r) <= OUTBOX_CODEC_MAX);
}

static void test_reload_rejects(void **state)
{
	/* reload, ts 0, outcome, changes, summary "" */
	static const uint8_t ok[] = { 0x25, 0, RLD_REFUSED, 2, 0 };
	static const uint8_t bad_outcome[] = { 0x25, 0, RLD_COUNT, 2, 0 };
	static const uint8_t big_changes[] = { 0x25, 0, RLD_APPLIED, 0x80, 0x80, 0x04, 0 };
	static const uint8_t long_summary[] = { 0x25, 0, RLD_APPLIED, 0, 0x81, 0x02 };
	static const uint8_t version1[] = { 0x15, 0, RLD_APPLIED, 0, 0 };
	static const uint8_t type6[] = { 0x26, 0, RLD_APPLIED, 0, 0 };
	struct record r = reload_rec(RLD_REFUSED, 3, "3 errors reading outfall.conf");
	uint8_t buf[OUTBOX_CODEC_MAX + 1];
	struct record out;
	int n = outbox_codec_encode(&r, buf, OUTBOX_CODEC_MAX);

	(void)state;
	assert_true(n > 0);
	for (int len = 0; len < n; len++)
		assert_rejected(buf, (size_t)len);
	buf[n] = 0;
	assert_rejected(buf, (size_t)n + 1);
	assert_int_equal(outbox_codec_decode(ok, sizeof(ok), &out), 0);
	assert_int_equal(out.type, REC_RELOAD);
	assert_int_equal(out.u.reload.outcome, RLD_REFUSED);
	assert_int_equal(out.u.reload.changes, 2);
	assert_rejected(bad_outcome, sizeof(bad_outcome));
	assert_rejected(big_changes, sizeof(big_changes));
	assert_rejected(long_summary, sizeof(long_summary));
	assert_rejected(version1, sizeof(version1));
	assert_rejected(type6, sizeof(type6));
	r.u.reload.outcome = RLD_COUNT;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	r.u.reload.outcome = RLD_APPLIED;
	for (size_t cap = 0; cap < 8; cap++)
		assert_int_equal(outbox_codec_encode(&r, buf, cap), -ENOSPC);
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
	r = metrics_rec(2);
	n = round_trip(&r);
	print_message("encoded metrics, 2 sinks: %d bytes (+15 framing)\n", n);
	assert_true(n <= 60);
	r = agg_rec(5);
	n = round_trip(&r);
	print_message("encoded hourly aggregate, 5 parameters: %d bytes (+15 framing)\n", n);
	assert_true(n <= 5 * 24 + 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_round_trips),
		cmocka_unit_test(test_poll_random_values),
		cmocka_unit_test(test_alert_round_trips),
		cmocka_unit_test(test_metrics_round_trips),
		cmocka_unit_test(test_metrics_late_tail),
		cmocka_unit_test(test_aggregate_round_trips),
		cmocka_unit_test(test_aggregate_worst_case),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_encode_rejects_new_records),
		cmocka_unit_test(test_decode_rejects_truncated_and_trailing),
		cmocka_unit_test(test_decode_rejects_malformed),
		cmocka_unit_test(test_decode_rejects_new_records),
		cmocka_unit_test(test_decode_rejects_reserved_bits),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_reload_round_trips),
		cmocka_unit_test(test_reload_rejects),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests_name("outbox_codec", tests, NULL, NULL);
}
