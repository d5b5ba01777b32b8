/*
 * influx.c - InfluxDB sink: the loop glue. Batches of outbox records go
 * out as line protocol in POSTs through the libcurl multi interface, driven
 * by the loop's poll() (see influx.h for the contract and the blocking
 * bound). What goes into a request and what an answer means is in
 * batch.c; building the sink in setup.c; the
 * quarantine file in deadletter.c.
 *
 * One request at a time: it carries a slice of the batch (the whole batch,
 * or part of it while a refused batch is being split), compressed if asked.
 */
#include "influx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "base/clock.h"
#include "outbox/outbox.h"

#define INFLUX_RESP_LOG 300            /* of the response kept, logged */
#define INFLUX_BACKOFF_MIN_MS 1000
#define INFLUX_BACKOFF_MAX_MS 60000
#define INFLUX_RETRY_AFTER_MAX_S 3600  /* a larger Retry-After is a server bug */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int influx_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
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

int influx_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct influx *s = userp;

	(void)multi;
	s->timer_ms = timeout_ms < 0 ? INT64_MAX : s->now_ms + timeout_ms;
	return 0;
}

/* Keeps the start of the response body (error text), discards the rest. */
size_t influx_write_cb(char *data, size_t size, size_t nmemb, void *userp)
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
void influx_schedule_retry(struct influx *s, bool http)
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

void influx_note_error(struct influx *s, const char *msg)
{
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg); /* cut is fine */
	s->last_error_wall_ms = clock_wall_ms();
}

/* Response text for a log line: bounded, control characters blanked. */
const char *influx_resp_text(struct influx *s)
{
	size_t n = s->resp_len < INFLUX_RESP_LOG ? s->resp_len : INFLUX_RESP_LOG;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s->resp[i] < 0x20)
			s->resp[i] = ' ';
	while (n > 0 && s->resp[n - 1] == ' ')
		n--;
	s->resp[n] = '\0';
	s->resp_len = n;
	return n ? s->resp : "(no body)";
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
		if (s->lim_in_flight)
			influx_limits_done(s, res, code);
		else if (res == CURLE_OK)
			influx_judge(s, code);
		else
			influx_fail(s, FAIL_NET, LOG_WARNING, "influx: write to %s failed: %s",
				    s->where, s->errbuf[0] ? s->errbuf : curl_easy_strerror(res));
	}
}

/* Starts a request with len bytes of line protocol (inside the body). */
static void influx_start(struct influx *s, const char *data, size_t len)
{
	const void *post = data;
	CURLMcode mc;

	if (s->gzip) {
		z_stream *z = &s->z;

		deflateReset(z);
		z->next_in = (Bytef *)data;
		z->avail_in = (uInt)len;
		z->next_out = s->gz;
		z->avail_out = (uInt)s->gz_cap;
		/* cannot fail: gz_cap is deflateBound() of the body cap */
		if (deflate(z, Z_FINISH) != Z_STREAM_END) {
			influx_fail(s, FAIL_NET, LOG_ERR, "influx: gzip failed");
			return;
		}
		post = s->gz;
		len = z->total_out;
	}
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	s->resp_len = 0;
	s->resp[0] = '\0';
	s->errbuf[0] = '\0';
	mc = curl_multi_add_handle(s->multi, s->easy);
	if (mc != CURLM_OK) {
		influx_fail(s, FAIL_NET, LOG_ERR, "influx: cannot start a request: %s",
			    curl_multi_strerror(mc));
		return;
	}
	s->in_flight = true;
	if (!s->lim_in_flight) /* the limit lines are not the data flush_ms waits for */
		s->wait_since_ms = 0;
}

/* Notes when unsent data first shows up: flush_ms counts from there. While
 * a request is in flight the body is not unsent data; the outbox is. */
static void influx_note(struct influx *s, int64_t now_ms)
{
	if (!s->wait_since_ms && (s->has_pending || outbox_unsent(s->ob, s->idx) > 0 ||
				  (!s->in_flight && s->b.n)))
		s->wait_since_ms = now_ms;
}

/* Whether an open batch goes out now: it is full, forced (a retry, a
 * flush), holds an alert, has waited flush_ms, or has nothing to send. */
static bool influx_due(const struct influx *s, bool force)
{
	return force || s->b.points == 0 || s->b.alerts || influx_batch_full(s) ||
	       s->now_ms - s->wait_since_ms >= s->flush_ms;
}

/* Starts the next request when one is due and none is in flight. A batch
 * under way (being split) goes on at once. */
static void influx_pump(struct influx *s)
{
	bool force = s->flushing;
	const char *data;
	size_t len;

	if (s->in_flight)
		return;
	if (s->backing_off) {
		if (s->now_ms < s->retry_at_ms)
			return;
		s->backing_off = false;
		force = true;
	}
	if (influx_limits_due(s)) { /* the permits' limits go before the next batch */
		s->lim_in_flight = true;
		influx_start(s, s->lim, s->lim_len);
		return;
	}
	if (!s->b.committed) {
		influx_note(s, s->now_ms);
		influx_batch_fill(s);
		if (s->b.n == 0 || !influx_due(s, force))
			return;
		influx_batch_commit(s);
	}
	if (influx_batch_range(s, &data, &len))
		influx_start(s, data, len);
	else
		s->wait_since_ms = 0; /* it held nothing to send: all acked */
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
	if (s->b.committed || s->b.alerts || influx_limits_due(s))
		return min64(t, now_ms);
	if (!s->wait_since_ms)
		return t;
	unsent = outbox_unsent(s->ob, s->idx);
	if (s->flushing || influx_batch_full(s) ||
	    (size_t)s->b.points + unsent >= (size_t)s->batch_limit)
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

		if ((!s->in_flight && outbox_unacked(s->ob, s->idx) == 0) || now >= end)
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

static void influx_get_health(void *impl, struct sink_health *out)
{
	const struct influx *s = impl;

	memset(out, 0, sizeof(*out));
	snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
	out->last_error_wall_ms = s->last_error_wall_ms;
	if (s->backing_off)
		out->next_retry_ms = s->retry_at_ms;
}

static bool influx_files_changed(void *impl)
{
	const struct influx *s = impl;

	return filestamp_changed(&s->secret_stamp, s->secret_file);
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
	free(s->b.recs);
	free(s->body.data);
	influx_dl_free(&s->dl);
	influx_limits_free(s);
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
	.get_health = influx_get_health,
	.files_changed = influx_files_changed,
	.free = influx_free,
};


int sink_influx_new(const struct cfg_influx *cfg, const char *gateway_id, const char *data_dir,
		    struct outbox *ob, int sink_idx, struct sink *out)
{
	struct influx *s = calloc(1, sizeof(*s));
	int err;

	if (!s) {
		log_err("influx: out of memory");
		return -ENOMEM;
	}
	s->ob = ob;
	s->idx = sink_idx;
	s->timer_ms = INT64_MAX;
	s->now_ms = clock_mono_ms();
	s->backoff_min_ms = s->backoff_ms = INFLUX_BACKOFF_MIN_MS;
	s->backoff_max_ms = INFLUX_BACKOFF_MAX_MS;
	s->rng = ((uint64_t)s->now_ms << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)s;
	s->rng |= 1; /* xorshift must not start at 0 */
	err = influx_setup(s, cfg, gateway_id, data_dir);
	if (err) {
		if (err == -ENOMEM)
			log_err("influx: out of memory");
		influx_free(s);
		return err;
	}
	outbox_rewind(ob, sink_idx); /* resend what a previous instance had in flight */
	out->ops = &influx_ops;
	out->impl = s;
	return 0;
}

bool influx_is(const struct sink *sk)
{
	return sk->ops == &influx_ops;
}

void sink_influx_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms)
{
	struct influx *s = sk->impl;

	s->backoff_min_ms = s->backoff_ms = min_ms > 0 ? min_ms : 1;
	s->backoff_max_ms = max_ms > s->backoff_min_ms ? max_ms : s->backoff_min_ms;
}
