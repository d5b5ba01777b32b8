/*
 * test_outbox_pad.c - what spares the SD card a telemetry sync's writes:
 * syncs padded to a page boundary (outbox_opts.pad_backlog_bytes) - the
 * file ends on a page after each sync, readers and replay step over the
 * padding without calling it damage, acknowledged padded segments leave,
 * an outage turns padding off - and the active segment's blocks allocated
 * when it is made, its size kept.
 */
#include "outbox_fixture.h"

#define PAGE 4096
#define N 60 /* polls in a batch: 2940 bytes, more than a page's rest */

static const struct outbox_opts PADDED = {
	.fsync_ms = 1000, .segment_bytes = 1 << 20, .max_backlog_bytes = 8 << 20,
	.pad_backlog_bytes = 256 << 10,
};

/* n polls from ts on, then the batch's sync. */
static void batch(struct outbox *ob, int64_t ts, int n)
{
	for (int i = 0; i < n; i++)
		put_poll(ob, ts + i);
	clk += 1000;
	outbox_tick(ob, clk);
}

static void test_sync_ends_on_a_page(void **state)
{
	struct outbox *ob = open_ob(&PADDED, 1);
	uint64_t seqs[128];
	off_t frames;

	(void)state;
	batch(ob, 100, N);
	frames = frame_off(SEG1, N);
	assert_true(frames > PAGE / 2 && frames < PAGE);
	assert_int_equal(file_size(SEG1), PAGE);
	assert_int_equal(stats_of(ob).pad_bytes, PAGE - frames);
	assert_int_equal(take(ob, 0, seqs, 128), N);
	assert_int_equal(seqs[N - 1], N);
	outbox_ack(ob, 0, N);
	/* the next batch starts on the next page and ends on a page too */
	batch(ob, 200, N);
	assert_int_equal(file_size(SEG1), 2 * PAGE);
	assert_int_equal(take(ob, 0, seqs, 128), N);
	assert_int_equal(seqs[0], N + 1);
	assert_int_equal(seqs[N - 1], 2 * N);
	assert_int_equal(stats_of(ob).read_resyncs, 0);
	outbox_close(ob);
}

static void test_padded_segment_replays_clean(void **state)
{
	struct outbox *ob = open_ob(&PADDED, 1);
	uint64_t seqs[128];

	(void)state;
	batch(ob, 100, N);
	assert_int_equal(take(ob, 0, seqs, 128), N);
	outbox_ack(ob, 0, N);
	batch(ob, 200, N); /* left unacked */
	outbox_close(ob);
	ob = open_ob(&PADDED, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 0);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(file_size(SEG1), 2 * PAGE); /* nothing cut off */
	assert_int_equal(take(ob, 0, seqs, 128), N);
	assert_int_equal(seqs[0], N + 1);
	batch(ob, 300, N);
	assert_int_equal(file_size(SEG1), 3 * PAGE);
	assert_int_equal(take(ob, 0, seqs, 128), N);
	assert_int_equal(seqs[0], 2 * N + 1);
	assert_int_equal(stats_of(ob).read_resyncs, 0);
	outbox_close(ob);
}

/* Records acknowledged up to the padding of a full segment: it leaves. */
static void test_acked_padded_segments_leave(void **state)
{
	struct outbox_opts o = PADDED;
	struct outbox *ob;
	uint64_t seqs[128];

	(void)state;
	o.segment_bytes = 2 * PAGE;
	o.max_backlog_bytes = 1 << 20;
	ob = open_ob(&o, 1);
	for (int b = 0; b < 3; b++)
		batch(ob, 100 * (b + 1), N); /* two pages, then the next segment */
	assert_int_equal(count_files("seg-"), 2);
	assert_int_equal(file_size(SEG1), 2 * PAGE);
	/* acked to the last record of the first: not to the end of its file */
	assert_int_equal(take(ob, 0, seqs, 2 * N), 2 * N);
	outbox_ack(ob, 0, seqs[2 * N - 1]);
	clk += 1000;
	outbox_tick(ob, clk);
	assert_int_equal(count_files("seg-"), 1);
	assert_int_equal(drain(ob, 0), N);
	assert_int_equal(stats_of(ob).read_resyncs, 0);
	outbox_close(ob);
}

/* An outage (acks behind by more than pad_backlog_bytes) stops padding, so
 * the disk holds as many records as without it; it resumes once caught up. */
static void test_backlog_stops_padding(void **state)
{
	struct outbox_opts o = PADDED;
	struct outbox *ob;
	uint64_t pad;

	(void)state;
	o.pad_backlog_bytes = PAGE / 2;
	ob = open_ob(&o, 1);
	batch(ob, 100, N); /* nothing unacked before it: padded */
	pad = stats_of(ob).pad_bytes;
	assert_true(pad > 0);
	batch(ob, 200, N); /* a page unacked: not */
	batch(ob, 300, N);
	assert_int_equal(stats_of(ob).pad_bytes, pad);
	assert_true(file_size(SEG1) % PAGE != 0);
	assert_int_equal(drain(ob, 0), 3 * N);
	/* caught up: padded again once a batch would not fit the page's rest
	 * (the first one after the drain does) */
	batch(ob, 400, N);
	assert_int_equal(drain(ob, 0), N);
	batch(ob, 500, N);
	assert_true(stats_of(ob).pad_bytes > pad);
	assert_int_equal(file_size(SEG1) % PAGE, 0);
	assert_int_equal(drain(ob, 0), N);
	assert_int_equal(stats_of(ob).read_resyncs, 0);
	outbox_close(ob);
}

/* Off (0), nothing is padded; nor is a batch that fits the page's rest;
 * padding is never written for alerts. */
static void test_off_and_alerts_unpadded(void **state)
{
	struct outbox_opts o = PADDED;
	struct outbox *ob;
	char name[64];

	(void)state;
	o.pad_backlog_bytes = 0;
	ob = open_ob(&o, 1);
	batch(ob, 100, N);
	assert_int_equal(file_size(SEG1), frame_off(SEG1, N));
	outbox_close(ob);
	ob = open_ob(&PADDED, 1);
	batch(ob, 200, 10); /* 490 bytes in 1156 */
	assert_int_equal(stats_of(ob).pad_bytes, 0);
	assert_int_equal(file_size(SEG1), frame_off(SEG1, N + 10));
	put_alert(ob, 500);
	clk += 1000;
	outbox_tick(ob, clk);
	nth_file("alr-", 0, name);
	assert_true(file_size(name) > 0);
	assert_true(file_size(name) % PAGE != 0);
	outbox_close(ob);
}

/* A pad cut short by a power cut is a torn tail: cut, records kept. */
static void test_torn_padding_cut(void **state)
{
	struct outbox *ob = open_ob(&PADDED, 1);
	char p[512];
	uint64_t seqs[128];

	(void)state;
	batch(ob, 100, N);
	outbox_close(ob);
	path_of(SEG1, p, sizeof(p));
	assert_int_equal(truncate(p, PAGE - 100), 0);
	ob = open_ob(&PADDED, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 0);
	assert_int_equal(file_size(SEG1), frame_off(SEG1, N));
	assert_int_equal(take(ob, 0, seqs, 128), N);
	outbox_close(ob);
}

/* Damage in the middle of a padding run is damage, and is stepped over. */
static void test_damaged_padding_is_damage(void **state)
{
	struct outbox *ob = open_ob(&PADDED, 1);
	uint64_t seqs[128];
	off_t pad_at;

	(void)state;
	batch(ob, 100, N);
	batch(ob, 200, N);
	outbox_close(ob);
	pad_at = frame_off(SEG1, N);
	flip(SEG1, pad_at + 1); /* its length */
	ob = open_ob(&PADDED, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 1);
	assert_int_equal(take(ob, 0, seqs, 128), 2 * N);
	assert_int_equal(seqs[2 * N - 1], 2 * N);
	outbox_close(ob);
}

/* The active telemetry segment has its blocks from the start; its size
 * is what it holds. Alert segments are not given any. */
static void test_segment_preallocated(void **state)
{
	struct outbox *ob = open_ob(&PADDED, 1);
	char p[512], name[64];
	struct stat sb;

	(void)state;
	batch(ob, 100, N);
	path_of(SEG1, p, sizeof(p));
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_size, PAGE);
	assert_true((uint64_t)sb.st_blocks * 512 >= PADDED.segment_bytes);
	put_alert(ob, 500);
	nth_file("alr-", 0, name);
	path_of(name, p, sizeof(p));
	assert_int_equal(stat(p, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 < PADDED.segment_bytes);
	outbox_close(ob);
	/* reopened for appending: what a cut tail freed is given back */
	path_of(SEG1, p, sizeof(p));
	assert_int_equal(truncate(p, PAGE - 1), 0);
	ob = open_ob(&PADDED, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 1);
	assert_int_equal(stat(p, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 >= PADDED.segment_bytes);
	assert_int_equal(drain(ob, 0), N + 1); /* and the alert */
	outbox_close(ob);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sync_ends_on_a_page),
		T(test_padded_segment_replays_clean),
		T(test_acked_padded_segments_leave),
		T(test_backlog_stops_padding),
		T(test_off_and_alerts_unpadded),
		T(test_torn_padding_cut),
		T(test_damaged_padding_is_damage),
		T(test_segment_preallocated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
