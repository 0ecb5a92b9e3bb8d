#!/bin/sh
# rapid build --container podman: a target that names an image runs its
# recipe in that image (podman on the tests' base image), with its inputs
# and scratch folder mounted at the same paths; a target without one runs
# here, said once. A recipe's exit status, a timeout and an interrupted
# build inside the container, and no container is left behind.
. "$(dirname "$0")/lib.sh"
if grep -q __asan_init "$RAPID"; then
	echo "1..0 # SKIP real containers: not under the sanitizer"
	exit 0
fi
PY=/usr/bin/python3
jf() { # FILE EXPR: a Python expression over the JSON in FILE (as d)
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

cd "$T_TMP" || exit 1
run "$RAPID" build --container lxc
is "$RC" 2 "an unknown container tool is a usage error"
like "$ERR" "^rapid: build: unknown container tool 'lxc' \(the tools: podman, docker, none\)" "its message"

. "$TESTS_DIR/containers.sh"
ctr_setup

mkdir -p "$T_TMP/p" && cd "$T_TMP/p" || exit 1
printf 'from the host\n' >in.txt
cat >Rapidfile <<EOF
target inside
    input  src = in.txt
    output out = out/inside.txt
    image  rapid-test-base
    env    GREETING=hello-from-env
    run sh -c 'cat $CTR_MARK "\$1" >"\$2"; echo "\$GREETING" >>"\$2"; pwd >>"\$2"' sh {src} {out}
target here
    output out = out/here.txt
    run sh -c 'test ! -e $CTR_MARK && echo here >"\$0"' {out}
EOF
[ ! -e "$CTR_MARK" ]
ok $? "this machine has no $CTR_MARK (only the base image has it)"
run "$RAPID" build --container podman
is "$RC" 0 "build --container podman: exit 0"
is "$(printf '%s\n' "$ERR" | grep -c "names no image")" 1 "a target without an image: said once"
like "$ERR" "rapid: target 'here' names no image: it runs on this machine, not in podman" "in those words"
is "$(sed -n 1,3p out/inside.txt 2>&1)" "$(printf '%s\nfrom the host\nhello-from-env' "$CTR_KEY")" \
   "the recipe ran in the image, read its mounted input, had its env"
like "$(sed -n 4p out/inside.txt 2>&1)" "^$T_TMP/p/out/\.rapid/scratch/[0-9a-f]{32}\.[0-9]+\$" \
   "in its scratch folder, at the same path as outside"
is "$(cat out/here.txt 2>&1)" "here" "the target without an image ran here"
SD=out/.rapid/sentinels/inside
is "$(ls "$SD" 2>&1 | grep -c '\.ok\.json$')" 1 "its ok sentinel"
is "$(jf "$(ls "$SD"/*.ok.json 2>/dev/null)" 'd["image"]["requested"], d["image"]["digest"]')" \
   "('rapid-test-base', 'sha256:$(podman image inspect --format '{{.Id}}' "$CTR_BASE:$CTR_KEY")')" \
   "the sentinel names the image and the id of the one that ran"
run "$RAPID" plan
is "$OUT" "$(printf 'inside: 1 instance: 1 up to date\nhere: 1 instance: 1 up to date\nnothing to build')" \
   "the next plan is clean"
is "$(ctr_left)" "" "no container left"

# ---- a gathering input: each upstream directory is mounted ----
mkdir -p "$T_TMP/g" && cd "$T_TMP/g" || exit 1
cat >Rapidfile <<'EOF'
runs = r1 r2
target up
    foreach run in $(runs)
    output dir = out/up/{run}/
    image  rapid-test-base
    run sh -c 'echo "$0" >"$1"part.txt' {run} {dir}
target down
    input  ups = up.dir
    output all = out/all.txt
    image  rapid-test-base
    run sh -c 'out=$0; for d; do cat "$d"part.txt; done >"$out"' {all} {ups}
EOF
run "$RAPID" build --container podman
is "$RC" 0 "a gathering target in the container: exit 0"
is "$(cat out/all.txt 2>&1)" "$(printf 'r1\nr2')" "it read each gathered directory, mounted at its path"

# ---- an image that is not on this machine ----
cat >Rapidfile <<'EOF'
target missing
    output out = out/missing.txt
    image  localhost/rapid-test-no-such-image
    run true
EOF
run "$RAPID" build --container podman
is "$RC" 1 "an image not on this machine: the instance fails"
like "$ERR" "rapid: missing failed: exit status 125 " "with podman's exit status"
like "$ERR" "  \| .*rapid-test-no-such-image" "and its message naming the image (it is never pulled)"

# ---- failures inside the container: an exit status, a timeout ----
mkdir -p "$T_TMP/f" && cd "$T_TMP/f" || exit 1
cat >Rapidfile <<'EOF'
target three
    output out = out/three.txt
    image  rapid-test-base
    run sh -c 'echo said-inside; exit 3'
target slow
    output out = out/slow.txt
    image  rapid-test-base
    timeout 2s
    run sleep 600
EOF
run "$RAPID" build -k -j2 --container podman
is "$RC" 1 "failed instances: exit 1"
like "$ERR" "rapid: three failed: exit status 3 " "the recipe's exit status 3 from inside"
like "$ERR" "  \| said-inside" "with its output"
FS=$(ls out/.rapid/sentinels/three/*.failed.json 2>/dev/null)
is "$(jf "$FS" 'd["exit_code"], d["reason"]')" "(3, 'exit status 3')" "a failed sentinel with exit code 3"
like "$ERR" "rapid: slow failed: timeout after 2s" "a timeout stops the container's recipe"
# sleep as the container's process 1 ignores SIGTERM: the runner removes it
is "$(ctr_left)" "" "no container left after the timeout"

# ---- an interrupted build stops its container ----
mkdir -p "$T_TMP/i" && cd "$T_TMP/i" || exit 1
cat >Rapidfile <<'EOF'
target long
    output out = out/long.txt
    image  rapid-test-base
    run sleep 600
EOF
"$RAPID" build --container podman >"$T_TMP/i.out" 2>"$T_TMP/i.err" &
BPID=$!
i=0
while [ -z "$(ctr_left)" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
like "$(ctr_left)" '^rapid-[0-9a-f]{32}-[0-9]+$' "the recipe's container runs, named after its key"
kill -TERM "$BPID"
wait "$BPID"
is "$?" 143 "SIGTERM to the build: exit 143"
like "$(cat "$T_TMP/i.err")" "long: interrupted by signal 15" "the instance is interrupted"
is "$(ctr_left)" "" "no container left after the interruption"
done_testing
