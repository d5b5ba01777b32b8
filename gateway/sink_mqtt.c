/*
 * sink_mqtt.c - the MQTT sink (see sink_mqtt.h): Paho's callbacks turned
 * into events on a pipe, a connection state machine with our own backoff,
 * and an in-order window of publishes acked to the queue as a prefix.
 *
 * Longer than the house's ~800 lines on purpose: the event hand-off, who
 * owns a ticket when, and the window's ack rule are one invariant and are
 * best read in one file. The settings code at the end is what should move
 * out first (a secret-file reader shared with the InfluxDB sink).
 */
#include "sink_mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "payload.h"
#include "queue.h"
#include "record.h"

/* Twice the window: a full new window can go out while Paho still holds the
 * tickets of publishes it queued before a connection loss. */
#define MQ_TICKETS (2 * SINK_MQTT_WINDOW)
/* Paho silently drops its oldest queued publish beyond this; we never queue
 * more than MQ_TICKETS, so it must stay above that. */
#define MQ_PAHO_BUFFERED (4 * MQ_TICKETS)
#define MQ_BACKOFF_FIRST_MS 1000
#define MQ_BACKOFF_MAX_MS 60000
#define MQ_CONNECT_TIMEOUT_S 10
#define MQ_KEEPALIVE_S 30  /* when unset: a 4G link dies silently */
#define MQ_RETRY_MS 1000   /* pause before resending after a failed publish */
#define MQ_CLOSE_MAX_MS 1000
#define MQ_FREE_CLOSE_MS 500
#define MQ_STR 256
#define MQ_PATH 1024
#define MQ_ROOT_MAX (PAYLOAD_TOPIC_MAX - 16 - REC_NAME) /* room for /telemetry/<outlet> */
#define MQ_STATUS_SEQ 0    /* ticket seq of status messages; records start at 1 */

enum mq_ev_type { EV_CONNECTED = 1, EV_CONNECT_FAILED, EV_LOST, EV_DISCONNECTED, EV_PUB_OK,
		  EV_PUB_FAILED };

/* What a Paho callback tells the loop; 16 bytes, written atomically. */
struct mq_event {
	uint64_t seq;    /* PUB_*: the record's seq, MQ_STATUS_SEQ for status */
	int32_t code;    /* failures: Paho's return or CONNACK code */
	uint16_t ticket; /* PUB_*: the ticket coming back */
	uint8_t type;    /* enum mq_ev_type */
	uint8_t pad;
};

struct mq_link;

/* The callback context of one publish. Owned by Paho from sendMessage until
 * its event is read; the loop writes seq only while it owns the ticket. */
struct mq_ticket {
	struct mq_link *link; /* set once */
	uint64_t seq;
	uint16_t index;       /* set once */
};

/* Everything Paho's threads may touch; freed only after MQTTAsync_destroy. */
struct mq_link {
	int wfd;                 /* write end of the event pipe */
	atomic_uint lost;        /* events that did not fit in the pipe */
	struct mq_ticket tickets[MQ_TICKETS];
};

enum mq_state { MQ_DOWN, MQ_CONNECTING, MQ_UP, MQ_CLOSED };

enum if_state { IF_PENDING, IF_DONE, IF_FAILED };

/* One record in flight, in send order. */
struct mq_inflight {
	uint64_t seq;
	uint16_t ticket;  /* meaningless unless PENDING */
	uint8_t state;    /* enum if_state */
	bool delivered;   /* DONE by the broker's ack, not by quarantine */
};

struct sink_mqtt {
	MQTTAsync client;        /* NULL between a failed re-create and the next try */
	struct mq_link *link;
	int rfd;                 /* read end of the event pipe, in the loop */
	struct queue *q;         /* borrowed */
	int idx;                 /* our sink index in q */
	enum mq_state state;
	int qos;                 /* telemetry */
	int keepalive_s;
	bool tls;
	bool tls_verify;         /* check the broker's certificate and name */
	char uri[MQ_STR];
	char client_id[MQ_STR];
	char gateway[MQ_STR];
	char root[MQ_ROOT_MAX];
	char username[MQ_STR];   /* "" for none */
	char password[MQ_STR];   /* "" for none; wiped on free */
	char ca_file[MQ_PATH];   /* "" for the system's trust store */
	char cert_file[MQ_PATH]; /* "" for none */
	char key_file[MQ_PATH];  /* "" for none */
	char status_topic[PAYLOAD_TOPIC_MAX];
	char offline[MQ_STR];    /* the will, and the status on a clean close */
	int64_t started_wall_ms;
	int64_t reconnect_ms;    /* monotonic; when DOWN, the next attempt */
	int64_t backoff_ms;      /* delay before the next attempt */
	int64_t backoff_first_ms;
	int64_t backoff_max_ms;
	struct complaint trouble;    /* connect failures, losses, failed publishes */
	struct complaint quarantine; /* records given up for good */
	struct mq_inflight win[SINK_MQTT_WINDOW]; /* in send order */
	unsigned win_len;
	bool need_rewind;        /* a publish failed: resend once settled */
	int64_t resume_ms;       /* no sending before this (after a rewind) */
	uint64_t max_sent_seq;   /* to count resends as retried */
	bool held[MQ_TICKETS];   /* ticket is with Paho */
	unsigned n_held;
	bool status_acked;       /* the last status publish was acked */
	bool disconnected;       /* the clean disconnect completed */
	struct sink_stats stats;
	char topic[PAYLOAD_TOPIC_MAX];
	char payload[PAYLOAD_MAX];
};

/* ---- Paho's threads: these only write events ---- */

static void link_send(struct mq_link *l, uint8_t type, int32_t code, uint16_t ticket,
		      uint64_t seq)
{
	struct mq_event ev = { .seq = seq, .code = code, .ticket = ticket, .type = type };
	ssize_t n;

	do
		n = write(l->wfd, &ev, sizeof(ev));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(ev))
		atomic_fetch_add(&l->lost, 1);
}

static int32_t fail_code(const MQTTAsync_failureData *r)
{
	return r ? r->code : MQTTASYNC_FAILURE;
}

static void cb_connect_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	link_send(ctx, EV_CONNECTED, 0, 0, 0);
}

static void cb_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
	link_send(ctx, EV_CONNECT_FAILED, fail_code(r), 0, 0);
}

static void cb_lost(void *ctx, char *cause)
{
	(void)cause;
	link_send(ctx, EV_LOST, 0, 0, 0);
}

static void cb_disc_ok(void *ctx, MQTTAsync_successData *r)
{
	(void)r;
	link_send(ctx, EV_DISCONNECTED, 0, 0, 0);
}

static void cb_disc_fail(void *ctx, MQTTAsync_failureData *r)
{
	link_send(ctx, EV_DISCONNECTED, fail_code(r), 0, 0);
}

static void cb_pub_ok(void *ctx, MQTTAsync_successData *r)
{
	const struct mq_ticket *t = ctx;

	(void)r;
	link_send(t->link, EV_PUB_OK, 0, t->index, t->seq);
}

static void cb_pub_fail(void *ctx, MQTTAsync_failureData *r)
{
	const struct mq_ticket *t = ctx;

	link_send(t->link, EV_PUB_FAILED, fail_code(r), t->index, t->seq);
}

/* ---- tickets and the in-flight window (loop only) ---- */

static struct mq_ticket *ticket_take(struct sink_mqtt *s, uint64_t seq)
{
	for (int i = 0; i < MQ_TICKETS; i++) {
		if (s->held[i])
			continue;
		s->held[i] = true;
		s->n_held++;
		s->link->tickets[i].seq = seq;
		return &s->link->tickets[i];
	}
	return NULL;
}

static void ticket_put(struct sink_mqtt *s, uint16_t i)
{
	s->held[i] = false;
	s->n_held--;
}

/* Takes back the ticket an event names; false for a stale or bogus event. */
static bool ticket_back(struct sink_mqtt *s, const struct mq_event *ev)
{
	if (ev->ticket >= MQ_TICKETS || !s->held[ev->ticket] ||
	    s->link->tickets[ev->ticket].seq != ev->seq)
		return false;
	ticket_put(s, ev->ticket);
	return true;
}

static void win_push(struct sink_mqtt *s, uint64_t seq, uint16_t ticket, uint8_t state,
		     bool delivered)
{
	s->win[s->win_len++] = (struct mq_inflight){
		.seq = seq, .ticket = ticket, .state = state, .delivered = delivered,
	};
}

/* Everything in flight is forgotten and will be sent again from the queue's
 * acked position (the tickets stay with Paho until their events return). */
static void win_restart(struct sink_mqtt *s)
{
	s->win_len = 0;
	s->need_rewind = false;
	queue_rewind(s->q, s->idx);
}

/* Acks the completed prefix; after a failure, rewinds once nothing is
 * pending any more, so the resend starts in order behind the last ack. */
static void settle(struct sink_mqtt *s, int64_t now)
{
	unsigned done = 0;
	bool pending = false;

	while (done < s->win_len && s->win[done].state == IF_DONE)
		s->stats.sent += s->win[done++].delivered;
	if (done) {
		queue_ack(s->q, s->idx, s->win[done - 1].seq);
		s->win_len -= done;
		memmove(s->win, s->win + done, s->win_len * sizeof(s->win[0]));
	}
	for (unsigned i = 0; i < s->win_len; i++)
		pending |= s->win[i].state == IF_PENDING;
	if (s->need_rewind && !pending) {
		win_restart(s);
		s->resume_ms = now + MQ_RETRY_MS;
	}
}

/* ---- publishing ---- */

static int publish(struct sink_mqtt *s, const char *topic, int len, int qos, int retained,
		   uint64_t seq, uint16_t *ticket)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	struct mq_ticket *t = ticket_take(s, seq);
	int rc;

	if (!t)
		return MQTTASYNC_MAX_BUFFERED_MESSAGES;
	msg.payload = s->payload;
	msg.payloadlen = len;
	msg.qos = qos;
	msg.retained = retained;
	ro.onSuccess = cb_pub_ok;
	ro.onFailure = cb_pub_fail;
	ro.context = t;
	rc = MQTTAsync_sendMessage(s->client, topic, &msg, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		ticket_put(s, t->index); /* refused: Paho never calls back */
	else if (ticket)
		*ticket = t->index;
	return rc;
}

static int publish_status(struct sink_mqtt *s, const char *state)
{
	int n = payload_status(s->payload, sizeof(s->payload), state, OUTFALL_VERSION,
			       s->started_wall_ms);

	s->status_acked = false;
	if (n < 0)
		return MQTTASYNC_FAILURE;
	return publish(s, s->status_topic, n, 1, 1, MQ_STATUS_SEQ, NULL);
}

static void quarantine(struct sink_mqtt *s, const struct record *r, const char *why,
		       int64_t now)
{
	s->stats.quarantined++;
	complain(&s->quarantine, now, LOG_WARNING, "mqtt: record %llu cannot be sent (%s); quarantined",
		 (unsigned long long)r->seq, why);
	win_push(s, r->seq, 0, IF_DONE, false);
}

static int encode(struct sink_mqtt *s, const struct record *r)
{
	int n = payload_topic(s->topic, sizeof(s->topic), s->root, r);

	if (n < 0)
		return n;
	if (r->type == REC_ALERT)
		return payload_alert(s->payload, sizeof(s->payload), s->gateway, r);
	return payload_telemetry(s->payload, sizeof(s->payload), r);
}

static void send_record(struct sink_mqtt *s, const struct record *r, int64_t now)
{
	int n = encode(s, r);
	uint16_t ticket = 0;
	int rc;

	if (n < 0) {
		quarantine(s, r, strerror(-n), now);
		return;
	}
	rc = publish(s, s->topic, n, r->type == REC_ALERT ? 1 : s->qos, 0, r->seq, &ticket);
	if (rc == MQTTASYNC_SUCCESS) {
		win_push(s, r->seq, ticket, IF_PENDING, false);
		if (r->seq <= s->max_sent_seq)
			s->stats.retried++;
		else
			s->max_sent_seq = r->seq;
	} else if (rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_BAD_QOS) {
		quarantine(s, r, MQTTAsync_strerror(rc), now); /* sending again cannot help */
	} else {
		s->stats.errors++;
		complain(&s->trouble, now, LOG_WARNING, "mqtt: cannot publish to %s: %s",
			 s->topic, MQTTAsync_strerror(rc));
		win_push(s, r->seq, 0, IF_FAILED, false);
		s->need_rewind = true;
	}
}

static bool can_send(const struct sink_mqtt *s)
{
	return s->state == MQ_UP && !s->need_rewind && s->win_len < SINK_MQTT_WINDOW &&
	       s->n_held < MQ_TICKETS;
}

static void pump(struct sink_mqtt *s, int64_t now)
{
	while (can_send(s) && now >= s->resume_ms) {
		const struct record *r = queue_next(s->q, s->idx);

		if (!r)
			break;
		send_record(s, r, now);
	}
	settle(s, now);
}

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

static int client_create(struct sink_mqtt *s)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	MQTTAsync c = NULL;
	int rc;

	co.MQTTVersion = MQTTVERSION_3_1_1;
	co.sendWhileDisconnected = 0;
	co.maxBufferedMessages = MQ_PAHO_BUFFERED;
	rc = MQTTAsync_createWithOptions(&c, s->uri, s->client_id, MQTTCLIENT_PERSISTENCE_NONE,
					 NULL, &co);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setConnectionLostCallback(c, s->link, cb_lost);
	if (rc != MQTTASYNC_SUCCESS) {
		log_err("mqtt: cannot create a client for %s: %s", s->uri, MQTTAsync_strerror(rc));
		if (c)
			MQTTAsync_destroy(&c);
		return -EINVAL;
	}
	s->client = c;
	return 0;
}

/* Reads and handles (or with apply false, drops) every event waiting. */
static void drain(struct sink_mqtt *s, bool apply, int64_t now);

/*
 * A fresh client with nothing of the old one left inside Paho: no queued
 * publish can go out ahead of the resend, and every ticket is ours again
 * (destroy runs under Paho's lock, which all its callbacks hold, so once it
 * returns none can arrive). Creating the new client first keeps destroy from
 * stopping Paho's threads, which would block for about a second.
 */
static int client_reset(struct sink_mqtt *s)
{
	MQTTAsync old = s->client;
	int rc;

	s->client = NULL;
	rc = client_create(s);
	if (old)
		MQTTAsync_destroy(&old);
	drain(s, false, 0);
	memset(s->held, 0, sizeof(s->held));
	s->n_held = 0;
	atomic_store(&s->link->lost, 0);
	return rc;
}

static void schedule_reconnect(struct sink_mqtt *s, int64_t now)
{
	s->state = MQ_DOWN;
	s->reconnect_ms = now + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > s->backoff_max_ms ? s->backoff_max_ms : s->backoff_ms * 2;
}

static void connect_failed(struct sink_mqtt *s, int64_t now, const char *why)
{
	s->stats.errors++;
	complain(&s->trouble, now, LOG_WARNING, "mqtt: cannot connect to %s: %s", s->uri, why);
	schedule_reconnect(s, now);
}

static void tls_options(const struct sink_mqtt *s, MQTTAsync_SSLOptions *ssl)
{
	ssl->trustStore = s->ca_file[0] ? s->ca_file : NULL;
	ssl->keyStore = s->cert_file[0] ? s->cert_file : NULL;
	ssl->privateKey = s->key_file[0] ? s->key_file : NULL;
	ssl->enableServerCertAuth = s->tls_verify;
	ssl->verify = s->tls_verify; /* the name, too */
}

static void connect_start(struct sink_mqtt *s, int64_t now)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	int rc;

	if ((s->n_held || atomic_load(&s->link->lost) || !s->client) && client_reset(s) < 0) {
		connect_failed(s, now, "no client");
		return;
	}
	will.topicName = s->status_topic;
	will.message = s->offline;
	will.retained = 1;
	will.qos = 1;
	tls_options(s, &ssl);
	o.ssl = s->tls ? &ssl : NULL;
	o.keepAliveInterval = s->keepalive_s;
	o.cleansession = 1;
	o.will = &will;
	o.username = s->username[0] ? s->username : NULL;
	o.password = s->password[0] ? s->password : NULL;
	o.connectTimeout = MQ_CONNECT_TIMEOUT_S;
	o.MQTTVersion = MQTTVERSION_3_1_1;
	o.automaticReconnect = 0;
	o.onSuccess = cb_connect_ok;
	o.onFailure = cb_connect_fail;
	o.context = s->link;
	rc = MQTTAsync_connect(s->client, &o);
	if (rc != MQTTASYNC_SUCCESS)
		connect_failed(s, now, conn_error(rc));
	else
		s->state = MQ_CONNECTING;
}

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
	win_restart(s);
	rc = publish_status(s, "online");
	if (rc != MQTTASYNC_SUCCESS)
		log_warn("mqtt: cannot publish status: %s", MQTTAsync_strerror(rc));
}

static void on_lost(struct sink_mqtt *s, int64_t now)
{
	s->stats.errors++;
	complain(&s->trouble, now, LOG_WARNING, "mqtt: lost the connection to %s", s->uri);
	win_restart(s);
	schedule_reconnect(s, now);
}

static void on_pub_event(struct sink_mqtt *s, const struct mq_event *ev, int64_t now)
{
	if (!ticket_back(s, ev))
		return;
	if (ev->seq == MQ_STATUS_SEQ) {
		s->status_acked = ev->type == EV_PUB_OK;
		return;
	}
	for (unsigned i = 0; i < s->win_len; i++) {
		struct mq_inflight *f = &s->win[i];

		if (f->seq != ev->seq || f->state != IF_PENDING)
			continue;
		if (ev->type == EV_PUB_OK) {
			/* the broker has it, whichever send of this seq it was */
			f->state = IF_DONE;
			f->delivered = true;
		} else if (f->ticket == ev->ticket) {
			f->state = IF_FAILED;
			s->need_rewind = true;
			/* "incomplete" is the connection going away: counted as lost */
			if (ev->code != MQTTASYNC_OPERATION_INCOMPLETE) {
				s->stats.errors++;
				complain(&s->trouble, now, LOG_WARNING, "mqtt: publish failed: %s",
					 MQTTAsync_strerror(ev->code));
			}
		}
		return;
	}
}

static void handle_event(struct sink_mqtt *s, const struct mq_event *ev, int64_t now)
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

static void drain(struct sink_mqtt *s, bool apply, int64_t now)
{
	struct mq_event ev[32];
	ssize_t n;

	do {
		n = read(s->rfd, ev, sizeof(ev));
		for (ssize_t i = 0; apply && i < n / (ssize_t)sizeof(ev[0]); i++)
			handle_event(s, &ev[i], now);
	} while (n == (ssize_t)sizeof(ev) || (n < 0 && errno == EINTR));
	if (n < 0 && errno != EAGAIN)
		log_err("mqtt: reading events: %s", strerror(errno));
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

static int64_t mq_next_ms(void *impl, int64_t now_ms)
{
	struct sink_mqtt *s = impl;

	if (s->state == MQ_DOWN)
		return s->reconnect_ms > now_ms ? s->reconnect_ms : now_ms;
	if (can_send(s) && queue_unsent(s->q, s->idx) > 0)
		return s->resume_ms > now_ms ? s->resume_ms : now_ms;
	return INT64_MAX;
}

static void mq_dispatch(void *impl, const struct pollfd *pfds, int n, int64_t now_ms)
{
	struct sink_mqtt *s = impl;

	(void)pfds; /* the pipe is drained every pass; reading it is cheap */
	(void)n;
	drain(s, true, now_ms);
	/* Cannot happen with at most MQ_TICKETS events outstanding; if the pipe
	 * ever overflowed we would not know what completed, so start over (the
	 * reconnect replaces the client). */
	if (atomic_load(&s->link->lost) && s->state != MQ_CLOSED) {
		log_err("mqtt: events from the client were lost; reconnecting");
		s->stats.errors++;
		win_restart(s);
		s->state = MQ_DOWN;
		s->reconnect_ms = now_ms;
	}
	if (s->state == MQ_DOWN && now_ms >= s->reconnect_ms)
		connect_start(s, now_ms);
	pump(s, now_ms);
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
		drain(s, true, clock_mono_ms());
		settle(s, clock_mono_ms());
	}
}

/* Says "offline" in the retained status ourselves, then disconnects
 * cleanly, which makes the broker drop the will. */
static void close_connection(struct sink_mqtt *s, int64_t deadline)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	if (s->state == MQ_UP && publish_status(s, "offline") == MQTTASYNC_SUCCESS)
		wait_until(s, &s->status_acked, true, deadline);
	s->disconnected = false;
	if (s->state == MQ_UP) {
		s->state = MQ_CLOSED;
		d.timeout = 0; /* the status is acked or time is up: do not linger */
		d.onSuccess = cb_disc_ok;
		d.onFailure = cb_disc_fail;
		d.context = s->link;
		if (MQTTAsync_disconnect(s->client, &d) == MQTTASYNC_SUCCESS)
			wait_until(s, &s->disconnected, false, deadline);
		log_info("mqtt: %s %s", s->disconnected ? "disconnected from" : "gave up on", s->uri);
	}
	s->state = MQ_CLOSED;
}

static void mq_flush(void *impl, int64_t budget_ms)
{
	struct sink_mqtt *s = impl;
	int64_t budget = budget_ms > 0 ? budget_ms : 0;
	int64_t end = clock_mono_ms() + budget;
	int64_t deliver_end = end - (budget / 4 < MQ_CLOSE_MAX_MS ? budget / 4 : MQ_CLOSE_MAX_MS);
	struct pollfd p = { .fd = s->rfd, .events = POLLIN };

	for (;;) {
		int64_t now = clock_mono_ms();
		int64_t next = mq_next_ms(s, now);

		if (now >= deliver_end || s->state == MQ_CLOSED ||
		    (s->state == MQ_UP && queue_unacked(s->q, s->idx) == 0) ||
		    (s->state == MQ_DOWN && s->reconnect_ms >= deliver_end))
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
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->link && s->link->wfd >= 0)
		close(s->link->wfd);
	free(s->link);
	explicit_bzero(s->password, sizeof(s->password));
	free(s);
}

static const struct sink_ops mq_ops = {
	.name = "mqtt",
	.pollfds = mq_pollfds,
	.next_ms = mq_next_ms,
	.dispatch = mq_dispatch,
	.flush = mq_flush,
	.get_stats = mq_get_stats,
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
	if (cfg->password_file && !s->username[0]) {
		log_err("mqtt: password_file needs a username");
		return -EINVAL;
	}
	return 0;
}

/* The whole file is the password, but for trailing CR/LF. */
static int read_password(struct sink_mqtt *s, const char *path)
{
	size_t cap = sizeof(s->password), len = 0;
	ssize_t n = 1;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		rc = -errno;
	while (!rc && n > 0 && len < cap) {
		n = read(fd, s->password + len, cap - len);
		if (n > 0)
			len += (size_t)n;
		else if (n < 0 && errno == EINTR)
			n = 1;
		else if (n < 0)
			rc = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (!rc && len == cap)
		rc = -EFBIG;
	while (!rc && len && (s->password[len - 1] == '\n' || s->password[len - 1] == '\r'))
		len--;
	if (!rc && (len == 0 || memchr(s->password, '\0', len)))
		rc = -EINVAL;
	if (!rc) {
		s->password[len] = '\0';
		return 0;
	}
	log_err("mqtt: password_file %s: %s", path,
		rc == -EFBIG ? "too large for a password" :
		rc == -EINVAL ? "empty, or holds a NUL byte" : strerror(-rc));
	explicit_bzero(s->password, cap);
	return rc;
}

static int open_link(struct sink_mqtt *s)
{
	int fds[2];

	s->link = calloc(1, sizeof(*s->link));
	if (!s->link) {
		log_err("mqtt: out of memory");
		return -ENOMEM;
	}
	s->link->wfd = -1;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		int err = errno;

		log_err("mqtt: pipe: %s", strerror(err));
		return -err;
	}
	s->rfd = fds[0];
	s->link->wfd = fds[1];
	for (int i = 0; i < MQ_TICKETS; i++)
		s->link->tickets[i] = (struct mq_ticket){ .link = s->link, .index = (uint16_t)i };
	return 0;
}

int sink_mqtt_new(const struct cfg_mqtt *cfg, const char *gateway_id, struct queue *q,
		  int sink_idx, int64_t started_wall_ms, struct sink *out)
{
	struct sink_mqtt *s;
	int rc;

	if (!cfg || !gateway_id || !gateway_id[0] || !q || !out || sink_idx < 0 ||
	    sink_idx >= QUEUE_MAX_SINKS || !cfg->uri || !cfg->uri[0] || cfg->qos < 0 ||
	    cfg->qos > 2) {
		log_err("mqtt: needs a uri, a gateway id, qos 0, 1 or 2 and a queue");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_err("mqtt: out of memory");
		return -ENOMEM;
	}
	s->rfd = -1;
	s->q = q;
	s->idx = sink_idx;
	s->started_wall_ms = started_wall_ms;
	s->backoff_first_ms = s->backoff_ms = MQ_BACKOFF_FIRST_MS;
	s->backoff_max_ms = MQ_BACKOFF_MAX_MS;
	rc = copy_settings(s, cfg, gateway_id);
	if (!rc)
		rc = check_settings(s, cfg);
	if (!rc && cfg->password_file)
		rc = read_password(s, cfg->password_file);
	if (!rc)
		rc = open_link(s);
	if (!rc)
		rc = client_create(s);
	if (rc) {
		mq_free(s);
		return rc;
	}
	queue_rewind(q, sink_idx);
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
