#!/bin/sh
# ABCD's scale: 12,000 participants plan and submit (the children held,
# never run) with the emulator counting requests: 2 chunks of 6,000, 2
# SubmitJob, 3 listings (inputs cached: as ABCD's inputs are after the
# first plan), no request per participant; then a status refresh costs 3
# requests.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start abcd rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"
/usr/bin/python3 -c 'import json
print(json.dumps({"bucket": "abcd", "keys": ["ABCD/%06d/bold.nii.gz" % i for i in range(1, 12001)], "body": "bold"}))' > seed.json
curl -sS -X POST --data-binary @seed.json "$EMU_URL/__emu/seed" >/dev/null || exit 1
seq -f '%06g' 1 12000 > participants.txt
cat > Rapidfile <<'RF'
participants = file(participants.txt)
target rapidtide
    foreach participant in $(participants)
    input  bold = s3://abcd/ABCD/{participant}/bold.nii.gz
    output dir  = s3://rapid-out/abcd/{participant}/
    memory 62000
    vcpus  8
    timeout 10h
    run rapidtide {bold} {dir}sub-{participant} --passes 3
RF
emu_batch '{"queue": "rq", "hold": true}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"], "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]}' >/dev/null || exit 1
run "$RAPID" plan   # the inputs' fingerprints cached (12,000 HEADs, once)
is "$RC" 0 "a first plan"
emu_reset   # counters from zero (and Batch empty: the queue again)
emu_batch '{"queue": "rq", "hold": true}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"]}' >/dev/null || exit 1
emu_counters > before.json
run "$RAPID" build --backend batch --job-queue rq --job-definition rd
is "$RC" 0 "12,000 participants submitted"
like "$OUT" ": 2 jobs, 12000 array children, 12000 instances" "in 2 jobs"
like "$OUT" "rapidtide chunk 0: array of 6000 participants, 6000 instances, 8 vcpus, 62000 MiB" "chunk 0: 6,000"
like "$OUT" "rapidtide chunk 1: array of 6000 participants" "chunk 1: 6,000"
emu_counters > after.json
/usr/bin/python3 -c 'import json
a, b = json.load(open("after.json")), json.load(open("before.json"))
print(json.dumps({k: v - b.get(k, 0) for k, v in a.items() if isinstance(v, int)}))' > counters.json
count() { emu_json "j.get('$1', 0)" < counters.json; }
is "$(count SubmitJob)" 2 "2 SubmitJob"
is "$(count ListObjectsV2)" 3 "3 listings: the sentinels, the submissions before and under the lock"
is "$(count HeadObject)" 0 "no HEAD of any input"
is "$(count GetObject)" 0 "no GET"
is "$(count PutObject)" 14 "14 PUTs: the lock, submission.json, 4 files of each chunk, 2 markers and 2 jobs.json"
is "$(count DeleteObject)" 1 "1 DELETE: the lock"
total=$(emu_json 'sum(v for k, v in j.items() if k[0].isupper())' < counters.json)
echo "# the build's requests: $total for 12,000 participants"
ok "$([ "$total" -le 40 ] && echo 0 || echo 1)" "at most 40 requests in all ($total)"
size=$(emu_batch_state | emu_json '[x["submit"]["arrayProperties"]["size"] for x in j["jobs"]]')
is "$size" "6000
6000" "the SubmitJob bodies: arrays of 6,000 and 6,000"
is "$(emu_batch_state | emu_json 'j["jobs"][0]["submit"]["timeout"]["attemptDurationSeconds"]')" 36000 "timeout 10h"
is "$(emu_batch_state | emu_json 'j["jobs"][0]["submit"]["containerOverrides"]["resourceRequirements"]')" \
	'{"type": "VCPU", "value": "8"}
{"type": "MEMORY", "value": "62000"}' "vcpus and memory as resourceRequirements"

run "$RAPID" plan
like "$OUT" "queued: job" "plan: queued"
emu_counters > before.json
run "$RAPID" status
is "$RC" 0 "status"
like "$OUT" "rapidtide chunk 0: PENDING, array of 6000: 6000 RUNNABLE" "status: chunk 0's children by Batch state"
emu_counters > after.json
/usr/bin/python3 -c 'import json
a, b = json.load(open("after.json")), json.load(open("before.json"))
print(json.dumps({k: v - b.get(k, 0) for k, v in a.items() if isinstance(v, int)}))' > counters.json
total=$(emu_json 'sum(v for k, v in j.items() if k[0].isupper())' < counters.json)
echo "# status: $(cat counters.json)"
is "$total" 3 "a status refresh: 3 requests (the sentinels, the submissions, one DescribeJobs)"
done_testing
