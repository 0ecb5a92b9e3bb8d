/* submit.c - the batch backend: freeze a plan's stale instances into a
 * submission under the output root, submit its chunks as Batch jobs,
 * and read the open submissions so that queued work is not stale. */
#include "engine/submit.h"
#include "aws/batch.h"
#include "aws/s3.h"
#include "engine/cloud.h"
#include "engine/spec.h"
#include "engine/state.h"
#include "engine/store.h"
#include "lib/util.h"
#include "runner/layout.h"
#include "runner/manifest.h"
#include "runner/participants.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* At most this many dependsOn entries a job (Batch's limit). */
#define MAX_DEPS 20
/* How long a LOCK holds without being renewed. */
#define LOCK_LEASE_S 600

#define NONE UINT32_MAX

/* ---- small S3 helpers ---- */

/* PUT data to uri; if_none_match: only when absent (*created then says
 * whether it was written). 0, or -1 after printing why. */
static int put_object(const char *uri, const void *data, size_t len, bool if_none_match, bool *created,
		      const char *if_match)
{
	char *bucket = NULL, *key = NULL;
	if (s3_uri_split(uri, &bucket, &key) < 0) {
		warn("cannot write '%s': not an s3:// URI", uri);
		return -1;
	}
	struct s3_client *c = cloud_s3_for(bucket);
	int r = -1;
	if (c) {
		struct s3_op op = {.kind = S3_PUT, .bucket = bucket, .key = key, .body = data, .body_len = len,
				   .if_none_match = if_none_match, .if_match = if_match,
				   .content_type = "application/octet-stream"};
		if (s3_run(c, &op, 1) < 0) {
			cloud_warn(op.error);
		} else {
			if (created)
				*created = op.found != 0 || (!if_none_match && !if_match);
			r = 0;
		}
		s3_op_free(&op);
	}
	free(bucket);
	free(key);
	return r;
}

/* GET uri into *out (the caller frees); *found 0 after a 404. *etag
 * (optional, 80 bytes) receives its ETag. 0, or -1 after printing why. */
static int get_object(const char *uri, char **out, size_t *len, bool *found, char *etag)
{
	char *bucket = NULL, *key = NULL;
	*out = NULL;
	*len = 0;
	if (s3_uri_split(uri, &bucket, &key) < 0) {
		warn("cannot read '%s': not an s3:// URI", uri);
		return -1;
	}
	struct s3_client *c = cloud_s3_for(bucket);
	int r = -1;
	if (c) {
		struct s3_op op = {.kind = S3_GET, .bucket = bucket, .key = key};
		if (s3_run(c, &op, 1) < 0) {
			cloud_warn(op.error);
		} else {
			*found = op.found != 0;
			if (etag)
				snprintf(etag, 80, "%s", op.etag);
			buf_putc(&op.body_out, 0);
			*len = op.body_out.len - 1;
			*out = op.body_out.data;
			op.body_out = (struct buf){0};
			r = 0;
		}
		s3_op_free(&op);
	}
	free(bucket);
	free(key);
	return r;
}

static int delete_object(const char *uri)
{
	char *bucket = NULL, *key = NULL;
	if (s3_uri_split(uri, &bucket, &key) < 0)
		return -1;
	struct s3_client *c = cloud_s3_for(bucket);
	int r = -1;
	if (c) {
		struct s3_op op = {.kind = S3_DELETE, .bucket = bucket, .key = key};
		if (s3_run(c, &op, 1) < 0)
			cloud_warn(op.error);
		else
			r = 0;
		s3_op_free(&op);
	}
	free(bucket);
	free(key);
	return r;
}

/* ---- the Batch client ---- */

static struct batch *batch_client;

static struct batch *get_batch(void)
{
	if (batch_client)
		return batch_client;
	struct aws_error err = {0};
	batch_client = batch_new(cloud_profile(), &err);
	if (!batch_client) {
		cloud_warn(&err);
		aws_error_clear(&err);
	}
	return batch_client;
}

/* ---- reading open submissions ---- */

/* One chunk found under a root's submissions/ prefix. */
struct found_chunk {
	char *sub;        /* submission id */
	char *target;
	char *chunk;      /* its number, as written */
	char *dir;        /* <root>.rapid/submissions/<id>/<target>/<chunk>/ */
	char *job_id;     /* from the submitted.<id> marker; NULL when none */
	char *ptxt_etag;  /* participants.txt's ETag, or NULL */
	bool manifest;    /* manifest.jsonl is there */
	bool none;        /* the marker says it was never submitted */
	enum batch_state state;
};

struct found_sub {
	char *id;
	bool ended;
};

struct scan {
	char *bucket_uri; /* s3://<bucket>/ of the root being listed */
	const char *dir;  /* its <root>.rapid/submissions/ */
	struct found_chunk *chunks;
	size_t nchunks, capchunks;
	struct found_sub *subs;
	size_t nsubs, capsubs;
	size_t prefix_len;
};

static struct found_sub *sub_of(struct scan *s, const char *id, size_t n)
{
	for (size_t k = 0; k < s->nsubs; k++)
		if (strlen(s->subs[k].id) == n && !memcmp(s->subs[k].id, id, n))
			return &s->subs[k];
	GROW(s->subs, s->capsubs, s->nsubs + 1);
	struct found_sub *f = &s->subs[s->nsubs++];
	*f = (struct found_sub){.id = xstrndup(id, n)};
	return f;
}

static struct found_chunk *chunk_of(struct scan *s, const char *sub, const char *target, const char *chunk)
{
	for (size_t k = 0; k < s->nchunks; k++) {
		struct found_chunk *c = &s->chunks[k];
		if (!strcmp(c->sub, sub) && !strcmp(c->target, target) && !strcmp(c->chunk, chunk))
			return c;
	}
	GROW(s->chunks, s->capchunks, s->nchunks + 1);
	struct found_chunk *c = &s->chunks[s->nchunks++];
	*c = (struct found_chunk){.sub = xstrdup(sub), .target = xstrdup(target), .chunk = xstrdup(chunk),
				  .state = BATCH_UNKNOWN};
	return c;
}

/* A key under submissions/: <id>/submission.json, <id>/ended, LOCK, or
 * <id>/<target>/<chunk>/<file>. */
static int on_sub_object(void *ctx, const struct s3_object *o)
{
	struct scan *s = ctx;
	const char *rel = o->key + s->prefix_len;
	const char *slash = strchr(rel, '/');
	if (!slash)
		return 0; /* LOCK */
	struct found_sub *f = sub_of(s, rel, (size_t)(slash - rel));
	const char *rest = slash + 1;
	if (!strcmp(rest, "submission.json"))
		return 0;
	if (!strcmp(rest, "ended")) {
		f->ended = true;
		return 0;
	}
	const char *s1 = strchr(rest, '/');
	const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s1 || !s2 || strchr(s2 + 1, '/'))
		return 0;
	char *target = xstrndup(rest, (size_t)(s1 - rest));
	char *chunk = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
	const char *file = s2 + 1;
	struct found_chunk *c = chunk_of(s, f->id, target, chunk);
	free(target);
	free(chunk);
	if (!c->dir)
		c->dir = xasprintf("%s%.*s", s->bucket_uri, (int)(file - o->key), o->key);
	if (!strcmp(file, "manifest.jsonl")) {
		c->manifest = true;
	} else if (!strcmp(file, "participants.txt")) {
		free(c->ptxt_etag);
		c->ptxt_etag = xstrdup(o->etag ? o->etag : "");
	}
	else if (!strcmp(file, "submitted.none"))
		c->none = true;
	else if (!strncmp(file, "submitted.", 10) && file[10]) {
		free(c->job_id);
		c->job_id = xstrdup(file + 10);
	}
	return 0;
}

static void scan_free(struct scan *s)
{
	for (size_t k = 0; k < s->nchunks; k++) {
		free(s->chunks[k].sub);
		free(s->chunks[k].target);
		free(s->chunks[k].chunk);
		free(s->chunks[k].dir);
		free(s->chunks[k].job_id);
		free(s->chunks[k].ptxt_etag);
	}
	for (size_t k = 0; k < s->nsubs; k++) {
		free(s->subs[k].id);
	}
	free(s->chunks);
	free(s->subs);
}

/* List <root>.rapid/submissions/ into s. 0, or -1 after printing why. */
static int scan_root(struct scan *s, const char *root)
{
	char *dir = layout_submissions(root);
	char *bucket = NULL, *key = NULL;
	int r = -1;
	if (s3_uri_split(dir, &bucket, &key) == 0) {
		struct s3_client *c = cloud_s3_for(bucket);
		if (c) {
			s->bucket_uri = xasprintf("s3://%s/", bucket);
			s->dir = dir;
			s->prefix_len = strlen(key);
			struct s3_list_opts lo = {.prefix = key};
			struct aws_error err = {0};
			if (s3_list(c, bucket, &lo, on_sub_object, NULL, s, NULL, &err) < 0) {
				cloud_warn(&err);
				aws_error_clear(&err);
			} else {
				r = 0;
			}
			free(s->bucket_uri);
			s->bucket_uri = NULL;
			s->dir = NULL;
		}
	} else {
		r = 0; /* a local root has no submissions */
	}
	free(bucket);
	free(key);
	free(dir);
	return r;
}

/* The queue chunk folder dir's job was (to be) submitted to, from its
 * chunk.json. NULL when it has none (the chunk was never submitted: its
 * files go before SubmitJob) or after printing why. */
static char *chunk_queue(const char *dir)
{
	char *uri = xasprintf("%schunk.json", dir);
	char *text = NULL, *queue = NULL;
	size_t len;
	bool found = false;
	if (get_object(uri, &text, &len, &found, NULL) == 0 && found) {
		cJSON *j = cJSON_ParseWithLength(text, len);
		cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "queue");
		if (cJSON_IsString(q))
			queue = xstrdup(q->valuestring);
		else
			warn("cannot read '%s': not a chunk's record (no queue)", uri);
		cJSON_Delete(j);
	}
	free(text);
	free(uri);
	return queue;
}

/* The job name of chunk c of target in submission id. */
static char *job_name(const char *target, const char *id, const char *chunk)
{
	/* Batch: up to 128 letters, digits, '-' and '_' */
	struct buf b = {0};
	buf_puts(&b, "rapid-");
	size_t tail = strlen(id) + strlen(chunk) + 2;
	size_t room = 128 - 6 - tail;
	size_t n = 0;
	for (const char *t = target; *t && n < room; t++, n++)
		buf_putc(&b, (*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') ||
				     *t == '_' || *t == '-' ? *t : '_');
	buf_printf(&b, "-%s-%s", id, chunk);
	return b.data;
}

/* A chunk without its submitted marker: ask Batch whether its job
 * exists (a build that died after SubmitJob). write: record what was
 * found (only the build that holds the lock). */
static int reconcile(struct found_chunk *c, bool write)
{
	struct batch *b = get_batch();
	if (!b)
		return -1;
	char *queue = chunk_queue(c->dir);
	if (!queue) {
		c->none = true;
		return 0;
	}
	char *name = job_name(c->target, c->sub, c->chunk);
	struct batch_list q = {.queue = queue, .name_filter = name};
	struct batch_job *jobs = NULL;
	size_t n = 0;
	struct aws_error err = {0};
	int r = batch_list_jobs(b, &q, &jobs, &n, &err);
	if (r < 0) {
		cloud_warn(&err);
		aws_error_clear(&err);
	} else {
		for (size_t k = 0; k < n; k++)
			if (jobs[k].name && !strcmp(jobs[k].name, name) && jobs[k].array_index < 0) {
				c->job_id = xstrdup(jobs[k].id);
				break;
			}
		if (write) {
			char *marker = xasprintf("%ssubmitted.%s", c->dir, c->job_id ? c->job_id : "none");
			if (put_object(marker, "", 0, false, NULL, NULL) < 0)
				r = -1;
			free(marker);
		}
		if (!c->job_id)
			c->none = true;
	}
	batch_jobs_free(jobs, n);
	free(name);
	free(queue);
	return r;
}

/* Mark the stale instances of target gi whose participant is listed in
 * participants.txt of chunk c as queued in its job. */
static int mark_chunk(struct plan *p, size_t gi, const struct found_chunk *c)
{
	char *uri = xasprintf("%sparticipants.txt", c->dir);
	char *text = NULL;
	size_t len;
	bool found = false;
	int r = 0;
	/* written once: the cache keeps it by its ETag */
	struct buf key = {0};
	buf_printf(&key, "participants %s %s", uri, c->ptxt_etag ? c->ptxt_etag : "");
	void *cached = NULL;
	size_t clen = 0;
	if (p->st && c->ptxt_etag && *c->ptxt_etag &&
	    state_get(p->st, STATE_SUBMISSIONS, key.data, key.len, &cached, &clen) == 1) {
		text = xmalloc(clen + 1);
		memcpy(text, cached, clen);
		text[clen] = 0;
		len = clen;
		found = true;
		free(cached);
	} else {
		r = get_object(uri, &text, &len, &found, NULL);
		if (r == 0 && found && p->st && c->ptxt_etag && *c->ptxt_etag)
			state_put(p->st, STATE_SUBMISSIONS, key.data, key.len, text, len);
	}
	buf_free(&key);
	free(uri);
	if (r < 0 || !found) {
		free(text);
		return r;
	}
	struct graph *g = p->g;
	struct tgroup *tg = &g->groups[gi];
	const struct target *t = tg->t;
	/* the participant axis: the wildcard named participant, else the first */
	int pw = -1;
	for (size_t k = 0; k < t->nwildcards && pw < 0; k++)
		if (!strcmp(t->wildcards[k].name, "participant"))
			pw = (int)k;
	if (pw < 0 && t->nwildcards)
		pw = 0;
	/* the ids, one a line */
	size_t nv = pw >= 0 ? t->wildcards[pw].values.n : 1;
	bool *listed = xcalloc(nv + 1, sizeof(bool));
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		if (pw < 0) {
			listed[0] = true;
			continue;
		}
		for (size_t v = 0; v < nv; v++)
			if (!strcmp(t->wildcards[pw].values.v[v], line)) {
				listed[v] = true;
				break;
			}
	}
	char *why = NULL;
	for (uint32_t k = 0; k < tg->n; k++) {
		struct instance *i = &g->inst[tg->first + k];
		if (i->state != INST_STALE)
			continue;
		uint32_t v = pw >= 0 ? graph_value_index(tg, i->idx, (size_t)pw) : 0;
		if (!listed[v])
			continue;
		if (!why) {
			char *w = xasprintf("queued: job %s (submission %s)", c->job_id, c->sub);
			why = arena_strdup(g->arena, w);
			free(w);
		}
		if (!p->queued_job)
			p->queued_job = xcalloc(g->ninst + 1, sizeof(*p->queued_job));
		p->queued_job[tg->first + k] = arena_strdup(g->arena, c->job_id);
		i->state = INST_RUNNING;
		i->reason = R_QUEUED;
		i->why = why;
		p->count[gi][INST_STALE]--;
		p->count[gi][INST_RUNNING]++;
	}
	free(listed);
	free(text);
	return 0;
}

/* Remember chunk c's job as Batch described it (status, cancel). */
static void add_job(struct plan *p, const struct found_chunk *c, const struct batch_job *j)
{
	p->jobs = xreallocarray(p->jobs, p->njobs + 1, sizeof(*p->jobs));
	struct plan_job *pj = &p->jobs[p->njobs++];
	*pj = (struct plan_job){
		.submission = xstrdup(c->sub), .target = xstrdup(c->target), .chunk = xstrdup(c->chunk),
		.job_id = xstrdup(j->id), .job_name = xstrdup(j->name ? j->name : ""), .dir = xstrdup(c->dir),
		.state = (int)j->state, .alive = batch_state_alive(j->state), .size = j->array_size,
		.reason = j->status_reason ? xstrdup(j->status_reason) : NULL,
	};
	for (int k = 0; k < BATCH_NSTATES && k < 8; k++)
		pj->summary[k] = j->summary[k];
}

/* Read the open submissions of p's selected S3 roots; mark what they
 * queue. write: reconcile and record (the build that holds the lock). */
/* The Batch job and attempt a running sentinel's holder names
 * ("<job id>.<attempt>"); false for a local holder or another shape. */
static bool batch_holder(const char *h, char **job)
{
	const char *dot = strrchr(h, '.');
	if (!strncmp(h, "local.", 6) || !dot || dot == h || !dot[1])
		return false;
	for (const char *d = dot + 1; *d; d++)
		if (*d < '0' || *d > '9')
			return false;
	*job = xstrndup(h, (size_t)(dot - h));
	return true;
}

struct holders {
	char **v;    /* distinct holders */
	size_t n;
};

static int on_holder(void *ctx, const char *h)
{
	struct holders *hs = ctx;
	for (size_t k = 0; k < hs->n; k++)
		if (!strcmp(hs->v[k], h))
			return 0;
	hs->v = xreallocarray(hs->v, hs->n + 1, sizeof(char *));
	hs->v[hs->n++] = xstrdup(h);
	return 0;
}

/* Group gi's running sentinels held by Batch jobs that no longer run are
 * not held: a job of an open submission by what DescribeJobs said of it
 * (p->jobs), another by asking DescribeJobs (100 a request), alive only
 * while STARTING or RUNNING. Their instances are interrupted, not
 * running. 0, or -1 after printing why. */
static int check_holders(struct plan *p, size_t gi)
{
	struct store *st = p->stores[gi];
	const struct tgroup *tg = &p->g->groups[gi];
	struct holders hs = {0};
	if (store_holders(st, tg->t->name, on_holder, &hs) < 0)
		return -1;
	char **jobs = xcalloc(hs.n + 1, sizeof(char *));
	bool *dead = xcalloc(hs.n + 1, sizeof(bool)), *ask = xcalloc(hs.n + 1, sizeof(bool));
	const char **asked = xcalloc(hs.n + 1, sizeof(char *));
	size_t nasked = 0;
	int ret = 0;
	for (size_t k = 0; k < hs.n; k++) {
		if (!batch_holder(hs.v[k], &jobs[k]))
			continue;
		size_t plen = strcspn(jobs[k], ":");
		const struct plan_job *known = NULL;
		for (size_t j = 0; j < p->njobs && !known; j++)
			if (strlen(p->jobs[j].job_id) == plen && !strncmp(p->jobs[j].job_id, jobs[k], plen))
				known = &p->jobs[j];
		if (known && !known->alive)
			dead[k] = true;
		else if (!known)
			ask[k] = true, asked[nasked++] = jobs[k];
	}
	if (nasked) {
		struct batch *b = get_batch();
		struct batch_job *found = NULL;
		size_t n = 0;
		struct aws_error err = {0};
		if (!b) {
			ret = -1;
		} else if (batch_describe_jobs(b, asked, nasked, &found, &n, &err) < 0) {
			cloud_warn(&err);
			aws_error_clear(&err);
			ret = -1;
		} else {
			for (size_t k = 0; k < hs.n; k++) {
				if (!ask[k])
					continue;
				dead[k] = true; /* a job Batch no longer knows has ended */
				for (size_t j = 0; j < n; j++)
					if (!strcmp(found[j].id, jobs[k]))
						dead[k] = found[j].state != BATCH_STARTING && found[j].state != BATCH_RUNNING;
			}
		}
		batch_jobs_free(found, n);
	}
	bool any = false;
	for (size_t k = 0; k < hs.n; k++)
		if (ret == 0 && dead[k]) {
			store_holder_dead(st, hs.v[k]);
			any = true;
		}
	/* what a dead holder held is interrupted */
	for (uint32_t k = 0; any && k < tg->n && ret == 0; k++) {
		struct instance *i = &p->g->inst[tg->first + k];
		if (i->state != INST_RUNNING || i->reason != R_RUNNING)
			continue;
		const char *vals[RULES_MAX_WILDCARDS];
		for (size_t w = 0; w < tg->t->nwildcards; w++)
			vals[w] = graph_value(p->g, i, w);
		char key[33];
		plan_key_hex(i, key);
		struct lookup lk;
		if (store_lookup(st, tg->t->name, vals, tg->t->nwildcards, key, &lk) < 0) {
			ret = -1;
			break;
		}
		if (lk.state == LK_INTERRUPTED) {
			i->state = INST_STALE;
			i->reason = R_INTERRUPTED;
			p->count[gi][INST_RUNNING]--;
			p->count[gi][INST_STALE]++;
		}
	}
	for (size_t k = 0; k < hs.n; k++) {
		free(hs.v[k]);
		free(jobs[k]);
	}
	free(hs.v);
	free(jobs);
	free(dead);
	free(ask);
	free(asked);
	return ret;
}

static int mark_queued(struct plan *p, bool write)
{
	struct graph *g = p->g;
	int ret = 0;
	struct scan *scans = NULL;
	const char **roots = NULL;
	size_t nscans = 0;
	plan_jobs_clear(p); /* what an earlier look found is looked at again */
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		if (!p->stores[gi] || !uri_is_s3(store_root(p->stores[gi])))
			continue;
		const char *root = store_root(p->stores[gi]);
		bool seen = false;
		for (size_t k = 0; k < gi && !seen; k++)
			seen = p->stores[k] && !strcmp(store_root(p->stores[k]), root);
		if (seen)
			continue;
		scans = xreallocarray(scans, nscans + 1, sizeof(*scans));
		roots = xreallocarray(roots, nscans + 1, sizeof(*roots));
		struct scan *sp = &scans[nscans];
		*sp = (struct scan){0};
		roots[nscans++] = root;
		if (scan_root(sp, root) < 0) {
			ret = -1;
			break;
		}
		/* the chunks whose jobs may still run */
		const char **ids = xcalloc(sp->nchunks + 1, sizeof(*ids));
		size_t nids = 0;
		for (size_t k = 0; k < sp->nchunks; k++) {
			struct found_chunk *c = &sp->chunks[k];
			struct found_sub *f = sub_of(sp, c->sub, strlen(c->sub));
			if (f->ended || c->none || !c->manifest)
				continue;
			if (!c->job_id && reconcile(c, write) < 0)
				ret = -1;
			if (c->job_id)
				ids[nids++] = c->job_id;
		}
		if (nids) {
			struct batch *b = get_batch();
			struct batch_job *jobs = NULL;
			size_t n = 0;
			struct aws_error err = {0};
			if (!b) {
				ret = -1;
			} else if (batch_describe_jobs(b, ids, nids, &jobs, &n, &err) < 0) {
				cloud_warn(&err);
				aws_error_clear(&err);
				ret = -1;
			} else {
				for (size_t k = 0; k < sp->nchunks; k++)
					for (size_t j = 0; j < n; j++)
						if (sp->chunks[k].job_id && !strcmp(sp->chunks[k].job_id, jobs[j].id)) {
							sp->chunks[k].state = jobs[j].state;
							add_job(p, &sp->chunks[k], &jobs[j]);
						}
			}
			batch_jobs_free(jobs, n);
		}
		free(ids);
	}
	/* running sentinels of jobs that ended are not held */
	for (size_t gi = 0; gi < g->ngroups && ret == 0; gi++)
		if (p->stores[gi] && uri_is_s3(store_root(p->stores[gi])) && check_holders(p, gi) < 0)
			ret = -1;
	for (size_t si = 0; si < nscans; si++) {
		struct scan *sp = &scans[si];
		const char *root = roots[si];
		if (ret == 0) {
			for (size_t k = 0; k < sp->nchunks; k++) {
				struct found_chunk *c = &sp->chunks[k];
				if (!c->job_id || !batch_state_alive(c->state))
					continue;
				for (size_t gj = 0; gj < g->ngroups; gj++)
					if (p->stores[gj] && !strcmp(store_root(p->stores[gj]), root) &&
					    !strcmp(g->groups[gj].t->name, c->target) && mark_chunk(p, gj, c) < 0)
						ret = -1;
			}
		}
		/* a submission every job of which under this root ended is
		 * not asked about again here */
		if (ret == 0 && write) {
			char *dir = layout_submissions(root);
			for (size_t k = 0; k < sp->nsubs; k++) {
				struct found_sub *f = &sp->subs[k];
				bool open = false, any = false;
				for (size_t j = 0; j < sp->nchunks && !open; j++) {
					struct found_chunk *c = &sp->chunks[j];
					if (strcmp(c->sub, f->id))
						continue;
					any = true;
					open = !c->none && (!c->job_id || batch_state_alive(c->state) ||
							    c->state == BATCH_UNKNOWN);
				}
				if (!f->ended && any && !open) {
					char *uri = xasprintf("%s%s/ended", dir, f->id);
					put_object(uri, "", 0, false, NULL, NULL);
					free(uri);
				}
			}
			free(dir);
		}
		scan_free(sp);
	}
	free(scans);
	free(roots);
	/* what the marks changed */
	p->pending = 0;
	for (size_t gi = 0; gi < g->ngroups; gi++)
		p->pending += p->count[gi][INST_STALE] + p->count[gi][INST_RUNNING];
	return ret;
}

int submit_mark_queued(struct plan *p)
{
	return mark_queued(p, false);
}

/* ---- freezing the plan ---- */

/* One array child: a participant's stale instances of one target. */
struct child {
	const char *participant;
	uint32_t *inst;
	char **specs;
	size_t n, cap;
};

/* One chunk: one Batch job. */
struct chunk {
	size_t group;
	size_t number;
	struct child *children; /* borrowed from the target's */
	size_t n;
	size_t ninst;
	char *name;
	char *dir;              /* <root>.rapid/submissions/<id>/<target>/<number>/ */
	struct buf jsonl, idx, ptxt;
	struct buf record;      /* chunk.json: what reconciling needs */
	size_t deps[MAX_DEPS];  /* chunk indices */
	size_t ndeps;
	const char *ext[MAX_DEPS]; /* queued jobs of other submissions */
	size_t next;
	bool n_to_n;
	char *definition;       /* the job definition it runs */
	char *job_id;
};

struct frozen {
	struct plan *p;
	const struct submit_opts *o;
	char id[40];
	struct child **children; /* per group */
	size_t *nchildren;
	struct chunk *chunks;
	size_t nchunks, cap;
	uint32_t *chunk_of;     /* per instance: chunk index, or NONE */
	uint32_t *child_of;     /* per instance: child index in its chunk */
	const char *lock_root;
	char *lock_uri;
	char lock_etag[80];
	bool locked;
};

static int participant_axis(const struct target *t)
{
	for (size_t k = 0; k < t->nwildcards; k++)
		if (!strcmp(t->wildcards[k].name, "participant"))
			return (int)k;
	return t->nwildcards ? 0 : -1;
}

/* "20261202T031500Z-7f3a" */
static void make_id(char out[40])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	unsigned short r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (unsigned short)(getpid() ^ now);
	size_t n = strftime(out, 40, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out + n, 40 - n, "-%04x", r);
}

/* Whether every present input of i (expanded into w) is in S3; else say
 * which is not. */
static bool inputs_in_s3(const struct plan *p, const struct instance *i, const struct inst_work *w)
{
	const struct target *t = p->g->groups[i->group].t;
	size_t nw = t->nwildcards;
	for (size_t k = 0; k < t->ninputs; k++) {
		if (!w->present[k])
			continue;
		const char *bad = NULL;
		if (t->inputs[k].gather) {
			for (size_t j = 0; j < w->gath[k].n && !bad; j++)
				if (!uri_is_s3(w->gath[k].uris.data + w->gath[k].off[j]))
					bad = w->gath[k].uris.data + w->gath[k].off[j];
		} else if (w->sym[nw + k] && !uri_is_s3(w->sym[nw + k])) {
			bad = w->sym[nw + k];
		}
		if (bad) {
			struct buf n = {0};
			graph_name(p->g, i, &n);
			warn("%s: input '%s' is '%s', on this machine: a Batch job cannot read it (put it in S3)",
			     n.data, t->inputs[k].name, bad);
			buf_free(&n);
			return false;
		}
	}
	return true;
}

static void say_local_root(const struct target *t)
{
	warn("target '%s' writes to '%s', on this machine: the batch backend needs an s3:// output", t->name,
	     t->root);
}

/* Collect each selected target's stale instances into children, one per
 * participant, with their specs. 0, 2 when the Rapidfile cannot run on
 * Batch, -1 on another failure (reported). */
static int collect(struct frozen *f)
{
	struct plan *p = f->p;
	struct graph *g = p->g;
	struct inst_work w = {0};
	struct buf spec = {0};
	int ret = 0;
	f->children = xcalloc(g->ngroups + 1, sizeof(*f->children));
	f->nchildren = xcalloc(g->ngroups + 1, sizeof(*f->nchildren));
	for (size_t gi = 0; gi < g->ngroups && ret == 0; gi++) {
		struct tgroup *tg = &g->groups[gi];
		const struct target *t = tg->t;
		if (!tg->selected || !p->count[gi][INST_STALE])
			continue;
		if (!uri_is_s3(t->root)) {
			say_local_root(t);
			ret = 2;
			break;
		}
		int pw = participant_axis(t);
		size_t nv = pw >= 0 ? t->wildcards[pw].values.n : 1;
		struct child *by = xcalloc(nv + 1, sizeof(*by));
		for (uint32_t k = 0; k < tg->n && ret == 0; k++) {
			struct instance *i = &g->inst[tg->first + k];
			if (i->state != INST_STALE)
				continue;
			int r = plan_expand(p, i, &w);
			if (r != 0) {
				if (r > 0) {
					struct buf n = {0};
					graph_name(g, i, &n);
					warn("%s: skipped: %s", n.data, i->why);
					buf_free(&n);
					continue;
				}
				ret = -1;
				break;
			}
			if (!inputs_in_s3(p, i, &w)) {
				ret = 2;
				break;
			}
			buf_reset(&spec);
			bool force = i->reason == R_FORCED || i->reason == R_OUTPUT_CHANGED;
			if (spec_write(p, i, &w, force, &spec) < 0) {
				warn("cannot write the spec of an instance: out of memory");
				ret = -1;
				break;
			}
			while (spec.len && spec.data[spec.len - 1] == '\n')
				spec.data[--spec.len] = 0;
			uint32_t v = pw >= 0 ? graph_value_index(tg, i->idx, (size_t)pw) : 0;
			struct child *c = &by[v];
			c->participant = pw >= 0 ? t->wildcards[pw].values.v[v] : t->name;
			if (c->n == c->cap) {
				c->cap = c->cap ? 2 * c->cap : 4;
				c->inst = xreallocarray(c->inst, c->cap, sizeof(*c->inst));
				c->specs = xreallocarray(c->specs, c->cap, sizeof(*c->specs));
			}
			c->inst[c->n] = tg->first + k;
			c->specs[c->n++] = xstrndup(spec.data, spec.len);
		}
		/* children in the participants' set order */
		size_t n = 0;
		for (size_t v = 0; v < nv; v++)
			if (by[v].n)
				by[n++] = by[v];
		f->children[gi] = by;
		f->nchildren[gi] = n;
	}
	inst_work_free(&w);
	buf_free(&spec);
	return ret;
}

/* Split each target's children into chunks of at most
 * MANIFEST_MAX_PARTICIPANTS, of even sizes. */
/* Whether child c reads an instance of this submission (one of an
 * earlier target's chunks), or one an open submission queues. */
static bool waits(const struct frozen *f, const struct child *c)
{
	const struct graph *g = f->p->g;
	for (size_t k = 0; k < c->n; k++) {
		const struct instance *i = &g->inst[c->inst[k]];
		const struct target *t = g->groups[i->group].t;
		for (size_t in = 0; in < t->ninputs; in++)
			for (size_t j = 0, nu = graph_upstream_count(g, i, in); j < nu; j++) {
				uint32_t u = graph_upstream_at(g, i, in, j);
				if (u != NO_INSTANCE &&
				    (f->chunk_of[u] != NONE || (f->p->queued_job && f->p->queued_job[u])))
					return true;
			}
	}
	return false;
}

/* Chunks of the n children from first (at most MANIFEST_MAX_PARTICIPANTS
 * each, of even sizes), numbered from *number on. */
static void add_chunks(struct frozen *f, size_t gi, struct child *first, size_t n, size_t *number)
{
	struct graph *g = f->p->g;
	if (!n)
		return;
	size_t parts = (n + MANIFEST_MAX_PARTICIPANTS - 1) / MANIFEST_MAX_PARTICIPANTS;
	size_t each = (n + parts - 1) / parts;
	char *subs = layout_submissions(g->groups[gi].t->root);
	for (size_t c0 = 0; c0 < n; c0 += each, (*number)++) {
		GROW(f->chunks, f->cap, f->nchunks + 1);
		struct chunk *c = &f->chunks[f->nchunks];
		*c = (struct chunk){.group = gi, .number = *number, .children = first + c0,
				    .n = n - c0 < each ? n - c0 : each};
		char num[24];
		snprintf(num, sizeof num, "%zu", *number);
		c->name = job_name(g->groups[gi].t->name, f->id, num);
		c->dir = xasprintf("%s%s/%s/%zu/", subs, f->id, g->groups[gi].t->name, *number);
		for (size_t ci = 0; ci < c->n; ci++) {
			c->ninst += c->children[ci].n;
			for (size_t k = 0; k < c->children[ci].n; k++) {
				f->chunk_of[c->children[ci].inst[k]] = (uint32_t)f->nchunks;
				f->child_of[c->children[ci].inst[k]] = (uint32_t)ci;
			}
		}
		f->nchunks++;
	}
	free(subs);
}

/* Split each target's children into chunks: those that wait for work
 * of this submission (or a queued one) first, then those that wait for
 * nothing, so that the second start at once instead of waiting for jobs
 * they do not read (and the first can be N_TO_N on their upstream when
 * they are the same participants). Targets in order: upstream first. */
static void make_chunks(struct frozen *f)
{
	struct graph *g = f->p->g;
	f->chunk_of = xmalloc((g->ninst + 1) * sizeof(uint32_t));
	f->child_of = xmalloc((g->ninst + 1) * sizeof(uint32_t));
	for (size_t k = 0; k < g->ninst; k++)
		f->chunk_of[k] = f->child_of[k] = NONE;
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		size_t n = f->nchildren[gi];
		if (!n)
			continue;
		/* a stable partition: the waiting ones first */
		struct child *v = f->children[gi], *tmp = xcalloc(n, sizeof(*tmp));
		bool *w = xcalloc(n, sizeof(bool));
		size_t nw = 0, k = 0;
		for (size_t ci = 0; ci < n; ci++)
			nw += w[ci] = waits(f, &v[ci]);
		for (size_t ci = 0; ci < n; ci++)
			if (w[ci])
				tmp[k++] = v[ci];
		for (size_t ci = 0; ci < n; ci++)
			if (!w[ci])
				tmp[k++] = v[ci];
		memcpy(v, tmp, n * sizeof(*v));
		free(tmp);
		free(w);
		size_t number = 0;
		add_chunks(f, gi, v, nw, &number);
		add_chunks(f, gi, v + nw, n - nw, &number);
	}
}

static void add_dep(struct chunk *c, size_t d, bool *too_many)
{
	for (size_t k = 0; k < c->ndeps; k++)
		if (c->deps[k] == d)
			return;
	if (c->ndeps == MAX_DEPS) {
		*too_many = true;
		return;
	}
	c->deps[c->ndeps++] = d;
}

static void add_ext(struct chunk *c, const char *job, bool *too_many)
{
	for (size_t k = 0; k < c->next; k++)
		if (!strcmp(c->ext[k], job))
			return;
	if (c->ndeps + c->next == MAX_DEPS) {
		*too_many = true;
		return;
	}
	c->ext[c->next++] = job;
}

/* Each chunk's dependencies: N_TO_N on its upstream chunk when child i
 * reads only child i of it (same participants in the same order), else
 * the whole upstream jobs; and the queued jobs of other submissions its
 * instances read. 0, or 2 after saying which chunk needs too many. */
static int link_chunks(struct frozen *f)
{
	struct plan *p = f->p;
	struct graph *g = p->g;
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		struct chunk *c = &f->chunks[ck];
		const struct target *t = g->groups[c->group].t;
		bool aligned = true, too_many = false;
		for (size_t ci = 0; ci < c->n; ci++) {
			const struct child *ch = &c->children[ci];
			for (size_t k = 0; k < ch->n; k++) {
				const struct instance *i = &g->inst[ch->inst[k]];
				for (size_t in = 0; in < t->ninputs; in++)
					for (size_t j = 0, nu = graph_upstream_count(g, i, in); j < nu; j++) {
						uint32_t u = graph_upstream_at(g, i, in, j);
						if (u == NO_INSTANCE)
							continue;
						if (f->chunk_of[u] != NONE) {
							add_dep(c, f->chunk_of[u], &too_many);
							if (f->child_of[u] != ci)
								aligned = false;
						} else if (p->queued_job && p->queued_job[u]) {
							add_ext(c, p->queued_job[u], &too_many);
						}
					}
			}
		}
		if (too_many) {
			warn("target '%s': job %s would depend on more than %d jobs, Batch's limit; "
			     "build its upstream targets first (rapid build --backend batch TARGET)",
			     t->name, c->name, MAX_DEPS);
			return 2;
		}
		c->n_to_n = aligned && c->ndeps == 1 && !c->next && f->chunks[c->deps[0]].n == c->n && c->n > 1;
	}
	return 0;
}

/* Encode each chunk's participants.txt, manifest.jsonl and .idx. */
static int encode_chunks(struct frozen *f)
{
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		struct chunk *c = &f->chunks[ck];
		struct manifest_entry *e = xcalloc(c->n + 1, sizeof(*e));
		const char **ids = xcalloc(c->n + 1, sizeof(*ids));
		for (size_t ci = 0; ci < c->n; ci++) {
			e[ci] = (struct manifest_entry){.participant = c->children[ci].participant,
							.specs = (const char *const *)c->children[ci].specs,
							.nspecs = c->children[ci].n};
			ids[ci] = c->children[ci].participant;
		}
		cJSON *rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "submission", f->id);
		cJSON_AddStringToObject(rec, "job_name", c->name);
		cJSON_AddStringToObject(rec, "queue", f->o->queue);
		cJSON_AddNumberToObject(rec, "participants", (double)c->n);
		char *rtext = cJSON_PrintUnformatted(rec);
		buf_puts(&c->record, rtext);
		free(rtext);
		cJSON_Delete(rec);
		char *err = NULL;
		int r = manifest_encode(e, c->n, &c->jsonl, &c->idx, &err);
		if (r == 0)
			r = participants_encode(ids, c->n, &c->ptxt, &err);
		free(e);
		free(ids);
		if (r < 0) {
			warn("cannot write the manifest of job %s: %s", c->name, err);
			free(err);
			return -1;
		}
	}
	return 0;
}

/* ---- job definitions ---- */

/* The job definition of each chunk: the base one, or a revision of it
 * with the target's image (named from a hash of both, so that later
 * submissions find it). */
static int resolve_definitions(struct frozen *f)
{
	struct graph *g = f->p->g;
	cJSON *base = NULL;
	const char *base_image = NULL, *base_arn = NULL, *base_name = NULL;
	int ret = 0;
	for (size_t ck = 0; ck < f->nchunks && ret == 0; ck++) {
		struct chunk *c = &f->chunks[ck];
		const char *image = g->groups[c->group].t->image;
		if (!image) {
			c->definition = xstrdup(f->o->definition);
			continue;
		}
		/* a chunk of the same image before it */
		for (size_t k = 0; k < ck && !c->definition; k++) {
			const char *im = g->groups[f->chunks[k].group].t->image;
			if (im && !strcmp(im, image))
				c->definition = xstrdup(f->chunks[k].definition);
		}
		if (c->definition)
			continue;
		struct batch *b = get_batch();
		struct aws_error err = {0};
		if (!b)
			return -1;
		if (!base) {
			if (batch_describe_job_definition(b, f->o->definition, &base, &err) < 0) {
				cloud_warn(&err);
				aws_error_clear(&err);
				return -1;
			}
			if (!base) {
				warn("no job definition '%s' (see rapid stack info, or --job-definition)",
				     f->o->definition);
				return -1;
			}
			cJSON *cp = cJSON_GetObjectItemCaseSensitive(base, "containerProperties");
			base_image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cp, "image"));
			base_arn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(base, "jobDefinitionArn"));
			base_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(base, "jobDefinitionName"));
			if (!base_arn || !base_name) {
				warn("job definition '%s' has no name or ARN in Batch's answer", f->o->definition);
				cJSON_Delete(base);
				return -1;
			}
		}
		if (base_image && !strcmp(base_image, image)) {
			c->definition = xstrdup(base_arn);
			continue;
		}
		struct buf h = {0};
		buf_printf(&h, "%s\n%s", base_arn, image);
		char name[160];
		snprintf(name, sizeof name, "%.100s-%016llx", base_name,
			 (unsigned long long)XXH3_64bits(h.data, h.len));
		buf_free(&h);
		if (f->o->dry_run) {
			c->definition = xasprintf("%s (image %s)", name, image);
			continue;
		}
		cJSON *have = NULL;
		if (batch_describe_job_definition(b, name, &have, &err) < 0) {
			cloud_warn(&err);
			aws_error_clear(&err);
			ret = -1;
			break;
		}
		const char *arn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(have, "jobDefinitionArn"));
		if (arn) {
			c->definition = xstrdup(arn);
		} else {
			cJSON *body = batch_definition_derive(base, name, image);
			char *new_arn = NULL;
			if (!body) {
				warn("job definition '%s' is not a container definition: cannot run image %s",
				     f->o->definition, image);
				ret = -1;
			} else if (batch_register_job_definition(b, body, &new_arn, &err) < 0) {
				cloud_warn(&err);
				aws_error_clear(&err);
				ret = -1;
			} else {
				c->definition = new_arn;
				fprintf(stderr, "rapid: registered job definition %s for image %s\n", name, image);
			}
			cJSON_Delete(body);
		}
		cJSON_Delete(have);
	}
	cJSON_Delete(base);
	return ret;
}

/* ---- the lock ---- */

static void lock_body(struct frozen *f, struct buf *out)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "submission", f->id);
	cJSON_AddStringToObject(j, "host", host);
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	cJSON_AddNumberToObject(j, "expires", (double)(time(NULL) + LOCK_LEASE_S));
	char *s = cJSON_PrintUnformatted(j);
	buf_puts(out, s);
	free(s);
	cJSON_Delete(j);
}

/* Whether the holder the LOCK body names is gone: its lease ran out, or
 * it was a process of this machine that no longer lives. *who receives a
 * description. */
static bool lock_stale(const char *text, size_t len, char **who, char **sub)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	const char *host = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "host"));
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "submission"));
	cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires");
	char me[256] = "";
	gethostname(me, sizeof me - 1);
	bool stale = !cJSON_IsNumber(exp) || exp->valuedouble < (double)time(NULL);
	if (!stale && host && !strcmp(host, me) && cJSON_IsNumber(pid) && pid->valuedouble > 0 &&
	    kill((pid_t)pid->valuedouble, 0) < 0 && errno == ESRCH)
		stale = true;
	*who = xasprintf("%s pid %.0f", host ? host : "?", cJSON_IsNumber(pid) ? pid->valuedouble : 0.0);
	*sub = xstrdup(s ? s : "?");
	cJSON_Delete(j);
	return stale;
}

/* Take <root>.rapid/submissions/LOCK. 1 when taken, 0 when another live
 * build holds it (said), -1 on a failure (said). */
static int lock_take(struct frozen *f)
{
	char *dir = layout_submissions(f->lock_root);
	f->lock_uri = xasprintf("%sLOCK", dir);
	free(dir);
	struct buf body = {0};
	lock_body(f, &body);
	int ret = -1;
	for (int attempt = 0; attempt < 3; attempt++) {
		bool created = false;
		if (put_object(f->lock_uri, body.data, body.len, true, &created, NULL) < 0)
			break;
		if (created) {
			ret = 1;
			break;
		}
		char *text = NULL, *who = NULL, *sub = NULL;
		size_t len;
		bool found = false;
		char etag[80] = "";
		if (get_object(f->lock_uri, &text, &len, &found, etag) < 0) {
			free(text);
			break;
		}
		if (!found) {
			free(text);
			continue; /* released meanwhile */
		}
		if (!lock_stale(text, len, &who, &sub)) {
			fprintf(stderr, "rapid: another build (%s) is submitting to %s: submission %s\n", who,
				f->lock_root, sub);
			ret = 0;
		} else {
			/* a dead holder's: replace exactly that one */
			bool replaced = false;
			if (put_object(f->lock_uri, body.data, body.len, false, &replaced, etag) < 0) {
				ret = -1;
			} else if (replaced) {
				fprintf(stderr, "rapid: took over the lock of a build that is gone (%s, submission %s)\n",
					who, sub);
				ret = 1;
			} else {
				ret = -2; /* someone else took it: look again */
			}
		}
		free(text);
		free(who);
		free(sub);
		if (ret != -2)
			break;
		ret = -1;
	}
	buf_free(&body);
	f->locked = ret == 1;
	return ret;
}

static void lock_release(struct frozen *f)
{
	if (f->locked)
		delete_object(f->lock_uri);
	f->locked = false;
}

/* ---- writing and submitting ---- */

static char *submission_json(const struct frozen *f)
{
	struct graph *g = f->p->g;
	cJSON *j = cJSON_CreateObject();
	char created[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddNumberToObject(j, "schema", 1);
	cJSON_AddStringToObject(j, "id", f->id);
	cJSON_AddStringToObject(j, "created", created);
	cJSON_AddStringToObject(j, "rapid_version", RAPID_VERSION);
	cJSON_AddStringToObject(j, "rapidfile", g->rf->path);
	cJSON_AddStringToObject(j, "queue", f->o->queue);
	cJSON_AddStringToObject(j, "job_definition", f->o->definition);
	cJSON *targets = cJSON_AddArrayToObject(j, "targets");
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		if (!f->nchildren[gi])
			continue;
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "target", g->groups[gi].t->name);
		cJSON_AddStringToObject(t, "root", g->groups[gi].t->root);
		cJSON *chunks = cJSON_AddArrayToObject(t, "chunks");
		for (size_t ck = 0; ck < f->nchunks; ck++) {
			const struct chunk *c = &f->chunks[ck];
			if (c->group != gi)
				continue;
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "chunk", (double)c->number);
			cJSON_AddStringToObject(o, "job_name", c->name);
			cJSON_AddStringToObject(o, "folder", c->dir);
			cJSON_AddNumberToObject(o, "participants", (double)c->n);
			cJSON_AddNumberToObject(o, "instances", (double)c->ninst);
			cJSON_AddStringToObject(o, "job_definition", c->definition);
			cJSON *deps = cJSON_AddArrayToObject(o, "depends_on");
			for (size_t k = 0; k < c->ndeps; k++)
				cJSON_AddItemToArray(deps, cJSON_CreateString(f->chunks[c->deps[k]].name));
			for (size_t k = 0; k < c->next; k++)
				cJSON_AddItemToArray(deps, cJSON_CreateString(c->ext[k]));
			cJSON_AddBoolToObject(o, "n_to_n", c->n_to_n);
			cJSON_AddItemToArray(chunks, o);
		}
		cJSON_AddItemToArray(targets, t);
	}
	char *s = cJSON_Print(j);
	cJSON_Delete(j);
	return s;
}

/* Write submission.json, then every chunk's files, in parallel. */
static int write_submission(struct frozen *f)
{
	char *dir = layout_submissions(f->lock_root);
	char *uri = xasprintf("%s%s/submission.json", dir, f->id);
	char *text = submission_json(f);
	int r = put_object(uri, text, strlen(text), true, NULL, NULL);
	free(text);
	free(uri);
	free(dir);
	if (r < 0)
		return -1;
	size_t nops = 4 * f->nchunks;
	struct s3_op *ops = xcalloc(nops + 1, sizeof(*ops));
	char **keys = xcalloc(nops + 1, sizeof(char *));
	char **buckets = xcalloc(nops + 1, sizeof(char *));
	struct s3_client *client = NULL;
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		struct chunk *c = &f->chunks[ck];
		const struct buf *body[4] = {&c->ptxt, &c->jsonl, &c->idx, &c->record};
		const char *name[4] = {"participants.txt", "manifest.jsonl", "manifest.idx", "chunk.json"};
		for (int k = 0; k < 4; k++) {
			size_t o = 4 * ck + (size_t)k;
			char *u = xasprintf("%s%s", c->dir, name[k]);
			s3_uri_split(u, &buckets[o], &keys[o]);
			free(u);
			ops[o] = (struct s3_op){.kind = S3_PUT, .bucket = buckets[o], .key = keys[o],
						.body = body[k]->data ? body[k]->data : "", .body_len = body[k]->len,
						.content_type = k == 0 ? "text/plain" : "application/octet-stream"};
		}
	}
	/* the chunks of one submission share a bucket in practice; each
	 * group of ops goes to its bucket's client */
	r = 0;
	for (size_t o = 0; o < nops;) {
		size_t e = o + 1;
		while (e < nops && !strcmp(buckets[e], buckets[o]))
			e++;
		client = cloud_s3_for(buckets[o]);
		if (!client || s3_run(client, ops + o, e - o) < 0) {
			for (size_t k = o; k < e; k++)
				if (ops[k].error)
					cloud_warn(ops[k].error);
			r = -1;
			break;
		}
		o = e;
	}
	for (size_t o = 0; o < nops; o++) {
		s3_op_free(&ops[o]);
		free(keys[o]);
		free(buckets[o]);
	}
	free(ops);
	free(keys);
	free(buckets);
	return r;
}

/* Split "NAME=value" words into pairs (pointing into a copy). */
static struct batch_kv *env_pairs(const struct submit_opts *o, char ***copies)
{
	struct batch_kv *kv = xcalloc(o->nenv + 1, sizeof(*kv));
	*copies = xcalloc(o->nenv + 1, sizeof(char *));
	for (size_t k = 0; k < o->nenv; k++) {
		char *c = (*copies)[k] = xstrdup(o->env[k]);
		char *eq = strchr(c, '=');
		if (eq)
			*eq++ = 0;
		kv[k] = (struct batch_kv){c, eq ? eq : ""};
	}
	return kv;
}

static int submit_chunk(struct frozen *f, struct chunk *c)
{
	struct graph *g = f->p->g;
	const struct target *t = g->groups[c->group].t;
	char *manifest = xasprintf("%smanifest.jsonl", c->dir);
	const char *command[] = {"rapid", "runner", "--manifest", manifest};
	struct batch_dep deps[MAX_DEPS];
	size_t nd = 0;
	for (size_t k = 0; k < c->ndeps; k++)
		deps[nd++] = (struct batch_dep){f->chunks[c->deps[k]].job_id, c->n_to_n ? "N_TO_N" : NULL};
	for (size_t k = 0; k < c->next; k++)
		deps[nd++] = (struct batch_dep){c->ext[k], NULL};
	char **copies = NULL;
	struct batch_kv *env = env_pairs(f->o, &copies);
	struct batch_kv tags[] = {{"rapid-submission", f->id}, {"rapid-target", t->name}};
	struct batch_submit s = {
		.job_name = c->name, .job_queue = f->o->queue, .job_definition = c->definition,
		.array_size = c->n > 1 ? c->n : 0, .deps = deps, .ndeps = nd,
		.command = command, .ncommand = 4, .env = env, .nenv = f->o->nenv,
		.vcpus = t->vcpus > 0 ? t->vcpus : 0, .memory_mib = t->memory_mib > 0 ? t->memory_mib : 0,
		.timeout_s = t->timeout_s > 0 ? (t->timeout_s < 60 ? 60 : t->timeout_s) : 0,
		.attempts = t->retries >= 0 ? (int)(t->retries + 1 > 10 ? 10 : t->retries + 1) : 3,
		.tags = tags, .ntags = 2, .propagate_tags = true,
	};
	struct batch *b = get_batch();
	int r = -1;
	struct aws_error err = {0};
	if (b && batch_submit_job(b, &s, &c->job_id, &err) == 0) {
		r = 0;
	} else if (b) {
		cloud_warn(&err);
		aws_error_clear(&err);
	}
	for (size_t k = 0; k < f->o->nenv; k++)
		free(copies[k]);
	free(copies);
	free(env);
	free(manifest);
	if (r < 0)
		return -1;
	/* jobs.json, and the marker that puts the job id in the listing */
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "job_id", c->job_id);
	cJSON_AddStringToObject(j, "job_name", c->name);
	cJSON_AddNumberToObject(j, "size", (double)c->n);
	cJSON_AddStringToObject(j, "job_definition", c->definition);
	char *text = cJSON_Print(j);
	cJSON_Delete(j);
	char *uri = xasprintf("%sjobs.json", c->dir);
	char *marker = xasprintf("%ssubmitted.%s", c->dir, c->job_id);
	r = put_object(marker, "", 0, false, NULL, NULL);
	if (r == 0)
		r = put_object(uri, text, strlen(text), false, NULL, NULL);
	free(marker);
	free(uri);
	free(text);
	return r;
}

static void print_submission(const struct frozen *f, FILE *out, bool dry)
{
	struct graph *g = f->p->g;
	size_t jobs = f->nchunks, children = 0, inst = 0;
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		children += f->chunks[ck].n;
		inst += f->chunks[ck].ninst;
	}
	fprintf(out, "submission %s%s: %zu job%s, %zu array child%s, %zu instance%s\n", f->id,
		dry ? " (dry run: nothing submitted)" : "", jobs, jobs == 1 ? "" : "s", children,
		children == 1 ? "" : "ren", inst, inst == 1 ? "" : "s");
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		const struct chunk *c = &f->chunks[ck];
		const struct target *t = g->groups[c->group].t;
		fprintf(out, "  %s", t->name);
		if (c->n > 1)
			fprintf(out, " chunk %zu: array of %zu participants", c->number, c->n);
		else
			fprintf(out, " chunk %zu: 1 participant (%s)", c->number, c->children[0].participant);
		fprintf(out, ", %zu instance%s", c->ninst, c->ninst == 1 ? "" : "s");
		if (t->vcpus > 0)
			fprintf(out, ", %ld vcpus", t->vcpus);
		if (t->memory_mib > 0)
			fprintf(out, ", %ld MiB", t->memory_mib);
		for (size_t k = 0; k < c->ndeps; k++) {
			const struct chunk *d = &f->chunks[c->deps[k]];
			fprintf(out, "%s%s chunk %zu%s", k ? ", " : ", after ", g->groups[d->group].t->name, d->number,
				c->n_to_n ? " (N_TO_N)" : "");
		}
		for (size_t k = 0; k < c->next; k++)
			fprintf(out, "%sjob %s", k || c->ndeps ? ", " : ", after ", c->ext[k]);
		if (c->job_id)
			fprintf(out, "\n    job %s (%s)", c->name, c->job_id);
		else
			fprintf(out, "\n    job %s", c->name);
		fprintf(out, " on %s\n", c->definition ? c->definition : f->o->definition);
	}
}

static void frozen_free(struct frozen *f)
{
	struct graph *g = f->p->g;
	for (size_t gi = 0; f->children && gi < g->ngroups; gi++) {
		for (size_t k = 0; k < f->nchildren[gi]; k++) {
			struct child *c = &f->children[gi][k];
			for (size_t j = 0; j < c->n; j++)
				free(c->specs[j]);
			free(c->specs);
			free(c->inst);
		}
		free(f->children[gi]);
	}
	free(f->children);
	free(f->nchildren);
	for (size_t ck = 0; ck < f->nchunks; ck++) {
		struct chunk *c = &f->chunks[ck];
		free(c->name);
		free(c->dir);
		buf_free(&c->jsonl);
		buf_free(&c->idx);
		buf_free(&c->ptxt);
		buf_free(&c->record);
		free(c->definition);
		free(c->job_id);
	}
	free(f->chunks);
	free(f->chunk_of);
	free(f->child_of);
	free(f->lock_uri);
}

int submit_build(struct plan *p, const struct submit_opts *o)
{
	struct graph *g = p->g;
	struct frozen f = {.p = p, .o = o};
	int ret = 1;
	make_id(f.id);
	for (size_t gi = 0; gi < g->ngroups && !f.lock_root; gi++)
		if (g->groups[gi].selected && p->count[gi][INST_STALE])
			f.lock_root = g->groups[gi].t->root;
	if (!f.lock_root) {
		size_t queued = 0;
		for (size_t gi = 0; gi < g->ngroups; gi++)
			queued += p->count[gi][INST_RUNNING];
		if (queued)
			fprintf(stderr, "rapid: nothing to submit: %zu instance%s queued or running already\n", queued,
				queued == 1 ? "" : "s");
		else
			fprintf(stderr, "rapid: nothing to submit: everything is up to date\n");
		return 0;
	}
	if (!o->dry_run) {
		for (size_t gi = 0; gi < g->ngroups; gi++) {
			const struct target *t = g->groups[gi].t;
			if (g->groups[gi].selected && p->count[gi][INST_STALE] && !uri_is_s3(t->root)) {
				say_local_root(t);
				return 2;
			}
		}
		int l = lock_take(&f);
		if (l <= 0) {
			frozen_free(&f);
			return l == 0 ? 0 : 1;
		}
		/* what another build submitted before this one held the lock
		 * is queued now, not stale */
		if (mark_queued(p, true) < 0)
			goto out;
		bool any = false;
		for (size_t gi = 0; gi < g->ngroups; gi++)
			any |= g->groups[gi].selected && p->count[gi][INST_STALE];
		if (!any) {
			fprintf(stderr, "rapid: nothing to submit: what was stale is queued in an open submission\n");
			ret = 0;
			goto out;
		}
	}
	int r = collect(&f);
	if (r != 0) {
		ret = r > 0 ? r : 1;
		goto out;
	}
	make_chunks(&f);
	if ((r = link_chunks(&f)) != 0) {
		ret = r;
		goto out;
	}
	if (encode_chunks(&f) < 0 || resolve_definitions(&f) < 0)
		goto out;
	if (o->dry_run) {
		print_submission(&f, stdout, true);
		ret = 0;
		goto out;
	}
	if (write_submission(&f) < 0)
		goto out;
	size_t done = 0;
	for (size_t ck = 0; ck < f.nchunks; ck++) {
		if (submit_chunk(&f, &f.chunks[ck]) < 0)
			break;
		done++;
		fprintf(stderr, "rapid: [%zu/%zu] submitted %s (%s)\n", done, f.nchunks, f.chunks[ck].name,
			f.chunks[ck].job_id);
	}
	print_submission(&f, stdout, false);
	if (done < f.nchunks) {
		warn("submission %s: %zu of %zu jobs submitted; the next build submits the rest", f.id, done,
		     f.nchunks);
		goto out;
	}
	ret = 0;
out:
	lock_release(&f);
	frozen_free(&f);
	return ret;
}

bool submit_id_like(const char *w)
{
	/* YYYYMMDDTHHMMSSZ-xxxx */
	size_t n = strlen(w);
	if (n < 18 || w[8] != 'T' || w[15] != 'Z' || w[16] != '-')
		return false;
	for (size_t k = 0; k < 15; k++)
		if (k != 8 && (w[k] < '0' || w[k] > '9'))
			return false;
	for (size_t k = 17; k < n; k++)
		if (!((w[k] >= '0' && w[k] <= '9') || (w[k] >= 'a' && w[k] <= 'f')))
			return false;
	return true;
}

static bool listed(const char *s, const char *const *v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(v[k], s))
			return true;
	return false;
}

int submit_cancel(struct plan *p, const char *const *subs, size_t nsubs, const char *const *targets,
		  size_t ntargets)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	const char *user = getenv("USER");
	char *reason = xasprintf("cancelled by rapid cancel (%s@%s)", user ? user : "?", host);
	size_t done = 0, failed = 0;
	for (size_t k = 0; k < p->njobs; k++) {
		const struct plan_job *j = &p->jobs[k];
		if (!j->alive)
			continue;
		if ((nsubs || ntargets) && !listed(j->submission, subs, nsubs) && !listed(j->target, targets, ntargets))
			continue;
		struct batch *b = get_batch();
		struct aws_error err = {0};
		if (!b || batch_terminate_job(b, j->job_id, reason, &err) < 0) {
			if (b)
				cloud_warn(&err);
			aws_error_clear(&err);
			failed++;
			continue;
		}
		printf("cancelled %s (%s): submission %s, %s chunk %s\n", j->job_name, j->job_id, j->submission,
		       j->target, j->chunk);
		done++;
	}
	free(reason);
	if (!done && !failed)
		fprintf(stderr, "rapid: nothing to cancel: no job of an open submission is queued or running\n");
	return failed ? 1 : 0;
}

/* The participants of chunk folder dir, one a line (cached by ETag as
 * mark_chunk does); NULL when it cannot be read (said). */
static char *chunk_participants(struct plan *p, const char *dir, size_t *len)
{
	char *uri = xasprintf("%sparticipants.txt", dir);
	char *text = NULL;
	bool found = false;
	if (get_object(uri, &text, len, &found, NULL) < 0 || !found) {
		free(text);
		text = NULL;
	}
	(void)p;
	free(uri);
	return text;
}

int submit_failed_children(struct plan *p, const struct plan_job *j, submit_failed_fn fn, void *ctx)
{
	if (!j->size) {
		if (j->state != BATCH_FAILED)
			return 0;
		struct failed_child c = {.index = -1, .job_id = j->job_id, .reason = j->reason};
		fn(ctx, j, &c);
		return 0;
	}
	if (!j->summary[BATCH_FAILED])
		return 0;
	struct batch *b = get_batch();
	if (!b)
		return -1;
	struct batch_list q = {.array_job_id = j->job_id, .state = BATCH_FAILED};
	struct batch_job *jobs = NULL;
	size_t n = 0;
	struct aws_error err = {0};
	if (batch_list_jobs(b, &q, &jobs, &n, &err) < 0) {
		cloud_warn(&err);
		aws_error_clear(&err);
		return -1;
	}
	size_t len = 0;
	char *text = chunk_participants(p, j->dir, &len);
	for (size_t k = 0; k < n; k++) {
		const struct batch_job *c = &jobs[k];
		struct failed_child fc = {
			.index = c->array_index, .job_id = c->id, .reason = c->status_reason,
			.container_reason = c->container_reason, .has_exit_code = c->has_exit_code,
			.exit_code = c->exit_code, .log_stream = c->log_stream,
		};
		char *id = NULL, *perr = NULL;
		if (text && c->array_index >= 0 &&
		    participants_line(text, len, (size_t)c->array_index, "participants.txt", &id, NULL, &perr) == 0)
			fc.participant = id;
		free(perr);
		fn(ctx, j, &fc);
		free(id);
	}
	free(text);
	batch_jobs_free(jobs, n);
	return 0;
}

int submit_log_stream(const char *job_id, char **stream)
{
	*stream = NULL;
	struct batch *b = get_batch();
	if (!b)
		return -1;
	struct batch_job *jobs = NULL;
	size_t n = 0;
	struct aws_error err = {0};
	if (batch_describe_jobs(b, &job_id, 1, &jobs, &n, &err) < 0) {
		cloud_warn(&err);
		aws_error_clear(&err);
		return -1;
	}
	if (n && jobs[0].log_stream)
		*stream = xstrdup(jobs[0].log_stream);
	batch_jobs_free(jobs, n);
	return 0;
}
