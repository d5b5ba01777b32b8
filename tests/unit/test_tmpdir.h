/*
 * test_tmpdir.h - removing a test's scratch directory tree, shared by the
 * unit-test fixtures (static inline: each test binary takes what it uses).
 */
#ifndef OUTFALL_TEST_TMPDIR_H
#define OUTFALL_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void test_rm_tree(const char *path)
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
			test_rm_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

#endif
