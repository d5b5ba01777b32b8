/*
 * reload_diff.c - what changed between two configs, one operator-readable
 * line per change, and whether a sink's settings did (see reload.h).
 *
 * Most settings are compared through small tables of fields (name as the
 * operator knows it, offset, kind, unit), so that a setting added to a
 * struct needs one table row to be reported. Lists are matched by name;
 * what is only in the old config is "removed", only in the new "added".
 */
#include "reload.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/param.h"

/* ---- output ------------------------------------------------------------- */

struct out {
	reload_line_fn fn;
	void *ctx;
	int n;
};

static void __attribute__((format(printf, 2, 3))) emit(struct out *o, const char *fmt, ...)
{
	char line[RELOAD_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap); /* a cut line is still useful */
	va_end(ap);
	o->fn(o->ctx, line);
	o->n++;
}

/* A config string for a log line: control bytes as \xNN, NULL as (none). */
static const char *show(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	if (!s)
		return "(none)";
	if (!*s)
		return "\"\"";
	for (; *s && n + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	return buf;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* ---- field tables ------------------------------------------------------- */

enum fkind { F_STR, F_INT, F_DBL, F_BOOL, F_CHAR, F_ENUM };

typedef const char *(*enum_name_fn)(int v);

struct field {
	const char *name;  /* as the operator knows it */
	size_t off;
	enum fkind kind;
	const char *unit;  /* after the new value; NULL none */
	enum_name_fn ename; /* F_ENUM */
};

_Static_assert(sizeof(enum basis) == sizeof(int) && sizeof(enum driver_kind) == sizeof(int),
	       "reload_diff reads enums as int");

static const void *at(const void *base, size_t off)
{
	return (const char *)base + off;
}

static bool field_same(const struct field *f, const void *a, const void *b)
{
	const void *x = at(a, f->off), *y = at(b, f->off);

	switch (f->kind) {
	case F_STR: return same_str(*(char *const *)x, *(char *const *)y);
	case F_DBL: return *(const double *)x == *(const double *)y;
	case F_BOOL: return *(const bool *)x == *(const bool *)y;
	case F_CHAR: return *(const char *)x == *(const char *)y;
	default: return *(const int *)x == *(const int *)y;
	}
}

static const char *field_text(const struct field *f, const void *base, char *buf, size_t cap)
{
	const void *x = at(base, f->off);
	char c;

	switch (f->kind) {
	case F_STR:
		return show(*(char *const *)x, buf, cap);
	case F_DBL:
		snprintf(buf, cap, "%.10g", *(const double *)x);
		return buf;
	case F_BOOL:
		return *(const bool *)x ? "true" : "false";
	case F_CHAR:
		c = *(const char *)x;
		if (c == ' ')
			return "space";
		if (c == '\t')
			return "tab";
		snprintf(buf, cap, "'%c'", c);
		return buf;
	case F_ENUM:
		return f->ename(*(const int *)x);
	default:
		snprintf(buf, cap, "%d", *(const int *)x);
		return buf;
	}
}

static bool fields_same(const struct field *t, size_t n, const void *a, const void *b)
{
	for (size_t i = 0; i < n; i++)
		if (!field_same(&t[i], a, b))
			return false;
	return true;
}

/* "<what>: <field> <old> -> <new>[ unit]" for each field that differs. */
static void diff_fields(struct out *o, const char *what, const struct field *t, size_t n,
			const void *a, const void *b)
{
	char x[160], y[160];

	for (size_t i = 0; i < n; i++)
		if (!field_same(&t[i], a, b))
			emit(o, "%s: %s %s -> %s%s%s", what, t[i].name,
			     field_text(&t[i], a, x, sizeof(x)), field_text(&t[i], b, y, sizeof(y)),
			     t[i].unit ? " " : "", t[i].unit ? t[i].unit : "");
}

#define N(t) (sizeof(t) / sizeof((t)[0]))
#define FS(st, m, name) { name, offsetof(struct st, m), F_STR, NULL, NULL }
#define FI(st, m, name, unit) { name, offsetof(struct st, m), F_INT, unit, NULL }
#define FD(st, m, name, unit) { name, offsetof(struct st, m), F_DBL, unit, NULL }
#define FB(st, m, name) { name, offsetof(struct st, m), F_BOOL, NULL, NULL }
#define FC(st, m, name) { name, offsetof(struct st, m), F_CHAR, NULL, NULL }
#define FE(st, m, name, fn) { name, offsetof(struct st, m), F_ENUM, NULL, fn }

static const char *clock_name(int v) { return v == CLOCK_SRC_RTC ? "rtc" : "ntp"; }
static const char *driver_name(int v) { return v == DRIVER_ASCII ? "ascii" : "modbus"; }
static const char *kind_name(int v) { return v == OUTLET_STORM ? "storm" : "sewage"; }
static const char *table_name(int v) { return v == TABLE_INPUT ? "input" : "holding"; }
static const char *type_name(int v) { return config_type_name((enum value_type)v); }
static const char *order_name(int v) { return config_order_name((enum word_order)v); }
static const char *term_name(int v) { return v == TERM_LF ? "lf" : v == TERM_CR ? "cr" : "crlf"; }
static const char *format_name(int v) { return v == ASCII_CSV ? "csv" : "kv"; }

static const struct field gateway_fields[] = {
	FS(config, id, "id"), FS(config, data_dir, "data_dir"), FS(config, run_dir, "run_dir"),
	FS(config, timezone, "timezone"), FE(config, clock, "clock", clock_name),
	FS(config, permits_path, "permits"), FI(config, fsync_ms, "fsync", "ms"),
	FI(config, max_backlog_mb, "max_backlog", "MiB"),
};

static const struct field alerting_fields[] = {
	FD(cfg_alerting, hysteresis_pct, "hysteresis", "%"),
	FI(cfg_alerting, raise_after_s, "raise_after", "s"),
	FI(cfg_alerting, clear_after_s, "clear_after", "s"),
	FI(cfg_alerting, no_response_polls, "no_response_polls", NULL),
	FD(cfg_alerting, crc_error_pct, "crc_error", "%"),
	FI(cfg_alerting, expiry_warning_days, "expiry_warning", "days"),
	FD(cfg_alerting, coverage_pct, "coverage", "%"),
	FI(cfg_alerting, maintenance_max_h, "maintenance_max", "h"),
};

static const struct field bus_fields[] = {
	FS(cfg_bus, device, "device"), FI(cfg_bus, baud, "baud", NULL),
	FC(cfg_bus, parity, "parity"), FI(cfg_bus, data_bits, "data_bits", NULL),
	FI(cfg_bus, stop_bits, "stop_bits", NULL), FI(cfg_bus, timeout_ms, "timeout", "ms"),
	FI(cfg_bus, retries, "retries", NULL),
};

static const struct field sensor_fields[] = {
	FE(cfg_sensor, driver, "driver", driver_name), FI(cfg_sensor, slave, "slave", NULL),
	FI(cfg_sensor, interval_s, "interval", "s"), FI(cfg_sensor, retry_max_s, "retry_max", "s"),
	FI(cfg_sensor, gap_s, "gap", "s"),
};

static const struct field ascii_fields[] = {
	FE(cfg_ascii, terminator, "terminator", term_name),
	FE(cfg_ascii, format, "format", format_name), FC(cfg_ascii, separator, "separator"),
	FC(cfg_ascii, kv_separator, "kv_separator"), FC(cfg_ascii, decimal, "decimal"),
	FS(cfg_ascii, query, "query"),
	FI(cfg_ascii, max_line, "max_line", "bytes"),
};

static const struct field channel_fields[] = {
	FE(cfg_channel, table, "table", table_name), FI(cfg_channel, reg, "register", NULL),
	FE(cfg_channel, type, "type", type_name), FE(cfg_channel, order, "word_order", order_name),
	FD(cfg_channel, scale, "scale", NULL), FD(cfg_channel, offset, "offset", NULL),
	FI(cfg_channel, flatline_s, "flatline", "s"), FS(cfg_channel, key, "key"),
	FI(cfg_channel, field, "field", NULL),
};

static const struct field outlet_fields[] = {
	FE(cfg_outlet, kind, "kind", kind_name),
	FD(cfg_outlet, flow_noise_m3h, "flow_noise", "m3/h"),
	FI(cfg_outlet, rain_hold_min, "rain_hold", "min"),
};

static const struct field permit_fields[] = {
	FS(cfg_permit, holder, "holder"), FS(cfg_permit, category, "category"),
	FS(cfg_permit, template_name, "template"),
};

static const struct field limit_fields[] = {
	FD(cfg_limit, hysteresis_pct, "hysteresis", "%"),
	FI(cfg_limit, raise_after_s, "raise_after", "s"),
	FI(cfg_limit, clear_after_s, "clear_after", "s"),
};

static const struct field mqtt_fields[] = {
	FS(cfg_mqtt, uri, "uri"), FI(cfg_mqtt, qos, "qos", NULL),
	FS(cfg_mqtt, client_id, "client_id"), FS(cfg_mqtt, username, "username"),
	FS(cfg_mqtt, password_file, "password_file"), FI(cfg_mqtt, keepalive_s, "keepalive", "s"),
	FS(cfg_mqtt, topic_root, "topic_root"), FB(cfg_mqtt, tls, "tls"),
	FS(cfg_mqtt, tls_ca_file, "tls.ca_file"), FS(cfg_mqtt, tls_cert_file, "tls.cert_file"),
	FS(cfg_mqtt, tls_key_file, "tls.key_file"), FB(cfg_mqtt, tls_verify, "tls.verify"),
};

static const struct field influx_fields[] = {
	FS(cfg_influx, url, "url"), FI(cfg_influx, api, "api", NULL), FS(cfg_influx, db, "db"),
	FS(cfg_influx, org, "org"), FS(cfg_influx, bucket, "bucket"),
	FS(cfg_influx, token_file, "token_file"), FS(cfg_influx, username, "username"),
	FS(cfg_influx, password_file, "password_file"),
	FI(cfg_influx, batch_max, "batch_max", NULL), FI(cfg_influx, flush_ms, "flush", "ms"),
	FI(cfg_influx, timeout_ms, "timeout", "ms"), FB(cfg_influx, gzip, "gzip"),
};

static const struct field history_fields[] = {
	FS(cfg_history, dir, "dir"), FI(cfg_history, raw_days, "raw_days", "days"),
	FI(cfg_history, aggregate_days, "aggregate_days", "days"),
	FI(cfg_history, max_mb, "max_mb", "MiB"), FI(cfg_history, commit_s, "commit", "s"),
};

/* ---- buses and sensors -------------------------------------------------- */

static int find_bus(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->n_buses; i++)
		if (strcmp(c->buses[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void diff_buses(struct out *o, const struct config *a, const struct config *b)
{
	char what[64];

	for (size_t i = 0; i < a->n_buses; i++)
		if (find_bus(b, a->buses[i].name) < 0)
			emit(o, "bus %s removed", a->buses[i].name);
	for (size_t i = 0; i < b->n_buses; i++) {
		const struct cfg_bus *nb = &b->buses[i];
		int k = find_bus(a, nb->name);

		if (k < 0) {
			emit(o, "bus %s added (%s at %d baud)", nb->name, nb->device, nb->baud);
			continue;
		}
		snprintf(what, sizeof(what), "bus %s", nb->name);
		diff_fields(o, what, bus_fields, N(bus_fields), &a->buses[k], nb);
	}
}

static const struct cfg_channel *find_channel(const struct cfg_sensor *s, int param)
{
	for (size_t i = 0; i < s->n_channels; i++)
		if (s->channels[i].param == param)
			return &s->channels[i];
	return NULL;
}

static void range_text(const struct cfg_channel *c, char *buf, size_t cap)
{
	if (c->has_range)
		snprintf(buf, cap, "[%.10g, %.10g]", c->range_min, c->range_max);
	else
		snprintf(buf, cap, "none");
}

static void diff_channel(struct out *o, const char *sensor, const struct cfg_channel *x,
			 const struct cfg_channel *y)
{
	char what[96], r1[64], r2[64];

	snprintf(what, sizeof(what), "sensor %s: channel %s", sensor, param_name(y->param));
	diff_fields(o, what, channel_fields, N(channel_fields), x, y);
	range_text(x, r1, sizeof(r1));
	range_text(y, r2, sizeof(r2));
	if (strcmp(r1, r2) != 0)
		emit(o, "%s: range %s -> %s %s", what, r1, r2, param_unit(y->param));
}

static void diff_channels(struct out *o, const struct cfg_sensor *x, const struct cfg_sensor *y)
{
	for (size_t i = 0; i < x->n_channels; i++)
		if (!find_channel(y, x->channels[i].param))
			emit(o, "sensor %s: channel %s removed", y->name,
			     param_name(x->channels[i].param));
	for (size_t i = 0; i < y->n_channels; i++) {
		const struct cfg_channel *ny = &y->channels[i];
		const struct cfg_channel *ox = find_channel(x, ny->param);

		if (!ox)
			emit(o, "sensor %s: channel %s added (%s register %d)", y->name,
			     param_name(ny->param), table_name(ny->table), ny->reg);
		else
			diff_channel(o, y->name, ox, ny);
	}
}

static void diff_sensor(struct out *o, const struct config *a, const struct cfg_sensor *x,
			const struct config *b, const struct cfg_sensor *y)
{
	char what[64];

	snprintf(what, sizeof(what), "sensor %s", y->name);
	if (strcmp(a->buses[x->bus].name, b->buses[y->bus].name) != 0)
		emit(o, "%s: bus %s -> %s", what, a->buses[x->bus].name, b->buses[y->bus].name);
	diff_fields(o, what, sensor_fields, N(sensor_fields), x, y);
	if (y->driver == DRIVER_ASCII && x->driver == DRIVER_ASCII)
		diff_fields(o, what, ascii_fields, N(ascii_fields), &x->ascii, &y->ascii);
	diff_channels(o, x, y);
}

static void diff_sensors(struct out *o, const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < a->n_sensors; i++)
		if (config_find_sensor(b, a->sensors[i].name) < 0)
			emit(o, "sensor %s removed", a->sensors[i].name);
	for (size_t i = 0; i < b->n_sensors; i++) {
		const struct cfg_sensor *y = &b->sensors[i];
		int k = config_find_sensor(a, y->name);

		if (k < 0)
			emit(o, "sensor %s added (%s %d on %s, every %d s)", y->name,
			     driver_name(y->driver), y->slave, b->buses[y->bus].name, y->interval_s);
		else
			diff_sensor(o, a, &a->sensors[k], b, y);
	}
}

/* ---- outlets ------------------------------------------------------------ */

/* "probe1, flow1" */
static void sensor_list(const struct config *c, const struct cfg_outlet *x, char *buf,
			size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < x->n_sensors && n < cap; i++) {
		int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
				 c->sensors[x->sensors[i]].name);

		n += w > 0 ? (size_t)w : 0;
	}
	if (!x->n_sensors)
		snprintf(buf, cap, "none");
}

/* "cod > 100, nh3n > 5" */
static void signature_text(const struct cfg_outlet *x, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < x->n_signature && n < cap; i++) {
		int w = snprintf(buf + n, cap - n, "%s%s > %.10g", i ? ", " : "",
				 param_name(x->signature[i].param), x->signature[i].above);

		n += w > 0 ? (size_t)w : 0;
	}
	if (!x->n_signature)
		snprintf(buf, cap, "none");
}

static const char *permit_of(const struct config *c, const struct cfg_outlet *x)
{
	return x->permit >= 0 ? c->permits[x->permit].number : "(none)";
}

static void diff_outlet(struct out *o, const struct config *a, const struct cfg_outlet *x,
			const struct config *b, const struct cfg_outlet *y)
{
	char what[64], s1[256], s2[256];

	snprintf(what, sizeof(what), "outlet %s", y->id);
	diff_fields(o, what, outlet_fields, N(outlet_fields), x, y);
	if (strcmp(permit_of(a, x), permit_of(b, y)) != 0)
		emit(o, "%s: permit %s -> %s", what, permit_of(a, x), permit_of(b, y));
	sensor_list(a, x, s1, sizeof(s1));
	sensor_list(b, y, s2, sizeof(s2));
	if (strcmp(s1, s2) != 0)
		emit(o, "%s: sensors %s -> %s", what, s1, s2);
	signature_text(x, s1, sizeof(s1));
	signature_text(y, s2, sizeof(s2));
	if (y->kind == OUTLET_STORM && strcmp(s1, s2) != 0)
		emit(o, "%s: signature %s -> %s", what, s1, s2);
}

static void diff_outlets(struct out *o, const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < a->n_outlets; i++)
		if (config_find_outlet(b, a->outlets[i].id) < 0)
			emit(o, "outlet %s removed", a->outlets[i].id);
	for (size_t i = 0; i < b->n_outlets; i++) {
		const struct cfg_outlet *y = &b->outlets[i];
		int k = config_find_outlet(a, y->id);

		if (k < 0)
			emit(o, "outlet %s added (%s, permit %s)", y->id, kind_name(y->kind),
			     permit_of(b, y));
		else
			diff_outlet(o, a, &a->outlets[k], b, y);
	}
}

/* ---- permits and limits ------------------------------------------------- */

static int find_permit(const struct config *c, const char *number)
{
	for (size_t i = 0; i < c->n_permits; i++)
		if (strcmp(c->permits[i].number, number) == 0)
			return (int)i;
	return -1;
}

static bool same_limit_id(const struct cfg_limit *x, const struct cfg_limit *y)
{
	return x->param == y->param && x->basis == y->basis &&
	       (x->basis != BASIS_ROLLING || x->window_min == y->window_min);
}

/* Limits are matched by parameter, basis and window; two of one kind (a
 * min and a max written apart, say) pair in the order written: the r-th of
 * its kind in p with the r-th of that kind in q. r for limit i of p: */
static int rank_of(const struct cfg_permit *p, size_t i)
{
	int r = 0;

	for (size_t j = 0; j < i; j++)
		r += same_limit_id(&p->limits[j], &p->limits[i]);
	return r;
}

/* Limit i of p's partner in q, -1 if none. */
static int match_limit(const struct cfg_permit *q, const struct cfg_permit *p, size_t i)
{
	int want = rank_of(p, i);

	for (size_t j = 0; j < q->n_limits; j++)
		if (same_limit_id(&q->limits[j], &p->limits[i]) && want-- == 0)
			return (int)j;
	return -1;
}

/* "cod instant", "cod rolling 60 min" */
static void limit_name(const struct cfg_limit *l, char *buf, size_t cap)
{
	if (l->basis == BASIS_ROLLING)
		snprintf(buf, cap, "%s rolling %d min", param_name(l->param), l->window_min);
	else
		snprintf(buf, cap, "%s %s", param_name(l->param), config_basis_name(l->basis));
}

static void bound_text(bool has, double v, char *buf, size_t cap)
{
	if (has)
		snprintf(buf, cap, "%.10g", v);
	else
		snprintf(buf, cap, "none");
}

/* "min 6.5, max 9.5 pH" */
static void bounds_text(const struct cfg_limit *l, char *buf, size_t cap)
{
	char lo[32], hi[32];

	bound_text(l->has_min, l->min, lo, sizeof(lo));
	bound_text(l->has_max, l->max, hi, sizeof(hi));
	if (l->has_min && l->has_max)
		snprintf(buf, cap, "min %s, max %s %s", lo, hi, param_unit(l->param));
	else
		snprintf(buf, cap, "%s %s %s", l->has_min ? "min" : "max", l->has_min ? lo : hi,
			 param_unit(l->param));
}

static void diff_limit(struct out *o, const char *permit, const struct cfg_limit *x,
		       const struct cfg_limit *y)
{
	char name[64], what[320], a[32], b[32];

	limit_name(y, name, sizeof(name));
	snprintf(what, sizeof(what), "permit %s: %s", permit, name);
	if (x->has_min != y->has_min || (x->has_min && x->min != y->min)) {
		bound_text(x->has_min, x->min, a, sizeof(a));
		bound_text(y->has_min, y->min, b, sizeof(b));
		emit(o, "%s min %s -> %s %s", what, a, b, param_unit(y->param));
	}
	if (x->has_max != y->has_max || (x->has_max && x->max != y->max)) {
		bound_text(x->has_max, x->max, a, sizeof(a));
		bound_text(y->has_max, y->max, b, sizeof(b));
		emit(o, "%s max %s -> %s %s", what, a, b, param_unit(y->param));
	}
	diff_fields(o, what, limit_fields, N(limit_fields), x, y);
}

static void diff_limits(struct out *o, const struct cfg_permit *x, const struct cfg_permit *y)
{
	char name[64], b[96];

	for (size_t i = 0; i < x->n_limits; i++) {
		if (match_limit(y, x, i) >= 0)
			continue;
		limit_name(&x->limits[i], name, sizeof(name));
		emit(o, "permit %s: %s limit removed", y->number, name);
	}
	for (size_t i = 0; i < y->n_limits; i++) {
		int k = match_limit(x, y, i);

		if (k >= 0) {
			diff_limit(o, y->number, &x->limits[k], &y->limits[i]);
			continue;
		}
		limit_name(&y->limits[i], name, sizeof(name));
		bounds_text(&y->limits[i], b, sizeof(b));
		emit(o, "permit %s: %s limit added (%s)", y->number, name, b);
	}
}

static void date_text(struct cfg_date d, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04d-%02d-%02d", d.year, d.month, d.day);
}

static void diff_dates(struct out *o, const char *what, const char *name, struct cfg_date x,
		       struct cfg_date y)
{
	char a[16], b[16];

	date_text(x, a, sizeof(a));
	date_text(y, b, sizeof(b));
	if (strcmp(a, b) != 0)
		emit(o, "%s: %s %s -> %s", what, name, a, b);
}

static void diff_permit(struct out *o, const struct cfg_permit *x, const struct cfg_permit *y)
{
	char what[256], a[32], b[32];

	snprintf(what, sizeof(what), "permit %s", y->number);
	diff_fields(o, what, permit_fields, N(permit_fields), x, y);
	diff_dates(o, what, "valid_from", x->valid_from, y->valid_from);
	diff_dates(o, what, "valid_until", x->valid_until, y->valid_until);
	if (x->has_daily_volume != y->has_daily_volume ||
	    (x->has_daily_volume && x->daily_volume_max_m3 != y->daily_volume_max_m3)) {
		bound_text(x->has_daily_volume, x->daily_volume_max_m3, a, sizeof(a));
		bound_text(y->has_daily_volume, y->daily_volume_max_m3, b, sizeof(b));
		emit(o, "%s: daily_volume_max %s -> %s m3", what, a, b);
	}
	diff_limits(o, x, y);
}

static void diff_permits(struct out *o, const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < a->n_permits; i++)
		if (find_permit(b, a->permits[i].number) < 0)
			emit(o, "permit %s removed", a->permits[i].number);
	for (size_t i = 0; i < b->n_permits; i++) {
		const struct cfg_permit *y = &b->permits[i];
		int k = find_permit(a, y->number);

		if (k < 0)
			emit(o, "permit %s added (%s, %zu limits)", y->number, y->holder,
			     y->n_limits);
		else
			diff_permit(o, &a->permits[k], y);
	}
}

/* ---- sinks -------------------------------------------------------------- */

bool reload_sink_same(const struct config *a, const struct config *b, enum reload_sink which)
{
	if (!same_str(a->id, b->id))
		return false;
	if (which == RELOAD_MQTT)
		return a->mqtt.enabled && b->mqtt.enabled &&
		       fields_same(mqtt_fields, N(mqtt_fields), &a->mqtt, &b->mqtt);
	if (which == RELOAD_HISTORY)
		return a->history.enabled && b->history.enabled &&
		       fields_same(history_fields, N(history_fields), &a->history, &b->history);
	return a->influx.enabled && b->influx.enabled && same_str(a->data_dir, b->data_dir) &&
	       fields_same(influx_fields, N(influx_fields), &a->influx, &b->influx);
}

static const struct cfg_hj212 *find_hj212(const struct config *c, const char *name)
{
	for (size_t k = 0; k < c->n_hj212; k++)
		if (strcmp(c->hj212[k].name, name) == 0)
			return &c->hj212[k];
	return NULL;
}

bool reload_hj212_same(const struct config *a, const struct config *b, const char *name)
{
	const struct cfg_hj212 *x = find_hj212(a, name), *y = find_hj212(b, name);

	return x && y && same_str(a->id, b->id) && same_str(a->data_dir, b->data_dir) &&
	       a->history.enabled == b->history.enabled &&
	       same_str(a->history.dir, b->history.dir) && config_hj212_same(x, y) &&
	       strcmp(a->outlets[x->outlet].id, b->outlets[y->outlet].id) == 0;
}

/* Platforms added, removed or changed (which setting: -n shows them). */
static void diff_hj212(struct out *o, const struct config *a, const struct config *b)
{
	for (size_t k = 0; k < a->n_hj212; k++) {
		const struct cfg_hj212 *y = find_hj212(b, a->hj212[k].name);

		if (!y)
			emit(o, "sink hj212 %s removed", a->hj212[k].name);
		else if (!reload_hj212_same(a, b, y->name))
			emit(o, "sink hj212 %s: settings changed", y->name);
	}
	for (size_t k = 0; k < b->n_hj212; k++)
		if (!find_hj212(a, b->hj212[k].name))
			emit(o, "sink hj212 %s added", b->hj212[k].name);
}

static void diff_sink(struct out *o, const char *name, bool had, bool has,
		      const struct field *t, size_t n, const void *x, const void *y)
{
	char what[32];

	if (had != has) {
		emit(o, "sink %s %s", name, has ? "added" : "removed");
		return;
	}
	snprintf(what, sizeof(what), "sink %s", name);
	if (has)
		diff_fields(o, what, t, n, x, y);
}

int reload_diff(const struct config *a, const struct config *b, reload_line_fn fn, void *ctx)
{
	struct out o = { .fn = fn, .ctx = ctx };

	diff_fields(&o, "gateway", gateway_fields, N(gateway_fields), a, b);
	diff_fields(&o, "alerting", alerting_fields, N(alerting_fields), &a->alerting,
		    &b->alerting);
	diff_buses(&o, a, b);
	diff_sensors(&o, a, b);
	diff_outlets(&o, a, b);
	diff_permits(&o, a, b);
	diff_sink(&o, "mqtt", a->mqtt.enabled, b->mqtt.enabled, mqtt_fields, N(mqtt_fields),
		  &a->mqtt, &b->mqtt);
	diff_sink(&o, "influx", a->influx.enabled, b->influx.enabled, influx_fields,
		  N(influx_fields), &a->influx, &b->influx);
	diff_sink(&o, "history", a->history.enabled, b->history.enabled, history_fields,
		  N(history_fields), &a->history, &b->history);
	diff_hj212(&o, a, b);
	return o.n;
}
