/*
 * codec.c - the compact record encoding of the outbox segments (the
 * layout is in codec.h). The writer has a sticky "full" flag so the
 * encoders read straight through; the reader is a cursor that moves only
 * when a whole item was read and checked.
 */
#include "codec.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "base/param.h"

#define OBC_VERSION 2    /* what the encoder writes */
#define OBC_VERSION_V1 1 /* still read: polls without vflags, short alerts */
#define OBC_VFLAGS_EACH 0x80 /* poll vflags: each value has its own byte */
#define OBC_VARINT_MAX 10 /* bytes of a 64-bit LEB128 */

/* The poll value tag packs param into 4 bits and quality into 2: growing
 * either enum needs a new codec version, so fail the build rather than
 * silently truncate. */
_Static_assert(P_COUNT <= 16, "outbox codec: param needs more than 4 bits");
_Static_assert(Q_COUNT <= 4, "outbox codec: quality needs more than 2 bits");
_Static_assert(REC_MAX_VALUES <= 255, "outbox codec: n is one byte");
_Static_assert(REC_MAX_SINKS <= 255, "outbox codec: n_sinks is one byte");
_Static_assert(REC_NAME < 128 && REC_SINK_NAME < 128 && REC_ID < 16384 &&
	       REC_PERMIT < 128 && REC_HOLDER < 16384 && REC_NOTE < 16384,
	       "outbox codec: the size bounds below assume these length prefixes");

enum obc_enc { ENC_F64, ENC_F32, ENC_DEC, ENC_NAN };

#define OBC_QNAN_BITS 0x7ff8000000000000ULL /* what NAN and 0.0/0.0 give */
#define OBC_EXACT_INT 9007199254740992.0    /* 2^53: beyond it m is inexact */
#define OBC_DEC_K 8                         /* decimal exponents 0..7 */

/* Worst-case encoded sizes: every varint at its longest, every string full,
 * every double a float64. OUTBOX_CODEC_MAX must hold the largest. */
#define OBC_STR_MAX(size) ((size) < 128 ? 1 + (size) : 2 + (size))
#define OBC_HEAD_MAX (1 + OBC_VARINT_MAX)
#define OBC_DBL_MAX 9 /* tag and float64 */
#define OBC_POLL_MAX (OBC_HEAD_MAX + 2 * OBC_STR_MAX(REC_NAME) + 2 + REC_MAX_VALUES * 10)
#define OBC_ALERT_MAX (OBC_HEAD_MAX + 5 + OBC_VARINT_MAX + OBC_STR_MAX(REC_ID) + \
		       2 * OBC_STR_MAX(REC_NAME) + OBC_STR_MAX(REC_PERMIT) + \
		       OBC_STR_MAX(REC_HOLDER) + 3 * OBC_DBL_MAX + 2 * OBC_VARINT_MAX + \
		       5 + REC_MAX_VALUES + 4 * OBC_VARINT_MAX + OBC_DBL_MAX + \
		       OBC_STR_MAX(REC_NOTE))
#define OBC_METRICS_MAX (OBC_HEAD_MAX + 7 * OBC_VARINT_MAX + 1 + \
			 REC_MAX_SINKS * (OBC_STR_MAX(REC_SINK_NAME) + 6 * OBC_VARINT_MAX))
#define OBC_AGG_MAX (OBC_HEAD_MAX + OBC_STR_MAX(REC_NAME) + 2 + OBC_VARINT_MAX + \
		     REC_MAX_VALUES * (2 + 5 + 4 * 8))

_Static_assert(OBC_POLL_MAX <= OUTBOX_CODEC_MAX, "outbox codec: a poll outgrows the maximum");
_Static_assert(OBC_ALERT_MAX <= OUTBOX_CODEC_MAX, "outbox codec: an alert outgrows the maximum");
_Static_assert(OBC_METRICS_MAX <= OUTBOX_CODEC_MAX, "outbox codec: metrics outgrow the maximum");
_Static_assert(OBC_AGG_MAX <= OUTBOX_CODEC_MAX, "outbox codec: an aggregate outgrows the maximum");
#define OBC_MAINT_MAX (OBC_HEAD_MAX + 3 + 2 * OBC_STR_MAX(REC_NAME) + 3 * OBC_VARINT_MAX + \
		       OBC_STR_MAX(REC_NOTE))
_Static_assert(OBC_MAINT_MAX <= OUTBOX_CODEC_MAX, "outbox codec: a maintenance event outgrows "
	       "the maximum");
_Static_assert(REC_NOTE < 16384, "outbox codec: the note's length prefix");
#define OBC_RELOAD_MAX (OBC_HEAD_MAX + 1 + 3 + OBC_STR_MAX(REC_SUMMARY))
_Static_assert(OBC_RELOAD_MAX <= OUTBOX_CODEC_MAX, "outbox codec: a reload event outgrows "
	       "the maximum");
_Static_assert(REC_SUMMARY < 16384, "outbox codec: the summary's length prefix");

static const double obc_p10[OBC_DEC_K] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7 };

struct obc_w {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool full; /* a write did not fit; len is no longer meaningful */
};

struct obc_r {
	const uint8_t *p;
	size_t len;
	size_t off;      /* advances only past items that were read completely */
	uint8_t version; /* of the record being read, from its head byte */
};

static uint64_t dbl_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static uint64_t zz_enc(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t zz_dec(uint64_t u)
{
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void w_bytes(struct obc_w *w, const void *p, size_t n)
{
	if (w->full || w->cap - w->len < n) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void w_u8(struct obc_w *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_varint(struct obc_w *w, uint64_t v)
{
	uint8_t tmp[OBC_VARINT_MAX];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	w_bytes(w, tmp, n);
}

static void w_le(struct obc_w *w, uint64_t v, size_t n)
{
	uint8_t tmp[8];

	for (size_t i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	w_bytes(w, tmp, n);
}

/* Strings are stored up to their NUL, or whole when they fill the field. */
static void w_str(struct obc_w *w, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	w_varint(w, n);
	w_bytes(w, s, n);
}

/* Converting a finite double beyond FLT_MAX to float is undefined in C. */
static bool f32_exact(double v)
{
	float f;

	if (isfinite(v) && fabs(v) > FLT_MAX)
		return false;
	f = (float)v;
	return dbl_bits((double)f) == dbl_bits(v);
}

/* Picks the shortest exact form of v; *dec receives the decimal varint. */
static enum obc_enc dbl_pick(double v, uint64_t *dec)
{
	size_t best = f32_exact(v) ? 4 : 8;

	if (dbl_bits(v) == OBC_QNAN_BITS)
		return ENC_NAN;
	for (int k = 0; isfinite(v) && k < OBC_DEC_K; k++) {
		double s = v * obc_p10[k];
		int64_t m;

		if (!(s >= -OBC_EXACT_INT && s <= OBC_EXACT_INT))
			break;
		m = (int64_t)round(s);
		if (dbl_bits((double)m / obc_p10[k]) != dbl_bits(v))
			continue;
		*dec = zz_enc(m) << 3 | (uint64_t)k;
		if (varint_len(*dec) < best)
			return ENC_DEC;
		break;
	}
	return best == 4 ? ENC_F32 : ENC_F64;
}

static void w_dbl_body(struct obc_w *w, enum obc_enc enc, double v, uint64_t dec)
{
	float f;
	uint32_t fb;

	switch (enc) {
	case ENC_F64:
		w_le(w, dbl_bits(v), 8);
		break;
	case ENC_F32:
		f = (float)v; /* dbl_pick checked it is exact */
		memcpy(&fb, &f, sizeof(fb));
		w_le(w, fb, 4);
		break;
	case ENC_DEC:
		w_varint(w, dec);
		break;
	case ENC_NAN:
		break;
	}
}

static void w_dbl(struct obc_w *w, double v)
{
	uint64_t dec = 0;
	enum obc_enc enc = dbl_pick(v, &dec);

	w_u8(w, (uint8_t)(enc << 6));
	w_dbl_body(w, enc, v, dec);
}

/* The poll's vflags byte: the flags all its values share (the usual case:
 * one sensor, one kind of register, one maintenance state), or
 * OBC_VFLAGS_EACH; -EINVAL for flags that do not fit 7 bits. */
static int poll_vflags(const struct rec_poll *p)
{
	int common = p->n ? p->values[0].flags : 0;

	for (int i = 0; i < p->n; i++) {
		if (p->values[i].flags >= OBC_VFLAGS_EACH)
			return -EINVAL;
		if (p->values[i].flags != common)
			common = OBC_VFLAGS_EACH;
	}
	return common;
}

static int enc_poll(struct obc_w *w, const struct rec_poll *p)
{
	int vflags;

	if (p->n > REC_MAX_VALUES)
		return -EINVAL;
	vflags = poll_vflags(p);
	if (vflags < 0)
		return vflags;
	w_str(w, p->outlet, sizeof(p->outlet));
	w_str(w, p->sensor, sizeof(p->sensor));
	w_u8(w, p->n);
	w_u8(w, (uint8_t)vflags);
	for (int i = 0; i < p->n; i++) {
		const struct rec_value *v = &p->values[i];
		uint64_t dec = 0;
		enum obc_enc enc;

		if (v->param >= 16 || v->quality >= 4)
			return -EINVAL;
		enc = dbl_pick(v->v, &dec);
		w_u8(w, (uint8_t)(enc << 6 | v->quality << 4 | v->param));
		if (vflags == OBC_VFLAGS_EACH)
			w_u8(w, v->flags);
		w_dbl_body(w, enc, v->v, dec);
	}
	return 0;
}

static int enc_alert(struct obc_w *w, const struct rec_alert *a)
{
	if (a->n_params > REC_MAX_VALUES)
		return -EINVAL;
	w_u8(w, a->state);
	w_u8(w, a->kind);
	w_u8(w, a->param);
	w_u8(w, a->basis);
	w_u8(w, a->sensor_health);
	w_varint(w, zz_enc(a->window_min));
	w_str(w, a->id, sizeof(a->id));
	w_str(w, a->outlet, sizeof(a->outlet));
	w_str(w, a->sensor, sizeof(a->sensor));
	w_str(w, a->permit, sizeof(a->permit));
	w_str(w, a->holder, sizeof(a->holder));
	w_dbl(w, a->limit);
	w_dbl(w, a->value);
	w_dbl(w, a->peak);
	w_varint(w, zz_enc(a->since_ms));
	w_varint(w, zz_enc(a->until_ms));
	/* version 2: the evidence of DESIGN §5 */
	w_u8(w, a->value_flags);
	w_u8(w, a->reason);
	w_u8(w, a->unhealthy);
	w_u8(w, a->cause);
	w_u8(w, a->n_params);
	w_bytes(w, a->params, a->n_params);
	w_varint(w, zz_enc(a->polls_missed));
	w_varint(w, zz_enc(a->last_answer_ms));
	w_varint(w, zz_enc(a->gap_s));
	w_dbl(w, a->coverage_pct);
	w_varint(w, zz_enc(a->days_left));
	w_str(w, a->note, sizeof(a->note));
	return 0;
}

static int enc_metrics(struct obc_w *w, const struct rec_metrics *m)
{
	if (m->n_sinks > REC_MAX_SINKS)
		return -EINVAL;
	w_varint(w, m->polls);
	w_varint(w, m->errors);
	w_varint(w, m->timeouts);
	w_varint(w, m->crc_errors);
	w_varint(w, m->exceptions);
	w_varint(w, m->outbox_corrupt);
	w_varint(w, m->outbox_io_errors);
	w_u8(w, m->n_sinks);
	for (int i = 0; i < m->n_sinks; i++) {
		const struct rec_sink_metrics *k = &m->sinks[i];

		w_str(w, k->name, sizeof(k->name));
		w_varint(w, k->queue_depth);
		w_varint(w, zz_enc(k->oldest_unsent_s));
		w_varint(w, k->sent);
		w_varint(w, k->retried);
		w_varint(w, k->dropped);
		w_varint(w, k->quarantined);
	}
	/* an optional tail: records without it read as 0. A record cut just
	 * before it decodes; the frame's length and CRC are what catch that. */
	if (m->late)
		w_varint(w, m->late);
	return 0;
}

/* The four statistics share one byte of encodings: most are short
 * decimals, and a tag byte each would be a quarter of their size. */
static void enc_agg_param(struct obc_w *w, const struct rec_agg_param *p)
{
	const double v[4] = { p->avg, p->min, p->max, p->cou };
	uint64_t dec[4] = { 0, 0, 0, 0 };
	enum obc_enc enc[4];
	uint8_t encs = 0;

	for (int i = 0; i < 4; i++) {
		enc[i] = dbl_pick(v[i], &dec[i]);
		encs |= (uint8_t)(enc[i] << (2 * i));
	}
	w_u8(w, p->param);
	w_u8(w, encs);
	w_varint(w, p->count);
	for (int i = 0; i < 4; i++)
		w_dbl_body(w, enc[i], v[i], dec[i]);
}

/* end_ms is stored as its distance from ts_ms (the period start), with
 * unsigned wrap-around so that every pair of values round-trips. */
static int enc_aggregate(struct obc_w *w, int64_t ts_ms, const struct rec_aggregate *a)
{
	if (a->n > REC_MAX_VALUES)
		return -EINVAL;
	for (int i = 0; i < a->n; i++)
		if (a->params[i].param >= 16)
			return -EINVAL;
	w_str(w, a->outlet, sizeof(a->outlet));
	w_u8(w, a->period);
	w_u8(w, a->n);
	w_varint(w, zz_enc((int64_t)((uint64_t)a->end_ms - (uint64_t)ts_ms)));
	for (int i = 0; i < a->n; i++)
		enc_agg_param(w, &a->params[i]);
	return 0;
}

/* ---- maintenance events (REC_MAINT) ---- */

static void enc_maint(struct obc_w *w, const struct rec_maint *m)
{
	w_u8(w, m->event);
	w_u8(w, m->mode);
	w_u8(w, m->ended_by);
	w_str(w, m->outlet, sizeof(m->outlet));
	w_str(w, m->sensor, sizeof(m->sensor));
	w_varint(w, zz_enc(m->since_ms));
	w_varint(w, zz_enc(m->planned_end_ms));
	w_varint(w, zz_enc(m->until_ms));
	w_str(w, m->note, sizeof(m->note));
}

/* ---- reload events (REC_RELOAD) ---- */

static int enc_reload(struct obc_w *w, const struct rec_reload *l)
{
	if (l->outcome >= RLD_COUNT)
		return -EINVAL;
	w_u8(w, l->outcome);
	w_varint(w, l->changes);
	w_str(w, l->summary, sizeof(l->summary));
	return 0;
}

static int enc_body(struct obc_w *w, const struct record *r)
{
	switch (r->type) {
	case REC_POLL:
		return enc_poll(w, &r->u.poll);
	case REC_ALERT:
		return enc_alert(w, &r->u.alert);
	case REC_METRICS:
		return enc_metrics(w, &r->u.metrics);
	case REC_AGGREGATE:
		return enc_aggregate(w, r->ts_ms, &r->u.aggregate);
	case REC_MAINT:
		enc_maint(w, &r->u.maint);
		return 0;
	case REC_RELOAD:
		return enc_reload(w, &r->u.reload);
	default:
		return -EINVAL;
	}
}

int outbox_codec_encode(const struct record *r, uint8_t *buf, size_t cap)
{
	struct obc_w w = { .buf = buf, .cap = cap };
	int rc;

	if (r->type > REC_RELOAD)
		return -EINVAL;
	/* bit 3 of the head carries the one record flag there is */
	w_u8(&w, (uint8_t)(OBC_VERSION << 4 | (r->flags & REC_F_CLOCK_UNSYNCED ? 8 : 0) | r->type));
	w_varint(&w, zz_enc(r->ts_ms));
	rc = enc_body(&w, r);
	if (rc < 0)
		return rc;
	if (w.full)
		return -ENOSPC;
	return (int)w.len;
}

/* ---- decoding ---- */

static bool r_u8(struct obc_r *r, uint8_t *v)
{
	if (r->len - r->off < 1)
		return false;
	*v = r->p[r->off++];
	return true;
}

/* Minimal LEB128 only: an overlong or 65-bit encoding is malformed. */
static bool r_varint(struct obc_r *r, uint64_t *v)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < OBC_VARINT_MAX && r->off + i < r->len; i++) {
		uint8_t b = r->p[r->off + i];

		if (i == OBC_VARINT_MAX - 1 && b > 1)
			return false;
		acc |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b & 0x80)
			continue;
		if (i > 0 && b == 0)
			return false;
		r->off += i + 1;
		*v = acc;
		return true;
	}
	return false;
}

static bool r_svarint(struct obc_r *r, int64_t *v)
{
	uint64_t u;

	if (!r_varint(r, &u))
		return false;
	*v = zz_dec(u);
	return true;
}

static bool r_le(struct obc_r *r, size_t n, uint64_t *v)
{
	uint64_t acc = 0;

	if (r->len - r->off < n)
		return false;
	for (size_t i = 0; i < n; i++)
		acc |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	*v = acc;
	return true;
}

/* dst holds size bytes and is zeroed by the caller. */
static bool r_str(struct obc_r *r, char *dst, size_t size)
{
	struct obc_r t = *r;
	uint64_t n;

	if (!r_varint(&t, &n) || n > size || t.len - t.off < n)
		return false;
	if (memchr(t.p + t.off, 0, (size_t)n))
		return false; /* the encoder never writes one: not ours */
	memcpy(dst, t.p + t.off, (size_t)n);
	t.off += (size_t)n;
	*r = t;
	return true;
}

static bool r_dbl_body(struct obc_r *r, unsigned enc, double *v)
{
	uint64_t u;
	int64_t m;
	float f;
	uint32_t fb;

	switch (enc) {
	case ENC_F64:
		if (!r_le(r, 8, &u))
			return false;
		memcpy(v, &u, sizeof(*v));
		return true;
	case ENC_F32:
		if (!r_le(r, 4, &u))
			return false;
		fb = (uint32_t)u;
		memcpy(&f, &fb, sizeof(f));
		*v = f;
		return true;
	case ENC_DEC:
		if (!r_varint(r, &u))
			return false;
		m = zz_dec(u >> 3);
		if (m < -(int64_t)OBC_EXACT_INT || m > (int64_t)OBC_EXACT_INT)
			return false;
		*v = (double)m / obc_p10[u & 7];
		return true;
	default:
		u = OBC_QNAN_BITS;
		memcpy(v, &u, sizeof(*v));
		return true;
	}
}

static bool r_dbl(struct obc_r *r, double *v)
{
	struct obc_r t = *r;
	uint8_t tag;

	if (!r_u8(&t, &tag) || (tag & 0x3f) || !r_dbl_body(&t, tag >> 6, v))
		return false;
	*r = t;
	return true;
}

/* A flags byte of its own (vflags OBC_VFLAGS_EACH), or the shared one. */
static bool r_vflags(struct obc_r *r, uint8_t vflags, uint8_t *flags)
{
	if (vflags != OBC_VFLAGS_EACH) {
		*flags = vflags;
		return true;
	}
	return r_u8(r, flags) && *flags < OBC_VFLAGS_EACH;
}

static bool dec_poll(struct obc_r *r, struct rec_poll *p)
{
	uint8_t vflags = 0;

	if (!r_str(r, p->outlet, sizeof(p->outlet)) || !r_str(r, p->sensor, sizeof(p->sensor)) ||
	    !r_u8(r, &p->n) || p->n > REC_MAX_VALUES)
		return false;
	if (r->version > OBC_VERSION_V1 &&
	    (!r_u8(r, &vflags) || vflags > OBC_VFLAGS_EACH))
		return false;
	for (int i = 0; i < p->n; i++) {
		struct rec_value *v = &p->values[i];
		uint8_t tag;

		if (!r_u8(r, &tag) || !r_vflags(r, vflags, &v->flags) ||
		    !r_dbl_body(r, tag >> 6, &v->v))
			return false;
		v->quality = (tag >> 4) & 3;
		v->param = tag & 15;
	}
	return true;
}

/* An int32 field stored as a zigzag varint. */
static bool r_si32(struct obc_r *r, int32_t *v)
{
	struct obc_r t = *r;
	int64_t x;

	if (!r_svarint(&t, &x) || x < INT32_MIN || x > INT32_MAX)
		return false;
	*v = (int32_t)x;
	*r = t;
	return true;
}

/* The version 2 tail of an alert: its evidence (codec.h). */
static bool dec_alert_evidence(struct obc_r *r, struct rec_alert *a)
{
	if (!r_u8(r, &a->value_flags) || !r_u8(r, &a->reason) || !r_u8(r, &a->unhealthy) ||
	    !r_u8(r, &a->cause) || !r_u8(r, &a->n_params) || a->n_params > REC_MAX_VALUES)
		return false;
	for (int i = 0; i < a->n_params; i++)
		if (!r_u8(r, &a->params[i]))
			return false;
	return r_si32(r, &a->polls_missed) && r_svarint(r, &a->last_answer_ms) &&
	       r_si32(r, &a->gap_s) && r_dbl(r, &a->coverage_pct) &&
	       r_si32(r, &a->days_left) && r_str(r, a->note, sizeof(a->note));
}

static bool dec_alert(struct obc_r *r, struct rec_alert *a)
{
	int64_t win;

	if (!r_u8(r, &a->state) || !r_u8(r, &a->kind) || !r_u8(r, &a->param) ||
	    !r_u8(r, &a->basis) || !r_u8(r, &a->sensor_health) || !r_svarint(r, &win) ||
	    win < INT32_MIN || win > INT32_MAX)
		return false;
	a->window_min = (int32_t)win;
	if (!r_str(r, a->id, sizeof(a->id)) || !r_str(r, a->outlet, sizeof(a->outlet)) ||
	    !r_str(r, a->sensor, sizeof(a->sensor)) || !r_str(r, a->permit, sizeof(a->permit)) ||
	    !r_str(r, a->holder, sizeof(a->holder)) || !r_dbl(r, &a->limit) ||
	    !r_dbl(r, &a->value) || !r_dbl(r, &a->peak) || !r_svarint(r, &a->since_ms) ||
	    !r_svarint(r, &a->until_ms))
		return false;
	return r->version == OBC_VERSION_V1 || dec_alert_evidence(r, a);
}

static bool dec_sink_metrics(struct obc_r *r, struct rec_sink_metrics *k)
{
	return r_str(r, k->name, sizeof(k->name)) && r_varint(r, &k->queue_depth) &&
	       r_svarint(r, &k->oldest_unsent_s) && r_varint(r, &k->sent) &&
	       r_varint(r, &k->retried) && r_varint(r, &k->dropped) &&
	       r_varint(r, &k->quarantined);
}

static bool dec_metrics(struct obc_r *r, struct rec_metrics *m)
{
	if (!r_varint(r, &m->polls) || !r_varint(r, &m->errors) || !r_varint(r, &m->timeouts) ||
	    !r_varint(r, &m->crc_errors) || !r_varint(r, &m->exceptions) ||
	    !r_varint(r, &m->outbox_corrupt) || !r_varint(r, &m->outbox_io_errors) ||
	    !r_u8(r, &m->n_sinks) || m->n_sinks > REC_MAX_SINKS)
		return false;
	for (int i = 0; i < m->n_sinks; i++)
		if (!dec_sink_metrics(r, &m->sinks[i]))
			return false;
	m->late = 0;
	return r->off == r->len || (r_varint(r, &m->late) && m->late > 0);
}

static bool dec_agg_param(struct obc_r *r, struct rec_agg_param *p)
{
	double *v[4] = { &p->avg, &p->min, &p->max, &p->cou };
	uint8_t encs;
	uint64_t count;

	if (!r_u8(r, &p->param) || p->param >= 16 || !r_u8(r, &encs) ||
	    !r_varint(r, &count) || count > UINT32_MAX)
		return false;
	p->count = (uint32_t)count;
	for (int i = 0; i < 4; i++)
		if (!r_dbl_body(r, (encs >> (2 * i)) & 3, v[i]))
			return false;
	return true;
}

static bool dec_aggregate(struct obc_r *r, int64_t ts_ms, struct rec_aggregate *a)
{
	int64_t span;

	if (!r_str(r, a->outlet, sizeof(a->outlet)) || !r_u8(r, &a->period) ||
	    !r_u8(r, &a->n) || a->n > REC_MAX_VALUES || !r_svarint(r, &span))
		return false;
	a->end_ms = (int64_t)((uint64_t)ts_ms + (uint64_t)span);
	for (int i = 0; i < a->n; i++)
		if (!dec_agg_param(r, &a->params[i]))
			return false;
	return true;
}

static bool dec_maint(struct obc_r *r, struct rec_maint *m)
{
	return r_u8(r, &m->event) && r_u8(r, &m->mode) && r_u8(r, &m->ended_by) &&
	       r_str(r, m->outlet, sizeof(m->outlet)) && r_str(r, m->sensor, sizeof(m->sensor)) &&
	       r_svarint(r, &m->since_ms) && r_svarint(r, &m->planned_end_ms) &&
	       r_svarint(r, &m->until_ms) && r_str(r, m->note, sizeof(m->note));
}

static bool dec_reload(struct obc_r *r, struct rec_reload *l)
{
	uint64_t changes;

	if (!r_u8(r, &l->outcome) || l->outcome >= RLD_COUNT || !r_varint(r, &changes) ||
	    changes > UINT16_MAX)
		return false;
	l->changes = (uint16_t)changes;
	return r_str(r, l->summary, sizeof(l->summary));
}

static bool dec_body(struct obc_r *r, struct record *rec)
{
	switch (rec->type) {
	case REC_POLL:
		return dec_poll(r, &rec->u.poll);
	case REC_ALERT:
		return dec_alert(r, &rec->u.alert);
	case REC_METRICS:
		return dec_metrics(r, &rec->u.metrics);
	case REC_MAINT:
		return dec_maint(r, &rec->u.maint);
	case REC_RELOAD:
		return dec_reload(r, &rec->u.reload);
	default:
		return dec_aggregate(r, rec->ts_ms, &rec->u.aggregate);
	}
}

/* The common head: version, clock flag and type byte, then timestamp.
 * Version 1 knew the first four record types only. */
static bool dec_head(struct obc_r *r, uint8_t *type, uint8_t *flags, int64_t *ts_ms)
{
	uint8_t b;

	if (!r_u8(r, &b))
		return false;
	r->version = b >> 4;
	if (r->version == OBC_VERSION_V1 ? (b & 7) > REC_AGGREGATE
	    : r->version != OBC_VERSION || (b & 7) > REC_RELOAD)
		return false;
	*type = b & 7;
	*flags = b & 8 ? REC_F_CLOCK_UNSYNCED : 0;
	return r_svarint(r, ts_ms);
}

int outbox_codec_decode(const uint8_t *buf, size_t len, struct record *out)
{
	struct obc_r r = { .p = buf, .len = len };
	struct record tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (!dec_head(&r, &tmp.type, &tmp.flags, &tmp.ts_ms))
		return -EBADMSG;
	if (!dec_body(&r, &tmp) || r.off != len)
		return -EBADMSG;
	*out = tmp;
	return 0;
}

int outbox_codec_peek(const uint8_t *buf, size_t len, uint8_t *type, int64_t *ts_ms)
{
	struct obc_r r = { .p = buf, .len = len };
	uint8_t t, flags;
	int64_t ts;

	if (!dec_head(&r, &t, &flags, &ts))
		return -EBADMSG;
	*type = t;
	*ts_ms = ts;
	return 0;
}
