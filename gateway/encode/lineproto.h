/*
 * lineproto.h - InfluxDB line protocol encoding (DESIGN §6), pure.
 *
 * Appends points to a caller-owned buffer with a hard capacity. Escaping:
 * measurement: comma, space; tag keys/values and field keys: comma, '=',
 * space; string field values: '"' and '\\'. Newlines in names are replaced
 * by spaces before escaping (line protocol cannot carry them); so is every
 * other ASCII control character. Backslashes in names stay literal, as
 * InfluxDB's parser reads them, except where they cannot be encoded: at
 * the end of a name, and in measurements and field keys just before a
 * comma, space or '='; there they are dropped. UTF-8 passes through.
 * Timestamps in ms (the writer uses precision=ms). Floats print as %.10g,
 * and a reading's value at the instrument's precision (base/numfmt.h: a
 * float32 as the shortest decimal that round-trips it, 183.9); a NaN or
 * infinite float field is left out of the point.
 */
#ifndef OUTFALL_LINEPROTO_H
#define OUTFALL_LINEPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/record.h"

struct lp_buf {
	char *data;  /* owned by the caller */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* capacity of data in bytes */
};

/*
 * Appends the point(s) for one record: a poll gives one outfall_reading line
 * per value, an alert one outfall_alert line, self-metrics one
 * outfall_gateway line for the gateway and one more per sink (tagged
 * sink=<name>), an aggregate one outfall_aggregate line per parameter
 * stamped with the period start, a maintenance event one
 * outfall_maintenance line, a reload event one outfall_reload line (tagged
 * gateway and outcome, fields changes, summary and seq). gateway is the
 * gateway id tag.
 * Returns the number of lines appended, or -ENOSPC leaving buf->len as it
 * was (nothing partial is ever left behind). A poll or aggregate with no
 * values appends nothing and returns 0. -EINVAL for a record that is not
 * well formed (unknown type or period, more values or sinks than a record
 * holds), e.g. from a corrupt file. Unsigned counters above INT64_MAX are
 * written as INT64_MAX.
 *
 * An outfall_reading also has flag="M" or "C" while its sensor is in
 * maintenance or calibration, and cause="implausible" on a value that
 * RV_IMPLAUSIBLE made invalid. An outfall_alert is tagged gateway, outlet,
 * parameter (when the kind has one), kind, rule (a permit limit's basis,
 * a sensor_fault's cause) and sensor, and carries the MQTT event's fields
 * that have a value (payload.h; line protocol has no null): state, value,
 * limit, peak, ratio, cause, parameters ("cod,ph"), polls_missed,
 * last_answer, gap_s, coverage, days_left, permit, holder, since, until,
 * duration_s, reason, note, sensor_health, sensor_unhealthy (a
 * boolean), id and seq; times are RFC 3339 strings, as on MQTT.
 */
int lp_append_record(struct lp_buf *buf, const char *gateway, const struct record *r);

struct config;

/*
 * Appends the permit's limits (DESIGN §6) for dashboards to draw: for each
 * outlet with a permit, one line per limit
 *   outfall_limit,gateway=..,outlet=..,parameter=..,basis=..,permit=..
 *     min=..,max=..[,window_min=<int>i] <ts_ms>
 * with the side a limit does not have left out (window_min for rolling
 * limits only), and the permit's daily volume cap, if it has one, as
 * parameter=volume,basis=daily max=<m3>. basis is the permits file's
 * spelling (instant, rolling, hourly_mean, daily_mean); permit is the
 * permit's number. All lines carry ts_ms. Returns the number of lines (0
 * for no outlet with a permit), or -ENOSPC / -EINVAL leaving buf->len as it
 * was. cfg is read only.
 */
int lp_append_limits(struct lp_buf *buf, const char *gateway, const struct config *cfg,
		     int64_t ts_ms);

/*
 * Point builder, for lines other than records (aggregates, self metrics)
 * and for tests. Errors are sticky: after the first failure the calls do
 * nothing and lp_end() returns it, with buf->len back where lp_begin()
 * found it. Tags must come before fields; a tag with an empty value is left
 * out (line protocol has no empty tag values). A name that is empty once
 * trailing backslashes are dropped fails with -EINVAL.
 */
struct lp_point {
	struct lp_buf *buf;
	size_t start;  /* buf->len at lp_begin, restored on failure */
	int err;       /* first error (-ENOSPC, -EINVAL), 0 while fine */
	int n_fields;  /* fields written so far */
};

void lp_begin(struct lp_point *p, struct lp_buf *buf, const char *measurement);
void lp_tag(struct lp_point *p, const char *key, const char *value);
void lp_field_float(struct lp_point *p, const char *key, double v);
/* v at the precision its RV_* flags give (base/numfmt.h). */
void lp_field_value(struct lp_point *p, const char *key, double v, unsigned rv_flags);
void lp_field_bool(struct lp_point *p, const char *key, bool v);
void lp_field_int(struct lp_point *p, const char *key, int64_t v);
void lp_field_str(struct lp_point *p, const char *key, const char *v);
/* Ends the line with the timestamp and '\n'. Returns 0, -ENOSPC, or -EINVAL
 * (empty measurement or key, tag after a field, or no field at all). */
int lp_end(struct lp_point *p, int64_t ts_ms);

#endif
