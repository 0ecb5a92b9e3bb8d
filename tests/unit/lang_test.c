/* lang_test.c - the language items a loaded target carries beyond its
 * words: optional word groups ([[ ... ]] and rules_word_kept), tsv()
 * through the fetch hook for s3:// (and deferred without one), and the
 * run words noted as possible undeclared files. Messages are checked by
 * tests/0010-rules-errors.t and the shell tests 0080-0083. */
#include "lib/util.h"
#include "rules/rules.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void put(const char *name, const char *text)
{
	char *p = path_join(dir, name);
	if (write_file_atomic(p, text, strlen(text)) < 0) {
		perror(p);
		exit(2);
	}
	free(p);
}

/* Load text as the Rapidfile, stderr into /dev/null; NULL on failure. */
static struct rapidfile *load(const char *text, const struct rules_hooks *h)
{
	put("Rapidfile", text);
	char *p = path_join(dir, "Rapidfile");
	struct rules_opts o = {NULL, 0, h};
	struct rapidfile *rf = NULL;
	fflush(stderr);
	int saved = dup(2), nul = open("/dev/null", O_WRONLY);
	dup2(nul, 2);
	close(nul);
	if (rules_load(p, &o, &rf) < 0)
		rf = NULL;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	free(p);
	return rf;
}

static char *values(const struct set *s)
{
	struct buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < s->n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", s->v[i]);
	return buf_detach(&b);
}

static int fetches;
static char last_uri[256];

static int fetch(void *ctx, const char *uri, char **data, size_t *len)
{
	(void)ctx;
	fetches++;
	snprintf(last_uri, sizeof last_uri, "%s", uri);
	*data = xstrdup("\xef\xbb\xbfparticipant_id\tsex\r\nsub-A1\tF\r\nsub-B2\tM\r\n");
	*len = strlen(*data);
	return 0;
}

static void test_groups(void)
{
	struct rapidfile *rf = load("target t\n"
				    "    foreach p in a\n"
				    "    input   bold = b/{p}\n"
				    "    input?  mask = m/{p}\n"
				    "    input?  seg  = s/{p}\n"
				    "    output  o = o/{p}\n"
				    "    run prog {bold} [[ --mask {mask} ]] '[[' [[ -s {seg} -m {mask} ]] {o}\n",
				    NULL);
	if (!TAP_OK(rf != NULL, "groups: loads"))
		return;
	const struct target *t = rf->targets[0];
	TAP_IS_INT(t->nargv, 10, "groups: the markers are not words");
	TAP_IS_INT(t->ngroups, 2, "groups: two groups");
	TAP_IS_INT(t->groups[0].ninputs, 1, "group 1 names one optional input");
	TAP_IS_INT(t->groups[1].ninputs, 2, "group 2 names two");
	int want[] = {-1, -1, 0, 0, -1, 1, 1, 1, 1, -1};
	bool same = t->nargv == 10;
	for (size_t a = 0; same && a < 10 && t->argv_group; a++)
		same = same && t->argv_group[a] == want[a];
	TAP_OK(t->argv_group && same, "groups: each word's group");
	/* inputs: bold, mask, seg */
	bool all[] = {true, true, true}, nomask[] = {true, false, true}, noseg[] = {true, true, false};
	size_t kept_all = 0, kept_nomask = 0, kept_noseg = 0;
	for (size_t a = 0; a < t->nargv; a++) {
		kept_all += rules_word_kept(t, a, all);
		kept_nomask += rules_word_kept(t, a, nomask);
		kept_noseg += rules_word_kept(t, a, noseg);
	}
	TAP_IS_INT(kept_all, 10, "every input present: every word kept");
	TAP_IS_INT(kept_nomask, 4, "mask absent: both groups naming it dropped");
	TAP_IS_INT(kept_noseg, 6, "seg absent: only its group dropped");
	rules_free(rf);

	rf = load("target t\n    output o = o\n    run prog x\n", NULL);
	TAP_OK(rf && !rf->targets[0]->argv_group && rules_word_kept(rf->targets[0], 1, NULL),
	       "no group: argv_group NULL, every word kept");
	rules_free(rf);
}

static void test_tsv_s3(void)
{
	const char *text = "target t\n"
			   "    foreach p in tsv(s3://bucket/bids/participants.tsv, participant_id, sub-)\n"
			   "    foreach q in tsv(s3://bucket/bids/participants.tsv, sex)\n"
			   "    output o = o/{p}/{q}\n"
			   "    run prog\n";
	struct rules_hooks h = {NULL, NULL, fetch};
	fetches = 0;
	struct rapidfile *rf = load(text, &h);
	if (TAP_OK(rf != NULL, "tsv(s3://): loads with a fetch hook")) {
		char *v = values(&rf->targets[0]->wildcards[0].values);
		TAP_IS_STR(v, "A1 B2", "tsv(s3://): the column, BOM, CRLF and prefix handled");
		free(v);
		v = values(&rf->targets[0]->wildcards[1].values);
		TAP_IS_STR(v, "F M", "tsv(s3://): another column of the same object");
		free(v);
	}
	TAP_IS_STR(last_uri, "s3://bucket/bids/participants.tsv", "the hook gets the URI");
	TAP_IS_INT(fetches, 2, "one fetch per distinct tsv() (file and column)");
	rules_free(rf);

	rf = load(text, NULL);
	if (TAP_OK(rf != NULL, "tsv(s3://): loads offline")) {
		const struct set *s = &rf->targets[0]->wildcards[0].values;
		TAP_OK(s->deferred && s->n == 0, "tsv(s3://) without a hook is deferred");
		TAP_IS_STR(s->deferred_what, "tsv(s3://bucket/bids/participants.tsv, participant_id, sub-)",
			   "what is deferred");
	}
	rules_free(rf);
}

static void test_recipe_words(void)
{
	struct rapidfile *rf = load("target t\n"
				    "    input in = in.dat\n"
				    "    output o = o\n"
				    "    run ./s/p.sh a.txt {in} -v --x=y /abs s/{in} a.txt\n"
				    "target u\n"
				    "    output o = o\n"
				    "    run bash -ec 'python3 s/q.py {o}; cat b.txt | grep c > d; ./e'\n",
				    NULL);
	if (!TAP_OK(rf != NULL, "recipe words: loads"))
		return;
	const struct target *t = rf->targets[0];
	struct buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < t->nrwords; i++)
		buf_printf(&b, "%s%s:%d", i ? " " : "", t->rwords[i].text, (int)t->rwords[i].kind);
	TAP_IS_STR(b.data, "./s/p.sh:0 a.txt:1", "literal relative words, once each; not options, "
		   "absolute paths or placeholders");
	buf_reset(&b);
	buf_puts(&b, "");
	t = rf->targets[1];
	for (size_t i = 0; i < t->nrwords; i++)
		buf_printf(&b, "%s%s@%d", i ? " " : "", t->rwords[i].text, t->rwords[i].loc.col);
	TAP_IS_STR(b.data, "s/q.py@27 b.txt@43 c@56 d@60 ./e@63",
		   "sh -c: the script's words with their columns; command names from PATH left out");
	buf_free(&b);
	rules_free(rf);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s", "/tmp/lang_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_groups();
	test_tsv_s3();
	test_recipe_words();
	remove_tree(dir);
	return tap_done();
}
