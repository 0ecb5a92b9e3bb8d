#!/bin/sh
# A gatherer starts only after every upstream instance it gathers has an
# ok sentinel for the key it was planned with, at any -j; with -k, a
# failed gathered instance leaves its gatherers not built, naming it.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W/data"; cd "$W" || exit 1
ROUNDS=${ORDER_ROUNDS:-5}
mkdata data 1 2 3 4
rm data/2/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
rm data/4/MNINonLinear/Results/rfMRI_*/rfMRI_*.nii.gz
# The last run of each participant is slow, so a gatherer started too
# early would read a missing or an old output.
cat > Rapidfile <<'RF'
V = 1
FAIL = none
participants = file(participants.txt)
runs = REST1_LR REST1_RL REST2_LR REST2_RL
target rapidtide
    foreach participant in $(participants)
    foreach run in $(runs)
    input   bold = data/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output  dir  = out/rt/sub-{participant}/rfMRI_{run}/
    run sh -c 'case "$3" in $(FAIL)) echo "simulated failure" >&2; exit 3;; REST2_*) sleep 0.1;; esac; { echo "v$(V)"; cat "$1"; } > "$2/maps.txt"' x {bold} {dir} {participant}/{run}
target summary
    foreach participant in $(participants)
    input   maps = rapidtide.dir
    output  o    = out/summary/sub-{participant}.txt
    run sh -c 'o=$1; shift; for d; do cat "$d/maps.txt"; done > "$o"' x {o} {maps}
target group
    input   all  = rapidtide.dir
    output  o    = out/group.txt
    run sh -c 'o=$1; shift; for d; do cat "$d/maps.txt"; done > "$o"' x {o} {all}
target cohort
    input   sums = summary.o
    output  o    = out/cohort.txt
    run sh -c 'o=$1; shift; cat "$@" > "$o"' x {o} {sums}
RF

# check V: every gatherer's output holds what its upstream holds now.
# Prints the first difference, nothing when all agree.
check() {
	all=""
	for p in 1 2 3; do
		want=""
		for r in REST1_LR REST1_RL REST2_LR REST2_RL; do
			f=data/$p/MNINonLinear/Results/rfMRI_$r/rfMRI_$r.nii.gz
			[ -e "$f" ] || continue
			want="$want
v$1
$(cat "$f")"
			[ "$(cat out/rt/sub-$p/rfMRI_$r/maps.txt 2>&1)" = "v$1
$(cat "$f")" ] || { echo "rapidtide $p $r: $(cat out/rt/sub-$p/rfMRI_$r/maps.txt 2>&1)"; return; }
		done
		[ "$(cat out/summary/sub-$p.txt 2>&1)" = "${want#?}" ] || { echo "summary $p: $(cat out/summary/sub-$p.txt 2>&1)"; return; }
		all="$all$want"
	done
	[ "$(cat out/group.txt 2>&1)" = "${all#?}" ] || { echo "group: $(cat out/group.txt 2>&1)"; return; }
	[ "$(cat out/cohort.txt 2>&1)" = "${all#?}" ] || { echo "cohort: $(cat out/cohort.txt 2>&1)"; return; }
	"$RAPID" plan --exit-code V="$1" >/dev/null 2>&1 || echo "V=$1: plan is not up to date"
}

for j in 1 4 16; do
	fresh="" change="" rcs=""
	n=0
	while [ $n -lt "$ROUNDS" ]; do
		n=$((n + 1))
		rm -rf out .rapid
		"$RAPID" build -j $j V=1 >"$T_TMP/b.out" 2>&1 || rcs="$rcs fresh:$n:$(tail -3 "$T_TMP/b.out")"
		[ -n "$fresh" ] || fresh=$(check 1)
		# every run's recipe changes: the gatherers must wait for the new outputs
		"$RAPID" build -j $j V=2 >"$T_TMP/b.out" 2>&1 || rcs="$rcs change:$n:$(tail -3 "$T_TMP/b.out")"
		[ -n "$change" ] || change=$(check 2)
	done
	is "$rcs" "" "-j $j: every build succeeds ($ROUNDS rounds)"
	is "$fresh" "" "-j $j: fresh build: every gatherer holds its upstream's content"
	is "$change" "" "-j $j: after the runs' recipe changed: every gatherer holds the new content"
done

# -k: a failed run leaves its participant's summary and the group targets
# not built, each naming the failed run; the rest is built; the old
# outputs of what was not built stay.
for j in 1 4; do
	rm -rf out .rapid
	"$RAPID" build -j $j V=1 >/dev/null 2>&1
	snap() { cksum out/summary/sub-3.txt out/group.txt out/cohort.txt; }
	before=$(snap)
	run "$RAPID" build -k -j $j V=2 FAIL=3/REST1_RL
	is "$RC" 1 "-k -j $j: the build fails"
	is "$(printf '%s\n' "$ERR" | grep 'not built: upstream rapidtide' | sort)" "rapid: cohort: not built: upstream rapidtide participant=3 run=REST1_RL failed
rapid: group: not built: upstream rapidtide participant=3 run=REST1_RL failed
rapid: summary participant=3: not built: upstream rapidtide participant=3 run=REST1_RL failed" \
		"-k -j $j: each gatherer of the failed run is named, with the run"
	unlike "$ERR" "is missing" "-k -j $j: no gatherer of the failure ran"
	like "$ERR" '^rapid: built 12 of 16; 1 failed; 3 not built' "-k -j $j: the summary counts them"
	is "$(snap)" "$before" "-k -j $j: their old outputs are untouched"
	like "$(cat out/summary/sub-1.txt)" '^v2' "-k -j $j: a summary that does not gather the failure is built"
done
done_testing
