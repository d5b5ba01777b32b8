/*
 * setup.c - building the InfluxDB sink: checking its settings,
 * reading the password or token file (once, here), the write URL, the
 * headers and the libcurl handles, and the buffers it keeps for its life -
 * the request body, the batch table and the gzip output - so that sending
 * never allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "base/secret.h"

#ifndef OUTFALL_VERSION
#define OUTFALL_VERSION "dev"
#endif

#define INFLUX_URL_MAX 2048
#define INFLUX_SECRET_MAX 1024         /* password or token file */
#define INFLUX_CONNECT_MS 5000

/* Reads a one-line secret with secret_read() (a regular file only, never
 * blocking on a FIFO, size-capped), trailing newline trimmed. It goes into
 * an HTTP header, so control characters are refused too. */
static int influx_read_secret(const char *path, char *buf, size_t cap)
{
	int err = secret_read(path, buf, cap);

	for (size_t i = 0; !err && buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			err = -EINVAL;
	if (err)
		secret_wipe(buf, cap);
	return err;
}

static int influx_check_cfg(const struct cfg_influx *cfg)
{
	const char *why = NULL;

	if (!cfg->url || (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8)))
		why = "url must start with http:// or https://";
	else if (cfg->api == 1 ? !cfg->db || !*cfg->db
		 : cfg->api != 2 || !cfg->org || !cfg->bucket || !cfg->token_file)
		why = "api 1 needs db; api 2 needs org, bucket and token_file";
	else if (cfg->api == 1 && !cfg->username != !cfg->password_file)
		why = "username and password_file go together";
	else if (cfg->batch_max < 1 || cfg->flush_ms < 1 || cfg->timeout_ms < 1)
		why = "batch_max, flush_ms and timeout_ms must be positive";
	if (why)
		log_err("influx: %s", why);
	return why ? -EINVAL : 0;
}

/* The write URL, and for logs where we write and what a 404 means. Log
 * texts may be cut by snprintf; only the URL must be whole. */
static int influx_names(struct influx *s, const struct cfg_influx *cfg, char *url, size_t cap)
{
	char msg[INFLUX_MSG_MAX];
	int base = (int)strnlen(cfg->url, INFLUX_URL_MAX);
	char *a = curl_easy_escape(s->easy, cfg->api == 1 ? cfg->db : cfg->org, 0);
	char *b = curl_easy_escape(s->easy, cfg->api == 1 ? "" : cfg->bucket, 0);
	int n = -1;

	while (base > 0 && cfg->url[base - 1] == '/')
		base--;
	if (a && b && cfg->api == 1)
		n = snprintf(url, cap, "%.*s/write?db=%s&precision=ms", base, cfg->url, a);
	else if (a && b)
		n = snprintf(url, cap, "%.*s/api/v2/write?org=%s&bucket=%s&precision=ms", base,
			     cfg->url, a, b);
	curl_free(a);
	curl_free(b);
	if (n < 0 || (size_t)n >= cap) {
		log_err("influx: the write URL does not fit in %zu bytes", cap);
		return -ENAMETOOLONG;
	}
	if (cfg->api == 1)
		snprintf(msg, sizeof(msg), "database \"%s\" at %.*s", cfg->db, base, cfg->url);
	else
		snprintf(msg, sizeof(msg), "bucket \"%s\" (org \"%s\") at %.*s", cfg->bucket,
			 cfg->org, base, cfg->url);
	s->where = strdup(msg);
	if (cfg->api == 1)
		snprintf(msg, sizeof(msg), "influx: database \"%s\" not found at %.*s (HTTP 404); "
			 "create it with: influx -execute 'CREATE DATABASE \"%s\"' - keeping the "
			 "data and retrying", cfg->db, base, cfg->url, cfg->db);
	else
		snprintf(msg, sizeof(msg), "influx: org \"%s\" or bucket \"%s\" not found at %.*s "
			 "(HTTP 404); create it with: influx bucket create --org \"%s\" --name "
			 "\"%s\" - keeping the data and retrying", cfg->org, cfg->bucket, base,
			 cfg->url, cfg->org, cfg->bucket);
	s->nodb_msg = strdup(msg);
	return s->where && s->nodb_msg ? 0 : -ENOMEM;
}

/* The v2 token or v1 basic auth from its file; *hdr gets the v2 header. */
static int influx_auth(struct influx *s, const struct cfg_influx *cfg, char *hdr, size_t cap)
{
	char secret[INFLUX_SECRET_MAX];
	const char *file = cfg->api == 2 ? cfg->token_file : cfg->password_file;
	int err;

	if (!file)
		return 0;
	if (snprintf(s->secret_file, sizeof(s->secret_file), "%s", file) >=
	    (int)sizeof(s->secret_file)) {
		log_err("influx: %s path is too long", cfg->api == 2 ? "token_file" : "password_file");
		return -ENAMETOOLONG;
	}
	/* stamped before reading: a change while we read shows up next time */
	filestamp_take(&s->secret_stamp, file);
	err = influx_read_secret(file, secret, sizeof(secret));
	if (err) {
		log_err("influx: cannot use %s %s: %s",
			cfg->api == 2 ? "token_file" : "password_file", file,
			err == -EINVAL ? "not a regular file, empty, or holds control characters" :
			err == -EFBIG ? "too large for a secret" : strerror(-err));
		return err;
	}
	if (cfg->api == 2) {
		int n = snprintf(hdr, cap, "Authorization: Token %s", secret);

		err = n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
	} else if (curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
		   curl_easy_setopt(s->easy, CURLOPT_USERNAME, cfg->username) ||
		   curl_easy_setopt(s->easy, CURLOPT_PASSWORD, secret)) {
		err = -ENOMEM;
	}
	explicit_bzero(secret, sizeof(secret));
	return err;
}

static int influx_headers(struct influx *s, const struct cfg_influx *cfg)
{
	char auth[INFLUX_SECRET_MAX + 32] = "";
	int err = influx_auth(s, cfg, auth, sizeof(auth));
	const char *h[] = {
		"Content-Type: text/plain; charset=utf-8",
		"Expect:", /* no 100-continue round trip before large bodies */
		cfg->gzip ? "Content-Encoding: gzip" : NULL,
		auth[0] ? auth : NULL,
	};

	for (size_t i = 0; !err && i < sizeof(h) / sizeof(h[0]); i++) {
		struct curl_slist *l = h[i] ? curl_slist_append(s->headers, h[i]) : s->headers;

		if (!l)
			err = -ENOMEM;
		else
			s->headers = l;
	}
	explicit_bzero(auth, sizeof(auth));
	return err;
}

static int influx_setup_curl(struct influx *s, const struct cfg_influx *cfg)
{
	char url[INFLUX_URL_MAX];
	int err;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	s->curl_inited = true;
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (!s->multi || !s->easy)
		return -ENOMEM;
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
		log_warn("influx: this libcurl resolves names synchronously; use an IP address "
			 "in url or the loop may stall on DNS");
	err = influx_names(s, cfg, url, sizeof(url));
	if (!err)
		err = influx_headers(s, cfg);
	if (err)
		return err;
	if (curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, influx_sock_cb) ||
	    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, influx_timer_cb) ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) ||
	    curl_easy_setopt(s->easy, CURLOPT_URL, url) ||
	    curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers) ||
	    curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "outfall/" OUTFALL_VERSION) ||
	    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(s->easy, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)INFLUX_CONNECT_MS) ||
	    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms) ||
	    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf) ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, influx_write_cb) ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s)) {
		log_err("influx: libcurl refused an option");
		return -EINVAL;
	}
	return 0;
}

/* Allocated once (body, batch table, compression state and output): no
 * per-batch malloc. windowBits 31 = 15 + 16 asks zlib for the gzip wrapper. */
int influx_setup(struct influx *s, const struct cfg_influx *cfg, const char *gateway_id,
		 const char *data_dir)
{
	int err = influx_check_cfg(cfg);

	if (!err)
		err = influx_dl_init(&s->dl, data_dir);
	if (err)
		return err;
	s->flush_ms = cfg->flush_ms;
	s->batch_limit = cfg->batch_max;
	s->gzip = cfg->gzip;
	s->gateway = strdup(gateway_id ? gateway_id : "");
	s->body.data = malloc(INFLUX_BODY_MAX);
	s->b.recs = malloc(sizeof(*s->b.recs) * INFLUX_BATCH_RECS);
	if (!s->gateway || !s->body.data || !s->b.recs)
		return -ENOMEM;
	s->body.cap = INFLUX_BODY_MAX;
	influx_batch_reset(s);
	err = influx_setup_curl(s, cfg);
	if (err || !cfg->gzip)
		return err;
	if (deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	s->z_ready = true;
	s->gz_cap = deflateBound(&s->z, INFLUX_BODY_MAX);
	s->gz = malloc(s->gz_cap);
	return s->gz ? 0 : -ENOMEM;
}
