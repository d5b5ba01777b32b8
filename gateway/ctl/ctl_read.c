/*
 * ctl_read.c - `outfallctl read`: reads registers of one slave and shows
 * them decoded with drivers/decode.c, the daemon's own decoder, next to the
 * raw words; with --all-orders in all four word orders side by side, so an
 * installer can pick the one that matches the meter's display.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "base/clock.h"
#include "base/numfmt.h"
#include "drivers/driver.h"

#define READ_TIMEOUT_MS 500
#define READ_WATCH_MAX_S 3600
#define COL_W 15 /* width of a value column */

struct rd {
	struct ctl_line line;
	int slave;
	int reg;
	enum reg_table table;
	int type;           /* enum value_type, -1 until given */
	enum word_order order;
	bool all_orders;
	int count;
	double scale;
	double offset;
	int watch_s;        /* 0: read once */
	int words;          /* registers per value */
};

static void read_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl read --device DEV --slave N --register R --type T\n"
		"                       [--table holding|input] [--word-order O | --all-orders]\n"
		"                       [--count C] [--scale S] [--offset O] [--watch SECONDS]\n"
		"                       [serial options]\n"
		"Reads and decodes live values, with the raw register words in hex.\n"
		"\n"
		"  --slave N           slave id, 1..247\n"
		"  --register R        0-based wire address, decimal or 0x hex (manuals that say\n"
		"                      40001 or REG1 count from 1: subtract it)\n"
		"  --table T           holding (function 03) or input (function 04) (holding)\n"
		"  --type T            int16 uint16 int32 uint32 float32 float64\n"
		"  --word-order O      abcd (big-endian), cdab (word-swapped), badc (byte-swapped)\n"
		"                      or dcba (little-endian) (abcd)\n"
		"  --all-orders        show all four word orders side by side\n"
		"  --count C           C consecutive values of the type (1; at most 125 registers)\n"
		"  --scale S, --offset O  value = raw x S + O, as a channel's scale and offset\n"
		"  --watch SECONDS     read again every SECONDS (1..%d) until Ctrl-C\n"
		"  --timeout-ms T      wait this long for the answer, 10..10000 (%d)\n"
		"%s"
		"  -h, --help          this help\n"
		"\n"
		"exit codes: 0 ok, 64 usage, 66 no such device, 69 no answer, 74 I/O error,\n"
		"75 the bus is in use (outfalld owns it), 76 exception or garbled reply\n",
		READ_WATCH_MAX_S, READ_TIMEOUT_MS, ctl_line_help);
}

enum {
	OPT_SLAVE = CTL_OPT_FIRST_FREE, OPT_REGISTER, OPT_TABLE, OPT_TYPE, OPT_ORDER,
	OPT_ALL_ORDERS, OPT_COUNT, OPT_SCALE, OPT_OFFSET, OPT_WATCH
};

/* One read-specific option: 0, or -1 after saying what was wrong. */
static int read_opt(struct rd *r, int opt, const char *arg)
{
	long v = 0;

	switch (opt) {
	case OPT_SLAVE:
		if (ctl_parse_long("--slave", arg, 1, CTL_MAX_ID, &v) < 0)
			return -1;
		r->slave = (int)v;
		return 0;
	case OPT_REGISTER:
		if (ctl_parse_long("--register", arg, 0, 65535, &v) < 0)
			return -1;
		r->reg = (int)v;
		return 0;
	case OPT_TABLE:
		if (strcmp(arg, "holding") == 0 || strcmp(arg, "input") == 0) {
			r->table = arg[0] == 'i' ? TABLE_INPUT : TABLE_HOLDING;
			return 0;
		}
		fprintf(stderr, "outfallctl: --table must be holding or input, not \"%s\"\n", arg);
		return -1;
	case OPT_TYPE:
		r->type = ctl_type_from_name(arg);
		if (r->type >= 0)
			return 0;
		fprintf(stderr, "outfallctl: --type must be int16, uint16, int32, uint32, float32 "
			"or float64, not \"%s\"\n", arg);
		return -1;
	case OPT_ORDER:
		v = ctl_order_from_name(arg);
		if (v >= 0) {
			r->order = (enum word_order)v;
			return 0;
		}
		fprintf(stderr, "outfallctl: --word-order must be abcd, cdab, badc or dcba, not "
			"\"%s\"\n", arg);
		return -1;
	case OPT_ALL_ORDERS:
		r->all_orders = true;
		return 0;
	case OPT_COUNT:
		if (ctl_parse_long("--count", arg, 1, CTL_MAX_READ_REGS, &v) < 0)
			return -1;
		r->count = (int)v;
		return 0;
	case OPT_SCALE:
		return ctl_parse_double("--scale", arg, &r->scale);
	case OPT_OFFSET:
		return ctl_parse_double("--offset", arg, &r->offset);
	case OPT_WATCH:
		if (ctl_parse_long("--watch", arg, 1, READ_WATCH_MAX_S, &v) < 0)
			return -1;
		r->watch_s = (int)v;
		return 0;
	}
	return -1;
}

static int check_required(struct rd *r)
{
	const char *missing = !r->line.bus.device ? "--device" : !r->slave ? "--slave"
			      : r->reg < 0 ? "--register" : r->type < 0 ? "--type" : NULL;

	if (missing) {
		fprintf(stderr, "outfallctl read: %s is required\n", missing);
		return -1;
	}
	r->words = decode_words((enum value_type)r->type);
	if (r->words * r->count > CTL_MAX_READ_REGS || r->reg + r->words * r->count > 65536) {
		fprintf(stderr, "outfallctl read: %d x %s needs %d registers from %d: at most %d, "
			"ending at 65535\n", r->count, config_type_name((enum value_type)r->type),
			r->words * r->count, r->reg, CTL_MAX_READ_REGS);
		return -1;
	}
	if ((r->reg >= 30001 && r->reg <= 39999) || (r->reg >= 40001 && r->reg <= 49999))
		fprintf(stderr, "note: register %d looks like a 1-based number as manuals write "
			"them (%d0001 = wire address 0); its wire address would be %d\n", r->reg,
			r->reg / 10000, r->reg % 10000 - 1);
	return 0;
}

/* -1 to go on, or an exit code (EX_OK after --help). */
static int read_options(int argc, char **argv, struct rd *r)
{
	static const struct option longopts[] = {
		CTL_SERIAL_LONGOPTS,
		{ "slave", required_argument, NULL, OPT_SLAVE },
		{ "register", required_argument, NULL, OPT_REGISTER },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "word-order", required_argument, NULL, OPT_ORDER },
		{ "all-orders", no_argument, NULL, OPT_ALL_ORDERS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "offset", required_argument, NULL, OPT_OFFSET },
		{ "watch", required_argument, NULL, OPT_WATCH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		rc = ctl_line_opt(&r->line, opt, optarg);
		if (rc < 0)
			return EX_USAGE;
		if (rc > 0)
			continue;
		if (opt == 'h') {
			read_usage(stdout);
			return EX_OK;
		}
		if (opt == '?' || read_opt(r, opt, optarg) < 0)
			return EX_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl read: unexpected argument \"%s\"\n", argv[optind]);
		return EX_USAGE;
	}
	return check_required(r) < 0 ? EX_USAGE : -1;
}

/* A float32 as the shortest decimal that is the same float32 (183.9, as
 * the daemon sends it), a float64 to 15 digits, an integer whole. buf has
 * at least NUMFMT_MAX bytes. */
static void format_value(const struct rd *r, double raw, char *buf, size_t cap)
{
	double v = raw * r->scale + r->offset;
	bool plain = r->scale == 1.0 && r->offset == 0.0;

	if (r->type == VT_FLOAT32 && cap >= NUMFMT_MAX)
		numfmt_value(buf, v, RV_F32);
	else if (r->type == VT_FLOAT32)
		snprintf(buf, cap, "%.7g", v);
	else if (r->type == VT_FLOAT64)
		snprintf(buf, cap, "%.15g", v);
	else if (plain)
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.10g", v);
}

/* The last column is not padded: no trailing blanks. */
static bool last_column(const struct rd *r, int o)
{
	return r->all_orders ? o == WO_DCBA : o == (int)r->order;
}

static void print_header(const struct rd *r)
{
	const struct cfg_bus *b = &r->line.bus;
	int last = r->reg + r->words * r->count - 1;

	printf("%s %d %d%c%d, slave %d, %s registers 0x%04X..0x%04X (%d..%d), %d x %s", b->device,
	       b->baud, b->data_bits, b->parity, b->stop_bits, r->slave,
	       r->table == TABLE_INPUT ? "input" : "holding", r->reg, last, r->reg, last, r->count,
	       config_type_name((enum value_type)r->type));
	if (r->scale != 1.0 || r->offset != 0.0)
		printf(", value = raw x %g + %g", r->scale, r->offset);
	printf("\n%s%-16s%-*s", r->watch_s ? "time      " : "", "register", r->words * 5 + 3,
	       "words");
	for (int o = WO_ABCD; o <= WO_DCBA; o++)
		if (r->all_orders || o == (int)r->order)
			printf("%-*s", last_column(r, o) ? 0 : COL_W,
			       config_order_name((enum word_order)o));
	printf("\n");
}

static void print_rows(const struct rd *r, const uint16_t *words, int64_t wall_ms)
{
	char ts[16] = "", at[24], buf[40];
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (r->watch_s && localtime_r(&t, &tm))
		strftime(ts, sizeof(ts), "%H:%M:%S  ", &tm);
	for (int i = 0; i < r->count; i++) {
		const uint16_t *w = &words[i * r->words];
		int reg = r->reg + i * r->words;

		snprintf(at, sizeof(at), "0x%04X (%d)", reg, reg);
		printf("%s%-16s", ts, at);
		for (int k = 0; k < r->words; k++)
			printf("%04X ", w[k]);
		printf("   ");
		for (int o = WO_ABCD; o <= WO_DCBA; o++) {
			if (!r->all_orders && o != (int)r->order)
				continue;
			format_value(r, decode_raw(w, (enum value_type)r->type, (enum word_order)o),
				     buf, sizeof(buf));
			printf("%-*s", last_column(r, o) ? 0 : COL_W, buf);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* One request: 0, or an exit code after saying what went wrong. */
static int read_words(modbus_t *mb, const struct rd *r, uint16_t *words)
{
	int n = r->words * r->count, got, err, code = 0;
	const char *exc;

	if (r->table == TABLE_INPUT)
		got = modbus_read_input_registers(mb, r->reg, n, words);
	else
		got = modbus_read_registers(mb, r->reg, n, words);
	if (got == n)
		return 0;
	err = got < 0 ? errno : EMBBADDATA;
	exc = ctl_exception_name(err, &code);
	if (exc) {
		fprintf(stderr, "outfallctl: slave %d: exception %02d %s: it does not serve %s "
			"registers %d..%d\n", r->slave, code, exc,
			r->table == TABLE_INPUT ? "input" : "holding", r->reg, r->reg + n - 1);
		return EX_PROTOCOL;
	}
	if (err == ETIMEDOUT || ctl_is_garbled(err))
		modbus_flush(mb);
	if (err == ETIMEDOUT) {
		fprintf(stderr, "outfallctl: no answer from slave %d within %d ms (check wiring, "
			"slave id, baud and parity)\n", r->slave, r->line.bus.timeout_ms);
		return EX_UNAVAILABLE;
	}
	fprintf(stderr, "outfallctl: slave %d: %s%s\n", r->slave, modbus_strerror(err),
		ctl_is_garbled(err) ? " (garbled reply: check baud and parity)" : "");
	return ctl_is_garbled(err) ? EX_PROTOCOL : EX_IOERR;
}

/* Reads once, or every watch_s on a fixed beat (a slow answer does not
 * push the next read later) until Ctrl-C. */
static int run_read(modbus_t *mb, const struct rd *r)
{
	uint16_t words[CTL_MAX_READ_REGS];
	int64_t next = clock_mono_ms();
	int rc;

	modbus_set_slave(mb, r->slave);
	print_header(r);
	if (r->watch_s)
		ctl_signals_block();
	for (;;) {
		int64_t wait;

		rc = read_words(mb, r, words);
		if (rc == 0)
			print_rows(r, words, clock_wall_ms());
		if (!r->watch_s || rc == EX_IOERR)
			return rc;
		next += (int64_t)r->watch_s * 1000;
		wait = next - clock_mono_ms();
		if (wait < 0) { /* the read took longer than the beat */
			next = clock_mono_ms();
			wait = 0;
		}
		if (ctl_signal_wait(wait))
			return EX_OK;
	}
}

int ctl_read(int argc, char **argv)
{
	struct rd r = { .reg = -1, .type = -1, .order = WO_ABCD, .count = 1, .scale = 1.0 };
	modbus_t *mb = NULL;
	int rc;

	ctl_line_init(&r.line, READ_TIMEOUT_MS);
	rc = read_options(argc, argv, &r);
	if (rc >= 0)
		return rc;
	rc = ctl_bus_open(&r.line, &mb);
	if (rc == 0)
		rc = run_read(mb, &r);
	ctl_bus_close(mb);
	return rc;
}
