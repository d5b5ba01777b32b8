/*
 * ctl_hj212.c - `outfallctl hj212 encode|decode|listen` (ctl_hj212.h):
 * picks the subcommand; encode prints the packets a config sends its
 * platforms for one poll, built by the uplink's own code
 * (sink_hj212_preview) from a live read of the sensors (as check reads
 * them) or from values given; decode reads packets from stdin, one per
 * line, and says of each what it holds and what is wrong with it.
 * listen is in ctl_hj212_listen.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "ctl.h"
#include "ctl_check.h"
#include "ctl_hj212.h"
#include "base/clock.h"
#include "sinks/hj212/uplink.h"

#define ENC_OUT_MAX 32768 /* 2081 and a 2011 split into at most 8 packets */

static void hj212_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl hj212 encode [-c FILE] [--platform NAME] [--values P=V,...]\n"
		"       outfallctl hj212 decode [--pw PW] [--mn MN] < packets\n"
		"       outfallctl hj212 listen --port N [--bind ADDR] [--pw PW] [--mn MN]\n"
		"HJ 212 tools for commissioning an agency platform (sinks.hj212):\n"
		"  encode  the packets each platform is sent for one poll: 2081 (the logger's\n"
		"          start) and the 2011 of one read of the outlet's sensors, built by\n"
		"          outfalld's own code, one packet per line, as on the wire\n"
		"  decode  packets from stdin, one per line: their fields, and what a strict\n"
		"          platform would reject in them (bad CRC and the right one, a length\n"
		"          that is not the segment's, a missing field, ...)\n"
		"  listen  a strict platform on a port: prints and checks every packet it\n"
		"          receives and answers 9014 to each good one that asks for a reply,\n"
		"          for when the agency's platform is not reachable yet\n"
		"\n"
		"outfallctl hj212 SUBCOMMAND --help says more.\n");
}

/* ---- encode ------------------------------------------------------------------- */

static void encode_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl hj212 encode [-c FILE] [--platform NAME] [--values P=V,...]\n"
		"Prints, for each HJ 212 platform of the config (or the one named), the packets\n"
		"outfalld would send it for one poll, one packet per line with its CR LF: 2081\n"
		"(DataTime and RestartTime now), then the 2011 of one read of the sensors of\n"
		"the platform's outlet - flow in L/s, data flags from quality and instrument\n"
		"range (N, T, D, B), parameters without an HJ 212 code left out - and the MN,\n"
		"PW, ST and Flag the platform is configured with. The 2011's DataTime is the\n"
		"end of the rtd_interval_s interval that holds now: outfalld sends it once that\n"
		"interval is over. What is printed is what goes on the wire: pipe it to\n"
		"`outfallctl hj212 decode` to read it field by field.\n"
		"\n"
		"  -c, --config FILE   gateway config (default " CTL_DEFAULT_CONFIG ")\n"
		"  --platform NAME     only this platform (a sinks.hj212 name)\n"
		"  --values P=V,...    these values instead of reading the bus, e.g.\n"
		"                      cod=41.2,ph=7.31,flow=63 (parameter names as in the\n"
		"                      config; flow in m3/h as the sensors report it)\n"
		"  -h, --help          this help\n"
		"\n"
		"Without --values every sensor is read once, as `outfallctl check` reads it: a\n"
		"bus that outfalld owns is not read (stop the service, or give --values).\n"
		"exit codes: 0 printed, 64 usage (an unknown platform or parameter), 69 a\n"
		"sensor could not be read (its values are printed flagged B, as outfalld would\n"
		"send them), 70 internal error, 78 config error or no HJ 212 platform\n");
}

/* --values "cod=41.2,ph=7.31": into vals (*n of them); 0 or EX_USAGE. */
static int parse_values(const char *arg, struct rec_value *vals, uint8_t *n)
{
	char *copy = strdup(arg), *save = NULL;
	int rc = 0;

	if (!copy)
		return EX_SOFTWARE;
	*n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int p;
		double v;

		if (eq)
			*eq = '\0';
		p = eq ? param_from_name(tok) : -1;
		if (!eq || p < 0) {
			fprintf(stderr, "outfallctl hj212 encode: --values: \"%s\" is not PARAM=VALUE "
				"with PARAM one of %s\n", tok, param_all_names());
			rc = EX_USAGE;
		} else if (*n >= REC_MAX_VALUES) {
			fprintf(stderr, "outfallctl hj212 encode: --values: more than %d values\n",
				REC_MAX_VALUES);
			rc = EX_USAGE;
		} else if (ctl_parse_double(tok, eq + 1, &v) < 0) {
			rc = EX_USAGE;
		} else {
			for (uint8_t i = 0; i < *n; i++)
				if (vals[i].param == p) {
					fprintf(stderr, "outfallctl hj212 encode: --values: %s given "
						"twice\n", tok);
					rc = EX_USAGE;
				}
			vals[(*n)++] = (struct rec_value){ .v = v, .param = (uint8_t)p,
							   .quality = Q_OK };
		}
	}
	free(copy);
	if (!rc && *n == 0) {
		fprintf(stderr, "outfallctl hj212 encode: --values: no value given\n");
		rc = EX_USAGE;
	}
	return rc;
}

/* One poll record per sensor that belongs to an outlet, from a live read:
 * 0, or EX_UNAVAILABLE when one could not be read well (said on stderr). */
static int read_sensors(const struct config *cfg, const char *path, struct record *recs,
			size_t *n)
{
	struct chk_report r = { .cfg = cfg, .path = path };
	int rc = chk_read_all(&r) < 0 ? EX_SOFTWARE : EX_OK;
	int64_t now = clock_wall_ms(); /* one instant: the polls of one pass */

	*n = 0;
	for (size_t i = 0; rc == EX_OK && i < cfg->n_sensors; i++) {
		const struct cfg_sensor *s = &cfg->sensors[i];
		struct record *rec = &recs[*n];

		if (s->outlet < 0)
			continue;
		*rec = (struct record){ .type = REC_POLL, .ts_ms = now };
		rec->u.poll = r.sensors[i].poll;
		snprintf(rec->u.poll.outlet, sizeof(rec->u.poll.outlet), "%s",
			 cfg->outlets[s->outlet].id);
		snprintf(rec->u.poll.sensor, sizeof(rec->u.poll.sensor), "%s", s->name);
		(*n)++;
	}
	for (size_t i = 0; rc == EX_OK && i < r.n_problems; i++)
		if (r.problems[i].kind == CK_READ)
			fprintf(stderr, "outfallctl hj212 encode: %s\n", r.problems[i].text);
	for (size_t i = 0; rc == EX_OK && i < cfg->n_sensors; i++)
		if (r.sensors[i].rc != 0 && cfg->sensors[i].outlet >= 0)
			rc = EX_UNAVAILABLE;
	free(r.sensors);
	free(r.problems);
	return rc;
}

/* The packets of platform k on stdout, a word about them on stderr. */
static int encode_one(const struct config *cfg, size_t k, const struct record *recs, size_t n)
{
	const struct cfg_hj212 *h = &cfg->hj212[k];
	char *buf = malloc(ENC_OUT_MAX);
	int len;

	if (!buf)
		return EX_SOFTWARE;
	len = sink_hj212_preview(cfg, k, recs, n, buf, ENC_OUT_MAX);
	if (len < 0) {
		fprintf(stderr, "outfallctl hj212 encode: %s: cannot build the packets: %s\n",
			h->name, strerror(-len));
		free(buf);
		return EX_SOFTWARE;
	}
	fprintf(stderr, "platform %s (%s:%d, MN %s), outlet %s: 2081%s\n", h->name, h->host,
		h->port, h->mn, cfg->outlets[h->outlet].id,
		(h->send & HJS_RTD) ? ", then the 2011 of this read" : " (send has no 2011)");
	fwrite(buf, 1, (size_t)len, stdout);
	free(buf);
	return EX_OK;
}

static int encode_run(const struct config *cfg, const char *path, const char *platform,
		      const char *values)
{
	struct record *recs = calloc(cfg->n_sensors + cfg->n_outlets + 1, sizeof(*recs));
	size_t n = 0;
	int rc = EX_OK, rc2;

	if (!recs)
		return EX_SOFTWARE;
	if (values) {
		struct rec_value vals[REC_MAX_VALUES];
		uint8_t nv = 0;
		int64_t now = clock_wall_ms();

		setenv("TZ", cfg->timezone, 1); /* the outlet's local time, as outfalld */
		tzset();
		rc = parse_values(values, vals, &nv);
		for (size_t o = 0; rc == EX_OK && o < cfg->n_outlets; o++) {
			recs[n] = (struct record){ .type = REC_POLL, .ts_ms = now };
			snprintf(recs[n].u.poll.outlet, sizeof(recs[n].u.poll.outlet), "%s",
				 cfg->outlets[o].id);
			snprintf(recs[n].u.poll.sensor, sizeof(recs[n].u.poll.sensor), "values");
			memcpy(recs[n].u.poll.values, vals, sizeof(vals));
			recs[n++].u.poll.n = nv;
		}
	} else {
		rc = read_sensors(cfg, path, recs, &n);
	}
	for (size_t k = 0; (rc == EX_OK || rc == EX_UNAVAILABLE) && k < cfg->n_hj212; k++)
		if (!platform || strcmp(cfg->hj212[k].name, platform) == 0)
			if ((rc2 = encode_one(cfg, k, recs, n)) != EX_OK)
				rc = rc2;
	free(recs);
	return fflush(stdout) == 0 ? rc : EX_IOERR;
}

static bool has_platform(const struct config *cfg, const char *name)
{
	for (size_t k = 0; k < cfg->n_hj212; k++)
		if (strcmp(cfg->hj212[k].name, name) == 0)
			return true;
	fprintf(stderr, "outfallctl hj212 encode: no platform \"%s\" in sinks.hj212; it has:",
		name);
	for (size_t k = 0; k < cfg->n_hj212; k++)
		fprintf(stderr, " %s", cfg->hj212[k].name);
	fputc('\n', stderr);
	return false;
}

static int hj212_encode(int argc, char **argv)
{
	enum { OPT_PLATFORM = 0x100, OPT_VALUES };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "values", required_argument, NULL, OPT_VALUES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CTL_DEFAULT_CONFIG, *platform = NULL, *values = NULL;
	struct config *cfg = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (opt == 'c') {
			path = optarg;
		} else if (opt == OPT_PLATFORM) {
			platform = optarg;
		} else if (opt == OPT_VALUES) {
			values = optarg;
		} else if (opt == 'h') {
			encode_usage(stdout);
			return EX_OK;
		} else {
			encode_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl hj212 encode: unexpected argument \"%s\"\n",
			argv[optind]);
		return EX_USAGE;
	}
	rc = config_load(path, &cfg, stderr);
	if (rc == -ENOMEM) {
		fprintf(stderr, "outfallctl: out of memory loading %s\n", path);
		return EX_SOFTWARE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %d error%s\n", path, rc, rc == 1 ? "" : "s");
		return EX_CONFIG;
	}
	if (cfg->n_hj212 == 0) {
		fprintf(stderr, "outfallctl hj212 encode: %s has no HJ 212 platform (sinks.hj212)\n",
			path);
		rc = EX_CONFIG;
	} else if (platform && !has_platform(cfg, platform)) {
		rc = EX_USAGE;
	} else {
		rc = encode_run(cfg, path, platform, values);
	}
	config_free(cfg);
	return rc;
}

/* ---- decode ------------------------------------------------------------------- */

static void decode_usage(FILE *out)
{
	fprintf(out,
		"usage: outfallctl hj212 decode [--pw PW] [--mn MN] < packets\n"
		"Reads HJ 212 packets from stdin, one per line (CR LF or LF; blank lines are\n"
		"skipped), checks each as a strict platform would and prints its header fields\n"
		"and data area, one factor a line with the parameter it stands for. What is\n"
		"wrong is named with its numbers: a bad CRC with the one the data segment has,\n"
		"a length field that is not the segment's length in UTF-8 bytes, a missing or\n"
		"malformed field, a QN or DataTime that is not a time, a data flag outside\n"
		"N F M S D C T B. A line without its CR LF (pasted from a log) gets a note.\n"
		"\n"
		"  --pw PW    the access password the platform expects (default: any)\n"
		"  --mn MN    the device code it expects (default: any)\n"
		"  -h, --help this help\n"
		"\n"
		"exit codes: 0 every packet good, 64 usage, 65 a packet is bad, 66 no packet\n"
		"on stdin, 74 I/O error\n");
}

/* One line: checked and printed; true when it is good. */
static bool decode_line(const char *line, size_t len, unsigned no, const char *pw,
			const char *mn)
{
	struct hjc_result *r = malloc(sizeof(*r));
	bool good;

	if (!r) {
		fprintf(stderr, "outfallctl: out of memory\n");
		return false;
	}
	good = hjc_check(line, len, pw, mn, r) == 0;
	if (r->parsed) {
		const char *name = hjc_cn_name(r->msg.cn);

		printf("line %u: %s: CN %d%s%s%s, %zu-byte data segment\n", no,
		       good ? "good" : "BAD", r->msg.cn, name ? " (" : "", name ? name : "",
		       name ? ")" : "", r->seg_len);
	} else {
		printf("line %u: BAD: not a packet that can be read\n", no);
	}
	hjc_print(r, "  ", stdout);
	free(r);
	return good;
}

static bool blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

static int hj212_decode(int argc, char **argv)
{
	enum { OPT_PW = 0x100, OPT_MN };
	static const struct option longopts[] = {
		{ "pw", required_argument, NULL, OPT_PW },
		{ "mn", required_argument, NULL, OPT_MN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pw = NULL, *mn = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned no = 0, packets = 0, bad = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == OPT_PW) {
			pw = optarg;
		} else if (opt == OPT_MN) {
			mn = optarg;
		} else if (opt == 'h') {
			decode_usage(stdout);
			return EX_OK;
		} else {
			decode_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "outfallctl hj212 decode: unexpected argument \"%s\" (packets "
			"come on stdin)\n", argv[optind]);
		return EX_USAGE;
	}
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		no++;
		if (blank_line(line, (size_t)len))
			continue;
		packets++;
		bad += !decode_line(line, (size_t)len, no, pw, mn);
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "outfallctl hj212 decode: reading stdin: %s\n", strerror(errno));
		return EX_IOERR;
	}
	if (packets == 0) {
		fprintf(stderr, "outfallctl hj212 decode: no packet on stdin\n");
		return EX_NOINPUT;
	}
	if (packets > 1)
		printf("%u packets, %u bad\n", packets, bad);
	if (fflush(stdout) != 0)
		return EX_IOERR;
	return bad ? EX_DATAERR : EX_OK;
}

/* ---- the verb ------------------------------------------------------------------ */

int ctl_hj212(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {
		{ "encode", hj212_encode },
		{ "decode", hj212_decode },
		{ "listen", ctl_hj212_listen },
	};

	if (argc < 2) {
		hj212_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		hj212_usage(stdout);
		return EX_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "outfallctl hj212: unknown subcommand \"%s\"\n", argv[1]);
	hj212_usage(stderr);
	return EX_USAGE;
}
