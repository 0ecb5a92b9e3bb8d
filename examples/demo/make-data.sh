#!/bin/sh
# make-data.sh DIR: a small synthetic HCP-shaped dataset in DIR: 20
# participants x 4 resting-state runs, with holes as real datasets have
# (some participants lack a run, one lacks its brain mask).
set -eu
dir=$1
mkdir -p "$dir/data"
: > "$dir/participants.txt"
n=0
for p in 100206 100307 100408 100610 101006 101107 101309 101410 101915 102008 \
         102109 102311 102513 102614 102715 102816 103010 103111 103212 103414; do
	n=$((n + 1))
	echo "$p" >> "$dir/participants.txt"
	for r in REST1_LR REST1_RL REST2_LR REST2_RL; do
		# holes: participant 5 has no REST2 runs, 12 has no REST1_RL
		case "$n:$r" in 5:REST2_*|12:REST1_RL) continue;; esac
		f="$dir/data/$p/MNINonLinear/Results/rfMRI_$r/rfMRI_$r.nii.gz"
		mkdir -p "$(dirname "$f")"
		# a few KiB of deterministic bytes per run
		i=0; while [ $i -lt 64 ]; do echo "$p $r volume $i"; i=$((i + 1)); done | gzip -n > "$f"
	done
	[ $n = 9 ] || echo "mask $p" > "$dir/data/$p/MNINonLinear/brainmask_fs.2.nii.gz"
done
