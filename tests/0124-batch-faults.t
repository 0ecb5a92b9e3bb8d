#!/bin/sh
# The batch backend under faults: with 20% of Batch and S3 requests
# failing or throttled (the build's, and the children's), the outputs and
# sentinels are those of a fault-free run; a child whose host is
# reclaimed is retried and succeeds at attempt 2; a child whose recipe
# exits 3 is not retried, and status says "exit status 3" with its log.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"
export AWS_MAX_ATTEMPTS=12   # a request fails 12 times in a row once in 4 billion
mkdata "$W/data/HCP" 100101 100102 100103 100104 100105 100106
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1
cat > Rapidfile <<'RF'
OUT ?= s3://rapid-out/clean
FAIL ?= none
ps = 100101 100102 100103 100104 100105 100106
runs = REST1_LR REST1_RL
target rapidtide
    foreach participant in $(ps)
    foreach run in $(runs)
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output dir  = $(OUT)/rapidtide/{participant}/{run}/
    retries 2
    run sh -c 'echo "rapidtide {participant} {run}"; [ "$3" != "$(FAIL)" ] || { echo "giving up on $3" >&2; exit 3; }; mkdir -p "$2" && cat "$1" > "$2/maps.txt" && echo more > "$2/more.txt"' x {bold} {dir} {participant}
target summary
    foreach participant in $(ps)
    input  maps = rapidtide.dir
    output txt  = $(OUT)/summary/{participant}.txt
    run sh -c 'out=$1; shift; for d in "$@"; do cat "$d/maps.txt"; done > "$out"' x {txt} {maps}
RF
emu_batch '{"queue": "rq"}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"], "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]}' >/dev/null || exit 1
emu_batch "{\"slots\": 4, \"runner\": \"$RAPID\", \"job_role\": \"$EMU_AKID2\", \"env\": {\"AWS_MAX_ATTEMPTS\": \"12\"}}" >/dev/null
B="--backend batch --job-queue rq --job-definition rd"
last_job() { emu_batch_state | emu_json "[x['id'] for x in j['jobs'] if x['name'].startswith('rapid-$1-')][-1]"; }
outputs() { # ROOT: every output object's path and MD5, and the sentinels' names and states
	# (their keys differ between roots: the output URIs are in the key)
	rm -rf "$W/got-$1"
	emu_aws s3 cp --recursive --quiet "s3://rapid-out/$1/" "$W/got-$1/" --exclude '*.rapid/*' || echo "cannot copy $1"
	(cd "$W/got-$1" && find . -type f | sort | xargs md5sum)
	emu_aws s3 ls --recursive "s3://rapid-out/$1/" | awk '{print $4}' | grep '\.rapid/sentinels/' |
		sed "s|^$1/||; s|/[0-9a-f]\{32\}\.|/KEY.|" | sort
}

RAPID_POLL_S=1 run "$RAPID" build $B --wait
is "$RC" 0 "a fault-free submission, followed to its end (--wait)"
like "$ERR" "rapid: 2 jobs in flight: children [0-9]+ queued" "--wait says what is in flight"
like "$ERR" "rapid: submission ended: everything is up to date" "and how it ended"
is "$(emu_batch_job "$(last_job summary)" | emu_json 'j["status"]')" SUCCEEDED "(Batch agrees)"
outputs clean > clean.txt

emu_faults '{"rate": 0.2, "kinds": ["slowdown", "500", "reset"], "seed": 11}'
run "$RAPID" build $B OUT=s3://rapid-out/faulty
is "$RC" 0 "with 20% of requests failing, the submission succeeds"
is "$(emu_batch_wait "$(last_job summary)")" SUCCEEDED "and its children too (their requests fail as often)"
emu_faults '{}'
ok "$([ "$(emu_count faults)" -gt 10 ] && echo 0 || echo 1)" "($(emu_count faults) faults were injected)"
outputs faulty > faulty.txt
run diff clean.txt faulty.txt
is "$RC" 0 "outputs and sentinels identical to the fault-free run's"
is "$(grep -c '\.ok\.json$' faulty.txt)" 18 "(18 ok sentinels)"
is "$(emu_batch_state | emu_json 'sorted(set(j["submits"].values()))')" 1 "each job submitted once"

# A reclaimed host: the child is retried; attempt 2 succeeds.
run "$RAPID" build $B OUT=s3://rapid-out/reclaim
is "$RC" 0 "a third submission"
job=$(last_job rapidtide)
n=0
while [ "$(emu_batch_job "$job" | emu_json '[c["status"] for c in j["children"]][0]')" != RUNNING ] && [ $n -lt 600 ]; do
	sleep 0.1; n=$((n + 1))
done
emu_batch_reclaim "$job" 0 >/dev/null
is "$(emu_batch_wait "$(last_job summary)")" SUCCEEDED "after a reclaimed host the submission still succeeds"
is "$(emu_batch_job "$job" | emu_json 'len(j["children"][0]["attempts"])')" 2 "the reclaimed child took 2 attempts"
like "$(emu_batch_job "$job" | emu_json 'j["children"][0]["attempts"][0]["status_reason"]')" "^Host EC2 \\(instance i-[0-9a-f]+\\) terminated\\.$" \
	"the first ended with the host"
run "$RAPID" plan --exit-code OUT=s3://rapid-out/reclaim
is "$RC" 0 "the plan is clean"

# A recipe that exits 3: not retried; status says why, with its log.
RAPID_POLL_S=1 run "$RAPID" build $B OUT=s3://rapid-out/fails FAIL=100103 --wait
is "$RC" 1 "a fourth submission, followed: exit 1"
like "$ERR" "submission ended: 2 instances failed, [0-9]+ not built \\(rapid status says why\\)" "saying what failed"
job=$(last_job rapidtide)
is "$(emu_batch_wait "$job")" FAILED "the array fails (one child did)"
is "$(emu_batch_job "$job" | emu_json '[len(c["attempts"]) for c in j["children"] if c["status"] == "FAILED"]')" 1 \
	"the failed child was not retried (retries 2, but a recipe's failure is not the host's)"
is "$(emu_batch_wait "$(last_job summary)")" FAILED "the dependent job failed with it"
is "$(emu_batch_job "$(last_job summary)" | emu_json 'j["summary"]["SUCCEEDED"]')" 5 "(its other children succeeded)"
run "$RAPID" status OUT=s3://rapid-out/fails FAIL=100103
like "$OUT" "rapidtide: 10 ok, 2 failed" "status: 2 instances failed (both runs of the participant)"
like "$OUT" "failed \\(exit status 3\\): 2 instances" "with exit status 3"
like "$OUT" "      \\| giving up on 100103" "and the end of its log"
done_testing
