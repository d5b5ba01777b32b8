/*
 * hj212.c - HJ 212-2017 packets out (see hj212.h): the Annex A CRC,
 * framing, data segments, CP data areas for real-time and period records,
 * and splitting a record over several packets. hj212_parse.c reads what
 * platforms send. Pure: no I/O, no allocation, no clock, no locale-dependent
 * output.
 */
#include "hj212.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- Annex A -------------------------------------------------------------- */

uint16_t hj212_crc(const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned reg = 0xFFFF;

	for (size_t i = 0; i < len; i++) {
		reg = (reg >> 8) ^ p[i];
		for (int j = 0; j < 8; j++)
			reg = (reg & 1) ? (reg >> 1) ^ 0xA001 : reg >> 1;
	}
	return (uint16_t)reg;
}

/* ---- a bounded text cursor ------------------------------------------------- */

struct cur {
	char *p;
	size_t cap;
	size_t len;
	int err; /* first error, sticky */
};

static void put(struct cur *c, const char *s, size_t n)
{
	if (c->err)
		return;
	if (n >= c->cap - c->len) {
		c->err = -ENOSPC;
		return;
	}
	memcpy(c->p + c->len, s, n);
	c->len += n;
	c->p[c->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void putf(struct cur *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->p + c->len, c->cap - c->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= c->cap - c->len) {
		c->err = -ENOSPC;
		c->p[c->len] = '\0';
		return;
	}
	c->len += (size_t)n;
}

static int cur_init(struct cur *c, char *out, size_t cap)
{
	if (!out || cap == 0)
		return -EINVAL;
	*c = (struct cur){ .p = out, .cap = cap };
	out[0] = '\0';
	return 0;
}

/* ---- time ------------------------------------------------------------------ */

/* Civil date of days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Writes YYYYMMDDhhmmss and, with want_ms, zzz. */
static int stamp(char *out, size_t cap, int64_t ms, int32_t offset_min,
		 bool want_ms)
{
	/* +-300 000 years of ms keep every product below in range */
	if (ms < -9000000000000000LL || ms > 9000000000000000LL ||
	    offset_min < -1440 || offset_min > 1440)
		return -EINVAL;
	int64_t t = ms + (int64_t)offset_min * 60000;
	int64_t msec = t % 1000;
	int64_t s = t / 1000;
	if (msec < 0) {
		msec += 1000;
		s--;
	}
	int64_t days = s / 86400, sod = s % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	int mo, d;
	civil(days, &y, &mo, &d);
	if (y < 1 || y > 9999)
		return -EINVAL;
	int n = want_ms
		? snprintf(out, cap, "%04d%02d%02d%02d%02d%02d%03d", (int)y, mo, d,
			   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
			   (int)msec)
		: snprintf(out, cap, "%04d%02d%02d%02d%02d%02d", (int)y, mo, d,
			   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int hj212_qn(char out[HJ212_QN_LEN + 1], int64_t ms, int32_t offset_min)
{
	return out ? stamp(out, HJ212_QN_LEN + 1, ms, offset_min, true) : -EINVAL;
}

int hj212_time14(char out[15], int64_t ms, int32_t offset_min)
{
	return out ? stamp(out, 15, ms, offset_min, false) : -EINVAL;
}

/* ---- packets ------------------------------------------------------------- */

static const char hexu[] = "0123456789ABCDEF";

int hj212_frame(char *out, size_t cap, const char *seg, size_t seg_len)
{
	if (!out || (!seg && seg_len))
		return -EINVAL;
	if (seg_len > HJ212_SEG_MAX)
		return -EMSGSIZE;
	if (cap < seg_len + HJ212_FRAME_OVERHEAD + 1)
		return -ENOSPC;
	uint16_t crc = hj212_crc(seg, seg_len);
	char *p = out;
	*p++ = '#';
	*p++ = '#';
	*p++ = (char)('0' + seg_len / 1000);
	*p++ = (char)('0' + seg_len / 100 % 10);
	*p++ = (char)('0' + seg_len / 10 % 10);
	*p++ = (char)('0' + seg_len % 10);
	if (seg_len)
		memmove(p, seg, seg_len); /* seg may already sit in out */
	p += seg_len;
	*p++ = hexu[crc >> 12];
	*p++ = hexu[(crc >> 8) & 15];
	*p++ = hexu[(crc >> 4) & 15];
	*p++ = hexu[crc & 15];
	*p++ = '\r';
	*p++ = '\n';
	*p = '\0';
	return (int)(p - out);
}

int hj212_flag(const struct hj212_hdr *h)
{
	if (!h)
		return -EINVAL;
	return h->version << 2 | (h->pnum > 0 ? HJ212_FLAG_D : 0) |
	       (h->ack ? HJ212_FLAG_A : 0);
}

/* A header string the segment can carry: exactly len bytes of what ok
 * accepts. */
static bool field_ok(const char *s, size_t len, bool hex)
{
	if (!s || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (hex ? !((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'))
			: (ch <= 0x20 || ch >= 0x7f || strchr(";,&=", ch)))
			return false;
	}
	return true;
}

static int hdr_check(const struct hj212_hdr *h)
{
	if (!h || h->st < 0 || h->st > 99 || h->cn < 0 || h->cn > 9999 ||
	    h->version < 0 || h->version > 63 || h->pnum < 0 ||
	    h->pnum > 9999 || (h->pnum && (h->pno < 1 || h->pno > h->pnum)) ||
	    !field_ok(h->pw, HJ212_PW_LEN, false) ||
	    !field_ok(h->mn, HJ212_MN_LEN, true))
		return -EINVAL;
	return 0;
}

int hj212_segment(char *out, size_t cap, const struct hj212_hdr *h,
		  const char *data, size_t data_len)
{
	struct cur c;
	char qn[HJ212_QN_LEN + 1];
	int r;

	if ((r = cur_init(&c, out, cap)) < 0 || (r = hdr_check(h)) < 0)
		return r;
	if (!data && data_len)
		return -EINVAL;
	for (size_t i = 0; i < data_len; i++)
		if ((unsigned char)data[i] < 0x20 || data[i] == 0x7f)
			return -EINVAL;
	if (data_len + 7 > HJ212_CP_MAX)
		return -EMSGSIZE;
	if ((r = hj212_qn(qn, h->qn_ms, h->utc_offset_min)) < 0)
		return r;
	putf(&c, "QN=%s;ST=%d;CN=%d;PW=%s;MN=%s;Flag=%d;", qn, h->st, h->cn,
	     h->pw, h->mn, hj212_flag(h));
	if (h->pnum)
		putf(&c, "PNUM=%d;PNO=%d;", h->pnum, h->pno);
	put(&c, "CP=&&", 5);
	put(&c, data, data_len);
	put(&c, "&&", 2);
	if (c.err)
		return c.len + data_len + 7 > HJ212_SEG_MAX ? -EMSGSIZE : c.err;
	return c.len > HJ212_SEG_MAX ? -EMSGSIZE : (int)c.len;
}

/* Frames seg into out at *off, recording its length. */
static int emit(char *out, size_t cap, size_t *off, const char *seg,
		size_t seg_len, size_t *frame_len, size_t max_frames,
		size_t *n)
{
	if (*n >= max_frames)
		return -EMSGSIZE;
	int r = hj212_frame(out + *off, cap - *off, seg, seg_len);
	if (r < 0)
		return r;
	frame_len[(*n)++] = (size_t)r;
	*off += (size_t)r;
	return 0;
}

/* Longest item run from *pos that fits budget after the first item; returns
 * its end. */
static size_t part_end(const char *data, size_t len, size_t pos, size_t first,
		       size_t budget)
{
	size_t used = first, end = pos;

	while (end < len) {
		const char *semi = memchr(data + end + 1, ';', len - end - 1);
		size_t next = semi ? (size_t)(semi - data) : len;
		if (used + (next - end) > budget)
			break;
		used += next - end;
		end = next;
	}
	return end;
}

int hj212_packets(char *out, size_t cap, const struct hj212_hdr *h,
		  const char *data, size_t data_len,
		  size_t *frame_len, size_t max_frames, size_t *n_frames)
{
	char seg[HJ212_SEG_MAX + 1];
	struct hj212_hdr ph;
	size_t off = 0, n = 0;
	int r;

	if (!out || !h || !frame_len || !n_frames || (!data && data_len))
		return -EINVAL;
	*n_frames = 0;
	ph = *h;
	ph.pnum = ph.pno = 0;
	r = hj212_segment(seg, sizeof(seg), &ph, data, data_len);
	if (r >= 0) {
		r = emit(out, cap, &off, seg, (size_t)r, frame_len, max_frames, &n);
		*n_frames = n;
		return r;
	}
	if (r != -EMSGSIZE && r != -ENOSPC)
		return r;

	/* Room for the data area with the longest PNUM/PNO header. */
	ph.pnum = ph.pno = 9999;
	r = hj212_segment(seg, sizeof(seg), &ph, "", 0);
	if (r < 0)
		return r;
	size_t budget = HJ212_SEG_MAX - (size_t)r;
	if (budget > HJ212_CP_MAX - 7)
		budget = HJ212_CP_MAX - 7;

	const char *semi = memchr(data, ';', data_len);
	size_t first = semi ? (size_t)(semi - data) : data_len;
	size_t parts = 0, pos = first;
	while (pos < data_len) {
		size_t end = part_end(data, data_len, pos, first, budget);
		if (end == pos)
			return -EMSGSIZE; /* one item alone is too long */
		parts++;
		pos = end;
	}
	if (parts == 0 || parts > max_frames || parts > 9999)
		return -EMSGSIZE;

	pos = first;
	for (size_t i = 0; i < parts; i++) {
		char area[HJ212_SEG_MAX];
		size_t end = part_end(data, data_len, pos, first, budget);
		memcpy(area, data, first);
		memcpy(area + first, data + pos, end - pos);
		ph.pnum = (int)parts;
		ph.pno = (int)i + 1;
		ph.qn_ms = h->qn_ms + (int64_t)i;
		r = hj212_segment(seg, sizeof(seg), &ph, area, first + end - pos);
		if (r < 0)
			return r;
		r = emit(out, cap, &off, seg, (size_t)r, frame_len, max_frames, &n);
		if (r < 0)
			return r;
		pos = end;
	}
	*n_frames = n;
	return 0;
}

/* ---- CP data areas ------------------------------------------------------------ */

const char *hj212_code(const struct hj212_fmt *fmt, int p)
{
	if (p < 0 || p >= P_COUNT)
		return NULL;
	if (fmt && fmt->local_code[p] && fmt->local_code[p][0])
		return fmt->local_code[p];
	return param_hj212(p);
}

/* Decimals of the Annex B data type (table B.1) of the codes outfall
 * knows; local codes get 3. */
static int annex_b_decimals(const char *code)
{
	static const struct { const char *code; int dec; } t[] = {
		{ "w00000", 2 }, { "w01001", 2 }, { "w01010", 1 },
		{ "w01012", 0 }, { "w01014", 1 }, { "w01017", 1 },
		{ "w01018", 1 }, { "w01020", 1 }, { "w19002", 2 },
		{ "w21001", 2 }, { "w21003", 2 }, { "w21011", 2 },
		{ "w22001", 2 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].code, code) == 0)
			return t[i].dec;
	return 3;
}

/* Puts v with dec decimals: '.' always, never "-0.0", never an exponent. */
static void put_num(struct cur *c, double v, int dec)
{
	char b[64];
	int n;

	if (!isfinite(v) || fabs(v) >= 1e15) {
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	n = snprintf(b, sizeof(b), "%.*f", dec, v);
	if (n < 0 || (size_t)n >= sizeof(b)) {
		c->err = c->err ? c->err : -EINVAL;
		return;
	}
	for (int i = 0; i < n; i++)
		if (b[i] == ',')
			b[i] = '.'; /* a locale with a decimal comma */
	const char *s = b;
	if (b[0] == '-' && strspn(b + 1, "0.") == (size_t)(n - 1))
		s++, n--;
	put(c, s, (size_t)n);
}

static bool flag_ok(char f)
{
	return (f >= 'A' && f <= 'Z') || (f >= '0' && f <= '9');
}

static int decimals_for(const struct hj212_fmt *fmt, const char *code)
{
	return fmt->decimals >= 0 ? fmt->decimals : annex_b_decimals(code);
}

char hj212_data_flag(const struct rec_value *rv, bool above_range)
{
	if (!rv)
		return 'D';
	if (rv->flags & RV_MAINTENANCE)
		return 'M';
	if (rv->flags & RV_CALIBRATION)
		return 'C';
	switch (rv->quality) {
	case Q_OK:
		return 'N';
	case Q_NO_RESPONSE:
		return 'B';
	case Q_OUT_OF_RANGE:
		return above_range ? 'T' : 'D';
	default:
		return 'D';
	}
}

static int begin_area(struct cur *c, char *out, size_t cap,
		      const struct hj212_fmt *fmt, int64_t ms)
{
	char t[15];
	int r;

	if (!fmt || fmt->decimals > 6 || (r = cur_init(c, out, cap)) < 0)
		return -EINVAL;
	if ((r = hj212_time14(t, ms, fmt->utc_offset_min)) < 0)
		return r;
	putf(c, "DataTime=%s", t);
	return 0;
}

int hj212_cp_rtd(char *out, size_t cap, const struct hj212_fmt *fmt,
		 int64_t time_ms, const struct hj212_rtd *v, size_t n,
		 unsigned *skipped)
{
	struct cur c;
	unsigned skip = 0;
	int r;

	if (!v && n)
		return -EINVAL;
	if ((r = begin_area(&c, out, cap, fmt, time_ms)) < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int p = v[i].param;
		const char *code = hj212_code(fmt, p);
		if (p == P_VOLUME_TOTAL)
			continue;
		if (!code) {
			skip++;
			continue;
		}
		if (!flag_ok(v[i].flag))
			return -EINVAL;
		if (isfinite(v[i].v)) {
			double x = p == P_FLOW ? v[i].v / 3.6 : v[i].v;
			putf(&c, ";%s-Rtd=", code);
			put_num(&c, x, decimals_for(fmt, code));
			putf(&c, ",%s-Flag=%c", code, v[i].flag);
		} else {
			putf(&c, ";%s-Flag=%c", code, v[i].flag);
		}
	}
	if (c.err)
		return c.err;
	if (skipped)
		*skipped = skip;
	return (int)c.len;
}

/* Annex B gives a Cou (period amount) to flow and the pollutants measured
 * as concentrations; not to pH, temperature, conductivity, turbidity. */
static bool has_cou(int p)
{
	return p == P_FLOW || strcmp(param_unit(p), "mg/L") == 0;
}

static const struct rec_agg_param *agg_find(const struct rec_aggregate *a,
					    size_t n, int p)
{
	for (size_t i = 0; i < n; i++)
		if (a->params[i].param == p)
			return &a->params[i];
	return NULL;
}

/* One period item; cou NaN: none. */
static void put_period_item(struct cur *c, const char *code, int dec, int cou_dec,
			    const struct rec_agg_param *ap, double scale,
			    double cou, char flag)
{
	put(c, ";", 1);
	if (ap && ap->count > 0) {
		static const char *const nm[] = { "Min", "Avg", "Max" };
		double x[] = { ap->min, ap->avg, ap->max };
		if (isfinite(cou)) {
			putf(c, "%s-Cou=", code);
			put_num(c, cou, cou_dec);
			put(c, ",", 1);
		}
		for (int k = 0; k < 3; k++) {
			if (!isfinite(x[k]))
				continue;
			putf(c, "%s-%s=", code, nm[k]);
			put_num(c, x[k] / scale, dec);
			put(c, ",", 1);
		}
	} else if (isfinite(cou)) {
		putf(c, "%s-Cou=", code);
		put_num(c, cou, cou_dec);
		put(c, ",", 1);
	}
	putf(c, "%s-Flag=%c", code, flag);
}

int hj212_cp_period(char *out, size_t cap, const struct hj212_fmt *fmt,
		    int64_t start_ms, const struct rec_aggregate *a,
		    const char *flags, unsigned *skipped)
{
	struct cur c;
	unsigned skip = 0;
	int r;

	if (!a)
		return -EINVAL;
	if ((r = begin_area(&c, out, cap, fmt, start_ms)) < 0)
		return r;
	size_t n = a->n <= REC_MAX_VALUES ? a->n : REC_MAX_VALUES;
	const struct rec_agg_param *vol = agg_find(a, n, P_VOLUME_TOTAL);
	bool flow = agg_find(a, n, P_FLOW) != NULL;

	for (size_t i = 0; i < n; i++) {
		const struct rec_agg_param *ap = &a->params[i];
		int p = ap->param;
		char f = flags ? flags[i] : (ap->count ? 'N' : 'D');
		double cou = has_cou(p) || p == P_VOLUME_TOTAL ? ap->cou : NAN;

		/* volume_total is w00000's Cou: it stands in for a flow
		 * channel's amount when that has none, and for the flow item
		 * itself when the outlet has only a counter. */
		if (p == P_VOLUME_TOTAL && flow)
			continue;
		if (p == P_FLOW && !isfinite(cou) && vol)
			cou = vol->cou;
		const char *code = hj212_code(fmt, p == P_VOLUME_TOTAL ? P_FLOW : p);
		if (!code) {
			skip++;
			continue;
		}
		if (!flag_ok(f))
			return -EINVAL;
		int dec = decimals_for(fmt, code);

		/* Annex B types a factor's value; a minute's load of a few
		 * grams must not round to 0 kg: its Cou keeps 3 decimals */
		put_period_item(&c, code, dec, fmt->decimals >= 0 || dec >= 3 ? dec : 3,
				p == P_VOLUME_TOTAL ? NULL : ap,
				p == P_FLOW ? 3.6 : 1.0, cou, f);
	}
	if (c.err)
		return c.err;
	if (skipped)
		*skipped = skip;
	return (int)c.len;
}

int hj212_cn_for_period(int agg_period)
{
	switch (agg_period) {
	case AGG_MINUTE:
		return 2051;
	case AGG_HOUR:
		return 2061;
	case AGG_DAY:
		return 2031;
	default:
		return -EINVAL;
	}
}
