/*
 * internal.h - what the files of the MQTT sink share (not for
 * other modules): the sink's state and the calls between its parts.
 *
 *   mqtt.c          settings, creation, the connection state machine,
 *                        the events from Paho, sink_ops and the public calls
 *   paho.c     everything Paho's threads touch: the callbacks, the
 *                        event pipe, tickets, client create/reset, connect
 *                        and disconnect requests, one publish
 *   window.c   records from the outbox: encoding, the in-flight
 *                        window, acks per stream, resend after a failure
 *   retained.c the retained messages: status and the active-alert
 *                        set of each outlet, republished on every connect
 */
#ifndef OUTFALL_SINK_MQTT_INTERNAL_H
#define OUTFALL_SINK_MQTT_INTERNAL_H

#include <MQTTAsync.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqtt.h"
#include "base/filestamp.h"
#include "base/log.h"
#include "base/record.h"
#include "encode/encode.h"

/* Records in flight, the status, one publish per active set, with room to
 * spare: a full new window can go out while Paho still holds the tickets of
 * publishes it queued before a connection loss. */
#define MQ_TICKETS (2 * SINK_MQTT_WINDOW + SINK_MQTT_MAX_OUTLETS + 2)
/* Paho silently drops its oldest queued publish beyond this; we never queue
 * more than MQ_TICKETS, so it must stay above that. */
#define MQ_PAHO_BUFFERED (2 * MQ_TICKETS)
#define MQ_STR 256
#define MQ_PATH 1024
/* room for the longest suffix, /aggregate/<outlet>/minute */
#define MQ_ROOT_MAX (PAYLOAD_TOPIC_MAX - 24 - REC_NAME)

/* What a ticket's publish was for. */
enum mq_kind { MQ_K_RECORD, MQ_K_STATUS, MQ_K_ACTIVE };

enum mq_ev_type { EV_CONNECTED = 1, EV_CONNECT_FAILED, EV_LOST, EV_DISCONNECTED, EV_PUB_OK,
		  EV_PUB_FAILED };

/* What a Paho callback tells the loop; 16 bytes, written atomically. */
struct mq_event {
	uint64_t seq;    /* PUB_*: the ticket's seq when it was handed out */
	int32_t code;    /* failures: Paho's return or CONNACK code */
	uint16_t ticket; /* PUB_*: the ticket coming back */
	uint8_t type;    /* enum mq_ev_type */
	uint8_t pad;
};

struct mq_link;

/* The callback context of one publish. Owned by Paho from sendMessage until
 * its event is read; the loop writes seq, kind and slot only while it owns
 * the ticket, and Paho's threads only read link, index and seq. */
struct mq_ticket {
	struct mq_link *link; /* set once */
	uint64_t seq;         /* record: its seq; active set: its generation */
	uint16_t index;       /* set once */
	uint16_t slot;        /* active set: which outlet */
	uint8_t kind;         /* enum mq_kind */
};

/* Everything Paho's threads may touch; freed only after MQTTAsync_destroy. */
struct mq_link {
	int wfd;                 /* write end of the event pipe */
	atomic_uint lost;        /* events that did not fit in the pipe */
	struct mq_ticket tickets[MQ_TICKETS];
};

enum mq_state { MQ_DOWN, MQ_CONNECTING, MQ_UP, MQ_CLOSED };

enum if_state { IF_PENDING, IF_DONE, IF_FAILED };

/* The outbox's two streams, as the window tells them apart. */
enum mq_stream { MQ_TEL, MQ_ALR, MQ_NSTREAMS };

/* One record in flight, in send order. */
struct mq_inflight {
	uint64_t seq;
	uint16_t ticket;  /* meaningless unless PENDING */
	uint8_t state;    /* enum if_state */
	uint8_t stream;   /* enum mq_stream */
	bool delivered;   /* DONE by the broker's ack, not by quarantine */
};

/* The retained active-alert set of one outlet. */
struct mq_active {
	char outlet[REC_NAME]; /* as given, NUL-terminated; "" = free slot */
	char *json;            /* owned, len + 1 bytes */
	size_t len;            /* 1..PAYLOAD_MAX - 1 */
	uint64_t gen;          /* bumped on every change: tells old acks apart */
	bool due;              /* to be published on this connection */
};

struct sink_mqtt {
	MQTTAsync client;        /* NULL between a failed re-create and the next try */
	struct mq_link *link;
	int rfd;                 /* read end of the event pipe, in the loop */
	struct outbox *ob;       /* borrowed */
	int idx;                 /* our sink index in ob */
	enum mq_state state;
	int qos;                 /* telemetry and metrics */
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
	char password_file[MQ_PATH]; /* "" for none; watched for changes */
	char status_topic[PAYLOAD_TOPIC_MAX];
	char offline[MQ_STR];    /* the will, and the status on a clean close */
	int64_t started_wall_ms;
	int64_t reconnect_ms;    /* monotonic; when DOWN, the next attempt */
	int64_t backoff_ms;      /* delay before the next attempt */
	int64_t backoff_first_ms; /* also the pause before a resend */
	int64_t backoff_max_ms;
	struct complaint trouble;    /* connect failures, losses, failed publishes */
	char last_error[SINK_ERROR_MAX]; /* the last of those, for status */
	int64_t last_error_wall_ms;
	struct filestamp files[4];   /* password, CA, certificate, key as read */
	struct complaint quarantine; /* records given up for good */
	struct mq_inflight win[SINK_MQTT_WINDOW]; /* in send order */
	unsigned win_len;
	bool need_rewind;        /* a publish failed: resend once settled */
	int64_t resume_ms;       /* no sending before this (after a rewind) */
	uint64_t max_sent[MQ_NSTREAMS]; /* highest seq sent per stream: resends count as retried */
	bool held[MQ_TICKETS];   /* ticket is with Paho */
	unsigned n_held;
	bool status_acked;       /* the last status publish was acked */
	bool disconnected;       /* the clean disconnect completed */
	struct mq_active active[SINK_MQTT_MAX_OUTLETS];
	unsigned n_active;       /* slots in use, from 0 up */
	int64_t active_retry_ms; /* no active-set publish before this */
	struct sink_stats stats;
	char topic[PAYLOAD_TOPIC_MAX];
	char payload[PAYLOAD_MAX];
};

/* paho.c */
int mq_link_open(struct sink_mqtt *s);
void mq_link_close(struct sink_mqtt *s);
int mq_client_create(struct sink_mqtt *s);
int mq_client_reset(struct sink_mqtt *s);
int mq_connect(struct sink_mqtt *s);
int mq_disconnect(struct sink_mqtt *s);
int mq_publish(struct sink_mqtt *s, const char *topic, int len, int qos, int retained,
	       uint8_t kind, uint64_t seq, uint16_t slot, uint16_t *ticket);
const struct mq_ticket *mq_ticket_back(struct sink_mqtt *s, const struct mq_event *ev);
void mq_drain(struct sink_mqtt *s, bool apply, int64_t now);

/* mqtt.c: one event from the pipe, on the loop */
void mq_handle_event(struct sink_mqtt *s, const struct mq_event *ev, int64_t now);
/* A failure: counted in stats.errors, kept as the last error and logged
 * through the trouble complaint (rate-limited), as a warning. */
void mq_trouble(struct sink_mqtt *s, int64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Keeps msg as the last error without counting or logging it. */
void mq_note_error(struct sink_mqtt *s, const char *msg);

/* window.c */
bool mq_window_can_send(const struct sink_mqtt *s);
void mq_window_restart(struct sink_mqtt *s);
void mq_window_pump(struct sink_mqtt *s, int64_t now);
void mq_window_settle(struct sink_mqtt *s, int64_t now);
void mq_window_done(struct sink_mqtt *s, const struct mq_event *ev, int64_t now);

/* retained.c */
int mq_status_publish(struct sink_mqtt *s, const char *state);
int mq_active_set(struct sink_mqtt *s, const char *outlet, const char *json, int64_t now);
void mq_active_all_due(struct sink_mqtt *s);
bool mq_active_pending(const struct sink_mqtt *s);
void mq_active_pump(struct sink_mqtt *s, int64_t now);
void mq_active_done(struct sink_mqtt *s, const struct mq_ticket *t, const struct mq_event *ev,
		    int64_t now);
void mq_active_free(struct sink_mqtt *s);

#endif
