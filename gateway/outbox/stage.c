/*
 * stage.c - telemetry staged on a RAM disk between fdatasyncs (outbox.h,
 * "Staging"). ext4 writes an appended file's last page back every few
 * seconds (its journal commit flushes ordered data), so a write(2) per
 * record to a segment on the SD card costs a 4 KiB page every 5 s however
 * rarely the outbox syncs: ~3 MB an hour for one file at two polls a
 * second. With a staging directory on a tmpfs (run_dir, /run/outfall),
 * each telemetry append goes to a staging file there instead, which a
 * killed process cannot lose (it is kernel memory); every fsync_ms the
 * batch goes to the segment in one write and one fdatasync, and the
 * staging file is emptied. After a crash, open appends what the staging
 * file holds beyond the segment. A power cut loses the staging file with
 * the page cache: at most the last fsync_ms of telemetry, as before.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE_FILE "outbox-stage.log"

int obx_stage_write(struct obx_stream *st)
{
	while (st->sstaged < st->wlen) {
		ssize_t n = write(st->sfd, st->wbuf + st->sstaged, st->wlen - st->sstaged);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st->stats->io_errors++;
			return n == 0 ? -EIO : -errno;
		}
		st->sstaged += (size_t)n;
	}
	return 0;
}

void obx_stage_cut(struct obx_stream *st, size_t len)
{
	if (st->sfd < 0)
		return;
	if (ftruncate(st->sfd, (off_t)len) < 0)
		st->stats->io_errors++; /* recovery skips what the segment has */
	st->sstaged = len;
}

/* The staged frames above the stream's durable end go to the segment. */
static int recover(struct outbox *ob, struct obx_stream *st, const uint8_t *buf, size_t len)
{
	struct record *r = malloc(sizeof(*r));
	uint64_t n = 0;
	size_t off = 0;
	struct obx_frame fr;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	while (off < len && obx_frame_parse(buf + off, len - off, &fr) == 0) {
		size_t flen = OBX_HDR + fr.len;

		if (fr.seq >= ob->next_seq && fr.seq < OBX_SEQ_LIMIT &&
		    outbox_codec_decode(fr.payload, fr.len, r) == 0 &&
		    obx_enforce_cap(ob, OBX_TEL, flen) == 0 && st->wcap - st->wlen >= flen) {
			obx_stream_put(st, buf + off, flen, fr.seq, r->ts_ms, ob->now_ms);
			ob->next_seq = fr.seq + 1;
			n++;
		}
		off += flen;
	}
	free(r);
	if (n) {
		rc = obx_stream_sync(st);
		log_warn("outbox: %llu telemetry records recovered from the staging file (the "
			 "daemon stopped before it synced them)%s", (unsigned long long)n,
			 rc < 0 ? "; writing them failed, they are kept there" : "");
	}
	return rc;
}

int obx_stage_open(struct outbox *ob, const char *dir)
{
	struct obx_stream *st = &ob->st[OBX_TEL];
	uint8_t *buf = malloc(OBX_TEL_WBUF);
	struct stat sb;
	ssize_t got = 0;
	int dfd, fd, rc = 0;

	if (!buf)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dfd < 0 ? -1 : openat(dfd, STAGE_FILE, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0 || fstat(fd, &sb) < 0)
		rc = -errno;
	else if (!S_ISREG(sb.st_mode))
		rc = -EINVAL;
	if (rc == 0)
		got = pread(fd, buf, OBX_TEL_WBUF, 0);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0 || got < 0) {
		rc = rc < 0 ? rc : -errno;
		if (fd >= 0)
			close(fd);
		free(buf);
		return rc;
	}
	st->sfd = fd;
	st->sstaged = 0;
	rc = recover(ob, st, buf, (size_t)got);
	free(buf);
	if (rc == 0)
		obx_stage_cut(st, 0);
	return rc;
}
