/* schedule.c - poll deadlines and failure backoff (see schedule.h). */
#include "schedule.h"

void schedule_init(struct schedule *s, int64_t interval_ms, int64_t now_ms)
{
	s->interval_ms = interval_ms;
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
	int64_t cap = s->interval_ms > SCHEDULE_BACKOFF_MAX_MS ? s->interval_ms : SCHEDULE_BACKOFF_MAX_MS;
	int64_t wait = s->interval_ms;

	for (int i = 1; i < s->failures && wait < cap; i++)
		wait *= 2;
	return wait < cap ? wait : cap;
}

void schedule_failure(struct schedule *s, int64_t now_ms)
{
	s->failures++;
	s->next_ms = now_ms + schedule_backoff_ms(s);
}
