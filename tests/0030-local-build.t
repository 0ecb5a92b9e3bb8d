#!/bin/sh
# The local backend end to end: build, no-op plan, touched and changed
# inputs, recipe/variable/image changes with --explain and --json.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307 100408
LOG=$T_TMP/ran.log
cat > Rapidfile <<RF
DATA = data
OUT  = out
IMAGE ?= example/standin:1.0
PASSES = 3
participants = file(participants.txt)
runs = REST1_LR REST1_RL REST2_LR REST2_RL

target rapidtide
    foreach participant in \$(participants)
    foreach run in \$(runs)
    input   bold = \$(DATA)/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    input?  mask = \$(DATA)/{participant}/MNINonLinear/brainmask_fs.2.nii.gz
    output  dir  = \$(OUT)/sub-{participant}/rfMRI_{run}/
    image   \$(IMAGE)
    run sh -c 'echo "\$3" >> $LOG; cp "\$1" "\$2"_copy.nii.gz; echo "\$4" > "\$2"_passes.txt' stand-in {bold} {dir}sub-{participant}_{run} {participant}/{run} --passes \$(PASSES)

target report
    foreach participant in \$(participants)
    foreach run in \$(runs)
    input  maps = rapidtide.dir
    output txt  = \$(OUT)/sub-{participant}/rfMRI_{run}.report.txt
    run sh -c 'echo "report \$3" >> $LOG; ls "\$1" > "\$2"' report {maps} {txt} {participant}/{run}
RF

run "$RAPID" plan --exit-code
is "$RC" 1 "plan --exit-code before any build exits 1"
like "$OUT" '^rapidtide: 12 instances: 0 up to date, 12 to build$' "plan counts 12 rapidtide instances to build"
like "$OUT" '^  never built: 12 instances \(3 participants\)$' "reason: never built"

run "$RAPID" build -j 2
is "$RC" 0 "fresh build succeeds"
is "$(count_lines "$LOG" '^[0-9]*/REST')" 12 "every rapidtide instance ran once"
is "$(count_lines "$LOG" '^report ')" 12 "every report instance ran once"
ok "$([ -f out/sub-100307/rfMRI_REST1_LR/sub-100307_REST1_LR_copy.nii.gz ]; echo $?)" "outputs are in place"
is "$(cat out/sub-100307/rfMRI_REST1_LR/sub-100307_REST1_LR_copy.nii.gz)" "bold 100307 REST1_LR" "output content"
grep -q 'rfMRI_REST1_LR' out/sub-100307/rfMRI_REST1_LR.report.txt 2>/dev/null || true
like "$(cat out/sub-100307/rfMRI_REST1_LR.report.txt)" 'sub-100307_REST1_LR_copy.nii.gz' "downstream saw the upstream's outputs"

run "$RAPID" plan --exit-code -v
is "$RC" 0 "plan --exit-code after the build exits 0"
like "$OUT" '^nothing to build$' "second plan: nothing to build"
like "$ERR" 'inputs: 24 cached, 0 hashed' "no-op plan reads no input file"

: > "$LOG"
run "$RAPID" build
is "$RC" 0 "no-op build succeeds"
is "$(wc -l < "$LOG" | tr -d ' ')" 0 "no-op build runs nothing"

run "$RAPID" plan --refresh -v
like "$ERR" 'inputs: 9 cached, 15 hashed' "--refresh re-reads each of the 15 input files once"
like "$OUT" '^nothing to build$' "--refresh finds nothing changed"

# 2. touch without changing bytes
sleep 0.05
touch data/100307/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
run "$RAPID" plan --exit-code -v
is "$RC" 0 "touched input: nothing stale"
like "$ERR" 'inputs: 23 cached, 1 hashed' "touched input: only the touched file is re-read"

# 3. changed bytes
echo more >> data/100307/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
run "$RAPID" plan --exit-code
is "$RC" 1 "changed input: plan --exit-code exits 1"
like "$OUT" '^rapidtide: 12 instances: 11 up to date, 1 to build$' "changed input: exactly one rapidtide instance stale"
like "$OUT" '^report: 12 instances: 11 up to date, 1 to build$' "changed input: exactly its dependent stale"
like "$OUT" '^  input bold changed: 1 instance' "reason: input bold changed"
like "$OUT" '^    participant=100307 run=REST1_LR$' "the stale instance is named"
like "$OUT" '^  input maps changed: 1 instance' "dependent's reason: input maps changed"
run "$RAPID" plan --explain rapidtide
like "$OUT" 'input bold: size 21 → 26, xxh3 [0-9a-f]{12}… → [0-9a-f]{12}…' "--explain shows the input's old → new fingerprint"
run "$RAPID" plan --json
printf '%s\n' "$OUT" > "$T_TMP/plan.json"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["targets"][0]; i=t["not_up_to_date"][0]; print(d["pending"], t["name"], i["wildcards"]["participant"], i["wildcards"]["run"], i["reason"], i["summary"], i["changes"][0]["component"])' "$T_TMP/plan.json")" \
   "2 rapidtide 100307 REST1_LR key_changed input bold changed input bold" "--json carries the same facts"
: > "$LOG"
run "$RAPID" build
is "$RC" 0 "rebuild after a change"
is "$(sort "$LOG" | tr '\n' ' ')" "100307/REST1_LR report 100307/REST1_LR " "rebuild ran exactly the changed instance and its dependent"

# 4. recipe change through a variable override, then in the file; image change
run "$RAPID" plan PASSES=4
like "$OUT" '^rapidtide: 12 instances: 0 up to date, 12 to build$' "variable override: every rapidtide instance stale"
like "$OUT" '^  command changed: 12 instances \(3 participants\)$' "variable override: reason command changed"
like "$OUT" '^      command: --passes 3 → --passes 4$' "plan shows the command change old → new"
run "$RAPID" plan --explain PASSES=4 rapidtide
is "$(printf '%s\n' "$OUT" | grep -c '^      command: --passes 3 → --passes 4$')" 12 "--explain shows the change for every instance"
run "$RAPID" plan --json PASSES=4
printf '%s\n' "$OUT" > "$T_TMP/plan.json"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["targets"][0]["not_up_to_date"][5]["changes"][0]; print(c["component"], "|", c["old"], "|", c["new"])' "$T_TMP/plan.json")" \
   "command | --passes 3 | --passes 4" "--json: the command change old and new"
run "$RAPID" plan IMAGE=example/standin:2.0 rapidtide
like "$OUT" '^  image changed: 12 instances \(3 participants\)$' "image change: every instance stale"
like "$OUT" '^      image: example/standin:1.0 → example/standin:2.0$' "image change old → new"
sed -i 's/--passes \$(PASSES)/--passes $(PASSES) --fast/' Rapidfile
run "$RAPID" plan rapidtide
like "$OUT" '^      command: --passes 3 → --passes 3 --fast$' "recipe edit shows old → new"
like "$OUT" '^  command changed: 12 instances' "recipe edit makes every instance stale"
sed -i 's/ --fast//' Rapidfile
run "$RAPID" plan --exit-code
is "$RC" 0 "reverting the recipe: up to date again"
done_testing
