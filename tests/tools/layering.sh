#!/bin/sh
# layering.sh [TREE] - the folder layering of DESIGN.md, checked over the
# #include "folder/file.h" lines of every .c and .h:
#   lib <- rules, aws <- runner <- engine <- cli;  cfn on aws.
# Prints each include a folder may not make ("runner/x.c:3: runner may not
# include engine/plan.h") and exits 1 if there is any.
tree=${1:-.}
cd "$tree" || exit 2
files=$(find lib rules aws runner engine cfn cli -name '*.[ch]' 2>/dev/null | sort)
# shellcheck disable=SC2086
exec awk '
BEGIN {
	allow["lib"] = " "
	allow["rules"] = " lib "
	allow["aws"] = " lib "
	allow["runner"] = " lib aws "
	allow["engine"] = " lib rules aws runner "
	allow["cfn"] = " lib aws "
	allow["cli"] = " lib rules aws runner engine cfn "
	bad = 0
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
	inc = $0
	sub(/^[^"]*"/, "", inc)
	sub(/".*$/, "", inc)
	n = index(inc, "/")
	if (n == 0)
		next
	to = substr(inc, 1, n - 1)
	from = FILENAME
	sub(/\/.*$/, "", from)
	if (to == from || !(to in allow))
		next
	if (index(allow[from], " " to " ") == 0) {
		printf "%s:%d: %s may not include %s\n", FILENAME, FNR, from, inc
		bad++
	}
}
END {
	if (bad) {
		printf "layering: %d forbidden include%s\n", bad, bad == 1 ? "" : "s"
		exit 1
	}
}' $files
