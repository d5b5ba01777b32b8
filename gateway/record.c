/* record.c - names for the enums of record.h. */
#include "record.h"

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
		"sensor_fault", "data_gap",
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
