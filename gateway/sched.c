/* sched.c - poll deadlines and failure backoff (see sched.h). */
#include "sched.h"

void sched_init(struct sched *s, int64_t interval_ms, int64_t now_ms)
{
	s->interval_ms = interval_ms;
	s->next_ms = now_ms;
	s->failures = 0;
}

void sched_success(struct sched *s, int64_t now_ms)
{
	s->failures = 0;
	s->next_ms += s->interval_ms;
	if (s->next_ms < now_ms)
		s->next_ms = now_ms;
}

int64_t sched_backoff_ms(const struct sched *s)
{
	int64_t cap = s->interval_ms > SCHED_BACKOFF_MAX_MS ? s->interval_ms : SCHED_BACKOFF_MAX_MS;
	int64_t wait = s->interval_ms;

	for (int i = 1; i < s->failures && wait < cap; i++)
		wait *= 2;
	return wait < cap ? wait : cap;
}

void sched_failure(struct sched *s, int64_t now_ms)
{
	s->failures++;
	s->next_ms = now_ms + sched_backoff_ms(s);
}
