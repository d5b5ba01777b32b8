/*
 * test_config_compliance.c - settings added on top of the core config: the
 * ones the compliance engine reads (alerting's no_response_polls,
 * crc_error_pct, expiry_warning_days, coverage_pct; sensors' gap_s;
 * channels' flatline_s; outlets' flow_noise_m3h, storm_signature and
 * rain_hold_min) and those of ASCII line sensors (terminator, format,
 * separator, kv_separator, query, max_line; channels' key and field; who
 * may share a bus): set, and broken with each mistake reported at its
 * file, line and setting.
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

/* ---- ascii sensors ------------------------------------------------------ */

/* Inserts an ascii sensor ph1 on a new bus bus1 as sensors[0], on line 14. */
#define ASCII_FROM "retries = 2; }\n);\nsensors = (\n"
#define ASCII_TO(settings) "retries = 2; }, { name = \"bus1\"; device = \"/dev/ttyS1\"; }\n" \
	");\nsensors = (\n  { name = \"ph1\"; bus = \"bus1\"; driver = \"ascii\"; " settings " },\n"
#define KV_PH "channels = ( { parameter = \"ph\"; key = \"pH\"; } );"
#define CSV_PH "format = \"csv\"; channels = ( { parameter = \"ph\"; field = 1; } );"
#define PH2(settings) "}, { name = \"ph2\"; bus = \"bus1\"; driver = \"ascii\"; " settings \
	" channels = ( { parameter = \"ph\"; key = \"pH\"; } );"

/* Every ascii setting away from its default, a csv sensor beside a kv one,
 * and two query sensors sharing a bus. */
static void test_ascii_settings(void **state)
{
	char *gw = patch(base_gw, ASCII_FROM, ASCII_TO(
		"terminator = \"\\r\"; separator = \";\"; kv_separator = \":\"; "
		"query = \"#01 READ\\r\"; max_line = 64; channels = ( { parameter = \"ph\"; "
		"key = \"pH\"; range = [0.0, 14.0]; }, { parameter = \"temp\"; key = \"T\"; "
		"scale = 0.1; offset = -1.5; } ); }, { name = \"ph2\"; bus = \"bus1\"; "
		"driver = \"ascii\"; query = \"#02 READ\\r\"; format = \"csv\"; "
		"separator = \" \"; decimal = \",\"; channels = ( { parameter = \"ph\"; "
		"field = 3; } );"));
	char *errtext = NULL;
	struct config *cfg = NULL;
	const struct cfg_sensor *s;

	assert_int_equal(load_texts(*state, gw, base_pm, &cfg, &errtext), 0);
	assert_string_equal(errtext, "");
	s = &cfg->sensors[0];
	assert_int_equal(s->driver, DRIVER_ASCII);
	assert_int_equal(s->slave, 0);
	assert_int_equal(s->ascii.terminator, TERM_CR);
	assert_int_equal(s->ascii.format, ASCII_KV);
	assert_int_equal(s->ascii.separator, ';');
	assert_int_equal(s->ascii.kv_separator, ':');
	assert_string_equal(s->ascii.query, "#01 READ\r");
	assert_int_equal(s->ascii.query_len, 9);
	assert_int_equal(s->ascii.max_line, 64);
	assert_int_equal(s->ascii.decimal, '.'); /* the default */
	assert_string_equal(s->channels[0].key, "pH");
	assert_int_equal(s->channels[0].field, 0);
	assert_int_equal(s->channels[0].reg, -1);
	assert_true(s->channels[0].has_range && s->channels[0].range_max == 14.0);
	assert_string_equal(s->channels[1].key, "T");
	assert_true(s->channels[1].scale == 0.1 && s->channels[1].offset == -1.5);
	s = &cfg->sensors[1];
	assert_int_equal(s->ascii.terminator, TERM_CRLF); /* the defaults */
	assert_int_equal(s->ascii.format, ASCII_CSV);
	assert_int_equal(s->ascii.separator, ' ');
	assert_int_equal(s->ascii.decimal, ',');
	assert_int_equal(s->ascii.kv_separator, '=');
	assert_int_equal(s->ascii.max_line, 256);
	assert_null(s->channels[0].key);
	assert_int_equal(s->channels[0].field, 3);
	assert_int_equal(cfg->sensors[2].driver, DRIVER_MODBUS);
	assert_null(cfg->sensors[2].ascii.query);
	free(errtext);
	free(gw);
	config_free(cfg);
}

static const struct bad_case ascii_bad_cases[] = {
	{ 'g', ASCII_FROM, ASCII_TO("terminator = \"\\t\"; " KV_PH), 'g', 14,
	  "sensors[0].terminator", "unknown terminator \"\\t\" (expected \"\\r\\n\", \"\\n\" "
	  "or \"\\r\")", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("format = \"json\"; " KV_PH), 'g', 14, "sensors[0].format",
	  "unknown format \"json\" (expected kv or csv)", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("separator = \"ab\"; " KV_PH), 'g', 14, "sensors[0].separator",
	  "\"ab\" is not a separator: expected one space, tab or punctuation character other "
	  "than . + -", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("separator = \".\"; " CSV_PH), 'g', 14, "sensors[0].separator",
	  "\".\" is not a separator", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("kv_separator = \":\"; " CSV_PH), 'g', 14,
	  "sensors[0].kv_separator", "is for format \"kv\": csv fields have no keys", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("kv_separator = \",\"; " KV_PH), 'g', 14,
	  "sensors[0].kv_separator", "',' would separate both fields and keys from values", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("separator = \"=\"; " KV_PH), 'g', 14, "sensors[0].separator",
	  "'=' would separate both fields and keys from values", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("separator = \" \"; kv_separator = \"\\t\"; " KV_PH), 'g',
	  14, "sensors[0].kv_separator", "a blank cannot separate keys from values when blanks "
	  "separate the fields", 1 },
	/* a decimal comma needs other separators */
	{ 'g', ASCII_FROM, ASCII_TO("decimal = \",\"; " KV_PH), 'g', 14, "sensors[0].decimal",
	  "\",\" is the field separator too (the default): set separator to what the sensor "
	  "puts between fields", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("decimal = \",\"; separator = \",\"; " CSV_PH), 'g', 14,
	  "sensors[0].decimal", "\",\" is the field separator too: set separator", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("decimal = \",\"; separator = \";\"; kv_separator = \",\"; "
				    KV_PH), 'g', 14, "sensors[0].decimal",
	  "\",\" is the kv_separator too", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("decimal = \"comma\"; " KV_PH), 'g', 14, "sensors[0].decimal",
	  "unknown decimal mark \"comma\" (expected . or ,)", 1 },
	{ 'g', "interval_s = 10;", "interval_s = 10; decimal = \",\";", 'g', 14,
	  "sensors[0].decimal", "only an ascii sensor has a decimal", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("max_line = 8; " KV_PH), 'g', 14, "sensors[0].max_line",
	  "8 out of range 16..1024 bytes", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("max_line = 1025; " KV_PH), 'g', 14, "sensors[0].max_line",
	  "1025 out of range 16..1024 bytes", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("query = \"0123456789012345678901234567890123456789012345678"
				    "9012345678901234\"; " KV_PH), 'g', 14, "sensors[0].query",
	  "is 65 bytes, longer than 64", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("slave = 3; " KV_PH), 'g', 14, "sensors[0].slave",
	  "is for modbus sensors: an ascii sensor has no address", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; key = \"pH\"; "
				    "register = 2; } );"), 'g', 14, "sensors[0].channels[0].register",
	  "register is for modbus channels: an ascii channel takes key (format kv) or field "
	  "(format csv)", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; key = \"pH\"; "
				    "word_order = \"cdab\"; } );"), 'g', 14,
	  "sensors[0].channels[0].word_order", "word_order is for modbus channels", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; } );"), 'g', 14,
	  "sensors[0].channels[0].key", "missing required setting", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; key = \"pH\"; field = 2; "
				    "} );"), 'g', 14, "sensors[0].channels[0].field",
	  "is for format \"csv\": a kv channel takes key", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("format = \"csv\"; channels = ( { parameter = \"ph\"; "
				    "field = 1; key = \"pH\"; } );"), 'g', 14,
	  "sensors[0].channels[0].key", "is for format \"kv\": a csv channel takes field", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("format = \"csv\"; channels = ( { parameter = \"ph\"; } );"),
	  'g', 14, "sensors[0].channels[0].field", "missing required setting", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("format = \"csv\"; channels = ( { parameter = \"ph\"; "
				    "field = 0; } );"), 'g', 14, "sensors[0].channels[0].field",
	  "0 out of range 1..512", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; key = \"p H\"; } );"),
	  'g', 14, "sensors[0].channels[0].key",
	  "\"p H\" may hold only printable ASCII without blanks (byte 0x20)", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("separator = \";\"; channels = ( { parameter = \"ph\"; "
				    "key = \"p;H\"; } );"), 'g', 14, "sensors[0].channels[0].key",
	  "\"p;H\" contains ';', which separates the fields of a line", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("channels = ( { parameter = \"ph\"; key = \"pH\"; }, "
				    "{ parameter = \"temp\"; key = \"pH\"; } );"), 'g', 14,
	  "sensors[0].channels[1].key", "\"pH\" is already read by channels[0] (ph)", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("format = \"csv\"; channels = ( { parameter = \"ph\"; "
				    "field = 2; }, { parameter = \"temp\"; field = 2; } );"), 'g', 14,
	  "sensors[0].channels[1].field", "2 is already read by channels[0] (ph)", 1 },
	{ 'g', "interval_s = 10;", "interval_s = 10; terminator = \"\\n\";", 'g', 14,
	  "sensors[0].terminator", "only an ascii sensor has a terminator", 1 },
	{ 'g', "{ parameter = \"ph\"; register = 2; }",
	  "{ parameter = \"ph\"; register = 2; key = \"pH\"; }", 'g', 18,
	  "sensors[0].channels[1].key", "only a channel of an ascii sensor has a key", 1 },
	/* a modbus sensor turned ascii: its registers, its missing key, its bus */
	{ 'g', "bus = \"bus0\"; slave = 2;", "bus = \"bus0\"; driver = \"ascii\";", 'g', 21,
	  "sensors[1].channels[0].register", "register is for modbus channels", 4 },
	{ 'g', "bus = \"bus0\"; slave = 2;\n    channels = ( { parameter = \"flow\"; register = "
	  "0x1010; word_order = \"cdab\"; } ); }", "bus = \"bus0\"; driver = \"ascii\";\n    "
	  "channels = ( { parameter = \"flow\"; key = \"Q\"; } ); }", 'g', 20, "sensors[1].driver",
	  "ascii on bus bus0, which already carries the modbus sensor sensors[0] (probe1): one "
	  "driver per bus", 1 },
	{ 'g', ASCII_FROM, ASCII_TO(KV_PH PH2("query = \"R\\r\";")), 'g', 14, "sensors[1].bus",
	  "bus1 carries the streaming ascii sensor sensors[0] (ph1), which needs the bus to "
	  "itself", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("query = \"R\\r\"; " KV_PH PH2("")), 'g', 14, "sensors[1].bus",
	  "bus1 already carries sensors[0] (ph1): a streaming ascii sensor (no query) needs a "
	  "bus of its own", 1 },
	{ 'g', ASCII_FROM, ASCII_TO("query = \"R\\r\"; " KV_PH PH2("query = \"R\\r\";")), 'g', 14,
	  "sensors[1].query", "is also the query of sensors[0] (ph1) on bus bus1: both would "
	  "take one answer", 1 },
};

static void test_bad_ascii_settings(void **state)
{
	for (size_t i = 0; i < sizeof(ascii_bad_cases) / sizeof(ascii_bad_cases[0]); i++)
		check_bad_case(*state, i, &ascii_bad_cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compliance_settings),
		cmocka_unit_test(test_bad_compliance_settings),
		cmocka_unit_test(test_ascii_settings),
		cmocka_unit_test(test_bad_ascii_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
