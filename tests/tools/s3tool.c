/* s3tool.c - a small S3 client on top of aws/s3.h, for the tests and for
 * benchmarks: every command is one s3_list or one s3_run of all its
 * objects at once, so it shows what the library does and how many
 * requests it takes. Results on stdout, errors on stderr as the library
 * words them after "s3tool: ". Exit 0, 1 on a failure, 2 on a usage
 * error. */
#include "aws/config.h"
#include "aws/s3.h"
#include "lib/util.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: s3tool [-v] [-j N] [--cli-read-timeout S] [--cli-connect-timeout S] COMMAND ARGS\n"
	"  ls [--delimiter D] [--max-keys N] [--start-after KEY] s3://BUCKET[/PREFIX]\n"
	"  head s3://BUCKET/KEY...     (or '-': URIs from stdin; all at once)\n"
	"  get s3://BUCKET/KEY FILE [--range START-END]\n"
	"  cat s3://BUCKET/KEY\n"
	"  put FILE s3://BUCKET/KEY [--md5|--sha256] [--if-none-match] [--content-type T]\n"
	"      [--part-size N] [--threshold N]      (sizes take K, M, G suffixes)\n"
	"  put-many DIR s3://BUCKET/PREFIX/\n"
	"  get-many s3://BUCKET/PREFIX/ DIR   (every key under PREFIX, into DIR/<rest of key>)\n"
	"  rm s3://BUCKET/KEY...\n"
	"  abort-uploads s3://BUCKET[/PREFIX]\n"
	"-v prints the requests made (s3_stats) on stderr at exit; -j bounds the\n"
	"requests in flight; the timeouts are rapid's --cli-read-timeout and\n"
	"--cli-connect-timeout.\n";

static struct s3_client_config conf;
static struct s3_client *client;

static void usage(const char *why) __attribute__((noreturn));
static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "s3tool: %s\n", why);
	fputs(usage_text, stderr);
	exit(2);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	fputs("s3tool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* "123", "8M", "5MiB", "1G": bytes. */
static uint64_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	uint64_t v = strtoull(s, &end, 10);
	int shift = 0;
	if (errno || end == s)
		usage("bad size");
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	}
	if (shift && !strcmp(end, "iB"))
		end += 2;
	if (*end || v > (UINT64_MAX >> shift))
		usage("bad size");
	return v << shift;
}

/* "s3tool: cannot <what>: <reason>" on stderr. */
static void say_error(const struct aws_error *e)
{
	char *m = aws_error_format(e);
	fprintf(stderr, "s3tool: %s\n", m);
	free(m);
}

static void on_notice(const struct aws_error *e, void *arg)
{
	(void)arg;
	say_error(e);
}

static struct s3_client *get_client(void)
{
	struct aws_error err = {0};
	conf.notice = on_notice;
	if (!client && !(client = s3_client_new(&conf, &err))) {
		char *m = aws_error_format(&err);
		fail("%s", m);
	}
	return client;
}

/* Split a command's arguments into options (with their values, per the
 * NULL-terminated list of those that take one) and positional words. */
struct args {
	char **pos;
	size_t npos;
	const char *opt_name[16], *opt_val[16];
	size_t nopt;
};

static void parse_args(int argc, char **argv, const char *const *with_value, const char *const *flags,
                       struct args *a)
{
	a->pos = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		int known = 0;
		if (strncmp(w, "--", 2) || !w[2]) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		for (size_t k = 0; with_value && with_value[k]; k++) {
			if (strcmp(w, with_value[k]))
				continue;
			if (i + 1 >= argc)
				usage("option needs a value");
			if (a->nopt == ARRAY_LEN(a->opt_name))
				usage("too many options");
			a->opt_name[a->nopt] = w;
			a->opt_val[a->nopt++] = argv[++i];
			known = 1;
		}
		for (size_t k = 0; !known && flags && flags[k]; k++) {
			if (strcmp(w, flags[k]))
				continue;
			if (a->nopt == ARRAY_LEN(a->opt_name))
				usage("too many options");
			a->opt_name[a->nopt] = w;
			a->opt_val[a->nopt++] = "";
			known = 1;
		}
		if (!known)
			usage("unknown option");
	}
}

/* The last value of option name; NULL if absent. */
static const char *opt(const struct args *a, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < a->nopt; i++)
		if (!strcmp(a->opt_name[i], name))
			v = a->opt_val[i];
	return v;
}

static void split(const char *uri, char **bucket, char **key)
{
	if (s3_uri_split(uri, bucket, key) < 0)
		fail("'%s' is not an s3://bucket/key URI", uri);
}

/* Run ops; report each failure. 0 if all succeeded. */
static int run_ops(struct s3_op *ops, size_t n)
{
	int ret = s3_run(get_client(), ops, n);
	for (size_t i = 0; i < n; i++)
		if (ops[i].error)
			say_error(ops[i].error);
	return ret;
}

/* ---- commands ---- */

static int print_object(void *ctx, const struct s3_object *o)
{
	(void)ctx;
	printf("%" PRIu64 " %s %s\n", o->size, o->etag, o->key);
	return 0;
}

static int print_prefix(void *ctx, const char *prefix)
{
	(void)ctx;
	printf("PRE %s\n", prefix);
	return 0;
}

static int cmd_ls(struct args *a)
{
	struct s3_list_opts lo = {0};
	char *bucket, *prefix;
	struct aws_error err = {0};
	unsigned requests = 0;
	if (a->npos != 1)
		usage("ls takes one s3:// URI");
	split(a->pos[0], &bucket, &prefix);
	lo.prefix = prefix;
	lo.delimiter = opt(a, "--delimiter");
	lo.start_after = opt(a, "--start-after");
	if (opt(a, "--max-keys"))
		lo.max_keys = (unsigned)parse_size(opt(a, "--max-keys"));
	int rc = s3_list(get_client(), bucket, &lo, print_object, print_prefix, NULL, &requests, &err);
	fprintf(stderr, "requests: %u\n", requests);
	if (rc < 0 && aws_error_isset(&err))
		say_error(&err);
	aws_error_clear(&err);
	free(bucket);
	free(prefix);
	return rc < 0 ? 1 : 0;
}

static int cmd_head(struct args *a)
{
	char **uris = a->pos;
	size_t n = a->npos;
	struct buf in = {0};
	int ret;
	if (n == 1 && !strcmp(uris[0], "-")) {
		char chunk[65536];
		size_t got;
		while ((got = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			buf_putn(&in, chunk, got);
		n = 0;
		uris = NULL;
		size_t cap = 0;
		for (char *line = in.data, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = 0;
			if (!*line)
				continue;
			GROW(uris, cap, n + 1);
			uris[n++] = line;
		}
	}
	if (!n)
		usage("head takes s3:// URIs, or '-'");
	struct s3_op *ops = xcalloc(n, sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		char *b, *k;
		split(uris[i], &b, &k);
		ops[i].kind = S3_HEAD;
		ops[i].bucket = b;
		ops[i].key = k;
	}
	ret = run_ops(ops, n);
	for (size_t i = 0; i < n; i++) {
		if (!ops[i].error && !ops[i].found)
			printf("missing %s\n", uris[i]);
		else if (!ops[i].error)
			printf("%s %" PRIu64 " %s\n", ops[i].etag, ops[i].size, uris[i]);
		free((char *)ops[i].bucket);
		free((char *)ops[i].key);
		s3_op_free(&ops[i]);
	}
	free(ops);
	if (uris != a->pos)
		free(uris);
	buf_free(&in);
	return ret < 0 ? 1 : 0;
}

/* GET uri to out_path, or to memory when out_path is NULL; the caller frees
 * the op. Fails (exit 1) on an error or a missing object. */
static void get_one(const char *uri, const char *out_path, const char *range, struct s3_op *op)
{
	char *b, *k;
	split(uri, &b, &k);
	memset(op, 0, sizeof(*op));
	op->kind = S3_GET;
	op->bucket = b;
	op->key = k;
	op->out_path = out_path;
	if (range) {
		char *end;
		uint64_t start = strtoull(range, &end, 10), last;
		if (end == range || *end != '-')
			usage("--range is START-END");
		last = strtoull(end + 1, &end, 10);
		if (*end || last < start)
			usage("--range is START-END");
		op->range_start = start;
		op->range_len = last - start + 1;
	}
	if (run_ops(op, 1) < 0)
		exit(1);
	if (!op->found)
		fail("cannot get '%s': no such object", uri);
	free(b);
	free(k);
	op->bucket = op->key = NULL;
}

static int cmd_get(struct args *a)
{
	struct s3_op op;
	if (a->npos != 2)
		usage("get takes an s3:// URI and a file");
	get_one(a->pos[0], a->pos[1], opt(a, "--range"), &op);
	s3_op_free(&op);
	return 0;
}

static int cmd_cat(struct args *a)
{
	struct s3_op op;
	if (a->npos != 1)
		usage("cat takes one s3:// URI");
	get_one(a->pos[0], NULL, NULL, &op);
	int ret = fwrite(op.body_out.data, 1, op.body_out.len, stdout) == op.body_out.len && fflush(stdout) == 0;
	s3_op_free(&op);
	if (!ret)
		fail("cannot write to stdout: %s", strerror(errno));
	return 0;
}

static void print_put(const struct s3_op *op, const char *uri)
{
	if (op->error)
		return;
	if (!op->found)
		printf("exists %s\n", uri);
	else
		printf("%s %" PRIu64 " %s\n", op->etag, op->size, uri);
}

static int cmd_put(struct args *a)
{
	struct s3_op op = {0};
	char *b, *k;
	if (a->npos != 2)
		usage("put takes a file and an s3:// URI");
	if (opt(a, "--part-size"))
		conf.part_size = parse_size(opt(a, "--part-size"));
	if (opt(a, "--threshold"))
		conf.multipart_threshold = parse_size(opt(a, "--threshold"));
	split(a->pos[1], &b, &k);
	op.kind = S3_PUT;
	op.bucket = b;
	op.key = k;
	op.in_path = a->pos[0];
	op.content_type = opt(a, "--content-type");
	op.if_none_match = opt(a, "--if-none-match") != NULL;
	op.checksum = opt(a, "--md5") ? S3_CHECKSUM_MD5 : opt(a, "--sha256") ? S3_CHECKSUM_SHA256 : S3_CHECKSUM_NONE;
	int ret = run_ops(&op, 1);
	print_put(&op, a->pos[1]);
	s3_op_free(&op);
	free(b);
	free(k);
	return ret < 0 ? 1 : 0;
}

/* put-many: the files found under the folder, as (path, key). */
static struct {
	char **paths, **keys;
	size_t n, cap_paths, cap_keys;
	size_t root_len;
	const char *prefix;
} walk;

static int on_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (type != FTW_F)
		return 0;
	GROW(walk.paths, walk.cap_paths, walk.n + 1);
	GROW(walk.keys, walk.cap_keys, walk.n + 1);
	walk.paths[walk.n] = xstrdup(path);
	walk.keys[walk.n++] = xasprintf("%s%s", walk.prefix, path + walk.root_len);
	return 0;
}

static int cmd_put_many(struct args *a)
{
	char *b, *prefix;
	int ret;
	if (a->npos != 2)
		usage("put-many takes a folder and an s3:// prefix");
	split(a->pos[1], &b, &prefix);
	walk.prefix = prefix;
	walk.root_len = strlen(a->pos[0]);
	while (walk.root_len > 1 && a->pos[0][walk.root_len - 1] == '/')
		walk.root_len--;
	walk.root_len++; /* and the '/' after it */
	if (nftw(a->pos[0], on_file, 32, FTW_PHYS) < 0)
		fail("cannot read '%s': %s", a->pos[0], strerror(errno));
	struct s3_op *ops = xcalloc(walk.n ? walk.n : 1, sizeof(*ops));
	for (size_t i = 0; i < walk.n; i++) {
		ops[i].kind = S3_PUT;
		ops[i].bucket = b;
		ops[i].key = walk.keys[i];
		ops[i].in_path = walk.paths[i];
	}
	ret = run_ops(ops, walk.n);
	for (size_t i = 0; i < walk.n; i++) {
		char *uri = xasprintf("s3://%s/%s", b, walk.keys[i]);
		print_put(&ops[i], uri);
		free(uri);
		s3_op_free(&ops[i]);
		free(walk.paths[i]);
		free(walk.keys[i]);
	}
	free(ops);
	free(walk.paths);
	free(walk.keys);
	free(b);
	free(prefix);
	return ret < 0 ? 1 : 0;
}

/* get-many: the keys listed under the prefix. */
struct listed {
	char **keys;
	size_t n, cap;
};

static int on_listed(void *ctx, const struct s3_object *o)
{
	struct listed *l = ctx;
	GROW(l->keys, l->cap, l->n + 1);
	l->keys[l->n++] = xstrdup(o->key);
	return 0;
}

/* mkdir -p of the folders above path. */
static void make_parents(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			fail("cannot create '%s': %s", path, strerror(errno));
		*p = '/';
	}
}

static int cmd_get_many(struct args *a)
{
	char *b, *prefix;
	struct listed l = {0};
	struct aws_error err = {0};
	struct s3_list_opts lo = {0};
	int ret;
	if (a->npos != 2)
		usage("get-many takes an s3:// prefix and a folder");
	split(a->pos[0], &b, &prefix);
	lo.prefix = prefix;
	if (s3_list(get_client(), b, &lo, on_listed, NULL, &l, NULL, &err) < 0) {
		say_error(&err);
		exit(1);
	}
	struct s3_op *ops = xcalloc(l.n ? l.n : 1, sizeof(*ops));
	char **paths = xcalloc(l.n ? l.n : 1, sizeof(char *));
	for (size_t i = 0; i < l.n; i++) {
		paths[i] = xasprintf("%s/%s", a->pos[1], l.keys[i] + strlen(prefix));
		make_parents(paths[i]);
		ops[i].kind = S3_GET;
		ops[i].bucket = b;
		ops[i].key = l.keys[i];
		ops[i].out_path = paths[i];
	}
	ret = run_ops(ops, l.n);
	for (size_t i = 0; i < l.n; i++) {
		if (!ops[i].error)
			printf("%s %" PRIu64 " %s\n", ops[i].etag, ops[i].size, paths[i]);
		s3_op_free(&ops[i]);
		free(paths[i]);
		free(l.keys[i]);
	}
	free(ops);
	free(paths);
	free(l.keys);
	free(b);
	free(prefix);
	return ret < 0 ? 1 : 0;
}

static int cmd_rm(struct args *a)
{
	int ret;
	if (!a->npos)
		usage("rm takes s3:// URIs");
	struct s3_op *ops = xcalloc(a->npos, sizeof(*ops));
	for (size_t i = 0; i < a->npos; i++) {
		char *b, *k;
		split(a->pos[i], &b, &k);
		ops[i].kind = S3_DELETE;
		ops[i].bucket = b;
		ops[i].key = k;
	}
	ret = run_ops(ops, a->npos);
	for (size_t i = 0; i < a->npos; i++) {
		free((char *)ops[i].bucket);
		free((char *)ops[i].key);
		s3_op_free(&ops[i]);
	}
	free(ops);
	return ret < 0 ? 1 : 0;
}

static int cmd_abort_uploads(struct args *a)
{
	char *b, *prefix;
	struct aws_error err = {0};
	if (a->npos != 1)
		usage("abort-uploads takes one s3:// URI");
	split(a->pos[0], &b, &prefix);
	int n = s3_abort_uploads(get_client(), b, prefix, &err);
	if (n < 0)
		say_error(&err);
	else
		printf("aborted %d\n", n);
	aws_error_clear(&err);
	free(b);
	free(prefix);
	return n < 0 ? 1 : 0;
}

static const struct {
	const char *name;
	int (*fn)(struct args *);
	const char *const with_value[4];
	const char *const flags[4];
} commands[] = {
	{"ls", cmd_ls, {"--delimiter", "--max-keys", "--start-after", NULL}, {NULL}},
	{"head", cmd_head, {NULL}, {NULL}},
	{"get", cmd_get, {"--range", NULL}, {NULL}},
	{"cat", cmd_cat, {NULL}, {NULL}},
	{"put", cmd_put, {"--part-size", "--threshold", "--content-type", NULL},
	 {"--md5", "--sha256", "--if-none-match", NULL}},
	{"put-many", cmd_put_many, {NULL}, {NULL}},
	{"get-many", cmd_get_many, {NULL}, {NULL}},
	{"rm", cmd_rm, {NULL}, {NULL}},
	{"abort-uploads", cmd_abort_uploads, {NULL}, {NULL}},
};

int main(int argc, char **argv)
{
	int verbose = 0, i = 1, ret;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "-j") && i + 1 < argc)
			conf.max_in_flight = (unsigned)parse_size(argv[++i]);
		else if ((!strcmp(argv[i], "--cli-read-timeout") || !strcmp(argv[i], "--cli-connect-timeout")) &&
		         i + 1 < argc) {
			struct aws_error err = {0};
			enum aws_timeout w = argv[i][6] == 'r' ? AWS_TIMEOUT_READ : AWS_TIMEOUT_CONNECT;
			if (aws_config_set_timeout(w, argv[i + 1], &err) < 0) {
				say_error(&err);
				exit(2);
			}
			i++;
		} else
			usage(NULL);
	}
	if (i >= argc)
		usage(NULL);
	for (size_t c = 0; c < ARRAY_LEN(commands); c++) {
		struct args a = {0};
		if (strcmp(argv[i], commands[c].name))
			continue;
		parse_args(argc - i - 1, argv + i + 1, commands[c].with_value, commands[c].flags, &a);
		ret = commands[c].fn(&a);
		free(a.pos);
		if (verbose && client) {
			struct s3_stats st;
			s3_client_stats(client, &st);
			fprintf(stderr,
			        "stats: list=%" PRIu64 " head=%" PRIu64 " get=%" PRIu64 " put=%" PRIu64 " delete=%" PRIu64
			        " multipart=%" PRIu64 " bytes_up=%" PRIu64 " bytes_down=%" PRIu64 "\n",
			        st.list, st.head, st.get, st.put, st.del, st.multipart, st.bytes_up, st.bytes_down);
		}
		s3_client_free(client);
		return ret;
	}
	usage("unknown command");
}
