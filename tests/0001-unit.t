#!/bin/sh
# Runs every C unit test program (tests/unit/*.c, built by make check) and
# folds each one's TAP into a single test line per program.
. "$(dirname "$0")/lib.sh"
: "${UNITDIR:?UNITDIR must name the unit test folder}"
for t in "$UNITDIR"/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case "$t" in *.d|*.o) continue;; esac
	name=$(basename "$t")
	out=$(cd "$T_TMP" && "$t" 2>&1); rc=$?
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		n=$(printf '%s\n' "$out" | grep -c '^ok')
		_report 0 "unit $name ($n checks)"
	else
		_report 1 "unit $name" "$(printf '%s\n' "$out" | grep -A3 '^not ok' | head -40)
$(printf '%s\n' "$out" | tail -5)"
	fi
done
done_testing
