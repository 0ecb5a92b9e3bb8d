#!/bin/sh
# The data-safety invariant of the local runner: an ok sentinel for key K
# exists only while the outputs it describes are in place, and it never
# becomes durable before them. The runner removes every ok sentinel of the
# instance (and syncs their folder) before it touches an output, publishes,
# syncs each output and every folder whose entries changed, then writes ok.
#
# Regressions (issue 9), each shown with the fault shim (tests/fault/shim.c):
# - the second output's move fails: the first output held the new content
#   while the old key's ok sentinel stayed; with the input reverted, plan
#   said up to date over wrong outputs;
# - `build --force` killed between the two renames of a directory output:
#   the output was gone but the instance up to date, forever, the old copy
#   stranded in .rapid/trash;
# - no output or folder was synced before the ok sentinel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault.sh"
fault_shim
W=$T_TMP/w; mkdir -p "$W/in"; cd "$W" || exit 1
W=$(pwd -P)
cat > Rapidfile <<'RF'
target t
    foreach p in a
    input in = in/{p}.txt
    output o1 = out/{p}/one.txt
    output o2 = out/{p}/two.txt
    run sh -c 'cat "$1" > "$2"; cat "$1" > "$3"' x {in} {o1} {o2}
target d
    foreach p in a
    input in = in/{p}.txt
    output dir = outd/{p}/
    run sh -c 'mkdir -p "$2/sub"; cat "$1" > "$2/sub/f.txt"' x {in} {dir}
RF
echo v1 > in/a.txt

# ---- the second output cannot be moved into place ----
run "$RAPID" build t
is "$RC" 0 "t: the first build succeeds"
echo v2 > in/a.txt # the same size as v1: a stat cannot tell them apart
run shimmed FAULTSHIM_FAIL_PATH=/out/a/two.txt -- "$RAPID" build t
is "$RC" 1 "t: a build whose second output cannot be moved fails"
like "$ERR" "rapid: t p=a failed: cannot move '.*two.txt' to '.*out/a/two.txt': Input/output error" \
	"t: the reason names the move"
is "$(cat out/a/one.txt):$(cat out/a/two.txt)" "v2:v1" "t: the first output was replaced, the second not"
is "$(find out/.rapid/sentinels/t -name '*.ok.json' | wc -l | tr -d ' ')" 0 \
	"t: no ok sentinel is left, for any key"
echo v1 > in/a.txt # back to the key of the first build
run "$RAPID" plan --exit-code t
is "$RC" 1 "t: with the input reverted, plan does not call the mixed outputs up to date"
run "$RAPID" build t
is "$RC" 0 "t: the next build succeeds"
is "$(cat out/a/one.txt):$(cat out/a/two.txt)" "v1:v1" "t: and its outputs are right"
run "$RAPID" plan --exit-code t
is "$RC" 0 "t: and it is up to date"

# ---- build --force killed between the two renames of a directory output ----
run "$RAPID" build d
is "$RC" 0 "d: the first build succeeds"
run shimmed FAULTSHIM_KILL_PATH=/.rapid/trash/ -- "$RAPID" build --force d
like "$ERR" "runner was killed" "d: the runner is killed with its old output in trash"
ok "$([ ! -e outd/a ]; echo $?)" "d: the output is missing"
run "$RAPID" plan --exit-code d
is "$RC" 1 "d: plan does not call the missing output up to date"
run "$RAPID" build d
is "$RC" 0 "d: the next build succeeds"
is "$(cat outd/a/sub/f.txt 2>&1)" "v1" "d: and the output is back"
is "$(find outd/.rapid/trash -mindepth 1 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"d: the killed runner's trash is cleaned"
run "$RAPID" plan --exit-code d
is "$RC" 0 "d: and it is up to date"

# ---- what is synced, and in which order ----
# trace a rebuild after an input change: the old ok must go first
echo v3 > in/a.txt
: > "$T_TMP/trace"
run shimmed FAULTSHIM_TRACE="$T_TMP/trace" -- "$RAPID" build t d
is "$RC" 0 "traced: the build succeeds"
# line numbers of the first line matching an extended regex (0: none)
at() { grep -nE -- "$1" "$T_TMP/trace" | head -n 1 | cut -d: -f1 | grep . || echo 0; }
S=$W/out/.rapid/sentinels/t/a
drop=$(at "^unlinkat [0-9a-f]{32}\.ok\.json$")
dropsync=$(at "^fsync $S$")
pub1=$(at "^rename [^ ]* $W/out/a/one.txt$")
pub2=$(at "^rename [^ ]* $W/out/a/two.txt$")
sync1=$(at "^fsync $W/out/.rapid/scratch/[^ ]*/o1/one.txt$")
sync2=$(at "^fsync $W/out/.rapid/scratch/[^ ]*/o2/two.txt$")
syncdir=$(grep -nE -- "^fsync $W/out/a$" "$T_TMP/trace" | tail -n 1 | cut -d: -f1)
okren=$(at "^rename [^ ]*(\.ok\.json\.tmp\.[0-9]+|\.running\.json) $S/[0-9a-f]{32}\.ok\.json$")
oksync=$(grep -nE -- "^fsync $S$" "$T_TMP/trace" | tail -n 1 | cut -d: -f1)
diag=$(cat "$T_TMP/trace")
order() { # name a b ...: each line number nonzero and increasing
	_name=$1; shift; _prev=0; _good=0
	for _n in "$@"; do
		[ "${_n:-0}" -gt "$_prev" ] || _good=1
		_prev=${_n:-0}
	done
	if [ $_good = 0 ]; then _report 0 "$_name"; else _report 1 "$_name" "lines: $*
$diag"; fi
}
order "the old ok is removed and its folder synced before the first output moves" \
	"$drop" "$dropsync" "$pub1"
order "each output file is synced before it moves" "$sync1" "$pub1"
order "(the second too)" "$sync2" "$pub2"
order "the outputs' folder is synced after the last move and before the ok is renamed into place" \
	"$pub2" "$syncdir" "$okren"
order "the sentinel folder is synced after the ok rename" "$okren" "$oksync"
okfrom=$(sed -n "${okren}p" "$T_TMP/trace" | cut -d' ' -f2)
order "the ok sentinel's content is synced before its rename" \
	"$(grep -nF -- "fsync $okfrom" "$T_TMP/trace" | tail -n 1 | cut -d: -f1)" "$okren"
D=$W/outd/.rapid/sentinels/d/a
dpub=$(at "^rename [^ ]*/dir $W/outd/a$")
order "a directory output: its file and folders are synced before it moves" \
	"$(at "^fsync $W/outd/.rapid/scratch/[^ ]*/dir/sub/f.txt$")" \
	"$(at "^fsync $W/outd/.rapid/scratch/[^ ]*/dir/sub$")" \
	"$(at "^fsync $W/outd/.rapid/scratch/[^ ]*/dir$")" "$dpub"
order "a directory output: its parent is synced before the ok" \
	"$dpub" "$(grep -nE -- "^fsync $W/outd$" "$T_TMP/trace" | tail -n 1 | cut -d: -f1)" \
	"$(at "^rename [^ ]*(\.ok\.json\.tmp\.[0-9]+|\.running\.json) $D/[0-9a-f]{32}\.ok\.json$")"

# a first build into fresh folders: each folder made is synced in its parent
rm -rf out outd
: > "$T_TMP/trace"
run shimmed FAULTSHIM_TRACE="$T_TMP/trace" -- "$RAPID" build t
okren=$(at "^rename [^ ]*(\.ok\.json\.tmp\.[0-9]+|\.running\.json) $S/[0-9a-f]{32}\.ok\.json$")
order "a folder made for an output is synced in its parent before the ok" \
	"$(at "^rename [^ ]* $W/out/a/two.txt$")" "$(at "^fsync $W/out$")" "$okren"
done_testing
