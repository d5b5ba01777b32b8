/* test_pollq.c - the hand-off from the bus threads: first in, first out
 * across the ring's wrap; the eventfd readable exactly while items wait;
 * a full queue holds its producer back until there is room; a drain waits
 * for the last producer and loses nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "daemon/pollq.h"

static bool readable(const struct pollq *q)
{
	struct pollfd p = { .fd = pollq_fd(q), .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_bad_sizes(void **state)
{
	struct pollq *q = (struct pollq *)&q;

	(void)state;
	assert_int_equal(pollq_new(0, 8, &q), -EINVAL);
	assert_int_equal(pollq_new(4, 0, &q), -EINVAL);
	assert_int_equal(pollq_new(SIZE_MAX / 2, 4, &q), -EINVAL);
	assert_ptr_equal(q, (struct pollq *)&q); /* untouched */
	pollq_free(NULL);
}

static void test_fifo_across_wrap_and_fd(void **state)
{
	struct pollq *q;
	int next_in = 0, next_out = 0, v;

	(void)state;
	assert_int_equal(pollq_new(3, sizeof(int), &q), 0);
	assert_false(readable(q));
	assert_false(pollq_pop(q, &v, false));
	/* two in, one out, ten times: the ring wraps several times */
	for (int round = 0; round < 10; round++) {
		pollq_push(q, &next_in);
		next_in++;
		assert_true(readable(q));
		pollq_push(q, &next_in);
		next_in++;
		assert_true(pollq_pop(q, &v, false));
		assert_int_equal(v, next_out++);
		assert_true(readable(q)); /* one still waits */
		assert_true(pollq_pop(q, &v, false));
		assert_int_equal(v, next_out++);
		assert_false(readable(q));
	}
	assert_int_equal(pollq_len(q), 0);
	pollq_free(q);
}

struct producer {
	struct pollq *q;
	int first, n;
	atomic_int pushed;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (int i = 0; i < p->n; i++) {
		int v = p->first + i;

		pollq_push(p->q, &v);
		atomic_fetch_add(&p->pushed, 1);
	}
	pollq_done(p->q);
	return NULL;
}

/* A full queue holds the producer back; each item taken lets one more in. */
static void test_back_pressure(void **state)
{
	struct producer p = { .first = 100, .n = 6 };
	pthread_t t;
	int v;

	(void)state;
	assert_int_equal(pollq_new(4, sizeof(int), &p.q), 0);
	pollq_open(p.q, 1);
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	for (int i = 0; i < 200 && atomic_load(&p.pushed) < 4; i++)
		sleep_ms(5);
	sleep_ms(100); /* time enough to push a fifth, were there room */
	assert_int_equal(atomic_load(&p.pushed), 4);
	assert_int_equal(pollq_len(p.q), 4);
	assert_true(pollq_pop(p.q, &v, false));
	assert_int_equal(v, 100);
	for (int i = 0; i < 200 && atomic_load(&p.pushed) < 5; i++)
		sleep_ms(5);
	assert_int_equal(atomic_load(&p.pushed), 5);
	/* the drain waits for the sixth and for the producer to leave */
	for (int want = 101; want < 106; want++) {
		assert_true(pollq_pop(p.q, &v, true));
		assert_int_equal(v, want);
	}
	assert_false(pollq_pop(p.q, &v, true));
	assert_false(readable(p.q));
	pthread_join(t, NULL);
	pollq_free(p.q);
}

/* Two producers: each one's items keep their order, none is lost. */
static void test_two_producers_keep_order(void **state)
{
	struct producer p[2] = { { .first = 0, .n = 500 }, { .first = 1000, .n = 500 } };
	pthread_t t[2];
	struct pollq *q;
	int v, next[2] = { 0, 1000 }, got = 0;

	(void)state;
	assert_int_equal(pollq_new(8, sizeof(int), &q), 0);
	pollq_open(q, 2);
	for (int i = 0; i < 2; i++) {
		p[i].q = q;
		assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
	}
	while (pollq_pop(q, &v, true)) {
		int k = v >= 1000;

		assert_int_equal(v, next[k]);
		next[k]++;
		got++;
	}
	assert_int_equal(got, 1000);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pollq_free(q);
}

/* With no producer the wait returns at once, after what is left. */
static void test_drain_without_producers(void **state)
{
	struct pollq *q;
	int v = 7;

	(void)state;
	assert_int_equal(pollq_new(2, sizeof(int), &q), 0);
	pollq_push(q, &v);
	assert_true(pollq_pop(q, &v, true));
	assert_int_equal(v, 7);
	assert_false(pollq_pop(q, &v, true));
	pollq_free(q); /* and a queue freed with items in it frees them */
	assert_int_equal(pollq_new(2, sizeof(int), &q), 0);
	pollq_push(q, &v);
	pollq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sizes),
		cmocka_unit_test(test_fifo_across_wrap_and_fd),
		cmocka_unit_test(test_back_pressure),
		cmocka_unit_test(test_two_producers_keep_order),
		cmocka_unit_test(test_drain_without_producers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
