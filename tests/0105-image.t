#!/bin/sh
# The runner image for real: runner/Containerfile built with podman on the
# tests' base image (BUILDER and BASE both; no network in the build),
# pushed to Debian's docker-registry on loopback, pulled back and run by
# its digest: its command (the job definition's, rapid runner), rapid's
# help, then `rapid runner --spec -` of one instance whose output root is
# a folder mounted from here, which writes its output and ok sentinel
# there. ctr_run (tests/containers.sh) runs the image with the AWS_*,
# ECS_* and RAPID_* variables of the environment passed by name (checked
# below). Then two array children of a manifest in S3 run as
# `podman run --network host IMAGE@DIGEST rapid runner --manifest …`
# against the emulator (tests/emu.sh, reached on 127.0.0.1), as Batch
# runs them: S3 inputs staged, outputs and sentinels uploaded, and their
# sentinels record the digest the ECS task metadata names.
. "$(dirname "$0")/lib.sh"
if grep -q __asan_init "$RAPID"; then
	echo "1..0 # SKIP real containers: not under the sanitizer"
	exit 0
fi
. "$TESTS_DIR/containers.sh"
ctr_setup
ctr_registry_start
TOP=$(cd "$TESTS_DIR/.." && pwd)
# a name of this run's own: another test run may build other sources at the same time
LOCAL=localhost/rapid-runner-test:run$$
ctr_forget "$LOCAL"

# ok_rc NAME: RC was 0; else the end of what the command said.
ok_rc() {
	if [ "$RC" = 0 ]; then _report 0 "$1"
	else _report 1 "$1" "$(printf 'exit %s\n%s\n%s' "$RC" "$(printf '%s\n' "$OUT" | tail -15)" "$(printf '%s\n' "$ERR" | tail -15)")"; fi
}

# ---- build: layers cached in the tests' storage between runs ----
run podman build --pull=never --layers --network=none \
	--build-arg BUILDER="$CTR_BASE:$CTR_KEY" --build-arg BASE="$CTR_BASE:$CTR_KEY" \
	-f "$TOP/runner/Containerfile" -t "$LOCAL" "$TOP"
ok_rc "runner/Containerfile builds on the base image, without network"
# what older runs left (their images are the layer cache of the next)
podman image prune -f --filter until=24h >/dev/null 2>&1
is "$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$LOCAL" 2>&1)" \
   'null ["rapid","runner"]' "no entry point; the command is rapid runner, as the job definition's"

# ---- push, digest, pull by digest ----
run podman push -q --tls-verify=false --digestfile "$T_TMP/digest" "$LOCAL" "$CTR_REGISTRY/rapid-runner:test"
ok_rc "pushed to the loopback registry"
DIGEST=$(cat "$T_TMP/digest" 2>/dev/null)
like "$DIGEST" '^sha256:[0-9a-f]{64}$' "the push gives the manifest's digest"
is "$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$CTR_REGISTRY/rapid-runner:test" 2>&1)" \
   "$DIGEST" "the registry serves that digest for the tag"
IMG=$CTR_REGISTRY/rapid-runner@$DIGEST
ctr_forget "$IMG"
run podman pull -q --tls-verify=false "$IMG"
ok_rc "pulled back by digest"

# ---- run by digest ----
run ctr_run "$IMG" rapid version
is "$OUT" "$("$RAPID" version)" "podman run IMAGE@DIGEST rapid version: rapid's version"
run ctr_run "$IMG" rapid build --help
is "$OUT" "$("$RAPID" build --help)" "the image's rapid is built from this tree (same build --help)"

W=$T_TMP/w
mkdir -p "$W"
printf 'from the host\n' >"$W/in.txt"
KEY=0123456789abcdef0123456789abcdef
cat >"$T_TMP/spec.json" <<EOF
{"schema": 1, "target": "inside", "wildcards": [["participant", "01"]], "key": "$KEY",
 "root": "$W/out/", "sentinel_dir": "$W/out/.rapid/sentinels/inside/01/",
 "log_dir": "$W/out/.rapid/logs/inside/01/",
 "argv": [["sh"], ["-c"], ["cat $CTR_MARK \"\$1\" >\"\$2\""], ["sh"], [{"input": "src"}], [{"output": "res"}]],
 "command": ["sh", "-c", "cat $CTR_MARK \"\$1\" >\"\$2\"", "sh", "in.txt", "out/res.txt"],
 "inputs": [{"name": "src", "uri": "in.txt", "path": "$W/in.txt", "fingerprint": "size=14"}],
 "outputs": [{"name": "res", "uri": "out/res.txt", "path": "$W/out/res.txt", "dir": false}],
 "image": "$IMG"}
EOF
[ ! -e "$CTR_MARK" ]
ok $? "this machine has no $CTR_MARK (only the base image has it)"
run ctr_run -i -v "$W:$W" "$IMG" rapid runner --spec - <"$T_TMP/spec.json"
ok_rc "rapid runner --spec - in the container"
is "$(cat "$W/out/res.txt" 2>&1)" "$(printf '%s\nfrom the host' "$CTR_KEY")" \
   "the output, written in the image from the mounted input, is in place"
OKS=$W/out/.rapid/sentinels/inside/01/$KEY.ok.json
ok "$([ -f "$OKS" ]; echo $?)" "its ok sentinel is written"
is "$(ls "$W/out/.rapid/sentinels/inside/01/" 2>&1)" "$KEY.ok.json" "no running sentinel left"
like "$(cat "$OKS" 2>&1)" "\"requested\": *\"$CTR_REGISTRY/rapid-runner@$DIGEST\"" "the sentinel names the image"
with_vars() (
	export AWS_RAPID_TEST_VALUE=by-name ECS_RAPID_TEST=e RAPID_TEST_ONLY=r
	ctr_run "$@"
)
run with_vars "$IMG" sh -c 'echo "$AWS_RAPID_TEST_VALUE $ECS_RAPID_TEST $RAPID_TEST_ONLY"'
is "$OUT" "by-name e r" "ctr_run passes the AWS_*, ECS_* and RAPID_* variables"
# ---- two array children of a manifest, by digest, against the emulator ----
# As Batch runs them: the job's command (rapid runner --manifest …), the
# AWS_BATCH_* variables, the job role's container credentials, the ECS
# task metadata (which names the image by its digest) and IMDSv2, all
# served by the emulator on loopback. Inputs and outputs are in S3.
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
emu_start rapid-ctr
B=s3://rapid-ctr
for p in p01 p02; do
	printf 'input of %s\n' $p >"$T_TMP/$p.txt"
	"$TOOLDIR/s3tool" put "$T_TMP/$p.txt" "$B/in/$p.txt" >/dev/null || echo "cannot put $p" >&2
done
/usr/bin/python3 - "$B" "$CTR_MARK" "$IMG" >"$T_TMP/list" <<'PY'
import json, sys
b, mark = sys.argv[1], sys.argv[2]
root = b + "/out/"
for i, p in enumerate(("p01", "p02")):
    key = "%032x" % (0xc0ffee00 + i)
    code = 'cat %s "$1" >"$2"' % mark
    spec = {"schema": 1, "target": "inside", "wildcards": [["participant", p]], "key": key,
            "root": root, "sentinel_dir": "%s.rapid/sentinels/inside/%s/" % (root, p),
            "log_dir": "%s.rapid/logs/inside/%s/" % (root, p),
            "argv": [["sh"], ["-c"], [code], ["sh"], [{"input": "src"}], [{"output": "res"}]],
            "inputs": [{"name": "src", "uri": "%s/in/%s.txt" % (b, p), "path": "%s/in/%s.txt" % (b, p),
                        "fingerprint": "etag"}],
            "outputs": [{"name": "res", "uri": "%s%s/res.txt" % (root, p), "path": "%s%s/res.txt" % (root, p),
                         "dir": False}],
            "image": sys.argv[3]}
    print("\t".join([p, json.dumps(spec)]))
PY
"$TOOLDIR/mkmanifest" "$T_TMP/manifest.jsonl" "$T_TMP/manifest.idx" <"$T_TMP/list"
M=$B/.rapid/submissions/20261202T031500Z-7f3a/inside/0
"$TOOLDIR/s3tool" put "$T_TMP/manifest.jsonl" "$M/manifest.jsonl" >/dev/null &&
	"$TOOLDIR/s3tool" put "$T_TMP/manifest.idx" "$M/manifest.idx" >/dev/null
ok $? "a manifest of two participants is in S3"
emu_reset # (which also resets the metadata services)
curl -sf -X POST -d "{\"image_id\": \"$DIGEST\", \"image\": \"$IMG\", \"instance_type\": \"m7g.2xlarge\"}" \
	"$EMU_URL/__emu/metadata" >/dev/null
ok $? "the emulator's ECS metadata names the image by its digest"
# child INDEX: one array child, as Batch starts it
child() (
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
	export AWS_CONTAINER_CREDENTIALS_FULL_URI="$EMU_URL/__emu/container-credentials" \
		AWS_CONTAINER_AUTHORIZATION_TOKEN="$EMU_CONTAINER_AUTH" \
		ECS_CONTAINER_METADATA_URI_V4="$EMU_URL/__emu/ecs-metadata" \
		AWS_EC2_METADATA_SERVICE_ENDPOINT="$EMU_URL/__emu/imds" \
		AWS_BATCH_JOB_ID=6f1c2d3e-0000-4000-8000-00000000000a:$1 AWS_BATCH_JOB_ARRAY_INDEX=$1 AWS_BATCH_JOB_ATTEMPT=1
	ctr_run --workdir /tmp "$IMG" rapid runner --manifest "$M/manifest.jsonl"
)
for ix in 0 1; do
	run child $ix
	ok_rc "array child $ix: podman run IMAGE@DIGEST rapid runner --manifest"
done
for ix in 0 1; do
	p=p0$((ix + 1))
	key=$(printf '%032x' $((0xc0ffee00 + ix)))
	is "$(emu_aws s3 cp "$B/out/$p/res.txt" - 2>&1)" "$(printf '%s\ninput of %s' "$CTR_KEY" $p)" \
	   "child $ix: its output, made inside the image from its staged input, is in S3"
	body=$(emu_aws s3 cp "$B/out/.rapid/sentinels/inside/$p/$key.ok.json" - 2>&1)
	like "$body" "\"digest\": *\"$DIGEST\"" "child $ix: its ok sentinel records the digest that ran"
	like "$body" "\"array_index\": *$ix[,}]" "child $ix: and its array index"
	like "$body" "\"batch_job_id\": *\"6f1c2d3e-0000-4000-8000-00000000000a:$ix\"" "child $ix: and its job id"
	like "$body" "\"instance_type\": *\"m7g.2xlarge\"" "child $ix: and the instance type (IMDSv2)"
done
is "$(emu_count mismatches)" 0 "0 signature mismatches"
is "$(emu_count GetSecretValue)" 0 "no secret asked for (RAPID_INPUT_SECRET_ARN unset)"
is "$(ctr_left)" "" "no container left"
# The batch backend end to end with the emulator's compute environment in
# podman mode: rapid build --backend batch submits 3 participants, and
# Batch runs each child as `podman run --network host IMAGE@DIGEST rapid
# runner --manifest …` of the job definition's image.
mkdir -p "$T_TMP/bw" && cd "$T_TMP/bw" || exit 1
export RAPID_STACK_FILE="$T_TMP/bw/no-stack.json"
for p in 100101 100102 100103; do
	printf 'bold of %s\n' $p >"$T_TMP/$p.txt"
	"$TOOLDIR/s3tool" put "$T_TMP/$p.txt" "$B/bin/$p.txt" >/dev/null || echo "cannot put $p" >&2
done
cat >Rapidfile <<RF
ps = 100101 100102 100103
target inside
    foreach participant in \$(ps)
    input  src = $B/bin/{participant}.txt
    output res = $B/bout/{participant}/res.txt
    image  $IMG
    run sh -c 'cat $CTR_MARK "\$1" > "\$2"' sh {src} {res}
RF
emu_batch "{\"queue\": \"rq\", \"mode\": \"podman\", \"job_role\": \"$EMU_AKID2\", \"image_ids\": {\"$IMG\": \"$DIGEST\"}}" >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties "{\"image\": \"$IMG\", \"command\": [\"rapid\", \"runner\"], \"resourceRequirements\": [{\"type\": \"VCPU\", \"value\": \"1\"}, {\"type\": \"MEMORY\", \"value\": \"2048\"}]}" >/dev/null
run "$RAPID" build --backend batch --job-queue rq --job-definition rd
ok_rc "build --backend batch of 3 participants in podman mode"
job=$(emu_batch_state | emu_json '[x["id"] for x in j["jobs"] if x["name"].startswith("rapid-inside-")][-1]')
is "$(emu_batch_job "$job" | emu_json 'j["submit"]["arrayProperties"]["size"]')" 3 "one array job of 3 children"
is "$(emu_batch_wait "$job")" SUCCEEDED "the children ran in the image and succeeded"
for p in 100101 100102 100103; do
	is "$(emu_aws s3 cp "$B/bout/$p/res.txt" - 2>&1)" "$(printf '%s\nbold of %s' "$CTR_KEY" $p)" \
	   "participant $p: made inside the image, in S3"
done
oks=$(emu_aws s3 ls --recursive "$B/bout/.rapid/sentinels/inside/" | awk '{print $4}' | grep '\.ok\.json$')
is "$(printf '%s\n' "$oks" | grep -c .)" 3 "3 ok sentinels"
first=$(printf '%s\n' "$oks" | head -n 1)
like "$(emu_aws s3 cp "s3://rapid-ctr/$first" - 2>&1)" "\"digest\": *\"$DIGEST\"" "a sentinel records the digest that ran"
run "$RAPID" plan --exit-code
is "$RC" 0 "the next plan is clean"
is "$(emu_count mismatches)" 0 "0 signature mismatches"
is "$(ctr_left)" "" "no container left"
done_testing
