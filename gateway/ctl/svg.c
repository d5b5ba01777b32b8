/*
 * svg.c - the report's SVG writer (svg.h): nice ticks, the data-to-pixel
 * mapping, axes, bands, lines, points and escaped text.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "svg.h"
#include "base/numfmt.h"

int svg_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step)
{
	static const double mult[] = { 1, 2, 5, 10 };
	double span, raw, mag, s = 0;
	int n;

	if (!isfinite(lo) || !isfinite(hi) || max_ticks < 2)
		return 0;
	if (max_ticks > SVG_MAX_TICKS)
		max_ticks = SVG_MAX_TICKS;
	if (hi < lo) {
		double t = lo;

		lo = hi;
		hi = t;
	}
	if (hi == lo) { /* one value: a band around it */
		double d = lo == 0 ? 1 : fabs(lo) * 0.1;

		lo -= d;
		hi += d;
	}
	span = hi - lo;
	raw = span / (max_ticks - 1);
	mag = pow(10, floor(log10(raw)));
	for (size_t i = 0; i < sizeof(mult) / sizeof(mult[0]); i++) {
		s = mult[i] * mag;
		if (floor(hi / s) - ceil(lo / s) + 1 <= max_ticks)
			break;
	}
	*first = ceil(lo / s) * s;
	*step = s;
	n = (int)(floor(hi / s) - ceil(lo / s)) + 1;
	return n < 0 ? 0 : n > max_ticks ? max_ticks : n;
}

int svg_time_ticks(int64_t lo_ms, int64_t hi_ms, long utc_off_s, int max_ticks,
		   int64_t ticks[SVG_MAX_TICKS], int64_t *step_ms)
{
	static const int64_t steps_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
					   3600, 7200, 10800, 21600, 43200, 86400, 172800,
					   604800 };
	int64_t off = (int64_t)utc_off_s * 1000, step = 0, t;
	int n = 0;

	if (max_ticks > SVG_MAX_TICKS)
		max_ticks = SVG_MAX_TICKS;
	if (hi_ms <= lo_ms || max_ticks < 1)
		return 0;
	for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++) {
		step = steps_s[i] * 1000;
		if ((hi_ms - lo_ms) / step + 1 <= max_ticks)
			break;
	}
	/* the first multiple of step, counted in local time, at or after lo */
	t = lo_ms + off;
	t = (t / step + (t % step > 0)) * step - off;
	for (; t <= hi_ms && n < max_ticks; t += step)
		ticks[n++] = t;
	*step_ms = step;
	return n;
}

void svg_begin(struct svg_plot *p, const char *cls, const char *label)
{
	/* inline in HTML5: no xmlns, so the page names no URL at all */
	fprintf(p->out, "<svg class=\"%s\" "
		"viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", cls, p->w, p->h);
	svg_escape(p->out, label);
	fprintf(p->out, "\">\n<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/>\n", p->ml, p->mt, p->w - p->ml - p->mr, p->h - p->mt - p->mb);
}

void svg_end(const struct svg_plot *p)
{
	fputs("</svg>\n", p->out);
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

double svg_px(const struct svg_plot *p, double x)
{
	double span = p->x1 - p->x0, w = p->w - p->ml - p->mr;

	if (!(span > 0))
		return p->ml;
	return p->ml + clampd((x - p->x0) / span, 0, 1) * w;
}

double svg_py(const struct svg_plot *p, double y)
{
	double span = p->y1 - p->y0, h = p->h - p->mt - p->mb;

	if (!(span > 0))
		return p->h - p->mb;
	return p->h - p->mb - clampd((y - p->y0) / span, 0, 1) * h;
}

void svg_axis_y(const struct svg_plot *p, double first, double step, int n)
{
	char num[NUMFMT_MAX];

	for (int i = 0; i < n; i++) {
		double v = first + i * step, y;

		if (fabs(v) < step * 1e-9)
			v = 0; /* no "-0" or 1e-17 from the sum */
		y = svg_py(p, v);
		fprintf(p->out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\"/>\n", p->ml, y, p->w - p->mr, y);
		numfmt_f64(num, v);
		svg_text(p, p->ml - 4, y + 4, "end", "tick", num);
	}
}

void svg_axis_x(const struct svg_plot *p, const double *xs, const char *const *labels, int n)
{
	for (int i = 0; i < n; i++) {
		double x = svg_px(p, xs[i]);

		fprintf(p->out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			"y2=\"%.1f\"/>\n", x, p->mt, x, p->h - p->mb);
		svg_text(p, x, p->h - p->mb + 14, "middle", "tick", labels[i]);
	}
}

void svg_band(const struct svg_plot *p, double a, double b, const char *cls,
	      const char *title)
{
	double x0 = svg_px(p, a), x1 = svg_px(p, b);

	if (x1 - x0 < 1) /* a short gap still shows */
		x1 = x0 + 1;
	fprintf(p->out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\">", cls, x0, p->mt, x1 - x0, p->h - p->mt - p->mb);
	if (title && *title) {
		fputs("<title>", p->out);
		svg_escape(p->out, title);
		fputs("</title>", p->out);
	}
	fputs("</rect>\n", p->out);
}

void svg_hline(const struct svg_plot *p, double y, const char *cls, const char *attrs,
	       const char *label)
{
	double py = svg_py(p, y);

	fprintf(p->out, "<line class=\"%s\" %s x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		"y2=\"%.1f\"/>\n", cls, attrs ? attrs : "", p->ml, py, p->w - p->mr, py);
	if (label && *label)
		svg_text(p, p->w - p->mr - 2, py - 3, "end", cls, label);
}

void svg_polyline(const struct svg_plot *p, const double *xs, const double *ys, size_t n,
		  const char *cls)
{
	bool open = false;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(ys[i])) {
			if (open)
				fputs("\"/>\n", p->out);
			open = false;
			continue;
		}
		if (!open)
			fprintf(p->out, "<polyline class=\"%s\" points=\"", cls);
		fprintf(p->out, "%s%.1f,%.1f", open ? " " : "", svg_px(p, xs[i]),
			svg_py(p, ys[i]));
		open = true;
	}
	if (open)
		fputs("\"/>\n", p->out);
}

void svg_point(const struct svg_plot *p, double x, double y, const char *cls)
{
	fprintf(p->out, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\"/>\n", cls,
		svg_px(p, x), svg_py(p, y));
}

void svg_text(const struct svg_plot *p, double px, double py, const char *anchor,
	      const char *cls, const char *text)
{
	fprintf(p->out, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", cls,
		px, py, anchor);
	svg_escape(p->out, text);
	fputs("</text>\n", p->out);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, beyond Unicode, or a surrogate */
	return n;
}

void svg_escape(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");

	while (*u) {
		size_t n = utf8_len(u);

		if (n == 0) {
			fputs("\xef\xbf\xbd", out); /* U+FFFD */
			u++;
			continue;
		}
		switch (*u) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if (n > 1 || (*u >= 0x20 && *u != 0x7f) || *u == '\t' || *u == '\n')
				fwrite(u, 1, n, out); /* other controls are dropped */
		}
		u += n;
	}
}
