/*
 * sim_ascii.c - the simulator's ASCII probe (see sim_ascii.h): a raw tty,
 * lines formatted from the value model, the streaming clock or the query
 * matcher, the garbage and fault scenarios, and the CSV log.
 *
 * One ppoll() loop, as in Modbus mode. Bounds on blocking: a line is
 * written within 100 ms or dropped unlogged (nobody is reading the line).
 */
#include "sim_ascii.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "sim_rtu.h"
#include "base/clock.h"

#define SIM_ASCII_TICK_MS 250  /* longest ppoll wait: stop flag, socat checks */
#define SIM_ASCII_WRITE_MS 100
#define SIM_ASCII_LONG 1100    /* an overlong line: past any max_line */
#define SIM_ASCII_NOISE 16     /* random bytes in a noisy line */

static const enum sim_param sim_ascii_params[SIM_ASCII_FIELDS] = { SIM_PH, SIM_COD, SIM_TEMP };

static void __attribute__((format(printf, 2, 3)))
sim_ascii_say(const char *kind, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "outfall-sim: %s: ", kind);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define sim_ascii_debug(a, ...) \
	do { if ((a)->opt->verbose) sim_ascii_say("debug", __VA_ARGS__); } while (0)

static speed_t sim_ascii_speed(int baud)
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

int sim_ascii_open(const char *path, int baud, char parity)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	struct termios t;
	int rc;

	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(PARENB | PARODD | CSTOPB);
	t.c_cflag |= CLOCAL | CREAD;
	if (parity != 'N')
		t.c_cflag |= PARENB | (parity == 'O' ? PARODD : 0);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (cfsetispeed(&t, sim_ascii_speed(baud)) < 0 ||
	    cfsetospeed(&t, sim_ascii_speed(baud)) < 0 || tcsetattr(fd, TCSANOW, &t) < 0)
		goto fail;
	tcflush(fd, TCIFLUSH); /* a probe just powered on heard nothing yet */
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

int sim_ascii_format(enum sim_proto proto, const struct sim_values *v, char *buf, size_t cap,
		     char text[SIM_ASCII_FIELDS][32])
{
	static const char *const decimals[SIM_ASCII_FIELDS] = { "%.2f", "%.1f", "%.1f" };
	int n;

	for (int i = 0; i < SIM_ASCII_FIELDS; i++) {
		n = snprintf(text[i], sizeof(text[i]), decimals[i], v->v[sim_ascii_params[i]]);
		if (n < 0 || (size_t)n >= sizeof(text[i]))
			return -ENOBUFS;
	}
	if (proto == SIM_ASCII_KV)
		n = snprintf(buf, cap, "pH=%s,COD=%s,T=%s\r\n", text[0], text[1], text[2]);
	else
		n = snprintf(buf, cap, "%s,%s,%s\r\n", text[0], text[1], text[2]);
	return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}

/* A spoiled line in turn: control bytes, overlong, malformed numbers. */
static size_t sim_ascii_spoil(struct sim_ascii *a, char *buf, size_t cap, const char **kind)
{
	static const char bad_kv[] = "pH=7.1.2,COD=abc,T=\r\n", bad_csv[] = "7.1.2,abc,\r\n";
	size_t n = 0;

	a->spoiled++;
	if (a->spoiled % 3 == 1) {
		memcpy(buf, "pH=", 3);
		for (n = 3; n < 3 + SIM_ASCII_NOISE; n++) {
			char b = (char)sim_rand64(&a->rng);

			buf[n] = b == '\r' || b == '\n' ? '\x7f' : b;
		}
		buf[3] = '\x01'; /* one control byte at least */
		*kind = "control bytes";
	} else if (a->spoiled % 3 == 2) {
		for (n = 0; n < SIM_ASCII_LONG && n + 2 < cap; n++)
			buf[n] = (char)('A' + n % 26);
		*kind = "an overlong line";
	} else {
		const char *bad = a->opt->proto == SIM_ASCII_KV ? bad_kv : bad_csv;

		n = strlen(bad) - 2;
		memcpy(buf, bad, n);
		*kind = "malformed numbers";
	}
	memcpy(buf + n, "\r\n", 2);
	return n + 2;
}

static int sim_ascii_log(struct sim_ascii *a, int64_t wall_ms, char text[SIM_ASCII_FIELDS][32])
{
	if (!a->csv)
		return 0;
	for (int i = 0; i < SIM_ASCII_FIELDS; i++)
		fprintf(a->csv, "%" PRId64 ",0,0,%d,%s,%s\n", wall_ms, i + 1,
			sim_param_name(sim_ascii_params[i]), text[i]);
	if (fflush(a->csv) != 0 || ferror(a->csv)) {
		sim_ascii_say("error", "cannot write %s: %s", a->opt->csv_path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Writes one line due now (streamed, or the answer to a query). */
static int sim_ascii_send(struct sim_ascii *a, int64_t now_ms)
{
	char buf[SIM_ASCII_LINE_MAX], text[SIM_ASCII_FIELDS][32];
	int64_t t_ms = now_ms - a->start_ms, wall_ms = clock_wall_ms();
	const char *kind = NULL;
	struct sim_values vals;
	int len, rc;

	if ((a->opt->scenario == SIM_FAULT || a->opt->fault_window) && t_ms >= a->fault_from_ms &&
	    t_ms < a->fault_until_ms) {
		sim_ascii_debug(a, "fault: probe silent");
		return 0;
	}
	a->lines++;
	if (a->opt->scenario == SIM_GARBAGE && a->lines % a->opt->every == 0) {
		len = (int)sim_ascii_spoil(a, buf, sizeof(buf), &kind);
	} else {
		sim_model_eval(a->model, t_ms, &vals);
		len = sim_ascii_format(a->opt->proto, &vals, buf, sizeof(buf), text);
		if (len < 0)
			return len; /* SIM_ASCII_LINE_MAX too small: a build error */
	}
	rc = sim_rtu_write_all(a->fd, (const uint8_t *)buf, (size_t)len, SIM_ASCII_WRITE_MS);
	if (rc == -ETIMEDOUT || rc == -EAGAIN) {
		sim_ascii_debug(a, "line %" PRIu64 " not taken within %d ms: dropped, not logged",
				a->lines, SIM_ASCII_WRITE_MS);
		return 0;
	}
	if (rc < 0) {
		sim_ascii_say("error", "writing to the line: %s", strerror(-rc));
		return rc;
	}
	if (kind) {
		sim_ascii_debug(a, "garbage: line %" PRIu64 " sent with %s (%d bytes)", a->lines,
				kind, len);
		return 0;
	}
	return sim_ascii_log(a, wall_ms, text);
}

/* Query mode: every time the bytes read so far end in the query, answer. */
static int sim_ascii_input(struct sim_ascii *a, const char *buf, size_t n)
{
	const char *q = a->opt->ascii_query;
	size_t qlen = a->opt->ascii_query_len;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (a->in_len == sizeof(a->in)) { /* keep what may start a query */
			memmove(a->in, a->in + a->in_len - (qlen - 1), qlen - 1);
			a->in_len = qlen - 1;
		}
		a->in[a->in_len++] = buf[i];
		if (a->in_len >= qlen && memcmp(a->in + a->in_len - qlen, q, qlen) == 0) {
			a->in_len = 0;
			rc = sim_ascii_send(a, clock_mono_ms());
		}
	}
	return rc;
}

/* One wait of up to wait_ms for input, then what came is handled. */
static int sim_ascii_step(struct sim_ascii *a, int64_t wait_ms, const sigset_t *waitmask,
			  int (*check)(void *ctx), void *ctx)
{
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)(wait_ms / 1000),
			       .tv_nsec = (long)(wait_ms % 1000) * 1000000L };
	char buf[256];
	int n = ppoll(&pfd, 1, &ts, waitmask), err = errno, rc;
	ssize_t got;

	if (n < 0 && err != EINTR) {
		sim_ascii_say("error", "poll: %s", strerror(err));
		return -err;
	}
	rc = check(ctx);
	if (rc < 0 || n <= 0)
		return rc;
	if (!(pfd.revents & POLLIN)) {
		sim_ascii_say("error", "the line hung up");
		return -EPIPE;
	}
	got = read(a->fd, buf, sizeof(buf));
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (got <= 0) {
		sim_ascii_say("error", "reading the line: %s", got < 0 ? strerror(errno) : "end");
		return got < 0 ? -errno : -EPIPE;
	}
	if (!a->opt->ascii_query_len) {
		sim_ascii_debug(a, "%zd bytes read while streaming: ignored", got);
		return 0;
	}
	return sim_ascii_input(a, buf, (size_t)got);
}

int sim_ascii_serve(struct sim_ascii *a, int64_t end_ms, const sigset_t *waitmask,
		    volatile sig_atomic_t *stop, int (*check)(void *ctx), void *ctx)
{
	bool stream = a->opt->ascii_query_len == 0;
	int64_t every = a->opt->ascii_interval_ms;
	int64_t next = a->start_ms + every;
	int rc = 0;

	while (!*stop && rc == 0) {
		int64_t now = clock_mono_ms(), wait = SIM_ASCII_TICK_MS;

		if (now >= end_ms)
			break;
		if (stream && now >= next) {
			rc = sim_ascii_send(a, now);
			next += every;
			if (next <= now)
				next = now + every; /* late: no burst to catch up */
			continue;
		}
		if (stream && next - now < wait)
			wait = next - now;
		if (end_ms - now < wait)
			wait = end_ms - now;
		rc = sim_ascii_step(a, wait, waitmask, check, ctx);
	}
	return rc;
}
