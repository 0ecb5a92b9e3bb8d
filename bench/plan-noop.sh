#!/bin/sh
# bench/plan-noop.sh - how long does "nothing to do" take?
#
# For each size N (instances = participants x 4 runs) this builds one
# synthetic dataset under bench/work/N/ and the same job three ways:
#
#   Rapidfile    one target over participant x run:  cp {bold} {out}
#   build.ninja  one `build out/ninja/... : cp data/...` edge per instance
#   Makefile     one explicit rule per instance and one `all:` rule that
#                lists every output, built-in rules off (MAKEFLAGS += -r)
#
# Each tool builds its own output tree once (rapid with `rapid build`, so
# the up-to-date state measured is one rapid itself produced), then we time
# the no-op, side by side:
#
#   rapid warm   `rapid plan` with the fingerprint cache (.rapid/state) full
#                (it stats every input, every ok sentinel and every output)
#   rapid cold   `rapid plan` after `rm -rf .rapid/state`: every input is
#                read and hashed again and the cache is rewritten
#   ninja -n     ninja's dry run (stats every input and output)
#   make -q      make's question mode (parses the Makefile, stats everything)
#
# and the peak RSS of each (/usr/bin/time -f %M); then rapid warm and
# ninja -n alternately, for wall and CPU time that a shared machine's
# changing load hits alike.
#
# Usage:   make bench
#          RAPID=/abs/path/to/rapid sh bench/plan-noop.sh
# Knobs:   SIZES="1200 12000 48000"  instance counts (multiples of 4)
#          RUNS=20 WARMUP=3          timed runs / warm-up runs per command
#          HYPERFINE=none            time with a shell loop instead of hyperfine
#          JOBS=$(nproc)             parallelism of the one-time builds
#          FRESH=1                   regenerate the datasets from scratch
#          WORK=bench/work           where the datasets live (gitignored)
#          INSTR=1                   also count instructions (valgrind's callgrind:
#                                    the same count on a busy machine), rapid warm
#                                    against ninja -n; INSTR=0 skips it
#          BASELINE=/path/to/rapid   an older rapid, counted beside the current one
#                                    (is a change slower?), with INSTR=1
#
# Datasets are kept between runs (generation and the 48,000-instance rapid
# build take minutes); each run re-runs the three builds, which are no-ops
# when nothing changed and bring everything up to date when something did
# (a new rapid build key format, say). The final table is printed on
# stdout and written to $WORK/results.md.
set -eu

: "${RAPID:?RAPID must name the rapid binary (make bench sets it)}"
here=$(cd "$(dirname "$0")" && pwd)
SIZES=${SIZES:-"1200 12000 48000"}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FRESH=${FRESH:-0}
HYPERFINE=${HYPERFINE:-hyperfine}
WORK=${WORK:-$here/work}
INSTR=${INSTR:-1}
BASELINE=${BASELINE:-}
RUN_NAMES="REST1_LR REST1_RL REST2_LR REST2_RL"
# Bump when the generated files change, so stale datasets are regenerated.
GEN_VERSION=2

say() { printf '%s\n' "plan-noop: $*" >&2; }
die() { say "$*"; exit 1; }

# We cd into each dataset: make RAPID absolute (or find it on PATH).
case $RAPID in
*/*) RAPID=$(cd "$(dirname "$RAPID")" && pwd)/$(basename "$RAPID") ;;
*) RAPID=$(command -v "$RAPID") || die "no '$RAPID' on PATH" ;;
esac
[ -x "$RAPID" ] || die "RAPID=$RAPID is not executable"
case $RAPID in *[[:space:]]*) die "RAPID must not contain blanks: $RAPID" ;; esac
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

for n in $SIZES; do
	case $n in *[!0-9]*|'') die "SIZES: '$n' is not a number" ;; esac
	[ $((n % 4)) -eq 0 ] && [ "$n" -gt 0 ] || die "SIZES: $n is not a positive multiple of 4"
done

# ---- tools ---------------------------------------------------------------
# ninja is required; hyperfine and GNU time are optional (a shell loop and
# "n/a" stand in). As root on Debian, missing ones are installed.
need=""
command -v ninja >/dev/null 2>&1 || need="$need ninja-build"
[ "$HYPERFINE" = none ] || command -v hyperfine >/dev/null 2>&1 || need="$need hyperfine"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "installing Debian packages:$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1; } ||
		say "apt-get install$need failed; carrying on with what is here"
fi
command -v ninja >/dev/null 2>&1 || die "ninja is missing (apt-get install ninja-build)"
HAVE_HYPERFINE=0
[ "$HYPERFINE" != none ] && command -v "$HYPERFINE" >/dev/null 2>&1 && HAVE_HYPERFINE=1
HAVE_TIME=0
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && HAVE_TIME=1
[ $HAVE_HYPERFINE = 1 ] || say "hyperfine not found: timing with a shell loop (date +%s%N)"
[ $HAVE_TIME = 1 ] || say "GNU time not found: peak RSS will be n/a"

# ---- dataset generation --------------------------------------------------

# gen DIR N: N/4 participants x 4 runs of small input files, and the
# Rapidfile, build.ninja and Makefile that copy each one to an output.
gen() {
	d=$1 n=$2 np=$(($2 / 4))
	rm -rf "$d"
	mkdir -p "$d/data"
	cd "$d"
	# One folder per participant and run (xargs batches the mkdirs).
	awk -v np="$np" -v runs="$RUN_NAMES" 'BEGIN {
		split(runs, r, " ")
		for (i = 0; i < np; i++) for (k = 1; k <= 4; k++)
			print "data/" (100000 + i) "/" r[k]
	}' | xargs mkdir -p
	# Everything else in one awk pass: ids, inputs (256 bytes each, like a
	# tiny header), the ninja edges and the make rules.
	awk -v np="$np" -v runs="$RUN_NAMES" -v n="$n" 'BEGIN {
		split(runs, r, " ")
		nin = "build.ninja"; mk = "Makefile"
		print "# generated by bench/plan-noop.sh: " n " instances, one edge each" > nin
		print "rule cp" > nin
		print "  command = cp $in $out" > nin
		print "  description = cp $out" > nin
		print "# generated by bench/plan-noop.sh: " n " instances, one explicit rule each" > mk
		print "MAKEFLAGS += -r" > mk
		print ".SUFFIXES:" > mk
		print ".PHONY: all" > mk
		# One `all:` rule listing every output (continued lines). Not one
		# `all: x` line per output: GNU make 4.3 merges those in time
		# quadratic in their number (48,000 lines: make -q took 5.8 s
		# instead of 0.6 s), which would measure our Makefile, not make.
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
				for (v = 0; v < 4; v++)
					printf "participant %s run %s volume %d of a stand-in BOLD run\n", p, r[k], v > f
				close(f)
				print "build out/ninja/" rel ": cp " f > nin
				print "out/make/" rel ": " f > mk
				print "\t@mkdir -p $(@D) && cp $< $@" > mk
			}
		}
	}'
	cat > Rapidfile <<'EOF'
# generated by bench/plan-noop.sh: one target over participant x run
DATA = data
OUT  = out/rapid

participants = file(participants.txt)
runs         = REST1_LR REST1_RL REST2_LR REST2_RL

target copy
    foreach participant in $(participants)
    foreach run in $(runs)
    input   bold = $(DATA)/{participant}/{run}/bold.nii.gz
    output  out  = $(OUT)/{participant}/{run}/bold.nii.gz
    run cp {bold} {out}
EOF
}

# now_ms: wall clock in milliseconds (GNU date).
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# build DIR N: each tool brings its own output tree up to date. rapid
# build runs one runner process per stale instance.
build() {
	d=$1 n=$2
	cd "$d"
	t0=$(now_ms)
	"$RAPID" build -j "$JOBS" >build-rapid.log 2>&1 || { tail -5 build-rapid.log >&2; die "$n: rapid build failed"; }
	t1=$(now_ms)
	ninja -j "$JOBS" >build-ninja.log 2>&1 || { tail -5 build-ninja.log >&2; die "$n: ninja failed"; }
	t2=$(now_ms)
	make -j "$JOBS" >build-make.log 2>&1 || { tail -5 build-make.log >&2; die "$n: make failed"; }
	t3=$(now_ms)
	say "$n: builds took rapid $((t1 - t0)) ms, ninja $((t2 - t1)) ms, make $((t3 - t2)) ms (0 when already up to date)"
	echo "$n $((t1 - t0)) $((t2 - t1)) $((t3 - t2))" >build-times.txt
}

# check DIR N: every tool agrees that there is nothing to do, and a warm
# rapid plan hashes nothing. A benchmark of a no-op that is not one is
# worthless, so this fails loudly.
check() {
	d=$1 n=$2
	cd "$d"
	"$RAPID" plan >/dev/null 2>&1 # fill the cache (see "rapid warm")
	"$RAPID" plan --json -v --exit-code >plan.out 2>plan.err ||
		{ cat plan.out plan.err >&2; die "$n: rapid plan: not up to date"; }
	grep -q "\"up_to_date\":$n," plan.out ||
		{ cat plan.out >&2; die "$n: rapid plan: unexpected counts"; }
	grep -q "inputs: $n cached, 0 hashed" plan.err ||
		{ cat plan.err >&2; die "$n: warm rapid plan re-hashed inputs"; }
	# a plan that stats every output, as ninja does (rapid >= outputs check)
	grep -q "outputs: $n checked, 0 hashed" plan.err ||
		{ cat plan.err >&2; die "$n: warm rapid plan did not check each output once"; }
	ninja -n >ninja.out 2>&1 && grep -q "no work to do" ninja.out ||
		{ cat ninja.out >&2; die "$n: ninja -n: not up to date"; }
	make -q || die "$n: make -q: not up to date"
}

# ---- measurement ---------------------------------------------------------

# mean_ms PREPARE CMD...: mean wall time of CMD over $RUNS runs after
# $WARMUP, running PREPARE (a shell command, or "") before each. The
# fallback when hyperfine is missing.
mean_ms() {
	prep=$1; shift
	i=0
	while [ $i -lt "$WARMUP" ]; do
		[ -z "$prep" ] || sh -c "$prep"
		"$@" >/dev/null 2>&1 || true
		i=$((i + 1))
	done
	i=0 total=0
	while [ $i -lt "$RUNS" ]; do
		[ -z "$prep" ] || sh -c "$prep"
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		total=$((total + t1 - t0))
		i=$((i + 1))
	done
	awk -v t="$total" -v r="$RUNS" 'BEGIN { printf "%.1f", t / r / 1e6 }'
}

# peak_mb PREPARE CMD...: the largest peak RSS of 3 runs, in MB (MiB).
peak_mb() {
	prep=$1; shift
	[ $HAVE_TIME = 1 ] || { echo n/a; return; }
	best=0
	for _ in 1 2 3; do
		[ -z "$prep" ] || sh -c "$prep"
		kb=$(/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1)
		[ "$kb" -gt "$best" ] && best=$kb
	done
	awk -v k="$best" 'BEGIN { printf "%.1f", k / 1024 }'
}

# csv_ms FILE ROW: the mean (s) of row ROW (1-based) of a hyperfine CSV, in ms.
csv_ms() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.1f", $2 * 1000 }' "$1"; }
csv_sd() { awk -F, -v row="$2" 'NR == row + 1 { printf "%.1f", $3 * 1000 }' "$1"; }

# instructions CMD...: the instructions CMD executes (valgrind's callgrind).
instructions() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >/dev/null 2>"$WORK/.cg.err" ||
		die "callgrind failed on '$*': $(tail -3 "$WORK/.cg.err")"
	sed -n 's/^==[0-9]*== Collected : //p' "$WORK/.cg.err"
}

# count DIR N: one row of the instruction table.
count() {
	d=$1 n=$2
	cd "$d"
	"$RAPID" plan >/dev/null 2>&1
	say "$n: counting instructions (callgrind)"
	ir_rapid=$(instructions "$RAPID" plan)
	ir_ninja=$(instructions ninja -n)
	ir_base=-
	[ -z "$BASELINE" ] || ir_base=$(instructions "$BASELINE" plan)
	echo "$n|$ir_rapid|$ir_ninja|$ir_base" >>"$WORK/instr.txt"
}

# measure DIR N: one row of the results.
measure() {
	d=$1 n=$2
	cd "$d"
	say "$n: timing (runs=$RUNS, warmup=$WARMUP)"
	if [ $HAVE_HYPERFINE = 1 ]; then
		# -N: no intermediate shell. The warm plan, ninja and make side by side.
		"$HYPERFINE" -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
			--export-csv warm.csv \
			-n "rapid plan (warm)" "$RAPID plan" \
			-n "ninja -n" "ninja -n" \
			-n "make -q" "make -q" >&2
		# Cold: the state cache is deleted before every run.
		"$HYPERFINE" -N --style basic --warmup 1 --runs "$RUNS" \
			--prepare "rm -rf .rapid/state" --export-csv cold.csv \
			-n "rapid plan (cold)" "$RAPID plan" >&2
		warm=$(csv_ms warm.csv 1) warm_sd=$(csv_sd warm.csv 1)
		ninja_ms=$(csv_ms warm.csv 2) make_ms=$(csv_ms warm.csv 3)
		cold=$(csv_ms cold.csv 1) cold_sd=$(csv_sd cold.csv 1)
	else
		warm=$(mean_ms "" "$RAPID" plan) warm_sd=-
		ninja_ms=$(mean_ms "" ninja -n)
		make_ms=$(mean_ms "" make -q)
		cold=$(WARMUP=1 mean_ms "rm -rf .rapid/state" "$RAPID" plan) cold_sd=-
	fi
	# The last cold run left a full cache behind: the warm RSS is measured
	# on the same state as the warm time.
	"$RAPID" plan >/dev/null 2>&1
	rss_warm=$(peak_mb "" "$RAPID" plan)
	rss_cold=$(peak_mb "rm -rf .rapid/state" "$RAPID" plan)
	"$RAPID" plan >/dev/null 2>&1
	rss_ninja=$(peak_mb "" ninja -n)
	rss_make=$(peak_mb "" make -q)
	ratio=$(awk -v a="$warm" -v b="$ninja_ms" 'BEGIN { printf "%.2f", a / b }')
	echo "$n|$warm|$warm_sd|$cold|$cold_sd|$ninja_ms|$make_ms|$ratio|$rss_warm|$rss_cold|$rss_ninja|$rss_make" >>"$WORK/rows.txt"
}

# alternate DIR N: rapid warm and ninja -n one after the other, $RUNS
# times each, interleaved, so that a load that comes and goes on a shared
# machine hits both alike. Mean wall and CPU (user + system) time of each,
# from GNU time. One row of the side-by-side table.
alternate() {
	d=$1 n=$2
	cd "$d"
	[ $HAVE_TIME = 1 ] || return 0
	say "$n: rapid warm and ninja -n alternating ($RUNS each)"
	"$RAPID" plan >/dev/null 2>&1
	: >alt.txt
	i=0
	while [ $i -lt "$RUNS" ]; do
		/usr/bin/time -f "rapid %e %U %S" -a -o alt.txt "$RAPID" plan >/dev/null 2>&1 || true
		/usr/bin/time -f "ninja %e %U %S" -a -o alt.txt ninja -n >/dev/null 2>&1 || true
		i=$((i + 1))
	done
	awk -v n="$n" '$1 == "rapid" || $1 == "ninja" { w[$1] += $2; c[$1] += $3 + $4; k[$1]++ }
		END { printf "%s|%.1f|%.1f|%.1f|%.1f|%.2f|%.2f\n", n, 1000 * w["rapid"] / k["rapid"],
			1000 * c["rapid"] / k["rapid"], 1000 * w["ninja"] / k["ninja"], 1000 * c["ninja"] / k["ninja"],
			w["rapid"] / w["ninja"], c["rapid"] / c["ninja"] }' alt.txt >>"$WORK/alt.txt"
}

# ---- main ----------------------------------------------------------------

: >"$WORK/rows.txt"
: >"$WORK/instr.txt"
: >"$WORK/alt.txt"
if [ "$INSTR" != 0 ] && ! command -v valgrind >/dev/null 2>&1; then
	say "valgrind not found: no instruction counts"
	INSTR=0
fi
if [ -n "$BASELINE" ]; then
	case $BASELINE in
	*/*) BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE") ;;
	*) BASELINE=$(command -v "$BASELINE") || die "no '$BASELINE' on PATH" ;;
	esac
fi
for n in $SIZES; do
	d=$WORK/$n
	stamp="gen=$GEN_VERSION n=$n"
	if [ "$FRESH" = 1 ] || [ ! -f "$d/.generated" ] || [ "$(cat "$d/.generated")" != "$stamp" ]; then
		say "$n: generating $((n / 4)) participants x 4 runs in $d"
		gen "$d" "$n"
		echo "$stamp" >"$d/.generated"
	fi
	say "$n: building (rapid build -j $JOBS, ninja -j $JOBS, make -j $JOBS)"
	build "$d" "$n"
	check "$d" "$n"
	measure "$d" "$n"
	alternate "$d" "$n"
	[ "$INSTR" = 0 ] || count "$d" "$n"
done

# The table, as Markdown, on stdout and in $WORK/results.md.
commas='function commas(x) { while (x ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", x); return x }'
{
	# What it ran on: enough to judge whether two tables are comparable.
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
	echo "Machine: $(nproc) CPUs (${cpu:-unknown}), ${mem:-? GiB} RAM, Linux $(uname -r)"
	echo "Tools: $("$RAPID" version), ninja $(ninja --version), $(make --version | head -1)," \
		"$([ $HAVE_HYPERFINE = 1 ] && "$HYPERFINE" --version || echo 'shell loop')"
	echo "Runs: $RUNS timed after $WARMUP warm-up (cold: after 1), mean ± standard deviation"
	echo
	echo "| instances | rapid warm (ms) | rapid cold (ms) | ninja -n (ms) | make -q (ms) | rapid warm / ninja | rapid peak RSS (MB) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'|' "$commas"'{
		sd1 = ($3 == "-") ? "" : " ± " $3; sd2 = ($5 == "-") ? "" : " ± " $5
		printf "| %s | %s%s | %s%s | %s | %s | %s | %s |\n", commas($1), $2, sd1, $4, sd2, $6, $7, $8, $9
	}' "$WORK/rows.txt"
	echo
	echo "Peak RSS (MB) of each command:"
	echo
	echo "| instances | rapid plan (warm) | rapid plan (cold) | ninja -n | make -q |"
	echo "|---:|---:|---:|---:|---:|"
	awk -F'|' "$commas"'{ printf "| %s | %s | %s | %s | %s |\n", commas($1), $9, $10, $11, $12 }' "$WORK/rows.txt"
	if [ -s "$WORK/alt.txt" ]; then
		echo
		echo "Side by side, alternating runs (mean ms; CPU is user + system time):"
		echo
		echo "| instances | rapid warm wall | rapid warm CPU | ninja -n wall | ninja -n CPU | wall ratio | CPU ratio |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'|' "$commas"'{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", commas($1), $2, $3, $4, $5, $6, $7 }' "$WORK/alt.txt"
	fi
	if [ -s "$WORK/instr.txt" ]; then
		echo
		echo "Instructions of the warm no-op (callgrind; the same on a busy machine):"
		echo
		echo "| instances | rapid plan (warm) | ninja -n | rapid / ninja | baseline rapid | rapid / baseline |"
		echo "|---:|---:|---:|---:|---:|---:|"
		awk -F'|' "$commas"'{
			b = ($4 == "-") ? "-" : sprintf("%.4f", $2 / $4)
			printf "| %s | %s | %s | %.3f | %s | %s |\n", commas($1), commas($2), commas($3), $2 / $3, ($4 == "-") ? "-" : commas($4), b
		}' "$WORK/instr.txt"
	fi
} | tee "$WORK/results.md"
