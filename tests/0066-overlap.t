#!/bin/sh
# check, plan and build reject outputs that overlap: two targets (or two
# outputs, or two instances) writing the same path, an output folder that
# contains an input, an input read by path from inside another target's
# output. Each message names both ends and both Rapidfile locations.
#
# Regression: two targets writing out/x.txt were accepted and overwrote
# each other, and `output dir = data/{p}/` beside `input bold =
# data/{p}/bold.nii` replaced the folder whole, deleting the input.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1

# Two targets, one path.
cat > Rapidfile <<'RF'
target a
    output o = out/x.txt
    run touch {o}
target b
    output o = out//./x.txt
    run touch {o}
RF
run "$RAPID" check
is "$RC" 1 "check: two targets writing one path"
is "$ERR" "rapid: Rapidfile:2:12: output 'o' of a ('out/x.txt') is also output 'o' of b ('out//./x.txt', Rapidfile:5:12): the two would overwrite each other; give each output a path of its own" "names both targets, the paths and both locations"
run "$RAPID" plan
is "$RC" 1 "plan refuses it too"
run "$RAPID" build
is "$RC" 1 "and build"
ok "$([ ! -e out ]; echo $?)" "build ran nothing"

# The same place spelled three ways: relative, absolute, through "..".
printf 'target a\n    output o = out/y.txt\n    run touch {o}\ntarget b\n    output o = %s/out/y.txt\n    run touch {o}\ntarget c\n    output o = out/z/../y.txt/\n    run touch {o}\n' "$W" > Rapidfile
run "$RAPID" check
like "$ERR" "^rapid: Rapidfile:2:12: output 'o' of a \\('out/y.txt'\\) is also output 'o' of b \\('$W/out/y.txt', Rapidfile:5:12\\)" "an absolute path is the same place as a relative one"
like "$ERR" "^rapid: Rapidfile:2:12: output 'o' of a \\('out/y.txt'\\) is also output 'o' of c \\('out/z/../y.txt/', Rapidfile:8:12\\)" "and one through '..'"

# Two instances of one target, one path: "1" + "11" and "11" + "1".
cat > Rapidfile <<'RF'
xs = 1 11
target t
    foreach a in $(xs)
    foreach b in $(xs)
    output o = out/ab/{a}{b}.txt
    run touch {o}
RF
run "$RAPID" check
is "$ERR" "rapid: Rapidfile:5:12: output 'o' of t a=1 b=11 ('out/ab/111.txt') is also output 'o' of t a=11 b=1 ('out/ab/111.txt', Rapidfile:5:12): the two would overwrite each other; give each output a path of its own" "two instances of one target writing one path"

# An output folder that contains the instance's own input.
mkdir -p data/1 data/2
echo bold1 > data/1/bold.nii; echo bold2 > data/2/bold.nii
cat > Rapidfile <<'RF'
ps = 1 2
target proc
    foreach p in $(ps)
    input  bold = data/{p}/bold.nii
    output dir  = data/{p}/
    run sh -c 'cp "$1" "$2/copy.nii"' x {bold} {dir}
RF
run "$RAPID" check
is "$RC" 1 "check: an output folder containing an input"
is "$ERR" "rapid: Rapidfile:5:12: output 'dir' of proc p=1 ('data/1/') contains input 'bold' of proc p=1 ('data/1/bold.nii', Rapidfile:4:12) (2 instances alike): the output would replace the input; write outputs apart from the inputs" "one message for the declarations, with the count"
run "$RAPID" build
is "$RC" 1 "build refuses"
is "$(cat data/1/bold.nii)" "bold1" "the input is untouched"

# Two outputs of one instance, one inside the other.
cat > Rapidfile <<'RF'
target t
    output dir = out/t/
    output log = out/t/log.txt
    run touch {log}
RF
run "$RAPID" check
like "$ERR" "^rapid: Rapidfile:2:12: output 'dir' of t \\('out/t/'\\) contains output 'log' of t \\('out/t/log.txt', Rapidfile:3:12\\): the two would overwrite each other" "an output inside another output"

# A path input inside another target's output (instead of a reference).
cat > Rapidfile <<'RF'
ps = 1 2
target up
    foreach p in $(ps)
    output dir = out/up/{p}/
    run mkdir -p {dir}
target down
    foreach p in $(ps)
    input m = out/up/{p}/maps.nii
    output o = out/down/{p}.txt
    run cp {m} {o}
RF
run "$RAPID" check
is "$RC" 1 "check: reading another target's output by path"
like "$ERR" "^rapid: Rapidfile:4:12: output 'dir' of up p=1 \\('out/up/1/'\\) contains input 'm' of down p=1 \\('out/up/1/maps.nii', Rapidfile:8:11\\) \\(2 instances alike\\): read another target's output as 'input NAME = TARGET.OUTPUT'" "with the hint to use a reference"

# A legitimate Rapidfile: shared prefixes, a shared input, references.
echo mask > data/mask.nii
cat > Rapidfile <<'RF'
ps = 1 2
target a
    foreach p in $(ps)
    input  bold = data/{p}/bold.nii
    input  mask = data/mask.nii
    output dir  = out/a/{p}/
    output f    = out/a.{p}.txt
    run sh -c 'mkdir -p "$1"; cp "$2" "$1/x"; cp "$3" "$4"' x {dir} {bold} {mask} {f}
target ab
    foreach p in $(ps)
    input  up   = a.dir
    input  mask = data/mask.nii
    output dir  = out/ab/{p}/
    output g    = out/a/{p}x
    run sh -c 'mkdir -p "$1"; cp "$2/x" "$1/y"; touch "$3"' x {dir} {up} {g}
RF
run "$RAPID" check
is "$RC" 0 "out/a/ beside out/ab/ and out/a/1x, a shared input and references are fine"
is "$ERR" "" "without a word"
run "$RAPID" build
is "$RC" 0 "and it builds"
is "$(cat out/ab/2/y)" "bold2" "as written"

# A plan remembers a check that passed (by what the paths are made of):
# a new value in a set that makes two paths meet is still caught.
echo 1 > ids1; echo 2 > ids2
cat > Rapidfile <<'RF'
ps = file(ids1)
qs = file(ids2)
target a
    foreach p in $(ps)
    output o = out/ids/{p}.txt
    run touch {o}
target b
    foreach q in $(qs)
    output o = out/ids/{q}.txt
    run touch {o}
RF
run "$RAPID" plan
is "$RC" 0 "disjoint sets: no overlap"
run "$RAPID" plan
is "$RC" 0 "again (remembered)"
echo 1 >> ids2
run "$RAPID" plan
is "$RC" 1 "a value added to one set makes two outputs meet: caught"
like "$ERR" "^rapid: Rapidfile:5:12: output 'o' of a p=1 \\('out/ids/1.txt'\\) is also output 'o' of b q=1 " "named"
sed -i 's|out/ids/{q}.txt|out/ids/{q}.txt/|' Rapidfile
echo 2 > ids2
run "$RAPID" plan
is "$RC" 0 "back to disjoint"
sed -i 's|out/ids/{q}.txt/|out/ids/|' Rapidfile
sed -i 's|^    foreach q in \$(qs)$||' Rapidfile
run "$RAPID" plan
is "$RC" 1 "a template changed to a folder over the others: caught"

# Many instances: every one of 2,000 collides; a few lines say it all.
i=0; : > ids
while [ $i -lt 2000 ]; do echo "p$i" >> ids; i=$((i + 1)); done
cat > Rapidfile <<'RF'
ps = file(ids)
target a
    foreach p in $(ps)
    output o = out/many/{p}.txt
    run touch {o}
target b
    foreach p in $(ps)
    output o = out/many/{p}.txt
    run touch {o}
RF
run "$RAPID" check
is "$RC" 1 "2,000 colliding instances"
is "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 1 "one line"
like "$ERR" "\\(2000 instances alike\\)" "counting them"

# A set that is only known online (list of s3://): check cannot expand
# it, plan does and refuses.
. "$TESTS_DIR/emu.sh"
emu_start hcp-in
emu_seed_inputs hcp-in HCP 3 100000 >/dev/null
cat > Rapidfile <<'RF'
participants = list(s3://hcp-in/HCP/)
target a
    foreach p in $(participants)
    input  bold = s3://hcp-in/HCP/{p}/bold.nii.gz
    output o = out/s3/{p}.txt
    run touch {o}
target b
    foreach p in $(participants)
    output o = out/s3/{p}.txt
    run touch {o}
RF
run "$RAPID" check
is "$RC" 0 "offline check cannot know a list(s3://...) set"
run "$RAPID" plan
is "$RC" 1 "plan knows it, and refuses the overlap"
like "$ERR" "^rapid: Rapidfile:5:12: output 'o' of a p=100000 \\('out/s3/100000.txt'\\) is also output 'o' of b p=100000 \\('out/s3/100000.txt', Rapidfile:9:12\\) \\(3 instances alike\\)" "naming both"
done_testing
