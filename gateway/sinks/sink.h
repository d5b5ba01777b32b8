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
#include <stdint.h>

struct outbox;

#define SINK_MAX_FDS 8

struct sink_stats {
	uint64_t sent;     /* records acknowledged by the peer */
	uint64_t retried;  /* records sent again after a failure */
	uint64_t errors;   /* failed requests / connection losses */
	uint64_t quarantined; /* records the peer refused for good */
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
	void (*free)(void *impl);
};

struct sink {
	const struct sink_ops *ops;
	void *impl;
};

#endif
