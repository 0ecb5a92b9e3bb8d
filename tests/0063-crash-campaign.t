#!/bin/sh
# Crash consistency: SIGKILLs of `rapid build -j 4` at random moments (once
# a random number of its recipes have started; half
# to its process group, half to the build alone, whose runners are then
# told by the kernel) over a 40-instance, 3-level graph (a -> b -> c, b and
# c over two wildcards), with trivial recipes that sleep a little. Each
# round starts from nothing, or after an input change. After each kill,
# `rapid build` converges: it exits 0, `plan --exit-code` is 0, every
# output is complete and right for the current inputs, and no instance ran
# again after it had an ok sentinel for its key.
#
# Re-runs are caught by the recipe itself: it finds its runner's running
# sentinel (the one whose body names its parent's pid), and journals
# "RERUN" when an ok sentinel for that key is already there. The claim
# must make that impossible.
#
# Heavy (a couple of minutes of machine time): the plain pass only.
. "$(dirname "$0")/lib.sh"
if grep -q __asan_init "$RAPID"; then
	echo "1..0 # SKIP the crash campaign runs in the plain pass only"
	exit 0
fi
KILLS=${CRASH_KILLS:-100}
W=$T_TMP/w; mkdir -p "$W/in"; cd "$W" || exit 1
J=$T_TMP/journal
cat > "$T_TMP/step.sh" <<EOF
#!/bin/sh
# step.sh SENTINEL_DIR NAME OUT [IN]: one recipe of the campaign
sd=\$1 name=\$2 out=\$3 in=\${4:-}
run=\$(grep -lE "\"pid\": *\$PPID([^0-9]|\\\$)" "\$sd"*.running.json 2>/dev/null | head -n 1)
key=\$(basename "\$run" .running.json)
if [ -z "\$key" ]; then echo "NOKEY \$name" >> "$J"
elif [ -e "\$sd\$key.ok.json" ]; then echo "RERUN \$name \$key" >> "$J"; fi
echo "run \$name \$key" >> "$J"
sleep 0.0\$(od -An -N1 -tu1 /dev/urandom | tr -dc 0-9 | cut -c1)
{ if [ -n "\$in" ]; then cat "\$in"; fi; echo "\$name"; } > "\$out"
EOF
S=$T_TMP/step.sh
cat > Rapidfile <<RF
ps = 1 2 3 4 5 6 7 8
qs = x y
target a
    foreach p in \$(ps)
    input in = in/{p}.txt
    output o = out/a/{p}.txt
    run sh $S $W/out/a/.rapid/sentinels/a/{p}/ a-{p} {o} {in}
target b
    foreach p in \$(ps)
    foreach q in \$(qs)
    input m = a.o
    output o = out/b/{p}/{q}.txt
    run sh $S $W/out/b/.rapid/sentinels/b/{p}/{q}/ b-{p}-{q} {o} {m}
target c
    foreach p in \$(ps)
    foreach q in \$(qs)
    input m = b.o
    output o = out/c/{p}/{q}.txt
    run sh $S $W/out/c/.rapid/sentinels/c/{p}/{q}/ c-{p}-{q} {o} {m}
RF
for p in 1 2 3 4 5 6 7 8; do echo "in $p v0" > "in/$p.txt"; done

# check.sh: every output holds what its recipe makes of the current inputs
cat > "$T_TMP/check.sh" <<'EOF'
bad=0
for p in 1 2 3 4 5 6 7 8; do
	a=$(cat "in/$p.txt"; echo "a-$p")
	[ "$(cat "out/a/$p.txt" 2>&1)" = "$a" ] || { echo "out/a/$p.txt is wrong"; bad=1; }
	for q in x y; do
		b=$(printf '%s\n' "$a"; echo "b-$p-$q")
		[ "$(cat "out/b/$p/$q.txt" 2>&1)" = "$b" ] || { echo "out/b/$p/$q.txt is wrong"; bad=1; }
		c=$(printf '%s\n' "$b"; echo "c-$p-$q")
		[ "$(cat "out/c/$p/$q.txt" 2>&1)" = "$c" ] || { echo "out/c/$p/$q.txt is wrong"; bad=1; }
	done
done
exit $bad
EOF

# a random number in [0, $1)
rnd() { echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9) % $1 )); }

live=0 group=0 alone=0 bad="" v=0
round=0
while [ $round -lt "$KILLS" ]; do
	round=$((round + 1))
	if [ $((round % 2)) = 1 ]; then
		rm -rf out # from nothing
	else # an input change: new keys for a few of a, and all below them
		v=$(( (v + 1) % 10 ))
		for p in $(rnd 8) $(rnd 8); do echo "in $((p + 1)) v$v" > "in/$((p + 1)).txt"; done
	fi
	: > "$J"
	setsid "$RAPID" build -j 4 >"$T_TMP/b.out" 2>&1 &
	bpid=$!
	# a random moment: once k of the 40 recipes have started (k random),
	# plus up to 90 ms; or the build's end, whichever comes first
	k=$(( $(rnd 36) + 1 ))
	i=0
	while [ $i -lt 3000 ] && kill -0 "$bpid" 2>/dev/null &&
		[ "$(grep -c '^run' "$J")" -lt $k ]; do sleep 0.02; i=$((i + 1)); done
	sleep "0.0$(rnd 10)"
	kill -0 "$bpid" 2>/dev/null && live=$((live + 1))
	if [ $((round % 4)) -lt 2 ]; then
		kill -KILL -- "-$bpid" 2>/dev/null; group=$((group + 1))
	else
		kill -KILL "$bpid" 2>/dev/null; alone=$((alone + 1))
	fi
	wait "$bpid" 2>/dev/null
	# until its runners are gone (60 s at most)
	i=0
	while [ $i -lt 600 ] && kill -0 -- "-$bpid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
	if ! "$RAPID" build -j 4 >"$T_TMP/c.out" 2>&1; then
		bad="$bad
round $round: the next build failed: $(tail -n 5 "$T_TMP/c.out")"
		continue
	fi
	"$RAPID" plan --exit-code >"$T_TMP/p.out" 2>&1 || bad="$bad
round $round: plan --exit-code is not 0 after the next build: $(head -n 8 "$T_TMP/p.out")"
	out=$(sh "$T_TMP/check.sh") || bad="$bad
round $round: $out"
	if grep -q '^RERUN\|^NOKEY' "$J"; then
		bad="$bad
round $round: $(grep '^RERUN\|^NOKEY' "$J" | head -n 3)"
	fi
	oks=$(find out -name '*.ok.json' | wc -l | tr -d ' ')
	[ "$oks" = 40 ] || bad="$bad
round $round: $oks ok sentinels, not 40"
done
echo "# $KILLS kills ($group of the process group, $alone of the build alone), $live while the build ran"
ok "$([ $live -ge $((KILLS / 3)) ]; echo $?)" "kills hit a running build ($live of $KILLS)"
[ -z "$bad" ] || printf 'crash campaign:%s\n' "$bad" >&2 # shown by prove without -v too
is "$bad" "" "after every kill the next build converges, outputs right, nothing re-run after its ok"
is "$(find out/*/.rapid/scratch out/*/.rapid/trash -mindepth 1 -maxdepth 1 2>/dev/null | wc -l | tr -d ' ')" 0 \
	"nothing is left in scratch or trash"
done_testing
