/*
 * sim.c - outfall-sim, the Modbus RTU slave simulator of the integration
 * tests, the demo and the bench: main, the serve loop and the scenarios.
 * With --ascii it plays an ASCII line probe instead (sim_ascii.c).
 *
 * It plays a water-quality probe and a flow meter (sim_map.c) on one serial
 * line through libmodbus, answers only the slave ids it simulates (others
 * get silence, as on a real bus) and can play one scenario: an exceedance,
 * a slave falling silent, or a noisy line. Every value of a good reply can
 * be logged to a CSV file so tests know exactly what the daemon was sent.
 *
 * One thread, one ppoll() loop on the tty; signals only set a flag. Bounds
 * on blocking: a frame is read with a 100 ms byte timeout, disarming the
 * other-unit flag costs 1 ms, a raw write waits at most 100 ms.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <modbus.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_ascii.h"
#include "sim_map.h"
#include "sim_opts.h"
#include "sim_pty.h"
#include "sim_rtu.h"
#include "base/clock.h"

#define SIM_EX_FAILURE 1         /* runtime failure */
#define SIM_TICK_MS 250          /* longest ppoll wait: duration, socat checks */
#define SIM_BYTE_TIMEOUT_US 100000
#define SIM_DISARM_TIMEOUT_US 1000
#define SIM_WRITE_TIMEOUT_MS 100
#define SIM_PTY_START_MS 5000
#define SIM_NOISE_EXTRA 8        /* noise may run this much past the reply */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static volatile sig_atomic_t sim_stop; /* set by the signal handler only */

struct sim {
	struct sim_opts opt;
	struct sim_model model;
	struct sim_pty pty;                          /* --pty mode only */
	modbus_t *ctx;                               /* owns the tty fd */
	modbus_mapping_t *mapping[SIM_DEVICE_COUNT]; /* per slave, refilled per reply */
	FILE *csv;                                   /* --csv, or NULL */
	int64_t start_ms;       /* monotonic ms at 'ready': time zero */
	int64_t fault_from_ms;  /* silence window of --fault-slave, */
	int64_t fault_until_ms; /* ms since start, until exclusive */
	uint64_t rng;           /* noise bytes of the garbage scenario */
	uint64_t data_replies;  /* data replies due so far, for --every */
	uint64_t spoiled;       /* of those, spoiled: odd bad CRC, even noise */
	struct timespec rx_at;  /* CLOCK_MONOTONIC when the request was read */
};

/* One request, as far as serving it needs. */
struct sim_req {
	uint8_t slave;
	uint8_t function;
	unsigned int addr; /* first register */
	unsigned int nb;   /* register count */
	int dev;           /* enum sim_device answering, or -1 */
	int unit;          /* which of the --probes or --flows, from 0 */
	int len;           /* frame length with CRC */
};

static void __attribute__((format(printf, 1, 2))) sim_error(const char *fmt, ...)
{
	va_list ap;

	fputs("outfall-sim: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 2, 3)))
sim_debug(const struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->opt.verbose)
		return;
	fputs("outfall-sim: debug: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

/* Stop signals stay blocked except inside ppoll(), which gets *waitmask:
 * no stop is lost between the flag test and the wait. */
static void sim_signals(sigset_t *waitmask)
{
	static const int stops[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa = { .sa_handler = sim_on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_LEN(stops); i++) {
		sigaction(stops[i], &sa, NULL);
		sigaddset(&block, stops[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (size_t i = 0; i < ARRAY_LEN(stops); i++)
		sigdelset(waitmask, stops[i]);
}

static int64_t sim_ms(double seconds)
{
	return (int64_t)llround(seconds * 1000.0);
}

static void sim_setup_model(struct sim *s)
{
	int64_t from = sim_ms(s->opt.after_s);
	int64_t until = s->opt.for_s > 0 ? from + sim_ms(s->opt.for_s) : INT64_MAX;

	s->model.seed = s->opt.seed;
	s->model.exceed_param = s->opt.scenario == SIM_EXCEED ? s->opt.exceed_param : -1;
	s->model.exceed_value = s->opt.exceed_value;
	s->model.exceed_from_ms = from;
	s->model.exceed_until_ms = until;
	s->model.exceed_period_ms = sim_ms(s->opt.repeat_s);
	s->fault_from_ms = from;
	s->fault_until_ms = until;
	if (s->opt.fault_window) { /* a silence on top of another scenario */
		s->fault_from_ms = sim_ms(s->opt.fault_after_s);
		s->fault_until_ms = s->opt.fault_for_s > 0
					    ? s->fault_from_ms + sim_ms(s->opt.fault_for_s)
					    : INT64_MAX;
	}
	s->rng = sim_hash64(s->opt.seed ^ 0x6E6F697365ULL); /* its own stream */
}

static int sim_open_csv(struct sim *s)
{
	const char *path = s->opt.csv_path;
	int rc;

	if (path == NULL)
		return 0;
	s->csv = fopen(path, "ae");
	if (s->csv == NULL) {
		rc = -errno;
		sim_error("cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (ftell(s->csv) == 0)
		fputs("wall_ms,slave,function,register,name,value\n", s->csv);
	if (fflush(s->csv) != 0) {
		rc = -errno;
		sim_error("cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

/* "exit status N" or "signal N", from a wait status. */
static const char *sim_wait_text(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	return buf; /* at most 16 characters: never truncated in 32 */
}

static void sim_pty_failed(const struct sim *s, int rc)
{
	const char *link = s->opt.pty_link;
	int st = s->pty.status;
	char how[32];

	if (rc == -ECHILD && WIFEXITED(st) && WEXITSTATUS(st) == 127)
		sim_error("cannot run socat (is it installed?)");
	else if (rc == -ECHILD)
		sim_error("socat ended (%s) before making %s and %s.sim%s",
			  sim_wait_text(st, how, sizeof(how)), link, link,
			  s->opt.verbose ? "" : "; -v shows its messages");
	else if (rc == -ETIMEDOUT)
		sim_error("socat made no %s and %s.sim within %d ms", link, link, SIM_PTY_START_MS);
	else if (rc == -EEXIST)
		sim_error("%s or %s.sim exists and is not a symlink", link, link);
	else
		sim_error("--pty %s: %s", link, strerror(-rc));
}

/* The tty to serve: --device, or the end of the pty pair socat makes. */
static int sim_line(struct sim *s, const char **path)
{
	int rc;

	*path = s->opt.device;
	if (!s->opt.pty_link)
		return 0;
	rc = sim_pty_start(&s->pty, s->opt.pty_link, s->opt.verbose, SIM_PTY_START_MS);
	if (rc < 0) {
		sim_pty_failed(s, rc);
		return rc;
	}
	*path = s->pty.sim_link;
	return 0;
}

static int sim_open_line(struct sim *s)
{
	const char *path;
	int first = s->opt.slave_id[s->opt.units[SIM_PROBE] ? SIM_PROBE : SIM_FLOWMETER];
	int rc = sim_line(s, &path);

	if (rc < 0)
		return rc;
	s->ctx = modbus_new_rtu(path, s->opt.baud, s->opt.parity, 8, 1);
	if (s->ctx == NULL || modbus_set_slave(s->ctx, first) < 0 ||
	    modbus_connect(s->ctx) < 0) {
		rc = -errno;
		sim_error("cannot open %s: %s", path, modbus_strerror(-rc));
		return rc;
	}
	if (modbus_set_byte_timeout(s->ctx, 0, SIM_BYTE_TIMEOUT_US) < 0 ||
	    modbus_set_indication_timeout(s->ctx, 0, SIM_BYTE_TIMEOUT_US) < 0 ||
	    modbus_set_response_timeout(s->ctx, 0, SIM_DISARM_TIMEOUT_US) < 0) {
		rc = -errno;
		sim_error("%s: cannot set timeouts: %s", path, modbus_strerror(-rc));
		return rc;
	}
	modbus_flush(s->ctx); /* requests sent before we were up: a device just
			       * powered on has not heard them either */
	return 0;
}

static int sim_make_mappings(struct sim *s)
{
	for (int dev = 0; dev < SIM_DEVICE_COUNT; dev++) {
		const struct sim_map *map = sim_map_get((enum sim_device)dev);

		s->mapping[dev] = modbus_mapping_new_start_address(0, 0, 0, 0, map->base,
								   map->span, map->base,
								   map->span);
		if (s->mapping[dev] == NULL) {
			sim_error("cannot allocate a register map: %s", strerror(errno));
			return -ENOMEM;
		}
	}
	return 0;
}

static void sim_close(struct sim *s)
{
	for (int dev = 0; dev < SIM_DEVICE_COUNT; dev++)
		if (s->mapping[dev] != NULL)
			modbus_mapping_free(s->mapping[dev]);
	if (s->ctx != NULL) {
		modbus_close(s->ctx);
		modbus_free(s->ctx);
	}
	sim_pty_stop(&s->pty);
	if (s->csv != NULL && fclose(s->csv) != 0)
		sim_error("closing %s: %s", s->opt.csv_path, strerror(errno));
}

static void sim_ready(struct sim *s)
{
	static const char *const scenarios[] = { "normal", "exceed", "fault", "garbage" };
	const struct sim_opts *o = &s->opt;

	s->start_ms = clock_mono_ms();
	if (o->proto != SIM_MODBUS && o->ascii_query_len)
		sim_debug(s, "ASCII %s probe answering queries, %d 8%c1, scenario %s, seed %"
			  PRIu64, o->proto == SIM_ASCII_KV ? "kv" : "csv", o->baud, o->parity,
			  scenarios[o->scenario], o->seed);
	else if (o->proto != SIM_MODBUS)
		sim_debug(s, "ASCII %s probe streaming every %d ms, %d 8%c1, scenario %s, seed %"
			  PRIu64, o->proto == SIM_ASCII_KV ? "kv" : "csv", o->ascii_interval_ms,
			  o->baud, o->parity, scenarios[o->scenario], o->seed);
	else
		sim_debug(s, "%d probe(s) from slave %d, %d flow meter(s) from slave %d, "
			  "%d 8%c1%s, scenario %s, seed %" PRIu64, o->units[SIM_PROBE],
			  o->slave_id[SIM_PROBE], o->units[SIM_FLOWMETER],
			  o->slave_id[SIM_FLOWMETER], o->baud, o->parity,
			  o->wire_time ? " with wire time" : "", scenarios[o->scenario], o->seed);
	if (o->pty_link)
		printf("pty: %s\n", o->pty_link);
	printf("ready\n");
	fflush(stdout); /* a reader that went away is no reason to stop */
}

static int sim_csv_log(struct sim *s, const struct sim_req *r, const struct sim_values *vals,
		       int64_t wall_ms)
{
	const struct sim_map *map = sim_map_get((enum sim_device)r->dev);

	if (s->csv == NULL)
		return 0;
	for (size_t i = 0; i < map->n_points; i++) {
		const struct sim_point *pt = &map->points[i];
		double v = vals->v[pt->param];

		if (!sim_point_overlaps(pt, r->addr, r->nb))
			continue;
		fprintf(s->csv, "%" PRId64 ",%u,%u,%u,%s,", wall_ms, r->slave, r->function,
			pt->reg, sim_param_name(pt->param));
		if (pt->type == SIM_FLOAT32)
			fprintf(s->csv, "%.9g\n", (double)(float)v);
		else
			fprintf(s->csv, "%" PRId64 "\n", (int64_t)v);
	}
	if (fflush(s->csv) != 0 || ferror(s->csv)) {
		sim_error("cannot write %s: %s", s->opt.csv_path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* --wire-time: waits until the request (s->rx_at, read at once from the
 * pty) and a reply of reply_len bytes would have crossed a real line at the
 * configured baud, with 3.5 characters of silence between them. */
static void sim_wire_wait(const struct sim *s, const struct sim_req *r, int reply_len)
{
	int bits = s->opt.parity == 'N' ? 10 : 11; /* start, 8 data, parity, stop */
	double chars = (double)r->len + 3.5 + (double)reply_len;
	int64_t ns = (int64_t)(chars * bits * 1e9 / s->opt.baud);
	struct timespec until = s->rx_at;

	if (!s->opt.wire_time)
		return;
	until.tv_sec += (time_t)(ns / 1000000000);
	until.tv_nsec += (long)(ns % 1000000000);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		if (sim_stop)
			return;
}

/* Sends the reply spoiled: odd ones with a bit of the CRC flipped, even
 * ones replaced by noise. Written raw, past libmodbus, which would fix them. */
static void sim_spoil(struct sim *s, const struct sim_req *r, const uint16_t *words)
{
	uint8_t buf[MODBUS_RTU_MAX_ADU_LENGTH];
	int len = sim_rtu_read_reply(r->slave, r->function, words, r->nb, buf, sizeof(buf));
	const char *kind = "a bad CRC";
	size_t cap;
	int rc;

	if (len < 0)
		return;
	sim_wire_wait(s, r, len);
	s->spoiled++;
	if (s->spoiled % 2 == 1) {
		buf[len - 1] ^= 0x01;
	} else {
		cap = (size_t)len + SIM_NOISE_EXTRA;
		if (cap > sizeof(buf))
			cap = sizeof(buf);
		len = (int)sim_rtu_noise(&s->rng, buf, cap);
		kind = "noise instead";
	}
	rc = sim_rtu_write_all(modbus_get_socket(s->ctx), buf, (size_t)len, SIM_WRITE_TIMEOUT_MS);
	sim_debug(s, "garbage: data reply %" PRIu64 " to slave %u sent with %s (%d bytes)",
		  s->data_replies, r->slave, kind, len);
	if (rc < 0)
		sim_error("writing to the line: %s", strerror(-rc));
}

static int sim_reply_data(struct sim *s, const uint8_t *req, const struct sim_req *r,
			  int64_t t_ms)
{
	const struct sim_map *map = sim_map_get((enum sim_device)r->dev);
	modbus_mapping_t *mm = s->mapping[r->dev];
	uint16_t words[SIM_MAP_MAX_SPAN];
	struct sim_values vals;
	int64_t wall_ms = clock_wall_ms();

	struct sim_model model = s->model;

	model.seed += (uint64_t)r->unit; /* each slave of a kind its own curves */
	sim_model_eval(&model, t_ms, &vals);
	if (sim_map_encode(map, &vals, words, ARRAY_LEN(words)) < 0)
		return -ENOBUFS; /* SIM_MAP_MAX_SPAN is too small: a build error */
	memcpy(mm->tab_registers, words, map->span * sizeof(words[0]));
	memcpy(mm->tab_input_registers, words, map->span * sizeof(words[0]));
	s->data_replies++;
	if (s->opt.scenario == SIM_GARBAGE && s->data_replies % s->opt.every == 0) {
		sim_spoil(s, r, &words[r->addr - map->base]);
		return 0;
	}
	sim_wire_wait(s, r, 5 + 2 * (int)r->nb);
	if (modbus_reply(s->ctx, req, r->len, mm) < 0) {
		sim_error("reply to slave %u: %s", r->slave, modbus_strerror(errno));
		return 0;
	}
	return sim_csv_log(s, r, &vals, wall_ms);
}

static int sim_exception(struct sim *s, const uint8_t *req, const struct sim_req *r,
			 unsigned int code)
{
	if (code == MODBUS_EXCEPTION_ILLEGAL_FUNCTION)
		sim_debug(s, "slave %u function %u: exception %02u", r->slave, r->function, code);
	else
		sim_debug(s, "slave %u function %u register %u count %u: exception %02u",
			  r->slave, r->function, r->addr, r->nb, code);
	sim_wire_wait(s, r, 5);
	if (modbus_reply_exception(s->ctx, req, code) < 0)
		sim_error("exception reply to slave %u: %s", r->slave, modbus_strerror(errno));
	return 0;
}

static bool sim_faulted(const struct sim *s, unsigned int slave, int64_t t_ms)
{
	int64_t period = s->opt.fault_window ? 0 : s->model.exceed_period_ms;

	return (s->opt.scenario == SIM_FAULT || s->opt.fault_window) &&
	       (int)slave == s->opt.fault_slave &&
	       sim_in_window(t_ms, s->fault_from_ms, s->fault_until_ms, period);
}

static void sim_parse_req(const struct sim *s, const uint8_t *req, int len, struct sim_req *r)
{
	r->slave = req[0];
	r->function = req[1];
	r->addr = (unsigned int)req[2] << 8 | req[3];
	r->nb = (unsigned int)req[4] << 8 | req[5];
	r->len = len;
	r->dev = -1;
	r->unit = 0;
	for (int dev = 0; dev < SIM_DEVICE_COUNT; dev++)
		if (r->slave >= s->opt.slave_id[dev] &&
		    r->slave < s->opt.slave_id[dev] + s->opt.units[dev]) {
			r->dev = dev;
			r->unit = r->slave - s->opt.slave_id[dev];
		}
}

/* A whole request frame with a good CRC: answer it, or stay silent. */
static int sim_serve(struct sim *s, const uint8_t *req, int len)
{
	int64_t t_ms = clock_mono_ms() - s->start_ms;
	struct sim_req r;

	sim_parse_req(s, req, len, &r);
	if (r.dev < 0) {
		sim_debug(s, "request for slave %u: not simulated, silence", r.slave);
		return 0;
	}
	if (sim_faulted(s, r.slave, t_ms)) {
		sim_debug(s, "fault: slave %u silent (function %u register %u count %u)",
			  r.slave, r.function, r.addr, r.nb);
		return 0;
	}
	if (r.function != MODBUS_FC_READ_HOLDING_REGISTERS &&
	    r.function != MODBUS_FC_READ_INPUT_REGISTERS)
		return sim_exception(s, req, &r, MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
	if (r.nb < 1 || r.nb > MODBUS_MAX_READ_REGISTERS)
		return sim_exception(s, req, &r, MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
	if (sim_map_check(sim_map_get((enum sim_device)r.dev), r.addr, r.nb) < 0)
		return sim_exception(s, req, &r, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
	return sim_reply_data(s, req, &r, t_ms);
}

/*
 * libmodbus 3.1 serves one unit id per context: for a frame addressed to
 * another unit modbus_receive() returns 0 and arms a flag that swallows the
 * next frame as that unit's reply. Nothing else answers on this line, so
 * the flag is disarmed at once by a receive bounded to 1 ms; the master is
 * still waiting for an answer then, so none of its frames is lost. The
 * frame itself is still in req: serve it if it is for the other slave.
 */
static int sim_other_unit(struct sim *s, const uint8_t *req)
{
	uint8_t junk[MODBUS_RTU_MAX_ADU_LENGTH];
	int len;

	(void)modbus_receive(s->ctx, junk);
	len = sim_rtu_request_len(req, sizeof(junk));
	if (len < 0 || !sim_rtu_crc_ok(req, (size_t)len)) {
		sim_debug(s, "request for slave %u with a bad CRC dropped", req[0]);
		modbus_flush(s->ctx); /* as libmodbus does after a bad CRC */
		return 0;
	}
	return sim_serve(s, req, len);
}

static int sim_receive(struct sim *s)
{
	uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH] = { 0 }; /* short frames read as 0s */
	int rc = modbus_receive(s->ctx, req);
	int err = errno;

	clock_gettime(CLOCK_MONOTONIC, &s->rx_at);
	if (rc > 0)
		return sim_serve(s, req, rc);
	if (rc == 0)
		return sim_other_unit(s, req);
	if (err == EIO || err == EBADF || err == ECONNRESET || err == ENXIO) {
		sim_error("reading the line: %s", modbus_strerror(err));
		return -err;
	}
	sim_debug(s, "bad request dropped: %s", modbus_strerror(err));
	modbus_flush(s->ctx);
	return 0;
}

static const char *sim_line_path(const struct sim *s)
{
	return s->opt.pty_link ? s->pty.sim_link : s->opt.device;
}

/* One pass of the loop: waits up to wait_ms for a frame and serves it.
 * 0, or -errno when the line or socat is gone. */
static int sim_step(struct sim *s, const sigset_t *waitmask, int64_t wait_ms)
{
	struct pollfd pfd = { .fd = modbus_get_socket(s->ctx), .events = POLLIN };
	struct timespec ts = { .tv_sec = (time_t)(wait_ms / 1000),
			       .tv_nsec = (long)(wait_ms % 1000) * 1000000L };
	int n = ppoll(&pfd, 1, &ts, waitmask);
	int err = errno;
	char how[32];

	if (n < 0 && err != EINTR) {
		sim_error("poll: %s", strerror(err));
		return -err;
	}
	if (s->opt.pty_link && sim_pty_check(&s->pty) < 0) {
		sim_error("socat ended (%s)", sim_wait_text(s->pty.status, how, sizeof(how)));
		return -ECHILD;
	}
	if (n <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
		sim_error("%s hung up%s", sim_line_path(s),
			  s->opt.pty_link ? " (socat gone?)" : "");
		return -EPIPE;
	}
	return sim_receive(s);
}

/* Serves until a stop signal (0), --duration (0), or a dead line (-errno). */
static int sim_run(struct sim *s, const sigset_t *waitmask)
{
	int64_t end_ms = INT64_MAX;
	int rc = 0;

	if (s->opt.duration_s > 0)
		end_ms = s->start_ms + sim_ms(s->opt.duration_s);
	while (!sim_stop && rc == 0) {
		int64_t wait_ms = end_ms - clock_mono_ms();

		if (wait_ms <= 0)
			break;
		rc = sim_step(s, waitmask, wait_ms < SIM_TICK_MS ? wait_ms : SIM_TICK_MS);
	}
	return rc;
}

static int sim_check_pty(void *ctx)
{
	struct sim *s = ctx;
	char how[32];

	if (s->opt.pty_link && sim_pty_check(&s->pty) < 0) {
		sim_error("socat ended (%s)", sim_wait_text(s->pty.status, how, sizeof(how)));
		return -ECHILD;
	}
	return 0;
}

/* --ascii: the probe speaks lines on a raw tty instead of Modbus. */
static int sim_serve_ascii(struct sim *s, const sigset_t *waitmask)
{
	struct sim_ascii a = { .opt = &s->opt, .model = &s->model, .csv = s->csv,
			       .fault_from_ms = s->fault_from_ms,
			       .fault_until_ms = s->fault_until_ms, .rng = s->rng };
	int64_t end_ms = INT64_MAX;
	const char *path;
	int rc = sim_line(s, &path);

	if (rc < 0)
		return rc;
	a.fd = sim_ascii_open(path, s->opt.baud, s->opt.parity);
	if (a.fd < 0) {
		sim_error("cannot open %s: %s", path, strerror(-a.fd));
		return a.fd;
	}
	sim_ready(s);
	a.start_ms = s->start_ms;
	if (s->opt.duration_s > 0)
		end_ms = s->start_ms + sim_ms(s->opt.duration_s);
	rc = sim_ascii_serve(&a, end_ms, waitmask, &sim_stop, sim_check_pty, s);
	close(a.fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct sim s;
	sigset_t waitmask;
	int rc;

	memset(&s, 0, sizeof(s));
	sim_pty_init(&s.pty);
	rc = sim_opts_parse(argc, argv, &s.opt);
	if (rc != 0)
		return rc > 0 ? 0 : SIM_EX_USAGE;
	sim_setup_model(&s);
	sim_signals(&waitmask);
	rc = sim_open_csv(&s);
	if (rc == 0 && s.opt.proto != SIM_MODBUS) {
		rc = sim_serve_ascii(&s, &waitmask);
		sim_close(&s);
		return rc < 0 ? SIM_EX_FAILURE : 0;
	}
	if (rc == 0)
		rc = sim_open_line(&s);
	if (rc == 0)
		rc = sim_make_mappings(&s);
	if (rc == 0) {
		sim_ready(&s);
		rc = sim_run(&s, &waitmask);
	}
	sim_close(&s);
	return rc < 0 ? SIM_EX_FAILURE : 0;
}
