/*
 * numfmt.h - numbers as text at the precision they carry (DESIGN §5), the
 * same for every output: MQTT JSON, InfluxDB line protocol, log lines and
 * outfallctl.
 *
 * A value decoded from a float32 register (rec_value.flags RV_F32) prints
 * as the shortest decimal that converts back to the same float32: 183.9,
 * not 183.8999939, which is the float32 nearest to 183.9 seen as a double.
 * When the float32 was scaled or offset the result is rounded to float32
 * precision first (24 bits, about 7 significant digits: all the instrument
 * delivered). Every other value prints as %.10g does. Both use %g's layout:
 * plain decimals for exponents -5 < X < 10, else d.ddde+XX, no trailing
 * zeros, '.' whatever the locale. NaN and infinities print as "nan",
 * "inf" and "-inf"; JSON and line protocol leave them out before asking.
 *
 * Pure and cheap: no allocation, no locale, no state. The float32 path
 * is on the per-reading hot path; for magnitudes 1e-4..1e15 it tries
 * decimals of growing length with plain double arithmetic, which is exact
 * there (the argument is in numfmt.c), and elsewhere falls back to
 * snprintf and strtof.
 */
#ifndef OUTFALL_NUMFMT_H
#define OUTFALL_NUMFMT_H

#include <stddef.h>

/* Longest text any of these writes, with its NUL ("-1.234567891e-300"). */
#define NUMFMT_MAX 32

/* Each writes a NUL-terminated number into buf (NUMFMT_MAX bytes) and
 * returns its length. */

/* The shortest decimal that strtof() turns back into f; of two such of
 * equal length, the nearer to f. */
size_t numfmt_f32(char *buf, float f);

/* %.10g. */
size_t numfmt_f64(char *buf, double v);

/* v at the precision rv_flags (RV_*, base/record.h) say it has: RV_F32
 * and finite within float32's range means numfmt_f32((float)v), anything
 * else (no flag, NaN, beyond float32, a non-zero that float32 would turn
 * into zero) numfmt_f64(v). */
size_t numfmt_value(char *buf, double v, unsigned rv_flags);

#endif
