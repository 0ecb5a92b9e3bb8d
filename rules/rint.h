/* rint.h - private to rules/: the loader's context and the helpers its
 * files share (positioned text, errors, variables, sets, templates).
 *
 * Every string the loader looks at is a struct text: bytes plus the
 * physical position (file line and column) of each byte, so that an error
 * found after joining continuation lines, expanding $(VARIABLES) or
 * removing quotes still points into the file the user wrote. */
#ifndef RAPID_RULES_RINT_H
#define RAPID_RULES_RINT_H

#include "lib/util.h"
#include "rules/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RL_MAX_ERRORS 20
#define RL_MAX_INCLUDE_DEPTH 16
/* $(A) whose value uses $(B) whose value uses ... : at most this deep. */
#define RL_MAX_VAR_DEPTH 256
/* The most bytes of one file read (a Rapidfile, an include, an ids file),
 * and of one expansion of $(...) (1 << 24 is "16 MiB" in messages). */
#define RL_MAX_FILE ((size_t)1 << 24)

struct pos {
	int line, col;
};

/* Bytes with positions: p has n + 1 entries, p[n] being just past the
 * end (where "missing value" errors point). file NULL: the command line. */
struct text {
	const char *s;
	const struct pos *p;
	size_t n;
	const char *file;
};

/* A growable struct text. */
struct tbuf {
	struct buf b;
	struct pos *p;
	size_t cap;
	const char *file;
};

/* A logical line: comments removed, continuations joined, leading and
 * trailing blanks trimmed. Never empty. */
struct line {
	struct text t;
	bool indented;
};

/* The result of a set expression while loading (malloc'd arrays, strings
 * in the result arena). */
struct sres {
	char **v;
	struct loc *o;
	size_t n, cap;
	bool deferred;
	const char *what; /* the first deferred part */
	bool failed;      /* errors were reported while evaluating */
};

struct var {
	char *name;
	struct text raw;   /* the value as written, unexpanded */
	struct loc loc;    /* where the assignment's name is */
	bool override;     /* from the command line: assignments are ignored */
	bool known;        /* assigned in a file, or used by a $(NAME) */
	bool busy;         /* being expanded (cycle detection) */
	int set_state;     /* 0 not evaluated as a set, 1 done */
	struct sres set;   /* its value as a set expression, cached */
};

/* map.c: names (bytes and length, borrowed) to pointers. Zeroed is
 * empty. probes counts the slots looked at, which stays within a small
 * factor of the operations however many names there are. */
struct rl_map_slot;
struct rl_map {
	struct rl_map_slot *slot;
	size_t cap, n;
	size_t probes;
};
/* The value of key, or NULL when it is not there. */
void *rl_map_get(struct rl_map *, const char *key, size_t n);
/* Set key (which must outlive the map) to val, replacing any value. */
void rl_map_put(struct rl_map *, const char *key, size_t n, void *val);
void rl_map_free(struct rl_map *);

struct rawtarget;
struct cache_entry;

struct rctx {
	struct arena *A;   /* lives as long as the rapidfile */
	struct arena *T;   /* temporary: freed when rules_load returns */
	struct rapidfile *rf;
	const struct rules_hooks *hooks;
	int nerr;
	bool stop;         /* too many errors: stop reporting and working */
	char *msgs[RL_MAX_ERRORS];
	int nmsgs;
	struct var **vars;
	size_t nvars, capvars;
	struct rl_map varmap;  /* name -> struct var */
	struct rl_map undef;   /* an undefined name -> its hint (vars.c) */
	struct var **stack; /* variables being expanded, outermost first */
	size_t nstack, capstack;
	struct rawtarget **rts;
	size_t nrts, caprts;
	struct rl_map rtmap;   /* name -> struct rawtarget */
	struct rl_map notarget; /* T of a T.O that is no target -> its hint, or c */
	struct cache_entry **cache; /* file()/list() results by path */
	size_t ncache, capcache;
	struct rl_map cachemap; /* key -> struct cache_entry */
	size_t capfiles;
	struct rl_map filemap;  /* path -> its interned copy */
	/* The names of the target being compiled (rl_target_parse): name ->
	 * (kind << 32 | position) + 1, kind 0 wildcard, 1 input, 2 output;
	 * and its env names -> the entry. */
	struct rl_map syms, envs;
	/* The run line being expanded when it is "sh -c '...'": bytes
	 * [shell_from, shell_to) of shell_s are the script, where a $(...)
	 * that is no variable was likely meant for the shell (vars.c hints
	 * $$). */
	const char *shell_s;
	size_t shell_from, shell_to;
};

/* diag.c */
struct loc rl_loc(const struct text *, size_t i);
/* Report an error at l (file NULL: "command line: msg"). Identical
 * messages are reported once; after RL_MAX_ERRORS, "too many errors" and
 * c->stop. */
void rl_error(struct rctx *, struct loc l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Count an error that someone else (a hook) already printed. */
void rl_error_counted(struct rctx *);
/* "FILE:LINE:COL" or "command line" into a fresh string. */
char *rl_loc_str(struct loc l, bool with_col);
/* Keep a copy of a file name for the rapidfile's lifetime. */
const char *rl_intern_file(struct rctx *, const char *path);
/* Resolve a relative path against dir ("." leaves it as is). Malloc'd. */
char *rl_path_in(const char *dir, const char *path);
/* Quote an id for a message: at most 40 bytes of an overlong one, with
 * "..."; unprintable bytes as \xNN. Malloc'd. */
char *rl_quote_id(const char *s, size_t n);
/* Validate an id and report "invalid id ..." at l; false when invalid. */
bool rl_check_id(struct rctx *, const char *s, size_t n, struct loc l);

void tbuf_put(struct tbuf *, char ch, struct pos p);
void tbuf_free(struct tbuf *);
/* A struct text over the tbuf's current contents (p[n] set to end). */
struct text tbuf_text(struct tbuf *, struct pos end);
/* Copy t[from, to) into the temporary arena as a text of its own. */
struct text rl_text_slice(struct rctx *, const struct text *, size_t from, size_t to);
/* t[from, end) without a copy: a view that lives as long as t. The lines
 * of the files live in the temporary arena, so views of them are enough. */
struct text rl_text_tail(const struct text *, size_t from);

bool rl_is_blank(char ch);
bool rl_is_name(const char *s, size_t n);        /* [A-Za-z_][A-Za-z0-9_]* */
bool rl_is_target_name(const char *s, size_t n); /* [A-Za-z][A-Za-z0-9_-]* */
size_t rl_skip_blanks(const struct text *, size_t i);
/* End of the word at i: up to a blank or '=' (the next token). */
size_t rl_word_end(const struct text *, size_t i);
bool rl_word_is(const struct text *, size_t from, size_t to, const char *w);
/* The URI's scheme ("s3", "gs", ...) length, 0 when it has none. */
size_t rl_uri_scheme(const char *s, size_t n);

/* read.c: the bytes of a regular file of at most RL_MAX_FILE bytes, and
 * its fstat in *st. NULL with *why (a static string) on failure. */
struct stat;
char *rl_read_file(const char *path, size_t *len, struct stat *st, const char **why);
/* The *why of rl_read_file for a file over RL_MAX_FILE. */
const char *rl_file_too_large(void);

/* lex.c: split a file's bytes into logical lines (in the temporary arena). */
void rl_lex(struct rctx *, const char *file, const char *data, size_t len,
	    struct line **lines, size_t *nlines);

/* vars.c */
struct var *rl_var_get(struct rctx *, const char *name, size_t n);
/* Define or redefine (op '=' or '?'); ignored for overridden names. */
void rl_var_set(struct rctx *, const char *name, size_t n, char op,
		struct text raw, struct loc loc, bool override);
/* Append the expansion of t[from, to) to out. Bytes copied from t keep
 * their positions; with at, every byte takes *at (a variable's value
 * takes the position of its "$("). 0, or -1 after reporting. */
int rl_expand(struct rctx *, const struct text *t, size_t from, size_t to,
	      struct tbuf *out, const struct pos *at);
/* Look up $(NAME) at t[i] (i at '$'), reporting undefined names and
 * cycles. The variable, or NULL after reporting. */
struct var *rl_var_ref(struct rctx *, const struct text *t, size_t i, const char *name, size_t n);
void rl_var_push(struct rctx *, struct var *);
void rl_var_pop(struct rctx *);
/* Report each override of a variable that no file sets or uses (it
 * would do nothing). */
void rl_vars_check_overrides(struct rctx *);
void rl_vars_free(struct rctx *);

/* sets.c: evaluate the set expression t[from, to). 0, or -1 after
 * reporting; out is always usable (free with rl_sres_free). */
int rl_set_eval(struct rctx *, const struct text *t, size_t from, size_t to, struct sres *out);
void rl_sres_free(struct sres *);
void rl_cache_free(struct rctx *);

/* tmpl.c */
enum tmpl_mode { TMPL_URI, TMPL_RUN };
/* Compile t (already expanded) into a template of target tg whose
 * symbols are known. 0, or -1 after reporting. */
int rl_tmpl_compile(struct rctx *, const struct target *tg, const struct text *t,
		    enum tmpl_mode, struct tmpl *out);
/* Split tb[from, from + n) (an expanded run line) into words like a shell
 * (quotes, backslash), in place: quotes and escapes removed, each word
 * followed by a NUL whose position is just past the word. *words
 * (malloc'd) gets each word's place in tb, and whether it was written
 * without quotes or backslashes (so "[[" can be told from '[['). 0, or -1
 * after reporting. */
struct span {
	size_t at, n;
	bool plain;
};
int rl_split_words(struct rctx *, struct tbuf *tb, size_t from, size_t n, struct span **words, size_t *nwords);

/* target.c */
struct rawtarget {
	char *name;
	struct loc loc;
	struct line *lines;
	size_t nlines, cap;
	struct target *t;
	/* per input: the upstream reference (NULL when a URI) */
	char **ref_target, **ref_output;
	struct loc *ref_loc;
};
void rl_target_parse(struct rctx *, struct rawtarget *);
/* Index of symbol name of t, the target being parsed (rules.h
 * numbering), -1 when none. */
int rl_symbol_find(struct rctx *, const struct target *t, const char *name, size_t n);
/* recipe.c: note run word a of t (just compiled from w) if it may name
 * a file beside the Rapidfile; so too the words of an sh -c script. */
void rl_recipe_word(struct rctx *, struct target *t, const struct text *w, size_t a);
/* resolve.c: references, dependency order, roots. 0 or -1. */
int rl_resolve(struct rctx *);

#endif
