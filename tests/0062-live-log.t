#!/bin/sh
# The local runner writes the recipe's stdout and stderr to the log file at
# its final path (<root>.rapid/logs/<target>/<w>/<key>.log) as they come,
# so a running instance's log already holds its first lines (what
# `rapid logs --follow` shows). The failure message keeps its tail.
#
# Regression (issue 9): the log was written only when the recipe ended.
. "$(dirname "$0")/lib.sh"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
mkfifo go
cat > Rapidfile <<RF
target t
    foreach p in a
    output o = out/{p}.txt
    run sh -c 'echo "first line"; echo "to stderr" >&2; read x < "\$1"; echo "last line"; echo done > "\$2"' x $W/go {o}
target f
    foreach p in a
    output o = out/f/{p}.txt
    run sh -c 'seq 5000 | sed "s/.*/line & of a long log/"; exit 3' x {o}
RF

"$RAPID" build t >"$T_TMP/b.out" 2>"$T_TMP/b.err" &
bpid=$!
# until the log holds the first lines (60 s at most: a loaded machine is
# not a failure; the recipe waits on the FIFO, so it cannot have ended)
log=""
i=0
while [ $i -lt 1200 ]; do
	log=$(find out/.rapid/logs/t/a -name '*.log' 2>/dev/null | head -n 1)
	[ -n "$log" ] && grep -q '^to stderr$' "$log" && break
	sleep 0.05
	i=$((i + 1))
done
running=$(find out/.rapid/sentinels/t/a -name '*.running.json' | wc -l | tr -d ' ')
got=$(cat "$log" 2>/dev/null)
echo go 1<>go # let the recipe end, whatever was seen (1<>: never blocks)
wait $bpid
rc=$?
is "$running" 1 "the instance is running while its log is read"
is "$got" "first line
to stderr" "the running instance's log already holds its first lines"
is "$rc" 0 "the build succeeds"
key=$(basename "$(find out/.rapid/sentinels/t/a -name '*.ok.json')" .ok.json)
is "$log" "out/.rapid/logs/t/a/$key.log" "the log is at its final path, named by the key"
is "$(cat "out/.rapid/logs/t/a/$key.log")" "first line
to stderr
last line" "the log holds the whole output once the recipe ended"
like "$(cat "out/.rapid/sentinels/t/a/$key.ok.json")" "\"log\": *\"[^\"]*/out/.rapid/logs/t/a/$key.log\"" \
	"the ok sentinel names the log"

# a failed recipe with more output than the kept tail
run "$RAPID" build f
is "$RC" 1 "f: the build fails"
flog=$(printf '%s\n' "$ERR" | sed -n 's/.*(log: \(.*\.log\))$/\1/p')
is "$(wc -l < "$flog" | tr -d ' ')" 5000 "f: the log holds every line, beyond the kept tail"
is "$(head -n 1 "$flog")" "line 1 of a long log" "f: from the first"
like "$flog" "/\.rapid/logs/f/a/[0-9a-f]{32}\.log$" "f: the failure names the log"
like "$ERR" "  \| line 5000 of a long log" "f: and shows its tail"
is "$(printf '%s\n' "$ERR" | grep -c '^  | ')" 15 "f: fifteen lines of it"
done_testing
