/*
 * compliance.h - judges readings against the outlet's permit and runs the
 * alert state machine (DESIGN §5). Pure: plain structs in, alert events out,
 * time passed in with each reading; no I/O, no clocks.
 *
 * This cut judges instant limits. Each limit side (max -> limit_exceeded,
 * min -> below_minimum) is one rule with its own state: it is raised when a
 * good reading is beyond the limit for raise_after_s, and cleared when good
 * readings are back inside the hysteresis band (hysteresis_pct of the limit)
 * for clear_after_s. A crossing gives one raised and one cleared event.
 * Readings whose quality is not ok never move a rule either way.
 */
#ifndef OUTFALL_COMPLIANCE_H
#define OUTFALL_COMPLIANCE_H

#include "config.h"
#include "record.h"

struct compliance;

/* State for every rule of cfg; cfg must outlive it. NULL on ENOMEM. */
struct compliance *compliance_new(const struct config *cfg);
void compliance_free(struct compliance *c); /* NULL is a no-op */

/*
 * Judges the poll record r (ts_ms, values) taken from sensor sensor_idx.
 * Writes up to max alert events to out and returns how many.
 */
int compliance_eval(struct compliance *c, int sensor_idx, const struct record *r,
		    struct rec_alert *out, int max);

/* Number of rules currently raised (for status and tests). */
int compliance_open_count(const struct compliance *c);

#endif
