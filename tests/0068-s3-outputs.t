#!/bin/sh
# Outputs under an S3 output root, through the emulator. A plain plan
# trusts the ok sentinel (the runner writes it only after every upload)
# and sends no request for outputs; plan --verify lists the whole root
# once (one ListObjectsV2 per 1,000 objects) and compares every recorded
# object's presence and size (an ETag is no XXH3: contents are not
# compared); sentinel bodies are read once and then answered from the
# state.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
emu_start rapid-out
W=$T_TMP/w; mkdir -p "$W/data"; cd "$W" || exit 1
for p in 1 2 3; do echo "bold $p" > data/$p.nii; done
cat > Rapidfile <<'RF'
ps = 1 2 3
target rt
    foreach p in $(ps)
    input  bold = data/{p}.nii
    output dir  = s3://rapid-out/rt/sub-{p}/
    run rapidtide {bold} {dir}
RF
# What a runner leaves on S3 for each instance: its outputs, then an ok
# sentinel recording them (path, uri, size, xxh3).
S3TOOL=$TOOLDIR/s3tool
"$RAPID" plan --json > plan.json
python3 - > seed.sh <<'PY'
import json
p = json.load(open("plan.json"))
for i in p["targets"][0]["not_up_to_date"]:
    v, key = i["wildcards"]["p"], i["key"]
    files = {"func/maps.nii.gz": "maps %s\n" % v, "log.txt": "log\n"}
    outs = []
    for rel, text in files.items():
        open("obj-%s-%s" % (v, rel.replace("/", "_")), "w").write(text)
        print('"$S3TOOL" put obj-%s-%s s3://rapid-out/rt/sub-%s/%s >/dev/null' % (v, rel.replace("/", "_"), v, rel))
        outs.append({"name": "dir", "path": rel, "uri": "s3://rapid-out/rt/sub-%s/%s" % (v, rel),
                     "size": len(text), "xxh3": "0" * 32})
    body = {"schema": 1, "state": "ok", "target": "rt", "wildcards": {"p": v}, "key": key, "outputs": outs}
    open("sent-%s" % v, "w").write(json.dumps(body))
    print('"$S3TOOL" put sent-%s s3://rapid-out/rt/.rapid/sentinels/rt/%s/%s.ok.json >/dev/null' % (v, v, key))
PY
. ./seed.sh
emu_reset
run "$RAPID" plan --exit-code -v
is "$RC" 0 "up to date"
is "$(emu_count ListObjectsV2)" 2 "plan: two listings (the sentinels, the open submissions)"
is "$(emu_count GetObject)$(emu_count HeadObject)" "00" "and no request for outputs"

"$S3TOOL" rm s3://rapid-out/rt/sub-2/func/maps.nii.gz >/dev/null 2>&1
emu_reset
run "$RAPID" plan --exit-code
is "$RC" 0 "plan does not look at S3 outputs"
is "$(emu_count ListObjectsV2)" 2 "still two listings"

emu_reset
run "$RAPID" plan --verify -v
like "$OUT" "^rt: 3 instances: 2 up to date, 1 to build$" "--verify finds the deleted object"
like "$OUT" "^    p=2  \\(func/maps.nii.gz missing\\)$" "and names it"
is "$(emu_count ListObjectsV2)" 3 "--verify: the sentinels, the submissions and the output root, one page each"
is "$(emu_count GetObject)" 3 "the three ok sentinel bodies read, once"
like "$ERR" "outputs: 6 checked, 0 hashed" "six recorded objects compared"
emu_reset
run "$RAPID" plan --verify
is "$(emu_count GetObject)" 0 "a second --verify answers from the state"
is "$(emu_count ListObjectsV2)" 3 "and lists the same"

echo "a longer log than before" > longer
"$S3TOOL" put longer s3://rapid-out/rt/sub-3/log.txt >/dev/null 2>&1
run "$RAPID" plan --verify
like "$OUT" "^    p=3  \\(log.txt size 4 → 25\\)$" "a changed size is found"
# Put right, it is up to date again.
"$S3TOOL" put obj-2-func_maps.nii.gz s3://rapid-out/rt/sub-2/func/maps.nii.gz >/dev/null
"$S3TOOL" put obj-3-log.txt s3://rapid-out/rt/sub-3/log.txt >/dev/null
run "$RAPID" plan --verify --exit-code
is "$RC" 0 "with every object back, up to date"
done_testing
