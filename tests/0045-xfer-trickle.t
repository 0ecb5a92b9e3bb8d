#!/bin/sh
# Transfers that never end (aws/http.h's limits), against the emulator's
# faults: a GET whose answer stalls after its headers is given up after the
# read timeout and retried; one that trickles a byte every 20 ms (never
# quiet for a whole second, so the read timeout never fires) is given up at
# its deadline and retried; when every attempt does so, the error says
# which limit and how far it got. Asserted on the attempts the emulator
# recorded and on the messages, never on the time taken.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
B=rapid-xfer
emu_start "$B"
cd "$T_TMP" || exit 1
export AWS_MAX_ATTEMPTS=3
# 1 s limits, 1 KiB/s: a 3,000-byte answer has a deadline of 1 + 1 +
# 2.929 s = 4.9 s, and a trickle of a byte every 20 ms takes 60 s.
LIMITS="--cli-read-timeout 1 --cli-connect-timeout 1"
export RAPID_MIN_RATE=1KiB/s

head -c 3000 /dev/urandom > small
run "$S3TOOL" put small "s3://$B/small"
is "$RC" 0 "put the object"

# faults JSON: emu_reset, then those faults.
faults() {
	emu_reset
	emu_faults "$1"
	rm -f got
}
# get_with FAULTS: those faults, then s3tool get of the object.
get_with() {
	faults "$1"
	run "$S3TOOL" $LIMITS get "s3://$B/small" got
}

# ---- stall: headers, then nothing ----
get_with '{"next": ["stall"], "ops": ["GetObject"]}'
is "$RC:$ERR" "0:" "a stalled GET is retried and then succeeds"
cmp -s small got; ok $? "... with the whole object"
is "$(emu_count GetObject) $(emu_count faults)" "2 1" "... in 2 attempts, the first stalled"

get_with '{"next": ["stall", "stall", "stall"], "ops": ["GetObject"]}'
is "$RC:$ERR" "1:s3tool: cannot get 's3://$B/small': no data for 1 s (after 3 attempts)" \
	"a GET stalled every time: the read timeout, named"
is "$(emu_count GetObject)" 3 "... 3 attempts"
ok "$([ ! -e got ]; echo $?)" "... and no partial file"

# ---- trickle: a byte every 20 ms ----
get_with '{"next": ["trickle"], "ops": ["GetObject"], "trickle_ms": 20}'
is "$RC:$ERR" "0:" "a trickling GET is given up at its deadline, retried and succeeds"
cmp -s small got; ok $? "... with the whole object"
is "$(emu_count GetObject) $(emu_count faults)" "2 1" "... in 2 attempts"

get_with '{"rate": 1, "kinds": ["trickle"], "ops": ["GetObject"], "trickle_ms": 20}'
is "$RC" 1 "a GET trickling every time fails"
like "$ERR" "^s3tool: cannot get 's3://$B/small': transfer too slow: [0-9.]+ (B|KiB) of 2\\.9 KiB in [0-9.]+ s \\(deadline 4\\.9 s\\) \\(after 3 attempts\\)\$" \
	"... saying how much of it came, and the deadline"
is "$(emu_count GetObject)" 3 "... 3 attempts"

# The answer's share of the deadline is its Content-Length at the minimum
# rate: at 100 KiB/s, 3,000 bytes add 29 ms to the 2 s allowance.
faults '{"rate": 1, "kinds": ["trickle"], "ops": ["GetObject"], "trickle_ms": 20}'
RAPID_MIN_RATE=100KB/s run "$S3TOOL" $LIMITS get "s3://$B/small" got
like "$ERR" "transfer too slow: .* \\(deadline 2\\.0 s\\) \\(after 3 attempts\\)\$" "100KB/s: a 3,000-byte answer has 2.0 s"
is "$(emu_count GetObject)" 3 "... 3 attempts"

# No minimum rate (0): no deadline, and only the read timeout is left. A
# trickle of 3,000 bytes at 100 every 200 ms takes 6 s, past the 4.9 s
# deadline of 1 KiB/s, but is never quiet for a second: it completes at
# the first attempt.
faults '{"next": ["trickle"], "ops": ["GetObject"], "trickle_ms": 200, "trickle_bytes": 100}'
RAPID_MIN_RATE=0 run "$S3TOOL" $LIMITS get "s3://$B/small" got
is "$RC:$ERR:$(emu_count GetObject)" "0::1" "RAPID_MIN_RATE=0: a slow but steady GET is left alone"

# ---- a ranged GET: its Content-Length is the range's ----
faults '{"next": ["trickle"], "ops": ["GetObject"], "trickle_ms": 20}'
run "$S3TOOL" $LIMITS get "s3://$B/small" got --range 0-1023
is "$RC:$(wc -c < got | tr -d ' ')" "0:1024" "a trickling ranged GET is retried and completes"
is "$(emu_count GetObject)" 2 "... in 2 attempts"

# ---- a LIST that trickles: the same limit for any request ----
emu_reset
emu_faults '{"rate": 1, "kinds": ["trickle"], "ops": ["ListObjectsV2"], "trickle_ms": 20}'
run "$S3TOOL" $LIMITS ls "s3://$B/"
like "$ERR" "cannot list 's3://$B/': transfer too slow: .* \\(after 3 attempts\\)\$" "a trickling listing fails the same way"
is "$(emu_count ListObjectsV2)" 3 "... after 3 attempts"
done_testing
