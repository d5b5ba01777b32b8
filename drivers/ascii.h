/*
 * ascii.h - ASCII line sensors: probes and analysers that send text lines,
 * "pH=7.12,T=21.3\r\n" (format kv) or "7.12,231.5,21.3\r\n" (format csv),
 * either on their own (streaming) or in answer to a query string.
 *
 * The port is the bus's tty in raw mode (speed, parity, data and stop bits
 * from the bus), opened O_NOCTTY | O_CLOEXEC | O_NONBLOCK, claimed with an
 * exclusive flock() (another holder: open() gives -EBUSY) and waited on
 * with poll(). A line ends at the configured terminator; every variant also
 * takes CR LF ("\r" drops the LF after a CR, "\n" and "\r\n" drop a CR
 * before the LF). Empty lines are passed over.
 *
 * Streaming sensor (no query): a poll drains what the tty holds and keeps
 * the newest good line; when there is none it waits for the next one. A
 * partial line stays buffered for the next poll. A drain of a full tty
 * input buffer (ASCII_TTY_FULL bytes) means the line overran while nobody
 * read it: what was read is old and the next line in may be torn, so both
 * are dropped and the poll reads on until the tty is quiet, taking the
 * newest good line of what follows. Poll a streaming sensor before it has
 * sent 4 KiB.
 *
 * Query sensor: a poll discards stale input, writes the query, and waits
 * for the first good line; a line equal to the query (an RS-485 adapter's
 * echo) is passed over. A timeout or only bad lines try again, 1 + retries
 * times in all (once when quick).
 *
 * Lines and counters: a line longer than max_line is dropped up to its
 * terminator; it, a line with a byte outside printable ASCII and tab, and a
 * kv line without any key=value field are framing errors (crc_errors). A
 * kv line with fields but none of the sensor's keys is another device's or
 * a status line: passed over. requests counts every line judged, plus one
 * for each attempt that got none (timeouts).
 *
 * Values: each channel's number goes through strtod, which must consume it
 * all (decimal digits, sign, the sensor's decimal mark - a point, or the
 * comma with decimal = "," - and exponent only), then scale and offset;
 * a non-finite result is Q_INVALID, one outside the channel's range
 * Q_OUT_OF_RANGE, else Q_OK, as decode_channel judges registers. A key or
 * field missing from a good line, empty or not a number gives that channel
 * Q_INVALID: the sensor answered, so it is not silence, and Q_INVALID
 * raises sensor_fault at once where a misnamed key would otherwise only
 * show as a data gap.
 *
 * Decimal marks: a number written with the other mark (7,31 on a sensor
 * set for the point, 7.31 on one set for the comma) makes its line a
 * framing error of its own kind, -EDOM, so the log can name it; so does a
 * kv line whose comma separator cut one (pH=7,31,COD=2: a whole number of
 * one of the sensor's keys followed by a bare whole number). A CSV line
 * with comma separators cannot be told apart and is read as fields.
 *
 * Poll results: 0 a good line was read; -ETIMEDOUT no usable line;
 * -EDOM no good line, and some had the other decimal mark; -EBADMSG only
 * framing errors; -EPROTO only lines without the sensor's keys (counted
 * as exceptions); -EIO or another -errno the port failed; -EINVAL a
 * sensor of more than CFG_MAX_CHANNELS channels (nothing written).
 *
 * Blocking bound: a streaming poll waits at most the bus's timeout_ms
 * (draining included); a query poll at most (1 + retries) x timeout_ms,
 * timeout_ms when quick, the query's write included. close() discards
 * unsent output first, so it does not wait for the line to drain.
 */
#ifndef OUTFALL_ASCII_H
#define OUTFALL_ASCII_H

#include <stdbool.h>
#include <stddef.h>

#include "driver.h"

extern const struct driver_ops ascii_ops;

/* The Linux tty keeps this many input bytes at most; a drain that reads as
 * much means the line ran over while nobody read it. */
#define ASCII_TTY_FULL 4095

/* Room for the longest line and the CR of a CR LF ending. */
#define ASCII_LINE_CAP (CFG_ASCII_LINE_MAX + 1)

/* Assembles lines from the bytes a tty hands over, in pieces of any size. */
struct ascii_framer {
	char buf[ASCII_LINE_CAP]; /* the line in progress, or the one given out */
	size_t len;               /* bytes in buf */
	bool dropping;            /* dropping a line up to its terminator */
	bool ready;               /* buf holds the line the last call gave out */
};

#define ASCII_MORE 0 /* input used up, no line complete */
#define ASCII_LINE 1 /* a line is complete */

void ascii_framer_reset(struct ascii_framer *f);

/*
 * Takes bytes from *cur (up to end) until a line ends, advancing *cur past
 * what it used. Returns ASCII_LINE with the line, terminator stripped, in
 * f->buf[0 .. *len) (valid until the next call); ASCII_MORE when the input
 * is used up (a partial line stays in f); -EMSGSIZE when a line longer
 * than max_line bytes (1..CFG_ASCII_LINE_MAX) ended, dropped whole.
 */
int ascii_framer_feed(struct ascii_framer *f, enum ascii_term term, int max_line,
		      const char **cur, const char *end, size_t *len);

/*
 * Parses one line of sensor s (kv or csv, without its terminator) into
 * out[0 .. s->n_channels), judged as above. Returns 0, -EBADMSG for a
 * malformed line (a byte outside printable ASCII and tab, a blank line, a
 * kv line without a key=value field), -EDOM for one with the other decimal
 * mark, -ENOMSG for a kv line that carries none of the sensor's keys, or
 * -EINVAL for a sensor of more than CFG_MAX_CHANNELS channels; out is
 * untouched on failure. Pure.
 */
int ascii_parse_line(const struct cfg_sensor *s, const char *line, size_t len,
		     struct rec_value *out);

#endif
