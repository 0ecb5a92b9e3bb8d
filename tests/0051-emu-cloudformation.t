#!/bin/sh
# The loopback emulator's CloudFormation (tests/emu/awsemu/cloudformation.py), driven by
# Debian's aws and by curl --aws-sigv4 (whose raw XML is what rapid's C
# client parses): template checks, the simulated creation and its events in
# dependency order, outputs from the template's intrinsics, the stack's
# secret in Secrets Manager, deletion, an injected failure rolled back,
# event paging, the request log that proves where a secret did not go, and
# the S3 bucket checks `rapid stack create` makes.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
cd "$T_TMP" || exit 1

# cfn ACTION [NAME=VALUE | NAME@FILE]...: a signed CloudFormation call; its
# XML answer, then its HTTP status on a line of its own.
cfn() {
	_cfn_action=$1
	shift
	_cfn_n=$#
	for _cfn_p in "$@"; do set -- "$@" --data-urlencode "$_cfn_p"; done
	shift "$_cfn_n"
	curl -sS --aws-sigv4 aws:amz:us-east-1:cloudformation -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-d "Action=$_cfn_action&Version=2010-05-15" "$@" -w '\n%{http_code}' "$EMU_URL/"
}
# sm ACTION JSON: a signed Secrets Manager call; its JSON answer.
sm() {
	curl -sS --aws-sigv4 aws:amz:us-east-1:secretsmanager -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "X-Amz-Target: secretsmanager.$1" -H 'Content-Type: application/x-amz-json-1.1' -d "$2" "$EMU_URL/"
}
# scurl CURL-ARGS...: a signed S3 call.
scurl() {
	curl -sS --aws-sigv4 aws:amz:us-east-1:s3 -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
# status STACK: its StackStatus, or GONE when DescribeStacks says it does not exist.
status() {
	_st=$(cfn DescribeStacks "StackName=$1")
	case $_st in
	*'<Code>ValidationError</Code>'*'does not exist'*) echo GONE ;;
	*) printf '%s\n' "$_st" | sed -n 's:.*<StackStatus>\(.*\)</StackStatus>.*:\1:p' ;;
	esac
}
# settle STACK: wait (20 s at most) until it is no longer *_IN_PROGRESS; print its status.
settle() {
	_i=0
	while :; do
		_s=$(status "$1")
		case $_s in
		*_IN_PROGRESS) ;;
		*) echo "$_s"; return ;;
		esac
		if [ $_i -ge 400 ]; then echo "$_s (still, after 20 s)"; return; fi
		sleep 0.05
		_i=$((_i + 1))
	done
}
# events STACK: its events (one page), oldest first: "LogicalId STATUS[: reason]".
events() {
	cfn DescribeStackEvents "StackName=$1" | awk '
		/<LogicalResourceId>/ { sub(/.*<LogicalResourceId>/, ""); sub(/<\/LogicalResourceId>.*/, ""); id = $0 }
		/<ResourceStatus>/ { sub(/.*<ResourceStatus>/, ""); sub(/<\/ResourceStatus>.*/, ""); st = $0 }
		/<ResourceStatusReason>/ { sub(/.*<ResourceStatusReason>/, ""); sub(/<\/ResourceStatusReason>.*/, ""); why = $0 }
		/<\/member>/ { print id " " st (why != "" ? ": " why : ""); id = st = why = "" }' | tac
}
# held_events STACK N: its events (as events prints them) once the steps
# are held, N steps have been taken since the emulator started and a stack
# waits for the next (20 s at most).
held_events() {
	_i=0
	while ! emu_cfn_state | grep -q "\"steps_done\": $2, \"waiting\": [1-9]" && [ $_i -lt 400 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	events "$1"
}
# field XML TAG: the text of the first <TAG> element on a line of its own.
field() { printf '%s\n' "$1" | sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" | head -n 1; }

# A small stack of the kinds rapid's has: a named IAM role, a secret, a
# compute environment, a job queue and a job definition, written out of
# dependency order, with conditions and the intrinsics outputs use.
cat >t.yaml <<'EOF'
AWSTemplateFormatVersion: 2010-09-09
Description: emu test stack
Parameters:
  OutputBucket:
    Type: String
    AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'
  BatchType:
    Type: String
    Default: EC2
    AllowedValues: [EC2, SPOT]
  Canary:
    Type: String
    Default: none
    NoEcho: true
Conditions:
  UseSpot: !Equals [!Ref BatchType, SPOT]
Resources:
  Queue:
    Type: AWS::Batch::JobQueue
    Properties:
      JobQueueName: !Sub '${AWS::StackName}-queue'
      Priority: 1
      ComputeEnvironmentOrder:
        - Order: 1
          ComputeEnvironment: !Ref Env
  JobDef:
    Type: AWS::Batch::JobDefinition
    Properties:
      Type: container
      ContainerProperties:
        JobRoleArn: !GetAtt JobRole.Arn
        Environment:
          - Name: SECRET_ARN
            Value: !Ref Secret
  Env:
    Type: AWS::Batch::ComputeEnvironment
    DependsOn: JobRole
    Properties:
      Type: MANAGED
      ComputeResources:
        Type: !If [UseSpot, SPOT, EC2]
        Subnets: [!Select [0, !GetAZs '']]
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '${AWS::StackName}-job'
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement:
          - {Effect: Allow, Principal: {Service: ecs-tasks.amazonaws.com}, Action: 'sts:AssumeRole'}
      Policies:
        - PolicyName: secret
          PolicyDocument:
            Version: 2012-10-17
            Statement:
              - {Effect: Allow, Action: 'secretsmanager:GetSecretValue', Resource: !Ref Secret}
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Description: !Sub 'input key for ${AWS::StackName}'
Outputs:
  JobQueue:
    Value: !Ref Queue
    Export: {Name: !Sub '${AWS::StackName}-JobQueue'}
  JobRoleArn:
    Description: the job role
    Value: !GetAtt JobRole.Arn
  Where:
    Value: !Sub 's3://${OutputBucket}/${AWS::Region}/${AWS::AccountId}'
  Secret:
    Value: !Ref Secret
  Capacity:
    Value: !Join ['-', [!If [UseSpot, spot, ondemand], !Select [1, !GetAZs '']]]
EOF
CANARY='canary/with+plus and=equals'
SECRET='{"IBS3SECRET":"AKIAINPUT0000000000:in/SECRET+value0000"}'
SECRET_PART='in/SECRET+value0000'

emu_start bkt far

# 1. ValidateTemplate, and what CreateStack refuses before it starts.
run emu_aws cloudformation validate-template --template-body file://t.yaml \
	--query '[Capabilities[0], CapabilitiesReason, join(`,`, Parameters[].ParameterKey)]' --output text
is "$OUT" "$(printf 'CAPABILITY_NAMED_IAM\tThe following resource(s) require capabilities: [AWS::IAM::Role]\tOutputBucket,BatchType,Canary')" \
	"validate-template: the capability a named role needs, the parameters"
printf 'Resources:\n  A: [unclosed\n' >bad.yaml
run cfn ValidateTemplate TemplateBody@bad.yaml
like "$OUT" '<Code>ValidationError</Code>' "malformed YAML: ValidationError"
like "$OUT" '<Message>Template format error: YAML not well-formed. \(line 3, column 1\)</Message>' "with where"
like "$OUT" '^400$' "status 400"
run cfn ValidateTemplate 'TemplateBody={"Resources": {"A": {"Type": "AWS::SSM::Parameter", "Properties": {"Value": {"Ref": "Nope"}}}}}'
like "$OUT" '<Message>Template format error: Unresolved resource dependencies \[Nope\] in the Resources block of the template</Message>' \
	"a JSON template's Ref to nothing: ValidationError"
run emu_aws cloudformation create-stack --stack-name emu-stack --template-body file://t.yaml \
	--parameters ParameterKey=OutputBucket,ParameterValue=bkt
like "$ERR" 'InsufficientCapabilitiesException.*Requires capabilities : \[CAPABILITY_NAMED_IAM\]' \
	"create-stack without the capability: InsufficientCapabilitiesException"
run cfn CreateStack StackName=emu-stack TemplateBody@t.yaml Capabilities.member.1=CAPABILITY_NAMED_IAM
like "$OUT" '<Message>Parameters: \[OutputBucket\] must have values</Message>' "a required parameter missing: ValidationError"
run cfn CreateStack StackName=emu-stack TemplateBody@t.yaml Capabilities.member.1=CAPABILITY_NAMED_IAM \
	Parameters.member.1.ParameterKey=OutputBucket Parameters.member.1.ParameterValue=bkt \
	Parameters.member.2.ParameterKey=BatchType Parameters.member.2.ParameterValue=GPU
like "$OUT" "<Message>Parameter 'BatchType' must be one of AllowedValues</Message>" "a value not allowed: ValidationError"
run cfn CreateStack StackName=bad_name TemplateBody@t.yaml
like "$OUT" "<Message>1 validation error detected: Value 'bad_name' at 'stackName' failed to satisfy constraint" "a bad stack name: ValidationError"
{ cat t.yaml; i=0; while [ $i -lt 1300 ]; do echo "# padding the template past 51,200 bytes"; i=$((i + 1)); done; } >huge.yaml
run cfn CreateStack StackName=emu-stack TemplateBody@huge.yaml
like "$OUT" 'Member must have length less than or equal to 51200' "a TemplateBody over 51,200 bytes: ValidationError"
scurl -o /dev/null -T t.yaml "$EMU_URL/bkt/templates/t.yaml"
run cfn ValidateTemplate "TemplateURL=https://bkt.s3.amazonaws.com/templates/t.yaml"
like "$OUT" '<member>CAPABILITY_NAMED_IAM</member>' "a TemplateURL is read from the emulated S3"
is "$(status emu-stack)" GONE "nothing was created"

# 2. Creation, played resource by resource. The steps are held, so that
# the stack is seen in progress however slow the machine.
emu_cfn '{"step_ms": 60, "hold": true}' >/dev/null
run emu_aws cloudformation create-stack --stack-name emu-stack --template-body file://t.yaml \
	--parameters ParameterKey=OutputBucket,ParameterValue=bkt "ParameterKey=Canary,ParameterValue=$CANARY" \
	--capabilities CAPABILITY_NAMED_IAM --tags Key=team,Value=rapid --query StackId --output text
like "$OUT" '^arn:aws:cloudformation:us-east-1:123456789012:stack/emu-stack/[0-9a-f-]{36}$' "create-stack returns the stack's ARN"
STACK_ID=$OUT
run cfn DescribeStacks StackName=emu-stack
is "$(field "$OUT" StackStatus)" CREATE_IN_PROGRESS "right after, the stack is CREATE_IN_PROGRESS"
unlike "$OUT" '<Outputs>' "without outputs yet"
is "$(held_events emu-stack 0)" "emu-stack CREATE_IN_PROGRESS: User Initiated
Secret CREATE_IN_PROGRESS
Secret CREATE_IN_PROGRESS: Resource creation Initiated" "held: the first resource waits before its step"
emu_cfn '{"steps": 1}' >/dev/null
is "$(held_events emu-stack 1)" "emu-stack CREATE_IN_PROGRESS: User Initiated
Secret CREATE_IN_PROGRESS
Secret CREATE_IN_PROGRESS: Resource creation Initiated
Secret CREATE_COMPLETE
JobRole CREATE_IN_PROGRESS
JobRole CREATE_IN_PROGRESS: Resource creation Initiated" "one step let go: one resource more, and the next waits"
is "$(status emu-stack)" CREATE_IN_PROGRESS "still CREATE_IN_PROGRESS"
like "$(emu_cfn_state)" '"hold": true, .*"steps": 0, "steps_done": 1, "waiting": 1}$' "the state shows the hold, the steps taken and the stack waiting"
emu_cfn '{"hold": false}' >/dev/null
run emu_cfn '{"steps": 1}'
like "$RC $ERR" '^1 .*steps.* lets held steps go: hold them first' "steps without a hold: refused"
is "$(settle emu-stack)" CREATE_COMPLETE "the hold lifted: then CREATE_COMPLETE"
run emu_aws cloudformation wait stack-create-complete --stack-name emu-stack
is "$RC" 0 "aws cloudformation wait stack-create-complete agrees"
run emu_aws cloudformation describe-stacks --stack-name emu-stack --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
is "$(printf '%s\n' "$OUT" | sed 's/secret:Secret-[A-Za-z0-9]\{12\}-[A-Za-z]\{6\}$/secret:Secret-RANDOM-SUFFIX/')" "$(printf '%s\t%s\n' \
	JobQueue arn:aws:batch:us-east-1:123456789012:job-queue/emu-stack-queue \
	JobRoleArn arn:aws:iam::123456789012:role/emu-stack-job \
	Where s3://bkt/us-east-1/123456789012 \
	Secret arn:aws:secretsmanager:us-east-1:123456789012:secret:Secret-RANDOM-SUFFIX \
	Capacity ondemand-us-east-1b)" \
	"outputs: !Ref, !GetAtt, !Sub with parameters and pseudo parameters, !Join/!If/!Select/!GetAZs"
SECRET_ARN=$(printf '%s\n' "$OUT" | sed -n 's/^Secret\t//p')
run cfn DescribeStacks StackName=emu-stack
like "$OUT" '^<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">$' "raw: CloudFormation's namespace"
like "$OUT" '^  <DescribeStacksResult>$' "raw: <DescribeStacksResult>"
like "$OUT" '^        <StackStatus>CREATE_COMPLETE</StackStatus>$' "raw: <Stacks><member><StackStatus>"
like "$OUT" '^        <CreationTime>20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z</CreationTime>$' "raw: <CreationTime> in ISO 8601"
like "$OUT" '^            <ExportName>emu-stack-JobQueue</ExportName>$' "raw: <Outputs><member><ExportName>"
like "$OUT" '^            <Description>the job role</Description>$' "raw: an output's <Description>"
like "$OUT" '^            <ParameterValue>\*\*\*\*</ParameterValue>$' "raw: a NoEcho parameter shows as ****"
like "$OUT" '^            <Key>team</Key>$' "raw: the tags"
like "$OUT" '^    <RequestId>[0-9A-F]+</RequestId>$' "raw: <ResponseMetadata><RequestId>"
run emu_aws cloudformation describe-stack-events --stack-name emu-stack \
	--query 'reverse(StackEvents)[?ResourceStatus==`CREATE_COMPLETE`].LogicalResourceId' --output text
is "$(printf '%s' "$OUT" | tr '\t' ' ')" "Secret JobRole JobDef Env Queue emu-stack" \
	"describe-stack-events: resources created in dependency order (DependsOn, Ref, GetAtt), then the stack"
is "$(events emu-stack)" "emu-stack CREATE_IN_PROGRESS: User Initiated
Secret CREATE_IN_PROGRESS
Secret CREATE_IN_PROGRESS: Resource creation Initiated
Secret CREATE_COMPLETE
JobRole CREATE_IN_PROGRESS
JobRole CREATE_IN_PROGRESS: Resource creation Initiated
JobRole CREATE_COMPLETE
JobDef CREATE_IN_PROGRESS
JobDef CREATE_IN_PROGRESS: Resource creation Initiated
JobDef CREATE_COMPLETE
Env CREATE_IN_PROGRESS
Env CREATE_IN_PROGRESS: Resource creation Initiated
Env CREATE_COMPLETE
Queue CREATE_IN_PROGRESS
Queue CREATE_IN_PROGRESS: Resource creation Initiated
Queue CREATE_COMPLETE
emu-stack CREATE_COMPLETE" "raw events: three per resource, between the stack's own two"
run cfn DescribeStackEvents StackName=emu-stack
is "$(field "$OUT" LogicalResourceId) $(field "$OUT" ResourceStatus)" "emu-stack CREATE_COMPLETE" "raw: newest first"
like "$OUT" '^        <EventId>Queue-CREATE_COMPLETE-20[0-9T:.-]+Z</EventId>$' "raw: resource EventIds name the resource, status and time"
like "$OUT" '^        <PhysicalResourceId>arn:aws:batch:us-east-1:123456789012:job-queue/emu-stack-queue</PhysicalResourceId>$' \
	"raw: <PhysicalResourceId>"
like "$OUT" '^        <ResourceType>AWS::Batch::JobQueue</ResourceType>$' "raw: <ResourceType>"
run cfn DescribeStackResources StackName=emu-stack
is "$(printf '%s\n' "$OUT" | grep -c '<ResourceStatus>CREATE_COMPLETE</ResourceStatus>')" 5 "DescribeStackResources: five resources, complete"

# 3. The secret resource is a real (empty) secret.
run sm DescribeSecret "{\"SecretId\": \"$SECRET_ARN\"}"
like "$OUT" '"Name": "Secret-[A-Za-z0-9]{12}"' "the stack's secret exists in Secrets Manager, under a generated name"
like "$OUT" '"Description": "input key for emu-stack"' "with the template's (evaluated) description"
run emu_aws secretsmanager get-secret-value --secret-id "$SECRET_ARN"
like "$ERR" "ResourceNotFoundException.*Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" \
	"it has no value yet: ResourceNotFoundException"
run emu_aws secretsmanager put-secret-value --secret-id "$SECRET_ARN" --secret-string "$SECRET" --query ARN --output text
is "$OUT" "$SECRET_ARN" "put-secret-value on the output ARN"
run emu_aws secretsmanager get-secret-value --secret-id "$SECRET_ARN" --query SecretString --output text
is "$OUT" "$SECRET" "get-secret-value reads it back"

# 4. Names taken and stacks missing.
run emu_aws cloudformation create-stack --stack-name emu-stack --template-body file://t.yaml \
	--parameters ParameterKey=OutputBucket,ParameterValue=bkt --capabilities CAPABILITY_NAMED_IAM
like "$ERR" 'AlreadyExistsException.*Stack \[emu-stack\] already exists' "an existing name: AlreadyExistsException"
run emu_aws cloudformation describe-stacks --stack-name no-such-stack
like "$ERR" 'ValidationError.*Stack with id no-such-stack does not exist' "a missing stack: ValidationError"
run cfn DescribeStackEvents StackName=no-such-stack
like "$OUT" '<Message>Stack \[no-such-stack\] does not exist</Message>' "events of a missing stack: ValidationError"

# 5. The request log: where the secret and the canary travelled.
is "$(emu_requests_count "$SECRET_PART")" 0 "the secret is in no logged request (PutSecretValue's value is not kept)"
run curl -sS "$EMU_URL/__emu/requests?op=PutSecretValue"
like "$OUT" '^\{"count": 1, ' "PutSecretValue was logged"
like "$OUT" '"SecretString\\": \\"\(not kept by emu\)\\"' "with its value replaced"
emu_requests >requests.json
ok "$(! grep -qF "$SECRET_PART" requests.json; echo $?)" "emu_requests prints no secret value"
like "$(emu_requests "$CANARY")" '"op": "CreateStack"' "a value sent as a (NoEcho) CreateStack parameter is found there"
is "$(emu_requests_count "$CANARY")" 1 "in exactly that request (sent percent-encoded, found decoded)"

# 6. Deletion, dependents first (held, to be seen in progress).
emu_cfn '{"hold": true}' >/dev/null
run emu_aws cloudformation delete-stack --stack-name emu-stack
is "$RC" 0 "delete-stack"
is "$(status emu-stack)" DELETE_IN_PROGRESS "right after, DELETE_IN_PROGRESS"
emu_cfn '{"hold": false}' >/dev/null
is "$(settle emu-stack)" GONE "then DescribeStacks by name says it does not exist"
run emu_aws cloudformation wait stack-delete-complete --stack-name emu-stack
is "$RC" 0 "aws cloudformation wait stack-delete-complete agrees"
is "$(events "$STACK_ID" | tail -n 12)" "emu-stack DELETE_IN_PROGRESS: User Initiated
Queue DELETE_IN_PROGRESS
Queue DELETE_COMPLETE
Env DELETE_IN_PROGRESS
Env DELETE_COMPLETE
JobDef DELETE_IN_PROGRESS
JobDef DELETE_COMPLETE
JobRole DELETE_IN_PROGRESS
JobRole DELETE_COMPLETE
Secret DELETE_IN_PROGRESS
Secret DELETE_COMPLETE
emu-stack DELETE_COMPLETE" "the events (by stack id): resources deleted in reverse order"
run cfn DescribeStacks "StackName=$STACK_ID"
is "$(field "$OUT" StackStatus)" DELETE_COMPLETE "by stack id it is DELETE_COMPLETE"
like "$OUT" '<DeletionTime>20' "with a <DeletionTime>"
like "$(sm DescribeSecret "{\"SecretId\": \"$SECRET_ARN\"}")" 'ResourceNotFoundException' "the secret went with the stack"
run emu_aws cloudformation delete-stack --stack-name emu-stack
is "$RC" 0 "deleting a missing stack succeeds, as in AWS"

# 7. An injected failure, rolled back.
emu_cfn '{"step_ms": 10, "fail": "Env", "reason": "Resource handler returned message: no capacity (HandlerErrorCode: ServiceLimitExceeded)"}' >/dev/null
run cfn CreateStack StackName=emu-fail TemplateBody@t.yaml Capabilities.member.1=CAPABILITY_NAMED_IAM \
	Parameters.member.1.ParameterKey=OutputBucket Parameters.member.1.ParameterValue=bkt
like "$OUT" '^200$' "raw CreateStack"
is "$(settle emu-fail)" ROLLBACK_COMPLETE "the failed stack rolls back: ROLLBACK_COMPLETE"
run emu_aws cloudformation wait stack-create-complete --stack-name emu-fail
like "$RC $(printf '%s' "$ERR" | tr '\n' ' ')" '^255 .*terminal failure state.*ROLLBACK_COMPLETE' \
	"aws cloudformation wait stack-create-complete fails"
run emu_aws cloudformation describe-stack-events --stack-name emu-fail \
	--query 'StackEvents[?ResourceStatus==`CREATE_FAILED`].[LogicalResourceId,ResourceStatusReason]' --output text
is "$OUT" "$(printf 'Env\tResource handler returned message: no capacity (HandlerErrorCode: ServiceLimitExceeded)')" \
	"the CREATE_FAILED event carries the reason"
is "$(events emu-fail | tail -n 12)" "Env CREATE_IN_PROGRESS
Env CREATE_FAILED: Resource handler returned message: no capacity (HandlerErrorCode: ServiceLimitExceeded)
emu-fail ROLLBACK_IN_PROGRESS: The following resource(s) failed to create: [Env]. Rollback requested by user.
Env DELETE_IN_PROGRESS
Env DELETE_COMPLETE
JobDef DELETE_IN_PROGRESS
JobDef DELETE_COMPLETE
JobRole DELETE_IN_PROGRESS
JobRole DELETE_COMPLETE
Secret DELETE_IN_PROGRESS
Secret DELETE_COMPLETE
emu-fail ROLLBACK_COMPLETE" "then ROLLBACK_IN_PROGRESS, what was created deleted in reverse, ROLLBACK_COMPLETE"
unlike "$(events emu-fail)" '^Queue' "what came after the failure never started"
run cfn DescribeStackResources StackName=emu-fail LogicalResourceId=Secret
FAILED_SECRET=$(field "$OUT" PhysicalResourceId)
like "$FAILED_SECRET" '^arn:aws:secretsmanager:' "the rolled-back stack had created its secret"
like "$(sm DescribeSecret "{\"SecretId\": \"$FAILED_SECRET\"}")" 'ResourceNotFoundException' "and the rollback deleted it"
like "$(emu_cfn_state)" '"fail": null' "an injected failure fires once"
run cfn CreateStack StackName=emu-fail TemplateBody@t.yaml Capabilities.member.1=CAPABILITY_NAMED_IAM \
	Parameters.member.1.ParameterKey=OutputBucket Parameters.member.1.ParameterValue=bkt
like "$OUT" '<Code>AlreadyExistsException</Code>' "a ROLLBACK_COMPLETE stack keeps its name, as in AWS"
cfn DeleteStack StackName=emu-fail >/dev/null
is "$(settle emu-fail)" GONE "until it is deleted"

# 8. An injected deletion failure.
emu_cfn '{"step_ms": 5, "fail_delete": "JobRole", "reason": "role in use"}' >/dev/null
cfn CreateStack StackName=emu-df TemplateBody@t.yaml Capabilities.member.1=CAPABILITY_NAMED_IAM \
	Parameters.member.1.ParameterKey=OutputBucket Parameters.member.1.ParameterValue=bkt >/dev/null
settle emu-df >/dev/null
cfn DeleteStack StackName=emu-df >/dev/null
is "$(settle emu-df)" DELETE_FAILED "a resource that fails to delete: DELETE_FAILED"
is "$(events emu-df | tail -n 2)" "JobRole DELETE_FAILED: role in use
emu-df DELETE_FAILED: The following resource(s) failed to delete: [JobRole]. " "with its event and reason"
cfn DeleteStack StackName=emu-df >/dev/null
is "$(settle emu-df)" GONE "deleting again finishes the job"

# 9. Events come in pages of 100, newest first.
emu_cfn '{"step_ms": 0}' >/dev/null
{ echo 'Resources:'; i=1; while [ $i -le 40 ]; do echo "  P$i: {Type: AWS::SSM::Parameter, Properties: {Type: String, Value: v$i}}"; i=$((i + 1)); done; } >big.yaml
cfn CreateStack StackName=emu-big TemplateBody@big.yaml >/dev/null
is "$(settle emu-big)" CREATE_COMPLETE "a stack of 40 resources (122 events)"
# ends PAGE: the first and last events of a page, "LogicalId STATUS".
ends() {
	printf '%s\n' "$1" | sed -n 's:.*<LogicalResourceId>\(.*\)</LogicalResourceId>:\1:p' >ends.ids
	printf '%s\n' "$1" | sed -n 's:.*<ResourceStatus>\(.*\)</ResourceStatus>:\1:p' | paste -d ' ' ends.ids - | sed -n '1p;$p'
}
run cfn DescribeStackEvents StackName=emu-big
TOKEN=$(field "$OUT" NextToken)
is "$(printf '%s\n' "$OUT" | grep -c '^      <member>$') $([ -n "$TOKEN" ]; echo $?)" "100 0" "the first page: 100 events and a <NextToken>"
is "$(ends "$OUT")" "emu-big CREATE_COMPLETE
P8 CREATE_IN_PROGRESS" "from the newest (the stack's CREATE_COMPLETE) back"
run cfn DescribeStackEvents StackName=emu-big "NextToken=$TOKEN"
is "$(printf '%s\n' "$OUT" | grep -c '^      <member>$') $(field "$OUT" NextToken)" "22 " "the second page: the 22 oldest, no <NextToken>"
is "$(ends "$OUT")" "P7 CREATE_COMPLETE
emu-big CREATE_IN_PROGRESS" "continuing where the first ended, down to the first event"
run emu_aws cloudformation describe-stack-events --stack-name emu-big --query 'StackEvents[].EventId' --output text
is "$(printf '%s' "$OUT" | tr '\t' '\n' | sort -u | wc -l)" 122 "aws pages through all 122, every EventId unique"
cfn DeleteStack StackName=emu-big >/dev/null

# 10. The bucket checks `rapid stack create` makes.
run emu_aws s3api head-bucket --bucket no-such-bucket
like "$RC $(printf '%s' "$ERR" | tr '\n' ' ')" '^25[45] .*\(404\) when calling the HeadBucket operation' "head-bucket of a missing bucket: 404"
run scurl -I "$EMU_URL/bkt"
like "$OUT" '^HTTP/1.1 200' "HeadBucket of a bucket: 200"
like "$OUT" '^x-amz-bucket-region: us-east-1' "with x-amz-bucket-region"
run scurl -w ' %{http_code}' "$EMU_URL/bkt?location="
is "$OUT" '<?xml version="1.0" encoding="UTF-8"?>
<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/> 200' "GetBucketLocation in us-east-1: empty, in S3's namespace"
run scurl -w ' %{http_code}' "$EMU_URL/no-such-bucket?location="
like "$OUT" '<Code>NoSuchBucket</Code>.* 404$' "GetBucketLocation of a missing bucket: 404 NoSuchBucket"
emu_bucket_region far eu-west-1
run scurl -I "$EMU_URL/far"
like "$OUT" '^HTTP/1.1 301' "a bucket in another region: HeadBucket 301"
like "$OUT" '^x-amz-bucket-region: eu-west-1' "naming its region"
like "$(scurl "$EMU_URL/far?location=")" '<LocationConstraint xmlns="[^"]*">eu-west-1</LocationConstraint>' "GetBucketLocation says it"
like "$(scurl "$EMU_URL/far?list-type=2")" "<Code>AuthorizationHeaderMalformed</Code>.*expecting 'eu-west-1'.*<Region>eu-west-1</Region>" \
	"other requests for it: AuthorizationHeaderMalformed"

# 11. Faults, in CloudFormation's own error format.
emu_faults '{"next": ["slowdown", "500"], "ops": ["DescribeStacks"]}'
like "$(cfn DescribeStacks | tr -d '\n')" '<Type>Sender</Type> *<Code>Throttling</Code>.*400$' "slowdown: 400 Throttling"
like "$(cfn DescribeStacks | tr -d '\n')" '<Type>Receiver</Type> *<Code>InternalFailure</Code>.*500$' "500: 500 InternalFailure"
emu_faults '{}'

# 12. rapid's own template creates and deletes cleanly.
if [ -f "$TESTS_DIR/../cfn/rapid-batch.yaml" ]; then
	emu_cfn '{"step_ms": 5}' >/dev/null
	run cfn CreateStack StackName=emu-rapid "TemplateBody@$TESTS_DIR/../cfn/rapid-batch.yaml" Capabilities.member.1=CAPABILITY_IAM \
		Parameters.member.1.ParameterKey=OutputBucket Parameters.member.1.ParameterValue=bkt
	like "$OUT" '^200$' "cfn/rapid-batch.yaml: CreateStack accepts it (CAPABILITY_IAM, OutputBucket)" 
	[ "$RC" = 0 ] || printf '%s\n' "$OUT" | sed 's/^/#   /'
	is "$(settle emu-rapid)" CREATE_COMPLETE "cfn/rapid-batch.yaml: created"
	run cfn DescribeStacks StackName=emu-rapid
	is "$(printf '%s\n' "$OUT" | sed -n 's:.*<OutputKey>\(.*\)</OutputKey>:\1:p' | sort | tr '\n' ' ')" \
		"ComputeEnvironment InputSecret JobDefinition JobQueue " "cfn/rapid-batch.yaml: its outputs"
	RAPID_SECRET=$(printf '%s\n' "$OUT" | grep -A1 '<OutputKey>InputSecret</OutputKey>' | sed -n 's:.*<OutputValue>\(.*\)</OutputValue>:\1:p')
	like "$(sm DescribeSecret "{\"SecretId\": \"$RAPID_SECRET\"}")" '"Name": "InputSecret-' "cfn/rapid-batch.yaml: its secret exists"
	cfn DeleteStack StackName=emu-rapid >/dev/null
	is "$(settle emu-rapid)" GONE "cfn/rapid-batch.yaml: deleted"
	like "$(sm DescribeSecret "{\"SecretId\": \"$RAPID_SECRET\"}")" 'ResourceNotFoundException' "cfn/rapid-batch.yaml: with its secret"
else
	ok 0 "cfn/rapid-batch.yaml creates and deletes # SKIP no cfn/rapid-batch.yaml"
fi

# 13. Signatures.
is "$(emu_count mismatches) $(emu_count rejected)" "0 0" "zero signature mismatches, nothing refused"
run curl -sS --aws-sigv4 aws:amz:us-east-1:cloudformation -u "$AWS_ACCESS_KEY_ID:not-the-secret" \
	-d 'Action=DescribeStacks&Version=2010-05-15' -w ' %{http_code}' "$EMU_URL/"
like "$(printf '%s' "$OUT" | tr '\n' ' ')" '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"> *<Error> *<Type>Sender</Type> *<Code>SignatureDoesNotMatch</Code>.* 403$' \
	"a wrong secret key: 403 SignatureDoesNotMatch, in CloudFormation's format"
is "$(emu_count mismatches)" 1 "and counted"
is "$(grep -c -F -e "$EMU_SECRET_KEY" -e "$SECRET_PART" "$EMU_DIR/log")" 0 "the emulator's log holds neither secret"
done_testing
