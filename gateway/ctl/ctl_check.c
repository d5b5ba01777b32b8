/*
 * ctl_check.c - `outfallctl check`: loads the config as `outfalld -n` does,
 * reads every configured channel once through the daemon's own drivers
 * (drivers/driver.h) and judges each value against its range and the
 * permit limits that apply, for a commissioning report (printed by
 * ctl_check_text.c or ctl_check_json.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "ctl_check.h"
#include "base/clock.h"
#include "base/numfmt.h"
#include "base/param.h"

static void check_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl check [-c FILE] [--json]\n"
		"Checks the config and its permits file as `outfalld -n` does, then reads every\n"
		"configured channel once, through the daemon's own drivers, and reports per\n"
		"channel the value, unit, quality, range verdict and the permit limits that\n"
		"apply (instant limits judged on the spot, means left to the daemon), then a\n"
		"summary of the problems found: a commissioning report to leave on site.\n"
		"A reading that cannot be physical (pH outside 0..14, a negative or absurd\n"
		"concentration, a subnormal, NaN) is a sensor fault, never judged against the\n"
		"permit; for a Modbus sensor the report names the word order, if any, in which\n"
		"the same registers read plausibly on every channel.\n"
		"\n"
		"  -c, --config FILE   gateway config (default " CTL_DEFAULT_CONFIG ")\n"
		"  --json              the report as JSON\n"
		"  -h, --help          this help\n"
		"\n"
		"A bus that outfalld owns is not read: stop the service first.\n"
		"exit codes: 0 no problem found, 64 usage, 65 a value breaks an instant permit\n"
		"limit or a permit is not valid today, 69 a channel could not be read well (no\n"
		"answer, garbled, exception, out of range, implausible, bus in use), 70 out of\n"
		"memory, 78 config error (each error said with file:line)\n");
}

void chk_problem(struct chk_report *r, enum chk_kind kind, const char *fmt, ...)
{
	struct chk_problem *p;
	va_list ap;

	if (r->n_problems >= CHK_MAX_PROBLEMS) {
		r->lost_problems++;
		return;
	}
	p = &r->problems[r->n_problems++];
	p->kind = kind;
	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
}

/* ---- reading ------------------------------------------------------------ */

static bool port_failed(int rc)
{
	return rc < 0 && rc != -ETIMEDOUT && rc != -EBADMSG && rc != -EPROTO && rc != -EDOM;
}

/* Every sensor of bus b stays unread, for the reason in why. */
static void bus_unusable(struct chk_report *r, int b, int rc, const char *why)
{
	const struct config *cfg = r->cfg;

	for (size_t i = 0; i < cfg->n_sensors; i++)
		if (cfg->sensors[i].bus == b && !r->sensors[i].polled)
			r->sensors[i].rc = rc;
	chk_problem(r, CK_READ, "%s; the sensors on bus %s were not read", why,
		    cfg->buses[b].name);
}

/* The driver of bus b: its sensors' (config_load allows one per bus);
 * NULL when it has no sensors or this build lacks the driver. */
static const struct driver_ops *bus_driver(const struct config *cfg, int b)
{
	for (size_t i = 0; i < cfg->n_sensors; i++)
		if (cfg->sensors[i].bus == b)
			return driver_for(cfg->sensors[i].driver);
	return NULL;
}

/* Opens bus b: 0 and *port, or -errno with the problem noted. */
static int open_bus(struct chk_report *r, int b, const struct driver_ops *ops,
		    struct port **port)
{
	const struct cfg_bus *bus = &r->cfg->buses[b];
	char msg[CTL_PATH_MAX + 256];
	int rc = ctl_bus_probe(bus->device);

	if (rc == 0)
		rc = ops->open(bus, port);
	if (rc == 0)
		return 0;
	if (rc == -EBUSY) {
		ctl_bus_busy(bus->device, r->path, msg, sizeof(msg));
		fprintf(stderr, "outfallctl: %s\n", msg);
	} else {
		snprintf(msg, sizeof(msg), "cannot open %s: %s", bus->device, strerror(-rc));
	}
	bus_unusable(r, b, rc, msg);
	return rc;
}

/* Polls the sensors of bus b in config order, reopening the bus after a
 * port failure as the daemon does. */
static void read_bus(struct chk_report *r, int b)
{
	const struct config *cfg = r->cfg;
	const struct driver_ops *ops = bus_driver(cfg, b);
	struct port *port = NULL;

	for (size_t i = 0; i < cfg->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[i];
		struct chk_sensor *cs = &r->sensors[i];

		if (s->bus != b)
			continue;
		if (!ops) {
			cs->rc = -ENOSYS;
			continue;
		}
		if (!port && open_bus(r, b, ops, &port) < 0)
			return;
		cs->rc = ops->poll(port, s, false, &cs->poll, &cs->cnt);
		cs->polled = true;
		if (port_failed(cs->rc)) {
			ops->close(port);
			port = NULL;
		}
	}
	if (port)
		ops->close(port);
}

/* ---- judging ------------------------------------------------------------ */

enum chk_verdict chk_range_verdict(const struct cfg_channel *c, const struct rec_value *v)
{
	if (v->quality != Q_OK && v->quality != Q_OUT_OF_RANGE)
		return CV_NO_VALUE;
	if (!c->has_range)
		return CV_NOT_JUDGED;
	if (v->v < c->range_min)
		return CV_BELOW;
	return v->v > c->range_max ? CV_EXCEEDS : CV_OK;
}

enum chk_verdict chk_limit_verdict(const struct cfg_limit *l, const struct rec_value *v)
{
	if (l->basis != BASIS_INSTANT)
		return CV_NOT_JUDGED;
	if (v->quality != Q_OK || chk_plausibility(v) != PL_OK)
		return CV_NO_VALUE; /* an implausible reading is never judged */
	if (l->has_max && v->v > l->max)
		return CV_EXCEEDS;
	return l->has_min && v->v < l->min ? CV_BELOW : CV_OK;
}

const char *chk_verdict_name(enum chk_verdict v)
{
	static const char *const names[] = { "ok", "exceeds", "below", "not_judged", "no_value",
					     "in_doubt" };

	return v >= CV_OK && v <= CV_IN_DOUBT ? names[v] : "?";
}

static bool judged(enum chk_verdict v)
{
	return v == CV_OK || v == CV_EXCEEDS || v == CV_BELOW;
}

enum chk_verdict chk_sensor_limit_verdict(const struct chk_report *r,
					  const struct cfg_sensor *s,
					  const struct cfg_limit *l, const struct rec_value *v)
{
	enum chk_verdict vd = chk_limit_verdict(l, v);

	return judged(vd) && r->sensors[s - r->cfg->sensors].orders ? CV_IN_DOUBT : vd;
}

enum chk_verdict chk_signature_verdict(const struct chk_report *r, const struct cfg_sensor *s,
				       const struct cfg_signature *sig,
				       const struct rec_value *v)
{
	if (v->quality != Q_OK || chk_plausibility(v) != PL_OK)
		return CV_NO_VALUE;
	if (r->sensors[s - r->cfg->sensors].orders)
		return CV_IN_DOUBT;
	return v->v > sig->above ? CV_EXCEEDS : CV_OK;
}

const struct cfg_permit *chk_sensor_permit(const struct config *cfg,
					   const struct cfg_sensor *s)
{
	if (s->outlet < 0 || cfg->outlets[s->outlet].permit < 0)
		return NULL;
	return &cfg->permits[cfg->outlets[s->outlet].permit];
}

enum chk_permit_state chk_permit_state(const struct chk_report *r,
				       const struct cfg_permit *p, int64_t *days_left)
{
	int64_t from = config_date_days(p->valid_from), until = config_date_days(p->valid_until);

	*days_left = until - r->today;
	if (r->today < from)
		return CP_NOT_YET_VALID;
	if (r->today > until)
		return CP_EXPIRED;
	if (*days_left < r->cfg->alerting.expiry_warning_days)
		return CP_EXPIRING;
	return CP_VALID;
}

const char *chk_permit_name(enum chk_permit_state s)
{
	static const char *const names[] = { "valid", "expiring", "expired", "not_yet_valid" };

	return s >= CP_VALID && s <= CP_NOT_YET_VALID ? names[s] : "?";
}

const char *chk_result_name(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case -ETIMEDOUT: return "no_response";
	case -EBADMSG: return "garbled";
	case -EDOM: return "decimal_mark";
	case -EPROTO: return "exception";
	case -EBUSY: return "bus_in_use";
	case -ENOENT: return "no_device";
	case -EACCES: return "no_permission";
	case -ENOSYS: return "no_driver";
	default: return "port_error";
	}
}

const char *chk_result_text(int rc)
{
	switch (rc) {
	case 0: return "answered";
	case -ETIMEDOUT: return "no answer (check wiring, slave id, baud and parity)";
	case -EBADMSG: return "garbled answers only (check baud, parity and line noise)";
	case -EDOM: return "numbers with the other decimal mark (7,31 or 7.31): check the "
			   "sensor's decimal setting";
	case -EPROTO: return "exception reply: a register or function it does not serve";
	case -EBUSY: return "not read: its bus is in use by another process";
	case -ENOSYS: return "not read: this build has no driver for it";
	default: return strerror(-rc);
	}
}

const struct cfg_signature *chk_signature(const struct cfg_outlet *o, int param)
{
	if (o->kind != OUTLET_STORM)
		return NULL;
	for (size_t i = 0; i < o->n_signature; i++)
		if (o->signature[i].param == param)
			return &o->signature[i];
	return NULL;
}

static void judge_limits(struct chk_report *r, const struct cfg_sensor *s,
			 const struct rec_value *v)
{
	const struct cfg_permit *p = chk_sensor_permit(r->cfg, s);
	const char *name = param_name(v->param), *unit = param_unit(v->param);
	const struct cfg_signature *sig;
	char num[NUMFMT_MAX];

	numfmt_value(num, v->v, v->flags);
	for (size_t k = 0; p && k < p->n_limits; k++) {
		const struct cfg_limit *l = &p->limits[k];
		enum chk_verdict vd = l->param == v->param ? chk_sensor_limit_verdict(r, s, l, v)
					: CV_OK;

		if (vd == CV_EXCEEDS || vd == CV_BELOW)
			chk_problem(r, CK_LIMIT, "%s %s = %s %s is %s the instant limit %s %g %s of "
				    "permit %s", s->name, name, num, unit,
				    vd == CV_EXCEEDS ? "above" : "below",
				    vd == CV_EXCEEDS ? "max" : "min",
				    vd == CV_EXCEEDS ? l->max : l->min, unit, p->number);
	}
	sig = s->outlet >= 0 ? chk_signature(&r->cfg->outlets[s->outlet], v->param) : NULL;
	if (sig && chk_signature_verdict(r, s, sig, v) == CV_EXCEEDS)
		chk_problem(r, CK_LIMIT, "%s %s = %s %s is above the sewage signature %g %s of "
			    "storm outlet %s", s->name, name, num, unit, sig->above, unit,
			    r->cfg->outlets[s->outlet].id);
}

/* A reading that cannot be physical: a sensor fault, never a violation;
 * for registers, the command that shows them in every word order. */
static void judge_implausible(struct chk_report *r, const struct cfg_sensor *s,
			      const struct cfg_channel *ch, const struct rec_value *v,
			      enum plausibility why)
{
	const char *name = param_name(ch->param), *unit = param_unit(ch->param);
	bool regs = s->driver == DRIVER_MODBUS;
	char num[NUMFMT_MAX], cmd[CHK_PROBLEM_LEN];

	numfmt_value(num, v->v, v->flags);
	if (!regs) {
		chk_problem(r, CK_READ, "%s %s = %s %s cannot be physical (%s): %s a sensor "
			    "fault, not judged against the permit", s->name, name, num, unit,
			    plausibility_name(why), param_hint(ch->param, v->v, why, false));
		return;
	}
	chk_read_command(r, s, ch, cmd, sizeof(cmd));
	chk_problem(r, CK_READ, "%s %s = %s %s cannot be physical (%s): %s not judged against "
		    "the permit; run `outfallctl read --all-orders` to see its registers in "
		    "every word order: %s", s->name, name, num, unit, plausibility_name(why),
		    chk_hint(ch, v, why), cmd);
}

static void judge_channel(struct chk_report *r, const struct cfg_sensor *s, size_t c)
{
	const struct cfg_channel *ch = &s->channels[c];
	const struct rec_value *v = &r->sensors[s - r->cfg->sensors].poll.values[c];
	const char *name = param_name(ch->param), *unit = param_unit(ch->param);
	enum plausibility why = chk_plausibility(v);
	char num[NUMFMT_MAX];

	numfmt_value(num, v->v, v->flags);
	if (why != PL_OK)
		judge_implausible(r, s, ch, v, why);
	else if (v->quality == Q_OUT_OF_RANGE)
		chk_problem(r, CK_READ, "%s %s = %s %s is outside its range %g..%g: a sensor "
			    "fault (or wrong type, word order or scale), not a violation", s->name,
			    name, num, unit, ch->range_min, ch->range_max);
	else if (v->quality == Q_NO_RESPONSE && r->sensors[s - r->cfg->sensors].rc == -EPROTO)
		chk_problem(r, CK_READ, "%s %s: the slave refused %s register %d", s->name, name,
			    ch->table == TABLE_INPUT ? "input" : "holding", ch->reg);
	else if (v->quality == Q_OK)
		judge_limits(r, s, v);
}

static void judge_sensor(struct chk_report *r, size_t i)
{
	const struct cfg_sensor *s = &r->cfg->sensors[i];
	const struct chk_sensor *cs = &r->sensors[i];

	if (cs->rc == -ENOSYS)
		chk_problem(r, CK_READ, "sensor %s: %s", s->name, chk_result_text(cs->rc));
	if (!cs->polled)
		return;
	if (cs->rc != 0 && cs->rc != -EPROTO && s->driver == DRIVER_MODBUS)
		chk_problem(r, CK_READ, "sensor %s (slave %d on %s): %s", s->name, s->slave,
			    r->cfg->buses[s->bus].name, chk_result_text(cs->rc));
	else if (cs->rc != 0 && cs->rc != -EPROTO)
		chk_problem(r, CK_READ, "sensor %s (on %s): %s", s->name,
			    r->cfg->buses[s->bus].name, chk_result_text(cs->rc));
	/* before any channel: a sensor whose word order is in doubt has none
	 * of its readings judged, even those that happen to look plausible */
	r->sensors[i].orders = chk_sensor_orders(r, i);
	for (size_t c = 0; c < s->n_channels; c++)
		judge_channel(r, s, c);
	chk_suggest_orders(r, i);
	if (s->outlet < 0)
		chk_problem(r, CK_NOTE, "sensor %s belongs to no outlet: no permit applies to it",
			    s->name);
}

static void judge_permits(struct chk_report *r)
{
	for (size_t i = 0; i < r->cfg->n_permits; i++) {
		const struct cfg_permit *p = &r->cfg->permits[i];
		int64_t left;
		enum chk_permit_state st = chk_permit_state(r, p, &left);

		if (st == CP_EXPIRED || st == CP_NOT_YET_VALID)
			chk_problem(r, CK_LIMIT, "permit %s is %s today (valid %04d-%02d-%02d.."
				    "%04d-%02d-%02d): flow now raises no_valid_permit", p->number,
				    st == CP_EXPIRED ? "expired" : "not yet valid",
				    p->valid_from.year, p->valid_from.month, p->valid_from.day,
				    p->valid_until.year, p->valid_until.month, p->valid_until.day);
		else if (st == CP_EXPIRING)
			chk_problem(r, CK_NOTE, "permit %s expires in %lld days: ask the agency "
				    "for the renewal", p->number, (long long)left);
	}
}

/* ---- the verb ----------------------------------------------------------- */

static int64_t local_today(int64_t wall_ms)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return wall_ms / 86400000;
	return config_date_days((struct cfg_date){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday });
}

static int exit_code(const struct chk_report *r)
{
	bool read = false, limit = false;

	for (size_t i = 0; i < r->n_problems; i++) {
		read |= r->problems[i].kind == CK_READ;
		limit |= r->problems[i].kind == CK_LIMIT;
	}
	if (read || r->lost_problems)
		return EX_UNAVAILABLE;
	return limit ? EX_DATAERR : EX_OK;
}

int chk_read_all(struct chk_report *r)
{
	const struct config *cfg = r->cfg;

	/* dates in the report and permit validity are the gateway's local ones */
	setenv("TZ", cfg->timezone, 1);
	tzset();
	r->wall_ms = clock_wall_ms();
	r->today = local_today(r->wall_ms);
	r->sensors = calloc(cfg->n_sensors + 1, sizeof(*r->sensors));
	r->problems = calloc(CHK_MAX_PROBLEMS, sizeof(*r->problems));
	if (!r->sensors || !r->problems)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[i];
		struct rec_poll *p = &r->sensors[i].poll;

		/* until a poll says otherwise */
		for (size_t c = 0; c < s->n_channels && c < REC_MAX_VALUES; c++)
			p->values[p->n++] = (struct rec_value){
				.v = 0.0, .param = (uint8_t)s->channels[c].param,
				.quality = Q_NO_RESPONSE };
	}
	for (size_t b = 0; b < cfg->n_buses; b++)
		read_bus(r, (int)b);
	return 0;
}

static int run_check(struct chk_report *r, bool json)
{
	int rc;

	if (chk_read_all(r) < 0)
		return EX_SOFTWARE;
	judge_permits(r);
	for (size_t i = 0; i < r->cfg->n_sensors; i++)
		judge_sensor(r, i);
	if (!json) {
		chk_print_text(r, stdout);
	} else if (chk_print_json(r, stdout) < 0) {
		fprintf(stderr, "outfallctl: out of memory\n");
		return EX_SOFTWARE;
	}
	rc = exit_code(r);
	return fflush(stdout) == 0 ? rc : EX_IOERR;
}

int ctl_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct chk_report r = { .path = CTL_DEFAULT_CONFIG };
	struct config *cfg = NULL;
	bool json = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == 'c') {
			r.path = optarg;
		} else if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			check_usage(stdout);
			return EX_OK;
		} else {
			check_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl check: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	rc = config_load(r.path, &cfg, stderr);
	if (rc == -ENOMEM) {
		fprintf(stderr, "outfallctl: out of memory loading %s\n", r.path);
		return EX_SOFTWARE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %d error%s\n", r.path, rc, rc == 1 ? "" : "s");
		return EX_CONFIG;
	}
	r.cfg = cfg;
	rc = run_check(&r, json);
	free(r.sensors);
	free(r.problems);
	config_free(cfg);
	return rc;
}
