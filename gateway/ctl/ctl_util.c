/*
 * ctl_util.c - outfallctl's argument parsing and formatting: numbers,
 * serial line options, slave id lists, Modbus error names, ages and dates,
 * and stopping cleanly on Ctrl-C.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "base/clock.h"

static const int bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };

const char ctl_line_help[] =
	"\nserial line:\n"
	"  --device DEV        the serial device, e.g. /dev/ttyUSB0 (required)\n"
	"  --baud B            1200 2400 4800 9600 19200 38400 57600 115200 (9600)\n"
	"  --parity N|E|O      (N)\n"
	"  --data-bits 5..8    (8)\n"
	"  --stop-bits 1|2     (1)\n"
	"  -c, --config FILE   the daemon's config: names the daemon when the bus is busy\n"
	"                      (default " CTL_DEFAULT_CONFIG ")\n";

void ctl_line_init(struct ctl_line *l, int timeout_ms)
{
	*l = (struct ctl_line){ .bus = { .name = "cli", .baud = 9600, .parity = 'N',
					 .data_bits = 8, .stop_bits = 1,
					 .timeout_ms = timeout_ms } };
}

static int parse_baud(const char *s, int *out)
{
	long v;

	if (ctl_parse_long("--baud", s, 1, 1000000, &v) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i] == v) {
			*out = (int)v;
			return 0;
		}
	}
	fprintf(stderr, "outfallctl: --baud %ld is not a supported rate (1200, 2400, 4800, "
		"9600, 19200, 38400, 57600 or 115200)\n", v);
	return -1;
}

static int parse_parity(const char *s, char *out)
{
	if (strlen(s) == 1 && strchr("NEOneo", s[0])) {
		*out = (char)toupper((unsigned char)s[0]);
		return 0;
	}
	fprintf(stderr, "outfallctl: --parity must be N, E or O, not \"%s\"\n", s);
	return -1;
}

/* A whole-number option into *out: 1, or -1 after saying why. */
static int int_opt(const char *what, const char *arg, long min, long max, int *out)
{
	long v;

	if (ctl_parse_long(what, arg, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 1;
}

int ctl_line_opt(struct ctl_line *l, int opt, const char *arg)
{
	switch (opt) {
	case CTL_OPT_DEVICE:
		l->bus.device = (char *)arg; /* argv outlives the line; never written */
		return 1;
	case CTL_OPT_BAUD:
		return parse_baud(arg, &l->bus.baud) < 0 ? -1 : 1;
	case CTL_OPT_PARITY:
		return parse_parity(arg, &l->bus.parity) < 0 ? -1 : 1;
	case CTL_OPT_DATA_BITS:
		return int_opt("--data-bits", arg, 5, 8, &l->bus.data_bits);
	case CTL_OPT_STOP_BITS:
		return int_opt("--stop-bits", arg, 1, 2, &l->bus.stop_bits);
	case CTL_OPT_TIMEOUT:
		return int_opt("--timeout-ms", arg, 10, 10000, &l->bus.timeout_ms);
	case 'c':
	case CTL_OPT_CONFIG_HINT:
		l->config_path = arg;
		return 1;
	default:
		return 0;
	}
}

int ctl_parse_long(const char *what, const char *s, long min, long max, long *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(hex ? s + 2 : s, &end, hex ? 16 : 10);
	if (!s[0] || (hex && !s[2]) || *end || errno || s[0] == ' ' || s[0] == '+') {
		fprintf(stderr, "outfallctl: %s: \"%s\" is not a whole number\n", what, s);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr, "outfallctl: %s: %ld is out of range (%ld..%ld)\n", what, v, min,
			max);
		return -1;
	}
	*out = v;
	return 0;
}

int ctl_parse_double(const char *what, const char *s, double *out)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!s[0] || *end || errno || !isfinite(v)) {
		fprintf(stderr, "outfallctl: %s: \"%s\" is not a number\n", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* One "a" or "a-b" item of an id list, the length of which is n. */
static int parse_id_item(const char *s, size_t n, bool ids[CTL_MAX_ID + 1])
{
	char item[32], *dash;
	long lo, hi;

	if (n == 0 || n >= sizeof(item)) {
		fprintf(stderr, "outfallctl: --ids: \"%.*s\" is not an id or a range\n", (int)n, s);
		return -1;
	}
	memcpy(item, s, n);
	item[n] = '\0';
	dash = strchr(item, '-');
	if (dash)
		*dash = '\0';
	if (ctl_parse_long("--ids", item, 1, CTL_MAX_ID, &lo) < 0)
		return -1;
	hi = lo;
	if (dash && ctl_parse_long("--ids", dash + 1, 1, CTL_MAX_ID, &hi) < 0)
		return -1;
	if (hi < lo) {
		fprintf(stderr, "outfallctl: --ids: range %ld-%ld runs backwards\n", lo, hi);
		return -1;
	}
	for (long id = lo; id <= hi; id++)
		ids[id] = true;
	return 0;
}

int ctl_parse_ids(const char *s, bool ids[CTL_MAX_ID + 1])
{
	memset(ids, 0, (CTL_MAX_ID + 1) * sizeof(ids[0]));
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);

		if (parse_id_item(s, n, ids) < 0)
			return -1;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

void ctl_format_ids(const bool ids[CTL_MAX_ID + 1], char *buf, size_t cap)
{
	size_t len = 0;
	int id = 1;

	buf[0] = '\0';
	while (id <= CTL_MAX_ID) {
		int end = id;
		int n;

		if (!ids[id]) {
			id++;
			continue;
		}
		while (end < CTL_MAX_ID && ids[end + 1])
			end++;
		if (end == id)
			n = snprintf(buf + len, cap - len, "%s%d", len ? ", " : "", id);
		else
			n = snprintf(buf + len, cap - len, "%s%d-%d", len ? ", " : "", id, end);
		if (n < 0 || (size_t)n >= cap - len)
			return; /* cut short; callers size buf for the worst case */
		len += (size_t)n;
		id = end + 1;
	}
	if (!len)
		snprintf(buf, cap, "none");
}

int ctl_type_from_name(const char *s)
{
	for (int t = VT_INT16; t <= VT_FLOAT64; t++)
		if (strcmp(s, config_type_name((enum value_type)t)) == 0)
			return t;
	return -1;
}

int ctl_order_from_name(const char *s)
{
	for (int o = WO_ABCD; o <= WO_DCBA; o++)
		if (strcmp(s, config_order_name((enum word_order)o)) == 0)
			return o;
	return -1;
}

const char *ctl_exception_name(int e, int *code)
{
	static const char *const names[] = {
		NULL, "illegal function", "illegal data address", "illegal data value",
		"slave device failure", "acknowledge", "slave device busy",
		"negative acknowledge", "memory parity error", NULL,
		"gateway path unavailable", "gateway target failed to respond",
	};
	int c = e - MODBUS_ENOBASE;

	if (e < EMBXILFUN || e > EMBXGTAR || !names[c])
		return NULL;
	if (code)
		*code = c;
	return names[c];
}

bool ctl_is_garbled(int e)
{
	return e >= EMBBADCRC && e <= EMBBADSLAVE;
}

void ctl_format_age(int64_t ms, char *buf, size_t cap)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;

	if (s < 60)
		snprintf(buf, cap, "%lld s", (long long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, cap, "%lld h %lld min", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(buf, cap, "%lld d %lld h", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
}

void ctl_format_local(int64_t wall_ms, char *buf, size_t cap)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, cap, "%lld ms", (long long)wall_ms);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void ctl_signals_block(void)
{
	sigset_t set;

	stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

bool ctl_signal_wait(int64_t wait_ms)
{
	struct timespec ts = { .tv_sec = wait_ms / 1000, .tv_nsec = wait_ms % 1000 * 1000000 };
	sigset_t set;
	int64_t end = clock_mono_ms() + wait_ms;

	stop_signals(&set);
	for (;;) {
		if (sigtimedwait(&set, NULL, &ts) > 0)
			return true;
		if (errno != EINTR)
			return false; /* EAGAIN: the time is up */
		wait_ms = end - clock_mono_ms();
		if (wait_ms <= 0)
			return false;
		ts = (struct timespec){ .tv_sec = wait_ms / 1000,
					.tv_nsec = wait_ms % 1000 * 1000000 };
	}
}
