/*
 * test_sink_mqtt.c - the MQTT sink against a real mosquitto on a loopback
 * port, judged by what independent mosquitto_sub subscribers receive:
 * retained status (online, offline on a clean close, the will on a crash),
 * telemetry and alerts in order at the right topic and QoS, acks in the
 * queue, resend after the broker is killed and restarted, a backlog several
 * windows long, quarantine, password and TLS, and bad settings. (Over ~800
 * lines because one broker and subscriber harness serves every scenario.)
 */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "param.h"
#include "queue.h"
#include "sink_mqtt.h"

#define GW "gw-test"
#define ROOT "outfall/" GW
#define SUB_FORMAT "%t\t%q\t%r\t%p"
#define MAX_MSGS 512
#define MAX_FILE (1024 * 1024)

struct env {
	char dir[PATH_MAX];
	int port;
	pid_t broker;
	pid_t sub;
	char sub_out[PATH_MAX];
	struct queue *q;
	uint64_t last_seq; /* of the newest record appended to q */
	struct sink sk;
	bool have_sink;
};

struct msg {
	char topic[128];
	int qos;
	int retained;
	char payload[1024];
};

struct msgs {
	struct msg m[MAX_MSGS];
	int n;
};

/* ---- files and processes ---- */

static void path_in(char *dst, const struct env *e, const char *name)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", e->dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void nap_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* Runs argv with stdout to out (or /dev/null); returns the child's pid. */
static pid_t spawn(char *const argv[], const char *out)
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

static void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* Waits up to ms for pid to exit; returns its status or -1. */
static int wait_child(pid_t pid, int ms)
{
	int64_t end = clock_mono_ms() + ms;
	int status;

	while (clock_mono_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nap_ms(20);
	}
	return -1;
}

static int free_port(void)
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

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Starts mosquitto on e->port, with extra config lines when given (for a
 * password file, anonymous clients are refused). */
static bool broker_start(struct env *e, const char *extra, bool anonymous)
{
	char conf[PATH_MAX], log[PATH_MAX], text[1024];
	char *argv[] = { "mosquitto", "-c", conf, NULL };
	const struct passwd *me = getpwuid(getuid());
	/* "user": run as root, mosquitto would switch to a user that cannot
	 * read our private temp dir */
	int n = snprintf(text, sizeof(text),
			 "listener %d 127.0.0.1\nallow_anonymous %s\npersistence false\n"
			 "user %s\n%s",
			 e->port, anonymous ? "true" : "false", me ? me->pw_name : "root",
			 extra ? extra : "");

	assert_true(n > 0 && (size_t)n < sizeof(text));
	path_in(conf, e, "broker.conf");
	path_in(log, e, "broker.log");
	write_file(conf, text);
	e->broker = spawn(argv, log);
	for (int i = 0; i < 150; i++) {
		if (port_open(e->port))
			return true;
		if (waitpid(e->broker, NULL, WNOHANG) == e->broker)
			break;
		nap_ms(20);
	}
	stop_child(&e->broker);
	return false;
}

static void broker_start_any(struct env *e, const char *extra, bool anonymous)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		e->port = free_port();
		if (broker_start(e, extra, anonymous))
			return;
	}
	fail_msg("mosquitto did not start");
}

/* The same port again (it may linger a moment after a kill). */
static void broker_restart(struct env *e)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		if (broker_start(e, NULL, true))
			return;
		nap_ms(100);
	}
	fail_msg("mosquitto did not restart on port %d", e->port);
}

static void port_arg(char *buf, size_t cap, const struct env *e)
{
	int n = snprintf(buf, cap, "%d", e->port);

	assert_true(n > 0 && (size_t)n < cap);
}

static int read_msgs(const char *path, struct msgs *out);

static int count_topic(const char *path, const char *topic, const char *needle)
{
	struct msgs *m = calloc(1, sizeof(*m));
	int n = 0;

	assert_non_null(m);
	read_msgs(path, m);
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->m[i].topic, topic) == 0 && (!needle || strstr(m->m[i].payload, needle)))
			n++;
	free(m);
	return n;
}

static void publish_probe(const struct env *e)
{
	char port[16];
	char *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-r",
			 "-t", "test/probe", "-m", "ready", NULL };
	pid_t pid;

	port_arg(port, sizeof(port), e);
	pid = spawn(argv, NULL);
	assert_int_equal(wait_child(pid, 5000), 0);
}

/* A subscriber to outfall/# writing one line per message to e->sub_out;
 * returns once it is subscribed (it has seen the retained probe). */
static void sub_start(struct env *e, const char *name)
{
	char port[16];
	char *argv[] = { "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-q", "2",
			 "-t", "outfall/#", "-t", "test/probe", "-F", SUB_FORMAT, NULL };

	port_arg(port, sizeof(port), e);
	path_in(e->sub_out, e, name);
	publish_probe(e);
	e->sub = spawn(argv, e->sub_out);
	for (int i = 0; i < 250; i++) {
		if (count_topic(e->sub_out, "test/probe", NULL) > 0)
			return;
		nap_ms(20);
	}
	fail_msg("subscriber did not subscribe");
}

/* What a subscriber arriving now gets on topic: the retained message. */
static void late_sub(const struct env *e, const char *topic, struct msg *out)
{
	char port[16], path[PATH_MAX];
	char *argv[] = { "mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-q", "2", "-t",
			 (char *)topic, "-C", "1", "-W", "5", "-F", SUB_FORMAT, NULL };
	struct msgs *m = calloc(1, sizeof(*m));
	pid_t pid;

	assert_non_null(m);
	port_arg(port, sizeof(port), e);
	path_in(path, e, "late.out");
	pid = spawn(argv, path);
	assert_int_equal(wait_child(pid, 8000), 0);
	assert_int_equal(read_msgs(path, m), 1);
	*out = m->m[0];
	free(m);
}

static int read_msgs(const char *path, struct msgs *out)
{
	char *text = calloc(1, MAX_FILE + 1);
	FILE *f = fopen(path, "r");
	char *line, *save = NULL;

	assert_non_null(text);
	out->n = 0;
	if (f) {
		size_t len = fread(text, 1, MAX_FILE, f);

		text[len] = '\0';
		fclose(f);
	}
	for (line = strtok_r(text, "\n", &save); line && out->n < MAX_MSGS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct msg *m = &out->m[out->n];
		char *qos = strchr(line, '\t');
		char *ret = qos ? strchr(qos + 1, '\t') : NULL;
		char *pay = ret ? strchr(ret + 1, '\t') : NULL;

		if (!pay)
			continue;
		*qos = *ret = *pay = '\0';
		snprintf(m->topic, sizeof(m->topic), "%s", line);
		m->qos = (int)strtol(qos + 1, NULL, 10);
		m->retained = (int)strtol(ret + 1, NULL, 10);
		snprintf(m->payload, sizeof(m->payload), "%s", pay + 1);
		out->n++;
	}
	free(text);
	return out->n;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* ---- the daemon's loop, in small ---- */

typedef bool (*cond_fn)(struct env *e, const void *arg);

/* Polls and dispatches the sink until done (or for ms when done is NULL). */
static bool drive(struct env *e, int ms, cond_fn done, const void *arg)
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
		wait = next - now < 50 ? next - now : 50;
		poll(p, (nfds_t)n, wait > 0 ? (int)wait : 0);
		e->sk.ops->dispatch(e->sk.impl, p, n, clock_mono_ms());
	}
}

static bool is_connected(struct env *e, const void *arg)
{
	(void)arg;
	return sink_mqtt_connected(&e->sk);
}

static bool errors_above(struct env *e, const void *arg)
{
	struct sink_stats st;

	e->sk.ops->get_stats(e->sk.impl, &st);
	return st.errors > *(const uint64_t *)arg;
}

static bool all_acked(struct env *e, const void *arg)
{
	(void)arg;
	return queue_unacked(e->q, 0) == 0;
}

struct want {
	const char *topic;
	const char *needle;
	int n;
};

/* The subscriber has the messages and the queue has its acks. */
static bool received(struct env *e, const void *arg)
{
	const struct want *w = arg;

	return count_topic(e->sub_out, w->topic, w->needle) >= w->n &&
	       queue_unacked(e->q, 0) == 0;
}

static struct cfg_mqtt mqtt_cfg(const struct env *e, char *uri, size_t cap, int qos)
{
	int n = snprintf(uri, cap, "tcp://127.0.0.1:%d", e->port);

	assert_true(n > 0 && (size_t)n < cap);
	return (struct cfg_mqtt){ .enabled = true, .uri = uri, .qos = qos, .keepalive_s = 10 };
}

static void sink_start(struct env *e, const struct cfg_mqtt *cfg)
{
	e->q = queue_new(64, 1);
	e->last_seq = 0;
	assert_non_null(e->q);
	assert_int_equal(sink_mqtt_new(cfg, GW, e->q, 0, 1764403217123LL, &e->sk), 0);
	e->have_sink = true;
	sink_mqtt_set_backoff_ms(&e->sk, 100, 400);
	assert_true(drive(e, 5000, is_connected, NULL));
}

static void sink_stop(struct env *e)
{
	if (e->have_sink)
		e->sk.ops->free(e->sk.impl);
	e->have_sink = false;
	queue_free(e->q);
	e->q = NULL;
}

static int setup(void **state)
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

static int teardown(void **state)
{
	struct env *e = *state;

	sink_stop(e);
	stop_child(&e->sub);
	stop_child(&e->broker);
	remove_dir(e->dir);
	free(e);
	return 0;
}

/* ---- records ---- */

static void name(char *dst, size_t cap, const char *s)
{
	assert_true((size_t)snprintf(dst, cap, "%s", s) < cap);
}

static uint64_t push(struct env *e, const struct record *r)
{
	e->last_seq = queue_append(e->q, r);
	return e->last_seq;
}

/* A poll whose cod value is 100 + its seq, which the checks rely on. */
static uint64_t append_poll(struct env *e)
{
	struct record r = { .ts_ms = clock_wall_ms(), .type = REC_POLL };
	double cod = 100.0 + (double)(e->last_seq + 1);

	name(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	name(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 1;
	r.u.poll.values[0] = (struct rec_value){ .v = cod, .param = P_COD, .quality = Q_OK };
	return push(e, &r);
}

static uint64_t append_alert(struct env *e)
{
	struct record r = { .ts_ms = clock_wall_ms(), .type = REC_ALERT };
	struct rec_alert *a = &r.u.alert;

	name(a->id, sizeof(a->id), GW "/WS-001/cod/instant/1764403217000");
	name(a->outlet, sizeof(a->outlet), "WS-001");
	name(a->sensor, sizeof(a->sensor), "probe1");
	name(a->permit, sizeof(a->permit), "浙丽排字第2023-0042号");
	name(a->holder, sizeof(a->holder), "丽水某食品有限公司");
	a->param = P_COD;
	a->limit = 500.0;
	a->value = a->peak = 612.4;
	a->since_ms = 1764403217000LL;
	return push(e, &r);
}

/* ---- checks on what arrived ---- */

static cJSON *json(const struct msg *m)
{
	cJSON *doc = cJSON_Parse(m->payload);

	if (!doc)
		fail_msg("not JSON on %s: %s", m->topic, m->payload);
	return doc;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(it))
		fail_msg("%s missing", key);
	return it->valuestring;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it))
		fail_msg("%s missing", key);
	return it->valuedouble;
}

static void check_status(const struct msg *m, const char *state, int retained)
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

/* The telemetry messages received, in order, must carry exactly seqs. */
static void check_telemetry(const struct msgs *got, const uint64_t *seqs, int n, int qos)
{
	int k = 0;

	for (int i = 0; i < got->n; i++) {
		const struct msg *m = &got->m[i];
		cJSON *doc;

		if (strcmp(m->topic, ROOT "/telemetry/WS-001") != 0)
			continue;
		assert_true(k < n);
		assert_int_equal(m->qos, qos);
		assert_int_equal(m->retained, 0);
		doc = json(m);
		assert_true(jnum(doc, "seq") == (double)seqs[k]);
		assert_string_equal(jstr(doc, "outlet"), "WS-001");
		assert_string_equal(jstr(doc, "sensor"), "probe1");
		assert_true(jnum(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "values"), "cod"),
				 "v") == 100.0 + (double)seqs[k]);
		cJSON_Delete(doc);
		k++;
	}
	assert_int_equal(k, n);
}

static void check_alert(const struct msgs *got, uint64_t seq)
{
	int seen = 0;

	for (int i = 0; i < got->n; i++) {
		const struct msg *m = &got->m[i];
		cJSON *doc;

		if (strncmp(m->topic, ROOT "/alerts/", strlen(ROOT "/alerts/")) != 0)
			continue;
		assert_string_equal(m->topic, ROOT "/alerts/WS-001");
		assert_int_equal(m->qos, 1);
		assert_int_equal(m->retained, 0);
		doc = json(m);
		assert_true(jnum(doc, "seq") == (double)seq);
		assert_string_equal(jstr(doc, "state"), "raised");
		assert_string_equal(jstr(doc, "permit"), "浙丽排字第2023-0042号");
		assert_string_equal(jstr(doc, "holder"), "丽水某食品有限公司");
		cJSON_Delete(doc);
		seen++;
	}
	assert_int_equal(seen, 1);
}

/* ---- tests ---- */

static void test_deliver_restart_and_close(void **state)
{
	struct env *e = *state;
	struct msgs *got = calloc(1, sizeof(*got));
	char uri[64];
	struct cfg_mqtt cfg;
	uint64_t seqs[8], errors;
	struct sink_stats st;
	struct msg late;

	assert_non_null(got);
	broker_start_any(e, NULL, true);
	sub_start(e, "sub1.out");
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);

	/* online, retained: a subscriber arriving later still gets it */
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/status", "online", 1 }));
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "online", 1);

	/* three polls in order, then an alert */
	for (int i = 0; i < 3; i++)
		seqs[i] = append_poll(e);
	seqs[3] = append_alert(e);
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/telemetry/WS-001", NULL, 3 }));
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/alerts/WS-001", NULL, 1 }));
	read_msgs(e->sub_out, got);
	check_telemetry(got, seqs, 3, 1);
	check_alert(got, seqs[3]);
	assert_int_equal(queue_unacked(e->q, 0), 0);
	e->sk.ops->get_stats(e->sk.impl, &st);
	assert_int_equal(st.sent, 4);
	errors = st.errors;

	/* the broker dies: what is appended meanwhile stays unacked */
	stop_child(&e->broker);
	stop_child(&e->sub);
	assert_true(drive(e, 5000, errors_above, &errors));
	assert_false(sink_mqtt_connected(&e->sk));
	for (int i = 0; i < 5; i++)
		seqs[i] = append_poll(e);
	drive(e, 300, NULL, NULL);
	assert_int_equal(queue_unacked(e->q, 0), 5);

	/* it comes back on the same port: all five arrive, in order */
	broker_restart(e);
	sub_start(e, "sub2.out");
	assert_true(drive(e, 8000, received, &(struct want){ ROOT "/telemetry/WS-001", NULL, 5 }));
	read_msgs(e->sub_out, got);
	check_telemetry(got, seqs, 5, 1);
	assert_int_equal(count_topic(e->sub_out, ROOT "/status", "online"), 1);
	e->sk.ops->get_stats(e->sk.impl, &st);
	assert_int_equal(st.sent, 9);
	assert_int_equal(st.quarantined, 0);

	/* a clean close says offline itself, retained */
	e->sk.ops->flush(e->sk.impl, 3000);
	sink_stop(e);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "offline", 1);
	free(got);
}

/* A backlog five windows long goes out in order and is acked completely;
 * records that cannot be sent are quarantined: counted and acked. */
static void test_backlog_and_quarantine(void **state)
{
	struct env *e = *state;
	struct msgs *got = calloc(1, sizeof(*got));
	uint64_t *seqs = calloc(5 * SINK_MQTT_WINDOW, sizeof(*seqs));
	struct record bad = { .type = REC_POLL };
	struct sink_stats st;
	struct cfg_mqtt cfg;
	char uri[64];
	int n = 0;

	assert_non_null(got);
	assert_non_null(seqs);
	broker_start_any(e, NULL, true);
	sub_start(e, "backlog.out");
	e->q = queue_new(1024, 1);
	assert_non_null(e->q);
	for (int i = 0; i < 5 * SINK_MQTT_WINDOW; i++) {
		seqs[n++] = append_poll(e);
		if (i == 10) {
			bad.u.poll.n = REC_MAX_VALUES + 1; /* cannot be encoded */
			push(e, &bad);
		} else if (i == 20) {
			bad.u.poll.n = 0;
			name(bad.u.poll.outlet, sizeof(bad.u.poll.outlet), "\xff\xfe"); /* not UTF-8 */
			push(e, &bad);
		}
	}
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	assert_int_equal(sink_mqtt_new(&cfg, GW, e->q, 0, 1764403217123LL, &e->sk), 0);
	e->have_sink = true;
	assert_true(drive(e, 10000, received,
			  &(struct want){ ROOT "/telemetry/WS-001", NULL, n }));
	read_msgs(e->sub_out, got);
	check_telemetry(got, seqs, n, 1);
	e->sk.ops->get_stats(e->sk.impl, &st);
	assert_int_equal(st.sent, n);
	assert_int_equal(st.quarantined, 2);
	assert_int_equal(st.retried, 0);
	free(seqs);
	free(got);
}

/* Telemetry at the configured QoS, alerts at 1 whatever it is. */
static void test_qos_per_type(void **state)
{
	static const int qos[] = { 0, 2 };
	struct env *e = *state;
	struct msgs *got = calloc(1, sizeof(*got));
	char uri[64];

	assert_non_null(got);
	broker_start_any(e, NULL, true);
	for (size_t i = 0; i < sizeof(qos) / sizeof(qos[0]); i++) {
		struct cfg_mqtt cfg = mqtt_cfg(e, uri, sizeof(uri), qos[i]);
		uint64_t seq[1];
		uint64_t alert;

		sub_start(e, i ? "qos2.out" : "qos0.out");
		sink_start(e, &cfg);
		/* at QoS 0 the poll completes first, on the write: out of order */
		alert = append_alert(e);
		seq[0] = append_poll(e);
		assert_true(drive(e, 5000, received,
				  &(struct want){ ROOT "/alerts/WS-001", NULL, 1 }));
		assert_true(drive(e, 5000, received,
				  &(struct want){ ROOT "/telemetry/WS-001", NULL, 1 }));
		read_msgs(e->sub_out, got);
		check_telemetry(got, seq, 1, qos[i]);
		check_alert(got, alert);
		sink_stop(e);
		stop_child(&e->sub);
	}
	free(got);
}

/* The child: connects, says so, and keeps the connection until the parent
 * kills it with SIGKILL (nothing can run then: no DISCONNECT is sent). */
static void crash_child(struct env *e, int tell_fd)
{
	char uri[64];
	struct cfg_mqtt cfg = mqtt_cfg(e, uri, sizeof(uri), 1);

	e->q = queue_new(8, 1);
	if (e->q && sink_mqtt_new(&cfg, GW, e->q, 0, 1764403217123LL, &e->sk) == 0 &&
	    drive(e, 5000, is_connected, NULL)) {
		(void)!write(tell_fd, "c", 1);
		drive(e, 20000, NULL, NULL);
	}
	_exit(1);
}

/* A gateway killed with -9 leaves the broker's will behind. */
static void test_will_on_crash(void **state)
{
	struct env *e = *state;
	struct msg late;
	char byte = 0;
	int tell[2];
	pid_t pid;

	broker_start_any(e, NULL, true);
	sub_start(e, "will.out");
	assert_int_equal(pipe(tell), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(e, tell[1]);
	close(tell[1]);
	if (read(tell[0], &byte, 1) != 1 || byte != 'c')
		stop_child(&pid);
	close(tell[0]);
	assert_int_equal(byte, 'c');
	for (int i = 0; i < 250 && !count_topic(e->sub_out, ROOT "/status", "online"); i++)
		nap_ms(20);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "online", 1);
	stop_child(&pid);
	for (int i = 0; i < 250 && !count_topic(e->sub_out, ROOT "/status", "offline"); i++)
		nap_ms(20);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "offline", 1);
}

/* The password comes from its file without the newline. */
static void test_password_file(void **state)
{
	struct env *e = *state;
	char pwfile[PATH_MAX], good[PATH_MAX], bad[PATH_MAX], extra[PATH_MAX + 32], uri[64];
	char *argv[] = { "mosquitto_passwd", "-b", pwfile, "gateway", "s3cret", NULL };
	struct cfg_mqtt cfg;
	uint64_t errors = 0;

	path_in(pwfile, e, "passwd");
	path_in(good, e, "good.pw");
	path_in(bad, e, "bad.pw");
	write_file(pwfile, "");
	assert_int_equal(wait_child(spawn(argv, NULL), 5000), 0);
	write_file(good, "s3cret\n");
	write_file(bad, "wrong\r\n");
	assert_true(snprintf(extra, sizeof(extra), "password_file %s\n", pwfile) <
		    (int)sizeof(extra));
	broker_start_any(e, extra, false);
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	cfg.username = "gateway";
	cfg.password_file = good;
	sink_start(e, &cfg);
	sink_stop(e);

	cfg.password_file = bad;
	e->q = queue_new(8, 1);
	assert_int_equal(sink_mqtt_new(&cfg, GW, e->q, 0, 0, &e->sk), 0);
	e->have_sink = true;
	sink_mqtt_set_backoff_ms(&e->sk, 100, 400);
	assert_true(drive(e, 5000, errors_above, &errors));
	assert_false(sink_mqtt_connected(&e->sk));
}

static void run(const struct env *e, char *const argv[])
{
	char log[PATH_MAX];

	path_in(log, e, "openssl.log");
	assert_int_equal(wait_child(spawn(argv, log), 10000), 0);
}

/* A CA and a server certificate for 127.0.0.1, made with openssl. */
static void make_certs(const struct env *e, char *ca, char *crt, char *key)
{
	char ca_key[PATH_MAX], csr[PATH_MAX], ext[PATH_MAX];
	char *ca_argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key, "-out",
			    ca, "-days", "2", "-subj", "/CN=outfall test CA", NULL };
	char *csr_argv[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
			     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
			     csr, "-subj", "/CN=127.0.0.1", NULL };
	char *sign_argv[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
			      "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext, NULL };

	path_in(ca, e, "ca.crt");
	path_in(ca_key, e, "ca.key");
	path_in(crt, e, "server.crt");
	path_in(key, e, "server.key");
	path_in(csr, e, "server.csr");
	path_in(ext, e, "server.ext");
	write_file(ext, "subjectAltName=IP:127.0.0.1\n");
	run(e, ca_argv);
	run(e, csr_argv);
	run(e, sign_argv);
}

/* TLS with the broker's certificate checked: our CA works, the system's
 * trust store (which does not know it) does not. */
static void test_tls(void **state)
{
	struct env *e = *state;
	char ca[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], extra[4 * PATH_MAX], uri[64];
	struct cfg_mqtt cfg = { .qos = 1, .tls = true, .tls_verify = true, .tls_ca_file = ca };
	uint64_t errors = 0;

	make_certs(e, ca, crt, key);
	assert_true(snprintf(extra, sizeof(extra), "cafile %s\ncertfile %s\nkeyfile %s\n", ca,
			     crt, key) < (int)sizeof(extra));
	broker_start_any(e, extra, true);
	assert_true(snprintf(uri, sizeof(uri), "ssl://127.0.0.1:%d", e->port) < (int)sizeof(uri));
	cfg.uri = uri;
	sink_start(e, &cfg);
	append_poll(e);
	assert_true(drive(e, 5000, all_acked, NULL)); /* a PUBACK came over TLS */
	sink_stop(e);

	cfg.tls_ca_file = NULL;
	e->q = queue_new(8, 1);
	assert_int_equal(sink_mqtt_new(&cfg, GW, e->q, 0, 0, &e->sk), 0);
	e->have_sink = true;
	assert_true(drive(e, 5000, errors_above, &errors));
	assert_false(sink_mqtt_connected(&e->sk));
}

static void test_bad_settings(void **state)
{
	struct env *e = *state;
	char empty[PATH_MAX], big[PATH_MAX], nul[PATH_MAX], missing[PATH_MAX], text[400];
	char long_id[300];
	struct queue *q = queue_new(8, 1);
	struct sink sk = { .ops = NULL, .impl = &sk };
	struct cfg_mqtt ok = { .uri = "tcp://127.0.0.1:1", .qos = 1 };
	const struct {
		struct cfg_mqtt cfg;
		int rc;
	} cases[] = {
		{ { .uri = NULL, .qos = 1 }, -EINVAL },
		{ { .uri = "", .qos = 1 }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .qos = 3 }, -EINVAL },
		{ { .uri = "bogus://127.0.0.1:1", .qos = 1 }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .topic_root = "outfall/+" }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .topic_root = "outfall/" }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .client_id = long_id }, -ENAMETOOLONG },
		{ { .uri = "tcp://127.0.0.1:1", .password_file = empty }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = missing }, -ENOENT },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = empty }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = nul }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = big }, -EFBIG },
	};

	assert_non_null(q);
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memset(text, 'p', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	path_in(empty, e, "empty.pw");
	path_in(big, e, "big.pw");
	path_in(nul, e, "nul.pw");
	path_in(missing, e, "missing.pw");
	write_file(empty, "\n");
	write_file(big, text);
	{
		int fd = open(nul, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "ab\0cd\n", 6), 6);
		close(fd);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sink_mqtt_new(&cases[i].cfg, GW, q, 0, 0, &sk), cases[i].rc);
		assert_null(sk.ops); /* untouched on failure */
		assert_ptr_equal(sk.impl, &sk);
	}
	assert_int_equal(sink_mqtt_new(&ok, "", q, 0, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, GW, q, QUEUE_MAX_SINKS, 0, &sk), -EINVAL);
	/* and a good one is created and freed without ever connecting */
	assert_int_equal(sink_mqtt_new(&ok, GW, q, 0, 0, &sk), 0);
	sk.ops->free(sk.impl);
	queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_will_on_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_restart_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos_per_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_and_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
