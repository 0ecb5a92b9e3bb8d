/* ini_fuzz.c - libFuzzer harness for aws/config.c's INI parser (the AWS
 * CLI's ~/.aws/config and ~/.aws/credentials): parse, then look up the
 * sections and keys rapid reads, nested ones included. */
#include "aws/config.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static const char *const sections[] = {"default", "profile default", "profile dev", "dev", "sso-session s"};
static const char *const keys[] = {"region", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
				   "s3.addressing_style", "endpoint_url", "s3.endpoint_url", "max_attempts",
				   "source_profile", "credential_process"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_ini *ini = aws_ini_parse((const char *)data, size);
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
		sink += (size_t)aws_ini_has_section(ini, sections[i]);
		for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
			const char *v = aws_ini_get(ini, sections[i], keys[k]);
			if (v)
				sink += strlen(v);
		}
	}
	aws_ini_free(ini);
	return 0;
}
