/* fingerprint_test.c - local file fingerprints and their cache: known
 * hashes, cache hits without re-reading, what invalidates a cached hash
 * (touch, same-size rewrite with the mtime put back, the racy window),
 * refresh, missing files, directories, and records of the wrong size. */
#include "engine/fingerprint.h"
#include "engine/state.h"
#include "lib/hash.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static char *tmpdir;


static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The fingerprint the library itself gives for these bytes. */
static char *expected_fp(const void *data, size_t n)
{
	XXH128_canonical_t c;
	char hex[33];
	XXH128_canonicalFromHash(&c, XXH3_128bits(data, n));
	hex_encode(c.digest, 16, hex);
	return xasprintf("size=%zu xxh3=%s", n, hex);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		perror(path);
	if (fd >= 0)
		close(fd);
}

/* Set mtime to sec seconds from now (negative: the past). */
static void set_mtime(const char *path, time_t sec)
{
	struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) + sec, 123456789}};
	if (utimensat(AT_FDCWD, path, t, 0) < 0)
		perror("utimensat");
}

struct run {
	int rc;
	char out[FP_MAX];
	struct fp_stats stats;
	char *err;
};

/* One fp_local in a fresh context, as one plan would; then commit. */
static struct run one(struct state *st, const char *path, bool refresh)
{
	struct run r = {0};
	struct fp_ctx *c = fp_new(st, refresh);
	capture_begin();
	r.rc = fp_local(c, path, r.out);
	r.err = capture_end();
	if (r.rc < 0) {
		/* fp_local prints nothing: its caller reports fp_error */
		char *e = xasprintf("%srapid: %s\n", r.err ? r.err : "", fp_error(c));
		free(r.err);
		r.err = e;
	}
	r.stats = *fp_get_stats(c);
	fp_free(c);
	if (st && state_commit(st) < 0)
		r.rc = -99;
	return r;
}

static void test_cache(struct state *st)
{
	static const char text[] = "hello, rapid\n";
	char *f = path_join(tmpdir, "input.txt");
	char *want = expected_fp(text, sizeof(text) - 1);
	write_bytes(f, text, sizeof(text) - 1);
	set_mtime(f, -3600);

	struct fp_ctx *c = fp_new(st, false);
	char out[FP_MAX];
	TAP_IS_INT(fp_local(c, f, out), 1, "fp_local on a file is 1");
	TAP_IS_STR(out, want, "its fingerprint is size and XXH3-128 (canonical hex)");
	TAP_IS_INT(fp_get_stats(c)->hashed, 1, "it was hashed");
	TAP_IS_INT(fp_get_stats(c)->bytes_hashed, sizeof(text) - 1, "every byte was read");
	TAP_IS_INT(fp_local(c, f, out), 1, "a second fp_local in the same run");
	TAP_IS_STR(out, want, "gives the same fingerprint");
	TAP_IS_INT(fp_get_stats(c)->hashed, 1, "without reading the file again");
	TAP_IS_INT(fp_get_stats(c)->cached, 1, "from the run's memory");
	fp_free(c);
	TAP_IS_INT(state_commit(st), 0, "commit the cache records");

	struct run r = one(st, f, false);
	TAP_IS_STR(r.out, want, "next run: same fingerprint");
	TAP_IS_INT(r.stats.hashed, 0, "next run: no file read");
	TAP_IS_INT(r.stats.cached, 1, "next run: answered from the state");
	TAP_IS_INT(r.stats.bytes_hashed, 0, "next run: no bytes read");
	free(r.err);

	uint8_t h[16];
	uint64_t size = 0;
	char hex[33];
	TAP_IS_INT(hash_file(f, h, &size), 0, "hash_file");
	hex_encode(h, 16, hex);
	char *s = xasprintf("size=%llu xxh3=%s", (unsigned long long)size, hex);
	TAP_IS_STR(s, want, "hash_file agrees with fp_local");
	free(s);
	errno = 0;
	TAP_IS_INT(hash_file("/no/such/file", h, &size), -1, "hash_file on a missing file is -1");
	TAP_IS_INT(errno, ENOENT, "with errno ENOENT");

	/* touch: same bytes, new mtime. */
	set_mtime(f, -1800);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 1, "touch: re-hashed");
	TAP_IS_STR(r.out, want, "touch: same fingerprint");
	free(r.err);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 0, "touch: re-hashed once only");
	TAP_IS_INT(r.stats.cached, 1, "touch: then cached again");
	free(r.err);

	/* Same size, mtime put back: only ctime tells. */
	struct stat before, after;
	stat(f, &before);
	sleep_ms(30); /* ctime must land in a later clock tick */
	static const char text2[] = "HELLO, RAPID\n";
	write_bytes(f, text2, sizeof(text2) - 1);
	struct timespec t[2] = {{0, UTIME_OMIT}, before.st_mtim};
	utimensat(AT_FDCWD, f, t, 0);
	stat(f, &after);
	TAP_OK(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	       after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && after.st_size == before.st_size &&
	       (after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
		after.st_ctim.tv_nsec != before.st_ctim.tv_nsec),
	       "rewrite: same size and mtime, new ctime");
	char *want2 = expected_fp(text2, sizeof(text2) - 1);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 1, "rewrite: re-hashed");
	TAP_IS_STR(r.out, want2, "rewrite: the new content's fingerprint");
	free(r.err);

	/* refresh ignores a valid cache entry. */
	r = one(st, f, false);
	TAP_IS_INT(r.stats.cached, 1, "the rewrite is cached");
	free(r.err);
	r = one(st, f, true);
	TAP_IS_INT(r.stats.hashed, 1, "refresh: re-hashed");
	TAP_IS_INT(r.stats.cached, 0, "refresh: nothing from the cache");
	TAP_IS_STR(r.out, want2, "refresh: same fingerprint");
	free(r.err);

	/* A record of another size (an older layout, damage) is a miss. */
	char *abs = f;
	state_put(st, STATE_FP, abs, strlen(abs), "short", 5);
	TAP_IS_INT(state_commit(st), 0, "store a 5-byte record for the file");
	r = one(st, f, false);
	TAP_IS_INT(r.rc, 1, "wrong-sized record: fp_local still works");
	TAP_IS_INT(r.stats.hashed, 1, "wrong-sized record: a miss, re-hashed");
	TAP_IS_STR(r.out, want2, "wrong-sized record: right fingerprint");
	TAP_IS_STR(r.err, "", "wrong-sized record: silently");
	free(r.err);
	size_t vlen = 0;
	struct fp_record rec;
	TAP_IS_INT(state_get_into(st, STATE_FP, abs, strlen(abs), &rec, sizeof(rec), &vlen), 1,
		   "the record was rewritten");
	TAP_IS_INT(vlen, sizeof(rec), "at its proper size");
	TAP_IS_INT(rec.size, sizeof(text2) - 1, "holding the size");
	TAP_IS_INT(rec.ino, after.st_ino, "and the inode");

	/* A record matching the stat but for other bytes proves the cache is
	 * what answers (and that a trusted record is never re-read). */
	memset(rec.hash, 0xab, sizeof(rec.hash));
	state_put(st, STATE_FP, abs, strlen(abs), &rec, sizeof(rec));
	TAP_IS_INT(state_commit(st), 0, "forge the cached hash");
	r = one(st, f, false);
	TAP_IS_STR(r.out, "size=13 xxh3=abababababababababababababababab",
		   "a matching record is trusted without reading");
	free(r.err);
	r = one(st, f, true);
	TAP_IS_STR(r.out, want2, "refresh repairs it");
	free(r.err);

	free(want);
	free(want2);
	free(f);
}

/* A file modified just before it is hashed cannot be trusted yet. Its
 * mtime is set 10 s ahead so that a loaded machine sees the same thing;
 * then it is put an hour back, as if the window had passed. */
static void test_racy(struct state *st)
{
	char *f = path_join(tmpdir, "fresh.txt");
	write_bytes(f, "new\n", 4);
	int64_t m = now_ns() + 10000000000LL;
	struct timespec t[2] = {{0, UTIME_OMIT}, {(time_t)(m / 1000000000), (long)(m % 1000000000)}};
	utimensat(AT_FDCWD, f, t, 0);
	struct run r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 1, "racy: hashed");
	free(r.err);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 1, "racy: hashed again (modified within FP_RACY_NS of the hash)");
	free(r.err);
	set_mtime(f, -3600);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.hashed, 1, "racy: hashed once more after the window");
	free(r.err);
	r = one(st, f, false);
	TAP_IS_INT(r.stats.cached, 1, "racy: then trusted");
	free(r.err);
	free(f);
}

static void test_errors(struct state *st)
{
	char *f = path_join(tmpdir, "missing.txt");
	struct run r = one(st, f, false);
	TAP_IS_INT(r.rc, 0, "missing: 0");
	TAP_IS_INT(r.stats.missing, 1, "missing: counted");
	TAP_IS_STR(r.err, "", "missing: no message");
	free(r.err);
	free(f);

	char *file = path_join(tmpdir, "plain");
	write_bytes(file, "x", 1);
	f = path_join(file, "below");
	r = one(st, f, false);
	TAP_IS_INT(r.rc, 0, "a path below a file (ENOTDIR): 0");
	TAP_IS_INT(r.stats.missing, 1, "ENOTDIR: counted as missing");
	free(r.err);
	free(f);
	free(file);

	char *want = xasprintf("rapid: cannot read '%s': is a directory (write it with a trailing '/' to read it as a folder)\n", tmpdir);
	r = one(st, tmpdir, false);
	TAP_IS_INT(r.rc, -1, "directory: -1");
	TAP_IS_STR(r.err, want, "directory: the message");
	free(r.err);
	free(want);

	/* Its size (0) never matches what a read gives: the file "changes"
	 * both times it is read. */
	r = one(st, "/proc/self/status", false);
	TAP_IS_INT(r.rc, -1, "a file that changes while read: -1");
	TAP_IS_STR(r.err, "rapid: cannot read '/proc/self/status': changed while being read\n",
		   "with the message");
	free(r.err);

	r = one(st, "/dev/null", false);
	TAP_IS_INT(r.rc, -1, "a device: -1");
	TAP_IS_STR(r.err, "rapid: cannot read '/dev/null': not a regular file\n", "with the message");
	free(r.err);
}

/* Spans several read chunks; also without a state. */
static void test_big(void)
{
	size_t n = (3 << 20) + 17;
	uint8_t *data = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	char *f = path_join(tmpdir, "big.bin");
	write_bytes(f, data, n);
	char *want = expected_fp(data, n);
	struct run r = one(NULL, f, false);
	TAP_IS_INT(r.rc, 1, "a 3 MiB file without a state");
	TAP_IS_STR(r.out, want, "hashes as one buffer would");
	TAP_IS_INT(r.stats.bytes_hashed, n, "every byte read");
	free(r.err);
	struct fp_ctx *c = fp_new(NULL, false);
	char out[FP_MAX];
	/* An mtime in the future is always inside the racy window, however
	 * slowly this machine gets from writing the file to hashing it. */
	set_mtime(f, 60);
	fp_local(c, f, out);
	fp_local(c, f, out);
	TAP_IS_INT(fp_get_stats(c)->hashed, 2, "no state, modified within the racy window: read every time");
	set_mtime(f, -60);
	fp_local(c, f, out);
	fp_local(c, f, out);
	TAP_IS_INT(fp_get_stats(c)->hashed, 3, "no state: the run's memory avoids re-reading");
	TAP_IS_INT(fp_get_stats(c)->cached, 1, "and answers");
	fp_free(c);
	free(want);
	free(f);
	free(data);
}

/* How long a no-op plan's fingerprinting takes: N files, all cached. */
static void test_speed(struct state *st)
{
	enum { N = 5000, ROUNDS = 10 };
	char *dir = path_join(tmpdir, "many");
	char **paths = xcalloc(N, sizeof(*paths));
	char out[FP_MAX];
	mkdir_p(dir, 0755);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%05d", i);
		paths[i] = path_join(dir, name);
		write_bytes(paths[i], name, strlen(name));
		set_mtime(paths[i], -60);
	}
	struct fp_ctx *c = fp_new(st, false);
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += fp_local(c, paths[i], out) != 1;
	fp_free(c);
	TAP_IS_INT(state_commit(st), 0, "commit %d records", N);
	double t0 = secs();
	c = fp_new(st, false);
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < N; i++)
			bad += fp_local(c, paths[i], out) != 1;
	double t1 = secs();
	TAP_IS_INT(bad, 0, "every fp_local succeeded");
	TAP_IS_INT(fp_get_stats(c)->cached, N * ROUNDS, "all %d answered from the cache", N * ROUNDS);
	TAP_IS_INT(fp_get_stats(c)->hashed, 0, "none read");
	printf("# %d cached fp_local calls: %.1f ms (%.0f ns each)\n", N * ROUNDS, (t1 - t0) * 1e3,
	       (t1 - t0) * 1e9 / (N * ROUNDS));
	fp_free(c);
	state_commit(st);
	for (int i = 0; i < N; i++)
		free(paths[i]);
	free(paths);
	free(dir);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	tmpdir = xasprintf("%s/rapid-fp-test.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	char *sd = path_join(tmpdir, ".rapid/state");
	struct state *st = state_open(sd);
	TAP_OK(st != NULL, "open a state");
	if (st) {
		test_cache(st);
		test_racy(st);
		test_errors(st);
		test_speed(st);
	}
	test_big();
	state_close(st);
	free(sd);
	remove_tree(tmpdir);
	free(tmpdir);
	return tap_done();
}
