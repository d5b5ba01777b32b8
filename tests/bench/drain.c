/*
 * drain.c - backlog drain bench: fills a fresh outbox with N telemetry
 * records (five values each, as a probe poll), then lets one real sink drain
 * it to a local peer, and prints the append rate, the drain rate, memory at
 * backlog 0, at the full backlog and during the drain, and bytes written to
 * disk per record.
 *
 *   drain influx URL DB N
 *   drain mqtt URI N
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/param.h"
#include "config/config.h"
#include "outbox/outbox.h"
#include "sinks/influx/influx.h"
#include "sinks/mqtt/mqtt.h"
#include "sinks/sink.h"

struct mem {
	long rss_kb;
	long dirty_kb;
};

static long smaps_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0) {
			kb = strtol(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static struct mem mem_now(void)
{
	return (struct mem){ smaps_kb("Rss:"), smaps_kb("Private_Dirty:") };
}

/* Bytes this process caused to be sent to the storage layer. */
static long long io_write_bytes(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "write_bytes:", 12) == 0)
			v = strtoll(line + 12, NULL, 10);
	fclose(f);
	return v;
}

static struct record probe_poll(int64_t ts, int i)
{
	static const int params[] = { P_COD, P_PH, P_NH3N, P_TP, P_TEMP };
	static const double base[] = { 230.0, 7.2, 25.0, 3.1, 20.5 };
	struct record r = { .ts_ms = ts, .type = REC_POLL };

	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 5;
	for (int k = 0; k < 5; k++)
		r.u.poll.values[k] = (struct rec_value){ .v = (double)(float)(base[k] + (i % 97) * 0.01),
							 .param = (uint8_t)params[k], .quality = Q_OK };
	return r;
}

static int fill(struct outbox *ob, long n, int64_t ts0)
{
	double t0 = (double)clock_mono_ms();

	for (long i = 0; i < n; i++) {
		struct record r = probe_poll(ts0 + i * 1000, (int)i);

		if (outbox_append(ob, &r, clock_mono_ms(), NULL) < 0)
			return -EIO;
	}
	outbox_flush(ob, clock_mono_ms());
	printf("drain: appended %ld records at %.0f records/s\n", n,
	       n / (((double)clock_mono_ms() - t0) / 1000.0 + 1e-9));
	return 0;
}

/* One pass of the daemon's loop for one sink. */
static void step(struct sink *sk, struct outbox *ob)
{
	struct pollfd pfds[SINK_MAX_FDS];
	int64_t now = clock_mono_ms();
	int n = sk->ops->pollfds(sk->impl, pfds, SINK_MAX_FDS);
	int64_t next = sk->ops->next_ms(sk->impl, now);
	int64_t wait = next > now ? next - now : 0;

	poll(pfds, (nfds_t)n, wait > 50 ? 50 : (int)wait);
	outbox_tick(ob, clock_mono_ms());
	sk->ops->dispatch(sk->impl, pfds, n, clock_mono_ms());
}

static int make_sink(char **argv, struct outbox *ob, const char *dir, struct sink *sk)
{
	static struct cfg_influx ci;
	static struct cfg_mqtt cm;

	if (strcmp(argv[1], "influx") == 0) {
		ci = (struct cfg_influx){ .enabled = true, .url = argv[2], .api = 1, .db = argv[3],
					  .batch_max = 5000, .flush_ms = 100, .timeout_ms = 10000 };
		return sink_influx_new(&ci, "bench-gw", dir, ob, 0, sk);
	}
	cm = (struct cfg_mqtt){ .enabled = true, .uri = argv[2], .qos = 1,
				.client_id = "outfall-bench", .keepalive_s = 30,
				.topic_root = "outfall/bench-gw", .tls_verify = true };
	return sink_mqtt_new(&cm, "bench-gw", ob, 0, clock_wall_ms(), sk);
}

static void drain(struct sink *sk, struct outbox *ob, long n, const char *unit, long mult)
{
	int64_t t0 = clock_mono_ms();
	struct mem peak = mem_now();
	long last = n;

	while (outbox_unacked(ob, 0) > 0 && clock_mono_ms() - t0 < 600000) {
		step(sk, ob);
		if ((long)outbox_unacked(ob, 0) <= last - n / 10) {
			struct mem m = mem_now();

			last = (long)outbox_unacked(ob, 0);
			peak.rss_kb = m.rss_kb > peak.rss_kb ? m.rss_kb : peak.rss_kb;
			peak.dirty_kb = m.dirty_kb > peak.dirty_kb ? m.dirty_kb : peak.dirty_kb;
		}
	}
	double s = (double)(clock_mono_ms() - t0) / 1000.0;
	printf("drain: %ld records (%ld %s) in %.2f s: %.0f %s/s\n", n, n * mult, unit, s,
	       n * mult / s, unit);
	printf("drain: memory during the drain: peak RSS %ld kB, peak private dirty %ld kB\n",
	       peak.rss_kb, peak.dirty_kb);
}

int main(int argc, char **argv)
{
	bool influx = argc == 5 && strcmp(argv[1], "influx") == 0;
	bool mqtt = argc == 4 && strcmp(argv[1], "mqtt") == 0;
	char dir[] = "/tmp/outfall-drain.XXXXXX";
	struct outbox_opts o;
	struct outbox *ob = NULL;
	struct sink sk;
	long n;

	if (!influx && !mqtt) {
		fprintf(stderr, "usage: drain influx URL DB N | drain mqtt URI N\n");
		return 64;
	}
	n = strtol(argv[argc - 1], NULL, 10);
	if (n <= 0 || !mkdtemp(dir))
		return 1;
	outbox_opts_default(&o);
	o.max_backlog_bytes = (size_t)1 << 30;
	o.sink_names[0] = argv[1];
	struct mem m0 = mem_now();
	long long w0 = io_write_bytes();
	if (outbox_open(dir, &o, 1, clock_mono_ms(), &ob) < 0 ||
	    fill(ob, n, clock_wall_ms() - n * 1000LL) < 0)
		return 1;
	struct outbox_stats st;
	outbox_get_stats(ob, &st);
	long long w1 = io_write_bytes();
	struct mem m1 = mem_now();
	printf("drain: disk: %.1f bytes written per record (%.2f per payload byte; "
	       "%.2f at the block layer)\n", (double)st.bytes_written / n,
	       (double)st.bytes_written / st.payload_bytes,
	       w0 >= 0 && w1 >= 0 ? (double)(w1 - w0) / st.payload_bytes : -1.0);
	printf("drain: memory: backlog 0: RSS %ld kB, private dirty %ld kB; backlog %ld: "
	       "RSS %ld kB, private dirty %ld kB\n", m0.rss_kb, m0.dirty_kb, n, m1.rss_kb,
	       m1.dirty_kb);
	if (make_sink(argv, ob, dir, &sk) < 0)
		return 1;
	drain(&sk, ob, n, influx ? "points" : "messages", influx ? 5 : 1);
	sk.ops->free(sk.impl);
	outbox_close(ob);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
