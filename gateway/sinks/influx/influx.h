/*
 * influx.h - the InfluxDB sink (DESIGN §6, §7): outbox records go out
 * as line protocol in HTTP POSTs, v1 /write or v2 /api/v2/write, ms
 * precision, optionally gzip-compressed.
 *
 * Blocking bound: nothing blocks the loop on the network. All HTTP runs
 * through the libcurl multi interface driven by the daemon's poll():
 * pollfds() hands out the sockets curl asked for, next_ms() the earliest of
 * curl's timer, the flush timer and the retry backoff, dispatch() calls
 * curl_multi_socket_action(). DNS runs in curl's threaded resolver (a
 * warning is logged at creation if this libcurl lacks one, as its resolver
 * would then block). A request is bounded by a 5 s connect timeout and
 * cfg->timeout_ms overall; the CPU work per pass is encoding (and
 * compressing) at most one 512 KiB body. Quarantining a record writes the
 * dead-letter file and fdatasyncs it (tens of ms on an SD card; rare). Only
 * flush() waits, by design, for at most its budget. The secret files are
 * read once, in sink_influx_new().
 *
 * Delivery: one request in flight; a batch holds at most cfg->batch_max
 * points, 8192 records and 512 KiB of body, and is sent when full, when it
 * holds an alert, or cfg->flush_ms after its oldest record was seen. The
 * outbox hands out alerts before telemetry, so they lead each batch.
 * Records are acked in the outbox only once settled - on a 2xx (each alert
 * by its seq, the telemetry by its last seq), or once quarantined - and
 * always in the order they were handed out. Status handling:
 *   400/422  some point is bad for good: the batch is split in halves,
 *            recursively, down to single records (a record's lines stay
 *            together); the good ones are delivered and each record refused
 *            alone is appended to <data_dir>/deadletter-influx.lp after a
 *            "# <time> HTTP <status>: <error>" line (fdatasync'ed; at 16 MiB
 *            the file becomes deadletter-influx.lp.1, replacing the older
 *            one), logged with its seq (rate-limited), counted in
 *            stats.quarantined and acked so the pipeline moves on;
 *   413      the batch is split likewise and later batches carry at most
 *            half the points; a single record too large is retried;
 *   401/403/404, 429, 5xx, network errors
 *            the data is kept and retried with jittered exponential backoff
 *            (1 s doubling to 60 s, Retry-After honoured), loudly for
 *            401/403/404. A split in progress survives the retries.
 * A failed request is never counted as sent. Memory is fixed at creation
 * (about 1.2 MiB, most of it touched only by large batches) and does not
 * grow with the backlog; only the permits' limit lines are allocated when
 * they are given (at start and reload, at most 512 KiB, usually a few).
 */
#ifndef OUTFALL_SINK_INFLUX_H
#define OUTFALL_SINK_INFLUX_H

#include <stdint.h>

#include "config/config.h"
#include "sinks/sink.h"

struct outbox;

/*
 * Creates the sink for outbox ob, reading with sink index sink_idx (rewound
 * to its acked position, so a re-created sink resends what was in flight).
 * cfg, gateway_id and data_dir (where the dead-letter file goes) are
 * copied; ob is borrowed and must outlive the sink. Returns 0 and fills
 * *out (out->ops->free releases everything), or -errno after logging why
 * (-EINVAL bad settings or no data_dir, -ENOENT/-EACCES/... unreadable
 * password_file or token_file, -ENOMEM), leaving *out untouched.
 */
int sink_influx_new(const struct cfg_influx *cfg, const char *gateway_id, const char *data_dir,
		    struct outbox *ob, int sink_idx, struct sink *out);

/* Overrides the retry backoff range (default 1000..60000 ms), so tests need
 * not wait seconds. sk must come from sink_influx_new(). */
void sink_influx_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms);

/*
 * The permit's limits to InfluxDB (DESIGN §6 outfall_limit, encoded by
 * lp_append_limits() with the sink's gateway tag, stamped now_wall_ms), for
 * dashboards to draw: at start and after every reload. They are not outbox
 * records: the sink keeps the lines (copied; cfg is only read) and sends
 * them on a request of their own before its next batch, retrying like a
 * batch (backoff, the same log lines) until the server answers 2xx. A
 * 400/422/413 refuses them for good: logged, dropped until the next call.
 * A call replaces a set not yet sent; a set in flight is then followed by
 * the new one. Returns the number of lines queued (0: no outlet has a
 * permit, and nothing is sent), -EINVAL if sk is not an InfluxDB sink (a
 * sink switched off by a reload, say), -ENOSPC if the lines pass the
 * 512 KiB body cap, -ENOMEM; failures are logged, and leave a set already
 * queued as it was.
 */
int sink_influx_set_limits(struct sink *sk, const struct config *cfg, int64_t now_wall_ms);

#endif
