/*
 * decode.h - Modbus register decoding, pure.
 *
 * Registers arrive as 16-bit words in wire order (each word big-endian on
 * the wire, as libmodbus hands them over). The word order names the byte
 * order of the value: abcd big-endian, cdab word-swapped (low word first),
 * badc byte-swapped within each word, dcba little-endian. For 64-bit values
 * the same two rules apply (word order reversed for cdab/dcba, bytes swapped
 * inside words for badc/dcba); for 16-bit values only the byte swap applies.
 * Bytes are assembled explicitly: libmodbus's float helpers are misnamed.
 */
#ifndef OUTFALL_DECODE_H
#define OUTFALL_DECODE_H

#include <stdint.h>

#include "base/record.h"
#include "config/config.h"

/* Registers a type occupies: 1, 2 or 4. */
int decode_words(enum value_type t);

/* Raw (unscaled) value of the words at regs; regs has decode_words(t). */
double decode_raw(const uint16_t *regs, enum value_type t, enum word_order o);

/*
 * The inverse: the words that decode_raw(regs, t, o) turns into raw, for
 * any raw decode_raw can return (others are rounded and clamped to the
 * type). Exact but for a float NaN, which comes back quiet. outfallctl
 * check uses it to read a decoded value's registers in the other orders.
 */
void decode_unraw(double raw, enum value_type t, enum word_order o, uint16_t *regs);

/*
 * Decodes one channel from the words at regs, applies scale and offset, and
 * judges quality: Q_INVALID for NaN/Inf, Q_OUT_OF_RANGE outside the
 * channel's range (inclusive bounds are in range), else Q_OK. A float32
 * channel's value has RV_F32 set, scaled or not: it carries float32
 * precision and prints as such (base/numfmt.h), 183.9 and not 183.8999939.
 */
struct rec_value decode_channel(const struct cfg_channel *ch, const uint16_t *regs);

#endif
