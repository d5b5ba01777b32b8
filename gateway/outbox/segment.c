/*
 * segment.c - the files under the outbox: frame sealing and
 * checking, a bounded reader that finds the next valid frame (stepping over
 * damage by scanning for magic + plausible length + matching CRC), replay of
 * a stream's segments at open, and the write side of the active segment
 * (buffer, write, fdatasync, roll-over, removal), and the cursor files.
 * See segment.h.
 *
 * System calls that tests fault (openat, write, fdatasync, fsync, ftruncate)
 * are called directly so -Wl,--wrap can reach them.
 */
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/log.h"

const char *obx_prefix(int kind)
{
	return kind == OBX_ALR ? "alr-" : "seg-";
}

void obx_seg_name(int kind, uint64_t first_seq, char name[OBX_NAME_MAX])
{
	static const char hex[] = "0123456789abcdef";
	char *p = name;

	memcpy(p, obx_prefix(kind), 4);
	p += 4;
	for (int i = 15; i >= 0; i--)
		*p++ = hex[(first_seq >> (4 * i)) & 15];
	memcpy(p, ".log", 5);
}

/* "seg-" + 16 hex digits + ".log"; seq 0 is never assigned. */
static bool parse_name(const char *name, int kind, uint64_t *first_seq)
{
	uint64_t v = 0;

	if (strncmp(name, obx_prefix(kind), 4) || strlen(name) != 24 || strcmp(name + 20, ".log"))
		return false;
	for (int i = 4; i < 20; i++) {
		char c = name[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (v == 0)
		return false;
	*first_seq = v;
	return true;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Covers the length too, so a damaged length cannot pass as a short frame. */
static uint32_t frame_crc(const uint8_t *frame, size_t len)
{
	uLong c = crc32(0L, frame + 1, 2);

	return (uint32_t)crc32(c, frame + 7, (uInt)(8 + len));
}

void obx_frame_seal(uint8_t *frame, uint64_t seq, size_t len)
{
	frame[0] = OBX_MAGIC;
	put_le(frame + 1, len, 2);
	put_le(frame + 7, seq, 8);
	put_le(frame + 3, frame_crc(frame, len), 4);
}

/* 0 and *fr set when avail bytes at p start with a whole valid frame. */
int obx_frame_parse(const uint8_t *p, size_t avail, struct obx_frame *fr)
{
	size_t len;

	if (avail < OBX_HDR || p[0] != OBX_MAGIC)
		return -1;
	len = (size_t)get_le(p + 1, 2);
	if (len < 1 || len > OUTBOX_CODEC_MAX || avail < OBX_HDR + len)
		return -1;
	if (frame_crc(p, len) != (uint32_t)get_le(p + 3, 4))
		return -1;
	fr->seq = get_le(p + 7, 8);
	fr->payload = p + OBX_HDR;
	fr->len = (uint16_t)len;
	return 0;
}

/* The CRC covers the length only: the zeros after it are not evidence. */
static uint32_t pad_crc(const uint8_t *pad)
{
	return (uint32_t)crc32(0x9ad0L, pad + 1, 2);
}

void obx_pad_seal(uint8_t *pad, size_t len)
{
	memset(pad, 0, OBX_PAD_HDR);
	pad[0] = OBX_PAD_MAGIC;
	put_le(pad + 1, len, 2);
	put_le(pad + 3, pad_crc(pad), 4);
}

size_t obx_pad_parse(const uint8_t *p, size_t avail)
{
	size_t len;

	if (avail < OBX_PAD_HDR || p[0] != OBX_PAD_MAGIC)
		return 0;
	len = (size_t)get_le(p + 1, 2);
	if (len < OBX_PAD_HDR || len >= OBX_PAGE || len > avail)
		return 0;
	return pad_crc(p) == (uint32_t)get_le(p + 3, 4) ? len : 0;
}

int obx_seg_open(int dirfd, int kind, uint64_t first_seq, int flags)
{
	char name[OBX_NAME_MAX];
	int fd;

	obx_seg_name(kind, first_seq, name);
	fd = openat(dirfd, name, flags | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

void obx_reader_init(struct obx_reader *rd)
{
	rd->fd = -1;
	rd->seg = 0;
	rd->buf_off = 0;
	rd->buf_len = 0;
}

void obx_reader_close(struct obx_reader *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	obx_reader_init(rd);
}

static int reader_switch(const struct obx_stream *st, struct obx_reader *rd, uint64_t seg)
{
	int fd = obx_seg_open(st->dirfd, st->kind, seg, O_RDONLY);

	if (fd < 0)
		return fd;
	obx_reader_close(rd);
	rd->fd = fd;
	rd->seg = seg;
	return 0;
}

/* Makes the window hold [off, min(off + OBX_FRAME_MAX, end)), reading as
 * much as fits so that one pread serves many frames. */
static int reader_fill(const struct obx_stream *st, struct obx_reader *rd, uint64_t seg,
		       uint64_t off, uint64_t end)
{
	uint64_t want = off + OBX_FRAME_MAX < end ? off + OBX_FRAME_MAX : end;
	uint64_t have = rd->buf_off + rd->buf_len;
	int rc;

	if (rd->fd >= 0 && rd->seg == seg && off >= rd->buf_off && have >= want)
		return 0;
	if (rd->fd < 0 || rd->seg != seg) {
		rc = reader_switch(st, rd, seg);
		if (rc < 0)
			return rc;
		have = 0;
	}
	if (off >= rd->buf_off && off < have) {
		memmove(rd->buf, rd->buf + (off - rd->buf_off), (size_t)(have - off));
		rd->buf_len = (size_t)(have - off);
	} else {
		rd->buf_len = 0;
	}
	rd->buf_off = off;
	while (rd->buf_off + rd->buf_len < want) {
		uint64_t at = rd->buf_off + rd->buf_len;
		size_t room = OBX_RBUF - rd->buf_len;
		ssize_t n;

		if (end - at < room)
			room = (size_t)(end - at);
		n = pread(rd->fd, rd->buf + rd->buf_len, room, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* shorter than we thought: the caller sees the end */
		rd->buf_len += (size_t)n;
	}
	return 0;
}

/*
 * The first valid frame in [*from, end) of segment seg whose seq is above
 * min_seq: 1 with *at its offset, 0 when none, -errno. A candidate must have
 * the magic, a plausible length and a matching CRC; from anything else the scan
 * moves on to the next magic byte. Padding right at *from moves *from past
 * it, so that the caller counts as damage only what lies between *from and
 * *at (or end).
 */
static int scan(const struct obx_stream *st, struct obx_reader *rd, uint64_t seg,
		uint64_t *from, uint64_t end, uint64_t min_seq, struct obx_frame *fr,
		uint64_t *at)
{
	uint64_t off = *from;

	while (off < end) {
		int rc = reader_fill(st, rd, seg, off, end);
		uint64_t have;
		const uint8_t *p, *q;
		size_t avail, pad;

		if (rc < 0)
			return rc;
		have = rd->buf_off + rd->buf_len;
		avail = (size_t)((have < end ? have : end) - off);
		if (avail == 0)
			return 0;
		p = rd->buf + (off - rd->buf_off);
		if (obx_frame_parse(p, avail, fr) == 0 && fr->seq > min_seq &&
		    fr->seq < OBX_SEQ_LIMIT) {
			*at = off;
			return 1;
		}
		if (off == *from && avail >= OBX_PAD_HDR &&
		    (pad = obx_pad_parse(p, (size_t)(end - off))) > 0) {
			off += pad;
			*from = off;
			continue;
		}
		q = avail > 1 ? memchr(p + 1, OBX_MAGIC, avail - 1) : NULL;
		off += q ? (uint64_t)(q - p) : avail;
	}
	return 0;
}

size_t obx_seg_find(const struct obx_stream *st, uint64_t first_seq)
{
	size_t lo = 0, hi = st->n_segs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->segs[mid].first_seq < first_seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct obx_pos obx_pos_start(const struct obx_stream *st, uint64_t seq)
{
	const struct obx_seg *s = &st->segs[0];

	return (struct obx_pos){ .seg = s->first_seq, .off = 0, .ord = s->base_ord, .seq = seq };
}

struct obx_pos obx_pos_end(const struct obx_stream *st, uint64_t seq)
{
	const struct obx_seg *s = &st->segs[st->n_segs - 1];

	return (struct obx_pos){ .seg = s->first_seq, .off = s->size, .ord = obx_end_ord(st),
				 .seq = seq };
}

int obx_read_frame(const struct obx_stream *st, struct obx_reader *rd, struct obx_pos *pos,
		   struct obx_frame *fr, uint64_t *resyncs)
{
	for (;;) {
		size_t i = obx_seg_find(st, pos->seg);
		const struct obx_seg *sg;
		uint64_t at = 0;
		int rc;

		if (i == st->n_segs)
			return 0;
		sg = &st->segs[i];
		if (sg->first_seq == pos->seg && pos->off >= sg->size) {
			if (++i == st->n_segs)
				return 0;
			sg = &st->segs[i];
		}
		if (sg->first_seq != pos->seg) {
			/* the next segment (or pos's own was removed under it) */
			*pos = (struct obx_pos){ .seg = sg->first_seq, .off = 0,
						 .ord = sg->base_ord, .seq = pos->seq };
			continue;
		}
		if (sg->first_seq && pos->seq < sg->first_seq - 1) {
			/* no seq of a segment is below its name, as replay counts */
			pos->seq = sg->first_seq - 1;
		}
		rc = scan(st, rd, sg->first_seq, &pos->off, sg->size, pos->seq, fr, &at);
		if (rc < 0)
			return rc;
		if (rc == 0 ? pos->off < sg->size : at > pos->off)
			(*resyncs)++;
		if (rc == 0) {
			pos->off = sg->size;
			continue;
		}
		pos->off = at + OBX_HDR + fr->len;
		pos->ord++;
		pos->seq = fr->seq;
		return 1;
	}
}

/* ---- listing and replay ---- */

static int seg_cmp(const void *a, const void *b)
{
	const struct obx_seg *x = a, *y = b;

	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static int grow(struct obx_stream *st)
{
	size_t cap = st->cap_segs ? st->cap_segs * 2 : 8;
	struct obx_seg *p;

	if (st->n_segs < st->cap_segs)
		return 0;
	if (st->cap_segs >= OUTBOX_MAX_SEGMENTS)
		return -EMFILE;
	if (cap > OUTBOX_MAX_SEGMENTS)
		cap = OUTBOX_MAX_SEGMENTS;
	p = realloc(st->segs, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	st->segs = p;
	st->cap_segs = cap;
	return 0;
}

/* A segment named with an implausible seq (a wrap would follow it) is
 * renamed <name>.aside, out of the way of every later start. */
static void set_aside(struct obx_stream *st, const char *name)
{
	char to[OBX_NAME_MAX + 8];

	snprintf(to, sizeof(to), "%s.aside", name);
	if (renameat(st->dirfd, name, st->dirfd, to) < 0) {
		log_err("outbox: %s names seq %s, beyond any real count, and cannot be renamed "
			"(%s): remove it", name, name + 4, strerror(errno));
		st->stats->io_errors++;
		return;
	}
	fsync(st->dirfd);
	st->stats->corrupt_found++;
	log_warn("outbox: %s names a seq beyond any real count; set aside as %s, its records "
		 "are not sent", name, to);
}

int obx_stream_list(struct obx_stream *st)
{
	int fd = fcntl(st->dirfd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(d); /* the dup shares its offset with dirfd */
	while (rc == 0 && (de = readdir(d))) {
		uint64_t first;

		if (!parse_name(de->d_name, st->kind, &first))
			continue;
		if (first >= OBX_SEQ_LIMIT) {
			set_aside(st, de->d_name);
			continue;
		}
		rc = grow(st);
		if (rc == 0)
			st->segs[st->n_segs++] = (struct obx_seg){ .first_seq = first };
	}
	closedir(d);
	if (rc == 0 && st->n_segs)
		qsort(st->segs, st->n_segs, sizeof(*st->segs), seg_cmp);
	return rc;
}

static void note_damage(struct obx_stream *st, const char *name, uint64_t from, uint64_t to)
{
	log_warn("outbox: %s: stepped over %llu corrupt bytes at offset %llu", name,
		 (unsigned long long)(to - from), (unsigned long long)from);
	st->stats->corrupt_found++;
}

/* A frame with a good CRC is still checked against the codec: the readers
 * pass over what does not decode, so replay reports it now. */
static void note_frame(struct obx_stream *st, const char *name, struct obx_seg *sg,
		       const struct obx_frame *fr)
{
	struct record r;

	if (outbox_codec_decode(fr->payload, fr->len, &r) < 0) {
		log_warn("outbox: %s: record seq %llu does not decode; passed over", name,
			 (unsigned long long)fr->seq);
		st->stats->corrupt_found++;
	} else {
		if (sg->n == 0 || r.ts_ms < sg->min_ts_ms)
			sg->min_ts_ms = r.ts_ms;
		if (sg->n == 0 || r.ts_ms > sg->max_ts_ms)
			sg->max_ts_ms = r.ts_ms;
	}
	sg->n++;
	sg->last_seq = fr->seq;
}

/* Scans one segment; its size becomes the end of its last valid frame.
 * false when it could not be read to the end (what lies beyond is unknown,
 * so it must not be cut off as a torn tail). */
static bool replay_seg(struct obx_stream *st, struct obx_reader *rd, struct obx_seg *sg,
		       bool last, uint64_t *min_seq)
{
	char name[OBX_NAME_MAX];
	struct obx_frame fr;
	struct stat sb;
	uint64_t off = 0, at = 0, fsize;
	int rc;

	obx_seg_name(st->kind, sg->first_seq, name);
	rc = reader_switch(st, rd, sg->first_seq);
	if (rc < 0 || fstat(rd->fd, &sb) < 0) {
		log_warn("outbox: %s: cannot read it (%s); its records are lost",
			 name, strerror(rc < 0 ? -rc : errno));
		st->stats->corrupt_found++;
		return false;
	}
	fsize = (uint64_t)sb.st_size;
	/* a segment holds no seq below its name: readers would step over it */
	if (sg->first_seq && *min_seq < sg->first_seq - 1)
		*min_seq = sg->first_seq - 1;
	while ((rc = scan(st, rd, sg->first_seq, &off, fsize, *min_seq, &fr, &at)) > 0) {
		if (at > off)
			note_damage(st, name, off, at);
		note_frame(st, name, sg, &fr);
		off = at + OBX_HDR + fr.len;
		*min_seq = fr.seq;
		sg->size = off;
	}
	if (rc == 0)
		sg->size = off; /* with the padding after the last frame */
	if (rc < 0) {
		log_warn("outbox: %s: read error at %llu (%s); using what came before", name,
			 (unsigned long long)off, strerror(-rc));
		st->stats->io_errors++;
		return false;
	}
	/* The newest segment's tail is cut when it is reopened for appending. */
	if (!last && sg->size < fsize)
		note_damage(st, name, sg->size, fsize);
	return true;
}

/*
 * Gives the active segment its blocks up to st->prealloc beyond its end,
 * keeping its size: appending then allocates nothing, and a sync dirties
 * its own pages and the inode but not the block bitmap and group
 * descriptor (on ext4 that halves what a sync of a small batch costs the
 * card). All or nothing where the file system allows; a full disk or a
 * file system without fallocate only forgoes the saving.
 */
static void prealloc(const struct obx_stream *st, int fd, uint64_t from)
{
	if (st->prealloc > from)
		(void)fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(st->prealloc - from));
}

/* Opens the newest segment for appending, cutting a torn tail first. */
static int reopen_last(struct obx_stream *st)
{
	struct obx_seg *sg = &st->segs[st->n_segs - 1];
	char name[OBX_NAME_MAX];
	struct stat sb;
	int fd = obx_seg_open(st->dirfd, st->kind, sg->first_seq, O_WRONLY | O_APPEND);

	obx_seg_name(st->kind, sg->first_seq, name);
	if (fd < 0 || fstat(fd, &sb) < 0)
		goto fail;
	if ((uint64_t)sb.st_size > sg->size) {
		if (ftruncate(fd, (off_t)sg->size) < 0)
			goto fail;
		log_warn("outbox: %s: truncated a torn or corrupt tail of %llu bytes at %llu",
			 name, (unsigned long long)((uint64_t)sb.st_size - sg->size),
			 (unsigned long long)sg->size);
		st->stats->truncated_tail++;
		st->tail_cut = (uint64_t)sb.st_size - sg->size;
	}
	prealloc(st, fd, sg->size);
	st->wfd = fd;
	return 0;
fail:
	log_warn("outbox: %s: cannot append to it (%s); starting a new segment", name,
		 strerror(fd < 0 ? -fd : errno));
	st->stats->io_errors++;
	if (fd >= 0)
		close(fd);
	return -1;
}

void obx_stream_scan(struct obx_stream *st, struct obx_reader *rd)
{
	uint64_t min_seq = 0, ord = 0;

	for (size_t i = 0; i < st->n_segs; i++) {
		struct obx_seg *sg = &st->segs[i];

		sg->base_ord = ord;
		sg->last_seq = sg->first_seq - 1;
		st->last_unread = !replay_seg(st, rd, sg, i + 1 == st->n_segs, &min_seq);
		ord += sg->n;
		st->bytes += sg->size;
	}
	obx_reader_close(rd);
}

int obx_stream_activate(struct obx_stream *st, uint64_t next_seq)
{
	uint64_t top;

	if (st->n_segs && !st->last_unread && reopen_last(st) == 0)
		return 0;
	/* names must rise; the caller keeps next_seq at or above this one */
	top = st->n_segs ? st->segs[st->n_segs - 1].first_seq + 1 : 0;
	return obx_stream_roll(st, next_seq > top ? next_seq : top);
}

/* ---- the write side ---- */

static int io_fail(struct obx_stream *st)
{
	int rc = errno ? -errno : -EIO;

	st->stats->io_errors++;
	return rc;
}

static int cut_back(struct obx_stream *st)
{
	if (ftruncate(st->wfd, (off_t)st->segs[st->n_segs - 1].size) < 0)
		return io_fail(st);
	st->need_trunc = false;
	st->wwritten = 0;
	return 0;
}

/* The frames are on disk: they join the segment and become readable. */
static void commit(struct obx_stream *st, size_t pad)
{
	struct obx_seg *sg = &st->segs[st->n_segs - 1];

	if (sg->n == 0 || st->wmin_ts_ms < sg->min_ts_ms)
		sg->min_ts_ms = st->wmin_ts_ms;
	if (sg->n == 0 || st->wmax_ts_ms > sg->max_ts_ms)
		sg->max_ts_ms = st->wmax_ts_ms;
	sg->size += st->wlen + pad;
	sg->n += st->wcount;
	sg->last_seq = st->wlast_seq;
	st->bytes += st->wlen + pad;
	st->wlen = 0;
	st->wwritten = 0;
	st->wcount = 0;
	st->stats->synced++;
}

int obx_stream_flush(struct obx_stream *st)
{
	int rc;

	if (st->need_trunc && (rc = cut_back(st)) < 0)
		return rc;
	while (st->wwritten < st->wlen) {
		ssize_t n = write(st->wfd, st->wbuf + st->wwritten, st->wlen - st->wwritten);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return io_fail(st);
		}
		st->wwritten += (size_t)n;
		st->stats->bytes_written += (uint64_t)n;
	}
	return 0;
}

/*
 * Pads the file from the end of the buffer to the next page boundary, when
 * st->pad asks, the gap fits a padding header and a batch like this one
 * would not fit the gap (then the next sync would dirty this page again; a
 * batch that fits dirties one page either way). The bytes of padding
 * written: at most one batch's worth. Padding only saves writes: when it
 * fails it is cut off again and the sync goes on without it.
 */
static size_t pad_page(struct obx_stream *st)
{
	uint64_t end = st->segs[st->n_segs - 1].size + st->wlen;
	size_t len = (size_t)(-end & (OBX_PAGE - 1));
	uint8_t pad[OBX_PAGE];
	ssize_t n;

	if (!st->pad || len < OBX_PAD_HDR || len >= st->wlen)
		return 0;
	obx_pad_seal(pad, len);
	memset(pad + OBX_PAD_HDR, 0, len - OBX_PAD_HDR);
	do
		n = write(st->wfd, pad, len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		st->stats->bytes_written += (uint64_t)n;
	if (n == (ssize_t)len) {
		st->stats->pad_bytes += len;
		return len;
	}
	if (n > 0 && ftruncate(st->wfd, (off_t)end) < 0)
		st->need_trunc = true; /* the sync fails below: all is rewritten */
	return 0;
}

int obx_stream_sync(struct obx_stream *st)
{
	int rc = obx_stream_flush(st);
	size_t pad;

	if (rc < 0 || st->wlen == 0)
		return rc;
	pad = pad_page(st);
	if (st->need_trunc || fdatasync(st->wfd) < 0) {
		/* After a failed fdatasync the page cache may claim data the disk
		 * lacks: cut back to what is known durable and rewrite it all. */
		rc = io_fail(st);
		st->need_trunc = true;
		cut_back(st);
		return rc;
	}
	commit(st, pad);
	if (st->sfd >= 0)
		obx_stage_cut(st, 0); /* the segment has it all now */
	return 0;
}

/* Creates an empty segment file and makes its name durable. */
static int new_file(struct obx_stream *st, uint64_t first_seq)
{
	char name[OBX_NAME_MAX];
	struct stat sb;
	int fd = obx_seg_open(st->dirfd, st->kind, first_seq, O_WRONLY | O_CREAT | O_APPEND);
	int rc;

	if (fd < 0) {
		st->stats->io_errors++;
		return fd;
	}
	if (fstat(fd, &sb) < 0) {
		rc = io_fail(st);
		goto close_fd;
	}
	if (sb.st_size != 0) {
		rc = -EEXIST; /* never append to a file replay did not scan */
		goto close_fd;
	}
	if (fsync(st->dirfd) < 0) {
		rc = io_fail(st);
		goto unlink_file;
	}
	prealloc(st, fd, 0);
	return fd;
unlink_file:
	obx_seg_name(st->kind, first_seq, name);
	unlinkat(st->dirfd, name, 0);
close_fd:
	close(fd);
	return rc;
}

int obx_stream_roll(struct obx_stream *st, uint64_t first_seq)
{
	int rc, fd;

	if (st->wfd >= 0 && (rc = obx_stream_sync(st)) < 0)
		return rc;
	if (st->n_segs && st->segs[st->n_segs - 1].first_seq >= first_seq)
		return -EEXIST;
	rc = grow(st);
	if (rc < 0)
		return rc;
	fd = new_file(st, first_seq);
	if (fd < 0)
		return fd;
	if (st->wfd >= 0)
		close(st->wfd);
	st->wfd = fd;
	st->segs[st->n_segs] = (struct obx_seg){
		.first_seq = first_seq, .last_seq = first_seq - 1,
		.base_ord = st->n_segs ? obx_end_ord(st) : 0,
	};
	st->n_segs++;
	return 0;
}

void obx_stream_put(struct obx_stream *st, const uint8_t *frame, size_t len, uint64_t seq,
		    int64_t ts_ms, int64_t now_ms)
{
	st->undo_last_seq = st->wlast_seq;
	st->undo_min_ts_ms = st->wmin_ts_ms;
	st->undo_max_ts_ms = st->wmax_ts_ms;
	if (st->wcount == 0) {
		st->pending_ms = now_ms;
		st->wmin_ts_ms = ts_ms;
		st->wmax_ts_ms = ts_ms;
	}
	if (ts_ms < st->wmin_ts_ms)
		st->wmin_ts_ms = ts_ms;
	if (ts_ms > st->wmax_ts_ms)
		st->wmax_ts_ms = ts_ms;
	memcpy(st->wbuf + st->wlen, frame, len);
	st->wlen += len;
	st->wcount++;
	st->wlast_seq = seq;
}

void obx_stream_unput(struct obx_stream *st, size_t len)
{
	st->wlen -= len;
	st->wcount--;
	st->wlast_seq = st->undo_last_seq;
	st->wmin_ts_ms = st->undo_min_ts_ms;
	st->wmax_ts_ms = st->undo_max_ts_ms;
	if (st->wwritten > st->wlen)
		st->need_trunc = true; /* part of it reached the file */
	if (st->sfd >= 0 && st->sstaged > st->wlen)
		obx_stage_cut(st, st->wlen);
}

int obx_stream_remove_oldest(struct obx_stream *st)
{
	char name[OBX_NAME_MAX];
	int rc = 0;

	obx_seg_name(st->kind, st->segs[0].first_seq, name);
	if (unlinkat(st->dirfd, name, 0) < 0 && errno != ENOENT)
		rc = io_fail(st);
	else if (fsync(st->dirfd) < 0)
		rc = io_fail(st);
	if (rc < 0)
		log_err("outbox: removing %s: %s", name, strerror(-rc));
	st->bytes -= st->segs[0].size;
	st->n_segs--;
	memmove(st->segs, st->segs + 1, st->n_segs * sizeof(*st->segs));
	st->stats->segments_deleted++;
	return rc;
}

void obx_stream_free(struct obx_stream *st)
{
	if (st->wfd >= 0)
		close(st->wfd);
	st->wfd = -1;
	if (st->sfd >= 0)
		close(st->sfd);
	st->sfd = -1;
	free(st->wbuf);
	free(st->segs);
	st->wbuf = NULL;
	st->segs = NULL;
	st->n_segs = 0;
	st->cap_segs = 0;
}

/* ---- cursor files ---- */

#define OBX_CURSOR_LEN 28 /* "OBXC", version, sink, 2 zero, 2 x u64, crc32 */
#define OBX_CURSOR_VERSION 1
#define OBX_CURSOR_NAME (8 + OUTBOX_SINK_NAME + 4) /* "cursor-<sink>.tmp" */

/* The cursor file is named for the sink, not its index, so a sink keeps its
 * own position whichever other sinks are enabled. */
static void cursor_name(const char *sink, bool tmp, char name[OBX_CURSOR_NAME])
{
	snprintf(name, OBX_CURSOR_NAME, "cursor-%.*s%s", OUTBOX_SINK_NAME - 1, sink,
		 tmp ? ".tmp" : "");
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* temp -> fsync -> rename -> directory fsync: after a crash at any point
 * either the old cursor or the new one is there, never a torn one. */
int obx_cursor_write(int dirfd, const char *sink, const uint64_t ack[OBX_NKINDS])
{
	char tmp[OBX_CURSOR_NAME], name[OBX_CURSOR_NAME];
	uint8_t b[OBX_CURSOR_LEN] = { 'O', 'B', 'X', 'C', OBX_CURSOR_VERSION };
	int fd, rc;

	put_le(b + 8, ack[OBX_TEL], 8);
	put_le(b + 16, ack[OBX_ALR], 8);
	put_le(b + 24, (uint32_t)crc32(0L, b, 24), 4);
	cursor_name(sink, true, tmp);
	cursor_name(sink, false, name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, b, sizeof(b));
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc == 0 && fsync(dirfd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int obx_cursor_read(int dirfd, const char *sink, uint64_t ack[OBX_NKINDS])
{
	char name[OBX_CURSOR_NAME];
	uint8_t b[OBX_CURSOR_LEN + 1];
	ssize_t n;
	int fd;

	cursor_name(sink, false, name);
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -EBADMSG;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n != OBX_CURSOR_LEN || memcmp(b, "OBXC", 4) || b[4] != OBX_CURSOR_VERSION || get_le(b + 24, 4) != (uint32_t)crc32(0L, b, 24))
		return -EBADMSG;
	ack[OBX_TEL] = get_le(b + 8, 8);
	ack[OBX_ALR] = get_le(b + 16, 8);
	return 1;
}

void obx_cursor_clean(int dirfd, const char *sink)
{
	char tmp[OBX_CURSOR_NAME];

	cursor_name(sink, true, tmp);
	unlinkat(dirfd, tmp, 0);
}
