/*
 * alertstate.h - what the compliance engine keeps across a restart, and its
 * file in data_dir (DESIGN §5 "persisted in data_dir so a restart neither
 * forgets an open alert nor raises it twice").
 *
 * The state is plain data the engine exports and restores
 * (compliance_export, compliance_restore): the open alerts with their
 * evidence, the hour and day accumulators still open (so a restart does not
 * cut a daily mean or the day's volume short), and the last reading of each
 * volume counter (so the volume counted while the daemon was down is not
 * lost). Everything is matched back by a text key, never by index, so a
 * changed config picks up what still applies.
 *
 * File "alerts.state", little-endian binary:
 *   "OFSTATE2"                          magic and format version
 *   u32 n_alerts, u32 n_accs, u32 n_counters
 *   n_alerts x alert, n_accs x acc, n_counters x counter
 *   u32 CRC-32 (zlib) of every byte before it
 * Strings are u16 length + bytes (no NUL); doubles IEEE 754 as u64. An
 * alert is key, id, state u8, kind u8, param u8, basis u8, sensor_health u8,
 * window_min i32, outlet, sensor, permit, holder, limit, value, peak,
 * since_ms i64, until_ms i64, reminded_day i64, value_flags u8, reason u8,
 * unhealthy u8, cause u8, n_params u8, n_params x param u8, polls_missed
 * i32, last_answer_ms i64, gap_s i32, coverage_pct, days_left i32, note. An
 * acc is key, start_ms, end_ms, n u32, sum, min, max, wsum, wvsum, cou,
 * covered_ms i64. A counter is key, last, wall_ms i64. A version 1 file
 * ("OFSTATE1": alerts end at reminded_day, counters at last) is read too,
 * so an upgrade keeps its open alerts; saving always writes version 2.
 *
 * Saving writes "alerts.state.tmp", fsyncs it, renames it over the file
 * and fsyncs the directory: after a crash at any point the old state or the
 * new one is there, never a torn one. This module only reports errors; the
 * daemon logs them.
 */
#ifndef OUTFALL_ALERTSTATE_H
#define OUTFALL_ALERTSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "period.h"
#include "base/record.h"

#define ALERTSTATE_FILE "alerts.state"
#define ALERTSTATE_KEY 224              /* bytes of a key incl. NUL */
#define ALERTSTATE_MAX_BYTES (16u << 20) /* a larger file is not ours */

struct alertstate_alert {
	char key[ALERTSTATE_KEY]; /* the rule's identity (see compliance.h) */
	struct rec_alert ev;      /* the raised event as published: id, evidence */
	int64_t reminded_day;     /* permit_expiring: local day of the last
				   * daily reminder (days since 1970), else 0 */
};

struct alertstate_acc {
	char key[ALERTSTATE_KEY]; /* "<outlet>|<param>|hour" and the like */
	int64_t start_ms, end_ms; /* the open period it belongs to */
	struct acc acc;
};

struct alertstate_counter {
	char key[ALERTSTATE_KEY]; /* "<sensor>|<param>" */
	double last;
	int64_t wall_ms;          /* when last was read, 0 unknown: the next
				   * step is judged over the time since */
};

/* Arrays owned by the struct (alertstate_clear frees them). */
struct alertstate {
	struct alertstate_alert *alerts;
	size_t n_alerts;
	struct alertstate_acc *accs;
	size_t n_accs;
	struct alertstate_counter *counters;
	size_t n_counters;
};

/* Frees the arrays and zeroes st; a zeroed st is a no-op. */
void alertstate_clear(struct alertstate *st);

/* The file's bytes: 0 and a malloc'd *buf (caller frees) of *len bytes,
 * or -ENOMEM / -EINVAL (a string longer than its field). */
int alertstate_encode(const struct alertstate *st, uint8_t **buf, size_t *len);
/* Parses the file's bytes into st (which must be zeroed): 0, -EBADMSG when
 * the bytes are not a complete, intact state file (st stays empty), or
 * -ENOMEM. */
int alertstate_decode(const uint8_t *buf, size_t len, struct alertstate *st);

/* System calls saving goes through, so tests can make them fail. */
struct alertstate_sys {
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
	int (*renameat)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
};

/* Writes st to dir/alerts.state durably: 0 or -errno (the old file is left
 * as it was). sys NULL means the real system calls. */
int alertstate_save(const char *dir, const struct alertstate *st,
		    const struct alertstate_sys *sys);

/* Reads dir/alerts.state into st (which must be zeroed): 0; -ENOENT when
 * there is none (a first start); -EBADMSG when it is corrupt, truncated or
 * of another version (log it and start empty); another -errno when it
 * cannot be read. st stays empty on every failure. */
int alertstate_load(const char *dir, struct alertstate *st);

#endif
