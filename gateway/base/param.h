/*
 * param.h - the canonical parameter vocabulary (DESIGN §3): names, units and
 * HJ 212 codes. Pure lookup tables; no state.
 */
#ifndef OUTFALL_PARAM_H
#define OUTFALL_PARAM_H

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

#endif
