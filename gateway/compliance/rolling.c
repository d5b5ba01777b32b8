/*
 * rolling.c - rolling-window mean over a ring of cells (see rolling.h).
 */
#include "rolling.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Readings may come a little faster than configured (a late poll is
 * clamped to now): room for a quarter more, plus the two edge cells. */
static uint32_t cells_for(int64_t window_ms, int64_t interval_ms)
{
	int64_t need;

	if (interval_ms <= 0)
		interval_ms = 1000;
	need = window_ms / interval_ms;
	need += need / 4 + 4;
	return need > ROLL_CELLS_MAX ? ROLL_CELLS_MAX : (uint32_t)need;
}

int roll_init(struct roll *r, int64_t window_ms, int64_t interval_ms)
{
	uint32_t cap = cells_for(window_ms, interval_ms);

	*r = (struct roll){ .window_ms = window_ms, .cap = cap };
	if (cap == ROLL_CELLS_MAX)
		r->cell_ms = (window_ms + ROLL_CELLS_MAX - 3) / (ROLL_CELLS_MAX - 2);
	r->cells = calloc(cap, sizeof(*r->cells));
	return r->cells ? 0 : -ENOMEM;
}

void roll_free(struct roll *r)
{
	free(r->cells);
	r->cells = NULL;
	r->cap = r->len = 0;
}

void roll_reset(struct roll *r)
{
	r->head = r->len = r->evicted = 0;
	r->sum = 0;
	r->n = 0;
	r->covered_ms = 0;
	r->started = false;
}

static struct roll_cell *cell_at(struct roll *r, uint32_t i)
{
	return &r->cells[(r->head + i) % r->cap];
}

/* Subtracting what leaves piles up rounding error; summing the ring afresh
 * once per cap evictions keeps it bounded at O(1) amortised per reading. */
static void resum(struct roll *r)
{
	r->sum = 0;
	r->n = 0;
	r->covered_ms = 0;
	for (uint32_t i = 0; i < r->len; i++) {
		const struct roll_cell *c = cell_at(r, i);

		r->sum += c->sum;
		r->n += c->n;
		r->covered_ms += c->covered_ms;
	}
	r->evicted = 0;
}

void roll_evict(struct roll *r, int64_t now_ms)
{
	while (r->len && cell_at(r, 0)->last_ms <= now_ms - r->window_ms) {
		const struct roll_cell *c = cell_at(r, 0);

		r->sum -= c->sum;
		r->n -= c->n;
		r->covered_ms -= c->covered_ms;
		r->head = (r->head + 1) % r->cap;
		r->len--;
		r->evicted++;
	}
	if (r->len == 0 || r->evicted >= r->cap)
		resum(r);
}

/* The ring is full: fold the oldest cell into the next one. */
static void merge_oldest(struct roll *r)
{
	struct roll_cell *a = cell_at(r, 0), *b = cell_at(r, 1);

	b->first_ms = a->first_ms;
	b->sum += a->sum;
	b->n += a->n;
	b->covered_ms += a->covered_ms;
	r->head = (r->head + 1) % r->cap;
	r->len--;
}

void roll_add(struct roll *r, int64_t now_ms, double v, int64_t covered_ms)
{
	struct roll_cell *c;

	if (!r->cap)
		return;
	roll_evict(r, now_ms);
	if (!r->started) {
		r->started = true;
		r->started_ms = now_ms;
	}
	c = r->len ? cell_at(r, r->len - 1) : NULL;
	if (!c || now_ms - c->first_ms >= r->cell_ms) {
		if (r->len == r->cap)
			merge_oldest(r);
		c = cell_at(r, r->len++);
		*c = (struct roll_cell){ .first_ms = now_ms };
	}
	c->last_ms = now_ms;
	c->sum += v;
	c->n++;
	c->covered_ms += covered_ms;
	r->sum += v;
	r->n++;
	r->covered_ms += covered_ms;
}

double roll_mean(const struct roll *r)
{
	return r->n ? r->sum / (double)r->n : NAN;
}

double roll_coverage(const struct roll *r)
{
	double f;

	if (r->window_ms <= 0)
		return 0;
	f = (double)r->covered_ms / (double)r->window_ms;
	return f > 1 ? 1 : f;
}

bool roll_established(const struct roll *r, int64_t now_ms)
{
	return r->started && now_ms - r->started_ms >= r->window_ms;
}
