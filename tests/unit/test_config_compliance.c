/*
 * test_config_compliance.c - the settings the compliance engine reads:
 * alerting (no_response_polls, crc_error_pct, expiry_warning_days,
 * coverage_pct), sensors' gap_s, channels' flatline_s, and outlets'
 * flow_noise_m3h, storm_signature and rain_hold_min: set, and broken with
 * each mistake reported at its file, line and setting.
 */
#include "config_fixture.h"

/* Every setting the compliance engine added, set away from its default. */
static void test_compliance_settings(void **state)
{
	char *a = patch(base_gw, "clear_after_s = 0;", "clear_after_s = 0; no_response_polls = 5; "
			"crc_error_pct = 2.5; expiry_warning_days = 0; coverage_pct = 90;");
	char *b = patch(a, "interval_s = 10;", "interval_s = 10; gap_s = 45;");
	char *c = patch(b, "range = [0.0, 2000.0];", "range = [0.0, 2000.0]; flatline_s = 3600;");
	char *gw = patch(c, STORM_FROM, STORM_TO("flow_noise_m3h = 0.5; rain_hold_min = 0; "
						  "storm_signature = { ss = 150; cod = 80.5; };"));
	char *errtext = NULL;
	struct config *cfg = NULL;
	const struct cfg_outlet *o;

	assert_int_equal(load_texts(*state, gw, base_pm, &cfg, &errtext), 0);
	assert_string_equal(errtext, "");
	assert_int_equal(cfg->alerting.no_response_polls, 5);
	assert_true(cfg->alerting.crc_error_pct == 2.5);
	assert_int_equal(cfg->alerting.expiry_warning_days, 0);
	assert_true(cfg->alerting.coverage_pct == 90.0);
	assert_int_equal(cfg->sensors[0].gap_s, 45);
	assert_int_equal(cfg->sensors[1].gap_s, 60);
	assert_int_equal(cfg->sensors[0].channels[0].flatline_s, 3600);
	assert_int_equal(cfg->sensors[0].channels[1].flatline_s, 0);
	assert_true(cfg->outlets[0].flow_noise_m3h == 0.1);
	assert_int_equal(cfg->outlets[0].n_signature, 0); /* sewage: none */
	o = &cfg->outlets[1];
	assert_int_equal(o->kind, OUTLET_STORM);
	assert_true(o->flow_noise_m3h == 0.5);
	assert_int_equal(o->rain_hold_min, 0);
	assert_int_equal(o->n_signature, 2); /* written: replaces the defaults */
	assert_int_equal(o->signature[0].param, P_SS);
	assert_true(o->signature[0].above == 150.0);
	assert_int_equal(o->signature[1].param, P_COD);
	assert_true(o->signature[1].above == 80.5);
	free(errtext);
	free(gw);
	free(c);
	free(b);
	free(a);
	config_free(cfg);
}

static const struct bad_case bad_cases[] = {
	{ 'g', "clear_after_s = 0;", "clear_after_s = 0; no_response_polls = 0;", 'g', 8,
	  "alerting.no_response_polls", "0 out of range 1..1000 polls", 1 },
	{ 'g', "clear_after_s = 0;", "clear_after_s = 0; crc_error_pct = 120;", 'g', 8,
	  "alerting.crc_error_pct", "120 out of range 0..100 %", 1 },
	{ 'g', "clear_after_s = 0;", "clear_after_s = 0; crc_error_pct = \"10%\";", 'g', 8,
	  "alerting.crc_error_pct", "expected a number, found a string", 1 },
	{ 'g', "clear_after_s = 0;", "clear_after_s = 0; expiry_warning_days = 400;", 'g', 8,
	  "alerting.expiry_warning_days", "400 out of range 0..365 days", 1 },
	{ 'g', "clear_after_s = 0;", "clear_after_s = 0; coverage_pct = 0;", 'g', 8,
	  "alerting.coverage_pct", "0 out of range 1..100 %", 1 },
	{ 'g', "interval_s = 10;", "interval_s = 10; gap_s = 5;", 'g', 14, "sensors[0].gap_s",
	  "5 s is shorter than interval_s 10 s: every wait between two polls would be a gap",
	  1 },
	{ 'g', "interval_s = 10;", "interval_s = 10; gap_s = 0;", 'g', 14, "sensors[0].gap_s",
	  "0 out of range 1..604800 s", 1 },
	{ 'g', "range = [0.0, 2000.0];", "range = [0.0, 2000.0]; flatline_s = 15;", 'g', 17,
	  "sensors[0].channels[0].flatline_s", "15 s spans fewer than two polls (interval_s is "
	  "10 s): use 0 (off) or at least 20 s", 1 },
	{ 'g', "range = [0.0, 2000.0];", "range = [0.0, 2000.0]; flatline_s = -1;", 'g', 17,
	  "sensors[0].channels[0].flatline_s", "-1 out of range 0..604800 s", 1 },
	{ 'g', "\"flow1\"]; }", "\"flow1\"]; flow_noise_m3h = -0.5; }", 'g', 24,
	  "outlets[0].flow_noise_m3h", "-0.5 out of range 0..1000 m3/h", 1 },
	{ 'g', "\"flow1\"]; }", "\"flow1\"]; storm_signature = { cod = 80.0; }; }", 'g', 24,
	  "outlets[0].storm_signature", "only a storm outlet has a sewage signature", 1 },
	{ 'g', "\"flow1\"]; }", "\"flow1\"]; rain_hold_min = 30; }", 'g', 24,
	  "outlets[0].rain_hold_min", "only a storm outlet is excused by rain", 1 },
	{ 'g', STORM_FROM, STORM_TO("rain_hold_min = 2000;"), 'g', 24,
	  "outlets[1].rain_hold_min", "2000 out of range 0..1440 min", 1 },
	{ 'g', STORM_FROM, STORM_TO("storm_signature = { lead = 1.0; };"), 'g', 24,
	  "outlets[1].storm_signature.lead", "\"lead\" is not a pollutant parameter "
	  "(expected one of flow, volume_total,", 1 },
	{ 'g', STORM_FROM, STORM_TO("storm_signature = { flow = 1.0; };"), 'g', 24,
	  "outlets[1].storm_signature.flow", "other than flow and volume_total", 1 },
	{ 'g', STORM_FROM, STORM_TO("storm_signature = { cod = 0; };"), 'g', 24,
	  "outlets[1].storm_signature.cod", "0 out of range: must be above 0 mg/L", 1 },
	{ 'g', STORM_FROM, STORM_TO("storm_signature = { nh3n = \"high\"; };"), 'g', 24,
	  "outlets[1].storm_signature.nh3n", "expected a number, found a string", 1 },
	{ 'g', STORM_FROM, STORM_TO("storm_signature = 5;"), 'g', 24,
	  "outlets[1].storm_signature", "expected a group { ... }, found an integer", 1 },
};

static void test_bad_compliance_settings(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad_case(*state, i, &bad_cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compliance_settings),
		cmocka_unit_test(test_bad_compliance_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
