/* cmd_stack.c - `rapid stack create | info | delete`: the AWS Batch stack
 * from the CloudFormation template in cfn/ (built into rapid), driven
 * through the CloudFormation API, with its events shown as they happen.
 *
 * The input bucket's key and secret go into the stack's Secrets Manager
 * secret with PutSecretValue after the stack exists: they are never a
 * stack parameter, an argument or a line of output. */
#include "aws/s3.h"
#include "aws/service.h"
#include "aws/uri.h"
#include "aws/xml.h"
#include "aws/crypto.h"
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "cli/session.h"
#include "cfn/stack.h"
#include "lib/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The template, built from cfn/rapid-batch.yaml (see GNUmakefile). */
extern const char rapid_cfn_template[];

#define CFN_VERSION "2010-05-15"

enum { O_NAME = 1, O_OUTPUT_BUCKET, O_INPUT_BUCKET, O_INPUT_KEY_ID, O_INPUT_SECRET_STDIN, O_IMAGE,
       O_BATCH_TYPE, O_MAX_VCPUS, O_S3FS_MOUNT, O_TEMPLATE, O_CLI_ARGS };

const struct cli_option stack_create_options[] = {
	{O_NAME, 0, "name", "NAME", "the stack's name (default rapid)"},
	{O_OUTPUT_BUCKET, 0, "output-bucket", "BUCKET", "the bucket the outputs and sentinels go to"},
	{O_INPUT_BUCKET, 0, "input-bucket", "BUCKET", "the dataset's bucket (default hcp-openaccess)"},
	{O_INPUT_KEY_ID, 0, "input-key-id", "ID", "the access key id for the input bucket"},
	{O_INPUT_SECRET_STDIN, 0, "input-secret-stdin", NULL, "read its secret access key from standard input"},
	{O_IMAGE, 0, "image", "IMAGE", "the container image of the job definition"},
	{O_BATCH_TYPE, 0, "batch-type", "EC2|SPOT", "on-demand or spot instances"},
	{O_MAX_VCPUS, 0, "max-vcpus", "N", "the compute environment's maximum vCPUs"},
	{O_S3FS_MOUNT, 0, "s3fs-mount", NULL, "let jobs mount buckets with s3fs (privileged containers)"},
	{O_TEMPLATE, 0, "template", "FILE", "use this CloudFormation template instead of the built-in one"},
	{0},
};

const struct cli_option stack_info_options[] = {
	{O_NAME, 0, "name", "NAME", "the stack (default: the remembered one)"},
	{O_CLI_ARGS, 0, "cli-args", NULL, "print --job-queue ARN --job-definition ARN for aws batch submit-job"},
	{0},
};

const struct cli_option stack_delete_options[] = {
	{O_NAME, 0, "name", "NAME", "the stack (default: the remembered one)"},
	{0},
};

/* ---- talking to CloudFormation ---- */

struct cfn {
	struct aws_service *svc;
	unsigned poll_ms;
	/* events already shown */
	char **seen;
	size_t nseen;
};

static int cfn_open(struct cfn *c)
{
	char *err = NULL;
	memset(c, 0, sizeof(*c));
	c->svc = aws_service_new("CloudFormation", "cloudformation", g_opts.profile, &err);
	if (!c->svc) {
		warn("cannot use CloudFormation: %s", err);
		free(err);
		return -1;
	}
	const char *v = getenv("RAPID_STACK_POLL_SECONDS");
	double s = v && *v ? atof(v) : 5.0;
	c->poll_ms = s > 0 && s < 3600 ? (unsigned)(s * 1000) : 5000;
	return 0;
}

static void cfn_close(struct cfn *c)
{
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	aws_service_free(c->svc);
}

/* One call; 0 and *doc, or -1 after printing. */
static int cfn_call(struct cfn *c, const char *action, struct buf *params, const char *what,
		    struct xml_doc **doc)
{
	char *err = NULL;
	int r = aws_query_call(c->svc, action, CFN_VERSION, params ? params->data : NULL, what, doc, &err);
	if (r < 0) {
		warn("%s", err);
		free(err);
	}
	return r;
}

/* Whether a call's error says the stack does not exist (CloudFormation
 * says so with a ValidationError). */
static bool is_missing(const char *err)
{
	return err && strstr(err, "ValidationError") && strstr(err, "does not exist");
}

/* The stack's description: 1 and *doc (its Stacks/member in *stack), 0
 * when there is no such stack, -1 after printing. */
static int describe(struct cfn *c, const char *name, struct xml_doc **doc, const struct xml_node **stack)
{
	struct buf p = {0};
	char *err = NULL;
	uri_query_add(&p, "StackName", name);
	char *what = xasprintf("describe stack '%s'", name);
	int r = aws_query_call(c->svc, "DescribeStacks", CFN_VERSION, p.data, what, doc, &err);
	buf_free(&p);
	free(what);
	if (r < 0) {
		int missing = is_missing(err);
		if (!missing)
			warn("%s", err);
		free(err);
		return missing ? 0 : -1;
	}
	*stack = xml_path(xml_root(*doc), "DescribeStacksResult/Stacks/member");
	if (!*stack) {
		xml_free(*doc);
		*doc = NULL;
		return 0;
	}
	return 1;
}

static bool seen(struct cfn *c, const char *id)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (!strcmp(c->seen[i], id))
			return true;
	return false;
}

/* Print the stack's events not shown yet, oldest first. With failed, keep
 * the failure reasons in it ("LogicalId: reason" lines). 0; 1 when the
 * stack is gone; -1 after printing. */
static int show_events(struct cfn *c, const char *name, struct buf *failed)
{
	struct xml_doc *docs[64];
	size_t ndocs = 0;
	const struct xml_node *fresh[4096];
	size_t nfresh = 0;
	char *token = NULL;
	int ret = 0;
	/* Newest first, 100 a page: read pages until an event already seen. */
	for (bool more = true; more && ndocs < ARRAY_LEN(docs);) {
		struct buf p = {0};
		uri_query_add(&p, "StackName", name);
		if (token)
			uri_query_add(&p, "NextToken", token);
		free(token);
		token = NULL;
		char *what = xasprintf("read the events of stack '%s'", name);
		struct xml_doc *d = NULL;
		char *err = NULL;
		int r = aws_query_call(c->svc, "DescribeStackEvents", CFN_VERSION, p.data, what, &d, &err);
		free(what);
		buf_free(&p);
		if (r < 0) {
			/* a stack deleted meanwhile has no events any more */
			if (!is_missing(err))
				warn("%s", err);
			ret = is_missing(err) ? 1 : -1;
			free(err);
			break;
		}
		docs[ndocs++] = d;
		const struct xml_node *res = xml_path(xml_root(d), "DescribeStackEventsResult");
		const struct xml_node *e = xml_path(res, "StackEvents/member");
		for (; e; e = xml_next_same(e)) {
			const char *id = xml_text(e, "EventId");
			if (!id || seen(c, id)) {
				more = false;
				break;
			}
			if (nfresh < ARRAY_LEN(fresh))
				fresh[nfresh++] = e;
		}
		const char *next = xml_text(res, "NextToken");
		if (more && next && *next)
			token = xstrdup(next);
		else
			more = false;
	}
	free(token);
	for (size_t i = nfresh; i-- > 0;) {
		const struct xml_node *e = fresh[i];
		const char *ts = xml_text(e, "Timestamp"), *status = xml_text(e, "ResourceStatus");
		const char *lid = xml_text(e, "LogicalResourceId"), *type = xml_text(e, "ResourceType");
		const char *why = xml_text(e, "ResourceStatusReason");
		/* "2024-05-01T12:00:01.123Z" → "12:00:01" */
		char hms[9] = "--:--:--";
		if (ts && strlen(ts) >= 19)
			memcpy(hms, ts + 11, 8);
		fprintf(stderr, "  %s  %-20s %-28s %s%s%s\n", hms, status ? status : "?", lid ? lid : "?", type ? type : "",
		       why && *why ? "  " : "", why && *why ? why : "");
		if (failed && status && strstr(status, "_FAILED") && why && *why)
			buf_printf(failed, "  %s: %s\n", lid ? lid : "?", why);
		c->seen = xreallocarray(c->seen, c->nseen + 1, sizeof(char *));
		c->seen[c->nseen++] = xstrdup(xml_text(e, "EventId"));
	}
	for (size_t i = 0; i < ndocs; i++)
		xml_free(docs[i]);
	return ret;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Follow the stack until it leaves the *_IN_PROGRESS states, showing its
 * events. 1 and *status (the caller frees; NULL when the stack is gone),
 * or -1 after printing. */
static int wait_stack(struct cfn *c, const char *name, char **status, struct buf *failed)
{
	*status = NULL;
	for (;;) {
		int e = show_events(c, name, failed);
		if (e != 0)
			return e > 0 ? 1 : -1;
		struct xml_doc *d = NULL;
		const struct xml_node *st = NULL;
		int r = describe(c, name, &d, &st);
		if (r <= 0)
			return r == 0 ? 1 : -1;
		const char *s = xml_text(st, "StackStatus");
		if (s && !ends_with(s, "_IN_PROGRESS")) {
			*status = xstrdup(s);
			xml_free(d);
			show_events(c, name, failed);
			return 1;
		}
		xml_free(d);
		pause_ms(c->poll_ms);
	}
}

/* The value of output key in a described stack; NULL if absent. */
static const char *output(const struct xml_node *stack, const char *key)
{
	for (const struct xml_node *o = xml_path(stack, "Outputs/member"); o; o = xml_next_same(o)) {
		const char *k = xml_text(o, "OutputKey");
		if (k && !strcmp(k, key))
			return xml_text(o, "OutputValue");
	}
	return NULL;
}

/* ---- answers: flags, else prompts on a terminal ---- */

/* Read one line from stdin into a new string without its newline, after
 * printing prompt (if not NULL) on stderr; with hidden, terminal echo is
 * off meanwhile, turned off before the prompt so that nothing typed ahead
 * is echoed or lost. NULL at end of input. */
static char *read_line(const char *prompt, bool hidden)
{
	struct termios old, quiet;
	bool tty = hidden && isatty(0) && tcgetattr(0, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	struct buf b = {0};
	int ch;
	while ((ch = getchar()) != EOF && ch != '\n')
		buf_putc(&b, (char)ch);
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (ch == EOF && !b.len) {
		buf_free(&b);
		return NULL;
	}
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = 0;
	return b.data ? buf_detach(&b) : xstrdup("");
}

/* *v, else ask on the terminal (default def when the answer is empty).
 * -1 after printing when it is needed and cannot be asked. */
static int answer(char **v, bool interactive, const char *question, const char *def, const char *flag,
		  bool hidden)
{
	if (*v)
		return 0;
	if (!interactive) {
		if (def) {
			*v = xstrdup(def);
			return 0;
		}
		warn("stack create: %s is needed (%s); on a terminal rapid asks for it", question, flag);
		return -1;
	}
	for (;;) {
		char *prompt = xasprintf("%s%s%s%s: ", question, def ? " [" : "", def ? def : "", def ? "]" : "");
		char *line = read_line(prompt, hidden);
		free(prompt);
		if (!line) {
			warn("stack create: no answer for %s", question);
			return -1;
		}
		if (*line) {
			*v = line;
			return 0;
		}
		free(line);
		if (def) {
			*v = xstrdup(def);
			return 0;
		}
	}
}

/* Forget a secret string. */
static void wipe(char *s)
{
	if (s) {
		crypto_cleanse(s, strlen(s));
		free(s);
	}
}

struct create_opts {
	char *name, *output_bucket, *input_bucket, *key_id, *secret;
	const char *image, *batch_type, *max_vcpus, *template_path;
	bool s3fs, secret_stdin;
};

/* The output bucket exists and is in the stack's region (Batch jobs and
 * their bucket in one region: no transfer charges, no redirects). */
static int check_bucket(const char *bucket, const char *region)
{
	struct s3_client *s3 = cloud_s3();
	if (!s3)
		return -1;
	char *where = NULL, *err = NULL;
	int r = s3_bucket_region(s3, bucket, &where, &err);
	if (r < 0)
		warn("the output bucket cannot be used: %s", err);
	else if (strcmp(where, region)) {
		warn("the output bucket 's3://%s/' is in %s, not %s: create the stack in its region "
		     "(AWS_REGION=%s)", bucket, where, region, where);
		r = -1;
	}
	free(where);
	free(err);
	return r;
}

static void add_param(struct buf *p, int *n, const char *key, const char *value)
{
	char name[64];
	++*n;
	snprintf(name, sizeof(name), "Parameters.member.%d.ParameterKey", *n);
	uri_query_add(p, name, key);
	snprintf(name, sizeof(name), "Parameters.member.%d.ParameterValue", *n);
	uri_query_add(p, name, value);
}

/* Store the input bucket's key in the stack's secret. 0, or -1 after
 * printing (without the secret). */
static int put_secret(const char *arn, const char *key_id, const char *secret)
{
	char *err = NULL;
	struct aws_service *sm = aws_service_new("Secrets Manager", "secretsmanager", g_opts.profile, &err);
	if (!sm) {
		warn("cannot use Secrets Manager: %s", err);
		free(err);
		return -1;
	}
	/* rapidtide-cloud's shape: {"IBS3SECRET":"KEY:SECRET"} */
	char *pair = xasprintf("%s:%s", key_id, secret);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "IBS3SECRET", pair);
	char *value = cJSON_PrintUnformatted(v);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "SecretId", arn);
	cJSON_AddStringToObject(req, "SecretString", value);
	char *body = cJSON_PrintUnformatted(req);
	cJSON *out = NULL;
	char *what = xasprintf("store the input bucket's key in secret '%s'", arn);
	int r = aws_json_call(sm, "secretsmanager.PutSecretValue", body, what, &out, &err);
	if (r < 0) {
		warn("%s", err);
		free(err);
	}
	cJSON_Delete(out);
	free(what);
	crypto_cleanse(body, strlen(body));
	cJSON_free(body);
	crypto_cleanse(value, strlen(value));
	cJSON_free(value);
	/* the cJSON trees hold copies too */
	cJSON *it = cJSON_GetObjectItemCaseSensitive(v, "IBS3SECRET");
	crypto_cleanse(it->valuestring, strlen(it->valuestring));
	it = cJSON_GetObjectItemCaseSensitive(req, "SecretString");
	crypto_cleanse(it->valuestring, strlen(it->valuestring));
	cJSON_Delete(v);
	cJSON_Delete(req);
	wipe(pair);
	aws_service_free(sm);
	return r;
}

/* Delete the stack and follow it until gone. 0, or -1 after printing. */
static int delete_and_wait(struct cfn *c, const char *name)
{
	struct buf p = {0};
	struct xml_doc *d = NULL;
	uri_query_add(&p, "StackName", name);
	char *what = xasprintf("delete stack '%s'", name);
	int r = cfn_call(c, "DeleteStack", &p, what, &d);
	free(what);
	buf_free(&p);
	xml_free(d);
	if (r < 0)
		return -1;
	char *status = NULL;
	if (wait_stack(c, name, &status, NULL) < 0)
		return -1;
	if (status && strcmp(status, "DELETE_COMPLETE")) {
		warn("stack '%s' was not deleted: it is %s", name, status);
		free(status);
		return -1;
	}
	free(status);
	return 0;
}

static int stack_create(int argc, char **argv)
{
	struct create_opts o = {.batch_type = NULL};
	struct cli_args a;
	int opt;
	cli_args_init(&a, "stack create", argc, argv);
	while ((opt = cli_next(&a)) != CLI_DONE) {
		char **dst = NULL;
		const char **cdst = NULL;
		switch (opt) {
		case O_NAME: dst = &o.name; break;
		case O_OUTPUT_BUCKET: dst = &o.output_bucket; break;
		case O_INPUT_BUCKET: dst = &o.input_bucket; break;
		case O_INPUT_KEY_ID: dst = &o.key_id; break;
		case O_IMAGE: cdst = &o.image; break;
		case O_BATCH_TYPE: cdst = &o.batch_type; break;
		case O_MAX_VCPUS: cdst = &o.max_vcpus; break;
		case O_TEMPLATE: cdst = &o.template_path; break;
		case O_S3FS_MOUNT: o.s3fs = true; break;
		case O_INPUT_SECRET_STDIN: o.secret_stdin = true; break;
		case CLI_WORD:
			cli_usage(a.cmd, "unexpected argument '%s'", a.value);
			opt = CLI_USAGE;
			break;
		}
		if (opt < 0) {
			free(o.name);
			free(o.output_bucket);
			free(o.input_bucket);
			free(o.key_id);
			return opt == CLI_HELP ? 0 : 2;
		}
		if (dst) {
			free(*dst);
			*dst = xstrdup(a.value);
		} else if (cdst)
			*cdst = a.value;
	}
	if (o.batch_type && strcmp(o.batch_type, "EC2") && strcmp(o.batch_type, "SPOT")) {
		warn("stack create: --batch-type is EC2 or SPOT, not '%s'", o.batch_type);
		return 2;
	}
	if (o.max_vcpus && session_parse_count("--max-vcpus", o.max_vcpus) < 0)
		return 2;
	int ret = 1;
	bool interactive = isatty(0) && !o.secret_stdin;
	struct cfn c = {0};
	char *template = NULL, *status = NULL;
	struct buf failed = {0};
	if (o.secret_stdin) {
		o.secret = read_line(NULL, false);
		if (!o.secret || !*o.secret) {
			warn("stack create: --input-secret-stdin: no secret on standard input");
			goto out;
		}
	}
	if (answer(&o.name, interactive, "Stack name", "rapid", "--name", false) < 0 ||
	    answer(&o.output_bucket, interactive, "Output bucket (results and sentinels)", NULL,
		   "--output-bucket", false) < 0 ||
	    answer(&o.input_bucket, interactive, "Input bucket", "hcp-openaccess", "--input-bucket", false) < 0 ||
	    answer(&o.key_id, interactive, "Input bucket access key id", NULL, "--input-key-id", false) < 0 ||
	    answer(&o.secret, interactive, "Input bucket secret access key (not shown)", NULL,
		   "--input-secret-stdin", true) < 0)
		goto out;
	if (o.template_path) {
		size_t len;
		if (!(template = read_file(o.template_path, &len))) {
			warn("cannot read '%s': %s", o.template_path, strerror(errno));
			goto out;
		}
	} else
		template = xstrdup(rapid_cfn_template);
	if (cfn_open(&c) < 0)
		goto out;
	fprintf(stderr, "rapid: creating stack '%s' in %s: output bucket s3://%s/, input bucket s3://%s/\n",
		o.name, aws_service_region(c.svc), o.output_bucket, o.input_bucket);
	if (check_bucket(o.output_bucket, aws_service_region(c.svc)) < 0)
		goto out;
	struct xml_doc *d = NULL;
	const struct xml_node *st;
	int r = describe(&c, o.name, &d, &st);
	if (r != 0) {
		if (r > 0)
			warn("stack '%s' already exists (%s): see 'rapid stack info --name %s', or delete it with "
			     "'rapid stack delete --name %s'", o.name, xml_text(st, "StackStatus"), o.name, o.name);
		xml_free(d);
		goto out;
	}
	struct buf p = {0};
	int np = 0;
	uri_query_add(&p, "StackName", o.name);
	uri_query_add(&p, "TemplateBody", template);
	uri_query_add(&p, "Capabilities.member.1", "CAPABILITY_NAMED_IAM");
	add_param(&p, &np, "OutputBucket", o.output_bucket);
	add_param(&p, &np, "InputBucket", o.input_bucket);
	if (o.image)
		add_param(&p, &np, "Image", o.image);
	if (o.batch_type)
		add_param(&p, &np, "BatchType", o.batch_type);
	if (o.max_vcpus)
		add_param(&p, &np, "MaxvCpus", o.max_vcpus);
	if (o.s3fs)
		add_param(&p, &np, "S3fsMount", "true");
	char *what = xasprintf("create stack '%s'", o.name);
	r = cfn_call(&c, "CreateStack", &p, what, &d);
	free(what);
	buf_free(&p);
	xml_free(d);
	if (r < 0)
		goto out;
	if (wait_stack(&c, o.name, &status, &failed) < 0)
		goto out;
	if (!status || strcmp(status, "CREATE_COMPLETE")) {
		warn("stack '%s' was not created (%s)%s", o.name, status ? status : "gone",
		     failed.len ? "; what failed:" : "");
		if (failed.len)
			fputs(failed.data, stderr);
		if (status) {
			warn("deleting what was left of stack '%s'", o.name);
			delete_and_wait(&c, o.name);
		}
		goto out;
	}
	d = NULL;
	if (describe(&c, o.name, &d, &st) <= 0) {
		warn("stack '%s' was created but cannot be read back", o.name);
		goto out;
	}
	struct stack_info si = {
		.name = xstrdup(o.name),
		.region = xstrdup(aws_service_region(c.svc)),
		.stack_id = xstrdup(xml_text(st, "StackId") ? xml_text(st, "StackId") : ""),
		.output_bucket = xstrdup(o.output_bucket),
		.input_bucket = xstrdup(o.input_bucket),
	};
	static const struct { const char *key; size_t off; } outs[] = {
		{"JobQueue", offsetof(struct stack_info, job_queue)},
		{"JobDefinition", offsetof(struct stack_info, job_definition)},
		{"ComputeEnvironment", offsetof(struct stack_info, compute_environment)},
		{"InputSecret", offsetof(struct stack_info, input_secret)},
	};
	for (size_t i = 0; i < ARRAY_LEN(outs); i++) {
		const char *v = output(st, outs[i].key);
		*(char **)((char *)&si + outs[i].off) = v ? xstrdup(v) : NULL;
	}
	xml_free(d);
	/* Remember it even when the secret cannot be stored: info and delete
	 * then work on it without a name. */
	int saved = stack_save(&si);
	if (!si.input_secret) {
		warn("stack '%s' has no InputSecret output: is the template rapid's?", o.name);
	} else if (put_secret(si.input_secret, o.key_id, o.secret) < 0) {
		warn("stack '%s' is created but its input secret is empty: delete it ('rapid stack delete') "
		     "and create it again", o.name);
	} else if (saved == 0) {
		char *f = stack_file();
		fprintf(stderr, "rapid: the input bucket's key is stored in %s\n", si.input_secret);
		printf("stack '%s' is ready (remembered in %s)\n", o.name, f);
		free(f);
		ret = 0;
	}
	stack_info_free(&si);
out:
	if (c.svc)
		cfn_close(&c);
	free(status);
	buf_free(&failed);
	free(template);
	free(o.name);
	free(o.output_bucket);
	free(o.input_bucket);
	free(o.key_id);
	wipe(o.secret);
	return ret;
}

/* --name NAME, else the remembered stack's. NULL after printing. */
static char *stack_name(const char *given)
{
	if (given)
		return xstrdup(given);
	struct stack_info s;
	int r = stack_load(&s);
	if (r == 0)
		warn("no stack is remembered: name one with --name, or create one with 'rapid stack create'");
	if (r <= 0)
		return NULL;
	char *name = xstrdup(s.name);
	stack_info_free(&s);
	return name;
}

/* Options of info and delete (--name NAME, and --cli-args when cli_args
 * is not NULL), the stack's name and a CloudFormation client. 0, or the
 * exit status after printing why, or -1 after printing the help. */
static int open_named(int argc, char **argv, const char *cmd, bool *cli_args, char **name, struct cfn *c)
{
	const char *given = NULL;
	struct cli_args a;
	char full[32];
	snprintf(full, sizeof full, "stack %s", cmd);
	cli_args_init(&a, full, argc, argv);
	for (int o; (o = cli_next(&a)) != CLI_DONE;) {
		if (o == O_NAME)
			given = a.value;
		else if (o == O_CLI_ARGS && cli_args)
			*cli_args = true;
		else if (o == CLI_WORD)
			return cli_usage(a.cmd, "unexpected argument '%s'", a.value);
		else
			return o == CLI_HELP ? -1 : 2;
	}
	if (!(*name = stack_name(given)))
		return 1;
	if (cfn_open(c) < 0) {
		free(*name);
		return 1;
	}
	return 0;
}

static int stack_info_cmd(int argc, char **argv)
{
	bool cli_args = false;
	char *name = NULL;
	struct cfn c;
	int ret = open_named(argc, argv, "info", &cli_args, &name, &c);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	struct xml_doc *d = NULL;
	const struct xml_node *st = NULL;
	int r = describe(&c, name, &d, &st);
	if (r == 0)
		warn("there is no stack '%s' in %s", name, aws_service_region(c.svc));
	if (r > 0 && cli_args) {
		const char *q = output(st, "JobQueue"), *jd = output(st, "JobDefinition");
		if (!q || !jd)
			warn("stack '%s' (%s) has no JobQueue and JobDefinition outputs", name,
			     xml_text(st, "StackStatus"));
		else {
			printf("--job-queue %s --job-definition %s\n", q, jd);
			ret = 0;
		}
	} else if (r > 0) {
		const char *why = xml_text(st, "StackStatusReason");
		printf("stack:   %s (%s)\n", name, aws_service_region(c.svc));
		printf("status:  %s%s%s\n", xml_text(st, "StackStatus"), why && *why ? ": " : "", why ? why : "");
		printf("created: %s\n", xml_text(st, "CreationTime") ? xml_text(st, "CreationTime") : "?");
		const struct xml_node *o = xml_path(st, "Outputs/member");
		if (o)
			printf("outputs:\n");
		for (; o; o = xml_next_same(o))
			printf("  %-20s %s\n", xml_text(o, "OutputKey"), xml_text(o, "OutputValue"));
		ret = 0;
	}
	xml_free(d);
	cfn_close(&c);
	free(name);
	return ret;
}

static int stack_delete(int argc, char **argv)
{
	char *name = NULL;
	struct cfn c;
	int ret = open_named(argc, argv, "delete", NULL, &name, &c);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	struct xml_doc *d = NULL;
	const struct xml_node *st = NULL;
	int r = describe(&c, name, &d, &st);
	xml_free(d);
	if (r == 0) {
		warn("there is no stack '%s' in %s: nothing to delete", name, aws_service_region(c.svc));
		stack_forget(name);
	} else if (r > 0) {
		fprintf(stderr, "rapid: deleting stack '%s' in %s\n", name, aws_service_region(c.svc));
		if (delete_and_wait(&c, name) == 0) {
			printf("stack '%s' is deleted\n", name);
			stack_forget(name);
			ret = 0;
		}
	}
	cfn_close(&c);
	free(name);
	return ret;
}

int cmd_stack(int argc, char **argv)
{
	const struct cli_command *self = cli_command_find("stack");
	if (argc < 2) {
		cli_usage_lines(stderr, self);
		return 2;
	}
	if (!strcmp(argv[1], "create"))
		return stack_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return stack_info_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "delete"))
		return stack_delete(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cli_help(stdout, self);
		return 0;
	}
	warn("stack: unknown subcommand '%s' (create, info or delete)", argv[1]);
	cli_usage_lines(stderr, self);
	return 2;
}
