/*
 * log.h - leveled logging to stderr, for the journal.
 *
 * When stderr is the journal (JOURNAL_STREAM set) each line carries the
 * syslog priority prefix "<N>" that journald parses; otherwise a short level
 * word. struct complaint rate-limits a repeating error: logged the first
 * time, then with a doubling interval, and one line when it recovers.
 */
#ifndef OUTFALL_LOG_H
#define OUTFALL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
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
