/* exec_local.c - the local executor: one runner child (a fork running the
 * `rapid runner` code on the instance spec) per
 * instance, at most -j at a time, an instance only after every upstream
 * instance it reads from was built. The runner does the work and writes
 * the sentinels; this side schedules, reports and remembers components.
 *
 * An instance that another build holds (its running sentinel is locked by
 * a live runner, at plan time or when our runner finds it claimed) is
 * watched, not run: its dependents wait for it, and its outcome is the
 * other build's. While any is held, the sentinels are looked at every
 * HOLD_POLL_MIN_MS, backing off to HOLD_POLL_MAX_MS while nothing changes;
 * a runner ending (SIGCHLD) cuts the wait short. */
#include "engine/exec.h"
#include "engine/spec.h"
#include "engine/state.h"
#include "engine/store.h"
#include "lib/util.h"
#include "runner/runner.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOLD_POLL_MIN_MS 20
#define HOLD_POLL_MAX_MS 500

enum job_status { J_IDLE, J_WAITING, J_READY, J_RUNNING, J_DONE, J_FAILED, J_BUSY, J_BLOCKED, J_INTERRUPTED,
		  J_HELD /* another build's runner holds it: watched */ };

static volatile sig_atomic_t g_stop_signal;

static void on_signal(int sig)
{
	g_stop_signal = sig;
}

/* Only to cut the wait between looks at held instances short. */
static void on_child(int sig)
{
	(void)sig;
}

struct exec {
	struct plan *p;
	const struct build_opts *o;
	uint8_t *status;         /* per instance */
	uint32_t *waiting;       /* per instance: upstream jobs not done */
	uint32_t **down;         /* per instance: dependents in the build */
	uint32_t *ndown;
	uint32_t *ready;         /* FIFO of instance ids */
	size_t rhead, rtail, rcap;
	pid_t *pids;             /* per slot */
	uint32_t *slot_inst;
	struct buf *slot_comps;  /* per slot: components of its key */
	size_t running, total, started, built, failed, busy, blocked, interrupted;
	size_t blocked_held;     /* of blocked: waiting on what another build holds
				  * where it cannot be watched (from the start) */
	size_t blocked_interrupted; /* of blocked: behind an interrupted runner */
	size_t held;             /* instances held by another build, now */
	uint32_t *held_ids;      /* which (some may have moved on: see status) */
	size_t nheld_ids, held_cap;
	size_t held_ok, held_failed; /* what became of them there */
	long cores, memory_mib;  /* what the running instances may take together */
	long used_cores, used_mib; /* what they take now */
	uint32_t *unfit_epoch;   /* per group: the pass of start_ready it did not fit in */
	uint32_t epoch;
	size_t nselected;        /* selected groups */
	bool tty;                /* stderr is a terminal: a live progress line */
	int cols;                /* its width (0: unknown) */
	size_t finished;         /* runners that ended (built, failed, interrupted) */
	int64_t start_ms;
	struct inst_work w;
	struct buf spec;
};

static void add_down(struct exec *x, uint32_t up, uint32_t down)
{
	x->down[up] = xreallocarray(x->down[up], x->ndown[up] + 1, sizeof(uint32_t));
	x->down[up][x->ndown[up]++] = down;
}

static void ready_push(struct exec *x, uint32_t id)
{
	GROW(x->ready, x->rcap, x->rtail + 1);
	x->ready[x->rtail++] = id;
}

static void hold_push(struct exec *x, uint32_t id)
{
	GROW(x->held_ids, x->held_cap, x->nheld_ids + 1);
	x->held_ids[x->nheld_ids++] = id;
}

/* id has an ok sentinel for its key: its dependents wait for one less
 * (a held one too, should this build come to run it). */
static void release_down(struct exec *x, uint32_t id)
{
	for (uint32_t k = 0; k < x->ndown[id]; k++) {
		uint32_t d = x->down[id][k];
		if (x->status[d] == J_HELD && x->waiting[d])
			x->waiting[d]--;
		else if (x->status[d] == J_WAITING && --x->waiting[d] == 0) {
			x->status[d] = J_READY;
			ready_push(x, d);
		}
	}
}

/* Whether the sentinels of i can be watched here: they are on a local
 * root, where a lookup sees them change (another build's runner
 * finishing, an upstream rebuilt at another key). */
static bool watchable(const struct exec *x, const struct instance *i)
{
	return !strcmp(plan_store(x->p, i)->ops->kind, "local");
}

/* Mark everything downstream of id as blocked (transitively): they are
 * not started, and their old outputs and sentinels stay as they are.
 * With why ("failed"), each gets a line naming root, the upstream
 * instance that did not build. */
static void block_down(struct exec *x, uint32_t id, uint32_t root, const char *why)
{
	for (uint32_t k = 0; k < x->ndown[id]; k++) {
		uint32_t d = x->down[id][k];
		if (x->status[d] == J_WAITING || x->status[d] == J_READY) {
			x->status[d] = J_BLOCKED;
			x->blocked++;
			if (why) {
				struct buf n = {0}, u = {0};
				graph_name(x->p->g, &x->p->g->inst[d], &n);
				graph_name(x->p->g, &x->p->g->inst[root], &u);
				if (x->tty)
					fputs("\r\033[K", stderr);
				warn("%s: not built: upstream %s %s", n.data, u.data, why);
				buf_free(&n);
				buf_free(&u);
			}
			block_down(x, d, root, why);
		}
	}
}

/* What the sentinels say of instance i at its planned key now. 0, or -1
 * after printing why. */
static int lookup_now(struct exec *x, const struct instance *i, struct lookup *lk)
{
	const struct graph *g = x->p->g;
	const struct target *t = g->groups[i->group].t;
	const char *vals[RULES_MAX_WILDCARDS];
	for (size_t k = 0; k < t->nwildcards; k++)
		vals[k] = graph_value(g, i, k);
	char key[33];
	plan_key_hex(i, key);
	return store_lookup(plan_store(x->p, i), t->name, vals, t->nwildcards, key, lk);
}

/* Every upstream instance i reads from has an ok sentinel for the key it
 * was planned with, now, just before i starts: built by this build, or
 * up to date at plan time and not rebuilt at another key since (by
 * another build). Asked of local roots, whose sentinels a lookup sees as
 * they are now. 0, or -1 after printing which one has not. */
static int upstreams_built(struct exec *x, const struct instance *i)
{
	const struct graph *g = x->p->g;
	const struct target *t = g->groups[i->group].t;
	/* every upstream instance of every input, gathered ones included */
	for (size_t in = 0; in < t->ninputs; in++)
	for (size_t j = 0, nu = graph_upstream_count(g, i, in); j < nu; j++) {
		uint32_t u = graph_upstream_at(g, i, in, j);
		/* On an S3 root no lookup is made: an upstream this build
		 * ran counts by its runner's exit status (0 only once its ok
		 * sentinel was PUT), one up to date when planned by the
		 * listing made then; one that did neither has not been
		 * started here. A gathered instance skipped at plan time is
		 * not read. */
		if (u == NO_INSTANCE || g->inst[u].state == INST_SKIPPED)
			continue;
		if (!watchable(x, &g->inst[u])) {
			if (x->status[u] == J_DONE || g->inst[u].state == INST_OK)
				continue;
			struct buf n = {0}, un = {0};
			graph_name(g, i, &n);
			graph_name(g, &g->inst[u], &un);
			if (x->tty)
				fputs("\r\033[K", stderr);
			warn("%s: not built: upstream %s was not built", n.data, un.data);
			buf_free(&n);
			buf_free(&un);
			return -1;
		}
		struct lookup lk;
		if (lookup_now(x, &g->inst[u], &lk) < 0)
			return -1;
		if (lk.state == LK_OK)
			continue;
		struct buf n = {0}, un = {0};
		char key[33];
		graph_name(g, i, &n);
		graph_name(g, &g->inst[u], &un);
		plan_key_hex(&g->inst[u], key);
		if (x->tty)
			fputs("\r\033[K", stderr);
		warn("%s: not built: upstream %s has no ok sentinel for key %s", n.data, un.data, key);
		buf_free(&n);
		buf_free(&un);
		return -1;
	}
	return 0;
}

long exec_machine_cores(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

long exec_machine_memory_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	long mib = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long kib;
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			mib = (long)(kib / 1024);
			break;
		}
	}
	fclose(f);
	return mib;
}

/* What an instance of id's target takes while it runs: its vcpus and
 * memory, none of either when the target does not say. */
static long need_cores(const struct exec *x, uint32_t id)
{
	const struct target *t = x->p->g->groups[x->p->g->inst[id].group].t;
	return t->vcpus > 0 ? t->vcpus : 0;
}

static long need_mib(const struct exec *x, uint32_t id)
{
	const struct target *t = x->p->g->groups[x->p->g->inst[id].group].t;
	return t->memory_mib > 0 ? t->memory_mib : 0;
}

/* Whether id fits beside the running instances. */
static bool fits(const struct exec *x, uint32_t id)
{
	return x->used_cores + need_cores(x, id) <= x->cores && x->used_mib + need_mib(x, id) <= x->memory_mib;
}

static int64_t mono_ms(void);

/* "1.5/s", "12/min", "3.2/h": instances finished per unit of time since
 * the build started; "" before the first. */
static void put_rate(const struct exec *x, struct buf *b)
{
	double s = (double)(mono_ms() - x->start_ms) / 1000.0;
	if (!x->finished || s <= 0)
		return;
	double r = (double)x->finished / s;
	if (r >= 1)
		buf_printf(b, ", %.1f/s", r);
	else if (r * 60 >= 1)
		buf_printf(b, ", %.1f/min", r * 60);
	else
		buf_printf(b, ", %.1f/h", r * 3600);
}

/* Progress on stderr. On a terminal, one line rewritten in place as
 * runners start and end: [finished/total], how many run and failed, the
 * rate, and the instance concerned. Otherwise a plain line as each one
 * ends ("[3/80] NAME", and " failed" or " interrupted" after it): what
 * not ended when is NULL (a start: shown on a terminal only). */
static void progress(struct exec *x, uint32_t id, const char *what)
{
	if (!x->tty && !what)
		return;
	struct buf b = {0};
	buf_printf(&b, "[%zu/%zu] ", x->finished, x->total);
	if (x->tty) {
		buf_printf(&b, "%zu running", x->running);
		if (x->failed)
			buf_printf(&b, ", %zu failed", x->failed);
		put_rate(x, &b);
		buf_puts(&b, "  ");
	}
	graph_name(x->p->g, &x->p->g->inst[id], &b);
	if (what)
		buf_puts(&b, what);
	if (x->tty) {
		/* one line of the terminal: a wrapped one would not be rewritten */
		if (x->cols > 1 && b.len > (size_t)x->cols - 1) {
			b.len = (size_t)x->cols - 1;
			b.data[b.len] = 0;
		}
		fprintf(stderr, "\r\033[K%s", b.data);
	} else {
		fprintf(stderr, "%s\n", b.data);
	}
	buf_free(&b);
}

static int launch(struct exec *x, uint32_t id, size_t slot)
{
	struct plan *p = x->p;
	struct instance *i = &p->g->inst[id];
	if (upstreams_built(x, i) < 0)
		return -1;
	int r = plan_expand(p, i, &x->w);
	if (r != 0) {
		if (r > 0) {
			struct buf n = {0};
			graph_name(p->g, i, &n);
			warn("%s: skipped: %s", n.data, i->why);
			buf_free(&n);
		}
		return -1;
	}
	buf_reset(&x->spec);
	/* An instance whose outputs changed under its ok sentinel is rebuilt
	 * at the same key: the runner must not take that sentinel as done. */
	bool force = i->reason == R_FORCED || i->reason == R_OUTPUT_CHANGED;
	if (spec_write(p, i, &x->w, force, &x->spec) < 0) {
		warn("cannot write the spec of an instance: out of memory");
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		warn("cannot start a runner: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* The runner is this same program: run it here rather than exec
		 * a new image (loading the AWS libraries costs more than the
		 * work of a cheap instance). It never touches the parent's state. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		int rc = runner_run_spec(x->spec.data, x->spec.len, "(build)");
		fflush(NULL);
		_exit(rc);
	}
	x->pids[slot] = pid;
	x->slot_inst[slot] = id;
	x->running++;
	x->used_cores += need_cores(x, id);
	x->used_mib += need_mib(x, id);
	x->started++;
	progress(x, id, NULL);
	/* Kept to remember the components of the key once it is built. */
	buf_reset(&x->slot_comps[slot]);
	buf_putn(&x->slot_comps[slot], x->w.comps.data.data, x->w.comps.data.len);
	return 0;
}

static void finish(struct exec *x, uint32_t id, int wstatus)
{
	struct plan *p = x->p;
	struct instance *i = &p->g->inst[id];
	int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (code == 0) {
		x->status[id] = J_DONE;
		x->built++;
		x->finished++;
		i->state = INST_OK;
		release_down(x, id);
		progress(x, id, "");
		return;
	}
	if (code == RUNNER_EXIT_BUSY && watchable(x, i)) {
		/* claimed by another build since the plan: its outcome is ours */
		x->status[id] = J_HELD;
		x->held++;
		hold_push(x, id);
		x->total--;
		return;
	}
	if (x->tty) /* the runner's report starts on a line of its own */
		fputs("\r\033[K", stderr);
	struct buf n = {0};
	graph_name(p->g, i, &n);
	const char *why = "failed";
	if (code == RUNNER_EXIT_BUSY) {
		x->status[id] = J_BUSY;
		x->busy++;
		why = "is running in another build";
	} else if (code > 128) {
		/* a signal stopped the runner (the runner itself said so, or it
		 * died of it): the instance is left interrupted, not failed */
		x->status[id] = J_INTERRUPTED;
		x->interrupted++;
		why = "was interrupted";
		if (WIFSIGNALED(wstatus) && !g_stop_signal)
			warn("%s: interrupted: its runner was killed by signal %d", n.data, WTERMSIG(wstatus));
	} else {
		x->status[id] = J_FAILED;
		x->failed++;
		if (code != 1)
			warn("%s: runner ended with status %d", n.data, code);
	}
	buf_free(&n);
	x->finished++;
	progress(x, id, x->status[id] == J_FAILED ? " failed"
			: x->status[id] == J_INTERRUPTED ? " interrupted" : " running in another build");
	if (g_stop_signal) /* stopping: what depends on it is "not started" */
		return;
	size_t before = x->blocked;
	block_down(x, id, id, why);
	if (x->status[id] == J_INTERRUPTED)
		x->blocked_interrupted += x->blocked - before;
}

static void exec_alloc(struct exec *x, size_t n, long jobs)
{
	x->status = xcalloc(n + 1, 1);
	x->waiting = xcalloc(n + 1, sizeof(uint32_t));
	x->down = xcalloc(n + 1, sizeof(uint32_t *));
	x->ndown = xcalloc(n + 1, sizeof(uint32_t));
	x->rcap = n + 1;
	x->ready = xcalloc(x->rcap, sizeof(uint32_t));
	x->pids = xcalloc((size_t)jobs, sizeof(pid_t));
	x->slot_inst = xcalloc((size_t)jobs, sizeof(uint32_t));
	x->slot_comps = xcalloc((size_t)jobs, sizeof(struct buf));
	x->unfit_epoch = xcalloc(x->p->g->ngroups + 1, sizeof(uint32_t));
	for (size_t gi = 0; gi < x->p->g->ngroups; gi++)
		x->nselected += x->p->g->groups[gi].selected;
}

static void exec_free(struct exec *x, size_t n, long jobs)
{
	for (size_t id = 0; id < n; id++)
		free(x->down[id]);
	free(x->down);
	free(x->ndown);
	free(x->status);
	free(x->waiting);
	free(x->ready);
	free(x->held_ids);
	free(x->pids);
	free(x->slot_inst);
	for (long s = 0; s < jobs; s++)
		buf_free(&x->slot_comps[s]);
	free(x->slot_comps);
	free(x->unfit_epoch);
	inst_work_free(&x->w);
	buf_free(&x->spec);
}

/* The jobs (every stale instance of the selected targets) and the edges
 * between them. Targets come upstream first, so an upstream's status is
 * known when its dependents are seen. */
static void exec_add_jobs(struct exec *x)
{
	struct graph *g = x->p->g;
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		struct tgroup *tg = &g->groups[gi];
		if (!tg->selected)
			continue;
		for (uint32_t k = 0; k < tg->n; k++) {
			uint32_t id = tg->first + k;
			struct instance *i = &g->inst[id];
			bool held = i->state == INST_RUNNING && watchable(x, i);
			if (!held && i->state != INST_STALE)
				continue;
			x->status[id] = held ? J_HELD : J_WAITING;
			x->held += held;
			if (held)
				hold_push(x, id);
			x->total += !held;
			/* every upstream instance, gathered ones included */
			for (size_t in = 0; in < tg->t->ninputs; in++)
			for (size_t j = 0, nu = graph_upstream_count(g, i, in); j < nu; j++) {
				uint32_t u = graph_upstream_at(g, i, in, j);
				if (u == NO_INSTANCE)
					continue;
				/* Any job of this build, ready or not: an upstream
				 * with nothing to wait for is ready at once, and its
				 * dependent must still wait for it to finish. */
				if (x->status[u] != J_IDLE) {
					add_down(x, u, id);
					x->waiting[id]++;
				} else if (g->inst[u].state == INST_RUNNING && !held) {
					x->status[id] = J_BLOCKED;
				}
			}
			if (held) {
				continue;
			} else if (x->status[id] == J_BLOCKED) {
				x->blocked++;
			} else if (x->waiting[id] == 0) {
				x->status[id] = J_READY;
				ready_push(x, id);
			}
		}
	}
	/* Blocked-at-start instances block their own dependents. */
	for (size_t id = 0; id < g->ninst; id++)
		if (x->status[id] == J_BLOCKED)
			block_down(x, (uint32_t)id, (uint32_t)id, NULL);
	x->blocked_held = x->blocked;
}

/* Start ready jobs while slots are free, in the order they became ready,
 * each only when it fits beside the running ones (those that do not fit
 * wait for their turn, in order). */
static void start_ready(struct exec *x)
{
	const struct build_opts *o = x->o;
	size_t keep = x->rhead, k = x->rhead, unfit = 0;
	/* Within one pass what did not fit stays so (only more gets used):
	 * a target is asked once, and once every selected target is known
	 * not to fit, the rest is not looked at. */
	x->epoch++;
	for (; k < x->rtail && x->running < (size_t)o->jobs; k++) {
		uint32_t id = x->ready[k];
		if (x->status[id] != J_READY)
			continue;
		uint32_t gi = x->p->g->inst[id].group;
		if (x->unfit_epoch[gi] == x->epoch || !fits(x, id)) {
			x->ready[keep++] = id;
			if (x->unfit_epoch[gi] != x->epoch) {
				x->unfit_epoch[gi] = x->epoch;
				if (++unfit == x->nselected) {
					k++;
					break;
				}
			}
			continue;
		}
		size_t slot = 0;
		while (x->pids[slot] > 0)
			slot++;
		if (launch(x, id, slot) < 0) {
			x->status[id] = J_FAILED;
			x->failed++;
			block_down(x, id, id, "failed");
			if (!o->keep_going) {
				k++;
				break;
			}
		} else {
			x->status[id] = J_RUNNING;
		}
	}
	/* what was not looked at stays, behind what did not fit */
	if (keep != k)
		memmove(x->ready + keep, x->ready + k, (x->rtail - k) * sizeof(*x->ready));
	x->rtail = keep + (x->rtail - k);
}

/* Instances that can never fit (a target needing more vcpus or memory
 * than the build may use) fail before anything starts: one line per
 * target, naming what it needs, what there is and how to say otherwise. */
static void fail_unfit(struct exec *x)
{
	struct graph *g = x->p->g;
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		const struct tgroup *tg = &g->groups[gi];
		const struct target *t = tg->t;
		bool cores = t->vcpus > x->cores, mem = t->memory_mib > x->memory_mib;
		if (!tg->selected || (!cores && !mem))
			continue;
		size_t n = 0;
		for (uint32_t k = 0; k < tg->n; k++) {
			uint32_t id = tg->first + k;
			if (x->status[id] != J_WAITING && x->status[id] != J_READY)
				continue;
			x->status[id] = J_FAILED;
			x->failed++;
			n++;
			block_down(x, id, id, "failed");
		}
		if (!n)
			continue;
		if (x->tty)
			fputs("\r\033[K", stderr);
		if (mem)
			warn("%s: needs %ld MiB of memory and %s %ld MiB: %zu instance%s not built "
			     "(--memory SIZE sets how much the build may use)",
			     t->name, t->memory_mib, x->o->memory_mib ? "--memory gives" : "this machine has",
			     x->memory_mib, n, n == 1 ? "" : "s");
		if (cores)
			warn("%s: needs %ld vcpus and %s %ld: %zu instance%s not built "
			     "(--cores N sets how many the build may use)",
			     t->name, t->vcpus, x->o->cores ? "--cores gives" : "this machine has", x->cores, n,
			     n == 1 ? "" : "s");
	}
}

/* A runner ended: its slot is free, its job done or failed, and the key
 * of what it built is remembered for --explain. */
static void reap(struct exec *x, pid_t pid, int ws)
{
	struct plan *p = x->p;
	for (long s = 0; s < x->o->jobs; s++) {
		if (x->pids[s] != pid)
			continue;
		x->pids[s] = 0;
		x->running--;
		uint32_t id = x->slot_inst[s];
		x->used_cores -= need_cores(x, id);
		x->used_mib -= need_mib(x, id);
		finish(x, id, ws);
		if (x->status[id] == J_DONE && p->st) {
			char key[33];
			plan_key_hex(&p->g->inst[id], key);
			state_put(p->st, STATE_COMP, key, 32, x->slot_comps[s].data, x->slot_comps[s].len);
		}
		return;
	}
}

/* A held instance failed in the other build: say so, with its reason. */
static void held_failed(struct exec *x, uint32_t id)
{
	const struct graph *g = x->p->g;
	const struct instance *i = &g->inst[id];
	const struct target *t = g->groups[i->group].t;
	const char *vals[RULES_MAX_WILDCARDS];
	for (size_t k = 0; k < t->nwildcards; k++)
		vals[k] = graph_value(g, i, k);
	char key[33];
	plan_key_hex(i, key);
	struct sentinel_body *b = store_body(plan_store(x->p, i), t->name, vals, t->nwildcards, key,
					     SENT_FAILED);
	struct buf n = {0};
	graph_name(g, i, &n);
	if (x->tty)
		fputs("\r\033[K", stderr);
	if (b && b->reason && b->reason[0])
		warn("%s failed in another build: %s", n.data, b->reason);
	else
		warn("%s failed in another build", n.data);
	buf_free(&n);
	sentinel_body_free(b);
}

/* Look at every held instance once: built there (its dependents are
 * released), failed there (blocked), or no longer held by a live runner
 * (interrupted, or its sentinels gone: this build runs it). One whose
 * sentinels cannot be read counts as failed (reported). 1 when any
 * changed, 0 when none did. */
static int poll_held(struct exec *x)
{
	struct graph *g = x->p->g;
	int changed = 0;
	size_t keep = 0;
	for (size_t h = 0; h < x->nheld_ids; h++) {
		uint32_t id = x->held_ids[h];
		if (x->status[id] != J_HELD)
			continue;
		struct instance *i = &g->inst[id];
		struct lookup lk;
		int r = lookup_now(x, i, &lk);
		if (r == 0 && lk.state == LK_RUNNING) {
			x->held_ids[keep++] = id;
			continue;
		}
		changed = 1;
		x->held--;
		if (r < 0) { /* cannot be watched (reported): not built here */
			x->status[id] = J_FAILED;
			x->failed++;
			x->total++;
			block_down(x, id, id, "failed");
			continue;
		}
		switch (lk.state) {
		case LK_OK:
			x->status[id] = J_DONE;
			x->held_ok++;
			i->state = INST_OK;
			release_down(x, id);
			break;
		case LK_FAILED:
			x->status[id] = J_FAILED;
			x->held_failed++;
			held_failed(x, id);
			block_down(x, id, id, "failed");
			break;
		default: /* this build runs it, once its own upstream is built */
			i->state = INST_STALE;
			x->total++;
			if (x->waiting[id]) {
				x->status[id] = J_WAITING;
			} else {
				x->status[id] = J_READY;
				ready_push(x, id);
			}
			break;
		}
	}
	x->nheld_ids = keep;
	return changed;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run jobs until none is running and none can start. 0, or -1 when
 * waiting for runners failed. *stopping: a signal asked us to stop. */
static int run_jobs(struct exec *x, bool *stopping)
{
	const struct build_opts *o = x->o;
	int wait_ms = HOLD_POLL_MIN_MS;
	int64_t next_poll = 0;
	*stopping = false;
	for (;;) {
		if (g_stop_signal && !*stopping) {
			*stopping = true;
			warn("stopping on signal %d; waiting for %zu runner%s", (int)g_stop_signal,
			     x->running, x->running == 1 ? "" : "s");
			/* The same signal: a Ctrl-C that reached the runners
			 * too is recorded as one signal, not two. */
			for (long s = 0; s < o->jobs; s++)
				if (x->pids[s] > 0)
					kill(x->pids[s], (int)g_stop_signal);
		}
		bool going = !*stopping && (o->keep_going || (x->failed + x->held_failed + x->interrupted) == 0);
		if (going)
			start_ready(x);
		bool watch = going && x->held;
		if (x->running == 0 && !watch)
			return 0;
		int ws;
		pid_t pid = waitpid(-1, &ws, watch ? WNOHANG : 0);
		if (pid < 0 && errno != EINTR && !(watch && errno == ECHILD)) {
			warn("cannot wait for runners: %s", strerror(errno));
			return -1;
		}
		if (pid > 0) {
			reap(x, pid, ws);
			continue;
		}
		if (!watch)
			continue;
		/* At most one look every wait_ms, however often runners end. */
		int64_t now = mono_ms();
		if (now >= next_poll) {
			wait_ms = poll_held(x) ? HOLD_POLL_MIN_MS
					       : (wait_ms * 2 > HOLD_POLL_MAX_MS ? HOLD_POLL_MAX_MS : wait_ms * 2);
			next_poll = now + wait_ms;
			continue;
		}
		/* A runner ending interrupts the sleep (on_child). */
		int64_t left = next_poll - now;
		struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* The summary line. 0 when everything was built (here or by another
 * build), 128 + the signal when one stopped the build, else 1. */
static int report(const struct exec *x, bool stopping)
{
	if (x->tty)
		fputs("\r\033[K", stderr);
	size_t not_run = x->total - x->built - x->failed - x->busy - x->blocked - x->interrupted;
	if (!x->failed && !x->busy && !x->blocked && !not_run && !x->held && !x->held_failed &&
	    !x->interrupted && !stopping) {
		if (x->held_ok && !x->built)
			fprintf(stderr, "rapid: %zu instance%s built by another build\n", x->held_ok,
				x->held_ok == 1 ? "" : "s");
		else if (x->held_ok)
			fprintf(stderr, "rapid: built %zu instance%s; %zu built by another build\n", x->built,
				x->built == 1 ? "" : "s", x->held_ok);
		else
			fprintf(stderr, "rapid: built %zu instance%s\n", x->built, x->built == 1 ? "" : "s");
		return 0;
	}
	struct buf b = {0};
	buf_printf(&b, "built %zu of %zu", x->built, x->total);
	if (x->failed)
		buf_printf(&b, "; %zu failed", x->failed);
	if (x->interrupted)
		buf_printf(&b, "; %zu interrupted", x->interrupted);
	if (x->held_ok)
		buf_printf(&b, "; %zu built by another build", x->held_ok);
	if (x->held_failed)
		buf_printf(&b, "; %zu failed in another build", x->held_failed);
	if (x->busy || x->held)
		buf_printf(&b, "; %zu running in another build", x->busy + x->held);
	if (x->blocked_held)
		buf_printf(&b, "; %zu not built: upstream running in another build", x->blocked_held);
	if (x->blocked_interrupted)
		buf_printf(&b, "; %zu not built: upstream interrupted", x->blocked_interrupted);
	if (x->blocked > x->blocked_held + x->blocked_interrupted)
		buf_printf(&b, "; %zu not built: upstream failed",
			   x->blocked - x->blocked_held - x->blocked_interrupted);
	if (not_run)
		buf_printf(&b, "; %zu not started", not_run);
	warn("%s", b.data);
	buf_free(&b);
	return stopping ? 128 + (int)g_stop_signal : 1;
}

int exec_local(struct plan *p, const struct build_opts *o)
{
	struct exec x = {.p = p, .o = o};
	size_t n = p->g->ninst;
	x.tty = isatty(2);
	struct winsize ws;
	if (x.tty && ioctl(2, TIOCGWINSZ, &ws) == 0)
		x.cols = ws.ws_col;
	x.start_ms = mono_ms();
	x.cores = o->cores > 0 ? o->cores : exec_machine_cores();
	x.memory_mib = o->memory_mib > 0 ? o->memory_mib : exec_machine_memory_mib();
	if (x.memory_mib <= 0)
		x.memory_mib = LONG_MAX / 2; /* unknown: not a limit */
	exec_alloc(&x, n, o->jobs);
	exec_add_jobs(&x);
	fail_unfit(&x);

	struct sigaction sa = {0}, sc = {0}, old_int, old_term, old_hup, old_chld;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sc.sa_handler = on_child;
	sc.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sc.sa_mask);
	sigaction(SIGCHLD, &sc, &old_chld);
	g_stop_signal = 0;

	bool stopping;
	int ret = run_jobs(&x, &stopping) < 0 ? -1 : report(&x, stopping);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	exec_free(&x, n, o->jobs);
	return ret;
}
