/*
 * bench.c - in-process cost of the per-reading pipeline: decode ->
 * compliance -> encode (MQTT JSON and line protocol) -> durable outbox
 * append (write(2) per record, fdatasync batched every second as in the
 * daemon), over a large synthetic batch, on the example config. Prints ns
 * per reading and the process's memory (RSS, private dirty). Figures, never
 * assertions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "compliance/compliance.h"
#include "config/config.h"
#include "drivers/driver.h"
#include "encode/encode.h"
#include "outbox/outbox.h"

#define POLLS 1000000

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Prints the kB value of key from a /proc file. */
static long proc_kb(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long kb = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0) {
			kb = strtol(line + klen, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Big-endian float32 words, as a probe sends them (abcd). */
static void put_f32(uint16_t *w, float f)
{
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	w[0] = (uint16_t)(b >> 16);
	w[1] = (uint16_t)b;
}

int main(int argc, char **argv)
{
	/* the example config, its CHANGE-ME placeholders filled in (bench.sh) */
	const char *path = argv[1];
	struct config *cfg = NULL;
	static char json[4096], lp_data[1 << 16];
	struct lp_buf lp = { .data = lp_data, .cap = sizeof(lp_data) };
	struct rec_alert alerts[8];
	uint16_t words[16];
	size_t readings = 0, bytes = 0;
	int alert_events = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bench CONFIG (config/outfall.conf.example with its "
			"placeholders filled in, beside permits.conf; scripts/bench.sh does that)\n");
		return 64;
	}
	if (config_load(path, &cfg, stderr) != 0)
		return 1;
	int s = config_find_sensor(cfg, "probe1");
	const struct cfg_sensor *sen = &cfg->sensors[s];
	struct compliance *comp = compliance_new(cfg);
	char dir[] = "/tmp/outfall-bench.XXXXXX";
	struct outbox_opts o;
	struct outbox *ob = NULL;
	struct record r = { .type = REC_POLL };

	outbox_opts_default(&o);
	o.max_backlog_bytes = (size_t)1 << 30;
	if (!mkdtemp(dir) || outbox_open(dir, &o, 1, clock_mono_ms(), &ob) < 0)
		return 1;

	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "%s", sen->name);
	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "%s", cfg->outlets[sen->outlet].id);
	double t0 = cpu_s();
	for (int i = 0; i < POLLS; i++) {
		/* cod swings across its 500 mg/L limit every 1000 polls */
		put_f32(&words[0], (i / 1000) % 2 ? 620.0f : 230.0f + (float)(i % 7));
		put_f32(&words[2], 7.2f);
		put_f32(&words[4], 25.0f);
		put_f32(&words[6], 3.1f);
		put_f32(&words[8], 20.5f);
		r.ts_ms = 1764403200000 + (int64_t)i * 1000;
		r.u.poll.n = (uint8_t)sen->n_channels;
		for (size_t c = 0; c < sen->n_channels; c++)
			r.u.poll.values[c] = decode_channel(&sen->channels[c],
							    &words[sen->channels[c].reg]);
		readings += sen->n_channels;
		alert_events += compliance_eval(comp, s, &r, alerts, 8);
		int n = payload_telemetry(json, sizeof(json), &r);
		bytes += n > 0 ? (size_t)n : 0;
		if (lp_append_record(&lp, cfg->id, &r) == -ENOSPC) {
			lp.len = 0;
			lp_append_record(&lp, cfg->id, &r);
		}
		outbox_append(ob, &r, clock_mono_ms(), NULL);
		if (i % 1024 == 0)
			outbox_tick(ob, clock_mono_ms()); /* the loop's batched fdatasync */
	}
	double dt = cpu_s() - t0;
	printf("pipeline: %d polls, %zu readings, %d alert events, %.1f MB of JSON\n", POLLS,
	       readings, alert_events, bytes / 1e6);
	printf("pipeline: %.0f ns CPU per reading (%.0f ns per poll of %zu channels)\n",
	       dt * 1e9 / (double)readings, dt * 1e9 / POLLS, sen->n_channels);
	printf("pipeline memory: RSS %ld kB, peak RSS %ld kB, private dirty %ld kB\n",
	       proc_kb("/proc/self/smaps_rollup", "Rss:"), proc_kb("/proc/self/status", "VmHWM:"),
	       proc_kb("/proc/self/smaps_rollup", "Private_Dirty:"));
	outbox_close(ob);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	compliance_free(comp);
	config_free(cfg);
	return 0;
}
