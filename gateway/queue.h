/*
 * queue.h - the bounded hand-off between compliance and the sinks.
 *
 * One producer (the loop) appends records; each sink has two positions:
 * `read`, the next record to send, and `acked`, everything before which the
 * sink's peer has acknowledged. A record stays until every sink has acked it.
 * A sink that reconnects calls queue_rewind() to resend from its acked
 * position. This is the seam the durable outbox replaces: same calls, disk
 * behind them.
 *
 * Bounded: at most `cap` records. When full, the oldest record is dropped
 * even if a sink has not acked it (counted per sink in queue_dropped()); an
 * alert is never dropped while a telemetry record older than it exists.
 * Single-threaded: call only from the loop.
 */
#ifndef OUTFALL_QUEUE_H
#define OUTFALL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define QUEUE_MAX_SINKS 4

struct queue;

/* cap >= 2, n_sinks 1..QUEUE_MAX_SINKS. NULL on ENOMEM. */
struct queue *queue_new(size_t cap, int n_sinks);
void queue_free(struct queue *q); /* NULL is a no-op */

/* Copies r in, assigning r's seq (returned). Never fails: drops when full. */
uint64_t queue_append(struct queue *q, const struct record *r);

/* The next record for sink to send, advancing its read position; NULL when
 * it has sent everything. The pointer is valid until the next append. */
const struct record *queue_next(struct queue *q, int sink);

/* Peer acknowledged every record up to and including seq. */
void queue_ack(struct queue *q, int sink, uint64_t seq);

/* Resend from the oldest unacknowledged record. */
void queue_rewind(struct queue *q, int sink);

size_t queue_unsent(const struct queue *q, int sink);  /* after read pos */
size_t queue_unacked(const struct queue *q, int sink); /* after acked pos */
uint64_t queue_dropped(const struct queue *q, int sink);
/* Wall ms of the oldest record the sink has not acked; 0 if none. */
int64_t queue_oldest_unacked_ms(const struct queue *q, int sink);

#endif
