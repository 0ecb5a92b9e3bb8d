/* cmd_logs.c - `rapid logs TARGET w=v... [--follow]`: an instance's log.
 *
 * The instance is the target at the given wildcard values; its log is the
 * one of its current key (runner/layout.h: <root>.rapid/logs/<target>/
 * <values>/<key>.log), else, on a local root, the newest log of the
 * instance (saying which key). On an s3:// root the log object is read
 * with one GetObject. --follow tails the log of a running instance until
 * its running sentinel is released, then exits 0 when it was built, 1
 * when not. A word NAME=value names a wildcard value when NAME is one of
 * the target's wildcards, and overrides a variable otherwise. */
#include "aws/s3.h"
#include "cli/args.h"
#include "cli/cmd.h"
#include "cli/session.h"
#include "engine/cloud.h"
#include "engine/graph.h"
#include "engine/plan.h"
#include "engine/store.h"
#include "engine/submit.h"
#include "lib/util.h"
#include "runner/layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FOLLOW_POLL_MS 100
#define VALUES_SHOWN 5

enum { O_FOLLOW = 1 };

const struct cli_option logs_options[] = {
	{O_FOLLOW, 0, "follow", NULL, "print the log as a running instance writes it, until it ends"},
	{0},
};

/* The instance of tg at the given values (NULL where not given): its
 * id, or NO_INSTANCE after printing why (with the values to choose from). */
static uint32_t find_instance(const struct graph *g, const struct tgroup *tg, char *const *vals)
{
	const struct target *t = tg->t;
	for (size_t k = 0; k < t->nwildcards; k++) {
		const struct set *v = &t->wildcards[k].values;
		if (vals[k]) {
			bool known = false;
			for (size_t n = 0; n < v->n && !known; n++)
				known = !strcmp(v->v[n], vals[k]);
			if (known)
				continue;
			const char *hint = closest_word(vals[k], (const char *const *)v->v, v->n);
			if (hint)
				warn("logs: target %s has no %s '%s' (did you mean '%s'?)", t->name, t->wildcards[k].name,
				     vals[k], hint);
			else
				warn("logs: target %s has no %s '%s'", t->name, t->wildcards[k].name, vals[k]);
			return NO_INSTANCE;
		}
		struct buf b = {0};
		for (size_t n = 0; n < v->n && n < VALUES_SHOWN; n++)
			buf_printf(&b, "%s%s", n ? ", " : "", v->v[n]);
		if (v->n > VALUES_SHOWN)
			buf_printf(&b, ", ... (%zu values)", v->n);
		warn("logs: which %s of target %s? Name it as %s=VALUE (%s)", t->wildcards[k].name, t->name,
		     t->wildcards[k].name, b.len ? b.data : "it has no values");
		buf_free(&b);
		return NO_INSTANCE;
	}
	for (uint32_t n = 0; n < tg->n; n++) {
		const struct instance *i = &g->inst[tg->first + n];
		size_t k = 0;
		while (k < t->nwildcards && !strcmp(graph_value(g, i, k), vals[k]))
			k++;
		if (k == t->nwildcards)
			return tg->first + n;
	}
	warn("logs: target %s has no such instance", t->name);
	return NO_INSTANCE;
}

/* Copy what fd holds from *off on to stdout. 0, or -1 after printing why. */
static int copy_from(int fd, off_t *off, const char *path)
{
	char buf[65536];
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("cannot read '%s': %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		*off += n;
	}
	fflush(stdout);
	return 0;
}

/* Print a whole local log. 1 printed, 0 there is none, -1 after
 * printing why. */
static int print_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : (warn("cannot open '%s': %s", path, strerror(errno)), -1);
	off_t off = 0;
	int r = copy_from(fd, &off, path);
	close(fd);
	return r < 0 ? -1 : 1;
}

/* The newest "<key>.log" of dir: its path (the caller frees) and its key
 * in key[33]; NULL when there is none. */
static char *newest_log(const char *dir, char key[33])
{
	DIR *d = opendir(dir);
	char *best = NULL;
	struct timespec bt = {0};
	if (!d)
		return NULL;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len != 36 || strcmp(e->d_name + 32, ".log"))
			continue;
		char *p = path_join(dir, e->d_name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    (!best || st.st_mtim.tv_sec > bt.tv_sec ||
		     (st.st_mtim.tv_sec == bt.tv_sec && st.st_mtim.tv_nsec > bt.tv_nsec))) {
			free(best);
			best = p;
			bt = st.st_mtim;
			memcpy(key, e->d_name, 32);
			key[32] = 0;
		} else {
			free(p);
		}
	}
	closedir(d);
	return best;
}

/* The log of an instance on an s3:// root: one GetObject. 0, or -1 after
 * printing why. */
static int print_s3(const char *uri)
{
	struct s3_client *c = cloud_s3();
	char *bucket = NULL, *key = NULL;
	int ret = -1;
	if (!c)
		return -1;
	if (s3_uri_split(uri, &bucket, &key) < 0) {
		warn("cannot read '%s': not an s3://bucket/key URI", uri);
		goto out;
	}
	struct s3_op op = {.kind = S3_GET, .bucket = bucket, .key = key};
	if (s3_run(c, &op, 1) < 0)
		cloud_warn(op.error);
	else if (!op.found)
		warn("cannot read '%s': no such object (the instance has no log at its current key)", uri);
	else {
		fwrite(op.body_out.data ? op.body_out.data : "", 1, op.body_out.len, stdout);
		ret = 0;
	}
	s3_op_free(&op);
out:
	free(bucket);
	free(key);
	return ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Tail path while the instance's running sentinel at key is held; then
 * what is left. 0 when the instance was built, 1 when not, -1 after
 * printing why. */
static int follow(struct store *st, const struct target *t, const char *const *vals, const char *key,
		  const char *path, const char *name)
{
	int fd = -1, ret = -1;
	off_t off = 0;
	struct stat cur = {0};
	struct lookup lk = {0};
	for (bool last = false;;) {
		if (!last) {
			if (store_lookup(st, t->name, vals, t->nwildcards, key, &lk) < 0)
				goto out;
			last = lk.state != LK_RUNNING;
		}
		struct stat now;
		if (stat(path, &now) == 0 && (fd < 0 || now.st_ino != cur.st_ino || now.st_dev != cur.st_dev)) {
			/* the log appeared, or was put in place anew */
			int nfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nfd >= 0) {
				if (fd >= 0)
					close(fd);
				fd = nfd;
				cur = now;
				if (now.st_size < off) /* a shorter copy: nothing of it is new */
					off = now.st_size;
			}
		}
		if (fd >= 0 && copy_from(fd, &off, path) < 0)
			goto out;
		if (last)
			break;
		sleep_ms(FOLLOW_POLL_MS);
	}
	if (lk.state == LK_OK) {
		ret = 0;
	} else {
		warn("%s: %s", name, lk.state == LK_FAILED ? "failed" : lk.state == LK_INTERRUPTED ? "interrupted"
													: "not built");
		ret = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* When an instance has no log object: the job an open submission
 * queues it in, or, when a Batch child ran it (its sentinel names the
 * job), where Batch keeps the container's own output; on stderr. */
static void say_batch_job(const struct plan *p, struct store *st, const struct instance *i, const char *const *vals,
			  const char *key, const char *name)
{
	const struct target *t = p->g->groups[i->group].t;
	if (i->reason == R_QUEUED) {
		fprintf(stderr, "rapid: %s: %s\n", name, i->why);
		return;
	}
	enum sentinel_state which = i->state == INST_OK ? SENT_OK : SENT_FAILED;
	if (i->state != INST_OK && i->reason != R_FAILED)
		return;
	struct sentinel_body *b = store_body(st, t->name, vals, t->nwildcards, key, which);
	if (b && b->batch_job_id) {
		char *stream = NULL;
		if (submit_log_stream(b->batch_job_id, &stream) == 0)
			fprintf(stderr, "rapid: %s: ran in Batch job %s%s%s\n", name, b->batch_job_id,
				stream ? "; its CloudWatch log stream: " : "", stream ? stream : "");
		free(stream);
	}
	sentinel_body_free(b);
}

int cmd_logs(int argc, char **argv)
{
	struct session s = {0};
	struct rapidfile *rf0 = NULL;
	struct plan *p = NULL;
	struct cli_args a;
	char **words = NULL, *target = NULL, *vals[RULES_MAX_WILDCARDS] = {0};
	size_t nwords = 0;
	bool follow_it = false;
	int ret = 1;
	cli_args_init(&a, "logs", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case O_FOLLOW: follow_it = true; break;
		case CLI_WORD:
			if (strchr(a.value, '=')) {
				words = xreallocarray(words, nwords + 1, sizeof(char *));
				words[nwords++] = a.value;
			} else if (target) {
				ret = cli_usage(a.cmd, "one target only ('%s' and '%s'); name its wildcards as NAME=VALUE",
						target, a.value);
				goto out;
			} else {
				target = a.value;
			}
			break;
		default:
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
	}
	if (!target) {
		ret = cli_usage(a.cmd, "which target's log? Name it, and its wildcards as NAME=VALUE");
		goto out;
	}
	/* Which words are wildcard values: the target's wildcard names, from
	 * the Rapidfile read offline and quietly (the real load below says
	 * what is wrong with it, once). */
	struct rules_opts ro0 = {0};
	fflush(stderr);
	int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	int r0 = rules_load(g_opts.file ? g_opts.file : "Rapidfile", &ro0, &rf0);
	fflush(stderr);
	if (saved >= 0 && null >= 0)
		dup2(saved, STDERR_FILENO);
	if (saved >= 0)
		close(saved);
	if (null >= 0)
		close(null);
	if (r0 < 0) {
		/* It may need the overrides to load: with every word as one
		 * (it says why when it still fails). */
		rf0 = NULL;
		for (size_t w = 0; w < nwords; w++)
			session_arg(&s, words[w]);
		if (session_open(&s, false, false) < 0)
			goto out;
		rf0 = s.rf;
		s.rf = NULL;
		session_close(&s);
	}
	const struct target *t0 = rules_target(rf0, target);
	if (!t0) {
		const char **names = xcalloc(rf0->ntargets + 1, sizeof(char *));
		for (size_t k = 0; k < rf0->ntargets; k++)
			names[k] = rf0->targets[k]->name;
		const char *hint = closest_word(target, names, rf0->ntargets);
		if (hint)
			warn("no target '%s' in %s (did you mean '%s'?)", target, rf0->path, hint);
		else
			warn("no target '%s' in %s", target, rf0->path);
		free(names);
		goto out;
	}
	for (size_t w = 0; w < nwords; w++) {
		char *eq = strchr(words[w], '=');
		size_t k = 0;
		while (k < t0->nwildcards &&
		       !(strlen(t0->wildcards[k].name) == (size_t)(eq - words[w]) &&
			 !strncmp(t0->wildcards[k].name, words[w], (size_t)(eq - words[w]))))
			k++;
		if (k < t0->nwildcards)
			vals[k] = eq + 1;
		else
			session_arg(&s, words[w]);
	}
	session_arg(&s, target);
	struct plan_opts po = {.no_failed_bodies = true};
	if (!(p = session_plan(&s, &po)))
		goto out;
	struct graph *g = s.g;
	const struct tgroup *tg = NULL;
	for (size_t gi = 0; gi < g->ngroups && !tg; gi++)
		if (!strcmp(g->groups[gi].t->name, target))
			tg = &g->groups[gi];
	if (!tg) /* graph_select said so */
		goto out;
	const struct target *t = tg->t;
	uint32_t id = find_instance(g, tg, vals);
	if (id == NO_INSTANCE)
		goto out;
	const struct instance *i = &g->inst[id];
	struct store *st = plan_store(p, i);
	const char *root = store_root(st);
	const char *cvals[RULES_MAX_WILDCARDS];
	for (size_t k = 0; k < t->nwildcards; k++)
		cvals[k] = graph_value(g, i, k);
	struct buf name = {0};
	graph_name(g, i, &name);
	char key[33] = "";
	bool keyed = i->state != INST_SKIPPED && i->state != INST_UNKNOWN;
	if (keyed)
		plan_key_hex(i, key);
	char *dir = layout_log_dir(root, t->name, cvals, t->nwildcards);
	char *path = keyed ? layout_log_file(dir, key) : NULL;
	if (uri_is_s3(root)) {
		if (follow_it)
			warn("logs: --follow needs a local output root ('%s' is on S3)", root);
		else if (!keyed)
			warn("%s: skipped (%s): it has no current key, so no log", name.data, i->why ? i->why : "");
		else
			ret = print_s3(path) < 0 ? 1 : 0;
		/* no log object: where Batch keeps the container's output */
		if (keyed && !follow_it && ret != 0)
			say_batch_job(p, st, i, cvals, key, name.data);
	} else if (follow_it && i->state == INST_RUNNING) {
		ret = follow(st, t, cvals, key, path, name.data) == 0 ? 0 : 1;
	} else {
		int r = path ? print_file(path) : 0;
		if (r == 0) {
			char old[33];
			char *newest = newest_log(dir, old);
			if (newest) {
				warn("%s: no log of its current key%s%s; the newest log is of key %s", name.data,
				     keyed ? " " : "", key, old);
				r = print_file(newest);
			} else {
				warn("%s: no log in '%s' (it has not run here%s)", name.data, dir,
				     i->state == INST_SKIPPED ? ": it is skipped" : "");
				r = -1;
			}
			free(newest);
		}
		ret = r < 0 ? 1 : 0;
		if (ret == 0 && follow_it && i->state != INST_OK) /* ended before we looked */
			ret = 1;
	}
	free(dir);
	free(path);
	buf_free(&name);
out:
	plan_free(p);
	session_close(&s);
	if (rf0)
		rules_free(rf0);
	free(words);
	return ret;
}
