# tests/emu.sh - the loopback AWS emulator (tests/emu/awsemu) for the .t
# tests: every signature checked by botocore, S3 through s3rver, Secrets
# Manager, faults and counters. Source it after lib.sh, then:
#   emu_start [BUCKET...]  start it under $T_TMP/emu with those buckets and
#                          point AWS_* at it (stopped when the test exits)
#   emu_stop               stop it and its s3rver
#   emu_faults JSON        faults to inject, e.g. '{"next":["slowdown"]}'; '{}' clears
#   emu_reset              zero the counters and the in-flight peaks, clear the
#                          faults, the clock offset, the request log and
#                          CloudFormation's settings
#   emu_clock OFFSET_S     run the emulator's clock that many seconds off
#   emu_seed JSON          objects written straight into the store (prints
#                          {"created": N, "seconds": S})
#   emu_seed_inputs BUCKET PREFIX N FIRST  N inputs PREFIX/<id>/bold.nii.gz
#   emu_counters           the request counters, as JSON
#   emu_count NAME         one counter as an integer (0 when absent)
#   emu_aws ARGS...        Debian's aws against the emulator
#   emu_cfn JSON           CloudFormation's pace, its held steps and injected
#                          failures, e.g. '{"step_ms": 10}' (per resource step;
#                          default 50), '{"hold": true}' (every stack waits
#                          before its next step), '{"steps": 2}' (two more held
#                          steps go), '{"hold": false}' (the steps go on),
#                          '{"fail": "JobQueue", "reason": "..."}' (that resource's
#                          next creation fails and the stack rolls back),
#                          '{"fail_delete": "JobQueue"}', '{"fail": null}'
#   emu_cfn_state          the stacks (name, id, status), the settings, the steps
#                          taken and the stacks waiting at the hold, as JSON
#   emu_in_flight OP       the most OP requests (e.g. UploadPart) the emulator
#                          served at once since start or emu_reset (0 if none)
#   emu_in_flight_json     that for every operation and multipart upload:
#                          {"ops": {OP: N}, "uploads": {UPLOAD_ID: N}}
#   emu_requests [TEXT]    the AWS requests received since start or emu_reset, as
#                          {"count": N, "dropped": N, "requests": [...]}: service,
#                          op, method, path, query, headers, body, form (a form
#                          body's fields, decoded); never a secret value written
#                          to Secrets Manager, object data or any response.
#                          With TEXT, only the requests holding it, as sent or
#                          percent-decoded (safer than grep for a secret with
#                          characters JSON escapes)
#   emu_requests_count TEXT  how many requests hold TEXT
#   emu_bucket_region BUCKET REGION  S3 says BUCKET is in REGION (HeadBucket
#                          301, GetBucketLocation REGION, other requests 400)
#   emu_batch JSON         Batch's settings, a queue, the hold, e.g.
#                          '{"queue": "q"}' (a job queue on the compute
#                          environment emu-ce; prints {"jobQueueArn": ...}),
#                          '{"slots": 2, "runner": "'"$RAPID"'", "job_role": AKID,
#                          "env": {"NAME": "value"}, "time_scale": 0.01,
#                          "grace_s": 30, "hold": true}', '{"release": true}',
#                          '{"mode": "podman"}' (jobs run in their image)
#   emu_batch_state [NAME] every job (or those named NAME) with its children,
#                          attempts (pid, exit code, log), the submit body as
#                          received, SubmitJob counts by job name, requests by
#                          operation, the settings and Batch's folder, as JSON
#   emu_batch_job ID       one job (an array's children inside), as JSON
#   emu_batch_reclaim JOB [INDEX]  the host under that running job (id or name;
#                          an array's child INDEX) goes: SIGKILL, and the attempt
#                          ends "Host EC2 (instance i-...) terminated.", no exit code
#   emu_batch_wait ID [N]  wait until job ID has SUCCEEDED or FAILED (polling at
#                          most N times, 0.1 s apart; default 3000) and print its
#                          status; status 1 if it has not ended by then
#   emu_json EXPR          the Python expression EXPR of the JSON on stdin (as j),
#                          printed (a list one item a line; JSON for dicts), e.g.
#                          emu_batch_job "$id" | emu_json 'j["status"]'
# The JSON each takes is described in tests/emu/awsemu/__init__.py.

EMU_AKID=AKIDEMU0000000000001
# A fixed, fake secret: tests grep rapid's output and logs for it.
EMU_SECRET_KEY=emuSECRETkey0000/tests+only/000000000000
# A second identity with a session token, served as container credentials
# at $EMU_URL/__emu/container-credentials to requests that send
# Authorization: $EMU_CONTAINER_AUTH.
EMU_AKID2=ASIAEMU0000000000002
EMU_SECRET_KEY2=emuSECRETkey0000/container+creds/00000000
EMU_SESSION_TOKEN=emuTOKEN//session+token/0000000000000000000000000000000000000000
EMU_CONTAINER_AUTH=emu-container-auth-0000
EMU_PID=

emu_start() {
	[ -z "$EMU_PID" ] || emu_stop
	EMU_DIR=$T_TMP/emu
	mkdir -p "$EMU_DIR"
	rm -f "$EMU_DIR/port"
	_emu_n=$#
	for _emu_b in "$@"; do set -- "$@" --bucket "$_emu_b"; done
	shift "$_emu_n"
	/usr/bin/python3 "$TESTS_DIR/emu/emu.py" --data "$EMU_DIR/data" --port-file "$EMU_DIR/port" \
		--log "$EMU_DIR/log" --cred "$EMU_AKID:$EMU_SECRET_KEY" \
		--cred "$EMU_AKID2:$EMU_SECRET_KEY2:$EMU_SESSION_TOKEN" --container-auth "$EMU_CONTAINER_AUTH" \
		--secret 'rapid/test={"IBS3SECRET":"INKEY:INSECRET"}' "$@" </dev/null >>"$EMU_DIR/log" 2>&1 &
	EMU_PID=$!
	# Stop it at exit, before whatever the test already does at exit.
	trap >"$EMU_DIR/traps"
	eval "set -- $(sed -n "s/^trap -- \(.*\) EXIT\$/\1/p" "$EMU_DIR/traps")"
	trap "emu_stop; ${1:-}" EXIT
	_emu_i=0
	while [ ! -s "$EMU_DIR/port" ]; do
		if [ $_emu_i -ge 300 ] || ! _emu_alive; then
			_report 1 "the AWS emulator starts within 30 s" "$(cat "$EMU_DIR/log")"
			done_testing
			exit 1
		fi
		sleep 0.1
		_emu_i=$((_emu_i + 1))
	done
	EMU_URL=http://127.0.0.1:$(cat "$EMU_DIR/port")
	AWS_ENDPOINT_URL=$EMU_URL
	AWS_ACCESS_KEY_ID=$EMU_AKID
	AWS_SECRET_ACCESS_KEY=$EMU_SECRET_KEY
	AWS_REGION=us-east-1
	AWS_DEFAULT_REGION=us-east-1
	AWS_CONFIG_FILE=$T_TMP/no-aws-config
	AWS_SHARED_CREDENTIALS_FILE=$T_TMP/no-aws-credentials
	export EMU_URL EMU_DIR EMU_SECRET_KEY EMU_SECRET_KEY2 EMU_SESSION_TOKEN EMU_CONTAINER_AUTH AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION AWS_DEFAULT_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
}

# The emulator has not exited (kill -0 holds for a zombie too).
_emu_alive() {
	read -r _emu_x _emu_x _emu_state _emu_x 2>/dev/null <"/proc/$EMU_PID/stat" && [ "$_emu_state" != Z ]
}

emu_stop() {
	[ -n "$EMU_PID" ] || return 0
	kill -TERM "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=
}

# _emu_call METHOD ENDPOINT [JSON]: the control API's answer, or its error
# on stderr and status 1.
_emu_call() {
	_emu_out=$(curl -sS -X "$1" --data-binary "${3:-}" -w '\n%{http_code}' "$EMU_URL/__emu/$2") || return 1
	case $_emu_out in
	*'
200') printf '%s\n' "${_emu_out%?200}" ;;
	*) printf 'emu %s: %s\n' "$2" "$_emu_out" >&2; return 1 ;;
	esac
}

emu_faults() { _emu_call POST faults "$1" >/dev/null; }
emu_reset() { _emu_call POST reset >/dev/null; }
emu_clock() { _emu_call POST clock "{\"offset_s\": $1}" >/dev/null; }
emu_seed() { _emu_call POST seed "$1"; }
# emu_seed_inputs BUCKET PREFIX N FIRST: N objects PREFIX/<id>/bold.nii.gz
# (ids FIRST, FIRST+1, ... as six digits), each holding "bold".
emu_seed_inputs() {
	emu_seed "$(/usr/bin/python3 -c 'import json, sys
b, p, n, f = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"bucket": b, "keys": ["%s/%06d/bold.nii.gz" % (p, f + i) for i in range(n)], "body": "bold"}))' "$@")"
}
emu_counters() { _emu_call GET counters; }
emu_count() {
	_emu_n=$(emu_counters | sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p")
	echo "${_emu_n:-0}"
}
emu_aws() { AWS_PAGER='' /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
emu_cfn() { _emu_call POST cfn "$1"; }
emu_cfn_state() { _emu_call GET cfn; }
emu_in_flight_json() { _emu_call GET in-flight; }
emu_in_flight() {
	_emu_n=$(emu_in_flight_json | sed -n "s/.*\"ops\": {[^}]*\"$1\": \([0-9]*\).*/\1/p")
	echo "${_emu_n:-0}"
}
emu_bucket_region() { _emu_call POST bucket-region "{\"bucket\": \"$1\", \"region\": \"$2\"}" >/dev/null; }
emu_requests() {
	if [ $# -gt 0 ]; then
		_emu_out=$(curl -sS -G --data-urlencode "contains=$1" -w '\n%{http_code}' "$EMU_URL/__emu/requests") || return 1
	else
		_emu_out=$(curl -sS -w '\n%{http_code}' "$EMU_URL/__emu/requests") || return 1
	fi
	case $_emu_out in
	*'
200') printf '%s\n' "${_emu_out%?200}" ;;
	*) printf 'emu requests: %s\n' "$_emu_out" >&2; return 1 ;;
	esac
}
emu_requests_count() {
	_emu_n=$(emu_requests "$1" | sed -n 's/^{"count": \([0-9]*\).*/\1/p')
	echo "${_emu_n:-0}"
}

emu_batch() { _emu_call POST batch "$1"; }
emu_batch_state() {
	if [ $# -gt 0 ]; then _emu_call GET "batch?name=$1"; else _emu_call GET batch; fi
}
emu_batch_job() { _emu_call GET "batch-job?id=$1"; }
emu_batch_reclaim() {
	_emu_call POST batch-reclaim "{\"job\": \"$1\"${2:+, \"index\": $2}}" >/dev/null
}
emu_batch_wait() {
	_emu_i=0
	while [ "$_emu_i" -lt "${2:-3000}" ]; do
		_emu_s=$(emu_batch_job "$1" | emu_json 'j["status"]') || return 1
		case $_emu_s in
		SUCCEEDED|FAILED) echo "$_emu_s"; return 0 ;;
		esac
		sleep 0.1
		_emu_i=$((_emu_i + 1))
	done
	echo "$_emu_s"
	return 1
}
emu_json() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
for x in (v if isinstance(v, list) else [v]):
    print(json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) or x is None or isinstance(x, bool) else x)' "$1"
}
