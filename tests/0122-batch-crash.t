#!/bin/sh
# Crash consistency of build --backend batch: SIGKILL the build at every
# point of its conversation with S3 and Batch (after each send, so a
# request went and its answer is never read, as a SubmitJob Batch took
# whose answer never came; and before each request), then build again. Every time the second
# build converges: each chunk job is submitted exactly once (the
# emulator's SubmitJob count per job name is 1), each participant is in
# exactly one submitted job, and the plan shows them all queued.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
if grep -q __asan_init "$RAPID"; then
	echo "1..0 # SKIP the kill shim (LD_PRELOAD) runs in the plain pass only"
	exit 0
fi
NETKILL=$T_TMP/netkill.so
${CC:-cc} -shared -fPIC -O1 -o "$NETKILL" "$TESTS_DIR/fault/netkill.c" -ldl || exit 1
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"
mkdata "$W/data/HCP" 100101 100102 100103 100104 100105
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1
cat > Rapidfile <<'RF'
OUT ?= s3://rapid-out/rt
ps = 100101 100102 100103 100104 100105
runs = REST1_LR REST1_RL
target rapidtide
    foreach participant in $(ps)
    foreach run in $(runs)
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output dir  = $(OUT)/rapidtide/{participant}/{run}/
    run sh -c 'mkdir -p "$2" && cat "$1" > "$2/maps.txt"' x {bold} {dir}
target summary
    foreach participant in $(ps)
    input  maps = rapidtide.dir
    output txt  = $(OUT)/summary/{participant}.txt
    run sh -c 'out=$1; shift; cat "$@" > "$out"' x {txt} {maps}
RF
emu_batch '{"queue": "rq"}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"], "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}]}' >/dev/null || exit 1
emu_batch '{"hold": true}' >/dev/null   # children never start: this is about submitting
B="--backend batch --job-queue rq --job-definition rd"

# How many sends a whole build makes (warm fingerprints, a fresh root).
"$RAPID" plan OUT=s3://rapid-out/warm >/dev/null 2>&1
env LD_PRELOAD="$NETKILL" NETKILL_COUNT="$W/count" NETKILL_TRACE="$W/trace" "$RAPID" build $B OUT=s3://rapid-out/count >/dev/null 2>&1
total=$(cat "$W/count")
ok "$([ "${total:-0}" -gt 10 ] && echo 0 || echo 1)" "a build makes $total sends"

# Each participant of a root in exactly one job, each job name submitted once.
check_root() { # ROOT-NAME
	emu_batch_state | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin); root = sys.argv[1]
counts = j["submits"]
dup = [n for n, c in counts.items() if c != 1]
per = {}
for job in j["jobs"]:
    cmd = job["submit"]["containerOverrides"]["command"]
    if "s3://rapid-out/%s/" % root not in cmd[-1]:
        continue
    target = job["name"].split("-")[1]
    per[target] = per.get(target, 0) + job["submit"].get("arrayProperties", {}).get("size", 1)
print("dup=%d rapidtide=%d summary=%d" % (len(dup), per.get("rapidtide", 0), per.get("summary", 0)))' "$1"
}

# The points: after every send (a request whose last bytes went and whose
# answer is never read), and before the first send of every request (one
# that never goes): the windows between SubmitJob and the marker that
# records it included, whatever their number.
points=$(/usr/bin/python3 -c 'import sys
n = int(sys.argv[1]); starts = [int(l.split()[0]) for l in open(sys.argv[2])]
print(" ".join(["%d:1" % k for k in range(1, n + 1)] + ["%d:0" % k for k in starts]))' "$total" "$W/trace")
is "$(grep -c ' POST /v1/submitjob' "$W/trace")" 2 "(two SubmitJob among them)"
k=0; bad=0
for point in $points; do
	k=$((k + 1))
	at=${point%:*}; after=${point#*:}
	rm -f "$W/reached"
	env LD_PRELOAD="$NETKILL" NETKILL_AT="$at" NETKILL_AFTER=$after NETKILL_REACHED="$W/reached" \
		"$RAPID" build $B OUT=s3://rapid-out/r$k >/dev/null 2>"$W/kill.err"
	rc=$?
	"$RAPID" build $B OUT=s3://rapid-out/r$k >"$W/again.out" 2>"$W/again.err"
	rc2=$?
	got=$(check_root r$k)
	"$RAPID" plan OUT=s3://rapid-out/r$k >"$W/plan.out" 2>&1
	queued=$(grep -c 'queued: job' "$W/plan.out")
	if [ "$rc2" != 0 ] || [ "$got" != "dup=0 rapidtide=5 summary=5" ] || [ "$queued" -lt 1 ]; then
		bad=$((bad + 1))
		echo "# point $at (after=$after, first rc $rc, killed: $([ -e "$W/reached" ] && echo yes || echo no)): second rc $rc2, $got, queued lines $queued"
		sed 's/^/#   /' "$W/again.err" | head -n 5
	fi
done
is "$bad" 0 "$k kill points: each next build converges, every chunk submitted once"
done_testing
