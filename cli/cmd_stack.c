/* cmd_stack.c - `rapid stack create | info | delete`: the arguments, the
 * prompts and what is printed; the operations themselves (CloudFormation,
 * Secrets Manager) are cfn/stackops.h, with the stack's events shown here
 * as they happen.
 *
 * The input bucket's key and secret go into the stack's Secrets Manager
 * secret with PutSecretValue after the stack exists: they are never a
 * stack parameter, an argument or a line of output. */
#include "aws/crypto.h"
#include "aws/s3.h"
#include "cli/args.h"
#include "cli/cmd.h"
#include "engine/cloud.h"
#include "cli/session.h"
#include "cfn/stack.h"
#include "cfn/stackops.h"
#include "lib/util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The template, built from cfn/rapid-batch.yaml (see GNUmakefile). */
extern const char rapid_cfn_template[];

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

/* ---- the operations, reported ---- */

/* Report e once: "rapid: cannot <what>: <reason>". */
static void say(const struct aws_error *e)
{
	cloud_warn(e);
}

static void on_notice(const struct aws_error *e, void *arg)
{
	(void)arg;
	say(e);
}

/* The profile, poll interval and notices of every stack operation. */
static struct stackops_config ops_config(void)
{
	const char *v = getenv("RAPID_STACK_POLL_SECONDS");
	double s = v && *v ? atof(v) : 5.0;
	struct stackops_config cfg = {
		.profile = g_opts.profile,
		.poll_ms = s > 0 && s < 3600 ? (unsigned)(s * 1000) : 5000,
		.notice = on_notice,
	};
	return cfg;
}

/* A CloudFormation client; NULL after printing why. */
static struct stackops *ops_open(void)
{
	struct stackops_config cfg = ops_config();
	struct aws_error err = {0};
	struct stackops *c = stackops_open(&cfg, &err);
	if (!c) {
		if (!err.what)
			aws_error_what(&err, "use CloudFormation", NULL);
		say(&err);
	}
	aws_error_clear(&err);
	return c;
}

/* stackops_describe, reporting a failure: 1, 0 (no such stack) or -1. */
static int describe(struct stackops *c, const char *name, struct stack_desc *d)
{
	struct aws_error err = {0};
	int r = stackops_describe(c, name, d, &err);
	if (r < 0)
		say(&err);
	aws_error_clear(&err);
	return r;
}

/* Events on stderr as they happen; with failed (a struct buf), the
 * failure reasons are kept there too ("  LogicalId: reason" lines). */
static void show_event(const struct stack_event *e, void *arg)
{
	struct buf *failed = arg;
	fprintf(stderr, "  %s  %-20s %-28s %s%s%s\n", e->time, e->status, e->logical_id, e->type,
		*e->reason ? "  " : "", e->reason);
	if (failed && strstr(e->status, "_FAILED") && *e->reason)
		buf_printf(failed, "  %s: %s\n", e->logical_id, e->reason);
}

/* Delete the stack and follow it until gone. 0, or -1 after printing. */
static int delete_and_wait(struct stackops *c, const char *name)
{
	struct aws_error err = {0};
	char *status = NULL;
	int ret = -1;
	if (stackops_delete(c, name, show_event, NULL, &status, &err) < 0)
		say(&err);
	else if (status && strcmp(status, "DELETE_COMPLETE"))
		warn("stack '%s' was not deleted: it is %s", name, status);
	else
		ret = 0;
	aws_error_clear(&err);
	free(status);
	return ret;
}

struct create_opts {
	char *name, *output_bucket, *input_bucket, *key_id, *secret;
	const char *image, *batch_type, *max_vcpus, *template_path;
	bool s3fs, secret_stdin;
};

static void create_opts_free(struct create_opts *o)
{
	free(o->name);
	free(o->output_bucket);
	free(o->input_bucket);
	free(o->key_id);
	wipe(o->secret);
}

/* create's options into *o. 0, the exit status after printing why, or -1
 * after printing the help. */
static int create_parse(int argc, char **argv, struct create_opts *o)
{
	struct cli_args a;
	int opt;
	cli_args_init(&a, "stack create", argc, argv);
	while ((opt = cli_next(&a)) != CLI_DONE) {
		char **dst = NULL;
		const char **cdst = NULL;
		switch (opt) {
		case O_NAME: dst = &o->name; break;
		case O_OUTPUT_BUCKET: dst = &o->output_bucket; break;
		case O_INPUT_BUCKET: dst = &o->input_bucket; break;
		case O_INPUT_KEY_ID: dst = &o->key_id; break;
		case O_IMAGE: cdst = &o->image; break;
		case O_BATCH_TYPE: cdst = &o->batch_type; break;
		case O_MAX_VCPUS: cdst = &o->max_vcpus; break;
		case O_TEMPLATE: cdst = &o->template_path; break;
		case O_S3FS_MOUNT: o->s3fs = true; break;
		case O_INPUT_SECRET_STDIN: o->secret_stdin = true; break;
		case CLI_WORD:
			cli_usage(a.cmd, "unexpected argument '%s'", a.value);
			opt = CLI_USAGE;
			break;
		}
		if (opt < 0)
			return opt == CLI_HELP ? -1 : 2;
		if (dst) {
			free(*dst);
			*dst = xstrdup(a.value);
		} else if (cdst)
			*cdst = a.value;
	}
	if (o->batch_type && strcmp(o->batch_type, "EC2") && strcmp(o->batch_type, "SPOT")) {
		warn("stack create: --batch-type is EC2 or SPOT, not '%s'", o->batch_type);
		return 2;
	}
	if (o->max_vcpus && session_parse_count("--max-vcpus", o->max_vcpus) < 0)
		return 2;
	return 0;
}

/* Every answer, from the options or asked on the terminal. 0, or -1
 * after printing. */
static int create_ask(struct create_opts *o)
{
	bool interactive = isatty(0) && !o->secret_stdin;
	if (o->secret_stdin) {
		o->secret = read_line(NULL, false);
		if (!o->secret || !*o->secret) {
			warn("stack create: --input-secret-stdin: no secret on standard input");
			return -1;
		}
	}
	if (answer(&o->name, interactive, "Stack name", "rapid", "--name", false) < 0 ||
	    answer(&o->output_bucket, interactive, "Output bucket (results and sentinels)", NULL,
		   "--output-bucket", false) < 0 ||
	    answer(&o->input_bucket, interactive, "Input bucket", "hcp-openaccess", "--input-bucket", false) < 0 ||
	    answer(&o->key_id, interactive, "Input bucket access key id", NULL, "--input-key-id", false) < 0 ||
	    answer(&o->secret, interactive, "Input bucket secret access key (not shown)", NULL,
		   "--input-secret-stdin", true) < 0)
		return -1;
	return 0;
}

/* The template: --template FILE, else the one built into rapid. NULL
 * after printing. */
static char *create_template(const struct create_opts *o)
{
	size_t len;
	char *t;
	if (!o->template_path)
		return xstrdup(rapid_cfn_template);
	if (!(t = read_file(o->template_path, &len)))
		warn("cannot read '%s': %s", o->template_path, strerror(errno));
	return t;
}

/* The output bucket exists and is in the stack's region (Batch jobs and
 * their bucket in one region: no transfer charges, no redirects). 0, or
 * -1 after printing. */
static int check_bucket(const char *bucket, const char *region)
{
	struct s3_client *s3 = cloud_s3();
	if (!s3)
		return -1;
	char *where = NULL;
	struct aws_error err = {0};
	int r = s3_bucket_region(s3, bucket, &where, &err);
	if (r < 0) {
		char *m = aws_error_format(&err);
		warn("the output bucket cannot be used: %s", m);
		free(m);
	} else if (strcmp(where, region)) {
		warn("the output bucket 's3://%s/' is in %s, not %s: create the stack in its region "
		     "(AWS_REGION=%s)", bucket, where, region, where);
		r = -1;
	}
	aws_error_clear(&err);
	free(where);
	return r;
}

/* No stack of that name exists yet. 0, or -1 after printing. */
static int check_new(struct stackops *c, const char *name)
{
	struct stack_desc d;
	int r = describe(c, name, &d);
	if (r > 0)
		warn("stack '%s' already exists (%s): see 'rapid stack info --name %s', or delete it with "
		     "'rapid stack delete --name %s'", name, d.status, name, name);
	stack_desc_free(&d);
	return r == 0 ? 0 : -1;
}

/* Create the stack and follow it to CREATE_COMPLETE; a stack that ends in
 * another state is summed up and what was left of it deleted. 0, or -1
 * after printing. */
static int create_stack(struct stackops *c, const struct create_opts *o, const char *template)
{
	struct stack_params sp = {
		.name = o->name, .template_body = template, .output_bucket = o->output_bucket,
		.input_bucket = o->input_bucket, .image = o->image, .batch_type = o->batch_type,
		.max_vcpus = o->max_vcpus, .s3fs = o->s3fs,
	};
	struct aws_error err = {0};
	struct buf failed = {0};
	char *status = NULL;
	int ret = -1;
	if (stackops_create(c, &sp, show_event, &failed, &status, &err) < 0) {
		say(&err);
	} else if (!status || strcmp(status, "CREATE_COMPLETE")) {
		warn("stack '%s' was not created (%s)%s", o->name, status ? status : "gone",
		     failed.len ? "; what failed:" : "");
		if (failed.len)
			fputs(failed.data, stderr);
		if (status) {
			warn("deleting what was left of stack '%s'", o->name);
			delete_and_wait(c, o->name);
		}
	} else {
		ret = 0;
	}
	aws_error_clear(&err);
	buf_free(&failed);
	free(status);
	return ret;
}

/* Remember the created stack and store the input bucket's key in its
 * secret. 0, or -1 after printing. */
static int finish_stack(struct stackops *c, const struct create_opts *o)
{
	struct stack_desc d;
	struct stack_info si;
	int ret = -1;
	if (describe(c, o->name, &d) <= 0) {
		warn("stack '%s' was created but cannot be read back", o->name);
		stack_desc_free(&d);
		return -1;
	}
	stackops_remember(c, &d, o->output_bucket, o->input_bucket, &si);
	stack_desc_free(&d);
	/* Remember it even when the secret cannot be stored: info and delete
	 * then work on it without a name. */
	struct aws_error err = {0};
	int saved = stack_save(&si, &err);
	if (saved < 0)
		say(&err);
	aws_error_clear(&err);
	struct stackops_config cfg = ops_config();
	if (!si.input_secret) {
		warn("stack '%s' has no InputSecret output: is the template rapid's?", o->name);
	} else if (stackops_put_secret(&cfg, si.input_secret, o->key_id, o->secret, &err) < 0) {
		if (!err.what)
			aws_error_what(&err, "use Secrets Manager", NULL);
		say(&err);
		warn("stack '%s' is created but its input secret is empty: delete it ('rapid stack delete') "
		     "and create it again", o->name);
	} else if (saved == 0) {
		char *f = stack_file();
		fprintf(stderr, "rapid: the input bucket's key is stored in %s\n", si.input_secret);
		printf("stack '%s' is ready (remembered in %s)\n", o->name, f);
		free(f);
		ret = 0;
	}
	aws_error_clear(&err);
	stack_info_free(&si);
	return ret;
}

static int stack_create(int argc, char **argv)
{
	struct create_opts o = {0};
	struct stackops *c = NULL;
	char *template = NULL;
	int ret = create_parse(argc, argv, &o);
	if (ret) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	ret = 1;
	if (create_ask(&o) < 0 || !(template = create_template(&o)) || !(c = ops_open()))
		goto out;
	fprintf(stderr, "rapid: creating stack '%s' in %s: output bucket s3://%s/, input bucket s3://%s/\n",
		o.name, stackops_region(c), o.output_bucket, o.input_bucket);
	if (check_bucket(o.output_bucket, stackops_region(c)) < 0 || check_new(c, o.name) < 0 ||
	    create_stack(c, &o, template) < 0 || finish_stack(c, &o) < 0)
		goto out;
	ret = 0;
out:
	stackops_close(c);
	free(template);
	create_opts_free(&o);
	return ret;
}

/* --name NAME, else the remembered stack's. NULL after printing. */
static char *stack_name(const char *given)
{
	if (given)
		return xstrdup(given);
	struct stack_info s;
	struct aws_error err = {0};
	int r = stack_load(&s, &err);
	if (r < 0)
		say(&err);
	aws_error_clear(&err);
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
static int open_named(int argc, char **argv, const char *cmd, bool *cli_args, char **name, struct stackops **c)
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
	if (!(*c = ops_open())) {
		free(*name);
		return 1;
	}
	return 0;
}

static int stack_info_cmd(int argc, char **argv)
{
	bool cli_args = false;
	char *name = NULL;
	struct stackops *c;
	int ret = open_named(argc, argv, "info", &cli_args, &name, &c);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	struct stack_desc d;
	int r = describe(c, name, &d);
	if (r == 0)
		warn("there is no stack '%s' in %s", name, stackops_region(c));
	if (r > 0 && cli_args) {
		const char *q = stack_desc_output(&d, "JobQueue"), *jd = stack_desc_output(&d, "JobDefinition");
		if (!q || !jd)
			warn("stack '%s' (%s) has no JobQueue and JobDefinition outputs", name, d.status);
		else {
			printf("--job-queue %s --job-definition %s\n", q, jd);
			ret = 0;
		}
	} else if (r > 0) {
		printf("stack:   %s (%s)\n", name, stackops_region(c));
		printf("status:  %s%s%s\n", d.status, *d.reason ? ": " : "", d.reason);
		printf("created: %s\n", *d.created ? d.created : "?");
		if (d.noutputs)
			printf("outputs:\n");
		for (size_t i = 0; i < d.noutputs; i++)
			printf("  %-20s %s\n", d.outputs[i].key, d.outputs[i].value);
		ret = 0;
	}
	stack_desc_free(&d);
	stackops_close(c);
	free(name);
	return ret;
}

/* Forget the remembered stack if it is name, saying why not if that fails. */
static void forget(const char *name)
{
	struct aws_error err = {0};
	if (stack_forget(name, &err) < 0)
		say(&err);
	aws_error_clear(&err);
}

static int stack_delete(int argc, char **argv)
{
	char *name = NULL;
	struct stackops *c;
	int ret = open_named(argc, argv, "delete", NULL, &name, &c);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	struct stack_desc d;
	int r = describe(c, name, &d);
	stack_desc_free(&d);
	if (r == 0) {
		warn("there is no stack '%s' in %s: nothing to delete", name, stackops_region(c));
		forget(name);
	} else if (r > 0) {
		fprintf(stderr, "rapid: deleting stack '%s' in %s\n", name, stackops_region(c));
		if (delete_and_wait(c, name) == 0) {
			printf("stack '%s' is deleted\n", name);
			forget(name);
			ret = 0;
		}
	}
	stackops_close(c);
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
