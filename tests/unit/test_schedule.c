/* test_schedule.c - deadlines without drift, clamping, failure backoff and
 * its cap (retry_max), the phase a reload keeps. */
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
	schedule_init(&s, 5000, 15000, 100);
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
	schedule_init(&s, 1000, 15000, 0);
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
	schedule_init(&s, 10000, 60000, 0);
	for (int i = 0; i < 5; i++) {
		schedule_failure(&s, 1000);
		assert_int_equal(schedule_backoff_ms(&s), want[i]);
		assert_int_equal(s.next_ms, 1000 + want[i]);
	}
	schedule_success(&s, 1000 + 60000);
	assert_int_equal(s.failures, 0);
	assert_int_equal(schedule_backoff_ms(&s), 10000);
}

/* The default cap: a 1 s sensor backs off 1, 2, 4, 8, then 15 s for good,
 * never the 16, 32, 60 s it grew to before. */
static void test_default_cap_is_15_s(void **state)
{
	static const int64_t want[] = { 1000, 2000, 4000, 8000, 15000, 15000, 15000 };
	struct schedule s;

	(void)state;
	schedule_init(&s, 1000, 0, 0); /* 0: the default */
	assert_int_equal(s.retry_max_ms, SCHEDULE_RETRY_MAX_MS);
	assert_int_equal(SCHEDULE_RETRY_MAX_MS, 15000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		schedule_failure(&s, 0);
		assert_int_equal(schedule_backoff_ms(&s), want[i]);
	}
}

/* The case: a slave silent for 45 s. Whatever the interval, each
 * failed poll is followed by a retry at most retry_max (15 s) later, so the
 * first poll after the slave is back comes within 15 s of its return. */
static void test_back_from_45_s_outage_within_15_s(void **state)
{
	static const int64_t intervals[] = { 1000, 2000, 5000, 10000, 60000 };

	(void)state;
	for (size_t k = 0; k < sizeof(intervals) / sizeof(intervals[0]); k++) {
		struct schedule s;
		int64_t now = 0, down_from = 3000, back_at = down_from + 45000, seen = -1;

		schedule_init(&s, intervals[k], 15000, now);
		while (seen < 0 && now < 300000) {
			now = s.next_ms; /* the loop polls when due */
			if (now >= down_from && now < back_at) {
				schedule_failure(&s, now);
				assert_true(s.next_ms - now <= 15000);
				continue;
			}
			if (now >= back_at)
				seen = now;
			schedule_success(&s, now);
		}
		assert_true(seen >= back_at);
		assert_true(seen - back_at <= 15000);
		assert_int_equal(s.failures, 0);
	}
}

/* A cap below the interval still holds: a 10-minute sensor that failed is
 * tried again after retry_max, not after 10 minutes. */
static void test_cap_below_interval(void **state)
{
	struct schedule s;

	(void)state;
	schedule_init(&s, 600000, 30000, 0);
	schedule_failure(&s, 0);
	assert_int_equal(schedule_backoff_ms(&s), 30000);
	assert_int_equal(s.next_ms, 30000);
	schedule_failure(&s, 30000);
	assert_int_equal(s.next_ms, 60000);
	schedule_success(&s, 60000);
	assert_int_equal(schedule_backoff_ms(&s), 600000);
}

/* Reload: a healthy sensor keeps its phase; a new interval moves the next
 * poll from the last deadline, never into the past. */
static void test_carry_keeps_phase(void **state)
{
	struct schedule old, s;

	(void)state;
	schedule_init(&old, 10000, 15000, 0);
	schedule_success(&old, 0); /* polled at 0: next at 10000 */
	schedule_init(&s, 10000, 15000, 4000); /* a reload at 4000 */
	schedule_carry(&s, &old, 4000);
	assert_int_equal(s.next_ms, 10000); /* not 4000: no extra poll */
	schedule_init(&s, 5000, 15000, 4000); /* interval 10 -> 5 s */
	schedule_carry(&s, &old, 4000);
	assert_int_equal(s.next_ms, 5000);
	schedule_init(&s, 2000, 15000, 4000); /* 10 -> 2 s: due at once */
	schedule_carry(&s, &old, 4000);
	assert_int_equal(s.next_ms, 4000);
	assert_int_equal(s.interval_ms, 2000);
}

/* Reload while failing: failures carry on, the retry is not pushed out,
 * and a lower cap brings it in. */
static void test_carry_while_failing(void **state)
{
	struct schedule old, s;

	(void)state;
	schedule_init(&old, 1000, 15000, 0);
	for (int i = 0; i < 6; i++)
		schedule_failure(&old, 0);
	assert_int_equal(old.next_ms, 15000);
	schedule_init(&s, 1000, 15000, 3000);
	schedule_carry(&s, &old, 3000);
	assert_int_equal(s.failures, 6);
	assert_int_equal(s.next_ms, 15000);
	schedule_init(&s, 1000, 5000, 3000); /* retry_max lowered to 5 s */
	schedule_carry(&s, &old, 3000);
	assert_int_equal(s.next_ms, 8000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_late_is_clamped_not_burst),
		cmocka_unit_test(test_backoff_doubles_to_cap),
		cmocka_unit_test(test_default_cap_is_15_s),
		cmocka_unit_test(test_back_from_45_s_outage_within_15_s),
		cmocka_unit_test(test_cap_below_interval),
		cmocka_unit_test(test_carry_keeps_phase),
		cmocka_unit_test(test_carry_while_failing),
	};
	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
