#!/bin/sh
# bench/s3-staging.sh - staging one rapidtide instance through S3: rapid's
# transfer path against the AWS CLI's `aws s3 cp --recursive`, side by
# side in one run, on the loopback emulator of the tests (tests/emu:
# s3rver behind a server that checks every signature with botocore).
#
#   get   a rapidtide input set: one 1 GiB BOLD series and 20 small files
#         (sidecars, masks, confounds; 1 KiB to 4 MiB), 21 objects under
#         s3://bench/in/, into an empty folder
#   put   an output folder shaped like rapidtide's: 40 files, 1.3 GB (three
#         large 4-D maps of 450, 300 and 200 MiB, ten 30 MiB maps, 27 small
#         maps, tables and sidecars), under a prefix
#
# rapid's side is `s3tool get-many` / `s3tool put-many` (tests/tools/s3tool.c):
# one s3_run of every object at once over aws/s3.c, the code the runner
# stages with, JOBS requests in flight (the runner's default, 32); objects
# of 16 MiB or more go up in 8 MiB parts. The AWS CLI runs with its own
# defaults (10 threads, 8 MiB parts, ranged GETs of 8 MiB). Each is timed
# RUNS times, alternating; the table gives the median wall time and the
# median client CPU (user + system of the client process and its children,
# from wait4; the emulator's own CPU is not counted), and rapid's ratio to
# the CLI. Every download is compared byte for byte with its source, and
# every upload listed back (count and bytes).
#
# To time another client (`rapid runner` staging an instance, say), set
#   RAPID_GET='CMD...'   run as: CMD... s3://bench/in/ DIR
#   RAPID_PUT='CMD...'   run as: CMD... DIR s3://bench/out-rapid/
# (the words are split by the shell; the environment points AWS_* at the
# emulator), and name them in the table with RAPID_LABEL.
#
# Usage:   make bench-staging
# Knobs:   RUNS=3  JOBS=32  BIG_MIB=1024  KEEP=0 (1: keep WORK)
#          DIV=1 (the large files divided by DIV: DIV=64 checks the script
#          in seconds)
#          WORK=$(mktemp -d /tmp/rapid-staging.XXXXXX): the data (about 7 GB
#          while it runs: sources, the emulator's store, the downloads),
#          removed at the end
set -eu

: "${TOOLDIR:?TOOLDIR must name the folder of s3tool (make bench-staging sets it)}"
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
BIG_MIB=${BIG_MIB:-1024}
KEEP=${KEEP:-0}
DIV=${DIV:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/rapid-staging.XXXXXX)}
S3TOOL=$TOOLDIR/s3tool
RAPID_GET=${RAPID_GET:-"$S3TOOL -j $JOBS get-many"}
RAPID_PUT=${RAPID_PUT:-"$S3TOOL -j $JOBS put-many"}
RAPID_LABEL=${RAPID_LABEL:-"s3tool, $JOBS in flight"}
AWS=/usr/bin/aws
PY=/usr/bin/python3

mkdir -p "$WORK"
# tests/emu.sh expects the TAP helpers' names.
T_TMP=$WORK
TESTS_DIR=$ROOT/tests
_report() { [ "$1" = 0 ] || { echo "bench: $2" >&2; [ -n "${3:-}" ] && echo "$3" >&2; }; }
done_testing() { :; }
. "$ROOT/tests/emu.sh"
cleanup() {
	emu_stop
	if [ "$KEEP" = 1 ]; then echo "bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
emu_start bench
export AWS_PAGER=""
awsc() { "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }

# measure NAME PREP CMD...: run PREP (untimed, through sh -c), then CMD
# (timed); append "wall cpu" to NAME.times.
measure() {
	_name=$1 _prep=$2; shift 2
	sh -c "$_prep"
	$PY "$ROOT/bench/timed.py" "$WORK/$_name.times" "$@"
}
median() { # FILE COLUMN
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
row() { # LABEL NAME
	printf '| %-52s | %8.2f s | %8.2f s |\n' "$1" "$(median "$WORK/$2.times" 1)" "$(median "$WORK/$2.times" 2)"
}
ratio() { # LABEL RAPID_NAME CLI_NAME
	awk -v l="$1" -v rw="$(median "$WORK/$2.times" 1)" -v rc="$(median "$WORK/$2.times" 2)" \
		-v cw="$(median "$WORK/$3.times" 1)" -v cc="$(median "$WORK/$3.times" 2)" \
		'BEGIN { printf "| %-52s | %8.2f x | %8.2f x |\n", l, rw / cw, rc / cc }'
}
# same SRC DST: every file of SRC is in DST with the same bytes.
same() {
	(cd "$1" && find . -type f) | sort > "$WORK/files.a"
	(cd "$2" && find . -type f) | sort > "$WORK/files.b"
	cmp -s "$WORK/files.a" "$WORK/files.b" || { echo "bench: $2 does not hold the files of $1" >&2; exit 1; }
	while read -r f; do
		cmp -s "$1/$f" "$2/$f" || { echo "bench: $2/$f differs from its source" >&2; exit 1; }
	done < "$WORK/files.a"
}
# listed PREFIX N BYTES: the emulator holds N objects of BYTES in all under PREFIX.
listed() {
	"$S3TOOL" ls "$1" 2>/dev/null | awk -v n="$2" -v b="$3" -v p="$1" \
		'{ c++; s += $1 } END { if (c != n || s != b) { printf "bench: %s holds %d objects, %d bytes, not %d, %d\n", p, c, s, n, b > "/dev/stderr"; exit 1 } }'
}
# file PATH BYTES: BYTES of random data.
file() {
	mkdir -p "$(dirname "$1")"
	head -c "$2" /dev/urandom > "$1"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench: writing the data under $WORK" >&2
LOAD_BEFORE=$(load)
S=sub-100307
IN=$WORK/src/in
file "$IN/$S/func/${S}_task-rest_dir-LR_bold.nii.gz" $(((BIG_MIB << 20) / DIV))
i=1
for name in task-rest_dir-LR_bold.json task-rest_dir-LR_sbref.nii.gz task-rest_dir-RL_bold.json \
	space-MNI_desc-brain_mask.nii.gz space-MNI_label-GM_probseg.nii.gz space-MNI_label-WM_probseg.nii.gz \
	space-MNI_label-CSF_probseg.nii.gz desc-confounds_timeseries.tsv desc-confounds_timeseries.json \
	desc-aparcaseg_dseg.nii.gz desc-aseg_dseg.nii.gz from-T1w_to-MNI_xfm.h5 T1w.json T1w_brain.nii.gz \
	desc-preproc_T1w.json physio.tsv.gz physio.json scans.tsv participants.tsv dataset_description.json; do
	# 1 KiB to 4 MiB: i^3 KiB / 2 (20^3 / 2 = 4,000 KiB)
	file "$IN/$S/anat/${S}_$name" $((i * i * i * 512 + 1024))
	i=$((i + 1))
done
OUT=$WORK/src/out
P=$OUT/${S}_task-rest
file "${P}_desc-lfofilterCleaned_bold.nii.gz" $(((450 << 20) / DIV))
file "${P}_desc-corrout_info.nii.gz" $(((300 << 20) / DIV))
file "${P}_desc-lagtcgenerator_timeseries.nii.gz" $(((200 << 20) / DIV))
for m in maxtime maxcorr maxwidth maxcorrsq lagtimesrefined lagstrengthsrefined lagsigmarefined MTT R2 fitNorm; do
	file "${P}_desc-${m}_map.nii.gz" $(((30 << 20) / DIV))
done
i=1
for t in corrfit_mask refine_mask despeckle_mask mean_map std_map nullcorr_hist sLFOfitR2_hist \
	lagtimes_hist lagstrengths_hist oversampledmovingregressor_timeseries.json \
	oversampledmovingregressor_timeseries.tsv.gz movingregressor_timeseries.json \
	movingregressor_timeseries.tsv.gz runoptions.json formattedruntimings.tsv memusage.tsv commandline.txt \
	corrdistdata_info.tsv.gz desc-autocorr_timeseries.tsv desc-globallag_hist.tsv desc-maxtime_hist.tsv \
	desc-maxcorr_hist.tsv desc-maxwidth_hist.tsv desc-sigma_hist.tsv desc-rankorder_timeseries.tsv \
	desc-confoundfilterR2_hist.tsv log.txt; do
	file "${P}_$t" $((i * i * 2048 + 512))
	i=$((i + 1))
done
IN_N=$(find "$IN" -type f | wc -l); IN_B=$(find "$IN" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
OUT_N=$(find "$OUT" -type f | wc -l); OUT_B=$(find "$OUT" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
echo "bench: inputs $IN_N files, $IN_B bytes; outputs $OUT_N files, $OUT_B bytes" >&2
"$S3TOOL" -j "$JOBS" put-many "$IN" s3://bench/in/ > /dev/null
listed s3://bench/in/ "$IN_N" "$IN_B"

echo "bench: $RUNS rounds of get and put, rapid and the AWS CLI alternating" >&2
r=0
while [ "$r" -lt "$RUNS" ]; do
	measure get-rapid "rm -rf '$WORK/get-rapid'; mkdir -p '$WORK/get-rapid'" \
		sh -c "exec $RAPID_GET s3://bench/in/ '$WORK/get-rapid'"
	same "$IN" "$WORK/get-rapid"
	measure get-cli "rm -rf '$WORK/get-cli'; mkdir -p '$WORK/get-cli'" \
		"$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --quiet --recursive s3://bench/in/ "$WORK/get-cli"
	same "$IN" "$WORK/get-cli"
	rm -rf "$WORK/get-rapid" "$WORK/get-cli"
	measure put-rapid "true" sh -c "exec $RAPID_PUT '$OUT' s3://bench/out-rapid/"
	listed s3://bench/out-rapid/ "$OUT_N" "$OUT_B"
	measure put-cli "true" \
		"$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --quiet --recursive "$OUT" s3://bench/out-cli/
	listed s3://bench/out-cli/ "$OUT_N" "$OUT_B"
	r=$((r + 1))
done
LOAD_AFTER=$(load)

{
	echo "| staging (loopback emulator, $RUNS runs, medians) | wall | client CPU |"
	echo "|---|---:|---:|"
	row "get $IN_N inputs, $((IN_B >> 20)) MiB: rapid ($RAPID_LABEL)" get-rapid
	row "get $IN_N inputs, $((IN_B >> 20)) MiB: aws s3 cp --recursive" get-cli
	ratio "get: rapid / aws" get-rapid get-cli
	row "put $OUT_N outputs, $((OUT_B >> 20)) MiB: rapid ($RAPID_LABEL)" put-rapid
	row "put $OUT_N outputs, $((OUT_B >> 20)) MiB: aws s3 cp --recursive" put-cli
	ratio "put: rapid / aws" put-rapid put-cli
	echo
	for n in get-rapid get-cli put-rapid put-cli; do
		printf '%s (wall, CPU s): %s\n' "$n" "$(awk '{printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $2}' "$WORK/$n.times")"
	done
	echo "load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER; $(nproc) CPUs"
} | tee "$WORK/results.md"
