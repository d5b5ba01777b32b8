/* test_status.c - the status snapshot: round trip through the file, every
 * way a file can be corrupt, atomic replacement, failure paths, how polls
 * update it, and each sink's last error and next retry. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/param.h"
#include "daemon/daemon.h"

struct fx {
	char dir[256];
	char path[300];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!f)
		return -1;
	*state = f;
	n = snprintf(f->dir, sizeof(f->dir), "%s/test_status.", tmp && *tmp ? tmp : P_tmpdir);
	if (n < 0 || (size_t)n + 7 > sizeof(f->dir))
		return -1;
	memset(f->dir + n, 'X', 6); /* the six characters mkdtemp replaces */
	f->dir[n + 6] = '\0';
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, STATUS_FILE);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char tmp[320];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A two-sensor config, as config_load would leave it. */
static struct cfg_bus buses[] = {
	{ .name = "rs485-0", .device = "/dev/ttyUSB0" },
	{ .name = "rs232-1", .device = "/dev/ttyAMA0" },
};
static struct cfg_sensor sensors[] = {
	{ .name = "probe1", .bus = 0, .slave = 1, .n_channels = 2 },
	{ .name = "flow1", .bus = 1, .slave = 2, .n_channels = 1 },
};
static const struct config cfg = {
	.id = "ls-ws-000123", .buses = buses, .n_buses = 2, .sensors = sensors, .n_sensors = 2,
};

static struct record poll_rec(int64_t ts, double cod, int q_cod, double ph, int q_ph)
{
	struct record r = { .ts_ms = ts, .type = REC_POLL };

	r.u.poll.n = 2;
	r.u.poll.values[0] = (struct rec_value){ .v = cod, .param = P_COD, .quality = (uint8_t)q_cod };
	r.u.poll.values[1] = (struct rec_value){ .v = ph, .param = P_PH, .quality = (uint8_t)q_ph };
	return r;
}

/* A snapshot with something in every field, a NaN and UTF-8 text. */
static void sample(struct status_snapshot *s)
{
	struct record r = poll_rec(1764403217000, 212.584747, Q_OK, 15.5, Q_OUT_OF_RANGE);
	struct rec_alert *a;

	assert_int_equal(status_init(s, &cfg, 2, 4), 0);
	snprintf(s->version, sizeof(s->version), "0.1.0");
	s->pid = 4242;
	s->started_wall_ms = 1764400000000;
	s->now_wall_ms = 1764403219000;
	status_note_poll(s, 0, &r);
	s->sensors[0].polls = 12;
	s->sensors[0].failures = 3;
	s->sensors[0].timeouts = 4;
	s->sensors[0].crc_errors = 5;
	s->sensors[0].exceptions = 6;
	s->sensors[0].late = 7;
	snprintf(s->sinks[0].name, sizeof(s->sinks[0].name), "mqtt");
	snprintf(s->sinks[0].last_error, sizeof(s->sinks[0].last_error),
		 "mqtt: cannot connect to tcp://10.0.0.2:1883: 连接被拒绝 \"refused\"");
	s->sinks[0].last_error_ms = 1764403210000;
	s->sinks[0].next_retry_ms = 1764403224000;
	snprintf(s->sinks[1].name, sizeof(s->sinks[1].name), "influx");
	s->sinks[1] = (struct status_sink){ .name = "influx", .unacked = 7,
		.oldest_unacked_ms = 1764403000000, .sent = 8, .retried = 9, .errors = 10,
		.quarantined = 11, .dropped = 12 };
	a = &s->alerts[s->n_alerts++];
	snprintf(a->id, sizeof(a->id), "ls-ws-000123/WS-001/cod/instant/1764403217000");
	a->state = ALERT_RAISED;
	a->kind = AK_LIMIT_EXCEEDED;
	a->param = P_COD;
	a->basis = BASIS_ROLLING;
	a->window_min = 60;
	a->sensor_health = Q_OK;
	snprintf(a->outlet, sizeof(a->outlet), "WS-001");
	snprintf(a->sensor, sizeof(a->sensor), "probe1");
	snprintf(a->permit, sizeof(a->permit), "浙丽排字第2023-0042号");
	snprintf(a->holder, sizeof(a->holder), "丽水某食品有限公司");
	a->limit = 400.0;
	a->value = 612.4;
	a->peak = 650.25;
	a->since_ms = 1764403217000;
	a = &s->alerts[s->n_alerts++];
	snprintf(a->id, sizeof(a->id), "ls-ws-000123/outbox/data_gap/1764403218000");
	a->kind = AK_DATA_GAP;
	a->limit = NAN;
	a->value = a->peak = 17;
}

static void same_double(double a, double b)
{
	if (isnan(a) || isnan(b))
		assert_true(isnan(a) && isnan(b));
	else
		assert_true(a == b);
}

static void same_sensor(const struct status_sensor *a, const struct status_sensor *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->bus, b->bus);
	assert_string_equal(a->device, b->device);
	assert_int_equal(a->slave, b->slave);
	assert_int_equal(a->last_ok_wall_ms, b->last_ok_wall_ms);
	assert_int_equal(a->last_poll_wall_ms, b->last_poll_wall_ms);
	assert_int_equal(a->polls, b->polls);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->timeouts, b->timeouts);
	assert_int_equal(a->crc_errors, b->crc_errors);
	assert_int_equal(a->exceptions, b->exceptions);
	assert_int_equal(a->late, b->late);
	assert_int_equal(a->n_values, b->n_values);
	for (int i = 0; i < a->n_values; i++) {
		same_double(a->values[i].v, b->values[i].v);
		assert_int_equal(a->values[i].param, b->values[i].param);
		assert_int_equal(a->values[i].quality, b->values[i].quality);
	}
}

static void same_alert(const struct rec_alert *a, const struct rec_alert *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->param, b->param);
	assert_int_equal(a->basis, b->basis);
	assert_int_equal(a->sensor_health, b->sensor_health);
	assert_int_equal(a->window_min, b->window_min);
	assert_string_equal(a->outlet, b->outlet);
	assert_string_equal(a->sensor, b->sensor);
	assert_string_equal(a->permit, b->permit);
	assert_string_equal(a->holder, b->holder);
	same_double(a->limit, b->limit);
	same_double(a->value, b->value);
	same_double(a->peak, b->peak);
	assert_int_equal(a->since_ms, b->since_ms);
	assert_int_equal(a->until_ms, b->until_ms);
}

static void same_snapshot(const struct status_snapshot *a, const struct status_snapshot *b)
{
	assert_string_equal(a->gateway, b->gateway);
	assert_string_equal(a->version, b->version);
	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->stopped, b->stopped);
	assert_int_equal(a->started_wall_ms, b->started_wall_ms);
	assert_int_equal(a->now_wall_ms, b->now_wall_ms);
	assert_int_equal(a->n_sensors, b->n_sensors);
	for (size_t i = 0; i < a->n_sensors; i++)
		same_sensor(&a->sensors[i], &b->sensors[i]);
	assert_int_equal(a->n_sinks, b->n_sinks);
	for (size_t i = 0; i < a->n_sinks; i++)
		assert_memory_equal(&a->sinks[i], &b->sinks[i], sizeof(a->sinks[i]));
	assert_int_equal(a->n_alerts, b->n_alerts);
	for (size_t i = 0; i < a->n_alerts; i++)
		same_alert(&a->alerts[i], &b->alerts[i]);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct status_snapshot s = { 0 }, back = { 0 };
	char tmp[320];

	sample(&s);
	assert_int_equal(status_write(f->path, &s), 0);
	assert_int_equal(status_read(f->path, &back), 0);
	same_snapshot(&s, &back);
	assert_int_equal(back.max_alerts, back.n_alerts);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed, nothing left over */
	status_clear(&back);

	/* a second write replaces the first whole */
	s.stopped = true;
	s.n_alerts = 0;
	s.now_wall_ms += 5000;
	assert_int_equal(status_write(f->path, &s), 0);
	assert_int_equal(status_read(f->path, &back), 0);
	same_snapshot(&s, &back);
	assert_true(back.stopped);
	status_clear(&back);
	status_clear(&s);
	status_clear(&s); /* a cleared snapshot clears again */
	status_clear(NULL);
}

static void test_empty_snapshot(void **state)
{
	struct fx *f = *state;
	struct config none = { .id = "gw" };
	struct status_snapshot s = { 0 }, back = { 0 };

	assert_int_equal(status_init(&s, &none, 0, 0), 0);
	assert_int_equal(status_write(f->path, &s), 0);
	assert_int_equal(status_read(f->path, &back), 0);
	same_snapshot(&s, &back);
	status_clear(&back);
	status_clear(&s);
}

static void write_text(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* The sample's JSON with the first from replaced by to (from must occur). */
static char *mutate(const char *json, const char *from, const char *to)
{
	const char *at = strstr(json, from);
	size_t head, len = strlen(json) + strlen(to) + 1;
	char *out = malloc(len);

	if (!at)
		print_error("fixture: \"%s\" not in the sample\n", from);
	assert_non_null(at);
	assert_non_null(out);
	head = (size_t)(at - json);
	memcpy(out, json, head);
	snprintf(out + head, len - head, "%s%s", to, at + strlen(from));
	return out;
}

static void expect_corrupt(const char *path, const char *text, size_t len, const char *what)
{
	struct status_snapshot out = { .pid = 99 };
	int rc;

	write_text(path, text, len);
	rc = status_read(path, &out);
	if (rc != -EBADMSG)
		print_error("%s: got %d, want -EBADMSG\n", what, rc);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(out.pid, 99); /* untouched */
	assert_null(out.sensors);
}

static const struct {
	const char *from, *to, *what;
} mutations[] = {
	{ "\"format\":1", "\"format\":2", "another format" },
	{ "\"format\":1,", "", "no format" },
	{ "\"gateway\":\"ls-ws-000123\"",
	  "\"gateway\":\"an-id-that-is-much-longer-than-sixty-three-bytes-so-not-one-of-ours-at-all\"",
	  "string longer than its field" },
	{ "\"gateway\":\"ls-ws-000123\"", "\"gateway\":7", "number for a string" },
	{ "\"pid\":4242", "\"pid\":-1", "negative pid" },
	{ "\"stopped\":false", "\"stopped\":0", "number for a bool" },
	{ "\"polls\":12", "\"polls\":-12", "negative counter" },
	{ "\"polls\":12", "\"polls\":12.5", "fractional counter" },
	{ "\"polls\":12", "\"polls\":1e300", "counter beyond 2^53" },
	{ "\"late\":7", "\"late\":-7", "negative late count" },
	{ "\"q\":\"ok\"", "\"q\":\"great\"", "unknown quality" },
	{ "\"parameter\":\"cod\"", "\"parameter\":\"gold\"", "unknown parameter" },
	{ "\"kind\":\"limit_exceeded\"", "\"kind\":\"meteor\"", "unknown alert kind" },
	{ "\"basis\":\"rolling\"", "\"basis\":\"weekly\"", "unknown basis" },
	{ "\"sensors\":[", "\"sensors\":{\"x\":", "object for an array" },
	{ "\"sinks\":[", "\"sinks\":[{},{},{},{},", "more sinks than allowed" },
	{ "\"values\":[", "\"values\":[1,", "a number for a value" },
	{ "\"since_ms\":1764403217000", "\"since_ms\":\"yesterday\"", "text for a time" },
	{ "\"holder\":\"", "\"holder\":null,\"x\":\"", "null for a string" },
	{ "{\"format\"", "[{\"format\"", "an array at the top" },
	{ "\"last_error\":\"", "\"last_error\":7,\"x\":\"", "a number for a sink's last error" },
	{ "\"next_retry_ms\":1764403224000", "\"next_retry_ms\":\"soon\"", "text for a retry" },
	{ "\"last_error_ms\":1764403210000", "\"last_error_ms\":1.5", "fractional error time" },
};

static void test_corrupt_files(void **state)
{
	struct fx *f = *state;
	struct status_snapshot s = { 0 };
	char *json = NULL;
	size_t len;

	sample(&s);
	assert_int_equal(status_to_json(&s, &json), 0);
	status_clear(&s);
	len = strlen(json);
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		char *bad = mutate(json, mutations[i].from, mutations[i].to);

		expect_corrupt(f->path, bad, strlen(bad), mutations[i].what);
		free(bad);
	}
	/* every truncation, down to an empty file */
	for (size_t cut = 0; cut < len; cut++)
		expect_corrupt(f->path, json, cut, "truncated");
	expect_corrupt(f->path, "\261\377\377garbage\0more", 15, "garbage");
	for (int i = 0; i < 2; i++) {
		char *tail = malloc(len + 8);

		assert_non_null(tail);
		snprintf(tail, len + 8, "%s%s", json, i ? "{}" : " xyz");
		expect_corrupt(f->path, tail, strlen(tail), "trailing garbage");
		free(tail);
	}
	free(json);
}

/* A sink's last error and next retry: written (null when there is none),
 * read back, and absent in a file from an older daemon: none. */
static void test_sink_health_fields(void **state)
{
	struct fx *f = *state;
	struct status_snapshot s = { 0 }, back = { 0 };
	char *json = NULL, *old;

	sample(&s);
	assert_int_equal(status_to_json(&s, &json), 0);
	assert_non_null(strstr(json, "\"last_error\":\"mqtt: cannot connect to tcp://10.0.0.2:1883"));
	assert_non_null(strstr(json, "\"last_error_ms\":1764403210000,\"next_retry_ms\":1764403224000"));
	assert_non_null(strstr(json, "\"dropped\":12,\"last_error\":null,\"last_error_ms\":0,"
				     "\"next_retry_ms\":0}"));
	/* an older daemon's file: the three fields left out of both sinks */
	old = mutate(json, ",\"last_error\":null,\"last_error_ms\":0,\"next_retry_ms\":0", "");
	free(json);
	json = mutate(old, ",\"last_error\":\"mqtt", ",\"x\":\"mqtt");
	free(old);
	old = mutate(json, ",\"last_error_ms\":1764403210000,\"next_retry_ms\":1764403224000", "");
	write_text(f->path, old, strlen(old));
	assert_int_equal(status_read(f->path, &back), 0);
	assert_string_equal(back.sinks[0].last_error, "");
	assert_int_equal(back.sinks[0].last_error_ms, 0);
	assert_int_equal(back.sinks[0].next_retry_ms, 0);
	assert_int_equal(back.sinks[1].sent, 8);
	status_clear(&back);
	free(old);
	free(json);

	/* nor did it count late polls */
	assert_int_equal(status_to_json(&s, &json), 0);
	old = mutate(json, ",\"late\":7", "");
	write_text(f->path, old, strlen(old));
	assert_int_equal(status_read(f->path, &back), 0);
	assert_int_equal(back.sensors[0].late, 0);
	assert_int_equal(back.sensors[0].exceptions, 6);
	status_clear(&back);
	free(old);
	free(json);
	status_clear(&s);
}

/* The loop's clocks: the retry (monotonic) becomes wall time by the
 * offset of the two clocks now; one already due is now; none is 0. */
static void test_note_sink_health(void **state)
{
	struct status_sink sk = { .name = "influx" };
	char longer[STATUS_ERROR + 50];

	(void)state;
	status_note_sink_health(&sk, "influx: write failed (HTTP 503)", 1764403210000, 5000 + 12000,
				1764403220000, 5000);
	assert_string_equal(sk.last_error, "influx: write failed (HTTP 503)");
	assert_int_equal(sk.last_error_ms, 1764403210000);
	assert_int_equal(sk.next_retry_ms, 1764403220000 + 12000);
	status_note_sink_health(&sk, "x", 1, 4000, 1764403220000, 5000); /* overdue */
	assert_int_equal(sk.next_retry_ms, 1764403220000);
	status_note_sink_health(&sk, NULL, 1764403210000, 0, 1764403220000, 5000);
	assert_string_equal(sk.last_error, "");
	assert_int_equal(sk.last_error_ms, 0);
	assert_int_equal(sk.next_retry_ms, 0);
	memset(longer, 'e', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	status_note_sink_health(&sk, longer, 1, 0, 2, 3); /* cut to the field */
	assert_int_equal(strlen(sk.last_error), STATUS_ERROR - 1);
}

static void test_too_large_and_not_a_file(void **state)
{
	struct fx *f = *state;
	struct status_snapshot out = { 0 };
	int fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)STATUS_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(status_read(f->path, &out), -EBADMSG);
	assert_int_equal(status_read(f->dir, &out), -EBADMSG);
	assert_null(out.sensors);
}

static void test_missing(void **state)
{
	struct fx *f = *state;
	struct status_snapshot s = { 0 }, out = { .pid = 7 };
	char path[320], tmp[340];

	assert_int_equal(status_read(f->path, &out), -ENOENT);
	assert_int_equal(out.pid, 7);
	/* a data_dir that is gone: nothing written, nothing left */
	sample(&s);
	snprintf(path, sizeof(path), "%s/gone/%s", f->dir, STATUS_FILE);
	assert_int_equal(status_write(path, &s), -ENOENT);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	/* the old file stays when the rename cannot happen: path is a directory */
	assert_int_equal(mkdir(f->path, 0755), 0);
	assert_true(status_write(f->path, &s) < 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(rmdir(f->path), 0);
	status_clear(&s);
}

static void test_init_from_config(void **state)
{
	struct status_snapshot s = { 0 };

	(void)state;
	assert_int_equal(status_init(&s, &cfg, 2, 8), 0);
	assert_string_equal(s.gateway, "ls-ws-000123");
	assert_int_equal(s.n_sensors, 2);
	assert_string_equal(s.sensors[1].name, "flow1");
	assert_string_equal(s.sensors[1].bus, "rs232-1");
	assert_string_equal(s.sensors[1].device, "/dev/ttyAMA0");
	assert_int_equal(s.sensors[1].slave, 2);
	assert_int_equal(s.sensors[1].last_ok_wall_ms, 0);
	assert_int_equal(s.n_sinks, 2);
	assert_int_equal(s.n_alerts, 0);
	assert_int_equal(s.max_alerts, 8);
	status_clear(&s);
	assert_int_equal(status_init(&s, &cfg, STATUS_MAX_SINKS + 1, 0), -EINVAL);
	assert_int_equal(status_init(&s, &cfg, 0, STATUS_MAX_ALERTS + 1), -EINVAL);
	assert_null(s.sensors);
}

static void test_note_poll(void **state)
{
	struct status_snapshot s = { 0 };
	struct record silent = poll_rec(1000, 0, Q_NO_RESPONSE, 0, Q_NO_RESPONSE);
	struct record good = poll_rec(2000, 250.5, Q_OK, 7.1, Q_OK);
	struct record half = poll_rec(4000, 251.5, Q_OK, 0, Q_NO_RESPONSE);
	struct record later_silent = poll_rec(3000, 0, Q_NO_RESPONSE, 0, Q_NO_RESPONSE);
	const struct status_sensor *ss;

	(void)state;
	assert_int_equal(status_init(&s, &cfg, 0, 0), 0);
	ss = &s.sensors[0];
	/* never answered: the parameters are known, every value no_response */
	status_note_poll(&s, 0, &silent);
	assert_int_equal(ss->n_values, 2);
	assert_int_equal(ss->values[0].quality, Q_NO_RESPONSE);
	assert_int_equal(ss->last_ok_wall_ms, 0);
	assert_int_equal(ss->last_poll_wall_ms, 1000);
	status_note_poll(&s, 0, &good);
	assert_int_equal(ss->last_ok_wall_ms, 2000);
	assert_true(ss->values[0].v == 250.5);
	/* silence keeps the last known values, only the poll time moves */
	status_note_poll(&s, 0, &later_silent);
	assert_int_equal(ss->last_ok_wall_ms, 2000);
	assert_int_equal(ss->last_poll_wall_ms, 3000);
	assert_true(ss->values[1].v == 7.1);
	assert_int_equal(ss->values[1].quality, Q_OK);
	/* a partial answer counts as an answer and is shown as it came */
	status_note_poll(&s, 0, &half);
	assert_int_equal(ss->last_ok_wall_ms, 4000);
	assert_int_equal(ss->values[1].quality, Q_NO_RESPONSE);
	/* out of range indexes and other records are ignored */
	status_note_poll(&s, 2, &good);
	status_note_poll(&s, -1, &good);
	good.type = REC_ALERT;
	status_note_poll(&s, 1, &good);
	assert_int_equal(s.sensors[1].last_poll_wall_ms, 0);
	status_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_health_fields, setup, teardown),
		cmocka_unit_test(test_note_sink_health),
		cmocka_unit_test_setup_teardown(test_too_large_and_not_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_init_from_config),
		cmocka_unit_test(test_note_poll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
