/*
 * alertstate.c - the compliance engine's state file: encoding, decoding
 * and the durable write (see alertstate.h for the format).
 */
#include "alertstate.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "OFSTATE2"
#define MAGIC_V1 "OFSTATE1" /* read, so an upgrade keeps its open alerts */
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + 12)
#define TMP_NAME ALERTSTATE_FILE ".tmp"

/* Upper bounds of one encoded entry: fixed fields plus every string at its
 * field's capacity. They size the buffer once, and the decoder uses the
 * smallest possible entry to refuse counts the file cannot hold. */
#define EXTRA_MIN (5 + 4 + 8 + 4 + 8 + 4 + 2) /* the fields version 2 added */
#define ALERT_MAX (6 * 2 + ALERTSTATE_KEY + REC_ID + 2 * REC_NAME + REC_PERMIT + REC_HOLDER + \
		   5 + 4 + 3 * 8 + 3 * 8 + EXTRA_MIN + REC_MAX_VALUES + REC_NOTE)
#define ACC_MAX (2 + ALERTSTATE_KEY + 2 * 8 + 4 + 6 * 8 + 8)
#define COUNTER_MAX (2 + ALERTSTATE_KEY + 8 + 8)
#define ALERT_MIN_V1 (6 * 2 + 5 + 4 + 6 * 8)
#define ACC_MIN (2 + 2 * 8 + 4 + 6 * 8 + 8)
#define COUNTER_MIN_V1 (2 + 8)

/* ---- encoding ----------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool bad;    /* something did not fit: an encoder bug or a bad string */
};

static void put_le(struct wbuf *w, uint64_t v, int n)
{
	if (w->bad || w->cap - w->len < (size_t)n) {
		w->bad = true;
		return;
	}
	for (int i = 0; i < n; i++)
		w->p[w->len++] = (uint8_t)(v >> (8 * i));
}

static void put_f64(struct wbuf *w, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	put_le(w, u, 8);
}

/* At most cap - 1 bytes of s: what the fixed-size field can hold. */
static void put_str(struct wbuf *w, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n >= cap || w->bad || w->cap - w->len < 2 + n) {
		w->bad = true;
		return;
	}
	put_le(w, n, 2);
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* What version 2 added: the evidence of faults, gaps and expiry. */
static void put_extra(struct wbuf *w, const struct rec_alert *e)
{
	uint8_t n = e->n_params <= REC_MAX_VALUES ? e->n_params : REC_MAX_VALUES;

	put_le(w, e->value_flags, 1);
	put_le(w, e->reason, 1);
	put_le(w, e->unhealthy, 1);
	put_le(w, e->cause, 1);
	put_le(w, n, 1);
	for (int i = 0; i < n; i++)
		put_le(w, e->params[i], 1);
	put_le(w, (uint32_t)e->polls_missed, 4);
	put_le(w, (uint64_t)e->last_answer_ms, 8);
	put_le(w, (uint32_t)e->gap_s, 4);
	put_f64(w, e->coverage_pct);
	put_le(w, (uint32_t)e->days_left, 4);
	put_str(w, e->note, sizeof(e->note));
}

static void put_alert(struct wbuf *w, const struct alertstate_alert *a)
{
	const struct rec_alert *e = &a->ev;

	put_str(w, a->key, sizeof(a->key));
	put_str(w, e->id, sizeof(e->id));
	put_le(w, e->state, 1);
	put_le(w, e->kind, 1);
	put_le(w, e->param, 1);
	put_le(w, e->basis, 1);
	put_le(w, e->sensor_health, 1);
	put_le(w, (uint32_t)e->window_min, 4);
	put_str(w, e->outlet, sizeof(e->outlet));
	put_str(w, e->sensor, sizeof(e->sensor));
	put_str(w, e->permit, sizeof(e->permit));
	put_str(w, e->holder, sizeof(e->holder));
	put_f64(w, e->limit);
	put_f64(w, e->value);
	put_f64(w, e->peak);
	put_le(w, (uint64_t)e->since_ms, 8);
	put_le(w, (uint64_t)e->until_ms, 8);
	put_le(w, (uint64_t)a->reminded_day, 8);
	put_extra(w, e);
}

static void put_acc(struct wbuf *w, const struct alertstate_acc *a)
{
	put_str(w, a->key, sizeof(a->key));
	put_le(w, (uint64_t)a->start_ms, 8);
	put_le(w, (uint64_t)a->end_ms, 8);
	put_le(w, a->acc.n, 4);
	put_f64(w, a->acc.sum);
	put_f64(w, a->acc.min);
	put_f64(w, a->acc.max);
	put_f64(w, a->acc.wsum);
	put_f64(w, a->acc.wvsum);
	put_f64(w, a->acc.cou);
	put_le(w, (uint64_t)a->acc.covered_ms, 8);
}

int alertstate_encode(const struct alertstate *st, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };

	if (st->n_alerts > UINT32_MAX || st->n_accs > UINT32_MAX || st->n_counters > UINT32_MAX)
		return -EINVAL;
	w.cap = HEADER_LEN + 4 + st->n_alerts * ALERT_MAX + st->n_accs * ACC_MAX +
		st->n_counters * COUNTER_MAX;
	w.p = malloc(w.cap);
	if (!w.p)
		return -ENOMEM;
	memcpy(w.p, MAGIC, MAGIC_LEN);
	w.len = MAGIC_LEN;
	put_le(&w, st->n_alerts, 4);
	put_le(&w, st->n_accs, 4);
	put_le(&w, st->n_counters, 4);
	for (size_t i = 0; i < st->n_alerts; i++)
		put_alert(&w, &st->alerts[i]);
	for (size_t i = 0; i < st->n_accs; i++)
		put_acc(&w, &st->accs[i]);
	for (size_t i = 0; i < st->n_counters; i++) {
		put_str(&w, st->counters[i].key, sizeof(st->counters[i].key));
		put_f64(&w, st->counters[i].last);
		put_le(&w, (uint64_t)st->counters[i].wall_ms, 8);
	}
	if (!w.bad)
		put_le(&w, (uint32_t)crc32(0L, w.p, (uInt)w.len), 4);
	if (w.bad) {
		free(w.p);
		return -EINVAL;
	}
	*buf = w.p;
	*len = w.len;
	return 0;
}

/* ---- decoding ----------------------------------------------------------- */

/* A cursor that advances only while the bytes are there; once short it
 * stays failed and every later read yields zeroes. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
	int version;   /* 1 or 2: what the magic said */
};

static uint64_t get_le(struct rbuf *r, int n)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->off < (size_t)n) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
	r->off += (size_t)n;
	return v;
}

static double get_f64(struct rbuf *r)
{
	uint64_t u = get_le(r, 8);
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/* Into a field of cap bytes, NUL-terminated; longer is corruption. */
static void get_str(struct rbuf *r, char *dst, size_t cap)
{
	size_t n = (size_t)get_le(r, 2);

	if (r->bad || n >= cap || r->len - r->off < n) {
		r->bad = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n;
}

static void get_extra(struct rbuf *r, struct rec_alert *e)
{
	e->value_flags = (uint8_t)get_le(r, 1);
	e->reason = (uint8_t)get_le(r, 1);
	e->unhealthy = (uint8_t)get_le(r, 1);
	e->cause = (uint8_t)get_le(r, 1);
	e->n_params = (uint8_t)get_le(r, 1);
	if (e->n_params > REC_MAX_VALUES) {
		r->bad = true;
		e->n_params = 0;
	}
	for (int i = 0; i < e->n_params; i++)
		e->params[i] = (uint8_t)get_le(r, 1);
	e->polls_missed = (int32_t)(uint32_t)get_le(r, 4);
	e->last_answer_ms = (int64_t)get_le(r, 8);
	e->gap_s = (int32_t)(uint32_t)get_le(r, 4);
	e->coverage_pct = get_f64(r);
	e->days_left = (int32_t)(uint32_t)get_le(r, 4);
	get_str(r, e->note, sizeof(e->note));
}

static void get_alert(struct rbuf *r, struct alertstate_alert *a)
{
	struct rec_alert *e = &a->ev;

	get_str(r, a->key, sizeof(a->key));
	get_str(r, e->id, sizeof(e->id));
	e->state = (uint8_t)get_le(r, 1);
	e->kind = (uint8_t)get_le(r, 1);
	e->param = (uint8_t)get_le(r, 1);
	e->basis = (uint8_t)get_le(r, 1);
	e->sensor_health = (uint8_t)get_le(r, 1);
	e->window_min = (int32_t)(uint32_t)get_le(r, 4);
	get_str(r, e->outlet, sizeof(e->outlet));
	get_str(r, e->sensor, sizeof(e->sensor));
	get_str(r, e->permit, sizeof(e->permit));
	get_str(r, e->holder, sizeof(e->holder));
	e->limit = get_f64(r);
	e->value = get_f64(r);
	e->peak = get_f64(r);
	e->since_ms = (int64_t)get_le(r, 8);
	e->until_ms = (int64_t)get_le(r, 8);
	a->reminded_day = (int64_t)get_le(r, 8);
	if (r->version >= 2)
		get_extra(r, e);
	else
		e->coverage_pct = NAN;
}

static void get_acc(struct rbuf *r, struct alertstate_acc *a)
{
	get_str(r, a->key, sizeof(a->key));
	a->start_ms = (int64_t)get_le(r, 8);
	a->end_ms = (int64_t)get_le(r, 8);
	a->acc.n = (uint32_t)get_le(r, 4);
	a->acc.sum = get_f64(r);
	a->acc.min = get_f64(r);
	a->acc.max = get_f64(r);
	a->acc.wsum = get_f64(r);
	a->acc.wvsum = get_f64(r);
	a->acc.cou = get_f64(r);
	a->acc.covered_ms = (int64_t)get_le(r, 8);
}

/* The three arrays, sized from counts the remaining bytes can hold. */
static int alloc_arrays(struct rbuf *r, struct alertstate *st, uint32_t na, uint32_t nc,
			uint32_t nk)
{
	size_t left = r->len - r->off;
	uint64_t alert_min = ALERT_MIN_V1 + (r->version >= 2 ? EXTRA_MIN : 0);
	uint64_t counter_min = COUNTER_MIN_V1 + (r->version >= 2 ? 8 : 0);

	if ((uint64_t)na * alert_min + (uint64_t)nc * ACC_MIN + (uint64_t)nk * counter_min > left)
		return -EBADMSG;
	st->alerts = na ? calloc(na, sizeof(*st->alerts)) : NULL;
	st->accs = nc ? calloc(nc, sizeof(*st->accs)) : NULL;
	st->counters = nk ? calloc(nk, sizeof(*st->counters)) : NULL;
	if ((na && !st->alerts) || (nc && !st->accs) || (nk && !st->counters))
		return -ENOMEM;
	st->n_alerts = na;
	st->n_accs = nc;
	st->n_counters = nk;
	return 0;
}

int alertstate_decode(const uint8_t *buf, size_t len, struct alertstate *st)
{
	struct rbuf r = { .p = buf, .len = len };
	uint32_t na, nc, nk;
	int rc;

	int version;

	if (len < HEADER_LEN + 4)
		return -EBADMSG;
	if (memcmp(buf, MAGIC, MAGIC_LEN) == 0)
		version = 2;
	else if (memcmp(buf, MAGIC_V1, MAGIC_LEN) == 0)
		version = 1;
	else
		return -EBADMSG;
	r.off = len - 4;
	if ((uint32_t)get_le(&r, 4) != (uint32_t)crc32(0L, buf, (uInt)(len - 4)))
		return -EBADMSG;
	r = (struct rbuf){ .p = buf, .len = len - 4, .off = MAGIC_LEN, .version = version };
	na = (uint32_t)get_le(&r, 4);
	nc = (uint32_t)get_le(&r, 4);
	nk = (uint32_t)get_le(&r, 4);
	rc = alloc_arrays(&r, st, na, nc, nk);
	for (size_t i = 0; rc == 0 && i < st->n_alerts; i++)
		get_alert(&r, &st->alerts[i]);
	for (size_t i = 0; rc == 0 && i < st->n_accs; i++)
		get_acc(&r, &st->accs[i]);
	for (size_t i = 0; rc == 0 && i < st->n_counters; i++) {
		get_str(&r, st->counters[i].key, sizeof(st->counters[i].key));
		st->counters[i].last = get_f64(&r);
		st->counters[i].wall_ms = version >= 2 ? (int64_t)get_le(&r, 8) : 0;
	}
	if (rc == 0 && (r.bad || r.off != r.len))
		rc = -EBADMSG;
	if (rc < 0)
		alertstate_clear(st);
	return rc;
}

void alertstate_clear(struct alertstate *st)
{
	free(st->alerts);
	free(st->accs);
	free(st->counters);
	*st = (struct alertstate){ 0 };
}

/* ---- the file ----------------------------------------------------------- */

static int sys_fsync(int fd)
{
	return fsync(fd);
}

static const struct alertstate_sys real_sys = { write, sys_fsync, renameat };

static int write_all(const struct alertstate_sys *sys, int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = sys->write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int save_bytes(int dirfd, const uint8_t *buf, size_t len, const struct alertstate_sys *sys)
{
	int fd = openat(dirfd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(sys, fd, buf, len);
	if (rc == 0 && sys->fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && sys->renameat(dirfd, TMP_NAME, dirfd, ALERTSTATE_FILE) < 0)
		rc = -errno;
	/* the rename is durable only once the directory is */
	if (rc == 0 && sys->fsync(dirfd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, TMP_NAME, 0);
	return rc;
}

int alertstate_save(const char *dir, const struct alertstate *st,
		    const struct alertstate_sys *sys)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int dirfd, rc;

	rc = alertstate_encode(st, &buf, &len);
	if (rc < 0)
		return rc;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	rc = save_bytes(dirfd, buf, len, sys ? sys : &real_sys);
	close(dirfd);
	free(buf);
	return rc;
}

static int read_bytes(int fd, uint8_t **buf, size_t *len)
{
	struct stat sb;
	size_t got = 0;
	uint8_t *p;

	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uint64_t)sb.st_size > ALERTSTATE_MAX_BYTES)
		return -EBADMSG;
	p = malloc((size_t)sb.st_size + 1);
	if (!p)
		return -ENOMEM;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EBADMSG; /* shrank under us */

			free(p);
			return e;
		}
		got += (size_t)n;
	}
	*buf = p;
	*len = got;
	return 0;
}

int alertstate_load(const char *dir, struct alertstate *st)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, ALERTSTATE_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_bytes(fd, &buf, &len);
	close(fd);
	if (rc < 0)
		return rc;
	rc = alertstate_decode(buf, len, st);
	free(buf);
	return rc;
}
