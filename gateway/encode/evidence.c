/*
 * evidence.c - which parts of an alert's evidence mean something for its
 * kind, and the figures derived from it, for payload.c and lineproto.c
 * alike (see internal.h).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "base/param.h"

/* A sensor_fault whose value is the reading that showed the fault; for
 * no_response and crc_errors it is a count (polls, a percentage), never a
 * reading, and shows nowhere. */
static bool fault_has_reading(const struct rec_alert *a)
{
	switch (a->cause) {
	case FC_OUT_OF_RANGE:
	case FC_IMPLAUSIBLE:
	case FC_FLAT_LINE:
	case FC_COUNTER_BACKWARDS:
		return isfinite(a->value);
	default:
		return false;
	}
}

void enc_evidence(const struct rec_alert *a, struct enc_evidence *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (a->kind) {
	case AK_LIMIT_EXCEEDED:
	case AK_BELOW_MINIMUM:
	case AK_DAILY_VOLUME_EXCEEDED:
	case AK_STORM_SEWAGE:
		ev->param = ev->unit = ev->value = ev->limit = ev->permit = true;
		break;
	case AK_NO_VALID_PERMIT:
		ev->param = ev->unit = ev->value = true;
		break;
	case AK_SENSOR_FAULT:
		ev->fault = true;
		ev->param = ev->unit = ev->value = fault_has_reading(a);
		break;
	case AK_DATA_GAP:
		ev->param = ev->gap = true;
		break;
	case AK_PERMIT_EXPIRING:
		ev->expiry = true;
		break;
	case AK_MAINTENANCE:
		ev->value = ev->limit = true;
		break;
	default:
		ev->param = ev->unit = ev->value = ev->limit = ev->permit = true;
		break;
	}
	if (a->param >= P_COUNT) /* REC_PARAM_NONE: about no parameter */
		ev->param = ev->unit = false;
}

/* v to three significant digits, as printed: a ratio is read, not summed. */
static double round3(double v)
{
	double mag;

	if (v == 0.0 || !isfinite(v))
		return v;
	mag = pow(10.0, 2.0 - floor(log10(fabs(v))));
	return isfinite(mag) && mag > 0.0 ? round(v * mag) / mag : v;
}

int64_t enc_alert_records_lost(const struct rec_alert *a)
{
	if (a->kind != AK_DATA_GAP || a->param < P_COUNT || !isfinite(a->value) || a->value < 0)
		return -1;
	return (int64_t)a->value;
}

double enc_alert_ratio(const struct rec_alert *a)
{
	if (!isfinite(a->value) || !isfinite(a->limit) || a->limit == 0.0)
		return NAN;
	return round3(a->value / a->limit);
}

int64_t enc_alert_until_ms(const struct rec_alert *a, int64_t ts_ms)
{
	return a->until_ms ? a->until_ms : ts_ms;
}

int64_t enc_alert_duration_s(const struct rec_alert *a, int64_t ts_ms)
{
	int64_t until = enc_alert_until_ms(a, ts_ms);

	/* compared first: the difference of two extreme values overflows */
	if (until <= a->since_ms)
		return 0;
	return (int64_t)(((uint64_t)until - (uint64_t)a->since_ms) / 1000);
}

double enc_alert_coverage(const struct rec_alert *a)
{
	if (!isfinite(a->coverage_pct))
		return a->coverage_pct;
	return round(a->coverage_pct * 10.0) / 10.0;
}

bool enc_alert_has_note(const struct rec_alert *a)
{
	return a->reason == CR_CLOSED_BY_OPERATOR || strnlen(a->note, sizeof(a->note)) > 0;
}
