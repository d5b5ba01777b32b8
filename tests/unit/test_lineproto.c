/*
 * test_lineproto.c - InfluxDB line protocol encoder: exact lines for polls,
 * alerts, self-metrics and aggregates, escaping in every position, and
 * all-or-nothing on ENOSPC; float32 readings at their precision, value
 * flags, and every alert kind's own evidence fields.
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
#include "config/config.h"
#include "encode/encode.h"

#define BIG 8192

static struct record poll_record(void)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.seq = 42;
	r.ts_ms = 1764403217000;
	r.type = REC_POLL;
	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 4;
	r.u.poll.values[0] = (struct rec_value){ .v = 612.4, .param = P_COD, .quality = Q_OK };
	r.u.poll.values[1] = (struct rec_value){ .v = 7.25, .param = P_PH, .quality = Q_OK };
	r.u.poll.values[2] = (struct rec_value){ .v = 0.0, .param = P_NH3N,
						 .quality = Q_NO_RESPONSE };
	r.u.poll.values[3] = (struct rec_value){ .v = 2500.0, .param = P_SS,
						 .quality = Q_OUT_OF_RANGE };
	return r;
}

static struct record alert_record(void)
{
	struct record r;
	struct rec_alert *a = &r.u.alert;

	memset(&r, 0, sizeof(r));
	r.seq = 1042;
	r.ts_ms = 1764403217000;
	r.type = REC_ALERT;
	snprintf(a->id, sizeof(a->id), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	a->state = ALERT_RAISED;
	a->kind = AK_LIMIT_EXCEEDED;
	a->param = P_COD;
	a->basis = BASIS_INSTANT;
	snprintf(a->outlet, sizeof(a->outlet), "WS-001");
	snprintf(a->permit, sizeof(a->permit), "浙丽排字第2023-0042号");
	snprintf(a->holder, sizeof(a->holder), "丽水某食品有限公司");
	a->limit = 500.0;
	a->value = 612.4;
	a->peak = 612.4;
	a->since_ms = r.ts_ms;
	return r;
}

static struct record metrics_record(void)
{
	struct record r;
	struct rec_metrics *m = &r.u.metrics;

	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.ts_ms = 1764403260000;
	r.type = REC_METRICS;
	m->polls = 360;
	m->errors = 3;
	m->timeouts = 2;
	m->crc_errors = 1;
	m->exceptions = 0;
	m->outbox_corrupt = 4;
	m->outbox_io_errors = 5;
	m->n_sinks = 2;
	m->sinks[0] = (struct rec_sink_metrics){ .name = "mqtt", .queue_depth = 12,
						 .oldest_unsent_s = 3, .sent = 348, .retried = 6,
						 .dropped = 0, .quarantined = 0 };
	m->sinks[1] = (struct rec_sink_metrics){ .name = "influx", .queue_depth = 0,
						 .oldest_unsent_s = 0, .sent = 360, .retried = 0,
						 .dropped = 1, .quarantined = 2 };
	return r;
}

static struct record aggregate_record(void)
{
	struct record r;
	struct rec_aggregate *a = &r.u.aggregate;

	memset(&r, 0, sizeof(r));
	r.seq = 99;
	r.ts_ms = 1764403200000; /* the period start */
	r.type = REC_AGGREGATE;
	snprintf(a->outlet, sizeof(a->outlet), "WS-001");
	a->period = AGG_HOUR;
	a->end_ms = r.ts_ms + 3600000;
	a->n = 2;
	a->params[0] = (struct rec_agg_param){ .param = P_COD, .count = 360, .avg = 412.5,
					       .min = 380.25, .max = 612.4, .cou = 20.625 };
	a->params[1] = (struct rec_agg_param){ .param = P_PH, .count = 358, .avg = 7.1,
					       .min = 6.8, .max = 7.4, .cou = NAN };
	return r;
}

/* Encodes r into a fresh buffer and compares with want. */
static void expect_record(const char *gw, const struct record *r, int lines, const char *want)
{
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };

	assert_int_equal(lp_append_record(&b, gw, r), lines);
	assert_string_equal(data, want);
	assert_int_equal(b.len, strlen(want));
}

static void test_poll_values(void **state)
{
	struct record r = poll_record();

	(void)state;
	expect_record("ls-ws-000123", &r, 4,
		"outfall_reading,gateway=ls-ws-000123,outlet=WS-001,sensor=probe1,parameter=cod"
		" value=612.4,q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=ls-ws-000123,outlet=WS-001,sensor=probe1,parameter=ph"
		" value=7.25,q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=ls-ws-000123,outlet=WS-001,sensor=probe1,parameter=nh3n"
		" q=\"no_response\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=ls-ws-000123,outlet=WS-001,sensor=probe1,parameter=ss"
		" value=2500,q=\"out_of_range\",seq=42i 1764403217000\n");
}

/* A NaN marked ok must not become a number; no outlet means no outlet tag. */
static void test_poll_nan_and_no_outlet(void **state)
{
	struct record r = poll_record();

	(void)state;
	r.u.poll.outlet[0] = '\0';
	r.u.poll.n = 3;
	r.u.poll.values[0].v = NAN;
	r.u.poll.values[1].v = INFINITY;
	r.u.poll.values[2] = (struct rec_value){ .v = 1.5e-7, .param = P_TP, .quality = Q_OK };
	expect_record("gw", &r, 3,
		"outfall_reading,gateway=gw,sensor=probe1,parameter=cod q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,sensor=probe1,parameter=ph q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,sensor=probe1,parameter=tp"
		" value=1.5e-07,q=\"ok\",seq=42i 1764403217000\n");
	r.flags = REC_F_CLOCK_UNSYNCED; /* before NTP: the timestamp is suspect */
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = 2.5, .param = P_TP, .quality = Q_OK };
	expect_record("gw", &r, 1,
		"outfall_reading,gateway=gw,sensor=probe1,parameter=tp"
		" value=2.5,q=\"ok\",seq=42i,clock=\"unsynced\" 1764403217000\n");
}

static void test_poll_empty_and_malformed(void **state)
{
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };
	struct record r = poll_record();

	(void)state;
	r.u.poll.n = 0;
	assert_int_equal(lp_append_record(&b, "gw", &r), 0);
	assert_int_equal(b.len, 0);
	r.u.poll.n = REC_MAX_VALUES + 1;
	assert_int_equal(lp_append_record(&b, "gw", &r), -EINVAL);
	r.type = 7;
	assert_int_equal(lp_append_record(&b, "gw", &r), -EINVAL);
	assert_int_equal(b.len, 0);
}

/* Names filling their whole array (no NUL) are read only up to its end. */
static void test_poll_unterminated_names(void **state)
{
	struct record r = poll_record();
	char want[BIG];

	(void)state;
	memset(r.u.poll.sensor, 's', sizeof(r.u.poll.sensor));
	r.u.poll.n = 1;
	snprintf(want, sizeof(want),
		 "outfall_reading,gateway=g,outlet=WS-001,sensor=%.*s,parameter=cod"
		 " value=612.4,q=\"ok\",seq=42i 1764403217000\n",
		 (int)sizeof(r.u.poll.sensor), r.u.poll.sensor);
	expect_record("g", &r, 1, want);
}

static void test_alert_line(void **state)
{
	struct record r = alert_record();

	(void)state;
	expect_record("ls-ws-000123", &r, 1,
		"outfall_alert,gateway=ls-ws-000123,outlet=WS-001,parameter=cod,kind=limit_exceeded,"
		"rule=instant state=\"raised\",value=612.4,limit=500,peak=612.4,ratio=1.22,"
		"permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",sensor_health=\"ok\",sensor_unhealthy=false,"
		"id=\"ls-ws-000123/WS-001/cod/instant/1764403217000\",seq=1042i 1764403217000\n");
}

static void test_alert_escaping(void **state)
{
	struct record r = alert_record();
	struct rec_alert *a = &r.u.alert;

	(void)state;
	a->state = ALERT_CLEARED;
	a->kind = AK_BELOW_MINIMUM;
	a->param = P_PH;
	a->basis = BASIS_ROLLING;
	a->limit = 6.5;
	a->value = 6.9;
	a->peak = NAN;
	snprintf(a->outlet, sizeof(a->outlet), "WS 1,a=b");
	snprintf(a->permit, sizeof(a->permit), "浙\"丽\\排\n2023");
	snprintf(a->id, sizeof(a->id), "g w/x");
	expect_record("gw\r1", &r, 1,
		"outfall_alert,gateway=gw\\ 1,outlet=WS\\ 1\\,a\\=b,parameter=ph,kind=below_minimum,"
		"rule=rolling state=\"cleared\",value=6.9,limit=6.5,ratio=1.06,"
		"permit=\"浙\\\"丽\\\\排 2023\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",until=\"2025-11-29T08:00:17.000Z\","
		"duration_s=0i,sensor_health=\"ok\",sensor_unhealthy=false,"
		"id=\"g w/x\",seq=1042i 1764403217000\n");
}

static void test_metrics_lines(void **state)
{
	struct record r = metrics_record();

	(void)state;
	expect_record("ls-ws-000123", &r, 3,
		"outfall_gateway,gateway=ls-ws-000123 polls=360i,errors=3i,timeouts=2i,"
		"crc_errors=1i,exceptions=0i,outbox_corrupt=4i,outbox_io_errors=5i,late=0i 1764403260000\n"
		"outfall_gateway,gateway=ls-ws-000123,sink=mqtt queue_depth=12i,oldest_unsent_s=3i,"
		"sent=348i,retried=6i,dropped=0i,quarantined=0i 1764403260000\n"
		"outfall_gateway,gateway=ls-ws-000123,sink=influx queue_depth=0i,"
		"oldest_unsent_s=0i,sent=360i,retried=0i,dropped=1i,quarantined=2i 1764403260000\n");
}

/* No sinks: the gateway line alone. Counters past INT64_MAX are pinned, a
 * sink without a usable name is named by its index, a full-length name is
 * read only to the end of its array. */
static void test_metrics_edges(void **state)
{
	struct record r = metrics_record();
	struct rec_metrics *m = &r.u.metrics;
	char want[BIG];

	(void)state;
	m->n_sinks = 0;
	expect_record("g", &r, 1,
		"outfall_gateway,gateway=g polls=360i,errors=3i,timeouts=2i,crc_errors=1i,"
		"exceptions=0i,outbox_corrupt=4i,outbox_io_errors=5i,late=0i 1764403260000\n");
	m->n_sinks = 3;
	m->polls = UINT64_MAX;
	m->sinks[0].name[0] = '\0';
	m->sinks[0].oldest_unsent_s = -1;
	snprintf(m->sinks[1].name, sizeof(m->sinks[1].name), "a b\\");
	memset(m->sinks[2].name, 'n', sizeof(m->sinks[2].name));
	snprintf(want, sizeof(want),
		 "outfall_gateway,gateway=g polls=9223372036854775807i,errors=3i,timeouts=2i,"
		 "crc_errors=1i,exceptions=0i,outbox_corrupt=4i,outbox_io_errors=5i,late=0i 1764403260000\n"
		 "outfall_gateway,gateway=g,sink=0 queue_depth=12i,oldest_unsent_s=-1i,"
		 "sent=348i,retried=6i,dropped=0i,quarantined=0i 1764403260000\n"
		 "outfall_gateway,gateway=g,sink=a\\ b queue_depth=0i,oldest_unsent_s=0i,"
		 "sent=360i,retried=0i,dropped=1i,quarantined=2i 1764403260000\n"
		 "outfall_gateway,gateway=g,sink=%.*s queue_depth=0i,oldest_unsent_s=0i,"
		 "sent=0i,retried=0i,dropped=0i,quarantined=0i 1764403260000\n",
		 (int)sizeof(m->sinks[2].name), m->sinks[2].name);
	expect_record("g", &r, 4, want);
}

static void test_aggregate_lines(void **state)
{
	struct record r = aggregate_record();

	(void)state;
	expect_record("ls-ws-000123", &r, 2,
		"outfall_aggregate,gateway=ls-ws-000123,outlet=WS-001,parameter=cod,period=hour"
		" avg=412.5,min=380.25,max=612.4,cou=20.625,count=360i 1764403200000\n"
		"outfall_aggregate,gateway=ls-ws-000123,outlet=WS-001,parameter=ph,period=hour"
		" avg=7.1,min=6.8,max=7.4,count=358i 1764403200000\n");
}

/* Every NaN statistic left out (count stays, so the line has a field); the
 * other periods; no outlet means no outlet tag. */
static void test_aggregate_nan_and_periods(void **state)
{
	struct record r = aggregate_record();
	struct rec_aggregate *a = &r.u.aggregate;

	(void)state;
	a->n = 1;
	a->params[0] = (struct rec_agg_param){ .param = P_FLOW, .count = 0, .avg = NAN,
					       .min = NAN, .max = NAN, .cou = NAN };
	a->period = AGG_MINUTE;
	expect_record("g", &r, 1,
		"outfall_aggregate,gateway=g,outlet=WS-001,parameter=flow,period=minute"
		" count=0i 1764403200000\n");
	a->period = AGG_DAY;
	a->outlet[0] = '\0';
	a->params[0].min = 0.5;
	a->params[0].count = UINT32_MAX;
	expect_record("g", &r, 1,
		"outfall_aggregate,gateway=g,parameter=flow,period=day"
		" min=0.5,count=4294967295i 1764403200000\n");
}

static void test_new_records_malformed(void **state)
{
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };
	struct record m = metrics_record();
	struct record a = aggregate_record();

	(void)state;
	data[0] = '\0';
	m.u.metrics.n_sinks = REC_MAX_SINKS + 1;
	assert_int_equal(lp_append_record(&b, "gw", &m), -EINVAL);
	a.u.aggregate.n = REC_MAX_VALUES + 1;
	assert_int_equal(lp_append_record(&b, "gw", &a), -EINVAL);
	a.u.aggregate.n = 1;
	a.u.aggregate.period = AGG_COUNT;
	assert_int_equal(lp_append_record(&b, "gw", &a), -EINVAL);
	a.u.aggregate.period = AGG_DAY;
	a.u.aggregate.n = 0;
	assert_int_equal(lp_append_record(&b, "gw", &a), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(data, "");
}

/* A reload event: one line, the summary escaped as a string field, an
 * outcome out of range refused. */
static void test_reload_line(void **state)
{
	struct record r = { .seq = 7, .ts_ms = 1764403217123, .type = REC_RELOAD };
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };

	(void)state;
	r.u.reload.outcome = RLD_APPLIED;
	r.u.reload.changes = 2;
	snprintf(r.u.reload.summary, sizeof(r.u.reload.summary),
		 "permit P-1: cod instant max 500 -> 400 mg/L; sensor \"probe1\": interval 10 -> 5 s");
	expect_record("gw 1", &r, 1, "outfall_reload,gateway=gw\\ 1,outcome=applied changes=2i,"
		      "summary=\"permit P-1: cod instant max 500 -> 400 mg/L; sensor \\\"probe1\\\": "
		      "interval 10 -> 5 s\",seq=7i 1764403217123\n");
	r.u.reload.outcome = RLD_REFUSED;
	r.u.reload.changes = 1;
	snprintf(r.u.reload.summary, sizeof(r.u.reload.summary), "1 error reading outfall.conf");
	expect_record("gw", &r, 1, "outfall_reload,gateway=gw,outcome=refused changes=1i,"
		      "summary=\"1 error reading outfall.conf\",seq=7i 1764403217123\n");
	r.u.reload.outcome = RLD_COUNT;
	data[0] = '\0';
	assert_int_equal(lp_append_record(&b, "gw", &r), -EINVAL);
	assert_int_equal(b.len, 0);
}

struct esc_case {
	const char *in;
	const char *measurement; /* expected escaped forms */
	const char *tag;         /* tag key and tag value */
	const char *field;       /* field key */
	const char *string;      /* string field value */
};

/* Expected forms checked against influxd 1.6 for an exact round trip,
 * except where a backslash cannot be encoded and is dropped. */
static const struct esc_case esc_cases[] = {
	{ "plain", "plain", "plain", "plain", "plain" },
	{ "a b", "a\\ b", "a\\ b", "a\\ b", "a b" },
	{ "a,b", "a\\,b", "a\\,b", "a\\,b", "a,b" },
	{ "a=b", "a=b", "a\\=b", "a\\=b", "a=b" },
	{ "say \"hi\"", "say\\ \"hi\"", "say\\ \"hi\"", "say\\ \"hi\"", "say \\\"hi\\\"" },
	{ "a\nb\rc\td", "a\\ b\\ c\\ d", "a\\ b\\ c\\ d", "a\\ b\\ c\\ d", "a b c d" },
	{ "丽水 某,公司=甲", "丽水\\ 某\\,公司=甲", "丽水\\ 某\\,公司\\=甲", "丽水\\ 某\\,公司\\=甲",
	  "丽水 某,公司=甲" },
	/* backslashes: literal in names as InfluxDB reads them, dropped where
	 * they cannot be encoded; escaped in string values */
	{ "a\\b", "a\\b", "a\\b", "a\\b", "a\\\\b" },
	{ "a\\", "a", "a", "a", "a\\\\" },
	{ "a\\\\", "a", "a", "a", "a\\\\\\\\" },
	{ "a\\ b", "a\\ b", "a\\\\ b", "a\\ b", "a\\\\ b" },
	{ "a\\\\,b", "a\\,b", "a\\\\\\,b", "a\\,b", "a\\\\\\\\,b" },
	{ "a\\=b", "a=b", "a\\\\=b", "a\\=b", "a\\\\=b" },
	{ "a\\\nb", "a\\ b", "a\\\\ b", "a\\ b", "a\\\\ b" },
	{ "a\\\\b", "a\\\\b", "a\\\\b", "a\\\\b", "a\\\\\\\\b" },
};

/* Every escaping case in every position of one point. */
static void test_escaping_positions(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char data[BIG], want[BIG];
		struct lp_buf b = { data, 0, sizeof(data) };
		struct lp_point p;

		lp_begin(&p, &b, c->in);
		lp_tag(&p, c->in, c->in);
		lp_field_str(&p, c->in, c->in);
		assert_int_equal(lp_end(&p, 5), 0);
		snprintf(want, sizeof(want), "%s,%s=%s %s=\"%s\" 5\n", c->measurement, c->tag,
			 c->tag, c->field, c->string);
		assert_string_equal(data, want);
	}
}

static void test_builder_types(void **state)
{
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };
	struct lp_point p;

	(void)state;
	lp_begin(&p, &b, "m");
	lp_tag(&p, "empty", "");
	lp_tag(&p, "null", NULL);
	lp_tag(&p, "t", "v");
	lp_field_float(&p, "nan", NAN);
	lp_field_float(&p, "f", -0.000123456789012);
	lp_field_float(&p, "big", 123456789012345.0);
	lp_field_int(&p, "i", -9223372036854775807LL - 1);
	lp_field_str(&p, "s", "");
	lp_field_bool(&p, "yes", true);
	lp_field_bool(&p, "no", false);
	lp_field_value(&p, "f32", 183.9f, RV_F32);
	lp_field_value(&p, "f64", 183.9f, 0);
	lp_field_value(&p, "inf", INFINITY, RV_F32);
	assert_int_equal(lp_end(&p, -1), 0);
	assert_string_equal(data, "m,t=v f=-0.000123456789,big=1.23456789e+14,"
				  "i=-9223372036854775808i,s=\"\",yes=true,no=false,"
				  "f32=183.9,f64=183.8999939 -1\n");
}

/* Misuse fails the whole point and leaves what was there before. */
static void test_builder_errors(void **state)
{
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };
	struct lp_point p;

	(void)state;
	memcpy(data, "keep\n", 6);
	b.len = 5;
	lp_begin(&p, &b, "m");
	lp_field_int(&p, "f", 1);
	lp_tag(&p, "late", "tag");
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	assert_string_equal(data, "keep\n");

	lp_begin(&p, &b, "m");
	lp_tag(&p, "t", "v");
	assert_int_equal(lp_end(&p, 1), -EINVAL); /* no field */
	lp_begin(&p, &b, "m");
	lp_field_float(&p, "only_nan", NAN);
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	lp_begin(&p, &b, "");
	lp_field_int(&p, "f", 1);
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	lp_begin(&p, &b, "m");
	lp_tag(&p, "", "v");
	lp_field_int(&p, "f", 1);
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	lp_begin(&p, &b, "m");
	lp_field_int(&p, "", 1);
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	lp_begin(&p, &b, "m");
	lp_tag(&p, "\\\\", "v"); /* nothing left once trailing '\\' go */
	lp_field_int(&p, "f", 1);
	assert_int_equal(lp_end(&p, 1), -EINVAL);
	assert_int_equal(b.len, 5);
	lp_begin(&p, &b, "m\\");
	lp_tag(&p, "t", "\\"); /* empty once trimmed: left out */
	lp_field_int(&p, "f\\", 1);
	assert_int_equal(lp_end(&p, 1), 0);
	assert_string_equal(data, "keep\nm f=1i 1\n");
	b.len = 5;
	data[5] = '\0';
	assert_string_equal(data, "keep\n");
}

/*
 * For every capacity too small for the record, -ENOSPC and the buffer as it
 * was (earlier content intact, still NUL-terminated); one byte more for the
 * NUL and it fits.
 */
static void check_enospc(const struct record *r, int lines)
{
	static const char prefix[] = "prev 1\n";
	char full[BIG], data[BIG];
	struct lp_buf b = { full, 0, sizeof(full) };
	size_t need;

	assert_int_equal(lp_append_record(&b, "gw", r), lines);
	need = sizeof(prefix) - 1 + b.len + 1;
	for (size_t cap = 0; cap < need; cap++) {
		size_t before = cap >= sizeof(prefix) ? sizeof(prefix) - 1 : 0;

		memset(data, 'Z', sizeof(data));
		if (before)
			memcpy(data, prefix, sizeof(prefix));
		else if (cap)
			data[0] = '\0';
		b = (struct lp_buf){ data, before, cap };
		assert_int_equal(lp_append_record(&b, "gw", r), -ENOSPC);
		assert_int_equal(b.len, before);
		assert_memory_equal(data, prefix, before);
		if (cap)
			assert_int_equal(data[before], '\0');
		for (size_t i = cap; i < need + 1; i++)
			assert_int_equal(data[i], 'Z'); /* never written past cap */
	}
	memcpy(data, prefix, sizeof(prefix));
	b = (struct lp_buf){ data, sizeof(prefix) - 1, need };
	assert_int_equal(lp_append_record(&b, "gw", r), lines);
	assert_int_equal(b.len, need - 1);
	assert_memory_equal(data, prefix, sizeof(prefix) - 1);
	assert_string_equal(data + sizeof(prefix) - 1, full);
}

static void test_enospc_poll(void **state)
{
	struct record r = poll_record();

	(void)state;
	check_enospc(&r, 4);
}

static void test_enospc_alert(void **state)
{
	struct record r = alert_record();

	(void)state;
	check_enospc(&r, 1);
}

static void test_enospc_metrics(void **state)
{
	struct record r = metrics_record();

	(void)state;
	check_enospc(&r, 3);
}

static void test_enospc_aggregate(void **state)
{
	struct record r = aggregate_record();

	(void)state;
	check_enospc(&r, 2);
}

static void test_enospc_builder(void **state)
{
	char data[16];
	struct lp_buf b = { data, 0, sizeof(data) };
	struct lp_point p;

	(void)state;
	lp_begin(&p, &b, "m");
	lp_field_str(&p, "s", "0123456789");
	assert_int_equal(lp_end(&p, 1), -ENOSPC);
	assert_int_equal(b.len, 0);
	assert_string_equal(data, "");
	b = (struct lp_buf){ NULL, 0, 0 };
	lp_begin(&p, &b, "m");
	lp_field_int(&p, "i", 1);
	assert_int_equal(lp_end(&p, 1), -ENOSPC);
}

/* Float32 readings at their precision; maintenance and implausible flags. */
static void test_poll_float32_and_flags(void **state)
{
	struct record r = poll_record();

	(void)state;
	r.u.poll.n = 5;
	r.u.poll.values[0] = (struct rec_value){ 183.9f, P_COD, Q_OK, RV_F32 };
	r.u.poll.values[1] = (struct rec_value){ 183.9f, P_BOD5, Q_OK, 0 };
	r.u.poll.values[2] = (struct rec_value){ 4.17e-08f, P_NH3N, Q_INVALID,
						 RV_F32 | RV_IMPLAUSIBLE };
	r.u.poll.values[3] = (struct rec_value){ (double)12.3f * 3.6, P_FLOW, Q_OK,
						 RV_F32 | RV_MAINTENANCE };
	r.u.poll.values[4] = (struct rec_value){ 7.1f, P_PH, Q_OK, RV_F32 | RV_CALIBRATION };
	expect_record("gw", &r, 5,
		"outfall_reading,gateway=gw,outlet=WS-001,sensor=probe1,parameter=cod"
		" value=183.9,q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,outlet=WS-001,sensor=probe1,parameter=bod5"
		" value=183.8999939,q=\"ok\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,outlet=WS-001,sensor=probe1,parameter=nh3n"
		" q=\"invalid\",cause=\"implausible\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,outlet=WS-001,sensor=probe1,parameter=flow"
		" value=44.28,q=\"ok\",flag=\"M\",seq=42i 1764403217000\n"
		"outfall_reading,gateway=gw,outlet=WS-001,sensor=probe1,parameter=ph"
		" value=7.1,q=\"ok\",flag=\"C\",seq=42i 1764403217000\n");
}

static void test_alert_float32_and_unhealthy(void **state)
{
	struct record r = alert_record();
	struct rec_alert *a = &r.u.alert;

	(void)state;
	a->value = 612.4f;
	a->peak = 655.3f;
	a->value_flags = RV_F32;
	a->unhealthy = 1;
	a->sensor_health = Q_NO_RESPONSE;
	snprintf(a->sensor, sizeof(a->sensor), "probe1");
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,parameter=cod,kind=limit_exceeded,"
		"rule=instant,sensor=probe1 state=\"raised\",value=612.4,limit=500,peak=655.3,"
		"ratio=1.22,permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",sensor_health=\"no_response\","
		"sensor_unhealthy=true,"
		"id=\"ls-ws-000123/WS-001/cod/instant/1764403217000\",seq=1042i 1764403217000\n");
}

static void test_alert_sensor_fault_line(void **state)
{
	struct record r = alert_record();
	struct rec_alert *a = &r.u.alert;

	(void)state;
	snprintf(a->id, sizeof(a->id), "gw/WS-001/no_response-probe1/1764403217000");
	snprintf(a->sensor, sizeof(a->sensor), "probe1");
	a->kind = AK_SENSOR_FAULT;
	a->limit = 3.0; /* a poll count: no limit field */
	a->value = 3.0; /* likewise: no value field */
	a->peak = NAN;
	a->sensor_health = Q_NO_RESPONSE;
	a->cause = FC_NO_RESPONSE;
	a->n_params = 3;
	a->params[0] = P_COD;
	a->params[1] = P_PH;
	a->params[2] = P_OIL_PETROLEUM;
	a->polls_missed = 3;
	a->last_answer_ms = r.ts_ms - 30000;
	a->unhealthy = 1;
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,kind=sensor_fault,rule=no_response,"
		"sensor=probe1 state=\"raised\",cause=\"no_response\","
		"parameters=\"cod,ph,oil_petroleum\",polls_missed=3i,"
		"last_answer=\"2025-11-29T07:59:47.000Z\","
		"permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",sensor_health=\"no_response\","
		"sensor_unhealthy=true,id=\"gw/WS-001/no_response-probe1/1764403217000\","
		"seq=1042i 1764403217000\n");
	/* cleared when it answered again, with the out-of-range reading */
	a->state = ALERT_CLEARED;
	a->cause = FC_OUT_OF_RANGE;
	a->param = P_PH;
	a->value = 15.2f;
	a->peak = 15.7f;
	a->value_flags = RV_F32;
	a->n_params = 0;
	a->last_answer_ms = 0;
	a->polls_missed = 0;
	a->until_ms = r.ts_ms + 61000;
	snprintf(a->note, sizeof(a->note), "ph 15.2: above 14");
	r.ts_ms = a->until_ms;
	a->reason = CR_SENSOR_RECOVERED;
	a->unhealthy = 0;
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,parameter=ph,kind=sensor_fault,"
		"rule=out_of_range,sensor=probe1 state=\"cleared\",value=15.2,peak=15.7,"
		"cause=\"out_of_range\",parameters=\"\",polls_missed=0i,"
		"permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",until=\"2025-11-29T08:01:18.000Z\","
		"duration_s=61i,reason=\"sensor_recovered\",note=\"ph 15.2: above 14\","
		"sensor_health=\"no_response\","
		"sensor_unhealthy=false,id=\"gw/WS-001/no_response-probe1/1764403217000\","
		"seq=1042i 1764403278000\n");
}

static void test_alert_gap_expiring_and_note(void **state)
{
	struct record r = alert_record();
	struct rec_alert *a = &r.u.alert;

	(void)state;
	a->kind = AK_DATA_GAP;
	a->limit = 60.0;
	a->value = 1.0;
	a->gap_s = 900;
	a->coverage_pct = 74.96;
	snprintf(a->id, sizeof(a->id), "i");
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,parameter=cod,kind=data_gap"
		" state=\"raised\",gap_s=900i,coverage=75,"
		"permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",sensor_health=\"ok\","
		"sensor_unhealthy=false,id=\"i\",seq=1042i 1764403217000\n");
	a->kind = AK_PERMIT_EXPIRING;
	a->days_left = 29;
	a->permit[0] = '\0';
	a->holder[0] = '\0';
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,kind=permit_expiring"
		" state=\"raised\",days_left=29i,permit=\"\",holder=\"\","
		"since=\"2025-11-29T08:00:17.000Z\",sensor_health=\"ok\","
		"sensor_unhealthy=false,id=\"i\",seq=1042i 1764403217000\n");
	/* closed by the operator: the note, escaped for a string field */
	r = alert_record();
	a->state = ALERT_CLEARED;
	a->reason = CR_CLOSED_BY_OPERATOR;
	a->until_ms = a->since_ms + 7200000;
	snprintf(a->note, sizeof(a->note), "wiper \"stuck\"\\n");
	snprintf(a->id, sizeof(a->id), "i");
	expect_record("gw", &r, 1,
		"outfall_alert,gateway=gw,outlet=WS-001,parameter=cod,kind=limit_exceeded,"
		"rule=instant state=\"cleared\",value=612.4,limit=500,peak=612.4,ratio=1.22,"
		"permit=\"浙丽排字第2023-0042号\",holder=\"丽水某食品有限公司\","
		"since=\"2025-11-29T08:00:17.000Z\",until=\"2025-11-29T10:00:17.000Z\","
		"duration_s=7200i,reason=\"closed_by_operator\",note=\"wiper \\\"stuck\\\"\\\\n\","
		"sensor_health=\"ok\",sensor_unhealthy=false,id=\"i\",seq=1042i 1764403217000\n");
	a->n_params = REC_MAX_VALUES + 1;
	{
		char data[BIG];
		struct lp_buf b = { data, 0, sizeof(data) };

		assert_int_equal(lp_append_record(&b, "gw", &r), -EINVAL);
		assert_int_equal(b.len, 0);
	}
}

static void test_enospc_alert_evidence(void **state)
{
	struct record r = alert_record();
	struct rec_alert *a = &r.u.alert;

	(void)state;
	a->kind = AK_SENSOR_FAULT;
	a->cause = FC_FLAT_LINE;
	a->n_params = REC_MAX_VALUES;
	for (int i = 0; i < REC_MAX_VALUES; i++)
		a->params[i] = (uint8_t)i;
	a->last_answer_ms = r.ts_ms;
	a->state = ALERT_CLEARED;
	a->reason = CR_LIMIT_CHANGED;
	memset(a->note, 'n', sizeof(a->note));
	check_enospc(&r, 1);
}

/* ---- outfall_limit ------------------------------------------------------ */

/* Two outlets on one permit with a Chinese number holding a space and a
 * comma, an outlet id with a space, a storm outlet without a permit. */
struct limits_fx {
	struct cfg_limit limits[4];
	struct cfg_permit permits[1];
	struct cfg_outlet outlets[3];
	struct config cfg;
};

static void limits_fx_init(struct limits_fx *f)
{
	memset(f, 0, sizeof(*f));
	f->limits[0] = (struct cfg_limit){ .param = P_PH, .has_min = true, .min = 6.5,
					   .has_max = true, .max = 9.5, .basis = BASIS_INSTANT };
	f->limits[1] = (struct cfg_limit){ .param = P_COD, .has_max = true, .max = 500,
					   .basis = BASIS_INSTANT };
	f->limits[2] = (struct cfg_limit){ .param = P_COD, .has_max = true, .max = 400,
					   .basis = BASIS_ROLLING, .window_min = 60 };
	f->limits[3] = (struct cfg_limit){ .param = P_NH3N, .has_max = true, .max = 45.25,
					   .basis = BASIS_DAILY_MEAN };
	f->permits[0] = (struct cfg_permit){
		.number = "浙丽排字 第2023,0042号", .holder = "丽水某食品有限公司",
		.has_daily_volume = true, .daily_volume_max_m3 = 120,
		.limits = f->limits, .n_limits = 4,
	};
	f->outlets[0] = (struct cfg_outlet){ .id = "WS-001", .permit = 0 };
	f->outlets[1] = (struct cfg_outlet){ .id = "YS-001", .kind = OUTLET_STORM, .permit = -1 };
	f->outlets[2] = (struct cfg_outlet){ .id = "WS 002,b=c", .permit = 0 };
	f->cfg.id = "ls-ws-000123";
	f->cfg.permits = f->permits;
	f->cfg.n_permits = 1;
	f->cfg.outlets = f->outlets;
	f->cfg.n_outlets = 3;
}

#define LIM_TAGS(outlet, param, basis) \
	"outfall_limit,gateway=ls\\ gw,outlet=" outlet ",parameter=" param ",basis=" basis \
	",permit=浙丽排字\\ 第2023\\,0042号"

static void test_limit_lines(void **state)
{
	struct limits_fx f;
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };
	const char *want =
		LIM_TAGS("WS-001", "ph", "instant") " min=6.5,max=9.5 1764403217000\n"
		LIM_TAGS("WS-001", "cod", "instant") " max=500 1764403217000\n"
		LIM_TAGS("WS-001", "cod", "rolling") " max=400,window_min=60i 1764403217000\n"
		LIM_TAGS("WS-001", "nh3n", "daily_mean") " max=45.25 1764403217000\n"
		LIM_TAGS("WS-001", "volume", "daily") " max=120 1764403217000\n"
		LIM_TAGS("WS\\ 002\\,b\\=c", "ph", "instant") " min=6.5,max=9.5 1764403217000\n"
		LIM_TAGS("WS\\ 002\\,b\\=c", "cod", "instant") " max=500 1764403217000\n"
		LIM_TAGS("WS\\ 002\\,b\\=c", "cod", "rolling")
		" max=400,window_min=60i 1764403217000\n"
		LIM_TAGS("WS\\ 002\\,b\\=c", "nh3n", "daily_mean") " max=45.25 1764403217000\n"
		LIM_TAGS("WS\\ 002\\,b\\=c", "volume", "daily") " max=120 1764403217000\n";

	(void)state;
	limits_fx_init(&f);
	data[0] = '\0';
	assert_int_equal(lp_append_limits(&b, "ls gw", &f.cfg, 1764403217000), 10);
	assert_string_equal(data, want);
	assert_int_equal(b.len, strlen(want));
}

/* A min-only limit, no volume cap, a limit with no side at all (left out);
 * no permit anywhere gives no line. */
static void test_limit_sides_and_none(void **state)
{
	struct limits_fx f;
	char data[BIG];
	struct lp_buf b = { data, 0, sizeof(data) };

	(void)state;
	limits_fx_init(&f);
	f.limits[0] = (struct cfg_limit){ .param = P_PH, .has_min = true, .min = 6,
					  .basis = BASIS_HOURLY_MEAN };
	f.limits[1].has_max = false;
	f.permits[0].n_limits = 2;
	f.permits[0].has_daily_volume = false;
	f.cfg.n_outlets = 1;
	data[0] = '\0';
	assert_int_equal(lp_append_limits(&b, "g", &f.cfg, 5), 1);
	assert_string_equal(data, "outfall_limit,gateway=g,outlet=WS-001,parameter=ph,"
			    "basis=hourly_mean,permit=浙丽排字\\ 第2023\\,0042号 min=6 5\n");
	f.outlets[0].permit = -1;
	b.len = 0;
	data[0] = '\0';
	assert_int_equal(lp_append_limits(&b, "g", &f.cfg, 5), 0);
	assert_int_equal(b.len, 0);
}

/* All or nothing: at every size short of the whole, -ENOSPC and the buffer
 * as it was, its earlier content kept. */
static void test_limit_enospc(void **state)
{
	struct limits_fx f;
	char full[BIG], data[BIG];
	struct lp_buf b = { full, 0, sizeof(full) };
	int n;
	size_t need;

	(void)state;
	limits_fx_init(&f);
	n = lp_append_limits(&b, "g", &f.cfg, 1);
	assert_int_equal(n, 10);
	need = b.len + 1;
	for (size_t cap = 3; cap < need; cap += 7) {
		struct lp_buf s = { data, 2, cap };

		memcpy(data, "x\n", 3);
		assert_int_equal(lp_append_limits(&s, "g", &f.cfg, 1), -ENOSPC);
		assert_int_equal(s.len, 2);
		assert_string_equal(data, "x\n");
	}
	b = (struct lp_buf){ data, 0, need };
	assert_int_equal(lp_append_limits(&b, "g", &f.cfg, 1), 10);
	assert_string_equal(data, full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poll_values),
		cmocka_unit_test(test_poll_nan_and_no_outlet),
		cmocka_unit_test(test_poll_empty_and_malformed),
		cmocka_unit_test(test_poll_unterminated_names),
		cmocka_unit_test(test_alert_line),
		cmocka_unit_test(test_alert_escaping),
		cmocka_unit_test(test_metrics_lines),
		cmocka_unit_test(test_metrics_edges),
		cmocka_unit_test(test_aggregate_lines),
		cmocka_unit_test(test_aggregate_nan_and_periods),
		cmocka_unit_test(test_new_records_malformed),
		cmocka_unit_test(test_reload_line),
		cmocka_unit_test(test_escaping_positions),
		cmocka_unit_test(test_builder_types),
		cmocka_unit_test(test_builder_errors),
		cmocka_unit_test(test_enospc_poll),
		cmocka_unit_test(test_enospc_alert),
		cmocka_unit_test(test_enospc_metrics),
		cmocka_unit_test(test_enospc_aggregate),
		cmocka_unit_test(test_enospc_builder),
		cmocka_unit_test(test_poll_float32_and_flags),
		cmocka_unit_test(test_alert_float32_and_unhealthy),
		cmocka_unit_test(test_alert_sensor_fault_line),
		cmocka_unit_test(test_alert_gap_expiring_and_note),
		cmocka_unit_test(test_enospc_alert_evidence),
		cmocka_unit_test(test_limit_lines),
		cmocka_unit_test(test_limit_sides_and_none),
		cmocka_unit_test(test_limit_enospc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
