"""awsemu - the loopback AWS endpoint rapid's tests run against.

One threaded HTTP/1.1 server on 127.0.0.1 that stands in for the AWS
services rapid calls:

  * Every request's SigV4 signature is recomputed with botocore, AWS's own
    signer (S3SigV4Auth for S3, SigV4Auth for the others, and their query
    variants for presigned URLs), over the raw path and query and exactly
    the headers the request says it signed, and rejected the way AWS
    rejects it when it does not match. Since AWS may canonicalize the path
    and query before checking, a request must also be sent encoded as
    SigV4 encodes (RFC 3986, %XX in upper case), so that what passes here
    passes there.
  * S3 object bytes live in an s3rver child (tests/emu/node_modules, pinned
    by package-lock.json). The emulator answers itself what s3rver lacks or
    gets wrong: listings in S3's key order (s3rver walks its directory tree
    and loses keys across pages), conditional writes (If-None-Match: *,
    If-Match), Content-MD5 and x-amz-checksum-sha256 checks, suffix ranges
    (bytes=-N), multipart bookkeeping (part checks, "<md5>-<parts>" ETags,
    ListMultipartUploads, AbortMultipartUpload). Writes, reads and deletes
    of one key are serialized, since s3rver writes objects in place.
  * HeadBucket and GetBucketLocation are answered here (with
    x-amz-bucket-region, in S3's namespace); a bucket can be said to live in
    another region.
  * Secrets Manager (JSON 1.1) is answered from memory.
  * CloudFormation (the Query protocol: form-encoded POST, XML answers) is
    simulated: CreateStack checks the template (YAML with short-form tags,
    or JSON) as AWS does, then plays the creation resource by resource, in
    dependency order, as stack events, with fake but well-formed ids and
    ARNs, and Outputs evaluated from the template's intrinsics.
    AWS::SecretsManager::Secret resources really create their (empty)
    secret here, and deleting the stack deletes it. A failure can be
    injected into a resource, which then rolls the stack back.
  * Batch (REST-JSON) is answered from memory, every request body checked
    against botocore's model of the operation (model.py, usable by any
    JSON service): job definitions with revisions, job queues, SubmitJob,
    DescribeJobs, ListJobs (filters, pages), TerminateJob, CancelJob. Its
    compute environment really runs the jobs, as local processes with
    Batch's environment (AWS_BATCH_*, the job role's container credentials,
    a task metadata endpoint of their own), in N slots, honouring dependsOn,
    retryStrategy with evaluateOnExit, timeouts on a scaled clock, and a
    reclaimed host on request (batch.py describes it all). CloudFormation's
    AWS::Batch::* resources register real queues, compute environments and
    job definitions there.
  * Each service is a module with a Service subclass (s3, secretsmanager,
    cloudformation, batch), listed in main.services(): a request goes to the
    service its credential scope names, which answers it from its table of
    operations (`actions`) and may add control endpoints
    (control_routes()). Beside them: sigv4 (the signature check), faults,
    audit (counters, requests in flight, the request log), credentials
    (the container credentials endpoint), metadata (the ECS task metadata
    endpoint and IMDSv2), server (the HTTP server and the control API),
    main (the process).
  * Faults are injected on request, requests are counted by operation, and
    every request is kept in a log a test can search (a secret written to
    Secrets Manager excepted), to prove where a secret did not go.

Run it with Debian's /usr/bin/python3 (package python3-botocore), through
tests/emu/emu.py or as python3 -m awsemu with tests/emu on PYTHONPATH:

  /usr/bin/python3 tests/emu/emu.py --data DIR --port-file FILE [--log FILE]
      --cred AKID:SECRET[:TOKEN]... [--bucket NAME]... [--secret NAME=VALUE]...
      [--region us-east-1] [--container-auth TOKEN] [--batch-dir DIR]

Batch's jobs run and log under --batch-dir (default: "batch" beside
--data, which s3rver owns). No job's process outlives the emulator.

It listens on a free port of 127.0.0.1 and writes the port to --port-file
once both it and s3rver answer. SIGTERM, SIGINT or the death of its parent
stop it and s3rver. tests/emu.sh wraps this for the .t tests.

Control API, on the same port, unsigned (JSON in and out):
  GET  /__emu/counters  {"PutObject": 3, ..., "faults": 0, "mismatches": 0,
                        "rejected": 0}: every request received, by operation
                        as AWS names it (faulted and refused ones included);
                        faults injected; signatures that did not match (or
                        matched a request not encoded as SigV4 encodes); all
                        requests refused by the authentication checks
  POST /__emu/reset     zero the counters and the in-flight peaks; clear the
                        faults, the clock offset, the request log,
                        CloudFormation's pace, hold and injected failures,
                        and every Batch job (their processes killed), its
                        counts and its hold (stacks, secrets, Batch's queues,
                        definitions and other settings stay)
  GET  /__emu/in-flight {"ops": {"UploadPart": 8, ...}, "uploads": {"<id>": 8}}:
                        the most requests served at once since start or reset,
                        by operation and by multipart upload (uploadId). A
                        request is in flight from its body read to its answer
                        sent (a delay fault included), so a test proves that a
                        client overlapped its requests without timing it
  POST /__emu/faults    {"next": ["slowdown", "reset"]}: the next requests fail
                        {"rate": 0.2, "kinds": ["500"], "seed": 7}: each
                        request fails with that probability (kinds default
                        slowdown, 500, reset); both may take "ops": [names]
                        (only those operations), "delay_ms" (for delay,
                        default 1000), "trickle_ms" and "trickle_bytes" (for
                        trickle, default 1000 and 1). {} clears. Kinds: slowdown (503
                        SlowDown), 500 (InternalError), reset (connection
                        reset after reading the request), delay (then served),
                        error200 (200 with an <Error> body), truncate (served,
                        then only the first half of its body is sent, with a
                        Content-Length to match), garbage (200 with a body that
                        is neither XML nor JSON), trickle (served, the status
                        and headers at once, then the body trickle_bytes at a
                        time every trickle_ms), stall (served: the status and headers,
                        then nothing), blackhole (the request is read, then
                        nothing is sent at all). stall and blackhole hold the
                        connection open until the client closes it (at most an
                        hour), and each of the three closes the connection
                        after it; the request stays in flight meanwhile. A
                        faulted request never reaches s3rver, except a
                        delayed, truncated, trickled or stalled one.
  POST /__emu/clock     {"offset_s": -1200}: the emulator's clock runs that
                        much off (S3 refuses requests more than 15 minutes off,
                        other services 5)
  POST /__emu/secret    {"name": "rapid/test", "value": "..."}: create or
                        update a secret
  GET  /__emu/container-credentials  container credentials as ECS serves
                        them: the first --cred with a session token, to a
                        request whose Authorization is --container-auth; to a
                        Batch job's own token (AWS_CONTAINER_AUTHORIZATION_TOKEN,
                        valid while its attempt runs), the job role's
  GET  /__emu/ecs-metadata  the ECS task metadata endpoint v4 of a Batch child
                        (ECS_CONTAINER_METADATA_URI_V4): the container's JSON
                        (DockerId, Name, Image, ImageID "sha256:...", Labels, ...);
                        /__emu/ecs-metadata/task: the task's, with "Containers";
                        /__emu/ecs-metadata/<task id>[/task]: a Batch task's,
                        with its job definition's image and that image's
                        digest (Batch's image_ids, else image_id below)
  PUT  /__emu/imds/latest/api/token  IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT=
                        $EMU_URL/__emu/imds): a token (text/plain) to a request
                        with X-aws-ec2-metadata-token-ttl-seconds 1..21600, else
                        400; GET /__emu/imds/latest/meta-data/instance-type: the
                        instance type to a request carrying a token it gave (in
                        X-aws-ec2-metadata-token, not expired), else 401
  POST /__emu/metadata  {"image_id": "sha256:...", "image": "...",
                        "instance_type": "m7g.xlarge"} what they say (null: the
                        container has no ImageID, the instance type is 404);
                        {"absent": ["ecs", "token", "imds"]}: those answer 404;
                        {"hold": [...]}: those wait (at most 120 s) before they
                        answer, until {"release": true} or a reset
  GET  /__emu/metadata  the settings, "held" (requests waiting now) and every
                        request since start or reset: {"seq", "service" (ecs,
                        token, imds), "method", "path", "ttl" (the TTL header),
                        "token" (whether one was sent; never its value),
                        "status" (null while held)}
  GET  /__emu/requests[?contains=TEXT][&op=NAME]  {"count": N, "dropped": N,
                        "requests": [{"seq", "service", "op", "method", "path",
                        "query", "headers", "body", "body_bytes", "form",
                        "note"}]}: the AWS requests received since start or
                        reset, oldest first (control requests aside). Not kept:
                        SecretString/SecretBinary of CreateSecret,
                        PutSecretValue, UpdateSecret ("(not kept by emu)"),
                        object data, bodies over 1 MiB, responses; signatures
                        and session tokens are masked. "form" holds a form
                        body's fields decoded. contains: only requests holding
                        TEXT as sent, percent-decoded or JSON-unescaped.
  POST /__emu/cfn       {"step_ms": 20}: CloudFormation's pace, the time each
                        resource takes to create or delete (default 50: a
                        20-resource stack takes about 1 s each way).
                        {"fail": "LogicalId", "reason": "..."}: that resource's
                        next creation fails with that reason (CREATE_FAILED),
                        and the stack rolls back (ROLLBACK_COMPLETE, or
                        CREATE_FAILED / deleted with OnFailure DO_NOTHING /
                        DELETE). {"fail_delete": "LogicalId"}: its next deletion
                        fails (DELETE_FAILED). Each fires once; null disarms.
                        {"hold": true}: every stack waits before its next step
                        (one resource created or deleted) until {"steps": N}
                        lets N more steps go, or {"hold": false}: a test sees a
                        stack between two steps however slow the machine is.
  GET  /__emu/cfn       {"step_ms", "fail", "fail_delete", "reason", "hold",
                        "steps" (held steps let go, not yet taken),
                        "steps_done" (since start), "waiting" (stacks waiting
                        at the hold), "stacks": [{"name", "id", "status"}]}
  POST /__emu/bucket-region  {"bucket": "b", "region": "eu-west-1"}: the bucket
                        (which must exist) is said to be in that region:
                        HeadBucket answers 301 with x-amz-bucket-region,
                        GetBucketLocation that region, other requests 400
                        AuthorizationHeaderMalformed with <Region>
  POST /__emu/seed      {"bucket": "b", "prefix": "p/", "count": 25000,
                        "body": "x"} (keys p/000000, p/000001, ...) or
                        {"bucket": "b", "keys": [...], "body": "x"}: objects
                        written straight into s3rver's store, not counted
  POST /__emu/batch     Batch's settings, each optional: {"slots": 2 (jobs
                        running at once), "runner": "/path/rapid" (replaces a
                        command's argv[0] "rapid"; null: left as it is),
                        "job_role": "AKID" (the --cred a job's container
                        credentials serve; null: the first with a session
                        token), "env": {"NAME": "value"} (added to every job's
                        environment, last), "time_scale": 0.01 (timeouts and
                        the grace run that much faster), "grace_s": 30
                        (SIGTERM to SIGKILL, before scaling), "hold": true (no
                        job starts; RUNNABLE ones wait), "release": true (the
                        hold lifted), "image_ids": {"IMAGE": "sha256:..."}
                        (the digest a task's metadata gives that image),
                        "queue": "NAME" (a job queue on the compute environment
                        emu-ce: answers {"jobQueueArn": ...}), "mode": "process"
                        or "podman" (jobs run as podman run --rm --network host
                        --pull=never of their definition's image), "podman":
                        the podman to run (default: podman on PATH)}
  GET  /__emu/batch[?name=NAME]  {"config": {the settings}, "dir": Batch's folder,
                        "running": N, "queues": [names], "definitions": [ACTIVE
                        ARNs], "submits": {job name: SubmitJob requests naming
                        it, refused ones too}, "requests": {operation: Batch
                        requests answered (faulted ones are not: see
                        /__emu/counters)}, "jobs": [JOB]}: every job submitted
                        since start or reset (only those named NAME), in
                        submission order. JOB: {"id", "name", "status",
                        "statusReason", "queue" (name), "definition" (ARN),
                        "size" (0: not an array), "index" (a child's, else
                        null), "parent" (a child's parent id), "created_ms",
                        "started_ms", "stopped_ms", "submit" (the SubmitJob
                        body as received; not on children), "summary" and
                        "children" [JOB] (arrays), "attempts": [{"attempt" (from
                        1), "task", "pid", "started", "stopped" (ms),
                        "exit_code" (null: none, as when reclaimed),
                        "status_reason", "reason", "log" (its stdout and
                        stderr), "log_stream", "dir" (its working folder),
                        "command" (argv as run), "signals" (["TERM", "KILL"]:
                        what the emulator sent it)}]}
  GET  /__emu/batch-job?id=ID  that JOB (a child's id works too); 404 if unknown
  POST /__emu/batch-reclaim  {"job": "ID or name", "index": N}: the host under
                        that running job (the newest of that name; an array's
                        child N) goes: its process group gets SIGKILL and the
                        attempt ends with statusReason "Host EC2 (instance
                        i-0123456789abcdef0) terminated." and no exit code;
                        {"job", "attempt", "pid"}; 409 if it is not running
"""
