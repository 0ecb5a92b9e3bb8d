#!/bin/sh
# The claim on an S3 root. Two runners given the same instance at once:
# one conditional PUT of the claim wins, the other gets 412 and exits 75
# ("held") without running the recipe. A runner killed (SIGKILL) while a
# multipart upload is in flight, retried as attempt 2 of the same Batch
# job, takes the dead attempt's claim over, aborts its upload, reuses the
# inputs it had staged and finishes the instance.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
echo "bold 1" > in.nii
emu_aws s3 cp --quiet in.nii s3://hcp/in/1.nii || exit 1
etag=$(emu_aws s3api head-object --bucket hcp --key in/1.nii --query ETag --output text | tr -d '"')
size=$(wc -c < in.nii | tr -d ' ')

# spec KEY OUTPUT RECIPE: an instance of target t on s3://rapid-out/r/.
spec() {
	/usr/bin/python3 - "$@" <<PY
import json, sys
key, out, recipe = sys.argv[1:4]
r = "s3://rapid-out/r/"
print(json.dumps({"schema": 1, "target": "t", "wildcards": [["p", "1"]], "key": key, "root": r,
  "sentinel_dir": r + ".rapid/sentinels/t/1/", "log_dir": r + ".rapid/logs/t/1/",
  "argv": [["sh"], ["-c"], [recipe], ["x"], [{"input": "bold"}], [{"output": "out"}]],
  "inputs": [{"name": "bold", "uri": "s3://hcp/in/1.nii", "path": "s3://hcp/in/1.nii",
              "fingerprint": "size=$size etag=$etag"}],
  "outputs": [{"name": "out", "uri": r + out, "path": r + out, "dir": False}],
  "scratch": "$W/scratch/"}))
PY
}
K1=11111111111111111111111111111111
spec $K1 1.txt 'echo run >> "'"$W"'/runs1"; i=0; while [ ! -e "'"$W"'/go" ] && [ $i -lt 3000 ]; do sleep 0.05; i=$((i+1)); done; cat "$1" > "$2"' > s1.json

# Both runners find the instance unclaimed; the emulator holds their
# conditional PUTs of the claim back until both are in flight (a delay
# before each is served), so they race for it.
emu_reset
emu_faults '{"next": ["delay", "delay"], "ops": ["PutObject"], "delay_ms": 3000}'
( "$RAPID" runner --spec s1.json > a.out 2> a.err; echo $? > a.rc ) &
A=$!
( "$RAPID" runner --spec s1.json > b.out 2> b.err; echo $? > b.rc ) &
B=$!
i=0
while [ ! -e a.rc ] && [ ! -e b.rc ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
touch go
wait $A $B
is "$(cat a.rc b.rc | sort | tr '\n' ' ')" "0 75 " "one runner built the instance, the other exited 75"
is "$(emu_in_flight PutObject)" 2 "both PUT the claim at once"
is "$(grep -c 'claim.json -> 412 PutObject' "$EMU_DIR/log")" 1 "the loser's conditional PUT of the claim got 412"
is "$(wc -l < runs1 | tr -d ' ')" 1 "the recipe ran once"
like "$(cat a.err b.err)" "^rapid: t p=1: held by another runner \(it claimed the instance first\): not run$" \
	"the other says the instance is held"
emu_aws s3 ls --recursive s3://rapid-out/r/.rapid/sentinels/ > s.txt
is "$(sed 's/.* //' s.txt)" "r/.rapid/sentinels/t/1/$K1.ok.json" "the ok sentinel, and no claim or running sentinel"
emu_reset
run "$RAPID" runner --spec s1.json
is "$RC" 0 "a third runner finds it built"
is "$(emu_count PutObject)" 0 "and writes nothing"

# A runner killed mid-upload, retried as attempt 2.
K2=22222222222222222222222222222222
spec $K2 big.bin 'echo run >> "'"$W"'/runs2"; yes "$1" | head -c 12000000 > "$2"' > s2.json
export RAPID_MULTIPART_THRESHOLD=5242880
emu_reset
emu_faults '{"rate": 1.0, "kinds": ["delay"], "ops": ["UploadPart"], "delay_ms": 60000}'
AWS_BATCH_JOB_ID=job-7 AWS_BATCH_JOB_ATTEMPT=1 "$RAPID" runner --spec s2.json > k.out 2> k.err &
R=$!
i=0
while [ "$(emu_in_flight UploadPart)" -lt 1 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
ok "$([ "$(emu_in_flight UploadPart)" -ge 1 ] && echo 0 || echo 1)" "attempt 1 is uploading parts"
kill -KILL $R
wait $R 2>/dev/null
emu_faults '{}'
emu_aws s3 ls --recursive s3://rapid-out/r/.rapid/sentinels/t/1/ > s.txt
like "$(cat s.txt)" "$K2\\.running\\.job-7\\.1\\.json" "the killed attempt left its running sentinel"
like "$(cat s.txt)" "$K2\\.claim\\.json" "and its claim"
is "$(emu_aws s3api list-multipart-uploads --bucket rapid-out --query 'length(Uploads || `[]`)')" 1 \
	"and an open multipart upload"

emu_reset
AWS_BATCH_JOB_ID=job-7 AWS_BATCH_JOB_ATTEMPT=2 run "$RAPID" runner --spec s2.json
is "$RC" 0 "attempt 2 finishes the instance"
is "$(emu_requests_count /hcp/in/1.nii)" 0 "reusing the input attempt 1 staged (no GET of it)"
is "$(emu_count GetObject)" 0 "no GET of the claim: its ETag is attempt 1's claim body's, whose running sentinel is in view"
is "$(emu_count AbortMultipartUpload)" 1 "aborting attempt 1's upload"
is "$(wc -l < runs2 | tr -d ' ')" 2 "the recipe ran again"
emu_aws s3 ls --recursive s3://rapid-out/r/ > s.txt
like "$(cat s.txt)" " 12000000 r/big.bin$" "the output is whole"
like "$(cat s.txt)" "$K2\\.ok\\.json" "with its ok sentinel"
is "$(grep -c "$K2.running\\|$K2.claim" s.txt)" 0 "the dead attempt's running sentinel and claim are gone"
is "$(emu_aws s3api list-multipart-uploads --bucket rapid-out --query 'length(Uploads || `[]`)')" 0 \
	"no multipart upload left open"
ok "$([ ! -e "$W/scratch/$K2" ] && echo 0 || echo 1)" "the scratch folder is gone"

# What one instance costs: a participant's four runs in, one file out.
unset RAPID_MULTIPART_THRESHOLD
for r in 1 2 3 4; do echo "run $r" > "r$r.nii"; emu_aws s3 cp --quiet "r$r.nii" "s3://hcp/in/r$r.nii"; done
K3=33333333333333333333333333333333
/usr/bin/python3 - > s3.json <<PY
import json
r = "s3://rapid-out/r/"
ins = [{"name": "r%d" % i, "uri": "s3://hcp/in/r%d.nii" % i, "path": "s3://hcp/in/r%d.nii" % i} for i in range(1, 5)]
print(json.dumps({"schema": 1, "target": "t", "wildcards": [["p", "3"]], "key": "$K3", "root": r,
  "sentinel_dir": r + ".rapid/sentinels/t/3/", "log_dir": r + ".rapid/logs/t/3/",
  "argv": [["sh"], ["-c"], ['cat "\$1" "\$2" "\$3" "\$4" > "\$5"'], ["x"]] + [[{"input": i["name"]}] for i in ins]
          + [[{"output": "out"}]],
  "inputs": ins, "outputs": [{"name": "out", "uri": r + "3.txt", "path": r + "3.txt", "dir": False}],
  "scratch": "$W/scratch/"}))
PY
emu_reset
run "$RAPID" runner --spec s3.json
is "$RC" 0 "a four-run instance builds"
echo "# requests: $(emu_counters)"
is "$(emu_count ListObjectsV2)" 1 "claim: one listing of its folder"
is "$(emu_count GetObject)" 4 "stage: one GET per input"
is "$(emu_count PutObject)" 5 "claim, running sentinel, output, log, ok: five PUTs"
is "$(emu_count DeleteObject) $(emu_count DeleteObjects)" "0 1" "running sentinel and claim: one DeleteObjects"
total=$(($(emu_count ListObjectsV2) + $(emu_count GetObject) + $(emu_count PutObject) + $(emu_count DeleteObject) + $(emu_count DeleteObjects) + $(emu_count HeadObject)))
ok "$([ "$total" -le 13 ] && echo 0 || echo 1)" "at most 12 requests and one per output part ($total)"

# And a participant's gatherer: its four runs' folders in, one file out.
for r in 1 2 3 4; do emu_aws s3 cp --quiet "r$r.nii" "s3://rapid-out/up/3/run$r/maps.nii"; done
K4=44444444444444444444444444444444
/usr/bin/python3 - > s4.json <<PY
import json
r = "s3://rapid-out/r/"
ga = [{"uri": "s3://rapid-out/up/3/run%d/" % i, "path": "s3://rapid-out/up/3/run%d/" % i, "fingerprint": "key=%032d" % i}
      for i in range(1, 5)]
print(json.dumps({"schema": 1, "target": "g", "wildcards": [["p", "3"]], "key": "$K4", "root": r,
  "sentinel_dir": r + ".rapid/sentinels/g/3/", "log_dir": r + ".rapid/logs/g/3/",
  "argv": [["sh"], ["-c"], ['o=\$1; shift; for d; do cat "\$d/maps.nii"; done > "\$o"'], ["x"], [{"output": "out"}],
           [{"input": "maps"}]],
  "inputs": [{"name": "maps", "uri": "up.dir", "path": None, "fingerprint": "gathered 4 of 4", "gathered": ga}],
  "outputs": [{"name": "out", "uri": r + "g3.txt", "path": r + "g3.txt", "dir": False}],
  "scratch": "$W/scratch/"}))
PY
emu_reset
run "$RAPID" runner --spec s4.json
is "$RC" 0 "a four-run gatherer builds"
echo "# requests: $(emu_counters)"
is "$(emu_count ListObjectsV2)" 2 "claim and stage: one listing of its folder, one of the four runs' folders together"
is "$(emu_count GetObject)" 4 "stage: one GET per file"
total=$(($(emu_count ListObjectsV2) + $(emu_count GetObject) + $(emu_count PutObject) + $(emu_count DeleteObject) + $(emu_count DeleteObjects) + $(emu_count HeadObject)))
ok "$([ "$total" -le 13 ] && echo 0 || echo 1)" "at most 12 requests and one per output part ($total)"
is "$(emu_aws s3 cp --quiet s3://rapid-out/r/g3.txt -)" "$(cat r1.nii r2.nii r3.nii r4.nii)" "from its four folders, in order"
done_testing
