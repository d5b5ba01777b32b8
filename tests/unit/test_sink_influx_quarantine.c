/*
 * test_sink_influx_quarantine.c - the InfluxDB sink when the server refuses
 * points for good, against the peer of influx_peer.h answering 400 (or 422)
 * to any body holding a marker: the batch is split down to the bad records,
 * the rest delivered once and in order (asserted on what the peer accepted),
 * the bad ones written to the dead-letter file under their comment line,
 * counted and acked; a split survives timeouts and 5xx; the file rotates at
 * its cap and, when it cannot be written, nothing is acked. Also acks across
 * the outbox's two streams (alerts and telemetry in one batch, checked by
 * reopening the outbox) and the lines of self-metrics and aggregates.
 */
#include "influx_peer.h"

#include <math.h>

#define DL "deadletter-influx.lp"
#define DL_OLD "deadletter-influx.lp.1"
#define BIG (64 * 1024)

/* A server error longer than the 200 bytes the dead-letter header keeps,
 * with the quotes and a backslash that the header must not carry. */
#define ERR_HEAD "{\"error\":\"partial write: unable to parse \\points: " \
	"invalid field format (the rest of this message is padding so that it runs past the two hundred bytes " \
	"that the dead-letter comment keeps of a server's error text, which is plenty)"
#define ERR_BODY ERR_HEAD " dropped=1\"}"

static const struct peer_script poison_400 = {
	.marker = "poison", .body = ERR_BODY,
};

/* Checks the dead-letter entry at p: "# <RFC 3339 time> HTTP <status>: <the
 * first 200 bytes of ERR_BODY, '"' as '\'' and '\\' as '/', trailing spaces
 * cut>", then lines. Returns what follows it. */
static const char *expect_entry(const char *p, int status, const char *lines)
{
	char http[32], err[201];
	size_t n = (size_t)snprintf(http, sizeof(http), " HTTP %d: ", status);
	size_t len = 200;

	for (size_t i = 0; i < 200; i++)
		err[i] = ERR_BODY[i] == '"' ? '\'' : ERR_BODY[i] == '\\' ? '/' : ERR_BODY[i];
	while (err[len - 1] == ' ')
		len--;
	err[len] = '\0';
	assert_non_null(strchr(err, '/'));
	assert_memory_equal(p, "# ", 2);
	p += 2;
	/* 2026-11-29T08:00:17.000Z */
	assert_int_equal(p[4], '-');
	assert_int_equal(p[10], 'T');
	assert_int_equal(p[19], '.');
	assert_int_equal(p[23], 'Z');
	p += 24;
	assert_memory_equal(p, http, n);
	p += n;
	assert_true(strlen(ERR_BODY) > 200);
	assert_memory_equal(p, err, len);
	p += len;
	assert_int_equal(*p++, '\n');
	assert_memory_equal(p, lines, strlen(lines));
	return p + strlen(lines);
}

/* Appends n one-value polls; those whose seq is in bad[] come from sensor
 * "poison", the others from "probe 1". want gets the lines of the good
 * ones, in order; an empty poll (values 0) where seq == empty. */
static void append_mixed(struct fx *f, int n, const int *bad, int n_bad, int empty, char *want,
			 size_t cap)
{
	want[0] = '\0';
	for (int i = 0; i < n; i++) {
		int seq = f->appended + 1;
		bool poisoned = false;
		struct record r;

		for (int k = 0; k < n_bad; k++)
			poisoned |= bad[k] == seq;
		r = fx_poll(f, poisoned ? "poison" : "probe 1", seq == empty ? 0 : 1);
		fx_put(f, &r);
		if (!poisoned && seq != empty)
			expected_line(want, cap, "probe\\ 1", seq);
	}
}

static void test_poisoned_point(void **state)
{
	static const int bad[] = { 4 };
	struct fx *f = fx_new(&poison_400, 1);
	char *want = malloc(BIG), *got = malloc(BIG), line[512] = "";
	const char *p;

	(void)state;
	fx_open(f);
	append_mixed(f, 10, bad, 1, 0, want, BIG);
	fx_drive(f, fx_acked, 0, 3000);
	fx_delivered(f, got, BIG);
	assert_string_equal(got, want); /* the 9 good ones, once each, in order */
	/* [1-10] [1-5] refused; [1-2] [3] taken; [4-5] must hold it: [4]
	 * refused alone, quarantined; [5] [6-10] taken */
	assert_int_equal(peer_count(f->peer), 7);
	assert_int_equal(fx_req(f, 4)->status, 400);
	assert_true(fx_read_file(f->dir, DL, got, BIG) > 0);
	expected_line(line, sizeof(line), "poison", 4);
	p = expect_entry(got, 400, line);
	assert_string_equal(p, "");
	assert_int_equal(fx_stats(f).quarantined, 1);
	assert_int_equal(fx_stats(f).sent, 9);
	assert_int_equal(outbox_unacked(f->ob, 0), 0);
	assert_int_equal(fx_read_file(f->dir, DL_OLD, got, BIG), -1);
	free(want);
	free(got);
	fx_free(f);
}

/* Two bad records in one batch, 422 this time, behind a poll without
 * values (nothing to send, still acked in its turn). */
static void test_two_poisoned(void **state)
{
	static const struct peer_script sc = {
		.marker = "poison", .reject = 422, .body = ERR_BODY,
	};
	static const int bad[] = { 3, 8 };
	struct fx *f = fx_new(&sc, 2);
	char *want = malloc(BIG), *got = malloc(BIG), l3[512] = "", l8[512] = "";
	const char *p;

	(void)state;
	fx_secret(f, "tok\n");
	f->cfg.token_file = f->secret_path;
	fx_open(f);
	append_mixed(f, 10, bad, 2, 1, want, BIG);
	fx_drive(f, fx_acked, 0, 3000);
	fx_delivered(f, got, BIG);
	assert_string_equal(got, want);
	assert_true(peer_count(f->peer) <= 12);
	assert_true(fx_read_file(f->dir, DL, got, BIG) > 0);
	expected_line(l3, sizeof(l3), "poison", 3);
	expected_line(l8, sizeof(l8), "poison", 8);
	p = expect_entry(got, 422, l3);
	p = expect_entry(p, 422, l8);
	assert_string_equal(p, "");
	assert_int_equal(fx_stats(f).quarantined, 2);
	assert_int_equal(fx_stats(f).sent, 8);
	assert_int_equal(outbox_unacked(f->ob, 0), 0);
	free(want);
	free(got);
	fx_free(f);
}

/* A record's lines are one unit: one bad line takes its whole record to the
 * dead-letter file, and none of its lines is delivered. */
static void test_record_is_one_unit(void **state)
{
	static const struct peer_script sc = { .marker = "parameter=tp", .body = ERR_BODY };
	struct fx *f = fx_new(&sc, 1);
	char want[4096] = "", got[4096], bad[1024] = "";

	(void)state;
	fx_open(f);
	for (int i = 1; i <= 4; i++) {
		struct record r = fx_poll(f, "p", 2);
		char *dst = i == 3 ? bad : want;
		size_t len = strlen(dst);

		r.u.poll.values[1].param = i == 3 ? P_TP : P_PH;
		fx_put(f, &r);
		snprintf(dst + len, sizeof(want) - len,
			 "outfall_reading,gateway=gw-1,outlet=WS-001,sensor=p,parameter=cod"
			 " value=100.5,q=\"ok\",seq=%di %lld\n"
			 "outfall_reading,gateway=gw-1,outlet=WS-001,sensor=p,parameter=%s"
			 " value=101.5,q=\"ok\",seq=%di %lld\n",
			 i, TS0 + i, i == 3 ? "tp" : "ph", i, TS0 + i);
	}
	fx_drive(f, fx_acked, 0, 3000);
	fx_delivered(f, got, sizeof(got));
	assert_string_equal(got, want);
	assert_true(fx_read_file(f->dir, DL, got, sizeof(got)) > 0);
	assert_string_equal(expect_entry(got, 400, bad), "");
	assert_int_equal(fx_stats(f).quarantined, 1);
	assert_int_equal(fx_stats(f).sent, 3);
	fx_free(f);
}

/* Mid-split the server goes silent (the request times out), then answers
 * 503: the split resumes with the same range, nothing is lost or sent
 * twice, and nothing is acked while the server is away. */
static void test_network_error_mid_split(void **state)
{
	static const struct peer_script sc = {
		.status = { PEER_RULE, PEER_SILENT, 503 }, .n = 3, .marker = "poison",
		.body = ERR_BODY,
	};
	static const int bad[] = { 7 };
	struct fx *f = fx_new(&sc, 1);
	char *want = malloc(BIG), *got = malloc(BIG), line[512] = "";

	(void)state;
	f->cfg.timeout_ms = 300;
	fx_open(f);
	append_mixed(f, 10, bad, 1, 0, want, BIG);
	fx_drive(f, fx_errors, 3, 3000); /* the 400, the timeout, the 503 */
	assert_int_equal(outbox_unacked(f->ob, 0), 10);
	fx_drive(f, fx_acked, 0, 3000);
	assert_int_equal(fx_req(f, 0)->status, 400);
	assert_int_equal(fx_req(f, 1)->status, PEER_SILENT);
	assert_int_equal(fx_req(f, 2)->status, 503);
	assert_string_equal(fx_req(f, 1)->body, fx_req(f, 2)->body);
	assert_string_equal(fx_req(f, 2)->body, fx_req(f, 3)->body);
	assert_true(fx_req(f, 1)->body_len < fx_req(f, 0)->body_len); /* a half */
	fx_delivered(f, got, BIG);
	assert_string_equal(got, want);
	assert_true(fx_read_file(f->dir, DL, got, BIG) > 0);
	expected_line(line, sizeof(line), "poison", 7);
	assert_string_equal(expect_entry(got, 400, line), "");
	assert_int_equal(fx_stats(f).quarantined, 1);
	assert_int_equal(fx_stats(f).sent, 9);
	free(want);
	free(got);
	fx_free(f);
}

static struct record mk_alert(struct fx *f, const char *outlet)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_ALERT;
	r.ts_ms = TS0 + f->appended + 1;
	snprintf(r.u.alert.id, sizeof(r.u.alert.id), "gw-1/%s/cod/instant/%lld", outlet,
		 (long long)r.ts_ms);
	r.u.alert.kind = AK_LIMIT_EXCEEDED;
	r.u.alert.param = P_COD;
	snprintf(r.u.alert.outlet, sizeof(r.u.alert.outlet), "%s", outlet);
	r.u.alert.limit = 500.0;
	r.u.alert.value = 612.5;
	r.u.alert.peak = 612.5;
	r.u.alert.since_ms = r.ts_ms;
	return r;
}

/* Reopens the outbox (cursors persisted on close, read back on open) and
 * checks that the sink has nothing left to receive. */
static void expect_nothing_after_reopen(struct fx *f)
{
	fx_close_sink(f);
	outbox_close(f->ob);
	fx_open_outbox(f);
	assert_int_equal(outbox_unacked(f->ob, 0), 0);
	assert_int_equal(outbox_unsent(f->ob, 0), 0);
	assert_null(outbox_next(f->ob, 0));
}

/* An alert behind older telemetry leads the batch; after the 204 both
 * streams are acked, so a reopened outbox re-delivers nothing. */
static void test_alert_and_telemetry_acked(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct record a;
	const char *body;
	int n;

	(void)state;
	f->cfg.flush_ms = 60000; /* an alert does not wait for it */
	fx_open(f);
	fx_append(f, 2, 1);
	a = mk_alert(f, "WS-001");
	fx_put(f, &a); /* seq 3 */
	fx_append(f, 2, 1);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	body = fx_req(f, 0)->body;
	assert_true(strncmp(body, "outfall_alert,gateway=gw-1,outlet=WS-001,", 41) == 0);
	assert_non_null(strstr(body, "seq=3i 1764403217003\n"));
	for (n = 0; *body; body++)
		n += *body == '\n';
	assert_int_equal(n, 5);
	assert_int_equal(fx_stats(f).sent, 5);
	expect_nothing_after_reopen(f);
	fx_open(f); /* a new sink on the reopened outbox sends nothing */
	for (int i = 0; i < 5; i++)
		fx_pass(f);
	assert_int_equal(peer_count(f->peer), 1);
	fx_free(f);
}

/* A refused alert and a refused poll in one batch: each quarantined and
 * acked on its own stream; the reopened outbox re-delivers nothing. */
static void test_alert_quarantined_in_mixed_batch(void **state)
{
	static const int bad[] = { 5 };
	struct fx *f = fx_new(&poison_400, 1);
	char want[4096], got[4096], head[4096], la[1024] = "", l5[512] = "";
	const char *p;
	struct record a;

	(void)state;
	fx_open(f);
	append_mixed(f, 2, bad, 1, 0, want, sizeof(want));
	a = mk_alert(f, "poison");
	fx_put(f, &a); /* seq 3 */
	memcpy(head, want, sizeof(want));
	append_mixed(f, 2, bad, 1, 0, want, sizeof(want)); /* seq 4, 5 */
	{ /* head += want, bounded */
		size_t used = strlen(head);

		snprintf(head + used, sizeof(head) - used, "%s", want);
	}
	fx_drive(f, fx_acked, 0, 3000);
	assert_true(strncmp(fx_req(f, 0)->body, "outfall_alert,", 14) == 0);
	fx_delivered(f, got, sizeof(got));
	assert_string_equal(got, head);
	assert_true(fx_read_file(f->dir, DL, got, sizeof(got)) > 0);
	snprintf(la, sizeof(la),
		 "outfall_alert,gateway=gw-1,outlet=poison,parameter=cod,kind=limit_exceeded,"
		 "rule=instant state=\"raised\",value=612.5,limit=500,peak=612.5,ratio=1.23,"
		 "permit=\"\",holder=\"\",since=\"2025-11-29T08:00:17.003Z\",sensor_health=\"ok\","
		 "sensor_unhealthy=false,id=\"gw-1/poison/cod/instant/%lld\",seq=3i %lld\n",
		 TS0 + 3, TS0 + 3);
	expected_line(l5, sizeof(l5), "poison", 5);
	p = expect_entry(got, 400, la);
	assert_string_equal(expect_entry(p, 400, l5), "");
	assert_int_equal(fx_stats(f).quarantined, 2);
	assert_int_equal(fx_stats(f).sent, 3);
	expect_nothing_after_reopen(f);
	fx_free(f);
}

static void test_metrics_and_aggregates(void **state)
{
	struct fx *f = fx_new(NULL, 1);
	struct record m, g;

	(void)state;
	fx_open(f);
	memset(&m, 0, sizeof(m));
	m.type = REC_METRICS;
	m.ts_ms = TS0;
	m.u.metrics = (struct rec_metrics){ .polls = 360, .errors = 1, .crc_errors = 2,
					    .n_sinks = 1 };
	m.u.metrics.sinks[0] = (struct rec_sink_metrics){ .name = "influx", .queue_depth = 4,
							  .oldest_unsent_s = 2, .sent = 356 };
	fx_put(f, &m);
	memset(&g, 0, sizeof(g));
	g.type = REC_AGGREGATE;
	g.ts_ms = 1764403200000LL;
	snprintf(g.u.aggregate.outlet, sizeof(g.u.aggregate.outlet), "WS-001");
	g.u.aggregate.period = AGG_MINUTE;
	g.u.aggregate.end_ms = g.ts_ms + 60000;
	g.u.aggregate.n = 2;
	g.u.aggregate.params[0] = (struct rec_agg_param){ .param = P_COD, .count = 6, .avg = 410.5,
							  .min = 400, .max = 420.25, .cou = NAN };
	g.u.aggregate.params[1] = (struct rec_agg_param){ .param = P_FLOW, .count = 6, .avg = 12.5,
							  .min = 12, .max = 13, .cou = 0.208 };
	fx_put(f, &g);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 1);
	assert_string_equal(fx_req(f, 0)->body,
		"outfall_gateway,gateway=gw-1 polls=360i,errors=1i,timeouts=0i,crc_errors=2i,"
		"exceptions=0i,outbox_corrupt=0i,outbox_io_errors=0i,late=0i 1764403217000\n"
		"outfall_gateway,gateway=gw-1,sink=influx queue_depth=4i,oldest_unsent_s=2i,"
		"sent=356i,retried=0i,dropped=0i,quarantined=0i 1764403217000\n"
		"outfall_aggregate,gateway=gw-1,outlet=WS-001,parameter=cod,period=minute"
		" avg=410.5,min=400,max=420.25,count=6i 1764403200000\n"
		"outfall_aggregate,gateway=gw-1,outlet=WS-001,parameter=flow,period=minute"
		" avg=12.5,min=12,max=13,cou=0.208,count=6i 1764403200000\n");
	assert_int_equal(fx_stats(f).sent, 2);
	fx_free(f);
}

/* A full dead-letter file becomes .1 (replacing the older one) before the
 * entry that would take it past 16 MiB; the next entries go to a new file. */
static void test_deadletter_rotation(void **state)
{
	static const int bad[] = { 1, 2 };
	struct fx *f = fx_new(&poison_400, 1);
	char path[512], want[1024], got[4096], l1[512] = "", l2[512] = "";
	struct stat sb;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", f->dir, DL_OLD);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "older\n", 6), 6);
	close(fd);
	snprintf(path, sizeof(path), "%s/%s", f->dir, DL);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0); /* sparse: costs no disk */
	close(fd);
	fx_open(f);
	append_mixed(f, 1, bad, 2, 0, want, sizeof(want));
	fx_drive(f, fx_acked, 0, 2000);
	append_mixed(f, 1, bad, 2, 0, want, sizeof(want));
	fx_drive(f, fx_acked, 0, 2000);
	snprintf(path, sizeof(path), "%s/%s", f->dir, DL_OLD);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 16 << 20);
	assert_true(fx_read_file(f->dir, DL, got, sizeof(got)) > 0);
	expected_line(l1, sizeof(l1), "poison", 1);
	expected_line(l2, sizeof(l2), "poison", 2);
	assert_string_equal(expect_entry(expect_entry(got, 400, l1), 400, l2), "");
	assert_int_equal(fx_stats(f).quarantined, 2);
	fx_free(f);
}

/* When the dead-letter file cannot be written the refused record is not
 * acked (it would be lost); it is retried and quarantined once it can be. */
static void test_deadletter_unwritable(void **state)
{
	static const int bad[] = { 1 };
	struct fx *f = fx_new(&poison_400, 1);
	char dir[300], want[1024], got[4096], line[512] = "";

	(void)state;
	snprintf(dir, sizeof(dir), "%s/later", f->dir);
	f->data_dir = dir;
	fx_open(f);
	append_mixed(f, 1, bad, 1, 0, want, sizeof(want));
	fx_drive(f, fx_errors, 3, 3000);
	assert_int_equal(outbox_unacked(f->ob, 0), 1);
	assert_int_equal(fx_stats(f).quarantined, 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	fx_drive(f, fx_acked, 0, 3000);
	assert_true(fx_read_file(dir, DL, got, sizeof(got)) > 0);
	expected_line(line, sizeof(line), "poison", 1);
	assert_string_equal(expect_entry(got, 400, line), "");
	assert_int_equal(fx_stats(f).quarantined, 1);
	assert_int_equal(fx_stats(f).sent, 0);
	fx_free(f);
}

/* The error text is cut at 200 bytes but never inside a UTF-8 sequence:
 * a three-byte character at bytes 198..200 is left out whole. */
static void test_deadletter_header_utf8(void **state)
{
	static const int bad[] = { 1 };
	struct peer_script sc = { .marker = "poison" };
	char body[256], want[1024], got[4096], head[300];
	struct fx *f;

	(void)state;
	memset(body, 'e', 198);
	snprintf(body + 198, sizeof(body) - 198, "排水 tail");
	sc.body = body; /* the forked peer gets its own copy */
	f = fx_new(&sc, 1);
	fx_open(f);
	append_mixed(f, 1, bad, 1, 0, want, sizeof(want));
	fx_drive(f, fx_acked, 0, 2000);
	assert_true(fx_read_file(f->dir, DL, got, sizeof(got)) > 0);
	snprintf(head, sizeof(head), " HTTP 400: %.198s\noutfall_reading,", body);
	assert_non_null(strstr(got, head));
	assert_null(strstr(got, "排"));
	fx_free(f);
}

/* 413 for a single record cannot be split: it is kept and retried. */
static void test_413_single_record_kept(void **state)
{
	static const struct peer_script sc = { .status = { 413, 413 }, .n = 2 };
	struct fx *f = fx_new(&sc, 1);

	(void)state;
	fx_open(f);
	fx_append(f, 1, 3);
	fx_drive(f, fx_acked, 0, 2000);
	assert_int_equal(peer_count(f->peer), 3);
	assert_string_equal(fx_req(f, 0)->body, fx_req(f, 2)->body);
	assert_int_equal(fx_stats(f).sent, 1);
	assert_int_equal(fx_stats(f).quarantined, 0);
	assert_int_equal(fx_stats(f).errors, 2);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poisoned_point),
		cmocka_unit_test(test_two_poisoned),
		cmocka_unit_test(test_record_is_one_unit),
		cmocka_unit_test(test_network_error_mid_split),
		cmocka_unit_test(test_alert_and_telemetry_acked),
		cmocka_unit_test(test_alert_quarantined_in_mixed_batch),
		cmocka_unit_test(test_metrics_and_aggregates),
		cmocka_unit_test(test_deadletter_rotation),
		cmocka_unit_test(test_deadletter_unwritable),
		cmocka_unit_test(test_deadletter_header_utf8),
		cmocka_unit_test(test_413_single_record_kept),
	};

	fx_unset_proxies();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
