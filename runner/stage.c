/* stage.c - staging s3:// inputs (stage.h). */
#include "runner/stage.h"
#include "aws/s3.h"
#include "lib/util.h"
#include "runner/layout.h"
#include "runner/remote.h"
#include "runner/spec.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One object to have in scratch. */
struct want {
	const char *input;  /* its input's name, for messages */
	char *bucket, *key;
	char *local, *record;
	bool known;         /* size and etag are what it must be */
	uint64_t size;
	char etag[80];
	bool check_etag;    /* a mismatch fails (the plan's fingerprint) */
};

/* A prefix staged into a folder: what it must hold, nothing else. */
struct mirror {
	char *dir, *rdir;   /* the folder and its records' folder */
	char **rels;        /* sorted */
	size_t n;
};

struct stager {
	struct remote *rm;
	const char *scratch;
	struct want *w;
	size_t n;
	struct mirror *m;
	size_t nm;
	struct stage_stats *st;
	char *reason;
	/* during a listing: the prefixes it serves (sorted), each with its
	 * mirror (an index into m, which may move) */
	const char *linput, *lbucket;
	struct lprefix *lp;
	size_t nlp;
};

struct lprefix {
	char *key;   /* ends with '/' */
	size_t len;
	size_t mirror;
};

static struct want *add_want(struct stager *g)
{
	g->w = xreallocarray(g->w, g->n + 1, sizeof(*g->w));
	struct want *w = &g->w[g->n++];
	memset(w, 0, sizeof(*w));
	return w;
}

static const char *base_name(const char *key)
{
	const char *s = strrchr(key, '/');
	return s ? s + 1 : key;
}

/* "size=N etag=E" into w (known); false when fp is not that. */
static bool parse_fp(const char *fp, struct want *w)
{
	if (!fp)
		return false;
	char etag[80];
	uint64_t size;
	if (sscanf(fp, "size=%" SCNu64 " etag=%79s", &size, etag) != 2)
		return false;
	w->size = size;
	snprintf(w->etag, sizeof w->etag, "%s", etag);
	w->known = w->check_etag = true;
	return true;
}

/* A path below a prefix that stays below it. */
static bool safe_rel(const char *rel)
{
	if (!rel[0] || rel[0] == '/')
		return false;
	for (const char *p = rel; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!e)
			break;
		p = e + 1;
	}
	return true;
}

static int cmp_lprefix(const void *a, const void *b)
{
	return strcmp(((const struct lprefix *)a)->key, ((const struct lprefix *)b)->key);
}

/* The prefix of the listing key is under, or NULL. The prefixes are
 * distinct folders (ending with '/'), none under another: the only one a
 * key can be under is the last that sorts before it. */
static const struct lprefix *prefix_of(const struct stager *g, const char *key)
{
	size_t lo = 0, hi = g->nlp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(g->lp[mid].key, key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && !strncmp(key, g->lp[lo - 1].key, g->lp[lo - 1].len))
		return &g->lp[lo - 1];
	return NULL;
}

static int on_listed(void *ctx, const struct s3_object *o)
{
	struct stager *g = ctx;
	const struct lprefix *lp = prefix_of(g, o->key);
	if (!lp)
		return 0;
	const char *rel = o->key + lp->len;
	size_t rl = strlen(rel);
	if (!rl || rel[rl - 1] == '/') /* a "folder" marker */
		return 0;
	if (!safe_rel(rel)) {
		g->reason = xasprintf("input '%s': cannot stage 's3://%s/%s': its name leaves the prefix", g->linput,
				      g->lbucket, o->key);
		return -1;
	}
	struct mirror *m = &g->m[lp->mirror];
	struct want *w = add_want(g);
	w->input = g->linput;
	w->bucket = xstrdup(g->lbucket);
	w->key = xstrdup(o->key);
	w->local = path_join(m->dir, rel);
	w->record = path_join(m->rdir, rel);
	w->known = true;
	w->size = o->size;
	snprintf(w->etag, sizeof w->etag, "%s", o->etag ? o->etag : "");
	m->rels = xreallocarray(m->rels, m->n + 1, sizeof(char *));
	m->rels[m->n++] = xstrdup(rel);
	return 0;
}

/* A mirror for dir and rdir; its index. */
static size_t add_mirror(struct stager *g, const char *dir, const char *rdir)
{
	g->m = xreallocarray(g->m, g->nm + 1, sizeof(*g->m));
	struct mirror *m = &g->m[g->nm];
	memset(m, 0, sizeof(*m));
	m->dir = xstrdup(dir);
	m->rdir = xstrdup(rdir);
	return g->nm++;
}

/* One listing (of the prefixes' longest common folder) for every prefix
 * in g->lp (keys of bucket, each with its mirror), then g->lp is freed.
 * 0, or -1 with g->reason. */
static int list_prefixes(struct stager *g, const char *input, const char *bucket)
{
	qsort(g->lp, g->nlp, sizeof(*g->lp), cmp_lprefix);
	/* the longest common prefix of the first and last, back to a '/' */
	const char *a = g->lp[0].key, *b = g->lp[g->nlp - 1].key;
	size_t n = 0;
	while (a[n] && a[n] == b[n])
		n++;
	while (n > 0 && a[n - 1] != '/')
		n--;
	char *common = xstrndup(a, n);
	g->linput = input;
	g->lbucket = bucket;
	int ret = 0;
	/* Nothing in common: each prefix alone, not the whole bucket. */
	for (size_t i = 0; ret == 0 && i < (n ? 1 : g->nlp); i++) {
		struct s3_list_opts lo = {.prefix = n ? common : g->lp[i].key};
		struct aws_error e = {0};
		g->st->lists++;
		if (s3_list(remote_client(g->rm, bucket), bucket, &lo, on_listed, NULL, g, NULL, &e) < 0) {
			if (!g->reason)
				g->reason = aws_error_isset(&e) ? aws_error_format(&e) : xstrdup("listing stopped");
			ret = -1;
		}
		aws_error_clear(&e);
	}
	free(common);
	for (size_t i = 0; i < g->nlp; i++)
		free(g->lp[i].key);
	free(g->lp);
	g->lp = NULL;
	g->nlp = 0;
	return ret;
}

static void add_lprefix(struct stager *g, const char *key, size_t mirror)
{
	g->lp = xreallocarray(g->lp, g->nlp + 1, sizeof(*g->lp));
	g->lp[g->nlp++] = (struct lprefix){xstrdup(key), strlen(key), mirror};
}

/* Stage the object or prefix uri into dir (ending with '/'), its records
 * in rdir. *local: its local path. 0, or -1 with g->reason. */
static int want_uri(struct stager *g, const char *input, const char *uri, const char *fp, const char *dir,
		    const char *rdir, char **local)
{
	char *bucket = NULL, *key = NULL;
	if (s3_uri_split(uri, &bucket, &key) < 0) {
		g->reason = xasprintf("input '%s': '%s' is not an s3://bucket/key URI", input, uri);
		return -1;
	}
	size_t kl = strlen(key);
	if (kl && key[kl - 1] != '/') {
		struct want *w = add_want(g);
		w->input = input;
		w->bucket = bucket;
		w->key = key;
		w->local = path_join(dir, base_name(key));
		w->record = path_join(rdir, base_name(key));
		parse_fp(fp, w);
		*local = xstrdup(w->local);
		return 0;
	}
	add_lprefix(g, key, add_mirror(g, dir, rdir));
	int ret = list_prefixes(g, input, bucket);
	*local = xstrdup(dir);
	free(bucket);
	free(key);
	return ret;
}

/* A gathering input's s3:// prefixes in one bucket (its upstream
 * instances' folders): one listing for all of them. Entry k goes to
 * <dir><k>/. Its other entries are left to want_uri. 0, or -1 with
 * g->reason. */
static int want_gathered(struct stager *g, const struct spec_input *in, const char *dir, const char *rdir,
			 char **local, bool *done)
{
	char *bucket = NULL;
	int ret = 0;
	for (size_t k = 0; k < in->ngathered; k++) {
		char *b = NULL, *key = NULL;
		const char *p = in->gathered[k].path;
		size_t pl = strlen(p);
		if (strncmp(p, "s3://", 5) || !pl || p[pl - 1] != '/' || s3_uri_split(p, &b, &key) < 0) {
			free(b);
			free(key);
			continue;
		}
		if (bucket && strcmp(bucket, b)) { /* another bucket: its own listing */
			free(b);
			free(key);
			continue;
		}
		if (!bucket)
			bucket = b;
		else
			free(b);
		char sub[32];
		snprintf(sub, sizeof sub, "%zu/", k);
		char *d = path_join(dir, sub), *rd = path_join(rdir, sub);
		add_lprefix(g, key, add_mirror(g, d, rd));
		local[k] = d;
		done[k] = true;
		free(rd);
		free(key);
	}
	if (g->nlp)
		ret = list_prefixes(g, in->name, bucket);
	free(bucket);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove from folder (prefix rel, "" at the top) whatever m does not list. */
static void prune_mirror(const struct mirror *m, const char *folder, const char *rel)
{
	DIR *d = opendir(folder);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *p = path_join(folder, de->d_name);
		char *r = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			prune_mirror(m, p, r);
		} else {
			const char *key = r;
			if (!m->n || !bsearch(&key, m->rels, m->n, sizeof(char *), cmp_str)) {
				unlink(p);
				char *rp = path_join(m->rdir, r);
				unlink(rp);
				free(rp);
			}
		}
		free(r);
		free(p);
	}
	closedir(d);
}

/* Whether w is in place already: its file of the size expected and its
 * record of that size and ETag. */
static bool in_place(const struct want *w)
{
	if (!w->known)
		return false;
	struct stat st;
	if (stat(w->local, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != w->size)
		return false;
	size_t len;
	char *rec = read_file(w->record, &len);
	if (!rec)
		return false;
	char want[128];
	snprintf(want, sizeof want, "%" PRIu64 " %s\n", w->size, w->etag);
	bool same = len == strlen(want) && !memcmp(rec, want, len);
	free(rec);
	return same;
}

static int make_parent(const char *path, char **reason)
{
	char *d = path_dirname(path);
	int r = mkdir_p(d, 0777);
	if (r < 0)
		*reason = xasprintf("cannot create '%s': %s", d, strerror(errno));
	free(d);
	return r;
}

/* GET every want not in place, at once, the input buckets with their own
 * client. 0, or -1 with g->reason. */
static int fetch(struct stager *g)
{
	struct s3_op *ops = xcalloc(g->n + 1, sizeof(*ops));
	size_t *of = xcalloc(g->n + 1, sizeof(size_t));
	int ret = 0;
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		size_t n = 0;
		struct s3_client *c = NULL;
		for (size_t i = 0; i < g->n; i++) {
			struct want *w = &g->w[i];
			if (remote_is_input_bucket(g->rm, w->bucket) != (pass == 1))
				continue;
			if (in_place(w)) {
				g->st->reused++;
				continue;
			}
			if (make_parent(w->local, &g->reason) < 0 || make_parent(w->record, &g->reason) < 0) {
				ret = -1;
				break;
			}
			unlink(w->record);
			c = remote_client(g->rm, w->bucket);
			ops[n] = (struct s3_op){.kind = S3_GET, .bucket = w->bucket, .key = w->key, .out_path = w->local};
			of[n++] = i;
		}
		if (ret < 0 || !n)
			continue;
		if (s3_run(c, ops, n) < 0)
			ret = -1;
		for (size_t j = 0; j < n; j++) {
			struct want *w = &g->w[of[j]];
			struct s3_op *op = &ops[j];
			if (op->error) {
				if (!g->reason) {
					char *m = aws_error_format(op->error);
					g->reason = xasprintf("input '%s': %s", w->input, m);
					free(m);
				}
			} else if (!op->found) {
				if (!g->reason)
					g->reason = xasprintf("input '%s' is missing: 's3://%s/%s' is gone", w->input, w->bucket,
							      w->key);
				ret = -1;
			} else if (w->check_etag && strcmp(op->etag, w->etag)) {
				if (!g->reason)
					g->reason = xasprintf("input '%s' changed since it was planned: 's3://%s/%s' etag %s → %s",
							      w->input, w->bucket, w->key, w->etag, op->etag);
				ret = -1;
			} else {
				char rec[128];
				int rl = snprintf(rec, sizeof rec, "%" PRIu64 " %s\n", op->size, op->etag);
				if (write_file_atomic(w->record, rec, (size_t)rl) < 0 && !g->reason) {
					g->reason = xasprintf("cannot write '%s': %s", w->record, strerror(errno));
					ret = -1;
				}
				g->st->fetched++;
			}
			s3_op_free(op);
		}
	}
	free(ops);
	free(of);
	return ret;
}

/* A local input must be there. 0, or -1 with g->reason. */
static int local_present(struct stager *g, const char *input, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	g->reason = xasprintf("input '%s' is missing: cannot stat '%s': %s", input, path, strerror(errno));
	return -1;
}

int stage_inputs(struct remote *rm, const struct spec *s, const char *scratch, char **in_local,
		 char ***gath_local, struct stage_stats *st, char **reason)
{
	struct stager g = {.rm = rm, .scratch = scratch, .st = st};
	int ret = -1;
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct spec_input *in = &s->inputs[i];
		char *dir = layout_stage_dir(scratch, in->name);
		char *rdir = layout_stage_record_dir(scratch, in->name);
		int r = 0;
		gath_local[i] = xcalloc(in->ngathered + 1, sizeof(char *));
		bool *done = xcalloc(in->ngathered + 1, sizeof(bool));
		r = want_gathered(&g, in, dir, rdir, gath_local[i], done);
		for (size_t k = 0; k < in->ngathered && r == 0; k++) {
			const char *p = in->gathered[k].path;
			if (done[k])
				continue;
			if (strncmp(p, "s3://", 5)) {
				gath_local[i][k] = xstrdup(p);
				r = local_present(&g, in->name, p);
				continue;
			}
			char sub[32];
			snprintf(sub, sizeof sub, "%zu/", k);
			char *d = path_join(dir, sub), *rd = path_join(rdir, sub);
			r = want_uri(&g, in->name, p, NULL, d, rd, &gath_local[i][k]);
			free(d);
			free(rd);
		}
		if (r == 0 && in->present && !in->gather && !strncmp(in->path, "s3://", 5))
			r = want_uri(&g, in->name, in->path, in->fingerprint, dir, rdir, &in_local[i]);
		else if (r == 0) {
			in_local[i] = xstrdup(in->present && !in->gather ? in->path : "");
			if (in->present && !in->gather)
				r = local_present(&g, in->name, in->path);
		}
		free(done);
		free(dir);
		free(rdir);
		if (r < 0)
			goto out;
	}
	if (g.n || g.nm) {
		if (!rm) {
			g.reason = xstrdup("S3 inputs without an S3 client");
			goto out;
		}
		for (size_t i = 0; i < g.nm; i++) {
			struct mirror *m = &g.m[i];
			if (m->n)
				qsort(m->rels, m->n, sizeof(char *), cmp_str);
			if (mkdir_p(m->dir, 0777) < 0) {
				g.reason = xasprintf("cannot create '%s': %s", m->dir, strerror(errno));
				goto out;
			}
			prune_mirror(m, m->dir, "");
		}
		if (fetch(&g) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		*reason = g.reason ? g.reason : xstrdup("cannot stage the inputs");
	else
		free(g.reason);
	for (size_t i = 0; i < g.n; i++) {
		free(g.w[i].bucket);
		free(g.w[i].key);
		free(g.w[i].local);
		free(g.w[i].record);
	}
	free(g.w);
	for (size_t i = 0; i < g.nm; i++) {
		for (size_t k = 0; k < g.m[i].n; k++)
			free(g.m[i].rels[k]);
		free(g.m[i].rels);
		free(g.m[i].dir);
		free(g.m[i].rdir);
	}
	free(g.m);
	return ret;
}
