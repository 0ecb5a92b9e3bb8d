#!/bin/sh
# The loopback AWS emulator (tests/emu/awsemu, through tests/emu.sh) itself,
# driven by Debian's aws and by curl --aws-sigv4: what it accepts and what
# it refuses, faults, counters, conditional writes, Secrets Manager,
# seeding, listing order, loopback only, and no process left behind.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
cd "$T_TMP" || exit 1

# scurl [--cred AKID:SECRET] [--sha SHA256] CURL-ARGS...: curl signing for
# S3 (curl sends no x-amz-content-sha256 of its own).
scurl() {
	_cred=$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY
	_sha=UNSIGNED-PAYLOAD
	while :; do
		case $1 in
		--cred) _cred=$2; shift 2 ;;
		--sha) _sha=$2; shift 2 ;;
		*) break ;;
		esac
	done
	curl -sS --aws-sigv4 aws:amz:us-east-1:s3 -u "$_cred" -H "x-amz-content-sha256: $_sha" "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Processes whose command line names this test's emulator data directory.
emulator_procs() { grep -l -e "$EMU_DIR/[d]ata" /proc/[0-9]*/cmdline 2>/dev/null | wc -l; }

emu_start bkt
like "$EMU_URL" '^http://127\.0\.0\.1:[0-9]+$' "emu_start exports EMU_URL"
is "$AWS_ENDPOINT_URL $AWS_REGION $AWS_ACCESS_KEY_ID" "$EMU_URL us-east-1 AKIDEMU0000000000001" "emu_start points AWS_* at it"

# 1. Loopback only, for the emulator and for s3rver.
listeners() { # PORT: local addresses listening on it
	awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { print $2 }' /proc/net/tcp /proc/net/tcp6
}
port=${EMU_URL##*:}
is "$(listeners "$port")" "$(printf '0100007F:%04X' "$port")" "the emulator listens on 127.0.0.1 only"
s3port=$(sed -n 's/.*s3rver on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$EMU_DIR/log")
is "$(listeners "${s3port:-0}")" "$(printf '0100007F:%04X' "${s3port:-0}")" "s3rver listens on 127.0.0.1 only"

# 2. Keys of every character class through aws: put, list, get, head, delete.
mkdir up
printf 'spaces\n' >"up/a key with spaces.txt"
printf 'punctuation\n' >"up/+=!*()@\$%&;,'~.txt"
printf 'utf-8\n' >"up/ünï cødé 日本.txt"
run emu_aws s3 cp --recursive --only-show-errors up s3://bkt/cc/
is "$RC" 0 "aws s3 cp --recursive uploads keys with spaces, + = ! * ( ) @ \$ % and UTF-8"
run emu_aws s3 cp --recursive --only-show-errors s3://bkt/cc/ down
is "$RC" 0 "aws s3 cp --recursive lists and downloads them"
run diff -r up down
is "$RC" 0 "they read back byte-identical"
dkey='dots/./a//b/../c ü+=!*()@$%~'
printf 'dot segments\n' >dots.txt
run emu_aws s3api put-object --bucket bkt --key "$dkey" --body dots.txt
is "$RC" 0 "aws s3api put-object of a key with /./ // .. is accepted"
run emu_aws s3api head-object --bucket bkt --key "$dkey" --query ContentLength --output text
is "$OUT" 13 "head-object of that key"
run emu_aws s3api get-object --bucket bkt --key "$dkey" dots.out
is "$RC$(cmp dots.txt dots.out 2>&1)" 0 "get-object of that key reads it back"
run emu_aws s3api list-objects-v2 --bucket bkt --query 'Contents[].Key' --output json
is "$(printf '%s' "$OUT" | tr -d ' \n')" '["cc/+=!*()@$%&;,'"'"'~.txt","cc/akeywithspaces.txt","cc/ünïcødé日本.txt","dots/a/cü+=!*()@$%~"]' \
	"list-objects-v2 returns every key (s3rver files /./ .. // keys under their normalized path)"
run emu_aws s3api delete-object --bucket bkt --key "$dkey"
is "$RC" 0 "delete-object of the key with dot segments"
run emu_aws s3 rm --recursive --only-show-errors s3://bkt/cc/
is "$RC" 0 "aws s3 rm --recursive deletes the others"
like "$(scurl "$EMU_URL/bkt?list-type=2")" '<KeyCount>0</KeyCount>' "the bucket is empty again"
is "$(emu_count mismatches) $(emu_count rejected)" "0 0" "no signature mismatch and nothing refused so far"

# 3. curl signs what it sends, encoded as SigV4 encodes.
printf 'by curl\n' >c.txt
ckey='curl/a%20b%2B%3D%21%2A%28%29%40%24%25~%C3%A9'
is "$(scurl --sha "$(sha c.txt)" -o /dev/null -w '%{http_code}' -T c.txt "$EMU_URL/bkt/$ckey")" 200 "curl: signed PUT"
is "$(scurl "$EMU_URL/bkt/$ckey")" "by curl" "curl: signed GET"
like "$(scurl -I "$EMU_URL/bkt/$ckey")" '^ETag: "[0-9a-f]{32}"' "curl: signed HEAD"
is "$(scurl --sha "$(sha c.txt)" --path-as-is -o /dev/null -w '%{http_code}' -T c.txt "$EMU_URL/bkt/curl/./x//y/../z")" 200 \
	"curl --path-as-is: signed PUT with /./ // .. as sent"
is "$(scurl -o /dev/null -w '%{http_code}' -X DELETE "$EMU_URL/bkt/$ckey")" 204 "curl: signed DELETE"
is "$(emu_count mismatches)" 0 "curl's signatures all match"
run scurl -w ' %{http_code}' -X PUT --data-binary x "$EMU_URL/bkt/curl/raw!"
like "$OUT" '<Code>SignatureDoesNotMatch</Code>.*encoded as SigV4 encodes it \(/bkt/curl/raw%21\).* 403$' \
	"a path signed as sent but not SigV4-encoded (raw !) is refused"

# 4. Refusals.
emu_reset
run scurl --cred "$AWS_ACCESS_KEY_ID:not-the-secret" -w ' %{http_code}' "$EMU_URL/bkt/any"
like "$(printf '%s' "$OUT" | tr '\n' ' ')" '<Code>SignatureDoesNotMatch</Code>.* 403$' "a wrong secret gets 403 SignatureDoesNotMatch"
like "$OUT" '<CanonicalRequest>GET' "with the canonical request the emulator expected"
is "$(emu_count mismatches)" 1 "mismatches counts it"
run curl -sS -w ' %{http_code}' "$EMU_URL/bkt/any"
like "$OUT" '<Code>AccessDenied</Code>.* 403$' "an unsigned request gets 403 AccessDenied"
run scurl --cred "AKIDNOBODY000000000:$AWS_SECRET_ACCESS_KEY" -w ' %{http_code}' "$EMU_URL/bkt/any"
like "$OUT" '<Code>InvalidAccessKeyId</Code>.* 403$' "an unknown access key gets 403 InvalidAccessKeyId"
run scurl --sha 0000000000000000000000000000000000000000000000000000000000000000 -w ' %{http_code}' \
	-T c.txt "$EMU_URL/bkt/body"
like "$OUT" '<Code>XAmzContentSHA256Mismatch</Code>.* 400$' "a wrong x-amz-content-sha256 gets 400 XAmzContentSHA256Mismatch"
emu_clock -1200
run scurl -w ' %{http_code}' "$EMU_URL/bkt?list-type=2"
like "$OUT" '<Code>RequestTimeTooSkewed</Code>.* 403$' "20 minutes of clock skew gets 403 RequestTimeTooSkewed"
emu_clock 0
like "$(scurl -w ' %{http_code}' "$EMU_URL/bkt?list-type=2")" ' 200$' "with the clock back, the same request passes"
is "$(emu_count mismatches) $(emu_count rejected) $(emu_count ListObjectsV2)" "1 5 2" "refused requests are counted"
is "$(grep -c -F -e "$EMU_SECRET_KEY" "$EMU_DIR/log")" 0 "the emulator's log never holds the secret"

# 5. Multipart: aws s3 cp of 20 MiB.
head -c 20971520 /dev/urandom >big.bin
emu_reset
run emu_aws s3 cp --only-show-errors big.bin s3://bkt/big.bin
is "$RC" 0 "aws s3 cp of 20 MiB succeeds"
is "$(emu_count CreateMultipartUpload) $(emu_count UploadPart) $(emu_count CompleteMultipartUpload) $(emu_count PutObject)" \
	"1 3 1 0" "it went multipart: 1 create, 3 parts, 1 complete"
scurl -o big.out "$EMU_URL/bkt/big.bin"
run cmp big.bin big.out
is "$RC" 0 "the object reads back byte-identical"
like "$(scurl -I "$EMU_URL/bkt/big.bin")" '^ETag: "[0-9a-f]{32}-3"' "its ETag is S3's multipart ETag, <md5>-3"

# 6. Exact counters per operation.
printf 'one\n' >one.txt
emu_reset
scurl --sha "$(sha one.txt)" -o /dev/null -T one.txt "$EMU_URL/bkt/n/1"
scurl --sha "$(sha one.txt)" -o /dev/null -T one.txt "$EMU_URL/bkt/n/2"
scurl -o /dev/null "$EMU_URL/bkt/n/1"
scurl -o /dev/null -I "$EMU_URL/bkt/n/2"
scurl -o /dev/null "$EMU_URL/bkt?list-type=2&prefix=n%2F"
scurl -o /dev/null "$EMU_URL/bkt?prefix=n%2F"
scurl -o /dev/null -X DELETE "$EMU_URL/bkt/n/2"
is "$(emu_counters)" '{"DeleteObject": 1, "GetObject": 1, "HeadObject": 1, "ListObjects": 1, "ListObjectsV2": 1, "PutObject": 2, "faults": 0, "mismatches": 0, "rejected": 0}' \
	"counters are exact, by AWS operation name"

# 7. Faults.
emu_reset
emu_faults '{"next":["slowdown"]}'
run emu_aws s3api put-object --bucket bkt --key f/slow --body one.txt
is "$RC" 0 "next slowdown: aws retries the 503 SlowDown and succeeds"
is "$(emu_count PutObject) $(emu_count faults)" "2 1" "two PutObject attempts, one fault"
emu_faults '{"next":["500"]}'
run scurl -w ' %{http_code}' -T one.txt "$EMU_URL/bkt/f/five"
like "$OUT" '<Code>InternalError</Code>.* 500$' "next 500: 500 InternalError"
is "$(scurl -o /dev/null -w '%{http_code}' "$EMU_URL/bkt/f/five")" 404 "the faulted PUT never reached s3rver"
emu_faults '{"next":["reset"]}'
run scurl "$EMU_URL/bkt/f/slow"
is "$RC" 56 "next reset: curl's transfer fails (exit 56)"
like "$ERR" 'Connection reset by peer' "with a connection reset"
emu_faults '{"next":["error200"]}'
run scurl -w ' %{http_code}' "$EMU_URL/bkt/f/slow"
like "$OUT" '^<Error><Code>InternalError</Code>.* 200$' "next error200: 200 whose body holds <Error>"
# A delayed request is held in the emulator: another one is served while
# it waits (the emulator's record of requests in flight says so).
emu_reset
emu_faults '{"next":["delay"],"delay_ms":3000,"ops":["GetObject"]}'
scurl -o delayed.out "$EMU_URL/bkt/f/slow" &
delayed=$!
i=0; while ! grep -q 'fault delay on GetObject' "$EMU_DIR/log" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
run scurl "$EMU_URL/bkt/f/slow"
wait $delayed
is "$(cat delayed.out) $OUT" "one one" "next delay: then served normally"
is "$(emu_in_flight GetObject)" 2 "held for delay_ms: another request was served meanwhile (2 in flight at once)"
is "$(emu_in_flight HeadObject)" 0 "an operation not received: 0 in flight"
emu_faults '{"next":["500"],"ops":["PutObject"]}'
is "$(scurl -o /dev/null -w '%{http_code}' "$EMU_URL/bkt/f/slow") $(scurl -o /dev/null -w '%{http_code}' -T one.txt "$EMU_URL/bkt/f/ops")" \
	"200 500" "ops: only the named operation is faulted"
emu_reset
emu_faults '{"rate":1.0,"kinds":["500"]}'
run env AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3 /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" \
	s3api head-object --bucket bkt --key f/slow
ok "$([ "$RC" != 0 ]; echo $?)" "rate 1.0: aws gives up"
is "$(emu_count HeadObject) $(emu_count faults)" "3 3" "every one of its 3 attempts failed"
draws() {
	emu_faults '{"rate":0.5,"kinds":["500"],"seed":7}'
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do scurl -o /dev/null -w '%{http_code} ' "$EMU_URL/bkt/f/slow"; done
}
first=$(draws)
like "$first" '200.*500|500.*200' "rate 0.5 fails some requests and not others"
is "$(draws)" "$first" "the same seed draws the same faults"
emu_faults '{}'
is "$(scurl -o /dev/null -w '%{http_code}' "$EMU_URL/bkt/f/slow")" 200 "{} clears the faults"
run emu_faults '{"next":["meltdown"]}'
like "$ERR" 'fault kinds' "an unknown fault kind is refused"

# 8. If-None-Match: * (which s3rver alone ignores).
is "$(scurl -o /dev/null -w '%{http_code}' -H 'If-None-Match: *' --data-binary first -X PUT "$EMU_URL/bkt/cond/k")" 200 \
	"If-None-Match: * on a new key writes it"
run scurl -w ' %{http_code}' -H 'If-None-Match: *' --data-binary second -X PUT "$EMU_URL/bkt/cond/k"
like "$OUT" '<Code>PreconditionFailed</Code>.* 412$' "If-None-Match: * on an existing key gets 412 PreconditionFailed"
is "$(scurl "$EMU_URL/bkt/cond/k")" first "and leaves the object as it was"
: >cond.cfg
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
	printf 'url = "%s/bkt/cond/race"\nupload-file = "one.txt"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$EMU_URL" >>cond.cfg
done
codes=$(scurl --sha "$(sha one.txt)" --no-progress-meter --parallel --parallel-max 16 -H 'If-None-Match: *' -K cond.cfg)
is "$(printf '%s\n' "$codes" | grep -c '^200$') $(printf '%s\n' "$codes" | grep -c '^412$')" "1 15" \
	"16 concurrent conditional PUTs of one key: exactly one wins, 15 get 412"

# 9. Secrets Manager.
emu_reset
run emu_aws secretsmanager get-secret-value --secret-id rapid/test --query SecretString --output text
is "$OUT" '{"IBS3SECRET":"INKEY:INSECRET"}' "get-secret-value returns the seeded secret"
run emu_aws secretsmanager get-secret-value --secret-id rapid/missing
like "$ERR" 'ResourceNotFoundException' "a missing secret gets ResourceNotFoundException"
is "$(emu_count GetSecretValue) $(emu_count mismatches)" "2 0" "counted by action; signed for secretsmanager"

# 10. Listing in S3's order across pages (s3rver alone loses keys here).
emu_seed '{"bucket":"bkt","keys":["o/a/b","o/a-b","o/a","o/a.c","o/b"],"body":"o"}' >/dev/null
run emu_aws s3api list-objects-v2 --bucket bkt --prefix o/ --page-size 1 --query 'Contents[].Key' --output json
is "$(printf '%s' "$OUT" | tr -d ' \n')" '["o/a","o/a-b","o/a.c","o/a/b","o/b"]' "pages of 1 key list every key, in byte order"

# 11. Seeding 25,000 objects.
emu_reset
run emu_seed '{"bucket":"bkt","prefix":"seed/","count":25000,"body":"x"}'
like "$OUT" '"created": 25000' "emu_seed creates 25,000 objects"
secs=$(printf '%s' "$OUT" | sed -n 's/.*"seconds": \([0-9.]*\).*/\1/p')
echo "# seeding 25,000 objects took ${secs:-?} s"
is "$(emu_counters)" '{"faults": 0, "mismatches": 0, "rejected": 0}' "seeding is not counted"
run emu_aws s3api list-objects-v2 --bucket bkt --prefix seed/ --query 'length(Contents)'
is "$OUT" 25000 "aws s3api list-objects-v2 counts 25,000"
is "$(emu_count ListObjectsV2)" 25 "in 25 pages of 1,000"
is "$(scurl "$EMU_URL/bkt/seed/024999")" x "a seeded object reads back"

# 12. No process left behind.
is "$(emulator_procs)" 2 "the emulator and its s3rver are running"
emu_stop
is "$(emulator_procs)" 0 "after emu_stop, no emulator or s3rver process remains"
emu_start bkt
is "$(emulator_procs)" 2 "emu_start again"
kill -KILL "$EMU_PID"
wait "$EMU_PID" 2>/dev/null
EMU_PID=
i=0
while [ "$(emulator_procs)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(emulator_procs)" 0 "killing the emulator outright takes s3rver with it"
done_testing
