/* container_test.c - the container tool's command line for a recipe
 * (runner/container.h) and the spec's "container" field. */
#include "runner/container.h"
#include "lib/util.h"
#include "runner/spec.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* argv as one string, words separated by '|'. */
static char *joined(char *const *v)
{
	struct buf b = {0};
	for (size_t i = 0; v && v[i]; i++) {
		if (i)
			buf_putc(&b, '|');
		buf_puts(&b, v[i]);
	}
	return buf_detach(&b);
}

static const char *SPEC_HEAD =
	"{\"schema\":1,\"target\":\"t\",\"key\":\"0123456789abcdef0123456789abcdef\","
	"\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
	"\"argv\":[[\"true\"]],\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}]";

static void check_parse(const char *tail, const char *want, const char *err_want)
{
	char *t = xasprintf("%s%s", SPEC_HEAD, tail), *err = NULL;
	struct spec *s = spec_parse(t, strlen(t), &err);
	if (err_want) {
		TAP_OK(!s, "spec %s: rejected", tail);
		TAP_IS_STR(err, err_want, "spec %s: message", tail);
	} else {
		TAP_OK(s != NULL, "spec %s: parsed (%s)", tail, err ? err : "no error");
		TAP_IS_STR(s ? s->container : NULL, want, "spec %s: container", tail);
	}
	spec_free(s);
	free(err);
	free(t);
}

int main(void)
{
	check_parse("}", NULL, NULL);
	check_parse(",\"image\":\"img\",\"container\":null}", NULL, NULL);
	check_parse(",\"image\":\"img\",\"container\":\"podman\"}", "podman", NULL);
	check_parse(",\"image\":\"img\",\"container\":\"docker\"}", "docker", NULL);
	check_parse(",\"image\":\"img\",\"container\":\"lxc\"}", NULL,
		    "'container' must be podman, docker or null, not 'lxc'");
	check_parse(",\"container\":\"podman\"}", NULL, "'container' needs an 'image'");
	check_parse(",\"image\":\"img\",\"container\":\"\"}", NULL, "'container' must not be empty");

	struct spec_pair env[] = {{"GREETING", "a secret-looking value"}, {"EMPTY", ""}};
	struct spec_gathered g[] = {{"up/1/", "/abs/up/1/", NULL}, {"up/2/", "/abs/up/2/", NULL}};
	struct spec_input in[] = {
		{.name = "bold", .uri = "in/b.nii", .path = "/abs/in/b.nii", .present = true},
		{.name = "mask", .uri = "in/m.nii", .path = "", .optional = true, .present = false},
		{.name = "maps", .uri = "up.dir", .path = "", .present = true, .gather = true,
		 .gathered = g, .ngathered = 2},
		{.name = "again", .uri = "in/b.nii", .path = "/abs/in/b.nii", .present = true},
	};
	struct spec s = {
		.target = "t", .key = "0123456789abcdef0123456789abcdef",
		.inputs = in, .ninputs = 4,
		.image = "fredericklab/rapidtide:3.2.0", .container = "podman",
		.env = env, .nenv = 2,
	};
	char *local[] = {"/abs/in/b.nii", "", "", "/abs/in/b.nii", NULL};
	char *recipe[] = {"rapidtide", "/abs/in/b.nii", "/abs/out/.rapid/scratch/k.1/dir/", NULL};
	struct container_cmd c;
	char *err = NULL;
	TAP_OK(container_command(&s, recipe, "/abs/out/.rapid/scratch/k.1/", local, NULL, &c, &err) == 0,
	       "podman: a command (%s)", err ? err : "no error");
	char *want = xasprintf(
		"podman|run|--rm|--pull=never|--network=host|--name=rapid-0123456789abcdef0123456789abcdef-%ld|"
		"-v|/abs/out/.rapid/scratch/k.1:/abs/out/.rapid/scratch/k.1|"
		"-v|/abs/in/b.nii:/abs/in/b.nii:ro|-v|/abs/up/1:/abs/up/1:ro|-v|/abs/up/2:/abs/up/2:ro|"
		"--workdir=/abs/out/.rapid/scratch/k.1/|--env|GREETING|--env|EMPTY|"
		"--entrypoint=[\"rapidtide\"]|fredericklab/rapidtide:3.2.0|"
		"/abs/in/b.nii|/abs/out/.rapid/scratch/k.1/dir/",
		(long)getpid());
	char *got = joined(c.argv);
	TAP_IS_STR(got, want, "podman: scratch read-write, each input once read-only, env by name, "
			      "argv[0] the entry point");
	TAP_OK(!strstr(got, "secret-looking"), "podman: no env value in the command line");
	TAP_IS_STR(c.tool, "podman", "podman: the tool");
	TAP_OK(c.name && !strncmp(c.name, "rapid-0123456789abcdef", 22), "podman: the container's name");
	free(got);
	free(want);
	container_cmd_free(&c);

	s.container = "docker";
	char *odd[] = {"[not json", NULL};
	TAP_OK(container_command(&s, odd, "/abs/s/", local, NULL, &c, &err) == 0, "docker: a command");
	got = joined(c.argv);
	TAP_OK(strstr(got, "|--entrypoint=[not json|fredericklab/rapidtide:3.2.0") && !strncmp(got, "docker|run|", 11),
	       "docker: the entry point as it is (%s)", got);
	TAP_OK((getuid() == 0) == !strstr(got, "--user="), "docker: --user only when not root");
	free(got);
	container_cmd_free(&c);

	s.container = "podman";
	char *colon[] = {"/abs/in/a:b.nii", "", "", "", NULL};
	TAP_OK(container_command(&s, recipe, "/abs/s/", colon, NULL, &c, &err) < 0 && !c.argv,
	       "a path with ':' cannot be mounted");
	TAP_IS_STR(err, "cannot mount '/abs/in/a:b.nii' in the container: the path holds ':'", "its message");
	free(err);
	err = NULL;
	char *rel[] = {"in/b.nii", "", "", "", NULL};
	TAP_OK(container_command(&s, recipe, "/abs/s/", rel, NULL, &c, &err) < 0, "a relative path cannot be mounted");
	TAP_IS_STR(err, "cannot mount 'in/b.nii' in the container: not an absolute path", "its message");
	free(err);

	/* The tool asked for an image's id and to remove a container: a
	 * stand-in tool in the working folder that records what it was asked. */
	const char *fake = "./podman";
	static const struct {
		const char *says, *want;
	} ids[] = {
		{"echo 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"echo sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"echo 'Error: no such image' >&2; exit 125", NULL},
		{"echo not-an-id", NULL},
	};
	for (size_t k = 0; k < ARRAY_LEN(ids); k++) {
		char *script = xasprintf("#!/bin/sh\necho \"$@\" >fake-tool.args\n%s\n", ids[k].says);
		TAP_OK(write_file_atomic(fake, script, strlen(script)) == 0 && chmod(fake, 0755) == 0,
		       "stand-in tool %zu", k);
		char *id = container_image_id(fake, "some/image:1");
		TAP_IS_STR(id, ids[k].want, "image id when the tool says: %s", ids[k].says);
		free(id);
		free(script);
	}
	char *args = read_file("fake-tool.args", NULL);
	TAP_IS_STR(args, "image inspect --format {{.Id}} some/image:1\n", "the tool is asked for the image's id");
	free(args);
	s.container = "podman";
	TAP_OK(container_command(&s, recipe, "/abs/s/", local, NULL, &c, &err) == 0, "a command to reap");
	free(c.tool);
	c.tool = xstrdup(fake);
	container_reap(&c);
	args = read_file("fake-tool.args", NULL);
	char *rm = xasprintf("rm --force --time=0 --ignore %s\n", c.name);
	TAP_IS_STR(args, rm, "reap: the container is removed by name, at once");
	free(rm);
	free(args);
	container_cmd_free(&c);
	unlink(fake);
	unlink("fake-tool.args");
	return tap_done();
}
