/* xml_test.c - the element tree of Query-protocol answers: a
 * CloudFormation DescribeStacks answer walked by path and by siblings, and
 * malformed bodies refused with a clear message. */
#include "aws/xml.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

static const char describe[] =
	"<?xml version=\"1.0\"?>\n"
	"<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n"
	"  <DescribeStacksResult>\n"
	"    <Stacks>\n"
	"      <member>\n"
	"        <StackName>rapid</StackName>\n"
	"        <StackStatus>CREATE_COMPLETE</StackStatus>\n"
	"        <Outputs>\n"
	"          <member><OutputKey>JobQueue</OutputKey>"
	"<OutputValue>arn:aws:batch:us-east-1:123456789012:job-queue/q</OutputValue></member>\n"
	"          <member><OutputKey>JobDefinition</OutputKey>"
	"<OutputValue>arn:aws:batch:us-east-1:123456789012:job-definition/d:1</OutputValue></member>\n"
	"          <member><OutputKey>Note</OutputKey><OutputValue>a &amp; b &lt;c&gt;</OutputValue></member>\n"
	"        </Outputs>\n"
	"      </member>\n"
	"    </Stacks>\n"
	"  </DescribeStacksResult>\n"
	"  <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>\n"
	"</DescribeStacksResponse>\n";

static void test_walk(void)
{
	char *err = (char *)"unset";
	struct xml_doc *d = xml_parse(describe, strlen(describe), "DescribeStacks", &err);
	TAP_OK(d != NULL, "a DescribeStacks answer parses");
	TAP_OK(err == NULL, "without an error");
	const struct xml_node *root = xml_root(d);
	TAP_IS_STR(root->name, "DescribeStacksResponse", "root by local name, namespace dropped");
	const struct xml_node *st = xml_path(root, "DescribeStacksResult/Stacks/member");
	TAP_IS_STR(xml_text(st, "StackStatus"), "CREATE_COMPLETE", "text by path");
	TAP_IS_STR(st->text, "", "an element with children has no text");
	const struct xml_node *o = xml_path(st, "Outputs/member");
	TAP_IS_STR(xml_text(o, "OutputKey"), "JobQueue", "first output");
	o = xml_next_same(o);
	TAP_IS_STR(xml_text(o, "OutputValue"), "arn:aws:batch:us-east-1:123456789012:job-definition/d:1",
		   "second output, by sibling");
	o = xml_next_same(o);
	TAP_IS_STR(xml_text(o, "OutputValue"), "a & b <c>", "entities decoded");
	TAP_OK(xml_next_same(o) == NULL, "no fourth output");
	TAP_OK(xml_text(root, "DescribeStacksResult/Nope") == NULL, "a missing path is NULL");
	TAP_OK(xml_path(NULL, "a") == NULL, "a NULL node is NULL");
	xml_free(d);
}

static void test_malformed(void)
{
	static const struct { const char *body, *want; } bad[] = {
		{"", "malformed X response: empty body at line 1 column 1"},
		{"<a><b>", "malformed X response: truncated document (no element found) at line 1 column 7"},
		{"not xml", "malformed X response: syntax error at line 1 column 1"},
		{"<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", "malformed X response: a DOCTYPE is not allowed at line 1 column 13"},
		{"<a></b>", "malformed X response: mismatched tag at line 1 column 6"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *err = NULL;
		struct xml_doc *d = xml_parse(bad[i].body, strlen(bad[i].body), "X", &err);
		TAP_OK(d == NULL, "malformed body %zu refused", i);
		TAP_IS_STR(err ? err : "(none)", bad[i].want, "its message");
		free(err);
	}
	/* nesting deeper than the limit */
	struct buf b = {0};
	for (int i = 0; i < XML_MAX_DEPTH + 1; i++)
		buf_puts(&b, "<a>");
	char *err = NULL;
	TAP_OK(xml_parse(b.data, b.len, "X", &err) == NULL, "nesting deeper than %d refused", XML_MAX_DEPTH);
	TAP_OK(err && strstr(err, "nested deeper than 32"), "with its message");
	free(err);
	buf_free(&b);
	/* a huge text value */
	buf_puts(&b, "<a>");
	for (int i = 0; i < XML_MAX_TEXT / 1024 + 1; i++)
		for (int k = 0; k < 1024; k++)
			buf_putc(&b, 'x');
	buf_puts(&b, "</a>");
	err = NULL;
	TAP_OK(xml_parse(b.data, b.len, "X", &err) == NULL, "a text over the limit refused");
	TAP_OK(err && strstr(err, "<a> value longer than"), "with its message");
	free(err);
	buf_free(&b);
	/* every truncation of a real answer is a clean error */
	size_t n = strlen(describe), clean = 0;
	for (size_t cut = 0; cut < n - 1; cut++) {
		err = NULL;
		struct xml_doc *d = xml_parse(describe, cut, "DescribeStacks", &err);
		clean += !d && err && !strncmp(err, "malformed DescribeStacks response: ", 35);
		xml_free(d);
		free(err);
	}
	TAP_IS_INT(clean, n - 1, "each of %zu truncations is a clean error", n - 1);
}

int main(void)
{
	test_walk();
	test_malformed();
	return tap_done();
}
