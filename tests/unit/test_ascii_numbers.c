/*
 * test_ascii_numbers.c - what the ASCII line parser makes of a number's
 * decimal mark, and where it checks its fixed channel arrays.
 *
 * A sensor set for decimal = "," reads "pH=7,31" as 7.31; one set for the
 * point (the default) refuses that line as a framing error that names the
 * decimal mark (-EDOM, which the poll returns and the daemon's log line
 * and outfallctl check turn into "decimal comma"), instead of a silently
 * invalid value or, where the comma also separates the fields, a wrong
 * one (pH 7). The parser and the poll refuse a sensor of more channels
 * than their arrays hold, before writing anything, whatever the config
 * validator let through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/param.h"
#include "drivers/ascii.h"
#include "drivers/modbus_rtu.h"

static char name_probe[] = "probe";
static char key_ph[] = "pH", key_cod[] = "COD";

struct probe {
	struct cfg_channel ch[CFG_MAX_CHANNELS + 1];
	struct cfg_sensor s;
};

/* pH and COD by key (kv) or fields 1 and 2 (csv). */
static void probe_init(struct probe *p, enum ascii_format fmt, char sep, char decimal)
{
	bool kv = fmt == ASCII_KV;

	memset(p, 0, sizeof(*p));
	p->ch[0] = (struct cfg_channel){ .param = P_PH, .key = kv ? key_ph : NULL,
					 .field = kv ? 0 : 1, .reg = -1, .scale = 1.0 };
	p->ch[1] = (struct cfg_channel){ .param = P_COD, .key = kv ? key_cod : NULL,
					 .field = kv ? 0 : 2, .reg = -1, .scale = 1.0 };
	p->s = (struct cfg_sensor){ .name = name_probe, .driver = DRIVER_ASCII,
				    .channels = p->ch, .n_channels = 2 };
	p->s.ascii = (struct cfg_ascii){ .terminator = TERM_CRLF, .format = fmt,
					 .separator = sep, .kv_separator = '=',
					 .decimal = decimal, .max_line = 256 };
}

struct num_case {
	enum ascii_format fmt;
	char sep, decimal;
	const char *line;
	int rc;
	double ph, cod; /* NaN: Q_INVALID */
};

static const struct num_case cases[] = {
	/* a sensor set for the comma */
	{ ASCII_KV, ';', ',', "pH=7,31;COD=231,5", 0, 7.31, 231.5 },
	{ ASCII_KV, ' ', ',', "pH=7,31 COD=-1,5e2", 0, 7.31, -150 },
	{ ASCII_KV, ';', ',', "pH=7;COD=231", 0, 7, 231 },
	{ ASCII_CSV, ';', ',', "7,31;231,5", 0, 7.31, 231.5 },
	{ ASCII_CSV, ' ', ',', "7,31  231,5", 0, 7.31, 231.5 },
	{ ASCII_KV, ';', ',', "pH=7,3,1;COD=1", 0, NAN, 1 },
	/* ... that gets a point: named, not silently invalid */
	{ ASCII_KV, ';', ',', "pH=7.31;COD=231,5", -EDOM, 0, 0 },
	{ ASCII_CSV, ';', ',', "7,31;231.5", -EDOM, 0, 0 },
	/* a sensor set for the point (the default; 0 reads as it) */
	{ ASCII_KV, ',', '.', "pH=7.31,COD=231.5", 0, 7.31, 231.5 },
	{ ASCII_KV, ',', 0, "pH=7.31,COD=231.5", 0, 7.31, 231.5 },
	{ ASCII_KV, ';', '.', "pH=7,31;COD=231.5", -EDOM, 0, 0 },
	{ ASCII_KV, ' ', 0, "pH=7,31 COD=231.5", -EDOM, 0, 0 },
	{ ASCII_CSV, ';', '.', "7.31;231,5", -EDOM, 0, 0 },
	{ ASCII_CSV, ' ', '.', "7,31 231.5", -EDOM, 0, 0 },
	/* the comma separates the fields too: "pH=7,31" would be pH 7 */
	{ ASCII_KV, ',', '.', "pH=7,31,COD=231,5", -EDOM, 0, 0 },
	{ ASCII_KV, ',', '.', "COD=231.5,pH=7,31", -EDOM, 0, 0 },
	{ ASCII_KV, ',', 0, "pH=-7,31,COD=231.5", -EDOM, 0, 0 },
	/* ... but a bare number after something else is a device's id */
	{ ASCII_KV, ',', '.', "pH=7.5,31,COD=2", 0, 7.5, 2 },
	{ ASCII_KV, ',', '.', "ID=7,31,pH=7.5,COD=2", 0, 7.5, 2 },
	{ ASCII_KV, ',', '.', "pH=7,S1,COD=2", 0, 7, 2 },
	/* not numbers at all stay invalid values of a good line */
	{ ASCII_KV, ';', '.', "pH=7,3,1;COD=abc", 0, NAN, NAN },
	{ ASCII_KV, ';', '.', "pH=1.234,5;COD=1", 0, NAN, 1 },
	{ ASCII_KV, ';', '.', "pH=,5;COD=1", -EDOM, 0, 0 },
};

static void check_case(size_t i, const struct num_case *c)
{
	struct probe p;
	struct rec_value out[2] = { { .v = -999, .quality = Q_COUNT },
				    { .v = -999, .quality = Q_COUNT } };
	const double want[2] = { c->ph, c->cod };
	int rc;

	probe_init(&p, c->fmt, c->sep, c->decimal);
	rc = ascii_parse_line(&p.s, c->line, strlen(c->line), out);
	if (rc != c->rc)
		fail_msg("case %zu \"%s\": returned %d, want %d", i, c->line, rc, c->rc);
	for (int k = 0; k < 2; k++) {
		if (rc != 0 && out[k].quality != Q_COUNT)
			fail_msg("case %zu: channel %d written on failure", i, k);
		if (rc != 0)
			continue;
		if (isnan(want[k]) ? out[k].quality != Q_INVALID || !isnan(out[k].v)
				   : out[k].quality != Q_OK || fabs(out[k].v - want[k]) > 1e-9)
			fail_msg("case %zu \"%s\": channel %d = %g (quality %d), want %g", i,
				 c->line, k, out[k].v, out[k].quality, want[k]);
	}
}

static void test_decimal_marks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(i, &cases[i]);
}

/* ---- channel bounds ----------------------------------------------------- */

/* One channel more than the arrays hold, every one with a key and a field
 * the line carries, so a parser without its own bound would write past
 * them. */
static void wide_probe(struct probe *p, enum ascii_format fmt)
{
	static char keys[CFG_MAX_CHANNELS + 1][8];

	probe_init(p, fmt, ',', '.');
	for (int i = 0; i <= CFG_MAX_CHANNELS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		p->ch[i] = (struct cfg_channel){ .param = P_COD, .reg = -1, .scale = 1.0,
						 .key = fmt == ASCII_KV ? keys[i] : NULL,
						 .field = fmt == ASCII_KV ? 0 : i + 1 };
	}
	p->s.n_channels = CFG_MAX_CHANNELS + 1;
}

static void test_parse_refuses_too_many_channels(void **state)
{
	struct probe p;
	struct rec_value out[CFG_MAX_CHANNELS + 1];
	char line[512] = "";
	size_t len = 0;

	(void)state;
	for (int i = 0; i <= CFG_MAX_CHANNELS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%sk%d=%d", i ? "," : "",
					i, i);
	wide_probe(&p, ASCII_KV);
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(ascii_parse_line(&p.s, line, len, out), -EINVAL);
	for (int i = 0; i <= CFG_MAX_CHANNELS; i++)
		assert_int_equal(out[i].quality, 0x5a);
	wide_probe(&p, ASCII_CSV);
	assert_int_equal(ascii_parse_line(&p.s, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
					  strlen("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"),
					  out),
			 -EINVAL);
	for (int i = 0; i <= CFG_MAX_CHANNELS; i++)
		assert_int_equal(out[i].quality, 0x5a);
	p.s.n_channels = CFG_MAX_CHANNELS; /* the most it takes */
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(ascii_parse_line(&p.s, "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
					  strlen("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"),
					  out),
			 0);
	assert_true(out[CFG_MAX_CHANNELS - 1].v == CFG_MAX_CHANNELS);
	assert_int_equal(out[CFG_MAX_CHANNELS].quality, 0x5a);
}

/* A poll record with a guard right after it: a driver that wrote one value
 * past REC_MAX_VALUES would change it. */
struct guarded_poll {
	struct rec_poll poll;
	unsigned char guard[2 * sizeof(struct rec_value)];
};

/* Both drivers refuse such a sensor before touching the port or the record. */
static void test_poll_refuses_too_many_channels(void **state)
{
	static const struct driver_ops *const ops[] = { &ascii_ops, &modbus_rtu_ops };
	struct probe p;
	struct drv_counters cnt = { 0 };
	struct guarded_poll g, pattern;
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1];

	(void)state;
	wide_probe(&p, ASCII_KV);
	for (size_t k = 0; k < 2; k++) {
		memset(&g, 0x5a, sizeof(g));
		memset(&pattern, 0x5a, sizeof(pattern));
		/* no port: the check must come before it is used */
		assert_int_equal(ops[k]->poll(NULL, &p.s, false, &g.poll, &cnt), -EINVAL);
		assert_memory_equal(&g, &pattern, sizeof(g));
	}
	memset(order, 0x5a, sizeof(order));
	memset(starts, 0x5a, sizeof(starts));
	assert_int_equal(modbus_rtu_plan(&p.s, order, starts), -EINVAL);
	for (int i = 0; i < CFG_MAX_CHANNELS; i++)
		assert_int_equal(order[i], 0x5a5a5a5a);
	assert_int_equal(cnt.requests, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal_marks),
		cmocka_unit_test(test_parse_refuses_too_many_channels),
		cmocka_unit_test(test_poll_refuses_too_many_channels),
	};

	return cmocka_run_group_tests_name("ascii_numbers", tests, NULL, NULL);
}
