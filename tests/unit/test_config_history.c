/*
 * test_config_history.c - the top-level history section (DESIGN §4): off
 * without it, its defaults, its ranges and unknown keys reported with
 * file:line like every other section, the summary line, strings freed.
 */
#include "config_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *with(const char *tail)
{
	size_t n = strlen(base_gw) + strlen(tail) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s", base_gw, tail);
	return s;
}

static void test_absent_is_off(void **state)
{
	struct env *e = *state;
	struct config *cfg = NULL;
	char *err = NULL;

	assert_int_equal(load_texts(e, base_gw, base_pm, &cfg, &err), 0);
	assert_false(cfg->history.enabled);
	assert_null(cfg->history.dir);
	config_free(cfg);
	free(err);
}

static void test_defaults(void **state)
{
	struct env *e = *state;
	struct config *cfg = NULL;
	char *gw = with("history: { commit_s = 5; };\n"), *err = NULL, *sum = NULL;
	size_t len = 0;
	FILE *out;

	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 0);
	assert_true(cfg->history.enabled);
	assert_string_equal(cfg->history.dir, "/var/lib/outfall/history");
	assert_int_equal(cfg->history.raw_days, 31);
	assert_int_equal(cfg->history.aggregate_days, 400);
	assert_int_equal(cfg->history.max_mb, 512);
	assert_int_equal(cfg->history.commit_s, 5);
	out = open_memstream(&sum, &len);
	config_print_summary(cfg, out);
	fclose(out);
	assert_non_null(strstr(sum, "history: /var/lib/outfall/history, a transaction every 5 s"));
	config_free(cfg);
	free(sum);
	free(err);
	free(gw);
}

static void test_settings_and_errors(void **state)
{
	struct env *e = *state;
	struct config *cfg = NULL;
	char *gw = with("history: { dir = \"/srv/h\"; raw_days = 7; aggregate_days = 36500;\n"
			"  max_mb = 16; commit_s = 3600; };\n"), *err = NULL;
	char *bad = with("history: { dir = \"rel/h\"; raw_days = 0; aggregate_days = 36501;\n"
			 "  max_mb = 8; commit_s = 3601; colour = 1; };\n");
	char at[600];

	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &err), 0);
	assert_string_equal(cfg->history.dir, "/srv/h");
	assert_int_equal(cfg->history.raw_days, 7);
	assert_int_equal(cfg->history.aggregate_days, 36500);
	assert_int_equal(cfg->history.max_mb, 16);
	assert_int_equal(cfg->history.commit_s, 3600);
	config_free(cfg);
	free(err);
	err = NULL;
	cfg = NULL;
	assert_int_equal(load_texts(e, bad, base_pm, &cfg, &err), 5);
	assert_null(cfg);
	snprintf(at, sizeof(at), "%s:30: ", e->gw);
	assert_int_equal(count_lines(err, at, "dir"), 1);
	assert_int_equal(count_lines(err, at, "raw_days"), 1);
	assert_int_equal(count_lines(err, at, "aggregate_days"), 1);
	snprintf(at, sizeof(at), "%s:31: ", e->gw);
	assert_int_equal(count_lines(err, at, "max_mb"), 1);
	assert_int_equal(count_lines(err, at, "commit_s"), 1);
	assert_int_equal(count_lines(err, at, "colour"), 1); /* a warning */
	free(err);
	free(gw);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_is_off),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_settings_and_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
