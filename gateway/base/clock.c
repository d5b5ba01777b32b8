/* clock.c - monotonic and wall clocks in ms, RFC 3339 formatting, and
 * whether the kernel says the wall clock is synchronised. */
#include "clock.h"

#include <stdio.h>
#include <sys/timex.h>
#include <time.h>

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *clock_rfc3339(int64_t wall_ms, char *buf, size_t len)
{
	int64_t ms = wall_ms % 1000;
	time_t sec = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		sec -= 1;
	}
	if (!gmtime_r(&sec, &tm) ||
	    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (int)ms) >= (int)len) {
		if (len)
			buf[0] = '\0';
	}
	return buf;
}

bool clock_kernel_synced(void)
{
	struct timex tx = { 0 }; /* modes 0: only reads */
	int state = adjtimex(&tx);

	return state >= 0 && state != TIME_ERROR;
}
