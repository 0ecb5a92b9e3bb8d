/* batch.h - AWS Batch (REST-JSON: POST /v1/<operation> with a JSON body,
 * signed "batch"), on aws/service's connection and HTTP engine: SubmitJob,
 * DescribeJobs, ListJobs, TerminateJob, CancelJob, DescribeJobDefinitions,
 * RegisterJobDefinition. Throttling (TooManyRequestsException, any 429),
 * 500, 502, 503, 504 and transport failures are retried with the standard
 * backoff by the engine; a ClientException (400) is not.
 *
 * Nothing here prints. A failed call fills a struct aws_error whose what
 * names the call and its object ("submit job 'rapid-maps-…-0'", "describe
 * jobs (3 ids)"). */
#ifndef RAPID_AWS_BATCH_H
#define RAPID_AWS_BATCH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "aws/error.h"

struct batch;

/* A client of the "Batch" endpoint (AWS_ENDPOINT_URL_BATCH, …) for
 * profile (NULL: AWS_PROFILE or "default"). NULL with *err without a
 * region or an endpoint. */
struct batch *batch_new(const char *profile, struct aws_error *err);
void batch_free(struct batch *);
/* HTTP requests made (attempts included). */
unsigned batch_requests(const struct batch *);
/* The region calls go to. Borrowed. */
const char *batch_region(const struct batch *);

/* A name=value pair (environment, tags). Borrowed strings. */
struct batch_kv {
	const char *name, *value;
};

/* One dependsOn entry: a job id and its type: NULL (the whole job) or
 * "N_TO_N" or "SEQUENTIAL". */
struct batch_dep {
	const char *job_id;
	const char *type;
};

/* SubmitJob. Every string borrowed. */
struct batch_submit {
	const char *job_name;       /* [A-Za-z0-9][A-Za-z0-9_-]{0,127} */
	const char *job_queue;      /* name or ARN */
	const char *job_definition; /* name, name:revision or ARN */
	size_t array_size;          /* 0: a plain job; else 2..10000 */
	const struct batch_dep *deps;
	size_t ndeps;               /* at most 20 */
	/* containerOverrides */
	const char *const *command; /* NULL: the definition's */
	size_t ncommand;
	const struct batch_kv *env;
	size_t nenv;
	long vcpus;                 /* resourceRequirements VCPU; 0: the definition's */
	long memory_mib;            /* resourceRequirements MEMORY; 0: the definition's */
	long gpus;                  /* resourceRequirements GPU; 0: none */
	long timeout_s;             /* timeout.attemptDurationSeconds (>= 60); 0: none */
	/* retryStrategy: attempts (1..10; 0: none given); when set, with
	 * evaluateOnExit [{onStatusReason "Host EC2*": RETRY},
	 * {onReason "*": EXIT}] */
	int attempts;
	const struct batch_kv *tags;
	size_t ntags;
	bool propagate_tags;
};

/* Whether Batch would take s, as far as can be told here (the name's
 * rules, array size 2..10000, at most 20 dependsOn, attempts 1..10, a
 * timeout of at least 60 s, no AWS_BATCH* variable, no aws: tag): 0, or
 * -1 with *err (AWS_ERR_CONFIG) whose what names the job. */
int batch_submit_check(const struct batch_submit *, struct aws_error *err);
/* Submit (batch_submit_check first); 0 with the new job's *job_id (the
 * caller frees), or -1. */
int batch_submit_job(struct batch *, const struct batch_submit *, char **job_id, struct aws_error *err);
/* The JSON body batch_submit_job sends (the caller frees): for dry runs
 * and tests. */
char *batch_submit_body(const struct batch_submit *);

/* Batch's job states, in their order. */
enum batch_state {
	BATCH_SUBMITTED,
	BATCH_PENDING,
	BATCH_RUNNABLE,
	BATCH_STARTING,
	BATCH_RUNNING,
	BATCH_SUCCEEDED,
	BATCH_FAILED,
	BATCH_NSTATES,
	BATCH_UNKNOWN = BATCH_NSTATES,
};
/* "SUBMITTED"… ; BATCH_UNKNOWN for anything else (a job whose status
 * this client does not know has state BATCH_UNKNOWN). */
enum batch_state batch_state_parse(const char *);
const char *batch_state_name(enum batch_state);
/* SUBMITTED..RUNNING: the job may still run. */
bool batch_state_alive(enum batch_state);

/* One job as DescribeJobs or ListJobs tells it. Strings owned (NULL when
 * absent). ListJobs tells no attempts, log stream, queue or array
 * summary: those are DescribeJobs'. */
struct batch_job {
	char *id;
	char *name;
	enum batch_state state;
	char *status_reason;      /* "Host EC2 (instance i-…) terminated."; the
	                             last attempt's when the job has none */
	long long created_ms, started_ms, stopped_ms; /* 0 when absent */
	/* arrayProperties: size (0: not an array parent), index (-1: not a
	 * child), and, for a parent, the children per state */
	size_t array_size;
	long array_index;
	size_t summary[BATCH_NSTATES];
	/* the last attempt's container once the job has ended, else the
	 * job's container block (the attempt under way): exit code
	 * (has_exit_code false when it never exited: a reclaimed host),
	 * reason ("OutOfMemoryError: …"), the CloudWatch log stream */
	bool has_exit_code;
	int exit_code;
	char *container_reason;
	char *log_stream;
	unsigned attempts;        /* attempts made */
	char *queue;              /* jobQueue (DescribeJobs) */
	char *definition;         /* jobDefinition (DescribeJobs) */
};
/* Free what one job holds (not the struct itself) and zero it. */
void batch_job_free(struct batch_job *);
/* Free n jobs and the array that holds them (NULL is a no-op). */
void batch_jobs_free(struct batch_job *, size_t n);

/* DescribeJobs of n ids, 100 a request. 0 with *out (n_out entries: jobs
 * Batch no longer knows are absent, in no particular order), or -1. */
int batch_describe_jobs(struct batch *, const char *const *ids, size_t n, struct batch_job **out, size_t *n_out,
			struct aws_error *err);

/* ListJobs: either the jobs of queue whose name matches name_filter (the
 * JOB_NAME filter: a trailing '*' is a prefix), whatever their status; or
 * the children of array_job_id in state (BATCH_UNKNOWN: every state, one
 * listing per state: without jobStatus ListJobs tells RUNNING jobs only);
 * or, with neither name_filter nor array_job_id, the jobs of queue in
 * state (the same). Every page is read (maxResults 1000 a request).
 * 0 with *out and *n_out (the caller frees with batch_jobs_free), or -1. */
struct batch_list {
	const char *queue;
	const char *name_filter;
	const char *array_job_id;
	enum batch_state state;
};
int batch_list_jobs(struct batch *, const struct batch_list *, struct batch_job **out, size_t *n_out,
		    struct aws_error *err);

/* TerminateJob / CancelJob with reason (required by Batch). */
int batch_terminate_job(struct batch *, const char *job_id, const char *reason, struct aws_error *err);
int batch_cancel_job(struct batch *, const char *job_id, const char *reason, struct aws_error *err);

/* DescribeJobDefinitions of one definition (name:revision or ARN; a bare
 * name: its latest ACTIVE revision). 0 with *def (the jobDefinitions
 * entry as Batch returned it, the highest revision when several come;
 * cJSON_Delete) or *def NULL when none exists, or -1. */
int batch_describe_job_definition(struct batch *, const char *name, cJSON **def, struct aws_error *err);
/* RegisterJobDefinition with body (a RegisterJobDefinition request:
 * jobDefinitionName, type, containerProperties…). 0 with *arn (the new
 * revision's ARN; the caller frees), or -1. */
int batch_register_job_definition(struct batch *, const cJSON *body, char **arn, struct aws_error *err);
/* The RegisterJobDefinition body that makes definition def (as
 * DescribeJobDefinitions returned it) again under name with only its
 * containerProperties.image replaced by image (NULL: kept): what Batch
 * echoes but does not take (ARN, revision, status,
 * containerOrchestrationType) left out, and the tags named aws:… (the
 * ones CloudFormation puts on what it creates), which Batch refuses.
 * name NULL: def's own. NULL when def is not a container definition.
 * cJSON_Delete it. */
cJSON *batch_definition_derive(const cJSON *def, const char *name, const char *image);

#endif
