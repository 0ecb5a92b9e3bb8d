#!/bin/sh
# A build stopped by a signal leaves its instances interrupted, never
# failed: Ctrl-C (SIGINT to the whole process group), SIGTERM to the build,
# SIGKILL of the build alone and of its process group. `rapid plan` and
# `rapid status` say interrupted; the exit status is 128 + the signal.
#
# Regression (issue 9): the runners recorded "failed (interrupted by
# signal 2)" and the build exited 1.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W/m"; cd "$W" || exit 1
cat > Rapidfile <<RF
target t
    foreach p in a b
    output o = out/{p}.txt
    run sh -c 'touch "\$1.started"; while [ -e "$W/hold" ]; do sleep 0.05; done; echo "\$2" > "\$3"' x $W/m/{p} {p} {o}
RF

# wait_for CMD...: until CMD succeeds (60 s at most: a loaded machine is
# not a failure).
wait_for() {
	_i=0
	while [ $_i -lt 1200 ] && ! "$@"; do sleep 0.05; _i=$((_i + 1)); done
}
started() { [ -e m/a.started ] && [ -e m/b.started ]; }
quiet() { "$RAPID" status 2>/dev/null | grep -q '^t: .* 0 running,'; }

# start: a fresh build of both instances, in a process group of its own,
# whose recipes wait on $W/hold.
start() {
	rm -rf out .rapid m/*
	: > hold
	setsid "$RAPID" build -j 2 >"$T_TMP/b.out" 2>"$T_TMP/b.err" &
	bpid=$!
	wait_for started
}

# after NAME: the checks every kind of stop shares.
after() {
	wait_for quiet
	run "$RAPID" plan
	like "$OUT" '^  interrupted \(no live runner\): 2 instances$' "$1: plan says interrupted"
	run "$RAPID" status
	is "$OUT" "t: 0 ok, 0 failed, 0 running, 2 interrupted" "$1: status counts them as interrupted"
	is "$(find out/.rapid/sentinels -name '*.failed.json' | wc -l | tr -d ' ')" 0 "$1: nothing is recorded as failed"
}

start
kill -INT -$bpid # what a terminal's Ctrl-C does
wait $bpid
is "$?" 130 "Ctrl-C: the build exits 130"
is "$(grep -c '^rapid: t p=[ab]: interrupted by signal 2$' "$T_TMP/b.err")" 2 "Ctrl-C: each runner says it was interrupted"
like "$(cat "$T_TMP/b.err")" '^rapid: built 0 of 2; 2 interrupted$' "Ctrl-C: the summary counts them as interrupted"
unlike "$(cat "$T_TMP/b.err")" 'failed' "Ctrl-C: nothing is reported as failed"
after "Ctrl-C"

start
kill -TERM $bpid
wait $bpid
is "$?" 143 "SIGTERM: the build exits 143"
is "$(grep -c '^rapid: t p=[ab]: interrupted by signal 15$' "$T_TMP/b.err")" 2 "SIGTERM: each runner says it was interrupted"
after "SIGTERM"

start
kill -KILL $bpid # the build alone: its runners are told by the kernel
wait $bpid 2>/dev/null
after "SIGKILL of the build"

start
kill -KILL -$bpid
wait $bpid 2>/dev/null
after "SIGKILL of the process group"

# a runner killed on its own (the build goes on): that instance is
# interrupted, the build says which and how, and exits 1
start
rpid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' out/.rapid/sentinels/t/a/*.running.json)
kill -KILL "$rpid"
wait_for grep -q 'runner was killed' "$T_TMP/b.err"
rm -f hold
wait $bpid
is "$?" 1 "a runner killed: the build exits 1"
like "$(cat "$T_TMP/b.err")" '^rapid: t p=a: interrupted: its runner was killed by signal 9$' "a runner killed: the build says so"
like "$(cat "$T_TMP/b.err")" '^rapid: built 1 of 2; 1 interrupted$' "a runner killed: the summary counts it as interrupted"
run "$RAPID" status
is "$OUT" "t: 1 ok, 0 failed, 0 running, 1 interrupted" "a runner killed: status counts it as interrupted"
: > hold

# the next build takes the interrupted instances over
rm -f hold
run "$RAPID" build -j 2
is "$RC" 0 "the next build builds them"
run "$RAPID" status
is "$OUT" "t: 2 ok, 0 failed, 0 running, 0 interrupted" "then status says ok"
is "$(cat out/a.txt out/b.txt | tr '\n' ' ')" "a b " "with their outputs"

# a runner killed on its own: its dependents are not started, and say why
mkdir -p "$W/dep" && cd "$W/dep" || exit 1
cat > Rapidfile <<RF
target t
    foreach p in a
    output o = out/t/{p}.txt
    run sh -c 'touch "$W/dep/started"; while [ -e "$W/dep/hold" ]; do sleep 0.05; done; echo t > "\$1"' x {o}
target d
    foreach p in a
    input m = t.o
    output o = out/d/{p}.txt
    run cp {m} {o}
RF
: > hold
"$RAPID" build -k >"$T_TMP/d.out" 2>"$T_TMP/d.err" &
bpid=$!
wait_for test -e started
rpid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' out/t/.rapid/sentinels/t/a/*.running.json)
kill -KILL "$rpid"
wait $bpid
is "$?" 1 "a runner killed, with a dependent: the build exits 1"
is "$(grep '^rapid: [td] p=a:' "$T_TMP/d.err")" "rapid: t p=a: interrupted: its runner was killed by signal 9
rapid: d p=a: not built: upstream t p=a was interrupted" "a runner killed: its dependent is not started, and says why"
ok "$([ ! -e out/d/a.txt ]; echo $?)" "a runner killed: the dependent made nothing"
is "$(tail -1 "$T_TMP/d.err")" "rapid: built 0 of 2; 1 interrupted; 1 not built: upstream interrupted" "a runner killed: the summary"

# Ctrl-C: what waits on an interrupted instance is not started, and not
# called blocked by a failure
: > hold
rm -f started
setsid "$RAPID" build >"$T_TMP/d.out" 2>"$T_TMP/d.err" &
bpid=$!
wait_for test -e started
kill -INT -$bpid
wait $bpid
is "$?" 130 "Ctrl-C with a dependent: exit 130"
is "$(tail -1 "$T_TMP/d.err")" "rapid: built 0 of 2; 1 interrupted; 1 not started" "Ctrl-C with a dependent: the summary"
done_testing
