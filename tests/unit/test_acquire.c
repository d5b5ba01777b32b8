/* test_acquire.c - the bus threads, with a fake driver behind driver_for
 * (a link seam) whose poll sleeps as long as the bus's timeout_ms says:
 * two slow buses are polled side by side, not one after the other; one
 * bus's polls come out in the order they were made, each with its
 * counters; a bus's first polls are spread over the interval; a stalled loop holds the threads back without losing a poll;
 * a stop hands over the poll under way; a reload moves an open port; a
 * missing device gives "no response" records. Timing is asserted on
 * overlap and order with wide margins, never on absolute speed. Polls
 * that start later than the bus's timeout are counted late. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "daemon/acquire.h"

#define MAX_POLLS 256

/* ---- the fake driver --------------------------------------------------- */

struct port {
	int bus; /* index, from the device name "bus<N>" */
	int delay_ms;
};

struct poll_seen {
	int bus, sensor;
	int64_t start_ms, end_ms;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct poll_seen seen[MAX_POLLS];
static int n_seen, n_opens, n_closes, open_rc;

static void fake_reset(void)
{
	pthread_mutex_lock(&fake_lock);
	n_seen = n_opens = n_closes = open_rc = 0;
	pthread_mutex_unlock(&fake_lock);
}

static int fake_count(int *what)
{
	int n;

	pthread_mutex_lock(&fake_lock);
	n = *what;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

static int fake_open(const struct cfg_bus *bus, struct port **out)
{
	struct port *p;
	int rc;

	pthread_mutex_lock(&fake_lock);
	rc = open_rc;
	if (rc == 0)
		n_opens++;
	pthread_mutex_unlock(&fake_lock);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->bus = atoi(bus->device + 3);
	p->delay_ms = bus->timeout_ms;
	*out = p;
	return 0;
}

static void fake_close(struct port *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&fake_lock);
	n_closes++;
	pthread_mutex_unlock(&fake_lock);
	free(p);
}

/* The value is the poll's number in the whole run. */
static int fake_poll(struct port *p, const struct cfg_sensor *s, bool quick, struct rec_poll *out,
		     struct drv_counters *cnt)
{
	int64_t start = clock_mono_ms();
	int k;

	(void)quick;
	sleep_ms(p->delay_ms);
	pthread_mutex_lock(&fake_lock);
	k = n_seen;
	if (n_seen < MAX_POLLS)
		seen[n_seen++] = (struct poll_seen){ .bus = p->bus, .sensor = s->slave,
						     .start_ms = start, .end_ms = clock_mono_ms() };
	pthread_mutex_unlock(&fake_lock);
	cnt->requests++;
	out->values[0] = (struct rec_value){ .v = k, .param = (uint8_t)s->channels[0].param };
	out->n = 1;
	return 0;
}

static const struct driver_ops fake_ops = {
	.name = "fake", .open = fake_open, .close = fake_close, .poll = fake_poll,
};

const struct driver_ops *__wrap_driver_for(enum driver_kind kind);
const struct driver_ops *__wrap_driver_for(enum driver_kind kind)
{
	(void)kind;
	return &fake_ops;
}

/* ---- a config of buses x sensors, every sensor due every interval_s ---- */

#define MAX_BUSES 4
#define MAX_SENSORS 32

struct fixture {
	struct config cfg;
	struct cfg_bus buses[MAX_BUSES];
	struct cfg_sensor sensors[MAX_SENSORS];
	struct cfg_channel ch;
	char names[MAX_BUSES + MAX_SENSORS][16];
};

/* per_bus sensors on each of n_buses buses, every 1 s, polls taking
 * delay_ms. Sensor slave numbers count from 1 across all buses. */
static void fixture_make(struct fixture *f, size_t n_buses, size_t per_bus, int delay_ms)
{
	memset(f, 0, sizeof(*f));
	f->ch.param = 0;
	for (size_t b = 0; b < n_buses; b++) {
		snprintf(f->names[b], sizeof(f->names[b]), "bus%zu", b);
		f->buses[b] = (struct cfg_bus){ .name = f->names[b], .device = f->names[b],
						 .baud = 9600, .parity = 'N', .data_bits = 8,
						 .stop_bits = 1, .timeout_ms = delay_ms };
		for (size_t k = 0; k < per_bus; k++) {
			size_t s = b * per_bus + k;
			char *name = f->names[MAX_BUSES + s];

			snprintf(name, sizeof(f->names[0]), "s%zu", s + 1);
			f->sensors[s] = (struct cfg_sensor){ .name = name, .bus = (int)b,
							     .slave = (int)s + 1, .interval_s = 1,
							     .retry_max_s = 60, .outlet = -1,
							     .channels = &f->ch, .n_channels = 1 };
		}
	}
	f->cfg.buses = f->buses;
	f->cfg.n_buses = n_buses;
	f->cfg.sensors = f->sensors;
	f->cfg.n_sensors = n_buses * per_bus;
}

/* What the emit callback saw. */
struct got {
	struct acquire *a;
	int n;
	int sensor[MAX_POLLS];
	int value[MAX_POLLS];
	uint8_t quality[MAX_POLLS];
	uint64_t polls_shown[MAX_POLLS]; /* acquire_get_stats during the call */
};

static void on_poll(void *ctx, int sensor_idx, const struct record *r)
{
	struct got *g = ctx;
	struct acquire_stats st;

	assert_int_equal(r->type, REC_POLL);
	assert_true(g->n < MAX_POLLS);
	acquire_get_stats(g->a, sensor_idx, &st);
	g->sensor[g->n] = sensor_idx;
	g->value[g->n] = (int)r->u.poll.values[0].v;
	g->quality[g->n] = r->u.poll.values[0].quality;
	g->polls_shown[g->n] = st.polls;
	g->n++;
}

/* Runs the loop as daemon.c does (poll() on the fd) until want records
 * came or limit_ms passed. */
static void loop_until(struct acquire *a, struct got *g, int want, int limit_ms)
{
	int64_t end = clock_mono_ms() + limit_ms;

	while (g->n < want && clock_mono_ms() < end) {
		struct pollfd p = { .fd = acquire_fd(a), .events = POLLIN };
		int64_t now = clock_mono_ms(), next = acquire_next_ms(a);

		poll(&p, 1, next <= now ? 0 : next - now > 100 ? 100 : (int)(next - now));
		acquire_run(a, clock_mono_ms(), on_poll, g);
	}
}

/* A fresh fake driver and fixture, and an acquire over it (not run yet). */
static struct acquire *setup(struct fixture *f, struct got *g, size_t n_buses, size_t per_bus,
			     int delay_ms)
{
	struct acquire *a;

	fake_reset();
	fixture_make(f, n_buses, per_bus, delay_ms);
	*g = (struct got){ 0 };
	a = acquire_new(&f->cfg, clock_mono_ms());
	assert_non_null(a);
	g->a = a;
	return a;
}

/* ---- the cases ----------------------------------------------------------- */

/* Two buses whose polls take 300 ms each: the polls overlap in time, and
 * both are in within well under two poll times after the start. */
static void test_two_buses_side_by_side(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	struct acquire_stats t;

	(void)state;
	a = setup(&f, &g, 2, 1, 300);
	assert_int_equal(acquire_next_ms(a) <= clock_mono_ms(), 1); /* start me */
	loop_until(a, &g, 2, 5000);
	assert_int_equal(g.n, 2);
	assert_int_equal(fake_count(&n_seen), 2);
	assert_int_not_equal(seen[0].bus, seen[1].bus);
	/* each poll started before the other ended: side by side */
	assert_true(seen[0].start_ms < seen[1].end_ms);
	assert_true(seen[1].start_ms < seen[0].end_ms);
	assert_int_equal(acquire_next_ms(a), INT64_MAX); /* the fd wakes the loop now */
	acquire_totals(a, &t);
	assert_int_equal(t.late, 0); /* each started well within its 300 ms timeout */
	acquire_free(a);
	assert_int_equal(fake_count(&n_closes), 2);
}

/* One bus of five quick sensors: records in the order of the polls, each
 * carrying the counters as of itself. */
static void test_one_bus_in_order_with_counters(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	struct acquire_stats t;

	(void)state;
	a = setup(&f, &g, 1, 5, 5);
	loop_until(a, &g, 5, 5000);
	assert_int_equal(g.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(g.value[i], i); /* the poll's number */
		assert_int_equal(g.polls_shown[i], 1);
		assert_int_equal(g.quality[i], Q_OK);
	}
	acquire_totals(a, &t);
	assert_int_equal(t.polls, 5);
	assert_int_equal(t.drv.requests, 5);
	assert_int_equal(t.failures, 0);
	acquire_free(a);
}

/* The first polls of a bus's four sensors are spread over the interval:
 * sensor k not before k/4 s after the start, in config order. */
static void test_first_polls_spread(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	int64_t t0 = clock_mono_ms();

	(void)state;
	a = setup(&f, &g, 1, 4, 1);
	loop_until(a, &g, 4, 5000);
	assert_int_equal(g.n, 4);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(g.sensor[k], k);
		assert_true(seen[k].start_ms >= t0 + 250 * k);
	}
	acquire_free(a);
}

/* With a 200 ms timeout at 9600 baud three polls fit (acquire.c: about
 * 57 ms each on the wire): the first three of four sensors go in one
 * burst at the start, the fourth half an interval later. */
static void test_first_polls_grouped(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	int64_t t0 = clock_mono_ms();

	(void)state;
	a = setup(&f, &g, 1, 4, 200);
	loop_until(a, &g, 4, 5000);
	assert_int_equal(g.n, 4);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(g.sensor[k], k);
		assert_true(seen[k].start_ms < t0 + 500); /* one after the other, not spread */
	}
	assert_int_equal(g.sensor[3], 3);
	assert_true(seen[3].start_ms >= t0 + 500);
	acquire_free(a);
}

/* A loop that does not drain: the bus thread fills the queue (8 a bus)
 * and waits; once the loop drains, every poll comes, none twice (the
 * overdue ones first: earliest deadline first). */
static void test_stalled_loop_holds_threads_back(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	struct acquire_stats t;
	bool once[24] = { false };

	(void)state;
	a = setup(&f, &g, 1, 24, 1);
	acquire_run(a, clock_mono_ms(), on_poll, &g); /* starts the thread */
	sleep_ms(1500); /* every sensor is due by now */
	/* 8 queued and one in hand, waiting for room */
	assert_int_equal(fake_count(&n_seen), 8 + g.n + 1);
	loop_until(a, &g, 24, 5000);
	assert_int_equal(g.n, 24);
	for (int i = 0; i < 24; i++) {
		assert_false(once[g.sensor[i]]);
		once[g.sensor[i]] = true;
	}
	/* those held back started far later than the 1 ms timeout: late */
	acquire_totals(a, &t);
	assert_true(t.late >= 24 - 8 - 1 - 3);
	assert_true(t.late <= 24);
	acquire_free(a);
}

/* A stop while a poll is under way waits for it and hands it over; the
 * next run starts the thread again. */
static void test_stop_hands_over_the_poll_under_way(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;

	(void)state;
	a = setup(&f, &g, 1, 2, 300);
	acquire_run(a, clock_mono_ms(), on_poll, &g);
	sleep_ms(100); /* the first poll is under way */
	acquire_stop(a, on_poll, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(fake_count(&n_seen), 1); /* the second never started */
	assert_true(acquire_next_ms(a) <= clock_mono_ms());
	loop_until(a, &g, 2, 5000);
	assert_int_equal(g.n, 2);
	assert_int_not_equal(g.sensor[0], g.sensor[1]);
	acquire_free(a);
}

/* Reload: the old threads stopped, the open port moves to the new acquire
 * (no second open, no close), and the counters come along. */
static void test_carry_moves_the_port(void **state)
{
	static struct fixture f, f2;
	static struct got g;
	struct acquire *old, *a;
	struct acquire_stats st;

	(void)state;
	fake_reset();
	fixture_make(&f, 1, 1, 1);
	fixture_make(&f2, 1, 1, 1);
	g = (struct got){ 0 };
	old = acquire_new(&f.cfg, clock_mono_ms());
	assert_non_null(old);
	g.a = old;
	loop_until(old, &g, 1, 5000);
	assert_int_equal(g.n, 1);
	acquire_stop(old, on_poll, &g);
	a = acquire_new(&f2.cfg, clock_mono_ms());
	assert_non_null(a);
	acquire_carry(a, old, clock_mono_ms());
	acquire_free(old);
	assert_int_equal(fake_count(&n_closes), 0);
	acquire_totals(a, &st);
	assert_int_equal(st.polls, 1);
	acquire_get_stats(a, 0, &st);
	assert_int_equal(st.drv.requests, 1);
	acquire_free(a);
	assert_int_equal(fake_count(&n_opens), 1);
	assert_int_equal(fake_count(&n_closes), 1);
}

/* A device that cannot be opened: each sensor still gives a record, of
 * "no response", counted as a failure. */
static void test_missing_device_reports_no_response(void **state)
{
	static struct fixture f;
	static struct got g;
	struct acquire *a;
	struct acquire_stats t;

	(void)state;
	a = setup(&f, &g, 2, 1, 1);
	open_rc = -ENOENT; /* the opens to come fail */
	loop_until(a, &g, 2, 5000);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.quality[0], Q_NO_RESPONSE);
	assert_int_equal(g.quality[1], Q_NO_RESPONSE);
	acquire_totals(a, &t);
	assert_int_equal(t.failures, 2);
	acquire_free(a);
	assert_int_equal(fake_count(&n_seen), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_buses_side_by_side),
		cmocka_unit_test(test_one_bus_in_order_with_counters),
		cmocka_unit_test(test_first_polls_spread),
		cmocka_unit_test(test_first_polls_grouped),
		cmocka_unit_test(test_stalled_loop_holds_threads_back),
		cmocka_unit_test(test_stop_hands_over_the_poll_under_way),
		cmocka_unit_test(test_carry_moves_the_port),
		cmocka_unit_test(test_missing_device_reports_no_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
