#!/bin/sh
# The folder layering (tests/tools/layering.sh) holds on the tree, and the
# check fails, naming the file and line, when runner/ includes engine/.
. "$(dirname "$0")/lib.sh"
cd "$TESTS_DIR/.." || exit 1
LAYER=tests/tools/layering.sh

run sh $LAYER .
is "$RC" 0 "the tree keeps the layering"
is "$OUT" "" "no forbidden include"

# A copy of the sources with one planted include that climbs.
mkdir -p "$T_TMP/tree"
cp -R lib rules aws runner engine cfn cli "$T_TMP/tree/"
printf '#include "engine/plan.h"\n' >> "$T_TMP/tree/runner/spec.c"
n=$(wc -l < "$T_TMP/tree/runner/spec.c")
run sh $LAYER "$T_TMP/tree"
is "$RC" 1 "runner including engine fails the check"
is "$OUT" "runner/spec.c:$n: runner may not include engine/plan.h
layering: 1 forbidden include" "the message names the file, line and include"

# Each direction that DESIGN.md forbids.
for pair in "lib rules/rules.h" "rules aws/s3.h" "aws runner/spec.h" "cfn engine/plan.h" "engine cli/cmd.h"; do
	set -- $pair
	rm -rf "$T_TMP/tree2"; cp -R "$T_TMP/tree" "$T_TMP/tree2"
	cp "runner/spec.c" "$T_TMP/tree2/runner/spec.c"
	f=$(ls "$T_TMP/tree2/$1/"*.c | head -n 1)
	printf '#include "%s"\n' "$2" >> "$f"
	run sh $LAYER "$T_TMP/tree2"
	is "$RC" 1 "$1 may not include $2"
done
done_testing
