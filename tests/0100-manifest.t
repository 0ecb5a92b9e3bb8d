#!/bin/sh
# rapid runner --manifest: an array child of a 300-participant chunk reads
# its record of manifest.idx and its line of manifest.jsonl (two ranged
# GETs, whatever the cohort's size), runs its instances in order and
# writes their sentinels. Past the end, a truncated index, a manifest that
# does not match its index: clear errors. The encoder and the parser are
# unit-tested by manifest_test (run here too).
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
: "${UNITDIR:?UNITDIR must name the unit test folder}"
S3TOOL=$TOOLDIR/s3tool
PY=/usr/bin/python3

out=$("$UNITDIR/manifest_test" 2>&1); rc=$?
ok "$([ $rc = 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; echo $?)" \
	"manifest_test: round trip, record arithmetic, corrupt records and lines, ids ($(printf '%s\n' "$out" | grep -c '^ok') checks)"

emu_start rapid-chunks
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
N=300
OUTR=$W/out/
# Each participant has two instances (runs A and B) writing
# out/<p>/<run>.txt; participant 000007's run B fails (exit 3).
"$PY" - "$N" "$OUTR" > list <<'PY'
import json, sys
n, root = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    p = "%06d" % i
    specs = []
    for k, run in enumerate(("A", "B")):
        key = "%08x%024x" % (i, k)
        code = "exit 3" if (p, run) == ("000007", "B") else 'echo "%s %s" > "$0"' % (p, run)
        specs.append(json.dumps({
            "schema": 1, "target": "t", "wildcards": [["participant", p], ["run", run]], "key": key,
            "root": root, "sentinel_dir": "%s.rapid/sentinels/t/%s/%s/" % (root, p, run),
            "log_dir": "%s.rapid/logs/t/%s/%s/" % (root, p, run),
            "argv": [["sh"], ["-c"], [code], [{"output": "o"}]],
            "outputs": [{"name": "o", "uri": "%s/%s.txt" % (p, run), "path": "%s%s/%s.txt" % (root, p, run),
                         "dir": False}]}))
    print("\t".join([p] + specs))
PY
"$TOOLDIR/mkmanifest" manifest.jsonl manifest.idx < list
is "$?" 0 "mkmanifest writes a manifest of $N participants"
is "$(wc -c < manifest.idx | tr -d ' ')" $((64 * (N + 1))) "manifest.idx: a header and $N records of 64 bytes"
M=s3://rapid-chunks/sub/20261202T031500Z-7f3a/t/0
"$S3TOOL" put manifest.jsonl $M/manifest.jsonl >/dev/null && "$S3TOOL" put manifest.idx $M/manifest.idx >/dev/null
is "$?" 0 "the chunk's manifest is in S3"

# child INDEX ARGS...: run one child as Batch would (the index in the
# environment unless INDEX is -), counting its requests.
child() {
	_ix=$1; shift
	emu_reset
	if [ "$_ix" = - ]; then run env -u AWS_BATCH_JOB_ARRAY_INDEX "$RAPID" runner --manifest $M/manifest.jsonl "$@"
	else run env AWS_BATCH_JOB_ARRAY_INDEX="$_ix" "$RAPID" runner --manifest $M/manifest.jsonl "$@"; fi
	GETS=$(emu_count GetObject)
	OTHERS=$(( $(emu_count HeadObject) + $(emu_count ListObjectsV2) + $(emu_count PutObject) ))
	RANGED=$(emu_requests_count 'bytes=')
}
sent() { ls "$OUTR.rapid/sentinels/t/$1/$2/" 2>/dev/null | sed 's/^[0-9a-f]*\.//' | tr '\n' ' '; }

child 0
is "$RC" 0 "index 0 (AWS_BATCH_JOB_ARRAY_INDEX): exit 0"
is "$GETS $RANGED $OTHERS" "2 2 0" "index 0: exactly 2 GETs, both ranged, nothing else"
is "$(cat out/000000/A.txt out/000000/B.txt 2>&1)" "000000 A
000000 B" "index 0: both instances ran, in order"
is "$(sent 000000 A)$(sent 000000 B)" "ok.json ok.json " "index 0: an ok sentinel each"
like "$ERR" "participant 000000 \\(index 0 of $M/manifest.jsonl\\): 2 instances" "index 0: says what it runs"
like "$ERR" "participant 000000: instance 2 of 2 \\(t participant=000000 run=B\\): ok" "index 0: says what came of each"
is "$(ls out)" "000000" "index 0: no other participant's instance ran"
first_get=$(emu_requests 'manifest.idx' | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(len(r), r[0]["headers"].get("Range") or r[0]["headers"].get("range"))')
is "$first_get" "1 bytes=64-127" "index 0: its record is bytes 64-127 of manifest.idx"

child 1 --index 1
is "$RC $GETS $RANGED" "0 2 2" "index 1 (--index): exit 0, 2 ranged GETs"
is "$(cat out/000001/B.txt 2>&1)" "000001 B" "index 1 ran its instances"

child 5 --index $((N - 1))
is "$RC $GETS $RANGED" "0 2 2" "the last index ($((N - 1)), --index over the environment): exit 0, 2 ranged GETs"
is "$(cat out/000299/A.txt out/000299/B.txt 2>&1 | tr '\n' ' ')" "000299 A 000299 B " "the last index ran its instances"
[ -e out/000005 ]; ok "$([ $? != 0 ]; echo $?)" "--index wins over AWS_BATCH_JOB_ARRAY_INDEX"
record_range=$(emu_requests 'manifest.idx' | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[0]["headers"].get("Range") or r[0]["headers"].get("range"))')
is "$record_range" "bytes=19200-19263" "the last record is bytes 64*300 to 64*301-1"

child -
is "$RC $GETS" "0 2" "no index at all: index 0, built already: exit 0 after 2 GETs"
like "$ERR" "instance 1 of 2 \\(t participant=000000 run=A\\): ok" "... ok"

child 7
is "$RC" 1 "a failing instance: exit 1"
is "$(cat out/000007/A.txt 2>&1)" "000007 A" "... the other instance built"
is "$(sent 000007 A)$(sent 000007 B)" "ok.json failed.json " "... an ok and a failed sentinel"
like "$ERR" "instance 2 of 2 \\(t participant=000007 run=B\\): failed" "... said per instance"
like "$ERR" "participant 000007: 1 ok, 0 held by another runner, 1 failed" "... and in the summary"

# An instance another runner holds (its recipe waits) is not a failure.
"$PY" - "$OUTR" "$W" > held.json <<'PY'
import json, sys
root, w = sys.argv[1], sys.argv[2]
print(json.dumps({"schema": 1, "target": "t", "wildcards": [["participant", "000009"], ["run", "A"]],
    "key": "%08x%024x" % (9, 0), "root": root,
    "sentinel_dir": "%s.rapid/sentinels/t/000009/A/" % root, "log_dir": "%s.rapid/logs/t/000009/A/" % root,
    "argv": [["sh"], ["-c"], ['touch %s/started; while [ ! -e %s/go ]; do sleep 0.05; done; echo held > "$0"' % (w, w)],
             [{"output": "o"}]],
    "outputs": [{"name": "o", "uri": "000009/A.txt", "path": "%s000009/A.txt" % root, "dir": False}]}))
PY
"$RAPID" runner --spec held.json 2>held.err &
HOLDER=$!
i=0; while [ ! -e started ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
child 9
is "$RC" 0 "an instance held by another runner: exit 0"
like "$ERR" "instance 1 of 2 \\(t participant=000009 run=A\\): held by another runner" "... said"
is "$(cat out/000009/B.txt 2>&1)" "000009 B" "... and the other instance built"
touch go; wait $HOLDER
is "$(cat out/000009/A.txt 2>&1)" "held" "the holder finished it"

# ---- errors ----
child $N
is "$RC" 1 "index $N: exit 1"
is "$ERR" "rapid: index $N is past the end of $M/manifest.idx ($N participants)" "index $N: past the end, said"
is "$GETS" 2 "index $N: the record, then the header (2 GETs)"

child 0 --manifest s3://rapid-chunks/sub/none/manifest.jsonl
is "$RC" 1 "a missing manifest: exit 1"
is "$ERR" "rapid: cannot get 's3://rapid-chunks/sub/none/manifest.idx': no such object" "... said"

run "$RAPID" runner --manifest s3://rapid-chunks/sub/manifest.json
is "$RC" 2 "a URI that is not a .jsonl: exit 2"
like "$ERR" "it must be s3://BUCKET/KEY.jsonl, with manifest.idx beside it" "... said"

run "$RAPID" runner --manifest $M/manifest.jsonl --index x1
is "$RC" 2 "a bad --index: exit 2"
like "$ERR" "rapid: runner: --index 'x1' is not an array index" "... said"
emu_reset
run env AWS_BATCH_JOB_ARRAY_INDEX=-3 "$RAPID" runner --manifest $M/manifest.jsonl
is "$RC" 2 "a bad AWS_BATCH_JOB_ARRAY_INDEX: exit 2"
like "$ERR" "AWS_BATCH_JOB_ARRAY_INDEX '-3' is not an array index" "... said"
is "$(emu_count GetObject)" 0 "... before any request"

# A truncated index: cut inside its last record, or at a record's end.
head -c $((64 * (N + 1) - 20)) manifest.idx > cut.idx
"$S3TOOL" put cut.idx $M/manifest.idx >/dev/null
child 3
is "$RC" 1 "an index cut in its last record: index 3 fails"
is "$ERR" "rapid: cannot read index 3 of '$M/manifest.idx': the index is truncated or corrupt ($((64 * (N + 1) - 20)) bytes, where $N participants take $((64 * (N + 1))))" \
	"... said, naming the object, the index and the sizes"
is "$GETS" 1 "... after one GET"
[ -e out/000003 ]; ok "$([ $? != 0 ]; echo $?)" "... and nothing ran"
child $((N - 1))
is "$RC" 1 "... and the last index fails"
like "$ERR" "cannot read index $((N - 1)) of '$M/manifest.idx': the (record is truncated \\(44 of 64 bytes\\)|index is truncated)" "... said"
head -c $((64 * (N - 9))) manifest.idx > cut.idx
"$S3TOOL" put cut.idx $M/manifest.idx >/dev/null
child $((N - 5))
is "$RC" 1 "an index without its last 10 records: index $((N - 5)) fails"
is "$ERR" "rapid: cannot read index $((N - 5)) of '$M/manifest.idx': the index is truncated or corrupt ($((64 * (N - 9))) bytes, where $N participants take $((64 * (N + 1))))" \
	"... as truncated, not past the end"
is "$GETS" 2 "... after 2 GETs (the record, the header)"

# A manifest.jsonl that does not match its index.
"$S3TOOL" put manifest.idx $M/manifest.idx >/dev/null
{ head -n 1 manifest.jsonl; sed -n 2p manifest.jsonl | sed 's/"participant":"000001"/"participant":"00 001"/'
  printf '{"participant": "x"}\n'; } > bad.jsonl
"$S3TOOL" put bad.jsonl $M/manifest.jsonl >/dev/null
child 1
is "$RC" 1 "a line overwritten in place (its id invalid): index 1 fails"
is "$ERR" "rapid: cannot read index 1 of '$M/manifest.jsonl': participant id '00 001' is not [A-Za-z0-9][A-Za-z0-9._-]* of at most 255 characters" \
	"... naming the object and the index"
child 2
is "$RC" 1 "a manifest shorter than its index: index 2 fails"
like "$ERR" "^rapid: cannot read index 2 of '$M/manifest.jsonl': the line is truncated \\(21 of [0-9]+ bytes\\)$" "... said"
child 100
is "$RC" 1 "... and index 100"
like "$ERR" "^rapid: cannot read index 100 of '$M/manifest.jsonl': its line \\(bytes [0-9]+-[0-9]+\\) is past the end of the object" "... said"
[ -e out/000100 ]; ok "$([ $? != 0 ]; echo $?)" "... and nothing ran"

done_testing
