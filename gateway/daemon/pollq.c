/*
 * pollq.c - a ring under one mutex, a condition for each direction, and an
 * eventfd for the poll() loop (see pollq.h). The eventfd is written when
 * the ring turns non-empty and read when it turns empty, both under the
 * mutex, so it is readable exactly while items wait.
 */
#include "pollq.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct pollq {
	pthread_mutex_t lock;
	pthread_cond_t room;  /* signalled when an item leaves */
	pthread_cond_t items; /* signalled when an item comes or a producer leaves */
	int efd;              /* readable while len > 0 */
	int producers;        /* pollq_open minus pollq_done */
	size_t cap, item_size;
	size_t head, len;     /* oldest item, items waiting */
	unsigned char *ring;  /* cap * item_size bytes */
};

int pollq_new(size_t cap, size_t item_size, struct pollq **out)
{
	struct pollq *q;

	if (!cap || !item_size || cap > SIZE_MAX / item_size)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->ring = malloc(cap * item_size);
	if (!q->ring) {
		free(q);
		return -ENOMEM;
	}
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		int rc = -errno;

		free(q->ring);
		free(q);
		return rc;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->room, NULL);
	pthread_cond_init(&q->items, NULL);
	q->cap = cap;
	q->item_size = item_size;
	*out = q;
	return 0;
}

void pollq_free(struct pollq *q)
{
	if (!q)
		return;
	pthread_cond_destroy(&q->items);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q->ring);
	free(q);
}

int pollq_fd(const struct pollq *q)
{
	return q->efd;
}

void pollq_open(struct pollq *q, int n)
{
	pthread_mutex_lock(&q->lock);
	q->producers += n;
	pthread_mutex_unlock(&q->lock);
}

void pollq_done(struct pollq *q)
{
	pthread_mutex_lock(&q->lock);
	q->producers--;
	pthread_cond_broadcast(&q->items);
	pthread_mutex_unlock(&q->lock);
}

void pollq_push(struct pollq *q, const void *item)
{
	static const uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	while (q->len == q->cap)
		pthread_cond_wait(&q->room, &q->lock);
	memcpy(q->ring + (q->head + q->len) % q->cap * q->item_size, item, q->item_size);
	/* A counter at 1 cannot overflow: the write cannot fail but on a
	 * closed fd, a bug that the consumer's poll() would show. */
	if (q->len++ == 0 && write(q->efd, &one, sizeof(one)) < 0)
		abort();
	pthread_cond_signal(&q->items);
	pthread_mutex_unlock(&q->lock);
}

bool pollq_pop(struct pollq *q, void *item, bool wait)
{
	uint64_t n;
	bool got = false;

	pthread_mutex_lock(&q->lock);
	while (wait && q->len == 0 && q->producers > 0)
		pthread_cond_wait(&q->items, &q->lock);
	if (q->len > 0) {
		memcpy(item, q->ring + q->head * q->item_size, q->item_size);
		q->head = (q->head + 1) % q->cap;
		/* EAGAIN cannot happen: the count is 1 while items wait */
		if (--q->len == 0 && read(q->efd, &n, sizeof(n)) < 0)
			abort();
		pthread_cond_signal(&q->room);
		got = true;
	}
	pthread_mutex_unlock(&q->lock);
	return got;
}

size_t pollq_len(struct pollq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}
