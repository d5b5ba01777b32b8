/*
 * ascii.c - ASCII line sensor driver (see ascii.h): the line framer, the
 * kv/csv parser, and the tty side (raw termios, bounded reads and writes
 * through poll(), streaming and query polls).
 *
 * A bus has one master, as in modbus_rtu.c: an open port holds an exclusive
 * flock() on its device (dropped by the kernel when the process dies) and,
 * unless it is a pty, TIOCEXCL; another holder makes open() -EBUSY, before
 * the line is reprogrammed.
 */
#include "ascii.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "buslock.h"
#include "base/clock.h"

#define ASCII_NUM_MAX 47     /* bytes of a number token */
#define ASCII_READ_CHUNK 512 /* bytes per read() */
#define ASCII_SETTLE_MS 20   /* after an overrun: quiet this long = drained */

/* ---- framing ------------------------------------------------------------ */

void ascii_framer_reset(struct ascii_framer *f)
{
	f->len = 0;
	f->dropping = false;
	f->ready = false;
}

/* The terminator came: the line, a dropped one, or nothing (blank). */
static int framer_end(struct ascii_framer *f, enum ascii_term term, size_t max_line,
		      size_t *len)
{
	if (f->dropping) {
		f->dropping = false;
		f->len = 0;
		return -EMSGSIZE;
	}
	if (term != TERM_CR && f->len > 0 && f->buf[f->len - 1] == '\r')
		f->len--;
	if (f->len > max_line) {
		f->len = 0;
		return -EMSGSIZE;
	}
	if (f->len == 0)
		return ASCII_MORE;
	*len = f->len;
	f->ready = true;
	return ASCII_LINE;
}

int ascii_framer_feed(struct ascii_framer *f, enum ascii_term term, int max_line,
		      const char **cur, const char *end, size_t *len)
{
	size_t max = max_line > 0 && max_line <= CFG_ASCII_LINE_MAX ? (size_t)max_line
								  : CFG_ASCII_LINE_MAX;
	char eol = term == TERM_CR ? '\r' : '\n';
	const char *p = *cur;

	if (f->ready) {
		f->len = 0;
		f->ready = false;
	}
	while (p < end) {
		char b = *p++;

		if (b == eol) {
			int r = framer_end(f, term, max, len);

			if (r != ASCII_MORE) {
				*cur = p;
				return r;
			}
			continue;
		}
		if (f->dropping || (term == TERM_CR && b == '\n' && f->len == 0))
			continue; /* the rest of a dropped line; the LF of a CR LF */
		if (f->len > max) { /* max + 1 holds a CR before the LF */
			f->dropping = true;
			f->len = 0;
			continue;
		}
		f->buf[f->len++] = b;
	}
	*cur = p;
	return ASCII_MORE;
}

/* ---- parsing ------------------------------------------------------------ */

static bool is_blank(char b)
{
	return b == ' ' || b == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* A cursor over the fields of a line. A blank separator stands for any run
 * of blanks, with none leading or trailing; any other separates exactly. */
struct fields {
	const char *p, *end;
	char sep;
	bool done;
};

static bool fields_next(struct fields *f, const char **s, size_t *n)
{
	const char *q;

	if (f->done)
		return false;
	if (is_blank(f->sep)) {
		while (f->p < f->end && is_blank(*f->p))
			f->p++;
		if (f->p == f->end) {
			f->done = true;
			return false;
		}
		for (q = f->p; q < f->end && !is_blank(*q); q++)
			;
	} else {
		q = memchr(f->p, f->sep, (size_t)(f->end - f->p));
		if (!q)
			q = f->end;
	}
	*s = f->p;
	*n = (size_t)(q - f->p);
	if (q == f->end)
		f->done = true;
	else
		f->p = q + 1;
	trim(s, n);
	return true;
}

/* What a value token is. */
enum num {
	NUM_OK,
	NUM_BAD,  /* not a number: the channel is Q_INVALID */
	NUM_MARK, /* a number with the other decimal mark than the sensor's */
};

/*
 * A decimal number, all of it: no hex, no "nan" or "inf", no unit. Its
 * decimal mark is the point, or the comma when comma_mark (the sensor's
 * decimal = ","). A number that reads with one of the other mark in its
 * place (7,31 on a sensor set for the point, 7.31 on one set for the
 * comma) is NUM_MARK: its line is a framing error that says so, never a
 * silently invalid value.
 */
static enum num parse_number(const char *s, size_t n, bool comma_mark, double *v)
{
	char tok[ASCII_NUM_MAX + 1];
	char mark = comma_mark ? ',' : '.', other = comma_mark ? '.' : ',';
	char *endp;
	double x;
	int others = 0;

	if (n == 0 || n > ASCII_NUM_MAX)
		return NUM_BAD;
	for (size_t i = 0; i < n; i++) {
		tok[i] = s[i];
		if (s[i] == mark || (s[i] == other && ++others == 1))
			tok[i] = '.';
		else if (!((s[i] >= '0' && s[i] <= '9') || strchr("+-eE", s[i])))
			return NUM_BAD;
	}
	tok[n] = '\0';
	errno = 0;
	x = strtod(tok, &endp);
	if (endp != tok + n || (errno == ERANGE && isinf(x)))
		return NUM_BAD;
	if (others)
		return NUM_MARK;
	*v = x;
	return NUM_OK;
}

/* s[0 .. n) (found) judged for channel ch, as decode_channel does; *mark
 * is set when it is a number with the other decimal mark (NUM_MARK). */
static struct rec_value channel_value(const struct cfg_sensor *s, const struct cfg_channel *ch,
				      bool found, const char *v, size_t n, bool *mark)
{
	struct rec_value out = { .v = NAN, .param = (uint8_t)ch->param, .quality = Q_INVALID };
	enum num r = found ? parse_number(v, n, s->ascii.decimal == ',', &out.v) : NUM_BAD;

	if (r == NUM_MARK)
		*mark = true;
	if (r != NUM_OK) {
		out.v = NAN;
		return out;
	}
	out.v = out.v * ch->scale + ch->offset;
	if (!isfinite(out.v))
		out.quality = Q_INVALID;
	else if (ch->has_range && (out.v < ch->range_min || out.v > ch->range_max))
		out.quality = Q_OUT_OF_RANGE;
	else
		out.quality = Q_OK;
	return out;
}

/* All digits, with an optional sign: what "pH=7,31" leaves on each side of
 * its comma when the comma also separates the fields. */
static bool is_integer(const char *s, size_t n)
{
	size_t i = n > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;

	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool line_clean(const char *line, size_t len)
{
	bool blank = true;

	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)line[i];

		if ((b < ' ' && b != '\t') || b > '~')
			return false;
		blank = blank && is_blank((char)b);
	}
	return !blank;
}

/* The kv and csv parsers fill out[0 .. n) and found[], both of
 * CFG_MAX_CHANNELS: every loop is bounded by that size too, so their safety
 * does not rest on the config validator (ascii_parse_line refuses more). */
/* The channels of s named by key k take value v; false when none is. */
static bool kv_take(const struct cfg_sensor *s, size_t n, const char *k, size_t kn,
		    const char *v, size_t vn, bool *found, struct rec_value *out, bool *mark)
{
	bool hit = false;

	for (size_t i = 0; i < n && i < CFG_MAX_CHANNELS; i++) {
		const struct cfg_channel *ch = &s->channels[i];

		if (found[i] || !ch->key || strlen(ch->key) != kn || memcmp(ch->key, k, kn))
			continue;
		found[i] = true; /* the first of a repeated key counts */
		out[i] = channel_value(s, ch, true, v, vn, mark);
		hit = true;
	}
	return hit;
}

static int parse_kv(const struct cfg_sensor *s, size_t n, const char *line, size_t len,
		    struct rec_value *out)
{
	struct fields f = { line, line + len, s->ascii.separator, false };
	bool found[CFG_MAX_CHANNELS] = { false };
	/* a comma between fields may have cut a decimal comma: pH=7,31 */
	bool cut = s->ascii.separator == ',' && s->ascii.decimal != ',';
	bool mark = false, after_int = false;
	int pairs = 0, hits = 0;
	const char *fs;
	size_t fn;

	while (fields_next(&f, &fs, &fn)) {
		const char *eq = fn ? memchr(fs, s->ascii.kv_separator, fn) : NULL;
		const char *k = fs, *v;
		size_t kn, vn;
		bool hit;

		if (!eq) { /* a device id, a timestamp, a status word: passed over */
			mark = mark || (cut && after_int && is_integer(fs, fn));
			after_int = false;
			continue;
		}
		kn = (size_t)(eq - fs);
		v = eq + 1;
		vn = fn - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		after_int = false;
		if (kn == 0)
			continue;
		pairs++;
		hit = kv_take(s, n, k, kn, v, vn, found, out, &mark);
		hits += hit;
		after_int = hit && is_integer(v, vn);
	}
	if (pairs == 0)
		return -EBADMSG;
	if (mark)
		return -EDOM;
	if (hits == 0)
		return -ENOMSG;
	for (size_t i = 0; i < n && i < CFG_MAX_CHANNELS; i++)
		if (!found[i])
			out[i] = channel_value(s, &s->channels[i], false, NULL, 0, &mark);
	return 0;
}

static int parse_csv(const struct cfg_sensor *s, size_t n, const char *line, size_t len,
		     struct rec_value *out)
{
	struct fields f = { line, line + len, s->ascii.separator, false };
	bool found[CFG_MAX_CHANNELS] = { false };
	bool mark = false;
	const char *fs;
	size_t fn;
	int idx = 0;

	while (fields_next(&f, &fs, &fn)) {
		idx++;
		for (size_t i = 0; i < n && i < CFG_MAX_CHANNELS; i++) {
			if (s->channels[i].field != idx)
				continue;
			found[i] = true;
			out[i] = channel_value(s, &s->channels[i], true, fs, fn, &mark);
		}
	}
	if (mark)
		return -EDOM;
	for (size_t i = 0; i < n && i < CFG_MAX_CHANNELS; i++)
		if (!found[i])
			out[i] = channel_value(s, &s->channels[i], false, NULL, 0, &mark);
	return 0;
}

int ascii_parse_line(const struct cfg_sensor *s, const char *line, size_t len,
		     struct rec_value *out)
{
	struct rec_value vals[CFG_MAX_CHANNELS];
	size_t n = s->n_channels;
	int rc = 0;

	if (n > CFG_MAX_CHANNELS)
		return -EINVAL;
	if (!line_clean(line, len))
		return -EBADMSG;
	if (s->ascii.format == ASCII_KV)
		rc = parse_kv(s, n, line, len, vals);
	else
		rc = parse_csv(s, n, line, len, vals);
	if (rc == 0)
		memcpy(out, vals, n * sizeof(*vals));
	return rc;
}

/* ---- the tty ------------------------------------------------------------ */

struct port {
	int fd;                  /* the tty, non-blocking */
	int timeout_ms;          /* per attempt */
	int retries;             /* extra query attempts */
	struct ascii_framer fr;  /* carries a streaming sensor's partial line */
};

/* One poll's progress over one or more reads. */
struct attempt {
	const struct cfg_sensor *s;
	struct drv_counters *cnt;
	struct rec_value vals[CFG_MAX_CHANNELS]; /* the newest good line's */
	bool have;    /* vals hold a good line */
	int lines;    /* lines judged */
	int bad;      /* of those, framing errors */
	int mark;     /* of those bad ones, numbers with the other decimal mark */
	int foreign;  /* of those, without the sensor's keys */
};

static speed_t baud_speed(int baud)
{
	switch (baud) {
	case 1200: return B1200;
	case 2400: return B2400;
	case 4800: return B4800;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	default: return B9600;
	}
}

static int set_termios(int fd, const struct cfg_bus *bus)
{
	static const tcflag_t sizes[] = { CS5, CS6, CS7, CS8 };
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag |= bus->data_bits >= 5 && bus->data_bits <= 8 ? sizes[bus->data_bits - 5] : CS8;
	if (bus->parity == 'E' || bus->parity == 'O') {
		t.c_cflag |= PARENB | (bus->parity == 'O' ? PARODD : 0);
		t.c_iflag |= INPCK; /* a parity error reads as NUL: a framing error */
	}
	if (bus->stop_bits == 2)
		t.c_cflag |= CSTOPB;
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, baud_speed(bus->baud)) < 0 ||
	    cfsetospeed(&t, baud_speed(bus->baud)) < 0 || tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

static int ascii_open(const struct cfg_bus *bus, struct port **out)
{
	struct port *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->fd = open(bus->device, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (p->fd < 0) {
		rc = -errno;
		free(p);
		return rc;
	}
	rc = buslock_claim(p->fd);
	if (rc == 0)
		rc = set_termios(p->fd, bus);
	if (rc < 0) {
		close(p->fd);
		free(p);
		return rc;
	}
	tcflush(p->fd, TCIOFLUSH); /* what came before we listened is stale */
	p->timeout_ms = bus->timeout_ms;
	p->retries = bus->retries;
	ascii_framer_reset(&p->fr);
	*out = p;
	return 0;
}

static void ascii_close(struct port *p)
{
	if (!p)
		return;
	tcflush(p->fd, TCOFLUSH); /* close() would wait for unsent bytes */
	close(p->fd);
	free(p);
}

/* A line that repeats the query minus its line ending: the adapter's echo. */
static bool is_echo(const struct cfg_sensor *s, const char *line, size_t len)
{
	size_t q = s->ascii.query_len;

	if (!s->ascii.query)
		return false;
	while (q > 0 && (s->ascii.query[q - 1] == '\r' || s->ascii.query[q - 1] == '\n'))
		q--;
	return q == len && memcmp(s->ascii.query, line, len) == 0;
}

/* Judges every line completed by buf[0 .. n); a query poll stops at the
 * first good one, a streaming poll keeps the newest. */
static void take_lines(struct port *p, struct attempt *at, const char *buf, size_t n)
{
	const struct cfg_sensor *s = at->s;
	const char *cur = buf, *end = buf + n;
	struct rec_value vals[CFG_MAX_CHANNELS];
	size_t len;
	int r;

	while (!(at->have && s->ascii.query) &&
	       (r = ascii_framer_feed(&p->fr, s->ascii.terminator, s->ascii.max_line, &cur, end,
				      &len)) != ASCII_MORE) {
		if (r == ASCII_LINE && s->ascii.query && is_echo(s, p->fr.buf, len))
			continue;
		at->lines++;
		at->cnt->requests++;
		if (r == ASCII_LINE)
			r = ascii_parse_line(s, p->fr.buf, len, vals);
		if (r == -ENOMSG) {
			at->foreign++;
		} else if (r < 0) {
			at->bad++;
			at->mark += r == -EDOM;
			at->cnt->crc_errors++;
		} else { /* ascii_parse_line took n_channels <= CFG_MAX_CHANNELS */
			memcpy(at->vals, vals, s->n_channels * sizeof(vals[0]));
			at->have = true;
		}
	}
}

/* Waits up to settle_ms (not past deadline_ms) for input: 1 some came,
 * 0 none, or -errno. */
static int settle(struct port *p, int settle_ms, int64_t deadline_ms)
{
	int64_t left = deadline_ms - clock_mono_ms();
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	int r;

	if (settle_ms <= 0 || left <= 0)
		return 0;
	r = poll(&pfd, 1, left < settle_ms ? (int)left : settle_ms);
	if (r < 0)
		return errno == EINTR ? 1 : -errno;
	if (r > 0 && !(pfd.revents & POLLIN))
		return -EIO;
	return r > 0;
}

/* Reads what the tty holds until it has been quiet for settle_ms (0: at
 * once) or deadline_ms passes. Returns the bytes read, or -errno when the
 * port failed. */
static ssize_t drain(struct port *p, struct attempt *at, int settle_ms, int64_t deadline_ms)
{
	char buf[ASCII_READ_CHUNK];
	ssize_t total = 0, n;
	int r;

	while (clock_mono_ms() < deadline_ms) {
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = settle(p, settle_ms, deadline_ms);
			if (r <= 0)
				return r < 0 ? r : total;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		total += n;
		take_lines(p, at, buf, (size_t)n);
	}
	return total;
}

/* Waits until a good line is in or deadline_ms passes. 0 either way, or
 * -errno when the port failed (hung up, unplugged). */
static int wait_line(struct port *p, struct attempt *at, int64_t deadline_ms)
{
	char buf[ASCII_READ_CHUNK];

	while (!at->have) {
		int64_t left = deadline_ms - clock_mono_ms();
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		if (!(pfd.revents & POLLIN))
			return -EIO; /* POLLHUP, POLLERR, POLLNVAL alone */
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* readable but at its end: hung up */
		take_lines(p, at, buf, (size_t)n);
	}
	return 0;
}

static int write_query(struct port *p, const struct cfg_sensor *s, int64_t deadline_ms)
{
	size_t done = 0;

	while (done < s->ascii.query_len) {
		int64_t left = deadline_ms - clock_mono_ms();
		struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = write(p->fd, s->ascii.query + done, s->ascii.query_len - done);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* What an attempt that ended without a port failure amounts to. */
static int attempt_result(struct attempt *at)
{
	if (at->have)
		return 0;
	if (at->mark > 0)
		return -EDOM;
	if (at->bad > 0)
		return -EBADMSG;
	if (at->foreign > 0) {
		at->cnt->exceptions++;
		return -EPROTO;
	}
	if (at->lines == 0)
		at->cnt->requests++;
	at->cnt->timeouts++;
	return -ETIMEDOUT;
}

/*
 * The tty overran while nobody read it. What it held is old; a UART drops
 * what arrives meanwhile, so the next line in is torn (its end is dropped
 * as a framing error); a pty or USB adapter holds the rest further down,
 * so reading goes on until the line is quiet, and the newest good line of
 * what follows is the one taken.
 */
static ssize_t drop_stale(struct port *p, struct attempt *at, int64_t deadline_ms)
{
	at->have = false;
	p->fr.dropping = true;
	p->fr.len = 0;
	return drain(p, at, ASCII_SETTLE_MS, deadline_ms);
}

static int poll_stream(struct port *p, struct attempt *at)
{
	int64_t deadline = clock_mono_ms() + p->timeout_ms;
	ssize_t got = drain(p, at, 0, deadline);
	int rc;

	if (got >= ASCII_TTY_FULL)
		got = drop_stale(p, at, deadline);
	if (got < 0)
		return (int)got;
	rc = wait_line(p, at, deadline);
	return rc < 0 ? rc : attempt_result(at);
}

static int poll_query(struct port *p, struct attempt *at)
{
	int64_t deadline = clock_mono_ms() + p->timeout_ms;
	int rc;

	at->have = false;
	at->lines = at->bad = at->mark = at->foreign = 0;
	if (tcflush(p->fd, TCIFLUSH) < 0)
		return -errno;
	ascii_framer_reset(&p->fr);
	rc = write_query(p, at->s, deadline);
	if (rc == -ETIMEDOUT)
		return attempt_result(at);
	if (rc == 0)
		rc = wait_line(p, at, deadline);
	return rc < 0 ? rc : attempt_result(at);
}

static int ascii_poll(struct port *p, const struct cfg_sensor *s, bool quick,
		      struct rec_poll *out, struct drv_counters *cnt)
{
	struct attempt at = { .s = s, .cnt = cnt };
	int attempts = s->ascii.query && !quick ? 1 + p->retries : 1;
	int rc = -EIO;

	if (s->n_channels > CFG_MAX_CHANNELS) /* out->values and at.vals hold that many */
		return -EINVAL;
	out->n = (uint8_t)s->n_channels;
	for (size_t i = 0; i < s->n_channels; i++)
		out->values[i] = (struct rec_value){ .v = 0.0,
						     .param = (uint8_t)s->channels[i].param,
						     .quality = Q_NO_RESPONSE };
	for (int i = 0; i < attempts; i++) {
		rc = s->ascii.query ? poll_query(p, &at) : poll_stream(p, &at);
		if (rc != -ETIMEDOUT && rc != -EBADMSG)
			break; /* a good line, a foreign device, or a dead port */
	}
	if (rc == 0)
		memcpy(out->values, at.vals, s->n_channels * sizeof(at.vals[0]));
	return rc;
}

const struct driver_ops ascii_ops = {
	.name = "ascii",
	.open = ascii_open,
	.close = ascii_close,
	.poll = ascii_poll,
};
