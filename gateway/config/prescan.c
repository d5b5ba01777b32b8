/*
 * prescan.c - reading a config file, and the look at its characters that
 * comes first. Outside quoted strings libconfig takes ASCII only, and says
 * no more than "syntax error" about the rest. A Chinese input method left
 * in full-width mode types “ ” ＂ ； ＝ ， （ ） instead of " ; = , ( ): they look
 * right in an editor, so the installer needs to be told which character it
 * is, where (file:line:column, the column counted in characters) and what
 * to type instead. Non-ASCII text inside "..." (permit numbers, holders)
 * and in comments is fine and passes untouched.
 *
 * The scan streams the file once through a small lexer (strings with their
 * escapes, # and // comments, block comments) before libconfig reads it.
 * A full-width quote opening a string is taken as opening one, so the
 * Chinese text after it is not reported character by character; a
 * full-width quote that closes an ASCII-opened string (followed by ; , or
 * the end of the line) is reported too. Anything found is an error: such a
 * file never parses, so libconfig is not asked.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_FILE_MAX (1 << 20)

#define REPORTS_MAX 20           /* characters named per file; then a count */
#define BAD_BYTE 0x80000000u     /* flags a byte that does not start UTF-8 */

/* Characters an input method types for ASCII ones. */
static const struct lookalike {
	uint32_t cp;
	const char *ascii; /* what to type instead; "" = delete it */
	const char *name;
} lookalikes[] = {
	{ 0x201c, "\"", "LEFT DOUBLE QUOTATION MARK" },
	{ 0x201d, "\"", "RIGHT DOUBLE QUOTATION MARK" },
	{ 0x2018, "\"", "LEFT SINGLE QUOTATION MARK" },
	{ 0x2019, "\"", "RIGHT SINGLE QUOTATION MARK" },
	{ 0xff02, "\"", "FULLWIDTH QUOTATION MARK" },
	{ 0xff07, "\"", "FULLWIDTH APOSTROPHE" },
	{ 0x300c, "\"", "LEFT CORNER BRACKET" },
	{ 0x300d, "\"", "RIGHT CORNER BRACKET" },
	{ 0xff1b, ";", "FULLWIDTH SEMICOLON" },
	{ 0xff1d, "=", "FULLWIDTH EQUALS SIGN" },
	{ 0xff0c, ",", "FULLWIDTH COMMA" },
	{ 0x3001, ",", "IDEOGRAPHIC COMMA" },
	{ 0xff08, "(", "FULLWIDTH LEFT PARENTHESIS" },
	{ 0xff09, ")", "FULLWIDTH RIGHT PARENTHESIS" },
	{ 0xff1a, ":", "FULLWIDTH COLON" },
	{ 0xff5b, "{", "FULLWIDTH LEFT CURLY BRACKET" },
	{ 0xff5d, "}", "FULLWIDTH RIGHT CURLY BRACKET" },
	{ 0xff3b, "[", "FULLWIDTH LEFT SQUARE BRACKET" },
	{ 0xff3d, "]", "FULLWIDTH RIGHT SQUARE BRACKET" },
	{ 0x3010, "[", "LEFT BLACK LENTICULAR BRACKET" },
	{ 0x3011, "]", "RIGHT BLACK LENTICULAR BRACKET" },
	{ 0x3002, ".", "IDEOGRAPHIC FULL STOP" },
	{ 0xff0e, ".", "FULLWIDTH FULL STOP" },
	{ 0xff03, "#", "FULLWIDTH NUMBER SIGN" },
	{ 0xff0d, "-", "FULLWIDTH HYPHEN-MINUS" },
	{ 0x2013, "-", "EN DASH" },
	{ 0x2014, "-", "EM DASH" },
	{ 0x2212, "-", "MINUS SIGN" },
	{ 0x3000, " ", "IDEOGRAPHIC SPACE" },
	{ 0x00a0, " ", "NO-BREAK SPACE" },
	{ 0x200b, "", "ZERO WIDTH SPACE" },
	{ 0xfeff, "", "BYTE ORDER MARK" },
};

struct scan {
	struct cfg_ctx *c;
	const char *path;
	int line, col;     /* of the character being looked at; col in characters */
	enum { CODE, STRING, ESCAPE, WIDE_STRING, LINE_COMMENT, BLOCK_COMMENT } st;
	bool slash;        /* CODE: the character before was '/' */
	bool star;         /* BLOCK_COMMENT: the character before was '*' */
	uint32_t close;    /* STRING: a full-width quote that may end it, or 0 */
	int close_line, close_col;
	int found;         /* characters found, reported or not */
};

static const struct lookalike *lookalike(uint32_t cp)
{
	for (size_t i = 0; i < sizeof(lookalikes) / sizeof(lookalikes[0]); i++)
		if (lookalikes[i].cp == cp)
			return &lookalikes[i];
	return NULL;
}

static bool is_quote(uint32_t cp)
{
	const struct lookalike *l = lookalike(cp);

	return l && l->ascii[0] == '"';
}

/* What may follow the end of a string value. */
static bool ends_value(uint32_t cp)
{
	return cp == ';' || cp == ',' || cp == ')' || cp == ']' || cp == '}' || cp == '\n' ||
	       cp == '\r' || cp == '#' || cp == 0xff1b || cp == 0xff0c || cp == 0xff09 ||
	       cp == 0xff3d || cp == 0xff5d || cp == 0x3001;
}

/* What to type instead of cp, as a phrase. */
static void fix_text(uint32_t cp, char *buf, size_t n)
{
	const struct lookalike *l = lookalike(cp);

	if (cp == 0xfeff)
		snprintf(buf, n, "delete it (save the file as UTF-8 without a byte order mark)");
	else if (l && !l->ascii[0])
		snprintf(buf, n, "delete it (most editors do not show it)");
	else if (l && l->ascii[0] == ' ')
		snprintf(buf, n, "type an ASCII space instead");
	else if (l)
		snprintf(buf, n, "type the ASCII '%s' instead", l->ascii);
	else if (cp >= 0xff01 && cp <= 0xff5e)
		snprintf(buf, n, "type the ASCII '%c' instead", (char)(cp - 0xfee0));
	else
		snprintf(buf, n, "only ASCII may stand there; text belongs in \"...\"");
}

static void report(struct scan *s, uint32_t cp, int line, int col, const char *what)
{
	const struct lookalike *l = lookalike(cp);
	char u[5] = "", fix[96];
	bool wide = (cp >= 0xff01 && cp <= 0xff5e) || (cp >= 0x3000 && cp <= 0x3011) ||
		    (cp >= 0x2018 && cp <= 0x201d);

	if (s->found++ >= REPORTS_MAX)
		return;
	s->c->errors++;
	if (cp & BAD_BYTE) {
		fprintf(s->c->err, "%s:%d:%d: byte 0x%02X is not UTF-8 (save the file as "
			"UTF-8)\n", s->path, line, col, (unsigned int)(cp & 0xff));
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
	} else {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
	}
	if (cp >= 0x10000)
		u[0] = '\0'; /* an emoji, say: the code point says enough */
	fix_text(cp, fix, sizeof(fix));
	fprintf(s->c->err, "%s:%d:%d: %s%s(U+%04X%s%s) %s: %s%s\n", s->path, line, col, u,
		u[0] ? " " : "", (unsigned int)cp, l ? " " : "", l ? l->name : "", what, fix,
		wide ? " (an input method's full-width form)" : "");
}

static void step_code(struct scan *s, uint32_t cp)
{
	bool slash = s->slash;

	s->slash = false;
	if (slash && (cp == '/' || cp == '*')) {
		s->st = cp == '/' ? LINE_COMMENT : BLOCK_COMMENT;
		s->star = false;
	} else if (cp == '"') {
		s->st = STRING;
	} else if (cp == '#') {
		s->st = LINE_COMMENT;
	} else if (cp == '/') {
		s->slash = true;
	} else if (cp >= 0x80) {
		report(s, cp, s->line, s->col, "outside a quoted string");
		if (is_quote(cp))
			s->st = WIDE_STRING; /* the text after it was meant as a string */
	}
}

static void step_string(struct scan *s, uint32_t cp)
{
	if (s->close) {
		if (cp == ' ' || cp == '\t')
			return;
		if (ends_value(cp)) {
			report(s, s->close, s->close_line, s->close_col,
			       "seems to end a string opened with an ASCII '\"'");
			s->close = 0;
			s->st = CODE;
			step_code(s, cp);
			return;
		}
		s->close = 0;
	}
	if (cp == '\\') {
		s->st = ESCAPE;
	} else if (cp == '"') {
		s->st = CODE;
	} else if (cp == 0x201c || cp == 0x201d || cp == 0xff02) {
		s->close = cp;
		s->close_line = s->line;
		s->close_col = s->col;
	}
}

static void step(struct scan *s, uint32_t cp)
{
	switch (s->st) {
	case CODE:
		step_code(s, cp);
		break;
	case STRING:
		step_string(s, cp);
		break;
	case ESCAPE:
		s->st = STRING;
		break;
	case WIDE_STRING:
		if (cp == '\n' || cp == '"')
			s->st = CODE;
		else if (is_quote(cp)) {
			report(s, cp, s->line, s->col, "outside a quoted string");
			s->st = CODE;
		}
		break;
	case LINE_COMMENT:
		if (cp == '\n')
			s->st = CODE;
		break;
	case BLOCK_COMMENT:
		if (s->star && cp == '/')
			s->st = CODE;
		s->star = cp == '*';
		break;
	}
}

/* The next character of f; -1 at the end; a byte that is not UTF-8 comes
 * back as BAD_BYTE | byte, and the scan goes on after it. */
static int64_t next_char(FILE *f)
{
	int b = getc(f), more;
	uint32_t cp;

	if (b == EOF)
		return -1;
	if (b < 0x80)
		return b;
	more = (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : -1;
	if (more < 0)
		return BAD_BYTE | (uint32_t)b;
	cp = (uint32_t)b & (0x3fu >> more);
	for (int i = 0; i < more; i++) {
		int x = getc(f);

		if (x == EOF || (x & 0xc0) != 0x80) {
			if (x != EOF)
				ungetc(x, f);
			return BAD_BYTE | (uint32_t)b;
		}
		cp = cp << 6 | ((uint32_t)x & 0x3f);
	}
	return cp;
}

/* Errors reported for f (read to its end). */
static int prescan(struct cfg_ctx *c, FILE *f, const char *path)
{
	struct scan s = { .c = c, .path = path, .line = 1, .col = 0, .st = CODE };
	int64_t cp;

	while ((cp = next_char(f)) >= 0) {
		s.col++;
		if (((uint32_t)cp & BAD_BYTE) && s.st == CODE)
			report(&s, (uint32_t)cp, s.line, s.col, "");
		else if (!((uint32_t)cp & BAD_BYTE))
			step(&s, (uint32_t)cp);
		if (cp == '\n') {
			s.line++;
			s.col = 0;
		}
	}
	if (s.close)
		report(&s, s.close, s.close_line, s.close_col,
		       "seems to end a string opened with an ASCII '\"'");
	if (s.found > REPORTS_MAX) {
		fprintf(c->err, "%s: %d more characters like these not shown\n", path,
			s.found - REPORTS_MAX);
		c->errors++;
	}
	return s.found;
}

/* Opens path for reading only if it is a regular file of at most
 * CFG_FILE_MAX bytes: a FIFO must not hang a start or a reload (the open
 * does not block, and nothing is read from it), and libconfig's parser
 * takes quadratic time on huge strings. NULL with *why set otherwise. */
static FILE *open_config(const char *path, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *f;

	*why = NULL;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if (st.st_size > CFG_FILE_MAX)
		*why = "larger than 1 MiB; a configuration is a few kB";
	if (*why || !(f = fdopen(fd, "re"))) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	return f;
}

/* Back to the start of f for another read; false reported. */
static bool rewind_file(struct cfg_ctx *c, FILE *f, const char *path)
{
	if (fseek(f, 0, SEEK_SET) == 0)
		return true;
	fprintf(c->err, "%s: cannot read it twice: %s (a regular file is needed)\n", path,
		strerror(errno));
	c->errors++;
	return false;
}

bool cfg_read_file(struct cfg_ctx *c, config_t *lc, const char *path,
		   const config_setting_t *from, const char *member)
{
	const char *why;
	FILE *f = open_config(path, &why);
	int ok, e = errno;

	if (!why)
		why = strerror(e);
	if (!f && from) {
		cfg_error(c, from, member, "cannot read \"%s\": %s", CFG_SHOW(path), why);
		return false;
	}
	if (!f) {
		fprintf(c->err, "%s: cannot read: %s\n", CFG_SHOW(path), why);
		c->errors++;
		return false;
	}
	if (prescan(c, f, path) > 0) {
		fclose(f);
		return false;
	}
	if (!rewind_file(c, f, path)) {
		fclose(f);
		return false;
	}
	/* libconfig 1.5 leaks on a syntax error: it is found in a child */
	ok = cfg_parse_in_child(c, lc, f, path);
	if (ok == 0 || (ok > 0 && !rewind_file(c, f, path))) {
		fclose(f);
		return false;
	}
	ok = config_read(lc, f);
	fclose(f);
	if (!ok) {
		fprintf(c->err, "%s:%d: syntax error: %s\n",
			CFG_SHOW(config_error_file(lc) ? config_error_file(lc) : path),
			config_error_line(lc), config_error_text(lc));
		c->errors++;
	}
	return ok;
}
