/*
 * internal.h - the daemon's state, shared by daemon.c (the loop,
 * start and stop) and records.c (what goes into the outbox: polls,
 * alerts, aggregates, self-metrics, and the alert state on disk).
 */
#ifndef OUTFALL_DAEMON_INTERNAL_H
#define OUTFALL_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "acquire.h"
#include "status.h"
#include "base/log.h"
#include "compliance/compliance.h"
#include "config/config.h"
#include "outbox/outbox.h"
#include "sinks/sink.h"

#define DAEMON_MAX_SINKS 4       /* mqtt, influx, history, HJ 212 platforms:
				   * as many as the outbox keeps cursors */
#define DAEMON_METRICS_MS 60000   /* self-metrics record to every sink */
#define DAEMON_TICK_MS 1000       /* compliance tick: periods, timers */
#define DAEMON_SAVE_RETRY_MS 60000 /* a failed alert-state save is retried */
#define DAEMON_STATUS_MS 10000    /* status.json for outfallctl status */
#define DAEMON_STATUS_FIRST_MS 1000 /* ... and soon after a sensor's first poll */
/* A periodic timer due this soon after a wake runs in it: the compliance
 * tick, metrics and status then ride on the poll burst's wake-up instead
 * of waking the loop a few ms later on their own. */
#define DAEMON_TIMER_SLACK_MS 250
#define DAEMON_KEPT_ALERTS 64     /* alerts held in memory while the disk is full */
#define DAEMON_STATUS_ALERTS 256  /* open alerts listed in status.json */

struct daemon {
	const char *path;       /* the gateway file, read again on SIGHUP */
	struct config *cfg;     /* owned */
	bool reload;            /* SIGHUP seen */
	struct acquire *acq;
	struct compliance *comp;
	struct outbox *ob;
	struct sink sinks[DAEMON_MAX_SINKS];
	const char *sink_names[DAEMON_MAX_SINKS]; /* stable: name the cursor files */
	int n_sinks;
	int mqtt;               /* index of the MQTT sink, -1 if none */
	int sigfd;
	bool stop;
	struct rec_alert *events; /* compliance output, compliance_max_events */
	struct record *tick_recs; /* the same for ticks */
	int max_events;
	bool *active_dirty;     /* per outlet: republish alerts/<outlet>/active */
	char *json;             /* PAYLOAD_MAX bytes for an active set */
	int64_t started_ms;     /* wall ms of the start, for the status topic */
	int64_t watchdog_ms;    /* ping interval, 0 when not supervised */
	int64_t next_watchdog_ms;
	int64_t next_stats_ms;
	int64_t next_metrics_ms;
	int64_t next_tick_ms;
	int64_t next_save_ms;   /* earliest retry of a failed state save */
	uint64_t alerts;        /* alert events produced */
	uint64_t lost_seen;     /* compliance_lost() already logged */
	bool clock_synced;      /* the wall clock is trusted: gateway.clock is
				 * "rtc", or adjtimex says NTP has set it */
	bool clock_kernel;      /* adjtimex says NTP has set it */
	int clock_said;         /* commands.c: the clock line last logged, 0 none */
	int ctlfd;              /* the control socket (control.h), -1 none */
	char *ctl_dir;          /* where it was bound, for its removal */
	int64_t next_maint_save_ms; /* earliest retry of a failed save */
	struct complaint maint_c;
	bool gap_open;          /* a data_gap alert for lost records is raised */
	struct rec_alert gap;   /* its evidence */
	int64_t gap_last_ms;    /* newest lost record's time */
	struct record *kept;    /* alerts not stored yet (full disk), oldest first:
				 * DAEMON_KEPT_ALERTS, allocated on first need */
	int n_kept;
	uint64_t kept_dropped;  /* alerts given up: more than the queue holds */
	struct complaint save_c;
	struct status_snapshot status; /* what outfallctl status shows */
	int64_t next_status_ms;
	struct complaint status_c;
};

/* acquire_emit_fn: one poll in; telemetry and alert records out. */
void daemon_on_poll(void *ctx, int sensor_idx, const struct record *r);
/* Compliance tick, lost-record gaps, self-metrics and state saving, as due. */
void daemon_records_tick(struct daemon *d, int64_t mono_ms);
/* The compliance tick now: closed periods and timers into the outbox. */
void daemon_compliance_step(struct daemon *d, int64_t mono_ms);
/* Start: the engine with the alert state from data_dir, output arrays. */
int daemon_records_init(struct daemon *d);
void daemon_records_fini(struct daemon *d);
/* Saves the alert state if it changed (force: retry now, at shutdown). */
void daemon_save_state(struct daemon *d, bool force);
/* Publishes the retained active-alert set of every outlet marked dirty. */
void daemon_publish_active(struct daemon *d);
void daemon_log_stats(struct daemon *d);
/* The status snapshot for the current config and sinks; and writing it
 * (stopped: the last one, from a clean shutdown). */
int daemon_status_init(struct daemon *d);
void daemon_status_write(struct daemon *d, bool stopped);

/* Appends a compliance call's records in order: alerts logged and marked
 * for the active sets, maintenance events logged, the rest as they are. */
void daemon_append_out(struct daemon *d, const struct compliance_out *out);

/* Stores a reload event (REC_RELOAD; its time and clock flag are set
 * here). Not kept for a retry when the outbox refuses it: logged. */
void daemon_append_reload(struct daemon *d, struct record *r);

/* commands.c: the control channel (control.h) and what it asks for -
 * maintenance on and off, closing an alert - the maintenance modes on
 * disk, and whether the wall clock is trusted to judge permit dates. */
void daemon_control_open(struct daemon *d);  /* logs and goes on without */
void daemon_control_close(struct daemon *d);
void daemon_control(struct daemon *d);       /* the requests waiting */
void daemon_maint_restore(struct daemon *d); /* at start, after the alerts */
void daemon_maint_save(struct daemon *d, bool force);
/* d->clock_synced and clock_kernel for now; one log line on a change. */
void daemon_clock_check(struct daemon *d);
/* Maintenance and clock state into the status snapshot. */
void daemon_status_maint(struct daemon *d);
void daemon_log_maint(const struct record *r);

/* daemon.c: the outbox and sinks for d->cfg, and taking them down. */
void daemon_name_sinks(struct daemon *d);
int daemon_open_outbox(struct daemon *d, int64_t now_ms);
int daemon_add_sinks(struct daemon *d, int64_t started_wall_ms);
/* Makes sink i (named by daemon_name_sinks) for d->cfg; 0 or -errno/-1. */
int daemon_make_sink(struct daemon *d, int i, int64_t started_wall_ms);
void daemon_free_sinks(struct daemon *d);
void daemon_send_limits(struct daemon *d); /* outfall_limit to InfluxDB sinks */
/* The sinks.hj212 entry sink i is, or -1 when it is not an HJ 212 platform. */
int daemon_hj212_platform(const struct daemon *d, int i);
/* reload.c: SIGHUP. Reads both files again; a valid config is
 * swapped in, an invalid one is logged (every error, file:line) and the
 * running one kept. */
void daemon_reload(struct daemon *d);

#endif
