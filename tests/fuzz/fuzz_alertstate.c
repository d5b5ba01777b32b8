/*
 * fuzz_alertstate.c - the alert state file, alerts.state in data_dir
 * (gateway/compliance/alertstate.c), and what the engine makes of it.
 *
 * When the first byte is odd the harness puts a correct CRC-32 at the end
 * of the rest, so that the fuzzer gets past the checksum to the fields.
 * Properties:
 *  - decode gives 0 or -EBADMSG; on failure the state stays empty;
 *    loading the same bytes from a file agrees with decode;
 *  - a decoded state has NUL-terminated strings and at most 16 params per
 *    alert; it encodes, and that encoding decodes and encodes to the same
 *    bytes (a version 2 file is never re-encoded longer);
 *  - the compliance engine of a small config (tests/fuzz/data/) takes any
 *    decoded state back (compliance_restore 0), ticks with it, and exports
 *    a state that encodes and decodes again; restoring that export into a
 *    fresh engine exports the same bytes (restore is idempotent).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "compliance/alertstate.h"
#include "compliance/compliance.h"
#include "config/config.h"

#define INPUT_MAX (64u << 10)

static struct config *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_DATA");
	char path[512];
	FILE *devnull = fopen("/dev/null", "w");
	int rc;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	snprintf(path, sizeof(path), "%s/outfall.conf", dir ? dir : "tests/fuzz/data");
	rc = config_load(path, &cfg, devnull);
	fclose(devnull);
	if (rc != 0) {
		fprintf(stderr, "fuzz_alertstate: cannot load %s (run from the source tree, "
			"or set FUZZ_DATA)\n", path);
		exit(1);
	}
	return 0;
}

static void check_strings(const struct alertstate *st)
{
	for (size_t i = 0; i < st->n_alerts; i++) {
		const struct alertstate_alert *a = &st->alerts[i];

		FUZZ_CHECK(strnlen(a->key, sizeof(a->key)) < sizeof(a->key) &&
			   strnlen(a->ev.id, sizeof(a->ev.id)) < sizeof(a->ev.id) &&
			   strnlen(a->ev.outlet, sizeof(a->ev.outlet)) < sizeof(a->ev.outlet) &&
			   strnlen(a->ev.note, sizeof(a->ev.note)) < sizeof(a->ev.note),
			   "alert %zu: a string fills its field", i);
		FUZZ_CHECK(a->ev.n_params <= REC_MAX_VALUES, "alert %zu: %u params", i,
			   a->ev.n_params);
	}
	for (size_t i = 0; i < st->n_accs; i++)
		FUZZ_CHECK(strnlen(st->accs[i].key, ALERTSTATE_KEY) < ALERTSTATE_KEY, "acc %zu", i);
	for (size_t i = 0; i < st->n_counters; i++)
		FUZZ_CHECK(strnlen(st->counters[i].key, ALERTSTATE_KEY) < ALERTSTATE_KEY,
			   "counter %zu", i);
}

/* Encodes st; the bytes must decode and encode to themselves. */
static void encode_stable(const struct alertstate *st, uint8_t **out, size_t *out_len)
{
	struct alertstate back = { 0 };
	uint8_t *e2 = NULL;
	size_t l2 = 0;
	int rc = alertstate_encode(st, out, out_len);

	FUZZ_CHECK(rc == 0, "a decoded state does not encode: %d", rc);
	rc = alertstate_decode(*out, *out_len, &back);
	FUZZ_CHECK(rc == 0, "an encoded state does not decode: %d", rc);
	FUZZ_CHECK(alertstate_encode(&back, &e2, &l2) == 0 && l2 == *out_len &&
		   memcmp(e2, *out, l2) == 0, "encode, decode, encode changed the bytes");
	free(e2);
	alertstate_clear(&back);
}

/* The engine restores st, ticks, exports: the export's bytes. */
static void engine_round(const struct alertstate *st, uint8_t **out, size_t *len)
{
	struct compliance *c = compliance_new(cfg);
	struct alertstate ex = { 0 };
	static struct record recs[512];
	struct compliance_out co = { .recs = recs, .max = 512 };
	int64_t wall = 1767225600000LL; /* 2026-01-01 */

	FUZZ_CHECK(c, "compliance_new");
	FUZZ_CHECK(compliance_restore(c, st, wall) == 0, "restore");
	FUZZ_CHECK(compliance_max_events(c) <= 512, "max events %d", compliance_max_events(c));
	compliance_tick(c, wall, 1000, true, &co);
	FUZZ_CHECK(co.dropped == 0, "%d records dropped by the tick", co.dropped);
	FUZZ_CHECK(compliance_export(c, &ex) == 0, "export");
	check_strings(&ex);
	encode_stable(&ex, out, len);
	alertstate_clear(&ex);
	compliance_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[INPUT_MAX];
	struct alertstate st = { 0 }, loaded = { 0 }, again = { 0 };
	uint8_t *e1 = NULL, *x1 = NULL, *x2 = NULL;
	size_t n, l1 = 0, xl1 = 0, xl2 = 0;
	int rc, rc2;

	if (size == 0 || size - 1 > INPUT_MAX)
		return 0;
	n = size - 1;
	memcpy(buf, data + 1, n);
	if ((data[0] & 1) && n >= 4) {
		uint32_t crc = (uint32_t)crc32(0L, buf, (uInt)(n - 4));

		for (int i = 0; i < 4; i++)
			buf[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
	}
	rc = alertstate_decode(buf, n, &st);
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG, "decode rc %d", rc);
	fuzz_dir_clear();
	FUZZ_CHECK(fuzz_write_file(ALERTSTATE_FILE, buf, n), "write");
	rc2 = alertstate_load(fuzz_dir(), &loaded);
	FUZZ_CHECK(rc2 == rc, "load %d, decode %d", rc2, rc);
	if (rc < 0) {
		FUZZ_CHECK(!st.alerts && !st.accs && !st.counters && !st.n_alerts && !st.n_accs &&
			   !st.n_counters, "state not empty after rc %d", rc);
		return 0;
	}
	check_strings(&st);
	encode_stable(&st, &e1, &l1);
	FUZZ_CHECK(l1 <= n || memcmp(buf, "OFSTATE1", 8) == 0, "re-encoded longer: %zu > %zu",
		   l1, n);
	FUZZ_CHECK(alertstate_encode(&loaded, &x1, &xl1) == 0 && xl1 == l1 &&
		   memcmp(x1, e1, l1) == 0, "load and decode differ");
	free(x1);
	engine_round(&st, &x1, &xl1);
	FUZZ_CHECK(alertstate_decode(x1, xl1, &again) == 0, "export does not decode");
	engine_round(&again, &x2, &xl2);
	FUZZ_CHECK(xl1 == xl2 && memcmp(x1, x2, xl1) == 0, "restoring an export changes it");
	free(e1);
	free(x1);
	free(x2);
	alertstate_clear(&st);
	alertstate_clear(&loaded);
	alertstate_clear(&again);
	return 0;
}
