/*
 * codec.h - struct record <-> compact bytes, for the outbox's
 * segment files. Pure: no I/O, no allocation, no state.
 *
 * The encoding is sized for SD cards (DESIGN §9: at most 2 bytes written per
 * byte of payload): only used values are stored, integers are zigzag varints,
 * strings are length-prefixed without their NUL padding, and each double
 * takes the shortest of four exact forms (a decimal m / 10^k, a float32, a
 * float64, or nothing for the canonical NaN). A poll of 5 values from a
 * sensor with short names encodes to about 40-60 bytes.
 *
 * Round trip: decode(encode(r)) reproduces every field exactly - doubles
 * bit for bit, NaN payloads and -0.0 included - except the bytes a record
 * never uses: string bytes after the first NUL, values[], params[] and
 * sinks[] past their count decode as zero, and seq is not part of the
 * payload (the frame carries it; decode sets 0). A string field filled to
 * its size without a NUL round-trips too.
 *
 * Layout (version 2), all integers little-endian or varint:
 *   byte 0          version << 4 | clock-unsynced flag (8) | type (0 poll,
 *                   1 alert, 2 metrics, 3 aggregate, 4 maintenance event,
 *                   5 reload event)
 *   ts_ms           zigzag varint
 *   poll:  outlet, sensor (varint length + bytes), n (u8, <= REC_MAX_VALUES),
 *          vflags (u8: below 0x80 the RV_* flags of every value; 0x80 each
 *          value carries its own flags byte after its tag), then n values:
 *          tag byte = enc << 6 | quality << 4 | param, [flags < 0x80], value
 *   alert: state, kind, param, basis, sensor_health (raw u8 each),
 *          window_min (zigzag varint), id, outlet, sensor, permit, holder,
 *          limit, value, peak (tag byte = enc << 6, then the value),
 *          since_ms, until_ms (zigzag varints), value_flags, reason,
 *          unhealthy, cause (raw u8 each), n_params (u8, <= REC_MAX_VALUES)
 *          and n_params param bytes, polls_missed, last_answer_ms, gap_s
 *          (zigzag varints), coverage_pct (tag + value), days_left (zigzag
 *          varint), note
 *   metrics: polls, errors, timeouts, crc_errors, exceptions, outbox_corrupt,
 *          outbox_io_errors (varints), n_sinks (u8, <= REC_MAX_SINKS), then
 *          per sink: name, queue_depth, oldest_unsent_s (zigzag), sent,
 *          retried, dropped, quarantined (varints)
 *   aggregate: outlet, period (raw u8), n (u8, <= REC_MAX_VALUES), end_ms
 *          as a zigzag varint of end_ms - ts_ms (wrapping: a minute is 3
 *          bytes, not 6), then n params: param (u8, < 16, upper bits
 *          reserved), one byte of the four encs of avg, min, max, cou (2
 *          bits each, avg lowest), count (varint, <= UINT32_MAX), then the
 *          four values' bodies
 *   maintenance event: event, mode, ended_by (raw u8 each), outlet, sensor,
 *          since_ms, planned_end_ms, until_ms (zigzag varints), note
 *   reload event: outcome (u8, < RLD_COUNT), changes (varint, <= UINT16_MAX),
 *          summary
 *   value enc: 0 float64, 1 float32, 2 varint of zigzag(m) << 3 | k meaning
 *          m / 10^k (k 0..7, |m| <= 2^53), 3 the canonical quiet NaN
 *
 * Version 1 (before the value flags and the alert evidence of issue 9) is
 * still read, so that a backlog written by the previous release drains
 * after an upgrade: its polls have no vflags byte and its alerts end at
 * until_ms; the fields it lacks decode as zero. Only version 2 is written.
 *
 * The decoder is bounds-checked with a cursor that only moves on success,
 * checks every length against its field, and rejects truncated input,
 * trailing bytes, unknown versions and reserved bits.
 */
#ifndef OUTFALL_OUTBOX_CODEC_H
#define OUTFALL_OUTBOX_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/record.h"

/* Upper bound of an encoded record. The largest is an alert with every
 * string full and every varint at its longest (740 bytes; an aggregate of
 * REC_MAX_VALUES parameters with every value a full double is 680, metrics
 * of 4 sinks 390); the codec checks a looser bound (760) at build time.
 * The segment reader and the frame buffers of outbox.c are sized from it. */
#define OUTBOX_CODEC_MAX 768

/*
 * Encodes r (seq ignored) into buf. Returns the length (> 0), -EINVAL for a
 * record that cannot be represented (unknown type, n, n_sinks or n_params
 * over its maximum, a param or quality out of range, value flags of 0x80
 * or above, a reload outcome out of range), or -ENOSPC when cap is too small.
 * buf contents are unspecified on failure.
 */
int outbox_codec_encode(const struct record *r, uint8_t *buf, size_t cap);

/* Decodes exactly len bytes into *out (seq = 0). 0 or -EBADMSG; *out is
 * untouched on failure. */
int outbox_codec_decode(const uint8_t *buf, size_t len, struct record *out);

/* Reads only the type and timestamp, for replay and age queries. 0 or
 * -EBADMSG; outputs untouched on failure. */
int outbox_codec_peek(const uint8_t *buf, size_t len, uint8_t *type, int64_t *ts_ms);

#endif
