/* batchtool.c - a small AWS Batch client on top of aws/batch.h, for the
 * shell tests (against the emulator's Batch) and for trying calls by hand.
 * Each command is one library call; results go to stdout as JSON, one
 * line per job; errors to stderr as the library words them, after
 * "batchtool: ". Exit 0, 1 when a call fails, 2 on a usage error.
 *
 *   batchtool [-v] [--profile P] COMMAND ARGS
 *   submit --name N --queue Q --definition D [--array-size N]
 *          [--depends-on ID[:N_TO_N|:SEQUENTIAL]]... [--vcpus N] [--memory MIB]
 *          [--gpus N] [--timeout S] [--attempts N] [--env NAME=VALUE]...
 *          [--tag KEY=VALUE]... [--propagate-tags] [--dry-run] [-- COMMAND...]
 *        prints {"jobId":"…","jobName":"…"}; --dry-run prints the SubmitJob
 *        body (checked as submit would) and sends nothing
 *   describe ID...             (or '-': ids from stdin, one a line)
 *        prints a line per job Batch knows (DescribeJobs, 100 ids a request)
 *   list --queue Q [--name FILTER] [--state S]
 *   list --array-job ID [--state S]
 *        prints a line per job (every page; no --state: every state)
 *   terminate ID REASON
 *   cancel ID REASON
 *   describe-definition NAME   (name, name:revision or ARN)
 *        prints the definition as Batch gave it, or null
 *   derive-definition BASE NAME IMAGE
 *        prints the RegisterJobDefinition body batch_definition_derive makes
 *        of BASE (described first) under NAME with IMAGE
 *   register-definition FILE   (a RegisterJobDefinition body; '-': stdin)
 *        prints {"jobDefinitionArn":"…"}
 *
 * A job's line: {"jobId", "jobName", "status", "statusReason",
 * "createdAt", "startedAt", "stoppedAt" (ms), "arraySize", "arrayIndex",
 * "statusSummary" {STATE: n}, "attempts", "exitCode", "containerReason",
 * "logStreamName", "jobQueue", "jobDefinition"}, each only when Batch
 * told it. -v prints the HTTP requests made on stderr at exit
 * ("requests: N"). The endpoint, region and credentials are the AWS
 * CLI's (AWS_ENDPOINT_URL_BATCH, AWS_REGION, AWS_PROFILE…). */
#include "aws/batch.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: batchtool [-v] [--profile P] COMMAND ARGS\n"
	"  submit --name N --queue Q --definition D [--array-size N]\n"
	"         [--depends-on ID[:N_TO_N|:SEQUENTIAL]]... [--vcpus N] [--memory MIB] [--gpus N]\n"
	"         [--timeout S] [--attempts N] [--env NAME=VALUE]... [--tag KEY=VALUE]...\n"
	"         [--propagate-tags] [--dry-run] [-- COMMAND...]\n"
	"  describe ID...            ('-': ids from stdin)\n"
	"  list --queue Q [--name FILTER] [--state S] | list --array-job ID [--state S]\n"
	"  terminate ID REASON\n"
	"  cancel ID REASON\n"
	"  describe-definition NAME\n"
	"  derive-definition BASE NAME IMAGE\n"
	"  register-definition FILE  ('-': stdin)\n";

static const char *profile;
static struct batch *client;

static void usage(const char *why) __attribute__((noreturn));
static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "batchtool: %s\n", why);
	fputs(usage_text, stderr);
	exit(2);
}

/* Report err once and return 1. */
static int failed(struct aws_error *err)
{
	char *m = aws_error_format(err);
	fprintf(stderr, "batchtool: %s\n", m);
	free(m);
	aws_error_clear(err);
	return 1;
}

static struct batch *the_client(void)
{
	struct aws_error err = {0};
	if (!client && !(client = batch_new(profile, &err))) {
		failed(&err);
		exit(1);
	}
	return client;
}

/* Print o as one line and free it. */
static void put_line(cJSON *o)
{
	char *s = xnonnull(cJSON_PrintUnformatted(o));
	puts(s);
	free(s);
	cJSON_Delete(o);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		xnonnull(cJSON_AddStringToObject(o, k, v));
}

static void put_job(const struct batch_job *j)
{
	cJSON *o = xnonnull(cJSON_CreateObject());
	add_str(o, "jobId", j->id);
	add_str(o, "jobName", j->name);
	add_str(o, "status", batch_state_name(j->state));
	add_str(o, "statusReason", j->status_reason);
	if (j->created_ms)
		cJSON_AddNumberToObject(o, "createdAt", (double)j->created_ms);
	if (j->started_ms)
		cJSON_AddNumberToObject(o, "startedAt", (double)j->started_ms);
	if (j->stopped_ms)
		cJSON_AddNumberToObject(o, "stoppedAt", (double)j->stopped_ms);
	if (j->array_size) {
		cJSON_AddNumberToObject(o, "arraySize", (double)j->array_size);
		cJSON *s = xnonnull(cJSON_AddObjectToObject(o, "statusSummary"));
		for (int i = 0; i < BATCH_NSTATES; i++)
			cJSON_AddNumberToObject(s, batch_state_name((enum batch_state)i), (double)j->summary[i]);
	}
	if (j->array_index >= 0)
		cJSON_AddNumberToObject(o, "arrayIndex", (double)j->array_index);
	if (j->attempts)
		cJSON_AddNumberToObject(o, "attempts", j->attempts);
	if (j->has_exit_code)
		cJSON_AddNumberToObject(o, "exitCode", j->exit_code);
	add_str(o, "containerReason", j->container_reason);
	add_str(o, "logStreamName", j->log_stream);
	add_str(o, "jobQueue", j->queue);
	add_str(o, "jobDefinition", j->definition);
	put_line(o);
}

/* A whole number option in lo..hi. */
static long number(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "batchtool: %s: '%s' is not a number in %ld..%ld\n", opt, s, lo, hi);
		exit(2);
	}
	return v;
}

/* NAME=VALUE into kv (pointing into s, which is modified). */
static void pair(const char *opt, char *s, struct batch_kv *kv)
{
	char *eq = strchr(s, '=');
	if (!eq) {
		fprintf(stderr, "batchtool: %s: '%s' is not NAME=VALUE\n", opt, s);
		exit(2);
	}
	*eq = 0;
	kv->name = s;
	kv->value = eq + 1;
}

static int cmd_submit(int argc, char **argv)
{
	struct batch_submit s = {0};
	struct batch_kv *env = xcalloc((size_t)argc + 1, sizeof(*env)), *tags = xcalloc((size_t)argc + 1, sizeof(*tags));
	struct batch_dep *deps = xcalloc((size_t)argc + 1, sizeof(*deps));
	struct aws_error err = {0};
	bool dry = false;
	int i, ret = 1;
	for (i = 0; i < argc; i++) {
		const char *o = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--")) {
			i++;
			break;
		} else if (!strcmp(o, "--propagate-tags")) {
			s.propagate_tags = true;
			continue;
		} else if (!strcmp(o, "--dry-run")) {
			dry = true;
			continue;
		}
		if (!v)
			usage(o[0] == '-' ? "an option without its value" : "unexpected argument");
		i++;
		if (!strcmp(o, "--name"))
			s.job_name = v;
		else if (!strcmp(o, "--queue"))
			s.job_queue = v;
		else if (!strcmp(o, "--definition"))
			s.job_definition = v;
		else if (!strcmp(o, "--array-size"))
			s.array_size = (size_t)number(o, v, 0, 1000000);
		else if (!strcmp(o, "--vcpus"))
			s.vcpus = number(o, v, -1000000, 1000000);
		else if (!strcmp(o, "--memory"))
			s.memory_mib = number(o, v, -1000000, 100000000);
		else if (!strcmp(o, "--gpus"))
			s.gpus = number(o, v, -1000, 1000);
		else if (!strcmp(o, "--timeout"))
			s.timeout_s = number(o, v, 0, 100000000);
		else if (!strcmp(o, "--attempts"))
			s.attempts = (int)number(o, v, -100, 100);
		else if (!strcmp(o, "--env"))
			pair(o, v, &env[s.nenv++]);
		else if (!strcmp(o, "--tag"))
			pair(o, v, &tags[s.ntags++]);
		else if (!strcmp(o, "--depends-on")) {
			char *colon = strchr(v, ':');
			if (colon)
				*colon = 0;
			deps[s.ndeps].job_id = v;
			deps[s.ndeps++].type = colon ? colon + 1 : NULL;
		} else
			usage("unknown option");
	}
	s.env = env;
	s.tags = tags;
	s.deps = deps;
	if (i < argc) {
		s.command = (const char *const *)(argv + i);
		s.ncommand = (size_t)(argc - i);
	}
	if (batch_submit_check(&s, &err) < 0) {
		ret = failed(&err);
	} else if (dry) {
		char *body = batch_submit_body(&s);
		puts(body);
		free(body);
		ret = 0;
	} else {
		char *id = NULL;
		if (batch_submit_job(the_client(), &s, &id, &err) < 0) {
			ret = failed(&err);
		} else {
			cJSON *o = xnonnull(cJSON_CreateObject());
			add_str(o, "jobId", id);
			add_str(o, "jobName", s.job_name);
			put_line(o);
			free(id);
			ret = 0;
		}
	}
	free(env);
	free(tags);
	free(deps);
	return ret;
}

static int cmd_describe(int argc, char **argv)
{
	struct aws_error err = {0};
	char **ids = NULL, *line = NULL;
	size_t n = 0, cap = 0, lcap = 0, njobs = 0;
	struct batch_job *jobs = NULL;
	int ret = 1;
	if (!argc)
		usage("describe: no job ids");
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-")) {
			GROW(ids, cap, n + 1);
			ids[n++] = xstrdup(argv[i]);
			continue;
		}
		ssize_t len;
		while ((len = getline(&line, &lcap, stdin)) >= 0) {
			while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
				line[--len] = 0;
			if (!len)
				continue;
			GROW(ids, cap, n + 1);
			ids[n++] = xstrdup(line);
		}
	}
	if (batch_describe_jobs(the_client(), (const char *const *)ids, n, &jobs, &njobs, &err) < 0) {
		ret = failed(&err);
	} else {
		for (size_t i = 0; i < njobs; i++)
			put_job(&jobs[i]);
		ret = 0;
	}
	batch_jobs_free(jobs, njobs);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(line);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	struct batch_list l = {.state = BATCH_UNKNOWN};
	struct aws_error err = {0};
	struct batch_job *jobs = NULL;
	size_t n = 0;
	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage("list: an option without its value");
		if (!strcmp(argv[i], "--queue"))
			l.queue = argv[i + 1];
		else if (!strcmp(argv[i], "--name"))
			l.name_filter = argv[i + 1];
		else if (!strcmp(argv[i], "--array-job"))
			l.array_job_id = argv[i + 1];
		else if (!strcmp(argv[i], "--state")) {
			if ((l.state = batch_state_parse(argv[i + 1])) == BATCH_UNKNOWN)
				usage("list: --state is one of SUBMITTED PENDING RUNNABLE STARTING RUNNING SUCCEEDED FAILED");
		} else
			usage("list: unknown option");
	}
	if (batch_list_jobs(the_client(), &l, &jobs, &n, &err) < 0)
		return failed(&err);
	for (size_t i = 0; i < n; i++)
		put_job(&jobs[i]);
	batch_jobs_free(jobs, n);
	return 0;
}

static int cmd_stop(int argc, char **argv, bool terminate)
{
	struct aws_error err = {0};
	if (argc != 2)
		usage(terminate ? "terminate ID REASON" : "cancel ID REASON");
	int r = terminate ? batch_terminate_job(the_client(), argv[0], argv[1], &err)
	                  : batch_cancel_job(the_client(), argv[0], argv[1], &err);
	return r < 0 ? failed(&err) : 0;
}

static int cmd_terminate(int argc, char **argv)
{
	return cmd_stop(argc, argv, true);
}

static int cmd_cancel(int argc, char **argv)
{
	return cmd_stop(argc, argv, false);
}

static int cmd_describe_definition(int argc, char **argv)
{
	struct aws_error err = {0};
	cJSON *def = NULL;
	if (argc != 1)
		usage("describe-definition NAME");
	if (batch_describe_job_definition(the_client(), argv[0], &def, &err) < 0)
		return failed(&err);
	if (!def)
		puts("null");
	else
		put_line(def);
	return 0;
}

static int cmd_derive_definition(int argc, char **argv)
{
	struct aws_error err = {0};
	cJSON *def = NULL;
	if (argc != 3)
		usage("derive-definition BASE NAME IMAGE");
	if (batch_describe_job_definition(the_client(), argv[0], &def, &err) < 0)
		return failed(&err);
	if (!def) {
		fprintf(stderr, "batchtool: no job definition '%s'\n", argv[0]);
		return 1;
	}
	cJSON *d = batch_definition_derive(def, argv[1], argv[2]);
	cJSON_Delete(def);
	if (!d) {
		fprintf(stderr, "batchtool: job definition '%s' is not a container definition\n", argv[0]);
		return 1;
	}
	put_line(d);
	return 0;
}

static int cmd_register_definition(int argc, char **argv)
{
	struct aws_error err = {0};
	struct buf b = {0};
	char chunk[4096];
	size_t got;
	char *arn = NULL;
	if (argc != 1)
		usage("register-definition FILE");
	FILE *f = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
	if (!f) {
		fprintf(stderr, "batchtool: cannot read '%s': %s\n", argv[0], strerror(errno));
		return 1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_putn(&b, chunk, got);
	if (f != stdin)
		fclose(f);
	cJSON *body = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
	buf_free(&b);
	if (!body) {
		fprintf(stderr, "batchtool: '%s' is not JSON\n", argv[0]);
		return 1;
	}
	int r = batch_register_job_definition(the_client(), body, &arn, &err);
	cJSON_Delete(body);
	if (r < 0)
		return failed(&err);
	cJSON *o = xnonnull(cJSON_CreateObject());
	add_str(o, "jobDefinitionArn", arn);
	put_line(o);
	free(arn);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"submit", cmd_submit},
	{"describe", cmd_describe},
	{"list", cmd_list},
	{"terminate", cmd_terminate},
	{"cancel", cmd_cancel},
	{"describe-definition", cmd_describe_definition},
	{"derive-definition", cmd_derive_definition},
	{"register-definition", cmd_register_definition},
};

int main(int argc, char **argv)
{
	int verbose = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			profile = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else
			usage(NULL);
	}
	if (i >= argc)
		usage(NULL);
	for (size_t c = 0; c < ARRAY_LEN(commands); c++) {
		if (strcmp(argv[i], commands[c].name))
			continue;
		int ret = commands[c].fn(argc - i - 1, argv + i + 1);
		fflush(stdout);
		if (verbose && client)
			fprintf(stderr, "requests: %u\n", batch_requests(client));
		batch_free(client);
		return ret;
	}
	usage("unknown command");
}
