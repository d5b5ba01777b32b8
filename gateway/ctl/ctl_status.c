/*
 * ctl_status.c - `outfallctl status`: what the running daemon is doing,
 * from the status.json it writes in its run_dir (gateway/daemon/status.h): per
 * sensor the last values, their age and the error counts; per sink the
 * backlog and the age of its oldest record, its last error and when it
 * retries; the open alerts; which sensors are in maintenance or
 * calibration, and whether permit dates are judged (the clock). Says plainly
 * when the file is missing, corrupt, stale or left by a stopped daemon.
 */
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "base/clock.h"
#include "base/numfmt.h"
#include "base/param.h"
#include "daemon/daemon.h"

enum st_state { ST_RUNNING, ST_STALE, ST_STOPPED };

struct st_view {
	const char *file;
	struct status_snapshot s;
	int64_t now_ms;
	int64_t age_ms;       /* since the snapshot was written */
	bool pid_alive;
	enum st_state state;
};

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl status [-c FILE | --status FILE] [--json]\n"
		"What the running outfalld is doing, from the status.json it writes every few\n"
		"seconds in its run_dir: per sensor the last values, their age and the error\n"
		"counts; per sink the records not yet acknowledged and the age of the oldest,\n"
		"its last error and when it next retries; a sensor's maintenance or calibration;\n"
		"whether permit dates are judged (gateway.clock); the open alerts. A file older than %d s means the daemon is not running.\n"
		"\n"
		"  -c, --config FILE   find status.json in this config's run_dir\n"
		"                      (default " CTL_DEFAULT_CONFIG ")\n"
		"  --status FILE       read this status.json instead\n"
		"  --json              the snapshot as JSON, inside {\"file\", \"state\", \"age_ms\",\n"
		"                      \"pid_alive\", \"status\"}\n"
		"  -h, --help          this help\n"
		"\n"
		"exit codes: 0 the daemon is running, 64 usage, 65 status.json is corrupt,\n"
		"66 there is no status.json, 69 the daemon is not running (stale or stopped),\n"
		"78 config error\n", STATUS_STALE_MS / 1000);
}

/* The status file of the config at path: 0, or an exit code. */
static int file_from_config(const char *path, char *file, size_t cap)
{
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, stderr), n;

	if (rc == -ENOMEM) {
		fprintf(stderr, "outfallctl: out of memory loading %s\n", path);
		return EX_SOFTWARE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %d error%s\n", path, rc, rc == 1 ? "" : "s");
		return EX_CONFIG;
	}
	n = snprintf(file, cap, "%s/%s", cfg->run_dir, STATUS_FILE);
	setenv("TZ", cfg->timezone, 1); /* times as the gateway's local ones */
	tzset();
	config_free(cfg);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "outfallctl: %s: run_dir is too long\n", path);
		return EX_CONFIG;
	}
	return 0;
}

static void judge(struct st_view *v)
{
	v->now_ms = clock_wall_ms();
	v->age_ms = v->now_ms - v->s.now_wall_ms;
	v->pid_alive = v->s.pid > 0 && (kill((pid_t)v->s.pid, 0) == 0 || errno == EPERM);
	if (v->s.stopped)
		v->state = ST_STOPPED;
	else if (v->age_ms > STATUS_STALE_MS || !v->pid_alive)
		v->state = ST_STALE;
	else
		v->state = ST_RUNNING;
}

/* Whether permit dates are judged, and why (gateway.clock). */
static void print_clock(const struct status_snapshot *s)
{
	if (!s->has_clock)
		return;
	if (s->clock_rtc)
		printf("permit dates judged: clock=rtc, trusted%s\n",
		       s->clock_synced ? " (the kernel also reports NTP sync)" : "");
	else if (s->dates_judged)
		printf("permit dates judged: clock=ntp and the kernel reports NTP sync\n");
	else
		printf("permit dates NOT judged: clock=ntp and the kernel does not report NTP "
		       "sync; set gateway.clock = \"rtc\" if this board has a battery clock\n");
}

static void print_maint(const struct st_view *v, const struct status_sensor *ss)
{
	char since[64], until[64], left[48];

	if (!ss->maint)
		return;
	ctl_format_local(ss->maint_since_ms, since, sizeof(since));
	ctl_format_local(ss->maint_end_ms, until, sizeof(until));
	ctl_format_age(ss->maint_end_ms - v->s.now_wall_ms, left, sizeof(left));
	printf("    IN %s since %s, ends by itself at %s (in %s); readings flagged %s, no "
	       "alerts%s%s\n", ss->maint_mode == MM_CALIBRATION ? "CALIBRATION" : "MAINTENANCE",
	       since, until, left, ss->maint_mode == MM_CALIBRATION ? "C" : "M",
	       ss->maint_reason[0] ? "; reason: " : "", ss->maint_reason);
}

static void print_state(const struct st_view *v)
{
	const struct status_snapshot *s = &v->s;
	char age[48], up[48], when[64];

	ctl_format_age(v->age_ms, age, sizeof(age));
	ctl_format_age(s->now_wall_ms - s->started_wall_ms, up, sizeof(up));
	ctl_format_local(s->now_wall_ms, when, sizeof(when));
	printf("outfalld %s, gateway %s, pid %lld: ", s->version, s->gateway, (long long)s->pid);
	if (v->state == ST_RUNNING)
		printf("running for %s; status written %s ago\n", up, age);
	else if (v->state == ST_STOPPED)
		printf("NOT RUNNING: it stopped cleanly at %s (%s ago) after %s\n", when, age, up);
	else if (!v->pid_alive)
		printf("NOT RUNNING: the status was last written %s ago (%s) and pid %lld is "
		       "gone; the values below are that old\n", age, when, (long long)s->pid);
	else
		printf("STALE: pid %lld is there but has not written its status for %s (since "
		       "%s): stuck? the values below are that old\n", (long long)s->pid, age, when);
	if (v->age_ms < -STATUS_STALE_MS)
		printf("note: the status is from %s in the future: was the clock set back?\n",
		       age);
	printf("status file %s\n", v->file);
	print_clock(&v->s);
}

static void print_values(const struct status_sensor *ss)
{
	printf("   ");
	for (size_t i = 0; i < ss->n_values; i++) {
		const struct rec_value *val = &ss->values[i];

		printf("%s %s ", i ? "," : "", param_name(val->param));
		if (val->quality == Q_OK || val->quality == Q_OUT_OF_RANGE) {
			char num[NUMFMT_MAX];

			numfmt_value(num, val->v, val->flags);
			printf("%s %s", num, param_unit(val->param));
		} else
			printf("-");
		if (val->quality != Q_OK)
			printf(" (%s)", quality_name(val->quality));
	}
	printf("%s\n", ss->n_values ? "" : " no values yet");
}

static void print_sensor(const struct st_view *v, const struct status_sensor *ss)
{
	char a[48], b[48];
	int64_t now = v->s.now_wall_ms;

	printf("sensor %s (bus %s %s, slave %d): ", ss->name, ss->bus, ss->device, ss->slave);
	ctl_format_age(now - ss->last_ok_wall_ms, a, sizeof(a));
	ctl_format_age(now - ss->last_poll_wall_ms, b, sizeof(b));
	if (!ss->last_poll_wall_ms)
		printf("not polled yet");
	else if (!ss->last_ok_wall_ms)
		printf("NEVER ANSWERED (last poll %s ago)", b);
	else if (ss->last_ok_wall_ms < ss->last_poll_wall_ms)
		printf("last answer %s ago, NO ANSWER SINCE (last poll %s ago)", a, b);
	else
		printf("last answer %s ago", a);
	printf("; %llu polls, %llu failed, %llu timeouts, %llu crc errors, %llu exceptions\n",
	       (unsigned long long)ss->polls, (unsigned long long)ss->failures,
	       (unsigned long long)ss->timeouts, (unsigned long long)ss->crc_errors,
	       (unsigned long long)ss->exceptions);
	if (ss->late)
		printf("    %llu polls started later than the bus timeout (slaves not answering, "
		       "or the bus overbooked)\n", (unsigned long long)ss->late);
	print_values(ss);
	print_maint(v, ss);
}

/* "   last error 2 min ago (2026-12-02 18:45:12 CST): mqtt: cannot connect
 *    to ...", "   waiting: next retry in 14 s (...)", ages from now. */
static void print_sink_health(const struct st_view *v, const struct status_sink *sk)
{
	char age[48], when[64];

	if (sk->last_error[0]) {
		ctl_format_age(v->now_ms - sk->last_error_ms, age, sizeof(age));
		ctl_format_local(sk->last_error_ms, when, sizeof(when));
		printf("   last error %s ago (%s): %s\n", age, when, sk->last_error);
	}
	if (!sk->next_retry_ms)
		return;
	ctl_format_local(sk->next_retry_ms, when, sizeof(when));
	if (sk->next_retry_ms > v->now_ms) {
		ctl_format_age(sk->next_retry_ms - v->now_ms, age, sizeof(age));
		printf("   waiting: next retry in %s (%s)\n", age, when);
	} else {
		printf("   waiting: next retry was due at %s\n", when);
	}
}

static void print_sink(const struct st_view *v, const struct status_sink *sk)
{
	char oldest[48] = "-";

	if (sk->oldest_unacked_ms)
		ctl_format_age(v->s.now_wall_ms - sk->oldest_unacked_ms, oldest, sizeof(oldest));
	printf("sink %s: %llu not yet acknowledged, oldest unsent %s; %llu sent, %llu retried, "
	       "%llu errors, %llu quarantined, %llu dropped\n", sk->name,
	       (unsigned long long)sk->unacked, oldest, (unsigned long long)sk->sent,
	       (unsigned long long)sk->retried, (unsigned long long)sk->errors,
	       (unsigned long long)sk->quarantined, (unsigned long long)sk->dropped);
	print_sink_health(v, sk);
}

static void print_alert(const struct st_view *v, const struct rec_alert *a)
{
	char since[64], age[48], value[NUMFMT_MAX], peak[NUMFMT_MAX], limit[NUMFMT_MAX];

	ctl_format_local(a->since_ms, since, sizeof(since));
	ctl_format_age(v->now_ms - a->since_ms, age, sizeof(age));
	numfmt_value(value, a->value, a->value_flags);
	numfmt_value(peak, a->peak, a->value_flags);
	numfmt_f64(limit, a->limit);
	printf("  %s %s on outlet %s since %s (%s ago): value %s, peak %s",
	       alert_kind_name(a->kind), param_name(a->param), a->outlet[0] ? a->outlet : "-",
	       since, age, value, peak);
	if (isfinite(a->limit))
		printf(", limit %s %s", limit, param_unit(a->param));
	if (a->kind == AK_LIMIT_EXCEEDED || a->kind == AK_BELOW_MINIMUM)
		printf(", %s", config_basis_name((enum basis)a->basis));
	if (a->window_min)
		printf(" %d min", (int)a->window_min);
	printf("%s%s%s%s\n    id %s\n", a->permit[0] ? ", permit " : "", a->permit,
	       a->sensor[0] ? ", sensor " : "", a->sensor, a->id);
}

static void print_text(const struct st_view *v)
{
	print_state(v);
	printf("\n");
	for (size_t i = 0; i < v->s.n_sensors; i++)
		print_sensor(v, &v->s.sensors[i]);
	if (!v->s.n_sensors)
		printf("no sensors configured\n");
	for (size_t i = 0; i < v->s.n_sinks; i++)
		print_sink(v, &v->s.sinks[i]);
	if (!v->s.n_sinks)
		printf("no sinks configured: records stay in the outbox\n");
	printf("open alerts: ");
	if (!v->s.n_alerts)
		printf("none\n");
	else
		printf("%zu\n", v->s.n_alerts);
	for (size_t i = 0; i < v->s.n_alerts; i++)
		print_alert(v, &v->s.alerts[i]);
}

static int print_json(const struct st_view *v)
{
	static const char *const states[] = { "running", "stale", "stopped" };
	cJSON *root = cJSON_CreateObject(), *inner = NULL;
	char *text = NULL;
	bool ok = root != NULL;

	if (ok && status_to_json(&v->s, &text) == 0)
		inner = cJSON_Parse(text);
	free(text);
	text = NULL;
	ok = ok && inner && cJSON_AddStringToObject(root, "file", v->file) &&
	     cJSON_AddStringToObject(root, "state", states[v->state]) &&
	     cJSON_AddNumberToObject(root, "age_ms", (double)v->age_ms) &&
	     cJSON_AddBoolToObject(root, "pid_alive", v->pid_alive) &&
	     cJSON_AddItemToObject(root, "status", inner);
	if (!ok)
		cJSON_Delete(inner); /* not attached */
	if (ok)
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text) {
		fprintf(stderr, "outfallctl: out of memory\n");
		return EX_SOFTWARE;
	}
	printf("%s\n", text);
	cJSON_free(text);
	return 0;
}

static int show(const char *file, bool json)
{
	struct st_view v = { .file = file };
	int rc = status_read(file, &v.s);

	if (rc == -ENOENT) {
		fprintf(stderr, "outfallctl: no status at %s: outfalld is not running with this "
			"run_dir, or has not written its first status yet\n", file);
		return EX_NOINPUT;
	}
	if (rc == -EBADMSG) {
		fprintf(stderr, "outfallctl: %s is not a complete status snapshot (corrupt, or "
			"written by another version)\n", file);
		return EX_DATAERR;
	}
	if (rc < 0) {
		fprintf(stderr, "outfallctl: cannot read %s: %s\n", file, strerror(-rc));
		return rc == -EACCES ? EX_NOPERM : EX_IOERR;
	}
	judge(&v);
	rc = json ? print_json(&v) : (print_text(&v), 0);
	status_clear(&v.s);
	if (rc)
		return rc;
	return v.state == ST_RUNNING ? EX_OK : EX_UNAVAILABLE;
}

int ctl_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "status", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *file = NULL;
	char buf[CTL_PATH_MAX];
	bool json = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == 'c' || opt == 's') {
			*(opt == 'c' ? &config : &file) = optarg;
		} else if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			status_usage(stdout);
			return EX_OK;
		} else {
			status_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || (config && file)) {
		fprintf(stderr, "outfallctl status: %s\n", optind != argc ? "unexpected arguments"
			: "give -c or --status, not both");
		return EX_USAGE;
	}
	if (!file) {
		rc = file_from_config(config ? config : CTL_DEFAULT_CONFIG, buf, sizeof(buf));
		if (rc)
			return rc;
		file = buf;
	}
	return show(file, json);
}
