/*
 * sim_opts.h - the simulator's command line: parsing, checking and --help.
 * Strings point into argv and live as long as it does.
 */
#ifndef OUTFALL_SIM_OPTS_H
#define OUTFALL_SIM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_map.h"

#define SIM_EX_USAGE 64 /* sysexits EX_USAGE */

enum sim_scenario { SIM_NORMAL, SIM_EXCEED, SIM_FAULT, SIM_GARBAGE };

/* What the line speaks: Modbus RTU, or an ASCII probe's kv or csv lines. */
enum sim_proto { SIM_MODBUS, SIM_ASCII_KV, SIM_ASCII_CSV };

#define SIM_QUERY_MAX 64 /* bytes of --ascii-query, as outfalld allows */

struct sim_opts {
	const char *device;   /* --device: existing tty to serve, or NULL */
	const char *pty_link; /* --pty: link for socat to make, or NULL */
	int baud;             /* --baud */
	char parity;          /* --parity: 'N', 'E' or 'O' */
	int slave_id[SIM_DEVICE_COUNT]; /* --slave-probe, --slave-flow: first ids */
	int units[SIM_DEVICE_COUNT]; /* --probes, --flows: slaves of each kind,
				      * at consecutive ids from slave_id */
	bool wire_time;       /* --wire-time: replies take the line's time */
	uint64_t seed;        /* --seed */
	enum sim_scenario scenario;
	int exceed_param;     /* --param (enum sim_param) */
	double exceed_value;  /* --value */
	double after_s;       /* --after: scenario starts, s since start */
	double for_s;         /* --for: scenario lasts, s; 0 = to the end */
	double repeat_s;      /* --repeat: the window comes back every S s; 0 once */
	int fault_slave;      /* --fault-slave */
	bool fault_window;    /* --fault-after or --fault-for: a silence of
			       * fault_slave on top of another scenario */
	double fault_after_s; /* --fault-after: it starts, s since start */
	double fault_for_s;   /* --fault-for: it lasts, s; 0 = to the end */
	unsigned int every;   /* --every: garbage spoils every K-th reply */
	double duration_s;    /* --duration: 0 = until a signal */
	const char *csv_path; /* --csv, or NULL */
	bool verbose;         /* -v: debug lines on stderr */
	enum sim_proto proto; /* --ascii */
	int ascii_interval_ms; /* --ascii-interval-ms: streaming period */
	char ascii_query[SIM_QUERY_MAX]; /* --ascii-query, escapes resolved */
	size_t ascii_query_len; /* 0: the probe streams */
};

/* Fills o from argv. Returns 0 to run, 1 when --help was printed (exit 0),
 * or -EINVAL after printing the usage error to stderr (exit 64). */
int sim_opts_parse(int argc, char **argv, struct sim_opts *o);

#endif
