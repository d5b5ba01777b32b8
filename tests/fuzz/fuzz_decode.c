/*
 * fuzz_decode.c - Modbus register decoding (drivers/decode.c), pure.
 *
 * The input gives a value type, a word order, four register words, scale,
 * offset and range. Properties:
 *  - decode_raw agrees with a plain reference that lays the words' bytes
 *    out in wire order and reorders them as the order's name says (abcd,
 *    cdab, badc, dcba), bit for bit; integers are whole and in their
 *    type's range;
 *  - decode_unraw is its inverse: the words come back exactly (a float32
 *    NaN comes back a NaN), and for any double (not only decoded ones)
 *    decoding what it wrote gives the value rounded and clamped to the type;
 *  - decode_channel is raw * scale + offset with the quality that value
 *    deserves, RV_F32 exactly for float32 channels.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "drivers/decode.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* The value's big-endian bytes, from n words as they came off the wire. */
static uint64_t reference_bits(const uint16_t *w, int n, enum word_order o)
{
	uint8_t wire[8], be[8];
	uint64_t v = 0;

	for (int i = 0; i < n; i++) {
		wire[2 * i] = (uint8_t)(w[i] >> 8);
		wire[2 * i + 1] = (uint8_t)w[i];
	}
	for (int i = 0; i < 2 * n; i++) {
		int wi = i / 2, bi = i % 2;

		if (o == WO_CDAB || o == WO_DCBA)
			wi = n - 1 - wi; /* words reversed */
		if (o == WO_BADC || o == WO_DCBA)
			bi = 1 - bi;     /* bytes swapped inside words */
		be[i] = wire[2 * wi + bi];
	}
	for (int i = 0; i < 2 * n; i++)
		v = v << 8 | be[i];
	return v;
}

static double reference_raw(const uint16_t *w, enum value_type t, enum word_order o)
{
	uint64_t bits = reference_bits(w, decode_words(t), o);
	uint32_t b32 = (uint32_t)bits;
	float f;
	double d;

	switch (t) {
	case VT_INT16: return (int16_t)(uint16_t)bits;
	case VT_UINT16: return (uint16_t)bits;
	case VT_INT32: return (int32_t)b32;
	case VT_UINT32: return b32;
	case VT_FLOAT32: memcpy(&f, &b32, 4); return f;
	case VT_FLOAT64: memcpy(&d, &bits, 8); return d;
	}
	return NAN;
}

static bool same(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void check_int_range(double raw, enum value_type t)
{
	static const double lo[] = { INT16_MIN, 0, INT32_MIN, 0 };
	static const double hi[] = { INT16_MAX, UINT16_MAX, INT32_MAX, UINT32_MAX };

	if (t > VT_UINT32)
		return;
	FUZZ_CHECK(raw == floor(raw) && raw >= lo[t] && raw <= hi[t], "type %d gave %.17g", t, raw);
}

/* What decoding decode_unraw(v)'s words must give. */
static double expected_back(double v, enum value_type t)
{
	static const double lo[] = { INT16_MIN, 0, INT32_MIN, 0 };
	static const double hi[] = { INT16_MAX, UINT16_MAX, INT32_MAX, UINT32_MAX };

	if (t == VT_FLOAT64)
		return v;
	if (t == VT_FLOAT32) {
		if (isnan(v) || fabs(v) <= FLT_MAX)
			return (float)v;
		return v > 0 ? INFINITY : -INFINITY;
	}
	if (!(v >= lo[t]))
		return lo[t];
	return v > hi[t] ? hi[t] : (double)llround(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	enum value_type t = (enum value_type)fuzz_pick(&in, 6);
	enum word_order o = (enum word_order)fuzz_pick(&in, 4);
	uint16_t w[4], back[4];
	struct cfg_channel ch = { .type = t, .order = o };
	struct rec_value rv;
	double raw, v, want, other;
	int n = decode_words(t);

	for (int i = 0; i < 4; i++)
		w[i] = fuzz_u16(&in);
	FUZZ_CHECK(n == 1 || n == 2 || n == 4, "decode_words %d", n);
	raw = decode_raw(w, t, o);
	FUZZ_CHECK(same(raw, reference_raw(w, t, o)) || (isnan(raw) && t == VT_FLOAT32),
		   "type %d order %d: %.17g, the reference %.17g", t, o, raw, reference_raw(w, t, o));
	check_int_range(raw, t);

	/* the words back from the value */
	memset(back, 0xee, sizeof(back));
	decode_unraw(raw, t, o, back);
	if (isnan(raw))
		FUZZ_CHECK(isnan(decode_raw(back, t, o)), "NaN did not come back a NaN");
	else
		FUZZ_CHECK(memcmp(back, w, (size_t)n * 2) == 0, "type %d order %d: words differ", t, o);
	for (int i = n; i < 4; i++)
		FUZZ_CHECK(back[i] == 0xeeee, "decode_unraw wrote word %d of %d", i, n);

	/* any double: rounded and clamped to the type */
	memcpy(&other, (uint64_t[]){ fuzz_u64(&in) }, sizeof(other));
	decode_unraw(other, t, o, back);
	want = expected_back(other, t);
	FUZZ_CHECK(same(decode_raw(back, t, o), want) || (isnan(want) && isnan(decode_raw(back, t, o))),
		   "type %d: %.17g came back %.17g, not %.17g", t, other, decode_raw(back, t, o), want);

	/* a channel */
	memcpy(&ch.scale, (uint64_t[]){ fuzz_u64(&in) }, sizeof(ch.scale));
	ch.offset = (double)(int16_t)fuzz_u16(&in) / 10.0;
	ch.has_range = fuzz_u8(&in) & 1;
	ch.range_min = (double)(int16_t)fuzz_u16(&in);
	ch.range_max = ch.range_min + fuzz_u16(&in);
	ch.param = (int)fuzz_pick(&in, 16);
	rv = decode_channel(&ch, w);
	v = raw * ch.scale + ch.offset;
	FUZZ_CHECK(same(rv.v, v) || (isnan(rv.v) && isnan(v)), "value %.17g, not %.17g", rv.v, v);
	FUZZ_CHECK(rv.param == ch.param, "param");
	FUZZ_CHECK(!!(rv.flags & RV_F32) == (t == VT_FLOAT32) && !(rv.flags & ~RV_F32), "flags %#x",
		   rv.flags);
	if (!isfinite(v))
		FUZZ_CHECK(rv.quality == Q_INVALID, "quality %d for %g", rv.quality, v);
	else if (ch.has_range && (v < ch.range_min || v > ch.range_max))
		FUZZ_CHECK(rv.quality == Q_OUT_OF_RANGE, "quality %d for %g", rv.quality, v);
	else
		FUZZ_CHECK(rv.quality == Q_OK, "quality %d for %g", rv.quality, v);
	return 0;
}
