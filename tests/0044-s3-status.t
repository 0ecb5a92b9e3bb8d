#!/bin/sh
# rapid status on an S3 output root, through the verifying loopback
# emulator: it asks the store (one listing of the sentinels), so it reports
# the same counts as rapid plan, reads only the failed sentinels' bodies,
# and knows a running sentinel by the holder in its name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/emu.sh"
emu_start st-in st-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
N=1200

emu_seed_inputs st-in in "$N" 200000 >/dev/null
cat > Rapidfile <<'RF'
IN  = s3://st-in/in
OUT = s3://st-out/rt
participants = list($(IN)/)

target rapidtide
    foreach participant in $(participants)
    input   bold = $(IN)/{participant}/bold.nii.gz
    output  dir  = $(OUT)/sub-{participant}/
    run rapidtide {bold} {dir}
RF

run "$RAPID" status
is "$RC" 0 "status on an S3 root with no sentinel succeeds"
is "$OUT" "rapidtide: 0 ok, 0 failed, 0 running, 0 interrupted" "nothing built yet"

# 1,100 ok, 7 failed (with an exit status), 3 running sentinels held by a
# Batch job Batch does not know (interrupted: its holder is gone), the rest
# never built: sentinels at the keys plan computed.
"$RAPID" plan --json > plan.json
python3 - > ok.json <<'PY'
import json
p = json.load(open("plan.json"))
todo = p["targets"][0]["not_up_to_date"]
name = lambda i, s: "rt/.rapid/sentinels/rapidtide/%s/%s.%s.json" % (i["wildcards"]["participant"], i["key"], s)
json.dump({"bucket": "st-out", "keys": [name(i, "ok") for i in todo[:1100]], "body": "{}"}, open("ok.json", "w"))
json.dump({"bucket": "st-out", "keys": [name(i, "failed") for i in todo[1100:1107]],
           "body": '{"schema":1,"state":"failed","exit_code":3,"reason":"exit status 3","log":"s3://st-out/rt/x.log"}'},
          open("failed.json", "w"))
json.dump({"bucket": "st-out",
           "keys": [name(i, "running.6a1f2c3d-0b1e-4f00-9a9a-1234567890ab:%d.1" % k) for k, i in enumerate(todo[1107:1110])],
           "body": "{}"}, open("running.json", "w"))
PY
for f in ok failed running; do emu_seed "$(cat $f.json)" >/dev/null; done

emu_reset
run "$RAPID" status
is "$RC" 0 "status succeeds"
like "$OUT" "^rapidtide: 1100 ok, 7 failed, 0 running, 3 interrupted$" "status counts from the S3 listing"
is "$(emu_count DescribeJobs)" 1 "one DescribeJobs asks Batch about the holders: gone"
like "$OUT" "^  failed \\(exit status 3\\): 7 instances$" "the failures grouped by their exit status (said once)"
like "$OUT" "^    participant=[0-9]+  \\(log: s3://st-out/rt/x.log\\)$" "an example with its log"
is "$(printf '%s\n' "$OUT" | grep -c '^    participant=')" 5 "five examples"
like "$OUT" "^    \\.\\.\\. and 2 more$" "and a count of the rest"
# status plans first (the instances of the current plan): the participants'
# list(s3://) costs its 2 pages, then one listing page per 1,000 sentinels
is "$(emu_count ListObjectsV2)" 5 "listing pages: 2 for list(), 2 for 1,110 sentinels, 1 for the open submissions"
is "$(emu_count GetObject)" 7 "only the failed sentinels are read"
is "$(emu_count HeadObject)" 1 "one HEAD, of the first failure's log for its last lines: no input is looked at"

# The same counts as plan.
run "$RAPID" status --json
printf '%s\n' "$OUT" > status.json
run "$RAPID" plan --json
printf '%s\n' "$OUT" > plan2.json
is "$(python3 -c '
import json
s = json.load(open("status.json"))["targets"][0]["counts"]
print(s["ok"], s["failed"], s["interrupted"])')" "1100 7 3" "status --json counts"
is "$(python3 -c '
import json
t = json.load(open("plan2.json"))["targets"][0]
failed = sum(1 for i in t["not_up_to_date"] if i["reason"] == "failed")
interrupted = sum(1 for i in t["not_up_to_date"] if i["reason"] == "interrupted")
print(t["counts"]["up_to_date"], failed, interrupted)')" "1100 7 3" "plan reports the same counts"
is "$(python3 -c '
import json
s = json.load(open("status.json"))["targets"][0]["failures"]
print(len(s), sorted(set(f["exit_code"] for f in s)), s[0]["log"])')" "7 [3] s3://st-out/rt/x.log" "status --json failures"

# Objects that are not sentinels under the prefix are not counted.
K=$(python3 -c 'import json; print(json.load(open("plan.json"))["targets"][0]["not_up_to_date"][1110]["key"])')
P=$(python3 -c 'import json; print(json.load(open("plan.json"))["targets"][0]["not_up_to_date"][1110]["wildcards"]["participant"])')
emu_seed "{\"bucket\": \"st-out\", \"keys\": [\"rt/.rapid/sentinels/rapidtide/$P/$K.ok.json.tmp\", \"rt/.rapid/sentinels/rapidtide/$P/$K.ok.x.json\", \"rt/.rapid/sentinels/rapidtide/$P/README\"], \"body\": \"{}\"}" >/dev/null
run "$RAPID" status
like "$OUT" "^rapidtide: 1100 ok, 7 failed, 0 running, 3 interrupted$" "other objects under the prefix are ignored"

# rapid logs on an S3 root: one GetObject of the current key's log object.
F=$(python3 -c 'import json; print(json.load(open("plan.json"))["targets"][0]["not_up_to_date"][1100]["wildcards"]["participant"])')
FK=$(python3 -c 'import json; print(json.load(open("plan.json"))["targets"][0]["not_up_to_date"][1100]["key"])')
emu_seed "{\"bucket\": \"st-out\", \"keys\": [\"rt/.rapid/logs/rapidtide/$F/$FK.log\"], \"body\": \"rapidtide said no\\n\"}" >/dev/null
emu_reset
run "$RAPID" logs rapidtide participant="$F"
is "$RC:$OUT" "0:rapidtide said no" "logs: the log object of the current key"
is "$(emu_count GetObject)" 1 "logs: one GetObject"
run "$RAPID" logs rapidtide participant="$P"
is "$RC" 1 "logs: an instance without a log object fails"
like "$ERR" "^rapid: cannot read 's3://st-out/rt/\\.rapid/logs/rapidtide/$P/$K\\.log': no such object" "naming the object"
run "$RAPID" logs rapidtide participant="$F" --follow
is "$RC" 1 "logs --follow on an S3 root fails"
like "$ERR" "^rapid: logs: --follow needs a local output root \\('s3://st-out/rt/' is on S3\\)$" "saying what it needs"

# Errors name the object and the cause, once.
run "$RAPID" status OUT=s3://nosuchbucket/rt
is "$RC" 1 "a missing output bucket fails status"
like "$ERR" "s3://nosuchbucket/rt/.rapid/sentinels/rapidtide/': 404 NoSuchBucket" "missing bucket: named with its status"
is "$(emu_count mismatches)" 0 "no signature mismatch"

# Regression: a Rapidfile without targets printed nothing through
# fwrite(NULL, ...) (UBSan: null pointer passed as argument 1).
mkdir empty && printf 'X = 1\n' > empty/Rapidfile
run "$RAPID" -C empty status
is "$RC" 0 "status of a Rapidfile without targets succeeds"
is "$OUT" "" "and prints nothing"
done_testing
