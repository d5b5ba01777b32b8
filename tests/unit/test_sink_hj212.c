/*
 * test_sink_hj212.c - the HJ 212 uplink against a platform played by the
 * test on a loopback socket: 2081 first, a 2011 acked in the outbox only
 * when its 9014 came, the same QN resent after timeout_s; and the table of
 * what a platform may send (truncated, bad CRC, bad length, lower-case
 * CRC, wrong PW or MN, unknown CN, huge CP, values out of range, 1011,
 * 1012, 1061-1064 kept across a restart) with the reply each must get -
 * never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "base/clock.h"
#include "config/config.h"
#include "encode/encode.h"
#include "outbox/outbox.h"
#include "sinks/hj212/uplink.h"

#define MN "010000A8900016F000169DC0"

struct env {
	char dir[200];
	int lfd, peer;           /* the platform's listening and accepted sockets */
	int port;
	int accepts;             /* connections the platform took */
	struct outbox *ob;
	struct cfg_outlet outlet;
	struct cfg_hj212 h;
	struct config cfg;
	struct sink sk;
	char in[65536];          /* what the platform received, not yet taken */
	size_t in_len;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	const char *t = getenv("TMPDIR");

	setenv("TZ", "Asia/Shanghai", 1);
	snprintf(e->dir, sizeof(e->dir), "%s/hj212-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(e->dir))
		return -1;
	e->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->lfd < 0 || bind(e->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(e->lfd, 2) < 0 || getsockname(e->lfd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	e->port = ntohs(a.sin_port);
	e->peer = -1;
	e->outlet = (struct cfg_outlet){ .id = "WS-001" };
	e->h = (struct cfg_hj212){ .name = "city", .host = "127.0.0.1", .port = e->port,
				   .outlet = 0, .mn = MN, .pw = "123456", .st = 32, .version = 2017,
				   .ack = true, .timeout_s = 1, .retries = 1, .rtd_interval_s = 30,
				   .min_interval_min = 1, .send = HJS_ALL };
	e->cfg = (struct config){ .data_dir = e->dir, .outlets = &e->outlet, .n_outlets = 1,
				  .hj212 = &e->h, .n_hj212 = 1 };
	if (outbox_open(e->dir, NULL, 1, clock_mono_ms(), &e->ob) < 0)
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	if (e->sk.ops)
		e->sk.ops->free(e->sk.impl);
	outbox_close(e->ob);
	if (e->peer >= 0)
		close(e->peer);
	close(e->lfd);
	test_rm_tree(e->dir);
	free(e);
	return 0;
}

/* Runs the loop for ms: the sink's fds and timers, the platform's reads. */
static void run(struct env *e, int ms)
{
	int64_t end = clock_mono_ms() + ms;

	while (clock_mono_ms() < end) {
		struct pollfd p[SINK_MAX_FDS + 2];
		int n = e->sk.ops->pollfds(e->sk.impl, p, SINK_MAX_FDS), k = n;
		int64_t now = clock_mono_ms(), next = e->sk.ops->next_ms(e->sk.impl, now);
		int wait = next <= now ? 0 : next - now > 20 ? 20 : (int)(next - now);

		p[k++] = (struct pollfd){ .fd = e->lfd, .events = POLLIN };
		if (e->peer >= 0)
			p[k++] = (struct pollfd){ .fd = e->peer, .events = POLLIN };
		assert_true(poll(p, (nfds_t)k, wait) >= 0);
		if (k > n + 1 && (p[n + 1].revents & (POLLIN | POLLHUP))) {
			ssize_t r = recv(e->peer, e->in + e->in_len, sizeof(e->in) - e->in_len,
					 MSG_DONTWAIT);

			if (r > 0)
				e->in_len += (size_t)r;
		}
		if (p[n].revents & POLLIN) { /* a (re)connect: the old one is gone */
			if (e->peer >= 0)
				close(e->peer);
			e->peer = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
			e->accepts++;
		}
		outbox_tick(e->ob, clock_mono_ms());
		e->sk.ops->dispatch(e->sk.impl, p, n, clock_mono_ms());
	}
}

/* The next frame the platform received, parsed into m (0), or -EAGAIN. */
static int take(struct env *e, struct hj212_msg *m, char *keep, size_t cap)
{
	size_t used = 0;
	int rc;

	if (!e->in_len)
		return -EAGAIN;
	memcpy(keep, e->in, e->in_len < cap ? e->in_len : cap);
	rc = hj212_parse(keep, e->in_len < cap ? e->in_len : cap, m, &used, NULL);
	if (rc == -EAGAIN)
		return rc;
	memmove(e->in, e->in + used, e->in_len - used);
	e->in_len -= used;
	return rc;
}

static void send_seg(struct env *e, const char *seg)
{
	char f[HJ212_FRAME_MAX + 1];
	int n = hj212_frame(f, sizeof(f), seg, strlen(seg));

	assert_true(n > 0);
	assert_int_equal(send(e->peer, f, (size_t)n, 0), n);
}

static void make(struct env *e)
{
	assert_int_equal(sink_hj212_new(&e->cfg, 0, e->ob, 0, 1796000000000, &e->sk), 0);
}

/* Connects and answers 2081. */
static void connected(struct env *e)
{
	struct hj212_msg m;
	char keep[HJ212_FRAME_MAX * 2], seg[160];

	make(e);
	run(e, 200);
	assert_true(e->peer >= 0);
	assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
	assert_int_equal(m.cn, 2081);
	assert_int_equal(m.flag, 5);
	snprintf(seg, sizeof(seg), "QN=%s;ST=91;CN=9014;PW=123456;MN=%s;Flag=4;CP=&&&&", m.qn, MN);
	send_seg(e, seg);
	run(e, 50);
}

static void append_poll(struct env *e, int64_t ts, double cod)
{
	struct record r = { .ts_ms = ts, .type = REC_POLL };

	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 2;
	r.u.poll.values[0] = (struct rec_value){ .v = cod, .param = P_COD, .quality = Q_OK };
	r.u.poll.values[1] = (struct rec_value){ .v = 18.0, .param = P_FLOW, .quality = Q_OK };
	assert_int_equal(outbox_append(e->ob, &r, clock_mono_ms(), NULL), 0);
}

/* A 2011 goes out once a reading past its instant is seen; it is acked in
 * the outbox only on its 9014; without one it is sent again, same QN. */
static void test_rtd_acked_on_9014(void **state)
{
	struct env *e = *state;
	struct hj212_msg m, again;
	char keep[HJ212_FRAME_MAX * 2], seg[160];
	int64_t t0 = 1796000010000; /* 2026-12-01T...:10 */

	connected(e);
	append_poll(e, t0, 231.5);
	append_poll(e, t0 + 30000, 232.0); /* past the 30 s instant: the 2011 goes */
	outbox_flush(e->ob, clock_mono_ms());
	run(e, 200);
	assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
	assert_int_equal(m.cn, 2011);
	assert_non_null(strstr(m.cp, "w01018-Rtd=231.5,w01018-Flag=N"));
	assert_non_null(strstr(m.cp, "w00000-Rtd=5.00,w00000-Flag=N")); /* 18 m3/h in L/s */
	assert_int_equal(outbox_unacked(e->ob, 0), 2);
	run(e, 1200); /* timeout_s 1: sent again */
	assert_int_equal(take(e, &again, keep, sizeof(keep)), 0);
	assert_string_equal(again.qn, m.qn);
	snprintf(seg, sizeof(seg), "QN=%s;ST=91;CN=9014;PW=123456;MN=%s;Flag=4;CP=&&&&", m.qn, MN);
	send_seg(e, seg);
	run(e, 100);
	assert_int_equal(outbox_unacked(e->ob, 0), 1); /* the second reading waits */
}

/* Events with no HJ 212 message (a reload, a maintenance event) are acked
 * in order without sending anything, and the readings behind them go. */
static void test_events_acked_without_a_message(void **state)
{
	struct env *e = *state;
	struct record ev = { .ts_ms = 1796000005000, .type = REC_RELOAD };
	struct hj212_msg m;
	char keep[HJ212_FRAME_MAX * 2];
	int64_t t0 = 1796000010000;

	connected(e);
	ev.u.reload.outcome = RLD_APPLIED;
	ev.u.reload.changes = 1;
	snprintf(ev.u.reload.summary, sizeof(ev.u.reload.summary), "sensor probe1: interval "
		 "10 -> 5 s");
	assert_int_equal(outbox_append(e->ob, &ev, clock_mono_ms(), NULL), 0);
	ev = (struct record){ .ts_ms = 1796000006000, .type = REC_MAINT };
	snprintf(ev.u.maint.sensor, sizeof(ev.u.maint.sensor), "probe1");
	assert_int_equal(outbox_append(e->ob, &ev, clock_mono_ms(), NULL), 0);
	outbox_flush(e->ob, clock_mono_ms());
	run(e, 200);
	assert_int_equal(e->in_len, 0);
	assert_int_equal(outbox_unacked(e->ob, 0), 0);
	append_poll(e, t0, 231.5);
	append_poll(e, t0 + 30000, 232.0);
	outbox_flush(e->ob, clock_mono_ms());
	run(e, 200);
	assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
	assert_int_equal(m.cn, 2011);
}

/* No 9014 after retries: the connection is dropped and made again, and
 * the reading goes out again from the cursor. */
static void test_retries_then_reconnect(void **state)
{
	struct env *e = *state;
	struct hj212_msg m;
	char keep[HJ212_FRAME_MAX * 2], seg[160];
	int old;

	connected(e);
	sink_hj212_set_backoff_ms(&e->sk, 50, 50);
	append_poll(e, 1796000010000, 200.0);
	append_poll(e, 1796000040000, 201.0);
	outbox_flush(e->ob, clock_mono_ms());
	old = e->accepts;
	run(e, 2600); /* sent, resent once (retries 1), given up at 2 s */
	assert_int_equal(e->accepts, old + 1);
	while (take(e, &m, keep, sizeof(keep)) == 0 && m.cn != 2081)
		;
	assert_int_equal(m.cn, 2081);
	snprintf(seg, sizeof(seg), "QN=%s;ST=91;CN=9014;PW=123456;MN=%s;Flag=4;CP=&&&&", m.qn, MN);
	send_seg(e, seg);
	run(e, 200);
	assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
	assert_int_equal(m.cn, 2011);
	assert_non_null(strstr(m.cp, "w01018-Rtd=200.0"));
}

struct req_case {
	const char *bytes;  /* sent raw when it starts with "##", else framed */
	int cn[3];          /* the CNs the platform gets back, in order (0 ends) */
	const char *has[3]; /* and a piece of each one's CP */
	uint64_t refused, bad_frames;
};

#define H "QN=20261201120000000;ST=32;PW=123456;MN=" MN ";Flag=5;"

static const struct req_case req_cases[] = {
	/* truncated: nothing yet */
	{ "##0101QN=2026", { 0 }, { NULL }, 0, 0 },
	/* bad CRC: no reply (6.3) */
	{ "##0070QN=20261201120000000;ST=32;CN=1061;PW=123456;MN=" MN ";Flag=5;CP=&&&&0000\r\n",
	  { 0 }, { NULL }, 0, 1 },
	/* bad length */
	{ "##9999xx\r\n", { 0 }, { NULL }, 0, 1 },
	{ "QN=20261201120000000;ST=32;CN=1061;PW=654321;MN=" MN ";Flag=5;CP=&&&&",
	  { 9011 }, { "QnRtn=3" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=1061;PW=123456;MN=010000A8900016F000169DC1;Flag=5;CP=&&&&",
	  { 9011 }, { "QnRtn=4" }, 1, 0 },
	{ "QN=20261201120000000;ST=31;CN=1061;PW=123456;MN=" MN ";Flag=5;CP=&&&&",
	  { 9011 }, { "QnRtn=5" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=3020;PW=123456;MN=" MN ";Flag=5;CP=&&&&",
	  { 9011 }, { "QnRtn=8" }, 1, 0 },
	{ "QN=2026120112000000x;ST=32;CN=1061;PW=123456;MN=" MN ";Flag=5;CP=&&&&",
	  { 0 }, { NULL }, 0, 1 },
	{ "QN=20261201120000000;ST=32;CN=1061;PW=123456;MN=" MN ";Flag=5;CP=&&&&",
	  { 9011, 1061, 9012 }, { "QnRtn=1", "RtdInterval=30", "ExeRtn=1" }, 0, 0 },
	{ "QN=20261201120000000;ST=32;CN=1063;PW=123456;MN=" MN ";Flag=5;CP=&&&&",
	  { 9011, 1063, 9012 }, { "QnRtn=1", "MinInterval=1", "ExeRtn=1" }, 0, 0 },
	{ "QN=20261201120000000;ST=32;CN=1062;PW=123456;MN=" MN ";Flag=5;CP=&&RtdInterval=10&&",
	  { 9011 }, { "QnRtn=2" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=1064;PW=123456;MN=" MN ";Flag=5;CP=&&MinInterval=7&&",
	  { 9011 }, { "QnRtn=2" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=1000;PW=123456;MN=" MN ";Flag=5;CP=&&OverTime=0;ReCount=3&&",
	  { 9011 }, { "QnRtn=2" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=1011;PW=123456;MN=" MN ";Flag=5;CP=&&PolId=w01018&&",
	  { 9011, 1011, 9012 }, { "QnRtn=1", "PolId=w01018;SystemTime=20", "ExeRtn=1" }, 0, 0 },
	{ "QN=20261201120000000;ST=32;CN=1012;PW=123456;MN=" MN ";Flag=5;CP=&&SystemTime=20261201120000&&",
	  { 9011, 9012 }, { "QnRtn=1", "ExeRtn=3" }, 0, 0 },
	{ "QN=20261201120000000;ST=32;CN=2061;PW=123456;MN=" MN ";Flag=5;CP=&&BeginTime=2026&&",
	  { 9011 }, { "QnRtn=2" }, 1, 0 },
	{ "QN=20261201120000000;ST=32;CN=2061;PW=123456;MN=" MN ";Flag=5;"
	  "CP=&&BeginTime=20261201080000;EndTime=20261201090000&&",
	  { 9011 }, { "QnRtn=2" }, 1, 0 }, /* no history kept here */
	/* huge CP: a declared length past 1024 */
	{ "##2000QN=20261201120000000;", { 0 }, { NULL }, 0, 1 },
	{ "QN=20261201120000000;ST=32;CN=1064;PW=123456;MN=" MN ";Flag=5;CP=&&MinInterval=5&&",
	  { 9011, 9012 }, { "QnRtn=1", "ExeRtn=1" }, 0, 0 },
};

/* The lower-case CRC of a frame is accepted, as the standard's "hex" allows. */
static void send_lower(struct env *e, const char *seg)
{
	char f[HJ212_FRAME_MAX + 1];
	int n = hj212_frame(f, sizeof(f), seg, strlen(seg));

	for (int i = n - 6; i < n - 2; i++)
		if (f[i] >= 'A' && f[i] <= 'F')
			f[i] = (char)(f[i] + 32);
	assert_int_equal(send(e->peer, f, (size_t)n, 0), n);
}

static void test_request_table(void **state)
{
	struct env *e = *state;
	struct sink_hj212_counts c0, c1;
	char keep[HJ212_FRAME_MAX * 4];

	connected(e);
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *rc = &req_cases[i];
		struct hj212_msg m;

		sink_hj212_counts(&e->sk, &c0);
		if (strncmp(rc->bytes, "##", 2) == 0)
			assert_int_equal(send(e->peer, rc->bytes, strlen(rc->bytes), 0),
					 (ssize_t)strlen(rc->bytes));
		else if (i % 2)
			send_lower(e, rc->bytes);
		else
			send_seg(e, rc->bytes);
		if (i == 0) /* complete the truncated one with garbage: resynced past */
			assert_int_equal(send(e->peer, "zz\r\n", 4, 0), 4);
		run(e, 100);
		for (int k = 0; k < 3 && rc->cn[k]; k++) {
			if (take(e, &m, keep, sizeof(keep)) != 0)
				fail_msg("case %zu: reply %d missing", i, rc->cn[k]);
			if (m.cn != rc->cn[k] || !strstr(m.cp, rc->has[k]))
				fail_msg("case %zu: got CN %d CP %.*s, want %d with %s", i, m.cn,
					 (int)m.cp_len, m.cp, rc->cn[k], rc->has[k]);
			if (m.cn == 9011 || m.cn == 9012)
				assert_int_equal(m.st, 91);
			assert_string_equal(m.qn, "20261201120000000");
		}
		if (e->in_len)
			fail_msg("case %zu: %zu bytes more than expected", i, e->in_len);
		sink_hj212_counts(&e->sk, &c1);
		assert_int_equal(c1.refused - c0.refused, rc->refused);
		if (rc->bad_frames)
			assert_true(c1.bad_frames > c0.bad_frames);
	}
	/* 1064 was kept: a new sink (a restart) answers 1063 with it */
	e->sk.ops->free(e->sk.impl);
	e->sk.ops = NULL;
	close(e->peer);
	e->peer = -1;
	e->in_len = 0;
	connected(e);
	send_seg(e, "QN=20261201120000000;ST=32;CN=1063;PW=123456;MN=" MN ";Flag=5;CP=&&&&");
	run(e, 100);
	{
		struct hj212_msg m;

		assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
		assert_int_equal(take(e, &m, keep, sizeof(keep)), 0);
		assert_int_equal(m.cn, 1063);
		assert_non_null(strstr(m.cp, "MinInterval=5"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rtd_acked_on_9014, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_acked_without_a_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_then_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_table, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
