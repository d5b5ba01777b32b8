/*
 * sim_map.c - register maps of the simulated probe and flow meter, and the
 * deterministic value model behind them (see sim_map.h).
 *
 * Each process value is a smooth curve (two sines whose periods and phases
 * come from the seed) plus a pseudo-random jitter that is a hash of the seed
 * and the time in 100 ms steps, so the same seed and time since start give
 * the same values whatever the order of requests. The cumulative total is
 * the closed-form integral of the flow curve; the jitter averages out.
 */
#include "sim_map.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

_Static_assert(sizeof(float) == 4, "float32 values need a 4-byte float");

#define SIM_TOTAL_START_M3 12345.0
/* DN50 pipe: 3..6 m3/h gives 0.42..0.85 m/s, a usual velocity. */
#define SIM_PIPE_AREA_M2 (M_PI * 0.025 * 0.025)
#define SIM_FLOW_UNIT_M3H 5
#define SIM_TOTAL_UNIT_M3 1
/* Curve weights: two sines and the jitter stay inside the range (< 1). */
#define SIM_A1 0.60
#define SIM_A2 0.25
#define SIM_AJ 0.13
#define SIM_JITTER_STEP_MS 100
/* Jitter on top of an exceed value, as a fraction of it (upwards only). */
#define SIM_EXCEED_JITTER 0.002

static const struct sim_point sim_probe_points[] = {
	{ SIM_COD, 0, SIM_FLOAT32, SIM_ABCD },
	{ SIM_PH, 2, SIM_FLOAT32, SIM_ABCD },
	{ SIM_NH3N, 4, SIM_FLOAT32, SIM_ABCD },
	{ SIM_TP, 6, SIM_FLOAT32, SIM_ABCD },
	{ SIM_TEMP, 8, SIM_FLOAT32, SIM_ABCD },
};

/* The common Chinese electromagnetic converter "0x1010" map (sensors.md). */
static const struct sim_point sim_flow_points[] = {
	{ SIM_FLOW, 0x1010, SIM_FLOAT32, SIM_CDAB },
	{ SIM_VELOCITY, 0x1012, SIM_FLOAT32, SIM_CDAB },
	{ SIM_TOTAL_INT, 0x1018, SIM_INT32, SIM_CDAB },
	{ SIM_TOTAL_FRAC, 0x101A, SIM_FLOAT32, SIM_CDAB },
	{ SIM_FLOW_UNIT, 0x101E, SIM_UINT16, SIM_ABCD },
	{ SIM_TOTAL_UNIT, 0x1021, SIM_UINT16, SIM_ABCD },
	{ SIM_EMPTY_PIPE_ALARM, 0x1024, SIM_UINT16, SIM_ABCD },
	{ SIM_SYSTEM_ALARM, 0x1025, SIM_UINT16, SIM_ABCD },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct sim_map sim_maps[SIM_DEVICE_COUNT] = {
	[SIM_PROBE] = { sim_probe_points, ARRAY_LEN(sim_probe_points), 0, 10 },
	[SIM_FLOWMETER] = { sim_flow_points, ARRAY_LEN(sim_flow_points), 0x1010, 0x16 },
};

static const char *const sim_names[SIM_PARAM_COUNT] = {
	[SIM_COD] = "cod",
	[SIM_PH] = "ph",
	[SIM_NH3N] = "nh3n",
	[SIM_TP] = "tp",
	[SIM_TEMP] = "temp",
	[SIM_FLOW] = "flow",
	[SIM_VELOCITY] = "velocity",
	[SIM_TOTAL_INT] = "total_int",
	[SIM_TOTAL_FRAC] = "total_frac",
	[SIM_FLOW_UNIT] = "flow_unit",
	[SIM_TOTAL_UNIT] = "total_unit",
	[SIM_EMPTY_PIPE_ALARM] = "empty_pipe_alarm",
	[SIM_SYSTEM_ALARM] = "system_alarm",
};

/* Normal range and base period of each curve-driven parameter. */
struct sim_wave {
	double lo, hi;   /* normal range, in the parameter's unit */
	double period_s; /* period of the slow sine before seeding */
};

static const struct sim_wave sim_waves[SIM_FLOW + 1] = {
	[SIM_COD] = { 180.0, 260.0, 900.0 },
	[SIM_PH] = { 7.0, 7.6, 1300.0 },
	[SIM_NH3N] = { 20.0, 30.0, 1100.0 },
	[SIM_TP] = { 2.0, 4.0, 700.0 },
	[SIM_TEMP] = { 18.0, 22.0, 3600.0 },
	[SIM_FLOW] = { 3.0, 6.0, 600.0 },
};

/* One seeded curve: mid + half * (A1 sin(w1 t + ph1) + A2 sin(w2 t + ph2)). */
struct sim_shape {
	double mid, half; /* centre and half-width of the range */
	double w1, w2;    /* angular frequencies, rad/s */
	double ph1, ph2;  /* phases, rad */
};

const struct sim_map *sim_map_get(enum sim_device dev)
{
	return dev < SIM_DEVICE_COUNT ? &sim_maps[dev] : &sim_maps[SIM_PROBE];
}

const char *sim_param_name(enum sim_param p)
{
	return p < SIM_PARAM_COUNT ? sim_names[p] : "?";
}

int sim_param_lookup_process(const char *name)
{
	for (int p = SIM_COD; p <= SIM_VELOCITY; p++)
		if (strcmp(name, sim_names[p]) == 0)
			return p;
	return -EINVAL;
}

unsigned int sim_point_words(const struct sim_point *pt)
{
	return pt->type == SIM_UINT16 ? 1 : 2;
}

bool sim_point_overlaps(const struct sim_point *pt, unsigned int addr, unsigned int nb)
{
	unsigned int end = pt->reg + sim_point_words(pt);

	return pt->reg < addr + nb && addr < end;
}

static bool sim_map_has(const struct sim_map *map, unsigned int addr)
{
	for (size_t i = 0; i < map->n_points; i++)
		if (sim_point_overlaps(&map->points[i], addr, 1))
			return true;
	return false;
}

int sim_map_check(const struct sim_map *map, unsigned int addr, unsigned int nb)
{
	if (nb == 0 || addr > 0xFFFF || nb > 0x10000 - addr)
		return -ENXIO;
	for (unsigned int a = addr; a < addr + nb; a++)
		if (!sim_map_has(map, a))
			return -ENXIO;
	return 0;
}

uint64_t sim_hash64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

uint64_t sim_rand64(uint64_t *state)
{
	uint64_t x = *state;

	*state += 0x9E3779B97F4A7C15ULL;
	return sim_hash64(x);
}

/* A number in [0, 1) fixed by the seed, a salt and a step index. */
static double sim_unit(uint64_t seed, unsigned int salt, uint64_t k)
{
	uint64_t h = sim_hash64(sim_hash64(seed) ^ sim_hash64(((uint64_t)salt << 48) ^ k));

	return (double)(h >> 11) * 0x1p-53;
}

static void sim_shape_of(uint64_t seed, enum sim_param p, struct sim_shape *sh)
{
	const struct sim_wave *wv = &sim_waves[p];
	unsigned int salt = (unsigned int)p * 8;
	double period = wv->period_s * (0.8 + 0.4 * sim_unit(seed, salt, 0));

	sh->mid = (wv->lo + wv->hi) / 2.0;
	sh->half = (wv->hi - wv->lo) / 2.0;
	sh->w1 = 2.0 * M_PI / period;
	sh->w2 = 2.0 * M_PI / (period * 0.37);
	sh->ph1 = 2.0 * M_PI * sim_unit(seed, salt + 1, 0);
	sh->ph2 = 2.0 * M_PI * sim_unit(seed, salt + 2, 0);
}

static double sim_shape_at(const struct sim_shape *sh, double t_s)
{
	return sh->mid + sh->half * (SIM_A1 * sin(sh->w1 * t_s + sh->ph1) +
				     SIM_A2 * sin(sh->w2 * t_s + sh->ph2));
}

/* Integral of sim_shape_at from 0 to t_s (unit x seconds). */
static double sim_shape_integral(const struct sim_shape *sh, double t_s)
{
	double s1 = SIM_A1 / sh->w1 * (cos(sh->ph1) - cos(sh->w1 * t_s + sh->ph1));
	double s2 = SIM_A2 / sh->w2 * (cos(sh->ph2) - cos(sh->w2 * t_s + sh->ph2));

	return sh->mid * t_s + sh->half * (s1 + s2);
}

bool sim_in_window(int64_t t_ms, int64_t from_ms, int64_t until_ms, int64_t period_ms)
{
	if (t_ms < from_ms)
		return false;
	if (period_ms <= 0)
		return t_ms < until_ms;
	return (t_ms - from_ms) % period_ms < until_ms - from_ms;
}

static bool sim_exceeding(const struct sim_model *m, enum sim_param p, int64_t t_ms)
{
	return m->exceed_param == (int)p &&
	       sim_in_window(t_ms, m->exceed_from_ms, m->exceed_until_ms, m->exceed_period_ms);
}

static double sim_exceed_at(const struct sim_model *m, enum sim_param p, int64_t t_ms)
{
	uint64_t step = (uint64_t)(t_ms / SIM_JITTER_STEP_MS);
	double u = sim_unit(m->seed, (unsigned int)p * 8 + 6, step);

	return m->exceed_value + fabs(m->exceed_value) * SIM_EXCEED_JITTER * u;
}

static double sim_to_float(double v)
{
	if (v > (double)FLT_MAX)
		return (double)FLT_MAX;
	if (v < -(double)FLT_MAX)
		return -(double)FLT_MAX;
	return (double)(float)v;
}

/* A curve-driven parameter at t_ms, before any override, unrounded. */
static double sim_curve_at(const struct sim_model *m, enum sim_param p, int64_t t_ms)
{
	struct sim_shape sh;
	uint64_t step = (uint64_t)(t_ms / SIM_JITTER_STEP_MS);
	double u = sim_unit(m->seed, (unsigned int)p * 8 + 7, step);

	sim_shape_of(m->seed, p, &sh);
	return sim_shape_at(&sh, (double)t_ms / 1000.0) + sh.half * SIM_AJ * (2.0 * u - 1.0);
}

static double sim_process_at(const struct sim_model *m, enum sim_param p, int64_t t_ms)
{
	if (sim_exceeding(m, p, t_ms))
		return sim_to_float(sim_exceed_at(m, p, t_ms));
	return sim_to_float(sim_curve_at(m, p, t_ms));
}

/* Volume passed since start in m3, with the flow override if there is one
 * (then the override value replaces the curve inside its window). */
static double sim_volume_m3(const struct sim_model *m, int64_t t_ms)
{
	struct sim_shape sh;
	double m3h_s; /* integral of m3/h over seconds */

	sim_shape_of(m->seed, SIM_FLOW, &sh);
	m3h_s = sim_shape_integral(&sh, (double)t_ms / 1000.0);
	if (m->exceed_param == SIM_FLOW && t_ms > m->exceed_from_ms) {
		int64_t end_ms = t_ms < m->exceed_until_ms ? t_ms : m->exceed_until_ms;
		double a = (double)m->exceed_from_ms / 1000.0;
		double b = (double)end_ms / 1000.0;

		m3h_s += m->exceed_value * (b - a) -
			 (sim_shape_integral(&sh, b) - sim_shape_integral(&sh, a));
	}
	return SIM_TOTAL_START_M3 + m3h_s / 3600.0;
}

/* Splits a total into the meter's int32 integer part and float32 fraction;
 * a fraction that rounds up to 1.0f carries into the integer part. */
static void sim_total_split(double total, double *int_part, double *frac)
{
	double ip = floor(total);
	double fr = (double)(float)(total - ip);

	if (fr >= 1.0) {
		ip += 1.0;
		fr = 0.0;
	}
	if (ip > (double)INT32_MAX || ip < (double)INT32_MIN) {
		ip = ip > 0 ? (double)INT32_MAX : (double)INT32_MIN;
		fr = 0.0;
	}
	*int_part = ip;
	*frac = fr;
}

void sim_model_eval(const struct sim_model *m, int64_t t_ms, struct sim_values *out)
{
	double *v = out->v;

	for (int p = SIM_COD; p <= SIM_FLOW; p++)
		v[p] = sim_process_at(m, (enum sim_param)p, t_ms);
	if (sim_exceeding(m, SIM_VELOCITY, t_ms))
		v[SIM_VELOCITY] = sim_to_float(sim_exceed_at(m, SIM_VELOCITY, t_ms));
	else
		v[SIM_VELOCITY] = sim_to_float(v[SIM_FLOW] / 3600.0 / SIM_PIPE_AREA_M2);
	sim_total_split(sim_volume_m3(m, t_ms), &v[SIM_TOTAL_INT], &v[SIM_TOTAL_FRAC]);
	v[SIM_FLOW_UNIT] = SIM_FLOW_UNIT_M3H;
	v[SIM_TOTAL_UNIT] = SIM_TOTAL_UNIT_M3;
	v[SIM_EMPTY_PIPE_ALARM] = 0;
	v[SIM_SYSTEM_ALARM] = 0;
}

/* Lays a 32-bit value out as bytes a b c d (most significant first), then
 * as two words in the point's order: abcd = "ab" "cd", cdab = "cd" "ab".
 * Each word goes on the wire high byte first. */
static void sim_put32(uint32_t bits, enum sim_order order, uint16_t *w)
{
	uint8_t b[4] = { (uint8_t)(bits >> 24), (uint8_t)(bits >> 16),
			 (uint8_t)(bits >> 8), (uint8_t)bits };
	uint16_t ab = (uint16_t)(b[0] << 8 | b[1]);
	uint16_t cd = (uint16_t)(b[2] << 8 | b[3]);

	w[0] = order == SIM_ABCD ? ab : cd;
	w[1] = order == SIM_ABCD ? cd : ab;
}

static void sim_encode_point(const struct sim_point *pt, double v, uint16_t *w)
{
	float f;
	uint32_t bits;

	switch (pt->type) {
	case SIM_FLOAT32:
		f = (float)v;
		memcpy(&bits, &f, sizeof(bits));
		sim_put32(bits, pt->order, w);
		break;
	case SIM_INT32:
		/* v is whole and inside int32 (sim_total_split clamps it) */
		sim_put32((uint32_t)(int32_t)v, pt->order, w);
		break;
	case SIM_UINT16:
		w[0] = (uint16_t)v;
		break;
	}
}

int sim_map_encode(const struct sim_map *map, const struct sim_values *vals,
		   uint16_t *words, size_t cap)
{
	if (cap < map->span)
		return -ENOBUFS;
	memset(words, 0, map->span * sizeof(*words));
	for (size_t i = 0; i < map->n_points; i++) {
		const struct sim_point *pt = &map->points[i];

		sim_encode_point(pt, vals->v[pt->param], &words[pt->reg - map->base]);
	}
	return 0;
}
