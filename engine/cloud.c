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

struct s3_client *cloud_s3(void)
{
	if (client)
		return client;
	struct s3_client_config cfg = {.profile = profile};
	char *err = NULL;
	client = s3_client_new(&cfg, &err);
	if (!client) {
		warn("cannot use S3: %s", err ? err : "unknown error");
		free(err);
	}
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
