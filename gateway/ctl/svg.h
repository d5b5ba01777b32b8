/*
 * svg.h - a small SVG writer for outfallctl's inspection reports: a plot
 * area that maps data (x: wall ms, y: the parameter's unit) to pixels,
 * axes with "nice" ticks (1, 2, 5 x 10^k for values; whole minutes, hours
 * or days of local time for the time axis), bands, horizontal lines,
 * polylines, points and escaped text. No charting library: the report
 * must open with no network and no script.
 *
 * Everything is written straight to a FILE *; nothing is allocated. Text
 * goes through svg_escape(), which is also the HTML escaper of the report.
 */
#ifndef OUTFALL_SVG_H
#define OUTFALL_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SVG_MAX_TICKS 12

/* Nice ticks covering [lo, hi]: at most max_ticks (2..SVG_MAX_TICKS) values
 * first, first + step, ... each a multiple of step, step 1, 2 or 5 x 10^k.
 * Returns how many (0 when lo or hi is not finite). lo == hi is widened. */
int svg_nice_ticks(double lo, double hi, int max_ticks, double *first, double *step);

/* Ticks for a time axis [lo_ms, hi_ms]: a step of whole seconds, minutes,
 * hours or days (1 2 5 10 15 30 min, 1 2 3 6 12 h, 1 2 7 d), aligned to
 * local time (the TZ in force) by its UTC offset utc_off_s. At most
 * max_ticks values into ticks[]; returns how many. */
int svg_time_ticks(int64_t lo_ms, int64_t hi_ms, long utc_off_s, int max_ticks,
		   int64_t ticks[SVG_MAX_TICKS], int64_t *step_ms);

/* A plot: a w x h SVG with margins, data window x [x0, x1], y [y0, y1]. */
struct svg_plot {
	FILE *out;
	double w, h;            /* the whole SVG, in user units (px) */
	double ml, mr, mt, mb;  /* margins around the plot area */
	double x0, x1;          /* data x shown (e.g. wall ms) */
	double y0, y1;          /* data y shown */
};

/* Opens <svg> with a viewBox (it scales to the page width) and the plot
 * area's frame; cls is the class of the <svg>, label its aria-label. */
void svg_begin(struct svg_plot *p, const char *cls, const char *label);
void svg_end(const struct svg_plot *p);

/* Data to pixels, clamped to the plot area. */
double svg_px(const struct svg_plot *p, double x);
double svg_py(const struct svg_plot *p, double y);

/* The y axis with ticks at first + i * step and their labels (numfmt). */
void svg_axis_y(const struct svg_plot *p, double first, double step, int n);
/* The x axis with the given tick positions and labels (already escaped-safe
 * text is not assumed: each label is escaped). */
void svg_axis_x(const struct svg_plot *p, const double *xs, const char *const *labels, int n);

/* A shaded band over x [a, b] and the plot's whole height. title becomes
 * a <title> (a tooltip, and what a screen reader says). */
void svg_band(const struct svg_plot *p, double a, double b, const char *cls,
	      const char *title);
/* A horizontal line at data y across the plot, with class cls and the
 * extra attribute text attrs (written as is: the caller builds it from
 * numbers), and a label at its right end. */
void svg_hline(const struct svg_plot *p, double y, const char *cls, const char *attrs,
	       const char *label);

/* A polyline of n vertices (data coordinates); NaN y values break it into
 * pieces. Each piece is one <polyline class=cls>. */
void svg_polyline(const struct svg_plot *p, const double *xs, const double *ys, size_t n,
		  const char *cls);
/* One point: <circle class=cls cx cy r>. */
void svg_point(const struct svg_plot *p, double x, double y, const char *cls);
/* Escaped text at pixel (px, py); anchor "start", "middle" or "end". */
void svg_text(const struct svg_plot *p, double px, double py, const char *anchor,
	      const char *cls, const char *text);

/* Writes s escaped for HTML and XML text and attribute values: & < > " '
 * as entities, control characters other than tab and newline dropped,
 * invalid UTF-8 replaced by U+FFFD; valid UTF-8 passes unchanged. */
void svg_escape(FILE *out, const char *s);

#endif
