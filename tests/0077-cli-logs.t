#!/bin/sh
# rapid logs TARGET w=v...: the log of an instance's current key (else its
# newest, saying which key), clear errors for an unknown target, wildcard
# or value, and --follow on a running instance: the test sees the first
# line while the recipe waits on a FIFO the test controls, and the exit
# status is the instance's outcome.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkfifo "$W/fifo"
cat > Rapidfile <<RF
V = 1
RC = 0
target copy
    foreach p in a b
    foreach r in x y
    output o = out/{p}/{r}.txt
    run sh -c 'echo "log of \$1 \$2 v\$3"; echo "to stderr" >&2; echo ok > "\$4"' x {p} {r} \$(V) {o}
target one
    output o = out/one.txt
    run sh -c 'echo one; echo 1 > "\$1"' x {o}
target slow
    foreach p in a
    output o = out/slow/{p}.txt
    run sh -c 'echo first; touch $W/started; read x < $W/fifo; echo second; echo ok > "\$1"; exit \$2' x {o} \$(RC)
RF
run "$RAPID" build copy
is "$RC" 0 "build"
run "$RAPID" logs copy p=a r=y
is "$RC" 0 "logs of an instance"
is "$OUT" "$(printf 'log of a y v1\nto stderr')" "prints its log (stdout and stderr of the recipe)"
run "$RAPID" logs copy r=x p=b
is "$OUT" "$(printf 'log of b x v1\nto stderr')" "wildcards in any order"
run "$RAPID" -C "$W" logs copy p=a r=x -f Rapidfile
is "$RC:$(printf '%s' "$OUT" | head -1)" "0:log of a x v1" "global options before and after"

run "$RAPID" build one
run "$RAPID" logs one
is "$RC:$OUT" "0:one" "a target without wildcards: logs TARGET"
run "$RAPID" logs copy p=a r=x V=2
is "$RC" 0 "a changed key: the newest log is shown"
is "$(printf '%s' "$OUT" | head -1)" "log of a x v1" "the older key's log"
like "$ERR" "^rapid: copy p=a r=x: no log of its current key [0-9a-f]{32}; the newest log is of key [0-9a-f]{32}\$" \
	"saying it is not the current key's, and which key it is"

run "$RAPID" logs cpoy p=a r=x
is "$RC" 1 "unknown target"
like "$ERR" "^rapid: no target 'cpoy' in Rapidfile \\(did you mean 'copy'\\?\\)\$" "named, with a hint"
run "$RAPID" logs copy p=a
is "$RC" 1 "a wildcard not given"
like "$ERR" "^rapid: logs: which r of target copy\\? Name it as r=VALUE \\(x, y\\)\$" "names it and its values"
run "$RAPID" logs copy p=bb r=x
is "$RC" 1 "an unknown value"
like "$ERR" "^rapid: logs: target copy has no p 'bb' \\(did you mean 'b'\\?\\)\$" "named, with a hint"
run "$RAPID" logs
is "$RC" 2 "no target: usage error"
like "$ERR" "^rapid: logs: which target's log\\?" "says what is missing"
run "$RAPID" logs copy slow p=a
is "$RC" 2 "two targets: usage error"
run "$RAPID" logs slow p=a
is "$RC" 1 "an instance that never ran"
like "$ERR" "^rapid: slow p=a: no log in '.*/out/slow/\\.rapid/logs/slow/a/' \\(it has not run here\\)\$" "says so"

# --follow: first line while the recipe waits, the rest after, exit 0
release() { timeout 20 sh -c "echo go > '$W/fifo'"; }
follow_case() { # RC expected-exit name
	rm -f "$W/started"
	logs_before=$(ls "$W"/out/slow/.rapid/logs/slow/a/ 2>/dev/null | wc -l)
	"$RAPID" build slow --force RC="$1" > "$T_TMP/build.out" 2>&1 &
	bpid=$!
	n=0; while [ ! -e "$W/started" ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
	ok "$([ -e "$W/started" ]; echo $?)" "$3: the recipe started"
	"$RAPID" logs slow p=a --follow RC="$1" > "$T_TMP/follow.out" 2> "$T_TMP/follow.err" &
	fpid=$!
	n=0; while ! grep -q first "$T_TMP/follow.out" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	seen=$(cat "$T_TMP/follow.out")
	logs_now=$(ls "$W"/out/slow/.rapid/logs/slow/a/ 2>/dev/null | wc -l)
	if [ "$logs_now" -gt "$logs_before" ] || [ -n "$seen" ]; then
		is "$seen" "first" "$3: --follow shows the first line while the recipe runs"
	else
		echo "ok $((T_NUM + 1)) # SKIP the runner writes the log when the recipe ends"; T_NUM=$((T_NUM + 1))
	fi
	release
	wait "$fpid"; frc=$?
	wait "$bpid"
	is "$frc" "$2" "$3: --follow exits when the instance ends, with its outcome"
	is "$(cat "$T_TMP/follow.out")" "$(printf 'first\nsecond')" "$3: and has printed the whole log, once"
}
follow_case 0 0 "built"
follow_case 3 1 "failed"
like "$(cat "$T_TMP/follow.err")" "^rapid: slow p=a: failed\$" "failed: --follow says so"
done_testing
