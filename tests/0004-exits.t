#!/bin/sh
# Only lib/ and cli/ end the process (tests/tools/exits.sh): the library
# folders return errors, and out-of-memory goes through lib/'s x* wrappers.
# The check fails, naming the file and line, on a planted exit().
. "$(dirname "$0")/lib.sh"
cd "$TESTS_DIR/.." || exit 1
EXITS=tests/tools/exits.sh

run sh $EXITS .
is "$RC" 0 "no library folder ends the process"
is "$OUT" "" "no exit(), abort() or fatal() outside lib/ and cli/"

mkdir -p "$T_TMP/tree"
cp -R lib rules aws runner engine cfn cli "$T_TMP/tree/"
printf 'static void die(void) { exit(1); }\n' >> "$T_TMP/tree/aws/xml.c"
n=$(wc -l < "$T_TMP/tree/aws/xml.c")
run sh $EXITS "$T_TMP/tree"
is "$RC" 1 "an exit() in aws/ fails the check"
is "$OUT" "aws/xml.c:$n: exit(
exits: 1 call that end the process outside lib/ and cli/" "the message names the file and line"

for pair in "rules abort" "runner fatal" "engine exit" "cfn abort"; do
	set -- $pair
	rm -rf "$T_TMP/tree2"; cp -R "$T_TMP/tree" "$T_TMP/tree2"
	cp aws/xml.c "$T_TMP/tree2/aws/xml.c"
	f=$(ls "$T_TMP/tree2/$1/"*.c | head -n 1)
	printf 'static void die(void) { %s(); }\n' "$2" >> "$f"
	run sh $EXITS "$T_TMP/tree2"
	is "$RC" 1 "$2() in $1/ fails the check"
done

# A forked child ends with _exit() after a failed exec: allowed.
rm -rf "$T_TMP/tree2"; cp -R "$T_TMP/tree" "$T_TMP/tree2"
cp aws/xml.c "$T_TMP/tree2/aws/xml.c"
printf 'static void child(void) { _exit(127); }\n' >> "$T_TMP/tree2/runner/exec.c"
run sh $EXITS "$T_TMP/tree2"
is "$RC" 0 "_exit() in a forked child is allowed"

done_testing
