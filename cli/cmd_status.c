/* cmd_status.c - `rapid status`: what the sentinels say, per target:
 * instances by state, and each failure with its reason and log. It asks
 * only the store (no inputs, no keys), local or S3 alike: `rapid plan`
 * says what is stale. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/graph.h"
#include "engine/store.h"
#include "cli/session.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ST_N = SCAN_INTERRUPTED + 1 };
static const char *const st_names[ST_N] = {"ok", "failed", "running", "interrupted"};

struct tstatus {
	const struct target *t;
	struct store *store;
	size_t count[ST_N];
	struct buf failures;      /* text lines */
	struct buf json_failures; /* JSON objects, comma-separated */
};

static void failure(struct tstatus *ts, const struct scan_entry *e)
{
	const struct target *t = ts->t;
	struct sentinel_body *b = store_body(ts->store, t->name, e->values, e->nvalues, e->key, SENT_FAILED);
	bool has_ec = b && b->has_exit_code;
	const char *why = b ? b->reason : NULL, *log = b ? b->log : NULL;
	struct buf w = {0};
	/* Everything here but the target's names comes from the sentinel
	 * tree (folder names, bodies): printable only (buf_put_printable). */
	for (size_t k = 0; k < e->nvalues; k++) {
		buf_printf(&w, "%s%s=", k ? " " : "", t->wildcards[k].name);
		buf_put_printable(&w, e->values[k]);
	}
	buf_printf(&ts->failures, "  failed %s:", w.len ? w.data : t->name);
	/* the runner's reason may already say how the recipe ended */
	bool said = why && (strstr(why, "exit status") || strstr(why, "signal"));
	if (has_ec && !said)
		buf_printf(&ts->failures, " exit status %d", b->exit_code);
	if (why && why[0]) {
		buf_puts(&ts->failures, has_ec && !said ? ": " : " ");
		buf_put_printable(&ts->failures, why);
	}
	if (log) {
		buf_puts(&ts->failures, " (log: ");
		buf_put_printable(&ts->failures, log);
		buf_putc(&ts->failures, ')');
	}
	buf_putc(&ts->failures, '\n');

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
	if (has_ec)
		buf_printf(&ts->json_failures, ",\"exit_code\":%d", b->exit_code);
	buf_puts(&ts->json_failures, ",\"reason\":");
	buf_put_json_str(&ts->json_failures, why ? why : "");
	buf_puts(&ts->json_failures, ",\"log\":");
	if (log)
		buf_put_json_str(&ts->json_failures, log);
	else
		buf_puts(&ts->json_failures, "null");
	buf_putc(&ts->json_failures, '}');
	buf_free(&w);
	sentinel_body_free(b);
}

static int on_instance(void *ctx, const struct scan_entry *e)
{
	struct tstatus *ts = ctx;
	ts->count[e->state]++;
	if (e->state == SCAN_FAILED)
		failure(ts, e);
	return 0;
}

static int status_once(struct session *s, bool json, size_t *running)
{
	struct rapidfile *rf = s->rf;
	struct buf out = {0};
	int ret = 0;
	*running = 0;
	if (json)
		buf_puts(&out, "{\"schema\":1,\"targets\":[");
	for (size_t ti = 0; ti < rf->ntargets; ti++) {
		const struct target *t = rf->targets[ti];
		struct tstatus ts = {.t = t};
		char *root = uri_is_s3(t->root) ? xstrdup(t->root) : path_join(rf->dir, t->root);
		ts.store = store_open(root);
		free(root);
		if (!ts.store || store_scan(ts.store, t->name, t->nwildcards, on_instance, &ts) < 0)
			ret = -1;
		store_close(ts.store);
		*running += ts.count[SCAN_RUNNING];
		if (json) {
			buf_puts(&out, ti ? ",{\"name\":" : "{\"name\":");
			buf_put_json_str(&out, t->name);
			buf_puts(&out, ",\"counts\":{");
			for (int k = 0; k < ST_N; k++)
				buf_printf(&out, "%s\"%s\":%zu", k ? "," : "", st_names[k], ts.count[k]);
			buf_printf(&out, "},\"failures\":[%s]}", ts.json_failures.data ? ts.json_failures.data : "");
		} else {
			buf_printf(&out, "%s:", t->name);
			for (int k = 0; k < ST_N; k++)
				buf_printf(&out, "%s %zu %s", k ? "," : "", ts.count[k], st_names[k]);
			buf_putc(&out, '\n');
			if (ts.failures.len)
				buf_puts(&out, ts.failures.data);
		}
		buf_free(&ts.failures);
		buf_free(&ts.json_failures);
	}
	if (json)
		buf_puts(&out, "]}\n");
	if (out.len) /* a Rapidfile without targets prints nothing */
		fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	buf_free(&out);
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
	if (session_open(&s, false, false) < 0)
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
