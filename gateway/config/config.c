/*
 * config.c - config_load(): loading both files, and the acquisition side
 * of the gateway file (gateway, alerting, buses, sensors and their
 * channels, Modbus or ASCII, and which sensors may share a bus).
 * Reporting and the typed getters are in get.c; reading a file (after a
 * scan for full-width punctuation) in prescan.c; the permits file and
 * outlets in permits.c; sinks and the summary in sinks.c; the warnings
 * about likely mistakes in lint.c, with suggestions from suggest.c.
 *
 * Loading never stops at the first mistake: each check reports its own
 * "file:line: setting: message" and the walk goes on, so an installer on a
 * ladder at the outlet sees every error in one run. Only a complete,
 * error-free struct config is handed back.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/param.h"

#define GATEWAY_ID_MAX 63 /* bytes; the HJ 212 MN and topic levels stay short */

static const char *const root_known[] = { "gateway", "alerting", "buses", "sensors",
					  "outlets", "sinks", "history", NULL };
static const char *const gateway_known[] = { "id", "data_dir", "run_dir", "timezone",
					     "permits", "fsync_ms", "max_backlog_mb", "clock",
					     NULL };
static const char *const alerting_known[] = { "hysteresis_pct", "raise_after_s",
					      "clear_after_s", "no_response_polls",
					      "crc_error_pct", "expiry_warning_days",
					      "coverage_pct", "maintenance_max_h", NULL };
static const char *const bus_known[] = { "name", "device", "baud", "parity", "data_bits",
					 "stop_bits", "timeout_ms", "retries", NULL };
static const char *const sensor_known[] = { "name", "bus", "driver", "slave", "interval_s",
					    "gap_s", "retry_max_s", "channels", "terminator", "format",
					    "separator", "kv_separator", "decimal", "query",
					    "max_line", NULL };
static const char *const channel_known[] = { "parameter", "table", "register", "type",
					     "word_order", "scale", "offset", "range",
					     "flatline_s", "key", "field", NULL };
/* Settings of one driver that the other must not be given. */
static const char *const ascii_sensor_only[] = { "terminator", "format", "separator",
						 "kv_separator", "decimal", "query", "max_line",
						 NULL };
static const char *const modbus_channel_only[] = { "register", "table", "type", "word_order",
						   NULL };
static const char *const ascii_channel_only[] = { "key", "field", NULL };

static const char *const parities[] = { "N", "E", "O", NULL };
static const char *const drivers[] = { "modbus", "ascii", NULL };
static const char *const formats[] = { "kv", "csv", NULL };
static const char *const decimals[] = { ".", ",", NULL };
/* enum ascii_term: the bytes, and how a message spells them */
static const char *const term_bytes[] = { "\r\n", "\n", "\r" };
static const char *const term_names[] = { "\"\\r\\n\"", "\"\\n\"", "\"\\r\"" };
static const char *const tables[] = { "holding", "input", NULL };
static const char *const types[] = { "int16", "uint16", "int32", "uint32", "float32",
				     "float64", NULL };
static const char *const orders[] = { "abcd", "cdab", "badc", "dcba", NULL };
static const int bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };

/* ---- gateway and alerting ----------------------------------------------- */

static void check_timezone(struct cfg_ctx *c, const config_setting_t *g, const char *tz)
{
	const char *dir = getenv("TZDIR"); /* glibc looks there first too */
	char path[PATH_MAX];
	struct stat st;
	int n;

	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, tz);
	if (tz[0] == '/' || strstr(tz, "..") || n < 0 || (size_t)n >= sizeof(path) ||
	    stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		cfg_error(c, g, "timezone", "unknown time zone \"%s\" (no such zone under %s)",
			  CFG_SHOW(tz), dir);
}

/* A relative gateway.permits is taken from the gateway file's directory, so
 * /etc/outfall/outfall.conf with permits = "permits.conf" works from any cwd. */
static char *resolve_permits(struct cfg_ctx *c, const char *gw_path, const char *p)
{
	const char *slash = strrchr(gw_path, '/');
	char *r;

	if (p[0] == '/' || !slash)
		return cfg_strdup(c, p);
	if (asprintf(&r, "%.*s%s", (int)(slash - gw_path + 1), gw_path, p) < 0) {
		c->nomem = true;
		return NULL;
	}
	return r;
}

static void parse_clock(struct cfg_ctx *c, struct config *cfg, const config_setting_t *g)
{
	static const char *const sources[] = { "ntp", "rtc", NULL };
	int v = CLOCK_SRC_NTP;

	cfg_enum(c, g, "clock", CFG_OPTIONAL, sources, "clock", &v);
	cfg->clock = (enum clock_source)v;
}

static void parse_gateway(struct cfg_ctx *c, struct config *cfg, const config_setting_t *g)
{
	char *permits = NULL;

	cfg_check_known(c, g, gateway_known);
	if (cfg_string(c, g, "id", CFG_REQUIRED, &cfg->id) > 0)
		cfg_name_ok(c, g, "id", cfg->id, GATEWAY_ID_MAX);
	if (cfg_string(c, g, "data_dir", CFG_OPTIONAL, &cfg->data_dir) > 0 &&
	    cfg->data_dir[0] != '/')
		cfg_error(c, g, "data_dir", "\"%s\" must be an absolute path",
			  CFG_SHOW(cfg->data_dir));
	if (cfg_string(c, g, "run_dir", CFG_OPTIONAL, &cfg->run_dir) > 0 && cfg->run_dir[0] != '/')
		cfg_error(c, g, "run_dir", "\"%s\" must be an absolute path", CFG_SHOW(cfg->run_dir));
	if (!cfg->run_dir && cfg->data_dir)
		cfg->run_dir = cfg_strdup(c, cfg->data_dir);
	if (cfg_string(c, g, "timezone", CFG_OPTIONAL, &cfg->timezone) >= 0 && cfg->timezone)
		check_timezone(c, g, cfg->timezone);
	cfg_int(c, g, "fsync_ms", CFG_OPTIONAL, 0, 600000, "ms", &cfg->fsync_ms);
	cfg_int(c, g, "max_backlog_mb", CFG_OPTIONAL, 16, 65536, "MiB", &cfg->max_backlog_mb);
	parse_clock(c, cfg, g);
	cfg_string(c, g, "permits", CFG_OPTIONAL, &permits);
	cfg->permits_path = resolve_permits(c, cfg->path, permits ? permits : "permits.conf");
	free(permits);
}

static void parse_alerting(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *g = cfg_member(c, root, "alerting", CFG_OPTIONAL);

	struct cfg_alerting *a = &cfg->alerting;

	*a = (struct cfg_alerting){ .hysteresis_pct = 2.0, .no_response_polls = 3,
				    .crc_error_pct = 10.0, .expiry_warning_days = 30,
				    .coverage_pct = 75.0, .maintenance_max_h = 8 };
	if (!g || !cfg_is_group(c, g))
		return;
	cfg_check_known(c, g, alerting_known);
	cfg_debounce(c, g, &a->hysteresis_pct, &a->raise_after_s, &a->clear_after_s);
	cfg_int(c, g, "no_response_polls", CFG_OPTIONAL, 1, 1000, "polls", &a->no_response_polls);
	cfg_float_in(c, g, "crc_error_pct", 0, 100, "%", &a->crc_error_pct);
	cfg_int(c, g, "expiry_warning_days", CFG_OPTIONAL, 0, 365, "days",
		&a->expiry_warning_days);
	cfg_float_in(c, g, "coverage_pct", 1, 100, "%", &a->coverage_pct);
	cfg_int(c, g, "maintenance_max_h", CFG_OPTIONAL, 1, 72, "h", &a->maintenance_max_h);
}

/* ---- buses -------------------------------------------------------------- */

static void parse_bus(struct cfg_ctx *c, const config_setting_t *g, struct cfg_bus *b)
{
	int parity = 0;
	size_t i = 0;

	b->baud = 9600;
	b->data_bits = 8;
	b->stop_bits = 1;
	b->timeout_ms = 500;
	b->retries = 2;
	cfg_check_known(c, g, bus_known);
	if (cfg_string(c, g, "name", CFG_REQUIRED, &b->name) > 0)
		cfg_name_ok(c, g, "name", b->name, CFG_NAME_MAX);
	cfg_string(c, g, "device", CFG_REQUIRED, &b->device);
	if (cfg_int(c, g, "baud", CFG_OPTIONAL, INT_MIN, INT_MAX, "", &b->baud) > 0) {
		while (i < sizeof(bauds) / sizeof(bauds[0]) && bauds[i] != b->baud)
			i++;
		if (i == sizeof(bauds) / sizeof(bauds[0]))
			cfg_error(c, g, "baud", "%d is not a supported rate (expected 1200, 2400, "
				  "4800, 9600, 19200, 38400, 57600 or 115200)", b->baud);
	}
	cfg_enum(c, g, "parity", CFG_OPTIONAL, parities, "parity", &parity);
	b->parity = "NEO"[parity];
	cfg_int(c, g, "data_bits", CFG_OPTIONAL, 5, 8, "bits", &b->data_bits);
	cfg_int(c, g, "stop_bits", CFG_OPTIONAL, 1, 2, "bits", &b->stop_bits);
	cfg_int(c, g, "timeout_ms", CFG_OPTIONAL, 10, 10000, "ms", &b->timeout_ms);
	cfg_int(c, g, "retries", CFG_OPTIONAL, 0, 10, "", &b->retries);
}

static void parse_buses(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "buses", CFG_OPTIONAL);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	cfg->buses = cfg_calloc(c, n, sizeof(*cfg->buses));
	if (!cfg->buses)
		return;
	cfg->n_buses = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_bus *b = &cfg->buses[i];
		int j;

		b->line = (int)config_setting_source_line(g);
		if (!cfg_is_group(c, g))
			continue;
		parse_bus(c, g, b);
		j = CFG_FIND(cfg->buses, i, struct cfg_bus, name, b->name);
		if (j >= 0)
			cfg_error(c, g, "name", "\"%s\" is already the name of buses[%d]",
				  CFG_SHOW(b->name), j);
		j = CFG_FIND(cfg->buses, i, struct cfg_bus, device, b->device);
		if (j >= 0)
			cfg_error(c, g, "device", "%s is already used by buses[%d] (%s); one bus "
				  "per port", b->device, j, cfg->buses[j].name);
	}
}

/* ---- channels ----------------------------------------------------------- */

static int type_words(enum value_type t)
{
	return t <= VT_UINT16 ? 1 : t == VT_FLOAT64 ? 4 : 2;
}

static void parse_range(struct cfg_ctx *c, const config_setting_t *g, struct cfg_channel *ch)
{
	const config_setting_t *r = cfg_member(c, g, "range", CFG_OPTIONAL);
	double lo, hi;
	int bad;

	if (!r)
		return;
	if (!(config_setting_is_array(r) || config_setting_is_list(r)) ||
	    config_setting_length(r) != 2) {
		cfg_error(c, r, NULL, "expected [min, max], two numbers");
		return;
	}
	bad = cfg_number(c, config_setting_get_elem(r, 0), &lo) < 0;
	bad |= cfg_number(c, config_setting_get_elem(r, 1), &hi) < 0;
	if (bad)
		return;
	if (!(lo < hi)) {
		cfg_error(c, r, NULL, "min %g is not below max %g", lo, hi);
		return;
	}
	ch->has_range = true;
	ch->range_min = lo;
	ch->range_max = hi;
}

/* A flat line needs two readings at least; counters and slow parameters
 * legitimately stay put, so it is off unless asked for. */
static void parse_flatline(struct cfg_ctx *c, const config_setting_t *g, int interval_s,
			   struct cfg_channel *ch)
{
	if (cfg_int(c, g, "flatline_s", CFG_OPTIONAL, 0, 604800, "s", &ch->flatline_s) > 0 &&
	    ch->flatline_s > 0 && ch->flatline_s < 2 * interval_s)
		cfg_error(c, g, "flatline_s", "%d s spans fewer than two polls (interval_s is "
			  "%d s): use 0 (off) or at least %d s", ch->flatline_s, interval_s,
			  2 * interval_s);
}

/* Reports each member of g named in names with msg ("%s" = the member). */
static void reject_members(struct cfg_ctx *c, const config_setting_t *g,
			   const char *const names[], const char *msg)
{
	for (size_t i = 0; names[i]; i++)
		if (config_setting_get_member(g, names[i]))
			cfg_error(c, g, names[i], msg, names[i]);
}

/* A kv key is matched byte for byte after blanks around it are trimmed:
 * it cannot hold blanks, control bytes or either separator. */
static void check_key(struct cfg_ctx *c, const config_setting_t *g, const struct cfg_ascii *a,
		      const char *key)
{
	size_t n = strlen(key);

	if (n > CFG_ASCII_KEY_MAX) {
		cfg_error(c, g, "key", "\"%s\" is %zu bytes, longer than %d", CFG_SHOW(key), n,
			  CFG_ASCII_KEY_MAX);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f) {
			cfg_error(c, g, "key", "\"%s\" may hold only printable ASCII without "
				  "blanks (byte 0x%02x)", CFG_SHOW(key), *p);
			return;
		}
		if (*p == (unsigned char)a->separator || *p == (unsigned char)a->kv_separator) {
			cfg_error(c, g, "key", "\"%s\" contains '%c', which separates the fields "
				  "of a line", CFG_SHOW(key), *p);
			return;
		}
	}
}

static void parse_ascii_channel(struct cfg_ctx *c, const config_setting_t *g,
				const struct cfg_ascii *a, struct cfg_channel *ch)
{
	reject_members(c, g, modbus_channel_only, "%s is for modbus channels: an ascii "
		       "channel takes key (format kv) or field (format csv)");
	if (a->format == ASCII_KV) {
		if (config_setting_get_member(g, "field"))
			cfg_error(c, g, "field", "is for format \"csv\": a kv channel takes key");
		if (cfg_string(c, g, "key", CFG_REQUIRED, &ch->key) > 0)
			check_key(c, g, a, ch->key);
		return;
	}
	if (config_setting_get_member(g, "key"))
		cfg_error(c, g, "key", "is for format \"kv\": a csv channel takes field");
	cfg_int(c, g, "field", CFG_REQUIRED, 1, CFG_ASCII_FIELD_MAX, "", &ch->field);
}

static void parse_modbus_channel(struct cfg_ctx *c, const config_setting_t *g,
				 struct cfg_channel *ch)
{
	int v;

	reject_members(c, g, ascii_channel_only, "only a channel of an ascii sensor has a %s");
	if (cfg_enum(c, g, "table", CFG_OPTIONAL, tables, "table", &v) > 0)
		ch->table = v;
	if (cfg_enum(c, g, "type", CFG_OPTIONAL, types, "type", &v) > 0)
		ch->type = v;
	if (cfg_enum(c, g, "word_order", CFG_OPTIONAL, orders, "word order", &v) > 0)
		ch->order = v;
	if (cfg_int(c, g, "register", CFG_REQUIRED, 0, 65535, "", &v) > 0) {
		ch->reg = v;
		if (v + type_words(ch->type) > 65536)
			cfg_error(c, g, "register", "%d holds a %s of %d registers, which runs "
				  "past 65535", v, types[ch->type], type_words(ch->type));
	}
}

/* known: the sensor's driver was understood; when not, only what every
 * channel has is checked, so one typo is one error. */
static void parse_channel(struct cfg_ctx *c, const config_setting_t *g,
			  const struct cfg_sensor *s, bool known, struct cfg_channel *ch)
{
	char *name = NULL;

	cfg_check_known(c, g, channel_known);
	if (cfg_string(c, g, "parameter", CFG_REQUIRED, &name) > 0) {
		ch->param = param_from_name(name);
		if (ch->param < 0)
			cfg_error(c, g, "parameter", "unknown parameter \"%s\" (expected one "
				  "of %s)", CFG_SHOW(name), param_all_names());
	}
	free(name);
	if (known && s->driver == DRIVER_ASCII)
		parse_ascii_channel(c, g, &s->ascii, ch);
	else if (known)
		parse_modbus_channel(c, g, ch);
	if (cfg_float(c, g, "scale", CFG_OPTIONAL, &ch->scale) > 0 && ch->scale == 0)
		cfg_error(c, g, "scale", "must not be 0 (every reading would be the offset)");
	cfg_float(c, g, "offset", CFG_OPTIONAL, &ch->offset);
	parse_range(c, g, ch);
	parse_flatline(c, g, s->interval_s, ch);
}

/* Two channels of one sensor reading the same register would decode one
 * value twice under different names: almost always a copy-paste slip. */
static void check_channel_clash(struct cfg_ctx *c, const config_setting_t *g,
				const struct cfg_sensor *s, size_t i)
{
	const struct cfg_channel *ch = &s->channels[i];

	for (size_t j = 0; j < i; j++) {
		const struct cfg_channel *o = &s->channels[j];

		if (ch->param >= 0 && o->param == ch->param)
			cfg_error(c, g, "parameter", "\"%s\" is already read by channels[%zu]",
				  param_name(ch->param), j);
		if (ch->key && o->key && strcmp(ch->key, o->key) == 0)
			cfg_error(c, g, "key", "\"%s\" is already read by channels[%zu] (%s)",
				  CFG_SHOW(ch->key), j, param_name(o->param));
		if (ch->field > 0 && o->field == ch->field)
			cfg_error(c, g, "field", "%d is already read by channels[%zu] (%s)",
				  ch->field, j, param_name(o->param));
		if (ch->reg < 0 || o->reg < 0 || o->table != ch->table ||
		    ch->reg >= o->reg + type_words(o->type) ||
		    o->reg >= ch->reg + type_words(ch->type))
			continue;
		cfg_error(c, g, "register", "%s registers %d..%d overlap channels[%zu] (%s, "
			  "registers %d..%d)", tables[ch->table], ch->reg,
			  ch->reg + type_words(ch->type) - 1, j, param_name(o->param), o->reg,
			  o->reg + type_words(o->type) - 1);
	}
}

static void parse_channels(struct cfg_ctx *c, const config_setting_t *g, struct cfg_sensor *s,
			   bool known)
{
	const config_setting_t *l = cfg_group_list(c, g, "channels", CFG_REQUIRED);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	if (l && (n < 1 || n > CFG_MAX_CHANNELS))
		cfg_error(c, l, NULL, "%zu channels, expected 1..%d", n, CFG_MAX_CHANNELS);
	s->channels = cfg_calloc(c, n, sizeof(*s->channels));
	if (!s->channels)
		return;
	s->n_channels = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_channel *ch = &s->channels[i];

		*ch = (struct cfg_channel){ .param = -1, .reg = -1, .type = VT_FLOAT32,
					    .scale = 1.0,
					    .line = (int)config_setting_source_line(e) };
		if (!cfg_is_group(c, e))
			continue;
		parse_channel(c, e, s, known, ch);
		check_channel_clash(c, e, s, i);
	}
}

/* Silence longer than a few polls is a gap; a minute at least, so one slow
 * or retried poll of a fast sensor is not. */
static void parse_gap(struct cfg_ctx *c, const config_setting_t *g, struct cfg_sensor *s)
{
	s->retry_max_s = 15;
	cfg_int(c, g, "retry_max_s", CFG_OPTIONAL, 1, 3600, "s", &s->retry_max_s);
	s->gap_s = 3 * s->interval_s < 60 ? 60 : 3 * s->interval_s;
	if (cfg_int(c, g, "gap_s", CFG_OPTIONAL, 1, 604800, "s", &s->gap_s) > 0 &&
	    s->gap_s < s->interval_s)
		cfg_error(c, g, "gap_s", "%d s is shorter than interval_s %d s: every wait "
			  "between two polls would be a gap", s->gap_s, s->interval_s);
}

/* ---- ascii sensors ------------------------------------------------------ */

/* One byte between fields or between key and value: a blank, or
 * punctuation that no number contains. 1 and *v set, 0 absent, -1 reported. */
static int parse_separator(struct cfg_ctx *c, const config_setting_t *g, const char *name,
			   char *v)
{
	char *str = NULL;
	char esc[64];
	int r = cfg_string(c, g, name, CFG_OPTIONAL, &str);
	unsigned char b;

	if (r <= 0)
		return r;
	b = (unsigned char)str[0];
	if (str[1] != '\0' || !(b == ' ' || b == '\t' || (ispunct(b) && !strchr(".+-", b)))) {
		cfg_error(c, g, name, "\"%s\" is not a separator: expected one space, tab or "
			  "punctuation character other than . + -",
			  cfg_escape(str, esc, sizeof(esc)));
		free(str);
		return -1;
	}
	*v = (char)b;
	free(str);
	return 1;
}

static void parse_terminator(struct cfg_ctx *c, const config_setting_t *g, struct cfg_ascii *a)
{
	char *str = NULL;
	char esc[64];

	if (cfg_string(c, g, "terminator", CFG_OPTIONAL, &str) <= 0)
		return;
	for (int i = TERM_CRLF; i <= TERM_CR; i++) {
		if (strcmp(str, term_bytes[i]) == 0) {
			a->terminator = (enum ascii_term)i;
			free(str);
			return;
		}
	}
	cfg_error(c, g, "terminator", "unknown terminator \"%s\" (expected %s, %s or %s)",
		  cfg_escape(str, esc, sizeof(esc)), term_names[TERM_CRLF], term_names[TERM_LF],
		  term_names[TERM_CR]);
	free(str);
}

/* The numbers' decimal mark; a comma one needs other separators. */
static void parse_decimal(struct cfg_ctx *c, const config_setting_t *g, struct cfg_ascii *a)
{
	int v;

	if (cfg_enum(c, g, "decimal", CFG_OPTIONAL, decimals, "decimal mark", &v) <= 0)
		return;
	a->decimal = *decimals[v];
	if (a->decimal == ',' && a->separator == ',')
		cfg_error(c, g, "decimal", "\",\" is the field separator too%s: set separator "
			  "to what the sensor puts between fields (\";\" or \" \", say)",
			  config_setting_get_member(g, "separator") ? "" : " (the default)");
	else if (a->decimal == ',' && a->format == ASCII_KV && a->kv_separator == ',')
		cfg_error(c, g, "decimal", "\",\" is the kv_separator too");
}

static void parse_ascii(struct cfg_ctx *c, const config_setting_t *g, struct cfg_ascii *a)
{
	int v, kv_given = 0;

	parse_terminator(c, g, a);
	if (cfg_enum(c, g, "format", CFG_OPTIONAL, formats, "format", &v) > 0)
		a->format = (enum ascii_format)v;
	parse_separator(c, g, "separator", &a->separator);
	if (a->format == ASCII_CSV && config_setting_get_member(g, "kv_separator"))
		cfg_error(c, g, "kv_separator", "is for format \"kv\": csv fields have no keys");
	else
		kv_given = parse_separator(c, g, "kv_separator", &a->kv_separator);
	if (a->format == ASCII_KV && a->separator == a->kv_separator && kv_given >= 0)
		cfg_error(c, g, kv_given ? "kv_separator" : "separator", "'%c' would separate "
			  "both fields and keys from values", a->separator);
	else if (a->format == ASCII_KV && kv_given > 0 &&
		 (a->separator == ' ' || a->separator == '\t') &&
		 (a->kv_separator == ' ' || a->kv_separator == '\t'))
		cfg_error(c, g, "kv_separator", "a blank cannot separate keys from values when "
			  "blanks separate the fields");
	parse_decimal(c, g, a);
	if (cfg_string(c, g, "query", CFG_OPTIONAL, &a->query) > 0) {
		a->query_len = strlen(a->query);
		if (a->query_len > CFG_ASCII_QUERY_MAX)
			cfg_error(c, g, "query", "is %zu bytes, longer than %d", a->query_len,
				  CFG_ASCII_QUERY_MAX);
	}
	cfg_int(c, g, "max_line", CFG_OPTIONAL, CFG_ASCII_LINE_MIN, CFG_ASCII_LINE_MAX, "bytes",
		&a->max_line);
}

/*
 * One driver owns a bus. A streaming ascii sensor (no query) needs its bus
 * to itself: its lines would be read by whichever sensor polled next. Query
 * sensors may share a bus (RS-485 probes answering an addressed query), each
 * with its own query.
 */
static void check_bus_share(struct cfg_ctx *c, const struct config *cfg,
			    const config_setting_t *g, size_t i)
{
	const struct cfg_sensor *s = &cfg->sensors[i];

	for (size_t j = 0; s->bus >= 0 && j < i; j++) {
		const struct cfg_sensor *o = &cfg->sensors[j];
		const char *bus = cfg->buses[s->bus].name, *name = o->name ? o->name : "?";

		if (o->bus != s->bus)
			continue;
		if (o->driver != s->driver) {
			cfg_error(c, g, "driver", "%s on bus %s, which already carries the %s "
				  "sensor sensors[%zu] (%s): one driver per bus", drivers[s->driver],
				  bus, drivers[o->driver], j, name);
			return;
		}
		if (s->driver != DRIVER_ASCII)
			continue;
		if (!s->ascii.query) {
			cfg_error(c, g, "bus", "%s already carries sensors[%zu] (%s): a streaming "
				  "ascii sensor (no query) needs a bus of its own", bus, j, name);
			return;
		}
		if (!o->ascii.query) {
			cfg_error(c, g, "bus", "%s carries the streaming ascii sensor sensors[%zu] "
				  "(%s), which needs the bus to itself", bus, j, name);
			return;
		}
		if (strcmp(s->ascii.query, o->ascii.query) == 0) {
			cfg_error(c, g, "query", "is also the query of sensors[%zu] (%s) on bus %s: "
				  "both would take one answer", j, name, bus);
			return;
		}
	}
}

/* ---- sensors ------------------------------------------------------------ */

/* False when the driver was not understood (reported). */
static bool parse_sensor(struct cfg_ctx *c, const struct config *cfg,
			 const config_setting_t *g, struct cfg_sensor *s)
{
	char *bus = NULL;
	int driver, known;

	s->interval_s = 10;
	cfg_check_known(c, g, sensor_known);
	if (cfg_string(c, g, "name", CFG_REQUIRED, &s->name) > 0)
		cfg_name_ok(c, g, "name", s->name, CFG_NAME_MAX);
	if (cfg_string(c, g, "bus", CFG_REQUIRED, &bus) > 0) {
		s->bus = CFG_FIND(cfg->buses, cfg->n_buses, struct cfg_bus, name, bus);
		if (s->bus < 0)
			cfg_error(c, g, "bus", "no bus named \"%s\" in buses", CFG_SHOW(bus));
	}
	free(bus);
	known = cfg_enum(c, g, "driver", CFG_OPTIONAL, drivers, "driver", &driver);
	if (known > 0)
		s->driver = (enum driver_kind)driver;
	if (known >= 0 && s->driver == DRIVER_ASCII) {
		parse_ascii(c, g, &s->ascii);
		if (config_setting_get_member(g, "slave"))
			cfg_error(c, g, "slave", "is for modbus sensors: an ascii sensor has no "
				  "address (one its query must carry belongs in the query)");
	} else if (known >= 0) {
		reject_members(c, g, ascii_sensor_only, "only an ascii sensor has a %s");
		cfg_int(c, g, "slave", CFG_REQUIRED, 1, 247, "", &s->slave);
	}
	cfg_int(c, g, "interval_s", CFG_OPTIONAL, 1, 86400, "s", &s->interval_s);
	parse_gap(c, g, s);
	parse_channels(c, g, s, known >= 0);
	return known >= 0;
}

static void parse_sensors(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *l = cfg_group_list(c, root, "sensors", CFG_OPTIONAL);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	cfg->sensors = cfg_calloc(c, n, sizeof(*cfg->sensors));
	if (!cfg->sensors)
		return;
	cfg->n_sensors = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_sensor *s = &cfg->sensors[i];
		int j;

		*s = (struct cfg_sensor){ .bus = -1, .outlet = -1,
					  .line = (int)config_setting_source_line(g),
					  .ascii = { .separator = ',', .kv_separator = '=',
						     .decimal = '.', .max_line = 256 } };
		if (!cfg_is_group(c, g))
			continue;
		if (parse_sensor(c, cfg, g, s))
			check_bus_share(c, cfg, g, i);
		j = CFG_FIND(cfg->sensors, i, struct cfg_sensor, name, s->name);
		if (j >= 0)
			cfg_error(c, g, "name", "\"%s\" is already the name of sensors[%d]",
				  CFG_SHOW(s->name), j);
		for (j = 0; s->bus >= 0 && s->slave > 0 && j < (int)i; j++)
			if (cfg->sensors[j].bus == s->bus && cfg->sensors[j].slave == s->slave)
				cfg_error(c, g, "slave", "%d on bus %s is already sensors[%d] (%s)",
					  s->slave, cfg->buses[s->bus].name, j,
					  cfg->sensors[j].name);
	}
}

/* ---- loading ------------------------------------------------------------ */

static bool load_permits(struct cfg_ctx *c, struct config *cfg, config_t *lc,
			 const config_setting_t *gw)
{
	const config_setting_t *at = gw ? config_setting_get_member(gw, "permits") : NULL;
	bool usable;

	if (!cfg->permits_path ||
	    !cfg_read_file(c, lc, cfg->permits_path, at ? at : gw, at ? NULL : "permits"))
		return false;
	c->file = cfg->permits_path;
	usable = cfg_permits_parse(c, cfg, config_root_setting(lc));
	c->file = cfg->path;
	return usable;
}

static void parse_gateway_file(struct cfg_ctx *c, struct config *cfg, config_t *gw,
			       config_t *pm, const struct config_opts *opts)
{
	const config_setting_t *root = config_root_setting(gw);
	const config_setting_t *g;
	bool permits_read;

	cfg_check_known(c, root, root_known);
	g = cfg_member(c, root, "gateway", CFG_REQUIRED);
	if (g && !cfg_is_group(c, g))
		g = NULL;
	parse_gateway(c, cfg, g);
	parse_alerting(c, cfg, root);
	permits_read = load_permits(c, cfg, pm, g);
	parse_buses(c, cfg, root);
	parse_sensors(c, cfg, root);
	cfg_outlets_parse(c, cfg, root, permits_read);
	cfg_sinks_parse(c, cfg, root);
	cfg_lint(c, cfg, root, config_root_setting(pm), opts);
}

int config_load(const char *path, struct config **out, FILE *err)
{
	return config_load_opts(path, NULL, out, err);
}

int config_load_opts(const char *path, struct config_opts *opts, struct config **out,
		     FILE *err)
{
	struct config_opts none = { .strict = false };
	struct cfg_ctx c = { .err = err ? err : stderr, .file = path };
	struct config *cfg;
	config_t gw, pm;

	if (!path || !out)
		return -EINVAL;
	opts = opts ? opts : &none;
	c.strict = opts->strict;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->path = cfg_strdup(&c, path);
	cfg->data_dir = cfg_strdup(&c, "/var/lib/outfall");
	cfg->timezone = cfg_strdup(&c, "Asia/Shanghai");
	cfg->fsync_ms = 20000; /* DESIGN §9: the SD card budget, see the example */
	cfg->max_backlog_mb = 64;
	cfg->mqtt.tls_verify = true;
	config_init(&gw);
	config_init(&pm);
	cfg->strict = opts->strict;
	if (!c.nomem && cfg_read_file(&c, &gw, path, NULL, NULL))
		parse_gateway_file(&c, cfg, &gw, &pm, opts);
	config_destroy(&pm);
	config_destroy(&gw);
	opts->warnings = c.warnings;
	if (c.nomem || c.errors) {
		config_free(cfg);
		return c.nomem ? -ENOMEM : c.errors;
	}
	*out = cfg;
	return 0;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_buses; i++) {
		free(cfg->buses[i].name);
		free(cfg->buses[i].device);
	}
	for (size_t i = 0; i < cfg->n_sensors; i++) {
		for (size_t j = 0; j < cfg->sensors[i].n_channels; j++)
			free(cfg->sensors[i].channels[j].key);
		free(cfg->sensors[i].name);
		free(cfg->sensors[i].ascii.query);
		free(cfg->sensors[i].channels);
	}
	for (size_t i = 0; i < cfg->n_outlets; i++) {
		free(cfg->outlets[i].id);
		free(cfg->outlets[i].sensors);
	}
	cfg_permits_free(cfg);
	cfg_sinks_free(cfg);
	free(cfg->buses);
	free(cfg->sensors);
	free(cfg->outlets);
	free(cfg->path);
	free(cfg->permits_path);
	free(cfg->id);
	free(cfg->data_dir);
	free(cfg->run_dir);
	free(cfg->timezone);
	free(cfg);
}

/* ---- lookups ------------------------------------------------------------ */

int config_find_sensor(const struct config *cfg, const char *name)
{
	return CFG_FIND(cfg->sensors, cfg->n_sensors, struct cfg_sensor, name, name);
}

int config_find_outlet(const struct config *cfg, const char *id)
{
	return CFG_FIND(cfg->outlets, cfg->n_outlets, struct cfg_outlet, id, id);
}

const char *config_type_name(enum value_type t)
{
	return t >= VT_INT16 && t <= VT_FLOAT64 ? types[t] : "?";
}

const char *config_order_name(enum word_order o)
{
	return o >= WO_ABCD && o <= WO_DCBA ? orders[o] : "?";
}
