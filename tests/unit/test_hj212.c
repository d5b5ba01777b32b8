/*
 * test_hj212.c - the HJ 212-2017 packet layer: the Annex A CRC and packet,
 * Annex C's example data segments rebuilt byte for byte (copied from the
 * standard's text, the PDF's line breaks joined, its trailing ";…" - "more
 * items" - dropped), UTF-8 byte lengths, splitting a record over packets,
 * units of period records, and the parser on good frames and on every kind
 * of bad input.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/param.h"
#include "base/record.h"
#include "encode/encode.h"

#define MN "010000A8900016F000169DC0"
#define CST 480 /* China Standard Time, UTC+8: Annex C's times */

/* 2016-08-01 08:58:57.223 +08:00, Annex C's QN. */
#define QN_MS 1470013137223LL

static struct hj212_hdr hdr(int64_t qn_ms, int st, int cn, const char *pw,
			    bool ack)
{
	return (struct hj212_hdr){ .qn_ms = qn_ms, .utc_offset_min = CST,
				   .st = st, .cn = cn, .pw = pw, .mn = MN,
				   .version = HJ212_VERSION_2017, .ack = ack };
}

/* The Modbus CRC (reflected 0xA001, XOR the byte into the low half). */
static uint16_t modbus_crc(const char *s, size_t n)
{
	unsigned reg = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		reg ^= (unsigned char)s[i];
		for (int j = 0; j < 8; j++)
			reg = (reg & 1) ? (reg >> 1) ^ 0xA001 : reg >> 1;
	}
	return (uint16_t)reg;
}

/* ---- Annex A -------------------------------------------------------------- */

/* Annex A, "示例": the only complete packet the standard prints. */
static const char annex_a_seg[] =
	"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	";Flag=5;CP=&&RtdInterval=30&&";
static const char annex_a_pkt[] =
	"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	";Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

static void test_crc_annex_a(void **state)
{
	(void)state;
	assert_int_equal(strlen(annex_a_seg), 101);
	assert_int_equal(hj212_crc(annex_a_seg, 101), 0x1C80);
	/* the Modbus CRC of the same bytes is 0759: not what Annex A means */
	assert_int_equal(modbus_crc(annex_a_seg, 101), 0x0759);
	assert_int_equal(hj212_crc("", 0), 0xFFFF);
}

static void test_packet_annex_a(void **state)
{
	struct hj212_hdr h = hdr(QN_MS, 32, 1062, "100000", true);
	char seg[HJ212_SEG_MAX + 1], pkt[HJ212_FRAME_MAX + 1];
	size_t len[2], n = 0;

	(void)state;
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "RtdInterval=30", 14), 101);
	assert_string_equal(seg, annex_a_seg);
	assert_int_equal(hj212_frame(pkt, sizeof(pkt), seg, 101), 113);
	assert_string_equal(pkt, annex_a_pkt);
	/* the packet path gives the same single frame */
	assert_int_equal(hj212_packets(pkt, sizeof(pkt), &h, "RtdInterval=30", 14,
				       len, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(len[0], 113);
	assert_memory_equal(pkt, annex_a_pkt, 113);
}

static void test_frame_limits(void **state)
{
	char seg[HJ212_SEG_MAX + 2], pkt[HJ212_FRAME_MAX + 8];

	(void)state;
	memset(seg, 'x', sizeof(seg));
	assert_int_equal(hj212_frame(pkt, sizeof(pkt), seg, 1024), 1036);
	assert_memory_equal(pkt, "##1024", 6);
	assert_int_equal(hj212_frame(pkt, sizeof(pkt), seg, 1025), -EMSGSIZE);
	assert_int_equal(hj212_frame(pkt, 1036, seg, 1024), -ENOSPC);
	assert_int_equal(hj212_frame(pkt, sizeof(pkt), "", 0), 12);
	assert_string_equal(pkt, "##0000FFFF\r\n");
}

/* ---- Annex C replies (field -> platform, platform -> field) ------------------ */

struct annex_c {
	const char *table; /* where in Annex C */
	int st, cn;
	bool ack;
	const char *data;
	const char *seg;   /* verbatim from the standard */
};

static const struct annex_c annex_c[] = {
	{ "C.1 9011 reply", 91, 9011, false, "QnRtn=1",
	  "QN=20160801085857223;ST=91;CN=9011;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=4;CP=&&QnRtn=1&&" },
	{ "C.1 9012 reply", 91, 9012, false, "ExeRtn=1",
	  "QN=20160801085857223;ST=91;CN=9012;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=4;CP=&&ExeRtn=1&&" },
	{ "C.1 1000 request", 32, 1000, true, "OverTime=5;ReCount=3",
	  "QN=20160801085857223;ST=32;CN=1000;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=5;CP=&&OverTime=5;ReCount=3&&" },
	{ "C.2 1011 answer", 32, 1011, false,
	  "PolId=w01018;SystemTime=20160801085857",
	  /* the PDF prints "CP=&& PolId": a layout space, not in the CP */
	  "QN=20160801085857223;ST=32;CN=1011;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=4;CP=&&PolId=w01018;SystemTime=20160801085857&&" },
	{ "C.5 1061 answer", 32, 1061, false, "RtdInterval=30",
	  "QN=20160801085857223;ST=32;CN=1061;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=4;CP=&&RtdInterval=30&&" },
	{ "C.7 1063 answer", 32, 1063, false, "MinInterval=10",
	  "QN=20160801085857223;ST=32;CN=1063;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=4;CP=&&MinInterval=10&&" },
	{ "C.14 9014 reply", 91, 9014, false, "",
	  "QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F"
	  "000169DC0;Flag=4;CP=&&&&" },
	{ "C.20 2051 back-fill request", 32, 2051, true,
	  "BeginTime=20160801084000;EndTime=20160801084000",
	  "QN=20160801085857223;ST=32;CN=2051;PW=123456;MN=010000A8900016"
	  "F000169DC0;Flag=5;CP=&&BeginTime=20160801084000;EndTime=20160801"
	  "084000&&" },
};

static void test_annex_c_segments(void **state)
{
	char seg[HJ212_SEG_MAX + 1], pkt[HJ212_FRAME_MAX + 1];
	struct hj212_msg m;
	size_t used;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(annex_c) / sizeof(annex_c[0]); i++) {
		const struct annex_c *c = &annex_c[i];
		struct hj212_hdr h = hdr(QN_MS, c->st, c->cn, "123456", c->ack);
		int n = hj212_segment(seg, sizeof(seg), &h, c->data, strlen(c->data));
		print_message("%s\n", c->table);
		assert_int_equal(n, (int)strlen(c->seg));
		assert_string_equal(seg, c->seg);
		/* and back */
		int f = hj212_frame(pkt, sizeof(pkt), seg, (size_t)n);
		assert_int_equal(hj212_parse(pkt, (size_t)f, &m, &used, &why), 0);
		assert_int_equal(used, f);
		assert_string_equal(m.qn, "20160801085857223");
		assert_int_equal(m.st, c->st);
		assert_int_equal(m.cn, c->cn);
		assert_string_equal(m.pw, "123456");
		assert_string_equal(m.mn, MN);
		assert_int_equal(m.flag, c->ack ? 5 : 4);
		assert_int_equal(m.cp_len, strlen(c->data));
	}
}

/* Annex C.16-C.18, the data areas of minute, hour and day records: flow
 * 17.5 L/s is 63 m3/h in the aggregate. */
static struct rec_aggregate annex_c_aggregate(double cou_flow, double cou_cod)
{
	struct rec_aggregate a;

	memset(&a, 0, sizeof(a));
	a.n = 3;
	a.params[0] = (struct rec_agg_param){ .param = P_FLOW, .count = 10,
		.avg = 17.5 * 3.6, .min = 16.4 * 3.6, .max = 20.1 * 3.6, .cou = cou_flow };
	a.params[1] = (struct rec_agg_param){ .param = P_PH, .count = 10,
		.avg = 7.5, .min = 7.1, .max = 7.8, .cou = 99.0 /* never sent */ };
	a.params[2] = (struct rec_agg_param){ .param = P_COD, .count = 10,
		.avg = 40.1, .min = 40.1, .max = 40.1, .cou = cou_cod };
	return a;
}

static void check_period(int64_t qn_ms, int cn, int64_t start_ms, double cou_flow,
			 double cou_cod, const char *want)
{
	struct hj212_fmt fmt = { .utc_offset_min = CST, .decimals = 1 };
	struct rec_aggregate a = annex_c_aggregate(cou_flow, cou_cod);
	struct hj212_hdr h = hdr(qn_ms, 32, cn, "123456", true);
	char area[2048], seg[HJ212_SEG_MAX + 1];
	unsigned skipped = 7;

	int n = hj212_cp_period(area, sizeof(area), &fmt, start_ms, &a, NULL, &skipped);
	assert_true(n > 0);
	assert_int_equal(skipped, 0);
	n = hj212_segment(seg, sizeof(seg), &h, area, (size_t)n);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(seg, want);
}

static void test_annex_c_period_records(void **state)
{
	(void)state;
	/* C.16 上传污染物分钟数据 */
	check_period(1470012600001LL, 2051, 1470012000000LL, 10.5, 10.5,
		"QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016"
		"F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w0"
		"0000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-"
		"Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,"
		"w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&");
	assert_int_equal(hj212_cn_for_period(AGG_MINUTE), 2051);
	/* C.17 上传污染物小时数据 */
	check_period(1470013200001LL, 2061, 1470009600000LL, 63.0, 63.0,
		"QN=20160801090000001;ST=32;CN=2061;PW=123456;MN=010000A8900016"
		"F000169DC0;Flag=5;CP=&&DataTime=20160801080000;w00000-Cou=63.0,w0"
		"0000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-"
		"Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=63.0,"
		"w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&");
	assert_int_equal(hj212_cn_for_period(AGG_HOUR), 2061);
	/* C.18 上传污染物日历史数据 */
	check_period(1470067200001LL, 2031, 1469980800000LL, 1512.0, 2142.0,
		"QN=20160802000000001;ST=32;CN=2031;PW=123456;MN=010000A8900016"
		"F000169DC0;Flag=5;CP=&&DataTime=20160801000000;w00000-Cou=1512.0,"
		"w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w0100"
		"1-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=21"
		"42.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&");
	assert_int_equal(hj212_cn_for_period(AGG_DAY), 2031);
	assert_int_equal(hj212_cn_for_period(AGG_COUNT), -EINVAL);
}

/* C.49/C.50: the header of split packets (Flag 6 without reply, 7 with). */
static void test_annex_c_split_headers(void **state)
{
	static const char part1[] =
		"DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,"
		"w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,"
		"w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N";
	struct hj212_hdr h = hdr(1470013137534LL, 32, 2061, "123456", true);
	char seg[HJ212_SEG_MAX + 1];

	(void)state;
	h.pnum = 2;
	h.pno = 1;
	assert_true(hj212_segment(seg, sizeof(seg), &h, part1, strlen(part1)) > 0);
	/* C.50, first part */
	assert_string_equal(seg,
		"QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016"
		"F000169DC0;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20160801080000;w0"
		"0000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w0000"
		"0-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&");
	h.ack = false;
	h.qn_ms++;
	h.pno = 2;
	assert_true(hj212_segment(seg, sizeof(seg), &h, "DataTime=20160801080000;"
		"w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,"
		"w01018-Flag=N", 101) > 0);
	/* C.49, second part */
	assert_string_equal(seg,
		"QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016"
		"F000169DC0;Flag=6;PNUM=2;PNO=2;CP=&&DataTime=20160801080000;w0"
		"1018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w0101"
		"8-Flag=N&&");
}

/* C.14's real-time upload, without its optional SampleTime and EFlag (and
 * its typo "01018-Rtd"): not verbatim, the shape only. */
static void test_rtd(void **state)
{
	struct hj212_fmt fmt = { .utc_offset_min = CST, .decimals = -1 };
	const struct hj212_rtd v[] = {
		{ .param = P_PH, .flag = 'N', .v = 7.1 },
		{ .param = P_COD, .flag = 'N', .v = 2.2 },
		{ .param = P_FLOW, .flag = 'N', .v = 36.0 },  /* m3/h: 10 L/s */
		{ .param = P_VOLUME_TOTAL, .flag = 'N', .v = 123456.0 },
		{ .param = P_TURBIDITY, .flag = 'N', .v = 3.0 }, /* no code */
		{ .param = P_NH3N, .flag = 'B', .v = NAN },
		{ .param = P_SS, .flag = 'T', .v = -0.01 },
	};
	char out[512];
	unsigned skipped = 0;

	(void)state;
	assert_true(hj212_cp_rtd(out, sizeof(out), &fmt, QN_MS, v, 7, &skipped) > 0);
	assert_string_equal(out, "DataTime=20160801085857;w01001-Rtd=7.10,"
		"w01001-Flag=N;w01018-Rtd=2.2,w01018-Flag=N;w00000-Rtd=10.00,"
		"w00000-Flag=N;w21003-Flag=B;w01012-Rtd=0,w01012-Flag=T");
	assert_int_equal(skipped, 1);

	/* a configured local code sends it */
	fmt.local_code[P_TURBIDITY] = "w01003x";
	fmt.decimals = 1;
	assert_true(hj212_cp_rtd(out, sizeof(out), &fmt, QN_MS, &v[4], 1, &skipped) > 0);
	assert_string_equal(out, "DataTime=20160801085857;w01003x-Rtd=3.0,w01003x-Flag=N");
	assert_int_equal(skipped, 0);

	/* a flag outside the table's alphabet, a short buffer */
	struct hj212_rtd bad = { .param = P_PH, .flag = ';', .v = 7 };
	assert_int_equal(hj212_cp_rtd(out, sizeof(out), &fmt, QN_MS, &bad, 1, NULL), -EINVAL);
	assert_int_equal(hj212_cp_rtd(out, 30, &fmt, QN_MS, v, 2, NULL), -ENOSPC);
}

static void test_data_flags(void **state)
{
	struct rec_value rv = { .v = 1, .param = P_COD, .quality = Q_OK };

	(void)state;
	assert_int_equal(hj212_data_flag(&rv, false), 'N');
	rv.quality = Q_NO_RESPONSE;
	assert_int_equal(hj212_data_flag(&rv, false), 'B');
	rv.quality = Q_OUT_OF_RANGE;
	assert_int_equal(hj212_data_flag(&rv, true), 'T');
	assert_int_equal(hj212_data_flag(&rv, false), 'D');
	rv.quality = Q_INVALID;
	assert_int_equal(hj212_data_flag(&rv, false), 'D');
	rv.flags = RV_CALIBRATION;
	assert_int_equal(hj212_data_flag(&rv, false), 'C');
	rv.flags = RV_MAINTENANCE | RV_CALIBRATION;
	assert_int_equal(hj212_data_flag(&rv, false), 'M');
}

/* Units and which fields a period record carries. */
static void test_period_units(void **state)
{
	struct hj212_fmt fmt = { .utc_offset_min = CST, .decimals = -1 };
	struct rec_aggregate a;
	char out[1024];
	unsigned skipped = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.n = 7;
	a.params[0] = (struct rec_agg_param){ .param = P_FLOW, .count = 60,
		.avg = 36.0, .min = 18.0, .max = 72.0, .cou = NAN };
	a.params[1] = (struct rec_agg_param){ .param = P_VOLUME_TOTAL, .count = 60,
		.avg = 1, .min = 1, .max = 1, .cou = 36.0 };
	a.params[2] = (struct rec_agg_param){ .param = P_COD, .count = 60,
		.avg = 250.0, .min = 200.0, .max = 300.0, .cou = 9.0 };
	a.params[3] = (struct rec_agg_param){ .param = P_TEMP, .count = 60,
		.avg = 21.0, .min = 20.0, .max = 22.0, .cou = 5.0 };
	a.params[4] = (struct rec_agg_param){ .param = P_OIL_ANIMAL, .count = 60,
		.avg = 1, .min = 1, .max = 1, .cou = 0.1 };
	a.params[5] = (struct rec_agg_param){ .param = P_NH3N, .count = 0,
		.avg = NAN, .min = NAN, .max = NAN, .cou = NAN };
	a.params[6] = (struct rec_agg_param){ .param = P_SS, .count = 3,
		.avg = 12.4, .min = 12.0, .max = 12.6, .cou = NAN };
	assert_true(hj212_cp_period(out, sizeof(out), &fmt, 1470009600000LL, &a,
				    NULL, &skipped) > 0);
	/* flow in L/s (m3/h / 3.6) with the counter's m3 as Cou; COD's Cou
	 * in kg as aggregated; no Cou for temperature; oil_animal has no code;
	 * no readings: flag only; SS at Annex B's N4 (no decimals) */
	assert_string_equal(out, "DataTime=20160801080000;"
		"w00000-Cou=36.000,w00000-Min=5.00,w00000-Avg=10.00,w00000-Max=20.00,w00000-Flag=N;"
		"w01018-Cou=9.000,w01018-Min=200.0,w01018-Avg=250.0,w01018-Max=300.0,w01018-Flag=N;"
		"w01010-Min=20.0,w01010-Avg=21.0,w01010-Max=22.0,w01010-Flag=N;"
		"w21003-Flag=D;"
		"w01012-Min=12,w01012-Avg=12,w01012-Max=13,w01012-Flag=N");
	assert_int_equal(skipped, 1);

	/* the caller's flags: one abnormal reading flags the period */
	a.n = 3;
	a.params[0].cou = 35.5;
	assert_true(hj212_cp_period(out, sizeof(out), &fmt, 1470009600000LL, &a,
				    "DNM", NULL) > 0);
	assert_string_equal(out, "DataTime=20160801080000;"
		"w00000-Cou=35.500,w00000-Min=5.00,w00000-Avg=10.00,w00000-Max=20.00,w00000-Flag=D;"
		"w01018-Cou=9.000,w01018-Min=200.0,w01018-Avg=250.0,w01018-Max=300.0,w01018-Flag=M");

	/* only a counter: w00000 carries its Cou */
	a.n = 1;
	a.params[0] = a.params[1];
	assert_true(hj212_cp_period(out, sizeof(out), &fmt, 1470009600000LL, &a,
				    NULL, NULL) > 0);
	assert_string_equal(out, "DataTime=20160801080000;w00000-Cou=36.000,w00000-Flag=N");
}

/* ---- UTF-8 byte lengths ------------------------------------------------------ */

static void test_utf8_byte_length(void **state)
{
	/* 3020 field information carries Chinese text; the length counts
	 * bytes (6.3: UTF-8, each Chinese character 3 bytes here). */
	static const char data[] = "DataTime=20160801085857;i11001-Info=进水泵故障";
	struct hj212_hdr h = hdr(QN_MS, 32, 3020, "123456", true);
	char seg[HJ212_SEG_MAX + 1], pkt[HJ212_FRAME_MAX + 1];
	struct hj212_msg m;
	size_t used, vl = 0;

	(void)state;
	int n = hj212_segment(seg, sizeof(seg), &h, data, strlen(data));
	assert_int_equal(n, 87 + strlen(data));
	assert_int_equal(strlen(data), 36 + 5 * 3);
	int f = hj212_frame(pkt, sizeof(pkt), seg, (size_t)n);
	char want[8];
	snprintf(want, sizeof(want), "##%04d", n);
	assert_memory_equal(pkt, want, 6);
	assert_int_equal(hj212_parse(pkt, (size_t)f, &m, &used, NULL), 0);
	const char *v = hj212_cp_get(&m, "i11001-Info", &vl);
	assert_non_null(v);
	assert_int_equal(vl, 15);
	assert_memory_equal(v, "进水泵故障", 15);
}

/* ---- splitting --------------------------------------------------------------- */

static void test_split(void **state)
{
	struct hj212_hdr h = hdr(QN_MS, 32, 2061, "123456", true);
	char data[6000], out[8 * HJ212_FRAME_MAX];
	size_t len[8], n = 0, dl;
	struct hj212_msg m;

	(void)state;
	dl = (size_t)snprintf(data, sizeof(data), "DataTime=20160801080000");
	for (int i = 0; i < 40; i++)
		dl += (size_t)snprintf(data + dl, sizeof(data) - dl,
			";w%05d-Cou=1234.5,w%05d-Min=1.2,w%05d-Avg=3.4,w%05d-Max=5.6,w%05d-Flag=N",
			i, i, i, i, i);
	assert_true(dl > 2 * 950);
	assert_int_equal(hj212_packets(out, sizeof(out), &h, data, dl, len, 8, &n), 0);
	assert_true(n >= 3);

	/* each part: valid, <= 1024, Flag 7, PNUM/PNO, its own QN, DataTime
	 * first; the parts' items are the record's items, in order */
	char items[6000];
	size_t il = 0, off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used = 0;
		const char *why = NULL;
		assert_int_equal(hj212_parse(out + off, len[i], &m, &used, &why), 0);
		assert_int_equal(used, len[i]);
		assert_true(len[i] - 12 <= HJ212_SEG_MAX);
		assert_true(m.cp_len + 7 + 3 <= HJ212_CP_MAX);
		assert_int_equal(m.flag, 7);
		assert_int_equal(m.pnum, (int)n);
		assert_int_equal(m.pno, (int)i + 1);
		char qn[HJ212_QN_LEN + 1];
		hj212_qn(qn, QN_MS + (int64_t)i, CST);
		assert_string_equal(m.qn, qn);
		assert_memory_equal(m.cp, "DataTime=20160801080000;", 24);
		memcpy(items + il, m.cp + 23, m.cp_len - 23);
		il += m.cp_len - 23;
		off += len[i];
	}
	assert_int_equal(il, dl - 23);
	assert_memory_equal(items, data + 23, il);

	/* too few frames allowed, or one item too long for any packet */
	assert_int_equal(hj212_packets(out, sizeof(out), &h, data, dl, len, 2, &n), -EMSGSIZE);
	memset(data + 24, 'x', 1000);
	assert_int_equal(hj212_packets(out, sizeof(out), &h, data, 1024, len, 8, &n), -EMSGSIZE);
	/* output buffer too small */
	assert_int_equal(hj212_packets(out, 100, &h, "DataTime=1", 10, len, 8, &n), -ENOSPC);
}

static void test_segment_refuses(void **state)
{
	struct hj212_hdr h = hdr(QN_MS, 32, 2011, "123456", true);
	char seg[HJ212_SEG_MAX + 1], big[1100];

	(void)state;
	memset(big, 'a', sizeof(big));
	/* 87 bytes of header and CP=&&&& leave 937 for the data (with a full
	 * header, the 1024-byte segment binds before the 950-byte CP) */
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, big, 937), 1024);
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, big, 938), -EMSGSIZE);
	assert_int_equal(hj212_segment(seg, 50, &h, "a=1", 3), -ENOSPC);
	h.pw = "12345";
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "", 0), -EINVAL);
	h.pw = "12;456";
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "", 0), -EINVAL);
	h.pw = "123456";
	h.mn = "010000a8900016F000169DC0"; /* lower case is not EPC hex */
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "", 0), -EINVAL);
	h.mn = MN;
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "a=1\r\n", 5), -EINVAL);
	h.pnum = 2;
	h.pno = 3;
	assert_int_equal(hj212_segment(seg, sizeof(seg), &h, "", 0), -EINVAL);
	h.pnum = 0;
	h.version = HJ212_VERSION_2025;
	assert_true(hj212_segment(seg, sizeof(seg), &h, "", 0) > 0);
	assert_non_null(strstr(seg, ";Flag=9;"));
}

static void test_times(void **state)
{
	char t[HJ212_QN_LEN + 1];

	(void)state;
	assert_int_equal(hj212_qn(t, QN_MS, CST), 17);
	assert_string_equal(t, "20160801085857223");
	assert_int_equal(hj212_qn(t, QN_MS, 0), 17);
	assert_string_equal(t, "20160801005857223");
	assert_int_equal(hj212_time14(t, -1, 0), 14); /* before the epoch */
	assert_string_equal(t, "19691231235959");
	assert_int_equal(hj212_time14(t, 951782400000LL, 0), 14); /* leap day */
	assert_string_equal(t, "20000229000000");
	assert_int_equal(hj212_time14(t, INT64_MAX, 0), -EINVAL);
	assert_int_equal(hj212_qn(t, -62135596801000LL, 0), -EINVAL); /* year 0 */
}

/* ---- the parser --------------------------------------------------------------- */

/* A frame around seg, with a correct or deliberately wrong CRC. */
static size_t mkframe(char *out, size_t cap, const char *seg, int crc_delta)
{
	int n = hj212_frame(out, cap, seg, strlen(seg));
	assert_true(n > 0);
	if (crc_delta) {
		char *c = out + n - 3;
		*c = *c == '0' ? '1' : '0';
	}
	return (size_t)n;
}

static void test_parse_request(void **state)
{
	char buf[2 * HJ212_FRAME_MAX];
	struct hj212_msg m;
	size_t used, vl;
	const char *why = NULL, *v;

	(void)state;
	/* C.1's 1000 request, then C.14's 9014 reply, in one read */
	size_t a = mkframe(buf, sizeof(buf), annex_c[2].seg, 0);
	size_t b = mkframe(buf + a, sizeof(buf) - a, annex_c[6].seg, 0);
	assert_int_equal(hj212_parse(buf, a + b, &m, &used, &why), 0);
	assert_int_equal(used, a);
	assert_int_equal(m.cn, 1000);
	assert_int_equal(m.n_kv, 2);
	v = hj212_cp_get(&m, "OverTime", &vl);
	assert_non_null(v);
	assert_memory_equal(v, "5", vl);
	v = hj212_cp_get(&m, "ReCount", &vl);
	assert_memory_equal(v, "3", vl);
	assert_int_equal(m.kv[1].item, 1);
	assert_null(hj212_cp_get(&m, "Over", NULL));
	assert_int_equal(hj212_parse(buf + used, a + b - used, &m, &used, &why), 0);
	assert_int_equal(m.cn, 9014);
	assert_int_equal(m.st, 91);
	assert_int_equal(m.n_kv, 0);

	/* lower-case CRC is accepted */
	a = mkframe(buf, sizeof(buf), annex_a_seg, 0);
	memcpy(buf + a - 6, "1c80", 4);
	assert_int_equal(hj212_parse(buf, a, &m, &used, &why), 0);
	assert_int_equal(m.cn, 1062);
	assert_string_equal(m.pw, "100000");

	/* C.4 prints 9013 with "CP=&& &&": a blank data area */
	a = mkframe(buf, sizeof(buf), "QN=20160801085857223;ST=91;CN=9013;PW=123456;"
		    "MN=" MN ";Flag=4;CP=&& &&", 0);
	assert_int_equal(hj212_parse(buf, a, &m, &used, &why), 0);
	assert_int_equal(m.n_kv, 0);

	/* 2011 with items and fields */
	a = mkframe(buf, sizeof(buf), "QN=20160801085857223;ST=32;CN=2011;PW=123456;"
		    "MN=" MN ";Flag=5;CP=&&DataTime=20160801085857;w01001-Rtd=7.1,"
		    "w01001-Flag=N;w01018-Rtd=2.2,w01018-Flag=N&&", 0);
	assert_int_equal(hj212_parse(buf, a, &m, &used, &why), 0);
	assert_int_equal(m.n_kv, 5);
	assert_int_equal(m.kv[4].item, 2);
	v = hj212_cp_get(&m, "w01018-Rtd", &vl);
	assert_memory_equal(v, "2.2", vl);
}

struct bad {
	const char *name;
	const char *frame; /* a whole frame, or NULL: seg with a fresh CRC */
	const char *seg;
	int err;
};

#define HDR "QN=20160801085857223;ST=32;CN=1011;PW=123456;MN=" MN ";"

static const struct bad bad[] = {
	{ "garbage", "hello world\r\n", NULL, -EBADMSG },
	{ "length not digits", "##01x1QN=1;CP=&&&&FFFF\r\n", NULL, -EBADMSG },
	{ "length over 1024", "##1025xxxxxxxxxx", NULL, -EMSGSIZE },
	{ "length too short", "##0005QN=20160801&&1C80\r\n", NULL, -EBADMSG },
	{ "length too long", "##0101" HDR "Flag=5;CP=&&&&1234\r\n", NULL, -EBADMSG },
	{ "truncated header", "##01", NULL, -EAGAIN },
	{ "truncated body", "##0101QN=2016", NULL, -EAGAIN },
	{ "bad CRC", "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	  ";Flag=5;CP=&&RtdInterval=30&&1C81\r\n", NULL, -EILSEQ },
	{ "CRC not hex", "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	  ";Flag=5;CP=&&RtdInterval=30&&1G80\r\n", NULL, -EBADMSG },
	{ "no CR LF", "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=" MN
	  ";Flag=5;CP=&&RtdInterval=30&&1C80\n\n", NULL, -EBADMSG },
	{ "no CP", NULL, HDR "Flag=5;", -EBADMSG },
	{ "CP not closed", NULL, HDR "Flag=5;CP=&&a=1", -EBADMSG },
	{ "CP &&& only", NULL, HDR "Flag=5;CP=&&&", -EBADMSG },
	{ "missing Flag", NULL, HDR "CP=&&&&", -EBADMSG },
	{ "missing QN", NULL, "ST=32;CN=1011;PW=123456;MN=" MN ";Flag=5;CP=&&&&", -EBADMSG },
	{ "QN short", NULL, "QN=2016;ST=32;CN=1011;PW=123456;MN=" MN ";Flag=5;CP=&&&&", -EBADMSG },
	{ "CN not a number", NULL, "QN=20160801085857223;ST=32;CN=10x1;PW=123456;MN=" MN
	  ";Flag=5;CP=&&&&", -EBADMSG },
	{ "PW too long", NULL, "QN=20160801085857223;ST=32;CN=1011;PW=1234567;MN=" MN
	  ";Flag=5;CP=&&&&", -EBADMSG },
	{ "Flag over 255", NULL, HDR "Flag=256;CP=&&&&", -EBADMSG },
	{ "repeated field", NULL, HDR "Flag=5;Flag=5;CP=&&&&", -EBADMSG },
	{ "D without PNUM", NULL, HDR "Flag=7;CP=&&&&", -EBADMSG },
	{ "PNUM without D", NULL, HDR "Flag=5;PNUM=2;PNO=1;CP=&&&&", -EBADMSG },
	{ "PNO beyond PNUM", NULL, HDR "Flag=7;PNUM=2;PNO=3;CP=&&&&", -EBADMSG },
	{ "field without =", NULL, HDR "Flag=5;CP=&&PolId&&", -EBADMSG },
	{ "empty name", NULL, HDR "Flag=5;CP=&&=1&&", -EBADMSG },
	{ "header without =", NULL, "QN;" HDR "Flag=5;CP=&&&&", -EBADMSG },
	{ "control character", NULL, HDR "Flag=5;CP=&&a=\t&&", -EBADMSG },
};

static void test_parse_bad(void **state)
{
	char buf[HJ212_FRAME_MAX + 64];
	struct hj212_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n, used = 99;
		const char *why = NULL;
		print_message("%s\n", bad[i].name);
		if (bad[i].frame) {
			n = strlen(bad[i].frame);
			memcpy(buf, bad[i].frame, n);
		} else {
			n = mkframe(buf, sizeof(buf), bad[i].seg, 0);
		}
		memset(&m, 0x5a, sizeof(m));
		assert_int_equal(hj212_parse(buf, n, &m, &used, &why), bad[i].err);
		assert_non_null(why);
		assert_true(used <= n);
		if (bad[i].err == -EAGAIN)
			assert_int_equal(used, 0);
		else
			assert_true(used > 0);
		/* m untouched on failure */
		assert_int_equal(((unsigned char *)&m)[0], 0x5a);
		assert_int_equal(m.n_kv, (size_t)0x5a5a5a5a5a5a5a5aULL);
	}
}

static void test_parse_resync(void **state)
{
	char buf[512];
	struct hj212_msg m;
	size_t used = 0, n;
	const char *why;

	(void)state;
	/* garbage, then a good frame: dropping *consumed finds it */
	n = (size_t)snprintf(buf, sizeof(buf), "xx#y%s", annex_a_pkt);
	assert_int_equal(hj212_parse(buf, n, &m, &used, &why), -EBADMSG);
	assert_int_equal(used, 4);
	assert_int_equal(hj212_parse(buf + 4, n - 4, &m, &used, &why), 0);
	/* a lone trailing '#' may start a frame */
	assert_int_equal(hj212_parse("abc#", 4, &m, &used, &why), -EBADMSG);
	assert_int_equal(used, 3);
	assert_int_equal(hj212_parse("#", 1, &m, &used, &why), -EAGAIN);
	assert_int_equal(hj212_parse("", 0, &m, &used, &why), -EAGAIN);
	/* a frame whose length is short by 2 swallows nothing of the next */
	n = (size_t)snprintf(buf, sizeof(buf), "##0099%s", annex_a_pkt + 6);
	assert_int_equal(hj212_parse(buf, n, &m, &used, &why), -EBADMSG);
	assert_true(used == n);
	/* a bad CRC drops exactly that frame */
	memcpy(buf, annex_a_pkt, 113);
	buf[108] = '0';
	memcpy(buf + 113, annex_a_pkt, 113);
	assert_int_equal(hj212_parse(buf, 226, &m, &used, &why), -EILSEQ);
	assert_int_equal(used, 113);
	assert_int_equal(hj212_parse(buf + 113, 113, &m, &used, &why), 0);
}

static void test_parse_too_many_fields(void **state)
{
	char seg[HJ212_SEG_MAX + 1], pkt[HJ212_FRAME_MAX + 1];
	struct hj212_msg m;
	size_t used;
	int n;

	(void)state;
	n = snprintf(seg, sizeof(seg), HDR "Flag=5;CP=&&");
	for (int i = 0; i < HJ212_MAX_KV + 1; i++)
		n += snprintf(seg + n, sizeof(seg) - (size_t)n, "%sa=%d", i ? ";" : "", i % 10);
	n += snprintf(seg + n, sizeof(seg) - (size_t)n, "&&");
	mkframe(pkt, sizeof(pkt), seg, 0);
	assert_int_equal(hj212_parse(pkt, strlen(pkt), &m, &used, NULL), -E2BIG);
	/* a CP over 950 bytes inside a 1024-byte segment (a short MN) */
	n = snprintf(seg, sizeof(seg),
		     "QN=20160801085857223;ST=32;CN=1011;PW=123456;MN=A;Flag=5;CP=&&a=");
	memset(seg + n, 'x', 1024 - (size_t)n - 2);
	memcpy(seg + 1022, "&&", 3);
	mkframe(pkt, sizeof(pkt), seg, 0);
	assert_int_equal(hj212_parse(pkt, strlen(pkt), &m, &used, NULL), -EMSGSIZE);
}

/* Random bytes and mutations of good frames: no crash, no read outside
 * the buffer (ASan, valgrind), consumed always within it. */
static void test_parse_noise(void **state)
{
	uint32_t s = 12345;
	char buf[HJ212_FRAME_MAX + 16];
	struct hj212_msg m;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n;
		if (round & 1) {
			n = 113;
			memcpy(buf, annex_a_pkt, n);
			for (int k = 0; k < 3; k++) {
				s = s * 1103515245u + 12345u;
				buf[(s >> 8) % n] = (char)(s >> 20);
			}
			s = s * 1103515245u + 12345u;
			n -= (s >> 9) % 8;
		} else {
			s = s * 1103515245u + 12345u;
			n = (s >> 8) % sizeof(buf);
			for (size_t i = 0; i < n; i++) {
				s = s * 1103515245u + 12345u;
				buf[i] = "##0123456789;=,&CPQN\r\nx"[(s >> 16) % 24];
			}
		}
		size_t used = 0;
		const char *why = NULL;
		int r = hj212_parse(buf, n, &m, &used, &why);
		assert_true(used <= n);
		if (r == 0)
			assert_true(used > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_annex_a),
		cmocka_unit_test(test_packet_annex_a),
		cmocka_unit_test(test_frame_limits),
		cmocka_unit_test(test_annex_c_segments),
		cmocka_unit_test(test_annex_c_period_records),
		cmocka_unit_test(test_annex_c_split_headers),
		cmocka_unit_test(test_rtd),
		cmocka_unit_test(test_data_flags),
		cmocka_unit_test(test_period_units),
		cmocka_unit_test(test_utf8_byte_length),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_segment_refuses),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_resync),
		cmocka_unit_test(test_parse_too_many_fields),
		cmocka_unit_test(test_parse_noise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
