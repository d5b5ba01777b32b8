/*
 * schedule.h - per-sensor poll scheduling on the monotonic clock, pure.
 *
 * After a good poll the next one is due one interval after the previous
 * deadline (no drift), clamped to now when late (no catch-up burst). After
 * consecutive failures the wait doubles from the interval up to retry_max
 * (the sensor's retry_max_s, default 15 s), so a dead slave is probed less
 * often and never starves the other slaves on its bus, yet a slave that
 * comes back after a long outage is noticed within retry_max. The cap holds
 * for long intervals too: a sensor polled every 10 minutes that failed is
 * tried again after retry_max, not after 10 minutes.
 *
 * On a reload, schedule_carry() keeps a sensor's phase: its next poll stays
 * where it was, moved by the change of interval if that changed.
 */
#ifndef OUTFALL_SCHEDULE_H
#define OUTFALL_SCHEDULE_H

#include <stdint.h>

#define SCHEDULE_RETRY_MAX_MS 15000 /* the default cap of the failure backoff */

struct schedule {
	int64_t next_ms;      /* monotonic deadline of the next poll */
	int64_t interval_ms;  /* configured interval */
	int64_t retry_max_ms; /* longest wait after failures */
	int failures;         /* consecutive failed polls */
};

/* retry_max_ms <= 0 means SCHEDULE_RETRY_MAX_MS. The first poll is due at
 * now_ms. */
void schedule_init(struct schedule *s, int64_t interval_ms, int64_t retry_max_ms,
		   int64_t now_ms);
void schedule_success(struct schedule *s, int64_t now_ms);
void schedule_failure(struct schedule *s, int64_t now_ms);
/* The current wait after failures (the interval when none). */
int64_t schedule_backoff_ms(const struct schedule *s);

/*
 * s (set up by schedule_init for the new config) takes over old's phase and
 * failures: when healthy, the next poll is one new interval after the last
 * deadline (old->next_ms - old->interval_ms), clamped to now; while failing,
 * the earlier of old's retry and now plus the new backoff.
 */
void schedule_carry(struct schedule *s, const struct schedule *old, int64_t now_ms);

#endif
