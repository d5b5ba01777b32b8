/*
 * retention.c - keeping the history within its age limits and its size
 * cap (history.h). Runs after a transaction, at most once a minute, and
 * deletes at most HIST_RETAIN_PASS rows per loop pass in one transaction
 * (a bigger job, after raw_days was lowered say, goes on at the next
 * passes), so the loop is never held for long.
 *
 * Age: polls (rows of raw readings, layout.c) older than raw_days,
 * aggregates, alerts, maintenance and reload events older than
 * aggregate_days (by their ts_ms against the wall clock). Polls are deleted through their
 * (layout, ts_ms) index, layout by layout, and aggregates through their
 * (outlet, period, ts_ms) index, outlet by outlet, so a pass costs index
 * lookups, not a scan; alert, maintenance and reload events are few and
 * scanned. Rows removed by age are counted in meta expired_raw (readings),
 * expired_aggregate, expired_alert, expired_maintenance, expired_reload.
 *
 * Size: when the pages in use pass max_mb, the oldest rows by seq are
 * deleted in chunks until they are under 90 % of it: raw polls first,
 * then aggregates, then alerts, maintenance and reload events last. These
 * are counted in meta dropped_raw, dropped_aggregate, dropped_alert,
 * dropped_maintenance, dropped_reload and logged as a warning: data lost
 * before its retention time. Freed pages stay in the file for new rows (no
 * vacuum: rewriting the file would cost the SD card more than the space is
 * worth), so the file reaches about max_mb and stays there.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/param.h"

#define DAY_MS 86400000LL

struct pass {
	struct hist *h;
	int64_t budget;  /* rows still allowed in this pass */
	int rc;          /* the first SQLite error, SQLITE_OK */
};

/* Runs sql (binding ?1 text a, ?2 text b, ?3 int64 c, ?4 the chunk; a
 * statement may leave some unused: ?NNN numbers them all) once, or, unless
 * once, again and again while it deletes a full chunk and budget remains.
 * Returns the rows deleted. */
static int64_t delete_chunks(struct pass *p, const char *sql, const char *a, const char *b,
			     int64_t c, bool once)
{
	sqlite3 *db = p->h->st.db;
	sqlite3_stmt *q;
	int64_t total = 0, n;

	if (p->rc != SQLITE_OK || p->budget <= 0)
		return 0;
	p->rc = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
	if (p->rc != SQLITE_OK)
		return 0;
	do {
		int64_t chunk = p->budget < HIST_RETAIN_CHUNK ? p->budget : HIST_RETAIN_CHUNK;

		sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC); /* NULL binds NULL */
		sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, c);
		sqlite3_bind_int64(q, 4, chunk);
		p->rc = sqlite3_step(q);
		sqlite3_reset(q);
		p->rc = p->rc == SQLITE_DONE ? SQLITE_OK : p->rc;
		n = p->rc == SQLITE_OK ? sqlite3_changes64(db) : 0;
		total += n;
		p->budget -= n;
		if (n < chunk || once)
			break;
	} while (p->rc == SQLITE_OK && p->budget > 0);
	sqlite3_finalize(q);
	return total;
}

/* The next outlet name after prev in table's index (prev "" for the first);
 * false when none. */
static bool next_outlet(struct pass *p, const char *table, const char *prev, char *out,
			size_t cap)
{
	char sql[128];
	sqlite3_stmt *q;
	bool found = false;

	snprintf(sql, sizeof(sql), "SELECT outlet FROM %s WHERE outlet > ?1 ORDER BY outlet "
		 "LIMIT 1", table);
	if (p->rc != SQLITE_OK ||
	    (p->rc = sqlite3_prepare_v2(p->h->st.db, sql, -1, &q, NULL)) != SQLITE_OK)
		return false;
	sqlite3_bind_text(q, 1, prev, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
		found = true;
	}
	sqlite3_finalize(q);
	return found;
}

/* Rows of table older than cutoff, per outlet (NULL first) and key. */
static int64_t expire_indexed(struct pass *p, const char *table, const char *col,
			      const char *const *keys, int n_keys, int64_t cutoff)
{
	char sql[256], outlet[REC_NAME * 2] = "", next[REC_NAME * 2];
	int64_t total = 0;
	const char *o = NULL;

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE (seq, idx) IN (SELECT seq, idx FROM "
		 "%s WHERE outlet IS ?1 AND %s = ?2 AND ts_ms < ?3 LIMIT ?4)", table, table, col);
	for (;;) {
		for (int k = 0; k < n_keys; k++)
			total += delete_chunks(p, sql, o, keys[k], cutoff, false);
		if (p->rc != SQLITE_OK || p->budget <= 0 ||
		    !next_outlet(p, table, outlet, next, sizeof(next)))
			return total;
		memcpy(outlet, next, sizeof(outlet));
		o = outlet;
	}
}

/* Deletes the oldest ?4 polls of layout ?1 that are older than ?3; the
 * table's key (layout, ts_ms, seq) finds them without a scan. */
static const char oldest_polls[] =
	"DELETE FROM poll WHERE layout = CAST(?1 AS INTEGER) AND ts_ms < min(?3, coalesce("
	"(SELECT ts_ms FROM poll WHERE layout = CAST(?1 AS INTEGER) ORDER BY ts_ms LIMIT 1 "
	"OFFSET ?4), ?3))";

/* Readings in polls older than cutoff, layout by layout: rows deleted
 * times the layout's values per poll. */
static int64_t expire_polls(struct pass *p, int64_t cutoff)
{
	char id[24] = "";
	int64_t total = 0, per_poll;
	sqlite3_stmt *q;

	if (p->rc != SQLITE_OK ||
	    (p->rc = sqlite3_prepare_v2(p->h->st.db, "SELECT id, n FROM layout WHERE id > ?1 "
					"ORDER BY id LIMIT 1", -1, &q, NULL)) != SQLITE_OK)
		return 0;
	for (int64_t last = 0; p->rc == SQLITE_OK && p->budget > 0;) {
		sqlite3_bind_int64(q, 1, last);
		if (sqlite3_step(q) != SQLITE_ROW)
			break;
		last = sqlite3_column_int64(q, 0);
		per_poll = sqlite3_column_int64(q, 1);
		sqlite3_reset(q);
		snprintf(id, sizeof(id), "%" PRId64, last);
		total += per_poll * delete_chunks(p, oldest_polls, id, NULL, cutoff, false);
	}
	sqlite3_finalize(q);
	return total;
}

/* The layout whose oldest poll is the oldest of all, and its values per
 * poll; false when there are no polls. */
static bool oldest_layout(struct pass *p, char id[24], int64_t *per_poll)
{
	sqlite3_stmt *q;
	bool found = false;

	if (p->rc != SQLITE_OK ||
	    (p->rc = sqlite3_prepare_v2(p->h->st.db, "SELECT id, n, (SELECT ts_ms FROM poll "
					"WHERE layout = l.id ORDER BY ts_ms LIMIT 1) AS t FROM "
					"layout l WHERE t IS NOT NULL ORDER BY t LIMIT 1", -1, &q,
					NULL)) != SQLITE_OK)
		return false;
	if (sqlite3_step(q) == SQLITE_ROW) {
		snprintf(id, 24, "%" PRId64, (int64_t)sqlite3_column_int64(q, 0));
		*per_poll = sqlite3_column_int64(q, 1);
		found = true;
	}
	sqlite3_finalize(q);
	return found;
}

static void count(struct pass *p, const char *key, int64_t n)
{
	if (n > 0 && p->rc == SQLITE_OK) {
		p->rc = hstore_meta_add(&p->h->st, key, n);
		p->rc = p->rc == SQLITE_DONE ? SQLITE_OK : p->rc;
	}
}

/* The event tables, kept aggregate_days and shed last, in this order. */
static const char *const events[] = { "alert", "maintenance", "reload" };
#define N_EVENTS (sizeof(events) / sizeof(events[0]))
#define N_KINDS (2 + N_EVENTS) /* readings, aggregates, then the events */

/* Counts kind i's rows under prefix + its name (expired_raw, ...). */
static void count_kinds(struct pass *p, const char *prefix, const int64_t *n)
{
	static const char *const kind[N_KINDS] = { "raw", "aggregate", "alert", "maintenance",
						   "reload" };
	char key[48];

	for (size_t i = 0; i < N_KINDS; i++) {
		snprintf(key, sizeof(key), "%s_%s", prefix, kind[i]);
		count(p, key, n[i]);
	}
}

static void expire(struct pass *p, int64_t now_wall_ms)
{
	const char *periods[AGG_COUNT];
	int64_t raw = now_wall_ms - p->h->cfg.raw_days * DAY_MS;
	int64_t agg = now_wall_ms - p->h->cfg.aggregate_days * DAY_MS;
	int64_t n[N_KINDS];
	char sql[160];

	for (int i = 0; i < AGG_COUNT; i++)
		periods[i] = agg_period_name(i);
	n[0] = expire_polls(p, raw);
	n[1] = expire_indexed(p, "aggregate", "period", periods, AGG_COUNT, agg);
	for (size_t i = 0; i < N_EVENTS; i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE seq IN (SELECT seq FROM %s "
			 "WHERE ts_ms < ?3 LIMIT ?4)", events[i], events[i]);
		n[2 + i] = delete_chunks(p, sql, NULL, NULL, agg, false);
	}
	count_kinds(p, "expired", n);
	if (n[0] + n[1] + n[2] + n[3] + n[4] > 0)
		log_info("history: past their retention: %" PRId64 " readings, %" PRId64
			 " aggregates, %" PRId64 " alert events, %" PRId64
			 " maintenance events, %" PRId64 " reload events removed",
			 n[0], n[1], n[2], n[3], n[4]);
}

/* The oldest rows of one table by seq (polls: by time, a chunk of the
 * layout that reaches back furthest), in chunks, until the pages in use
 * are under target or the table is empty. Polls count as their readings. */
static int64_t shed(struct pass *p, const char *sql, int64_t target, bool polls)
{
	int64_t total = 0, n, used, per_poll = 1;
	char id[24] = "";

	while (p->rc == SQLITE_OK && p->budget > 0) {
		used = hstore_used_bytes(&p->h->st);
		if (used < 0) {
			p->rc = SQLITE_ERROR;
			break;
		}
		if (used <= target)
			break;
		if (polls && !oldest_layout(p, id, &per_poll))
			break;
		n = delete_chunks(p, sql, polls ? id : NULL, NULL, INT64_MAX, true);
		total += n * per_poll;
		if (n == 0)
			break;
	}
	return total;
}

/* The oldest ?4 rows of an event table by seq. */
static const char *shed_sql(char *sql, size_t cap, const char *table)
{
	snprintf(sql, cap, "DELETE FROM %s WHERE seq IN (SELECT seq FROM %s ORDER BY seq "
		 "LIMIT ?4)", table, table);
	return sql;
}

static void cap(struct pass *p)
{
	int64_t used = hstore_used_bytes(&p->h->st), target = p->h->max_bytes / 10 * 9;
	int64_t n[N_KINDS] = { 0 };
	char sql[160];

	if (used < 0 || used <= p->h->max_bytes)
		return;
	n[0] = shed(p, oldest_polls, target, true);
	n[1] = shed(p, "DELETE FROM aggregate WHERE (seq, idx) IN (SELECT seq, idx FROM "
		    "aggregate ORDER BY seq, idx LIMIT ?4)", target, false);
	for (size_t i = 0; i < N_EVENTS; i++)
		n[2 + i] = shed(p, shed_sql(sql, sizeof(sql), events[i]), target, false);
	count_kinds(p, "dropped", n);
	if (n[0] + n[1] + n[2] + n[3] + n[4] > 0)
		log_warn("history: %s uses %" PRId64 " KiB, over max_mb %" PRId64 " MiB: the "
			 "oldest %" PRId64 " readings, %" PRId64 " aggregates, %" PRId64 " alert "
			 "events, %" PRId64 " maintenance and %" PRId64 " reload events dropped "
			 "(meta dropped_*); raise max_mb or lower raw_days", p->h->st.path,
			 used >> 10, p->h->max_bytes >> 20, n[0], n[1], n[2], n[3], n[4]);
}

int hist_retain(struct hist *h)
{
	struct pass p = { .h = h, .budget = HIST_RETAIN_PASS, .rc = SQLITE_OK };

	h->retain_more = false;
	if (!h->st.db)
		return SQLITE_OK;
	p.rc = hstore_exec(&h->st, HS_BEGIN);
	expire(&p, h->wall());
	cap(&p);
	if (p.rc == SQLITE_OK)
		p.rc = hstore_exec(&h->st, HS_COMMIT);
	else
		hstore_exec(&h->st, HS_ROLLBACK);
	h->retain_more = p.rc == SQLITE_OK && p.budget <= 0;
	return p.rc;
}
