/* layout.h - every path under .rapid/, in one place.
 *
 * Under an output root (a local folder or s3://bucket/prefix/; root ends
 * with '/'):
 *   <root>.rapid/sentinels/<target>/<w1>/<w2>/.../   sentinels (sentinel.h)
 *   <root>.rapid/logs/<target>/<w1>/.../<key>.log    log tails
 *   <root>.rapid/scratch/<key>.<pid>/                a runner's scratch folder
 *   <root>.rapid/trash/<key>.<pid>/                  old outputs on their way out
 *   <root>.rapid/submissions/                        batch submissions
 * Beside the Rapidfile (dir ends with '/' or is a folder path):
 *   <dir>/.rapid/state/                              the LMDB state cache
 *   <dir>/.rapid/scratch/<key>/                      scratch folders of an S3
 *                                                    root's instances (kept
 *                                                    across attempts: resumable)
 * Inside a scratch folder (<scratch> ends with '/'), beside the outputs:
 *   <scratch>.in/<input>/...                         staged S3 inputs
 *   <scratch>.staged/<input>/...                     "<size> <etag>" of each one
 *                                                    completely staged
 *   <scratch>.log                                    the log, before its upload
 * Wildcard values are valid ids, so each is one path component. Every
 * function returns a malloc'd string the caller frees; folders end with
 * '/' except the state folder. */
#ifndef RAPID_RUNNER_LAYOUT_H
#define RAPID_RUNNER_LAYOUT_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* <root>.rapid/sentinels/<target>/ */
char *layout_sentinel_root(const char *root, const char *target);
/* Append <root>.rapid/sentinels/<target>/ to b (no allocation when b has room). */
void layout_put_sentinel_root(struct buf *b, const char *root, const char *target);
/* <root>.rapid/sentinels/<target>/<v0>/.../<vn-1>/ */
char *layout_sentinel_dir(const char *root, const char *target,
			  const char *const *values, size_t nvalues);
/* <root>.rapid/logs/<target>/<v0>/.../<vn-1>/ */
char *layout_log_dir(const char *root, const char *target,
		     const char *const *values, size_t nvalues);
/* <log_dir><key>.log */
char *layout_log_file(const char *log_dir, const char *key);
/* <root>.rapid/scratch/ and <root>.rapid/scratch/<key>.<pid>/ */
char *layout_scratch_root(const char *root);
char *layout_scratch(const char *root, const char *key, pid_t pid);
/* <dir>/.rapid/scratch/ (dir: a local folder, the Rapidfile's). */
char *layout_local_scratch_root(const char *dir);
/* <scratch_root><key>/: an S3 root's instance scratch, the same for
 * every attempt. */
char *layout_resumable_scratch(const char *scratch_root, const char *key);
/* <scratch>.in/<input>/, <scratch>.staged/<input>/, <scratch>.log */
char *layout_stage_dir(const char *scratch, const char *input);
char *layout_stage_record_dir(const char *scratch, const char *input);
char *layout_scratch_log(const char *scratch);
/* Whether name (a scratch folder's entry) is one of those above, which
 * are not outputs. */
int layout_scratch_private(const char *name);
/* <root>.rapid/trash/ and <root>.rapid/trash/<key>.<pid>/ */
char *layout_trash_root(const char *root);
char *layout_trash(const char *root, const char *key, pid_t pid);
/* <root>.rapid/submissions/ */
char *layout_submissions(const char *root);
/* <dir>/.rapid/state (the Rapidfile's folder). */
char *layout_state_dir(const char *dir);

#endif
