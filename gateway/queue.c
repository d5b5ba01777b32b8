/*
 * queue.c - bounded in-memory record queue with one cursor pair per sink
 * (see queue.h). A ring of records; positions are logical indexes counted
 * from the oldest record still held.
 */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

struct queue {
	struct record *ring;  /* cap slots */
	size_t cap;
	size_t head;          /* physical slot of logical index 0 */
	size_t count;         /* records held */
	uint64_t last_seq;    /* seq of the newest record ever appended */
	int n_sinks;
	size_t read[QUEUE_MAX_SINKS];   /* next logical index to hand out */
	size_t acked[QUEUE_MAX_SINKS];  /* logical indexes below are acked */
	uint64_t dropped[QUEUE_MAX_SINKS]; /* evicted before this sink acked */
};

static struct record *slot(const struct queue *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}

struct queue *queue_new(size_t cap, int n_sinks)
{
	struct queue *q;

	if (cap < 2 || n_sinks < 1 || n_sinks > QUEUE_MAX_SINKS)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->ring = calloc(cap, sizeof(*q->ring));
	if (!q->ring) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	q->n_sinks = n_sinks;
	return q;
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	free(q->ring);
	free(q);
}

/* Removes the record at logical index k, keeping the others in order. */
static void remove_at(struct queue *q, size_t k)
{
	for (size_t i = k; i > 0; i--)
		*slot(q, i) = *slot(q, i - 1);
	q->head = (q->head + 1) % q->cap;
	q->count--;
	for (int s = 0; s < q->n_sinks; s++) {
		if (q->acked[s] <= k)
			q->dropped[s]++;
		if (q->read[s] > k)
			q->read[s]--;
		if (q->acked[s] > k)
			q->acked[s]--;
	}
}

/* Full: drop the oldest telemetry record; alerts only if nothing else. */
static void evict(struct queue *q)
{
	size_t k = 0;

	while (k < q->count && slot(q, k)->type != REC_POLL)
		k++;
	remove_at(q, k < q->count ? k : 0);
}

uint64_t queue_append(struct queue *q, const struct record *r)
{
	struct record *dst;

	if (q->count == q->cap)
		evict(q);
	dst = slot(q, q->count);
	*dst = *r;
	dst->seq = ++q->last_seq;
	q->count++;
	return dst->seq;
}

const struct record *queue_next(struct queue *q, int sink)
{
	if (q->read[sink] >= q->count)
		return NULL;
	return slot(q, q->read[sink]++);
}

/* Releases records every sink has acked. */
static void trim(struct queue *q)
{
	size_t m = q->acked[0];

	for (int s = 1; s < q->n_sinks; s++)
		if (q->acked[s] < m)
			m = q->acked[s];
	if (m == 0)
		return;
	q->head = (q->head + m) % q->cap;
	q->count -= m;
	for (int s = 0; s < q->n_sinks; s++) {
		q->read[s] -= m;
		q->acked[s] -= m;
	}
}

void queue_ack(struct queue *q, int sink, uint64_t seq)
{
	while (q->acked[sink] < q->read[sink] && slot(q, q->acked[sink])->seq <= seq)
		q->acked[sink]++;
	trim(q);
}

void queue_rewind(struct queue *q, int sink)
{
	q->read[sink] = q->acked[sink];
}

size_t queue_unsent(const struct queue *q, int sink)
{
	return q->count - q->read[sink];
}

size_t queue_unacked(const struct queue *q, int sink)
{
	return q->count - q->acked[sink];
}

uint64_t queue_dropped(const struct queue *q, int sink)
{
	return q->dropped[sink];
}

int64_t queue_oldest_unacked_ms(const struct queue *q, int sink)
{
	return q->acked[sink] < q->count ? slot(q, q->acked[sink])->ts_ms : 0;
}
