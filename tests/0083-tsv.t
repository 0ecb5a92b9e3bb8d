#!/bin/sh
# tsv(FILE, COLUMN[, PREFIX]) reads a column of a BIDS participants.tsv;
# a UTF-8 byte order mark is ignored there and in a file() ids file; a set
# function that gives no values is a warning naming where it is written.
. "$(dirname "$0")/lib.sh"
cd "$T_TMP" || exit 1
# A byte order mark, CRLF line ends, a value without the prefix, blanks
# around a cell, a duplicate, a trailing blank line.
printf '\357\273\277participant_id\tage\tgroup\r\nsub-01\t30\tA\r\nctrl02\t31\tB\r\n sub-03 \t32\tA\r\nsub-01\t30\tA\r\n\r\n' > participants.tsv
printf '\357\273\277100307\n100408\n' > ids.txt
cat > Rapidfile <<'RF'
target t
    foreach p in tsv(participants.tsv, participant_id, sub-)
    foreach g in tsv(participants.tsv, group)
    foreach h in file(ids.txt)
    output o = out/{p}/{g}/{h}/
    run touch {o}
RF
run "$RAPID" check
is "$RC" 0 "tsv() checks"
like "$OUT" 'foreach p: 3 values \(01 ctrl02 03\)' "ids of a column, prefix stripped where present, blanks and CRLF dropped"
like "$OUT" 'foreach g: 2 values \(A B\)' "another column; values in first-seen order"
like "$OUT" 'foreach h: 2 values \(100307 100408\)' "a byte order mark in an ids file is ignored"
is "$ERR" "" "repeated values of a column are no warning"

# Empty sets: a warning for each set function that gives nothing.
: > empty.txt
printf 'participant_id\n' > header-only.tsv
mkdir -p nodirs && : > nodirs/file.txt
cat > Rapidfile <<'RF'
target t
    foreach p in file(empty.txt)
    foreach q in tsv(header-only.tsv, participant_id) a
    foreach r in list(nodirs) exclude file(empty.txt)
    output o = out/{p}/{q}/{r}/
    run touch {o}
target u
    foreach p in file(empty.txt)
    output o = out/{p}/
    run touch {o}
RF
run "$RAPID" check
is "$RC" 0 "empty sets are not errors"
is "$ERR" "rapid: Rapidfile:2:18: file(empty.txt) gives no values
rapid: Rapidfile:3:18: tsv(header-only.tsv, participant_id) gives no values
rapid: Rapidfile:4:18: list(nodirs) gives no values" \
   "each empty set function warned about once, where it is written; not an empty exclude"
like "$OUT" 'target t: 0 instances' "the target has no instances"
done_testing
