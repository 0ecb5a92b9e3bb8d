# tests/lib.sh - TAP helpers for the shell tests. Source it, then call
# plan N (or done_testing at the end) and ok/is/like/unlike.
: "${RAPID:?RAPID must name the rapid binary (make check sets it)}"
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
T_NUM=0
T_FAIL=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rapid-test.XXXXXX")
trap 'rm -rf "$T_TMP"' EXIT
export NO_COLOR=1

plan() { echo "1..$1"; }
done_testing() { echo "1..$T_NUM"; [ "$T_FAIL" = 0 ]; }
_report() { # status name [diag]
	T_NUM=$((T_NUM + 1))
	if [ "$1" = 0 ]; then echo "ok $T_NUM - $2"
	else echo "not ok $T_NUM - $2"; T_FAIL=$((T_FAIL + 1))
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}
ok() { # cond-status name
	_report "$1" "$2"
}
is() { # got expected name
	if [ "$1" = "$2" ]; then _report 0 "$3"
	else _report 1 "$3" "$(printf 'got:\n%s\nexpected:\n%s' "$1" "$2")"; fi
}
like() { # got regex name
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _report 0 "$3"
	else _report 1 "$3" "$(printf 'got:\n%s\nexpected to match: %s' "$1" "$2")"; fi
}
unlike() { # got regex name
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _report 1 "$3" "$(printf 'got:\n%s\nexpected not to match: %s' "$1" "$2")"
	else _report 0 "$3"; fi
}
# run CMD...: sets OUT (stdout), ERR (stderr), RC (exit status)
run() {
	"$@" >"$T_TMP/.out" 2>"$T_TMP/.err"
	RC=$?
	OUT=$(cat "$T_TMP/.out")
	ERR=$(cat "$T_TMP/.err")
}

# mkdata DIR P1 P2 ...: an HCP-shaped tree, four runs per participant,
# with a brain mask for each participant.
mkdata() {
	_d=$1; shift
	for _p in "$@"; do
		for _r in REST1_LR REST1_RL REST2_LR REST2_RL; do
			mkdir -p "$_d/$_p/MNINonLinear/Results/rfMRI_$_r"
			printf 'bold %s %s\n' "$_p" "$_r" > "$_d/$_p/MNINonLinear/Results/rfMRI_$_r/rfMRI_$_r.nii.gz"
		done
		printf 'mask %s\n' "$_p" > "$_d/$_p/MNINonLinear/brainmask_fs.2.nii.gz"
		echo "$_p" >> "$_d/../participants.txt"
	done
}
# copy_rapidfile: a Rapidfile in the current folder copying each run of
# mkdata's tree to out/sub-<participant>/<run>.txt (target copy).
copy_rapidfile() {
	cat > Rapidfile <<'RF'
participants = file(participants.txt)
runs = REST1_LR REST1_RL REST2_LR REST2_RL
target copy
    foreach participant in $(participants)
    foreach run in $(runs)
    input   bold = data/{participant}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}.nii.gz
    output  out  = out/sub-{participant}/{run}.txt
    run cp {bold} {out}
RF
}
# count_lines FILE PATTERN: how many lines of FILE match PATTERN (0 if none).
count_lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }
