/*
 * health.h - the small judgments behind sensor_fault (DESIGN §5): what a
 * cumulative volume counter's step means (forward, wrapped at the type's
 * maximum, or backwards: reset or a replaced meter), and the share of
 * garbled answers over a sensor's recent polls. Pure: plain structs in and
 * out, no clocks.
 */
#ifndef OUTFALL_HEALTH_H
#define OUTFALL_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* ---- volume counters ---------------------------------------------------- */

enum counter_step {
	CNT_FIRST,     /* no earlier reading: this one is the base */
	CNT_FORWARD,   /* counted on (or stood still); *delta >= 0 */
	CNT_WRAP,      /* rolled over past the type's maximum; *delta >= 0 */
	CNT_BACKWARDS  /* reset or replaced meter: new base, *delta = 0 */
};

struct counter {
	bool has;     /* last holds a reading */
	double last;  /* last good reading, scaled */
};

/* The span a counter of this channel covers before it wraps, in scaled
 * units (2^16 or 2^32 raw counts x |scale|); 0 for float types, which do
 * not wrap. */
double counter_modulus(const struct cfg_channel *ch);

/*
 * Steps c to reading v and stores the volume counted since the last one in
 * *delta (never negative). A step back of less than a part in 10^7 is a
 * float totaliser's rounding, not a reset: no volume, base kept. A step back
 * that lands within an eighth of the modulus past the top is a wrap; any
 * other step back makes v the new base.
 */
enum counter_step counter_step(struct counter *c, double v, double modulus, double *delta);

/* ---- garbled answers ---------------------------------------------------- */

#define CRC_WINDOW_POLLS 32   /* the rate is over this many recent polls */
#define CRC_MIN_REQUESTS 10   /* fewer requests than this: no judgment */

struct crcwin {
	bool has;                   /* last_* hold a reading of the counters */
	uint64_t last_requests, last_crc;
	uint32_t req[CRC_WINDOW_POLLS], crc[CRC_WINDOW_POLLS];
	uint32_t head, len;
	uint64_t sum_req, sum_crc;
};

/* Takes the driver's cumulative counters after one poll. Counters that went
 * down (a driver restarted them) start the deltas afresh. */
void crcwin_add(struct crcwin *w, uint64_t requests, uint64_t crc_errors);
/* Share of garbled answers over the window in %; false (and *pct
 * untouched) while it holds fewer than CRC_MIN_REQUESTS requests. */
bool crcwin_pct(const struct crcwin *w, double *pct);

#endif
