"""AWS Batch (REST-JSON: POST /v1/<operation>, signed "batch"), answered
from memory, with a compute environment that really runs the jobs.

Every request body is checked against botocore's model of Batch (model.py)
before anything else: an unknown member, a wrong type, a missing required
member or a bad enum value is a 400 ClientException naming the member.
Errors go out as REST-JSON errors: the code in x-amzn-ErrorType, the body
{"message": ...}; ClientException 400, ServerException 500,
TooManyRequestsException 429 (the slowdown fault).

Job definitions have revisions (arn:aws:batch:R:A:job-definition/NAME:REV)
and are found by name (its latest ACTIVE revision), NAME:REV or ARN. Job
queues and compute environments come from CloudFormation
(AWS::Batch::JobQueue / ComputeEnvironment / JobDefinition resources of a
stack register real entries here, and leave with the stack) or from the
control API ({"queue": NAME}).

The compute environment has `slots` places (default 2). A job goes
SUBMITTED, then PENDING while a dependency is unfinished, then RUNNABLE;
a RUNNABLE job starts (STARTING, RUNNING) in submission order when a slot
is free and the environment is not held. An array job of size N has
children "<id>:0" .. "<id>:N-1"; its parent is SUBMITTED, PENDING once a
child is RUNNABLE, SUCCEEDED when every child did, FAILED once all ended
and any failed. dependsOn: on a whole job, after it SUCCEEDED (an array:
every child); N_TO_N, child i after child i of the dependency; SEQUENTIAL
(no jobId), child i after child i-1. A failed dependency fails the
dependent with statusReason "Dependent Job failed".

Each run (attempt) of a job is a local process, in its own process group,
in a folder of its own under the Batch folder (the `dir` of the state):
the command of containerOverrides or the definition (Ref::NAME replaced by
the job's parameters), argv[0] "rapid" replaced by the configured runner;
no shell. Its environment: PATH, HOME (its folder), the definition's
environment, the overrides' environment, AWS_BATCH_JOB_ID (the child's
id), AWS_BATCH_JOB_ARRAY_INDEX (array children), AWS_BATCH_JOB_ATTEMPT
(from 1), AWS_BATCH_JQ_NAME, AWS_BATCH_CE_NAME, the job role's container
credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI and a token of its own in
AWS_CONTAINER_AUTHORIZATION_TOKEN, served by credentials.py with the
configured job_role), ECS_CONTAINER_METADATA_URI_V4 (metadata.py: this
task's image and digest), AWS_EC2_METADATA_SERVICE_ENDPOINT (IMDSv2),
AWS_ENDPOINT_URL (the emulator), AWS_REGION, AWS_DEFAULT_REGION, and the
configured extra environment last. Its stdout and stderr go to one log
file per attempt (logs/<job id>.<attempt>.log; logStreamName
"<definition name>/default/<task id>").

Exit 0: SUCCEEDED. Otherwise the attempt failed with its exit code (128+N
when killed by signal N, as Docker says) and statusReason "Essential
container in task exited" (its container reason is absent, as AWS leaves
it), and retryStrategy decides: another attempt while attempts remain,
unless the first matching evaluateOnExit rule (onStatusReason, onReason,
onExitCode: globs, case-insensitive; an absent reason is "") says EXIT.
timeout.attemptDurationSeconds (the job's, else the definition's) times
time_scale: SIGTERM to the process group, SIGKILL grace_s * time_scale
later, statusReason "Job attempt duration exceeded timeout", never retried.
TerminateJob: the same signals to a running job, and FAILED with the reason
(never retried); a job not started yet just fails. CancelJob: a job not yet
STARTING or RUNNING fails with the reason; others are left alone. On an
array parent both act on every child. A reclaim (control API) kills the
process group with SIGKILL and records the attempt with statusReason "Host
EC2 (instance i-0123456789abcdef0) terminated." and no exit code.

In podman mode ({"mode": "podman"}) an attempt is instead `podman run
--rm --network host --pull=never --name rapid-batch-<task id> -e NAME...
IMAGE COMMAND...` of the job definition's image (argv[0] left alone: the
image has its own rapid), the same environment passed by name only, so no
value is on a command line; SIGTERM goes to podman, which passes it on;
SIGKILL (the grace over, a reclaim, a reset, the emulator's exit) removes
the container with `podman rm -f -t 0`.

Control API (unsigned JSON; described in __init__.py): POST /__emu/batch
(settings, queues, hold), GET /__emu/batch (everything), GET
/__emu/batch-job?id=ID (one job), POST /__emu/batch-reclaim."""

import base64
import binascii
import collections
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid

from . import model
from .common import ACCOUNT, ApiError, ControlError, Response, log
from .service import Service

STATES = ('SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED')
ENDED = ('SUCCEEDED', 'FAILED')
EXIT_REASON = 'Essential container in task exited'
TIMEOUT_REASON = 'Job attempt duration exceeded timeout'
HOST_REASON = 'Host EC2 (instance i-0123456789abcdef0) terminated.'
DEPENDENCY_REASON = 'Dependent Job failed'
ARRAY_REASON = 'Array Child Job failed'
JOB_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$')
DEFAULT_CE = 'emu-ce'
DEFAULTS = {'slots': 2, 'runner': None, 'job_role': None, 'env': {}, 'time_scale': 1.0, 'grace_s': 30,
            'hold': False, 'image_ids': {}, 'mode': 'process', 'podman': 'podman'}


def now_ms():
    return int(time.time() * 1000)


def client_error(message):
    return ApiError(400, 'ClientException', message)


class Job:
    """A job as Batch knows it: a plain job, an array parent or an array child."""

    def __init__(self, seq, jid, name, queue, definition, body):
        self.seq, self.id, self.name, self.queue, self.definition, self.body = seq, jid, name, queue, definition, body
        self.arn = None
        self.status, self.reason = 'SUBMITTED', None
        self.created, self.started, self.stopped = now_ms(), None, None
        self.size, self.index, self.parent, self.children = 0, None, None, []
        self.deps = []              # (Job, type or None)
        self.sequential = False
        self.attempts = []          # one dict an attempt
        self.proc = None
        self.terminate_reason = None
        self.max_attempts, self.evaluate, self.timeout_s = 1, [], None
        self.command, self.env, self.resources = [], [], []


class Batch(Service):
    name = 'batch'
    SLOWDOWN = (429, 'TooManyRequestsException', 'Too Many Requests')
    INTERNAL = (500, 'ServerException', 'An internal server error occurred.')
    AUTH = {
        'missing': (403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'),
        'malformed': (400, 'IncompleteSignatureException', 'The request signature does not conform to AWS standards.'),
        'unsupported': (400, 'IncompleteSignatureException', 'Unsupported authorization type'),
        'unknown_key': (403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
        'bad_token': (403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
        'bad_date': (400, 'IncompleteSignatureException',
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."),
        'skewed': (403, 'InvalidSignatureException', 'Signature expired'),
        'expired': (403, 'InvalidSignatureException', 'Signature expired'),
        'region': (403, 'InvalidSignatureException', 'Credential should be scoped to a valid region.'),
        'mismatch': (403, 'InvalidSignatureException',
                     'The request signature we calculated does not match the signature you provided. '
                     'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'),
        'noncanonical': (403, 'InvalidSignatureException', ''),
    }

    def __init__(self, region, folder, credentials, metadata):
        self.region, self.folder, self.credentials, self.metadata = region, folder, credentials, metadata
        self.url = None
        self.model = model.service_model('batch')
        self.routes = {}
        for op in self.model.operation_names:
            http = self.model.operation_model(op).http
            self.routes[(http['method'], http['requestUri'])] = op
        self.cv = threading.Condition()
        self.gen = 0
        self.stopping = False
        self.definitions = {}       # name -> {revision: dict}
        self.queues = {}            # name -> dict
        self.environments = {}      # name -> dict
        self.settings = json.loads(json.dumps(DEFAULTS))
        self._clear()
        self._add_environment(DEFAULT_CE, 'arn:aws:batch:%s:%s:compute-environment/%s' % (region, ACCOUNT, DEFAULT_CE))
        self.thread = threading.Thread(target=self._loop, daemon=True, name='batch')
        self.thread.start()

    def attach(self, url):
        """The emulator's address, for the children's environment."""
        self.url = url

    def _clear(self):
        self.jobs = {}                          # id -> Job (children too)
        self.top = []                           # plain jobs and array parents, in submission order
        self.leaves = []                        # plain jobs and children not ended
        self.parents = []                       # array parents not ended
        self.submits = collections.Counter()    # SubmitJob by job name
        self.requests = collections.Counter()   # answered requests by operation
        self.seq = 0

    # --- the protocol

    def claims(self, method, path):
        """An unsigned request (no credential scope) is Batch's if its path is."""
        return (method, path) in self.routes

    def operation(self, req):
        return self.routes.get((req.method, req.path), 'Unknown')

    def error(self, req, status, code, message, extra=None):
        return Response(status, json.dumps({'message': message}).encode(),
                        [('Content-Type', 'application/json'), ('x-amzn-RequestId', req.rid),
                         ('x-amzn-ErrorType', '%s:http://internal.amazon.com/coral/com.amazonaws.batch.v20160810/'
                          % code)])

    def handle(self, req, op):
        if op == 'Unknown':
            return self.error(req, 404, 'UnknownOperationException', 'Unknown operation %s %s' % (
                req.method, req.path))
        with self.cv:
            self.requests[op] += 1
        action = self.actions.get(op)
        if action is None:
            return self.error(req, 400, 'ClientException', 'emulator: %s is not emulated' % op)
        try:
            body = json.loads(req.body or b'{}')
            if not isinstance(body, dict):
                raise ValueError('not an object')
        except ValueError:
            return self.error(req, 400, 'ClientException', 'Error executing request, Exception : the request '
                              'body is not a JSON object, RequestId: %s' % req.rid)
        if op == 'SubmitJob' and isinstance(body.get('jobName'), str):
            with self.cv:
                self.submits[body['jobName']] += 1
        errors = model.check(self.model.operation_model(op).input_shape, body)
        if errors:
            return self.error(req, 400, 'ClientException', model.message(errors))
        try:
            out = action(self, body)
        except ApiError as e:
            return self.error(req, e.status, e.code, e.message)
        return Response(200, json.dumps(out).encode(), [('Content-Type', 'application/json'),
                                                        ('x-amzn-RequestId', req.rid)])

    # --- queues, environments, definitions

    def _add_environment(self, name, arn):
        self.environments[name] = {'computeEnvironmentName': name, 'computeEnvironmentArn': arn,
                                   'type': 'MANAGED', 'state': 'ENABLED', 'status': 'VALID',
                                   'statusReason': 'ComputeEnvironment Healthy', 'tags': {},
                                   'containerOrchestrationType': 'ECS'}

    def add_queue(self, name, arn=None, environments=None, priority=1):
        """Create a job queue (control API, CloudFormation); its ARN."""
        arn = arn or 'arn:aws:batch:%s:%s:job-queue/%s' % (self.region, ACCOUNT, name)
        order = [{'order': i + 1, 'computeEnvironment': ce} for i, ce in enumerate(
            environments or [self.environments[DEFAULT_CE]['computeEnvironmentArn']])]
        with self.cv:
            self.queues[name] = {'jobQueueName': name, 'jobQueueArn': arn, 'state': 'ENABLED', 'status': 'VALID',
                                 'statusReason': 'JobQueue Healthy', 'priority': priority,
                                 'computeEnvironmentOrder': order, 'tags': {}, 'jobStateTimeLimitActions': []}
        return arn

    def _queue(self, ident):
        for q in self.queues.values():
            if ident in (q['jobQueueName'], q['jobQueueArn']):
                return q
        return None

    def _ce_name(self, queue):
        for entry in sorted(queue['computeEnvironmentOrder'], key=lambda e: e['order']):
            for ce in self.environments.values():
                if entry['computeEnvironment'] in (ce['computeEnvironmentArn'], ce['computeEnvironmentName']):
                    return ce['computeEnvironmentName']
        return DEFAULT_CE

    def register(self, body, arn=None):
        """A new revision of a job definition (RegisterJobDefinition, CloudFormation)."""
        name = body['jobDefinitionName']
        with self.cv:
            revisions = self.definitions.setdefault(name, {})
            rev = max(revisions, default=0) + 1
            if arn is not None:
                rev = int(arn.rpartition(':')[2])
            arn = 'arn:aws:batch:%s:%s:job-definition/%s:%d' % (self.region, ACCOUNT, name, rev)
            props = dict(body.get('containerProperties') or {})
            for field in ('command', 'volumes', 'environment', 'mountPoints', 'ulimits', 'resourceRequirements',
                          'secrets'):
                props.setdefault(field, [])
            entry = {'jobDefinitionName': name, 'jobDefinitionArn': arn, 'revision': rev, 'status': 'ACTIVE',
                     'type': body['type'], 'parameters': body.get('parameters') or {},
                     'containerProperties': props, 'tags': body.get('tags') or {},
                     'propagateTags': bool(body.get('propagateTags')), 'platformCapabilities':
                     body.get('platformCapabilities') or ['EC2'], 'containerOrchestrationType': 'ECS'}
            for field in ('retryStrategy', 'timeout', 'schedulingPriority'):
                if body.get(field) is not None:
                    entry[field] = body[field]
            revisions[rev] = entry
        return entry

    def _definition(self, ident):
        """The definition a job names (name, name:rev, ARN), ACTIVE, or None."""
        name, rev = ident, None
        if ident.startswith('arn:'):
            m = re.match(r'^arn:aws:batch:[^:]*:[^:]*:job-definition/([^:]+)(?::(\d+))?$', ident)
            if not m:
                return None
            name, rev = m.group(1), m.group(2)
        elif ':' in ident:
            name, _, rev = ident.rpartition(':')
        revisions = self.definitions.get(name, {})
        if rev is not None:
            entry = revisions.get(int(rev)) if rev.isdigit() else None
            return entry if entry and entry['status'] == 'ACTIVE' else None
        active = [r for r, e in revisions.items() if e['status'] == 'ACTIVE']
        return revisions[max(active)] if active else None

    # --- CloudFormation's resources

    @staticmethod
    def _api_shape(value, keep=False):
        """CloudFormation's PascalCase properties as the API's camelCase."""
        if isinstance(value, dict):
            return {(k if keep else k[:1].lower() + k[1:]): Batch._api_shape(v, k in ('Parameters', 'Tags'))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [Batch._api_shape(v) for v in value]
        return value

    def provision(self, rtype, physical, props):
        """Make a stack's Batch resource exist here: the reason it failed, or None."""
        name = physical.rpartition('/')[2]
        if rtype == 'AWS::Batch::ComputeEnvironment':
            with self.cv:
                self._add_environment(name, physical)
        elif rtype == 'AWS::Batch::JobQueue':
            order = sorted(props.get('ComputeEnvironmentOrder') or [], key=lambda e: int(e.get('Order', 0)))
            self.add_queue(name, physical, [e.get('ComputeEnvironment') for e in order] or None,
                           int(props.get('Priority', 1)))
        elif rtype == 'AWS::Batch::JobDefinition':
            body = self._api_shape({k: v for k, v in props.items() if k != 'JobDefinitionName'})
            body['jobDefinitionName'] = name.partition(':')[0]
            errors = model.check(self.model.operation_model('RegisterJobDefinition').input_shape, body)
            if errors:
                return 'Resource handler returned message: "%s (Service: Batch, Status Code: 400)"' % model.message(
                    errors)
            self.register(body, physical)
        return None

    def unprovision(self, rtype, physical):
        name = physical.rpartition('/')[2]
        with self.cv:
            if rtype == 'AWS::Batch::ComputeEnvironment':
                self.environments.pop(name, None)
            elif rtype == 'AWS::Batch::JobQueue':
                self.queues.pop(name, None)
            elif rtype == 'AWS::Batch::JobDefinition':
                base, _, rev = name.partition(':')
                entry = self.definitions.get(base, {}).get(int(rev or 1))
                if entry:
                    entry['status'] = 'INACTIVE'

    # --- operations

    def submit_job(self, body):
        name = body['jobName']
        if not JOB_NAME_RE.match(name):
            raise client_error('Error executing request, Exception : Job name should match valid pattern')
        with self.cv:
            queue = self._queue(body['jobQueue'])
            if queue is None:
                raise client_error('JobQueue %s not found.' % body['jobQueue'])
            definition = self._definition(body['jobDefinition'])
            if definition is None:
                raise client_error('JobDefinition name %s does not exist or is not in ACTIVE status'
                                   % body['jobDefinition'])
            size = (body.get('arrayProperties') or {}).get('size')
            if size is not None and not 2 <= size <= 10000:
                raise client_error('Error executing request, Exception : Array job size must be between 2 and '
                                   '10000')
            deps = body.get('dependsOn') or []
            if len(deps) > 20:
                raise client_error('Error executing request, Exception : A job can depend upon a maximum of 20 '
                                   'jobs')
            resolved, sequential = [], False
            for dep in deps:
                dtype = dep.get('type')
                if dtype == 'SEQUENTIAL':
                    if dep.get('jobId') or not size:
                        raise client_error('Error executing request, Exception : SEQUENTIAL dependency is for '
                                           'an array job, without jobId')
                    sequential = True
                    continue
                other = self.jobs.get(dep.get('jobId') or '')
                if other is None:
                    raise client_error('Error executing request, Exception : Dependent job ID %s does not exist'
                                       % dep.get('jobId'))
                if dtype == 'N_TO_N' and (not size or other.size != size):
                    raise client_error('Error executing request, Exception : N_TO_N dependency needs two array '
                                       'jobs of the same size (%s: %d, this job: %d)' % (
                                           other.id, other.size, size or 0))
                resolved.append((other, dtype))
            retry = body.get('retryStrategy') or definition.get('retryStrategy') or {}
            attempts = retry.get('attempts', 1)
            if not 1 <= attempts <= 10:
                raise client_error('Error executing request, Exception : Number of attempts must be between 1 and '
                                   '10')
            rules = retry.get('evaluateOnExit') or []
            if len(rules) > 5:
                raise client_error('Error executing request, Exception : At most 5 evaluateOnExit conditions')
            for rule in rules:
                if rule['action'].upper() not in ('RETRY', 'EXIT'):
                    raise client_error("Error executing request, Exception : action must be RETRY or EXIT, got '%s'"
                                       % rule['action'])
            timeout = (body.get('timeout') or {}).get('attemptDurationSeconds')
            if timeout is None:
                timeout = (definition.get('timeout') or {}).get('attemptDurationSeconds')
            if timeout is not None and timeout < 60:
                raise client_error('Error executing request, Exception : Timeout attemptDurationSeconds must be at '
                                   'least 60')
            overrides = body.get('containerOverrides') or {}
            for item in overrides.get('environment') or []:
                if (item.get('name') or '').startswith('AWS_BATCH'):
                    raise client_error('Error executing request, Exception : Environment variable names must not '
                                       'start with AWS_BATCH (%s)' % item['name'])
            props = definition['containerProperties']
            params = dict(definition.get('parameters') or {})
            params.update(body.get('parameters') or {})
            command = overrides.get('command') or props.get('command') or []
            command = [re.sub(r'Ref::([A-Za-z0-9_-]+)', lambda m: params.get(m.group(1), m.group(0)), c)
                       for c in command]
            env = collections.OrderedDict((e['name'], e.get('value', '')) for e in props.get('environment') or [])
            for item in overrides.get('environment') or []:
                env[item['name']] = item.get('value', '')
            resources = collections.OrderedDict((r['type'], r['value']) for r in props.get('resourceRequirements')
                                                or [])
            for item in overrides.get('resourceRequirements') or []:
                resources[item['type']] = item['value']

            jid = str(uuid.uuid4())
            self.seq += 1
            job = Job(self.seq, jid, name, queue, definition, body)
            job.arn = 'arn:aws:batch:%s:%s:job/%s' % (self.region, ACCOUNT, jid)
            job.deps, job.sequential = resolved, sequential
            job.max_attempts, job.evaluate, job.timeout_s = attempts, rules, timeout
            job.command = command
            job.env = [{'name': k, 'value': v} for k, v in env.items()]
            job.resources = [{'type': k, 'value': v} for k, v in resources.items()]
            job.retry = retry or None
            job.timeout = {'attemptDurationSeconds': timeout} if timeout is not None else None
            self.jobs[jid] = job
            self.top.append(job)
            if size:
                job.size = size
                self.parents.append(job)
                for i in range(size):
                    self.seq += 1
                    child = Job(self.seq, '%s:%d' % (jid, i), name, queue, definition, None)
                    child.arn = job.arn + ':%d' % i
                    child.created = job.created
                    for field in ('max_attempts', 'evaluate', 'timeout_s', 'command', 'env', 'resources', 'retry',
                                  'timeout'):
                        setattr(child, field, getattr(job, field))
                    child.index, child.parent = i, job
                    job.children.append(child)
                    self.jobs[child.id] = child
                    self.leaves.append(child)
            else:
                self.leaves.append(job)
            self.cv.notify_all()
        log.info('batch: submitted %s %s (size %d)', jid, name, size or 0)
        return {'jobArn': job.arn, 'jobName': name, 'jobId': jid}

    def describe_jobs(self, body):
        ids = body['jobs']
        if len(ids) > 100:
            raise client_error('Error executing request, Exception : Maximum number of jobs is 100')
        with self.cv:
            return {'jobs': [self._detail(self.jobs[i]) for i in ids if i in self.jobs]}

    def _status_summary(self, job):
        counts = collections.Counter(c.status for c in job.children)
        return {s: counts.get(s, 0) for s in STATES}

    def _container(self, job, attempt=None):
        props = job.definition['containerProperties']
        out = {'image': props.get('image'), 'command': list(job.command), 'volumes': props.get('volumes') or [],
               'environment': list(job.env), 'mountPoints': props.get('mountPoints') or [],
               'ulimits': props.get('ulimits') or [], 'resourceRequirements': list(job.resources),
               'secrets': props.get('secrets') or [], 'networkInterfaces': []}
        for field in ('jobRoleArn', 'executionRoleArn', 'privileged', 'user', 'linuxParameters',
                      'logConfiguration', 'readonlyRootFilesystem'):
            if props.get(field) is not None:
                out[field] = props[field]
        if attempt is not None:
            out.update(self._attempt_container(attempt))
        return out

    def _attempt_container(self, att):
        out = {'containerInstanceArn': 'arn:aws:ecs:%s:%s:container-instance/%s/%s' % (
            self.region, ACCOUNT, att['ce'], att['task']), 'taskArn': att['task_arn'],
            'logStreamName': att['log_stream'], 'networkInterfaces': []}
        if att.get('exit_code') is not None:
            out['exitCode'] = att['exit_code']
        if att.get('reason'):
            out['reason'] = att['reason']
        return out

    def _detail(self, job):
        root = job.parent or job
        out = {'jobArn': job.arn, 'jobName': job.name, 'jobId': job.id, 'jobQueue': job.queue['jobQueueArn'],
               'status': job.status, 'createdAt': job.created, 'jobDefinition': job.definition['jobDefinitionArn'],
               'dependsOn': [dict(d) for d in (root.body.get('dependsOn') or [])],
               'parameters': dict(root.body.get('parameters') or {}), 'propagateTags':
               bool(root.body.get('propagateTags')), 'platformCapabilities': ['EC2'], 'eksAttempts': [],
               'attempts': [self._attempt_detail(a) for a in job.attempts if a.get('stopped') is not None]}
        if job.parent is None and root.body.get('tags'):
            out['tags'] = dict(root.body['tags'])
        for field, value in (('statusReason', job.reason), ('startedAt', job.started), ('stoppedAt', job.stopped),
                             ('retryStrategy', job.retry), ('timeout', job.timeout)):
            if value is not None:
                out[field] = value
        out['container'] = self._container(job, job.attempts[-1] if job.attempts else None)
        if job.size:
            out['arrayProperties'] = {'statusSummary': self._status_summary(job), 'size': job.size}
        elif job.index is not None:
            out['arrayProperties'] = {'index': job.index}
        return out

    def _attempt_detail(self, att):
        out = {'container': self._attempt_container(att), 'startedAt': att['started'], 'stoppedAt': att['stopped']}
        if att.get('status_reason'):
            out['statusReason'] = att['status_reason']
        return out

    def _summary(self, job):
        out = {'jobArn': job.arn, 'jobId': job.id, 'jobName': job.name, 'createdAt': job.created,
               'status': job.status, 'jobDefinition': job.definition['jobDefinitionArn']}
        for field, value in (('statusReason', job.reason), ('startedAt', job.started), ('stoppedAt', job.stopped)):
            if value is not None:
                out[field] = value
        if job.attempts and job.attempts[-1].get('stopped') is not None:
            att = job.attempts[-1]
            out['container'] = {k: v for k, v in (('exitCode', att.get('exit_code')), ('reason', att.get('reason')))
                                if v is not None}
        if job.size:
            out['arrayProperties'] = {'size': job.size}
        elif job.index is not None:
            out['arrayProperties'] = {'index': job.index}
        return out

    @staticmethod
    def _glob(pattern, text):
        """Batch's globs: case-insensitive, '*' only at the end (elsewhere literal)."""
        pattern, text = pattern.lower(), (text or '').lower()
        if pattern.endswith('*'):
            return text.startswith(pattern[:-1])
        return text == pattern

    def _token(self, key, offset):
        return base64.b64encode(json.dumps([key, offset]).encode()).decode()

    def _untoken(self, token, key):
        try:
            got, offset = json.loads(base64.b64decode(token, validate=True))
            if got == key and isinstance(offset, int) and offset >= 0:
                return offset
        except (binascii.Error, ValueError, TypeError):
            pass
        raise client_error('Error executing request, Exception : Invalid nextToken')

    def _page(self, items, body, key, default=100, limit=1000):
        size = body.get('maxResults') or default
        if not 1 <= size <= limit:
            raise client_error('Error executing request, Exception : maxResults must be between 1 and %d' % limit)
        start = self._untoken(body['nextToken'], key) if body.get('nextToken') else 0
        page = items[start:start + size]
        token = self._token(key, start + size) if start + size < len(items) else None
        return page, token

    def list_jobs(self, body):
        given = [f for f in ('jobQueue', 'arrayJobId', 'multiNodeJobId') if body.get(f)]
        if len(given) != 1:
            raise client_error('Error executing request, Exception : Exactly one of jobQueue, arrayJobId or '
                               'multiNodeJobId must be given')
        filters = body.get('filters') or []
        with self.cv:
            if body.get('jobQueue'):
                queue = self._queue(body['jobQueue'])
                if queue is None:
                    raise client_error('JobQueue %s not found.' % body['jobQueue'])
                jobs = [j for j in self.top if j.queue is queue]
            elif body.get('arrayJobId'):
                parent = self.jobs.get(body['arrayJobId'])
                if parent is None or not parent.size:
                    raise client_error('Error executing request, Exception : Array job %s not found'
                                       % body['arrayJobId'])
                jobs = list(parent.children)
            else:
                jobs = []
            if filters:
                for f in filters:
                    name, values = (f.get('name') or '').upper(), f.get('values') or []
                    if name == 'JOB_NAME':
                        jobs = [j for j in jobs if any(self._glob(v, j.name) for v in values)]
                    elif name == 'JOB_DEFINITION':
                        jobs = [j for j in jobs if any(
                            self._glob(v, j.definition['jobDefinitionName']) or self._glob(v, '%s:%d' % (
                                j.definition['jobDefinitionName'], j.definition['revision'])) or
                            self._glob(v, j.definition['jobDefinitionArn']) for v in values)]
                    elif name in ('BEFORE_CREATED_AT', 'AFTER_CREATED_AT'):
                        try:
                            marks = [int(v) for v in values]
                        except ValueError:
                            raise client_error('Error executing request, Exception : %s wants a time in '
                                               'milliseconds' % name) from None
                        jobs = [j for j in jobs if all((j.created < m) if name == 'BEFORE_CREATED_AT' else
                                                       (j.created > m) for m in marks)]
                    else:
                        raise client_error('Error executing request, Exception : Unknown filter name %s'
                                           % f.get('name'))
            else:
                status = body.get('jobStatus') or 'RUNNING'
                jobs = [j for j in jobs if j.status == status]
            key = json.dumps({k: body.get(k) for k in ('jobQueue', 'arrayJobId', 'jobStatus', 'filters')},
                             sort_keys=True)
            page, token = self._page(jobs, body, key)
            out = {'jobSummaryList': [self._summary(j) for j in page]}
        if token:
            out['nextToken'] = token
        return out

    def _for_each(self, job_id, what, reason):
        job = self.jobs.get(job_id)
        if job is None:
            raise client_error('Error executing request, Exception : Job %s not found' % job_id)
        if job.size and job.status not in ENDED:
            job.terminate_reason = reason       # the parent's statusReason when its children are done
        for leaf in (job.children if job.size else [job]):
            what(leaf)
        self.cv.notify_all()

    def terminate_job(self, body):
        reason = body['reason']

        def terminate(leaf):
            if leaf.status in ENDED:
                return
            if leaf.status in ('STARTING', 'RUNNING'):
                leaf.terminate_reason = reason
                if leaf.proc is not None:
                    self._stop(leaf, leaf.attempts[-1])
            else:
                self._end(leaf, 'FAILED', reason)
        with self.cv:
            self._for_each(body['jobId'], terminate, reason)
        return {}

    def cancel_job(self, body):
        reason = body['reason']

        def cancel(leaf):
            if leaf.status in ('SUBMITTED', 'PENDING', 'RUNNABLE'):
                self._end(leaf, 'FAILED', reason)
        with self.cv:
            self._for_each(body['jobId'], cancel, reason)
        return {}

    def register_job_definition(self, body):
        name = body['jobDefinitionName']
        if not re.match(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$', name):
            raise client_error('Error executing request, Exception : Job definition name should match valid '
                               'pattern')
        if body['type'] == 'container' and not (body.get('containerProperties') or {}).get('image'):
            raise client_error('Error executing request, Exception : containerProperties.image is required for a '
                               'container job definition')
        entry = self.register(body)
        return {'jobDefinitionName': name, 'jobDefinitionArn': entry['jobDefinitionArn'],
                'revision': entry['revision']}

    def describe_job_definitions(self, body):
        with self.cv:
            every = [e for revs in self.definitions.values() for e in revs.values()]
            every.sort(key=lambda e: (e['jobDefinitionName'], e['revision']))
            if body.get('jobDefinitions'):
                if len(body['jobDefinitions']) > 100:
                    raise client_error('Error executing request, Exception : Maximum number of job definitions '
                                       'is 100')
                wanted = set(body['jobDefinitions'])
                every = [e for e in every if {e['jobDefinitionArn'], e['jobDefinitionName'], '%s:%d' % (
                    e['jobDefinitionName'], e['revision'])} & wanted]
            if body.get('jobDefinitionName'):
                every = [e for e in every if e['jobDefinitionName'] == body['jobDefinitionName']]
            if body.get('status'):
                every = [e for e in every if e['status'] == body['status'].upper()]
            key = json.dumps({k: body.get(k) for k in ('jobDefinitions', 'jobDefinitionName', 'status')},
                             sort_keys=True)
            page, token = self._page(every, body, key)
            out = {'jobDefinitions': json.loads(json.dumps(page))}
        if token:
            out['nextToken'] = token
        return out

    def describe_job_queues(self, body):
        with self.cv:
            queues = [q for q in self.queues.values() if not body.get('jobQueues') or
                      {q['jobQueueName'], q['jobQueueArn']} & set(body['jobQueues'])]
            page, token = self._page(queues, body, json.dumps(body.get('jobQueues')))
            out = {'jobQueues': json.loads(json.dumps(page))}
        if token:
            out['nextToken'] = token
        return out

    def describe_compute_environments(self, body):
        with self.cv:
            ces = [c for c in self.environments.values() if not body.get('computeEnvironments') or
                   {c['computeEnvironmentName'], c['computeEnvironmentArn']} & set(body['computeEnvironments'])]
            page, token = self._page(ces, body, json.dumps(body.get('computeEnvironments')))
            out = {'computeEnvironments': json.loads(json.dumps(page))}
        if token:
            out['nextToken'] = token
        return out

    actions = {'SubmitJob': submit_job, 'DescribeJobs': describe_jobs, 'ListJobs': list_jobs,
               'TerminateJob': terminate_job, 'CancelJob': cancel_job,
               'RegisterJobDefinition': register_job_definition,
               'DescribeJobDefinitions': describe_job_definitions, 'DescribeJobQueues': describe_job_queues,
               'DescribeComputeEnvironments': describe_compute_environments}

    # --- the scheduler (everything below runs with self.cv held unless it says not)

    def _end(self, job, status, reason):
        job.status, job.reason, job.stopped = status, reason, now_ms()

    def _dep_state(self, job):
        """'ok', 'wait' or 'failed': whether job's dependencies let it run."""
        root = job.parent or job
        states = []
        for dep, dtype in root.deps:
            target = dep.children[job.index] if dtype == 'N_TO_N' and job.index is not None else dep
            states.append(target.status)
        if root.sequential and job.index:
            states.append(root.children[job.index - 1].status)
        if 'FAILED' in states:
            return 'failed'
        return 'ok' if all(s == 'SUCCEEDED' for s in states) else 'wait'

    def _update_parent(self, job):
        summary = self._status_summary(job)
        ended = summary['SUCCEEDED'] + summary['FAILED']
        before = job.status
        if ended == job.size:
            if job.status not in ENDED:
                self._end(job, 'SUCCEEDED' if summary['FAILED'] == 0 else 'FAILED',
                          None if summary['FAILED'] == 0 else job.terminate_reason or ARRAY_REASON)
        elif job.status == 'SUBMITTED' and summary['SUBMITTED'] < job.size:
            job.status = 'PENDING'
        starts = [c.started for c in job.children if c.started]
        if starts and job.started is None:
            job.started = min(starts)
        return job.status != before

    def _advance(self):
        changed = False
        running = sum(1 for j in self.leaves if j.status in ('STARTING', 'RUNNING'))
        for job in self.leaves:
            if job.status in ENDED or job.status in ('STARTING', 'RUNNING'):
                continue
            can_start = not self.settings['hold'] and running < self.settings['slots'] and not self.stopping
            if job.status == 'RUNNABLE' and not can_start:
                continue        # its dependencies were met: it only waits for a slot
            state = self._dep_state(job)
            if state == 'failed':
                self._end(job, 'FAILED', DEPENDENCY_REASON)
                changed = True
                continue
            if state == 'wait':
                if job.status != 'PENDING':
                    job.status, changed = 'PENDING', True
                continue
            if job.status != 'RUNNABLE':
                job.status, changed = 'RUNNABLE', True
            if can_start:
                self._start(job)
                running += 1
                changed = True
        for job in self.parents:
            changed = self._update_parent(job) or changed
        self.parents = [j for j in self.parents if j.status not in ENDED]
        self.leaves = [j for j in self.leaves if j.status not in ENDED]
        return changed

    def _loop(self):
        with self.cv:
            while not self.stopping:
                try:
                    for _ in range(10):
                        if not self._advance():
                            break
                except Exception:
                    log.exception('batch: the scheduler failed')
                self.cv.wait(0.5)

    # --- running an attempt

    def _start(self, job):
        job.status = 'STARTING'
        task = uuid.uuid4().hex
        ce = self._ce_name(job.queue)
        n = len(job.attempts) + 1
        logs = os.path.join(self.folder, 'logs')
        os.makedirs(logs, exist_ok=True)
        att = {'attempt': n, 'task': task, 'ce': ce, 'pid': None, 'started': None, 'stopped': None,
               'exit_code': None, 'status_reason': None, 'reason': None, 'signals': [],
               'task_arn': 'arn:aws:ecs:%s:%s:task/%s/%s' % (self.region, ACCOUNT, ce, task),
               'log_stream': '%s/default/%s' % (job.definition['jobDefinitionName'], task),
               'log': os.path.join(logs, '%s.%d.log' % (job.id.replace(':', '-'), n)),
               'dir': os.path.join(self.folder, 'work', task), 'command': None}
        job.attempts.append(att)
        threading.Thread(target=self._run, args=(job, att, self.gen), daemon=True,
                         name='batch-' + job.id).start()

    def _environment(self, job, att):
        props = job.definition['containerProperties']
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': att['dir']}
        for item in job.env:
            env[item['name']] = item['value']
        env['AWS_BATCH_JOB_ID'] = job.id
        if job.index is not None:
            env['AWS_BATCH_JOB_ARRAY_INDEX'] = str(job.index)
        env['AWS_BATCH_JOB_ATTEMPT'] = str(att['attempt'])
        env['AWS_BATCH_JQ_NAME'] = job.queue['jobQueueName']
        env['AWS_BATCH_CE_NAME'] = att['ce']
        if self.url:
            token = self.credentials.grant(self.settings['job_role'])
            att['token'] = token
            env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = self.url + '/__emu/container-credentials'
            env['AWS_CONTAINER_AUTHORIZATION_TOKEN'] = token
            image = props.get('image') or ''
            self.metadata.add_task(att['task'], image, self.settings['image_ids'].get(image), att['task_arn'])
            env['ECS_CONTAINER_METADATA_URI_V4'] = self.url + '/__emu/ecs-metadata/' + att['task']
            env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] = self.url + '/__emu/imds'
            env['AWS_ENDPOINT_URL'] = self.url
        env['AWS_REGION'] = env['AWS_DEFAULT_REGION'] = self.region
        env.update(self.settings['env'])
        return env

    def _run(self, job, att, gen):
        """One attempt, in its own thread (the lock is not held here)."""
        with self.cv:
            env = self._environment(job, att)
            argv = list(job.command)
            container = None
            if self.settings['mode'] == 'podman':
                # The job's environment by name only: values never on a command line.
                container = 'rapid-batch-' + att['task']
                names = [n for n in env if n not in ('PATH', 'HOME')]
                argv = [self.settings['podman'], 'run', '--rm', '--network', 'host', '--pull=never',
                        '--name', container] + [a for n in names for a in ('-e', n)] + [
                            job.definition['containerProperties'].get('image') or ''] + argv
                env = dict(os.environ, **{n: env[n] for n in names})
            elif argv and argv[0] == 'rapid' and self.settings['runner']:
                argv[0] = self.settings['runner']
            att['command'] = argv
            scale = self.settings['time_scale']
        proc, error = None, None
        os.makedirs(att['dir'], exist_ok=True)
        # Started with the lock held: whoever sees the process (a file it
        # wrote) and then asks sees the job RUNNING.
        with self.cv:
            if gen != self.gen or self.stopping:
                self.credentials.revoke(att.get('token'))
                return
            try:
                if not argv:
                    raise OSError(0, 'the job has no command')
                with open(att['log'], 'ab') as out:
                    proc = subprocess.Popen(argv, env=env, cwd=att['dir'], stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
                proc.container = container
            except OSError as e:
                error = 'CannotStartContainerError: %s: %s' % (argv[0] if argv else '(no command)', e.strerror)
            att['started'] = now_ms()
            if error is None:
                att['pid'] = proc.pid
                job.proc = proc
                job.status, job.started = 'RUNNING', att['started']
                if job.terminate_reason:
                    self._stop(job, att)
            self.cv.notify_all()
        rc = None
        if proc is not None:
            limit = job.timeout_s * scale if job.timeout_s else None
            try:
                rc = proc.wait(limit)
            except subprocess.TimeoutExpired:
                with self.cv:
                    att['timed_out'] = True
                    self._stop(job, att)
                rc = proc.wait()
            self._kill(proc)
        with self.cv:
            if gen == self.gen:
                self._finish(job, att, rc, error)
                self.cv.notify_all()
        if att.get('token'):
            self.credentials.revoke(att['token'])

    def _stop(self, job, att):
        """SIGTERM to the attempt's process group, SIGKILL after the grace period."""
        proc = job.proc
        if proc is None:
            return
        att['signals'].append('TERM')
        self._signal(proc, signal.SIGTERM)
        grace = self.settings['grace_s'] * self.settings['time_scale']

        def kill():
            if proc.poll() is None:
                with self.cv:
                    att['signals'].append('KILL')
                self._signal(proc, signal.SIGKILL)
        timer = threading.Timer(grace, kill)
        timer.daemon = True
        timer.start()

    def _signal(self, proc, sig, wait=False):
        """sig to the attempt's process group; SIGKILL removes its container
        too (podman run passes SIGTERM on, but dies alone of SIGKILL)."""
        name = getattr(proc, 'container', None)
        if name and sig == signal.SIGKILL:
            try:
                rm = subprocess.Popen([self.settings['podman'], 'rm', '-f', '-t', '0', name], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if wait:
                    rm.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass

    def _kill(self, proc):
        """The rest of a finished (or abandoned) attempt's process group goes too."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        if proc.poll() is None:
            self._signal(proc, signal.SIGKILL)
        if proc.poll() is None:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def _retry(self, job, att):
        if len(job.attempts) >= job.max_attempts:
            return False
        for rule in job.evaluate:
            conditions = []
            if rule.get('onStatusReason') is not None:
                conditions.append(self._glob(rule['onStatusReason'], att.get('status_reason')))
            if rule.get('onReason') is not None:
                conditions.append(self._glob(rule['onReason'], att.get('reason')))
            if rule.get('onExitCode') is not None:
                conditions.append(att.get('exit_code') is not None and
                                  self._glob(rule['onExitCode'], str(att['exit_code'])))
            if all(conditions):
                return rule['action'].upper() == 'RETRY'
        return True

    def _finish(self, job, att, rc, error):
        att['stopped'] = now_ms()
        job.proc = None
        if error is not None:
            att['reason'], att['status_reason'] = error, 'Task failed to start'
        elif att.get('reclaimed'):
            att['status_reason'] = HOST_REASON
        else:
            att['exit_code'] = rc if rc >= 0 else 128 - rc
            att['status_reason'] = TIMEOUT_REASON if att.get('timed_out') else EXIT_REASON
        log.info('batch: %s attempt %d ended: %s (exit %s)', job.id, att['attempt'], att['status_reason'],
                 att['exit_code'])
        if att['exit_code'] == 0 and not att.get('reclaimed'):
            self._end(job, 'SUCCEEDED', EXIT_REASON)
        elif job.terminate_reason:
            self._end(job, 'FAILED', job.terminate_reason)
        elif att.get('timed_out') or not self._retry(job, att):
            self._end(job, 'FAILED', att['status_reason'])
        else:
            job.status, job.reason = 'RUNNABLE', None

    # --- control

    def control_routes(self):
        return {('GET', 'batch'): self.control_state, ('POST', 'batch'): self.control_configure,
                ('GET', 'batch-job'): self.control_job, ('POST', 'batch-reclaim'): self.control_reclaim}

    def control_configure(self, req, spec):
        """{"slots", "runner", "job_role", "env", "time_scale", "grace_s", "hold", "release", "image_ids",
        "queue"}"""
        unknown = set(spec) - set(DEFAULTS) - {'release', 'queue'}
        if unknown:
            raise ValueError('unknown batch fields: %s' % ', '.join(sorted(unknown)))
        checks = {'slots': lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1000,
                  'runner': lambda v: v is None or (isinstance(v, str) and v),
                  'job_role': lambda v: v is None or v in self.credentials.creds,
                  'env': lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                  'time_scale': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 100,
                  'grace_s': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 3600,
                  'hold': lambda v: isinstance(v, bool), 'release': lambda v: isinstance(v, bool),
                  'image_ids': lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
                  'queue': lambda v: isinstance(v, str) and re.match(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$', v),
                  'mode': lambda v: v in ('process', 'podman'), 'podman': lambda v: isinstance(v, str) and v}
        words = {'slots': 'a whole number of slots (0..1000)', 'runner': 'a path (or null)',
                 'job_role': 'the access key id of a --cred (or null: the first with a session token)',
                 'env': 'an object of strings', 'time_scale': 'a number above 0, at most 100',
                 'grace_s': 'a number of seconds', 'hold': 'true or false', 'release': 'true or false',
                 'image_ids': 'an object of image -> "sha256:..."', 'queue': 'a job queue name',
                 'mode': '"process" or "podman"', 'podman': 'the podman to run'}
        for name, value in spec.items():
            if not checks[name](value):
                raise ValueError('"%s" must be %s' % (name, words[name]))
        out = {}
        if 'queue' in spec:
            out['jobQueueArn'] = self.add_queue(spec['queue'])
        with self.cv:
            for name in DEFAULTS:
                if name in spec:
                    self.settings[name] = spec[name]
            if spec.get('release'):
                self.settings['hold'] = False
            self.cv.notify_all()
        return out

    def _job_state(self, job, children=True):
        out = {'id': job.id, 'name': job.name, 'status': job.status, 'statusReason': job.reason,
               'queue': job.queue['jobQueueName'], 'definition': job.definition['jobDefinitionArn'],
               'size': job.size, 'index': job.index, 'parent': job.parent.id if job.parent else None,
               'created_ms': job.created, 'started_ms': job.started, 'stopped_ms': job.stopped,
               'attempts': [{k: a.get(k) for k in ('attempt', 'task', 'pid', 'started', 'stopped', 'exit_code',
                                                   'status_reason', 'reason', 'log', 'log_stream', 'dir',
                                                   'command', 'signals')} for a in job.attempts]}
        if job.parent is None:
            out['submit'] = job.body
        if job.size:
            out['summary'] = self._status_summary(job)
            if children:
                out['children'] = [self._job_state(c) for c in job.children]
        return out

    def control_state(self, req, spec):
        params = dict(urllib.parse.parse_qsl(req.query))
        with self.cv:
            jobs = self.top
            if params.get('name'):
                jobs = [j for j in jobs if j.name == params['name']]
            return {'config': dict(self.settings), 'dir': self.folder,
                    'running': sum(1 for j in self.leaves if j.status in ('STARTING', 'RUNNING')),
                    'jobs': [self._job_state(j) for j in jobs], 'submits': dict(self.submits),
                    'requests': dict(self.requests),
                    'queues': sorted(q['jobQueueName'] for q in self.queues.values()),
                    'definitions': sorted(e['jobDefinitionArn'] for r in self.definitions.values()
                                          for e in r.values() if e['status'] == 'ACTIVE')}

    def control_job(self, req, spec):
        params = dict(urllib.parse.parse_qsl(req.query))
        with self.cv:
            job = self.jobs.get(params.get('id', ''))
            if job is None:
                raise ControlError(404, 'no job %s' % params.get('id'))
            return self._job_state(job)

    def _find_leaf(self, ident, index):
        job = self.jobs.get(ident)
        if job is None:
            named = [j for j in self.top if j.name == ident]
            job = named[-1] if named else None
        if job is None:
            raise ControlError(404, 'no job with the id or name %s' % ident)
        if job.size:
            if index is None or not 0 <= index < job.size:
                raise ControlError(400, 'job %s is an array of %d: give its "index"' % (job.id, job.size))
            job = job.children[index]
        return job

    def control_reclaim(self, req, spec):
        """{"job": ID or name, "index": N}: the host under that running child goes away."""
        ident, index = spec.get('job'), spec.get('index')
        if not isinstance(ident, str) or not (index is None or (isinstance(index, int) and
                                                                  not isinstance(index, bool))):
            raise ValueError('"job" must be a job id or name, "index" a whole number')
        with self.cv:
            job = self._find_leaf(ident, index)
            if job.proc is None or job.status != 'RUNNING':
                raise ControlError(409, 'job %s is %s, not running' % (job.id, job.status))
            att = job.attempts[-1]
            att['reclaimed'] = True
            att['signals'].append('KILL')
            self._signal(job.proc, signal.SIGKILL)
            return {'job': job.id, 'attempt': att['attempt'], 'pid': att['pid']}

    def reset(self):
        """Every job goes (its processes killed); the counts too; the hold is lifted.
        Settings, queues and definitions stay."""
        with self.cv:
            self._kill_all()
            self.gen += 1
            self._clear()
            self.settings['hold'] = False
            self.cv.notify_all()

    def _kill_all(self, wait=False):
        for job in self.leaves:
            if job.proc is not None:
                self._signal(job.proc, signal.SIGKILL, wait)

    def shutdown(self):
        """The emulator is going: no child outlives it."""
        with self.cv:
            self.stopping = True
            procs = [j.proc for j in self.leaves if j.proc is not None]
            self._kill_all(wait=True)
            self.cv.notify_all()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
