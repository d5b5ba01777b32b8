/*
 * test_numfmt.c - numbers at the precision they carry: the shortest
 * float32 decimals (exact strings for the cases DESIGN §5 and issue 9
 * name, the ends of float32's range, ties and powers of two), a sweep that
 * every float32 printed round-trips and is no longer than the shortest
 * snprintf/strtof finds, the %.10g path, and numfmt_value's choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/numfmt.h"
#include "base/record.h"

static void check_f32(float f, const char *want)
{
	char buf[NUMFMT_MAX];
	size_t n = numfmt_f32(buf, f);

	if (strcmp(buf, want) != 0)
		fail_msg("%.9g printed as \"%s\", want \"%s\"", (double)f, buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_f32_exact_strings(void **state)
{
	static const struct {
		float f;
		const char *want;
	} cases[] = {
		{ 183.9f, "183.9" },    /* 183.899993896484375: not 183.8999939 */
		{ -183.9f, "-183.9" },
		{ 0.1f, "0.1" },
		{ 0.3f, "0.3" },
		{ 7.2f, "7.2" },
		{ 612.4f, "612.4" },
		{ 25.0f, "25" },
		{ 1e-7f, "1e-07" },     /* %g's layout below 1e-4 */
		{ 0.0001f, "0.0001" },
		{ 0.00012345f, "0.00012345" },
		{ 9.999999e-5f, "9.999999e-05" },
		{ 16777216.0f, "16777216" }, /* 2^24: the last exact integer run */
		{ 16777217.0f, "16777216" }, /* no such float32: ties to even */
		{ 16777218.0f, "16777218" },
		{ 123456792.0f, "123456790" }, /* 9 digits not needed */
		{ 1e9f, "1000000000" },
		{ 1e10f, "1e+10" },
		{ 3.4e38f, "3.4e+38" },
		{ FLT_MAX, "3.4028235e+38" },
		{ FLT_MIN, "1.1754944e-38" },
		{ 1e-45f, "1e-45" },    /* the smallest subnormal, 2^-149 */
		{ 2.33e-41f, "2.33e-41" }, /* issue 9's word-order pH */
		{ 4.17e-08f, "4.17e-08" },
		{ 0.0f, "0" },
		{ -0.0f, "-0" },
		{ 1.0f / 3.0f, "0.33333334" },
		{ 2.0f / 3.0f, "0.6666667" },
		{ 8388608.5f, "8388608" }, /* 2^23 + 0.5 is no float32: 2^23 */
		{ 0.5f, "0.5" },
		{ 1024.0f, "1024" },
		{ 33554432.0f, "33554432" }, /* 2^25 */
		{ 4294967296.0f, "4294967300" }, /* 2^32: 10 digits, shortest wins */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_f32(cases[i].f, cases[i].want);
}

static void test_f32_not_finite(void **state)
{
	(void)state;
	check_f32(NAN, "nan");
	check_f32(-NAN, "nan");
	check_f32(INFINITY, "inf");
	check_f32(-INFINITY, "-inf");
}

/* Fewest significant digits any decimal needs to round to f, searched
 * with the C library: the nearest p digits, or one step to the other side. */
static int shortest_digits(float f)
{
	char s[64], t[64];

	for (int p = 1; p <= 9; p++) {
		double d, step;
		int e;

		snprintf(s, sizeof(s), "%.*e", p - 1, (double)f);
		if (strtof(s, NULL) == f)
			return p;
		d = strtod(s, NULL);
		e = atoi(strchr(s, 'e') + 1);
		step = pow(10.0, e - (p - 1));
		snprintf(t, sizeof(t), "%.*e", p + 2, d + (d < (double)f ? step : -step));
		if (strtof(t, NULL) == f)
			return p;
	}
	return 9;
}

/* Significant digits of a number as printed ("0.0012" has 2). */
static int digits_of(const char *s)
{
	int n = 0, zeros = 0;
	bool lead = true;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9' || (lead && *s == '0'))
			continue;
		lead = false;
		if (*s == '0') {
			zeros++;
		} else {
			n += zeros + 1;
			zeros = 0;
		}
	}
	return n;
}

/* Every 99991st positive float32 from the smallest subnormal to FLT_MAX,
 * plus a dense run around 1: round trip and shortest length. (All 2^31 of
 * them were checked for the round trip once, outside the suite.) */
static void test_f32_sweep(void **state)
{
	char buf[NUMFMT_MAX];
	unsigned long checked = 0;

	(void)state;
	for (uint64_t b = 1; b < 0x7f800000u; b += 99991) {
		for (int sign = 0; sign < 2; sign++) {
			uint32_t u = (uint32_t)b | (sign ? 0x80000000u : 0);
			float f;

			memcpy(&f, &u, sizeof(f));
			numfmt_f32(buf, f);
			if (strtof(buf, NULL) != f)
				fail_msg("0x%08x (%.9g) printed as %s", u, (double)f, buf);
			if (digits_of(buf) != shortest_digits(f))
				fail_msg("0x%08x (%.9g) printed as %s: %d digits, shortest %d", u,
					 (double)f, buf, digits_of(buf), shortest_digits(f));
			checked++;
		}
	}
	for (uint32_t u = 0x3f7ffc00u; u < 0x3f800400u; u++) {
		float f;

		memcpy(&f, &u, sizeof(f));
		numfmt_f32(buf, f);
		assert_true(strtof(buf, NULL) == f);
		assert_int_equal(digits_of(buf), shortest_digits(f));
		checked++;
	}
	print_message("float32 values checked: %lu\n", checked);
}

/* The decimals a sensor sends, through float32: always the same decimal. */
static void test_f32_sensor_decimals(void **state)
{
	char buf[NUMFMT_MAX], want[NUMFMT_MAX];

	(void)state;
	for (int i = -99999; i <= 99999; i += 37) {
		for (int k = 0; k <= 3; k++) {
			double d = i / pow(10.0, k);

			snprintf(want, sizeof(want), "%.10g", d);
			numfmt_f32(buf, (float)d);
			if (strcmp(buf, want) != 0)
				fail_msg("%s through float32 printed as %s", want, buf);
		}
	}
}

static void test_f64(void **state)
{
	char buf[NUMFMT_MAX];

	(void)state;
	assert_int_equal(numfmt_f64(buf, 612.4), 5);
	assert_string_equal(buf, "612.4");
	numfmt_f64(buf, 183.8999938964844);
	assert_string_equal(buf, "183.8999939");
	numfmt_f64(buf, 16777217.0);
	assert_string_equal(buf, "16777217");
	numfmt_f64(buf, -1.234567891e-300);
	assert_string_equal(buf, "-1.234567891e-300");
	numfmt_f64(buf, 0.1 + 0.2);
	assert_string_equal(buf, "0.3");
	numfmt_f64(buf, NAN);
	assert_string_equal(buf, "nan");
	numfmt_f64(buf, -INFINITY);
	assert_string_equal(buf, "-inf");
	numfmt_f64(buf, -DBL_MAX);
	assert_true(strlen(buf) < NUMFMT_MAX);
}

/* A locale with a decimal comma changes nothing. */
static void test_locale(void **state)
{
	char buf[NUMFMT_MAX];

	(void)state;
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
		print_message("no decimal-comma locale installed: checked in \"C\" only\n");
	}
	numfmt_f64(buf, 2.5);
	assert_string_equal(buf, "2.5");
	numfmt_f32(buf, 183.9f);
	assert_string_equal(buf, "183.9");
	numfmt_f32(buf, 1.17549435e-38f); /* the slow path: snprintf and strtof */
	assert_string_equal(buf, "1.1754944e-38");
	setlocale(LC_NUMERIC, "C");
}

static void test_value_picks_precision(void **state)
{
	char buf[NUMFMT_MAX];
	double f32 = (double)183.9f;

	(void)state;
	numfmt_value(buf, f32, RV_F32);
	assert_string_equal(buf, "183.9");
	numfmt_value(buf, f32, 0); /* no flag: every digit of the double */
	assert_string_equal(buf, "183.8999939");
	numfmt_value(buf, f32, RV_F32 | RV_MAINTENANCE);
	assert_string_equal(buf, "183.9");
	/* a scaled float32: rounded to float32 precision (12.3 L/s in m3/h) */
	numfmt_value(buf, (double)12.3f * 3.6, RV_F32);
	assert_string_equal(buf, "44.28");
	numfmt_value(buf, (double)12.3f * 3.6, 0);
	assert_string_equal(buf, "44.28000069");
	/* an integer register keeps every digit */
	numfmt_value(buf, 16777217.0, 0);
	assert_string_equal(buf, "16777217");
	numfmt_value(buf, 16777217.0, RV_F32);
	assert_string_equal(buf, "16777216");
	/* beyond float32, or below its smallest: printed as a double */
	numfmt_value(buf, 1e39, RV_F32);
	assert_string_equal(buf, "1e+39");
	numfmt_value(buf, 1e-50, RV_F32);
	assert_string_equal(buf, "1e-50");
	numfmt_value(buf, NAN, RV_F32);
	assert_string_equal(buf, "nan");
	numfmt_value(buf, -0.0, RV_F32);
	assert_string_equal(buf, "-0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_f32_exact_strings),
		cmocka_unit_test(test_f32_not_finite),
		cmocka_unit_test(test_f32_sweep),
		cmocka_unit_test(test_f32_sensor_decimals),
		cmocka_unit_test(test_f64),
		cmocka_unit_test(test_locale),
		cmocka_unit_test(test_value_picks_precision),
	};
	return cmocka_run_group_tests_name("numfmt", tests, NULL, NULL);
}
