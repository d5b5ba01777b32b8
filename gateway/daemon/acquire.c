/*
 * acquire.c - bus ownership, reopen of vanished devices, the per-sensor
 * poll schedule, and the bus threads (see acquire.h).
 *
 * Who owns what. While its thread runs, a bus's port and reopen state and
 * its sensors' schedules, complaints and counters (stats) belong to that
 * thread alone; the thread hands each poll to the main loop through the
 * queue, with a copy of the sensor's counters. The main thread owns the
 * counters as of the last record it emitted (shown), and everything while
 * the threads are stopped: acquire_carry and acquire_free touch nothing
 * else. Shared between the threads are only a->stop (under a->lock) and
 * the queue.
 */
#include "acquire.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pollq.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/schedule.h"

#define REOPEN_FIRST_MS 1000
#define REOPEN_MAX_MS 30000
#define START_RETRY_MS 1000      /* a bus thread that could not start */
#define QUEUE_PER_BUS 8          /* polls waiting for the main loop, per bus */
#define STACK_BYTES (256u << 10) /* a bus thread's stack: a record, a
				  * log line and libmodbus need a few KiB */

struct acquire;

struct bus_state {
	struct acquire *a;
	const struct cfg_bus *cfg;
	const struct driver_ops *ops;
	struct port *port;      /* NULL while closed */
	int64_t reopen_ms;      /* monotonic time of the next open attempt */
	int64_t reopen_wait_ms; /* grows while the device stays missing */
	struct complaint open_c;
	struct complaint late_c; /* polls started later than the bus's timeout */
	size_t n_sensors;       /* on this bus; none: no thread */
	int spread_s;           /* its sensors' shortest interval */
	size_t placed;          /* sensors spread so far (acquire_new) */
	pthread_t thread;
	bool running;           /* thread started, not joined yet (main's) */
};

struct sensor_state {
	struct schedule sched;
	struct acquire_stats stats; /* the bus thread's */
	struct acquire_stats shown; /* as of the last record emitted (main's) */
	struct complaint c;
};

/* One poll on its way to the main loop. */
struct handoff {
	int sensor;
	struct acquire_stats stats; /* the sensor's counters after this poll */
	struct record r;
};

struct acquire {
	const struct config *cfg;
	struct bus_state *buses;      /* cfg->n_buses */
	struct sensor_state *sensors; /* cfg->n_sensors */
	struct pollq *q;              /* bus threads -> main loop */
	pthread_mutex_t lock;         /* guards stop */
	pthread_cond_t wake;          /* stop was set; CLOCK_MONOTONIC waits */
	bool stop;
	bool all_running;             /* every bus with sensors has its thread */
	int64_t start_ms;             /* next start of the missing threads */
	struct complaint start_c;
};

/* A bus's driver is its sensors' (config_load allows one per bus); a bus
 * without sensors is never opened. */
static const struct driver_ops *bus_driver(const struct config *cfg, size_t b)
{
	for (size_t s = 0; s < cfg->n_sensors; s++)
		if (cfg->sensors[s].bus == (int)b)
			return driver_for(cfg->sensors[s].driver);
	return driver_for(DRIVER_MODBUS);
}

static int init_sync(struct acquire *a)
{
	pthread_condattr_t ca;
	int rc = pthread_condattr_init(&ca);

	if (rc)
		return -rc;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		return -rc;
	rc = pthread_mutex_init(&a->lock, NULL);
	if (rc) {
		pthread_cond_destroy(&a->wake);
		return -rc;
	}
	return 0;
}

/*
 * The first polls of a bus's sensors, spread over its shortest interval in
 * groups: as many polls as fit in the bus's timeout go together, so a poll
 * waits for at most that (were all 16 sensors of a 9600-baud bus due at
 * once, the last would start 0.6 s late on every round), while a bus with
 * a few sensors still polls them in one burst and the daemon wakes once
 * for it, not once per sensor. A poll's time on the wire is taken as
 * POLL_WIRE_BYTES at the bus's baud rate plus POLL_TURN_MS: group k of g
 * is first due k/g of the interval after now.
 */
#define POLL_WIRE_BYTES 48 /* a request and a 20-register answer, with margin */
#define POLL_TURN_MS 2     /* the slave's turnaround */

static size_t group_size(const struct cfg_bus *bus)
{
	int64_t baud = bus->baud > 0 ? bus->baud : 9600;
	int64_t poll_ms = POLL_WIRE_BYTES * 11 * 1000 / baud + POLL_TURN_MS;
	int64_t g = bus->timeout_ms / poll_ms;

	return g < 1 ? 1 : (size_t)g;
}

static void spread(struct acquire *a, int64_t now_ms)
{
	const struct config *cfg = a->cfg;

	for (size_t s = 0; s < cfg->n_sensors; s++) {
		struct bus_state *b = &a->buses[cfg->sensors[s].bus];
		size_t g = group_size(b->cfg);
		int64_t groups = (int64_t)((b->n_sensors + g - 1) / g);
		int64_t offset_ms = (int64_t)b->spread_s * 1000 * (int64_t)(b->placed++ / g) / groups;

		schedule_init(&a->sensors[s].sched, (int64_t)cfg->sensors[s].interval_s * 1000,
			      (int64_t)cfg->sensors[s].retry_max_s * 1000, now_ms + offset_ms);
	}
}

struct acquire *acquire_new(const struct config *cfg, int64_t now_ms)
{
	struct acquire *a = calloc(1, sizeof(*a));
	size_t active = 0;

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->buses = calloc(cfg->n_buses ? cfg->n_buses : 1, sizeof(*a->buses));
	a->sensors = calloc(cfg->n_sensors ? cfg->n_sensors : 1, sizeof(*a->sensors));
	if (!a->buses || !a->sensors || init_sync(a) < 0) {
		free(a->buses);
		free(a->sensors);
		free(a);
		return NULL;
	}
	for (size_t b = 0; b < cfg->n_buses; b++) {
		a->buses[b].a = a;
		a->buses[b].cfg = &cfg->buses[b];
		a->buses[b].ops = bus_driver(cfg, b);
		a->buses[b].reopen_ms = now_ms;
		a->buses[b].reopen_wait_ms = REOPEN_FIRST_MS;
	}
	for (size_t s = 0; s < cfg->n_sensors; s++) {
		struct bus_state *b = &a->buses[cfg->sensors[s].bus];

		if (b->n_sensors++ == 0)
			active++;
		if (b->n_sensors == 1 || cfg->sensors[s].interval_s < b->spread_s)
			b->spread_s = cfg->sensors[s].interval_s;
	}
	spread(a, now_ms);
	a->start_ms = now_ms;
	if (pollq_new(QUEUE_PER_BUS * (active ? active : 1), sizeof(struct handoff), &a->q) < 0) {
		acquire_free(a);
		return NULL;
	}
	return a;
}

int acquire_fd(const struct acquire *a)
{
	return pollq_fd(a->q);
}

/* The same device with the same line settings and driver: its open port
 * can be handed over as it is. */
static bool same_bus(const struct bus_state *x, const struct bus_state *y)
{
	const struct cfg_bus *a = x->cfg, *b = y->cfg;

	return x->ops == y->ops && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->device, b->device) == 0 && a->baud == b->baud &&
	       a->parity == b->parity && a->data_bits == b->data_bits &&
	       a->stop_bits == b->stop_bits && a->timeout_ms == b->timeout_ms &&
	       a->retries == b->retries;
}

static void carry_bus(struct bus_state *to, struct bus_state *from)
{
	to->port = from->port;
	to->reopen_ms = from->reopen_ms;
	to->reopen_wait_ms = from->reopen_wait_ms;
	to->open_c = from->open_c;
	from->port = NULL;
}

static bool any_running(const struct acquire *a)
{
	for (size_t b = 0; b < a->cfg->n_buses; b++)
		if (a->buses[b].running)
			return true;
	return false;
}

void acquire_carry(struct acquire *a, struct acquire *old, int64_t now_ms)
{
	if (any_running(old)) /* the caller forgot acquire_stop: say what it costs */
		acquire_stop(old, NULL, NULL);
	for (size_t b = 0; b < a->cfg->n_buses; b++)
		for (size_t k = 0; k < old->cfg->n_buses; k++)
			if (same_bus(&a->buses[b], &old->buses[k])) {
				carry_bus(&a->buses[b], &old->buses[k]);
				break;
			}
	for (size_t s = 0; s < a->cfg->n_sensors; s++) {
		int k = config_find_sensor(old->cfg, a->cfg->sensors[s].name);
		struct sensor_state *to = &a->sensors[s];

		if (k < 0)
			continue;
		schedule_carry(&to->sched, &old->sensors[k].sched, now_ms);
		to->stats = old->sensors[k].stats;
		to->shown = old->sensors[k].stats;
		to->c = old->sensors[k].c;
	}
}

void acquire_free(struct acquire *a)
{
	if (!a)
		return;
	if (a->q && any_running(a))
		acquire_stop(a, NULL, NULL);
	for (size_t b = 0; b < a->cfg->n_buses; b++)
		if (a->buses[b].port)
			a->buses[b].ops->close(a->buses[b].port);
	pollq_free(a->q);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a->buses);
	free(a->sensors);
	free(a);
}

/* The earliest poll of bus b that is due, as s; a closed bus's sensors wait
 * for its reopen time. */
static int64_t bus_due(const struct acquire *a, const struct bus_state *b, size_t *s_out)
{
	int64_t next = INT64_MAX;

	for (size_t s = 0; s < a->cfg->n_sensors; s++) {
		int64_t t;

		if (&a->buses[a->cfg->sensors[s].bus] != b)
			continue; /* not even a look: another thread's */
		t = a->sensors[s].sched.next_ms;
		if (!b->port && b->reopen_ms > t)
			t = b->reopen_ms;
		if (t < next) {
			next = t;
			*s_out = s;
		}
	}
	return next;
}

int64_t acquire_next_ms(const struct acquire *a)
{
	return a->all_running ? INT64_MAX : a->start_ms;
}

/* Opens a closed bus when its reopen time has come; true if open. */
static bool bus_ready(struct bus_state *b, int64_t now_ms)
{
	int rc;

	if (b->port)
		return true;
	if (now_ms < b->reopen_ms)
		return false;
	rc = b->ops->open(b->cfg, &b->port);
	if (rc == 0) {
		b->reopen_wait_ms = REOPEN_FIRST_MS;
		if (b->open_c.active)
			complain_recovered(&b->open_c, "bus %s: %s is back", b->cfg->name,
					   b->cfg->device);
		else
			log_info("bus %s: opened %s at %d baud", b->cfg->name, b->cfg->device,
				 b->cfg->baud);
		return true;
	}
	complain(&b->open_c, now_ms, LOG_ERR,
		 "bus %s: cannot open %s: %s (check the device path and that the user "
		 "is in group dialout); retrying", b->cfg->name, b->cfg->device, strerror(-rc));
	b->reopen_ms = now_ms + b->reopen_wait_ms;
	b->reopen_wait_ms = b->reopen_wait_ms * 2 > REOPEN_MAX_MS ? REOPEN_MAX_MS
								   : b->reopen_wait_ms * 2;
	return false;
}

static const char *failure_hint(const struct cfg_sensor *cs, int rc)
{
	if (cs->driver == DRIVER_ASCII && rc == -EBADMSG)
		return "garbled lines (check baud/parity, terminator and max_line)";
	if (cs->driver == DRIVER_ASCII && rc == -EDOM)
		return cs->ascii.decimal == ','
			       ? "numbers with a decimal point where decimal = \",\" wants a comma"
			       : "numbers with a decimal comma, 7,31 (set decimal = \",\" on the "
				 "sensor, with another separator)";
	if (cs->driver == DRIVER_ASCII && rc == -EPROTO)
		return "lines without the configured keys (check key names and format)";
	if (cs->driver == DRIVER_ASCII && rc == -ETIMEDOUT)
		return "no line (check wiring, baud, and the query if the sensor needs one)";
	switch (rc) {
	case -ETIMEDOUT:
		return "no answer (check wiring, slave id, baud and parity)";
	case -EBADMSG:
		return "garbled answers (check baud/parity, termination, or two devices "
		       "sharing one slave id)";
	case -EPROTO:
		return "Modbus exception reply (check register addresses and table)";
	default:
		return "the port failed (device unplugged?)";
	}
}

/* "probe1 (slave 1 on rs485-0)" or "ph1 (ascii on rs232-0)" */
static const char *who(const struct acquire *a, const struct cfg_sensor *cs, char *buf,
		       size_t cap)
{
	if (cs->driver == DRIVER_ASCII)
		snprintf(buf, cap, "%s (ascii on %s)", cs->name, a->cfg->buses[cs->bus].name);
	else
		snprintf(buf, cap, "%s (slave %d on %s)", cs->name, cs->slave,
			 a->cfg->buses[cs->bus].name);
	return buf;
}

static void note_result(struct acquire *a, size_t s, int rc, int64_t now_ms)
{
	const struct cfg_sensor *cs = &a->cfg->sensors[s];
	struct sensor_state *st = &a->sensors[s];
	char name[96];

	st->stats.polls++;
	if (rc == 0) {
		schedule_success(&st->sched, now_ms);
		if (st->c.active)
			complain_recovered(&st->c, "sensor %s: answering again",
					   who(a, cs, name, sizeof(name)));
		return;
	}
	st->stats.failures++;
	schedule_failure(&st->sched, now_ms);
	complain(&st->c, now_ms, LOG_WARNING, "sensor %s: %s; next try in %lld s",
		 who(a, cs, name, sizeof(name)), failure_hint(cs, rc),
		 (long long)(schedule_backoff_ms(&st->sched) / 1000));
}

static void fill_header(const struct acquire *a, size_t s, struct record *r)
{
	const struct cfg_sensor *cs = &a->cfg->sensors[s];

	memset(r, 0, offsetof(struct record, u) + sizeof(struct rec_poll));
	r->type = REC_POLL;
	snprintf(r->u.poll.sensor, sizeof(r->u.poll.sensor), "%s", cs->name);
	if (cs->outlet >= 0)
		snprintf(r->u.poll.outlet, sizeof(r->u.poll.outlet), "%s",
			 a->cfg->outlets[cs->outlet].id);
}

/* A poll that starts more than the bus's timeout after it was due is late:
 * the polls before it on the bus took the time (timeouts, or more polls
 * than the line carries), or the main loop held the queue full. Counted
 * per sensor, said with a rate limit. */
static void note_late(struct acquire *a, size_t s, int64_t late_ms)
{
	const struct cfg_sensor *cs = &a->cfg->sensors[s];
	struct bus_state *b = &a->buses[cs->bus];
	char name[96];

	if (late_ms <= b->cfg->timeout_ms)
		return;
	a->sensors[s].stats.late++;
	complain(&b->late_c, clock_mono_ms(), LOG_WARNING,
		 "bus %s: the poll of %s started %lld ms late, more than the bus's timeout "
		 "(%d ms): the polls before it took the time (slaves not answering, or more "
		 "sensors than the bus can poll at their intervals: lengthen interval_s or "
		 "move sensors to another bus)",
		 b->cfg->name, who(a, cs, name, sizeof(name)), (long long)late_ms,
		 b->cfg->timeout_ms);
}

/* On the bus's thread: one poll of sensor s, into h. */
static void poll_sensor(struct acquire *a, size_t s, struct handoff *h)
{
	const struct cfg_sensor *cs = &a->cfg->sensors[s];
	struct sensor_state *st = &a->sensors[s];
	struct bus_state *b = &a->buses[cs->bus];
	struct record *r = &h->r;
	int rc = -ENODEV;

	fill_header(a, s, r);
	if (bus_ready(b, clock_mono_ms())) {
		rc = b->ops->poll(b->port, cs, st->sched.failures > 0, &r->u.poll, &st->stats.drv);
	} else {
		for (size_t i = 0; i < cs->n_channels && i < REC_MAX_VALUES; i++)
			r->u.poll.values[r->u.poll.n++] = (struct rec_value){
				.param = (uint8_t)cs->channels[i].param, .quality = Q_NO_RESPONSE };
	}
	r->ts_ms = clock_wall_ms();
	if (rc != 0 && rc != -ETIMEDOUT && rc != -EBADMSG && rc != -EPROTO && rc != -EDOM &&
	    b->port) {
		log_err("bus %s: %s failed: %s; closing it and reopening", b->cfg->name,
			b->cfg->device, strerror(-rc));
		b->ops->close(b->port);
		b->port = NULL;
		b->reopen_ms = clock_mono_ms();
	}
	note_result(a, s, rc, clock_mono_ms());
	h->sensor = (int)s;
	h->stats = st->stats;
}

/* a->lock held: sleeps until due_ms (monotonic) or a stop. */
static void wait_until(struct acquire *a, int64_t due_ms)
{
	struct timespec ts = { .tv_sec = due_ms / 1000, .tv_nsec = due_ms % 1000 * 1000000 };

	if (due_ms == INT64_MAX)
		pthread_cond_wait(&a->wake, &a->lock);
	else
		pthread_cond_timedwait(&a->wake, &a->lock, &ts);
}

/*
 * A bus's thread: its sensors one at a time, earliest deadline first. A
 * deadline clamped to "now" by a late poll is later than those of the
 * sensors that were already waiting, so no sensor starves. The push waits
 * while the queue is full: the main loop sets the pace, nothing is lost.
 */
static void *bus_main(void *arg)
{
	struct bus_state *b = arg;
	struct acquire *a = b->a;
	struct handoff h;
	char name[16]; /* the kernel keeps 15 characters */
	size_t s = 0;

	snprintf(name, sizeof(name), "bus %s", b->cfg->name); /* top -H, ps -L */
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		int64_t due = bus_due(a, b, &s);

		if (due > clock_mono_ms()) {
			wait_until(a, due);
			continue;
		}
		pthread_mutex_unlock(&a->lock);
		note_late(a, s, clock_mono_ms() - due);
		poll_sensor(a, s, &h);
		pollq_push(a->q, &h);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	pollq_done(a->q);
	return NULL;
}

/* Starts the threads of the buses that have none; those that fail are
 * tried again after START_RETRY_MS. */
static void start_missing(struct acquire *a, int64_t now_ms)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);

	a->start_ms = now_ms + START_RETRY_MS;
	if (rc) {
		complain(&a->start_c, now_ms, LOG_ERR, "bus threads: cannot start: %s; retrying",
			 strerror(rc));
		return;
	}
	pthread_attr_setstacksize(&attr, STACK_BYTES);
	a->all_running = true;
	for (size_t i = 0; i < a->cfg->n_buses; i++) {
		struct bus_state *b = &a->buses[i];

		if (b->running || b->n_sensors == 0)
			continue;
		pollq_open(a->q, 1);
		rc = pthread_create(&b->thread, &attr, bus_main, b);
		if (rc) {
			pollq_done(a->q);
			a->all_running = false;
			complain(&a->start_c, now_ms, LOG_ERR, "bus %s: cannot start its thread: %s; "
				 "retrying", b->cfg->name, strerror(rc));
			continue;
		}
		b->running = true;
	}
	pthread_attr_destroy(&attr);
	if (a->all_running && a->start_c.active)
		complain_recovered(&a->start_c, "bus threads: all running");
}

static void deliver(struct acquire *a, const struct handoff *h, acquire_emit_fn emit, void *ctx)
{
	a->sensors[h->sensor].shown = h->stats;
	emit(ctx, h->sensor, &h->r);
}

void acquire_run(struct acquire *a, int64_t now_ms, acquire_emit_fn emit, void *ctx)
{
	struct handoff h;

	if (!a->all_running && now_ms >= a->start_ms)
		start_missing(a, now_ms);
	/* at most a queue's worth: the loop comes back while the fd is readable */
	for (size_t n = 0; n < QUEUE_PER_BUS * a->cfg->n_buses && pollq_pop(a->q, &h, false); n++)
		deliver(a, &h, emit, ctx);
}

void acquire_stop(struct acquire *a, acquire_emit_fn emit, void *ctx)
{
	struct handoff h;
	uint64_t dropped = 0;

	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	/* until the last thread has left: a pushing thread needs the room */
	while (pollq_pop(a->q, &h, true)) {
		if (emit)
			deliver(a, &h, emit, ctx);
		else
			dropped++;
	}
	for (size_t b = 0; b < a->cfg->n_buses; b++)
		if (a->buses[b].running) {
			pthread_join(a->buses[b].thread, NULL);
			a->buses[b].running = false;
		}
	pthread_mutex_lock(&a->lock);
	a->stop = false;
	pthread_mutex_unlock(&a->lock);
	a->all_running = false;
	a->start_ms = 0; /* acquire_run starts them again at once */
	if (dropped)
		log_warn("bus threads stopped: %llu polls not handed over", (unsigned long long)dropped);
}

void acquire_get_stats(const struct acquire *a, int sensor_idx, struct acquire_stats *out)
{
	*out = a->sensors[sensor_idx].shown;
}

void acquire_totals(const struct acquire *a, struct acquire_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t s = 0; s < a->cfg->n_sensors; s++) {
		const struct acquire_stats *st = &a->sensors[s].shown;

		out->polls += st->polls;
		out->failures += st->failures;
		out->late += st->late;
		out->drv.requests += st->drv.requests;
		out->drv.timeouts += st->drv.timeouts;
		out->drv.crc_errors += st->drv.crc_errors;
		out->drv.exceptions += st->drv.exceptions;
	}
}
