#!/bin/sh
# rapid runner --spec: one instance from claim to sentinel. Hand-written
# specs (schema 1, runner/runner.h) with small coreutils recipes.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# jf FILE EXPR: evaluate a Python expression over the JSON in FILE (as d).
jf() {
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

# alive PID: that child has not exited (kill -0 holds for a zombie too).
alive() {
	read -r _a _a _state _a 2>/dev/null <"/proc/$1/stat" && [ "$_state" != Z ]
}
# wait_for FILE: until it exists (at most 60 s, so that a loaded machine is not a failure).
wait_for() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$1" ]
}

K1=0123456789abcdef0123456789abcdef
printf 'hello\n' >"$T_TMP/in.txt"

DEFAULT_INPUTS='[{"name": "src", "uri": "in.txt", "path": "'"$T_TMP"'/in.txt", "optional": false, "present": true, "fingerprint": "size=6 xxh3=00"}]'
# mkspec FILE ROOT KEY ARGV OUTPUTS; also $INPUTS, $ENVJ, $TIMEOUT.
mkspec() {
	cat >"$1" <<EOF
{"schema": 1, "target": "t", "wildcards": [["participant", "01"], ["run", "A"]],
 "key": "$3", "root": "$2",
 "sentinel_dir": "$2.rapid/sentinels/t/01/A/", "log_dir": "$2.rapid/logs/t/01/A/",
 "argv": $4,
 "command": ["recipe", "in.txt"],
 "inputs": ${INPUTS:-$DEFAULT_INPUTS},
 "outputs": $5,
 "image": "example/img:1.0", "env": ${ENVJ:-[]}, "timeout_s": ${TIMEOUT:-null},
 "components": [["command", "recipe in.txt"], ["image", "example/img:1.0"]]}
EOF
}
FILE_OUT='[{"name": "file", "uri": "res/copy.txt", "path": "ROOTres/copy.txt", "dir": false}]'
file_out() { printf '%s' "$FILE_OUT" | sed "s|ROOT|$1|"; }

# ---- success: a file and a directory output ----
R=$T_TMP/ok/
mkspec "$T_TMP/ok.json" "$R" $K1 \
'[["sh"], ["-c"], ["echo run >>\"$0\"; cp \"$1\" \"$2\" && mkdir \"$3\"sub && echo a >\"$3\"sub/a.txt && printf bb >\"$3\"b.txt; echo to-stdout; echo to-stderr >&2"],
  ["'"$T_TMP"'/ok.count"], [{"input": "src"}], [{"output": "file"}], [{"output": "dir"}]]' \
"[{\"name\": \"file\", \"uri\": \"res/copy.txt\", \"path\": \"${R}res/copy.txt\", \"dir\": false},
  {\"name\": \"dir\", \"uri\": \"res/d/\", \"path\": \"${R}res/d/\", \"dir\": true}]"
run $RAPID runner --spec "$T_TMP/ok.json"
is "$RC" 0 "success: exit 0"
is "$OUT" "" "success: nothing on stdout"
is "$ERR" "" "success: nothing on stderr"
is "$(cat "${R}res/copy.txt" 2>&1)" "hello" "file output moved into place"
is "$(cat "${R}res/d/sub/a.txt" 2>&1)$(cat "${R}res/d/b.txt" 2>&1)" "abb" "directory output moved into place"
SD=$R.rapid/sentinels/t/01/A
OK=$SD/$K1.ok.json
ok "$([ -f "$OK" ]; echo $?)" "ok sentinel written"
ok "$([ ! -e "$SD/$K1.running.json" ]; echo $?)" "no running sentinel left"
is "$(ls "$SD")" "$K1.ok.json" "only the ok sentinel in the instance folder"
is "$(jf "$OK" 'd["schema"], d["state"], d["target"], d["key"] == "'$K1'"')" "(1, 'ok', 't', True)" "sentinel: schema, state, target, key"
is "$(jf "$OK" 'd["wildcards"]')" "{'participant': '01', 'run': 'A'}" "sentinel: wildcards object"
is "$(jf "$OK" 'd["components"]')" "{'command': 'recipe in.txt', 'image': 'example/img:1.0'}" "sentinel: components object"
is "$(jf "$OK" 'd["command"], d["image"]')" "(['recipe', 'in.txt'], {'requested': 'example/img:1.0', 'digest': None})" "sentinel: command and image"
is "$(jf "$OK" '[(i["name"], i["uri"], i["fingerprint"]) for i in d["inputs"]]')" "[('src', 'in.txt', 'size=6 xxh3=00')]" "sentinel: inputs"
is "$(jf "$OK" '[(o["name"], o["path"], o["uri"], o["size"]) for o in d["outputs"]]')" \
   "[('file', 'copy.txt', 'res/copy.txt', 6), ('dir', 'b.txt', 'res/d/b.txt', 2), ('dir', 'sub/a.txt', 'res/d/sub/a.txt', 2)]" \
   "sentinel: every output file with path, uri and size"
is "$(jf "$OK" 'all(len(o["xxh3"]) == 32 and int(o["xxh3"], 16) >= 0 for o in d["outputs"])')" "True" "sentinel: xxh3-128 hex per file"
is "$(jf "$OK" 'd["exit_code"], d["signal"], d["reason"]')" "(0, None, None)" "sentinel: exit code, no signal, no reason"
is "$(jf "$OK" '[d[k] for k in ("batch_job_id", "array_index", "attempt", "instance_type")]')" "[None, None, None, None]" "sentinel: batch fields null"
like "$(jf "$OK" 'd["started"] + " " + d["ended"]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z 20[0-9]{2}-' "sentinel: ISO-8601 UTC times"
is "$(jf "$OK" 'type(d["duration_s"]) in (int, float) and d["duration_s"] >= 0')" "True" "sentinel: duration_s"
is "$(jf "$OK" 'd["host"] == __import__("socket").gethostname(), type(d["pid"]) is int, d["rapid_version"] != ""')" "(True, True, True)" "sentinel: host, pid, rapid_version"
LOG=$R.rapid/logs/t/01/A/$K1.log
is "$(jf "$OK" 'd["log"]')" "$LOG" "sentinel: log path"
is "$(sort "$LOG" 2>&1)" "$(printf 'to-stderr\nto-stdout')" "log holds stdout and stderr"
is "$(ls -A "$R.rapid/scratch" 2>&1)" "" "scratch folder removed"
run $RAPID runner --spec "$T_TMP/ok.json"
is "$RC:$OUT:$ERR" "0::" "already built: exit 0, silent"
is "$(wc -l <"$T_TMP/ok.count")" "1" "already built: the recipe did not run again"
sed 's/"schema": 1,/"schema": 1, "force": true,/' "$T_TMP/ok.json" >"$T_TMP/force.json"
run $RAPID runner --spec "$T_TMP/force.json"
is "$RC:$OUT:$ERR" "0::" "force: exit 0"
is "$(wc -l <"$T_TMP/ok.count")" "2" "force: the recipe ran although an ok sentinel existed"
is "$(ls "$R.rapid/sentinels/t/01/A")" "$K1.ok.json" "force: one ok sentinel"

# XXH3-128 of no bytes, canonical (big-endian) hex, as xxhsum -H2 prints it.
R=$T_TMP/empty/
mkspec "$T_TMP/empty.json" "$R" $K1 '[["touch"], [{"output": "file"}]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/empty.json"
is "$RC:$(jf "$R.rapid/sentinels/t/01/A/$K1.ok.json" '[(o["size"], o["xxh3"]) for o in d["outputs"]]')" \
   "0:[(0, '99aa06d3014798d86001c324468d497f')]" "sentinel: xxh3 is XXH3-128 in canonical hex"

# --spec - reads stdin; the recipe's stdin is /dev/null; cwd is scratch.
R=$T_TMP/stdin/
mkspec "$T_TMP/stdin.json" "$R" $K1 \
'[["sh"], ["-c"], ["{ cat; pwd; } >\"$1\""], ["x"], [{"output": "file"}]]' "$(file_out "$R")"
run sh -c "$RAPID runner --spec - <'$T_TMP/stdin.json'"
is "$RC" 0 "--spec - reads the spec from stdin"
like "$(cat "${R}res/copy.txt" 2>&1)" "^${R}\.rapid/scratch/$K1\.[0-9]+\$" "stdin is /dev/null, cwd is the scratch folder"

# The recipe inherits no descriptor but 0, 1 and 2: not the claim's lock,
# not one the runner inherited (7). ls itself reads the folder on 3.
R=$T_TMP/fds/
mkspec "$T_TMP/fds.json" "$R" $K1 '[["ls"], ["/proc/self/fd"]]' '[]'
run $RAPID runner --spec "$T_TMP/fds.json" 7</dev/null
is "$RC:$(sort -n "$R.rapid/logs/t/01/A/$K1.log" 2>&1 | tr '\n' ' ')" "0:0 1 2 3 " "the recipe inherits only stdin, stdout and stderr"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.ok.json" 'd["outputs"]')" "[]" "no outputs: an empty list"

# ---- a failing recipe ----
R=$T_TMP/fail/
mkdir -p "${R}res"; echo old >"${R}res/copy.txt"
mkspec "$T_TMP/fail.json" "$R" $K1 \
'[["sh"], ["-c"], ["i=1; while [ $i -le 20 ]; do echo line$i; i=$((i+1)); done; echo new >\"$1\"; exit 3"], ["x"], [{"output": "file"}]]' \
"$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/fail.json"
SD=$R.rapid/sentinels/t/01/A
LOG=$R.rapid/logs/t/01/A/$K1.log
is "$RC" 1 "failing recipe: exit 1"
is "$(printf '%s\n' "$ERR" | head -1)" "rapid: t participant=01 run=A failed: exit status 3 (log: $LOG)" "failing recipe: message with the log path"
is "$(printf '%s\n' "$ERR" | sed 1d)" "$(i=6; while [ $i -le 20 ]; do echo "  | line$i"; i=$((i + 1)); done)" "failing recipe: the last 15 log lines"
is "$(cat "${R}res/copy.txt")" "old" "failing recipe: output not moved"
is "$(ls "$SD")" "$K1.failed.json" "failing recipe: failed sentinel, no running one"
is "$(jf "$SD/$K1.failed.json" 'd["state"], d["exit_code"], d["signal"], d["reason"], d["outputs"]')" "('failed', 3, None, 'exit status 3', [])" "failing recipe: sentinel fields"
is "$(tail -1 "$LOG")" "line20" "failing recipe: log written"
# Fixed recipe, same key: ok replaces failed.
mkspec "$T_TMP/fail2.json" "$R" $K1 '[["cp"], [{"input": "src"}], [{"output": "file"}]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/fail2.json"
is "$RC:$(ls "$SD")" "0:$K1.ok.json" "a later success prunes the failed sentinel"

# ---- output not produced ----
R=$T_TMP/missing/
mkspec "$T_TMP/missing.json" "$R" $K1 '[["true"]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/missing.json"
is "$RC" 1 "missing output: exit 1"
like "$ERR" "failed: output 'file' was not produced \\(log: " "missing output: message"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.failed.json" 'd["exit_code"], d["reason"]')" "(0, \"output 'file' was not produced\")" "missing output: failed sentinel"

# ---- command not found ----
R=$T_TMP/nocmd/
mkspec "$T_TMP/nocmd.json" "$R" $K1 '[["rapid-no-such-command"], ["arg"]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/nocmd.json"
is "$RC" 1 "command not found: exit 1"
like "$ERR" "^rapid: t participant=01 run=A failed: cannot run 'rapid-no-such-command': No such file or directory" "command not found: message"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.failed.json" 'd["exit_code"], d["reason"]')" "(127, \"cannot run 'rapid-no-such-command': No such file or directory\")" "command not found: exit code 127"

# ---- timeout ----
# The recipe notes what happened to it: the timeout's SIGTERM came while
# it slept, long before its 30 s were up.
R=$T_TMP/timeout/
TIMEOUT=1 mkspec "$T_TMP/timeout.json" "$R" $K1 \
'[["sh"], ["-c"], ["trap \"echo TERM >>$0; trap - TERM; kill -TERM $$\" TERM; echo started >>\"$0\"; sleep 30 & wait; echo slept >>\"$0\""], ["'"$T_TMP"'/timeout.log"]]' \
"$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/timeout.json"
is "$RC" 1 "timeout: exit 1"
is "$(cat "$T_TMP/timeout.log" | tr '\n' ' ')" "started TERM " "timeout: the recipe was stopped by SIGTERM while it slept, not after"
like "$ERR" "failed: timeout after 1s" "timeout: message"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.failed.json" 'd["reason"], d["signal"], d["exit_code"]')" "('timeout after 1s', 15, None)" "timeout: SIGTERM recorded"
# A recipe that ignores SIGTERM gets SIGKILL later (10 s).
R=$T_TMP/timeout2/
TIMEOUT=1 mkspec "$T_TMP/timeout2.json" "$R" $K1 \
'[["sh"], ["-c"], ["trap \"echo TERM >>$0\" TERM; echo started >>\"$0\"; while :; do sleep 30 & wait; done"], ["'"$T_TMP"'/timeout2.log"]]' \
"$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/timeout2.json"
is "$(sort -u "$T_TMP/timeout2.log" | tr '\n' ' ')" "TERM started " "timeout: the recipe outlived SIGTERM (it traps it)"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.failed.json" 'd["reason"], d["signal"]')" "('timeout after 1s', 9)" "timeout: SIGKILL recorded"

# ---- a second runner while the first works ----
# The recipes wait until the test removes COUNT.block, so the first is still
# at work however slow the machine.
R=$T_TMP/busy/
mkspec "$T_TMP/busy.json" "$R" $K1 \
'[["sh"], ["-c"], ["echo run >>\"$0\"; while [ -e \"$0.block\" ]; do sleep 0.05; done; cp \"$1\" \"$2\""], ["'"$T_TMP"'/busy.count"], [{"input": "src"}], [{"output": "file"}]]' \
"$(file_out "$R")"
touch "$T_TMP/busy.count.block"
$RAPID runner --spec "$T_TMP/busy.json" 2>"$T_TMP/busy1.err" &
p1=$!
wait_for "$T_TMP/busy.count"
run $RAPID runner --spec "$T_TMP/busy.json"
rm -f "$T_TMP/busy.count.block"
is "$RC" 75 "busy: a second runner exits 75"
is "$ERR" "rapid: t participant=01 run=A: already running in another build" "busy: message"
wait $p1
is "$?" 0 "busy: the first runner succeeds"
is "$(wc -l <"$T_TMP/busy.count")" "1" "busy: the recipe ran once"
# Two started at the same moment: one runs, the other is busy.
# The recipe waits until one of the two has exited (the busy one).
R=$T_TMP/busy2/
mkspec "$T_TMP/busy2.json" "$R" $K1 \
'[["sh"], ["-c"], ["echo run >>\"$0\"; while [ -e \"$0.block\" ]; do sleep 0.05; done; cp \"$1\" \"$2\""], ["'"$T_TMP"'/busy2.count"], [{"input": "src"}], [{"output": "file"}]]' \
"$(file_out "$R")"
touch "$T_TMP/busy2.count.block"
$RAPID runner --spec "$T_TMP/busy2.json" 2>/dev/null & pa=$!
$RAPID runner --spec "$T_TMP/busy2.json" 2>/dev/null & pb=$!
i=0; while alive $pa && alive $pb && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
rm -f "$T_TMP/busy2.count.block"
wait $pa; ra=$?
wait $pb; rb=$?
is "$(printf '%s\n' $ra $rb | sort -n | tr '\n' ' ')" "0 75 " "simultaneous runners: one builds, one is busy"
is "$(wc -l <"$T_TMP/busy2.count")" "1" "simultaneous runners: the recipe ran once"

# ---- SIGKILL of the whole process group mid-recipe ----
R=$T_TMP/kill/
mkspec "$T_TMP/kill.json" "$R" $K1 \
'[["sh"], ["-c"], ["echo run >>\"$0\"; if [ -e \"$0.block\" ]; then echo $$ >\"$0.pid\"; exec sleep 30; fi; cp \"$1\" \"$2\""],
  ["'"$T_TMP"'/kill.count"], [{"input": "src"}], [{"output": "file"}]]' "$(file_out "$R")"
touch "$T_TMP/kill.count.block"
setsid $RAPID runner --spec "$T_TMP/kill.json" 2>/dev/null &
pk=$!
wait_for "$T_TMP/kill.count.pid"
kill -KILL -$pk
wait $pk 2>/dev/null
RUNNING=$R.rapid/sentinels/t/01/A/$K1.running.json
ok "$([ -f "$RUNNING" ]; echo $?)" "SIGKILL: a stale running sentinel is left"
ok "$(flock -n -x "$RUNNING" true; echo $?)" "SIGKILL: nobody holds its lock (not live)"
ok "$([ ! -e "$R.rapid/sentinels/t/01/A/$K1.ok.json" ] && [ ! -e "$R.rapid/sentinels/t/01/A/$K1.failed.json" ]; echo $?)" "SIGKILL: nothing recorded as built or failed"
ok "$([ ! -e "${R}res/copy.txt" ]; echo $?)" "SIGKILL: no output"
i=0; while kill -0 "$(cat "$T_TMP/kill.count.pid")" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ok "$(! kill -0 "$(cat "$T_TMP/kill.count.pid")" 2>/dev/null; echo $?)" "SIGKILL: the recipe died with its runner"
rm -f "$T_TMP/kill.count.block"
run $RAPID runner --spec "$T_TMP/kill.json"
is "$RC" 0 "SIGKILL: the next runner takes over and builds"
is "$(ls "$R.rapid/sentinels/t/01/A")" "$K1.ok.json" "SIGKILL: ok sentinel, stale running one gone"
is "$(wc -l <"$T_TMP/kill.count")" "2" "SIGKILL: the recipe ran again"
is "$(ls -A "$R.rapid/scratch")" "" "SIGKILL: the dead runner's scratch is cleaned up"

# ---- SIGTERM to the runner ----
R=$T_TMP/term/
mkspec "$T_TMP/term.json" "$R" $K1 \
'[["sh"], ["-c"], ["trap \"echo TERM >>$0.log; trap - TERM; kill -TERM $$\" TERM; echo $$ >\"$0\"; sleep 30 & wait; echo slept >>\"$0.log\"; cp \"$1\" \"$2\""], ["'"$T_TMP"'/term.pid"], [{"input": "src"}], [{"output": "file"}]]' \
"$(file_out "$R")"
$RAPID runner --spec "$T_TMP/term.json" 2>"$T_TMP/term.err" &
pt=$!
wait_for "$T_TMP/term.pid"
kill -TERM $pt
wait $pt
rt=$?
# Interrupted is not failed (issue 9): no failed sentinel; the running one
# stays, unheld, and says why.
is "$rt" 143 "SIGTERM: runner exits 128 + 15"
is "$(cat "$T_TMP/term.pid.log")" TERM "SIGTERM: passed on to the recipe while it slept, not after"
is "$(cat "$T_TMP/term.err")" "rapid: t participant=01 run=A: interrupted by signal 15" "SIGTERM: message"
is "$(jf "$R.rapid/sentinels/t/01/A/$K1.running.json" 'd["reason"], d["signal"]')" "('interrupted by signal 15', 15)" "SIGTERM: the running sentinel records the interruption"
is "$(ls "$R.rapid/sentinels/t/01/A")" "$K1.running.json" "SIGTERM: no failed sentinel, the running one left for the next runner"
ok "$(flock -n "$R.rapid/sentinels/t/01/A/$K1.running.json" true; echo $?)" "SIGTERM: nobody holds the running sentinel"
ok "$([ ! -e "${R}res/copy.txt" ]; echo $?)" "SIGTERM: output not moved"

# ---- a directory output replaces the old one as a whole ----
R=$T_TMP/dir/
mkdir -p "${R}res/d/old"; echo stale >"${R}res/d/stale.txt"; echo stale >"${R}res/d/old/x"
mkspec "$T_TMP/dir.json" "$R" $K1 '[["sh"], ["-c"], ["echo new >\"$1\"new.txt"], ["x"], [{"output": "dir"}]]' \
"[{\"name\": \"dir\", \"uri\": \"res/d/\", \"path\": \"${R}res/d/\", \"dir\": true}]"
run $RAPID runner --spec "$T_TMP/dir.json"
is "$RC" 0 "directory output: exit 0"
is "$(cd "${R}res/d" && find . | sort | tr '\n' ' ')" ". ./new.txt " "directory output: old files gone, new ones in"
is "$(ls -A "$R.rapid/trash" 2>/dev/null)" "" "directory output: trash emptied"
# {dir}name glues the folder path and a file name.
R=$T_TMP/dir2/
mkspec "$T_TMP/dir2.json" "$R" $K1 '[["cp"], [{"input": "src"}], [{"output": "dir"}, "sub-01_A.txt"]]' \
"[{\"name\": \"dir\", \"uri\": \"res/d/\", \"path\": \"${R}res/d\", \"dir\": true}]"
run $RAPID runner --spec "$T_TMP/dir2.json"
is "$RC:$(cat "${R}res/d/sub-01_A.txt" 2>&1)" "0:hello" "directory output: {dir}name is a file in it"

# ---- env entries on top of the inherited environment ----
R=$T_TMP/env/
ENVJ='[["RAPID_T_VAR", "hello world"], ["RAPID_T_OVER", "new"]]' mkspec "$T_TMP/env.json" "$R" $K1 \
'[["sh"], ["-c"], ["printf \"%s|%s|%s\" \"$RAPID_T_VAR\" \"$RAPID_T_OVER\" \"$RAPID_T_INHERITED\" >\"$1\""], ["x"], [{"output": "file"}]]' \
"$(file_out "$R")"
RAPID_T_INHERITED=kept RAPID_T_OVER=old run $RAPID runner --spec "$T_TMP/env.json"
is "$RC:$(cat "${R}res/copy.txt" 2>&1)" "0:hello world|new|kept" "env entries set, override, inherited kept"

# ---- inputs: an absent optional one is ''; a present one that is missing fails ----
R=$T_TMP/opt/
INPUTS='[{"name": "src", "uri": "in.txt", "path": "'"$T_TMP"'/in.txt", "optional": false, "present": true, "fingerprint": "x"},
 {"name": "mask", "uri": "mask.txt", "path": null, "optional": true, "present": false, "fingerprint": null}]' \
mkspec "$T_TMP/opt.json" "$R" $K1 '[["sh"], ["-c"], ["printf \"[%s]\" \"$1\" >\"$2\""], ["x"], [{"input": "mask"}], [{"output": "file"}]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/opt.json"
is "$RC:$(cat "${R}res/copy.txt" 2>&1)" "0:[]" "absent optional input is the empty string"
R=$T_TMP/gone/
INPUTS='[{"name": "src", "uri": "in.txt", "path": "'"$T_TMP"'/no-such.txt", "optional": false, "present": true, "fingerprint": "x"}]' \
mkspec "$T_TMP/gone.json" "$R" $K1 '[["cp"], [{"input": "src"}], [{"output": "file"}]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/gone.json"
is "$RC" 1 "a missing input: exit 1"
like "$ERR" "failed: input 'src' is missing: cannot stat '$T_TMP/no-such.txt': No such file or directory" "a missing input: message"

# ---- a big log is written whole, as it comes; the message shows its tail ----
R=$T_TMP/big/
mkspec "$T_TMP/big.json" "$R" $K1 '[["sh"], ["-c"], ["seq 1 100000; exit 1"]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/big.json"
LOG=$R.rapid/logs/t/01/A/$K1.log
is "$(wc -l <"$LOG" | tr -d ' ')" 100000 "big log: every line kept"
is "$(tail -1 "$LOG")" "100000" "big log: ends with the last line"
is "$(head -1 "$LOG")" "1" "big log: starts with the first"
is "$(printf '%s\n' "$ERR" | tail -1)" "  | 100000" "big log: tail printed"

# ---- bad specs and usage ----
R=$T_TMP/bad/
run sh -c "printf '{\"schema\": 1,\n \"target\": }' | $RAPID runner --spec -"
is "$RC:$ERR" "2:rapid: cannot read spec '-': not valid JSON at line 2, column 12" "bad spec: invalid JSON"
mkspec "$T_TMP/bad.json" "$R" $K1 '[["true"]]' \
"[{\"name\": \"file\", \"uri\": \"res/x\", \"path\": \"${R}res/x\", \"dir\": \"no\"}]"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': 'outputs[0].dir' must be true or false, not a string" "bad spec: wrong type"
mkspec "$T_TMP/bad.json" "$R" $K1 '[["cp"], [{"input": "nope"}]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': 'argv[1][0]': no input named 'nope'" "bad spec: unknown input"
mkspec "$T_TMP/bad.json" "$R" 0123 '[["true"]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': 'key' must be 32 lowercase hex digits, not '0123'" "bad spec: bad key"
sed 's/"schema": 1/"schema": 2/' "$T_TMP/ok.json" >"$T_TMP/bad.json"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': unsupported 'schema' (this rapid reads schema 1)" "bad spec: schema"
sed 's/"target": "t", //' "$T_TMP/ok.json" >"$T_TMP/bad.json"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': missing field 'target'" "bad spec: missing field"
TIMEOUT='"1h"' mkspec "$T_TMP/bad.json" "$R" $K1 '[["true"]]' "$(file_out "$R")"
run $RAPID runner --spec "$T_TMP/bad.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/bad.json': 'timeout_s' must be a whole number of seconds (1 or more) or null" "bad spec: timeout type"
ok "$([ ! -e "$R.rapid" ]; echo $?)" "bad spec: nothing written"
run $RAPID runner --spec "$T_TMP/no-such-spec.json"
is "$RC:$ERR" "2:rapid: cannot read spec '$T_TMP/no-such-spec.json': No such file or directory" "missing spec file"
run $RAPID runner
is "$RC" 2 "no --spec: exit 2"
like "$ERR" "^rapid: runner: give one of --spec FILE, --manifest URI or --exec CMD" "no --spec: message"
run $RAPID runner --bogus
is "$RC" 2 "unknown option: exit 2"

done_testing
