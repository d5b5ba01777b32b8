/*
 * health.c - counter steps and the garbled-answer rate (see health.h).
 */
#include "health.h"

#include <math.h>

#define JITTER_REL 1e-7   /* float totalisers round; a reset is far bigger */

double counter_modulus(const struct cfg_channel *ch)
{
	switch (ch->type) {
	case VT_INT16:
	case VT_UINT16:
		return 65536.0 * fabs(ch->scale);
	case VT_INT32:
	case VT_UINT32:
		return 4294967296.0 * fabs(ch->scale);
	default:
		return 0;
	}
}

enum counter_step counter_step(struct counter *c, double v, double modulus, double *delta)
{
	double d;

	*delta = 0;
	if (!c->has) {
		c->has = true;
		c->last = v;
		return CNT_FIRST;
	}
	d = v - c->last;
	if (d >= 0) {
		*delta = d;
		c->last = v;
		return CNT_FORWARD;
	}
	if (-d <= JITTER_REL * fabs(c->last))
		return CNT_FORWARD;
	/* From near the top to near the bottom: the register rolled over.
	 * Signed types wrap from +max to -max, which this covers as well. */
	if (modulus > 0 && d + modulus <= modulus / 8) {
		*delta = d + modulus;
		c->last = v;
		return CNT_WRAP;
	}
	c->last = v;
	return CNT_BACKWARDS;
}

/* Deltas above 2^32 in one poll are a counter glitch; clamp, do not wrap. */
static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void crcwin_add(struct crcwin *w, uint64_t requests, uint64_t crc_errors)
{
	uint32_t dr, dc, i;

	if (!w->has || requests < w->last_requests || crc_errors < w->last_crc) {
		w->has = true;
		w->last_requests = requests;
		w->last_crc = crc_errors;
		return;
	}
	dr = clamp32(requests - w->last_requests);
	dc = clamp32(crc_errors - w->last_crc);
	w->last_requests = requests;
	w->last_crc = crc_errors;
	if (w->len == CRC_WINDOW_POLLS) {
		w->sum_req -= w->req[w->head];
		w->sum_crc -= w->crc[w->head];
		w->head = (w->head + 1) % CRC_WINDOW_POLLS;
		w->len--;
	}
	i = (w->head + w->len) % CRC_WINDOW_POLLS;
	w->req[i] = dr;
	w->crc[i] = dc;
	w->len++;
	w->sum_req += dr;
	w->sum_crc += dc;
}

bool crcwin_pct(const struct crcwin *w, double *pct)
{
	if (w->sum_req < CRC_MIN_REQUESTS)
		return false;
	/* A retried request can fail twice: never report above 100 %. */
	*pct = w->sum_crc >= w->sum_req ? 100.0 : 100.0 * (double)w->sum_crc / (double)w->sum_req;
	return true;
}
