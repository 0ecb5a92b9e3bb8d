#!/bin/sh
# A build with S3 inputs and an S3 root while S3 misbehaves. With 20% of
# requests failing (503 SlowDown, 500, connection resets, 200s carrying an
# <Error>) the outputs and sentinels are those of a fault-free build; with
# every upload part failing, each instance is failed with a clear reason,
# no ok sentinel is written and no multipart upload is left open.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W/data"; cd "$W" || exit 1
for p in 1 2 3; do
	for r in A B; do printf 'bold %s %s\n' "$p" "$r" > "data/$p-$r.nii"; done
done
emu_aws s3 cp --recursive --quiet data s3://hcp/in/ || exit 1
cat > Rapidfile <<'RF'
ps = 1 2 3
target a
    foreach p in $(ps)
    input  x = s3://hcp/in/{p}-A.nii
    input  y = s3://hcp/in/{p}-B.nii
    output dir = s3://rapid-out/r/a/{p}/
    run sh -c 'mkdir -p "$3" && cat "$1" "$2" > "$3/xy.txt" && yes "$1" | head -c 9000000 > "$3/big.bin" && echo made' x {x} {y} {dir}
target b
    foreach p in $(ps)
    input  a = a.dir
    output txt = s3://rapid-out/r/b/{p}.txt
    run sh -c 'cat "$1/xy.txt" > "$2"' x {a} {txt}
RF
# big.bin (9 MB) goes up in two parts (8 MiB and the rest).
export RAPID_MULTIPART_THRESHOLD=5242880
export AWS_MAX_ATTEMPTS=12

# What a bucket holds under r/: each object's key, size and ETag; and
# each ok sentinel's body without what differs between two runs.
snapshot() {
	emu_aws s3api list-objects-v2 --bucket rapid-out --prefix r/ --output json > objs.json
	rm -rf snap; mkdir snap
	emu_aws s3 cp --recursive --quiet s3://rapid-out/r/ snap/
	/usr/bin/python3 - <<'PY'
import json, os
objs = json.load(open("objs.json")).get("Contents", [])
for o in sorted(objs, key=lambda o: o["Key"]):
    k = o["Key"]
    if "/.rapid/logs/" in k:
        continue
    line = k
    if "/.rapid/sentinels/" not in k:  # a sentinel's size varies with its times
        line += " %d %s" % (o["Size"], o["ETag"])
    print(line)
    if k.endswith(".ok.json"):
        b = json.load(open(os.path.join("snap", k[len("r/"):])))
        for f in ("started", "ended", "duration_s", "pid", "host"):
            b.pop(f, None)
        print(json.dumps(b, sort_keys=True))
PY
}

run "$RAPID" build -j3
is "$RC" 0 "a fault-free build"
snapshot > clean.txt
is "$(grep -c '\.ok\.json$' clean.txt)" 6 "six ok sentinels"
like "$(cat clean.txt)" 'big.bin 9000000 "[0-9a-f]{32}-2"' "big.bin went up in two parts"

# Again from nothing, with a fifth of all requests failing.
emu_aws s3 rm --recursive --quiet s3://rapid-out/r/
rm -rf .rapid
emu_reset
emu_faults '{"rate": 0.2, "kinds": ["slowdown", "500", "reset", "error200"], "seed": 10}'
run "$RAPID" build -j3
emu_faults '{}'
is "$RC" 0 "the build succeeds with 20% of requests failing"
ok "$([ "$(emu_count faults)" -ge 10 ] && echo 0 || echo 1)" "and faults were injected ($(emu_count faults))"
is "$(emu_count mismatches)" 0 "every retry was signed right"
snapshot > faulty.txt
run diff clean.txt faulty.txt
is "$OUT" "" "outputs and ok sentinels are those of the fault-free build"
is "$(emu_aws s3api list-multipart-uploads --bucket rapid-out --query 'length(Uploads || `[]`)')" 0 \
	"no multipart upload left open"

# Every request failing once planned (listings aside, so that the plan
# and the runners' look at their folders get through): no instance can
# be claimed, each fails and says why, nothing is written.
emu_aws s3 rm --recursive --quiet s3://rapid-out/r/
emu_reset
emu_faults '{"rate": 1.0, "kinds": ["slowdown", "500", "reset", "error200"], "ops": ["PutObject", "GetObject", "DeleteObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload"]}'
AWS_MAX_ATTEMPTS=2 run "$RAPID" build -j3 -k
emu_faults '{}'
is "$RC" 1 "with every request failing the build fails"
for p in 1 2 3; do
	like "$ERR" "^rapid: a p=$p: cannot claim: cannot put 's3://rapid-out/r/a/\.rapid/sentinels/a/$p/[0-9a-f]{32}\.claim\.json': " \
		"a p=$p is not claimed, naming the object"
done
like "$ERR" "b p=3: not built: upstream a p=3 failed" "its dependents are not built"
is "$(emu_aws s3 ls --recursive s3://rapid-out/r/ | wc -l | tr -d ' ')" 0 "nothing was written"

# Every part failing: the uploads are aborted, the instances failed.
emu_reset
emu_faults '{"rate": 1.0, "kinds": ["500"], "ops": ["UploadPart"]}'
AWS_MAX_ATTEMPTS=2 run "$RAPID" build -j3 -k
emu_faults '{}'
is "$RC" 1 "with every upload part failing the build fails"
for p in 1 2 3; do
	like "$ERR" "^rapid: a p=$p failed: output 'dir': cannot upload 's3://rapid-out/r/a/$p/big.bin': 500 InternalError" \
		"a p=$p failed, naming the object and S3's answer"
done
like "$ERR" "b p=1: not built: upstream a p=1 failed" "its dependent is not built"
is "$(emu_count AbortMultipartUpload)" 3 "each upload was aborted"
is "$(emu_aws s3api list-multipart-uploads --bucket rapid-out --query 'length(Uploads || `[]`)')" 0 \
	"no multipart upload left open"
emu_aws s3 ls --recursive s3://rapid-out/r/ > after.txt
is "$(grep -c '\.ok\.json$' after.txt)" 0 "no ok sentinel"
is "$(grep -c '\.failed\.json$' after.txt)" 3 "a failed sentinel for each"
is "$(grep -c 'running\|claim' after.txt)" 0 "no running sentinel or claim left"
run "$RAPID" status
like "$OUT" "^  failed \(exit status 0: output 'dir': cannot upload 's3://rapid-out/r/a/2/big.bin': 500 InternalError" \
	"status gives the reason"
done_testing
