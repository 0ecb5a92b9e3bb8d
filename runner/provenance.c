/* provenance.c - the Batch job's provenance for the sentinels
 * (provenance.h): the environment Batch sets, the ECS task metadata and
 * IMDSv2 through aws/meta.h. */
#include "runner/provenance.h"
#include "aws/meta.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE 255

static struct runner_provenance cur;
static bool have;

static char *own(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void runner_provenance_clear(struct runner_provenance *p)
{
	free((char *)p->job_id);
	free((char *)p->image_digest);
	free((char *)p->instance_type);
	*p = (struct runner_provenance){.array_index = -1, .attempt = -1};
}

void runner_provenance_set(const struct runner_provenance *p)
{
	runner_provenance_clear(&cur);
	have = p != NULL;
	if (p)
		cur = (struct runner_provenance){own(p->job_id), p->array_index, p->attempt, own(p->image_digest),
						 own(p->instance_type)};
}

const struct runner_provenance *runner_provenance_get(void)
{
	return have ? &cur : NULL;
}

/* Printable ASCII without spaces, 1..MAX_VALUE bytes. */
static bool plain(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* A non-negative decimal environment variable; -1 when absent or not one. */
static long env_number(const char *name)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	long n = strtol(v, &end, 10);
	return errno || *end || n > 1000000000L ? -1 : n;
}

static void image_digest(struct aws_meta *m, struct runner_provenance *p, struct buf *notes)
{
	const char *uri = getenv("ECS_CONTAINER_METADATA_URI_V4");
	char *id = NULL, *image = NULL;
	struct buf why = {0};
	if (!uri || !*uri)
		return;
	if (aws_meta_ecs_image(m, uri, &id, &image, &why) == 0)
		p->image_digest = id;
	else
		buf_printf(notes, "the image digest is not known: GET '%s': %s\n", uri, why.data);
	free(image);
	buf_free(&why);
}

static bool is_instance_type(const char *s)
{
	if (!plain(s))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '.' && *s != '-')
			return false;
	return true;
}

static void instance_type(struct aws_meta *m, struct runner_provenance *p, struct buf *notes)
{
	static const char path[] = "/latest/meta-data/instance-type";
	char *base, *token = NULL;
	struct buf why = {0}, body = {0};
	long status;
	if (aws_meta_imds_disabled())
		return;
	base = aws_meta_imds_base(NULL);
	if (aws_meta_imds_token(m, base, &token, &why) != AWS_META_OK) {
		buf_printf(notes, "the instance type is not known: PUT '%s/latest/api/token': %s\n", base, why.data);
		goto out;
	}
	if (aws_meta_imds_get(m, base, token, path, &status, &body, &why) < 0) {
		buf_printf(notes, "the instance type is not known: GET '%s%s': %s\n", base, path, why.data);
		goto out;
	}
	if (status != 200) {
		buf_printf(notes, "the instance type is not known: GET '%s%s': HTTP %ld\n", base, path, status);
		goto out;
	}
	if (!is_instance_type(body.data)) {
		buf_printf(notes, "the instance type is not known: GET '%s%s': the answer is not an instance type\n",
			   base, path);
		goto out;
	}
	p->instance_type = xstrdup(body.data);
out:
	if (token) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	aws_meta_body_free(&body);
	buf_free(&why);
	free(base);
}

void runner_provenance_collect(struct runner_provenance *p, long index, struct buf *notes)
{
	*p = (struct runner_provenance){.array_index = -1, .attempt = -1};
	const char *job = getenv("AWS_BATCH_JOB_ID");
	p->array_index = index;
	if (!job)
		return;
	if (plain(job))
		p->job_id = xstrdup(job);
	p->attempt = env_number("AWS_BATCH_JOB_ATTEMPT");
	struct aws_meta *m = aws_meta_new(1000, PROVENANCE_TIMEOUT_MS);
	image_digest(m, p, notes);
	instance_type(m, p, notes);
	aws_meta_free(m);
}
