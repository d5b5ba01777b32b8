/* test_queue.c - cursors per sink, acks, rewind, bounded eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "queue.h"

static struct record rec(int type, int64_t ts)
{
	return (struct record){ .type = (uint8_t)type, .ts_ms = ts };
}

static void append_n(struct queue *q, int n, int type)
{
	for (int i = 0; i < n; i++) {
		struct record r = rec(type, 1000 + i);

		queue_append(q, &r);
	}
}

static void test_two_sinks_independent(void **state)
{
	struct queue *q = queue_new(8, 2);
	const struct record *r;

	(void)state;
	append_n(q, 3, REC_POLL);
	r = queue_next(q, 0);
	assert_int_equal(r->seq, 1);
	assert_int_equal(queue_next(q, 0)->seq, 2);
	assert_int_equal(queue_next(q, 0)->seq, 3);
	assert_null(queue_next(q, 0));
	assert_int_equal(queue_unsent(q, 0), 0);
	assert_int_equal(queue_unsent(q, 1), 3);
	queue_ack(q, 0, 2);
	assert_int_equal(queue_unacked(q, 0), 1);
	assert_int_equal(queue_unacked(q, 1), 3);
	assert_int_equal(queue_oldest_unacked_ms(q, 1), 1000);
	assert_int_equal(queue_oldest_unacked_ms(q, 0), 1002);
	assert_int_equal(queue_next(q, 1)->seq, 1);
	queue_ack(q, 1, 1);
	assert_int_equal(queue_next(q, 1)->seq, 2);
	queue_free(q);
}

static void test_rewind_resends_unacked(void **state)
{
	struct queue *q = queue_new(8, 1);

	(void)state;
	append_n(q, 4, REC_POLL);
	for (int i = 0; i < 4; i++)
		queue_next(q, 0);
	queue_ack(q, 0, 2);
	queue_rewind(q, 0);
	assert_int_equal(queue_next(q, 0)->seq, 3);
	assert_int_equal(queue_next(q, 0)->seq, 4);
	assert_null(queue_next(q, 0));
	queue_ack(q, 0, 4);
	assert_int_equal(queue_unacked(q, 0), 0);
	assert_int_equal(queue_oldest_unacked_ms(q, 0), 0);
	queue_free(q);
}

static void test_ack_never_passes_read(void **state)
{
	struct queue *q = queue_new(8, 1);

	(void)state;
	append_n(q, 3, REC_POLL);
	queue_next(q, 0);
	queue_ack(q, 0, 3); /* only seq 1 was handed out */
	assert_int_equal(queue_unacked(q, 0), 2);
	assert_int_equal(queue_next(q, 0)->seq, 2);
	queue_free(q);
}

static void test_full_drops_oldest_telemetry_keeps_alerts(void **state)
{
	struct queue *q = queue_new(4, 1);
	struct record a = rec(REC_ALERT, 1);
	const struct record *r;

	(void)state;
	queue_append(q, &a);           /* seq 1: alert */
	append_n(q, 3, REC_POLL);      /* seq 2..4 */
	append_n(q, 2, REC_POLL);      /* seq 5, 6 evict 2, 3 */
	assert_int_equal(queue_dropped(q, 0), 2);
	assert_int_equal(queue_unacked(q, 0), 4);
	r = queue_next(q, 0);
	assert_int_equal(r->seq, 1);
	assert_int_equal(r->type, REC_ALERT);
	assert_int_equal(queue_next(q, 0)->seq, 4);
	assert_int_equal(queue_next(q, 0)->seq, 5);
	assert_int_equal(queue_next(q, 0)->seq, 6);
	queue_free(q);
}

static void test_eviction_keeps_positions(void **state)
{
	struct queue *q = queue_new(4, 2);

	(void)state;
	append_n(q, 4, REC_POLL);
	queue_next(q, 0);
	queue_next(q, 0);
	queue_ack(q, 0, 2); /* sink 1 has acked nothing: nothing is freed */
	append_n(q, 1, REC_POLL); /* evicts seq 1: acked by 0, not by 1 */
	assert_int_equal(queue_dropped(q, 0), 0);
	assert_int_equal(queue_dropped(q, 1), 1);
	assert_int_equal(queue_next(q, 0)->seq, 3);
	assert_int_equal(queue_next(q, 1)->seq, 2);
	queue_free(q);
}

static void test_all_alerts_full(void **state)
{
	struct queue *q = queue_new(2, 1);

	(void)state;
	append_n(q, 3, REC_ALERT);
	assert_int_equal(queue_dropped(q, 0), 1);
	assert_int_equal(queue_next(q, 0)->seq, 2);
	queue_free(q);
	queue_free(NULL);
	assert_null(queue_new(1, 1));
	assert_null(queue_new(4, 0));
	assert_null(queue_new(4, QUEUE_MAX_SINKS + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_sinks_independent),
		cmocka_unit_test(test_rewind_resends_unacked),
		cmocka_unit_test(test_ack_never_passes_read),
		cmocka_unit_test(test_full_drops_oldest_telemetry_keeps_alerts),
		cmocka_unit_test(test_eviction_keeps_positions),
		cmocka_unit_test(test_all_alerts_full),
	};
	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
