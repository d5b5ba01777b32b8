/*
 * deadletter.c - the InfluxDB sink's quarantine file. Records
 * the server refused for good (HTTP 400/422 for the record alone) are
 * appended to <data_dir>/deadletter-influx.lp as their line protocol,
 * each after a comment line saying when and why:
 *
 *   # 2026-11-29T08:00:17.000Z HTTP 400: {'error':'partial write: ...'}
 *   outfall_reading,gateway=... value=...,q="ok",seq=42i 1764403217000
 *
 * Line protocol treats '#' lines as comments, so once the cause is fixed
 * the file can be POSTed to /write as it is (curl --data-binary @file).
 * The sink acks a quarantined record only after its entry is fdatasync'ed,
 * so a refused point is never lost.
 * Size is bounded: an entry that would take the file past
 * INFLUX_DL_MAX_BYTES first renames it to deadletter-influx.lp.1 (replacing
 * the older one), so at most two files of 16 MiB are kept.
 *
 * Quarantine is rare; the directory and file are opened per entry, and no
 * descriptor is held between entries. An entry costs a few small system
 * calls and one fdatasync (tens of ms on an SD card, at worst).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "base/clock.h"

#define INFLUX_DL_HEAD_MAX (INFLUX_DL_ERR_MAX + 64)

int influx_dl_init(struct influx_dl *dl, const char *data_dir)
{
	if (!data_dir || !*data_dir) {
		log_err("influx: no data_dir for the dead-letter file");
		return -EINVAL;
	}
	dl->dir = strdup(data_dir);
	dl->max_bytes = INFLUX_DL_MAX_BYTES;
	return dl->dir ? 0 : -ENOMEM;
}

void influx_dl_free(struct influx_dl *dl)
{
	free(dl->dir);
	dl->dir = NULL;
}

/* Length of the longest prefix of s (at most max bytes of n) that does not
 * end inside a UTF-8 sequence, so a cut error text stays valid UTF-8. */
static size_t influx_dl_utf8_cut(const char *s, size_t n, size_t max)
{
	size_t cut, lead;
	unsigned char c;
	size_t need;

	if (n <= max)
		return n;
	cut = max;
	lead = cut;
	while (lead > 0 && cut - lead < 3 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return cut;
	c = (unsigned char)s[lead - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	return cut - (lead - 1) < need ? lead - 1 : cut;
}

/* A byte of the server's error as the comment line carries it. InfluxDB
 * 1.x scans a comment line like any other before dropping it: a '"' after
 * an '=' opens a quoted string and a backslash escapes the next byte, and
 * either can carry the newline into the following lines, which are then
 * dropped with the comment (checked against influxd 1.6). So quotes become
 * apostrophes, backslashes slashes, control characters spaces. */
static char influx_dl_safe(char c)
{
	if ((unsigned char)c < 0x20 || c == 0x7f)
		return ' ';
	return c == '"' ? '\'' : c == '\\' ? '/' : c;
}

/* "# <time> HTTP <status>: <err>\n", the error on one line, made safe and
 * cut to INFLUX_DL_ERR_MAX bytes. */
static size_t influx_dl_header(char *out, size_t cap, int64_t wall_ms, long status,
			       const char *err, size_t err_len)
{
	char when[CLOCK_RFC3339_LEN];
	char text[INFLUX_DL_ERR_MAX + 1];
	size_t n = influx_dl_utf8_cut(err, err_len, INFLUX_DL_ERR_MAX);
	int len;

	for (size_t i = 0; i < n; i++)
		text[i] = influx_dl_safe(err[i]);
	while (n > 0 && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	len = snprintf(out, cap, "# %s HTTP %ld: %s\n", clock_rfc3339(wall_ms, when, sizeof(when)),
		       status, n ? text : "(no body)");
	/* cannot be cut: cap leaves room for the longest time and status */
	return len > 0 && (size_t)len < cap ? (size_t)len : 0;
}

/* Renames a full file away and fsyncs the directory (STYLE: a rename is
 * durable only once its directory is). */
static int influx_dl_rotate(int dirfd)
{
	if (renameat(dirfd, INFLUX_DL_NAME, dirfd, INFLUX_DL_OLD_NAME) < 0)
		return -errno;
	return fsync(dirfd) < 0 ? -errno : 0;
}

/* Opens the file for an entry of add bytes, rotating it first when the
 * entry would take it past max_bytes; *size gets its length. */
static int influx_dl_open(const struct influx_dl *dl, int dirfd, size_t add, int *fd_out,
			  off_t *size)
{
	const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY;
	struct stat sb;
	int fd, rc;

	for (int round = 0; round < 2; round++) {
		fd = openat(dirfd, INFLUX_DL_NAME, flags, 0640);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &sb) < 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		if (sb.st_size == 0 || (uint64_t)sb.st_size + add <= dl->max_bytes) {
			/* a file just made: make its name durable too */
			if (sb.st_size == 0 && fsync(dirfd) < 0) {
				rc = -errno;
				close(fd);
				return rc;
			}
			*fd_out = fd;
			*size = sb.st_size;
			return 0;
		}
		close(fd);
		rc = influx_dl_rotate(dirfd);
		if (rc < 0)
			return rc;
	}
	return -EIO; /* the new file was not empty: someone else writes it */
}

static int influx_dl_write(int fd, const char *head, size_t hlen, const char *lines,
			   size_t len)
{
	struct iovec iov[2] = { { (void *)head, hlen }, { (void *)lines, len } };
	int i = 0;

	while (i < 2) {
		ssize_t n = writev(fd, iov + i, 2 - i);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		while (i < 2 && (size_t)n >= iov[i].iov_len)
			n -= (ssize_t)iov[i++].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

int influx_dl_append(struct influx_dl *dl, int64_t wall_ms, long status, const char *err,
		     size_t err_len, const char *lines, size_t len)
{
	char head[INFLUX_DL_HEAD_MAX];
	size_t hlen = influx_dl_header(head, sizeof(head), wall_ms, status, err, err_len);
	int dirfd, fd = -1, rc;
	off_t size = 0;

	if (hlen == 0 || len == 0 || lines[len - 1] != '\n')
		return -EINVAL;
	dirfd = open(dl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = influx_dl_open(dl, dirfd, hlen + len, &fd, &size);
	if (rc == 0) {
		rc = influx_dl_write(fd, head, hlen, lines, len);
		/* best effort: a torn entry would glue onto the next one */
		if (rc < 0 && ftruncate(fd, size) == 0)
			fdatasync(fd);
		close(fd);
	}
	close(dirfd);
	return rc;
}
