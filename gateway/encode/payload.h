/*
 * payload.h - MQTT JSON payloads and topics (DESIGN §6), pure.
 *
 * Written into a caller-owned buffer of fixed capacity with a small JSON
 * writer rather than cJSON: the telemetry payload is on the per-reading hot
 * path and must not allocate. Strings are escaped per RFC 8259 (quote,
 * backslash, control characters as \u00XX) and UTF-8 is passed through.
 * Values print at the instrument's precision (base/numfmt.h): a reading
 * decoded from a float32 as the shortest decimal that round-trips the
 * float32 (183.9, not 183.8999939), anything else as %.10g. NaN and Inf
 * print as null, and so does the value of a reading whose quality says it
 * is meaningless (no_response, invalid). Timestamps are RFC 3339 UTC with
 * ms. Empty names (no outlet, no permit) print as null.
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
#define PAYLOAD_MAX 8192
#define PAYLOAD_TOPIC_MAX 256

/* {"ts","seq","outlet","sensor","values":{"cod":{"v":..,"unit":..,"q":..}}};
 * a value also has "cause":"implausible" when RV_IMPLAUSIBLE made it
 * invalid, and "flag":"M" or "C" while its sensor is in maintenance or
 * calibration. */
int payload_telemetry(char *buf, size_t cap, const struct record *r);

/*
 * The alert event of DESIGN §5-6 with its evidence:
 *   {"id","seq","ts","state","kind","outlet","permit","holder",
 *    "parameter","unit","basis","window_min","limit","value","peak",
 *    "ratio"                                       limit kinds only
 *    "cause","parameters":[..],"polls_missed",
 *    "last_answer"                                 sensor_fault only
 *    "gap_s","coverage"                            data_gap only
 *    "days_left"                                   permit_expiring only
 *    "since","until","duration_s","reason"         until.. on cleared only
 *    "note"                                        operator's, or a fault's hint
 *    "sensor","sensor_health","sensor_unhealthy":true|false}
 * The keys up to "peak" are always there (consumers rely on them) but null
 * where the kind has no such thing: only limit_exceeded, below_minimum,
 * daily_volume_exceeded and storm_sewage have a limit, basis and ratio
 * (value / limit, three significant digits); a sensor_fault names a
 * parameter, value and unit only when it holds the reading that showed
 * the fault (not for no_response or crc_errors, whose value is a count);
 * data_gap and permit_expiring have no value (the rules are in
 * encode/internal.h). The engine's hint on a sensor_fault ("ph 2.33e-41:
 * subnormal or tiny; word order or type?") goes out as its "note". value
 * and peak print at the precision value_flags gives; coverage is a
 * percentage to one decimal; last_answer is null when the sensor never
 * answered; reason is null on a cleared event that says none. gateway is used only to build the id when the record carries none
 * ("<gateway>/<outlet>/<parameter>/<basis>/<since_ms>", as the engine does).
 */
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

/*
 * A sensor's maintenance or calibration event (REC_MAINT):
 * {"ts","seq","event":"start|extend|end","mode":"maintenance|calibration",
 *  "flag":"M|C","outlet","sensor","since","planned_end",
 *  "until","ended_by":"operator|expired|removed" (end events only),
 *  "reason":<the operator's text or null>}
 */
int payload_maint(char *buf, size_t cap, const struct record *r);

/*
 * A SIGHUP's outcome (REC_RELOAD):
 * {"ts","seq","outcome":"applied|refused","changes":N,"summary":".."}
 * changes counts the settings changed, or the errors when refused.
 */
int payload_reload(char *buf, size_t cap, const struct record *r);

/* Whichever of the six above fits r->type (gateway as for payload_alert). */
int payload_record(char *buf, size_t cap, const char *gateway, const struct record *r);

/* {"state":"online","version":..,"started":..}; state "offline" for the LWT
 * and the clean shutdown. started_ms is wall-clock ms. */
int payload_status(char *buf, size_t cap, const char *state, const char *version,
		   int64_t started_ms);

/*
 * The MQTT topic for a record under root ("outfall/<id>"): a poll goes to
 * <root>/telemetry/<outlet>, an alert to <root>/alerts/<outlet>, an aggregate
 * to <root>/aggregate/<outlet>/<period>, a maintenance event to
 * <root>/maintenance/<outlet>, a reload event to <root>/reload, metrics
 * to <root>/metrics; an empty
 * outlet is "unassigned". '/', '+' and '#' in the outlet become '_' so a name
 * can neither add topic levels nor make a wildcard (the payload keeps the
 * real name). The longest suffix after root is 18 bytes plus the outlet.
 */
int payload_topic(char *buf, size_t cap, const char *root, const struct record *r);

/* <root>/alerts/<outlet>/active, the retained set of an outlet's open
 * alerts; outlet (at most REC_NAME bytes are read) is made safe as above. */
int payload_topic_active(char *buf, size_t cap, const char *root, const char *outlet);

#endif
