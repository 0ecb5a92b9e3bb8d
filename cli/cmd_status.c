/* cmd_status.c - `rapid status`: what the sentinels say of the instances
 * of the current plan, per target: instances by state, and the failures
 * grouped by reason with a few examples each. It plans first (keys from
 * the cached fingerprints, as `rapid plan`), so that a sentinel counts
 * only when its instance is in the Rapidfile now and its key is the
 * instance's current one; the others are counted on one line. Local or
 * S3 alike: the plan's own store answers (one listing per 1,000 sentinels
 * on S3, one read per failed sentinel). */
#include "cli/args.h"
#include "cli/cmd.h"
#include "cli/session.h"
#include "engine/graph.h"
#include "engine/plan.h"
#include "engine/store.h"
#include "engine/submit.h"
#include "aws/batch.h"
#include "lib/util.h"
#include "aws/s3.h"
#include "engine/cloud.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXAMPLES 5 /* failures shown per reason (as plan shows instances) */

enum { ST_N = SCAN_INTERRUPTED + 1 };
static const char *const st_names[ST_N] = {"ok", "failed", "running", "interrupted"};

/* The failures that share one reason. */
struct reason {
	char *text;        /* printable */
	size_t n;
	struct buf lines;  /* the first EXAMPLES, one "    w=v  (log: …)\n" each */
};

/* An instance of the plan, by its description ("p=a q=b"). */
struct named {
	char *name;
	uint32_t id;
};

struct tstatus {
	const struct plan *p;
	const struct tgroup *tg;
	struct store *store;
	struct named *by_name;   /* sorted by name */
	size_t n;
	size_t count[ST_N];
	size_t stale;            /* sentinels not of the current plan */
	size_t batch_failed;     /* children Batch failed without a sentinel */
	bool tails;              /* show the end of the first log of each reason */
	struct reason *reasons;  /* in order of first appearance */
	size_t nreasons;
	struct buf name;         /* scratch */
	struct buf json_failures; /* JSON objects, comma-separated */
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static void index_instances(struct tstatus *ts)
{
	const struct graph *g = ts->p->g;
	ts->n = ts->tg->n;
	ts->by_name = xcalloc(ts->n + 1, sizeof(*ts->by_name));
	struct buf b = {0};
	for (uint32_t k = 0; k < ts->tg->n; k++) {
		buf_reset(&b);
		graph_describe(g, &g->inst[ts->tg->first + k], &b);
		ts->by_name[k].name = xstrdup(b.data ? b.data : "");
		ts->by_name[k].id = ts->tg->first + k;
	}
	buf_free(&b);
	qsort(ts->by_name, ts->n, sizeof(*ts->by_name), cmp_named);
}

/* The instance of the plan the sentinel e is of, when its key is the
 * instance's current key; NULL when it is of another. */
static const struct instance *current(struct tstatus *ts, const struct scan_entry *e)
{
	const struct target *t = ts->tg->t;
	buf_reset(&ts->name);
	for (size_t k = 0; k < e->nvalues; k++)
		buf_printf(&ts->name, "%s%s=%s", k ? " " : "", t->wildcards[k].name, e->values[k]);
	struct named want = {.name = ts->name.data ? ts->name.data : (char *)""};
	const struct named *f = bsearch(&want, ts->by_name, ts->n, sizeof(*ts->by_name), cmp_named);
	if (!f)
		return NULL;
	const struct instance *i = &ts->p->g->inst[f->id];
	if (i->state == INST_SKIPPED || i->state == INST_UNKNOWN)
		return NULL; /* no current key */
	char key[33];
	plan_key_hex(i, key);
	return strcmp(key, e->key) ? NULL : i;
}

/* How a failure ended, said once: "exit status 3", "exit status 3: out
 * of memory", "killed by signal 9", the runner's own reason when it
 * already says how the recipe ended, or "no details". Printable. */
static void failure_text(const struct sentinel_body *b, struct buf *out)
{
	const char *why = b ? b->reason : NULL;
	bool said = why && (strstr(why, "exit status") || strstr(why, "signal"));
	if (b && b->has_exit_code && !said)
		buf_printf(out, "exit status %d", b->exit_code);
	else if (b && b->signal > 0 && !said)
		buf_printf(out, "killed by signal %d", b->signal);
	if (why && why[0]) {
		buf_puts(out, out->len ? ": " : "");
		buf_put_printable(out, why);
	}
	if (!out->len)
		buf_puts(out, "no details");
}

/* The group of failures whose text is why (made when new). */
static struct reason *reason_for(struct tstatus *ts, struct buf *why)
{
	for (size_t k = 0; k < ts->nreasons; k++)
		if (!strcmp(ts->reasons[k].text, why->data))
			return &ts->reasons[k];
	ts->reasons = xreallocarray(ts->reasons, ts->nreasons + 1, sizeof(*ts->reasons));
	struct reason *r = &ts->reasons[ts->nreasons++];
	memset(r, 0, sizeof(*r));
	r->text = buf_detach(why);
	return r;
}

#define TAIL_BYTES 2048
#define TAIL_LINES 5

/* The last TAIL_BYTES of a log (a local path or s3:// URI; one HEAD and
 * one ranged GET) into out; nothing when it cannot be read. */
static void read_tail(const char *log, struct buf *out)
{
	if (uri_is_s3(log)) {
		struct s3_client *c = cloud_s3();
		char *bucket = NULL, *key = NULL;
		if (!c || s3_uri_split(log, &bucket, &key) < 0) {
			free(bucket);
			free(key);
			return;
		}
		struct s3_op op = {.kind = S3_HEAD, .bucket = bucket, .key = key};
		if (s3_run(c, &op, 1) == 0 && op.found && op.size) {
			uint64_t size = op.size;
			s3_op_free(&op);
			op = (struct s3_op){.kind = S3_GET, .bucket = bucket, .key = key,
					    .range_start = size > TAIL_BYTES ? size - TAIL_BYTES : 0,
					    .range_len = size > TAIL_BYTES ? TAIL_BYTES : size};
			if (s3_run(c, &op, 1) == 0 && op.found)
				buf_putn(out, op.body_out.data ? op.body_out.data : "", op.body_out.len);
		}
		s3_op_free(&op);
		free(bucket);
		free(key);
		return;
	}
	int fd = open(log, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		char b[TAIL_BYTES];
		off_t from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
		ssize_t n = pread(fd, b, sizeof b, from);
		if (n > 0)
			buf_putn(out, b, (size_t)n);
	}
	close(fd);
}

/* The last TAIL_LINES lines of log, each "      | line\n", printable. */
static void put_tail(struct buf *out, const char *log)
{
	struct buf t = {0};
	read_tail(log, &t);
	size_t end = t.len;
	while (end && t.data[end - 1] == '\n')
		end--;
	size_t start = end;
	for (int lines = 0; start && lines < TAIL_LINES; start--)
		if (t.data[start - 1] == '\n' && ++lines == TAIL_LINES)
			break;
	for (size_t a = start; a < end;) {
		size_t b = a;
		while (b < end && t.data[b] != '\n')
			b++;
		char *line = xstrndup(t.data + a, b - a);
		buf_puts(out, "      | ");
		buf_put_printable(out, line);
		buf_putc(out, '\n');
		free(line);
		a = b + 1;
	}
	buf_free(&t);
}

static void failure(struct tstatus *ts, const struct scan_entry *e)
{
	const struct target *t = ts->tg->t;
	struct sentinel_body *b = store_body(ts->store, t->name, e->values, e->nvalues, e->key, SENT_FAILED);
	const char *log = b ? b->log : NULL;
	struct buf why = {0};
	failure_text(b, &why);
	struct reason *r = reason_for(ts, &why);
	if (r->n++ < EXAMPLES) {
		/* The values come from the sentinel tree's folder names:
		 * printable only. */
		buf_puts(&r->lines, "    ");
		for (size_t k = 0; k < e->nvalues; k++) {
			buf_printf(&r->lines, "%s%s=", k ? " " : "", t->wildcards[k].name);
			buf_put_printable(&r->lines, e->values[k]);
		}
		if (!e->nvalues)
			buf_puts(&r->lines, t->name);
		if (log) {
			buf_puts(&r->lines, "  (log: ");
			buf_put_printable(&r->lines, log);
			buf_putc(&r->lines, ')');
		}
		buf_putc(&r->lines, '\n');
		/* the first of each reason: how its log ends */
		if (log && r->n == 1 && ts->tails)
			put_tail(&r->lines, log);
	}
	buf_free(&why);

	if (ts->json_failures.len)
		buf_putc(&ts->json_failures, ',');
	buf_puts(&ts->json_failures, "{\"wildcards\":{");
	for (size_t k = 0; k < e->nvalues; k++) {
		if (k)
			buf_putc(&ts->json_failures, ',');
		buf_put_json_str(&ts->json_failures, t->wildcards[k].name);
		buf_putc(&ts->json_failures, ':');
		buf_put_json_str(&ts->json_failures, e->values[k]);
	}
	buf_printf(&ts->json_failures, "},\"key\":\"%s\"", e->key);
	if (b && b->has_exit_code)
		buf_printf(&ts->json_failures, ",\"exit_code\":%d", b->exit_code);
	buf_puts(&ts->json_failures, ",\"reason\":");
	buf_put_json_str(&ts->json_failures, b && b->reason ? b->reason : "");
	buf_puts(&ts->json_failures, ",\"log\":");
	if (log)
		buf_put_json_str(&ts->json_failures, log);
	else
		buf_puts(&ts->json_failures, "null");
	buf_putc(&ts->json_failures, '}');
	sentinel_body_free(b);
}

/* A child Batch failed without its runner saying why (a reclaimed host,
 * a container killed for memory, an image that cannot be pulled): its
 * runner wrote no failed sentinel, so Batch's reason is the one. A child
 * whose recipe failed is counted by its failed sentinels instead. */
static void batch_failure(void *ctx, const struct plan_job *j, const struct failed_child *c)
{
	struct tstatus *ts = ctx;
	bool by_runner = c->has_exit_code && c->exit_code != 0 &&
			 (!c->container_reason || !strncmp(c->container_reason, "Essential container", 19));
	if (by_runner)
		return;
	struct buf why = {0};
	buf_puts(&why, "in Batch: ");
	buf_put_printable(&why, c->reason && *c->reason ? c->reason : "no reason given");
	if (c->container_reason && *c->container_reason) {
		buf_puts(&why, "; ");
		buf_put_printable(&why, c->container_reason);
	}
	if (c->has_exit_code)
		buf_printf(&why, " (exit code %d)", c->exit_code);
	struct reason *r = reason_for(ts, &why);
	buf_free(&why);
	ts->batch_failed++;
	if (r->n++ < EXAMPLES) {
		buf_puts(&r->lines, "    ");
		buf_puts(&r->lines, c->participant ? "participant " : "");
		buf_put_printable(&r->lines, c->participant ? c->participant : ts->tg->t->name);
		buf_puts(&r->lines, "  (job ");
		buf_put_printable(&r->lines, c->job_id ? c->job_id : j->job_id);
		if (c->log_stream) {
			buf_puts(&r->lines, ", log stream ");
			buf_put_printable(&r->lines, c->log_stream);
		}
		buf_puts(&r->lines, ")\n");
	}
}

static int on_instance(void *ctx, const struct scan_entry *e)
{
	struct tstatus *ts = ctx;
	if (!current(ts, e)) {
		ts->stale++;
		return 0;
	}
	ts->count[e->state]++;
	if (e->state == SCAN_FAILED)
		failure(ts, e);
	return 0;
}

static void tstatus_free(struct tstatus *ts)
{
	for (size_t k = 0; k < ts->n; k++)
		free(ts->by_name[k].name);
	free(ts->by_name);
	for (size_t k = 0; k < ts->nreasons; k++) {
		free(ts->reasons[k].text);
		buf_free(&ts->reasons[k].lines);
	}
	free(ts->reasons);
	buf_free(&ts->name);
	buf_free(&ts->json_failures);
}

static void print_text(struct buf *out, const struct tstatus *ts)
{
	buf_printf(out, "%s:", ts->tg->t->name);
	for (int k = 0; k < ST_N; k++)
		buf_printf(out, "%s %zu %s", k ? "," : "", ts->count[k], st_names[k]);
	if (ts->batch_failed)
		buf_printf(out, "; %zu child%s failed in Batch", ts->batch_failed, ts->batch_failed == 1 ? "" : "ren");
	buf_putc(out, '\n');
	for (size_t k = 0; k < ts->nreasons; k++) {
		const struct reason *r = &ts->reasons[k];
		bool child = !strncmp(r->text, "in Batch: ", 10);
		buf_printf(out, "  failed (%s): %zu %s%s\n", r->text, r->n, child ? "child" : "instance",
			   r->n == 1 ? "" : child ? "ren" : "s");
		buf_puts(out, r->lines.data);
		if (r->n > EXAMPLES)
			buf_printf(out, "    ... and %zu more\n", r->n - EXAMPLES);
	}
}

/* The children of job j by Batch state: "3 SUCCEEDED, 1 RUNNING". */
static void put_summary(struct buf *out, const struct plan_job *j)
{
	bool first = true;
	for (int k = BATCH_NSTATES - 1; k >= 0; k--) {
		if (!j->summary[k])
			continue;
		buf_printf(out, "%s%zu %s", first ? "" : ", ", j->summary[k], batch_state_name((enum batch_state)k));
		first = false;
	}
}

/* The open submissions' jobs, a line each. */
static void jobs_text(struct buf *out, const struct plan *p)
{
	const char *last = NULL;
	for (size_t k = 0; k < p->njobs; k++) {
		const struct plan_job *j = &p->jobs[k];
		if (!last || strcmp(last, j->submission))
			buf_printf(out, "submission %s:\n", j->submission);
		last = j->submission;
		buf_printf(out, "  %s chunk %s: %s", j->target, j->chunk, batch_state_name((enum batch_state)j->state));
		if (j->size) {
			buf_printf(out, ", array of %zu: ", j->size);
			put_summary(out, j);
		}
		buf_printf(out, " (job %s)\n", j->job_id);
		if (j->reason && !j->alive) {
			buf_puts(out, "    ");
			buf_put_printable(out, j->reason);
			buf_putc(out, '\n');
		}
	}
}

static void jobs_json(struct buf *out, const struct plan *p)
{
	for (size_t k = 0; k < p->njobs; k++) {
		const struct plan_job *j = &p->jobs[k];
		buf_puts(out, k ? ",{\"submission\":" : "{\"submission\":");
		buf_put_json_str(out, j->submission);
		buf_puts(out, ",\"target\":");
		buf_put_json_str(out, j->target);
		buf_puts(out, ",\"chunk\":");
		buf_put_json_str(out, j->chunk);
		buf_puts(out, ",\"job_id\":");
		buf_put_json_str(out, j->job_id);
		buf_puts(out, ",\"job_name\":");
		buf_put_json_str(out, j->job_name);
		buf_printf(out, ",\"state\":\"%s\",\"size\":%zu,\"children\":{",
			   batch_state_name((enum batch_state)j->state), j->size);
		for (int s = 0; s < BATCH_NSTATES; s++)
			buf_printf(out, "%s\"%s\":%zu", s ? "," : "", batch_state_name((enum batch_state)s), j->summary[s]);
		buf_puts(out, "}}");
	}
}

/* One look at every selected target. 0, or -1 after printing why;
 * *running: how many instances a live runner holds. */
static int status_once(struct session *s, bool json, size_t *running)
{
	struct plan_opts po = {.no_failed_bodies = true};
	struct plan *p = plan_new(s->g, s->st, &po);
	struct buf out = {0};
	size_t stale = 0;
	int ret = 0;
	*running = 0;
	if (!p)
		return -1;
	if (json)
		buf_puts(&out, "{\"schema\":1,\"targets\":[");
	bool first = true;
	for (size_t gi = 0; gi < s->g->ngroups && ret == 0; gi++) {
		const struct tgroup *tg = &s->g->groups[gi];
		if (!tg->selected)
			continue;
		struct tstatus ts = {.p = p, .tg = tg, .store = p->stores[gi], .tails = !json};
		index_instances(&ts);
		if (!ts.store || store_scan(ts.store, tg->t->name, tg->t->nwildcards, on_instance, &ts) < 0)
			ret = -1;
		for (size_t k = 0; k < p->njobs && ret == 0; k++)
			if (!strcmp(p->jobs[k].target, tg->t->name) &&
			    submit_failed_children(p, &p->jobs[k], batch_failure, &ts) < 0)
				ret = -1;
		*running += ts.count[SCAN_RUNNING];
		stale += ts.stale;
		if (json) {
			buf_puts(&out, first ? "{\"name\":" : ",{\"name\":");
			buf_put_json_str(&out, tg->t->name);
			buf_puts(&out, ",\"counts\":{");
			for (int k = 0; k < ST_N; k++)
				buf_printf(&out, "%s\"%s\":%zu", k ? "," : "", st_names[k], ts.count[k]);
			buf_printf(&out, "},\"stale_sentinels\":%zu,\"failures\":[%s]}", ts.stale,
				   ts.json_failures.data ? ts.json_failures.data : "");
		} else {
			print_text(&out, &ts);
		}
		first = false;
		tstatus_free(&ts);
	}
	if (json) {
		buf_puts(&out, "],\"submissions\":[");
		jobs_json(&out, p);
		buf_puts(&out, "]}\n");
	} else {
		jobs_text(&out, p);
	}
	for (size_t k = 0; k < p->njobs; k++)
		*running += p->jobs[k].alive;
	if (!json && stale)
		buf_printf(&out, "not counted: %zu sentinel%s of older keys or of instances no longer in the Rapidfile\n",
			   stale, stale == 1 ? "" : "s");
	if (ret == 0 && out.len) /* a Rapidfile without targets prints nothing */
		fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	buf_free(&out);
	plan_free(p);
	return ret;
}

enum { O_WATCH = 1, O_JSON };

const struct cli_option status_options[] = {
	{O_WATCH, 0, "watch", NULL, "repeat every 2 s while anything runs"},
	{O_JSON, 0, "json", NULL, "print the counts and failures as JSON (schema 1, docs/cli.md)"},
	{0},
};

int cmd_status(int argc, char **argv)
{
	struct session s = {0};
	struct cli_args a;
	bool json = false, watch = false;
	int ret = 1;
	cli_args_init(&a, "status", argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		switch (o) {
		case O_JSON: json = true; break;
		case O_WATCH: watch = true; break;
		case CLI_WORD: session_arg(&s, a.value); break;
		default:
			ret = o == CLI_HELP ? 0 : 2;
			goto out;
		}
	}
	if (session_open(&s, true, true) < 0)
		goto out;
	for (;;) {
		size_t running;
		if (watch && isatty(1))
			fputs("\033[H\033[2J", stdout);
		if (status_once(&s, json, &running) < 0)
			goto out;
		if (!watch || running == 0)
			break;
		sleep(2);
	}
	ret = 0;
out:
	session_close(&s);
	return ret;
}
