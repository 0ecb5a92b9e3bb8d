#!/bin/sh
# build --backend batch -n: the submission it would make (one array job
# per target, one child per stale participant, N_TO_N or whole-job
# dependencies), made from the plan without submitting anything; and the
# Rapidfiles that cannot run on Batch, refused with the reason.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
export RAPID_STACK_FILE="$W/no-stack.json"
mkdata "$W/data/HCP" 100307 100408 100610
rm "data/HCP/100408/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz"   # a hole
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1
mkrf() { # OUT [extra target]
	cat <<RF
ps = 100307 100408 100610
runs = REST1_LR REST1_RL
target a
    foreach participant in \$(ps)
    foreach run in \$(runs)
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output dir  = $1/a/{participant}/{run}/
    memory 1000
    vcpus 2
    run sh -c 'mkdir -p "\$2" && cat "\$1" > "\$2/bold.txt"' x {bold} {dir}
target sum
    foreach participant in \$(ps)
    input  maps = a.dir
    output txt  = $1/sum/{participant}.txt
    run sh -c 'out=\$1; shift; cat "\$@" > "\$out"' x {txt} {maps}
target group
    input  all = sum.txt
    output txt = $1/group/all.txt
    run sh -c 'out=\$1; shift; cat "\$@" > "\$out"' x {txt} {all}
RF
}
mkrf s3://rapid-out/rt > Rapidfile

emu_reset
run "$RAPID" build -n --backend batch --job-queue q --job-definition d
is "$RC" 0 "a dry run of the batch backend succeeds"
like "$OUT" "submission [0-9]{8}T[0-9]{6}Z-[0-9a-f]{4} \\(dry run: nothing submitted\\): 3 jobs, 7 array children, 9 instances" \
	"it names the submission: 3 jobs, 3 + 3 + 1 children, 5 + 3 + 1 instances"
like "$OUT" "  a chunk 0: array of 3 participants, 5 instances, 2 vcpus, 1000 MiB" "one array job for a, a child per participant"
like "$OUT" "  sum chunk 0: array of 3 participants, 3 instances, after a chunk 0 \\(N_TO_N\\)" \
	"the per-participant gatherer depends N_TO_N on it"
like "$OUT" "  group chunk 0: 1 participant \\(group\\), 1 instance, after sum chunk 0" \
	"the group-level target is a plain job after the whole of sum"
unlike "$OUT" "group chunk 0[^\n]*N_TO_N" "(not N_TO_N)"
like "$OUT" "job rapid-a-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}-0 on d" "the job names carry the submission id"
is "$(emu_count SubmitJob)" 0 "nothing was submitted"
is "$(emu_count PutObject)" 0 "and nothing written"
is "$(emu_aws s3 ls --recursive s3://rapid-out/ | grep -c submissions)" 0 "no submission folder"

# Without a queue: the remembered stack's, and without one a clear error.
run "$RAPID" build -n --backend batch
is "$RC" 2 "no queue and no stack: a usage error"
like "$ERR" "the batch backend needs a job queue and a job definition: run .rapid stack create., or give --job-queue and --job-definition" \
	"saying what to do"
cat > stack.json <<'JSON'
{"schema": 1, "name": "rapid", "region": "us-east-1", "job_queue": "arn:aws:batch:us-east-1:123456789012:job-queue/rq",
 "job_definition": "arn:aws:batch:us-east-1:123456789012:job-definition/rd:1"}
JSON
RAPID_STACK_FILE="$W/stack.json" run "$RAPID" build -n --backend batch
is "$RC" 0 "with a remembered stack: its queue and job definition"
like "$OUT" "on arn:aws:batch:us-east-1:123456789012:job-definition/rd:1" "(the stack's job definition)"

# A local output root, a local input, a container tool: refused.
mkdir local; mkrf out > local/Rapidfile
run "$RAPID" -C local build --backend batch --job-queue q --job-definition d
is "$RC" 2 "a local output root cannot run on Batch"
like "$ERR" "target 'a' writes to '[^']*out/a/', on this machine: the batch backend needs an s3:// output" "... said"
mkdir lin; sed 's|s3://hcp/HCP_1200|data/HCP|' Rapidfile > lin/Rapidfile; cp -r data lin/
run "$RAPID" -C lin build --backend batch --job-queue q --job-definition d
is "$RC" 2 "a local input cannot reach a Batch job"
like "$ERR" "a participant=100307 run=REST1_LR: input 'bold' is '[^']*data/HCP/100307/[^']*', on this machine: a Batch job cannot read it \\(put it in S3\\)" \
	"... named with its instance"
is "$(emu_count SubmitJob)" 0 "nothing submitted"
mkdir rw rw/scripts; printf '#!/bin/sh\ncp "$1" "$2"\n' > rw/scripts/proc.sh
cat > rw/Rapidfile <<'RF'
target a
    foreach participant in 100307 100408
    input  bold = s3://hcp/HCP_1200/{participant}/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
    output dir  = s3://rapid-out/rw/{participant}/
    run ./scripts/proc.sh {bold} {dir}
RF
run "$RAPID" -C rw build -n --backend batch --job-queue q --job-definition d
is "$RC" 2 "a recipe file that is not an input cannot reach a Batch job"
like "$ERR" "'./scripts/proc.sh' is not an input" "it is named"
like "$ERR" "the batch backend runs recipes in a container that has only their inputs: declare the files above as inputs" \
	"and the cause said"
run "$RAPID" build --backend batch --container podman --job-queue q --job-definition d
is "$RC" 2 "--container with the batch backend: a usage error"
done_testing
