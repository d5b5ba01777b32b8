/*
 * maintstate.h - the sensors' maintenance modes across a restart, and their
 * file in data_dir (DESIGN §5: maintenance is never open-ended, so a
 * restart must neither end a mode early nor make it last for ever).
 *
 * The state is plain data the engine exports and restores
 * (compliance_maint_export, compliance_maint_restore): per sensor, by name,
 * the mode that lasts with its start, planned end and reason, and the
 * local day's count of starts and time in maintenance (so a restart does
 * not reset the maintenance_overuse judgment).
 *
 * File "maintenance.state", little-endian binary:
 *   "OFMAINT1"                       magic and format version
 *   saved_ms i64                     wall ms of the save
 *   u32 n                            entries
 *   n x entry: sensor, active u8, mode u8, since_ms i64, planned_end_ms i64,
 *              note, day i64 (local day, days since 1970), starts u32,
 *              day_ms i64 (time in maintenance that day up to saved_ms)
 *   u32 CRC-32 (zlib) of every byte before it
 * Strings are u16 length + bytes (no NUL).
 *
 * Saving writes "maintenance.state.tmp", fsyncs it, renames it over the
 * file and fsyncs the directory. This module only reports errors; the
 * daemon logs them.
 */
#ifndef OUTFALL_MAINTSTATE_H
#define OUTFALL_MAINTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/record.h"

#define MAINTSTATE_FILE "maintenance.state"
#define MAINTSTATE_MAX 4096 /* entries a file may hold: more is not ours */

struct maintstate_entry {
	char sensor[REC_NAME];
	bool active;            /* a mode lasts */
	uint8_t mode;           /* enum maint_mode */
	int64_t since_ms;       /* wall ms it began */
	int64_t planned_end_ms; /* wall ms it ends by itself */
	char note[REC_NOTE];    /* the operator's reason */
	int64_t day;            /* local day of starts and day_ms */
	uint32_t starts;        /* fresh starts that day */
	int64_t day_ms;         /* time in maintenance that day, to saved_ms */
};

/* The array is owned by the struct (maintstate_clear frees it). */
struct maintstate {
	int64_t saved_ms;
	struct maintstate_entry *e;
	size_t n;
};

void maintstate_clear(struct maintstate *st); /* a zeroed st is a no-op */

/* The file's bytes: 0 and a malloc'd *buf (caller frees), or -ENOMEM,
 * -EINVAL (more than MAINTSTATE_MAX entries). */
int maintstate_encode(const struct maintstate *st, uint8_t **buf, size_t *len);
/* Parses them into st (zeroed): 0, -EBADMSG (st stays empty), -ENOMEM. */
int maintstate_decode(const uint8_t *buf, size_t len, struct maintstate *st);

/* Writes st to dir/maintenance.state durably: 0 or -errno (the old file is
 * left as it was). */
int maintstate_save(const char *dir, const struct maintstate *st);
/* Reads dir/maintenance.state into st (zeroed): 0; -ENOENT when there is
 * none; -EBADMSG when it is corrupt; another -errno. st stays empty on
 * failure. */
int maintstate_load(const char *dir, struct maintstate *st);

#endif
