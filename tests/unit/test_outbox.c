/*
 * test_outbox.c - the durable outbox: delivery across reopen, batched sync
 * and visibility, two sinks, alerts first and what an ack covers, segment
 * roll-over and removal, damaged tails, records and cursor files, the disk
 * cap, and directory errors. Faults, memory and a killed process are in
 * test_outbox_faults.c.
 */
#include "outbox_fixture.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"

/* ---- delivery ---- */

static void test_reopen_redelivers_unacked(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	const struct record *r;
	uint64_t seqs[16];

	(void)state;
	for (int i = 1; i <= 10; i++)
		assert_int_equal(put_poll(ob, 100 + i), i);
	for (int i = 1; i <= 10; i++) {
		r = outbox_next(ob, 0);
		assert_non_null(r);
		assert_int_equal(r->seq, i);
		assert_int_equal(r->ts_ms, 100 + i);
		check_rec(r);
	}
	assert_null(outbox_next(ob, 0));
	assert_int_equal(outbox_unsent(ob, 0), 0);
	assert_int_equal(outbox_unacked(ob, 0), 10);
	outbox_ack(ob, 0, 6);
	assert_int_equal(outbox_unacked(ob, 0), 4);
	assert_int_equal(outbox_oldest_unacked_ms(ob, 0), 107);
	outbox_close(ob);

	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(outbox_unacked(ob, 0), 4);
	assert_int_equal(outbox_unsent(ob, 0), 4);
	assert_int_equal(take(ob, 0, seqs, 16), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(seqs[i], 7 + i);
	assert_int_equal(put_poll(ob, 200), 11);
	outbox_ack(ob, 0, 10);
	assert_int_equal(take(ob, 0, seqs, 16), 1);
	assert_int_equal(seqs[0], 11);
	outbox_ack(ob, 0, 11);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	assert_int_equal(outbox_oldest_unacked_ms(ob, 0), 0);
	outbox_close(ob);
	outbox_close(NULL);

	ob = open_ob(&SYNC_EACH, 1);
	assert_null(outbox_next(ob, 0));
	assert_int_equal(put_poll(ob, 300), 12); /* seq never goes back */
	outbox_close(ob);
}

/* Cursor files are named for the sinks: dropping one sink from the set must
 * not hand its position to another. */
static void test_named_sinks_keep_their_cursors(void **state)
{
	struct outbox_opts both = SYNC_EACH, influx_only = SYNC_EACH, bad = SYNC_EACH;
	struct outbox *ob = NULL;
	uint64_t seqs[16];

	(void)state;
	both.sink_names[0] = "mqtt";
	both.sink_names[1] = "influx";
	influx_only.sink_names[0] = "influx";
	ob = open_ob(&both, 2);
	for (int i = 1; i <= 6; i++)
		put_poll(ob, 100 + i);
	assert_int_equal(take(ob, 0, seqs, 16), 6);
	outbox_ack(ob, 0, 6); /* mqtt has everything, influx nothing */
	outbox_close(ob);
	ob = open_ob(&influx_only, 1);
	assert_int_equal(outbox_unacked(ob, 0), 6);
	assert_int_equal(take(ob, 0, seqs, 16), 6);
	assert_int_equal(seqs[0], 1);
	outbox_ack(ob, 0, 4);
	outbox_close(ob);
	ob = open_ob(&both, 2);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	assert_int_equal(outbox_unacked(ob, 1), 2);
	outbox_close(ob);
	bad.sink_names[0] = "MQTT/1";
	assert_int_equal(outbox_open(tdir, &bad, 1, 0, &ob), -EINVAL);
	bad.sink_names[0] = "a";
	bad.sink_names[1] = "a";
	assert_int_equal(outbox_open(tdir, &bad, 2, 0, &ob), -EINVAL);
}

static void test_batched_sync_visibility(void **state)
{
	struct outbox *ob = open_ob(&BATCHED, 1);
	uint64_t seqs[8];

	(void)state;
	assert_int_equal(outbox_next_ms(ob), INT64_MAX);
	for (int i = 0; i < 3; i++)
		put_poll(ob, 10 + i);
	/* written, not yet fdatasync'ed: invisible to the sinks */
	assert_true(file_size(SEG1) > 0);
	assert_null(outbox_next(ob, 0));
	assert_int_equal(outbox_unsent(ob, 0), 0);
	assert_int_equal(outbox_next_ms(ob), 2000);
	outbox_tick(ob, 1999);
	assert_null(outbox_next(ob, 0));
	outbox_tick(ob, 2000);
	assert_int_equal(stats_of(ob).synced, 1);
	assert_int_equal(outbox_next_ms(ob), INT64_MAX);
	assert_int_equal(outbox_unsent(ob, 0), 3);
	/* an alert is synced and visible at once, and goes first */
	clk = 2500;
	put_poll(ob, 20);
	assert_int_equal(put_alert(ob, 21), 5);
	assert_int_equal(take(ob, 0, seqs, 8), 4);
	assert_int_equal(seqs[0], 5);
	assert_int_equal(seqs[1], 1);
	assert_int_equal(seqs[3], 3);
	outbox_close(ob); /* syncs seq 4 */
	ob = open_ob(&BATCHED, 1);
	assert_int_equal(take(ob, 0, seqs, 8), 5);
	assert_int_equal(seqs[4], 4);
	outbox_close(ob);
}

static void test_two_sinks(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 2);
	uint64_t seqs[8];

	(void)state;
	for (int i = 0; i < 6; i++)
		put_poll(ob, i);
	assert_int_equal(drain(ob, 0), 6);
	assert_int_equal(take(ob, 1, seqs, 3), 3);
	outbox_ack(ob, 1, 2);
	assert_int_equal(outbox_unacked(ob, 0), 0);
	assert_int_equal(outbox_unacked(ob, 1), 4);
	assert_int_equal(outbox_unsent(ob, 1), 3);
	outbox_close(ob);

	ob = open_ob(&SYNC_EACH, 2);
	assert_null(outbox_next(ob, 0));
	assert_int_equal(take(ob, 1, seqs, 8), 4);
	assert_int_equal(seqs[0], 3);
	assert_int_equal(seqs[3], 6);
	outbox_close(ob);
}

static void test_alerts_first_and_what_ack_covers(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	uint64_t seqs[8];

	(void)state;
	put_poll(ob, 1);  /* 1 */
	put_poll(ob, 2);  /* 2 */
	put_alert(ob, 3); /* 3 */
	put_poll(ob, 4);  /* 4 */
	put_alert(ob, 5); /* 5 */
	assert_int_equal(take(ob, 0, seqs, 8), 5);
	assert_int_equal(seqs[0], 3);
	assert_int_equal(seqs[1], 5);
	assert_int_equal(seqs[2], 1);
	assert_int_equal(seqs[3], 2);
	assert_int_equal(seqs[4], 4);
	outbox_ack(ob, 0, 2); /* telemetry 1, 2 - not alert... nothing else */
	assert_int_equal(outbox_unacked(ob, 0), 3);
	outbox_ack(ob, 0, 5); /* alerts 3 and 5, not telemetry 4 */
	assert_int_equal(outbox_unacked(ob, 0), 1);
	assert_int_equal(outbox_oldest_unacked_ms(ob, 0), 4);
	outbox_ack(ob, 0, 3);  /* stale */
	outbox_ack(ob, 0, 99); /* never handed out */
	assert_int_equal(outbox_unacked(ob, 0), 1);
	outbox_ack(ob, 0, 4);
	assert_int_equal(outbox_unacked(ob, 0), 0);

	put_poll(ob, 6);  /* 6 */
	put_alert(ob, 7); /* 7 */
	put_poll(ob, 8);  /* 8 */
	assert_int_equal(take(ob, 0, seqs, 8), 3);
	outbox_ack(ob, 0, 6);
	outbox_rewind(ob, 0);
	outbox_ack(ob, 0, 7); /* from before the rewind: ignored */
	outbox_ack(ob, 0, 8);
	assert_int_equal(outbox_unacked(ob, 0), 2);
	assert_int_equal(take(ob, 0, seqs, 8), 2);
	assert_int_equal(seqs[0], 7);
	assert_int_equal(seqs[1], 8);
	outbox_ack(ob, 0, 7);
	outbox_close(ob);

	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(take(ob, 0, seqs, 8), 1);
	assert_int_equal(seqs[0], 8);
	outbox_close(ob);
}

static void test_alert_window(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	uint64_t seqs[80], last_alert = 0;

	(void)state;
	for (int i = 0; i < OUTBOX_ALERT_WINDOW + 6; i++)
		last_alert = put_alert(ob, i);
	put_poll(ob, 1000);
	put_poll(ob, 1001);
	assert_int_equal(take(ob, 0, seqs, 80), OUTBOX_ALERT_WINDOW + 2);
	assert_int_equal(seqs[OUTBOX_ALERT_WINDOW - 1], OUTBOX_ALERT_WINDOW);
	assert_int_equal(seqs[OUTBOX_ALERT_WINDOW], last_alert + 1); /* telemetry */
	outbox_ack(ob, 0, OUTBOX_ALERT_WINDOW);
	assert_int_equal(take(ob, 0, seqs, 80), 6);
	assert_int_equal(seqs[5], last_alert);
	outbox_close(ob);
}

/* ---- segments ---- */

static void test_rollover_and_removal(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 2);
	size_t segs, half;
	uint64_t seqs[400];

	(void)state;
	for (int i = 0; i < 400; i++)
		put_poll(ob, i);
	segs = count_files("seg-");
	assert_true(segs >= 5);
	assert_int_equal(drain(ob, 0), 400);
	clk += 5000;
	outbox_tick(ob, clk);
	assert_int_equal(count_files("seg-"), segs);
	half = take(ob, 1, seqs, 200);
	outbox_ack(ob, 1, seqs[half - 1]);
	clk += 5000;
	outbox_tick(ob, clk);
	assert_true(count_files("seg-") < segs);
	assert_true(count_files("seg-") > 1);
	assert_int_equal(drain(ob, 1), 200);
	clk += 5000;
	outbox_tick(ob, clk);
	assert_int_equal(count_files("seg-"), 1);
	assert_int_equal(stats_of(ob).segments_deleted, segs - 1);
	assert_int_equal(stats_of(ob).segments, 2); /* active seg- and alr- */
	outbox_close(ob);

	ob = open_ob(&SYNC_EACH, 2);
	assert_null(outbox_next(ob, 0));
	assert_null(outbox_next(ob, 1));
	assert_int_equal(put_poll(ob, 1), 401);
	outbox_close(ob);
}

/* Staged telemetry (stage.c): appends go to the staging file, not the
 * segment, until the sync writes the batch; a killed process loses none of
 * it - the next open recovers it - and after a sync the staging file is
 * empty. */
static void test_staged_telemetry(void **state)
{
	struct outbox_opts o = BATCHED;
	char stage[256], sfile[300];
	uint64_t seqs[16];
	struct outbox *ob;
	struct stat sb;
	pid_t pid;
	int status;

	(void)state;
	snprintf(stage, sizeof(stage), "%s/run", tdir);
	snprintf(sfile, sizeof(sfile), "%s/outbox-stage.log", stage);
	assert_int_equal(mkdir(stage, 0700), 0);
	o.stage_dir = stage;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* appends, then dies without a sync or a close */
		ob = open_ob(&o, 1);
		for (int i = 0; i < 5; i++)
			put_poll(ob, i);
		_exit(file_size(SEG1) == 0 ? 0 : 1); /* nothing reached the segment */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(stat(sfile, &sb), 0);
	assert_true(sb.st_size > 0);
	ob = open_ob(&o, 1); /* recovers the five */
	assert_int_equal(stat(sfile, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(take(ob, 0, seqs, 16), 5);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[4], 5);
	put_poll(ob, 10);
	assert_int_equal(stat(sfile, &sb), 0);
	assert_true(sb.st_size > 0);
	outbox_tick(ob, clk + o.fsync_ms);
	assert_int_equal(stat(sfile, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(take(ob, 0, seqs, 16), 1);
	assert_int_equal(seqs[0], 6);
	outbox_close(ob);
	ob = open_ob(&o, 1);
	assert_int_equal(take(ob, 0, seqs, 16), 6); /* no duplicate recovered */
	outbox_close(ob);
}

/* ---- damage ---- */

static void test_corrupt_tail_truncated(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	uint64_t seqs[32];
	off_t last;
	char p[512];

	(void)state;
	for (int i = 0; i < 20; i++)
		put_poll(ob, i);
	outbox_close(ob);
	last = frame_off(SEG1, 19);
	path_of(SEG1, p, sizeof(p));
	assert_int_equal(truncate(p, file_size(SEG1) - 5), 0);
	patch(SEG1, file_size(SEG1), "garbage, garbage", 16);

	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 0);
	assert_int_equal(file_size(SEG1), last);
	assert_int_equal(take(ob, 0, seqs, 32), 19);
	for (int i = 0; i < 19; i++)
		assert_int_equal(seqs[i], i + 1);
	/* seq 20 was in the cut tail, and a sink may have had it: never again */
	assert_true(put_poll(ob, 99) > 20);
	assert_int_equal(take(ob, 0, seqs, 32), 1);
	assert_true(seqs[0] > 20);
	outbox_close(ob);

	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(take(ob, 0, seqs, 32), 20);
	outbox_close(ob);
}

/* A segment named near 2^64 would make seqs wrap to 0 and the next start
 * cut the new records as a torn tail: it is set aside instead. */
static void test_implausible_seq_set_aside(void **state)
{
	static const char *const bad = "seg-fffffffffffffffe.log";
	struct outbox *ob;
	uint64_t seqs[8];
	char p[512];
	FILE *f;

	(void)state;
	path_of(bad, p, sizeof(p));
	f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(put_poll(ob, i), (uint64_t)i + 1);
	outbox_close(ob);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(take(ob, 0, seqs, 8), 3);
	assert_int_equal(seqs[0], 1);
	assert_int_equal(seqs[2], 3);
	assert_int_equal(put_poll(ob, 9), 4);
	outbox_close(ob);
	assert_int_equal(access(p, F_OK), -1);
	strcat(p, ".aside");
	assert_int_equal(access(p, F_OK), 0);
}

static void test_corrupt_records_passed_over(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	uint8_t bad_len[2] = { 0xff, 0x7f };
	uint64_t seqs[256], lost3;
	char second[64];
	size_t n;

	(void)state;
	for (int i = 0; i < 200; i++)
		put_poll(ob, i);
	outbox_close(ob);
	assert_true(count_files("seg-") >= 3);
	/* first segment: a payload byte of record 10, the length of record 20 */
	flip(SEG1, frame_off(SEG1, 9) + 20);
	patch(SEG1, frame_off(SEG1, 19) + 1, bad_len, 2);
	/* the second segment (not the newest): the magic of its 3rd record */
	nth_file("seg-", 1, second);
	lost3 = strtoull(second + 4, NULL, 16) + 2;
	flip(second, frame_off(second, 2));

	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 3);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	n = take(ob, 0, seqs, 256);
	assert_int_equal(n, 197);
	for (size_t i = 1; i < n; i++)
		assert_true(seqs[i] > seqs[i - 1]);
	for (size_t i = 0; i < n; i++)
		assert_true(seqs[i] != 10 && seqs[i] != 20 && seqs[i] != lost3);
	assert_int_equal(seqs[n - 1], 200);
	outbox_close(ob);
}

static void test_corrupt_cursor_redelivers(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	uint64_t seqs[16];
	char p[512];

	(void)state;
	for (int i = 0; i < 10; i++)
		put_poll(ob, i);
	assert_int_equal(take(ob, 0, seqs, 16), 10);
	outbox_ack(ob, 0, 8);
	outbox_close(ob);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(take(ob, 0, seqs, 16), 2); /* the cursor works */
	outbox_close(ob);

	/* garbage of the right size, then a short file: both from the oldest */
	patch("cursor-0", 0, "garbage garbage garbage garbage", 28);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).cursor_fallbacks, 1);
	assert_int_equal(take(ob, 0, seqs, 16), 10);
	assert_int_equal(seqs[0], 1);
	outbox_close(ob); /* writes a sound cursor (nothing acked) */
	path_of("cursor-0", p, sizeof(p));
	assert_int_equal(truncate(p, 10), 0);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).cursor_fallbacks, 1);
	assert_int_equal(take(ob, 0, seqs, 16), 10);
	outbox_close(ob);
	/* a missing cursor: from the oldest, and not counted as damage */
	assert_int_equal(unlink(p), 0);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).cursor_fallbacks, 0);
	assert_int_equal(take(ob, 0, seqs, 16), 10);
	outbox_close(ob);
}

/* ---- the disk cap ---- */

static void test_cap_drops_oldest_telemetry_keeps_alerts(void **state)
{
	const struct outbox_opts o = { .fsync_ms = 0, .segment_bytes = 4096,
				       .max_backlog_bytes = 16384 };
	struct outbox *ob = open_ob(&o, 2);
	struct outbox_gap g;
	const struct record *r;
	uint64_t prev = 0, polls = 0, alerts = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		if (i % 100 == 50)
			put_alert(ob, i);
		else
			put_poll(ob, i);
		drain(ob, 1); /* sink 1 keeps up, sink 0 is offline */
		assert_true(stats_of(ob).disk_bytes <= 16384);
	}
	assert_true(outbox_dropped(ob, 0) > 500);
	assert_int_equal(outbox_dropped(ob, 1), 0);
	assert_int_equal(stats_of(ob).dropped_telemetry, outbox_dropped(ob, 0));
	assert_int_equal(stats_of(ob).dropped_alerts, 0);
	assert_true(outbox_take_gap(ob, &g));
	assert_int_equal(g.records, outbox_dropped(ob, 0));
	assert_int_equal(g.first_seq, 1);
	assert_true(g.last_seq > 500 && g.last_seq < 1000);
	assert_int_equal(g.first_ts_ms, 0);
	assert_true(g.last_ts_ms >= (int64_t)g.records - 10);
	assert_false(outbox_take_gap(ob, &g));
	/* sink 0: the 10 alerts first, then the newest telemetry in order */
	while ((r = outbox_next(ob, 0))) {
		if (r->type == REC_ALERT) {
			assert_int_equal(polls, 0);
			alerts++;
		} else {
			assert_true(r->seq > prev);
			prev = r->seq;
			polls++;
		}
	}
	assert_int_equal(alerts, 10);
	assert_int_equal(polls + outbox_dropped(ob, 0), 990);
	assert_int_equal(prev, 1000);
	outbox_close(ob);
}

static void test_alerts_alone_fill_cap(void **state)
{
	const struct outbox_opts o = { .fsync_ms = 0, .segment_bytes = 4096,
				       .max_backlog_bytes = 16384 };
	struct outbox *ob = open_ob(&o, 1);
	struct record p = mkpoll(5000);
	struct outbox_gap g;
	uint64_t seq = 77;

	(void)state;
	for (int i = 0; i < 200; i++)
		put_alert(ob, i); /* never refused, never dropped */
	assert_true(stats_of(ob).disk_bytes > 16384);
	assert_int_equal(put(ob, &p, &seq), -ENOSPC);
	assert_int_equal(seq, 77);
	assert_int_equal(stats_of(ob).dropped_telemetry, 1);
	assert_true(outbox_take_gap(ob, &g));
	assert_int_equal(g.records, 1);
	assert_int_equal(g.first_seq, 0);
	assert_int_equal(g.first_ts_ms, 5000);
	assert_int_equal(drain(ob, 0), 200);
	outbox_close(ob);
}

/* ---- the directory ---- */

static void test_directory_errors(void **state)
{
	struct outbox *ob = NULL, *other = (struct outbox *)&ob;
	struct outbox_opts bad = SYNC_EACH;
	char p[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/no/such", tdir);
	assert_int_equal(outbox_open(p, NULL, 1, clk, &other), -ENOENT);
	assert_ptr_equal(other, (struct outbox *)&ob);
	assert_int_equal(outbox_open(tdir, NULL, 0, clk, &other), -EINVAL);
	assert_int_equal(outbox_open(tdir, NULL, OUTBOX_MAX_SINKS + 1, clk, &other), -EINVAL);
	bad.segment_bytes = 100;
	assert_int_equal(outbox_open(tdir, &bad, 1, clk, &other), -EINVAL);
	bad = SYNC_EACH;
	bad.max_backlog_bytes = 8192;
	assert_int_equal(outbox_open(tdir, &bad, 1, clk, &other), -EINVAL);
	bad = SYNC_EACH;
	bad.fsync_ms = -1;
	assert_int_equal(outbox_open(tdir, &bad, 1, clk, &other), -EINVAL);
	bad = SYNC_EACH;
	bad.cursor_ms = 3600001; /* an hour at most */
	assert_int_equal(outbox_open(tdir, &bad, 1, clk, &other), -EINVAL);
	bad.cursor_ms = 3600000;
	assert_int_equal(outbox_open(tdir, &bad, 1, clk, &other), 0);
	outbox_close(other);
	other = (struct outbox *)&ob;
	/* created when missing; locked while open */
	snprintf(p, sizeof(p), "%s/data", tdir);
	ob = open_in(p, NULL, 1);
	assert_int_equal(outbox_open(p, NULL, 1, clk, &other), -EBUSY);
	outbox_close(ob);
	ob = open_in(p, NULL, 1);
	outbox_close(ob);
	/* a regular file where the directory should be */
	snprintf(p, sizeof(p), "%s/data/%s", tdir, SEG1);
	assert_int_equal(outbox_open(p, NULL, 1, clk, &other), -ENOTDIR);
	/* a directory that cannot be written (root may write anyway) */
	snprintf(p, sizeof(p), "%s/ro", tdir);
	assert_int_equal(mkdir(p, 0500), 0);
	if (geteuid() != 0) {
		assert_int_equal(outbox_open(p, NULL, 1, clk, &other), -EACCES);
	}
	assert_ptr_equal(other, (struct outbox *)&ob);
	chmod(p, 0700);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
		T(test_reopen_redelivers_unacked),
		T(test_named_sinks_keep_their_cursors),
		T(test_batched_sync_visibility),
		T(test_two_sinks),
		T(test_alerts_first_and_what_ack_covers),
		T(test_alert_window),
		T(test_rollover_and_removal),
		T(test_corrupt_tail_truncated),
		T(test_corrupt_records_passed_over),
		T(test_implausible_seq_set_aside),
		T(test_staged_telemetry),
		T(test_corrupt_cursor_redelivers),
		T(test_cap_drops_oldest_telemetry_keeps_alerts),
		T(test_alerts_alone_fill_cap),
		T(test_directory_errors),
#undef T
	};

	log_set_level(LOG_ERR - 1); /* damage is expected here; keep output to results */
	return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
