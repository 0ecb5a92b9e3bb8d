#!/bin/sh
# The runner's own requests for one Batch array child: a participant with
# four runs (four instances, each one S3 input and a directory output of
# one file), as `rapid runner --manifest` runs them. Counted by the
# emulator, by operation, and checked against the runner's budget
# (docs/BENCHMARKS.md, "The runner's requests"): per child 2 ranged GETs
# of the manifest and 1 LIST of the participant's sentinel folders; per
# instance 2 PUTs to claim it (the claim object, the running sentinel),
# the log, the ok sentinel, 1 DeleteObjects (running and claim); plus one
# GET per input object and one PUT per output part. What the one listing
# says holds as a listing per folder would: built instances are skipped,
# another job's live claim is left alone, a dead attempt's is taken over
# and its running sentinel pruned. With the input bucket's key pair in a
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
specs() {
/usr/bin/python3 - "$@" <<'PY'
import json, os, sys
b, base, first, runs = sys.argv[1], int(sys.argv[2], 16), sys.argv[3], sys.argv[4:]
root, p, specs = b + "/out/", "100307", []
for i, r in enumerate(runs):
    specs.append(json.dumps({
        "schema": 1, "target": "rapidtide", "wildcards": [["participant", p], ["run", r]],
        "key": "%032x" % (base + i), "root": root,
        "sentinel_dir": "%s.rapid/sentinels/rapidtide/%s/%s/" % (root, p, r),
        "log_dir": "%s.rapid/logs/rapidtide/%s/%s/" % (root, p, r),
        "argv": [["sh"], ["-c"], [first if i == 0 and first else 'cat "$1" >"$2"'], ["sh"], [{"input": "bold"}],
                 [{"output": "dir"}, "maps.txt"]],
        "inputs": [{"name": "bold", "uri": "s3://ovh-in/%s/%s.nii.gz" % (p, r),
                    "path": "s3://ovh-in/%s/%s.nii.gz" % (p, r), "fingerprint": "etag"}],
        "outputs": [{"name": "dir", "uri": "%ssub-%s/%s/" % (root, p, r),
                     "path": "%ssub-%s/%s/" % (root, p, r), "dir": True}]}))
print("\t".join([p] + specs))
PY
}
specs "$B" abc00 "" $RUNS >"$T_TMP/list"
"$TOOLDIR/mkmanifest" "$T_TMP/m.jsonl" "$T_TMP/m.idx" <"$T_TMP/list"
M=$B/.rapid/submissions/20261202T031500Z-7f3a/rapidtide/0
"$S3TOOL" put "$T_TMP/m.jsonl" $M/manifest.jsonl >/dev/null && "$S3TOOL" put "$T_TMP/m.idx" $M/manifest.idx >/dev/null
ok $? "a manifest of one participant with 4 runs"
emu_reset
run env AWS_BATCH_JOB_ID=6f1c2d3e-0000-4000-8000-000000000001 AWS_BATCH_JOB_ATTEMPT=1 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "the child builds its 4 instances"
like "$ERR" "participant 100307: 4 ok, 0 held by another runner, 0 failed" "it says so"
counts() {
	echo "GET $(emu_count GetObject) HEAD $(emu_count HeadObject) LIST $(emu_count ListObjectsV2)" \
	     "PUT $(emu_count PutObject) DELETE $(emu_count DeleteObject) DELETES $(emu_count DeleteObjects)"
}
sentinels() {
	emu_aws s3 ls --recursive s3://ovh/out/.rapid/sentinels/ | awk '{print $4}' |
		sed 's|^out/.rapid/sentinels/rapidtide/100307/||' | sort
}
N=4
is "$(counts)" "GET $((2 + N)) HEAD 0 LIST 1 PUT $((4 * N + N)) DELETE 0 DELETES $N" \
   "requests: 2+$N GET (manifest, inputs), 1 LIST, $((4 * N))+$N PUT (claim, running, log, ok; outputs), $N DeleteObjects"
echo "# the runner's own requests for a participant with $N runs: $((2 + 1 + 4 * N + N)) (GET 2, LIST 1, PUT $((4 * N)), DeleteObjects $N), besides $N input GETs and $N output PUTs"
is "$(emu_count mismatches)" 0 "0 signature mismatches"
K0=$(printf %032x $((0xabc00))) K1=$(printf %032x $((0xabc01))) K2=$(printf %032x $((0xabc02))) K3=$(printf %032x $((0xabc03)))
is "$(sentinels | tr '\n' ' ')" "REST1_LR/${K0}.ok.json REST1_RL/${K1}.ok.json REST2_LR/${K2}.ok.json REST2_RL/${K3}.ok.json " \
   "what is left: the 4 ok sentinels, no claim, no running sentinel"

# Again: the one listing says all 4 are built.
emu_reset
run env AWS_BATCH_JOB_ID=6f1c2d3e-0000-4000-8000-000000000001 AWS_BATCH_JOB_ATTEMPT=2 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "built already: exit 0"
like "$ERR" "participant 100307: 4 ok, 0 held by another runner, 0 failed" "4 ok"
is "$(counts)" "GET 2 HEAD 0 LIST 1 PUT 0 DELETE 0 DELETES 0" "requests: the manifest's 2 GETs and 1 LIST, nothing else"

# From scratch, with REST1_RL held by another job (its claim and running
# sentinel) and REST1_LR left by this job's attempt 1, killed (its claim
# and running sentinel): attempt 2 skips the first, takes over the
# second (If-Match on the claim; its holder named by the running
# sentinel, so no GET) and prunes the dead running sentinel.
emu_aws s3 rm --recursive --quiet s3://ovh/out/
S=s3://ovh/out/.rapid/sentinels/rapidtide/100307
J=6f1c2d3e-0000-4000-8000-000000000003 OTHER=6f1c2d3e-0000-4000-8000-0000000000ff
printf '{"holder":"%s.1"}' $OTHER >"$T_TMP/other.claim" && printf '{"holder":"%s.1"}' $J >"$T_TMP/dead.claim"
echo '{}' >"$T_TMP/running"
"$S3TOOL" put "$T_TMP/other.claim" $S/REST1_RL/$K1.claim.json >/dev/null &&
"$S3TOOL" put "$T_TMP/running" $S/REST1_RL/$K1.running.$OTHER.1.json >/dev/null &&
"$S3TOOL" put "$T_TMP/dead.claim" $S/REST1_LR/$K0.claim.json >/dev/null &&
"$S3TOOL" put "$T_TMP/running" $S/REST1_LR/$K0.running.$J.1.json >/dev/null
ok $? "another job's live claim on REST1_RL, attempt 1's dead one on REST1_LR"
emu_reset
run env AWS_BATCH_JOB_ID=$J AWS_BATCH_JOB_ATTEMPT=2 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "held is not failed: exit 0"
like "$ERR" "REST1_RL.*held by $OTHER.1: not run" "REST1_RL: held by the other job"
like "$ERR" "participant 100307: 3 ok, 1 held by another runner, 0 failed" "3 built, 1 held"
is "$(counts)" "GET 5 HEAD 0 LIST 2 PUT 15 DELETE 0 DELETES 3" \
   "requests: 2+3 GET (no GET of a claim), 1+1 LIST (the taken-over output folder, replaced), 12+3 PUT, 3 DeleteObjects"
is "$(sentinels | tr '\n' ' ')" "REST1_LR/${K0}.ok.json REST1_RL/${K1}.claim.json REST1_RL/${K1}.running.$OTHER.1.json REST2_LR/${K2}.ok.json REST2_RL/${K3}.ok.json " \
   "the other job's claim untouched; attempt 1's claim and running sentinel gone"
is "$(emu_count mismatches)" 0 "0 signature mismatches"

# Interrupted while its first instance runs (the recipe sends the
# runner SIGTERM): that instance's running sentinel stays, saying so;
# the claims of all four go, those of the three never started included,
# so that a retry finds them free.
emu_aws s3 rm --recursive --quiet s3://ovh/out/
specs "$B" def00 'kill -TERM $PPID; exec sleep 5' $RUNS >"$T_TMP/list2"
"$TOOLDIR/mkmanifest" "$T_TMP/m2.jsonl" "$T_TMP/m2.idx" <"$T_TMP/list2"
M2=$B/.rapid/submissions/20261202T031500Z-7f3a/rapidtide/1
"$S3TOOL" put "$T_TMP/m2.jsonl" $M2/manifest.jsonl >/dev/null && "$S3TOOL" put "$T_TMP/m2.idx" $M2/manifest.idx >/dev/null
emu_reset
run env AWS_BATCH_JOB_ID=$J AWS_BATCH_JOB_ATTEMPT=1 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M2/manifest.jsonl
is "$RC" 143 "interrupted: 128 + SIGTERM"
like "$ERR" "participant 100307: 0 ok, 0 held by another runner, 1 failed, the rest not started" "the rest not started"
is "$(sentinels | tr '\n' ' ')" "REST1_LR/$(printf %032x $((0xdef00))).running.$J.1.json " \
   "what is left: the interrupted instance's running sentinel, no claim"
is "$(emu_count PutObject) $(emu_count DeleteObjects)" "7 4" \
   "requests: 4 claims, the running sentinel (twice: started, interrupted), the log; 4 DeleteObjects of the claims"

# Attempt 1 killed outright in its first instance: all four claims are
# left, and the first one's running sentinel. Attempt 2 knows each claim
# for its attempt 1's by its ETag (no GET), takes the four over, and only
# the one that had started has its output folder listed to be replaced.
emu_aws s3 rm --recursive --quiet s3://ovh/out/
for k in "REST1_LR $K0" "REST1_RL $K1" "REST2_LR $K2" "REST2_RL $K3"; do
	set -- $k
	"$S3TOOL" put "$T_TMP/dead.claim" $S/$1/$2.claim.json >/dev/null || echo fail
done >"$T_TMP/seeded"
"$S3TOOL" put "$T_TMP/running" $S/REST1_LR/$K0.running.$J.1.json >/dev/null
is "$(cat "$T_TMP/seeded")" "" "attempt 1's four claims, and its first instance's running sentinel"
emu_reset
run env AWS_BATCH_JOB_ID=$J AWS_BATCH_JOB_ATTEMPT=2 AWS_BATCH_JOB_ARRAY_INDEX=0 \
	AWS_EC2_METADATA_DISABLED=true "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 0 "attempt 2 builds the 4"
is "$(counts)" "GET $((2 + N)) HEAD 0 LIST 2 PUT $((4 * N + N)) DELETE 0 DELETES $N" \
   "requests: no GET of a claim, 1+1 LIST (the started instance's output folder)"
is "$(sentinels | tr '\n' ' ')" "REST1_LR/${K0}.ok.json REST1_RL/${K1}.ok.json REST2_LR/${K2}.ok.json REST2_RL/${K3}.ok.json " \
   "the 4 ok sentinels, nothing of attempt 1"

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
