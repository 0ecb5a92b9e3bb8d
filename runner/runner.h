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
 * Exit status: 0 built (or already built), 1 the recipe failed, 2 a bad
 * spec or usage, 75 another runner holds the instance, 128 + N
 * interrupted by signal N.
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

#endif
