#!/bin/sh
# A write error on stdout fails the command: exit 1 and one message
# (`rapid check > /dev/full` used to exit 0). Every command that writes a
# result is tried, with a short result (written at exit) and a long one
# (written while the command runs).
. "$(dirname "$0")/lib.sh"
if ! [ -c /dev/full ] || (echo x > /dev/full) 2>/dev/null; then
	echo "1..0 # SKIP no /dev/full"
	exit 0
fi
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkdata "$W/data" 100206 100307
cat > Rapidfile <<'RF'
participants = file(participants.txt)
target copy
    foreach participant in $(participants)
    input  bold = data/{participant}/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
    output out  = out/{participant}.txt
    run cp {bold} {out}
RF
MSG="rapid: cannot write to standard output: No space left on device"

full() { # name command...: exit 1 and exactly the one message
	name=$1; shift
	"$@" > /dev/full 2>"$T_TMP/err"
	rc=$?
	is "$rc:$(cat "$T_TMP/err")" "1:$MSG" "$name > /dev/full: exit 1, one message"
}
full "check" "$RAPID" check
full "plan" "$RAPID" plan
full "plan --json" "$RAPID" plan --json
full "plan --explain" "$RAPID" plan --explain
full "graph" "$RAPID" graph
full "build -n" "$RAPID" build -n
full "version" "$RAPID" version
full "--version" "$RAPID" --version
full "help" "$RAPID" help
full "help build" "$RAPID" help build
full "plan --help" "$RAPID" plan --help
run "$RAPID" build
is "$RC" 0 "build (to a file)"
full "status" "$RAPID" status
full "status --json" "$RAPID" status --json
full "build with nothing to do" "$RAPID" build

# The same commands to a file succeed (the check is not always failing).
run "$RAPID" check
is "$RC" 0 "check to a file: exit 0"
run "$RAPID" status
is "$RC:$ERR" "0:" "status to a file: exit 0, nothing on stderr"

# A long result fails while it is written, not only at exit: one message.
mkdir -p "$T_TMP/big"; cd "$T_TMP/big" || exit 1
i=0
while [ $i -lt 300 ]; do
	printf 'target t%03d_with_a_rather_long_name\n    output o = out/%03d.txt\n    run true {o}\n' $i $i
	i=$((i + 1))
done > Rapidfile
run "$RAPID" graph
ok "$([ "${#OUT}" -gt 20000 ]; echo $?)" "the long graph is longer than stdio's buffer (${#OUT} bytes)"
full "a long graph" "$RAPID" graph
full "a long check" "$RAPID" check
done_testing
