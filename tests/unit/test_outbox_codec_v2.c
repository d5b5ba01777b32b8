/*
 * test_outbox_codec_v2.c - what version 2 of the outbox record encoding
 * added (issue 9): value flags, shared by a poll's values or each its own;
 * every field of an alert's evidence round-trips, extremes included, and
 * the largest alert fits; version 1 records, written by the previous
 * release, still decode with the new fields zero; flags bytes and evidence
 * no encoder writes are rejected, with the output left untouched.
 */
#include "codec_fixture.h"

/* Value flags: shared by every value (one byte per poll), or each its own. */
static void test_poll_flags_round_trip(void **state)
{
	const double v[5] = { 183.9f, 7.2f, 25.0f, 3.1f, 20.5f };
	struct record r = poll_rec("WS-001", "probe1", 5, v);
	uint8_t buf[OUTBOX_CODEC_MAX];
	int plain, shared, each;

	(void)state;
	plain = round_trip(&r);
	for (int i = 0; i < 5; i++)
		r.u.poll.values[i].flags = RV_F32 | RV_MAINTENANCE;
	shared = round_trip(&r);
	assert_int_equal(shared, plain); /* one byte either way */
	r.u.poll.values[2].flags = RV_F32 | RV_IMPLAUSIBLE;
	r.u.poll.values[4].flags = 0x7f; /* every bit a value may carry */
	each = round_trip(&r);
	assert_int_equal(each, plain + 5);
	print_message("encoded poll, 5 values: %d bytes, the same with shared flags, %d "
		      "with flags of their own\n", plain, each);
	r.u.poll.values[0].flags = 0x80; /* does not fit the format */
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	for (int i = 0; i < 5; i++)
		r.u.poll.values[i].flags = 0x80;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
	/* flags past n are not part of the record */
	r = poll_rec("WS-001", "probe1", 2, v);
	r.u.poll.values[1].flags = RV_CALIBRATION;
	r.u.poll.values[2].flags = 0xff;
	r.u.poll.values[2].v = 1.0;
	assert_true(outbox_codec_encode(&r, buf, sizeof(buf)) > 0);
	r.u.poll.values[2].flags = 0;
	r.u.poll.values[2].v = 0.0;
	round_trip(&r);
}

static void test_alert_evidence_round_trips(void **state)
{
	struct record r = fault_rec();
	struct rec_alert *a = &r.u.alert;
	uint8_t buf[OUTBOX_CODEC_MAX];
	int n;

	(void)state;
	n = round_trip(&r);
	print_message("encoded sensor_fault (typical): %d bytes\n", n);
	a->state = ALERT_CLEARED;
	a->reason = CR_CLOSED_BY_OPERATOR;
	set_str(a->note, sizeof(a->note), "探头清洗后误报, closed by Li");
	round_trip(&r);
	/* the extremes of every field */
	a->polls_missed = INT32_MIN;
	a->gap_s = INT32_MAX;
	a->days_left = INT32_MIN;
	a->last_answer_ms = INT64_MIN;
	a->coverage_pct = NAN;
	a->value_flags = 0xff;
	a->reason = 255;
	a->cause = 255;
	a->unhealthy = 255;
	a->n_params = REC_MAX_VALUES;
	for (int i = 0; i < REC_MAX_VALUES; i++)
		a->params[i] = (uint8_t)(255 - i); /* raw bytes round-trip */
	memset(a->note, 'n', sizeof(a->note)); /* full, no NUL */
	round_trip(&r);
	a->coverage_pct = bits_dbl(0x7ff4000000000000ULL); /* a signalling NaN */
	a->last_answer_ms = INT64_MAX;
	round_trip(&r);
	/* parameters past n_params are not part of the record */
	a->n_params = 1;
	n = outbox_codec_encode(&r, buf, sizeof(buf));
	assert_true(n > 0);
	for (int i = 1; i < REC_MAX_VALUES; i++)
		a->params[i] = 0;
	round_trip(&r);
	a->n_params = REC_MAX_VALUES + 1;
	assert_int_equal(outbox_codec_encode(&r, buf, sizeof(buf)), -EINVAL);
}

/* The largest alert there is fits, and the bound is tight. */
static void test_alert_worst_case(void **state)
{
	struct record r = fault_rec();
	struct rec_alert *a = &r.u.alert;
	int n;

	(void)state;
	memset(a->id, 'i', sizeof(a->id));
	memset(a->outlet, 'o', sizeof(a->outlet));
	memset(a->sensor, 's', sizeof(a->sensor));
	memset(a->permit, 'p', sizeof(a->permit));
	memset(a->holder, 'h', sizeof(a->holder));
	memset(a->note, 'n', sizeof(a->note));
	r.ts_ms = INT64_MIN;
	a->window_min = INT32_MIN;
	a->limit = bits_dbl(0x400921fb54442d18ULL);
	a->value = bits_dbl(0x3fd5555555555555ULL);
	a->peak = bits_dbl(0x4005bf0a8b145769ULL);
	a->coverage_pct = bits_dbl(0x3ff6a09e667f3bcdULL);
	a->since_ms = a->until_ms = a->last_answer_ms = INT64_MIN;
	a->polls_missed = a->gap_s = a->days_left = INT32_MIN;
	a->n_params = REC_MAX_VALUES;
	n = round_trip(&r);
	print_message("encoded alert, worst case: %d bytes (maximum %d)\n", n,
		      OUTBOX_CODEC_MAX);
	assert_int_equal(n, 740);
	assert_true(n <= OUTBOX_CODEC_MAX);
}

/* A backlog written by the previous release (version 1) still decodes:
 * polls without the flags byte, alerts without their evidence. */
static void test_decode_version1(void **state)
{
	/* poll, ts 0, outlet "", sensor "s", n 2: cod 12.5 (decimal m 125 k 1),
	 * ph as a canonical NaN with quality invalid */
	static const uint8_t v1_poll[] = { 0x10, 0, 0, 1, 's', 2,
					   0x80 | Q_OK << 4 | P_COD, 0xd1, 0x0f,
					   0xc0 | Q_INVALID << 4 | P_PH };
	static const uint8_t v1_maint[] = { 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct record a = alert_rec(), out;
	uint8_t buf[OUTBOX_CODEC_MAX];
	int n;

	(void)state;
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(outbox_codec_decode(v1_poll, sizeof(v1_poll), &out), 0);
	assert_int_equal(out.type, REC_POLL);
	assert_string_equal(out.u.poll.sensor, "s");
	assert_int_equal(out.u.poll.n, 2);
	assert_true(out.u.poll.values[0].v == 12.5);
	assert_int_equal(out.u.poll.values[0].param, P_COD);
	assert_int_equal(out.u.poll.values[0].flags, 0);
	assert_true(isnan(out.u.poll.values[1].v));
	assert_int_equal(out.u.poll.values[1].quality, Q_INVALID);
	assert_int_equal(out.u.poll.values[1].flags, 0);
	/* an alert: version 2's bytes minus the evidence tail (all zero
	 * here: 5 bytes, 3 varints, coverage 0 as a decimal, 1 varint, note) */
	n = outbox_codec_encode(&a, buf, sizeof(buf));
	assert_true(n > 12);
	assert_int_equal(buf[0] >> 4, 2);
	buf[0] = (uint8_t)(0x10 | (buf[0] & 15));
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(outbox_codec_decode(buf, (size_t)n - 12, &out), 0);
	assert_same_alert(&a.u.alert, &out.u.alert);
	/* version 1 had no maintenance events and no other types */
	assert_rejected(v1_maint, sizeof(v1_maint));
	/* and a version 2 alert cut where version 1 ended is not one */
	buf[0] = (uint8_t)(0x20 | (buf[0] & 15));
	assert_rejected(buf, (size_t)n - 12);
}

/* Flags bytes and evidence that no encoder writes. */
static void test_decode_rejects_bad_evidence(void **state)
{
	/* poll, ts 0, "", "", n 1, vflags, tag NaN, [flags] */
	static const uint8_t vflags_81[] = { 0x20, 0, 0, 0, 1, 0x81, 0xc0 };
	static const uint8_t own_flags_80[] = { 0x20, 0, 0, 0, 1, 0x80, 0xc0, 0x80 };
	static const uint8_t own_flags_ok[] = { 0x20, 0, 0, 0, 1, 0x80, 0xc0, 0x7f };
	struct record a = fault_rec(), out;
	uint8_t buf[OUTBOX_CODEC_MAX];
	int n;

	(void)state;
	assert_rejected(vflags_81, sizeof(vflags_81));
	assert_rejected(own_flags_80, sizeof(own_flags_80));
	assert_int_equal(outbox_codec_decode(own_flags_ok, sizeof(own_flags_ok), &out), 0);
	assert_int_equal(out.u.poll.values[0].flags, 0x7f);
	/* an alert whose evidence tail has a known layout */
	a.u.alert.n_params = 0;
	a.u.alert.polls_missed = 0;
	a.u.alert.last_answer_ms = 0;
	a.u.alert.gap_s = 0;
	a.u.alert.coverage_pct = NAN; /* one tag byte, no body */
	a.u.alert.days_left = 0;
	n = outbox_codec_encode(&a, buf, sizeof(buf));
	assert_true(n > 40);
	if (n <= 40)
		return; /* not reached: tells the compiler n - 11 is in the buffer */
	/* tail: flags, reason, unhealthy, cause, n_params, 3 varints, NaN tag,
	 * 1 varint, note length */
	assert_int_equal(buf[n - 11], a.u.alert.value_flags);
	assert_int_equal(buf[n - 7], 0); /* n_params */
	assert_int_equal(buf[n - 3], 0xc0);
	assert_int_equal(outbox_codec_decode(buf, (size_t)n, &out), 0);
	buf[n - 7] = REC_MAX_VALUES + 1;
	assert_rejected(buf, (size_t)n);
	buf[n - 7] = 0;
	buf[n - 3] = 0xc1; /* reserved bits in coverage's tag */
	assert_rejected(buf, (size_t)n);
	buf[n - 3] = 0xc0;
	buf[n - 1] = REC_NOTE + 1; /* a note longer than its field */
	assert_rejected(buf, (size_t)n);
	buf[n - 1] = 0;
	/* polls_missed as five-byte varints: zigzag(INT32_MAX) fits, zigzag(2^31)
	 * does not */
	{
		uint8_t big[OUTBOX_CODEC_MAX + 8];
		static const uint8_t max32[] = { 0xfe, 0xff, 0xff, 0xff, 0x0f };
		static const uint8_t two31[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };

		memcpy(big, buf, (size_t)n - 6);
		memcpy(big + n - 6, max32, sizeof(max32));
		memcpy(big + n - 6 + 5, buf + n - 5, 5);
		assert_int_equal(outbox_codec_decode(big, (size_t)n + 4, &out), 0);
		assert_int_equal(out.u.alert.polls_missed, INT32_MAX);
		memcpy(big + n - 6, two31, sizeof(two31));
		assert_rejected(big, (size_t)n + 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_flags_round_trip),
		cmocka_unit_test(test_alert_evidence_round_trips),
		cmocka_unit_test(test_alert_worst_case),
		cmocka_unit_test(test_decode_version1),
		cmocka_unit_test(test_decode_rejects_bad_evidence),
	};
	return cmocka_run_group_tests_name("outbox_codec_v2", tests, NULL, NULL);
}
