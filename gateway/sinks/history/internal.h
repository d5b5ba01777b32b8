/*
 * internal.h - what the files of the local history share: the store
 * (store.c: opening, the schema, setting a corrupt file aside, inserting
 * one record), the sink's state (history.c), retention (retention.c).
 * The read side (query.c) needs only sqlite3 and history.h. Not part of
 * the history's API; tests include it for the hooks at the end.
 */
#ifndef OUTFALL_SINK_HISTORY_INTERNAL_H
#define OUTFALL_SINK_HISTORY_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/record.h"
#include "config/config.h"
#include "sinks/sink.h"

#define HIST_SCHEMA "2"  /* 2: readings as one row per poll (layout.c) */
#define HIST_LAYOUTS 32  /* poll layouts cached by the store */
#define HIST_PAGE_BYTES 4096
#define HIST_BUSY_MS 50        /* a reader's lock never holds the loop longer */
#define HIST_PASS_RECS 1024    /* records in one transaction (one loop pass) */
#define HIST_RETAIN_EVERY_MS 60000
#define HIST_RETAIN_CHUNK 2000 /* rows per DELETE */
#define HIST_RETAIN_PASS 20000 /* rows deleted in one loop pass at most */
#define HIST_PATH_MAX 4096

/* The open store. Statements are prepared once, at open. */
enum hist_stmt {
	HS_BEGIN, HS_COMMIT, HS_ROLLBACK,
	HS_AGGREGATE, HS_ALERT, HS_MAINT, HS_RELOAD,
	HS_META_GET, HS_META_PUT,
	HS_COUNT
};

/* One sensor's poll layout: which parameter each slot holds. */
struct hlayout {
	int64_t id;
	char outlet[REC_NAME];
	char sensor[REC_NAME];
	uint8_t n;
	uint8_t params[REC_MAX_VALUES];
};

struct hstore {
	sqlite3 *db;                  /* NULL when closed */
	char path[HIST_PATH_MAX];     /* dir/HISTORY_FILE */
	char dir[HIST_PATH_MAX];
	char gateway[REC_NAME * 2];   /* meta gateway */
	sqlite3_stmt *st[HS_COUNT];
	sqlite3_stmt *poll;           /* layout.c's statements */
	sqlite3_stmt *lay_get;
	sqlite3_stmt *lay_put;
	struct hlayout lay[HIST_LAYOUTS];
	int n_lay;
	int width;                    /* slots poll has (columns v0/q0 ..) */
	unsigned lay_next;            /* the cache slot replaced next when full */
	uint64_t set_aside;           /* corrupt stores renamed aside since made */
};

/* layout.c */
/* Creates the poll and layout tables and the reading view if missing and
 * prepares their statements. SQLite rc. */
int hlayout_open(struct hstore *s);
void hlayout_close(struct hstore *s);
/* The row of one poll record (INSERT OR IGNORE by seq): SQLITE_DONE or an
 * error rc. */
int hlayout_insert_poll(struct hstore *s, const struct record *r);

/* store.c */
/* Opens (creating) dir/HISTORY_FILE with the pragmas and the schema; a
 * file SQLite calls corrupt or not a database is set aside and a fresh one
 * made. 0, or an SQLite error code (logged). */
int hstore_open(struct hstore *s, const char *dir, const char *gateway_id);
void hstore_close(struct hstore *s);
/* rc says the file is damaged: SQLITE_CORRUPT or SQLITE_NOTADB. */
bool hstore_damaged(int rc);
/* Closes the store, renames it (and -wal, -shm) to
 * HISTORY_FILE.corrupt-<unix s>, logs why and opens a fresh one. 0 or an
 * SQLite error code. */
int hstore_set_aside(struct hstore *s, int why_rc);
/* Runs statement i once (BEGIN, COMMIT, ROLLBACK). SQLite rc. */
int hstore_exec(struct hstore *s, enum hist_stmt i);
/* The rows of one record (INSERT OR IGNORE). SQLITE_DONE or an error rc;
 * REC_METRICS and unknown types: SQLITE_DONE, nothing written. */
int hstore_insert(struct hstore *s, const struct record *r);
int64_t hstore_meta_get(struct hstore *s, const char *key);
/* Adds n to the count stored under key. SQLite rc (SQLITE_DONE is ok). */
int hstore_meta_add(struct hstore *s, const char *key, int64_t n);
/* Bytes in use: (page_count - freelist_count) * page_size, -1 on error. */
int64_t hstore_used_bytes(struct hstore *s);

/* The sink. */
struct hist {
	struct outbox *ob;      /* borrowed */
	int idx;                /* our sink index */
	struct cfg_history cfg; /* copied; cfg.dir points at st.dir */
	struct hstore st;
	int64_t commit_ms;      /* mono ms of the next transaction */
	int64_t retain_ms;      /* mono ms retention is due next */
	bool retain_more;       /* the last pass stopped at its budget */
	bool more;              /* the last transaction stopped at its cap */
	int64_t (*wall)(void);  /* wall clock, injectable */
	int64_t max_bytes;      /* the size cap, max_mb unless a test set it */
	struct complaint c_write;
	char last_error[SINK_ERROR_MAX];
	int64_t last_error_wall_ms;
	int64_t next_retry_ms;
	struct sink_stats stats;
};

/* retention.c: deletes what is past its age or over the cap, at most
 * HIST_RETAIN_PASS rows per call, in its own transactions. Sets
 * h->retain_more when it stopped at the budget. SQLite rc. */
int hist_retain(struct hist *h);

/* ---- test hooks ----------------------------------------------------------- */

/* sk must come from sink_history_new(). */
void sink_history_set_clock(struct sink *sk, int64_t (*wall_ms)(void));
void sink_history_set_max_bytes(struct sink *sk, int64_t max_bytes);
/* Runs retention now, whole (as many passes as it takes). SQLite rc. */
int sink_history_retain_now(struct sink *sk);
/* Counters from meta: dropped_raw, expired_raw, ... */
int64_t sink_history_meta(struct sink *sk, const char *key);

#endif
