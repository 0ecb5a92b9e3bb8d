#!/bin/sh
# The runner image for real: runner/Containerfile built with podman on the
# tests' base image (BUILDER and BASE both; no network in the build),
# pushed to Debian's docker-registry on loopback, pulled back and run by
# its digest: its command (the job definition's, rapid runner), rapid's
# help, then `rapid runner --spec -` of one instance whose output root is
# a folder mounted from here, which writes its output and ok sentinel
# there. ctr_run (tests/containers.sh) runs the image with the AWS_*,
# ECS_* and RAPID_* variables of the environment passed by name (checked
# below), so a child of a manifest
# on the emulator (tests/emu.sh, reached on 127.0.0.1 through --network
# host) runs the same way.
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
is "$(ctr_left)" "" "no container left"
done_testing
