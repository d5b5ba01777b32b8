/* buslock.c - exclusive ownership of a serial device (see buslock.h). */
#include "buslock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/major.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

int buslock_probe(const char *device)
{
	int fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return errno == EBUSY ? -EBUSY : 0; /* TIOCEXCL, we are unprivileged */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		rc = -EBUSY;
	close(fd);
	return rc;
}

static bool is_pty(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) &&
	       major(sb.st_rdev) >= UNIX98_PTY_SLAVE_MAJOR &&
	       major(sb.st_rdev) < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT;
}

int buslock_claim(int fd)
{
	if (fd < 0)
		return -EBADF;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (!is_pty(fd))
		(void)ioctl(fd, TIOCEXCL); /* best effort: the flock is the lock */
	return 0;
}

void buslock_release(int fd)
{
	if (fd >= 0 && !is_pty(fd))
		(void)ioctl(fd, TIOCNXCL);
}
