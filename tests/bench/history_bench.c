/*
 * history_bench.c - the local history's figures (DESIGN §9): a day of raw
 * readings of the two-slave 1 s workload (probe1 with 5 channels, flow1
 * with 2: 7 readings a second, 604 800 rows) written into a store in a
 * temp dir in transactions of HIST_PASS_RECS records as the sink writes
 * them, then one day of one outlet + parameter read back through the query
 * API; and an hour of it committed every 300, 60 and 10 s, counting the
 * bytes written. Prints the bytes per hour, the time per transaction (the
 * loop's bound), bytes on disk per reading, and the day query's time.
 * Figures, never assertions.
 *
 * usage: history_bench DIR   (DIR is made, used and removed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/param.h"
#include "sinks/history/history.h"
#include "sinks/history/internal.h"

#define DAY_S 86400
#define T0 1764374400000LL /* 2025-11-29T00:00:00Z */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct record poll_of(int sensor, int64_t ts)
{
	static const uint8_t probe[] = { P_COD, P_PH, P_NH3N, P_TP, P_TEMP };
	static const uint8_t flow[] = { P_FLOW, P_VOLUME_TOTAL };
	struct record r = { .type = REC_POLL, .ts_ms = ts };
	struct rec_poll *p = &r.u.poll;
	const uint8_t *params = sensor ? flow : probe;

	snprintf(p->outlet, sizeof(p->outlet), "WS-001");
	snprintf(p->sensor, sizeof(p->sensor), sensor ? "flow1" : "probe1");
	p->n = sensor ? 2 : 5;
	for (int i = 0; i < p->n; i++)
		p->values[i] = (struct rec_value){ .v = (double)(float)(100 + (ts / 1000) % 97 +
									 i * 0.1),
						   .param = params[i], .quality = Q_OK,
						   .flags = RV_F32 };
	return r;
}

/* Writes the day; returns the worst transaction's seconds. */
static double write_day(struct hstore *st, double *total_s, int *txns)
{
	uint64_t seq = 1;
	double worst = 0, t;
	int n = 0;

	*total_s = 0;
	*txns = 0;
	for (int64_t s = 0; s < DAY_S; s++)
		for (int k = 0; k < 2; k++) {
			struct record r = poll_of(k, T0 + s * 1000);

			if (n == 0) {
				t = now_s();
				hstore_exec(st, HS_BEGIN);
			}
			r.seq = seq++;
			hstore_insert(st, &r);
			if (++n < HIST_PASS_RECS && !(s == DAY_S - 1 && k == 1))
				continue;
			hstore_exec(st, HS_COMMIT);
			t = now_s() - t;
			worst = t > worst ? t : worst;
			*total_s += t;
			(*txns)++;
			n = 0;
		}
	return worst;
}

static long long write_bytes(void)
{
	char line[128];
	long long v = -1;
	FILE *f = fopen("/proc/self/io", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "write_bytes: %lld", &v) == 1) /* a kernel-made line */
			break;
	if (f)
		fclose(f);
	return v;
}

/* Bytes this process causes to be written (WAL, checkpoints, the file) for
 * an hour of the workload committed every commit_s, on a fresh store. */
static double bytes_per_hour(const char *dir, int commit_s)
{
	char sub[4200];
	struct hstore st = { 0 };
	long long w0, w1;
	uint64_t seq = 1;

	snprintf(sub, sizeof(sub), "%s/hour-%d", dir, commit_s);
	if (hstore_open(&st, sub, "bench") != SQLITE_OK)
		return -1;
	w0 = write_bytes();
	for (int64_t s = 0; s < 3600; s += commit_s) {
		hstore_exec(&st, HS_BEGIN);
		for (int64_t t = s; t < s + commit_s && t < 3600; t++)
			for (int k = 0; k < 2; k++) {
				struct record r = poll_of(k, T0 + t * 1000);

				r.seq = seq++;
				hstore_insert(&st, &r);
			}
		hstore_exec(&st, HS_COMMIT);
	}
	hstore_close(&st);
	w1 = write_bytes();
	return w0 < 0 || w1 < 0 ? -1 : (double)(w1 - w0);
}

static int count_row(const struct hist_reading *r, void *arg)
{
	(void)r;
	(*(long *)arg)++;
	return 0;
}

static long file_bytes(const char *dir, const char *suffix)
{
	char p[4200];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s%s", dir, HISTORY_FILE, suffix);
	return stat(p, &sb) == 0 ? (long)sb.st_size : 0;
}

int main(int argc, char **argv)
{
	struct hstore st = { 0 };
	struct history *h = NULL;
	double total, worst, first = 0, best = 1e9, t;
	char err[256], cmd[4300];
	long rows = 0, size;
	int txns;

	if (argc != 2) {
		fprintf(stderr, "usage: history_bench DIR\n");
		return 64;
	}
	log_set_level(LOG_ERR);
	for (int i = 0; i < 3; i++) {
		int c = (int[]){ 300, 60, 10 }[i];

		printf("history: an hour of the 2-slave 1 s workload, a transaction every %d s: "
		       "%.2f MB written (WAL, checkpoints, file; /proc/self/io write_bytes)\n", c,
		       bytes_per_hour(argv[1], c) / 1e6);
	}
	if (hstore_open(&st, argv[1], "bench") != SQLITE_OK)
		return 1;
	worst = write_day(&st, &total, &txns);
	hstore_close(&st); /* checkpoints the WAL into the file */
	size = file_bytes(argv[1], "");
	printf("history: a day of the 2-slave 1 s workload (%d readings) in %d transactions "
	       "of %d records: %.1f ms each on average, %.1f ms the worst (the loop's bound)\n",
	       DAY_S * 7, txns, HIST_PASS_RECS, total * 1000 / txns, worst * 1000);
	printf("history: file %.1f MiB for the day, %.0f bytes per reading (raw_days = 31: "
	       "%.0f MiB)\n", size / 1048576.0, (double)size / (DAY_S * 7),
	       size * 31 / 1048576.0);
	if (history_open(argv[1], &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "history_bench: %s\n", err);
		return 1;
	}
	for (int i = 0; i < 5; i++) {
		rows = 0;
		t = now_s();
		history_readings(h, "WS-001", P_COD, T0, T0 + DAY_S * 1000LL, count_row, &rows);
		t = now_s() - t;
		first = i == 0 ? t : first;
		best = t < best ? t : best;
	}
	printf("history: one day of one outlet + parameter (%ld rows): %.1f ms the first "
	       "query, %.1f ms the best of 5\n", rows, first * 1000, best * 1000);
	history_close(h);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", argv[1]);
	return system(cmd) == 0 ? 0 : 1;
}
