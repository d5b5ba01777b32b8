/*
 * get.c - the machinery every part of the config loader uses:
 * "file:line: setting: message" reporting that names the setting's full
 * path, and typed getters that check a setting's type and range as they
 * read it (see internal.h for their contract).
 */
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PATH_TEXT_MAX 256 /* a setting path: sensors[12].channels[3].word_order */
/* ---- reporting ---------------------------------------------------------- */

static void __attribute__((format(printf, 4, 5)))
text_append(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*len + 1 >= n)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *len, n - *len, fmt, ap);
	va_end(ap);
	/* A truncated path still points the installer at the right place. */
	if (r < 0)
		buf[*len] = '\0';
	else
		*len = (size_t)r >= n - *len ? n - 1 : *len + (size_t)r;
}

/* Builds "sensors[0].channels[1].word_order" by walking up to the root. */
static void setting_path(const config_setting_t *s, char *buf, size_t n, size_t *len)
{
	const config_setting_t *p = config_setting_parent(s);

	if (!p)
		return;
	setting_path(p, buf, n, len);
	if (config_setting_is_list(p) || config_setting_is_array(p))
		text_append(buf, n, len, "[%d]", config_setting_index(s));
	else
		text_append(buf, n, len, "%s%s", *len ? "." : "", config_setting_name(s));
}

/* How many of the n bytes at s to keep so the cut falls between two
 * UTF-8 characters: s[n] must not continue the character before it. */
static size_t utf8_head(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

#define ELLIPSIS "\u2026"

struct cfg_shown cfg_show(const char *s)
{
	struct cfg_shown r;
	size_t n = s ? strlen(s) : 0, head, tail;

	if (n <= CFG_SHOWN_MAX) {
		memcpy(r.s, s ? s : "", n + 1);
		return r;
	}
	head = utf8_head(s, CFG_SHOWN_MAX * 2 / 3);
	tail = CFG_SHOWN_MAX - (CFG_SHOWN_MAX * 2 / 3);
	while (tail > 0 && ((unsigned char)s[n - tail] & 0xc0) == 0x80)
		tail--; /* start the tail on a character */
	memcpy(r.s, s, head);
	memcpy(r.s + head, ELLIPSIS, sizeof(ELLIPSIS) - 1);
	memcpy(r.s + head + sizeof(ELLIPSIS) - 1, s + n - tail, tail + 1);
	return r;
}

/* The len bytes of text in buf (of cap bytes) were cut short: they end
 * with an ellipsis, cut between characters. */
static void mark_cut(char *buf, size_t len, size_t cap)
{
	size_t room = cap - sizeof(ELLIPSIS);
	size_t keep = len <= room ? len : utf8_head(buf, room);

	memcpy(buf + keep, ELLIPSIS, sizeof(ELLIPSIS));
}

/* The message, control characters shown as \xNN: a string from the file
 * (a name holding a newline, say) must not start a line of its own. */
static void put_text(FILE *out, const char *msg)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if ((*p < ' ' && *p != '\t') || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

static void report(struct cfg_ctx *c, const config_setting_t *at, const char *member,
		   const char *kind, const char *fmt, va_list ap)
{
	char path[PATH_TEXT_MAX] = "", msg[CFG_MSG_MAX];
	size_t len = 0;
	int n;
	const char *file = c->file;
	unsigned int line = 0;

	/* Point at the member itself when it exists: its line, not its group's. */
	if (at && member && config_setting_is_group(at) &&
	    config_setting_get_member(at, member)) {
		at = config_setting_get_member(at, member);
		member = NULL;
	}
	if (at) {
		setting_path(at, path, sizeof(path), &len);
		line = config_setting_source_line(at);
		if (config_setting_source_file(at))
			file = config_setting_source_file(at);
	}
	if (member)
		text_append(path, sizeof(path), &len, "%s%s", len ? "." : "", member);
	if (len + 1 >= sizeof(path))
		mark_cut(path, len, sizeof(path));
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	else if ((size_t)n >= sizeof(msg))
		mark_cut(msg, sizeof(msg) - 1, sizeof(msg));
	/* The root group sits on line 0; line 1 is where an editor should go. */
	fprintf(c->err, "%s:%u: %s%s%s", file, line ? line : 1, path, len ? ": " : "", kind);
	put_text(c->err, msg);
	fputc('\n', c->err);
}

void cfg_error(struct cfg_ctx *c, const config_setting_t *at, const char *member,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, at, member, "", fmt, ap);
	va_end(ap);
	c->errors++;
}

void cfg_warn(struct cfg_ctx *c, const config_setting_t *at, const char *member,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, at, member, c->strict ? "warning, an error under --strict: " : "warning: ",
	       fmt, ap);
	va_end(ap);
	c->warnings++;
	if (c->strict)
		c->errors++;
}

char *cfg_strdup(struct cfg_ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->nomem = true;
	return d;
}

void *cfg_calloc(struct cfg_ctx *c, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (!p)
		c->nomem = true;
	return p;
}

/* ---- typed getters ------------------------------------------------------ */

const char *cfg_type_text(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number with a fraction";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "true or false";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	default: return "nothing";
	}
}

void cfg_check_known(struct cfg_ctx *c, const config_setting_t *g, const char *const known[])
{
	for (int i = 0; g && i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(m), *meant;
		size_t k = 0;

		while (known[k] && strcmp(known[k], name) != 0)
			k++;
		if (known[k])
			continue;
		/* word_oder must not pass quietly as the default abcd */
		meant = cfg_suggest_name(name, known);
		if (!meant)
			cfg_warn(c, m, NULL, "unknown setting");
		else if (config_setting_get_member(g, meant))
			cfg_warn(c, m, NULL, "unknown setting, ignored; did you mean %s?", meant);
		else
			cfg_warn(c, m, NULL, "unknown setting, ignored; did you mean %s? (%s "
				 "itself is not set, so it keeps its default)", meant, meant);
	}
}

const config_setting_t *cfg_member(struct cfg_ctx *c, const config_setting_t *g,
				   const char *name, bool required)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;

	if (!s && g && required)
		cfg_error(c, g, name, "missing required setting");
	return s;
}

bool cfg_is_group(struct cfg_ctx *c, const config_setting_t *s)
{
	if (config_setting_is_group(s))
		return true;
	cfg_error(c, s, NULL, "expected a group { ... }, found %s", cfg_type_text(s));
	return false;
}

const config_setting_t *cfg_group_list(struct cfg_ctx *c, const config_setting_t *g,
				       const char *name, bool required)
{
	const config_setting_t *s = cfg_member(c, g, name, required);

	if (!s || config_setting_is_list(s))
		return s;
	/* libconfig spells an empty list [] as readily as () */
	if (config_setting_is_array(s) && config_setting_length(s) == 0)
		return s;
	cfg_error(c, s, NULL, "expected a list ( { ... }, ... ), found %s", cfg_type_text(s));
	return NULL;
}

int cfg_int(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	    long long lo, long long hi, const char *unit, int *v)
{
	const config_setting_t *s = cfg_member(c, g, name, required);
	long long x;

	if (!s)
		return required && g ? -1 : 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		x = config_setting_get_int(s);
	} else if (config_setting_type(s) == CONFIG_TYPE_INT64) {
		x = config_setting_get_int64(s);
	} else {
		cfg_error(c, s, NULL, "expected an integer, found %s", cfg_type_text(s));
		return -1;
	}
	if (x < lo || x > hi) {
		cfg_error(c, s, NULL, "%lld out of range %lld..%lld%s%s", x, lo, hi,
			  *unit ? " " : "", unit);
		return -1;
	}
	*v = (int)x;
	return 1;
}

int cfg_number(struct cfg_ctx *c, const config_setting_t *s, double *v)
{
	double x;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT: x = config_setting_get_int(s); break;
	case CONFIG_TYPE_INT64: x = (double)config_setting_get_int64(s); break;
	case CONFIG_TYPE_FLOAT: x = config_setting_get_float(s); break;
	default:
		cfg_error(c, s, NULL, "expected a number, found %s", cfg_type_text(s));
		return -1;
	}
	if (!isfinite(x)) {
		cfg_error(c, s, NULL, "%g is not a finite number", x);
		return -1;
	}
	*v = x;
	return 1;
}

int cfg_float(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	      double *v)
{
	const config_setting_t *s = cfg_member(c, g, name, required);

	if (!s)
		return required && g ? -1 : 0;
	return cfg_number(c, s, v);
}

int cfg_float_in(struct cfg_ctx *c, const config_setting_t *g, const char *name, double lo,
		 double hi, const char *unit, double *v)
{
	double x;
	int r = cfg_float(c, g, name, CFG_OPTIONAL, &x);

	if (r <= 0)
		return r;
	if (x < lo || x > hi) {
		cfg_error(c, g, name, "%g out of range %g..%g%s%s", x, lo, hi, *unit ? " " : "",
			  unit);
		return -1;
	}
	*v = x;
	return 1;
}

int cfg_bool(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool *v)
{
	const config_setting_t *s = cfg_member(c, g, name, CFG_OPTIONAL);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_error(c, s, NULL, "expected true or false, found %s", cfg_type_text(s));
		return -1;
	}
	*v = config_setting_get_bool(s);
	return 1;
}

/* Strict UTF-8: what MQTT topics and JSON demand. Permits prepared on an
 * office PC often arrive in GBK, which would corrupt every alert. */
static bool utf8_valid(const unsigned char *p)
{
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;
		unsigned int cp;

		if (n < 0)
			return false;
		cp = n == 0 ? *p : *p & (0x3fu >> n);
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

int cfg_string(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	       char **v)
{
	const config_setting_t *s = cfg_member(c, g, name, required);
	const char *str;
	char *copy;

	if (!s)
		return required && g ? -1 : 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_error(c, s, NULL, "expected a string, found %s", cfg_type_text(s));
		return -1;
	}
	str = config_setting_get_string(s);
	if (!*str) {
		cfg_error(c, s, NULL, "must not be empty");
		return -1;
	}
	if (!utf8_valid((const unsigned char *)str)) {
		cfg_error(c, s, NULL, "is not valid UTF-8 (save the file as UTF-8)");
		return -1;
	}
	if (strstr(str, CFG_PLACEHOLDER)) {
		cfg_error(c, s, NULL, "is still the example's placeholder \"%s\": %s",
			  CFG_SHOW(str), cfg_placeholder_hint(s));
		return -1;
	}
	copy = cfg_strdup(c, str);
	if (!copy)
		return -1;
	free(*v);
	*v = copy;
	return 1;
}

const char *cfg_escape(const char *s, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (len + sizeof("\\xHH") > n) { /* the longest piece may not fit */
			mark_cut(buf, len, n);
			break;
		}
		switch (*p) {
		case '\r': text_append(buf, n, &len, "\\r"); break;
		case '\n': text_append(buf, n, &len, "\\n"); break;
		case '\t': text_append(buf, n, &len, "\\t"); break;
		case '\\': text_append(buf, n, &len, "\\\\"); break;
		case '"': text_append(buf, n, &len, "\\\""); break;
		default:
			if (*p < ' ' || *p == 0x7f)
				text_append(buf, n, &len, "\\x%02x", *p);
			else
				text_append(buf, n, &len, "%c", *p);
		}
	}
	return buf;
}

/* "a, b or c" */
static void names_text(const char *const names[], char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i]; i++)
		text_append(buf, n, &len, "%s%s", i == 0 ? "" : names[i + 1] ? ", " : " or ",
			    names[i]);
}

int cfg_enum(struct cfg_ctx *c, const config_setting_t *g, const char *name, bool required,
	     const char *const names[], const char *what, int *v)
{
	char *str = NULL;
	char expected[160];
	int r = cfg_string(c, g, name, required, &str);

	if (r <= 0)
		return r;
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], str) == 0) {
			*v = i;
			free(str);
			return 1;
		}
	}
	names_text(names, expected, sizeof(expected));
	cfg_error(c, g, name, "unknown %s \"%s\" (expected %s)", what, CFG_SHOW(str),
		  expected);
	free(str);
	return -1;
}

bool cfg_name_ok(struct cfg_ctx *c, const config_setting_t *g, const char *member,
		 const char *name, size_t max)
{
	size_t n = strlen(name);

	if (n > max) {
		cfg_error(c, g, member, "\"%s\" is %zu bytes, longer than %zu", CFG_SHOW(name), n,
			  max);
		return false;
	}
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p == '/' || *p == '+' || *p == '#') {
			cfg_error(c, g, member, "\"%s\" contains '%c', which MQTT topics and "
				  "InfluxDB tags cannot carry", CFG_SHOW(name), *p);
			return false;
		}
		if (*p <= ' ' || *p == 0x7f) {
			cfg_error(c, g, member, "\"%s\" contains whitespace or a control character "
				  "(0x%02x), which MQTT topics and InfluxDB tags cannot carry",
				  CFG_SHOW(name), *p);
			return false;
		}
	}
	return true;
}

int cfg_find_name(const void *base, size_t n, size_t stride, size_t off, const char *name)
{
	for (size_t i = 0; name && i < n; i++) {
		const char *s = *(char *const *)((const char *)base + i * stride + off);

		if (s && strcmp(s, name) == 0)
			return (int)i;
	}
	return -1;
}

void cfg_debounce(struct cfg_ctx *c, const config_setting_t *g, double *hysteresis_pct,
		  int *raise_after_s, int *clear_after_s)
{
	double h;

	if (cfg_float(c, g, "hysteresis_pct", CFG_OPTIONAL, &h) > 0) {
		if (h < 0 || h > 50)
			cfg_error(c, g, "hysteresis_pct", "%g out of range 0..50 %%", h);
		else
			*hysteresis_pct = h;
	}
	cfg_int(c, g, "raise_after_s", CFG_OPTIONAL, 0, 86400, "s", raise_after_s);
	cfg_int(c, g, "clear_after_s", CFG_OPTIONAL, 0, 86400, "s", clear_after_s);
}

/* Alerts and sinks copy these into fixed-size fields; better refuse here
 * than truncate a legal document's number in every alert. */
void cfg_check_fits(struct cfg_ctx *c, const config_setting_t *g, const char *name,
		       const char *s, size_t cap)
{
	if (s && strlen(s) >= cap)
		cfg_error(c, g, name, "is %zu bytes, more than the %zu this version carries",
			  strlen(s), cap - 1);
}
