/*
 * payload.h - MQTT JSON payloads and topics (DESIGN §6), pure.
 *
 * Written into a caller-owned buffer of fixed capacity with a small JSON
 * writer rather than cJSON: the telemetry payload is on the per-reading hot
 * path and must not allocate. Strings are escaped per RFC 8259 (quote,
 * backslash, control characters as \u00XX) and UTF-8 is passed through.
 * Values print as %.10g (sensor values carry at most about 7-9 significant
 * digits); NaN and Inf print as null, and so does the value of a reading
 * whose quality says it is meaningless (no_response, invalid). Timestamps are
 * RFC 3339 UTC with ms. Empty names (no outlet, no permit) print as null.
 *
 * Each function NUL-terminates and returns the length written (without the
 * NUL), or -ENOSPC when cap is too small (buf then holds no usable text), or
 * -EINVAL for a record of the wrong type. Record strings are read bounded by
 * their field sizes, so a record replayed from disk without a NUL is safe.
 */
#ifndef OUTFALL_PAYLOAD_H
#define OUTFALL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* Large enough for any record, even with every name made of characters that
 * escape to six bytes; the sink's buffers use these sizes. */
#define PAYLOAD_MAX 4096
#define PAYLOAD_TOPIC_MAX 256

/* {"ts","seq","outlet","sensor","values":{"cod":{"v":..,"unit":..,"q":..}}} */
int payload_telemetry(char *buf, size_t cap, const struct record *r);

/* The alert event of DESIGN §6, with "until" on cleared events. gateway is
 * used only to build the id when the record carries none
 * ("<gateway>/<outlet>/<parameter>/<basis>/<since_ms>", as the engine does). */
int payload_alert(char *buf, size_t cap, const char *gateway, const struct record *r);

/* {"state":"online","version":..,"started":..}; state "offline" for the LWT
 * and the clean shutdown. started_ms is wall-clock ms. */
int payload_status(char *buf, size_t cap, const char *state, const char *version,
		   int64_t started_ms);

/*
 * The MQTT topic for a record under root ("outfall/<id>"): a poll goes to
 * <root>/telemetry/<outlet>, an alert to <root>/alerts/<outlet>; an empty
 * outlet is "unassigned". '/', '+' and '#' in the outlet become '_' so a name
 * can neither add topic levels nor make a wildcard (the payload keeps the
 * real name).
 */
int payload_topic(char *buf, size_t cap, const char *root, const struct record *r);

#endif
