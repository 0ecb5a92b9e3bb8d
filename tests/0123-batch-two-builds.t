#!/bin/sh
# Two builds at once on one root: one submits, the other finds its
# submission and submits nothing; plan shows the participants queued with
# the job id; then rapid cancel terminates every child, the runner of a
# running one records it interrupted, and status and plan agree.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"
mkdata "$W/data/HCP" 100101 100102 100103 100104
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1
cat > Rapidfile <<'RF'
ps = 100101 100102 100103 100104
target rapidtide
    foreach participant in $(ps)
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
    output dir  = s3://rapid-out/rt/{participant}/
    run sh -c 'echo started; sleep 600; mkdir -p "$2" && cat "$1" > "$2/maps.txt"' x {bold} {dir}
RF
emu_batch '{"queue": "rq"}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"], "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]}' >/dev/null || exit 1
emu_batch "{\"slots\": 2, \"runner\": \"$RAPID\", \"job_role\": \"$EMU_AKID2\", \"hold\": true, \"grace_s\": 5}" >/dev/null
B="--backend batch --job-queue rq --job-definition rd"
"$RAPID" plan >/dev/null 2>&1   # fingerprints cached: both builds plan alike

# The first build's SubmitJob is slow: the second starts while it holds the lock.
emu_faults '{"next": ["delay"], "ops": ["SubmitJob"], "delay_ms": 20000}'
"$RAPID" build $B >a.out 2>a.err &
a=$!
n=0
while [ "$(emu_count SubmitJob)" = 0 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
is "$(emu_count SubmitJob)" 1 "the first build is submitting"
run "$RAPID" build $B
is "$RC" 0 "the second build exits 0"
like "$ERR" "another build \\([^)]* pid $a\\) is submitting to s3://rapid-out/rt/: submission [0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}" \
	"and names the build and the submission it found"
wait $a
is "$?" 0 "the first build succeeds"
sub=$(sed -n 's/^submission \([^ :]*\):.*/\1/p' a.out)
like "$ERR" "submission $sub" "(the one the first made)"
is "$(emu_count SubmitJob)" 1 "exactly one SubmitJob"
job=$(emu_batch_state | emu_json 'j["jobs"][0]["id"]')

run "$RAPID" plan
like "$OUT" "queued: job $job \\(submission $sub\\)" "plan shows the participants queued with the job id"
unlike "$OUT" "never built" "(none of them stale)"
run "$RAPID" build $B
is "$RC" 0 "a third build"
like "$ERR" "nothing to submit" "submits nothing"
is "$(emu_count SubmitJob)" 1 "(still one SubmitJob)"
run "$RAPID" status
like "$OUT" "submission $sub:" "status names the submission"
like "$OUT" "rapidtide chunk 0: PENDING, array of 4: 4 RUNNABLE \\(job $job\\)" "and its children by Batch state"

# Two children start; then cancel.
emu_batch '{"release": true}' >/dev/null
emu_batch '{"hold": false}' >/dev/null
n=0
while [ "$(emu_batch_job "$job" | emu_json 'j["summary"]["RUNNING"]')" != 2 ] && [ $n -lt 600 ]; do
	sleep 0.1; n=$((n + 1))
done
is "$(emu_batch_job "$job" | emu_json 'j["summary"]["RUNNING"]')" 2 "two children run (two slots)"
n=0   # their runners have claimed their instances
while [ "$(emu_aws s3 ls --recursive s3://rapid-out/rt/.rapid/sentinels/ | grep -c '\.running\.')" -lt 2 ] && [ $n -lt 600 ]; do
	sleep 0.1; n=$((n + 1))
done
run "$RAPID" status
like "$OUT" "rapidtide: 0 ok, 0 failed, 2 running, 0 interrupted" "status: the two running children's instances run"
run "$RAPID" cancel
is "$RC" 0 "rapid cancel succeeds"
like "$OUT" "cancelled rapid-rapidtide-$sub-0 \\($job\\): submission $sub, rapidtide chunk 0" "naming the job it terminated"
is "$(emu_batch_wait "$job")" FAILED "the job ends"
is "$(emu_batch_job "$job" | emu_json '[c["status"] for c in j["children"]]' | sort -u)" FAILED "every child terminated"
run "$RAPID" plan
is "$(printf '%s\n' "$OUT" | grep -c 'interrupted')" 1 "plan: the running ones interrupted (one group)"
like "$OUT" "interrupted \\(no live runner\\): 2 instances" "two of them"
like "$OUT" "never built: 2 instances" "and the two that never started, stale again"
run "$RAPID" status
like "$OUT" "rapidtide: 0 ok, 0 failed, 0 running, 2 interrupted" "status agrees"
like "$OUT" "rapidtide chunk 0: FAILED" "the job failed"
run "$RAPID" cancel
like "$ERR" "nothing to cancel" "a second cancel has nothing to do"
done_testing
