#!/bin/sh
# RAPID_INPUT_SECRET_ARN: the runner signs its requests to the input
# bucket (read, never written) with the key pair of that Secrets Manager
# secret ({"IBS3SECRET":"KEY:SECRET"}) and every other request with the
# default chain (here container credentials, as in Batch). The key pair
# appears nowhere: not on stdout or stderr, in logs, sentinels, the LMDB
# state, the recipe's environment or any child's argv.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W/data"; cd "$W" || exit 1
for p in 1 2; do printf 'bold %s\n' "$p" > "data/$p.nii"; done
emu_aws s3 cp --recursive --quiet data s3://hcp/in/ || exit 1
# The input key pair is the emulator's first identity; the default chain
# gives its second (container credentials with a session token).
IN_AKID=$EMU_AKID IN_SECRET=$EMU_SECRET_KEY
_emu_call POST secret "{\"name\": \"rapid/input\", \"value\": \"{\\\"IBS3SECRET\\\":\\\"$IN_AKID:$IN_SECRET\\\"}\"}" >/dev/null
ARN=$(emu_aws secretsmanager describe-secret --secret-id rapid/input --query ARN --output text)
like "$ARN" "^arn:aws:secretsmanager:" "the secret exists"
cat > Rapidfile <<'RF'
ps = 1 2
target a
    foreach p in $(ps)
    input  bold = s3://hcp/in/{p}.nii
    output dir  = s3://rapid-out/r/{p}/
    run sh -c 'mkdir -p "$2" && cat "$1" > "$2/bold.txt" && env > "$2/env.txt" && tr "\0" " " < /proc/$PPID/cmdline > "$2/parent-cmdline.txt" && tr "\0" " " < /proc/$$$$/cmdline > "$2/cmdline.txt" && echo logged' x {bold} {dir}
RF
# rapid as in a Batch container: no key in the environment, container
# credentials, the secret's ARN.
rapid() {
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u EMU_SECRET_KEY -u EMU_SECRET_KEY2 -u EMU_SESSION_TOKEN \
		AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN="$EMU_CONTAINER_AUTH" RAPID_INPUT_SECRET_ARN="$ARN" "$RAPID" "$@"
}
emu_reset
rapid build -v -j2 > build.out 2> build.err
is "$?" 0 "the build succeeds"
is "$(emu_count mismatches)" 0 "every signature matched"
is "$(emu_count GetSecretValue)" 2 "each runner fetched the secret once"

# Who signed what: the request log names each request's access key id.
emu_requests > reqs.json
/usr/bin/python3 - > signers.txt <<PY
import json, re
for r in json.load(open("reqs.json"))["requests"]:
    auth = {k.lower(): v for k, v in r["headers"].items()}.get("authorization", "")
    m = re.search(r"Credential=([A-Z0-9]+)/", auth)
    print(r["service"], r["op"], r["path"].split("/")[1] if r["service"] == "s3" else "-", m.group(1) if m else "none")
PY
is "$(grep -c " $IN_AKID\$" signers.txt)" "$(grep -c "^s3 GetObject hcp $IN_AKID\$" signers.txt)" \
	"the input key signs only the runners' reads of the input bucket"
is "$(grep -c "^s3 GetObject hcp $IN_AKID\$" signers.txt)" 2 "which are the two inputs' GETs"
is "$(grep -c "^s3 [A-Za-z]* rapid-out $EMU_AKID2\$" signers.txt)" "$(grep -c "^s3 [A-Za-z]* rapid-out " signers.txt)" \
	"every request to the output bucket is signed with the container credentials"
is "$(grep -c "^secretsmanager GetSecretValue - $EMU_AKID2\$" signers.txt)" 2 "and so is GetSecretValue"

# Nowhere to be found.
rm -rf got; mkdir got
emu_aws s3 cp --recursive --quiet s3://rapid-out/r/ got/
ok "$([ -s got/1/env.txt ] && [ -s got/1/cmdline.txt ] && [ -s got/1/parent-cmdline.txt ] && echo 0 || echo 1)" \
	"the recipe dumped its environment and argvs"
like "$(cat got/1/env.txt)" "^RAPID_INPUT_SECRET_ARN=$ARN\$" "the recipe sees the ARN (not a secret)"
like "$(cat got/1/parent-cmdline.txt)" "build -v -j2" "its parent is the runner"
ls got/.rapid/sentinels/a/1/*.ok.json > /dev/null 2>&1
is "$?" 0 "the sentinels were downloaded"
ls got/.rapid/logs/a/1/*.log > /dev/null 2>&1
is "$?" 0 "and the logs"
for what in "$IN_SECRET" "$IN_AKID"; do
	found=$(grep -rlaF -- "$what" build.out build.err got .rapid 2>/dev/null)
	is "$found" "" "'$what' is in no output, log, sentinel, state file, environment or argv"
done
ls .rapid/state/*.mdb > /dev/null 2>&1
is "$?" 0 "(the LMDB state was searched)"

# Without the secret the input bucket's requests use the default chain.
emu_aws s3 rm --recursive --quiet s3://rapid-out/r/
emu_reset
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN="$EMU_CONTAINER_AUTH" "$RAPID" build -j2 > /dev/null 2>&1
is "$?" 0 "a build without RAPID_INPUT_SECRET_ARN"
is "$(emu_requests_count "$IN_AKID/")" 0 "never uses the input key"
is "$(emu_count GetSecretValue)" 0 "nor asks for the secret"

# On a workstation: --input-profile NAME signs plan's and build's requests
# to the input bucket with that profile's keys, the rest with the default.
printf '[hcp]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$IN_AKID" "$IN_SECRET" > "$T_TMP/creds"
emu_aws s3 rm --recursive --quiet s3://rapid-out/r/
ws() {
	env AWS_SHARED_CREDENTIALS_FILE="$T_TMP/creds" AWS_ACCESS_KEY_ID="$EMU_AKID2" \
		AWS_SECRET_ACCESS_KEY="$EMU_SECRET_KEY2" AWS_SESSION_TOKEN="$EMU_SESSION_TOKEN" "$RAPID" "$@"
}
emu_reset
ws --input-profile hcp plan --refresh > /dev/null 2>&1
emu_requests > reqs.json
/usr/bin/python3 - > signers.txt <<PY
import json, re
for r in json.load(open("reqs.json"))["requests"]:
    auth = {k.lower(): v for k, v in r["headers"].items()}.get("authorization", "")
    m = re.search(r"Credential=([A-Z0-9]+)/", auth)
    print(r["service"], r["op"], r["path"].split("/")[1], m.group(1) if m else "none")
PY
is "$(grep -c "^s3 HeadObject hcp $IN_AKID\$" signers.txt)" 2 "plan: the inputs' HEADs use the input profile"
is "$(grep -c "^s3 ListObjectsV2 rapid-out $EMU_AKID2\$" signers.txt)" 2 "the output root's listings (sentinels, submissions) the default credentials"
is "$(grep -c "$IN_AKID\$" signers.txt)" 2 "and nothing else uses the input profile"
emu_reset
ws --input-profile hcp build -j2 > /dev/null 2>&1
is "$?" 0 "build --input-profile"
is "$(emu_requests_count "$IN_AKID/")" "$(emu_requests_count /hcp/in/)" "every request to the input bucket, and only those, use the input profile"
is "$(emu_requests_count /hcp/in/)" 2 "(the runners' two GETs)"
done_testing
