/*
 * uplink.h - the HJ 212 uplink (DESIGN §6, domain/hj212.md): one sink per
 * agency platform (sinks.hj212), reporting one outlet under the platform's
 * MN over one TCP connection, as a standard data logger (数采仪) does.
 *
 * What goes out (encode/hj212.h builds the packets):
 *   2081 on every connect: DataTime now, RestartTime = when outfalld started;
 *   2011 every rtd_interval_s of wall time: the parameters the outlet's
 *        sensors read in that interval, each at its latest reading, flow in
 *        L/s, flagged from quality and maintenance (N M C B T D); DataTime is
 *        the interval's end. It goes out once the first reading after that
 *        instant is seen, so a backlog drains the same way live data does;
 *        one whose DataTime is older than max_rtd_age_s when it would go
 *        out is skipped and counted (0: never);
 *   2051 over min_interval_min minutes, from the minute aggregates (counts,
 *        min, max and Cou summed, the mean weighted by each minute's volume,
 *        else by its count), 2061 and 2031 from the hour and day aggregates;
 *        DataTime the period start in local time; never skipped. A
 *        parameter's -Flag is the worst flag of its readings in the period
 *        (one abnormal reading flags the period), as far as this sink saw
 *        them since it was made; without readings D.
 * A record too long for one packet is split (Flag D, PNUM/PNO, a QN each).
 *
 * Delivery. ack = true (Flag=5): one packet at a time; the next goes only
 * when the 9014 with its QN came. No 9014 within timeout_s: the same
 * packet (same QN) again, up to retries times; then the connection is
 * dropped and, after the backoff, made again, going on from the outbox
 * cursor. A record is acked in the outbox only when every packet that
 * carries it was answered (a 2011 acks the readings it holds, so a reading
 * is acked only once a 2011 carrying it was). ack = false (Flag=4): a
 * record counts as delivered once written to the socket - TCP-level only;
 * what a dying connection held is lost. Alert, maintenance and reload
 * records are not HJ 212 messages (HJ 212-2017 has no alarm command): they
 * are acked as read; the readings carry maintenance as flag M or C.
 *
 * Requests from the platform (uplink_req.c): PW and MN checked, then 9011
 * (QnRtn), the answer, 9012 (ExeRtn): 1011 time, 1012 set time (refused:
 * outfalld never sets the clock; the offset is logged), 1061/1062 and
 * 1063/1064 get and set the intervals (kept in data_dir across restarts),
 * 1000 timeout and retries (kept likewise), 2051/2061/2031 with
 * BeginTime/EndTime answered from the local history (what exists in the
 * range). Anything else is refused with QnRtn, logged, counted; a CRC
 * error gets no reply (6.3).
 *
 * Blocking bound: none on the network. The socket is non-blocking and in
 * the loop; a host name is looked up with getaddrinfo_a (glibc's resolver
 * thread; the loop looks at the result every 20 ms, a numeric address
 * needs no lookup); the connect and the lookup each give up after
 * timeout_s. A pass reads at most HJ_PASS_RECS outbox records. A
 * back-fill runs SQLite queries on the local history (indexed, one range
 * at a time, bounded by the 64 KiB reply queue). free() waits for a
 * lookup in progress that cannot be cancelled, at most 2 s. The password
 * file is read at config load; files_changed() says when it changed.
 * Reconnects back off 1 s doubling to 60 s with +-20 % jitter, reset by a
 * delivered message.
 */
#ifndef OUTFALL_SINK_HJ212_UPLINK_H
#define OUTFALL_SINK_HJ212_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "sinks/sink.h"

struct config;
struct outbox;
struct record;

/*
 * Makes the sink for platform cfg->hj212[platform] reading the outbox with
 * index sink_idx (rewound to its acked position). What it needs of cfg is
 * copied (the platform, its outlet's id and instrument ranges, data_dir,
 * the history's dir); ob is borrowed and must outlive the sink.
 * started_wall_ms is 2081's RestartTime. 0 and *out filled, or -errno
 * (logged), *out untouched.
 */
int sink_hj212_new(const struct config *cfg, size_t platform, struct outbox *ob, int sink_idx,
		   int64_t started_wall_ms, struct sink *out);

/*
 * What platform cfg->hj212[platform] is sent for one poll, built by the
 * sink's own code (outfallctl hj212 encode): 2081 (DataTime and
 * RestartTime now), then the 2011 of polls - REC_POLL records of one
 * instant; other outlets' are ignored - flagged and converted as the sink
 * does, its DataTime the end of the rtd_interval_s that holds them (the
 * sink sends it once that interval is over). Packets back to back, each
 * ending in CR LF, NUL-terminated, into out. Returns their length, or
 * -ENOSPC, -EINVAL, -ENOMEM. No socket, no outbox, nothing written.
 */
int sink_hj212_preview(const struct config *cfg, size_t platform, const struct record *polls,
		       size_t n, char *out, size_t cap);

/* ---- for tests -------------------------------------------------------------- */

/* The reconnect backoff range (default 1000..60000 ms). */
void sink_hj212_set_backoff_ms(struct sink *sk, int64_t min_ms, int64_t max_ms);
/* The wall clock (QN, DataTime of 2081, ages). */
void sink_hj212_set_clock(struct sink *sk, int64_t (*wall_ms)(void));

struct sink_hj212_counts {
	uint64_t rtd_skipped, requests, refused, bad_frames, stray_replies, backfilled;
};
void sink_hj212_counts(struct sink *sk, struct sink_hj212_counts *out);

#endif
