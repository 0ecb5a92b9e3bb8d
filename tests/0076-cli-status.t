#!/bin/sh
# rapid status counts only the instances of the current plan (a sentinel
# of an instance no longer in the Rapidfile, or of an older key, is
# counted once on a line of its own), groups failures by reason with a few
# examples and a count, and says each reason once.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
seq 1 300 | sed 's/^/p/' > ids.txt
cat > Rapidfile <<'RF'
ids = file(ids.txt)
V = 1
target t
    foreach id in $(ids)
    output o = out/{id}.txt
    run sh -c 'case "$1" in p1?) exit 4;; p*[05]) echo "$2" > "$3";; *) exit 3;; esac' x {id} $(V) {o}
target other
    output o = out2/x.txt
    run sh -c 'echo x > "$1"' x {o}
RF
run "$RAPID" build -k -j 4
is "$RC" 1 "a build with failures"
run "$RAPID" status
is "$RC" 0 "status succeeds"
# p10..p19: exit 4 (10); p*0/p*5 other than those: ok; the rest exit 3
ok4=10; okn=$(seq 1 300 | grep -Ec '[05]$'); okn=$((okn - 2)) # p10 and p15 exit 4
f3=$((300 - okn - ok4))
like "$OUT" "^t: $okn ok, $((f3 + ok4)) failed, 0 running, 0 interrupted\$" "counts"
like "$OUT" "^  failed \\(exit status 3\\): $f3 instances\$" "the failures of one reason are one group"
like "$OUT" '^  failed \(exit status 4\): 10 instances$' "another reason, another group"
is "$(printf '%s\n' "$OUT" | grep -c '^    id=')" 10 "five examples per reason"
like "$OUT" "^    \\.\\.\\. and $((f3 - 5)) more\$" "and a count of the rest"
like "$OUT" '^    id=p1  \(log: .*/out/\.rapid/logs/t/p1/[0-9a-f]{32}\.log\)$' "an example with its log"
unlike "$OUT" 'exit status 3: exit status 3' "the reason is said once"
ok "$([ "$(printf '%s\n' "$OUT" | wc -l)" -lt 20 ]; echo $?)" "$((f3 + ok4)) failures are not as many lines"
like "$OUT" '^other: 1 ok, 0 failed, 0 running, 0 interrupted$' "another target"
unlike "$OUT" '^not counted' "every sentinel is of the current plan"

run "$RAPID" status other
is "$OUT" "other: 1 ok, 0 failed, 0 running, 0 interrupted" "status TARGET shows that target only"
run timeout 20 "$RAPID" status --watch other
is "$RC:$OUT" "0:other: 1 ok, 0 failed, 0 running, 0 interrupted" "status --watch with nothing running: one look"
run "$RAPID" status nosuch
is "$RC" 1 "status of an unknown target fails"
like "$ERR" "no target 'nosuch'" "naming it"

# instances leave the Rapidfile: their sentinels are not counted
seq 1 200 | sed 's/^/p/' > ids.txt
okn200=$(($(seq 1 200 | grep -Ec "[05]$") - 2))
run "$RAPID" status t
like "$OUT" "^t: $((okn200)) ok, " "instances no longer in the Rapidfile are not counted"
like "$OUT" '^not counted: 100 sentinels of older keys or of instances no longer in the Rapidfile$' \
	"one line says how many sentinels are not counted"
is "$(printf '%s\n' "$OUT" | grep -c '^not counted')" 1 "only one"

# a new key: nothing counts until it is built
run "$RAPID" status t V=2
like "$OUT" '^t: 0 ok, 0 failed, 0 running, 0 interrupted$' "sentinels of an older key are not counted"
like "$OUT" '^not counted: 300 sentinels' "but they are counted on that line"
run "$RAPID" status --json V=2
printf '%s\n' "$OUT" > s.json
is "$(python3 -c 'import json; d=json.load(open("s.json")); print([(t["name"], t["counts"]["ok"], t["stale_sentinels"]) for t in d["targets"]])')" \
	"[('t', 0, 300), ('other', 1, 0)]" "status --json: stale_sentinels per target"
run "$RAPID" build -k -j 4 V=2
run "$RAPID" status V=2
like "$OUT" "^t: $((okn200)) ok, " "built at the new key: counted"
like "$OUT" '^not counted: 100 sentinels' "the removed instances still are not"
done_testing
