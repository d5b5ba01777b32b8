/*
 * report_html.c - the inspection report as one self-contained HTML page:
 * inline CSS and SVG only (no script, no font, no image, no URL of any
 * kind; fonts are only named, the reader's own are used), readable on a
 * phone (the plots scale to the width) and printable to A4 (@page, @media
 * print). Sections: header, permit and limits, the alert timeline or the
 * alerts in the span, the daily sheet (--day), the plots, flow and volume,
 * the readings table, and the evidence footer.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "svg.h"
#include "base/numfmt.h"

#define T(s) report_tr(r->lang, (s))

static const char css[] =
	"@page{size:A4;margin:12mm}"
	"body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"PingFang SC\","
	"\"Microsoft YaHei\",\"WenQuanYi Micro Hei\",sans-serif;"
	"margin:0 auto;max-width:60em;padding:0 .8em;"
	"color:#111;line-height:1.4}"
	"h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.4em}"
	"table{border-collapse:collapse;margin:.4em 0;font-size:.9em}"
	"td,th{border:1px solid #bbb;padding:.15em .45em;text-align:left;vertical-align:top}"
	"th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}"
	".wrap{overflow-x:auto}.fail{color:#b00;font-weight:bold}.pass{color:#060}"
	"figure{margin:.6em 0}figcaption{font-weight:bold}"
	"svg.chart{width:100%;height:auto;font-size:11px}"
	".frame{fill:none;stroke:#444}.grid{stroke:#ddd}.tick{fill:#333}"
	".line{fill:none;stroke:#1f5fa8;stroke-width:1}"
	".pt{fill:#1f5fa8}.pt.q{fill:#d08000}.pt.nv{fill:#c00}"
	".limit{stroke:#c00;stroke-width:1.5;stroke-dasharray:6 3}text.limit{fill:#c00;stroke:none}"
	".mean{fill:none;stroke:#2a8a2a;stroke-width:2}"
	".band{stroke:none}.gap{fill:#999;opacity:.35}.bad{fill:#e39a00;opacity:.3}"
	".maint{fill:#7a4fc0;opacity:.22}.calib{fill:#40a0c0;opacity:.25}"
	".alert{fill:#f33;opacity:.12}"
	".sw{display:inline-block;width:1em;height:.8em;margin-right:.3em;vertical-align:middle}"
	"code{word-break:break-all}footer{margin:2em 0 1em;font-size:.85em;"
	"border-top:1px solid #999}"
	"@media print{body{max-width:none;padding:0}h2{break-after:avoid}"
	"figure,table.sheet{break-inside:avoid}.wrap{overflow:visible}}";

void report_time(int64_t ms, bool zone, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, cap, zone ? "%Y-%m-%d %H:%M:%S %Z" : "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, cap, "?");
}

void report_num(double v, unsigned flags, char *buf, size_t cap)
{
	char num[NUMFMT_MAX];

	if (isnan(v))
		snprintf(buf, cap, "-");
	else {
		numfmt_value(num, v, flags);
		snprintf(buf, cap, "%s", num);
	}
}

static void duration(int64_t ms, char *buf, size_t cap)
{
	int64_t s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, cap, "%lld h %02lld min %02lld s", (long long)(s / 3600),
			 (long long)(s / 60 % 60), (long long)(s % 60));
	else
		snprintf(buf, cap, "%lld min %02lld s", (long long)(s / 60), (long long)(s % 60));
}

/* <tr><th>k</th><td>escaped v</td></tr> */
static void row(FILE *out, const char *k, const char *v)
{
	fputs("<tr><th>", out);
	svg_escape(out, k);
	fputs("</th><td>", out);
	svg_escape(out, v);
	fputs("</td></tr>\n", out);
}

static const char *basis_text(const struct report *r, int basis)
{
	static const enum rpt_str s[] = { S_INSTANT, S_ROLLING, S_HOURLY, S_DAILY };

	return basis >= 0 && basis < 4 ? T(s[basis]) : "?";
}

static void head(const struct report *r, FILE *out)
{
	static const enum rpt_str titles[] = { S_TITLE_ALERT, S_TITLE_DAY, S_TITLE_RANGE };
	char a[64], b[64], zone[16] = "";
	time_t t = (time_t)(r->from_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(zone, sizeof(zone), "%Z, UTC%z", &tm);
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>", r->lang == LANG_ZH ? "zh-CN" : "en");
	svg_escape(out, T(titles[r->kind]));
	fputs(" · ", out);
	svg_escape(out, r->outlet);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
	svg_escape(out, T(titles[r->kind]));
	fputs("</h1>\n<table>\n", out);
	row(out, T(S_OUTLET), r->outlet);
	row(out, T(S_GATEWAY), r->gateway);
	report_time(r->from_ms, false, a, sizeof(a));
	report_time(r->to_ms, true, b, sizeof(b));
	fprintf(out, "<tr><th>%s</th><td>%s — %s</td></tr>\n", T(S_SPAN), a, b);
	fprintf(out, "<tr><th>%s</th><td>", T(S_TIMES_IN));
	svg_escape(out, r->tz);
	fprintf(out, " (%s)</td></tr>\n</table>\n", zone);
}

static void limits_table(const struct report *r, FILE *out)
{
	char mn[NUMFMT_MAX], mx[NUMFMT_MAX];

	fprintf(out, "<h3>%s</h3>\n<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
		"</tr>\n", T(S_LIMITS), T(S_PARAMETER), T(S_MIN), T(S_MAX), T(S_BASIS));
	for (size_t i = 0; i < r->n_limits; i++) {
		const struct rpt_limit *l = &r->limits[i];

		report_num(l->has_min ? l->min : NAN, 0, mn, sizeof(mn));
		report_num(l->has_max ? l->max : NAN, 0, mx, sizeof(mx));
		fprintf(out, "<tr><td>%s (%s)</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
			"<td>%s", param_name(l->param), param_unit(l->param), mn, mx,
			basis_text(r, l->basis));
		if (l->basis == BASIS_ROLLING)
			fprintf(out, ", %s %d min", T(S_WINDOW), l->window_min);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
}

static void permit(const struct report *r, FILE *out)
{
	char v[64];

	fprintf(out, "<h2>%s</h2>\n", T(S_PERMIT));
	if (!r->has_permit) {
		fprintf(out, "<p>%s</p>\n", T(S_NO_PERMIT));
		return;
	}
	fprintf(out, "<table>\n<tr><th>%s</th><td id=\"permit\">", T(S_PERMIT_NO));
	svg_escape(out, r->permit);
	fputs("</td></tr>\n", out);
	row(out, T(S_HOLDER), r->holder);
	snprintf(v, sizeof(v), "%04d-%02d-%02d — %04d-%02d-%02d", r->valid_from.year,
		 r->valid_from.month, r->valid_from.day, r->valid_until.year,
		 r->valid_until.month, r->valid_until.day);
	row(out, T(S_VALIDITY), v);
	if (r->has_daily_volume) {
		report_num(r->daily_volume_max_m3, 0, v, sizeof(v));
		fprintf(out, "<tr><th>%s</th><td>%s m3</td></tr>\n", T(S_DAILY_VOLUME_CAP), v);
	}
	fputs("</table>\n", out);
	limits_table(r, out);
}

static void ratio(double v, double limit, char *buf, size_t cap)
{
	if (isfinite(v) && isfinite(limit) && limit != 0)
		snprintf(buf, cap, "%.2f", v / limit);
	else
		snprintf(buf, cap, "-");
}

static void timeline(const struct report *r, FILE *out)
{
	const struct rec_alert *a = &r->alert.raised, *c = &r->alert.cleared;
	char t[64], v[NUMFMT_MAX], l[NUMFMT_MAX], p[NUMFMT_MAX], q[16], buf[160];

	fprintf(out, "<h2>%s</h2>\n<table class=\"sheet\">\n", T(S_ALERT));
	row(out, "id", a->id);
	snprintf(buf, sizeof(buf), "%s · %s (%s) · %s", alert_kind_name(a->kind),
		 param_name(a->param), param_unit(a->param), basis_text(r, a->basis));
	if (a->window_min)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %d min", (int)a->window_min);
	row(out, T(S_KIND), buf);
	report_num(a->limit, 0, l, sizeof(l));
	row(out, T(S_LIMIT), l);
	report_time(a->since_ms, true, t, sizeof(t));
	report_num(a->value, a->value_flags, v, sizeof(v));
	ratio(a->value, a->limit, q, sizeof(q));
	snprintf(buf, sizeof(buf), "%s · %s %s · %s %s", t, T(S_VALUE), v, T(S_RATIO), q);
	row(out, T(S_RAISED), buf);
	report_num(r->alert.has_cleared ? c->peak : a->peak, a->value_flags, p, sizeof(p));
	ratio(r->alert.has_cleared ? c->peak : a->peak, a->limit, q, sizeof(q));
	snprintf(buf, sizeof(buf), "%s · %s %s", p, T(S_RATIO), q);
	row(out, T(S_PEAK), buf);
	if (r->alert.has_cleared) {
		report_time(c->until_ms, true, t, sizeof(t));
		snprintf(buf, sizeof(buf), "%s · %s %s", t, T(S_REASON),
			 clear_reason_name(c->reason) ? clear_reason_name(c->reason) : "-");
		row(out, T(S_CLEARED), buf);
		duration(c->until_ms - a->since_ms, buf, sizeof(buf));
		row(out, T(S_DURATION), buf);
	} else {
		row(out, T(S_CLEARED), T(S_STILL_OPEN));
	}
	row(out, T(S_SENSOR), a->sensor);
	fputs("</table>\n", out);
}

static void alerts_in_span(const struct report *r, FILE *out)
{
	char t[64], v[NUMFMT_MAX], l[NUMFMT_MAX], q[16];

	fprintf(out, "<h2>%s</h2>\n", T(S_ALERTS_IN_SPAN));
	if (!r->n_alerts) {
		fprintf(out, "<p>%s</p>\n", T(S_NONE));
		return;
	}
	fprintf(out, "<div class=\"wrap\"><table>\n<tr><th>%s</th><th>%s</th><th>%s</th>"
		"<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n", T(S_RAISED), T(S_KIND),
		T(S_PARAMETER), T(S_VALUE), T(S_LIMIT), T(S_RATIO), T(S_CLEARED));
	for (size_t i = 0; i < r->n_alerts; i++) {
		const struct rpt_alert *a = &r->alerts[i];
		const struct rec_alert *e = a->has_raised ? &a->raised : &a->cleared;

		report_time(e->since_ms, false, t, sizeof(t));
		report_num(e->value, e->value_flags, v, sizeof(v));
		report_num(e->limit, 0, l, sizeof(l));
		ratio(e->value, e->limit, q, sizeof(q));
		fprintf(out, "<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"n\">%s</td>"
			"<td class=\"n\">%s</td><td class=\"n\">%s</td><td>", t,
			alert_kind_name(e->kind), param_name(e->param), v, l, q);
		if (a->has_cleared)
			report_time(a->cleared.until_ms, false, t, sizeof(t));
		fprintf(out, "%s</td></tr>\n", a->has_cleared ? t : T(S_STILL_OPEN));
	}
	fputs("</table></div>\n", out);
}

static void legend(const struct report *r, FILE *out)
{
	fprintf(out, "<p>%s: <span class=\"sw\" style=\"background:#999\"></span>%s; "
		"<span class=\"sw\" style=\"background:#e39a00\"></span>%s; "
		"<span class=\"sw\" style=\"background:#7a4fc0\"></span>%s; "
		"<span class=\"sw\" style=\"background:#40a0c0\"></span>%s; "
		"<span class=\"sw\" style=\"background:#f99\"></span>%s. "
		"<span style=\"color:#c00\">- - -</span> %s; "
		"<span style=\"color:#2a8a2a\">——</span> %s.</p>\n", T(S_BANDS), T(S_GAP),
		T(S_UNHEALTHY), T(S_MAINT), T(S_CALIB), T(S_ALERT_BAND), T(S_LIMIT), T(S_MEAN));
}

static void plots(const struct report *r, FILE *out)
{
	int ps[P_COUNT];
	size_t n = report_params(r, ps);
	const char *how;
	char v[NUMFMT_MAX];
	double vol;

	fprintf(out, "<h2>%s</h2>\n", T(S_PLOTS));
	if (!r->n_readings)
		fprintf(out, "<p class=\"fail\">%s</p>\n", T(S_NO_READINGS));
	legend(r, out);
	for (size_t i = 0; i < n; i++)
		report_plot(r, ps[i], out);
	vol = report_volume(r, r->from_ms, r->to_ms, &how);
	report_num(vol, 0, v, sizeof(v));
	fprintf(out, "<h2>%s</h2>\n<table>\n<tr><th>%s</th><td class=\"n\">%s m3</td><td>%s "
		"%s</td></tr>\n", T(S_FLOW_VOLUME), T(S_VOLUME), v, T(S_VOLUME_FROM),
		how ? how : "-");
	if (r->kind == RPT_ALERT && r->alert.has_raised) {
		int64_t a = r->alert.raised.since_ms;
		int64_t b = r->alert.has_cleared ? r->alert.cleared.until_ms : r->to_ms;

		vol = report_volume(r, a, b, &how);
		report_num(vol, 0, v, sizeof(v));
		fprintf(out, "<tr><th>%s (%s)</th><td class=\"n\">%s m3</td><td>%s %s</td></tr>\n",
			T(S_VOLUME), T(S_ALERT_BAND), v, T(S_VOLUME_FROM), how ? how : "-");
	}
	fputs("</table>\n", out);
}

static void readings_table(const struct report *r, FILE *out)
{
	size_t n = r->n_readings < RPT_TABLE_ROWS ? r->n_readings : RPT_TABLE_ROWS;
	char t[64], v[NUMFMT_MAX];

	fprintf(out, "<h2>%s</h2>\n", T(S_READINGS));
	if (n < r->n_readings) {
		fputs("<p>", out);
		fprintf(out, T(S_TABLE_CAPPED), n, r->n_readings);
		fputs("</p>\n", out);
	}
	fprintf(out, "<div class=\"wrap\"><table id=\"readings\">\n<tr><th>%s</th><th>%s</th>"
		"<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n", T(S_TIME), T(S_SENSOR),
		T(S_PARAMETER), T(S_VALUE), T(S_QUALITY), T(S_FLAGS));
	for (size_t i = 0; i < n; i++) {
		const struct rpt_reading *x = &r->readings[i];

		report_time(x->ts_ms, false, t, sizeof(t));
		report_num(x->v.v, x->v.flags, v, sizeof(v));
		fprintf(out, "<tr><td>%s.%03d</td><td>", t, (int)(x->ts_ms % 1000));
		svg_escape(out, x->sensor);
		fprintf(out, "</td><td>%s</td><td class=\"n\">%s</td><td>%s</td><td>%s%s%s</td>"
			"</tr>\n", param_name(x->v.param), v, quality_name(x->v.quality),
			x->v.flags & RV_MAINTENANCE ? "M" : "", x->v.flags & RV_CALIBRATION ? "C" : "",
			x->v.flags & RV_IMPLAUSIBLE ? "I" : "");
	}
	fputs("</table></div>\n", out);
}

static void footer(const struct report *r, FILE *out)
{
	char t[64];

	fprintf(out, "<footer>\n<h2>%s</h2>\n<table>\n<tr><th>%s</th><td><code id=\"digest\">"
		"%s</code><br>", T(S_FOOTER), T(S_DIGEST), r->digest);
	svg_escape(out, T(S_DIGEST_DEF));
	fputs("</td></tr>\n", out);
	row(out, T(S_GATEWAY), r->gateway);
	row(out, T(S_VERSION), r->version);
	row(out, T(S_CLOCK), r->clock);
	report_time(r->made_ms, true, t, sizeof(t));
	row(out, T(S_MADE), t);
	fputs("</table>\n</footer>\n", out);
}

void report_html(const struct report *r, FILE *out)
{
	head(r, out);
	permit(r, out);
	if (r->kind == RPT_ALERT && r->alert.has_raised)
		timeline(r, out);
	if (r->kind != RPT_ALERT)
		alerts_in_span(r, out);
	if (r->kind == RPT_DAY)
		report_day_sheet(r, out);
	plots(r, out);
	readings_table(r, out);
	footer(r, out);
	fputs("</body>\n</html>\n", out);
}
