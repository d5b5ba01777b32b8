/* fuzz.c - the helpers every harness links (see fuzz.h). */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: property failed: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fuzz_quiet_logs(void)
{
	if (!getenv("FUZZ_VERBOSE"))
		log_set_level(0);
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = in->p[0];
	in->p++;
	in->n--;
	return b;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);

	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

unsigned fuzz_pick(struct fuzz_in *in, unsigned n)
{
	return n <= 1 ? 0 : (n <= 256 ? fuzz_u8(in) : fuzz_u16(in)) % n;
}

size_t fuzz_take(struct fuzz_in *in, size_t max, const uint8_t **out)
{
	size_t want = max > 255 ? fuzz_u16(in) : fuzz_u8(in);
	size_t n = want % (max + 1);

	if (n > in->n)
		n = in->n;
	*out = in->p;
	in->p += n;
	in->n -= n;
	return n;
}

static char dir_path[256];

static void rm_tree(const char *path, bool keep_top)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= (int)sizeof(sub))
			continue;
		if (unlink(sub) < 0)
			rm_tree(sub, false);
	}
	closedir(d);
	if (!keep_top)
		rmdir(path);
}

static void dir_remove(void)
{
	if (dir_path[0])
		rm_tree(dir_path, false);
}

const char *fuzz_dir(void)
{
	const char *tmp = getenv("FUZZ_TMPDIR");

	if (dir_path[0])
		return dir_path;
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(dir_path, sizeof(dir_path), "%s/outfall-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir_path)) {
		fprintf(stderr, "fuzz: cannot make a scratch directory: %s\n", strerror(errno));
		exit(1);
	}
	atexit(dir_remove);
	return dir_path;
}

void fuzz_dir_clear(void)
{
	rm_tree(fuzz_dir(), true);
}

bool fuzz_write_file(const char *name, const void *buf, size_t len)
{
	char path[512];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = len == 0 || write(fd, buf, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}
