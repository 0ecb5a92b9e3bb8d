#!/bin/sh
# AWS Batch in the loopback emulator, in podman mode: each job runs as
# `podman run --rm --network host --pull=never -e NAME... IMAGE COMMAND` of
# its job definition's image, with Batch's environment passed by name (no
# value on a command line); an exit code, TerminateJob and a reclaimed
# host, and no container left behind. The image is a tiny one made here of
# the host's sh, env, cat and sleep, in a podman storage of the test's own.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
cd "$T_TMP" || exit 1

skip() { echo "1..0 # SKIP $1"; exit 0; }
command -v podman >/dev/null 2>&1 || skip "podman is not installed (make check installs it as root)"
[ "$(id -u)" = 0 ] || skip "podman mode is tested as root"
CTR=$T_TMP/ctr
RUNROOT=/run/rapid-test-batch.$$
mkdir -p "$CTR" "$RUNROOT" || skip "cannot create $RUNROOT"
export CONTAINERS_CONF=$CTR/containers.conf CONTAINERS_STORAGE_CONF=$CTR/storage.conf
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUNROOT/libpod"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$CTR/storage"
runroot = "$RUNROOT/storage"
EOF
left() { podman ps -a --filter name=rapid-batch- --format '{{.Names}}'; }
at_exit() {
	for c in $(left); do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
	rm -rf "$RUNROOT" "$CTR"
}
trap 'at_exit; rm -rf "$T_TMP"' EXIT

root=$CTR/rootfs
mkdir -p "$root/bin" "$root/usr/bin" "$root/proc" "$root/dev" "$root/sys" "$root/etc" "$root/tmp"
for b in /bin/sh /bin/cat /bin/sleep /usr/bin/env; do
	cp -L "$b" "$root$b" || skip "cannot copy $b"
	for l in $(ldd "$b" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$l")" && cp -L "$l" "$root$l"
	done
done
echo tiny-image-mark >"$root/etc/mark"
IMAGE=localhost/rapid-batch-tiny:1
why=$(tar -C "$root" -c . | podman import -q - "$IMAGE" 2>&1 >/dev/null) || skip "podman import: $why"
why=$(podman run --rm --network none --pull=never "$IMAGE" /bin/cat /etc/mark 2>&1)
[ "$why" = tiny-image-mark ] || skip "podman cannot run a container here: $(printf '%s' "$why" | head -1)"

emu_start
# A grace of 20 s: SIGTERM must reach the container through podman first.
emu_batch '{"queue": "q", "mode": "podman", "grace_s": 20}' >/dev/null
run emu_aws batch register-job-definition --job-definition-name tiny --type container \
	--container-properties "{\"image\": \"$IMAGE\", \"command\": [\"sh\", \"-c\", \"exit 0\"], \"environment\": [{\"name\": \"FROM_DEF\", \"value\": \"def\"}]}"
is "$RC" 0 "a job definition of the tiny image"
# submit NAME SCRIPT: a job running sh -c SCRIPT in the image; prints its id.
submit() {
	emu_aws batch submit-job --job-name "$1" --job-queue q --job-definition tiny \
		--container-overrides "$(/usr/bin/python3 -c 'import json, sys; print(json.dumps({"command": ["sh", "-c", sys.argv[1]]}))' "$2")" \
		--query jobId --output text
}
# running ID: wait until job ID is RUNNING (at most 3000 polls).
running() {
	_i=0
	while [ "$(emu_batch_job "$1" | emu_json 'j["status"]')" != RUNNING ] && [ $_i -lt 3000 ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ "$(emu_batch_job "$1" | emu_json 'j["status"]')" = RUNNING ]
}

id=$(submit envs 'cat /etc/mark; env')
is "$(emu_batch_wait "$id")" SUCCEEDED "a job in the container SUCCEEDED"
log=$(emu_batch_job "$id" | emu_json 'j["attempts"][0]["log"]')
like "$(cat "$log")" '^tiny-image-mark' "it ran in the job definition's image"
like "$(cat "$log")" "AWS_BATCH_JOB_ID=$id" "with AWS_BATCH_JOB_ID"
like "$(cat "$log")" "AWS_CONTAINER_CREDENTIALS_FULL_URI=$EMU_URL/__emu/container-credentials" "and the container credentials endpoint"
like "$(cat "$log")" "FROM_DEF=def" "and the definition's environment"
argv=$(emu_batch_job "$id" | emu_json '" ".join(j["attempts"][0]["command"])')
like "$argv" "^podman run --rm --network host --pull=never --name rapid-batch-[0-9a-f]+ .*-e AWS_CONTAINER_AUTHORIZATION_TOKEN .*$IMAGE sh -c" \
	"podman run --rm --network host --pull=never, the environment by name"
token=$(sed -n 's/^AWS_CONTAINER_AUTHORIZATION_TOKEN=//p' "$log")
unlike "$argv" "${token:-no token}" "the token is not on the command line"

id=$(submit four 'exit 4')
is "$(emu_batch_wait "$id")" FAILED "exit 4 in the container: FAILED"
run emu_aws batch describe-jobs --jobs "$id" --query 'jobs[0].[container.exitCode,statusReason]' --output text
is "$OUT" "4	Essential container in task exited" "with the container's exit code"

id=$(submit long 'trap "echo term; exit 7" TERM; echo ready; while :; do sleep 0.1; done')
running "$id"
log=$(emu_batch_job "$id" | emu_json 'j["attempts"][0]["log"]')
i=0
while ! grep -q ready "$log" && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
like "$(cat "$log")" '^ready' "a long job runs in its container"
emu_aws batch terminate-job --job-id "$id" --reason "enough"
is "$(emu_batch_wait "$id")" FAILED "terminate-job stops the container"
run emu_aws batch describe-jobs --jobs "$id" --query 'jobs[0].[statusReason,container.exitCode]' --output text
is "$OUT" "enough	7" "with the reason; podman passed SIGTERM on to the container, which exited 7"

id=$(submit host 'exec sleep 60')
running "$id"
emu_batch_reclaim "$id"
ok $? "emu_batch_reclaim of a job in a container"
is "$(emu_batch_wait "$id")" FAILED "the reclaimed job FAILED (no retries asked for)"
run emu_aws batch describe-jobs --jobs "$id" --query 'jobs[0].[statusReason,container.exitCode]' --output text
is "$OUT" "Host EC2 (instance i-0123456789abcdef0) terminated.	None" "Host EC2 ... terminated., no exit code"
i=0
while [ -n "$(left)" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
is "$(left)" "" "no container is left"

done_testing
