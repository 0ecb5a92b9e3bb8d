/* netkill.c - an LD_PRELOAD library for the crash-consistency tests of
 * the batch backend: it ends the process with SIGKILL at its Nth socket
 * send, before or after the bytes go, so that a test can stop `rapid
 * build` at any point of its conversation with S3 and Batch (a request
 * never sent, one sent whose answer never arrives). Built by the tests
 * themselves (cc -shared -fPIC).
 *
 * Counted calls: send, sendto, sendmsg, and write/writev on a socket, in
 * the process the library was loaded into (not in its children).
 * Environment:
 *   NETKILL_AT=N        SIGKILL at the Nth counted call
 *   NETKILL_AFTER=1     after that call has sent its bytes (default: before)
 *   NETKILL_REACHED=F   created just before the kill
 *   NETKILL_COUNT=F     written with the number of counted calls at exit
 *   NETKILL_TRACE=F     appended with "N REQUEST-LINE" for each counted call
 *                       whose bytes begin an HTTP request */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static pid_t owner;
static long count, kill_at;
static int after;
static const char *reached, *count_file, *trace;

static void at_exit_count(void)
{
	if (!count_file || getpid() != owner)
		return;
	FILE *f = fopen(count_file, "w");
	if (f) {
		fprintf(f, "%ld\n", count);
		fclose(f);
	}
}

__attribute__((constructor)) static void netkill_init(void)
{
	owner = getpid();
	const char *k = getenv("NETKILL_AT");
	kill_at = k ? atol(k) : 0;
	after = getenv("NETKILL_AFTER") && !strcmp(getenv("NETKILL_AFTER"), "1");
	reached = getenv("NETKILL_REACHED");
	count_file = getenv("NETKILL_COUNT");
	trace = getenv("NETKILL_TRACE");
	unsetenv("LD_PRELOAD"); /* not in what it runs */
	atexit(at_exit_count);
}

static void die(void)
{
	if (reached) {
		int fd = open(reached, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			close(fd);
	}
	kill(getpid(), SIGKILL);
}

static void trace_call(const void *buf, size_t len)
{
	if (!trace || !buf)
		return;
	const char *b = buf;
	size_t n = 0;
	while (n < len && n < 200 && b[n] != '\r' && b[n] != '\n')
		n++;
	if (n < 4 || !(b[0] >= 'A' && b[0] <= 'Z'))
		return;
	FILE *f = fopen(trace, "a");
	if (f) {
		fprintf(f, "%ld %.*s\n", count, (int)n, b);
		fclose(f);
	}
}

/* Count one call (its bytes for the trace); kill before it when it is
 * the one. */
static int before_call(const void *buf, size_t len)
{
	if (getpid() != owner)
		return 0;
	count++;
	trace_call(buf, len);
	if (kill_at && count == kill_at && !after)
		die();
	return kill_at && count == kill_at;
}

#define AFTER(hit) do { if ((hit) && after) die(); } while (0)

static int is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, const void *, size_t, int);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
	int hit = before_call(buf, len);
	ssize_t r = real(fd, buf, len, flags);
	AFTER(hit);
	return r;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
	static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t))dlsym(
			RTLD_NEXT, "sendto");
	int hit = before_call(buf, len);
	ssize_t r = real(fd, buf, len, flags, to, tolen);
	AFTER(hit);
	return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	if (!real)
		real = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	int hit = before_call(msg->msg_iovlen ? msg->msg_iov[0].iov_base : NULL,
			      msg->msg_iovlen ? msg->msg_iov[0].iov_len : 0);
	ssize_t r = real(fd, msg, flags);
	AFTER(hit);
	return r;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (fd < 3 || !is_socket(fd))
		return real(fd, buf, len);
	int hit = before_call(buf, len);
	ssize_t r = real(fd, buf, len);
	AFTER(hit);
	return r;
}
