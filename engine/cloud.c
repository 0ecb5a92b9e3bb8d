/* cloud.c - the process's one S3 client. */
#include "engine/cloud.h"
#include "aws/s3.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct s3_client *client, *input_client;
static const char *profile, *input_profile;
static char **written; /* buckets an output root is in */
static size_t nwritten;

void cloud_set_profile(const char *name)
{
	profile = name;
}

const char *cloud_profile(void)
{
	return profile;
}

void cloud_warn(const struct aws_error *e)
{
	char *m = aws_error_format(e);
	warn("%s", m);
	free(m);
}

static void on_notice(const struct aws_error *e, void *arg)
{
	(void)arg;
	cloud_warn(e);
}

static struct s3_client *make(const char *prof)
{
	struct s3_client_config cfg = {.profile = prof, .notice = on_notice};
	struct aws_error err = {0};
	struct s3_client *c = s3_client_new(&cfg, &err);
	if (!c) {
		if (!err.what)
			aws_error_what(&err, "use S3", NULL);
		cloud_warn(&err);
	}
	aws_error_clear(&err);
	return c;
}

struct s3_client *cloud_s3(void)
{
	if (!client)
		client = make(profile);
	return client;
}

void cloud_set_input_profile(const char *name)
{
	input_profile = name;
}

void cloud_add_written(const char *root)
{
	char *b = NULL, *k = NULL;
	if (s3_uri_split(root, &b, &k) < 0)
		return;
	free(k);
	for (size_t i = 0; i < nwritten; i++)
		if (!strcmp(written[i], b)) {
			free(b);
			return;
		}
	written = xreallocarray(written, nwritten + 1, sizeof(char *));
	written[nwritten++] = b;
}

bool cloud_is_input_bucket(const char *bucket)
{
	if (!input_profile)
		return false;
	for (size_t i = 0; i < nwritten; i++)
		if (!strcmp(written[i], bucket))
			return false;
	return true;
}

struct s3_client *cloud_s3_for(const char *bucket)
{
	if (!cloud_is_input_bucket(bucket))
		return cloud_s3();
	if (!input_client)
		input_client = make(input_profile);
	return input_client;
}

void cloud_report(void)
{
	if (!client && !input_client)
		return;
	struct s3_stats st = {0}, in = {0};
	if (client)
		s3_client_stats(client, &st);
	if (input_client) {
		s3_client_stats(input_client, &in);
		st.list += in.list;
		st.head += in.head;
		st.get += in.get;
		st.put += in.put;
		st.multipart += in.multipart;
		st.del += in.del;
	}
	fprintf(stderr, "rapid: S3 requests: %llu list, %llu head, %llu get, %llu put, %llu delete\n",
		(unsigned long long)st.list, (unsigned long long)st.head, (unsigned long long)st.get,
		(unsigned long long)(st.put + st.multipart), (unsigned long long)st.del);
}

void cloud_close(void)
{
	s3_client_free(client);
	s3_client_free(input_client);
	client = input_client = NULL;
	for (size_t i = 0; i < nwritten; i++)
		free(written[i]);
	free(written);
	written = NULL;
	nwritten = 0;
}
