#!/bin/sh
# A running recipe's log reaches an S3 root while it runs (every
# RAPID_LOG_INTERVAL_S seconds, 30 by default), and SIGTERM to the runner
# leaves the instance interrupted there: the recipe is stopped, the log
# uploaded, the running sentinel says so, the claim is released, and the
# next runner builds the instance and removes that sentinel.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
emu_start rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
K=44444444444444444444444444444444
R=s3://rapid-out/r/
LOG=${R}.rapid/logs/t/1/$K.log
# The recipe prints a line, then waits (at most 5 minutes) for the file
# named by its first argument.
/usr/bin/python3 - > s.json <<PY
import json
r = "$R"
print(json.dumps({"schema": 1, "target": "t", "wildcards": [["p", "1"]], "key": "$K", "root": r,
  "sentinel_dir": r + ".rapid/sentinels/t/1/", "log_dir": r + ".rapid/logs/t/1/",
  "argv": [["sh"], ["-c"], ['echo started; i=0; while [ ! -e "\$1" ] && [ \$i -lt 6000 ]; do sleep 0.05; i=\$((i+1)); done; echo done > "\$2"'],
           ["x"], ["$W/go"], [{"output": "out"}]],
  "outputs": [{"name": "out", "uri": r + "1.txt", "path": r + "1.txt", "dir": False}],
  "scratch": "$W/scratch/"}))
PY
# wait_log TEXT: until the uploaded log holds TEXT (at most 600 looks).
wait_log() {
	i=0
	while ! emu_aws s3 cp --quiet "$LOG" - 2>/dev/null | grep -q "$1" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	emu_aws s3 cp --quiet "$LOG" - 2>/dev/null
}

RAPID_LOG_INTERVAL_S=0.2 "$RAPID" runner --spec s.json > r.out 2> r.err &
P=$!
like "$(wait_log started)" "^started$" "the log is uploaded while the recipe runs"
kill -TERM $P
wait $P
is "$?" 143 "SIGTERM: the runner exits 128 + 15"
like "$(cat r.err)" "^rapid: t p=1: interrupted by signal 15$" "and says the instance was interrupted"
emu_aws s3 ls --recursive s3://rapid-out/r/.rapid/sentinels/ > s.txt
is "$(grep -c "$K\\.running\\.local\\.[0-9]*\\.[0-9]*\\.[A-Za-z0-9.-]*\\.json" s.txt)" 1 "its running sentinel stays, naming its holder"
is "$(grep -c 'claim\|ok\.json\|failed\.json' s.txt)" 0 "the claim is released, nothing else written"
run="$(sed 's/.* //' s.txt)"
body=$(emu_aws s3 cp --quiet "s3://rapid-out/$run" -)
like "$body" '"reason":"interrupted by signal 15"' "the running sentinel says it was interrupted"
like "$body" '"state":"running"' "(a running sentinel)"
emu_aws s3 ls "$R" > o.txt
is "$(grep -c ' 1.txt$' o.txt)" 0 "no output was uploaded"

# The next runner builds it.
touch go
run "$RAPID" runner --spec s.json
is "$RC" 0 "the next runner builds the instance"
emu_aws s3 ls --recursive s3://rapid-out/r/.rapid/sentinels/ > s.txt
is "$(sed 's/.* //' s.txt)" "r/.rapid/sentinels/t/1/$K.ok.json" "only the ok sentinel is left"
is "$(emu_aws s3 cp --quiet "${R}1.txt" -)" "done" "the output is there"
like "$(emu_aws s3 cp --quiet "$LOG" -)" "^started$" "and the new log"
done_testing
