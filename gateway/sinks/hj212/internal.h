/*
 * internal.h - what the files of the HJ 212 uplink share: the sink's
 * state and the calls between uplink.c (the sink's table, delivery: one
 * message at a time, its 9014, resends), uplink_conn.c (name lookup,
 * non-blocking connect, backoff, reading and writing the socket),
 * uplink_msg.c (outbox records into messages: the 2011 snapshot, the
 * minute-data window, period flags, 2081) and uplink_req.c (what the
 * platform asks for). Not part of the sink's API; tests include it.
 */
#ifndef OUTFALL_SINK_HJ212_INTERNAL_H
#define OUTFALL_SINK_HJ212_INTERNAL_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uplink.h"
#include "base/filestamp.h"
#include "base/log.h"
#include "base/param.h"
#include "base/record.h"
#include "config/config.h"
#include "encode/encode.h"
#include "sinks/sink.h"

#define HJ_PARTS_MAX 8            /* packets one record may be split into */
#define HJ_MSG_MAX (HJ_PARTS_MAX * HJ212_FRAME_MAX)
#define HJ_RX_MAX 8192            /* bytes read and not yet parsed */
#define HJ_REPLY_MAX 65536        /* replies to the platform, queued */
#define HJ_PASS_RECS 2048         /* outbox records looked at in one pass */
#define HJ_CONNECT_MIN_MS 1000    /* backoff before a reconnect, doubling */
#define HJ_CONNECT_MAX_MS 60000
#define HJ_DNS_POLL_MS 20         /* how often a pending lookup is looked at */
#define HJ_PATH_MAX 4096

enum hj_conn { HJ_IDLE, HJ_RESOLVING, HJ_CONNECTING, HJ_UP };

/* A getaddrinfo_a request and everything its resolver thread reads or
 * writes, in one block: if it cannot be stopped when the sink goes, the
 * block is left to the thread rather than freed under it. */
struct hj_lookup {
	struct gaicb cb;
	struct gaicb *list[1];
	struct addrinfo hints;
	char host[CFG_HJ212_HOST_MAX + 1];
	char port[8];
};

/* One message on its way: its packets (parts of a split record, each with
 * its own QN) back to back in buf. With ack, each part waits for the 9014
 * carrying its QN before the next one goes. */
struct hj_msg {
	bool active;
	int cn;
	int n;                        /* parts */
	int part;                     /* the part being sent or waited for */
	size_t off[HJ_PARTS_MAX];     /* where part i starts in buf */
	size_t len[HJ_PARTS_MAX];
	char qn[HJ_PARTS_MAX][HJ212_QN_LEN + 1];
	size_t sent;                  /* bytes of the current part written */
	bool waiting;                 /* written whole; its 9014 is awaited */
	int64_t deadline_ms;          /* mono: resend when no 9014 by then */
	int tries;                    /* sends of the current part */
	uint64_t ack_seq;             /* outbox seq it completes, 0 none */
	char buf[HJ_MSG_MAX];
};

/* The 2011 snapshot: each parameter's latest reading of the outlet, and
 * which were read since the last 2011 (dirty). */
struct hj_rtd {
	int64_t next_t_ms;            /* wall ms of the instant the snapshot
				       * describes next; 0: not started */
	bool any_dirty;
	uint64_t hold_seq;            /* last telemetry seq before the first
				       * dirty reading (its polls are not sent) */
	bool dirty[P_COUNT];
	double v[P_COUNT];            /* NaN: no value, flag only */
	char flag[P_COUNT];
};

/* Worst data flag seen per parameter in the current and the previous
 * minute, hour and day (for the period records' -Flag). */
struct hj_pflags {
	int64_t start[AGG_COUNT][2];  /* [0] current, [1] previous; 0: none */
	char f[AGG_COUNT][2][P_COUNT];/* 0: nothing abnormal seen */
};

/* min_interval_min minute aggregates into one 2051. */
struct hj_minwin {
	bool open;
	int64_t start_ms, end_ms;     /* the window, wall ms */
	uint64_t hold_seq;            /* last telemetry seq before its first minute */
	struct rec_aggregate a;       /* count, min, max, cou summed so far */
	double wsum[REC_MAX_VALUES];  /* sum of avg x weight */
	double w[REC_MAX_VALUES];     /* sum of weights */
	char flags[REC_MAX_VALUES];
};

/* A back-fill the platform asked for (2051/2061/2031 with BeginTime/EndTime). */
#define HJ_BF_GROUP 32            /* stored periods in one 2051 window */
struct hj_backfill {
	bool active;
	int cn;
	int period;                   /* enum agg_period */
	int64_t next_ms, end_ms;      /* what is left of [begin, end] */
	struct hj212_msg req;         /* the request (header only), for its 9012 */
	unsigned sent;
};

struct uplink_counters {
	uint64_t rtd_skipped;         /* 2011 older than max_rtd_age_s */
	uint64_t requests;            /* platform requests answered */
	uint64_t refused;             /* requests refused (PW, MN, unknown, malformed) */
	uint64_t bad_frames;          /* garbage, bad length, CRC errors read */
	uint64_t stray_replies;       /* 9014 for no QN we wait for */
	uint64_t not_sent;            /* parameters without a code, not sent */
	uint64_t backfilled;          /* packets sent for back-fill */
};

struct uplink {
	struct cfg_hj212 cfg;         /* copied; strings owned */
	char outlet[REC_NAME];
	double range_max[P_COUNT];    /* the outlet's instrument ranges: above
				       * it, flag T; NaN: none */
	char *state_path;             /* data_dir/hj212-<name>.state, owned */
	int rtd_cfg, min_cfg, timeout_cfg, retries_cfg; /* the config's values,
				       * which a platform's settings replaced */
	char *history_dir;            /* NULL: no local history, no back-fill */
	struct outbox *ob;            /* borrowed */
	int idx;
	int64_t started_wall_ms;      /* RestartTime of 2081 */
	int64_t (*wall)(void);        /* the wall clock, injectable */
	struct hj212_fmt fmt;         /* local codes; offset set per message */
	/* connection */
	enum hj_conn conn;
	int fd;
	struct hj_lookup *lk;         /* the lookup in progress, owned; NULL none */
	struct hj_lookup *stale;      /* one that timed out and still runs, owned */
	char port_text[8];
	struct addrinfo *ai;          /* getaddrinfo's result, owned */
	int64_t deadline_ms;          /* mono: lookup or connect gives up */
	int64_t retry_ms;             /* mono: next connect attempt (IDLE) */
	int64_t backoff_ms;
	int64_t backoff_min_ms, backoff_max_ms;
	uint64_t rng;
	bool said_up;                 /* "connected" logged since the last loss */
	/* reading */
	char rx[HJ_RX_MAX];
	size_t rx_len;
	/* writing */
	char reply[HJ_REPLY_MAX];     /* queued replies, written between parts */
	size_t reply_len, reply_sent;
	struct hj_msg msg;
	bool sent_2081;               /* on this connection */
	int64_t last_qn_ms;
	/* building */
	uint64_t last_seq;            /* last telemetry seq looked at */
	bool has_stash;               /* a record to look at again first */
	struct record stash;
	struct hj_rtd rtd;
	struct hj_pflags pf;
	struct hj_minwin mw;
	struct hj_backfill bf;
	bool said_not_sent;
	/* reporting */
	struct sink_stats stats;
	struct uplink_counters n;
	struct complaint c_conn;
	struct complaint c_rx;
	char last_error[SINK_ERROR_MAX];
	int64_t last_error_wall_ms;
	struct filestamp pw_stamp;
};

/* uplink.c */
void uplink_error(struct uplink *u, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Drops the connection, forgets what was in flight and rewinds the outbox
 * to the acked position; the next connect waits for the backoff. */
void uplink_lost(struct uplink *u, int64_t now_ms, const char *why);
/* The next QN's wall ms for a message of n parts (strictly rising). */
int64_t uplink_qn_ms(struct uplink *u, int n);
/* Offset of the outlet's local time from UTC at wall ms. */
int32_t uplink_utc_off_min(int64_t wall_ms);
/* Frames data (a CP data area) as cn into m (split when needed). 0 or -errno. */
int uplink_build(struct uplink *u, struct hj_msg *m, int cn, bool ack, const char *data,
		 size_t len);

/* uplink_conn.c */
/* Resolves and connects as due; completes a connect that POLLOUT says is done. */
void uplink_conn_step(struct uplink *u, const struct pollfd *p, int64_t now_ms);
int64_t uplink_conn_next_ms(const struct uplink *u);
void uplink_conn_close(struct uplink *u);
void uplink_conn_free(struct uplink *u);
/* Reads what the socket has into rx; false when the peer is gone. */
bool uplink_conn_read(struct uplink *u, int64_t now_ms);
/* Writes len bytes from p: bytes written (maybe 0), or -1 when the peer is gone. */
ssize_t uplink_conn_write(struct uplink *u, const char *p, size_t len, int64_t now_ms);
void uplink_backoff(struct uplink *u, int64_t now_ms);

/* uplink_msg.c */
/* Reads the outbox until a message is built into u->msg (true) or nothing
 * more is to be sent now (false: what was read is acked if it may be). */
bool uplink_next_msg(struct uplink *u);
/* The 2011 of polls (records of one instant; other outlets' are ignored)
 * into u->msg at once, as the snapshot would send it once their interval
 * is over: outfallctl's preview. false when nothing was built. */
bool uplink_msg_rtd_now(struct uplink *u, const struct record *polls, size_t n);
/* After a rewind: forget the snapshot and the minute window. */
void uplink_msg_reset(struct uplink *u);
/* The minute-data window as a pure accumulator (back-fill uses it too):
 * begin, add minute aggregates with the flag of each of their parameters,
 * finish (means, D for parameters without readings). */
void uplink_mw_begin(struct hj_minwin *w, const char *outlet, int64_t start_ms,
		     int64_t end_ms);
void uplink_mw_add(struct hj_minwin *w, const struct rec_aggregate *a, const char *flags);
void uplink_mw_finish(struct hj_minwin *w);
/* The data flag of one reading (T above the outlet's instrument range). */
char uplink_value_flag(const struct uplink *u, const struct rec_value *rv);
/* How bad a data flag is (0: N or none): the worst flags a period. */
int uplink_flag_rank(char f);
/* Start of the local minute, hour or day (enum agg_period) holding wall ms t. */
int64_t uplink_period_start(int period, int64_t t);
/* 2081 (the logger's start time) into m. */
int uplink_msg_2081(struct uplink *u, struct hj_msg *m);

/* uplink_req.c */
/* One parsed frame from the platform that is not a 9014. */
void uplink_request(struct uplink *u, const struct hj212_msg *m, int64_t now_ms);
/* Back-fill packets into the reply queue while it has room. */
void uplink_backfill_step(struct uplink *u);
/* Queues bytes for the platform (replies). false when the queue is full. */
bool uplink_reply(struct uplink *u, const char *p, size_t len);
/* The intervals and timeouts the platform set, from the state file. */
void uplink_state_load(struct uplink *u);

#endif
