/*
 * lint.c - warnings about settings that are legal but probably a mistake,
 * each at the file:line of the setting, with what was probably meant:
 *
 *  - a permit limit more than 10x above or below the GB/T 31962 value of
 *    the permit's grade (its template's, else grade B): a COD max of 0.5
 *    was written in g/L, 500000 in ug/L;
 *  - a limit outside the instrument range of a channel that measures it at
 *    an outlet under that permit: such a limit can never be crossed, since
 *    a reading beyond the range is a sensor fault;
 *  - a register number that looks like a manual's 1-based 3xxxx (input) or
 *    4xxxx (holding) number, where the wire address is 0-based;
 *  - a permit that is expired or not yet valid today in gateway.timezone
 *    (config_opts.today, when given, stands for today; a clock that waits
 *    for NTP and has not had it is still asked, and the message says so).
 *
 * Warnings count as errors under config_opts.strict (get.c). The example
 * files' placeholders are errors, and their hints live here too. Unknown
 * setting names and permit numbers that match nothing get their
 * suggestions from suggest.c.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/param.h"

#define FAR_FACTOR 10.0 /* a limit this many times from its grade's value is suspect */

/* ---- placeholders ------------------------------------------------------- */

static const struct placeholder {
	const char *section; /* top-level setting: gateway, permits, outlets */
	const char *name;
	const char *hint;
} placeholders[] = {
	{ "gateway", "id", "write this gateway's own name, unique among your gateways (for "
	  "example the station code it is registered under, \"ls-ws-000123\"); it goes into "
	  "every MQTT topic, InfluxDB tag and alert id" },
	{ "permits", "number", "copy the permit number exactly as printed on the discharge "
	  "permit (排水许可证), for example \"浙丽排字第2023-0042号\"; outlets name their "
	  "permit by it" },
	{ "permits", "holder", "copy the holder's name exactly as printed on the discharge "
	  "permit (排水许可证)" },
	{ "outlets", "permit", "write the number of the permit this outlet discharges under, "
	  "exactly as printed on the discharge permit (排水许可证) and as written in the "
	  "permits file" },
	{ "outlets", "id", "write the outlet's id as printed on the discharge permit "
	  "(排放口编号)" },
};

const char *cfg_placeholder_hint(const config_setting_t *s)
{
	const config_setting_t *top = s, *p;
	const char *name = config_setting_name(s), *section;

	while ((p = config_setting_parent(top)) && config_setting_parent(p))
		top = p;
	section = config_setting_name(top);
	for (size_t i = 0; name && section && i < sizeof(placeholders) / sizeof(placeholders[0]);
	     i++)
		if (strcmp(placeholders[i].section, section) == 0 &&
		    strcmp(placeholders[i].name, name) == 0)
			return placeholders[i].hint;
	return "replace it with this site's value (the comment above it in the example "
	       "says what goes there)";
}

/* ---- helpers ------------------------------------------------------------ */

/* Element i of g's list member list, or NULL. */
static const config_setting_t *nth(const config_setting_t *g, const char *list, size_t i)
{
	const config_setting_t *l = g ? config_setting_get_member(g, list) : NULL;

	if (!l || !(config_setting_is_list(l) || config_setting_is_array(l)) ||
	    i >= (size_t)config_setting_length(l))
		return NULL;
	return config_setting_get_elem(l, (unsigned int)i);
}

/* The value v would be if it had been written in another unit or with the
 * decimal point elsewhere, nearest to want (and within FAR_FACTOR of it);
 * what that mistake is goes in buf. False when no such slip explains v. */
static bool guess(int param, double v, double want, char *buf, size_t n)
{
	static const struct slip {
		double factor;
		bool mg_per_l; /* a unit mix-up of mg/L parameters, else a decimal point slip */
		const char *text;
	} slips[] = {
		{ 1000, true, "written in g/L? %g g/L is %g mg/L" },
		{ 0.001, true, "written in ug/L? %g ug/L is %g mg/L" },
		{ 10, false, "a slipped decimal point: %g written for %g?" },
		{ 0.1, false, "a slipped decimal point: %g written for %g?" },
		{ 100, false, "a slipped decimal point: %g written for %g?" },
		{ 0.01, false, "a slipped decimal point: %g written for %g?" },
	};
	const struct slip *best = NULL;
	double best_d = log10(FAR_FACTOR);
	bool mg = strcmp(param_unit(param), "mg/L") == 0;

	if (!(v > 0) || !(want > 0))
		return false;
	for (size_t i = 0; i < sizeof(slips) / sizeof(slips[0]); i++) {
		double d = fabs(log10(v * slips[i].factor / want));

		if ((mg || !slips[i].mg_per_l) && d < best_d - 1e-9) {
			best = &slips[i];
			best_d = d;
		}
	}
	if (!best)
		return false;
	snprintf(buf, n, best->text, v, v * best->factor);
	return true;
}

/* ---- registers ---------------------------------------------------------- */

static void lint_register(struct cfg_ctx *c, const config_setting_t *g,
			  const struct cfg_channel *ch)
{
	bool input = ch->reg <= 39999;
	enum reg_table meant = input ? TABLE_INPUT : TABLE_HOLDING;
	const char *table = input ? "input" : "holding";
	int wire = ch->reg - (input ? 30001 : 40001);

	if (!((ch->reg >= 30001 && ch->reg <= 39999) || (ch->reg >= 40001 && ch->reg <= 49999)))
		return;
	cfg_warn(c, g, "register", "%d looks like a manual's 1-based register number (%cxxxx "
		 "= %s registers, counted from 1), but register is the 0-based wire address: "
		 "probably %s %d, i.e. register = %d;%s%s%s", ch->reg, input ? '3' : '4', table,
		 table, wire, wire, ch->table != meant ? " table = \"" : "",
		 ch->table != meant ? table : "", ch->table != meant ? "\";" : "");
}

static void lint_registers(struct cfg_ctx *c, const struct config *cfg,
			   const config_setting_t *root)
{
	for (size_t i = 0; i < cfg->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[i];
		const config_setting_t *g = nth(root, "sensors", i);

		for (size_t j = 0; g && s->driver == DRIVER_MODBUS && j < s->n_channels; j++) {
			const config_setting_t *e = nth(g, "channels", j);

			if (e)
				lint_register(c, e, &s->channels[j]);
		}
	}
}

/* ---- limits against the grade ------------------------------------------- */

/* The grade a permit's limits are compared with: its template's, else B. */
static int permit_grade(const struct cfg_permit *p, char *why, size_t n)
{
	size_t len = p->template_name ? strlen(p->template_name) : 0;
	int g = len ? p->template_name[len - 1] - 'A' : 1;

	if (g < 0 || g > 2)
		g = 1;
	snprintf(why, n, "%s", len ? "the permit's template" : "the permit names no template");
	return g;
}

static void lint_grade_value(struct cfg_ctx *c, const config_setting_t *at, const char *member,
			     const struct cfg_limit *l, double v, double want, int grade,
			     const char *why)
{
	const char *unit = param_unit(l->param);
	char hint[128];

	if (v <= want * FAR_FACTOR && v >= want / FAR_FACTOR)
		return;
	if (!guess(l->param, v, want, hint, sizeof(hint)))
		snprintf(hint, sizeof(hint), "check the unit (%s) and the decimal point", unit);
	cfg_warn(c, at, member, "%g %s is more than %gx %s GB/T 31962 grade %c's %g %s for "
		 "%s (grade %c: %s); %s", v, unit, FAR_FACTOR, v > want ? "above" : "below",
		 'A' + grade, want, unit, param_name(l->param), 'A' + grade, why, hint);
}

static void lint_grade(struct cfg_ctx *c, const struct cfg_permit *p, const config_setting_t *pg)
{
	char why[48];
	int grade = permit_grade(p, why, sizeof(why));

	for (size_t j = 0; j < p->n_limits; j++) {
		const struct cfg_limit *l = &p->limits[j];
		const config_setting_t *e = nth(pg, "limits", j);
		bool has_min;
		double min, max;

		if (l->from_template || l->param < 0 || !e ||
		    !cfg_gbt31962(l->param, grade, &has_min, &min, &max))
			continue;
		if (l->has_max)
			lint_grade_value(c, e, "max", l, l->max, max, grade, why);
		if (l->has_min && has_min)
			lint_grade_value(c, e, "min", l, l->min, min, grade, why);
	}
}

/* ---- limits against the instrument -------------------------------------- */

struct at_outlet {
	const struct config *cfg;
	const struct cfg_outlet *o;
	const struct cfg_sensor *s;
	const struct cfg_channel *ch;
};

static void lint_range_value(struct cfg_ctx *c, const config_setting_t *at, const char *member,
			     const struct cfg_limit *l, bool is_max, const struct at_outlet *w)
{
	const struct cfg_channel *ch = w->ch;
	const char *unit = param_unit(l->param), *effect;
	bool mg = strcmp(unit, "mg/L") == 0;
	double v = is_max ? l->max : l->min;
	char hint[160], what[64];

	if (v >= ch->range_min && v <= ch->range_max)
		return;
	if (is_max)
		effect = v > ch->range_max ? "a reading above the range is a sensor fault, so "
			"this maximum can never be exceeded" : "every good reading exceeds it";
	else
		effect = v < ch->range_min ? "a reading below the range is a sensor fault, so "
			"this minimum can never be undershot" : "every good reading is below it";
	/* a unit slip only when it explains a value far outside */
	if (mg && v < ch->range_min && v * 1000 >= ch->range_min && v * 1000 <= ch->range_max)
		snprintf(hint, sizeof(hint), "written in g/L? %g g/L is %g mg/L", v, v * 1000);
	else if (mg && v > ch->range_max * FAR_FACTOR && v / 1000 >= ch->range_min &&
		 v / 1000 <= ch->range_max)
		snprintf(hint, sizeof(hint), "written in ug/L? %g ug/L is %g mg/L", v, v / 1000);
	else
		snprintf(hint, sizeof(hint), "check the limit against the permit and the range "
			 "against the instrument's data sheet");
	snprintf(what, sizeof(what), "%s%s", l->from_template ? "the template's " : "",
		 is_max ? "max" : "min");
	cfg_warn(c, at, member ? member : is_max ? "max" : "min", "%s %g %s (%s) is outside "
		 "the instrument range %g..%g %s of %s's %s channel (%s:%d) at outlet %s: %s; %s",
		 what, v, unit, param_name(l->param), ch->range_min, ch->range_max, unit,
		 w->s->name, param_name(ch->param), w->cfg->path, ch->line, w->o->id, effect, hint);
}

/* Every channel with a range that measures l's parameter at an outlet
 * under permit pi. */
static void lint_range(struct cfg_ctx *c, const struct config *cfg, size_t pi,
		       const struct cfg_limit *l, const config_setting_t *at, const char *member)
{
	for (size_t oi = 0; oi < cfg->n_outlets; oi++) {
		const struct cfg_outlet *o = &cfg->outlets[oi];

		for (size_t k = 0; o->permit == (int)pi && o->id && k < o->n_sensors; k++) {
			const struct cfg_sensor *s;

			if (o->sensors[k] < 0 || (size_t)o->sensors[k] >= cfg->n_sensors)
				continue;
			s = &cfg->sensors[o->sensors[k]];
			for (size_t j = 0; s->name && j < s->n_channels; j++) {
				struct at_outlet w = { cfg, o, s, &s->channels[j] };

				if (!w.ch->has_range || w.ch->param != l->param)
					continue;
				if (l->has_max)
					lint_range_value(c, at, member, l, true, &w);
				if (l->has_min)
					lint_range_value(c, at, member, l, false, &w);
			}
		}
	}
}

static void lint_ranges(struct cfg_ctx *c, const struct config *cfg, size_t pi,
			const config_setting_t *pg)
{
	const struct cfg_permit *p = &cfg->permits[pi];

	for (size_t j = 0; j < p->n_limits; j++) {
		const struct cfg_limit *l = &p->limits[j];
		/* a template row is reported at the permit's template setting */
		const config_setting_t *e = l->from_template ? pg : nth(pg, "limits", j);

		if (l->param >= 0 && e)
			lint_range(c, cfg, pi, l, e, l->from_template ? "template" : NULL);
	}
}

/* ---- validity ----------------------------------------------------------- */

/* Today's date in time zone tz. The zone is switched for the one call and
 * switched back: loading happens before the daemon sets TZ itself, and on a
 * reload the running zone must stay. */
static bool local_today(const char *tz, struct cfg_date *d)
{
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	time_t now = time(NULL);
	struct tm tm;
	bool ok;

	if ((old && !saved) || setenv("TZ", tz, 1) < 0) {
		free(saved);
		return false;
	}
	tzset();
	ok = localtime_r(&now, &tm) != NULL;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
	if (ok)
		*d = (struct cfg_date){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
	return ok;
}

/* note: how far today can be trusted, for the message. */
static void lint_validity(struct cfg_ctx *c, const struct config *cfg, const struct cfg_permit *p,
			  const config_setting_t *pg, struct cfg_date t, const char *note)
{
	const struct cfg_date *f = &p->valid_from, *u = &p->valid_until;
	const char *tz = cfg->timezone ? cfg->timezone : "?";
	int64_t today = config_date_days(t);

	if (u->year > 0 && today > config_date_days(*u))
		cfg_warn(c, pg, "valid_until", "the permit has expired: valid_until "
			 "%04d-%02d-%02d was %lld days ago (today is %04d-%02d-%02d in %s%s); "
			 "flow under it raises no_valid_permit until the renewed permit is loaded",
			 u->year, u->month, u->day, (long long)(today - config_date_days(*u)),
			 t.year, t.month, t.day, tz, note);
	else if (f->year > 0 && today < config_date_days(*f))
		cfg_warn(c, pg, "valid_from", "the permit is not valid yet: valid_from "
			 "%04d-%02d-%02d is in %lld days (today is %04d-%02d-%02d in %s%s); flow "
			 "under it raises no_valid_permit until then", f->year, f->month, f->day,
			 (long long)(config_date_days(*f) - today), t.year, t.month, t.day, tz,
			 note);
}

/* ---- all of it ---------------------------------------------------------- */

void cfg_lint(struct cfg_ctx *c, const struct config *cfg, const config_setting_t *gw,
	      const config_setting_t *pm, const struct config_opts *opts)
{
	struct cfg_date today = opts->today;
	bool dated = opts->has_today || (cfg->timezone && local_today(cfg->timezone, &today));
	/* still judged: an expired permit must not pass -n on a box whose
	 * clock waits for NTP, but the message says what today rests on */
	const char *note = !opts->has_today && cfg->clock == CLOCK_SRC_NTP &&
		!clock_kernel_synced() ? ", by a system clock NTP has not confirmed" : "";

	lint_registers(c, cfg, gw);
	if (!cfg->permits_path)
		return;
	c->file = cfg->permits_path;
	for (size_t i = 0; i < cfg->n_permits; i++) {
		const config_setting_t *pg = nth(pm, "permits", i);

		if (!pg || !config_setting_is_group(pg))
			continue;
		lint_grade(c, &cfg->permits[i], pg);
		lint_ranges(c, cfg, i, pg);
		if (dated)
			lint_validity(c, cfg, &cfg->permits[i], pg, today, note);
	}
	c->file = cfg->path;
}
