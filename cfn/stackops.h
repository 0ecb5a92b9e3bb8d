/* stackops.h - the stack operations, over CloudFormation and Secrets
 * Manager (aws/service.h): describe a stack, create one from the template
 * and follow its events until it settles, delete one and follow it until
 * gone, store the input bucket's key in the stack's secret. cfn/stack.h is
 * the remembered stack.
 *
 * Nothing here prints or prompts: events go to a callback the caller
 * gives, results come back as structs and failures as a struct aws_error
 * for the caller to report once. */
#ifndef RAPID_CFN_STACKOPS_H
#define RAPID_CFN_STACKOPS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/conn.h"
#include "aws/error.h"

struct stack_info;
/* A CloudFormation client and what following a stack needs. Opaque. */
struct stackops;

struct stackops_config {
	const char *profile;  /* NULL: AWS_PROFILE or "default" */
	unsigned poll_ms;     /* between DescribeStacks while following: 5000 */
	aws_notice_fn notice; /* warnings that fail nothing; NULL: none */
	void *notice_arg;
};

/* One stack event, oldest first. Borrowed for the call; a field that
 * CloudFormation left out is "" (time "--:--:--"). */
struct stack_event {
	const char *time;        /* "12:00:01" (UTC) */
	const char *status;      /* "CREATE_FAILED" */
	const char *logical_id;  /* "JobQueue" */
	const char *type;        /* "AWS::Batch::JobQueue" */
	const char *reason;      /* ResourceStatusReason */
};
typedef void (*stack_event_fn)(const struct stack_event *, void *arg);

/* A described stack. Every string owned; "" when absent. */
struct stack_output {
	char *key, *value;
};
struct stack_desc {
	char *name, *stack_id, *status, *reason, *created;
	struct stack_output *outputs;
	size_t noutputs;
};
void stack_desc_free(struct stack_desc *);
/* The value of output key; NULL if the stack has none. Borrowed. */
const char *stack_desc_output(const struct stack_desc *, const char *key);

/* NULL with *err when there is no region or endpoint. */
struct stackops *stackops_open(const struct stackops_config *, struct aws_error *err);
void stackops_close(struct stackops *);
/* The region the stacks are in. Borrowed. */
const char *stackops_region(const struct stackops *);

/* DescribeStacks: 1 and *out, 0 when there is no such stack, -1 with *err. */
int stackops_describe(struct stackops *, const char *name, struct stack_desc *out, struct aws_error *err);

/* What a stack is created with (borrowed; NULL: the template's default). */
struct stack_params {
	const char *name, *template_body, *output_bucket, *input_bucket;
	const char *image, *batch_type, *max_vcpus;
	bool s3fs;
};

/* CreateStack, then follow the stack (each new event to on_event) until it
 * leaves the *_IN_PROGRESS states. 0 and *status, the state it ended in
 * (the caller frees; NULL when the stack is gone), or -1 with *err. */
int stackops_create(struct stackops *, const struct stack_params *, stack_event_fn on_event, void *arg,
		    char **status, struct aws_error *err);
/* DeleteStack, then follow it as stackops_create does. 0 and *status
 * (NULL when gone, else the state it ended in), or -1 with *err. */
int stackops_delete(struct stackops *, const char *name, stack_event_fn on_event, void *arg, char **status,
		    struct aws_error *err);

/* What to remember of a created stack: its name, region and id, its
 * outputs (JobQueue, JobDefinition, ComputeEnvironment, InputSecret) and
 * the buckets it was made for. Free with stack_info_free. */
void stackops_remember(const struct stackops *, const struct stack_desc *, const char *output_bucket,
		       const char *input_bucket, struct stack_info *out);

/* PutSecretValue of {"IBS3SECRET":"KEY:SECRET"} into the secret arn (with
 * the profile's credentials). Every copy of the secret is zeroed before it
 * is freed; none enters *err. 0, or -1 with *err. */
int stackops_put_secret(const struct stackops_config *, const char *arn, const char *key_id, const char *secret,
			struct aws_error *err);

#endif
