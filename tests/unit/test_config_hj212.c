/*
 * test_config_hj212.c - sinks.hj212 (DESIGN §4, issue 11 item 6): a list of
 * platforms with their defaults, the password inline or from a file (never
 * printed), the standard's rules (MN 24 hex characters, PW 6 characters,
 * ST, intervals from the standard's sets, OverTime/ReCount ranges),
 * unique names, the sink count the outbox can carry, every error at
 * file:line, and the -n lines that say what each platform will be sent.
 */
#include "config_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFLUX_LINE "  influx: { url = \"http://127.0.0.1:8086\"; api = \"v1\"; db = \"outfall\"; };\n"
#define MN "010000A8900016F000169DC0"

/* gw with platforms (one per line) in a list before the sinks group's
 * closing line; after: what to put before the list (base_gw: line 30). */
static char *with_platforms_in(const char *gw, const char *before, const char *entries)
{
	size_t n = strlen(gw), cap = n + strlen(before) + strlen(entries) + 32;
	char *out = malloc(cap);

	assert_non_null(out);
	assert_true(n >= 3 && strcmp(gw + n - 3, "};\n") == 0);
	snprintf(out, cap, "%.*s%s  hj212 = (\n%s  );\n};\n", (int)(n - 3), gw, before, entries);
	return out;
}

static char *with_platforms(const char *entries)
{
	return with_platforms_in(base_gw, "", entries);
}

static char *pw_path(const struct env *e, const char *content)
{
	char *p = malloc(PATH_LEN + 8);

	assert_non_null(p);
	snprintf(p, PATH_LEN + 8, "%s/pw", e->dir);
	write_file(p, content);
	return p;
}

static char *summary(const struct config *cfg)
{
	char *sum = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&sum, &len);

	assert_non_null(out);
	config_print_summary(cfg, out);
	fclose(out);
	return sum;
}

static void test_absent(void **state)
{
	struct env *e = *state;
	struct config *cfg = NULL;
	char *err = NULL;

	assert_int_equal(load_texts(e, base_gw, base_pm, &cfg, &err), 0);
	assert_int_equal(cfg->n_hj212, 0);
	assert_null(cfg->hj212);
	config_free(cfg);
	free(err);
}

static void test_two_platforms(void **state)
{
	struct env *e = *state;
	char *pw = pw_path(e, "s3cr3t\n"), entries[2048], *gw0, *gw, *err = NULL, *sum;
	struct config *cfg = NULL;
	const struct cfg_hj212 *a, *b;

	snprintf(entries, sizeof(entries),
		 "    { name = \"city\"; host = \"10.0.0.5\"; port = 9000; mn = \"%s\"; pw = \"123456\"; },\n"
		 "    { name = \"province\"; host = \"hj.example.cn\"; port = 8011; outlet = \"WS-001\";"
		 " mn = \"0123456789abcdef01234567\"; pw_file = \"%s\"; version = 2025; ack = false;"
		 " timeout_s = 5; retries = 1; rtd_interval_s = 30; min_interval_min = 5;"
		 " max_rtd_age_s = 0; send = [\"2051\", \"2061\"]; local_codes = { cod = \"w99018\"; }; }\n",
		 MN, pw);
	gw0 = with_platforms(entries);
	gw = patch(gw0, "  mqtt: { uri = \"tcp://127.0.0.1:1883\"; qos = 1; };\n", "\n");
	free(gw0);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 0);
	assert_int_equal(cfg->n_hj212, 2);
	a = &cfg->hj212[0];
	b = &cfg->hj212[1];
	assert_string_equal(a->name, "city");
	assert_string_equal(a->host, "10.0.0.5");
	assert_int_equal(a->port, 9000);
	assert_int_equal(a->outlet, 0);
	assert_string_equal(a->mn, MN);
	assert_string_equal(a->pw, "123456");
	assert_null(a->pw_file);
	assert_int_equal(a->st, 32);
	assert_int_equal(a->version, 2017);
	assert_true(a->ack);
	assert_int_equal(a->timeout_s, 10);
	assert_int_equal(a->retries, 3);
	assert_int_equal(a->rtd_interval_s, 60);
	assert_int_equal(a->min_interval_min, 10);
	assert_int_equal(a->max_rtd_age_s, 3600);
	assert_int_equal(a->send, HJS_ALL);
	assert_string_equal(b->mn, "0123456789ABCDEF01234567"); /* upper case */
	assert_string_equal(b->pw, "s3cr3t");
	assert_string_equal(b->pw_file, pw);
	assert_int_equal(b->version, 2025);
	assert_false(b->ack);
	assert_int_equal(b->timeout_s, 5);
	assert_int_equal(b->retries, 1);
	assert_int_equal(b->rtd_interval_s, 30);
	assert_int_equal(b->min_interval_min, 5);
	assert_int_equal(b->max_rtd_age_s, 0);
	assert_int_equal(b->send, HJS_MIN | HJS_HOUR);
	assert_string_equal(b->local_code[P_COD], "w99018");
	/* a standard code replaced by a local one is worth a warning */
	assert_int_equal(count_lines(err, e->gw, "has the standard code w01018"), 1);
	assert_false(config_hj212_same(a, b));
	assert_true(config_hj212_same(a, a));

	sum = summary(cfg);
	assert_non_null(strstr(sum, "sink hj212 city: 10.0.0.5:9000, MN " MN ", ST 32, "
			       "HJ 212-2017, Flag=5, pw (inline)\n"));
	assert_non_null(strstr(sum, "  outlet WS-001: on connect 2081; 2011 every 60 s (skipped "
			       "when older than 3600 s); 2051 every 10 min; 2061 hourly; 2031 daily\n"));
	assert_non_null(strstr(sum, "  factors: flow w00000 (L/s, Cou m3) ph w01001 (pH) cod "
			       "w01018 (mg/L, Cou kg)\n"));
	assert_non_null(strstr(sum, "sink hj212 province: hj.example.cn:8011, MN "
			       "0123456789ABCDEF01234567, ST 32, HJ 212-2025, Flag=8"));
	assert_non_null(strstr(sum, "ack = false: delivered once written to TCP"));
	assert_non_null(strstr(sum, "on connect 2081; 2051 every 5 min; 2061 hourly\n"));
	assert_non_null(strstr(sum, "cod w99018 (mg/L, Cou kg)"));
	assert_null(strstr(sum, "s3cr3t"));   /* never printed */
	assert_null(strstr(sum, " 123456"));
	assert_null(strstr(sum, "no sinks"));
	free(sum);
	config_free(cfg);
	unlink(pw);
	free(pw);
	free(err);
	free(gw);
}

static void test_local_code_and_not_sent(void **state)
{
	struct env *e = *state;
	char *gw0 = patch(base_gw, "{ parameter = \"ph\"; register = 2; }",
			  "{ parameter = \"ph\"; register = 2; }, { parameter = \"turbidity\"; "
			  "register = 4; }, { parameter = \"oil_animal\"; register = 6; }");
	char entries[512], *gw, *err = NULL, *sum;
	struct config *cfg = NULL;

	snprintf(entries, sizeof(entries), "    { name = \"city\"; host = \"h\"; port = 1; "
		 "mn = \"%s\"; pw = \"123456\"; local_codes = { oil_animal = \"w22101\"; }; }\n", MN);
	gw = patch(gw0, INFLUX_LINE, "");
	free(gw0);
	gw0 = gw;
	gw = with_platforms_in(gw0, "", entries);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 0);
	sum = summary(cfg);
	assert_non_null(strstr(sum, "oil_animal w22101 (mg/L, Cou kg)"));
	assert_non_null(strstr(sum, "  NOT sent (no standard code; set one in local_codes): "
			       "turbidity\n"));
	free(sum);
	config_free(cfg);
	free(err);
	free(gw);
	free(gw0);
}

struct hj_bad {
	const char *entries; /* the list's lines, from line 30 */
	int line;
	const char *path;    /* setting path in the message */
	const char *msg;
	int errors;
};

#define P(x) "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; " x " }\n"
#define PC(x) "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; " x " },\n"

static const struct hj_bad bad_cases[] = {
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"010000A8900016F000169DC\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].mn", "is 23 characters; the standard's MN is 24 characters 0-9 and A-F", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"010000A8900016F000169DCG\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].mn", "0-9 and A-F", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"12345\"; }\n",
	  30, "sinks.hj212[0].pw", "expected 6 printable ASCII characters", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"12;456\"; }\n",
	  30, "sinks.hj212[0].pw", "without ; & = or ,", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; }\n",
	  30, "sinks.hj212[0].pw_file", "missing: the platform's access password", 1 },
	{ P("pw_file = \"/nonexistent/pw\";"), 30, "sinks.hj212[0].pw_file", "pw and pw_file both", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw_file = \"/nonexistent/pw\"; }\n",
	  30, "sinks.hj212[0].pw_file", "/nonexistent/pw: ", 1 },
	{ P("st = 91;"), 30, "sinks.hj212[0].st", "91 is the system interaction code", 1 },
	{ P("st = 100;"), 30, "sinks.hj212[0].st", "100", 1 },
	{ P("version = 2019;"), 30, "sinks.hj212[0].version", "expected 2017", 1 },
	{ P("rtd_interval_s = 29;"), 30, "sinks.hj212[0].rtd_interval_s", "29", 1 },
	{ P("rtd_interval_s = 3601;"), 30, "sinks.hj212[0].rtd_interval_s", "3601", 1 },
	{ P("min_interval_min = 7;"), 30, "sinks.hj212[0].min_interval_min",
	  "7 min is not one of the standard's minute-data intervals", 1 },
	{ P("timeout_s = 100;"), 30, "sinks.hj212[0].timeout_s", "100", 1 },
	{ P("timeout_s = 0;"), 30, "sinks.hj212[0].timeout_s", "0", 1 },
	{ P("retries = 100;"), 30, "sinks.hj212[0].retries", "100", 1 },
	{ P("send = [\"2011\", \"2099\"];"), 30, "sinks.hj212[0].send[1]", "\"2099\": expected", 1 },
	{ P("outlet = \"WS-404\";"), 30, "sinks.hj212[0].outlet", "no outlet has id \"WS-404\"", 1 },
	{ P("local_codes = { colour = \"w1\"; };"), 30, "sinks.hj212[0].local_codes.colour",
	  "\"colour\" is not a parameter", 1 },
	{ P("local_codes = { turbidity = \"w-1;\"; };"), 30, "sinks.hj212[0].local_codes.turbidity",
	  "expected 2..15 letters and digits", 1 },
	{ "    { name = \"City\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].name", "expected 1..15 of a-z, 0-9 and _", 1 },
	{ "    { name = \"mqtt\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].name", "is the name of another sink", 1 },
	{ "    { name = \"city\"; host = \"http://h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].host", "without scheme, port or path", 1 },
	{ "    { name = \"city\"; host = \"h\"; port = 0; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].port", "0", 1 },
	{ "    { name = \"city\"; host = \"h\"; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  30, "sinks.hj212[0].port", "missing", 1 },
	{ PC("") P(""), 31, "sinks.hj212[1].name", "\"city\" is already the name of hj212[0]", 1 },
	/* mqtt, influx and three platforms are five sinks: the outbox keeps four */
	{ "    { name = \"a\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; },\n"
	  "    { name = \"b\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; },\n"
	  "    { name = \"c\"; host = \"h\"; port = 1; mn = \"" MN "\"; pw = \"123456\"; }\n",
	  29, "sinks.hj212", "3 platforms and 2 other sinks: at most 4 sinks in all", 1 },
};

static void test_bad_cases(void **state)
{
	struct env *e = *state;

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct hj_bad *bc = &bad_cases[i];
		char *gw, *err = NULL, at[PATH_LEN + 128];
		struct config *cfg = NULL;
		int rc;

		gw = with_platforms(bc->entries);
		rc = load_texts(e, gw, base_pm, &cfg, &err);
		snprintf(at, sizeof(at), "%s:%d: %s: ", e->gw, bc->line, bc->path);
		if (rc != bc->errors || count_lines(err, at, bc->msg) != 1)
			fail_msg("case %zu: %d errors (expected %d), want \"%s%s\" in:\n%s", i, rc,
				 bc->errors, at, bc->msg, err);
		assert_null(cfg);
		free(err);
		free(gw);
	}
}

/* A password file of the wrong length is named, its content never printed. */
static void test_pw_file_wrong(void **state)
{
	struct env *e = *state;
	char *pw = pw_path(e, "topsecretpw\n"), entries[512], *gw, *err = NULL;
	struct config *cfg = NULL;

	snprintf(entries, sizeof(entries), "    { name = \"city\"; host = \"h\"; port = 1; "
		 "mn = \"%s\"; pw_file = \"%s\"; }\n", MN, pw);
	gw = with_platforms(entries);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 1);
	assert_int_equal(count_lines(err, e->gw, "the password must be 6 printable ASCII"), 1);
	assert_null(strstr(err, "topsecretpw"));
	unlink(pw);
	free(pw);
	free(err);
	free(gw);
}

/* With several outlets a platform must name its own. */
static void test_outlet_required(void **state)
{
	struct env *e = *state;
	char *gw0 = patch(base_gw, STORM_FROM, STORM_TO("")), entries[512], *gw, *err = NULL;
	struct config *cfg = NULL;

	snprintf(entries, sizeof(entries), "    { name = \"city\"; host = \"h\"; port = 1; "
		 "mn = \"%s\"; pw = \"123456\"; }\n", MN);
	gw = with_platforms_in(gw0, "", entries);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 1);
	assert_int_equal(count_lines(err, e->gw, "outlet: missing: with 2 outlets"), 1);
	free(err);
	free(gw);
	free(gw0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_two_platforms),
		cmocka_unit_test(test_local_code_and_not_sent),
		cmocka_unit_test(test_bad_cases),
		cmocka_unit_test(test_pw_file_wrong),
		cmocka_unit_test(test_outlet_required),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
