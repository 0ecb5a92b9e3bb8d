/* spec.h - the instance spec handed to `rapid runner` (format in
 * runner/runner.h). */
#ifndef RAPID_SPEC_H
#define RAPID_SPEC_H

#include "engine/plan.h"

#include <stdbool.h>

/* Append the spec of instance i (already expanded into w by plan_expand)
 * to out. force: run even when an ok sentinel exists. */
void spec_write(const struct plan *, const struct instance *, const struct inst_work *,
		bool force, struct buf *out);

#endif
