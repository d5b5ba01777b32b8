/*
 * uplink.c - the HJ 212 uplink behind sink.h (uplink.h says what it
 * does): making and freeing it, the loop's calls, and delivery - one
 * message at a time, each packet written whole, with ack its 9014 awaited
 * (same QN resent after timeout_s, retries times, then the connection is
 * dropped and the outbox rewound), replies to the platform written between
 * packets, frames read and sorted into 9014s and requests.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "outbox/outbox.h"

/* ---- small helpers -------------------------------------------------------- */

void uplink_error(struct uplink *u, int level, const char *fmt, ...)
{
	char msg[SINK_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(u->last_error, sizeof(u->last_error), "%s", msg);
	u->last_error_wall_ms = u->wall();
	complain(&u->c_conn, clock_mono_ms(), level, "hj212 %s: %s", u->cfg.name, msg);
}

int32_t uplink_utc_off_min(int64_t wall_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return 0;
	return (int32_t)(tm.tm_gmtoff / 60);
}

int64_t uplink_qn_ms(struct uplink *u, int n)
{
	int64_t t = u->wall();

	if (t <= u->last_qn_ms)
		t = u->last_qn_ms + 1;
	if (n > 0)
		u->last_qn_ms = t + n - 1;
	return t;
}

int uplink_build(struct uplink *u, struct hj_msg *m, int cn, bool ack, const char *data,
		 size_t len)
{
	struct hj212_hdr h = { .st = u->cfg.st, .cn = cn, .pw = u->cfg.pw, .mn = u->cfg.mn,
			       .version = u->cfg.version == 2025 ? HJ212_VERSION_2025
			       : HJ212_VERSION_2017, .ack = ack };
	size_t n = 0, off = 0;
	int rc;

	h.qn_ms = uplink_qn_ms(u, 0); /* taken below, once the parts are counted */
	h.utc_offset_min = uplink_utc_off_min(h.qn_ms);
	rc = hj212_packets(m->buf, sizeof(m->buf), &h, data, len, m->len, HJ_PARTS_MAX, &n);
	if (rc < 0)
		return rc;
	u->last_qn_ms = h.qn_ms + (int64_t)n - 1; /* parts 1..n took QN .. QN + n - 1 */
	for (size_t i = 0; i < n; i++) {
		m->off[i] = off;
		hj212_qn(m->qn[i], h.qn_ms + (int64_t)i, h.utc_offset_min);
		off += m->len[i];
	}
	m->active = true;
	m->cn = cn;
	m->n = (int)n;
	m->part = 0;
	m->sent = 0;
	m->waiting = false;
	m->tries = 0;
	m->ack_seq = 0;
	return 0;
}

/* ---- delivery ---------------------------------------------------------------- */

void uplink_lost(struct uplink *u, int64_t now_ms, const char *why)
{
	uplink_error(u, LOG_WARNING, "connection to %s:%d lost: %s; reconnecting, then "
		     "resending from the last record the platform confirmed", u->cfg.host,
		     u->cfg.port, why);
	u->stats.errors++;
	u->said_up = false;
	uplink_conn_close(u);
	u->msg.active = false;
	u->reply_len = u->reply_sent = 0;
	u->bf.active = false;
	outbox_rewind(u->ob, u->idx);
	uplink_msg_reset(u);
	uplink_backoff(u, now_ms);
}

/* The message is delivered: its records are acked. */
static void msg_done(struct uplink *u)
{
	if (u->msg.ack_seq)
		outbox_ack(u->ob, u->idx, u->msg.ack_seq);
	u->stats.sent++;
	u->msg.active = false;
	u->backoff_ms = 0;
}

static void part_done(struct uplink *u)
{
	u->msg.part++;
	u->msg.sent = 0;
	u->msg.waiting = false;
	u->msg.tries = 0;
	if (u->msg.part >= u->msg.n)
		msg_done(u);
}

/* Writes queued replies; true when none is left. */
static bool write_replies(struct uplink *u, int64_t now_ms)
{
	while (u->reply_sent < u->reply_len) {
		ssize_t n = uplink_conn_write(u, u->reply + u->reply_sent,
					      u->reply_len - u->reply_sent, now_ms);

		if (n < 0) {
			uplink_lost(u, now_ms, "write failed");
			return false;
		}
		if (n == 0)
			return false;
		u->reply_sent += (size_t)n;
	}
	u->reply_len = u->reply_sent = 0;
	uplink_backfill_step(u);
	return u->reply_len == 0;
}

/* Writes the current part; true when it is written whole. */
static bool write_part(struct uplink *u, int64_t now_ms)
{
	struct hj_msg *m = &u->msg;
	const char *p = m->buf + m->off[m->part];

	while (m->sent < m->len[m->part]) {
		ssize_t n = uplink_conn_write(u, p + m->sent, m->len[m->part] - m->sent, now_ms);

		if (n < 0) {
			uplink_lost(u, now_ms, "write failed");
			return false;
		}
		if (n == 0)
			return false;
		m->sent += (size_t)n;
	}
	m->tries++;
	if (m->tries > 1)
		u->stats.retried++;
	return true;
}

/* Sends what is due until the socket is full or a 9014 is awaited. */
static void pump(struct uplink *u, int64_t now_ms)
{
	for (int guard = 0; u->conn == HJ_UP && guard < HJ_PASS_RECS; guard++) {
		struct hj_msg *m = &u->msg;

		if ((!m->active || m->sent == 0 || m->waiting) && !write_replies(u, now_ms))
			return; /* replies go between packets, never inside one */
		if (!m->active && !u->sent_2081) {
			u->sent_2081 = true;
			if (uplink_msg_2081(u, m) < 0)
				continue;
		}
		if (!m->active && !uplink_next_msg(u))
			return;
		if (m->waiting || !write_part(u, now_ms))
			return;
		if (!u->cfg.ack) {
			part_done(u);
			continue;
		}
		m->waiting = true;
		m->deadline_ms = now_ms + (int64_t)u->cfg.timeout_s * 1000;
		return;
	}
}

/* No 9014 in time: the same packet again, or give up on the connection. */
static void check_timeout(struct uplink *u, int64_t now_ms)
{
	struct hj_msg *m = &u->msg;

	if (u->conn != HJ_UP || !m->active || !m->waiting || now_ms < m->deadline_ms)
		return;
	if (m->tries > u->cfg.retries) {
		char why[96];

		snprintf(why, sizeof(why), "no 9014 for QN %s after %d sends", m->qn[m->part],
			 m->tries);
		uplink_lost(u, now_ms, why);
		return;
	}
	log_info("hj212 %s: no 9014 for QN %s within %d s; sending it again", u->cfg.name,
		 m->qn[m->part], u->cfg.timeout_s);
	m->waiting = false;
	m->sent = 0;
}

static void on_9014(struct uplink *u, const struct hj212_msg *msg)
{
	struct hj_msg *m = &u->msg;

	if (m->active && m->waiting && strcmp(msg->qn, m->qn[m->part]) == 0) {
		part_done(u);
		return;
	}
	u->n.stray_replies++; /* a late answer to a packet sent twice, say */
}

static void read_frames(struct uplink *u, int64_t now_ms)
{
	size_t pos = 0;

	while (pos < u->rx_len) {
		struct hj212_msg msg;
		size_t used = 0;
		const char *why = NULL;
		int rc = hj212_parse(u->rx + pos, u->rx_len - pos, &msg, &used, &why);

		if (rc == -EAGAIN)
			break;
		pos += used;
		if (rc < 0) {
			u->n.bad_frames++;
			complain(&u->c_rx, now_ms, LOG_WARNING, "hj212 %s: dropped bytes from the "
				 "platform: %s", u->cfg.name, why ? why : strerror(-rc));
			continue;
		}
		if (msg.cn == 9014)
			on_9014(u, &msg);
		else if (msg.cn != 9013)
			uplink_request(u, &msg, now_ms);
	}
	memmove(u->rx, u->rx + pos, u->rx_len - pos);
	u->rx_len -= pos;
}

/* ---- the sink's table --------------------------------------------------------- */

static int ul_pollfds(void *impl, struct pollfd *pfds, int max)
{
	struct uplink *u = impl;
	short ev = POLLIN;

	if (max < 1 || u->fd < 0 || (u->conn != HJ_UP && u->conn != HJ_CONNECTING))
		return 0;
	if (u->conn == HJ_CONNECTING || u->reply_sent < u->reply_len ||
	    (u->msg.active && !u->msg.waiting))
		ev |= POLLOUT;
	pfds[0] = (struct pollfd){ .fd = u->fd, .events = ev };
	return 1;
}

static int64_t ul_next_ms(void *impl, int64_t now_ms)
{
	struct uplink *u = impl;
	int64_t next = uplink_conn_next_ms(u);

	if (u->conn == HJ_RESOLVING)
		next = now_ms + HJ_DNS_POLL_MS;
	if (u->conn == HJ_UP && u->msg.active && u->msg.waiting && u->msg.deadline_ms < next)
		next = u->msg.deadline_ms;
	/* records reach the outbox without waking us: look again each second */
	if (u->conn == HJ_UP && !u->msg.active && next > now_ms + 1000)
		next = now_ms + 1000;
	return next;
}

static void ul_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	struct uplink *u = impl;
	const struct pollfd *p = n > 0 ? &pfds[0] : NULL;

	uplink_conn_step(u, p, now_ms);
	if (u->conn != HJ_UP)
		return;
	if (p && p->fd == u->fd && (p->revents & (POLLIN | POLLHUP | POLLERR))) {
		bool alive = uplink_conn_read(u, now_ms);

		read_frames(u, now_ms);
		if (!alive) {
			uplink_lost(u, now_ms, "closed by the platform");
			return;
		}
	}
	check_timeout(u, now_ms);
	pump(u, now_ms);
}

static void ul_flush(void *impl, int64_t budget_ms)
{
	struct uplink *u = impl;
	int64_t end = clock_mono_ms() + budget_ms;

	while (u->conn == HJ_UP && (u->msg.active || u->reply_len)) {
		struct pollfd p;
		int64_t now = clock_mono_ms();
		int n = ul_pollfds(u, &p, 1);

		if (now >= end || n == 0)
			break;
		if (poll(&p, 1, (int)(end - now)) < 0)
			break;
		ul_dispatch(u, &p, 1, clock_mono_ms());
	}
}

static void ul_get_stats(void *impl, struct sink_stats *out)
{
	*out = ((struct uplink *)impl)->stats;
}

static void ul_get_health(void *impl, struct sink_health *out)
{
	struct uplink *u = impl;

	snprintf(out->last_error, sizeof(out->last_error), "%s", u->last_error);
	out->last_error_wall_ms = u->last_error_wall_ms;
	out->next_retry_ms = u->conn == HJ_IDLE ? u->retry_ms
			     : u->msg.waiting ? u->msg.deadline_ms : 0;
}

static bool ul_files_changed(void *impl)
{
	struct uplink *u = impl;

	return u->cfg.pw_file && filestamp_changed(&u->pw_stamp, u->cfg.pw_file);
}

static void ul_free(void *impl)
{
	struct uplink *u = impl;

	if (!u)
		return;
	uplink_conn_free(u);
	free(u->cfg.name);
	free(u->cfg.host);
	free(u->cfg.pw_file);
	for (int p = 0; p < P_COUNT; p++)
		free(u->cfg.local_code[p]);
	memset(u->cfg.pw, 0, sizeof(u->cfg.pw));
	free(u->state_path);
	free(u->history_dir);
	free(u);
}

static const struct sink_ops uplink_ops = {
	.name = "hj212",
	.pollfds = ul_pollfds,
	.next_ms = ul_next_ms,
	.dispatch = ul_dispatch,
	.flush = ul_flush,
	.get_stats = ul_get_stats,
	.get_health = ul_get_health,
	.files_changed = ul_files_changed,
	.free = ul_free,
};

/* ---- making it ------------------------------------------------------------------ */

static int copy_cfg(struct uplink *u, const struct cfg_hj212 *c)
{
	u->cfg = *c;
	u->cfg.name = strdup(c->name);
	u->cfg.host = strdup(c->host);
	u->cfg.pw_file = c->pw_file ? strdup(c->pw_file) : NULL;
	for (int p = 0; p < P_COUNT; p++) {
		u->cfg.local_code[p] = c->local_code[p] ? strdup(c->local_code[p]) : NULL;
		if (c->local_code[p] && !u->cfg.local_code[p])
			return -ENOMEM;
		u->fmt.local_code[p] = u->cfg.local_code[p];
	}
	if (!u->cfg.name || !u->cfg.host || (c->pw_file && !u->cfg.pw_file))
		return -ENOMEM;
	return 0;
}

static void outlet_ranges(struct uplink *u, const struct config *cfg, const struct cfg_outlet *o)
{
	for (int p = 0; p < P_COUNT; p++)
		u->range_max[p] = NAN;
	for (size_t i = 0; i < o->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[o->sensors[i]];

		for (size_t k = 0; k < s->n_channels; k++)
			if (s->channels[k].has_range)
				u->range_max[s->channels[k].param] = s->channels[k].range_max;
	}
}

static int setup(struct uplink *u, const struct config *cfg, const struct cfg_hj212 *c)
{
	const struct cfg_outlet *o;

	if (c->outlet < 0 || (size_t)c->outlet >= cfg->n_outlets)
		return -EINVAL;
	o = &cfg->outlets[c->outlet];
	if (copy_cfg(u, c) < 0)
		return -ENOMEM;
	snprintf(u->outlet, sizeof(u->outlet), "%s", o->id);
	outlet_ranges(u, cfg, o);
	snprintf(u->port_text, sizeof(u->port_text), "%d", c->port);
	if (asprintf(&u->state_path, "%s/hj212-%s.state", cfg->data_dir, c->name) < 0) {
		u->state_path = NULL;
		return -ENOMEM;
	}
	if (cfg->history.enabled && !(u->history_dir = strdup(cfg->history.dir)))
		return -ENOMEM;
	u->fmt.decimals = -1;
	filestamp_take(&u->pw_stamp, c->pw_file);
	return 0;
}

int sink_hj212_new(const struct config *cfg, size_t platform, struct outbox *ob, int sink_idx,
		   int64_t started_wall_ms, struct sink *out)
{
	struct uplink *u;
	int rc;

	if (!cfg || platform >= cfg->n_hj212 || !ob || !out)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->fd = -1;
	u->ob = ob;
	u->idx = sink_idx;
	u->wall = clock_wall_ms;
	u->started_wall_ms = started_wall_ms;
	u->backoff_min_ms = HJ_CONNECT_MIN_MS;
	u->backoff_max_ms = HJ_CONNECT_MAX_MS;
	u->rng = (uint64_t)clock_mono_ms() * 2654435761u + (uint64_t)sink_idx + 1;
	rc = setup(u, cfg, &cfg->hj212[platform]);
	if (rc < 0) {
		log_err("hj212 %s: cannot start: %s", cfg->hj212[platform].name, strerror(-rc));
		ul_free(u);
		return rc;
	}
	uplink_state_load(u);
	outbox_rewind(ob, sink_idx);
	u->conn = HJ_IDLE;
	u->retry_ms = 0; /* connect at the first pass */
	*out = (struct sink){ .ops = &uplink_ops, .impl = u };
	return 0;
}

/* ---- outfallctl's preview ---------------------------------------------------------- */

/* Appends m's packets to out (NUL-terminated); -ENOSPC when they do not fit. */
static int preview_take(const struct hj_msg *m, char *out, size_t cap, size_t *len)
{
	size_t n = m->off[m->n - 1] + m->len[m->n - 1];

	if (*len + n >= cap)
		return -ENOSPC;
	memcpy(out + *len, m->buf, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int sink_hj212_preview(const struct config *cfg, size_t platform, const struct record *polls,
		       size_t n, char *out, size_t cap)
{
	struct uplink *u;
	size_t len = 0;
	int rc;

	if (!cfg || platform >= cfg->n_hj212 || (!polls && n) || !out || !cap)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->fd = -1;
	u->wall = clock_wall_ms;
	u->started_wall_ms = clock_wall_ms();
	rc = setup(u, cfg, &cfg->hj212[platform]);
	if (rc == 0) {
		uplink_state_load(u); /* the intervals a platform set, as the sink has them */
		rc = uplink_msg_2081(u, &u->msg);
	}
	if (rc == 0)
		rc = preview_take(&u->msg, out, cap, &len);
	if (rc == 0 && uplink_msg_rtd_now(u, polls, n))
		rc = preview_take(&u->msg, out, cap, &len);
	ul_free(u);
	return rc < 0 ? rc : (int)len;
}

/* ---- for tests ------------------------------------------------------------------ */

void sink_hj212_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms)
{
	struct uplink *u = sk->impl;

	u->backoff_min_ms = min_ms;
	u->backoff_max_ms = max_ms;
}

void sink_hj212_set_clock(struct sink *sk, int64_t (*wall_ms)(void))
{
	((struct uplink *)sk->impl)->wall = wall_ms;
}

void sink_hj212_counts(struct sink *sk, struct sink_hj212_counts *out)
{
	const struct uplink *u = sk->impl;

	*out = (struct sink_hj212_counts){ .rtd_skipped = u->n.rtd_skipped,
					   .requests = u->n.requests,
					   .refused = u->n.refused,
					   .bad_frames = u->n.bad_frames,
					   .stray_replies = u->n.stray_replies,
					   .backfilled = u->n.backfilled };
}
