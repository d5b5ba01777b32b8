/* test_schedule.c - deadlines without drift, clamping, failure backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/schedule.h"

static void test_no_drift(void **state)
{
	struct schedule s;

	(void)state;
	schedule_init(&s, 5000, 100);
	assert_int_equal(s.next_ms, 100);
	schedule_success(&s, 100 + 420); /* the poll took 420 ms */
	assert_int_equal(s.next_ms, 5100);
	schedule_success(&s, 5100 + 30);
	assert_int_equal(s.next_ms, 10100);
}

static void test_late_is_clamped_not_burst(void **state)
{
	struct schedule s;

	(void)state;
	schedule_init(&s, 1000, 0);
	schedule_success(&s, 7300); /* 7 intervals late */
	assert_int_equal(s.next_ms, 7300);
	schedule_success(&s, 7310);
	assert_int_equal(s.next_ms, 8300);
}

static void test_backoff_doubles_to_cap(void **state)
{
	static const int64_t want[] = { 10000, 20000, 40000, 60000, 60000 };
	struct schedule s;

	(void)state;
	schedule_init(&s, 10000, 0);
	for (int i = 0; i < 5; i++) {
		schedule_failure(&s, 1000);
		assert_int_equal(schedule_backoff_ms(&s), want[i]);
		assert_int_equal(s.next_ms, 1000 + want[i]);
	}
	schedule_success(&s, 1000 + 60000);
	assert_int_equal(s.failures, 0);
	assert_int_equal(schedule_backoff_ms(&s), 10000);
}

static void test_long_interval_is_its_own_cap(void **state)
{
	struct schedule s;

	(void)state;
	schedule_init(&s, 600000, 0);
	schedule_failure(&s, 0);
	schedule_failure(&s, 0);
	assert_int_equal(schedule_backoff_ms(&s), 600000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_late_is_clamped_not_burst),
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_long_interval_is_its_own_cap),
	};
	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
