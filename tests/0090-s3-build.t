#!/bin/sh
# rapid build on the local backend with S3 inputs (files, a prefix, an
# optional one absent) and an S3 output root, through the verifying
# emulator: the outputs are those of a local build of the same data, the
# ok sentinels are in S3, the next plan has nothing to do, every request
# was signed right, and status and logs agree with the build.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start hcp rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
# The data, locally and in the input bucket.
mkdata "$W/data/HCP" 100307 100408
for p in 100307 100408; do
	mkdir -p "data/HCP/$p/T1w/sub"
	printf 't1 %s\n' "$p" > "data/HCP/$p/T1w/T1w.nii.gz"
	printf 'aux %s\n' "$p" > "data/HCP/$p/T1w/sub/aux.txt"
done
rm "data/HCP/100408/MNINonLinear/brainmask_fs.2.nii.gz"   # the optional input absent
emu_aws s3 cp --recursive --quiet data/HCP s3://hcp/HCP_1200/ || exit 1

# The same recipes over local data (out-local/) and over S3 (s3://rapid-out/rt/).
mkrf() { # IN OUT
	cat <<RF
ps = 100307 100408
runs = REST1_LR REST1_RL REST2_LR REST2_RL
target a
    foreach p in \$(ps)
    foreach run in \$(runs)
    input  bold = $1/{p}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    input? mask = $1/{p}/MNINonLinear/brainmask_fs.2.nii.gz
    input  t1   = $1/{p}/T1w/
    output dir  = $2/a/{p}/{run}/
    run sh -c 'mkdir -p "\$4" && cat "\$1" > "\$4/bold.txt" && { [ -z "\$2" ] || cat "\$2"; } > "\$4/mask.txt" && find "\$3" -type f | sort | sed "s|^\$3||" > "\$4/t1.list" && cat "\$3/sub/aux.txt" >> "\$4/t1.list" && echo "a {p} {run} done"' x {bold} {mask} {t1} {dir}
target b
    foreach p in \$(ps)
    foreach run in \$(runs)
    input  a   = a.dir
    output txt = $2/b/{p}/{run}.txt
    run sh -c 'cat "\$1/bold.txt" "\$1/mask.txt" > "\$2"' x {a} {txt}
target sum
    foreach p in \$(ps)
    input  maps = b.txt
    output txt  = $2/sum/{p}.txt
    run sh -c 'out=\$1; shift; cat "\$@" > "\$out"' x {txt} {maps}
RF
}
mkdir local s3
mkrf "$W/data/HCP" "$W/out-local" > local/Rapidfile
mkrf s3://hcp/HCP_1200 s3://rapid-out/rt > s3/Rapidfile

run "$RAPID" -C local build -j4
is "$RC" 0 "the local build succeeds"

emu_reset
run "$RAPID" -C s3 build -j4
is "$RC" 0 "the build with S3 inputs and an S3 root succeeds"
is "$(printf '%s\n' "$ERR" | tail -n 1)" "rapid: built 18 instances" "and says so"
unlike "$ERR" "cannot stat|s3:" "no local path made of a URI"
ok "$([ ! -e s3/s3: ] && echo 0 || echo 1)" "no folder named 's3:'"
is "$(emu_count mismatches)" 0 "every signature matched"
is "$(emu_count rejected)" 0 "and no request was refused"

# Every output, read back with the AWS CLI, is the local build's.
rm -rf got; mkdir got
emu_aws s3 cp --recursive --quiet s3://rapid-out/rt/ got/ --exclude '*.rapid/*'
run diff -r -x .rapid out-local got
is "$RC" 0 "the outputs in S3 are byte for byte the local build's" 
is "$OUT" "" "(no difference)"
is "$(cat got/a/100408/REST1_LR/mask.txt)" "" "the absent optional input gave an empty word"
is "$(sed -n 1p got/a/100307/REST1_LR/t1.list)" "T1w.nii.gz" "a prefix input arrives as a folder"

# The ok sentinels are in S3, one per instance, with ETags of the outputs.
emu_aws s3 ls --recursive s3://rapid-out/rt/ | grep /.rapid/sentinels/ > sentinels.txt
is "$(grep -c '\.ok\.json$' sentinels.txt)" 18 "18 ok sentinels in S3"
is "$(grep -vc '\.ok\.json$' sentinels.txt)" 0 "and nothing else (running sentinels and claims are gone)"
key=$(sed -n 's|.*sentinels/sum/100307/\([0-9a-f]*\)\.ok\.json$|\1|p' sentinels.txt)
emu_aws s3 cp --quiet "s3://rapid-out/rt/sum/.rapid/sentinels/sum/100307/$key.ok.json" ok.json
etag=$(emu_aws s3api head-object --bucket rapid-out --key rt/sum/100307.txt --query ETag --output text | tr -d '"')
like "$(cat ok.json)" "\"etag\":\"$etag\"" "the ok sentinel records the output's ETag"
like "$(cat ok.json)" '"xxh3":"[0-9a-f]{32}"' "and its XXH3"

emu_reset
run "$RAPID" -C s3 plan --exit-code
is "$RC" 0 "the next plan has nothing to do"

# status and logs agree with the build.
run "$RAPID" -C s3 status
like "$OUT" "^a: 8 ok, 0 failed, 0 running, 0 interrupted$" "status: a all ok"
like "$OUT" "^sum: 2 ok, 0 failed, 0 running, 0 interrupted$" "status: sum all ok"
run "$RAPID" -C s3 logs a p=100307 run=REST2_RL
is "$RC" 0 "logs reads the uploaded log"
is "$OUT" "a 100307 REST2_RL done" "and it is the recipe's output"
emu_aws s3 ls s3://rapid-out/rt/a/.rapid/logs/a/100307/REST2_RL/ > logs.txt
is "$(wc -l < logs.txt | tr -d ' ')" 1 "one log object for the instance"
done_testing
