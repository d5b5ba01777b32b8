/*
 * fuzz_hj212.c - the HJ 212 packet parser (gateway/encode/hj212_parse.c)
 * on what a platform could send, and the packet writer against it.
 *
 * The first byte picks one of three modes:
 *  stream  the input is a byte stream cut into frames the way a reader
 *          does it (parse, drop *consumed, again). Every call stays inside
 *          the buffer, makes progress unless it asks for more (-EAGAIN,
 *          consumed 0), leaves the message untouched on failure; an
 *          accepted frame is "##", its 4-digit length, a segment with a
 *          matching CRC and CR LF, and framing its segment again gives the
 *          same bytes; the fields parsed are bounded and point inside the
 *          segment.
 *  resync  arbitrary bytes, then a valid frame: reading the stream must
 *          find that frame, unless a frame that is well framed by its
 *          length (accepted, or dropped for its CRC) covered its start.
 *  codec   a header and a data area drawn from the input go through
 *          hj212_segment / hj212_frame (and hj212_packets when they do not
 *          fit one packet); every packet written parses back to the same
 *          header fields and CP items.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "encode/hj212.h"

#define STREAM_MAX (4 * HJ212_FRAME_MAX)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* What a parsed message must look like, whatever the input. */
static void check_msg(const struct hj212_msg *m, const char *seg, size_t seg_len)
{
	FUZZ_CHECK(strlen(m->qn) == HJ212_QN_LEN, "QN '%s'", m->qn);
	for (size_t i = 0; i < HJ212_QN_LEN; i++)
		FUZZ_CHECK(m->qn[i] >= '0' && m->qn[i] <= '9', "QN '%s'", m->qn);
	FUZZ_CHECK(strlen(m->pw) >= 1 && strlen(m->pw) <= HJ212_PW_LEN, "PW '%s'", m->pw);
	FUZZ_CHECK(strlen(m->mn) >= 1 && strlen(m->mn) <= HJ212_MN_LEN, "MN '%s'", m->mn);
	FUZZ_CHECK(m->st >= 0 && m->st <= 99, "ST %d", m->st);
	FUZZ_CHECK(m->cn >= 0 && m->cn <= 9999, "CN %d", m->cn);
	FUZZ_CHECK(m->flag >= 0 && m->flag <= 255, "Flag %d", m->flag);
	if (m->flag & HJ212_FLAG_D)
		FUZZ_CHECK(m->pno >= 1 && m->pno <= m->pnum, "PNO %d PNUM %d", m->pno, m->pnum);
	else
		FUZZ_CHECK(m->pnum == 0 && m->pno == 0, "PNUM %d without D", m->pnum);
	FUZZ_CHECK(m->cp >= seg && m->cp + m->cp_len + 2 == seg + seg_len, "CP not at the end");
	FUZZ_CHECK(m->cp_len + 7 <= HJ212_CP_MAX, "CP of %zu bytes", m->cp_len);
	FUZZ_CHECK(memcmp(m->cp - 5, "CP=&&", 5) == 0, "CP not after CP=&&");
	FUZZ_CHECK(m->n_kv <= HJ212_MAX_KV, "%zu fields", m->n_kv);
	for (size_t i = 0; i < m->n_kv; i++) {
		const struct hj212_kv *kv = &m->kv[i];

		FUZZ_CHECK(kv->key >= m->cp && kv->val + kv->val_len <= m->cp + m->cp_len,
			   "field %zu outside CP", i);
		FUZZ_CHECK(kv->key_len >= 1 && kv->val == kv->key + kv->key_len + 1 &&
			   kv->key[kv->key_len] == '=', "field %zu not name=value", i);
		FUZZ_CHECK(!memchr(kv->key, ' ', kv->key_len) && !memchr(kv->key, '&', kv->key_len),
			   "field %zu name", i);
		FUZZ_CHECK(!memchr(kv->val, ';', kv->val_len) && !memchr(kv->val, ',', kv->val_len),
			   "field %zu value holds a separator", i);
		FUZZ_CHECK(i == 0 || (kv->item >= m->kv[i - 1].item && kv->key > m->kv[i - 1].val),
			   "fields out of order at %zu", i);
	}
}

/* One call of the reader's loop; returns rc, *used what to drop, *framed
 * what hj212_unframe says of the same bytes. */
static int parse_once(const char *buf, size_t len, size_t *used, int *framed)
{
	struct hj212_msg m;
	size_t seg_len = 0, used2 = 7777;
	const char *why = NULL;
	int rc, rc2;

	memset(&m, 0x5a, sizeof(m));
	*used = 9999;
	rc = hj212_parse(buf, len, &m, used, &why);
	FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EBADMSG || rc == -EMSGSIZE ||
		   rc == -EILSEQ || rc == -E2BIG, "rc %d", rc);
	FUZZ_CHECK(*used <= len, "consumed %zu of %zu", *used, len);
	FUZZ_CHECK(rc == 0 || why, "rc %d without a reason", rc);
	if (rc == -EAGAIN)
		FUZZ_CHECK(*used == 0, "-EAGAIN consumed %zu", *used);
	else
		FUZZ_CHECK(*used > 0, "rc %d consumed nothing: the reader would spin", rc);
	if (rc != 0) {
		unsigned char probe[sizeof(m)];

		memset(probe, 0x5a, sizeof(probe));
		FUZZ_CHECK(memcmp(&m, probe, sizeof(m)) == 0, "message changed on rc %d", rc);
	}
	rc2 = hj212_unframe(buf, len, &seg_len, &used2, NULL);
	*framed = rc2;
	if (rc == 0 || rc == -E2BIG || (rc == -EBADMSG && rc2 == 0) || (rc == -EMSGSIZE && rc2 == 0)) {
		char again[HJ212_FRAME_MAX + 1];

		FUZZ_CHECK(rc2 == 0 && used2 == *used, "unframe %d/%zu, parse %d/%zu", rc2, used2,
			   rc, *used);
		FUZZ_CHECK(*used == seg_len + HJ212_FRAME_OVERHEAD, "frame of %zu, segment %zu",
			   *used, seg_len);
		FUZZ_CHECK(hj212_frame(again, sizeof(again), buf + 6, seg_len) == (int)*used,
			   "framing again");
		FUZZ_CHECK(strncasecmp(again, buf, *used) == 0, "framing again differs");
		for (size_t i = 6 + seg_len; i < 10 + seg_len; i++)
			FUZZ_CHECK(is_hex(buf[i]), "CRC digit");
		if (rc == 0)
			check_msg(&m, buf + 6, seg_len);
	} else {
		FUZZ_CHECK(rc2 == rc && used2 == *used, "unframe %d/%zu, parse %d/%zu", rc2, used2,
			   rc, *used);
	}
	return rc;
}

static void mode_stream(const uint8_t *data, size_t size)
{
	size_t off = 0, used;
	int framed;

	while (off < size) {
		if (parse_once((const char *)data + off, size - off, &used, &framed) == -EAGAIN)
			break;
		off += used;
	}
}

/* A printable data segment from the input, framed into out. */
static size_t make_frame(struct fuzz_in *in, char *out, size_t cap)
{
	char seg[HJ212_SEG_MAX];
	const uint8_t *p;
	size_t n = fuzz_take(in, HJ212_SEG_MAX, &p);
	int r;

	for (size_t i = 0; i < n; i++)
		seg[i] = (char)(' ' + p[i] % 95);
	r = hj212_frame(out, cap, seg, n);
	FUZZ_CHECK(r == (int)(n + HJ212_FRAME_OVERHEAD), "hj212_frame %d", r);
	return (size_t)r;
}

static void mode_resync(struct fuzz_in *in)
{
	static char buf[STREAM_MAX + HJ212_FRAME_MAX + 1];
	const uint8_t *junk;
	size_t jn = fuzz_take(in, STREAM_MAX, &junk);
	size_t fn, off = 0, used, seg_len;
	int rc, framed;

	memcpy(buf, junk, jn);
	fn = make_frame(in, buf + jn, sizeof(buf) - jn);
	while (off < jn) {
		rc = parse_once(buf + off, jn + fn - off, &used, &framed);
		FUZZ_CHECK(rc != -EAGAIN, "waits for more at %zu with a whole frame at %zu", off,
			   jn);
		if (off + used > jn)
			FUZZ_CHECK(framed == 0 || framed == -EILSEQ,
				   "rc %d at %zu dropped %zu bytes, past the frame at %zu", rc, off,
				   used, jn);
		off += used;
		if (off > jn)
			return; /* a frame well framed by its length covered it */
	}
	FUZZ_CHECK(off == jn, "resync at %zu, frame at %zu", off, jn);
	rc = hj212_unframe(buf + jn, fn, &seg_len, &used, NULL);
	FUZZ_CHECK(rc == 0 && used == fn, "the valid frame: rc %d", rc);
}

/* ---- codec mode ---------------------------------------------------------- */

#define CODEC_ITEMS 40
#define CODEC_FIELDS 4
#define CODEC_DATA 12288

/* The data area drawn from the input, and the fields it must parse into. */
struct area {
	char data[CODEC_DATA];
	size_t len;
	size_t n_items;
	size_t item_off[CODEC_ITEMS + 1]; /* item i is data[item_off[i] .. item_off[i+1] - 1) */
};

static void put_chars(struct fuzz_in *in, struct area *a, const char *set, size_t n)
{
	size_t k = strlen(set);

	for (size_t i = 0; i < n; i++)
		a->data[a->len++] = set[fuzz_u8(in) % k];
}

static void make_area(struct fuzz_in *in, struct area *a)
{
	static const char keys[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
	static const char vals[] = "0123456789.-ENT";

	size_t fields = 0; /* the parser keeps HJ212_MAX_KV */

	a->len = 0;
	a->n_items = fuzz_pick(in, CODEC_ITEMS + 1);
	for (size_t i = 0; i < a->n_items; i++) {
		size_t nf = 1 + fuzz_pick(in, CODEC_FIELDS);

		if (fields + nf > HJ212_MAX_KV) {
			a->n_items = i;
			break;
		}
		fields += nf;

		a->item_off[i] = a->len;
		for (size_t f = 0; f < nf; f++) {
			uint8_t shape = fuzz_u8(in);

			put_chars(in, a, keys, 1 + shape % 8);
			a->data[a->len++] = '=';
			put_chars(in, a, vals, shape & 0x80 ? fuzz_u8(in) : (shape >> 3) % 12);
			if (f + 1 < nf)
				a->data[a->len++] = ',';
		}
		a->data[a->len++] = ';';
	}
	a->item_off[a->n_items] = a->len;
	if (a->len)
		a->len--; /* no ';' after the last item */
}

/* The fields of items [from, to) of a, in order, must be kv[0 ..). */
static size_t match_items(const struct area *a, size_t from, size_t to, const struct hj212_msg *m,
			  size_t k, uint16_t item0)
{
	for (size_t i = from; i < to; i++) {
		const char *p = a->data + a->item_off[i];
		const char *end = a->data + a->item_off[i + 1] - 1; /* its ';' or the end */

		while (p < end) {
			const char *eq = memchr(p, '=', (size_t)(end - p));
			const char *stop = eq;

			while (stop < end && *stop != ',')
				stop++;
			FUZZ_CHECK(k < m->n_kv, "field %zu missing", k);
			FUZZ_CHECK(m->kv[k].key_len == (size_t)(eq - p) &&
				   memcmp(m->kv[k].key, p, m->kv[k].key_len) == 0, "field %zu name", k);
			FUZZ_CHECK(m->kv[k].val_len == (size_t)(stop - eq - 1) &&
				   memcmp(m->kv[k].val, eq + 1, m->kv[k].val_len) == 0,
				   "field %zu value", k);
			FUZZ_CHECK(m->kv[k].item == item0 + (i - from), "field %zu item %u", k,
				   m->kv[k].item);
			k++;
			p = stop + 1;
		}
	}
	return k;
}

static void check_header(const struct hj212_msg *m, const struct hj212_hdr *h, int64_t qn_ms)
{
	char qn[HJ212_QN_LEN + 1];

	FUZZ_CHECK(hj212_qn(qn, qn_ms, h->utc_offset_min) == HJ212_QN_LEN, "QN of %lld",
		   (long long)qn_ms);
	FUZZ_CHECK(strcmp(m->qn, qn) == 0, "QN %s, written %s", m->qn, qn);
	FUZZ_CHECK(m->st == h->st && m->cn == h->cn, "ST %d CN %d", m->st, m->cn);
	FUZZ_CHECK(strcmp(m->pw, h->pw) == 0 && strcmp(m->mn, h->mn) == 0, "PW or MN");
	FUZZ_CHECK(m->flag == hj212_flag(h), "Flag %d, written %d", m->flag, hj212_flag(h));
	FUZZ_CHECK(m->pnum == h->pnum && m->pno == h->pno, "PNUM %d PNO %d", m->pnum, m->pno);
}

static void parse_written(const char *frame, size_t len, struct hj212_msg *m)
{
	size_t used;
	const char *why = NULL;
	int rc = hj212_parse(frame, len, m, &used, &why);

	FUZZ_CHECK(rc == 0 && used == len, "a written packet does not parse: %d %s", rc,
		   why ? why : "");
}

/* Split packets: each repeats item 0, numbers itself, and together they
 * carry every other item once, in order. */
static void check_split(const struct area *a, struct hj212_hdr *h, const char *out,
			const size_t *frame_len, size_t n)
{
	static struct hj212_msg m;
	size_t off = 0, next = 1;

	FUZZ_CHECK(n >= 2, "split into %zu packets", n);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		parse_written(out + off, frame_len[i], &m);
		h->pnum = (int)n;
		h->pno = (int)i + 1;
		check_header(&m, h, h->qn_ms + (int64_t)i);
		k = match_items(a, 0, 1, &m, 0, 0);
		FUZZ_CHECK(k < m.n_kv, "packet %zu carries no item", i + 1);
		k = match_items(a, next, next + m.kv[m.n_kv - 1].item, &m, k, 1);
		FUZZ_CHECK(k == m.n_kv, "packet %zu has %zu fields, %zu expected", i + 1, m.n_kv, k);
		next += m.kv[m.n_kv - 1].item;
		off += frame_len[i];
	}
	FUZZ_CHECK(next == a->n_items, "%zu of %zu items sent", next, a->n_items);
}

/* Header fields hj212_segment accepts, drawn from the input. */
static void make_header(struct fuzz_in *in, struct hj212_hdr *h, char *pw, char *mn)
{
	static const char pw_set[] = "0123456789abcdefXYZ!#$%()*+-./:<>?@[]^_{|}~";
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < HJ212_PW_LEN; i++)
		pw[i] = pw_set[fuzz_u8(in) % (sizeof(pw_set) - 1)];
	pw[HJ212_PW_LEN] = '\0';
	for (int i = 0; i < HJ212_MN_LEN; i++)
		mn[i] = hex[fuzz_u8(in) % 16];
	mn[HJ212_MN_LEN] = '\0';
	*h = (struct hj212_hdr){
		/* years 1970 .. about 2540, either side of every offset */
		.qn_ms = (int64_t)(fuzz_u64(in) % 18000000000000ULL),
		.utc_offset_min = (int32_t)fuzz_pick(in, 2881) - 1440,
		.st = (int)fuzz_pick(in, 100),
		.cn = (int)fuzz_pick(in, 10000),
		.pw = pw,
		.mn = mn,
		.version = (int)fuzz_pick(in, 64),
		.ack = fuzz_u8(in) & 1,
	};
}

/* hj212_packets may refuse only when an item does not fit a packet beside
 * item 0 (at most 40 items never need more than 64 packets). */
static void check_refusal(const struct area *a, struct hj212_hdr *h)
{
	char seg[HJ212_SEG_MAX + 1];
	size_t first = a->n_items ? a->item_off[1] - 1 : 0, longest = 0, budget;
	int r;

	h->pnum = h->pno = 9999;
	r = hj212_segment(seg, sizeof(seg), h, "", 0);
	FUZZ_CHECK(r > 0, "empty segment %d", r);
	budget = HJ212_SEG_MAX - (size_t)r < HJ212_CP_MAX - 7 ? HJ212_SEG_MAX - (size_t)r
							     : HJ212_CP_MAX - 7;
	for (size_t i = 1; i < a->n_items; i++)
		if (a->item_off[i + 1] - a->item_off[i] > longest)
			longest = a->item_off[i + 1] - a->item_off[i];
	FUZZ_CHECK(a->n_items <= 1 || first + longest > budget,
		   "refused %zu items: item 0 of %zu bytes, the longest other %zu, budget %zu",
		   a->n_items, first, longest, budget);
}

static void mode_codec(struct fuzz_in *in)
{
	static struct area a;
	static char seg[HJ212_SEG_MAX + 1], frame[HJ212_FRAME_MAX + 1];
	static char out[64 * (HJ212_FRAME_MAX + 1)];
	static struct hj212_msg m;
	char pw[HJ212_PW_LEN + 1], mn[HJ212_MN_LEN + 1];
	size_t frame_len[64], n = 0;
	struct hj212_hdr h;
	int r;

	make_header(in, &h, pw, mn);
	make_area(in, &a);
	r = hj212_segment(seg, sizeof(seg), &h, a.data, a.len);
	if (r >= 0) {
		FUZZ_CHECK(hj212_frame(frame, sizeof(frame), seg, (size_t)r) == r + 12, "frame");
		parse_written(frame, (size_t)r + 12, &m);
		check_header(&m, &h, h.qn_ms);
		FUZZ_CHECK(match_items(&a, 0, a.n_items, &m, 0, 0) == m.n_kv, "extra fields");
		return;
	}
	FUZZ_CHECK(r == -EMSGSIZE, "hj212_segment %d for a valid header", r);
	r = hj212_packets(out, sizeof(out), &h, a.data, a.len, frame_len, 64, &n);
	if (r == 0) {
		check_split(&a, &h, out, frame_len, n);
		return;
	}
	FUZZ_CHECK(r == -EMSGSIZE, "hj212_packets %d", r);
	check_refusal(&a, &h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (size == 0)
		return 0;
	switch (fuzz_u8(&in) % 3) {
	case 0:
		mode_stream(in.p, in.n > STREAM_MAX ? STREAM_MAX : in.n);
		break;
	case 1:
		mode_resync(&in);
		break;
	default:
		mode_codec(&in);
		break;
	}
	return 0;
}
