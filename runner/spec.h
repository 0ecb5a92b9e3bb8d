/* spec.h - the runner's instance spec: what one instance is, as the
 * engine hands it to `rapid runner` (the local executor in a forked
 * child, a Batch manifest line in a container). This module is its one
 * encoder (spec_encode) and its one parser (spec_parse). Everything a
 * parsed spec holds lives in one arena freed by spec_free.
 *
 * The format (JSON, schema 1):
 * {
 *   "schema": 1,
 *   "target": "rapidtide",
 *   "wildcards": [["participant","100307"],["run","REST1_LR"]],
 *   "key": "<32 hex>",
 *   "root": "/abs/out/",
 *   "sentinel_dir": "/abs/out/.rapid/sentinels/rapidtide/100307/REST1_LR/",
 *   "log_dir": "/abs/out/.rapid/logs/rapidtide/100307/REST1_LR/",
 *   "argv": [["rapidtide"], [{"input":"bold"}], [{"output":"dir"}, "sub-100307"]],
 *   "command": ["rapidtide", "in/bold.nii.gz", "out/100307/sub-100307"],
 *   "inputs": [{"name":"bold", "uri":"in/bold.nii.gz", "path":"/abs/in/bold.nii.gz",
 *               "optional":false, "present":true, "fingerprint":"size=1 xxh3=..."}],
 *   "outputs": [{"name":"dir", "uri":"out/100307/", "path":"/abs/out/100307/", "dir":true}],
 *   "image": "fredericklab/rapidtide:3.2.0" or null,
 *   "container": "podman" or "docker" or null,
 *   "env": [["NAME","value"]],
 *   "timeout_s": 36000 or null,
 *   "components": [["command","rapidtide in/bold.nii.gz ..."], ["image","..."], ...],
 *   "force": false,
 *   "workdir": "/abs/project/" or null
 * }
 * The folders come from runner/layout.h. wildcards, command, inputs,
 * image, container, env, timeout_s, components, force and workdir may be left out
 * (empty, null, false); "optional" defaults to false and "present" to true; an
 * absent input's path and fingerprint may be null. force: run even when
 * an ok sentinel for the key exists (build --force). Relative local paths
 * are taken from the runner's working folder; fields this version does not
 * know are ignored. argv words are lists of segments: a string is literal
 * text (wildcards are already substituted), {"input":NAME} /
 * {"output":NAME} is that file's local path (an absent optional input is
 * the empty string). workdir: the folder the recipe runs in (the local
 * executor gives the Rapidfile's directory, as make runs recipes where
 * the Makefile is); null or absent: the instance's scratch folder, which
 * is where a container runs it. A relative workdir is taken from the
 * runner's working folder. container: the tool (runner/container.h) that
 * runs the recipe in image on this machine, in its scratch folder (the
 * workdir is then not used); null or absent: the recipe runs here
 * without a container. A container needs an image.
 *
 * S3 (still schema 1): root, sentinel_dir and log_dir may be
 * s3://bucket/prefix/ URIs, and so may an input's path, a gathered
 * entry's path and an output's path (a trailing '/' naming a prefix, that
 * is a folder). The runner then stages each s3:// input into its scratch
 * folder and uploads each s3:// output (runner/runner.h says how); local
 * paths stay local. With an S3 root the scratch folders are local, under
 * "scratch": "/abs/project/.rapid/scratch/" (optional; the local executor
 * gives the folder beside the Rapidfile, runner/layout.h; null or absent:
 * .rapid/scratch/ in the runner's working folder). workdir and scratch
 * are always local. A runner that predates this rejects nothing but
 * misreads an s3:// path as a relative local one, which then fails as a
 * missing input ("cannot stat").
 *
 * A gathering input (one that reads several upstream instances, in
 * order) has a "gathered" list instead of one path:
 *   {"name":"maps", "uri":"rapidtide.dir", "path":null, "optional":false,
 *    "present":true, "fingerprint":"gathered 3 of 4",
 *    "gathered":[{"uri":"out/1/REST1_LR/", "path":"/abs/out/1/REST1_LR/",
 *                 "fingerprint":"key=..."}, ...]}
 * "path" is then null or left out, and "present" says whether the list
 * is not empty (a required input's list must not be). A word holding
 * {"input":NAME} of a gathering input becomes one argv word per entry,
 * in order, the word's other segments repeated in each (none when the
 * list is empty); a word may hold segments of one gathering input only.
 * A spec without "gathered" anywhere reads as before, and a runner that
 * predates the list rejects such a spec (a present input's path must be a
 * string) rather than running it with the wrong words. */
#ifndef RAPID_RUNNER_SPEC_H
#define RAPID_RUNNER_SPEC_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

struct spec_pair {
	const char *name, *value;
};

enum spec_seg_kind { SPEC_SEG_TEXT, SPEC_SEG_INPUT, SPEC_SEG_OUTPUT };

/* One piece of an argv word: literal text, or an input's / output's local
 * path (index into spec.inputs / spec.outputs). */
struct spec_seg {
	enum spec_seg_kind kind;
	const char *text;
	size_t index;
};

struct spec_word {
	struct spec_seg *segs;
	size_t nsegs;
};

/* One upstream instance a gathering input reads. */
struct spec_gathered {
	const char *uri, *path;
	const char *fingerprint; /* NULL when none */
};

struct spec_input {
	const char *name, *uri;
	const char *path;        /* "" when absent or gathering */
	const char *fingerprint; /* NULL when none */
	bool optional, present;
	bool gather;             /* a gathering input: the paths are in gathered */
	struct spec_gathered *gathered;
	size_t ngathered;
};

struct spec_output {
	const char *name, *uri;
	const char *path; /* destination; a directory's ends with '/' */
	bool dir;
};

struct spec {
	struct arena *arena;       /* what spec_parse allocated; NULL when filled by hand */
	const char *target;
	struct spec_pair *wildcards;
	size_t nwildcards;
	char key[33];
	const char *root, *sentinel_dir, *log_dir; /* each ends with '/' */
	struct spec_word *argv;
	size_t nargv;
	const char **command;
	size_t ncommand;
	struct spec_input *inputs;
	size_t ninputs;
	struct spec_output *outputs;
	size_t noutputs;
	const char *image; /* NULL when none */
	const char *container; /* "podman", "docker": runs the recipe in image; NULL: none */
	struct spec_pair *env;
	size_t nenv;
	long timeout_s; /* 0: none */
	bool force;     /* run even when an ok sentinel exists */
	const char *workdir; /* where the recipe runs; NULL: the scratch folder */
	const char *scratch; /* local folder of scratch folders for an S3 root
			      * (ends with '/'); NULL: ./.rapid/scratch/ */
	struct spec_pair *components;
	size_t ncomponents;
};

/* The spec as JSON text (schema 1, above), NUL-terminated, *len bytes.
 * Its strings may hold any byte but NUL. NULL only when memory ran out.
 * The caller frees. The spec may be filled by hand (arena NULL). */
char *spec_encode(const struct spec *, size_t *len);

/* Parse a spec from text (len bytes). NULL on failure with *err set to a
 * malloc'd description of what is wrong (the caller frees). The caller
 * frees the spec with spec_free. */
struct spec *spec_parse(const char *text, size_t len, char **err);
void spec_free(struct spec *);

/* "TARGET w1=v1 w2=v2", for messages. The caller frees. */
char *spec_label(const struct spec *);

#endif
