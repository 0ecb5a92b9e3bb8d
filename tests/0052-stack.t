#!/bin/sh
# rapid stack create | info | delete against the loopback emulator (every
# signature checked by botocore): non-interactively and through a
# pseudo-terminal answering the prompts, a failed create with its failing
# events, an existing name, a missing bucket, and the input secret nowhere
# it should not be.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu.sh"
emu_start rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE=$W/stack.json RAPID_STACK_POLL_SECONDS=0.1
emu_cfn '{"step_ms": 10}' >/dev/null
SECRET='inSECRET/0000+stack+test/000000000000000'
KEYID=AKIAINPUT00000000001

printf '%s\n' "$SECRET" > secret.txt
run "$RAPID" stack create --name rapid --output-bucket rapid-out --input-key-id "$KEYID" \
	--input-secret-stdin < secret.txt
is "$RC" 0 "stack create (non-interactive) succeeds"
like "$ERR" 'CREATE_COMPLETE +rapid +AWS::CloudFormation::Stack' "the stack's events are shown (on stderr: progress)"
like "$ERR" 'CREATE_COMPLETE +JobQueue +AWS::Batch::JobQueue' "resource events are shown"
is "$OUT" "stack 'rapid' is ready (remembered in $RAPID_STACK_FILE)" "the result on stdout: the stack is remembered"
cat "$T_TMP/.out" "$T_TMP/.err" > create.log
ARN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["input_secret"])' "$RAPID_STACK_FILE")
like "$ARN" '^arn:aws:secretsmanager:us-east-1:' "the remembered stack has the secret's ARN"
run emu_aws secretsmanager get-secret-value --secret-id "$ARN" --query SecretString --output text
is "$OUT" "{\"IBS3SECRET\":\"$KEYID:$SECRET\"}" "the input key is in the secret, in rapidtide-cloud's shape"

run "$RAPID" stack info
is "$RC" 0 "stack info (the remembered stack)"
like "$OUT" '^status: +CREATE_COMPLETE' "its status"
like "$OUT" 'JobQueue +arn:aws:batch:us-east-1:[0-9]+:job-queue/' "its job queue"
run "$RAPID" stack info --cli-args
is "$RC" 0 "stack info --cli-args"
like "$OUT" '^--job-queue arn:aws:batch:[^ ]+ --job-definition arn:aws:batch:[^ ]+$' \
	"--cli-args prints what aws batch submit-job takes"
cat "$T_TMP/.out" >> create.log

run "$RAPID" stack create --name rapid --output-bucket rapid-out --input-key-id "$KEYID" \
	--input-secret-stdin < secret.txt
is "$RC" 1 "creating an existing stack fails"
like "$ERR" "stack 'rapid' already exists \\(CREATE_COMPLETE\\)" "clearly"
run "$RAPID" stack create --name other --output-bucket no-such-bucket --input-key-id "$KEYID" \
	--input-secret-stdin < secret.txt
is "$RC" 1 "a missing output bucket fails"
like "$ERR" "the output bucket cannot be used: cannot head 's3://no-such-bucket/': no such bucket" "naming the bucket and the cause"
emu_bucket_region rapid-out eu-west-1 >/dev/null
run "$RAPID" stack create --name other --output-bucket rapid-out --input-key-id "$KEYID" \
	--input-secret-stdin < secret.txt
emu_bucket_region rapid-out us-east-1 >/dev/null
is "$RC" 1 "an output bucket in another region fails"
like "$ERR" "the output bucket 's3://rapid-out/' is in eu-west-1, not us-east-1" "naming both regions"
run "$RAPID" stack create --name other --output-bucket rapid-out < /dev/null
is "$RC" 1 "missing answers without a terminal fail"
like "$ERR" 'Input bucket access key id is needed \(--input-key-id\)' "naming the flag"
cat "$T_TMP/.out" "$T_TMP/.err" >> create.log

run "$RAPID" stack delete
is "$RC" 0 "stack delete (the remembered stack)"
like "$ERR" 'DELETE_COMPLETE +JobQueue' "deletion events are shown"
is "$OUT" "stack 'rapid' is deleted" "and the end"
ok "$([ ! -e "$RAPID_STACK_FILE" ]; echo $?)" "the remembered stack is forgotten"
run emu_aws secretsmanager describe-secret --secret-id "$ARN"
ok "$([ "$RC" != 0 ]; echo $?)" "the secret went with the stack"
run "$RAPID" stack delete --name rapid
is "$RC" 1 "deleting a missing stack fails"
like "$ERR" "there is no stack 'rapid' in us-east-1: nothing to delete" "with a clear message"
run "$RAPID" stack info
is "$RC" 1 "stack info without a remembered stack fails"
like "$ERR" 'no stack is remembered' "saying so"
printf '{"schema": 9' > "$RAPID_STACK_FILE"
run "$RAPID" stack info
is "$RC" 1 "a damaged remembered-stack file fails"
like "$ERR" "cannot read '$RAPID_STACK_FILE': not a remembered stack" "naming the file"
rm -f "$RAPID_STACK_FILE"
cat "$T_TMP/.out" "$T_TMP/.err" >> create.log

# A resource that fails: its event is shown, and the stack is rolled back
# and deleted so the name is free again.
emu_cfn '{"fail": "ComputeEnvironment", "reason": "Operation not permitted: iam:PassRole"}' >/dev/null
run "$RAPID" stack create --name broken --output-bucket rapid-out --input-key-id "$KEYID" \
	--input-secret-stdin < secret.txt
emu_cfn '{"fail": null}' >/dev/null
is "$RC" 1 "a failed create fails"
like "$ERR" 'CREATE_FAILED +ComputeEnvironment' "the failing event is shown as it happens"
like "$ERR" "stack 'broken' was not created \\(ROLLBACK_COMPLETE\\); what failed:" "the failure is summed up"
like "$ERR" 'ComputeEnvironment: Operation not permitted: iam:PassRole' "with the resource and its reason"
like "$ERR" 'DELETE_COMPLETE +VPC' "what was left is deleted, with its events"
unlike "$ERR" 'cannot' "and the deletion finishes without an error"
run emu_aws cloudformation describe-stacks --stack-name broken
ok "$([ "$RC" != 0 ]; echo $?)" "the rolled-back stack is deleted"
cat "$T_TMP/.out" "$T_TMP/.err" >> create.log

# Through a pseudo-terminal: the prompts, the defaults, no echo of the secret.
cat > answer.py <<'PY'
import os, pty, sys, time, select
argv, answers = sys.argv[1:2] + ["stack", "create"], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, i = b"", 0
prompts = [b"Stack name [rapid]: ", b"Output bucket (results and sentinels): ",
           b"Input bucket [hcp-openaccess]: ", b"Input bucket access key id: ",
           b"Input bucket secret access key (not shown): "]
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if i < len(answers) and out.endswith(prompts[i]):
        os.write(fd, answers[i].encode() + b"\n")
        i += 1
if time.time() >= deadline:      # stuck: do not hang the test
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
PY
/usr/bin/python3 answer.py "$RAPID" "" rapid-out "" "$KEYID" "$SECRET" > pty.out 2>&1
is "$?" 0 "stack create through a terminal, answering the prompts"
like "$(cat pty.out)" 'Input bucket \[hcp-openaccess\]: ' "it asked, with defaults"
like "$(cat pty.out)" "stack 'rapid' is ready" "and created the stack with the default name"
ok "$(! grep -qF "$SECRET" pty.out; echo $?)" "the secret was not echoed"
run emu_aws secretsmanager get-secret-value --secret-id "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["input_secret"])' "$RAPID_STACK_FILE")" --query SecretString --output text
is "$OUT" "{\"IBS3SECRET\":\"$KEYID:$SECRET\"}" "the typed secret is stored"
run "$RAPID" stack delete
is "$RC" 0 "and deleted"
cat pty.out "$T_TMP/.out" "$T_TMP/.err" >> create.log

# The secret travelled only in PutSecretValue: not in any output, the
# remembered stack, a request the emulator saw (CreateStack's parameters
# included), or the state.
emu_requests > requests.json
ok "$(grep -q CreateStack requests.json; echo $?)" "the emulator recorded the requests"
cp "$EMU_DIR/log" emu.log
for f in create.log requests.json emu.log; do
	ok "$(! grep -qF "$SECRET" "$f"; echo $?)" "the secret is not in $f"
done
ok "$(! grep -rqF "$SECRET" "$W"/.rapid "$RAPID_STACK_FILE" 2>/dev/null; echo $?)" "nor in state or the remembered stack"
ok "$(! grep -qF "$EMU_SECRET_KEY" create.log; echo $?)" "the AWS secret key is in no output"
is "$(emu_count mismatches)" 0 "zero signature mismatches"
done_testing
