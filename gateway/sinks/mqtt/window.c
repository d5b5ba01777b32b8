/*
 * window.c - records from the outbox to the broker (see
 * mqtt.h): encoding, the in-flight window kept in send order, acks in
 * the outbox per stream, and the resend after a failed publish.
 *
 * The ack rule. outbox_ack(seq) covers that record and every record handed
 * out before it on the same stream, and Paho reports completions out of
 * order. So for each stream the window acks only the longest run of
 * completed records at its front in send order: an ack never covers a
 * record of that stream still in flight. The two streams are judged apart,
 * so a slow telemetry publish does not hold back the ack of a later alert
 * (which would hold the outbox's alert window).
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "outbox/outbox.h"

/* outbox_next withholds alerts from a sink with OUTBOX_ALERT_WINDOW of them
 * unacked; a window no larger means that only happens when it is full, so
 * a NULL from outbox_next with records unsent is a read error, never a
 * sink with room waiting for an ack. */
_Static_assert(SINK_MQTT_WINDOW <= OUTBOX_ALERT_WINDOW, "mqtt window beyond the alert window");

static enum mq_stream stream_of(const struct record *r)
{
	return rec_is_event(r->type) ? MQ_ALR : MQ_TEL;
}

/* Events and aggregates are not to be lost to a QoS 0 setting; telemetry
 * and metrics go at the configured QoS. */
static int qos_of(const struct sink_mqtt *s, const struct record *r)
{
	return rec_is_event(r->type) || r->type == REC_AGGREGATE ? 1 : s->qos;
}

static void win_push(struct sink_mqtt *s, const struct record *r, uint16_t ticket,
		     uint8_t state)
{
	s->win[s->win_len++] = (struct mq_inflight){
		.seq = r->seq, .ticket = ticket, .state = state, .stream = stream_of(r),
	};
}

bool mq_window_can_send(const struct sink_mqtt *s)
{
	return s->state == MQ_UP && !s->need_rewind && s->win_len < SINK_MQTT_WINDOW &&
	       s->n_held < MQ_TICKETS;
}

/* Everything in flight is forgotten and will be sent again from the acked
 * position of each stream (the tickets stay with Paho until their events
 * return or the client is replaced). */
void mq_window_restart(struct sink_mqtt *s)
{
	s->win_len = 0;
	s->need_rewind = false;
	outbox_rewind(s->ob, s->idx);
}

/*
 * Acks the completed front of each stream (see the top of the file) and
 * drops those records from the window; after a failure, rewinds once
 * nothing is pending any more, so the resend starts in order behind the
 * last ack, after a pause.
 */
void mq_window_settle(struct sink_mqtt *s, int64_t now)
{
	uint64_t ack[MQ_NSTREAMS] = { 0 };
	bool blocked[MQ_NSTREAMS] = { false };
	bool pending = false;
	unsigned keep = 0;

	for (unsigned i = 0; i < s->win_len; i++) {
		const struct mq_inflight *f = &s->win[i];

		if (!blocked[f->stream] && f->state == IF_DONE) {
			ack[f->stream] = f->seq;
			s->stats.sent += f->delivered;
			continue;
		}
		blocked[f->stream] = true;
		pending |= f->state == IF_PENDING;
		s->win[keep++] = *f;
	}
	s->win_len = keep;
	for (int k = 0; k < MQ_NSTREAMS; k++)
		if (ack[k])
			outbox_ack(s->ob, s->idx, ack[k]);
	if (s->need_rewind && !pending) {
		mq_window_restart(s);
		s->resume_ms = now + s->backoff_first_ms;
	}
}

/* A publish event of a record came back (its ticket is ours again). */
void mq_window_done(struct sink_mqtt *s, const struct mq_event *ev, int64_t now)
{
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
				mq_trouble(s, now, "mqtt: publish failed: %s",
					   MQTTAsync_strerror(ev->code));
			}
		}
		return;
	}
}

static void quarantine(struct sink_mqtt *s, const struct record *r, const char *why,
		       int64_t now)
{
	char msg[SINK_ERROR_MAX];

	s->stats.quarantined++;
	snprintf(msg, sizeof(msg), "mqtt: record %llu cannot be sent (%s); quarantined",
		 (unsigned long long)r->seq, why); /* a cut line is acceptable */
	mq_note_error(s, msg);
	complain(&s->quarantine, now, LOG_WARNING, "%s", msg);
	win_push(s, r, 0, IF_DONE);
}

static void send_record(struct sink_mqtt *s, const struct record *r, int64_t now)
{
	int n = payload_topic(s->topic, sizeof(s->topic), s->root, r);
	enum mq_stream k = stream_of(r);
	uint16_t ticket = 0;
	int rc;

	if (n >= 0)
		n = payload_record(s->payload, sizeof(s->payload), s->gateway, r);
	if (n < 0) {
		quarantine(s, r, strerror(-n), now);
		return;
	}
	rc = mq_publish(s, s->topic, n, qos_of(s, r), 0, MQ_K_RECORD, r->seq, 0, &ticket);
	if (rc == MQTTASYNC_SUCCESS) {
		win_push(s, r, ticket, IF_PENDING);
		if (r->seq <= s->max_sent[k])
			s->stats.retried++;
		else
			s->max_sent[k] = r->seq;
	} else if (rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_BAD_QOS) {
		quarantine(s, r, MQTTAsync_strerror(rc), now); /* sending again cannot help */
	} else {
		mq_trouble(s, now, "mqtt: cannot publish to %s: %s", s->topic,
			   MQTTAsync_strerror(rc));
		win_push(s, r, 0, IF_FAILED);
		s->need_rewind = true;
	}
}

/*
 * Sends what the outbox has, alerts first (outbox_next's order), while the
 * window has room. The window bounds the work of one call to
 * SINK_MQTT_WINDOW records.
 */
void mq_window_pump(struct sink_mqtt *s, int64_t now)
{
	while (mq_window_can_send(s) && now >= s->resume_ms) {
		const struct record *r = outbox_next(s->ob, s->idx);

		if (!r) {
			/* unsent but unreadable (an I/O error the outbox logged,
			 * see the assertion above): try again a little later
			 * rather than spin */
			if (outbox_unsent(s->ob, s->idx) > 0)
				s->resume_ms = now + s->backoff_first_ms;
			break;
		}
		send_record(s, r, now);
	}
	mq_window_settle(s, now);
}
