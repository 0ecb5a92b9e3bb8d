#!/bin/sh
# What is at a sentinel's name, and the folders that hold them, may be
# anything a disk or a hand left there. Pins "an ok sentinel that is a
# directory, a dangling symlink or any non-regular file counts as ok or
# never converges" (only a regular file is a sentinel: anything else is
# one warning, the instance is never built, and the next build replaces
# it) and "one bad instance folder in the sentinel tree (a file, a
# symlink loop) aborts the whole plan" (a warning, that instance never
# built, the rest planned), "status prints sentinel reasons raw (terminal
# escapes)" and "a failed sentinel with "signal": -2147483648 aborts every
# plan under UBSan", and "leftover *.tmp.<pid> files and scratch folders
# of killed runners are never cleaned" (only a dead owner's, trash too:
# no ok sentinel describes what is in it).
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307 100408
copy_rapidfile
run "$RAPID" build -j 2
is "$RC" 0 "the first build"
S=out/.rapid/sentinels/copy
OKF=$(ls $S/100307/REST1_LR/*.ok.json)
ABS=$W/$OKF
cp "$OKF" "$T_TMP/ok.json"

for what in directory dangling devnull fifo symlink; do
	rm -f "$OKF"
	case $what in
	directory) mkdir "$OKF"; echo x > "$OKF/inside"; why="it is a directory" ;;
	dangling) ln -s "$W/nowhere" "$OKF"; why="it is a symbolic link" ;;
	devnull) ln -s /dev/null "$OKF"; why="it is a symbolic link" ;;
	fifo) mkfifo "$OKF"; why="it is not a regular file" ;;
	symlink) ln -s "$T_TMP/ok.json" "$OKF"; why="it is a symbolic link" ;;
	esac
	run "$RAPID" plan
	is "$RC" 0 "an ok sentinel that is a $what: plan works"
	like "$OUT" '^copy: 12 instances: 11 up to date, 1 to build$' "an ok sentinel that is a $what: the instance is stale"
	like "$OUT" '^  never built: 1 instance \(1 participant\)$' "an ok sentinel that is a $what: never built"
	is "$ERR" "rapid: warning: ignoring sentinel '$ABS': $why" "an ok sentinel that is a $what: one warning"
	run "$RAPID" build
	is "$RC" 0 "an ok sentinel that is a $what: the build rebuilds it"
	ok "$([ -f "$OKF" ] && [ ! -L "$OKF" ]; echo $?)" "an ok sentinel that is a $what: now a regular file"
	run "$RAPID" plan --exit-code
	is "$RC:$ERR" "0:" "an ok sentinel that is a $what: then up to date, silently"
done

# A file where an instance's folder should be, and a symbolic link loop.
rm -rf $S/100307/REST1_LR
echo junk > $S/100307/REST1_LR
rm -rf $S/100408/REST2_RL
ln -s REST2_RL $S/100408/REST2_RL
run "$RAPID" plan
is "$RC" 0 "bad instance folders: plan works"
like "$OUT" '^copy: 12 instances: 10 up to date, 2 to build$' "bad instance folders: those two are stale"
like "$OUT" '^  never built: 2 instances \(2 participants\)$' "bad instance folders: never built"
is "$ERR" "rapid: warning: ignoring sentinel folder '$W/$S/100307/REST1_LR/': Not a directory
rapid: warning: ignoring sentinel folder '$W/$S/100408/REST2_RL/': Too many levels of symbolic links" \
	"bad instance folders: one warning each"
run "$RAPID" status
is "$RC" 0 "bad instance folders: status works"
like "$OUT" '^copy: 10 ok, 0 failed, 0 running, 0 interrupted$' "bad instance folders: status counts the rest"
run "$RAPID" build
is "$RC" 0 "bad instance folders: the build replaces them"
run "$RAPID" plan --exit-code
is "$RC:$ERR" "0:" "bad instance folders: then up to date, silently"

# What killed runners leave: removed by the next build when their pid is
# dead, kept while it lives; trash too.
sh -c 'exit 0' & dead=$!
wait $dead
I=$S/100206/REST1_RL
K=$(basename "$(ls $I/*.ok.json)" .ok.json)
rm -f $I/$K.ok.json
touch $I/$K.ok.json.tmp.$dead $I/$K.running.json.tmp.$dead.0 $I/$K.ok.json.tmp.$$
OTHER=0123456789abcdef0123456789abcdef
mkdir -p out/.rapid/scratch/$OTHER.$dead/o out/.rapid/scratch/$OTHER.$$ out/.rapid/trash/$OTHER.$dead/o \
	out/.rapid/trash/$OTHER.$$/o
run "$RAPID" build
is "$RC" 0 "a build after killed runners"
like "$ERR" '^rapid: built 1 instance$' "builds what is stale"
is "$(ls $I | grep tmp | tr '\n' ' ')" "$K.ok.json.tmp.$$ " "their temporary files are gone, a live one's kept"
is "$(ls out/.rapid/scratch | tr '\n' ' ')" "$OTHER.$$ " "their scratch folders are gone, a live one's kept"
is "$(ls out/.rapid/trash | tr '\n' ' ')" "$OTHER.$$ " "their trash folders are gone, a live one's kept"

# Hostile failed sentinels: escapes in the reason, numbers out of range.
W2=$T_TMP/w2; mkdir -p "$W2"; cd "$W2" || exit 1
printf 'a\n' > in.txt
cat > Rapidfile <<'RF'
target t
    foreach p in x y
    input i = in.txt
    output o = out/{p}.txt
    run sh -c 'exit 3'
RF
run "$RAPID" build -k
is "$RC" 1 "two failures"
python3 - out/.rapid/sentinels/t/x/*.failed.json out/.rapid/sentinels/t/y/*.failed.json <<'PY'
import json, sys
x, y = sys.argv[1], sys.argv[2]
d = json.load(open(x))
d.update(exit_code=None, signal=-2147483648, reason="evil \x1b[31mred\x1b[0m\x07 bell\x1b]0;title\x07")
json.dump(d, open(x, 'w'))
d = json.load(open(y))
d.update(exit_code=-2147483648, signal=2147483647, reason=None, log="/l\x1b[2Jog")
json.dump(d, open(y, 'w'))
PY
ESC=$(printf '\033')
run "$RAPID" plan
is "$RC" 0 "hostile failed sentinels: plan works"
like "$OUT" '^    p=x  \(evil \\x1b\[31mred\\x1b\[0m\\x07 bell\\x1b\]0;title\\x07\)$' "plan escapes the reason"
like "$OUT" '^    p=y  \(no details\)$' "out-of-range numbers read as none"
ok "$(printf '%s' "$OUT" | grep -q "$ESC"; [ $? = 1 ]; echo $?)" "plan prints no escape character"
run "$RAPID" plan --json
like "$OUT" '"exit_code":0' "plan --json: no exit code out of range"
run "$RAPID" status
is "$RC" 0 "hostile failed sentinels: status works"
like "$OUT" '^  failed \(evil \\x1b\[31mred\\x1b\[0m\\x07 bell\\x1b\]0;title\\x07\): 1 instance$' "status escapes the reason"
like "$OUT" '^    p=y  \(log: /l\\x1b\[2Jog\)$' "status escapes the log path"
ok "$(printf '%s' "$OUT" | grep -q "$ESC"; [ $? = 1 ]; echo $?)" "status prints no escape character"
done_testing
