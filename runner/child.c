/* child.c - `rapid runner --manifest` and `rapid runner --exec`, the
 * commands of Batch jobs (child.h): find the array child's
 * participant with as few requests as its cohort allows (two ranged GETs
 * of a manifest, one GET of an array file), then run or exec. */
#include "runner/child.h"
#include "aws/s3.h"
#include "lib/util.h"
#include "runner/manifest.h"
#include "runner/participants.h"
#include "runner/provenance.h"
#include "runner/runner.h"
#include "runner/spec.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An array file of participants is a few hundred KiB at most. */
#define MAX_ARRAY_FILE (64u << 20)
#define MAX_INDEX 999999999L

int runner_array_index(const char *arg, long *index, int *given, char **err)
{
	const char *from = "--index";
	const char *v = arg;
	if (!v) {
		v = getenv("AWS_BATCH_JOB_ARRAY_INDEX");
		from = "AWS_BATCH_JOB_ARRAY_INDEX";
	}
	*given = v != NULL;
	*index = 0;
	if (!v)
		return 0;
	size_t n = strlen(v);
	if (n == 0 || n > 9 || strspn(v, "0123456789") != n) {
		struct buf b = {0};
		buf_printf(&b, "%s '", from);
		buf_put_printable(&b, v);
		buf_printf(&b, "' is not an array index (a number from 0 to %ld)", MAX_INDEX);
		*err = buf_detach(&b);
		return -1;
	}
	*index = strtol(v, NULL, 10);
	return 0;
}

/* ---- S3 ---- */

static void report(const struct aws_error *e)
{
	char *m = aws_error_format(e);
	warn("%s", m);
	free(m);
}

static void on_notice(const struct aws_error *e, void *arg)
{
	(void)arg;
	report(e);
}

static struct s3_client *client_new(void)
{
	struct s3_client_config cfg = {.notice = on_notice};
	struct aws_error err = {0};
	struct s3_client *c = s3_client_new(&cfg, &err);
	if (!c) {
		if (!err.what)
			aws_error_what(&err, "use S3", NULL);
		report(&err);
	}
	aws_error_clear(&err);
	return c;
}

/* GET len bytes from start (len 0: the whole object) into op->body_out.
 * 0; 1 after a 416 (the range starts past the end); -1 after saying why
 * (a missing object included). */
static int get(struct s3_client *c, struct s3_op *op, const char *bucket, const char *key, uint64_t start,
	       uint64_t len)
{
	memset(op, 0, sizeof *op);
	op->kind = S3_GET;
	op->bucket = bucket;
	op->key = key;
	op->range_start = start;
	op->range_len = len;
	if (s3_run(c, op, 1) < 0) {
		if (op->error->status == 416)
			return 1;
		report(op->error);
		return -1;
	}
	if (!op->found) {
		warn("cannot get 's3://%s/%s': no such object", bucket, key);
		return -1;
	}
	return 0;
}

/* ---- --manifest ---- */

/* Where the participant's line is: 0 with *offset, *length, or -1 after
 * saying why. Exactly one GET on success (the record), two when the
 * index is past the end (the header, to say how many there are). */
static int read_record(struct s3_client *c, const char *bucket, const char *key, const char *what, long index,
		       uint64_t *offset, uint64_t *length)
{
	struct s3_op op;
	char *err = NULL;
	size_t count;
	int ret = -1;
	int g = get(c, &op, bucket, key, manifest_record_offset((size_t)index), MANIFEST_IDX_RECORD);
	if (g < 0)
		goto out;
	if (g == 0) {
		if (manifest_record_parse(op.body_out.data, op.body_out.len, (size_t)index, op.size, what, offset,
					  length, &count, &err) < 0)
			warn("%s", err);
		else
			ret = 0;
		goto out;
	}
	/* past the end: how far is the end? */
	s3_op_free(&op);
	if ((g = get(c, &op, bucket, key, 0, MANIFEST_IDX_RECORD)) != 0) {
		if (g > 0)
			warn("cannot read the header of '%s': the object is empty", what);
		goto out;
	}
	if (manifest_header_parse(op.body_out.data, op.body_out.len, what, &count, &err) < 0)
		warn("%s", err);
	else if ((size_t)index < count || op.size != manifest_record_offset(count))
		warn("cannot read index %ld of '%s': the index is truncated or corrupt (%" PRIu64
		     " bytes, where %zu participants take %" PRIu64 ")", index, what, op.size, count,
		     manifest_record_offset(count));
	else
		warn("index %ld is past the end of %s (%zu participant%s)", index, what, count, count == 1 ? "" : "s");
out:
	s3_op_free(&op);
	free(err);
	return ret;
}

/* The participant's line: 0 with *line, or -1 after saying why. One GET. */
static int read_line(struct s3_client *c, const char *bucket, const char *key, const char *what, long index,
		     uint64_t offset, uint64_t length, struct manifest_line *line)
{
	struct s3_op op;
	char *err = NULL;
	int ret = -1;
	int g = get(c, &op, bucket, key, offset, length);
	if (g > 0)
		warn("cannot read index %ld of '%s': its line (bytes %" PRIu64 "-%" PRIu64
		     ") is past the end of the object: the manifest is truncated or does not match its index",
		     index, what, offset, offset + length - 1);
	if (g != 0)
		goto out;
	if (op.body_out.len != length)
		warn("cannot read index %ld of '%s': the line is truncated (%zu of %" PRIu64 " bytes)", index, what,
		     op.body_out.len, length);
	else if (manifest_line_parse(op.body_out.data, op.body_out.len, (size_t)index, what, line, &err) < 0)
		warn("%s", err);
	else
		ret = 0;
out:
	s3_op_free(&op);
	free(err);
	return ret;
}

/* The manifest's line for index: 0, or -1 after saying why. */
static int fetch_line(const char *uri, long index, struct manifest_line *line, int *status)
{
	char *bucket = NULL, *key = NULL, *idx_uri = manifest_idx_uri(uri), *idx_key = NULL;
	struct s3_client *c = NULL;
	uint64_t offset, length;
	int ret = -1;
	*status = 1;
	if (!idx_uri || s3_uri_split(uri, &bucket, &key) < 0 || !*key) {
		warn("cannot read manifest '%s': it must be s3://BUCKET/KEY.jsonl, with manifest.idx beside it", uri);
		*status = 2;
		goto out;
	}
	idx_key = xasprintf("%.*s.idx", (int)(strlen(key) - strlen(".jsonl")), key);
	if (!(c = client_new()))
		goto out;
	if (read_record(c, bucket, idx_key, idx_uri, index, &offset, &length) < 0 ||
	    read_line(c, bucket, key, uri, index, offset, length, line) < 0)
		goto out;
	ret = 0;
out:
	s3_client_free(c);
	free(bucket);
	free(key);
	free(idx_key);
	free(idx_uri);
	return ret;
}

static const char *outcome(int rc, char *tmp, size_t n)
{
	if (rc == 0)
		return "ok";
	if (rc == RUNNER_EXIT_BUSY)
		return "held by another runner, which finishes it";
	if (rc == 2)
		return "failed (a bad spec)";
	if (rc > 128)
		snprintf(tmp, n, "interrupted by signal %d", rc - 128);
	else
		snprintf(tmp, n, "failed");
	return tmp;
}

/* What a child's instances came to. */
struct tally {
	const struct manifest_line *line;
	size_t ok, busy, failed;
	int ret;
};

static void on_done(void *arg, size_t i, int rc)
{
	struct tally *t = arg;
	char *label = NULL, *why = NULL, tmp[64];
	struct spec *s = spec_parse(t->line->specs[i], strlen(t->line->specs[i]), &why);
	if (s)
		label = spec_label(s);
	spec_free(s);
	free(why);
	warn("participant %s: instance %zu of %zu (%s): %s", t->line->participant, i + 1, t->line->nspecs,
	     label ? label : "?", outcome(rc, tmp, sizeof tmp));
	free(label);
	if (rc == 0)
		t->ok++;
	else if (rc == RUNNER_EXIT_BUSY)
		t->busy++;
	else
		t->failed++;
	if (rc > 128)
		t->ret = rc;
	else if (rc != 0 && rc != RUNNER_EXIT_BUSY && t->ret <= 128)
		t->ret = 1;
}

int runner_run_manifest(const char *uri, long index, int given)
{
	struct manifest_line line = {0};
	int status;
	if (fetch_line(uri, index, &line, &status) < 0)
		return status;

	struct runner_provenance pv;
	struct buf notes = {0};
	runner_provenance_collect(&pv, given ? index : -1, &notes);
	runner_provenance_set(&pv);
	runner_provenance_clear(&pv);
	for (char *p = notes.data, *nl; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = 0;
		warn("note: %s", p);
	}
	buf_free(&notes);

	struct tally t = {.line = &line};
	const char **whats = xcalloc(line.nspecs + 1, sizeof(char *));
	size_t *lens = xcalloc(line.nspecs + 1, sizeof(size_t));
	warn("participant %s (index %ld of %s): %zu instance%s", line.participant, index, uri, line.nspecs,
	     line.nspecs == 1 ? "" : "s");
	for (size_t i = 0; i < line.nspecs; i++) {
		whats[i] = xasprintf("%s, index %ld, instance %zu", uri, index, i + 1);
		lens[i] = strlen(line.specs[i]);
	}
	runner_run_group((const char *const *)line.specs, lens, whats, line.nspecs, on_done, &t);
	for (size_t i = 0; i < line.nspecs; i++)
		free((char *)whats[i]);
	free(whats);
	free(lens);
	size_t ok = t.ok, busy = t.busy, failed = t.failed;
	int ret = t.ret;
	warn("participant %s: %zu ok, %zu held by another runner, %zu failed%s", line.participant, ok, busy, failed,
	     ret > 128 ? ", the rest not started" : "");
	runner_provenance_set(NULL);
	manifest_line_free(&line);
	return ret;
}

/* ---- --exec ---- */

int runner_exec_array(long index, char *const argv[])
{
	const char *bucket = getenv("OUTPUT_BUCKET"), *file = getenv("PARTICIPANT_ARRAY_FILE");
	char *b = NULL, *key = NULL, *what = NULL, *id = NULL, *err = NULL;
	struct s3_client *c = NULL;
	struct s3_op op = {0};
	int ret = 2;

	if (!bucket || !*bucket) {
		warn("cannot find the participant array file: OUTPUT_BUCKET is not set (the bucket whose config/ "
		     "holds it)");
		goto out;
	}
	if (!file || !*file) {
		warn("cannot find the participant array file: PARTICIPANT_ARRAY_FILE is not set (its name in "
		     "s3://%s/config/)", bucket);
		goto out;
	}
	if (!strncmp(bucket, "s3://", 5))
		bucket += 5;
	b = xstrdup(bucket);
	for (size_t n = strlen(b); n > 0 && b[n - 1] == '/'; n--)
		b[n - 1] = 0;
	while (*file == '/')
		file++;
	what = xasprintf("s3://%s/config/%s", b, file);
	char *kb = NULL, *kk = NULL;
	if (!*file || s3_uri_split(what, &kb, &kk) < 0) {
		warn("cannot read the participant array file '%s': OUTPUT_BUCKET is not a bucket name", what);
		goto out;
	}
	free(kb);
	key = kk;
	ret = 1;
	if (!(c = client_new()) || get(c, &op, b, key, 0, 0) != 0)
		goto out;
	if (op.body_out.len > MAX_ARRAY_FILE) {
		warn("cannot read the participant array file '%s': it is larger than %u bytes", what, MAX_ARRAY_FILE);
		goto out;
	}
	if (participants_line(op.body_out.data ? op.body_out.data : "", op.body_out.len, (size_t)index, what, &id,
			      NULL, &err) < 0) {
		warn("%s", err);
		goto out;
	}
	s3_op_free(&op);
	s3_client_free(c);
	c = NULL;
	if (setenv("PARTICIPANT_FROM_ARRAY", id, 1) < 0) {
		warn("cannot set PARTICIPANT_FROM_ARRAY: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	execvp(argv[0], argv);
	ret = errno == ENOENT ? 127 : 126;
	warn("cannot run '%s': %s", argv[0], strerror(errno));
out:
	s3_op_free(&op);
	s3_client_free(c);
	free(b);
	free(key);
	free(what);
	free(id);
	free(err);
	return ret;
}
