/*
 * fuzz_outbox.c - replay of an outbox directory of arbitrary files
 * (gateway/outbox/), through the public outbox.h API only.
 *
 * The input describes a directory: telemetry and alert segment files
 * (raw bytes, or frames sealed with a good CRC whose payloads are records
 * or bytes, with seqs rising or not, padding between them, torn or
 * flipped), cursor files (raw
 * or well-formed with any acked seqs) and stray files, plus the options
 * and the number of sinks. The harness writes it to a scratch directory
 * and opens it. Properties:
 *  - opening succeeds: damage is stepped over, never fatal; closing leaves
 *    no file descriptor open;
 *  - each sink is handed every record at most once per open, never seq 0,
 *    and each one re-encodes; after a drain nothing is left unsent;
 *  - a record appended after replay gets a seq above every seq handed out
 *    and above the previous append (seqs never go back), comes back to
 *    every sink with its contents intact, and, after close and a second
 *    open, comes back again to each sink that had not acknowledged it
 *    (accepted records survive a reopen); appends after the reopen get
 *    seqs above all of them.
 *
 * Segment names and sealed seqs stay below 2^48, so that the properties
 * about seqs keep room above them (names from 2^62 are set aside: the
 * unit tests cover that). A sealed frame's seq may be below its segment's
 * name: replay counts it as damage, as the readers step over it.
 * Seqs in telemetry files are even and in alert files odd: one seq in both
 * streams is damage replay does not look for, and each stream would hand
 * it out once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "outbox/outbox.h"
#include "outbox/segment.h" /* only to write well-formed frames and cursors */

#define SEQ_MASK ((1ULL << 48) - 1)
#define MAX_FILES 10
#define MAX_APPENDS 6
#define DRAIN_MAX 200000

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* A small record from the input: a poll or an alert. */
static void make_record(struct fuzz_in *in, struct record *r, bool alert)
{
	memset(r, 0, sizeof(*r));
	r->ts_ms = 1700000000000LL + (int64_t)fuzz_u16(in) * 1000;
	if (alert) {
		r->type = REC_ALERT;
		snprintf(r->u.alert.id, sizeof(r->u.alert.id), "gw/WS-001/cod/%u", fuzz_u8(in));
		r->u.alert.kind = (uint8_t)fuzz_pick(in, AK_COUNT);
		r->u.alert.value = fuzz_u16(in) / 10.0;
		return;
	}
	r->type = REC_POLL;
	snprintf(r->u.poll.outlet, sizeof(r->u.poll.outlet), "WS-001");
	snprintf(r->u.poll.sensor, sizeof(r->u.poll.sensor), "probe%u", fuzz_u8(in) % 4);
	r->u.poll.n = (uint8_t)(1 + fuzz_pick(in, 4));
	for (int i = 0; i < r->u.poll.n; i++)
		r->u.poll.values[i] = (struct rec_value){ .v = fuzz_u16(in) / 100.0,
							  .param = (uint8_t)i };
}

/* Frames with good CRCs: records or raw payloads, seqs from first up. */
static size_t sealed_frames(struct fuzz_in *in, bool alert, uint64_t first, uint8_t *buf,
			    size_t cap)
{
	size_t len = 0, n = 1 + fuzz_pick(in, 8);
	uint64_t seq = first;

	for (size_t i = 0; i < n && len + OBX_FRAME_MAX <= cap; i++) {
		uint8_t how = fuzz_u8(in), *f = buf + len;
		int plen;

		if (how & 1) {
			struct record r;

			make_record(in, &r, alert);
			plen = outbox_codec_encode(&r, f + OBX_HDR, OUTBOX_CODEC_MAX);
			FUZZ_CHECK(plen > 0, "encode %d", plen);
		} else {
			const uint8_t *p;

			plen = (int)fuzz_take(in, 200, &p);
			memcpy(f + OBX_HDR, p, (size_t)plen);
		}
		obx_frame_seal(f, seq, (size_t)plen);
		len += OBX_HDR + (size_t)plen;
		seq = how & 2 ? seq - (how >> 4) : seq + 1 + (how >> 6); /* mostly rising */
		seq &= SEQ_MASK;
		seq = (seq & ~1ULL) | alert; /* the streams' seqs stay apart */
		if (how & 4)
			f[fuzz_pick(in, OBX_HDR + (unsigned)plen)] ^= (uint8_t)(1 + fuzz_u8(in) % 255);
		if (how & 8 && len + OBX_PAGE + OBX_FRAME_MAX <= cap) { /* padding after it */
			size_t pl = OBX_PAD_HDR + fuzz_pick(in, OBX_PAGE - OBX_PAD_HDR);

			memset(buf + len, 0, pl);
			obx_pad_seal(buf + len, pl);
			len += pl;
		}
	}
	if (len && (fuzz_u8(in) & 7) == 0)
		len -= 1 + fuzz_pick(in, (unsigned)len); /* torn */
	return len;
}

static void write_segment(struct fuzz_in *in, uint8_t kind)
{
	static uint8_t buf[8 * OBX_FRAME_MAX];
	char name[OBX_NAME_MAX];
	uint64_t first = (fuzz_u8(in) & 1 ? fuzz_u16(in) : fuzz_u64(in)) & SEQ_MASK;

	first = (first & ~1ULL) | (kind & 1);
	const uint8_t *raw;
	size_t len;

	obx_seg_name(kind & 1 ? OBX_ALR : OBX_TEL, first, name);
	if (kind & 2) {
		len = fuzz_take(in, 4096, &raw);
		FUZZ_CHECK(fuzz_write_file(name, raw, len), "write %s", name);
		return;
	}
	len = sealed_frames(in, kind & 1, first, buf, sizeof(buf));
	FUZZ_CHECK(fuzz_write_file(name, buf, len), "write %s", name);
}

static void write_cursor(struct fuzz_in *in, int n_sinks)
{
	char name[32];
	int s = (int)fuzz_pick(in, (unsigned)n_sinks);
	const uint8_t *raw;
	size_t len;

	if (fuzz_u8(in) & 1) {
		uint64_t ack[OBX_NKINDS] = { fuzz_u64(in) & SEQ_MASK, fuzz_u64(in) & SEQ_MASK };
		int dfd = open(fuzz_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fuzz_u8(in) & 1) { /* near what is on disk */
			ack[OBX_TEL] &= 0xff;
			ack[OBX_ALR] &= 0xff;
		}
		snprintf(name, sizeof(name), "%d", s);
		FUZZ_CHECK(dfd >= 0 && obx_cursor_write(dfd, name, ack) == 0, "cursor");
		close(dfd);
		return;
	}
	snprintf(name, sizeof(name), "cursor-%d%s", s, fuzz_u8(in) & 1 ? ".tmp" : "");
	len = fuzz_take(in, 64, &raw);
	FUZZ_CHECK(fuzz_write_file(name, raw, len), "write %s", name);
}

/* What the harness knows about the records. */
struct seen {
	uint64_t max_seq;                     /* highest seq handed out or given */
	uint64_t got[OUTBOX_MAX_SINKS][DRAIN_MAX]; /* seqs handed out since the open */
	size_t n_got[OUTBOX_MAX_SINKS];
	uint64_t app_seq[2 * MAX_APPENDS];    /* appended, in order */
	uint8_t app_enc[2 * MAX_APPENDS][OUTBOX_CODEC_MAX];
	int app_len[2 * MAX_APPENDS];
	int n_app;
	bool back[OUTBOX_MAX_SINKS][2 * MAX_APPENDS]; /* came back to the sink */
};

static void handed(struct seen *sn, int s, const struct record *r)
{
	static uint8_t enc[OUTBOX_CODEC_MAX];
	int len = outbox_codec_encode(r, enc, sizeof(enc));

	FUZZ_CHECK(len > 0, "sink %d got a record that does not encode (%d)", s, len);
	FUZZ_CHECK(r->seq > 0, "sink %d got seq 0", s);
	FUZZ_CHECK(sn->n_got[s] < DRAIN_MAX, "sink %d never runs dry", s);
	sn->got[s][sn->n_got[s]++] = r->seq;
	if (r->seq > sn->max_seq)
		sn->max_seq = r->seq;
	for (int i = 0; i < sn->n_app; i++)
		if (sn->app_seq[i] == r->seq) {
			FUZZ_CHECK(len == sn->app_len[i] && memcmp(enc, sn->app_enc[i], (size_t)len) == 0,
				   "seq %llu came back changed", (unsigned long long)r->seq);
			sn->back[s][i] = true;
		}
}

/* A new open: every record may be handed out once more. */
static void reopened(struct seen *sn)
{
	memset(sn->n_got, 0, sizeof(sn->n_got));
	memset(sn->back, 0, sizeof(sn->back));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* No record was handed to a sink twice since the open. (Whether a record
 * is telemetry or an alert is its file's business, not its type's, so the
 * order within each stream is not seen from here.) */
static void check_once(struct seen *sn, int n_sinks)
{
	static uint64_t sorted[DRAIN_MAX];

	for (int s = 0; s < n_sinks; s++) {
		memcpy(sorted, sn->got[s], sn->n_got[s] * sizeof(sorted[0]));
		qsort(sorted, sn->n_got[s], sizeof(sorted[0]), cmp_u64);
		for (size_t i = 1; i < sn->n_got[s]; i++)
			FUZZ_CHECK(sorted[i] != sorted[i - 1], "sink %d got seq %llu twice", s,
				   (unsigned long long)sorted[i]);
	}
}

/* Hands every sink all it has; sink 0 acks what it gets when ack0. */
static void drain(struct outbox *ob, int n_sinks, struct seen *sn, bool ack0)
{
	for (int s = 0; s < n_sinks; s++) {
		size_t unsent = outbox_unsent(ob, s), got = 0;
		const struct record *r;

		while ((r = outbox_next(ob, s))) {
			got++;
			handed(sn, s, r);
			if (s == 0 && ack0)
				outbox_ack(ob, 0, r->seq);
		}
		FUZZ_CHECK(got <= unsent, "sink %d got %zu records, %zu unsent", s, got, unsent);
		FUZZ_CHECK(outbox_unsent(ob, s) == 0, "sink %d: %zu unsent after a drain", s,
			   outbox_unsent(ob, s));
	}
}

static void append(struct outbox *ob, struct fuzz_in *in, struct seen *sn, int64_t now)
{
	int n = 1 + (int)fuzz_pick(in, MAX_APPENDS);

	for (int i = 0; i < n && sn->n_app < 2 * MAX_APPENDS; i++) {
		struct record r;
		uint64_t seq = 0;
		int rc, k = sn->n_app;

		make_record(in, &r, fuzz_u8(in) & 1);
		rc = outbox_append(ob, &r, now, &seq);
		if (rc == -ENOSPC && r.type == REC_POLL)
			continue; /* alerts alone fill the cap */
		FUZZ_CHECK(rc == 0, "append: %s", strerror(-rc));
		FUZZ_CHECK(seq > sn->max_seq, "append got seq %llu, %llu was handed out",
			   (unsigned long long)seq, (unsigned long long)sn->max_seq);
		sn->max_seq = seq;
		sn->app_seq[k] = seq;
		sn->app_len[k] = outbox_codec_encode(&r, sn->app_enc[k], OUTBOX_CODEC_MAX);
		sn->n_app++;
	}
}

static struct outbox *open_ob(const struct outbox_opts *o, int n_sinks, int64_t now)
{
	char dir[512];
	struct outbox *ob = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s", fuzz_dir());
	rc = outbox_open(dir, o, n_sinks, now, &ob);
	FUZZ_CHECK(rc == 0 && ob, "outbox_open: %s", strerror(-rc));
	return ob;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen sn;
	int fds = count_fds();
	struct fuzz_in in = { data, size };
	struct outbox_opts o;
	struct outbox *ob;
	int n_sinks = 1 + (int)fuzz_pick(&in, 3), files;
	bool ack0;

	fuzz_dir_clear();
	outbox_opts_default(&o);
	o.fsync_ms = (int)fuzz_pick(&in, 3) * 500;
	o.segment_bytes = 4096 * (1 + fuzz_pick(&in, 4));
	o.max_backlog_bytes = o.segment_bytes * (4 + fuzz_pick(&in, 8));
	ack0 = fuzz_u8(&in) & 1;
	files = (int)fuzz_pick(&in, MAX_FILES + 1);
	for (int i = 0; i < files; i++) {
		uint8_t kind = fuzz_u8(&in);

		if (kind >> 6 == 0)
			write_cursor(&in, n_sinks);
		else
			write_segment(&in, kind);
	}
	sn.max_seq = 0;
	sn.n_app = 0;
	reopened(&sn);
	ob = open_ob(&o, n_sinks, 1000);
	drain(ob, n_sinks, &sn, ack0);
	append(ob, &in, &sn, 1000);
	FUZZ_CHECK(outbox_flush(ob, 2000) == 0, "flush");
	drain(ob, n_sinks, &sn, ack0);
	check_once(&sn, n_sinks);
	for (int s = 0; s < n_sinks; s++)
		for (int i = 0; i < sn.n_app; i++)
			FUZZ_CHECK(sn.back[s][i], "sink %d never got seq %llu", s,
				   (unsigned long long)sn.app_seq[i]);
	outbox_close(ob);

	ob = open_ob(&o, n_sinks, 3000);
	reopened(&sn);
	drain(ob, n_sinks, &sn, false);
	check_once(&sn, n_sinks);
	for (int s = ack0 ? 1 : 0; s < n_sinks; s++)
		for (int i = 0; i < sn.n_app; i++)
			FUZZ_CHECK(sn.back[s][i], "after reopen sink %d lost seq %llu", s,
				   (unsigned long long)sn.app_seq[i]);
	append(ob, &in, &sn, 3000);
	outbox_close(ob);
	FUZZ_CHECK(count_fds() == fds, "%d file descriptors open, %d before", count_fds(), fds);
	return 0;
}
