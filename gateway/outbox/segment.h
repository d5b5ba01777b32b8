/*
 * segment.h - internals shared by outbox.c and segment.c: the
 * frame format, a stream of segment files with its write buffer, the
 * bounded buffered reader that finds valid frames (resynchronising over
 * damage), and the cursor files. Not part of the outbox API.
 */
#ifndef OUTFALL_OUTBOX_SEGMENT_H
#define OUTFALL_OUTBOX_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "outbox.h"

#define OBX_MAGIC 0xB1 /* frame magic, format version 1 */
#define OBX_HDR 15     /* magic, u16 length, u32 crc, u64 seq */
#define OBX_FRAME_MAX (OBX_HDR + OUTBOX_CODEC_MAX)
/* Padding to a page boundary after a sync (see obx_stream.pad): magic, u16
 * total length, u32 CRC of that length, then zeros. Readers step over it. */
#define OBX_PAD_MAGIC 0xB0
#define OBX_PAD_HDR 7
#define OBX_PAGE 4096
#define OBX_RBUF 8192  /* reader buffer: many frames per read(2) */
#define OBX_NAME_MAX 32 /* "seg-0123456789abcdef.log" and NUL */
/* No real outbox counts this far (2^62 records: 146 000 years at a million
 * a second): a name or frame beyond it is damage, and stopping here keeps
 * seq from ever wrapping to 0. */
#define OBX_SEQ_LIMIT (1ULL << 62)

enum obx_kind { OBX_TEL, OBX_ALR, OBX_NKINDS };

/* One segment file: metadata only, never its records. */
struct obx_seg {
	uint64_t first_seq; /* from the file name; orders the segments */
	uint64_t last_seq;  /* seq of the last durable record; first_seq - 1 if none */
	uint64_t size;      /* durable bytes: readers never look past them */
	uint64_t base_ord;  /* stream ordinal of its first record (memory only) */
	uint64_t n;         /* durable records (valid frames) */
	int64_t min_ts_ms;  /* wall-clock span of its records, for gap reports */
	int64_t max_ts_ms;
};

/* A place in a stream: just before the record at off of segment seg. */
struct obx_pos {
	uint64_t seg; /* first_seq of the segment */
	uint64_t off; /* byte offset in it */
	uint64_t ord; /* stream ordinal of the next record, for counts only */
	uint64_t seq; /* seq of the record before (frames must be above it) */
};

struct obx_frame {
	uint64_t seq;
	const uint8_t *payload; /* inside the reader's buffer */
	uint16_t len;
};

/* A bounded window on one segment file. Stateless about positions: any
 * caller passes the position it wants and the window follows. */
struct obx_reader {
	int fd;          /* segment opened read-only, or -1 */
	uint64_t seg;    /* which segment fd is */
	uint64_t buf_off; /* file offset of buf[0] */
	size_t buf_len;
	uint8_t buf[OBX_RBUF];
};

struct obx_stream {
	int kind;                   /* enum obx_kind */
	int dirfd;                  /* the outbox directory */
	struct outbox_stats *stats; /* the owner's counters */
	struct obx_seg *segs;       /* oldest first; the last one is active */
	size_t n_segs;
	size_t cap_segs;
	uint64_t bytes;             /* sum of segs[].size */
	int wfd;                    /* active segment, O_APPEND, or -1 */
	uint8_t *wbuf;              /* frames after the durable end, kept until
				     * fdatasync'ed so a failed one can be redone */
	size_t wcap;
	size_t wlen;
	size_t wwritten;            /* prefix of wbuf already in the file */
	uint64_t wcount;            /* frames in wbuf */
	uint64_t wlast_seq;
	int64_t wmin_ts_ms;
	int64_t wmax_ts_ms;
	uint64_t undo_last_seq;     /* what put changed, for unput */
	int64_t undo_min_ts_ms;
	int64_t undo_max_ts_ms;
	bool need_trunc;            /* file may hold bytes past size: cut first */
	uint64_t tail_cut;          /* bytes replay cut off the newest segment */
	int sfd;                    /* telemetry staging file (stage.c), or -1 */
	size_t sstaged;             /* prefix of wbuf in the staging file */
	bool last_unread;           /* replay could not read the newest segment */
	int64_t pending_ms;         /* monotonic ms of the oldest unsynced append */
	int64_t retry_ms;           /* after a failed sync, not before this */
	int last_err;               /* -errno of that failed sync */
	/* Pad the file to a page boundary after each sync, so that the next
	 * batch starts on a fresh page instead of rewriting the partly filled
	 * one: on an SD card each sync then costs the pages of its batch and
	 * no more. Set by the owner when disk room is not short. */
	bool pad;
	/* Bytes of blocks given to the active segment when it is created or
	 * reopened (fallocate, size kept): a sync then writes its pages and
	 * the inode, not the bitmaps an allocation dirties. 0: none. */
	uint64_t prealloc;
};

const char *obx_prefix(int kind); /* "seg-" or "alr-" */
void obx_seg_name(int kind, uint64_t first_seq, char name[OBX_NAME_MAX]);

/* stage.c: writes the part of the write buffer not yet staged; 0 or
 * -errno. */
int obx_stage_write(struct obx_stream *st);
/* stage.c: cuts the staging file to the first len bytes of the buffer. */
void obx_stage_cut(struct obx_stream *st, size_t len);

/* A valid frame at p (magic, length, CRC): 0 and *fr set, else -1. */
int obx_frame_parse(const uint8_t *p, size_t avail, struct obx_frame *fr);

/* The length of a valid padding run at p (in a file ending avail bytes
 * after p), or 0. */
size_t obx_pad_parse(const uint8_t *p, size_t avail);
/* Writes the header of a len-byte padding run (OBX_PAD_HDR..OBX_PAGE-1). */
void obx_pad_seal(uint8_t *pad, size_t len);

/* Writes the header in front of the len payload bytes at frame + OBX_HDR. */
void obx_frame_seal(uint8_t *frame, uint64_t seq, size_t len);

/* Opens segment first_seq of kind relative to dirfd, O_CLOEXEC added. */
int obx_seg_open(int dirfd, int kind, uint64_t first_seq, int flags);

void obx_reader_init(struct obx_reader *rd);
void obx_reader_close(struct obx_reader *rd);

/* Index of the segment with that first_seq, or of the first one after it
 * (n_segs when none). */
size_t obx_seg_find(const struct obx_stream *st, uint64_t first_seq);
static inline uint64_t obx_end_ord(const struct obx_stream *st)
{
	const struct obx_seg *s = &st->segs[st->n_segs - 1];

	return s->base_ord + s->n;
}
static inline int obx_pos_cmp(const struct obx_pos *a, const struct obx_pos *b)
{
	if (a->seg != b->seg)
		return a->seg < b->seg ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}
struct obx_pos obx_pos_start(const struct obx_stream *st, uint64_t seq);
struct obx_pos obx_pos_end(const struct obx_stream *st, uint64_t seq);

/*
 * The next valid frame at or after *pos, up to the durable end of the
 * stream. 1: *fr set and *pos moved just past it; 0: none; -errno on a read
 * error. Damage is stepped over and counted in *resyncs.
 */
int obx_read_frame(const struct obx_stream *st, struct obx_reader *rd, struct obx_pos *pos,
		   struct obx_frame *fr, uint64_t *resyncs);

/* Replays the segments listed in st (sorted, metadata unknown): fills their
 * metadata, sizes ending at their last valid frame. rd is scratch. */
void obx_stream_scan(struct obx_stream *st, struct obx_reader *rd);
/* Opens the newest segment for appending, cutting a torn tail first, or
 * starts a new one (named next_seq, or above the newest name) when there
 * is none or it cannot be used. */
int obx_stream_activate(struct obx_stream *st, uint64_t next_seq);
/* Adds the segment files of st's kind found in dirfd to st->segs, sorted. */
int obx_stream_list(struct obx_stream *st);

/* Writes what the buffer holds beyond the file (cutting the file back first
 * when a failure left it uncertain); no fdatasync. The bytes survive a
 * killed process, not a power cut. */
int obx_stream_flush(struct obx_stream *st);
/* Flushes and fdatasyncs; on success the frames become durable (segment
 * metadata updated, buffer emptied). A failed fdatasync cuts the file back
 * to its durable size so that the whole buffer is written again. */
int obx_stream_sync(struct obx_stream *st);
/* Syncs, then starts segment first_seq as the active one. */
int obx_stream_roll(struct obx_stream *st, uint64_t first_seq);
/* Queues one sealed frame; the caller checked there is room. */
void obx_stream_put(struct obx_stream *st, const uint8_t *frame, size_t len, uint64_t seq,
		    int64_t ts_ms, int64_t now_ms);
/* Takes back the frame of len bytes the last put queued. */
void obx_stream_unput(struct obx_stream *st, size_t len);
/* Unlinks the oldest segment (never the active one) and fsyncs the dir. */
int obx_stream_remove_oldest(struct obx_stream *st);
void obx_stream_free(struct obx_stream *st);

/* Cursor file cursor-<sink>: the last acknowledged seq of each stream,
 * magic "OBXC", version, sink, both seqs (u64 LE) and a CRC32; 28 bytes. */
int obx_cursor_write(int dirfd, const char *sink, const uint64_t ack[OBX_NKINDS]);
/* 1 and ack[] set; 0 when there is none; -EBADMSG when it is unusable. */
int obx_cursor_read(int dirfd, const char *sink, uint64_t ack[OBX_NKINDS]);
/* Removes temp files left by interrupted cursor writes. */
void obx_cursor_clean(int dirfd, const char *sink);

#endif
