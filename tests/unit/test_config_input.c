/*
 * test_config_input.c - config files a hostile tester wrote: strings far
 * longer than any setting needs are reported with the string cut around an
 * ellipsis (head and tail kept, cut between UTF-8 characters), never
 * echoed whole into the message; syntax errors that make libconfig 1.5
 * leak are loaded again and again (a SIGHUP after each edit) without the
 * process growing; input that makes libconfig's scanner exit() is an
 * error, not the end of the process; a file libconfig takes seconds to
 * parse is refused after CFG_PARSE_TIMEOUT_MS.
 */
#include "config_fixture.h"

#include <malloc.h>
#include <time.h>

#include "config/internal.h" /* CFG_PARSE_TIMEOUT_MS */

#define LONG_LEN 100000 /* bytes of each long string: the file stays < 1 MiB */
#define LINE_MAX_SHOWN 600

/* LONG_LEN bytes: "HEAD-" + unit repeated + "-TAIL", as far as it fits. */
static char *long_string(const char *unit)
{
	size_t u = strlen(unit), n = 0;
	char *s = malloc(LONG_LEN + 1);

	assert_non_null(s);
	memcpy(s, "HEAD-", 5);
	n = 5;
	while (n + u + 5 <= LONG_LEN) {
		memcpy(s + n, unit, u);
		n += u;
	}
	memcpy(s + n, "-TAIL", 6);
	return s;
}

static bool utf8_ok(const unsigned char *p)
{
	while (*p) {
		int more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
				      : (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (more < 0)
			return false;
		for (p++; more > 0; more--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

struct long_case {
	char patched;     /* 'g' or 'p' */
	const char *from; /* the patch: from -> before + long + after */
	const char *before, *after;
	const char *unit; /* what the long string repeats */
	const char *msg;  /* distinctive part of the message */
};

static const struct long_case long_cases[] = {
	{ 'g', "timezone = \"Asia/Shanghai\";", "timezone = \"", "\";", "Asia/",
	  "unknown time zone" },
	{ 'g', "data_dir = \"/var/lib/outfall\";", "data_dir = \"var/", "\";", "lib/",
	  "must be an absolute path" },
	{ 'g', "word_order = \"abcd\";", "word_order = \"", "\";", "abcd", "unknown word order" },
	{ 'g', "bus = \"bus0\"; driver", "bus = \"", "\"; driver", "bus0", "no bus named" },
	{ 'g', "name = \"bus0\";", "name = \"", "\";", "bus0", "bytes, longer than" },
	{ 'g', "permit = \"P-1\";", "permit = \"", "\";", "浙丽排字第", "no permit numbered" },
	{ 'g', "uri = \"tcp://127.0.0.1:1883\";", "uri = \"", "\";", "tcp:/", "expected tcp://" },
	{ 'g', "parameter = \"ph\"; register", "parameter = \"", "\"; register", "ph",
	  "unknown parameter" },
	{ 'g', "permits = \"permits.conf\";", "permits = \"", "\";", "dir/", "cannot read" },
	{ 'p', "valid_from = \"2023-03-01\";", "valid_from = \"", "\";", "2023-", "not a calendar" },
};

/* Every error line is short, valid UTF-8, and the one about the string
 * keeps its head and tail around the ellipsis. */
static void check_long_case(const struct env *e, size_t i, const struct long_case *lc)
{
	char *s = long_string(lc->unit), *to, *gw, *pm, *errtext = NULL;
	struct config *cfg = NULL;
	size_t n = strlen(lc->before) + LONG_LEN + strlen(lc->after) + 1;
	int shown = 0;

	to = malloc(n);
	assert_non_null(to);
	snprintf(to, n, "%s%s%s", lc->before, s, lc->after);
	gw = patch(base_gw, lc->patched == 'g' ? lc->from : NULL, to);
	pm = patch(base_pm, lc->patched == 'p' ? lc->from : NULL, to);
	assert_true(load_texts(e, gw, pm, &cfg, &errtext) > 0);
	assert_null(cfg);
	if (!utf8_ok((const unsigned char *)errtext))
		fail_msg("case %zu: the messages are not valid UTF-8", i);
	for (const char *line = errtext; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > LINE_MAX_SHOWN)
			fail_msg("case %zu: a message of %zu bytes: %.200s...", i, len, line);
		if (memmem(line, len, lc->msg, strlen(lc->msg))) {
			shown++;
			if (!memmem(line, len, "HEAD-", 5) || !memmem(line, len, "-TAIL", 5) ||
			    !memmem(line, len, "\u2026", 3))
				fail_msg("case %zu: not cut around an ellipsis: %.*s", i, (int)len,
					 line);
		}
		line = end ? end + 1 : line + len;
	}
	if (shown == 0)
		fail_msg("case %zu: no message says \"%s\"; got:\n%.2000s", i, lc->msg, errtext);
	free(errtext);
	free(gw);
	free(pm);
	free(to);
	free(s);
}

static void test_long_strings_cut(void **state)
{
	for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++)
		check_long_case(*state, i, &long_cases[i]);
}

/* Heap bytes in use; 0 where a sanitizer's allocator does not count. */
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/*
 * A value followed by a stray string: libconfig 1.5 drops the string token
 * while recovering and leaks its 64-byte buffer (hyperrealm/libconfig#142).
 * 200 loads of it leaked 12.8 KB before; now each is found in a child
 * process. valgrind (make unit-valgrind) checks this test for leaks too.
 */
static void test_syntax_errors_do_not_leak(void **state)
{
	char *gw = patch(base_gw, "max_backlog_mb = 64;", "max_backlog_mb = 64, \"x\");");
	struct config *cfg = NULL;
	char *errtext = NULL;
	size_t before, after;

	assert_int_equal(load_texts(*state, gw, base_pm, &cfg, &errtext), 1);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "outfall.conf:6: syntax error"));
	free(errtext);
	before = heap_in_use();
	for (int i = 0; i < 200; i++) {
		errtext = NULL;
		assert_int_equal(load_texts(*state, gw, base_pm, &cfg, &errtext), 1);
		assert_non_null(strstr(errtext, "outfall.conf:6: syntax error"));
		free(errtext);
	}
	after = heap_in_use();
	print_message("heap in use before and after 200 loads: %zu, %zu bytes\n", before, after);
	assert_true(after < before + 2048);
	free(gw);
}

/* "@include" of a directory: libconfig 1.5's scanner calls exit(2). */
static void test_scanner_exit_survived(void **state)
{
	const struct env *e = *state;
	char *gw = patch(base_gw, "alerting:", "@include \".\"\nalerting:");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &errtext), 1);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "libconfig gave up on it"));
	free(errtext);
	free(gw);
}

/* 60 000 settings in one group (under 1 MiB): libconfig would take about
 * 20 s; the child is stopped at CFG_PARSE_TIMEOUT_MS. */
static void test_slow_parse_refused(void **state)
{
	const struct env *e = *state;
	size_t cap = 1u << 20, len = 0;
	char *gw = malloc(cap);
	struct config *cfg = NULL;
	char *errtext = NULL;
	struct timespec t0, t1;
	double s;

	assert_non_null(gw);
	len += (size_t)snprintf(gw + len, cap - len, "%s", base_gw);
	for (int i = 0; len + 32 < cap && i < 60000; i++)
		len += (size_t)snprintf(gw + len, cap - len, "x%d = %d;\n", i, i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &errtext), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("refused after %.1f s\n", s);
	assert_null(cfg);
	assert_non_null(strstr(errtext, "took longer than 5 s to parse"));
	assert_true(s < CFG_PARSE_TIMEOUT_MS / 1000.0 + 2.0);
	free(errtext);
	free(gw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_strings_cut),
		cmocka_unit_test(test_syntax_errors_do_not_leak),
		cmocka_unit_test(test_scanner_exit_survived),
		cmocka_unit_test(test_slow_parse_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
