#!/bin/sh
# bench/batch-submit.sh - submitting ABCD to AWS Batch: `rapid build
# --backend batch` of N participants × 1 target (inputs cached by a first
# plan, outputs absent), against the designs it replaces, on the loopback
# emulator of the tests (tests/emu: every request's signature checked by
# botocore, every Batch body by botocore's model; the children held, so
# only submitting is measured):
#
#   rapid       `rapid build --backend batch`: from its start to its exit
#               (the last SubmitJob and the markers after it), and a
#               `rapid status` refresh; requests counted by the emulator
#   per task    Nextflow's design, one SubmitJob per task: N SubmitJob
#               requests made by botocore from one Python process (the
#               fastest client of that design: no JVM, no task polling),
#               measured; and what its documented default submit rate of
#               50 a second makes of N (N / 50 s)
#   seed        rapidtide-cloud's: one `aws batch submit-job` of an array
#               of N by hand (1 request, no staleness: it submits every
#               participant every time)
#
# Usage:   make bench-batch
# Knobs:   N=11000  PEER_N=N (tasks the per-task client submits)
#          WORK=$(mktemp -d /tmp/rapid-batch.XXXXXX), removed at the end
set -eu
: "${RAPID:?RAPID must name the rapid binary (make bench-batch sets it)}"
N=${N:-11000}
PEER_N=${PEER_N:-$N}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/rapid-batch.XXXXXX)}
PY=/usr/bin/python3
mkdir -p "$WORK"
T_TMP=$WORK
TESTS_DIR=$ROOT/tests
_report() { [ "$1" = 0 ] || { echo "bench: $2" >&2; [ -n "${3:-}" ] && echo "$3" >&2; }; }
done_testing() { :; }
. "$ROOT/tests/emu.sh"
cleanup() { emu_stop; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
emu_start abcd rapid-out
export AWS_PAGER="" RAPID_STACK_FILE="$WORK/no-stack.json"
cd "$WORK"

$PY -c 'import json, sys
n = int(sys.argv[1])
print(json.dumps({"bucket": "abcd", "keys": ["ABCD/%06d/bold.nii.gz" % i for i in range(1, n + 1)], "body": "bold"}))' "$N" > seed.json
curl -sS -X POST --data-binary @seed.json "$EMU_URL/__emu/seed" >/dev/null
seq -f '%06g' 1 "$N" > participants.txt
cat > Rapidfile <<'RF'
participants = file(participants.txt)
target rapidtide
    foreach participant in $(participants)
    input  bold = s3://abcd/ABCD/{participant}/bold.nii.gz
    output dir  = s3://rapid-out/abcd/{participant}/
    memory 62000
    vcpus  8
    timeout 10h
    run rapidtide {bold} {dir}sub-{participant} --passes 3
RF
emu_batch '{"queue": "rq", "hold": true}' >/dev/null
emu_aws batch register-job-definition --job-definition-name rd --type container \
	--container-properties '{"image": "example/rt:1", "command": ["rapid", "runner"]}' >/dev/null
"$RAPID" plan >/dev/null 2>&1   # the inputs' fingerprints, cached

# requests CMD...: run CMD timed (bench/timed.py), print "wall cpu requests"
requests() {
	emu_counters > before.json
	rm -f t.times
	$PY "$ROOT/bench/timed.py" t.times "$@"
	emu_counters > after.json
	$PY -c 'import json
a, b = json.load(open("after.json")), json.load(open("before.json"))
print(sum(v - b.get(k, 0) for k, v in a.items() if isinstance(v, int) and k[0].isupper()))' > n.txt
	echo "$(cat t.times) $(cat n.txt)"
}
set -- $(requests "$RAPID" build --backend batch --job-queue rq --job-definition rd)
r_wall=$1 r_cpu=$2 r_req=$3
"$RAPID" plan >/dev/null 2>&1   # participants.txt cached, as after any first look
set -- $(requests "$RAPID" status)
s_wall=$1 s_req=$3

cat > pertask.py <<'PYEOF'
import sys, botocore.session
n, url = int(sys.argv[1]), sys.argv[2]
c = botocore.session.get_session().create_client("batch", endpoint_url=url, region_name="us-east-1")
for i in range(n):
    c.submit_job(jobName="task-%06d" % i, jobQueue="rq", jobDefinition="rd",
                 containerOverrides={"command": ["rapid", "runner"]})
PYEOF
set -- $(requests $PY pertask.py "$PEER_N" "$AWS_ENDPOINT_URL")
p_wall=$1 p_cpu=$2 p_req=$3
set -- $(requests /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" batch submit-job --job-name seed \
	--job-queue rq --job-definition rd --array-properties "size=$(( N < 10000 ? N : 10000 ))")
e_wall=$1 e_req=$3

$PY - "$N" "$PEER_N" "$r_wall" "$r_cpu" "$r_req" "$s_wall" "$s_req" "$p_wall" "$p_cpu" "$p_req" "$e_wall" "$e_req" <<'PYEOF'
import sys
n, pn = int(sys.argv[1]), int(sys.argv[2])
r_wall, r_cpu, r_req, s_wall, s_req, p_wall, p_cpu, p_req, e_wall, e_req = map(float, sys.argv[3:])
p_full = p_wall * n / pn          # the per-task client at N tasks
rate = n / 50.0                   # at 50 SubmitJob a second
print("ABCD: %d participants x 1 target, inputs cached, outputs absent" % n)
print("%-46s %9s %9s %9s" % ("", "wall s", "requests", "req/part"))
print("%-46s %9.2f %9d %9.4f" % ("rapid build --backend batch", r_wall, r_req, r_req / n))
print("%-46s %9.2f %9d" % ("rapid status (a refresh)", s_wall, s_req))
print("%-46s %9.2f %9d %9.4f" % ("per task, botocore (%d measured)" % pn, p_full, p_req * n / pn, p_req / pn))
print("%-46s %9.2f %9d" % ("per task at 50 SubmitJob/s (N / 50)", rate, n))
print("%-46s %9.2f %9d" % ("seed: one aws batch submit-job, by hand", e_wall, e_req))
print("rapid / per task: requests %.4f (1/%.0f), wall %.3f (measured), %.4f (at 50/s)" % (
    r_req / (p_req * n / pn), (p_req * n / pn) / r_req, r_wall / p_full, r_wall / rate))
print("rapid / seed: requests %.0fx, wall %.1fx (the seed resubmits all %d every time)" % (
    r_req / e_req, r_wall / e_wall, n))
print("rapid's client CPU: %.2f s" % r_cpu)
PYEOF
