/* stack.c - the remembered AWS stack (one JSON file). */
#include "cfn/stack.h"
#include "aws/error.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STACK_SCHEMA 1

/* The fields, in the order the file lists them. */
#define FIELD(f) {#f, offsetof(struct stack_info, f)}
static const struct { const char *name; size_t off; } fields[] = {
	FIELD(name), FIELD(region), FIELD(stack_id), FIELD(job_queue), FIELD(job_definition),
	FIELD(compute_environment), FIELD(input_secret), FIELD(output_bucket), FIELD(input_bucket),
};

static char **field(struct stack_info *s, size_t i)
{
	return (char **)((char *)s + fields[i].off);
}

char *stack_file(void)
{
	const char *v = getenv("RAPID_STACK_FILE");
	if (v && *v)
		return xstrdup(v);
	if ((v = getenv("XDG_CONFIG_HOME")) && *v == '/')
		return xasprintf("%s/rapid/stack.json", v);
	v = getenv("HOME");
	return xasprintf("%s/.config/rapid/stack.json", v && *v ? v : ".");
}

/* err := "cannot <verb> '<path>': <why>". */
static void file_error(struct aws_error *err, const char *verb, const char *path, const char *why)
{
	aws_error_set(err, AWS_ERR_LOCAL, "%s", why);
	aws_error_what(err, verb, path);
}

int stack_load(struct stack_info *out, struct aws_error *err)
{
	memset(out, 0, sizeof(*out));
	char *path = stack_file();
	size_t len = 0;
	char *text = read_file(path, &len);
	if (!text) {
		int e = errno;
		if (e == ENOENT) {
			free(path);
			return 0;
		}
		file_error(err, "read", path, strerror(e));
		free(path);
		return -1;
	}
	cJSON *j = cJSON_ParseWithLength(text, len);
	cJSON *schema = cJSON_GetObjectItemCaseSensitive(j, "schema");
	int ret = 1;
	if (!cJSON_IsObject(j) || !cJSON_IsNumber(schema) || schema->valueint != STACK_SCHEMA) {
		char *why = xasprintf("not a remembered stack (schema %d); delete it or run 'rapid stack create'",
		                      STACK_SCHEMA);
		file_error(err, "read", path, why);
		free(why);
		ret = -1;
	} else {
		for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(j, fields[i].name);
			if (cJSON_IsString(v))
				*field(out, i) = xstrdup(v->valuestring);
		}
		if (!out->name) {
			file_error(err, "read", path, "it names no stack");
			stack_info_free(out);
			ret = -1;
		}
	}
	cJSON_Delete(j);
	free(text);
	free(path);
	return ret;
}

int stack_save(const struct stack_info *s, struct aws_error *err)
{
	cJSON *j = xnonnull(cJSON_CreateObject());
	xnonnull(cJSON_AddNumberToObject(j, "schema", STACK_SCHEMA));
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		char *v = *field((struct stack_info *)s, i);
		if (v)
			xnonnull(cJSON_AddStringToObject(j, fields[i].name, v));
	}
	char *text = xnonnull(cJSON_Print(j));
	cJSON_Delete(j);
	char *path = stack_file();
	struct buf b = {0};
	buf_puts(&b, text);
	buf_putc(&b, '\n');
	int ret = 0;
	if (write_file_atomic(path, b.data, b.len) < 0) {
		file_error(err, "write", path, strerror(errno));
		ret = -1;
	}
	buf_free(&b);
	cJSON_free(text);
	free(path);
	return ret;
}

int stack_forget(const char *name, struct aws_error *err)
{
	struct stack_info s;
	int r = stack_load(&s, err), ret = 0;
	if (r <= 0)
		return r;
	if (!name || !strcmp(s.name, name)) {
		char *path = stack_file();
		if (unlink(path) < 0 && errno != ENOENT) {
			file_error(err, "remove", path, strerror(errno));
			ret = -1;
		}
		free(path);
	}
	stack_info_free(&s);
	return ret;
}

void stack_info_free(struct stack_info *s)
{
	for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
		free(*field(s, i));
		*field(s, i) = NULL;
	}
}
