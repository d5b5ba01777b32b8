/*
 * acquire.c - bus ownership, reopen of vanished devices, and the per-sensor
 * poll schedule (see acquire.h).
 */
#include "acquire.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/schedule.h"

#define REOPEN_FIRST_MS 1000
#define REOPEN_MAX_MS 30000

struct bus_state {
	const struct cfg_bus *cfg;
	const struct driver_ops *ops;
	struct port *port;      /* NULL while closed */
	int64_t reopen_ms;      /* monotonic time of the next open attempt */
	int64_t reopen_wait_ms; /* grows while the device stays missing */
	struct complaint open_c;
};

struct sensor_state {
	struct schedule sched;
	struct acquire_stats stats;
	struct complaint c;
	bool due;           /* to be polled in the current pass */
};

struct acquire {
	const struct config *cfg;
	struct bus_state *buses;     /* cfg->n_buses */
	struct sensor_state *sensors; /* cfg->n_sensors */
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

struct acquire *acquire_new(const struct config *cfg, int64_t now_ms)
{
	struct acquire *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->cfg = cfg;
	a->buses = calloc(cfg->n_buses ? cfg->n_buses : 1, sizeof(*a->buses));
	a->sensors = calloc(cfg->n_sensors ? cfg->n_sensors : 1, sizeof(*a->sensors));
	if (!a->buses || !a->sensors) {
		acquire_free(a);
		return NULL;
	}
	for (size_t b = 0; b < cfg->n_buses; b++) {
		a->buses[b].cfg = &cfg->buses[b];
		a->buses[b].ops = bus_driver(cfg, b);
		a->buses[b].reopen_ms = now_ms;
		a->buses[b].reopen_wait_ms = REOPEN_FIRST_MS;
	}
	for (size_t s = 0; s < cfg->n_sensors; s++)
		schedule_init(&a->sensors[s].sched, (int64_t)cfg->sensors[s].interval_s * 1000,
			      (int64_t)cfg->sensors[s].retry_max_s * 1000, now_ms);
	return a;
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

void acquire_carry(struct acquire *a, struct acquire *old, int64_t now_ms)
{
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
		to->c = old->sensors[k].c;
	}
}

void acquire_free(struct acquire *a)
{
	if (!a)
		return;
	if (a->buses)
		for (size_t b = 0; b < a->cfg->n_buses; b++)
			if (a->buses[b].port)
				a->buses[b].ops->close(a->buses[b].port);
	free(a->buses);
	free(a->sensors);
	free(a);
}

int64_t acquire_next_ms(const struct acquire *a)
{
	int64_t next = INT64_MAX;

	for (size_t s = 0; s < a->cfg->n_sensors; s++) {
		const struct bus_state *b = &a->buses[a->cfg->sensors[s].bus];
		int64_t t = a->sensors[s].sched.next_ms;

		if (!b->port && b->reopen_ms > t)
			t = b->reopen_ms;
		if (t < next)
			next = t;
	}
	return next;
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

static void poll_sensor(struct acquire *a, size_t s, acquire_emit_fn emit, void *ctx)
{
	const struct cfg_sensor *cs = &a->cfg->sensors[s];
	struct sensor_state *st = &a->sensors[s];
	struct bus_state *b = &a->buses[cs->bus];
	struct record r;
	int rc = -ENODEV;

	fill_header(a, s, &r);
	if (bus_ready(b, clock_mono_ms())) {
		rc = b->ops->poll(b->port, cs, st->sched.failures > 0, &r.u.poll, &st->stats.drv);
	} else {
		for (size_t i = 0; i < cs->n_channels && i < REC_MAX_VALUES; i++)
			r.u.poll.values[r.u.poll.n++] = (struct rec_value){
				.param = (uint8_t)cs->channels[i].param, .quality = Q_NO_RESPONSE };
	}
	r.ts_ms = clock_wall_ms();
	if (rc != 0 && rc != -ETIMEDOUT && rc != -EBADMSG && rc != -EPROTO && rc != -EDOM &&
	    b->port) {
		log_err("bus %s: %s failed: %s; closing it and reopening", b->cfg->name,
			b->cfg->device, strerror(-rc));
		b->ops->close(b->port);
		b->port = NULL;
		b->reopen_ms = clock_mono_ms();
	}
	note_result(a, s, rc, clock_mono_ms());
	emit(ctx, (int)s, &r);
}

void acquire_run(struct acquire *a, int64_t now_ms, acquire_emit_fn emit, void *ctx)
{
	size_t n = a->cfg->n_sensors;

	/* Each due sensor once per pass, earliest deadline first: a deadline
	 * clamped to "now" by a late poll must wait for the next pass. */
	for (size_t s = 0; s < n; s++)
		a->sensors[s].due = a->sensors[s].sched.next_ms <= now_ms;
	for (;;) {
		size_t best = n;

		for (size_t s = 0; s < n; s++)
			if (a->sensors[s].due &&
			    (best == n || a->sensors[s].sched.next_ms < a->sensors[best].sched.next_ms))
				best = s;
		if (best == n)
			return;
		a->sensors[best].due = false;
		poll_sensor(a, best, emit, ctx);
	}
}

void acquire_get_stats(const struct acquire *a, int sensor_idx, struct acquire_stats *out)
{
	*out = a->sensors[sensor_idx].stats;
}

void acquire_totals(const struct acquire *a, struct acquire_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t s = 0; s < a->cfg->n_sensors; s++) {
		const struct acquire_stats *st = &a->sensors[s].stats;

		out->polls += st->polls;
		out->failures += st->failures;
		out->drv.requests += st->drv.requests;
		out->drv.timeouts += st->drv.timeouts;
		out->drv.crc_errors += st->drv.crc_errors;
		out->drv.exceptions += st->drv.exceptions;
	}
}
