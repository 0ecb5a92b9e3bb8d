/* submit.h - the batch backend: a submission is the frozen plan of every
 * stale instance of the selected targets, written under the output root
 * and submitted as AWS Batch jobs, one array child per participant.
 *
 * Under <root>.rapid/submissions/<id>/ (the id: UTC time and random,
 * "20261202T031500Z-7f3a"):
 *   submission.json               under the first target's root: id,
 *                                 created, rapid's version, the Rapidfile's
 *                                 digest, the queue, every target (root,
 *                                 chunks, job definition, dependencies)
 *   <target>/<chunk>/participants.txt  array index i is line i + 1
 *   <target>/<chunk>/manifest.jsonl    and manifest.idx (runner/manifest.h)
 *   <target>/<chunk>/chunk.json        its job name and queue: what finding
 *                                 its job again takes
 *   <target>/<chunk>/jobs.json         after SubmitJob: job id, name, size
 *   <target>/<chunk>/submitted.<job id>  empty: the job id in the listing,
 *                                 so reading a submission's state takes one
 *                                 LIST and no GET
 *   ended                          empty, under each root: every job of it
 *                                 whose chunk is under that root has ended
 *                                 (later plans do not ask Batch about them)
 * <root>.rapid/submissions/LOCK   a build submitting now (a conditional PUT
 *                                 with a lease): a second build waits for
 *                                 it, or reports it.
 *
 * Exactly once: every file but jobs.json and the marker is written before
 * the first SubmitJob; a chunk that has a manifest and no submitted marker
 * is reconciled (ListJobs on the queue chunk.json names, with its job
 * name) before anything is submitted again, under the LOCK. */
#ifndef RAPID_SUBMIT_H
#define RAPID_SUBMIT_H

#include "engine/plan.h"

#include <stdbool.h>
#include <stdio.h>

struct submit_opts {
	const char *queue;        /* job queue (name or ARN) */
	const char *definition;   /* the job definition the images derive from */
	bool dry_run;             /* print what would be submitted; submit nothing */
	/* Environment every child gets (beside what the definition has):
	 * "NAME=value" words, borrowed. */
	const char *const *env;
	size_t nenv;
};

/* Freeze and submit every stale instance of the selected targets of p.
 * Prints what it submitted (or would) on stdout, progress and problems
 * on stderr. The exit status: 0 when everything stale was submitted (or
 * was queued already), 1 on a failure (reported), 2 when the Rapidfile
 * cannot run on Batch (a local root or input; reported). */
int submit_build(struct plan *p, const struct submit_opts *);

/* The open submissions under the roots of p's selected targets: mark
 * each stale instance whose participant is in a chunk Batch still runs
 * (SUBMITTED…RUNNING) as running, reason R_QUEUED, with the job id in its
 * why. One LIST per distinct S3 root, one DescribeJobs per 100 chunk
 * jobs, one GET of participants.txt per alive chunk. 0, or -1 after
 * printing why. */
int submit_mark_queued(struct plan *p);

/* rapid cancel: TerminateJob every alive job of p->jobs (submit_mark_queued
 * filled them) of the submissions named in subs or of the targets named
 * in targets (every one when both are empty). Batch passes SIGTERM to the
 * running children, whose runners record their instances interrupted, and
 * drops the children that had not started. One line on stdout per job.
 * 0 (nothing alive is not a failure), or 1 after printing why. */
int submit_cancel(struct plan *p, const char *const *subs, size_t nsubs, const char *const *targets,
		  size_t ntargets);

/* A child of an open submission's job that Batch says failed. */
struct failed_child {
	const char *participant;      /* its line of participants.txt; NULL when unknown */
	long index;                   /* its array index; -1 for a plain job */
	const char *job_id;           /* the child's own id */
	const char *reason;           /* Batch's statusReason, or NULL */
	const char *container_reason; /* "OutOfMemoryError: …", or NULL */
	bool has_exit_code;           /* false when its container never exited */
	int exit_code;
	const char *log_stream;       /* CloudWatch log stream, or NULL */
};
typedef void (*submit_failed_fn)(void *ctx, const struct plan_job *, const struct failed_child *);

/* Every failed child of job j (one ListJobs of its FAILED children; a
 * plain job is its own child), to fn. 0, or -1 after printing why. */
int submit_failed_children(struct plan *p, const struct plan_job *j, submit_failed_fn fn, void *ctx);

/* The CloudWatch log stream of Batch job job_id (DescribeJobs). 0 and
 * *stream (NULL when Batch names none; the caller frees), or -1 after
 * printing why. */
int submit_log_stream(const char *job_id, char **stream);

/* Whether word looks like a submission id ("20261202T031500Z-7f3a"). */
bool submit_id_like(const char *word);

#endif
