#!/bin/sh
# cfn/rapid-batch.yaml, the Batch stack's CloudFormation template, read
# without AWS: it parses, it matches the current CloudFormation resource
# schemas (tests/lint/cfn-check.py over @aws-cdk/aws-service-spec, npm,
# pinned in tests/lint), and it keeps the least-privilege and
# job-definition promises, which a Python reading of the template checks
# one by one. Mutated copies of the
# template (s3:* on *, a wildcard principal, a secret value, ...) show that
# each kind of check can fail.
. "$(dirname "$0")/lib.sh"
TEMPLATE=$TESTS_DIR/../cfn/rapid-batch.yaml
PY=/usr/bin/python3
cd "$T_TMP" || exit 1

# 1. The file itself.
ok "$([ -f "$TEMPLATE" ]; echo $?)" "cfn/rapid-batch.yaml exists"
is "$(grep -c "$(printf '\t')" "$TEMPLATE")" 0 "it has no tab characters (YAML forbids them in indentation)"
run "$PY" -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1], encoding="utf-8"))' "$TEMPLATE"
is "$RC$ERR" 0 "Debian's PyYAML safe_load parses it (long-form intrinsics, no !Ref tags)"
size=$(wc -c <"$TEMPLATE")
ok "$([ "$size" -lt 51200 ]; echo $?)" "it fits CreateStack's 51,200-byte TemplateBody ($size bytes)"

# 2. The resource schemas. tests/lint/cfn-check.py checks every resource
# against the schema of its type in @aws-cdk/aws-service-spec's db.json.gz
# (npm, pinned in tests/lint/package-lock.json): the type exists, every
# property is known, the required ones are there, every value has its
# property's type (nested property types, lists, maps, tags; intrinsics
# by what they yield), allowed values, and the names Ref, Fn::GetAtt,
# Fn::Sub, Fn::If and DependsOn use.
SPEC=$TESTS_DIR/lint/node_modules/@aws-cdk/aws-service-spec
CHECK=$TESTS_DIR/lint/cfn-check.py
if [ -f "$SPEC/db.json.gz" ]; then
	pinned=$(node -p 'require(process.argv[1]).dependencies["@aws-cdk/aws-service-spec"]' "$TESTS_DIR/lint/package.json")
	is "$(node -p 'require(process.argv[1]).version' "$SPEC/package.json")" "$pinned" \
		"the installed @aws-cdk/aws-service-spec is the pinned $pinned"
	cp "$TEMPLATE" rapid-batch.yaml
	run "$PY" "$CHECK" rapid-batch.yaml
	is "$RC" 0 "cfn-check: the template matches the resource schemas"
	[ "$RC" = 0 ] || printf '%s\n' "$OUT$ERR" | sed 's/^/#   /'
	printf '# %s\n' "$OUT"
	# Every resource was checked against a schema, none skipped.
	want=$("$PY" -c 'import sys, yaml; R = yaml.safe_load(open(sys.argv[1]))["Resources"]
print("%d resources of %d types" % (len(R), len({r["Type"] for r in R.values()})))' "$TEMPLATE")
	like "$OUT" "^rapid-batch.yaml: $want, [0-9]{2,} property values and [0-9]{2,} names checked .*: no errors$" \
		"... all of its resources and their property values ($want)"

	# broken NAME SED-EXPR PATTERN DESCRIPTION: a copy of the template
	# edited by SED-EXPR fails, with PATTERN among its errors; PATTERN's
	# :LINE: is the line of the copy that the edit changed.
	broken() {
		sed -e "$2" rapid-batch.yaml >"$1.yaml"
		line=$(diff rapid-batch.yaml "$1.yaml" | sed -n 's/^\([0-9]*\)[cd].*/\1/p' | head -n 1)
		run "$PY" "$CHECK" "$1.yaml"
		pattern=$(printf '%s' "$3" | sed "s/@LINE@/${line:-none}/")
		if [ "$RC" = 1 ] && printf '%s\n' "$OUT" | grep -Eq -- "^$1.yaml:$pattern"; then
			_report 0 "$4"
		else
			_report 1 "$4" "$(printf 'exit %s, expected 1 and a line matching %s; got:\n%s' "$RC" "$pattern" "$OUT$ERR")"
		fi
	}
	broken unknown 's/SharedMemorySize:/SharedMemSize:/' \
		"@LINE@: Resources\.JobDefinition\.Properties\.ContainerProperties\.LinuxParameters\.SharedMemSize: unknown property 'SharedMemSize' of AWS::Batch::JobDefinition\.LinuxParameters \(did you mean SharedMemorySize\?\)$" \
		"caught: an unknown property, with its line and a 'did you mean'"
	broken required '/GroupDescription:/d' \
		"[0-9]+: Resources\.SecurityGroup\.Properties: required property 'GroupDescription' of AWS::EC2::SecurityGroup is missing$" \
		"caught: a missing required property"
	broken nestedreq '/^        Image:$/,/^          Ref: Image$/d' \
		"[0-9]+: Resources\.JobDefinition\.Properties\.ContainerProperties: required property 'Image' of AWS::Batch::JobDefinition\.ContainerProperties is missing$" \
		"caught: a missing required property of a nested property type"
	broken wrongtype 's/MinvCpus: 0/MinvCpus: none/' \
		"@LINE@: Resources\.ComputeEnvironment\.Properties\.ComputeResources\.MinvCpus: expected an integer, not a string \('none'\)$" \
		"caught: a wrong primitive type (a string for an integer)"
	broken wrongbool 's/EnableDnsSupport: true/EnableDnsSupport: maybe/' \
		"@LINE@: Resources\.VPC\.Properties\.EnableDnsSupport: expected a boolean, not a string \('maybe'\)$" \
		"caught: a string for a boolean"
	broken notalist '/^        Subnets:$/{n;s/          - Ref: SubnetA/            Ref: SubnetA/;n;d}' \
		"[0-9]+: Resources\.ComputeEnvironment\.Properties\.ComputeResources\.Subnets\.Ref: Ref SubnetA \(a resource\) gives a string where a list of strings is expected$" \
		"caught: a Ref (a string) where a list is expected"
	broken badgetatt '/JobRole$/{n;s/- Arn$/- Arnn/}' \
		"[0-9]+: Resources\.JobDefinition\.Properties\.ContainerProperties\.JobRoleArn\.Fn::GetAtt: Fn::GetAtt JobRole\.Arnn: AWS::IAM::Role has no attribute Arnn \(it has Arn, RoleId\) \(did you mean Arn\?\)$" \
		"caught: a Fn::GetAtt of an attribute the type does not have"
	broken badtype 's/AWS::Batch::JobQueue$/AWS::Batch::JobQeue/' \
		"@LINE@: Resources\.JobQueue\.Type: unknown resource type 'AWS::Batch::JobQeue' \(did you mean AWS::Batch::JobQueue\?\)$" \
		"caught: a misspelt resource type"
	broken badenum 's/VpcEndpointType: Gateway/VpcEndpointType: gateway/' \
		"@LINE@: Resources\.S3Endpoint\.Properties\.VpcEndpointType: 'gateway' is not one of Interface, Gateway, .* \(did you mean Gateway\?\)$" \
		"caught: a value the schema does not allow"
	broken badref 's/^        Ref: RouteTable$/        Ref: RouteTabel/' \
		"@LINE@: Resources\.DefaultRoute\.Properties\.RouteTableId\.Ref: Ref names no parameter, resource or pseudo parameter 'RouteTabel' \(did you mean RouteTable\?\)$" \
		"caught: a Ref to nothing"
	broken baddepends 's/DependsOn: GatewayAttachment/DependsOn: GatewayAttachmnt/' \
		"@LINE@: Resources\.DefaultRoute\.DependsOn: DependsOn names no resource 'GatewayAttachmnt' \(did you mean GatewayAttachment\?\)$" \
		"caught: a DependsOn on no resource"
	broken badsub 's/\${OutputBucket}\/\*/${OutputBuckets}\/*/' \
		"@LINE@: Resources\.JobRole\.Properties\.Policies\[[0-9]\]\.PolicyDocument\.Statement\[[0-9]\]\.Resource\.Fn::Sub: Ref names no parameter, resource or pseudo parameter 'OutputBuckets' \(did you mean OutputBucket\?\)$" \
		"caught: a \${name} in Fn::Sub that names nothing"
	long=$(awk 'BEGIN { while (n++ < 4000) printf "x" }')
	broken longdesc "s/which has no rapid\./& $long/" \
		"[0-9]+: Parameters\.Image\.Description: a parameter's Description is a string of at most 4,000 characters$" \
		"caught: a parameter Description over CloudFormation's 4,000 characters"

	# Short-form tags, as CloudFormation reads them: a small template, then
	# the same with errors behind !If, !Ref and !GetAtt.
	cat >short.yaml <<'YAML'
Parameters:
  Mode:
    Type: String
    AllowedValues: [ENABLED, DISABLED]
    Default: ENABLED
Conditions:
  Enabled: !Equals [!Ref Mode, ENABLED]
Resources:
  Queue:
    Type: AWS::Batch::JobQueue
    Properties:
      Priority: !If [Enabled, 1, 2]
      State: !Ref Mode
      ComputeEnvironmentOrder:
        - Order: 1
          ComputeEnvironment: !GetAtt Env.ComputeEnvironmentArn
  Env:
    Type: AWS::Batch::ComputeEnvironment
    Properties:
      Type: UNMANAGED
Outputs:
  Queue:
    Value: !Ref Queue
YAML
	run "$PY" "$CHECK" short.yaml
	is "$RC$(printf '%s' "$OUT" | grep -c ': no errors$')" 01 "cfn-check reads short-form tags (!Ref, !If, !GetAtt A.B, !Equals)"
	sed -e 's/\[Enabled, 1, 2\]/[Enabled, 1, two]/' -e 's/DISABLED\]/OFFLINE]/' \
		-e 's/Env.ComputeEnvironmentArn/Env.Arn/' short.yaml >short-bad.yaml
	run "$PY" "$CHECK" short-bad.yaml
	like "$OUT" "^short-bad.yaml:12: Resources\.Queue\.Properties\.Priority\.Fn::If\[2\]: expected an integer, not a string \('two'\)$" \
		"... and checks both branches of !If"
	like "$OUT" "^short-bad.yaml:13: Resources\.Queue\.Properties\.State\.Ref: parameter Mode may be OFFLINE: 'OFFLINE' is not one of DISABLED, ENABLED" \
		"... the AllowedValues of a parameter given by !Ref against the property's"
	like "$OUT" "^short-bad.yaml:16: .*ComputeEnvironment\.Fn::GetAtt: Fn::GetAtt Env\.Arn: AWS::Batch::ComputeEnvironment has no attribute Arn" \
		"... and the attribute of !GetAtt A.B"
	is "$RC" 1 "... and exits 1"
else
	_report 1 "@aws-cdk/aws-service-spec is installed in tests/lint" "run: make test-deps (npm ci in tests/lint)"
fi

# 3. Least privilege and the job definition, read from the template. One
# line per check: status TAB name TAB diagnostic.
cat >check.py <<'PY'
import json, re, sys, traceback
import yaml

results = []
def check(name, cond, diag=""):
    results.append((0 if cond else 1, name, "" if cond else str(diag)))

def walk(node, path=()):
    """Every (path, dict) in the tree."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))

def aslist(x):
    return x if isinstance(x, list) else [x]

def ref(x):
    """The logical id or parameter x refers to with Ref, else None."""
    return x.get("Ref") if isinstance(x, dict) and len(x) == 1 else None

def getatt_arn(x):
    """The logical id of a Fn::GetAtt [Id, Arn] (or 'Id.Arn'), else None."""
    if not isinstance(x, dict) or "Fn::GetAtt" not in x:
        return None
    v = x["Fn::GetAtt"]
    v = v.split(".", 1) if isinstance(v, str) else v
    return v[0] if len(v) == 2 and v[1] == "Arn" else None

def main(path):
    t = yaml.safe_load(open(path, encoding="utf-8"))
    R = t.get("Resources", {})
    P = t.get("Parameters", {})
    O = t.get("Outputs", {})
    C = t.get("Conditions", {})
    of_type = lambda ty: [k for k, v in R.items() if v.get("Type") == ty]
    props = lambda k: R.get(k, {}).get("Properties", {})

    # --- parameters
    check("parameters are exactly InputBucket, OutputBucket, Image, BatchType, MaxvCpus, S3fsMount",
          set(P) == {"InputBucket", "OutputBucket", "Image", "BatchType", "MaxvCpus", "S3fsMount"}, sorted(P))
    p = lambda k: P.get(k, {})
    check("InputBucket defaults to hcp-openaccess", p("InputBucket").get("Default") == "hcp-openaccess", p("InputBucket"))
    check("OutputBucket has no default (it is required)", "Default" not in p("OutputBucket"), p("OutputBucket"))
    check("Image defaults to a Rapidtide image",
          re.search(r"(^|/)rapidtide:[^/]+$", str(p("Image").get("Default", ""))), p("Image"))
    check("BatchType is EC2 or SPOT, EC2 by default",
          p("BatchType").get("AllowedValues") == ["EC2", "SPOT"] and p("BatchType").get("Default") == "EC2", p("BatchType"))
    check("MaxvCpus is a Number with a default",
          p("MaxvCpus").get("Type") == "Number" and isinstance(p("MaxvCpus").get("Default"), int), p("MaxvCpus"))
    check("S3fsMount is true or false, false by default",
          sorted(p("S3fsMount").get("AllowedValues", [])) == ["false", "true"] and p("S3fsMount").get("Default") == "false",
          p("S3fsMount"))

    # --- the secret
    secrets = of_type("AWS::SecretsManager::Secret")
    check("there is a Secrets Manager secret", len(secrets) >= 1, sorted(R))
    for s in secrets:
        check(f"secret {s} is created with no value (no SecretString, no GenerateSecretString)",
              not {"SecretString", "GenerateSecretString"} & set(props(s)), props(s))
    secretish = [k for k, v in P.items() if v.get("NoEcho") or re.search(r"secret|password|key", k, re.I)]
    check("no parameter holds a secret", not secretish, secretish)
    text = json.dumps(t)
    check("no SecretString and no {{resolve:...}} dynamic reference anywhere",
          "SecretString" not in text and "{{resolve:" not in text)

    # --- IAM permission statements
    roles = of_type("AWS::IAM::Role")
    stmts = []   # (where, statement)
    for k in roles:
        for pol in props(k).get("Policies", []):
            for st in aslist(pol.get("PolicyDocument", {}).get("Statement", [])):
                stmts.append((f"{k}/{pol.get('PolicyName')}", st))
    for k in of_type("AWS::IAM::Policy") + of_type("AWS::IAM::ManagedPolicy"):
        for st in aslist(props(k).get("PolicyDocument", {}).get("Statement", [])):
            stmts.append((k, st))
    check("there are inline permission statements to check", len(stmts) > 0)
    actions = lambda st: [a for a in aslist(st.get("Action", []))]
    bad = [(w, a) for w, st in stmts for a in actions(st) if not isinstance(a, str) or "*" in a]
    check("no IAM action is '*', 's3:*' or any other wildcard", not bad, bad)
    inverted = [w for w, st in stmts if {"NotAction", "NotResource", "NotPrincipal"} & set(st)]
    check("no statement uses NotAction, NotResource or NotPrincipal", not inverted, inverted)
    denyless = [w for w, st in stmts if st.get("Effect") != "Allow"]
    check("every statement is a plain Allow", not denyless, denyless)

    s3 = [(w, st) for w, st in stmts if any(str(a).lower().startswith("s3:") for a in actions(st))]
    check("there are S3 statements", len(s3) > 0)
    # What rapid runner does in the output bucket, under an output root
    # that is the bucket's top or a prefix: list it (sentinel folders,
    # folder inputs, unfinished uploads); get, put and abort uploads of any
    # object (manifests under .rapid/submissions/, upstream outputs,
    # outputs, sentinels, logs); delete sentinels only.
    bucket_arn = re.compile(r"^arn:\$\{AWS::Partition\}:s3:::\$\{(InputBucket|OutputBucket)\}(/\*|/\.rapid/sentinels/\*|/\*/\.rapid/sentinels/\*)?$")
    def s3_resource(r):
        """(bucket parameter, 'bucket' | 'objects' | 'sentinels') for a bucket ARN built from a parameter, else None."""
        m = bucket_arn.match(r.get("Fn::Sub", "")) if isinstance(r, dict) and isinstance(r.get("Fn::Sub"), str) else None
        return (m.group(1), "objects" if m.group(2) == "/*" else "sentinels" if m.group(2) else "bucket") if m else None
    bad = [(w, r) for w, st in s3 for r in aslist(st.get("Resource")) if r == "*" or not s3_resource(r)]
    check("S3 actions are only on the output bucket, its objects or its sentinels (never Resource '*')", not bad, bad)
    allowed = {
        ("OutputBucket", "bucket"): {"s3:ListBucket", "s3:ListBucketMultipartUploads"},
        ("OutputBucket", "objects"): {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"},
        ("OutputBucket", "sentinels"): {"s3:DeleteObject"},
    }
    where_of = lambda st: {s3_resource(r) for r in aslist(st.get("Resource"))}
    bad = [(w, where, a) for w, st in s3 for where in where_of(st) if where
           for a in actions(st) if a not in allowed.get(where, ())]
    check("the output bucket: list; its objects: get, put, abort uploads; delete sentinels only", not bad, bad)
    bad = [w for w, st in stmts if "InputBucket" in json.dumps(st)]
    check("the job role has no permission on the input bucket (its key pair reads it)", not bad, bad)
    granted = {a for w, st in s3 for a in actions(st)}
    want = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:ListBucketMultipartUploads",
            "s3:AbortMultipartUpload"}
    check("the jobs can get, put, list, abort uploads and remove sentinels", want <= granted, sorted(want - granted))
    sentinels = {(w, r.get("Fn::Sub")) for w, st in s3 if "s3:DeleteObject" in actions(st) for r in aslist(st.get("Resource"))}
    check("sentinels may be removed under the bucket's top and under any prefix",
          {s for w, s in sentinels} == {"arn:${AWS::Partition}:s3:::${OutputBucket}/.rapid/sentinels/*",
                                         "arn:${AWS::Partition}:s3:::${OutputBucket}/*/.rapid/sentinels/*"}, sentinels)

    sm = [(w, st) for w, st in stmts if any(str(a).lower().startswith("secretsmanager:") for a in actions(st))]
    check("there is a Secrets Manager statement", len(sm) > 0)
    bad = [(w, st) for w, st in sm
           if not all(ref(r) in secrets for r in aslist(st.get("Resource")))
           or set(actions(st)) != {"secretsmanager:GetSecretValue"}]
    check("Secrets Manager: GetSecretValue only, and only on the stack's own secret (by Ref)", not bad, bad)
    other = [(w, a) for w, st in stmts for a in actions(st)
             if not str(a).lower().startswith(("s3:", "secretsmanager:")) and a != "batch:DescribeJobs"]
    check("inline policies grant nothing beyond S3, Secrets Manager and batch:DescribeJobs", not other, other)
    # DescribeJobs (is the job holding a running sentinel alive?) takes no
    # resource but '*'; nothing else may have it.
    anywhere = [(w, st) for w, st in stmts if "*" in aslist(st.get("Resource")) and actions(st) != ["batch:DescribeJobs"]]
    check("only batch:DescribeJobs, which reads, is on Resource '*'", not anywhere, anywhere)

    # --- trust policies
    def trusted(k):
        """The services role k trusts; '*' or other principals show up as themselves."""
        out = []
        for st in aslist(props(k).get("AssumeRolePolicyDocument", {}).get("Statement", [])):
            pr = st.get("Principal")
            if isinstance(pr, dict) and set(pr) == {"Service"}:
                out += aslist(pr["Service"])
            else:
                out.append(json.dumps(pr))
            if st.get("Effect") != "Allow" or aslist(st.get("Action")) != ["sts:AssumeRole"]:
                out.append("bad statement " + json.dumps(st))
        return out
    bad = [(k, s) for k in roles for s in trusted(k) if not re.match(r"^[a-z0-9-]+\.amazonaws\.com$", s)]
    check("every role is trusted by a named AWS service only (no '*', no account principals)", not bad, bad)
    multi = [(k, trusted(k)) for k in roles if len(trusted(k)) != 1]
    check("every role is trusted by exactly one service", not multi, multi)

    # --- job definition
    jds = of_type("AWS::Batch::JobDefinition")
    check("there is one job definition", len(jds) == 1, jds)
    jd = props(jds[0]) if jds else {}
    cp = jd.get("ContainerProperties", {})
    check("the job definition is of type container", jd.get("Type") == "container", jd.get("Type"))
    rr = {x.get("Type"): str(x.get("Value")) for x in cp.get("ResourceRequirements", [])}
    check("it asks for 8 vCPUs and 62000 MiB (ResourceRequirements)",
          rr == {"VCPU": "8", "MEMORY": "62000"} and not {"Vcpus", "Memory"} & set(cp), (rr, sorted(cp)))
    check("its attempts time out after 36000 s", jd.get("Timeout", {}).get("AttemptDurationSeconds") == 36000, jd.get("Timeout"))
    rs = jd.get("RetryStrategy", {})
    check("it retries (Attempts > 1)", isinstance(rs.get("Attempts"), int) and rs["Attempts"] > 1, rs)
    check("it retries host/Spot terminations (Host EC2*) and exits on anything else",
          rs.get("EvaluateOnExit") == [{"OnStatusReason": "Host EC2*", "Action": "RETRY"},
                                       {"OnReason": "*", "Action": "EXIT"}], rs.get("EvaluateOnExit"))
    check("its image is the Image parameter", ref(cp.get("Image")) == "Image", cp.get("Image"))
    job_role, exec_role = getatt_arn(cp.get("JobRoleArn")), getatt_arn(cp.get("ExecutionRoleArn"))
    check("its job role and execution role are two roles of this stack",
          job_role in roles and exec_role in roles and job_role != exec_role, (job_role, exec_role))
    check("both are trusted by ecs-tasks.amazonaws.com",
          trusted(job_role) == ["ecs-tasks.amazonaws.com"] and trusted(exec_role) == ["ecs-tasks.amazonaws.com"],
          (trusted(job_role), trusted(exec_role)) if job_role and exec_role else None)
    check("the job role has no managed policies (all it may do is written here)",
          not props(job_role).get("ManagedPolicyArns"), props(job_role).get("ManagedPolicyArns"))
    sm_roles = {w.split("/")[0] for w, st in sm} | {w.split("/")[0] for w, st in s3}
    check("only the job role holds S3 and Secrets Manager permissions", sm_roles == {job_role}, sm_roles)
    check("its command is rapid runner", cp.get("Command") == ["rapid", "runner"], cp.get("Command"))
    env = {e.get("Name"): e.get("Value") for e in cp.get("Environment", [])}
    check("its environment names the output bucket and the input bucket",
          ref(env.get("RAPID_OUTPUT_BUCKET")) == "OutputBucket" and ref(env.get("RAPID_INPUT_BUCKET")) == "InputBucket", env)
    check("RAPID_INPUT_SECRET_ARN is the secret's ARN (Ref), the secret the job role may read",
          ref(env.get("RAPID_INPUT_SECRET_ARN")) in secrets and
          [ref(r) for w, st in sm for r in aslist(st.get("Resource"))] == [ref(env.get("RAPID_INPUT_SECRET_ARN"))],
          env.get("RAPID_INPUT_SECRET_ARN"))
    doc = " ".join(str(p("Image").get("Description", "")).split())
    how = ["podman build -f runner/Containerfile --build-arg BASE=",
           "docker buildx build --platform linux/arm64,linux/amd64 -f runner/Containerfile",
           "aws ecr get-login-password", "podman push"]
    check("the Image parameter says how to build the image and push it to ECR",
          all(h in doc for h in how), [h for h in how if h not in doc])
    check("the secret's value is not injected into the container (no Secrets)", "Secrets" not in cp, cp.get("Secrets"))
    priv = cp.get("Privileged")
    pcond = priv.get("Fn::If", [None])[0] if isinstance(priv, dict) else None
    check("Privileged is true only under a condition on S3fsMount = \"true\"",
          isinstance(priv, dict) and list(priv) == ["Fn::If"] and len(priv["Fn::If"]) == 3
          and priv["Fn::If"][1] is True and priv["Fn::If"][2] in (False, {"Ref": "AWS::NoValue"})
          and C.get(pcond) == {"Fn::Equals": [{"Ref": "S3fsMount"}, "true"]}, (priv, C.get(pcond)))
    elsewhere = [pa for pa, d in walk(R) if "Privileged" in d and d is not cp]
    check("nothing else is privileged", not elsewhere, elsewhere)

    # --- compute environment and queue
    ces = of_type("AWS::Batch::ComputeEnvironment")
    check("there is one compute environment", len(ces) == 1, ces)
    ce = props(ces[0]) if ces else {}
    cr = ce.get("ComputeResources", {})
    check("it is MANAGED, EC2 or SPOT by BatchType, up to MaxvCpus, down to 0",
          ce.get("Type") == "MANAGED" and ref(cr.get("Type")) == "BatchType"
          and ref(cr.get("MaxvCpus")) == "MaxvCpus" and cr.get("MinvCpus") == 0, cr)
    alloc = cr.get("AllocationStrategy", {})
    acond = alloc.get("Fn::If", [None])[0] if isinstance(alloc, dict) else None
    check("Spot uses SPOT_CAPACITY_OPTIMIZED, on-demand BEST_FIT_PROGRESSIVE",
          isinstance(alloc, dict) and alloc.get("Fn::If", [None])[1:] == ["SPOT_CAPACITY_OPTIMIZED", "BEST_FIT_PROGRESSIVE"]
          and C.get(acond) == {"Fn::Equals": [{"Ref": "BatchType"}, "SPOT"]}, (alloc, C.get(acond)))
    types = cr.get("InstanceTypes", [])
    check("its instance types are Graviton (arm64)",
          types and all(re.match(r"^[a-z]+[0-9]+g[a-z]*\.[0-9]*x?large$", x) for x in types), types)
    check("Batch manages it with the Batch service role",
          getatt_arn(ce.get("ServiceRole")) in roles and trusted(getatt_arn(ce.get("ServiceRole"))) == ["batch.amazonaws.com"],
          ce.get("ServiceRole"))
    prof = getatt_arn(cr.get("InstanceRole"))
    prof_roles = [ref(x) for x in props(prof).get("Roles", [])] if prof else []
    check("its instances get an instance profile whose role only ec2.amazonaws.com may assume",
          prof in of_type("AWS::IAM::InstanceProfile") and len(prof_roles) == 1
          and trusted(prof_roles[0]) == ["ec2.amazonaws.com"], (prof, prof_roles))
    subnets = [ref(x) for x in cr.get("Subnets", [])]
    azs = sorted(json.dumps(props(s).get("AvailabilityZone")) for s in subnets if s)
    check("it spans two subnets in two different availability zones (Fn::Select of Fn::GetAZs)",
          len(subnets) == 2 and all(s in of_type("AWS::EC2::Subnet") for s in subnets) and azs == sorted(
              json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in (0, 1)), azs)
    queues = of_type("AWS::Batch::JobQueue")
    check("a job queue feeds it",
          len(queues) == 1 and [ref(o.get("ComputeEnvironment")) for o in props(queues[0]).get("ComputeEnvironmentOrder", [])] == ces)

    # --- network
    sgs = of_type("AWS::EC2::SecurityGroup")
    check("the security groups let nothing in",
          not any("SecurityGroupIngress" in props(s) for s in sgs) and not of_type("AWS::EC2::SecurityGroupIngress"), sgs)
    eps = [props(e) for e in of_type("AWS::EC2::VPCEndpoint")]
    check("an S3 gateway endpoint sits on the route table",
          any(e.get("VpcEndpointType") == "Gateway" and e.get("ServiceName") == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
              and [ref(x) for x in e.get("RouteTableIds", [])] == of_type("AWS::EC2::RouteTable") for e in eps), eps)
    routes = [props(r) for r in of_type("AWS::EC2::Route")]
    check("the route table's default route goes to the internet gateway",
          any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and ref(r.get("GatewayId")) in of_type("AWS::EC2::InternetGateway")
              for r in routes) and of_type("AWS::EC2::VPCGatewayAttachment"), routes)

    # --- outputs
    def output(name, ty):
        o = O.get(name, {})
        return ref(o.get("Value")) in of_type(ty) and o.get("Export", {}).get("Name") == {"Fn::Sub": "${AWS::StackName}-" + name}
    for name, ty in (("JobQueue", "AWS::Batch::JobQueue"), ("JobDefinition", "AWS::Batch::JobDefinition"),
                     ("ComputeEnvironment", "AWS::Batch::ComputeEnvironment"), ("InputSecret", "AWS::SecretsManager::Secret")):
        check(f"output {name} is its ARN, exported as <stack>-{name}", output(name, ty), O.get(name))
    exported = {ref(o.get("Value")) for o in O.values()}
    check("every secret's ARN is an output", set(secrets) <= exported, sorted(set(secrets) - exported))

try:
    main(sys.argv[1])
except Exception:
    results.append((1, "the checker ran to the end", traceback.format_exc()))
for status, name, diag in results:
    print(f"{status}\t{name}\t{diag}".replace("\n", " | "))
PY

# checks TEMPLATE: one TAP line per check of check.py.
checks() {
	"$PY" check.py "$1" >checks.out 2>&1
	while IFS='	' read -r st name diag; do
		_report "$st" "$name" "$diag"
	done <checks.out
}
checks "$TEMPLATE"

# 4. Each kind of check fails when the template breaks its promise.
cat >mutate.py <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
R = t["Resources"]
job = R["JobRole"]["Properties"]
pol = {p["PolicyName"]: p["PolicyDocument"]["Statement"] for p in job["Policies"]}
m = sys.argv[2]
if m == "s3star":
    pol["OutputBucket"][1]["Action"].append("s3:*")
elif m == "s3anywhere":
    pol["OutputBucket"][1]["Resource"] = "*"
elif m == "inputread":
    pol["OutputBucket"].append({"Effect": "Allow", "Action": "s3:GetObject",
                                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${InputBucket}/*"}})
elif m == "deleteany":
    pol["OutputBucket"][1]["Action"].append("s3:DeleteObject")
elif m == "batchany":
    pol["DescribeJobs"][0]["Action"] = ["batch:DescribeJobs", "batch:SubmitJob"]
elif m == "nocommand":
    del R["JobDefinition"]["Properties"]["ContainerProperties"]["Command"]
elif m == "secretanywhere":
    pol["ReadInputSecret"][0]["Resource"] = "*"
elif m == "anyprincipal":
    job["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = "*"
elif m == "secretvalue":
    R["InputSecret"]["Properties"]["SecretString"] = '{"IBS3SECRET":"changeme"}'
elif m == "secretparam":
    t["Parameters"]["InputKeySecret"] = {"Type": "String", "NoEcho": True}
elif m == "privileged":
    R["JobDefinition"]["Properties"]["ContainerProperties"]["Privileged"] = True
elif m == "retryall":
    R["JobDefinition"]["Properties"]["RetryStrategy"]["EvaluateOnExit"] = [{"OnReason": "*", "Action": "RETRY"}]
yaml.safe_dump(t, open(sys.argv[3], "w"), sort_keys=False)
PY
# mutant NAME EXPECTED-FAILING-CHECK DESCRIPTION
mutant() {
	"$PY" mutate.py "$TEMPLATE" "$1" "$1.yaml"
	"$PY" check.py "$1.yaml" >"$1.out" 2>&1
	is "$(grep '^1	' "$1.out" | cut -f2 | grep -c -F -- "$2")" 1 "$3"
}
mutant s3star "no IAM action is '*', 's3:*'" "caught: s3:* on the output bucket"
mutant s3anywhere "never Resource '*'" "caught: S3 objects on Resource '*'"
mutant inputread "no permission on the input bucket" "caught: the job role reading the input bucket"
mutant deleteany "delete sentinels only" "caught: DeleteObject on any object of the output bucket"
mutant batchany "only batch:DescribeJobs, which reads" "caught: a Batch action beyond DescribeJobs on '*'"
mutant nocommand "its command is rapid runner" "caught: a job definition without rapid runner"
mutant secretanywhere "only on the stack's own secret" "caught: GetSecretValue on Resource '*'"
mutant anyprincipal "named AWS service only" "caught: a role any principal may assume"
mutant secretvalue "is created with no value" "caught: a SecretString in the template"
mutant secretparam "no parameter holds a secret" "caught: a parameter for the key pair"
mutant privileged "Privileged is true only under" "caught: an always-privileged container"
mutant retryall "it retries host/Spot terminations" "caught: retrying application failures"
done_testing
