/*
 * permits.c - the side of the config that faces the drainage agency:
 * the permits file (each 排水许可证 with its validity, daily volume and
 * limits, and the GB/T 31962-2015 grade templates that fill in what a permit
 * leaves out) and the outlets that discharge under those permits, with
 * their storm-outlet settings. Parsing helpers come from get.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "base/record.h"

static const char *const permits_known[] = { "permits", NULL };
static const char *const permit_known[] = { "number", "holder", "category", "valid_from",
					    "valid_until", "daily_volume_max_m3", "template",
					    "limits", NULL };
static const char *const limit_known[] = { "parameter", "min", "max", "basis", "window_min",
					   "hysteresis_pct", "raise_after_s", "clear_after_s",
					   NULL };
static const char *const outlet_known[] = { "id", "kind", "permit", "sensors",
					    "flow_noise_m3h", "storm_signature",
					    "rain_hold_min", NULL };
static const char *const categories[] = { "industrial", "construction", "catering",
					  "medical", "other", NULL };
static const char *const templates[] = { "GB/T31962-A", "GB/T31962-B", "GB/T31962-C", NULL };
static const char *const bases[] = { "instant", "rolling", "hourly_mean", "daily_mean", NULL };
static const char *const kinds[] = { "sewage", "storm", NULL };

/* GB/T 31962-2015 Table 1 (domain/gbt31962.md) as instant limits for grades
 * A, B and C. pH is the one range; everything else is a maximum. */
static const struct gbt_row {
	int param;
	bool has_min;
	double min;
	double max[3];
} gbt31962[] = {
	{ P_TEMP, false, 0, { 40, 40, 40 } },
	{ P_PH, true, 6.5, { 9.5, 9.5, 9.5 } },
	{ P_SS, false, 0, { 400, 400, 250 } },
	{ P_BOD5, false, 0, { 350, 350, 150 } },
	{ P_COD, false, 0, { 500, 500, 300 } },
	{ P_NH3N, false, 0, { 45, 45, 25 } },
	{ P_TN, false, 0, { 70, 70, 45 } },
	{ P_TP, false, 0, { 8, 8, 5 } },
	{ P_OIL_ANIMAL, false, 0, { 100, 100, 100 } },
	{ P_OIL_PETROLEUM, false, 0, { 15, 15, 10 } },
	{ P_LAS, false, 0, { 20, 20, 10 } },
};

bool cfg_gbt31962(int param, int grade, bool *has_min, double *min, double *max)
{
	for (size_t i = 0; grade >= 0 && grade <= 2 && i < sizeof(gbt31962) / sizeof(gbt31962[0]);
	     i++) {
		if (gbt31962[i].param != param)
			continue;
		*has_min = gbt31962[i].has_min;
		*min = gbt31962[i].min;
		*max = gbt31962[i].max[grade];
		return true;
	}
	return false;
}

const char *config_basis_name(enum basis b)
{
	return b >= BASIS_INSTANT && b <= BASIS_DAILY_MEAN ? bases[b] : "?";
}

/* Counts from 1 March so the leap day ends a year: no month table needed,
 * and it holds for any year, before 1970 too (H. Hinnant's days_from_civil). */
int64_t config_date_days(struct cfg_date d)
{
	int64_t y = (int64_t)d.year - (d.month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * ((d.month + 9) % 12) + 2) / 5 + d.day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* ---- permits ------------------------------------------------------------ */

/* Exactly "YYYY-MM-DD" naming a day that exists: 2023-02-29 is a typo that
 * must not silently become 1 March. */
static bool parse_date(const char *s, struct cfg_date *d)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int v[3] = { 0, 0, 0 };
	bool leap;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++) {
		int k = i < 4 ? 0 : i < 7 ? 1 : 2;

		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		v[k] = v[k] * 10 + (s[i] - '0');
	}
	if (v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1)
		return false;
	leap = v[0] % 4 == 0 && (v[0] % 100 != 0 || v[0] % 400 == 0);
	if (v[2] > mdays[v[1] - 1] + (v[1] == 2 && leap))
		return false;
	*d = (struct cfg_date){ .year = v[0], .month = v[1], .day = v[2] };
	return true;
}

static bool parse_date_setting(struct cfg_ctx *c, const config_setting_t *g, const char *name,
			       struct cfg_date *d)
{
	char *s = NULL;
	bool ok = false;

	if (cfg_string(c, g, name, CFG_REQUIRED, &s) > 0) {
		ok = parse_date(s, d);
		if (!ok)
			cfg_error(c, g, name, "\"%s\" is not a calendar date (expected YYYY-MM-DD)",
				  CFG_SHOW(s));
	}
	free(s);
	return ok;
}

static void parse_limit_window(struct cfg_ctx *c, const config_setting_t *g, struct cfg_limit *l)
{
	int r = cfg_int(c, g, "window_min", CFG_OPTIONAL, 1, 1440, "min", &l->window_min);

	if (r == 0 && l->basis == BASIS_ROLLING)
		cfg_error(c, g, "window_min", "missing: a rolling limit needs its window, "
			  "1..1440 min");
	else if (r > 0 && l->basis != BASIS_ROLLING)
		cfg_error(c, g, "window_min", "only a rolling limit has a window (basis is "
			  "\"%s\")", bases[l->basis]);
}

static void parse_limit(struct cfg_ctx *c, const config_setting_t *g, struct cfg_limit *l)
{
	char *name = NULL;
	int basis = BASIS_INSTANT;

	cfg_check_known(c, g, limit_known);
	if (cfg_string(c, g, "parameter", CFG_REQUIRED, &name) > 0) {
		l->param = param_from_name(name);
		if (l->param < 0)
			cfg_error(c, g, "parameter", "unknown parameter \"%s\" (expected one "
				  "of %s)", CFG_SHOW(name), param_all_names());
	}
	free(name);
	l->has_min = cfg_float(c, g, "min", CFG_OPTIONAL, &l->min) > 0;
	l->has_max = cfg_float(c, g, "max", CFG_OPTIONAL, &l->max) > 0;
	if (!cfg_member(c, g, "min", CFG_OPTIONAL) && !cfg_member(c, g, "max", CFG_OPTIONAL))
		cfg_error(c, g, NULL, "a limit needs min, max or both");
	else if (l->has_min && l->has_max && !(l->min < l->max))
		cfg_error(c, g, "max", "max %g is not above min %g", l->max, l->min);
	if (cfg_enum(c, g, "basis", CFG_OPTIONAL, bases, "basis", &basis) >= 0) {
		l->basis = basis;
		parse_limit_window(c, g, l);
	}
	cfg_debounce(c, g, &l->hysteresis_pct, &l->raise_after_s, &l->clear_after_s);
}

/* Two limits on the same statistic pulling the same way would raise two
 * alerts for one exceedance, or hide which number the agency issued. */
static void check_limit_clash(struct cfg_ctx *c, const config_setting_t *g,
			      const struct cfg_permit *p, size_t i)
{
	const struct cfg_limit *l = &p->limits[i];

	for (size_t j = 0; l->param >= 0 && j < i; j++) {
		const struct cfg_limit *o = &p->limits[j];
		bool max = o->has_max && l->has_max;

		if (o->param != l->param || o->basis != l->basis ||
		    o->window_min != l->window_min || !(max || (o->has_min && l->has_min)))
			continue;
		cfg_error(c, g, NULL, "repeats limits[%zu]: %s already has a %s on basis %s", j,
			  param_name(l->param), max ? "max" : "min", bases[l->basis]);
	}
}

static void parse_limits(struct cfg_ctx *c, const struct config *cfg,
			 const config_setting_t *g, struct cfg_permit *p)
{
	const config_setting_t *l = cfg_group_list(c, g, "limits", CFG_OPTIONAL);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	p->limits = cfg_calloc(c, n, sizeof(*p->limits));
	if (!p->limits)
		return;
	p->n_limits = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_limit *lim = &p->limits[i];

		*lim = (struct cfg_limit){ .param = -1,
					   .hysteresis_pct = cfg->alerting.hysteresis_pct,
					   .raise_after_s = cfg->alerting.raise_after_s,
					   .clear_after_s = cfg->alerting.clear_after_s,
					   .line = (int)config_setting_source_line(e) };
		if (!cfg_is_group(c, e))
			continue;
		parse_limit(c, e, lim);
		check_limit_clash(c, e, p, i);
	}
}

static bool has_instant(const struct cfg_permit *p, size_t n, int param)
{
	for (size_t i = 0; i < n; i++)
		if (p->limits[i].param == param && p->limits[i].basis == BASIS_INSTANT)
			return true;
	return false;
}

/* The issued permit's own numbers always win: a grade's row is added only
 * for a parameter the permit gives no instant limit for. */
static void fill_template(struct cfg_ctx *c, const struct config *cfg, struct cfg_permit *p,
			  int grade)
{
	const size_t rows = sizeof(gbt31962) / sizeof(gbt31962[0]);
	size_t n = p->n_limits, add = 0;
	struct cfg_limit *l;

	for (size_t i = 0; i < rows; i++)
		add += !has_instant(p, n, gbt31962[i].param);
	if (!add)
		return;
	l = realloc(p->limits, (n + add) * sizeof(*l));
	if (!l) {
		c->nomem = true;
		return;
	}
	p->limits = l;
	for (size_t i = 0; i < rows; i++) {
		const struct gbt_row *r = &gbt31962[i];

		if (has_instant(p, n, r->param))
			continue;
		l[p->n_limits++] = (struct cfg_limit){
			.param = r->param, .has_min = r->has_min, .min = r->min,
			.has_max = true, .max = r->max[grade], .basis = BASIS_INSTANT,
			.hysteresis_pct = cfg->alerting.hysteresis_pct,
			.raise_after_s = cfg->alerting.raise_after_s,
			.clear_after_s = cfg->alerting.clear_after_s,
			.from_template = true, .line = p->line
		};
	}
}

static void parse_validity(struct cfg_ctx *c, const config_setting_t *g, struct cfg_permit *p)
{
	const struct cfg_date *f = &p->valid_from, *u = &p->valid_until;
	bool from_ok = parse_date_setting(c, g, "valid_from", &p->valid_from);
	bool until_ok = parse_date_setting(c, g, "valid_until", &p->valid_until);

	if (from_ok && until_ok && config_date_days(*u) < config_date_days(*f))
		cfg_error(c, g, "valid_until", "%04d-%02d-%02d is before valid_from "
			  "%04d-%02d-%02d", u->year, u->month, u->day, f->year, f->month, f->day);
}

static void parse_permit(struct cfg_ctx *c, const struct config *cfg, const config_setting_t *g,
			 struct cfg_permit *p)
{
	int v, grade = -1;

	cfg_check_known(c, g, permit_known);
	cfg_string(c, g, "number", CFG_REQUIRED, &p->number);
	cfg_check_fits(c, g, "number", p->number, REC_PERMIT);
	cfg_string(c, g, "holder", CFG_REQUIRED, &p->holder);
	cfg_check_fits(c, g, "holder", p->holder, REC_HOLDER);
	if (cfg_enum(c, g, "category", CFG_REQUIRED, categories, "category", &v) > 0)
		p->category = cfg_strdup(c, categories[v]);
	parse_validity(c, g, p);
	if (cfg_float(c, g, "daily_volume_max_m3", CFG_OPTIONAL, &p->daily_volume_max_m3) > 0) {
		p->has_daily_volume = p->daily_volume_max_m3 > 0;
		if (!p->has_daily_volume)
			cfg_error(c, g, "daily_volume_max_m3",
				  "%g out of range: must be above 0 m3",
				  p->daily_volume_max_m3);
	}
	if (cfg_enum(c, g, "template", CFG_OPTIONAL, templates, "template", &grade) > 0)
		p->template_name = cfg_strdup(c, templates[grade]);
	parse_limits(c, cfg, g, p);
	if (grade >= 0)
		fill_template(c, cfg, p, grade);
}

bool cfg_permits_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *l;
	size_t n;

	cfg_check_known(c, root, permits_known);
	l = cfg_group_list(c, root, "permits", CFG_REQUIRED);
	if (!l)
		return false;
	n = (size_t)config_setting_length(l);
	cfg->permits = cfg_calloc(c, n, sizeof(*cfg->permits));
	if (!cfg->permits)
		return !c->nomem;
	cfg->n_permits = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_permit *p = &cfg->permits[i];
		int j;

		p->line = (int)config_setting_source_line(g);
		if (!cfg_is_group(c, g))
			continue;
		parse_permit(c, cfg, g, p);
		j = CFG_FIND(cfg->permits, i, struct cfg_permit, number, p->number);
		if (j >= 0)
			cfg_error(c, g, "number", "\"%s\" is already permits[%d]",
				  CFG_SHOW(p->number), j);
	}
	return true;
}

void cfg_permits_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_permits; i++) {
		free(cfg->permits[i].number);
		free(cfg->permits[i].holder);
		free(cfg->permits[i].category);
		free(cfg->permits[i].template_name);
		free(cfg->permits[i].limits);
	}
	free(cfg->permits);
}

/* ---- outlets ------------------------------------------------------------ */

static void outlet_sensor(struct cfg_ctx *c, struct config *cfg, const config_setting_t *e,
			  int outlet, int *sensor)
{
	const char *name;
	int k;

	*sensor = -1;
	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		cfg_error(c, e, NULL, "expected a sensor name, found %s", cfg_type_text(e));
		return;
	}
	name = config_setting_get_string(e);
	k = CFG_FIND(cfg->sensors, cfg->n_sensors, struct cfg_sensor, name, name);
	if (k < 0) {
		cfg_error(c, e, NULL, "no sensor named \"%s\" in sensors", CFG_SHOW(name));
	} else if (cfg->sensors[k].outlet >= 0) {
		/* one reading must never count against two outlets' permits */
		cfg_error(c, e, NULL, "sensor \"%s\" already belongs to outlets[%d] (%s)",
			  CFG_SHOW(name), cfg->sensors[k].outlet,
			  CFG_SHOW(cfg->outlets[cfg->sensors[k].outlet].id));
	} else {
		cfg->sensors[k].outlet = outlet;
		*sensor = k;
	}
}

static void parse_outlet_sensors(struct cfg_ctx *c, struct config *cfg,
				 const config_setting_t *g, int outlet)
{
	const config_setting_t *l = cfg_member(c, g, "sensors", CFG_REQUIRED);
	struct cfg_outlet *o = &cfg->outlets[outlet];
	size_t n;

	if (!l)
		return;
	if (!config_setting_is_array(l) && !config_setting_is_list(l)) {
		cfg_error(c, l, NULL, "expected a list of sensor names like [\"probe1\"], "
			  "found %s", cfg_type_text(l));
		return;
	}
	n = (size_t)config_setting_length(l);
	if (n == 0)
		cfg_error(c, l, NULL, "an outlet needs at least one sensor");
	o->sensors = cfg_calloc(c, n, sizeof(*o->sensors));
	if (!o->sensors)
		return;
	o->n_sensors = n;
	for (size_t i = 0; i < n; i++)
		outlet_sensor(c, cfg, config_setting_get_elem(l, (unsigned int)i), outlet,
			      &o->sensors[i]);
}

/* What sewage looks like when it turns up in a storm pipe. */
static const struct cfg_signature default_signature[] = { { P_COD, 100.0 }, { P_NH3N, 5.0 } };

static void signature_member(struct cfg_ctx *c, const config_setting_t *m, struct cfg_outlet *o)
{
	const char *name = config_setting_name(m);
	int p = param_from_name(name);
	double v;

	if (p < 0 || p == P_FLOW || p == P_VOLUME_TOTAL) {
		cfg_error(c, m, NULL, "\"%s\" is not a pollutant parameter (expected one of %s, "
			  "other than flow and volume_total)", CFG_SHOW(name), param_all_names());
		return;
	}
	if (cfg_number(c, m, &v) < 0)
		return;
	if (!(v > 0)) {
		cfg_error(c, m, NULL, "%g out of range: must be above 0 %s", v, param_unit(p));
		return;
	}
	if (o->n_signature < CFG_SIGNATURE_MAX)
		o->signature[o->n_signature++] = (struct cfg_signature){ p, v };
}

/* storm_signature = { cod = 100.0; nh3n = 5.0; }: written, it replaces the
 * defaults entirely, so what the file says is exactly what is checked. */
static void parse_signature(struct cfg_ctx *c, const config_setting_t *g, struct cfg_outlet *o)
{
	const config_setting_t *sg = cfg_member(c, g, "storm_signature", CFG_OPTIONAL);

	if (o->kind == OUTLET_STORM) {
		memcpy(o->signature, default_signature, sizeof(default_signature));
		o->n_signature = sizeof(default_signature) / sizeof(default_signature[0]);
	}
	if (!sg)
		return;
	if (o->kind != OUTLET_STORM) {
		cfg_error(c, sg, NULL, "only a storm outlet has a sewage signature");
		return;
	}
	if (!cfg_is_group(c, sg))
		return;
	o->n_signature = 0;
	for (int i = 0; i < config_setting_length(sg); i++)
		signature_member(c, config_setting_get_elem(sg, (unsigned int)i), o);
}

static void parse_outlet_storm(struct cfg_ctx *c, const config_setting_t *g,
			       struct cfg_outlet *o)
{
	o->flow_noise_m3h = 0.1;
	o->rain_hold_min = 60;
	cfg_float_in(c, g, "flow_noise_m3h", 0, 1000, "m3/h", &o->flow_noise_m3h);
	parse_signature(c, g, o);
	if (cfg_int(c, g, "rain_hold_min", CFG_OPTIONAL, 0, 1440, "min", &o->rain_hold_min) > 0 &&
	    o->kind != OUTLET_STORM)
		cfg_error(c, g, "rain_hold_min", "only a storm outlet is excused by rain");
}

static void parse_outlet(struct cfg_ctx *c, struct config *cfg, const config_setting_t *g,
			 int idx, bool permits_read)
{
	struct cfg_outlet *o = &cfg->outlets[idx];
	char *permit = NULL;
	int kind = -1, r;

	cfg_check_known(c, g, outlet_known);
	if (cfg_string(c, g, "id", CFG_REQUIRED, &o->id) > 0)
		cfg_name_ok(c, g, "id", o->id, CFG_NAME_MAX);
	if (cfg_enum(c, g, "kind", CFG_REQUIRED, kinds, "outlet kind", &kind) > 0)
		o->kind = kind;
	r = cfg_string(c, g, "permit", CFG_OPTIONAL, &permit);
	if (r > 0) {
		o->permit = CFG_FIND(cfg->permits, cfg->n_permits, struct cfg_permit, number,
				     permit);
		/* a permits file that did not load has been reported already */
		if (o->permit < 0 && permits_read)
			cfg_permit_not_found(c, cfg, g, permit);
	} else if (r == 0 && kind == OUTLET_SEWAGE) {
		cfg_error(c, g, "permit", "missing: a sewage outlet needs the number of the "
			  "permit it discharges under");
	}
	free(permit);
	parse_outlet_sensors(c, cfg, g, idx);
	parse_outlet_storm(c, g, o);
}

void cfg_outlets_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root,
		       bool permits_read)
{
	const config_setting_t *l = cfg_group_list(c, root, "outlets", CFG_OPTIONAL);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	cfg->outlets = cfg_calloc(c, n, sizeof(*cfg->outlets));
	if (!cfg->outlets)
		return;
	cfg->n_outlets = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_outlet *o = &cfg->outlets[i];
		int j;

		o->permit = -1;
		o->line = (int)config_setting_source_line(g);
		if (!cfg_is_group(c, g))
			continue;
		parse_outlet(c, cfg, g, (int)i, permits_read);
		j = CFG_FIND(cfg->outlets, i, struct cfg_outlet, id, o->id);
		if (j >= 0)
			cfg_error(c, g, "id", "\"%s\" is already the id of outlets[%d]",
				  CFG_SHOW(o->id), j);
	}
}
