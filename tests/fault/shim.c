/* shim.c - an LD_PRELOAD library for the data-safety tests: it counts,
 * traces, fails or ends with SIGKILL the file-system calls of rapid's
 * runners. Built by the tests themselves (cc -shared -fPIC).
 *
 * Only the runners count: the shim is active in the process it was first
 * loaded into (rapid build, which records its pid in FAULTSHIM_ROOT for
 * the processes it execs, where the shim stays inert) and acts only in the
 * processes that one forks without exec, which are the runners. The count
 * lives in a shared mapping made before the first fork, so with -j 1 it
 * runs over every runner in order and is the same from one run to the next.
 *
 * Counted calls: rename renameat renameat2 link linkat unlink unlinkat rmdir.
 * Environment:
 *   FAULTSHIM_KILL_AT=N      SIGKILL the runner right after its Nth counted call
 *   FAULTSHIM_REACHED=FILE   created just before that kill
 *   FAULTSHIM_KILL_PATH=S    SIGKILL the runner right after a counted call
 *                            whose (last) path contains S
 *   FAULTSHIM_FAIL_PATH=S    a rename whose new path contains S fails with EIO
 *   FAULTSHIM_TRACE=FILE     append "op path [path2]" for each counted call
 *                            and "fsync path" for each fsync/fdatasync */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int active;
static pid_t root;
static long *counter;
static long kill_at;
static const char *reached, *kill_path, *fail_path, *trace;

__attribute__((constructor)) static void shim_init(void)
{
	if (getenv("FAULTSHIM_ROOT"))
		return; /* exec'd by a rapid that carries the shim: inert */
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("FAULTSHIM_ROOT", pid, 1);
	root = getpid();
	counter = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counter == MAP_FAILED)
		return;
	*counter = 0;
	const char *k = getenv("FAULTSHIM_KILL_AT");
	kill_at = k ? atol(k) : 0;
	reached = getenv("FAULTSHIM_REACHED");
	kill_path = getenv("FAULTSHIM_KILL_PATH");
	fail_path = getenv("FAULTSHIM_FAIL_PATH");
	trace = getenv("FAULTSHIM_TRACE");
	active = 1;
}

static int in_runner(void)
{
	return active && getpid() != root;
}

static void trace_line(const char *op, const char *a, const char *b)
{
	if (!trace)
		return;
	char line[8192];
	int n = snprintf(line, sizeof line, "%s %s%s%s\n", op, a ? a : "-", b ? " " : "", b ? b : "");
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	int fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0) {
		/* a test that reads the trace will notice */
	}
	close(fd);
}

/* After a counted call: count it, trace it, maybe die. */
static void counted(const char *op, const char *a, const char *b)
{
	int e = errno;
	long n = __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
	trace_line(op, a, b);
	const char *last = b ? b : a;
	if ((kill_at && n == kill_at) || (kill_path && last && strstr(last, kill_path))) {
		if (reached) {
			int fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
		kill(getpid(), SIGKILL);
	}
	errno = e;
}

static int fails(const char *newpath)
{
	return fail_path && newpath && strstr(newpath, fail_path);
}

#define REAL(ret, name, ...) \
	static ret (*real)(__VA_ARGS__); \
	if (!real) \
		real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

int rename(const char *a, const char *b)
{
	REAL(int, "rename", const char *, const char *);
	if (!in_runner())
		return real(a, b);
	if (fails(b)) {
		trace_line("rename-failed", a, b);
		errno = EIO;
		return -1;
	}
	int r = real(a, b);
	counted("rename", a, b);
	return r;
}

int renameat(int fa, const char *a, int fb, const char *b)
{
	REAL(int, "renameat", int, const char *, int, const char *);
	if (!in_runner())
		return real(fa, a, fb, b);
	if (fails(b)) {
		errno = EIO;
		return -1;
	}
	int r = real(fa, a, fb, b);
	counted("renameat", a, b);
	return r;
}

int renameat2(int fa, const char *a, int fb, const char *b, unsigned flags)
{
	REAL(int, "renameat2", int, const char *, int, const char *, unsigned);
	if (!in_runner())
		return real(fa, a, fb, b, flags);
	if (fails(b)) {
		errno = EIO;
		return -1;
	}
	int r = real(fa, a, fb, b, flags);
	counted("renameat2", a, b);
	return r;
}

int link(const char *a, const char *b)
{
	REAL(int, "link", const char *, const char *);
	if (!in_runner())
		return real(a, b);
	int r = real(a, b);
	counted("link", a, b);
	return r;
}

int linkat(int fa, const char *a, int fb, const char *b, int flags)
{
	REAL(int, "linkat", int, const char *, int, const char *, int);
	if (!in_runner())
		return real(fa, a, fb, b, flags);
	int r = real(fa, a, fb, b, flags);
	counted("linkat", a, b);
	return r;
}

int unlink(const char *a)
{
	REAL(int, "unlink", const char *);
	if (!in_runner())
		return real(a);
	int r = real(a);
	counted("unlink", a, NULL);
	return r;
}

int unlinkat(int fd, const char *a, int flags)
{
	REAL(int, "unlinkat", int, const char *, int);
	if (!in_runner())
		return real(fd, a, flags);
	int r = real(fd, a, flags);
	counted("unlinkat", a, NULL);
	return r;
}

int rmdir(const char *a)
{
	REAL(int, "rmdir", const char *);
	if (!in_runner())
		return real(a);
	int r = real(a);
	counted("rmdir", a, NULL);
	return r;
}

static void trace_fd(const char *op, int fd)
{
	if (!in_runner() || !trace)
		return;
	char fdpath[64], path[4096];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(fdpath, path, sizeof path - 1);
	if (n < 0)
		return;
	path[n] = 0;
	trace_line(op, path, NULL);
}

int fsync(int fd)
{
	REAL(int, "fsync", int);
	int r = real(fd);
	int e = errno;
	if (r == 0)
		trace_fd("fsync", fd);
	errno = e;
	return r;
}

int fdatasync(int fd)
{
	REAL(int, "fdatasync", int);
	int r = real(fd);
	int e = errno;
	if (r == 0)
		trace_fd("fsync", fd);
	errno = e;
	return r;
}
