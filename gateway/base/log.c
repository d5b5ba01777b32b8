/* log.c - leveled logging and rate-limited complaints (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static int log_level = LOG_INFO; /* process-wide, set once by main */
/* stderr is the journal; -1: not decided yet. Atomic: the bus threads log
 * too, and the first line may come from any of them. */
static _Atomic int log_journal = -1;

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_set_journal(int journal)
{
	log_journal = journal < 0 ? -1 : journal > 0;
}

static const char *level_word(int level)
{
	switch (level) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

/* A decimal number up to the end or stop; true and *out when whole. */
static bool parse_u64(const char *s, const char *end, unsigned long long *out)
{
	char *stop;
	unsigned long long v;

	if (s == end || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &stop, 10);
	if (errno || stop != end)
		return false;
	*out = v;
	return true;
}

bool log_is_journal(const char *journal_stream, int fd)
{
	unsigned long long dev, ino;
	const char *colon;
	struct stat st;

	if (!journal_stream || !(colon = strchr(journal_stream, ':')))
		return false;
	if (!parse_u64(journal_stream, colon, &dev) ||
	    !parse_u64(colon + 1, colon + 1 + strlen(colon + 1), &ino))
		return false;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

char *log_format_time(int64_t wall_ms, char *buf, size_t cap)
{
	int64_t ms = wall_ms % 1000;
	time_t sec = (time_t)(wall_ms / 1000);
	struct tm tm;
	long off;
	int n;

	if (ms < 0) {
		ms += 1000;
		sec -= 1;
	}
	if (!cap)
		return buf;
	buf[0] = '\0';
	if (!localtime_r(&sec, &tm))
		return buf;
	off = tm.tm_gmtoff / 60; /* minutes east of UTC */
	n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%c%02ld:%02ld",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (int)ms, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	if (n < 0 || (size_t)n >= cap)
		buf[0] = '\0';
	return buf;
}

int log_format_line(char *buf, size_t cap, int level, bool journal, int64_t wall_ms,
		    const char *msg)
{
	char when[LOG_TIME_LEN];

	if (journal)
		return snprintf(buf, cap, "<%d>%s", level, msg);
	return snprintf(buf, cap, "%s outfalld: %s: %s",
			log_format_time(wall_ms, when, sizeof(when)), level_word(level), msg);
}

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	char msg[1024], line[1100];
	int n, journal;

	if (level > log_level)
		return;
	journal = log_journal;
	if (journal < 0) /* two threads may both decide: the same answer */
		log_journal = journal = log_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO);
	vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is acceptable here */
	n = log_format_line(line, sizeof(line) - 1, level, journal == 1, clock_wall_ms(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2; /* cut: the line still ends */
	line[n++] = '\n';
	/* one write per line, so lines from a crash or a child never interleave */
	fwrite(line, 1, (size_t)n, stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

#define COMPLAIN_FIRST_MS 10000
#define COMPLAIN_MAX_MS 3600000

void complain(struct complaint *c, int64_t now_ms, int level, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	c->count++;
	if (c->active && now_ms < c->next_ms)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->active && c->count > 1)
		log_msg(level, "%s (%llu times since last report)", msg,
			(unsigned long long)c->count);
	else
		log_msg(level, "%s", msg);
	c->interval_ms = c->active ? c->interval_ms * 2 : COMPLAIN_FIRST_MS;
	if (c->interval_ms > COMPLAIN_MAX_MS)
		c->interval_ms = COMPLAIN_MAX_MS;
	c->next_ms = now_ms + c->interval_ms;
	c->count = 0;
	c->active = true;
}

void complain_recovered(struct complaint *c, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	if (!c->active)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(LOG_NOTICE, "%s", msg);
	memset(c, 0, sizeof(*c));
}
