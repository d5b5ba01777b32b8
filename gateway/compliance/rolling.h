/*
 * rolling.h - the arithmetic mean of a parameter over the last window_min
 * minutes (DESIGN §5 basis "rolling"), on the monotonic clock so a
 * wall-clock step neither empties nor stretches a window.
 *
 * The window is (now - window, now]: a reading exactly window old is out.
 * Each reading is kept in a ring of cells sized at setup, so adding one
 * allocates nothing. While the expected readings fit (ROLL_CELLS_MAX),
 * every reading has its own cell and the edge is exact; a longer window of
 * fast readings shares cells of window/ROLL_CELLS_MAX, and a cell leaves
 * when its newest reading does (the mean may hold up to one cell's worth of
 * older readings: 0.2 % of the window). Readings faster than expected
 * merge the two oldest cells rather than drop anything.
 */
#ifndef OUTFALL_ROLLING_H
#define OUTFALL_ROLLING_H

#include <stdbool.h>
#include <stdint.h>

#define ROLL_CELLS_MAX 512

struct roll_cell {
	int64_t first_ms;    /* monotonic ms of its oldest reading */
	int64_t last_ms;     /* of its newest: the cell leaves with it */
	double sum;
	uint32_t n;
	int64_t covered_ms;
};

struct roll {
	int64_t window_ms;
	int64_t cell_ms;     /* 0: one reading per cell */
	struct roll_cell *cells;
	uint32_t cap, head, len; /* ring: head is the oldest */
	uint32_t evicted;    /* since the totals were last summed afresh */
	double sum;          /* totals over the cells in the ring */
	uint64_t n;
	int64_t covered_ms;
	bool started;
	int64_t started_ms;  /* first reading ever added */
};

/* Sizes the ring for readings every interval_ms (the fastest sensor feeding
 * it). 0 or -ENOMEM. */
int roll_init(struct roll *r, int64_t window_ms, int64_t interval_ms);
void roll_free(struct roll *r); /* a zeroed or freed roll is a no-op */
/* Empties the window (keeps its size). */
void roll_reset(struct roll *r);

/* Drops what has left the window at now_ms, then adds a good reading. */
void roll_add(struct roll *r, int64_t now_ms, double v, int64_t covered_ms);
/* Drops what has left the window at now_ms. */
void roll_evict(struct roll *r, int64_t now_ms);

/* Mean of the window (NaN when empty) and the share of it covered, 0..1. */
double roll_mean(const struct roll *r);
double roll_coverage(const struct roll *r);
/* True once readings have been added for a whole window: before that, thin
 * coverage is the start-up, not missing data. */
bool roll_established(const struct roll *r, int64_t now_ms);

#endif
