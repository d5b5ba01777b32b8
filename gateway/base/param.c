/* param.c - parameter table (see param.h). */
#include "param.h"

#include <string.h>

struct param_info {
	const char *name;  /* canonical lowercase name used everywhere */
	const char *unit;  /* unit outfall reports in */
	const char *hj212; /* HJ 212-2017 code, NULL where none exists */
};

static const struct param_info params[P_COUNT] = {
	[P_FLOW] = { "flow", "m3/h", "w00000" },
	[P_VOLUME_TOTAL] = { "volume_total", "m3", "w00000" },
	[P_PH] = { "ph", "pH", "w01001" },
	[P_COD] = { "cod", "mg/L", "w01018" },
	[P_BOD5] = { "bod5", "mg/L", "w01017" },
	[P_SS] = { "ss", "mg/L", "w01012" },
	[P_NH3N] = { "nh3n", "mg/L", "w21003" },
	[P_TN] = { "tn", "mg/L", "w21001" },
	[P_TP] = { "tp", "mg/L", "w21011" },
	[P_OIL_ANIMAL] = { "oil_animal", "mg/L", NULL },
	[P_OIL_PETROLEUM] = { "oil_petroleum", "mg/L", "w22001" },
	[P_LAS] = { "las", "mg/L", "w19002" },
	[P_TOC] = { "toc", "mg/L", "w01020" },
	[P_TEMP] = { "temp", "degC", "w01010" },
	[P_CONDUCTIVITY] = { "conductivity", "uS/cm", "w01014" },
	[P_TURBIDITY] = { "turbidity", "NTU", NULL },
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
