#!/bin/sh
# The libFuzzer harnesses of tests/fuzz/, briefly: each runs a fixed number
# of executions from its seeds with a fixed seed (the loader's for a fixed
# duration, below: a budget, not an assertion), and every input of
# tests/fuzz/regressions/NAME/ (a past finding) runs clean.
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

# The Rapidfile loader's harness runs for RULES_FUZZ_SECONDS (60) instead,
# seeded with every malformed Rapidfile of tests/rules-errors too; in the
# ASan+UBSan pass of make check (SAN=1) it keeps the fixed count, since
# the harness is the same sanitized build in both passes.
case "$RAPID" in
*/build-san/*) RULES_SECONDS=0 ;;
*) RULES_SECONDS=${RULES_FUZZ_SECONDS:-60} ;;
esac

for src in "$TOP"/tests/fuzz/*_fuzz.c; do
	name=$(basename "$src" _fuzz.c)
	bin=$TOP/build-fuzz/${name}_fuzz
	mkdir -p "$T_TMP/$name"
	if [ "$name" = rules ] && [ "$RULES_SECONDS" -gt 0 ]; then
		run "$bin" -max_total_time="$RULES_SECONDS" -seed=1 -print_final_stats=1 \
			-artifact_prefix="$T_TMP/$name-" \
			"$T_TMP/$name" "$TOP/tests/fuzz/${name}_seeds" "$TOP/tests/rules-errors"
		n=$(printf '%s\n' "$ERR" | sed -n 's/^stat::number_of_executed_units: *//p')
		_report $RC "$name: ${RULES_SECONDS} s from the seeds and tests/rules-errors, no finding (${n:-0} executions)" \
			"$(printf '%s\n' "$ERR" | grep -E 'ERROR|runtime error|SUMMARY|#0|#1|#2' | head -20)"
		ok "$([ "${n:-0}" -gt 0 ]; echo $?)" "$name: libFuzzer counted the executions (${n:-0})"
	else
		run "$bin" -runs="$RUNS" -seed=1 -print_final_stats=1 -artifact_prefix="$T_TMP/$name-" \
			"$T_TMP/$name" "$TOP/tests/fuzz/${name}_seeds"
		n=$(printf '%s\n' "$ERR" | sed -n 's/^stat::number_of_executed_units: *//p')
		_report $RC "$name: $RUNS executions from the seeds, no finding" \
			"$(printf '%s\n' "$ERR" | grep -E 'ERROR|runtime error|SUMMARY|#0|#1|#2' | head -20)"
		ok "$([ "${n:-0}" -ge "$RUNS" ]; echo $?)" "$name: libFuzzer counted the executions (${n:-0})"
	fi
	if [ -d "$TOP/tests/fuzz/regressions/$name" ]; then
		for f in "$TOP/tests/fuzz/regressions/$name"/*; do
			run "$bin" "$f"
			_report $RC "$name: regression $(basename "$f") runs clean" \
				"$(printf '%s\n' "$ERR" | grep -E 'ERROR|runtime error|SUMMARY' | head -5)"
		done
	fi
done
done_testing
