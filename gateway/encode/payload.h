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
 * -EINVAL for a record of the wrong type or with counts or enums out of
 * range. Record strings are read bounded by their field sizes, so a record
 * replayed from disk without a NUL is safe.
 */
#ifndef OUTFALL_PAYLOAD_H
#define OUTFALL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/record.h"

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

/*
 * One closed period of one outlet:
 * {"ts":<period start>,"end":..,"seq":..,"outlet":..,"period":"minute",
 *  "values":{"cod":{"avg":..,"min":..,"max":..,"cou":..,"count":..,"unit":"mg/L"}}}
 * unit is that of avg, min and max; cou is m3 for flow and kg for the
 * concentrations (null when it has none), as HJ 212 reports it.
 */
int payload_aggregate(char *buf, size_t cap, const struct record *r);

/*
 * The gateway's own health:
 * {"ts","seq","polls","errors","timeouts","crc_errors","exceptions",
 *  "outbox_corrupt","outbox_io_errors","sinks":{"mqtt":{"queue_depth",
 *  "oldest_unsent_s","sent","retried","dropped","quarantined"},...}}
 */
int payload_metrics(char *buf, size_t cap, const struct record *r);

/* Whichever of the four above fits r->type (gateway as for payload_alert). */
int payload_record(char *buf, size_t cap, const char *gateway, const struct record *r);

/* {"state":"online","version":..,"started":..}; state "offline" for the LWT
 * and the clean shutdown. started_ms is wall-clock ms. */
int payload_status(char *buf, size_t cap, const char *state, const char *version,
		   int64_t started_ms);

/*
 * The MQTT topic for a record under root ("outfall/<id>"): a poll goes to
 * <root>/telemetry/<outlet>, an alert to <root>/alerts/<outlet>, an aggregate
 * to <root>/aggregate/<outlet>/<period>, metrics to <root>/metrics; an empty
 * outlet is "unassigned". '/', '+' and '#' in the outlet become '_' so a name
 * can neither add topic levels nor make a wildcard (the payload keeps the
 * real name). The longest suffix after root is 18 bytes plus the outlet.
 */
int payload_topic(char *buf, size_t cap, const char *root, const struct record *r);

/* <root>/alerts/<outlet>/active, the retained set of an outlet's open
 * alerts; outlet (at most REC_NAME bytes are read) is made safe as above. */
int payload_topic_active(char *buf, size_t cap, const char *root, const char *outlet);

#endif
