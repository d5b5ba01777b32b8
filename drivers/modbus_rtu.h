/*
 * modbus_rtu.h - Modbus RTU sensors through libmodbus.
 *
 * Reads holding (03) and input (04) registers; channels of one slave that
 * sit next to each other in one table are read in one request (at most 125
 * registers). Blocking bound: each request waits at most the bus's
 * timeout_ms for the answer and is tried 1 + retries times (once when
 * quick), so one poll blocks at most groups x (1 + retries) x timeout_ms.
 */
#ifndef OUTFALL_MODBUS_RTU_H
#define OUTFALL_MODBUS_RTU_H

#include "driver.h"

extern const struct driver_ops modbus_rtu_ops;

/* Splits a sensor's channels into read requests: fills order[] with channel
 * indexes sorted by (table, register) and starts[] with the index in order[]
 * where each request begins; returns the number of requests, or -EINVAL
 * (nothing written) for a sensor of more than CFG_MAX_CHANNELS channels,
 * which poll then returns too, before it writes a value. Pure. */
int modbus_rtu_plan(const struct cfg_sensor *s, int order[CFG_MAX_CHANNELS],
		    int starts[CFG_MAX_CHANNELS + 1]);

#endif
