/*
 * batch.c - what the InfluxDB sink sends and what it makes of
 * the answer: building a batch from the outbox, judging the HTTP status,
 * splitting refused batches down to the records the server will not take,
 * and acknowledging records in the outbox in the order they were handed out.
 *
 * Splitting. A 400/422 says some point in the request is bad for good; a 413
 * that the request is too large. Either way the range of records the request
 * carried is halved: the left half is sent next and the right half waits on
 * a stack until the left one is resolved (depth first, left to right), so
 * records are always resolved - delivered or quarantined - and acked in
 * order, and a crash mid-split resends from the first unresolved record.
 * A record is quarantined only when the server refused it alone. When the
 * left half of a refused range turns out clean, the right half must hold the
 * bad point and is split at once instead of being sent whole.
 *
 * Retries. A retryable failure (network, 5xx, 429, 401/403/404) before any
 * split gives the batch back to the outbox (rewind) and builds it again when
 * the backoff is over, so alerts that came meanwhile go first; once a batch
 * is being split, it is kept as it is and the same range is sent again, so
 * a split survives any outage without losing or repeating its progress.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "base/clock.h"
#include "outbox/outbox.h"

void influx_batch_reset(struct influx *s)
{
	struct influx_batch *b = &s->b;

	s->body.len = 0;
	s->body.data[0] = '\0';
	b->n = 0;
	b->points = 0;
	b->alerts = 0;
	b->committed = false;
	b->done = 0;
	b->hi = 0;
	b->depth = 0;
	b->quarantined = 0;
}

/* Where the lines of record i start; i == n gives the end of the body. */
static size_t influx_off(const struct influx *s, int i)
{
	return i < s->b.n ? s->b.recs[i].off : s->body.len;
}

static int influx_points(const struct influx_batch *b, int from, int to)
{
	int n = 0;

	for (int i = from; i < to; i++)
		n += b->recs[i].points;
	return n;
}

/* Once a split has begun, the batch must be kept across retries. */
static bool influx_splitting(const struct influx_batch *b)
{
	return b->committed && (b->done > 0 || b->depth > 0);
}

static void influx_push(struct influx *s, const struct record *r, size_t off, int points,
			uint8_t flags)
{
	struct influx_batch *b = &s->b;

	if (rec_is_event(r->type)) {
		flags |= INFLUX_REC_ALERT;
		b->alerts++;
	}
	b->recs[b->n++] = (struct influx_rec){
		.seq = r->seq, .off = (uint32_t)off, .points = (uint8_t)points, .flags = flags,
	};
	b->points += points;
}

/* One line per quarantined record, as long as they are few. */
static void __attribute__((format(printf, 2, 3)))
influx_log_quarantine(struct influx *s, const char *fmt, ...)
{
	char msg[INFLUX_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut log line is acceptable */
	va_end(ap);
	influx_note_error(s, msg);
	if (s->now_ms - s->qlog_since_ms >= INFLUX_QLOG_WINDOW_MS) {
		s->qlog_since_ms = s->now_ms;
		s->qlog_n = 0;
	}
	if (s->qlog_n < INFLUX_QLOG_BURST) {
		s->qlog_n++;
		log_err("%s", msg);
	} else {
		complain(&s->c_reject, s->now_ms, LOG_ERR, "%s", msg);
	}
}

/* A record that cannot be encoded even alone (a damaged record replayed
 * from disk): it has no lines to send or quarantine, so it is logged now
 * and counted as quarantined when its turn to be acked comes. */
static void influx_unencodable(struct influx *s, const struct record *r, int err)
{
	influx_log_quarantine(s, "influx: record seq %llu cannot be encoded (%s), quarantined",
			      (unsigned long long)r->seq, strerror(-err));
	influx_push(s, r, s->body.len, 0, INFLUX_REC_UNENCODABLE);
}

/* Encodes r into the batch, or keeps it pending when the batch is full. */
static void influx_add(struct influx *s, const struct record *r)
{
	size_t len = s->body.len;
	int n = lp_append_record(&s->body, s->gateway, r);

	if (n >= 0 && (s->b.points == 0 || s->b.points + n <= s->batch_limit)) {
		influx_push(s, r, len, n, 0);
		return;
	}
	if (n >= 0) { /* over the point limit: take it out again */
		s->body.len = len;
		s->body.data[len] = '\0';
	} else if (n != -ENOSPC || s->b.points == 0) {
		influx_unencodable(s, r, n);
		return;
	}
	if (r != &s->pending)
		s->pending = *r;
	s->has_pending = true;
}

bool influx_batch_full(const struct influx *s)
{
	return s->has_pending || s->b.points >= s->batch_limit || s->b.n >= INFLUX_BATCH_RECS;
}

void influx_batch_fill(struct influx *s)
{
	const struct record *r;

	if (s->b.committed)
		return;
	if (s->has_pending && s->b.points == 0 && s->b.n < INFLUX_BATCH_RECS) {
		s->has_pending = false;
		influx_add(s, &s->pending);
	}
	while (!influx_batch_full(s) && (r = outbox_next(s->ob, s->idx)))
		influx_add(s, r);
}

void influx_batch_commit(struct influx *s)
{
	s->b.committed = true;
	s->b.done = 0;
	s->b.hi = s->b.n;
	s->b.depth = 0;
}

/*
 * Records [from, to) are settled: acked in the outbox and counted. Per
 * outbox.h an alert is acked by its own seq and telemetry by the last seq
 * of the run (it covers the telemetry handed out before it); the outbox
 * handed these out in this order, and everything before from is settled.
 */
static void influx_resolve(struct influx *s, int from, int to, bool delivered)
{
	uint64_t last_tel = 0;

	for (int i = from; i < to; i++) {
		const struct influx_rec *r = &s->b.recs[i];

		if (r->flags & INFLUX_REC_ALERT)
			outbox_ack(s->ob, s->idx, r->seq);
		else
			last_tel = r->seq;
		if (delivered && !(r->flags & INFLUX_REC_UNENCODABLE))
			s->stats.sent++;
		else
			s->stats.quarantined++;
	}
	if (last_tel)
		outbox_ack(s->ob, s->idx, last_tel);
}

/* The current range [done, hi) of at least 2 records is halved; infer says
 * whether a clean left half would prove the right one bad (a 400, not a
 * 413). */
static void influx_split(struct influx *s, bool infer)
{
	struct influx_batch *b = &s->b;

	b->stack[b->depth++] = (struct influx_split){
		.hi = b->hi, .mark = infer ? b->quarantined : -1,
	};
	b->hi = b->done + (b->hi - b->done) / 2;
}

/* After the range [.., hi) was resolved: on to the next one, or the batch
 * is complete. A right half whose left sibling was clean is split without
 * sending it whole; a single record is always sent on its own. */
static void influx_advance(struct influx *s)
{
	struct influx_batch *b = &s->b;

	while (b->done == b->hi) {
		if (b->depth == 0) {
			influx_batch_reset(s);
			return;
		}
		b->depth--;
		b->hi = b->stack[b->depth].hi;
		if (b->stack[b->depth].mark == b->quarantined && b->hi - b->done > 1)
			influx_split(s, true);
	}
}

static void influx_delivered(struct influx *s)
{
	influx_resolve(s, s->b.done, s->b.hi, true);
	s->b.done = s->b.hi;
	influx_advance(s);
}

bool influx_batch_range(struct influx *s, const char **data, size_t *len)
{
	while (s->b.committed) {
		size_t from = influx_off(s, s->b.done);
		size_t to = influx_off(s, s->b.hi);

		if (to > from) {
			*data = s->body.data + from;
			*len = to - from;
			return true;
		}
		/* polls without values, unencodable records: nothing to send */
		influx_delivered(s);
	}
	return false;
}

/* Logs a retryable failure through the complaint: at once when the reason
 * changed, then at a growing interval - never a line per attempt. */
static void influx_vcomplain(struct influx *s, enum influx_fail why, int level, const char *fmt,
			     va_list ap)
{
	char msg[INFLUX_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut log line is acceptable */
	influx_note_error(s, msg);
	if (why != s->last_fail)
		memset(&s->c_write, 0, sizeof(s->c_write));
	s->last_fail = why;
	complain(&s->c_write, s->now_ms, level, "%s", msg);
}

void influx_fail(struct influx *s, enum influx_fail why, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	influx_vcomplain(s, why, level, fmt, ap);
	va_end(ap);
	s->stats.errors++;
	if (s->lim_in_flight) {
		/* the request carried the permits' limit lines, not the batch,
		 * which stays as it is */
		influx_limits_failed(s);
	} else {
		if (s->b.committed)
			s->stats.retried += (uint64_t)(s->b.hi - s->b.done);
		if (!influx_splitting(&s->b)) {
			outbox_rewind(s->ob, s->idx);
			s->has_pending = false;
			influx_batch_reset(s);
		}
	}
	influx_schedule_retry(s, why != FAIL_NET);
}

static void influx_ok(struct influx *s)
{
	influx_delivered(s);
	s->backoff_ms = s->backoff_min_ms;
	s->last_fail = FAIL_NONE;
	complain_recovered(&s->c_write, "influx: writes to %s succeed again", s->where);
}

/* The server refused the one record [done, done + 1) for good: its lines
 * go to the dead-letter file, then it is acked like a delivered one. If the
 * file cannot be written the record is kept and tried again later. */
static void influx_quarantine(struct influx *s, long code)
{
	struct influx_batch *b = &s->b;
	unsigned long long seq = b->recs[b->done].seq;
	size_t from = influx_off(s, b->done);
	int rc = influx_dl_append(&s->dl, clock_wall_ms(), code, s->resp, s->resp_len,
				  s->body.data + from, influx_off(s, b->done + 1) - from);

	if (rc < 0) {
		influx_fail(s, FAIL_DEADLETTER, LOG_ERR,
			    "influx: %s refused record seq %llu (HTTP %ld) and it cannot be "
			    "quarantined: %s/%s: %s; keeping it and retrying", s->where, seq, code,
			    s->dl.dir, INFLUX_DL_NAME, strerror(-rc));
		return;
	}
	s->stats.errors++;
	if (s->last_fail == FAIL_DEADLETTER) {
		s->last_fail = FAIL_NONE;
		complain_recovered(&s->c_write, "influx: %s/%s is written again", s->dl.dir,
				   INFLUX_DL_NAME);
	}
	influx_log_quarantine(s, "influx: %s refused record seq %llu (HTTP %ld): %s; "
			      "quarantined to %s/%s", s->where, seq, code, influx_resp_text(s),
			      s->dl.dir, INFLUX_DL_NAME);
	influx_resolve(s, b->done, b->done + 1, false);
	b->quarantined++;
	b->done++;
	influx_advance(s);
}

/* A refused batch being split: kept as the last error, logged rate-limited. */
static void __attribute__((format(printf, 2, 3)))
influx_split_complain(struct influx *s, const char *fmt, ...)
{
	char msg[INFLUX_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut log line is acceptable */
	va_end(ap);
	influx_note_error(s, msg);
	complain(&s->c_split, s->now_ms, LOG_WARNING, "%s", msg);
}

/* 400/422: bad points (syntax, type conflict, outside retention). */
static void influx_refused(struct influx *s, long code)
{
	int n = s->b.hi - s->b.done;

	s->backoff_ms = s->backoff_min_ms; /* the server is there and answering */
	if (n == 1) {
		influx_quarantine(s, code);
		return;
	}
	s->stats.errors++;
	s->stats.retried += (uint64_t)n;
	influx_split_complain(s, "influx: %s refused %d records (HTTP %ld): %s; splitting them "
			      "to find the bad points", s->where, n, code, influx_resp_text(s));
	influx_split(s, true);
}

/* 413: this range in halves, and smaller batches from now on (a proxy's
 * body limit does not go away); a single record is kept and retried. */
static void influx_too_big(struct influx *s)
{
	struct influx_batch *b = &s->b;
	int n = b->hi - b->done;
	int points = influx_points(b, b->done, b->hi);

	if (points / 2 < s->batch_limit)
		s->batch_limit = points / 2 > 0 ? points / 2 : 1;
	if (n == 1) {
		influx_fail(s, FAIL_TOOBIG, LOG_ERR,
			    "influx: %s refuses even a single record (%d points) as too large "
			    "(HTTP 413): %s; keeping the data and retrying", s->where, points,
			    influx_resp_text(s));
		return;
	}
	s->stats.errors++;
	s->stats.retried += (uint64_t)n;
	s->backoff_ms = s->backoff_min_ms;
	influx_split_complain(s, "influx: %s: request too large (HTTP 413, %d points, %zu bytes); "
			      "sending at most %d points per request", s->where, points,
			      influx_off(s, b->hi) - influx_off(s, b->done), s->batch_limit);
	influx_split(s, false);
}

void influx_judge(struct influx *s, long code)
{
	if (code >= 200 && code < 300) {
		influx_ok(s);
	} else if (code == 400 || code == 422) {
		influx_refused(s, code);
	} else if (code == 404) {
		influx_fail(s, FAIL_NODB, LOG_ERR, "%s", s->nodb_msg);
	} else if (code == 401 || code == 403) {
		influx_fail(s, FAIL_AUTH, LOG_ERR,
			    "influx: %s refused the credentials (HTTP %ld): %s; check "
			    "username/password_file or token_file - keeping the data and retrying",
			    s->where, code, influx_resp_text(s));
	} else if (code == 413) {
		influx_too_big(s);
	} else {
		/* 429, 5xx and anything unexpected: keep the data, back off */
		influx_fail(s, FAIL_SERVER, LOG_WARNING,
			    "influx: write to %s failed (HTTP %ld): %s; retrying", s->where, code,
			    influx_resp_text(s));
	}
}
