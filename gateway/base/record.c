/* record.c - names for the enums of record.h. */
#include "record.h"

#include <stddef.h>

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
