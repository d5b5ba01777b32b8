/*
 * status.h - the daemon's status snapshot in <run_dir>/status.json, for
 * `outfallctl status` and for anyone with jq.
 *
 * The daemon keeps one struct status_snapshot, updates it as it polls and
 * writes it every few seconds with status_write(): a temp file, fsync,
 * rename, so a reader sees the old snapshot or the new one, never a torn
 * one. The directory is not fsynced: the file is advisory, and losing the
 * last rename in a power cut costs nothing. outfallctl reads it back with
 * status_read(), which treats anything that is not a complete snapshot as
 * corrupt.
 *
 * File (UTF-8 JSON, one object; times are wall-clock ms since 1970 UTC,
 * 0 meaning never; a value that is not a finite number is null):
 *   {"format":1,"gateway":"..","version":"..","pid":N,"stopped":false,
 *    "started_ms":N,"now_ms":N,
 *    "sensors":[{"name","bus","device","slave","last_ok_ms","last_poll_ms",
 *                "polls","failures","timeouts","crc_errors","exceptions","late",
 *                "values":[{"parameter":"cod","v":212.5,"unit":"mg/L","q":"ok"}]}],
 *    "sinks":[{"name","unacked","oldest_unacked_ms","sent","retried",
 *              "errors","quarantined","dropped","last_error","last_error_ms",
 *              "next_retry_ms"}],
 *    "alerts":[{"id","state","kind","parameter","basis","sensor_health",
 *               "window_min","outlet","sensor","permit","holder","limit",
 *               "value","peak","since_ms","until_ms"}]}
 * Enumerations are written by name (param_name, quality_name,
 * alert_kind_name, ...). "unit" is for people; status_read ignores it.
 * A sink's "last_error" is the text of its last failure (null if none since
 * it was made), "next_retry_ms" when it next tries to connect or resend
 * (0: it is not waiting); status_read takes a file without these three
 * (from a daemon older than them) as having none.
 * A sensor's "maintenance" is null, or while it is in maintenance or
 * calibration {"mode","since_ms","planned_end_ms","reason"} with "reason"
 * null if none was given; the root's "clock" is {"source":"ntp"|"rtc",
 * "kernel_synced","dates_judged"} (permit dates are judged when rtc, or
 * ntp and the kernel reports sync). status_read takes a file without them
 * as having no maintenance and no clock state (has_clock false).
 *
 * Nothing here logs; errors are returned as -errno.
 */
#ifndef OUTFALL_STATUS_H
#define OUTFALL_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/record.h"
#include "config/config.h"

#define STATUS_FILE "status.json"
#define STATUS_FORMAT 1
#define STATUS_STALE_MS 30000       /* older than this: the daemon is not running */
#define STATUS_ID 64                /* gateway id incl. NUL */
#define STATUS_VERSION 32           /* version string incl. NUL */
#define STATUS_NAME 32              /* sensor, bus, sink names incl. NUL */
#define STATUS_DEVICE 128           /* serial device path incl. NUL */
#define STATUS_ERROR 200            /* a sink's last error incl. NUL */
#define STATUS_MAX_SENSORS 1024     /* status_read refuses more */
#define STATUS_MAX_SINKS REC_MAX_SINKS
#define STATUS_MAX_ALERTS 1024
#define STATUS_MAX_BYTES (8u << 20) /* a larger file is not ours */

struct status_sensor {
	char name[STATUS_NAME];
	char bus[STATUS_NAME];
	char device[STATUS_DEVICE];  /* the bus's device (truncated if longer) */
	int slave;
	int64_t last_ok_wall_ms;     /* last poll the slave answered, 0 never */
	int64_t last_poll_wall_ms;   /* last poll, answered or not, 0 never */
	uint8_t n_values;            /* <= CFG_MAX_CHANNELS */
	struct rec_value values[CFG_MAX_CHANNELS]; /* of the last poll */
	uint64_t polls;              /* cumulative since the daemon started */
	uint64_t failures;           /* polls that did not read every channel */
	uint64_t timeouts;           /* requests without an answer */
	uint64_t crc_errors;         /* garbled answers */
	uint64_t exceptions;         /* Modbus exception replies */
	uint64_t late;               /* polls started later than the bus timeout */
	bool maint;                  /* in maintenance or calibration now: */
	uint8_t maint_mode;          /* enum maint_mode */
	int64_t maint_since_ms;      /* wall ms it began */
	int64_t maint_end_ms;        /* wall ms it ends by itself */
	char maint_reason[REC_NOTE]; /* the operator's, "" none */
};

struct status_sink {
	char name[STATUS_NAME];      /* "mqtt", "influx" */
	uint64_t unacked;            /* records not yet acknowledged by the peer */
	int64_t oldest_unacked_ms;   /* wall ms of the oldest of them, 0 if none */
	uint64_t sent;
	uint64_t retried;
	uint64_t errors;
	uint64_t quarantined;        /* refused by the peer for good */
	uint64_t dropped;            /* removed by the disk cap before being sent */
	char last_error[STATUS_ERROR]; /* its last failure as logged, "" none */
	int64_t last_error_ms;       /* wall ms of it, 0 none */
	int64_t next_retry_ms;       /* wall ms of its next connect or resend, 0 when
				      * it is not waiting to retry */
};

/* The arrays are owned by the snapshot: status_init() or status_read()
 * allocate them, status_clear() frees them. */
struct status_snapshot {
	char gateway[STATUS_ID];
	char version[STATUS_VERSION];
	int64_t pid;
	bool stopped;                /* written by a clean shutdown: no more follow */
	int64_t started_wall_ms;
	int64_t now_wall_ms;         /* when this snapshot was taken */
	bool has_clock;              /* the three below are known */
	bool clock_rtc;              /* gateway.clock = "rtc" (else "ntp") */
	bool clock_synced;           /* the kernel reports NTP sync */
	bool dates_judged;           /* permit validity and expiry are judged */
	struct status_sensor *sensors;
	size_t n_sensors;
	struct status_sink *sinks;
	size_t n_sinks;
	struct rec_alert *alerts;    /* open (raised) alerts */
	size_t n_alerts;
	size_t max_alerts;           /* room in alerts[]; status_read sets it to n_alerts */
};

/*
 * Sets s up for cfg (which it does not keep): gateway id, one sensor per
 * configured sensor with its name, bus, device and slave filled and
 * nothing polled yet, n_sinks zeroed sinks (the caller names them) and room
 * for max_alerts alerts. s must be zeroed or cleared. 0, -EINVAL (more than
 * STATUS_MAX_* of something), or -ENOMEM (s stays cleared).
 */
int status_init(struct status_snapshot *s, const struct config *cfg, size_t n_sinks,
		size_t max_alerts);

/* Frees the arrays and zeroes s; a zeroed s is a no-op. */
void status_clear(struct status_snapshot *s);

/* Takes one poll of sensor sensor_idx (a REC_POLL record) into s: its
 * values and time; the slave answered unless every value is no_response.
 * Counters are the caller's to copy. Out-of-range indexes are ignored. */
void status_note_poll(struct status_snapshot *s, int sensor_idx, const struct record *r);

/* A sink's last error (text, wall ms; NULL or "" for none) and the
 * monotonic ms of its next retry (0 none) into ss, the retry as wall ms by
 * the two clocks' readings now (never before now_wall_ms). */
void status_note_sink_health(struct status_sink *ss, const char *last_error,
			     int64_t last_error_wall_ms, int64_t next_retry_mono_ms,
			     int64_t now_wall_ms, int64_t now_mono_ms);

/* The snapshot as JSON: 0 and a NUL-terminated *out the caller releases
 * with free(), or -ENOMEM. */
int status_to_json(const struct status_snapshot *s, char **out);

/* Writes s to path through "<path>.tmp", fsync and rename: 0 or -errno
 * (the old file is left as it was and no temp file stays behind). */
int status_write(const char *path, const struct status_snapshot *s);

/*
 * Reads path into out (zeroed or cleared): 0; -ENOENT when there is none
 * (the daemon never ran with this data_dir); -EBADMSG when it is not a
 * complete snapshot of this format (truncated, garbage, wrong shape, too
 * large, a string longer than its field); -ENOMEM; another -errno when it
 * cannot be read. out is untouched on failure.
 */
int status_read(const char *path, struct status_snapshot *out);

#endif
