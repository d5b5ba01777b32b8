/*
 * pollq.h - the bounded hand-off from the bus threads to the main loop.
 *
 * A FIFO of fixed-size items (acquire.c's polls) with a capacity fixed at
 * creation. Producers are threads that may block: pollq_push() waits for
 * room while the queue is full, so a stalled consumer slows the producers
 * down and nothing is dropped. The consumer is the poll() loop: the
 * queue's eventfd is readable exactly while items wait, and
 * pollq_pop() never blocks unless asked to drain to the end.
 *
 * Items come out in the order they went in, so one producer's items keep
 * their order. Producers are counted (pollq_open, pollq_done) so that the
 * consumer can drain until the last one has left.
 */
#ifndef OUTFALL_POLLQ_H
#define OUTFALL_POLLQ_H

#include <stdbool.h>
#include <stddef.h>

struct pollq;

/* cap items of item_size bytes. 0 and *out, or -errno (ENOMEM, or the
 * eventfd's error); -EINVAL for a zero cap or size. */
int pollq_new(size_t cap, size_t item_size, struct pollq **out);
void pollq_free(struct pollq *q); /* items still queued are dropped; NULL no-op */

/* Non-blocking, close-on-exec; readable while an item waits. */
int pollq_fd(const struct pollq *q);

/* Before the producers start: n more of them (pollq_done when each leaves). */
void pollq_open(struct pollq *q, int n);
void pollq_done(struct pollq *q);

/* Copies item in; waits while the queue is full (back-pressure). */
void pollq_push(struct pollq *q, const void *item);

/* Copies the oldest item out: true, or false when none waits. wait: block
 * until an item comes or no producer is left (the drain at a stop). */
bool pollq_pop(struct pollq *q, void *item, bool wait);

/* Items waiting now (a snapshot, for tests and logs). */
size_t pollq_len(struct pollq *q);

#endif
