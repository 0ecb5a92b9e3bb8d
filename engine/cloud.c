/* cloud.c - the process's one S3 client. */
#include "engine/cloud.h"
#include "aws/s3.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>

static struct s3_client *client;
static const char *profile;

void cloud_set_profile(const char *name)
{
	profile = name;
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

struct s3_client *cloud_s3(void)
{
	if (client)
		return client;
	struct s3_client_config cfg = {.profile = profile, .notice = on_notice};
	struct aws_error err = {0};
	client = s3_client_new(&cfg, &err);
	if (!client) {
		if (!err.what)
			aws_error_what(&err, "use S3", NULL);
		cloud_warn(&err);
	}
	aws_error_clear(&err);
	return client;
}

void cloud_report(void)
{
	if (!client)
		return;
	struct s3_stats st;
	s3_client_stats(client, &st);
	fprintf(stderr, "rapid: S3 requests: %llu list, %llu head, %llu get, %llu put, %llu delete\n",
		(unsigned long long)st.list, (unsigned long long)st.head, (unsigned long long)st.get,
		(unsigned long long)(st.put + st.multipart), (unsigned long long)st.del);
}

void cloud_close(void)
{
	s3_client_free(client);
	client = NULL;
}
