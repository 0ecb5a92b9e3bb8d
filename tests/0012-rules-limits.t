#!/bin/sh
# The Rapidfile loader under hostile and huge input: Rapidfiles generated
# here (deep reference chains, deep variable chains, many targets) load or
# fail with one clear FILE:LINE:COL error, never a crash. Run it under
# make SAN=1 too (RAPID=build-san/rapid).
. "$(dirname "$0")/lib.sh"
cd "$T_TMP" || exit 1

# Regression (stack overflow in rules/resolve.c): the dependency order was
# a recursive walk, one frame per target of a reference chain; 40,000
# targets written downstream first overflowed a 2 MiB stack. The walk now
# keeps its own stack.
awk 'BEGIN { n = 40000
	for (i = n - 1; i > 0; i--)
		printf "target t%d\n    input i = t%d.o\n    output o = out/%d.txt\n    run cp {i} {o}\n", i, i - 1, i
	printf "target t0\n    output o = out/0.txt\n    run touch {o}\n" }' > chain.rf
run sh -c "ulimit -s 2048 && exec '$RAPID' -f chain.rf check"
is "$RC" 0 "40,000-target reference chain: exit 0"
is "$ERR" "" "40,000-target reference chain: no message"
is "$(printf '%s\n' "$OUT" | tail -n 1)" "rapid: chain.rf ok (40000 targets)" "40,000-target reference chain: every target"
is "$(printf '%s\n' "$OUT" | sed -n '1p;4p')" "target t0: 1 instance
target t1: 1 instance" "40,000-target reference chain: upstream first"

# A cycle through all of them is named by its ends.
awk 'BEGIN { n = 40000
	for (i = 0; i < n; i++)
		printf "target t%d\n    input i = t%d.o\n    output o = out/%d.txt\n    run cp {i} {o}\n", i, (i + 1) % n, i }' > cycle.rf
run sh -c "ulimit -s 2048 && exec '$RAPID' -f cycle.rf check"
is "$RC" 1 "40,000-target cycle: exit 1"
is "$ERR" "rapid: cycle.rf:159998:15: dependency cycle: t0 -> t1 -> t2 -> t3 -> ... (39992 more) -> t39996 -> t39997 -> t39998 -> t39999 -> t0" \
	"40,000-target cycle: one line naming its ends"

# Regression (stack overflow in rules/vars.c): each nested $(NAME) was a
# recursion of the expansion; a 100,000-deep chain crashed. References
# now nest at most 256 deep.
vchain() { # N FOREACH: V0 .. V(N-1), each the previous one
	awk -v n="$1" -v fe="$2" 'BEGIN {
		printf "V0 = x\n"
		for (i = 1; i < n; i++)
			printf "V%d = $(V%d)\n", i, i - 1
		printf "target t\n"
		if (fe)
			printf "    foreach p in $(V%d)\n    output o = out/{p}.txt\n", n - 1
		else
			printf "    output o = out/$(V%d).txt\n", n - 1
		printf "    run touch {o}\n" }'
}
vchain 100000 0 > vars.rf
run "$RAPID" -f vars.rf check
is "$RC" 1 "100,000-deep variable chain: exit 1"
is "$ERR" 'rapid: vars.rf:99745:10: variable references nested more than 256 deep ($(V99999) -> ... -> $(V99743))' \
	"100,000-deep variable chain: the depth, where it is passed"
vchain 100000 1 > sets.rf
run "$RAPID" -f sets.rf check
is "$RC" 1 "100,000-deep chain of sets: exit 1"
is "$ERR" 'rapid: sets.rf:99745:10: variable references nested more than 256 deep ($(V99999) -> ... -> $(V99743))' \
	"100,000-deep chain of sets: the same error"
vchain 256 0 > v256.rf
run "$RAPID" -f v256.rf check
is "$RC" 0 "256 variables deep: exit 0"
like "$OUT" "output  o = out/x.txt" "256 variables deep: expanded"
vchain 256 1 > s256.rf
run "$RAPID" -f s256.rf check
is "$RC" 0 "a set 256 variables deep: exit 0"
vchain 257 0 > v257.rf
run "$RAPID" -f v257.rf check
is "$ERR" 'rapid: v257.rf:2:6: variable references nested more than 256 deep ($(V256) -> ... -> $(V0))' \
	"257 variables deep: one too many"

done_testing
