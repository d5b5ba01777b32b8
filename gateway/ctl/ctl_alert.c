/*
 * ctl_alert.c - `outfallctl alert close ID --reason TEXT`: closes an open
 * alert of the running daemon that is known to be false, through its
 * control socket. Nothing is deleted: the daemon sends a cleared event
 * with reason closed_by_operator and the operator's reason to every sink.
 */
#include <getopt.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "daemon/daemon.h"

enum { OPT_REASON = 'r', OPT_SOCKET = 's' };

static void alert_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl alert close ID --reason TEXT [-c FILE | --socket FILE]\n"
		"Closes the open alert ID (as `outfallctl status` lists it) of the running\n"
		"outfalld as known to be false. Nothing is deleted: a cleared event with reason\n"
		"closed_by_operator and TEXT goes to every sink, and the alert leaves the\n"
		"active set. Its rule raises again only once its condition has gone and come\n"
		"back, or after alerting.maintenance_max_h.\n"
		"\n"
		"  --reason TEXT       why it is false (required, at most %d bytes)\n"
		"  -c, --config FILE   the daemon's config: its data_dir has the control\n"
		"                      socket (default " CTL_DEFAULT_CONFIG ")\n"
		"  --socket FILE       the control socket itself\n"
		"  -h, --help          this help\n"
		"\n"
		"exit codes: 0 closed, 64 usage, 65 no open alert has that id, 69 outfalld is\n"
		"not running or did not answer, 70 internal error, 75 outfalld busy,\n"
		"77 permission denied (run as root or in group outfall), 78 config error\n",
		REC_NOTE - 1);
}

int ctl_alert(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct control_req rq = { .cmd = CONTROL_ALERT_CLOSE, .mode = -1 };
	const char *config = NULL, *sock = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == OPT_REASON) {
			if (ctl_reason(optarg, rq.reason, sizeof(rq.reason)) < 0)
				return EX_USAGE;
		} else if (opt == 'c' || opt == OPT_SOCKET) {
			*(opt == 'c' ? &config : &sock) = optarg;
		} else if (opt == 'h') {
			alert_usage(stdout);
			return EX_OK;
		} else {
			alert_usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "close") != 0) {
		fprintf(stderr, "outfallctl alert: give close and the alert's id\n");
		alert_usage(stderr);
		return EX_USAGE;
	}
	if (!rq.reason[0]) {
		fprintf(stderr, "outfallctl alert close: --reason TEXT is required: it is "
			"published with the close\n");
		return EX_USAGE;
	}
	if (config && sock) {
		fprintf(stderr, "outfallctl alert close: give -c or --socket, not both\n");
		return EX_USAGE;
	}
	if (strlen(argv[optind + 1]) >= sizeof(rq.id)) {
		fprintf(stderr, "outfallctl alert close: no alert has an id that long\n");
		return EX_DATAERR;
	}
	snprintf(rq.id, sizeof(rq.id), "%s", argv[optind + 1]);
	return ctl_control(config, sock, &rq);
}
