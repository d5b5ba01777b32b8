/*
 * main.c - outfallctl's command line: picks the verb and hands it the rest
 * of the arguments. Exit codes follow sysexits.h.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} verbs[] = {
	{ "scan", ctl_scan, "which Modbus slaves answer on a serial bus" },
	{ "read", ctl_read, "live decoded register values, every word order side by side" },
	{ "check", ctl_check, "check a config and read every channel once: a commissioning report" },
	{ "status", ctl_status, "what the running daemon is doing, from its status.json" },
	{ "maintenance", ctl_maintenance, "a sensor into maintenance or calibration, or out" },
	{ "alert", ctl_alert, "close an open alert known to be false (alert close ID)" },
	{ "report", ctl_report, "an inspection report (HTML) of an alert, a day or a span" },
	{ "hj212", ctl_hj212, "HJ 212 packets: encode a config's, decode, listen as a platform" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: outfallctl VERB [OPTIONS]   (outfallctl VERB --help for its options)\n"
		"installer and operator tool for outfalld\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-12s %s\n", verbs[i].name, verbs[i].what);
	fprintf(out, "\nA bus that outfalld (or another program) has open is never read behind its\n"
		"back: scan, read and check refuse it and name the holder.\n"
		"\n  -h, --help     this help\n  -V, --version  print the version\n"
		"\nexit codes (sysexits): 0 ok, 64 usage, 65 a reading breaks a permit limit or\n"
		"status.json is corrupt, 66 no such device, status file, history or alert,\n"
		"69 no answer or the daemon is not running, 70 internal error, 74 I/O error,\n"
		"75 bus in use, 76 exception or garbled reply, 77 permission denied,\n"
		"78 config error (hj212: 65 a bad packet; see outfallctl hj212 --help)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("outfallctl %s\n", OUTFALL_VERSION);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "outfallctl: unknown verb \"%s\"\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
