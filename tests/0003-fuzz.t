#!/bin/sh
# The libFuzzer harnesses of tests/fuzz/, briefly: each runs a fixed number
# of executions (never a time) from its seeds with a fixed seed, and every
# input of tests/fuzz/regressions/NAME/ (a past finding) runs clean.
# `make fuzz` runs them for longer. The harnesses are built here (make
# fuzz-bins, objects in build-fuzz/) when clang's fuzzer runtime is there
# or can be installed.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$TESTS_DIR/.." && pwd)
RUNS=${FUZZ_RUNS:-10000}

# A make started by this test does not share the jobserver of make check.
build=$(cd "$TOP" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 --no-print-directory fuzz-bins 2>&1)
if [ $? != 0 ]; then
	if ! sh "$TOP/tests/fuzz/ensure-fuzz-deps.sh" >/dev/null 2>&1; then
		echo "1..0 # SKIP no libFuzzer (clang -fsanitize=fuzzer cannot link)"
		exit 0
	fi
	_report 1 "the fuzz harnesses build" "$build"
	done_testing
	exit 1
fi
_report 0 "the fuzz harnesses build"

for src in "$TOP"/tests/fuzz/*_fuzz.c; do
	name=$(basename "$src" _fuzz.c)
	bin=$TOP/build-fuzz/${name}_fuzz
	mkdir -p "$T_TMP/$name"
	run "$bin" -runs="$RUNS" -seed=1 -print_final_stats=1 -artifact_prefix="$T_TMP/$name-" \
		"$T_TMP/$name" "$TOP/tests/fuzz/${name}_seeds"
	n=$(printf '%s\n' "$ERR" | sed -n 's/^stat::number_of_executed_units: *//p')
	_report $RC "$name: $RUNS executions from the seeds, no finding" \
		"$(printf '%s\n' "$ERR" | grep -E 'ERROR|runtime error|SUMMARY|#0|#1|#2' | head -20)"
	ok "$([ "${n:-0}" -ge "$RUNS" ]; echo $?)" "$name: libFuzzer counted the executions (${n:-0})"
	if [ -d "$TOP/tests/fuzz/regressions/$name" ]; then
		for f in "$TOP/tests/fuzz/regressions/$name"/*; do
			run "$bin" "$f"
			_report $RC "$name: regression $(basename "$f") runs clean" \
				"$(printf '%s\n' "$ERR" | grep -E 'ERROR|runtime error|SUMMARY' | head -5)"
		done
	fi
done
done_testing
