/* log.c - leveled logging and rate-limited complaints (see log.h). */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_level = LOG_INFO; /* process-wide, set once by main */

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
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

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[1024];

	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap); /* truncation is acceptable here */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "outfalld: %s: %s\n", level_word(level), line);
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
