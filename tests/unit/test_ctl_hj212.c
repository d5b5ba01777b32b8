/*
 * test_ctl_hj212.c - the packet check of `outfallctl hj212 decode` and
 * `listen` (ctl/ctl_hj212_check.c): the standard's own packets (Annex A,
 * Annex C) pass without a problem; a table of bad ones each gets the
 * problem that names its fault with its numbers (the CRC the segment
 * has, the length it has, the missing field); and `encode`'s packets,
 * built by the uplink's preview (sink_hj212_preview), pass the same check
 * and carry the values given, flow in L/s, T above the range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_hj212_check.c"
#include "config/config.h"
#include "sinks/hj212/uplink.h"

#define MN "010000A8900016F000169DC0"

static const char annex_a[] =
	"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	";Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

/* Annex C data segments, verbatim (tests/unit/test_hj212.c has them
 * rebuilt byte for byte by the encoder). */
static const char *const annex_c[] = {
	/* C.1 9011, 9012, 1000 */
	"QN=20160801085857223;ST=91;CN=9011;PW=123456;MN=" MN ";Flag=4;CP=&&QnRtn=1&&",
	"QN=20160801085857223;ST=91;CN=9012;PW=123456;MN=" MN ";Flag=4;CP=&&ExeRtn=1&&",
	"QN=20160801085857223;ST=32;CN=1000;PW=123456;MN=" MN
	";Flag=5;CP=&&OverTime=5;ReCount=3&&",
	/* C.14 9014 */
	"QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=" MN ";Flag=4;CP=&&&&",
	/* C.16 minute data */
	"QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=" MN ";Flag=5;CP=&&DataTime="
	"20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,"
	"w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-"
	"Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&",
	/* C.20 back-fill request */
	"QN=20160801085857223;ST=32;CN=2051;PW=123456;MN=" MN ";Flag=5;CP=&&BeginTime="
	"20160801084000;EndTime=20160801084000&&",
	/* C.50 first part of a split hourly record */
	"QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=" MN ";Flag=7;PNUM=2;PNO=1;CP=&&"
	"DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max"
	"=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&",
};

/* "##" + length + seg + CRC (crc_delta added to the right one) + CR LF. */
static size_t frame(char *out, size_t cap, const char *seg, int len_delta, int crc_delta)
{
	size_t n = strlen(seg);
	int w = snprintf(out, cap, "##%04d%s%04X\r\n", (int)n + len_delta, seg,
			 (unsigned)(hj212_crc(seg, n) + crc_delta) & 0xFFFF);

	assert_true(w > 0 && (size_t)w < cap);
	return (size_t)w;
}

/* True when one of r's problems (or notes) contains want. */
static bool said(const struct hjc_result *r, bool problem, const char *want)
{
	int n = problem ? r->n_problems : r->n_notes;

	for (int i = 0; i < n && i < HJC_MAX_SAY; i++)
		if (strstr(problem ? r->problems[i] : r->notes[i], want))
			return true;
	return false;
}

static void dump(const struct hjc_result *r)
{
	for (int i = 0; i < r->n_problems && i < HJC_MAX_SAY; i++)
		print_message("  problem: %s\n", r->problems[i]);
	for (int i = 0; i < r->n_notes && i < HJC_MAX_SAY; i++)
		print_message("  note: %s\n", r->notes[i]);
}

static void test_standard_packets_pass(void **state)
{
	struct hjc_result *r = malloc(sizeof(*r));
	char pkt[HJ212_FRAME_MAX + 16];

	(void)state;
	assert_int_equal(hjc_check(annex_a, strlen(annex_a), "100000", MN, r), 0);
	assert_true(r->parsed);
	assert_int_equal(r->msg.cn, 1062);
	assert_int_equal(r->crc_sent, 0x1C80);
	assert_int_equal(r->seg_len, 101);
	assert_int_equal(r->n_notes, 0);
	for (size_t i = 0; i < sizeof(annex_c) / sizeof(annex_c[0]); i++) {
		size_t n = frame(pkt, sizeof(pkt), annex_c[i], 0, 0);

		print_message("%.60s\n", annex_c[i]);
		assert_int_equal(hjc_check(pkt, n, "123456", MN, r), 0);
		dump(r);
		assert_int_equal(r->n_notes, 0);
		assert_true(r->parsed);
	}
	free(r);
}

struct bad {
	const char *name;
	const char *seg;     /* framed with a length and CRC off by the deltas */
	int len_delta, crc_delta;
	const char *raw;     /* or these bytes as they are */
	const char *want;    /* in a problem */
};

#define HDR "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=" MN ";Flag=5;"
#define RTD "CP=&&DataTime=20160801085800;w01018-Rtd=40.1,w01018-Flag=N&&"

static const struct bad bad[] = {
	{ "bad CRC", "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	  ";Flag=5;CP=&&RtdInterval=30&&", 0, 1, NULL,
	  "bad CRC: the packet says 1C81, the data segment's CRC (Annex A) is 1C80" },
	{ "length short", "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	  ";Flag=5;CP=&&RtdInterval=30&&", -1, 0, NULL,
	  "the length field says 100 bytes, the data segment has 101" },
	{ "length counts characters, not UTF-8 bytes", HDR "CP=&&DataTime=20160801085800;"
	  "i12001-Info=正常&&", -4, 0, NULL, "the length field says 125 bytes, the data "
	  "segment has 129" },
	{ "CRC not hex", NULL, 0, 0, "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;"
	  "MN=" MN ";Flag=5;CP=&&RtdInterval=30&&1G80\r\n", "the CRC \"1G80\" is not 4 hex "
	  "digits; the data segment's CRC (Annex A) is 1C80" },
	{ "length not digits", NULL, 0, 0, "##01x1QN=1;CP=&&&&FFFF\r\n",
	  "the length field \"01x1\" is not 4 decimal digits" },
	{ "garbage first", NULL, 0, 0, "xx##0000FFFF\r\n", "2 bytes before \"##\"" },
	{ "not a packet", NULL, 0, 0, "hello\r\n", "no \"##\"" },
	{ "CR alone at the end", NULL, 0, 0, "##0000FFFF\r", "ends in CR without LF" },
	{ "no room for a CRC", NULL, 0, 0, "##0000FF\r\n", "no room for a CRC" },
	{ "no PW", "QN=20160801085857223;ST=32;CN=2011;MN=" MN ";Flag=5;" RTD, 0, 0, NULL,
	  "data segment: no PW field" },
	{ "no Flag", "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=" MN ";" RTD, 0, 0,
	  NULL, "data segment: no Flag field" },
	{ "QN short", "QN=2016080108585722;ST=32;CN=2011;PW=123456;MN=" MN ";Flag=5;" RTD, 0,
	  0, NULL, "data segment: QN is not 17 digits" },
	{ "QN not a time", "QN=20161301085857223;ST=32;CN=2011;PW=123456;MN=" MN ";Flag=5;"
	  RTD, 0, 0, NULL, "QN 20161301085857223 is not a time" },
	{ "PW short", "QN=20160801085857223;ST=32;CN=2011;PW=12345;MN=" MN ";Flag=5;" RTD, 0,
	  0, NULL, "PW has 5 characters, the standard 6" },
	{ "MN lower case", "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000a8900016f0"
	  "00169dc0;Flag=5;" RTD, 0, 0, NULL, "is not 24 characters of 0-9 A-F" },
	{ "PW not the platform's", "QN=20160801085857223;ST=32;CN=2011;PW=654321;MN=" MN
	  ";Flag=5;" RTD, 0, 0, NULL, "PW 654321 is not the expected 123456" },
	{ "empty 2011", HDR "CP=&&&&", 0, 0, NULL, "no DataTime in the CP of a 2011" },
	{ "split without PNUM", "QN=20160801085857223;ST=32;CN=2061;PW=123456;MN=" MN
	  ";Flag=7;" RTD, 0, 0, NULL, "data segment: PNUM/PNO do not match Flag's D bit" },
	{ "no DataTime", HDR "CP=&&w01018-Rtd=40.1,w01018-Flag=N&&", 0, 0, NULL,
	  "no DataTime in the CP of a 2011" },
	{ "DataTime not a time", HDR "CP=&&DataTime=20160832085800;w01018-Rtd=1&&", 0, 0,
	  NULL, "DataTime=20160832085800 is not a time" },
	{ "value not a number", HDR "CP=&&DataTime=20160801085800;w01018-Rtd=4O.1&&", 0, 0,
	  NULL, "w01018-Rtd=4O.1 is not a number" },
	{ "bad data flag", HDR "CP=&&DataTime=20160801085800;w01018-Rtd=4,w01018-Flag=X&&",
	  0, 0, NULL, "w01018-Flag=X: a data flag is one of N F M S D C T B" },
	{ "2081 without RestartTime", "QN=20160801085857223;ST=32;CN=2081;PW=123456;MN=" MN
	  ";Flag=5;CP=&&DataTime=20160801085800&&", 0, 0, NULL,
	  "no RestartTime in the CP of a 2081" },
	{ "back-fill range backwards", "QN=20160801085857223;ST=32;CN=2051;PW=123456;MN=" MN
	  ";Flag=5;CP=&&BeginTime=20160801090000;EndTime=20160801080000&&", 0, 0, NULL,
	  "BeginTime 20160801090000 is after EndTime 20160801080000" },
	{ "CP not closed", HDR "CP=&&DataTime=20160801085800", 0, 0, NULL,
	  "data segment: CP does not end with &&" },
};

static void test_bad_packets_named(void **state)
{
	struct hjc_result *r = malloc(sizeof(*r));
	char pkt[2 * HJ212_FRAME_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad *b = &bad[i];
		size_t n = b->raw ? strlen(b->raw)
				  : frame(pkt, sizeof(pkt), b->seg, b->len_delta, b->crc_delta);

		print_message("%s\n", b->name);
		assert_true(hjc_check(b->raw ? b->raw : pkt, n, "123456", MN, r) > 0);
		dump(r);
		assert_true(said(r, true, b->want));
	}
	/* over 1024 bytes */
	char *big = malloc(1200);
	int k = snprintf(big, 1200, HDR "CP=&&DataTime=20160801085800;x=");
	memset(big + k, '1', 1100 - (size_t)k);
	memcpy(big + 1100, "&&", 3);
	char *pk = malloc(1300);
	size_t n = frame(pk, 1300, big, 0, 0);
	assert_true(hjc_check(pk, n, NULL, NULL, r) > 0);
	assert_true(said(r, true, "the data segment has 1102 bytes, over the standard's 1024"));
	free(big);
	free(pk);
	free(r);
}

static void test_notes_only(void **state)
{
	struct hjc_result *r = malloc(sizeof(*r));
	char lower[sizeof(annex_a)];

	(void)state;
	/* pasted without CR LF, or with LF only: a note, not a problem */
	assert_int_equal(hjc_check(annex_a, strlen(annex_a) - 2, NULL, NULL, r), 0);
	assert_true(said(r, false, "no CR LF at the end"));
	memcpy(lower, annex_a, sizeof(lower));
	lower[strlen(lower) - 2] = '\n';
	assert_int_equal(hjc_check(lower, strlen(lower) - 1, NULL, NULL, r), 0);
	assert_true(said(r, false, "LF without CR"));
	/* a lower-case CRC is accepted (the standard's text decides) */
	memcpy(lower, annex_a, sizeof(lower));
	lower[strlen(lower) - 5] = 'c'; /* 1c80 */
	assert_int_equal(hjc_check(lower, strlen(lower), NULL, NULL, r), 0);
	assert_true(said(r, false, "CRC in lower case"));
	/* the expected PW and MN may be left open */
	assert_int_equal(hjc_check(annex_a, strlen(annex_a), NULL, NULL, r), 0);
	free(r);
}

/* A field's value in a parsed packet, as a string. */
static char *field(const struct hjc_result *r, const char *key, char *buf, size_t cap)
{
	size_t n = 0;
	const char *v = hj212_cp_get(&r->msg, key, &n);

	if (!v)
		return NULL;
	snprintf(buf, cap, "%.*s", (int)n, v);
	return buf;
}

static void test_encode_preview(void **state)
{
	struct cfg_channel ch[2] = {
		{ .param = P_COD, .has_range = true, .range_max = 500.0 },
		{ .param = P_FLOW },
	};
	struct cfg_sensor s = { .name = "probe1", .channels = ch, .n_channels = 2, .outlet = 0 };
	int sidx = 0;
	struct cfg_outlet o = { .id = "WS-001", .sensors = &sidx, .n_sensors = 1 };
	struct cfg_hj212 h = { .name = "city", .host = "127.0.0.1", .port = 9, .outlet = 0,
			       .mn = MN, .pw = "123456", .st = 32, .version = 2017, .ack = true,
			       .timeout_s = 5, .retries = 1, .rtd_interval_s = 60,
			       .min_interval_min = 1, .send = HJS_ALL };
	struct config cfg = { .data_dir = "/nonexistent", .sensors = &s, .n_sensors = 1,
			      .outlets = &o, .n_outlets = 1, .hj212 = &h, .n_hj212 = 1 };
	struct record rec = { .type = REC_POLL, .ts_ms = 1470012537000LL };
	struct hjc_result *r = malloc(sizeof(*r));
	char out[20000], v[32], *nl;
	int n;

	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	snprintf(rec.u.poll.outlet, sizeof(rec.u.poll.outlet), "WS-001");
	rec.u.poll.n = 3;
	rec.u.poll.values[0] = (struct rec_value){ .v = 612.5, .param = P_COD,
						   .quality = Q_OUT_OF_RANGE };
	rec.u.poll.values[1] = (struct rec_value){ .v = 63.0, .param = P_FLOW, .quality = Q_OK };
	rec.u.poll.values[2] = (struct rec_value){ .v = 7.31, .param = P_PH, .quality = Q_OK };
	n = sink_hj212_preview(&cfg, 0, &rec, 1, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(strlen(out), n);
	/* 2081 first */
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(hjc_check(out, (size_t)(nl + 1 - out), "123456", MN, r), 0);
	assert_int_equal(r->msg.cn, 2081);
	assert_int_equal(r->msg.flag, 5);
	/* then the 2011 of the poll, its DataTime the end of its minute */
	assert_int_equal(hjc_check(nl + 1, strlen(nl + 1), "123456", MN, r), 0);
	assert_int_equal(r->msg.cn, 2011);
	assert_string_equal(field(r, "DataTime", v, sizeof(v)), "20160801084900");
	assert_string_equal(field(r, "w01018-Rtd", v, sizeof(v)), "612.5");
	assert_string_equal(field(r, "w01018-Flag", v, sizeof(v)), "T");
	assert_string_equal(field(r, "w00000-Rtd", v, sizeof(v)), "17.50"); /* L/s */
	assert_string_equal(field(r, "w01001-Rtd", v, sizeof(v)), "7.31");
	/* another outlet's poll is not this platform's */
	snprintf(rec.u.poll.outlet, sizeof(rec.u.poll.outlet), "WS-002");
	n = sink_hj212_preview(&cfg, 0, &rec, 1, out, sizeof(out));
	assert_true(n > 0);
	assert_ptr_equal(strchr(out, '\n'), out + n - 1); /* 2081 alone */
	assert_int_equal(sink_hj212_preview(&cfg, 1, &rec, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(sink_hj212_preview(&cfg, 0, &rec, 1, out, 40), -ENOSPC);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_packets_pass),
		cmocka_unit_test(test_bad_packets_named),
		cmocka_unit_test(test_notes_only),
		cmocka_unit_test(test_encode_preview),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
