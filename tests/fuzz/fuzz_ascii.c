/*
 * fuzz_ascii.c - the ASCII line sensors' framer and parser (drivers/ascii.c)
 * on what a sensor or a noisy line could send.
 *
 * The input opens with a sensor: format (kv or csv), terminator, field and
 * key separators, max_line and up to 16 channels (keys or field positions,
 * scale, offset, range). Then one of two modes:
 *  stream  the rest is the bytes a tty hands over, fed to the framer in
 *          pieces of sizes drawn from the input. The lines (and overlong
 *          drops) it gives out must be exactly those of a plain reference
 *          (split at the terminator, CR LF handling, blank lines passed
 *          over, longer than max_line dropped), whatever the pieces. Each
 *          line is parsed: the result code is one of three, the output is
 *          untouched on failure, a line with a byte outside printable ASCII
 *          and tab is refused, and every value carries its channel's
 *          parameter and a quality that agrees with it (ok: finite and in
 *          range; out of range: finite, outside; invalid: not finite).
 *  values  the rest gives numbers; the harness writes the line a sensor
 *          would send for them (with extra blanks, foreign keys and
 *          unused fields) and the parser must give back exactly
 *          number * scale + offset for every channel, judged as above.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/param.h"
#include "drivers/ascii.h"

#define STREAM_MAX 16384

static const char *const keys[] = { "pH", "T", "COD", "NH3N", "flow", "TP", "a", "x_1" };
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct sensor {
	struct cfg_sensor s;
	struct cfg_channel ch[CFG_MAX_CHANNELS];
	char key[CFG_MAX_CHANNELS][CFG_ASCII_KEY_MAX + 1];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static double pick_double(struct fuzz_in *in, const double *set, unsigned n)
{
	return set[fuzz_pick(in, n)];
}

static void make_sensor(struct fuzz_in *in, struct sensor *x)
{
	static const char seps[] = { ',', ' ', '\t', ';', '|' };
	static const double scales[] = { 1.0, 0.1, 10.0, -1.0, 0.5, 1e308, 0.0 };
	static const double offsets[] = { 0.0, 1.0, -273.15, 1e308 };
	uint8_t b = fuzz_u8(in);

	memset(x, 0, sizeof(*x));
	x->s.ascii.format = b & 1 ? ASCII_CSV : ASCII_KV;
	x->s.ascii.terminator = (enum ascii_term)((b >> 1) % 3);
	x->s.ascii.separator = seps[(b >> 3) % 5];
	x->s.ascii.kv_separator = b & 0x40 ? ':' : '=';
	x->s.ascii.max_line = CFG_ASCII_LINE_MIN +
			      (int)fuzz_pick(in, CFG_ASCII_LINE_MAX - CFG_ASCII_LINE_MIN + 1);
	x->s.n_channels = 1 + fuzz_pick(in, CFG_MAX_CHANNELS);
	x->s.channels = x->ch;
	for (size_t i = 0; i < x->s.n_channels; i++) {
		struct cfg_channel *c = &x->ch[i];
		uint8_t f = fuzz_u8(in);

		c->param = (int)(i % P_COUNT);
		c->reg = -1;
		c->scale = pick_double(in, scales, sizeof(scales) / sizeof(scales[0]));
		c->offset = pick_double(in, offsets, sizeof(offsets) / sizeof(offsets[0]));
		c->has_range = f & 0x80;
		c->range_min = f & 0x40 ? -10.0 : 0.0;
		c->range_max = f & 0x20 ? 14.0 : 2000.0;
		if (x->s.ascii.format == ASCII_KV) {
			snprintf(x->key[i], sizeof(x->key[i]), "%s", keys[f % N_KEYS]);
			c->key = x->key[i];
		} else {
			c->field = 1 + f % 8;
		}
	}
}

/* A value as the parser must judge it for channel c. */
static void check_value(const struct cfg_channel *c, const struct rec_value *v, size_t i)
{
	FUZZ_CHECK(v->param == (uint8_t)c->param, "channel %zu parameter %u", i, v->param);
	switch (v->quality) {
	case Q_OK:
		FUZZ_CHECK(isfinite(v->v) && (!c->has_range || (v->v >= c->range_min &&
								v->v <= c->range_max)),
			   "channel %zu ok with %g", i, v->v);
		break;
	case Q_OUT_OF_RANGE:
		FUZZ_CHECK(isfinite(v->v) && c->has_range &&
			   (v->v < c->range_min || v->v > c->range_max),
			   "channel %zu out of range with %g", i, v->v);
		break;
	case Q_INVALID:
		FUZZ_CHECK(!isfinite(v->v), "channel %zu invalid with %g", i, v->v);
		break;
	default:
		FUZZ_CHECK(false, "channel %zu quality %u", i, v->quality);
	}
}

static bool clean(const char *line, size_t len)
{
	bool blank = true;

	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)line[i];

		if ((b < ' ' && b != '\t') || b > '~')
			return false;
		blank = blank && (b == ' ' || b == '\t');
	}
	return !blank;
}

static void check_parse(const struct sensor *x, const char *line, size_t len)
{
	struct rec_value out[CFG_MAX_CHANNELS], probe[CFG_MAX_CHANNELS];
	int rc;

	memset(out, 0xa5, sizeof(out));
	memset(probe, 0xa5, sizeof(probe));
	rc = ascii_parse_line(&x->s, line, len, out);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMSG || rc == -EDOM, "rc %d", rc);
	if (!clean(line, len))
		FUZZ_CHECK(rc == -EBADMSG, "a line with a control byte or only blanks: rc %d", rc);
	if (x->s.ascii.format == ASCII_CSV && clean(line, len))
		FUZZ_CHECK(rc == 0 || rc == -EDOM, "csv line refused: rc %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(memcmp(out, probe, sizeof(out)) == 0, "output changed on rc %d", rc);
		return;
	}
	for (size_t i = 0; i < x->s.n_channels; i++)
		check_value(&x->ch[i], &out[i], i);
	FUZZ_CHECK(memcmp(&out[x->s.n_channels], &probe[x->s.n_channels],
			  (CFG_MAX_CHANNELS - x->s.n_channels) * sizeof(out[0])) == 0,
		   "wrote past n_channels");
}

/* ---- stream mode ---------------------------------------------------------- */

/* What the framer gives out, in order: a line (its bytes) or a drop. */
struct events {
	char buf[STREAM_MAX + 64];
	size_t len;
	size_t n;
};

static void ev_add(struct events *e, int rc, const char *line, size_t len)
{
	size_t room = sizeof(e->buf) - e->len;
	int w = snprintf(e->buf + e->len, room, "%d:%zu:", rc, len);

	FUZZ_CHECK(w > 0 && (size_t)w + len < room, "event log full");
	e->len += (size_t)w;
	memcpy(e->buf + e->len, line, len);
	e->len += len;
	e->n++;
}

/* The reference: lines between terminators, with the CR LF rules. */
static void reference(const struct sensor *x, const char *p, size_t n, struct events *e)
{
	enum ascii_term term = x->s.ascii.terminator;
	char eol = term == TERM_CR ? '\r' : '\n';
	size_t max = (size_t)x->s.ascii.max_line, start = 0;

	for (size_t i = 0; i < n; i++) {
		size_t a = start, b = i;

		if (p[i] != eol)
			continue;
		start = i + 1;
		if (term == TERM_CR)
			while (a < b && p[a] == '\n')
				a++;
		if (term != TERM_CR && b > a && p[b - 1] == '\r')
			b--;
		if (b - a > max)
			ev_add(e, -EMSGSIZE, "", 0);
		else if (b > a)
			ev_add(e, ASCII_LINE, p + a, b - a);
	}
}

static void feed(const struct sensor *x, struct fuzz_in *sizes, const char *p, size_t n,
		 struct events *e)
{
	struct ascii_framer f;
	size_t off = 0;

	ascii_framer_reset(&f);
	while (off < n) {
		size_t piece = sizes ? 1 + fuzz_pick(sizes, 300) : n - off;
		const char *cur = p + off, *end = p + off + (piece < n - off ? piece : n - off);

		while (cur < end) {
			const char *was = cur;
			size_t len = 0;
			int rc = ascii_framer_feed(&f, x->s.ascii.terminator, x->s.ascii.max_line, &cur,
						   end, &len);

			FUZZ_CHECK(cur >= was && cur <= end, "cursor moved outside the piece");
			FUZZ_CHECK(rc == ASCII_MORE || rc == ASCII_LINE || rc == -EMSGSIZE, "rc %d", rc);
			if (rc == ASCII_MORE) {
				FUZZ_CHECK(cur == end, "ASCII_MORE before the end of the piece");
				break;
			}
			FUZZ_CHECK(cur > was, "rc %d without using a byte", rc);
			if (rc == -EMSGSIZE) {
				ev_add(e, rc, "", 0);
				continue;
			}
			FUZZ_CHECK(len >= 1 && len <= (size_t)x->s.ascii.max_line, "line of %zu", len);
			ev_add(e, rc, f.buf, len);
			check_parse(x, f.buf, len);
		}
		off = (size_t)(end - p);
	}
}

static void mode_stream(const struct sensor *x, struct fuzz_in *in)
{
	static struct events want, got_whole, got_pieces;
	const uint8_t *p;
	size_t n = fuzz_take(in, STREAM_MAX, &p);
	struct fuzz_in sizes = *in; /* what follows the stream sizes its pieces */

	want.len = want.n = got_whole.len = got_whole.n = got_pieces.len = got_pieces.n = 0;
	reference(x, (const char *)p, n, &want);
	feed(x, NULL, (const char *)p, n, &got_whole);
	feed(x, &sizes, (const char *)p, n, &got_pieces);
	FUZZ_CHECK(got_whole.n == want.n && got_whole.len == want.len &&
		   memcmp(got_whole.buf, want.buf, want.len) == 0,
		   "framer gave %zu events, the reference %zu", got_whole.n, want.n);
	FUZZ_CHECK(got_pieces.n == want.n && got_pieces.len == want.len &&
		   memcmp(got_pieces.buf, want.buf, want.len) == 0,
		   "in pieces the framer gave %zu events, the reference %zu", got_pieces.n, want.n);
}

/* ---- values mode ---------------------------------------------------------- */

struct line {
	char buf[4096];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	size_t n = strlen(s);

	FUZZ_CHECK(l->len + n < sizeof(l->buf), "line too long");
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Blanks around a field, where a non-blank separator allows them. */
static void pad(struct line *l, const struct sensor *x, struct fuzz_in *in)
{
	char sep = x->s.ascii.separator;

	if (sep != ' ' && sep != '\t' && (fuzz_u8(in) & 3) == 0)
		put(l, fuzz_u8(in) & 1 ? " " : "\t ");
}

/* A number as a sensor prints it: %g variants, at most 47 characters. */
static void number(double v, struct fuzz_in *in, char *out, size_t cap)
{
	static const char *const fmts[] = { "%.17g", "%g", "%.3f", "%+.6e", "%.1f" };
	const char *fmt = fmts[fuzz_pick(in, 5)];

	snprintf(out, cap, fmt, v);
	if (strlen(out) > 47)
		snprintf(out, cap, "%.17g", v);
}

static double draw(struct fuzz_in *in)
{
	uint64_t bits = fuzz_u64(in);
	double v;

	if (bits >> 62 == 0)
		return (double)(int64_t)(bits % 200001) / 100.0 - 1000.0; /* plausible readings */
	memcpy(&v, &bits, sizeof(v));
	return v;
}

static void expect(const struct cfg_channel *c, const char *text, const struct rec_value *got,
		   size_t i)
{
	double raw = strtod(text, NULL);
	double v = raw * c->scale + c->offset;

	check_value(c, got, i);
	if (!isfinite(raw) || !isfinite(v)) {
		FUZZ_CHECK(got->quality == Q_INVALID, "channel %zu: '%s' not invalid", i, text);
		return;
	}
	FUZZ_CHECK(got->v == v || (isnan(got->v) && isnan(v)),
		   "channel %zu: '%s' gave %.17g, not %.17g", i, text, got->v, v);
}

static void mode_values(const struct sensor *x, struct fuzz_in *in)
{
	static struct line l;
	char text[N_KEYS > 8 ? N_KEYS : 8][64]; /* per key, or per csv field 1..8 */
	char sep[2] = { x->s.ascii.separator, '\0' };
	char kvsep[2] = { x->s.ascii.kv_separator, '\0' };
	bool kv = x->s.ascii.format == ASCII_KV;
	struct rec_value out[CFG_MAX_CHANNELS];
	int rc;

	l.len = 0;
	for (size_t k = 0; k < 8; k++) {
		char num[64];

		number(draw(in), in, num, sizeof(num));
		snprintf(text[k], sizeof(text[k]), "%s", num);
		if (k)
			put(&l, sep);
		pad(&l, x, in);
		if (kv && k < N_KEYS) {
			/* a foreign key before some: "Status=OK" must not disturb */
			if (fuzz_u8(in) % 5 == 0) {
				put(&l, "Status");
				put(&l, kvsep);
				put(&l, "OK");
				put(&l, sep);
			}
			put(&l, keys[k]);
			put(&l, kvsep);
		}
		put(&l, text[k]);
		pad(&l, x, in);
	}
	rc = ascii_parse_line(&x->s, l.buf, l.len, out);
	FUZZ_CHECK(rc == 0, "a well-formed line refused: rc %d: %.*s", rc, (int)l.len, l.buf);
	for (size_t i = 0; i < x->s.n_channels; i++) {
		const struct cfg_channel *c = &x->ch[i];
		size_t k = kv ? 0 : (size_t)c->field - 1;

		if (kv)
			while (strcmp(keys[k], c->key) != 0)
				k++;
		expect(c, text[k], &out[i], i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct sensor x;

	if (size < 2)
		return 0;
	make_sensor(&in, &x);
	if (fuzz_u8(&in) & 1)
		mode_values(&x, &in);
	else
		mode_stream(&x, &in);
	return 0;
}
