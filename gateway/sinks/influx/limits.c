/*
 * limits.c - the permit's limit lines (DESIGN §6 outfall_limit) on their
 * way to InfluxDB. They are not outbox records: the daemon hands the sink
 * its config at start and after each reload, the lines are encoded here
 * into a buffer the sink owns, and influx.c sends them on a request of
 * their own before the next batch (never while a batch is under way, so a
 * split in progress is not disturbed). What the answer means follows
 * influx_judge(): 2xx delivered, 400/422/413 refused for good (retrying
 * would only repeat the refusal), anything else retried with the batch's
 * backoff and log lines until the server takes them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "influx.h"
#include "internal.h"

#define INFLUX_LIM_START 4096 /* first buffer; doubled up to the body cap */

static void influx_lim_clear(char **buf, size_t *len, int *lines)
{
	free(*buf);
	*buf = NULL;
	*len = 0;
	*lines = 0;
}

/* The set given while one was in flight becomes the one to send. */
static void influx_lim_promote(struct influx *s)
{
	if (!s->lim_next)
		return;
	free(s->lim);
	s->lim = s->lim_next;
	s->lim_len = s->lim_next_len;
	s->lim_lines = s->lim_next_lines;
	s->lim_next = NULL;
	s->lim_next_len = 0;
	s->lim_next_lines = 0;
}

/* Encodes the lines into a buffer of their own (owned by the caller on
 * success). Returns the number of lines or -errno. */
static int influx_lim_encode(const struct influx *s, const struct config *cfg, int64_t ts_ms,
			     struct lp_buf *out)
{
	for (size_t cap = INFLUX_LIM_START; cap <= INFLUX_BODY_MAX; cap *= 2) {
		struct lp_buf b = { .data = malloc(cap), .len = 0, .cap = cap };
		int n;

		if (!b.data)
			return -ENOMEM;
		b.data[0] = '\0';
		n = lp_append_limits(&b, s->gateway, cfg, ts_ms);
		if (n >= 0) {
			*out = b;
			return n;
		}
		free(b.data);
		if (n != -ENOSPC)
			return n;
	}
	return -ENOSPC;
}

int sink_influx_set_limits(struct sink *sk, const struct config *cfg, int64_t now_wall_ms)
{
	struct influx *s;
	struct lp_buf b = { 0 };
	int n;

	if (!sk || !influx_is(sk) || !cfg)
		return -EINVAL;
	s = sk->impl;
	n = influx_lim_encode(s, cfg, now_wall_ms, &b);
	if (n < 0) {
		log_err("influx: cannot encode the permits' limits: %s; they are not written "
			"to InfluxDB", strerror(-n));
		return n;
	}
	if (n == 0) { /* no permit: nothing to draw, and nothing stale to send */
		free(b.data);
		b.data = NULL;
		b.len = 0;
	}
	if (s->lim_in_flight) {
		free(s->lim_next);
		s->lim_next = b.data;
		s->lim_next_len = b.len;
		s->lim_next_lines = n;
	} else {
		free(s->lim);
		s->lim = b.data;
		s->lim_len = b.len;
		s->lim_lines = n;
	}
	if (n > 0)
		log_debug("influx: %d limit lines queued for %s", n, s->where);
	return n;
}

bool influx_limits_due(const struct influx *s)
{
	return s->lim && !s->lim_in_flight && !s->b.committed;
}

void influx_limits_failed(struct influx *s)
{
	s->lim_in_flight = false;
	influx_lim_promote(s);
}

/* Delivered, or refused for good: either way this set is done. */
static void influx_lim_settled(struct influx *s)
{
	s->lim_in_flight = false;
	influx_lim_clear(&s->lim, &s->lim_len, &s->lim_lines);
	influx_lim_promote(s);
}

void influx_limits_done(struct influx *s, CURLcode res, long code)
{
	char msg[INFLUX_MSG_MAX];

	if (res != CURLE_OK) {
		influx_fail(s, FAIL_NET, LOG_WARNING, "influx: writing the permits' limits to %s "
			    "failed: %s", s->where,
			    s->errbuf[0] ? s->errbuf : curl_easy_strerror(res));
	} else if (code >= 200 && code < 300) {
		log_info("influx: %d limit lines of the permits written to %s", s->lim_lines,
			 s->where);
		influx_lim_settled(s);
		s->backoff_ms = s->backoff_min_ms;
		s->last_fail = FAIL_NONE;
		complain_recovered(&s->c_write, "influx: writes to %s succeed again", s->where);
	} else if (code == 400 || code == 422 || code == 413) {
		snprintf(msg, sizeof(msg), "influx: %s refused the permits' limit lines (HTTP %ld): "
			 "%s; they are not sent again before the next reload", s->where, code,
			 influx_resp_text(s)); /* a cut log line is acceptable */
		log_err("%s", msg);
		influx_note_error(s, msg);
		s->stats.errors++;
		s->backoff_ms = s->backoff_min_ms; /* the server is there and answering */
		influx_lim_settled(s);
	} else {
		influx_judge(s, code); /* only retryable codes get here: influx_fail */
	}
}

void influx_limits_free(struct influx *s)
{
	influx_lim_clear(&s->lim, &s->lim_len, &s->lim_lines);
	influx_lim_clear(&s->lim_next, &s->lim_next_len, &s->lim_next_lines);
}
