/* stack.h - the remembered AWS stack: what `rapid stack create` made, so
 * that later commands (stack info and delete, the Batch backend) need no
 * name. One JSON file:
 *
 *   $RAPID_STACK_FILE, else $XDG_CONFIG_HOME/rapid/stack.json,
 *   else ~/.config/rapid/stack.json
 *
 *   {"schema": 1, "name": "rapid", "region": "us-east-1",
 *    "stack_id": "arn:aws:cloudformation:…", "job_queue": "arn:…",
 *    "job_definition": "arn:…", "compute_environment": "arn:…",
 *    "input_secret": "arn:…", "output_bucket": "…", "input_bucket": "…"}
 *
 * It holds ARNs and names only: never a secret. Nothing here prints: a
 * failure is a struct aws_error (kind AWS_ERR_LOCAL) for the caller. */
#ifndef RAPID_STACK_H
#define RAPID_STACK_H

struct aws_error;

/* Every string owned; NULL when unknown. */
struct stack_info {
	char *name, *region, *stack_id;
	char *job_queue, *job_definition, *compute_environment, *input_secret;
	char *output_bucket, *input_bucket;
};

/* The file's path. The caller frees. */
char *stack_file(void);
/* Read the remembered stack: 1 and *out filled, 0 when none is
 * remembered, -1 with *err (unreadable or malformed file). */
int stack_load(struct stack_info *out, struct aws_error *err);
/* Remember s (replacing any other), atomically. 0, or -1 with *err. */
int stack_save(const struct stack_info *s, struct aws_error *err);
/* Forget the remembered stack if it is called name (any if NULL). 0, or
 * -1 with *err. */
int stack_forget(const char *name, struct aws_error *err);
void stack_info_free(struct stack_info *);

#endif
