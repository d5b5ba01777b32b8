/*
 * ctl.h - outfallctl, the installer's and operator's tool (DESIGN §8): the
 * verbs scan, read, check, status, maintenance, alert, report (report.h)
 * and hj212 (ctl_hj212.h), and what they share (argument parsing, opening
 * a bus under the daemon's lock, formatting).
 *
 * outfallctl is a short-lived foreground program, not part of the daemon:
 * it blocks on the serial line for at most the timeout it was given per
 * request, prints to stdout, and reports errors on stderr once. Exit codes
 * follow sysexits.h; each verb's --help lists its own.
 */
#ifndef OUTFALL_CTL_H
#define OUTFALL_CTL_H

#include <modbus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

#define CTL_DEFAULT_CONFIG "/etc/outfall/outfall.conf"
#define CTL_MAX_ID 247        /* highest Modbus slave id */
#define CTL_MAX_READ_REGS 125 /* registers in one 03/04 request */
#define CTL_PATH_MAX 4096

/* The verbs: each takes its own argv (argv[0] is the verb) and returns an
 * exit code. */
int ctl_scan(int argc, char **argv);
int ctl_read(int argc, char **argv);
int ctl_check(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_maintenance(int argc, char **argv);
int ctl_alert(int argc, char **argv);
int ctl_report(int argc, char **argv); /* report.c */
int ctl_hj212(int argc, char **argv);  /* ctl_hj212.c: encode, decode, listen */

/* ---- ctl_maint.c: requests to the running daemon (daemon/control.h) ---- */

struct control_req;
/* Sends rq to the control socket sock, or (sock NULL) to the one in the
 * data_dir of config (NULL: the default config); prints the daemon's
 * answer (stdout when done, stderr when refused). Returns the exit code. */
int ctl_control(const char *config, const char *sock, const struct control_req *rq);
/* --reason TEXT into a field of cap bytes: 0, or -1 after saying why. */
int ctl_reason(const char *text, char *field, size_t cap);

/* ---- ctl_util.c: arguments and formatting ---- */

/* Long-option values shared by scan and read (above any short option). */
enum ctl_serial_opt {
	CTL_OPT_DEVICE = 0x100,
	CTL_OPT_BAUD,
	CTL_OPT_PARITY,
	CTL_OPT_DATA_BITS,
	CTL_OPT_STOP_BITS,
	CTL_OPT_TIMEOUT,
	CTL_OPT_CONFIG_HINT,
	CTL_OPT_FIRST_FREE /* verbs number their own options from here */
};

/* getopt_long entries for the serial options above; ends with no sentinel. */
#define CTL_SERIAL_LONGOPTS                                                 \
	{ "device", required_argument, NULL, CTL_OPT_DEVICE },              \
	{ "baud", required_argument, NULL, CTL_OPT_BAUD },                  \
	{ "parity", required_argument, NULL, CTL_OPT_PARITY },              \
	{ "data-bits", required_argument, NULL, CTL_OPT_DATA_BITS },        \
	{ "stop-bits", required_argument, NULL, CTL_OPT_STOP_BITS },        \
	{ "timeout-ms", required_argument, NULL, CTL_OPT_TIMEOUT },         \
	{ "config", required_argument, NULL, CTL_OPT_CONFIG_HINT }

/* A serial line as given on the command line; device NULL until set. */
struct ctl_line {
	struct cfg_bus bus;      /* name unused; device points into argv */
	const char *config_path; /* -c: names the daemon when the bus is busy */
};

/* Defaults: 9600 8N1, timeout_ms as given, no retries. */
void ctl_line_init(struct ctl_line *l, int timeout_ms);

/* Handles one serial option: 1 taken, 0 not a serial option, -1 a bad
 * value (said on stderr). */
int ctl_line_opt(struct ctl_line *l, int opt, const char *arg);

/* Help text for the serial options, for the verbs' --help. */
extern const char ctl_line_help[];

/* A whole number in [min, max], decimal or 0x hex: 0, or -1 after saying
 * on stderr what was wrong with the value of option what. */
int ctl_parse_long(const char *what, const char *s, long min, long max, long *out);
/* A finite number: 0, or -1 as above. */
int ctl_parse_double(const char *what, const char *s, double *out);

/* "1-247", "1,2,10", "1-4,10": sets ids[id] for each; 0 or -1 as above. */
int ctl_parse_ids(const char *s, bool ids[CTL_MAX_ID + 1]);

/* Appends the ids set in ids[] to buf as "1-4, 7, 9-10" (or "none"). */
void ctl_format_ids(const bool ids[CTL_MAX_ID + 1], char *buf, size_t cap);

/* Value type and word order by name: the enum value, or -1. */
int ctl_type_from_name(const char *s);
int ctl_order_from_name(const char *s);

/* "illegal data address" for a libmodbus exception errno; NULL if e is not
 * an exception. Its code (1..11) in *code. */
const char *ctl_exception_name(int e, int *code);
bool ctl_is_garbled(int e); /* bad CRC, wrong slave, malformed */

/* An age in ms as "4 s", "3 min 2 s", "5 h 1 min", "2 d 3 h". */
void ctl_format_age(int64_t ms, char *buf, size_t cap);
/* Wall ms as local "2026-11-29 16:00:17 CST". */
void ctl_format_local(int64_t wall_ms, char *buf, size_t cap);

/* Blocks SIGINT, SIGTERM and SIGHUP, so a long scan or a watch stops
 * between requests, never halfway through a frame. */
void ctl_signals_block(void);
/* Waits up to wait_ms (0: just looks) for one of them: true if it came. */
bool ctl_signal_wait(int64_t wait_ms);

/* ---- ctl_bus.c: the bus under the daemon's lock ---- */

/*
 * Opens l's device with libmodbus and takes the bus lock the daemon takes
 * (drivers/modbus_rtu.c): 0 and *out (ctl_bus_close it), or an exit code
 * after saying why on stderr: EX_TEMPFAIL when another process owns the bus
 * (naming it), EX_NOINPUT when the device is missing, EX_IOERR otherwise.
 */
int ctl_bus_open(const struct ctl_line *l, modbus_t **out);
void ctl_bus_close(modbus_t *mb); /* NULL is a no-op */

/* 0 when nobody holds device, -EBUSY when another process does. The
 * device is not reprogrammed. */
int ctl_bus_probe(const char *device);

/* Says in buf that device is in use and by whom: the holder from
 * /proc/locks, else the pid in the status.json of config_path's data_dir
 * (config_path NULL: the default config). */
void ctl_bus_busy(const char *device, const char *config_path, char *buf, size_t cap);

#endif
