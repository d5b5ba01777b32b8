/*
 * sink.h - the interface every output (MQTT, InfluxDB, later HJ 212)
 * implements so the loop can drive it without knowing what it is.
 *
 * A sink pulls records from the outbox with its own sink index, sends them
 * without blocking, and acks them in the outbox only when its peer confirmed
 * (outbox.h says exactly what an ack covers).
 * The loop asks each sink for the fds it wants polled and its next deadline,
 * then calls dispatch with the poll results. Nothing in a sink may block the
 * loop beyond the bound stated in its header.
 */
#ifndef OUTFALL_SINK_H
#define OUTFALL_SINK_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

struct outbox;

#define SINK_MAX_FDS 8

struct sink_stats {
	uint64_t sent;     /* records acknowledged by the peer */
	uint64_t retried;  /* records sent again after a failure */
	uint64_t errors;   /* failed requests / connection losses */
	uint64_t quarantined; /* records the peer refused for good */
};

/* What went wrong last and when the sink tries again, for status. */
#define SINK_ERROR_MAX 200
struct sink_health {
	char last_error[SINK_ERROR_MAX]; /* the last failure's log text, "" if none
					  * since the sink was made (a kept sink
					  * keeps it across reloads) */
	int64_t last_error_wall_ms;      /* when, wall clock; 0 if none */
	int64_t next_retry_ms;           /* monotonic ms of the next connect or
					  * resend it waits for; 0 when it is not
					  * waiting (delivering, or idle) */
};

struct sink_ops {
	const char *name;
	/* Fill up to max pollfds (fd, events); return how many. */
	int (*pollfds)(void *impl, struct pollfd *pfds, int max);
	/* Monotonic ms of the next timer the sink needs, or INT64_MAX. */
	int64_t (*next_ms)(void *impl, int64_t now_ms);
	/* Handle ready fds (revents set, same order as pollfds) and timers,
	 * then send what the queue holds. pfds may have n == 0. */
	void (*dispatch)(void *impl, const struct pollfd *pfds, int n, int64_t now_ms);
	/* Try to deliver what is queued within budget_ms, for shutdown. */
	void (*flush)(void *impl, int64_t budget_ms);
	void (*get_stats)(void *impl, struct sink_stats *out);
	void (*get_health)(void *impl, struct sink_health *out);
	/* True when a file the sink read when it was made (password, token,
	 * certificates) has changed since: a reload must then remake it. */
	bool (*files_changed)(void *impl);
	void (*free)(void *impl);
};

struct sink {
	const struct sink_ops *ops;
	void *impl;
};

#endif
