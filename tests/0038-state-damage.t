#!/bin/sh
# The state is a cache: whatever a disk does to .rapid/state, every
# command still works and plans exactly what a fresh state plans, with
# at most one warning. Pins "a corrupt data.mdb crashes every command"
# (SIGBUS/SIGSEGV inside liblmdb: 120 bit flips over the meta and data
# pages of a real data.mdb), "a state file replaced by a directory,
# /dev/null or a dangling symlink fails every command" and "a read-only
# .rapid/state makes plan fail".
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307 100408
# Inputs older than the fingerprint cache's racy window (20 ms), so that
# a plan caches them at once, however fast this machine is.
find data -type f -exec touch -d 2020-01-01 {} +
copy_rapidfile
run "$RAPID" build -j 2
is "$RC" 0 "the first build"
# Some instances stale with an explanation (components from the cache).
echo changed >> data/100307/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
echo changed >> data/100408/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
touch -d 2020-01-01 data/100307/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz \
	data/100408/MNINonLinear/Results/rfMRI_REST2_RL/rfMRI_REST2_RL.nii.gz
run "$RAPID" plan --explain
is "$ERR" "" "the plan with a sound state is silent"
WANT=$OUT
like "$WANT" '^copy: 12 instances: 10 up to date, 2 to build$' "two instances are stale"
like "$WANT" 'input bold: ' "and explained"
SD=.rapid/state
# A plan that finds what the last one found writes nothing, so the next
# open trusts the "verified" mark instead of walking data.mdb again.
before=$(stat -c '%z %s' "$SD/data.mdb")
run "$RAPID" plan --explain
is "$(stat -c '%z %s' "$SD/data.mdb")" "$before" "a repeated plan with stale instances leaves data.mdb alone"
cp "$SD/data.mdb" "$T_TMP/pristine.mdb"
rm -rf "$SD"
run "$RAPID" plan --explain
is "$OUT" "$WANT" "a fresh state plans the same"
rm -rf "$SD"; mkdir -p "$SD"; cp "$T_TMP/pristine.mdb" "$SD/data.mdb"

WARN_RE="^rapid: warning: state '\\./\\.rapid/state' is unreadable \\(.*\\); starting afresh\$"

# flip OFFSET BIT: flip one bit of a copy of the pristine data.mdb
flip() {
	rm -rf "$SD" "$W"/.rapid/state.corrupt.*
	mkdir -p "$SD"
	cp "$T_TMP/pristine.mdb" "$SD/data.mdb"
	python3 - "$SD/data.mdb" "$1" "$2" <<'PY'
import sys
p, off, bit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(p, 'r+b') as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ (1 << bit)]))
PY
}

# 120 offsets: 20 in each meta page's header and meta fields (the first
# 152 bytes of pages 0 and 1), 80 spread over the data pages.
SIZE=$(wc -c < "$T_TMP/pristine.mdb")
OFFSETS=$(python3 - "$SIZE" <<'PY'
import sys
size = int(sys.argv[1])
offs = []
for page in (0, 4096):
    offs += [page + (i * 7) % 152 for i in range(20)]
data = size - 8192
offs += [8192 + (i * data) // 80 + (i * 37) % 61 for i in range(80)]
for i, o in enumerate(offs):
    print(min(o, size - 1), i % 8)
PY
)
bad=0 crashes=0 wrong=0 noisy=0 warned=0 second=0
echo "$OFFSETS" > "$T_TMP/offsets"
while read -r off bit; do
	flip "$off" "$bit"
	run "$RAPID" plan --explain
	if [ "$RC" -ne 0 ]; then crashes=$((crashes + 1)); echo "# offset $off bit $bit: exit $RC: $ERR"; fi
	if [ "$OUT" != "$WANT" ]; then wrong=$((wrong + 1)); echo "# offset $off bit $bit: another plan"; fi
	if [ -n "$ERR" ]; then
		if [ "$(printf '%s\n' "$ERR" | wc -l)" -ne 1 ] || ! printf '%s\n' "$ERR" | grep -Eq "$WARN_RE"; then
			noisy=$((noisy + 1)); echo "# offset $off bit $bit: stderr: $ERR"
		else
			warned=$((warned + 1))
		fi
	fi
	run "$RAPID" plan --explain
	if [ "$RC" -ne 0 ] || [ -n "$ERR" ] || [ "$OUT" != "$WANT" ]; then
		second=$((second + 1)); echo "# offset $off bit $bit: the next plan: $RC $ERR"
	fi
done < "$T_TMP/offsets"
is "$(wc -l < "$T_TMP/offsets" | tr -d ' ')" 120 "120 bit flips"
is "$crashes" 0 "no flip makes plan fail or crash"
is "$wrong" 0 "every flip plans what a fresh state plans"
is "$noisy" 0 "at most the one warning"
is "$second" 0 "and the plan after it is silent and the same"
echo "# $warned of 120 flips were noticed and moved aside"
ok "$([ "$warned" -ge 10 ]; echo $?)" "the flips of the meta pages' magic and roots are noticed ($warned)"

# The files replaced by what is not a regular file.
for f in data.mdb lock.mdb; do
	for what in directory devnull dangling; do
		rm -rf "$SD" "$W"/.rapid/state.corrupt.*
		mkdir -p "$SD"; cp "$T_TMP/pristine.mdb" "$SD/data.mdb"
		rm -f "$SD/$f"
		case $what in
		directory) mkdir "$SD/$f"; why="'$f' is a directory" ;;
		devnull) ln -s /dev/null "$SD/$f"; why="'$f' is not a regular file" ;;
		dangling) ln -s "$W/nowhere" "$SD/$f"; why="'$f' is a dangling symbolic link" ;;
		esac
		run "$RAPID" plan --explain
		is "$RC" 0 "$f a $what: plan works"
		is "$ERR" "rapid: warning: state './.rapid/state' is unreadable ($why); starting afresh" \
			"$f a $what: the one warning names it"
		is "$OUT" "$WANT" "$f a $what: the same plan"
		ok "$([ -e "$(ls -d "$W"/.rapid/state.corrupt.*/"$f" 2>/dev/null | head -1)" ] || [ -L "$(ls -d "$W"/.rapid/state.corrupt.*/"$f" 2>/dev/null | head -1)" ]; echo $?)" \
			"$f a $what: moved aside"
		run "$RAPID" plan --explain
		is "$ERR" "" "$f a $what: the next plan is silent"
	done
done

# The state folder itself replaced.
for what in file devnull dangling; do
	rm -rf "$SD" "$W"/.rapid/state.corrupt.*
	case $what in
	file) echo junk > "$SD"; why="it is a file" ;;
	devnull) ln -s /dev/null "$SD"; why="it is a symbolic link to nothing usable" ;;
	dangling) ln -s "$W/nowhere" "$SD"; why="it is a symbolic link to nothing usable" ;;
	esac
	run "$RAPID" plan --explain
	is "$RC" 0 ".rapid/state a $what: plan works"
	is "$ERR" "rapid: warning: state './.rapid/state' is unreadable ($why); starting afresh" \
		".rapid/state a $what: the one warning"
	is "$OUT" "$WANT" ".rapid/state a $what: the same plan"
	ok "$([ -d "$SD" ] && [ ! -L "$SD" ]; echo $?)" ".rapid/state a $what: a fresh folder"
done

# A read-only state (a colleague's project): as a user who cannot write it.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif [ "$(id -u)" != 0 ]; then
	AS=""
else
	AS=none
fi
if [ "$AS" != none ]; then
	rm -rf "$SD" "$W"/.rapid/state.corrupt.*
	run "$RAPID" plan --explain
	chmod a+rx "$T_TMP"
	chmod -R a+rX "$W"
	chmod -R a-w "$W"
	run $AS "$RAPID" plan --explain
	is "$RC" 0 "a read-only state: plan works"
	is "$ERR" "rapid: warning: cannot write state './.rapid/state': Permission denied; going on without it" \
		"a read-only state: one warning"
	is "$OUT" "$WANT" "a read-only state: the same plan"
	rm -rf "$SD"
	chmod u+w "$W/.rapid"
	rm -rf "$SD"
	chmod a-w "$W/.rapid"
	run $AS "$RAPID" plan --explain
	is "$RC" 0 "no state in a read-only project: plan works"
	is "$ERR" "rapid: warning: cannot write state './.rapid/state': Permission denied; going on without it" \
		"no state in a read-only project: one warning"
	is "$OUT" "$WANT" "no state in a read-only project: the same plan"
	chmod -R u+w "$W"
else
	echo "# skipped the read-only cases: root without setpriv"
fi
done_testing
