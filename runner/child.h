/* child.h - `rapid runner` as a Batch job's command: the array child
 * of a submission chunk (--manifest), and rapidtide-cloud's job scripts
 * (--exec).
 *
 * The array index: --index N, else AWS_BATCH_JOB_ARRAY_INDEX, else 0 (a
 * chunk of one participant is a plain job, without the variable).
 *
 * runner_run_manifest(URI of manifest.jsonl, index): two ranged GETs, the
 * record of the index in manifest.idx beside it, then its line of
 * manifest.jsonl (the format: runner/manifest.h); then the provenance of
 * the job (runner/provenance.h) for the sentinels; then each of the
 * participant's instances in order through runner_run_spec, one line on
 * stderr per instance saying what came of it, and a summary.
 *
 * runner_exec_array(index, argv): GET s3://$OUTPUT_BUCKET/config/
 * $PARTICIPANT_ARRAY_FILE (OUTPUT_BUCKET a bucket name, or s3://NAME), its
 * line index + 1 (runner/participants.h) exported as
 * PARTICIPANT_FROM_ARRAY, then execvp(argv[0], argv): no shell. */
#ifndef RAPID_RUNNER_CHILD_H
#define RAPID_RUNNER_CHILD_H

/* The array index from arg (--index's value; NULL when not given), else
 * the environment, else 0; *given says whether one of the first two said
 * it. 0, or -1 with *err (the caller frees) when the value is not a
 * number from 0 to 999,999,999. */
int runner_array_index(const char *arg, long *index, int *given, char **err);

/* Run the instances of line index of the manifest at uri (s3://…,
 * ending in .jsonl); given: whether the index was given (it is then
 * recorded in the sentinels). The exit status: 0 when every instance
 * succeeded, was built already, or is held by another runner (which
 * finishes it); 1 when an instance failed or the manifest cannot be read
 * (an index past its end included); 2 for a URI that is not a manifest's;
 * 128 + N when signal N stopped it (the instances after it are not
 * started). */
int runner_run_manifest(const char *uri, long index, int given);

/* Export PARTICIPANT_FROM_ARRAY and exec argv (NULL-terminated, at least
 * one word). Returns only on failure, with the exit status: 2 when
 * OUTPUT_BUCKET or PARTICIPANT_ARRAY_FILE is unset or malformed, 1 when
 * the file cannot be read, is too short or its line is not an id, 127
 * (126) when the command is not found (cannot be run). */
int runner_exec_array(long index, char *const argv[]);

#endif
