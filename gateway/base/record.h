/*
 * record.h - what flows from acquisition and compliance to the sinks.
 *
 * A record is self-contained plain data (fixed-size fields, no pointers), so
 * it can be queued, written to disk and replayed after a restart or a config
 * reload without looking anything up in the config.
 */
#ifndef OUTFALL_RECORD_H
#define OUTFALL_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define REC_MAX_VALUES 16 /* channels per sensor: config's CFG_MAX_CHANNELS */
#define REC_NAME 32    /* sensor, outlet names incl. NUL */
#define REC_ID 160     /* alert id incl. NUL */
#define REC_PERMIT 96  /* permit number incl. NUL (UTF-8) */
#define REC_HOLDER 160 /* permit holder incl. NUL (UTF-8) */
#define REC_NOTE 128   /* an operator's reason incl. NUL (UTF-8) */
#define REC_SUMMARY 256 /* a reload's changes or refusal incl. NUL (UTF-8) */

/* Quality of one value. Only Q_OK values count for statistics and limits. */
enum quality {
	Q_OK,
	Q_OUT_OF_RANGE, /* outside the instrument's configured range */
	Q_INVALID,      /* NaN or Inf after decoding */
	Q_NO_RESPONSE,  /* the slave did not answer this poll */
	Q_COUNT
};

const char *quality_name(int q); /* "ok", "out_of_range", ... */

/* rec_value.flags */
#define RV_F32 0x01          /* decoded from a float32: print the shortest
			      * decimal that round-trips the float32 */
#define RV_IMPLAUSIBLE 0x02  /* Q_INVALID because it cannot be physical
			      * (bounds, subnormal, counter jump): cause
			      * "implausible", with a hint */
#define RV_MAINTENANCE 0x04  /* the sensor was in maintenance (flag M) */
#define RV_CALIBRATION 0x08  /* the sensor was being calibrated (flag C) */

struct rec_value {
	double v;        /* scaled value; meaningless unless q is ok/out_of_range */
	uint8_t param;   /* enum param */
	uint8_t quality; /* enum quality */
	uint8_t flags;   /* RV_* */
};

/* One poll of one sensor: DESIGN §6 telemetry/<outlet>. */
struct rec_poll {
	char outlet[REC_NAME]; /* "" when the sensor belongs to no outlet */
	char sensor[REC_NAME];
	uint8_t n;             /* values used, <= REC_MAX_VALUES */
	struct rec_value values[REC_MAX_VALUES];
};

enum alert_state { ALERT_RAISED, ALERT_CLEARED };

/* Why a sensor_fault was raised (DESIGN §5). */
enum fault_cause {
	FC_NONE,
	FC_NO_RESPONSE,
	FC_CRC_ERRORS,
	FC_OUT_OF_RANGE,
	FC_IMPLAUSIBLE,
	FC_FLAT_LINE,
	FC_COUNTER_BACKWARDS,
	FC_COUNT
};

/* Why an alert was cleared (DESIGN §5). */
enum clear_reason {
	CR_NONE,             /* raised events */
	CR_BACK_INSIDE,
	CR_LIMIT_CHANGED,
	CR_PERMIT_REPLACED,
	CR_SENSOR_RECOVERED,
	CR_CLOSED_BY_OPERATOR,
	CR_COUNT
};

const char *fault_cause_name(int c);  /* "no_response", ...; NULL for FC_NONE */
const char *clear_reason_name(int r); /* "back_inside", ...; NULL for CR_NONE */

enum alert_kind {
	AK_LIMIT_EXCEEDED,
	AK_BELOW_MINIMUM,
	AK_DAILY_VOLUME_EXCEEDED,
	AK_NO_VALID_PERMIT,
	AK_PERMIT_EXPIRING,
	AK_STORM_SEWAGE,
	AK_SENSOR_FAULT,
	AK_DATA_GAP,
	AK_MAINTENANCE, /* a sensor kept in maintenance too long, or put
			 * into it too often (DESIGN §5) */
	AK_COUNT
};

const char *alert_kind_name(int k);  /* "limit_exceeded", ... */
const char *alert_state_name(int s); /* "raised", "cleared" */

/* rec_alert.param of an alert about no parameter: a data_gap of records
 * the outbox lost (DESIGN §5: no pretend parameter, limit or unit). */
#define REC_PARAM_NONE 0xff

/* One alert event (raised or cleared) with its evidence: DESIGN §5, §6. */
struct rec_alert {
	char id[REC_ID];   /* gateway/outlet/parameter/rule/raise_ms */
	uint8_t state;     /* enum alert_state */
	uint8_t kind;      /* enum alert_kind */
	uint8_t param;     /* enum param, or REC_PARAM_NONE */
	uint8_t basis;     /* enum basis */
	uint8_t sensor_health; /* enum quality of the evidence reading */
	int32_t window_min;    /* rolling window, 0 when not rolling */
	char outlet[REC_NAME];
	char sensor[REC_NAME];
	char permit[REC_PERMIT];
	char holder[REC_HOLDER];
	double limit;      /* the limit that was crossed */
	double value;      /* the value that crossed it (raised) or came back */
	double peak;       /* worst value while raised */
	int64_t since_ms;  /* wall-clock ms when it was raised */
	int64_t until_ms;  /* wall-clock ms when cleared, 0 while raised */
	uint8_t value_flags;   /* RV_* of the evidence reading (RV_F32: precision) */
	uint8_t reason;        /* enum clear_reason, cleared events only */
	uint8_t unhealthy;     /* 1: the sensor went unhealthy while this was
				* open; it stays open until good readings
				* say otherwise */
	/* sensor_fault (raised per sensor): */
	uint8_t cause;         /* enum fault_cause */
	uint8_t n_params;      /* parameters the faulty sensor measures */
	uint8_t params[REC_MAX_VALUES]; /* enum param */
	int32_t polls_missed;  /* polls in a row without a good answer */
	int64_t last_answer_ms; /* wall ms of its last good answer, 0 = none */
	/* data_gap: */
	int32_t gap_s;         /* seconds without a good reading */
	double coverage_pct;   /* share of the period good readings covered */
	/* permit_expiring: */
	int32_t days_left;
	/* operator close (reason CR_CLOSED_BY_OPERATOR): */
	char note[REC_NOTE];   /* the operator's reason, UTF-8 */
};

/* The gateway's own health, every 60 s: DESIGN §6 outfall_gateway. */
#define REC_MAX_SINKS 4
#define REC_SINK_NAME 16

struct rec_sink_metrics {
	char name[REC_SINK_NAME]; /* "mqtt", "influx", ... */
	uint64_t queue_depth;     /* records not yet acknowledged by the peer */
	int64_t oldest_unsent_s;  /* age of the oldest of them, 0 if none */
	uint64_t sent;
	uint64_t retried;
	uint64_t dropped;         /* removed by the disk cap before being sent */
	uint64_t quarantined;     /* refused by the peer for good */
};

struct rec_metrics {
	uint64_t polls;
	uint64_t errors;          /* failed polls */
	uint64_t timeouts;
	uint64_t crc_errors;
	uint64_t exceptions;
	uint64_t outbox_corrupt;  /* corrupt records or tails found on disk */
	uint64_t outbox_io_errors;
	uint64_t late;            /* polls started later than their bus's timeout */
	uint8_t n_sinks;
	struct rec_sink_metrics sinks[REC_MAX_SINKS];
};

/* Period statistics of one outlet: DESIGN §6 aggregate/<outlet>/<period>. */
enum agg_period { AGG_MINUTE, AGG_HOUR, AGG_DAY, AGG_COUNT };

const char *agg_period_name(int p); /* "minute", "hour", "day" */

struct rec_agg_param {
	uint8_t param;   /* enum param */
	uint32_t count;  /* good readings in the period */
	double avg;      /* flow-weighted for concentrations when there is flow */
	double min;
	double max;
	double cou;      /* m3 for flow, kg for concentrations, NaN if none */
};

struct rec_aggregate {
	char outlet[REC_NAME];
	uint8_t period;  /* enum agg_period */
	uint8_t n;       /* params used */
	int64_t end_ms;  /* wall ms when the period closes (ts_ms is its start) */
	struct rec_agg_param params[REC_MAX_VALUES];
};

/* A sensor's maintenance or calibration began, was extended (a new
 * planned end, reason or mode) or ended (DESIGN §5): an event to every
 * sink, so the mode is never silent. Its readings meanwhile carry
 * RV_MAINTENANCE or RV_CALIBRATION. */
enum maint_event { MEV_START, MEV_EXTEND, MEV_END, MEV_COUNT };
enum maint_mode { MM_MAINTENANCE, MM_CALIBRATION, MM_COUNT };
enum maint_end { MEND_NONE, MEND_OPERATOR, MEND_EXPIRED, MEND_REMOVED, MEND_COUNT };

struct rec_maint {
	uint8_t event;          /* enum maint_event */
	uint8_t mode;           /* enum maint_mode */
	uint8_t ended_by;       /* enum maint_end: end events only */
	char outlet[REC_NAME];  /* "" when the sensor belongs to no outlet */
	char sensor[REC_NAME];
	int64_t since_ms;       /* wall ms the mode began */
	int64_t planned_end_ms; /* wall ms it ends by itself */
	int64_t until_ms;       /* wall ms it ended: end events, else 0 */
	char note[REC_NOTE];    /* the operator's reason, UTF-8, "" if none */
};

const char *maint_event_name(int e); /* "start", "extend", "end" */
const char *maint_mode_name(int m);  /* "maintenance", "calibration" */
const char *maint_end_name(int e);   /* "operator", "expired", "removed"; NULL none */

/* A SIGHUP: the config read again and applied, or refused (the running
 * one stays). DESIGN §4: the history keeps reload events. */
enum reload_outcome { RLD_APPLIED, RLD_REFUSED, RLD_COUNT };

struct rec_reload {
	uint8_t outcome;           /* enum reload_outcome */
	uint16_t changes;          /* settings changed, or errors when refused */
	char summary[REC_SUMMARY]; /* the change lines or the refusal, joined by
				    * "; ", UTF-8, cut with "…" when too long */
};

const char *reload_outcome_name(int o); /* "applied", "refused"; "?" */

/*
 * Appends text to r->summary, after "; " unless it is the first piece.
 * What does not fit is cut on a UTF-8 boundary and the summary ends in
 * "…"; false then, and nothing more should be appended (changes is the
 * caller's to count).
 */
bool rec_reload_append(struct rec_reload *r, const char *text);

enum rec_type { REC_POLL, REC_ALERT, REC_METRICS, REC_AGGREGATE, REC_MAINT, REC_RELOAD };

/* Records that must not be lost to the disk cap and go out before
 * telemetry: alert, maintenance and reload events. */
static inline int rec_is_event(int type)
{
	return type == REC_ALERT || type == REC_MAINT || type == REC_RELOAD;
}

/* The wall clock was not known to be synchronised when the record was made
 * (a Pi has no RTC: until NTP has set it, timestamps may be far off). */
#define REC_F_CLOCK_UNSYNCED 0x01

struct record {
	uint64_t seq;  /* assigned by the outbox, strictly increasing */
	int64_t ts_ms; /* wall-clock ms (UTC); an aggregate's period start */
	uint8_t type;  /* enum rec_type */
	uint8_t flags; /* REC_F_* */
	union {
		struct rec_poll poll;
		struct rec_alert alert;
		struct rec_metrics metrics;
		struct rec_aggregate aggregate;
		struct rec_maint maint;
		struct rec_reload reload;
	} u;
};

#endif
