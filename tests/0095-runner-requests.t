#!/bin/sh
# The runner's own requests for one Batch array child: a participant with
# four runs (four instances, each one S3 input and a directory output of
# one file), as `rapid runner --manifest` runs them. Counted by the
# emulator, by operation, and checked against the runner's budget
# (docs/BENCHMARKS.md, "The runner's requests"): per child 2 ranged GETs
# of the manifest; per instance 1 LIST of its sentinel folder, 2 PUTs to
# claim it (the claim object, the running sentinel), the log, the ok
# sentinel, 2 DELETEs (running and claim); plus one GET per input object
# and one PUT per output part. With the input bucket's key pair in a
# Secrets Manager secret (RAPID_INPUT_SECRET_ARN), the child fetches it
# once, not once per instance.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
emu_start ovh ovh-in
B=s3://ovh
RUNS="REST1_LR REST1_RL REST2_LR REST2_RL"
for r in $RUNS; do
	printf 'bold %s\n' $r >"$T_TMP/$r"
	"$S3TOOL" put "$T_TMP/$r" s3://ovh-in/100307/$r.nii.gz >/dev/null
done
/usr/bin/python3 - "$B" $RUNS >"$T_TMP/list" <<'PY'
import json, sys
b, runs = sys.argv[1], sys.argv[2:]
root, p, specs = b + "/out/", "100307", []
for i, r in enumerate(runs):
    specs.append(json.dumps({
        "schema": 1, "target": "rapidtide", "wildcards": [["participant", p], ["run", r]],
        "key": "%032x" % (0xabc00 + i), "root": root,
        "sentinel_dir": "%s.rapid/sentinels/rapidtide/%s/%s/" % (root, p, r),
        "log_dir": "%s.rapid/logs/rapidtide/%s/%s/" % (root, p, r),
        "argv": [["sh"], ["-c"], ['cat "$1" >"$2"'], ["sh"], [{"input": "bold"}], [{"output": "dir"}, "maps.txt"]],
        "inputs": [{"name": "bold", "uri": "s3://ovh-in/%s/%s.nii.gz" % (p, r),
                    "path": "s3://ovh-in/%s/%s.nii.gz" % (p, r), "fingerprint": "etag"}],
        "outputs": [{"name": "dir", "uri": "%ssub-%s/%s/" % (root, p, r),
                     "path": "%ssub-%s/%s/" % (root, p, r), "dir": True}]}))
print("\t".join([p] + specs))
PY
"$TOOLDIR/mkmanifest" "$T_TMP/m.jsonl" "$T_TMP/m.idx" <"$T_TMP/list"
M=$B/.rapid/submissions/20261202T031500Z-7f3a/rapidtide/0
"$S3TOOL" put "$T_TMP/m.jsonl" $M/manifest.jsonl >/dev/null && "$S3TOOL" put "$T_TMP/m.idx" $M/manifest.idx >/dev/null
ok $? "a manifest of one participant with 4 runs"
emu_reset
run env AWS_BATCH_JOB_ID=6f1c2d3e-0000-4000-8000-000000000001 AWS_BATCH_JOB_ATTEMPT=1 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "the child builds its 4 instances"
like "$ERR" "participant 100307: 4 ok, 0 held by another runner, 0 failed" "it says so"
G=$(emu_count GetObject) L=$(emu_count ListObjectsV2) P=$(emu_count PutObject) D=$(emu_count DeleteObject)
N=4
is "$G $L $P $D" "$((2 + N)) $N $((4 * N + N)) $((2 * N))" \
   "requests: 2+$N GET (manifest, inputs), $N LIST, $((4 * N))+$N PUT (claim, running, log, ok; outputs), $((2 * N)) DELETE"
echo "# the runner's own requests for a participant with $N runs: $((G + L + P + D - N - N)) (GET $((G - N)), LIST $L, PUT $((P - N)), DELETE $D), besides $N input GETs and $N output PUTs"
is "$(emu_count mismatches)" 0 "0 signature mismatches"

# The same child in Batch's shape: container credentials, the input
# bucket's key pair from the secret (the emulator's first credential).
_emu_call POST secret "{\"name\": \"rapid/input\", \"value\": \"{\\\"IBS3SECRET\\\":\\\"$EMU_AKID:$EMU_SECRET_KEY\\\"}\"}" >/dev/null
ARN=$(emu_aws secretsmanager describe-secret --secret-id rapid/input --query ARN --output text)
emu_aws s3 rm --recursive --quiet s3://ovh/out/
emu_reset
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN="$EMU_CONTAINER_AUTH" RAPID_INPUT_SECRET_ARN="$ARN" \
	AWS_BATCH_JOB_ID=6f1c2d3e-0000-4000-8000-000000000002 AWS_BATCH_JOB_ATTEMPT=1 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "with the input secret: the child builds its 4 instances"
is "$(emu_count GetSecretValue)" 1 "it fetches the secret once for its 4 instances"
is "$(emu_requests_count "Credential=$EMU_AKID/")" $N "the secret's key pair signs the $N input GETs, nothing else"
is "$(emu_count mismatches)" 0 "0 signature mismatches"
done_testing
