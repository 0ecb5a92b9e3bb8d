/* recipe.c - files a recipe uses without declaring them.
 *
 * Locally a recipe runs in the Rapidfile's directory, so "run
 * ./scripts/proc.sh" works; but a file the recipe reads that is not an
 * input is not in the key (editing it rebuilds nothing) and is not staged
 * into a container. While the run line is compiled, its literal words
 * (and the words of an "sh -c" script) that could be such a path are
 * noted with their positions; rules_warn_recipe_files later warns about
 * those that name an existing regular file beside the Rapidfile. */
#include "rules/rint.h"

#include <sys/stat.h>

/* At most this many candidate words are kept per target: a warning about
 * the first few is enough, and a huge run line costs nothing more. */
#define RL_MAX_RECIPE_WORDS 64

static bool is_shell(const char *prog)
{
	static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh"};
	const char *b = strrchr(prog, '/');
	b = b ? b + 1 : prog;
	for (size_t i = 0; i < ARRAY_LEN(shells); i++)
		if (!strcmp(b, shells[i]))
			return true;
	return false;
}

/* "-c", "-ec", "-xc": an option word of sh that takes the script next. */
static bool is_dash_c(const char *w)
{
	return w[0] == '-' && w[1] && w[1] != '-' && strchr(w, 'c');
}

/* The literal text of a template, or NULL when it has a placeholder. */
static const char *literal(const struct tmpl *tp)
{
	if (tp->nsegs == 0)
		return "";
	if (tp->nsegs != 1 || tp->segs[0].kind != SEG_LIT)
		return NULL;
	return tp->segs[0].text;
}

/* Could s[0, n) be a relative path to a file beside the Rapidfile? (Not
 * a whole script, nor an option, a glob or a URI.) */
static bool plausible(const char *s, size_t n)
{
	if (n == 0 || n > 4096 || s[0] == '/' || s[0] == '-' || s[0] == '~')
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '{' || s[i] == '}' || s[i] == '$' || s[i] == '*' || s[i] == '?' || s[i] == ' ' ||
		    s[i] == '[' || s[i] == '=' || (s[i] == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') ||
		    (unsigned char)s[i] < 0x20)
			return false;
	return true;
}

static void note(struct rctx *c, struct target *t, const char *s, size_t n, struct loc l, int kind)
{
	if (!plausible(s, n) || t->nrwords >= RL_MAX_RECIPE_WORDS)
		return;
	for (size_t i = 0; i < t->nrwords; i++)
		if (strlen(t->rwords[i].text) == n && !memcmp(t->rwords[i].text, s, n))
			return;
	if (!t->rwords)
		t->rwords = arena_alloc(c->A, RL_MAX_RECIPE_WORDS * sizeof(*t->rwords));
	t->rwords[t->nrwords++] = (struct recipe_word){arena_strndup(c->A, s, n), l, kind};
}

/* Words after which a shell word is still a command name. */
static bool keeps_command(const char *s, size_t n)
{
	static const char *const kw[] = {"then", "do", "else", "elif", "if", "while", "until",
					 "!", "exec", "time", "command", "nice", "env"};
	for (size_t i = 0; i < ARRAY_LEN(kw); i++)
		if (strlen(kw[i]) == n && !memcmp(kw[i], s, n))
			return true;
	return false;
}

/* The words of a shell script: split at blanks and shell punctuation.
 * A command name without a '/' is looked up on PATH, never beside the
 * Rapidfile, so it is not a file the recipe reads. */
static void note_script(struct rctx *c, struct target *t, const struct text *w)
{
	static const char sep[] = " \t\n;|&<>()'\"`";
	size_t i = 0;
	bool cmd = true;
	while (i < w->n) {
		for (; i < w->n && strchr(sep, w->s[i]); i++)
			if (strchr(";|&(`\n", w->s[i]))
				cmd = true;
		size_t b = i;
		while (i < w->n && !strchr(sep, w->s[i]))
			i++;
		if (i == b)
			continue;
		if (!cmd || memchr(w->s + b, '/', i - b))
			note(c, t, w->s + b, i - b, rl_loc(w, b), RW_SCRIPT);
		cmd = cmd && keeps_command(w->s + b, i - b);
	}
}

void rl_recipe_word(struct rctx *c, struct target *t, const struct text *w, size_t a)
{
	const char *lit = literal(&t->argv[a]);
	/* A program without a '/' comes from PATH, as execvp finds it. */
	if (lit && (a > 0 || strchr(lit, '/')))
		note(c, t, lit, strlen(lit), t->argv[a].loc, a == 0 ? RW_PROGRAM : RW_ARGUMENT);
	/* The word after sh's -c is a script: look at its words too. */
	const char *prog = t->nargv > 0 ? literal(&t->argv[0]) : NULL;
	const char *prev = a > 0 ? literal(&t->argv[a - 1]) : NULL;
	if (a >= 2 && prog && prev && is_shell(prog) && is_dash_c(prev))
		note_script(c, t, w);
}

/* p without its leading "./" parts. */
static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	return p;
}

/* Whether path (stripped) is the literal URI of one of t's inputs. */
static bool is_input(const struct target *t, const char *path)
{
	for (size_t k = 0; k < t->ninputs; k++) {
		const char *u = t->inputs[k].up ? NULL : literal(&t->inputs[k].uri);
		if (u && !strcmp(strip_dot(u), path))
			return true;
	}
	return false;
}

/* An input name for a hint: the file's name up to its first '.', made an
 * identifier. Malloc'd. */
static char *suggest_name(const struct target *t, const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	struct buf n = {0};
	for (const char *q = b; *q && *q != '.'; q++) {
		char ch = *q;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			  (n.len && ch >= '0' && ch <= '9');
		buf_putc(&n, ok ? ch : '_');
	}
	if (!n.len || n.len > 40)
		buf_reset(&n), buf_puts(&n, "script");
	for (size_t i = 0; i < t->nwildcards + t->ninputs + t->noutputs; i++) {
		if (!strcmp(rules_symbol_name(t, (int)i), n.data)) {
			buf_puts(&n, "_file");
			break;
		}
	}
	return buf_detach(&n);
}

size_t rules_warn_recipe_files(const struct rapidfile *rf)
{
	size_t n = 0;
	for (size_t i = 0; i < rf->ntargets; i++) {
		const struct target *t = rf->targets[i];
		for (size_t k = 0; k < t->nrwords; k++) {
			const struct recipe_word *rw = &t->rwords[k];
			const char *rel = strip_dot(rw->text);
			if (!*rel || is_input(t, rel))
				continue;
			char *path = rl_path_in(rf->dir, rel);
			struct stat st;
			bool file = stat(path, &st) == 0 && S_ISREG(st.st_mode);
			free(path);
			if (!file)
				continue;
			char *name = suggest_name(t, rel);
			char *where = rl_loc_str(rw->loc, true);
			const char *then = rw->kind == RW_PROGRAM ? "run {%s} ..."
					   : rw->kind == RW_SCRIPT ? "write {%s} in the script"
					   : "write {%s} in the run line";
			char *use = xasprintf(then, name);
			warn("%s: '%s' is not an input: its changes will not rebuild, and it will not "
			     "reach a container (declare it: input %s = %s, then %s)",
			     where, rw->text, name, rel, use);
			n++;
			free(use);
			free(where);
			free(name);
		}
	}
	return n;
}
