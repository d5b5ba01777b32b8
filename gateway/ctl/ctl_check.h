/*
 * ctl_check.h - `outfallctl check`'s report: what one live read of every
 * configured channel gave and how it stands against its range, physics
 * and permit, shared by the reading (ctl_check.c), the plausibility and
 * word-order judgement (ctl_check_order.c) and the two ways of printing it
 * (ctl_check_text.c, ctl_check_json.c). The judging functions are pure.
 */
#ifndef OUTFALL_CTL_CHECK_H
#define OUTFALL_CTL_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/param.h"
#include "base/record.h"
#include "config/config.h"
#include "drivers/driver.h"

#define CHK_MAX_PROBLEMS 256
#define CHK_PROBLEM_LEN 512 /* room for a device path in a command line */

/* A value against a range or a limit. */
enum chk_verdict {
	CV_OK,
	CV_EXCEEDS,    /* above the maximum */
	CV_BELOW,      /* under the minimum */
	CV_NOT_JUDGED, /* no range; or a mean the daemon judges over time */
	CV_NO_VALUE,   /* nothing good was read to judge */
	CV_IN_DOUBT,   /* not judged: the sensor reads plausibly only in another
			* word order, so none of its readings is trusted */
};

enum chk_permit_state { CP_VALID, CP_EXPIRING, CP_EXPIRED, CP_NOT_YET_VALID };

/* What a problem does to the exit code. */
enum chk_kind {
	CK_READ,  /* a channel could not be read well: EX_UNAVAILABLE */
	CK_LIMIT, /* a value breaks a permit limit, a permit is not valid: EX_DATAERR */
	CK_NOTE,  /* worth knowing, fails nothing */
	CK_HINT,  /* what would fix a problem above (a word order): fails nothing */
};

struct chk_problem {
	enum chk_kind kind;
	char text[CHK_PROBLEM_LEN];
};

struct chk_sensor {
	int rc;                  /* driver poll result, or why it was not polled */
	bool polled;             /* rc is a poll result */
	struct rec_poll poll;    /* values, when polled */
	struct drv_counters cnt;
	unsigned orders;         /* word orders (bit 1 << enum word_order) that
				  * make every channel plausible, when some
				  * are not as configured; 0 none or no need */
};

struct chk_report {
	const struct config *cfg;
	const char *path;            /* the config as given */
	int64_t wall_ms;             /* when the check started */
	int64_t today;               /* days since 1970, in gateway.timezone */
	struct chk_sensor *sensors;  /* cfg->n_sensors */
	struct chk_problem *problems; /* CHK_MAX_PROBLEMS */
	size_t n_problems;
	size_t lost_problems;        /* did not fit */
};

/* Adds a problem (kept in order; past CHK_MAX_PROBLEMS only counted). */
void chk_problem(struct chk_report *r, enum chk_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The channel's value against its configured range. */
enum chk_verdict chk_range_verdict(const struct cfg_channel *c, const struct rec_value *v);
/* The value against a permit limit: judged for instant limits only, with
 * the compliance engine's boundaries (max and min themselves are ok). */
enum chk_verdict chk_limit_verdict(const struct cfg_limit *l, const struct rec_value *v);
const char *chk_verdict_name(enum chk_verdict v); /* "ok", "exceeds", ... */
/* chk_limit_verdict for a value of sensor s, CV_IN_DOUBT instead of a
 * verdict while s's word order is in doubt (chk_sensor.orders set). */
enum chk_verdict chk_sensor_limit_verdict(const struct chk_report *r,
					  const struct cfg_sensor *s,
					  const struct cfg_limit *l, const struct rec_value *v);
/* The value against a storm outlet's sewage signature, likewise. */
enum chk_verdict chk_signature_verdict(const struct chk_report *r, const struct cfg_sensor *s,
				       const struct cfg_signature *sig,
				       const struct rec_value *v);

/* The permit of the outlet sensor s belongs to, or NULL. */
const struct cfg_permit *chk_sensor_permit(const struct config *cfg,
					   const struct cfg_sensor *s);
/* The permit's validity on r->today; days until valid_until in *days_left. */
enum chk_permit_state chk_permit_state(const struct chk_report *r,
				       const struct cfg_permit *p, int64_t *days_left);
const char *chk_permit_name(enum chk_permit_state s); /* "valid", "expired", ... */

/* A sensor's result as a word ("ok", "no_response", ...) and for people. */
const char *chk_result_name(int rc);
const char *chk_result_text(int rc);

/* Storm outlet signature entry of o for param, or NULL. */
const struct cfg_signature *chk_signature(const struct cfg_outlet *o, int param);

/* ---- ctl_check_order.c: plausibility and word order ---- */

/* Why a value read cannot be physical (DESIGN §5: NaN/Inf, subnormal or
 * tiny, beyond the parameter's physical bounds), or PL_OK, also when
 * nothing was read. An implausible value is never judged against a limit. */
enum plausibility chk_plausibility(const struct rec_value *v);

/* The same registers in each word order: the channel's value turned back
 * into its registers and decoded again, scaled and offset as configured. */
struct chk_orders {
	double v[4];          /* indexed by enum word_order */
	bool plausible[4];    /* physically plausible and inside the range */
	unsigned mask;        /* bit 1 << o: plausible in order o */
};
void chk_channel_orders(const struct cfg_channel *c, const struct rec_value *v,
			struct chk_orders *out);

/* The orders in which every channel of sensor i that gave a value reads
 * plausibly, if one of them does not as configured; else 0. */
unsigned chk_sensor_orders(const struct chk_report *r, size_t i);

/* The likely mistake behind implausible value v of Modbus channel c:
 * "word order?" when another order reads it plausibly, else param_hint's. */
const char *chk_hint(const struct cfg_channel *c, const struct rec_value *v,
		     enum plausibility why);

/* "\"abcd\"" or "\"abcd\" or \"badc\"" for a mask; returns how many. */
int chk_orders_text(unsigned mask, char *buf, size_t cap);

/* The `outfallctl read --all-orders ...` command line that shows channel
 * c's registers in all four orders. */
void chk_read_command(const struct chk_report *r, const struct cfg_sensor *s,
		      const struct cfg_channel *c, char *buf, size_t cap);

/* For a Modbus sensor i with implausible values: sets its orders and adds
 * a CK_HINT naming the word order that reads plausibly (or saying none
 * does). */
void chk_suggest_orders(struct chk_report *r, size_t i);

/* Sets TZ to the gateway's timezone, allocates r->sensors and r->problems
 * (the caller frees both) and polls every sensor of r->cfg once, bus by
 * bus, as check does: 0, or -ENOMEM. Reading problems are in r->problems
 * and each sensor's rc. */
int chk_read_all(struct chk_report *r);

/* The report on out. The JSON one returns 0 or -ENOMEM. */
void chk_print_text(const struct chk_report *r, FILE *out);
int chk_print_json(const struct chk_report *r, FILE *out);

#endif
