/*
 * acquire.h - owns the serial buses and polls the sensors on them.
 *
 * Each bus with sensors has a thread of its own that owns its port and its
 * sensors' schedules, so that a slow bus never makes another one late: one
 * owner per bus serialises its requests, its sensors are polled one at a
 * time, earliest deadline first. A bus whose device is missing or vanished
 * (USB unplugged) is closed and reopened with a growing delay, without
 * restarting the daemon; its sensors are reported as not responding
 * meanwhile. Every poll, good or failed, is handed to the main loop through
 * a bounded queue and from there to the emit callback as a record, so
 * silence is visible downstream. When the queue is full the bus threads
 * wait for the loop: no poll is dropped.
 *
 * Threads: the bus threads call only the drivers, the schedule and the log.
 * Everything else here - the emit callback, the counters read back, carry,
 * stop and free - runs on the thread that calls acquire_run (the main
 * loop), which then needs no lock: compliance, the outbox and the sinks
 * stay single-threaded. The threads inherit that thread's signal mask.
 *
 * Blocking bound: a poll blocks its bus's thread at most as its driver
 * states (modbus_rtu.h, ascii.h), and a sensor that failed last time is
 * tried once without retries. acquire_run() never waits; acquire_stop()
 * waits for the polls in progress, so for at most that bound.
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

/* cfg must outlive it. NULL on ENOMEM. Opens nothing and starts no thread
 * until the first run. */
struct acquire *acquire_new(const struct config *cfg, int64_t now_ms);
/* Stops the threads (polls still queued are dropped, and counted in a log
 * line), closes every port; NULL no-op. */
void acquire_free(struct acquire *a);

/*
 * Reload: a (new, not yet run) takes over from old what still applies. An
 * open port moves over when its bus has the same name, device, line
 * settings and driver (old then no longer closes it); a sensor of the same
 * name keeps its poll phase (schedule_carry), its failure count, counters
 * and complaint state. old's threads must have been stopped first
 * (acquire_stop), so that its last polls are emitted under the old config.
 * Both configs must still be alive; old is freed after, as usual.
 */
void acquire_carry(struct acquire *a, struct acquire *old, int64_t now_ms);

/* Readable (poll() POLLIN) while polls wait for acquire_run; valid until
 * acquire_free. Non-blocking, close-on-exec. */
int acquire_fd(const struct acquire *a);

/* Monotonic ms by which acquire_run must be called although acquire_fd
 * stays quiet: INT64_MAX while every bus thread runs, else when the
 * missing ones are (re)started. */
int64_t acquire_next_ms(const struct acquire *a);

/* Starts the bus threads that are not running (the first time, after a
 * stop, or after a failed start, again after 1 s), then hands the polls
 * waiting to emit, in order: one bus's polls in the order they were made.
 * Never blocks; emits at most a queue's worth per call. */
void acquire_run(struct acquire *a, int64_t now_ms, acquire_emit_fn emit, void *ctx);

/* Stops the bus threads and joins them, handing to emit every poll they
 * made (emit NULL: dropped, and counted in a log line). The next
 * acquire_run starts them again. Blocks for at most one poll per bus. */
void acquire_stop(struct acquire *a, acquire_emit_fn emit, void *ctx);

/* Per-sensor counters for self-metrics and status, as of the last record
 * emitted (those of polls still queued come with them). */
struct acquire_stats {
	uint64_t polls;
	uint64_t failures;
	uint64_t late; /* started more than the bus's timeout after due */
	struct drv_counters drv;
};
void acquire_get_stats(const struct acquire *a, int sensor_idx, struct acquire_stats *out);
void acquire_totals(const struct acquire *a, struct acquire_stats *out);

#endif
