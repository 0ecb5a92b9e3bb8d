/* state.c - owns the LMDB environment in .rapid/state/ (see state.h).
 *
 * Format (version 1, stored as the ASCII string "1" under "format" in the
 * "meta" database): named databases "fp", "comp", "listing" and
 * "submissions"; keys and values are opaque to this module. Keys LMDB
 * cannot hold (empty, or longer than its limit) are replaced by
 * "\xffK" + XXH3-128(key). An environment with another format number,
 * with named databases but no format record, or that LMDB cannot open
 * (a corrupt or truncated data.mdb) is a warning, then data.mdb and
 * lock.mdb are removed and the environment is created afresh.
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
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define STATE_FORMAT "1"
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

/* Open the environment and its databases. 0 done; 1 unreadable, with the
 * reason; -1 after printing why. */
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
	warn("cannot open state '%s': %s", s->dir, mdb_strerror(rc));
	r = -1;
out:
	close_env(s);
	return r;
}

static int remove_env_files(const char *dir)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	int ret = 0;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		char *p = path_join(dir, names[i]);
		if (unlink(p) < 0 && errno != ENOENT) {
			warn("cannot open state '%s': cannot remove '%s': %s", dir, p, strerror(errno));
			ret = -1;
		}
		free(p);
	}
	return ret;
}

static int lock_fd(int fd, int how)
{
	while (flock(fd, how) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

struct state *state_open(const char *dir)
{
	struct state *s = xcalloc(1, sizeof(*s));
	char reason[160] = "";
	char *lockpath = NULL;
	int lfd = -1, r = -1;
	s->dir = xstrdup(dir);
	if (mkdir_p(dir, 0755) < 0) {
		warn("cannot open state '%s': %s", dir, strerror(errno));
		goto out;
	}
	lockpath = path_join(dir, "open.lock");
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0 || lock_fd(lfd, LOCK_SH) < 0) {
		warn("cannot open state '%s': cannot lock '%s': %s", dir, lockpath, strerror(errno));
		goto out;
	}
	r = env_open(s, reason, sizeof(reason));
	if (r != 1)
		goto out;
	/* Exclusive, then look again: another process may have started
	 * afresh already while we waited. */
	if (lock_fd(lfd, LOCK_EX) < 0) {
		warn("cannot open state '%s': cannot lock '%s': %s", dir, lockpath, strerror(errno));
		r = -1;
		goto out;
	}
	r = env_open(s, reason, sizeof(reason));
	if (r != 1)
		goto out;
	warn("warning: state '%s' is unreadable (%s); starting afresh", dir, reason);
	r = remove_env_files(dir);
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
	if (r != 0) {
		state_close(s);
		return NULL;
	}
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
	s->ops[s->nops++] = (struct op){db, del, s->q.len, key.mv_size, vlen};
	buf_putn(&s->q, key.mv_data, key.mv_size);
	if (vlen)
		buf_putn(&s->q, v, vlen);
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
