/* container.h - run a recipe in its target's image on this machine
 * (`rapid build --container podman|docker`): the container tool's command
 * line that runs the recipe's argv in the spec's image,
 *
 *   TOOL run --rm --pull=never --network host --name rapid-<key>-<pid>
 *       -v IN:IN:ro ... -v SCRATCH:SCRATCH -w SCRATCH [--env NAME ...]
 *       --entrypoint ARGV0 IMAGE ARGV1 ...
 *
 * Every path is the same inside as outside (each present input's local
 * path, or each gathered one, read-only; the scratch folder, where the
 * outputs are written, read-write and the working folder), so the argv
 * needs no rewriting. The recipe's own argv[0] is the entry point, so the
 * image's ENTRYPOINT (the runner image's is rapid) does not come first.
 * --env NAME takes the value from the tool's environment: the runner sets
 * it there, and no value is ever in the command line. The image must be
 * on this machine already (--pull=never); --network host reaches
 * services on loopback. With docker, a runner that is not root runs the
 * recipe as its own uid:gid, so that it can move and remove what the
 * recipe wrote (podman as a user maps the container's root to the user).
 *
 * The tool passes SIGTERM and SIGINT on to the container (--sig-proxy,
 * the default), but a container's process 1 ignores the signals it has
 * no handler for, and a tool that is killed leaves its container
 * running: after a timeout or a signal the runner removes the container
 * by name (container_reap). */
#ifndef RAPID_RUNNER_CONTAINER_H
#define RAPID_RUNNER_CONTAINER_H

struct spec;

/* The tools: "podman", "docker". 1 when name is one of them, else 0. */
int container_tool_known(const char *name);

struct container_cmd {
	char **argv;  /* NULL-terminated, the tool first; owned */
	char *name;   /* the container's name; owned */
	char *tool;   /* owned */
};

/* The command that runs recipe (argv, NULL-terminated, expanded) of spec s
 * in s->image with the tool s->container. inputs: each of s->inputs' local
 * path ("" when absent); gathered: each gathering input's local paths
 * (gathered[i][k], staged ones included; NULL, or gathered[i] NULL: the
 * spec's paths);
 * scratch: the instance's scratch folder (absolute). 0 with *out filled,
 * or -1 with *err set (malloc'd: a path that cannot be mounted, one that
 * holds ':' or is not absolute). Free *out with container_cmd_free. */
int container_command(const struct spec *s, char *const *recipe, const char *scratch,
		      char *const *inputs, char **const *gathered, struct container_cmd *out, char **err);

/* The id of image as tool has it on this machine ("sha256:" and the
 * hex digest of its configuration, as ECS reports an image it ran), or
 * NULL when the tool cannot say (no such image). The caller frees. */
char *container_image_id(const char *tool, const char *image);

/* Remove the container if it is still there (after a timeout or a
 * signal); waits at most 30 s for the tool. Quiet: nothing is left to
 * report once the instance has failed or been interrupted. */
void container_reap(const struct container_cmd *);

void container_cmd_free(struct container_cmd *);

#endif
