/*
 * config_fixture.h - what the config tests share: a small valid pair of
 * files written into a fresh temporary directory, patching one string in
 * them, loading with err captured by open_memstream, and the table-driven
 * check of a broken config (reported at the right file, line and setting
 * path, with the right message, and *out left alone).
 */
#ifndef OUTFALL_CONFIG_FIXTURE_H
#define OUTFALL_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/param.h"
#include "config/config.h"

#define PATH_LEN 512

struct env {
	char dir[PATH_LEN];
	char gw[PATH_LEN]; /* <dir>/outfall.conf */
	char pm[PATH_LEN]; /* <dir>/permits.conf */
};

/* A small, valid pair of files; the bad cases patch one string in them and
 * name the line they expect, so keep the line layout stable. */
static const char base_gw[] =
	"gateway: {\n"                                                          /* 1 */
	"  id = \"gw-1\";\n"                                                    /* 2 */
	"  data_dir = \"/var/lib/outfall\";\n"                                  /* 3 */
	"  timezone = \"Asia/Shanghai\";\n"                                     /* 4 */
	"  permits = \"permits.conf\";\n"                                       /* 5 */
	"  max_backlog_mb = 64;\n"                                               /* 6 */
	"};\n"                                                                  /* 7 */
	"alerting: { hysteresis_pct = 2.0; raise_after_s = 0; clear_after_s = 0; };\n" /* 8 */
	"buses = (\n"                                                           /* 9 */
	"  { name = \"bus0\"; device = \"/dev/ttyUSB0\"; baud = 9600; parity = \"N\";\n" /* 10 */
	"    data_bits = 8; stop_bits = 1; timeout_ms = 500; retries = 2; }\n"  /* 11 */
	");\n"                                                                  /* 12 */
	"sensors = (\n"                                                         /* 13 */
	"  { name = \"probe1\"; bus = \"bus0\"; driver = \"modbus\"; slave = 1; interval_s = 10;\n" /* 14 */
	"    channels = (\n"                                                    /* 15 */
	"      { parameter = \"cod\"; table = \"holding\"; register = 0; type = \"float32\";\n" /* 16 */
	"        word_order = \"abcd\"; scale = 1.0; range = [0.0, 2000.0]; },\n" /* 17 */
	"      { parameter = \"ph\"; register = 2; }\n"                         /* 18 */
	"    ); },\n"                                                           /* 19 */
	"  { name = \"flow1\"; bus = \"bus0\"; slave = 2;\n"                    /* 20 */
	"    channels = ( { parameter = \"flow\"; register = 0x1010; word_order = \"cdab\"; } ); }\n" /* 21 */
	");\n"                                                                  /* 22 */
	"outlets = (\n"                                                         /* 23 */
	"  { id = \"WS-001\"; kind = \"sewage\"; permit = \"P-1\"; sensors = [\"probe1\", \"flow1\"]; }\n" /* 24 */
	");\n"                                                                  /* 25 */
	"sinks: {\n"                                                            /* 26 */
	"  mqtt: { uri = \"tcp://127.0.0.1:1883\"; qos = 1; };\n"               /* 27 */
	"  influx: { url = \"http://127.0.0.1:8086\"; api = \"v1\"; db = \"outfall\"; };\n" /* 28 */
	"};\n";                                                                 /* 29 */

static const char base_pm[] =
	"permits = (\n"                                                         /* 1 */
	"  { number = \"P-1\"; holder = \"Holder Ltd\"; category = \"catering\";\n" /* 2 */
	"    valid_from = \"2023-03-01\"; valid_until = \"2028-02-28\";\n"      /* 3 */
	"    daily_volume_max_m3 = 120.0; template = \"GB/T31962-B\";\n"       /* 4 */
	"    limits = (\n"                                                      /* 5 */
	"      { parameter = \"ph\"; min = 6.5; max = 9.5; basis = \"instant\"; },\n" /* 6 */
	"      { parameter = \"cod\"; max = 400.0; basis = \"rolling\"; window_min = 60; }\n" /* 7 */
	"    ); }\n"                                                            /* 8 */
	");\n";                                                                 /* 9 */

/* ---- helpers ------------------------------------------------------------ */

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static inline char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* base with the first occurrence of from replaced by to; the patch must apply. */
static inline char *patch(const char *base, const char *from, const char *to)
{
	const char *at = from ? strstr(base, from) : NULL;
	size_t head, n_to, tail;
	char *out;

	if (!from) {
		out = strdup(base);
		assert_non_null(out);
		return out;
	}
	if (!at)
		fail_msg("patch \"%s\" does not apply", from);
	head = (size_t)(at - base);
	n_to = strlen(to);
	tail = strlen(at + strlen(from));
	out = malloc(head + n_to + tail + 1);
	assert_non_null(out);
	memcpy(out, base, head);
	memcpy(out + head, to, n_to);
	memcpy(out + head + n_to, at + strlen(from), tail + 1);
	return out;
}

/* The day the tests load on, whatever the clock says: inside base_pm's
 * validity (and the examples'), so no test depends on the real date. */
#define TEST_TODAY ((struct cfg_date){ 2026, 6, 1 })

/* Writes both files, loads with opts, and returns config_load_opts's
 * result; *errtext (caller frees) gets everything written to err. */
static inline int load_texts_opts(const struct env *e, const char *gw, const char *pm,
				  struct config_opts *opts, struct config **cfg, char **errtext)
{
	size_t len = 0;
	FILE *err = open_memstream(errtext, &len);
	int r;

	assert_non_null(err);
	write_file(e->gw, gw);
	write_file(e->pm, pm);
	r = config_load_opts(e->gw, opts, cfg, err);
	assert_int_equal(fclose(err), 0);
	return r;
}

/* The same, as outfalld -n loads on TEST_TODAY. */
static inline int load_texts(const struct env *e, const char *gw, const char *pm,
			     struct config **cfg, char **errtext)
{
	struct config_opts o = { .has_today = true, .today = TEST_TODAY };

	return load_texts_opts(e, gw, pm, &o, cfg, errtext);
}

/* Lines of text that start with prefix and contain msg. */
static inline int count_lines(const char *text, const char *prefix, const char *msg)
{
	int n = 0;

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if (strncmp(buf, prefix, strlen(prefix)) == 0 && strstr(buf, msg))
			n++;
		line = end ? end + 1 : NULL;
	}
	return n;
}

static inline int error_lines(const char *text)
{
	return count_lines(text, "", "") - count_lines(text, "", ": warning: ");
}

static inline int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct env *e = calloc(1, sizeof(*e));
	int n;

	if (!e)
		return -1;
	if (!tmp || !*tmp)
		tmp = P_tmpdir;
	n = snprintf(e->dir, sizeof(e->dir), "%s/test_config.", tmp);
	if (n < 0 || (size_t)n + 7 > sizeof(e->dir)) {
		free(e);
		return -1;
	}
	memset(e->dir + n, 'X', 6); /* the six characters mkdtemp replaces */
	e->dir[n + 6] = '\0';
	if (!mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	if (snprintf(e->gw, sizeof(e->gw), "%s/outfall.conf", e->dir) >= (int)sizeof(e->gw) ||
	    snprintf(e->pm, sizeof(e->pm), "%s/permits.conf", e->dir) >= (int)sizeof(e->pm)) {
		rmdir(e->dir);
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static inline int teardown(void **state)
{
	struct env *e = *state;

	unlink(e->gw);
	unlink(e->pm);
	rmdir(e->dir);
	free(e);
	return 0;
}

/* Moves flow1 to a storm outlet YS-1 on the outlets' line, with settings. */
#define STORM_FROM "sensors = [\"probe1\", \"flow1\"]; }"
#define STORM_TO(settings) "sensors = [\"probe1\"]; }, { id = \"YS-1\"; kind = \"storm\"; " \
	"sensors = [\"flow1\"]; " settings " }"

struct bad_case {
	char patched;     /* 'g': patch the gateway file, 'p': the permits file */
	const char *from; /* replaced by to, first occurrence */
	const char *to;
	char reported;    /* file the (first) error is reported in: 'g' or 'p' */
	int line;
	const char *path; /* setting path, NULL for a syntax error */
	const char *msg;  /* distinctive part of the message */
	int errors;       /* errors the load must count */
};

static inline void check_bad_case(const struct env *e, size_t i, const struct bad_case *bc)
{
	char *gw = patch(base_gw, bc->patched == 'g' ? bc->from : NULL, bc->to);
	char *pm = patch(base_pm, bc->patched == 'p' ? bc->from : NULL, bc->to);
	struct config *cfg = (struct config *)&cfg; /* a sentinel: must stay untouched */
	char *errtext = NULL;
	char prefix[PATH_LEN + 128];
	int r = load_texts(e, gw, pm, &cfg, &errtext);
	int want = bc->errors;

	snprintf(prefix, sizeof(prefix), "%s:%d: %s%s", bc->reported == 'g' ? e->gw : e->pm,
		 bc->line, bc->path ? bc->path : "", bc->path ? ": " : "");
	if (r != want || count_lines(errtext, prefix, bc->msg) != 1 ||
	    error_lines(errtext) != want || cfg != (struct config *)&cfg)
		fail_msg("bad case %zu (%s -> %s): returned %d, want %d errors with a line "
			 "\"%s...%s\"; got:\n%s", i, bc->from, bc->to, r, want, prefix, bc->msg,
			 errtext);
	free(errtext);
	free(gw);
	free(pm);
}

#endif
