/*
 * mqtt.c - the MQTT sink (see mqtt.h): settings and creation,
 * the connection state machine with our own backoff, the events Paho's
 * threads hand over through the pipe, and the sink_ops the loop drives.
 * The other parts are listed in internal.h.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/secret.h"
#include "outbox/outbox.h"

#define MQ_BACKOFF_FIRST_MS 1000
#define MQ_BACKOFF_MAX_MS 60000
#define MQ_KEEPALIVE_S 30  /* when unset: a 4G link dies silently */
#define MQ_CLOSE_MAX_MS 1000
#define MQ_FREE_CLOSE_MS 500

/* ---- the connection ---- */

static const char *conn_error(int code)
{
	static const char *const connack[] = {
		"accepted", "unacceptable protocol version", "client identifier rejected",
		"server unavailable", "bad user name or password", "not authorized",
	};

	if (code > 0 && code < (int)(sizeof(connack) / sizeof(connack[0])))
		return connack[code];
	return MQTTAsync_strerror(code);
}

static void schedule_reconnect(struct sink_mqtt *s, int64_t now)
{
	s->state = MQ_DOWN;
	s->reconnect_ms = now + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > s->backoff_max_ms ? s->backoff_max_ms : s->backoff_ms * 2;
}

void mq_note_error(struct sink_mqtt *s, const char *msg)
{
	snprintf(s->last_error, sizeof(s->last_error), "%s", msg); /* cut is fine */
	s->last_error_wall_ms = clock_wall_ms();
}

void mq_trouble(struct sink_mqtt *s, int64_t now, const char *fmt, ...)
{
	char msg[SINK_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut line is acceptable */
	va_end(ap);
	s->stats.errors++;
	mq_note_error(s, msg);
	complain(&s->trouble, now, LOG_WARNING, "%s", msg);
}

static void connect_failed(struct sink_mqtt *s, int64_t now, const char *why)
{
	mq_trouble(s, now, "mqtt: cannot connect to %s: %s", s->uri, why);
	schedule_reconnect(s, now);
}

static void connect_start(struct sink_mqtt *s, int64_t now)
{
	int rc;

	/* publishes of the last connection still inside Paho would go out
	 * ahead of the resend: start from a clean client */
	if ((s->n_held || atomic_load(&s->link->lost) || !s->client) && mq_client_reset(s) < 0) {
		connect_failed(s, now, "no client");
		return;
	}
	rc = mq_connect(s);
	if (rc != MQTTASYNC_SUCCESS)
		connect_failed(s, now, conn_error(rc));
	else
		s->state = MQ_CONNECTING;
}

/* Status first, then the retained sets, then records from the acked
 * position of each stream (the next pump sends them). */
static void on_connected(struct sink_mqtt *s)
{
	int rc;

	if (s->trouble.active)
		complain_recovered(&s->trouble, "mqtt: connected to %s again", s->uri);
	else
		log_info("mqtt: connected to %s as %s", s->uri, s->client_id);
	s->state = MQ_UP;
	s->backoff_ms = s->backoff_first_ms;
	s->resume_ms = 0;
	mq_window_restart(s);
	rc = mq_status_publish(s, "online");
	if (rc != MQTTASYNC_SUCCESS)
		log_warn("mqtt: cannot publish status: %s", MQTTAsync_strerror(rc));
	mq_active_all_due(s);
}

static void on_lost(struct sink_mqtt *s, int64_t now)
{
	mq_trouble(s, now, "mqtt: lost the connection to %s", s->uri);
	mq_window_restart(s);
	schedule_reconnect(s, now);
}

static void on_pub_event(struct sink_mqtt *s, const struct mq_event *ev, int64_t now)
{
	const struct mq_ticket *t = mq_ticket_back(s, ev);

	if (!t)
		return;
	if (t->kind == MQ_K_STATUS)
		s->status_acked = ev->type == EV_PUB_OK;
	else if (t->kind == MQ_K_ACTIVE)
		mq_active_done(s, t, ev, now);
	else
		mq_window_done(s, ev, now);
}

void mq_handle_event(struct sink_mqtt *s, const struct mq_event *ev, int64_t now)
{
	if (ev->type == EV_CONNECTED && s->state == MQ_CONNECTING)
		on_connected(s);
	else if (ev->type == EV_CONNECT_FAILED && s->state == MQ_CONNECTING)
		connect_failed(s, now, conn_error(ev->code));
	else if (ev->type == EV_LOST && s->state == MQ_UP)
		on_lost(s, now);
	else if (ev->type == EV_DISCONNECTED)
		s->disconnected = true;
	else if (ev->type == EV_PUB_OK || ev->type == EV_PUB_FAILED)
		on_pub_event(s, ev, now);
}

/* ---- sink_ops ---- */

static int mq_pollfds(void *impl, struct pollfd *pfds, int max)
{
	struct sink_mqtt *s = impl;

	if (max < 1)
		return 0;
	pfds[0] = (struct pollfd){ .fd = s->rfd, .events = POLLIN };
	return 1;
}

static int64_t at_least(int64_t t, int64_t now)
{
	return t > now ? t : now;
}

static int64_t mq_next_ms(void *impl, int64_t now_ms)
{
	struct sink_mqtt *s = impl;
	int64_t next = INT64_MAX;

	if (s->state == MQ_DOWN)
		return at_least(s->reconnect_ms, now_ms);
	if (mq_active_pending(s))
		next = at_least(s->active_retry_ms, now_ms);
	if (mq_window_can_send(s) && outbox_unsent(s->ob, s->idx) > 0 &&
	    at_least(s->resume_ms, now_ms) < next)
		next = at_least(s->resume_ms, now_ms);
	return next;
}

static void mq_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	struct sink_mqtt *s = impl;

	(void)pfds; /* the pipe is drained every pass; reading it is cheap */
	(void)n;
	mq_drain(s, true, now_ms);
	/* Cannot happen with at most MQ_TICKETS events outstanding; if the pipe
	 * ever overflowed we would not know what completed, so start over (the
	 * reconnect replaces the client). */
	if (atomic_load(&s->link->lost) && s->state != MQ_CLOSED) {
		log_err("mqtt: events from the client were lost; reconnecting");
		mq_note_error(s, "mqtt: events from the client were lost; reconnecting");
		s->stats.errors++;
		mq_window_restart(s);
		s->state = MQ_DOWN;
		s->reconnect_ms = now_ms;
	}
	if (s->state == MQ_DOWN && now_ms >= s->reconnect_ms)
		connect_start(s, now_ms);
	mq_active_pump(s, now_ms);
	mq_window_pump(s, now_ms);
}

/* Waits for an event until flag is set, the connection is gone (for
 * want_up), or the deadline passes; handles what arrives. */
static void wait_until(struct sink_mqtt *s, const bool *flag, bool want_up, int64_t deadline)
{
	struct pollfd p = { .fd = s->rfd, .events = POLLIN };
	int64_t left;

	while (!*flag && (!want_up || s->state == MQ_UP) &&
	       (left = deadline - clock_mono_ms()) > 0) {
		poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		mq_drain(s, true, clock_mono_ms());
		mq_window_settle(s, clock_mono_ms());
	}
}

/* Says "offline" in the retained status ourselves, then disconnects
 * cleanly, which makes the broker drop the will. */
static void close_connection(struct sink_mqtt *s, int64_t deadline)
{
	if (s->state == MQ_UP && mq_status_publish(s, "offline") == MQTTASYNC_SUCCESS)
		wait_until(s, &s->status_acked, true, deadline);
	s->disconnected = false;
	if (s->state == MQ_UP) {
		s->state = MQ_CLOSED;
		/* the status is acked or time is up: do not linger */
		if (mq_disconnect(s) == MQTTASYNC_SUCCESS)
			wait_until(s, &s->disconnected, false, deadline);
		log_info("mqtt: %s %s", s->disconnected ? "disconnected from" : "gave up on", s->uri);
	}
	s->state = MQ_CLOSED;
}

static bool flush_done(const struct sink_mqtt *s, int64_t now, int64_t deliver_end)
{
	return now >= deliver_end || s->state == MQ_CLOSED ||
	       (s->state == MQ_UP && outbox_unacked(s->ob, s->idx) == 0 &&
		!mq_active_pending(s)) ||
	       (s->state == MQ_DOWN && s->reconnect_ms >= deliver_end);
}

static void mq_flush(void *impl, int64_t budget_ms)
{
	struct sink_mqtt *s = impl;
	int64_t budget = budget_ms > 0 ? budget_ms : 0;
	int64_t end = clock_mono_ms() + budget;
	/* keep a quarter (at most MQ_CLOSE_MAX_MS) for the clean close */
	int64_t deliver_end = end - (budget / 4 < MQ_CLOSE_MAX_MS ? budget / 4 : MQ_CLOSE_MAX_MS);
	struct pollfd p = { .fd = s->rfd, .events = POLLIN };

	for (;;) {
		int64_t now = clock_mono_ms();
		int64_t next = mq_next_ms(s, now);

		if (flush_done(s, now, deliver_end))
			break;
		if (next > deliver_end)
			next = deliver_end;
		poll(&p, 1, next - now > INT_MAX ? INT_MAX : (int)(next - now));
		mq_dispatch(s, NULL, 0, clock_mono_ms());
	}
	close_connection(s, end);
}

static void mq_get_stats(void *impl, struct sink_stats *out)
{
	*out = ((struct sink_mqtt *)impl)->stats;
}

/* Waiting for a reconnect, or for the pause before a resend. */
static void mq_get_health(void *impl, struct sink_health *out)
{
	const struct sink_mqtt *s = impl;

	memset(out, 0, sizeof(*out));
	snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
	out->last_error_wall_ms = s->last_error_wall_ms;
	if (s->state == MQ_DOWN)
		out->next_retry_ms = s->reconnect_ms;
	else if (s->state == MQ_UP && s->resume_ms > clock_mono_ms())
		out->next_retry_ms = s->resume_ms;
}

/* The files read at creation, in the order of s->files. */
static const char *mq_file(const struct sink_mqtt *s, int i, const char *password_file)
{
	const char *const f[] = { password_file, s->ca_file, s->cert_file, s->key_file };

	return f[i];
}

static bool mq_files_changed(void *impl)
{
	const struct sink_mqtt *s = impl;

	for (int i = 0; i < 4; i++)
		if (filestamp_changed(&s->files[i], mq_file(s, i, s->password_file)))
			return true;
	return false;
}

static void mq_free(void *impl)
{
	struct sink_mqtt *s = impl;

	if (!s)
		return;
	if (s->state == MQ_UP)
		close_connection(s, clock_mono_ms() + MQ_FREE_CLOSE_MS);
	/* Paho calls back only under the lock destroy takes, and forgets the
	 * client before releasing it: after this, nothing touches s->link. If
	 * this was the process's last client, Paho's threads have stopped. */
	if (s->client)
		MQTTAsync_destroy(&s->client);
	mq_link_close(s);
	mq_active_free(s);
	secret_wipe(s->password, sizeof(s->password));
	free(s);
}

static const struct sink_ops mq_ops = {
	.name = "mqtt",
	.pollfds = mq_pollfds,
	.next_ms = mq_next_ms,
	.dispatch = mq_dispatch,
	.flush = mq_flush,
	.get_stats = mq_get_stats,
	.get_health = mq_get_health,
	.files_changed = mq_files_changed,
	.free = mq_free,
};

/* ---- creation ---- */

/* Copies each setting, or prefix + gateway id for one left empty. */
static int copy_settings(struct sink_mqtt *s, const struct cfg_mqtt *cfg, const char *gateway)
{
	const struct {
		char *dst;
		size_t cap;
		const char *val;
		const char *prefix; /* NULL: empty stays empty */
		const char *what;
	} t[] = {
		{ s->uri, sizeof(s->uri), cfg->uri, NULL, "uri" },
		{ s->gateway, sizeof(s->gateway), gateway, NULL, "gateway id" },
		{ s->client_id, sizeof(s->client_id), cfg->client_id, "outfall-", "client_id" },
		{ s->root, sizeof(s->root), cfg->topic_root, "outfall/", "topic_root" },
		{ s->username, sizeof(s->username), cfg->username, NULL, "username" },
		{ s->ca_file, sizeof(s->ca_file), cfg->tls_ca_file, NULL, "tls_ca_file" },
		{ s->cert_file, sizeof(s->cert_file), cfg->tls_cert_file, NULL, "tls_cert_file" },
		{ s->key_file, sizeof(s->key_file), cfg->tls_key_file, NULL, "tls_key_file" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool given = t[i].val && t[i].val[0];
		int n = 0;

		if (given)
			n = snprintf(t[i].dst, t[i].cap, "%s", t[i].val);
		else if (t[i].prefix)
			n = snprintf(t[i].dst, t[i].cap, "%s%s", t[i].prefix, gateway);
		if (n < 0 || (size_t)n >= t[i].cap) {
			log_err("mqtt: %s is too long (at most %zu bytes)", t[i].what, t[i].cap - 1);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

static int check_settings(struct sink_mqtt *s, const struct cfg_mqtt *cfg)
{
	size_t n = strlen(s->root);
	int len;

	s->qos = cfg->qos;
	s->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : MQ_KEEPALIVE_S;
	s->tls = cfg->tls || strncmp(s->uri, "ssl://", 6) == 0 || strncmp(s->uri, "mqtts://", 8) == 0;
	s->tls_verify = cfg->tls ? cfg->tls_verify : true;
	/* the root is a topic prefix: no wildcard, no empty level at its end */
	if (strpbrk(s->root, "+#") || s->root[n - 1] == '/') {
		log_err("mqtt: topic_root \"%s\" must not contain + or # or end with /", s->root);
		return -EINVAL;
	}
	len = snprintf(s->status_topic, sizeof(s->status_topic), "%s/status", s->root);
	if (len < 0 || (size_t)len >= sizeof(s->status_topic) ||
	    payload_status(s->offline, sizeof(s->offline), "offline", OUTFALL_VERSION,
			   s->started_wall_ms) < 0)
		return -ENAMETOOLONG;
	if ((cfg->tls_cert_file && cfg->tls_cert_file[0]) !=
	    (cfg->tls_key_file && cfg->tls_key_file[0])) {
		log_err("mqtt: tls_cert_file and tls_key_file go together");
		return -EINVAL;
	}
	if (cfg->password_file && !s->username[0]) {
		log_err("mqtt: password_file needs a username");
		return -EINVAL;
	}
	return 0;
}

static int read_password(struct sink_mqtt *s, const char *path)
{
	int rc = secret_read(path, s->password, sizeof(s->password));

	if (rc)
		log_err("mqtt: password_file %s: %s", path, secret_strerror(rc));
	return rc;
}

static bool args_ok(const struct cfg_mqtt *cfg, const char *gateway_id, const struct outbox *ob,
		    int sink_idx, const struct sink *out)
{
	return cfg && gateway_id && gateway_id[0] && ob && out && sink_idx >= 0 &&
	       sink_idx < OUTBOX_MAX_SINKS && cfg->uri && cfg->uri[0] && cfg->qos >= 0 &&
	       cfg->qos <= 2;
}

int sink_mqtt_new(const struct cfg_mqtt *cfg, const char *gateway_id, struct outbox *ob,
		  int sink_idx, int64_t started_wall_ms, struct sink *out)
{
	struct sink_mqtt *s;
	int rc;

	if (!args_ok(cfg, gateway_id, ob, sink_idx, out)) {
		log_err("mqtt: needs a uri, a gateway id, qos 0, 1 or 2 and an outbox");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_err("mqtt: out of memory");
		return -ENOMEM;
	}
	s->rfd = -1;
	s->ob = ob;
	s->idx = sink_idx;
	s->started_wall_ms = started_wall_ms;
	s->backoff_first_ms = s->backoff_ms = MQ_BACKOFF_FIRST_MS;
	s->backoff_max_ms = MQ_BACKOFF_MAX_MS;
	rc = copy_settings(s, cfg, gateway_id);
	if (!rc)
		rc = check_settings(s, cfg);
	if (!rc && cfg->password_file &&
	    snprintf(s->password_file, sizeof(s->password_file), "%s", cfg->password_file) >=
		    (int)sizeof(s->password_file)) {
		log_err("mqtt: password_file is too long (at most %zu bytes)",
			sizeof(s->password_file) - 1);
		rc = -ENAMETOOLONG;
	}
	/* stamped before reading: a change while we read shows up next time */
	for (int i = 0; !rc && i < 4; i++)
		filestamp_take(&s->files[i], mq_file(s, i, s->password_file));
	if (!rc && cfg->password_file)
		rc = read_password(s, cfg->password_file);
	if (!rc)
		rc = mq_link_open(s);
	if (!rc)
		rc = mq_client_create(s);
	if (rc) {
		mq_free(s);
		return rc;
	}
	outbox_rewind(ob, sink_idx);
	out->ops = &mq_ops;
	out->impl = s;
	return 0;
}

void sink_mqtt_set_backoff_ms(struct sink *sk, int64_t first_ms, int64_t max_ms)
{
	struct sink_mqtt *s = sk->impl;

	s->backoff_first_ms = first_ms > 0 ? first_ms : 1;
	s->backoff_max_ms = max_ms > s->backoff_first_ms ? max_ms : s->backoff_first_ms;
	s->backoff_ms = s->backoff_first_ms;
}

bool sink_mqtt_connected(const struct sink *sk)
{
	return ((const struct sink_mqtt *)sk->impl)->state == MQ_UP;
}

int sink_mqtt_publish_active(struct sink *sk, const char *outlet, const char *json)
{
	if (!sk || sk->ops != &mq_ops)
		return -EINVAL;
	return mq_active_set(sk->impl, outlet, json, clock_mono_ms());
}
