#!/bin/sh
# Two builds at once on one project: the second waits for the instances
# the first holds, reports their outcome, and runs what depends on them.
#
# Regression (issue 9): the second build exited 1 at once ("running in
# another build") with nothing failed, and did not build the dependents.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W/m"; cd "$W" || exit 1
LOG=$T_TMP/ran.log
cat > Rapidfile <<RF
ps = a b
target up
    foreach p in \$(ps)
    output o = out/up/{p}.txt
    run sh -c 'echo "up \$2" >> $LOG; touch "\$1.started"; while [ -e "$W/hold.\$2" ]; do sleep 0.05; done; [ ! -e "$W/fail" ] || { echo "simulated failure" >&2; exit 3; }; echo "up \$2" > "\$3"' x $W/m/{p} {p} {o}
target down
    foreach p in \$(ps)
    input m = up.o
    output o = out/down/{p}.txt
    run sh -c 'echo "down \$2" >> $LOG; cat "\$1" > "\$3"; echo down >> "\$3"' x {m} {p} {o}
RF

# wait_for CMD...: until CMD succeeds (60 s at most: a loaded machine is
# not a failure).
wait_for() {
	_i=0
	while [ $_i -lt 1200 ] && ! "$@"; do sleep 0.05; _i=$((_i + 1)); done
}
# held: the first build holds up p=a, and up p=b is built
held() { [ -e m/a.started ] && [ -e out/up/b.txt ]; }
second_waits() { grep -q 'running in another build' "$T_TMP/b2.err" 2>/dev/null; }

# start_first: a fresh first build of `up` whose instance p=a waits on
# hold.a; then the second build of everything, once the first holds p=a.
start_both() {
	rm -rf out .rapid m/* "$LOG"
	: > hold.a
	"$RAPID" build -j 2 up >"$T_TMP/b1.out" 2>"$T_TMP/b1.err" &
	p1=$!
	wait_for held
	"$RAPID" build -j 2 >"$T_TMP/b2.out" 2>"$T_TMP/b2.err" &
	p2=$!
	wait_for second_waits
}

# 1. the first build succeeds: so does the second, which builds down
start_both
like "$(cat "$T_TMP/b2.err")" '^rapid: 2 instances to build, 1 running in another build$' "the second build sees the held instance"
# a third build whose only unfinished instance is the held one
"$RAPID" build up >"$T_TMP/b3.out" 2>"$T_TMP/b3.err" &
p3=$!
third_waits() { grep -q 'running in another build' "$T_TMP/b3.err" 2>/dev/null; }
wait_for third_waits
rm -f hold.a
wait $p1; r1=$?
wait $p2; r2=$?
wait $p3; r3=$?
is "$r1" 0 "the first build succeeds"
is "$r2" 0 "the second build waits for it and succeeds"
is "$(tail -1 "$T_TMP/b2.err")" "rapid: built 2 instances; 1 built by another build" "the second build says what the other built"
is "$r3" 0 "a build with only held instances waits and succeeds"
is "$(cat "$T_TMP/b3.err")" "rapid: 0 instances to build, 1 running in another build
rapid: 1 instance built by another build" "and says so"
is "$(grep -c '^up a$' "$LOG")" 1 "the held instance ran once"
is "$(cat out/down/a.txt out/down/b.txt | tr '\n' ' ')" "up a down up b down " "its dependent ran after it, on its output"
run "$RAPID" plan --exit-code
is "$RC" 0 "everything is up to date"

# 2. it fails in the first build: the second says so and does not run
# its dependent
start_both
: > fail
rm -f hold.a
wait $p1; r1=$?
wait $p2; r2=$?
rm -f fail
is "$r1" 1 "the first build fails"
is "$r2" 1 "the second build fails"
like "$(cat "$T_TMP/b2.err")" '^rapid: up p=a failed in another build: exit status 3$' "the second build reports the other's failure"
like "$(cat "$T_TMP/b2.err")" '^rapid: down p=a: not built: upstream up p=a failed$' "and does not run its dependent"
like "$(tail -1 "$T_TMP/b2.err")" '^rapid: built 1 of 2; 1 failed in another build; 1 not built: upstream failed$' "the summary counts them"
is "$(grep -c '^down a$' "$LOG")" 0 "the dependent never ran"

# 3. the first build is killed: the second takes the instance over
start_both
kill -KILL $p1
wait $p1 2>/dev/null
rm -f hold.a
wait $p2; r2=$?
is "$r2" 0 "after the first build died, the second builds its instance"
is "$(cat out/down/a.txt | tr '\n' ' ')" "up a down " "and its dependent"
run "$RAPID" plan --exit-code
is "$RC" 0 "everything is up to date"

# 4. two whole builds started together: each instance runs once, and
# both builds succeed (neither exits 1 for what the other ran)
mkdir -p "$W/two" && cd "$W/two" || exit 1
cat > Rapidfile <<RF
ps = a b c d e f g h
target up
    foreach p in \$(ps)
    output o = out/up/{p}.txt
    run sh -c 'echo "up \$1" >> $LOG; sleep 0.2; echo "up \$1" > "\$2"' x {p} {o}
target down
    foreach p in \$(ps)
    input m = up.o
    output o = out/down/{p}.txt
    run sh -c 'echo "down \$1" >> $LOG; cat "\$2" > "\$3"' x {p} {m} {o}
RF
: > "$LOG"
"$RAPID" build -j 3 >"$T_TMP/t1.out" 2>"$T_TMP/t1.err" &
p1=$!
"$RAPID" build -j 3 >"$T_TMP/t2.out" 2>"$T_TMP/t2.err" &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$r1 $r2" "0 0" "two builds at once both succeed"
is "$(sort "$LOG" | uniq -d | tr '\n' ' ')" "" "no instance ran twice"
is "$(sort -u "$LOG" | wc -l | tr -d ' ')" 16 "every instance ran once"
is "$(cat out/down/h.txt)" "up h" "the dependents hold their upstream's output"
run "$RAPID" plan --exit-code
is "$RC" 0 "everything is up to date"
done_testing
