"""The metadata services a Batch child asks about the machine it runs on,
on control routes of the emulator's port:

  * the ECS task metadata endpoint v4: point ECS_CONTAINER_METADATA_URI_V4
    at $EMU_URL/__emu/ecs-metadata; GET of it is the container's metadata
    (DockerId, Name, Image, ImageID, Labels, ... as the ECS agent answers),
    GET of .../task the task's, with the container in "Containers"; a
    Batch task has its own, $EMU_URL/__emu/ecs-metadata/<task id> (and
    .../task), which tells its job definition's image and that image's
    digest (the configured image_id unless the task was given its own);
  * IMDSv2: point AWS_EC2_METADATA_SERVICE_ENDPOINT at $EMU_URL/__emu/imds;
    PUT /latest/api/token wants X-aws-ec2-metadata-token-ttl-seconds
    (1..21600, else 400) and answers a token (text/plain); GET
    /latest/meta-data/instance-type wants a token it gave and has not
    expired in X-aws-ec2-metadata-token (else 401).

POST /__emu/metadata sets what they say and how they behave, GET
/__emu/metadata tells it and every request they received (control API in
__init__.py)."""

import json
import threading
import time
import uuid

from .common import ControlError, Response, rand

DEFAULT_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/rapidtide:3.2.0'
DEFAULT_IMAGE_ID = 'sha256:' + '5e' * 32
DEFAULT_INSTANCE_TYPE = 'm7g.xlarge'
HOLD_MAX_S = 120
SERVICES = ('ecs', 'token', 'imds')


class Metadata:
    """The ECS agent's task metadata and the instance's IMDSv2, one
    container on one instance."""

    def __init__(self):
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.reset()

    def control_routes(self):
        return {('GET', 'ecs-metadata'): self.ecs_container,
                ('GET', 'ecs-metadata/task'): self.ecs_task,
                ('PUT', 'imds/latest/api/token'): self.imds_token,
                ('GET', 'imds/latest/meta-data/instance-type'): self.imds_instance_type,
                ('POST', 'metadata'): self.configure,
                ('GET', 'metadata'): self.dump}

    def control_prefixes(self):
        """Routes whose name begins with the key: the tasks' own endpoints."""
        return {('GET', 'ecs-metadata/'): self.ecs_task_routes}

    def add_task(self, task, image, image_id, task_arn):
        """A Batch task's endpoint, ecs-metadata/<task>: image, and image_id
        (None: the configured one)."""
        with self.lock:
            self.tasks[task] = {'image': image, 'image_id': image_id, 'task_arn': task_arn}

    def ecs_task_routes(self, req, spec, rest):
        task, _, tail = rest.partition('/')
        with self.lock:
            known = self.tasks.get(task)
        if known is None or tail not in ('', 'task'):
            raise ControlError(404, 'no ECS task %s' % task)
        return (self.ecs_task if tail else self.ecs_container)(req, spec, known)

    def reset(self):
        with self.lock:
            self.tasks = {}
            self.image = DEFAULT_IMAGE
            self.image_id = DEFAULT_IMAGE_ID
            self.instance_type = DEFAULT_INSTANCE_TYPE
            self.hold = set()
            self.absent = set()
            self.tokens = {}
            self.requests = []
            old, self.released = self.released, threading.Event()
        old.set()

    # --- control

    def configure(self, req, spec):
        """{"image_id": "sha256:...", "image": "...", "instance_type": "...",
        "hold": ["ecs", "token", "imds"], "absent": [...], "release": true}"""
        with self.lock:
            for name in ('image_id', 'image', 'instance_type'):
                if name in spec:
                    if spec[name] is not None and not isinstance(spec[name], str):
                        raise ValueError('"%s" must be a string or null' % name)
                    setattr(self, name, spec[name])
            for name in ('hold', 'absent'):
                if name in spec:
                    value = spec[name]
                    if not isinstance(value, list) or any(v not in SERVICES for v in value):
                        raise ValueError('"%s" must be a list of %s' % (name, ', '.join(SERVICES)))
                    setattr(self, name, set(value))
            old = None
            if spec.get('release'):
                self.hold = set()
                old, self.released = self.released, threading.Event()
        if old is not None:
            old.set()
        return {}

    def dump(self, req, spec):
        with self.lock:
            return {'image_id': self.image_id, 'image': self.image, 'instance_type': self.instance_type,
                    'hold': sorted(self.hold), 'absent': sorted(self.absent),
                    'held': sum(1 for r in self.requests if r['status'] is None),
                    'requests': [dict(r) for r in self.requests]}

    # --- the services

    def serve(self, service, req, answer):
        """Log the request, wait while its service is held, then answer
        with answer() (a Response), or 404 while it is absent."""
        entry = {'seq': 0, 'service': service, 'method': req.method, 'path': req.path,
                 'ttl': req.headers.get('X-aws-ec2-metadata-token-ttl-seconds'),
                 'token': req.headers.get('X-aws-ec2-metadata-token') is not None, 'status': None}
        with self.lock:
            entry['seq'] = len(self.requests) + 1
            self.requests.append(entry)
            held, released = service in self.hold, self.released
        if held:
            released.wait(HOLD_MAX_S)
        with self.lock:
            absent = service in self.absent
        try:
            response = Response(404, b'Not Found', [('Content-Type', 'text/plain')]) if absent else answer()
        except ControlError as e:
            response = Response(e.status, str(e).encode(), [('Content-Type', 'text/plain')])
        with self.lock:
            entry['status'] = response.status
        return response

    def container(self, task=None):
        image = task['image'] if task else self.image
        image_id = (task['image_id'] if task else None) or self.image_id
        return {'DockerId': uuid.uuid4().hex + uuid.uuid4().hex, 'Name': 'default',
                'DockerName': 'ecs-rapid-1-default-' + rand(20).lower(),
                'Image': image, 'ImageID': image_id,
                'Labels': {'com.amazonaws.ecs.cluster': 'rapid', 'com.amazonaws.ecs.container-name': 'default'},
                'DesiredStatus': 'RUNNING', 'KnownStatus': 'RUNNING',
                'Limits': {'CPU': 2, 'Memory': 4096},
                'CreatedAt': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                'StartedAt': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                'Type': 'NORMAL'}

    @staticmethod
    def json_response(obj):
        return Response(200, json.dumps(obj).encode(), [('Content-Type', 'application/json')])

    def ecs_container(self, req, spec, task=None):
        def answer():
            c = self.container(task)
            if c['ImageID'] is None:
                del c['ImageID']
            return self.json_response(c)
        return self.serve('ecs', req, answer)

    def ecs_task(self, req, spec, task=None):
        def answer():
            c = self.container(task)
            if c['ImageID'] is None:
                del c['ImageID']
            arn = task['task_arn'] if task else 'arn:aws:ecs:us-east-1:123456789012:task/rapid/' + uuid.uuid4().hex
            return self.json_response({'Cluster': 'rapid', 'TaskARN': arn, 'Family': 'rapid', 'Revision': '1',
                                       'DesiredStatus': 'RUNNING', 'KnownStatus': 'RUNNING',
                                       'LaunchType': 'EC2', 'Containers': [c]})
        return self.serve('ecs', req, answer)

    def imds_token(self, req, spec):
        def answer():
            ttl = req.headers.get('X-aws-ec2-metadata-token-ttl-seconds')
            if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                raise ControlError(400, 'Bad Request')
            token = 'emu-imds-' + rand(40)
            with self.lock:
                self.tokens[token] = time.time() + int(ttl)
            return Response(200, token.encode(), [('Content-Type', 'text/plain'),
                                                  ('X-aws-ec2-metadata-token-ttl-seconds', ttl)])
        return self.serve('token', req, answer)

    def imds_instance_type(self, req, spec):
        def answer():
            token = req.headers.get('X-aws-ec2-metadata-token')
            with self.lock:
                expires = self.tokens.get(token or '')
            if expires is None or expires < time.time():
                raise ControlError(401, 'Unauthorized')
            if self.instance_type is None:
                raise ControlError(404, 'Not Found')
            return Response(200, self.instance_type.encode(), [('Content-Type', 'text/plain')])
        return self.serve('imds', req, answer)
