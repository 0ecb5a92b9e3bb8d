#!/bin/sh
# The local scheduler starts an instance only when its target's vcpus and
# memory fit beside the running ones (--cores, --memory, else the
# machine's); -j still caps the count; an instance that can never fit
# fails before anything runs, with what it needs and what there is.
# Options may be written before or after the command word, and -j alone
# is one job per core. Recipes journal their start and end; the overlap
# is computed from the journal.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
J=$W/journal
cat > Rapidfile <<RF
ps = a b c d e f g h
VC = 2
MEM = 1000
target big
    foreach p in \$(ps)
    output o = out/big/{p}.txt
    vcpus \$(VC)
    memory \$(MEM)
    run sh -c 'echo "start \$1" >> $J; sleep 0.2; echo "end \$1" >> $J; echo x > "\$2"' x {p} {o}
target small
    foreach p in \$(ps)
    output o = out/small/{p}.txt
    run sh -c 'echo "start s\$1" >> $J; sleep 0.1; echo "end s\$1" >> $J; echo x > "\$2"' x {p} {o}
RF
# the most instances running at once, from the journal
overlap() { awk '/^start/ { n++; if (n > m) m = n } /^end/ { n-- } END { print m + 0 }' "$J"; }
runs() { count_lines "$J" '^start'; }

: > "$J"
run "$RAPID" build big --cores 4 -j 8
is "$RC" 0 "vcpus 2, --cores 4, -j 8: built"
is "$(runs)" 8 "every instance ran"
ok "$([ "$(overlap)" -le 2 ]; echo $?)" "never more than 2 at once (overlap $(overlap))"

rm -rf out; : > "$J"
run "$RAPID" build big --memory 2G -j 8 --cores 64
is "$RC:$(runs)" "0:8" "memory 1000, --memory 2G: built"
ok "$([ "$(overlap)" -le 2 ]; echo $?)" "never more than 2 at once (overlap $(overlap))"

rm -rf out; : > "$J"
run "$RAPID" build big --memory 1000 -j 8 --cores 64
is "$RC:$(runs)" "0:8" "--memory equal to one instance's memory"
is "$(overlap)" 1 "one at a time"

rm -rf out; : > "$J"
run "$RAPID" build big --cores 64 --memory 64G -j 3
is "$RC:$(runs)" "0:8" "plenty of cores and memory, -j 3"
ok "$([ "$(overlap)" -le 3 ]; echo $?)" "-j still caps the count (overlap $(overlap))"

# targets that declare nothing take nothing: only -j caps them
rm -rf out; : > "$J"
run "$RAPID" build small --cores 1 --memory 1 -j 2
is "$RC:$(runs)" "0:8" "a target without vcpus or memory runs beside any limit"
ok "$([ "$(overlap)" -le 2 ]; echo $?)" "at most -j of them"

# an instance that can never fit fails up front
rm -rf out; : > "$J"
run "$RAPID" build big MEM=62000 --memory 24G --cores 64
is "$RC" 1 "memory 62000 with --memory 24G fails"
like "$ERR" "^rapid: big: needs 62000 MiB of memory and --memory gives 24576 MiB: 8 instances not built \\(--memory SIZE sets how much the build may use\\)\$" \
	"naming the target, what it needs, what there is and how to override"
is "$(runs)" 0 "nothing ran"
run "$RAPID" build big VC=8 --cores 4 --memory 64G
is "$RC" 1 "vcpus 8 with --cores 4 fails"
like "$ERR" "^rapid: big: needs 8 vcpus and --cores gives 4: 8 instances not built \\(--cores N sets how many the build may use\\)\$" \
	"naming the target, what it needs and what there is"
mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
run "$RAPID" build big MEM=$((mem + 1)) --cores 64
is "$RC" 1 "more memory than this machine has fails"
like "$ERR" "^rapid: big: needs $((mem + 1)) MiB of memory and this machine has $mem MiB: " "with this machine's memory (MemTotal)"
run "$RAPID" build -k big small MEM=62000 --memory 24G --cores 64 -j 2
is "$RC" 1 "with -k the rest is built"
like "$ERR" "built 8 of 16; 8 failed" "and counted"

run "$RAPID" build --memory lots
is "$RC" 2 "a bad --memory is a usage error"
like "$ERR" "^rapid: option --memory needs a size in MiB \\(or with K, M, G, T: 8G\\), not 'lots'\$" "named"
for m in 512 512M 0.5G 2GiB 1T 1048576K 8gb; do
	run "$RAPID" build -n --memory $m
	is "$RC" 0 "--memory $m is a size"
done
run "$RAPID" build -n --memory 8X
is "$RC" 2 "--memory 8X is not"
run "$RAPID" build big MEM=600 --memory 0.5G --cores 64
is "$RC" 1 "more than --memory 0.5G"
like "$ERR" "needs 600 MiB of memory and --memory gives 512 MiB" "--memory 0.5G is 512 MiB"
run "$RAPID" build --cores 0
is "$RC" 2 "a bad --cores is a usage error"

# options before or after the command word; -j alone is one per core
rm -rf out; : > "$J"
run "$RAPID" -C "$W" build -kj small --cores 3
is "$RC:$(runs)" "0:8" "-kj (-j alone in a cluster) with --cores 3"
ok "$([ "$(overlap)" -le 3 ]; echo $?)" "at most 3 at once"
rm -rf out; : > "$J"
run "$RAPID" build -j small --cores 2
is "$RC:$(runs)" "0:8" "-j followed by a target name: -j alone, and the word is a target"
unlike "$(cat "$J")" "^start [a-h]$" "(small only; big is not selected)"
ok "$([ "$(overlap)" -le 2 ]; echo $?)" "one per core of --cores 2"
rm -rf out; : > "$J"
run "$RAPID" build -j 1 small
is "$RC:$(overlap)" "0:1" "-j 1 with a separate number"
rm -rf out; : > "$J"
run "$RAPID" build small --jobs=1
is "$RC:$(overlap)" "0:1" "--jobs=1"
rm -rf out; : > "$J"
run "$RAPID" build small -j1 -n
is "$RC:$(runs)" "0:0" "-j1 -n: a dry run"
run "$RAPID" build -kn small
is "$RC:$(runs)" "0:0" "-kn: keep going, dry run"
like "$OUT" "^small: 8 instances: 0 up to date, 8 to build\$" "prints the plan"
rm -rf out; : > "$J"
run "$RAPID" -j 2 --cores=64 -C "$W" build small
is "$RC:$(runs)" "0:8" "a command's options before the command word (rapid -j 2 --cores=64 -C DIR build)"
ok "$([ "$(overlap)" -le 2 ]; echo $?)" "-j 2 before the command word is read"
run "$RAPID" -kn build small
is "$RC:$(runs)" "0:8" "rapid -kn build: a dry run"
run "$RAPID" -x plan
is "$RC" 2 "an unknown option before the command word"
like "$ERR" "^rapid: plan: unknown option '-x'" "is the command's usage error"
run "$RAPID" plan -C "$W" small
like "$OUT" "^small: 8 instances" "plan -C DIR after the command word"
done_testing
