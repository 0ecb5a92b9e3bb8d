#!/bin/sh
# The demo: plan, build, plan again (nothing to do), change one input,
# plan (that run and its participant's summary are stale, and why), build
# them, show the status.
set -eu
: "${RAPID:?RAPID must name the rapid binary}"
here=$(cd "$(dirname "$0")" && pwd)
work=$here/work
rm -rf "$work"
mkdir -p "$work"
sh "$here/make-data.sh" "$work"
cp "$here/Rapidfile" "$work/Rapidfile"
cd "$work"
step() { printf '\n$ rapid %s\n' "$(shift; echo "$*")"; "$@"; }
echo "rapid demo in $work: 20 participants x 4 runs, some runs missing"
step "$RAPID" plan
step "$RAPID" build -j 2
step "$RAPID" plan
f=data/101006/MNINonLinear/Results/rfMRI_REST1_LR/rfMRI_REST1_LR.nii.gz
echo
echo "# change one input: $f"
echo "one more volume" | gzip -n >> "$f"
step "$RAPID" plan --explain
step "$RAPID" build
step "$RAPID" plan
step "$RAPID" status
