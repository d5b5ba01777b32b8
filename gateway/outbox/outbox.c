/*
 * outbox.c - the durable outbox (see outbox.h): appends with the disk cap,
 * per-sink positions on the two streams, acks, cursor files, and the timed
 * work of outbox_tick. Opening, replay and close are in open.c; the files
 * themselves are handled by segment.c.
 *
 * A sink's position on a stream is a (segment, offset) pair plus an ordinal
 * used only for counts; acks are found by re-reading the frames between the
 * ack and read positions through a second bounded reader, so no per-record
 * state is kept in memory however long the backlog.
 */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "base/log.h"

static uint64_t disk_bytes(const struct outbox *ob)
{
	return ob->st[OBX_TEL].bytes + ob->st[OBX_ALR].bytes + ob->st[OBX_TEL].wlen +
	       ob->st[OBX_ALR].wlen;
}

static void gap_add(struct outbox *ob, uint64_t first_seq, uint64_t last_seq, int64_t t0,
		    int64_t t1, uint64_t n)
{
	struct outbox_gap *g = &ob->gap;

	if (n == 0)
		return;
	if (g->records == 0) {
		*g = (struct outbox_gap){ .first_ts_ms = t0, .last_ts_ms = t1 };
	} else {
		if (t0 < g->first_ts_ms)
			g->first_ts_ms = t0;
		if (t1 > g->last_ts_ms)
			g->last_ts_ms = t1;
	}
	if (first_seq && (!g->first_seq || first_seq < g->first_seq))
		g->first_seq = first_seq;
	if (last_seq > g->last_seq)
		g->last_seq = last_seq;
	g->records += n;
}

/* ---- cursor files ---- */

static int persist_cursors(struct outbox *ob, int64_t now)
{
	int rc = 0;

	ob->cursor_ms = now;
	for (int s = 0; s < ob->n_sinks && rc == 0; s++) {
		struct obx_sink *sk = &ob->sinks[s];
		uint64_t ack[OBX_NKINDS] = { sk->ack[OBX_TEL].seq, sk->ack[OBX_ALR].seq };

		if (!sk->dirty)
			continue;
		rc = obx_cursor_write(ob->dirfd, ob->names[s], ack);
		if (rc == 0) {
			sk->dirty = false;
			ob->stats.cursor_writes++;
		}
	}
	if (rc < 0) {
		ob->stats.io_errors++;
		complain(&ob->c_cursor, now, LOG_ERR, "outbox: writing a cursor file: %s",
			 strerror(-rc));
	} else {
		complain_recovered(&ob->c_cursor, "outbox: cursor files written again");
	}
	return rc;
}

/* ---- opening ---- */

/* The position just past every record with seq <= ack_seq. */
/* A sound cursor past the newest record means acknowledged records went
 * missing from disk (a damaged tail): their seqs must not be issued again. */

static void forget_oldest(struct outbox *ob, int kind, bool dropping);

int obx_enforce_cap(struct outbox *ob, int kind, size_t extra)
{
	while (disk_bytes(ob) + extra > ob->max_backlog && ob->st[OBX_TEL].n_segs > 1)
		forget_oldest(ob, OBX_TEL, true);
	if (kind == OBX_TEL && disk_bytes(ob) + extra > ob->max_backlog)
		return -ENOSPC;
	return 0;
}

/* Sink names from opts (or the indexes); -EINVAL for a bad or repeated one. */
/* ---- segments leaving ---- */

/* Records of the oldest segment sg that this ack position has not passed. */
static uint64_t unacked_in(const struct obx_seg *sg, const struct obx_pos *ack)
{
	if (ack->seg != sg->first_seq)
		return ack->seg < sg->first_seq ? sg->n : 0;
	if (ack->ord <= sg->base_ord)
		return sg->n;
	return ack->ord - sg->base_ord >= sg->n ? 0 : sg->base_ord + sg->n - ack->ord;
}

/* A position in the leaving segment moves to the start of the next one. */
static bool move_off(struct obx_pos *p, const struct obx_seg *sg, const struct obx_seg *nx)
{
	if (p->seg != sg->first_seq)
		return false;
	*p = (struct obx_pos){ .seg = nx->first_seq, .off = 0, .ord = nx->base_ord,
			       .seq = p->seq > sg->last_seq ? p->seq : sg->last_seq };
	return true;
}

/* Removes the oldest segment of a stream; when dropping (the disk cap), the
 * records some sink had not acked are counted and reported as a gap. */
static void forget_oldest(struct outbox *ob, int kind, bool dropping)
{
	struct obx_stream *st = &ob->st[kind];
	struct obx_seg sg = st->segs[0];
	uint64_t worst = 0, first = 0;

	for (int s = 0; s < ob->n_sinks; s++) {
		struct obx_sink *sk = &ob->sinks[s];
		uint64_t d = dropping ? unacked_in(&sg, &sk->ack[kind]) : 0;

		if (d) {
			uint64_t from = sk->ack[kind].seg == sg.first_seq && sk->ack[kind].off ?
				sk->ack[kind].seq + 1 : sg.first_seq;

			sk->dropped += d;
			worst = d > worst ? d : worst;
			first = !first || from < first ? from : first;
		}
		move_off(&sk->read[kind], &sg, &st->segs[1]);
		if (move_off(&sk->ack[kind], &sg, &st->segs[1]) && d)
			sk->dirty = true;
		if (sk->rd[kind].seg == sg.first_seq)
			obx_reader_close(&sk->rd[kind]);
		if (sk->ack_rd[kind].seg == sg.first_seq)
			obx_reader_close(&sk->ack_rd[kind]);
	}
	if (worst) {
		log_warn("outbox: disk cap reached: dropped %llu telemetry records (seq %llu-%llu) "
			 "not yet acknowledged", (unsigned long long)worst,
			 (unsigned long long)first, (unsigned long long)sg.last_seq);
		ob->stats.dropped_telemetry += worst;
		gap_add(ob, first, sg.last_seq, sg.min_ts_ms, sg.max_ts_ms, worst);
	}
	obx_stream_remove_oldest(st);
}

static bool all_passed(const struct outbox *ob, int kind)
{
	const struct obx_seg *sg = &ob->st[kind].segs[0];

	for (int s = 0; s < ob->n_sinks; s++) {
		const struct obx_pos *a = &ob->sinks[s].ack[kind];

		if (a->seg < sg->first_seq)
			return false;
		/* past its last record, if not (yet) past the padding after it */
		if (a->seg == sg->first_seq && a->off < sg->size &&
		    (sg->n == 0 || a->seq < sg->last_seq))
			return false;
	}
	return true;
}

static void delete_acked(struct outbox *ob)
{
	for (int k = 0; k < OBX_NKINDS; k++)
		while (ob->st[k].n_segs > 1 && all_passed(ob, k))
			forget_oldest(ob, k, false);
}

/* ---- appending ---- */

static int lost(struct outbox *ob, const struct record *r, int rc, int64_t now)
{
	if (rec_is_event(r->type))
		ob->stats.dropped_alerts++;
	else
		ob->stats.dropped_telemetry++;
	gap_add(ob, 0, 0, r->ts_ms, r->ts_ms, 1);
	complain(&ob->c_append, now, LOG_ERR, "outbox: %s record not stored: %s",
		 rec_is_event(r->type) ? "alert" : "telemetry", strerror(-rc));
	return rc;
}

/* Synced telemetry bytes the slowest sink has not acknowledged. */
static uint64_t unacked_bytes(const struct outbox *ob)
{
	const struct obx_stream *st = &ob->st[OBX_TEL];
	uint64_t most = 0;

	for (int s = 0; s < ob->n_sinks; s++) {
		const struct obx_pos *a = &ob->sinks[s].ack[OBX_TEL];
		uint64_t b = 0;

		for (size_t i = obx_seg_find(st, a->seg); i < st->n_segs; i++) {
			const struct obx_seg *sg = &st->segs[i];

			b += sg->size;
			if (sg->first_seq == a->seg)
				b -= a->off < sg->size ? a->off : sg->size;
		}
		most = b > most ? b : most;
	}
	return most;
}

/* A failed sync is retried fsync_ms later, not on every append. Telemetry
 * is padded to a page while the sinks keep up (opts.pad_backlog_bytes, and
 * at most an eighth of the cap unacked: padding never costs a record). */
static int sync_now(struct outbox *ob, struct obx_stream *st, int64_t now)
{
	int rc;

	st->pad = st->kind == OBX_TEL && ob->pad_backlog && unacked_bytes(ob) <= ob->pad_backlog;
	rc = obx_stream_sync(st);

	if (rc < 0) {
		st->retry_ms = now + ob->fsync_ms;
		st->last_err = rc;
	}
	return rc;
}

/* Rolls over a full segment and makes room in the write buffer; both need
 * a sync first. While syncs fail, telemetry that needs one is refused
 * without touching the disk until the retry is due. */
static int place(struct outbox *ob, struct obx_stream *st, size_t flen, int64_t now)
{
	uint64_t used = st->segs[st->n_segs - 1].size + st->wlen;
	bool roll = used > 0 && used + flen > ob->segment_bytes &&
		    st->n_segs < OUTBOX_MAX_SEGMENTS;
	int rc;

	if (!roll && st->wcap - st->wlen >= flen)
		return 0;
	if (st->kind == OBX_TEL && now < st->retry_ms && st->wlen)
		return st->last_err;
	rc = sync_now(ob, st, now);
	if (rc == 0 && roll)
		rc = obx_stream_roll(st, ob->next_seq);
	return rc;
}

/* Places, writes and (alerts) syncs one sealed frame; -errno on failure,
 * with nothing of it left queued. */
static int store(struct outbox *ob, int kind, const uint8_t *frame, size_t flen, int64_t ts_ms,
		 int64_t now)
{
	struct obx_stream *st = &ob->st[kind];
	int rc = obx_enforce_cap(ob, kind, flen);

	if (rc == 0)
		rc = place(ob, st, flen, now);
	if (rc < 0)
		return rc;
	/* written at once so that a killed process loses nothing; the
	 * fdatasync waits for the batch unless this is an alert */
	obx_stream_put(st, frame, flen, ob->next_seq, ts_ms, now);
	if (kind == OBX_ALR || ob->fsync_ms == 0)
		rc = sync_now(ob, st, now);
	else if (st->sfd >= 0)
		rc = obx_stage_write(st); /* the segment gets the batch at the sync */
	else
		rc = obx_stream_flush(st);
	if (rc < 0)
		obx_stream_unput(st, flen);
	return rc;
}

static int append(struct outbox *ob, const struct record *r, int64_t now_mono_ms,
		  uint64_t *seq_out, bool kept)
{
	uint8_t frame[OBX_FRAME_MAX];
	int n = outbox_codec_encode(r, frame + OBX_HDR, OUTBOX_CODEC_MAX);
	int kind = rec_is_event(r->type) ? OBX_ALR : OBX_TEL;
	size_t flen;
	int rc;

	if (n < 0)
		return n;
	if (ob->next_seq >= OBX_SEQ_LIMIT)
		return lost(ob, r, -EOVERFLOW, now_mono_ms); /* never wraps to 0 */
	ob->now_ms = now_mono_ms;
	flen = OBX_HDR + (size_t)n;
	obx_frame_seal(frame, ob->next_seq, (size_t)n);
	rc = kind == OBX_TEL ? obx_reserve_gate(ob, now_mono_ms) : 0;
	if (rc == 0)
		rc = store(ob, kind, frame, flen, r->ts_ms, now_mono_ms);
	/* a full disk: an alert takes the room kept for it */
	if (rc == -ENOSPC && kind == OBX_ALR && obx_reserve_release(ob)) {
		ob->st[kind].retry_ms = 0;
		rc = store(ob, kind, frame, flen, r->ts_ms, now_mono_ms);
	}
	if (rc < 0 && kept)
		complain(&ob->c_append, now_mono_ms, LOG_ERR, "outbox: alert not stored yet: %s; "
			 "kept in memory and tried again", strerror(-rc));
	if (rc < 0)
		return kept ? rc : lost(ob, r, rc, now_mono_ms);
	complain_recovered(&ob->c_append, "outbox: storing records again");
	ob->stats.appended++;
	ob->stats.payload_bytes += (uint64_t)n;
	if (seq_out)
		*seq_out = ob->next_seq;
	ob->next_seq++;
	return 0;
}

int outbox_append(struct outbox *ob, const struct record *r, int64_t now_mono_ms,
		  uint64_t *seq_out)
{
	return append(ob, r, now_mono_ms, seq_out, false);
}

int outbox_append_kept(struct outbox *ob, const struct record *r, int64_t now_mono_ms,
		       uint64_t *seq_out)
{
	return append(ob, r, now_mono_ms, seq_out, true);
}

/* ---- sinks ---- */

static bool ring_has(const struct obx_sink *sk, uint64_t seq)
{
	for (unsigned i = 0; i < sk->ring_n; i++)
		if (sk->ring[(sk->ring_head + i) % OUTBOX_ALERT_WINDOW] == seq)
			return true;
	return false;
}

static void ring_pop_upto(struct obx_sink *sk, uint64_t seq)
{
	while (sk->ring_n && sk->ring[sk->ring_head] <= seq) {
		sk->ring_head = (sk->ring_head + 1) % OUTBOX_ALERT_WINDOW;
		sk->ring_n--;
	}
}

static const struct record *next_from(struct outbox *ob, struct obx_sink *sk, int kind)
{
	struct obx_frame fr;
	int rc;

	for (;;) {
		rc = obx_read_frame(&ob->st[kind], &sk->rd[kind], &sk->read[kind], &fr,
				    &ob->stats.read_resyncs);
		if (rc <= 0)
			break;
		if (outbox_codec_decode(fr.payload, fr.len, &sk->rec) == 0) {
			sk->rec.seq = fr.seq;
			return &sk->rec;
		}
		/* replay reported it; an ack scan steps over it like any frame */
	}
	if (rc < 0) {
		ob->stats.io_errors++;
		complain(&ob->c_read, ob->now_ms, LOG_ERR, "outbox: reading a segment: %s",
			 strerror(-rc));
	}
	return NULL;
}

const struct record *outbox_next(struct outbox *ob, int sink)
{
	struct obx_sink *sk = &ob->sinks[sink];
	const struct record *r;

	if (sk->ring_n < OUTBOX_ALERT_WINDOW) {
		r = next_from(ob, sk, OBX_ALR);
		if (r) {
			sk->ring[(sk->ring_head + sk->ring_n++) % OUTBOX_ALERT_WINDOW] = r->seq;
			return r;
		}
	}
	return next_from(ob, sk, OBX_TEL);
}

/* Moves the ack position just past the handed-out frame with this seq, if
 * there is one; the frames are re-read through the ack window. */
static bool ack_stream(struct outbox *ob, struct obx_sink *sk, int kind, uint64_t seq)
{
	struct obx_pos pos = sk->ack[kind];
	struct obx_frame fr;
	uint64_t resyncs = 0;

	if (seq <= pos.seq || seq > sk->read[kind].seq)
		return false;
	while (obx_pos_cmp(&pos, &sk->read[kind]) < 0) {
		if (obx_read_frame(&ob->st[kind], &sk->ack_rd[kind], &pos, &fr, &resyncs) <= 0 ||
		    fr.seq > seq || obx_pos_cmp(&pos, &sk->read[kind]) > 0)
			return false;
		if (fr.seq == seq) {
			sk->ack[kind] = pos;
			return true;
		}
	}
	return false;
}

void outbox_ack(struct outbox *ob, int sink, uint64_t seq)
{
	struct obx_sink *sk = &ob->sinks[sink];
	int kind = ring_has(sk, seq) ? OBX_ALR : OBX_TEL;

	if (!ack_stream(ob, sk, kind, seq))
		return;
	if (kind == OBX_ALR)
		ring_pop_upto(sk, seq);
	sk->dirty = true;
}

void outbox_rewind(struct outbox *ob, int sink)
{
	struct obx_sink *sk = &ob->sinks[sink];

	for (int k = 0; k < OBX_NKINDS; k++)
		sk->read[k] = sk->ack[k];
	sk->ring_n = 0;
	sk->ring_head = 0;
}

static size_t behind(const struct outbox *ob, const struct obx_pos *p, int kind)
{
	uint64_t end = obx_end_ord(&ob->st[kind]);

	return p->ord < end ? (size_t)(end - p->ord) : 0;
}

size_t outbox_unsent(const struct outbox *ob, int sink)
{
	const struct obx_sink *sk = &ob->sinks[sink];

	return behind(ob, &sk->read[OBX_TEL], OBX_TEL) + behind(ob, &sk->read[OBX_ALR], OBX_ALR);
}

size_t outbox_unacked(const struct outbox *ob, int sink)
{
	const struct obx_sink *sk = &ob->sinks[sink];

	return behind(ob, &sk->ack[OBX_TEL], OBX_TEL) + behind(ob, &sk->ack[OBX_ALR], OBX_ALR);
}

uint64_t outbox_dropped(const struct outbox *ob, int sink)
{
	return ob->sinks[sink].dropped;
}

/* Timestamp of the first record at or after *at; 0 if none. A private
 * window keeps this a read-only query. */
static int64_t first_ts(const struct obx_stream *st, const struct obx_pos *at)
{
	struct obx_reader rd;
	struct obx_pos pos = *at;
	struct obx_frame fr;
	uint64_t resyncs = 0;
	int64_t ts = 0;
	uint8_t type;

	obx_reader_init(&rd);
	if (obx_read_frame(st, &rd, &pos, &fr, &resyncs) > 0)
		outbox_codec_peek(fr.payload, fr.len, &type, &ts);
	obx_reader_close(&rd);
	return ts;
}

int64_t outbox_oldest_unacked_ms(const struct outbox *ob, int sink)
{
	const struct obx_sink *sk = &ob->sinks[sink];
	int64_t best = 0;

	for (int k = 0; k < OBX_NKINDS; k++) {
		int64_t ts;

		if (behind(ob, &sk->ack[k], k) == 0)
			continue;
		ts = first_ts(&ob->st[k], &sk->ack[k]);
		if (ts && (!best || ts < best))
			best = ts;
	}
	return best;
}

/* ---- timed work ---- */

static bool any_dirty(const struct outbox *ob)
{
	for (int s = 0; s < ob->n_sinks; s++)
		if (ob->sinks[s].dirty)
			return true;
	return false;
}

static int64_t sync_due(const struct outbox *ob, const struct obx_stream *st)
{
	int64_t due;

	if (st->wlen == 0 && !st->need_trunc)
		return INT64_MAX;
	due = st->wlen ? st->pending_ms + ob->fsync_ms : st->retry_ms;
	return due > st->retry_ms ? due : st->retry_ms;
}

int64_t outbox_next_ms(const struct outbox *ob)
{
	int64_t next = INT64_MAX;

	for (int k = 0; k < OBX_NKINDS; k++) {
		int64_t due = sync_due(ob, &ob->st[k]);

		next = due < next ? due : next;
	}
	if (any_dirty(ob) && ob->cursor_ms + ob->cursor_every_ms < next)
		next = ob->cursor_ms + ob->cursor_every_ms;
	return next;
}

static int sync_stream(struct outbox *ob, int kind, int64_t now)
{
	int rc = sync_now(ob, &ob->st[kind], now);

	if (rc < 0) {
		complain(&ob->c_sync, now, LOG_ERR, "outbox: syncing %s records: %s",
			 kind == OBX_ALR ? "alert" : "telemetry", strerror(-rc));
	} else {
		complain_recovered(&ob->c_sync, "outbox: syncing records again");
	}
	return rc;
}

void outbox_tick(struct outbox *ob, int64_t now_mono_ms)
{
	ob->now_ms = now_mono_ms;
	for (int k = 0; k < OBX_NKINDS; k++)
		if (now_mono_ms >= sync_due(ob, &ob->st[k]))
			sync_stream(ob, k, now_mono_ms);
	if (any_dirty(ob) && now_mono_ms >= ob->cursor_ms + ob->cursor_every_ms)
		persist_cursors(ob, now_mono_ms);
	delete_acked(ob);
	obx_reserve_tick(ob, now_mono_ms);
}

int outbox_flush(struct outbox *ob, int64_t now_mono_ms)
{
	int rc = 0, r;

	ob->now_ms = now_mono_ms;
	for (int k = 0; k < OBX_NKINDS; k++) {
		r = sync_stream(ob, k, now_mono_ms);
		rc = rc ? rc : r;
	}
	if (any_dirty(ob)) {
		r = persist_cursors(ob, now_mono_ms);
		rc = rc ? rc : r;
	}
	delete_acked(ob);
	return rc;
}

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *out)
{
	*out = ob->stats;
	out->segments = ob->st[OBX_TEL].n_segs + ob->st[OBX_ALR].n_segs;
	out->disk_bytes = disk_bytes(ob);
}

bool outbox_take_gap(struct outbox *ob, struct outbox_gap *out)
{
	if (ob->gap.records == 0)
		return false;
	*out = ob->gap;
	memset(&ob->gap, 0, sizeof(ob->gap));
	return true;
}
