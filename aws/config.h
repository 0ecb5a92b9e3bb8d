/* config.h - the AWS CLI's shared files (~/.aws/credentials, ~/.aws/config),
 * profile selection, region and endpoint resolution, S3 addressing.
 * Nothing here prints: a failure fills a struct aws_error (kind
 * AWS_ERR_CONFIG) for the caller to report once. */
#ifndef RAPID_AWS_CONFIG_H
#define RAPID_AWS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "aws/error.h"

/* A parsed INI file. Keys are lowercased; a key with an empty value followed
 * by more-indented "sub = value" lines (the config file's nested form, as in
 * "s3 =\n  addressing_style = path") is stored as "key.sub". */
struct aws_ini;

/* Parse INI text (never fails: lines that are not sections, keys or
 * comments are ignored, like continuation lines of multi-line values). */
struct aws_ini *aws_ini_parse(const char *text, size_t len);
/* Whether the file has a section of exactly this name ("profile dev"). */
int aws_ini_has_section(const struct aws_ini *, const char *section);
/* The value of key in section; NULL if absent. Borrowed from the ini. */
const char *aws_ini_get(const struct aws_ini *, const char *section, const char *key);
/* Frees the ini, zeroing every value first (they may be secrets). */
void aws_ini_free(struct aws_ini *);

/* One selected profile over both shared files. Opaque; read-only once
 * loaded, so it may be shared between threads. */
struct aws_config;

/* Load the shared files for a profile: profile if not NULL (--profile),
 * else AWS_PROFILE, else "default". Files: AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE, else ~/.aws/credentials and ~/.aws/config ($HOME, else
 * the password database). A missing file is not an error; an unreadable one
 * is, and so is a profile named by --profile or AWS_PROFILE that is in
 * neither file. NULL with *err. */
struct aws_config *aws_config_load(const char *profile, struct aws_error *err);
void aws_config_free(struct aws_config *);

/* The selected profile's name. Borrowed. */
const char *aws_config_profile(const struct aws_config *);
/* 1 if the profile came from aws_config_load's argument (--profile): the
 * AWS CLI then skips credentials from the environment. */
int aws_config_profile_explicit(const struct aws_config *);
/* The profile's value for key, the credentials file winning over the config
 * file (as the AWS CLI merges them); NULL if absent. Borrowed. */
const char *aws_config_get(const struct aws_config *, const char *key);
/* Path of the credentials or the config file, even when it does not exist;
 * NULL if no home folder is known. Borrowed. */
enum aws_file { AWS_FILE_CREDENTIALS, AWS_FILE_CONFIG };
const char *aws_config_path(const struct aws_config *, enum aws_file);

/* The region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's
 * "region". The caller frees. NULL with *err when there is none or it is
 * not a region name. */
char *aws_config_region(const struct aws_config *, struct aws_error *err);

/* Whether a region is configured at all (AWS_REGION, AWS_DEFAULT_REGION
 * or the profile's region), without reporting anything. */
int aws_config_has_region(const struct aws_config *);

/* Attempts per request: AWS_MAX_ATTEMPTS, else the profile's max_attempts,
 * else 3 (the AWS CLI's order). 0 with *err when the value is not a number
 * from 1 to 100. */
unsigned aws_config_max_attempts(const struct aws_config *, struct aws_error *err);

/* The limits of every transfer (aws/http.h's connect and read timeouts and
 * the deadline's minimum rate). */
struct aws_transfer_limits {
	long connect_timeout_ms; /* -1: no limit */
	long read_timeout_ms;    /* -1: no limit */
	int64_t min_rate;        /* bytes a second; -1: no deadline */
};

enum aws_timeout { AWS_TIMEOUT_READ, AWS_TIMEOUT_CONNECT };

/* The process's --cli-read-timeout or --cli-connect-timeout, as the AWS
 * CLI takes them: whole seconds, 0 for no limit. Set before any client is
 * made; a forked runner inherits it. 0, or -1 with *err (nothing set)
 * when value is not a number of seconds from 0 to 86400. */
int aws_config_set_timeout(enum aws_timeout which, const char *value, struct aws_error *err);

/* The transfer limits: each timeout from its option, else the profile's
 * cli_read_timeout / cli_connect_timeout (seconds, 0: no limit), else 60 s
 * to read and 10 s to connect; the minimum rate from RAPID_MIN_RATE, else
 * the profile's rapid_min_rate, else 64 KiB/s (0: no deadline). cfg may be
 * NULL. 0, or -1 with *err naming the value and where it came from. */
int aws_config_transfer_limits(const struct aws_config *cfg, struct aws_transfer_limits *out,
                               struct aws_error *err);

/* A rate as the AWS CLI writes max_bandwidth: bytes a second ("65536"),
 * or a number with a suffix B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s
 * (any case; K, M and G all powers of 1024, as the AWS CLI reads them).
 * 0 and *out, or -1 when s is not one. */
int aws_parse_rate(const char *s, int64_t *out);

/* S3 addressing preference (the profile's "s3 = addressing_style = …"). */
enum aws_addressing { AWS_ADDRESSING_AUTO, AWS_ADDRESSING_PATH, AWS_ADDRESSING_VIRTUAL };

/* Where a service's requests go. Owned strings; free with aws_endpoint_free. */
struct aws_endpoint {
	char *url;    /* "https://s3.eu-west-1.amazonaws.com", no trailing '/' */
	char *scheme; /* "https" or "http" */
	char *host;   /* host[:port] as written in the URL, e.g. "127.0.0.1:4566" */
	char *path;   /* base path: "" or "/prefix", no trailing '/' */
	char *origin; /* where it came from, for messages: "AWS_ENDPOINT_URL_S3",
	                 "AWS_ENDPOINT_URL", "profile dev", "services local (s3)"
	                 or "default" */
	int custom;   /* 1 unless it is AWS's default endpoint */
	enum aws_addressing addressing;
};

/* Resolve the endpoint of a service, by its service id as the AWS CLI spells
 * it ("S3", "Batch", "Secrets Manager", "CloudFormation", "STS"):
 * AWS_ENDPOINT_URL_<ID> (uppercased, spaces as '_'), then AWS_ENDPOINT_URL,
 * then the profile's services section ("[services NAME]" with
 * "<id lowercased, spaces as '_'> =\n  endpoint_url = …"), then the
 * profile's endpoint_url, else https://<prefix>.<region>.amazonaws.com.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
 * ignore_configured_endpoint_urls) keeps the default. region may be NULL
 * when a custom endpoint is configured. cfg may be NULL (environment only).
 * 0, or -1 with *err on a malformed URL or a missing region. */
int aws_endpoint_resolve(const struct aws_config *cfg, const char *service_id, const char *region,
                         struct aws_endpoint *out, struct aws_error *err);
void aws_endpoint_free(struct aws_endpoint *);

/* Host and path of an S3 bucket or object. */
struct aws_s3_url {
	char *host;     /* "bucket.s3.eu-west-1.amazonaws.com" or the endpoint's host */
	char *path;     /* "/key" or "/bucket/key" (endpoint base path first);
	                   NOT percent-encoded: encode it (keeping '/') to send */
	int path_style; /* 1 if the bucket is in the path */
};

/* Address bucket (and key, which may be NULL or "" for bucket-level requests
 * such as ListObjectsV2) on an S3 endpoint. Path style when the endpoint is
 * custom, the profile asks for it, or the bucket name is not a DNS label
 * (dots, uppercase, '_'); else virtual-hosted. -1 with *err when bucket is
 * not a bucket name. The caller frees with aws_s3_url_free. */
int aws_s3_url(const struct aws_endpoint *, const char *bucket, const char *key, struct aws_s3_url *out,
               struct aws_error *err);
void aws_s3_url_free(struct aws_s3_url *);

#endif
