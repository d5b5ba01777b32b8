/*
 * query.c - the read side of the history (history.h): the store opened
 * read-only (WAL lets it read a consistent snapshot while the daemon
 * writes), rows in time order through prepared statements that the
 * (outlet, parameter|period, ts_ms) indexes serve, names turned back into
 * the enums of record.h, and alert events rebuilt whole from the record
 * BLOB (outbox_codec_decode).
 *
 * A library layer: errors go to err (open) or are logged once (queries).
 */
#include "history.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/param.h"
#include "outbox/outbox.h"

#define Q_SQL_MAX 512

struct history {
	sqlite3 *db;
	char path[4096];
};

int history_open(const char *dir, struct history **out, char *err, size_t cap)
{
	struct history *h;
	struct stat st;
	int n, rc;

	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	n = snprintf(h->path, sizeof(h->path), "%s/%s", dir, HISTORY_FILE);
	if (n < 0 || (size_t)n >= sizeof(h->path) || stat(h->path, &st) < 0) {
		snprintf(err, cap, "%s/%s: %s", dir, HISTORY_FILE,
			 n < 0 || (size_t)n >= sizeof(h->path) ? "name too long" : strerror(errno));
		free(h);
		return -1;
	}
	rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(h->db, 2000);
	if (rc == SQLITE_OK) /* fails now, not at the first query, if it is no history */
		rc = sqlite3_exec(h->db, "SELECT value FROM meta WHERE key = 'schema'", NULL,
				  NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, cap, "%s: %s", h->path,
			 h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
		history_close(h);
		return -1;
	}
	*out = h;
	return 0;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	sqlite3_close(h->db);
	free(h);
}

/* ---- names back to enums -------------------------------------------------- */

static int name_index(const unsigned char *s, const char *(*name)(int), int n)
{
	for (int i = 0; s && i < n; i++) {
		const char *t = name(i);

		if (t && strcmp(t, (const char *)s) == 0)
			return i;
	}
	return 0;
}

static int col_param(sqlite3_stmt *q, int c)
{
	const unsigned char *s = sqlite3_column_text(q, c);
	int p = s ? param_from_name((const char *)s) : -1;

	return p < 0 ? 0 : p;
}

static double col_real(sqlite3_stmt *q, int c)
{
	return sqlite3_column_type(q, c) == SQLITE_NULL ? NAN : sqlite3_column_double(q, c);
}

static void col_name(sqlite3_stmt *q, int c, char *out, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(q, c);

	snprintf(out, cap, "%s", s ? (const char *)s : ""); /* cut is fine: names fit */
}

/* ---- the statement of a query --------------------------------------------- */

/* Prepares "base [AND outlet = ?] [AND key = ?] AND ts_ms >= ? AND ts_ms < ?
 * order" and binds it. NULL on error (logged). */
static sqlite3_stmt *prepare(struct history *h, const char *base, const char *outlet,
			     const char *key_col, const char *key, int64_t from_ms,
			     int64_t to_ms, const char *order)
{
	char sql[Q_SQL_MAX];
	sqlite3_stmt *q;
	int i = 1, n;

	n = snprintf(sql, sizeof(sql), "%s WHERE %s%s%s%s ts_ms >= ? AND ts_ms < ? %s", base,
		     outlet ? "outlet = ? AND " : "", key ? key_col : "",
		     key ? " = ?" : "", key ? " AND" : "", order);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return NULL;
	if (sqlite3_prepare_v2(h->db, sql, -1, &q, NULL) != SQLITE_OK) {
		log_err("history: %s: %s", h->path, sqlite3_errmsg(h->db));
		return NULL;
	}
	if (outlet)
		sqlite3_bind_text(q, i++, outlet, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(q, i++, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, i++, from_ms);
	sqlite3_bind_int64(q, i, to_ms);
	return q;
}

/* The caller's callback, whichever query it is for. */
struct cb {
	union {
		hist_reading_fn reading;
		hist_aggregate_fn aggregate;
		hist_alert_fn alert;
		hist_maint_fn maint;
	} fn;
	void *arg;
};

/* Steps q to its end, calling row(q, cb) per row; finalizes q. */
static int run(struct history *h, sqlite3_stmt *q, int (*row)(sqlite3_stmt *, const struct cb *),
	       const struct cb *cb)
{
	int rc, stop = 0;

	if (!q)
		return -1;
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW)
		stop = row(q, cb);
	if (!stop && rc != SQLITE_DONE) {
		log_err("history: %s: %s", h->path, sqlite3_errmsg(h->db));
		stop = -1;
	}
	sqlite3_finalize(q);
	return stop;
}

/* ---- readings and aggregates ---------------------------------------------- */

static int reading_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hist_reading r = { 0 };

	r.seq = sqlite3_column_int64(q, 0);
	r.ts_ms = sqlite3_column_int64(q, 1);
	col_name(q, 2, r.outlet, sizeof(r.outlet));
	col_name(q, 3, r.sensor, sizeof(r.sensor));
	r.v.param = (uint8_t)col_param(q, 4);
	r.v.v = col_real(q, 5);
	r.v.quality = (uint8_t)name_index(sqlite3_column_text(q, 6), quality_name, Q_COUNT);
	r.v.flags = (uint8_t)sqlite3_column_int(q, 7);
	return cb->fn.reading(&r, cb->arg);
}

int history_readings(struct history *h, const char *outlet, int param, int64_t from_ms,
		     int64_t to_ms, hist_reading_fn fn, void *arg)
{
	sqlite3_stmt *q = prepare(h, "SELECT seq, ts_ms, outlet, sensor, parameter, value, "
				  "quality, flags FROM reading", outlet, "parameter",
				  param >= 0 ? param_name(param) : NULL, from_ms, to_ms,
				  "ORDER BY ts_ms, seq, idx");

	return run(h, q, reading_row, &(struct cb){ .fn.reading = fn, .arg = arg });
}

static int aggregate_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct hist_aggregate a = { 0 };

	a.ts_ms = sqlite3_column_int64(q, 0);
	a.end_ms = sqlite3_column_int64(q, 1);
	col_name(q, 2, a.outlet, sizeof(a.outlet));
	a.period = (uint8_t)name_index(sqlite3_column_text(q, 3), agg_period_name, AGG_COUNT);
	a.p.param = (uint8_t)col_param(q, 4);
	a.p.avg = col_real(q, 5);
	a.p.min = col_real(q, 6);
	a.p.max = col_real(q, 7);
	a.p.cou = col_real(q, 8);
	a.p.count = (uint32_t)sqlite3_column_int64(q, 9);
	return cb->fn.aggregate(&a, cb->arg);
}

int history_aggregates(struct history *h, const char *outlet, int period, int64_t from_ms,
		       int64_t to_ms, hist_aggregate_fn fn, void *arg)
{
	sqlite3_stmt *q = prepare(h, "SELECT ts_ms, end_ms, outlet, period, parameter, avg, "
				  "min, max, cou, n FROM aggregate", outlet, "period",
				  period >= 0 ? agg_period_name(period) : NULL, from_ms, to_ms,
				  "ORDER BY ts_ms, seq, idx");

	return run(h, q, aggregate_row, &(struct cb){ .fn.aggregate = fn, .arg = arg });
}

/* ---- alerts and maintenance ----------------------------------------------- */

static int alert_row(sqlite3_stmt *q, const struct cb *cb)
{
	const void *blob = sqlite3_column_blob(q, 1);
	int len = sqlite3_column_bytes(q, 1);
	struct record r;

	if (!blob || outbox_codec_decode(blob, (size_t)len, &r) < 0 || r.type != REC_ALERT) {
		log_warn("history: alert event seq %lld: its record does not decode; skipped",
			 (long long)sqlite3_column_int64(q, 2));
		return 0;
	}
	return cb->fn.alert(sqlite3_column_int64(q, 0), &r.u.alert, cb->arg);
}

int history_alerts(struct history *h, const char *outlet, int64_t from_ms, int64_t to_ms,
		   hist_alert_fn fn, void *arg)
{
	sqlite3_stmt *q = prepare(h, "SELECT ts_ms, record, seq FROM alert", outlet, NULL, NULL,
				  from_ms, to_ms, "ORDER BY ts_ms, seq");

	return run(h, q, alert_row, &(struct cb){ .fn.alert = fn, .arg = arg });
}

int history_alert_events(struct history *h, const char *id, hist_alert_fn fn, void *arg)
{
	sqlite3_stmt *q;

	if (sqlite3_prepare_v2(h->db, "SELECT ts_ms, record, seq FROM alert WHERE id = ? "
			       "ORDER BY seq", -1, &q, NULL) != SQLITE_OK) {
		log_err("history: %s: %s", h->path, sqlite3_errmsg(h->db));
		return -1;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	return run(h, q, alert_row, &(struct cb){ .fn.alert = fn, .arg = arg });
}

static const char *maint_end_fn(int e)
{
	return maint_end_name(e);
}

static int maint_row(sqlite3_stmt *q, const struct cb *cb)
{
	struct rec_maint m = { 0 };

	col_name(q, 1, m.outlet, sizeof(m.outlet));
	col_name(q, 2, m.sensor, sizeof(m.sensor));
	m.event = (uint8_t)name_index(sqlite3_column_text(q, 3), maint_event_name, MEV_COUNT);
	m.mode = (uint8_t)name_index(sqlite3_column_text(q, 4), maint_mode_name, MM_COUNT);
	m.since_ms = sqlite3_column_int64(q, 5);
	m.planned_end_ms = sqlite3_column_int64(q, 6);
	m.until_ms = sqlite3_column_int64(q, 7);
	m.ended_by = (uint8_t)name_index(sqlite3_column_text(q, 8), maint_end_fn, MEND_COUNT);
	col_name(q, 9, m.note, sizeof(m.note));
	return cb->fn.maint(sqlite3_column_int64(q, 0), &m, cb->arg);
}

int history_maintenance(struct history *h, const char *outlet, int64_t from_ms, int64_t to_ms,
			hist_maint_fn fn, void *arg)
{
	sqlite3_stmt *q = prepare(h, "SELECT ts_ms, outlet, sensor, event, mode, since_ms, "
				  "planned_end_ms, until_ms, ended_by, note FROM maintenance",
				  outlet, NULL, NULL, from_ms, to_ms, "ORDER BY ts_ms, seq");

	return run(h, q, maint_row, &(struct cb){ .fn.maint = fn, .arg = arg });
}

/* The newest over every layout: a max() per index group, so it costs
 * lookups, not a scan (the clock may have jumped, so the highest seq need
 * not be the newest). */
int64_t history_newest_ms(struct history *h)
{
	sqlite3_stmt *q = NULL;
	int64_t best = 0;

	if (sqlite3_prepare_v2(h->db, "SELECT max((SELECT max(ts_ms) FROM poll WHERE layout = "
			       "l.id)) FROM layout l", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		best = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return best;
}
