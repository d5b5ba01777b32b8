/*
 * history.c - the local history as a sink (history.h): the loop glue and
 * the transactions. The file and its rows are store.c's, what is deleted
 * and when is retention.c's.
 *
 * The outbox is the buffer. The sink reads nothing between transactions:
 * the records wait on disk, fdatasync'ed, under its cursor, so the history
 * costs no RAM per record however long commit_s is. Every commit_s it
 * reads what waits (alerts first, as the outbox hands them out), inserts
 * the rows of each record (INSERT OR IGNORE, keyed by seq), COMMITs, and
 * only then acks the last seq of each stream in the outbox. A failed
 * transaction is rolled back and the outbox rewound, so the same records
 * come again at the retry; a power cut between COMMIT and the cursor write
 * replays rows that are then ignored. Metrics records are read and acked,
 * not stored.
 *
 * Blocking bound: one transaction holds at most HIST_PASS_RECS (1024)
 * records - a few thousand rows, about 10-40 ms on a Pi with its SD card
 * including the fsyncs of synchronous=FULL and a WAL checkpoint of at most
 * 1 MiB; a bigger backlog (after a restart, or commit_s of an hour at a
 * fast poll rate) is written 1024 records per loop pass. Retention deletes
 * at most HIST_RETAIN_PASS rows per pass, in transactions of
 * HIST_RETAIN_CHUNK. A reader (outfallctl report) never blocks the writer
 * in WAL mode; a lock held by something else is waited for 50 ms at most,
 * then the pass is retried later. flush() commits what waits, pass after
 * pass, within its budget.
 *
 * RAM: SQLite's page cache is capped at 512 KiB (store.c); a transaction
 * larger than that spills to the WAL before its COMMIT.
 */
#include "history.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "base/clock.h"
#include "outbox/outbox.h"

#define HIST_RETRY_MIN_MS 10000 /* after a failed transaction or open */

static const struct sink_ops history_ops;

static void hist_note_error(struct hist *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hist_note_error(struct hist *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->last_error, sizeof(h->last_error), fmt, ap); /* cut is fine */
	va_end(ap);
	h->last_error_wall_ms = h->wall();
}

static int64_t hist_retry_ms(const struct hist *h)
{
	int64_t c = (int64_t)h->cfg.commit_s * 1000;

	return c > HIST_RETRY_MIN_MS ? c : HIST_RETRY_MIN_MS;
}

/* The transaction failed with rc: undo it, give the records back to the
 * outbox, set a damaged file aside, try again later. */
static void hist_failed(struct hist *h, int rc, int64_t now_ms)
{
	h->stats.errors++;
	if (h->st.db)
		hstore_exec(&h->st, HS_ROLLBACK); /* fails harmlessly if none is open */
	outbox_rewind(h->ob, h->idx);
	hist_note_error(h, "history: write to %s failed: %s", h->st.path, sqlite3_errstr(rc));
	if (hstore_damaged(rc) && hstore_set_aside(&h->st, rc) == SQLITE_OK) {
		h->commit_ms = now_ms; /* write what waits into the fresh file at once */
		h->next_retry_ms = 0;
		return;
	}
	complain(&h->c_write, now_ms, LOG_ERR, "%s; the records wait in the outbox",
		 h->last_error);
	h->next_retry_ms = now_ms + hist_retry_ms(h);
	h->commit_ms = h->next_retry_ms;
}

/* The store is closed (a damaged file that could not be set aside, or an
 * open that failed): try again. */
static bool hist_reopen(struct hist *h, int64_t now_ms)
{
	int rc;

	if (h->st.db)
		return true;
	rc = hstore_open(&h->st, h->st.dir, h->st.gateway);
	if (rc == SQLITE_OK) {
		complain_recovered(&h->c_write, "history: %s open again", h->st.path);
		return true;
	}
	hist_note_error(h, "history: cannot open %s: %s", h->st.path, sqlite3_errstr(rc));
	h->next_retry_ms = now_ms + hist_retry_ms(h);
	h->commit_ms = h->next_retry_ms;
	return false;
}

/* One transaction of at most HIST_PASS_RECS records. */
static void hist_pass(struct hist *h, int64_t now_ms)
{
	const struct record *r;
	uint64_t tel = 0, evt = 0;
	int n = 0, rc;

	h->more = false;
	h->commit_ms = now_ms + (int64_t)h->cfg.commit_s * 1000;
	if (outbox_unsent(h->ob, h->idx) == 0 || !hist_reopen(h, now_ms))
		return;
	rc = hstore_exec(&h->st, HS_BEGIN);
	while (rc == SQLITE_OK && n < HIST_PASS_RECS && (r = outbox_next(h->ob, h->idx))) {
		rc = hstore_insert(&h->st, r);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		*(rec_is_event(r->type) ? &evt : &tel) = r->seq;
		n++;
	}
	if (rc == SQLITE_OK)
		rc = hstore_exec(&h->st, HS_COMMIT);
	if (rc != SQLITE_OK) {
		hist_failed(h, rc, now_ms);
		return;
	}
	if (tel)
		outbox_ack(h->ob, h->idx, tel);
	if (evt)
		outbox_ack(h->ob, h->idx, evt);
	h->stats.sent += (uint64_t)n;
	h->next_retry_ms = 0;
	complain_recovered(&h->c_write, "history: writing to %s again", h->st.path);
	h->more = n == HIST_PASS_RECS;
	if (h->more)
		h->commit_ms = now_ms;
}

static void hist_retention(struct hist *h, int64_t now_ms)
{
	int rc;

	if (!h->st.db || (!h->retain_more && now_ms < h->retain_ms))
		return;
	h->retain_ms = now_ms + HIST_RETAIN_EVERY_MS;
	rc = hist_retain(h);
	if (rc == SQLITE_OK)
		return;
	h->retain_more = false;
	h->stats.errors++;
	hist_note_error(h, "history: retention in %s failed: %s", h->st.path,
			sqlite3_errstr(rc));
	complain(&h->c_write, now_ms, LOG_ERR, "%s", h->last_error);
	if (hstore_damaged(rc))
		hstore_set_aside(&h->st, rc);
}

/* ---- sink_ops ------------------------------------------------------------- */

static int hist_pollfds(void *impl, struct pollfd *pfds, int max)
{
	(void)impl;
	(void)pfds;
	(void)max;
	return 0;
}

static int64_t hist_next_ms(void *impl, int64_t now_ms)
{
	struct hist *h = impl;

	if (h->retain_more)
		return now_ms;
	return h->commit_ms;
}

static void hist_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	struct hist *h = impl;

	(void)pfds;
	(void)n;
	if (now_ms >= h->commit_ms)
		hist_pass(h, now_ms);
	else if (h->retain_more)
		hist_retention(h, now_ms);
	else
		return;
	if (!h->more)
		hist_retention(h, now_ms);
}

static void hist_flush(void *impl, int64_t budget_ms)
{
	struct hist *h = impl;
	int64_t start = clock_mono_ms(), now = start;

	do {
		hist_pass(h, now);
		now = clock_mono_ms();
	} while (h->more && now - start < budget_ms);
}

static void hist_get_stats(void *impl, struct sink_stats *out)
{
	struct hist *h = impl;

	*out = h->stats;
}

static void hist_get_health(void *impl, struct sink_health *out)
{
	struct hist *h = impl;

	memset(out, 0, sizeof(*out));
	memcpy(out->last_error, h->last_error, sizeof(out->last_error));
	out->last_error_wall_ms = h->last_error_wall_ms;
	out->next_retry_ms = h->next_retry_ms;
}

static bool hist_files_changed(void *impl)
{
	(void)impl;
	return false; /* no secret files */
}

static void hist_free(void *impl)
{
	struct hist *h = impl;

	if (!h)
		return;
	hstore_close(&h->st);
	free(h);
}

static const struct sink_ops history_ops = {
	.name = "history",
	.pollfds = hist_pollfds,
	.next_ms = hist_next_ms,
	.dispatch = hist_dispatch,
	.flush = hist_flush,
	.get_stats = hist_get_stats,
	.get_health = hist_get_health,
	.files_changed = hist_files_changed,
	.free = hist_free,
};

int sink_history_new(const struct cfg_history *cfg, const char *gateway_id,
		     struct outbox *ob, int sink_idx, struct sink *out)
{
	struct hist *h;
	int64_t now = clock_mono_ms();

	if (!cfg || !cfg->dir || !ob || cfg->commit_s < 1) {
		log_err("history: no directory or commit interval configured");
		return -1;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		log_err("history: out of memory");
		return -1;
	}
	h->ob = ob;
	h->idx = sink_idx;
	h->cfg = *cfg;
	h->wall = clock_wall_ms;
	h->max_bytes = (int64_t)cfg->max_mb << 20;
	if (hstore_open(&h->st, cfg->dir, gateway_id) != SQLITE_OK) {
		free(h);
		return -1;
	}
	h->cfg.dir = h->st.dir;
	outbox_rewind(ob, sink_idx); /* what a previous sink read but did not commit */
	h->commit_ms = now + (int64_t)cfg->commit_s * 1000;
	h->retain_ms = now;
	log_info("history: %s, a transaction every %d s, readings kept %d days, aggregates "
		 "and alerts %d days, at most %d MiB", h->st.path, cfg->commit_s, cfg->raw_days,
		 cfg->aggregate_days, cfg->max_mb);
	*out = (struct sink){ .ops = &history_ops, .impl = h };
	return 0;
}

/* ---- test hooks ----------------------------------------------------------- */

void sink_history_set_clock(struct sink *sk, int64_t (*wall_ms)(void))
{
	((struct hist *)sk->impl)->wall = wall_ms;
}

void sink_history_set_max_bytes(struct sink *sk, int64_t max_bytes)
{
	((struct hist *)sk->impl)->max_bytes = max_bytes;
}

int sink_history_retain_now(struct sink *sk)
{
	struct hist *h = sk->impl;
	int rc;

	do
		rc = hist_retain(h);
	while (rc == SQLITE_OK && h->retain_more);
	return rc;
}

int64_t sink_history_meta(struct sink *sk, const char *key)
{
	return hstore_meta_get(&((struct hist *)sk->impl)->st, key);
}
