/*
 * secret.c - reading a password or token file (see secret.h): one bounded
 * read of the whole file, trailing newlines removed, nothing left in memory
 * on failure.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void secret_wipe(char *buf, size_t cap)
{
	if (buf)
		explicit_bzero(buf, cap);
}

/* Reads up to cap bytes; *len gets how many. 0 or -errno. */
static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

/* A secret lives in a regular file; anything else is refused (-EINVAL). */
static int regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

/* 0 at the end of the file, -EFBIG if a byte follows, -errno. */
static int at_end(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? -EFBIG : 0;
}

/* The secret and its newline may fill buf exactly: the newline goes, the
 * NUL takes its place. */
int secret_read(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int rc, fd;

	if (!path || !buf || cap < 2)
		return -EINVAL;
	/* O_NONBLOCK: a FIFO in the way must not hang the daemon's start */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	rc = regular(fd);
	if (!rc)
		rc = read_all(fd, buf, cap, &len);
	if (!rc && len == cap)
		rc = at_end(fd);
	close(fd);
	while (!rc && len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (!rc && len == cap)
		rc = -EFBIG;
	if (!rc && (len == 0 || memchr(buf, '\0', len)))
		rc = -EINVAL;
	if (rc) {
		secret_wipe(buf, cap);
		return rc;
	}
	buf[len] = '\0';
	return 0;
}

const char *secret_strerror(int rc)
{
	if (rc == -EFBIG)
		return "too large for a secret";
	if (rc == -EINVAL)
		return "empty, or holds a NUL byte";
	return strerror(rc < 0 ? -rc : rc);
}
