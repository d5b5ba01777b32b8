/*
 * reserve.c - room kept on the disk for alerts (DESIGN §7: every loss
 * becomes a data_gap, which must itself be stored). The outbox keeps a
 * preallocated file `reserve` of reserve_bytes beside its segments. When
 * the disk is full and an alert cannot be stored, the reserve is deleted,
 * which frees its blocks for the alert (and the alerts after it, about a
 * hundred in 64 KiB). Telemetry is then refused and counted - it must not
 * eat the room given to alerts - until the reserve can be made again,
 * tried once a second: room on the disk again. A reserve that could not
 * be made at open is tried once a minute.
 * fallocate() takes the blocks without writing them, so the reserve costs
 * the SD card nothing.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESERVE_FILE "reserve"
#define RESERVE_RETRY_MS 60000
#define RESERVE_GATE_MS 1000 /* telemetry waits for room at most this long */

/* Takes the blocks: fallocate, or zeros where the filesystem lacks it. */
static int fill(int fd, off_t bytes)
{
	static const char zeros[4096];

	if (fallocate(fd, 0, 0, bytes) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	for (off_t off = 0; off < bytes; off += (off_t)sizeof(zeros))
		if (pwrite(fd, zeros, sizeof(zeros), off) != (ssize_t)sizeof(zeros))
			return errno ? -errno : -EIO;
	return 0;
}

int obx_reserve_make(struct outbox *ob, int64_t now_mono_ms)
{
	struct stat sb;
	int fd, rc = 0;

	if (ob->reserve_bytes == 0 || ob->reserve_held)
		return 0;
	ob->reserve_retry_ms = now_mono_ms + RESERVE_RETRY_MS;
	fd = openat(ob->dirfd, RESERVE_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		rc = -errno;
	else if ((uint64_t)sb.st_blocks * 512 < ob->reserve_bytes)
		rc = fill(fd, (off_t)ob->reserve_bytes);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && fsync(ob->dirfd) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(ob->dirfd, RESERVE_FILE, 0);
		return rc;
	}
	ob->reserve_held = true;
	return 0;
}

bool obx_reserve_release(struct outbox *ob)
{
	if (!ob->reserve_held)
		return false;
	ob->reserve_held = false;
	ob->reserve_given = true;
	ob->reserve_retry_ms = ob->now_ms + RESERVE_GATE_MS;
	if (unlinkat(ob->dirfd, RESERVE_FILE, 0) < 0 && errno != ENOENT) {
		ob->stats.io_errors++;
		return false;
	}
	fsync(ob->dirfd);
	ob->stats.reserve_released++;
	log_warn("outbox: the disk is full: the %llu KiB kept for alerts is released so that "
		 "alerts are still stored; telemetry is refused (and counted) until there is room",
		 (unsigned long long)(ob->reserve_bytes >> 10));
	return true;
}

int obx_reserve_gate(struct outbox *ob, int64_t now_mono_ms)
{
	if (ob->reserve_bytes == 0 || ob->reserve_held)
		return 0;
	if (!ob->reserve_given || now_mono_ms < ob->reserve_retry_ms)
		return ob->reserve_given ? -ENOSPC : 0;
	if (obx_reserve_make(ob, now_mono_ms) < 0) {
		ob->reserve_retry_ms = now_mono_ms + RESERVE_GATE_MS;
		return -ENOSPC;
	}
	ob->reserve_given = false;
	log_info("outbox: room on the disk again: %llu KiB kept for alerts, telemetry stored "
		 "again", (unsigned long long)(ob->reserve_bytes >> 10));
	return 0;
}

void obx_reserve_tick(struct outbox *ob, int64_t now_mono_ms)
{
	if (ob->reserve_bytes == 0 || ob->reserve_held || ob->reserve_given ||
	    now_mono_ms < ob->reserve_retry_ms)
		return;
	if (obx_reserve_make(ob, now_mono_ms) == 0)
		log_info("outbox: %llu KiB kept for alerts again",
			 (unsigned long long)(ob->reserve_bytes >> 10));
}
