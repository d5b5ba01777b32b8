/*
 * main.c - outfalld command line (DESIGN §8): check a config with -n, or
 * load it and run the daemon in the foreground. Exit codes follow sysexits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "base/log.h"
#include "config/config.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_SOFTWARE 70
#define EX_CANTCREAT 73
#define EX_IOERR 74
#define EX_CONFIG 78

#define DEFAULT_CONFIG "/etc/outfall/outfall.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: outfalld [-c FILE] [-n] [--strict] [-v] [-V] [-h]\n"
		"  -c FILE  gateway config (default " DEFAULT_CONFIG ")\n"
		"  -n       check the config and its permits file, print a summary, exit\n"
		"  --strict treat every config warning as an error (with -n, and at start)\n"
		"  -v       verbose (debug) logging\n"
		"  -V       print the version and exit\n"
		"  -h       this help\n"
		"exit codes: 0 ok, 64 usage, 73/74 data_dir not creatable/writable, 78 config error\n");
}

/* mkdir -p for data_dir; returns 0 or -errno. */
static int make_dirs(const char *path)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* data_dir or run_dir (key names it in the log line). */
static int check_dir(const char *key, const char *dir)
{
	int rc = make_dirs(dir);
	struct stat st;

	if (rc < 0) {
		log_err("%s %s: cannot create: %s", key, dir, strerror(-rc));
		return EX_CANTCREAT;
	}
	/* mkdir says EEXIST for a file too, and access() then EACCES */
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		log_err("%s %s: not a directory (something else has that name: move it "
			"away, or set %s to a directory)", key, dir, key);
		return EX_CANTCREAT;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		log_err("%s %s: not writable: %s (it must belong to the daemon's user)", key,
			dir, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "strict", no_argument, NULL, 'S' },
						  { NULL, 0, NULL, 0 } };
	const char *path = DEFAULT_CONFIG;
	bool check_only = false;
	struct config_opts copts = { .strict = false };
	struct config *cfg = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'n': check_only = true; break;
		case 'S': copts.strict = true; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'V': printf("outfalld %s\n", OUTFALL_VERSION); return EX_OK;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	rc = config_load_opts(path, &copts, &cfg, stderr);
	if (rc == -ENOMEM) {
		log_err("out of memory loading %s", path);
		return EX_SOFTWARE;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: %d error%s%s, not started\n", path, rc, rc == 1 ? "" : "s",
			copts.strict && copts.warnings ? " (warnings count under --strict)" : "");
		return EX_CONFIG;
	}
	if (copts.warnings)
		fprintf(stderr, "%s: %d warning%s (listed above; --strict makes them errors)\n",
			path, copts.warnings, copts.warnings == 1 ? "" : "s");
	if (check_only) {
		config_print_summary(cfg, stdout);
		config_free(cfg);
		return EX_OK;
	}
	rc = check_dir("data_dir", cfg->data_dir);
	if (rc == EX_OK && strcmp(cfg->run_dir, cfg->data_dir) != 0)
		rc = check_dir("run_dir", cfg->run_dir);
	if (rc == EX_OK)
		return daemon_run(path, cfg);
	config_free(cfg);
	return rc;
}
