/*
 * paho.c - the MQTT sink's side of Paho (see mqtt.h and
 * internal.h): the callbacks that run on Paho's threads and only
 * write events to a pipe, the tickets that are the context of a publish,
 * and the few calls into Paho (create, reset, connect, disconnect, send).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MQ_CONNECT_TIMEOUT_S 10

/* ---- Paho's threads: these only write events ---- */

static void link_send(struct mq_link *l, uint8_t type, int32_t code, uint16_t ticket,
		      uint64_t seq)
{
	struct mq_event ev = { .seq = seq, .code = code, .ticket = ticket, .type = type };
	ssize_t n;

	/* 16 bytes are below PIPE_BUF: written whole or not at all */
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

/* ---- the pipe and the tickets (loop only) ---- */

int mq_link_open(struct sink_mqtt *s)
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

/* Only once the client is destroyed: then no callback can write any more. */
void mq_link_close(struct sink_mqtt *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	if (s->link && s->link->wfd >= 0)
		close(s->link->wfd);
	free(s->link);
	s->link = NULL;
}

static struct mq_ticket *ticket_take(struct sink_mqtt *s, uint8_t kind, uint64_t seq,
				     uint16_t slot)
{
	for (int i = 0; i < MQ_TICKETS; i++) {
		struct mq_ticket *t = &s->link->tickets[i];

		if (s->held[i])
			continue;
		s->held[i] = true;
		s->n_held++;
		t->seq = seq;
		t->kind = kind;
		t->slot = slot;
		return t;
	}
	return NULL;
}

static void ticket_put(struct sink_mqtt *s, uint16_t i)
{
	s->held[i] = false;
	s->n_held--;
}

/* Takes back the ticket an event names; NULL for a stale or bogus event.
 * The ticket's fields stay readable until the next publish. */
const struct mq_ticket *mq_ticket_back(struct sink_mqtt *s, const struct mq_event *ev)
{
	if (ev->ticket >= MQ_TICKETS || !s->held[ev->ticket] ||
	    s->link->tickets[ev->ticket].seq != ev->seq)
		return NULL;
	ticket_put(s, ev->ticket);
	return &s->link->tickets[ev->ticket];
}

/* ---- calls into Paho ---- */

/*
 * Queues s->payload[0..len) for topic. MQTTASYNC_SUCCESS and *ticket (when
 * not NULL) set, or Paho's refusal (then no callback will come). Paho copies
 * topic and payload, so both buffers may be reused at once.
 */
int mq_publish(struct sink_mqtt *s, const char *topic, int len, int qos, int retained,
	       uint8_t kind, uint64_t seq, uint16_t slot, uint16_t *ticket)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	struct mq_ticket *t;
	int rc;

	if (!s->client)
		return MQTTASYNC_DISCONNECTED;
	t = ticket_take(s, kind, seq, slot);
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

int mq_client_create(struct sink_mqtt *s)
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

/*
 * A fresh client with nothing of the old one left inside Paho: no queued
 * publish can go out ahead of the resend, and every ticket is ours again
 * (destroy runs under Paho's lock, which all its callbacks hold, so once it
 * returns none can arrive). Creating the new client first keeps destroy from
 * stopping Paho's threads, which would block for about a second.
 */
int mq_client_reset(struct sink_mqtt *s)
{
	MQTTAsync old = s->client;
	int rc;

	s->client = NULL;
	rc = mq_client_create(s);
	if (old)
		MQTTAsync_destroy(&old);
	mq_drain(s, false, 0);
	memset(s->held, 0, sizeof(s->held));
	s->n_held = 0;
	atomic_store(&s->link->lost, 0);
	return rc;
}

static void tls_options(const struct sink_mqtt *s, MQTTAsync_SSLOptions *ssl)
{
	ssl->trustStore = s->ca_file[0] ? s->ca_file : NULL;
	ssl->keyStore = s->cert_file[0] ? s->cert_file : NULL;
	ssl->privateKey = s->key_file[0] ? s->key_file : NULL;
	ssl->enableServerCertAuth = s->tls_verify;
	ssl->verify = s->tls_verify; /* the name, too */
}

/* Queues a connect, with the will; Paho's return code. */
int mq_connect(struct sink_mqtt *s)
{
	MQTTAsync_connectOptions o = MQTTAsync_connectOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

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
	return MQTTAsync_connect(s->client, &o);
}

/* Queues a clean disconnect that does not linger; Paho's return code. */
int mq_disconnect(struct sink_mqtt *s)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	d.timeout = 0;
	d.onSuccess = cb_disc_ok;
	d.onFailure = cb_disc_fail;
	d.context = s->link;
	return MQTTAsync_disconnect(s->client, &d);
}

/* Reads and handles (or with apply false, drops) every event waiting. */
void mq_drain(struct sink_mqtt *s, bool apply, int64_t now)
{
	struct mq_event ev[32];
	ssize_t n;

	do {
		n = read(s->rfd, ev, sizeof(ev));
		for (ssize_t i = 0; apply && i < n / (ssize_t)sizeof(ev[0]); i++)
			mq_handle_event(s, &ev[i], now);
	} while (n == (ssize_t)sizeof(ev) || (n < 0 && errno == EINTR));
	if (n < 0 && errno != EAGAIN)
		log_err("mqtt: reading events: %s", strerror(errno));
}
