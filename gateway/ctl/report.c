/*
 * report.c - `outfallctl report` (DESIGN §6): the options, the span to
 * show, what the config says about the outlet (permit, limits, poll
 * intervals) and the gateway's clock, then report_gather() from the
 * history, the CSV and its digest, and the HTML written through a temp
 * file and rename.
 *
 * The history commits every commit_s: when its daemon is running, it is
 * first asked to write what waits (history-commit on the control socket),
 * so that the report of an alert raised a minute ago has that minute.
 *
 * A span with no readings still gives a report that says so (exit 0):
 * "nothing was measured that day" is itself evidence. An unknown alert id,
 * outlet or a missing history is an error (66 or 64), said on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "report.h"
#include "base/clock.h"
#include "daemon/daemon.h"
#include "sinks/history/history.h"

enum { OPT_ALERT = CTL_OPT_FIRST_FREE, OPT_OUTLET, OPT_DAY, OPT_FROM, OPT_TO, OPT_CSV,
       OPT_LANG, OPT_HISTORY };

struct report_opts {
	const char *config, *alert, *outlet, *day, *from, *to, *output, *history;
	bool csv;
	int lang; /* -1: from the locale */
};

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl report [-c FILE] (--alert ID | --outlet ID --day YYYY-MM-DD |\n"
		"                         --outlet ID --from TIME --to TIME)\n"
		"                         [-o FILE] [--csv] [--lang zh|en] [--history DIR]\n"
		"An inspection report from the gateway's local history: one self-contained HTML\n"
		"file (inline SVG and CSS, no script, nothing fetched) that opens on a phone and\n"
		"prints to A4: the permit and its limits, each parameter against its limit lines\n"
		"with the mean its basis judges, flow and volume, gaps, unhealthy readings and\n"
		"maintenance as bands, the alert timeline, the daily sheet (--day), the readings,\n"
		"and the SHA-256 of the readings CSV with gateway id, version and clock state.\n"
		"Times are shown in gateway.timezone. A span without readings still gives a\n"
		"report, saying so.\n"
		"\n"
		"  -c, --config FILE   the gateway config (default " CTL_DEFAULT_CONFIG ")\n"
		"  --alert ID          the alert with this id, with context before and after\n"
		"                      (30 min or half its duration, whichever is larger, <= 12 h)\n"
		"  --outlet ID         the outlet, with --day or --from/--to\n"
		"  --day YYYY-MM-DD    that local day, with its daily sheet\n"
		"  --from T, --to T    local times \"YYYY-MM-DD[ HH:MM[:SS]]\" (or with a T, or\n"
		"                      ending in Z for UTC); at most 31 days\n"
		"  -o, --output FILE   the HTML file (default outfall-report-OUTLET-WHEN.html)\n"
		"  --csv               also write the readings as CSV next to it (FILE.csv);\n"
		"                      the footer's digest is the SHA-256 of exactly that file\n"
		"  --lang zh|en        (default: zh when LC_ALL, LC_MESSAGES or LANG starts with zh)\n"
		"  --history DIR       the history's directory (default history.dir)\n"
		"  -h, --help          this help\n"
		"\n"
		"exit codes: 0 written, 64 usage (or more than %d readings), 66 no such alert\n"
		"or no history, 70 internal error, 74 cannot read the history or write the file,\n"
		"78 config error\n", RPT_MAX_READINGS);
}

/* A local (or Z: UTC) time: 0 and *ms, or -1 after saying why. */
static int parse_time(const char *what, const char *s, int64_t *ms)
{
	static const char *const fmts[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
					     "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = { .tm_isdst = -1 };
		const char *end = strptime(s, fmts[i], &tm);
		time_t t;

		if (!end || (*end && strcmp(end, "Z") != 0))
			continue;
		t = *end ? timegm(&tm) : mktime(&tm);
		if (t == (time_t)-1)
			break;
		*ms = (int64_t)t * 1000;
		return 0;
	}
	fprintf(stderr, "outfallctl report: %s: \"%s\" is not a time (YYYY-MM-DD[ HH:MM[:SS]])\n",
		what, s);
	return -1;
}

/* --day: the local day [00:00, next 00:00). */
static int parse_day(const char *s, struct report *r)
{
	struct tm tm = { .tm_isdst = -1 };
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	time_t a, b;

	if (!end || *end) {
		fprintf(stderr, "outfallctl report: --day: \"%s\" is not YYYY-MM-DD\n", s);
		return -1;
	}
	a = mktime(&tm);
	tm.tm_mday++;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	b = mktime(&tm);
	r->from_ms = r->day_from_ms = (int64_t)a * 1000;
	r->to_ms = (int64_t)b * 1000;
	snprintf(r->day, sizeof(r->day), "%s", s);
	return 0;
}

static int parse_args(int argc, char **argv, struct report_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "output", required_argument, NULL, 'o' },
		{ "alert", required_argument, NULL, OPT_ALERT },
		{ "outlet", required_argument, NULL, OPT_OUTLET },
		{ "day", required_argument, NULL, OPT_DAY },
		{ "from", required_argument, NULL, OPT_FROM }, { "to", required_argument, NULL, OPT_TO },
		{ "csv", no_argument, NULL, OPT_CSV }, { "lang", required_argument, NULL, OPT_LANG },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'o': o->output = optarg; break;
		case OPT_ALERT: o->alert = optarg; break;
		case OPT_OUTLET: o->outlet = optarg; break;
		case OPT_DAY: o->day = optarg; break;
		case OPT_FROM: o->from = optarg; break;
		case OPT_TO: o->to = optarg; break;
		case OPT_CSV: o->csv = true; break;
		case OPT_HISTORY: o->history = optarg; break;
		case OPT_LANG:
			if (strcmp(optarg, "zh") && strcmp(optarg, "en")) {
				fprintf(stderr, "outfallctl report: --lang must be zh or en\n");
				return EX_USAGE;
			}
			o->lang = strcmp(optarg, "zh") == 0 ? LANG_ZH : LANG_EN;
			break;
		case 'h': report_usage(stdout); return -1;
		default: report_usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl report: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	if (!!o->alert + !!o->day + !!(o->from || o->to) != 1 || (o->alert && o->outlet) ||
	    (!o->alert && !o->outlet) || (!o->day && !o->alert && !(o->from && o->to))) {
		fprintf(stderr, "outfallctl report: give --alert ID, or --outlet ID with --day "
			"or with both --from and --to\n");
		return EX_USAGE;
	}
	return 0;
}

/* Appends a limit to r->limits: 0 or -ENOMEM. */
static int add_limit(struct report *r, const struct rpt_limit *l)
{
	struct rpt_limit *nl = realloc(r->limits, (r->n_limits + 1) * sizeof(*nl));

	if (!nl)
		return -ENOMEM;
	r->limits = nl;
	r->limits[r->n_limits++] = *l;
	return 0;
}

/* The alert's own limit, when the permit in the config no longer has it. */
static int alert_limit(struct report *r)
{
	const struct rec_alert *a = &r->alert.raised;
	bool below = a->kind == AK_BELOW_MINIMUM;
	struct rpt_limit l = { .param = a->param, .has_min = below, .has_max = !below,
			       .min = a->limit, .max = a->limit, .basis = a->basis,
			       .window_min = a->window_min };

	if (a->kind != AK_LIMIT_EXCEEDED && !below)
		return 0;
	for (size_t i = 0; i < r->n_limits; i++) {
		const struct rpt_limit *o = &r->limits[i];

		if (o->param == a->param && o->basis == a->basis &&
		    (below ? o->has_min && o->min == a->limit : o->has_max && o->max == a->limit))
			return 0;
	}
	return add_limit(r, &l);
}

/* The permit, limits and poll intervals of outlet oi (-1: not configured;
 * an alert then brings its own permit number and holder). */
static int from_config(const struct config *cfg, int oi, struct report *r)
{
	const struct cfg_outlet *o = oi >= 0 ? &cfg->outlets[oi] : NULL;
	const struct cfg_permit *p = o && o->permit >= 0 ? &cfg->permits[o->permit] : NULL;

	for (size_t i = 0; o && i < o->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[o->sensors[i]];

		for (size_t c = 0; c < s->n_channels; c++)
			if (s->channels[c].param >= 0 && s->channels[c].param < P_COUNT)
				r->interval_s[s->channels[c].param] = s->interval_s;
	}
	if (p) {
		r->has_permit = true;
		snprintf(r->permit, sizeof(r->permit), "%s", p->number);
		snprintf(r->holder, sizeof(r->holder), "%s", p->holder ? p->holder : "");
		r->valid_from = p->valid_from;
		r->valid_until = p->valid_until;
		r->has_daily_volume = p->has_daily_volume;
		r->daily_volume_max_m3 = p->daily_volume_max_m3;
		for (size_t i = 0; i < p->n_limits; i++) {
			const struct cfg_limit *l = &p->limits[i];
			struct rpt_limit rl = { l->param, l->has_min, l->has_max, l->min, l->max,
						l->basis, l->window_min };

			if (add_limit(r, &rl) < 0)
				return -ENOMEM;
		}
	} else if (r->kind == RPT_ALERT && r->alert.raised.permit[0]) {
		r->has_permit = true; /* no dates: the config no longer knows it */
		snprintf(r->permit, sizeof(r->permit), "%s", r->alert.raised.permit);
		snprintf(r->holder, sizeof(r->holder), "%s", r->alert.raised.holder);
	}
	return r->kind == RPT_ALERT ? alert_limit(r) : 0;
}

/* Clock state from status.json in run_dir, else "unknown". */
static void clock_state(const struct config *cfg, struct report *r)
{
	struct status_snapshot s = { 0 };
	char path[CTL_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", cfg->run_dir, STATUS_FILE);

	snprintf(r->clock, sizeof(r->clock), "unknown");
	if (n < 0 || (size_t)n >= sizeof(path) || status_read(path, &s) != 0)
		return;
	if (s.has_clock)
		snprintf(r->clock, sizeof(r->clock), "%s; kernel NTP %s; permit dates %s",
			 s.clock_rtc ? "gateway.clock=rtc" : "gateway.clock=ntp",
			 s.clock_synced ? "synchronised" : "NOT synchronised",
			 s.dates_judged ? "judged" : "NOT judged");
	status_clear(&s);
}

/* --alert: the span around the alert, with context. */
static void alert_span(struct history *h, struct report *r)
{
	int64_t a = r->alert.raised.since_ms, b, ctx;

	if (r->alert.has_cleared)
		b = r->alert.cleared.until_ms;
	else {
		b = history_newest_ms(h);
		if (b < a)
			b = clock_wall_ms();
	}
	ctx = (b - a) / 2;
	ctx = ctx < RPT_CONTEXT_MIN_MS ? RPT_CONTEXT_MIN_MS :
	      ctx > RPT_CONTEXT_MAX_MS ? RPT_CONTEXT_MAX_MS : ctx;
	r->from_ms = a - ctx;
	r->to_ms = b + ctx;
	snprintf(r->outlet, sizeof(r->outlet), "%s", r->alert.raised.outlet);
}

/* The default name: outfall-report-OUTLET-YYYYMMDD-HHMM.html, with any
 * character that is not safe in a file name as '_'. */
static void default_name(const struct report *r, char *buf, size_t cap)
{
	time_t t = (time_t)((r->kind == RPT_ALERT ? r->alert.raised.since_ms : r->from_ms) / 1000);
	struct tm tm;
	char when[32] = "";

	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y%m%d-%H%M", &tm);
	snprintf(buf, cap, "outfall-report-%s-%s.html", r->outlet, when);
	for (char *c = buf; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr(".-_", *c)))
			*c = '_';
}

/* FILE.html -> FILE.csv; any other name gets ".csv" appended. */
static int csv_name(const char *html, char *buf, size_t cap)
{
	size_t n = strlen(html);
	const char *dot = strrchr(html, '.');

	if (dot && (strcmp(dot, ".html") == 0 || strcmp(dot, ".htm") == 0))
		n = (size_t)(dot - html);
	return snprintf(buf, cap, "%.*s.csv", (int)n, html) >= (int)cap ? -1 : 0;
}

/* Writes through path.tmp and rename: 0, or EX_IOERR after saying why. */
static int write_file(const char *path, const struct report *r, const char *data,
		      size_t len)
{
	char tmp[CTL_PATH_MAX];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "outfallctl report: %s: name too long\n", path);
		return EX_IOERR;
	}
	f = fopen(tmp, "we");
	if (!f) {
		fprintf(stderr, "outfallctl report: cannot write %s: %s\n", tmp, strerror(errno));
		return EX_IOERR;
	}
	if (data)
		fwrite(data, 1, len, f);
	else
		report_html(r, f);
	ok = !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(stderr, "outfallctl report: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return EX_IOERR;
	}
	return 0;
}

static int write_outputs(struct report *r, const struct report_opts *o)
{
	char name[CTL_PATH_MAX], csvp[CTL_PATH_MAX], *csv = NULL;
	size_t len = 0;
	struct stat st;
	int rc = report_csv_digest(r, &csv, &len);

	if (rc < 0) {
		fprintf(stderr, "outfallctl report: %s computing the digest\n",
			rc == -ENOMEM ? "out of memory" : "libcrypto failed");
		return EX_SOFTWARE;
	}
	if (o->output)
		snprintf(name, sizeof(name), "%s", o->output);
	else
		default_name(r, name, sizeof(name));
	rc = write_file(name, r, NULL, 0);
	if (!rc && o->csv) {
		rc = csv_name(name, csvp, sizeof(csvp)) ? EX_IOERR : write_file(csvp, r, csv, len);
		if (!rc)
			printf("%s (%zu bytes, %zu readings)\n", csvp, len, r->n_readings);
	}
	if (!rc)
		printf("%s (%lld bytes) sha256 of the readings CSV %s\n", name,
		       stat(name, &st) == 0 ? (long long)st.st_size : -1LL, r->digest);
	if (!rc && !r->n_readings)
		fprintf(stderr, "outfallctl report: note: no readings in the history for this span\n");
	free(csv);
	return rc;
}

/* The span and the outlet: 0 or an exit code. */
static int span(const struct config *cfg, const struct report_opts *o, struct history *h,
		struct report *r, int *oi)
{
	int rc;

	if (o->alert) {
		r->kind = RPT_ALERT;
		rc = report_find_alert(h, o->alert, &r->alert);
		if (rc)
			return rc;
		alert_span(h, r);
	} else {
		r->kind = o->day ? RPT_DAY : RPT_RANGE;
		snprintf(r->outlet, sizeof(r->outlet), "%s", o->outlet);
		if (o->day ? parse_day(o->day, r) :
		    parse_time("--from", o->from, &r->from_ms) ||
		    parse_time("--to", o->to, &r->to_ms))
			return EX_USAGE;
		if (r->to_ms <= r->from_ms || r->to_ms - r->from_ms > RPT_MAX_SPAN_MS) {
			fprintf(stderr, "outfallctl report: --to must come after --from, by at most "
				"31 days\n");
			return EX_USAGE;
		}
	}
	*oi = config_find_outlet(cfg, r->outlet);
	if (*oi < 0 && !o->alert) {
		fprintf(stderr, "outfallctl report: no outlet \"%s\" in %s\n", r->outlet, cfg->path);
		return EX_USAGE;
	}
	return 0;
}

/* A running outfalld commits what its history has not yet written; with
 * none running the file is complete as it is. Said on stderr when asking
 * failed: the report then lacks at most the last commit_s. */
static void ask_commit(const struct config *cfg)
{
	struct control_req rq = { .cmd = CONTROL_HISTORY_COMMIT, .mode = -1 };
	char sock[CTL_PATH_MAX], req[CONTROL_MSG_MAX + 1], reply[CONTROL_MSG_MAX + 1];
	const char *msg = "";
	int n = control_format(&rq, req, sizeof(req)), rc, code;
	bool ok = false;

	rc = snprintf(sock, sizeof(sock), "%s/%s", cfg->data_dir, CONTROL_SOCKET);
	if (n < 0 || rc < 0 || (size_t)rc >= sizeof(sock))
		return;
	rc = control_call(sock, req, (size_t)n, reply, sizeof(reply), CONTROL_TIMEOUT_MS);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return; /* not running: nothing waits in it */
	if (rc == 0 && control_parse_reply(reply, &ok, &code, &msg) < 0)
		msg = "an answer that is not outfalld's";
	if (rc == 0 && ok)
		return;
	fprintf(stderr, "outfallctl report: note: outfalld did not bring its history up to date "
		"(%s); the report may lack the last %d s\n", rc < 0 ? strerror(-rc) : msg,
		cfg->history.commit_s);
}

static int build(const struct config *cfg, const struct report_opts *o, struct report *r)
{
	char dir[CTL_PATH_MAX], err[256];
	struct history *h = NULL;
	int oi = -1, rc;

	if (!o->history)
		ask_commit(cfg); /* --history names a copy, not the daemon's */
	if (o->history)
		snprintf(dir, sizeof(dir), "%s", o->history);
	else if (cfg->history.dir)
		snprintf(dir, sizeof(dir), "%s", cfg->history.dir);
	else
		snprintf(dir, sizeof(dir), "%s/history", cfg->data_dir);
	if (history_open(dir, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "outfallctl report: no history in %s: %s\n", dir, err);
		return EX_NOINPUT;
	}
	rc = span(cfg, o, h, r, &oi);
	if (!rc && from_config(cfg, oi, r) < 0)
		rc = EX_OSERR;
	if (!rc)
		rc = report_gather(h, r);
	history_close(h);
	if (!rc && report_bands(r) < 0)
		rc = EX_OSERR;
	if (rc == EX_OSERR)
		fprintf(stderr, "outfallctl report: out of memory\n");
	return rc;
}

int ctl_report(int argc, char **argv)
{
	struct report_opts o = { .config = CTL_DEFAULT_CONFIG, .lang = -1 };
	struct report r = { 0 };
	struct config *cfg = NULL;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	rc = config_load(o.config, &cfg, stderr);
	if (rc) {
		if (rc > 0)
			fprintf(stderr, "%s: %d error%s\n", o.config, rc, rc == 1 ? "" : "s");
		else
			fprintf(stderr, "outfallctl report: cannot load %s\n", o.config);
		return rc == -ENOMEM ? EX_SOFTWARE : EX_CONFIG;
	}
	setenv("TZ", cfg->timezone, 1); /* every time in the gateway's zone */
	tzset();
	r.lang = o.lang >= 0 ? (enum rpt_lang)o.lang : report_lang_default();
	snprintf(r.gateway, sizeof(r.gateway), "%s", cfg->id);
	snprintf(r.version, sizeof(r.version), "outfall %s", OUTFALL_VERSION);
	snprintf(r.tz, sizeof(r.tz), "%s", cfg->timezone);
	clock_state(cfg, &r);
	r.made_ms = clock_wall_ms();
	rc = build(cfg, &o, &r);
	if (!rc)
		rc = write_outputs(&r, &o);
	report_clear(&r);
	config_free(cfg);
	return rc;
}
