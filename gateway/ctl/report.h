/*
 * report.h - `outfallctl report` (DESIGN §6 "Inspection report"): what the
 * report's parts share. report.c parses the options and drives the rest;
 * report_data.c fills a struct report from the local history
 * (sinks/history/history.h) and the config; everything after that is pure
 * over the struct, so the unit tests feed it from memory:
 *   report_calc.c  gaps, unhealthy and maintenance bands, means, volume
 *   report_csv.c   the readings as CSV and their SHA-256 (the digest)
 *   report_html.c  the page: header, permit, timeline, tables, footer
 *   report_plot.c  one SVG plot per parameter (svg.h)
 *   report_day.c   the daily sheet (--day)
 *   report_i18n.c  the text in Chinese and English
 * Times are wall ms UTC inside, shown in the TZ in force (report.c sets it
 * to the gateway's timezone), labelled with the zone's abbreviation.
 */
#ifndef OUTFALL_REPORT_H
#define OUTFALL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/param.h"
#include "base/record.h"
#include "config/config.h"

#define RPT_MAX_READINGS 4000000 /* rows one report holds (a day of 1 s polls of
				  * 16 parameters is 1.4 M); more is refused */
#define RPT_MAX_SPAN_MS (31LL * 86400000) /* --from/--to: a month at most */
#define RPT_TABLE_ROWS 2000      /* rows of the HTML table; the CSV has all */
#define RPT_GAP_POLLS 3          /* no reading for more than this many poll
				  * intervals is a gap */
#define RPT_CONTEXT_MIN_MS (30 * 60000LL)  /* around an alert: 30 min or half */
#define RPT_CONTEXT_MAX_MS (12 * 3600000LL) /* its duration, at most 12 h */
#define RPT_DIGEST_HEX 65        /* SHA-256 as hex, with the NUL */

enum rpt_kind { RPT_ALERT, RPT_DAY, RPT_RANGE };
enum rpt_lang { LANG_EN, LANG_ZH, LANG_COUNT };

/* One history row: one value of one poll. */
struct rpt_reading {
	int64_t ts_ms;
	char sensor[REC_NAME];
	struct rec_value v;       /* v.v NaN when the row has no value */
};

/* An hour or day aggregate of one parameter (history's aggregate rows). */
struct rpt_agg {
	int64_t ts_ms, end_ms;    /* period start and end */
	uint8_t period;           /* enum agg_period */
	struct rec_agg_param p;
};

/* A limit of the outlet's permit (or the alert's own, when the permit has
 * changed since). */
struct rpt_limit {
	int param;
	bool has_min, has_max;
	double min, max;
	int basis;                /* enum basis */
	int window_min;           /* rolling */
};

enum rpt_band_kind { BAND_GAP, BAND_UNHEALTHY, BAND_MAINT, BAND_CALIB, BAND_ALERT };

/* A stretch of the time axis to shade. */
struct rpt_band {
	int64_t from_ms, to_ms;
	uint8_t kind;             /* enum rpt_band_kind */
	int param;                /* the parameter it concerns, -1 all */
	char sensor[REC_NAME];    /* "" when not about one sensor */
	char note[REC_NOTE];      /* quality name, operator's reason, ... */
};

/* One alert: its raised and (if any) cleared event. */
struct rpt_alert {
	struct rec_alert raised;
	bool has_raised;
	struct rec_alert cleared;
	bool has_cleared;
};

struct report {
	enum rpt_kind kind;
	enum rpt_lang lang;
	char outlet[REC_NAME];
	char gateway[REC_NAME * 2];
	char version[32];
	char clock[96];            /* clock state from status.json, or "unknown" */
	char tz[64];               /* the timezone's name, e.g. Asia/Shanghai */
	int64_t made_ms;           /* when the report was made */
	int64_t from_ms, to_ms;    /* the span shown: [from, to) */
	int64_t day_from_ms;       /* --day: the local day (== from/to) */
	char day[16];              /* --day: "YYYY-MM-DD" */

	/* permit (has_permit false: the outlet has none, e.g. storm) */
	bool has_permit;
	char permit[REC_PERMIT];
	char holder[REC_HOLDER];
	struct cfg_date valid_from, valid_until;
	bool has_daily_volume;
	double daily_volume_max_m3;
	struct rpt_limit *limits;
	size_t n_limits;

	/* --alert: the alert; its parameter first among the plots */
	struct rpt_alert alert;
	/* alerts of the outlet raised in the span (timeline, daily sheet) */
	struct rpt_alert *alerts;
	size_t n_alerts;

	/* history: readings in time order, aggregates, bands */
	struct rpt_reading *readings;
	size_t n_readings;
	struct rpt_agg *aggs;
	size_t n_aggs;
	struct rpt_band *bands;
	size_t n_bands;
	int interval_s[P_COUNT];   /* per enum param: the poll interval of the
				    * sensor that measures it, 0 unknown */
	char digest[RPT_DIGEST_HEX]; /* SHA-256 of the CSV, set by report_csv */
};

/* Frees the arrays (the struct itself is the caller's); NULL is a no-op. */
void report_clear(struct report *r);

/* ---- report_data.c ---- */
struct history;
/* Fills r's history part (readings, aggregates, alerts, maintenance bands)
 * for r->outlet over [r->from_ms, r->to_ms). 0, or an exit code after
 * saying why on stderr. */
int report_gather(struct history *h, struct report *r);
/* Finds the events of alert id: 0, or an exit code (EX_NOINPUT: no such
 * alert) after saying why. */
int report_find_alert(struct history *h, const char *id, struct rpt_alert *out);

/* ---- report_calc.c ---- */
/* Adds gap and unhealthy-quality bands derived from the readings (and an
 * alert band for r->alert). 0 or -ENOMEM. */
int report_bands(struct report *r);
/* Appends a band: 0 or -ENOMEM. */
int report_add_band(struct report *r, const struct rpt_band *b);
/* The parameters with readings (or limits, or the alert's), alert's first,
 * then flow, volume_total, then by enum order: count, into out[P_COUNT]. */
size_t report_params(const struct report *r, int *out);
/* Rows of parameter p in r->readings, and how many carry a value. */
size_t report_count(const struct report *r, int p, size_t *with_value);
/* Rolling mean over window_min of p's ok readings, at each of p's
 * readings with a value: the means into ys (NaN where none), their times
 * into xs; returns how many. xs, ys hold report_count() entries. */
size_t report_rolling(const struct report *r, int p, int window_min, double *xs,
		      double *ys);
/* Volume in m3 over [from, to): from volume_total deltas (a counter that
 * goes back is taken as reset), else by integrating flow (m3/h); NaN when
 * neither has readings. *how: "volume_total", "flow" or NULL. */
double report_volume(const struct report *r, int64_t from_ms, int64_t to_ms,
		     const char **how);
/* Mean of p's ok readings in [from, to); NaN when none. *n their count. */
double report_mean(const struct report *r, int p, int64_t from_ms, int64_t to_ms,
		   size_t *n);

/* ---- report_csv.c ---- */
/* Writes the readings as CSV (header line, one row per reading, \n line
 * ends, times as RFC 3339 UTC with ms and as local time) to out. */
void report_csv(const struct report *r, FILE *out);
/* The CSV in memory (*buf, *len: free() it) and its SHA-256 as hex in
 * r->digest: 0, -ENOMEM, or -EIO (libcrypto failed). */
int report_csv_digest(struct report *r, char **buf, size_t *len);
/* SHA-256 of data as 64 hex digits and a NUL: 0 or -EIO. */
int report_sha256_hex(const void *data, size_t len, char hex[RPT_DIGEST_HEX]);

/* ---- report_html.c ---- */
/* The whole page. */
void report_html(const struct report *r, FILE *out);
/* Local time of wall ms: "2026-11-29 16:00:17" (+" CST" when zone). */
void report_time(int64_t ms, bool zone, char *buf, size_t cap);
/* A value at its precision, "-" for NaN. */
void report_num(double v, unsigned flags, char *buf, size_t cap);

/* ---- report_plot.c ---- */
/* One figure: the plot of parameter p with its limits, mean, bands,
 * points. */
void report_plot(const struct report *r, int p, FILE *out);

/* ---- report_day.c ---- */
void report_day_sheet(const struct report *r, FILE *out);

/* ---- report_i18n.c ---- */
enum rpt_str {
	S_TITLE_ALERT, S_TITLE_DAY, S_TITLE_RANGE, S_OUTLET, S_GATEWAY, S_SPAN,
	S_TIMES_IN, S_PERMIT, S_PERMIT_NO, S_HOLDER, S_VALIDITY, S_DAILY_VOLUME_CAP,
	S_NO_PERMIT, S_LIMITS, S_PARAMETER, S_BASIS, S_MIN, S_MAX, S_WINDOW,
	S_ALERT, S_KIND, S_RAISED, S_PEAK, S_CLEARED, S_STILL_OPEN, S_DURATION,
	S_RATIO, S_VALUE, S_LIMIT, S_REASON, S_SENSOR, S_PLOTS, S_READINGS,
	S_NO_READINGS, S_TIME, S_QUALITY, S_FLAGS, S_TABLE_CAPPED, S_VOLUME,
	S_VOLUME_FROM, S_FLOW_VOLUME, S_BANDS, S_GAP, S_UNHEALTHY, S_MAINT,
	S_CALIB, S_ALERT_BAND, S_MEAN, S_DAY_SHEET, S_STATISTIC, S_RESULT,
	S_PASS, S_FAIL, S_NOT_JUDGED, S_EXCEEDANCES, S_NONE, S_COVERAGE,
	S_FOOTER, S_DIGEST, S_DIGEST_DEF, S_VERSION, S_CLOCK, S_MADE,
	S_POINTS, S_ALERTS_IN_SPAN, S_INSTANT, S_ROLLING, S_HOURLY, S_DAILY,
	S_GOOD, S_EXPECTED, S_COUNT
};
const char *report_tr(enum rpt_lang lang, enum rpt_str s);
/* "zh" when LANG or LC_ALL (the first set) starts with "zh", else "en". */
enum rpt_lang report_lang_default(void);

#endif
