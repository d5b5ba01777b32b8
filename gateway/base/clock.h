/*
 * clock.h - the two clocks, never mixed (STYLE rule 5): monotonic ms for
 * scheduling and timeouts, wall-clock ms (UTC) only for timestamps. Pure
 * cores take times as arguments; only the loop reads these.
 */
#ifndef OUTFALL_CLOCK_H
#define OUTFALL_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);

/* Formats wall ms as RFC 3339 UTC with ms ("2026-11-29T08:00:17.000Z").
 * buf must hold at least 25 bytes; returns buf. */
#define CLOCK_RFC3339_LEN 25
char *clock_rfc3339(int64_t wall_ms, char *buf, size_t len);

/* The kernel's word on the wall clock: true when adjtimex() says it is
 * synchronised (NTP has set it); false on TIME_ERROR or when the call
 * fails (a sandbox that forbids it). A board without a battery clock has
 * no other way to know its date is right. Read-only: sets nothing. */
bool clock_kernel_synced(void);

#endif
