/*
 * ctl_check_text.c - the commissioning report as plain text, to print or
 * leave on site: a header (gateway, date, config), the permits, a line per
 * sensor and per channel (value, unit, quality, range and permit limits
 * with their verdicts), and a summary of the problems found.
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_check.h"
#include "base/numfmt.h"
#include "base/param.h"

/* A bounded line being built; what does not fit is cut, never overflows. */
struct line {
	char buf[1024];
	size_t len;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n
							      : sizeof(l->buf) - l->len - 1;
}

static void print_header(const struct chk_report *r, FILE *out)
{
	char when[64], host[256] = "?";

	ctl_format_local(r->wall_ms, when, sizeof(when));
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "?");
	fprintf(out, "outfall commissioning report\n"
		"  gateway  %s\n  date     %s (%s)\n  host     %s\n  config   %s\n"
		"  permits  %s\n  tool     outfallctl %s\n\n", r->cfg->id, when, r->cfg->timezone,
		host, r->path, r->cfg->permits_path, OUTFALL_VERSION);
}

static void print_permits(const struct chk_report *r, FILE *out)
{
	const struct config *cfg = r->cfg;

	for (size_t i = 0; i < cfg->n_permits; i++) {
		const struct cfg_permit *p = &cfg->permits[i];
		int64_t left;
		enum chk_permit_state st = chk_permit_state(r, p, &left);

		fprintf(out, "permit %s, holder %s (%s)\n  valid %04d-%02d-%02d..%04d-%02d-%02d: %s",
			p->number, p->holder, p->category, p->valid_from.year, p->valid_from.month,
			p->valid_from.day, p->valid_until.year, p->valid_until.month,
			p->valid_until.day, chk_permit_name(st));
		if (st == CP_VALID || st == CP_EXPIRING)
			fprintf(out, ", %lld days left", (long long)left);
		if (p->has_daily_volume)
			fprintf(out, "; daily volume at most %g m3", p->daily_volume_max_m3);
		fprintf(out, "\n");
	}
	for (size_t i = 0; i < cfg->n_outlets; i++) {
		const struct cfg_outlet *o = &cfg->outlets[i];

		fprintf(out, "outlet %s (%s), permit %s, sensors", o->id,
			o->kind == OUTLET_STORM ? "storm" : "sewage",
			o->permit >= 0 ? cfg->permits[o->permit].number : "none");
		for (size_t k = 0; k < o->n_sensors; k++)
			fprintf(out, "%s %s", k ? "," : "", cfg->sensors[o->sensors[k]].name);
		fprintf(out, "\n");
	}
	fprintf(out, "\n");
}

static const char *verdict_text(enum chk_verdict vd)
{
	switch (vd) {
	case CV_NOT_JUDGED:
		return "judged by the daemon over time";
	case CV_NO_VALUE:
		return "no value to judge";
	case CV_IN_DOUBT:
		return "not judged, word order in doubt";
	default:
		return chk_verdict_name(vd);
	}
}

static void add_limit(struct line *l, enum chk_verdict vd, const struct cfg_limit *lim)
{
	add(l, "%s", config_basis_name(lim->basis));
	if (lim->basis == BASIS_ROLLING)
		add(l, " %d min", lim->window_min);
	if (lim->has_min && lim->has_max)
		add(l, " %g..%g", lim->min, lim->max);
	else if (lim->has_max)
		add(l, " max %g", lim->max);
	else
		add(l, " min %g", lim->min);
	add(l, ": %s", verdict_text(vd));
}

/* The permit limits (and storm signature) that apply to one channel. */
static void limits_text(const struct chk_report *r, const struct cfg_sensor *s,
			const struct rec_value *v, struct line *l)
{
	const struct cfg_permit *p = chk_sensor_permit(r->cfg, s);
	const struct cfg_signature *sig;
	size_t start = l->len;

	for (size_t k = 0; p && k < p->n_limits; k++) {
		if (p->limits[k].param != v->param)
			continue;
		add(l, "%s", l->len > start ? "; " : "");
		add_limit(l, chk_sensor_limit_verdict(r, s, &p->limits[k], v), &p->limits[k]);
	}
	if (p && p->has_daily_volume && (v->param == P_FLOW || v->param == P_VOLUME_TOTAL))
		add(l, "%sdaily volume max %g m3: judged by the daemon over the day",
		    l->len > start ? "; " : "", p->daily_volume_max_m3);
	sig = s->outlet >= 0 ? chk_signature(&r->cfg->outlets[s->outlet], v->param) : NULL;
	if (sig)
		add(l, "%ssewage signature > %g: %s", l->len > start ? "; " : "", sig->above,
		    verdict_text(chk_signature_verdict(r, s, sig, v)));
	if (l->len == start)
		add(l, "%s", s->outlet < 0 ? "none (no outlet)" : p ? "none" : "none (no permit)");
}

static void print_channel(const struct chk_report *r, const struct cfg_sensor *s, size_t c,
			  FILE *out)
{
	const struct cfg_channel *ch = &s->channels[c];
	const struct rec_value *v = &r->sensors[s - r->cfg->sensors].poll.values[c];
	enum chk_verdict range = chk_range_verdict(ch, v);
	bool implausible = chk_plausibility(v) != PL_OK;
	struct line value = { 0 }, rng = { 0 }, lim = { 0 };
	char num[NUMFMT_MAX];

	numfmt_value(num, v->v, v->flags);
	if (v->quality == Q_OK || v->quality == Q_OUT_OF_RANGE || implausible)
		add(&value, "%s %s", num, param_unit(ch->param));
	else
		add(&value, "-");
	if (ch->has_range)
		add(&rng, "%g..%g: %s", ch->range_min, ch->range_max,
		    range == CV_NO_VALUE ? "-" : range == CV_OK ? "ok" : "OUT");
	else
		add(&rng, "none");
	limits_text(r, s, v, &lim);
	fprintf(out, "  %-13s %-18s %-13s range %-16s limits: %s", param_name(ch->param),
		value.buf, implausible ? "implausible" : quality_name(v->quality), rng.buf,
		lim.buf);
	if (s->driver == DRIVER_MODBUS)
		fprintf(out, "  [%s 0x%04X %s %s]", ch->table == TABLE_INPUT ? "input" : "holding",
			ch->reg, config_type_name(ch->type), config_order_name(ch->order));
	fprintf(out, "\n");
}

static void print_sensor(const struct chk_report *r, size_t i, FILE *out)
{
	const struct config *cfg = r->cfg;
	const struct cfg_sensor *s = &cfg->sensors[i];
	const struct cfg_bus *b = &cfg->buses[s->bus];
	const struct chk_sensor *cs = &r->sensors[i];
	const struct driver_ops *ops = driver_for(s->driver);

	fprintf(out, "sensor %s: bus %s (%s %d %d%c%d), %s", s->name, b->name, b->device,
		b->baud, b->data_bits, b->parity, b->stop_bits, ops ? ops->name : "?");
	if (s->driver == DRIVER_MODBUS)
		fprintf(out, " slave %d", s->slave);
	fprintf(out, ", outlet %s: %s", s->outlet >= 0 ? cfg->outlets[s->outlet].id : "none",
		chk_result_text(cs->rc));
	if (cs->polled)
		fprintf(out, " (requests %llu, timeouts %llu, crc errors %llu, exceptions %llu)",
			(unsigned long long)cs->cnt.requests, (unsigned long long)cs->cnt.timeouts,
			(unsigned long long)cs->cnt.crc_errors,
			(unsigned long long)cs->cnt.exceptions);
	fprintf(out, "\n");
	for (size_t c = 0; c < s->n_channels; c++)
		print_channel(r, s, c, out);
}

static void print_summary(const struct chk_report *r, FILE *out)
{
	size_t channels = 0, good = 0, problems = 0;

	for (size_t i = 0; i < r->cfg->n_sensors; i++) {
		channels += r->cfg->sensors[i].n_channels;
		for (size_t c = 0; r->sensors[i].polled && c < r->cfg->sensors[i].n_channels; c++)
			good += r->sensors[i].poll.values[c].quality == Q_OK &&
				chk_plausibility(&r->sensors[i].poll.values[c]) == PL_OK;
	}
	for (size_t i = 0; i < r->n_problems; i++)
		problems += r->problems[i].kind == CK_READ || r->problems[i].kind == CK_LIMIT;
	fprintf(out, "\nsummary: %zu channels on %zu sensors, %zu read with quality ok; ", channels,
		r->cfg->n_sensors, good);
	if (!problems && !r->lost_problems)
		fprintf(out, "no problems found\n");
	else
		fprintf(out, "%zu problem%s found\n", problems + r->lost_problems,
			problems + r->lost_problems == 1 ? "" : "s");
	for (size_t i = 0; i < r->n_problems; i++)
		fprintf(out, "  %s: %s\n", r->problems[i].kind == CK_NOTE ? "note"
			: r->problems[i].kind == CK_HINT ? "hint" : "problem", r->problems[i].text);
	if (r->lost_problems)
		fprintf(out, "  ... and %zu more problems\n", r->lost_problems);
}

void chk_print_text(const struct chk_report *r, FILE *out)
{
	print_header(r, out);
	print_permits(r, out);
	for (size_t i = 0; i < r->cfg->n_sensors; i++)
		print_sensor(r, i, out);
	print_summary(r, out);
}
