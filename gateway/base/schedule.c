/* schedule.c - poll deadlines and failure backoff (see schedule.h). */
#include "schedule.h"

void schedule_init(struct schedule *s, int64_t interval_ms, int64_t retry_max_ms,
		   int64_t now_ms)
{
	s->interval_ms = interval_ms;
	s->retry_max_ms = retry_max_ms > 0 ? retry_max_ms : SCHEDULE_RETRY_MAX_MS;
	s->next_ms = now_ms;
	s->failures = 0;
}

void schedule_success(struct schedule *s, int64_t now_ms)
{
	s->failures = 0;
	s->next_ms += s->interval_ms;
	if (s->next_ms < now_ms)
		s->next_ms = now_ms;
}

int64_t schedule_backoff_ms(const struct schedule *s)
{
	int64_t cap = s->retry_max_ms;
	int64_t wait = s->interval_ms;

	if (s->failures == 0)
		return wait;
	for (int i = 1; i < s->failures && wait < cap; i++)
		wait *= 2;
	return wait < cap ? wait : cap;
}

void schedule_failure(struct schedule *s, int64_t now_ms)
{
	s->failures++;
	s->next_ms = now_ms + schedule_backoff_ms(s);
}

void schedule_carry(struct schedule *s, const struct schedule *old, int64_t now_ms)
{
	int64_t retry;

	s->failures = old->failures;
	if (s->failures == 0) {
		s->next_ms = old->next_ms - old->interval_ms + s->interval_ms;
		if (s->next_ms < now_ms)
			s->next_ms = now_ms;
		return;
	}
	retry = now_ms + schedule_backoff_ms(s);
	s->next_ms = old->next_ms < retry ? old->next_ms : retry;
}
