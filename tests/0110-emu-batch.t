#!/bin/sh
# AWS Batch in the loopback emulator, its API side: request bodies checked
# against botocore's model (a misspelt member, a bad enum, a missing
# required member, a wrong type: 400 ClientException naming it), every
# signature checked, ListJobs filters and pages (2,500 held jobs: 3 pages
# of 1,000), DescribeJobs of 100 ids, job definitions and their revisions,
# a CloudFormation stack's queue and definition taking jobs, and the
# throttling fault (429 TooManyRequestsException) that the AWS CLI retries.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
cd "$T_TMP" || exit 1

emu_start rapid-out
# bcurl PATH JSON [CURL-ARGS...]: a Batch request signed by curl; prints the
# body, then the status and the x-amzn-ErrorType's code on the last line.
bcurl() {
	_p=$1 _b=$2; shift 2
	curl -sS --aws-sigv4 aws:amz:us-east-1:batch -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H 'Content-Type: application/json' -D headers.txt --data-binary "$_b" "$@" "$EMU_URL/v1/$_p"
	printf '\n%s %s\n' "$(sed -n 's/^HTTP[^ ]* \([0-9]*\).*/\1/p' headers.txt | tail -1)" \
		"$(sed -n 's/^x-amzn-ErrorType: \([A-Za-z]*\).*/\1/ip' headers.txt)"
}
status_line() { printf '%s\n' "$1" | tail -1; }
# bq OPERATION JSON EXPR: the Python expression EXPR (emu_json) of Batch's
# answer to that request (quicker than the AWS CLI).
bq() { bcurl "$1" "$2" | sed '$d' | emu_json "$3"; }

run emu_batch '{"queue": "q"}'
is "$OUT" '{"jobQueueArn": "arn:aws:batch:us-east-1:123456789012:job-queue/q"}' "a job queue through the control API"
run emu_aws batch register-job-definition --job-definition-name jd --type container \
	--container-properties '{"image": "img:1", "command": ["sh", "-c", "exit 0"]}' --query revision --output text
is "$OUT" 1 "register-job-definition: revision 1"
emu_batch '{"hold": true}' >/dev/null

# 1. The model's checks, through curl (the AWS CLI checks before it sends).
OK_BODY='{"jobName": "j", "jobQueue": "q", "jobDefinition": "jd"}'
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "q", "jobDefinition": "jd", "containerOverides": {}}')
is "$(status_line "$out")" "400 ClientException" "a misspelt member: 400 ClientException"
like "$out" 'Unrecognized field \\"containerOverides\\"' "the message names the misspelt member"
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "q", "jobDefinition": "jd", "containerOverrides": {"comand": ["x"]}}')
like "$out" "containerOverrides\\.comand" "a misspelt nested member is named by its path"
out=$(bcurl listjobs '{"jobQueue": "q", "jobStatus": "DONE"}')
is "$(status_line "$out")" "400 ClientException" "a bad enum value: 400 ClientException"
like "$out" "Value 'DONE' at 'jobStatus' failed to satisfy constraint: Member must satisfy enum value set" \
	"the message names the member and the enum"
out=$(bcurl submitjob '{"jobName": "j", "jobDefinition": "jd"}')
is "$(status_line "$out")" "400 ClientException" "a missing required member: 400 ClientException"
like "$out" "Value null at 'jobQueue' failed to satisfy constraint: Member must not be null" "the message names it"
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "q", "jobDefinition": "jd", "arrayProperties": {"size": "5"}}')
like "$out" "at 'arrayProperties.size' failed to satisfy constraint: Member must be an integer" "a wrong type is named"
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "q", "jobDefinition": "jd", "arrayProperties": {"size": 10001}}')
like "$out" 'ClientException$' "an array size beyond 10,000: ClientException"
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "nope", "jobDefinition": "jd"}')
like "$out" 'JobQueue nope not found' "an unknown queue: ClientException"
out=$(bcurl submitjob '{"jobName": "j", "jobQueue": "q", "jobDefinition": "nope"}')
like "$out" 'JobDefinition name nope does not exist or is not in ACTIVE status' "an unknown definition"
out=$(bcurl submitjob '{"jobName": "bad name", "jobQueue": "q", "jobDefinition": "jd"}')
like "$out" 'Job name should match valid pattern' "a job name outside Batch's pattern"
out=$(bcurl submitjob "$OK_BODY")
is "$(status_line "$out")" "200 " "a valid SubmitJob: 200"
like "$out" '"jobId": "[0-9a-f-]{36}"' "it answers the job's id"
is "$(emu_batch_state | emu_json 'j["submits"]["j"]')" 8 "every SubmitJob of the name is counted, refused ones too"

# 2. Signatures: unsigned, wrongly signed, and the AWS CLI's.
out=$(curl -sS -D headers.txt --data-binary "$OK_BODY" "$EMU_URL/v1/submitjob"; \
	sed -n 's/^HTTP[^ ]* \([0-9]*\).*/\n\1/p' headers.txt)
like "$out" 'Missing Authentication Token' "unsigned: Missing Authentication Token"
like "$(status_line "$out")" '^403$' "unsigned: 403"
out=$(curl -sS --aws-sigv4 aws:amz:us-east-1:batch -u "$AWS_ACCESS_KEY_ID:wrong" -D headers.txt \
	--data-binary "$OK_BODY" "$EMU_URL/v1/submitjob")
like "$out" 'The request signature we calculated does not match' "a wrong secret: InvalidSignatureException"
is "$(emu_count mismatches)" 1 "the emulator counted one mismatch"
run emu_aws batch submit-job --job-name cli --job-queue q --job-definition jd
is "$RC" 0 "the AWS CLI's submit-job is accepted"

# 3. 2,500 held jobs: ListJobs by status, by name, in pages.
/usr/bin/python3 - <<'PY' >submitted.txt
import os
import threading
import botocore.session
s = botocore.session.get_session()
c = s.create_client('batch', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1')
done = []
def part(k):
    for i in range(k, 2500, 4):
        c.submit_job(jobName='page-%05d' % i, jobQueue='q', jobDefinition='jd')
        done.append(i)
threads = [threading.Thread(target=part, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(done))
PY
is "$(cat submitted.txt)" 2500 "2,500 jobs submitted with botocore"
lists=$(emu_count ListJobs)
run emu_aws batch list-jobs --job-queue q --filters name=JOB_NAME,values='page-*' --page-size 1000 \
	--query 'length(jobSummaryList)'
is "$OUT" 2500 "list-jobs with a JOB_NAME prefix filter lists all 2,500"
is "$(($(emu_count ListJobs) - lists))" 3 "in 3 pages of 1,000"
OUT=$(bq listjobs '{"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": ["PAGE-0001*"]}]}' 'len(j["jobSummaryList"])')
is "$OUT" 10 "a JOB_NAME filter is case-insensitive, its '*' a prefix"
OUT=$(bq listjobs '{"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": ["page-00042"]}]}' '[[x["jobName"], x["status"]] for x in j["jobSummaryList"]]')
is "$OUT" '["page-00042", "RUNNABLE"]' "a JOB_NAME filter without '*' is the exact name, any status"
OUT=$(bq listjobs '{"jobQueue": "q"}' 'len(j["jobSummaryList"])')
is "$OUT" 0 "without filters ListJobs lists RUNNING jobs only (none: they are held)"
run emu_aws batch list-jobs --job-queue q --job-status RUNNABLE --page-size 1000 --query 'length(jobSummaryList)'
is "$OUT" 2502 "--job-status RUNNABLE: every held job"
out=$(bcurl listjobs '{"jobQueue": "q", "jobStatus": "RUNNABLE"}')
is "$(printf '%s' "$out" | sed '$d' | emu_json 'len(j["jobSummaryList"])')" 100 "maxResults defaults to 100"
token=$(printf '%s' "$out" | sed '$d' | emu_json 'j["nextToken"]')
out=$(bcurl listjobs "{\"jobQueue\": \"q\", \"jobStatus\": \"RUNNABLE\", \"maxResults\": 5, \"nextToken\": \"$token\"}")
is "$(printf '%s' "$out" | sed '$d' | emu_json 'len(j["jobSummaryList"])')" 5 "a page of 5 from the token on"
out=$(bcurl listjobs '{"jobQueue": "q", "maxResults": 1001}')
like "$out" 'maxResults must be between 1 and 1000' "maxResults above 1,000: ClientException"
out=$(bcurl listjobs '{"jobQueue": "q", "nextToken": "garbage"}')
like "$out" 'Invalid nextToken' "a bad nextToken: ClientException"

# 4. DescribeJobs of 100 ids.
emu_aws batch list-jobs --job-queue q --job-status RUNNABLE --max-items 101 --query 'jobSummaryList[].jobId' \
	--output text | tr '\t' '\n' | sed '/^None$/d' >ids.txt
is "$(wc -l <ids.txt)" 101 "101 job ids"
run emu_aws batch describe-jobs --jobs $(head -100 ids.txt) --query 'length(jobs)'
is "$OUT" 100 "describe-jobs of 100 ids answers 100 jobs"
out=$(bcurl describejobs "{\"jobs\": [$(sed 's/.*/"&"/' ids.txt | paste -sd,)]}")
is "$(status_line "$out")" "400 ClientException" "101 ids: ClientException"
like "$out" 'Maximum number of jobs is 100' "saying the most is 100"
run emu_aws batch describe-jobs --jobs "$(head -1 ids.txt)" --query 'jobs[0].[status,jobQueue,jobDefinition,container.image]' --output text
is "$OUT" "RUNNABLE	arn:aws:batch:us-east-1:123456789012:job-queue/q	arn:aws:batch:us-east-1:123456789012:job-definition/jd:1	img:1" \
	"a job's status, queue, definition and image"
out=$(bcurl describejobs '{"jobs": ["no-such-job"]}')
is "$(printf '%s' "$out" | sed '$d' | emu_json 'len(j["jobs"])')" 0 "an unknown id is left out"
emu_reset
is "$(emu_batch_state | emu_json 'len(j["jobs"])')" 0 "a reset clears the jobs"
emu_batch '{"hold": true}' >/dev/null

# 5. Job definitions and their revisions.
run emu_aws batch register-job-definition --job-definition-name jd --type container \
	--container-properties '{"image": "img:2", "command": ["true"]}' --query jobDefinitionArn --output text
is "$OUT" arn:aws:batch:us-east-1:123456789012:job-definition/jd:2 "a second registration is revision 2"
run emu_aws batch describe-job-definitions --job-definition-name jd --status ACTIVE \
	--query 'jobDefinitions[].[revision,containerProperties.image,status]' --output text
is "$OUT" "1	img:1	ACTIVE
2	img:2	ACTIVE" "describe-job-definitions by name: both revisions"
OUT=$(bq describejobdefinitions '{"jobDefinitions": ["jd:1"]}' '[d["containerProperties"]["image"] for d in j["jobDefinitions"]]')
is "$OUT" img:1 "by name:revision"
OUT=$(bq describejobdefinitions '{"jobDefinitions": ["arn:aws:batch:us-east-1:123456789012:job-definition/jd:2"]}' '[d["revision"] for d in j["jobDefinitions"]]')
is "$OUT" 2 "by ARN"
id=$(emu_aws batch submit-job --job-name latest --job-queue q --job-definition jd --query jobId --output text)
run emu_aws batch describe-jobs --jobs "$id" --query 'jobs[0].[jobDefinition,container.image]' --output text
is "$OUT" "arn:aws:batch:us-east-1:123456789012:job-definition/jd:2	img:2" "a bare name submits its latest revision"
id=$(bq submitjob '{"jobName": "first", "jobQueue": "q", "jobDefinition": "jd:1"}' 'j["jobId"]')
OUT=$(bq describejobs "{\"jobs\": [\"$id\"]}" 'j["jobs"][0]["container"]["image"]')
is "$OUT" img:1 "name:1 submits revision 1"
run emu_aws batch describe-job-queues --job-queues q --query 'jobQueues[0].[jobQueueName,state,status]' --output text
is "$OUT" "q	ENABLED	VALID" "describe-job-queues"

# 6. A CloudFormation stack's queue and definition take jobs.
export RAPID_STACK_FILE=$T_TMP/stack.json RAPID_STACK_POLL_SECONDS=0.1
emu_cfn '{"step_ms": 5}' >/dev/null
printf 'inSECRET/0000+batch+test/00000000000000\n' >secret.txt
run "$RAPID" stack create --name rapid --output-bucket rapid-out --input-key-id AKIAINPUT00000000001 \
	--input-secret-stdin <secret.txt
is "$RC" 0 "rapid stack create"
run "$RAPID" stack info --cli-args
set -- $OUT
is "$1 $3" "--job-queue --job-definition" "rapid stack info --cli-args names the stack's queue and definition"
queue=$2 def=$4
OUT=$(bq describejobqueues "{\"jobQueues\": [\"$queue\"]}" 'j["jobQueues"][0]["computeEnvironmentOrder"][0]["computeEnvironment"]')
like "$OUT" '^arn:aws:batch:us-east-1:123456789012:compute-environment/' "the stack's queue is on the stack's compute environment"
run emu_aws batch describe-job-definitions --job-definitions "$def" \
	--query 'jobDefinitions[0].[status,containerProperties.command[1],retryStrategy.attempts,timeout.attemptDurationSeconds]' --output text
is "$OUT" "ACTIVE	runner	3	36000" "the stack's job definition is registered as the template says"
run emu_aws batch submit-job --job-name stackjob --job-queue "$queue" --job-definition "$def" --query jobId --output text
is "$RC" 0 "submit-job against the stack's queue and definition"
id=$OUT
run emu_aws batch describe-jobs --jobs "$id" --query 'jobs[0].[status,jobQueue,container.image,length(container.environment)]' --output text
is "$OUT" "RUNNABLE	$queue	public.ecr.aws/rapidtide/rapidtide:latest-release	7" \
	"the job is on the stack's queue with the definition's image and environment"
is "$(emu_batch_job "$id" | emu_json 'j["queue"] == "'"${queue##*/}"'"')" true "the state names the stack's queue"
run "$RAPID" stack delete
is "$RC" 0 "rapid stack delete"
OUT=$(bq describejobdefinitions "{\"jobDefinitions\": [\"$def\"]}" 'j["jobDefinitions"][0]["status"]')
is "$OUT" INACTIVE "the deleted stack's job definition is INACTIVE"
out=$(bcurl submitjob "{\"jobName\": \"late\", \"jobQueue\": \"$queue\", \"jobDefinition\": \"$def\"}")
like "$out" 'JobQueue .* not found' "its queue is gone: ClientException"

# 7. Throttling: 429 TooManyRequestsException, which the AWS CLI retries.
emu_reset
emu_batch '{"hold": true}' >/dev/null
emu_faults '{"next": ["slowdown"], "ops": ["SubmitJob"]}'
out=$(bcurl submitjob "$OK_BODY")
is "$(status_line "$out")" "429 TooManyRequestsException" "the slowdown fault on Batch: 429 TooManyRequestsException"
like "$out" '"message": "Too Many Requests"' "with AWS's message"
emu_faults '{"next": ["500"], "ops": ["SubmitJob"]}'
out=$(bcurl submitjob "$OK_BODY")
is "$(status_line "$out")" "500 ServerException" "the 500 fault: ServerException"
emu_reset
emu_faults '{"next": ["slowdown", "slowdown"], "ops": ["SubmitJob"]}'
run emu_aws batch submit-job --job-name throttled --job-queue q --job-definition jd --query jobName --output text
is "$RC $OUT" "0 throttled" "the AWS CLI retries two 429s and submits"
is "$(emu_count SubmitJob) $(emu_count faults)" "3 2" "three SubmitJob requests, two of them throttled"
is "$(emu_batch_state | emu_json 'j["submits"].get("throttled")')" 1 "the job was submitted once"
is "$(emu_count mismatches)" 0 "no signature mismatch since the reset"
emu_batch '{"release": true}' >/dev/null

done_testing
