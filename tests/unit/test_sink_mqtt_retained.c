/*
 * test_sink_mqtt_retained.c - the MQTT sink's retained messages, judged by
 * what a subscriber arriving later receives: the status the broker publishes
 * as the will when the gateway is killed, and the active-alert set of each
 * outlet - published retained, kept per outlet within its bounds, and
 * published again after the broker restarts without them.
 */
#include "sink_mqtt_fixture.h"

/* ---- retained active-alert sets ---- */

#define ACTIVE1 "[{\"id\":\"" GW "/WS-001/cod/instant/1764403217000\",\"kind\":\"limit_exceeded\"," \
		"\"parameter\":\"cod\",\"since\":\"2025-11-29T08:00:17.000Z\"}]"
#define ACTIVE2 "[{\"id\":\"" GW "/WS-001/cod/instant/1764403217000\"}," \
		"{\"id\":\"" GW "/WS-001/ph/instant/1764403300000\"}]"
#define ACTIVE_TOPIC1 ROOT "/alerts/WS-001/active"
#define ACTIVE_TOPIC2 ROOT "/alerts/YS-002/active"

static void check_active(const struct env *e, const char *topic, const char *payload)
{
	struct msg late;
	cJSON *doc;

	late_sub(e, topic, &late);
	assert_string_equal(late.topic, topic);
	assert_int_equal(late.qos, 1);
	assert_int_equal(late.retained, 1);
	assert_string_equal(late.payload, payload);
	doc = json(&late);
	assert_true(cJSON_IsArray(doc));
	cJSON_Delete(doc);
}

/* What the call refuses, leaving the kept sets as they were. */
static void check_active_limits(struct env *e)
{
	char big[PAYLOAD_MAX + 1], outlet[REC_NAME + 1];
	struct sink other = { .ops = NULL, .impl = e->sk.impl };

	memset(big, '[', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(outlet, 'o', sizeof(outlet) - 1);
	outlet[sizeof(outlet) - 1] = '\0';
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", big), -EMSGSIZE);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", ""), -EINVAL);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", NULL), -EINVAL);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "", "[]"), -EINVAL);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, NULL, "[]"), -EINVAL);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, outlet, "[]"), -ENAMETOOLONG);
	assert_int_equal(sink_mqtt_publish_active(&other, "WS-001", "[]"), -EINVAL);
	assert_int_equal(sink_mqtt_publish_active(NULL, "WS-001", "[]"), -EINVAL);
	/* an outlet the broker cannot take (not UTF-8) is kept but not sent,
	 * and holds up none of the others */
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "\xff\xfe", "[]"), 0);
	/* 64 outlets are kept; a 65th is refused, a known one still changes */
	for (int i = 3; i < SINK_MQTT_MAX_OUTLETS; i++) {
		assert_true(snprintf(outlet, sizeof(outlet), "X-%02d", i) < (int)sizeof(outlet));
		assert_int_equal(sink_mqtt_publish_active(&e->sk, outlet, "[]"), 0);
	}
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "X-new", "[]"), -ENOSPC);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "X-03", "[3]"), 0);
}

/*
 * A set is published retained at QoS 1 and a late subscriber gets it; an
 * unchanged set is not sent again; a set given while the broker is down,
 * and every other one, is there again after the broker restarts (it keeps
 * nothing: persistence is off).
 */
static void test_active_sets(void **state)
{
	struct env *e = *state;
	struct cfg_mqtt cfg;
	char uri[64];

	broker_start_any(e, NULL, true);
	sub_start(e, "active.out");
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", ACTIVE1), 0);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "YS-002", "[]"), 0);
	assert_true(drive(e, 5000, received, &(struct want){ ACTIVE_TOPIC2, NULL, 1 }));
	check_active(e, ACTIVE_TOPIC1, ACTIVE1);
	check_active(e, ACTIVE_TOPIC2, "[]");
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", ACTIVE1), 0);
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "WS-001", ACTIVE2), 0);
	assert_true(drive(e, 5000, received, &(struct want){ ACTIVE_TOPIC1, NULL, 2 }));
	drive(e, 200, NULL, NULL);
	assert_int_equal(count_topic(e->sub_out, ACTIVE_TOPIC1, NULL), 2);
	check_active(e, ACTIVE_TOPIC1, ACTIVE2);
	check_active_limits(e);
	/* all 64 at the broker before it dies */
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/alerts/X-63/active", NULL, 1 }));

	stop_child(&e->broker);
	stop_child(&e->sub);
	assert_true(drive(e, 5000, is_down, NULL));
	assert_int_equal(sink_mqtt_publish_active(&e->sk, "YS-002", ACTIVE1), 0);
	broker_restart(e);
	sub_start(e, "active2.out");
	assert_true(drive(e, 5000, is_connected, NULL));
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/alerts/X-63/active", NULL, 1 }));
	check_active(e, ACTIVE_TOPIC1, ACTIVE2);
	check_active(e, ACTIVE_TOPIC2, ACTIVE1);
	check_active(e, ROOT "/alerts/X-63/active", "[]");
}

/* ---- the will ---- */

/* The child: connects, says so, and keeps the connection until the parent
 * kills it with SIGKILL (nothing can run then: no DISCONNECT is sent). */
static void crash_child(struct env *e, int tell_fd)
{
	char uri[64];
	struct cfg_mqtt cfg = mqtt_cfg(e, uri, sizeof(uri), 1);

	ob_open(e, "child-outbox");
	if (sink_mqtt_new(&cfg, GW, e->ob, 0, STARTED_MS, &e->sk) == 0 &&
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
	for (int i = 0; i < 500 && !count_topic(e->sub_out, ROOT "/status", "online"); i++)
		nap_ms(10);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "online", 1);
	stop_child(&pid);
	for (int i = 0; i < 500 && !count_topic(e->sub_out, ROOT "/status", "offline"); i++)
		nap_ms(10);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "offline", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_will_on_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_sets, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
