/*
 * test_alertstate.c - the compliance engine's state file: a round trip of
 * every field (the evidence of faults, gaps and expiry included), a version
 * 1 file from before them still read, a table of damaged files (each one
 * refused whole, never half read), and the durable write failing at each
 * step (ENOSPC, EIO, a failed rename) without touching the state already
 * on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "base/param.h"
#include "compliance/alertstate.h"

static char dir[256];

static int make_dir(void **state)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	(void)state;
	n = snprintf(dir, sizeof(dir), "%s/test_alertstate.", tmp && *tmp ? tmp : P_tmpdir);
	if (n < 0 || (size_t)n + 7 > sizeof(dir))
		return -1;
	memset(dir + n, 'X', 6); /* the six characters mkdtemp replaces */
	dir[n + 6] = '\0';
	return mkdtemp(dir) ? 0 : -1;
}

static void path_of(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static int remove_dir(void **state)
{
	char p[300];

	(void)state;
	path_of(ALERTSTATE_FILE, p, sizeof(p));
	unlink(p);
	path_of(ALERTSTATE_FILE ".tmp", p, sizeof(p));
	unlink(p);
	rmdir(dir);
	return 0;
}

/* Two alerts, two accumulators, a counter: every field set. */
static void sample(struct alertstate *st)
{
	static struct alertstate_alert alerts[2];
	static struct alertstate_acc accs[2];
	static struct alertstate_counter counters[1];
	struct rec_alert *e = &alerts[0].ev;

	memset(alerts, 0, sizeof(alerts));
	snprintf(alerts[0].key, sizeof(alerts[0].key), "WS-001|浙丽排字第2023-0042号|cod|instant");
	snprintf(e->id, sizeof(e->id), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	e->state = ALERT_RAISED;
	e->kind = AK_LIMIT_EXCEEDED;
	e->param = P_COD;
	e->basis = 1;
	e->sensor_health = 2;
	e->window_min = 60;
	snprintf(e->outlet, sizeof(e->outlet), "WS-001");
	snprintf(e->sensor, sizeof(e->sensor), "probe1");
	snprintf(e->permit, sizeof(e->permit), "浙丽排字第2023-0042号");
	snprintf(e->holder, sizeof(e->holder), "丽水某食品有限公司");
	e->limit = 500;
	e->value = 612.4;
	e->peak = NAN;
	e->since_ms = 1764403217000;
	e->until_ms = -5;
	alerts[0].reminded_day = 20421;
	e = &alerts[1].ev;
	snprintf(alerts[1].key, sizeof(alerts[1].key), "k2");
	e->kind = AK_SENSOR_FAULT;
	e->value_flags = RV_F32 | RV_IMPLAUSIBLE;
	e->reason = CR_SENSOR_RECOVERED;
	e->unhealthy = 1;
	e->cause = FC_IMPLAUSIBLE;
	e->n_params = 3;
	e->params[0] = P_COD;
	e->params[1] = P_PH;
	e->params[2] = P_TURBIDITY;
	e->polls_missed = 17;
	e->last_answer_ms = 1764403210000;
	e->gap_s = -3;
	e->coverage_pct = 62.5;
	e->days_left = -2;
	snprintf(e->note, sizeof(e->note), "ph 2.3e-41: subnormal or tiny; word order or type?");
	memset(accs, 0, sizeof(accs));
	snprintf(accs[0].key, sizeof(accs[0].key), "WS-001|cod|hour");
	accs[0].start_ms = 1764403200000;
	accs[0].end_ms = 1764406800000;
	accs[0].acc = (struct acc){ .n = 7, .sum = 1.5, .min = -2, .max = 1e300, .wsum = 0.25,
				    .wvsum = 3, .cou = NAN, .covered_ms = 123456 };
	snprintf(accs[1].key, sizeof(accs[1].key), "WS-001||day_volume");
	snprintf(counters[0].key, sizeof(counters[0].key), "flow1|volume_total");
	counters[0].last = 4294967290.0;
	counters[0].wall_ms = 1764403219000;
	*st = (struct alertstate){ .alerts = alerts, .n_alerts = 2, .accs = accs, .n_accs = 2,
				   .counters = counters, .n_counters = 1 };
}

static bool same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static void test_round_trip(void **state)
{
	struct alertstate st, back = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	sample(&st);
	assert_int_equal(alertstate_encode(&st, &buf, &len), 0);
	assert_memory_equal(buf, "OFSTATE2", 8);
	assert_int_equal(alertstate_decode(buf, len, &back), 0);
	assert_int_equal(back.n_alerts, 2);
	assert_int_equal(back.n_accs, 2);
	assert_int_equal(back.n_counters, 1);
	assert_string_equal(back.alerts[0].key, st.alerts[0].key);
	assert_string_equal(back.alerts[0].ev.id, st.alerts[0].ev.id);
	assert_string_equal(back.alerts[0].ev.permit, st.alerts[0].ev.permit);
	assert_string_equal(back.alerts[0].ev.holder, st.alerts[0].ev.holder);
	assert_string_equal(back.alerts[0].ev.outlet, "WS-001");
	assert_string_equal(back.alerts[0].ev.sensor, "probe1");
	assert_int_equal(back.alerts[0].ev.kind, AK_LIMIT_EXCEEDED);
	assert_int_equal(back.alerts[0].ev.param, P_COD);
	assert_int_equal(back.alerts[0].ev.basis, 1);
	assert_int_equal(back.alerts[0].ev.sensor_health, 2);
	assert_int_equal(back.alerts[0].ev.window_min, 60);
	assert_true(back.alerts[0].ev.limit == 500 && back.alerts[0].ev.value == 612.4);
	assert_true(isnan(back.alerts[0].ev.peak));
	assert_int_equal(back.alerts[0].ev.since_ms, 1764403217000);
	assert_int_equal(back.alerts[0].ev.until_ms, -5);
	assert_int_equal(back.alerts[0].reminded_day, 20421);
	assert_string_equal(back.alerts[1].key, "k2");
	assert_true(same_double(back.alerts[0].ev.coverage_pct, 0));
	assert_int_equal(back.alerts[1].ev.value_flags, RV_F32 | RV_IMPLAUSIBLE);
	assert_int_equal(back.alerts[1].ev.reason, CR_SENSOR_RECOVERED);
	assert_int_equal(back.alerts[1].ev.unhealthy, 1);
	assert_int_equal(back.alerts[1].ev.cause, FC_IMPLAUSIBLE);
	assert_int_equal(back.alerts[1].ev.n_params, 3);
	assert_memory_equal(back.alerts[1].ev.params, st.alerts[1].ev.params, 3);
	assert_int_equal(back.alerts[1].ev.polls_missed, 17);
	assert_int_equal(back.alerts[1].ev.last_answer_ms, 1764403210000);
	assert_int_equal(back.alerts[1].ev.gap_s, -3);
	assert_true(back.alerts[1].ev.coverage_pct == 62.5);
	assert_int_equal(back.alerts[1].ev.days_left, -2);
	assert_string_equal(back.alerts[1].ev.note, st.alerts[1].ev.note);
	assert_string_equal(back.accs[0].key, "WS-001|cod|hour");
	assert_int_equal(back.accs[0].start_ms, 1764403200000);
	assert_int_equal(back.accs[0].end_ms, 1764406800000);
	assert_int_equal(back.accs[0].acc.n, 7);
	assert_true(back.accs[0].acc.sum == 1.5 && back.accs[0].acc.min == -2);
	assert_true(back.accs[0].acc.max == 1e300 && back.accs[0].acc.wsum == 0.25);
	assert_true(back.accs[0].acc.wvsum == 3 && same_double(back.accs[0].acc.cou, NAN));
	assert_int_equal(back.accs[0].acc.covered_ms, 123456);
	assert_true(back.counters[0].last == 4294967290.0);
	assert_int_equal(back.counters[0].wall_ms, 1764403219000);
	alertstate_clear(&back);
	alertstate_clear(&back);
	free(buf);
}

/* ---- a version 1 file (before the alerts' own evidence) ----------------- */

struct img {
	uint8_t b[1024];
	size_t n;
};

static void img_le(struct img *m, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void img_str(struct img *m, const char *s)
{
	img_le(m, strlen(s), 2);
	memcpy(m->b + m->n, s, strlen(s));
	m->n += strlen(s);
}

static void img_f64(struct img *m, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	img_le(m, u, 8);
}

/* An upgrade must not forget the open alerts: a version 1 file reads, the
 * fields it did not have come back as "none". */
static void test_version1_read(void **state)
{
	struct img m = { .n = 0 };
	struct alertstate back = { 0 };

	(void)state;
	memcpy(m.b, "OFSTATE1", 8);
	m.n = 8;
	img_le(&m, 1, 4);
	img_le(&m, 0, 4);
	img_le(&m, 1, 4);
	img_str(&m, "WS-001|P|cod|instant");
	img_str(&m, "gw/WS-001/cod/instant/1");
	for (int i = 0; i < 5; i++)
		img_le(&m, (uint64_t)(i == 1 ? AK_LIMIT_EXCEEDED : i == 2 ? P_COD : 0), 1);
	img_le(&m, 0, 4);
	img_str(&m, "WS-001");
	img_str(&m, "probe1");
	img_str(&m, "P");
	img_str(&m, "H");
	img_f64(&m, 500);
	img_f64(&m, 612.5);
	img_f64(&m, 700);
	img_le(&m, 1764403217000, 8);
	img_le(&m, 0, 8);
	img_le(&m, 0, 8);
	img_str(&m, "flow1|volume_total");
	img_f64(&m, 12345);
	img_le(&m, (uint32_t)crc32(0L, m.b, (uInt)m.n), 4);
	assert_int_equal(alertstate_decode(m.b, m.n, &back), 0);
	assert_int_equal(back.n_alerts, 1);
	assert_string_equal(back.alerts[0].ev.id, "gw/WS-001/cod/instant/1");
	assert_true(back.alerts[0].ev.limit == 500 && back.alerts[0].ev.peak == 700);
	assert_int_equal(back.alerts[0].ev.since_ms, 1764403217000);
	assert_int_equal(back.alerts[0].ev.n_params, 0);
	assert_int_equal(back.alerts[0].ev.reason, CR_NONE);
	assert_true(isnan(back.alerts[0].ev.coverage_pct));
	assert_string_equal(back.alerts[0].ev.note, "");
	assert_int_equal(back.n_counters, 1);
	assert_true(back.counters[0].last == 12345);
	assert_int_equal(back.counters[0].wall_ms, 0); /* unknown */
	alertstate_clear(&back);
}

static void test_empty_round_trip(void **state)
{
	struct alertstate st = { 0 }, back = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(alertstate_encode(&st, &buf, &len), 0);
	assert_int_equal(len, 8 + 12 + 4);
	assert_int_equal(alertstate_decode(buf, len, &back), 0);
	assert_int_equal(back.n_alerts + back.n_accs + back.n_counters, 0);
	free(buf);
}

static void test_unterminated_string_refused(void **state)
{
	struct alertstate st;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	sample(&st);
	memset(st.alerts[1].ev.outlet, 'x', sizeof(st.alerts[1].ev.outlet));
	assert_int_equal(alertstate_encode(&st, &buf, &len), -EINVAL);
	assert_null(buf);
}

/* ---- damaged files ------------------------------------------------------ */

enum damage { CUT, FLIP, MAGIC, COUNT, TRAILING, STRLEN, VERSION, PARAMS };

struct damage_case {
	enum damage how;
	size_t at;     /* byte offset (from the end for CUT) */
	const char *why;
};

static const struct damage_case damage_cases[] = {
	{ CUT, 1, "last byte missing" },
	{ CUT, 100, "truncated mid-alert" },
	{ CUT, 0x7fffffff, "empty file" },
	{ FLIP, 30, "a bit flipped in a key" },
	{ FLIP, 0, "a bit flipped in the magic" },
	{ MAGIC, 0, "another file's magic" },
	{ VERSION, 7, "a later format version" },
	{ PARAMS, 0, "more parameters than an alert holds (CRC fixed up)" },
	{ COUNT, 8, "more alerts claimed than there are (CRC fixed up)" },
	{ TRAILING, 0, "bytes after the last counter (CRC fixed up)" },
	{ STRLEN, 20, "a key length past its field (CRC fixed up)" },
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Where the second sample alert's n_params byte is: found by its three
 * parameters right after it. */
static size_t params_at(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 4 < len; i++)
		if (buf[i] == 3 && buf[i + 1] == P_COD && buf[i + 2] == P_PH &&
		    buf[i + 3] == P_TURBIDITY)
			return i;
	return 0;
}

/* Damage that keeps the CRC right, so the parser itself must notice. */
static size_t damage(uint8_t *buf, size_t len, const struct damage_case *d)
{
	switch (d->how) {
	case CUT:
		return d->at >= len ? 0 : len - d->at;
	case FLIP:
		buf[d->at] ^= 0x10;
		return len;
	case MAGIC:
		memcpy(buf, "OBXC\x01\x00\x00\x00", 8);
		return len;
	case VERSION:
		buf[d->at] = '3';
		return len;
	case PARAMS:
		buf[params_at(buf, len)] = REC_MAX_VALUES + 1;
		break;
	case COUNT:
		put32(buf + d->at, 3);
		break;
	case TRAILING:
		buf[len - 4] = 0;
		len++;
		break;
	case STRLEN:
		buf[d->at] = 0xff;
		buf[d->at + 1] = 0x7f;
		break;
	}
	put32(buf + len - 4, (uint32_t)crc32(0L, buf, (uInt)(len - 4)));
	return len;
}

static void test_damaged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(damage_cases) / sizeof(damage_cases[0]); i++) {
		struct alertstate st, back = { 0 };
		uint8_t *buf = NULL, *big;
		size_t len = 0;
		int rc;

		sample(&st);
		assert_int_equal(alertstate_encode(&st, &buf, &len), 0);
		big = realloc(buf, len + 8);
		assert_non_null(big);
		len = damage(big, len, &damage_cases[i]);
		rc = alertstate_decode(big, len, &back);
		if (rc != -EBADMSG || back.n_alerts || back.alerts || back.n_accs || back.accs)
			fail_msg("%s: %d", damage_cases[i].why, rc);
		free(big);
	}
}

/* ---- the file ----------------------------------------------------------- */

static void test_save_and_load(void **state)
{
	struct alertstate st, back = { 0 };
	char p[300];
	struct stat sb;

	(void)state;
	assert_int_equal(alertstate_load(dir, &back), -ENOENT);
	sample(&st);
	assert_int_equal(alertstate_save(dir, &st, NULL), 0);
	path_of(ALERTSTATE_FILE ".tmp", p, sizeof(p));
	assert_int_equal(stat(p, &sb), -1); /* renamed away */
	assert_int_equal(alertstate_load(dir, &back), 0);
	assert_int_equal(back.n_alerts, 2);
	assert_string_equal(back.alerts[0].ev.id, st.alerts[0].ev.id);
	alertstate_clear(&back);
	/* an empty state replaces it */
	st = (struct alertstate){ 0 };
	assert_int_equal(alertstate_save(dir, &st, NULL), 0);
	assert_int_equal(alertstate_load(dir, &back), 0);
	assert_int_equal(back.n_alerts, 0);
}

static void test_load_corrupt_file(void **state)
{
	struct alertstate back = { 0 };
	char p[300];
	int fd;

	(void)state;
	path_of(ALERTSTATE_FILE, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "OFSTATE1garbage", 15), 15);
	close(fd);
	assert_int_equal(alertstate_load(dir, &back), -EBADMSG);
	assert_null(back.alerts);
	path_of("absent", p, sizeof(p));
	assert_int_equal(alertstate_load(p, &back), -ENOENT);
	assert_int_equal(alertstate_save(p, &back, NULL), -ENOENT);
	/* a directory where the file should be is not a state file */
	path_of(ALERTSTATE_FILE, p, sizeof(p));
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(alertstate_load(dir, &back), -EBADMSG);
	assert_int_equal(rmdir(p), 0);
}

/* ---- failing system calls ----------------------------------------------- */

static int fail_at;   /* which call fails: 1 write, 2 fsync file, 3 rename, 4 fsync dir */
static int calls;

static ssize_t bad_write(int fd, const void *b, size_t n)
{
	if (fail_at == 1) {
		errno = ENOSPC;
		return -1;
	}
	return write(fd, b, n > 7 ? 7 : n); /* short writes must be carried on */
}

static int bad_fsync(int fd)
{
	if ((fail_at == 2 && ++calls == 1) || (fail_at == 4 && ++calls == 2)) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static int bad_rename(int a, const char *b, int c, const char *d)
{
	if (fail_at == 3) {
		errno = EXDEV;
		return -1;
	}
	return renameat(a, b, c, d);
}

static void test_failures_keep_the_old_state(void **state)
{
	static const int want[] = { 0, -ENOSPC, -EIO, -EXDEV, -EIO };
	const struct alertstate_sys sys = { bad_write, bad_fsync, bad_rename };
	struct alertstate st, empty = { 0 }, back = { 0 };
	char p[300];
	struct stat sb;

	(void)state;
	sample(&st);
	assert_int_equal(alertstate_save(dir, &st, NULL), 0);
	for (fail_at = 1; fail_at <= 3; fail_at++) {
		calls = 0;
		assert_int_equal(alertstate_save(dir, &empty, &sys), want[fail_at]);
		assert_int_equal(alertstate_load(dir, &back), 0);
		assert_int_equal(back.n_alerts, 2); /* the old state, whole */
		alertstate_clear(&back);
		path_of(ALERTSTATE_FILE ".tmp", p, sizeof(p));
		assert_int_equal(stat(p, &sb), -1);
	}
	/* the directory fsync failing: renamed, but reported */
	calls = 0;
	assert_int_equal(alertstate_save(dir, &empty, &sys), want[4]);
	fail_at = 0;
	assert_int_equal(alertstate_save(dir, &st, &sys), 0); /* short writes */
	assert_int_equal(alertstate_load(dir, &back), 0);
	assert_int_equal(back.n_alerts, 2);
	alertstate_clear(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_round_trip),
		cmocka_unit_test(test_version1_read),
		cmocka_unit_test(test_unterminated_string_refused),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test_setup_teardown(test_save_and_load, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_load_corrupt_file, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_failures_keep_the_old_state, make_dir,
						remove_dir),
	};
	return cmocka_run_group_tests_name("alertstate", tests, NULL, NULL);
}
