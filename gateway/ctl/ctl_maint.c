/*
 * ctl_maint.c - `outfallctl maintenance SENSOR on|off`: puts a sensor of
 * the running daemon into maintenance or calibration, or takes it out,
 * through its control socket (gateway/daemon/control.h); and the call that
 * `outfallctl alert close` shares: find the socket from the config, send
 * one request, say what came back, map it to an exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "ctl.h"
#include "compliance/compliance.h"
#include "daemon/daemon.h"

enum { OPT_FOR = 'f', OPT_CALIB = 'C', OPT_REASON = 'r', OPT_SOCKET = 's' };

static void maint_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl maintenance SENSOR on|off [--for DURATION] [--calibration]\n"
		"                  [--reason TEXT] [-c FILE | --socket FILE]\n"
		"Puts SENSOR of the running outfalld into maintenance (or calibration), or\n"
		"ends it. Meanwhile its readings are kept and flagged M (C), stay out of every\n"
		"statistic and raise no alert. The start and the end are published to every\n"
		"sink with the reason and the planned end. It ends by itself after DURATION,\n"
		"at most alerting.maintenance_max_h (8 h unless set); a longer DURATION is\n"
		"refused. on while on extends it from now. More than %d starts a day, or\n"
		"longer than that cap in a day, raise a maintenance_overuse alert.\n"
		"\n"
		"  --for DURATION      90s, 30m, 2h, 1h30m (default: maintenance_max_h)\n"
		"  --calibration       calibration (flag C) rather than maintenance (flag M)\n"
		"  --reason TEXT       why, published with the events (at most %d bytes)\n"
		"  -c, --config FILE   the daemon's config: its data_dir has the control\n"
		"                      socket (default " CTL_DEFAULT_CONFIG ")\n"
		"  --socket FILE       the control socket itself\n"
		"  -h, --help          this help\n"
		"\n"
		"exit codes: 0 done, 64 usage, 65 refused (no such sensor, too long, not in\n"
		"maintenance), 69 outfalld is not running or did not answer, 70 internal\n"
		"error, 75 outfalld busy, 77 permission denied (run as root or in group\n"
		"outfall), 78 config error\n", COMPLIANCE_MAINT_STARTS_MAX, REC_NOTE - 1);
}

/* The control socket of the config at path: 0, or an exit code. */
static int socket_from_config(const char *path, char *sock, size_t cap)
{
	struct config *cfg = NULL;
	int rc = config_load(path, &cfg, stderr), n;

	if (rc == -ENOMEM) {
		fprintf(stderr, "outfallctl: out of memory loading %s\n", path);
		return EX_SOFTWARE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %d error%s\n", path, rc, rc == 1 ? "" : "s");
		return EX_CONFIG;
	}
	n = snprintf(sock, cap, "%s/%s", cfg->data_dir, CONTROL_SOCKET);
	setenv("TZ", cfg->timezone, 1); /* as the daemon's replies are written */
	config_free(cfg);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "outfallctl: %s: data_dir is too long\n", path);
		return EX_CONFIG;
	}
	return 0;
}

static int call_failed(const char *sock, int rc)
{
	switch (rc) {
	case -ENOENT:
		fprintf(stderr, "outfallctl: outfalld is not running with this data_dir (no "
			"control socket %s)\n", sock);
		return EX_UNAVAILABLE;
	case -ECONNREFUSED:
		fprintf(stderr, "outfallctl: outfalld is not running (%s is left from a daemon "
			"that stopped)\n", sock);
		return EX_UNAVAILABLE;
	case -EACCES:
	case -EPERM:
		fprintf(stderr, "outfallctl: %s: permission denied: run as root or as a member "
			"of group outfall\n", sock);
		return EX_NOPERM;
	case -ETIMEDOUT:
		fprintf(stderr, "outfallctl: outfalld did not answer within %d s on %s\n",
			CONTROL_TIMEOUT_MS / 1000, sock);
		return EX_UNAVAILABLE;
	case -EAGAIN:
		fprintf(stderr, "outfallctl: outfalld is busy (its control queue is full); try "
			"again\n");
		return EX_TEMPFAIL;
	default:
		fprintf(stderr, "outfallctl: %s: %s\n", sock, strerror(-rc));
		return EX_IOERR;
	}
}

int ctl_control(const char *config, const char *sock, const struct control_req *rq)
{
	char path[CTL_PATH_MAX], req[CONTROL_MSG_MAX + 1], reply[CONTROL_MSG_MAX + 1];
	const char *msg;
	int n, rc, code;
	bool ok;

	n = control_format(rq, req, sizeof(req));
	if (n < 0) {
		fprintf(stderr, "outfallctl: a value is not text this request can carry%s\n",
			n == -ENOSPC ? " (too long)" : "");
		return EX_USAGE;
	}
	if (!sock) {
		rc = socket_from_config(config ? config : CTL_DEFAULT_CONFIG, path, sizeof(path));
		if (rc)
			return rc;
		sock = path;
	}
	rc = control_call(sock, req, (size_t)n, reply, sizeof(reply), CONTROL_TIMEOUT_MS);
	if (rc < 0)
		return call_failed(sock, rc);
	if (control_parse_reply(reply, &ok, &code, &msg) < 0) {
		fprintf(stderr, "outfallctl: %s: an answer that is not outfalld's\n", sock);
		return EX_PROTOCOL;
	}
	if (ok) {
		printf("%s\n", msg);
		return EX_OK;
	}
	fprintf(stderr, "outfallctl: outfalld refused: %s\n", msg);
	if (code == CONTROL_E_USAGE)
		return EX_USAGE;
	return code == CONTROL_E_INTERNAL ? EX_SOFTWARE : EX_DATAERR;
}

/* --reason TEXT into field: 0, or -1 after saying why. */
int ctl_reason(const char *text, char *field, size_t cap)
{
	size_t n = strlen(text);

	if (n == 0 || n >= cap) {
		fprintf(stderr, "outfallctl: --reason: %s (at most %zu bytes)\n",
			n ? "too long" : "empty", cap - 1);
		return -1;
	}
	memcpy(field, text, n + 1);
	return 0;
}

int ctl_maintenance(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "for", required_argument, NULL, OPT_FOR },
		{ "calibration", no_argument, NULL, OPT_CALIB },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct control_req rq = { .cmd = CONTROL_MAINT };
	const char *config = NULL, *sock = NULL, *dur = NULL;
	bool calib = false;
	char err[160];
	int opt;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == OPT_FOR) {
			dur = optarg;
		} else if (opt == OPT_CALIB) {
			calib = true;
		} else if (opt == OPT_REASON) {
			if (ctl_reason(optarg, rq.reason, sizeof(rq.reason)) < 0)
				return EX_USAGE;
		} else if (opt == 'c' || opt == OPT_SOCKET) {
			*(opt == 'c' ? &config : &sock) = optarg;
		} else if (opt == 'h') {
			maint_usage(stdout);
			return EX_OK;
		} else {
			maint_usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 2 || (strcmp(argv[optind + 1], "on") != 0 &&
				   strcmp(argv[optind + 1], "off") != 0)) {
		fprintf(stderr, "outfallctl maintenance: give SENSOR and on or off\n");
		maint_usage(stderr);
		return EX_USAGE;
	}
	if (config && sock) {
		fprintf(stderr, "outfallctl maintenance: give -c or --socket, not both\n");
		return EX_USAGE;
	}
	if (strlen(argv[optind]) >= sizeof(rq.sensor)) {
		fprintf(stderr, "outfallctl maintenance: no sensor has a name that long\n");
		return EX_USAGE;
	}
	snprintf(rq.sensor, sizeof(rq.sensor), "%s", argv[optind]);
	rq.mode = strcmp(argv[optind + 1], "off") == 0 ? CONTROL_OFF
		  : calib ? CONTROL_CALIBRATION : CONTROL_MAINTENANCE;
	if (rq.mode == CONTROL_OFF && (dur || calib)) {
		fprintf(stderr, "outfallctl maintenance: --for and --calibration go with on\n");
		return EX_USAGE;
	}
	if (dur) {
		int64_t ms;

		if (control_parse_duration(dur, &ms, err, sizeof(err)) < 0) {
			fprintf(stderr, "outfallctl maintenance: --for: %s\n", err);
			return EX_USAGE;
		}
		rq.for_s = ms / 1000;
	}
	return ctl_control(config, sock, &rq);
}
