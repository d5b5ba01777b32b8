/*
 * clock.h - the two clocks, never mixed (STYLE rule 5): monotonic ms for
 * scheduling and timeouts, wall-clock ms (UTC) only for timestamps. Pure
 * cores take times as arguments; only the loop reads these.
 */
#ifndef OUTFALL_CLOCK_H
#define OUTFALL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

/* Formats wall ms as RFC 3339 UTC with ms ("2026-11-29T08:00:17.000Z").
 * buf must hold at least 25 bytes; returns buf. */
#define CLOCK_RFC3339_LEN 25
char *clock_rfc3339(int64_t wall_ms, char *buf, size_t len);

#endif
