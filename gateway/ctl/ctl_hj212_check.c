/*
 * ctl_hj212_check.c - one HJ 212 packet judged as a strict platform would
 * (ctl_hj212.h): the frame taken apart by hand so that each fault can be
 * named with its numbers (the length the segment really has, the CRC it
 * really has), the data segment through the project's parser
 * (encode/hj212_parse.c), then what the parser leaves to the receiver: a
 * QN that is a real time, PW and MN of the standard's shape, a DataTime
 * and well-formed factor fields in data messages. And the printing of a
 * packet's fields for decode and listen. Pure: no I/O but the FILE given.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_hj212.h"
#include "base/param.h"

static void say(struct hjc_result *r, bool problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct hjc_result *r, bool problem, const char *fmt, ...)
{
	int *n = problem ? &r->n_problems : &r->n_notes;
	char (*to)[HJC_SAY_LEN] = problem ? r->problems : r->notes;
	va_list ap;

	if (*n >= HJC_MAX_SAY) {
		if (problem)
			(*n)++; /* counted, not kept */
		return;
	}
	va_start(ap, fmt);
	vsnprintf(to[*n], HJC_SAY_LEN, fmt, ap);
	va_end(ap);
	(*n)++;
}

const char *hjc_cn_name(int cn)
{
	static const struct { int cn; const char *name; } names[] = {
		{ 1000, "set reply timeout and retries" }, { 1011, "time" },
		{ 1012, "set time" }, { 1013, "time calibration request" },
		{ 1061, "real-time data interval" }, { 1062, "set real-time data interval" },
		{ 1063, "minute data interval" }, { 1064, "set minute data interval" },
		{ 2011, "real-time data" }, { 2021, "facility run status" },
		{ 2031, "daily data" }, { 2041, "facility daily run time" },
		{ 2051, "minute data" }, { 2061, "hourly data" },
		{ 2081, "data logger start time" }, { 3020, "field information" },
		{ 9011, "request reply" }, { 9012, "execution result" },
		{ 9013, "notification reply" }, { 9014, "data reply" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].cn == cn)
			return names[i].name;
	return NULL;
}

const char *hjc_st_name(int st)
{
	switch (st) {
	case 21: return "surface water quality";
	case 31: return "air pollution source";
	case 32: return "water pollution source";
	case 52: return "wastewater process";
	case 91: return "system interaction (replies)";
	default: return NULL;
	}
}

/* ---- the frame ------------------------------------------------------------ */

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

/* The tail: CR LF expected; a line ending (LF) or none is a note (a pasted
 * line), a CR alone a problem. The length without it. */
static size_t strip_tail(const char *p, size_t len, struct hjc_result *r)
{
	if (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n')
		return len - 2;
	if (len >= 1 && p[len - 1] == '\n') {
		say(r, false, "LF without CR at the end (a pasted line?): on the wire a packet "
		    "ends with CR LF");
		return len - 1;
	}
	if (len >= 1 && p[len - 1] == '\r') {
		say(r, true, "ends in CR without LF: a packet ends with CR LF");
		return len - 1;
	}
	say(r, false, "no CR LF at the end (a pasted line?): on the wire a packet ends "
	    "with one");
	return len;
}

/* The length field: its value, or -1 after saying what is wrong. */
static int length_field(const char *p, size_t len, struct hjc_result *r)
{
	int n = 0;

	if (len < 6) {
		say(r, true, "%zu bytes: too short for \"##\" and a 4-digit length", len);
		return -1;
	}
	for (int i = 2; i < 6; i++) {
		if (p[i] < '0' || p[i] > '9') {
			say(r, true, "the length field \"%.4s\" is not 4 decimal digits", p + 2);
			return -1;
		}
		n = n * 10 + (p[i] - '0');
	}
	return n;
}

/* The CRC written after the segment against the segment's own. */
static void check_crc(const char *crc, struct hjc_result *r)
{
	bool lower = false;

	r->crc_sent = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(crc[i]);

		if (h < 0) {
			say(r, true, "the CRC \"%.4s\" is not 4 hex digits; the data segment's CRC "
			    "(Annex A) is %04X", crc, r->crc_have);
			return;
		}
		lower |= crc[i] >= 'a';
		r->crc_sent = r->crc_sent << 4 | (unsigned)h;
	}
	if (r->crc_sent != r->crc_have)
		say(r, true, "bad CRC: the packet says %.4s, the data segment's CRC (Annex A) "
		    "is %04X", crc, r->crc_have);
	else if (lower)
		say(r, false, "CRC in lower case: accepted, but the standard prints it upper "
		    "case and some platforms compare it as text");
}

/* "##", the length, the segment and its CRC: true when the segment was
 * found (r->seg_len; at pkt + 6). */
static bool check_frame(const char *pkt, size_t len, struct hjc_result *r)
{
	size_t body;

	if (len < 2 || pkt[0] != '#' || pkt[1] != '#') {
		const char *hh = len > 1 ? memmem(pkt, len, "##", 2) : NULL;

		if (hh)
			say(r, true, "%zu bytes before \"##\": the packet must start with it",
			    (size_t)(hh - pkt));
		else
			say(r, true, "no \"##\": not an HJ 212 packet");
		return false;
	}
	len = strip_tail(pkt, len, r);
	r->declared = length_field(pkt, len, r);
	if (r->declared < 0)
		return false;
	body = len - 6;
	if (body < 4) {
		say(r, true, "no room for a CRC after the length field");
		return false;
	}
	r->seg_len = body - 4;
	if ((size_t)r->declared != r->seg_len)
		say(r, true, "length mismatch: the length field says %d bytes, the data segment "
		    "has %zu (UTF-8 bytes between the length field and the CRC)", r->declared,
		    r->seg_len);
	if (r->seg_len > HJ212_SEG_MAX)
		say(r, true, "the data segment has %zu bytes, over the standard's %d",
		    r->seg_len, HJ212_SEG_MAX);
	r->crc_have = hj212_crc(pkt + 6, r->seg_len);
	check_crc(pkt + 6 + r->seg_len, r);
	return true;
}

/* ---- the header ------------------------------------------------------------- */

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* "YYYYMMDDhhmmss" (14 digits; all digits already for QN): a real time? */
static bool real_time(const char *s, size_t len)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int mo, d;

	if (len < 14)
		return false;
	for (size_t i = 0; i < 14; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	mo = digits(s + 4, 2);
	d = digits(s + 6, 2);
	return digits(s, 4) >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] &&
	       digits(s + 8, 2) < 24 && digits(s + 10, 2) < 60 && digits(s + 12, 2) < 60;
}

static void check_header(const struct hj212_msg *m, const char *pw, const char *mn,
			 struct hjc_result *r)
{
	size_t mn_len = strlen(m->mn);
	int version = m->flag >> 2;

	if (!real_time(m->qn, strlen(m->qn)))
		say(r, true, "QN %s is not a time YYYYMMDDhhmmsszzz", m->qn);
	if (strlen(m->pw) != HJ212_PW_LEN)
		say(r, true, "PW has %zu characters, the standard %d", strlen(m->pw),
		    HJ212_PW_LEN);
	if (mn_len != HJ212_MN_LEN || strspn(m->mn, "0123456789ABCDEF") != mn_len)
		say(r, true, "MN %s is not %d characters of 0-9 A-F", m->mn, HJ212_MN_LEN);
	if (pw && strcmp(m->pw, pw) != 0)
		say(r, true, "PW %s is not the expected %s", m->pw, pw);
	if (mn && strcmp(m->mn, mn) != 0)
		say(r, true, "MN %s is not the expected %s", m->mn, mn);
	if (!hjc_st_name(m->st))
		say(r, false, "ST %d is not a system code outfall knows", m->st);
	if (!hjc_cn_name(m->cn))
		say(r, false, "CN %d is not a command outfall knows", m->cn);
	if (version < 1 || version > 2)
		say(r, false, "Flag %d: version %d is neither HJ 212-2017 (1) nor -2025 (2)",
		    m->flag, version);
}

/* ---- the data area ------------------------------------------------------------ */

static bool is_data_cn(int cn)
{
	return cn == 2011 || cn == 2051 || cn == 2061 || cn == 2031 || cn == 2081;
}

static bool number(const char *v, size_t n)
{
	char buf[64], *end;
	double x;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	x = strtod(buf, &end);
	return *end == '\0' && isfinite(x) && strspn(buf, "+-.0123456789") == n;
}

/* One CODE-Suffix=value field of a data message. */
static void check_factor(const struct hj212_kv *kv, struct hjc_result *r)
{
	static const char *const numeric[] = { "Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd",
					       "ZsAvg", "ZsMin", "ZsMax" };
	const char *dash = memchr(kv->key, '-', kv->key_len);
	size_t sl;
	const char *suf;
	int kl = (int)kv->key_len, vl = (int)kv->val_len;

	if (!dash) {
		say(r, false, "CP field %.*s is neither DataTime nor a factor's CODE-Suffix", kl,
		    kv->key);
		return;
	}
	suf = dash + 1;
	sl = kv->key_len - (size_t)(suf - kv->key);
	if (sl == 4 && memcmp(suf, "Flag", 4) == 0) {
		if (kv->val_len != 1 || !strchr("NFMSDCTB", kv->val[0]))
			say(r, true, "%.*s=%.*s: a data flag is one of N F M S D C T B", kl, kv->key,
			    vl, kv->val);
		return;
	}
	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		if (strlen(numeric[i]) == sl && memcmp(suf, numeric[i], sl) == 0) {
			if (!number(kv->val, kv->val_len))
				say(r, true, "%.*s=%.*s is not a number", kl, kv->key, vl, kv->val);
			return;
		}
	if (!(sl == 10 && memcmp(suf, "SampleTime", 10) == 0) &&
	    !(sl == 5 && memcmp(suf, "EFlag", 5) == 0))
		say(r, false, "CP field %.*s: suffix -%.*s is not one outfall knows", kl, kv->key,
		    (int)sl, suf);
}

static bool key_is(const struct hj212_kv *kv, const char *name)
{
	return kv->key_len == strlen(name) && memcmp(kv->key, name, kv->key_len) == 0;
}

static void check_time_field(const struct hj212_kv *kv, struct hjc_result *r)
{
	if (kv->val_len != 14 || !real_time(kv->val, kv->val_len))
		say(r, true, "%.*s=%.*s is not a time YYYYMMDDhhmmss", (int)kv->key_len, kv->key,
		    (int)kv->val_len, kv->val);
}

static void check_data(const struct hj212_msg *m, struct hjc_result *r)
{
	bool has_time = false, has_restart = false;

	for (size_t i = 0; i < m->n_kv; i++) {
		const struct hj212_kv *kv = &m->kv[i];

		if (key_is(kv, "DataTime") || key_is(kv, "RestartTime")) {
			has_time |= key_is(kv, "DataTime");
			has_restart |= key_is(kv, "RestartTime");
			check_time_field(kv, r);
		} else {
			check_factor(kv, r);
		}
	}
	if (!has_time)
		say(r, true, "no DataTime in the CP of a %d", m->cn);
	if (m->cn == 2081 && !has_restart)
		say(r, true, "no RestartTime in the CP of a 2081");
	if (m->cn != 2081 && m->n_kv <= 1)
		say(r, false, "a %d with no factor: nothing measured was sent", m->cn);
}

/* A back-fill request: BeginTime and EndTime, both times, in order. */
static void check_range(const struct hj212_msg *m, struct hjc_result *r)
{
	size_t bl = 0, el = 0;
	const char *b = hj212_cp_get(m, "BeginTime", &bl), *e = hj212_cp_get(m, "EndTime", &el);

	for (size_t i = 0; i < m->n_kv; i++)
		if (key_is(&m->kv[i], "BeginTime") || key_is(&m->kv[i], "EndTime"))
			check_time_field(&m->kv[i], r);
	if (!b || !e)
		say(r, true, "a request for history needs both BeginTime and EndTime");
	else if (bl == 14 && el == 14 && memcmp(b, e, 14) > 0)
		say(r, true, "BeginTime %.14s is after EndTime %.14s", b, e);
}

int hjc_check(const char *pkt, size_t len, const char *pw, const char *mn,
	      struct hjc_result *r)
{
	const char *why = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	r->declared = -1;
	if (!pkt)
		len = 0;
	r->framed = check_frame(pkt ? pkt : "", len, r);
	if (!r->framed)
		return r->n_problems;
	rc = hj212_parse_segment(pkt + 6, r->seg_len, &r->msg, &why);
	if (rc < 0) {
		say(r, true, "data segment: %s", why ? why : strerror(-rc));
		return r->n_problems;
	}
	r->parsed = true;
	check_header(&r->msg, pw, mn, r);
	if (hj212_cp_get(&r->msg, "BeginTime", NULL) || hj212_cp_get(&r->msg, "EndTime", NULL))
		check_range(&r->msg, r); /* a platform's request for history */
	else if (is_data_cn(r->msg.cn) && r->msg.st != 91)
		check_data(&r->msg, r);
	return r->n_problems;
}

/* ---- printing ------------------------------------------------------------------ */

/* The parameter a factor code stands for ("cod"), or NULL. */
static const char *code_param(const char *code, size_t len)
{
	for (int p = 0; p < P_COUNT; p++) {
		const char *c = param_hj212(p);

		if (c && strlen(c) == len && memcmp(c, code, len) == 0)
			return param_name(p);
	}
	return NULL;
}

/* One CP item: "w01018 (cod): Rtd=40.1 Flag=N", or its fields as sent. */
static void print_item(const struct hj212_msg *m, size_t from, size_t to, FILE *out)
{
	const struct hj212_kv *k0 = &m->kv[from];
	const char *dash = memchr(k0->key, '-', k0->key_len);
	size_t cl = dash ? (size_t)(dash - k0->key) : 0;
	bool one_code = dash != NULL;

	for (size_t i = from; i < to && one_code; i++)
		one_code = m->kv[i].key_len > cl + 1 && memcmp(m->kv[i].key, k0->key, cl) == 0 &&
			   m->kv[i].key[cl] == '-';
	if (one_code) {
		const char *name = code_param(k0->key, cl);

		fprintf(out, "%.*s%s%s%s:", (int)cl, k0->key, name ? " (" : "", name ? name : "",
			name ? ")" : "");
		for (size_t i = from; i < to; i++)
			fprintf(out, " %.*s=%.*s", (int)(m->kv[i].key_len - cl - 1),
				m->kv[i].key + cl + 1, (int)m->kv[i].val_len, m->kv[i].val);
	} else {
		for (size_t i = from; i < to; i++)
			fprintf(out, "%s%.*s=%.*s", i > from ? ", " : "", (int)m->kv[i].key_len,
				m->kv[i].key, (int)m->kv[i].val_len, m->kv[i].val);
	}
	fputc('\n', out);
}

static void print_cp(const struct hj212_msg *m, const char *indent, FILE *out)
{
	size_t i = 0;

	if (m->n_kv == 0) {
		fprintf(out, "%sCP    (empty)\n", indent);
		return;
	}
	while (i < m->n_kv) {
		size_t j = i + 1;

		while (j < m->n_kv && m->kv[j].item == m->kv[i].item)
			j++;
		fprintf(out, "%s%s", indent, i == 0 ? "CP    " : "      ");
		print_item(m, i, j, out);
		i = j;
	}
}

static void print_header(const struct hj212_msg *m, const char *indent, FILE *out)
{
	const char *st = hjc_st_name(m->st), *cn = hjc_cn_name(m->cn);
	const char *q = m->qn;
	int version = m->flag >> 2;

	fprintf(out, "%sQN    %s (%.4s-%.2s-%.2s %.2s:%.2s:%.2s.%.3s)\n", indent, q, q, q + 4,
		q + 6, q + 8, q + 10, q + 12, q + 14);
	fprintf(out, "%sST    %d%s%s%s\n", indent, m->st, st ? " (" : "", st ? st : "",
		st ? ")" : "");
	fprintf(out, "%sCN    %d%s%s%s\n", indent, m->cn, cn ? " (" : "", cn ? cn : "",
		cn ? ")" : "");
	fprintf(out, "%sPW    %s\n%sMN    %s\n", indent, m->pw, indent, m->mn);
	fprintf(out, "%sFlag  %d (%s%s%s)\n", indent, m->flag,
		version == 1 ? "HJ 212-2017" : version == 2 ? "HJ 212-2025" : "unknown version",
		m->flag & HJ212_FLAG_D ? ", split" : "",
		m->flag & HJ212_FLAG_A ? ", reply requested" : ", no reply");
	if (m->flag & HJ212_FLAG_D)
		fprintf(out, "%sPNUM  %d, PNO %d\n", indent, m->pnum, m->pno);
}

void hjc_print(const struct hjc_result *r, const char *indent, FILE *out)
{
	if (r->parsed) {
		print_header(&r->msg, indent, out);
		print_cp(&r->msg, indent, out);
	}
	for (int i = 0; i < r->n_problems && i < HJC_MAX_SAY; i++)
		fprintf(out, "%serror: %s\n", indent, r->problems[i]);
	if (r->n_problems > HJC_MAX_SAY)
		fprintf(out, "%serror: ... and %d more\n", indent, r->n_problems - HJC_MAX_SAY);
	for (int i = 0; i < r->n_notes && i < HJC_MAX_SAY; i++)
		fprintf(out, "%snote: %s\n", indent, r->notes[i]);
}
