/*
 * internal.h - the outbox's state, shared by open.c (open, replay, close)
 * and outbox.c (append, read, ack, sync). Nothing outside gateway/outbox/
 * includes it; segment.h has the files underneath.
 */
#ifndef OUTFALL_OUTBOX_INTERNAL_H
#define OUTFALL_OUTBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "outbox.h"
#include "segment.h"

#define OBX_TEL_WBUF (64u << 10) /* telemetry gathered between fdatasyncs */
#define OBX_ALR_WBUF 1024        /* one alert frame: each is synced at once */
#define OBX_MAX_FSYNC_MS 600000
#define OBX_MAX_CURSOR_MS 3600000
#define OBX_CURSOR_AHEAD_MAX (1ULL << 40) /* beyond it a cursor is garbage */
#define OBX_SEQ_JUMP (1ULL << 32)         /* years of records at any real rate */

_Static_assert(OBX_ALR_WBUF >= OBX_FRAME_MAX, "an alert frame must fit the buffer");

struct obx_sink {
	struct obx_pos read[OBX_NKINDS];      /* next record to hand out */
	struct obx_pos ack[OBX_NKINDS];       /* first record not acknowledged */
	struct obx_reader rd[OBX_NKINDS];     /* window for read */
	struct obx_reader ack_rd[OBX_NKINDS]; /* window for acks, behind rd */
	uint64_t ring[OUTBOX_ALERT_WINDOW];   /* alerts handed out, unacked, ascending */
	unsigned ring_head;
	unsigned ring_n;
	uint64_t dropped;                     /* removed by the cap before its ack */
	bool dirty;                           /* ack moved since the cursor file */
	struct record rec;                    /* what outbox_next returned last */
};

struct outbox {
	int dirfd;                    /* the directory, flock'ed */
	int n_sinks;
	char names[OUTBOX_MAX_SINKS][OUTBOX_SINK_NAME]; /* cursor file names */
	int fsync_ms;
	int cursor_every_ms;          /* cursor files at most this often */
	uint64_t segment_bytes;
	uint64_t max_backlog;
	uint64_t pad_backlog;         /* min(opts.pad_backlog_bytes, cap / 8) */
	uint64_t next_seq;            /* seq of the next append */
	struct obx_stream st[OBX_NKINDS];
	struct obx_sink *sinks;       /* n_sinks */
	int64_t cursor_ms;            /* last cursor write attempt (monotonic) */
	int64_t now_ms;               /* latest time a caller gave us */
	struct outbox_gap gap;        /* the open drop episode */
	uint64_t reserve_bytes;       /* opts.reserve_bytes */
	bool reserve_held;            /* the reserve file is there */
	bool reserve_given;           /* released to alerts: telemetry waits */
	int64_t reserve_retry_ms;     /* when to try making it again */
	struct outbox_stats stats;
	struct complaint c_append;    /* rate-limited error lines */
	struct complaint c_sync;
	struct complaint c_cursor;
	struct complaint c_read;
};

/* stage.c: telemetry staged on a RAM disk between syncs. */
/* Opens dir's staging file, appends to the telemetry stream what it holds
 * beyond it (after a crash) and empties it; 0 or -errno (then there is no
 * staging: appends are written to the segment at once). */
int obx_stage_open(struct outbox *ob, const char *dir);

/* reserve.c: room kept for alerts on a full disk. */
/* Makes the reserve file unless there is one; 0 or -errno. */
int obx_reserve_make(struct outbox *ob, int64_t now_mono_ms);
/* Deletes it, freeing its blocks for an alert; false if there was none. */
bool obx_reserve_release(struct outbox *ob);
/* Makes it again once a minute while it is missing. */
void obx_reserve_tick(struct outbox *ob, int64_t now_mono_ms);
/* Telemetry may be stored: 0, or -ENOSPC while the reserve has been given
 * to alerts and the disk has no room to make it again (tried at most once
 * a second), so telemetry never eats the room alerts were given. */
int obx_reserve_gate(struct outbox *ob, int64_t now_mono_ms);

/* Drops the oldest telemetry segments until extra more bytes fit the cap;
 * -ENOSPC when a telemetry record of extra bytes still cannot be placed. */
int obx_enforce_cap(struct outbox *ob, int kind, size_t extra);

#endif
