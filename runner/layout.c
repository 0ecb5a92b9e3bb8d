/* layout.c - the paths of layout.h. Nothing else spells ".rapid/". */
#include "runner/layout.h"
#include "lib/util.h"

#include <string.h>

#define DOT_RAPID ".rapid/"

void layout_put_sentinel_root(struct buf *b, const char *root, const char *target)
{
	buf_puts(b, root);
	buf_puts(b, DOT_RAPID "sentinels/");
	buf_puts(b, target);
	buf_putc(b, '/');
}

char *layout_sentinel_root(const char *root, const char *target)
{
	struct buf b = {0};
	layout_put_sentinel_root(&b, root, target);
	return buf_detach(&b);
}

static char *per_instance(const char *root, const char *what, const char *target,
			  const char *const *values, size_t nvalues)
{
	struct buf b = {0};
	buf_printf(&b, "%s" DOT_RAPID "%s/%s/", root, what, target);
	for (size_t i = 0; i < nvalues; i++) {
		buf_puts(&b, values[i]);
		buf_putc(&b, '/');
	}
	return buf_detach(&b);
}

char *layout_sentinel_dir(const char *root, const char *target,
			  const char *const *values, size_t nvalues)
{
	return per_instance(root, "sentinels", target, values, nvalues);
}

char *layout_log_dir(const char *root, const char *target,
		     const char *const *values, size_t nvalues)
{
	return per_instance(root, "logs", target, values, nvalues);
}

char *layout_log_file(const char *log_dir, const char *key)
{
	return xasprintf("%s%s.log", log_dir, key);
}

char *layout_scratch_root(const char *root)
{
	return xasprintf("%s" DOT_RAPID "scratch/", root);
}

char *layout_scratch(const char *root, const char *key, pid_t pid)
{
	return xasprintf("%s" DOT_RAPID "scratch/%s.%ld/", root, key, (long)pid);
}

char *layout_local_scratch_root(const char *dir)
{
	return path_join(dir, DOT_RAPID "scratch/");
}

char *layout_resumable_scratch(const char *scratch_root, const char *key)
{
	return xasprintf("%s%s/", scratch_root, key);
}

char *layout_stage_dir(const char *scratch, const char *input)
{
	return xasprintf("%s.in/%s/", scratch, input);
}

char *layout_stage_record_dir(const char *scratch, const char *input)
{
	return xasprintf("%s.staged/%s/", scratch, input);
}

char *layout_scratch_log(const char *scratch)
{
	return xasprintf("%s.log", scratch);
}

int layout_scratch_private(const char *name)
{
	return !strcmp(name, ".in") || !strcmp(name, ".staged") || !strcmp(name, ".log");
}

char *layout_trash_root(const char *root)
{
	return xasprintf("%s" DOT_RAPID "trash/", root);
}

char *layout_trash(const char *root, const char *key, pid_t pid)
{
	return xasprintf("%s" DOT_RAPID "trash/%s.%ld/", root, key, (long)pid);
}

char *layout_submissions(const char *root)
{
	return xasprintf("%s" DOT_RAPID "submissions/", root);
}

char *layout_state_dir(const char *dir)
{
	return path_join(dir, DOT_RAPID "state");
}
