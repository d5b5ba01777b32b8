/*
 * param.h - the canonical parameter vocabulary (DESIGN §3): names, units and
 * HJ 212 codes, and the physical bounds a reading of each must lie within
 * to be believed at all (DESIGN §5 "plausibility before judgement"). Pure
 * lookup tables; no state.
 */
#ifndef OUTFALL_PARAM_H
#define OUTFALL_PARAM_H

#include <stdbool.h>

enum param {
	P_FLOW,
	P_VOLUME_TOTAL,
	P_PH,
	P_COD,
	P_BOD5,
	P_SS,
	P_NH3N,
	P_TN,
	P_TP,
	P_OIL_ANIMAL,
	P_OIL_PETROLEUM,
	P_LAS,
	P_TOC,
	P_TEMP,
	P_CONDUCTIVITY,
	P_TURBIDITY,
	P_COUNT
};

/* Returns the parameter for a canonical name, or -1 when it is unknown. */
int param_from_name(const char *name);
/* Name and unit of p; "?" for an out-of-range value (never NULL). */
const char *param_name(int p);
const char *param_unit(int p);
/* HJ 212-2017 factor code, or NULL where Annex B has none. */
const char *param_hj212(int p);
/* Comma-separated list of every name, for error messages. */
const char *param_all_names(void);

/* ---- plausibility ------------------------------------------------------- */

/*
 * What no instrument can read, whatever its range: a value outside
 * [*min, *max] in the parameter's unit (pH 0..14, concentrations 0 up to
 * what a liquid could still hold, flow 0..100 000 m3/h, ...), or a value
 * whose magnitude is above 0 but below PARAM_TINY: no instrument resolves
 * a millionth of these units, while a float read in the wrong word order
 * or as the wrong type lands there (or on a subnormal) all the time.
 * Returns 0 and both bounds, or -1 for an unknown parameter.
 */
#define PARAM_TINY 1e-6
int param_bounds(int p, double *min, double *max);

enum plausibility {
	PL_OK,
	PL_NOT_FINITE, /* NaN or Inf */
	PL_TINY,       /* subnormal, or above 0 but below PARAM_TINY */
	PL_BELOW,      /* below the parameter's physical minimum */
	PL_ABOVE,      /* above its physical maximum */
	PL_JUMP,       /* a volume counter stepped by more than the largest
			* plausible flow could deliver (judged by the caller) */
	PL_COUNT
};

/* The verdict on value v of parameter p (PL_OK .. PL_ABOVE). */
enum plausibility param_plausible(int p, double v);
/* "subnormal", "out of physical bounds", ... for log lines. */
const char *plausibility_name(int why);

/*
 * The installer's likely mistake behind an implausible value, as a short
 * static hint for log lines and alerts: "word order or type?" for
 * NaN/Inf, a tiny value or one far beyond the bounds; "scale?" when
 * dividing by a power of ten would make it plausible; "sign, offset or
 * signed/unsigned type?" for a moderate negative. registers: the value was
 * decoded from Modbus registers (an ASCII line has no word order or type).
 */
const char *param_hint(int p, double v, enum plausibility why, bool registers);

#endif
