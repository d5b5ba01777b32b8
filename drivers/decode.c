/* decode.c - register words to values (see decode.h). */
#include "decode.h"

#include <float.h>
#include <math.h>
#include <string.h>

int decode_words(enum value_type t)
{
	switch (t) {
	case VT_INT16:
	case VT_UINT16:
		return 1;
	case VT_FLOAT64:
		return 4;
	default:
		return 2;
	}
}

/* Big-endian byte image of the value from n wire words in order o. */
static uint64_t assemble(const uint16_t *regs, int n, enum word_order o)
{
	bool reverse = o == WO_CDAB || o == WO_DCBA;
	bool swap = o == WO_BADC || o == WO_DCBA;
	uint64_t v = 0;

	for (int i = 0; i < n; i++) {
		uint16_t w = regs[reverse ? n - 1 - i : i];

		if (swap)
			w = (uint16_t)((w >> 8) | (w << 8));
		v = (v << 16) | w;
	}
	return v;
}

/* The wire words of the big-endian byte image v in order o: assemble()
 * undone (both of its steps are their own inverse). */
static void disassemble(uint64_t v, int n, enum word_order o, uint16_t *regs)
{
	bool reverse = o == WO_CDAB || o == WO_DCBA;
	bool swap = o == WO_BADC || o == WO_DCBA;

	for (int i = n - 1; i >= 0; i--) {
		uint16_t w = (uint16_t)v;

		if (swap)
			w = (uint16_t)((w >> 8) | (w << 8));
		regs[reverse ? n - 1 - i : i] = w;
		v >>= 16;
	}
}

/* raw rounded and clamped to [lo, hi]: an integer register's value. */
static int64_t to_int(double raw, double lo, double hi)
{
	if (!(raw >= lo))
		return (int64_t)lo; /* NaN too */
	return raw > hi ? (int64_t)hi : (int64_t)llround(raw);
}

void decode_unraw(double raw, enum value_type t, enum word_order o, uint16_t *regs)
{
	uint64_t bits = 0;
	uint32_t b32;
	float f;

	switch (t) {
	case VT_INT16:
		bits = (uint16_t)(int16_t)to_int(raw, INT16_MIN, INT16_MAX);
		break;
	case VT_UINT16:
		bits = (uint16_t)to_int(raw, 0, UINT16_MAX);
		break;
	case VT_INT32:
		bits = (uint32_t)(int32_t)to_int(raw, INT32_MIN, INT32_MAX);
		break;
	case VT_UINT32:
		bits = (uint32_t)to_int(raw, 0, UINT32_MAX);
		break;
	case VT_FLOAT32:
		/* beyond float's range the conversion is undefined: infinity */
		f = isnan(raw) || fabs(raw) <= FLT_MAX ? (float)raw : raw > 0 ? INFINITY : -INFINITY;
		memcpy(&b32, &f, sizeof(b32));
		bits = b32;
		break;
	case VT_FLOAT64:
		memcpy(&bits, &raw, sizeof(bits));
		break;
	}
	disassemble(bits, decode_words(t), o, regs);
}

double decode_raw(const uint16_t *regs, enum value_type t, enum word_order o)
{
	uint64_t bits = assemble(regs, decode_words(t), o);
	uint32_t b32 = (uint32_t)bits;
	float f;
	double d;

	switch (t) {
	case VT_INT16:
		return (int16_t)(uint16_t)bits;
	case VT_UINT16:
		return (uint16_t)bits;
	case VT_INT32:
		return (int32_t)b32;
	case VT_UINT32:
		return b32;
	case VT_FLOAT32:
		memcpy(&f, &b32, sizeof(f));
		return f;
	case VT_FLOAT64:
		memcpy(&d, &bits, sizeof(d));
		return d;
	}
	return NAN;
}

struct rec_value decode_channel(const struct cfg_channel *ch, const uint16_t *regs)
{
	struct rec_value out = { .param = (uint8_t)ch->param, .quality = Q_OK,
				 .flags = ch->type == VT_FLOAT32 ? RV_F32 : 0 };

	out.v = decode_raw(regs, ch->type, ch->order) * ch->scale + ch->offset;
	if (!isfinite(out.v))
		out.quality = Q_INVALID;
	else if (ch->has_range && (out.v < ch->range_min || out.v > ch->range_max))
		out.quality = Q_OUT_OF_RANGE;
	return out;
}
