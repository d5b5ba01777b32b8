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
 *       data to be judged (below coverage_pct): said instead of passing.
 *       Its value is the coverage in %, its limit coverage_pct. A rolling
 *       window says so only once it has run a whole window.
 *   daily_volume_exceeded  the local day's volume passed
 *       daily_volume_max_m3; cleared when the day ends.
 *   no_valid_permit  flow above outlets[].flow_noise_m3h on a date outside
 *       the permit's validity (never judged on an unsynchronised clock).
 *   permit_expiring  within alerting.expiry_warning_days of valid_until;
 *       re-sent once a local day while open; cleared when a renewed permit
 *       is loaded.
 *   storm_sewage  on a storm outlet: flow above the noise floor with no rain
 *       seen in the last rain_hold_min, or a pollutant above the outlet's
 *       sewage signature.
 *   sensor_fault  no answer for alerting.no_response_polls polls in a row;
 *       garbled answers above alerting.crc_error_pct of recent requests; a
 *       value out of the channel's range; NaN/Inf; a flat line for
 *       flatline_s; a volume counter that went backwards.
 *   data_gap  a channel without a good reading for its sensor's gap_s (not
 *       while its sensor is faulted for not answering: that says it).
 * Limits on a parameter no sensor of the outlet measures are not judged.
 * Only sensors that belong to an outlet are watched.
 *
 * Debounce. A rule raises once its condition has held for raise_after_s and
 * clears once it has been false, inside the hysteresis band, for
 * clear_after_s; durations run on the monotonic clock. Readings that are not
 * good (quality other than ok, or a channel flagged flat) never move a
 * limit rule. One condition gives one raised and one cleared event.
 *
 * Identity. An alert id is "<gateway>/<outlet>/<parameter>/<rule>/<raise
 * wall ms>", rule being e.g. instant, instant-min, rolling60, daily_mean,
 * daily_mean-nodata, daily_volume, no_valid_permit, permit_expiring,
 * storm_flow, storm_signature, or <cause>-<sensor> for sensor faults and
 * gaps. A rule's key "<outlet>|<permit>|<parameter>|<rule>" matches it
 * across restarts and reloads.
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
 * Per poll: compliance_poll. About once a second: compliance_tick. When
 * compliance_dirty: compliance_export, alertstate_save and, if that worked,
 * compliance_saved; also at shutdown. On reload: compliance_tick, then
 * compliance_reload.
 */
#ifndef OUTFALL_COMPLIANCE_H
#define OUTFALL_COMPLIANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "alertstate.h"
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

#endif
