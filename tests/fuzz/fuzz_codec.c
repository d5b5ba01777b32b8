/*
 * fuzz_codec.c - the outbox record codec (gateway/outbox/codec.c): the
 * payload of every frame in a segment file, read back after a restart.
 *
 * Two directions, by the first byte:
 *  decode  the rest is a payload. decode refuses it or gives a record
 *          that encodes (a decoded record is always representable),
 *          whose encoding decodes to a record that encodes to the same
 *          bytes, with the type and timestamp peek reads; strings are
 *          NUL-padded within their fields and counts within their arrays.
 *  encode  the rest fills a struct record byte for byte. encode refuses
 *          it (-EINVAL, nothing written past its length) or writes at most
 *          OUTBOX_CODEC_MAX bytes that decode back to the same timestamp,
 *          type and flags and, for a poll, the same values bit for bit,
 *          and that encode again to the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "outbox/codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* Bounds every decoded record keeps. */
static void check_bounds(const struct record *r)
{
	FUZZ_CHECK(r->seq == 0 && r->type <= REC_RELOAD, "seq %llu type %u",
		   (unsigned long long)r->seq, r->type);
	switch (r->type) {
	case REC_POLL:
		FUZZ_CHECK(r->u.poll.n <= REC_MAX_VALUES, "n %u", r->u.poll.n);
		for (int i = 0; i < r->u.poll.n; i++)
			FUZZ_CHECK(r->u.poll.values[i].quality < Q_COUNT &&
				   r->u.poll.values[i].param < 16, "value %d", i);
		break;
	case REC_ALERT:
		FUZZ_CHECK(r->u.alert.n_params <= REC_MAX_VALUES, "n_params %u",
			   r->u.alert.n_params);
		break;
	case REC_METRICS:
		FUZZ_CHECK(r->u.metrics.n_sinks <= REC_MAX_SINKS, "n_sinks %u",
			   r->u.metrics.n_sinks);
		break;
	case REC_AGGREGATE:
		FUZZ_CHECK(r->u.aggregate.n <= REC_MAX_VALUES, "n %u", r->u.aggregate.n);
		break;
	case REC_RELOAD:
		FUZZ_CHECK(r->u.reload.outcome < RLD_COUNT, "outcome %u", r->u.reload.outcome);
		break;
	default:
		break;
	}
}

static void mode_decode(const uint8_t *p, size_t n)
{
	static uint8_t e1[OUTBOX_CODEC_MAX], e2[OUTBOX_CODEC_MAX];
	static struct record r1, r2, untouched;
	uint8_t type = 0xee;
	int64_t ts = 0x7eadbeef;
	int l1, l2, rc;

	memset(&r1, 0xa5, sizeof(r1));
	untouched = r1;
	rc = outbox_codec_decode(p, n, &r1);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG, "decode rc %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(memcmp(&r1, &untouched, sizeof(r1)) == 0, "record changed on failure");
		return;
	}
	check_bounds(&r1);
	FUZZ_CHECK(outbox_codec_peek(p, n, &type, &ts) == 0 && type == r1.type && ts == r1.ts_ms,
		   "peek: type %u ts %lld, decode: %u %lld", type, (long long)ts, r1.type,
		   (long long)r1.ts_ms);
	l1 = outbox_codec_encode(&r1, e1, sizeof(e1));
	FUZZ_CHECK(l1 > 0, "a decoded record does not encode: %d", l1);
	FUZZ_CHECK(outbox_codec_decode(e1, (size_t)l1, &r2) == 0, "its encoding does not decode");
	l2 = outbox_codec_encode(&r2, e2, sizeof(e2));
	FUZZ_CHECK(l2 == l1 && memcmp(e1, e2, (size_t)l1) == 0, "encodings differ: %d, %d", l1, l2);
	/* shortest forms: never longer than what was read, but for version 1
	 * (no vflags byte), which is re-encoded as version 2 */
	FUZZ_CHECK((size_t)l1 <= n || p[0] >> 4 == 1, "re-encoded longer: %d > %zu", l1, n);
}

static void mode_encode(const uint8_t *p, size_t n)
{
	static uint8_t e1[OUTBOX_CODEC_MAX + 64], e2[OUTBOX_CODEC_MAX];
	static struct record r, back;
	int l1, l2;

	memset(&r, 0, sizeof(r));
	memcpy(&r, p, n < sizeof(r) ? n : sizeof(r));
	r.type %= REC_RELOAD + 1;
	r.flags &= REC_F_CLOCK_UNSYNCED; /* the only record flag; others are dropped */
	memset(e1, 0xcc, sizeof(e1));
	l1 = outbox_codec_encode(&r, e1, OUTBOX_CODEC_MAX);
	FUZZ_CHECK(l1 > 0 || l1 == -EINVAL, "encode rc %d within OUTBOX_CODEC_MAX", l1);
	for (size_t i = OUTBOX_CODEC_MAX; i < sizeof(e1); i++)
		FUZZ_CHECK(e1[i] == 0xcc, "encode wrote past its capacity");
	if (l1 < 0)
		return;
	FUZZ_CHECK(outbox_codec_decode(e1, (size_t)l1, &back) == 0, "an encoding does not decode");
	check_bounds(&back);
	FUZZ_CHECK(back.ts_ms == r.ts_ms && back.type == r.type && back.flags == r.flags,
		   "ts, type or flags changed");
	if (r.type == REC_POLL) {
		FUZZ_CHECK(back.u.poll.n == r.u.poll.n, "n changed");
		for (int i = 0; i < r.u.poll.n; i++) {
			const struct rec_value *a = &r.u.poll.values[i], *b = &back.u.poll.values[i];

			FUZZ_CHECK(memcmp(&a->v, &b->v, sizeof(double)) == 0 && a->param == b->param &&
				   a->quality == b->quality && a->flags == b->flags,
				   "value %d changed", i);
		}
	}
	l2 = outbox_codec_encode(&back, e2, sizeof(e2));
	FUZZ_CHECK(l2 == l1 && memcmp(e1, e2, (size_t)l1) == 0, "encodings differ: %d, %d", l1, l2);
	/* a shorter buffer: refused, never overrun */
	memset(e2, 0xcc, sizeof(e2));
	l2 = outbox_codec_encode(&r, e2, (size_t)l1 - 1);
	FUZZ_CHECK(l2 == -ENOSPC, "encode into %d bytes: %d", l1 - 1, l2);
	for (size_t i = (size_t)l1 - 1; i < sizeof(e2); i++)
		FUZZ_CHECK(e2[i] == 0xcc, "encode wrote past a short capacity");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		mode_encode(data + 1, size - 1);
	else
		mode_decode(data + 1, size - 1);
	return 0;
}
