/* spec.h - the instance spec handed to `rapid runner`, filled from the
 * plan (the format and its encoder are runner/spec.h's). */
#ifndef RAPID_SPEC_H
#define RAPID_SPEC_H

#include "engine/plan.h"

#include <stdbool.h>

/* Append the spec of instance i (already expanded into w by plan_expand)
 * to out. force: run even when an ok sentinel exists. 0, or -1 when
 * memory ran out (nothing appended). */
int spec_write(const struct plan *, const struct instance *, const struct inst_work *,
	       bool force, struct buf *out);

#endif
