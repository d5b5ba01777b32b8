/*
 * acquire.h - owns the serial buses and polls the sensors on them.
 *
 * One owner per bus serialises its requests: sensors are polled one at a
 * time, earliest deadline first. A bus whose device is missing or vanished
 * (USB unplugged) is closed and reopened with a growing delay, without
 * restarting the daemon; its sensors are reported as not responding
 * meanwhile. Every poll, good or failed, is handed to the emit callback as a
 * record, so silence is visible downstream.
 *
 * Blocking bound: acquire_run() polls each due sensor once; a poll blocks
 * at most as its driver states (modbus_rtu.h, ascii.h), and a sensor that failed
 * last time is tried once without retries.
 */
#ifndef OUTFALL_ACQUIRE_H
#define OUTFALL_ACQUIRE_H

#include <stdint.h>

#include "base/record.h"
#include "config/config.h"
#include "drivers/driver.h"

struct acquire;

/* Called once per poll; r is valid only during the call. */
typedef void (*acquire_emit_fn)(void *ctx, int sensor_idx, const struct record *r);

/* cfg must outlive it. NULL on ENOMEM. Opens nothing until the first run. */
struct acquire *acquire_new(const struct config *cfg, int64_t now_ms);
void acquire_free(struct acquire *a); /* closes every port; NULL no-op */

/*
 * Reload: a (new, not yet run) takes over from old what still applies. An
 * open port moves over when its bus has the same name, device, line
 * settings and driver (old then no longer closes it); a sensor of the same
 * name keeps its poll phase (schedule_carry), its failure count, counters
 * and complaint state. Both configs must still be alive; old is freed
 * after, as usual.
 */
void acquire_carry(struct acquire *a, struct acquire *old, int64_t now_ms);

/* Monotonic ms of the earliest due poll or reopen. */
int64_t acquire_next_ms(const struct acquire *a);

/* Polls what is due at now_ms (monotonic); wall clock stamps the records. */
void acquire_run(struct acquire *a, int64_t now_ms, acquire_emit_fn emit, void *ctx);

/* Per-sensor counters for self-metrics and status. */
struct acquire_stats {
	uint64_t polls;
	uint64_t failures;
	struct drv_counters drv;
};
void acquire_get_stats(const struct acquire *a, int sensor_idx, struct acquire_stats *out);
void acquire_totals(const struct acquire *a, struct acquire_stats *out);

#endif
