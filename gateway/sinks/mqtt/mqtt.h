/*
 * mqtt.h - the MQTT sink (DESIGN §6, §7) over Eclipse Paho's
 * asynchronous C client (MQTT 3.1.1, cleansession, no Paho persistence:
 * durability is the outbox's job).
 *
 * Topics under cfg->topic_root ("outfall/<gateway id>" by default):
 * status (QoS 1, retained; "online" on every connect, "offline" on a clean
 * shutdown and as the broker-published will), telemetry/<outlet> and
 * metrics at cfg->qos, alerts/<outlet> and aggregate/<outlet>/<period>
 * always at QoS 1, alerts/<outlet>/active at QoS 1 retained (see
 * sink_mqtt_publish_active). Payloads are payload.h's.
 *
 * Delivery: records come from the outbox (outbox_next: alerts before
 * telemetry, so a backlog drain never delays a live alert), at most
 * SINK_MQTT_WINDOW in flight. Paho reports completions out of order; the
 * sink keeps the in-flight seqs in send order and, per outbox stream, acks
 * only the front that the broker confirmed (PUBACK at QoS 1, PUBCOMP at 2,
 * the socket write at 0), so an ack never covers a record still in flight.
 * A connection loss forgets what was in flight and rewinds to the acked
 * position (the outbox cursor); a publish that fails while connected
 * rewinds once the window has settled, after a pause of the first backoff
 * step. Either way records go out again in order per stream; consumers drop
 * repeats by seq. A record that cannot be encoded or is refused by Paho for
 * good (bad UTF-8 in a name) is logged, counted as quarantined and acked.
 * Memory is fixed (the window and one payload buffer) plus the retained
 * sets; it does not grow with the backlog, which stays on disk.
 * Reconnects are ours (not Paho's automaticReconnect): 1 s, doubling to 60 s,
 * reset by a successful connect; one log line when it keeps failing (rate
 * limited) and one when it is back.
 *
 * TLS when cfg->tls is set or the uri is ssl:// or mqtts://: the broker's
 * certificate is checked against cfg->tls_ca_file (else the system's trust
 * store) and its name against the uri, unless cfg->tls_verify is false (it
 * is always checked when cfg->tls is not set); a client certificate is sent
 * when tls_cert_file and tls_key_file are given.
 *
 * Threads: Paho runs its own threads and calls back on them. Those callbacks
 * touch no sink state: each writes one 16-byte event (connected, connect
 * failed, connection lost, disconnected, publish ok / failed with the
 * ticket's seq) to a non-blocking CLOEXEC pipe that the loop polls. A publish
 * carries a "ticket" as its callback context: a small slot holding the seq,
 * handed to Paho with the message and reused only after its event came back.
 *
 * Blocking bounds (on the loop's thread):
 *  - MQTTAsync_createWithOptions, _setConnectionLostCallback,
 *    _sendMessage, _connect, _disconnect: in-memory work under Paho's global
 *    lock, no I/O here (connect and disconnect are queued for Paho's
 *    threads). Paho's threads hold that lock for in-memory work and
 *    non-blocking socket writes, so these return in microseconds - except
 *    that Paho resolves a host name inside its lock: while a connect to a
 *    named host is being resolved, a Paho call would wait for the resolver.
 *    The sink makes no Paho call while a connect is in progress, so the loop
 *    never waits on it; use an address in the uri all the same.
 *  - One dispatch() makes at most SINK_MQTT_WINDOW + SINK_MQTT_MAX_OUTLETS
 *    + 1 _sendMessage calls and reads at most SINK_MQTT_WINDOW records
 *    from the outbox (see outbox.h for its bound); one
 *    sink_mqtt_publish_active() at most SINK_MQTT_MAX_OUTLETS.
 *  - MQTTAsync_destroy: when it destroys the last client of the process it
 *    waits for Paho's threads to stop, which they do within about a second
 *    (Paho gives up after 10 s). Called only by free(), and when the sink
 *    replaces its client (after a connection loss left publishes queued
 *    inside Paho, which would otherwise go out ahead of the resend): the new
 *    client is created first, so that destroy returns at once.
 *  - flush(budget_ms) waits by design, for at most budget_ms; free() closes
 *    an open connection the same way within 500 ms, then destroys.
 * A connect attempt itself is bounded by Paho's 10 s connect timeout.
 */
#ifndef OUTFALL_SINK_MQTT_H
#define OUTFALL_SINK_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "sinks/sink.h"

struct outbox;

#define SINK_MQTT_WINDOW 64      /* records in flight at most */
#define SINK_MQTT_MAX_OUTLETS 64 /* retained active-alert sets kept */

/*
 * Creates the MQTT sink reading outbox ob as sink sink_idx (rewound to its
 * acked position). cfg and gateway_id are copied; the password is read from
 * cfg->password_file once, here (see secret.h). ob is borrowed and must
 * outlive the sink. started_wall_ms is the daemon's start (wall clock),
 * reported in status. Nothing is sent until the first dispatch() connects.
 * Returns 0 and fills *out (out->ops->free releases everything), or -errno
 * after logging why (-EINVAL bad settings, -ENAMETOOLONG a setting longer
 * than the sink holds: 255 bytes for names, 1023 for paths, 199 for
 * topic_root; -ENOENT/-EACCES/-EFBIG password_file, -EMFILE, -ENOMEM),
 * leaving *out untouched.
 */
int sink_mqtt_new(const struct cfg_mqtt *cfg, const char *gateway_id, struct outbox *ob,
		  int sink_idx, int64_t started_wall_ms, struct sink *out);

/*
 * Sets the open alerts of outlet: json (a JSON array made by the caller,
 * 1..PAYLOAD_MAX - 1 bytes, copied) goes to <root>/alerts/<outlet>/active,
 * QoS 1, retained - at once when connected, else on the next connect - and
 * is published again on every (re)connect, since a restarted broker may have
 * lost it. Only the last set of each outlet is kept, for at most
 * SINK_MQTT_MAX_OUTLETS outlets. An unchanged set is not sent again. "[]"
 * says none is open (an empty message would delete the retained one).
 * 0 once kept; -EINVAL (sk not from sink_mqtt_new, no outlet, no or empty
 * json), -ENAMETOOLONG (outlet of REC_NAME bytes or more), -EMSGSIZE,
 * -ENOSPC (a new outlet beyond the maximum), -ENOMEM; the sets kept are
 * unchanged on failure. Does not log; a failed publish is logged and
 * retried by the sink. Loop thread only.
 */
int sink_mqtt_publish_active(struct sink *sk, const char *outlet, const char *json);

/* Overrides the reconnect backoff (default 1000 doubling to 60000 ms; the
 * first step is also the pause before a resend) so tests need not wait
 * seconds. sk must come from sink_mqtt_new(). */
void sink_mqtt_set_backoff_ms(struct sink *sk, int64_t first_ms, int64_t max_ms);

/* True while connected to the broker (for status reports and tests). */
bool sink_mqtt_connected(const struct sink *sk);

#endif
