#!/bin/sh
# Provenance from what Batch gives a container: AWS_BATCH_JOB_ID, the
# array index, AWS_BATCH_JOB_ATTEMPT, the image digest from the ECS task
# metadata endpoint v4 and the instance type from IMDSv2 (both served by
# the emulator's metadata module) land in the running and the ok
# sentinels. An absent, refusing or silent endpoint leaves its field null
# and fails nothing; what was asked is read from the emulator's log of
# metadata requests, never from the clock.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
PY=/usr/bin/python3
emu_start rapid-chunks
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
OUTR=$W/out/
# jf FILE EXPR: a Python expression over the JSON in FILE (as d).
jf() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }
meta() { _emu_call POST metadata "$1" >/dev/null; }
meta_state() { _emu_call GET metadata; }
# meta_count [SERVICE [STATUS]]: metadata requests received (of that service, answered with STATUS).
meta_count() {
	meta_state | "$PY" -c 'import json, sys
r = json.load(sys.stdin)["requests"]
a = sys.argv[1:]
print(sum(1 for x in r if (not a or x["service"] == a[0]) and (len(a) < 2 or str(x["status"]) == a[1])))' "$@"
}

# Eight participants, one instance each: its recipe copies its running
# sentinel (the claim) into its output, so the claim's body is seen too.
"$PY" - "$OUTR" > list <<'PY'
import json, sys
root = sys.argv[1]
for i in range(8):
    p = "p%d" % i
    key = "%032x" % (i + 1)
    sd = "%s.rapid/sentinels/t/%s/" % (root, p)
    print("%s\t%s" % (p, json.dumps({
        "schema": 1, "target": "t", "wildcards": [["participant", p]], "key": key, "root": root,
        "sentinel_dir": sd, "log_dir": "%s.rapid/logs/t/%s/" % (root, p),
        "argv": [["sh"], ["-c"], ['cat "$1" > "$0"'], [{"output": "o"}], ["%s%s.running.json" % (sd, key)]],
        "outputs": [{"name": "o", "uri": "%s.json" % p, "path": "%s%s.json" % (root, p), "dir": False}]})))
PY
"$TOOLDIR/mkmanifest" manifest.jsonl manifest.idx < list
M=s3://rapid-chunks/sub/t/0
"$S3TOOL" put manifest.jsonl $M/manifest.jsonl >/dev/null && "$S3TOOL" put manifest.idx $M/manifest.idx >/dev/null
okfile() { echo "$OUTR.rapid/sentinels/t/p$1/$(printf '%032x' $(($1 + 1))).ok.json"; }
fields='d["batch_job_id"], d["array_index"], d["attempt"], d["image"]["digest"], d["instance_type"]'

DIGEST=sha256:$(printf 'ab%.0s' $(seq 32))
ECS=$EMU_URL/__emu/ecs-metadata
IMDS=$EMU_URL/__emu/imds
# child INDEX ENV...: array child INDEX of job j-1 at attempt 2, with ENV.
child() {
	_ix=$1; shift
	run env -u ECS_CONTAINER_METADATA_URI_V4 -u AWS_EC2_METADATA_SERVICE_ENDPOINT -u AWS_EC2_METADATA_DISABLED \
		AWS_BATCH_JOB_ID="j-1:$_ix" AWS_BATCH_JOB_ARRAY_INDEX="$_ix" AWS_BATCH_JOB_ATTEMPT=2 "$@" \
		"$RAPID" runner --manifest $M/manifest.jsonl
}

# ---- the emulator's endpoints answer as AWS's do ----
tok=$(curl -sS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$IMDS/latest/api/token")
like "$tok" "^emu-imds-" "emulator: IMDSv2 gives a token to a PUT with a TTL"
is "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$IMDS/latest/api/token")" 400 "emulator: ... and 400 without the TTL header"
is "$(curl -s -o /dev/null -w '%{http_code}' "$IMDS/latest/meta-data/instance-type")" 401 "emulator: 401 without a token"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-aws-ec2-metadata-token: forged' "$IMDS/latest/meta-data/instance-type")" 401 \
	"emulator: 401 with a token it did not give"
is "$(curl -sS -H "X-aws-ec2-metadata-token: $tok" "$IMDS/latest/meta-data/instance-type")" m7g.xlarge \
	"emulator: the instance type with its token"
like "$(curl -sS "$ECS")" '"ImageID": "sha256:[0-9a-f]{64}"' "emulator: the ECS container metadata has an ImageID"
like "$(curl -sS "$ECS/task")" '"Containers": \[' "emulator: ... and the task's lists its containers"

# ---- inside Batch, both endpoints there ----
emu_reset
meta "{\"image_id\": \"$DIGEST\", \"instance_type\": \"c7g.2xlarge\"}"
child 1 ECS_CONTAINER_METADATA_URI_V4="$ECS" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS"
is "$RC" 0 "in Batch with the metadata endpoints: exit 0"
is "$(jf "$(okfile 1)" "$fields")" "('j-1:1', 1, 2, '$DIGEST', 'c7g.2xlarge')" \
	"the ok sentinel: job id, array index, attempt, image digest, instance type"
is "$(jf "${OUTR}p1.json" "$fields")" "('j-1:1', 1, 2, '$DIGEST', 'c7g.2xlarge')" "the running sentinel (the claim) too"
is "$(meta_count ecs 200) $(meta_count token 200) $(meta_count imds 200) $(meta_count)" "1 1 1 3" \
	"one GET of the container metadata, one token PUT, one instance-type GET: nothing else"
is "$(meta_state | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print([(x["method"], x["ttl"], x["token"]) for x in r if x["service"] != "ecs"])')" \
	"[('PUT', '21600', False), ('GET', None, True)]" "the token PUT asks for a TTL; the GET carries the token"
is "$(grep -rl 'emu-imds-' "$OUTR" | wc -l | tr -d ' ')" 0 \
	"the IMDS token is in no file of the output root"
unlike "$ERR" "emu-imds-|note:" "nor on stderr, which has no note"

# ---- IMDS disabled, no ECS endpoint: nulls, no request ----
emu_reset
child 2 AWS_EC2_METADATA_DISABLED=true
is "$RC" 0 "without the endpoints: exit 0"
is "$(jf "$(okfile 2)" "$fields")" "('j-1:2', 2, 2, None, None)" "... the job's fields kept, the digest and instance type null"
is "$(meta_count)" 0 "... and no metadata request"
unlike "$ERR" "note:" "... and nothing to say about it"

# ---- endpoints that refuse (404) ----
emu_reset
meta '{"absent": ["ecs", "token"]}'
child 3 ECS_CONTAINER_METADATA_URI_V4="$ECS" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS"
is "$RC" 0 "endpoints that answer 404: exit 0"
is "$(jf "$(okfile 3)" "$fields")" "('j-1:3', 3, 2, None, None)" "... nulls"
is "$(meta_count ecs 404) $(meta_count token 404) $(meta_count)" "1 1 2" "... each asked once, never again"
like "$ERR" "rapid: note: the image digest is not known: GET '$ECS': HTTP 404" "... a note says why (digest)"
like "$ERR" "rapid: note: the instance type is not known: PUT '$IMDS/latest/api/token': HTTP 404" "... (instance type)"

# ---- endpoints that never answer: the child does not wait for them ----
emu_reset
meta '{"hold": ["ecs", "token"]}'
child 4 ECS_CONTAINER_METADATA_URI_V4="$ECS" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS"
held=$(meta_state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["held"])')
is "$RC" 0 "endpoints that never answer: exit 0"
is "$held" 2 "... the child was done while both its requests were still unanswered (it gave up, it did not wait)"
is "$(jf "$(okfile 4)" "$fields")" "('j-1:4', 4, 2, None, None)" "... nulls"
is "$(meta_count imds)" 0 "... no instance-type GET without a token"
like "$ERR" "note: the image digest is not known: GET '$ECS': .*timed out" "... the note says it timed out"
meta '{"release": true}'

# ---- nothing listens there ----
emu_reset
child 5 ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:1/v4/x AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1
is "$RC" 0 "endpoints where nothing listens: exit 0"
is "$(jf "$(okfile 5)" "$fields")" "('j-1:5', 5, 2, None, None)" "... nulls"

# ---- answers that are not what they should be ----
emu_reset
meta '{"image_id": "latest", "instance_type": "m7g.xlarge\u001b[31m"}'
child 6 ECS_CONTAINER_METADATA_URI_V4="$ECS" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS"
is "$RC" 0 "an ImageID that is no digest, an instance type with an escape: exit 0"
is "$(jf "$(okfile 6)" "$fields")" "('j-1:6', 6, 2, None, None)" "... both dropped"
like "$ERR" "ImageID is not sha256:<64 hex digits>" "... said"

# ---- outside Batch: nothing is asked ----
emu_reset
run env -u AWS_BATCH_JOB_ID -u AWS_BATCH_JOB_ATTEMPT -u AWS_BATCH_JOB_ARRAY_INDEX ECS_CONTAINER_METADATA_URI_V4="$ECS" \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS" "$RAPID" runner --manifest $M/manifest.jsonl --index 7
is "$RC" 0 "outside Batch (no AWS_BATCH_JOB_ID): exit 0"
is "$(jf "$(okfile 7)" "$fields")" "(None, 7, None, None, None)" "... the index it was given, nothing else"
is "$(meta_count)" 0 "... and no metadata request"
run env -u AWS_BATCH_JOB_ID -u AWS_BATCH_JOB_ARRAY_INDEX "$RAPID" runner --manifest $M/manifest.jsonl
is "$(jf "$(okfile 0)" "$fields")" "(None, None, None, None, None)" "no index given (a plain job): array_index null"

done_testing
