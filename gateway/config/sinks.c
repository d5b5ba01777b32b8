/*
 * sinks.c - the sinks that carry readings, aggregates and alerts
 * away (MQTT, InfluxDB; HJ 212 platforms in platform.c), the local history that keeps them on the gateway,
 * and the -n summary an installer reads before
 * leaving the site. Parsing helpers come from get.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/param.h"

/* ---- sinks -------------------------------------------------------------- */

static const char *const sinks_known[] = { "mqtt", "influx", "hj212", NULL };
static const char *const mqtt_known[] = { "uri", "qos", "client_id", "username",
					  "password_file", "keepalive_s", "topic_root", "tls",
					  NULL };
static const char *const tls_known[] = { "ca_file", "cert_file", "key_file", "verify", NULL };
static const char *const influx_known[] = { "url", "api", "db", "org", "bucket", "token_file",
					    "username", "password_file", "batch_max",
					    "flush_ms", "timeout_ms", "gzip", NULL };
static const char *const history_known[] = { "dir", "raw_days", "aggregate_days", "max_mb",
					     "commit_s", NULL };
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
			  "and a host, e.g. tcp://127.0.0.1:1883)", CFG_SHOW(m->uri), why);
	cfg_int(c, g, "qos", CFG_OPTIONAL, 0, 2, "", &m->qos);
	cfg_int(c, g, "keepalive_s", CFG_OPTIONAL, 5, 3600, "s", &m->keepalive_s);
	cfg_check_fits(c, g, "uri", m->uri, MQTT_TEXT_MAX);
	cfg_string(c, g, "client_id", CFG_OPTIONAL, &m->client_id);
	cfg_check_fits(c, g, "client_id", m->client_id, MQTT_TEXT_MAX);
	cfg_string(c, g, "username", CFG_OPTIONAL, &m->username);
	if (cfg_string(c, g, "password_file", CFG_OPTIONAL, &m->password_file) > 0 &&
	    !cfg_member(c, g, "username", CFG_OPTIONAL))
		cfg_error(c, g, "username", "missing: password_file needs a username");
	if (cfg_string(c, g, "topic_root", CFG_OPTIONAL, &m->topic_root) > 0) {
		n = strlen(m->topic_root);
		if (strpbrk(m->topic_root, "+#") || m->topic_root[0] == '/' ||
		    m->topic_root[n - 1] == '/')
			cfg_error(c, g, "topic_root", "\"%s\" must not contain + or # nor start "
				  "or end with /", CFG_SHOW(m->topic_root));
		cfg_check_fits(c, g, "topic_root", m->topic_root, TOPIC_ROOT_MAX);
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
			  "e.g. http://127.0.0.1:8086)", CFG_SHOW(x->url), why);
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

/* The local history (a top-level section: it is kept on the gateway, not
 * sent anywhere). No section: no history. */
static void parse_history(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *g = cfg_member(c, root, "history", CFG_OPTIONAL);
	struct cfg_history *h = &cfg->history;

	if (!g || !cfg_is_group(c, g))
		return;
	h->enabled = true;
	h->raw_days = 31;
	h->aggregate_days = 400;
	h->max_mb = 512;
	h->commit_s = 300;
	cfg_check_known(c, g, history_known);
	if (cfg_string(c, g, "dir", CFG_OPTIONAL, &h->dir) > 0 && h->dir[0] != '/')
		cfg_error(c, g, "dir", "\"%s\" must be an absolute path", CFG_SHOW(h->dir));
	cfg_int(c, g, "raw_days", CFG_OPTIONAL, 1, 3650, "days", &h->raw_days);
	cfg_int(c, g, "aggregate_days", CFG_OPTIONAL, 1, 36500, "days", &h->aggregate_days);
	cfg_int(c, g, "max_mb", CFG_OPTIONAL, 16, 1048576, "MiB", &h->max_mb);
	cfg_int(c, g, "commit_s", CFG_OPTIONAL, 1, 3600, "s", &h->commit_s);
	if (!h->dir && cfg->data_dir && asprintf(&h->dir, "%s/history", cfg->data_dir) < 0) {
		h->dir = NULL;
		c->nomem = true;
	}
}

void cfg_sinks_parse(struct cfg_ctx *c, struct config *cfg, const config_setting_t *root)
{
	parse_history(c, cfg, root);
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
		cfg_hj212_parse(c, cfg, g);
	}
	if (!cfg->mqtt.enabled && !cfg->influx.enabled && !cfg->n_hj212)
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
	free(cfg->history.dir);
	cfg_hj212_free(cfg);
}

/* ---- the -n summary ----------------------------------------------------- */

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_sensor(const struct config *cfg, const struct cfg_sensor *s, FILE *out)
{
	if (s->driver == DRIVER_ASCII)
		fprintf(out, "sensor %s: bus %s, ascii %s lines of at most %d bytes%s, %s",
			s->name, cfg->buses[s->bus].name,
			s->ascii.format == ASCII_KV ? "kv" : "csv", s->ascii.max_line,
			s->ascii.decimal == ',' ? " with decimal commas" : "",
			s->ascii.query ? "asked" : "streaming");
	else
		fprintf(out, "sensor %s: bus %s, modbus slave %d", s->name,
			cfg->buses[s->bus].name, s->slave);
	fprintf(out, ", every %d s, gap after %d s, outlet %s\n", s->interval_s, s->gap_s,
		s->outlet >= 0 ? cfg->outlets[s->outlet].id : "(none)");
	for (size_t i = 0; i < s->n_channels; i++) {
		const struct cfg_channel *ch = &s->channels[i];

		if (ch->key)
			fprintf(out, "  %-13s key %s, scale %g", param_name(ch->param), ch->key,
				ch->scale);
		else if (ch->field > 0)
			fprintf(out, "  %-13s field %d, scale %g", param_name(ch->param), ch->field,
				ch->scale);
		else
			fprintf(out, "  %-13s %-7s 0x%04X (%5d) %-7s %s, scale %g",
				param_name(ch->param), ch->table == TABLE_INPUT ? "input" : "holding",
				(unsigned int)ch->reg, ch->reg, config_type_name(ch->type),
				config_order_name(ch->order), ch->scale);
		if (ch->offset != 0)
			fprintf(out, ", offset %g", ch->offset);
		if (ch->has_range)
			fprintf(out, ", range %g..%g %s", ch->range_min, ch->range_max,
				param_unit(ch->param));
		if (ch->flatline_s)
			fprintf(out, ", flat after %d s", ch->flatline_s);
		fputc('\n', out);
	}
}

static void print_outlet(const struct config *cfg, const struct cfg_outlet *o, FILE *out)
{
	fprintf(out, "outlet %s: %s, permit %s, sensors", o->id,
		o->kind == OUTLET_STORM ? "storm" : "sewage",
		o->permit >= 0 ? cfg->permits[o->permit].number : "(none)");
	for (size_t j = 0; j < o->n_sensors; j++)
		fprintf(out, "%s %s", j ? "," : "", cfg->sensors[o->sensors[j]].name);
	fprintf(out, "\n  flow above %g m3/h is discharge", o->flow_noise_m3h);
	if (o->kind == OUTLET_STORM) {
		fprintf(out, "; rain excuses flow for %d min; sewage is", o->rain_hold_min);
		for (size_t j = 0; j < o->n_signature; j++)
			fprintf(out, "%s %s > %g %s", j ? "," : "", param_name(o->signature[j].param),
				o->signature[j].above, param_unit(o->signature[j].param));
		if (!o->n_signature)
			fprintf(out, " not looked for in pollutants");
	}
	fputc('\n', out);
}

static void print_acquisition(const struct config *cfg, FILE *out)
{
	fprintf(out, "gateway %s\n  data_dir %s\n  timezone %s\n  permits  %s\n"
		"  outbox   fsync every %d ms, at most %d MiB on disk\n  alerting hysteresis %g %%, raise after %d s, "
		"clear after %d s\n", cfg->id, cfg->data_dir, cfg->timezone, cfg->permits_path,
		cfg->fsync_ms, cfg->max_backlog_mb, cfg->alerting.hysteresis_pct, cfg->alerting.raise_after_s,
		cfg->alerting.clear_after_s);
	fprintf(out, "           no answer %d polls, garbled over %g %%, permit expiry "
		"warning %d days, coverage %g %%\n", cfg->alerting.no_response_polls,
		cfg->alerting.crc_error_pct, cfg->alerting.expiry_warning_days,
		cfg->alerting.coverage_pct);
	for (size_t i = 0; i < cfg->n_buses; i++) {
		const struct cfg_bus *b = &cfg->buses[i];

		fprintf(out, "bus %s: %s %d %d%c%d, timeout %d ms, %d %s\n", b->name, b->device,
			b->baud, b->data_bits, b->parity, b->stop_bits, b->timeout_ms,
			b->retries, plural((size_t)b->retries, "retry", "retries"));
	}
	for (size_t i = 0; i < cfg->n_sensors; i++)
		print_sensor(cfg, &cfg->sensors[i], out);
	for (size_t i = 0; i < cfg->n_outlets; i++)
		print_outlet(cfg, &cfg->outlets[i], out);
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
	fprintf(out, ", %s", config_basis_name(l->basis));
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
	if (cfg->history.enabled)
		fprintf(out, "history: %s, a transaction every %d s, readings %d days, aggregates "
			"and alerts %d days, at most %d MiB\n", cfg->history.dir,
			cfg->history.commit_s, cfg->history.raw_days, cfg->history.aggregate_days,
			cfg->history.max_mb);
	cfg_hj212_print(cfg, out);
	if (!m->enabled && !x->enabled && !cfg->n_hj212)
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
