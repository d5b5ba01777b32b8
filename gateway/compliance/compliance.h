/*
 * compliance.h - the compliance engine (DESIGN §5): judges readings
 * against each outlet's permit, watches sensor health, keeps the minute,
 * hour and day aggregates, and runs the alert state machine. Pure: plain
 * structs in, alert events and aggregate records out, time passed in; no
 * I/O and no clock reads. The engine needs TZ set to gateway.timezone (see
 * period.h); nothing else outside its arguments.
 *
 * Rules. Every alert comes from one rule with its own raise/clear state:
 *   limit_exceeded / below_minimum  one side of one permit limit, on basis
 *       instant (each good reading), rolling (the arithmetic mean of the
 *       window, judged on each good reading once good readings cover
 *       alerting.coverage_pct of it), hourly_mean or daily_mean (the period's
 *       mean, flow-weighted where the outlet measures flow, judged when the
 *       period closes; raise_after_s and clear_after_s do not apply there).
 *   data_gap for a limit  that limit's window or period had too little good
 *       data to be judged (below coverage_pct): said instead of passing,
 *       with coverage_pct and gap_s (the part of it not covered). A rolling
 *       window says so only once it has run a whole window.
 *   daily_volume_exceeded  the local day's volume passed
 *       daily_volume_max_m3; cleared when the day ends.
 *   no_valid_permit  flow above outlets[].flow_noise_m3h on a date outside
 *       the permit's validity (never judged on an unsynchronised clock).
 *   permit_expiring  within alerting.expiry_warning_days of valid_until,
 *       with days_left; re-sent once a local day while open; cleared
 *       (permit_replaced) when a renewed permit is loaded.
 *   storm_sewage  on a storm outlet: flow above the noise floor with no rain
 *       seen in the last rain_hold_min, or a pollutant above the outlet's
 *       sewage signature.
 *   sensor_fault  one per sensor and cause, listing the parameters it
 *       affects, with polls_missed and last_answer_ms, and no limit: no
 *       answer for alerting.no_response_polls polls in a row; garbled
 *       answers above alerting.crc_error_pct of recent requests; a value
 *       out of the channel's range; an implausible value (see below); a
 *       flat line for flatline_s; a volume counter that went backwards.
 *   data_gap  a channel without a good reading for its sensor's gap_s, with
 *       gap_s and the day's coverage so far (not while a fault of its
 *       sensor speaks for that channel).
 *
 * Plausibility before judgement. A value that cannot be physical - beyond
 * param_bounds, subnormal or tiny, NaN/Inf, a volume counter stepping more
 * than twice the outlet's largest flow (its flow channels' range, else
 * param_bounds) could deliver since the last reading - is invalid with
 * RV_IMPLAUSIBLE (compliance_screen marks it so in the record), raises the
 * sensor's implausible fault with a hint in its note ("word order or
 * type?"), and is never judged, counted or allowed to clear anything. The
 * channel's next DISTRUST_READINGS good-looking readings are kept out too
 * (internal.h says why), and during a sensor's first polls one implausible
 * channel casts that doubt on all of the sensor's channels.
 * Limits on a parameter no sensor of the outlet measures are not judged.
 * Only sensors that belong to an outlet are watched.
 *
 * Debounce. A rule raises once its condition has held for raise_after_s and
 * clears once it has been false, inside the hysteresis band, for
 * clear_after_s; durations run on the monotonic clock. Readings that are not
 * good (quality other than ok, implausible or doubted, or a channel flat)
 * never move a limit rule: an open alert they are evidence for is marked
 * unhealthy and stays open until good readings clear it. One condition
 * gives one raised and one cleared event; a cleared event says why
 * (back_inside, sensor_recovered for faults and gaps, limit_changed or
 * permit_replaced when a restart or reload changed or removed its rule).
 *
 * Identity. An alert id is "<gateway>/<outlet>/<parameter>/<rule>/<raise
 * wall ms>", rule being e.g. instant, instant-min, rolling60, daily_mean,
 * daily_mean-nodata, daily_volume, no_valid_permit, permit_expiring,
 * storm_flow, storm_signature, or data_gap-<sensor> for a channel's gap; a
 * sensor fault's is "<gateway>/<outlet>/<sensor>/<cause>/<raise wall ms>".
 * A rule's key "<outlet>|<permit>|<parameter>|<rule>" (a sensor fault's
 * "<outlet>||<sensor>|<cause>") matches it across restarts and reloads; a
 * limit rule found with another limit value than its alert's is a changed
 * rule: that alert is cleared (limit_changed) and judged afresh.
 *
 * Time. Readings carry wall time and are put in the calendar period of that
 * time, but periods only ever close forwards: a reading older than the open
 * period (the clock stepped back) counts in the open period, a period is
 * never reopened, and after a step forwards the next period opens at the new
 * time. So a step either way breaks no window and drops no reading. Rolling
 * windows, debounce, gaps and flat lines run on the monotonic clock.
 *
 * Use. At start: compliance_new, then compliance_restore with the state
 * file's content, then size the output arrays with compliance_max_events.
 * Per poll: compliance_screen before the poll is queued, then
 * compliance_poll, then compliance_changed for the sensor's outlet. About once a second: compliance_tick. When
 * compliance_dirty: compliance_export, alertstate_save and, if that worked,
 * compliance_saved; also at shutdown. On reload: compliance_tick, then
 * compliance_reload.
 */
#ifndef OUTFALL_COMPLIANCE_H
#define OUTFALL_COMPLIANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "alertstate.h"
#include "maintstate.h"
#include "base/record.h"
#include "config/config.h"

struct compliance;

/* State for every rule of cfg, which must outlive the engine. NULL on
 * ENOMEM. All setup allocation happens here: judging allocates nothing. */
struct compliance *compliance_new(const struct config *cfg);
void compliance_free(struct compliance *c); /* NULL is a no-op */

/* One poll of one sensor, as the daemon has it. */
struct compliance_poll {
	const struct record *rec; /* REC_POLL; ts_ms is the poll's wall time */
	int64_t mono_ms;          /* monotonic ms of the poll */
	bool has_counters;        /* requests and crc_errors are valid */
	uint64_t requests;        /* the sensor's driver counters, cumulative */
	uint64_t crc_errors;
};

/*
 * Judges one poll of sensor sensor_idx: health, limits, storm, validity,
 * volume. Writes up to max alert events (the event time is the poll's
 * ts_ms) to out and returns how many; size out with
 * compliance_max_events(). A poll may close a period: its aggregates wait
 * for the next compliance_tick().
 */
int compliance_poll(struct compliance *c, int sensor_idx, const struct compliance_poll *p,
		    struct rec_alert *out, int max);

/*
 * Plausibility before judgement, for the telemetry: marks each value of
 * rec (a REC_POLL of sensor sensor_idx at monotonic mono_ms) that cannot be
 * physical Q_INVALID with RV_IMPLAUSIBLE, and returns how many it marked.
 * Changes nothing in the engine: compliance_poll() judges the same way
 * whether or not this ran first.
 */
int compliance_screen(const struct compliance *c, int sensor_idx, struct record *rec,
		      int64_t mono_ms);
/* For a value compliance_screen marked: the likely mistake behind it, as a
 * static string ("word order or type?"); NULL for any other value. */
const char *compliance_hint(const struct compliance *c, int sensor_idx,
			    const struct rec_value *v);
/* True once after an open alert of outlet outlet_idx changed without an
 * event (it was marked unhealthy): republish the outlet's active set. */
bool compliance_changed(struct compliance *c, int outlet_idx);

/* compliance_poll() without driver counters, durations on ts_ms. */
int compliance_eval(struct compliance *c, int sensor_idx, const struct record *r,
		    struct rec_alert *out, int max);

/* Records out of compliance_tick(), in the order to queue them. */
struct compliance_out {
	struct record *recs; /* caller's array of max */
	int max;
	int n;               /* records written */
	int dropped;         /* did not fit: size recs with compliance_max_events() */
};

/*
 * Call about once a second (and once before the first poll). Closes every
 * period that ended by wall_ms, giving REC_AGGREGATE records (ts_ms the
 * period start) and the period limits' judgments; runs the time-driven rules
 * (data gaps, permit expiry, daily volume at the day's end); and emits the
 * clears of restored alerts whose rule no longer exists. REC_ALERT records
 * have ts_ms = wall_ms. clock_synced: the kernel's clock is synchronised
 * (adjtimex not TIME_ERROR); until it is, permit dates are not judged.
 * Returns out->n.
 */
int compliance_tick(struct compliance *c, int64_t wall_ms, int64_t mono_ms, bool clock_synced,
		    struct compliance_out *out);

/* A rain signal for storm outlet outlet_idx at mono_ms: its flow is rain
 * water until rain_hold_min after the last signal. */
void compliance_rain(struct compliance *c, int outlet_idx, int64_t mono_ms);

/* Most events one compliance_poll() or compliance_tick() can produce. */
int compliance_max_events(const struct compliance *c);

/* The raised events of outlet outlet_idx (for alerts/<outlet>/active and for
 * republishing on reconnect): up to max copied to out; returns how many are
 * open in total. */
int compliance_active(const struct compliance *c, int outlet_idx, struct rec_alert *out,
		      int max);
/* Number of rules currently raised. */
int compliance_open_count(const struct compliance *c);

/* The running (still open) aggregate of outlet outlet_idx for period (enum
 * agg_period) into *out: 0, or -ENOENT while that period is not open. */
int compliance_running(const struct compliance *c, int outlet_idx, int period,
		       struct record *out);

/* Events compliance_poll() had no room for, plus closed aggregates
 * overwritten because no tick took them in time: both mean the caller's
 * sizing or tick rate is wrong; log it. */
uint64_t compliance_lost(const struct compliance *c);

/* True when the state worth saving has changed since the last export: an
 * alert raised, cleared or reminded, or an hour or day closed. */
bool compliance_dirty(const struct compliance *c);

/* The state to persist into st (which must be zeroed; the caller clears it
 * with alertstate_clear). 0 or -ENOMEM. */
int compliance_export(const struct compliance *c, struct alertstate *st);
/* The export was saved: clears the dirty flag. Not called after a failed
 * save, so the state stays dirty and is tried again. */
void compliance_saved(struct compliance *c);

/*
 * Takes st over into a new engine, before its first poll or tick: open
 * alerts go back to their rules (matched by key), so they are neither
 * forgotten nor raised again; one whose condition is found false when the
 * rule is first judged again is cleared at once (the downtime counts as the
 * clear_after_s wait). Alerts whose rule no longer exists are cleared by the
 * next tick with until_ms = wall_ms. Open hours and days and counter
 * readings are taken back where their keys match. 0, or -ENOMEM (what was
 * taken over so far stays; the engine is usable).
 */
int compliance_restore(struct compliance *c, const struct alertstate *st, int64_t wall_ms);

/*
 * Reload: a new engine for cfg carrying over *c's state as restore does
 * (what no longer exists is cleared). Call compliance_tick() on the old
 * engine first so no closed aggregate is left in it. On success frees the
 * old engine, stores the new one in *c and returns 0 (the old config may be
 * freed then); on -ENOMEM *c is untouched.
 */
int compliance_reload(struct compliance **c, const struct config *cfg, int64_t wall_ms);

/*
 * Reload, after compliance_restore (compliance_reload calls it): fresh
 * takes over from old what lives only in memory, matched by name - each
 * rolling window (by outlet, parameter and window_min, whatever its limit
 * value now), the open minute, closed aggregates not yet handed out, rule
 * timers (by rule key: raise_after/clear_after waits, since when), channel
 * and sensor health (last good reading, flat-line run, no-answer streak,
 * garbled-answer window), an outlet's latest flow and rain. A limit whose
 * value changed keeps its window; the next reading judges it against the
 * new value. Both configs must be alive. 0 or -ENOMEM (what was carried so
 * far stays).
 */
int compliance_carry(struct compliance *fresh, const struct compliance *old);

/* ---- maintenance and operator actions (maintenance.c) --------------------
 *
 * DESIGN §5. A sensor in maintenance or calibration keeps being polled; its
 * readings carry RV_MAINTENANCE or RV_CALIBRATION (compliance_maint_flags)
 * and are judged by nothing: no limit, volume, storm or permit rule and no
 * sensor fault or gap, and they stay out of every statistic, so a
 * calibration solution never counts as discharge. Its open alerts stay as
 * they are. A coverage data_gap the mode explains (a window or period that
 * overlapped it) is not raised either; a period mean made of the other
 * readings is still judged. Never silent and never open-ended: each start,
 * extension and end is a REC_MAINT event with the operator's reason and the
 * planned end; a mode lasts at most alerting.maintenance_max_h and ends by
 * itself (in compliance_tick); maintenance_overuse is raised when a sensor
 * stays in maintenance longer than that in one run or in one local day, or
 * is put into it more than COMPLIANCE_MAINT_STARTS_MAX times a local day.
 *
 * An operator may close an open alert known to be false: a cleared event
 * with reason closed_by_operator and the operator's note. Its rule does not
 * raise again until its condition has gone once, or maintenance_max_h has
 * passed (a close is not open-ended either). Holds live in memory and
 * through reloads, not across a restart: after one a condition still true
 * is raised again.
 */

#define COMPLIANCE_MAINT_STARTS_MAX 4 /* starts a local day before maintenance_overuse */

struct compliance_maint_req {
	bool on;             /* false: end the mode */
	int mode;            /* enum maint_mode, when on */
	int64_t duration_ms; /* when on: up to maintenance_max_h; 0 means that cap */
	const char *note;    /* the operator's reason, NULL or "" for none; control
			      * characters become spaces, longer than REC_NOTE - 1
			      * bytes is cut at a character boundary */
};

/*
 * Starts sensor sensor_idx's maintenance, extends it (a new planned end
 * from now, mode and reason) or ends it. Its REC_MAINT event and any
 * maintenance_overuse alert go to out (ts wall_ms). 0; -EINVAL for a bad
 * index or mode; -ERANGE for a duration not in (0, maintenance_max_h];
 * -EALREADY to end a sensor not in maintenance; -ENOSPC when out has not
 * room for 3 records (nothing changed).
 */
int compliance_maint_set(struct compliance *c, int sensor_idx, const struct compliance_maint_req *rq,
			 int64_t wall_ms, int64_t mono_ms, struct compliance_out *out);

/* What a reading of sensor_idx carries now: RV_MAINTENANCE, RV_CALIBRATION
 * or 0. */
uint8_t compliance_maint_flags(const struct compliance *c, int sensor_idx);

struct compliance_maint_info {
	bool active;            /* a mode lasts; the next three describe it */
	int mode;               /* enum maint_mode */
	int64_t since_ms, planned_end_ms;
	char note[REC_NOTE];
	int starts_today;       /* fresh starts this local day */
};

/* Sensor sensor_idx's maintenance for status; false for a bad index. */
bool compliance_maint_get(const struct compliance *c, int sensor_idx,
			  struct compliance_maint_info *out);

/*
 * Closes the open alert id as known to be false: its cleared event, with
 * reason CR_CLOSED_BY_OPERATOR and note (as for a maintenance reason), to
 * out. 0; -ENOENT when no open alert has that id; -ENOSPC when out is full.
 */
int compliance_alert_close(struct compliance *c, const char *id, const char *note,
			   int64_t wall_ms, int64_t mono_ms, struct compliance_out *out);

/* The modes changed since the last export (a start, extension or end, a
 * new local day): save them. */
bool compliance_maint_dirty(const struct compliance *c);
/* The modes as of wall_ms into st (zeroed; maintstate_clear it): 0 or
 * -ENOMEM. */
int compliance_maint_export(const struct compliance *c, int64_t wall_ms, struct maintstate *st);
void compliance_maint_saved(struct compliance *c);
/*
 * At start, after compliance_restore: takes st's modes back by sensor name.
 * A mode whose planned end passed while the daemon was down ends with the
 * first tick (ended_by expired, until its planned end); one still running
 * ends on time, never later than maintenance_max_h from now whatever the
 * wall clock did; a sensor no longer configured ends its mode (removed).
 * Time while down counts as time in maintenance. 0 or -ENOMEM.
 */
int compliance_maint_restore(struct compliance *c, const struct maintstate *st, int64_t wall_ms,
			     int64_t mono_ms);

#endif
