/* rules.h - the Rapidfile language: load a Rapidfile (with its includes and
 * command-line overrides) into targets whose strings are compiled templates.
 *
 * Everything returned by rules_load lives until rules_free. Errors are
 * reported once on stderr as "rapid: FILE:LINE:COL: message" and make the
 * call return -1; nothing is printed on success except warnings.
 *
 * rules/ does no I/O beyond reading files: list(s3://...) and
 * file(s3://...) are handed to the caller's hooks, or left unevaluated
 * (offline checking). */
#ifndef RAPID_RULES_H
#define RAPID_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Where something was written. file is borrowed from the rapidfile. */
struct loc {
	const char *file;
	int line, col;
};

/* A compiled string template: literal text and {placeholders}.
 * $(VARIABLES) are already expanded; {{ and }} became literal braces. */
enum seg_kind { SEG_LIT, SEG_REF };
struct seg {
	enum seg_kind kind;
	const char *text; /* SEG_LIT: the text (NUL-terminated) */
	size_t len;       /* SEG_LIT: strlen(text) */
	int ref;          /* SEG_REF: index into the target's symbols (below) */
};
struct tmpl {
	struct seg *segs;
	size_t nsegs;     /* 0 for an empty word (run ... '' ...) */
	struct loc loc;
};

/* A set of words, each with where it came from (a Rapidfile position or a
 * line of a file() list). Values are valid ids (see rules_valid_id).
 * A deferred set has n == 0 (its values are unknown until the hooks run).
 * Values and origins may be shared by several targets: read-only. */
struct set {
	char **v;
	struct loc *origin;
	size_t n;
	bool deferred;       /* contains list()/file() of s3:// not evaluated */
	char *deferred_what; /* e.g. "list(s3://hcp-openaccess/HCP_1200/)" */
};

/* At most this many wildcards (foreach lines) in one target: checked
 * where they are declared, so no later stage meets more. */
#define RULES_MAX_WILDCARDS 64

struct wildcard {
	char *name;
	struct set values;
	struct loc loc;
};

struct target;

struct input {
	char *name;
	bool optional;        /* input? */
	struct tmpl uri;      /* may use wildcards only; unused when up != NULL */
	struct target *up;    /* NAME = target.output: the upstream target */
	int up_output;        /* index into up->outputs; -1 when up is NULL */
	/* Gathering (fan-in): up has wildcards this target lacks, so the
	 * input reads every instance of up that agrees on the wildcards
	 * both have, in set order, and {name} in a run word makes one word
	 * per gathered instance (at most one gathered input per word). */
	bool gather;
	struct loc loc;
};

struct output {
	char *name;
	struct tmpl uri;      /* may use wildcards only */
	bool is_dir;          /* the URI ends with '/' */
	struct loc loc;
};

/* An optional word group of a run line, "[[ --brainmask {mask} ]]": its
 * words are kept only when every optional input they name is present. */
struct word_group {
	size_t *inputs;       /* the optional inputs named inside (input indices) */
	size_t ninputs;       /* at least 1 */
	struct loc loc;       /* the "[[" */
};

/* A literal run word, or a word of an "sh -c" script, that may name a
 * file beside the Rapidfile (see rules_warn_recipe_files). */
enum recipe_word_kind { RW_PROGRAM, RW_ARGUMENT, RW_SCRIPT };
struct recipe_word {
	const char *text;
	struct loc loc;
	enum recipe_word_kind kind;
};

struct env_entry {
	char *name, *value;
	struct loc loc;
};

/* Symbols a template may refer to: index i means
 *   i < nwildcards                         wildcards[i]
 *   i < nwildcards + ninputs               inputs[i - nwildcards]
 *   otherwise                              outputs[i - nwildcards - ninputs]
 * Input and output URIs refer to wildcards only. */
struct target {
	char *name;
	struct loc loc;
	int index;                /* position in rapidfile->targets */
	struct wildcard *wildcards;
	size_t nwildcards;
	struct input *inputs;
	size_t ninputs;
	struct output *outputs;
	size_t noutputs;
	char *image;              /* NULL when not given */
	long memory_mib;          /* -1 when not given */
	long vcpus;               /* -1 when not given */
	long timeout_s;           /* -1 when not given */
	long retries;             /* -1 when not given */
	struct env_entry *env;
	size_t nenv;
	struct tmpl *argv;        /* the run line, one template per word */
	size_t nargv;
	/* argv_group[a]: the word group of word a, or -1 outside every
	 * group; NULL when the run line has no "[[ ... ]]". The "[[" and
	 * "]]" themselves are not words of argv. */
	int *argv_group;
	struct word_group *groups;
	size_t ngroups;
	/* The first few run words that may be paths (one each). */
	struct recipe_word *rwords;
	size_t nrwords;
	struct loc run_loc;
	/* The static prefix of the outputs up to the last '/' before the first
	 * placeholder (after $() expansion); the target's sentinels live
	 * under it (runner/layout.h). Always ends with '/'. Relative
	 * local roots are relative to the main Rapidfile's directory. */
	char *root;
};

struct rapidfile {
	char *path;     /* the main Rapidfile as given */
	char *dir;      /* its directory: relative paths resolve against it */
	struct target **targets; /* in dependency order: upstream first */
	size_t ntargets;
	/* Every file read (Rapidfile, includes, file() lists), for messages. */
	char **files;
	size_t nfiles;
};

/* Hooks for set functions that need the network. Each returns 0 and fills
 * words/n (malloc'd array of malloc'd strings, caller of the hook frees),
 * or -1 after printing an error naming the URI. */
struct rules_hooks {
	void *ctx;
	/* list(s3://bucket/prefix/): the sub-folder names under prefix. */
	int (*list)(void *ctx, const char *uri, char ***words, size_t *n);
	/* file(s3://bucket/key): the object's bytes. */
	int (*fetch)(void *ctx, const char *uri, char **data, size_t *len);
};

struct rules_opts {
	/* "NAME=value" overrides from the command line; win over every
	 * assignment in the files. */
	char **overrides;
	size_t noverrides;
	/* NULL hooks, or a NULL member: s3:// set functions stay deferred
	 * (struct set.deferred) instead of being evaluated. */
	const struct rules_hooks *hooks;
};

/* Load path and everything it includes. 0 and *out on success; -1 after
 * printing every error found (at most 20) as FILE:LINE:COL: message. */
int rules_load(const char *path, const struct rules_opts *, struct rapidfile **out);
void rules_free(struct rapidfile *);

/* Look up a target by name; NULL if the Rapidfile has none. Borrowed. */
struct target *rules_target(const struct rapidfile *, const char *name);

/* Whether run word a of t is kept for an instance whose input k is
 * present when present[k] (a word outside every group always is). */
bool rules_word_kept(const struct target *t, size_t a, const bool *present);

/* Warn, once per target and word, about each run word (or word of an
 * "sh -c" script) that names an existing regular file relative to the
 * Rapidfile's directory and is not an input of its target: the recipe
 * reads it, but its changes rebuild nothing and no container gets it.
 * Looks at the file system (stat) only. How many it warned about. */
size_t rules_warn_recipe_files(const struct rapidfile *);

/* Name of symbol i of t (wildcard, input or output name). Borrowed. */
const char *rules_symbol_name(const struct target *t, int i);

/* A template as text, placeholders as {name}, for messages and display
 * (literal braces are not doubled). Never NULL; the caller frees. */
char *rules_tmpl_text(const struct target *t, const struct tmpl *);

/* Whether s is a valid participant id / wildcard value:
 * [A-Za-z0-9][A-Za-z0-9._-]* and at most RULES_ID_MAX bytes. On failure
 * *why (if not NULL) points to a static explanation. */
#define RULES_ID_MAX 255
bool rules_valid_id(const char *s, const char **why);

#endif
