#!/bin/sh
# Gathering (fan-in): an input whose upstream target has wildcards the
# referring target lacks reads every instance that agrees on the shared
# wildcards, in set order. A per-participant summary over runs and two
# group-level targets (no foreach) over a dataset with holes: 101 lacks
# one run, 103 two, 104 every run.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W/data"; cd "$W" || exit 1
mkdata data 100 101 102 103 104
rm data/101/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
rm data/103/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz
rm data/103/MNINonLinear/Results/rfMRI_REST2_LR/rfMRI_REST2_LR.nii.gz
rm data/104/MNINonLinear/Results/rfMRI_*/rfMRI_*.nii.gz
cat > Rapidfile <<'RF'
participants = file(participants.txt)
runs = REST1_LR REST1_RL REST2_LR REST2_RL
target rapidtide
    foreach participant in $(participants)
    foreach run in $(runs)
    input   bold = data/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output  dir  = out/rt/sub-{participant}/rfMRI_{run}/
    run sh -c 'cp "$1" "$2/maps.txt"' x {bold} {dir}
# one word per gathered run, the prefix repeated
target summary
    foreach participant in $(participants)
    input   maps = rapidtide.dir
    output  o    = out/summary/sub-{participant}.txt
    run sh -c 'o=$1; shift; for a; do echo "$a"; cat "${a#--maps=}maps.txt"; done > "$o"' x {o} --maps={maps}
# the whole cohort: every participant's every run
target group
    input   all  = rapidtide.dir
    output  o    = out/group.txt
    run sh -c 'o=$1; shift; for a; do echo "$a"; done > "$o"' x {o} {all}
# the summaries of every participant that has one
target cohort
    input   sums = summary.o
    output  o    = out/cohort.txt
    run sh -c 'o=$1; shift; cat "$@" > "$o"' x {o} {sums}
RF

run "$RAPID" check
is "$RC" 0 "check accepts gathering inputs"
like "$OUT" '^  input   maps = rapidtide.dir  \(gathers run\)$' "check: what an input gathers over"
like "$OUT" '^  input   all = rapidtide.dir  \(gathers participant run\)$' "check: a group-level input gathers over both"

# ---- the plan ----
run "$RAPID" plan --explain
is "$RC" 0 "plan"
like "$OUT" '^summary: 5 instances: 0 up to date, 4 to build, 1 skipped$' "summary: one per participant; 104 gathers nothing"
like "$OUT" '    participant=104  \(input maps: gathered 0 of 4 from rapidtide participant=104: run REST1_LR, run REST1_RL, run REST2_LR and 1 more skipped\)' \
	"a gather with none left is skipped, and says why"
like "$OUT" '      input maps: gathered 3 of 4 from rapidtide participant=101: run REST2_RL skipped$' "explain: what a summary gathers"
like "$OUT" '      input maps: gathered 2 of 4 from rapidtide participant=103: run REST1_RL, run REST2_LR skipped$' "explain: two skipped runs"
like "$OUT" '      input all: gathered 13 of 20 from rapidtide: participant 101 run REST2_RL, participant 103 run REST1_RL, participant 103 run REST2_LR and 4 more skipped$' \
	"explain: what the group target gathers"
like "$OUT" '      input sums: gathered 4 of 5 from summary: participant 104 skipped$' "explain: a gather of a gatherer"

run "$RAPID" plan --json
like "$OUT" '"name":"summary","instances":5,"counts":\{[^}]*\},"gathers":\[\{"input":"maps","target":"rapidtide","output":"dir","over":\["run"\]\}\]' \
	"plan --json: the target's gathering input"
like "$OUT" '"wildcards":\{"participant":"101"\},[^{]*"gathered":\[\{"input":"maps","count":3,"of":4,"instances":\[\{"run":"REST1_LR"\},\{"run":"REST1_RL"\},\{"run":"REST2_LR"\}\],"skipped":\[\{"run":"REST2_RL"\}\]\}\]' \
	"plan --json: an instance's gathered edges, in set order, and the skipped ones"
like "$OUT" '"over":\["participant","run"\]' "plan --json: the group target gathers over both wildcards"

run "$RAPID" graph
like "$OUT" '"rapidtide" -> "summary" \[label="maps \(gathers run\)", style=bold' "graph: a gathered edge"
like "$OUT" '"rapidtide" -> "group" \[label="all \(gathers participant run\)", style=bold' "graph: the group edge"

# ---- the build: the right words in the right order ----
run "$RAPID" build -j 4
is "$RC" 0 "build"
like "$ERR" 'built 19 instances' "13 runs, 4 summaries, 2 group targets"
is "$(sed "s|$W/||" out/summary/sub-101.txt)" "--maps=out/rt/sub-101/rfMRI_REST1_LR/
bold 101 REST1_LR
--maps=out/rt/sub-101/rfMRI_REST1_RL/
bold 101 REST1_RL
--maps=out/rt/sub-101/rfMRI_REST2_LR/
bold 101 REST2_LR" "summary 101: one word per gathered run, in set order, the prefix repeated"
is "$(sed "s|$W/||" out/summary/sub-103.txt | grep -c -- --maps)" 2 "summary 103: two words"
ok "$([ ! -e out/summary/sub-104.txt ]; echo $?)" "summary 104: not built"
want=""
for p in 100 101 102 103; do
	for r in REST1_LR REST1_RL REST2_LR REST2_RL; do
		[ -e "data/$p/MNINonLinear/Results/rfMRI_$r/rfMRI_$r.nii.gz" ] && want="$want
out/rt/sub-$p/rfMRI_$r/"
	done
done
is "$(sed "s|$W/||" out/group.txt)" "${want#?}" "group: every gathered instance of the cohort, in set order"
is "$(grep -c '^bold' out/cohort.txt)" 13 "cohort: the four summaries"
run "$RAPID" plan --exit-code
is "$RC" 0 "then nothing to build"

# ---- keys change exactly when one gathered instance changes ----
stale() { # the stale instances as "target w=v …", sorted
	"$RAPID" plan --json | python3 -c '
import json, sys
for t in json.load(sys.stdin)["targets"]:
    for i in t["not_up_to_date"]:
        if i["state"] == "stale":
            print(" ".join([t["name"]] + ["%s=%s" % kv for kv in i["wildcards"].items()]))' | sort
}
old=$(basename "$(ls out/rt/.rapid/sentinels/rapidtide/102/REST1_RL/*.ok.json)" .ok.json)
echo "changed" >> data/102/MNINonLinear/Results/rfMRI_REST1_RL/rfMRI_REST1_RL.nii.gz
is "$(stale)" "cohort
group
rapidtide participant=102 run=REST1_RL
summary participant=102" "one run's input changed: only that run, its participant's summary and the group targets are stale"
run "$RAPID" plan --explain
new=$(printf '%s\n' "$OUT" | sed -n '/^rapidtide/,/^summary/p' | sed -n 's/^      key \([0-9a-f]*\) (was .*/\1/p')
like "$OUT" "      input maps: rapidtide participant=102 run=REST1_RL key $(printf %.12s "$old")… → $(printf %.12s "$new")…\$" \
	"explain: the summary names the gathered instance whose key changed, old → new"
like "$OUT" "      input all: rapidtide participant=102 run=REST1_RL key $(printf %.12s "$old")… → $(printf %.12s "$new")…\$" \
	"explain: so does the group target"
like "$OUT" "      input sums: summary participant=102 key " "explain: and the cohort names the summary"
run "$RAPID" build -j 4
is "$RC" 0 "rebuild"
like "$ERR" 'built 4 instances' "rebuild: exactly those four"
like "$(cat out/summary/sub-102.txt)" 'changed' "the summary holds the new content"

# ---- a hole appears, a hole is filled ----
rm data/100/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
printf 'bold 101 REST2_RL\n' > data/101/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
is "$(stale)" "cohort
group
rapidtide participant=101 run=REST2_RL
summary participant=100
summary participant=101" "a run went missing, another appeared: only their summaries and the group targets are stale"
run "$RAPID" plan --explain
like "$OUT" '      input maps: gathered 3 of 4: run REST2_RL skipped \(was 4 of 4\)$' "explain: the run newly skipped"
like "$OUT" '      input maps: gathered 4 of 4: run REST2_RL added \(was 3 of 4\)$' "explain: the run newly gathered"
like "$OUT" '      input all: gathered 13 of 20: participant 100 run REST2_RL skipped; participant 101 run REST2_RL added$' \
	"explain: the group target names both (the count is the same, the key is not)"
run "$RAPID" build
is "$RC" 0 "build after the holes moved"
is "$(sed "s|$W/||" out/summary/sub-100.txt | grep -- --maps)" "--maps=out/rt/sub-100/rfMRI_REST1_LR/
--maps=out/rt/sub-100/rfMRI_REST1_RL/
--maps=out/rt/sub-100/rfMRI_REST2_LR/" "the skipped run is left out of the words"

# ---- set order when the shared wildcard is not the upstream's first ----
mkdir -p "$W/order" && cd "$W/order" || exit 1
cat > Rapidfile <<'RF'
target up
    foreach run in R1 R2 R3
    foreach p in a b
    foreach echo in e1 e2
    output o = out/up/{p}/{run}-{echo}.txt
    run sh -c 'echo x > "$1"' x {o}
target down
    foreach p in b a c
    input m = up.o
    output o = out/down/{p}.txt
    run sh -c 'o=$1; shift; echo "$@" > "$o"' x {o} {m}
RF
run "$RAPID" build
is "$(sed "s|$W/order/||g" out/down/b.txt)" "out/up/b/R1-e1.txt out/up/b/R1-e2.txt out/up/b/R2-e1.txt out/up/b/R2-e2.txt out/up/b/R3-e1.txt out/up/b/R3-e2.txt" \
	"set order: the upstream's first wildcard varies slowest, whatever the shared one"
like "$ERR" "built 14 instances" "a shared value the upstream lacks: that gatherer is skipped, the rest built"
run "$RAPID" plan
like "$OUT" '    p=c  \(input m: up has no instance p=c\)' "a shared value the upstream lacks: said so"

# ---- an optional gathering input that gathers nothing: no words ----
mkdir -p "$W/opt" && cd "$W/opt" || exit 1
cat > Rapidfile <<'RF'
ps = a b
rs = 1 2
target up
    foreach p in $(ps)
    foreach r in $(rs)
    input  i = in/{p}{r}.txt
    output o = out/up/{p}/{r}.txt
    run cp {i} {o}
target down
    foreach p in $(ps)
    input? m = up.o
    output o = out/down/{p}.txt
    run sh -c 'o=$1; shift; echo "$# $*" > "$o"' x {o} {m}
RF
mkdir in && echo a1 > in/a1.txt && echo a2 > in/a2.txt
run "$RAPID" build
is "$RC" 0 "optional gather: build"
is "$(sed "s|$W/opt/||g" out/down/a.txt)" "2 out/up/a/1.txt out/up/a/2.txt" "optional gather: the words"
is "$(cat out/down/b.txt)" "0 " "optional gather of nothing: the word is dropped, the instance built"
done_testing
