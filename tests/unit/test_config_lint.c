/*
 * test_config_lint.c - what config_load_opts() says about settings that are
 * legal but probably a mistake (issue 9, item 3): limits far from their
 * GB/T 31962 grade or outside the instrument range, registers written as a
 * manual's 40001, unknown settings close to known ones, expired and
 * not-yet-valid permits. Each warning must name file:line and the setting,
 * say what was probably meant, and turn into an error under strict. Then
 * the errors: a permit number that matches none (with the closest one and
 * the characters that differ), full-width punctuation outside strings (by
 * line and column), and the shipped examples' placeholders.
 *
 * Every load runs on TEST_TODAY (config_fixture.h) unless a test sets its
 * own today; one test uses the real clock on dates far from it.
 */
#include "config_fixture.h"

struct warn_case {
	char patched;     /* 'g': patch the gateway file, 'p': the permits file */
	const char *from; /* replaced by to, first occurrence */
	const char *to;
	char reported;    /* file the warning is reported in */
	int line;
	const char *path; /* setting path */
	const char *msg;  /* distinctive part of the message; NULL: no warning at all */
	int warnings;     /* warnings the load must count */
};

/* Loads the patched pair on TEST_TODAY, then again with strict: the
 * warning line must appear once each time, the first load must succeed,
 * the strict one fail with one error per warning and leave *out alone. */
static void check_warn_case(const struct env *e, size_t i, const struct warn_case *wc)
{
	char *gw = patch(base_gw, wc->patched == 'g' ? wc->from : NULL, wc->to);
	char *pm = patch(base_pm, wc->patched == 'p' ? wc->from : NULL, wc->to);
	struct config_opts o = { .has_today = true, .today = TEST_TODAY };
	struct config *cfg = NULL, *sentinel = (struct config *)&cfg, *st = sentinel;
	char *errtext = NULL, *stricttext = NULL;
	char prefix[PATH_LEN + 160], sprefix[PATH_LEN + 160];
	const char *file = wc->reported == 'g' ? e->gw : e->pm;
	int r, rs, seen, sseen;

	snprintf(prefix, sizeof(prefix), "%s:%d: %s: warning: ", file, wc->line, wc->path);
	snprintf(sprefix, sizeof(sprefix), "%s:%d: %s: warning, an error under --strict: ",
		 file, wc->line, wc->path);
	r = load_texts_opts(e, gw, pm, &o, &cfg, &errtext);
	seen = wc->msg ? count_lines(errtext, prefix, wc->msg) : !!*errtext;
	if (r != 0 || !cfg || o.warnings != wc->warnings || seen != !!wc->msg ||
	    error_lines(errtext) != 0)
		fail_msg("warn case %zu (%s -> %s): returned %d with %d warnings, want 0 with %d "
			 "and a line \"%s...%s\"; got:\n%s", i, wc->from, wc->to, r, o.warnings,
			 wc->warnings, prefix, wc->msg ? wc->msg : "(none)", errtext);
	config_free(cfg);
	o = (struct config_opts){ .strict = true, .has_today = true, .today = TEST_TODAY };
	rs = load_texts_opts(e, gw, pm, &o, &st, &stricttext);
	sseen = wc->msg ? count_lines(stricttext, sprefix, wc->msg) : 0;
	if (rs != wc->warnings || sseen != !!wc->msg || error_lines(stricttext) != wc->warnings ||
	    (wc->warnings && st != sentinel))
		fail_msg("warn case %zu under strict: returned %d, want %d errors with a line "
			 "\"%s...%s\"; got:\n%s", i, rs, wc->warnings, sprefix,
			 wc->msg ? wc->msg : "(none)", stricttext);
	if (st != sentinel)
		config_free(st);
	free(stricttext);
	free(errtext);
	free(gw);
	free(pm);
}

#define COD_ROLLING "max = 400.0; basis = \"rolling\""
#define PH_LIMIT "min = 6.5; max = 9.5"
#define NO_TEMPLATE_FROM "template = \"GB/T31962-B\";\n    limits = (\n" \
	"      { parameter = \"ph\"; min = 6.5; max = 9.5;"

static const struct warn_case warn_cases[] = {
	/* limits against the grade: g/L, ug/L, decimal point slips */
	{ 'p', COD_ROLLING, "max = 0.5; basis = \"rolling\"", 'p', 7, "permits[0].limits[1].max",
	  "0.5 mg/L is more than 10x below GB/T 31962 grade B's 500 mg/L for cod (grade B: "
	  "the permit's template); written in g/L? 0.5 g/L is 500 mg/L", 1 },
	{ 'p', COD_ROLLING, "max = 500000; basis = \"rolling\"", 'p', 7,
	  "permits[0].limits[1].max", "500000 mg/L is more than 10x above GB/T 31962 grade "
	  "B's 500 mg/L for cod (grade B: the permit's template); written in ug/L? 500000 "
	  "ug/L is 500 mg/L", 2 },
	{ 'p', "template = \"GB/T31962-B\";\n    limits = (\n      { parameter = \"ph\"; min = "
	  "6.5; max = 9.5; basis = \"instant\"; },\n      { parameter = \"cod\"; max = 400.0;",
	  "template = \"GB/T31962-C\";\n    limits = (\n      { parameter = \"ph\"; min = "
	  "6.5; max = 9.5; basis = \"instant\"; },\n      { parameter = \"cod\"; max = 4000.0;",
	  'p', 7, "permits[0].limits[1].max", "4000 mg/L is more than 10x above GB/T 31962 "
	  "grade C's 300 mg/L for cod (grade C: the permit's template); a slipped decimal "
	  "point: 4000 written for 400?", 2 },
	{ 'p', NO_TEMPLATE_FROM, "\n    limits = (\n      { parameter = \"ph\"; min = 6.5; "
	  "max = 95.1;", 'p', 6, "permits[0].limits[0].max", "95.1 pH is more than 10x above "
	  "GB/T 31962 grade B's 9.5 pH for ph (grade B: the permit names no template); a "
	  "slipped decimal point: 95.1 written for 9.51?", 1 },
	{ 'p', PH_LIMIT, "min = 0.6; max = 9.5", 'p', 6, "permits[0].limits[0].min",
	  "0.6 pH is more than 10x below GB/T 31962 grade B's 6.5 pH for ph", 1 },
	{ 'p', COD_ROLLING, "max = -5; basis = \"rolling\"", 'p', 7, "permits[0].limits[1].max",
	  "-5 mg/L is more than 10x below GB/T 31962 grade B's 500 mg/L for cod (grade B: the "
	  "permit's template); check the unit (mg/L) and the decimal point", 2 },
	/* both sides of 10x: exactly 10x is no warning */
	{ 'p', PH_LIMIT, "min = 6.5; max = 95.0", 'p', 6, NULL, NULL, 0 },
	{ 'p', PH_LIMIT, "min = 0.65; max = 9.5", 'p', 6, NULL, NULL, 0 },
	{ 'p', COD_ROLLING, "max = 50; basis = \"rolling\"", 'p', 7, NULL, NULL, 0 },
	{ 'p', COD_ROLLING, "max = 49.9; basis = \"rolling\"", 'p', 7, "permits[0].limits[1].max",
	  "49.9 mg/L is more than 10x below", 1 },
	/* limits against the instrument range, the template's at its template setting */
	{ 'g', "range = [0.0, 2000.0]", "range = [0.0, 300.0]", 'p', 7, "permits[0].limits[1].max",
	  "max 400 mg/L (cod) is outside the instrument range 0..300 mg/L of probe1's cod "
	  "channel (", 2 },
	{ 'g', "range = [0.0, 2000.0]", "range = [0.0, 300.0]", 'p', 7, "permits[0].limits[1].max",
	  ":16) at outlet WS-001: a reading above the range is a sensor fault, so this maximum "
	  "can never be exceeded; check the limit against the permit and the range against "
	  "the instrument's data sheet", 2 },
	{ 'g', "range = [0.0, 2000.0]", "range = [0.0, 300.0]", 'p', 4, "permits[0].template",
	  "the template's max 500 mg/L (cod) is outside the instrument range 0..300 mg/L", 2 },
	{ 'g', "range = [0.0, 2000.0]", "range = [0.0, 400.0]", 'p', 4, "permits[0].template",
	  "the template's max 500 mg/L (cod) is outside", 1 }, /* 400 itself is inside */
	{ 'p', COD_ROLLING, "max = 500000; basis = \"rolling\"", 'p', 7,
	  "permits[0].limits[1].max", "max 500000 mg/L (cod) is outside the instrument range "
	  "0..2000 mg/L", 2 },
	{ 'p', COD_ROLLING, "max = 500000; basis = \"rolling\"", 'p', 7,
	  "permits[0].limits[1].max", "can never be exceeded; written in ug/L? 500000 ug/L is "
	  "500 mg/L", 2 },
	{ 'g', "range = [0.0, 2000.0]", "range = [450.0, 2000.0]", 'p', 7,
	  "permits[0].limits[1].max", "max 400 mg/L (cod) is outside the instrument range "
	  "450..2000 mg/L of probe1's cod channel", 1 },
	{ 'g', "range = [0.0, 2000.0]", "range = [450.0, 2000.0]", 'p', 7,
	  "permits[0].limits[1].max", "every good reading exceeds it", 1 },
	/* registers that look like a manual's numbers */
	{ 'g', "register = 2;", "register = 40003;", 'g', 18, "sensors[0].channels[1].register",
	  "40003 looks like a manual's 1-based register number (4xxxx = holding registers, "
	  "counted from 1), but register is the 0-based wire address: probably holding 2, "
	  "i.e. register = 2;", 1 },
	{ 'g', "register = 2;", "register = 40001;", 'g', 18, "sensors[0].channels[1].register",
	  "probably holding 0, i.e. register = 0;", 1 },
	{ 'g', "register = 2;", "register = 30001;", 'g', 18, "sensors[0].channels[1].register",
	  "30001 looks like a manual's 1-based register number (3xxxx = input registers, "
	  "counted from 1), but register is the 0-based wire address: probably input 0, i.e. "
	  "register = 0; table = \"input\";", 1 },
	{ 'g', "register = 2;", "register = 49999;", 'g', 18, "sensors[0].channels[1].register",
	  "probably holding 9998", 1 },
	{ 'g', "register = 2;", "register = 30000;", 'g', 18, NULL, NULL, 0 },
	{ 'g', "register = 2;", "register = 40000;", 'g', 18, NULL, NULL, 0 },
	{ 'g', "register = 2;", "register = 50000;", 'g', 18, NULL, NULL, 0 },
	/* unknown settings close to known ones */
	{ 'g', "word_order = \"abcd\"; scale", "word_oder = \"abcd\"; scale", 'g', 17,
	  "sensors[0].channels[0].word_oder", "unknown setting, ignored; did you mean "
	  "word_order? (word_order itself is not set, so it keeps its default)", 1 },
	{ 'g', "retries = 2;", "retries = 2; Baud = 9600;", 'g', 11, "buses[0].Baud",
	  "unknown setting, ignored; did you mean baud?", 1 },
	{ 'g', "retries = 2;", "retries = 2; timeout = 5;", 'g', 11, "buses[0].timeout",
	  "did you mean timeout_ms?", 1 },
	{ 'g', "max_backlog_mb = 64", "max_backlog_mb = 64; time_zone = \"UTC\"", 'g', 6,
	  "gateway.time_zone", "did you mean timezone?", 1 },
	{ 'p', "category = \"catering\";", "category = \"catering\"; holdr = \"x\";", 'p', 2,
	  "permits[0].holdr", "unknown setting, ignored; did you mean holder?", 1 },
	{ 'p', "basis = \"rolling\"; window_min = 60;", "basis = \"rolling\"; window_min = 60; "
	  "hysteresis = 5;", 'p', 7, "permits[0].limits[1].hysteresis",
	  "did you mean hysteresis_pct?", 1 },
	{ 'g', "retries = 2;", "retries = 2; colour = \"blue\";", 'g', 11, "buses[0].colour",
	  "unknown setting", 1 },
};

static void test_warnings(void **state)
{
	for (size_t i = 0; i < sizeof(warn_cases) / sizeof(warn_cases[0]); i++)
		check_warn_case(*state, i, &warn_cases[i]);
}

/* An unknown setting with no known one near it gets no guess. */
static void test_no_far_fetched_guess(void **state)
{
	const struct env *e = *state;
	char *gw = patch(base_gw, "retries = 2;", "retries = 2; colour = \"blue\";");
	struct config *cfg = NULL;
	char *errtext = NULL;

	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &errtext), 0);
	assert_null(strstr(errtext, "did you mean"));
	free(errtext);
	free(gw);
	config_free(cfg);
}

/* ---- permit validity ---------------------------------------------------- */

static int load_on(const struct env *e, const char *pm, struct cfg_date today, char **errtext)
{
	struct config_opts o = { .has_today = true, .today = today };
	struct config *cfg = NULL;
	int r = load_texts_opts(e, base_gw, pm, &o, &cfg, errtext);

	assert_int_equal(r, 0);
	config_free(cfg);
	return o.warnings;
}

static void test_validity(void **state)
{
	const struct env *e = *state;
	char *t = NULL;
	char prefix[PATH_LEN + 64];

	/* base_pm: valid 2023-03-01..2028-02-28, both days included */
	assert_int_equal(load_on(e, base_pm, (struct cfg_date){ 2028, 2, 28 }, &t), 0);
	assert_string_equal(t, "");
	free(t);
	assert_int_equal(load_on(e, base_pm, (struct cfg_date){ 2023, 3, 1 }, &t), 0);
	free(t);

	assert_int_equal(load_on(e, base_pm, (struct cfg_date){ 2028, 2, 29 }, &t), 1);
	snprintf(prefix, sizeof(prefix), "%s:3: permits[0].valid_until: warning: ", e->pm);
	assert_int_equal(count_lines(t, prefix, "the permit has expired: valid_until "
				     "2028-02-28 was 1 days ago (today is 2028-02-29 in "
				     "Asia/Shanghai); flow under it raises no_valid_permit"), 1);
	free(t);
	assert_int_equal(load_on(e, base_pm, (struct cfg_date){ 2030, 1, 1 }, &t), 1);
	assert_int_equal(count_lines(t, prefix, "was 673 days ago (today is 2030-01-01"), 1);
	free(t);

	assert_int_equal(load_on(e, base_pm, (struct cfg_date){ 2023, 2, 28 }, &t), 1);
	snprintf(prefix, sizeof(prefix), "%s:3: permits[0].valid_from: warning: ", e->pm);
	assert_int_equal(count_lines(t, prefix, "the permit is not valid yet: valid_from "
				     "2023-03-01 is in 1 days (today is 2023-02-28 in "
				     "Asia/Shanghai)"), 1);
	free(t);
}

/* Without a today of its own the load asks the clock, in gateway.timezone,
 * and leaves the process's TZ as it was. */
static void test_validity_real_clock(void **state)
{
	const struct env *e = *state;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	char *expired = patch(base_pm, "valid_from = \"2023-03-01\"; valid_until = \"2028-02-28\"",
			      "valid_from = \"2001-01-01\"; valid_until = \"2002-01-01\"");
	char *future = patch(base_pm, "valid_from = \"2023-03-01\"; valid_until = \"2028-02-28\"",
			     "valid_from = \"9000-01-01\"; valid_until = \"9001-01-01\"");
	char *forever = patch(base_pm, "valid_from = \"2023-03-01\"; valid_until = \"2028-02-28\"",
			      "valid_from = \"2001-01-01\"; valid_until = \"9001-01-01\"");
	const char *const pms[] = { expired, future, forever };
	const char *const want[] = { "valid_until: warning: the permit has expired",
				     "valid_from: warning: the permit is not valid yet", NULL };

	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	for (size_t i = 0; i < 3; i++) {
		struct config_opts o = { .strict = false };
		struct config *cfg = NULL;
		char *t = NULL;

		assert_int_equal(load_texts_opts(e, base_gw, pms[i], &o, &cfg, &t), 0);
		assert_int_equal(o.warnings, want[i] ? 1 : 0);
		if (want[i])
			assert_non_null(strstr(t, want[i]));
		assert_string_equal(getenv("TZ"), "UTC");
		free(t);
		config_free(cfg);
	}
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	free(old);
	free(expired);
	free(future);
	free(forever);
}

/* ---- permit numbers that match none ------------------------------------- */

#define NUMBER "浙丽排字第2023-0042号"

/* Loads base with the permit numbered NUMBER and the outlet naming outlet;
 * the one error must be at the outlet's permit, with msg. */
static void check_not_found(const struct env *e, const char *outlet, const char *msg)
{
	char to[160], prefix[3 * PATH_LEN];
	char *pm = patch(base_pm, "number = \"P-1\"", "number = \"" NUMBER "\"");
	char *gw;
	struct config *cfg = NULL;
	char *t = NULL;

	snprintf(to, sizeof(to), "permit = \"%s\"", outlet);
	gw = patch(base_gw, "permit = \"P-1\"", to);
	snprintf(prefix, sizeof(prefix), "%s:24: outlets[0].permit: no permit numbered \"%s\" "
		 "in %s; ", e->gw, outlet, e->pm);
	assert_int_equal(load_texts(e, gw, pm, &cfg, &t), 1);
	if (count_lines(t, prefix, msg) != 1)
		fail_msg("want \"%s...%s\", got:\n%s", prefix, msg, t);
	free(t);
	free(gw);
	free(pm);
}

static void test_permit_not_found(void **state)
{
	const struct env *e = *state;

	check_not_found(e, "浙丽排字2023-0042号", "the closest is \"" NUMBER "\" (permits[0], "
			"line 2): \"第\" (U+7B2C) is missing before character 5");
	check_not_found(e, "浙丽排字第２０２３-0042号", "the closest is \"" NUMBER "\" "
			"(permits[0], line 2), which differs only in full-width forms an input "
			"method typed for ASCII: character 6 is \"２\" (U+FF12, full-width) where "
			"the permit has \"2\" (U+0032); character 7 is \"０\" (U+FF10, "
			"full-width) where the permit has \"0\" (U+0030); character 8 is \"２\" "
			"(U+FF12, full-width) where the permit has \"2\" (U+0032); character 9 "
			"is \"３\" (U+FF13, full-width) where the permit has \"3\" (U+0033)");
	check_not_found(e, "浙丽排字第2023-0042号 ", "character 16 \" \" (U+0020, a space) "
			"is not in the permit's number");
	check_not_found(e, "浙丽排字第2023-0042", "\"号\" (U+53F7) is missing at the end");
	check_not_found(e, "浙丽排字第２０２３－００４２号", "the closest is \"" NUMBER "\" "
			"(permits[0], line 2), which differs only in full-width forms an input "
			"method typed for ASCII: character 6 is \"２\" (U+FF12, full-width)");
	check_not_found(e, "浙丽排字第２０２３－００４２号", "; and 5 more");
	check_not_found(e, "浙丽排字2023-0042号", "line 2): \"第\"");
	check_not_found(e, "X-9", "the permits file has \"" NUMBER "\"");
}

/* ---- full-width punctuation outside strings ----------------------------- */

/* Loads gw (with base_pm) and wants exactly the lines in want, each an
 * error, and nothing from libconfig. */
static void check_chars(const struct env *e, const char *gw, const char *pm, char file,
			const char *const want[], int n)
{
	struct config *cfg = (struct config *)&cfg;
	char *t = NULL;
	int r = load_texts(e, gw, pm, &cfg, &t);

	if (r != n || error_lines(t) != n || strstr(t, "syntax error"))
		fail_msg("want %d errors, returned %d; got:\n%s", n, r, t);
	for (int i = 0; i < n; i++) {
		char prefix[PATH_LEN + 16];

		snprintf(prefix, sizeof(prefix), "%s:", file == 'g' ? e->gw : e->pm);
		if (count_lines(t, prefix, want[i]) != 1)
			fail_msg("want a line \"%s...%s\"; got:\n%s", prefix, want[i], t);
	}
	assert_ptr_equal(cfg, (struct config *)&cfg);
	free(t);
}

static void test_fullwidth(void **state)
{
	const struct env *e = *state;
	char *a = patch(base_gw, "id = \"gw-1\";", "id = “gw-1”;");
	char *b = patch(base_gw, "retries = 2; }", "retries ＝ 2； }");
	char *c = patch(base_gw, "id = \"gw-1\";", "id = \"gw-1”;");
	char *d = patch(base_gw, "gateway: {", "\xef\xbb\xbfgateway: {");
	char *f = patch(base_gw, "id = \"gw-1\";", "id = \"gw-1\"; # “注释”； \"\n  /* ＝ */");
	char *g = patch(base_pm, "holder = \"Holder Ltd\";", "holder = ＂丽水某食品有限公司＂;");
	char *h = patch(base_gw, "slave = 2;", "slave = ２; ");
	char *i = patch(base_gw, "\"gw-1\"", "\"gw-1\xff\"");
	static const char *const want_a[] = {
		":2:8: “ (U+201C LEFT DOUBLE QUOTATION MARK) outside a quoted string: type the "
		"ASCII '\"' instead (an input method's full-width form)",
		":2:13: ” (U+201D RIGHT DOUBLE QUOTATION MARK) outside a quoted string: type the "
		"ASCII '\"' instead" };
	static const char *const want_b[] = {
		":11:61: ＝ (U+FF1D FULLWIDTH EQUALS SIGN) outside a quoted string: type the "
		"ASCII '=' instead",
		":11:64: ； (U+FF1B FULLWIDTH SEMICOLON) outside a quoted string: type the "
		"ASCII ';' instead" };
	static const char *const want_c[] = {
		":2:13: ” (U+201D RIGHT DOUBLE QUOTATION MARK) seems to end a string opened with "
		"an ASCII '\"': type the ASCII '\"' instead" };
	static const char *const want_d[] = {
		":1:1: \xef\xbb\xbf (U+FEFF BYTE ORDER MARK) outside a quoted string: delete it "
		"(save the file as UTF-8 without a byte order mark)" };
	static const char *const want_g[] = {
		":2:30: ＂ (U+FF02 FULLWIDTH QUOTATION MARK) outside a quoted string",
		":2:40: ＂ (U+FF02 FULLWIDTH QUOTATION MARK) outside a quoted string" };
	static const char *const want_h[] = {
		":20:43: ２ (U+FF12) outside a quoted string: type the ASCII '2' instead (an "
		"input method's full-width form)" };
	struct config *cfg = NULL;
	char *t = NULL;

	check_chars(e, a, base_pm, 'g', want_a, 2);
	check_chars(e, b, base_pm, 'g', want_b, 2);
	check_chars(e, c, base_pm, 'g', want_c, 1);
	check_chars(e, d, base_pm, 'g', want_d, 1);
	check_chars(e, base_gw, g, 'p', want_g, 2);
	check_chars(e, h, base_pm, 'g', want_h, 1);
	/* comments and strings may hold anything UTF-8 */
	assert_int_equal(load_texts(e, f, base_pm, &cfg, &t), 0);
	assert_string_equal(t, "");
	free(t);
	config_free(cfg);
	/* a byte that is not UTF-8 inside a string is cfg_string's to report */
	cfg = NULL;
	assert_int_equal(load_texts(e, i, base_pm, &cfg, &t), 1);
	assert_non_null(strstr(t, ":2: gateway.id: is not valid UTF-8"));
	free(t);
	free(a);
	free(b);
	free(c);
	free(d);
	free(f);
	free(g);
	free(h);
	free(i);
}

/* A file typed entirely in full-width mode gets 20 characters named and a
 * count of the rest, not a screenful per character. */
static void test_fullwidth_bounded(void **state)
{
	const struct env *e = *state;
	char line[64 * 3 + 1] = "";
	char *gw;
	struct config *cfg = NULL;
	char *t = NULL;

	for (int k = 0; k < 30; k++)
		strcat(line, "；");
	gw = patch(base_gw, "};\nalerting", line);
	assert_int_equal(load_texts(e, gw, base_pm, &cfg, &t), 21);
	assert_int_equal(count_lines(t, e->gw, "(U+FF1B FULLWIDTH SEMICOLON)"), 20);
	assert_int_equal(count_lines(t, e->gw, ": 10 more characters like these not shown"), 1);
	assert_null(cfg);
	free(t);
	free(gw);
}

/* ---- strict and the warning count --------------------------------------- */

static void test_strict_counts(void **state)
{
	const struct env *e = *state;
	char *a = patch(base_gw, "retries = 2;", "retries = 2; colour = \"blue\";");
	char *gw = patch(a, "register = 2;", "register = 40003;");
	struct config_opts o = { .has_today = true, .today = TEST_TODAY };
	struct config *cfg = NULL;
	char *t = NULL;
	FILE *null;

	assert_int_equal(load_texts_opts(e, gw, base_pm, &o, &cfg, &t), 0);
	assert_int_equal(o.warnings, 2);
	assert_false(cfg->strict);
	config_free(cfg);
	free(t);
	/* a clean config loads the same under strict, and remembers it */
	cfg = NULL;
	o = (struct config_opts){ .strict = true, .has_today = true, .today = TEST_TODAY };
	assert_int_equal(load_texts_opts(e, base_gw, base_pm, &o, &cfg, &t), 0);
	assert_int_equal(o.warnings, 0);
	assert_true(cfg->strict);
	config_free(cfg);
	free(t);
	/* with an error besides, strict counts both */
	cfg = NULL;
	free(a);
	a = patch(gw, "retries = 2;", "retries = 20;");
	assert_int_equal(load_texts_opts(e, a, base_pm, &o, &cfg, &t), 3);
	assert_int_equal(o.warnings, 2);
	assert_null(cfg);
	free(t);
	/* a NULL opts is config_load */
	null = fopen("/dev/null", "w");
	assert_non_null(null);
	assert_int_equal(config_load_opts(e->gw, NULL, &cfg, null), 1);
	assert_int_equal(fclose(null), 0);
	free(a);
	free(gw);
}

/* ---- placeholders ------------------------------------------------------- */

/* 1-based line of the first occurrence of s in text. */
static int line_of(const char *text, const char *s)
{
	const char *at = strstr(text, s);
	int line = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static void test_placeholder_in_base(void **state)
{
	static const struct bad_case cases[] = {
		{ 'g', "\"gw-1\"", "\"CHANGE-ME\"", 'g', 2, "gateway.id", "is still the example's "
		  "placeholder \"CHANGE-ME\": write this gateway's own name", 1 },
		{ 'g', "/dev/ttyUSB0", "/dev/serial/by-id/CHANGE-ME", 'g', 10, "buses[0].device",
		  "placeholder \"/dev/serial/by-id/CHANGE-ME\": replace it with this site's value",
		  1 },
		{ 'g', "id = \"WS-001\"", "id = \"CHANGE-ME\"", 'g', 24, "outlets[0].id",
		  "write the outlet's id as printed on the discharge permit", 1 },
		{ 'p', "\"catering\"", "\"CHANGE-ME\"", 'p', 2, "permits[0].category",
		  "placeholder \"CHANGE-ME\": replace it", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_bad_case(*state, i, &cases[i]);
}

/* The shipped examples refuse to start until their placeholders are
 * filled in, and say what goes there and where it comes from. */
static void test_examples_refuse_until_edited(void **state)
{
	const struct env *e = *state;
	char *gw = read_all("config/outfall.conf.example");
	char *pm = read_all("config/permits.conf.example");
	struct config *cfg = (struct config *)&cfg;
	char *t = NULL, prefix[PATH_LEN + 64];
	struct {
		char file;
		const char *setting, *path, *msg;
	} const want[] = {
		{ 'g', "id = \"CHANGE-ME\"", "gateway.id", "write this gateway's own name" },
		{ 'g', "permit = \"CHANGE-ME\"", "outlets[0].permit", "exactly as printed on the "
		  "discharge permit (排水许可证)" },
		{ 'p', "number = \"CHANGE-ME\"", "permits[0].number", "copy the permit number "
		  "exactly as printed on the discharge permit (排水许可证)" },
		{ 'p', "holder = \"CHANGE-ME\"", "permits[0].holder", "copy the holder's name "
		  "exactly as printed on the discharge permit" },
	};

	assert_int_equal(load_texts(e, gw, pm, &cfg, &t), 4);
	assert_int_equal(error_lines(t), 4);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(prefix, sizeof(prefix), "%s:%d: %s: is still the example's placeholder "
			 "\"CHANGE-ME\": ", want[i].file == 'g' ? e->gw : e->pm,
			 line_of(want[i].file == 'g' ? gw : pm, want[i].setting), want[i].path);
		if (count_lines(t, prefix, want[i].msg) != 1)
			fail_msg("want \"%s...%s\"; got:\n%s", prefix, want[i].msg, t);
	}
	assert_ptr_equal(cfg, (struct config *)&cfg);
	free(t);
	free(gw);
	free(pm);
}

/* What scripts/packaging-check.sh does: one sed over both files, and they
 * load without a warning (on a day inside the sample validity). */
static void test_examples_filled_by_sed(void **state)
{
	const struct env *e = *state;
	char *gw = read_all("config/outfall.conf.example");
	char *pm = read_all("config/permits.conf.example");
	struct config_opts o = { .strict = true, .has_today = true, .today = TEST_TODAY };
	struct config *cfg = NULL;
	char *t = NULL;
	char *p;

	for (char *text = gw; text; text = text == gw ? pm : NULL)
		while ((p = strstr(text, "CHANGE-ME")))
			memcpy(p, "site-0001", 9);
	assert_int_equal(load_texts_opts(e, gw, pm, &o, &cfg, &t), 0);
	assert_string_equal(t, "");
	assert_string_equal(cfg->id, "site-0001");
	assert_string_equal(cfg->permits[0].number, "site-0001");
	assert_int_equal(cfg->outlets[0].permit, 0);
	free(t);
	free(gw);
	free(pm);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_no_far_fetched_guess),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_validity_real_clock),
		cmocka_unit_test(test_permit_not_found),
		cmocka_unit_test(test_fullwidth),
		cmocka_unit_test(test_fullwidth_bounded),
		cmocka_unit_test(test_strict_counts),
		cmocka_unit_test(test_placeholder_in_base),
		cmocka_unit_test(test_examples_refuse_until_edited),
		cmocka_unit_test(test_examples_filled_by_sed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
