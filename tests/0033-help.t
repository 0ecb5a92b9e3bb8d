#!/bin/sh
# One table of commands makes every help: `rapid help CMD`, `rapid CMD
# --help` and `rapid CMD -h` are the same text, exit 0, and list every
# option the command parses. The options are read from the source (the
# option tables of cli/cmd_*.c and cli/main.c, and any "--name" a command
# still compares by hand), so an option added without help fails here.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$TESTS_DIR/.." && pwd)/cli
cd "$T_TMP" || exit 1

run "$RAPID" help
is "$RC" 0 "rapid help: exit 0"
HELP=$OUT
like "$HELP" '^usage: rapid \[-f FILE\] \[-C DIR\] \[--profile NAME\]' "rapid help: the global options in the usage line"
run "$RAPID" --help
is "$OUT" "$HELP" "rapid --help is rapid help"
run "$RAPID" -h
is "$OUT" "$HELP" "rapid -h is rapid help"
run "$RAPID"
is "$RC" 2 "rapid alone: usage error"
is "$ERR" "$HELP" "... with the help on stderr"

# The commands rapid help lists: every one the table has, and only those.
cmds=$(printf '%s\n' "$HELP" | sed -n '/^commands:$/,/^$/p' | sed -n 's/^  \([a-z]*\) .*/\1/p')
is "$(echo $cmds)" "plan build status logs cancel graph check runner stack version help" "rapid help lists the commands"

# options_of FILE TABLE: "-x --name" words of one option table in FILE.
options_of() {
	awk -v t="$2" '
	$0 ~ "^(static )?const struct cli_option " t "\\[\\]" { on = 1; next }
	on && /^};/ { exit }
	on && /^[ \t]*\{[A-Z_]/ {
		line = $0
		sub(/^[ \t]*\{[A-Z_0-9]+, */, "", line)
		split(line, f, ", ")
		if (f[1] != "0") { l = f[1]; gsub(/'\''/, "", l); printf "-%s\n", l }
		if (f[2] != "NULL") { n = f[2]; gsub(/"/, "", n); printf "--%s\n", n }
	}' "$1"
}
# literals FILE: option words a file compares by hand ("--json", "-v").
literals() {
	grep -o '"--*[a-zA-Z][a-zA-Z0-9-]*"' "$1" | tr -d '"' | sort -u
}
# has_option HELP WORD: the help has an option line for WORD (one per
# subcommand in stack's).
has_option() {
	printf '%s\n' "$1" | grep -qE -- "^  (-[a-zA-Z], )?$2([ =,[]|\$)"
}

check_help() { # name words... (the command's name, as typed)
	name=$*
	run "$RAPID" help "$@"
	is "$RC" 0 "rapid help $name: exit 0"
	H=$OUT
	like "$H" "^usage: rapid $name( |\$)" "rapid help $name: a usage line"
	run "$RAPID" "$@" --help
	is "$RC:$OUT" "0:$H" "rapid $name --help: exit 0, the same help"
	run "$RAPID" "$@" -h
	is "$RC:$OUT" "0:$H" "rapid $name -h: exit 0, the same help"
	has_option "$H" "--help" || _report 1 "rapid help $name lists -h, --help"
}

for c in $cmds; do
	check_help $c
	H=$OUT
	f=$SRC/cmd_$c.c
	[ -f "$f" ] || f=$SRC/main.c
	words=$(options_of "$f" "$c"_options)
	[ "$c" = stack ] && words=$(options_of "$f" stack_create_options; options_of "$f" stack_info_options;
		options_of "$f" stack_delete_options)
	[ -f "$SRC/cmd_$c.c" ] && words="$words
$(literals "$SRC/cmd_$c.c")"
	missing=""
	for w in $(printf '%s\n' $words | sort -u); do
		[ "$w" = -h ] || [ "$w" = --help ] && continue
		has_option "$H" "$w" || missing="$missing $w"
	done
	is "$missing" "" "rapid help $c: one line for each option cli/$(basename "$f") parses"
done
for s in create info delete; do
	check_help stack $s
	H=$OUT
	missing=""
	for w in $(options_of "$SRC/cmd_stack.c" "stack_${s}_options"); do
		has_option "$H" "$w" || missing="$missing $w"
	done
	is "$missing" "" "rapid help stack $s: one line for each of its options"
done

# The global options, from main.c's table, in rapid help.
missing=""
for w in $(options_of "$SRC/main.c" global_options); do
	has_option "$HELP" "$w" || missing="$missing $w"
done
is "$missing" "" "rapid help: one line for each global option"
ok "$([ -n "$(options_of "$SRC/main.c" global_options)" ]; echo $?)" "the global options were found in cli/main.c"
ok "$([ "$(options_of "$SRC/cmd_build.c" build_options | wc -l)" -ge 10 ]; echo $?)" "build's options were found in cli/cmd_build.c"

# The check itself: an option in a table without a help line is found.
mkdir -p "$T_TMP/src"
sed 's/{O_FORCE, 0, "force",/{O_FORCE, 0, "forcefully",/' "$SRC/cmd_build.c" > "$T_TMP/src/cmd_build.c"
run "$RAPID" help build
w=$(options_of "$T_TMP/src/cmd_build.c" build_options | grep forcefully)
is "$w" "--forcefully" "a renamed option is read from the table"
ok "$(has_option "$OUT" "$w"; [ $? != 0 ]; echo $?)" "... and its missing help line is noticed"

# rapid help NOSUCH: a usage error, with a hint when a name is close.
run "$RAPID" help plna
is "$RC" 2 "rapid help plna: usage error"
is "$ERR" "rapid: unknown command 'plna' (did you mean 'plan'?)" "... with a did-you-mean hint"
run "$RAPID" help zzzzzz
is "$RC:$ERR" "2:rapid: unknown command 'zzzzzz'; see 'rapid help'" "rapid help of nothing close"
run "$RAPID" help stack craete
is "$RC" 2 "rapid help stack craete: usage error"
like "$ERR" "did you mean 'stack create'" "... with a hint"

# Usage errors name the option and print the usage line on stderr.
run "$RAPID" plan --jsno
is "$RC" 2 "a misspelt option: usage error"
is "$(printf '%s\n' "$ERR" | head -n 2)" "rapid: plan: unknown option '--jsno' (did you mean '--json'?)
usage: rapid plan [--explain] [--json] [--refresh] [--exit-code] [-v]" "... with a hint and the usage line"
run "$RAPID" build --backend
is "$RC" 2 "--backend without a value: usage error"
like "$ERR" "^rapid: build: option '--backend' needs a value \\(local[|]batch\\)" "... named"
run "$RAPID" plan --json=yes
is "$RC:$(printf '%s\n' "$ERR" | head -n 1)" "2:rapid: plan: option '--json' takes no value" "a flag given a value"
run "$RAPID" runner --spec
like "$RC:$ERR" "^2:rapid: runner: option '--spec' needs a value" "runner --spec without a value"
run "$RAPID" runner extra
like "$RC:$ERR" "^2:rapid: runner: unexpected argument 'extra'" "runner with a word"
run "$RAPID" version --bogus
is "$RC" 2 "version --bogus: usage error"
run "$RAPID" stack info --bogus
like "$RC:$ERR" "^2:rapid: stack info: unknown option '--bogus'" "stack info --bogus: usage error"
run "$RAPID" stack frob
like "$RC:$ERR" "^2:rapid: stack: unknown subcommand 'frob'" "an unknown stack subcommand"

# Clusters and attached values: -kn, -j4, --jobs=4, --backend=local.
printf 'target t\n    output o = out/x.txt\n    run sh -c "echo x > $1" t {o}\n' > Rapidfile
run "$RAPID" build -kn -j4 --jobs=2 --backend=local
is "$RC" 0 "build -kn -j4 --jobs=2 --backend=local parses"
like "$OUT" "^pending: 1 instance" "... and -n ran nothing"
ok "$([ ! -e out ]; echo $?)" "... nothing built"
# The global options that take a value may also follow the command word.
mkdir -p "$T_TMP/other"
printf 'target u\n    output o = out/y.txt\n    run true {o}\n' > "$T_TMP/other/Other.rf"
run "$RAPID" -C "$T_TMP/other" -f Other.rf check
BEFORE=$OUT
like "$BEFORE" "^target u: 1 instance" "rapid -C DIR -f FILE check"
run "$RAPID" check -C "$T_TMP/other" -f Other.rf
is "$RC:$OUT" "0:$BEFORE" "rapid check -C DIR -f FILE: the same"
run "$RAPID" check -fOther.rf -C"$T_TMP/other"
is "$RC:$OUT" "0:$BEFORE" "rapid check -fFILE -CDIR: the same"
run "$RAPID" build -n --profile=nobody -C "$T_TMP/other" -f Other.rf
is "$RC" 0 "--profile=NAME after the command word"
run "$RAPID" check -C "$T_TMP/no-such-dir"
is "$RC:$ERR" "2:rapid: cannot change to '$T_TMP/no-such-dir': No such file or directory" "-C after the command: a missing folder"
mkdir -p "$T_TMP/a/b"; cp "$T_TMP/other/Other.rf" "$T_TMP/a/b/"
run "$RAPID" -C "$T_TMP/a" -C b -f Other.rf check
is "$RC:$OUT" "0:$BEFORE" "rapid -C A -C B: B is relative to A"
run "$RAPID" -C "$T_TMP/a" check -C b -f Other.rf
is "$RC:$OUT" "0:$BEFORE" "rapid -C A check -C B: the same"
run "$RAPID" plan --version
like "$RC:$ERR" "^2:rapid: plan: unknown option '--version'" "--version is not one of them"
run "$RAPID" help plan
like "$(printf '%s\n' "$OUT" | tr '\n' ' ')" "global options \(-f FILE, -C DIR, --profile NAME, --input-profile NAME, --cli-read-timeout SECONDS, --cli-connect-timeout SECONDS\) may also follow" "each command's help says so"

run "$RAPID" build -- -x
is "$RC" 1 "after --, a word that looks like an option is a target"
like "$ERR" "no target '-x'" "... named"
done_testing
