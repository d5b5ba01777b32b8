/*
 * test_outbox_faults.c - the outbox when the system fails it: EIO and ENOSPC
 * injected into write, fdatasync, fsync, renameat, openat and ftruncate
 * through -Wl,--wrap seams (a refused append returns the error and is
 * counted, nothing unsynced is ever handed to a sink, everything works again
 * once the fault clears); a killed process; and heap use that stays flat
 * under a 200k-record backlog, counted through wrapped malloc and free.
 *
 * Link with: WRAP_test_outbox_faults := write fdatasync fsync renameat openat
 *            ftruncate malloc calloc realloc free
 */
#include "outbox_fixture.h"

#include <malloc.h>
#include <sys/wait.h>
#include <time.h>

#include "base/log.h"

/* ---- link seams ----
 * A wrapped system call has no argument to carry the test's wishes, so the
 * armed faults and the heap counters live in file-scope state. */

enum { F_WRITE, F_FDATASYNC, F_FSYNC, F_RENAMEAT, F_OPENAT, F_FTRUNCATE, F_COUNT };

struct fault {
	int err;           /* errno to fail with */
	int after;         /* calls let through first */
	int times;         /* then this many fail; -1 until disarmed; 0 off */
	bool half;         /* write: first write half and report success */
	const char *match; /* openat/renameat: only names starting with it */
	unsigned hits;     /* failures injected */
};

static struct fault faults[F_COUNT];
static size_t heap_live;
static size_t heap_peak;

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_renameat(int ofd, const char *old, int nfd, const char *new);
int __wrap_renameat(int ofd, const char *old, int nfd, const char *new);
int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__wrap_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __real_free(void *p);
void __wrap_free(void *p);

static bool fault_hit(int op, const char *name)
{
	struct fault *f = &faults[op];

	if (f->times == 0)
		return false;
	if (f->match && (!name || strncmp(name, f->match, strlen(f->match))))
		return false;
	if (f->after > 0) {
		f->after--;
		return false;
	}
	if (f->times > 0)
		f->times--;
	f->hits++;
	errno = f->err;
	return true;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	struct fault *f = &faults[F_WRITE];

	if (f->half && f->times && f->after == 0 && n > 1) {
		f->half = false;
		return __real_write(fd, buf, n / 2);
	}
	return fault_hit(F_WRITE, NULL) ? -1 : __real_write(fd, buf, n);
}

int __wrap_fdatasync(int fd)
{
	return fault_hit(F_FDATASYNC, NULL) ? -1 : __real_fdatasync(fd);
}

int __wrap_fsync(int fd)
{
	return fault_hit(F_FSYNC, NULL) ? -1 : __real_fsync(fd);
}

int __wrap_renameat(int ofd, const char *old, int nfd, const char *new)
{
	return fault_hit(F_RENAMEAT, new) ? -1 : __real_renameat(ofd, old, nfd, new);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fault_hit(F_OPENAT, path))
		return -1;
	return __real_openat(dirfd, path, flags, mode);
}

int __wrap_ftruncate(int fd, off_t len)
{
	return fault_hit(F_FTRUNCATE, NULL) ? -1 : __real_ftruncate(fd, len);
}

static void heap_add(void *p)
{
	if (!p)
		return;
	heap_live += malloc_usable_size(p);
	if (heap_live > heap_peak)
		heap_peak = heap_live;
}

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	heap_add(p);
	return p;
}

void *__wrap_calloc(size_t a, size_t b)
{
	void *p = __real_calloc(a, b);

	heap_add(p);
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = __real_realloc(p, n);

	if (q) {
		heap_live -= old;
		heap_add(q);
	}
	return q;
}

void __wrap_free(void *p)
{
	if (p)
		heap_live -= malloc_usable_size(p);
	__real_free(p);
}

/* ---- memory ---- */

/* Heap the outbox holds at its peak while opening and draining dir. */
static size_t drain_peak(const char *dir, size_t expect)
{
	size_t base = heap_live, n = 0;
	const struct record *r;
	struct outbox *ob;

	heap_peak = heap_live;
	ob = open_in(dir, NULL, 2);
	assert_int_equal(outbox_unsent(ob, 0), expect);
	while ((r = outbox_next(ob, 0))) {
		outbox_ack(ob, 0, r->seq); /* one by one, as an MQTT sink does */
		if (++n % 10000 == 0) {
			clk += 2000;
			outbox_tick(ob, clk);
		}
	}
	assert_int_equal(n, expect);
	outbox_close(ob);
	assert_int_equal(heap_live, base); /* and nothing leaked */
	return heap_peak - base;
}

static void fill(const char *dir, size_t n, double *rate, double *per_rec, double *amp)
{
	struct outbox *ob = open_in(dir, NULL, 2);
	struct timespec t0, t1;
	struct outbox_stats s;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++)
		put_poll(ob, 1764403217000LL + (int64_t)i * 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = stats_of(ob);
	*amp = (double)s.bytes_written / (double)s.payload_bytes;
	outbox_close(ob);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	*rate = (double)n / secs;
	s = stats_of(ob = open_in(dir, NULL, 2));
	outbox_close(ob);
	*per_rec = (double)s.disk_bytes / (double)n;
}

static void test_memory_flat_with_backlog(void **state)
{
	char small[256], big[256];
	size_t peak_small, peak_big;
	struct timespec t0, t1;
	double rate, per_rec, amp;

	(void)state;
	snprintf(small, sizeof(small), "%s/small", tdir);
	snprintf(big, sizeof(big), "%s/big", tdir);
	fill(small, 1000, &rate, &per_rec, &amp);
	fill(big, 200000, &rate, &per_rec, &amp);
	peak_small = drain_peak(small, 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	peak_big = drain_peak(big, 200000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("heap at peak: %zu bytes for 1000 records, %zu for 200000\n",
		      peak_small, peak_big);
	print_message("append: %.0f polls/s; %.1f bytes on disk per 5-value poll; "
		      "%.2f bytes written per payload byte\n", rate, per_rec, amp);
	print_message("open + drain of 200000: %.0f records/s\n",
		      200000 / ((double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9));
	assert_true(amp <= 2.0);
	assert_true(peak_big <= peak_small + 1024);
	assert_true(peak_big < 256 * 1024);
}

/* ---- injected faults ---- */

static void test_write_fault_alert_not_stored(void **state)
{
	struct outbox *ob = open_ob(&BATCHED, 1);
	struct record a = mkalert(7);
	struct outbox_gap g;
	uint64_t seqs[8], seq = 0;

	(void)state;
	put_alert(ob, 1); /* 1 */
	faults[F_WRITE] = (struct fault){ .err = ENOSPC, .times = 1 };
	assert_int_equal(put(ob, &a, &seq), -ENOSPC);
	assert_int_equal(seq, 0);
	assert_int_equal(stats_of(ob).dropped_alerts, 1);
	assert_true(stats_of(ob).io_errors >= 1);
	assert_true(outbox_take_gap(ob, &g));
	assert_int_equal(g.records, 1);
	assert_int_equal(g.first_seq, 0);
	assert_int_equal(take(ob, 0, seqs, 8), 1);
	assert_int_equal(put(ob, &a, &seq), 0); /* the fault cleared */
	assert_int_equal(seq, 2);
	/* half a frame written, then ENOSPC: cut back, then all rewritten */
	faults[F_WRITE] = (struct fault){ .err = ENOSPC, .times = 1, .half = true };
	assert_int_equal(put(ob, &a, &seq), -ENOSPC);
	assert_int_equal(put(ob, &a, &seq), 0);
	assert_int_equal(seq, 3);
	outbox_close(ob);
	ob = open_ob(&BATCHED, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(stats_of(ob).corrupt_found, 0);
	assert_int_equal(take(ob, 0, seqs, 8), 3);
	outbox_close(ob);
}

static void test_write_fault_telemetry_returned(void **state)
{
	struct outbox *ob = open_ob(&BATCHED, 1);
	struct record p = mkpoll(3);
	uint64_t seqs[8];

	(void)state;
	put_poll(ob, 1);
	for (int e = 0; e < 2; e++) {
		faults[F_WRITE] = (struct fault){ .err = e ? EIO : ENOSPC, .times = 1 };
		assert_int_equal(put(ob, &p, NULL), e ? -EIO : -ENOSPC);
	}
	assert_int_equal(stats_of(ob).dropped_telemetry, 2);
	put_poll(ob, 2);
	outbox_tick(ob, clk + 1000);
	assert_int_equal(take(ob, 0, seqs, 8), 2);
	assert_int_equal(seqs[1], 2);
	outbox_close(ob);
}

/* Padding a sync to a page only saves writes: when writing it fails, or
 * half of it is written, the sync goes on without it; when the half cannot
 * be cut off, the sync fails and the retry writes the batch once. */
static void test_pad_fault_syncs_unpadded(void **state)
{
	struct outbox_opts o = BATCHED;
	uint64_t seqs[64];

	(void)state;
	o.segment_bytes = 1 << 20;
	o.max_backlog_bytes = 8 << 20;
	o.pad_backlog_bytes = 1 << 20;
	for (int c = 0; c < 3; c++) {
		struct outbox *ob;
		off_t frames;

		test_rm_tree(tdir);
		assert_int_equal(mkdir(tdir, 0700), 0);
		ob = open_ob(&o, 1);
		for (int i = 0; i < 60; i++) /* more than a page's rest after them */
			put_poll(ob, i);
		faults[F_WRITE] = (struct fault){ .err = ENOSPC, .times = 1, .half = c > 0 };
		if (c == 2)
			faults[F_FTRUNCATE] = (struct fault){ .err = EIO, .times = 1 };
		clk += 1000;
		outbox_tick(ob, clk);
		faults[F_WRITE].times = 0; /* after half a write, the rest would fail */
		if (c == 2) {
			assert_null(outbox_next(ob, 0));
			clk += 1000;
			outbox_tick(ob, clk); /* cut back, rewritten, padded */
			assert_int_equal(file_size(SEG1), 4096);
		} else {
			frames = frame_off(SEG1, 60);
			assert_int_equal(file_size(SEG1), frames);
			assert_int_equal(stats_of(ob).pad_bytes, 0);
		}
		assert_int_equal(take(ob, 0, seqs, 64), 60);
		assert_int_equal(seqs[59], 60);
		outbox_close(ob);
		ob = open_ob(&o, 1);
		assert_int_equal(stats_of(ob).corrupt_found, 0);
		assert_int_equal(stats_of(ob).truncated_tail, 0);
		assert_int_equal(take(ob, 0, seqs, 64), 60);
		outbox_close(ob);
	}
}

/* A failed batched sync keeps the records pending and invisible; the retry
 * writes them once, and they arrive once. */
static void test_sync_fault_retried(void **state)
{
	static const struct { int op, err; bool half; } cases[] = {
		{ F_FDATASYNC, EIO, false }, { F_FDATASYNC, ENOSPC, false },
		{ F_FTRUNCATE, EIO, false }, { F_WRITE, EIO, true },
	};
	uint64_t seqs[64];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct outbox *ob = open_ob(&BATCHED, 1);
		uint64_t first = 0;
		size_t n;

		clk = 1000 + (int64_t)c * 100000;
		for (int i = 0; i < 5; i++) {
			struct record p = mkpoll(i);
			uint64_t s;

			assert_int_equal(put(ob, &p, &s), 0);
			first = first ? first : s;
		}
		faults[F_FDATASYNC] = (struct fault){ .err = cases[c].err, .times = 1 };
		if (cases[c].op != F_FDATASYNC)
			faults[cases[c].op] = (struct fault){ .err = cases[c].err, .times = 1 };
		outbox_tick(ob, clk + 1000);
		assert_null(outbox_next(ob, 0));
		assert_int_equal(outbox_next_ms(ob), clk + 2000);
		if (cases[c].half) /* a short write on the rewrite, then ok */
			faults[F_WRITE] = (struct fault){ .err = EIO, .half = true, .times = 1 };
		outbox_tick(ob, clk + 2000);
		if (cases[c].half) {
			assert_null(outbox_next(ob, 0));
			outbox_tick(ob, clk + 3000);
		}
		n = take(ob, 0, seqs, 64);
		assert_int_equal(n, 5);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(seqs[i], first + i);
		outbox_ack(ob, 0, seqs[n - 1]);
		outbox_close(ob);
		ob = open_ob(&BATCHED, 1);
		assert_int_equal(stats_of(ob).corrupt_found, 0);
		assert_int_equal(stats_of(ob).truncated_tail, 0);
		assert_null(outbox_next(ob, 0));
		outbox_close(ob);
	}
}

/* fdatasync failing for good: appends fail once the retry buffer is full,
 * every refused record is counted, and all accepted ones arrive later. */
static void test_sync_failing_for_good(void **state)
{
	const struct outbox_opts o = { .fsync_ms = 1000, .segment_bytes = 1 << 20,
				       .max_backlog_bytes = 64 << 20 };
	struct outbox *ob = open_ob(&o, 1);
	struct outbox_gap g;
	int ok = 0, failed = 0;

	(void)state;
	faults[F_FDATASYNC] = (struct fault){ .err = EIO, .times = -1 };
	for (int i = 0; i < 1500; i++) {
		struct record p = mkpoll(i);
		int rc = put(ob, &p, NULL);

		assert_true(rc == 0 || rc == -EIO);
		ok += rc == 0;
		failed += rc != 0;
	}
	assert_true(failed > 0);
	assert_true(ok > 500);
	assert_int_equal(stats_of(ob).dropped_telemetry, failed);
	assert_true(outbox_take_gap(ob, &g));
	assert_int_equal(g.records, failed);
	assert_null(outbox_next(ob, 0));
	faults[F_FDATASYNC].times = 0;
	outbox_tick(ob, clk + 1000);
	assert_int_equal(drain(ob, 0), ok);
	outbox_close(ob);
}

static void test_alert_fdatasync_and_ftruncate_fault(void **state)
{
	struct outbox *ob = open_ob(&BATCHED, 1);
	struct record a = mkalert(1);
	uint64_t seqs[4];

	(void)state;
	faults[F_FDATASYNC] = (struct fault){ .err = EIO, .times = 1 };
	assert_int_equal(put(ob, &a, NULL), -EIO);
	assert_int_equal(file_size("alr-0000000000000001.log"), 0);
	assert_null(outbox_next(ob, 0));
	/* and when the cut-back fails too, it is redone before the next write */
	faults[F_FDATASYNC] = (struct fault){ .err = EIO, .times = 1 };
	faults[F_FTRUNCATE] = (struct fault){ .err = EIO, .times = 1 };
	assert_int_equal(put(ob, &a, NULL), -EIO);
	assert_true(file_size("alr-0000000000000001.log") > 0);
	faults[F_FTRUNCATE] = (struct fault){ .err = EIO, .times = 1 };
	assert_int_equal(put(ob, &a, NULL), -EIO);
	assert_int_equal(put(ob, &a, NULL), 0);
	assert_int_equal(take(ob, 0, seqs, 4), 1);
	assert_int_equal(seqs[0], 1);
	outbox_close(ob);
	ob = open_ob(&BATCHED, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(take(ob, 0, seqs, 4), 1);
	outbox_close(ob);
}

static void test_rename_fault_cursor_kept(void **state)
{
	struct outbox *ob;
	uint64_t seqs[8];

	(void)state;
	for (int e = 0; e < 2; e++) {
		ob = open_ob(&SYNC_EACH, 1);
		for (int i = 0; e == 0 && i < 5; i++)
			put_poll(ob, i);
		/* nothing was acknowledged on disk last round: all of it again */
		assert_int_equal(drain(ob, 0), 5);
		faults[F_RENAMEAT] = (struct fault){ .err = e ? EIO : ENOSPC, .times = -1,
						     .match = "cursor" };
		outbox_tick(ob, clk + 10);
		assert_true(faults[F_RENAMEAT].hits >= 1);
		assert_true(stats_of(ob).io_errors >= 1);
		assert_int_equal(stats_of(ob).cursor_writes, 0);
		assert_true(outbox_next_ms(ob) < INT64_MAX); /* still to do */
		outbox_close(ob);
		faults[F_RENAMEAT].times = 0;
		assert_int_equal(count_files("cursor-"), 0); /* no temp file left */
	}
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(take(ob, 0, seqs, 8), 5);
	outbox_ack(ob, 0, 3);
	faults[F_FSYNC] = (struct fault){ .err = EIO, .times = 1 };
	outbox_tick(ob, clk + 10);
	assert_int_equal(stats_of(ob).cursor_writes, 0);
	outbox_tick(ob, clk + 10);
	assert_int_equal(stats_of(ob).cursor_writes, 1);
	outbox_close(ob);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(take(ob, 0, seqs, 8), 2);
	assert_int_equal(seqs[0], 4);
	outbox_close(ob);
}

/* A new segment that cannot be created or made durable: the record that
 * needed it is refused, the next attempt rolls over. */
static void test_rollover_faults(void **state)
{
	static const struct { int op, err; } cases[] = {
		{ F_OPENAT, EMFILE }, { F_OPENAT, EIO }, { F_FSYNC, EIO },
	};
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	size_t ok = 0;

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t segs = count_files("seg-");
		int failed = 0;

		faults[cases[c].op] = (struct fault){
			.err = cases[c].err, .times = 1,
			.match = cases[c].op == F_OPENAT ? "seg-" : NULL,
		};
		while (count_files("seg-") == segs) {
			struct record p = mkpoll((int64_t)ok);
			int rc = put(ob, &p, NULL);

			if (rc == 0) {
				ok++;
			} else {
				assert_int_equal(rc, -cases[c].err);
				failed++;
				faults[cases[c].op].times = 0;
			}
		}
		assert_int_equal(failed, 1);
	}
	assert_int_equal(drain(ob, 0), ok);
	outbox_close(ob);
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 0);
	outbox_close(ob);
}

/* A newest segment replay cannot read is neither cut nor appended to, and
 * seqs jump clear of whatever it holds. */
static void test_unreadable_newest_segment(void **state)
{
	struct outbox *ob = open_ob(&SYNC_EACH, 1);
	off_t size;
	uint64_t seq;

	(void)state;
	for (int i = 0; i < 3; i++)
		put_poll(ob, i);
	outbox_close(ob);
	size = file_size(SEG1);
	faults[F_OPENAT] = (struct fault){ .err = EIO, .times = 1, .match = SEG1 };
	ob = open_ob(&SYNC_EACH, 1);
	assert_int_equal(faults[F_OPENAT].hits, 1);
	assert_int_equal(stats_of(ob).corrupt_found, 1);
	assert_int_equal(stats_of(ob).truncated_tail, 0);
	assert_int_equal(file_size(SEG1), size);
	seq = put_poll(ob, 9);
	assert_true(seq > (1ULL << 32));
	assert_int_equal(file_size(SEG1), size);
	assert_int_equal(drain(ob, 0), 1);
	outbox_close(ob);
}

/* ---- the process dies ---- */

static void test_killed_process_loses_nothing(void **state)
{
	uint64_t seqs[16];
	struct outbox *ob;
	int status;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ob = open_ob(&BATCHED, 1);
		for (int i = 0; i < 3; i++)
			put_poll(ob, i);
		put_alert(ob, 3);
		outbox_tick(ob, clk + 1000);
		drain(ob, 0);         /* 4 records handed out and acked */
		outbox_tick(ob, clk + 2000); /* cursor written */
		put_poll(ob, 4);      /* written, not yet fdatasync'ed */
		put_poll(ob, 5);
		_exit(0);             /* no close: like kill -9 */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ob = open_ob(&BATCHED, 1);
	assert_int_equal(take(ob, 0, seqs, 16), 2);
	assert_int_equal(seqs[0], 5);
	assert_int_equal(seqs[1], 6);
	outbox_close(ob);
}

static int setup(void **state)
{
	memset(faults, 0, sizeof(faults));
	return fixture_setup(state);
}

static int teardown(void **state)
{
	memset(faults, 0, sizeof(faults));
	return fixture_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_memory_flat_with_backlog),
		T(test_write_fault_alert_not_stored),
		T(test_write_fault_telemetry_returned),
		T(test_sync_fault_retried),
		T(test_pad_fault_syncs_unpadded),
		T(test_sync_failing_for_good),
		T(test_alert_fdatasync_and_ftruncate_fault),
		T(test_rename_fault_cursor_kept),
		T(test_rollover_faults),
		T(test_unreadable_newest_segment),
		T(test_killed_process_loses_nothing),
#undef T
	};

	log_set_level(LOG_ERR - 1); /* the faults are expected; keep output to results */
	return cmocka_run_group_tests_name("outbox_faults", tests, NULL, NULL);
}
