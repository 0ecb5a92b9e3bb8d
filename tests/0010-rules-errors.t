#!/bin/sh
# Every malformed Rapidfile in tests/rules-errors/NAME.rf must make
# `rapid check` exit 1 and print exactly NAME.err on stderr (and nothing on
# stdout). NAME.args, when present, holds extra arguments (overrides).
# Run from the repository root so the file names in messages are stable.
. "$(dirname "$0")/lib.sh"
cd "$TESTS_DIR/.." || exit 1
n=0
for rf in tests/rules-errors/*.rf; do
	name=${rf%.rf}
	args=""
	[ -f "$name.args" ] && args=$(cat "$name.args")
	# shellcheck disable=SC2086 # args are words on purpose
	run "$RAPID" -f "$rf" check $args
	is "$ERR" "$(cat "$name.err")" "$(basename "$name"): message"
	is "$RC" 1 "$(basename "$name"): exit status 1"
	is "$OUT" "" "$(basename "$name"): nothing on stdout"
	n=$((n + 1))
done
ok "$([ "$n" -ge 45 ]; echo $?)" "at least 45 malformed Rapidfiles ($n)"

# The main file itself missing: no position to give.
run "$RAPID" -f tests/rules-errors/no-such.rf check
is "$ERR" "rapid: cannot read 'tests/rules-errors/no-such.rf': No such file or directory" "missing Rapidfile"
is "$RC" 1 "missing Rapidfile: exit status 1"

# The default file name is Rapidfile in the current folder.
mkdir "$T_TMP/empty"
run sh -c "cd '$T_TMP/empty' && '$RAPID' check"
is "$ERR" "rapid: cannot read 'Rapidfile': No such file or directory" "default Rapidfile"

# Usage errors are 2, not 1.
run "$RAPID" -f tests/rules-errors/too-many.rf check --frobnicate
is "$RC" 2 "unknown option: exit status 2"
like "$ERR" "unknown option '--frobnicate'" "unknown option: message"
done_testing
