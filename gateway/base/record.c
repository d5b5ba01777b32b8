/* record.c - names for the enums of record.h, and a reload summary's
 * bounded joining. */
#include "record.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define REC_ELLIPSIS "\u2026" /* "…", 3 bytes in UTF-8 */

const char *quality_name(int q)
{
	static const char *const names[Q_COUNT] = {
		"ok", "out_of_range", "invalid", "no_response",
	};
	return q >= 0 && q < Q_COUNT ? names[q] : "?";
}

const char *alert_kind_name(int k)
{
	static const char *const names[AK_COUNT] = {
		"limit_exceeded", "below_minimum", "daily_volume_exceeded",
		"no_valid_permit", "permit_expiring", "storm_sewage",
		"sensor_fault", "data_gap", "maintenance_overuse",
	};
	return k >= 0 && k < AK_COUNT ? names[k] : "?";
}

const char *alert_state_name(int s)
{
	return s == ALERT_RAISED ? "raised" : s == ALERT_CLEARED ? "cleared" : "?";
}

const char *agg_period_name(int p)
{
	static const char *const names[AGG_COUNT] = { "minute", "hour", "day" };

	return p >= 0 && p < AGG_COUNT ? names[p] : "?";
}

const char *fault_cause_name(int c)
{
	static const char *const names[FC_COUNT] = {
		NULL, "no_response", "crc_errors", "out_of_range", "implausible",
		"flat_line", "counter_backwards",
	};
	return c >= 0 && c < FC_COUNT ? names[c] : NULL;
}

const char *clear_reason_name(int r)
{
	static const char *const names[CR_COUNT] = {
		NULL, "back_inside", "limit_changed", "permit_replaced",
		"sensor_recovered", "closed_by_operator",
	};
	return r >= 0 && r < CR_COUNT ? names[r] : NULL;
}

const char *maint_event_name(int e)
{
	static const char *const names[MEV_COUNT] = { "start", "extend", "end" };

	return e >= 0 && e < MEV_COUNT ? names[e] : "?";
}

const char *maint_mode_name(int m)
{
	static const char *const names[MM_COUNT] = { "maintenance", "calibration" };

	return m >= 0 && m < MM_COUNT ? names[m] : "?";
}

const char *maint_end_name(int e)
{
	static const char *const names[MEND_COUNT] = { NULL, "operator", "expired", "removed" };

	return e >= 0 && e < MEND_COUNT ? names[e] : NULL;
}

const char *reload_outcome_name(int o)
{
	static const char *const names[RLD_COUNT] = { "applied", "refused" };

	return o >= 0 && o < RLD_COUNT ? names[o] : "?";
}

/* Cuts the joined text t (longer than the summary holds) so that it and
 * the ellipsis fit, on a UTF-8 boundary and without a dangling "; ". */
static void cut_summary(char *dst, const char *t)
{
	size_t n = REC_SUMMARY - sizeof(REC_ELLIPSIS);

	while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
		n--;
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == ';'))
		n--;
	memcpy(dst, t, n);
	memcpy(dst + n, REC_ELLIPSIS, sizeof(REC_ELLIPSIS));
}

bool rec_reload_append(struct rec_reload *r, const char *text)
{
	char joined[2 * REC_SUMMARY];
	size_t len = strnlen(r->summary, sizeof(r->summary));
	const char *sep = len ? "; " : "";
	size_t need = len + strlen(sep) + strlen(text);

	if (need < sizeof(r->summary)) {
		snprintf(r->summary + len, sizeof(r->summary) - len, "%s%s", sep, text);
		return true;
	}
	/* longer than the summary, so joined holds more than cut_summary reads */
	snprintf(joined, sizeof(joined), "%.*s%s%s", (int)len, r->summary, sep, text);
	cut_summary(r->summary, joined);
	return false;
}
