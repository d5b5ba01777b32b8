/* param.c - parameter table and physical bounds (see param.h). */
#include "param.h"

#include <math.h>
#include <string.h>

struct param_info {
	const char *name;  /* canonical lowercase name used everywhere */
	const char *unit;  /* unit outfall reports in */
	const char *hj212; /* HJ 212-2017 code, NULL where none exists */
	double min, max;   /* physical bounds in unit (see param_bounds) */
};

/*
 * The bounds are what the water could physically show, not what a permit
 * or an instrument allows: an instrument's own range is the channel's
 * `range` (out_of_range). Concentrations stop where a litre would be more
 * pollutant than water (the most concentrated industrial streams - vinasse,
 * leachate, ammonia liquor - stay well below). Water temperature goes a
 * little below 0: salted storm water and brines are liquid there. Flow
 * stops at 100 000 m3/h, a large city's whole sewage; a counter at 10^10 m3.
 */
static const struct param_info params[P_COUNT] = {
	[P_FLOW] = { "flow", "m3/h", "w00000", 0, 1e5 },
	[P_VOLUME_TOTAL] = { "volume_total", "m3", "w00000", 0, 1e10 },
	[P_PH] = { "ph", "pH", "w01001", 0, 14 },
	[P_COD] = { "cod", "mg/L", "w01018", 0, 5e5 },
	[P_BOD5] = { "bod5", "mg/L", "w01017", 0, 3e5 },
	[P_SS] = { "ss", "mg/L", "w01012", 0, 5e5 },
	[P_NH3N] = { "nh3n", "mg/L", "w21003", 0, 5e4 },
	[P_TN] = { "tn", "mg/L", "w21001", 0, 1e5 },
	[P_TP] = { "tp", "mg/L", "w21011", 0, 5e4 },
	[P_OIL_ANIMAL] = { "oil_animal", "mg/L", NULL, 0, 5e5 },
	[P_OIL_PETROLEUM] = { "oil_petroleum", "mg/L", "w22001", 0, 5e5 },
	[P_LAS] = { "las", "mg/L", "w19002", 0, 5e4 },
	[P_TOC] = { "toc", "mg/L", "w01020", 0, 2e5 },
	[P_TEMP] = { "temp", "degC", "w01010", -10, 100 },
	[P_CONDUCTIVITY] = { "conductivity", "uS/cm", "w01014", 0, 1e6 },
	[P_TURBIDITY] = { "turbidity", "NTU", NULL, 0, 1e5 },
};

int param_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < P_COUNT; i++)
		if (strcmp(params[i].name, name) == 0)
			return i;
	return -1;
}

const char *param_name(int p)
{
	return p >= 0 && p < P_COUNT ? params[p].name : "?";
}

const char *param_unit(int p)
{
	return p >= 0 && p < P_COUNT ? params[p].unit : "?";
}

const char *param_hj212(int p)
{
	return p >= 0 && p < P_COUNT ? params[p].hj212 : NULL;
}

const char *param_all_names(void)
{
	return "flow, volume_total, ph, cod, bod5, ss, nh3n, tn, tp, oil_animal, "
	       "oil_petroleum, las, toc, temp, conductivity, turbidity";
}

/* ---- plausibility ------------------------------------------------------- */

int param_bounds(int p, double *min, double *max)
{
	if (p < 0 || p >= P_COUNT)
		return -1;
	*min = params[p].min;
	*max = params[p].max;
	return 0;
}

enum plausibility param_plausible(int p, double v)
{
	double lo, hi;

	if (!isfinite(v))
		return PL_NOT_FINITE;
	if (v != 0 && fabs(v) < PARAM_TINY)
		return PL_TINY; /* subnormals included: they are far smaller */
	if (param_bounds(p, &lo, &hi) < 0)
		return PL_OK;
	if (v < lo)
		return PL_BELOW;
	return v > hi ? PL_ABOVE : PL_OK;
}

const char *plausibility_name(int why)
{
	static const char *const names[PL_COUNT] = {
		"plausible", "not a number", "subnormal or tiny", "below the physical minimum",
		"above the physical maximum", "counter jump",
	};
	return why >= 0 && why < PL_COUNT ? names[why] : "?";
}

const char *param_hint(int p, double v, enum plausibility why, bool registers)
{
	const char *garbled = registers ? "word order or type?" : "garbled or missing value?";
	double lo = 0, hi = 0;

	switch (why) {
	case PL_OK:
		return "";
	case PL_NOT_FINITE:
	case PL_TINY:
		return garbled;
	case PL_JUMP:
		return registers ? "word order, type or scale of the counter?"
				 : "unit or scale of the counter?";
	default:
		break;
	}
	param_bounds(p, &lo, &hi);
	if (why == PL_ABOVE) {
		/* a tenth to a ten-thousandth of it would fit: a decimal scale */
		for (double f = 10; f <= 1e4; f *= 10)
			if (v / f <= hi)
				return "scale?";
		return registers ? "word order or type?" : "unit or scale?";
	}
	if (v >= lo - (hi - lo))
		return registers ? "sign, offset or signed/unsigned type?" : "sign or offset?";
	return registers ? "word order or type?" : "unit or scale?";
}
