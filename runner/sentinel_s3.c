/* sentinel_s3.c - sentinels and the claim on an S3 root (sentinel_s3.h). */
#include "runner/sentinel_s3.h"
#include "aws/s3.h"
#include "lib/util.h"
#include "runner/remote.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One object of the instance's folder. */
struct listed {
	char *base;               /* its name below the folder */
	struct sentinel_name nm;  /* when sentinel */
	bool sentinel, claim;
	char etag[80];
	bool gone;                /* deleted by us */
};

struct s3sent {
	struct remote *rm;
	struct s3_client *c;
	char *bucket, *prefix;    /* prefix: the folder's key, ending with '/' */
	const char *key;
	char *holder;
	struct listed *v;
	size_t n;
	bool listed, claimed, fresh, took_over;
	struct buf tmp;
};

/* ---- holders ---- */

/* The start time (clock ticks since boot) of process pid, or 0. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* fields after the command: state is field 3, starttime field 22 */
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void host_name(char *out, size_t cap)
{
	if (gethostname(out, cap - 1) < 0 || !out[0])
		snprintf(out, cap, "localhost");
	out[cap - 1] = 0;
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			*p = '-';
}

char *s3sent_holder(void)
{
	const char *job = getenv("AWS_BATCH_JOB_ID"), *att = getenv("AWS_BATCH_JOB_ATTEMPT");
	if (job && *job) {
		char *h = xasprintf("%s.%s", job, att && *att ? att : "1");
		if (sentinel_holder_valid(h))
			return h;
		free(h);
	}
	char host[128];
	host_name(host, sizeof host);
	char *h = xasprintf("local.%ld.%llu.%s", (long)getpid(), start_time((long)getpid()), host);
	if (strlen(h) > SENTINEL_HOLDER_MAX)
		h[SENTINEL_HOLDER_MAX] = 0;
	return h;
}

/* Split a Batch holder "<job>.<attempt>": the job's length and the attempt. */
static bool batch_holder(const char *h, size_t *joblen, long *attempt)
{
	const char *dot = strrchr(h, '.');
	if (!dot || dot == h || !dot[1] || !strncmp(h, "local.", 6))
		return false;
	char *end;
	long a = strtol(dot + 1, &end, 10);
	if (*end || a < 0)
		return false;
	*joblen = (size_t)(dot - h);
	*attempt = a;
	return true;
}

int s3sent_holder_live(const char *h, const char *mine)
{
	if (!strcmp(h, mine))
		return 0;
	if (!strncmp(h, "local.", 6)) {
		char *end;
		long pid = strtol(h + 6, &end, 10);
		if (*end != '.')
			return 1;
		unsigned long long start = strtoull(end + 1, &end, 10);
		if (*end != '.')
			return 1;
		char host[128];
		host_name(host, sizeof host);
		if (strcmp(end + 1, host))
			return 1; /* another machine's: not known dead */
		if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			return 0;
		return start_time(pid) == start;
	}
	size_t jl, ml;
	long a, ma;
	if (batch_holder(h, &jl, &a) && batch_holder(mine, &ml, &ma) && jl == ml && !strncmp(h, mine, jl))
		return a >= ma; /* an earlier attempt of this job is dead */
	return 1;
}

/* ---- the folder ---- */

struct s3sent *s3sent_new(struct remote *rm, const char *dir, const char *key)
{
	struct s3sent *s = xcalloc(1, sizeof(*s));
	s->rm = rm;
	s->key = key;
	s->holder = s3sent_holder();
	if (s3_uri_split(dir, &s->bucket, &s->prefix) < 0) {
		s->bucket = s->prefix = NULL;
	}
	s->c = s->bucket ? remote_client(rm, s->bucket) : NULL;
	return s;
}

void s3sent_free(struct s3sent *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].base);
	free(s->v);
	free(s->bucket);
	free(s->prefix);
	free(s->holder);
	buf_free(&s->tmp);
	free(s);
}

bool s3sent_fresh(const struct s3sent *s)
{
	return s->fresh;
}

bool s3sent_took_over(const struct s3sent *s)
{
	return s->took_over;
}

static char *op_reason(const struct s3_op *op)
{
	return aws_error_format(op->error);
}

/* The object key of base. The caller frees. */
static char *okey(const struct s3sent *s, const char *base)
{
	return xasprintf("%s%s", s->prefix, base);
}

static char *base_of(const struct s3sent *s, enum sentinel_state st, const char *holder)
{
	struct buf b = {0};
	sentinel_base_put(&b, s->key, st, holder);
	return buf_detach(&b);
}

/* The claim's body for holder (the caller frees), or NULL. */
static char *claim_body(const char *holder)
{
	cJSON *cj = cJSON_CreateObject();
	cJSON_AddStringToObject(cj, "holder", holder);
	char *body = cJSON_PrintUnformatted(cj);
	cJSON_Delete(cj);
	return body;
}

/* Whether etag is the one S3 gives a single PUT of holder's claim body
 * (its MD5, hex): the claim's holder known from the listing. Another
 * ETag (an encrypted bucket's, say) proves nothing. */
static bool claim_etag_is(const char *etag, const char *holder)
{
	char *body = claim_body(holder);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	bool same = false;
	if (body && EVP_Digest(body, strlen(body), md, &mdlen, EVP_md5(), NULL) == 1) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		same = mdlen == 16 && !strcmp(etag, hex);
	}
	free(body);
	return same;
}

/* The holder of the listed claim when its ETag names one of those the
 * listing suggests: a running sentinel's holder of the key, or an
 * earlier attempt of this Batch job (which claims its instances before
 * it starts them; *started false then, as that holder's running
 * sentinel is not in view: it touched nothing). Malloc'd, or NULL when
 * none fits (GET the claim). */
static char *claim_holder_listed(const struct s3sent *s, const struct listed *claim, bool *started)
{
	*started = true;
	for (size_t i = 0; i < s->n; i++) {
		const struct listed *l = &s->v[i];
		if (l->sentinel && l->nm.state == SENT_RUNNING && l->nm.holder[0] && !strcmp(l->nm.key, s->key) &&
		    claim_etag_is(claim->etag, l->nm.holder))
			return xstrdup(l->nm.holder);
	}
	*started = false;
	size_t jl;
	long a;
	if (!batch_holder(s->holder, &jl, &a))
		return NULL;
	for (long k = a - 1; k >= 1 && k >= a - 10; k--) {
		char *h = xasprintf("%.*s.%ld", (int)jl, s->holder, k);
		if (claim_etag_is(claim->etag, h))
			return h;
		free(h);
	}
	return NULL;
}

/* The claim's holder from its body (GET), or NULL when it is gone or says
 * none; -1 on failure. */
static int claim_holder(struct s3sent *s, const char *base, char **holder, char **reason)
{
	char *k = okey(s, base);
	struct s3_op op = {.kind = S3_GET, .bucket = s->bucket, .key = k};
	int ret = -1;
	*holder = NULL;
	if (s3_run(s->c, &op, 1) < 0) {
		*reason = op_reason(&op);
		goto out;
	}
	ret = 0;
	if (!op.found)
		goto out;
	cJSON *j = cJSON_ParseWithLength(op.body_out.data ? op.body_out.data : "", op.body_out.len);
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "holder");
	if (cJSON_IsString(h) && sentinel_holder_valid(h->valuestring))
		*holder = xstrdup(h->valuestring);
	cJSON_Delete(j);
out:
	s3_op_free(&op);
	free(k);
	return ret;
}

/* Keep o when it is an object of s's folder (not below it) that names
 * the claim of its key or a sentinel. */
static void take_listed(struct s3sent *s, const struct s3_object *o)
{
	size_t pl = strlen(s->prefix);
	if (strncmp(o->key, s->prefix, pl) || !o->key[pl] || strchr(o->key + pl, '/'))
		return;
	struct listed e = {.base = xstrdup(o->key + pl)};
	snprintf(e.etag, sizeof e.etag, "%s", o->etag ? o->etag : "");
	struct buf cl = {0};
	sentinel_claim_base_put(&cl, s->key);
	e.claim = !strcmp(e.base, cl.data);
	buf_free(&cl);
	e.sentinel = sentinel_name_parse(e.base, strlen(e.base), &e.nm) == 0;
	if (!e.claim && !e.sentinel) {
		free(e.base);
		return;
	}
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = e;
}

static int on_object(void *ctx, const struct s3_object *o)
{
	take_listed(ctx, o);
	return 0;
}

static bool usable(const struct s3sent *s)
{
	return s->bucket && s->prefix && s->prefix[0] && s->c;
}

/* One listing for several instances: the folders below a common prefix. */
struct group {
	struct s3sent **v;
	size_t n;
	size_t objects, max_objects;
};

static int on_group_object(void *ctx, const struct s3_object *o)
{
	struct group *g = ctx;
	if (++g->objects > g->max_objects)
		return -1; /* dearer than a listing per folder: stop */
	for (size_t i = 0; i < g->n; i++)
		take_listed(g->v[i], o);
	return 0;
}

int s3sent_list_group(struct s3sent **v, size_t n, char **reason)
{
	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!usable(v[i]) || v[i]->listed || strcmp(v[i]->bucket, v[0]->bucket))
			return 0;
	/* the longest prefix, up to a '/', that every folder shares */
	size_t cl = strlen(v[0]->prefix);
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < cl && v[i]->prefix[k] && v[i]->prefix[k] == v[0]->prefix[k])
			k++;
		cl = k;
	}
	while (cl > 0 && v[0]->prefix[cl - 1] != '/')
		cl--;
	if (cl == 0)
		return 0;
	char *common = xasprintf("%.*s", (int)cl, v[0]->prefix);
	/* n listings of 1,000 keys each would cost as much as n folders */
	struct group g = {.v = v, .n = n, .max_objects = (n - 1) * 1000};
	struct s3_list_opts lo = {.prefix = common};
	struct aws_error e = {0};
	int ret = 0;
	if (s3_list(v[0]->c, v[0]->bucket, &lo, on_group_object, NULL, &g, NULL, &e) < 0) {
		/* Stopped: each folder is listed on its own. Failed: said. */
		if (aws_error_isset(&e)) {
			*reason = aws_error_format(&e);
			ret = -1;
		}
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < v[i]->n; k++)
				free(v[i]->v[k].base);
			free(v[i]->v);
			v[i]->v = NULL;
			v[i]->n = 0;
		}
	} else {
		for (size_t i = 0; i < n; i++)
			v[i]->listed = true;
		ret = 1;
	}
	aws_error_clear(&e);
	free(common);
	return ret;
}

int s3sent_claim(struct s3sent *s, bool force, char **reason)
{
	if (!s->bucket || !s->prefix || !s->prefix[0]) {
		*reason = xstrdup("the sentinel folder is not an s3://bucket/prefix/ URI");
		return -1;
	}
	if (!s->listed) {
		struct s3_list_opts lo = {.prefix = s->prefix, .delimiter = "/"};
		struct aws_error e = {0};
		if (s3_list(s->c, s->bucket, &lo, on_object, NULL, s, NULL, &e) < 0) {
			*reason = aws_error_format(&e);
			aws_error_clear(&e);
			return -1;
		}
		s->listed = true;
	}
	s->fresh = true;
	const struct listed *claim = NULL, *holder_of = NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct listed *l = &s->v[i];
		if (l->claim) {
			claim = l;
			continue;
		}
		s->fresh = false;
		if (strcmp(l->nm.key, s->key))
			continue;
		if (l->nm.state == SENT_OK && !force)
			return S3SENT_DONE;
		if (l->nm.state == SENT_RUNNING && l->nm.holder[0] && s3sent_holder_live(l->nm.holder, s->holder))
			holder_of = l;
	}
	struct buf cb = {0};
	sentinel_claim_base_put(&cb, s->key);
	char *ck = okey(s, cb.data);
	char *cbody = claim_body(s->holder);
	int ret = -1;
	if (holder_of) {
		*reason = xasprintf("held by %s", holder_of->nm.holder);
		ret = S3SENT_HELD;
		goto out;
	}
	struct s3_op op = {.kind = S3_PUT, .bucket = s->bucket, .key = ck, .body = cbody,
			   .body_len = cbody ? strlen(cbody) : 0, .content_type = "application/json"};
	if (claim) {
		/* A claim without a live running sentinel in view: its body
		 * names the holder, and so may its ETag. */
		bool started;
		char *h = claim_holder_listed(s, claim, &started);
		if (!h)
			started = true; /* not known: it may have */
		if (!h && claim_holder(s, cb.data, &h, reason) < 0)
			goto out;
		if (h && s3sent_holder_live(h, s->holder)) {
			*reason = xasprintf("held by %s", h);
			free(h);
			ret = S3SENT_HELD;
			goto out;
		}
		free(h);
		op.if_match = claim->etag;
		/* A holder that never started touched no output. */
		s->took_over = started;
	} else {
		op.if_none_match = 1;
	}
	if (!cbody) {
		*reason = xstrdup("out of memory");
		goto out;
	}
	if (s3_run(s->c, &op, 1) < 0) {
		*reason = op_reason(&op);
		s3_op_free(&op);
		goto out;
	}
	if (!op.found) {
		*reason = xstrdup("held by another runner (it claimed the instance first)");
		s3_op_free(&op);
		ret = S3SENT_HELD;
		goto out;
	}
	s3_op_free(&op);
	s->claimed = true;
	ret = S3SENT_CLAIMED;
out:
	free(cbody);
	free(ck);
	buf_free(&cb);
	return ret;
}

int s3sent_start(struct s3sent *s, const char *body, size_t len, char **reason)
{
	if (s3sent_put(s, SENT_RUNNING, body, len, reason) == 0)
		return 0;
	char *ignored = NULL;
	s3sent_release(s, false, false, &ignored); /* the PUT may have landed */
	free(ignored);
	return -1;
}

/* Delete the objects of the folder named by bases (n of them) with one
 * DeleteObjects a thousand. 0, or -1 with *reason (the first failure,
 * unless one is set already); gone[i] says which went (may be NULL). */
static int delete_bases(struct s3sent *s, char **bases, size_t n, bool *gone, char **reason)
{
	char **keys = xcalloc(n + 1, sizeof(char *));
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		keys[i] = okey(s, bases[i]);
		if (gone)
			gone[i] = true;
	}
	for (size_t at = 0; at < n; at += S3_DELETE_MAX) {
		size_t m = n - at < S3_DELETE_MAX ? n - at : S3_DELETE_MAX, nf = 0;
		struct s3_delete_failure *f = NULL;
		struct aws_error e = {0};
		int rc = s3_delete_objects(s->c, s->bucket, (const char *const *)keys + at, m, &f, &nf, &e);
		if (rc < 0) {
			ret = -1;
			if (!*reason)
				*reason = aws_error_format(&e);
			for (size_t i = at; gone && i < at + m; i++)
				gone[i] = false;
		}
		for (size_t k = 0; k < nf; k++) {
			ret = -1;
			if (!*reason) {
				char *m1 = aws_error_format(&f[k].error);
				*reason = nf > 1 ? xasprintf("%s (and %zu more)", m1, nf - 1) : xstrdup(m1);
				free(m1);
			}
			for (size_t i = at; gone && i < at + m; i++)
				if (!strcmp(keys[i], f[k].key))
					gone[i] = false;
		}
		s3_delete_failures_free(f, nf);
		aws_error_clear(&e);
	}
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return ret;
}

/* Delete the listed objects that pick says to, at once. 0, or -1 with
 * *reason (the first failure). */
static int delete_listed(struct s3sent *s, bool (*pick)(const struct s3sent *, const struct listed *),
			 char **reason)
{
	char **bases = xcalloc(s->n + 1, sizeof(char *));
	size_t *idx = xcalloc(s->n + 1, sizeof(size_t));
	bool *gone = xcalloc(s->n + 1, sizeof(bool));
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].gone || !pick(s, &s->v[i]))
			continue;
		bases[n] = s->v[i].base;
		idx[n++] = i;
	}
	int ret = n ? delete_bases(s, bases, n, gone, reason) : 0;
	for (size_t i = 0; i < n; i++)
		if (gone[i])
			s->v[idx[i]].gone = true;
	free(bases);
	free(idx);
	free(gone);
	return ret;
}

static bool pick_ok(const struct s3sent *s, const struct listed *l)
{
	(void)s;
	return l->sentinel && l->nm.state == SENT_OK;
}

int s3sent_drop_ok(struct s3sent *s, char **reason)
{
	return delete_listed(s, pick_ok, reason);
}

int s3sent_put(struct s3sent *s, enum sentinel_state st, const char *body, size_t len, char **reason)
{
	char *base = base_of(s, st, st == SENT_RUNNING ? s->holder : NULL);
	char *k = okey(s, base);
	struct s3_op op = {.kind = S3_PUT, .bucket = s->bucket, .key = k, .body = body, .body_len = len,
			   .content_type = "application/json"};
	int ret = 0;
	if (s3_run(s->c, &op, 1) < 0) {
		*reason = op_reason(&op);
		ret = -1;
	}
	s3_op_free(&op);
	free(k);
	free(base);
	return ret;
}

/* After an ok: what no longer describes the outputs. Not the new ok (it
 * was not listed), not live running sentinels of other runners. */
static bool pick_stale(const struct s3sent *s, const struct listed *l)
{
	if (!l->sentinel)
		return false;
	if (l->nm.state == SENT_RUNNING)
		return !l->nm.holder[0] || !s3sent_holder_live(l->nm.holder, s->holder);
	if (l->nm.state == SENT_OK)
		return strcmp(l->nm.key, s->key) != 0;
	return true;
}

int s3sent_release(struct s3sent *s, bool keep_running, bool prune, char **reason)
{
	if (!s->claimed)
		return 0;
	/* One DeleteObjects: the older sentinels, the running one, the claim. */
	char **bases = xcalloc(s->n + 3, sizeof(char *));
	char *running = base_of(s, SENT_RUNNING, s->holder);
	size_t n = 0;
	for (size_t i = 0; prune && i < s->n; i++)
		if (!s->v[i].gone && pick_stale(s, &s->v[i]) && strcmp(s->v[i].base, running))
			bases[n++] = xstrdup(s->v[i].base);
	if (!keep_running)
		bases[n++] = running;
	else
		free(running);
	struct buf cb = {0};
	sentinel_claim_base_put(&cb, s->key);
	bases[n++] = buf_detach(&cb);
	int ret = delete_bases(s, bases, n, NULL, reason);
	for (size_t i = 0; i < n; i++)
		free(bases[i]);
	free(bases);
	s->claimed = false;
	return ret;
}
