/*
 * config_permits.c - the side of the config that faces the drainage agency:
 * the permits file (each 排水许可证 with its validity, daily volume and
 * limits, and the GB/T 31962-2015 grade templates that fill in what a permit
 * leaves out), the outlets that discharge under those permits, the sinks
 * that carry readings and alerts away, and the -n summary an installer reads
 * before leaving the site. Parsing helpers come from config.c.
 */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "param.h"
#include "record.h"

static const char *const permits_known[] = { "permits", NULL };
static const char *const permit_known[] = { "number", "holder", "category", "valid_from",
					    "valid_until", "daily_volume_max_m3", "template",
					    "limits", NULL };
static const char *const limit_known[] = { "parameter", "min", "max", "basis", "window_min",
					   "hysteresis_pct", "raise_after_s", "clear_after_s",
					   NULL };
static const char *const outlet_known[] = { "id", "kind", "permit", "sensors", NULL };
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
				  s);
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
				  "of %s)", name, param_all_names());
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

/* Alerts and sinks copy these into fixed-size fields; better refuse here
 * than truncate a legal document's number in every alert. */
static void check_fits(struct cfg_ctx *c, const config_setting_t *g, const char *name,
		       const char *s, size_t cap)
{
	if (s && strlen(s) >= cap)
		cfg_error(c, g, name, "is %zu bytes, more than the %zu this version carries",
			  strlen(s), cap - 1);
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
	check_fits(c, g, "number", p->number, REC_PERMIT);
	cfg_string(c, g, "holder", CFG_REQUIRED, &p->holder);
	check_fits(c, g, "holder", p->holder, REC_HOLDER);
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
			cfg_error(c, g, "number", "\"%s\" is already permits[%d]", p->number, j);
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
		cfg_error(c, e, NULL, "no sensor named \"%s\" in sensors", name);
	} else if (cfg->sensors[k].outlet >= 0) {
		/* one reading must never count against two outlets' permits */
		cfg_error(c, e, NULL, "sensor \"%s\" already belongs to outlets[%d] (%s)", name,
			  cfg->sensors[k].outlet, cfg->outlets[cfg->sensors[k].outlet].id);
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
			cfg_error(c, g, "permit", "no permit numbered \"%s\" in %s", permit,
				  cfg->permits_path);
	} else if (r == 0 && kind == OUTLET_SEWAGE) {
		cfg_error(c, g, "permit", "missing: a sewage outlet needs the number of the "
			  "permit it discharges under");
	}
	free(permit);
	parse_outlet_sensors(c, cfg, g, idx);
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
			cfg_error(c, g, "id", "\"%s\" is already the id of outlets[%d]", o->id, j);
	}
}

/* ---- sinks -------------------------------------------------------------- */

static const char *const sinks_known[] = { "mqtt", "influx", "hj212", NULL };
static const char *const mqtt_known[] = { "uri", "qos", "client_id", "username",
					  "password_file", "keepalive_s", "topic_root", "tls",
					  NULL };
static const char *const tls_known[] = { "ca_file", "cert_file", "key_file", "verify", NULL };
static const char *const influx_known[] = { "url", "api", "db", "org", "bucket", "token_file",
					    "username", "password_file", "batch_max",
					    "flush_ms", "timeout_ms", "gzip", NULL };
static const char *const mqtt_schemes[] = { "tcp://", "ssl://", "mqtt://", "mqtts://", NULL };
static const char *const http_schemes[] = { "http://", "https://", NULL };
static const char *const apis[] = { "v1", "v2", NULL };

#define MQTT_TEXT_MAX 256  /* uri, client_id: bytes incl. NUL the MQTT sink holds */
#define TOPIC_ROOT_MAX 129 /* leaves room for "/aggregate/<outlet>/minute" */

/* What is wrong with "scheme://host[:port][/path]", or NULL when nothing is. */
static const char *url_problem(const char *u, const char *const schemes[], bool path_ok)
{
	const char *p = NULL, *host;
	long port = 0;

	for (size_t i = 0; schemes[i] && !p; i++)
		if (strncmp(u, schemes[i], strlen(schemes[i])) == 0)
			p = u + strlen(schemes[i]);
	if (!p)
		return "unsupported scheme";
	if (strpbrk(u, " \t\r\n"))
		return "whitespace in it";
	host = p;
	p = *p == '[' ? strchr(p, ']') : p + strcspn(p, ":/");
	if (!p)
		return "no closing ] after an IPv6 host";
	p += *host == '[';
	if (p == host || (*host == '[' && p == host + 2))
		return "no host";
	if (*p == ':') {
		while (*++p >= '0' && *p <= '9' && port <= 65535)
			port = port * 10 + (*p - '0');
		if (port < 1 || port > 65535)
			return "port out of range 1..65535";
	}
	if (*p && (!path_ok || *p != '/'))
		return path_ok ? "junk after the host" : "a path, which a broker URI has not";
	return NULL;
}

static void parse_tls(struct cfg_ctx *c, struct cfg_mqtt *m, const config_setting_t *g)
{
	const config_setting_t *t = cfg_member(c, g, "tls", CFG_OPTIONAL);

	if (!t || !cfg_is_group(c, t))
		return;
	m->tls = true;
	cfg_check_known(c, t, tls_known);
	cfg_string(c, t, "ca_file", CFG_OPTIONAL, &m->tls_ca_file);
	cfg_string(c, t, "cert_file", CFG_OPTIONAL, &m->tls_cert_file);
	cfg_string(c, t, "key_file", CFG_OPTIONAL, &m->tls_key_file);
	cfg_bool(c, t, "verify", &m->tls_verify);
	if (!m->tls_cert_file != !m->tls_key_file)
		cfg_error(c, t, m->tls_cert_file ? "key_file" : "cert_file",
			  "missing: a client certificate needs both cert_file and key_file");
	if (m->uri && strncmp(m->uri, "ssl://", 6) != 0 && strncmp(m->uri, "mqtts://", 8) != 0)
		cfg_error(c, t, NULL, "TLS settings need an ssl:// or mqtts:// uri, not %s",
			  m->uri);
}

static void mqtt_defaults(struct cfg_ctx *c, const struct config *cfg, struct cfg_mqtt *m)
{
	if (!cfg->id)
		return;
	if (!m->client_id && asprintf(&m->client_id, "outfall-%s", cfg->id) < 0) {
		m->client_id = NULL;
		c->nomem = true;
	}
	if (!m->topic_root && asprintf(&m->topic_root, "outfall/%s", cfg->id) < 0) {
		m->topic_root = NULL;
		c->nomem = true;
	}
}

static void parse_mqtt(struct cfg_ctx *c, struct config *cfg, const config_setting_t *g)
{
	struct cfg_mqtt *m = &cfg->mqtt;
	const char *why;
	size_t n;

	m->enabled = true;
	m->qos = 1;
	m->keepalive_s = 30;
	cfg_check_known(c, g, mqtt_known);
	if (cfg_string(c, g, "uri", CFG_REQUIRED, &m->uri) > 0 &&
	    (why = url_problem(m->uri, mqtt_schemes, false)))
		cfg_error(c, g, "uri", "\"%s\": %s (expected tcp://, ssl://, mqtt:// or mqtts:// "
			  "and a host, e.g. tcp://127.0.0.1:1883)", m->uri, why);
	cfg_int(c, g, "qos", CFG_OPTIONAL, 0, 2, "", &m->qos);
	cfg_int(c, g, "keepalive_s", CFG_OPTIONAL, 5, 3600, "s", &m->keepalive_s);
	check_fits(c, g, "uri", m->uri, MQTT_TEXT_MAX);
	cfg_string(c, g, "client_id", CFG_OPTIONAL, &m->client_id);
	check_fits(c, g, "client_id", m->client_id, MQTT_TEXT_MAX);
	cfg_string(c, g, "username", CFG_OPTIONAL, &m->username);
	if (cfg_string(c, g, "password_file", CFG_OPTIONAL, &m->password_file) > 0 &&
	    !cfg_member(c, g, "username", CFG_OPTIONAL))
		cfg_error(c, g, "username", "missing: password_file needs a username");
	if (cfg_string(c, g, "topic_root", CFG_OPTIONAL, &m->topic_root) > 0) {
		n = strlen(m->topic_root);
		if (strpbrk(m->topic_root, "+#") || m->topic_root[0] == '/' ||
		    m->topic_root[n - 1] == '/')
			cfg_error(c, g, "topic_root", "\"%s\" must not contain + or # nor start "
				  "or end with /", m->topic_root);
		check_fits(c, g, "topic_root", m->topic_root, TOPIC_ROOT_MAX);
	}
	parse_tls(c, m, g);
	mqtt_defaults(c, cfg, m);
}

static void parse_influx(struct cfg_ctx *c, const config_setting_t *g, struct cfg_influx *x)
{
	const char *why;
	int api = 0, r;

	x->enabled = true;
	x->batch_max = 5000;
	x->flush_ms = 1000;
	x->timeout_ms = 10000;
	cfg_check_known(c, g, influx_known);
	if (cfg_string(c, g, "url", CFG_REQUIRED, &x->url) > 0 &&
	    (why = url_problem(x->url, http_schemes, true)))
		cfg_error(c, g, "url", "\"%s\": %s (expected http:// or https:// and a host, "
			  "e.g. http://127.0.0.1:8086)", x->url, why);
	r = cfg_enum(c, g, "api", CFG_OPTIONAL, apis, "InfluxDB API", &api);
	x->api = api + 1;
	cfg_string(c, g, "db", CFG_OPTIONAL, &x->db);
	cfg_string(c, g, "org", CFG_OPTIONAL, &x->org);
	cfg_string(c, g, "bucket", CFG_OPTIONAL, &x->bucket);
	cfg_string(c, g, "token_file", CFG_OPTIONAL, &x->token_file);
	cfg_string(c, g, "username", CFG_OPTIONAL, &x->username);
	cfg_string(c, g, "password_file", CFG_OPTIONAL, &x->password_file);
	cfg_int(c, g, "batch_max", CFG_OPTIONAL, 1, 100000, "points", &x->batch_max);
	cfg_int(c, g, "flush_ms", CFG_OPTIONAL, 10, 60000, "ms", &x->flush_ms);
	cfg_int(c, g, "timeout_ms", CFG_OPTIONAL, 100, 300000, "ms", &x->timeout_ms);
	cfg_bool(c, g, "gzip", &x->gzip);
	if (r < 0)
		return; /* which settings are needed depends on the api */
	if (x->api == 1 && !cfg_member(c, g, "db", CFG_OPTIONAL))
		cfg_error(c, g, "db", "missing: api \"v1\" writes to the database named here");
	if (x->api == 1 && !x->username != !x->password_file)
		cfg_error(c, g, x->username ? "password_file" : "username",
			  "missing: username and password_file go together");
	for (size_t i = 0; x->api == 2 && i < 3; i++) {
		const char *need = (const char *[]){ "org", "bucket", "token_file" }[i];

		if (!cfg_member(c, g, need, CFG_OPTIONAL))
			cfg_error(c, g, need, "missing: api \"v2\" needs org, bucket and "
				  "token_file");
	}
}

void cfg_sinks_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *g = cfg_member(c, root, "sinks", CFG_OPTIONAL), *s;

	if (g && !cfg_is_group(c, g))
		return;
	if (g) {
		cfg_check_known(c, g, sinks_known);
		s = cfg_member(c, g, "mqtt", CFG_OPTIONAL);
		if (s && cfg_is_group(c, s))
			parse_mqtt(c, cfg, s);
		s = cfg_member(c, g, "influx", CFG_OPTIONAL);
		if (s && cfg_is_group(c, s))
			parse_influx(c, s, &cfg->influx);
		s = cfg_member(c, g, "hj212", CFG_OPTIONAL);
		if (s)
			cfg_warn(c, s, NULL, "not supported by this version, ignored");
	}
	if (!cfg->mqtt.enabled && !cfg->influx.enabled)
		cfg_warn(c, g ? g : root, g ? NULL : "sinks",
			 "no sinks configured: no data will leave this gateway");
}


void cfg_sinks_free(struct config *cfg)
{
	free(cfg->mqtt.uri);
	free(cfg->mqtt.client_id);
	free(cfg->mqtt.username);
	free(cfg->mqtt.password_file);
	free(cfg->mqtt.topic_root);
	free(cfg->mqtt.tls_ca_file);
	free(cfg->mqtt.tls_cert_file);
	free(cfg->mqtt.tls_key_file);
	free(cfg->influx.url);
	free(cfg->influx.db);
	free(cfg->influx.org);
	free(cfg->influx.bucket);
	free(cfg->influx.token_file);
	free(cfg->influx.username);
	free(cfg->influx.password_file);
}

/* ---- the -n summary ----------------------------------------------------- */

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_sensor(const struct config *cfg, const struct cfg_sensor *s, FILE *out)
{
	fprintf(out, "sensor %s: bus %s, modbus slave %d, every %d s, outlet %s\n", s->name,
		cfg->buses[s->bus].name, s->slave, s->interval_s,
		s->outlet >= 0 ? cfg->outlets[s->outlet].id : "(none)");
	for (size_t i = 0; i < s->n_channels; i++) {
		const struct cfg_channel *ch = &s->channels[i];

		fprintf(out, "  %-13s %-7s 0x%04X (%5d) %-7s %s, scale %g", param_name(ch->param),
			ch->table == TABLE_INPUT ? "input" : "holding", (unsigned int)ch->reg,
			ch->reg, config_type_name(ch->type), config_order_name(ch->order),
			ch->scale);
		if (ch->offset != 0)
			fprintf(out, ", offset %g", ch->offset);
		if (ch->has_range)
			fprintf(out, ", range %g..%g %s", ch->range_min, ch->range_max,
				param_unit(ch->param));
		fputc('\n', out);
	}
}

static void print_acquisition(const struct config *cfg, FILE *out)
{
	fprintf(out, "gateway %s\n  data_dir %s\n  timezone %s\n  permits  %s\n"
		"  queue    %d records\n  alerting hysteresis %g %%, raise after %d s, "
		"clear after %d s\n", cfg->id, cfg->data_dir, cfg->timezone, cfg->permits_path,
		cfg->queue_max, cfg->alerting.hysteresis_pct, cfg->alerting.raise_after_s,
		cfg->alerting.clear_after_s);
	for (size_t i = 0; i < cfg->n_buses; i++) {
		const struct cfg_bus *b = &cfg->buses[i];

		fprintf(out, "bus %s: %s %d %d%c%d, timeout %d ms, %d %s\n", b->name, b->device,
			b->baud, b->data_bits, b->parity, b->stop_bits, b->timeout_ms,
			b->retries, plural((size_t)b->retries, "retry", "retries"));
	}
	for (size_t i = 0; i < cfg->n_sensors; i++)
		print_sensor(cfg, &cfg->sensors[i], out);
	for (size_t i = 0; i < cfg->n_outlets; i++) {
		const struct cfg_outlet *o = &cfg->outlets[i];

		fprintf(out, "outlet %s: %s, permit %s, sensors", o->id, kinds[o->kind],
			o->permit >= 0 ? cfg->permits[o->permit].number : "(none)");
		for (size_t j = 0; j < o->n_sensors; j++)
			fprintf(out, "%s %s", j ? "," : "", cfg->sensors[o->sensors[j]].name);
		fputc('\n', out);
	}
}

static void print_limit(const struct config *cfg, const struct cfg_limit *l, FILE *out)
{
	const char *unit = param_unit(l->param);

	fprintf(out, "  limit %-13s ", param_name(l->param));
	if (l->has_min && l->has_max)
		fprintf(out, "%g..%g %s", l->min, l->max, unit);
	else if (l->has_max)
		fprintf(out, "max %g %s", l->max, unit);
	else
		fprintf(out, "min %g %s", l->min, unit);
	fprintf(out, ", %s", bases[l->basis]);
	if (l->basis == BASIS_ROLLING)
		fprintf(out, " %d min", l->window_min);
	if (l->hysteresis_pct != cfg->alerting.hysteresis_pct ||
	    l->raise_after_s != cfg->alerting.raise_after_s ||
	    l->clear_after_s != cfg->alerting.clear_after_s)
		fprintf(out, ", hysteresis %g %%, raise after %d s, clear after %d s",
			l->hysteresis_pct, l->raise_after_s, l->clear_after_s);
	fprintf(out, "%s\n", l->from_template ? " (from template)" : "");
}

/* Shown against the host's local date: near midnight the summary may be a
 * day off from gateway.timezone, which the compliance engine uses. */
static int64_t today_days(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm))
		return (int64_t)now / 86400;
	return config_date_days((struct cfg_date){ tm.tm_year + 1900, tm.tm_mon + 1,
						   tm.tm_mday });
}

static void print_permit(const struct config *cfg, const struct cfg_permit *p, int64_t today,
			 FILE *out)
{
	int64_t from = config_date_days(p->valid_from), until = config_date_days(p->valid_until);
	const struct cfg_date *f = &p->valid_from, *u = &p->valid_until;

	fprintf(out, "permit %s\n  holder %s (%s)\n  valid  %04d-%02d-%02d..%04d-%02d-%02d: ",
		p->number, p->holder, p->category, f->year, f->month, f->day, u->year,
		u->month, u->day);
	if (today < from)
		fprintf(out, "NOT YET VALID, starts in %lld days\n", (long long)(from - today));
	else if (today > until)
		fprintf(out, "EXPIRED %lld days ago\n", (long long)(today - until));
	else
		fprintf(out, "valid today, %lld days left\n", (long long)(until - today));
	if (p->has_daily_volume)
		fprintf(out, "  volume at most %g m3/day\n", p->daily_volume_max_m3);
	if (p->template_name)
		fprintf(out, "  template %s (the permit's own limits win)\n", p->template_name);
	for (size_t i = 0; i < p->n_limits; i++)
		print_limit(cfg, &p->limits[i], out);
}

static void print_sinks(const struct config *cfg, FILE *out)
{
	const struct cfg_mqtt *m = &cfg->mqtt;
	const struct cfg_influx *x = &cfg->influx;

	if (m->enabled)
		fprintf(out, "sink mqtt: %s, qos %d, client %s, topics %s/..., keepalive %d s%s\n",
			m->uri, m->qos, m->client_id, m->topic_root, m->keepalive_s,
			m->tls ? (m->tls_verify ? ", tls" : ", tls WITHOUT verification") : "");
	if (x->enabled)
		fprintf(out, "sink influx: %s, api v%d, %s %s, batch %d points, flush %d ms, "
			"timeout %d ms, gzip %s\n", x->url, x->api, x->api == 1 ? "db" : "bucket",
			x->api == 1 ? x->db : x->bucket, x->batch_max, x->flush_ms, x->timeout_ms,
			x->gzip ? "on" : "off");
	if (!m->enabled && !x->enabled)
		fprintf(out, "no sinks\n");
}

void config_print_summary(const struct config *cfg, FILE *out)
{
	int64_t today = today_days();
	size_t channels = 0;

	print_acquisition(cfg, out);
	for (size_t i = 0; i < cfg->n_permits; i++)
		print_permit(cfg, &cfg->permits[i], today, out);
	print_sinks(cfg, out);
	for (size_t i = 0; i < cfg->n_sensors; i++)
		channels += cfg->sensors[i].n_channels;
	fprintf(out, "config OK: %zu %s, %zu %s, %zu %s, %zu %s, %zu %s\n", cfg->n_buses,
		plural(cfg->n_buses, "bus", "buses"), cfg->n_sensors,
		plural(cfg->n_sensors, "sensor", "sensors"), channels,
		plural(channels, "channel", "channels"), cfg->n_outlets,
		plural(cfg->n_outlets, "outlet", "outlets"), cfg->n_permits,
		plural(cfg->n_permits, "permit", "permits"));
}
