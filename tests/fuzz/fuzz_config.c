/*
 * fuzz_config.c - the gateway file and the permits file (gateway/config/)
 * as an installer, an editor or a broken disk could leave them.
 *
 * The input is the gateway file, then a NUL byte and the permits file it
 * names ("permits.conf" beside it); without a NUL the permits file is
 * tests/fuzz/data/permits.conf. Inputs are cut at 64 KiB: libconfig's
 * parser is slow on huge strings (the loader refuses files over 1 MiB).
 * Properties:
 *  - config_load_opts gives 0 with a config or a count of errors without
 *    one, each error a "file:line: ..." line, every line of its output
 *    ending in a newline;
 *  - a config it accepts keeps what the rest of the daemon relies on:
 *    indexes in range, channels 1..16 per sensor, Modbus slaves 1..247,
 *    registers inside 0..65535 (the last word too), ASCII line settings in
 *    their bounds, a driver for every sensor, Modbus read plans of at most
 *    125 registers per request; the compliance engine and the status
 *    snapshot take it;
 *  - loading the same files again gives the same summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/param.h"
#include "compliance/compliance.h"
#include "config/config.h"
#include "daemon/status.h"
#include "drivers/driver.h"
#include "drivers/modbus_rtu.h"

#define INPUT_MAX (64u << 10)

static char *default_permits;
static size_t default_permits_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_DATA");
	char path[512];
	FILE *f;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	snprintf(path, sizeof(path), "%s/permits.conf", dir ? dir : "tests/fuzz/data");
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "fuzz_config: cannot read %s (run from the source tree, or set "
			"FUZZ_DATA)\n", path);
		exit(1);
	}
	default_permits = malloc(65536);
	default_permits_len = fread(default_permits, 1, 65536, f);
	fclose(f);
	return 0;
}

static void check_sensor(const struct config *c, size_t i)
{
	const struct cfg_sensor *s = &c->sensors[i];
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1], groups;

	FUZZ_CHECK(s->bus >= 0 && (size_t)s->bus < c->n_buses, "sensor %zu bus %d", i, s->bus);
	FUZZ_CHECK(s->outlet >= -1 && s->outlet < (int)c->n_outlets, "sensor %zu outlet", i);
	FUZZ_CHECK(s->n_channels >= 1 && s->n_channels <= CFG_MAX_CHANNELS, "sensor %zu: %zu "
		   "channels", i, s->n_channels);
	FUZZ_CHECK(driver_for(s->driver) != NULL, "sensor %zu has no driver", i);
	FUZZ_CHECK(s->interval_s >= 1 && s->interval_s <= 86400 && s->gap_s >= s->interval_s,
		   "sensor %zu timing", i);
	if (s->driver == DRIVER_ASCII) {
		FUZZ_CHECK(s->ascii.max_line >= CFG_ASCII_LINE_MIN &&
			   s->ascii.max_line <= CFG_ASCII_LINE_MAX, "sensor %zu max_line", i);
		FUZZ_CHECK(!s->ascii.query || (s->ascii.query_len >= 1 &&
					       s->ascii.query_len <= CFG_ASCII_QUERY_MAX),
			   "sensor %zu query", i);
		for (size_t k = 0; k < s->n_channels; k++)
			FUZZ_CHECK(s->ascii.format == ASCII_KV
				   ? s->channels[k].key && strlen(s->channels[k].key) >= 1 &&
					     strlen(s->channels[k].key) <= CFG_ASCII_KEY_MAX
				   : s->channels[k].field >= 1 &&
					     s->channels[k].field <= CFG_ASCII_FIELD_MAX,
				   "sensor %zu channel %zu key or field", i, k);
		return;
	}
	FUZZ_CHECK(s->slave >= 1 && s->slave <= 247, "sensor %zu slave %d", i, s->slave);
	for (size_t k = 0; k < s->n_channels; k++) {
		const struct cfg_channel *ch = &s->channels[k];

		FUZZ_CHECK(ch->reg >= 0 && ch->reg + decode_words(ch->type) <= 65536,
			   "sensor %zu channel %zu register %d", i, k, ch->reg);
		FUZZ_CHECK(ch->param >= 0 && ch->param < P_COUNT, "sensor %zu channel %zu param", i, k);
	}
	groups = modbus_rtu_plan(s, order, starts);
	FUZZ_CHECK(groups >= 1 && groups <= (int)s->n_channels, "%d groups", groups);
	for (int g = 0; g < groups; g++) {
		const struct cfg_channel *a = &s->channels[order[starts[g]]];
		const struct cfg_channel *b = &s->channels[order[starts[g + 1] - 1]];
		int count = b->reg + decode_words(b->type) - a->reg;

		FUZZ_CHECK(count >= 1 && count <= 125, "sensor %zu request %d of %d registers", i, g,
			   count);
	}
}

static void check_config(const struct config *c)
{
	struct status_snapshot st = { 0 };
	struct compliance *comp;

	FUZZ_CHECK(c->id && c->data_dir && c->permits_path, "id, data_dir or permits");
	for (size_t i = 0; i < c->n_buses; i++)
		FUZZ_CHECK(c->buses[i].timeout_ms >= 10 && c->buses[i].timeout_ms <= 10000 &&
			   c->buses[i].retries >= 0 && c->buses[i].retries <= 10, "bus %zu", i);
	for (size_t i = 0; i < c->n_sensors; i++)
		check_sensor(c, i);
	for (size_t i = 0; i < c->n_outlets; i++) {
		const struct cfg_outlet *o = &c->outlets[i];

		FUZZ_CHECK(o->permit >= -1 && o->permit < (int)c->n_permits, "outlet %zu permit", i);
		FUZZ_CHECK(o->n_signature <= CFG_SIGNATURE_MAX, "outlet %zu signature", i);
		for (size_t k = 0; k < o->n_sensors; k++)
			FUZZ_CHECK(o->sensors[k] >= 0 && (size_t)o->sensors[k] < c->n_sensors,
				   "outlet %zu sensor %zu", i, k);
	}
	for (size_t i = 0; i < c->n_permits; i++)
		for (size_t k = 0; k < c->permits[i].n_limits; k++)
			FUZZ_CHECK(c->permits[i].limits[k].param >= 0 &&
				   c->permits[i].limits[k].param < P_COUNT, "permit %zu limit %zu", i, k);
	comp = compliance_new(c);
	FUZZ_CHECK(comp, "compliance_new refused a valid config");
	compliance_free(comp);
	if (c->n_sensors <= STATUS_MAX_SENSORS) {
		FUZZ_CHECK(status_init(&st, c, 2, 16) == 0, "status_init");
		status_clear(&st);
	}
}

/* Loads the files: rc, and the summary (or the messages) in *text. */
static int load(const char *path, struct config **cfg, char **text)
{
	struct config_opts opts = { .has_today = true, .today = { 2026, 1, 1 } };
	size_t len = 0;
	FILE *err = open_memstream(text, &len);
	int rc;

	FUZZ_CHECK(err, "open_memstream");
	*cfg = NULL;
	rc = config_load_opts(path, &opts, cfg, err);
	if (rc == 0 && *cfg)
		config_print_summary(*cfg, err);
	fclose(err);
	return rc;
}

static void check_messages(const char *text, int rc)
{
	const char *p = text;

	FUZZ_CHECK(rc <= 0 || *text, "%d errors and no message", rc);
	while (*p) {
		const char *nl = strchr(p, '\n');

		FUZZ_CHECK(nl, "output does not end in a newline: %s", p);
		if (rc > 0)
			FUZZ_CHECK(memchr(p, ':', (size_t)(nl - p)), "a message without file: %.*s",
				   (int)(nl - p), p);
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul;
	struct config *cfg = NULL, *again = NULL;
	char path[512], *t1 = NULL, *t2 = NULL;
	size_t gw_len;
	int rc, rc2;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	nul = memchr(data, 0, size);
	gw_len = nul ? (size_t)(nul - data) : size;
	fuzz_dir_clear();
	FUZZ_CHECK(fuzz_write_file("outfall.conf", data, gw_len), "write");
	if (nul)
		FUZZ_CHECK(fuzz_write_file("permits.conf", nul + 1, size - gw_len - 1), "write");
	else
		FUZZ_CHECK(fuzz_write_file("permits.conf", default_permits, default_permits_len),
			   "write");
	snprintf(path, sizeof(path), "%s/outfall.conf", fuzz_dir());
	rc = load(path, &cfg, &t1);
	FUZZ_CHECK(rc >= 0, "config_load %d", rc);
	FUZZ_CHECK((rc == 0) == (cfg != NULL), "rc %d with%s a config", rc, cfg ? "" : "out");
	check_messages(t1, rc);
	if (rc == 0)
		check_config(cfg);
	rc2 = load(path, &again, &t2);
	FUZZ_CHECK(rc2 == rc && strcmp(t1, t2) == 0, "a second load differs");
	config_free(cfg);
	config_free(again);
	free(t1);
	free(t2);
	return 0;
}
