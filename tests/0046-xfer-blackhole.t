#!/bin/sh
# An endpoint that never answers gives up within the configured limits:
# the emulator's blackhole (the request read, nothing sent back) ends each
# attempt after --cli-read-timeout; a listener whose queue is full (the
# connection never completes) after --cli-connect-timeout; an upload and a
# multipart part are retried the same way; --cli-read-timeout 0 waits as
# long as it takes. For s3tool (aws/s3) and for rapid itself, its global
# options before or after the command word. Asserted on the attempts the
# emulator recorded and on the messages, never on the time taken.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
B=rapid-xfer
emu_start "$B" hcp-in rapid-out
cd "$T_TMP" || exit 1
export AWS_MAX_ATTEMPTS=3
LIMITS="--cli-read-timeout 1 --cli-connect-timeout 1"

head -c 3000 /dev/urandom > small
run "$S3TOOL" put small "s3://$B/small"
is "$RC" 0 "put the object"
faults() { emu_reset; emu_faults "$1"; }

# ---- GET ----
faults '{"next": ["blackhole"], "ops": ["GetObject"]}'
run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$ERR" "0:" "a GET blackholed once is retried and succeeds"
cmp -s small got; ok $? "... with the whole object"
is "$(emu_count GetObject) $(emu_count faults)" "2 1" "... in 2 attempts"

faults '{"rate": 1, "kinds": ["blackhole"], "ops": ["GetObject"]}'
rm -f got
run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$ERR" "1:s3tool: cannot get 's3://$B/small': no data for 1 s (after 3 attempts)" \
	"a blackholed GET: the read timeout, named"
is "$(emu_count GetObject)" 3 "... 3 attempts, as AWS_MAX_ATTEMPTS says"
AWS_MAX_ATTEMPTS=2 run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$(emu_count GetObject)" "1:5" "AWS_MAX_ATTEMPTS=2: 2 more"

# ---- the read timeout: 0 is no limit ----
# A delay of 2 s before the answer outlasts a read timeout of 1 s, not 0.
faults '{"next": ["delay"], "ops": ["GetObject"], "delay_ms": 2000}'
run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$(emu_count GetObject)" "0:2" "a 2 s wait for the answer: given up after 1 s, then retried"
faults '{"next": ["delay"], "ops": ["GetObject"], "delay_ms": 2000}'
run "$S3TOOL" --cli-read-timeout 0 get "s3://$B/small" got
is "$RC:$(emu_count GetObject)" "0:1" "--cli-read-timeout 0: waited for, at the first attempt"

# ---- uploads ----
faults '{"next": ["blackhole"], "ops": ["PutObject"]}'
run "$S3TOOL" $LIMITS put small "s3://$B/put"
is "$RC:$(emu_count PutObject)" "0:2" "a PUT blackholed once is retried and succeeds"
faults '{"rate": 1, "kinds": ["blackhole"], "ops": ["PutObject"]}'
run "$S3TOOL" $LIMITS put small "s3://$B/put2"
is "$RC:$ERR" "1:s3tool: cannot put 's3://$B/put2': no data for 1 s (after 3 attempts)" "a blackholed PUT fails, named"
is "$(emu_count PutObject)" 3 "... 3 attempts"
head -c $((20 << 20)) /dev/urandom > big
faults '{"next": ["blackhole"], "ops": ["UploadPart"]}'
run "$S3TOOL" $LIMITS put big "s3://$B/big"
is "$RC:$(emu_count UploadPart)" "0:4" "a multipart upload with a part blackholed: that part again (3 parts, 4 requests)"
run "$S3TOOL" get "s3://$B/big" big.back
cmp -s big big.back; ok $? "... and the object reads back whole"

# ---- connecting: a listener whose queue is full never completes one ----
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
held = []
for _ in range(2):          # fill the accept queue (never accepted)
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.2)
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(600)' "$T_TMP/full-port" &
FULL_PID=$!
i=0; while [ ! -s "$T_TMP/full-port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
FULL=$(cat "$T_TMP/full-port")
AWS_ENDPOINT_URL=http://127.0.0.1:$FULL run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$ERR" "1:s3tool: cannot get 's3://$B/small': cannot connect to 127.0.0.1:$FULL within 1 s (after 3 attempts)" \
	"a connection that never completes: the connect timeout, named"
kill "$FULL_PID"; wait "$FULL_PID" 2>/dev/null

# ---- rapid: the global options ----
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
emu_seed '{"bucket": "hcp-in", "keys": ["HCP/100001/bold.nii.gz"], "body": "b"}' >/dev/null
cat > Rapidfile <<'RF'
target rapidtide
    foreach participant in 100001
    input   bold = s3://hcp-in/HCP/{participant}/bold.nii.gz
    output  dir  = s3://rapid-out/rt/sub-{participant}/
    image   example/rapidtide:1.0
    run rapidtide {bold} {dir}
RF
SENT="s3://rapid-out/rt/.rapid/sentinels/rapidtide/"
faults '{"rate": 1, "kinds": ["blackhole"], "ops": ["ListObjectsV2"]}'
run "$RAPID" --cli-read-timeout 1 plan
is "$RC:$ERR" "1:rapid: cannot list '$SENT': no data for 1 s (after 3 attempts)" \
	"rapid --cli-read-timeout 1 plan: a blackholed listing fails, named"
is "$(emu_count ListObjectsV2)" 3 "... after 3 attempts"
faults '{"rate": 1, "kinds": ["blackhole"], "ops": ["ListObjectsV2"]}'
run "$RAPID" plan --cli-read-timeout=1 --cli-connect-timeout 5
is "$RC:$ERR" "1:rapid: cannot list '$SENT': no data for 1 s (after 3 attempts)" \
	"... the options after the command word too"
faults '{"next": ["delay"], "ops": ["ListObjectsV2"], "delay_ms": 2000}'
run "$RAPID" --cli-read-timeout 0 plan
is "$RC:$(emu_count ListObjectsV2)" "0:2" "rapid --cli-read-timeout 0: a slow answer is waited for (then the submissions are listed)"
run "$RAPID" --cli-read-timeout soon plan
is "$RC:$ERR" "2:rapid: cannot use --cli-read-timeout 'soon': not a whole number of seconds from 0 to 86400" \
	"a malformed --cli-read-timeout: a usage error"
run "$RAPID" plan --cli-connect-timeout -1
is "$RC:$ERR" "2:rapid: cannot use --cli-connect-timeout '-1': not a whole number of seconds from 0 to 86400" \
	"a negative --cli-connect-timeout: a usage error"
RAPID_MIN_RATE=fast run "$RAPID" plan
is "$RC:$ERR" "1:rapid: cannot use RAPID_MIN_RATE 'fast': not a rate (bytes a second, or like 64KiB/s, 1MB/s)" \
	"a malformed RAPID_MIN_RATE: said once"
done_testing
