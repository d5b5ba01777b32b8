/*
 * internal.h - what the compliance engine's files share: the
 * engine's plain structs, built once by compliance.c from the config, and
 * the rule machinery of rule.c. eval.c judges polls,
 * tick.c closes periods and carries state across restarts.
 *
 * Everything is addressed by index into arrays sized at setup, so judging a
 * poll allocates nothing and touches only its sensor's channels, their
 * outlet statistics and those statistics' rules.
 */
#ifndef OUTFALL_COMPLIANCE_INTERNAL_H
#define OUTFALL_COMPLIANCE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "compliance.h"
#include "health.h"
#include "period.h"
#include "rolling.h"
#include "base/param.h"

enum rule_type {
	RT_LIMIT,        /* one side of a permit limit */
	RT_NODATA,       /* too little data to judge a limit's window or period */
	RT_VOLUME,       /* daily volume */
	RT_NO_PERMIT,
	RT_EXPIRING,
	RT_STORM_FLOW,
	RT_STORM_SIG,
	RT_NO_RESPONSE,  /* sensor faults, one rule per sensor and cause, */
	RT_CRC,          /* from here ... */
	RT_RANGE,
	RT_IMPLAUSIBLE,
	RT_FLATLINE,
	RT_COUNTER,      /* ... to here */
	RT_GAP,          /* data_gap of one channel */
	RT_MAINT_LONG,   /* maintenance.c: maintenance_overuse, too long */
	RT_MAINT_OFTEN   /* and too often */
};

/* A sensor_fault rule (of one sensor, for one cause). */
static inline bool rule_is_fault(int type)
{
	return type >= RT_NO_RESPONSE && type <= RT_COUNTER;
}

/* Good-looking readings a channel keeps out after an implausible one: the
 * run of plausible readings that says a word-order or type mistake is gone
 * (a wrong word order still gives a plausible-looking float now and then,
 * about one in twelve; eight in a row, about one in 10^9). */
#define DISTRUST_READINGS 8

/* cp_chan.bad: what its latest readings showed, one bit per channel-level
 * fault cause, each with its evidence in bad_v[] and bad_flags[]. */
enum { CB_RANGE, CB_IMPLAUSIBLE, CB_FLAT, CB_BACKWARDS, CB_COUNT };

/* One alert's rule: what it judges and its raise/clear state. */
struct cp_rule {
	uint8_t type;          /* enum rule_type */
	uint8_t kind;          /* enum alert_kind */
	uint8_t param;         /* enum param */
	uint8_t basis;         /* enum basis of a limit (and its nodata rule) */
	bool side_min;         /* a minimum: lower is worse */
	bool immediate;        /* judged once a period: no raise or clear wait */
	int window_min;        /* rolling limits */
	int outlet;            /* index into cfg->outlets */
	int sensor;            /* index into cfg->sensors, -1 if not one sensor's */
	int roll;              /* index into c->rolls for rolling rules, else -1 */
	double limit;          /* for the evidence */
	double hysteresis_pct;
	int64_t raise_after_ms, clear_after_ms;
	/* state */
	bool raised;
	bool restored;         /* raised before a restart, not judged since */
	bool bad, good;        /* bad_since_* / good_since_mono are set */
	int64_t bad_since_mono, bad_since_wall, good_since_mono;
	int64_t reminded_day;  /* permit_expiring: local day of the last send */
};

/* One channel of a sensor that belongs to an outlet. */
struct cp_chan {
	int sensor, outlet, ostat;
	const struct cfg_channel *cfg;
	int64_t gap_ms, flatline_ms, nominal_ms; /* nominal: the poll interval */
	double modulus;        /* volume counters: span before wrapping */
	int r_gap;             /* its data_gap rule */
	/* state */
	bool has_ok;
	int64_t last_ok_mono;  /* last good reading; the engine's start before one */
	uint8_t last_q;        /* quality of the last reading, for evidence */
	uint8_t bad;           /* bit 1 << CB_*: what its latest readings showed */
	uint8_t distrust;      /* good-looking readings still to keep out */
	uint8_t why;           /* enum plausibility of its last implausible one */
	uint8_t bad_flags[CB_COUNT]; /* RV_* of bad_v[] */
	double bad_v[CB_COUNT];      /* the reading behind each bit */
	bool has_flat;
	double flat_v;         /* value the current run of identical readings has */
	int64_t flat_since_mono;
	struct counter counter;
	/* volume counters: the last finite reading, believed or not, that the
	 * next step is judged from (no seen_mono after a restart: only its
	 * wall time is known) */
	bool seen, seen_has_mono;
	double seen_v;
	int64_t seen_mono, seen_wall;
};

struct cp_sensor {
	int outlet;            /* -1: not watched */
	int first_chan, n_chan;
	int8_t chan_of_param[P_COUNT]; /* index into c->chans, -1 none */
	int r_noresp, r_crc;   /* its sensor_fault rules, -1 none: no answer, */
	int r_range, r_implaus, r_flat, r_counter; /* garbled, and per channel */
	bool registers;        /* Modbus: a word order or type can be wrong */
	int streak;            /* polls in a row without an answer */
	int answered;          /* polls answered, counted up to DISTRUST_READINGS */
	int64_t last_answer_wall; /* wall ms of its last answer, 0 none */
	struct crcwin crc;
};

/* The statistics of one parameter at one outlet, and the rules on them:
 * rules [first_rule, first_rule + n_rule) are judged on each good reading,
 * [first_prule, first_prule + n_prule) when an hour or day closes. */
struct cp_ostat {
	int outlet;
	uint8_t param;
	bool conc;             /* mg/L: flow-weighted, load in kg */
	struct acc acc[AGG_COUNT]; /* the open minute, hour and day */
	int first_rule, n_rule;
	int first_prule, n_prule;
	int first_roll, n_roll;
	int last_sensor;       /* of the last good reading, for evidence */
};

struct cp_roll {
	struct roll r;
	int ostat;
	int window_min;
	int r_nodata;
};

struct cp_outlet {
	const struct cfg_outlet *cfg;
	const struct cfg_permit *permit; /* NULL if none */
	int first_ostat, n_ostat;
	int flow_ostat, vol_ostat;       /* -1 when not measured */
	int64_t flow_gap_ms;             /* the flow sensor's gap_s */
	/* periods: open [start, end); last_end: where the last closed one
	 * ended, before which none may open again */
	bool open[AGG_COUNT];
	int64_t start[AGG_COUNT], end[AGG_COUNT], last_end[AGG_COUNT];
	struct record closed[AGG_COUNT]; /* closed, not yet handed out */
	bool pending[AGG_COUNT];
	double day_m3;                   /* volume of the open day */
	/* latest good flow, for weights and the storm and permit rules */
	bool flow_ok;
	double flow_m3h;
	int64_t flow_mono;
	bool rain;                       /* a rain signal was seen */
	int64_t rain_mono;
	int r_volume, r_nopermit, r_expiring, r_storm_flow; /* -1 none */
	double max_flow_m3h;             /* the most its flow can be: a counter
					  * step beyond it is implausible */
	bool open_changed;               /* an open alert's evidence changed
					  * without an event (compliance_changed) */
};

struct cp_orphan {             /* restored alert without a rule: to clear */
	struct rec_alert ev;
	uint8_t reason;                /* enum clear_reason to clear it with */
};

struct compliance {
	const struct config *cfg;
	struct cp_rule *rules;
	struct rec_alert *open;        /* parallel to rules: the raised event */
	int n_rules;
	struct cp_chan *chans;
	int n_chans;
	struct cp_sensor *sensors;     /* cfg->n_sensors */
	struct cp_ostat *ostats;
	int n_ostats;
	struct cp_roll *rolls;
	int n_rolls;
	struct cp_outlet *outlets;     /* cfg->n_outlets */
	struct cp_orphan *orphans;
	int n_orphans;
	int64_t orphan_wall_ms;
	bool synced;                   /* as of the last tick */
	bool started;                  /* mono0 is set */
	int64_t mono0;                 /* first monotonic time seen */
	bool dirty;
	uint64_t aggs_lost;            /* closed aggregates overwritten untaken */
	uint64_t events_lost;          /* poll events that did not fit out */
	/* local day of the last date asked, cached: [day_start, day_end) */
	int64_t day_start, day_end, day_num;
	bool day_valid;
	struct cp_maint *mt;           /* maintenance.c: modes, operator holds */
};

/* Where judged events go: a poll's alert array or a tick's records. */
struct cp_emit {
	struct rec_alert *alerts;
	int amax, an;
	int lost;                      /* events that did not fit alerts */
	struct compliance_out *out;
	int64_t wall_ms, mono_ms;
	uint8_t vflags;                /* RV_* of the reading being judged, for
					* the evidence (RV_F32: its precision) */
	int64_t span_ms;               /* the window or period a nodata rule
					* is being judged over */
};

/* ---- rule.c -------------------------------------------------- */

/*
 * Advances rule ri. cond: its condition holds now; clear_ok: it does not,
 * and the value is back inside the hysteresis band. value is the evidence,
 * health the quality behind it, sensor the sensor it came from (-1 none).
 */
void rule_judge(struct compliance *c, int ri, struct cp_emit *em, bool cond, bool clear_ok,
		double value, int health, int sensor);
/* Clears rule ri now if raised (a day ended, a permit was renewed), with
 * reason (enum clear_reason). */
void rule_clear(struct compliance *c, int ri, struct cp_emit *em, double value, int reason);
/* Sends rule ri's raised event again with a fresh value (daily reminder). */
void rule_remind(struct compliance *c, int ri, struct cp_emit *em, double value);
/* Hands one alert event to the emitter. */
void emit_alert(struct cp_emit *em, const struct rec_alert *ev);
/* value beyond the rule's limit / back inside its band */
bool rule_beyond(const struct cp_rule *r, double v);
bool rule_inside(const struct cp_rule *r, double v);
/* The rule's key "<outlet>|<permit>|<parameter>|<rule>", for a sensor
 * fault "<outlet>||<sensor>|<cause>"; false if it does not fit cap. */
bool rule_key(const struct compliance *c, int ri, char *buf, size_t cap);
/* Alert kinds that judge a value against a limit, and carry that limit. */
bool kind_has_limit(int kind);

/* ---- fault.c ------------------------------------------------- */

/* Plausibility of value v of channel ch at mono_ms / wall_ms: PL_OK or why
 * it cannot be physical (bounds, subnormal, NaN, a counter jump). */
enum plausibility screen_value(const struct compliance *c, const struct cp_chan *ch,
			       const struct rec_value *v, int64_t mono_ms, int64_t wall_ms);
/* v as judged: an implausible value becomes Q_INVALID with RV_IMPLAUSIBLE. */
void mark_value(struct rec_value *v, enum plausibility why);
/* Judges one value's health (quality, plausibility) into ch's fault bits
 * and its distrust: true when the reading may be used. */
bool judge_health(struct compliance *c, struct cp_chan *ch, const struct rec_value *v,
		  enum plausibility why);
/* Sets (with v as its evidence) or clears bit CB_* of ch. */
void chan_flag(struct cp_chan *ch, int bit, bool on, const struct rec_value *v);
/* Before a poll is judged, why[0 .. n) its values' plausibility: during
 * the sensor's first polls one implausible value casts doubt on all. */
void doubt_sensor(struct compliance *c, int s, const enum plausibility *why, int n);
/* After a poll: the sensor's fault rules on its channels' bits. */
void judge_faults(struct compliance *c, int s, struct cp_emit *em);
/* The open alerts ch's readings are evidence for: marked unhealthy. */
void mark_unhealthy(struct compliance *c, const struct cp_chan *ch);
/* True while a raised fault of its sensor speaks for ch. */
bool chan_faulted(const struct compliance *c, const struct cp_chan *ch);
/* The sensor_fault evidence of rule ri into a: cause, parameters (added
 * to what a lists), polls missed, the hint; fresh: a raise, which also
 * takes the sensor's last answer. */
void fault_evidence(const struct compliance *c, int ri, struct rec_alert *a, bool fresh);

/* ---- tick.c -------------------------------------------------- */

/* Closes forward the periods of outlet o that ended by em->wall_ms (their
 * aggregates to closed[], their limits judged) and opens what is missing. */
void outlet_advance(struct compliance *c, int o, struct cp_emit *em);
/* Local calendar day of wall_ms through the engine's cache; false when the
 * library cannot tell. */
bool local_day(struct compliance *c, int64_t wall_ms, int64_t *day);
/* Notes mono as seen (the engine's start time for gaps). */
void note_mono(struct compliance *c, int64_t mono_ms);
/* Builds the aggregate record of outlet o's period p from its accumulators. */
void build_aggregate(const struct compliance *c, int o, int p, struct record *out);

/* ---- maintenance.c ------------------------------------------- */

/* c->mt for c's sensors and rules (after they are built): 0 or -ENOMEM. */
int maint_new(struct compliance *c);
void maint_free(struct cp_maint *m); /* NULL is a no-op */
/* A poll of sensor s while it is in maintenance: true, and the poll is
 * kept out of every judgment (its health state is refreshed instead). */
bool maint_poll(struct compliance *c, int s, const struct compliance_poll *p);
/* Asked before rule ri raises (cond: its condition holds; sensor: the
 * evidence's): true when maintenance or an operator's close holds it down. */
bool maint_holds(struct compliance *c, int ri, bool cond, int sensor, const struct cp_emit *em);
/* From compliance_tick, before the gaps: ends what ran out, the
 * maintenance_overuse rules, events a restart or reload left pending. */
void maint_tick(struct compliance *c, struct cp_emit *em);
/* Reload: fresh takes over old's modes and holds (by sensor name, rule
 * key); modes of sensors that are gone end with the next tick. 0/-ENOMEM. */
int maint_carry(struct compliance *fresh, const struct compliance *old);

#endif
