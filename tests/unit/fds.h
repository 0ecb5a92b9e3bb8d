/* fds.h - counting for the C unit tests: the entries of a folder, and the
 * descriptors this process has open (without the one that counting
 * opens), so a test can say "as many open as before". */
#ifndef RAPID_TEST_FDS_H
#define RAPID_TEST_FDS_H

#include <dirent.h>
#include <string.h>

/* The entries of dir besides . and ..; -1 if it cannot be read. */
static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* The descriptors open in this process. */
static inline int count_fds(void)
{
	return count_entries("/proc/self/fd") - 1; /* the one opendir holds */
}

#endif
