#!/bin/sh
# AWS Batch in the loopback emulator, its compute environment: jobs really
# run as local processes with Batch's environment, container credentials
# and task metadata; two slots; dependsOn (N_TO_N, the whole job,
# SEQUENTIAL, a failed dependency); retries with evaluateOnExit (an exit
# code that EXITs, a reclaimed host that RETRYs); a timeout on a scaled
# clock (SIGTERM, then SIGKILL); TerminateJob of a running array; CancelJob
# of a held job; status summaries; rapid runner --exec as an array child;
# no process outlives the emulator.
# Orders are recorded by the jobs in files, never timed.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
cd "$T_TMP" || exit 1

emu_start rapid-out
OUT_DIR=$T_TMP/out
mkdir -p "$OUT_DIR"
emu_batch '{"queue": "q"}' >/dev/null
emu_batch "{\"slots\": 2, \"time_scale\": 0.01, \"env\": {\"OUT\": \"$OUT_DIR\"}}" >/dev/null
run emu_aws batch register-job-definition --job-definition-name sh --type container \
	--container-properties '{"image": "registry.test/rapid:7", "command": ["sh", "-c", "exit 0"], "environment": [{"name": "FROM_DEF", "value": "def"}, {"name": "BOTH", "value": "def"}]}'
is "$RC" 0 "a job definition running sh"
# submit NAME JSON-OVERRIDES [JSON-MEMBERS]: SubmitJob (signed by curl, quicker
# than the AWS CLI) of a job of definition sh, with those containerOverrides
# and other members ('"timeout": {...}, ...'); prints its id.
submit() {
	curl -sS --aws-sigv4 aws:amz:us-east-1:batch -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H 'Content-Type: application/json' --data-binary \
		"{\"jobName\": \"$1\", \"jobQueue\": \"q\", \"jobDefinition\": \"sh\", \"containerOverrides\": $2${3:+, $3}}" \
		"$EMU_URL/v1/submitjob" | sed -n 's/.*"jobId": "\([^"]*\)".*/\1/p'
}
# cmd SCRIPT: containerOverrides running sh -c SCRIPT.
cmd() { /usr/bin/python3 -c 'import json, sys; print(json.dumps({"command": ["sh", "-c", sys.argv[1]]}))' "$1"; }
# wait_for FILE: until FILE exists (at most 3000 polls).
wait_for() {
	_i=0
	while [ ! -e "$1" ] && [ $_i -lt 3000 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -e "$1" ]
}
# before FILE A B: line A comes before line B in FILE.
before() {
	_a=$(grep -nx -- "$2" "$1" | cut -d: -f1) _b=$(grep -nx -- "$3" "$1" | cut -d: -f1)
	[ -n "$_a" ] && [ -n "$_b" ] && [ "$_a" -lt "$_b" ]
}

# 1. An array of 5: each child's environment, credentials and metadata.
script='i=$AWS_BATCH_JOB_ARRAY_INDEX
echo "start $i" >>"$OUT/slots"
env >"$OUT/env.$i"
curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" >"$OUT/cred.$i"
curl -sf "$ECS_CONTAINER_METADATA_URI_V4" >"$OUT/ecs.$i"
echo "end $i" >>"$OUT/slots"'
over=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"command": ["sh", "-c", sys.argv[1]],
	"environment": [{"name": "FROM_OVERRIDE", "value": "over"}, {"name": "BOTH", "value": "over"}]}))' "$script")
arr=$(submit arr "$over" '"arrayProperties": {"size": 5}')
like "$arr" '^[0-9a-f-]{36}$' "an array of 5 submitted"
is "$(emu_batch_wait "$arr")" SUCCEEDED "the array SUCCEEDED"
is "$(emu_batch_job "$arr" | emu_json 'j["summary"]["SUCCEEDED"]')" 5 "every child SUCCEEDED"
envs=""
for i in 0 1 2 3 4; do
	envs="$envs$(grep -E '^(AWS_BATCH_[A-Z_]+|FROM_[A-Z]+|BOTH|AWS_ENDPOINT_URL|AWS_REGION)=' "$OUT_DIR/env.$i" | sort | tr '\n' ' ')
"
done
expected=""
for i in 0 1 2 3 4; do
	expected="${expected}AWS_BATCH_CE_NAME=emu-ce AWS_BATCH_JOB_ARRAY_INDEX=$i AWS_BATCH_JOB_ATTEMPT=1 AWS_BATCH_JOB_ID=$arr:$i AWS_BATCH_JQ_NAME=q AWS_ENDPOINT_URL=$EMU_URL AWS_REGION=us-east-1 BOTH=over FROM_DEF=def FROM_OVERRIDE=over 
"
done
is "$envs" "$expected" "each child has Batch's environment, the definition's and the overrides' (the overrides win)"
is "$(cat "$OUT_DIR"/env.* | grep -c '^AWS_ACCESS_KEY_ID=')" 0 "no child has the emulator's keys in its environment"
is "$(for i in 0 1 2 3 4; do emu_json 'j["AccessKeyId"]' <"$OUT_DIR/cred.$i"; done | sort -u)" \
	"$EMU_AKID2" "each child fetched the job role's credentials from its credentials endpoint"
is "$(for i in 0 1 2 3 4; do emu_json 'j["Image"]' <"$OUT_DIR/ecs.$i"; done | sort -u)" "registry.test/rapid:7" \
	"each child's task metadata names the definition's image"
is "$(emu_json 'j["ImageID"]' <"$OUT_DIR/ecs.0")" "sha256:$(printf '5e%.0s' $(seq 32))" "and a digest (the metadata's image_id)"
is "$(sed -n 's/^AWS_EC2_METADATA_SERVICE_ENDPOINT=//p' "$OUT_DIR/env.0")" "$EMU_URL/__emu/imds" "IMDSv2 is the emulator's"
tokens=$(cat "$OUT_DIR"/env.* | grep '^AWS_CONTAINER_AUTHORIZATION_TOKEN=' | sort -u | wc -l)
is "$tokens" 5 "each child had a token of its own"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(sed -n 's/^AWS_CONTAINER_AUTHORIZATION_TOKEN=//p' "$OUT_DIR/env.0")" \
	"$EMU_URL/__emu/container-credentials")" 401 "a finished task's token is refused"
peak=$(awk '/^start/ { n++; if (n > m) m = n } /^end/ { n-- } END { print m }' "$OUT_DIR/slots")
ok "$([ "$peak" -ge 1 ] && [ "$peak" -le 2 ]; echo $?)" "at most 2 children ran at once (2 slots; $peak seen)"
run emu_aws batch describe-jobs --jobs "$arr:3" --query 'jobs[0].[status,arrayProperties.index,container.exitCode,attempts[0].container.exitCode,container.logStreamName]' --output text
like "$OUT" "^SUCCEEDED	3	0	0	sh/default/[0-9a-f]{32}\$" "describe-jobs of a child: its index, exit code, log stream"
log=$(emu_batch_job "$arr" | emu_json 'j["children"][3]["attempts"][0]["log"]')
ok "$([ -f "$log" ]; echo $?)" "the state names each attempt's log file"
emu_batch "{\"job_role\": \"$EMU_AKID\"}" >/dev/null
id=$(submit role "$(cmd 'curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" >"$OUT/cred.role"')")
emu_batch_wait "$id" >/dev/null
is "$(emu_json 'j["AccessKeyId"]' <"$OUT_DIR/cred.role")" "$EMU_AKID" "which --cred is the job role is configurable"
emu_batch '{"job_role": null}' >/dev/null
printf '#!/bin/sh\necho "$0 $*" >"$OUT/runner"\n' >"$T_TMP/my-rapid"
chmod +x "$T_TMP/my-rapid"
emu_batch "{\"runner\": \"$T_TMP/my-rapid\", \"image_ids\": {\"registry.test/rapid:7\": \"sha256:$(printf '7%.0s' $(seq 64))\"}}" >/dev/null
id=$(submit runner '{"command": ["rapid", "runner", "--manifest", "s3://b/m.jsonl"]}')
is "$(emu_batch_wait "$id")" SUCCEEDED "a job running rapid, with a runner configured"
is "$(cat "$OUT_DIR/runner")" "$T_TMP/my-rapid runner --manifest s3://b/m.jsonl" "argv[0] rapid is the configured runner"
id=$(submit digest "$(cmd 'curl -sf "$ECS_CONTAINER_METADATA_URI_V4/task" >"$OUT/task.json"')")
emu_batch_wait "$id" >/dev/null
is "$(emu_json 'j["Containers"][0]["ImageID"]' <"$OUT_DIR/task.json")" "sha256:$(printf '7%.0s' $(seq 64))" \
	"the task metadata gives the digest configured for the image"
emu_batch '{"runner": null, "image_ids": {}}' >/dev/null

# 2. Dependencies: N_TO_N, the whole job, SEQUENTIAL, a failed one.
: >"$OUT_DIR/order"
step() { cmd "echo \"$1\$AWS_BATCH_JOB_ARRAY_INDEX start\" >>\"\$OUT/order\"; sleep 0.2; echo \"$1\$AWS_BATCH_JOB_ARRAY_INDEX end\" >>\"\$OUT/order\""; }
emu_batch '{"hold": true}' >/dev/null
a=$(submit A "$(step A)" '"arrayProperties": {"size": 3}')
b=$(submit B "$(step B)" "\"arrayProperties\": {\"size\": 3}, \"dependsOn\": [{\"jobId\": \"$a\", \"type\": \"N_TO_N\"}]")
c=$(submit C "$(step C)" "\"dependsOn\": [{\"jobId\": \"$b\"}]")
s=$(submit S "$(step S)" '"arrayProperties": {"size": 3}, "dependsOn": [{"type": "SEQUENTIAL"}]')
is "$(emu_batch_job "$a" | emu_json '[j["status"], j["summary"]["RUNNABLE"]]' | tr '\n' ' ')" "PENDING 3 " \
	"held: the array parent is PENDING, its 3 children RUNNABLE"
is "$(emu_batch_job "$b" | emu_json '[j["status"], j["summary"]["PENDING"]]' | tr '\n' ' ')" "PENDING 3 " \
	"the N_TO_N dependent's children are PENDING"
is "$(emu_batch_job "$c" | emu_json 'j["status"]')" PENDING "the whole-job dependent is PENDING"
emu_batch '{"release": true}' >/dev/null
is "$(emu_batch_wait "$c") $(emu_batch_wait "$s")" "SUCCEEDED SUCCEEDED" "the chain and the sequential array succeed"
fails=""
for i in 0 1 2; do
	before "$OUT_DIR/order" "A$i end" "B$i start" || fails="$fails B$i"
	before "$OUT_DIR/order" "B$i end" "C start" || fails="$fails C/B$i"
done
before "$OUT_DIR/order" "S0 end" "S1 start" || fails="$fails S1"
before "$OUT_DIR/order" "S1 end" "S2 start" || fails="$fails S2"
is "$fails" "" "B's child i started after A's child i ended, C after every B, S's children one after the other"
is "$(grep -c start "$OUT_DIR/order")" 10 "each of the 10 ran once"
d=$(submit D "$(cmd 'exit 1')")
e=$(submit E "$(cmd 'echo E >>"$OUT/order"')" "\"dependsOn\": [{\"jobId\": \"$d\"}]")
emu_batch_wait "$e" >/dev/null
run emu_aws batch describe-jobs --jobs "$e" --query 'jobs[0].[status,statusReason,length(attempts)]' --output text
is "$OUT" "FAILED	Dependent Job failed	0" "a failed dependency fails the dependent, which never runs"
is "$(grep -c '^E$' "$OUT_DIR/order")" 0 "E never ran"

# 3. Retries and evaluateOnExit (rapid's rules: DESIGN.md, "Submissions").
RAPID_RETRY='"retryStrategy": {"attempts": 3, "evaluateOnExit": [{"onStatusReason": "Host EC2*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}]}'
r1=$(submit R1 "$(cmd 'exit 3')" '"retryStrategy": {"attempts": 3, "evaluateOnExit": [{"onExitCode": "3", "action": "EXIT"}]}')
r3=$(submit R3 "$(cmd 'exit 1')" '"retryStrategy": {"attempts": 2}')
r4=$(submit R4 "$(cmd 'exit 5')" "$RAPID_RETRY")
emu_batch_wait "$r1" >/dev/null; emu_batch_wait "$r3" >/dev/null; emu_batch_wait "$r4" >/dev/null
run emu_aws batch describe-jobs --jobs "$r1" "$r3" "$r4" --query 'jobs[].[jobName,status,statusReason,length(attempts),container.exitCode]' --output text
is "$(printf '%s\n' "$OUT" | sort)" "R1	FAILED	Essential container in task exited	1	3
R3	FAILED	Essential container in task exited	2	1
R4	FAILED	Essential container in task exited	1	5" \
	"exit 3 with onExitCode 3 EXIT: one attempt; no rule: every attempt; rapid's rules: exit 5 is not retried"
r2=$(submit R2 "$(cmd 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then touch "$OUT/r2.started"; exec sleep 60; fi; echo "attempt $AWS_BATCH_JOB_ATTEMPT" >"$OUT/r2.done"')" \
	"$RAPID_RETRY")
wait_for "$OUT_DIR/r2.started"
ok $? "R2's first attempt is running"
emu_batch_reclaim R2
ok $? "emu_batch_reclaim R2 (by name)"
is "$(emu_batch_wait "$r2")" SUCCEEDED "the reclaimed job is retried and succeeds"
is "$(cat "$OUT_DIR/r2.done")" "attempt 2" "its second attempt ran with AWS_BATCH_JOB_ATTEMPT=2"
run emu_aws batch describe-jobs --jobs "$r2" --query 'jobs[0].attempts[0].[statusReason,container.exitCode]' --output text
is "$OUT" "Host EC2 (instance i-0123456789abcdef0) terminated.	None" "the reclaimed attempt: Host EC2 ... terminated., no exit code"
pid=$(emu_batch_job "$r2" | emu_json 'j["attempts"][0]["pid"]')
ok "$(kill -0 "$pid" 2>/dev/null; [ $? -ne 0 ]; echo $?)" "the reclaimed attempt's process is gone"

# 4. A timeout on the scaled clock: SIGTERM, SIGKILL after the grace, no retry.
t=$(submit T "$(cmd 'trap "echo term >>\"\$OUT/t\"" TERM; while :; do sleep 0.05; done')" \
	'"timeout": {"attemptDurationSeconds": 60}, "retryStrategy": {"attempts": 3}')
is "$(emu_batch_wait "$t")" FAILED "a job beyond its timeout FAILED"
run emu_aws batch describe-jobs --jobs "$t" --query 'jobs[0].[statusReason,length(attempts),attempts[0].statusReason,container.exitCode]' --output text
is "$OUT" "Job attempt duration exceeded timeout	1	Job attempt duration exceeded timeout	137" \
	"statusReason says so, it was not retried, and SIGKILL ended it"
is "$(emu_batch_job "$t" | emu_json 'j["attempts"][0]["signals"]' | tr '\n' ' ')" 'TERM KILL ' "SIGTERM first, then SIGKILL"
like "$(cat "$OUT_DIR/t" 2>/dev/null)" '^term' "the job saw the SIGTERM"

# 5. TerminateJob of a running array: every child.
x=$(submit X "$(cmd 'touch "$OUT/x.$AWS_BATCH_JOB_ARRAY_INDEX"; exec sleep 60')" '"arrayProperties": {"size": 3}')
wait_for "$OUT_DIR/x.0" && wait_for "$OUT_DIR/x.1"
ok $? "two children of X run (2 slots)"
run emu_aws batch terminate-job --job-id "$x" --reason "stop them"
is "$RC" 0 "terminate-job of the array parent"
is "$(emu_batch_wait "$x")" FAILED "the array FAILED"
is "$(emu_batch_job "$x" | emu_json 'j["statusReason"]')" "stop them" "the parent says the reason too"
run emu_aws batch describe-jobs --jobs "$x:0" "$x:1" "$x:2" --query 'jobs[].[status,statusReason,length(attempts),container.exitCode]' --output text
is "$OUT" "FAILED	stop them	1	143
FAILED	stop them	1	143
FAILED	stop them	0	None" "the running children got SIGTERM; the waiting one never started; each says the reason"
is "$(ls "$OUT_DIR" | grep -c '^x\.')" 2 "the third child never ran"
run emu_aws batch describe-jobs --jobs "$x" --query 'jobs[0].arrayProperties.[size,statusSummary.FAILED,statusSummary.SUCCEEDED]' --output text
is "$OUT" "3	3	0" "the parent's status summary"

# 6. CancelJob: a held job fails; a running one is left alone.
emu_batch '{"hold": true}' >/dev/null
h=$(submit H "$(cmd 'touch "$OUT/h"')")
is "$(emu_batch_job "$h" | emu_json 'j["status"]')" RUNNABLE "a held job is RUNNABLE"
run emu_aws batch cancel-job --job-id "$h" --reason "not now"
is "$RC" 0 "cancel-job"
emu_batch '{"release": true}' >/dev/null
is "$(emu_batch_wait "$h")" FAILED "the cancelled job FAILED"
run emu_aws batch describe-jobs --jobs "$h" --query 'jobs[0].[statusReason,length(attempts)]' --output text
is "$OUT" "not now	0" "with the reason, never started"
l=$(submit L "$(cmd 'touch "$OUT/l"; exec sleep 60')")
wait_for "$OUT_DIR/l"
run emu_aws batch cancel-job --job-id "$l" --reason "too late"
is "$(emu_batch_job "$l" | emu_json 'j["status"]')" RUNNING "cancel-job leaves a RUNNING job running"

# 7. rapid runner --exec as an array child: its participant from the output
# bucket's config/, read with the job role's credentials.
printf 'p100\np200\np300\n' >parts.txt
emu_aws s3 cp --only-show-errors parts.txt s3://rapid-out/config/participants.txt
emu_batch "{\"runner\": \"$RAPID\", \"slots\": 3}" >/dev/null
run emu_aws batch register-job-definition --job-definition-name rapid --type container \
	--container-properties '{"image": "img:1", "command": ["rapid", "runner"], "environment": [{"name": "OUTPUT_BUCKET", "value": "rapid-out"}, {"name": "PARTICIPANT_ARRAY_FILE", "value": "participants.txt"}]}'
before_gets=$(emu_requests_count "Credential=$EMU_AKID2/")
id=$(emu_aws batch submit-job --job-name runner --job-queue q --job-definition rapid --array-properties size=3 \
	--container-overrides '{"command": ["rapid", "runner", "--exec", "sh", "-c", "echo $PARTICIPANT_FROM_ARRAY >\"$OUT/p.$AWS_BATCH_JOB_ARRAY_INDEX\""]}' \
	--query jobId --output text)
is "$(emu_batch_wait "$id")" SUCCEEDED "rapid runner --exec as the children of an array"
is "$(cat "$OUT_DIR/p.0" "$OUT_DIR/p.1" "$OUT_DIR/p.2" | tr '\n' ' ')" "p100 p200 p300 " "each child ran with its participant"
ok "$([ $(($(emu_requests_count "Credential=$EMU_AKID2/") - before_gets)) -ge 3 ]; echo $?)" \
	"the runner read S3 with the job role's container credentials"
emu_batch '{"runner": null, "slots": 2}' >/dev/null

# 8. Nothing outlives the emulator.
lpid=$(emu_batch_job "$l" | emu_json 'j["attempts"][0]["pid"]')
ok "$(kill -0 "$lpid"; echo $?)" "L's process runs"
emu_stop
ok "$(kill -0 "$lpid" 2>/dev/null; [ $? -ne 0 ]; echo $?)" "stopping the emulator kills its running jobs"

done_testing
