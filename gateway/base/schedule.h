/*
 * schedule.h - per-sensor poll scheduling on the monotonic clock, pure.
 *
 * After a good poll the next one is due one interval after the previous
 * deadline (no drift), clamped to now when late (no catch-up burst). After
 * consecutive failures the wait doubles from the interval up to
 * SCHEDULE_BACKOFF_MAX_MS (or the interval, if longer), so a dead slave is
 * probed rarely and never starves the other slaves on its bus.
 */
#ifndef OUTFALL_SCHEDULE_H
#define OUTFALL_SCHEDULE_H

#include <stdint.h>

#define SCHEDULE_BACKOFF_MAX_MS 60000

struct schedule {
	int64_t next_ms;     /* monotonic deadline of the next poll */
	int64_t interval_ms; /* configured interval */
	int failures;        /* consecutive failed polls */
};

void schedule_init(struct schedule *s, int64_t interval_ms, int64_t now_ms);
void schedule_success(struct schedule *s, int64_t now_ms);
void schedule_failure(struct schedule *s, int64_t now_ms);
/* The current wait after failures (interval when none). */
int64_t schedule_backoff_ms(const struct schedule *s);

#endif
