#!/bin/sh
# `rapid check`: the shipped examples are valid, and the summary reflects
# what the Rapidfile says (overrides, sets, references, order).
# Expected outputs live in tests/rules-errors/ok/.
. "$(dirname "$0")/lib.sh"
cd "$TESTS_DIR/.." || exit 1
OKDIR=tests/rules-errors/ok

run "$RAPID" -f Rapidfile.example check
is "$RC" 0 "Rapidfile.example: exit 0"
is "$ERR" "" "Rapidfile.example: no warnings"
is "$OUT" "$(cat $OKDIR/example.out)" "Rapidfile.example: summary"
like "$OUT" "list\(s3://hcp-openaccess/HCP_1200/\) not evaluated offline" "offline: the S3 listing is deferred"

run "$RAPID" -f Rapidfile.example check OUT=/scratch/out IMAGE=fredericklab/rapidtide:3.1.0
is "$RC" 0 "overrides: exit 0"
like "$OUT" "^  root    /scratch/out/$" "OUT override moves the root"
like "$OUT" "^  image   fredericklab/rapidtide:3.1.0$" "IMAGE override wins over ?="

# The example of DESIGN.md (a copy, with a participants.txt beside it).
run "$RAPID" -f $OKDIR/design.rf check
is "$RC" 0 "DESIGN.md example: exit 0"
is "$OUT" "$(cat $OKDIR/design.out)" "DESIGN.md example: summary"

# -h is not an error; unknown options are usage errors.
run "$RAPID" check -h
is "$RC" 0 "check -h: exit 0"
like "$OUT" "usage: rapid" "check -h: usage on stdout"

# Semantics: a downstream target written first is listed after its
# upstream; tab indentation; a variable defined below its use; sets with
# exclude and duplicates (a warning, not an error); a local list(); an
# include relative to the including file (its list() relative to the
# Rapidfile, as every path but include's); \# and comments.
mkdir -p "$T_TMP/p/data/sub-02" "$T_TMP/p/data/sub-01" "$T_TMP/p/data/.git" "$T_TMP/p/inc"
: > "$T_TMP/p/data/notes.txt"
printf 'SUBJECTS = list(data) exclude sub-03\n' > "$T_TMP/p/inc/sets.rf"
printf 'target summary\n\tforeach s in $(SUBJECTS)\n\tforeach k in a b\n\tinput maps = first.out\n\toutput o = $(RESULTS)/summary/{s}_{k}.txt\n\trun cat {maps} \\# not a comment # a comment\n' > "$T_TMP/p/Rapidfile"
cat >> "$T_TMP/p/Rapidfile" <<'RF'
include inc/sets.rf
target first
    foreach s in $(SUBJECTS) sub-01
    foreach k in a b a
    output out = $(RESULTS)/first/{s}/{k}/
    retries 2
    run sh -c 'echo $HOME > {out}x'
RESULTS = results
RF
run sh -c "cd '$T_TMP/p' && '$RAPID' check"
is "$RC" 0 "pipeline: exit 0"
is "$ERR" "rapid: Rapidfile:9:30: duplicate id 'sub-01' (first at inc/sets.rf:1), ignored
rapid: Rapidfile:10:22: duplicate id 'a' (first at Rapidfile:10), ignored" "pipeline: duplicate warnings with both positions"
is "$OUT" "target first: 4 instances
  foreach s: 2 values (sub-01 sub-02)
  foreach k: 2 values (a b)
  output  out = results/first/{s}/{k}/
  root    results/first/
  limits  retries 2
target summary: 4 instances
  foreach s: 2 values (sub-01 sub-02)
  foreach k: 2 values (a b)
  input   maps = first.out
  output  o = results/summary/{s}_{k}.txt
  root    results/summary/
rapid: Rapidfile ok (2 targets)" "pipeline: upstream first, sets, roots"

# Nothing in check touches the network: an unreachable endpoint is fine.
run env AWS_ENDPOINT_URL=http://127.0.0.1:9 "$RAPID" -f Rapidfile.example check
is "$RC" 0 "offline even with an endpoint configured"
# The wildcard limit: 64 foreach lines plan and build like any target (the
# 65th is an error of check, in tests/rules-errors/too-many-wildcards).
W64=$T_TMP/w64; mkdir -p "$W64"
python3 - > "$W64/Rapidfile" <<'PY'
print("target wide")
for i in range(64):
    print("    foreach w%d in a" % i)
print("    output o = out/" + "/".join("{w%d}" % i for i in range(64)) + ".txt")
print("    run sh -c 'echo x > \"$1\"' sh {o}")
PY
run "$RAPID" -C "$W64" check
is "$RC" 0 "64 wildcards: check accepts them"
run "$RAPID" -C "$W64" build
is "$RC" 0 "64 wildcards: the instance builds"
run "$RAPID" -C "$W64" plan
like "$OUT" "^wide: 1 instance: 1 up to date$" "64 wildcards: its ok sentinel is found"
# Shell operators in a run line reach the program as arguments (no shell
# runs it): a warning at each, not an error; quoted or escaped ones are
# meant as they are.
mkdir -p "$T_TMP/ops"
cat > "$T_TMP/ops/Rapidfile" <<'RF'
target t
    output o = out.txt
    run grep x in.txt > {o} 2>&1 && echo ';' \| done
RF
run "$RAPID" -f "$T_TMP/ops/Rapidfile" check
is "$RC" 0 "shell operators: exit 0"
is "$ERR" "rapid: $T_TMP/ops/Rapidfile:3:23: '>' is passed to the program as an argument; use sh -c '...' for a shell
rapid: $T_TMP/ops/Rapidfile:3:29: '2>&1' is passed to the program as an argument; use sh -c '...' for a shell
rapid: $T_TMP/ops/Rapidfile:3:34: '&&' is passed to the program as an argument; use sh -c '...' for a shell" \
	"shell operators: one warning each, none for quoted or escaped ones"
done_testing
