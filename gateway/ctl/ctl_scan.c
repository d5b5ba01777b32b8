/*
 * ctl_scan.c - `outfallctl scan`: asks every slave id in a list for one
 * register and tells a normal reply, an exception reply (the slave is
 * there, the register is not) and silence apart, so an installer sees which
 * addresses are taken before adding a probe that ships as slave 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "base/clock.h"

#define SCAN_TIMEOUT_MS 200 /* per id: a present slave answers well within it */
#define SCAN_PROGRESS_EVERY 25 /* ids between progress lines when stderr is a file */

enum scan_result { SR_ANSWER, SR_EXCEPTION, SR_GARBLED, SR_SILENT, SR_COUNT, SR_PORT_FAILED };

struct scan {
	struct ctl_line line;
	bool ids[CTL_MAX_ID + 1];
	int n_ids;
	int reg;
	enum reg_table table;
	bool found[SR_COUNT][CTL_MAX_ID + 1];
	int count[SR_COUNT];
	int done;
};

static void scan_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl scan --device DEV [--ids 1-247 | --ids 1,2,10]\n"
		"                       [--register R] [--table holding|input] [serial options]\n"
		"Asks each slave id for one register and reports who is on the bus:\n"
		"  answers    a normal reply: a slave has this id\n"
		"  exception  the slave is there but refuses this register or function\n"
		"             (the exception is named; try another --register or --table)\n"
		"  garbled    something replied with a bad frame: check baud and parity\n"
		"  silent     no reply within the timeout\n"
		"\n"
		"  --ids LIST          ids to ask: ranges and single ids, comma separated (1-247)\n"
		"  --register R        0-based wire address, decimal or 0x hex (0)\n"
		"  --table T           holding (function 03) or input (function 04) (holding)\n"
		"  --timeout-ms T      wait this long for each id, 10..10000 (%d)\n"
		"%s"
		"  -h, --help          this help\n"
		"\n"
		"One line per slave found and a summary go to stdout, progress to stderr.\n"
		"247 ids take about 247 x the timeout; Ctrl-C stops with a summary.\n"
		"exit codes: 0 a slave was found, 64 usage, 66 no such device, 69 nothing\n"
		"answered, 74 I/O error, 75 the bus is in use (outfalld owns it)\n",
		SCAN_TIMEOUT_MS, ctl_line_help);
}

enum { OPT_IDS = CTL_OPT_FIRST_FREE, OPT_REGISTER, OPT_TABLE };

static int parse_table(const char *s, enum reg_table *out)
{
	if (strcmp(s, "holding") == 0)
		*out = TABLE_HOLDING;
	else if (strcmp(s, "input") == 0)
		*out = TABLE_INPUT;
	else {
		fprintf(stderr, "outfallctl: --table must be holding or input, not \"%s\"\n", s);
		return -1;
	}
	return 0;
}

/* -1 to go on, or an exit code (EX_OK after --help). */
static int scan_options(int argc, char **argv, struct scan *sc)
{
	static const struct option longopts[] = {
		CTL_SERIAL_LONGOPTS,
		{ "ids", required_argument, NULL, OPT_IDS },
		{ "register", required_argument, NULL, OPT_REGISTER },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		rc = ctl_line_opt(&sc->line, opt, optarg);
		if (rc > 0)
			continue;
		if (rc < 0)
			return EX_USAGE;
		if (opt == 'h') {
			scan_usage(stdout);
			return EX_OK;
		} else if (opt == OPT_IDS) {
			if (ctl_parse_ids(optarg, sc->ids) < 0)
				return EX_USAGE;
		} else if (opt == OPT_REGISTER) {
			if (ctl_parse_long("--register", optarg, 0, 65535, &v) < 0)
				return EX_USAGE;
			sc->reg = (int)v;
		} else if (opt == OPT_TABLE) {
			if (parse_table(optarg, &sc->table) < 0)
				return EX_USAGE;
		} else {
			scan_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || !sc->line.bus.device) {
		fprintf(stderr, "outfallctl scan: %s\n", optind != argc ?
			"unexpected arguments" : "--device is required");
		scan_usage(stderr);
		return EX_USAGE;
	}
	return -1;
}

static enum scan_result ask(modbus_t *mb, const struct scan *sc, int id, uint16_t *word,
			    int *err)
{
	int n;

	*err = 0;
	modbus_set_slave(mb, id);
	if (sc->table == TABLE_INPUT)
		n = modbus_read_input_registers(mb, sc->reg, 1, word);
	else
		n = modbus_read_registers(mb, sc->reg, 1, word);
	if (n == 1)
		return SR_ANSWER;
	*err = n < 0 ? errno : EMBBADDATA;
	if (ctl_exception_name(*err, NULL))
		return SR_EXCEPTION;
	if (*err == ETIMEDOUT || ctl_is_garbled(*err)) {
		modbus_flush(mb); /* a late or broken reply must not meet the next id */
		return *err == ETIMEDOUT ? SR_SILENT : SR_GARBLED;
	}
	return SR_PORT_FAILED;
}

static void report_id(const struct scan *sc, int id, enum scan_result r, uint16_t word, int err)
{
	const char *table = sc->table == TABLE_INPUT ? "input" : "holding";
	const char *name;
	int code = 0;

	if (r == SR_ANSWER) {
		printf("slave %3d: answers: %s register %d = 0x%04X (%u)\n", id, table, sc->reg,
		       word, word);
	} else if (r == SR_EXCEPTION) {
		name = ctl_exception_name(err, &code);
		printf("slave %3d: exception %02d %s: the slave is there, but refuses %s "
		       "register %d\n", id, code, name, table, sc->reg);
	} else if (r == SR_GARBLED) {
		printf("slave %3d: garbled reply (%s): something answered; check baud and "
		       "parity\n", id, modbus_strerror(err));
	}
	fflush(stdout);
}

static void progress(const struct scan *sc, int id, bool end)
{
	int found = sc->count[SR_ANSWER] + sc->count[SR_EXCEPTION] + sc->count[SR_GARBLED];

	if (isatty(STDERR_FILENO)) {
		if (end)
			fprintf(stderr, "\r%60s\r", "");
		else
			fprintf(stderr, "\rscanning: slave %d, %d of %d ids, %d found ", id,
				sc->done, sc->n_ids, found);
	} else if (!end && sc->done % SCAN_PROGRESS_EVERY == 0 && sc->done < sc->n_ids) {
		fprintf(stderr, "scanning: %d of %d ids, %d found\n", sc->done, sc->n_ids, found);
	}
}

static void summary(const struct scan *sc, int64_t took_ms)
{
	static const char *const names[SR_COUNT] = { "answers", "exception", "garbled", "silent" };
	int present = sc->count[SR_ANSWER] + sc->count[SR_EXCEPTION];
	char list[1024];

	printf("summary: %d of %d ids present on %s in %.1f s", present, sc->done,
	       sc->line.bus.device, (double)took_ms / 1000.0);
	for (int r = 0; r < SR_COUNT; r++) {
		if (r == SR_GARBLED && !sc->count[r])
			continue;
		ctl_format_ids(sc->found[r], list, sizeof(list));
		printf("; %s: %s", names[r], list);
	}
	printf("\n");
	if (sc->count[SR_GARBLED])
		printf("hint: garbled replies mean a device is there but the line settings differ "
		       "(baud, parity, stop bits)\n");
	else if (!present)
		printf("hint: nothing answered: check A/B wiring, termination, baud (%d) and "
		       "parity (%c), and that the devices are powered\n", sc->line.bus.baud,
		       sc->line.bus.parity);
}

static int run_scan(modbus_t *mb, struct scan *sc)
{
	const struct cfg_bus *b = &sc->line.bus;
	int64_t start = clock_mono_ms();

	printf("scan %s at %d %d%c%d, %s register %d, %d ids, timeout %d ms\n", b->device,
	       b->baud, b->data_bits, b->parity, b->stop_bits,
	       sc->table == TABLE_INPUT ? "input" : "holding", sc->reg, sc->n_ids, b->timeout_ms);
	fflush(stdout);
	ctl_signals_block();
	for (int id = 1; id <= CTL_MAX_ID; id++) {
		uint16_t word = 0;
		int err;
		enum scan_result r;

		if (!sc->ids[id])
			continue;
		r = ask(mb, sc, id, &word, &err);
		if (r == SR_PORT_FAILED) {
			progress(sc, id, true);
			fprintf(stderr, "outfallctl: %s failed at slave %d: %s\n", b->device, id,
				modbus_strerror(err));
			return EX_IOERR;
		}
		sc->found[r][id] = true;
		sc->count[r]++;
		sc->done++;
		report_id(sc, id, r, word, err);
		progress(sc, id, false);
		if (ctl_signal_wait(0)) {
			progress(sc, id, true);
			printf("interrupted after slave %d\n", id);
			break;
		}
	}
	progress(sc, 0, true);
	summary(sc, clock_mono_ms() - start);
	return sc->count[SR_ANSWER] + sc->count[SR_EXCEPTION] ? EX_OK : EX_UNAVAILABLE;
}

int ctl_scan(int argc, char **argv)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	modbus_t *mb = NULL;
	int rc;

	if (!sc)
		return EX_SOFTWARE;
	ctl_line_init(&sc->line, SCAN_TIMEOUT_MS);
	for (int id = 1; id <= CTL_MAX_ID; id++)
		sc->ids[id] = true;
	rc = scan_options(argc, argv, sc);
	if (rc < 0) {
		for (int id = 1; id <= CTL_MAX_ID; id++)
			sc->n_ids += sc->ids[id];
		rc = ctl_bus_open(&sc->line, &mb);
	}
	if (rc == 0 && mb)
		rc = run_scan(mb, sc);
	ctl_bus_close(mb);
	free(sc);
	return rc;
}
