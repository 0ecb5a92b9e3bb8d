#!/bin/sh
# The command line around plan and build: usage errors, target selection,
# dry runs, status and graph output, and outputs that follow the current key.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307
cat > Rapidfile <<'RF'
MODE = a
participants = file(participants.txt)
target copy
    foreach participant in $(participants)
    foreach run in REST1_LR REST2_LR
    input  bold = data/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output out  = out/{participant}/{run}.txt
    run sh -c 'echo "$2" > "$1"' copy {out} $(MODE)
target count
    foreach participant in $(participants)
    foreach run in REST1_LR REST2_LR
    input  src = copy.out
    output n   = out/{participant}/{run}.count
    run sh -c 'wc -c < "$1" > "$2"' count {src} {n}
RF

run "$RAPID" plan --bogus
is "$RC" 2 "unknown plan option: usage error"
like "$ERR" "^rapid: plan: unknown option '--bogus'" "unknown plan option named"
run "$RAPID" build --jobs=zero
is "$RC" 2 "bad -j: usage error"
like "$ERR" "option -j needs a positive number, not 'zero'" "bad -j named"
run "$RAPID" buidl
is "$RC" 2 "unknown command: usage error"
like "$ERR" "unknown command 'buidl' \\(did you mean 'build'\\?\\)" "unknown command with a hint"
run "$RAPID" plan cuont
is "$RC" 1 "unknown target fails"
like "$ERR" "no target 'cuont' in Rapidfile \\(did you mean 'count'\\?\\)" "unknown target with a hint"
run "$RAPID" -f Nope plan
is "$RC" 1 "missing Rapidfile fails"
like "$ERR" "Nope" "missing Rapidfile named"

run "$RAPID" plan copy
like "$OUT" '^copy: 4 instances' "a named target is planned"
unlike "$OUT" '^count:' "its dependents are not"
run "$RAPID" plan count
like "$OUT" '^copy: 4 instances' "a named target brings its upstream along"
run "$RAPID" build -n
is "$RC" 0 "build -n succeeds"
like "$OUT" '^pending: 8 instances in 2 targets$' "build -n shows the plan"
ok "$([ ! -e out ]; echo $?)" "build -n runs nothing"

run "$RAPID" build copy
is "$RC" 0 "build one target"
run "$RAPID" plan
like "$OUT" '^count: 4 instances: 0 up to date, 4 to build$' "only that target was built"
run "$RAPID" build -j 4
is "$RC" 0 "build the rest"

# outputs follow the current key: a → b → a rebuilds, and the output says a
run "$RAPID" build MODE=b
is "$RC" 0 "build with MODE=b"
is "$(cat out/100206/REST1_LR.txt)" "b" "output of MODE=b"
run "$RAPID" plan --exit-code
is "$RC" 1 "back to MODE=a is stale again (the outputs are b's)"
like "$OUT" "command: b → a" "and says why"
run "$RAPID" build
is "$(cat out/100206/REST1_LR.txt)" "a" "output of MODE=a again"

run "$RAPID" status --json
printf '%s\n' "$OUT" > "$T_TMP/status.json"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([(t["name"], t["counts"]["ok"]) for t in d["targets"]])' "$T_TMP/status.json")" \
   "[('copy', 4), ('count', 4)]" "status --json counts ok instances per target"
run "$RAPID" graph
like "$OUT" '^  "copy" -> "count" \[label="src"\];$' "graph has the edge"
like "$OUT" '^digraph rapid \{$' "graph is DOT"
run "$RAPID" version
like "$OUT" '^rapid [0-9]+\.[0-9]+\.[0-9]+$' "version"
done_testing
