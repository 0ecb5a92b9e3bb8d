#!/bin/sh
# Folder inputs and inputs that cannot be read.
#
# A folder input (a URI ending in '/') is fingerprinted as a tree: a
# change to any file under it changes the key. An input that cannot be
# read (EACCES, a symbolic link loop, a FIFO, a folder written without
# the trailing '/') makes that one instance fail to plan, named with the
# cause; the others are planned and built, and build exits 1 naming it.
#
# Regression: one unreadable input, or an input that is a directory,
# aborted the whole plan without naming any instance.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdir -p data/a/atlas/sub data/b/atlas data/c data/d data/e
echo one > data/a/atlas/x.nii; echo two > data/a/atlas/sub/y.nii; echo three > data/b/atlas/x.nii
for p in a b c d e; do echo "bold $p" > data/$p/bold.nii; done
cat > Rapidfile <<'RF'
ps = a b
target tree
    foreach p in $(ps)
    input atlas = data/{p}/atlas/
    output o = out/tree/{p}.txt
    run sh -c 'cd "$1" && find . -type f | sort > "$2"' x {atlas} {o}
RF
run "$RAPID" build
is "$RC" 0 "a folder input builds"
is "$(cat out/tree/a.txt)" "$(printf './sub/y.nii\n./x.nii')" "the recipe gets the folder"
run "$RAPID" plan --exit-code
is "$RC" 0 "then up to date"
echo owt > data/a/atlas/sub/y.nii
run "$RAPID" plan --explain
like "$OUT" "^  input atlas changed: 1 instance$" "a file changed deep inside changes the key"
like "$OUT" "^      input atlas: files=2 size=8 xxh3=[0-9a-f]{32} → files=2 size=8 xxh3=[0-9a-f]{32}$" "--explain shows the tree's fingerprint"
like "$OUT" "^      input atlas: sub/y.nii changed$" "and which file changed"
echo new > data/b/atlas/new.nii
run "$RAPID" plan --explain
like "$OUT" "^  input atlas changed: 2 instances$" "a file added changes it too"
like "$OUT" "^      input atlas: new.nii added$" "named"
run "$RAPID" build
run "$RAPID" plan --exit-code
is "$RC" 0 "rebuilt"
rm data/b/atlas/new.nii
run "$RAPID" plan --explain
like "$OUT" "^    p=b$" "a file removed changes it"
like "$OUT" "^      input atlas: new.nii removed$" "named"

# Inputs that cannot be read, one kind per instance.
cat > Rapidfile <<'RF'
ps = a b c d e
target t
    foreach p in $(ps)
    input bold = data/{p}/in
    output o = out/t/{p}.txt
    run cp {bold} {o}
RF
cp data/a/bold.nii data/a/in
mkfifo data/b/in
ln -s in data/c/in
mkdir data/d/in
cp data/e/bold.nii data/e/in
run "$RAPID" plan
is "$RC" 1 "plan exits 1"
like "$OUT" "^t: 5 instances: 0 up to date, 2 to build, 3 skipped$" "the rest of the plan goes on"
like "$OUT" "^  cannot be planned: an input cannot be read: 3 instances$" "grouped"
like "$ERR" "^rapid: cannot plan t p=b: input bold: cannot read '$W/data/b/in': not a regular file$" "a FIFO, named (never opened)"
like "$ERR" "^rapid: cannot plan t p=c: input bold: cannot read '$W/data/c/in': Too many levels of symbolic links$" "a symbolic link loop"
like "$ERR" "^rapid: cannot plan t p=d: input bold: cannot read '$W/data/d/in': is a directory \\(write it with a trailing '/' to read it as a folder\\)$" "a folder without the trailing '/', with a hint"
run "$RAPID" plan --json
like "$OUT" '"wildcards":\{"p":"b"\},"state":"skipped","reason":"input_unreadable","summary":"input bold: cannot read' "--json: input_unreadable"
run "$RAPID" build
is "$RC" 1 "build exits 1"
is "$(cat out/t/a.txt)$(cat out/t/e.txt)" "bold abold e" "after building the rest"
like "$ERR" "^rapid: cannot plan t p=b: " "naming what it could not plan"
like "$ERR" "^rapid: 3 instances could not be planned \\(an input cannot be read\\)$" "and counting them at the end"

# EACCES: root reads anything, so run as nobody where that is possible.
if [ "$(id -u)" != 0 ]; then
	cp data/a/bold.nii data/b/locked; chmod 000 data/b/locked
	AS=""
elif command -v setpriv >/dev/null 2>&1 && setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
	AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	chmod 755 "$T_TMP"
	cp data/a/bold.nii data/b/locked; chmod 000 data/b/locked
	chown -R nobody "$W"; chown root data/b/locked
else
	AS=none
fi
if [ "$AS" = none ]; then
	ok 0 "# SKIP no way to run as a user that permissions apply to"
	ok 0 "# SKIP EACCES"
else
	rm -f data/b/in; ln -s locked data/b/in
	run $AS "$RAPID" plan
	like "$ERR" "^rapid: cannot plan t p=b: input bold: cannot read '$W/data/b/in': Permission denied$" "EACCES: named with the cause"
	like "$OUT" "^t: 5 instances: 2 up to date, 3 skipped$" "the others are planned"
fi
done_testing
