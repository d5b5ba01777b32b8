/* test_log.c - is stderr the journal (JOURNAL_STREAM against fstat), the
 * local ISO 8601 time with ms and offset, the line in both forms, and
 * log_msg end to end with stderr redirected to a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* 2026-12-02T10:45:12.345Z */
#define T_2026 1796208312345LL

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* A scratch file open for reading and writing, and its "dev:ino". */
static int scratch(char *name, size_t cap, char *stream, size_t scap)
{
	struct stat st;
	int fd;

	snprintf(name, cap, "/tmp/test_log.XXXXXX");
	fd = mkstemp(name);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(stream, scap, "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	return fd;
}

static void test_journal_matches_dev_and_inode(void **state)
{
	char name[64], stream[64], other[96];
	int fd = scratch(name, sizeof(name), stream, sizeof(stream));
	int p[2];

	(void)state;
	assert_true(log_is_journal(stream, fd));
	/* the same device, another inode: a redirected stderr */
	snprintf(other, sizeof(other), "%.*s%llu", (int)(strchr(stream, ':') - stream + 1),
		 stream, strtoull(strchr(stream, ':') + 1, NULL, 10) + 1);
	assert_false(log_is_journal(other, fd));
	assert_int_equal(pipe(p), 0);
	assert_false(log_is_journal(stream, p[0])); /* another file altogether */
	close(p[0]);
	close(p[1]);
	close(fd);
	assert_false(log_is_journal(stream, fd)); /* closed */
	unlink(name);
}

static void test_journal_malformed(void **state)
{
	static const char *const bad[] = { "", ":", "12", "12:", ":34", "12:34x", "x12:34",
					   "-1:2", "1:-2", "12 :34", "99999999999999999999999:1" };
	char name[64], stream[64];
	int fd = scratch(name, sizeof(name), stream, sizeof(stream));

	(void)state;
	assert_false(log_is_journal(NULL, fd));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(log_is_journal(bad[i], fd));
	close(fd);
	unlink(name);
}

static void test_time_local_with_offset(void **state)
{
	char buf[LOG_TIME_LEN];

	(void)state;
	set_tz("Asia/Shanghai");
	assert_string_equal(log_format_time(T_2026, buf, sizeof(buf)),
			    "2026-12-02T18:45:12.345+08:00");
	assert_string_equal(log_format_time(0, buf, sizeof(buf)), "1970-01-01T08:00:00.000+08:00");
	assert_string_equal(log_format_time(-1, buf, sizeof(buf)),
			    "1970-01-01T07:59:59.999+08:00");
	set_tz("UTC");
	assert_string_equal(log_format_time(T_2026, buf, sizeof(buf)),
			    "2026-12-02T10:45:12.345+00:00");
	set_tz("America/St_Johns"); /* -03:30 in December */
	assert_string_equal(log_format_time(T_2026, buf, sizeof(buf)),
			    "2026-12-02T07:15:12.345-03:30");
	set_tz("Europe/Berlin"); /* summer time: +02:00 */
	assert_string_equal(log_format_time(1783000000000LL, buf, sizeof(buf)),
			    "2026-07-02T15:46:40.000+02:00");
}

static void test_time_too_small(void **state)
{
	char buf[10] = "garbage";

	(void)state;
	set_tz("Asia/Shanghai");
	assert_string_equal(log_format_time(T_2026, buf, sizeof(buf)), "");
	assert_string_equal(log_format_time(T_2026, buf, 1), "");
}

static void test_line_forms(void **state)
{
	char line[256];

	(void)state;
	set_tz("Asia/Shanghai");
	assert_int_equal(log_format_line(line, sizeof(line), LOG_WARNING, true, T_2026, "x y"),
			 (int)strlen("<4>x y"));
	assert_string_equal(line, "<4>x y");
	log_format_line(line, sizeof(line), LOG_WARNING, false, T_2026, "mqtt: gone");
	assert_string_equal(line, "2026-12-02T18:45:12.345+08:00 outfalld: warning: mqtt: gone");
	log_format_line(line, sizeof(line), LOG_NOTICE, false, T_2026, "reload: done");
	assert_string_equal(line, "2026-12-02T18:45:12.345+08:00 outfalld: notice: reload: done");
	log_format_line(line, sizeof(line), LOG_ERR, false, T_2026, "e");
	assert_string_equal(line, "2026-12-02T18:45:12.345+08:00 outfalld: error: e");
	assert_true(log_format_line(line, 12, LOG_INFO, false, T_2026, "long") >= 12);
	assert_int_equal(strlen(line), 11);
}

/* log_msg with stderr on a file: JOURNAL_STREAM naming that file gives the
 * journal form, naming another (a child of the service whose stderr went
 * elsewhere) or none gives timestamps. */
static void check_logged(const char *journal_stream, const char *want_prefix, bool stamp)
{
	char name[64], stream[64], got[512] = "";
	int fd = scratch(name, sizeof(name), stream, sizeof(stream));
	int saved = dup(STDERR_FILENO);
	FILE *f;

	if (journal_stream && strcmp(journal_stream, "self") == 0)
		setenv("JOURNAL_STREAM", stream, 1);
	else if (journal_stream)
		setenv("JOURNAL_STREAM", journal_stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_set_journal(-1);
	fflush(stderr);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	log_notice("hello %d", 42);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_set_journal(-1);
	unsetenv("JOURNAL_STREAM");
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	assert_non_null(fgets(got, sizeof(got), f));
	fclose(f);
	unlink(name);
	if (!stamp) {
		assert_string_equal(got, want_prefix);
		return;
	}
	/* "2026-..-..T..:..:..sss+08:00 outfalld: notice: hello 42\n" */
	assert_int_equal(strlen(got), 29 + strlen(want_prefix));
	assert_true(got[4] == '-' && got[10] == 'T' && got[19] == '.' && got[23] == '+');
	assert_string_equal(got + 29, want_prefix);
}

static void test_log_msg_to_journal_or_not(void **state)
{
	(void)state;
	set_tz("Asia/Shanghai");
	check_logged("self", "<5>hello 42\n", false);
	check_logged("1:2", " outfalld: notice: hello 42\n", true);
	check_logged(NULL, " outfalld: notice: hello 42\n", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_matches_dev_and_inode),
		cmocka_unit_test(test_journal_malformed),
		cmocka_unit_test(test_time_local_with_offset),
		cmocka_unit_test(test_time_too_small),
		cmocka_unit_test(test_line_forms),
		cmocka_unit_test(test_log_msg_to_journal_or_not),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
