/*
 * test_alert_subject.c - what an alert says it is about, in all three of
 * its forms: the daemon's log line (encode_alert_text), the MQTT event and
 * the InfluxDB point. A data_gap of records the outbox lost is about no
 * parameter (REC_PARAM_NONE): the log says so, the event's parameter and
 * unit are null, the point has no parameter tag, and none shows "flow",
 * a unit or a "nan". Alerts about a sensor or a permit name that, never a
 * parameter or a unit they do not have; limit alerts keep theirs.
 */
#include "payload_fixture.h"

/* The outbox's data_gap, as the daemon raises it (daemon/records.c). */
static struct record outbox_gap(void)
{
	struct record r = { .seq = 7, .ts_ms = 1764403217000LL, .type = REC_ALERT };
	struct rec_alert *a = &r.u.alert;

	set(a->id, sizeof(a->id), "gw/outbox/data_gap/1764403217000");
	a->state = ALERT_RAISED;
	a->kind = AK_DATA_GAP;
	a->param = REC_PARAM_NONE;
	a->sensor_health = Q_OK;
	a->value = a->peak = 22; /* records lost */
	a->limit = NAN;
	a->coverage_pct = NAN;
	a->gap_s = 21;
	a->since_ms = 1764403196000LL;
	return r;
}

static void text_of(const struct record *r, char *buf, size_t cap)
{
	assert_int_equal(encode_alert_text(buf, cap, &r->u.alert), 0);
}

static void line_of(const struct record *r, char *buf, size_t cap)
{
	struct lp_buf b = { .data = buf, .cap = cap };

	assert_int_equal(lp_append_record(&b, "gw", r), 1);
}

static void assert_absent(const char *what, const char *text, const char *s)
{
	if (strstr(text, s))
		fail_msg("%s shows \"%s\": %s", what, s, text);
}

static void test_outbox_gap_about_no_parameter(void **state)
{
	struct record r = outbox_gap();
	char text[ALERT_TEXT_MAX], json[PAYLOAD_MAX], line[2048];
	cJSON *doc;

	(void)state;
	text_of(&r, text, sizeof(text));
	assert_string_equal(text, "raised: data_gap (not about a parameter) on outlet -: data "
				  "lost over 21 s, permit - (gw/outbox/data_gap/1764403217000)");
	doc = parse(json, payload_alert(json, sizeof(json), "gw", &r));
	assert_null_item(doc, "parameter");
	assert_null_item(doc, "unit");
	assert_null_item(doc, "limit");
	assert_true(num(doc, "gap_s") == 21);
	cJSON_Delete(doc);
	line_of(&r, line, sizeof(line));
	assert_absent("the point", line, "parameter=");
	assert_non_null(strstr(line, "outfall_alert,gateway=gw,kind=data_gap "));
	for (size_t i = 0; i < 3; i++) {
		const char *form = i == 0 ? text : i == 1 ? json : line;

		assert_absent("an encoding", form, "flow");
		assert_absent("an encoding", form, "m3/h");
		assert_absent("an encoding", form, "nan");
	}
	/* cleared: the same */
	r.u.alert.state = ALERT_CLEARED;
	r.u.alert.until_ms = r.ts_ms;
	r.u.alert.reason = CR_BACK_INSIDE;
	text_of(&r, text, sizeof(text));
	assert_non_null(strstr(text, "cleared: data_gap (not about a parameter) on outlet -: "
				     "data lost over 21 s, reason back_inside"));
}

/* A channel's data_gap is about its parameter. */
static void test_channel_gap_names_its_parameter(void **state)
{
	struct record r = outbox_gap();
	char text[ALERT_TEXT_MAX], line[2048];

	(void)state;
	r.u.alert.param = P_COD;
	set(r.u.alert.outlet, sizeof(r.u.alert.outlet), "WS-001");
	r.u.alert.coverage_pct = 41.66;
	text_of(&r, text, sizeof(text));
	assert_non_null(strstr(text, "raised: data_gap cod on outlet WS-001: no good data for "
				     "21 s, coverage 41.7 %, permit -"));
	line_of(&r, line, sizeof(line));
	assert_non_null(strstr(line, ",parameter=cod,kind=data_gap"));
}

/* Kinds about a permit or a sensor: no parameter, no unit of one. */
static void test_other_subjects(void **state)
{
	struct record r = alert_rec();
	struct rec_alert *a = &r.u.alert;
	char text[ALERT_TEXT_MAX];

	(void)state;
	a->kind = AK_PERMIT_EXPIRING; /* the engine files it under flow */
	a->param = P_FLOW;
	a->days_left = 29;
	text_of(&r, text, sizeof(text));
	assert_string_equal(text, "raised: permit_expiring on outlet WS-001: 29 days left, "
				  "permit " PERMIT " (ls-ws-000123/WS-001/cod/instant/1764403217000)");
	a->kind = AK_MAINTENANCE; /* hours against maintenance_max_h */
	a->param = P_COD;
	a->value = 9;
	a->limit = 8;
	text_of(&r, text, sizeof(text));
	assert_non_null(strstr(text, "raised: maintenance_overuse probe1 on outlet WS-001: "
				     "value 9, limit 8, permit "));
	assert_absent("maintenance_overuse", text, "mg/L");
	a->kind = AK_SENSOR_FAULT;
	a->cause = FC_NO_RESPONSE;
	a->n_params = 2;
	a->params[0] = P_COD;
	a->params[1] = P_PH;
	a->polls_missed = 3;
	text_of(&r, text, sizeof(text));
	assert_non_null(strstr(text, "raised: sensor_fault probe1 on outlet WS-001: "
				     "no_response (cod, ph), 3 polls missed, permit "));
	a->kind = AK_NO_VALID_PERMIT; /* the flow recorded; no limit */
	a->param = P_FLOW;
	a->value = 3.5;
	a->limit = 0.1;
	text_of(&r, text, sizeof(text));
	assert_non_null(strstr(text, "raised: no_valid_permit flow on outlet WS-001: value 3.5, "
				     "permit "));
}

/* A permit limit keeps its parameter, limit and unit; a short buffer cuts. */
static void test_limit_alert_and_cut(void **state)
{
	struct record r = alert_rec();
	char text[ALERT_TEXT_MAX], small[24];

	(void)state;
	text_of(&r, text, sizeof(text));
	assert_string_equal(text, "raised: limit_exceeded cod on outlet WS-001: value 612.4, "
				  "limit 500 mg/L, permit " PERMIT
				  " (ls-ws-000123/WS-001/cod/instant/1764403217000)");
	memset(small, 'X', sizeof(small));
	assert_int_equal(encode_alert_text(small, sizeof(small), &r.u.alert), -ENOSPC);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(strncmp(small, text, sizeof(small) - 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outbox_gap_about_no_parameter),
		cmocka_unit_test(test_channel_gap_names_its_parameter),
		cmocka_unit_test(test_other_subjects),
		cmocka_unit_test(test_limit_alert_and_cut),
	};

	return cmocka_run_group_tests_name("alert_subject", tests, NULL, NULL);
}
