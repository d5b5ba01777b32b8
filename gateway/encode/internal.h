/*
 * internal.h - what the MQTT and line-protocol encoders share about an
 * alert's evidence (evidence.c), so both say the same thing: which fields
 * mean something for each alert kind (DESIGN §5: alerts that are not about
 * a permit limit carry their own fields and never a pretend limit or
 * unit), and the figures derived from the record. Nothing outside encode/
 * includes this.
 */
#ifndef OUTFALL_ENCODE_INTERNAL_H
#define OUTFALL_ENCODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/record.h"

/* The parts of an alert's evidence that are true for its kind. */
struct enc_evidence {
	bool param;   /* "parameter" names the channel the evidence is about */
	bool unit;    /* value, peak and limit are in that parameter's unit */
	bool value;   /* value and peak are readings (or the figure judged) */
	bool limit;   /* a limit was crossed: limit */
	bool permit;  /* ... and it is a permit limit: basis, window, ratio */
	bool fault;   /* sensor_fault: cause, parameters, polls_missed, last_answer */
	bool gap;     /* data_gap: gap_s, coverage */
	bool expiry;  /* permit_expiring: days_left */
};

/*
 * limit_exceeded, below_minimum, daily_volume_exceeded, storm_sewage: a
 * reading or statistic against a limit (with ratio, basis, window).
 * no_valid_permit: the flow that was recorded, no limit. sensor_fault: per
 * sensor, cause and parameters; parameter, value and unit only when the
 * value is the reading that showed the fault (causes out_of_range,
 * implausible, flat_line, counter_backwards, and finite): for no_response
 * and crc_errors it is a count, and shows nowhere. data_gap: the parameter, gap_s and
 * coverage. permit_expiring: days_left alone. maintenance_overuse: hours
 * or starts against their cap, in no parameter's unit. An unknown kind
 * (a newer record) keeps every field. Whatever the kind, an alert whose
 * param is not a parameter (REC_PARAM_NONE: the outbox's data_gap of lost
 * records) has no parameter and no unit.
 */
void enc_evidence(const struct rec_alert *a, struct enc_evidence *ev);

/* value / limit to three significant digits (612.4 / 500 = 1.22); NaN when
 * either is not finite or the limit is 0. */
double enc_alert_ratio(const struct rec_alert *a);
/* Records an outbox loss dropped (a data_gap about no parameter); -1 for
 * any other alert. */
int64_t enc_alert_records_lost(const struct rec_alert *a);

/* Whole seconds from since_ms to until_ms (until_ms 0: to ts_ms), never
 * below 0 even if the wall clock stepped back meanwhile. */
int64_t enc_alert_duration_s(const struct rec_alert *a, int64_t ts_ms);

/* When a cleared event ended: until_ms, or ts_ms for a record without it. */
int64_t enc_alert_until_ms(const struct rec_alert *a, int64_t ts_ms);

/* coverage_pct to one decimal (41.66 -> 41.7); NaN stays NaN. */
double enc_alert_coverage(const struct rec_alert *a);

/* The note is shown: it is not empty, or the event says the operator
 * closed the alert (then an empty one shows as null / ""). It is the
 * operator's reason, or on a sensor_fault the engine's hint ("ph 2.33e-41:
 * subnormal or tiny; word order or type?"). */
bool enc_alert_has_note(const struct rec_alert *a);

#endif
