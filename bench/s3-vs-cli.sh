#!/bin/sh
# bench/s3-vs-cli.sh - rapid's S3 client against the AWS CLI, side by side,
# on the loopback emulator of the tests (tests/emu: s3rver behind a server
# that checks every signature with botocore).
#
#   list    100,000 keys:  s3tool ls           vs  aws s3api list-objects-v2
#   head    5,000 objects: s3tool head - (32 in flight)
#                          vs  aws s3api head-object, one process per object
#                              (timed on HEAD_CLI_SAMPLE objects, scaled up)
#                          and the AWS CLI's engine at its best: botocore in
#                              one process, 32 threads, 5,000 head_object calls
#   upload  1 GiB file:    s3tool put (multipart, 8 MiB parts, 32 in flight)
#                          vs  aws s3 cp (multipart, 8 MiB parts, 10 threads)
#
# Each is timed RUNS times; the table gives the median wall time and the
# median client CPU time (user + system of the client process and its
# children; the emulator's own CPU is not counted). s3tool is the test tool
# built from tests/tools/s3tool.c on aws/s3.c, the code rapid itself uses.
#
# Usage:   make bench-s3
# Knobs:   RUNS=3  KEYS=100000  HEADS=5000  HEAD_CLI_SAMPLE=100  UPLOAD_MIB=1024
#          WORK=bench/work/s3  (gitignored; the emulator's data lives there)
set -eu

: "${TOOLDIR:?TOOLDIR must name the folder of s3tool (make bench-s3 sets it)}"
RUNS=${RUNS:-3}
KEYS=${KEYS:-100000}
HEADS=${HEADS:-5000}
HEAD_CLI_SAMPLE=${HEAD_CLI_SAMPLE:-100}
UPLOAD_MIB=${UPLOAD_MIB:-1024}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$ROOT/bench/work/s3}
S3TOOL=$TOOLDIR/s3tool
AWS=/usr/bin/aws
PY=/usr/bin/python3

rm -rf "$WORK"
mkdir -p "$WORK"
# tests/emu.sh expects the TAP helpers' names.
T_TMP=$WORK
TESTS_DIR=$ROOT/tests
_report() { [ "$1" = 0 ] || { echo "bench: $2" >&2; [ -n "${3:-}" ] && echo "$3" >&2; }; }
done_testing() { :; }
. "$ROOT/tests/emu.sh"
trap 'emu_stop' EXIT
emu_start bench
export AWS_PAGER=""

# measure NAME CMD...: run CMD RUNS times; record "wall cpu" per run.
measure() {
	_name=$1; shift
	: > "$WORK/$_name.times"
	_i=0
	while [ $_i -lt "$RUNS" ]; do
		$PY "$ROOT/bench/timed.py" "$WORK/$_name.times" "$@"
		_i=$((_i + 1))
	done
}
median() { # FILE COLUMN
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
row() { # LABEL NAME [SCALE]
	_w=$(median "$WORK/$2.times" 1); _c=$(median "$WORK/$2.times" 2)
	if [ -n "${3:-}" ]; then
		_w=$(awk -v a="$_w" -v b="$3" 'BEGIN { print a * b }')
		_c=$(awk -v a="$_c" -v b="$3" 'BEGIN { print a * b }')
	fi
	printf '| %-44s | %8.2f s | %8.2f s |\n' "$1" "$_w" "$_c"
}

echo "bench: seeding $KEYS keys" >&2
emu_seed "{\"bucket\":\"bench\",\"prefix\":\"k/\",\"count\":$KEYS,\"body\":\"x\"}" >/dev/null

echo "bench: list" >&2
measure list-rapid "$S3TOOL" ls s3://bench/k/
measure list-cli "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3api list-objects-v2 --bucket bench --prefix k/
n_rapid=$("$S3TOOL" ls s3://bench/k/ | wc -l)
n_cli=$("$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3api list-objects-v2 --bucket bench --prefix k/ \
	--query 'length(Contents)')
[ "$n_rapid" = "$KEYS" ] && [ "$n_cli" = "$KEYS" ] || {
	echo "bench: listed $n_rapid (s3tool) and $n_cli (aws) keys, not $KEYS" >&2; exit 1; }

echo "bench: head" >&2
awk -v n="$HEADS" 'BEGIN { for (i = 0; i < n; i++) printf "s3://bench/k/%06d\n", i * 7 % 100000 }' \
	> "$WORK/heads.txt"
head -n "$HEAD_CLI_SAMPLE" "$WORK/heads.txt" | sed 's#s3://bench/##' > "$WORK/heads-sample.txt"
measure head-rapid sh -c '"$0" head - < "$1"' "$S3TOOL" "$WORK/heads.txt"
measure head-cli sh -c 'while read -r k; do "$0" --endpoint-url "$AWS_ENDPOINT_URL" s3api head-object \
	--bucket bench --key "$k" >/dev/null || exit 1; done < "$1"' "$AWS" "$WORK/heads-sample.txt"
cat > "$WORK/heads.py" <<'PY'
import sys, os, concurrent.futures, botocore.session, botocore.config
s = botocore.session.get_session()
c = s.create_client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                    config=botocore.config.Config(max_pool_connections=32))
keys = [l.strip()[len("s3://bench/"):] for l in open(sys.argv[1])]
with concurrent.futures.ThreadPoolExecutor(32) as ex:
    for r in ex.map(lambda k: c.head_object(Bucket="bench", Key=k), keys):
        pass
PY
measure head-boto "$PY" "$WORK/heads.py" "$WORK/heads.txt"

echo "bench: upload" >&2
dd if=/dev/urandom of="$WORK/big" bs=1M count="$UPLOAD_MIB" status=none
measure up-rapid "$S3TOOL" put "$WORK/big" s3://bench/big-rapid
measure up-cli "$AWS" --endpoint-url "$AWS_ENDPOINT_URL" s3 cp --quiet "$WORK/big" s3://bench/big-cli
"$S3TOOL" get s3://bench/big-rapid "$WORK/big.back"
cmp "$WORK/big" "$WORK/big.back" || { echo "bench: the upload did not read back identical" >&2; exit 1; }
rm -f "$WORK/big" "$WORK/big.back"

scale=$(awk -v a="$HEADS" -v b="$HEAD_CLI_SAMPLE" 'BEGIN { print a / b }')
{
	echo "| operation (loopback emulator, $RUNS runs, medians) | wall | client CPU |"
	echo "|---|---:|---:|"
	row "list $KEYS keys: rapid (s3tool ls)" list-rapid
	row "list $KEYS keys: aws s3api list-objects-v2" list-cli
	row "$HEADS HEADs: rapid (s3tool head, 32 in flight)" head-rapid
	row "$HEADS HEADs: aws s3api head-object (x$HEADS, from $HEAD_CLI_SAMPLE)" head-cli "$scale"
	row "$HEADS HEADs: botocore, 1 process, 32 threads" head-boto
	row "upload $UPLOAD_MIB MiB: rapid (s3tool put)" up-rapid
	row "upload $UPLOAD_MIB MiB: aws s3 cp" up-cli
} | tee "$WORK/results.md"
