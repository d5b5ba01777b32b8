/*
 * open.c - bringing the outbox up and down: options, the directory and its
 * lock, replay of the segments on disk, the sinks' cursor files, and the
 * last flush at close. Appends, reads and acks are in outbox.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "internal.h"

void outbox_opts_default(struct outbox_opts *o)
{
	*o = (struct outbox_opts){
		.fsync_ms = OUTBOX_DEFAULT_FSYNC_MS,
		.segment_bytes = OUTBOX_DEFAULT_SEGMENT_BYTES,
		.max_backlog_bytes = OUTBOX_DEFAULT_MAX_BACKLOG_BYTES,
		.pad_backlog_bytes = OUTBOX_DEFAULT_PAD_BACKLOG_BYTES,
	};
}

static struct obx_pos locate(const struct obx_stream *st, struct obx_reader *rd, uint64_t ack_seq)
{
	struct obx_pos pos, tmp;
	struct obx_frame fr;
	uint64_t resyncs = 0;
	size_t i = 0;

	while (i < st->n_segs && (st->segs[i].n == 0 || st->segs[i].last_seq <= ack_seq))
		i++;
	if (i == st->n_segs)
		return obx_pos_end(st, ack_seq);
	pos = (struct obx_pos){ .seg = st->segs[i].first_seq, .ord = st->segs[i].base_ord,
				.seq = i ? st->segs[i - 1].last_seq : 0 };
	for (;;) {
		tmp = pos;
		if (obx_read_frame(st, rd, &tmp, &fr, &resyncs) <= 0 || fr.seq > ack_seq)
			break;
		pos = tmp;
	}
	if (pos.seq < ack_seq)
		pos.seq = ack_seq;
	return pos;
}

static void raise_next_seq(struct outbox *ob, int s, uint64_t acked)
{
	if (acked < ob->next_seq)
		return;
	log_warn("outbox: cursor-%s acknowledges seq %llu, past the newest record on disk; "
		 "records were lost from disk", ob->names[s], (unsigned long long)acked);
	ob->next_seq = acked + 1;
}

static void load_cursor(struct outbox *ob, int s, bool had_data)
{
	struct obx_sink *sk = &ob->sinks[s];
	uint64_t ack[OBX_NKINDS] = { 0, 0 };
	int rc = obx_cursor_read(ob->dirfd, ob->names[s], ack);

	if (rc > 0 && (ack[OBX_TEL] >= ob->next_seq + OBX_CURSOR_AHEAD_MAX ||
		       ack[OBX_ALR] >= ob->next_seq + OBX_CURSOR_AHEAD_MAX))
		rc = -EBADMSG; /* far beyond anything written: not ours */
	if (rc > 0)
		raise_next_seq(ob, s, ack[OBX_TEL] > ack[OBX_ALR] ? ack[OBX_TEL] : ack[OBX_ALR]);
	if (rc < 0) {
		log_warn("outbox: cursor-%s is corrupt; sink %s restarts from the oldest record",
			 ob->names[s], ob->names[s]);
		ob->stats.cursor_fallbacks++;
		ack[OBX_TEL] = ack[OBX_ALR] = 0;
		sk->dirty = true;
	} else if (rc == 0 && had_data) {
		log_info("outbox: no cursor-%s; sink %s starts from the oldest record",
			 ob->names[s], ob->names[s]);
	}
	for (int k = 0; k < OBX_NKINDS; k++) {
		sk->ack[k] = locate(&ob->st[k], &sk->ack_rd[k], ack[k]);
		sk->read[k] = sk->ack[k];
	}
}

static int init_stream(struct outbox *ob, int kind)
{
	struct obx_stream *st = &ob->st[kind];

	st->kind = kind;
	st->dirfd = ob->dirfd;
	st->stats = &ob->stats;
	st->wcap = kind == OBX_TEL ? OBX_TEL_WBUF : OBX_ALR_WBUF;
	st->prealloc = kind == OBX_TEL ? ob->segment_bytes : 0;
	st->wbuf = malloc(st->wcap);
	return st->wbuf ? 0 : -ENOMEM;
}

/* A cut tail may have held records a sink was handed before (a synced
 * tail damaged since): their seqs are never issued again. A frame takes at
 * least OBX_HDR bytes, so the cut held at most tail_cut / OBX_HDR. */
static void skip_cut_tail(struct outbox *ob, const struct obx_stream *st)
{
	if (!st->tail_cut)
		return;
	ob->next_seq += st->tail_cut / OBX_HDR + 1;
	log_info("outbox: seqs continue from %llu, past any the cut tail may have held",
		 (unsigned long long)ob->next_seq);
}

static int replay(struct outbox *ob)
{
	uint64_t top = 0, records = 0;
	int rc;

	for (int k = 0; k < OBX_NKINDS; k++) {
		struct obx_stream *st = &ob->st[k];

		rc = obx_stream_list(st);
		if (rc < 0)
			return rc;
		obx_stream_scan(st, &ob->sinks[0].rd[k]);
		for (size_t i = 0; i < st->n_segs; i++)
			top = st->segs[i].last_seq > top ? st->segs[i].last_seq : top;
	}
	/* seq never goes back: not below any name nor any record on disk, and
	 * clear of whatever an unreadable newest segment may hold */
	if (ob->st[OBX_TEL].last_unread || ob->st[OBX_ALR].last_unread) {
		top += OBX_SEQ_JUMP;
		log_warn("outbox: newest segment unreadable; seqs continue from %llu",
			 (unsigned long long)(top + 1));
	}
	ob->next_seq = top + 1;
	for (int k = 0; k < OBX_NKINDS; k++) {
		const struct obx_stream *st = &ob->st[k];

		rc = obx_stream_activate(&ob->st[k], ob->next_seq);
		if (rc < 0)
			return rc;
		if (st->segs[st->n_segs - 1].first_seq > ob->next_seq)
			ob->next_seq = st->segs[st->n_segs - 1].first_seq;
		skip_cut_tail(ob, st);
		records += obx_end_ord(st);
	}
	for (int s = 0; s < ob->n_sinks; s++)
		load_cursor(ob, s, records > 0);
	obx_enforce_cap(ob, OBX_ALR, 0); /* a smaller cap than last run: only drops */
	log_info("outbox: %llu records on disk, next seq %llu",
		 (unsigned long long)records, (unsigned long long)ob->next_seq);
	return 0;
}

static int check_opts(const struct outbox_opts *in, struct outbox_opts *o)
{
	outbox_opts_default(o);
	if (!in)
		return 0;
	o->fsync_ms = in->fsync_ms;
	o->cursor_ms = in->cursor_ms;
	o->reserve_bytes = in->reserve_bytes;
	o->stage_dir = in->stage_dir;
	o->pad_backlog_bytes = in->pad_backlog_bytes;
	if (in->segment_bytes)
		o->segment_bytes = in->segment_bytes;
	if (in->max_backlog_bytes)
		o->max_backlog_bytes = in->max_backlog_bytes;
	if (o->fsync_ms < 0 || o->fsync_ms > OBX_MAX_FSYNC_MS || o->cursor_ms < 0 ||
	    o->cursor_ms > OBX_MAX_CURSOR_MS || o->segment_bytes < 4096 ||
	    o->segment_bytes > (1u << 30) || o->max_backlog_bytes / 4 < o->segment_bytes ||
	    o->max_backlog_bytes / o->segment_bytes > OUTBOX_MAX_SEGMENTS / 2 ||
	    o->reserve_bytes > (16u << 20))
		return -EINVAL;
	return 0;
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len >= OUTBOX_SINK_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
			return false;
	return true;
}

static int set_names(struct outbox *ob, const struct outbox_opts *o, int n_sinks)
{
	for (int s = 0; s < n_sinks; s++) {
		const char *n = o ? o->sink_names[s] : NULL;

		if (!n) {
			snprintf(ob->names[s], OUTBOX_SINK_NAME, "%d", s);
			continue;
		}
		if (!name_ok(n))
			return -EINVAL;
		snprintf(ob->names[s], OUTBOX_SINK_NAME, "%s", n);
		for (int t = 0; t < s; t++)
			if (strcmp(ob->names[t], ob->names[s]) == 0)
				return -EINVAL;
	}
	return 0;
}

static void ob_free(struct outbox *ob)
{
	for (int s = 0; ob->sinks && s < ob->n_sinks; s++) {
		for (int k = 0; k < OBX_NKINDS; k++) {
			obx_reader_close(&ob->sinks[s].rd[k]);
			obx_reader_close(&ob->sinks[s].ack_rd[k]);
		}
	}
	for (int k = 0; k < OBX_NKINDS; k++)
		obx_stream_free(&ob->st[k]);
	free(ob->sinks);
	if (ob->dirfd >= 0)
		close(ob->dirfd); /* drops the flock */
	free(ob);
}

static int open_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int ob_alloc(struct outbox *ob, int n_sinks)
{
	ob->sinks = calloc((size_t)n_sinks, sizeof(*ob->sinks));
	if (!ob->sinks)
		return -ENOMEM;
	ob->n_sinks = n_sinks;
	for (int s = 0; s < n_sinks; s++) {
		for (int k = 0; k < OBX_NKINDS; k++) {
			obx_reader_init(&ob->sinks[s].rd[k]);
			obx_reader_init(&ob->sinks[s].ack_rd[k]);
		}
	}
	for (int k = 0; k < OBX_NKINDS; k++) {
		int rc = init_stream(ob, k);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int outbox_open(const char *dir, const struct outbox_opts *o, int n_sinks, int64_t now_mono_ms,
		struct outbox **out)
{
	struct outbox_opts opts;
	struct outbox *ob;
	int rc;

	if (n_sinks < 1 || n_sinks > OUTBOX_MAX_SINKS || check_opts(o, &opts) < 0)
		return -EINVAL;
	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	ob->dirfd = -1;
	if (set_names(ob, o, n_sinks) < 0) {
		free(ob);
		return -EINVAL;
	}
	for (int k = 0; k < OBX_NKINDS; k++)
		ob->st[k].wfd = ob->st[k].sfd = -1; /* ob_free may run before the
						     * streams are set up */
	ob->fsync_ms = opts.fsync_ms;
	ob->cursor_every_ms = opts.cursor_ms ? opts.cursor_ms : opts.fsync_ms;
	ob->segment_bytes = opts.segment_bytes;
	ob->max_backlog = opts.max_backlog_bytes;
	/* padding never costs a record: at most an eighth of the cap unacked */
	ob->pad_backlog = opts.pad_backlog_bytes < opts.max_backlog_bytes / 8
				  ? opts.pad_backlog_bytes
				  : opts.max_backlog_bytes / 8;
	ob->cursor_ms = now_mono_ms;
	ob->now_ms = now_mono_ms;
	ob->reserve_bytes = opts.reserve_bytes;
	rc = open_dir(dir);
	if (rc >= 0) {
		ob->dirfd = rc;
		for (int s = 0; s < n_sinks; s++)
			obx_cursor_clean(ob->dirfd, ob->names[s]);
		rc = ob_alloc(ob, n_sinks);
	}
	if (rc >= 0)
		rc = replay(ob);
	if (rc < 0) {
		ob_free(ob);
		return rc;
	}
	if (opts.stage_dir && opts.fsync_ms > 0 && (rc = obx_stage_open(ob, opts.stage_dir)) < 0)
		log_warn("outbox: cannot stage telemetry in %s (%s); it is written to %s at once, "
			 "which wears the SD card more", opts.stage_dir, strerror(-rc), dir);
	rc = obx_reserve_make(ob, now_mono_ms);
	if (rc < 0)
		log_warn("outbox: %s: cannot keep %zu KiB for alerts (%s); tried again every "
			 "minute", dir, opts.reserve_bytes >> 10, strerror(-rc));
	*out = ob;
	return 0;
}

void outbox_close(struct outbox *ob)
{
	const struct obx_stream *tel;

	if (!ob)
		return;
	outbox_flush(ob, ob->now_ms);
	tel = &ob->st[OBX_TEL];
	if (tel->wcount) {
		log_err("outbox: %llu telemetry records could not be written and are lost",
			(unsigned long long)tel->wcount);
		ob->stats.dropped_telemetry += tel->wcount;
	}
	ob_free(ob);
}
