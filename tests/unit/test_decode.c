/* test_decode.c - every type x word order against known byte vectors; a
 * float32 channel's values carry RV_F32 and print as the float32's
 * shortest decimal, every other type's do not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/numfmt.h"
#include "drivers/driver.h"

struct vec {
	enum value_type type;
	enum word_order order;
	uint16_t words[4];
	double expect;
};

/* 123.456f = 0x42F6E979; pi = 0x400921FB54442D18; -200 = 0xFF38. */
static const struct vec vecs[] = {
	{ VT_FLOAT32, WO_ABCD, { 0x42F6, 0xE979 }, 123.456f },
	{ VT_FLOAT32, WO_CDAB, { 0xE979, 0x42F6 }, 123.456f },
	{ VT_FLOAT32, WO_BADC, { 0xF642, 0x79E9 }, 123.456f },
	{ VT_FLOAT32, WO_DCBA, { 0x79E9, 0xF642 }, 123.456f },
	{ VT_FLOAT32, WO_ABCD, { 0xC020, 0x0000 }, -2.5 },
	{ VT_INT32, WO_ABCD, { 0xFFFF, 0xFFFE }, -2 },
	{ VT_INT32, WO_CDAB, { 0x5678, 0x1234 }, 0x12345678 },
	{ VT_INT32, WO_BADC, { 0x3412, 0x7856 }, 0x12345678 },
	{ VT_INT32, WO_DCBA, { 0x7856, 0x3412 }, 0x12345678 },
	{ VT_UINT32, WO_ABCD, { 0xDEAD, 0xBEEF }, 3735928559.0 },
	{ VT_UINT32, WO_CDAB, { 0xBEEF, 0xDEAD }, 3735928559.0 },
	{ VT_UINT32, WO_BADC, { 0xADDE, 0xEFBE }, 3735928559.0 },
	{ VT_UINT32, WO_DCBA, { 0xEFBE, 0xADDE }, 3735928559.0 },
	{ VT_INT16, WO_ABCD, { 0xFF38 }, -200 },
	{ VT_INT16, WO_CDAB, { 0xFF38 }, -200 },
	{ VT_INT16, WO_BADC, { 0x38FF }, -200 },
	{ VT_INT16, WO_DCBA, { 0x38FF }, -200 },
	{ VT_UINT16, WO_ABCD, { 0xFF38 }, 65336 },
	{ VT_UINT16, WO_CDAB, { 0xFF38 }, 65336 },
	{ VT_UINT16, WO_BADC, { 0x38FF }, 65336 },
	{ VT_UINT16, WO_DCBA, { 0x38FF }, 65336 },
	{ VT_FLOAT64, WO_ABCD, { 0x4009, 0x21FB, 0x5444, 0x2D18 }, 3.141592653589793 },
	{ VT_FLOAT64, WO_CDAB, { 0x2D18, 0x5444, 0x21FB, 0x4009 }, 3.141592653589793 },
	{ VT_FLOAT64, WO_BADC, { 0x0940, 0xFB21, 0x4454, 0x182D }, 3.141592653589793 },
	{ VT_FLOAT64, WO_DCBA, { 0x182D, 0x4454, 0xFB21, 0x0940 }, 3.141592653589793 },
};

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		double got = decode_raw(vecs[i].words, vecs[i].type, vecs[i].order);

		if (got != vecs[i].expect)
			print_error("vector %zu: got %.17g want %.17g\n", i, got, vecs[i].expect);
		assert_true(got == vecs[i].expect);
	}
}

static void test_words(void **state)
{
	(void)state;
	assert_int_equal(decode_words(VT_INT16), 1);
	assert_int_equal(decode_words(VT_UINT16), 1);
	assert_int_equal(decode_words(VT_INT32), 2);
	assert_int_equal(decode_words(VT_UINT32), 2);
	assert_int_equal(decode_words(VT_FLOAT32), 2);
	assert_int_equal(decode_words(VT_FLOAT64), 4);
}

static struct cfg_channel chan(enum value_type t, double scale, double offset)
{
	return (struct cfg_channel){ .param = 3, .type = t, .order = WO_ABCD, .scale = scale,
				     .offset = offset, .has_range = true, .range_min = 0.0,
				     .range_max = 14.0 };
}

static void test_scale_offset_and_range(void **state)
{
	struct cfg_channel c = chan(VT_INT16, 0.01, 0.5);
	uint16_t w700[] = { 700 };  /* 7.00 + 0.5 */
	uint16_t w1350[] = { 1350 }; /* exactly the upper bound: in range */
	uint16_t w1351[] = { 1351 }; /* just above */
	uint16_t wneg[] = { 0xFFCE }; /* -50 -> -0.5 + 0.5 = 0: lower bound */
	uint16_t wneg2[] = { 0xFFCD }; /* -51 -> -0.01: below */
	struct rec_value v;

	(void)state;
	v = decode_channel(&c, w700);
	assert_int_equal(v.quality, Q_OK);
	assert_true(fabs(v.v - 7.5) < 1e-9);
	assert_int_equal(v.param, 3);
	assert_int_equal(decode_channel(&c, w1350).quality, Q_OK);
	assert_int_equal(decode_channel(&c, w1351).quality, Q_OUT_OF_RANGE);
	assert_int_equal(decode_channel(&c, wneg).quality, Q_OK);
	assert_int_equal(decode_channel(&c, wneg2).quality, Q_OUT_OF_RANGE);
}

static void test_nan_inf_are_invalid(void **state)
{
	struct cfg_channel c = chan(VT_FLOAT32, 1.0, 0.0);
	uint16_t nan_w[] = { 0x7FC0, 0x0000 };
	uint16_t inf_w[] = { 0x7F80, 0x0000 };
	uint16_t ninf_w[] = { 0xFF80, 0x0000 };

	(void)state;
	assert_int_equal(decode_channel(&c, nan_w).quality, Q_INVALID);
	assert_int_equal(decode_channel(&c, inf_w).quality, Q_INVALID);
	c.has_range = false;
	assert_int_equal(decode_channel(&c, ninf_w).quality, Q_INVALID);
	assert_int_equal(decode_channel(&c, nan_w).quality, Q_INVALID);
}

static void test_no_range_passes_anything_finite(void **state)
{
	struct cfg_channel c = chan(VT_FLOAT32, 1.0, 0.0);
	uint16_t big[] = { 0x4E6E, 0x6B28 }; /* 1e9 */

	(void)state;
	c.has_range = false;
	assert_int_equal(decode_channel(&c, big).quality, Q_OK);
}

/* Only float32 registers mark their values: scaled, offset, NaN or not. */
static void test_float32_flag(void **state)
{
	static const enum value_type types[] = { VT_INT16, VT_UINT16, VT_INT32, VT_UINT32,
						 VT_FLOAT32, VT_FLOAT64 };
	uint16_t w[4] = { 0x4337, 0xE666, 0, 0 }; /* 183.9f = 0x4337E666 */
	uint16_t nan_w[] = { 0x7FC0, 0x0000 };
	struct cfg_channel c = chan(VT_FLOAT32, 1.0, 0.0);
	char buf[NUMFMT_MAX];
	struct rec_value v;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		c = chan(types[i], 1.0, 0.0);
		c.has_range = false;
		v = decode_channel(&c, w);
		assert_int_equal(v.flags, types[i] == VT_FLOAT32 ? RV_F32 : 0);
	}
	c = chan(VT_FLOAT32, 1.0, 0.0);
	c.has_range = false;
	v = decode_channel(&c, w);
	assert_true(v.v == (double)183.9f);
	numfmt_value(buf, v.v, v.flags);
	assert_string_equal(buf, "183.9"); /* not 183.8999939 */
	c.scale = 0.1;                     /* a float32 scaled: still its precision */
	v = decode_channel(&c, w);
	assert_int_equal(v.flags, RV_F32);
	numfmt_value(buf, v.v, v.flags);
	assert_string_equal(buf, "18.39");
	/* an offset that makes the value smaller shows the raw float32's own
	 * error (183.9f is 6e-6 short): float32 precision of the result */
	c.scale = 1.0;
	c.offset = -273.15;
	v = decode_channel(&c, w);
	numfmt_value(buf, v.v, v.flags);
	assert_string_equal(buf, "-89.25001");
	v = decode_channel(&c, nan_w);
	assert_int_equal(v.quality, Q_INVALID);
	assert_int_equal(v.flags, RV_F32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_scale_offset_and_range),
		cmocka_unit_test(test_nan_inf_are_invalid),
		cmocka_unit_test(test_no_range_passes_anything_finite),
		cmocka_unit_test(test_float32_flag),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
