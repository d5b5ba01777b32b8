/*
 * hj212_parse.c - reading what an HJ 212 platform sends (see hj212.h):
 * finding a frame in a byte stream, checking its length, CRC and tail, and
 * splitting its data segment into header fields and CP key/value pairs.
 * Every byte is distrusted: bounded by the caller's length, never by a NUL,
 * no allocation, the output untouched on failure. Malformed input gets an
 * errno and a static reason, and *consumed says how much to drop to
 * resynchronise on the next "##".
 */
#include "hj212.h"

#include <errno.h>
#include <string.h>

/* Offset of the next "##" at or after from, or of a final lone '#' (it may
 * start one), or len. */
static size_t resync(const char *buf, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++)
		if (buf[i] == '#' && (i + 1 == len || buf[i + 1] == '#'))
			return i;
	return len;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

int hj212_unframe(const char *buf, size_t len, size_t *seg_len,
		  size_t *consumed, const char **why)
{
	size_t n = 0, total, skip;
	unsigned crc = 0;

	if (!consumed || !seg_len || (!buf && len))
		return -EINVAL;
	*consumed = 0;
	if (len == 0 || (len == 1 && buf[0] == '#'))
		return fail(why, "incomplete", -EAGAIN);
	if (buf[0] != '#' || buf[1] != '#') {
		*consumed = resync(buf, len, 1);
		return fail(why, "garbage before ##", -EBADMSG);
	}
	skip = resync(buf, len, 1); /* "###0101..." starts a frame at 1 */
	for (size_t i = 2; i < 6 && i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			*consumed = skip;
			return fail(why, "length is not 4 decimal digits", -EBADMSG);
		}
		n = n * 10 + (size_t)(buf[i] - '0');
	}
	if (len < 6)
		return fail(why, "incomplete", -EAGAIN);
	if (n > HJ212_SEG_MAX) {
		*consumed = skip;
		return fail(why, "length over 1024", -EMSGSIZE);
	}
	total = 6 + n + 6;
	/* A frame boundary inside the declared segment means a wrong length:
	 * say so now rather than wait for bytes that belong to the next one. */
	const char *crlf = memchr(buf + 6, '\r', (len < total ? len : total) - 6);
	if (crlf && (size_t)(crlf - buf) < 6 + n + 4) {
		*consumed = skip;
		return fail(why, "CR inside the segment: length wrong", -EBADMSG);
	}
	if (len < total)
		return fail(why, "incomplete", -EAGAIN);
	for (size_t i = 6 + n; i < 6 + n + 4; i++) {
		int h = hexval(buf[i]);
		if (h < 0) {
			*consumed = skip;
			return fail(why, "CRC is not 4 hex digits", -EBADMSG);
		}
		crc = crc << 4 | (unsigned)h;
	}
	if (buf[total - 2] != '\r' || buf[total - 1] != '\n') {
		*consumed = skip;
		return fail(why, "no CR LF after the CRC: length wrong", -EBADMSG);
	}
	*consumed = total;
	if (crc != hj212_crc(buf + 6, n))
		return fail(why, "CRC mismatch", -EILSEQ);
	*seg_len = n;
	return 0;
}

/* Copies an all-digit value of 1..max digits into *out. */
static bool num_field(const char *v, size_t n, size_t max, int *out)
{
	int x = 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return true;
}

/* Copies a 1..max byte value of printable ASCII, all digits with digits. */
static bool str_field(const char *v, size_t n, size_t max, char *out,
		      bool digits)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch <= 0x20 || ch >= 0x7f || (digits && (ch < '0' || ch > '9')))
			return false;
	}
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

enum { H_QN = 1, H_ST = 2, H_CN = 4, H_PW = 8, H_MN = 16, H_FLAG = 32,
       H_PNUM = 64, H_PNO = 128 };

/* One header field k=v (k_len, v_len) into m; *seen collects H_*. */
static int header_field(struct hj212_msg *m, const char *k, size_t kl,
			const char *v, size_t vl, unsigned *seen,
			const char **why)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "QN", H_QN }, { "ST", H_ST }, { "CN", H_CN }, { "PW", H_PW },
		{ "MN", H_MN }, { "Flag", H_FLAG }, { "PNUM", H_PNUM },
		{ "PNO", H_PNO },
	};
	static const char *const bad[] = {
		"QN is not 17 digits", "ST is not 1-2 digits", "CN is not 1-4 digits",
		"PW is empty, over 6 characters or not printable ASCII",
		"MN is empty, over 24 characters or not printable ASCII",
		"Flag is not a number 0..255", "PNUM is not a number 1..9999",
		"PNO is not a number 1..9999",
	};
	unsigned bit = 0;
	size_t which = 0;
	bool ok = false;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == kl && memcmp(names[i].name, k, kl) == 0) {
			bit = names[i].bit;
			which = i;
		}
	if (!bit)
		return 0; /* a later edition's field: not ours to judge */
	if (*seen & bit)
		return fail(why, "a header field is repeated", -EBADMSG);
	*seen |= bit;
	switch (bit) {
	case H_QN:
		ok = vl == HJ212_QN_LEN && str_field(v, vl, HJ212_QN_LEN, m->qn, true);
		break;
	case H_ST:
		ok = num_field(v, vl, 2, &m->st);
		break;
	case H_CN:
		ok = num_field(v, vl, 4, &m->cn);
		break;
	case H_PW:
		ok = str_field(v, vl, HJ212_PW_LEN, m->pw, false);
		break;
	case H_MN:
		ok = str_field(v, vl, HJ212_MN_LEN, m->mn, false);
		break;
	case H_FLAG:
		ok = num_field(v, vl, 3, &m->flag) && m->flag <= 255;
		break;
	case H_PNUM:
		ok = num_field(v, vl, 4, &m->pnum) && m->pnum >= 1;
		break;
	case H_PNO:
		ok = num_field(v, vl, 4, &m->pno) && m->pno >= 1;
		break;
	}
	return ok ? 0 : fail(why, bad[which], -EBADMSG);
}

static int parse_header(struct hj212_msg *m, const char *s, size_t len,
			const char **why)
{
	unsigned seen = 0;
	size_t pos = 0;
	int r;

	while (pos < len) {
		const char *semi = memchr(s + pos, ';', len - pos);
		if (!semi)
			return fail(why, "header field without ';'", -EBADMSG);
		size_t end = (size_t)(semi - s);
		const char *eq = memchr(s + pos, '=', end - pos);
		if (!eq || eq == s + pos)
			return fail(why, "header field without name=value", -EBADMSG);
		r = header_field(m, s + pos, (size_t)(eq - (s + pos)), eq + 1,
				 (size_t)(semi - eq - 1), &seen, why);
		if (r < 0)
			return r;
		pos = end + 1;
	}
	static const char *const missing[] = { "no QN field", "no ST field", "no CN field",
					       "no PW field", "no MN field", "no Flag field" };
	for (unsigned i = 0; i < 6; i++)
		if (!(seen & (1u << i)))
			return fail(why, missing[i], -EBADMSG);
	bool split = m->flag & HJ212_FLAG_D;
	if (split != ((seen & H_PNUM) != 0) || split != ((seen & H_PNO) != 0))
		return fail(why, "PNUM/PNO do not match Flag's D bit", -EBADMSG);
	if (split && m->pno > m->pnum)
		return fail(why, "PNO beyond PNUM", -EBADMSG);
	return 0;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ')
			return false;
	return true;
}

/* The data area: items by ';', fields by ','; blank fields are skipped
 * (Annex C prints "CP=&& &&" for an empty reply). */
static int parse_cp(struct hj212_msg *m, const char *s, size_t len,
		    const char **why)
{
	size_t pos = 0;
	unsigned item = 0;

	while (pos <= len) {
		size_t end = pos;
		while (end < len && s[end] != ';' && s[end] != ',')
			end++;
		if (!blank(s + pos, end - pos)) {
			const char *eq = memchr(s + pos, '=', end - pos);
			if (!eq || eq == s + pos)
				return fail(why, "CP field without name=value", -EBADMSG);
			size_t kl = (size_t)(eq - (s + pos));
			for (size_t i = 0; i < kl; i++)
				if (s[pos + i] == ' ' || s[pos + i] == '&')
					return fail(why, "bad CP field name", -EBADMSG);
			if (m->n_kv >= HJ212_MAX_KV)
				return fail(why, "too many CP fields", -E2BIG);
			if (item > UINT16_MAX)
				return fail(why, "too many CP items", -E2BIG);
			m->kv[m->n_kv++] = (struct hj212_kv){
				.key = s + pos, .key_len = kl, .val = eq + 1,
				.val_len = end - kl - 1 - pos, .item = (uint16_t)item,
			};
		}
		if (end < len && s[end] == ';')
			item++;
		pos = end + 1;
	}
	return 0;
}

int hj212_parse_segment(const char *seg, size_t len, struct hj212_msg *m,
			const char **why)
{
	struct hj212_msg t;
	size_t hdr_len;
	int r;

	if (!m || (!seg && len))
		return -EINVAL;
	if (len > HJ212_SEG_MAX)
		return fail(why, "segment over 1024 bytes", -EMSGSIZE);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
			return fail(why, "control character in segment", -EBADMSG);
	/* CP is the last field: the first "CP=&&" that starts a field. */
	if (len >= 5 && memcmp(seg, "CP=&&", 5) == 0) {
		hdr_len = 0;
	} else {
		hdr_len = len;
		for (size_t i = 0; i + 6 <= len; i++)
			if (memcmp(seg + i, ";CP=&&", 6) == 0) {
				hdr_len = i + 1;
				break;
			}
		if (hdr_len == len)
			return fail(why, "no CP=&&", -EBADMSG);
	}
	size_t cp = hdr_len + 5;
	if (len < cp + 2 || memcmp(seg + len - 2, "&&", 2) != 0)
		return fail(why, "CP does not end with &&", -EBADMSG);
	if (len - hdr_len > HJ212_CP_MAX)
		return fail(why, "CP over 950 bytes", -EMSGSIZE);
	memset(&t, 0, sizeof(t));
	if ((r = parse_header(&t, seg, hdr_len, why)) < 0)
		return r;
	t.cp = seg + cp;
	t.cp_len = len - 2 - cp;
	if ((r = parse_cp(&t, t.cp, t.cp_len, why)) < 0)
		return r;
	*m = t;
	return 0;
}

int hj212_parse(const char *buf, size_t len, struct hj212_msg *m,
		size_t *consumed, const char **why)
{
	size_t n = 0;
	int r = hj212_unframe(buf, len, &n, consumed, why);

	if (r < 0)
		return r;
	return hj212_parse_segment(buf + 6, n, m, why);
}

const char *hj212_cp_get(const struct hj212_msg *m, const char *key,
			 size_t *val_len)
{
	size_t kl = key ? strlen(key) : 0;

	if (!m || !key)
		return NULL;
	for (size_t i = 0; i < m->n_kv && i < HJ212_MAX_KV; i++)
		if (m->kv[i].key_len == kl && memcmp(m->kv[i].key, key, kl) == 0) {
			if (val_len)
				*val_len = m->kv[i].val_len;
			return m->kv[i].val;
		}
	return NULL;
}
