/* cmd_status.c - `rapid status`: what the sentinels say, per target:
 * instances by state, and each failure with its reason and log. It reads
 * only the store (no inputs, no keys): `rapid plan` says what is stale. */
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/graph.h"
#include "runner/sentinel.h"
#include "cli/session.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ST_OK, ST_FAILED, ST_RUNNING, ST_INTERRUPTED, ST_N };
static const char *const st_names[ST_N] = {"ok", "failed", "running", "interrupted"};

struct tstatus {
	size_t count[ST_N];
	struct buf failures;      /* text lines */
	struct buf json_failures; /* JSON objects, comma-separated */
};

static void failure(struct tstatus *ts, const char *dir, const char *key, char **vals,
		    const struct target *t, size_t depth)
{
	size_t len = 0;
	char *body = sentinel_read(dir, key, SENT_FAILED, &len);
	cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
	cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");
	cJSON *log = cJSON_GetObjectItemCaseSensitive(j, "log");
	struct buf w = {0};
	for (size_t k = 0; k < depth; k++)
		buf_printf(&w, "%s%s=%s", k ? " " : "", k < t->nwildcards ? t->wildcards[k].name : "?", vals[k]);
	buf_printf(&ts->failures, "  failed %s:", w.len ? w.data : t->name);
	if (cJSON_IsNumber(ec))
		buf_printf(&ts->failures, " exit status %d", ec->valueint);
	if (cJSON_IsString(why) && why->valuestring[0])
		buf_printf(&ts->failures, "%s %s", cJSON_IsNumber(ec) ? ":" : "", why->valuestring);
	if (cJSON_IsString(log))
		buf_printf(&ts->failures, " (log: %s)", log->valuestring);
	buf_putc(&ts->failures, '\n');

	if (ts->json_failures.len)
		buf_putc(&ts->json_failures, ',');
	buf_puts(&ts->json_failures, "{\"wildcards\":{");
	for (size_t k = 0; k < depth; k++) {
		if (k)
			buf_putc(&ts->json_failures, ',');
		buf_put_json_str(&ts->json_failures, k < t->nwildcards ? t->wildcards[k].name : "?");
		buf_putc(&ts->json_failures, ':');
		buf_put_json_str(&ts->json_failures, vals[k]);
	}
	buf_printf(&ts->json_failures, "},\"key\":\"%s\"", key);
	if (cJSON_IsNumber(ec))
		buf_printf(&ts->json_failures, ",\"exit_code\":%d", ec->valueint);
	buf_puts(&ts->json_failures, ",\"reason\":");
	buf_put_json_str(&ts->json_failures, cJSON_IsString(why) ? why->valuestring : "");
	buf_puts(&ts->json_failures, ",\"log\":");
	if (cJSON_IsString(log))
		buf_put_json_str(&ts->json_failures, log->valuestring);
	else
		buf_puts(&ts->json_failures, "null");
	buf_putc(&ts->json_failures, '}');
	buf_free(&w);
	cJSON_Delete(j);
	free(body);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk <dir> down to the instance folders (depth = number of wildcards). */
static int walk(struct tstatus *ts, const struct target *t, const char *dir, char **vals,
		size_t depth)
{
	if (depth == t->nwildcards) {
		struct sentinel_entry *e = NULL;
		size_t n = 0;
		if (sentinel_list(dir, &e, &n) < 0)
			return -1;
		if (n == 0)
			return 0;
		int st = -1;
		for (size_t i = 0; i < n && st < 0; i++) {
			if (e[i].state != SENT_RUNNING)
				continue;
			char *p = sentinel_path(dir, e[i].key, SENT_RUNNING);
			if (sentinel_running_live(p) == 1)
				st = ST_RUNNING;
			free(p);
		}
		if (st < 0)
			st = e[0].state == SENT_OK ? ST_OK : e[0].state == SENT_FAILED ? ST_FAILED : ST_INTERRUPTED;
		ts->count[st]++;
		if (st == ST_FAILED)
			failure(ts, dir, e[0].key, vals, t, depth);
		free(e);
		return 0;
	}
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		GROW(names, cap, nn + 1);
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(char *), cmp_names);
	int ret = 0;
	for (size_t i = 0; i < nn; i++) {
		vals[depth] = names[i];
		char *sub = xasprintf("%s%s/", dir, names[i]);
		if (walk(ts, t, sub, vals, depth + 1) < 0)
			ret = -1;
		free(sub);
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return ret;
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
		if (uri_is_s3(t->root)) {
			warn("target '%s': an s3:// output root needs the S3 backend, which this build of rapid lacks", t->name);
			ret = -1;
			continue;
		}
		struct tstatus ts = {0};
		char *root = path_join(rf->dir, t->root);
		char *dir = xasprintf("%s.rapid/sentinels/%s/", root, t->name);
		char **vals = xcalloc(t->nwildcards + 1, sizeof(char *));
		if (walk(&ts, t, dir, vals, 0) < 0)
			ret = -1;
		*running += ts.count[ST_RUNNING];
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
		free(vals);
		free(dir);
		free(root);
	}
	if (json)
		buf_puts(&out, "]}\n");
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
