/* container.c - the container tool's command line for one recipe, the
 * id of the image it runs, and the removal of a container its tool left
 * behind (container.h). */
#include "runner/container.h"
#include "lib/util.h"
#include "runner/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int container_tool_known(const char *name)
{
	return !strcmp(name, "podman") || !strcmp(name, "docker");
}

struct argv_b {
	char **v;
	size_t n, cap;
};

static void add(struct argv_b *a, char *owned)
{
	GROW(a->v, a->cap, a->n + 2);
	a->v[a->n++] = owned;
	a->v[a->n] = NULL;
}

/* The mount of path (read-only unless rw) at the same path, unless that
 * path is mounted already. -1 with *err when the tool could not be told
 * it. */
static int add_mount(struct argv_b *a, struct buf *seen, const char *path, bool rw, char **err)
{
	if (path[0] != '/') {
		*err = xasprintf("cannot mount '%s' in the container: not an absolute path", path);
		return -1;
	}
	if (strchr(path, ':')) {
		*err = xasprintf("cannot mount '%s' in the container: the path holds ':'", path);
		return -1;
	}
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	/* seen: each mounted path, NUL-terminated */
	for (size_t at = 0; at < seen->len; at += strlen(seen->data + at) + 1)
		if (strlen(seen->data + at) == n && !memcmp(seen->data + at, path, n))
			return 0;
	buf_putn(seen, path, n);
	buf_putc(seen, 0);
	add(a, xstrdup("-v"));
	add(a, xasprintf("%.*s:%.*s%s", (int)n, path, (int)n, path, rw ? "" : ":ro"));
	return 0;
}

int container_command(const struct spec *s, char *const *recipe, const char *scratch,
		      char *const *inputs, char **const *gathered, struct container_cmd *out, char **err)
{
	struct argv_b a = {0};
	struct buf seen = {0}, ep = {0};
	bool docker = !strcmp(s->container, "docker");
	int ret = -1;
	memset(out, 0, sizeof(*out));
	out->tool = xstrdup(s->container);
	out->name = xasprintf("rapid-%s-%ld", s->key, (long)getpid());
	add(&a, xstrdup(s->container));
	add(&a, xstrdup("run"));
	add(&a, xstrdup("--rm"));
	add(&a, xstrdup("--pull=never"));
	add(&a, xstrdup("--network=host"));
	add(&a, xasprintf("--name=%s", out->name));
	if (docker && getuid() != 0)
		add(&a, xasprintf("--user=%ld:%ld", (long)getuid(), (long)getgid()));
	/* scratch first: an input below it is then already mounted */
	if (add_mount(&a, &seen, scratch, true, err) < 0)
		goto out;
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct spec_input *in = &s->inputs[i];
		for (size_t k = 0; k < in->ngathered; k++) {
			const char *gp = gathered && gathered[i] ? gathered[i][k] : in->gathered[k].path;
			if (add_mount(&a, &seen, gp, false, err) < 0)
				goto out;
		}
		if (!in->gather && inputs[i][0] && add_mount(&a, &seen, inputs[i], false, err) < 0)
			goto out;
	}
	add(&a, xasprintf("--workdir=%s", scratch));
	for (size_t i = 0; i < s->nenv; i++) {
		add(&a, xstrdup("--env"));
		add(&a, xstrdup(s->env[i].name));
	}
	/* podman reads a JSON array here (a plain word too, unless it starts
	 * with '['); docker takes the word as it is */
	if (docker) {
		buf_puts(&ep, recipe[0]);
	} else {
		buf_putc(&ep, '[');
		buf_put_json_str(&ep, recipe[0]);
		buf_putc(&ep, ']');
	}
	add(&a, xasprintf("--entrypoint=%s", ep.data));
	add(&a, xstrdup(s->image));
	for (size_t i = 1; recipe[i]; i++)
		add(&a, xstrdup(recipe[i]));
	out->argv = a.v;
	a.v = NULL;
	ret = 0;
out:
	for (size_t i = 0; a.v && a.v[i]; i++)
		free(a.v[i]);
	free(a.v);
	buf_free(&seen);
	buf_free(&ep);
	if (ret < 0)
		container_cmd_free(out);
	return ret;
}

/* Run the tool (argv) to its end, at most 30 s: stdin and stderr
 * /dev/null, stdout into out (at most 4 KiB) or /dev/null when out is
 * NULL. Its exit status, or -1 when it did not run or end in time. */
static int run_tool(char *const *argv, struct buf *out)
{
	int p[2] = {-1, -1};
	if (out && pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		if (out) {
			close(p[0]);
			close(p[1]);
		}
		return -1;
	}
	if (pid == 0) {
		/* the runner's handlers and mask are not the tool's */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(out ? p[1] : nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = -1;
	bool ended = false;
	if (out) {
		close(p[1]);
		fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	}
	for (int waited_ms = 0; waited_ms < 30000; waited_ms += 50) {
		char chunk[512];
		ssize_t n;
		while (out && (n = read(p[0], chunk, sizeof chunk)) > 0)
			if (out->len < 4096)
				buf_putn(out, chunk, (size_t)n);
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR)) {
			ended = r == pid;
			break;
		}
		poll(NULL, 0, 50);
	}
	if (!ended) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (out) {
		ssize_t n;
		char chunk[512];
		while ((n = read(p[0], chunk, sizeof chunk)) > 0)
			if (out->len < 4096)
				buf_putn(out, chunk, (size_t)n);
		close(p[0]);
	}
	return ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *container_image_id(const char *tool, const char *image)
{
	char *argv[] = {(char *)tool, "image", "inspect", "--format", "{{.Id}}", (char *)image, NULL};
	struct buf out = {0};
	char *id = NULL;
	if (run_tool(argv, &out) == 0 && out.len) {
		while (out.len && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == '\r'))
			out.data[--out.len] = 0;
		const char *hex = !strncmp(out.data, "sha256:", 7) ? out.data + 7 : out.data;
		if (strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64)
			id = xasprintf("sha256:%s", hex);
	}
	buf_free(&out);
	return id;
}

void container_reap(const struct container_cmd *c)
{
	char *argv[8];
	size_t n = 0;
	argv[n++] = c->tool;
	argv[n++] = (char *)"rm";
	argv[n++] = (char *)"--force";
	const char *base = strrchr(c->tool, '/');
	if (!strcmp(base ? base + 1 : c->tool, "podman")) { /* no grace, no complaint when it is gone */
		argv[n++] = (char *)"--time=0";
		argv[n++] = (char *)"--ignore";
	}
	argv[n++] = c->name;
	argv[n] = NULL;
	run_tool(argv, NULL);
}

void container_cmd_free(struct container_cmd *c)
{
	for (size_t i = 0; c->argv && c->argv[i]; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c->name);
	free(c->tool);
	memset(c, 0, sizeof(*c));
}
