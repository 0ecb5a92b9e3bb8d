#!/bin/sh
# The progress of a build on stderr: plain lines "[n/N] NAME" as each
# instance ends when stderr is not a terminal ([n/N] counts completions),
# one line rewritten in place on a terminal (counts of running and failed
# instances, a rate). And rapid graph TARGET...: the named targets and
# their upstream.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
cat > Rapidfile <<'RF'
FAIL = none
target up
    foreach p in a b c
    output d = out/up/{p}.txt
    run sh -c 'case "$1" in $(FAIL)) exit 3;; esac; echo "$1" > "$2"' x {p} {d}
target down
    foreach p in a b c
    input m = up.d
    output o = out/down/{p}.txt
    run cp {m} {o}
target other
    output o = out/other.txt
    run sh -c 'echo x > "$1"' x {o}
RF
run "$RAPID" build -j 2 up down
is "$RC" 0 "build"
lines=$(printf '%s\n' "$ERR" | grep '^\[')
is "$(printf '%s\n' "$lines" | sed 's/ .*//' | tr '\n' ' ')" "[1/6] [2/6] [3/6] [4/6] [5/6] [6/6] " \
	"plain lines: [n/N] counts completions, one line each"
like "$lines" '^\[[1-6]/6\] down p=c$' "each names the instance that ended"
ok "$(printf '%s' "$ERR" | grep -q "$(printf '\r')"; [ $? = 1 ]; echo $?)" "no carriage return when stderr is not a terminal"
ok "$(printf '%s' "$ERR" | grep -q "$(printf '\033')"; [ $? = 1 ]; echo $?)" "no escape sequence either"

run "$RAPID" build -k up down FAIL=b
is "$RC" 1 "a build with a failure"
like "$ERR" '^\[[1-3]/6\] up p=b failed$' "a failure is a completion, said so"
is "$(printf '%s\n' "$ERR" | grep -c '^\[')" 5 "down p=b, which could not start, is not a completion"

if command -v script >/dev/null 2>&1; then
	rm -rf out
	script -q -c "'$RAPID' build -j 2 up down" /dev/null > "$T_TMP/tty.out" 2>&1 </dev/null
	tty=$(tr '\r' '\n' < "$T_TMP/tty.out")
	like "$tty" "$(printf '\033')\\[K\\[6/6\\] [0-9]+ running, [0-9.]+/(s|min|h)  " \
		"on a terminal: one line rewritten in place, with counts and a rate"
	like "$tty" '\[0/6\] 1 running  up p=' "the line shows how many run before any ended"
	like "$tty" 'built 6 instances' "and the summary on a line of its own"
	is "$(grep -c '^\[' "$T_TMP/tty.out")" 0 "no plain progress line on a terminal"
else
	echo "ok $((T_NUM + 1)) # SKIP no script(1) for a terminal"; T_NUM=$((T_NUM + 1))
fi

# graph TARGET selects the named targets and their upstream
run "$RAPID" graph down
is "$RC" 0 "graph down"
like "$OUT" '^  "up" -> "down" \[label="m"\];$' "has the edge from its upstream"
like "$OUT" '^  "up" \[label=' "and its upstream"
unlike "$OUT" '"other"' "not an unrelated target"
run "$RAPID" graph up
like "$OUT" '^  "up" \[label=' "graph up: up"
unlike "$OUT" '"down"' "not its dependents"
run "$RAPID" graph
like "$OUT" '"other"' "graph with no target: every target"
run "$RAPID" graph dwn
is "$RC" 1 "graph of an unknown target"
like "$ERR" "^rapid: no target 'dwn' in Rapidfile \\(did you mean 'down'\\?\\)\$" "named with a hint"
done_testing
