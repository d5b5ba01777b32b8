/*
 * ctl_bus.c - opens a serial bus for outfallctl under the lock the daemon's
 * driver takes (an exclusive flock on the device plus TIOCEXCL, see
 * drivers/modbus_rtu.c), so the tool never talks on a bus behind the
 * daemon's back, and names whoever holds a busy bus: the holder from
 * /proc/locks, else the daemon's pid from its status.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon/daemon.h"
#include "drivers/driver.h"

int ctl_bus_probe(const char *device)
{
	return buslock_probe(device);
}

static int open_failed(const struct ctl_line *l, int e)
{
	const char *dev = l->bus.device;

	if (e == EBUSY) {
		char msg[CTL_PATH_MAX + 256];

		ctl_bus_busy(dev, l->config_path, msg, sizeof(msg));
		fprintf(stderr, "outfallctl: %s\n", msg);
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "outfallctl: cannot open %s: %s%s\n", dev, strerror(e),
		e == ENOENT ? " (is the adapter plugged in? see ls /dev/serial/by-id/)"
		: e == EACCES ? " (is this user in group dialout?)" : "");
	return e == ENOENT ? EX_NOINPUT : e == EACCES ? EX_NOPERM : EX_IOERR;
}

int ctl_bus_open(const struct ctl_line *l, modbus_t **out)
{
	const struct cfg_bus *b = &l->bus;
	modbus_t *mb;
	int fd;

	if (ctl_bus_probe(b->device) == -EBUSY)
		return open_failed(l, EBUSY);
	mb = modbus_new_rtu(b->device, b->baud, b->parity, b->data_bits, b->stop_bits);
	if (!mb) {
		fprintf(stderr, "outfallctl: %s: %s\n", b->device, strerror(errno));
		return EX_SOFTWARE;
	}
	modbus_set_response_timeout(mb, (uint32_t)(b->timeout_ms / 1000),
				    (uint32_t)(b->timeout_ms % 1000) * 1000);
	if (modbus_connect(mb) < 0) {
		int e = errno;

		modbus_free(mb);
		return open_failed(l, e);
	}
	fd = buslock_claim(modbus_get_socket(mb)); /* taken since the probe? */
	if (fd < 0) {
		modbus_close(mb);
		modbus_free(mb);
		return open_failed(l, -fd);
	}
	*out = mb;
	return 0;
}

void ctl_bus_close(modbus_t *mb)
{
	if (!mb)
		return;
	buslock_release(modbus_get_socket(mb));
	modbus_close(mb);
	modbus_free(mb);
}

/* ---- who holds it ------------------------------------------------------- */

/* Next "maj:min:ino" field (hex, hex, decimal) of a /proc/locks line. */
static bool parse_inode(const char *s, unsigned long *maj, unsigned long *min,
			unsigned long long *ino)
{
	char *end = NULL;

	*maj = strtoul(s, &end, 16);
	if (*end != ':')
		return false;
	*min = strtoul(end + 1, &end, 16);
	if (*end != ':')
		return false;
	*ino = strtoull(end + 1, &end, 10);
	return *end == '\0';
}

/* "1: FLOCK  ADVISORY  WRITE 1234 00:05:87 0 EOF": the pid if the line is a
 * granted flock on the inode in sb, else 0. */
static long match_lock(char *line, const struct stat *sb)
{
	char *tok[6], *save = NULL, *end = NULL;
	unsigned long maj, min;
	unsigned long long ino;
	int n = 0;
	long pid;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < 6;
	     t = strtok_r(NULL, " \t\n", &save)) {
		if (strcmp(t, "->") == 0)
			return 0; /* waiting for the lock, not holding it */
		tok[n++] = t;
	}
	if (n < 6 || strcmp(tok[1], "FLOCK") != 0 || !parse_inode(tok[5], &maj, &min, &ino))
		return 0;
	if (maj != major(sb->st_dev) || min != minor(sb->st_dev) || ino != sb->st_ino)
		return 0;
	pid = strtol(tok[4], &end, 10);
	return *end == '\0' && pid > 0 ? pid : 0;
}

static long lock_holder(const char *device)
{
	struct stat sb;
	char line[256];
	long pid = 0;
	FILE *fp;

	if (stat(device, &sb) < 0)
		return 0;
	fp = fopen("/proc/locks", "re");
	if (!fp)
		return 0;
	while (!pid && fgets(line, sizeof(line), fp))
		pid = match_lock(line, &sb);
	fclose(fp);
	return pid;
}

/* The command name of pid ("outfalld"), or "" when it cannot be read. */
static void process_name(long pid, char *buf, size_t cap)
{
	char path[64];
	FILE *fp;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	if (fgets(buf, (int)cap, fp))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
}

static bool same_device(const char *a, const char *b)
{
	char ra[CTL_PATH_MAX], rb[CTL_PATH_MAX];

	if (strcmp(a, b) == 0)
		return true;
	return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

/* The pid a running daemon wrote in its status.json, if it polls device. */
static long status_pid(const char *device, const char *config_path, char *file, size_t cap)
{
	struct status_snapshot s = { 0 };
	struct config *cfg = NULL;
	FILE *quiet = fopen("/dev/null", "we");
	long pid = 0;
	int n;

	if (!quiet)
		return 0;
	if (config_load(config_path ? config_path : CTL_DEFAULT_CONFIG, &cfg, quiet) != 0) {
		fclose(quiet);
		return 0;
	}
	fclose(quiet);
	n = snprintf(file, cap, "%s/%s", cfg->run_dir, STATUS_FILE);
	config_free(cfg);
	if (n < 0 || (size_t)n >= cap || status_read(file, &s) < 0)
		return 0;
	for (size_t i = 0; i < s.n_sensors && !pid; i++)
		if (!s.stopped && same_device(s.sensors[i].device, device))
			pid = (long)s.pid;
	status_clear(&s);
	return pid;
}

void ctl_bus_busy(const char *device, const char *config_path, char *buf, size_t cap)
{
	char name[64] = "", file[CTL_PATH_MAX] = "";
	long pid = lock_holder(device);
	const char *hint = "stop it or use `outfallctl status`";

	if (pid > 0)
		process_name(pid, name, sizeof(name));
	else
		pid = status_pid(device, config_path, file, sizeof(file));
	if (pid > 0 && file[0])
		snprintf(buf, cap, "bus %s is in use by outfalld (pid %ld, from %s); %s", device,
			 pid, file, hint);
	else if (pid > 0 && strcmp(name, "outfalld") == 0)
		snprintf(buf, cap, "bus %s is in use by outfalld (pid %ld); %s", device, pid, hint);
	else if (pid > 0 && name[0])
		snprintf(buf, cap, "bus %s is in use by %s (pid %ld); close that program first",
			 device, name, pid);
	else if (pid > 0)
		snprintf(buf, cap, "bus %s is in use by process %ld, probably outfalld; %s", device,
			 pid, hint);
	else
		snprintf(buf, cap, "bus %s is in use by another process, probably outfalld; %s",
			 device, hint);
}
