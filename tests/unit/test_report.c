/*
 * test_report.c - `outfallctl report` without a history: the SVG writer
 * (nice ticks, time ticks aligned to local time, scaling, escaping) and the
 * page built from an in-memory struct report: no external reference of any
 * kind, one "pt" per reading and data-points matching the rows, the limit
 * lines, the permit number, the digest equal to a SHA-256 computed here of
 * the CSV, the table cap, the daily sheet and the Chinese text.
 *
 * outfallctl is a program, not part of liboutfall, so the modules under
 * test are compiled into this test directly (the history-reading part,
 * report_data.c, and the verb, report.c, are not: they need a store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/svg.c"
#include "ctl/report_i18n.c"
#include "ctl/report_calc.c"
#include "ctl/report_csv.c"
#include "ctl/report_plot.c"
#include "ctl/report_html.c"
#include "ctl/report_day.c"

#define T0 1764403200000LL /* 2025-11-29 08:00:00 UTC, 16:00 in Shanghai */
#define PERMIT "浙丽排字第2023-0042号"

/* ---- helpers ---- */

static char *capture_svg(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void escape_fn(FILE *f, void *arg)
{
	svg_escape(f, arg);
}

static char *escaped(const char *s)
{
	return capture_svg(escape_fn, (void *)s);
}

/* ---- SVG writer ---- */

static void test_nice_ticks(void **state)
{
	static const struct {
		double lo, hi;
		int max;
		double first, step;
		int n;
	} cases[] = {
		{ 0, 10, 6, 0, 2, 6 },
		{ 0, 612.4, 6, 0, 200, 4 },
		{ 0.13, 0.57, 5, 0.2, 0.1, 4 },
		{ -3, 3, 7, -3, 1, 7 },
		{ 6.5, 9.5, 6, 7, 1, 3 },
		{ 10, 0, 6, 0, 2, 6 },  /* reversed */
	};
	double first, step;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = svg_nice_ticks(cases[i].lo, cases[i].hi, cases[i].max, &first, &step);

		assert_int_equal(n, cases[i].n);
		assert_true(fabs(first - cases[i].first) < 1e-9);
		assert_true(fabs(step - cases[i].step) < 1e-9);
	}
	assert_int_equal(svg_nice_ticks(5, 5, 6, &first, &step) > 1, 1); /* widened */
	assert_int_equal(svg_nice_ticks(NAN, 5, 6, &first, &step), 0);
	assert_int_equal(svg_nice_ticks(0, INFINITY, 6, &first, &step), 0);
}

static void test_time_ticks(void **state)
{
	int64_t t[SVG_MAX_TICKS], step;
	int n;

	(void)state;
	/* 08:07 .. 10:07 UTC at UTC+8: every 30 min from 08:30 UTC */
	n = svg_time_ticks(T0 + 7 * 60000, T0 + 127 * 60000, 8 * 3600, 8, t, &step);
	assert_int_equal(step, 1800000);
	assert_int_equal(n, 4);
	assert_int_equal(t[0], T0 + 30 * 60000);
	/* a day at UTC+5:30 in hours: ticks on local whole hours, UTC :30 */
	n = svg_time_ticks(T0, T0 + 86400000, 19800, 8, t, &step);
	assert_true(n > 0 && n <= 8);
	assert_int_equal((t[0] + 19800000) % step, 0);
	assert_true(step % 3600000 == 0);
	assert_int_equal(svg_time_ticks(T0, T0, 0, 8, t, &step), 0);
}

static void test_scaling(void **state)
{
	struct svg_plot p = { .w = 110, .h = 60, .ml = 10, .mr = 0, .mt = 0, .mb = 10,
			      .x0 = 0, .x1 = 10, .y0 = -5, .y1 = 5 };

	(void)state;
	assert_true(fabs(svg_px(&p, 5) - 60) < 1e-9);
	assert_true(fabs(svg_px(&p, 0) - 10) < 1e-9);
	assert_true(fabs(svg_px(&p, 99) - 110) < 1e-9);  /* clamped */
	assert_true(fabs(svg_py(&p, -5) - 50) < 1e-9);
	assert_true(fabs(svg_py(&p, 5) - 0) < 1e-9);
	assert_true(fabs(svg_py(&p, 0) - 25) < 1e-9);
	assert_true(fabs(svg_py(&p, -99) - 50) < 1e-9);
}

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "<a href=\"x\">&'", "&lt;a href=&quot;x&quot;&gt;&amp;&#39;" },
		{ "丽水某食品有限公司", "丽水某食品有限公司" },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b" },        /* invalid byte */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },   /* overlong '/' */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xe4\xb8", "\xef\xbf\xbd\xef\xbf\xbd" },   /* truncated */
		{ "x\x01y\x7fz\tq", "xyz\tq" },                 /* controls dropped */
		{ "\xf0\x9f\x92\xa7", "\xf0\x9f\x92\xa7" },   /* 4-byte emoji */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = escaped(cases[i].in);

		assert_string_equal(s, cases[i].out);
		free(s);
	}
}

/* ---- the page from memory ---- */

static struct rpt_reading rd(int64_t ts, const char *sensor, int p, double v, int q)
{
	struct rpt_reading x = { .ts_ms = ts, .v = { .v = v, .param = (uint8_t)p,
						     .quality = (uint8_t)q, .flags = RV_F32 } };

	snprintf(x.sensor, sizeof(x.sensor), "%s", sensor);
	return x;
}

/* Two hours of cod every 10 s with an exceedance from 40 to 60 min and
 * three silent polls, flow and a volume counter every 60 s, and a 30-min
 * hole in cod (a gap). */
static void fill(struct report *r, enum rpt_kind kind, size_t extra)
{
	static const struct rpt_limit lims[] = {
		{ P_COD, false, true, 0, 500, BASIS_INSTANT, 0 },
		{ P_COD, false, true, 0, 400, BASIS_ROLLING, 60 },
		{ P_PH, true, true, 6.5, 9.5, BASIS_INSTANT, 0 },
	};
	size_t cap = 2000 + extra, n = 0;

	*r = (struct report){ .kind = kind, .lang = LANG_EN, .outlet = "WS-<001>",
			      .gateway = "ls-ws-000123", .version = "outfall 0.1.0",
			      .clock = "unknown", .tz = "Asia/Shanghai", .made_ms = T0 + 9000000,
			      .from_ms = T0, .to_ms = T0 + 7200000, .has_permit = true,
			      .permit = PERMIT, .holder = "丽水某食品有限公司 & Co",
			      .valid_from = { 2023, 3, 1 }, .valid_until = { 2028, 2, 28 },
			      .has_daily_volume = true, .daily_volume_max_m3 = 120, .day = "2025-11-29" };
	r->interval_s[P_COD] = 10;
	r->interval_s[P_FLOW] = r->interval_s[P_VOLUME_TOTAL] = 60;
	r->limits = malloc(sizeof(lims));
	memcpy(r->limits, lims, sizeof(lims));
	r->n_limits = 3;
	r->readings = calloc(cap, sizeof(*r->readings));
	for (int64_t t = T0; t < T0 + 7200000 && n < cap; t += 10000) {
		int64_t min = (t - T0) / 60000;
		double v = min >= 40 && min < 60 ? 612.4 : 183.9;

		if (min >= 80 && min < 110)
			continue; /* the gap */
		r->readings[n++] = min == 20 && (t / 10000) % 6 < 3 ?
			rd(t, "probe1", P_COD, NAN, Q_NO_RESPONSE) : rd(t, "probe1", P_COD, v, Q_OK);
		if ((t - T0) % 60000 == 0) {
			r->readings[n++] = rd(t, "flow1", P_FLOW, 3.6, Q_OK);
			r->readings[n++] = rd(t, "flow1", P_VOLUME_TOTAL, 1000 + (double)min * 0.06,
					      Q_OK);
		}
	}
	for (size_t i = 0; i < extra && n < cap; i++)
		r->readings[n++] = rd(T0 + 7199000, "probe1", P_TEMP, 20, Q_OK);
	r->n_readings = n;
	r->alert.has_raised = r->alert.has_cleared = true;
	r->alert.raised = (struct rec_alert){ .id = "ls-ws-000123/WS-001/cod/instant/1",
					      .kind = AK_LIMIT_EXCEEDED, .param = P_COD,
					      .limit = 500, .value = 612.4, .peak = 612.4,
					      .since_ms = T0 + 2400000, .value_flags = RV_F32,
					      .sensor = "probe1" };
	r->alert.cleared = r->alert.raised;
	r->alert.cleared.state = ALERT_CLEARED;
	r->alert.cleared.until_ms = T0 + 3600000;
	r->alert.cleared.reason = CR_BACK_INSIDE;
	assert_int_equal(report_bands(r), 0);
}

static char *render(struct report *r, char **csv, size_t *csv_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(report_csv_digest(r, csv, csv_len), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	report_html(r, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void sha256_here(const char *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void test_page_self_contained(void **state)
{
	struct report r;
	char *csv, *html;
	size_t len;

	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	fill(&r, RPT_ALERT, 0);
	html = render(&r, &csv, &len);
	for (char *c = html; *c; c++)
		*c = (char)((*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c);
	assert_null(strstr(html, "http"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "url("));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "href"));
	assert_non_null(strstr(html, "@page{size:a4"));
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "name=\"viewport\""));
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_points_and_limits(void **state)
{
	struct report r;
	char *csv, *html, want[64];
	size_t len, cod_values, cod = 0;

	(void)state;
	fill(&r, RPT_ALERT, 0);
	cod = report_count(&r, P_COD, &cod_values);
	assert_true(cod > cod_values); /* the silent polls are rows too */
	html = render(&r, &csv, &len);
	snprintf(want, sizeof(want), "data-param=\"cod\" data-points=\"%zu\"", cod);
	assert_non_null(strstr(html, want));
	/* every row is one "pt": circles for values, a bar for no value */
	assert_int_equal(count(html, "class=\"pt"), r.n_readings);
	assert_int_equal(count(html, "<rect class=\"pt nv\""), cod - cod_values);
	assert_int_equal(count(html, "data-points=\"0\""), 1); /* ph: limits, no readings */
	assert_int_equal(count(html, "class=\"limit max\" data-limit=\"500\""), 1);
	assert_int_equal(count(html, "class=\"limit max\" data-limit=\"400\""), 1);
	assert_int_equal(count(html, "class=\"limit min\" data-limit=\"6.5\""), 1);
	assert_int_equal(count(html, "class=\"limit max\" data-limit=\"9.5\""), 1);
	assert_true(count(html, "<polyline class=\"mean\"") >= 1); /* rolling 60 min */
	assert_true(count(html, "class=\"band gap\"") >= 1);       /* the 30-min hole */
	assert_true(count(html, "class=\"band bad\"") >= 1);       /* no_response */
	assert_int_equal(count(html, "class=\"band alert\""), 1);
	assert_non_null(strstr(html, "<td id=\"permit\">" PERMIT "</td>"));
	assert_non_null(strstr(html, "612.4"));
	assert_non_null(strstr(html, "1.22"));                   /* ratio 612.4/500 */
	assert_non_null(strstr(html, "back_inside"));
	assert_non_null(strstr(html, "20 min 00 s"));            /* duration */
	assert_non_null(strstr(html, "WS-&lt;001&gt;"));
	assert_null(strstr(html, "WS-<001>"));
	assert_non_null(strstr(html, "丽水某食品有限公司 &amp; Co"));
	assert_non_null(strstr(html, "CST"));
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_digest(void **state)
{
	struct report r;
	char *csv, *html, *csv2 = NULL, hex[65], want[128];
	size_t len, len2 = 0;
	FILE *f;

	(void)state;
	assert_int_equal(report_sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	fill(&r, RPT_RANGE, 0);
	html = render(&r, &csv, &len);
	/* the CSV as report_csv writes it to a file, hashed here */
	f = open_memstream(&csv2, &len2);
	report_csv(&r, f);
	fclose(f);
	assert_int_equal(len, len2);
	assert_memory_equal(csv, csv2, len);
	sha256_here(csv2, len2, hex);
	snprintf(want, sizeof(want), "<code id=\"digest\">%s</code>", hex);
	assert_non_null(strstr(html, want));
	assert_string_equal(r.digest, hex);
	/* the CSV: a header and one line per reading */
	assert_int_equal(count(csv, "\n"), r.n_readings + 1);
	assert_non_null(strstr(csv, "2025-11-29T08:40:00.000Z,2025-11-29 16:40:00.000,WS-<001>,"
				    "probe1,cod,612.4,mg/L,ok,\n"));
	assert_non_null(strstr(csv, ",cod,,mg/L,no_response,\n"));
	free(csv2);
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_table_cap(void **state)
{
	struct report r;
	char *csv, *html, *table;
	size_t len;

	(void)state;
	fill(&r, RPT_RANGE, 2000);
	assert_true(r.n_readings > RPT_TABLE_ROWS);
	html = render(&r, &csv, &len);
	table = strstr(html, "<table id=\"readings\">");
	assert_non_null(table);
	assert_int_equal(count(table, "<tr><td>"), RPT_TABLE_ROWS);
	assert_non_null(strstr(html, "first 2000 of"));
	assert_int_equal(count(csv, "\n"), r.n_readings + 1); /* the CSV has all */
	free(html);
	free(csv);
	report_clear(&r);
}

/* Above PT_MAX readings a parameter is drawn as its per-column envelope:
 * the group still counts every row, the page stays small. */
static void test_envelope(void **state)
{
	struct report r;
	char *csv, *html;
	size_t len;

	(void)state;
	fill(&r, RPT_RANGE, PT_MAX + 500);
	html = render(&r, &csv, &len);
	assert_non_null(strstr(html, "data-param=\"temp\" data-points=\"2500\" "
				     "data-drawn=\"envelope\""));
	assert_int_equal(count(html, "class=\"pt"), r.n_readings - (PT_MAX + 500));
	assert_int_equal(count(html, "data-drawn"), 1); /* cod and flow: points */
	assert_int_equal(count(csv, "\n"), r.n_readings + 1); /* the CSV has all */
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_day_sheet(void **state)
{
	struct report r;
	char *csv, *html, *sheet;
	size_t len;

	(void)state;
	fill(&r, RPT_DAY, 0);
	html = render(&r, &csv, &len);
	sheet = strstr(html, "Daily sheet 2025-11-29");
	assert_non_null(sheet);
	/* volume 119 min x 0.06 = 7.14 m3 of 120: within; cod max 612.4 > 500 */
	assert_non_null(strstr(sheet, "<td class=\"n\">7.14</td><td class=\"n\">120</td>"
				      "<td class=\"pass\">"));
	assert_non_null(strstr(sheet, "<td class=\"n\">612.4</td><td class=\"n\">500</td>"
				      "<td class=\"fail\">EXCEEDED"));
	assert_non_null(strstr(sheet, "Coverage"));
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_chinese_and_empty(void **state)
{
	struct report r;
	char *csv, *html;
	size_t len;

	(void)state;
	fill(&r, RPT_DAY, 0);
	r.lang = LANG_ZH;
	r.n_readings = 0;
	r.n_bands = 0;
	html = render(&r, &csv, &len);
	assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
	assert_non_null(strstr(html, "排水许可证"));
	assert_non_null(strstr(html, "本时段历史库中没有监测数据"));
	assert_int_equal(count(html, "class=\"pt"), 0);
	assert_string_equal(csv, "ts_utc,ts_local,outlet,sensor,parameter,value,unit,quality,"
				 "flags\n");
	free(html);
	free(csv);
	report_clear(&r);
}

static void test_rolling_and_volume(void **state)
{
	struct report r = { .from_ms = T0, .to_ms = T0 + 3600000 };
	struct rpt_reading x[] = {
		rd(T0, "s", P_COD, 100, Q_OK), rd(T0 + 60000, "s", P_COD, 200, Q_OK),
		rd(T0 + 120000, "s", P_COD, 900, Q_OUT_OF_RANGE),
		rd(T0 + 180000, "s", P_COD, 600, Q_OK),
		rd(T0, "f", P_FLOW, 36, Q_OK), rd(T0 + 60000, "f", P_FLOW, 36, Q_OK),
	};
	double xs[8], ys[8];
	const char *how;

	(void)state;
	r.readings = x;
	r.n_readings = sizeof(x) / sizeof(x[0]);
	/* 2-min windows (t - 2 min, t]: out_of_range values do not count */
	assert_int_equal(report_rolling(&r, P_COD, 2, xs, ys), 4);
	assert_true(fabs(ys[0] - 100) < 1e-9);
	assert_true(fabs(ys[1] - 150) < 1e-9);
	assert_true(fabs(ys[2] - 200) < 1e-9);
	assert_true(fabs(ys[3] - 600) < 1e-9);
	/* 36 m3/h for a minute = 0.6 m3, by flow when there is no counter */
	assert_true(fabs(report_volume(&r, T0, T0 + 3600000, &how) - 0.6) < 1e-9);
	assert_string_equal(how, "flow");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_ticks),
		cmocka_unit_test(test_time_ticks),
		cmocka_unit_test(test_scaling),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_page_self_contained),
		cmocka_unit_test(test_points_and_limits),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_table_cap),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_day_sheet),
		cmocka_unit_test(test_chinese_and_empty),
		cmocka_unit_test(test_rolling_and_volume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
