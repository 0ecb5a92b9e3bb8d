/* sentinel_test.c - sentinel paths, listing, claims (busy, stale takeover,
 * races between processes), prune. */
#include "runner/sentinel.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define K1 "0123456789abcdef0123456789abcdef"
#define K2 "fedcba9876543210fedcba9876543210"
#define K3 "00000000000000000000000000000003"
#define K4 "00000000000000000000000000000004"

static char *tmpdir;

static void touch(const char *path, const char *body, int64_t sec)
{
	write_file_atomic(path, body, strlen(body));
	struct timespec ts[2] = {{(time_t)sec, 500}, {(time_t)sec, 500}};
	utimensat(AT_FDCWD, path, ts, 0);
}

static int file_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Every fd of ours open on path's file has FD_CLOEXEC: 1, 0 if one lacks it,
 * -1 when none is open on it. */
static int fds_on_path_cloexec(const char *path)
{
	struct stat want;
	int found = -1;
	if (stat(path, &want) < 0)
		return -1;
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_dev != want.st_dev || st.st_ino != want.st_ino)
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			return 0;
		found = 1;
	}
	return found;
}

/* Fork a child that claims key in dir and holds it until killed. Its
 * pid, with *result the claim's return (1, 0, -1). */
static pid_t hold_claim(const char *dir, const char *key, int *result)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct sentinel_claim *c;
		char r = (char)('1' + sentinel_claim(dir, key, "{\"child\":1}", 11, &c));
		if (write(p[1], &r, 1) < 0)
			_exit(1);
		if (r != '2')
			_exit(0);
		for (;;)
			pause();
	}
	close(p[1]);
	char r = 0;
	if (read(p[0], &r, 1) != 1)
		r = '0';
	close(p[0]);
	*result = r - '1';
	return pid;
}

static void kill_wait(pid_t pid, int sig)
{
	kill(pid, sig);
	waitpid(pid, NULL, 0);
}

static void test_paths(void)
{
	const char *vals[] = {"100307", "REST1_LR"};
	char *d = sentinel_dir("/out/", "rapidtide", vals, 2);
	TAP_IS_STR(d, "/out/.rapid/sentinels/rapidtide/100307/REST1_LR/", "sentinel_dir");
	char *p = sentinel_path(d, K1, SENT_FAILED);
	TAP_IS_STR(p, "/out/.rapid/sentinels/rapidtide/100307/REST1_LR/" K1 ".failed.json",
		   "sentinel_path");
	free(p);
	free(d);
	d = sentinel_dir("/out/", "t", NULL, 0);
	TAP_IS_STR(d, "/out/.rapid/sentinels/t/", "sentinel_dir without wildcards");
	free(d);
	TAP_IS_STR(sentinel_state_name(SENT_RUNNING), "running", "state name running");
	TAP_IS_STR(sentinel_state_name(SENT_OK), "ok", "state name ok");
	TAP_IS_STR(sentinel_state_name(SENT_FAILED), "failed", "state name failed");
}

static void test_list(void)
{
	char *dir = xasprintf("%s/list/", tmpdir);
	struct sentinel_entry *v;
	size_t n = 99;
	TAP_IS_INT(sentinel_list(dir, &v, &n), 0, "a missing folder lists fine");
	TAP_IS_INT(n, 0, "... as 0 entries");
	TAP_OK(v == NULL, "... and NULL");
	mkdir_p(dir, 0777);
	const char *junk[] = {
		"0123456789ABCDEF0123456789ABCDEF.ok.json", /* uppercase */
		"0123456789abcdef.ok.json",                 /* short */
		K1 ".ok.json.tmp.123",                      /* write_file_atomic temp */
		K1 ".running.json.tmp.42.0",                /* claim temp */
		K1 ".ok.jsonx",
		K1 ".done.json",
		K1 "0.ok.json",
		"README",
	};
	for (size_t i = 0; i < ARRAY_LEN(junk); i++) {
		char *p = xasprintf("%s%s", dir, junk[i]);
		touch(p, "{}", 1700000000);
		free(p);
	}
	char *p = xasprintf("%s%s.ok.json", dir, K3);
	mkdir(p, 0777); /* a folder with a sentinel's name */
	free(p);
	struct { const char *key; enum sentinel_state st; int64_t sec; } want[] = {
		{K2, SENT_RUNNING, 1700000300},
		{K1, SENT_FAILED, 1700000200},
		{K1, SENT_OK, 1700000100},
	};
	/* Written oldest last so that creation order is not the answer. */
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		p = sentinel_path(dir, want[ARRAY_LEN(want) - 1 - i].key, want[ARRAY_LEN(want) - 1 - i].st);
		touch(p, "{}", want[ARRAY_LEN(want) - 1 - i].sec);
		free(p);
	}
	TAP_IS_INT(sentinel_list(dir, &v, &n), 0, "list");
	TAP_IS_INT(n, 3, "only sentinel names are listed");
	for (size_t i = 0; i < n && i < ARRAY_LEN(want); i++) {
		TAP_IS_STR(v[i].key, want[i].key, "entry %zu key (newest first)", i);
		TAP_IS_INT(v[i].state, want[i].st, "entry %zu state", i);
		TAP_IS_INT(v[i].mtime_ns, want[i].sec * 1000000000LL + 500, "entry %zu mtime in ns", i);
	}
	free(v);
	free(dir);
}

static void test_write_read(void)
{
	char *dir = xasprintf("%s/wr/a/b/", tmpdir);
	TAP_IS_INT(sentinel_write(dir, K1, SENT_OK, "{\"x\":1}", 7), 0, "write creates folders");
	size_t len = 0;
	char *b = sentinel_read(dir, K1, SENT_OK, &len);
	TAP_IS_STR(b, "{\"x\":1}", "read back");
	TAP_IS_INT(len, 7, "length");
	free(b);
	fprintf(stderr, "# (a 'cannot read' message follows)\n");
	TAP_OK(sentinel_read(dir, K2, SENT_OK, &len) == NULL, "reading a missing one is NULL");
	free(dir);
}

static void test_claim(void)
{
	char *dir = xasprintf("%s/claim/t/01/", tmpdir);
	char *run = sentinel_path(dir, K1, SENT_RUNNING);
	char *okp = sentinel_path(dir, K1, SENT_OK);
	struct sentinel_claim *c = NULL;
	int fds = count_fds();

	TAP_IS_INT(sentinel_running_live(run), 0, "no running sentinel: not live");
	TAP_IS_INT(sentinel_claim(dir, K1, "{\"me\":1}", 8, &c), 1, "claim a fresh instance");
	TAP_OK(c != NULL, "... with a handle");
	size_t len;
	char *body = read_file(run, &len);
	TAP_IS_STR(body, "{\"me\":1}", "the running sentinel holds the body");
	free(body);
	TAP_IS_INT(sentinel_running_live(run), 1, "our own claim is live");
	TAP_IS_INT(fds_on_path_cloexec(run), 1, "the lock fd is close-on-exec");
	struct sentinel_claim *c2 = NULL;
	TAP_IS_INT(sentinel_claim(dir, K1, "{}", 2, &c2), 0, "a second claim in-process is busy");
	TAP_OK(c2 == NULL, "... and gives no handle");
	sentinel_release(c);
	TAP_OK(!file_exists(run), "release removes the running sentinel");
	TAP_IS_INT(sentinel_running_live(run), 0, "released: not live");

	/* Another process holds it. */
	int r;
	pid_t pid = hold_claim(dir, K1, &r);
	TAP_IS_INT(r, 1, "a child claims it");
	TAP_IS_INT(sentinel_running_live(run), 1, "the child's claim is live");
	TAP_IS_INT(sentinel_claim(dir, K1, "{}", 2, &c), 0, "we are busy while the child holds it");
	TAP_OK(c == NULL, "... no handle");
	body = read_file(run, &len);
	TAP_IS_STR(body, "{\"child\":1}", "the child's running sentinel is untouched");
	free(body);

	/* The holder dies hard: the sentinel stays, stale. */
	kill_wait(pid, SIGKILL);
	TAP_OK(file_exists(run), "a SIGKILLed holder leaves its running sentinel");
	TAP_IS_INT(sentinel_running_live(run), 0, "... which is not live");
	struct sentinel_entry *v;
	size_t n;
	sentinel_list(dir, &v, &n);
	TAP_OK(n == 1 && v[0].state == SENT_RUNNING, "... and is listed as running");
	free(v);
	TAP_IS_INT(sentinel_claim(dir, K1, "{\"new\":1}", 9, &c), 1, "a stale claim is taken over");
	body = read_file(run, &len);
	TAP_IS_STR(body, "{\"new\":1}", "... with our body");
	free(body);
	TAP_IS_INT(sentinel_running_live(run), 1, "... and is live");
	pid = hold_claim(dir, K1, &r);
	TAP_IS_INT(r, 0, "another process is now busy");
	kill_wait(pid, SIGKILL);
	sentinel_release(c);

	/* A stale sentinel replaced by someone else must not be removed by
	 * the release of an older claim. */
	TAP_IS_INT(sentinel_claim(dir, K1, "{}", 2, &c), 1, "claim again");
	char *tmp = xasprintf("%s.other", run);
	write_file_atomic(tmp, "{\"other\":1}", 11);
	rename(tmp, run);
	free(tmp);
	sentinel_release(c);
	TAP_OK(file_exists(run), "release leaves a running sentinel that is not ours");
	unlink(run);

	/* Already built. */
	sentinel_write(dir, K1, SENT_OK, "{}", 2);
	c = (struct sentinel_claim *)1;
	TAP_IS_INT(sentinel_claim(dir, K1, "{}", 2, &c), 0, "an ok sentinel means nothing to do");
	TAP_OK(c == NULL, "... no handle");
	TAP_OK(!file_exists(run), "... and no running sentinel left behind");
	unlink(okp);

	TAP_IS_INT(count_fds(), fds, "no fd leaked");
	DIR *d = opendir(dir);
	struct dirent *de;
	int temps = 0;
	while (d && (de = readdir(d)))
		temps += strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	TAP_IS_INT(temps, 0, "no temp file left behind");
	free(run);
	free(okp);
	free(dir);
}

/* n processes claim at once; exactly one may win. */
static int race_round(const char *dir, const char *key, int n)
{
	int go[2], res[2];
	if (pipe(go) < 0 || pipe(res) < 0)
		return -1;
	pid_t *pids = xcalloc((size_t)n, sizeof(pid_t));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(go[1]);
			close(res[0]);
			char x;
			if (read(go[0], &x, 1) < 0)
				_exit(1);
			struct sentinel_claim *c;
			char r = (char)('1' + sentinel_claim(dir, key, "{}", 2, &c));
			if (write(res[1], &r, 1) < 0)
				_exit(1);
			if (r != '2')
				_exit(0);
			for (;;)
				pause();
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]); /* everyone starts now */
	int wins = 0;
	for (int i = 0; i < n; i++) {
		char r;
		if (read(res[0], &r, 1) != 1)
			break;
		wins += r == '2';
	}
	close(res[0]);
	for (int i = 0; i < n; i++)
		kill_wait(pids[i], SIGKILL);
	free(pids);
	return wins;
}

static void test_race(void)
{
	char *dir = xasprintf("%s/race/", tmpdir);
	mkdir_p(dir, 0777);
	char *run = sentinel_path(dir, K2, SENT_RUNNING);
	int bad_fresh = 0, bad_stale = 0;
	for (int round = 0; round < 15; round++) {
		unlink(run);
		if (race_round(dir, K2, 6) != 1)
			bad_fresh++;
		/* The winner was SIGKILLed: its sentinel is stale now. */
		if (!file_exists(run) || race_round(dir, K2, 6) != 1)
			bad_stale++;
	}
	TAP_IS_INT(bad_fresh, 0, "racing claims on a fresh instance: one winner every round");
	TAP_IS_INT(bad_stale, 0, "racing takeovers of a stale claim: one winner every round");
	free(run);
	free(dir);
}

static void test_prune(void)
{
	char *dir = xasprintf("%s/prune/", tmpdir);
	mkdir_p(dir, 0777);
	char *p;
	p = sentinel_path(dir, K1, SENT_OK); touch(p, "{}", 1700000100); free(p);
	p = sentinel_path(dir, K1, SENT_FAILED); touch(p, "{}", 1700000050); free(p);
	p = sentinel_path(dir, K2, SENT_OK); touch(p, "{}", 1700000000); free(p);
	p = sentinel_path(dir, K3, SENT_RUNNING); touch(p, "{}", 1700000000); free(p); /* stale */
	int r;
	pid_t pid = hold_claim(dir, K4, &r);
	TAP_IS_INT(r, 1, "a child holds a running claim for prune");
	TAP_IS_INT(sentinel_prune(dir, K1), 0, "prune");
	struct sentinel_entry *v;
	size_t n;
	sentinel_list(dir, &v, &n);
	TAP_IS_INT(n, 2, "two sentinels are left");
	int ok1 = 0, live4 = 0;
	for (size_t i = 0; i < n; i++) {
		ok1 += !strcmp(v[i].key, K1) && v[i].state == SENT_OK;
		live4 += !strcmp(v[i].key, K4) && v[i].state == SENT_RUNNING;
	}
	TAP_IS_INT(ok1, 1, "the current ok sentinel stays");
	TAP_IS_INT(live4, 1, "a live running sentinel stays");
	free(v);
	kill_wait(pid, SIGKILL);
	TAP_IS_INT(sentinel_prune(dir, K1), 0, "prune again");
	sentinel_list(dir, &v, &n);
	TAP_OK(n == 1 && !strcmp(v[0].key, K1), "the dead runner's sentinel goes");
	free(v);
	TAP_IS_INT(sentinel_prune(dir, K2), 0, "prune for a key without ok");
	sentinel_list(dir, &v, &n);
	TAP_IS_INT(n, 0, "... removes everything not live");
	free(v);
	free(dir);
}

int main(void)
{
	char tmpl[] = "/tmp/rapid-sentinel-XXXXXX";
	tmpdir = mkdtemp(tmpl);
	if (!tmpdir) {
		perror("mkdtemp");
		return 1;
	}
	test_paths();
	test_list();
	test_write_read();
	test_claim();
	test_race();
	test_prune();
	remove_tree(tmpdir);
	return tap_done();
}
