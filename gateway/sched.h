/*
 * sched.h - per-sensor poll scheduling on the monotonic clock, pure.
 *
 * After a good poll the next one is due one interval after the previous
 * deadline (no drift), clamped to now when late (no catch-up burst). After
 * consecutive failures the wait doubles from the interval up to
 * SCHED_BACKOFF_MAX_MS (or the interval, if longer), so a dead slave is
 * probed rarely and never starves the other slaves on its bus.
 */
#ifndef OUTFALL_SCHED_H
#define OUTFALL_SCHED_H

#include <stdint.h>

#define SCHED_BACKOFF_MAX_MS 60000

struct sched {
	int64_t next_ms;     /* monotonic deadline of the next poll */
	int64_t interval_ms; /* configured interval */
	int failures;        /* consecutive failed polls */
};

void sched_init(struct sched *s, int64_t interval_ms, int64_t now_ms);
void sched_success(struct sched *s, int64_t now_ms);
void sched_failure(struct sched *s, int64_t now_ms);
/* The current wait after failures (interval when none). */
int64_t sched_backoff_ms(const struct sched *s);

#endif
