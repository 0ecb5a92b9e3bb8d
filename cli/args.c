/* args.c - parse a command's argv with its option table, and print the
 * help and usage lines made from the same table. Options may be clustered
 * (-kn), a value may be attached (-j4, --jobs=4) or be the next word;
 * "--" ends the options. */
#include "cli/args.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HELP_WIDTH 79

static const struct cli_option help_option = {-1, 'h', "help", NULL, "print this help"};

/* The table's first entry is rapid itself, with the global options. */
static bool is_root(const struct cli_command *c)
{
	return c == cli_command_find("rapid");
}

void cli_args_init(struct cli_args *a, const char *name, int argc, char **argv)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cli_command_find(name);
	a->argc = argc;
	a->argv = argv;
	a->i = 1;
}

/* The number of options of a command's table. */
static size_t noptions(const struct cli_command *c)
{
	size_t n = 0;
	while (c->options && c->options[n].id)
		n++;
	return n;
}

/* Whether o is one of rapid's global options that take a value (-f FILE,
 * -C DIR, --profile NAME): those may also follow the command word. */
static bool is_global(const struct cli_option *o)
{
	const struct cli_command *r = cli_command_find("rapid");
	return o >= r->options && o < r->options + noptions(r) && o->arg;
}

static const struct cli_option *by_letter(const struct cli_command *c, char l)
{
	const struct cli_command *r = cli_command_find("rapid");
	for (size_t k = 0; k < noptions(c); k++)
		if (c->options[k].letter == l)
			return &c->options[k];
	for (size_t k = 0; c != r && k < noptions(r); k++)
		if (r->options[k].letter == l && is_global(&r->options[k]))
			return &r->options[k];
	return l == 'h' ? &help_option : NULL;
}

static bool named(const struct cli_option *o, const char *name, size_t len)
{
	return o->name && strlen(o->name) == len && !strncmp(o->name, name, len);
}

static const struct cli_option *by_name(const struct cli_command *c, const char *name, size_t len)
{
	const struct cli_command *r = cli_command_find("rapid");
	for (size_t k = 0; k < noptions(c); k++)
		if (named(&c->options[k], name, len))
			return &c->options[k];
	for (size_t k = 0; c != r && k < noptions(r); k++)
		if (named(&r->options[k], name, len) && is_global(&r->options[k]))
			return &r->options[k];
	return len == 4 && !strncmp(name, "help", 4) ? &help_option : NULL;
}

/* "unknown option '--jsno' (did you mean '--json'?)" */
static int unknown(struct cli_args *a, const char *word)
{
	const struct cli_command *c = a->cmd;
	size_t n = noptions(c);
	char **names = xcalloc(n + 1, sizeof(char *));
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (c->options[k].name)
			names[m++] = xasprintf("--%s", c->options[k].name);
	const char *hint = word[1] == '-' ? closest_word(word, (const char *const *)names, m) : NULL;
	if (hint)
		cli_usage(c, "unknown option '%s' (did you mean '%s'?)", word, hint);
	else
		cli_usage(c, "unknown option '%s'", word);
	for (size_t k = 0; k < m; k++)
		free(names[k]);
	free(names);
	return CLI_USAGE;
}

static int found(struct cli_args *a, const struct cli_option *o)
{
	if (o == &help_option) {
		cli_help(stdout, a->cmd);
		return CLI_HELP;
	}
	if (!is_root(a->cmd) && is_global(o))
		return cli_global(o->id, a->value) < 0 ? CLI_USAGE : cli_next(a);
	return o->id;
}

/* Whether o's value may be left out ("[N]"). */
static bool optional(const struct cli_option *o)
{
	return o->arg && o->arg[0] == '[';
}

bool cli_all_digits(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (*w < '0' || *w > '9')
			return false;
	return true;
}

/* "option '--jobs' needs a value (N)" */
static int needs_value(struct cli_args *a, const struct cli_option *o)
{
	cli_usage(a->cmd, "option '%s' needs a value (%s)", a->spelled, o->arg);
	return CLI_USAGE;
}

int cli_next(struct cli_args *a)
{
	a->value = NULL;
	if (a->rest && *a->rest) {
		/* the next letter of a cluster */
		const struct cli_option *o = by_letter(a->cmd, *a->rest);
		snprintf(a->spelled, sizeof a->spelled, "-%c", *a->rest);
		if (!o)
			return unknown(a, a->spelled);
		a->rest++;
		if (o->arg) {
			if (*a->rest)
				a->value = a->rest;
			else if (a->i < a->argc && (!optional(o) || (!a->words_only && cli_all_digits(a->argv[a->i]))))
				a->value = a->argv[a->i++];
			else if (!optional(o))
				return needs_value(a, o);
			a->rest = NULL;
		}
		return found(a, o);
	}
	a->rest = NULL;
	if (a->i >= a->argc)
		return CLI_DONE;
	char *w = a->argv[a->i++];
	if (a->words_only || w[0] != '-' || !w[1]) {
		a->value = w;
		return CLI_WORD;
	}
	if (w[1] != '-') {
		a->rest = w + 1;
		return cli_next(a);
	}
	if (!w[2]) {
		a->words_only = 1;
		return cli_next(a);
	}
	char *eq = strchr(w + 2, '=');
	size_t len = eq ? (size_t)(eq - (w + 2)) : strlen(w + 2);
	const struct cli_option *o = by_name(a->cmd, w + 2, len);
	snprintf(a->spelled, sizeof a->spelled, "--%.*s", (int)(len < 60 ? len : 60), w + 2);
	if (!o)
		return unknown(a, w);
	if (!o->arg && eq) {
		cli_usage(a->cmd, "option '%s' takes no value", a->spelled);
		return CLI_USAGE;
	}
	if (o->arg) {
		if (eq)
			a->value = eq + 1;
		else if (a->i < a->argc && (!optional(o) || cli_all_digits(a->argv[a->i])))
			a->value = a->argv[a->i++];
		else if (!optional(o))
			return needs_value(a, o);
	}
	return found(a, o);
}

int cli_usage(const struct cli_command *c, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (is_root(c))
		warn("%s", b.data);
	else
		warn("%s: %s", c->name, b.data);
	buf_free(&b);
	cli_usage_lines(stderr, c);
	if (is_root(c))
		fputs("See 'rapid help'.\n", stderr);
	else
		fprintf(stderr, "See 'rapid help %s'.\n", c->name);
	return 2;
}

/* ---- help ---- */

/* "-j N", "--backend local|batch", "-v, --verbose" (long when both). */
static void option_words(const struct cli_option *o, bool both, struct buf *b)
{
	if (o->letter)
		buf_printf(b, "-%c", o->letter);
	if (o->name && (both || !o->letter))
		buf_printf(b, "%s--%s", o->letter ? ", " : "", o->name);
	if (o->arg && optional(o) && both && o->name)
		buf_printf(b, "[=%.*s]", (int)strlen(o->arg) - 2, o->arg + 1);
	else if (o->arg)
		buf_printf(b, "%s%s", both && o->name ? "=" : " ", o->arg);
}

/* Append word to the line in b, wrapping at HELP_WIDTH with indent. */
static void wrap(FILE *f, struct buf *line, const char *word, size_t indent)
{
	if (line->len + 1 + strlen(word) > HELP_WIDTH && line->len > indent) {
		fprintf(f, "%s\n", line->data);
		buf_reset(line);
		for (size_t k = 0; k < indent; k++)
			buf_putc(line, ' ');
	} else if (line->len) {
		buf_putc(line, ' ');
	}
	buf_puts(line, word);
}

static void usage_line(FILE *f, const char *lead, const struct cli_command *c)
{
	struct buf line = {0}, w = {0};
	buf_printf(&line, is_root(c) ? "%s %s" : "%s rapid %s", lead, c->name);
	size_t indent = line.len + 1;
	for (size_t k = 0; k < noptions(c); k++) {
		buf_reset(&w);
		buf_putc(&w, '[');
		option_words(&c->options[k], false, &w);
		buf_putc(&w, ']');
		wrap(f, &line, w.data, indent);
	}
	if (c->args) {
		/* positional parts stay whole: "[VAR=value...]" */
		char *args = xstrdup(c->args), *save = NULL;
		for (char *t = strtok_r(args, " ", &save); t; t = strtok_r(NULL, " ", &save))
			wrap(f, &line, t, indent);
		free(args);
	}
	fprintf(f, "%s\n", line.data);
	buf_free(&line);
	buf_free(&w);
}

/* The subcommands of c ("stack create" for "stack"), in table order. */
static bool is_sub_of(const struct cli_command *s, const struct cli_command *c)
{
	size_t n = strlen(c->name);
	return !strncmp(s->name, c->name, n) && s->name[n] == ' ';
}

void cli_usage_lines(FILE *f, const struct cli_command *c)
{
	const char *lead = "usage:";
	for (size_t i = 0; cli_command_at(i); i++) {
		const struct cli_command *s = cli_command_at(i);
		if (is_sub_of(s, c)) {
			usage_line(f, lead, s);
			lead = "      ";
		}
	}
	if (lead[0] == 'u')
		usage_line(f, lead, c);
}

static void option_list(FILE *f, const struct cli_command *c)
{
	size_t n = noptions(c), width = 0;
	struct buf w = {0};
	for (size_t k = 0; k <= n; k++) {
		buf_reset(&w);
		option_words(k < n ? &c->options[k] : &help_option, true, &w);
		if (w.len > width)
			width = w.len;
	}
	for (size_t k = 0; k <= n; k++) {
		const struct cli_option *o = k < n ? &c->options[k] : &help_option;
		buf_reset(&w);
		option_words(o, true, &w);
		fprintf(f, "  %-*s  %s\n", (int)width, w.data, o->help);
	}
	buf_free(&w);
}

void cli_help(FILE *f, const struct cli_command *c)
{
	bool root = is_root(c), subs = false;
	cli_usage_lines(f, c);
	fprintf(f, "\n%s\n", c->summary);
	for (size_t i = 0; cli_command_at(i); i++) {
		const struct cli_command *s = cli_command_at(i);
		if (!is_sub_of(s, c))
			continue;
		fprintf(f, "\nrapid %s: %s\n", s->name, s->summary);
		option_list(f, s);
		subs = true;
	}
	if (!subs) {
		fputs("\noptions:\n", f);
		option_list(f, c);
	}
	if (!root) {
		const struct cli_command *r = cli_command_find("rapid");
		struct buf g = {0}, w = {0};
		size_t line = 0; /* where the current line starts */
		buf_puts(&g, "The global options (");
		for (size_t k = 0, first = 1; k < noptions(r); k++)
			if (is_global(&r->options[k])) {
				buf_reset(&w);
				option_words(&r->options[k], false, &w);
				buf_puts(&g, first ? "" : ",");
				if (!first && g.len - line + 1 + w.len > 78) {
					buf_putc(&g, '\n');
					line = g.len;
				} else if (!first) {
					buf_putc(&g, ' ');
				}
				buf_puts(&g, w.data);
				first = 0;
			}
		fprintf(f, "\n%s) may also follow\nthe command word: see 'rapid help'.\n", g.data);
		buf_free(&g);
		buf_free(&w);
		return;
	}
	fputs("\ncommands:\n", f);
	for (size_t i = 0; cli_command_at(i); i++)
		if (!strchr(cli_command_at(i)->name, ' '))
			fprintf(f, "  %-8s %s\n", cli_command_at(i)->name, cli_command_at(i)->summary);
	fputs("\n", f);
	for (size_t i = 0; cli_command_at(i); i++)
		if (!strchr(cli_command_at(i)->name, ' '))
			cli_usage_lines(f, cli_command_at(i));
	fputs("\nRun 'rapid help COMMAND' for a command's options.\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n", f);
}
