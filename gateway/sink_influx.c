/*
 * sink_influx.c - InfluxDB sink: batches queue records into line protocol
 * and POSTs them through the libcurl multi interface, driven by the loop's
 * poll() (see sink_influx.h for the contract and the blocking bound).
 *
 * State: at most one batch, built in a fixed body buffer while no request
 * is in flight and sent as is. On a retryable failure the queue is rewound
 * and the batch rebuilt from the acked position, so a retry never resends a
 * record the queue has dropped meanwhile, and may carry more points.
 */
#include "sink_influx.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "lineproto.h"
#include "log.h"
#include "queue.h"

#ifndef OUTFALL_VERSION
#define OUTFALL_VERSION "dev"
#endif

#define INFLUX_BODY_MAX (512 * 1024)   /* hard cap of one request body */
#define INFLUX_URL_MAX 2048
#define INFLUX_SECRET_MAX 1024         /* password or token file */
#define INFLUX_RESP_MAX 512            /* response body kept for logs */
#define INFLUX_RESP_LOG 300            /* of which logged */
#define INFLUX_MSG_MAX 768
#define INFLUX_CONNECT_MS 5000
#define INFLUX_BACKOFF_MIN_MS 1000
#define INFLUX_BACKOFF_MAX_MS 60000
#define INFLUX_RETRY_AFTER_MAX_S 3600  /* a larger Retry-After is a server bug */

/* Why the last request failed; a change of reason is logged at once. */
enum influx_fail { FAIL_NONE, FAIL_NET, FAIL_SERVER, FAIL_AUTH, FAIL_NODB, FAIL_TOOBIG };

struct influx {
	struct queue *q;          /* borrowed */
	int idx;                  /* our sink index in q */
	char *gateway;            /* gateway tag, owned */
	char *where;              /* "database \"x\" at URL", for logs, owned */
	char *nodb_msg;           /* the 404 explanation, owned */
	int flush_ms;
	int batch_limit;          /* points per request; batch_max, halved on 413 */
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
	int batch_records;        /* records encoded into body */
	int batch_points;         /* lines in body */
	int batch_bad;        /* records in the batch that cannot be encoded */
	uint64_t batch_last_seq;  /* ack up to this on success */
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
	struct complaint c_write; /* retryable failures */
	struct complaint c_reject;/* quarantined points */
	struct sink_stats stats;
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int influx_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct influx *s = userp;
	int i = 0;

	(void)easy;
	(void)sockp;
	while (i < s->n_fds && s->fds[i].fd != fd)
		i++;
	if (what == CURL_POLL_REMOVE) {
		if (i < s->n_fds)
			s->fds[i] = s->fds[--s->n_fds];
		return 0;
	}
	if (i == s->n_fds) {
		if (s->n_fds == SINK_MAX_FDS) {
			log_err("influx: curl wants more than %d sockets", SINK_MAX_FDS);
			return -1; /* fails the transfer, which is then retried */
		}
		s->fds[s->n_fds++] = (struct pollfd){ .fd = fd };
	}
	s->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
				   ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

static int influx_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct influx *s = userp;

	(void)multi;
	s->timer_ms = timeout_ms < 0 ? INT64_MAX : s->now_ms + timeout_ms;
	return 0;
}

/* Keeps the start of the response body (error text), discards the rest. */
static size_t influx_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct influx *s = userp;
	size_t n = size * nmemb;
	size_t room = sizeof(s->resp) - 1 - s->resp_len;
	size_t take = n < room ? n : room;

	memcpy(s->resp + s->resp_len, data, take);
	s->resp_len += take;
	s->resp[s->resp_len] = '\0';
	return n;
}

/* Retry-After in seconds (the HTTP-date form is not used by InfluxDB). */
static int64_t influx_retry_after_ms(struct influx *s)
{
	struct curl_header *h;
	char *end;
	long long v;

	if (curl_easy_header(s->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return 0;
	errno = 0;
	v = strtoll(h->value, &end, 10);
	if (errno || end == h->value || *end != '\0' || v <= 0)
		return 0;
	return (v < INFLUX_RETRY_AFTER_MAX_S ? v : INFLUX_RETRY_AFTER_MAX_S) * 1000;
}

/* Delay in [3/4, 1] of the current backoff, so gateways that lost the same
 * server do not come back in step; the server's Retry-After wins if later. */
static void influx_schedule_retry(struct influx *s, bool http)
{
	int64_t base = s->backoff_ms;
	int64_t ra = http ? influx_retry_after_ms(s) : 0;
	int64_t delay;

	s->rng ^= s->rng << 13; /* xorshift64 */
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	delay = base - (int64_t)(s->rng % (uint64_t)(base / 4 + 1));
	s->backoff_ms = min64(base * 2, s->backoff_max_ms);
	if (ra > delay)
		delay = ra;
	s->retry_at_ms = s->now_ms + delay;
	s->backing_off = true;
}

static void influx_reset_batch(struct influx *s)
{
	s->body.len = 0;
	s->body.data[0] = '\0';
	s->batch_records = 0;
	s->batch_points = 0;
	s->batch_bad = 0;
	s->batch_last_seq = 0;
}

/*
 * A retryable failure: the batch goes back to the queue, the attempt is
 * counted, the reason logged through the complaint (at once when the reason
 * changed, then at a growing interval - never a line per attempt).
 */
static void __attribute__((format(printf, 5, 6)))
influx_fail(struct influx *s, enum influx_fail why, int level, bool backoff, const char *fmt, ...)
{
	char msg[INFLUX_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut log line is acceptable */
	va_end(ap);
	if (why != s->last_fail)
		memset(&s->c_write, 0, sizeof(s->c_write));
	s->last_fail = why;
	complain(&s->c_write, s->now_ms, level, "%s", msg);
	s->stats.errors++;
	s->stats.retried += (uint64_t)s->batch_records;
	queue_rewind(s->q, s->idx);
	s->has_pending = false;
	influx_reset_batch(s);
	if (backoff) {
		influx_schedule_retry(s, why != FAIL_NET);
	} else {
		s->retry_at_ms = s->now_ms; /* resend now, past flush_ms */
		s->backing_off = true;
	}
}

/* Acks the batch: everything up to its last record, bad ones included. */
static void influx_ack_batch(struct influx *s)
{
	if (s->batch_records || s->batch_bad)
		queue_ack(s->q, s->idx, s->batch_last_seq);
	s->stats.quarantined += (uint64_t)s->batch_bad;
	influx_reset_batch(s);
}

/* Response text for a log line: bounded, control characters blanked. */
static const char *influx_resp_text(struct influx *s)
{
	size_t n = s->resp_len < INFLUX_RESP_LOG ? s->resp_len : INFLUX_RESP_LOG;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s->resp[i] < 0x20)
			s->resp[i] = ' ';
	while (n > 0 && s->resp[n - 1] == ' ')
		n--;
	s->resp[n] = '\0';
	return n ? s->resp : "(no body)";
}

static void influx_ok(struct influx *s)
{
	s->stats.sent += (uint64_t)s->batch_records;
	influx_ack_batch(s);
	s->backoff_ms = s->backoff_min_ms;
	s->last_fail = FAIL_NONE;
	complain_recovered(&s->c_write, "influx: writes to %s succeed again", s->where);
}

/*
 * 400/422: InfluxDB refused points for good (syntax, type conflict, outside
 * retention). Retrying cannot help, so the batch is counted as quarantined
 * and acked to keep the pipeline moving. A later change will split such a
 * batch to isolate the bad points instead of giving up all of it.
 */
static void influx_reject(struct influx *s, long code)
{
	int n = s->batch_records;

	complain(&s->c_reject, s->now_ms, LOG_ERR,
		 "influx: %s refused %d records (HTTP %ld), quarantined: %s", s->where, n, code,
		 influx_resp_text(s));
	s->stats.errors++;
	s->batch_bad += n;
	s->batch_records = 0;
	influx_ack_batch(s);
	s->backoff_ms = s->backoff_min_ms;
}

/* 413: smaller requests from now on (a proxy's body limit does not go
 * away); only when down to one point is it worth waiting. */
static void influx_too_big(struct influx *s)
{
	int was = s->batch_limit;
	int base = s->batch_points < was ? s->batch_points : was;

	if (was > 1) {
		s->batch_limit = base / 2 > 0 ? base / 2 : 1;
		influx_fail(s, FAIL_TOOBIG, LOG_WARNING, false,
			    "influx: %s: request too large (HTTP 413, %d points, %zu bytes); "
			    "sending at most %d points per request", s->where, s->batch_points,
			    s->body.len, s->batch_limit);
		return;
	}
	influx_fail(s, FAIL_TOOBIG, LOG_ERR, true,
		    "influx: %s refuses even a single point as too large (HTTP 413): %s; "
		    "keeping the data and retrying", s->where, influx_resp_text(s));
}

static void influx_status(struct influx *s, long code)
{
	if (code >= 200 && code < 300) {
		influx_ok(s);
	} else if (code == 400 || code == 422) {
		influx_reject(s, code);
	} else if (code == 404) {
		influx_fail(s, FAIL_NODB, LOG_ERR, true, "%s", s->nodb_msg);
	} else if (code == 401 || code == 403) {
		influx_fail(s, FAIL_AUTH, LOG_ERR, true,
			    "influx: %s refused the credentials (HTTP %ld): %s; check "
			    "username/password_file or token_file - keeping the data and retrying",
			    s->where, code, influx_resp_text(s));
	} else if (code == 413) {
		influx_too_big(s);
	} else {
		/* 429, 5xx and anything unexpected: keep the data, back off */
		influx_fail(s, FAIL_SERVER, LOG_WARNING, true,
			    "influx: write to %s failed (HTTP %ld): %s; retrying", s->where, code,
			    influx_resp_text(s));
	}
}

/* Reads completed transfers (ours is the only one) and judges them. */
static void influx_collect(struct influx *s)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(s->multi, &left))) {
		CURLcode res = msg->data.result;
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_multi_remove_handle(s->multi, msg->easy_handle);
		s->in_flight = false;
		if (res == CURLE_OK)
			res = curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		if (res == CURLE_OK)
			influx_status(s, code);
		else
			influx_fail(s, FAIL_NET, LOG_WARNING, true, "influx: write to %s failed: %s",
				    s->where, s->errbuf[0] ? s->errbuf : curl_easy_strerror(res));
	}
}

/* A record that cannot be encoded even alone: counted, acked with the batch. */
static void influx_unencodable(struct influx *s, const struct record *r, int err)
{
	complain(&s->c_reject, s->now_ms, LOG_ERR,
		 "influx: record seq %llu cannot be encoded (%s), quarantined",
		 (unsigned long long)r->seq, strerror(-err));
	s->batch_bad++;
	s->batch_last_seq = r->seq;
}

/* Encodes r into the batch, or keeps it pending when the batch is full. */
static void influx_add(struct influx *s, const struct record *r)
{
	size_t len = s->body.len;
	int n = lp_append_record(&s->body, s->gateway, r);

	if (n >= 0 && (s->batch_points == 0 || s->batch_points + n <= s->batch_limit)) {
		s->batch_records++;
		s->batch_points += n;
		s->batch_last_seq = r->seq;
		return;
	}
	if (n >= 0) { /* over the point limit: take it out again */
		s->body.len = len;
		s->body.data[len] = '\0';
	} else if (n != -ENOSPC || s->batch_points == 0) {
		influx_unencodable(s, r, n);
		return;
	}
	if (r != &s->pending)
		s->pending = *r;
	s->has_pending = true;
}

static void influx_fill(struct influx *s)
{
	const struct record *r;

	if (s->has_pending && s->batch_points == 0) {
		s->has_pending = false;
		influx_add(s, &s->pending);
	}
	while (!s->has_pending && s->batch_points < s->batch_limit &&
	       (r = queue_next(s->q, s->idx)))
		influx_add(s, r);
}

static bool influx_batch_full(const struct influx *s)
{
	return s->has_pending || s->batch_points >= s->batch_limit;
}

static void influx_start(struct influx *s)
{
	const void *data = s->body.data;
	size_t len = s->body.len;
	CURLMcode mc;

	if (s->gzip) {
		z_stream *z = &s->z;

		deflateReset(z);
		z->next_in = (Bytef *)s->body.data;
		z->avail_in = (uInt)s->body.len;
		z->next_out = s->gz;
		z->avail_out = (uInt)s->gz_cap;
		/* cannot fail: gz_cap is deflateBound() of the body cap */
		if (deflate(z, Z_FINISH) != Z_STREAM_END) {
			influx_fail(s, FAIL_NET, LOG_ERR, true, "influx: gzip failed");
			return;
		}
		data = s->gz;
		len = z->total_out;
	}
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	s->resp_len = 0;
	s->resp[0] = '\0';
	s->errbuf[0] = '\0';
	mc = curl_multi_add_handle(s->multi, s->easy);
	if (mc != CURLM_OK) {
		influx_fail(s, FAIL_NET, LOG_ERR, true, "influx: cannot start a request: %s",
			    curl_multi_strerror(mc));
		return;
	}
	s->in_flight = true;
	s->wait_since_ms = 0;
}

/* Notes when unsent data first shows up: flush_ms counts from there. While
 * a request is in flight the body is not unsent data; the queue is. */
static void influx_note(struct influx *s, int64_t now_ms)
{
	if (!s->wait_since_ms && (s->has_pending || queue_unsent(s->q, s->idx) > 0 ||
				  (!s->in_flight && s->batch_records)))
		s->wait_since_ms = now_ms;
}

/* Starts the next request when one is due and none is in flight. */
static void influx_pump(struct influx *s)
{
	bool force = s->flushing;

	if (s->in_flight)
		return;
	if (s->backing_off) {
		if (s->now_ms < s->retry_at_ms)
			return;
		s->backing_off = false;
		force = true;
	}
	influx_note(s, s->now_ms);
	influx_fill(s);
	if (s->batch_points == 0) {
		/* the queue is empty; polls without values (nothing to write)
		 * and unencodable records still get acked */
		s->stats.sent += (uint64_t)s->batch_records;
		influx_ack_batch(s);
		s->wait_since_ms = 0;
		return;
	}
	if (force || influx_batch_full(s) || s->now_ms - s->wait_since_ms >= s->flush_ms)
		influx_start(s);
}

static int influx_pollfds(void *impl, struct pollfd *pfds, int max)
{
	struct influx *s = impl;
	int n = s->n_fds < max ? s->n_fds : max;

	memcpy(pfds, s->fds, sizeof(*pfds) * (size_t)n);
	return n;
}

static int64_t influx_next_ms(void *impl, int64_t now_ms)
{
	struct influx *s = impl;
	int64_t t = s->timer_ms;
	size_t unsent;

	influx_note(s, now_ms);
	if (s->in_flight)
		return t;
	if (s->backing_off)
		return min64(t, s->retry_at_ms);
	if (!s->wait_since_ms)
		return t;
	unsent = queue_unsent(s->q, s->idx);
	if (s->flushing || influx_batch_full(s) ||
	    (size_t)s->batch_points + unsent >= (size_t)s->batch_limit)
		return min64(t, now_ms);
	return min64(t, s->wait_since_ms + s->flush_ms);
}

static void influx_action(struct influx *s, curl_socket_t fd, int mask)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(s->multi, fd, mask, &running);

	if (mc != CURLM_OK)
		log_debug("influx: curl_multi_socket_action: %s", curl_multi_strerror(mc));
}

static void influx_run_timer(struct influx *s)
{
	if (s->timer_ms == INT64_MAX || s->now_ms < s->timer_ms)
		return;
	s->timer_ms = INT64_MAX;
	influx_action(s, CURL_SOCKET_TIMEOUT, 0);
}

static int influx_cselect(short revents)
{
	return ((revents & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) |
	       ((revents & POLLOUT) ? CURL_CSELECT_OUT : 0) |
	       ((revents & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
}

static void influx_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	struct influx *s = impl;

	s->now_ms = now_ms;
	influx_note(s, now_ms);
	for (int i = 0; i < n; i++) {
		int mask = influx_cselect(pfds[i].revents);

		if (mask)
			influx_action(s, pfds[i].fd, mask);
	}
	influx_run_timer(s);
	influx_collect(s);
	influx_pump(s);
	/* a request just added wants its first timeout now: start connecting
	 * in this pass rather than the next */
	influx_run_timer(s);
	influx_collect(s);
}

static void influx_flush(void *impl, int64_t budget_ms)
{
	struct influx *s = impl;
	int64_t end = clock_mono_ms() + budget_ms;
	struct pollfd pfds[SINK_MAX_FDS];

	s->flushing = true;
	for (;;) {
		int64_t now = clock_mono_ms();
		int64_t wait;
		int n, rc;

		if ((!s->in_flight && queue_unacked(s->q, s->idx) == 0) || now >= end)
			break;
		n = influx_pollfds(s, pfds, SINK_MAX_FDS);
		wait = min64(influx_next_ms(s, now), end) - now;
		rc = poll(pfds, (nfds_t)n, (int)(wait > 0 ? wait : 0));
		if (rc < 0 && errno != EINTR) {
			log_err("influx: flush: poll: %s", strerror(errno));
			break;
		}
		influx_dispatch(s, pfds, rc > 0 ? n : 0, clock_mono_ms());
	}
	s->flushing = false;
}

static void influx_get_stats(void *impl, struct sink_stats *out)
{
	struct influx *s = impl;

	*out = s->stats;
}

static void influx_free(void *impl)
{
	struct influx *s = impl;

	if (!s)
		return;
	if (s->in_flight)
		curl_multi_remove_handle(s->multi, s->easy);
	curl_easy_cleanup(s->easy);   /* both accept NULL */
	curl_multi_cleanup(s->multi);
	curl_slist_free_all(s->headers);
	if (s->curl_inited)
		curl_global_cleanup();
	if (s->z_ready)
		deflateEnd(&s->z);
	free(s->gz);
	free(s->body.data);
	free(s->gateway);
	free(s->where);
	free(s->nodb_msg);
	free(s);
}

static const struct sink_ops influx_ops = {
	.name = "influx",
	.pollfds = influx_pollfds,
	.next_ms = influx_next_ms,
	.dispatch = influx_dispatch,
	.flush = influx_flush,
	.get_stats = influx_get_stats,
	.free = influx_free,
};

/* Reads a one-line secret (a regular file: one read), trailing newline
 * trimmed. It goes into an HTTP header, so control characters are refused. */
static int influx_read_secret(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;
	size_t len;
	int err = 0;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	err = n < 0 ? -errno : (size_t)n == cap ? -EFBIG : 0;
	close(fd);
	len = n > 0 ? (size_t)n : 0;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	for (size_t i = 0; !err && i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			err = -EINVAL;
	if (!err && len == 0)
		err = -EINVAL;
	if (err)
		explicit_bzero(buf, cap);
	else
		buf[len] = '\0';
	return err;
}

static int influx_check_cfg(const struct cfg_influx *cfg)
{
	const char *why = NULL;

	if (!cfg->url || (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8)))
		why = "url must start with http:// or https://";
	else if (cfg->api == 1 ? !cfg->db || !*cfg->db
		 : cfg->api != 2 || !cfg->org || !cfg->bucket || !cfg->token_file)
		why = "api 1 needs db; api 2 needs org, bucket and token_file";
	else if (cfg->api == 1 && !cfg->username != !cfg->password_file)
		why = "username and password_file go together";
	else if (cfg->batch_max < 1 || cfg->flush_ms < 1 || cfg->timeout_ms < 1)
		why = "batch_max, flush_ms and timeout_ms must be positive";
	if (why)
		log_err("influx: %s", why);
	return why ? -EINVAL : 0;
}

/* The write URL, and for logs where we write and what a 404 means. Log
 * texts may be cut by snprintf; only the URL must be whole. */
static int influx_names(struct influx *s, const struct cfg_influx *cfg, char *url, size_t cap)
{
	char msg[INFLUX_MSG_MAX];
	int base = (int)strnlen(cfg->url, INFLUX_URL_MAX);
	char *a = curl_easy_escape(s->easy, cfg->api == 1 ? cfg->db : cfg->org, 0);
	char *b = curl_easy_escape(s->easy, cfg->api == 1 ? "" : cfg->bucket, 0);
	int n = -1;

	while (base > 0 && cfg->url[base - 1] == '/')
		base--;
	if (a && b && cfg->api == 1)
		n = snprintf(url, cap, "%.*s/write?db=%s&precision=ms", base, cfg->url, a);
	else if (a && b)
		n = snprintf(url, cap, "%.*s/api/v2/write?org=%s&bucket=%s&precision=ms", base,
			     cfg->url, a, b);
	curl_free(a);
	curl_free(b);
	if (n < 0 || (size_t)n >= cap) {
		log_err("influx: the write URL does not fit in %zu bytes", cap);
		return -ENAMETOOLONG;
	}
	if (cfg->api == 1)
		snprintf(msg, sizeof(msg), "database \"%s\" at %.*s", cfg->db, base, cfg->url);
	else
		snprintf(msg, sizeof(msg), "bucket \"%s\" (org \"%s\") at %.*s", cfg->bucket,
			 cfg->org, base, cfg->url);
	s->where = strdup(msg);
	if (cfg->api == 1)
		snprintf(msg, sizeof(msg), "influx: database \"%s\" not found at %.*s (HTTP 404); "
			 "create it with: influx -execute 'CREATE DATABASE \"%s\"' - keeping the "
			 "data and retrying", cfg->db, base, cfg->url, cfg->db);
	else
		snprintf(msg, sizeof(msg), "influx: org \"%s\" or bucket \"%s\" not found at %.*s "
			 "(HTTP 404); create it with: influx bucket create --org \"%s\" --name "
			 "\"%s\" - keeping the data and retrying", cfg->org, cfg->bucket, base,
			 cfg->url, cfg->org, cfg->bucket);
	s->nodb_msg = strdup(msg);
	return s->where && s->nodb_msg ? 0 : -ENOMEM;
}

/* The v2 token or v1 basic auth from its file; *hdr gets the v2 header. */
static int influx_auth(struct influx *s, const struct cfg_influx *cfg, char *hdr, size_t cap)
{
	char secret[INFLUX_SECRET_MAX];
	const char *file = cfg->api == 2 ? cfg->token_file : cfg->password_file;
	int err;

	if (!file)
		return 0;
	err = influx_read_secret(file, secret, sizeof(secret));
	if (err) {
		log_err("influx: cannot use %s %s: %s",
			cfg->api == 2 ? "token_file" : "password_file", file,
			err == -EINVAL ? "empty, or holds control characters" : strerror(-err));
		return err;
	}
	if (cfg->api == 2) {
		int n = snprintf(hdr, cap, "Authorization: Token %s", secret);

		err = n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
	} else if (curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
		   curl_easy_setopt(s->easy, CURLOPT_USERNAME, cfg->username) ||
		   curl_easy_setopt(s->easy, CURLOPT_PASSWORD, secret)) {
		err = -ENOMEM;
	}
	explicit_bzero(secret, sizeof(secret));
	return err;
}

static int influx_headers(struct influx *s, const struct cfg_influx *cfg)
{
	char auth[INFLUX_SECRET_MAX + 32] = "";
	int err = influx_auth(s, cfg, auth, sizeof(auth));
	const char *h[] = {
		"Content-Type: text/plain; charset=utf-8",
		"Expect:", /* no 100-continue round trip before large bodies */
		cfg->gzip ? "Content-Encoding: gzip" : NULL,
		auth[0] ? auth : NULL,
	};

	for (size_t i = 0; !err && i < sizeof(h) / sizeof(h[0]); i++) {
		struct curl_slist *l = h[i] ? curl_slist_append(s->headers, h[i]) : s->headers;

		if (!l)
			err = -ENOMEM;
		else
			s->headers = l;
	}
	explicit_bzero(auth, sizeof(auth));
	return err;
}

static int influx_setup_curl(struct influx *s, const struct cfg_influx *cfg)
{
	char url[INFLUX_URL_MAX];
	int err;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	s->curl_inited = true;
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (!s->multi || !s->easy)
		return -ENOMEM;
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
		log_warn("influx: this libcurl resolves names synchronously; use an IP address "
			 "in url or the loop may stall on DNS");
	err = influx_names(s, cfg, url, sizeof(url));
	if (!err)
		err = influx_headers(s, cfg);
	if (err)
		return err;
	if (curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, influx_sock_cb) ||
	    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, influx_timer_cb) ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) ||
	    curl_easy_setopt(s->easy, CURLOPT_URL, url) ||
	    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers) ||
	    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "outfall/" OUTFALL_VERSION) ||
	    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)INFLUX_CONNECT_MS) ||
	    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms) ||
	    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf) ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, influx_write_cb) ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s)) {
		log_err("influx: libcurl refused an option");
		return -EINVAL;
	}
	return 0;
}

/* Allocated once (body, compression state and output): no per-batch malloc.
 * windowBits 31 = 15 + 16 asks zlib for the gzip wrapper. */
static int influx_setup(struct influx *s, const struct cfg_influx *cfg, const char *gateway_id)
{
	int err;

	s->gateway = strdup(gateway_id ? gateway_id : "");
	s->body.data = malloc(INFLUX_BODY_MAX);
	if (!s->gateway || !s->body.data)
		return -ENOMEM;
	s->body.cap = INFLUX_BODY_MAX;
	influx_reset_batch(s);
	err = influx_setup_curl(s, cfg);
	if (err || !cfg->gzip)
		return err;
	if (deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	s->z_ready = true;
	s->gz_cap = deflateBound(&s->z, INFLUX_BODY_MAX);
	s->gz = malloc(s->gz_cap);
	return s->gz ? 0 : -ENOMEM;
}

int sink_influx_new(const struct cfg_influx *cfg, const char *gateway_id, struct queue *q,
		    int sink_idx, struct sink *out)
{
	struct influx *s;
	int err = influx_check_cfg(cfg);

	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->q = q;
	s->idx = sink_idx;
	s->flush_ms = cfg->flush_ms;
	s->batch_limit = cfg->batch_max;
	s->gzip = cfg->gzip;
	s->timer_ms = INT64_MAX;
	s->now_ms = clock_mono_ms();
	s->backoff_min_ms = s->backoff_ms = INFLUX_BACKOFF_MIN_MS;
	s->backoff_max_ms = INFLUX_BACKOFF_MAX_MS;
	s->rng = ((uint64_t)s->now_ms << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)s;
	s->rng |= 1; /* xorshift must not start at 0 */
	err = influx_setup(s, cfg, gateway_id);
	if (err) {
		if (err == -ENOMEM)
			log_err("influx: out of memory");
		influx_free(s);
		return err;
	}
	queue_rewind(q, sink_idx); /* resend what a previous instance had in flight */
	out->ops = &influx_ops;
	out->impl = s;
	return 0;
}

void sink_influx_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms)
{
	struct influx *s = sk->impl;

	s->backoff_min_ms = s->backoff_ms = min_ms > 0 ? min_ms : 1;
	s->backoff_max_ms = max_ms > s->backoff_min_ms ? max_ms : s->backoff_min_ms;
}
