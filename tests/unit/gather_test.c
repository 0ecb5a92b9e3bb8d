/* gather_test.c - gathering (fan-in): the graph walks the agreeing
 * upstream instances in set order without storing them, and the key
 * diff of a gathering input names what changed. */
#include "engine/graph.h"
#include "engine/key.h"
#include "lib/util.h"
#include "rules/rules.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rapidfile *load(const char *dir, const char *text)
{
	char *p = path_join(dir, "Rapidfile");
	if (write_file_atomic(p, text, strlen(text)) < 0) {
		perror(p);
		exit(2);
	}
	struct rules_opts o = {0};
	struct rapidfile *rf = NULL;
	if (rules_load(p, &o, &rf) < 0)
		rf = NULL;
	free(p);
	return rf;
}

/* "up p=b run=R2" names of input k of instance i's gathered instances. */
static char *gathered(const struct graph *g, const struct instance *i, size_t k)
{
	struct buf b = {0};
	size_t n = graph_upstream_count(g, i, k);
	for (size_t j = 0; j < n; j++) {
		uint32_t u = graph_upstream_at(g, i, k, j);
		if (j)
			buf_puts(&b, ", ");
		graph_describe_gathered(g, i, k, &g->inst[u], &b);
	}
	buf_puts(&b, "");
	return buf_detach(&b);
}

static void test_graph(const char *dir)
{
	struct rapidfile *rf = load(dir, "target up\n"
					 "    foreach run in R1 R2 R3\n"
					 "    foreach p in a b\n"
					 "    output o = out/{p}/{run}.txt\n"
					 "    run x {o}\n"
					 "target down\n"
					 "    foreach p in b a c\n"
					 "    input m = up.o\n"
					 "    output o = sum/{p}.txt\n"
					 "    run x {o} {m}\n"
					 "target all\n"
					 "    input m = up.o\n"
					 "    output o = all.txt\n"
					 "    run x {o} {m}\n"
					 "target each\n"
					 "    foreach p in a b\n"
					 "    foreach run in R3 R1\n"
					 "    input m = up.o\n"
					 "    output o = each/{p}/{run}.txt\n"
					 "    run x {o} {m}\n");
	TAP_OK(rf != NULL, "a Rapidfile with gathering inputs loads");
	if (!rf)
		return;
	const struct target *down = rules_target(rf, "down"), *all = rules_target(rf, "all"),
			    *each = rules_target(rf, "each");
	TAP_OK(down->inputs[0].gather && all->inputs[0].gather && !each->inputs[0].gather,
	       "an input gathers exactly when its upstream has wildcards the target lacks");
	struct graph *g = graph_new(rf);
	TAP_OK(g != NULL, "graph");
	if (!g) {
		rules_free(rf);
		return;
	}
	const struct tgroup *dg = &g->groups[down->index], *ag = &g->groups[all->index];
	const struct instance *db = &g->inst[dg->first], *dc = &g->inst[dg->first + 2];
	char *s = gathered(g, db, 0);
	TAP_IS_STR(s, "run=R1, run=R2, run=R3", "down p=b: its runs, in set order");
	free(s);
	TAP_IS_INT(graph_upstream_count(g, dc, 0), 0, "down p=c: the upstream has no p=c: nothing gathered");
	TAP_IS_INT(graph_upstream_at(g, dc, 0, 0), NO_INSTANCE, "down p=c: no first instance");
	TAP_IS_INT(graph_upstream(g, db, 0), NO_INSTANCE, "graph_upstream: NO_INSTANCE for a gathering input");
	struct buf nm = {0};
	graph_name(g, &g->inst[graph_upstream_at(g, db, 0, 1)], &nm);
	TAP_IS_STR(nm.data, "up run=R2 p=b", "down p=b: its second gathered instance");
	buf_free(&nm);
	s = gathered(g, &g->inst[ag->first], 0);
	TAP_IS_STR(s, "run=R1 p=a, run=R1 p=b, run=R2 p=a, run=R2 p=b, run=R3 p=a, run=R3 p=b",
		   "all: every instance, in the upstream's order");
	free(s);
	/* ordinary references still read one instance each */
	const struct tgroup *eg = &g->groups[each->index];
	const struct instance *e = &g->inst[eg->first]; /* p=a run=R3 */
	TAP_IS_INT(graph_upstream_count(g, e, 0), 1, "an ordinary reference reads one instance");
	TAP_IS_INT(graph_upstream_at(g, e, 0, 0), graph_upstream(g, e, 0), "graph_upstream_at agrees with graph_upstream");
	graph_free(g);
	rules_free(rf);
}

static void add(struct comps *c, const char *v)
{
	comps_reset(c);
	comps_add(c, "command", "x");
	comps_add(c, "input maps", v);
}

static void diff(const char *old, const char *cur, const char *want, const char *what)
{
	struct comps o = {0}, c = {0};
	add(&o, old);
	add(&c, cur);
	struct buf s = {0}, d = {0};
	comps_diff(&o, &c, &s, &d);
	TAP_IS_STR(s.data, "input maps changed", "%s: summary", what);
	TAP_IS_STR(d.data, want, "%s: details", what);
	buf_free(&s);
	buf_free(&d);
	comps_free(&o);
	comps_free(&c);
}

#define K1 "key=11111111111111111111111111111111"
#define K2 "key=22222222222222222222222222222222"
#define K3 "key=33333333333333333333333333333333"

static void test_diff(void)
{
	diff("gathered 2 of 2 from rapidtide participant=1\nrun=A\tout/1/A/\t" K1 "\nrun=B\tout/1/B/\t" K2,
	     "gathered 2 of 2 from rapidtide participant=1\nrun=A\tout/1/A/\t" K3 "\nrun=B\tout/1/B/\t" K2,
	     "input maps: rapidtide participant=1 run=A key 111111111111… → 333333333333…",
	     "one gathered key changed");
	diff("gathered 2 of 2 from rapidtide participant=1\nrun=A\tout/1/A/\t" K1 "\nrun=B\tout/1/B/\t" K2,
	     "gathered 1 of 2 from rapidtide participant=1\nrun=A\tout/1/A/\t" K1 "\nrun=B\tskipped",
	     "input maps: gathered 1 of 2: run B skipped (was 2 of 2)", "one gathered instance skipped");
	diff("gathered 1 of 2 from rapidtide participant=1\nrun=A\tout/1/A/\t" K1 "\nrun=B\tskipped",
	     "gathered 2 of 3 from rapidtide participant=1\nrun=A\tout/1/A/\t" K2 "\nrun=B\tskipped\nrun=C\tout/1/C/\t" K3,
	     "input maps: gathered 2 of 3: run C added (was 1 of 2)\n"
	     "input maps: rapidtide participant=1 run=A key 111111111111… → 222222222222…",
	     "a value added to the set, and a key changed");
	diff("gathered 2 of 2 from rapidtide\nparticipant=1 run=A\ta/\t" K1 "\nparticipant=2 run=A\tb/\t" K1,
	     "gathered 1 of 1 from rapidtide\nparticipant=1 run=A\ta/\t" K1,
	     "input maps: gathered 1 of 1: participant 2 run A no longer in the set (was 2 of 2)",
	     "a value gone from the set");
	/* many changes: the first few, then a count */
	struct buf o = {0}, c = {0};
	buf_puts(&o, "gathered 8 of 8 from rapidtide");
	buf_puts(&c, "gathered 8 of 8 from rapidtide");
	for (int k = 0; k < 8; k++) {
		buf_printf(&o, "\nparticipant=%d\tout/%d/\t" K1, k, k);
		buf_printf(&c, "\nparticipant=%d\tout/%d/\t" K2, k, k);
	}
	struct comps oc = {0}, cc = {0};
	add(&oc, o.data);
	add(&cc, c.data);
	struct buf s = {0}, d = {0};
	comps_diff(&oc, &cc, &s, &d);
	size_t lines = 1;
	for (const char *p = d.data; *p; p++)
		lines += *p == '\n';
	TAP_IS_INT(lines, 6, "eight changed: five named, then a count");
	TAP_OK(strstr(d.data, "\ninput maps: and 3 more gathered instances changed") != NULL,
	       "eight changed: 'and 3 more gathered instances changed'");
	buf_free(&o);
	buf_free(&c);
	buf_free(&s);
	buf_free(&d);
	comps_free(&oc);
	comps_free(&cc);
}

int main(void)
{
	char tmpl[] = "/tmp/rapid-gather-test.XXXXXX";
	char *dir = mkdtemp(tmpl);
	if (!dir) {
		perror("mkdtemp");
		return 2;
	}
	test_graph(dir);
	test_diff();
	char *p = path_join(dir, "Rapidfile");
	unlink(p);
	free(p);
	rmdir(dir);
	return tap_done();
}
