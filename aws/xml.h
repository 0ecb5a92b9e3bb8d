/* xml.h - a small element tree of an AWS XML response (the Query protocol
 * services: CloudFormation, STS…), read with expat. Elements are matched
 * by local name, so namespaces do not matter. Documents with a DOCTYPE or
 * entity declarations, nesting deeper than XML_MAX_DEPTH, more than
 * XML_MAX_NODES elements or a text longer than XML_MAX_TEXT are refused. */
#ifndef RAPID_AWS_XML_H
#define RAPID_AWS_XML_H

#include <stddef.h>

#define XML_MAX_DEPTH 32
#define XML_MAX_NODES 200000
#define XML_MAX_TEXT (1024 * 1024)

struct xml_node {
	const char *name;         /* local name */
	const char *text;         /* character data directly inside; never NULL */
	struct xml_node *parent, *first, *next;
};

struct xml_doc;

/* Parse body. The document, or NULL with *err (the caller frees):
 * "malformed <what> response: <cause> at line L column C". */
struct xml_doc *xml_parse(const char *body, size_t len, const char *what, char **err);
void xml_free(struct xml_doc *);
/* The root element. */
const struct xml_node *xml_root(const struct xml_doc *);

/* The first child of n called name; NULL if none (or n is NULL). */
const struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* Follow a path of child names separated by '/' ("DescribeStacksResult/Stacks"). */
const struct xml_node *xml_path(const struct xml_node *n, const char *path);
/* The text of xml_path(n, path), or NULL when there is no such element. */
const char *xml_text(const struct xml_node *n, const char *path);
/* The next sibling of n with n's name; NULL after the last. */
const struct xml_node *xml_next_same(const struct xml_node *n);

#endif
