#!/bin/sh
# Dependency order in the local executor: an instance starts only after
# every instance it reads from has finished with an ok sentinel for the
# key it was planned with, at any -j.
#
# Regression: with `input m = up.d` and -j 4 a fresh build started `down`
# while `up` was still running ("input 'm' is missing: cannot stat ..."),
# and after a change to up's recipe it ran both side by side, so `down`
# copied the old output and recorded ok under the new key.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
ROUNDS=${ORDER_ROUNDS:-20}
# up -> mid -> down (three levels) and up -> pair (two levels).
cat > Rapidfile <<'RF'
V = 1
FAIL = none
ps = a b c d
target up
    foreach p in $(ps)
    output d = out/up/{p}.txt
    run sh -c 'case "$2" in $(FAIL)) echo "simulated failure" >&2; exit 3;; esac; echo "up $1 $2" > "$3"' x $(V) {p} {d}
target mid
    foreach p in $(ps)
    input m = up.d
    output o = out/mid/{p}.txt
    run sh -c 'cat "$1" > "$2"; echo mid >> "$2"' x {m} {o}
target down
    foreach p in $(ps)
    input m = mid.o
    output o = out/down/{p}.txt
    run sh -c 'cat "$1" > "$2"; echo down >> "$2"' x {m} {o}
target pair
    foreach p in $(ps)
    input m = up.d
    output o = out/pair/{p}.txt
    run cp {m} {o}
RF

# check V: every output holds what its upstream holds now. Prints the
# first difference, nothing when all agree.
check() {
	for p in a b c d; do
		want="up $1 $p"
		[ "$(cat out/up/$p.txt 2>/dev/null)" = "$want" ] || { echo "up $p: $(cat out/up/$p.txt 2>&1)"; return; }
		[ "$(cat out/pair/$p.txt 2>/dev/null)" = "$want" ] || { echo "pair $p: $(cat out/pair/$p.txt 2>&1)"; return; }
		[ "$(cat out/mid/$p.txt 2>/dev/null)" = "$(printf '%s\nmid' "$want")" ] || { echo "mid $p: $(cat out/mid/$p.txt 2>&1)"; return; }
		[ "$(cat out/down/$p.txt 2>/dev/null)" = "$(printf '%s\nmid\ndown' "$want")" ] || { echo "down $p: $(cat out/down/$p.txt 2>&1)"; return; }
	done
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
		# up's recipe changes: every instance is stale, down must wait
		# for up's new output
		"$RAPID" build -j $j V=2 >"$T_TMP/b.out" 2>&1 || rcs="$rcs change:$n:$(tail -3 "$T_TMP/b.out")"
		[ -n "$change" ] || change=$(check 2)
	done
	is "$rcs" "" "-j $j: every build succeeds ($ROUNDS rounds)"
	is "$fresh" "" "-j $j: fresh build: every downstream output holds its upstream's content"
	is "$change" "" "-j $j: after up's recipe changed: every downstream output holds up's new content"
done

# -k: the dependents of a failure are not started (not even at -j 1),
# each is named with the upstream that failed, and their old outputs and
# sentinels stay as they were. Regression: they ran and failed with
# "input 'm' is missing".
for j in 1 4; do
	rm -rf out .rapid
	"$RAPID" build -j $j V=1 >/dev/null 2>&1
	snap() { (cd out && find mid down pair \
		-type f \( -name b.txt -o -path '*/b/*' \) | sort | xargs cksum); }
	before=$(snap)
	is "$(printf '%s\n' "$before" | grep -c '/b/[0-9a-f]*\.ok\.json$')" 3 "-k -j $j: (the dependents' ok sentinels before)"
	run "$RAPID" build -k -j $j V=2 FAIL=b
	is "$RC" 1 "-k -j $j: the build fails"
	is "$(printf '%s\n' "$ERR" | grep '^rapid: [a-z]* p=b: not built' | sort)" "rapid: down p=b: not built: upstream up p=b failed
rapid: mid p=b: not built: upstream up p=b failed
rapid: pair p=b: not built: upstream up p=b failed" "-k -j $j: each dependent of the failure is named, with the upstream that failed"
	unlike "$ERR" "is missing" "-k -j $j: no dependent of the failure ran"
	like "$ERR" '^rapid: built 12 of 16; 1 failed; 3 not built' "-k -j $j: the summary counts them"
	is "$(snap)" "$before" "-k -j $j: their old outputs and sentinels are untouched"
	is "$(cat out/down/a.txt)" "$(printf 'up 2 a\nmid\ndown')" "-k -j $j: what does not depend on the failure is built"
done

# An upstream that was up to date at plan time is checked again when its
# dependent is about to start: if its ok sentinel for the planned key is
# gone (another build rebuilt it at another key meanwhile), the dependent
# is not started.
mkdir -p "$W/u" && cd "$W/u" || exit 1
cat > Rapidfile <<RF
target up
    foreach p in a
    output o = out/up/{p}.txt
    run sh -c 'echo up > "\$1"' x {o}
target slow
    foreach p in a
    output o = out/slow/{p}.txt
    run sh -c 'touch "$W/u/slow.started"; while [ -e "$W/u/hold" ]; do sleep 0.05; done; echo slow > "\$1"' x {o}
target down
    foreach p in a
    input m = up.o
    input n = slow.o
    output o = out/down/{p}.txt
    run sh -c 'cat "\$1" "\$2" > "\$3"' x {m} {n} {o}
RF
"$RAPID" build up >/dev/null 2>&1
: > hold
"$RAPID" build >"$T_TMP/u.out" 2>"$T_TMP/u.err" &
bp=$!
i=0; while [ $i -lt 1200 ] && [ ! -e slow.started ]; do sleep 0.05; i=$((i + 1)); done
ok_up=$(ls out/up/.rapid/sentinels/up/a/*.ok.json)
rm -f "$ok_up"; echo other > out/up/a.txt # what a build at another key would do
rm -f hold
wait $bp
is "$?" 1 "upstream gone since the plan: the build fails"
is "$(grep 'not built' "$T_TMP/u.err")" "rapid: down p=a: not built: upstream up p=a has no ok sentinel for key $(basename "$ok_up" .ok.json)" \
	"upstream gone since the plan: its dependent is not started, and says why"
ok "$([ ! -e out/down/a.txt ]; echo $?)" "upstream gone since the plan: no output was made from it"
done_testing
