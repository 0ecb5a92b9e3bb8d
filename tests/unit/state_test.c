/* state_test.c - the LMDB state cache: get/put/del/commit, persistence,
 * map growth, concurrent writers, and starting afresh on corrupt or
 * foreign environments. */
#include "engine/state.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;


static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int get_str(struct state *st, enum state_db db, const char *k, char **out)
{
	void *v = NULL;
	size_t vlen = 0;
	int r = state_get(st, db, k, strlen(k), &v, &vlen);
	*out = NULL;
	if (r == 1) {
		*out = xstrndup(v, vlen);
		free(v);
	}
	return r;
}

static void put_str(struct state *st, enum state_db db, const char *k, const char *v)
{
	state_put(st, db, k, strlen(k), v, strlen(v));
}

static int file_exists(const char *dir, const char *name)
{
	struct stat sb;
	char *p = path_join(dir, name);
	int r = stat(p, &sb) == 0;
	free(p);
	return r;
}

static void test_basics(const char *dir)
{
	char *v, *err;
	capture_begin();
	struct state *st = state_open(dir);
	err = capture_end();
	TAP_OK(st != NULL, "state_open creates a new state folder");
	TAP_IS_STR(err, "", "a fresh state opens silently");
	free(err);
	if (!st)
		return;
	TAP_OK(file_exists(dir, "data.mdb") && file_exists(dir, "lock.mdb"),
	       "data.mdb and lock.mdb are in the folder");

	TAP_IS_INT(get_str(st, STATE_FP, "/no/such", &v), 0, "get on a missing key is 0");

	put_str(st, STATE_FP, "/a", "alpha");
	put_str(st, STATE_COMP, "k1", "components");
	TAP_IS_INT(get_str(st, STATE_FP, "/a", &v), 0, "a queued put is not seen before commit");
	TAP_IS_INT(state_commit(st), 0, "commit");
	TAP_IS_INT(get_str(st, STATE_FP, "/a", &v), 1, "get after commit finds the key");
	TAP_IS_STR(v, "alpha", "and returns its value");
	free(v);
	TAP_IS_INT(get_str(st, STATE_COMP, "/a", &v), 0, "databases are separate");
	TAP_IS_INT(get_str(st, STATE_COMP, "k1", &v), 1, "the other database has its key");
	free(v);

	char small[3] = {0};
	size_t vlen = 0;
	TAP_IS_INT(state_get_into(st, STATE_FP, "/a", 2, small, sizeof(small), &vlen), 1,
		   "state_get_into finds the key");
	TAP_IS_INT(vlen, 5, "state_get_into reports the stored size");
	TAP_OK(!memcmp(small, "alp", 3), "and copies only what fits");
	TAP_IS_INT(state_get_into(st, STATE_FP, "/zz", 3, small, sizeof(small), &vlen), 0,
		   "state_get_into on a missing key is 0");

	/* A zero-length value, and the last of two puts to one key wins. */
	state_put(st, STATE_LISTING, "empty", 5, "", 0);
	put_str(st, STATE_FP, "/a", "first");
	put_str(st, STATE_FP, "/a", "second");
	TAP_IS_INT(state_commit(st), 0, "commit an overwrite");
	TAP_IS_INT(get_str(st, STATE_FP, "/a", &v), 1, "overwritten key found");
	TAP_IS_STR(v, "second", "the last queued put wins");
	free(v);
	TAP_IS_INT(get_str(st, STATE_LISTING, "empty", &v), 1, "a zero-length value is stored");
	TAP_IS_STR(v, "", "and read back empty");
	free(v);

	state_del(st, STATE_FP, "/a", 2);
	state_del(st, STATE_FP, "/never", 6);
	TAP_IS_INT(state_commit(st), 0, "commit deletes (one of an absent key)");
	TAP_IS_INT(get_str(st, STATE_FP, "/a", &v), 0, "a deleted key is gone");
	TAP_IS_INT(state_commit(st), 0, "an empty commit is fine");

	/* Keys LMDB cannot hold directly. */
	char longkey[2000];
	memset(longkey, 'p', sizeof(longkey) - 1);
	longkey[0] = '/';
	longkey[sizeof(longkey) - 1] = 0;
	put_str(st, STATE_FP, longkey, "long");
	state_put(st, STATE_SUBMISSIONS, "", 0, "nokey", 5);
	TAP_IS_INT(state_commit(st), 0, "commit a 2,000-byte key and an empty key");
	TAP_IS_INT(get_str(st, STATE_FP, longkey, &v), 1, "the long key is found");
	TAP_IS_STR(v, "long", "with its value");
	free(v);
	longkey[1000] = 'q';
	TAP_IS_INT(get_str(st, STATE_FP, longkey, &v), 0, "a different long key is not");
	v = NULL;
	TAP_IS_INT(state_get(st, STATE_SUBMISSIONS, "", 0, (void **)&v, &vlen), 1,
		   "the empty key is found");
	TAP_OK(v && vlen == 5 && !memcmp(v, "nokey", 5), "with its value");
	free(v);
	state_del(st, STATE_FP, longkey, strlen(longkey));
	longkey[1000] = 'p';
	state_del(st, STATE_FP, longkey, strlen(longkey));
	TAP_IS_INT(state_commit(st), 0, "delete the long key");
	TAP_IS_INT(get_str(st, STATE_FP, longkey, &v), 0, "the long key is gone");

	/* Uncommitted changes are dropped by close. */
	put_str(st, STATE_FP, "/kept", "yes");
	TAP_IS_INT(state_commit(st), 0, "commit /kept");
	put_str(st, STATE_FP, "/dropped", "no");
	state_close(st);

	st = state_open(dir);
	TAP_OK(st != NULL, "reopen");
	if (!st)
		return;
	TAP_IS_INT(get_str(st, STATE_FP, "/kept", &v), 1, "a committed key persists across reopen");
	TAP_IS_STR(v, "yes", "with its value");
	free(v);
	TAP_IS_INT(get_str(st, STATE_COMP, "k1", &v), 1, "so do the other databases");
	free(v);
	TAP_IS_INT(get_str(st, STATE_FP, "/dropped", &v), 0, "close commits nothing");
	state_close(st);
	state_close(NULL);
}

static void test_many(const char *dir)
{
	enum { N = 100000 };
	struct state *st = state_open(dir);
	char k[64], want[64], got[64];
	TAP_OK(st != NULL, "open for 100k keys");
	if (!st)
		return;
	double t0 = secs();
	for (int i = 0; i < N; i++) {
		int kl = snprintf(k, sizeof(k), "/data/sub-%06d/func/bold.nii.gz", i);
		int vl = snprintf(want, sizeof(want), "value-%d", i * 7);
		state_put(st, STATE_FP, k, (size_t)kl, want, (size_t)vl);
	}
	double t1 = secs();
	TAP_IS_INT(state_commit(st), 0, "commit 100,000 puts in one transaction");
	double t2 = secs();
	int bad = 0;
	for (int i = 0; i < N; i++) {
		int kl = snprintf(k, sizeof(k), "/data/sub-%06d/func/bold.nii.gz", i);
		int vl = snprintf(want, sizeof(want), "value-%d", i * 7);
		size_t vlen = 0;
		if (state_get_into(st, STATE_FP, k, (size_t)kl, got, sizeof(got), &vlen) != 1 ||
		    vlen != (size_t)vl || memcmp(got, want, vlen))
			bad++;
	}
	double t3 = secs();
	TAP_IS_INT(bad, 0, "all 100,000 keys read back with their values");
	printf("# 100k: queue %.1f ms, commit %.1f ms, %d gets %.1f ms (%.0f ns/get)\n",
	       (t1 - t0) * 1e3, (t2 - t1) * 1e3, N, (t3 - t2) * 1e3, (t3 - t2) * 1e9 / N);
	state_close(st);

	st = state_open(dir);
	TAP_OK(st != NULL, "reopen after 100k");
	if (!st)
		return;
	bad = 0;
	for (int i = 0; i < N; i += 997) {
		int kl = snprintf(k, sizeof(k), "/data/sub-%06d/func/bold.nii.gz", i);
		size_t vlen = 0;
		if (state_get_into(st, STATE_FP, k, (size_t)kl, got, sizeof(got), &vlen) != 1)
			bad++;
	}
	TAP_IS_INT(bad, 0, "the 100k keys persist across reopen");
	state_close(st);
}

static void test_growth(const char *dir)
{
	enum { NV = 48, VSZ = 256 << 10 };
	uint8_t *val = xmalloc(VSZ), *got = xmalloc(VSZ);
	char k[32];
	struct stat sb;

	state_set_initial_mapsize(1 << 20);
	struct state *st = state_open(dir);
	TAP_OK(st != NULL, "open with a 1 MiB initial map");
	if (!st)
		goto out;
	for (int i = 0; i < NV; i++) {
		memset(val, 'a' + i % 26, VSZ);
		memcpy(val, &i, sizeof(i));
		int kl = snprintf(k, sizeof(k), "big-%d", i);
		state_put(st, STATE_COMP, k, (size_t)kl, val, VSZ);
	}
	capture_begin();
	int rc = state_commit(st);
	char *err = capture_end();
	TAP_IS_INT(rc, 0, "a 12 MiB commit into a 1 MiB map succeeds by growing it");
	TAP_IS_STR(err, "", "silently");
	free(err);
	char *p = path_join(dir, "data.mdb");
	if (stat(p, &sb) < 0)
		sb.st_size = -1;
	TAP_OK(sb.st_size > NV * VSZ, "data.mdb holds it (%lld bytes)", (long long)sb.st_size);
	int bad = 0;
	for (int i = 0; i < NV; i++) {
		int kl = snprintf(k, sizeof(k), "big-%d", i);
		size_t vlen = 0;
		memset(val, 'a' + i % 26, VSZ);
		memcpy(val, &i, sizeof(i));
		if (state_get_into(st, STATE_COMP, k, (size_t)kl, got, VSZ, &vlen) != 1 || vlen != VSZ ||
		    memcmp(got, val, VSZ))
			bad++;
	}
	TAP_IS_INT(bad, 0, "every big value reads back");
	state_close(st);

	/* Reopening keeps the grown size: a further commit grows again. */
	st = state_open(dir);
	TAP_OK(st != NULL, "reopen the grown state");
	if (!st)
		goto out2;
	for (int i = NV; i < 2 * NV; i++) {
		int kl = snprintf(k, sizeof(k), "big-%d", i);
		state_put(st, STATE_COMP, k, (size_t)kl, val, VSZ);
	}
	TAP_IS_INT(state_commit(st), 0, "a second 12 MiB commit");
	size_t vlen = 0;
	TAP_IS_INT(state_get_into(st, STATE_COMP, "big-0", 5, got, VSZ, &vlen), 1,
		   "the first batch is still there");
	TAP_IS_INT(state_get_into(st, STATE_COMP, "big-95", 6, got, VSZ, &vlen), 1,
		   "and so is the second");
	state_close(st);
out2:
	free(p);
out:
	state_set_initial_mapsize(0);
	free(val);
	free(got);
}

/* Writers in separate processes, each committing its own keys in many
 * small transactions, while the parent holds a read snapshot. */
static void test_concurrent(const char *dir)
{
	enum { NPROC = 4, NCOMMIT = 40, PER = 250 };
	char k[64], *v;
	struct state *st = state_open(dir);
	TAP_OK(st != NULL, "parent opens the shared state");
	if (!st)
		return;
	put_str(st, STATE_LISTING, "before", "1");
	TAP_IS_INT(state_commit(st), 0, "parent commits");
	TAP_IS_INT(get_str(st, STATE_LISTING, "before", &v), 1, "parent's read snapshot starts");
	free(v);

	pid_t pids[NPROC];
	for (int c = 0; c < NPROC; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			/* Never touch the parent's environment here. */
			struct state *cs = state_open(dir);
			int fail = !cs;
			for (int j = 0; cs && j < NCOMMIT; j++) {
				for (int i = 0; i < PER; i++) {
					int kl = snprintf(k, sizeof(k), "child%d/%d/%d", c, j, i);
					state_put(cs, STATE_SUBMISSIONS, k, (size_t)kl, k, (size_t)kl);
				}
				if (state_commit(cs) < 0)
					fail = 1;
			}
			state_close(cs);
			_exit(fail);
		}
	}
	int ok = 1;
	for (int c = 0; c < NPROC; c++) {
		int status = 0;
		if (pids[c] < 0 || waitpid(pids[c], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			ok = 0;
	}
	TAP_OK(ok, "%d processes each made %d commits without error", NPROC, NCOMMIT);
	TAP_IS_INT(get_str(st, STATE_SUBMISSIONS, "child0/0/0", &v), 0,
		   "the parent's snapshot does not see them yet");
	TAP_IS_INT(state_commit(st), 0, "parent's commit ends its snapshot");
	int missing = 0;
	for (int c = 0; c < NPROC; c++)
		for (int j = 0; j < NCOMMIT; j++)
			for (int i = 0; i < PER; i++) {
				char got[64];
				size_t vlen = 0;
				int kl = snprintf(k, sizeof(k), "child%d/%d/%d", c, j, i);
				if (state_get_into(st, STATE_SUBMISSIONS, k, (size_t)kl, got, sizeof(got),
						   &vlen) != 1 || vlen != (size_t)kl || memcmp(got, k, vlen))
					missing++;
			}
	TAP_IS_INT(missing, 0, "all %d keys written concurrently are there", NPROC * NCOMMIT * PER);
	state_close(st);
}

static void write_garbage(const char *dir, const char *name, size_t n, int byte)
{
	char *p = path_join(dir, name);
	uint8_t *g = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		g[i] = byte >= 0 ? (uint8_t)byte : (uint8_t)(i * 131 + 7);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, g, n) != (ssize_t)n)
			perror("write");
		close(fd);
	}
	free(g);
	free(p);
}

/* Write into the environment with LMDB directly, as another program would. */
static int raw_put(const char *dir, const char *db, const char *k, const char *v)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);
	if (rc)
		return rc;
	mdb_env_set_maxdbs(env, 16);
	rc = mdb_env_open(env, dir, 0, 0644);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc) {
		MDB_val key = {strlen(k), (void *)k}, val = {strlen(v), (void *)v};
		rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi);
		if (!rc)
			rc = mdb_put(txn, dbi, &key, &val, 0);
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

static int seed(const char *dir)
{
	struct state *st = state_open(dir);
	if (!st)
		return -1;
	put_str(st, STATE_FP, "/old", "record");
	int r = state_commit(st);
	state_close(st);
	return r;
}

/* Open a damaged state: expect exactly the warning, then a working,
 * empty state. */
static void expect_afresh(const char *dir, const char *reason, const char *what)
{
	char *want = xasprintf("rapid: warning: state '%s' is unreadable (%s); starting afresh\n",
			       dir, reason);
	char *v;
	capture_begin();
	struct state *st = state_open(dir);
	char *err = capture_end();
	TAP_OK(st != NULL, "%s: the state opens", what);
	TAP_IS_STR(err, want, "%s: the warning", what);
	free(err);
	free(want);
	if (!st)
		return;
	TAP_IS_INT(get_str(st, STATE_FP, "/old", &v), 0, "%s: the old records are gone", what);
	put_str(st, STATE_FP, "/new", "works");
	TAP_IS_INT(state_commit(st), 0, "%s: the fresh state takes commits", what);
	TAP_IS_INT(get_str(st, STATE_FP, "/new", &v), 1, "%s: and reads", what);
	free(v);
	state_close(st);

	capture_begin();
	st = state_open(dir);
	err = capture_end();
	TAP_IS_STR(err, "", "%s: the next open is silent", what);
	free(err);
	state_close(st);
}

static void test_afresh(void)
{
	char *dir;

	dir = path_join(tmpdir, "garbage");
	TAP_IS_INT(seed(dir), 0, "seed a state");
	write_garbage(dir, "data.mdb", 16384, -1);
	expect_afresh(dir, "MDB_INVALID: File is not an LMDB file", "garbage data.mdb");
	free(dir);

	dir = path_join(tmpdir, "short");
	TAP_IS_INT(seed(dir), 0, "seed a state");
	write_garbage(dir, "data.mdb", 100, 'x');
	expect_afresh(dir, "MDB_INVALID: File is not an LMDB file", "100-byte data.mdb");
	free(dir);

	dir = path_join(tmpdir, "format");
	TAP_IS_INT(seed(dir), 0, "seed a state");
	TAP_IS_INT(raw_put(dir, "meta", "format", "3"), 0, "set its format to 3");
	expect_afresh(dir, "format '3', expected 2", "another format");
	free(dir);

	/* A record whose checksum does not match (a flipped bit, or a value
	 * written by something else) is found by the walk at open, and the
	 * damaged files are kept beside the folder. */
	dir = path_join(tmpdir, "checksum");
	TAP_IS_INT(seed(dir), 0, "seed a state");
	TAP_IS_INT(raw_put(dir, "fp", "/old", "tampered"), 0, "a record without its checksum");
	expect_afresh(dir, "a record of 'fp' fails its checksum", "a bad checksum");
	{
		DIR *d = opendir(tmpdir);
		struct dirent *de;
		char *aside = NULL;
		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, "checksum.corrupt.", 17))
				aside = path_join(tmpdir, de->d_name);
		if (d)
			closedir(d);
		TAP_OK(aside && file_exists(aside, "data.mdb"), "a bad checksum: data.mdb moved to %s",
		       aside ? aside : "(none)");
		free(aside);
	}
	free(dir);

	dir = path_join(tmpdir, "noformat");
	mkdir_p(dir, 0755);
	TAP_IS_INT(raw_put(dir, "fp", "/old", "record"), 0, "an LMDB env with no format record");
	expect_afresh(dir, "no format record", "no format record");
	free(dir);

	/* A truncated file would fault on access; it must be refused first. */
	dir = path_join(tmpdir, "truncated");
	{
		struct state *st = state_open(dir);
		char k[32], val[512];
		memset(val, 'v', sizeof(val));
		for (int i = 0; st && i < 2000; i++) {
			int kl = snprintf(k, sizeof(k), "k%d", i);
			state_put(st, STATE_FP, k, (size_t)kl, val, sizeof(val));
		}
		put_str(st, STATE_FP, "/old", "record");
		TAP_IS_INT(st ? state_commit(st) : -1, 0, "seed a 1 MB state");
		state_close(st);
	}
	char *p = path_join(dir, "data.mdb");
	TAP_IS_INT(truncate(p, 3 * 4096), 0, "truncate data.mdb to 3 pages");
	free(p);
	{
		capture_begin();
		struct state *st = state_open(dir);
		char *err = capture_end();
		char *want = xasprintf("rapid: warning: state '%s' is unreadable (data.mdb truncated", dir);
		TAP_OK(st != NULL, "truncated data.mdb: the state opens");
		TAP_OK(!strncmp(err, want, strlen(want)), "truncated data.mdb: the warning (%.*s)",
		       (int)strcspn(err, "\n"), err);
		char *v;
		TAP_IS_INT(st ? get_str(st, STATE_FP, "/old", &v) : -1, 0,
			   "truncated data.mdb: the old records are gone");
		free(err);
		free(want);
		state_close(st);
	}
	free(dir);

	capture_begin();
	struct state *st = state_open("/dev/null/state");
	char *err = capture_end();
	TAP_OK(st == NULL, "a state under a file cannot be opened");
	TAP_IS_STR(err, "rapid: cannot open state '/dev/null/state': Not a directory\n",
		   "with the reason");
	free(err);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	tmpdir = xasprintf("%s/rapid-state-test.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	char *d;
	d = path_join(tmpdir, "nested/basic/state");
	test_basics(d);
	free(d);
	d = path_join(tmpdir, "many");
	test_many(d);
	free(d);
	d = path_join(tmpdir, "growth");
	test_growth(d);
	free(d);
	d = path_join(tmpdir, "concurrent");
	test_concurrent(d);
	free(d);
	test_afresh();
	remove_tree(tmpdir);
	free(tmpdir);
	return tap_done();
}
