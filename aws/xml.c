/* xml.c - an element tree of an AWS XML response, read with expat. */
#include "aws/xml.h"
#include "lib/util.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expat joins a namespace URI and a local name with this. */
#define NS_SEP '\x01'

struct xml_doc {
	struct arena *arena;
	struct xml_node *root;
};

struct builder {
	XML_Parser xp;
	struct xml_doc *doc;
	struct xml_node *cur;
	struct xml_node *last[XML_MAX_DEPTH + 1]; /* last child so far, by depth */
	struct buf text;   /* text of the open element so far */
	size_t depth, nodes;
	const char *what;
	char *err;
};

static void fail(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct builder *b, const char *fmt, ...)
{
	if (b->err)
		return;
	struct buf m = {0};
	va_list ap;
	buf_printf(&m, "malformed %s response: ", b->what);
	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	buf_printf(&m, " at line %lu column %lu", (unsigned long)XML_GetCurrentLineNumber(b->xp),
		   (unsigned long)XML_GetCurrentColumnNumber(b->xp) + 1);
	b->err = buf_detach(&m);
	XML_StopParser(b->xp, XML_FALSE);
}

static void on_start(void *ud, const char *name, const char **attrs)
{
	struct builder *b = ud;
	(void)attrs;
	if (b->err)
		return;
	if (++b->depth > XML_MAX_DEPTH) {
		fail(b, "elements nested deeper than %d", XML_MAX_DEPTH);
		return;
	}
	if (++b->nodes > XML_MAX_NODES) {
		fail(b, "more than %d elements", XML_MAX_NODES);
		return;
	}
	const char *local = strrchr(name, NS_SEP);
	struct xml_node *n = arena_alloc(b->doc->arena, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->name = arena_strdup(b->doc->arena, local ? local + 1 : name);
	n->text = "";
	n->parent = b->cur;
	if (!b->cur)
		b->doc->root = n;
	else if (b->last[b->depth])
		b->last[b->depth]->next = n;
	else
		b->cur->first = n;
	b->last[b->depth] = n;
	if (b->depth < XML_MAX_DEPTH)
		b->last[b->depth + 1] = NULL;
	/* Text belongs to elements without children (whitespace between
	 * elements is layout). */
	buf_reset(&b->text);
	b->cur = n;
}

static void on_end(void *ud, const char *name)
{
	struct builder *b = ud;
	(void)name;
	if (b->err)
		return;
	if (!b->cur->first && b->text.len)
		b->cur->text = arena_strndup(b->doc->arena, b->text.data, b->text.len);
	buf_reset(&b->text);
	b->cur = b->cur->parent;
	b->depth--;
}

static void on_text(void *ud, const char *s, int len)
{
	struct builder *b = ud;
	if (b->err || !b->cur)
		return;
	if (b->text.len + (size_t)len > XML_MAX_TEXT) {
		fail(b, "<%s> value longer than %d bytes", b->cur->name, XML_MAX_TEXT);
		return;
	}
	buf_putn(&b->text, s, (size_t)len);
}

static void on_doctype(void *ud, const char *name, const char *sysid, const char *pubid, int internal)
{
	(void)name, (void)sysid, (void)pubid, (void)internal;
	fail(ud, "a DOCTYPE is not allowed");
}

static void on_entity(void *ud, const char *name, int pe, const char *value, int vlen, const char *base,
		      const char *sysid, const char *pubid, const char *notation)
{
	(void)name, (void)pe, (void)value, (void)vlen, (void)base, (void)sysid, (void)pubid, (void)notation;
	fail(ud, "entity declarations are not allowed");
}

struct xml_doc *xml_parse(const char *body, size_t len, const char *what, char **err)
{
	struct builder b = {.what = what};
	b.doc = xcalloc(1, sizeof(*b.doc));
	b.doc->arena = arena_new();
	b.xp = XML_ParserCreateNS("UTF-8", NS_SEP);
	if (!b.xp) {
		*err = xstrdup("out of memory (XML parser)");
		xml_free(b.doc);
		return NULL;
	}
	XML_SetUserData(b.xp, &b);
	XML_SetElementHandler(b.xp, on_start, on_end);
	XML_SetCharacterDataHandler(b.xp, on_text);
	XML_SetStartDoctypeDeclHandler(b.xp, on_doctype);
	XML_SetEntityDeclHandler(b.xp, on_entity);
	/* expat takes an int length: feed large bodies in pieces */
	size_t off = 0;
	do {
		size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
		if (XML_Parse(b.xp, body + off, (int)n, off + n == len) != XML_STATUS_OK && !b.err) {
			enum XML_Error code = XML_GetErrorCode(b.xp);
			if (code == XML_ERROR_NO_ELEMENTS && len == 0)
				fail(&b, "empty body");
			else if (code == XML_ERROR_NO_ELEMENTS || code == XML_ERROR_UNCLOSED_TOKEN ||
				 code == XML_ERROR_UNCLOSED_CDATA_SECTION || code == XML_ERROR_PARTIAL_CHAR)
				fail(&b, "truncated document (%s)", XML_ErrorString(code));
			else
				fail(&b, "%s", XML_ErrorString(code));
		}
		off += n;
	} while (off < len && !b.err);
	if (!b.err && !b.doc->root)
		fail(&b, "no root element");
	XML_ParserFree(b.xp);
	buf_free(&b.text);
	if (b.err) {
		*err = b.err;
		xml_free(b.doc);
		return NULL;
	}
	*err = NULL;
	return b.doc;
}

void xml_free(struct xml_doc *d)
{
	if (!d)
		return;
	arena_free(d->arena);
	free(d);
}

const struct xml_node *xml_root(const struct xml_doc *d)
{
	return d->root;
}

const struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
	if (!n)
		return NULL;
	for (const struct xml_node *c = n->first; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

const struct xml_node *xml_path(const struct xml_node *n, const char *path)
{
	char part[128];
	while (n && *path) {
		size_t k = strcspn(path, "/");
		if (k >= sizeof(part))
			return NULL;
		memcpy(part, path, k);
		part[k] = 0;
		n = xml_child(n, part);
		path += k + (path[k] == '/');
	}
	return n;
}

const char *xml_text(const struct xml_node *n, const char *path)
{
	n = xml_path(n, path);
	return n ? n->text : NULL;
}

const struct xml_node *xml_next_same(const struct xml_node *n)
{
	for (const struct xml_node *c = n->next; c; c = c->next)
		if (!strcmp(c->name, n->name))
			return c;
	return NULL;
}
