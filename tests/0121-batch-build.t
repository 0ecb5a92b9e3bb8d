#!/bin/sh
# build --backend batch end to end through the emulator's Batch: a per-run
# target and a per-participant gatherer over 30 participants with holes
# are submitted as one array job each (the gatherer N_TO_N on the first),
# the children run `rapid runner --manifest` as Batch would, every output
# and sentinel lands in S3 and the next plan is clean. Then the data grows
# (one participant's runs appear) and the image changes: each time the
# next build submits exactly the stale participants.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"

ids=$(seq 100101 100130)
mkdata "$W/data/HCP" $ids
# holes: 100105 and 100112 lack REST1_RL; 100120 has no run at all (yet)
rm data/HCP/100105/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz
rm data/HCP/100112/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz
mv data/HCP/100120 held-back
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1
echo $ids | tr ' ' '\n' > participants.txt
cat > Rapidfile <<'RF'
IMAGE ?= example/rapidtide:3.1.0
participants = file(participants.txt)
runs = REST1_LR REST1_RL
target rapidtide
    foreach participant in $(participants)
    foreach run in $(runs)
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output dir  = s3://rapid-out/rt/rapidtide/{participant}/{run}/
    image  $(IMAGE)
    memory 2000
    vcpus  1
    run sh -c 'mkdir -p "$2" && cat "$1" > "$2/maps.txt"' x {bold} {dir}
SV ?= 1
target summary
    foreach participant in $(participants)
    input  maps = rapidtide.dir
    output txt  = s3://rapid-out/rt/summary/{participant}.txt
    image  $(IMAGE)
    env    SUMMARY_VERSION=$(SV)
    run sh -c 'out=$1; shift; for d in "$@"; do cat "$d/maps.txt"; done > "$out"' x {txt} {maps}
RF

# The queue and the job definition the stack would have made.
emu_batch '{"queue": "rq"}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rapidtide:3.1.0", "command": ["rapid", "runner"], "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]}' \
	> jd.json || exit 1
emu_batch "{\"slots\": 4, \"runner\": \"$RAPID\", \"job_role\": \"$EMU_AKID2\"}" >/dev/null
B="--backend batch --job-queue rq --job-definition rd"

run "$RAPID" build $B
is "$RC" 0 "build --backend batch submits"
like "$OUT" "submission [0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}: 2 jobs, 58 array children, 85 instances" \
	"2 jobs: the 29 participants with data in each target, 56 runs and 29 summaries"
emu_batch_state > state.json
submits() { emu_json 'sum(j["submits"].values())' < state.json; }
is "$(submits)" 2 "two SubmitJob requests"
rt=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-rapidtide-")][0]' < state.json)
sm=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-summary-")][0]' < state.json)
is "$(emu_batch_job "$rt" | emu_json 'j["submit"]["arrayProperties"]["size"]')" 29 "rapidtide: an array of 29 children"
is "$(emu_batch_job "$sm" | emu_json 'j["submit"]["dependsOn"]')" "{\"jobId\": \"$rt\", \"type\": \"N_TO_N\"}" \
	"summary depends N_TO_N on rapidtide"
is "$(emu_batch_job "$rt" | emu_json 'j["submit"]["containerOverrides"]["command"][:3]')" "rapid
runner
--manifest" "the children run rapid runner --manifest"
is "$(emu_batch_wait "$sm")" SUCCEEDED "the summary job succeeds"
is "$(emu_batch_job "$rt" | emu_json 'j["status"]')" SUCCEEDED "and rapidtide's"

emu_aws s3 ls --recursive s3://rapid-out/rt/ > ls.txt
is "$(grep -c '/\.rapid/sentinels/.*\.ok\.json$' ls.txt)" 85 "85 ok sentinels in S3"
is "$(grep -c '/\.rapid/sentinels/.*\.\(running\|claim\|failed\)' ls.txt)" 0 "no other sentinel left"
emu_aws s3 cp --quiet s3://rapid-out/rt/summary/100105.txt s105.txt
is "$(cat s105.txt)" "bold 100105 REST1_LR" "a participant with a hole gathered the run it has"
run "$RAPID" plan --exit-code
is "$RC" 0 "the next plan is clean"
is "$(emu_count mismatches)" 0 "every request was signed right"

# The data grows: 100120's runs appear. Only it is submitted, as plain jobs.
emu_aws s3 cp --recursive --quiet held-back s3://hcp/HCP_1200/100120/ || exit 1
run "$RAPID" build $B --refresh
is "$RC" 0 "the next build submits"
like "$OUT" ": 2 jobs, 2 array children, 3 instances" "only 100120: 2 runs and its summary"
emu_batch_state > state.json
is "$(submits)" 4 "two more SubmitJob"
rt2=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-rapidtide-")][-1]' < state.json)
sm2=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-summary-")][-1]' < state.json)
is "$(emu_batch_job "$rt2" | emu_json '"arrayProperties" in j["submit"]')" false "a chunk of one participant is a plain job"
is "$(emu_batch_job "$sm2" | emu_json 'j["submit"]["dependsOn"]')" "{\"jobId\": \"$rt2\"}" "its summary depends on the whole of it"
is "$(emu_batch_wait "$sm2")" SUCCEEDED "and both succeed"
run "$RAPID" plan --exit-code
is "$RC" 0 "clean again"

# Two changes at once: 100101's rapidtide runs are to be redone (their ok
# sentinels gone) and the summary's recipe changes for everyone. The
# summaries that wait for nothing of this submission go in a chunk of
# their own, with no dependency: they start at once.
emu_aws s3 rm --recursive --quiet s3://rapid-out/rt/rapidtide/.rapid/sentinels/rapidtide/100101/
run "$RAPID" build $B SV=2
is "$RC" 0 "a build of both changes"
like "$OUT" ": 3 jobs, 31 array children, 32 instances" "3 jobs: 100101's runs, its summary, the other 29 summaries"
like "$OUT" "  summary chunk 0: 1 participant \\(100101\\), 1 instance, after rapidtide chunk 0" \
	"100101's summary waits for its runs"
like "$OUT" "  summary chunk 1: array of 29 participants, 29 instances
" "the 29 others wait for nothing"
emu_batch_state > state.json
is "$(submits)" 7 "three more SubmitJob"
sm29=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-summary-")][-1]' < state.json)
is "$(emu_batch_job "$sm29" | emu_json '"dependsOn" in j["submit"]')" false "(no dependsOn)"
is "$(emu_batch_wait "$sm29")" SUCCEEDED "they succeed"
is "$(emu_batch_wait "$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-summary-")][-2]' < state.json)")" \
	SUCCEEDED "and so does 100101's"
run "$RAPID" plan --exit-code SV=2
is "$RC" 0 "clean at the new summary"

# A Rapidtide upgrade: the image changes; every participant is stale.
run "$RAPID" plan IMAGE=example/rapidtide:3.2.0
like "$OUT" "image" "the plan says the image changed"
run "$RAPID" build $B IMAGE=example/rapidtide:3.2.0
is "$RC" 0 "the upgrade's build submits"
like "$OUT" ": 2 jobs, 60 array children, 88 instances" "every participant of both targets, no other"
like "$ERR" "registered job definition rd-[0-9a-f]{16} for image example/rapidtide:3.2.0" "a job definition for the new image"
emu_batch_state > state.json
rt3=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-rapidtide-")][-1]' < state.json)
sm3=$(emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-summary-")][-1]' < state.json)
is "$(emu_batch_job "$rt3" | emu_json 'j["submit"]["arrayProperties"]["size"]')" 30 "an array of 30"
like "$(emu_batch_job "$rt3" | emu_json 'j["submit"]["jobDefinition"]')" "job-definition/rd-[0-9a-f]{16}:1" "on the new definition"

# While it runs, plan shows the participants queued, and a second build submits nothing.
run "$RAPID" plan IMAGE=example/rapidtide:3.2.0
like "$OUT" "queued: job ($rt3|$sm3)" "plan: queued, with the job id"
run "$RAPID" build $B IMAGE=example/rapidtide:3.2.0
is "$RC" 0 "a second build while it runs exits 0"
like "$ERR" "nothing to submit" "and submits nothing"
emu_batch_state > state.json
is "$(submits)" 9 "(no SubmitJob)"
is "$(emu_batch_wait "$sm3")" SUCCEEDED "the upgrade's jobs succeed"
run "$RAPID" plan --exit-code IMAGE=example/rapidtide:3.2.0
is "$RC" 0 "and the plan at the new image is clean"
run "$RAPID" status IMAGE=example/rapidtide:3.2.0
like "$OUT" "rapidtide: 58 ok, 0 failed" "status counts the sentinels"
done_testing
