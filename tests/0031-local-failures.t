#!/bin/sh
# Skipped instances, optional inputs, failures, -k, a SIGKILLed build, a
# deleted state and two builds at once.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307 100408 100610
rm data/100408/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
rm data/100610/MNINonLinear/Results/rfMRI_REST2_LR/rfMRI_REST2_LR.nii.gz
rm data/100206/MNINonLinear/brainmask_fs.2.nii.gz
LOG=$T_TMP/ran.log
cat > Rapidfile <<RF
participants = file(participants.txt)
runs = REST1_LR REST1_RL REST2_LR REST2_RL
FAIL = none
target rapidtide
    foreach participant in \$(participants)
    foreach run in \$(runs)
    input   bold = data/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    input?  mask = data/{participant}/MNINonLinear/brainmask_fs.2.nii.gz
    output  out  = out/sub-{participant}/{run}.txt
    run sh -c 'echo "\$3" >> $LOG; case "\$3" in \$(FAIL)) echo "simulated failure for \$3" >&2; exit 3;; esac; cat "\$1" > "\$2"' x {bold} {out} {participant}/{run}
RF

# 5. missing inputs
run "$RAPID" plan
like "$OUT" '^rapidtide: 16 instances: 0 up to date, 14 to build, 2 skipped$' "missing required inputs: 2 skipped, not an error"
like "$OUT" '^  skipped: required input missing: 2 instances \(2 participants\)$' "skipped count"
like "$OUT" "^    participant=100408 run=REST2_RL  \\(input bold: 'data/100408/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz' not found\\)$" "skipped example names the missing input"
is "$RC" 0 "a plan with skipped instances succeeds"
run "$RAPID" build -j 2
is "$RC" 0 "build with skipped instances succeeds"
run "$RAPID" plan --exit-code
is "$RC" 0 "skipped instances are not pending"
printf 'mask\n' > data/100206/MNINonLinear/brainmask_fs.2.nii.gz
run "$RAPID" plan --explain
like "$OUT" '^  input mask changed: 4 instances' "an optional input appearing makes its instances stale"
like "$OUT" 'input mask: missing → present' "explain: optional input missing → present"
run "$RAPID" build
is "$RC" 0 "rebuild with the mask"

# 6. failures and -k
: > "$LOG"
run "$RAPID" build --force FAIL=100307/REST1_LR
is "$RC" 1 "a failing recipe fails the build"
like "$ERR" 'rapidtide participant=100307 run=REST1_LR failed: exit status 3' "the failure is reported"
like "$ERR" 'simulated failure for 100307/REST1_LR' "the log tail is shown"
f=$(ls out/.rapid/sentinels/rapidtide/100307/REST1_LR/*.failed.json 2>/dev/null | head -1)
ok "$([ -n "$f" ]; echo $?)" "a failed sentinel is written"
like "$(cat "$f" 2>/dev/null)" '"exit_code": ?3' "the failed sentinel records the exit code"
run "$RAPID" plan FAIL=100307/REST1_LR
like "$OUT" '^  failed: 1 instance' "plan lists the failed instance"
like "$OUT" 'participant=100307 run=REST1_LR  \(exit status 3' "plan shows the exit status"
run "$RAPID" status FAIL=100307/REST1_LR
# the failure stopped the build (no -k): 4 instances were built under
# FAIL=..., the other 9 have sentinels only of their older key
like "$OUT" '^rapidtide: 4 ok, 1 failed, 0 running, 0 interrupted$' "status counts the instances at their current key"
like "$OUT" '^not counted: 9 sentinels of older keys or of instances no longer in the Rapidfile$' \
	"and says, once, how many sentinels are of older keys"
like "$OUT" '^  failed \(exit status 3\): 1 instance$' "status shows the failure's exit status once"
like "$OUT" '^    participant=100307 run=REST1_LR  \(log: .*/out/\.rapid/logs/rapidtide/100307/REST1_LR/[0-9a-f]{32}\.log\)$' \
	"and the failed instance with its log"
: > "$LOG"
run "$RAPID" build -k FAIL=100206/REST1_LR
is "$RC" 1 "build -k still fails overall"
like "$ERR" 'built 13 of 14; 1 failed' "build -k goes on with the rest"
is "$(wc -l < "$LOG" | tr -d ' ')" 14 "build -k ran every stale instance"
run "$RAPID" build
is "$RC" 0 "the next build finishes the failed one"
run "$RAPID" plan --exit-code
is "$RC" 0 "then nothing is pending"
run "$RAPID" status
like "$OUT" '^rapidtide: 14 ok, 0 failed, 0 running, 0 interrupted$' "status counts from the sentinels"

# SIGKILL of the whole build mid-recipe
sed -i 's/cat "\$1" > "\$2"/cat "$1" > "$2"; sleep 30/' Rapidfile
setsid "$RAPID" build -j 2 >/dev/null 2>&1 &
bpid=$!
# (waiting 60 s at most, so that a loaded machine is not a failure)
i=0; while [ $i -lt 600 ] && [ "$(ls out/.rapid/sentinels/rapidtide/*/*/*.running.json 2>/dev/null | wc -l)" -lt 2 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -$bpid 2>/dev/null
wait $bpid 2>/dev/null
run "$RAPID" plan
like "$OUT" '^  interrupted \(no live runner\): 2 instances' "a SIGKILLed build leaves its instances interrupted"
like "$OUT" '14 to build' "nothing of the killed build counts as built"
sed -i 's/; sleep 30//' Rapidfile
run "$RAPID" build -j 2
is "$RC" 0 "the next build finishes"
run "$RAPID" plan --exit-code
is "$RC" 0 "and everything is up to date"

# 7. deleting the state changes no plan result
echo changed >> data/100610/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
run "$RAPID" build -k --force FAIL=100206/REST2_RL rapidtide
echo changed >> data/100610/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz
for s in with without; do
	[ $s = without ] && rm -rf .rapid/state
	"$RAPID" plan --explain FAIL=100206/REST2_RL > "$T_TMP/$s-state.txt" 2>&1
	"$RAPID" plan --json FAIL=100206/REST2_RL > "$T_TMP/$s-state.json" 2>&1
done
is "$(cat "$T_TMP/without-state.txt")" "$(cat "$T_TMP/with-state.txt")" "plan --explain is the same without the state"
is "$(cat "$T_TMP/without-state.json")" "$(cat "$T_TMP/with-state.json")" "plan --json is the same without the state"
like "$(cat "$T_TMP/without-state.txt")" '^  failed: 1 instance' "that plan has a failure"
like "$(cat "$T_TMP/without-state.txt")" '^  input bold changed: 1 instance' "and a changed input"

# 8. two builds at once never run the same instance twice
rm -rf out
sed -i 's/cat "\$1" > "\$2"/cat "$1" > "$2"; sleep 0.2/' Rapidfile
: > "$LOG"
"$RAPID" build -j 3 > "$T_TMP/b1.out" 2>&1 &
p1=$!
"$RAPID" build -j 3 > "$T_TMP/b2.out" 2>&1 &
p2=$!
wait $p1; wait $p2
is "$(sort "$LOG" | uniq -d | tr '\n' ' ')" "" "no instance ran twice"
is "$(sort -u "$LOG" | wc -l | tr -d ' ')" 14 "every instance ran once"
run "$RAPID" build
is "$RC" 0 "a build after them succeeds"
run "$RAPID" plan --exit-code
is "$RC" 0 "everything is up to date"
done_testing
