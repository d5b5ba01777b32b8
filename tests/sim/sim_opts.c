/* sim_opts.c - command line of outfall-sim: parse, check, --help. */
#include "sim_opts.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_pty.h"

#define SIM_MAX_SECONDS 31536000.0 /* a year: any longer is a typo */

enum sim_opt {
	OPT_DEVICE = 256, OPT_PTY, OPT_BAUD, OPT_PARITY, OPT_SLAVE_PROBE,
	OPT_SLAVE_FLOW, OPT_SEED, OPT_SCENARIO, OPT_PARAM, OPT_VALUE, OPT_AFTER,
	OPT_FOR, OPT_FAULT_SLAVE, OPT_EVERY, OPT_DURATION, OPT_CSV, OPT_ASCII,
	OPT_ASCII_INTERVAL, OPT_ASCII_QUERY, OPT_FAULT_AFTER, OPT_FAULT_FOR,
	OPT_PROBES, OPT_FLOWS, OPT_WIRE_TIME, OPT_REPEAT,
};

#define SEEN(opt) (1u << ((opt) - OPT_DEVICE))

static const struct option sim_long_opts[] = {
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "pty", required_argument, NULL, OPT_PTY },
	{ "baud", required_argument, NULL, OPT_BAUD },
	{ "parity", required_argument, NULL, OPT_PARITY },
	{ "slave-probe", required_argument, NULL, OPT_SLAVE_PROBE },
	{ "slave-flow", required_argument, NULL, OPT_SLAVE_FLOW },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "param", required_argument, NULL, OPT_PARAM },
	{ "value", required_argument, NULL, OPT_VALUE },
	{ "after", required_argument, NULL, OPT_AFTER },
	{ "for", required_argument, NULL, OPT_FOR },
	{ "fault-slave", required_argument, NULL, OPT_FAULT_SLAVE },
	{ "every", required_argument, NULL, OPT_EVERY },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "ascii", required_argument, NULL, OPT_ASCII },
	{ "ascii-interval-ms", required_argument, NULL, OPT_ASCII_INTERVAL },
	{ "ascii-query", required_argument, NULL, OPT_ASCII_QUERY },
	{ "fault-after", required_argument, NULL, OPT_FAULT_AFTER },
	{ "fault-for", required_argument, NULL, OPT_FAULT_FOR },
	{ "probes", required_argument, NULL, OPT_PROBES },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "wire-time", no_argument, NULL, OPT_WIRE_TIME },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char sim_help[] =
	"Usage: outfall-sim (--device TTY | --pty LINK) [options]\n"
	"\n"
	"Modbus RTU slave simulator: a water-quality probe and an electromagnetic\n"
	"flow meter on one serial bus, for integration tests, the demo and the\n"
	"bench. Prints a 'ready' line on stdout once it serves requests.\n"
	"\n"
	"Serial line (8 data bits, 1 stop bit):\n"
	"  --device TTY      serve on an existing tty, e.g. one end of a socat pty pair\n"
	"  --pty LINK        run 'socat -d -d pty,raw,echo=0,link=LINK\n"
	"                    pty,raw,echo=0,link=LINK.sim', serve LINK.sim, print\n"
	"                    'pty: LINK' once ready; the daemon opens LINK. socat is\n"
	"                    stopped on exit. Stale symlinks at LINK and LINK.sim are\n"
	"                    replaced. LINK: letters, digits and . _ - / + only\n"
	"  --baud N          1200 2400 4800 9600 19200 38400 57600 115200 (9600)\n"
	"  --parity N|E|O    parity (N)\n"
	"  --wire-time       hold each reply until the request and the reply would\n"
	"                    have crossed a real line at --baud (10 or 11 bits a\n"
	"                    byte) plus 3.5 characters of turnaround: a pty itself\n"
	"                    takes no time, a 9600 baud bus about 1 ms a byte\n"
	"\n"
	"Slaves (1..247, distinct; function 03 and 04 read the same map):\n"
	"  --slave-probe N   water-quality probe id (1). float32 abcd at wire\n"
	"                    address 0 cod mg/L, 2 ph, 4 nh3n mg/L, 6 tp mg/L, 8 temp degC\n"
	"  --slave-flow N    flow meter id (2), the '0x1010' map: 0x1010 flow m3/h and\n"
	"                    0x1012 velocity m/s (float32 cdab), 0x1018 total integer\n"
	"                    part m3 (int32 cdab), 0x101A total fraction (float32 cdab),\n"
	"                    0x101E flow unit = 5 (m3/h), 0x1021 total unit = 1 (m3),\n"
	"                    0x1024 empty-pipe alarm = 0, 0x1025 system alarm = 0\n"
	"  --probes N        play N probes at ids slave-probe .. slave-probe+N-1 (1)\n"
	"  --flows N         play N flow meters at ids slave-flow .. +N-1 (1); each\n"
	"                    0..200, at least one slave in all. The k-th slave of a\n"
	"                    kind (from 0) draws its curves from seed + k\n"
	"  Other slave ids get no answer; other registers get exception 02, a\n"
	"  count outside 1..125 exception 03, other functions exception 01.\n"
	"\n"
	"Values (deterministic from the seed and the time since 'ready'):\n"
	"  --seed N          seed of the curves and the jitter (1)\n"
	"  Normal ranges: cod 180..260, ph 7.0..7.6, nh3n 20..30, tp 2..4,\n"
	"  temp 18..22, flow 3..6 m3/h; velocity from flow in a DN50 pipe; the\n"
	"  total integrates flow from 12345 m3.\n"
	"\n"
	"ASCII probe (instead of Modbus; pH, COD mg/L and temperature degC from the\n"
	"same curves as the Modbus probe, lines end in \\r\\n):\n"
	"  --ascii kv|csv    serve 'pH=7.12,COD=231.5,T=21.3' or '7.12,231.5,21.3'\n"
	"  --ascii-interval-ms N\n"
	"                    stream a line every N ms, 10..3600000 (1000)\n"
	"  --ascii-query STR answer each STR read from the line with one line\n"
	"                    instead of streaming; escapes \\r \\n \\t \\\\ \\xHH, at\n"
	"                    most 64 bytes, e.g. 'READ\\r\\n'\n"
	"  exceed and fault act on the probe (exceed on every probe); garbage spoils every K-th line,\n"
	"  in turn with control bytes, as a line of 1100 bytes, and with\n"
	"  malformed numbers.\n"
	"\n"
	"Scenarios:\n"
	"  --scenario S      normal | exceed | fault | garbage (normal)\n"
	"  --after S         exceed, fault: start, seconds after 'ready' (10)\n"
	"  --for S           exceed, fault: length in seconds, 0 = to the end (20)\n"
	"  --repeat S        exceed, fault: the window comes back every S seconds\n"
	"                    (S > --for > 0), e.g. --after 3 --for 1.5 --repeat 3;\n"
	"                    not with --param flow (the total would not add up)\n"
	"  --param NAME      exceed: cod ph nh3n tp temp flow velocity (cod)\n"
	"  --value V         exceed: value served meanwhile, with jitter of at most\n"
	"                    +0.2 % of |V| (650)\n"
	"  --fault-slave N   fault: slave id that falls silent (the probe's id)\n"
	"  --fault-after S   with normal, exceed or garbage: the fault slave (or the\n"
	"                    ASCII probe) also falls silent S seconds after 'ready'\n"
	"                    (0), e.g. in the middle of an exceedance\n"
	"  --fault-for S     that silence lasts S seconds, 0 = to the end (0)\n"
	"  --every K         garbage: spoil every K-th data reply, alternately by\n"
	"                    flipping a bit of its CRC and by sending random bytes\n"
	"                    instead (3); exception replies are never spoiled\n"
	"\n"
	"Output:\n"
	"  --csv FILE        append 'wall_ms,slave,function,register,name,value' for\n"
	"                    every value in a good data reply (header when the file\n"
	"                    is empty; flushed per reply): wall-clock ms, slave id,\n"
	"                    function 3 or 4, the value's first wire address in\n"
	"                    decimal, its name, and the value: floats as %.9g of\n"
	"                    the float32 served, integers as integers. Silent and\n"
	"                    spoiled replies are not logged. ASCII lines log slave\n"
	"                    0, function 0, the field's position (1..3) as the\n"
	"                    register and the value as written in the line\n"
	"  --duration S      exit 0 after S seconds (default: until SIGTERM, SIGINT\n"
	"                    or SIGHUP, which also exit 0)\n"
	"  -v, --verbose     debug lines on stderr: silences, exceptions, faults,\n"
	"                    spoiled replies, dropped frames\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 stopped cleanly, 1 runtime failure (e.g. no such device),\n"
	"64 usage error.\n";

static int __attribute__((format(printf, 1, 2))) sim_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("outfall-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'outfall-sim --help'.\n", stderr);
	return -EINVAL;
}

static int sim_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int sim_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int sim_parse_seed(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int sim_opt_int(const char *name, const char *arg, long min, long max, int *out)
{
	long v;

	if (sim_parse_long(arg, min, max, &v) < 0)
		return sim_usage_error("--%s: expected an integer %ld..%ld, got '%s'",
				       name, min, max, arg);
	*out = (int)v;
	return 0;
}

static int sim_opt_seconds(const char *name, const char *arg, double min, double *out)
{
	if (sim_parse_double(arg, min, SIM_MAX_SECONDS, out) < 0 || *out < min)
		return sim_usage_error("--%s: expected seconds %g..%.0f, got '%s'",
				       name, min, SIM_MAX_SECONDS, arg);
	return 0;
}

static int sim_opt_baud(const char *arg, int *out)
{
	static const long rates[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };
	long v;

	if (sim_parse_long(arg, 0, 1000000, &v) == 0)
		for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
			if (v == rates[i]) {
				*out = (int)v;
				return 0;
			}
	return sim_usage_error("--baud: unsupported rate '%s'", arg);
}

static int sim_opt_scenario(const char *arg, enum sim_scenario *out)
{
	static const char *const names[] = {
		[SIM_NORMAL] = "normal", [SIM_EXCEED] = "exceed",
		[SIM_FAULT] = "fault", [SIM_GARBAGE] = "garbage",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0) {
			*out = (enum sim_scenario)i;
			return 0;
		}
	return sim_usage_error("--scenario: expected normal, exceed, fault or garbage, got '%s'",
			       arg);
}

static int sim_opt_parity(const char *arg, char *out)
{
	if (strcmp(arg, "N") != 0 && strcmp(arg, "E") != 0 && strcmp(arg, "O") != 0)
		return sim_usage_error("--parity: expected N, E or O, got '%s'", arg);
	*out = arg[0];
	return 0;
}

static int sim_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* --ascii-query with \r \n \t \\ \xHH resolved into o->ascii_query. */
static int sim_opt_query(struct sim_opts *o, const char *arg)
{
	size_t n = 0;

	for (const char *p = arg; *p; p++) {
		int c = (unsigned char)*p, hi, lo;

		if (c == '\\') {
			p++;
			if (*p == 'r' || *p == 'n' || *p == 't' || *p == '\\') {
				c = *p == 'r' ? '\r' : *p == 'n' ? '\n' : *p == 't' ? '\t' : '\\';
			} else if (*p == 'x' && (hi = sim_hex(p[1])) >= 0 &&
				   (lo = sim_hex(p[2])) >= 0 && (hi || lo)) {
				c = hi << 4 | lo;
				p += 2;
			} else {
				return sim_usage_error("--ascii-query: unknown escape in '%s' "
						       "(expected \\r \\n \\t \\\\ or \\xHH)", arg);
			}
		}
		if (n == sizeof(o->ascii_query))
			return sim_usage_error("--ascii-query: longer than %d bytes", SIM_QUERY_MAX);
		o->ascii_query[n++] = (char)c;
	}
	if (n == 0)
		return sim_usage_error("--ascii-query: must not be empty");
	o->ascii_query_len = n;
	return 0;
}

static int sim_opt_ascii(const char *arg, enum sim_proto *out)
{
	if (strcmp(arg, "kv") == 0)
		*out = SIM_ASCII_KV;
	else if (strcmp(arg, "csv") == 0)
		*out = SIM_ASCII_CSV;
	else
		return sim_usage_error("--ascii: expected kv or csv, got '%s'", arg);
	return 0;
}

/* The options whose checks do not fit the helpers above. */
static int sim_opt_other(struct sim_opts *o, int opt, const char *arg)
{
	int every = 0;

	switch (opt) {
	case OPT_SEED:
		if (sim_parse_seed(arg, &o->seed) < 0)
			return sim_usage_error("--seed: expected an unsigned 64-bit integer, "
					       "got '%s'", arg);
		return 0;
	case OPT_PARAM:
		o->exceed_param = sim_param_lookup_process(arg);
		if (o->exceed_param < 0)
			return sim_usage_error("--param: expected cod, ph, nh3n, tp, temp, flow "
					       "or velocity, got '%s'", arg);
		return 0;
	case OPT_VALUE:
		if (sim_parse_double(arg, -(double)FLT_MAX, (double)FLT_MAX,
				     &o->exceed_value) < 0)
			return sim_usage_error("--value: expected a number a float32 can hold, "
					       "got '%s'", arg);
		return 0;
	case OPT_EVERY:
		if (sim_opt_int("every", arg, 1, 1000000, &every) < 0)
			return -EINVAL;
		o->every = (unsigned int)every;
		return 0;
	case OPT_ASCII:
		return sim_opt_ascii(arg, &o->proto);
	case OPT_ASCII_INTERVAL:
		return sim_opt_int("ascii-interval-ms", arg, 10, 3600000, &o->ascii_interval_ms);
	case OPT_ASCII_QUERY:
		return sim_opt_query(o, arg);
	}
	return sim_usage_error("unhandled option %d", opt);
}

static int sim_opt_apply(struct sim_opts *o, int opt, const char *arg)
{
	int *id = o->slave_id;

	switch (opt) {
	case OPT_DEVICE: o->device = arg; return 0;
	case OPT_PTY: o->pty_link = arg; return 0;
	case OPT_CSV: o->csv_path = arg; return 0;
	case OPT_BAUD: return sim_opt_baud(arg, &o->baud);
	case OPT_PARITY: return sim_opt_parity(arg, &o->parity);
	case OPT_SLAVE_PROBE: return sim_opt_int("slave-probe", arg, 1, 247, &id[SIM_PROBE]);
	case OPT_SLAVE_FLOW: return sim_opt_int("slave-flow", arg, 1, 247, &id[SIM_FLOWMETER]);
	case OPT_PROBES: return sim_opt_int("probes", arg, 0, 200, &o->units[SIM_PROBE]);
	case OPT_FLOWS: return sim_opt_int("flows", arg, 0, 200, &o->units[SIM_FLOWMETER]);
	case OPT_WIRE_TIME: o->wire_time = true; return 0;
	case OPT_REPEAT: return sim_opt_seconds("repeat", arg, 0.002, &o->repeat_s);
	case OPT_FAULT_SLAVE: return sim_opt_int("fault-slave", arg, 1, 247, &o->fault_slave);
	case OPT_FAULT_AFTER:
		o->fault_window = true;
		return sim_opt_seconds("fault-after", arg, 0.0, &o->fault_after_s);
	case OPT_FAULT_FOR:
		o->fault_window = true;
		return sim_opt_seconds("fault-for", arg, 0.0, &o->fault_for_s);
	case OPT_SCENARIO: return sim_opt_scenario(arg, &o->scenario);
	case OPT_AFTER: return sim_opt_seconds("after", arg, 0.0, &o->after_s);
	case OPT_FOR: return sim_opt_seconds("for", arg, 0.0, &o->for_s);
	case OPT_DURATION: return sim_opt_seconds("duration", arg, 0.001, &o->duration_s);
	}
	return sim_opt_other(o, opt, arg);
}

/* Options that only make sense with some scenarios. */
static int sim_opts_scope(const struct sim_opts *o, unsigned int seen)
{
	static const struct sim_scope {
		enum sim_opt opt;
		unsigned int scenarios; /* bit per enum sim_scenario */
		const char *text;
	} scopes[] = {
		{ OPT_PARAM, 1u << SIM_EXCEED, "--param needs --scenario exceed" },
		{ OPT_VALUE, 1u << SIM_EXCEED, "--value needs --scenario exceed" },
		{ OPT_AFTER, 1u << SIM_EXCEED | 1u << SIM_FAULT,
		  "--after needs --scenario exceed or fault" },
		{ OPT_FOR, 1u << SIM_EXCEED | 1u << SIM_FAULT,
		  "--for needs --scenario exceed or fault" },
		{ OPT_REPEAT, 1u << SIM_EXCEED | 1u << SIM_FAULT,
		  "--repeat needs --scenario exceed or fault" },
		{ OPT_FAULT_SLAVE, 1u << SIM_FAULT, "--fault-slave needs --scenario fault" },
		{ OPT_EVERY, 1u << SIM_GARBAGE, "--every needs --scenario garbage" },
	};

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		/* a silence window lets --fault-slave name its slave */
		if (scopes[i].opt == OPT_FAULT_SLAVE && o->fault_window)
			continue;
		if ((seen & SEEN(scopes[i].opt)) && !(scopes[i].scenarios & (1u << o->scenario)))
			return sim_usage_error("%s", scopes[i].text);
	}
	if (o->fault_window && o->scenario == SIM_FAULT)
		return sim_usage_error("--fault-after and --fault-for add a silence to another "
				       "scenario; with --scenario fault use --after and --for");
	if (o->repeat_s > 0 && !(o->for_s > 0 && o->for_s < o->repeat_s))
		return sim_usage_error("--repeat %g: needs 0 < --for < --repeat (--for is %g)",
				       o->repeat_s, o->for_s);
	if (o->repeat_s > 0 && o->scenario == SIM_EXCEED && o->exceed_param == SIM_FLOW)
		return sim_usage_error("--repeat: not with --param flow (the total would "
				       "not add up)");
	return 0;
}

/* Options of one protocol given with the other. */
static int sim_opts_proto(const struct sim_opts *o, unsigned int seen)
{
	if (o->proto == SIM_MODBUS && (seen & (SEEN(OPT_ASCII_INTERVAL) | SEEN(OPT_ASCII_QUERY))))
		return sim_usage_error("--ascii-interval-ms and --ascii-query need --ascii");
	if (o->proto == SIM_MODBUS)
		return 0;
	if (seen & (SEEN(OPT_SLAVE_PROBE) | SEEN(OPT_SLAVE_FLOW) | SEEN(OPT_FAULT_SLAVE) |
		    SEEN(OPT_PROBES) | SEEN(OPT_FLOWS) | SEEN(OPT_WIRE_TIME)))
		return sim_usage_error("--slave-*, --probes, --flows, --fault-slave and "
				       "--wire-time are for Modbus: an ASCII probe has no "
				       "address");
	if ((seen & SEEN(OPT_ASCII_INTERVAL)) && o->ascii_query_len)
		return sim_usage_error("--ascii-interval-ms and --ascii-query exclude each other: "
				       "a probe that is asked does not stream");
	return 0;
}

/* The id ranges of the slaves played: inside 1..247, apart, not empty. */
static int sim_opts_units(const struct sim_opts *o)
{
	const int *id = o->slave_id, *n = o->units;
	int p_end = id[SIM_PROBE] + n[SIM_PROBE], f_end = id[SIM_FLOWMETER] + n[SIM_FLOWMETER];

	if (n[SIM_PROBE] + n[SIM_FLOWMETER] == 0)
		return sim_usage_error("--probes 0 and --flows 0: no slave to play");
	if (p_end - 1 > 247 || f_end - 1 > 247)
		return sim_usage_error("--probes %d from id %d or --flows %d from id %d goes "
				       "past slave id 247", n[SIM_PROBE], id[SIM_PROBE],
				       n[SIM_FLOWMETER], id[SIM_FLOWMETER]);
	if (n[SIM_PROBE] && n[SIM_FLOWMETER] && id[SIM_PROBE] < f_end &&
	    id[SIM_FLOWMETER] < p_end)
		return sim_usage_error("probe ids %d..%d and flow meter ids %d..%d overlap",
				       id[SIM_PROBE], p_end - 1, id[SIM_FLOWMETER], f_end - 1);
	return 0;
}

/* The slave --fault-slave names must be one of those played. */
static bool sim_opts_plays(const struct sim_opts *o, int slave)
{
	for (int dev = 0; dev < SIM_DEVICE_COUNT; dev++)
		if (slave >= o->slave_id[dev] && slave < o->slave_id[dev] + o->units[dev])
			return true;
	return false;
}

static int sim_opts_check(struct sim_opts *o, unsigned int seen)
{
	const int *id = o->slave_id;

	if (!o->device == !o->pty_link)
		return sim_usage_error("give exactly one of --device TTY and --pty LINK");
	if (o->pty_link && !sim_pty_link_ok(o->pty_link))
		return sim_usage_error("--pty: '%s' may hold only letters, digits and . _ - / +",
				       o->pty_link);
	if (id[SIM_PROBE] == id[SIM_FLOWMETER])
		return sim_usage_error("--slave-probe and --slave-flow are both %d", id[SIM_PROBE]);
	if (sim_opts_units(o) < 0)
		return -EINVAL;
	if (!(seen & SEEN(OPT_FAULT_SLAVE)))
		o->fault_slave = id[o->units[SIM_PROBE] ? SIM_PROBE : SIM_FLOWMETER];
	else if (!sim_opts_plays(o, o->fault_slave))
		return sim_usage_error("--fault-slave %d: no such slave (probes from %d, flow "
				       "meters from %d)", o->fault_slave, id[SIM_PROBE],
				       id[SIM_FLOWMETER]);
	if (sim_opts_scope(o, seen) < 0)
		return -EINVAL;
	return sim_opts_proto(o, seen);
}

static void sim_opts_defaults(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->baud = 9600;
	o->parity = 'N';
	o->slave_id[SIM_PROBE] = 1;
	o->slave_id[SIM_FLOWMETER] = 2;
	o->units[SIM_PROBE] = 1;
	o->units[SIM_FLOWMETER] = 1;
	o->seed = 1;
	o->scenario = SIM_NORMAL;
	o->exceed_param = SIM_COD;
	o->exceed_value = 650.0;
	o->after_s = 10.0;
	o->for_s = 20.0;
	o->every = 3;
	o->proto = SIM_MODBUS;
	o->ascii_interval_ms = 1000;
}

int sim_opts_parse(int argc, char **argv, struct sim_opts *o)
{
	unsigned int seen = 0;
	int opt;

	sim_opts_defaults(o);
	while ((opt = getopt_long(argc, argv, "vh", sim_long_opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(sim_help, stdout);
			return 1;
		}
		if (opt == 'v') {
			o->verbose = true;
			continue;
		}
		if (opt == '?') {
			/* getopt_long has said what was wrong */
			fputs("Try 'outfall-sim --help'.\n", stderr);
			return -EINVAL;
		}
		if (sim_opt_apply(o, opt, optarg) < 0)
			return -EINVAL;
		seen |= SEEN(opt);
	}
	if (optind < argc)
		return sim_usage_error("unexpected argument '%s'", argv[optind]);
	return sim_opts_check(o, seen);
}
