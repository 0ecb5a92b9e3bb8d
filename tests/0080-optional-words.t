#!/bin/sh
# Optional word groups on a run line: "[[ --brainmask {mask} ]]" reaches
# the program only for the instances whose optional input is present; it
# never becomes an empty word. The key's command changes with presence.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W/data/a" "$W/data/b"; cd "$W" || exit 1
for p in a b; do echo "bold $p" > "data/$p/bold"; done
echo "mask a" > data/a/mask
# The recipe writes each argument it receives on a line of its own, in [].
cat > Rapidfile <<'RF'
target t
    foreach p in a b
    input   bold = data/{p}/bold
    input?  mask = data/{p}/mask
    output  out  = out/{p}.txt
    run sh -c 'printf "[%s]\n" "$@" > "$0"' {out} {bold} [[ --brainmask {mask} ]] '[[' "]]" --passes 3
RF

run "$RAPID" check
is "$RC" 0 "a run line with a group checks"

run "$RAPID" build
is "$RC" 0 "build with one mask present and one absent"
is "$(cat out/a.txt)" "[$W/data/a/bold]
[--brainmask]
[$W/data/a/mask]
[[[]
[]]]
[--passes]
[3]" "mask present: the group's words reach the program; quoted '[[' and \"]]\" are words"
is "$(cat out/b.txt)" "[$W/data/b/bold]
[[[]
[]]]
[--passes]
[3]" "mask absent: the whole group is dropped"
is "$(grep -c '^\[\]$' out/a.txt out/b.txt | sed 's/.*://' | sort -u)" 0 "no empty word reaches the program"

run "$RAPID" plan --exit-code
is "$RC" 0 "up to date after the build"

echo "mask b" > data/b/mask
run "$RAPID" plan --explain
like "$OUT" '1 up to date, 1 to build' "the mask appearing makes that instance stale"
like "$OUT" 'command: .*data/b/bold → .*data/b/bold --brainmask .*data/b/mask' "the key's command gains the group's words"
run "$RAPID" build
is "$RC" 0 "rebuild after the mask appeared"
like "$(cat out/b.txt)" "^\[$W/data/b/bold\]
\[--brainmask\]
\[$W/data/b/mask\]" "now the group reaches the program"

# Two groups, each kept on its own input; words of a kept group keep
# their order among the others.
cat > Rapidfile <<'RF'
target t
    foreach p in a b
    input?  mask = data/{p}/mask
    input?  seg  = data/{p}/seg.txt
    output  out  = out2/{p}.txt
    run sh -c 'printf "[%s]\n" "$@" > "$0"' {out} first [[ -m {mask} ]] middle [[ -s {seg} -S ]] last
RF
rm -f data/b/mask
echo seg > data/b/seg.txt
run "$RAPID" build
is "$RC" 0 "two groups: build"
is "$(tr -d '\n' < out2/a.txt)" "[first][-m][$W/data/a/mask][middle][last]" "a: mask group kept, seg group dropped"
is "$(tr -d '\n' < out2/b.txt)" "[first][middle][-s][$W/data/b/seg.txt][-S][last]" "b: mask group dropped, seg group kept"
done_testing
