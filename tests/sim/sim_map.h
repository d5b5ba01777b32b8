/*
 * sim_map.h - what the simulated slaves hold: their register maps (which
 * wire addresses exist and how each value is laid out in 16-bit words) and
 * the value model behind them (what each parameter reads at a given time
 * since start). Pure: no I/O and no clocks, time comes in as an argument,
 * so the same seed and time always give the same values.
 */
#ifndef OUTFALL_SIM_MAP_H
#define OUTFALL_SIM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything a simulated slave can serve; names in sim_param_name(). */
enum sim_param {
	SIM_COD,
	SIM_PH,
	SIM_NH3N,
	SIM_TP,
	SIM_TEMP,
	SIM_FLOW,
	SIM_VELOCITY,
	SIM_TOTAL_INT,
	SIM_TOTAL_FRAC,
	SIM_FLOW_UNIT,
	SIM_TOTAL_UNIT,
	SIM_EMPTY_PIPE_ALARM,
	SIM_SYSTEM_ALARM,
	SIM_PARAM_COUNT
};

enum sim_type { SIM_FLOAT32, SIM_INT32, SIM_UINT16 };

/* Word order of 32-bit values: abcd = high word first, cdab = low first. */
enum sim_order { SIM_ABCD, SIM_CDAB };

enum sim_device { SIM_PROBE, SIM_FLOWMETER, SIM_DEVICE_COUNT };

/* One value in a slave's map. */
struct sim_point {
	enum sim_param param;
	uint16_t reg;         /* first wire address (0-based) */
	enum sim_type type;
	enum sim_order order; /* only meaningful for 32-bit types */
};

/* A slave's map; points are sorted by address and do not overlap. */
struct sim_map {
	const struct sim_point *points;
	size_t n_points;
	uint16_t base; /* address of the first point */
	uint16_t span; /* words from base to the end of the last point */
};

/* The largest span of any map: callers size word buffers with it. */
#define SIM_MAP_MAX_SPAN 32

/* Static, never NULL for a valid device. */
const struct sim_map *sim_map_get(enum sim_device dev);

/* Static string; "?" for an out-of-range value. */
const char *sim_param_name(enum sim_param p);

/* Parameter a scenario may override (cod ph nh3n tp temp flow velocity):
 * returns the enum value, or -EINVAL for any other name. */
int sim_param_lookup_process(const char *name);

/* Registers the point occupies (1 or 2). */
unsigned int sim_point_words(const struct sim_point *pt);

/* True if the point has a register in [addr, addr + nb). */
bool sim_point_overlaps(const struct sim_point *pt, unsigned int addr, unsigned int nb);

/* 0 if every address in [addr, addr + nb) belongs to a point of map,
 * -ENXIO otherwise (a hole or outside the map). */
int sim_map_check(const struct sim_map *map, unsigned int addr, unsigned int nb);

/* Settings of the value model. */
struct sim_model {
	uint64_t seed;
	int exceed_param;        /* enum sim_param overridden, or -1 */
	double exceed_value;     /* value served while overridden */
	int64_t exceed_from_ms;  /* override window, ms since start */
	int64_t exceed_until_ms; /* exclusive; INT64_MAX for no end */
	int64_t exceed_period_ms; /* the window repeats every this; 0 = once */
};

/* True if t_ms falls in [from_ms, until_ms), or in that window moved on by
 * a whole number of periods when period_ms > 0 (until_ms is then finite). */
bool sim_in_window(int64_t t_ms, int64_t from_ms, int64_t until_ms, int64_t period_ms);

/* Values of every parameter at one instant. Float32 values are already
 * rounded to float, integers are whole: each is exactly what goes out. */
struct sim_values {
	double v[SIM_PARAM_COUNT];
};

/* Fills out for t_ms milliseconds since start (t_ms >= 0). */
void sim_model_eval(const struct sim_model *m, int64_t t_ms, struct sim_values *out);

/* Encodes every point of map into words[0 .. map->span), word i holding
 * address map->base + i; holes are 0. -ENOBUFS if cap < map->span. */
int sim_map_encode(const struct sim_map *map, const struct sim_values *vals,
		   uint16_t *words, size_t cap);

/* splitmix64: the finaliser alone as a hash, and the sequential generator
 * over *state. Deterministic and identical on every platform. */
uint64_t sim_hash64(uint64_t x);
uint64_t sim_rand64(uint64_t *state);

#endif
