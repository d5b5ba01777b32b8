/* driver.c - maps a configured driver kind to its implementation. */
#include "driver.h"

#include "ascii.h"
#include "modbus_rtu.h"

const struct driver_ops *driver_for(enum driver_kind kind)
{
	switch (kind) {
	case DRIVER_MODBUS:
		return &modbus_rtu_ops;
	case DRIVER_ASCII:
		return &ascii_ops;
	}
	return NULL;
}
