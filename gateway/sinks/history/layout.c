/*
 * layout.c - readings as one row per poll: the poll and layout tables, the
 * reading view over them, and turning a poll record into its row.
 *
 * A poll of one sensor gives up to REC_MAX_VALUES values that share a
 * seq, a time, an outlet and a sensor. Stored a row per value, those shared
 * fields and an index entry were repeated for every value: about 85 bytes
 * a reading, twice over in WAL mode - more than the SD card budget of
 * DESIGN §9 allows. Here a poll is one row of `poll`: its layout, ts_ms,
 * seq, and per slot k a value vk and a code qk = quality + 16 * flags (NULL
 * when the slot is unused). The table is as wide as the widest sensor so
 * far (widen()): an unused slot costs each row two bytes of header. A `layout` row names the
 * outlet, the sensor, the number of slots used (n) and the parameter of
 * each slot; a sensor keeps one
 * layout as long as its config does, so the table stays a few rows long.
 * poll is a WITHOUT ROWID table keyed (layout, ts_ms, seq): the table is
 * its own index for a query by outlet, parameter and time, with no second
 * b-tree to write, and a record sent again (same seq) is ignored.
 *
 * The view `reading` gives the rows back one per value, with the columns
 * readers know (seq, idx, ts_ms, outlet, sensor, parameter, value,
 * quality, flags): history.h's queries and anyone with the sqlite3 shell
 * read it as a table.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/param.h"

#define SLOTS REC_MAX_VALUES
#define SQL_MAX 16384

/* Appends to b (at *n, cap) what fmt says; a cut leaves *n past cap. */
__attribute__((format(printf, 4, 5)))
static void put(char *b, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= cap)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b + *n, cap - *n, fmt, ap);
	va_end(ap);
	*n += k < 0 ? cap : (size_t)k;
}

/* The tables; poll starts one slot wide (widen() adds slots). */
static int schema_sql(char *b, size_t cap)
{
	size_t n = 0;

	put(b, cap, &n, "CREATE TABLE IF NOT EXISTS layout(id INTEGER PRIMARY KEY, outlet TEXT,"
	    " sensor TEXT, params TEXT NOT NULL, n INTEGER NOT NULL");
	for (int k = 0; k < SLOTS; k++)
		put(b, cap, &n, ", p%d TEXT", k);
	put(b, cap, &n, ");CREATE TABLE IF NOT EXISTS poll(layout INTEGER NOT NULL,"
	    " ts_ms INTEGER NOT NULL, seq INTEGER NOT NULL, v0 REAL, q0 INTEGER,"
	    " PRIMARY KEY (layout, ts_ms, seq)) WITHOUT ROWID;");
	return n < cap ? 0 : -1;
}

/* The reading view over the first width slots, replacing the old one. */
static int view_sql(char *b, size_t cap, int width)
{
	size_t n = 0;

	put(b, cap, &n, "DROP VIEW IF EXISTS reading; CREATE VIEW reading AS ");
	for (int k = 0; k < width; k++) {
		put(b, cap, &n, "%sSELECT p.seq AS seq, %d AS idx, p.ts_ms AS ts_ms, l.outlet AS"
		    " outlet, l.sensor AS sensor, l.p%d AS parameter, p.v%d AS value, CASE"
		    " p.q%d & 15", k ? " UNION ALL " : "", k, k, k, k);
		for (int q = 0; q < Q_COUNT; q++)
			put(b, cap, &n, " WHEN %d THEN '%s'", q, quality_name(q));
		put(b, cap, &n, " END AS quality, p.q%d >> 4 AS flags FROM poll p JOIN layout l"
		    " ON l.id = p.layout WHERE l.p%d IS NOT NULL", k, k);
	}
	put(b, cap, &n, ";");
	return n < cap ? 0 : -1;
}

static int poll_insert_sql(char *b, size_t cap, int width)
{
	size_t n = 0;

	put(b, cap, &n, "INSERT OR IGNORE INTO poll(layout, ts_ms, seq");
	for (int k = 0; k < width; k++)
		put(b, cap, &n, ", v%d, q%d", k, k);
	put(b, cap, &n, ") VALUES(?, ?, ?");
	for (int k = 0; k < width; k++)
		put(b, cap, &n, ", ?, ?");
	put(b, cap, &n, ")");
	return n < cap ? 0 : -1;
}

/* The slots poll has now, from its columns. */
static int current_width(struct hstore *s)
{
	sqlite3_stmt *q;
	int cols = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM pragma_table_info('poll')", -1, &q,
			       NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		cols = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return cols >= 5 ? (cols - 3) / 2 : -1;
}

/* The insert statement and the view for width slots. */
static int prepare_width(struct hstore *s, int width)
{
	char sql[SQL_MAX];
	int rc;

	if (poll_insert_sql(sql, sizeof(sql), width) < 0)
		return SQLITE_TOOBIG;
	sqlite3_finalize(s->poll);
	s->poll = NULL;
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->poll, NULL);
	if (rc == SQLITE_OK && view_sql(sql, sizeof(sql), width) < 0)
		rc = SQLITE_TOOBIG;
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		s->width = width;
	return rc;
}

/* poll grows a slot at a time, only as wide as the widest sensor: each
 * unused slot would cost every row two bytes of record header. */
static int widen(struct hstore *s, int width)
{
	char sql[128];
	int rc = SQLITE_OK;

	for (int k = s->width; k < width && rc == SQLITE_OK; k++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE poll ADD COLUMN v%d REAL;"
			 "ALTER TABLE poll ADD COLUMN q%d INTEGER;", k, k);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	return rc == SQLITE_OK ? prepare_width(s, width) : rc;
}

int hlayout_open(struct hstore *s)
{
	static const char get[] = "SELECT id FROM layout WHERE outlet IS ?1 AND sensor IS ?2"
				  " AND params = ?3";
	char sql[SQL_MAX];
	size_t n = 0;
	int rc, width;

	if (schema_sql(sql, sizeof(sql)) < 0)
		return SQLITE_TOOBIG;
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	width = rc == SQLITE_OK ? current_width(s) : 0;
	if (rc == SQLITE_OK)
		rc = width < 1 || width > SLOTS ? SQLITE_CORRUPT : prepare_width(s, width);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(s->db, get, -1, SQLITE_PREPARE_PERSISTENT, &s->lay_get,
					NULL);
	put(sql, sizeof(sql), &n, "INSERT INTO layout(outlet, sensor, params, n");
	for (int k = 0; k < SLOTS; k++)
		put(sql, sizeof(sql), &n, ", p%d", k);
	put(sql, sizeof(sql), &n, ") VALUES(?, ?, ?, ?");
	for (int k = 0; k < SLOTS; k++)
		put(sql, sizeof(sql), &n, ", ?");
	put(sql, sizeof(sql), &n, ")");
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->lay_put,
					NULL);
	s->n_lay = 0;
	return rc;
}

void hlayout_close(struct hstore *s)
{
	sqlite3_finalize(s->poll);
	sqlite3_finalize(s->lay_get);
	sqlite3_finalize(s->lay_put);
	s->poll = s->lay_get = s->lay_put = NULL;
	s->n_lay = 0;
}

/* ---- a poll's layout ------------------------------------------------------ */

static bool same_layout(const struct hlayout *l, const struct rec_poll *p)
{
	if (l->n != p->n || strncmp(l->outlet, p->outlet, sizeof(l->outlet)) != 0 ||
	    strncmp(l->sensor, p->sensor, sizeof(l->sensor)) != 0)
		return false;
	for (int k = 0; k < p->n; k++)
		if (l->params[k] != p->values[k].param)
			return false;
	return true;
}

static void bind_name(sqlite3_stmt *q, int col, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == 0)
		sqlite3_bind_null(q, col);
	else
		sqlite3_bind_text(q, col, s, (int)n, SQLITE_TRANSIENT);
}

/* "cod,ph,nh3n": the key of a layout beside outlet and sensor. */
static void params_key(const struct rec_poll *p, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int k = 0; k < p->n; k++)
		put(out, cap, &n, "%s%s", k ? "," : "", param_name(p->values[k].param));
}

/* The layout's id from the table, inserted if new; SQLite rc. */
static int layout_row(struct hstore *s, const struct rec_poll *p, int64_t *id)
{
	char key[SLOTS * 24];
	int rc;

	params_key(p, key, sizeof(key));
	for (int pass = 0; pass < 2; pass++) {
		sqlite3_stmt *q = pass ? s->lay_put : s->lay_get;

		sqlite3_clear_bindings(q);
		bind_name(q, 1, p->outlet, sizeof(p->outlet));
		bind_name(q, 2, p->sensor, sizeof(p->sensor));
		sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
		if (pass)
			sqlite3_bind_int(q, 4, p->n);
		for (int k = 0; pass && k < p->n; k++)
			sqlite3_bind_text(q, 5 + k, param_name(p->values[k].param), -1,
					  SQLITE_STATIC);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			*id = sqlite3_column_int64(q, 0);
		else if (rc == SQLITE_DONE && pass)
			*id = sqlite3_last_insert_rowid(s->db);
		sqlite3_reset(q);
		if (rc == SQLITE_ROW || (pass && rc == SQLITE_DONE))
			return SQLITE_OK;
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_ERROR;
}

/* The layout id for p: from the cache, else the table (then cached). */
static int layout_id(struct hstore *s, const struct rec_poll *p, int64_t *id)
{
	struct hlayout *l;
	int rc;

	for (int i = 0; i < s->n_lay; i++)
		if (same_layout(&s->lay[i], p)) {
			*id = s->lay[i].id;
			return SQLITE_OK;
		}
	rc = layout_row(s, p, id);
	if (rc != SQLITE_OK)
		return rc;
	l = &s->lay[s->n_lay < HIST_LAYOUTS ? s->n_lay++ : (int)(s->lay_next++ % HIST_LAYOUTS)];
	memset(l, 0, sizeof(*l));
	l->id = *id;
	memcpy(l->outlet, p->outlet, sizeof(l->outlet));
	memcpy(l->sensor, p->sensor, sizeof(l->sensor));
	l->n = p->n;
	for (int k = 0; k < p->n; k++)
		l->params[k] = p->values[k].param;
	return SQLITE_OK;
}

int hlayout_insert_poll(struct hstore *s, const struct record *r)
{
	const struct rec_poll *p = &r->u.poll;
	sqlite3_stmt *q;
	int64_t id;
	int rc;

	if (p->n > SLOTS)
		return SQLITE_RANGE;
	rc = layout_id(s, p, &id);
	if (rc == SQLITE_OK && p->n > s->width)
		rc = widen(s, p->n);
	if (rc != SQLITE_OK)
		return rc;
	q = s->poll; /* after widen(), which prepares it anew */
	sqlite3_clear_bindings(q);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, r->ts_ms);
	sqlite3_bind_int64(q, 3, (int64_t)r->seq);
	for (int k = 0; k < p->n; k++) {
		const struct rec_value *v = &p->values[k];

		if (v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE)
			sqlite3_bind_double(q, 4 + 2 * k, v->v); /* NaN is stored as NULL */
		sqlite3_bind_int(q, 5 + 2 * k, v->quality + 16 * v->flags);
	}
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc;
}
