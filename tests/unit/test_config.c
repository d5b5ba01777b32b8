/*
 * test_config.c - config_load() against the shipped examples, the defaults,
 * GB/T 31962 templates, and a table of broken configs: each must be
 * reported at the right file and line, under the right setting path, with a
 * message that says what to fix, and must leave *out alone.
 *
 * Files are written into a fresh temporary directory; err is captured with
 * open_memstream (config_fixture.h). The compliance engine's settings are
 * tested in test_config_compliance.c.
 */
#include "config_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

static const struct cfg_limit *find_limit(const struct cfg_permit *p, int param, enum basis b)
{
	for (size_t i = 0; i < p->n_limits; i++)
		if (p->limits[i].param == param && p->limits[i].basis == b)
			return &p->limits[i];
	return NULL;
}

static int count_limits(const struct cfg_permit *p, int param, enum basis b)
{
	int n = 0;

	for (size_t i = 0; i < p->n_limits; i++)
		n += p->limits[i].param == param && p->limits[i].basis == b;
	return n;
}

/* ---- the shipped examples ----------------------------------------------- */

/* The examples with their CHANGE-ME placeholders filled in, as an
 * installer would from the permit document. */
static struct config *load_examples(const struct env *e, char **errtext)
{
	char *gw0 = read_all("config/outfall.conf.example");
	char *pm0 = read_all("config/permits.conf.example");
	char *gw1 = patch(gw0, "id = \"CHANGE-ME\"", "id = \"ls-ws-000123\"");
	char *gw = patch(gw1, "permit = \"CHANGE-ME\"", "permit = \"浙丽排字第2023-0042号\"");
	char *pm1 = patch(pm0, "number = \"CHANGE-ME\"", "number = \"浙丽排字第2023-0042号\"");
	char *pm = patch(pm1, "holder = \"CHANGE-ME\"", "holder = \"丽水某食品有限公司\"");
	struct config *cfg = NULL;

	/* installed side by side, as gateway.permits = "permits.conf" expects */
	assert_int_equal(load_texts(e, gw, pm, &cfg, errtext), 0);
	assert_non_null(cfg);
	free(gw0);
	free(gw1);
	free(gw);
	free(pm0);
	free(pm1);
	free(pm);
	return cfg;
}

static void test_example_acquisition(void **state)
{
	const struct env *e = *state;
	char *errtext = NULL;
	struct config *cfg = load_examples(e, &errtext);
	const struct cfg_sensor *s;
	const struct cfg_bus *b;

	assert_string_equal(errtext, ""); /* not even a warning */
	assert_string_equal(cfg->id, "ls-ws-000123");
	assert_string_equal(cfg->data_dir, "/var/lib/outfall");
	assert_string_equal(cfg->run_dir, "/run/outfall");
	assert_string_equal(cfg->timezone, "Asia/Shanghai");
	assert_string_equal(cfg->path, e->gw);
	assert_string_equal(cfg->permits_path, e->pm);
	assert_int_equal(cfg->max_backlog_mb, 64);
	assert_int_equal(cfg->fsync_ms, 20000);
	assert_int_equal(cfg->clock, CLOCK_SRC_NTP);
	assert_int_equal(cfg->alerting.maintenance_max_h, 8);
	assert_int_equal(cfg->n_buses, 1);
	b = &cfg->buses[0];
	assert_string_equal(b->name, "rs485-0");
	assert_string_equal(b->device, "/dev/ttyUSB0");
	assert_int_equal(b->baud, 9600);
	assert_int_equal(b->parity, 'N');
	assert_int_equal(b->data_bits, 8);
	assert_int_equal(b->stop_bits, 1);
	assert_int_equal(b->timeout_ms, 500);
	assert_int_equal(b->retries, 2);

	assert_int_equal(cfg->n_sensors, 2);
	s = &cfg->sensors[0];
	assert_string_equal(s->name, "probe1");
	assert_int_equal(s->bus, 0);
	assert_int_equal(s->driver, DRIVER_MODBUS);
	assert_int_equal(s->slave, 1);
	assert_int_equal(s->interval_s, 10);
	assert_int_equal(s->retry_max_s, 15);
	assert_int_equal(s->outlet, 0);
	assert_int_equal(s->n_channels, 5);
	for (size_t i = 0; i < 5; i++) {
		static const int params[] = { P_COD, P_PH, P_NH3N, P_TP, P_TEMP };
		static const double max[] = { 2000, 14, 500, 100, 60 };

		assert_int_equal(s->channels[i].param, params[i]);
		assert_int_equal(s->channels[i].reg, (int)i * 2);
		assert_int_equal(s->channels[i].table, TABLE_HOLDING);
		assert_int_equal(s->channels[i].type, VT_FLOAT32);
		assert_int_equal(s->channels[i].order, WO_ABCD);
		assert_true(s->channels[i].has_range);
		assert_true(s->channels[i].range_min == 0.0);
		assert_true(s->channels[i].range_max == max[i]);
		assert_true(s->channels[i].scale == 1.0);
		assert_true(s->channels[i].offset == 0.0);
	}
	s = &cfg->sensors[1];
	assert_string_equal(s->name, "flow1");
	assert_int_equal(s->slave, 2);
	assert_int_equal(s->interval_s, 5);
	assert_int_equal(s->outlet, 0);
	assert_int_equal(s->n_channels, 2);
	assert_int_equal(s->channels[0].param, P_FLOW);
	assert_int_equal(s->channels[0].reg, 0x1010);
	assert_int_equal(s->channels[0].order, WO_CDAB);
	assert_true(s->channels[0].range_max == 1000.0);
	assert_int_equal(s->channels[1].param, P_VOLUME_TOTAL);
	assert_int_equal(s->channels[1].reg, 0x1018);
	assert_int_equal(s->channels[1].type, VT_UINT32);
	assert_int_equal(s->channels[1].order, WO_CDAB);
	assert_false(s->channels[1].has_range);
	free(errtext);
	config_free(cfg);
}

static void test_example_permits_and_sinks(void **state)
{
	char *errtext = NULL;
	struct config *cfg = load_examples(*state, &errtext);
	const struct cfg_outlet *o;
	const struct cfg_permit *p;
	const struct cfg_limit *l;

	assert_int_equal(cfg->n_outlets, 1);
	o = &cfg->outlets[0];
	assert_string_equal(o->id, "WS-001");
	assert_int_equal(o->kind, OUTLET_SEWAGE);
	assert_int_equal(o->permit, 0);
	assert_int_equal(o->n_sensors, 2);
	assert_int_equal(o->sensors[0], 0);
	assert_int_equal(o->sensors[1], 1);

	assert_int_equal(cfg->n_permits, 1);
	p = &cfg->permits[0];
	assert_string_equal(p->number, "\xe6\xb5\x99\xe4\xb8\xbd\xe6\x8e\x92\xe5\xad\x97\xe7\xac"
				       "\xac" "2023-0042\xe5\x8f\xb7");
	/* that is 浙丽排字第2023-0042号, spelled out in bytes */
	assert_string_equal(p->holder, "丽水某食品有限公司");
	assert_string_equal(p->category, "catering");
	assert_int_equal(p->valid_from.year, 2023);
	assert_int_equal(p->valid_from.month, 3);
	assert_int_equal(p->valid_from.day, 1);
	assert_int_equal(p->valid_until.year, 2028);
	assert_int_equal(p->valid_until.month, 2);
	assert_int_equal(p->valid_until.day, 28);
	assert_true(p->has_daily_volume);
	assert_true(p->daily_volume_max_m3 == 120.0);
	assert_string_equal(p->template_name, "GB/T31962-B");

	/* own limits first, in file order, with the alerting defaults */
	assert_int_equal(p->limits[0].param, P_PH);
	assert_true(p->limits[0].has_min && p->limits[0].min == 6.5);
	assert_true(p->limits[0].has_max && p->limits[0].max == 9.5);
	assert_false(p->limits[0].from_template);
	assert_true(p->limits[0].hysteresis_pct == 2.0);
	assert_int_equal(p->limits[2].basis, BASIS_ROLLING);
	assert_int_equal(p->limits[2].window_min, 60);
	assert_true(p->limits[2].max == 400.0);
	assert_int_equal(p->limits[3].basis, BASIS_DAILY_MEAN);
	/* grade B adds 11 instant rows minus ph and cod, which the permit sets */
	assert_int_equal(p->n_limits, 4 + 9);
	assert_int_equal(count_limits(p, P_COD, BASIS_INSTANT), 1);
	assert_false(find_limit(p, P_COD, BASIS_INSTANT)->from_template);
	l = find_limit(p, P_NH3N, BASIS_INSTANT); /* the own nh3n is a daily mean */
	assert_non_null(l);
	assert_true(l->from_template && l->max == 45.0 && !l->has_min);
	assert_int_equal(l->line, p->line);
	l = find_limit(p, P_TEMP, BASIS_INSTANT);
	assert_true(l && l->from_template && l->max == 40.0);

	assert_true(cfg->mqtt.enabled);
	assert_string_equal(cfg->mqtt.uri, "tcp://127.0.0.1:1883");
	assert_int_equal(cfg->mqtt.qos, 1);
	assert_string_equal(cfg->mqtt.client_id, "outfall-ls-ws-000123");
	assert_string_equal(cfg->mqtt.topic_root, "outfall/ls-ws-000123");
	assert_int_equal(cfg->mqtt.keepalive_s, 30);
	assert_null(cfg->mqtt.username);
	assert_false(cfg->mqtt.tls);
	assert_true(cfg->influx.enabled);
	assert_string_equal(cfg->influx.url, "http://127.0.0.1:8086");
	assert_int_equal(cfg->influx.api, 1);
	assert_string_equal(cfg->influx.db, "outfall");
	assert_int_equal(cfg->influx.batch_max, 5000);
	assert_int_equal(cfg->influx.flush_ms, 1000);
	assert_int_equal(cfg->influx.timeout_ms, 10000);
	assert_false(cfg->influx.gzip);
	free(errtext);
	config_free(cfg);
}

static void test_example_summary(void **state)
{
	char *errtext = NULL, *text = NULL;
	struct config *cfg = load_examples(*state, &errtext);
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	config_print_summary(cfg, out);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(text, "gateway ls-ws-000123\n"));
	assert_non_null(strstr(text, "bus rs485-0: /dev/ttyUSB0 9600 8N1, timeout 500 ms, "
				     "2 retries"));
	assert_non_null(strstr(text, "0x1010 ( 4112) float32 cdab"));
	assert_non_null(strstr(text, "outlet WS-001: sewage, permit 浙丽排字第2023-0042号, "
				     "sensors probe1, flow1"));
	assert_non_null(strstr(text, "max 400 mg/L, rolling 60 min"));
	assert_non_null(strstr(text, "(from template)"));
	assert_non_null(strstr(text, "\nconfig OK: 1 bus, 2 sensors, 7 channels, 1 outlet, "
				     "1 permit\n"));
	free(text);
	free(errtext);
	config_free(cfg);
}

/* ---- defaults, templates, lookups --------------------------------------- */

static const char minimal_gw[] =
	"gateway: { id = \"gw-min\"; };\n"
	"buses = ( { name = \"b\"; device = \"/dev/ttyS0\"; } );\n"
	"sensors = ( { name = \"s\"; bus = \"b\"; slave = 7;\n"
	"              channels = ( { parameter = \"cod\"; register = 100; } ); } );\n"
	"outlets = ( { id = \"YS-1\"; kind = \"storm\"; sensors = [\"s\"]; } );\n"
	"sinks: { influx: { url = \"https://db.example:8086/prefix\"; api = \"v2\"; org = \"o\";\n"
	"                   bucket = \"b\"; token_file = \"tok\"; }; };\n";

static void test_defaults(void **state)
{
	const struct env *e = *state;
	char *errtext = NULL;
	struct config *cfg = NULL;
	const struct cfg_channel *ch;

	assert_int_equal(load_texts(e, minimal_gw, "permits = ();\n", &cfg, &errtext), 0);
	assert_string_equal(errtext, "");
	assert_string_equal(cfg->data_dir, "/var/lib/outfall");
	assert_string_equal(cfg->run_dir, "/var/lib/outfall"); /* status.json beside the rest */
	assert_string_equal(cfg->timezone, "Asia/Shanghai");
	assert_string_equal(cfg->permits_path, e->pm); /* default permits.conf, beside */
	assert_int_equal(cfg->max_backlog_mb, 64);
	assert_int_equal(cfg->fsync_ms, 20000);
	assert_true(cfg->alerting.hysteresis_pct == 2.0);
	assert_int_equal(cfg->alerting.raise_after_s, 0);
	assert_int_equal(cfg->alerting.clear_after_s, 0);
	assert_int_equal(cfg->alerting.no_response_polls, 3);
	assert_true(cfg->alerting.crc_error_pct == 10.0);
	assert_int_equal(cfg->alerting.expiry_warning_days, 30);
	assert_true(cfg->alerting.coverage_pct == 75.0);
	assert_int_equal(cfg->alerting.maintenance_max_h, 8);
	assert_int_equal(cfg->clock, CLOCK_SRC_NTP);
	assert_int_equal(cfg->sensors[0].retry_max_s, 15);
	assert_int_equal(cfg->buses[0].baud, 9600);
	assert_int_equal(cfg->buses[0].parity, 'N');
	assert_int_equal(cfg->buses[0].data_bits, 8);
	assert_int_equal(cfg->buses[0].stop_bits, 1);
	assert_int_equal(cfg->buses[0].timeout_ms, 500);
	assert_int_equal(cfg->buses[0].retries, 2);
	assert_int_equal(cfg->sensors[0].interval_s, 10);
	assert_int_equal(cfg->sensors[0].gap_s, 60); /* 3 x 10 s, but a minute at least */
	assert_int_equal(cfg->sensors[0].driver, DRIVER_MODBUS);
	ch = &cfg->sensors[0].channels[0];
	assert_int_equal(ch->table, TABLE_HOLDING);
	assert_int_equal(ch->type, VT_FLOAT32);
	assert_int_equal(ch->order, WO_ABCD);
	assert_true(ch->scale == 1.0 && ch->offset == 0.0);
	assert_false(ch->has_range);
	assert_int_equal(ch->flatline_s, 0);
	assert_int_equal(ch->line, 4);
	/* a storm outlet needs no permit, and looks for sewage by default */
	assert_int_equal(cfg->outlets[0].kind, OUTLET_STORM);
	assert_int_equal(cfg->outlets[0].permit, -1);
	assert_true(cfg->outlets[0].flow_noise_m3h == 0.1);
	assert_int_equal(cfg->outlets[0].rain_hold_min, 60);
	assert_int_equal(cfg->outlets[0].n_signature, 2);
	assert_int_equal(cfg->outlets[0].signature[0].param, P_COD);
	assert_true(cfg->outlets[0].signature[0].above == 100.0);
	assert_int_equal(cfg->outlets[0].signature[1].param, P_NH3N);
	assert_true(cfg->outlets[0].signature[1].above == 5.0);
	assert_false(cfg->mqtt.enabled);
	assert_int_equal(cfg->influx.api, 2);
	assert_string_equal(cfg->influx.token_file, "tok");
	assert_int_equal(cfg->influx.batch_max, 5000);
	free(errtext);
	config_free(cfg);
}

static void test_template_override(void **state)
{
	static const char pm[] =
		"permits = ( { number = \"P-1\"; holder = \"H\"; category = \"industrial\";\n"
		"  valid_from = \"2024-01-01\"; valid_until = \"2024-01-01\";\n"
		"  template = \"GB/T31962-C\";\n"
		"  limits = ( { parameter = \"cod\"; max = 250; },\n"
		"             { parameter = \"ph\"; min = 6; max = 9; hysteresis_pct = 5;\n"
		"               raise_after_s = 60; clear_after_s = 300; } ); } );\n";
	char *errtext = NULL, *gw = patch(base_gw, "hysteresis_pct = 2.0; raise_after_s = 0",
					  "hysteresis_pct = 3.0; raise_after_s = 10");
	struct config *cfg = NULL;
	const struct cfg_permit *p;
	const struct cfg_limit *l;

	assert_int_equal(load_texts(*state, gw, pm, &cfg, &errtext), 0);
	p = &cfg->permits[0];
	assert_false(p->limits[0].from_template);
	assert_false(p->has_daily_volume);
	assert_int_equal(count_limits(p, P_COD, BASIS_INSTANT), 1);
	assert_true(find_limit(p, P_COD, BASIS_INSTANT)->max == 250.0); /* not C's 300 */
	l = find_limit(p, P_PH, BASIS_INSTANT);
	assert_true(l->min == 6.0 && l->max == 9.0 && !l->from_template);
	assert_true(l->hysteresis_pct == 5.0);
	assert_int_equal(l->raise_after_s, 60);
	assert_int_equal(l->clear_after_s, 300);
	l = find_limit(p, P_SS, BASIS_INSTANT);
	assert_true(l->from_template && l->max == 250.0); /* grade C */
	assert_true(l->hysteresis_pct == 3.0);            /* alerting defaults */
	assert_int_equal(l->raise_after_s, 10);
	assert_int_equal(l->line, 1);
	assert_true(find_limit(p, P_TN, BASIS_INSTANT)->max == 45.0);
	assert_int_equal(p->n_limits, 2 + 9);
	free(errtext);
	free(gw);
	config_free(cfg);
}

static void test_lookups(void **state)
{
	char *errtext = NULL;
	struct config *cfg = NULL;

	assert_int_equal(load_texts(*state, base_gw, base_pm, &cfg, &errtext), 0);
	assert_int_equal(config_find_sensor(cfg, "probe1"), 0);
	assert_int_equal(config_find_sensor(cfg, "flow1"), 1);
	assert_int_equal(config_find_sensor(cfg, "flow"), -1);
	assert_int_equal(config_find_sensor(cfg, NULL), -1);
	assert_int_equal(config_find_outlet(cfg, "WS-001"), 0);
	assert_int_equal(config_find_outlet(cfg, "WS-002"), -1);
	free(errtext);
	config_free(cfg);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(config_type_name(VT_INT16), "int16");
	assert_string_equal(config_type_name(VT_UINT32), "uint32");
	assert_string_equal(config_type_name(VT_FLOAT64), "float64");
	assert_string_equal(config_type_name((enum value_type)99), "?");
	assert_string_equal(config_order_name(WO_ABCD), "abcd");
	assert_string_equal(config_order_name(WO_DCBA), "dcba");
	assert_string_equal(config_order_name((enum word_order)-1), "?");
	assert_string_equal(config_basis_name(BASIS_INSTANT), "instant");
	assert_string_equal(config_basis_name(BASIS_ROLLING), "rolling");
	assert_string_equal(config_basis_name(BASIS_HOURLY_MEAN), "hourly_mean");
	assert_string_equal(config_basis_name(BASIS_DAILY_MEAN), "daily_mean");
	assert_string_equal(config_basis_name((enum basis)4), "?");
}

static void test_date_days(void **state)
{
	(void)state;
	assert_int_equal(config_date_days((struct cfg_date){ 1970, 1, 1 }), 0);
	assert_int_equal(config_date_days((struct cfg_date){ 1970, 1, 2 }), 1);
	assert_int_equal(config_date_days((struct cfg_date){ 1969, 12, 31 }), -1);
	assert_int_equal(config_date_days((struct cfg_date){ 2000, 2, 29 }), 11016);
	assert_int_equal(config_date_days((struct cfg_date){ 2000, 3, 1 }), 11017);
	assert_int_equal(config_date_days((struct cfg_date){ 2028, 2, 29 }), 21243);
	assert_int_equal(config_date_days((struct cfg_date){ 2028, 3, 1 }), 21244);
	assert_int_equal(config_date_days((struct cfg_date){ 1900, 3, 1 }), -25508);
	assert_int_equal(config_date_days((struct cfg_date){ 2100, 3, 1 }), 47541);
}

static void test_free_null(void **state)
{
	(void)state;
	config_free(NULL);
}

/* ---- broken configs ----------------------------------------------------- */

static const struct bad_case bad_cases[] = {
	/* gateway */
	{ 'g', "gateway: {", "gw: {", 'g', 1, "gateway", "missing required setting", 1 },
	{ 'g', "  id = \"gw-1\";", "", 'g', 1, "gateway.id", "missing required setting", 1 },
	{ 'g', "\"gw-1\"", "\"gw/1\"", 'g', 2, "gateway.id", "contains '/'", 1 },
	{ 'g', "\"gw-1\"", "\"gw 1\"", 'g', 2, "gateway.id",
	  "whitespace or a control character", 1 },
	{ 'g', "\"gw-1\"", "\"gw-+\"", 'g', 2, "gateway.id", "contains '+'", 1 },
	{ 'g', "\"gw-1\"",
	  "\"gw-0123456789012345678901234567890123456789012345678901234567890\"", 'g', 2,
	  "gateway.id", "is 64 bytes, longer than 63", 1 },
	{ 'g', "\"gw-1\"", "\"\"", 'g', 2, "gateway.id", "must not be empty", 1 },
	{ 'g', "\"/var/lib/outfall\"", "\"var/lib/outfall\"", 'g', 3, "gateway.data_dir",
	  "must be an absolute path", 1 },
	{ 'g', "data_dir = \"/var/lib/outfall\";", "run_dir = \"run/outfall\";", 'g', 3,
	  "gateway.run_dir", "must be an absolute path", 1 },
	{ 'g', "\"Asia/Shanghai\"", "\"Mars/Olympus\"", 'g', 4, "gateway.timezone",
	  "unknown time zone \"Mars/Olympus\"", 1 },
	{ 'g', "\"permits.conf\"", "\"nope.conf\"", 'g', 5, "gateway.permits",
	  "nope.conf\": No such file or directory", 1 },
	{ 'g', "max_backlog_mb = 64", "max_backlog_mb = 8", 'g', 6, "gateway.max_backlog_mb",
	  "8 out of range 16..65536 MiB", 1 },
	{ 'g', "max_backlog_mb = 64", "max_backlog_mb = \"big\"", 'g', 6,
	  "gateway.max_backlog_mb", "expected an integer, found a string", 1 },
	{ 'g', "max_backlog_mb = 64", "fsync_ms = 700000", 'g', 6, "gateway.fsync_ms",
	  "700000 out of range 0..600000 ms", 1 },
	{ 'g', "max_backlog_mb = 64", "clock = \"gps\"", 'g', 6, "gateway.clock",
	  "unknown clock \"gps\" (expected ntp or rtc)", 1 },
	{ 'g', "clear_after_s = 0", "clear_after_s = 0; maintenance_max_h = 73", 'g', 8,
	  "alerting.maintenance_max_h", "73 out of range 1..72 h", 1 },
	{ 'g', "interval_s = 10", "interval_s = 10; retry_max_s = 0", 'g', 14,
	  "sensors[0].retry_max_s", "0 out of range 1..3600 s", 1 },
	{ 'g', "hysteresis_pct = 2.0", "hysteresis_pct = 60", 'g', 8, "alerting.hysteresis_pct",
	  "60 out of range 0..50 %", 1 },
	{ 'g', "clear_after_s = 0", "clear_after_s = 90000", 'g', 8, "alerting.clear_after_s",
	  "90000 out of range 0..86400 s", 1 },
	/* buses */
	{ 'g', "baud = 9600", "baud = 9601", 'g', 10, "buses[0].baud",
	  "9601 is not a supported rate (expected 1200, 2400", 1 },
	{ 'g', "parity = \"N\"", "parity = \"X\"", 'g', 10, "buses[0].parity",
	  "unknown parity \"X\" (expected N, E or O)", 1 },
	{ 'g', "data_bits = 8", "data_bits = 9", 'g', 11, "buses[0].data_bits",
	  "9 out of range 5..8 bits", 1 },
	{ 'g', "stop_bits = 1", "stop_bits = 3", 'g', 11, "buses[0].stop_bits",
	  "3 out of range 1..2 bits", 1 },
	{ 'g', "timeout_ms = 500", "timeout_ms = 5", 'g', 11, "buses[0].timeout_ms",
	  "5 out of range 10..10000 ms", 1 },
	{ 'g', "retries = 2", "retries = 11", 'g', 11, "buses[0].retries",
	  "11 out of range 0..10", 1 },
	{ 'g', "device = \"/dev/ttyUSB0\"; ", "", 'g', 10, "buses[0].device",
	  "missing required setting", 1 },
	{ 'g', "retries = 2; }", "retries = 2; }, { name = \"bus1\"; device = \"/dev/ttyUSB0\"; }",
	  'g', 11, "buses[1].device", "/dev/ttyUSB0 is already used by buses[0] (bus0)", 1 },
	{ 'g', "retries = 2; }", "retries = 2; }, { name = \"bus0\"; device = \"/dev/ttyS1\"; }",
	  'g', 11, "buses[1].name", "\"bus0\" is already the name of buses[0]", 1 },
	/* sensors */
	{ 'g', "bus = \"bus0\"; driver", "bus = \"bus9\"; driver", 'g', 14, "sensors[0].bus",
	  "no bus named \"bus9\"", 1 },
	{ 'g', "driver = \"modbus\"", "driver = \"hart\"", 'g', 14, "sensors[0].driver",
	  "unknown driver \"hart\" (expected modbus or ascii)", 1 },
	{ 'g', "slave = 2", "slave = 0", 'g', 20, "sensors[1].slave", "0 out of range 1..247", 1 },
	{ 'g', "slave = 2", "slave = 1.5", 'g', 20, "sensors[1].slave",
	  "expected an integer, found a number with a fraction", 1 },
	{ 'g', "slave = 2", "slave = 1", 'g', 20, "sensors[1].slave",
	  "1 on bus bus0 is already sensors[0] (probe1)", 1 },
	{ 'g', "interval_s = 10", "interval_s = 0", 'g', 14, "sensors[0].interval_s",
	  "0 out of range 1..86400 s", 1 },
	{ 'g', "name = \"flow1\"", "name = \"probe1\"", 'g', 20, "sensors[1].name",
	  "\"probe1\" is already the name of sensors[0]", 2 },
	{ 'g', "name = \"flow1\"", "name = \"flow#1\"", 'g', 20, "sensors[1].name",
	  "contains '#'", 2 },
	{ 'g', "channels = ( { parameter = \"flow\"; register = 0x1010; word_order = \"cdab\"; } )",
	  "channels = ()", 'g', 21, "sensors[1].channels", "0 channels, expected 1..16", 1 },
	{ 'g', "    channels = ( { parameter = \"flow\"; register = 0x1010; word_order = "
	  "\"cdab\"; } ); }",
	  "    }", 'g', 20, "sensors[1].channels", "missing required setting", 1 },
	/* channels */
	{ 'g', "parameter = \"cod\"", "parameter = \"codd\"", 'g', 16,
	  "sensors[0].channels[0].parameter", "unknown parameter \"codd\" (expected one of flow, "
	  "volume_total, ph, cod", 1 },
	{ 'g', "table = \"holding\"", "table = \"coil\"", 'g', 16, "sensors[0].channels[0].table",
	  "unknown table \"coil\" (expected holding or input)", 1 },
	{ 'g', "type = \"float32\"", "type = \"float16\"", 'g', 16, "sensors[0].channels[0].type",
	  "unknown type \"float16\" (expected int16, uint16", 1 },
	{ 'g', "word_order = \"abcd\"", "word_order = \"abdc\"", 'g', 17,
	  "sensors[0].channels[0].word_order",
	  "unknown word order \"abdc\" (expected abcd, cdab, badc or dcba)", 1 },
	{ 'g', "register = 0;", "register = 70000;", 'g', 16, "sensors[0].channels[0].register",
	  "70000 out of range 0..65535", 1 },
	{ 'g', "register = 0;", "register = -1;", 'g', 16, "sensors[0].channels[0].register",
	  "-1 out of range 0..65535", 1 },
	{ 'g', "register = 2;", "register = 65535;", 'g', 18, "sensors[0].channels[1].register",
	  "65535 holds a float32 of 2 registers, which runs past 65535", 1 },
	{ 'g', "register = 2;", "register = 1;", 'g', 18, "sensors[0].channels[1].register",
	  "holding registers 1..2 overlap channels[0] (cod, registers 0..1)", 1 },
	{ 'g', "{ parameter = \"ph\"; register = 2; }", "{ parameter = \"cod\"; register = 2; }",
	  'g', 18, "sensors[0].channels[1].parameter",
	  "\"cod\" is already read by channels[0]", 1 },
	{ 'g', "{ parameter = \"ph\"; register = 2; }", "{ parameter = \"ph\"; }", 'g', 18,
	  "sensors[0].channels[1].register", "missing required setting", 1 },
	{ 'g', "scale = 1.0", "scale = 0.0", 'g', 17, "sensors[0].channels[0].scale",
	  "must not be 0", 1 },
	{ 'g', "scale = 1.0", "scale = 1e999", 'g', 17, "sensors[0].channels[0].scale",
	  "is not a finite number", 1 },
	{ 'g', "range = [0.0, 2000.0]", "range = [2000.0, 0.0]", 'g', 17,
	  "sensors[0].channels[0].range", "min 2000 is not below max 0", 1 },
	{ 'g', "range = [0.0, 2000.0]", "range = [0.0]", 'g', 17, "sensors[0].channels[0].range",
	  "expected [min, max], two numbers", 1 },
	{ 'g', "range = [0.0, 2000.0]", "range = (0, \"high\")", 'g', 17,
	  "sensors[0].channels[0].range[1]", "expected a number, found a string", 1 },
	/* outlets */
	{ 'g', "kind = \"sewage\"", "kind = \"river\"", 'g', 24, "outlets[0].kind",
	  "unknown outlet kind \"river\" (expected sewage or storm)", 1 },
	{ 'g', "permit = \"P-1\"", "permit = \"X\"", 'g', 24, "outlets[0].permit",
	  "no permit numbered \"X\" in ", 1 },
	{ 'g', " permit = \"P-1\";", "", 'g', 24, "outlets[0].permit",
	  "missing: a sewage outlet needs the number of the permit", 1 },
	{ 'g', "[\"probe1\", \"flow1\"]", "[\"probe1\", \"probe9\"]", 'g', 24,
	  "outlets[0].sensors[1]",
	  "no sensor named \"probe9\"", 1 },
	{ 'g', "[\"probe1\", \"flow1\"]", "[]", 'g', 24, "outlets[0].sensors",
	  "an outlet needs at least one sensor", 1 },
	{ 'g', "\"flow1\"]; }", "\"flow1\"]; }, { id = \"YS-1\"; kind = \"storm\"; sensors = "
	  "[\"flow1\"]; }", 'g', 24, "outlets[1].sensors[0]",
	  "sensor \"flow1\" already belongs to outlets[0] (WS-001)", 1 },
	{ 'g', "\"flow1\"]; }", "\"flow1\"]; }, { id = \"WS-001\"; kind = \"storm\"; }", 'g', 24,
	  "outlets[1].id", "\"WS-001\" is already the id of outlets[0]", 2 },
	/* sinks */
	{ 'g', "tcp://127.0.0.1:1883", "http://127.0.0.1:1883", 'g', 27, "sinks.mqtt.uri",
	  "unsupported scheme (expected tcp://, ssl://, mqtt:// or mqtts://", 1 },
	{ 'g', "tcp://127.0.0.1:1883", "tcp://:1883", 'g', 27, "sinks.mqtt.uri", "no host", 1 },
	{ 'g', "tcp://127.0.0.1:1883", "tcp://host:99999", 'g', 27, "sinks.mqtt.uri",
	  "port out of range 1..65535", 1 },
	{ 'g', "qos = 1", "qos = 3", 'g', 27, "sinks.mqtt.qos", "3 out of range 0..2", 1 },
	{ 'g', "qos = 1;", "qos = 1; tls = { ca_file = \"ca.pem\"; };", 'g', 27, "sinks.mqtt.tls",
	  "TLS settings need an ssl:// or mqtts:// uri", 1 },
	{ 'g', "qos = 1;", "qos = 1; password_file = \"pw\";", 'g', 27, "sinks.mqtt.username",
	  "missing: password_file needs a username", 1 },
	{ 'g', "qos = 1;", "qos = 1; topic_root = \"a/b/\";", 'g', 27, "sinks.mqtt.topic_root",
	  "must not contain + or # nor start or end with /", 1 },
	{ 'g', "db = \"outfall\";", "db = \"outfall\"; username = \"u\";", 'g', 28,
	  "sinks.influx.password_file", "missing: username and password_file go together", 1 },
	{ 'g', "http://127.0.0.1:8086", "ftp://127.0.0.1:8086", 'g', 28, "sinks.influx.url",
	  "unsupported scheme (expected http:// or https://", 1 },
	{ 'g', "api = \"v1\"", "api = \"v3\"", 'g', 28, "sinks.influx.api",
	  "unknown InfluxDB API \"v3\" (expected v1 or v2)", 1 },
	{ 'g', "api = \"v1\"; db = \"outfall\";", "api = \"v1\";", 'g', 28, "sinks.influx.db",
	  "missing: api \"v1\"", 1 },
	{ 'g', "api = \"v1\"", "api = \"v2\"", 'g', 28, "sinks.influx.org",
	  "missing: api \"v2\" needs org, bucket and token_file", 3 },
	{ 'g', "db = \"outfall\";", "db = \"outfall\"; batch_max = 0;", 'g', 28,
	  "sinks.influx.batch_max", "0 out of range 1..100000 points", 1 },
	{ 'g', "db = \"outfall\";", "db = \"outfall\"; flush_ms = 5;", 'g', 28,
	  "sinks.influx.flush_ms", "5 out of range 10..60000 ms", 1 },
	{ 'g', "db = \"outfall\";", "db = \"outfall\"; gzip = 1;", 'g', 28, "sinks.influx.gzip",
	  "expected true or false, found an integer", 1 },
	{ 'g', "sinks: {", "sinks = (", 'g', 27, NULL, "syntax error", 1 },
	/* permits file */
	{ 'p', "holder = \"Holder Ltd\";", "holder = ;", 'p', 2, NULL, "syntax error: ", 1 },
	{ 'p', "number = \"P-1\"; ", "", 'p', 2, "permits[0].number", "missing required setting",
	  2 },
	{ 'p', "number = \"P-1\"", "number = \"P-1-456789012345678901234567890123456789012345678"
	  "90123456789012345678901234567890123456789012345\"", 'p', 2, "permits[0].number",
	  "is 96 bytes, more than the 95 this version carries", 2 },
	{ 'p', "\"Holder Ltd\"", "\"\"", 'p', 2, "permits[0].holder", "must not be empty", 1 },
	{ 'p', "\"Holder Ltd\"", "\"\xb6\xa1\xbc\xd2\"", 'p', 2, "permits[0].holder",
	  "is not valid UTF-8", 1 },
	{ 'p', "\"catering\"", "\"bakery\"", 'p', 2, "permits[0].category",
	  "unknown category \"bakery\" (expected industrial, construction, catering, medical "
	  "or other)", 1 },
	{ 'p', "\"2023-03-01\"", "\"2023-02-29\"", 'p', 3, "permits[0].valid_from",
	  "\"2023-02-29\" is not a calendar date (expected YYYY-MM-DD)", 1 },
	{ 'p', "\"2028-02-28\"", "\"2028/02/28\"", 'p', 3, "permits[0].valid_until",
	  "is not a calendar date", 1 },
	{ 'p', "\"2028-02-28\"", "\"2022-12-31\"", 'p', 3, "permits[0].valid_until",
	  "2022-12-31 is before valid_from 2023-03-01", 1 },
	{ 'p', "daily_volume_max_m3 = 120.0", "daily_volume_max_m3 = 0", 'p', 4,
	  "permits[0].daily_volume_max_m3", "0 out of range: must be above 0 m3", 1 },
	{ 'p', "\"GB/T31962-B\"", "\"GB/T31962-D\"", 'p', 4, "permits[0].template",
	  "unknown template \"GB/T31962-D\" (expected GB/T31962-A, GB/T31962-B or "
	  "GB/T31962-C)", 1 },
	{ 'p', "parameter = \"ph\"", "parameter = \"lead\"", 'p', 6,
	  "permits[0].limits[0].parameter", "unknown parameter \"lead\"", 1 },
	{ 'p', "min = 6.5; max = 9.5", "min = 9.5; max = 6.5", 'p', 6, "permits[0].limits[0].max",
	  "max 6.5 is not above min 9.5", 1 },
	{ 'p', "min = 6.5; max = 9.5; ", "", 'p', 6, "permits[0].limits[0]",
	  "a limit needs min, max or both", 1 },
	{ 'p', "basis = \"instant\"", "basis = \"weekly\"", 'p', 6, "permits[0].limits[0].basis",
	  "unknown basis \"weekly\" (expected instant, rolling, hourly_mean or daily_mean)", 1 },
	{ 'p', " window_min = 60;", "", 'p', 7, "permits[0].limits[1].window_min",
	  "missing: a rolling limit needs its window, 1..1440 min", 1 },
	{ 'p', "window_min = 60", "window_min = 2000", 'p', 7, "permits[0].limits[1].window_min",
	  "2000 out of range 1..1440 min", 1 },
	{ 'p', "basis = \"instant\";", "basis = \"instant\"; window_min = 5;", 'p', 6,
	  "permits[0].limits[0].window_min", "only a rolling limit has a window", 1 },
	{ 'p', "basis = \"instant\";", "basis = \"instant\"; hysteresis_pct = 80;", 'p', 6,
	  "permits[0].limits[0].hysteresis_pct", "80 out of range 0..50 %", 1 },
	{ 'p', "window_min = 60;", "window_min = 60; raise_after_s = -1;", 'p', 7,
	  "permits[0].limits[1].raise_after_s", "-1 out of range 0..86400 s", 1 },
	{ 'p', "\"cod\"; max = 400.0; basis = \"rolling\"; window_min = 60;", "\"ph\"; max = 9.0;",
	  'p', 7,
	  "permits[0].limits[1]", "repeats limits[0]: ph already has a max on basis instant", 1 },
	{ 'p', "    ); }\n);", "    ); },\n  { number = \"P-1\"; holder = \"H\"; category = "
	  "\"other\"; valid_from = \"2023-01-01\"; valid_until = \"2024-01-01\"; }\n);", 'p', 9,
	  "permits[1].number", "\"P-1\" is already permits[0]", 1 },
	{ 'p', "permits = (", "permit = (", 'p', 1, "permits", "missing required setting", 1 },
};

static void test_bad_configs(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_bad_case(*state, i, &bad_cases[i]);
}

/* ---- reporting as a whole ----------------------------------------------- */

static void test_all_errors_in_one_pass(void **state)
{
	const struct env *e = *state;
	char *a = patch(base_gw, "timeout_ms = 500", "timeout_ms = 5");
	char *b = patch(a, "word_order = \"abcd\"", "word_order = \"abdc\"");
	char *gw = patch(b, "qos = 1", "qos = 7");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &errtext), 3);
	assert_null(cfg);
	assert_int_equal(error_lines(errtext), 3);
	assert_int_equal(count_lines(errtext, e->gw, ":11: buses[0].timeout_ms: "), 1);
	assert_int_equal(count_lines(errtext, e->gw,
				     ":17: sensors[0].channels[0].word_order: "), 1);
	assert_int_equal(count_lines(errtext, e->gw, ":27: sinks.mqtt.qos: "), 1);
	free(errtext);
	free(gw);
	free(b);
	free(a);
}

static void test_errors_in_both_files(void **state)
{
	const struct env *e = *state;
	char *gw = patch(base_gw, "retries = 2", "retries = 20");
	char *pm = patch(base_pm, "\"catering\"", "\"bakery\"");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, gw, pm, &cfg, &errtext), 2);
	assert_int_equal(count_lines(errtext, e->gw, ":11: buses[0].retries: 20 out of range"), 1);
	assert_int_equal(count_lines(errtext, e->pm, ":2: permits[0].category: unknown"), 1);
	free(errtext);
	free(gw);
	free(pm);
}

static void test_unknown_setting_warns(void **state)
{
	const struct env *e = *state;
	char *gw = patch(base_gw, "retries = 2;", "retries = 2; colour = \"blue\";");
	char *pm = patch(base_pm, "valid_from", "issuer = \"x\"; valid_from");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, gw, pm, &cfg, &errtext), 0);
	assert_non_null(cfg);
	assert_int_equal(error_lines(errtext), 0);
	assert_int_equal(count_lines(errtext, e->gw,
				     ":11: buses[0].colour: warning: unknown setting"), 1);
	assert_int_equal(count_lines(errtext, e->pm,
				     ":3: permits[0].issuer: warning: unknown setting"), 1);
	free(errtext);
	free(gw);
	free(pm);
	config_free(cfg);
}

/* No mqtt, influx or hj212 sink: a warning, not an error. (sinks.hj212
 * itself is test_config_hj212's.) */
static void test_no_sinks_warn(void **state)
{
	const struct env *e = *state;
	char *a = patch(base_gw, "  mqtt: { uri = \"tcp://127.0.0.1:1883\"; qos = 1; };\n", "\n");
	char *b = patch(a, "  influx: { url = \"http://127.0.0.1:8086\"; api = \"v1\"; db = "
			"\"outfall\"; };", "");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, b, base_pm, &cfg, &errtext), 0);
	assert_int_equal(count_lines(errtext, e->gw, ":26: sinks: warning: no sinks configured"),
			 1);
	assert_false(cfg->mqtt.enabled);
	assert_false(cfg->influx.enabled);
	assert_int_equal(cfg->n_hj212, 0);
	free(errtext);
	free(b);
	free(a);
	config_free(cfg);
}

static void test_missing_file(void **state)
{
	const struct env *e = *state;
	struct config *cfg = NULL;
	char path[PATH_LEN + 16];
	char *errtext = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&errtext, &len);

	assert_non_null(err);
	snprintf(path, sizeof(path), "%s/absent.conf", e->dir);
	assert_int_equal(config_load(path, &cfg, err), 1);
	assert_int_equal(fclose(err), 0);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "absent.conf: cannot read: No such file or directory"));
	assert_int_equal(config_load(NULL, &cfg, stderr), -EINVAL);
	free(errtext);
}

static void test_absolute_permits_path(void **state)
{
	const struct env *e = *state;
	char line[PATH_LEN + 32];
	char *gw, *errtext = NULL;
	struct config *cfg = NULL;

	snprintf(line, sizeof(line), "permits = \"%s\";", e->pm);
	gw = patch(base_gw, "permits = \"permits.conf\";", line);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &errtext), 0);
	assert_string_equal(cfg->permits_path, e->pm);
	free(errtext);
	free(gw);
	config_free(cfg);
}

static void test_tls(void **state)
{
	char *gw = patch(base_gw, "uri = \"tcp://127.0.0.1:1883\"; qos = 1;",
			 "uri = \"mqtts://[::1]:8883\"; qos = 0; username = \"u\"; "
			 "password_file = \"pw\"; tls = { ca_file = \"ca.pem\"; cert_file = "
			 "\"c.pem\"; key_file = \"c.key\"; verify = false; };");
	char *errtext = NULL;
	struct config *cfg = NULL;

	assert_int_equal(load_texts(*state, gw, base_pm, &cfg, &errtext), 0);
	assert_string_equal(errtext, "");
	assert_string_equal(cfg->mqtt.uri, "mqtts://[::1]:8883");
	assert_int_equal(cfg->mqtt.qos, 0);
	assert_string_equal(cfg->mqtt.username, "u");
	assert_string_equal(cfg->mqtt.password_file, "pw");
	assert_true(cfg->mqtt.tls);
	assert_string_equal(cfg->mqtt.tls_ca_file, "ca.pem");
	assert_string_equal(cfg->mqtt.tls_cert_file, "c.pem");
	assert_string_equal(cfg->mqtt.tls_key_file, "c.key");
	assert_false(cfg->mqtt.tls_verify);
	free(errtext);
	free(gw);
	config_free(cfg);
}

static void test_summary_validity(void **state)
{
	char *pm = patch(base_pm, "valid_from = \"2023-03-01\"; valid_until = \"2028-02-28\"",
			 "valid_from = \"2001-01-01\"; valid_until = \"2002-01-01\"");
	char *errtext = NULL, *text = NULL;
	struct config *cfg = NULL;
	size_t len = 0;
	FILE *out;

	assert_int_equal(load_texts(*state, base_gw, pm, &cfg, &errtext), 0);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	config_print_summary(cfg, out);
	assert_int_equal(fclose(out), 0);
	assert_non_null(strstr(text, "2001-01-01..2002-01-01: EXPIRED "));
	assert_non_null(strstr(text, "config OK: 1 bus, 2 sensors, 3 channels, 1 outlet, "
				     "1 permit"));
	free(text);
	free(errtext);
	free(pm);
	config_free(cfg);
}

/* A FIFO in place of the permits file is refused at once (a read would
 * hang start and reload with SIGTERM ignored), and a gateway file over
 * 1 MiB before libconfig's quadratic parser sees it. alarm() turns a hang
 * into a failure. */
static void test_not_a_regular_file(void **state)
{
	const struct env *e = *state;
	struct config_opts o = { .has_today = true, .today = TEST_TODAY };
	struct config *cfg = NULL;
	char *errtext = NULL, *big;
	size_t len = 0, n = (1u << 20) + 64;
	FILE *err;

	unlink(e->pm);
	assert_int_equal(mkfifo(e->pm, 0600), 0);
	write_file(e->gw, base_gw);
	err = open_memstream(&errtext, &len);
	alarm(10);
	assert_int_not_equal(config_load_opts(e->gw, &o, &cfg, err), 0);
	alarm(0);
	fclose(err);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "not a regular file"));
	free(errtext);
	unlink(e->pm);

	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, '#', n);
	big[n] = '\0';
	for (size_t i = 80; i < n; i += 80)
		big[i] = '\n';
	errtext = NULL;
	assert_int_not_equal(load_texts(e, big, base_pm, &cfg, &errtext), 0);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "larger than 1 MiB"));
	free(errtext);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_acquisition),
		cmocka_unit_test(test_example_permits_and_sinks),
		cmocka_unit_test(test_example_summary),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_template_override),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_date_days),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_all_errors_in_one_pass),
		cmocka_unit_test(test_errors_in_both_files),
		cmocka_unit_test(test_unknown_setting_warns),
		cmocka_unit_test(test_no_sinks_warn),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_absolute_permits_path),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_summary_validity),
		cmocka_unit_test(test_not_a_regular_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
