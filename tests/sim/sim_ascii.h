/*
 * sim_ascii.h - the simulator's ASCII probe (--ascii kv|csv): a pH, COD and
 * temperature probe that streams text lines at a fixed period, or answers
 * a query string with one line, on a raw tty. Values come from the same
 * model as the Modbus probe; every line sent whole is logged to the CSV
 * file; the garbage scenario spoils every K-th line.
 */
#ifndef OUTFALL_SIM_ASCII_H
#define OUTFALL_SIM_ASCII_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_map.h"
#include "sim_opts.h"

#define SIM_ASCII_FIELDS 3  /* ph, cod, temp */
#define SIM_ASCII_LINE_MAX 1200 /* room for the longest (overlong) line */

/* What the serve loop needs from the simulator. */
struct sim_ascii {
	const struct sim_opts *opt;
	const struct sim_model *model;
	int fd;                   /* the tty, raw and non-blocking */
	FILE *csv;                /* --csv, or NULL */
	int64_t start_ms;         /* monotonic ms at 'ready' */
	int64_t fault_from_ms;    /* silence window, ms since start, */
	int64_t fault_until_ms;   /* until exclusive */
	uint64_t rng;             /* noise of the garbage scenario */
	uint64_t lines;           /* lines due so far, for --every */
	uint64_t spoiled;         /* of those, spoiled */
	char in[2 * SIM_QUERY_MAX]; /* query mode: the latest bytes read */
	size_t in_len;
};

/* Opens path raw (8 data bits, 1 stop bit), non-blocking, and discards what
 * was waiting. The fd, or -errno. */
int sim_ascii_open(const char *path, int baud, char parity);

/*
 * Formats the values at one instant as a line of proto (kv or csv) ending
 * in CR LF into buf, and each value as written into text[i] (field i + 1:
 * ph, cod, temp). Returns the line's length, or -ENOBUFS. Pure.
 */
int sim_ascii_format(enum sim_proto proto, const struct sim_values *v, char *buf, size_t cap,
		     char text[SIM_ASCII_FIELDS][32]);

/*
 * Serves until *stop is set, end_ms (monotonic) passes, or the line fails;
 * waitmask is the signal mask ppoll() waits with, check(ctx) says whether
 * the line is still there (0) or gone (-errno). 0 or -errno.
 */
int sim_ascii_serve(struct sim_ascii *a, int64_t end_ms, const sigset_t *waitmask,
		    volatile sig_atomic_t *stop, int (*check)(void *ctx), void *ctx);

#endif
