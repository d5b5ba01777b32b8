/*
 * suggest.c - what the installer probably meant: the known setting closest
 * to an unknown one ("word_oder": did you mean word_order?), and for a
 * permit number an outlet names but the permits file lacks, the closest
 * number present with the characters that differ, by position. Permit
 * numbers are copied from paper, often through a Chinese input method: a
 * full-width digit (２ for 2) or a dropped 第 looks right on screen and
 * never matches.
 *
 * Distances are edit distances over short, bounded strings (setting names
 * up to NAME_CHARS bytes, permit numbers up to NUMBER_CHARS characters), in
 * tables on the stack; longer inputs get no suggestion.
 */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define NAME_CHARS 64   /* setting names compared, bytes */
#define NUMBER_CHARS 96 /* permit numbers compared, characters (REC_PERMIT is 96 bytes) */
#define DIFFS_SHOWN 4   /* differing characters named in one message */
#define OTHERS_SHOWN 3  /* permit numbers listed when none is close */

/* ---- setting names ------------------------------------------------------ */

/* Case and - for _ do not count as differences: "Word-Order" is word_order. */
static size_t fold_name(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n > NAME_CHARS)
		return NAME_CHARS + 1;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
	return n;
}

/* Edits (insert, delete, substitute, swap two neighbours) from a to b. */
static int name_distance(const char *a, size_t n, const char *b, size_t m)
{
	unsigned char d[NAME_CHARS + 1][NAME_CHARS + 1];

	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = (unsigned char)best;
		}
	}
	return d[n][m];
}

const char *cfg_suggest_name(const char *name, const char *const known[])
{
	char a[NAME_CHARS], b[NAME_CHARS];
	size_t n = fold_name(name, a);
	const char *best = NULL;
	int best_d = NAME_CHARS;

	if (n > NAME_CHARS || n == 0)
		return NULL;
	for (size_t k = 0; known[k]; k++) {
		size_t m = fold_name(known[k], b), shorter = n < m ? n : m;
		int d, allowed = m <= 4 ? 1 : m <= 8 ? 2 : 3;

		if (m > NAME_CHARS)
			continue;
		d = name_distance(a, n, b, m);
		/* "window" for window_min: a prefix of four or more letters */
		if (d > allowed && shorter >= 4 && memcmp(a, b, shorter) == 0)
			d = allowed;
		if (d <= allowed && d < best_d && (size_t)d < m) {
			best = known[k];
			best_d = d;
		}
	}
	return best;
}

/* ---- permit numbers ----------------------------------------------------- */

/* s (valid UTF-8: cfg_string checked it) as code points; NUMBER_CHARS + 1
 * when it is longer than that. */
static size_t decode(const char *s, uint32_t *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p) {
		int more = *p < 0x80 ? 0 : *p < 0xe0 ? 1 : *p < 0xf0 ? 2 : 3;
		uint32_t cp = more == 0 ? *p : *p & (0x3fu >> more);

		if (n == NUMBER_CHARS)
			return NUMBER_CHARS + 1;
		for (int i = 1; i <= more && p[i]; i++)
			cp = cp << 6 | (p[i] & 0x3f);
		out[n++] = cp;
		p += 1 + more;
	}
	return n;
}

static size_t encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

struct text {
	char buf[1024];
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (t->len + 1 >= sizeof(t->buf))
		return;
	va_start(ap, fmt);
	r = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (r > 0)
		t->len = (size_t)r >= sizeof(t->buf) - t->len ? sizeof(t->buf) - 1
			 : t->len + (size_t)r;
}

/* "２" (U+FF12, full-width) */
static void add_char(struct text *t, uint32_t cp)
{
	char u[5];
	const char *note = cp >= 0xff01 && cp <= 0xff5e ? ", full-width"
		: cp == 0x3000 ? ", ideographic space" : cp == ' ' ? ", a space" : "";

	u[encode(cp, u)] = '\0';
	add(t, "\"%s\" (U+%04X%s)", u, (unsigned int)cp, note);
}

/* Edit distance from a (the outlet's) to b (the permit's), with the table
 * the differences are read back from. */
static int number_distance(const uint32_t *a, size_t n, const uint32_t *b, size_t m,
			   unsigned char d[NUMBER_CHARS + 1][NUMBER_CHARS + 1])
{
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			d[i][j] = (unsigned char)best;
		}
	}
	return d[n][m];
}

/* One difference, at 1-based character pos of the outlet's number. */
struct diff {
	char kind;   /* 's' substituted, 'x' extra in the outlet's, 'm' missing from it */
	size_t pos;
	uint32_t have, want;
};

/* Walks the table back from the end; returns the differences in order. */
static size_t read_diffs(const uint32_t *a, size_t n, const uint32_t *b, size_t m,
			 unsigned char d[NUMBER_CHARS + 1][NUMBER_CHARS + 1], struct diff *out)
{
	size_t i = n, j = m, k = 0;
	struct diff rev[2 * NUMBER_CHARS];

	while (i > 0 || j > 0) {
		if (i > 0 && j > 0 && a[i - 1] == b[j - 1] && d[i][j] == d[i - 1][j - 1]) {
			i--, j--;
		} else if (i > 0 && j > 0 && d[i][j] == d[i - 1][j - 1] + 1) {
			rev[k++] = (struct diff){ 's', i, a[i - 1], b[j - 1] };
			i--, j--;
		} else if (i > 0 && d[i][j] == d[i - 1][j] + 1) {
			rev[k++] = (struct diff){ 'x', i, a[i - 1], 0 };
			i--;
		} else {
			rev[k++] = (struct diff){ 'm', i + 1, 0, b[j - 1] };
			j--;
		}
	}
	for (size_t x = 0; x < k; x++)
		out[x] = rev[k - 1 - x];
	return k;
}

static void add_diffs(struct text *t, const struct diff *df, size_t k, size_t n)
{
	for (size_t x = 0; x < k && x < DIFFS_SHOWN; x++) {
		add(t, "%s", x ? "; " : "");
		if (df[x].kind == 's') {
			add(t, "character %zu is ", df[x].pos);
			add_char(t, df[x].have);
			add(t, " where the permit has ");
			add_char(t, df[x].want);
		} else if (df[x].kind == 'x') {
			add(t, "character %zu ", df[x].pos);
			add_char(t, df[x].have);
			add(t, " is not in the permit's number");
		} else {
			add_char(t, df[x].want);
			if (df[x].pos > n)
				add(t, " is missing at the end");
			else
				add(t, " is missing before character %zu", df[x].pos);
		}
	}
	if (k > DIFFS_SHOWN)
		add(t, "; and %zu more", k - DIFFS_SHOWN);
}

/* Full-width forms as the ASCII an input method typed them for. */
static void fold(uint32_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0xff01 && s[i] <= 0xff5e)
			s[i] -= 0xfee0;
		else if (s[i] == 0x3000)
			s[i] = ' ';
	}
}

/* The permit whose number is fewest edits from a, full-width and ASCII
 * forms taken as one; -1 when none is close enough to be the one meant
 * (more than half of the longer one differs). *same: it differs from a
 * in full-width forms only. */
static int closest_permit(const struct config *cfg, const uint32_t *a_in, size_t n,
			  unsigned char d[NUMBER_CHARS + 1][NUMBER_CHARS + 1], bool *same)
{
	uint32_t a[NUMBER_CHARS], b[NUMBER_CHARS];
	int best = -1, best_d = NUMBER_CHARS * 2;

	memcpy(a, a_in, n * sizeof(*a));
	fold(a, n);
	for (size_t i = 0; i < cfg->n_permits; i++) {
		size_t m = cfg->permits[i].number ? decode(cfg->permits[i].number, b) : 0;
		size_t longer = n > m ? n : m;
		int dist;

		if (m == 0 || m > NUMBER_CHARS)
			continue;
		fold(b, m);
		dist = number_distance(a, n, b, m, d);
		if (dist < best_d && (size_t)dist * 2 <= longer + 1) {
			best = (int)i;
			best_d = dist;
		}
	}
	*same = best >= 0 && best_d == 0;
	return best;
}

static void add_others(struct text *t, const struct config *cfg)
{
	size_t shown = 0;

	if (cfg->n_permits == 0) {
		add(t, "; the permits file has none");
		return;
	}
	add(t, "; the permits file has");
	for (size_t i = 0; i < cfg->n_permits && shown < OTHERS_SHOWN; i++)
		if (cfg->permits[i].number)
			add(t, "%s \"%s\"", shown++ ? "," : "", CFG_SHOW(cfg->permits[i].number));
	if (cfg->n_permits > shown)
		add(t, " and %zu more", cfg->n_permits - shown);
}

void cfg_permit_not_found(struct cfg_ctx *c, const struct config *cfg,
			  const config_setting_t *g, const char *number)
{
	unsigned char d[NUMBER_CHARS + 1][NUMBER_CHARS + 1];
	uint32_t a[NUMBER_CHARS], b[NUMBER_CHARS];
	struct diff df[2 * NUMBER_CHARS];
	size_t n = decode(number, a), m, k;
	struct text t = { .len = 0 };
	bool same = false;
	int best = n <= NUMBER_CHARS ? closest_permit(cfg, a, n, d, &same) : -1;

	t.buf[0] = '\0';
	if (best < 0) {
		add_others(&t, cfg);
	} else {
		const struct cfg_permit *p = &cfg->permits[best];

		m = decode(p->number, b);
		number_distance(a, n, b, m, d);
		k = read_diffs(a, n, b, m, d, df);
		add(&t, "; the closest is \"%s\" (permits[%d], line %d)%s: ",
		    CFG_SHOW(p->number), best, p->line,
		    same ? ", which differs only in full-width forms an input method typed for "
			   "ASCII" : "");
		add_diffs(&t, df, k, n);
	}
	cfg_error(c, g, "permit", "no permit numbered \"%s\" in %s%s", CFG_SHOW(number),
		  cfg->permits_path ? CFG_SHOW(cfg->permits_path) : "the permits file", t.buf);
}
