/*
 * test_payload_alert.c - the MQTT payloads' evidence of DESIGN §5, as exact
 * strings: float32 readings at their precision and value flags in
 * telemetry; for alerts, the ratio of limit kinds, sensor_fault's cause,
 * parameters, polls_missed, last_answer and the hint in its note (no
 * pretend limit, unit or reading), data_gap's gap and coverage,
 * permit_expiring's days,
 * no_valid_permit and maintenance_overuse, cleared events' until,
 * duration and reason, the operator's note, an unhealthy sensor, and
 * ENOSPC at every short capacity.
 */
#include "payload_fixture.h"

/* Float32 readings print as the float32's shortest decimal; flags show. */
static void test_telemetry_float32_and_flags(void **state)
{
	struct record r = poll_rec();
	char buf[PAYLOAD_MAX];

	(void)state;
	r.u.poll.n = 6;
	r.u.poll.values[0] = (struct rec_value){ 183.9f, P_COD, Q_OK, RV_F32 };
	r.u.poll.values[1] = (struct rec_value){ 183.9f, P_BOD5, Q_OK, 0 };
	r.u.poll.values[2] = (struct rec_value){ 2.33e-41f, P_PH, Q_INVALID,
						 RV_F32 | RV_IMPLAUSIBLE };
	r.u.poll.values[3] = (struct rec_value){ 0.1f, P_NH3N, Q_OK, RV_F32 | RV_MAINTENANCE };
	r.u.poll.values[4] = (struct rec_value){ -1e-7f, P_TEMP, Q_OUT_OF_RANGE,
						 RV_F32 | RV_MAINTENANCE | RV_CALIBRATION };
	r.u.poll.values[5] = (struct rec_value){ 16777217.0, P_VOLUME_TOTAL, Q_OK, 0 };
	assert_true(payload_telemetry(buf, sizeof(buf), &r) > 0);
	assert_string_equal(buf, "{\"ts\":\"2025-11-29T08:00:17.123Z\",\"seq\":42,"
		"\"outlet\":\"WS-001\",\"sensor\":\"probe1\",\"values\":{"
		"\"cod\":{\"v\":183.9,\"unit\":\"mg/L\",\"q\":\"ok\"},"
		"\"bod5\":{\"v\":183.8999939,\"unit\":\"mg/L\",\"q\":\"ok\"},"
		"\"ph\":{\"v\":null,\"unit\":\"pH\",\"q\":\"invalid\",\"cause\":\"implausible\"},"
		"\"nh3n\":{\"v\":0.1,\"unit\":\"mg/L\",\"q\":\"ok\",\"flag\":\"M\"},"
		"\"temp\":{\"v\":-1e-07,\"unit\":\"degC\",\"q\":\"out_of_range\",\"flag\":\"C\"},"
		"\"volume_total\":{\"v\":16777217,\"unit\":\"m3\",\"q\":\"ok\"}}}");
	cJSON_Delete(parse(buf, (int)strlen(buf)));
}

/* A limit alert from float32 readings: value and peak at their precision. */
static void test_alert_float32_and_ratio(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];

	(void)state;
	a->value = 612.4f;
	a->peak = 655.3f;
	a->value_flags = RV_F32;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, ",\"limit\":500,\"value\":612.4,\"peak\":655.3,"
				    "\"ratio\":1.22,"));
	a->value_flags = 0; /* the same doubles, no flag: every digit */
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, ",\"value\":612.4000244,\"peak\":655.2999878,"));
	/* below a minimum: the ratio is under 1 */
	a->kind = AK_BELOW_MINIMUM;
	a->param = P_PH;
	a->limit = 6.5;
	a->value = 5.2f;
	a->peak = 4.9f;
	a->value_flags = RV_F32;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"parameter\":\"ph\",\"unit\":\"pH\",\"basis\":\"instant\","
				    "\"window_min\":null,\"limit\":6.5,\"value\":5.2,"
				    "\"peak\":4.9,\"ratio\":0.8,"));
	/* a limit of 0 has no ratio */
	a->limit = 0.0;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"ratio\":null,"));
}

static struct record fault_rec(void)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;

	set(a->id, sizeof(a->id), "ls-ws-000123/WS-001/no_response-probe1/1764403217000");
	a->kind = AK_SENSOR_FAULT;
	a->param = P_COD;
	a->limit = 3.0;     /* a poll count, not a limit: must not show */
	a->value = NAN;     /* no reading showed it */
	a->peak = NAN;
	a->sensor_health = Q_NO_RESPONSE;
	a->cause = FC_NO_RESPONSE;
	a->n_params = 3;
	a->params[0] = P_COD;
	a->params[1] = P_PH;
	a->params[2] = P_NH3N;
	a->polls_missed = 3;
	a->last_answer_ms = 1764403187000LL;
	a->unhealthy = 1;
	return r;
}

static void test_alert_sensor_fault_exact(void **state)
{
	struct record r = fault_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];

	(void)state;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_string_equal(buf,
		"{\"id\":\"ls-ws-000123/WS-001/no_response-probe1/1764403217000\",\"seq\":1042,"
		"\"ts\":\"2025-11-29T08:00:17.000Z\",\"state\":\"raised\",\"kind\":\"sensor_fault\","
		"\"outlet\":\"WS-001\",\"permit\":\"" PERMIT "\",\"holder\":\"" HOLDER "\","
		"\"parameter\":null,\"unit\":null,\"basis\":null,\"window_min\":null,"
		"\"limit\":null,\"value\":null,\"peak\":null,"
		"\"cause\":\"no_response\",\"parameters\":[\"cod\",\"ph\",\"nh3n\"],"
		"\"polls_missed\":3,\"last_answer\":\"2025-11-29T07:59:47.000Z\","
		"\"since\":\"2025-11-29T08:00:17.000Z\","
		"\"sensor\":\"probe1\",\"sensor_health\":\"no_response\",\"sensor_unhealthy\":true}");
	cJSON_Delete(parse(buf, (int)strlen(buf)));
	/* out of range: the reading that showed it is the evidence; the sensor
	 * never answered well before; then it recovers */
	a->cause = FC_OUT_OF_RANGE;
	a->param = P_PH;
	a->value = 15.2f;
	a->peak = 15.7f;
	a->value_flags = RV_F32;
	a->limit = 14.0; /* the range's end: still not a permit limit */
	a->n_params = 1;
	a->params[0] = P_PH;
	a->polls_missed = 0;
	a->last_answer_ms = 0;
	a->sensor_health = Q_OUT_OF_RANGE;
	a->state = ALERT_CLEARED;
	a->until_ms = 1764403217000LL + 754500;
	a->reason = CR_SENSOR_RECOVERED;
	a->unhealthy = 0;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_string_equal(buf,
		"{\"id\":\"ls-ws-000123/WS-001/no_response-probe1/1764403217000\",\"seq\":1042,"
		"\"ts\":\"2025-11-29T08:00:17.000Z\",\"state\":\"cleared\",\"kind\":\"sensor_fault\","
		"\"outlet\":\"WS-001\",\"permit\":\"" PERMIT "\",\"holder\":\"" HOLDER "\","
		"\"parameter\":\"ph\",\"unit\":\"pH\",\"basis\":null,\"window_min\":null,"
		"\"limit\":null,\"value\":15.2,\"peak\":15.7,"
		"\"cause\":\"out_of_range\",\"parameters\":[\"ph\"],"
		"\"polls_missed\":0,\"last_answer\":null,"
		"\"since\":\"2025-11-29T08:00:17.000Z\",\"until\":\"2025-11-29T08:12:51.500Z\","
		"\"duration_s\":754,\"reason\":\"sensor_recovered\","
		"\"sensor\":\"probe1\",\"sensor_health\":\"out_of_range\",\"sensor_unhealthy\":false}");
	/* a cause from a newer release, or none: null, never a guess, and no
	 * reading shown */
	a->cause = FC_COUNT;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"parameter\":null,\"unit\":null,"));
	assert_non_null(strstr(buf, "\"value\":null,\"peak\":null,\"cause\":null,"));
	/* no answer: its value is a count of polls, not a reading in mg/L */
	r = fault_rec();
	a->value = 3.0;
	a->peak = 3.0;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"parameter\":null,\"unit\":null,\"basis\":null,"
				    "\"window_min\":null,\"limit\":null,\"value\":null,"
				    "\"peak\":null,\"cause\":\"no_response\","));
	a->cause = FC_CRC_ERRORS;
	a->value = 42.5; /* % of garbled answers */
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"value\":null,"));
	/* implausible: the reading is the evidence, the engine's hint its note */
	a->cause = FC_IMPLAUSIBLE;
	a->param = P_PH;
	a->value = 2.33e-41f;
	a->value_flags = RV_F32 | RV_IMPLAUSIBLE;
	set(a->note, sizeof(a->note), "ph 2.33e-41: subnormal or tiny; word order or type?");
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"parameter\":\"ph\",\"unit\":\"pH\",\"basis\":null,"
				    "\"window_min\":null,\"limit\":null,\"value\":2.33e-41,"));
	assert_non_null(strstr(buf, "\"since\":\"2025-11-29T08:00:17.000Z\","
				    "\"note\":\"ph 2.33e-41: subnormal or tiny; word order or type?\","
				    "\"sensor\":"));
	/* closed by the operator, the text is the operator's note */
	a->state = ALERT_CLEARED;
	a->reason = CR_CLOSED_BY_OPERATOR;
	set(a->note, sizeof(a->note), "probe replaced");
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"reason\":\"closed_by_operator\","
				    "\"note\":\"probe replaced\","));
}

static void test_alert_data_gap_and_expiring_exact(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];

	(void)state;
	a->kind = AK_DATA_GAP;
	a->basis = BASIS_ROLLING;
	a->window_min = 60;
	a->limit = 60.0;  /* seconds: no limit to show */
	a->value = 41.66;
	a->gap_s = 600;
	a->coverage_pct = 41.66;
	set(a->id, sizeof(a->id), "gw/WS-001/cod/gap/1764403217000");
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_string_equal(buf,
		"{\"id\":\"gw/WS-001/cod/gap/1764403217000\",\"seq\":1042,"
		"\"ts\":\"2025-11-29T08:00:17.000Z\",\"state\":\"raised\",\"kind\":\"data_gap\","
		"\"outlet\":\"WS-001\",\"permit\":\"" PERMIT "\",\"holder\":\"" HOLDER "\","
		"\"parameter\":\"cod\",\"unit\":null,\"basis\":null,\"window_min\":null,"
		"\"limit\":null,\"value\":null,\"peak\":null,\"gap_s\":600,\"coverage\":41.7,"
		"\"since\":\"2025-11-29T08:00:17.000Z\","
		"\"sensor\":\"probe1\",\"sensor_health\":\"ok\",\"sensor_unhealthy\":false}");
	a->coverage_pct = NAN; /* unknown */
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"gap_s\":600,\"coverage\":null,"));

	r = alert_rec();
	a->kind = AK_PERMIT_EXPIRING;
	a->param = P_FLOW;
	a->limit = 30.0;
	a->value = 12.0;
	a->days_left = 12;
	a->sensor[0] = '\0';
	set(a->id, sizeof(a->id), "gw/WS-001/expiring/1764403217000");
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_string_equal(buf,
		"{\"id\":\"gw/WS-001/expiring/1764403217000\",\"seq\":1042,"
		"\"ts\":\"2025-11-29T08:00:17.000Z\",\"state\":\"raised\","
		"\"kind\":\"permit_expiring\","
		"\"outlet\":\"WS-001\",\"permit\":\"" PERMIT "\",\"holder\":\"" HOLDER "\","
		"\"parameter\":null,\"unit\":null,\"basis\":null,\"window_min\":null,"
		"\"limit\":null,\"value\":null,\"peak\":null,\"days_left\":12,"
		"\"since\":\"2025-11-29T08:00:17.000Z\","
		"\"sensor\":null,\"sensor_health\":\"ok\",\"sensor_unhealthy\":false}");
}

static void test_alert_other_kinds(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];

	(void)state;
	/* flow on an expired permit: the flow is the evidence, there is no limit */
	a->kind = AK_NO_VALID_PERMIT;
	a->param = P_FLOW;
	a->limit = 0.0;
	a->value = 3.5;
	a->peak = 4.25;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"parameter\":\"flow\",\"unit\":\"m3/h\",\"basis\":null,"
				    "\"window_min\":null,\"limit\":null,\"value\":3.5,"
				    "\"peak\":4.25,\"since\":"));
	/* a daily volume and a storm signature are limits: ratio */
	a->kind = AK_DAILY_VOLUME_EXCEEDED;
	a->param = P_FLOW;
	a->basis = BASIS_DAILY_MEAN;
	a->limit = 120.0;
	a->value = 150.0;
	a->peak = 150.0;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"limit\":120,\"value\":150,\"peak\":150,\"ratio\":1.25,"));
	a->kind = AK_STORM_SEWAGE;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"ratio\":1.25,"));
	/* maintenance kept on too long: hours against the cap, in no unit */
	a->kind = AK_MAINTENANCE;
	a->limit = 8.0;
	a->value = 9.5;
	a->peak = 9.5;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"kind\":\"maintenance_overuse\","));
	assert_non_null(strstr(buf, "\"parameter\":null,\"unit\":null,\"basis\":null,"
				    "\"window_min\":null,\"limit\":8,\"value\":9.5,\"peak\":9.5,"
				    "\"since\":"));
}

/* Closed by the operator: the note goes with it, escaped; a cleared event
 * that says no reason says null. */
static void test_alert_closed_by_operator(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char buf[PAYLOAD_MAX];
	cJSON *doc;

	(void)state;
	a->state = ALERT_CLEARED;
	a->reason = CR_CLOSED_BY_OPERATOR;
	a->until_ms = a->since_ms + 90 * 60000LL;
	a->unhealthy = 1;
	set(a->note, sizeof(a->note), "探头清洗后误报 \"wiper\"\n");
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"since\":\"2025-11-29T08:00:17.000Z\","
				    "\"until\":\"2025-11-29T09:30:17.000Z\",\"duration_s\":5400,"
				    "\"reason\":\"closed_by_operator\","
				    "\"note\":\"探头清洗后误报 \\\"wiper\\\"\\u000a\","
				    "\"sensor\":\"probe1\",\"sensor_health\":\"ok\","
				    "\"sensor_unhealthy\":true}"));
	doc = parse(buf, (int)strlen(buf));
	assert_string_equal(str(doc, "note"), "探头清洗后误报 \"wiper\"\n");
	cJSON_Delete(doc);
	a->note[0] = '\0'; /* closed without a word: said so */
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"reason\":\"closed_by_operator\",\"note\":null,"));
	a->reason = CR_NONE; /* a cleared event from before reasons */
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"duration_s\":5400,\"reason\":null,\"sensor\":"));
	/* the wall clock stepped back while it was open: never negative */
	a->until_ms = a->since_ms - 5000;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"duration_s\":0,"));
	a->until_ms = INT64_MAX;
	a->since_ms = INT64_MIN;
	assert_true(payload_alert(buf, sizeof(buf), "gw", &r) > 0);
	assert_non_null(strstr(buf, "\"duration_s\":18446744073709551,"));
	a->n_params = REC_MAX_VALUES + 1;
	assert_int_equal(payload_alert(buf, sizeof(buf), "gw", &r), -EINVAL);
}

static void test_alert_enospc_new_fields(void **state)
{
	struct record f = fault_rec();
	struct record c = alert_rec();

	(void)state;
	check_every_cap(enc_alert, &f);
	f.u.alert.state = ALERT_CLEARED;
	f.u.alert.reason = CR_SENSOR_RECOVERED;
	check_every_cap(enc_alert, &f);
	c.u.alert.state = ALERT_CLEARED;
	c.u.alert.reason = CR_CLOSED_BY_OPERATOR;
	set(c.u.alert.note, sizeof(c.u.alert.note), "false alarm\x01");
	c.u.alert.kind = AK_DATA_GAP;
	check_every_cap(enc_alert, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telemetry_float32_and_flags),
		cmocka_unit_test(test_alert_float32_and_ratio),
		cmocka_unit_test(test_alert_sensor_fault_exact),
		cmocka_unit_test(test_alert_data_gap_and_expiring_exact),
		cmocka_unit_test(test_alert_other_kinds),
		cmocka_unit_test(test_alert_closed_by_operator),
		cmocka_unit_test(test_alert_enospc_new_fields),
	};

	return cmocka_run_group_tests_name("payload_alert", tests, NULL, NULL);
}
