/*
 * test_ascii.c - the ASCII line sensor driver: the line framer (CR/LF
 * variants, lines split across reads, blank and overlong lines), the kv and
 * csv parser (spaces, missing keys and fields, extra fields, malformed
 * numbers, nan, empty values, garbage bytes), and the driver itself through
 * driver_ops over a real pty: streaming and query sensors, timeouts and
 * their bounds, retries, echoes, overruns and a vanished port.
 *
 * The test holds the pty's master end and writes what a sensor would send;
 * query tests fork a responder that answers only after it has read the
 * query, so a good result proves the query went out first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/param.h"
#include "drivers/ascii.h"

#define OK Q_OK
#define OOR Q_OUT_OF_RANGE
#define INV Q_INVALID
#define TIMEOUT_MS 150

/* ---- a probe: pH (0..14), COD (0..2000), T (scale 0.5, offset 1) -------- */

static char name_probe[] = "probe";
static char key_ph[] = "pH", key_cod[] = "COD", key_temp[] = "T";

struct probe {
	struct cfg_channel ch[3];
	struct cfg_sensor s;
};

static void probe_init(struct probe *p, enum ascii_format fmt, char sep, char *query)
{
	bool kv = fmt == ASCII_KV;

	memset(p, 0, sizeof(*p));
	p->ch[0] = (struct cfg_channel){ .param = P_PH, .key = kv ? key_ph : NULL,
					 .field = kv ? 0 : 1, .reg = -1, .scale = 1.0,
					 .has_range = true, .range_min = 0, .range_max = 14 };
	p->ch[1] = (struct cfg_channel){ .param = P_COD, .key = kv ? key_cod : NULL,
					 .field = kv ? 0 : 2, .reg = -1, .scale = 1.0,
					 .has_range = true, .range_min = 0, .range_max = 2000 };
	p->ch[2] = (struct cfg_channel){ .param = P_TEMP, .key = kv ? key_temp : NULL,
					 .field = kv ? 0 : 3, .reg = -1, .scale = 0.5,
					 .offset = 1.0 };
	p->s = (struct cfg_sensor){ .name = name_probe, .driver = DRIVER_ASCII,
				    .channels = p->ch, .n_channels = 3 };
	p->s.ascii = (struct cfg_ascii){ .terminator = TERM_CRLF, .format = fmt,
					 .separator = sep, .kv_separator = '=', .query = query,
					 .query_len = query ? strlen(query) : 0, .max_line = 256 };
}

/* ---- the parser --------------------------------------------------------- */

struct line_case {
	const char *line;
	int rc;
	uint8_t q[3];
	double v[3];
};

static void check_line(const struct cfg_sensor *s, size_t i, const struct line_case *lc)
{
	struct rec_value out[3];
	int rc;

	for (int k = 0; k < 3; k++)
		out[k] = (struct rec_value){ .v = -999.0, .quality = Q_COUNT };
	rc = ascii_parse_line(s, lc->line, strlen(lc->line), out);
	if (rc != lc->rc)
		fail_msg("case %zu \"%s\": returned %d, want %d", i, lc->line, rc, lc->rc);
	for (int k = 0; k < 3; k++) {
		uint8_t q = rc == 0 ? lc->q[k] : Q_COUNT; /* untouched on failure */

		if (out[k].quality != q)
			fail_msg("case %zu \"%s\": channel %d quality %d, want %d", i, lc->line, k,
				 out[k].quality, q);
		if (rc == 0 && q != INV && fabs(out[k].v - lc->v[k]) > 1e-9)
			fail_msg("case %zu \"%s\": channel %d = %.17g, want %.17g", i, lc->line, k,
				 out[k].v, lc->v[k]);
		if (rc == 0 && q == INV && !isnan(out[k].v))
			fail_msg("case %zu \"%s\": channel %d invalid but %g", i, lc->line, k,
				 out[k].v);
		if (rc == 0 && out[k].param != s->channels[k].param)
			fail_msg("case %zu: channel %d param %d", i, k, out[k].param);
	}
}

static const struct line_case kv_cases[] = {
	{ "pH=7.12,COD=231.5,T=21.3", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "  pH = 7.12 ,COD= 231.5 , T =21.3  ", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "pH\t=\t7.12,COD=1e2,T=-2.5E1", 0, { OK, OK, OK }, { 7.12, 100, -11.5 } },
	{ "COD=231.5,T=21.3", 0, { INV, OK, OK }, { 0, 231.5, 11.65 } },
	{ "pH=7.12,COD=231.5,T=21.3,DO=8.1,Status=OK", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "P1,2024-05-01 10:00:00,pH=7", 0, { OK, INV, INV }, { 7 } },
	{ "pH=7.1.2,COD=231.5,T=21.3", 0, { INV, OK, OK }, { 0, 231.5, 11.65 } },
	{ "pH=nan,COD=inf,T=0x10", 0, { INV, INV, INV }, { 0 } },
	{ "pH=NaN,COD=-INF,T=1e999", 0, { INV, INV, INV }, { 0 } },
	{ "pH=,COD= ,T=21.3", 0, { INV, INV, OK }, { 0, 0, 11.65 } },
	{ "pH=7.12 pH,COD=231.5mg/L,T=+21.3", 0, { INV, INV, OK }, { 0, 0, 11.65 } },
	{ "pH=15,COD=-0.1,T=1e-400", 0, { OOR, OOR, OK }, { 15, -0.1, 1 } },
	{ "pH=14,COD=0", 0, { OK, OK, INV }, { 14, 0 } },
	{ "pH=7.12,pH=9,,=3,COD=1", 0, { OK, OK, INV }, { 7.12, 1 } },
	{ "ph=7.12,cod=1,t=2", -ENOMSG, { 0 }, { 0 } },
	{ "DO=8.1,Status=OK", -ENOMSG, { 0 }, { 0 } },
	{ "hello world", -EBADMSG, { 0 }, { 0 } },
	{ "=,=,", -EBADMSG, { 0 }, { 0 } },
	{ "   \t ", -EBADMSG, { 0 }, { 0 } },
	{ "pH=7.12\x01,T=1", -EBADMSG, { 0 }, { 0 } },
	{ "pH=7.12,T=21.3\xb0" "C", -EBADMSG, { 0 }, { 0 } },
	{ "\x1b[0mpH=7.12", -EBADMSG, { 0 }, { 0 } },
	{ "pH=7.12\r,T=1", -EBADMSG, { 0 }, { 0 } },
};

static void test_parse_kv(void **state)
{
	struct probe p;

	(void)state;
	probe_init(&p, ASCII_KV, ',', NULL);
	for (size_t i = 0; i < sizeof(kv_cases) / sizeof(kv_cases[0]); i++)
		check_line(&p.s, i, &kv_cases[i]);
}

static const struct line_case csv_cases[] = {
	{ "7.12,231.5,21.3", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ " 7.12 , 231.5\t,21.3 ", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "7.12,231.5", 0, { OK, OK, INV }, { 7.12, 231.5 } },
	{ "7.12,231.5,21.3,99,extra,", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "7.12,,21.3", 0, { OK, INV, OK }, { 7.12, 0, 11.65 } },
	{ ",,", 0, { INV, INV, INV }, { 0 } },
	{ "7.1.2,abc,NaN", 0, { INV, INV, INV }, { 0 } },
	{ "7.12;231.5;21.3", 0, { INV, INV, INV }, { 0 } },
	{ "-1,2500,0", 0, { OOR, OOR, OK }, { -1, 2500, 1 } },
	{ "", -EBADMSG, { 0 }, { 0 } },
	{ "7.12,\x7f" "231.5,21.3", -EBADMSG, { 0 }, { 0 } },
	{ "7.12,231.5,21.3\n", -EBADMSG, { 0 }, { 0 } },
};

static const struct line_case blank_sep_cases[] = {
	{ "7.12 231.5 21.3", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "  7.12 \t 231.5\t\t21.3   ", 0, { OK, OK, OK }, { 7.12, 231.5, 11.65 } },
	{ "7.12  231.5", 0, { OK, OK, INV }, { 7.12, 231.5 } },
	{ "  ", -EBADMSG, { 0 }, { 0 } },
};

static void test_parse_csv(void **state)
{
	struct probe p;

	(void)state;
	probe_init(&p, ASCII_CSV, ',', NULL);
	for (size_t i = 0; i < sizeof(csv_cases) / sizeof(csv_cases[0]); i++)
		check_line(&p.s, i, &csv_cases[i]);
	probe_init(&p, ASCII_CSV, ' ', NULL);
	for (size_t i = 0; i < sizeof(blank_sep_cases) / sizeof(blank_sep_cases[0]); i++)
		check_line(&p.s, 100 + i, &blank_sep_cases[i]);
}

static void test_parse_separators(void **state)
{
	static const struct line_case semi = { "pH:7.12; COD:231.5 ;T:21.3", 0, { OK, OK, OK },
					       { 7.12, 231.5, 11.65 } };
	static const struct line_case tab = { "pH:7.12 \tCOD:231.5  T:21.3", 0, { OK, OK, OK },
					      { 7.12, 231.5, 11.65 } };
	static const struct line_case blank_kv = { "pH 7.12, COD 231.5,T   21.3", 0,
						   { OK, OK, OK }, { 7.12, 231.5, 11.65 } };
	struct probe p;

	(void)state;
	probe_init(&p, ASCII_KV, ';', NULL);
	p.s.ascii.kv_separator = ':';
	check_line(&p.s, 0, &semi);
	probe_init(&p, ASCII_KV, '\t', NULL); /* any run of blanks */
	p.s.ascii.kv_separator = ':';
	check_line(&p.s, 1, &tab);
	probe_init(&p, ASCII_KV, ',', NULL);
	p.s.ascii.kv_separator = ' ';
	check_line(&p.s, 2, &blank_kv);
}

/* ---- the framer --------------------------------------------------------- */

/* Feeds text in pieces of step bytes; writes the lines and errors it gets
 * into got as "[line]" and "!" and returns the count of both. */
static int frame(struct ascii_framer *f, enum ascii_term term, int max_line,
		 const char *text, size_t len, size_t step, char *got, size_t cap)
{
	size_t used = 0;
	int n = 0;

	got[0] = '\0';
	for (size_t off = 0; off < len; off += step) {
		const char *cur = text + off;
		const char *end = text + (off + step < len ? off + step : len);
		size_t ll = 0;
		int r;

		while ((r = ascii_framer_feed(f, term, max_line, &cur, end, &ll)) != ASCII_MORE) {
			int w = r == ASCII_LINE ? snprintf(got + used, cap - used, "[%.*s]",
							   (int)ll, f->buf)
						: snprintf(got + used, cap - used, "!");

			assert_int_equal(r == ASCII_LINE || r == -EMSGSIZE, 1);
			assert_true(w > 0 && (size_t)w < cap - used);
			used += (size_t)w;
			n++;
		}
		assert_ptr_equal(cur, end);
	}
	return n;
}

struct frame_case {
	enum ascii_term term;
	int max_line;
	const char *text;
	const char *want;
};

static const struct frame_case frame_cases[] = {
	{ TERM_CRLF, 256, "a=1\r\nb=2\r\n", "[a=1][b=2]" },
	{ TERM_CRLF, 256, "a=1\nb=2\r\nc", "[a=1][b=2]" },           /* bare LF taken too */
	{ TERM_CRLF, 256, "a\rb\r\n", "[a\rb]" },                     /* a stray CR stays */
	{ TERM_LF, 256, "a=1\nb=2\r\n", "[a=1][b=2]" },
	{ TERM_CR, 256, "a=1\rb=2\r\nc=3\r", "[a=1][b=2][c=3]" },     /* LF of CR LF dropped */
	{ TERM_CR, 256, "a=1\n\rb\r", "[a=1\n][b]" },                 /* LF only at line start */
	{ TERM_CRLF, 256, "\r\n\r\n\n\r\nx\r\n\r\n", "[x]" },         /* blank lines passed */
	{ TERM_CRLF, 16, "0123456789abcdef\r\n", "[0123456789abcdef]" }, /* exactly max_line */
	{ TERM_CRLF, 16, "0123456789abcdefg\r\nok\r\n", "![ok]" },
	{ TERM_LF, 16, "0123456789abcdef\r\n0123456789abcdefg\n", "[0123456789abcdef]!" },
	{ TERM_CR, 16, "0123456789abcdef\r\r", "[0123456789abcdef]" },
	{ TERM_CR, 16, "0123456789abcdef\n\r", "!" },                  /* the LF counts here */
	{ TERM_CRLF, 16, "0123456789abcdefghijklmnopqrstuvwxyz\r\nA\r\nB", "![A]" },
};

static void test_framer(void **state)
{
	struct ascii_framer f;
	char got[256];

	(void)state;
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *fc = &frame_cases[i];
		size_t len = strlen(fc->text);

		/* whole, then one byte at a time, then in threes: the same lines */
		for (size_t step = len; step >= 1; step = step == len ? 1 : step == 1 ? 3 : 0) {
			ascii_framer_reset(&f);
			frame(&f, fc->term, fc->max_line, fc->text, len, step, got, sizeof(got));
			if (strcmp(got, fc->want) != 0)
				fail_msg("frame case %zu (step %zu): got \"%s\", want \"%s\"", i,
					 step, got, fc->want);
			if (step == 3)
				break;
		}
	}
}

static void test_framer_partial_and_huge(void **state)
{
	struct ascii_framer f;
	char got[64], *big;
	size_t n = 5000;

	(void)state;
	ascii_framer_reset(&f);
	assert_int_equal(frame(&f, TERM_CRLF, 256, "pH=7.", 5, 5, got, sizeof(got)), 0);
	assert_int_equal(frame(&f, TERM_CRLF, 256, "12\r", 3, 3, got, sizeof(got)), 0);
	assert_int_equal(frame(&f, TERM_CRLF, 256, "\n", 1, 1, got, sizeof(got)), 1);
	assert_string_equal(got, "[pH=7.12]");
	/* far past the largest max_line, in one piece: dropped, no overflow */
	big = malloc(n + 8);
	assert_non_null(big);
	memset(big, 'x', n);
	memcpy(big + n, "\r\nok\r\n", 6);
	ascii_framer_reset(&f);
	assert_int_equal(frame(&f, TERM_CRLF, CFG_ASCII_LINE_MAX, big, n + 6, n + 6, got,
			       sizeof(got)), 2);
	assert_string_equal(got, "![ok]");
	/* a max_line out of bounds is held to CFG_ASCII_LINE_MAX */
	ascii_framer_reset(&f);
	assert_int_equal(frame(&f, TERM_CRLF, 1 << 20, big, n + 6, 700, got, sizeof(got)), 2);
	assert_string_equal(got, "![ok]");
	free(big);
}

/* ---- the driver over a pty ---------------------------------------------- */

struct pty {
	int master;     /* the sensor's end, held by the test */
	int slave;      /* held open so the line stays up between opens */
	char path[128]; /* the end the driver opens */
	struct cfg_bus bus;
	struct port *port;
	struct drv_counters cnt;
};

static char bus_name[] = "bus0";

static int pty_setup(void **state)
{
	struct pty *t = calloc(1, sizeof(*t));
	struct termios tio;

	if (!t)
		return -1;
	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0 || grantpt(t->master) < 0 || unlockpt(t->master) < 0 ||
	    ptsname_r(t->master, t->path, sizeof(t->path)) != 0)
		return -1;
	t->slave = open(t->path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (t->slave < 0 || tcgetattr(t->slave, &tio) < 0)
		return -1;
	cfmakeraw(&tio);
	if (tcsetattr(t->slave, TCSANOW, &tio) < 0)
		return -1;
	t->bus = (struct cfg_bus){ .name = bus_name, .device = t->path, .baud = 9600,
				   .parity = 'N', .data_bits = 8, .stop_bits = 1,
				   .timeout_ms = TIMEOUT_MS, .retries = 1 };
	if (ascii_ops.open(&t->bus, &t->port) != 0)
		return -1;
	*state = t;
	return 0;
}

static int pty_teardown(void **state)
{
	struct pty *t = *state;

	ascii_ops.close(t->port);
	if (t->master >= 0)
		close(t->master);
	close(t->slave);
	free(t);
	return 0;
}

static int unread(const struct pty *t)
{
	int n = 0;

	assert_int_equal(ioctl(t->slave, FIONREAD, &n), 0);
	return n;
}

/* Writes what the sensor sends and waits until the tty holds it (or as
 * much as it can hold). */
static void put(struct pty *t, const char *text, size_t len)
{
	int want = unread(t) + (int)len;
	int64_t end = clock_mono_ms() + 2000;
	size_t done = 0;

	if (want > ASCII_TTY_FULL)
		want = ASCII_TTY_FULL;
	while (done < len) {
		ssize_t n = write(t->master, text + done, len - done);

		assert_true(n > 0);
		done += (size_t)n;
	}
	while (unread(t) < want && clock_mono_ms() < end)
		poll(NULL, 0, 1);
	assert_true(unread(t) >= want);
}

#define PUT(t, s) put((t), (s), sizeof(s) - 1)

static int do_poll(struct pty *t, const struct cfg_sensor *s, bool quick, struct rec_poll *out)
{
	memset(out, 0, sizeof(*out));
	return ascii_ops.poll(t->port, s, quick, out, &t->cnt);
}

static void assert_values(const struct rec_poll *r, double ph, double cod, double temp)
{
	const double want[3] = { ph, cod, temp };

	assert_int_equal(r->n, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(r->values[k].quality, Q_OK);
		if (fabs(r->values[k].v - want[k]) > 1e-9)
			fail_msg("channel %d = %.17g, want %.17g", k, r->values[k].v, want[k]);
	}
}

static void assert_silent(const struct rec_poll *r)
{
	assert_int_equal(r->n, 3);
	for (int k = 0; k < 3; k++)
		assert_int_equal(r->values[k].quality, Q_NO_RESPONSE);
	assert_int_equal(r->values[0].param, P_PH);
	assert_int_equal(r->values[2].param, P_TEMP);
}

static void test_registered(void **state)
{
	struct port *p = NULL;

	(void)state;
	assert_ptr_equal(driver_for(DRIVER_ASCII), &ascii_ops);
	assert_string_equal(ascii_ops.name, "ascii");
	ascii_ops.close(NULL);
	{
		struct cfg_bus b = { .device = (char[]){ "/nonexistent/tty" }, .baud = 9600,
				     .parity = 'N', .data_bits = 8, .stop_bits = 1,
				     .timeout_ms = 100 };

		assert_int_equal(ascii_ops.open(&b, &p), -ENOENT);
		b.device = (char[]){ "/dev/null" };
		assert_int_equal(ascii_ops.open(&b, &p), -ENOTTY);
		assert_null(p);
	}
}

/* One master per bus: a second open of a held device is refused. */
static void test_bus_claimed(void **state)
{
	struct pty *t = *state;
	struct port *p = NULL;

	assert_int_equal(ascii_ops.open(&t->bus, &p), -EBUSY);
	assert_null(p);
}

static void test_stream_newest_line(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;

	probe_init(&pr, ASCII_KV, ',', NULL);
	PUT(t, "pH=7.00,COD=100,T=20\r\npH=7.10,COD=110,T=22\r\npH=7.2");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 7.10, 110, 12);
	assert_int_equal(t->cnt.requests, 2);
	/* the partial line waited in the driver for the rest */
	PUT(t, "0,COD=120,T=24\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 7.20, 120, 13);
	/* the newest good line wins over a newer garbled one */
	PUT(t, "pH=7.30,COD=130,T=26\r\n\xff\xfe\x01\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 7.30, 130, 14);
	assert_int_equal(t->cnt.crc_errors, 1);
	assert_int_equal(t->cnt.requests, 5);
	assert_int_equal(t->cnt.timeouts, 0);
}

static void test_stream_csv_lf(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;

	probe_init(&pr, ASCII_CSV, ',', NULL);
	pr.s.ascii.terminator = TERM_LF;
	PUT(t, "7.5,1,2\n\n7.6,3,4\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 7.6, 3, 3);
	PUT(t, "7.7,,4\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_int_equal(r.values[0].quality, Q_OK);
	assert_int_equal(r.values[1].quality, Q_INVALID);
	assert_int_equal(r.values[2].quality, Q_OK);
}

static void test_stream_timeout_bound(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	int64_t t0;

	probe_init(&pr, ASCII_KV, ',', NULL);
	PUT(t, "pH=7.0"); /* a line that never ends in time */
	t0 = clock_mono_ms();
	assert_int_equal(do_poll(t, &pr.s, false, &r), -ETIMEDOUT);
	assert_true(clock_mono_ms() - t0 >= TIMEOUT_MS - 1);
	assert_true(clock_mono_ms() - t0 < TIMEOUT_MS + 100); /* no retries when streaming */
	assert_silent(&r);
	assert_int_equal(t->cnt.timeouts, 1);
	assert_int_equal(t->cnt.requests, 1);
}

static void test_stream_garbage(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	char big[400];

	probe_init(&pr, ASCII_KV, ',', NULL);
	memset(big, 'A', sizeof(big));
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	PUT(t, "\x02\x90garbage\x03\r\nhello\r\n");
	put(t, big, sizeof(big));
	assert_int_equal(do_poll(t, &pr.s, false, &r), -EBADMSG);
	assert_silent(&r);
	assert_int_equal(t->cnt.crc_errors, 3);
	assert_int_equal(t->cnt.requests, 3);
	/* a status line of another shape is passed over, not an error */
	PUT(t, "Status=OK\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), -EPROTO);
	assert_int_equal(t->cnt.exceptions, 1);
	PUT(t, "Status=OK\r\npH=6.9,COD=50,T=10\r\nStatus=OK\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 6.9, 50, 6);
	assert_int_equal(t->cnt.crc_errors, 3);
}

/* The sensor writes a line only after a delay: the poll waits for it. */
static void test_stream_waits(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	int status;
	pid_t pid;

	probe_init(&pr, ASCII_KV, ',', NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const char line[] = "pH=8.0,COD=5,T=4\r\n";

		poll(NULL, 0, TIMEOUT_MS / 3);
		_exit(write(t->master, line, sizeof(line) - 1) == sizeof(line) - 1 ? 0 : 1);
	}
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 8.0, 5, 3);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* More than the tty holds: what was read is old and the line after it may
 * be torn, so the poll never hands out an old value. */
static void test_stream_overrun(void **state)
{
	static const char old[] = "pH=1.00,COD=1,T=1\r\n";
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	char *buf;
	size_t n = 0, cap = 6000;
	int rc;

	probe_init(&pr, ASCII_KV, ',', NULL);
	buf = malloc(cap);
	assert_non_null(buf);
	while (n + sizeof(old) < 5000) {
		memcpy(buf + n, old, sizeof(old) - 1);
		n += sizeof(old) - 1;
	}
	memcpy(buf + n, "pH=8.00,COD=8,T=8\r\n", 19);
	put(t, buf, n + 19);
	rc = do_poll(t, &pr.s, false, &r);
	if (rc == 0)
		assert_values(&r, 8.0, 8, 5); /* the backlog read through to its end */
	else
		assert_true(rc == -ETIMEDOUT || rc == -EBADMSG);
	/* fresh lines are read again (the first may go to the torn line) */
	PUT(t, "pH=9.00,COD=9,T=9\r\npH=9.00,COD=9,T=9\r\n");
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	assert_values(&r, 9.0, 9, 5.5);
	free(buf);
}

/* A responder: for each answer, reads the master until the query has come
 * (exit 2 if it does not within a second), optionally echoes it, then
 * writes the answer (NULL: stays silent). Exits 0 when all went so. */
static pid_t responder(struct pty *t, const char *query, bool echo,
		       const char *const answers[], int n)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid != 0)
		return pid;
	for (int i = 0; i < n; i++) {
		char got[256];
		size_t len = 0, q = strlen(query);
		int64_t end = clock_mono_ms() + 1000;

		while (len < q || memcmp(got + len - q, query, q) != 0) {
			struct pollfd pfd = { .fd = t->master, .events = POLLIN };
			ssize_t r;

			if (clock_mono_ms() >= end || len == sizeof(got))
				_exit(2);
			if (poll(&pfd, 1, 50) <= 0)
				continue;
			r = read(t->master, got + len, sizeof(got) - len);
			if (r <= 0)
				_exit(3);
			len += (size_t)r;
		}
		if (echo && write(t->master, query, q) != (ssize_t)q)
			_exit(4);
		if (answers[i] && write(t->master, answers[i], strlen(answers[i])) < 0)
			_exit(5);
	}
	_exit(0);
}

static void reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("responder ended with status 0x%x", status);
}

static char query_read[] = "READ\r\n";

static void test_query(void **state)
{
	static const char *const answers[] = { "pH=7.5,COD=200,T=19\r\n" };
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	pid_t pid;

	probe_init(&pr, ASCII_KV, ',', query_read);
	PUT(t, "pH=1.0,COD=1,T=1\r\n"); /* stale: flushed before the query */
	pid = responder(t, "READ\r\n", false, answers, 1);
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	reap(pid);
	assert_values(&r, 7.5, 200, 10.5);
	assert_int_equal(t->cnt.requests, 1);
	assert_int_equal(t->cnt.crc_errors, 0);
}

static void test_query_echo_and_garbage(void **state)
{
	static const char *const answers[] = { "\x15\x80noise\r\n7.4,150,18\r\n" };
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	pid_t pid;

	probe_init(&pr, ASCII_CSV, ',', query_read);
	pid = responder(t, "READ\r\n", true, answers, 1);
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	reap(pid);
	assert_values(&r, 7.4, 150, 10);
	assert_int_equal(t->cnt.crc_errors, 1); /* the noise, not the echo */
	assert_int_equal(t->cnt.requests, 2);
}

static void test_query_retry(void **state)
{
	static const char *const answers[] = { NULL, "pH=7.1,COD=90,T=16\r\n" };
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	pid_t pid;

	probe_init(&pr, ASCII_KV, ',', query_read);
	pid = responder(t, "READ\r\n", false, answers, 2);
	assert_int_equal(do_poll(t, &pr.s, false, &r), 0);
	reap(pid);
	assert_values(&r, 7.1, 90, 9);
	assert_int_equal(t->cnt.timeouts, 1);
	assert_int_equal(t->cnt.requests, 2);
}

static void test_query_timeout_bounds(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	int64_t t0, dt;

	probe_init(&pr, ASCII_KV, ',', query_read);
	ascii_ops.close(t->port);
	t->bus.retries = 2;
	assert_int_equal(ascii_ops.open(&t->bus, &t->port), 0);
	t0 = clock_mono_ms();
	assert_int_equal(do_poll(t, &pr.s, false, &r), -ETIMEDOUT);
	dt = clock_mono_ms() - t0;
	assert_true(dt >= 3 * TIMEOUT_MS - 1 && dt < 3 * TIMEOUT_MS + 150);
	assert_silent(&r);
	assert_int_equal(t->cnt.timeouts, 3);
	t0 = clock_mono_ms();
	assert_int_equal(do_poll(t, &pr.s, true, &r), -ETIMEDOUT); /* quick: once */
	dt = clock_mono_ms() - t0;
	assert_true(dt >= TIMEOUT_MS - 1 && dt < TIMEOUT_MS + 100);
	assert_int_equal(t->cnt.timeouts, 4);
	assert_int_equal(t->cnt.requests, 4);
}

static void test_port_gone(void **state)
{
	struct pty *t = *state;
	struct probe pr;
	struct rec_poll r;
	int rc;

	probe_init(&pr, ASCII_KV, ',', NULL);
	close(t->master); /* the adapter was unplugged */
	t->master = -1;
	rc = do_poll(t, &pr.s, false, &r);
	assert_true(rc < 0 && rc != -ETIMEDOUT && rc != -EBADMSG && rc != -EPROTO);
	assert_silent(&r);
	probe_init(&pr, ASCII_KV, ',', query_read);
	rc = do_poll(t, &pr.s, false, &r);
	assert_true(rc < 0 && rc != -ETIMEDOUT && rc != -EBADMSG && rc != -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_kv),
		cmocka_unit_test(test_parse_csv),
		cmocka_unit_test(test_parse_separators),
		cmocka_unit_test(test_framer),
		cmocka_unit_test(test_framer_partial_and_huge),
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_bus_claimed, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_newest_line, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_csv_lf, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_timeout_bound, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_garbage, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_waits, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_stream_overrun, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_query, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_query_echo_and_garbage, pty_setup,
						pty_teardown),
		cmocka_unit_test_setup_teardown(test_query_retry, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_query_timeout_bounds, pty_setup, pty_teardown),
		cmocka_unit_test_setup_teardown(test_port_gone, pty_setup, pty_teardown),
	};

	return cmocka_run_group_tests_name("ascii", tests, NULL, NULL);
}
