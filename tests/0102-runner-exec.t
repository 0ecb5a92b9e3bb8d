#!/bin/sh
# Acceptance 6: rapid runner --exec CMD... does what mount-and-run's array
# logic did for rapidtide-cloud's job scripts: PARTICIPANT_FROM_ARRAY is
# line index+1 of s3://$OUTPUT_BUCKET/config/$PARTICIPANT_ARRAY_FILE, then
# CMD is exec'd (no shell). One GET of the file; clear failures.
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/emu.sh"
: "${TOOLDIR:?TOOLDIR must name the test tools folder (make check sets it)}"
S3TOOL=$TOOLDIR/s3tool
emu_start rapid-out
W=$T_TMP/w; mkdir -p "$W"; cd "$W" || exit 1

N=40
i=0; : > participants.txt
while [ $i -lt $N ]; do printf '%06d\n' $((100307 + i)) >> participants.txt; i=$((i + 1)); done
"$S3TOOL" put participants.txt s3://rapid-out/config/participants.txt >/dev/null
# CRLF, a byte order mark, a blank line at the end
printf '\357\273\277100307\r\n100408\r\n  sub-03 \r\n\r\n' > crlf.txt
"$S3TOOL" put crlf.txt s3://rapid-out/config/crlf.txt >/dev/null
printf 'a\n\nc\n' > hole.txt
"$S3TOOL" put hole.txt s3://rapid-out/config/hole.txt >/dev/null
printf 'a\nb;rm -rf x\n' > bad.txt
"$S3TOOL" put bad.txt s3://rapid-out/config/bad.txt >/dev/null
: > empty.txt
"$S3TOOL" put empty.txt s3://rapid-out/config/empty.txt >/dev/null

# ex INDEX FILE ARGS...: the job script's view (AWS_BATCH_JOB_ARRAY_INDEX,
# OUTPUT_BUCKET, PARTICIPANT_ARRAY_FILE as the job definition sets them).
ex() {
	_ix=$1 _f=$2; shift 2
	emu_reset
	run env AWS_BATCH_JOB_ARRAY_INDEX="$_ix" OUTPUT_BUCKET=rapid-out PARTICIPANT_ARRAY_FILE="$_f" "$RAPID" runner --exec "$@"
	GETS=$(emu_count GetObject)
}
SHOW='echo "$PARTICIPANT_FROM_ARRAY|$#|$*"'

ex 0 participants.txt sh -c "$SHOW" x one 'two words'
is "$RC $OUT" "0 100307|2|one two words" "index 0: PARTICIPANT_FROM_ARRAY is line 1; the arguments pass as they are"
is "$ERR" "" "index 0: nothing on stderr"
is "$GETS" 1 "index 0: one GET"
ex 1 participants.txt sh -c "$SHOW"
is "$RC $OUT" "0 100308|0|" "index 1: line 2"
ex $((N - 1)) participants.txt sh -c "$SHOW"
is "$RC $OUT" "0 $((100307 + N - 1))|0|" "the last index: the last line"
emu_reset
run env AWS_BATCH_JOB_ARRAY_INDEX=1 OUTPUT_BUCKET=s3://rapid-out/ PARTICIPANT_ARRAY_FILE=participants.txt \
	"$RAPID" runner --index 5 --exec sh -c "$SHOW"
is "$RC $OUT" "0 100312|0|" "--index wins; OUTPUT_BUCKET may be s3://NAME/"
run env -u AWS_BATCH_JOB_ARRAY_INDEX OUTPUT_BUCKET=rapid-out PARTICIPANT_ARRAY_FILE=participants.txt \
	"$RAPID" runner --exec sh -c "$SHOW"
is "$RC $OUT" "0 100307|0|" "no index (a plain job): line 1"
ex 2 participants.txt -- sh -c 'echo "$0 $1"' --index 7
is "$RC $OUT" "0 --index 7" "the words after --exec CMD are the command's, options too"
AWS_BATCH_JOB_ARRAY_INDEX=0 OUTPUT_BUCKET=rapid-out PARTICIPANT_ARRAY_FILE=participants.txt \
	"$RAPID" runner --exec sh -c 'echo $$' > pid.out 2>&1 &
started=$!; wait $started
is "$(cat pid.out)" "$started" "the command replaces rapid (exec: the same process)"
ex 3 participants.txt sh -c 'ls /proc/self/fd | wc -l'
is "$OUT" "$(sh -c 'ls /proc/self/fd | wc -l')" "no descriptor of rapid's is left open in the command"

ex 0 crlf.txt sh -c "$SHOW"
is "$RC $OUT" "0 100307|0|" "a byte order mark and CRLF: the id alone"
ex 2 crlf.txt sh -c "$SHOW"
is "$RC $OUT" "0 sub-03|0|" "spaces around an id are not the id's"
ex 3 crlf.txt sh -c "$SHOW"
is "$RC" 1 "blank lines at the end are not lines: index 3 fails"
is "$ERR" "rapid: index 3 is past the end of s3://rapid-out/config/crlf.txt (3 lines)" "... said"

# ---- failures ----
ex $N participants.txt sh -c "$SHOW"
is "$RC $OUT" "1 " "past the end: exit 1, the command not run"
is "$ERR" "rapid: index $N is past the end of s3://rapid-out/config/participants.txt ($N lines)" "... said"
ex 1 hole.txt sh -c "$SHOW"
is "$RC $ERR" "1 rapid: line 2 of 's3://rapid-out/config/hole.txt' is blank" "a blank line among others"
ex 1 bad.txt sh -c "$SHOW"
is "$RC $ERR" "1 rapid: line 2 of 's3://rapid-out/config/bad.txt' is not a participant id ([A-Za-z0-9][A-Za-z0-9._-]*): 'b;rm -rf x'" \
	"a line that is not an id"
ex 0 empty.txt sh -c "$SHOW"
is "$RC $ERR" "1 rapid: index 0 is past the end of s3://rapid-out/config/empty.txt (0 lines)" "an empty file"
ex 0 missing.txt sh -c "$SHOW"
is "$RC $ERR" "1 rapid: cannot get 's3://rapid-out/config/missing.txt': no such object" "a missing file"
run env -u OUTPUT_BUCKET PARTICIPANT_ARRAY_FILE=participants.txt "$RAPID" runner --exec true
is "$RC $ERR" "2 rapid: cannot find the participant array file: OUTPUT_BUCKET is not set (the bucket whose config/ holds it)" \
	"OUTPUT_BUCKET unset"
run env -u PARTICIPANT_ARRAY_FILE OUTPUT_BUCKET=rapid-out "$RAPID" runner --exec true
is "$RC $ERR" "2 rapid: cannot find the participant array file: PARTICIPANT_ARRAY_FILE is not set (its name in s3://rapid-out/config/)" \
	"PARTICIPANT_ARRAY_FILE unset"
run env OUTPUT_BUCKET='Not A Bucket' PARTICIPANT_ARRAY_FILE=p.txt "$RAPID" runner --exec true
is "$RC" 2 "an OUTPUT_BUCKET that is no bucket name: exit 2"
like "$ERR" "OUTPUT_BUCKET is not a bucket name" "... said"
ex 0 participants.txt /nonexistent/cmd
is "$RC $ERR" "127 rapid: cannot run '/nonexistent/cmd': No such file or directory" "a command that is not there: 127"
ex 0 participants.txt
is "$RC" 2 "--exec without a command: exit 2"
like "$ERR" "option '--exec' needs a value|--exec needs a command" "... said"
ex x participants.txt true
is "$RC" 2 "a bad AWS_BATCH_JOB_ARRAY_INDEX: exit 2"
is "$GETS" 0 "... before any request"

done_testing
