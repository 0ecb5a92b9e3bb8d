#!/bin/sh
# Every AWS failure is reported once, as "rapid: cannot <what>: <reason>":
# missing credentials, an endpoint where nothing listens, a 403 (a wrong
# secret key: SignatureDoesNotMatch; an unknown key id: InvalidAccessKeyId),
# no region and a malformed endpoint, for `rapid plan` on an S3 Rapidfile
# and for `rapid stack info`. aws/ prints nothing and the caller reports
# once, so stderr is exactly the one line pinned here (a regression test
# for the second line the library used to add).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu.sh"
emu_start hcp-in rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
emu_seed '{"bucket": "hcp-in", "keys": ["HCP/100001/bold.nii.gz", "HCP/100002/bold.nii.gz"], "body": "b"}' >/dev/null
cat > Rapidfile <<'RF'
HCP = s3://hcp-in/HCP
OUT = s3://rapid-out/rt
participants = 100001 100002

target rapidtide
    foreach participant in $(participants)
    input   bold = $(HCP)/{participant}/bold.nii.gz
    output  dir  = $(OUT)/sub-{participant}/
    image   example/rapidtide:1.0
    run rapidtide {bold} {dir}
RF
# The same inputs with a local output root: plan asks S3 for the inputs
# only (one HEAD each), so every request fails the same way.
mkdir -p local && sed 's|^OUT = .*|OUT = out|' Rapidfile > local/Rapidfile

# A loopback port where nothing listens.
DEAD=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
NOCREDS="rapid: cannot find AWS credentials: none in the environment, profile 'default', container credentials, IMDS (disabled by AWS_EC2_METADATA_DISABLED)"
SENT="s3://rapid-out/rt/.rapid/sentinels/rapidtide/"
S3_MISMATCH="403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method."
CFN_MISMATCH="403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

nocreds() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED=true "$@"; }

run "$RAPID" plan
is "$RC" 0 "the Rapidfile plans against the emulator"

# ---- missing credentials ----
emu_reset
run nocreds "$RAPID" plan
is "$RC $ERR" "1 $NOCREDS" "plan without credentials: one line"
is "$(emu_requests | sed -n 's/^{"count": \([0-9]*\).*/\1/p')" 0 "... and no request sent"
cd "$W/local"; run nocreds "$RAPID" plan; cd "$W"
is "$RC $ERR" "1 $NOCREDS" "plan of S3 inputs without credentials: one line for all inputs"
run nocreds "$RAPID" stack info --name rapid
is "$RC $ERR" "1 $NOCREDS" "stack info without credentials: one line"

# ---- nothing listening ----
run env AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot list '$SENT': cannot connect to 127.0.0.1:$DEAD: Connection refused (after 3 attempts)" \
	"plan against a refused endpoint: one line"
cd "$W/local"; run env AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" "$RAPID" plan; cd "$W"
is "$RC $ERR" "1 rapid: cannot head 's3://hcp-in/HCP/100001/bold.nii.gz': cannot connect to 127.0.0.1:$DEAD: Connection refused (after 3 attempts)" \
	"plan of S3 inputs against a refused endpoint: one line for all inputs"
run env AWS_ENDPOINT_URL="http://127.0.0.1:$DEAD" "$RAPID" stack info --name rapid
is "$RC $ERR" "1 rapid: cannot describe stack 'rapid': cannot connect to 127.0.0.1:$DEAD: Connection refused (after 3 attempts)" \
	"stack info against a refused endpoint: one line"

# ---- 403 ----
emu_reset
run env AWS_SECRET_ACCESS_KEY=wrongSECRETkey0000000000000000000000000 "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot list '$SENT': $S3_MISMATCH" "plan with a wrong secret key: one line"
is "$(emu_count ListObjectsV2)" 1 "... after one request (a 403 is not retried)"
run env AWS_SECRET_ACCESS_KEY=wrongSECRETkey0000000000000000000000000 "$RAPID" stack info --name rapid
is "$RC $ERR" "1 rapid: cannot describe stack 'rapid': $CFN_MISMATCH" \
	"stack info with a wrong secret key: one line (CloudFormation's canonical request left out)"
run env AWS_ACCESS_KEY_ID=AKIDNOSUCHKEY0000000 "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot list '$SENT': 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records." \
	"plan with an unknown access key: one line"

# ---- configuration ----
run env -u AWS_REGION -u AWS_DEFAULT_REGION "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot use S3: no AWS region: set AWS_REGION or a profile's region" "plan without a region: one line"
run env AWS_ENDPOINT_URL=ftp://x "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot use endpoint 'ftp://x' (from AWS_ENDPOINT_URL): the scheme must be http or https" \
	"plan with a malformed endpoint: one line"
run env AWS_MAX_ATTEMPTS=many "$RAPID" plan
is "$RC $ERR" "1 rapid: cannot use AWS_MAX_ATTEMPTS 'many': not a number of attempts from 1 to 100" \
	"plan with a malformed AWS_MAX_ATTEMPTS: one line"
run env AWS_ENDPOINT_URL=ftp://x "$RAPID" stack info --name rapid
is "$RC $ERR" "1 rapid: cannot use endpoint 'ftp://x' (from AWS_ENDPOINT_URL): the scheme must be http or https" \
	"stack info with a malformed endpoint: one line"
run env -u AWS_REGION -u AWS_DEFAULT_REGION "$RAPID" stack info --name rapid
is "$RC $ERR" "1 rapid: cannot use CloudFormation: no AWS region: set AWS_REGION or a profile's region" \
	"stack info without a region: one line"

done_testing
