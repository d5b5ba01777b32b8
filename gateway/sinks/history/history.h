/*
 * history.h - the local history (DESIGN §2, §4 `history`): a sink that keeps
 * what the gateway measured and decided in an SQLite store on the gateway,
 * for inspection reports (`outfallctl report`) and HJ 212 back-fill.
 *
 * Write side: a sink behind sink.h, fed from the outbox with its own cursor
 * like the others. The outbox is its buffer (nothing is held in RAM): every
 * `commit_s` it writes what waits there in one transaction (history.c says
 * the bound per loop pass); a record is acked in the outbox only once
 * its transaction has committed (synchronous=FULL in WAL mode), so a power
 * cut loses nothing the outbox does not still hold: the rows are written
 * again at the next start (rows are keyed by the record's seq; a repeat is
 * ignored). Retention: raw readings `raw_days`, aggregates, alerts,
 * maintenance and reload events `aggregate_days`, and the file within
 * `max_mb` (raw readings go first, then aggregates, alerts, and
 * maintenance and reload events last); what is dropped is
 * counted, logged and kept in the `meta` table. A store that SQLite says is
 * corrupt (or not a database) is renamed aside with a log line and a fresh
 * one started.
 *
 * Read side: the store opened read-only (WAL lets it read while the daemon
 * writes), queried by outlet, parameter and time range (wall ms, UTC).
 *
 * The schema (schema version 2). Names, not numbers, so that `sqlite3`
 * users can read it: outlet, sensor, parameter (param_name()), quality
 * (quality_name()), period ("minute", "hour", "day"), state, kind, basis,
 * reason, cause, event, mode, ended_by, outcome are TEXT as their *_name() gives
 * them (NULL where there is none); times are INTEGER wall ms UTC; values
 * REAL (NULL for none):
 *   meta(key TEXT PRIMARY KEY, value TEXT)
 *       schema = "2", gateway = id, dropped_raw / dropped_aggregate = counts
 *   reading (a VIEW): seq INTEGER, idx INTEGER, ts_ms, outlet, sensor,
 *           parameter, value REAL, quality TEXT, flags INTEGER
 *       one row per value of a poll (idx its place in the poll); value NULL
 *       unless the quality is ok or out_of_range; flags the RV_* bits.
 *       Stored as one row per poll (layout.c, to spare the SD card):
 *   layout(id INTEGER PRIMARY KEY, outlet, sensor, params TEXT, n INTEGER,
 *          p0 .. p15 TEXT)   the parameter in each slot of a sensor's polls
 *   poll(seq INTEGER PRIMARY KEY, ts_ms, layout INTEGER, v0 REAL, q0 INTEGER,
 *        .. v15, q15)   qk = quality + 16 * flags; INDEX (layout, ts_ms)
 *   aggregate(seq, idx, ts_ms, end_ms, outlet, period, parameter,
 *             avg, min, max, cou, n INTEGER)   ts_ms is the period start
 *       PRIMARY KEY (seq, idx); INDEX (outlet, period, ts_ms)
 *   alert(seq INTEGER PRIMARY KEY, ts_ms, id TEXT, state, kind, outlet,
 *         parameter, sensor, permit, holder, basis, window_min INTEGER,
 *         limit_value, value, peak, since_ms, until_ms, reason, cause,
 *         record BLOB)   INDEX (id), INDEX (outlet, ts_ms)
 *       record: outbox_codec_encode() of the whole record, so a reader
 *       gets back every field of struct rec_alert
 *   maintenance(seq INTEGER PRIMARY KEY, ts_ms, outlet, sensor, event, mode,
 *               since_ms, planned_end_ms, until_ms, ended_by, note TEXT)
 *   reload(seq INTEGER PRIMARY KEY, ts_ms, outcome TEXT, changes INTEGER,
 *          summary TEXT)
 *       one row per SIGHUP: outcome "applied" or "refused", changes the
 *       settings changed (the errors when refused), summary what changed
 *       or why it was refused. Added to schema 2 without a new version: a
 *       store made before it gets the table when it is next opened.
 */
#ifndef OUTFALL_HISTORY_H
#define OUTFALL_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/record.h"
#include "sinks/sink.h"

struct cfg_history;
struct outbox;

/* The store's file name inside history.dir. */
#define HISTORY_FILE "history.sqlite"

/* ---- write side (the daemon) -------------------------------------------- */

/* Opens (creating if needed) dir/HISTORY_FILE and makes the sink. 0 or -1
 * (logged: a dir it cannot create or write). */
int sink_history_new(const struct cfg_history *cfg, const char *gateway_id,
		     struct outbox *ob, int sink_idx, struct sink *out);

/* ---- read side (outfallctl report, HJ 212 back-fill) -------------------- */

struct history;

/* Opens dir/HISTORY_FILE read-only. 0, or -1 with a message in err. */
int history_open(const char *dir, struct history **out, char *err, size_t cap);
void history_close(struct history *h);

struct hist_reading {
	int64_t seq;
	int64_t ts_ms;
	char outlet[REC_NAME];
	char sensor[REC_NAME];
	struct rec_value v; /* param, quality, flags; v.v NAN when none */
};

struct hist_aggregate {
	int64_t ts_ms;  /* period start */
	int64_t end_ms;
	char outlet[REC_NAME];
	uint8_t period; /* enum agg_period */
	struct rec_agg_param p;
};

/* Each calls fn for every row in [from_ms, to_ms) in time order, stopping
 * early when fn returns non-zero (that value is returned). outlet NULL: all
 * outlets; param < 0: all parameters; period < 0: all periods. Return 0,
 * fn's non-zero value, or -1 on a database error (logged). */
typedef int (*hist_reading_fn)(const struct hist_reading *r, void *arg);
typedef int (*hist_aggregate_fn)(const struct hist_aggregate *a, void *arg);
typedef int (*hist_alert_fn)(int64_t ts_ms, const struct rec_alert *a, void *arg);
typedef int (*hist_maint_fn)(int64_t ts_ms, const struct rec_maint *m, void *arg);

int history_readings(struct history *h, const char *outlet, int param, int64_t from_ms,
		     int64_t to_ms, hist_reading_fn fn, void *arg);
int history_aggregates(struct history *h, const char *outlet, int period, int64_t from_ms,
		       int64_t to_ms, hist_aggregate_fn fn, void *arg);
/* Alert events whose ts_ms falls in the range. */
int history_alerts(struct history *h, const char *outlet, int64_t from_ms, int64_t to_ms,
		   hist_alert_fn fn, void *arg);
/* Every event (raised, cleared) of alert id, in order. */
int history_alert_events(struct history *h, const char *id, hist_alert_fn fn, void *arg);
int history_maintenance(struct history *h, const char *outlet, int64_t from_ms, int64_t to_ms,
			hist_maint_fn fn, void *arg);
/* The newest reading's ts_ms (0 when empty): how far the history reaches. */
int64_t history_newest_ms(struct history *h);

#endif
