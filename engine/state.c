/* state.c - owns the LMDB environment in .rapid/state/ (see state.h).
 *
 * Format (version 2, stored as the ASCII string "2" under "format" in the
 * "meta" database): named databases "fp", "comp", "listing",
 * "submissions" and "outputs" (a database that is missing is created, so
 * an environment from before "outputs" reads as one with it empty); keys
 * and values are opaque to this module, except that every stored value
 * ends with 8 bytes of XXH3-64 over its key and value (little-endian), so
 * that a flipped bit is noticed. Keys LMDB cannot
 * hold (empty, or longer than its limit) are replaced by
 * "\xffK" + XXH3-128(key).
 *
 * Damage: LMDB trusts its file, and a flipped bit in a page can make it
 * fault (SIGBUS, SIGSEGV) or return garbage. So before this process
 * touches a data.mdb that changed since it was last found sound, a forked
 * child opens it read-only and walks every page a reader or a writer can
 * reach (the free list, the main database, every named database, every
 * record with its checksum); a fault kills only the child. A sound walk
 * is remembered in "verified" (data.mdb's device, inode, size, mtime and
 * ctime), so an unchanged cache, the warm no-op plan, costs one stat.
 * Any writer changes the ctime, so the walk runs again after every
 * commit. An environment with another format number, with named
 * databases but no format record, that LMDB cannot open, whose walk fails
 * or whose files are not regular files (a directory, /dev/null, a
 * dangling symbolic link) is one warning, then its files are moved aside
 * into "<dir>.corrupt.<UTC time>/" and the environment is created afresh;
 * a state folder that is not a folder becomes "<dir>.corrupt.<time>/state". A
 * folder this process cannot write (a read-only project or mount) is a
 * warning, and the caller goes on without the cache.
 *
 * Concurrency: LMDB serialises writers across processes. The only extra
 * lock is "open.lock" in the same folder: every open holds it shared
 * while it opens the environment, and the afresh path holds it exclusive
 * while it removes and recreates the files, so no process can pair an old
 * lock.mdb with a new data.mdb. Write transactions live only inside
 * state_commit (and briefly in state_open to create the databases). */
#include "engine/state.h"

#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define STATE_FORMAT "2"
/* The checksum at the end of every stored value. */
#define SUM_LEN 8
#define DEFAULT_MAPSIZE ((size_t)256 << 20)
/* Doubling 40 times from 1 MiB passes any disk; stop before looping. */
#define MAX_GROWTHS 40
/* Release the queue's memory after a batch bigger than this. */
#define QUEUE_KEEP ((size_t)16 << 20)
#define DIGEST_KEY_LEN 18

static const char *const db_names[STATE_NDB] = {
	[STATE_FP] = "fp",
	[STATE_COMP] = "comp",
	[STATE_LISTING] = "listing",
	[STATE_SUBMISSIONS] = "submissions",
	[STATE_OUTPUTS] = "outputs",
};

static size_t initial_mapsize = DEFAULT_MAPSIZE;

/* One queued change: key then value bytes at off in the queue buffer. */
struct op {
	enum state_db db;
	int del;
	size_t off, klen, vlen;
};

struct state {
	char *dir;
	MDB_env *env;
	MDB_dbi dbi[STATE_NDB];
	MDB_txn *rtxn;  /* the read txn, kept across gets; reset by commit */
	int rlive;      /* rtxn is active (not reset) */
	size_t maxkey;
	struct op *ops;
	size_t nops, capops;
	struct buf q;
};

/* A write transaction that keeps its first error: later puts are skipped
 * and the commit refuses. */
struct wtxn {
	MDB_txn *txn;
	int err;
};

void state_set_initial_mapsize(size_t bytes)
{
	initial_mapsize = bytes ? bytes : DEFAULT_MAPSIZE;
}

/* Errors that mean the files are not a usable environment of ours. */
static int unreadable_rc(int rc)
{
	switch (rc) {
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INCOMPATIBLE:
	case MDB_PANIC:
	case MDB_BAD_DBI:
		return 1;
	default:
		return 0;
	}
}

/* Errors that mean this process may not write the folder. */
static int unwritable_rc(int rc)
{
	return rc == EACCES || rc == EPERM || rc == EROFS;
}

/* Begin a transaction, adopting a map another process has grown. */
static int txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		rc = mdb_env_set_mapsize(env, 0);
		if (rc == 0)
			rc = mdb_txn_begin(env, NULL, flags, txn);
	}
	return rc;
}

static void wtxn_put(struct wtxn *w, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
	if (w->err)
		return;
	int rc = mdb_put(w->txn, dbi, k, v, 0);
	if (rc)
		w->err = rc;
}

static void wtxn_del(struct wtxn *w, MDB_dbi dbi, MDB_val *k)
{
	if (w->err)
		return;
	int rc = mdb_del(w->txn, dbi, k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		w->err = rc;
}

/* Commit unless an earlier call failed; the txn is gone either way. */
static int wtxn_commit(struct wtxn *w)
{
	int rc = w->err;
	if (rc)
		mdb_txn_abort(w->txn);
	else
		rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	return rc;
}

static void close_env(struct state *s)
{
	if (s->rtxn)
		mdb_txn_abort(s->rtxn);
	s->rtxn = NULL;
	s->rlive = 0;
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
}

/* Check the format record in txn; 0 when it is ours, 1 (with reason)
 * otherwise, -1 on an LMDB error (rc in *rcp). */
static int check_format(MDB_txn *txn, MDB_dbi meta, char *reason, size_t rsz, int *rcp)
{
	MDB_val k = {6, "format"}, v;
	int rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		snprintf(reason, rsz, "no format record");
		return 1;
	}
	if (rc) {
		*rcp = rc;
		return -1;
	}
	if (v.mv_size != strlen(STATE_FORMAT) || memcmp(v.mv_data, STATE_FORMAT, v.mv_size)) {
		int n = v.mv_size > 16 ? 16 : (int)v.mv_size;
		snprintf(reason, rsz, "format '%.*s', expected " STATE_FORMAT, n, (const char *)v.mv_data);
		return 1;
	}
	return 0;
}

/* Fast path: every database exists and the format is ours, seen from a
 * read-only txn (committed, not aborted: that is what keeps the dbi
 * handles). 0 done, 1 (with reason) not ours, 2 needs creating, -1 LMDB
 * error in *rcp. */
static int open_dbs_read(struct state *s, char *reason, size_t rsz, int *rcp)
{
	MDB_txn *txn;
	MDB_dbi meta;
	int rc = txn_begin(s->env, MDB_RDONLY, &txn), r = -1;
	if (rc) {
		*rcp = rc;
		return -1;
	}
	rc = mdb_dbi_open(txn, "meta", 0, &meta);
	if (rc == MDB_NOTFOUND) {
		r = 2;
		goto abort;
	}
	if (rc)
		goto fail;
	r = check_format(txn, meta, reason, rsz, rcp);
	if (r)
		goto abort;
	for (int i = 0; i < STATE_NDB; i++) {
		rc = mdb_dbi_open(txn, db_names[i], 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			r = 2;
			goto abort;
		}
		if (rc)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc) {
		*rcp = rc;
		return -1;
	}
	return 0;
fail:
	*rcp = rc;
	r = -1;
abort:
	mdb_txn_abort(txn);
	return r;
}

/* Slow path: create what is missing in a write txn. The format is checked
 * again there, since another process may have created it meanwhile. */
static int open_dbs_write(struct state *s, char *reason, size_t rsz, int *rcp)
{
	struct wtxn w = {0};
	MDB_dbi meta;
	int rc = txn_begin(s->env, 0, &w.txn), r;
	if (rc) {
		*rcp = rc;
		return -1;
	}
	rc = mdb_dbi_open(w.txn, "meta", 0, &meta);
	if (rc == 0) {
		r = check_format(w.txn, meta, reason, rsz, rcp);
		if (r) {
			mdb_txn_abort(w.txn);
			return r;
		}
	} else if (rc == MDB_NOTFOUND) {
		MDB_stat ms;
		rc = mdb_stat(w.txn, 1 /* the main database */, &ms);
		if (rc == 0 && ms.ms_entries > 0) {
			mdb_txn_abort(w.txn);
			snprintf(reason, rsz, "no format record");
			return 1;
		}
		if (rc == 0)
			rc = mdb_dbi_open(w.txn, "meta", MDB_CREATE, &meta);
		if (rc == 0) {
			MDB_val k = {6, "format"}, v = {strlen(STATE_FORMAT), STATE_FORMAT};
			wtxn_put(&w, meta, &k, &v);
		}
	}
	if (rc)
		w.err = rc;
	for (int i = 0; i < STATE_NDB && !w.err; i++) {
		rc = mdb_dbi_open(w.txn, db_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc)
			w.err = rc;
	}
	rc = wtxn_commit(&w);
	if (rc) {
		*rcp = rc;
		return -1;
	}
	return 0;
}

/* A data file shorter than its last committed page would fault on access
 * (SIGBUS) instead of failing cleanly; treat it as unreadable. */
static int check_size(struct state *s, char *reason, size_t rsz, int *rcp)
{
	MDB_envinfo info;
	MDB_stat ms;
	struct stat sb;
	int fd;
	int rc = mdb_env_info(s->env, &info);
	if (rc == 0)
		rc = mdb_env_stat(s->env, &ms);
	if (rc == 0)
		rc = mdb_env_get_fd(s->env, &fd);
	if (rc) {
		*rcp = rc;
		return -1;
	}
	if (fstat(fd, &sb) < 0) {
		*rcp = errno;
		return -1;
	}
	uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	if ((uint64_t)sb.st_size < need) {
		snprintf(reason, rsz, "data.mdb truncated to %lld bytes, needs %llu",
			 (long long)sb.st_size, (unsigned long long)need);
		return 1;
	}
	return 0;
}

/* Open the environment and its databases. 0 done; 1 unreadable, 2 not
 * writable by this process, each with the reason; -1 after printing why. */
static int env_open(struct state *s, char *reason, size_t rsz)
{
	MDB_envinfo info;
	int dead, r = -1;
	int rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, STATE_NDB + 2)))
		goto fail;
	rc = mdb_env_open(s->env, s->dir, MDB_NOTLS, 0644);
	if (rc) {
		if (unreadable_rc(rc))
			goto unreadable;
		goto fail;
	}
	/* A new environment (only its two meta pages) starts at our size;
	 * an old one keeps a larger size a commit grew it to. */
	if ((rc = mdb_env_info(s->env, &info)))
		goto fail;
	size_t want = initial_mapsize;
	if (info.me_last_pgno > 1 && info.me_mapsize > want)
		want = info.me_mapsize;
	if (want != info.me_mapsize && (rc = mdb_env_set_mapsize(s->env, want)))
		goto fail;
	/* Free the reader slots of crashed processes, which pin old pages. */
	if ((rc = mdb_reader_check(s->env, &dead)))
		goto fail;
	r = check_size(s, reason, rsz, &rc);
	if (r == 0) {
		r = open_dbs_read(s, reason, rsz, &rc);
		if (r == 2)
			r = open_dbs_write(s, reason, rsz, &rc);
	}
	if (r == 1)
		goto out;
	if (r == -1) {
		if (unreadable_rc(rc))
			goto unreadable;
		goto fail;
	}
	s->maxkey = (size_t)mdb_env_get_maxkeysize(s->env);
	return 0;
unreadable:
	snprintf(reason, rsz, "%s", mdb_strerror(rc));
	r = 1;
	goto out;
fail:
	if (unwritable_rc(rc)) {
		snprintf(reason, rsz, "%s", strerror(rc));
		r = 2;
		goto out;
	}
	warn("cannot open state '%s': %s", s->dir, mdb_strerror(rc));
	r = -1;
out:
	close_env(s);
	return r;
}

/* ---- damage: the walk in a child, the verified mark, moving aside ---- */

static const char *const env_files[] = {"data.mdb", "lock.mdb", "verified"};

static uint64_t record_sum(const void *k, size_t klen, const void *v, size_t vlen)
{
	return XXH3_64bits_withSeed(v, vlen, XXH3_64bits(k, klen));
}

/* Whether a stored value (checksum included) matches its key. */
static int record_sound(const MDB_val *k, const MDB_val *v)
{
	if (v->mv_size < SUM_LEN)
		return 0;
	size_t n = v->mv_size - SUM_LEN;
	const uint8_t *p = (const uint8_t *)v->mv_data + n;
	uint64_t want = 0;
	for (int b = SUM_LEN - 1; b >= 0; b--)
		want = want << 8 | p[b];
	return record_sum(k->mv_data, k->mv_size, v->mv_data, n) == want;
}

/* Every record of dbi through a cursor (so every page of its tree):
 * 0 sound, 1 (reason) not, -1 LMDB error (rc in *rcp). check: 0 none,
 * 1 checksums, 2 free-list records (pages within last_pgno). */
static int walk_db(MDB_txn *txn, MDB_dbi dbi, const char *name, int check, size_t last_pgno,
		   char *reason, size_t rsz, int *rcp)
{
	MDB_cursor *c;
	MDB_stat ms;
	MDB_val k, v;
	size_t n = 0;
	int rc = mdb_stat(txn, dbi, &ms);
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &c);
	if (rc) {
		*rcp = rc;
		return -1;
	}
	int r = 0;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		n++;
		if (check == 1 && !record_sound(&k, &v)) {
			snprintf(reason, rsz, "a record of '%s' fails its checksum", name);
			r = 1;
			break;
		}
		if (check == 2) {
			size_t cnt, pg;
			if (v.mv_size < sizeof(size_t))
				goto badfree;
			memcpy(&cnt, v.mv_data, sizeof(cnt));
			if (cnt == 0 || cnt > v.mv_size / sizeof(size_t) - 1 ||
			    v.mv_size != (cnt + 1) * sizeof(size_t))
				goto badfree;
			for (size_t i = 1; i <= cnt; i++) {
				memcpy(&pg, (const char *)v.mv_data + i * sizeof(size_t), sizeof(pg));
				if (pg < 2 || pg > last_pgno)
					goto badfree;
			}
		}
	}
	if (r == 0 && rc != MDB_NOTFOUND) {
		*rcp = rc;
		r = -1;
	} else if (r == 0 && n != ms.ms_entries) {
		snprintf(reason, rsz, "'%s' holds %zu records, its header says %zu", name, n,
			 (size_t)ms.ms_entries);
		r = 1;
	}
	mdb_cursor_close(c);
	return r;
badfree:
	snprintf(reason, rsz, "the free list names pages that do not exist");
	mdb_cursor_close(c);
	return 1;
}

/* The walk itself, in the child: 0 sound, 1 not (reason), 2 not
 * writable, -1 other failure (reason). */
static int walk_env(const char *dir, char *reason, size_t rsz)
{
	struct state s = {.dir = (char *)dir};
	MDB_envinfo info;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc = mdb_env_create(&s.env), r = -1;
	if (rc) {
		s.env = NULL;
		goto lmdb;
	}
	if ((rc = mdb_env_set_maxdbs(s.env, STATE_NDB + 2)) ||
	    (rc = mdb_env_open(s.env, dir, MDB_NOTLS | MDB_RDONLY, 0644)) ||
	    (rc = mdb_env_info(s.env, &info)))
		goto lmdb;
	if ((r = check_size(&s, reason, rsz, &rc)) != 0)
		goto done;
	if ((rc = txn_begin(s.env, MDB_RDONLY, &txn)))
		goto lmdb;
	r = walk_db(txn, 0 /* the free list */, "free list", 2, info.me_last_pgno, reason, rsz, &rc);
	if (r == 0)
		r = walk_db(txn, 1 /* the main database */, "main", 0, 0, reason, rsz, &rc);
	if (r == -1)
		goto lmdb;
	if (r)
		goto done;
	rc = mdb_dbi_open(txn, "meta", 0, &dbi);
	if (rc == MDB_NOTFOUND) {
		MDB_stat ms;
		if ((rc = mdb_stat(txn, 1, &ms)))
			goto lmdb;
		r = ms.ms_entries ? 1 : 0; /* empty: a new environment */
		if (r)
			snprintf(reason, rsz, "no format record");
		goto done;
	}
	if (rc || (r = check_format(txn, dbi, reason, rsz, &rc)) != 0)
		goto done_or_lmdb;
	r = walk_db(txn, dbi, "meta", 0, 0, reason, rsz, &rc);
	for (int i = 0; i < STATE_NDB && r == 0; i++) {
		rc = mdb_dbi_open(txn, db_names[i], 0, &dbi);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc) {
			r = -1;
			break;
		}
		r = walk_db(txn, dbi, db_names[i], 1, 0, reason, rsz, &rc);
	}
done_or_lmdb:
	if (r != -1 && !rc)
		goto done;
	if (!rc)
		rc = MDB_CORRUPTED;
lmdb:
	r = unwritable_rc(rc) ? 2 : 1;
	snprintf(reason, rsz, "%s", mdb_strerror(rc));
done:
	if (txn)
		mdb_txn_abort(txn);
	if (s.env)
		mdb_env_close(s.env);
	return r;
}

/* The identity of data.mdb a sound walk is remembered by. */
static void mark_text(const struct stat *sb, char *out, size_t n)
{
	snprintf(out, n, "%ju %ju %jd %jd.%09ld %jd.%09ld\n", (uintmax_t)sb->st_dev,
		 (uintmax_t)sb->st_ino, (intmax_t)sb->st_size, (intmax_t)sb->st_mtim.tv_sec,
		 sb->st_mtim.tv_nsec, (intmax_t)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
}

/* Walk dir's environment in a child. 0 sound, 1 not, 2 not writable,
 * each with the reason; -1 after printing why. */
static int verify_child(const char *dir, char *reason, size_t rsz)
{
	int fds[2];
	if (pipe(fds) < 0) {
		warn("cannot open state '%s': cannot create a pipe: %s", dir, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		warn("cannot open state '%s': cannot fork: %s", dir, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		char why[160] = "";
		close(fds[0]);
		/* A fault here is the answer, reported by the parent: nothing
		 * the child would print about it (a sanitizer's report of the
		 * signal, say) is for the user. */
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, 2);
			close(nul);
		}
		int r = walk_env(dir, why, sizeof(why));
		if (write(fds[1], why, strlen(why)) < 0)
			r = -1;
		_exit(r < 0 ? 3 : r);
	}
	close(fds[1]);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fds[0], reason + got, rsz - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == rsz - 1)
			break;
	}
	reason[got] = 0;
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			warn("cannot open state '%s': cannot wait for its check: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (WIFSIGNALED(st)) {
		snprintf(reason, rsz, "reading data.mdb faults: %s", strsignal(WTERMSIG(st)));
		return 1;
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 3;
	if (code == 0 || code == 1 || code == 2)
		return code;
	if (!reason[0])
		snprintf(reason, rsz, "its check ended with status %d", code);
	return 1;
}

/* What the files of dir say before LMDB may touch them: 0 sound (or
 * none yet), 1 unreadable, 2 not writable, each with the reason; -1
 * after printing why. trust_mark: a matching "verified" spares the walk. */
static int examine(const char *dir, bool trust_mark, char *reason, size_t rsz)
{
	struct stat sb, data = {0};
	bool have_data = false;
	for (size_t i = 0; i < 2; i++) {
		char *p = path_join(dir, env_files[i]);
		int r = lstat(p, &sb);
		if (r == 0 && S_ISLNK(sb.st_mode) && stat(p, &sb) < 0) {
			snprintf(reason, rsz, "'%s' is a dangling symbolic link", env_files[i]);
			free(p);
			return 1;
		}
		free(p);
		if (r < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(reason, rsz, "cannot stat '%s': %s", env_files[i], strerror(errno));
			return unwritable_rc(errno) ? 2 : 1;
		}
		if (!S_ISREG(sb.st_mode)) {
			snprintf(reason, rsz, "'%s' is %s", env_files[i],
				 S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file");
			return 1;
		}
		if (i == 0) {
			data = sb;
			have_data = true;
		}
	}
	if (!have_data)
		return 0;
	char want[128], *mp = path_join(dir, "verified");
	mark_text(&data, want, sizeof(want));
	if (trust_mark) {
		size_t len = 0;
		char *got = read_file(mp, &len);
		bool same = got && len == strlen(want) && !memcmp(got, want, len);
		free(got);
		if (same) {
			free(mp);
			return 0;
		}
	}
	int r = verify_child(dir, reason, rsz);
	/* The identity is the one from before the walk: a change made while
	 * it ran makes the next open walk again. A mark that cannot be
	 * written costs only that walk. */
	if (r == 0)
		(void)write_file_atomic(mp, want, strlen(want));
	free(mp);
	return r;
}

/* "<dir>.corrupt.<UTC time>" (".N" added while it exists), created. NULL
 * with errno. The caller frees. */
static char *make_aside(const char *dir)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 0; n < 1000; n++) {
		char *p = n ? xasprintf("%s.corrupt.%s.%d", dir, stamp, n) : xasprintf("%s.corrupt.%s", dir, stamp);
		if (mkdir(p, 0755) == 0)
			return p;
		int e = errno;
		free(p);
		if (e != EEXIST) {
			errno = e;
			return NULL;
		}
	}
	errno = EEXIST;
	return NULL;
}

/* Move the environment's files into a fresh aside folder. 0, or -1
 * after printing why. */
static int move_aside(const char *dir)
{
	char *aside = make_aside(dir);
	int ret = 0;
	if (!aside) {
		warn("cannot open state '%s': cannot create a folder beside it: %s", dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < ARRAY_LEN(env_files); i++) {
		char *from = path_join(dir, env_files[i]), *to = path_join(aside, env_files[i]);
		if (rename(from, to) < 0 && errno != ENOENT) {
			warn("cannot open state '%s': cannot move '%s' to '%s': %s", dir, from, to, strerror(errno));
			ret = -1;
		}
		free(from);
		free(to);
	}
	free(aside);
	return ret;
}

/* The state folder itself: created when missing; anything else at its
 * name (a file, a dangling symbolic link) is moved aside first. 0, 2 when
 * it cannot be created here (reason), -1 after printing why. */
static int prepare_dir(const char *dir, char *reason, size_t rsz)
{
	struct stat sb;
	if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	if (lstat(dir, &sb) == 0) {
		const char *what = S_ISLNK(sb.st_mode) ? "a symbolic link to nothing usable"
				   : S_ISREG(sb.st_mode) ? "a file" : "not a directory";
		char *aside = make_aside(dir), *to = aside ? path_join(aside, "state") : NULL;
		if (!aside || rename(dir, to) < 0) {
			int e = errno;
			if (aside)
				rmdir(aside);
			free(aside);
			free(to);
			if (unwritable_rc(e)) {
				snprintf(reason, rsz, "%s", strerror(e));
				return 2;
			}
			warn("cannot open state '%s': cannot move it aside: %s", dir, strerror(e));
			return -1;
		}
		warn("warning: state '%s' is unreadable (it is %s); starting afresh", dir, what);
		free(aside);
		free(to);
	}
	if (mkdir_p(dir, 0755) < 0) {
		if (unwritable_rc(errno)) {
			snprintf(reason, rsz, "%s", strerror(errno));
			return 2;
		}
		warn("cannot open state '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int lock_fd(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* examine, then open: 0, 1, 2 (reason) or -1, as env_open. */
static int try_open(struct state *s, bool trust_mark, char *reason, size_t rsz)
{
	int r = examine(s->dir, trust_mark, reason, rsz);
	return r == 0 ? env_open(s, reason, rsz) : r;
}

int state_open_cache(const char *dir, struct state **out)
{
	struct state *s = xcalloc(1, sizeof(*s));
	char reason[200] = "";
	char *lockpath = NULL;
	int lfd = -1, r;
	*out = NULL;
	s->dir = xstrdup(dir);
	r = prepare_dir(dir, reason, sizeof(reason));
	if (r != 0)
		goto out;
	lockpath = path_join(dir, "open.lock");
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0 && unwritable_rc(errno)) {
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		r = 2;
		goto out;
	}
	if (lfd < 0 || lock_fd(lfd, LOCK_SH) < 0) {
		warn("cannot open state '%s': cannot lock '%s': %s", dir, lockpath, strerror(errno));
		r = -1;
		goto out;
	}
	r = try_open(s, true, reason, sizeof(reason));
	if (r != 1)
		goto out;
	/* Exclusive, then look again: another process may have started
	 * afresh already while we waited. */
	if (lock_fd(lfd, LOCK_EX) < 0) {
		warn("cannot open state '%s': cannot lock '%s': %s", dir, lockpath, strerror(errno));
		r = -1;
		goto out;
	}
	r = try_open(s, false, reason, sizeof(reason));
	if (r != 1)
		goto out;
	warn("warning: state '%s' is unreadable (%s); starting afresh", dir, reason);
	r = move_aside(dir);
	if (r == 0)
		r = env_open(s, reason, sizeof(reason));
	if (r == 1) {
		warn("cannot open state '%s': %s", dir, reason);
		r = -1;
	}
out:
	if (lfd >= 0)
		close(lfd); /* releases the flock */
	free(lockpath);
	if (r == 2) {
		warn("warning: cannot write state '%s': %s; going on without it", dir, reason);
		state_close(s);
		return 0;
	}
	if (r != 0) {
		state_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

struct state *state_open(const char *dir)
{
	struct state *s = NULL;
	if (state_open_cache(dir, &s) < 0)
		return NULL;
	return s;
}

void state_close(struct state *s)
{
	if (!s)
		return;
	close_env(s);
	free(s->ops);
	buf_free(&s->q);
	free(s->dir);
	free(s);
}

/* The key LMDB stores for k: k itself, or its digest when LMDB cannot
 * hold it. tmp must have DIGEST_KEY_LEN bytes. */
static MDB_val map_key(const struct state *s, const void *k, size_t klen, uint8_t *tmp)
{
	MDB_val key = {klen, (void *)k};
	if (klen == 0 || klen > s->maxkey) {
		XXH128_canonical_t c;
		XXH128_canonicalFromHash(&c, XXH3_128bits(k, klen));
		tmp[0] = 0xff;
		tmp[1] = 'K';
		memcpy(tmp + 2, c.digest, sizeof(c.digest));
		key.mv_size = DIGEST_KEY_LEN;
		key.mv_data = tmp;
	}
	return key;
}

static int read_begin(struct state *s)
{
	int rc;
	if (s->rlive)
		return 0;
	if (s->rtxn) {
		rc = mdb_txn_renew(s->rtxn);
		if (rc == MDB_MAP_RESIZED) {
			/* The slow path: drop the handle, adopt the map, begin anew. */
			mdb_txn_abort(s->rtxn);
			s->rtxn = NULL;
		}
	} else {
		rc = MDB_MAP_RESIZED;
	}
	if (rc == MDB_MAP_RESIZED) {
		rc = txn_begin(s->env, MDB_RDONLY, &s->rtxn);
		if (rc)
			s->rtxn = NULL;
	}
	if (rc) {
		warn("cannot read state '%s': %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	s->rlive = 1;
	return 0;
}

static void read_end(struct state *s)
{
	if (s->rlive)
		mdb_txn_reset(s->rtxn);
	s->rlive = 0;
}

/* 1 with val pointing into the map (valid until read_end), 0, or -1. */
static int lookup(struct state *s, enum state_db db, const void *k, size_t klen, MDB_val *val)
{
	uint8_t tmp[DIGEST_KEY_LEN];
	MDB_val key = map_key(s, k, klen, tmp);
	if (read_begin(s) < 0)
		return -1;
	int rc = mdb_get(s->rtxn, s->dbi[db], &key, val);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		warn("cannot read state '%s': %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	/* The checksum was checked by the walk at open (state.c's header);
	 * here it is only cut off. */
	if (val->mv_size < SUM_LEN)
		return 0;
	val->mv_size -= SUM_LEN;
	return 1;
}

int state_get(struct state *s, enum state_db db, const void *k, size_t klen,
	      void **v, size_t *vlen)
{
	MDB_val val;
	int r = lookup(s, db, k, klen, &val);
	if (r != 1)
		return r;
	*v = xmalloc(val.mv_size);
	memcpy(*v, val.mv_data, val.mv_size);
	*vlen = val.mv_size;
	return 1;
}

int state_get_into(struct state *s, enum state_db db, const void *k, size_t klen,
		   void *buf, size_t bufsize, size_t *vlen)
{
	MDB_val val;
	int r = lookup(s, db, k, klen, &val);
	if (r != 1)
		return r;
	memcpy(buf, val.mv_data, val.mv_size < bufsize ? val.mv_size : bufsize);
	*vlen = val.mv_size;
	return 1;
}

static void queue(struct state *s, enum state_db db, int del, const void *k, size_t klen,
		  const void *v, size_t vlen)
{
	uint8_t tmp[DIGEST_KEY_LEN];
	MDB_val key = map_key(s, k, klen, tmp);
	GROW(s->ops, s->capops, s->nops + 1);
	s->ops[s->nops++] = (struct op){db, del, s->q.len, key.mv_size, del ? 0 : vlen + SUM_LEN};
	buf_putn(&s->q, key.mv_data, key.mv_size);
	if (del)
		return;
	if (vlen)
		buf_putn(&s->q, v, vlen);
	uint64_t sum = record_sum(key.mv_data, key.mv_size, v, vlen);
	for (int b = 0; b < SUM_LEN; b++)
		buf_putc(&s->q, (int)(sum >> (8 * b) & 0xff));
}

void state_put(struct state *s, enum state_db db, const void *k, size_t klen,
	       const void *v, size_t vlen)
{
	queue(s, db, 0, k, klen, v, vlen);
}

void state_del(struct state *s, enum state_db db, const void *k, size_t klen)
{
	queue(s, db, 1, k, klen, NULL, 0);
}

static int grow_map(struct state *s)
{
	MDB_envinfo info;
	int rc = mdb_env_info(s->env, &info);
	if (rc)
		return rc;
	if (info.me_mapsize > SIZE_MAX / 2)
		return MDB_MAP_FULL;
	return mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
}

/* Apply the whole queue in one write txn. */
static int apply(struct state *s)
{
	struct wtxn w = {0};
	int rc = txn_begin(s->env, 0, &w.txn);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->nops && !w.err; i++) {
		const struct op *o = &s->ops[i];
		MDB_val k = {o->klen, s->q.data + o->off};
		MDB_val v = {o->vlen, s->q.data + o->off + o->klen};
		if (o->del)
			wtxn_del(&w, s->dbi[o->db], &k);
		else
			wtxn_put(&w, s->dbi[o->db], &k, &v);
	}
	return wtxn_commit(&w);
}

int state_commit(struct state *s)
{
	int ret = -1, rc = 0;
	if (!s)
		return 0;
	/* End the read snapshot first: the next get sees this commit and
	 * other processes' ones, and no old pages stay pinned. */
	read_end(s);
	for (int growths = 0; s->nops; growths++) {
		rc = apply(s);
		if (rc != MDB_MAP_FULL || growths == MAX_GROWTHS)
			break;
		if ((rc = grow_map(s)))
			break;
	}
	if (rc) {
		warn("cannot write state '%s': %s", s->dir, mdb_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	s->nops = 0;
	buf_reset(&s->q);
	if (s->q.cap > QUEUE_KEEP) {
		buf_free(&s->q);
		free(s->ops);
		s->ops = NULL;
		s->capops = 0;
	}
	return ret;
}
