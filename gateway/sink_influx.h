/*
 * sink_influx.h - the InfluxDB sink (DESIGN §6, §7): queued records go out
 * as line protocol in HTTP POSTs, v1 /write or v2 /api/v2/write, ms
 * precision, optionally gzip-compressed.
 *
 * Blocking bound: nothing blocks the loop. All HTTP runs through the libcurl
 * multi interface driven by the daemon's poll(): pollfds() hands out the
 * sockets curl asked for, next_ms() the earliest of curl's timer, the flush
 * timer and the retry backoff, dispatch() calls curl_multi_socket_action().
 * DNS runs in curl's threaded resolver (a warning is logged at creation if
 * this libcurl lacks one, as its resolver would then block). A request is
 * bounded by a 5 s connect timeout and cfg->timeout_ms overall; the CPU work
 * per pass is encoding (and compressing) at most one 512 KiB body. Only
 * flush() waits, by design, for at most its budget. The secret files are
 * read once, in sink_influx_new().
 *
 * Delivery: one request in flight; a batch holds at most cfg->batch_max
 * points and 512 KiB of body, and is sent when full or cfg->flush_ms after
 * its oldest record was seen. Records are acked in the queue only on a 2xx.
 * 400/422 (points refused for good) are counted as quarantined and acked;
 * 401/403/404, 429, 5xx and network errors keep the data and retry with
 * jittered exponential backoff (1 s doubling to 60 s, Retry-After honoured);
 * 413 halves the points per request. Memory is fixed at creation and does
 * not grow with the backlog.
 */
#ifndef OUTFALL_SINK_INFLUX_H
#define OUTFALL_SINK_INFLUX_H

#include <stdint.h>

#include "config.h"
#include "sink.h"

struct queue;

/*
 * Creates the sink for queue q, reading with sink index sink_idx (rewound to
 * its acked position, so a re-created sink resends what was in flight). cfg
 * and gateway_id are copied; q is borrowed and must outlive the sink.
 * Returns 0 and fills *out (out->ops->free releases everything), or -errno
 * after logging why (-EINVAL bad settings, -ENOENT/-EACCES/... unreadable
 * password_file or token_file, -ENOMEM), leaving *out untouched.
 */
int sink_influx_new(const struct cfg_influx *cfg, const char *gateway_id, struct queue *q,
		    int sink_idx, struct sink *out);

/* Overrides the retry backoff range (default 1000..60000 ms), so tests need
 * not wait seconds. sk must come from sink_influx_new(). */
void sink_influx_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms);

#endif
