/*
 * filestamp.h - has a file changed since we read it? A sink reads its
 * secret and certificate files once, when it is made; on a reload it is
 * kept only if none of them changed (edited in place, replaced by rename,
 * created or removed), so rotating a password or a certificate and sending
 * SIGHUP takes effect without keeping secrets in memory to compare.
 *
 * The stamp is stat(2)'s device, inode, size and modification time in ns:
 * enough for files written by people and package scripts. Does not log.
 * Blocking: one stat of a local file.
 */
#ifndef OUTFALL_FILESTAMP_H
#define OUTFALL_FILESTAMP_H

#include <stdbool.h>
#include <stdint.h>

struct filestamp {
	bool exists;        /* stat succeeded */
	uint64_t dev, ino;
	int64_t size;
	int64_t mtime_ns;
};

/* Stamps path now; NULL or "" stamps "no file" (exists false). */
void filestamp_take(struct filestamp *fs, const char *path);
/* True when path's stamp now differs from fs. */
bool filestamp_changed(const struct filestamp *fs, const char *path);

#endif
