#!/bin/sh
# exits.sh [TREE] - only lib/ and cli/ end the process: prints each call of
# exit(), abort() or fatal() in the library folders (rules, aws, runner,
# engine, cfn) as "aws/xml.c:128: exit(" and exits 1 if there is any.
# _exit() in a forked child after a failed exec is how a child must end,
# and is allowed.
tree=${1:-.}
cd "$tree" || exit 2
files=$(find rules aws runner engine cfn -name '*.[ch]' 2>/dev/null | sort)
# shellcheck disable=SC2086
exec awk '
{
	line = $0
	sub(/\/\/.*$/, "", line)
	while (match(line, /(^|[^A-Za-z0-9_])(exit|abort|fatal|quick_exit)[ \t]*\(/)) {
		call = substr(line, RSTART, RLENGTH)
		sub(/^[^A-Za-z_]/, "", call)
		sub(/[ \t]*\($/, "(", call)
		printf "%s:%d: %s\n", FILENAME, FNR, call
		bad++
		line = substr(line, RSTART + RLENGTH)
	}
}
END {
	if (bad) {
		printf "exits: %d call%s that end the process outside lib/ and cli/\n", bad, bad == 1 ? "" : "s"
		exit 1
	}
}' $files
