/*
 * maintstate.c - the maintenance modes' file: encoding, decoding and the
 * durable write (see maintstate.h for the format).
 */
#include "maintstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "OFMAINT1"
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + 8 + 4)
#define TMP_NAME MAINTSTATE_FILE ".tmp"
/* An entry's fixed bytes, and with both strings at their field's size. */
#define ENTRY_MIN (2 + 2 + 8 + 8 + 2 + 8 + 4 + 8)
#define ENTRY_MAX (ENTRY_MIN + REC_NAME + REC_NOTE)
#define FILE_MAX (HEADER_LEN + 4 + (size_t)MAINTSTATE_MAX * ENTRY_MAX)

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool bad;
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

/* At most cap - 1 bytes: what the fixed-size field holds. */
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

int maintstate_encode(const struct maintstate *st, uint8_t **buf, size_t *len)
{
	struct wbuf w = { 0 };

	if (st->n > MAINTSTATE_MAX)
		return -EINVAL;
	w.cap = HEADER_LEN + 4 + st->n * ENTRY_MAX;
	w.p = malloc(w.cap);
	if (!w.p)
		return -ENOMEM;
	memcpy(w.p, MAGIC, MAGIC_LEN);
	w.len = MAGIC_LEN;
	put_le(&w, (uint64_t)st->saved_ms, 8);
	put_le(&w, st->n, 4);
	for (size_t i = 0; i < st->n; i++) {
		const struct maintstate_entry *e = &st->e[i];

		put_str(&w, e->sensor, sizeof(e->sensor));
		put_le(&w, e->active, 1);
		put_le(&w, e->mode, 1);
		put_le(&w, (uint64_t)e->since_ms, 8);
		put_le(&w, (uint64_t)e->planned_end_ms, 8);
		put_str(&w, e->note, sizeof(e->note));
		put_le(&w, (uint64_t)e->day, 8);
		put_le(&w, e->starts, 4);
		put_le(&w, (uint64_t)e->day_ms, 8);
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

/* A cursor that stays failed once short. */
struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
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

/* Into a field of cap bytes, NUL-terminated; longer, or a NUL inside, is
 * corruption. */
static void get_str(struct rbuf *r, char *dst, size_t cap)
{
	size_t n = (size_t)get_le(r, 2);

	if (r->bad || n >= cap || r->len - r->off < n || memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->off, n);
	dst[n] = '\0';
	r->off += n;
}

static void get_entry(struct rbuf *r, struct maintstate_entry *e)
{
	uint64_t active, mode;

	get_str(r, e->sensor, sizeof(e->sensor));
	active = get_le(r, 1);
	mode = get_le(r, 1);
	e->since_ms = (int64_t)get_le(r, 8);
	e->planned_end_ms = (int64_t)get_le(r, 8);
	get_str(r, e->note, sizeof(e->note));
	e->day = (int64_t)get_le(r, 8);
	e->starts = (uint32_t)get_le(r, 4);
	e->day_ms = (int64_t)get_le(r, 8);
	if (active > 1 || mode >= MM_COUNT)
		r->bad = true;
	e->active = active == 1;
	e->mode = (uint8_t)mode;
}

int maintstate_decode(const uint8_t *buf, size_t len, struct maintstate *st)
{
	struct rbuf r = { .p = buf, .len = len };
	uint32_t n;

	if (len < HEADER_LEN + 4 || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
		return -EBADMSG;
	r.off = len - 4;
	if ((uint32_t)get_le(&r, 4) != (uint32_t)crc32(0L, buf, (uInt)(len - 4)))
		return -EBADMSG;
	r = (struct rbuf){ .p = buf, .len = len - 4, .off = MAGIC_LEN };
	st->saved_ms = (int64_t)get_le(&r, 8);
	n = (uint32_t)get_le(&r, 4);
	if (n > MAINTSTATE_MAX || (uint64_t)n * ENTRY_MIN > r.len - r.off) {
		*st = (struct maintstate){ 0 };
		return -EBADMSG;
	}
	st->e = n ? calloc(n, sizeof(*st->e)) : NULL;
	if (n && !st->e) {
		*st = (struct maintstate){ 0 };
		return -ENOMEM;
	}
	st->n = n;
	for (size_t i = 0; i < n; i++)
		get_entry(&r, &st->e[i]);
	if (r.bad || r.off != r.len) {
		maintstate_clear(st);
		return -EBADMSG;
	}
	return 0;
}

void maintstate_clear(struct maintstate *st)
{
	free(st->e);
	*st = (struct maintstate){ 0 };
}

/* ---- the file ----------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int save_bytes(int dirfd, const uint8_t *buf, size_t len)
{
	int fd = openat(dirfd, TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, TMP_NAME, dirfd, MAINTSTATE_FILE) < 0)
		rc = -errno;
	/* the rename is durable only once the directory is */
	if (rc == 0 && fsync(dirfd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, TMP_NAME, 0);
	return rc;
}

int maintstate_save(const char *dir, const struct maintstate *st)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int dirfd, rc = maintstate_encode(st, &buf, &len);

	if (rc < 0)
		return rc;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		free(buf);
		return rc;
	}
	rc = save_bytes(dirfd, buf, len);
	close(dirfd);
	free(buf);
	return rc;
}

int maintstate_load(const char *dir, struct maintstate *st)
{
	char path[4096];
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	int fd, rc, n = snprintf(path, sizeof(path), "%s/%s", dir, MAINTSTATE_FILE);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uint64_t)sb.st_size > FILE_MAX) {
		close(fd);
		return -EBADMSG;
	}
	buf = malloc((size_t)sb.st_size + 1);
	while (buf && got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* an error or a file that shrank: not whole */
		got += (size_t)r;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	rc = got == (size_t)sb.st_size ? maintstate_decode(buf, got, st) : -EBADMSG;
	free(buf);
	return rc;
}
