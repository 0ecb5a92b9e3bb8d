#!/bin/sh
# build --force forces the targets named on the command line (every
# selected target when none is named), never their upstream: the upstream
# runs only if it is stale. Each recipe journals its runs.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
J=$W/journal
cat > Rapidfile <<RF
ps = a b
target up
    foreach p in \$(ps)
    output d = out/up/{p}.txt
    run sh -c 'echo "up \$1" >> $J; echo "\$1" > "\$2"' x {p} {d}
target down
    foreach p in \$(ps)
    input m = up.d
    output o = out/down/{p}.txt
    run sh -c 'echo "down \$1" >> $J; cat "\$2" > "\$3"' x {p} {m} {o}
target side
    output o = out/side.txt
    run sh -c 'echo side >> $J; echo side > "\$1"' x {o}
RF
runs() { count_lines "$J" "^$1 "; }

run "$RAPID" build -j 2
is "$RC" 0 "first build"
is "$(wc -l < "$J" | tr -d ' ')" 5 "every instance ran once"

: > "$J"
run "$RAPID" build down --force
is "$RC" 0 "build down --force"
is "$(runs down)" 2 "the named target is rebuilt"
is "$(runs up)" 0 "its upstream is not"
is "$(count_lines "$J" '^side')" 0 "nor an unrelated target"
like "$ERR" "^rapid: 2 instances to build" "the build counts only the forced instances"

: > "$J"
run "$RAPID" build --force down
is "$RC:$(runs down):$(runs up)" "0:2:0" "--force before the target name means the same"

: > "$J"
run "$RAPID" build -j 2 --force up
is "$RC:$(runs up):$(runs down)" "0:2:0" "--force up: up only (down is not selected, and its key did not change)"
run "$RAPID" plan --exit-code
is "$RC" 0 "after a forced upstream, everything is up to date"

# an upstream that is stale is still built before its forced dependent
rm -rf out/up/.rapid/sentinels/up/a
: > "$J"
run "$RAPID" build down --force
is "$RC:$(runs up):$(runs down)" "0:1:2" "a stale upstream is built, a fresh one is not forced"
is "$(sed -n 1p "$J")" "up a" "and it runs first"

: > "$J"
run "$RAPID" build --force
is "$RC" 0 "--force alone"
is "$(wc -l < "$J" | tr -d ' ')" 5 "--force with no target forces every target"

: > "$J"
run "$RAPID" build -n --force side
is "$RC" 0 "build -n --force side"
like "$OUT" '^side: 1 instance: 0 up to date, 1 to build$' "the dry run shows the forced instance"
like "$OUT" '^  forced: 1 instance' "as forced"
unlike "$OUT" '^up:' "and nothing else"
is "$(wc -l < "$J" | tr -d ' ')" 0 "and runs nothing"
done_testing
