/*
 * store.c - the history's SQLite file on the write side: opening or
 * creating it (page size, WAL, synchronous=FULL, the schema of history.h,
 * the meta rows), turning one outbox record into its rows, and setting a
 * damaged file aside so the gateway goes on with a fresh one.
 *
 * aggregate is a WITHOUT ROWID table: its primary key (seq, idx) is then
 * the table itself, not a second b-tree beside it. Readings are a row per
 * poll (layout.c). Freed pages are
 * kept in the file and reused (auto_vacuum off): after retention the file
 * does not shrink, it stops growing, and max_mb bounds it (retention.c).
 * The WAL is checkpointed every 256 pages (1 MiB) and cut back to 1 MiB:
 * a checkpoint runs inside a COMMIT, on the loop, so it is kept small (a
 * 4 MiB one saved only 4 % of the bytes written in tests/bench).
 *
 * Bytes: WAL mode writes each page twice (WAL, then checkpoint), and a
 * transaction rewrites the partly filled last pages of the poll table and
 * of each layout's run of its index. history_bench measures it.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "base/param.h"
#include "outbox/outbox.h"

static const char *const pragmas =
	"PRAGMA page_size=4096;"
	"PRAGMA auto_vacuum=NONE;"
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"PRAGMA wal_autocheckpoint=256;"
	"PRAGMA journal_size_limit=1048576;"
	"PRAGMA cache_size=-512;"; /* KiB: RAM stays small, a big commit spills */

static const char *const schema =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS aggregate(seq INTEGER NOT NULL, idx INTEGER NOT NULL,"
	" ts_ms INTEGER, end_ms INTEGER, outlet TEXT, period TEXT, parameter TEXT,"
	" avg REAL, min REAL, max REAL, cou REAL, n INTEGER,"
	" PRIMARY KEY (seq, idx)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS aggregate_by_period ON aggregate(outlet, period, ts_ms);"
	"CREATE TABLE IF NOT EXISTS alert(seq INTEGER PRIMARY KEY, ts_ms INTEGER, id TEXT,"
	" state TEXT, kind TEXT, outlet TEXT, parameter TEXT, sensor TEXT, permit TEXT,"
	" holder TEXT, basis TEXT, window_min INTEGER, limit_value REAL, value REAL,"
	" peak REAL, since_ms INTEGER, until_ms INTEGER, reason TEXT, cause TEXT,"
	" record BLOB);"
	"CREATE INDEX IF NOT EXISTS alert_by_id ON alert(id);"
	"CREATE INDEX IF NOT EXISTS alert_by_outlet ON alert(outlet, ts_ms);"
	"CREATE TABLE IF NOT EXISTS maintenance(seq INTEGER PRIMARY KEY, ts_ms INTEGER,"
	" outlet TEXT, sensor TEXT, event TEXT, mode TEXT, since_ms INTEGER,"
	" planned_end_ms INTEGER, until_ms INTEGER, ended_by TEXT, note TEXT);"
	"CREATE TABLE IF NOT EXISTS reload(seq INTEGER PRIMARY KEY, ts_ms INTEGER,"
	" outcome TEXT, changes INTEGER, summary TEXT);"
	"INSERT OR IGNORE INTO meta VALUES('schema', '" HIST_SCHEMA "');";

static const char *const stmt_sql[HS_COUNT] = {
	[HS_BEGIN] = "BEGIN IMMEDIATE",
	[HS_COMMIT] = "COMMIT",
	[HS_ROLLBACK] = "ROLLBACK",
	[HS_AGGREGATE] = "INSERT OR IGNORE INTO aggregate(seq, idx, ts_ms, end_ms, outlet,"
		" period, parameter, avg, min, max, cou, n) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	[HS_ALERT] = "INSERT OR IGNORE INTO alert(seq, ts_ms, id, state, kind, outlet,"
		" parameter, sensor, permit, holder, basis, window_min, limit_value, value,"
		" peak, since_ms, until_ms, reason, cause, record)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[HS_MAINT] = "INSERT OR IGNORE INTO maintenance(seq, ts_ms, outlet, sensor, event,"
		" mode, since_ms, planned_end_ms, until_ms, ended_by, note)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?)",
	[HS_RELOAD] = "INSERT OR IGNORE INTO reload(seq, ts_ms, outcome, changes, summary)"
		" VALUES(?,?,?,?,?)",
	[HS_META_GET] = "SELECT value FROM meta WHERE key = ?",
	[HS_META_PUT] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
};

bool hstore_damaged(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* mkdir -p, for dir and the folders above it. */
static int make_dirs(const char *dir)
{
	char p[HIST_PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			return -errno;
		p[i] = i < n ? '/' : '\0';
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

void hstore_close(struct hstore *s)
{
	hlayout_close(s);
	for (int i = 0; i < HS_COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		log_warn("history: closing %s: %s", s->path, sqlite3_errmsg(s->db));
	s->db = NULL;
}

/* The schema version found must be ours: a newer one is left alone. */
static int check_schema(struct hstore *s)
{
	sqlite3_stmt *q = s->st[HS_META_GET];
	const unsigned char *v;
	int rc;

	sqlite3_bind_text(q, 1, "schema", -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	v = rc == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
	if (rc == SQLITE_ROW && (!v || strcmp((const char *)v, HIST_SCHEMA) != 0)) {
		log_err("history: %s has schema version %s, this outfalld writes %s; move the "
			"file away or upgrade outfalld", s->path, v ? (const char *)v : "(none)",
			HIST_SCHEMA);
		rc = SQLITE_MISMATCH;
	} else if (rc == SQLITE_ROW) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(q);
	return rc;
}

static int put_gateway(struct hstore *s)
{
	sqlite3_stmt *q = s->st[HS_META_PUT];
	int rc;

	sqlite3_bind_text(q, 1, "gateway", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, s->gateway, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One attempt at opening path: SQLite rc, the store closed on failure. */
static int try_open(struct hstore *s)
{
	int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_extended_result_codes(s->db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(s->db, HIST_BUSY_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, NULL);
	for (int i = 0; i < HS_COUNT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&s->st[i], NULL);
	if (rc == SQLITE_OK)
		rc = check_schema(s);
	if (rc == SQLITE_OK)
		rc = hlayout_open(s);
	if (rc == SQLITE_OK)
		rc = put_gateway(s);
	if (rc != SQLITE_OK) {
		if (!hstore_damaged(rc) && rc != SQLITE_MISMATCH)
			log_err("history: cannot open %s: %s", s->path,
				s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		hstore_close(s);
	}
	return rc;
}

int hstore_open(struct hstore *s, const char *dir, const char *gateway_id)
{
	int n, rc;

	n = snprintf(s->path, sizeof(s->path), "%s/%s", dir, HISTORY_FILE);
	if (n < 0 || (size_t)n >= sizeof(s->path) - 40) { /* room for .corrupt-<t>-wal */
		log_err("history: directory name too long: %s", dir);
		return SQLITE_CANTOPEN;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->gateway, sizeof(s->gateway), "%s", gateway_id ? gateway_id : "");
	rc = make_dirs(dir);
	if (rc < 0) {
		log_err("history: cannot create %s: %s", dir, strerror(-rc));
		return SQLITE_CANTOPEN;
	}
	rc = try_open(s);
	if (hstore_damaged(rc))
		rc = hstore_set_aside(s, rc);
	return rc;
}

/* Renames from to to if from exists; 0 or -errno. */
static int move_aside(const char *from, const char *to)
{
	if (rename(from, to) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int hstore_set_aside(struct hstore *s, int why_rc)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char from[HIST_PATH_MAX + 8], to[HIST_PATH_MAX + 48];
	long long t = (long long)time(NULL);
	int err = 0;

	hstore_close(s);
	for (size_t i = 0; i < 3 && err == 0; i++) {
		snprintf(from, sizeof(from), "%s%s", s->path, ext[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%lld%s", s->path, t, ext[i]);
		err = move_aside(from, to);
	}
	if (err < 0) {
		log_err("history: %s is damaged (%s) and cannot be renamed to %s: %s; the "
			"history is off: remove the file and restart outfalld", s->path,
			sqlite3_errstr(why_rc), to, strerror(-err));
		return SQLITE_CANTOPEN;
	}
	fsync_dir(s->dir);
	s->set_aside++;
	log_err("history: %s is damaged (%s); kept as %s.corrupt-%lld for inspection and a "
		 "fresh history started: reports before now need that file (sqlite3 .recover), "
		 "and the SD card may be failing", s->path, sqlite3_errstr(why_rc), s->path, t);
	return try_open(s);
}

int hstore_exec(struct hstore *s, enum hist_stmt i)
{
	int rc = sqlite3_step(s->st[i]);

	sqlite3_reset(s->st[i]);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- records to rows ------------------------------------------------------ */

static void bind_name(sqlite3_stmt *q, int col, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == 0)
		sqlite3_bind_null(q, col);
	else
		sqlite3_bind_text(q, col, s, (int)n, SQLITE_STATIC);
}

#define BIND_FIELD(q, col, arr) bind_name((q), (col), (arr), sizeof(arr))

static void bind_opt_text(sqlite3_stmt *q, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, col);
}

static void bind_opt_ms(sqlite3_stmt *q, int col, int64_t ms)
{
	if (ms)
		sqlite3_bind_int64(q, col, ms);
	else
		sqlite3_bind_null(q, col);
}

/* Steps q, resets it; SQLITE_DONE or the error. */
static int step(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	return rc;
}

static int insert_aggregate(struct hstore *s, const struct record *r)
{
	sqlite3_stmt *q = s->st[HS_AGGREGATE];
	const struct rec_aggregate *a = &r->u.aggregate;
	int rc = SQLITE_DONE;

	for (int i = 0; i < a->n && i < REC_MAX_VALUES && rc == SQLITE_DONE; i++) {
		const struct rec_agg_param *p = &a->params[i];

		sqlite3_bind_int64(q, 1, (int64_t)r->seq);
		sqlite3_bind_int(q, 2, i);
		sqlite3_bind_int64(q, 3, r->ts_ms);
		sqlite3_bind_int64(q, 4, a->end_ms);
		BIND_FIELD(q, 5, a->outlet);
		sqlite3_bind_text(q, 6, agg_period_name(a->period), -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 7, param_name(p->param), -1, SQLITE_STATIC);
		sqlite3_bind_double(q, 8, p->avg);
		sqlite3_bind_double(q, 9, p->min);
		sqlite3_bind_double(q, 10, p->max);
		sqlite3_bind_double(q, 11, p->cou);
		sqlite3_bind_int64(q, 12, p->count);
		rc = step(q);
	}
	return rc;
}

static int insert_alert(struct hstore *s, const struct record *r)
{
	sqlite3_stmt *q = s->st[HS_ALERT];
	const struct rec_alert *a = &r->u.alert;
	uint8_t blob[OUTBOX_CODEC_MAX];
	int n = outbox_codec_encode(r, blob, sizeof(blob));

	if (n < 0) {
		log_warn("history: alert seq %" PRIu64 " cannot be encoded; not stored", r->seq);
		return SQLITE_DONE;
	}
	sqlite3_bind_int64(q, 1, (int64_t)r->seq);
	sqlite3_bind_int64(q, 2, r->ts_ms);
	BIND_FIELD(q, 3, a->id);
	sqlite3_bind_text(q, 4, alert_state_name(a->state), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, alert_kind_name(a->kind), -1, SQLITE_STATIC);
	BIND_FIELD(q, 6, a->outlet);
	sqlite3_bind_text(q, 7, param_name(a->param), -1, SQLITE_STATIC);
	BIND_FIELD(q, 8, a->sensor);
	BIND_FIELD(q, 9, a->permit);
	BIND_FIELD(q, 10, a->holder);
	sqlite3_bind_text(q, 11, config_basis_name(a->basis), -1, SQLITE_STATIC);
	if (a->window_min)
		sqlite3_bind_int(q, 12, a->window_min);
	else
		sqlite3_bind_null(q, 12);
	sqlite3_bind_double(q, 13, a->limit);
	sqlite3_bind_double(q, 14, a->value);
	sqlite3_bind_double(q, 15, a->peak);
	bind_opt_ms(q, 16, a->since_ms);
	bind_opt_ms(q, 17, a->until_ms);
	bind_opt_text(q, 18, clear_reason_name(a->reason));
	bind_opt_text(q, 19, fault_cause_name(a->cause));
	sqlite3_bind_blob(q, 20, blob, n, SQLITE_STATIC);
	return step(q);
}

static int insert_maint(struct hstore *s, const struct record *r)
{
	sqlite3_stmt *q = s->st[HS_MAINT];
	const struct rec_maint *m = &r->u.maint;

	sqlite3_bind_int64(q, 1, (int64_t)r->seq);
	sqlite3_bind_int64(q, 2, r->ts_ms);
	BIND_FIELD(q, 3, m->outlet);
	BIND_FIELD(q, 4, m->sensor);
	sqlite3_bind_text(q, 5, maint_event_name(m->event), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, maint_mode_name(m->mode), -1, SQLITE_STATIC);
	bind_opt_ms(q, 7, m->since_ms);
	bind_opt_ms(q, 8, m->planned_end_ms);
	bind_opt_ms(q, 9, m->until_ms);
	bind_opt_text(q, 10, maint_end_name(m->ended_by));
	BIND_FIELD(q, 11, m->note);
	return step(q);
}

static int insert_reload(struct hstore *s, const struct record *r)
{
	sqlite3_stmt *q = s->st[HS_RELOAD];
	const struct rec_reload *l = &r->u.reload;

	sqlite3_bind_int64(q, 1, (int64_t)r->seq);
	sqlite3_bind_int64(q, 2, r->ts_ms);
	sqlite3_bind_text(q, 3, reload_outcome_name(l->outcome), -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, l->changes);
	BIND_FIELD(q, 5, l->summary);
	return step(q);
}

int hstore_insert(struct hstore *s, const struct record *r)
{
	switch (r->type) {
	case REC_POLL:
		return hlayout_insert_poll(s, r);
	case REC_AGGREGATE:
		return insert_aggregate(s, r);
	case REC_ALERT:
		return insert_alert(s, r);
	case REC_MAINT:
		return insert_maint(s, r);
	case REC_RELOAD:
		return insert_reload(s, r);
	default:
		return SQLITE_DONE; /* metrics: the gateway's health is not history */
	}
}

/* ---- meta ----------------------------------------------------------------- */

int64_t hstore_meta_get(struct hstore *s, const char *key)
{
	sqlite3_stmt *q = s->st[HS_META_GET];
	int64_t v = 0;

	if (!q)
		return 0;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return v;
}

int hstore_meta_add(struct hstore *s, const char *key, int64_t n)
{
	sqlite3_stmt *q = s->st[HS_META_PUT];
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, hstore_meta_get(s, key) + n);
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, buf, -1, SQLITE_STATIC);
	return step(q);
}

static int64_t pragma_int(struct hstore *s, const char *sql)
{
	sqlite3_stmt *q;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

int64_t hstore_used_bytes(struct hstore *s)
{
	int64_t pages = pragma_int(s, "PRAGMA page_count");
	int64_t free_pages = pragma_int(s, "PRAGMA freelist_count");
	int64_t size = pragma_int(s, "PRAGMA page_size");

	if (pages < 0 || free_pages < 0 || size < 0)
		return -1;
	return (pages - free_pages) * size;
}
