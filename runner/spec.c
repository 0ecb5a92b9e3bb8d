/* spec.c - the runner's instance spec (schema 1, documented in spec.h):
 * its one encoder (spec_encode) and its one parser. Every field's type is checked, and
 * the first problem is reported with the field's JSON path
 * ("outputs[1].dir must be true or false"). Relative local paths are made
 * absolute against the runner's working folder, because the recipe runs
 * elsewhere (its workdir, or the scratch folder). Fields this version does not know are ignored. */
#include "runner/spec.h"
#include "lib/util.h"
#include "runner/container.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ctx {
	struct spec *s;
	char *err;
	char *cwd;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct ctx *c, const char *fmt, ...)
{
	if (!c->err) {
		struct buf b = {0};
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
		c->err = buf_detach(&b);
	}
	return -1;
}

/* The member name of obj; NULL (and an error when required) if absent. */
static const cJSON *field(struct ctx *c, const cJSON *obj, const char *prefix,
			  const char *name, bool required)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!it && required)
		fail(c, "missing field '%s%s'", prefix, name);
	return it;
}

static const char *type_name(const cJSON *it)
{
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsBool(it))
		return "a boolean";
	if (cJSON_IsNull(it))
		return "null";
	if (cJSON_IsArray(it))
		return "an array";
	if (cJSON_IsObject(it))
		return "an object";
	return "invalid";
}

static const char *get_str(struct ctx *c, const cJSON *it, const char *path, bool nonempty)
{
	if (!cJSON_IsString(it) || !it->valuestring) {
		fail(c, "'%s' must be a string, not %s", path, type_name(it));
		return NULL;
	}
	if (nonempty && !it->valuestring[0]) {
		fail(c, "'%s' must not be empty", path);
		return NULL;
	}
	return arena_strdup(c->s->arena, it->valuestring);
}

static int get_bool(struct ctx *c, const cJSON *it, const char *path, bool *out)
{
	if (!cJSON_IsBool(it))
		return fail(c, "'%s' must be true or false, not %s", path, type_name(it));
	*out = cJSON_IsTrue(it);
	return 0;
}

static int want_array(struct ctx *c, const cJSON *it, const char *path)
{
	if (!cJSON_IsArray(it))
		return fail(c, "'%s' must be an array, not %s", path, type_name(it));
	return 0;
}

static int want_object(struct ctx *c, const cJSON *it, const char *path)
{
	if (!cJSON_IsObject(it))
		return fail(c, "'%s' must be an object, not %s", path, type_name(it));
	return 0;
}

/* An absolute form of a local path (arena); an s3:// URI as it is. */
static const char *absolute(struct ctx *c, const char *p)
{
	if (p[0] == '/' || !p[0] || !strncmp(p, "s3://", 5))
		return p;
	if (!c->cwd) {
		c->cwd = getcwd(NULL, 0);
		if (!c->cwd) {
			fail(c, "cannot find the working folder: %s", strerror(errno));
			return NULL;
		}
	}
	char *j = path_join(c->cwd, p);
	const char *r = arena_strdup(c->s->arena, j);
	free(j);
	return r;
}

/* A local folder: absolute, ending with '/'. */
static const char *get_dir(struct ctx *c, const cJSON *obj, const char *name)
{
	const cJSON *it = field(c, obj, "", name, true);
	const char *p = it ? get_str(c, it, name, true) : NULL;
	if (!p || !(p = absolute(c, p)))
		return NULL;
	if (p[strlen(p) - 1] != '/') {
		char *t = xasprintf("%s/", p);
		p = arena_strdup(c->s->arena, t);
		free(t);
	}
	return p;
}

/* [["a","b"], ...] into pairs; absent is empty unless required. */
static int get_pairs(struct ctx *c, const cJSON *obj, const char *name, bool required,
		     struct spec_pair **out, size_t *n)
{
	const cJSON *arr = field(c, obj, "", name, required), *it;
	*out = NULL;
	*n = 0;
	if (!arr)
		return c->err ? -1 : 0;
	if (want_array(c, arr, name) < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr), i = 0;
	*out = arena_alloc(c->s->arena, (cnt ? cnt : 1) * sizeof(**out));
	cJSON_ArrayForEach(it, arr) {
		char path[64];
		snprintf(path, sizeof path, "%s[%zu]", name, i);
		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2)
			return fail(c, "'%s' must be a [name, value] pair of strings", path);
		char p0[80], p1[80];
		snprintf(p0, sizeof p0, "%s[0]", path);
		snprintf(p1, sizeof p1, "%s[1]", path);
		const char *k = get_str(c, cJSON_GetArrayItem(it, 0), p0, true);
		const char *v = k ? get_str(c, cJSON_GetArrayItem(it, 1), p1, false) : NULL;
		if (!v)
			return -1;
		(*out)[i].name = k;
		(*out)[i].value = v;
		i++;
	}
	*n = i;
	return 0;
}

static int check_name_unique(struct ctx *c, const char *name, const char *path)
{
	struct spec *s = c->s;
	for (size_t i = 0; i < s->ninputs; i++)
		if (!strcmp(s->inputs[i].name, name))
			return fail(c, "'%s': the name '%s' is used twice", path, name);
	for (size_t i = 0; i < s->noutputs; i++)
		if (!strcmp(s->outputs[i].name, name))
			return fail(c, "'%s': the name '%s' is used twice", path, name);
	return 0;
}

/* The "gathered" list of a gathering input: its entries, and whether
 * it is present (not empty). */
static int parse_gathered(struct ctx *c, const cJSON *arr, const char *path, struct spec_input *in)
{
	if (want_array(c, arr, path) < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	in->gather = true;
	in->gathered = arena_alloc(c->s->arena, (cnt ? cnt : 1) * sizeof(*in->gathered));
	in->ngathered = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		struct spec_gathered *e = &in->gathered[in->ngathered];
		char ep[128], fp[160];
		snprintf(ep, sizeof ep, "%s[%zu]", path, in->ngathered);
		if (want_object(c, it, ep) < 0)
			return -1;
		snprintf(fp, sizeof fp, "%s.", ep);
		const cJSON *f;
		char fpath[192];
		snprintf(fpath, sizeof fpath, "%suri", fp);
		if (!(f = field(c, it, fp, "uri", true)) || !(e->uri = get_str(c, f, fpath, true)))
			return -1;
		snprintf(fpath, sizeof fpath, "%spath", fp);
		if (!(f = field(c, it, fp, "path", true)) || !(e->path = get_str(c, f, fpath, true)) ||
		    !(e->path = absolute(c, e->path)))
			return -1;
		snprintf(fpath, sizeof fpath, "%sfingerprint", fp);
		e->fingerprint = NULL;
		f = field(c, it, fp, "fingerprint", false);
		if (f && !cJSON_IsNull(f) && !(e->fingerprint = get_str(c, f, fpath, false)))
			return -1;
		in->ngathered++;
	}
	in->present = in->ngathered > 0;
	return 0;
}

static int parse_inputs(struct ctx *c, const cJSON *root)
{
	struct spec *s = c->s;
	const cJSON *arr = field(c, root, "", "inputs", false), *it;
	if (!arr)
		return 0;
	if (want_array(c, arr, "inputs") < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	s->inputs = arena_alloc(s->arena, (cnt ? cnt : 1) * sizeof(*s->inputs));
	cJSON_ArrayForEach(it, arr) {
		struct spec_input in = {0};
		char pre[48], path[96];
		snprintf(pre, sizeof pre, "inputs[%zu].", s->ninputs);
		snprintf(path, sizeof path, "inputs[%zu]", s->ninputs);
		if (want_object(c, it, path) < 0)
			return -1;
		const cJSON *f;
#define STRF(dst, nm, nonempty) \
	do { \
		snprintf(path, sizeof path, "%s%s", pre, nm); \
		if (!(f = field(c, it, pre, nm, true)) || !((dst) = get_str(c, f, path, nonempty))) \
			return -1; \
	} while (0)
		STRF(in.name, "name", true);
		if (check_name_unique(c, in.name, path) < 0)
			return -1;
		STRF(in.uri, "uri", true);
		snprintf(path, sizeof path, "%soptional", pre);
		if (!(f = field(c, it, pre, "optional", false)))
			in.optional = false;
		else if (get_bool(c, f, path, &in.optional) < 0)
			return -1;
		snprintf(path, sizeof path, "%spresent", pre);
		if (!(f = field(c, it, pre, "present", false)))
			in.present = true;
		else if (get_bool(c, f, path, &in.present) < 0)
			return -1;
		snprintf(path, sizeof path, "%sgathered", pre);
		if ((f = field(c, it, pre, "gathered", false)) && parse_gathered(c, f, path, &in) < 0)
			return -1;
		snprintf(path, sizeof path, "%spresent", pre);
		if (!in.present && !in.optional)
			return fail(c, "'%s': the required input '%s' is not present", path, in.name);
		snprintf(path, sizeof path, "%spath", pre);
		f = field(c, it, pre, "path", in.present && !in.gather);
		if (in.gather) {
			if (f && !cJSON_IsNull(f))
				return fail(c, "'%s' must be null for a gathering input, not %s", path, type_name(f));
			in.path = "";
		} else if (in.present) {
			if (!f || !(in.path = get_str(c, f, path, true)) ||
			    !(in.path = absolute(c, in.path)))
				return -1;
		} else if (f && !cJSON_IsNull(f) && !cJSON_IsString(f)) {
			return fail(c, "'%s' must be a string or null, not %s", path, type_name(f));
		} else {
			in.path = "";
		}
		snprintf(path, sizeof path, "%sfingerprint", pre);
		f = field(c, it, pre, "fingerprint", false);
		if (f && !cJSON_IsNull(f) && !(in.fingerprint = get_str(c, f, path, false)))
			return -1;
		s->inputs[s->ninputs++] = in;
	}
	return 0;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static int parse_outputs(struct ctx *c, const cJSON *root)
{
	struct spec *s = c->s;
	const cJSON *arr = field(c, root, "", "outputs", true), *it;
	if (!arr || want_array(c, arr, "outputs") < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	s->outputs = arena_alloc(s->arena, (cnt ? cnt : 1) * sizeof(*s->outputs));
	cJSON_ArrayForEach(it, arr) {
		struct spec_output out = {0};
		char pre[48], path[96];
		snprintf(pre, sizeof pre, "outputs[%zu].", s->noutputs);
		snprintf(path, sizeof path, "outputs[%zu]", s->noutputs);
		if (want_object(c, it, path) < 0)
			return -1;
		const cJSON *f;
		STRF(out.name, "name", true);
		if (check_name_unique(c, out.name, path) < 0)
			return -1;
		if (strchr(out.name, '/') || !strcmp(out.name, ".") || !strcmp(out.name, ".."))
			return fail(c, "'%s' is not a valid output name", path);
		STRF(out.uri, "uri", true);
		STRF(out.path, "path", true);
		snprintf(path, sizeof path, "%sdir", pre);
		if (!(f = field(c, it, pre, "dir", true)) || get_bool(c, f, path, &out.dir) < 0)
			return -1;
#undef STRF
		if (!(out.path = absolute(c, out.path)))
			return -1;
		size_t pl = strlen(out.path);
		if (out.dir && out.path[pl - 1] != '/') {
			char *t = xasprintf("%s/", out.path);
			out.path = arena_strdup(s->arena, t);
			free(t);
		}
		if (!out.dir && (out.path[pl - 1] == '/' || !basename_of(out.uri)[0]))
			return fail(c, "'%spath' names a folder but '%sdir' is false", pre, pre);
		if (!strcmp(out.path, "/"))
			return fail(c, "'%spath' must not be the root folder", pre);
		s->outputs[s->noutputs++] = out;
	}
	return 0;
}

static int parse_segment(struct ctx *c, const cJSON *seg, const char *path, struct spec_seg *out)
{
	struct spec *s = c->s;
	if (cJSON_IsString(seg)) {
		out->kind = SPEC_SEG_TEXT;
		out->text = arena_strdup(s->arena, seg->valuestring);
		return 0;
	}
	if (!cJSON_IsObject(seg) || cJSON_GetArraySize(seg) != 1)
		return fail(c, "'%s' must be a string, {\"input\":NAME} or {\"output\":NAME}", path);
	const cJSON *m = seg->child;
	bool is_in = !strcmp(m->string, "input");
	if (!is_in && strcmp(m->string, "output"))
		return fail(c, "'%s' must be a string, {\"input\":NAME} or {\"output\":NAME}", path);
	if (!cJSON_IsString(m))
		return fail(c, "'%s.%s' must be a string, not %s", path, m->string, type_name(m));
	size_t n = is_in ? s->ninputs : s->noutputs;
	for (size_t i = 0; i < n; i++) {
		const char *nm = is_in ? s->inputs[i].name : s->outputs[i].name;
		if (!strcmp(nm, m->valuestring)) {
			out->kind = is_in ? SPEC_SEG_INPUT : SPEC_SEG_OUTPUT;
			out->index = i;
			return 0;
		}
	}
	return fail(c, "'%s': no %s named '%s'", path, m->string, m->valuestring);
}

static int parse_argv(struct ctx *c, const cJSON *root)
{
	struct spec *s = c->s;
	const cJSON *arr = field(c, root, "", "argv", true), *w;
	if (!arr || want_array(c, arr, "argv") < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	if (!cnt)
		return fail(c, "'argv' must not be empty");
	s->argv = arena_alloc(s->arena, cnt * sizeof(*s->argv));
	cJSON_ArrayForEach(w, arr) {
		char path[64];
		snprintf(path, sizeof path, "argv[%zu]", s->nargv);
		if (want_array(c, w, path) < 0)
			return -1;
		struct spec_word *word = &s->argv[s->nargv++];
		size_t ns = (size_t)cJSON_GetArraySize(w);
		word->segs = arena_alloc(s->arena, (ns ? ns : 1) * sizeof(*word->segs));
		word->nsegs = 0;
		const cJSON *seg;
		cJSON_ArrayForEach(seg, w) {
			char sp[96];
			snprintf(sp, sizeof sp, "%s[%zu]", path, word->nsegs);
			struct spec_seg *g = &word->segs[word->nsegs];
			if (parse_segment(c, seg, sp, g) < 0)
				return -1;
			if (g->kind == SPEC_SEG_INPUT && s->inputs[g->index].gather) {
				for (size_t o = 0; o < word->nsegs; o++)
					if (word->segs[o].kind == SPEC_SEG_INPUT && word->segs[o].index != g->index &&
					    s->inputs[word->segs[o].index].gather)
						return fail(c, "'%s': a word may hold one gathering input only", sp);
			}
			word->nsegs++;
		}
	}
	/* The program itself is looked up on PATH; it cannot be empty. */
	if (s->argv[0].nsegs == 0 ||
	    (s->argv[0].nsegs == 1 && s->argv[0].segs[0].kind == SPEC_SEG_TEXT && !s->argv[0].segs[0].text[0]))
		return fail(c, "'argv[0]' (the program) must not be empty");
	return 0;
}

static int parse_command(struct ctx *c, const cJSON *root)
{
	struct spec *s = c->s;
	const cJSON *arr = field(c, root, "", "command", false), *it;
	if (!arr)
		return 0;
	if (want_array(c, arr, "command") < 0)
		return -1;
	size_t cnt = (size_t)cJSON_GetArraySize(arr);
	s->command = arena_alloc(s->arena, (cnt ? cnt : 1) * sizeof(*s->command));
	cJSON_ArrayForEach(it, arr) {
		char path[64];
		snprintf(path, sizeof path, "command[%zu]", s->ncommand);
		if (!(s->command[s->ncommand] = get_str(c, it, path, false)))
			return -1;
		s->ncommand++;
	}
	return 0;
}

static int parse_root(struct ctx *c, const cJSON *root)
{
	struct spec *s = c->s;
	const cJSON *f;
	if (want_object(c, root, "the spec") < 0)
		return -1;
	if (!(f = field(c, root, "", "schema", true)))
		return -1;
	if (!cJSON_IsNumber(f) || f->valuedouble != 1)
		return fail(c, "unsupported 'schema' (this rapid reads schema 1)");
	if (!(f = field(c, root, "", "target", true)) || !(s->target = get_str(c, f, "target", true)))
		return -1;
	const char *key;
	if (!(f = field(c, root, "", "key", true)) || !(key = get_str(c, f, "key", true)))
		return -1;
	if (strlen(key) != 32 || strspn(key, "0123456789abcdef") != 32)
		return fail(c, "'key' must be 32 lowercase hex digits, not '%s'", key);
	memcpy(s->key, key, 33);
	if (get_pairs(c, root, "wildcards", false, &s->wildcards, &s->nwildcards) < 0)
		return -1;
	if (!(s->root = get_dir(c, root, "root")) ||
	    !(s->sentinel_dir = get_dir(c, root, "sentinel_dir")) ||
	    !(s->log_dir = get_dir(c, root, "log_dir")))
		return -1;
	if (parse_inputs(c, root) < 0 || parse_outputs(c, root) < 0 ||
	    parse_argv(c, root) < 0 || parse_command(c, root) < 0)
		return -1;
	f = field(c, root, "", "image", false);
	if (f && !cJSON_IsNull(f) && !(s->image = get_str(c, f, "image", false)))
		return -1;
	f = field(c, root, "", "container", false);
	if (f && !cJSON_IsNull(f)) {
		if (!(s->container = get_str(c, f, "container", true)))
			return -1;
		if (!container_tool_known(s->container))
			return fail(c, "'container' must be podman, docker or null, not '%s'", s->container);
		if (!s->image)
			return fail(c, "'container' needs an 'image'");
	}
	if (get_pairs(c, root, "env", false, &s->env, &s->nenv) < 0)
		return -1;
	for (size_t i = 0; i < s->nenv; i++)
		if (strchr(s->env[i].name, '='))
			return fail(c, "'env[%zu][0]': '%s' is not a variable name", i, s->env[i].name);
	f = field(c, root, "", "timeout_s", false);
	if (f && !cJSON_IsNull(f)) {
		double t = cJSON_IsNumber(f) ? f->valuedouble : 0;
		if (!(t >= 1 && t <= 1e9) || t != (double)(long)t)
			return fail(c, "'timeout_s' must be a whole number of seconds (1 or more) or null");
		s->timeout_s = (long)t;
	}
	if (get_pairs(c, root, "components", false, &s->components, &s->ncomponents) < 0)
		return -1;
	f = field(c, root, "", "force", false);
	if (f && get_bool(c, f, "force", &s->force) < 0)
		return -1;
	f = field(c, root, "", "workdir", false);
	if (f && !cJSON_IsNull(f) &&
	    (!(s->workdir = get_str(c, f, "workdir", true)) || !(s->workdir = absolute(c, s->workdir))))
		return -1;
	f = field(c, root, "", "scratch", false);
	if (f && !cJSON_IsNull(f) && !(s->scratch = get_dir(c, root, "scratch")))
		return -1;
	if (s->workdir && !strncmp(s->workdir, "s3://", 5))
		return fail(c, "'workdir' must be a local folder");
	if (s->scratch && !strncmp(s->scratch, "s3://", 5))
		return fail(c, "'scratch' must be a local folder");
	return 0;
}

/* Line and column (1-based) of p in text. */
static void position(const char *text, const char *p, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (const char *q = text; q < p; q++) {
		if (*q == '\n') {
			++*line;
			*col = 1;
		} else {
			++*col;
		}
	}
}

struct spec *spec_parse(const char *text, size_t len, char **err)
{
	struct ctx c = {0};
	const char *end = NULL;
	*err = NULL;
	cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!json) {
		size_t line, col;
		if (!end || end < text || end > text + len)
			end = text + len;
		position(text, end, &line, &col);
		*err = end == text + len ? xasprintf("not valid JSON (it ends early, at line %zu, column %zu)", line, col)
					 : xasprintf("not valid JSON at line %zu, column %zu", line, col);
		return NULL;
	}
	/* Anything but white space after the value is an error too. */
	while (end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end < text + len) {
		size_t line, col;
		position(text, end, &line, &col);
		*err = xasprintf("unexpected text after the JSON value at line %zu, column %zu", line, col);
		cJSON_Delete(json);
		return NULL;
	}
	c.s = xcalloc(1, sizeof(*c.s));
	c.s->arena = arena_new();
	if (parse_root(&c, json) < 0) {
		*err = c.err ? c.err : xstrdup("invalid spec");
		spec_free(c.s);
		c.s = NULL;
	}
	cJSON_Delete(json);
	free(c.cwd);
	return c.s;
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	free(s);
}

char *spec_label(const struct spec *s)
{
	struct buf b = {0};
	buf_puts(&b, s->target);
	for (size_t i = 0; i < s->nwildcards; i++)
		buf_printf(&b, " %s=%s", s->wildcards[i].name, s->wildcards[i].value);
	return buf_detach(&b);
}

/* ---- encoding ---- */

/* cJSON's constructors return NULL when memory runs out: every add goes
 * through these, which remember that, so a spec is whole or not at all. */
static cJSON *obj_add(bool *bad, cJSON *o, const char *name, cJSON *item)
{
	if (!item || !o || !cJSON_AddItemToObject(o, name, item)) {
		cJSON_Delete(item);
		*bad = true;
	}
	return item;
}

static cJSON *arr_add(bool *bad, cJSON *a, cJSON *item)
{
	if (!item || !a || !cJSON_AddItemToArray(a, item)) {
		cJSON_Delete(item);
		*bad = true;
	}
	return item;
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_pairs(bool *bad, cJSON *o, const char *name, const struct spec_pair *p, size_t n)
{
	cJSON *a = obj_add(bad, o, name, cJSON_CreateArray());
	for (size_t i = 0; i < n && a; i++) {
		cJSON *pair = arr_add(bad, a, cJSON_CreateArray());
		arr_add(bad, pair, cJSON_CreateString(p[i].name));
		arr_add(bad, pair, cJSON_CreateString(p[i].value));
	}
}

static void add_argv(bool *bad, cJSON *o, const struct spec *s)
{
	cJSON *a = obj_add(bad, o, "argv", cJSON_CreateArray());
	for (size_t i = 0; i < s->nargv && a; i++) {
		cJSON *w = arr_add(bad, a, cJSON_CreateArray());
		for (size_t j = 0; j < s->argv[i].nsegs && w; j++) {
			const struct spec_seg *g = &s->argv[i].segs[j];
			if (g->kind == SPEC_SEG_TEXT) {
				arr_add(bad, w, cJSON_CreateString(g->text));
				continue;
			}
			bool in = g->kind == SPEC_SEG_INPUT;
			cJSON *seg = arr_add(bad, w, cJSON_CreateObject());
			obj_add(bad, seg, in ? "input" : "output",
				cJSON_CreateString(in ? s->inputs[g->index].name : s->outputs[g->index].name));
		}
	}
}

static void add_files(bool *bad, cJSON *root, const struct spec *s)
{
	cJSON *a = obj_add(bad, root, "inputs", cJSON_CreateArray());
	for (size_t i = 0; i < s->ninputs && a; i++) {
		const struct spec_input *in = &s->inputs[i];
		cJSON *o = arr_add(bad, a, cJSON_CreateObject());
		obj_add(bad, o, "name", cJSON_CreateString(in->name));
		obj_add(bad, o, "uri", cJSON_CreateString(in->uri));
		obj_add(bad, o, "path", str_or_null(in->present && !in->gather ? in->path : NULL));
		obj_add(bad, o, "optional", cJSON_CreateBool(in->optional));
		obj_add(bad, o, "present", cJSON_CreateBool(in->present));
		obj_add(bad, o, "fingerprint", str_or_null(in->fingerprint));
		if (!in->gather)
			continue;
		cJSON *ga = obj_add(bad, o, "gathered", cJSON_CreateArray());
		for (size_t k = 0; k < in->ngathered && ga; k++) {
			cJSON *e = arr_add(bad, ga, cJSON_CreateObject());
			obj_add(bad, e, "uri", cJSON_CreateString(in->gathered[k].uri));
			obj_add(bad, e, "path", cJSON_CreateString(in->gathered[k].path));
			obj_add(bad, e, "fingerprint", str_or_null(in->gathered[k].fingerprint));
		}
	}
	a = obj_add(bad, root, "outputs", cJSON_CreateArray());
	for (size_t i = 0; i < s->noutputs && a; i++) {
		const struct spec_output *out = &s->outputs[i];
		cJSON *o = arr_add(bad, a, cJSON_CreateObject());
		obj_add(bad, o, "name", cJSON_CreateString(out->name));
		obj_add(bad, o, "uri", cJSON_CreateString(out->uri));
		obj_add(bad, o, "path", cJSON_CreateString(out->path));
		obj_add(bad, o, "dir", cJSON_CreateBool(out->dir));
	}
}

char *spec_encode(const struct spec *s, size_t *len)
{
	bool bad = false;
	cJSON *j = cJSON_CreateObject();
	obj_add(&bad, j, "schema", cJSON_CreateNumber(1));
	obj_add(&bad, j, "target", cJSON_CreateString(s->target));
	add_pairs(&bad, j, "wildcards", s->wildcards, s->nwildcards);
	obj_add(&bad, j, "key", cJSON_CreateString(s->key));
	obj_add(&bad, j, "root", cJSON_CreateString(s->root));
	obj_add(&bad, j, "sentinel_dir", cJSON_CreateString(s->sentinel_dir));
	obj_add(&bad, j, "log_dir", cJSON_CreateString(s->log_dir));
	add_argv(&bad, j, s);
	cJSON *a = obj_add(&bad, j, "command", cJSON_CreateArray());
	for (size_t i = 0; i < s->ncommand && a; i++)
		arr_add(&bad, a, cJSON_CreateString(s->command[i]));
	add_files(&bad, j, s);
	obj_add(&bad, j, "image", str_or_null(s->image));
	obj_add(&bad, j, "container", str_or_null(s->container));
	add_pairs(&bad, j, "env", s->env, s->nenv);
	obj_add(&bad, j, "timeout_s", s->timeout_s > 0 ? cJSON_CreateNumber((double)s->timeout_s)
						     : cJSON_CreateNull());
	add_pairs(&bad, j, "components", s->components, s->ncomponents);
	obj_add(&bad, j, "force", cJSON_CreateBool(s->force));
	obj_add(&bad, j, "workdir", str_or_null(s->workdir));
	if (s->scratch)
		obj_add(&bad, j, "scratch", str_or_null(s->scratch));
	char *text = j && !bad ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	*len = text ? strlen(text) : 0;
	return text;
}
