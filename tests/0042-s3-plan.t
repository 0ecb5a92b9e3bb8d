#!/bin/sh
# rapid plan against S3 inputs and an S3 output root, through the verifying
# loopback emulator: request budgets (one listing page per 1,000 sentinels,
# one HEAD per uncached input, none when warm), explanations read from
# sentinels on S3, faults, and no secret anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu.sh"
emu_start hcp-in rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
N=2000

# 2,000 participants, one input each (plus a few unrelated objects).
emu_seed_inputs hcp-in HCP "$N" 100000 >/dev/null
cat > Rapidfile <<'RF'
HCP = s3://hcp-in/HCP
OUT = s3://rapid-out/rt
participants = list($(HCP)/)

target rapidtide
    foreach participant in $(participants)
    input   bold = $(HCP)/{participant}/bold.nii.gz
    output  dir  = $(OUT)/sub-{participant}/
    image   example/rapidtide:1.0
    run rapidtide {bold} {dir}
RF

emu_reset
run "$RAPID" plan -v
is "$RC" 0 "cold plan over $N S3 participants succeeds"
like "$OUT" "^rapidtide: $N instances: 0 up to date, $N to build$" "every instance is to build"
like "$ERR" "inputs: 0 cached, 0 hashed \\(0 bytes\\), $N asked of S3, 0 missing" "each input asked of S3 once"
is "$(emu_count HeadObject)" "$N" "cold plan: one HEAD per input ($N)"
is "$(emu_count ListObjectsV2)" 4 "cold plan: 2 pages of participants + 1 of (no) sentinels + 1 of (no) open submissions"
is "$(emu_count GetObject)" 0 "cold plan reads no object"

# Mark 1,500 participants built: ok sentinels with the keys plan computed.
"$RAPID" plan --json > plan.json
python3 - > sentinels.json <<'PY'
import json
p = json.load(open("plan.json"))
keys = []
for i in p["targets"][0]["not_up_to_date"][:1500]:
    keys.append("rt/.rapid/sentinels/rapidtide/%s/%s.ok.json" % (i["wildcards"]["participant"], i["key"]))
print(json.dumps({"bucket": "rapid-out", "keys": keys, "body": "{}"}))
PY
emu_seed "$(cat sentinels.json)" >/dev/null

emu_reset
run "$RAPID" plan -v
is "$RC" 0 "warm plan succeeds"
like "$OUT" "^rapidtide: $N instances: 1500 up to date, 500 to build$" "1,500 up to date from the sentinel listing"
like "$ERR" "inputs: $N cached, 0 hashed \\(0 bytes\\), 0 asked of S3" "every input fingerprint comes from the cache"
is "$(emu_count HeadObject)" 0 "warm plan: no HEAD at all"
is "$(emu_count ListObjectsV2)" 5 "warm plan: 2 pages of participants + ceil(1500/1000) = 2 of sentinels + 1 of submissions"
is "$(emu_count mismatches)" 0 "no signature mismatch"

# --refresh asks S3 again; a changed input shows its old and new ETag.
P=100007
printf 'new bold\n' > newbold
emu_aws s3 cp --quiet newbold "s3://hcp-in/HCP/$P/bold.nii.gz"
run "$RAPID" plan
like "$OUT" "^rapidtide: $N instances: 1500 up to date, 500 to build$" "without --refresh a cached fingerprint is trusted"
emu_reset
run "$RAPID" plan --refresh --explain
is "$(emu_count HeadObject)" "$N" "--refresh asks for every input again"
like "$OUT" "^rapidtide: $N instances: 1499 up to date, 501 to build$" "the changed input makes its instance stale"
like "$OUT" "sub-$P|participant=$P|$P" "the stale instance is named"
like "$OUT" 'input bold changed' "reason: input bold changed"
like "$OUT" 'etag=[0-9a-f]+ → .*etag=[0-9a-f]+' "explanation shows the old and new ETag"
is "$(emu_count GetObject)" 0 "the old key's components came from the state (cached when it was planned)"
rm -rf .rapid/state
emu_reset
run "$RAPID" plan --explain
like "$OUT" "^rapidtide: $N instances: 1499 up to date, 501 to build$" "the same plan without the state"
is "$(emu_count GetObject)" 1 "without the state, the old key's sentinel is read (once)"
is "$(emu_count HeadObject)" "$N" "without the state, every input is asked for again"

# A failed sentinel on S3 is read for its exit status.
P2=101900
K2=$(python3 -c 'import json; p=json.load(open("plan.json")); print([i["key"] for i in p["targets"][0]["not_up_to_date"] if i["wildcards"]["participant"]=="'$P2'"][0])')
printf '{"schema":1,"exit_code":3}' > failed.json
emu_aws s3 cp --quiet failed.json "s3://rapid-out/rt/.rapid/sentinels/rapidtide/$P2/$K2.failed.json"
run "$RAPID" plan
like "$OUT" "participant=$P2  \(exit status 3\)" "a failed sentinel on S3 is reported with its exit status"

# Faults: 20% of requests fail (503/500/reset) and the plan is the same.
"$RAPID" plan --json > before.json
emu_faults '{"rate":0.2,"kinds":["slowdown","500","reset"],"seed":11}'
AWS_MAX_ATTEMPTS=8 run "$RAPID" plan --json --refresh
emu_faults '{}'
is "$RC" 0 "plan succeeds with 20% of requests failing"
cmp -s before.json "$T_TMP/.out"
ok $? "the same plan under faults"
ok "$([ "$(emu_count faults)" -gt 0 ]; echo $?)" "faults were injected ($(emu_count faults))"

emu_faults '{"rate":1.0,"kinds":["slowdown"]}'
AWS_MAX_ATTEMPTS=2 run "$RAPID" plan --refresh
emu_faults '{}'
is "$RC" 1 "plan fails when every request fails"
like "$ERR" "cannot list 's3://hcp-in/HCP/': 503 SlowDown" "the error names the object and the status"

# Errors name the object and the cause.
run "$RAPID" plan OUT=s3://nosuchbucket/rt
is "$RC" 1 "a missing output bucket fails the plan"
like "$ERR" "s3://nosuchbucket/rt/.rapid/sentinels/rapidtide/': 404 NoSuchBucket" "missing bucket: named with its status"

# Malformed answers: a clear error naming the object, never a crash.
emu_faults '{"rate":1.0,"kinds":["truncate"],"ops":["ListObjectsV2"]}'
run "$RAPID" plan
is "$RC" 1 "a truncated listing fails the plan"
like "$ERR" "^rapid: cannot list 's3://hcp-in/HCP/': malformed ListObjectsV2 response: truncated document" \
	"truncated listing: named, with the parser's cause"
emu_faults '{"rate":1.0,"kinds":["garbage"],"ops":["ListObjectsV2"]}'
run "$RAPID" plan
like "$ERR" "^rapid: cannot list 's3://hcp-in/HCP/': malformed ListObjectsV2 response: not well-formed" \
	"a listing that is not XML: named, with the parser's cause"
emu_faults '{"rate":1.0,"kinds":["error200"],"ops":["ListObjectsV2"]}'
run "$RAPID" plan
like "$ERR" "^rapid: cannot list 's3://hcp-in/HCP/': 200 InternalError: .*\\(after 3 attempts\\)" \
	"an <Error> inside a 200 is retried, then reported"
emu_faults '{"rate":1.0,"kinds":["garbage"],"ops":["GetObject"]}'
run "$RAPID" plan
is "$RC" 0 "a sentinel body that is not JSON does not fail the plan"
like "$OUT" "participant=$P2  \\(no details\\)|failed: 1 instance" "the failed instance is still reported"
emu_faults '{}'

# Container credentials with a session token (AWS_CONTAINER_CREDENTIALS_FULL_URI).
rm -rf .rapid/state
emu_reset
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN="$EMU_CONTAINER_AUTH" \
	"$RAPID" plan -v > "$T_TMP/.out" 2> "$T_TMP/.err"
is "$?" 0 "plan with container credentials (and a session token) succeeds"
like "$(cat "$T_TMP/.out")" "^rapidtide: $N instances: 1499 up to date, 501 to build$" "the same plan"
is "$(emu_count HeadObject)" "$N" "every request was signed with them and accepted"
is "$(emu_count rejected)" 0 "none refused"
cp "$T_TMP/.out" cc.out; cp "$T_TMP/.err" cc.err
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong "$RAPID" plan
is "$RC" 1 "a refused container credentials request fails the plan"
like "$ERR" "container" "the error says where credentials were looked for"

# Nothing secret in outputs or state.
cat "$T_TMP"/.out "$T_TMP"/.err plan.json before.json cc.out cc.err > all-output
for secret in "$EMU_SECRET_KEY" "$EMU_SECRET_KEY2" "$EMU_SESSION_TOKEN" "$EMU_CONTAINER_AUTH"; do
	ok "$(! grep -rqaF "$secret" all-output .rapid; echo $?)" "secret ${secret%%0000*}… is in no output and no state record"
done
ok "$(! grep -rqa 'Signature=' all-output .rapid; echo $?)" "no signature in output or state"
is "$(emu_count mismatches)" 0 "zero signature mismatches in the whole test"
done_testing
