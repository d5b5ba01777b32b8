/*
 * platform.c - sinks.hj212, the HJ 212 agency platforms (DESIGN §4,
 * domain/hj212.md): one group per platform, checked against what the
 * standard allows (MN of 24 hex characters, a 6-character PW, the ST code,
 * intervals from the standard's sets, OverTime and ReCount ranges), and the
 * lines of the -n summary that say what each platform will be sent.
 *
 * The password is read here from pw_file (or taken inline from pw) so that
 * -n finds a wrong one; it is never printed, and config_free wipes it.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/secret.h"

static const char *const hj212_known[] = { "name", "host", "port", "outlet", "mn", "pw",
					   "pw_file", "st", "version", "ack", "timeout_s",
					   "retries", "rtd_interval_s", "min_interval_min",
					   "max_rtd_age_s", "send", "local_codes", NULL };
static const int min_intervals[] = { 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 };
static const char *const send_names[] = { "2011", "2051", "2061", "2031", NULL };
/* Sink names the daemon already uses for its other sinks. */
static const char *const reserved_names[] = { "mqtt", "influx", "history", "none", NULL };

/* ---- single settings ------------------------------------------------------ */

static bool name_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void parse_name(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	if (cfg_string(c, g, "name", CFG_REQUIRED, &h->name) <= 0)
		return;
	if (strlen(h->name) > CFG_HJ212_NAME_MAX || !name_chars_ok(h->name))
		cfg_error(c, g, "name", "\"%s\": expected 1..%d of a-z, 0-9 and _ (it names the "
			  "platform's outbox cursor file)", h->name, CFG_HJ212_NAME_MAX);
	for (size_t i = 0; reserved_names[i]; i++)
		if (strcmp(h->name, reserved_names[i]) == 0)
			cfg_error(c, g, "name", "\"%s\" is the name of another sink; choose another "
				  "(e.g. \"city\" or \"province\")", h->name);
}

static void parse_host(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	if (cfg_string(c, g, "host", CFG_REQUIRED, &h->host) <= 0)
		return;
	if (strlen(h->host) > CFG_HJ212_HOST_MAX || strpbrk(h->host, " \t\r\n/"))
		cfg_error(c, g, "host", "\"%s\": expected a host name or an address, without "
			  "scheme, port or path", h->host);
	cfg_int(c, g, "port", CFG_REQUIRED, 1, 65535, "", &h->port);
}

static void parse_mn(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	char *mn = NULL;
	size_t n;

	if (cfg_string(c, g, "mn", CFG_REQUIRED, &mn) <= 0)
		return;
	n = strlen(mn);
	if (n != CFG_HJ212_MN_LEN || strspn(mn, "0123456789ABCDEFabcdef") != n)
		cfg_error(c, g, "mn", "\"%s\" is %zu characters; the standard's MN is %d "
			  "characters 0-9 and A-F (the code the agency assigned to this outlet)",
			  mn, n, CFG_HJ212_MN_LEN);
	else
		for (size_t i = 0; i <= n; i++) /* upper case, as platforms compare it */
			h->mn[i] = (char)(mn[i] >= 'a' && mn[i] <= 'f' ? mn[i] - 32 : mn[i]);
	free(mn);
}

/* PW: 6 characters the segment can carry (no ';' '&' '=' ',' nor control). */
static bool pw_ok(const char *pw)
{
	if (strlen(pw) != CFG_HJ212_PW_LEN)
		return false;
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr(";&=,", *p))
			return false;
	return true;
}

static void parse_pw(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	char *pw = NULL, buf[64];
	int rc;

	if (cfg_string(c, g, "pw", CFG_OPTIONAL, &pw) > 0) {
		if (pw_ok(pw))
			memcpy(h->pw, pw, CFG_HJ212_PW_LEN + 1);
		else
			cfg_error(c, g, "pw", "expected %d printable ASCII characters without "
				  "; & = or , (HJ 212 6.3.2)", CFG_HJ212_PW_LEN);
		secret_wipe(pw, strlen(pw));
		free(pw);
	}
	if (cfg_string(c, g, "pw_file", CFG_OPTIONAL, &h->pw_file) <= 0) {
		if (!cfg_member(c, g, "pw", CFG_OPTIONAL) && !cfg_member(c, g, "pw_file",
									   CFG_OPTIONAL))
			cfg_error(c, g, "pw_file", "missing: the platform's access password, in a "
				  "file (pw_file) or inline (pw)");
		return;
	}
	if (cfg_member(c, g, "pw", CFG_OPTIONAL)) {
		cfg_error(c, g, "pw_file", "pw and pw_file both given; keep one");
		return;
	}
	rc = secret_read(h->pw_file, buf, sizeof(buf));
	if (rc < 0)
		cfg_error(c, g, "pw_file", "%s: %s", h->pw_file, secret_strerror(rc));
	else if (!pw_ok(buf))
		cfg_error(c, g, "pw_file", "%s: the password must be %d printable ASCII "
			  "characters without ; & = or , (HJ 212 6.3.2)", h->pw_file,
			  CFG_HJ212_PW_LEN);
	else
		memcpy(h->pw, buf, CFG_HJ212_PW_LEN + 1);
	secret_wipe(buf, sizeof(buf));
}

static void parse_st_version(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	h->st = 32;
	h->version = 2017;
	if (cfg_int(c, g, "st", CFG_OPTIONAL, 0, 99, "", &h->st) > 0 && h->st == 91)
		cfg_error(c, g, "st", "91 is the system interaction code replies carry; a "
			  "discharge outlet is 32 (地表水体环境污染源)");
	else if (h->st == 31)
		cfg_warn(c, g, "st", "31 is an AIR pollution source; a sewer or water outlet is 32");
	if (cfg_int(c, g, "version", CFG_OPTIONAL, 0, 9999, "", &h->version) > 0 &&
	    h->version != 2017 && h->version != 2025)
		cfg_error(c, g, "version", "%d: expected 2017 (HJ 212-2017) or 2025 "
			  "(HJ 212-2025)", h->version);
}

static void parse_intervals(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	size_t i = 0, n = sizeof(min_intervals) / sizeof(min_intervals[0]);

	h->rtd_interval_s = 60;
	h->min_interval_min = 10;
	h->max_rtd_age_s = 3600;
	cfg_int(c, g, "rtd_interval_s", CFG_OPTIONAL, 30, 3600, "s", &h->rtd_interval_s);
	if (cfg_int(c, g, "min_interval_min", CFG_OPTIONAL, 0, 1440, "min",
		    &h->min_interval_min) > 0) {
		while (i < n && min_intervals[i] != h->min_interval_min)
			i++;
		if (i == n)
			cfg_error(c, g, "min_interval_min", "%d min is not one of the standard's "
				  "minute-data intervals (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)",
				  h->min_interval_min);
	}
	cfg_int(c, g, "max_rtd_age_s", CFG_OPTIONAL, 0, 31 * 86400, "s", &h->max_rtd_age_s);
}

static void parse_delivery(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	h->ack = true;
	h->timeout_s = 10;
	h->retries = 3;
	cfg_bool(c, g, "ack", &h->ack);
	cfg_int(c, g, "timeout_s", CFG_OPTIONAL, 1, 99, "s", &h->timeout_s);
	cfg_int(c, g, "retries", CFG_OPTIONAL, 0, 99, "", &h->retries);
}

static void parse_send(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	const config_setting_t *a = cfg_member(c, g, "send", CFG_OPTIONAL);
	int n;

	h->send = HJS_ALL;
	if (!a)
		return;
	if (!config_setting_is_array(a) && !config_setting_is_list(a)) {
		cfg_error(c, a, NULL, "expected a list like [\"2011\", \"2051\", \"2061\", "
			  "\"2031\"], found %s", cfg_type_text(a));
		return;
	}
	h->send = 0;
	n = config_setting_length(a);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(a, (unsigned)i);
		const char *s = config_setting_get_string(e);
		int k = 0;

		while (s && send_names[k] && strcmp(send_names[k], s) != 0)
			k++;
		if (!s || !send_names[k])
			cfg_error(c, e, NULL, "\"%s\": expected \"2011\" (real-time), \"2051\" "
				  "(minute), \"2061\" (hourly) or \"2031\" (daily)", s ? s : "?");
		else
			h->send |= 1u << k;
	}
	if (!h->send && n == 0)
		cfg_warn(c, a, NULL, "empty: this platform will be sent nothing but 2081");
}

static bool code_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= CFG_HJ212_CODE_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == n;
}

static void parse_codes(struct cfg_ctx *c, const config_setting_t *g, struct cfg_hj212 *h)
{
	const config_setting_t *l = cfg_member(c, g, "local_codes", CFG_OPTIONAL);
	int n;

	if (!l || !cfg_is_group(c, l))
		return;
	n = config_setting_length(l);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const char *name = config_setting_name(e);
		int p = param_from_name(name);
		char *code = NULL;

		if (p < 0) {
			cfg_error(c, e, NULL, "\"%s\" is not a parameter (expected one of %s)", name,
				  param_all_names());
			continue;
		}
		if (cfg_string(c, l, name, CFG_REQUIRED, &code) <= 0)
			continue;
		if (!code_ok(code))
			cfg_error(c, e, NULL, "\"%s\": expected 2..%d letters and digits", code,
				  CFG_HJ212_CODE_MAX);
		else if (param_hj212(p))
			cfg_warn(c, e, NULL, "%s has the standard code %s; the local code %s is sent "
				 "instead", name, param_hj212(p), code);
		free(h->local_code[p]);
		h->local_code[p] = code;
	}
}

/* The outlet whose data this platform gets: named, or the only one. */
static void parse_outlet(struct cfg_ctx *c, const struct config *cfg,
			 const config_setting_t *g, struct cfg_hj212 *h)
{
	char *id = NULL;

	h->outlet = -1;
	if (cfg_string(c, g, "outlet", CFG_OPTIONAL, &id) > 0) {
		h->outlet = config_find_outlet(cfg, id);
		if (h->outlet < 0)
			cfg_error(c, g, "outlet", "no outlet has id \"%s\"", id);
		free(id);
		return;
	}
	if (cfg->n_outlets == 1)
		h->outlet = 0;
	else
		cfg_error(c, g, "outlet", "missing: with %zu outlets, say whose data this MN "
			  "carries (an MN is one outlet's code)", cfg->n_outlets);
}

/* ---- the list ------------------------------------------------------------- */

static void parse_platform(struct cfg_ctx *c, const struct config *cfg,
			   const config_setting_t *g, struct cfg_hj212 *h)
{
	cfg_check_known(c, g, hj212_known);
	parse_name(c, g, h);
	parse_host(c, g, h);
	parse_outlet(c, cfg, g, h);
	parse_mn(c, g, h);
	parse_pw(c, g, h);
	parse_st_version(c, g, h);
	parse_delivery(c, g, h);
	parse_intervals(c, g, h);
	parse_send(c, g, h);
	parse_codes(c, g, h);
}

static int sinks_besides(const struct config *cfg)
{
	return cfg->mqtt.enabled + cfg->influx.enabled + cfg->history.enabled;
}

void cfg_hj212_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *sinks)
{
	const config_setting_t *l = cfg_group_list(c, sinks, "hj212", CFG_OPTIONAL);
	size_t n = l ? (size_t)config_setting_length(l) : 0;

	cfg->hj212 = cfg_calloc(c, n, sizeof(*cfg->hj212));
	if (!cfg->hj212)
		return;
	cfg->n_hj212 = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(l, (unsigned int)i);
		struct cfg_hj212 *h = &cfg->hj212[i];
		int j;

		h->line = (int)config_setting_source_line(g);
		h->outlet = -1;
		if (!cfg_is_group(c, g))
			continue;
		parse_platform(c, cfg, g, h);
		j = CFG_FIND(cfg->hj212, i, struct cfg_hj212, name, h->name);
		if (j >= 0)
			cfg_error(c, g, "name", "\"%s\" is already the name of hj212[%d]", h->name, j);
	}
	if (sinks_besides(cfg) + (int)n > CFG_MAX_SINKS)
		cfg_error(c, l, NULL, "%zu platforms and %d other sinks: at most %d sinks in all "
			  "(each keeps a cursor in the outbox)", n, sinks_besides(cfg),
			  CFG_MAX_SINKS);
}

void cfg_hj212_free(struct config *cfg)
{
	for (size_t i = 0; cfg->hj212 && i < cfg->n_hj212; i++) {
		struct cfg_hj212 *h = &cfg->hj212[i];

		free(h->name);
		free(h->host);
		free(h->pw_file);
		secret_wipe(h->pw, sizeof(h->pw));
		for (int p = 0; p < P_COUNT; p++)
			free(h->local_code[p]);
	}
	free(cfg->hj212);
	cfg->hj212 = NULL;
	cfg->n_hj212 = 0;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool config_hj212_same(const struct cfg_hj212 *a, const struct cfg_hj212 *b)
{
	if (!str_same(a->name, b->name) || !str_same(a->host, b->host) || a->port != b->port ||
	    a->outlet != b->outlet || strcmp(a->mn, b->mn) != 0 || strcmp(a->pw, b->pw) != 0 ||
	    !str_same(a->pw_file, b->pw_file) || a->st != b->st || a->version != b->version ||
	    a->ack != b->ack || a->timeout_s != b->timeout_s || a->retries != b->retries ||
	    a->rtd_interval_s != b->rtd_interval_s || a->min_interval_min != b->min_interval_min ||
	    a->max_rtd_age_s != b->max_rtd_age_s || a->send != b->send)
		return false;
	for (int p = 0; p < P_COUNT; p++)
		if (!str_same(a->local_code[p], b->local_code[p]))
			return false;
	return true;
}

/* ---- the -n summary ------------------------------------------------------- */

static const char *code_of(const struct cfg_hj212 *h, int p)
{
	return h->local_code[p] ? h->local_code[p] : param_hj212(p);
}

/* The outlet's parameters, each once, in enum order. */
static unsigned outlet_params(const struct config *cfg, const struct cfg_outlet *o)
{
	unsigned set = 0;

	for (size_t i = 0; i < o->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[o->sensors[i]];

		for (size_t k = 0; k < s->n_channels; k++)
			set |= 1u << s->channels[k].param;
	}
	return set;
}

static void print_factors(const struct cfg_hj212 *h, unsigned set, FILE *out)
{
	bool any_missing = false;

	fprintf(out, "  factors:");
	for (int p = 0; p < P_COUNT; p++) {
		if (!(set & (1u << p)) || p == P_VOLUME_TOTAL || !code_of(h, p))
			continue;
		if (p == P_FLOW)
			fprintf(out, " flow %s (L/s, Cou m3)", code_of(h, p));
		else if (p == P_PH || p == P_TEMP || p == P_CONDUCTIVITY || p == P_TURBIDITY)
			fprintf(out, " %s %s (%s)", param_name(p), code_of(h, p), param_unit(p));
		else
			fprintf(out, " %s %s (%s, Cou kg)", param_name(p), code_of(h, p),
				param_unit(p));
	}
	fputc('\n', out);
	for (int p = 0; p < P_COUNT; p++) {
		if (!(set & (1u << p)) || p == P_VOLUME_TOTAL || code_of(h, p))
			continue;
		fprintf(out, "%s %s", any_missing ? "," : "  NOT sent (no standard code; set one "
			"in local_codes):", param_name(p));
		any_missing = true;
	}
	if (any_missing)
		fputc('\n', out);
}

void cfg_hj212_print(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < cfg->n_hj212; i++) {
		const struct cfg_hj212 *h = &cfg->hj212[i];
		const struct cfg_outlet *o = &cfg->outlets[h->outlet];
		int flag = (h->version == 2025 ? 2 : 1) << 2 | h->ack;

		fprintf(out, "sink hj212 %s: %s:%d, MN %s, ST %d, HJ 212-%d, Flag=%d, pw %s\n",
			h->name, h->host, h->port, h->mn, h->st, h->version, flag,
			h->pw_file ? h->pw_file : "(inline)");
		if (h->ack)
			fprintf(out, "  delivered on the platform's 9014; resent after %d s, %d "
				"times, then reconnects\n", h->timeout_s, h->retries);
		else
			fprintf(out, "  ack = false: delivered once written to TCP (no 9014 asked)\n");
		fprintf(out, "  outlet %s: on connect 2081", o->id);
		if (h->send & HJS_RTD)
			fprintf(out, "; 2011 every %d s", h->rtd_interval_s);
		if ((h->send & HJS_RTD) && h->max_rtd_age_s)
			fprintf(out, " (skipped when older than %d s)", h->max_rtd_age_s);
		if (h->send & HJS_MIN)
			fprintf(out, "; 2051 every %d min", h->min_interval_min);
		if (h->send & HJS_HOUR)
			fprintf(out, "; 2061 hourly");
		if (h->send & HJS_DAY)
			fprintf(out, "; 2031 daily");
		fputc('\n', out);
		print_factors(h, outlet_params(cfg, o), out);
	}
}
