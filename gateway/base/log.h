/*
 * log.h - leveled logging to stderr, for the journal or for a person.
 *
 * When stderr is the journal each line carries the syslog priority prefix
 * "<N>" that journald parses, and no time (the journal stamps it). stderr
 * is the journal when $JOURNAL_STREAM ("<device>:<inode>", set by systemd)
 * names the file stderr is - not merely when the variable is set, since a
 * child or a redirected stderr inherits it. Otherwise (a terminal, a file,
 * a pipe) each line starts with the local time to the millisecond and its
 * UTC offset, then the program and a level word:
 *   2026-12-02T18:45:12.345+08:00 outfalld: warning: ...
 * The local time follows TZ, which the daemon sets to gateway.timezone.
 *
 * struct complaint rate-limits a repeating error: logged the first time,
 * then with a doubling interval, and one line when it recovers.
 */
#ifndef OUTFALL_LOG_H
#define OUTFALL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERR = 3, LOG_WARNING = 4, LOG_NOTICE = 5, LOG_INFO = 6, LOG_DEBUG = 7 };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* ---- the pieces, pure, for tests ---------------------------------------- */

/* True when journal_stream (the value of $JOURNAL_STREAM, "<dev>:<inode>"
 * in decimal) names the file open on fd, by fstat(2). NULL, malformed, a
 * closed fd or another file: false. */
bool log_is_journal(const char *journal_stream, int fd);

/* wall_ms as local time "2026-12-02T18:45:12.345+08:00" (ms and the UTC
 * offset; "Z" is never used, the offset is always written). buf must hold
 * LOG_TIME_LEN bytes; returns buf, "" when the time cannot be converted. */
#define LOG_TIME_LEN 40
char *log_format_time(int64_t wall_ms, char *buf, size_t cap);

/* One line as log_msg writes it, without the newline: "<level>msg" for the
 * journal, else "<time> outfalld: <level word>: msg". Returns the length
 * snprintf reports (>= cap: cut). */
int log_format_line(char *buf, size_t cap, int level, bool journal, int64_t wall_ms,
		    const char *msg);

/* Whether stderr is the journal: 1 yes, 0 no, -1 (the default) decide at
 * the next line from $JOURNAL_STREAM and stderr, once. */
void log_set_journal(int journal);

/* State of one repeating condition; zero-initialise. */
struct complaint {
	int64_t next_ms;     /* monotonic ms before which we stay quiet */
	int64_t interval_ms; /* current quiet interval, doubles up to 1 h */
	uint64_t count;      /* occurrences since the last logged line */
	bool active;
};

/* Logs (level) when due; the message gets " (N times since last report)". */
void complain(struct complaint *c, int64_t now_ms, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Logs one notice line if c was active, then resets it. */
void complain_recovered(struct complaint *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
