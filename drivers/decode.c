/* decode.c - register words to values (see decode.h). */
#include "decode.h"

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
	struct rec_value out = { .param = (uint8_t)ch->param, .quality = Q_OK };

	out.v = decode_raw(regs, ch->type, ch->order) * ch->scale + ch->offset;
	if (!isfinite(out.v))
		out.quality = Q_INVALID;
	else if (ch->has_range && (out.v < ch->range_min || out.v > ch->range_max))
		out.quality = Q_OUT_OF_RANGE;
	return out;
}
