/*
 * driver.h - the interface between a serial bus and the sensors on it.
 *
 * A driver opens a bus's device (a "port") and polls one sensor at a time
 * over it, filling a poll record with decoded values and their quality.
 * Only drivers touch serial ports. Every call blocks for a bounded time
 * only; each driver states its bound in its header.
 */
#ifndef OUTFALL_DRIVER_H
#define OUTFALL_DRIVER_H

#include <stdint.h>

#include "buslock.h" /* the lock outfallctl shares with the daemon */
#include "decode.h"  /* register decoding, also used by outfallctl read */
#include "base/record.h"
#include "config/config.h"

struct port;

/* Counters a driver adds to; owned by the caller (one per sensor). */
struct drv_counters {
	uint64_t requests;   /* requests sent */
	uint64_t timeouts;   /* no answer within timeout_ms */
	uint64_t crc_errors; /* bad CRC or malformed frame */
	uint64_t exceptions; /* Modbus exception replies */
};

/*
 * Results of poll(): 0 every channel read; -ETIMEDOUT the slave stayed
 * silent; -EBADMSG only garbled answers; -EPROTO the slave answered with an
 * exception (wrong register or function); -EDOM (ascii only) the lines'
 * numbers have the other decimal mark than the sensor's decimal setting,
 * framing errors counted in crc_errors as -EBADMSG's are; -EIO (or another
 * -errno) the port itself failed and must be closed and reopened. On
 * failure the channels not read carry Q_NO_RESPONSE.
 */
struct driver_ops {
	const char *name;
	/* Opens bus's device. 0 and *out, or -errno (device missing: -ENOENT). */
	int (*open)(const struct cfg_bus *bus, struct port **out);
	void (*close)(struct port *p); /* NULL is a no-op */
	/* quick: a single attempt, no retries (for slaves already failing) */
	int (*poll)(struct port *p, const struct cfg_sensor *s, bool quick,
		    struct rec_poll *out, struct drv_counters *cnt);
};

const struct driver_ops *driver_for(enum driver_kind kind);

#endif
