#!/bin/sh
# aws/s3 end to end, through tests/tools/s3tool, against the loopback
# emulator (every signature recomputed by botocore): keys of every awkward
# class, multipart uploads in parallel that the AWS CLI reads (and the other
# way round), a 25,000-key listing page by page, faults retried and then
# reported, conditional writes, an Error inside a 200, and no secret in any
# output. Timings are printed as TAP comments.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
B=rapid-s3-test
emu_start "$B"
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1
ALL=$T_TMP/all-output  # everything s3tool printed, searched for secrets last
export AWS_MAX_ATTEMPTS=3

# s3 ARGS...: run s3tool (OUT, ERR, RC as run sets them) and keep its output.
s3() {
	run "$S3TOOL" "$@"
	cat "$T_TMP/.out" "$T_TMP/.err" >> "$ALL"
}
no_mismatch() { is "$(emu_count mismatches)" 0 "$1: every signature matched botocore's"; }
now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }

# ---- 1. keys of every class ----
# Kept exactly by the emulator's store, so the listing must show them as is.
cat > keys <<'EOF'
space in name.txt
plus+equals=bang!star*paren(s)at@dollar$percent%25 and %zz.txt
a+b
a b
ütf-8/日本語/файл.txt
sq'uote "dq" & amp <lt> >gt
hash#question?mark;semi,comma:colon
tilde~under_dash-dot.
trailing/
EOF
# Sent and signed as they are (no normalisation), but stored by s3rver
# under a collapsed path, so only read back by key, not compared in a list.
cat > dotkeys <<'EOF'
dot/./segment
dotdot/../up
double//slash
/leading-slash
EOF
# roundtrip PREFIX KEYFILE: put, HEAD all at once, get and cat each.
roundtrip() {
	_p=$1 _f=$2 _i=0 _bad=""
	: > "$T_TMP/uris"
	while IFS= read -r _k; do
		_i=$((_i + 1))
		{ printf 'object %s\n' "$_k"; head -c $((_i * 1000)) /dev/urandom; } > "body$_i"
		s3 put "body$_i" "s3://$B/$_p$_k"
		[ "$RC" = 0 ] || _bad="$_bad put($_k: $ERR)"
		printf 's3://%s/%s%s\n' "$B" "$_p" "$_k" >> "$T_TMP/uris"
	done < "$_f"
	s3 head - < "$T_TMP/uris"
	[ "$RC" = 0 ] && [ "$(printf '%s\n' "$OUT" | grep -c ' s3://')" = "$_i" ] &&
		! printf '%s\n' "$OUT" | grep -q '^missing' || _bad="$_bad head($ERR)"
	_i=0
	while IFS= read -r _k; do
		_i=$((_i + 1))
		rm -f got
		s3 get "s3://$B/$_p$_k" got
		cmp -s got "body$_i" || _bad="$_bad get($_k: $ERR)"
		s3 cat "s3://$B/$_p$_k"
		[ "$(printf '%s' "$OUT" | head -1)" = "object $_k" ] || _bad="$_bad cat($_k)"
	done < "$_f"
	printf '%s' "$_bad"
}

is "$(roundtrip keys/ keys)" "" "awkward keys: put, HEAD (concurrently), get and cat read back byte-identical"
s3 ls "s3://$B/keys/"
is "$(printf '%s\n' "$OUT" | cut -d' ' -f3- | sed 's|^keys/||')" "$(LC_ALL=C sort keys)" \
	"the listing holds exactly those keys, decoded, in S3's order"
is "$ERR" "requests: 1" "one ListObjectsV2 request"
s3 ls --delimiter / "s3://$B/keys/"
like "$OUT" '^PRE keys/ütf-8/$' "a common prefix, decoded"
like "$OUT" '^PRE keys/trailing/$' "a key ending in '/' under its own prefix"
like "$OUT" '^[0-9]+ [0-9a-f]{32} keys/a b$' "objects beside the prefixes"
is "$(roundtrip dots/ dotkeys)" "" "keys with /./, .., // and a leading / round-trip"
s3 rm "s3://$B/keys/a b" "s3://$B/keys/a+b"
is "$RC" 0 "DELETE two keys"
s3 rm "s3://$B/keys/a b" "s3://$B/keys/never-was"
is "$RC" 0 "DELETE of missing keys succeeds (as S3)"
s3 head "s3://$B/keys/a b" "s3://$B/keys/a+b" "s3://$B/keys/space in name.txt"
is "$(printf '%s\n' "$OUT" | head -2)" "missing s3://$B/keys/a b
missing s3://$B/keys/a+b" "deleted keys are missing"
like "$(printf '%s\n' "$OUT" | tail -1)" "^[0-9a-f]{32} [0-9]+ s3://$B/keys/space in name.txt$" "the others stay"
no_mismatch "awkward keys"

# ---- 2. multipart ----
head -c 67108864 /dev/urandom > big
emu_reset
t0=$(now)
s3 -v put --part-size 8M big "s3://$B/big/64MiB.bin"
up=$(since "$t0")
is "$RC" 0 "64 MiB upload"
like "$OUT" "^[0-9a-f]{32}-8 67108864 s3://$B/big/64MiB.bin$" "its ETag is a multipart one of 8 parts"
is "$(emu_count CreateMultipartUpload) $(emu_count UploadPart) $(emu_count CompleteMultipartUpload)" "1 8 1" \
	"one CreateMultipartUpload, 8 UploadPart of 8 MiB, one CompleteMultipartUpload"
like "$ERR" 'stats: .* multipart=10 bytes_up=67108864 ' "-v: the client counted 10 multipart requests"
echo "# 64 MiB multipart upload: $up s"
t0=$(now)
s3 get "s3://$B/big/64MiB.bin" big.back
echo "# 64 MiB GET to a file: $(since "$t0") s"
ok "$(cmp -s big big.back; echo $?)" "read back byte-identical"
emu_aws s3 cp "s3://$B/big/64MiB.bin" big.aws --quiet
ok "$(cmp -s big big.aws; echo $?)" "the AWS CLI reads what s3tool wrote"
head -c 20000000 /dev/urandom > mid
emu_aws s3 cp mid "s3://$B/big/by-aws.bin" --quiet
s3 get "s3://$B/big/by-aws.bin" mid.back
ok "$(cmp -s mid mid.back; echo $?)" "s3tool reads what the AWS CLI wrote (multipart)"
s3 get --range 1000-1999 "s3://$B/big/by-aws.bin" range.back
ok "$(dd if=mid bs=1000 skip=1 count=1 2>/dev/null | cmp -s - range.back; echo $?)" "a range GET"

# The parts go at once: the emulator holds each one 1 s before it answers,
# and records how many it served at once (a client that sends its parts one
# after the other never has two in flight).
no_mismatch "multipart, before the delayed upload"
emu_reset
emu_faults '{"rate":1.0,"kinds":["delay"],"delay_ms":1000,"ops":["UploadPart"]}'
s3 put --part-size 8M big "s3://$B/big/delayed.bin"
emu_faults '{}'
is "$RC" 0 "upload with every part delayed 1 s"
in_flight=$(emu_in_flight UploadPart)
echo "# UploadPart requests in flight at once: at most $in_flight"
ok "$([ "$in_flight" -ge 2 ]; echo $?)" "its 8 parts went in parallel ($in_flight in flight at once, not 1)"
is "$(emu_in_flight_json | sed -n 's/.*"uploads": {"[0-9a-f]*": \([0-9]*\)}.*/\1/p')" "$in_flight" \
	"the emulator's record, by upload: that one upload"
no_mismatch "multipart"

# ---- 3. 25,000 keys ----
emu_seed "{\"bucket\":\"$B\",\"prefix\":\"seed/\",\"count\":25000,\"body\":\"x\"}" >/dev/null
emu_reset
t0=$(now)
s3 ls "s3://$B/seed/"
echo "# listing 25,000 keys: $(since "$t0") s"
printf '%s\n' "$OUT" > listing
is "$(wc -l < listing | tr -d ' ')" 25000 "25,000 keys listed"
is "$(head -1 listing) | $(tail -1 listing)" "1 9dd4e461268c8034f5c8564e155c67a6 seed/000000 | 1 9dd4e461268c8034f5c8564e155c67a6 seed/024999" \
	"from the first key to the last"
is "$(cut -d' ' -f3 listing | LC_ALL=C sort -u | wc -l | tr -d ' ')" 25000 "no key twice"
is "$ERR" "requests: 25" "s3tool counted 25 pages"
is "$(emu_count ListObjectsV2)" 25 "exactly 25 ListObjectsV2 requests"
s3 ls --max-keys 400 --delimiter / "s3://$B/"
like "$OUT" "^PRE seed/$" "a delimited listing of the bucket"
no_mismatch "listing"

# ---- 4. faults ----
# One request in five fails (503 SlowDown, 500, reset); 8 attempts make a
# request that fails every time as rare as 3 in a million.
emu_reset
emu_faults '{"rate":0.2,"kinds":["slowdown","500","reset"],"seed":7}'
export AWS_MAX_ATTEMPTS=8
is "$(roundtrip faults/ keys)" "" "under 20% faults: put, HEAD, get and cat the awkward keys"
s3 ls "s3://$B/faults/"
is "$(printf '%s\n' "$OUT" | cut -d' ' -f3- | sed 's|^faults/||')" "$(LC_ALL=C sort keys)" "under faults: the same listing"
s3 put --part-size 8M big "s3://$B/big/faulted.bin"
is "$RC" 0 "under faults: 64 MiB upload"
s3 get "s3://$B/big/faulted.bin" faulted.back
ok "$(cmp -s big faulted.back; echo $?)" "under faults: read back byte-identical"
s3 ls "s3://$B/seed/"
ok "$(printf '%s\n' "$OUT" | cmp -s - listing; echo $?)" "under faults: the same 25,000-key listing"
faults=$(emu_count faults)
ok "$([ "$faults" -ge 5 ]; echo $?)" "faults were injected ($faults) and retried"
echo "# under 20% faults: $(emu_counters)"
no_mismatch "faults"

# Every request fails: each gives up after AWS_MAX_ATTEMPTS, saying why.
export AWS_MAX_ATTEMPTS=3
emu_reset
emu_faults '{"rate":1.0,"kinds":["slowdown"]}'
s3 head "s3://$B/faults/a b"
is "$RC $ERR" "1 s3tool: cannot head 's3://$B/faults/a b': 503 ServiceUnavailable (after 3 attempts)" \
	"HEAD: status named (HEAD answers have no body), attempts counted"
is "$(emu_count HeadObject)" 3 "3 HeadObject requests for 3 attempts"
mkdir out
s3 get "s3://$B/faults/a b" out/a.txt
is "$RC $ERR" "1 s3tool: cannot get 's3://$B/faults/a b': 503 SlowDown: Please reduce your request rate. (after 3 attempts)" \
	"GET: code and message"
is "$(emu_count GetObject)" 3 "3 GetObject requests"
is "$(ls -A out)" "" "a failed GET leaves no file, partial or temporary"
s3 put body1 "s3://$B/faults/new"
is "$RC $ERR" "1 s3tool: cannot put 's3://$B/faults/new': 503 SlowDown: Please reduce your request rate. (after 3 attempts)" \
	"PUT"
s3 ls "s3://$B/faults/"
is "$RC $(printf '%s\n' "$ERR" | tail -1)" "1 s3tool: cannot list 's3://$B/faults/': 503 SlowDown: Please reduce your request rate. (after 3 attempts)" \
	"list"
s3 rm "s3://$B/faults/a b"
is "$RC $ERR" "1 s3tool: cannot delete 's3://$B/faults/a b': 503 SlowDown: Please reduce your request rate. (after 3 attempts)" \
	"delete"
is "$(emu_count PutObject) $(emu_count ListObjectsV2) $(emu_count DeleteObject)" "3 3 3" "3 requests each"
emu_faults '{"rate":1.0,"kinds":["reset"]}'
s3 get "s3://$B/faults/a b" out/a.txt
like "$RC $ERR" "^1 s3tool: cannot get 's3://$B/faults/a b': .+ \\(after 3 attempts\\)$" "a connection reset: curl's cause"
is "$(ls -A out)" "" "still no file"

emu_reset
emu_faults '{"rate":1.0,"kinds":["500"],"ops":["UploadPart"]}'
s3 put --part-size 8M big "s3://$B/big/failed.bin"
is "$RC $ERR" "1 s3tool: cannot upload 's3://$B/big/failed.bin': 500 InternalError: We encountered an internal error. Please try again. (after 3 attempts)" \
	"a part that keeps failing fails the upload"
is "$(emu_count AbortMultipartUpload)" 1 "the upload was aborted"
emu_faults '{}'
s3 head "s3://$B/big/failed.bin"
is "$OUT" "missing s3://$B/big/failed.bin" "no object"
s3 abort-uploads "s3://$B/"
is "$OUT" "aborted 0" "no upload left in progress"
emu_aws s3api create-multipart-upload --bucket "$B" --key "big/left over+1.bin" >/dev/null
emu_aws s3api create-multipart-upload --bucket "$B" --key "elsewhere/left" >/dev/null
s3 abort-uploads "s3://$B/big/"
is "$OUT" "aborted 1" "abort-uploads ends the uploads left under a prefix"
s3 abort-uploads "s3://$B/"
is "$OUT" "aborted 1" "and only those"
no_mismatch "failures"

# ---- 5. conditional writes, an Error inside a 200 ----
emu_reset
s3 cat "s3://$B/faults/a b"
before=$OUT
s3 put --if-none-match body2 "s3://$B/faults/a b"
is "$RC $OUT" "0 exists s3://$B/faults/a b" "If-None-Match on an existing key: not written"
s3 cat "s3://$B/faults/a b"
ok "$([ "$OUT" = "$before" ]; echo $?)" "the object is unchanged"
s3 put --if-none-match --md5 body2 "s3://$B/faults/brand new"
like "$RC $OUT" "^0 [0-9a-f]{32} [0-9]+ s3://$B/faults/brand new$" "If-None-Match on a new key writes it (with Content-MD5)"
s3 put --sha256 body3 "s3://$B/faults/sha"
is "$RC" 0 "x-amz-checksum-sha256 accepted"
s3 put --if-none-match --part-size 8M big "s3://$B/big/64MiB.bin"
is "$RC $OUT" "0 exists s3://$B/big/64MiB.bin" "multipart with If-None-Match on an existing key: not written"
is "$(emu_count AbortMultipartUpload)" 1 "and its upload aborted"

emu_reset
emu_faults '{"next":["error200"],"ops":["CompleteMultipartUpload"]}'
s3 put --part-size 8M big "s3://$B/big/e200.bin"
is "$RC" 0 "an Error inside a 200 on CompleteMultipartUpload is retried"
is "$(emu_count CompleteMultipartUpload)" 2 "with a second CompleteMultipartUpload"
s3 get "s3://$B/big/e200.bin" e200.back
ok "$(cmp -s big e200.back; echo $?)" "and the object is whole"
emu_reset
emu_faults '{"rate":1.0,"kinds":["error200"],"ops":["CompleteMultipartUpload"]}'
s3 put --part-size 8M big "s3://$B/big/e200-fails.bin"
is "$RC $ERR" "1 s3tool: cannot upload 's3://$B/big/e200-fails.bin': 200 InternalError: We encountered an internal error. Please try again. (after 3 attempts)" \
	"an Error inside every 200 is reported"
is "$(emu_count AbortMultipartUpload)" 1 "and the upload aborted"
emu_reset
emu_clock -1200
s3 cat "s3://$B/faults/a b"
like "$RC $ERR" "^1 s3tool: cannot get 's3://$B/faults/a b': 403 RequestTimeTooSkewed: .*local clock" \
	"a clock 20 minutes off: refused, not retried, and said so"
is "$(emu_count GetObject)" 1 "one attempt"
emu_clock 0
no_mismatch "conditional writes"

# ---- 6. secrets ----
ok "$(grep -qF "$EMU_SECRET_KEY" "$ALL"; [ $? = 1 ]; echo $?)" "no secret key in any output"
ok "$(grep -q 'Signature=' "$ALL"; [ $? = 1 ]; echo $?)" "no signature in any output"
done_testing
