/*
 * internal.h - what the files of the InfluxDB sink share: the
 * sink's state and the calls between influx.c (loop glue and HTTP),
 * setup.c (settings, secrets, libcurl), batch.c
 * (batches, status handling, splitting, acks) and deadletter.c
 * (the quarantine file). Not part of the sink's API.
 *
 * A batch is the body of one request plus a table of the records in it:
 * each record's seq, where its lines start in the body, how many lines it
 * has and whether it is an alert. Any run of consecutive records is then a
 * contiguous slice of the body, so a refused batch is split and resent
 * slice by slice without reading the outbox again, and the state of a split
 * survives any number of retries.
 */
#ifndef OUTFALL_SINK_INFLUX_INTERNAL_H
#define OUTFALL_SINK_INFLUX_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "base/filestamp.h"
#include "base/log.h"
#include "base/record.h"
#include "config/config.h"
#include "encode/encode.h"
#include "sinks/sink.h"

#define INFLUX_BODY_MAX (512 * 1024)   /* hard cap of one request body */
/* Records per batch. The shortest record line is over 60 bytes, so a full
 * body holds fewer than this; the table costs 16 bytes a record. */
#define INFLUX_BATCH_RECS (INFLUX_BODY_MAX / 64)
/* A split halves a range of at least 2 records and stacks the right half,
 * so the stack never holds more than log2(INFLUX_BATCH_RECS) entries. */
#define INFLUX_SPLIT_DEPTH 16
#define INFLUX_RESP_MAX 512            /* response body kept for logs */
#define INFLUX_MSG_MAX 768
#define INFLUX_DL_NAME "deadletter-influx.lp"
#define INFLUX_DL_OLD_NAME "deadletter-influx.lp.1"
#define INFLUX_DL_MAX_BYTES (16u << 20) /* rotate before the file passes this */
#define INFLUX_DL_ERR_MAX 200          /* bytes of the server's error kept */
#define INFLUX_PATH_MAX 1024           /* the secret file's path */
/* Quarantined records get a log line each, up to this many a minute; past
 * that the complaint rate-limits them (and counts the ones it holds back). */
#define INFLUX_QLOG_BURST 20
#define INFLUX_QLOG_WINDOW_MS 60000

_Static_assert(INFLUX_BATCH_RECS <= 1 << (INFLUX_SPLIT_DEPTH - 1),
	       "influx: the split stack is too shallow for a full batch");
_Static_assert(REC_MAX_VALUES <= 255 && REC_MAX_SINKS + 1 <= 255,
	       "influx: a record's line count must fit in a byte");

/* Why the last request failed; a change of reason is logged at once. */
enum influx_fail {
	FAIL_NONE, FAIL_NET, FAIL_SERVER, FAIL_AUTH, FAIL_NODB, FAIL_TOOBIG, FAIL_DEADLETTER
};

enum { INFLUX_REC_ALERT = 1, INFLUX_REC_UNENCODABLE = 2 };

/* One record of the batch. Its lines are body[off, next record's off). */
struct influx_rec {
	uint64_t seq;
	uint32_t off;
	uint8_t points; /* lines it gave (0: an empty poll, or unencodable) */
	uint8_t flags;  /* INFLUX_REC_* */
};

/* A right half still to resolve once everything before it is. */
struct influx_split {
	int hi;       /* the half is [end of the range before it, hi) */
	int64_t mark; /* batch quarantined count when its left sibling began;
		       * -1 when it came from a 413 (nothing to infer) */
};

struct influx_batch {
	struct influx_rec *recs; /* INFLUX_BATCH_RECS, owned */
	int n;                   /* records in the batch */
	int points;              /* lines in the body */
	int alerts;              /* alerts among them: send without waiting */
	bool committed;          /* sent at least once: nothing more is added */
	int done;                /* records [0, done) are acked */
	int hi;                  /* the request carries records [done, hi) */
	int depth;               /* entries on the split stack */
	int64_t quarantined;     /* records of this batch quarantined so far */
	struct influx_split stack[INFLUX_SPLIT_DEPTH];
};

/* The dead-letter file: quarantined lines with a comment line each. */
struct influx_dl {
	char *dir;        /* data_dir, owned */
	size_t max_bytes; /* rotate to .1 before the file would pass this */
};

struct influx {
	struct outbox *ob;        /* borrowed */
	int idx;                  /* our sink index in ob */
	char *gateway;            /* gateway tag, owned */
	char *where;              /* "database \"x\" at URL", for logs, owned */
	char *nodb_msg;           /* the 404 explanation, owned */
	int flush_ms;
	int batch_limit;          /* points per request; batch_max, lowered by 413 */
	bool gzip;
	bool curl_inited;         /* curl_global_init() to balance */
	CURLM *multi;
	CURL *easy;               /* reused, so the connection is kept */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct pollfd fds[SINK_MAX_FDS]; /* sockets curl wants polled, events */
	int n_fds;
	int64_t timer_ms;         /* curl's timeout deadline, INT64_MAX if none */
	int64_t now_ms;           /* now of the current pass, for callbacks */
	struct lp_buf body;       /* INFLUX_BODY_MAX bytes, owned */
	struct influx_batch b;
	bool has_pending;         /* pending was read but did not fit */
	struct record pending;
	bool in_flight;
	bool flushing;            /* flush(): send without waiting */
	int64_t wait_since_ms;    /* when unsent data was first seen, 0 none */
	z_stream z;
	bool z_ready;
	unsigned char *gz;        /* compressed body, gz_cap bytes, owned */
	size_t gz_cap;
	char resp[INFLUX_RESP_MAX];
	size_t resp_len;
	bool backing_off;         /* no request before retry_at_ms */
	int64_t retry_at_ms;      /* then resend at once, past flush_ms */
	int64_t backoff_ms;       /* the next delay before jitter */
	int64_t backoff_min_ms;
	int64_t backoff_max_ms;
	uint64_t rng;             /* xorshift state for jitter */
	enum influx_fail last_fail;
	struct influx_dl dl;
	struct complaint c_write; /* retryable failures */
	struct complaint c_split; /* batches refused and split */
	struct complaint c_reject;/* quarantined records past the burst */
	int64_t qlog_since_ms;    /* start of the current quarantine log window */
	int qlog_n;               /* lines logged in it */
	char last_error[SINK_ERROR_MAX]; /* the last failure or refusal, for status */
	int64_t last_error_wall_ms;
	char secret_file[INFLUX_PATH_MAX]; /* password_file or token_file, "" none */
	struct filestamp secret_stamp;     /* as it was when read */
	struct sink_stats stats;
	/* The permit's limit lines (sink_influx_set_limits, limits.c): not
	 * outbox records, so outside the batch; sent on a request of their own
	 * before the next batch and retried like one until a 2xx. */
	char *lim;                /* the set to send, lim_len bytes, owned; NULL none */
	size_t lim_len;
	int lim_lines;
	char *lim_next;           /* a newer set given while lim was in flight, owned */
	size_t lim_next_len;
	int lim_next_lines;
	bool lim_in_flight;       /* the request in flight (or starting) carries lim */
};

/* setup.c: checks cfg, allocates the buffers and sets up
 * libcurl. 0 or -errno (logged); on failure the caller frees s with the
 * sink's free, which copes with a half-built one. */
int influx_setup(struct influx *s, const struct cfg_influx *cfg, const char *gateway_id,
		 const char *data_dir);

/* influx.c: libcurl's callbacks (userp is the struct influx), the
 * retry timer and the response text for logs (bounded, one line). */
int influx_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp);
int influx_timer_cb(CURLM *multi, long timeout_ms, void *userp);
size_t influx_write_cb(char *data, size_t size, size_t nmemb, void *userp);
void influx_schedule_retry(struct influx *s, bool http);
/* Keeps msg as the last error, for status (no count, no log). */
void influx_note_error(struct influx *s, const char *msg);
const char *influx_resp_text(struct influx *s);

/* batch.c */
void influx_batch_reset(struct influx *s);
void influx_batch_fill(struct influx *s);
bool influx_batch_full(const struct influx *s);
void influx_batch_commit(struct influx *s);
/* The bytes of records [done, hi); resolves empty ranges on the way.
 * false when the batch completed without needing a request. */
bool influx_batch_range(struct influx *s, const char **data, size_t *len);
void influx_judge(struct influx *s, long code);
/* A retryable failure: logged (rate-limited), counted, the batch given back
 * to the outbox unless a split is under way, a retry scheduled. */
void __attribute__((format(printf, 4, 5)))
influx_fail(struct influx *s, enum influx_fail why, int level, const char *fmt, ...);

/* influx.c: whether sk was made by sink_influx_new() */
bool influx_is(const struct sink *sk);

/* limits.c */
/* The limit lines wait and no batch is under way: send them first. */
bool influx_limits_due(const struct influx *s);
/* The request that carried them ended: res, and code when res is OK. */
void influx_limits_done(struct influx *s, CURLcode res, long code);
/* They were not delivered and are retried (influx_fail calls this). */
void influx_limits_failed(struct influx *s);
void influx_limits_free(struct influx *s);

/* deadletter.c */
int influx_dl_init(struct influx_dl *dl, const char *data_dir);
void influx_dl_free(struct influx_dl *dl);
/* Appends "# <time> HTTP <status>: <err>" and lines (len bytes, ending in
 * '\n') as one entry, then fdatasyncs. 0 or -errno; on failure the file is
 * cut back to where it was, so no torn entry stays behind. */
int influx_dl_append(struct influx_dl *dl, int64_t wall_ms, long status, const char *err,
		     size_t err_len, const char *lines, size_t len);

#endif
