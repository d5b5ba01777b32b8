/*
 * outbox.h - the durable, append-only outbox between compliance and the
 * sinks (DESIGN §2, §7): the on-disk replacement for queue.h, with the same
 * calls under outbox_* names plus the durability hooks (tick, next_ms, gaps).
 *
 * Layout of the directory:
 *   seg-<first seq, 16 hex>.log   telemetry segments, oldest first
 *   alr-<first seq, 16 hex>.log   alert segments (a separate stream)
 *   cursor-<sink name>            each sink's acknowledged position
 * Every record is one frame: magic/version 0xB1, payload length (u16 LE),
 * CRC32 of length+seq+payload (u32 LE), seq (u64 LE), then the payload of
 * codec.h - 15 bytes of framing. seq is one counter over both streams,
 * strictly increasing across restarts. Between frames there may be padding
 * to a 4 KiB page boundary after a telemetry sync (opts.pad_backlog_bytes):
 * magic 0xB0, total length (u16 LE, 7..4095), CRC32 of that length (u32
 * LE), zeros; readers and replay step over it. Software before the padding
 * reads it as damage (stepped over, with a log line; no record is lost).
 *
 * Durability. Every append is written with write(2) before outbox_append
 * returns - to its segment, or with opts.stage_dir to a staging file on a
 * RAM disk (stage.c; the batch goes to the segment at the sync) - so a
 * killed process (kill -9) loses nothing. An alert is also
 * fdatasync'ed before it returns. Telemetry is fdatasync'ed in batches, at
 * most fsync_ms after it was appended (outbox_tick does it; sooner when the
 * 64 KiB of unsynced bytes kept for a retry fill up): a power cut loses at
 * most the last fsync_ms of telemetry, never an alert. A record becomes
 * visible to the sinks (next, unsent, unacked) only once it is fdatasync'ed,
 * so nothing can be acknowledged that a power cut could still take away, and
 * no seq a sink has seen is reused (telemetry reaches the sinks up to
 * fsync_ms after it was appended; alerts at once).
 * Segment creation and removal fsync the directory. Cursor files are written
 * temp -> fsync -> rename -> directory fsync, at most every cursor_ms
 * (outbox_tick) and on flush and close; after a crash a sink resumes from its last
 * persisted cursor and gets the records after it again (at-least-once).
 *
 * Two streams, alerts first. outbox_next hands a sink its unsent alerts
 * before its unsent telemetry, so a backlog drain never delays a live alert.
 * Within each stream records come in seq order, so seq increases on each
 * MQTT topic family; across streams an alert may overtake older telemetry.
 * At most OUTBOX_ALERT_WINDOW alerts per sink are handed out unacknowledged;
 * beyond that outbox_next serves telemetry until an alert is acked.
 *
 * What an ack means. outbox_ack(sink, seq) says the peer confirmed the
 * record with that seq, which outbox_next handed to this sink. It
 * acknowledges that record and every record handed out before it on the same
 * stream (so a batch of telemetry is acked with its last seq, and each alert
 * with its own seq; acking every record one by one is always right). It
 * never acknowledges records of the other stream, nor records not yet handed
 * out. An ack for a seq that is not handed out and unacknowledged (stale, or
 * from before a rewind) is ignored. A sink that has no use for alerts still
 * acks them, or they hold its alert window and its cursor.
 *
 * Disk cap. Segment bytes are capped at max_backlog_bytes. When an append
 * would pass it, whole telemetry segments are removed oldest first; alerts
 * are never removed to make room (if alerts alone fill the cap, new
 * telemetry is refused with -ENOSPC instead). Records removed before a sink
 * acked them count in outbox_dropped(sink) and in a gap (outbox_take_gap).
 *
 * Corruption. Opening replays every segment: a torn or corrupt tail of the
 * newest segment of a stream is truncated, a corrupt record elsewhere is
 * stepped over by resynchronising on the next valid frame (magic, plausible
 * length, matching CRC, rising seq), a corrupt or missing cursor falls back
 * to the oldest record (re-delivery, never loss) - each with a log line and
 * a counter. A segment that cannot be read at all is reported and its
 * records are lost; if it is the newest, a new one is started beside it and
 * seqs jump by 2^32 so none it may hold is issued again. Only a directory
 * that cannot be created, locked or written makes outbox_open fail.
 *
 * Memory does not grow with the backlog: per segment 56 bytes of counters,
 * per sink and stream two 8 KiB read buffers, one 64 KiB write buffer -
 * about 134 KiB of heap for two sinks, whether 10 or 10 million records wait.
 * Full disk: with opts.reserve_bytes, room kept for alerts (reserve.c).
 * Blocking: each call does at most a few small writes and one fdatasync per
 * stream (an alert append, a full write buffer, a roll-over, a tick); on an
 * SD card an fdatasync can take tens of ms. Single-threaded: loop only.
 * The outbox logs its own I/O errors (rate-limited); callers need not.
 */
#ifndef OUTFALL_OUTBOX_H
#define OUTFALL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/record.h"
#include "codec.h" /* records as bytes, for a sink that stores them (history) */

#define OUTBOX_MAX_SINKS 4
#define OUTBOX_SINK_NAME 16          /* bytes in a sink name, with NUL */
#define OUTBOX_ALERT_WINDOW 64       /* alerts handed out unacked, per sink */
#define OUTBOX_MAX_SEGMENTS 65536    /* per stream, a hard bound on metadata */

#define OUTBOX_DEFAULT_FSYNC_MS 1000
#define OUTBOX_DEFAULT_SEGMENT_BYTES (4u << 20)
#define OUTBOX_DEFAULT_MAX_BACKLOG_BYTES (64u << 20)
#define OUTBOX_DEFAULT_PAD_BACKLOG_BYTES (256u << 10)

struct outbox;

struct outbox_opts {
	int fsync_ms;             /* telemetry sync batch, 0..600000; 0 = every append */
	size_t segment_bytes;     /* roll over past this, >= 4096; 0 = default */
	size_t max_backlog_bytes; /* cap on segment bytes, >= 4 segments; 0 = default */
	/* Cursor files are rewritten at most this often (and on flush/close):
	 * after a crash a sink re-sends at most this much (harmless repeats),
	 * and the SD card is spared a file rewrite per sink per fsync_ms.
	 * 0..3600000 ms; 0 = the same as fsync_ms. */
	int cursor_ms;
	/* Bytes kept on disk for alerts (reserve.c): released when an alert
	 * meets a full disk, so that the alert is stored while telemetry is
	 * refused. 0 (the default) keeps none; at most 16 MiB. */
	size_t reserve_bytes;
	/* A directory on a RAM disk (run_dir) for telemetry between syncs
	 * (stage.c): a killed process still loses nothing, and the segment is
	 * written once per fsync_ms instead of once per record. NULL: none. */
	const char *stage_dir;
	/* A telemetry sync is padded to a 4 KiB page boundary (when the next
	 * batch would not fit the rest of the page) while at most this many
	 * synced bytes, and an eighth of the cap, wait for some sink's ack:
	 * then the next batch does not rewrite a partly filled page (on an SD
	 * card a sync costs the pages it touches). Above it - an outage -
	 * nothing is padded and the disk holds as many records as without.
	 * 0: never. */
	size_t pad_backlog_bytes;
	/* Names of the sinks, [a-z0-9_] up to 15 bytes, naming their cursor
	 * files; NULL (or no opts) names sink i by its index, "0".."3". */
	const char *sink_names[OUTBOX_MAX_SINKS];
};

struct outbox_stats {
	uint64_t appended;          /* records outbox_append accepted */
	uint64_t payload_bytes;     /* codec bytes of those records */
	uint64_t synced;            /* successful fdatasyncs of segments */
	uint64_t bytes_written;     /* bytes given to write(2) for segments */
	uint64_t pad_bytes;         /* of them, padding to a page boundary */
	uint64_t corrupt_found;     /* bad regions, records or files at replay */
	uint64_t truncated_tail;    /* torn tails cut off at replay */
	uint64_t read_resyncs;      /* bad regions stepped over while reading */
	uint64_t cursor_fallbacks;  /* corrupt cursor files, restarted from oldest */
	uint64_t cursor_writes;     /* cursor files persisted */
	uint64_t io_errors;         /* failed system calls */
	uint64_t dropped_telemetry; /* polls lost: removed by the cap before every
				     * sink acked them, or not stored (I/O error) */
	uint64_t dropped_alerts;    /* alerts not stored after an I/O error */
	uint64_t segments_deleted;  /* segments every sink had passed */
	uint64_t reserve_released;  /* times the alert reserve was given up */
	uint64_t segments;          /* segment files now, both streams */
	uint64_t disk_bytes;        /* bytes in them plus the unsynced buffer */
};

/* One drop episode, for a data_gap alert. Seqs are 0 when only records that
 * were never stored (I/O errors) were lost. Timestamps are wall-clock ms of
 * the lost records (for records removed by the cap: of their segments). */
struct outbox_gap {
	uint64_t records;   /* records lost in this episode (the laggiest sink's count) */
	uint64_t first_seq; /* lowest seq removed, 0 if none */
	uint64_t last_seq;  /* highest seq removed, 0 if none */
	int64_t first_ts_ms;
	int64_t last_ts_ms;
};

/* Fills *o with the defaults. */
void outbox_opts_default(struct outbox_opts *o);

/*
 * Opens (creating the directory if missing, one level) and replays the
 * outbox in dir for n_sinks sinks (1..OUTBOX_MAX_SINKS; sink i keeps file
 * cursor-<its name>, so a sink that was not there before starts from the
 * oldest record, and one that is gone leaves its file unused). o may be NULL
 * for defaults. The directory is locked (flock): a second open fails with
 * -EBUSY. 0 and *out set, or -errno with *out untouched; the caller owns the
 * outbox and frees it with outbox_close.
 */
int outbox_open(const char *dir, const struct outbox_opts *o, int n_sinks, int64_t now_mono_ms,
		struct outbox **out);

/* Syncs pending telemetry, persists cursors, frees. NULL is a no-op. */
void outbox_close(struct outbox *ob);

/*
 * Stores a copy of r under the next seq (r->seq is ignored; the seq is given
 * back in *seq_out when seq_out is not NULL). 0 once the record is accepted
 * (an alert: written and fdatasync'ed; telemetry: written, fdatasync'ed
 * within fsync_ms). -EINVAL for a record the codec cannot represent (nothing
 * counted); -ENOSPC, -EIO, ... when it could not be stored (an I/O error, or
 * telemetry while alerts alone fill the cap): it is counted as dropped, added
 * to the gap, logged, and the outbox stays usable.
 */
int outbox_append(struct outbox *ob, const struct record *r, int64_t now_mono_ms,
		  uint64_t *seq_out);

/*
 * Like outbox_append for an alert the caller keeps and offers again until
 * it is stored: a failure is returned and logged but not counted as lost
 * nor added to the gap (it is not lost yet).
 */
int outbox_append_kept(struct outbox *ob, const struct record *r, int64_t now_mono_ms,
		       uint64_t *seq_out);

/*
 * The next record for sink to send (alerts first, see above), advancing its
 * read position; NULL when it has sent everything that is on disk (or on a
 * read error, logged; the next call retries). The record lives in a per-sink
 * buffer owned by the outbox, valid until the next outbox_next for that sink,
 * outbox_rewind or outbox_close.
 */
const struct record *outbox_next(struct outbox *ob, int sink);

/* The peer confirmed record seq: see "What an ack means" above. */
void outbox_ack(struct outbox *ob, int sink, uint64_t seq);

/* Resend from the oldest unacknowledged record of each stream. */
void outbox_rewind(struct outbox *ob, int sink);

size_t outbox_unsent(const struct outbox *ob, int sink);  /* on disk, after read pos */
size_t outbox_unacked(const struct outbox *ob, int sink); /* on disk, after acked pos */
uint64_t outbox_dropped(const struct outbox *ob, int sink); /* since open */
/* Wall ms of the sink's oldest unacknowledged record on disk (the older of
 * the two streams' first unacked records); 0 if none. Reads one frame. */
int64_t outbox_oldest_unacked_ms(const struct outbox *ob, int sink);

/* Monotonic ms when outbox_tick has work (a telemetry sync or a cursor
 * write), INT64_MAX when none. */
int64_t outbox_next_ms(const struct outbox *ob);

/* Does what is due: the batched telemetry fdatasync, cursor files of sinks
 * whose position moved, removal of segments every sink has passed. Errors
 * are counted, logged and retried fsync_ms later. */
void outbox_tick(struct outbox *ob, int64_t now_mono_ms);

/* Syncs pending telemetry and writes moved cursors now (e.g. on SIGTERM,
 * before the sinks' last flush). 0 or the first -errno. */
int outbox_flush(struct outbox *ob, int64_t now_mono_ms);

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *out);

/* true once per drop episode: *out gets what was lost since the last call,
 * and the episode is closed. false (out untouched) when nothing was lost. */
bool outbox_take_gap(struct outbox *ob, struct outbox_gap *out);

#endif
