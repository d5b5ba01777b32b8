/* test_reload.c - what a reload says and decides, from two loaded configs:
 * one line per change (reload_diff), none when nothing changed, and
 * whether each sink's settings are the same (reload_sink_same: kept with
 * its connection and counters) or not (made again). */
#include "config_fixture.h"

#include "daemon/reload.h"

#define MAX_LINES 32

struct lines {
	char text[MAX_LINES][RELOAD_LINE_MAX];
	int n;
};

static void collect(void *ctx, const char *line)
{
	struct lines *l = ctx;

	assert_true(l->n < MAX_LINES);
	snprintf(l->text[l->n++], RELOAD_LINE_MAX, "%s", line);
}

struct pair {
	struct config *a, *b;
	struct lines out;
	int n;
};

/* Loads the base files as a, then with gw and pm patched (from -> to, in
 * the file named by which: 'g' or 'p') as b, and diffs them. */
static void load_pair(void **state, char which, const char *from, const char *to,
		      struct pair *p)
{
	struct env *e = *state;
	char *gw = patch(base_gw, which == 'g' ? from : NULL, to);
	char *pm = patch(base_pm, which == 'p' ? from : NULL, to);
	char *err = NULL;

	memset(p, 0, sizeof(*p));
	assert_int_equal(load_texts(e, base_gw, base_pm, &p->a, &err), 0);
	free(err);
	err = NULL;
	if (load_texts(e, gw, pm, &p->b, &err) != 0)
		fail_msg("the patched config does not load: %s", err);
	free(err);
	free(gw);
	free(pm);
	p->n = reload_diff(p->a, p->b, collect, &p->out);
	assert_int_equal(p->n, p->out.n);
}

static void free_pair(struct pair *p)
{
	config_free(p->a);
	config_free(p->b);
}

/* Exactly these lines, in this order. */
static void expect(const struct pair *p, const char *const *want, int n)
{
	for (int i = 0; i < p->out.n; i++)
		print_message("  line: %s\n", p->out.text[i]);
	assert_int_equal(p->out.n, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(p->out.text[i], want[i]);
}

static void test_nothing_changed(void **state)
{
	struct pair p;

	load_pair(state, 'g', NULL, NULL, &p);
	expect(&p, NULL, 0);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_true(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
}

/* The test: a changed rolling limit is one line, and the sinks
 * stay. */
static void test_rolling_limit_changed(void **state)
{
	static const char *const want[] = {
		"permit P-1: cod rolling 60 min max 400 -> 350 mg/L",
	};
	struct pair p;

	load_pair(state, 'p', "max = 400.0; basis = \"rolling\"", "max = 350.0; basis = \"rolling\"",
		  &p);
	expect(&p, want, 1);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_true(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
}

/* A written limit replacing the template's: the permit's value changes. */
static void test_instant_limit_over_template(void **state)
{
	static const char *const want[] = {
		"permit P-1: cod instant max 500 -> 400 mg/L",
	};
	struct pair p;

	load_pair(state, 'p', "      { parameter = \"cod\"; max = 400.0;",
		  "      { parameter = \"cod\"; max = 400.0; basis = \"instant\"; },\n"
		  "      { parameter = \"cod\"; max = 400.0;", &p);
	expect(&p, want, 1);
	free_pair(&p);
}

static void test_limits_added_removed_and_bounds(void **state)
{
	static const char *const want[] = {
		"permit P-1: cod rolling 60 min limit removed",
		"permit P-1: ph instant min 6.5 -> 6 pH",
		"permit P-1: cod rolling 30 min limit added (max 400 mg/L)",
	};
	struct pair p;

	load_pair(state, 'p', "min = 6.5; max = 9.5; basis = \"instant\"; },\n"
		  "      { parameter = \"cod\"; max = 400.0; basis = \"rolling\"; window_min = 60; }",
		  "min = 6.0; max = 9.5; basis = \"instant\"; },\n"
		  "      { parameter = \"cod\"; max = 400.0; basis = \"rolling\"; window_min = 30; }",
		  &p);
	expect(&p, want, 3);
	free_pair(&p);
}

static void test_sensor_interval_and_channel(void **state)
{
	static const char *const want[] = {
		"sensor probe1: interval 10 -> 5 s",
		"sensor probe1: channel cod: word_order abcd -> cdab",
		"sensor probe1: channel cod: range [0, 2000] -> [0, 1000] mg/L",
	};
	struct pair p;

	load_pair(state, 'g', "slave = 1; interval_s = 10;\n    channels = (\n"
		  "      { parameter = \"cod\"; table = \"holding\"; register = 0; type = \"float32\";\n"
		  "        word_order = \"abcd\"; scale = 1.0; range = [0.0, 2000.0]; },",
		  "slave = 1; interval_s = 5;\n    channels = (\n"
		  "      { parameter = \"cod\"; table = \"holding\"; register = 0; type = \"float32\";\n"
		  "        word_order = \"cdab\"; scale = 1.0; range = [0.0, 1000.0]; },", &p);
	expect(&p, want, 3);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	free_pair(&p);
}

static void test_channel_removed_and_added(void **state)
{
	static const char *const want[] = {
		"sensor probe1: channel ph removed",
		"sensor probe1: channel temp added (holding register 8)",
	};
	struct pair p;

	load_pair(state, 'g', "{ parameter = \"ph\"; register = 2; }",
		  "{ parameter = \"temp\"; register = 8; }", &p);
	expect(&p, want, 2);
	free_pair(&p);
}

static void test_bus_and_outlet(void **state)
{
	static const char *const want[] = {
		"bus bus0: baud 9600 -> 19200",
		"outlet WS-001: sensors probe1, flow1 -> probe1",
	};
	struct pair p;
	struct env *e = *state;
	char *gw = patch(base_gw, "baud = 9600;", "baud = 19200;");
	char *gw2 = patch(gw, "sensors = [\"probe1\", \"flow1\"]", "sensors = [\"probe1\"]");
	char *err = NULL;

	memset(&p, 0, sizeof(p));
	assert_int_equal(load_texts(e, base_gw, base_pm, &p.a, &err), 0);
	free(err);
	err = NULL;
	assert_int_equal(load_texts(e, gw2, base_pm, &p.b, &err), 0);
	free(err);
	p.n = reload_diff(p.a, p.b, collect, &p.out);
	expect(&p, want, 2);
	free(gw);
	free(gw2);
	free_pair(&p);
}

/* A sink's settings changed: that sink is made again, the other kept. */
static void test_mqtt_changed_influx_kept(void **state)
{
	static const char *const want[] = {
		"sink mqtt: uri tcp://127.0.0.1:1883 -> tcp://127.0.0.1:1884",
		"sink mqtt: keepalive 30 -> 60 s",
	};
	struct pair p;

	load_pair(state, 'g', "uri = \"tcp://127.0.0.1:1883\"; qos = 1;",
		  "uri = \"tcp://127.0.0.1:1884\"; qos = 1; keepalive_s = 60;", &p);
	expect(&p, want, 2);
	assert_false(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_true(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
}

static void test_influx_changed_mqtt_kept(void **state)
{
	static const char *const want[] = {
		"sink influx: db outfall -> plant",
		"sink influx: gzip false -> true",
	};
	struct pair p;

	load_pair(state, 'g', "db = \"outfall\"; };", "db = \"plant\"; gzip = true; };", &p);
	expect(&p, want, 2);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_false(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
}

static void test_sink_removed(void **state)
{
	static const char *const want[] = { "sink influx removed" };
	struct pair p;

	load_pair(state, 'g',
		  "  influx: { url = \"http://127.0.0.1:8086\"; api = \"v1\"; db = \"outfall\"; };\n",
		  "", &p);
	expect(&p, want, 1);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_false(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	assert_false(reload_sink_same(p.b, p.a, RELOAD_INFLUX)); /* added back */
	free_pair(&p);
}

/* The gateway id names topics, tags and the client: both sinks go; the
 * data_dir holds InfluxDB's dead-letter file: only it goes. */
static void test_gateway_id_and_data_dir(void **state)
{
	static const char *const want_id[] = {
		"gateway: id gw-1 -> gw-2",
		"sink mqtt: client_id outfall-gw-1 -> outfall-gw-2", /* the defaults follow */
		"sink mqtt: topic_root outfall/gw-1 -> outfall/gw-2",
	};
	static const char *const want_dir[] = {
		"gateway: data_dir /var/lib/outfall -> /var/lib/outfall2",
		"gateway: run_dir /var/lib/outfall -> /var/lib/outfall2", /* follows by default */
	};
	struct pair p;

	load_pair(state, 'g', "id = \"gw-1\";", "id = \"gw-2\";", &p);
	expect(&p, want_id, 3);
	assert_false(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_false(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
	load_pair(state, 'g', "data_dir = \"/var/lib/outfall\";",
		  "data_dir = \"/var/lib/outfall2\";", &p);
	expect(&p, want_dir, 2);
	assert_true(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	assert_false(reload_sink_same(p.a, p.b, RELOAD_INFLUX));
	free_pair(&p);
}

static void test_permit_dates_and_volume(void **state)
{
	static const char *const want[] = {
		"permit P-1: valid_until 2028-02-28 -> 2029-02-28",
		"permit P-1: daily_volume_max 120 -> 100 m3",
	};
	struct pair p;

	load_pair(state, 'p', "valid_until = \"2028-02-28\";\n    daily_volume_max_m3 = 120.0;",
		  "valid_until = \"2029-02-28\";\n    daily_volume_max_m3 = 100.0;", &p);
	expect(&p, want, 2);
	free_pair(&p);
}

/* Secrets stay out of the log: only the file's path is named. */
static void test_secret_paths_only(void **state)
{
	struct env *e = *state;
	char pw[PATH_LEN + 16], to[2 * PATH_LEN];
	struct pair p;

	snprintf(pw, sizeof(pw), "%s/mqtt.pw", e->dir);
	write_file(pw, "s3cret-value\n");
	snprintf(to, sizeof(to), "qos = 1; username = \"gw\"; password_file = \"%s\";", pw);
	load_pair(state, 'g', "qos = 1;", to, &p);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.out.text[0], "sink mqtt: username (none) -> gw");
	assert_non_null(strstr(p.out.text[1], "sink mqtt: password_file (none) -> /"));
	for (int i = 0; i < p.n; i++)
		assert_null(strstr(p.out.text[i], "s3cret"));
	assert_false(reload_sink_same(p.a, p.b, RELOAD_MQTT));
	free_pair(&p);
	unlink(pw);
}

/* The reload event's summary: lines joined by "; ", and when they do not
 * fit, cut on a UTF-8 boundary with "…" (never a dangling separator). */
static void test_summary_joined_and_cut(void **state)
{
	struct rec_reload r = { 0 };
	char line[RELOAD_LINE_MAX];
	size_t n;

	(void)state;
	assert_true(rec_reload_append(&r, "sensor probe1: interval 10 -> 5 s"));
	assert_true(rec_reload_append(&r, "permit P-1: cod instant max 500 -> 400 mg/L"));
	assert_string_equal(r.summary, "sensor probe1: interval 10 -> 5 s; permit P-1: cod "
				       "instant max 500 -> 400 mg/L");
	/* 3-byte characters from a place that puts one across the cut */
	memset(&r, 0, sizeof(r));
	assert_true(rec_reload_append(&r, "a"));
	line[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(line, "排");
	assert_false(rec_reload_append(&r, line));
	n = strlen(r.summary);
	assert_true(n < REC_SUMMARY);
	assert_string_equal(r.summary + n - strlen("…"), "…");
	assert_memory_equal(r.summary, "a; 排排", strlen("a; 排排"));
	assert_int_equal((n - strlen("a; ") - strlen("…")) % 3, 0); /* whole characters */
	/* a line that ends exactly where the room does: no "; " left dangling */
	memset(&r, 0, sizeof(r));
	memset(line, 'x', REC_SUMMARY - 4);
	line[REC_SUMMARY - 4] = '\0';
	assert_true(rec_reload_append(&r, line)); /* 252 bytes fit whole */
	assert_false(rec_reload_append(&r, "more"));
	assert_int_equal(strlen(r.summary), REC_SUMMARY - 4 + strlen("…"));
	assert_memory_equal(r.summary, line, REC_SUMMARY - 4);
	assert_string_equal(r.summary + REC_SUMMARY - 4, "…");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rolling_limit_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instant_limit_over_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_added_removed_and_bounds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sensor_interval_and_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_removed_and_added, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_and_outlet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mqtt_changed_influx_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_influx_changed_mqtt_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_id_and_data_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permit_dates_and_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_paths_only, setup, teardown),
		cmocka_unit_test(test_summary_joined_and_cut),
	};
	return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
