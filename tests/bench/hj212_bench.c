/*
 * hj212_bench.c - HJ 212 figures for `make bench`:
 *  1. encoding: packets per second built (CP data area + framing with its
 *     CRC) for one outlet of 7 parameters, 2011 real-time and 2051 minute;
 *  2. drain: an outbox holding N minutes of backlog for that outlet (a poll
 *     and a minute aggregate each minute) drained by the real uplink sink
 *     to a platform in this process on a loopback socket that answers each
 *     packet's 9014 - packets per second, with ack = true (one packet per
 *     round trip, as the standard has it) and ack = false (TCP only).
 *
 *   hj212_bench [N]     N minutes of backlog (default 20000, about 14 days)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/param.h"
#include "config/config.h"
#include "encode/encode.h"
#include "outbox/outbox.h"
#include "sinks/hj212/uplink.h"

#define MN "010000A8900016F000169DC0"
#define NP 7

static const int params[NP] = { P_FLOW, P_PH, P_COD, P_NH3N, P_TP, P_TN, P_TEMP };
static const double base[NP] = { 63.0, 7.2, 230.0, 25.0, 3.1, 35.0, 20.5 };

static double secs_since(int64_t t0)
{
	return (double)(clock_mono_ms() - t0) / 1000.0 + 1e-9;
}

static struct rec_aggregate minute_agg(int64_t start, int i)
{
	struct rec_aggregate a = { .period = AGG_MINUTE, .n = NP, .end_ms = start + 60000 };

	snprintf(a.outlet, sizeof(a.outlet), "WS-001");
	for (int k = 0; k < NP; k++) {
		double v = base[k] + (i % 97) * 0.01;

		a.params[k] = (struct rec_agg_param){ .param = (uint8_t)params[k], .count = 60,
			.avg = v, .min = v * 0.95, .max = v * 1.05,
			.cou = params[k] == P_FLOW ? v / 60.0 : params[k] == P_PH ||
			       params[k] == P_TEMP ? NAN : v * 1.05 / 1000.0 };
	}
	return a;
}

/* ---- 1. encoding ------------------------------------------------------------ */

static void bench_encode(long n)
{
	static char data[4096], out[HJ212_FRAME_MAX * 8];
	struct hj212_fmt fmt = { .utc_offset_min = 480, .decimals = -1 };
	struct hj212_hdr h = { .qn_ms = 1470012537223LL, .utc_offset_min = 480, .st = 32,
			       .cn = 2011, .pw = "123456", .mn = MN,
			       .version = HJ212_VERSION_2017, .ack = true };
	size_t len[8], frames = 0, bytes = 0;
	int64_t t0 = clock_mono_ms();

	for (long i = 0; i < n; i++) {
		struct hj212_rtd v[NP];

		for (int k = 0; k < NP; k++)
			v[k] = (struct hj212_rtd){ .param = (uint8_t)params[k], .flag = 'N',
						   .v = base[k] + (i % 97) * 0.01 };
		int d = hj212_cp_rtd(data, sizeof(data), &fmt, h.qn_ms, v, NP, NULL);
		h.qn_ms++;
		if (d < 0 || hj212_packets(out, sizeof(out), &h, data, (size_t)d, len, 8, &frames) < 0)
			exit(1);
		bytes += len[0];
	}
	printf("hj212: encode 2011 (7 parameters): %.0f packets/s (%zu bytes each)\n",
	       n / secs_since(t0), bytes / (size_t)n);
	h.cn = 2051;
	bytes = 0;
	t0 = clock_mono_ms();
	for (long i = 0; i < n; i++) {
		struct rec_aggregate a = minute_agg(1470012000000LL + i * 60000, (int)i);
		int d = hj212_cp_period(data, sizeof(data), &fmt, a.end_ms - 60000, &a, NULL, NULL);

		h.qn_ms++;
		if (d < 0 || hj212_packets(out, sizeof(out), &h, data, (size_t)d, len, 8, &frames) < 0)
			exit(1);
		bytes += len[0];
	}
	printf("hj212: encode 2051 (7 parameters): %.0f packets/s (%zu bytes each)\n",
	       n / secs_since(t0), bytes / (size_t)n);
}

/* ---- 2. drain ---------------------------------------------------------------- */

struct peer {
	int lfd, fd;
	char rx[65536];
	size_t rx_len;
	long data;       /* 2011 and 2051 received */
};

static int peer_open(struct peer *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	*p = (struct peer){ .fd = -1 };
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(p->lfd, 2) < 0 || getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* Frames received: counted, each one that asks answered with its 9014. */
static void peer_read(struct peer *p)
{
	ssize_t n = recv(p->fd, p->rx + p->rx_len, sizeof(p->rx) - p->rx_len, MSG_DONTWAIT);
	size_t pos = 0;

	if (n <= 0)
		return;
	p->rx_len += (size_t)n;
	while (pos < p->rx_len) {
		static struct hj212_msg m;
		char seg[256], pkt[300];
		size_t used = 0;
		int rc = hj212_parse(p->rx + pos, p->rx_len - pos, &m, &used, NULL);

		if (rc == -EAGAIN)
			break;
		pos += used;
		if (rc < 0)
			continue;
		p->data += m.cn == 2011 || m.cn == 2051;
		if (!(m.flag & HJ212_FLAG_A))
			continue;
		int s = snprintf(seg, sizeof(seg), "QN=%s;ST=91;CN=9014;PW=%s;MN=%s;Flag=4;CP=&&&&",
				 m.qn, m.pw, m.mn);
		int f = hj212_frame(pkt, sizeof(pkt), seg, (size_t)s);
		if (f > 0 && send(p->fd, pkt, (size_t)f, MSG_NOSIGNAL) != f)
			exit(1);
	}
	memmove(p->rx, p->rx + pos, p->rx_len - pos);
	p->rx_len -= pos;
}

/* One pass of the loop: the sink's fds and timers, the peer's socket. */
static void step(struct sink *sk, struct outbox *ob, struct peer *p)
{
	struct pollfd pfds[SINK_MAX_FDS + 2];
	int64_t now = clock_mono_ms(), next = sk->ops->next_ms(sk->impl, now);
	int n = sk->ops->pollfds(sk->impl, pfds, SINK_MAX_FDS), k = n;
	int wait = next <= now ? 0 : next - now > 20 ? 20 : (int)(next - now);

	pfds[k++] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
	if (p->fd >= 0)
		pfds[k++] = (struct pollfd){ .fd = p->fd, .events = POLLIN };
	if (poll(pfds, (nfds_t)k, wait) < 0)
		exit(1);
	if (pfds[n].revents & POLLIN) {
		if (p->fd >= 0)
			close(p->fd);
		p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	if (p->fd >= 0 && k > n + 1 && (pfds[n + 1].revents & POLLIN))
		peer_read(p);
	outbox_tick(ob, clock_mono_ms());
	sk->ops->dispatch(sk->impl, pfds, n, clock_mono_ms());
}

static int fill(struct outbox *ob, long minutes, int64_t t0)
{
	for (long i = 0; i < minutes; i++) {
		int64_t start = t0 + i * 60000;
		struct record poll = { .ts_ms = start + 30000, .type = REC_POLL };
		struct record agg = { .ts_ms = start, .type = REC_AGGREGATE,
				      .u.aggregate = minute_agg(start, (int)i) };

		snprintf(poll.u.poll.outlet, sizeof(poll.u.poll.outlet), "WS-001");
		snprintf(poll.u.poll.sensor, sizeof(poll.u.poll.sensor), "probe1");
		poll.u.poll.n = NP;
		for (int k = 0; k < NP; k++)
			poll.u.poll.values[k] = (struct rec_value){ .param = (uint8_t)params[k],
				.v = base[k] + (i % 97) * 0.01, .quality = Q_OK };
		if (outbox_append(ob, &poll, clock_mono_ms(), NULL) < 0 ||
		    outbox_append(ob, &agg, clock_mono_ms(), NULL) < 0)
			return -1;
	}
	outbox_flush(ob, clock_mono_ms());
	return 0;
}

static int bench_drain(long minutes, bool ack)
{
	char dir[] = "/tmp/outfall-hj212-bench.XXXXXX", cmd[128];
	struct outbox_opts o;
	struct outbox *ob = NULL;
	struct peer p;
	struct cfg_outlet outlet = { .id = "WS-001" };
	struct cfg_hj212 h = { .name = "city", .host = "127.0.0.1", .outlet = 0, .mn = MN,
			       .pw = "123456", .st = 32, .version = 2017, .ack = ack,
			       .timeout_s = 10, .retries = 3, .rtd_interval_s = 60,
			       .min_interval_min = 1, .max_rtd_age_s = 0,
			       .send = HJS_RTD | HJS_MIN };
	struct config cfg = { .outlets = &outlet, .n_outlets = 1, .hj212 = &h, .n_hj212 = 1 };
	struct sink sk;
	long want = 2 * minutes - 2; /* the last 2011 waits for a later reading */

	if (!mkdtemp(dir) || (h.port = peer_open(&p)) < 0)
		return 1;
	cfg.data_dir = dir;
	outbox_opts_default(&o);
	o.max_backlog_bytes = (size_t)1 << 30;
	o.sink_names[0] = "city";
	if (outbox_open(dir, &o, 1, clock_mono_ms(), &ob) < 0 ||
	    fill(ob, minutes, clock_wall_ms() - minutes * 60000LL - 60000) < 0 ||
	    sink_hj212_new(&cfg, 0, ob, 0, clock_wall_ms(), &sk) < 0)
		return 1;
	int64_t t0 = clock_mono_ms();
	while (p.data < want && clock_mono_ms() - t0 < 600000)
		step(&sk, ob, &p);
	double s = secs_since(t0);
	printf("hj212: drain, ack = %s: %ld minutes of backlog (%ld packets 2011 + 2051, 7 "
	       "parameters) in %.2f s: %.0f packets/s%s\n", ack ? "true " : "false", minutes,
	       p.data, s, p.data / s, p.data < want ? " (TIMED OUT)" : "");
	sk.ops->free(sk.impl);
	outbox_close(ob);
	if (p.fd >= 0)
		close(p.fd);
	close(p.lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && p.data >= want ? 0 : 1;
}

int main(int argc, char **argv)
{
	long minutes = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;

	if (minutes < 2) {
		fprintf(stderr, "usage: hj212_bench [MINUTES]  (at least 2)\n");
		return 64;
	}
	setenv("TZ", "Asia/Shanghai", 1);
	log_set_level(LOG_WARNING);
	bench_encode(200000);
	return bench_drain(minutes, true) | bench_drain(minutes, false);
}
