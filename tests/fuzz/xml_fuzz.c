/* xml_fuzz.c - libFuzzer harness for aws/xml.c, the element tree of the
 * Query protocol responses (CloudFormation, STS): parse, then walk every
 * node and look up the paths rapid reads. */
#include "aws/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static void walk(const struct xml_node *n, int depth)
{
	for (; n; n = n->next) {
		if (depth > XML_MAX_DEPTH + 1 || n->text == NULL)
			abort(); /* the header's limits and promises */
		sink += strlen(n->name) + strlen(n->text);
		for (const struct xml_node *s = xml_next_same(n); s; s = xml_next_same(s))
			sink++;
		walk(n->first, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct xml_doc *d = xml_parse((const char *)data, size, "Fuzz", &err);
	if (d) {
		const struct xml_node *r = xml_root(d);
		walk(r, 1);
		const char *t = xml_text(r, "DescribeStacksResult/Stacks/member/StackStatus");
		if (t)
			sink += strlen(t);
		for (const struct xml_node *m = xml_path(r, "DescribeStackEventsResult/StackEvents/member"); m;
		     m = xml_next_same(m))
			sink += xml_child(m, "ResourceStatus") != NULL;
		xml_free(d);
	} else if (!err) {
		abort(); /* a failure always says why */
	}
	free(err);
	return 0;
}
