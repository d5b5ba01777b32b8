/*
 * buslock.h - one owner per serial bus, across processes.
 *
 * A bus is claimed with an exclusive flock() on its device, which the
 * kernel drops when the process dies (even by kill -9), plus TIOCEXCL as a
 * second fence where it is safe: not on ptys, which keep TIOCEXCL after
 * their holder dies while the other end lives. The daemon's drivers and
 * outfallctl use the same calls, so neither ever reads a bus behind the
 * other's back. Nothing here blocks.
 */
#ifndef OUTFALL_BUSLOCK_H
#define OUTFALL_BUSLOCK_H

/* Is another process holding device? Asked before a library opens and
 * reprograms the line (modbus_connect does tcsetattr at once). 0 when it
 * is free or cannot be opened (the real open says why), else -EBUSY. */
int buslock_probe(const char *device);

/* Claims the open fd for this process: 0, or -EBUSY when another process
 * got it first, or another -errno. */
int buslock_claim(int fd);

/* Drops TIOCEXCL before close (the flock goes with the fd). */
void buslock_release(int fd);

#endif
