#!/bin/sh
# bench/build-copies.sh - how long does building N trivial copies take?
#
# One synthetic dataset under $WORK (N = participants x 4 runs of small
# input files), and the same job three ways: a Rapidfile (one target over
# participant x run: cp {bold} {out}), a build.ninja (one `cp` edge per
# instance) and a Makefile (one rule per instance: mkdir -p and cp). Each
# round removes every tool's outputs and builds them again at -j $JOBS,
# the three side by side in one run, so the ratios compare like with
# like on whatever else the machine is doing:
#
#   rapid    `rapid build -j JOBS` with its outputs and sentinels removed
#            (the fingerprint cache kept: the inputs did not change); every
#            instance is claimed, run, synced, published and recorded
#   ninja    `ninja -j JOBS` with its outputs and .ninja_log removed
#   make     `make -j JOBS` with its outputs removed
#
# The median of ROUNDS rounds is reported, and rapid's ratio to each. With
# STRACE=1, one more rapid build runs under `strace -c -f` and the
# per-instance system calls are printed (what docs/BENCHMARKS.md quotes).
#
# Usage:   sh bench/build-copies.sh   (RAPID=/abs/path/to/rapid; default ./rapid)
# Knobs:   N=4800 JOBS=2 ROUNDS=3 STRACE=0 WORK=bench/work/copies
set -eu

here=$(cd "$(dirname "$0")" && pwd)
RAPID=${RAPID:-$here/../rapid}
N=${N:-4800}
JOBS=${JOBS:-2}
ROUNDS=${ROUNDS:-3}
STRACE=${STRACE:-0}
WORK=${WORK:-$here/work/copies}
RUN_NAMES="REST1_LR REST1_RL REST2_LR REST2_RL"

say() { printf '%s\n' "build-copies: $*" >&2; }
die() { say "$*"; exit 1; }

case $RAPID in
*/*) RAPID=$(cd "$(dirname "$RAPID")" && pwd)/$(basename "$RAPID") ;;
*) RAPID=$(command -v "$RAPID") || die "no '$RAPID' on PATH" ;;
esac
[ -x "$RAPID" ] || die "RAPID=$RAPID is not executable"
case $N in *[!0-9]*|'') die "N: '$N' is not a number" ;; esac
[ $((N % 4)) -eq 0 ] && [ "$N" -gt 0 ] || die "N: $N is not a positive multiple of 4"
command -v ninja >/dev/null 2>&1 || die "ninja is missing (apt-get install ninja-build)"
if [ "$STRACE" = 1 ]; then command -v strace >/dev/null 2>&1 || die "strace is missing (apt-get install strace)"; fi

# ---- the dataset ---------------------------------------------------------
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$WORK"
if [ ! -e .generated ] || [ "$(cat .generated)" != "$N" ]; then
	say "generating $N instances in $WORK"
	find . -mindepth 1 -maxdepth 1 -exec rm -rf {} +
	np=$((N / 4))
	awk -v np="$np" -v runs="$RUN_NAMES" 'BEGIN {
		split(runs, r, " ")
		for (i = 0; i < np; i++) for (k = 1; k <= 4; k++)
			print "data/" (100000 + i) "/" r[k]
	}' | xargs mkdir -p
	awk -v np="$np" -v runs="$RUN_NAMES" 'BEGIN {
		split(runs, r, " ")
		nin = "build.ninja"; mk = "Makefile"
		print "rule cp" > nin
		print "  command = cp $in $out" > nin
		print "MAKEFLAGS += -r" > mk
		print ".SUFFIXES:" > mk
		print ".PHONY: all" > mk
		print "all: \\" > mk
		for (i = 0; i < np; i++) for (k = 1; k <= 4; k++)
			print "  out/make/" (100000 + i) "/" r[k] "/bold.nii.gz \\" > mk
		print "" > mk
		for (i = 0; i < np; i++) {
			p = 100000 + i
			print p > "participants.txt"
			for (k = 1; k <= 4; k++) {
				rel = p "/" r[k] "/bold.nii.gz"
				f = "data/" rel
				printf "participant %s run %s: a stand-in BOLD run\n", p, r[k] > f
				close(f)
				print "build out/ninja/" rel ": cp " f > nin
				print "out/make/" rel ": " f > mk
				print "\t@mkdir -p $(@D) && cp $< $@" > mk
			}
		}
	}'
	cat > Rapidfile <<'EOF'
participants = file(participants.txt)
runs         = REST1_LR REST1_RL REST2_LR REST2_RL
target copy
    foreach participant in $(participants)
    foreach run in $(runs)
    input   bold = data/{participant}/{run}/bold.nii.gz
    output  out  = out/rapid/{participant}/{run}/bold.nii.gz
    run cp {bold} {out}
EOF
	"$RAPID" plan >/dev/null 2>&1 || die "rapid plan failed"
	echo "$N" > .generated
fi

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# timed NAME CMD...: run CMD after a sync (the previous round's writeback
# is not charged to the next tool), print its wall time in ms
timed() {
	_name=$1; shift
	sync
	_t0=$(now_ms)
	"$@" >"$WORK/$_name.log" 2>&1 || { tail -n 5 "$WORK/$_name.log" >&2; die "$_name failed"; }
	_t1=$(now_ms)
	echo $((_t1 - _t0))
}
clean() { rm -rf out/rapid out/ninja out/make .ninja_log .ninja_deps; }

: > times.txt
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	clean
	tr=$(timed rapid "$RAPID" build -j "$JOBS")
	tn=$(timed ninja ninja -j "$JOBS")
	tm=$(timed make make -j "$JOBS")
	"$RAPID" plan --exit-code >/dev/null 2>&1 || die "rapid plan: not up to date after the build"
	[ "$(find out/rapid -name bold.nii.gz | wc -l)" = "$N" ] || die "rapid built $(find out/rapid -name bold.nii.gz | wc -l) of $N"
	say "round $r: rapid $tr ms, ninja $tn ms, make $tm ms"
	echo "$tr $tn $tm" >> times.txt
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mr=$(cut -d' ' -f1 times.txt | median)
mn=$(cut -d' ' -f2 times.txt | median)
mm=$(cut -d' ' -f3 times.txt | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "build of $N trivial copies at -j $JOBS, median of $ROUNDS rounds ($(nproc) cores):"
	echo
	echo "| tool | wall time | rapid / tool |"
	echo "| --- | --- | --- |"
	echo "| rapid build -j $JOBS | $mr ms | 1.00 |"
	echo "| ninja -j $JOBS | $mn ms | $(ratio "$mr" "$mn") |"
	echo "| make -j $JOBS | $mm ms | $(ratio "$mr" "$mm") |"
} | tee results.md

if [ "$STRACE" = 1 ]; then
	clean
	sync
	strace -c -f -o strace.txt "$RAPID" build -j "$JOBS" >/dev/null 2>&1 || die "rapid build under strace failed"
	echo
	echo "system calls per instance (strace -c -f, all processes, / $N):"
	awk -v n="$N" '$NF ~ /^[a-z_0-9]+$/ && $(NF) != "total" && $1 ~ /^[0-9.]+$/ {
		calls = (NF == 6) ? $4 : $4; errs = (NF == 6) ? $5 : 0
		printf "  %-16s %6.2f calls %6.2f errors  %5s%% of syscall time\n", $NF, calls / n, errs / n, $1
	}' strace.txt | sort -k2 -n -r | head -n 25
fi
