/*
 * test_history.c - the local history (sinks/history/): records written
 * through the sink from a real outbox in a temp dir, acked only after the
 * COMMIT, read back through the query API (values, order, filters, alert
 * records whole), replays ignored, retention by age and by size (oldest
 * readings first, alerts kept), and a damaged file set aside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "base/clock.h"
#include "base/param.h"
#include "outbox/outbox.h"
#include "sinks/history/history.h"
#include "sinks/history/internal.h"

#define DAY 86400000LL
#define T0 1764403200000LL /* 2025-11-29T08:00:00Z */
#define PERMIT "浙丽排字第2023-0042号"

static char tdir[200], obdir[256], hdir[256];
static int64_t fake_wall = T0 + 3600000;
static int64_t mono = 1000;

static int64_t wall(void)
{
	return fake_wall;
}

static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/history-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tdir))
		return -1;
	snprintf(obdir, sizeof(obdir), "%s/outbox", tdir);
	snprintf(hdir, sizeof(hdir), "%s/history", tdir);
	fake_wall = T0 + 3600000;
	mono = clock_mono_ms();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("HISTORY_TEST_KEEP"))
		return 0;
	test_rm_tree(hdir);
	test_rm_tree(obdir);
	test_rm_tree(tdir);
	return 0;
}

static struct outbox *open_ob(int n_sinks)
{
	struct outbox_opts o;
	struct outbox *ob = NULL;

	outbox_opts_default(&o);
	o.fsync_ms = 0; /* every record visible to the sinks at once */
	assert_int_equal(outbox_open(obdir, &o, n_sinks, mono, &ob), 0);
	return ob;
}

static struct cfg_history mkcfg(void)
{
	return (struct cfg_history){ .enabled = true, .dir = hdir, .raw_days = 31,
				     .aggregate_days = 400, .max_mb = 16, .commit_s = 5 };
}

static struct sink mksink(struct outbox *ob, int idx)
{
	struct cfg_history c = mkcfg();
	struct sink sk;

	assert_int_equal(sink_history_new(&c, "gw-1", ob, idx, &sk), 0);
	sink_history_set_clock(&sk, wall);
	return sk;
}

/* ---- records ---------------------------------------------------------------- */

static uint64_t put(struct outbox *ob, const struct record *r)
{
	uint64_t seq = 0;

	assert_int_equal(outbox_append(ob, r, mono, &seq), 0);
	return seq;
}

static uint64_t put_poll(struct outbox *ob, const char *outlet, const char *sensor, int64_t ts,
			 double base)
{
	struct record r = { .type = REC_POLL, .ts_ms = ts };
	struct rec_poll *p = &r.u.poll;

	snprintf(p->outlet, sizeof(p->outlet), "%s", outlet);
	snprintf(p->sensor, sizeof(p->sensor), "%s", sensor);
	p->n = 3;
	p->values[0] = (struct rec_value){ .v = base, .param = P_COD, .quality = Q_OK,
					   .flags = RV_F32 };
	p->values[1] = (struct rec_value){ .v = base / 100, .param = P_PH, .quality = Q_OK };
	p->values[2] = (struct rec_value){ .v = 1.0, .param = P_SS, .quality = Q_NO_RESPONSE };
	return put(ob, &r);
}

static uint64_t put_agg(struct outbox *ob, int64_t ts, int period)
{
	struct record r = { .type = REC_AGGREGATE, .ts_ms = ts };
	struct rec_aggregate *a = &r.u.aggregate;

	snprintf(a->outlet, sizeof(a->outlet), "WS-001");
	a->period = (uint8_t)period;
	a->end_ms = ts + 60000;
	a->n = 2;
	a->params[0] = (struct rec_agg_param){ .param = P_COD, .count = 12, .avg = 210.5,
					       .min = 200, .max = 230.25, .cou = 1.5 };
	a->params[1] = (struct rec_agg_param){ .param = P_FLOW, .count = 12, .avg = 3,
					       .min = 2, .max = 4, .cou = NAN };
	return put(ob, &r);
}

static struct record mkalert(int64_t ts, int state)
{
	struct record r = { .type = REC_ALERT, .ts_ms = ts };
	struct rec_alert *a = &r.u.alert;

	snprintf(a->id, sizeof(a->id), "gw-1/WS-001/cod/instant/%lld", (long long)T0);
	a->state = (uint8_t)state;
	a->kind = AK_LIMIT_EXCEEDED;
	a->param = P_COD;
	snprintf(a->outlet, sizeof(a->outlet), "WS-001");
	snprintf(a->sensor, sizeof(a->sensor), "probe1");
	snprintf(a->permit, sizeof(a->permit), "%s", PERMIT);
	snprintf(a->holder, sizeof(a->holder), "丽水某食品有限公司");
	a->limit = 500.0;
	a->value = state ? 480.0 : 612.4;
	a->peak = 612.4;
	a->since_ms = T0;
	a->until_ms = state ? ts : 0;
	a->reason = state ? CR_BACK_INSIDE : CR_NONE;
	a->value_flags = RV_F32;
	snprintf(a->note, sizeof(a->note), "note %d", state);
	return r;
}

static uint64_t put_maint(struct outbox *ob, int64_t ts, int event)
{
	struct record r = { .type = REC_MAINT, .ts_ms = ts };
	struct rec_maint *m = &r.u.maint;

	m->event = (uint8_t)event;
	m->mode = MM_CALIBRATION;
	m->ended_by = event == MEV_END ? MEND_OPERATOR : MEND_NONE;
	snprintf(m->outlet, sizeof(m->outlet), "WS-001");
	snprintf(m->sensor, sizeof(m->sensor), "probe1");
	m->since_ms = T0;
	m->planned_end_ms = T0 + 3600000;
	m->until_ms = event == MEV_END ? ts : 0;
	snprintf(m->note, sizeof(m->note), "pH 7 buffer");
	return put(ob, &r);
}

static uint64_t put_reload(struct outbox *ob, int64_t ts, int outcome, const char *summary)
{
	struct record r = { .type = REC_RELOAD, .ts_ms = ts };

	r.u.reload.outcome = (uint8_t)outcome;
	r.u.reload.changes = outcome == RLD_APPLIED ? 1 : 2;
	snprintf(r.u.reload.summary, sizeof(r.u.reload.summary), "%s", summary);
	return put(ob, &r);
}

static void put_metrics(struct outbox *ob)
{
	struct record r = { .type = REC_METRICS, .ts_ms = T0 };

	r.u.metrics.polls = 10;
	put(ob, &r);
}

/* ---- reading back ----------------------------------------------------------- */

struct got {
	int n;
	int64_t ts[64];
	int64_t seq[64];
	double v[64];
	int param[64];
	int quality[64];
	int flags[64];
	char sensor[64][REC_NAME];
	struct rec_alert alerts[4];
	struct rec_maint maint[4];
	struct hist_aggregate agg[8];
};

static int take_reading(const struct hist_reading *r, void *arg)
{
	struct got *g = arg;

	if (g->n < 64) {
		g->ts[g->n] = r->ts_ms;
		g->seq[g->n] = r->seq;
		g->v[g->n] = r->v.v;
		g->param[g->n] = r->v.param;
		g->quality[g->n] = r->v.quality;
		g->flags[g->n] = r->v.flags;
		memcpy(g->sensor[g->n], r->sensor, REC_NAME);
	}
	g->n++;
	return 0;
}

static int take_alert(int64_t ts, const struct rec_alert *a, void *arg)
{
	struct got *g = arg;

	(void)ts;
	if (g->n < 4)
		g->alerts[g->n] = *a;
	g->n++;
	return 0;
}

static int take_maint(int64_t ts, const struct rec_maint *m, void *arg)
{
	struct got *g = arg;

	(void)ts;
	if (g->n < 4)
		g->maint[g->n] = *m;
	g->n++;
	return 0;
}

static int take_agg(const struct hist_aggregate *a, void *arg)
{
	struct got *g = arg;

	if (g->n < 8)
		g->agg[g->n] = *a;
	g->n++;
	return 0;
}

static int stop_at_two(const struct hist_reading *r, void *arg)
{
	(void)r;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static struct history *hopen(void)
{
	struct history *h = NULL;
	char err[256];

	assert_int_equal(history_open(hdir, &h, err, sizeof(err)), 0);
	return h;
}

static int count_readings(const char *outlet, int param)
{
	struct history *h = hopen();
	struct got *g = calloc(1, sizeof(*g));
	int n;

	assert_int_equal(history_readings(h, outlet, param, 0, INT64_MAX, take_reading, g), 0);
	n = g->n;
	free(g);
	history_close(h);
	return n;
}

static void commit_now(struct sink *sk)
{
	mono = clock_mono_ms() + 5000; /* the sink was made on the real clock */
	sk->ops->dispatch(sk->impl, NULL, 0, mono);
}

/* ---- tests ------------------------------------------------------------------ */

/* A poll of n values (cod, then ph, nh3n, ... for the rest), value k = base + k. */
static uint64_t put_wide(struct outbox *ob, const char *sensor, int64_t ts, int n, double base)
{
	static const int params[] = { P_COD, P_PH, P_NH3N, P_TP, P_TN, P_SS };
	struct record r = { .type = REC_POLL, .ts_ms = ts };
	struct rec_poll *p = &r.u.poll;

	snprintf(p->outlet, sizeof(p->outlet), "WS-009");
	snprintf(p->sensor, sizeof(p->sensor), "%s", sensor);
	p->n = (uint8_t)n;
	for (int k = 0; k < n; k++)
		p->values[k] = (struct rec_value){ .v = base + k, .param = (uint8_t)params[k],
						   .quality = k == 1 ? Q_OUT_OF_RANGE : Q_OK };
	return put(ob, &r);
}

/* The poll table grows only as wide as the widest sensor, across reopens;
 * narrower rows written before read back beside wider ones. */
static void test_poll_table_widens(void **state)
{
	struct outbox *ob = open_ob(1);
	struct sink sk = mksink(ob, 0);
	struct got *g = calloc(1, sizeof(*g));
	struct history *h;

	(void)state;
	put_wide(ob, "one", T0, 1, 10.0);
	commit_now(&sk);
	sk.ops->free(sk.impl);
	sk = mksink(ob, 0); /* reopened: one slot wide */
	put_wide(ob, "six", T0 + 1000, 6, 20.0);
	put_wide(ob, "one", T0 + 2000, 1, 30.0);
	commit_now(&sk);
	h = hopen();
	assert_int_equal(history_readings(h, "WS-009", -1, 0, INT64_MAX, take_reading, g), 0);
	assert_int_equal(g->n, 8);
	assert_true(g->v[0] == 10.0 && g->param[0] == P_COD);
	assert_true(g->v[6] == 25.0 && g->param[6] == P_SS);
	assert_int_equal(g->quality[2], Q_OUT_OF_RANGE);
	assert_true(g->v[7] == 30.0);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_readings(h, "WS-009", P_TN, 0, INT64_MAX, take_reading, g), 0);
	assert_int_equal(g->n, 1);
	assert_true(g->v[0] == 24.0);
	history_close(h);
	free(g);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

/* Everything is acked only once committed, and reads back as written. */
static void test_write_then_read(void **state)
{
	struct outbox *ob = open_ob(1);
	struct sink sk = mksink(ob, 0);
	struct record al0 = mkalert(T0 + 2000, ALERT_RAISED), al1 = mkalert(T0 + 9000,
									   ALERT_CLEARED);
	struct got *g = calloc(1, sizeof(*g));
	struct history *h;
	struct sink_stats st;
	int stop = 0;

	(void)state;
	put_poll(ob, "WS-001", "probe1", T0 + 1000, 183.9);
	put(ob, &al0);
	put_poll(ob, "WS-001", "probe1", T0 + 3000, 190.0);
	put_poll(ob, "WS-002", "probe2", T0 + 2000, 50.0);
	put_agg(ob, T0, AGG_MINUTE);
	put_agg(ob, T0, AGG_HOUR);
	put_maint(ob, T0 + 4000, MEV_START);
	put_maint(ob, T0 + 8000, MEV_END);
	put(ob, &al1);
	put_metrics(ob);
	assert_int_equal(outbox_unacked(ob, 0), 10);

	/* before commit_s: nothing read, nothing written, nothing acked */
	sk.ops->dispatch(sk.impl, NULL, 0, mono + 1000);
	assert_int_equal(outbox_unacked(ob, 0), 10);
	assert_int_equal(count_readings(NULL, -1), 0);
	assert_true(sk.ops->next_ms(sk.impl, mono) >= mono + 4000);

	commit_now(&sk);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	sk.ops->get_stats(sk.impl, &st);
	assert_int_equal(st.sent, 10);

	/* readings: all, in time order, with values, quality, flags */
	h = hopen();
	assert_int_equal(history_readings(h, NULL, -1, 0, INT64_MAX, take_reading, g), 0);
	assert_int_equal(g->n, 9);
	for (int i = 1; i < 9; i++)
		assert_true(g->ts[i - 1] <= g->ts[i]);
	assert_int_equal(g->ts[0], T0 + 1000);
	assert_true(g->v[0] == 183.9);
	assert_int_equal(g->param[0], P_COD);
	assert_int_equal(g->flags[0], RV_F32);
	assert_string_equal(g->sensor[0], "probe1");
	assert_int_equal(g->quality[2], Q_NO_RESPONSE);
	assert_true(isnan(g->v[2]));
	assert_int_equal(g->ts[3], T0 + 2000); /* WS-002 sorts between by time */

	/* filters: outlet and parameter, time range */
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_readings(h, "WS-001", P_COD, 0, INT64_MAX, take_reading, g), 0);
	assert_int_equal(g->n, 2);
	assert_true(g->v[1] == 190.0);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_readings(h, "WS-001", -1, T0 + 2000, T0 + 5000, take_reading,
					  g), 0);
	assert_int_equal(g->n, 3);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_readings(h, "WS-002", P_PH, 0, INT64_MAX, take_reading, g), 0);
	assert_int_equal(g->n, 1);
	assert_true(g->v[0] == 0.5);
	assert_int_equal(history_readings(h, NULL, -1, 0, INT64_MAX, stop_at_two, &stop), 7);

	/* aggregates */
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_aggregates(h, "WS-001", AGG_HOUR, 0, INT64_MAX, take_agg, g), 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->agg[0].period, AGG_HOUR);
	assert_int_equal(g->agg[0].p.param, P_COD);
	assert_true(g->agg[0].p.max == 230.25);
	assert_int_equal(g->agg[0].p.count, 12);
	assert_int_equal(g->agg[0].end_ms, T0 + 60000);
	assert_true(isnan(g->agg[1].p.cou));
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_aggregates(h, NULL, -1, 0, INT64_MAX, take_agg, g), 0);
	assert_int_equal(g->n, 4);

	/* alerts: whole records back */
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_alerts(h, "WS-001", 0, INT64_MAX, take_alert, g), 0);
	assert_int_equal(g->n, 2);
	assert_string_equal(g->alerts[0].permit, PERMIT);
	assert_string_equal(g->alerts[0].holder, "丽水某食品有限公司");
	assert_true(g->alerts[0].value == 612.4);
	assert_int_equal(g->alerts[0].value_flags, RV_F32);
	assert_int_equal(g->alerts[1].state, ALERT_CLEARED);
	assert_int_equal(g->alerts[1].reason, CR_BACK_INSIDE);
	assert_int_equal(g->alerts[1].until_ms, T0 + 9000);
	assert_string_equal(g->alerts[1].note, "note 1");
	assert_memory_equal(&g->alerts[1], &al1.u.alert, sizeof(al1.u.alert));
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_alert_events(h, al0.u.alert.id, take_alert, g), 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->alerts[0].state, ALERT_RAISED);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_alerts(h, "WS-002", 0, INT64_MAX, take_alert, g), 0);
	assert_int_equal(g->n, 0);

	/* maintenance */
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_maintenance(h, "WS-001", 0, INT64_MAX, take_maint, g), 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->maint[0].event, MEV_START);
	assert_int_equal(g->maint[0].mode, MM_CALIBRATION);
	assert_int_equal(g->maint[1].event, MEV_END);
	assert_int_equal(g->maint[1].ended_by, MEND_OPERATOR);
	assert_int_equal(g->maint[1].until_ms, T0 + 8000);
	assert_int_equal(g->maint[1].planned_end_ms, T0 + 3600000);
	assert_string_equal(g->maint[1].note, "pH 7 buffer");

	assert_int_equal(history_newest_ms(h), T0 + 3000); /* not the last seq's T0 + 2000 */
	history_close(h);
	free(g);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

/* The same seqs again (a crash between COMMIT and the cursor) add nothing. */
static void test_replay_ignored(void **state)
{
	struct outbox *ob = open_ob(2);
	struct sink a = mksink(ob, 0), b;

	(void)state;
	for (int i = 0; i < 20; i++)
		put_poll(ob, "WS-001", "probe1", T0 + i * 1000, i);
	put_agg(ob, T0, AGG_MINUTE);
	commit_now(&a);
	assert_int_equal(count_readings(NULL, -1), 60);
	b = mksink(ob, 1); /* a second cursor over the same records and file */
	b.ops->flush(b.impl, 1000);
	assert_int_equal(outbox_unacked(ob, 1), 0);
	assert_int_equal(count_readings(NULL, -1), 60);
	a.ops->flush(a.impl, 1000); /* nothing waits: a no-op */
	assert_int_equal(count_readings("WS-001", P_COD), 20);
	b.ops->free(b.impl);
	a.ops->free(a.impl);
	outbox_close(ob);
}

/* Readings past raw_days go, aggregates and alerts past aggregate_days. */
static void test_retention_by_age(void **state)
{
	struct outbox *ob = open_ob(1);
	struct sink sk = mksink(ob, 0);
	struct record old_alert = mkalert(T0 - 500 * DAY, ALERT_RAISED);
	struct record new_alert = mkalert(T0 - 2 * DAY, ALERT_CLEARED);
	struct got *g = calloc(1, sizeof(*g));
	struct history *h;

	(void)state;
	fake_wall = T0;
	for (int i = 0; i < 5; i++) {
		put_poll(ob, "WS-001", "probe1", T0 - 40 * DAY + i, 1);
		put_poll(ob, "WS-002", "probe2", T0 - 40 * DAY + i, 1);
		put_poll(ob, "", "loose", T0 - 40 * DAY + i, 1); /* no outlet */
		put_poll(ob, "WS-001", "probe1", T0 - 10 * DAY + i, 2);
	}
	put_agg(ob, T0 - 500 * DAY, AGG_DAY);
	put_agg(ob, T0 - 10 * DAY, AGG_DAY);
	put(ob, &old_alert);
	put(ob, &new_alert);
	put_maint(ob, T0 - 450 * DAY, MEV_START);
	put_reload(ob, T0 - 450 * DAY, RLD_APPLIED, "old");
	put_reload(ob, T0 - 2 * DAY, RLD_APPLIED, "kept");
	commit_now(&sk); /* retention runs after the first transaction */
	assert_int_equal(sink_history_retain_now(&sk), SQLITE_OK);
	assert_int_equal(count_readings(NULL, -1), 15);
	assert_int_equal(count_readings("WS-002", -1), 0);
	assert_int_equal(sink_history_meta(&sk, "expired_raw"), 45);
	assert_int_equal(sink_history_meta(&sk, "expired_aggregate"), 2);
	assert_int_equal(sink_history_meta(&sk, "expired_alert"), 1);
	assert_int_equal(sink_history_meta(&sk, "expired_maintenance"), 1);
	assert_int_equal(sink_history_meta(&sk, "expired_reload"), 1);
	assert_int_equal(sink_history_meta(&sk, "dropped_raw"), 0);
	h = hopen();
	assert_int_equal(history_aggregates(h, NULL, -1, 0, INT64_MAX, take_agg, g), 0);
	assert_int_equal(g->n, 2);
	assert_int_equal(g->agg[0].ts_ms, T0 - 10 * DAY);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_alerts(h, NULL, 0, INT64_MAX, take_alert, g), 0);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->alerts[0].state, ALERT_CLEARED);
	history_close(h);
	free(g);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

/* The reload rows of the store, "seq outcome changes summary" a line. */
static void reload_rows(char *out, size_t cap)
{
	char path[300];
	sqlite3 *db;
	sqlite3_stmt *q;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", hdir, HISTORY_FILE);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, ts_ms, outcome, changes, summary "
					    "FROM reload ORDER BY seq", -1, &q, NULL), SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(q) == SQLITE_ROW && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%lld %lld %s %d %s\n",
				      (long long)sqlite3_column_int64(q, 0),
				      (long long)sqlite3_column_int64(q, 1),
				      (const char *)sqlite3_column_text(q, 2),
				      sqlite3_column_int(q, 3),
				      (const char *)sqlite3_column_text(q, 4));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* A reload event is a row after the commit; a store made before the
 * table existed gets it when opened again. */
static void test_reload_rows(void **state)
{
	struct outbox *ob = open_ob(1);
	struct sink sk = mksink(ob, 0);
	char rows[1024], want[1024];
	uint64_t s1, s2, s3;
	sqlite3 *db;
	char path[300];

	(void)state;
	s1 = put_reload(ob, T0, RLD_APPLIED, "permit P-1: cod instant max 500 -> 400 mg/L");
	s2 = put_reload(ob, T0 + 1000, RLD_REFUSED, "2 errors reading outfall.conf; the "
			"running configuration stays");
	commit_now(&sk);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	reload_rows(rows, sizeof(rows));
	snprintf(want, sizeof(want), "%llu %lld applied 1 permit P-1: cod instant max 500 -> "
		 "400 mg/L\n%llu %lld refused 2 2 errors reading outfall.conf; the running "
		 "configuration stays\n", (unsigned long long)s1, T0, (unsigned long long)s2,
		 T0 + 1000);
	assert_string_equal(rows, want);
	sk.ops->free(sk.impl);
	/* a store from before the table: opened again, it has it */
	snprintf(path, sizeof(path), "%s/%s", hdir, HISTORY_FILE);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE reload", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	sk = mksink(ob, 0);
	s3 = put_reload(ob, T0 + 2000, RLD_APPLIED, "no setting changed");
	commit_now(&sk);
	reload_rows(rows, sizeof(rows));
	snprintf(want, sizeof(want), "%llu %lld applied 1 no setting changed\n",
		 (unsigned long long)s3, T0 + 2000);
	assert_string_equal(rows, want);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

static int min_seq(const struct hist_reading *r, void *arg)
{
	int64_t *m = arg;

	if (*m == 0 || r->seq < *m)
		*m = r->seq;
	return 0;
}

/* Over the size cap, the oldest readings go first; alerts stay. */
static void test_retention_by_size(void **state)
{
	struct outbox *ob = open_ob(1);
	struct sink sk = mksink(ob, 0);
	struct got *g = calloc(1, sizeof(*g));
	struct record al = mkalert(T0, ALERT_RAISED);
	struct history *h;
	uint64_t first = 0, seq;
	int64_t oldest = 0;
	int n;

	(void)state;
	fake_wall = T0 + DAY;
	put(ob, &al);
	put_agg(ob, T0, AGG_MINUTE);
	for (int i = 0; i < 6000; i++) {
		seq = put_poll(ob, "WS-001", "probe1", T0 + i * 1000, i);
		first = first ? first : seq;
		if (i % 1000 == 999)
			sk.ops->flush(sk.impl, 5000);
	}
	sk.ops->flush(sk.impl, 5000);
	assert_int_equal(count_readings(NULL, -1), 18000);
	sink_history_set_max_bytes(&sk, 256 * 1024);
	assert_int_equal(sink_history_retain_now(&sk), SQLITE_OK);
	n = count_readings(NULL, -1);
	assert_true(n > 0 && n < 18000);
	assert_int_equal(sink_history_meta(&sk, "dropped_raw"), 18000 - n);
	assert_int_equal(sink_history_meta(&sk, "dropped_alert"), 0);
	h = hopen();
	assert_int_equal(history_readings(h, NULL, -1, 0, INT64_MAX, min_seq, &oldest), 0);
	assert_true(oldest > (int64_t)first); /* the oldest went first ... */
	assert_int_equal(history_newest_ms(h), T0 + 5999 * 1000); /* ... the newest stayed */
	assert_int_equal(history_alerts(h, NULL, 0, INT64_MAX, take_alert, g), 0);
	assert_int_equal(g->n, 1);
	memset(g, 0, sizeof(*g));
	assert_int_equal(history_aggregates(h, NULL, -1, 0, INT64_MAX, take_agg, g), 0);
	assert_int_equal(g->n, 2);
	history_close(h);
	free(g);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

static int count_aside(void)
{
	DIR *d = opendir(hdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strncmp(de->d_name, HISTORY_FILE ".corrupt-", 23) == 0 &&
		     !strchr(de->d_name + 23, '-');
	closedir(d);
	return n;
}

/* A file SQLite calls not a database is set aside; a fresh one works. */
static void test_corrupt_set_aside(void **state)
{
	static const char junk[] = "this is not an SQLite file, it is garbage from a bad SD "
				   "card sector......................................";
	char path[300];
	struct outbox *ob = open_ob(1);
	struct sink sk;
	int fd;

	(void)state;
	mkdir(hdir, 0700);
	snprintf(path, sizeof(path), "%s/%s", hdir, HISTORY_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	sk = mksink(ob, 0);
	assert_int_equal(count_aside(), 1);
	put_poll(ob, "WS-001", "probe1", T0, 7);
	commit_now(&sk);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	assert_int_equal(count_readings("WS-001", P_COD), 1);
	sk.ops->free(sk.impl);
	outbox_close(ob);
}

/* The read side refuses a missing or foreign file with a message. */
static void test_open_errors(void **state)
{
	struct history *h = NULL;
	char err[256] = "", path[300];
	FILE *f;

	(void)state;
	assert_int_equal(history_open(hdir, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, HISTORY_FILE));
	mkdir(hdir, 0700);
	snprintf(path, sizeof(path), "%s/%s", hdir, HISTORY_FILE);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("garbage garbage garbage garbage garbage garbage garbage garbage garbage", f);
	fclose(f);
	assert_int_equal(history_open(hdir, &h, err, sizeof(err)), -1);
	assert_null(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_table_widens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
