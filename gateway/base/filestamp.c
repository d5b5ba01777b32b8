/* filestamp.c - file change stamps by stat(2) (see filestamp.h). */
#include "filestamp.h"

#include <string.h>
#include <sys/stat.h>

void filestamp_take(struct filestamp *fs, const char *path)
{
	struct stat st;

	memset(fs, 0, sizeof(*fs));
	if (!path || !path[0] || stat(path, &st) < 0)
		return;
	fs->exists = true;
	fs->dev = (uint64_t)st.st_dev;
	fs->ino = (uint64_t)st.st_ino;
	fs->size = (int64_t)st.st_size;
	fs->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

bool filestamp_changed(const struct filestamp *fs, const char *path)
{
	struct filestamp now;

	filestamp_take(&now, path);
	return now.exists != fs->exists || now.dev != fs->dev || now.ino != fs->ino ||
	       now.size != fs->size || now.mtime_ns != fs->mtime_ns;
}
