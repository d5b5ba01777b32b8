/*
 * numfmt.c - numbers as text at the precision they carry (see numfmt.h).
 *
 * The shortest float32: for k = -X, -X+1, ... (X the decimal exponent of
 * |f|, so that D has 1, 2, ... up to 9 significant digits) take the two
 * decimals c = D / 10^k around |f| (D = floor(|f| * 10^k) and D + 1) and
 * keep the first that rounds back to f. The test (float)c == f goes
 * through a double, and double rounding could in principle turn a decimal
 * that lies just off a midpoint between two floats into the midpoint
 * itself. It cannot here, for |f| in [1e-4, 1e15):
 *   - a midpoint is M * 2^g with M odd and below 2^25, so the double's
 *     half ulp there is at most 2^(g-29);
 *   - for k >= 0, c - mid = (D * 2^-g - M * 10^k) / (10^k * 2^-g), where
 *     k <= -g and so the numerator, if not zero, is a multiple of 2^k:
 *     |c - mid| >= 2^g / 5^k > 2^(g-29) as long as 5^k < 2^29, i.e. k <= 12;
 *     the loop stops at k = 8 - X <= 12 because X >= -4;
 *   - for k < 0, c is an integer below 2^53 (so exact as a double) and a
 *     midpoint is an integer (g >= 0) or not one (g < 0): |c - mid| is at
 *     least 1 or 2^g, and the half ulp at most 2^(g-29) with g <= 26.
 * So (float)c is what strtof() makes of c's digits, ties to even included.
 * Outside that range (tiny, huge and subnormal values: never a plausible
 * reading) the same search runs on snprintf("%.*e") and strtof().
 */
#include "numfmt.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "record.h"

#define FAST_LO 1e-4
#define FAST_HI 1e15
#define F32_DIGITS 9 /* FLT_DECIMAL_DIG: always enough to round-trip */

static const double p10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15,
};

/* D x 10^e */
struct dec {
	uint64_t d;
	int e;
};

/* floor(log10(a)) for a in [FAST_LO, FAST_HI). Below 1 it may come out
 * one too large (a * 10^n rounds up to 1): that costs one more try. */
static int dec_exp(double a)
{
	int x = 0;

	if (a >= 1.0) {
		while (x < 15 && a >= p10[x + 1])
			x++;
		return x;
	}
	while (x > -4 && a * p10[-x] < 1.0)
		x--;
	return x;
}

/* The fast search of the comment above; false if it ran out of digits
 * (only when dec_exp() came out one too large). */
static bool f32_fast(float af, double a, struct dec *out)
{
	int x = dec_exp(a);

	for (int k = -x; k <= F32_DIGITS - 1 - x; k++) {
		double t = k >= 0 ? a * p10[k] : a / p10[-k];
		uint64_t lo = (uint64_t)t;
		double c0 = k >= 0 ? (double)lo / p10[k] : (double)lo * p10[-k];
		double c1 = k >= 0 ? (double)(lo + 1) / p10[k] : (double)(lo + 1) * p10[-k];
		bool h0 = (float)c0 == af, h1 = (float)c1 == af;

		if (!h0 && !h1)
			continue;
		if (h0 && h1) /* both round to f: the nearer, on a tie the even */
			h0 = a - c0 < c1 - a || (a - c0 == c1 - a && lo % 2 == 0);
		out->d = h0 ? lo : lo + 1;
		out->e = -k;
		return true;
	}
	return false;
}

/* Writes D x 10^e as "<D>e<e>" (no decimal point: no locale involved). */
static void dec_text(struct dec v, char *s, size_t cap)
{
	snprintf(s, cap, "%" PRIu64 "e%d", v.d, v.e);
}

static bool dec_hits(float af, struct dec v)
{
	char s[NUMFMT_MAX];

	dec_text(v, s, sizeof(s));
	return strtof(s, NULL) == af;
}

/* The p significant digits of snprintf's %.*e as D x 10^e. Any byte that
 * is not a digit before the 'e' is the locale's decimal point. */
static struct dec dec_from_e(const char *s, int p)
{
	struct dec v = { 0, 0 };
	bool neg = false;
	int e = 0;

	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			v.d = v.d * 10 + (uint64_t)(*s - '0');
	if (*s == 'e')
		s++;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++)
		e = e * 10 + (*s - '0');
	v.e = (neg ? -e : e) - (p - 1);
	return v;
}

/* The same search for any finite positive float, through the C library. */
static struct dec f32_slow(float af)
{
	char s[NUMFMT_MAX + 16];
	struct dec v = { 0, 0 };

	for (int p = 1; p <= F32_DIGITS; p++) {
		struct dec other;

		snprintf(s, sizeof(s), "%.*e", p - 1, (double)af);
		v = dec_from_e(s, p);
		if (dec_hits(af, v))
			return v;
		/* the nearest p digits may miss where the other side holds */
		dec_text(v, s, sizeof(s));
		other = v;
		if (strtod(s, NULL) < (double)af)
			other.d++;
		else if (other.d > 1)
			other.d--;
		if (dec_hits(af, other))
			return other;
	}
	return v; /* 9 digits always round-trip: not reached */
}

static size_t put_u64(char *dst, uint64_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* %g's layout for D x 10^e: plain for -5 < X < 10, else d.ddde+XX. */
static size_t put_dec(char *buf, bool neg, struct dec v)
{
	char dig[24];
	size_t n, len = 0;
	int x;

	while (v.d && v.d % 10 == 0) {
		v.d /= 10;
		v.e++;
	}
	if (neg)
		buf[len++] = '-';
	n = put_u64(dig, v.d);
	x = (int)n - 1 + v.e;
	if (v.d == 0) {
		buf[len++] = '0';
	} else if (x < -4 || x >= 10) {
		buf[len++] = dig[0];
		if (n > 1)
			buf[len++] = '.';
		for (size_t i = 1; i < n; i++)
			buf[len++] = dig[i];
		buf[len++] = 'e';
		buf[len++] = x < 0 ? '-' : '+';
		if (abs(x) < 10)
			buf[len++] = '0';
		len += put_u64(buf + len, (uint64_t)abs(x));
	} else if (v.e >= 0) {
		for (size_t i = 0; i < n; i++)
			buf[len++] = dig[i];
		for (int i = 0; i < v.e; i++)
			buf[len++] = '0';
	} else if (x >= 0) {
		for (size_t i = 0; i < n; i++) {
			if ((int)i == x + 1)
				buf[len++] = '.';
			buf[len++] = dig[i];
		}
	} else {
		buf[len++] = '0';
		buf[len++] = '.';
		for (int i = 0; i < -x - 1; i++)
			buf[len++] = '0';
		for (size_t i = 0; i < n; i++)
			buf[len++] = dig[i];
	}
	buf[len] = '\0';
	return len;
}

static size_t put_lit(char *buf, const char *s)
{
	size_t n = 0;

	while (s[n]) {
		buf[n] = s[n];
		n++;
	}
	buf[n] = '\0';
	return n;
}

size_t numfmt_f32(char *buf, float f)
{
	float af = fabsf(f);
	double a = af;
	struct dec v = { 0, 0 };

	if (isnan(f))
		return put_lit(buf, "nan");
	if (isinf(f))
		return put_lit(buf, f < 0 ? "-inf" : "inf");
	if (af != 0.0f && !(a >= FAST_LO && a < FAST_HI && f32_fast(af, a, &v)))
		v = f32_slow(af);
	return put_dec(buf, signbit(f), v);
}

size_t numfmt_f64(char *buf, double v)
{
	int n = snprintf(buf, NUMFMT_MAX, "%.10g", v);

	if (n < 0 || n >= NUMFMT_MAX) /* cannot happen for %.10g */
		return put_lit(buf, "nan");
	/* a process that set LC_NUMERIC would print a decimal comma */
	for (int i = 0; i < n; i++)
		if (buf[i] == ',')
			buf[i] = '.';
	return (size_t)n;
}

size_t numfmt_value(char *buf, double v, unsigned rv_flags)
{
	float f;

	if (!(rv_flags & RV_F32) || !isfinite(v) || fabs(v) > FLT_MAX)
		return numfmt_f64(buf, v);
	f = (float)v;
	if (f == 0.0f && v != 0.0)
		return numfmt_f64(buf, v); /* below float32's smallest: keep it */
	return numfmt_f32(buf, f);
}
