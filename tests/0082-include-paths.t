#!/bin/sh
# One rule for relative paths: every relative path in any file (input and
# output URIs, file(), list(), tsv()) is relative to the main Rapidfile's
# directory, where the recipes run too; only `include FILE` is relative
# to the file that holds the include line.
. "$(dirname "$0")/lib.sh"
P=$T_TMP/proj; mkdir -p "$P/rules/parts" "$P/lists" "$P/data/s1" "$P/data/s2" "$T_TMP/elsewhere"
cd "$P" || exit 1
printf '01\n02\n' > lists/ids.txt
printf 'participant_id\tgroup\nsub-01\tA\nsub-02\tB\n' > lists/participants.tsv
for p in 01 02; do echo "bold $p" > "data/bold-$p.txt"; done
# Files with the same names beside the includes: they must not be used.
printf '99\n' > rules/ids.txt
mkdir -p rules/lists rules/data && printf '98\n' > rules/lists/ids.txt
cat > Rapidfile <<'RF'
include rules/common.rf
RF
cat > rules/common.rf <<'RF'
ids = file(lists/ids.txt)
include parts/targets.rf
RF
cat > rules/parts/targets.rf <<'RF'
target copy
    foreach p in $(ids)
    input   bold = data/bold-{p}.txt
    output  out  = out/{p}.txt
    run cp {bold} {out}

target groups
    foreach p in tsv(lists/participants.tsv, participant_id, sub-)
    foreach s in list(data)
    input   c   = copy.out
    output  out = out/{s}/{p}.txt
    run cp {c} {out}
RF
run "$RAPID" check
is "$RC" 0 "nested includes in subfolders check"
like "$OUT" 'foreach p: 2 values \(01 02\)' "file() in rules/common.rf reads lists/ids.txt beside the Rapidfile"
like "$OUT" 'input   bold = data/bold-\{p\}.txt' "the input as written"
like "$OUT" 'foreach s: 2 values \(s1 s2\)' "list() in an include lists data/ beside the Rapidfile"
cd "$T_TMP/elsewhere" || exit 1
run "$RAPID" -f ../proj/Rapidfile build
is "$RC" 0 "build from another directory"
is "$(cat "$P/out/02.txt")" "bold 02" "the input in an include is beside the Rapidfile"
is "$(cat "$P/out/s2/01.txt")" "bold 01" "tsv() in an include reads lists/ beside the Rapidfile"

# Errors name the path as opened: relative to the Rapidfile's directory.
cd "$P" || exit 1
printf 'ids = file(lists/nope.txt)\ninclude parts/targets.rf\n' > rules/common.rf
run "$RAPID" check
is "$ERR" "rapid: rules/common.rf:1:7: cannot read 'lists/nope.txt': No such file or directory" \
   "a missing file() of an include: the include's position, the path from the Rapidfile's directory"
printf 'include nope.rf\n' > rules/common.rf
run "$RAPID" check
is "$ERR" "rapid: rules/common.rf:1:9: cannot read 'rules/nope.rf': No such file or directory" \
   "include itself is relative to the including file"
done_testing
