/*
 * sink_mqtt_fixture.h - what test_sink_mqtt.c and test_sink_mqtt_tls.c
 * share: a private directory per test, a real mosquitto on a free loopback
 * port, independent mosquitto_sub subscribers whose output is what the
 * checks judge, a real outbox in the test directory, the daemon's loop in
 * small, and records whose content follows from their seq.
 * Helpers are static inline so that each test binary uses what it needs.
 */
#ifndef OUTFALL_SINK_MQTT_FIXTURE_H
#define OUTFALL_SINK_MQTT_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/param.h"
#include "encode/encode.h"
#include "outbox/outbox.h"
#include "sinks/mqtt/mqtt.h"

#define GW "gw-test"
#define ROOT "outfall/" GW
#define SUB_FORMAT "%t\t%q\t%r\t%p"
#define STARTED_MS 1764403217123LL /* 2025-11-29T08:00:17.123Z */
#define PERMIT "浙丽排字第2023-0042号"
#define HOLDER "丽水某食品有限公司"

struct env {
	char dir[PATH_MAX];
	int port;
	pid_t broker;
	pid_t sub;
	char sub_out[PATH_MAX];
	char broker_extra[4 * PATH_MAX]; /* config lines, kept for a restart */
	bool anonymous;
	struct outbox *ob;
	uint64_t last_seq; /* of the newest record appended to ob */
	struct sink sk;
	bool have_sink;
};

/* One line of a subscriber's output. */
struct msg {
	char topic[128];
	int qos;
	int retained;
	char payload[PAYLOAD_MAX];
};

/* ---- files and processes ---- */

static inline void path_in(char *dst, const struct env *e, const char *name)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", e->dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static inline void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static inline void nap_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Runs argv with stdout and stderr to out (or /dev/null); returns its pid. */
static inline pid_t spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static inline void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* Waits up to ms for pid to exit; returns its status or -1. */
static inline int wait_child(pid_t pid, int ms)
{
	int64_t end = clock_mono_ms() + ms;
	int status;

	while (clock_mono_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nap_ms(10);
	}
	return -1;
}

static inline int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static inline bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts mosquitto on e->port with e->broker_extra (a password file makes
 * e->anonymous false). */
static inline bool broker_start(struct env *e)
{
	char conf[PATH_MAX], log[PATH_MAX], text[5 * PATH_MAX];
	char *argv[] = { "mosquitto", "-c", conf, NULL };
	const struct passwd *me = getpwuid(getuid());
	/* "user": run as root, mosquitto would switch to a user that cannot
	 * read our private temp dir; a subscriber slower than our backlog
	 * drain must not lose messages in the broker's queue (1000 by
	 * default) */
	int n = snprintf(text, sizeof(text),
			 "listener %d 127.0.0.1\nallow_anonymous %s\npersistence false\n"
			 "max_queued_messages 0\nuser %s\n%s",
			 e->port, e->anonymous ? "true" : "false", me ? me->pw_name : "root",
			 e->broker_extra);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	path_in(conf, e, "broker.conf");
	path_in(log, e, "broker.log");
	write_file(conf, text);
	e->broker = spawn(argv, log);
	for (int i = 0; i < 300; i++) {
		if (port_open(e->port))
			return true;
		if (waitpid(e->broker, NULL, WNOHANG) == e->broker)
			break;
		nap_ms(10);
	}
	stop_child(&e->broker);
	return false;
}

static inline void broker_start_any(struct env *e, const char *extra, bool anonymous)
{
	int n = snprintf(e->broker_extra, sizeof(e->broker_extra), "%s", extra ? extra : "");

	assert_true(n >= 0 && (size_t)n < sizeof(e->broker_extra));
	e->anonymous = anonymous;
	for (int attempt = 0; attempt < 5; attempt++) {
		e->port = free_port();
		if (broker_start(e))
			return;
	}
	fail_msg("mosquitto did not start");
}

/* The same port and settings again (the port may linger after a kill). */
static inline void broker_restart(struct env *e)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		if (broker_start(e))
			return;
		nap_ms(100);
	}
	fail_msg("mosquitto did not restart on port %d", e->port);
}

static inline void port_arg(char *buf, size_t cap, const struct env *e)
{
	int n = snprintf(buf, cap, "%d", e->port);

	assert_true(n > 0 && (size_t)n < cap);
}

/* ---- what subscribers received ---- */

typedef void (*msg_fn)(const struct msg *m, void *arg);

/* Splits one "topic\tqos\tretained\tpayload" line; false if malformed. */
static inline bool parse_line(char *line, struct msg *m)
{
	char *qos = strchr(line, '\t');
	char *ret = qos ? strchr(qos + 1, '\t') : NULL;
	char *pay = ret ? strchr(ret + 1, '\t') : NULL;

	if (!pay)
		return false;
	*qos = *ret = *pay = '\0';
	snprintf(m->topic, sizeof(m->topic), "%s", line);
	m->qos = (int)strtol(qos + 1, NULL, 10);
	m->retained = (int)strtol(ret + 1, NULL, 10);
	snprintf(m->payload, sizeof(m->payload), "%s", pay + 1);
	return true;
}

/* Calls fn for each complete line of path, in order; returns how many. */
static inline int for_each_msg(const char *path, msg_fn fn, void *arg)
{
	FILE *f = fopen(path, "r");
	struct msg *m = calloc(1, sizeof(*m));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int n = 0;

	assert_non_null(m);
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] != '\n')
			break; /* still being written */
		line[len - 1] = '\0';
		if (parse_line(line, m)) {
			if (fn)
				fn(m, arg);
			n++;
		}
	}
	if (f)
		fclose(f);
	free(line);
	free(m);
	return n;
}

struct count_arg {
	const char *topic;
	const char *needle;
	int n;
};

static inline void count_fn(const struct msg *m, void *arg)
{
	struct count_arg *c = arg;

	if (strcmp(m->topic, c->topic) == 0 && (!c->needle || strstr(m->payload, c->needle)))
		c->n++;
}

static inline int count_topic(const char *path, const char *topic, const char *needle)
{
	struct count_arg c = { topic, needle, 0 };

	for_each_msg(path, count_fn, &c);
	return c.n;
}

static inline void publish_probe(const struct env *e)
{
	char port[16];
	char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-r",
			 "-t", "test/probe", "-m", "ready", NULL };

	port_arg(port, sizeof(port), e);
	assert_int_equal(wait_child(spawn(argv, NULL), 5000), 0);
}

/* A subscriber to outfall/# writing one line per message to the file name
 * in the test directory; returns once it is subscribed (it has seen the
 * retained probe). */
static inline void sub_start(struct env *e, const char *name)
{
	char port[16];
	char *argv[] = { "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-q", "2",
			 "-t", "outfall/#", "-t", "test/probe", "-F", SUB_FORMAT, NULL };

	port_arg(port, sizeof(port), e);
	path_in(e->sub_out, e, name);
	publish_probe(e);
	e->sub = spawn(argv, e->sub_out);
	for (int i = 0; i < 500; i++) {
		if (count_topic(e->sub_out, "test/probe", NULL) > 0)
			return;
		nap_ms(10);
	}
	fail_msg("subscriber did not subscribe");
}

static inline void first_fn(const struct msg *m, void *arg)
{
	struct msg *out = arg;

	if (!out->topic[0])
		*out = *m;
}

/* What a subscriber arriving now gets on topic: the retained message. */
static inline void late_sub(const struct env *e, const char *topic, struct msg *out)
{
	char port[16], path[PATH_MAX];
	char *argv[] = { "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-q", "2", "-t",
			 (char *)topic, "-C", "1", "-W", "5", "-F", SUB_FORMAT, NULL };

	port_arg(port, sizeof(port), e);
	path_in(path, e, "late.out");
	assert_int_equal(wait_child(spawn(argv, path), 8000), 0);
	memset(out, 0, sizeof(*out));
	assert_int_equal(for_each_msg(path, first_fn, out), 1);
}

static inline cJSON *json(const struct msg *m)
{
	cJSON *doc = cJSON_Parse(m->payload);

	if (!doc)
		fail_msg("not JSON on %s: %s", m->topic, m->payload);
	return doc;
}

static inline const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(it))
		fail_msg("%s missing", key);
	return it->valuestring;
}

static inline double jnum(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it))
		fail_msg("%s missing", key);
	return it->valuedouble;
}

static inline void check_status(const struct msg *m, const char *state, int retained)
{
	cJSON *doc = json(m);

	assert_string_equal(m->topic, ROOT "/status");
	assert_int_equal(m->qos, 1);
	assert_int_equal(m->retained, retained);
	assert_string_equal(jstr(doc, "state"), state);
	assert_string_equal(jstr(doc, "version"), OUTFALL_VERSION);
	assert_string_equal(jstr(doc, "started"), "2025-11-29T08:00:17.123Z");
	cJSON_Delete(doc);
}

/* ---- the outbox and the daemon's loop, in small ---- */

/* Opens (or reopens) the outbox in <test dir>/name. With fsync_ms 0 every
 * append is synced and so visible to the sink at once; a bulk load uses
 * batches and outbox_flush, an fdatasync per record being slow on a disk. */
static inline void ob_open_opts(struct env *e, const char *name, int fsync_ms)
{
	struct outbox_opts o;
	char dir[PATH_MAX];

	outbox_opts_default(&o);
	o.fsync_ms = fsync_ms;
	o.sink_names[0] = "mqtt";
	path_in(dir, e, name);
	assert_int_equal(outbox_open(dir, &o, 1, clock_mono_ms(), &e->ob), 0);
}

static inline void ob_open(struct env *e, const char *name)
{
	ob_open_opts(e, name, 0);
}

static inline void ob_close(struct env *e)
{
	outbox_close(e->ob);
	e->ob = NULL;
}

typedef bool (*cond_fn)(struct env *e, const void *arg);

/* Polls and dispatches the sink until done (or for ms when done is NULL). */
static inline bool drive(struct env *e, int ms, cond_fn done, const void *arg)
{
	int64_t end = clock_mono_ms() + ms;

	for (;;) {
		struct pollfd p[SINK_MAX_FDS];
		int64_t now = clock_mono_ms();
		int64_t next, wait;
		int n;

		if (done && done(e, arg))
			return true;
		if (now >= end)
			return !done;
		n = e->sk.ops->pollfds(e->sk.impl, p, SINK_MAX_FDS);
		next = e->sk.ops->next_ms(e->sk.impl, now);
		wait = next - now < 20 ? next - now : 20;
		poll(p, (nfds_t)n, wait > 0 ? (int)wait : 0);
		e->sk.ops->dispatch(e->sk.impl, p, n, clock_mono_ms());
		outbox_tick(e->ob, clock_mono_ms());
	}
}

static inline bool is_connected(struct env *e, const void *arg)
{
	(void)arg;
	return sink_mqtt_connected(&e->sk);
}

static inline bool is_down(struct env *e, const void *arg)
{
	(void)arg;
	return !sink_mqtt_connected(&e->sk);
}

static inline bool errors_above(struct env *e, const void *arg)
{
	struct sink_stats st;

	e->sk.ops->get_stats(e->sk.impl, &st);
	return st.errors > *(const uint64_t *)arg;
}

static inline bool sent_at_least(struct env *e, const void *arg)
{
	struct sink_stats st;

	e->sk.ops->get_stats(e->sk.impl, &st);
	return st.sent >= *(const uint64_t *)arg;
}

static inline bool all_acked(struct env *e, const void *arg)
{
	(void)arg;
	return outbox_unacked(e->ob, 0) == 0;
}

struct want {
	const char *topic;
	const char *needle;
	int n;
};

/* The outbox has every ack and the subscriber has the messages. */
static inline bool received(struct env *e, const void *arg)
{
	const struct want *w = arg;

	return outbox_unacked(e->ob, 0) == 0 && count_topic(e->sub_out, w->topic, w->needle) >= w->n;
}

static inline struct cfg_mqtt mqtt_cfg(const struct env *e, char *uri, size_t cap, int qos)
{
	int n = snprintf(uri, cap, "tcp://127.0.0.1:%d", e->port);

	assert_true(n > 0 && (size_t)n < cap);
	return (struct cfg_mqtt){ .enabled = true, .uri = uri, .qos = qos, .keepalive_s = 10 };
}

/* Creates the sink on e->ob (opening "outbox" when none is open) with a
 * short backoff; with wait_up, returns once it is connected. */
static inline void sink_create(struct env *e, const struct cfg_mqtt *cfg, bool wait_up)
{
	if (!e->ob)
		ob_open(e, "outbox");
	assert_int_equal(sink_mqtt_new(cfg, GW, e->ob, 0, STARTED_MS, &e->sk), 0);
	e->have_sink = true;
	sink_mqtt_set_backoff_ms(&e->sk, 100, 400);
	if (wait_up)
		assert_true(drive(e, 5000, is_connected, NULL));
}

static inline void sink_start(struct env *e, const struct cfg_mqtt *cfg)
{
	sink_create(e, cfg, true);
}

/* Frees the sink only; the outbox stays open. */
static inline void sink_free(struct env *e)
{
	if (e->have_sink)
		e->sk.ops->free(e->sk.impl);
	e->have_sink = false;
}

static inline void sink_stop(struct env *e)
{
	sink_free(e);
	if (e->ob)
		ob_close(e);
}

/* ---- setup ---- */

static inline void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) < 0)
			remove_tree(path);
	}
	closedir(d);
	rmdir(dir);
}

static inline int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!e)
		return -1;
	/* mkdtemp wants the name to end in six X characters */
	n = snprintf(e->dir, sizeof(e->dir), "%s/outfall-mqtt-......", tmp ? tmp : P_tmpdir);
	if (n > 6 && (size_t)n < sizeof(e->dir))
		memset(e->dir + n - 6, 'X', 6);
	if (n < 0 || (size_t)n >= sizeof(e->dir) || !mkdtemp(e->dir)) {
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static inline int teardown(void **state)
{
	struct env *e = *state;

	sink_stop(e);
	stop_child(&e->sub);
	stop_child(&e->broker);
	remove_tree(e->dir);
	free(e);
	return 0;
}

/* ---- records ---- */

static inline void name(char *dst, size_t cap, const char *s)
{
	assert_true((size_t)snprintf(dst, cap, "%s", s) < cap);
}

/* Appends r; the outbox gives seqs one after the other. */
static inline uint64_t push(struct env *e, const struct record *r)
{
	uint64_t seq = 0;

	assert_int_equal(outbox_append(e->ob, r, clock_mono_ms(), &seq), 0);
	if (e->last_seq)
		assert_int_equal(seq, e->last_seq + 1);
	e->last_seq = seq;
	return seq;
}

/* The cod value a poll with this seq carries, which the checks rely on. */
static inline double cod_of(uint64_t seq)
{
	return 100.0 + (double)seq;
}

static inline struct record poll_for(uint64_t seq, const char *outlet)
{
	struct record r = { .ts_ms = clock_wall_ms(), .type = REC_POLL };

	name(r.u.poll.outlet, sizeof(r.u.poll.outlet), outlet);
	name(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = cod_of(seq), .param = P_COD, .quality = Q_OK };
	return r;
}

static inline uint64_t append_poll(struct env *e)
{
	struct record r = poll_for(e->last_seq + 1, "WS-001");

	return push(e, &r);
}

static inline uint64_t append_alert(struct env *e)
{
	struct record r = { .ts_ms = clock_wall_ms(), .type = REC_ALERT };
	struct rec_alert *a = &r.u.alert;

	name(a->id, sizeof(a->id), GW "/WS-001/cod/instant/1764403217000");
	name(a->outlet, sizeof(a->outlet), "WS-001");
	name(a->sensor, sizeof(a->sensor), "probe1");
	name(a->permit, sizeof(a->permit), PERMIT);
	name(a->holder, sizeof(a->holder), HOLDER);
	a->param = P_COD;
	a->limit = 500.0;
	a->value = a->peak = 612.4;
	a->since_ms = 1764403217000LL;
	return push(e, &r);
}

#endif
