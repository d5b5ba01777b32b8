/* test_payload.c - MQTT JSON payloads (telemetry, alert, aggregate,
 * metrics, reload, status) parsed back with cJSON, escaping, null for meaningless
 * values, ENOSPC at every short capacity, topics. The alert evidence of
 * DESIGN §5 is in test_payload_alert.c. */
#include "payload_fixture.h"

static struct record agg_rec(void)
{
	struct record r = { .seq = 77, .ts_ms = 1764403200000LL, .type = REC_AGGREGATE };
	struct rec_aggregate *a = &r.u.aggregate;

	set(a->outlet, sizeof(a->outlet), "WS-001");
	a->period = AGG_MINUTE;
	a->end_ms = 1764403260000LL;
	a->n = 2;
	a->params[0] = (struct rec_agg_param){ .param = P_COD, .count = 6, .avg = 412.5,
					       .min = 380.25, .max = 455, .cou = 0.75 };
	a->params[1] = (struct rec_agg_param){ .param = P_FLOW, .count = 0, .avg = NAN,
					       .min = NAN, .max = INFINITY, .cou = NAN };
	return r;
}

static struct record metrics_rec(void)
{
	struct record r = { .seq = 9001, .ts_ms = T0, .type = REC_METRICS };
	struct rec_metrics *m = &r.u.metrics;

	m->polls = 12345;
	m->errors = 12;
	m->timeouts = 7;
	m->crc_errors = 3;
	m->exceptions = 2;
	m->outbox_corrupt = 1;
	m->outbox_io_errors = 0;
	m->late = 4;
	m->n_sinks = 2;
	m->sinks[0] = (struct rec_sink_metrics){ .name = "mqtt", .queue_depth = 40,
						 .oldest_unsent_s = 95, .sent = 12000,
						 .retried = 64, .dropped = 5, .quarantined = 1 };
	m->sinks[1] = (struct rec_sink_metrics){ .name = "influx", .queue_depth = 18446744073709551615ULL,
						 .oldest_unsent_s = -1, .sent = 0 };
	return r;
}

static void assert_keys(const cJSON *o, const char *const *keys, size_t n)
{
	const cJSON *it = o->child;

	for (size_t i = 0; i < n; i++, it = it->next) {
		assert_non_null(it);
		assert_string_equal(it->string, keys[i]);
	}
	assert_null(it);
}

static void test_telemetry_exact(void **state)
{
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];
	int n = payload_telemetry(buf, sizeof(buf), &r);

	(void)state;
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T08:00:17.123Z\",\"seq\":42,"
				 "\"outlet\":\"WS-001\",\"sensor\":\"probe1\",\"values\":"
				 "{\"cod\":{\"v\":612.4,\"unit\":\"mg/L\",\"q\":\"ok\"}}}");
	assert_int_equal(n, (int)strlen(buf));
	r.flags = REC_F_CLOCK_UNSYNCED;
	payload_telemetry(buf, sizeof(buf), &r);
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T08:00:17.123Z\",\"clock\":\"unsynced\","
				 "\"seq\":42,\"outlet\":\"WS-001\",\"sensor\":\"probe1\","
				 "\"values\":{\"cod\":{\"v\":612.4,\"unit\":\"mg/L\",\"q\":\"ok\"}}}");
}

/* Each value: v as expected (NAN meaning null), unit and quality name. */
static const struct {
	struct rec_value in;
	double v;
	const char *unit;
	const char *q;
} value_cases[] = {
	{ { 612.4, P_COD, Q_OK, 0 }, 612.4, "mg/L", "ok" },
	{ { 14.5, P_PH, Q_OUT_OF_RANGE, 0 }, 14.5, "pH", "out_of_range" },
	{ { 5.0, P_NH3N, Q_NO_RESPONSE, 0 }, NAN, "mg/L", "no_response" },
	{ { NAN, P_TEMP, Q_OK, 0 }, NAN, "degC", "ok" },
	{ { INFINITY, P_FLOW, Q_OK, 0 }, NAN, "m3/h", "ok" },
	{ { 3.0, P_SS, Q_INVALID, 0 }, NAN, "mg/L", "invalid" },
	{ { 1e-300, P_TP, Q_OK, 0 }, 1e-300, "mg/L", "ok" },
	{ { 12345678.9, P_VOLUME_TOTAL, Q_OK, 0 }, 12345678.9, "m3", "ok" },
	{ { -0.25, P_CONDUCTIVITY, Q_OK, 0 }, -0.25, "uS/cm", "ok" },
};

#define N_VALUE_CASES (sizeof(value_cases) / sizeof(value_cases[0]))

static void check_value(const cJSON *values, size_t i)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(values, param_name(value_cases[i].in.param));
	static const char *const keys[] = { "v", "unit", "q" };

	assert_non_null(o);
	assert_keys(o, keys, 3);
	if (isnan(value_cases[i].v))
		assert_null_item(o, "v");
	else
		assert_float_equal(num(o, "v"), value_cases[i].v, fabs(value_cases[i].v) * 1e-9);
	assert_string_equal(str(o, "unit"), value_cases[i].unit);
	assert_string_equal(str(o, "q"), value_cases[i].q);
}

static void test_telemetry_values(void **state)
{
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];
	static const char *const keys[] = { "ts", "seq", "outlet", "sensor", "values" };
	cJSON *doc;

	(void)state;
	r.u.poll.n = N_VALUE_CASES;
	for (size_t i = 0; i < N_VALUE_CASES; i++)
		r.u.poll.values[i] = value_cases[i].in;
	doc = parse(buf, payload_telemetry(buf, sizeof(buf), &r));
	assert_keys(doc, keys, 5);
	assert_string_equal(str(doc, "ts"), "2025-11-29T08:00:17.123Z");
	assert_true(num(doc, "seq") == 42);
	assert_string_equal(str(doc, "outlet"), "WS-001");
	assert_string_equal(str(doc, "sensor"), "probe1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "values")), N_VALUE_CASES);
	for (size_t i = 0; i < N_VALUE_CASES; i++)
		check_value(cJSON_GetObjectItem(doc, "values"), i);
	cJSON_Delete(doc);
}

static void test_telemetry_escaping(void **state)
{
	static const char *const names[] = {
		"pro\"be", "back\\slash", "tab\there", "nl\nand\x01\x1f", "探头一号", "\"\\\"",
	};
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cJSON *doc;

		set(r.u.poll.sensor, sizeof(r.u.poll.sensor), names[i]);
		set(r.u.poll.outlet, sizeof(r.u.poll.outlet), names[i]);
		doc = parse(buf, payload_telemetry(buf, sizeof(buf), &r));
		assert_string_equal(str(doc, "sensor"), names[i]);
		assert_string_equal(str(doc, "outlet"), names[i]);
		cJSON_Delete(doc);
	}
	/* control characters use the \u00XX form, never raw bytes */
	set(r.u.poll.sensor, sizeof(r.u.poll.sensor), "a\x01z");
	payload_telemetry(buf, sizeof(buf), &r);
	assert_non_null(strstr(buf, "\"a\\u0001z\""));
}

static void test_telemetry_unassigned_and_unterminated(void **state)
{
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];
	char want[REC_NAME + 1];
	cJSON *doc;

	(void)state;
	r.u.poll.outlet[0] = '\0';
	memset(r.u.poll.sensor, 'S', sizeof(r.u.poll.sensor)); /* no NUL at all */
	r.u.poll.n = 0;
	doc = parse(buf, payload_telemetry(buf, sizeof(buf), &r));
	assert_null_item(doc, "outlet");
	memset(want, 'S', REC_NAME);
	want[REC_NAME] = '\0';
	assert_string_equal(str(doc, "sensor"), want);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "values")), 0);
	cJSON_Delete(doc);
}

static void test_telemetry_rejects_bad_records(void **state)
{
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	r.u.poll.n = REC_MAX_VALUES + 1;
	assert_int_equal(payload_telemetry(buf, sizeof(buf), &r), -EINVAL);
	r = alert_rec();
	assert_int_equal(payload_telemetry(buf, sizeof(buf), &r), -EINVAL);
	r = poll_rec();
	assert_int_equal(payload_alert(buf, sizeof(buf), "gw", &r), -EINVAL);
}

/* The DESIGN §6 example, byte for byte but for 500.0 printing as 500. */
static void test_alert_exact(void **state)
{
	struct record r = alert_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	assert_true(payload_alert(buf, sizeof(buf), "ls-ws-000123", &r) > 0);
	assert_string_equal(buf,
		"{\"id\":\"ls-ws-000123/WS-001/cod/instant/1764403217000\",\"seq\":1042,"
		"\"ts\":\"2025-11-29T08:00:17.000Z\",\"state\":\"raised\",\"kind\":\"limit_exceeded\","
		"\"outlet\":\"WS-001\",\"permit\":\"" PERMIT "\",\"holder\":\"" HOLDER "\","
		"\"parameter\":\"cod\",\"unit\":\"mg/L\",\"basis\":\"instant\",\"window_min\":null,"
		"\"limit\":500,\"value\":612.4,\"peak\":612.4,\"ratio\":1.22,"
		"\"since\":\"2025-11-29T08:00:17.000Z\","
		"\"sensor\":\"probe1\",\"sensor_health\":\"ok\",\"sensor_unhealthy\":false}");
}

static const char *const raised_keys[] = {
	"id", "seq", "ts", "state", "kind", "outlet", "permit", "holder", "parameter", "unit",
	"basis", "window_min", "limit", "value", "peak", "ratio", "since", "sensor",
	"sensor_health", "sensor_unhealthy",
};

static const char *const cleared_keys[] = {
	"id", "seq", "ts", "state", "kind", "outlet", "permit", "holder", "parameter", "unit",
	"basis", "window_min", "limit", "value", "peak", "ratio", "since", "until",
	"duration_s", "reason", "sensor", "sensor_health", "sensor_unhealthy",
};

static void test_alert_raised_fields(void **state)
{
	struct record r = alert_rec();
	char buf[PAYLOAD_MAX];
	cJSON *doc;

	(void)state;
	doc = parse(buf, payload_alert(buf, sizeof(buf), "gw", &r));
	assert_keys(doc, raised_keys, sizeof(raised_keys) / sizeof(raised_keys[0]));
	assert_string_equal(str(doc, "id"), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	assert_true(num(doc, "seq") == 1042);
	assert_string_equal(str(doc, "state"), "raised");
	assert_string_equal(str(doc, "kind"), "limit_exceeded");
	assert_string_equal(str(doc, "permit"), PERMIT);
	assert_string_equal(str(doc, "holder"), HOLDER);
	assert_string_equal(str(doc, "parameter"), "cod");
	assert_string_equal(str(doc, "unit"), "mg/L");
	assert_string_equal(str(doc, "basis"), "instant");
	assert_null_item(doc, "window_min");
	assert_true(num(doc, "limit") == 500.0);
	assert_true(num(doc, "value") == 612.4);
	assert_true(num(doc, "peak") == 612.4);
	assert_true(num(doc, "ratio") == 1.22);
	assert_string_equal(str(doc, "since"), "2025-11-29T08:00:17.000Z");
	assert_null(cJSON_GetObjectItem(doc, "until"));
	assert_null(cJSON_GetObjectItem(doc, "reason"));
	assert_null(cJSON_GetObjectItem(doc, "note"));
	assert_string_equal(str(doc, "sensor_health"), "ok");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(doc, "sensor_unhealthy")));
	cJSON_Delete(doc);
}

static void test_alert_cleared_rolling(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];
	cJSON *doc;

	(void)state;
	a->state = ALERT_CLEARED;
	a->basis = BASIS_ROLLING;
	a->window_min = 60;
	a->limit = 400.0;
	a->value = 380.5;
	a->peak = 655.25;
	a->until_ms = 1764406817000LL;
	a->sensor_health = Q_OUT_OF_RANGE;
	a->reason = CR_BACK_INSIDE;
	r.ts_ms = a->until_ms;
	doc = parse(buf, payload_alert(buf, sizeof(buf), "gw", &r));
	assert_keys(doc, cleared_keys, sizeof(cleared_keys) / sizeof(cleared_keys[0]));
	assert_string_equal(str(doc, "state"), "cleared");
	assert_string_equal(str(doc, "basis"), "rolling");
	assert_true(num(doc, "window_min") == 60);
	assert_true(num(doc, "peak") == 655.25);
	assert_true(num(doc, "ratio") == 0.951);
	assert_string_equal(str(doc, "since"), "2025-11-29T08:00:17.000Z");
	assert_string_equal(str(doc, "until"), "2025-11-29T09:00:17.000Z");
	assert_true(num(doc, "duration_s") == 3600);
	assert_string_equal(str(doc, "reason"), "back_inside");
	assert_string_equal(str(doc, "sensor_health"), "out_of_range");
	cJSON_Delete(doc);
}

static void test_alert_names_and_missing_parts(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];
	cJSON *doc;

	(void)state;
	a->id[0] = '\0';
	a->permit[0] = '\0';
	a->holder[0] = '\0';
	a->sensor[0] = '\0';
	a->kind = AK_STORM_SEWAGE;
	a->basis = BASIS_DAILY_MEAN;
	a->value = NAN;
	set(a->outlet, sizeof(a->outlet), "Y\"S\\-2");
	doc = parse(buf, payload_alert(buf, sizeof(buf), "gw-1", &r));
	assert_string_equal(str(doc, "id"), "gw-1/Y\"S\\-2/cod/daily_mean/1764403217000");
	assert_string_equal(str(doc, "outlet"), "Y\"S\\-2");
	assert_string_equal(str(doc, "kind"), "storm_sewage");
	assert_null_item(doc, "permit");
	assert_null_item(doc, "holder");
	assert_null_item(doc, "sensor");
	assert_null_item(doc, "value");
	assert_null_item(doc, "window_min");
	assert_null_item(doc, "ratio"); /* no value: no ratio either */
	cJSON_Delete(doc);
}

static void test_status(void **state)
{
	static const char *const keys[] = { "state", "version", "started" };
	char buf[256];
	cJSON *doc;

	(void)state;
	doc = parse(buf, payload_status(buf, sizeof(buf), "online", "0.1.0", T0));
	assert_keys(doc, keys, 3);
	assert_string_equal(str(doc, "state"), "online");
	assert_string_equal(str(doc, "version"), "0.1.0");
	assert_string_equal(str(doc, "started"), "2025-11-29T08:00:17.123Z");
	cJSON_Delete(doc);
	assert_true(payload_status(buf, sizeof(buf), "offline", "0.1.0", T0) > 0);
	assert_string_equal(buf, "{\"state\":\"offline\",\"version\":\"0.1.0\","
				 "\"started\":\"2025-11-29T08:00:17.123Z\"}");
}

static void test_aggregate_exact(void **state)
{
	struct record r = agg_rec();
	char buf[PAYLOAD_MAX];
	int n;

	(void)state;
	r.u.aggregate.n = 1;
	n = payload_aggregate(buf, sizeof(buf), &r);
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T08:00:00.000Z\","
				 "\"end\":\"2025-11-29T08:01:00.000Z\",\"seq\":77,"
				 "\"outlet\":\"WS-001\",\"period\":\"minute\",\"values\":"
				 "{\"cod\":{\"avg\":412.5,\"min\":380.25,\"max\":455,"
				 "\"cou\":0.75,\"count\":6,\"unit\":\"mg/L\"}}}");
	assert_int_equal(n, (int)strlen(buf));
}

static void test_aggregate_fields(void **state)
{
	static const char *const keys[] = { "ts", "end", "seq", "outlet", "period", "values" };
	static const char *const vkeys[] = { "avg", "min", "max", "cou", "count", "unit" };
	static const char *const periods[] = { "minute", "hour", "day" };
	struct record r = agg_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	for (int p = 0; p < AGG_COUNT; p++) {
		const cJSON *values, *cod, *flow;
		cJSON *doc;

		r.u.aggregate.period = (uint8_t)p;
		doc = parse(buf, payload_record(buf, sizeof(buf), "gw", &r));
		assert_keys(doc, keys, 6);
		assert_string_equal(str(doc, "ts"), "2025-11-29T08:00:00.000Z");
		assert_string_equal(str(doc, "end"), "2025-11-29T08:01:00.000Z");
		assert_true(num(doc, "seq") == 77);
		assert_string_equal(str(doc, "outlet"), "WS-001");
		assert_string_equal(str(doc, "period"), periods[p]);
		values = cJSON_GetObjectItemCaseSensitive(doc, "values");
		assert_int_equal(cJSON_GetArraySize(values), 2);
		cod = cJSON_GetObjectItemCaseSensitive(values, "cod");
		flow = cJSON_GetObjectItemCaseSensitive(values, "flow");
		assert_keys(cod, vkeys, 6);
		assert_keys(flow, vkeys, 6);
		assert_true(num(cod, "avg") == 412.5);
		assert_true(num(cod, "count") == 6);
		/* nothing good in the period: NaN and Inf are null, never 0 */
		assert_null_item(flow, "avg");
		assert_null_item(flow, "min");
		assert_null_item(flow, "max");
		assert_null_item(flow, "cou");
		assert_true(num(flow, "count") == 0);
		assert_string_equal(str(flow, "unit"), "m3/h");
		cJSON_Delete(doc);
	}
	/* no outlet: null, as for telemetry */
	r.u.aggregate.outlet[0] = '\0';
	r.u.aggregate.n = 0;
	{
		cJSON *doc = parse(buf, payload_aggregate(buf, sizeof(buf), &r));

		assert_null_item(doc, "outlet");
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "values")), 0);
		cJSON_Delete(doc);
	}
}

static void test_metrics_fields(void **state)
{
	static const char *const keys[] = { "ts", "seq", "polls", "errors", "timeouts",
					    "crc_errors", "exceptions", "outbox_corrupt",
					    "outbox_io_errors", "late", "sinks" };
	static const char *const skeys[] = { "queue_depth", "oldest_unsent_s", "sent", "retried",
					     "dropped", "quarantined" };
	struct record r = metrics_rec();
	char buf[PAYLOAD_MAX];
	const cJSON *sinks, *mq;
	cJSON *doc;

	(void)state;
	doc = parse(buf, payload_record(buf, sizeof(buf), "gw", &r));
	assert_keys(doc, keys, 11);
	assert_string_equal(str(doc, "ts"), "2025-11-29T08:00:17.123Z");
	assert_true(num(doc, "seq") == 9001);
	assert_true(num(doc, "polls") == 12345);
	assert_true(num(doc, "errors") == 12);
	assert_true(num(doc, "timeouts") == 7);
	assert_true(num(doc, "crc_errors") == 3);
	assert_true(num(doc, "exceptions") == 2);
	assert_true(num(doc, "outbox_corrupt") == 1);
	assert_true(num(doc, "outbox_io_errors") == 0);
	assert_true(num(doc, "late") == 4);
	sinks = cJSON_GetObjectItemCaseSensitive(doc, "sinks");
	assert_int_equal(cJSON_GetArraySize(sinks), 2);
	mq = cJSON_GetObjectItemCaseSensitive(sinks, "mqtt");
	assert_keys(mq, skeys, 6);
	assert_true(num(mq, "queue_depth") == 40);
	assert_true(num(mq, "oldest_unsent_s") == 95);
	assert_true(num(mq, "sent") == 12000);
	assert_true(num(mq, "retried") == 64);
	assert_true(num(mq, "dropped") == 5);
	assert_true(num(mq, "quarantined") == 1);
	assert_keys(cJSON_GetObjectItemCaseSensitive(sinks, "influx"), skeys, 6);
	cJSON_Delete(doc);
	/* 64-bit counters print exactly, signed ages keep their sign */
	assert_non_null(strstr(buf, "\"influx\":{\"queue_depth\":18446744073709551615,"
				    "\"oldest_unsent_s\":-1,"));
	/* no sinks, and a name without a NUL is read within its field */
	r.u.metrics.n_sinks = 1;
	memset(r.u.metrics.sinks[0].name, 'n', sizeof(r.u.metrics.sinks[0].name));
	doc = parse(buf, payload_metrics(buf, sizeof(buf), &r));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(doc, "sinks"),
							 "nnnnnnnnnnnnnnnn"));
	cJSON_Delete(doc);
	r.u.metrics.n_sinks = 0;
	doc = parse(buf, payload_metrics(buf, sizeof(buf), &r));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "sinks")), 0);
	cJSON_Delete(doc);
}

static void test_new_records_reject_bad(void **state)
{
	struct record a = agg_rec();
	struct record m = metrics_rec();
	struct record p = poll_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	assert_int_equal(payload_aggregate(buf, sizeof(buf), &m), -EINVAL);
	assert_int_equal(payload_metrics(buf, sizeof(buf), &a), -EINVAL);
	a.u.aggregate.n = REC_MAX_VALUES + 1;
	assert_int_equal(payload_aggregate(buf, sizeof(buf), &a), -EINVAL);
	a = agg_rec();
	a.u.aggregate.period = AGG_COUNT;
	assert_int_equal(payload_aggregate(buf, sizeof(buf), &a), -EINVAL);
	m.u.metrics.n_sinks = REC_MAX_SINKS + 1;
	assert_int_equal(payload_metrics(buf, sizeof(buf), &m), -EINVAL);
	p.type = REC_RELOAD + 1;
	assert_int_equal(payload_record(buf, sizeof(buf), "gw", &p), -EINVAL);
	/* payload_record picks the encoder of each type */
	p = poll_rec();
	assert_true(payload_record(buf, sizeof(buf), "gw", &p) > 0);
	assert_non_null(strstr(buf, "\"sensor\":\"probe1\""));
	p = alert_rec();
	assert_true(payload_record(buf, sizeof(buf), "gw", &p) > 0);
	assert_non_null(strstr(buf, "\"kind\":\"limit_exceeded\""));
}

static int enc_telemetry(char *b, size_t c, const void *r)
{
	return payload_telemetry(b, c, r);
}

static int enc_status(char *b, size_t c, const void *unused)
{
	(void)unused;
	return payload_status(b, c, "online", "0.1.0", T0);
}

static int enc_topic(char *b, size_t c, const void *r)
{
	return payload_topic(b, c, "outfall/gw", r);
}

static int enc_record(char *b, size_t c, const void *r)
{
	return payload_record(b, c, "gw", r);
}

static int enc_active(char *b, size_t c, const void *outlet)
{
	return payload_topic_active(b, c, "outfall/gw", outlet);
}

static void test_enospc(void **state)
{
	struct record p = poll_rec();
	struct record a = alert_rec();

	(void)state;
	p.u.poll.n = N_VALUE_CASES;
	for (size_t i = 0; i < N_VALUE_CASES; i++)
		p.u.poll.values[i] = value_cases[i].in;
	set(p.u.poll.sensor, sizeof(p.u.poll.sensor), "q\"\x02\\");
	check_every_cap(enc_telemetry, &p);
	check_every_cap(enc_alert, &a);
	a.u.alert.id[0] = '\0';
	check_every_cap(enc_alert, &a);
	check_every_cap(enc_status, NULL);
	check_every_cap(enc_topic, &p);
	check_every_cap(enc_topic, &a);
	{
		struct record g = agg_rec();
		struct record m = metrics_rec();

		check_every_cap(enc_record, &g);
		check_every_cap(enc_record, &m);
		check_every_cap(enc_topic, &g);
		check_every_cap(enc_topic, &m);
		check_every_cap(enc_active, "WS-001");
	}
}

/* The longest names, all escaping to six bytes, still fit PAYLOAD_MAX. */
static void test_worst_case_fits(void **state)
{
	struct record p = poll_rec();
	struct record a = alert_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	memset(p.u.poll.sensor, 0x01, sizeof(p.u.poll.sensor));
	memset(p.u.poll.outlet, 0x01, sizeof(p.u.poll.outlet));
	p.u.poll.n = REC_MAX_VALUES;
	for (int i = 0; i < REC_MAX_VALUES; i++)
		p.u.poll.values[i] = (struct rec_value){ -1.234567891e-300, P_CONDUCTIVITY,
							 Q_OUT_OF_RANGE, 0 };
	assert_true(payload_telemetry(buf, sizeof(buf), &p) > 0);
	memset(a.u.alert.id, 0x01, sizeof(a.u.alert.id));
	memset(a.u.alert.permit, 0x01, sizeof(a.u.alert.permit));
	memset(a.u.alert.holder, 0x01, sizeof(a.u.alert.holder));
	memset(a.u.alert.outlet, 0x01, sizeof(a.u.alert.outlet));
	memset(a.u.alert.sensor, 0x01, sizeof(a.u.alert.sensor));
	a.u.alert.state = ALERT_CLEARED;
	a.u.alert.limit = a.u.alert.value = a.u.alert.peak = -1.234567891e-300;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &a) > 0);
	/* and a sensor_fault with every parameter and a note of control bytes */
	memset(a.u.alert.note, 0x01, sizeof(a.u.alert.note));
	a.u.alert.kind = AK_SENSOR_FAULT;
	a.u.alert.reason = CR_CLOSED_BY_OPERATOR;
	a.u.alert.cause = FC_COUNTER_BACKWARDS;
	a.u.alert.n_params = REC_MAX_VALUES;
	memset(a.u.alert.params, P_OIL_PETROLEUM, sizeof(a.u.alert.params));
	a.u.alert.polls_missed = INT32_MIN;
	a.u.alert.last_answer_ms = INT64_MIN;
	a.u.alert.since_ms = INT64_MIN;
	a.u.alert.until_ms = INT64_MAX;
	a.u.alert.unhealthy = 1;
	print_message("worst-case alert event: %d bytes (maximum %d)\n",
		      payload_alert(buf, sizeof(buf), "gw", &a), PAYLOAD_MAX);
	assert_true(payload_alert(buf, sizeof(buf), "gw", &a) > 0);
	{
		struct record g = agg_rec();
		struct record m = metrics_rec();

		memset(g.u.aggregate.outlet, 0x01, sizeof(g.u.aggregate.outlet));
		g.u.aggregate.n = REC_MAX_VALUES;
		for (int i = 0; i < REC_MAX_VALUES; i++)
			g.u.aggregate.params[i] = (struct rec_agg_param){
				P_OIL_PETROLEUM, UINT32_MAX, -1.234567891e-300, -1.234567891e-300,
				-1.234567891e-300, -1.234567891e-300 };
		assert_true(payload_aggregate(buf, sizeof(buf), &g) > 0);
		m.ts_ms = INT64_MIN;
		m.u.metrics.n_sinks = REC_MAX_SINKS;
		for (int i = 0; i < REC_MAX_SINKS; i++) {
			memset(&m.u.metrics.sinks[i], 0xff, sizeof(m.u.metrics.sinks[i]));
			memset(m.u.metrics.sinks[i].name, 0x01, REC_SINK_NAME);
			m.u.metrics.sinks[i].oldest_unsent_s = INT64_MIN;
		}
		assert_true(payload_metrics(buf, sizeof(buf), &m) > 0);
	}
}

static void test_topics(void **state)
{
	struct record p = poll_rec();
	struct record a = alert_rec();
	char buf[PAYLOAD_TOPIC_MAX];

	(void)state;
	assert_int_equal(payload_topic(buf, sizeof(buf), "outfall/gw", &p),
			 (int)strlen("outfall/gw/telemetry/WS-001"));
	assert_string_equal(buf, "outfall/gw/telemetry/WS-001");
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &a) > 0);
	assert_string_equal(buf, "outfall/gw/alerts/WS-001");
	p.u.poll.outlet[0] = '\0';
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &p) > 0);
	assert_string_equal(buf, "outfall/gw/telemetry/unassigned");
	a.u.alert.outlet[0] = '\0';
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &a) > 0);
	assert_string_equal(buf, "outfall/gw/alerts/unassigned");
	set(p.u.poll.outlet, sizeof(p.u.poll.outlet), "a/b+c#d-排放口");
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &p) > 0);
	assert_string_equal(buf, "outfall/gw/telemetry/a_b_c_d-排放口");
	memset(p.u.poll.outlet, 'O', sizeof(p.u.poll.outlet)); /* unterminated */
	assert_int_equal(payload_topic(buf, sizeof(buf), "r", &p),
			 (int)strlen("r/telemetry/") + REC_NAME);
	p.type = 7;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(payload_topic(buf, sizeof(buf), "r", &p), -EINVAL);
	assert_int_equal(buf[0], 'X'); /* nothing written */
}

static void test_topics_new_records(void **state)
{
	struct record g = agg_rec();
	struct record m = metrics_rec();
	char buf[PAYLOAD_TOPIC_MAX];
	char longest[REC_NAME];

	(void)state;
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &g) > 0);
	assert_string_equal(buf, "outfall/gw/aggregate/WS-001/minute");
	g.u.aggregate.period = AGG_HOUR;
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &g) > 0);
	assert_string_equal(buf, "outfall/gw/aggregate/WS-001/hour");
	g.u.aggregate.period = AGG_DAY;
	set(g.u.aggregate.outlet, sizeof(g.u.aggregate.outlet), "a/b#");
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &g) > 0);
	assert_string_equal(buf, "outfall/gw/aggregate/a_b_/day");
	g.u.aggregate.outlet[0] = '\0';
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &g) > 0);
	assert_string_equal(buf, "outfall/gw/aggregate/unassigned/day");
	g.u.aggregate.period = AGG_COUNT;
	assert_int_equal(payload_topic(buf, sizeof(buf), "outfall/gw", &g), -EINVAL);
	assert_true(payload_topic(buf, sizeof(buf), "outfall/gw", &m) > 0);
	assert_string_equal(buf, "outfall/gw/metrics");
	assert_true(payload_topic_active(buf, sizeof(buf), "outfall/gw", "WS-001") > 0);
	assert_string_equal(buf, "outfall/gw/alerts/WS-001/active");
	assert_true(payload_topic_active(buf, sizeof(buf), "outfall/gw", "+/排放口#") > 0);
	assert_string_equal(buf, "outfall/gw/alerts/__排放口_/active");
	/* the longest suffix is 18 bytes plus the outlet, as the header says */
	memset(longest, 'O', sizeof(longest));
	g = agg_rec();
	memcpy(g.u.aggregate.outlet, longest, sizeof(longest));
	assert_int_equal(payload_topic(buf, sizeof(buf), "", &g), 18 + REC_NAME);
	assert_int_equal(payload_topic_active(buf, sizeof(buf), "", longest), 15 + REC_NAME);
}

static struct record reload_rec(int outcome, int changes, const char *summary)
{
	struct record r = { .seq = 4242, .ts_ms = T0, .type = REC_RELOAD };

	r.u.reload.outcome = (uint8_t)outcome;
	r.u.reload.changes = (uint16_t)changes;
	set(r.u.reload.summary, sizeof(r.u.reload.summary), summary);
	return r;
}

/* A reload event: the exact payload, escaping, a summary without its NUL,
 * an outcome out of range, the topic (no outlet level). */
static void test_reload(void **state)
{
	struct record r = reload_rec(RLD_APPLIED, 1, "permit P-1: cod instant max 500 -> "
				     "400 mg/L");
	char buf[PAYLOAD_MAX], topic[PAYLOAD_TOPIC_MAX];
	cJSON *doc;
	int n;

	(void)state;
	n = payload_record(buf, sizeof(buf), "gw", &r);
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T08:00:17.123Z\",\"seq\":4242,"
				 "\"outcome\":\"applied\",\"changes\":1,\"summary\":"
				 "\"permit P-1: cod instant max 500 -> 400 mg/L\"}");
	assert_int_equal(n, (int)strlen(buf));
	r = reload_rec(RLD_REFUSED, 2, "2 errors reading \"out\\fall\".conf\n");
	doc = parse(buf, payload_reload(buf, sizeof(buf), &r));
	assert_string_equal(str(doc, "outcome"), "refused");
	assert_int_equal(cJSON_GetObjectItem(doc, "changes")->valuedouble, 2);
	assert_string_equal(str(doc, "summary"), "2 errors reading \"out\\fall\".conf\n");
	cJSON_Delete(doc);
	memset(r.u.reload.summary, 'x', sizeof(r.u.reload.summary));
	doc = parse(buf, payload_reload(buf, sizeof(buf), &r));
	assert_int_equal(strlen(str(doc, "summary")), REC_SUMMARY);
	cJSON_Delete(doc);
	r.u.reload.outcome = RLD_COUNT;
	assert_int_equal(payload_reload(buf, sizeof(buf), &r), -EINVAL);
	r.u.reload.outcome = RLD_APPLIED;
	for (size_t cap = 0; cap < 40; cap++)
		assert_int_equal(payload_reload(buf, cap, &r), -ENOSPC);
	assert_int_equal(payload_topic(topic, sizeof(topic), "outfall/gw", &r),
			 (int)strlen("outfall/gw/reload"));
	assert_string_equal(topic, "outfall/gw/reload");
	r.type = REC_MAINT;
	assert_int_equal(payload_reload(buf, sizeof(buf), &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telemetry_exact),
		cmocka_unit_test(test_telemetry_values),
		cmocka_unit_test(test_telemetry_escaping),
		cmocka_unit_test(test_telemetry_unassigned_and_unterminated),
		cmocka_unit_test(test_telemetry_rejects_bad_records),
		cmocka_unit_test(test_alert_exact),
		cmocka_unit_test(test_alert_raised_fields),
		cmocka_unit_test(test_alert_cleared_rolling),
		cmocka_unit_test(test_alert_names_and_missing_parts),
		cmocka_unit_test(test_aggregate_exact),
		cmocka_unit_test(test_aggregate_fields),
		cmocka_unit_test(test_metrics_fields),
		cmocka_unit_test(test_new_records_reject_bad),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_worst_case_fits),
		cmocka_unit_test(test_topics),
		cmocka_unit_test(test_topics_new_records),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
