/* spec.h - the runner's instance spec (schema 1, documented in runner.h),
 * parsed and validated. Everything lives in one arena freed by spec_free. */
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

struct spec_input {
	const char *name, *uri;
	const char *path;        /* "" when absent */
	const char *fingerprint; /* NULL when none */
	bool optional, present;
};

struct spec_output {
	const char *name, *uri;
	const char *path; /* destination; a directory's ends with '/' */
	bool dir;
};

struct spec {
	struct arena *arena;
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
	struct spec_pair *env;
	size_t nenv;
	long timeout_s; /* 0: none */
	bool force;     /* run even when an ok sentinel exists */
	struct spec_pair *components;
	size_t ncomponents;
};

/* Parse a spec from text (len bytes). NULL on failure with *err set to a
 * malloc'd description of what is wrong (the caller frees). The caller
 * frees the spec with spec_free. */
struct spec *spec_parse(const char *text, size_t len, char **err);
void spec_free(struct spec *);

/* "TARGET w1=v1 w2=v2", for messages. The caller frees. */
char *spec_label(const struct spec *);

#endif
