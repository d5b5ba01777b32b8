/*
 * retained.c - the MQTT sink's retained messages (see
 * mqtt.h): the status, and the set of open alerts of each outlet on
 * <root>/alerts/<outlet>/active.
 *
 * The broker may lose what is retained (a restart without persistence, a
 * new broker behind the same name), so the sink keeps the last set of each
 * outlet and publishes every one again on each connect. These are state, not
 * records: they do not pass through the outbox and nothing acks them there;
 * the newest set is all that matters, and a set published while another of
 * the same outlet is in flight simply follows it on the same connection.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mq_status_publish(struct sink_mqtt *s, const char *state)
{
	int n = payload_status(s->payload, sizeof(s->payload), state, OUTFALL_VERSION,
			       s->started_wall_ms);

	s->status_acked = false;
	if (n < 0)
		return MQTTASYNC_FAILURE;
	return mq_publish(s, s->status_topic, n, 1, 1, MQ_K_STATUS, 0, 0, NULL);
}

static struct mq_active *active_find(struct sink_mqtt *s, const char *outlet)
{
	for (unsigned i = 0; i < s->n_active; i++)
		if (strcmp(s->active[i].outlet, outlet) == 0)
			return &s->active[i];
	return NULL;
}

/* One set to the broker; false when Paho refused it (kept due, retried). */
static bool active_send(struct sink_mqtt *s, struct mq_active *a, int64_t now)
{
	int n = payload_topic_active(s->topic, sizeof(s->topic), s->root, a->outlet);
	int rc;

	if (n < 0) {
		/* cannot be (the root leaves room for any outlet); if it were,
		 * retrying would spin */
		log_err("mqtt: no topic for %s's active alerts", a->outlet);
		a->due = false;
		return true;
	}
	memcpy(s->payload, a->json, a->len);
	rc = mq_publish(s, s->topic, (int)a->len, 1, 1, MQ_K_ACTIVE, a->gen,
			(uint16_t)(a - s->active), NULL);
	if (rc == MQTTASYNC_SUCCESS) {
		a->due = false;
		return true;
	}
	if (rc == MQTTASYNC_BAD_UTF8_STRING) {
		/* an outlet name that is not UTF-8: no retry can help */
		log_err("mqtt: cannot publish to %s: %s", s->topic, MQTTAsync_strerror(rc));
		a->due = false;
		return true;
	}
	mq_trouble(s, now, "mqtt: cannot publish to %s: %s", s->topic, MQTTAsync_strerror(rc));
	s->active_retry_ms = now + s->backoff_first_ms;
	return false;
}

/* Sends every set that is due, while connected and not pausing. */
void mq_active_pump(struct sink_mqtt *s, int64_t now)
{
	if (s->state != MQ_UP || now < s->active_retry_ms)
		return;
	for (unsigned i = 0; i < s->n_active; i++)
		if (s->active[i].due && !active_send(s, &s->active[i], now))
			return;
}

bool mq_active_pending(const struct sink_mqtt *s)
{
	if (s->state != MQ_UP)
		return false;
	for (unsigned i = 0; i < s->n_active; i++)
		if (s->active[i].due)
			return true;
	return false;
}

/* On every connect: the broker may have lost them. */
void mq_active_all_due(struct sink_mqtt *s)
{
	for (unsigned i = 0; i < s->n_active; i++)
		s->active[i].due = true;
	s->active_retry_ms = 0;
}

/* The publish event of a set came back. A failure of the newest version is
 * sent again after a pause; one of an older version no longer matters. */
void mq_active_done(struct sink_mqtt *s, const struct mq_ticket *t, const struct mq_event *ev,
		    int64_t now)
{
	struct mq_active *a;

	if (ev->type == EV_PUB_OK || t->slot >= s->n_active)
		return;
	a = &s->active[t->slot];
	if (a->gen != t->seq)
		return;
	a->due = true;
	if (ev->code != MQTTASYNC_OPERATION_INCOMPLETE) {
		mq_trouble(s, now, "mqtt: publish of %s's active alerts failed: %s", a->outlet,
			   MQTTAsync_strerror(ev->code));
	}
	s->active_retry_ms = now + s->backoff_first_ms;
}

static int active_check(const char *outlet, const char *json, size_t *len)
{
	size_t n;

	if (!outlet || !outlet[0] || !json)
		return -EINVAL;
	if (strnlen(outlet, REC_NAME) >= REC_NAME)
		return -ENAMETOOLONG;
	n = strnlen(json, PAYLOAD_MAX);
	if (n == 0)
		return -EINVAL; /* an empty retained message would delete the set */
	if (n >= PAYLOAD_MAX)
		return -EMSGSIZE;
	*len = n;
	return 0;
}

int mq_active_set(struct sink_mqtt *s, const char *outlet, const char *json, int64_t now)
{
	struct mq_active *a;
	size_t len = 0;
	char *copy;
	int rc = active_check(outlet, json, &len);

	if (rc)
		return rc;
	a = active_find(s, outlet);
	if (a && a->len == len && memcmp(a->json, json, len) == 0)
		return 0; /* unchanged: what the broker retains is right */
	if (!a && s->n_active == SINK_MQTT_MAX_OUTLETS)
		return -ENOSPC;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\0';
	if (!a) {
		a = &s->active[s->n_active++];
		memcpy(a->outlet, outlet, strlen(outlet) + 1);
	}
	free(a->json);
	a->json = copy;
	a->len = len;
	a->gen++;
	a->due = true;
	mq_active_pump(s, now);
	return 0;
}

void mq_active_free(struct sink_mqtt *s)
{
	for (unsigned i = 0; i < s->n_active; i++) {
		free(s->active[i].json);
		s->active[i].json = NULL;
	}
	s->n_active = 0;
}
