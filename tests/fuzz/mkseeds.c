/*
 * mkseeds.c - writes the seed inputs of the binary and generated formats
 * into tests/fuzz/corpus/ with the project's own writers: outbox records
 * of every type (fuzz_codec), an alert state file exported by the
 * compliance engine with open alerts (fuzz_alertstate) and a status.json
 * (fuzz_status), all from the small config in tests/fuzz/data/.
 * `make fuzz-seeds` builds and runs it from the source tree; its output is
 * committed, so this runs only when the formats change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/param.h"
#include "compliance/alertstate.h"
#include "compliance/compliance.h"
#include "config/config.h"
#include "daemon/status.h"
#include "outbox/codec.h"

#define CORPUS "tests/fuzz/corpus/"

static void put(const char *path, const void *a, size_t an, const void *b, size_t bn)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(a, 1, an, f) != an || (bn && fwrite(b, 1, bn, f) != bn) || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static struct record poll_rec(double cod, double ph)
{
	struct record r = { .ts_ms = 1767225600000LL, .type = REC_POLL };

	snprintf(r.u.poll.outlet, sizeof(r.u.poll.outlet), "WS-001");
	snprintf(r.u.poll.sensor, sizeof(r.u.poll.sensor), "probe1");
	r.u.poll.n = 2;
	r.u.poll.values[0] = (struct rec_value){ .v = cod, .param = P_COD, .flags = RV_F32 };
	r.u.poll.values[1] = (struct rec_value){ .v = ph, .param = P_PH };
	return r;
}

static void codec_seeds(const struct record *alerts, int n_alerts)
{
	static const uint8_t dec = 0, enc = 1;
	struct record recs[9];
	uint8_t buf[OUTBOX_CODEC_MAX];
	char path[256];
	int n = 0, len;

	recs[n++] = poll_rec(212.5, 7.31);
	recs[n] = (struct record){ .ts_ms = 1767225600000LL, .type = REC_METRICS };
	recs[n].u.metrics = (struct rec_metrics){ .polls = 1234, .errors = 5, .n_sinks = 2 };
	snprintf(recs[n].u.metrics.sinks[0].name, REC_SINK_NAME, "mqtt");
	snprintf(recs[n++].u.metrics.sinks[1].name, REC_SINK_NAME, "influx");
	recs[n] = (struct record){ .ts_ms = 1767225600000LL, .type = REC_AGGREGATE };
	snprintf(recs[n].u.aggregate.outlet, REC_NAME, "WS-001");
	recs[n].u.aggregate.end_ms = 1767229200000LL;
	recs[n].u.aggregate.n = 1;
	recs[n++].u.aggregate.params[0] = (struct rec_agg_param){ .param = P_COD, .count = 360,
		.avg = 212.5, .min = 180.0, .max = 260.25, .cou = 1.5 };
	recs[n] = (struct record){ .ts_ms = 1767225600000LL, .type = REC_MAINT,
				   .flags = REC_F_CLOCK_UNSYNCED };
	snprintf(recs[n].u.maint.sensor, REC_NAME, "probe1");
	snprintf(recs[n++].u.maint.note, REC_NOTE, "probe cleaning");
	for (int i = 0; i < n_alerts && n < 8; i++)
		recs[n++] = alerts[i];
	recs[n] = (struct record){ .ts_ms = 1767225600000LL, .type = REC_RELOAD };
	recs[n].u.reload.changes = 2;
	snprintf(recs[n++].u.reload.summary, REC_SUMMARY, "sensor probe1: interval 10 -> 5 s; "
		 "permit 浙丽排字第2023-0042号: cod instant max 500 -> 400 mg/L");
	for (int i = 0; i < n; i++) {
		len = outbox_codec_encode(&recs[i], buf, sizeof(buf));
		if (len <= 0)
			exit(1);
		snprintf(path, sizeof(path), CORPUS "fuzz_codec/decode-type%u-%d", recs[i].type, i);
		put(path, &dec, 1, buf, (size_t)len);
		snprintf(path, sizeof(path), CORPUS "fuzz_codec/encode-type%u-%d", recs[i].type, i);
		put(path, &enc, 1, &recs[i], sizeof(recs[i]));
	}
}

int main(void)
{
	static struct record out[512];
	struct compliance_out co = { .recs = out, .max = 512 };
	struct config *cfg;
	struct compliance *c;
	struct alertstate st = { 0 };
	struct status_snapshot ss = { 0 };
	struct record r, alerts[4];
	struct rec_alert ev[64];
	int64_t t = 1767225600000LL;
	int n_alerts = 0, ne;
	uint8_t *bytes;
	size_t len;
	char *json;
	static const uint8_t crc_as_is = 0;

	if (config_load("tests/fuzz/data/outfall.conf", &cfg, stderr) != 0)
		return 1;
	c = compliance_new(cfg);
	compliance_tick(c, t, 0, true, &co);
	for (int i = 0; i < 120; i++) {
		r = poll_rec(900.0, i < 100 ? 12.0 : 7.0);
		r.ts_ms = t + i * 10000LL;
		ne = compliance_eval(c, 0, &r, ev, 64);
		for (int k = 0; k < ne && n_alerts < 4; k++) {
			alerts[n_alerts] = (struct record){ .ts_ms = r.ts_ms, .type = REC_ALERT };
			alerts[n_alerts++].u.alert = ev[k];
		}
	}
	if (compliance_export(c, &st) || alertstate_encode(&st, &bytes, &len))
		return 1;
	put(CORPUS "fuzz_alertstate/engine-export", &crc_as_is, 1, bytes, len);
	free(bytes);
	alertstate_clear(&st);

	if (status_init(&ss, cfg, 2, 16))
		return 1;
	snprintf(ss.sinks[0].name, STATUS_NAME, "mqtt");
	snprintf(ss.sinks[1].name, STATUS_NAME, "influx");
	snprintf(ss.sinks[1].last_error, STATUS_ERROR, "HTTP 503 from the server");
	ss.now_wall_ms = ss.started_wall_ms = t;
	r = poll_rec(212.5, 7.31);
	status_note_poll(&ss, 0, &r);
	for (int i = 0; i < n_alerts && ss.n_alerts < ss.max_alerts; i++)
		ss.alerts[ss.n_alerts++] = alerts[i].u.alert;
	if (status_to_json(&ss, &json))
		return 1;
	put(CORPUS "fuzz_status/snapshot", json, strlen(json), NULL, 0);
	free(json);
	status_clear(&ss);

	codec_seeds(alerts, n_alerts);
	compliance_free(c);
	config_free(cfg);
	printf("mkseeds: %d alerts raised; seeds written\n", n_alerts);
	return 0;
}
