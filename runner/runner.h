/* runner.h - `rapid runner`: run one instance and record what happened.
 *
 * Local mode (the local executor's child): `rapid runner --spec FILE|-`
 * reads an instance spec (runner/spec.h), then
 *   1. claims the instance (sentinel_claim: a live claim elsewhere means
 *      exit 75; an existing ok sentinel means exit 0, nothing run);
 *   2. makes a scratch folder (layout_scratch) and gives
 *      each output a path in it (a directory output's path ends with '/');
 *   3. runs the recipe with execvp (never a shell), cwd = the scratch
 *      folder, stdin /dev/null, stdout+stderr into a pipe written to
 *      <log_dir><key>.log as it comes (its last 64 KiB also kept for the
 *      failure message); the
 *      timeout (if any) sends SIGTERM then SIGKILL 10 s later; SIGTERM
 *      or SIGINT to the runner is passed to the recipe; with a
 *      container (spec "container"), the recipe runs in the spec's image
 *      through that tool (runner/container.h), which is removed after a
 *      timeout or a signal, and the sentinels record the image's id;
 *   4. on exit 0, checks every output exists, records each output
 *      file's size and XXH3-128, removes every ok sentinel of the
 *      instance (any key; their folder synced), syncs and moves the
 *      outputs into place (rename; a directory replaces the old one as a
 *      whole), syncs the folders whose entries changed, writes the ok
 *      sentinel (synced with its folder) and prunes older ones; otherwise
 *      writes the failed sentinel (exit code or signal, reason) and
 *      prints the log's last lines on stderr;
 *   5. removes the scratch folder and the running sentinel.
 *   SIGTERM, SIGINT or SIGHUP to the runner stops it without recording a
 *   failure: the running sentinel stays, its body saying "interrupted by
 *   signal N", with no live runner (as after a SIGKILL), so the instance
 *   reads as interrupted.
 *
 * On S3 (the spec's root, inputs or outputs are s3:// URIs; spec.h): the
 * clients and credentials are runner/remote.h's (the input buckets may be
 * signed with the key pair of RAPID_INPUT_SECRET_ARN's secret), and
 *   1. claim (runner/sentinel_s3.h): one ListObjectsV2 of the instance's
 *      sentinel folder (an ok of the key: exit 0, nothing run; a live
 *      holder's running sentinel: exit 75, "held by HOLDER"; in a group,
 *      runner_run_group, one listing for all), then the claim object
 *      with If-None-Match: * (a 412: another runner won, exit 75) or,
 *      over a dead holder's claim, with If-Match on its ETag; then PUT
 *      <key>.running.<holder>.json when the instance starts;
 *   2. the scratch folder is local and the instance's across attempts:
 *      <spec scratch><key>/ (runner/layout.h); what an earlier attempt's
 *      recipe left there goes, its staged inputs stay; s3:// inputs are
 *      staged into it by parallel GETs, a prefix by ListObjectsV2 then a
 *      GET per object (runner/stage.h), reusing files already complete
 *      (size and ETag recorded beside them); local inputs stay local;
 *   3. the recipe runs as above, its log written to <scratch>.log and
 *      uploaded to <log_dir><key>.log every 30 s while it runs
 *      (RAPID_LOG_INTERVAL_S sets the interval, in seconds) and at the
 *      end;
 *   4. on exit 0, the outputs are checked and hashed (XXH3-128) as above,
 *      every ok sentinel of the instance (any key) is deleted, then every
 *      output file is uploaded (runner/upload.h: in parallel, multipart
 *      from RAPID_MULTIPART_THRESHOLD bytes or 16 MiB, an upload aborted
 *      when a part fails; a folder output replaces the old folder's
 *      objects when the instance was built before), each one's ETag kept;
 *   5. PUT <key>.ok.json recording each output's size, XXH3 and ETag
 *      (or <key>.failed.json with the reason, which is also printed),
 *      then the running sentinel, the claim and, after an ok, the older
 *      sentinels are deleted (one DeleteObjects), and the scratch folder
 *      is removed.
 *   SIGTERM, SIGINT or SIGHUP: passed on to the recipe; the log is
 *   uploaded, the running sentinel rewritten saying "interrupted by signal
 *   N", the claim deleted, the scratch folder kept for a retry. A runner
 *   killed outright leaves its claim and running sentinel: the next one
 *   judges the holder dead (sentinel_s3.h) and takes the claim over,
 *   aborting the multipart uploads left open under the outputs.
 * Exit status: 0 built (or already built), 1 the recipe failed (or S3
 * did), 2 a bad spec or usage, 75 another runner holds the instance, 128
 * + N interrupted by signal N.
 *
 * The spec is documented in runner/spec.h, the sentinels in
 * runner/sentinel.h, the folders in runner/layout.h. */
#ifndef RAPID_RUNNER_H
#define RAPID_RUNNER_H

#include <stddef.h>

#define RUNNER_EXIT_BUSY 75

/* Run the instance described by the spec text (what names it in messages).
 * The exit status above. The local executor calls it in a forked child, so
 * a runner costs a fork, not a new process image. */
int runner_run_spec(const char *text, size_t len, const char *what);

/* Called as each instance of a group ends, with its exit status. */
typedef void (*runner_done_fn)(void *arg, size_t index, int status);

/* Run n instances in order, as one Batch array child does for its
 * participant (texts[i] of lens[i] bytes, named whats[i] in messages):
 * the S3 ones have their sentinel folders listed once (their common
 * prefix: sentinel_s3.h) and are all claimed before the first starts;
 * then each runs as runner_run_spec would, done(arg, i, status) after
 * each. An interruption (status over 128) stops the group: done is not
 * called for the rest, whose claims are released. */
void runner_run_group(const char *const *texts, const size_t *lens, const char *const *whats, size_t n,
		      runner_done_fn done, void *arg);

#endif
