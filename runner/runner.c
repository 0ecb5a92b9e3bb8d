/* runner.c - `rapid runner --spec FILE|-`: claim one instance, stage its
 * inputs, run its recipe, publish its outputs, record the outcome in a
 * sentinel (the steps and the spec are documented in runner.h).
 *
 * Staging, running and publishing are separate steps so that the
 * container mode can stage from S3 and upload instead of renaming. Once
 * the instance is claimed, every way out goes through finish(): a failed
 * or ok sentinel is written, the scratch folder removed, the claim
 * released. Outputs move into place only after the recipe exited 0 and
 * every ok sentinel of the instance is gone, and the ok sentinel is
 * written only after all of them are in place and synced: an ok for key K
 * exists only while the outputs it describes are in place. */
#include "runner/runner.h"
#include "runner/sentinel.h"
#include "runner/sentinel_body.h"
#include "lib/util.h"
#include "runner/container.h"
#include "runner/exec.h"
#include "runner/layout.h"
#include "runner/outputs.h"
#include "runner/provenance.h"
#include "runner/remote.h"
#include "runner/sentinel_s3.h"
#include "runner/spec.h"
#include "runner/stage.h"
#include "runner/upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lines of the log printed when an instance fails. */
#define TAIL_LINES 15
/* Seconds between uploads of a running recipe's log to an S3 root
 * (RAPID_LOG_INTERVAL_S overrides). */
#define LOG_INTERVAL_S 30

/* One attempt at an instance, from claim to release. */
struct run {
	const struct spec *s;
	char *label;           /* "target w=v ..." */
	char *scratch;         /* layout_scratch */
	char *trash;           /* layout_trash */
	char *log;             /* <log_dir><key>.log */
	bool log_written;
	char **out_scratch;    /* each output's path in scratch */
	char **in_local;       /* each input's local path ("" when absent) */
	int64_t started, ended;
	int exit_code;         /* -1: none */
	int signal;            /* 0: none */
	char *reason;          /* why it failed; NULL when it did not */
	int interrupted;       /* the signal that stopped it (SIGTERM, SIGINT, SIGHUP), or 0 */
	struct out_files files;
	struct buf tail;
	char *image_id;        /* the image a container ran (container_image_id), or NULL */
	/* on S3 (remote.h, sentinel_s3.h) */
	struct remote *rm;     /* NULL: nothing on S3 */
	struct s3sent *ss;     /* the S3 root's sentinels; NULL: a local root */
	char ***gath_local;    /* each gathered entry's local path */
	char *log_local;       /* where the log is written before its upload */
	bool log_warned;       /* a failed upload of the log was reported */
	struct stage_stats staged;
};

static bool is_s3(const char *p)
{
	return !strncmp(p, "s3://", 5);
}

/* ---- sentinel bodies (runner/sentinel_body.h) ---- */

static char *make_body(const struct run *r, enum sentinel_state state, size_t *len)
{
	const struct spec *s = r->s;
	struct sentinel_body b;
	sentinel_body_init(&b, state);
	struct arena *A = arena_new();
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = 0;
	/* spec_pair and sentinel_pair are both {name, value} of borrowed strings */
	b.target = s->target;
	b.nwildcards = s->nwildcards;
	b.wildcards = arena_alloc(A, (s->nwildcards + 1) * sizeof(*b.wildcards));
	for (size_t i = 0; i < s->nwildcards; i++)
		b.wildcards[i] = (struct sentinel_pair){s->wildcards[i].name, s->wildcards[i].value};
	memcpy(b.key, s->key, 33);
	b.has_components = true;
	b.ncomponents = s->ncomponents;
	b.components = arena_alloc(A, (s->ncomponents + 1) * sizeof(*b.components));
	for (size_t i = 0; i < s->ncomponents; i++)
		b.components[i] = (struct sentinel_pair){s->components[i].name, s->components[i].value};
	b.command = s->command;
	b.ncommand = s->ncommand;
	b.image = s->image;
	b.image_digest = r->image_id;
	b.ninputs = s->ninputs;
	b.inputs = arena_alloc(A, (s->ninputs + 1) * sizeof(*b.inputs));
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct spec_input *in = &s->inputs[i];
		b.inputs[i] = (struct sentinel_input){in->name, in->uri, in->fingerprint, in->present};
	}
	b.noutputs = r->files.n;
	b.outputs = arena_alloc(A, (r->files.n + 1) * sizeof(*b.outputs));
	for (size_t i = 0; i < r->files.n; i++) {
		const struct out_file *f = &r->files.v[i];
		const struct spec_output *o = &s->outputs[f->output];
		struct sentinel_output *so = &b.outputs[i];
		so->name = o->name;
		so->path = f->rel;
		if (o->dir) {
			size_t ul = strlen(o->uri);
			char *u = xasprintf("%s%s%s", o->uri, ul && o->uri[ul - 1] == '/' ? "" : "/", f->rel);
			so->uri = arena_strdup(A, u);
			free(u);
		} else {
			so->uri = o->uri;
		}
		so->size = f->size;
		memcpy(so->xxh3, f->xxh3, 33);
		so->etag = f->etag[0] ? f->etag : NULL;
	}
	b.has_exit_code = r->exit_code >= 0;
	b.exit_code = r->exit_code;
	b.signal = r->signal;
	b.reason = r->reason;
	if (r->started)
		format_time(r->started, b.started);
	if (r->ended) {
		format_time(r->ended, b.ended);
		b.duration_s = (double)((r->ended - r->started) / 1000000) / 1e3;
	}
	b.host = host;
	b.pid = (long)getpid();
	b.rapid_version = RAPID_VERSION;
	b.log = state == SENT_RUNNING || r->log_written ? r->log : NULL;
	const struct runner_provenance *pv = runner_provenance_get();
	if (pv) {
		b.batch_job_id = pv->job_id;
		b.array_index = pv->array_index;
		b.attempt = pv->attempt;
		if (pv->image_digest) /* what ECS says ran; else the local container's */
			b.image_digest = pv->image_digest;
		b.instance_type = pv->instance_type;
	}
	char *text = sentinel_body_encode(&b, len);
	arena_free(A);
	return text;
}

/* ---- the steps ---- */

/* Remove what dead runners left in folder (a scratch or trash root, of
 * <key>.<pid>/ folders): every one of this key (we hold the claim, so
 * nobody else works on it) and, with any_dead, every one whose runner no
 * longer lives on this machine (the build sweeps scratch itself). No ok
 * sentinel describes what a runner left in trash: the instance's oks were
 * removed before its outputs were touched. */
static void remove_leftovers(const char *folder, const char *key, bool any_dead)
{
	DIR *d = opendir(folder);
	if (!d)
		return;
	struct dirent *de;
	size_t kl = strlen(key);
	while ((de = readdir(d))) {
		const char *dot = strchr(de->d_name, '.');
		if (!dot || dot == de->d_name)
			continue;
		bool ours = (size_t)(dot - de->d_name) == kl && !strncmp(de->d_name, key, kl);
		if (!ours) {
			if (!any_dead)
				continue;
			char *end;
			errno = 0;
			long pid = strtol(dot + 1, &end, 10);
			if (errno || end == dot + 1 || *end || pid <= 0 || pid == (long)getpid() ||
			    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
		}
		char *p = path_join(folder, de->d_name);
		remove_tree(p);
		free(p);
	}
	closedir(d);
}

/* Make the scratch folder and give each output a path in it. */
static int prepare_scratch(struct run *r)
{
	const struct spec *s = r->s;
	if (r->ss) {
		/* An S3 root's scratch is the instance's across attempts:
		 * staged inputs stay, what an earlier attempt's recipe made goes. */
		DIR *d = opendir(r->scratch);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || layout_scratch_private(de->d_name))
				continue;
			char *p = path_join(r->scratch, de->d_name);
			remove_tree(p);
			free(p);
		}
		if (d)
			closedir(d);
	} else {
		char *scratch_root = layout_scratch_root(s->root);
		remove_leftovers(scratch_root, s->key, false);
		free(scratch_root);
		char *trash_root = layout_trash_root(s->root);
		remove_leftovers(trash_root, s->key, true);
		free(trash_root);
	}
	if (mkdir_p(r->scratch, 0777) < 0) {
		r->reason = xasprintf("cannot create '%s': %s", r->scratch, strerror(errno));
		return -1;
	}
	r->out_scratch = xcalloc(s->noutputs + 1, sizeof(char *));
	/* One file output goes straight into the scratch folder: a folder
	 * fewer to make and remove per instance. Several outputs get a folder
	 * each, so that their base names cannot collide. */
	if (s->noutputs == 1 && !s->outputs[0].dir) {
		const char *base = strrchr(s->outputs[0].uri, '/');
		r->out_scratch[0] = xasprintf("%s%s", r->scratch, base ? base + 1 : s->outputs[0].uri);
		return 0;
	}
	for (size_t i = 0; i < s->noutputs; i++) {
		const struct spec_output *o = &s->outputs[i];
		char *d = xasprintf("%s%s/", r->scratch, o->name);
		if (mkdir(d, 0777) < 0) {
			r->reason = xasprintf("cannot create '%s': %s", d, strerror(errno));
			free(d);
			return -1;
		}
		if (o->dir) {
			r->out_scratch[i] = d;
		} else {
			const char *base = strrchr(o->uri, '/');
			r->out_scratch[i] = xasprintf("%s%s", d, base ? base + 1 : o->uri);
			free(d);
		}
	}
	return 0;
}

/* Give each input a local path: local ones are where they are (and
 * must be there), s3:// ones are staged into scratch (stage.h). */
static int stage(struct run *r)
{
	const struct spec *s = r->s;
	r->in_local = xcalloc(s->ninputs + 1, sizeof(char *));
	r->gath_local = xcalloc(s->ninputs + 1, sizeof(char **));
	return stage_inputs(r->rm, s, r->scratch, r->in_local, r->gath_local, &r->staged, &r->reason);
}

static void free_strv(char **v);

/* The gathering input a word holds (spec.h: at most one), or NULL. */
static const struct spec_input *word_gather(const struct spec *s, const struct spec_word *w)
{
	for (size_t j = 0; j < w->nsegs; j++)
		if (w->segs[j].kind == SPEC_SEG_INPUT && s->inputs[w->segs[j].index].gather)
			return &s->inputs[w->segs[j].index];
	return NULL;
}

/* Word w with a gathering input's segments as its path number k. */
static char *expand_word(const struct run *r, const struct spec_word *w, size_t k)
{
	const struct spec *s = r->s;
	struct buf b = {0};
	for (size_t j = 0; j < w->nsegs; j++) {
		const struct spec_seg *g = &w->segs[j];
		if (g->kind == SPEC_SEG_TEXT)
			buf_puts(&b, g->text);
		else if (g->kind == SPEC_SEG_INPUT && s->inputs[g->index].gather)
			buf_puts(&b, r->gath_local[g->index][k]);
		else if (g->kind == SPEC_SEG_INPUT)
			buf_puts(&b, r->in_local[g->index]);
		else
			buf_puts(&b, r->out_scratch[g->index]);
	}
	return buf_detach(&b);
}

/* The recipe's argv, NULL-terminated: one word per spec word, except
 * that a word holding a gathering input is one word per gathered path. */
static char **expand_argv(const struct run *r)
{
	const struct spec *s = r->s;
	size_t n = 0, cap = 0;
	char **v = NULL;
	for (size_t i = 0; i < s->nargv; i++) {
		const struct spec_input *gi = word_gather(s, &s->argv[i]);
		size_t times = gi ? gi->ngathered : 1;
		for (size_t k = 0; k < times; k++) {
			GROW(v, cap, n + 2);
			v[n++] = expand_word(r, &s->argv[i], k);
		}
	}
	GROW(v, cap, n + 1);
	v[n] = NULL;
	return v;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Open the log at its final path, so that it fills as the recipe runs
 * (`rapid logs --follow` tails it). -1 when there is none: the recipe
 * runs all the same. */
static int open_log(struct run *r)
{
	const char *path = r->log_local ? r->log_local : r->log;
	char *dir = path_dirname(path);
	int fd = -1;
	if (mkdir_p(dir, 0777) == 0) {
		do
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		while (fd < 0 && errno == EINTR);
	}
	if (fd < 0)
		warn("cannot write '%s': %s", path, strerror(errno));
	else
		r->log_written = !r->log_local; /* on S3: once uploaded */
	free(dir);
	return fd;
}

/* Upload the log written so far to the S3 root (while the recipe runs
 * and when it is over). 0, or -1 after saying why once. */
static int upload_log(struct run *r)
{
	if (!r->log_local || access(r->log_local, F_OK) < 0)
		return -1;
	char *why = NULL;
	if (upload_file(r->rm, r->log_local, r->log, &why) == 0) {
		r->log_written = true;
		return 0;
	}
	if (!r->log_warned) {
		if (isatty(2))
			fputs("\r\033[K", stderr);
		warn("%s: cannot upload its log: %s", r->label, why);
	}
	r->log_warned = true;
	free(why);
	return -1;
}

static void log_tick(void *arg)
{
	upload_log(arg);
}

static long log_interval_ms(void)
{
	const char *v = getenv("RAPID_LOG_INTERVAL_S");
	char *end;
	double d = v && *v ? strtod(v, &end) : 0;
	if (v && *v && !*end && d > 0 && d < 1e6)
		return (long)(d * 1000);
	return LOG_INTERVAL_S * 1000L;
}

/* Keep the output's tail for the failure message. */
static void keep_tail(struct run *r, const struct exec_result *x)
{
	buf_reset(&r->tail);
	if (x->total > x->tail.len) {
		/* Start at a line boundary when the beginning was dropped. */
		const char *p = x->tail.data, *nl = memchr(p, '\n', x->tail.len);
		size_t skip = nl ? (size_t)(nl - p) + 1 : 0;
		buf_printf(&r->tail, "[rapid: %llu earlier bytes of output not kept]\n",
			   (unsigned long long)(x->total - x->tail.len + skip));
		buf_putn(&r->tail, p + skip, x->tail.len - skip);
	} else {
		buf_putn(&r->tail, x->tail.data ? x->tail.data : "", x->tail.len);
	}
	if (x->log_err)
		warn("cannot write '%s': %s", r->log, strerror(x->log_err));
}

static int run_recipe(struct run *r)
{
	const struct spec *s = r->s;
	int sig = exec_interrupted();
	if (sig) {
		r->interrupted = sig;
		r->reason = xasprintf("interrupted by signal %d", sig);
		return -1;
	}
	char **argv = expand_argv(r);
	if (!argv[0]) { /* a gathering input that gathered nothing was the whole recipe */
		r->reason = xstrdup("the recipe has no words");
		free_strv(argv);
		return -1;
	}
	char **env = xcalloc(s->nenv + 1, sizeof(char *));
	for (size_t i = 0; i < s->nenv; i++)
		env[i] = xasprintf("%s=%s", s->env[i].name, s->env[i].value);
	struct container_cmd cc = {0};
	int ret = -1;
	if (s->container && container_command(s, argv, r->scratch, r->in_local, r->gath_local, &cc, &r->reason) < 0) {
		free_strv(env);
		free_strv(argv);
		return -1;
	}
	if (cc.argv)
		r->image_id = container_image_id(s->container, s->image);
	struct exec_opts o = {.argv = cc.argv ? cc.argv : argv, .env = (const char *const *)env,
			      .cwd = s->workdir && !cc.argv ? s->workdir : r->scratch,
			      .timeout_s = s->timeout_s, .log_fd = open_log(r)};
	if (r->ss && o.log_fd >= 0) {
		o.tick = log_tick;
		o.tick_arg = r;
		o.tick_ms = log_interval_ms();
	}
	struct exec_result x;
	int er = exec_run(&o, &x);
	if (cc.argv && (er < 0 || x.timed_out || x.interrupted || x.signal))
		container_reap(&cc);
	container_cmd_free(&cc);
	if (o.log_fd >= 0 && close(o.log_fd) < 0 && er == 0 && !x.log_err)
		x.log_err = errno;
	if (er < 0) {
		r->reason = xasprintf("cannot run '%s'", argv[0]);
		goto out;
	}
	r->exit_code = x.exit_code;
	r->signal = x.signal;
	keep_tail(r, &x);
	r->interrupted = x.start_error ? 0 : x.interrupted;
	if (x.start_error)
		r->reason = xstrdup(x.start_error);
	else if (r->interrupted)
		r->reason = xasprintf("interrupted by signal %d", r->interrupted);
	else if (x.timed_out)
		r->reason = xasprintf("timeout after %lds", s->timeout_s);
	else if (x.signal)
		r->reason = xasprintf("killed by signal %d (%s)", x.signal, strsignal(x.signal));
	else if (x.exit_code != 0)
		r->reason = xasprintf("exit status %d", x.exit_code);
	else
		ret = 0;
	exec_result_free(&x);
out:
	free_strv(argv);
	free_strv(env);
	return ret;
}

static int publish_outputs(struct run *r)
{
	if (r->ss) {
		/* The same invariant on S3: no ok of the instance while its
		 * outputs change, the new ok once all are uploaded. */
		bool replace = !s3sent_fresh(r->ss) || s3sent_took_over(r->ss);
		if (outputs_check(r->s, r->out_scratch, &r->reason) < 0 ||
		    outputs_hash(r->s, r->out_scratch, &r->files, &r->reason) < 0 ||
		    s3sent_drop_ok(r->ss, &r->reason) < 0 ||
		    upload_outputs(r->rm, r->s, r->out_scratch, &r->files, replace, &r->reason) < 0)
			return -1;
		return 0;
	}
	/* No ok sentinel of the instance, whatever its key, may outlive the
	 * first change to its outputs: they go (durably) before the first
	 * output moves, and the new ok is written only once every output is
	 * in place and synced (finish). */
	if (outputs_check(r->s, r->out_scratch, &r->reason) < 0 ||
	    outputs_hash(r->s, r->out_scratch, &r->files, &r->reason) < 0 ||
	    sentinel_drop_ok(r->s->sentinel_dir, &r->reason) < 0 ||
	    outputs_publish(r->s, r->out_scratch, r->trash, &r->reason) < 0)
		return -1;
	return 0;
}

static void print_failure(const struct run *r)
{
	struct buf b = {0};
	if (isatty(2)) /* below a build's live progress line, not after it */
		buf_puts(&b, "\r\033[K");
	buf_printf(&b, "rapid: %s failed: %s", r->label, r->reason);
	if (r->log_written)
		buf_printf(&b, " (log: %s)", r->log);
	buf_putc(&b, '\n');
	/* The last TAIL_LINES lines of the tail. */
	const char *t = r->tail.data ? r->tail.data : "";
	size_t len = r->tail.len, start = len, lines = 0;
	if (len && t[len - 1] == '\n')
		len--;
	start = len;
	while (start > 0 && !(t[start - 1] == '\n' && ++lines == TAIL_LINES))
		start--;
	for (size_t i = start; len > 0;) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - t) : len;
		buf_puts(&b, "  | ");
		buf_putn(&b, t + i, e - i);
		buf_putc(&b, '\n');
		if (!nl)
			break;
		i = e + 1;
	}
	fwrite(b.data, 1, b.len, stderr);
	fflush(stderr);
	buf_free(&b);
}

/* Interrupted (a signal asked the runner to stop): nothing is recorded
 * as failed. The running sentinel stays, with the reason in its body and
 * no live runner, which is what an interrupted instance is (the same as
 * after a SIGKILL). 128 + the signal. */
static int abandon(struct run *r, struct sentinel_claim *claim)
{
	r->ended = now_ns();
	if (r->ss)
		upload_log(r);
	size_t len;
	char *body = make_body(r, SENT_RUNNING, &len);
	if (isatty(2))
		fputs("\r\033[K", stderr);
	warn("%s: %s", r->label, r->reason);
	if (r->ss) {
		/* The scratch folder stays: a retry resumes from its inputs. */
		char *why = NULL;
		if ((body && s3sent_put(r->ss, SENT_RUNNING, body, len, &why) < 0) ||
		    s3sent_release(r->ss, true, false, &why) < 0)
			warn("%s: %s", r->label, why);
		free(why);
		free(body);
		return 128 + r->interrupted;
	}
	if (r->scratch && remove_tree(r->scratch) < 0)
		warn("cannot remove '%s': %s", r->scratch, strerror(errno));
	/* Should the body not be written, the old running sentinel stays:
	 * interrupted all the same. */
	sentinel_abandon(claim, body, body ? len : 0);
	free(body);
	return 128 + r->interrupted;
}

/* The outcome on an S3 root: the log first (so that what the sentinel
 * says of it holds), then the ok or failed sentinel, then the running
 * one and the claim go (and, after an ok, the older sentinels). */
static int finish_s3(struct run *r, bool ok)
{
	upload_log(r);
	int ret = 1;
	size_t len;
	char *why = NULL;
	char *body = make_body(r, ok ? SENT_OK : SENT_FAILED, &len);
	if (!body) {
		warn("%s: cannot record the outcome: out of memory", r->label);
	} else if (ok && s3sent_put(r->ss, SENT_OK, body, len, &why) == 0) {
		ret = 0;
	} else if (ok) {
		free(r->reason);
		r->reason = xasprintf("cannot record its outputs: %s", why);
		free(why);
		why = NULL;
		ok = false;
		free(body);
		body = make_body(r, SENT_FAILED, &len);
	}
	if (!ok && body && s3sent_put(r->ss, SENT_FAILED, body, len, &why) < 0) {
		warn("%s: cannot record its failure: %s", r->label, why);
		free(why);
		why = NULL;
	}
	if (s3sent_release(r->ss, false, ok, &why) < 0)
		warn("%s: %s", r->label, why);
	free(why);
	free(body);
	if (!ok)
		print_failure(r);
	if (r->scratch && remove_tree(r->scratch) < 0)
		warn("cannot remove '%s': %s", r->scratch, strerror(errno));
	return ret;
}

/* Record the outcome, clean up, release the claim. The exit status. */
static int finish(struct run *r, struct sentinel_claim *claim, bool ok)
{
	const struct spec *s = r->s;
	if (!ok && r->interrupted)
		return abandon(r, claim);
	r->ended = now_ns();
	if (r->ss)
		return finish_s3(r, ok);
	int ret = 1;
	size_t len;
	char *body = make_body(r, ok ? SENT_OK : SENT_FAILED, &len);
	if (!body) {
		warn("%s: cannot record the outcome: out of memory", r->label);
		if (!ok)
			print_failure(r);
	} else if (ok) {
		if (sentinel_commit_ok(claim, s->sentinel_dir, s->key, body, len) == 0) {
			sentinel_prune(s->sentinel_dir, s->key);
			ret = 0;
		} else {
			warn("%s failed: cannot record its outputs", r->label);
		}
	} else {
		sentinel_write(s->sentinel_dir, s->key, SENT_FAILED, body, len);
		print_failure(r);
	}
	free(body);
	if (r->scratch && remove_tree(r->scratch) < 0)
		warn("cannot remove '%s': %s", r->scratch, strerror(errno));
	sentinel_release(claim);
	return ret;
}

static void run_free(struct run *r)
{
	free(r->label);
	free(r->scratch);
	free(r->trash);
	free(r->log);
	free_strv(r->out_scratch);
	free_strv(r->in_local);
	for (size_t i = 0; r->gath_local && i < r->s->ninputs; i++)
		free_strv(r->gath_local[i]);
	free(r->gath_local);
	free(r->log_local);
	s3sent_free(r->ss);
	remote_close(r->rm);
	free(r->reason);
	out_files_free(&r->files);
	buf_free(&r->tail);
	free(r->image_id);
}

/* What s3sent_claim said, as an exit status (-1: claimed); why is said
 * and freed. */
static int claim_status(const char *label, int c, char *why)
{
	int ret = -1;
	if (c == S3SENT_DONE) {
		ret = 0;
	} else if (c == S3SENT_HELD) {
		warn("%s: %s: not run", label, why);
		ret = RUNNER_EXIT_BUSY;
	} else if (c < 0) {
		warn("%s: cannot claim: %s", label, why);
		ret = 1;
	}
	free(why);
	return ret;
}

/* Start a claimed instance on an S3 root: its running sentinel. 1 when
 * it could not be written (said), else -1. */
static int start_s3(struct run *r)
{
	size_t len;
	char *body = make_body(r, SENT_RUNNING, &len), *why = NULL;
	int ret = -1;
	if (!body) {
		warn("%s: cannot claim: out of memory", r->label);
		char *ignored = NULL;
		s3sent_release(r->ss, true, false, &ignored);
		free(ignored);
		return 1;
	}
	if (s3sent_start(r->ss, body, len, &why) < 0) {
		warn("%s: cannot claim: %s", r->label, why);
		ret = 1;
	}
	free(why);
	free(body);
	return ret;
}

/* Claim on an S3 root. The exit status when there is nothing to run,
 * -1 when claimed and started. */
static int claim_s3(struct run *r)
{
	char *why = NULL;
	int c = s3sent_claim(r->ss, r->s->force, &why);
	c = claim_status(r->label, c, why);
	return c >= 0 ? c : start_s3(r);
}

/* Where an S3 root's scratch folders go: the spec's, else
 * ./.rapid/scratch/. */
static char *s3_scratch(const struct spec *s)
{
	if (s->scratch)
		return layout_resumable_scratch(s->scratch, s->key);
	char *cwd = getcwd(NULL, 0);
	char *root = layout_local_scratch_root(cwd ? cwd : ".");
	char *p = layout_resumable_scratch(root, s->key);
	free(root);
	free(cwd);
	return p;
}

/* Outputs and root on the same side: all on S3 under an S3 root, all
 * local under a local one. NULL, or why not (malloc'd). */
static char *check_sides(const struct spec *s)
{
	for (size_t i = 0; i < s->noutputs; i++)
		if (is_s3(s->outputs[i].path) != is_s3(s->root))
			return xasprintf("output '%s' ('%s') is not under the root '%s'", s->outputs[i].name,
					 s->outputs[i].path, s->root);
	if (is_s3(s->sentinel_dir) != is_s3(s->root) || is_s3(s->log_dir) != is_s3(s->root))
		return xasprintf("the sentinel and log folders are not under the root '%s'", s->root);
	return NULL;
}

/* An instance a group claimed before it ran (runner_run_group); NULL in
 * run_instance: it claims for itself. Its remote and sentinels pass to
 * the run. */
struct pre {
	struct spec *s;
	char *label;
	struct remote *rm;
	struct s3sent *ss;
	int rc; /* -1 claimed; -2 not on S3 (run_instance claims); else the exit status */
};

static int run_instance(const struct spec *s, struct pre *pre)
{
	struct run r = {0};
	struct sentinel_claim *claim = NULL;
	r.s = s;
	r.label = spec_label(s);
	r.log = layout_log_file(s->log_dir, s->key);
	r.exit_code = -1;
	r.started = now_ns();
	int ret = 1;

	if (exec_interrupted()) { /* before anything was claimed: nothing to record */
		warn("%s: interrupted by signal %d", r.label, exec_interrupted());
		ret = 128 + exec_interrupted();
		goto out;
	}
	char *why = check_sides(s);
	if (why) {
		warn("cannot run %s: %s", r.label, why);
		free(why);
		ret = 2;
		goto out;
	}
	if (pre && pre->rc == -1) {
		r.rm = pre->rm;
		r.ss = pre->ss;
		pre->rm = NULL;
		pre->ss = NULL;
	} else if (remote_needed(s) && !(r.rm = remote_open(s, &why))) {
		warn("%s: %s", r.label, why);
		free(why);
		goto out;
	}
	if (is_s3(s->root)) {
		r.scratch = s3_scratch(s);
		r.log_local = layout_scratch_log(r.scratch);
		if (!r.ss)
			r.ss = s3sent_new(r.rm, s->sentinel_dir, s->key);
		int c = pre && pre->rc == -1 ? start_s3(&r) : claim_s3(&r);
		if (c >= 0) {
			ret = c;
			goto out;
		}
	} else {
		r.scratch = layout_scratch(s->root, s->key, getpid());
		r.trash = layout_trash(s->root, s->key, getpid());
		size_t len;
		char *body = make_body(&r, SENT_RUNNING, &len);
		if (!body) {
			warn("%s: cannot claim: out of memory", r.label);
			goto out;
		}
		int c = s->force ? sentinel_claim_force(s->sentinel_dir, s->key, body, len, &claim)
				 : sentinel_claim(s->sentinel_dir, s->key, body, len, &claim);
		free(body);
		if (c < 0)
			goto out;
		if (c == 0) {
			char *okp = sentinel_path(s->sentinel_dir, s->key, SENT_OK);
			struct stat st;
			/* Only a regular file is an ok sentinel (runner/sentinel.h). */
			if (!s->force && lstat(okp, &st) == 0 && S_ISREG(st.st_mode)) {
				ret = 0;
			} else {
				warn("%s: already running in another build", r.label);
				ret = RUNNER_EXIT_BUSY;
			}
			free(okp);
			goto out;
		}
	}
	bool ok = prepare_scratch(&r) == 0 && stage(&r) == 0 &&
		  run_recipe(&r) == 0 && publish_outputs(&r) == 0;
	ret = finish(&r, claim, ok);
out:
	run_free(&r);
	return ret;
}

/* The recipe's pipe must not land on fd 0-2 (dup2 onto itself would keep
 * its close-on-exec flag), so make sure they are open. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd)
				close(n);
		}
}

int runner_run_spec(const char *text, size_t len, const char *what)
{
	ensure_std_fds();
	/* Stop (cleanly) when whoever started us dies. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (exec_signals_init() < 0)
		return 1;
	char *err = NULL;
	struct spec *s = spec_parse(text, len, &err);
	if (!s) {
		warn("cannot read spec '%s': %s", what, err);
		free(err);
		return 2;
	}
	int ret = run_instance(s, NULL);
	spec_free(s);
	return ret;
}

/* Open the instance's remote and sentinels when its root is on S3 (rc
 * -1), else leave it to run_instance (rc -2) or record why not. */
static void pre_open(struct pre *p)
{
	const struct spec *s = p->s;
	char *why = NULL;
	p->rc = -2;
	if (!is_s3(s->root) || (why = check_sides(s)))
		goto out; /* run_instance says what is wrong */
	if (!(p->rm = remote_open(s, &why))) {
		warn("%s: %s", p->label, why);
		p->rc = 1;
		goto out;
	}
	p->ss = s3sent_new(p->rm, s->sentinel_dir, s->key);
	p->rc = -1;
out:
	free(why);
}

void runner_run_group(const char *const *texts, const size_t *lens, const char *const *whats, size_t n,
		      runner_done_fn done, void *arg)
{
	ensure_std_fds();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	struct pre *v = xcalloc(n + 1, sizeof(*v));
	struct s3sent **ss = xcalloc(n + 1, sizeof(*ss));
	size_t nss = 0, i = 0;
	int stop = 0;
	if (exec_signals_init() < 0) {
		for (i = 0; i < n; i++)
			done(arg, i, 1);
		goto out;
	}
	for (i = 0; i < n; i++) {
		char *err = NULL;
		if (!(v[i].s = spec_parse(texts[i], lens[i], &err))) {
			warn("cannot read spec '%s': %s", whats[i], err);
			free(err);
			v[i].rc = 2;
			continue;
		}
		v[i].label = spec_label(v[i].s);
		pre_open(&v[i]);
		if (v[i].rc == -1)
			ss[nss++] = v[i].ss;
	}
	/* One listing of the instances' folders, then every claim at once,
	 * before the first recipe runs: what the listing says holds as it
	 * would for a listing of each folder right before its claim. */
	char *why = NULL;
	if (!exec_interrupted() && s3sent_list_group(ss, nss, &why) < 0) {
		warn("%s: cannot list the sentinels: %s", v[0].label ? v[0].label : whats[0], why);
		free(why);
		why = NULL;
	}
	for (i = 0; i < n && !exec_interrupted(); i++)
		if (v[i].rc == -1) {
			int c = s3sent_claim(v[i].ss, v[i].s->force, &why);
			v[i].rc = claim_status(v[i].label, c, why);
			why = NULL;
		}
	for (i = 0; i < n && !stop; i++) {
		int rc, sig = exec_interrupted();
		if (sig) { /* before this one started: the rest are not started */
			warn("%s: interrupted by signal %d", v[i].label ? v[i].label : whats[i], sig);
			rc = 128 + sig;
		} else if (v[i].rc == -1 || v[i].rc == -2) {
			rc = run_instance(v[i].s, &v[i]);
		} else {
			rc = v[i].rc;
		}
		done(arg, i, rc);
		if (rc > 128)
			stop = 1;
	}
out:
	/* The instances claimed but not started: their claims go. */
	for (size_t k = 0; k < n; k++) {
		if (v[k].ss) {
			char *ignored = NULL;
			s3sent_release(v[k].ss, true, false, &ignored);
			free(ignored);
		}
		s3sent_free(v[k].ss);
		remote_close(v[k].rm);
		spec_free(v[k].s);
		free(v[k].label);
	}
	free(v);
	free(ss);
}
