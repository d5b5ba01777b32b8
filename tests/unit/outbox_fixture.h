/*
 * outbox_fixture.h - what test_outbox.c and test_outbox_faults.c share: a
 * fresh directory per test, records whose content can be checked from their
 * timestamp, taking and acking records, and poking at segment files.
 * Helpers are static inline so that each test binary uses what it needs.
 */
#ifndef OUTFALL_OUTBOX_FIXTURE_H
#define OUTFALL_OUTBOX_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "outbox/outbox.h"

/* The directory and the monotonic clock of the running test, at file scope
 * so the helpers need not thread cmocka's state pointer through every call. */
static char tdir[200];
static int64_t clk;

#define SEG1 "seg-0000000000000001.log"
#define PERMIT "浙丽排字第2023-0042号" /* UTF-8 through the outbox */


static inline int fixture_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/outbox-XXXXXX", t && *t ? t : "/tmp");
	clk = 1000;
	return mkdtemp(tdir) ? 0 : -1;
}

static inline int fixture_teardown(void **state)
{
	(void)state;
	chmod(tdir, 0700);
	test_rm_tree(tdir);
	return 0;
}

static const struct outbox_opts SYNC_EACH = {
	.fsync_ms = 0, .segment_bytes = 4096, .max_backlog_bytes = 1 << 20,
};
static const struct outbox_opts BATCHED = {
	.fsync_ms = 1000, .segment_bytes = 4096, .max_backlog_bytes = 1 << 20,
};

static inline struct outbox *open_in(const char *dir, const struct outbox_opts *o, int n_sinks)
{
	struct outbox *ob = NULL;

	assert_int_equal(outbox_open(dir, o, n_sinks, clk, &ob), 0);
	assert_non_null(ob);
	return ob;
}

static inline struct outbox *open_ob(const struct outbox_opts *o, int n_sinks)
{
	return open_in(tdir, o, n_sinks);
}

static inline struct record mkpoll(int64_t ts)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_POLL;
	r.ts_ms = ts;
	memcpy(r.u.poll.outlet, "WS-001", 7);
	memcpy(r.u.poll.sensor, "probe1", 7);
	r.u.poll.n = 5;
	for (int i = 0; i < 5; i++) {
		r.u.poll.values[i].v = (double)(ts % 2000) / 10 + i; /* sensor-like */
		r.u.poll.values[i].param = (uint8_t)(3 + i);
	}
	return r;
}

static inline struct record mkalert(int64_t ts)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_ALERT;
	r.ts_ms = ts;
	snprintf(r.u.alert.id, sizeof(r.u.alert.id), "gw/WS-001/cod/instant/%lld", (long long)ts);
	memcpy(r.u.alert.outlet, "WS-001", 7);
	memcpy(r.u.alert.permit, PERMIT, sizeof(PERMIT));
	r.u.alert.limit = 500.0;
	r.u.alert.value = 612.4;
	r.u.alert.since_ms = ts;
	return r;
}

static inline int put(struct outbox *ob, const struct record *r, uint64_t *seq)
{
	return outbox_append(ob, r, clk, seq);
}

static inline uint64_t put_poll(struct outbox *ob, int64_t ts)
{
	struct record r = mkpoll(ts);
	uint64_t seq = 0;

	assert_int_equal(put(ob, &r, &seq), 0);
	return seq;
}

static inline uint64_t put_alert(struct outbox *ob, int64_t ts)
{
	struct record r = mkalert(ts);
	uint64_t seq = 0;

	assert_int_equal(put(ob, &r, &seq), 0);
	return seq;
}

/* Checks a delivered record against what mkpoll/mkalert made of its ts. */
static inline void check_rec(const struct record *r)
{
	if (r->type == REC_POLL) {
		assert_string_equal(r->u.poll.sensor, "probe1");
		assert_int_equal(r->u.poll.n, 5);
		assert_true(r->u.poll.values[4].v == (double)(r->ts_ms % 2000) / 10 + 4);
	} else {
		assert_int_equal(r->type, REC_ALERT);
		assert_int_equal(r->u.alert.since_ms, r->ts_ms);
		assert_string_equal(r->u.alert.permit, PERMIT);
	}
}

/* Takes up to max records for sink; seqs (may be NULL) get their seqs. */
static inline size_t take(struct outbox *ob, int sink, uint64_t *seqs, size_t max)
{
	const struct record *r;
	size_t n = 0;

	while (n < max && (r = outbox_next(ob, sink))) {
		check_rec(r);
		if (seqs)
			seqs[n] = r->seq;
		n++;
	}
	return n;
}

/* Takes and acks everything, one by one; returns how many. */
static inline size_t drain(struct outbox *ob, int sink)
{
	const struct record *r;
	size_t n = 0;

	while ((r = outbox_next(ob, sink))) {
		check_rec(r);
		outbox_ack(ob, sink, r->seq);
		n++;
	}
	return n;
}

static inline void path_of(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", tdir, name);
}

static inline size_t count_files(const char *prefix)
{
	DIR *d = opendir(tdir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static inline off_t file_size(const char *name)
{
	char p[512];
	struct stat sb;

	path_of(name, p, sizeof(p));
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_size;
}

/* Offset of frame idx (0-based) in a segment, walking the length fields. */
static inline off_t frame_off(const char *name, int idx)
{
	char p[512];
	uint8_t h[3];
	off_t off = 0;
	int fd;

	path_of(name, p, sizeof(p));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < idx; i++) {
		assert_int_equal(pread(fd, h, 3, off), 3);
		assert_int_equal(h[0], 0xB1);
		off += 15 + (h[1] | h[2] << 8);
	}
	close(fd);
	return off;
}

static inline void patch(const char *name, off_t off, const void *bytes, size_t n)
{
	char p[512];
	int fd;

	path_of(name, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static inline void flip(const char *name, off_t off)
{
	char p[512];
	uint8_t b;
	int fd;

	path_of(name, p, sizeof(p));
	fd = open(p, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static inline struct outbox_stats stats_of(const struct outbox *ob)
{
	struct outbox_stats s;

	outbox_get_stats(ob, &s);
	return s;
}

#define SEG1 "seg-0000000000000001.log"
#define PERMIT "浙丽排字第2023-0042号" /* UTF-8 through the outbox */

static inline int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The idx-th file (in name order, which is seq order) starting with prefix. */
static inline void nth_file(const char *prefix, size_t idx, char name[64])
{
	char names[64][64];
	DIR *d = opendir(tdir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) && n < 64) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) || strlen(de->d_name) >= 64)
			continue;
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	assert_true(idx < n);
	qsort(names, n, sizeof(names[0]), name_cmp);
	memcpy(name, names[idx], 64);
}

#endif
