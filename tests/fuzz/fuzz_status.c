/*
 * fuzz_status.c - the status file, status.json in data_dir, as outfallctl
 * reads it back (gateway/daemon/status.c: status_read).
 *
 * The input is the file. Properties:
 *  - status_read gives 0 or -EBADMSG (or -ENOMEM) and leaves its output
 *    untouched on failure;
 *  - a snapshot it accepts has NUL-terminated strings, at most
 *    STATUS_MAX_* sensors, sinks and alerts, at most 16 values per sensor,
 *    qualities, parameters and alert enums in range;
 *  - written back with status_to_json and read again it is the same
 *    snapshot: the second JSON is byte for byte the first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/param.h"
#include "daemon/status.h"

#define INPUT_MAX (256u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

#define TERMINATED(f) (strnlen((f), sizeof(f)) < sizeof(f))

static void check_snapshot(const struct status_snapshot *s)
{
	FUZZ_CHECK(TERMINATED(s->gateway) && TERMINATED(s->version), "gateway or version");
	FUZZ_CHECK(s->n_sensors <= STATUS_MAX_SENSORS && s->n_sinks <= STATUS_MAX_SINKS &&
		   s->n_alerts <= STATUS_MAX_ALERTS && s->n_alerts <= s->max_alerts,
		   "%zu sensors %zu sinks %zu alerts", s->n_sensors, s->n_sinks, s->n_alerts);
	for (size_t i = 0; i < s->n_sensors; i++) {
		const struct status_sensor *x = &s->sensors[i];

		FUZZ_CHECK(TERMINATED(x->name) && TERMINATED(x->bus) && TERMINATED(x->device) &&
			   TERMINATED(x->maint_reason), "sensor %zu strings", i);
		FUZZ_CHECK(x->n_values <= CFG_MAX_CHANNELS, "sensor %zu: %u values", i, x->n_values);
		FUZZ_CHECK(x->maint_mode < MM_COUNT, "sensor %zu maintenance mode", i);
		for (int k = 0; k < x->n_values; k++)
			FUZZ_CHECK(x->values[k].quality < Q_COUNT && x->values[k].param < P_COUNT,
				   "sensor %zu value %d: q%u p%u", i, k, x->values[k].quality,
				   x->values[k].param);
	}
	for (size_t i = 0; i < s->n_sinks; i++)
		FUZZ_CHECK(TERMINATED(s->sinks[i].name) && TERMINATED(s->sinks[i].last_error),
			   "sink %zu strings", i);
	for (size_t i = 0; i < s->n_alerts; i++) {
		const struct rec_alert *a = &s->alerts[i];

		FUZZ_CHECK(TERMINATED(a->id) && TERMINATED(a->outlet) && TERMINATED(a->sensor) &&
			   TERMINATED(a->permit) && TERMINATED(a->holder), "alert %zu strings", i);
		FUZZ_CHECK(a->kind < AK_COUNT && a->state <= ALERT_CLEARED && a->param < P_COUNT &&
			   a->sensor_health < Q_COUNT, "alert %zu: kind %u state %u param %u", i,
			   a->kind, a->state, a->param);
	}
}

static void read_path(char *path, size_t cap, const char *name)
{
	snprintf(path, cap, "%s/%s", fuzz_dir(), name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct status_snapshot s, t, probe;
	char path[512];
	char *j1 = NULL, *j2 = NULL;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	FUZZ_CHECK(fuzz_write_file(STATUS_FILE, data, size), "write");
	read_path(path, sizeof(path), STATUS_FILE);
	memset(&s, 0, sizeof(s));
	memset(&probe, 0, sizeof(probe));
	rc = status_read(path, &s);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM, "rc %d", rc);
	if (rc != 0) {
		FUZZ_CHECK(memcmp(&s, &probe, sizeof(s)) == 0, "output changed on rc %d", rc);
		return 0;
	}
	check_snapshot(&s);
	FUZZ_CHECK(status_to_json(&s, &j1) == 0, "an accepted snapshot does not print");
	FUZZ_CHECK(fuzz_write_file("again.json", j1, strlen(j1)), "write");
	read_path(path, sizeof(path), "again.json");
	memset(&t, 0, sizeof(t));
	rc = status_read(path, &t);
	FUZZ_CHECK(rc == 0, "status_read of what status_to_json wrote: %d\n%s", rc, j1);
	FUZZ_CHECK(status_to_json(&t, &j2) == 0 && strcmp(j1, j2) == 0,
		   "read back it prints differently:\n%s\n%s", j1, j2 ? j2 : "");
	free(j1);
	free(j2);
	status_clear(&s);
	status_clear(&t);
	return 0;
}
