#!/bin/sh
# The deadline scales with the bytes an attempt moves, so a large healthy
# transfer is never cut: a GET paced by the emulator at 640 KiB/s (32 KiB
# every 50 ms: 3 MiB take at least 4.75 s) outlasts the 2 s allowed to a
# request of no size with 1 s limits, and completes at its first attempt
# because its Content-Length, at a minimum rate of 384 KiB/s, adds 8 s; a
# large GET and a multipart upload at the loopback's own speed complete at
# their first attempts too. Asserted on the attempts the emulator recorded.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
B=rapid-xfer
emu_start "$B"
cd "$T_TMP" || exit 1
export AWS_MAX_ATTEMPTS=3
LIMITS="--cli-read-timeout 1 --cli-connect-timeout 1"
export RAPID_MIN_RATE=384KiB/s
faults() { emu_reset; emu_faults "$1"; }

head -c $((3 << 20)) /dev/urandom > paced
head -c $((48 << 20)) /dev/urandom > big
run "$S3TOOL" put paced "s3://$B/paced"
is "$RC" 0 "put a 3 MiB object"

faults '{"rate": 1, "kinds": ["trickle"], "ops": ["GetObject"], "trickle_ms": 50, "trickle_bytes": 32768}'
run "$S3TOOL" $LIMITS get "s3://$B/paced" got
is "$RC:$ERR" "0:" "a 3 MiB GET paced at 640 KiB/s completes"
cmp -s paced got; ok $? "... whole"
is "$(emu_count GetObject) $(emu_count faults)" "1 1" "... at its first attempt, paced: its deadline grew with its size"

# The same GET with a minimum rate that gives it less time than it takes
# (at 4 MiB/s, 3 MiB add 0.75 s to the 2 s): cut, which shows that the pace
# above is slower than the allowance alone.
faults '{"rate": 1, "kinds": ["trickle"], "ops": ["GetObject"], "trickle_ms": 50, "trickle_bytes": 32768}'
RAPID_MIN_RATE=4MiB/s run "$S3TOOL" $LIMITS get "s3://$B/paced" got
like "$RC:$ERR" "^1:s3tool: cannot get 's3://$B/paced': transfer too slow: .* of 3 MiB in .* \\(deadline 2\\.8 s\\) \\(after 3 attempts\\)\$" \
	"at 4 MiB/s the same pace is too slow: cut at 2.75 s"

# ---- at the loopback's speed ----
emu_reset
run "$S3TOOL" $LIMITS put big "s3://$B/big"
is "$RC:$(emu_count UploadPart) $(emu_count CreateMultipartUpload) $(emu_count CompleteMultipartUpload)" "0:6 1 1" \
	"a 48 MiB multipart upload: 6 parts, one attempt each"
emu_reset
run "$S3TOOL" $LIMITS get "s3://$B/big" big.back
is "$RC:$(emu_count GetObject)" "0:1" "a 48 MiB GET: one attempt"
cmp -s big big.back; ok $? "... whole"
emu_reset
run "$S3TOOL" $LIMITS put --threshold 1G big "s3://$B/big1"
is "$RC:$(emu_count PutObject)" "0:1" "a 48 MiB single PUT: one attempt"
done_testing
