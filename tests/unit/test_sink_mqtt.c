/*
 * test_sink_mqtt.c - the MQTT sink reading a real outbox and publishing to a
 * real mosquitto, judged by what independent mosquitto_sub subscribers
 * receive: status online and offline on a clean close; telemetry, alerts,
 * metrics and aggregates at their topics and QoS; acks in the outbox; an
 * outage with records in flight and appended meanwhile, and nothing acked
 * sent again after a reopen; a live alert ahead of a long backlog;
 * quarantine; refused publishes injected through a link seam.
 * test_sink_mqtt_retained.c has the will and the active-alert sets,
 * test_sink_mqtt_tls.c TLS, credentials and settings.
 */
#include "sink_mqtt_fixture.h"

#include <MQTTAsync.h>
#include <math.h>

/* ---- the link seam: MQTTAsync_sendMessage refusing on demand ---- */

int __real_MQTTAsync_sendMessage(MQTTAsync handle, const char *topic,
				 const MQTTAsync_message *msg, MQTTAsync_responseOptions *ro)
	__attribute__((weak));
int __wrap_MQTTAsync_sendMessage(MQTTAsync handle, const char *topic,
				 const MQTTAsync_message *msg, MQTTAsync_responseOptions *ro);

#define MAX_HELD 16

/* A publish the seam kept from Paho, to be completed by the test. */
struct held {
	MQTTAsync_onSuccess *ok;
	MQTTAsync_onFailure *nok;
	void *ctx;
	uint64_t seq;
};

/* The next `left` publishes to a topic containing `topic` are refused with
 * rc (the seq of the last one is kept); with `hold`, they are accepted but
 * kept here instead, and complete when and how the test says. */
struct inject {
	unsigned calls;      /* through the seam at all */
	const char *topic;
	int left;
	int rc;
	bool hold;
	uint64_t refused_seq;
	struct held held[MAX_HELD];
	int n_held;
};

static struct inject inject;

static uint64_t payload_seq(const MQTTAsync_message *msg)
{
	const char *p = strstr((const char *)msg->payload, "\"seq\":");

	return p ? strtoull(p + 6, NULL, 10) : 0;
}

int __wrap_MQTTAsync_sendMessage(MQTTAsync handle, const char *topic,
				 const MQTTAsync_message *msg, MQTTAsync_responseOptions *ro)
{
	inject.calls++;
	if (inject.left > 0 && inject.topic && strstr(topic, inject.topic)) {
		inject.left--;
		if (!inject.hold) {
			inject.refused_seq = payload_seq(msg);
			return inject.rc;
		}
		assert_true(inject.n_held < MAX_HELD);
		inject.held[inject.n_held++] = (struct held){ ro->onSuccess, ro->onFailure,
							     ro->context, payload_seq(msg) };
		return MQTTASYNC_SUCCESS;
	}
	return __real_MQTTAsync_sendMessage(handle, topic, msg, ro);
}

/* Completes the held publish of seq, as Paho's thread would. */
static void complete(uint64_t seq, bool ok)
{
	for (int i = 0; i < inject.n_held; i++) {
		struct held *h = &inject.held[i];

		if (h->seq != seq || !h->ctx)
			continue;
		if (ok)
			h->ok(h->ctx, NULL);
		else
			h->nok(h->ctx, NULL);
		h->ctx = NULL;
		return;
	}
	fail_msg("no publish of seq %llu is held", (unsigned long long)seq);
}

/* ---- what arrived, as seqs ---- */

#define TEL ROOT "/telemetry/WS-001"
#define ALR ROOT "/alerts/WS-001"

/* The seqs received on one topic, in arrival order, across subscribers. */
struct seqs {
	const char *topic;
	int qos;          /* every message must have it */
	uint64_t *v;
	int n;
	int cap;
};

static void seqs_init(struct seqs *s, const char *topic, int qos, int cap)
{
	*s = (struct seqs){ .topic = topic, .qos = qos, .cap = cap };
	s->v = calloc((size_t)cap, sizeof(*s->v));
	assert_non_null(s->v);
}

/* Each message of the topic: its seq, and for telemetry its content. */
static void seqs_fn(const struct msg *m, void *arg)
{
	struct seqs *s = arg;
	cJSON *doc;

	if (strcmp(m->topic, s->topic) != 0)
		return;
	assert_int_equal(m->qos, s->qos);
	assert_int_equal(m->retained, 0);
	doc = json(m);
	assert_true(s->n < s->cap);
	s->v[s->n] = (uint64_t)jnum(doc, "seq");
	if (strcmp(s->topic, TEL) == 0) {
		const cJSON *cod = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "values"), "cod");

		assert_string_equal(jstr(doc, "sensor"), "probe1");
		assert_true(jnum(cod, "v") == cod_of(s->v[s->n]));
	} else {
		assert_string_equal(jstr(doc, "state"), "raised");
		assert_string_equal(jstr(doc, "permit"), PERMIT);
		assert_string_equal(jstr(doc, "holder"), HOLDER);
	}
	s->n++;
	cJSON_Delete(doc);
}

static void seqs_read(struct seqs *s, const char *path)
{
	for_each_msg(path, seqs_fn, s);
}

/* Exactly want, in order, each once. */
static void check_exact(const struct seqs *got, const uint64_t *want, int n)
{
	assert_int_equal(got->n, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(got->v[i], want[i]);
}

/* What a consumer that drops repeats by seq sees is exactly want, in
 * order: every new seq is the next one wanted, every other one a repeat. */
static void check_dedup(const struct seqs *got, const uint64_t *want, int n)
{
	uint64_t max = 0;
	int k = 0;

	for (int i = 0; i < got->n; i++) {
		if (got->v[i] <= max)
			continue;
		if (k >= n || got->v[i] != want[k])
			fail_msg("received seq %llu where %llu was due",
				 (unsigned long long)got->v[i],
				 k < n ? (unsigned long long)want[k] : 0ULL);
		max = want[k++];
	}
	assert_int_equal(k, n);
}

static struct sink_stats stats(const struct env *e)
{
	struct sink_stats st;

	e->sk.ops->get_stats(e->sk.impl, &st);
	return st;
}

/* ---- delivery, outage, reopen ---- */

static void test_deliver_restart_and_close(void **state)
{
	struct env *e = *state;
	struct seqs tel, alr;
	struct cfg_mqtt cfg;
	uint64_t seqs[8], alert, errors;
	struct msg late;
	char uri[64];

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
	alert = append_alert(e);
	assert_true(drive(e, 5000, received, &(struct want){ TEL, NULL, 3 }));
	assert_true(drive(e, 5000, received, &(struct want){ ALR, NULL, 1 }));
	seqs_init(&tel, TEL, 1, 16);
	seqs_init(&alr, ALR, 1, 16);
	seqs_read(&tel, e->sub_out);
	seqs_read(&alr, e->sub_out);
	check_exact(&tel, seqs, 3);
	check_exact(&alr, &alert, 1);
	assert_int_equal(outbox_unacked(e->ob, 0), 0);
	assert_int_equal(stats(e).sent, 4);
	errors = stats(e).errors;

	/* the broker dies: what is appended meanwhile stays unacked */
	stop_child(&e->broker);
	stop_child(&e->sub);
	assert_true(drive(e, 5000, is_down, NULL));
	assert_true(stats(e).errors > errors);
	for (int i = 0; i < 5; i++)
		seqs[i] = append_poll(e);
	drive(e, 300, NULL, NULL);
	assert_int_equal(outbox_unacked(e->ob, 0), 5);

	/* it comes back on the same port: all five arrive, in order */
	broker_restart(e);
	sub_start(e, "sub2.out");
	assert_true(drive(e, 8000, received, &(struct want){ TEL, NULL, 5 }));
	tel.n = 0;
	seqs_read(&tel, e->sub_out);
	check_exact(&tel, seqs, 5);
	assert_int_equal(count_topic(e->sub_out, ROOT "/status", "online"), 1);
	assert_int_equal(stats(e).sent, 9);
	assert_int_equal(stats(e).quarantined, 0);

	/* a clean close says offline itself, retained */
	e->sk.ops->flush(e->sk.impl, 3000);
	sink_stop(e);
	late_sub(e, ROOT "/status", &late);
	check_status(&late, "offline", 1);
	free(tel.v);
	free(alr.v);
}

#define OUT_FIRST 200  /* records before the outage */
#define OUT_FROZEN 100 /* records sent to a frozen broker, in flight at the kill */
#define OUT_DOWN 100   /* records appended while the broker is down */
#define OUT_ALL (OUT_FIRST + OUT_FROZEN + OUT_DOWN)
#define OUT_ALERT_EVERY 50

static int append_mix(struct env *e, int n, uint64_t *tel, int *nt, uint64_t *alr, int *na)
{
	for (int i = 0; i < n; i++) {
		tel[(*nt)++] = append_poll(e);
		if (i % OUT_ALERT_EVERY == OUT_ALERT_EVERY - 1)
			alr[(*na)++] = append_alert(e);
	}
	return n;
}

static bool union_complete(struct env *e, const void *arg)
{
	const char *const *paths = arg;
	struct count_arg c = { TEL, NULL, 0 };

	(void)e;
	for_each_msg(paths[0], count_fn, &c);
	for_each_msg(paths[1], count_fn, &c);
	return c.n >= OUT_ALL;
}

/* Restart the sink on the reopened outbox: nothing acked comes again, and
 * the next record does. */
static void check_reopen(struct env *e, const struct cfg_mqtt *cfg)
{
	struct seqs tel;
	uint64_t next;

	e->sk.ops->flush(e->sk.impl, 2000);
	sink_free(e);
	ob_close(e);
	stop_child(&e->sub);
	ob_open(e, "outbox");
	assert_int_equal(outbox_unacked(e->ob, 0), 0);
	sub_start(e, "sub3.out");
	sink_start(e, cfg);
	drive(e, 500, NULL, NULL);
	assert_int_equal(count_topic(e->sub_out, TEL, NULL), 0);
	assert_int_equal(count_topic(e->sub_out, ALR, NULL), 0);
	next = append_poll(e);
	assert_true(drive(e, 5000, received, &(struct want){ TEL, NULL, 1 }));
	seqs_init(&tel, TEL, 1, 4);
	seqs_read(&tel, e->sub_out);
	check_exact(&tel, &next, 1);
	free(tel.v);
}

/*
 * The broker is frozen (SIGSTOP) so that no ack comes back, a window of
 * records goes out to it, and then it is SIGKILLed with them in flight; more
 * are appended while it is down; then it comes back. Across both
 * subscribers every record arrives, in order per stream, repeats only of
 * records already seen; then nothing acked comes again after a reopen.
 */
static void test_outage_in_flight_and_reopen(void **state)
{
	struct env *e = *state;
	uint64_t *tel_want = calloc(OUT_ALL, sizeof(uint64_t));
	uint64_t *alr_want = calloc(OUT_ALL, sizeof(uint64_t));
	char sub1[PATH_MAX], uri[64];
	const char *paths[2] = { sub1, NULL };
	struct seqs tel, alr;
	struct cfg_mqtt cfg;
	uint64_t errors;
	int nt = 0, na = 0;

	assert_non_null(tel_want);
	assert_non_null(alr_want);
	broker_start_any(e, NULL, true);
	sub_start(e, "sub1.out");
	memcpy(sub1, e->sub_out, sizeof(sub1));
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	append_mix(e, OUT_FIRST, tel_want, &nt, alr_want, &na);
	assert_true(drive(e, 5000, all_acked, NULL));

	kill(e->broker, SIGSTOP);
	append_mix(e, OUT_FROZEN, tel_want, &nt, alr_want, &na);
	drive(e, 300, NULL, NULL);
	/* handed out and not acked: in flight */
	assert_true(outbox_unacked(e->ob, 0) > outbox_unsent(e->ob, 0));
	errors = stats(e).errors;
	stop_child(&e->broker);
	stop_child(&e->sub);
	assert_true(drive(e, 5000, is_down, NULL));
	assert_true(stats(e).errors > errors);
	append_mix(e, OUT_DOWN, tel_want, &nt, alr_want, &na);
	drive(e, 300, NULL, NULL);
	assert_true(outbox_unacked(e->ob, 0) >= OUT_FROZEN + OUT_DOWN);

	broker_restart(e);
	sub_start(e, "sub2.out");
	paths[1] = e->sub_out;
	assert_true(drive(e, 10000, all_acked, NULL));
	assert_true(drive(e, 5000, union_complete, paths));
	seqs_init(&tel, TEL, 1, 2 * OUT_ALL);
	seqs_init(&alr, ALR, 1, 2 * OUT_ALL);
	for (int i = 0; i < 2; i++) {
		seqs_read(&tel, paths[i]);
		seqs_read(&alr, paths[i]);
	}
	check_dedup(&tel, tel_want, nt);
	check_dedup(&alr, alr_want, na);
	/* the window in flight at the kill went out again */
	assert_true(stats(e).retried > 0);
	assert_int_equal(stats(e).sent, nt + na);
	assert_int_equal(stats(e).quarantined, 0);
	check_reopen(e, &cfg);
	free(tel.v);
	free(alr.v);
	free(tel_want);
	free(alr_want);
}

/* A backlog five windows long goes out in order and is acked completely;
 * a record Paho refuses for good (not UTF-8) is quarantined: counted,
 * acked, not sent. */
static void test_backlog_and_quarantine(void **state)
{
	struct env *e = *state;
	int cap = 5 * SINK_MQTT_WINDOW;
	uint64_t *want = calloc((size_t)cap, sizeof(*want));
	struct cfg_mqtt cfg;
	struct seqs tel;
	char uri[64];
	int n = 0;

	assert_non_null(want);
	broker_start_any(e, NULL, true);
	sub_start(e, "backlog.out");
	ob_open(e, "outbox");
	for (int i = 0; i < cap; i++) {
		want[n++] = append_poll(e);
		if (i == 20) {
			struct record bad = poll_for(e->last_seq + 1, "\xff\xfe");

			push(e, &bad);
		}
	}
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_create(e, &cfg, false);
	assert_true(drive(e, 10000, received, &(struct want){ TEL, NULL, n }));
	seqs_init(&tel, TEL, 1, cap);
	seqs_read(&tel, e->sub_out);
	check_exact(&tel, want, n);
	assert_int_equal(stats(e).sent, n);
	assert_int_equal(stats(e).quarantined, 1);
	assert_int_equal(stats(e).retried, 0);
	free(tel.v);
	free(want);
}

/* ---- priority ---- */

#define PRIO_BACKLOG 5000
#define PRIO_SENT_FIRST 200

struct order_arg {
	int tel_before_alert; /* telemetry received before the alert */
	bool alert_seen;
};

static void order_fn(const struct msg *m, void *arg)
{
	struct order_arg *o = arg;

	if (strcmp(m->topic, ALR) == 0)
		o->alert_seen = true;
	else if (strcmp(m->topic, TEL) == 0 && !o->alert_seen)
		o->tel_before_alert++;
}

/*
 * Thousands of polls wait; once the drain is under way a live alert is
 * appended: it goes out ahead of the rest of the backlog - behind at most
 * the window that was already in flight - and the drain then finishes in
 * order.
 */
static void test_alert_priority_over_backlog(void **state)
{
	struct env *e = *state;
	uint64_t *want = calloc(PRIO_BACKLOG, sizeof(*want));
	uint64_t first = PRIO_SENT_FIRST, sent_then;
	struct order_arg order = { 0, false };
	struct cfg_mqtt cfg;
	struct seqs tel;
	char uri[64];

	assert_non_null(want);
	broker_start_any(e, NULL, true);
	sub_start(e, "prio.out");
	ob_open_opts(e, "outbox", 1000);
	for (int i = 0; i < PRIO_BACKLOG; i++)
		want[i] = append_poll(e);
	assert_int_equal(outbox_flush(e->ob, clock_mono_ms()), 0);
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_create(e, &cfg, false);
	assert_true(drive(e, 5000, sent_at_least, &first));
	sent_then = stats(e).sent;
	append_alert(e); /* an alert is synced at once, whatever fsync_ms */
	assert_true(drive(e, 10000, received, &(struct want){ ALR, NULL, 1 }));
	assert_true(drive(e, 10000, received, &(struct want){ TEL, NULL, PRIO_BACKLOG }));
	for_each_msg(e->sub_out, order_fn, &order);
	assert_true(order.alert_seen);
	if (order.tel_before_alert > (int)sent_then + SINK_MQTT_WINDOW)
		fail_msg("the alert came after %d polls; %llu were acked and at most %d in flight",
			 order.tel_before_alert, (unsigned long long)sent_then, SINK_MQTT_WINDOW);
	seqs_init(&tel, TEL, 1, PRIO_BACKLOG);
	seqs_read(&tel, e->sub_out);
	check_exact(&tel, want, PRIO_BACKLOG);
	assert_int_equal(stats(e).sent, PRIO_BACKLOG + 1);
	free(tel.v);
	free(want);
}

/* ---- metrics and aggregates ---- */

static uint64_t append_metrics(struct env *e)
{
	struct record r = { .ts_ms = STARTED_MS, .type = REC_METRICS };
	struct rec_metrics *m = &r.u.metrics;

	m->polls = 8640;
	m->errors = 4;
	m->timeouts = 3;
	m->crc_errors = 1;
	m->n_sinks = 2;
	m->sinks[0] = (struct rec_sink_metrics){ .name = "mqtt", .queue_depth = 12,
						 .oldest_unsent_s = 61, .sent = 8000, .retried = 64 };
	m->sinks[1] = (struct rec_sink_metrics){ .name = "influx", .queue_depth = 0,
						 .sent = 8600, .quarantined = 2 };
	return push(e, &r);
}

static uint64_t append_aggregate(struct env *e, int period)
{
	struct record r = { .ts_ms = 1764403200000LL, .type = REC_AGGREGATE };
	struct rec_aggregate *a = &r.u.aggregate;

	name(a->outlet, sizeof(a->outlet), "WS-001");
	a->period = (uint8_t)period;
	a->end_ms = 1764403260000LL;
	a->n = 2;
	a->params[0] = (struct rec_agg_param){ .param = P_COD, .count = 6, .avg = 412.5,
					       .min = 380.25, .max = 455.0, .cou = 0.75 };
	a->params[1] = (struct rec_agg_param){ .param = P_PH, .count = 0, .avg = NAN,
					       .min = NAN, .max = NAN, .cou = NAN };
	return push(e, &r);
}

struct find_arg {
	const char *topic;
	struct msg *out;
	int n;
};

static void find_fn(const struct msg *m, void *arg)
{
	struct find_arg *f = arg;

	if (strcmp(m->topic, f->topic) == 0 && f->n++ == 0)
		*f->out = *m;
}

/* The one message on topic, parsed, after checking its QoS and that it is
 * not retained. Caller frees. */
static cJSON *only_msg(const struct env *e, const char *topic, int qos)
{
	struct msg *m = calloc(1, sizeof(*m));
	struct find_arg f = { topic, m, 0 };
	cJSON *doc;

	assert_non_null(m);
	for_each_msg(e->sub_out, find_fn, &f);
	if (f.n != 1)
		fail_msg("%d messages on %s", f.n, topic);
	assert_int_equal(m->qos, qos);
	assert_int_equal(m->retained, 0);
	doc = json(m);
	free(m);
	return doc;
}

static void check_metrics(const cJSON *doc, uint64_t seq)
{
	const cJSON *sinks = cJSON_GetObjectItem(doc, "sinks");
	const cJSON *mq = cJSON_GetObjectItem(sinks, "mqtt");
	const cJSON *in = cJSON_GetObjectItem(sinks, "influx");

	assert_string_equal(jstr(doc, "ts"), "2025-11-29T08:00:17.123Z");
	assert_true(jnum(doc, "seq") == (double)seq);
	assert_true(jnum(doc, "polls") == 8640);
	assert_true(jnum(doc, "errors") == 4);
	assert_true(jnum(doc, "timeouts") == 3);
	assert_true(jnum(doc, "crc_errors") == 1);
	assert_true(jnum(doc, "exceptions") == 0);
	assert_true(jnum(doc, "outbox_corrupt") == 0);
	assert_true(jnum(doc, "outbox_io_errors") == 0);
	assert_int_equal(cJSON_GetArraySize(sinks), 2);
	assert_true(jnum(mq, "queue_depth") == 12);
	assert_true(jnum(mq, "oldest_unsent_s") == 61);
	assert_true(jnum(mq, "sent") == 8000);
	assert_true(jnum(mq, "retried") == 64);
	assert_true(jnum(mq, "dropped") == 0);
	assert_true(jnum(in, "sent") == 8600);
	assert_true(jnum(in, "quarantined") == 2);
}

static void check_aggregate(const cJSON *doc, uint64_t seq, const char *period)
{
	const cJSON *values = cJSON_GetObjectItem(doc, "values");
	const cJSON *cod = cJSON_GetObjectItem(values, "cod");
	const cJSON *ph = cJSON_GetObjectItem(values, "ph");

	assert_string_equal(jstr(doc, "ts"), "2025-11-29T08:00:00.000Z");
	assert_string_equal(jstr(doc, "end"), "2025-11-29T08:01:00.000Z");
	assert_true(jnum(doc, "seq") == (double)seq);
	assert_string_equal(jstr(doc, "outlet"), "WS-001");
	assert_string_equal(jstr(doc, "period"), period);
	assert_int_equal(cJSON_GetArraySize(values), 2);
	assert_true(jnum(cod, "avg") == 412.5);
	assert_true(jnum(cod, "min") == 380.25);
	assert_true(jnum(cod, "max") == 455.0);
	assert_true(jnum(cod, "cou") == 0.75);
	assert_true(jnum(cod, "count") == 6);
	assert_string_equal(jstr(cod, "unit"), "mg/L");
	/* no good reading in the period: null, never a made-up 0 */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ph, "avg")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ph, "cou")));
	assert_true(jnum(ph, "count") == 0);
	assert_string_equal(jstr(ph, "unit"), "pH");
}

/* Metrics and aggregates reach their topics with their payloads. */
static void test_metrics_and_aggregate(void **state)
{
	struct env *e = *state;
	uint64_t metrics, minute, day;
	struct cfg_mqtt cfg;
	char uri[64];
	cJSON *doc;

	broker_start_any(e, NULL, true);
	sub_start(e, "agg.out");
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	metrics = append_metrics(e);
	minute = append_aggregate(e, AGG_MINUTE);
	day = append_aggregate(e, AGG_DAY);
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/aggregate/WS-001/day", NULL, 1 }));
	assert_true(drive(e, 5000, received, &(struct want){ ROOT "/metrics", NULL, 1 }));
	doc = only_msg(e, ROOT "/metrics", 1);
	check_metrics(doc, metrics);
	cJSON_Delete(doc);
	doc = only_msg(e, ROOT "/aggregate/WS-001/minute", 1);
	check_aggregate(doc, minute, "minute");
	cJSON_Delete(doc);
	doc = only_msg(e, ROOT "/aggregate/WS-001/day", 1);
	check_aggregate(doc, day, "day");
	cJSON_Delete(doc);
	assert_int_equal(stats(e).sent, 3);
}

/* Telemetry and metrics at the configured QoS; alerts and aggregates at 1
 * whatever it is. */
static void test_qos_per_type(void **state)
{
	static const int qos[] = { 0, 2 };
	static const char *const outboxes[] = { "outbox-qos0", "outbox-qos2" };
	struct env *e = *state;
	char uri[64];

	broker_start_any(e, NULL, true);
	for (size_t i = 0; i < sizeof(qos) / sizeof(qos[0]); i++) {
		struct cfg_mqtt cfg = mqtt_cfg(e, uri, sizeof(uri), qos[i]);
		static const char *const topics[] = { TEL, ROOT "/metrics", ALR,
						      ROOT "/aggregate/WS-001/hour" };
		int want_qos[] = { qos[i], qos[i], 1, 1 };

		sub_start(e, i ? "qos2.out" : "qos0.out");
		e->last_seq = 0;
		ob_open(e, outboxes[i]);
		sink_start(e, &cfg);
		append_alert(e);
		append_poll(e);
		append_metrics(e);
		append_aggregate(e, AGG_HOUR);
		for (int k = 0; k < 4; k++)
			assert_true(drive(e, 5000, received, &(struct want){ topics[k], NULL, 1 }));
		for (int k = 0; k < 4; k++)
			cJSON_Delete(only_msg(e, topics[k], want_qos[k]));
		sink_stop(e);
		stop_child(&e->sub);
	}
}

/* ---- refused publishes, through the link seam ---- */

#define INJ_POLLS 150

/*
 * Paho refuses a telemetry publish, then an alert publish, while
 * connected: what was sent before them completes, the sink pauses, and
 * resends from the ack position - every record arrives once, in order.
 * A refusal for good (bad QoS) quarantines the record instead.
 */
static void test_refused_publish(void **state)
{
	struct env *e = *state;
	uint64_t tel_want[INJ_POLLS], alr_want[4], half = INJ_POLLS / 2;
	int nt = 0, na = 0;
	struct seqs tel, alr;
	struct cfg_mqtt cfg;
	char uri[64];

	broker_start_any(e, NULL, true);
	sub_start(e, "inject.out");
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	if (inject.calls == 0)
		fail_msg("the link seam is not in this binary: build it with "
			 "-Wl,--wrap=MQTTAsync_sendMessage (WRAP_test_sink_mqtt in the Makefile)");
	inject = (struct inject){ .topic = "/telemetry/", .left = 1,
				       .rc = MQTTASYNC_FAILURE };
	for (int i = 0; i < INJ_POLLS; i++) {
		tel_want[nt++] = append_poll(e);
		if (i == 10 || i == 100)
			alr_want[na++] = append_alert(e);
	}
	assert_true(drive(e, 5000, sent_at_least, &half));
	assert_int_equal(inject.left, 0);
	inject = (struct inject){ .topic = "/alerts/", .left = 1, .rc = MQTTASYNC_FAILURE };
	alr_want[na++] = append_alert(e);
	assert_true(drive(e, 8000, received, &(struct want){ TEL, NULL, nt }));
	assert_int_equal(inject.left, 0);
	assert_true(drive(e, 5000, received, &(struct want){ ALR, NULL, na }));
	seqs_init(&tel, TEL, 1, 2 * INJ_POLLS);
	seqs_init(&alr, ALR, 1, 16);
	seqs_read(&tel, e->sub_out);
	seqs_read(&alr, e->sub_out);
	check_exact(&tel, tel_want, nt);
	check_exact(&alr, alr_want, na);
	assert_true(stats(e).errors >= 2);
	assert_int_equal(stats(e).quarantined, 0);

	/* refused for good: acked and counted, the next one goes on */
	inject = (struct inject){ .topic = "/telemetry/", .left = 1, .rc = MQTTASYNC_BAD_QOS };
	tel_want[0] = append_poll(e);
	tel_want[1] = append_poll(e);
	assert_true(drive(e, 5000, received, &(struct want){ TEL, NULL, nt + 1 }));
	assert_int_equal(inject.refused_seq, tel_want[0]);
	assert_int_equal(stats(e).quarantined, 1);
	tel.n = 0;
	seqs_read(&tel, e->sub_out);
	assert_int_equal(tel.n, nt + 1);
	assert_int_equal(tel.v[nt], tel_want[1]);
	inject = (struct inject){ 0 };
	free(tel.v);
	free(alr.v);
}

static bool n_held(struct env *e, const void *arg)
{
	(void)e;
	return inject.n_held >= *(const int *)arg;
}

static size_t unacked_after(struct env *e, int ms)
{
	drive(e, ms, NULL, NULL);
	return outbox_unacked(e->ob, 0);
}

/*
 * The ack rule, with completions in an order Paho may report them: a poll
 * completed ahead of older ones is not acked until they are, an alert is
 * acked while polls before it are pending, and a failure resends exactly
 * what was not acked, from the outbox.
 */
static void test_ack_order(void **state)
{
	struct env *e = *state;
	uint64_t p1, p2, p3, a1;
	struct cfg_mqtt cfg;
	char uri[64];
	int want = 4;

	broker_start_any(e, NULL, true);
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	if (inject.calls == 0)
		fail_msg("the link seam is not in this binary: build it with "
			 "-Wl,--wrap=MQTTAsync_sendMessage (WRAP_test_sink_mqtt in the Makefile)");
	inject = (struct inject){ .topic = "/WS-001", .left = 6, .hold = true };
	p1 = append_poll(e);
	p2 = append_poll(e);
	p3 = append_poll(e);
	a1 = append_alert(e);
	assert_true(drive(e, 2000, n_held, &want));
	assert_int_equal(inject.held[0].seq, a1); /* alerts first */
	complete(p3, true);
	assert_int_equal(unacked_after(e, 50), 4);
	complete(a1, true);
	assert_int_equal(unacked_after(e, 50), 3);
	complete(p1, true);
	assert_int_equal(unacked_after(e, 50), 2);
	/* p2 fails: p3, completed but behind it, goes again with it */
	complete(p2, false);
	want = 6;
	assert_true(drive(e, 2000, n_held, &want));
	assert_int_equal(inject.held[4].seq, p2);
	assert_int_equal(inject.held[5].seq, p3);
	complete(p3, true);
	complete(p2, true);
	assert_int_equal(unacked_after(e, 50), 0);
	assert_int_equal(stats(e).sent, 4);
	assert_int_equal(stats(e).retried, 2);
	inject = (struct inject){ 0 };
}

static struct sink_health health(const struct env *e)
{
	struct sink_health h;

	e->sk.ops->get_health(e->sk.impl, &h);
	return h;
}

/* status: a lost broker is the last error, with its time, and the sink
 * says when it tries again; connected again, it waits for nothing and the
 * error stays to be read. */
static void test_health_last_error_and_retry(void **state)
{
	struct env *e = *state;
	struct cfg_mqtt cfg;
	struct sink_health h;
	char uri[64], want[96];
	int64_t before;

	broker_start_any(e, NULL, true);
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	sink_start(e, &cfg);
	h = health(e);
	assert_string_equal(h.last_error, "");
	assert_int_equal(h.last_error_wall_ms, 0);
	assert_int_equal(h.next_retry_ms, 0);
	before = clock_wall_ms();
	stop_child(&e->broker);
	assert_true(drive(e, 5000, is_down, NULL));
	h = health(e);
	snprintf(want, sizeof(want), "mqtt: lost the connection to %s", uri);
	assert_string_equal(h.last_error, want);
	assert_true(h.last_error_wall_ms >= before && h.last_error_wall_ms <= clock_wall_ms());
	assert_true(h.next_retry_ms > 0 && h.next_retry_ms <= clock_mono_ms() + 400);
	drive(e, 300, NULL, NULL); /* a reconnect fails meanwhile */
	h = health(e);
	snprintf(want, sizeof(want), "mqtt: cannot connect to %s: ", uri);
	assert_memory_equal(h.last_error, want, strlen(want));
	broker_restart(e);
	assert_true(drive(e, 5000, is_connected, NULL));
	h = health(e);
	assert_int_equal(h.next_retry_ms, 0);
	assert_memory_equal(h.last_error, want, strlen(want));
}

/* A reload keeps the sink unless the password or a TLS file changed. */
static void test_files_changed(void **state)
{
	struct env *e = *state;
	struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
	char pw[PATH_MAX], ca[PATH_MAX], uri[] = "tcp://127.0.0.1:1";
	struct cfg_mqtt cfg = { .enabled = true, .uri = uri, .qos = 1, .username = "u",
				.password_file = pw, .tls_ca_file = ca };

	path_in(pw, e, "mqtt.pw");
	path_in(ca, e, "ca.pem");
	write_file(pw, "first\n");
	sink_create(e, &cfg, false); /* not connected: the sink only reads them */
	assert_false(e->sk.ops->files_changed(e->sk.impl));
	write_file(ca, "-----BEGIN CERTIFICATE-----\n"); /* a file that was not there */
	assert_true(e->sk.ops->files_changed(e->sk.impl));
	sink_free(e);
	sink_create(e, &cfg, false);
	assert_false(e->sk.ops->files_changed(e->sk.impl));
	write_file(pw, "other\n"); /* same size: the time tells */
	assert_int_equal(utimensat(AT_FDCWD, pw, ts, 0), 0);
	assert_true(e->sk.ops->files_changed(e->sk.impl));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deliver_restart_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outage_in_flight_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_and_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_priority_over_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_and_aggregate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qos_per_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_last_error_and_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_changed, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
