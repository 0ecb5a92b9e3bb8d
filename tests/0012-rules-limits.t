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

# Regression (parsing quadratic in targets): the duplicate-target scan of
# rules/parse.c, the lookups of references in rules/target.c and
# rules/resolve.c, of variables and of the "did you mean" hint for a
# local file that looks like T.O were linear scans, so 100,000 targets
# took minutes (5,000: 0.17 s, 20,000: 4.1 s, 100,000: 117 s). Names are
# hashed now (rules/map.c, its probe count checked by the unit test); here
# 100,000 targets, each with a variable, a reference to the one before
# and a local input "data.txt" (no target 'data'), load within the test.
printf 'p1\np2\n' > ids.txt
awk 'BEGIN { n = 100000
	for (i = 0; i < n; i++) {
		printf "D%d = out/%d\n", i, i
		printf "target t%d\n    foreach p in file(ids.txt)\n    input d = data.txt\n", i
		if (i)
			printf "    input i = t%d.o\n", i - 1
		printf "    output o = $(D%d)/{p}.txt\n    run cp {d} {o}\n", i
	} }' > many.rf
run "$RAPID" -f many.rf check
is "$RC" 0 "100,000 targets: exit 0"
is "$ERR" "" "100,000 targets: no message"
is "$(printf '%s\n' "$OUT" | tail -n 1)" "rapid: many.rf ok (100000 targets)" "100,000 targets: every target"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "target t%d\n    output o = o%d\n    run x\n", i, i
	printf "target t99998\n" }' > dup.rf
run "$RAPID" -f dup.rf check
is "$ERR" "rapid: dup.rf:300001:8: duplicate target 't99998' (first at dup.rf:299995)" "100,000 targets and a duplicate: found"

# Regression (reads without limit, tests/rules-errors/include-dev-zero.rf
# and set-file-dev-zero.rf): a FIFO was opened and read, waiting forever
# for a writer. Only regular files are read now, each at most 16 MiB.
# (timeout only keeps a regression from hanging the run.)
mkfifo fifo
printf 'include fifo\n' > inc-fifo.rf
run timeout 120 "$RAPID" -f inc-fifo.rf check
is "$ERR" "rapid: inc-fifo.rf:1:9: cannot read 'fifo': not a regular file" "include of a FIFO: an error, no wait"
is "$RC" 1 "include of a FIFO: exit 1"
printf 'target t\n    foreach p in file(fifo)\n    output o = out/{p}\n    run touch {o}\n' > set-fifo.rf
run timeout 120 "$RAPID" -f set-fifo.rf check
is "$ERR" "rapid: set-fifo.rf:2:18: cannot read 'fifo': not a regular file" "file() of a FIFO: an error, no wait"
run timeout 120 "$RAPID" -f fifo check
is "$ERR" "rapid: cannot read 'fifo': not a regular file" "a FIFO as the Rapidfile: an error, no wait"
is "$RC" 1 "a FIFO as the Rapidfile: exit 1"

# 16 MiB is the most; one byte more is an error naming the file.
awk 'BEGIN { for (i = 0; i < 1048576; i++) printf "# 16 bytes each\n" }' > cap.inc
printf 'include cap.inc\ntarget t\n    output o = out.txt\n    run touch {o}\n' > cap.rf
run "$RAPID" -f cap.rf check
is "$RC" 0 "an include of exactly 16 MiB: read"
printf '#' >> cap.inc
run "$RAPID" -f cap.rf check
is "$ERR" "rapid: cap.rf:1:9: cannot read 'cap.inc': larger than 16 MiB" "an include of 16 MiB and a byte: an error"
cp cap.inc big.rf
run "$RAPID" -f big.rf check
is "$ERR" "rapid: cannot read 'big.rf': larger than 16 MiB" "a Rapidfile over 16 MiB: an error"
awk 'BEGIN { for (i = 0; i < 1048577; i++) printf "p%014d\n", i }' > ids.big
printf 'target t\n    foreach p in file(ids.big)\n    output o = out/{p}\n    run touch {o}\n' > set-big.rf
run "$RAPID" -f set-big.rf check
is "$ERR" "rapid: set-big.rf:2:18: cannot read 'ids.big': larger than 16 MiB" "an ids file over 16 MiB: an error"
rm -f cap.inc big.rf ids.big

# Regression (memory of a long run line): a 6 MB run line of 3,000,000
# words took 914 MB (a buffer, a position array and a malloc'd template
# text per word, besides two copies of the line). The words are now split
# in place and lines are not copied again: peak RSS under 100 bytes per
# byte of the line (measured 439 MB). Not under ASan, whose redzones
# and quarantine are most of what it uses.
awk 'BEGIN { printf "target t\n    output o = out.txt\n    run echo"
	for (i = 0; i < 3000000; i++) printf " a"
	printf " {o}\n" }' > long.rf
if [ -x /usr/bin/time ] && ! grep -q __asan_init "$RAPID"; then
	run /usr/bin/time -f %M "$RAPID" -f long.rf check
	is "$RC" 0 "a 6 MB run line: exit 0"
	kb=$(printf '%s\n' "$ERR" | tail -n 1)
	ok "$([ "$kb" -lt 600000 ]; echo $?)" "a 6 MB run line: peak RSS ${kb} KB < 600,000 KB"
else
	run "$RAPID" -f long.rf check
	is "$RC" 0 "a 6 MB run line: exit 0"
fi
rm -f long.rf

done_testing
