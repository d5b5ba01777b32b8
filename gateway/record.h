/*
 * record.h - what flows from acquisition and compliance to the sinks.
 *
 * A record is self-contained plain data (fixed-size fields, no pointers), so
 * it can be queued, written to disk and replayed after a restart or a config
 * reload without looking anything up in the config.
 */
#ifndef OUTFALL_RECORD_H
#define OUTFALL_RECORD_H

#include <stdint.h>

#include "config.h"

#define REC_MAX_VALUES CFG_MAX_CHANNELS
#define REC_NAME 32    /* sensor, outlet names incl. NUL */
#define REC_ID 160     /* alert id incl. NUL */
#define REC_PERMIT 96  /* permit number incl. NUL (UTF-8) */
#define REC_HOLDER 160 /* permit holder incl. NUL (UTF-8) */

/* Quality of one value. Only Q_OK values count for statistics and limits. */
enum quality {
	Q_OK,
	Q_OUT_OF_RANGE, /* outside the instrument's configured range */
	Q_INVALID,      /* NaN or Inf after decoding */
	Q_NO_RESPONSE,  /* the slave did not answer this poll */
	Q_COUNT
};

const char *quality_name(int q); /* "ok", "out_of_range", ... */

struct rec_value {
	double v;        /* scaled value; meaningless unless q is ok/out_of_range */
	uint8_t param;   /* enum param */
	uint8_t quality; /* enum quality */
};

/* One poll of one sensor: DESIGN §6 telemetry/<outlet>. */
struct rec_poll {
	char outlet[REC_NAME]; /* "" when the sensor belongs to no outlet */
	char sensor[REC_NAME];
	uint8_t n;             /* values used, <= REC_MAX_VALUES */
	struct rec_value values[REC_MAX_VALUES];
};

enum alert_state { ALERT_RAISED, ALERT_CLEARED };

enum alert_kind {
	AK_LIMIT_EXCEEDED,
	AK_BELOW_MINIMUM,
	AK_DAILY_VOLUME_EXCEEDED,
	AK_NO_VALID_PERMIT,
	AK_PERMIT_EXPIRING,
	AK_STORM_SEWAGE,
	AK_SENSOR_FAULT,
	AK_DATA_GAP,
	AK_COUNT
};

const char *alert_kind_name(int k);  /* "limit_exceeded", ... */
const char *alert_state_name(int s); /* "raised", "cleared" */

/* One alert event (raised or cleared) with its evidence: DESIGN §5, §6. */
struct rec_alert {
	char id[REC_ID];   /* gateway/outlet/parameter/rule/raise_ms */
	uint8_t state;     /* enum alert_state */
	uint8_t kind;      /* enum alert_kind */
	uint8_t param;     /* enum param */
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
};

enum rec_type { REC_POLL, REC_ALERT };

struct record {
	uint64_t seq;  /* assigned by the queue, strictly increasing */
	int64_t ts_ms; /* wall-clock ms (UTC) */
	uint8_t type;  /* enum rec_type */
	union {
		struct rec_poll poll;
		struct rec_alert alert;
	} u;
};

#endif
