"""CloudFormation (the Query protocol): stacks created and deleted resource
by resource, in dependency order, as stack events."""

import base64
import binascii
import json
import math
import random
import re
import threading
import time
import urllib.parse
import uuid

from .cfn_template import (CFN_NS, RESOURCE_TYPES, STACK_NAME_RE, CfnTemplate, Evaluator, _physical_name,
                           cfn_error, cfn_time, scalar_text)
from .common import ACCOUNT, ALNUM, ApiError, log
from .s3 import BUCKET_RE, OBJ
from .service import QueryService, query_members

class CfnResource:
    def __init__(self, logical, spec):
        self.logical, self.rtype = logical, spec['Type']
        self.retain = spec.get('DeletionPolicy') == 'Retain'
        self.status = self.reason = self.updated = None
        self.physical, self.attrs, self.props = None, {}, {}
        self.announced = False  # its physical id has appeared in an event
        self.created = False    # exists in the (emulated) world


class CfnStack:
    def __init__(self, cfn, name, template, region):
        self.cfn, self.name, self.template, self.region = cfn, name, template, region
        self.id = 'arn:aws:cloudformation:%s:%s:stack/%s/%s' % (region, ACCOUNT, name, uuid.uuid4())
        self.created = time.time()
        self.deleted = None
        self.status, self.reason = 'CREATE_IN_PROGRESS', 'User Initiated'
        self.values, self.outputs, self.tags, self.capabilities = {}, None, [], []
        self.resources, self.order, self.events = {}, [], []
        self.on_failure, self.timeout, self.protected = 'ROLLBACK', None, False
        self.busy, self.pending_delete = False, False
        self.pending_outputs, self.failed_delete = [], None


class CloudFormation(QueryService):
    """CloudFormation: CreateStack checks a template as AWS does (format,
    references, parameters, capabilities), then a thread plays the stack's
    creation resource by resource, in dependency order, as stack events;
    resources are fake but well-formed (ids, ARNs), except
    AWS::SecretsManager::Secret, which really creates that secret, empty,
    in the emulator's Secrets Manager and removes it with the stack. A
    failure injected through the control API rolls the creation back.

    Each step (one resource created or deleted) takes step_ms. A test that
    must see a stack between two steps holds them ({"hold": true}): every
    stack then waits before its next step until the test lets steps go
    ({"steps": N}, N more in all) or lifts the hold; so what it observes
    does not depend on how fast the machine is.
    Deleted stacks stay visible by stack id, as in AWS."""
    name = 'cloudformation'
    namespace = CFN_NS
    version = '2010-05-15'
    STEP_MS = 50
    MAX_BODY = 51200

    def __init__(self, region, secrets, s3, batch=None):
        self.region, self.secrets, self.s3, self.batch = region, secrets, s3, batch
        self.lock = threading.Lock()
        self.gate = threading.Condition(self.lock)     # held steps wait on it
        self.waiting = 0        # stacks waiting at the gate
        self.steps_done = 0     # steps taken since start
        self.stacks = []        # every stack, oldest first, deleted ones too
        self.reset()

    def reset(self):
        """Back to the default pace, not held, nothing injected (the stacks stay)."""
        with self.lock:
            self.step_ms, self.fail, self.fail_reason, self.fail_delete = self.STEP_MS, None, None, None
            self.hold, self.permits = False, 0
            self.gate.notify_all()

    def control_routes(self):
        return {('GET', 'cfn'): lambda req, spec: self.summary(),
                ('POST', 'cfn'): lambda req, spec: self.configure(spec) or {}}

    def configure(self, spec):
        unknown = set(spec) - {'step_ms', 'fail', 'reason', 'fail_delete', 'hold', 'steps'}
        if unknown:
            raise ValueError('unknown cfn fields: %s' % ', '.join(sorted(unknown)))
        step = spec.get('step_ms', self.step_ms)
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 60000:
            raise ValueError('"step_ms" must be a whole number of milliseconds up to 60000')
        for field in ('fail', 'reason', 'fail_delete'):
            if not isinstance(spec.get(field), (str, type(None))):
                raise ValueError('"%s" must be a string (or null)' % field)
        if not isinstance(spec.get('hold', False), bool):
            raise ValueError('"hold" must be true or false')
        steps = spec.get('steps', 0)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError('"steps" must be a whole number of steps')
        if steps and not spec.get('hold', self.hold):
            raise ValueError('"steps" lets held steps go: hold them first ("hold": true)')
        with self.lock:
            self.step_ms = step
            if 'hold' in spec:
                self.hold = spec['hold']
                if not self.hold:
                    self.permits = 0
            if self.hold:
                self.permits += steps
            self.gate.notify_all()
            if 'fail' in spec:
                self.fail = spec['fail']
                self.fail_reason = spec.get('reason')
            if 'fail_delete' in spec:
                self.fail_delete = spec['fail_delete']
                if 'fail' not in spec:
                    self.fail_reason = spec.get('reason')

    def summary(self):
        with self.lock:
            return {'step_ms': self.step_ms, 'fail': self.fail, 'fail_delete': self.fail_delete,
                    'reason': self.fail_reason, 'hold': self.hold, 'steps': self.permits,
                    'waiting': self.waiting, 'steps_done': self.steps_done,
                    'stacks': [{'name': s.name, 'id': s.id, 'status': s.status} for s in self.stacks]}

    def export(self, name):
        with self.lock:
            for stack in self.stacks:
                for out in stack.outputs or ():
                    if out.get('ExportName') == name and stack.status not in ('DELETE_COMPLETE',):
                        return out['OutputValue']
        return None

    # --- finding stacks

    def _find(self, ident):
        """The stack a StackName names (a live stack by name, any by id), or None."""
        if ident.startswith('arn:'):
            return next((s for s in self.stacks if s.id == ident), None)
        return next((s for s in reversed(self.stacks) if s.name == ident and s.status != 'DELETE_COMPLETE'), None)

    def _need(self, form, message='Stack with id %s does not exist'):
        ident = form.get('StackName')
        if not ident:
            raise cfn_error('1 validation error detected: Value null at \'stackName\' failed to satisfy '
                            'constraint: Member must not be null')
        stack = self._find(ident)
        if stack is None:
            raise cfn_error(message % ident)
        return stack

    # --- templates

    def _template_text(self, form):
        body, url = form.get('TemplateBody'), form.get('TemplateURL')
        if (body is None) == (url is None):
            raise cfn_error('Either Template URL or Template Body must be specified.' if body is None else
                            'Specify exactly one of TemplateBody and TemplateURL.')
        if body is not None:
            if len(body.encode('utf-8')) > self.MAX_BODY:
                raise cfn_error("1 validation error detected: Value at 'templateBody' failed to satisfy "
                                "constraint: Member must have length less than or equal to %d" % self.MAX_BODY)
            return body
        # A TemplateURL: read the object from the emulated S3, virtual-hosted or path style.
        parts = urllib.parse.urlsplit(url)
        m = re.match(r'^(.+)\.s3[.-]', parts.hostname or '')
        if m:
            bucket, key = m.group(1), parts.path[1:]
        else:
            bucket, _, key = parts.path[1:].partition('/')
        key = urllib.parse.unquote(key)
        if not BUCKET_RE.match(bucket) or not key or not self.s3.key_stays_in_bucket(key):
            raise cfn_error('TemplateURL must be a supported URL.')
        try:
            with open(self.s3.store_path(bucket, key, OBJ), 'rb') as f:
                data = f.read(1000001)
        except OSError:
            raise cfn_error('S3 error: The specified key does not exist.') from None
        if len(data) > 1000000:
            raise cfn_error('Template may not exceed 1000000 bytes in size.')
        return data.decode('utf-8', 'replace')

    def validate_template(self, form):
        template = CfnTemplate(self._template_text(form))
        need, types = template.capabilities()
        params = [('member', [('ParameterKey', name), ('DefaultValue', scalar_text(p['Default']) if 'Default' in p
                                                        else None),
                              ('NoEcho', str(p.get('NoEcho', False)).lower() == 'true'),
                              ('Description', p.get('Description'))])
                  for name, p in template.parameters.items()]
        return [('Parameters', params), ('Description', template.description),
                ('Capabilities', [('member', need)] if need else []),
                ('CapabilitiesReason', 'The following resource(s) require capabilities: [%s]' % ', '.join(types)
                 if need else None),
                ('DeclaredTransforms', [])]

    # --- CreateStack

    def create_stack(self, form):
        name = form.get('StackName', '')
        if not STACK_NAME_RE.match(name):
            raise cfn_error("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: "
                            "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*" % name)
        with self.lock:
            if self._find(name) is not None:
                raise ApiError(400, 'AlreadyExistsException', 'Stack [%s] already exists' % name)
        template = CfnTemplate(self._template_text(form))
        given = {}
        for p in query_members(form, 'Parameters'):
            if isinstance(p, dict) and 'ParameterKey' in p:
                given[p['ParameterKey']] = p.get('ParameterValue', '')
        values = template.bind(given)
        capabilities = query_members(form, 'Capabilities')
        need, _ = template.capabilities()
        if need and not (need in capabilities or 'CAPABILITY_NAMED_IAM' in capabilities):
            raise ApiError(400, 'InsufficientCapabilitiesException', 'Requires capabilities : [%s]' % need)
        stack = CfnStack(self, name, template, self.region)
        stack.values, stack.capabilities = values, capabilities
        stack.tags = [(t.get('Key'), t.get('Value', '')) for t in query_members(form, 'Tags') if isinstance(t, dict)]
        on_failure = form.get('OnFailure') or ('DO_NOTHING' if form.get('DisableRollback') == 'true' else 'ROLLBACK')
        if on_failure not in ('ROLLBACK', 'DELETE', 'DO_NOTHING'):
            raise cfn_error("1 validation error detected: Value '%s' at 'onFailure' failed to satisfy constraint: "
                            "Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]" % on_failure)
        stack.on_failure = on_failure
        stack.timeout = form.get('TimeoutInMinutes')
        stack.protected = form.get('EnableTerminationProtection') == 'true'
        # Everything is fake, so every resource's ids, attributes and the
        # outputs can be worked out now; an evaluation error is a ValidationError.
        ev = Evaluator(stack)
        active = {n for n, spec in template.resources.items()
                  if 'Condition' not in spec or ev.condition(spec['Condition'])}
        for logical in template.resources:
            stack.resources[logical] = CfnResource(logical, template.resources[logical])
        stack.order = template.ordered(active)
        for logical in stack.order:
            res = stack.resources[logical]
            res.props = ev.eval(template.resources[logical].get('Properties') or {})
            if not isinstance(res.props, dict):
                raise cfn_error('Template format error: [/Resources/%s/Properties] must be an object' % logical)
            make = RESOURCE_TYPES.get(res.rtype)
            if make is not None:
                res.physical, res.attrs = make(stack, logical, res.props)
            else:
                res.physical = _physical_name(stack, logical)
        outputs = []
        for key, out in template.outputs.items():
            if 'Condition' in out and not ev.condition(out['Condition']):
                continue
            entry = {'OutputKey': key, 'OutputValue': Evaluator.text(ev.eval(out['Value']))}
            if out.get('Description') is not None:
                entry['Description'] = Evaluator.text(ev.eval(out['Description']))
            export = out.get('Export')
            if isinstance(export, dict) and 'Name' in export:
                entry['ExportName'] = Evaluator.text(ev.eval(export['Name']))
            outputs.append(entry)
        stack.pending_outputs = outputs
        with self.lock:
            if self._find(name) is not None:
                raise ApiError(400, 'AlreadyExistsException', 'Stack [%s] already exists' % name)
            self.stacks.append(stack)
            self._stack_event(stack, 'CREATE_IN_PROGRESS', 'User Initiated')
            stack.busy = True
        threading.Thread(target=self._work, args=(stack, 'create'), daemon=True,
                         name='cfn-' + name).start()
        return [('StackId', stack.id)]

    # --- the simulation (events are appended under self.lock)

    @staticmethod
    def _now(stack):
        """The time of a new event: a stack's event times (milliseconds) strictly
        increase, so that resource EventIds (built from them) are unique."""
        now = max(time.time(), stack.events[-1]['Timestamp'] + 0.001 if stack.events else 0)
        return math.floor(now * 1000 + 0.5) / 1000

    def _stack_event(self, stack, status, reason=None):
        stack.status, stack.reason = status, reason
        stack.events.append({'EventId': str(uuid.uuid4()), 'LogicalResourceId': stack.name,
                             'PhysicalResourceId': stack.id, 'ResourceType': 'AWS::CloudFormation::Stack',
                             'Timestamp': self._now(stack), 'ResourceStatus': status, 'ResourceStatusReason': reason})

    def _resource_event(self, stack, res, status, reason=None, physical=True, props=False):
        now = self._now(stack)
        res.status, res.reason, res.updated = status, reason, now
        stack.events.append({'EventId': '%s-%s-%s' % (res.logical, status, cfn_time(now)),
                             'LogicalResourceId': res.logical,
                             'PhysicalResourceId': res.physical if physical and res.announced else '',
                             'ResourceType': res.rtype, 'Timestamp': now, 'ResourceStatus': status,
                             'ResourceStatusReason': reason,
                             'ResourceProperties': json.dumps(res.props, separators=(',', ':')) if props else None})

    def _pace(self):
        """One step: wait at the gate while held (until a step is let go),
        then take step_ms."""
        with self.lock:
            self.waiting += 1
            while self.hold and self.permits == 0:
                self.gate.wait()
            if self.hold:
                self.permits -= 1
            self.waiting -= 1
            self.steps_done += 1
            step = self.step_ms
        time.sleep(step / 1000)

    def _work(self, stack, job):
        try:
            while True:
                if job == 'create':
                    self._create(stack)
                else:
                    self._delete(stack)
                with self.lock:
                    if stack.pending_delete and stack.status not in ('DELETE_COMPLETE', 'DELETE_IN_PROGRESS'):
                        stack.pending_delete = False
                        self._stack_event(stack, 'DELETE_IN_PROGRESS', 'User Initiated')
                        job = 'delete'
                        continue
                    stack.pending_delete = False
                    stack.busy = False
                    return
        except Exception:
            log.exception('cfn: stack %s failed', stack.name)
            with self.lock:
                self._stack_event(stack, 'ROLLBACK_FAILED' if job == 'create' else 'DELETE_FAILED',
                                  'emulator: internal error (see its log)')
                stack.busy = False

    def _provision(self, stack, res):
        """Make the resource exist: the reason it failed, or None."""
        if res.rtype == 'AWS::SecretsManager::Secret':
            body = {'Description': res.props.get('Description')}
            generate = res.props.get('GenerateSecretString')
            if 'SecretString' in res.props:
                body['SecretString'] = Evaluator.text(res.props['SecretString'])
            elif isinstance(generate, dict):
                exclude = set(generate.get('ExcludeCharacters', ''))
                alphabet = [c for c in ALNUM + '!#$%&()*+,-.:;<=>?@[]^_{|}~' if c not in exclude and not (
                    generate.get('ExcludePunctuation') and not c.isalnum())]
                value = ''.join(random.choice(alphabet) for _ in range(int(generate.get('PasswordLength', 32))))
                if generate.get('SecretStringTemplate') and generate.get('GenerateStringKey'):
                    doc = json.loads(generate['SecretStringTemplate'])
                    doc[generate['GenerateStringKey']] = value
                    value = json.dumps(doc)
                body['SecretString'] = value
            name = res.physical.split(':secret:', 1)[1][:-7]
            try:
                with self.secrets.lock:
                    self.secrets.create(name, body, arn=res.physical)
            except ApiError as e:
                return ('Resource handler returned message: "%s (Service: SecretsManager, Status Code: 400, Request '
                        'ID: %s)" (HandlerErrorCode: AlreadyExists)' % (e.message, uuid.uuid4()))
        elif res.rtype.startswith('AWS::Batch::') and self.batch is not None:
            return self.batch.provision(res.rtype, res.physical, res.props)
        return None

    def _unprovision(self, stack, res):
        if res.rtype == 'AWS::SecretsManager::Secret':
            self.secrets.remove(res.physical)
        elif res.rtype.startswith('AWS::Batch::') and self.batch is not None:
            self.batch.unprovision(res.rtype, res.physical)

    def _create(self, stack):
        failed = None
        for logical in stack.order:
            with self.lock:
                if stack.pending_delete:
                    return
                res = stack.resources[logical]
                self._resource_event(stack, res, 'CREATE_IN_PROGRESS', physical=False, props=True)
                reason = None
                if self.fail == logical:
                    reason = self.fail_reason or ('Resource handler returned message: "emulator: injected failure" '
                                                  '(HandlerErrorCode: GeneralServiceException)')
                    self.fail = None
                    if self.fail_delete is None:
                        self.fail_reason = None
            if reason is None:
                reason = self._provision(stack, res)
            if reason is not None:
                self._pace()
                with self.lock:
                    self._resource_event(stack, res, 'CREATE_FAILED', reason, physical=False)
                failed = logical
                break
            with self.lock:
                res.created = res.announced = True
                self._resource_event(stack, res, 'CREATE_IN_PROGRESS', 'Resource creation Initiated', props=True)
            self._pace()
            with self.lock:
                self._resource_event(stack, res, 'CREATE_COMPLETE')
        if failed is None:
            with self.lock:
                stack.outputs = stack.pending_outputs
                self._stack_event(stack, 'CREATE_COMPLETE')
            return
        why = 'The following resource(s) failed to create: [%s]. ' % failed
        if stack.on_failure == 'DO_NOTHING':
            with self.lock:
                self._stack_event(stack, 'CREATE_FAILED', why)
            return
        with self.lock:
            if stack.on_failure == 'DELETE':
                stack.pending_delete = True
                self._stack_event(stack, 'CREATE_FAILED', why)
                return
            self._stack_event(stack, 'ROLLBACK_IN_PROGRESS', why + 'Rollback requested by user.')
        if self._delete_resources(stack, rollback=True) is None:
            with self.lock:
                self._stack_event(stack, 'ROLLBACK_COMPLETE')
        else:
            with self.lock:
                self._stack_event(stack, 'ROLLBACK_FAILED', 'The following resource(s) failed to delete: [%s]. '
                                  % stack.failed_delete)

    def _delete_resources(self, stack, rollback=False):
        """Delete what exists, dependents first: the resource that failed, or None."""
        for logical in reversed(stack.order):
            res = stack.resources[logical]
            if res.status is None or res.status in ('DELETE_COMPLETE', 'DELETE_SKIPPED'):
                continue
            with self.lock:
                if res.retain and not rollback:
                    self._resource_event(stack, res, 'DELETE_SKIPPED')
                    continue
                self._resource_event(stack, res, 'DELETE_IN_PROGRESS')
                reason = None
                if self.fail_delete == logical:
                    reason = self.fail_reason or ('Resource handler returned message: "emulator: injected '
                                                  'failure" (HandlerErrorCode: GeneralServiceException)')
                    self.fail_delete = None
                    if self.fail is None:
                        self.fail_reason = None
            if reason is None and res.created:
                self._unprovision(stack, res)
                res.created = False
            self._pace()
            with self.lock:
                if reason is not None:
                    self._resource_event(stack, res, 'DELETE_FAILED', reason)
                    stack.failed_delete = logical
                    return logical
                self._resource_event(stack, res, 'DELETE_COMPLETE')
        return None

    def _delete(self, stack):
        failed = self._delete_resources(stack)
        with self.lock:
            if failed is not None:
                self._stack_event(stack, 'DELETE_FAILED', 'The following resource(s) failed to delete: [%s]. '
                                  % failed)
            else:
                stack.deleted = time.time()
                self._stack_event(stack, 'DELETE_COMPLETE')

    # --- other actions

    def delete_stack(self, form):
        ident = form.get('StackName')
        if not ident:
            raise cfn_error("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: "
                            "Member must not be null")
        with self.lock:
            stack = self._find(ident)
            if stack is None or stack.status in ('DELETE_COMPLETE', 'DELETE_IN_PROGRESS'):
                return None     # as AWS: deleting what is gone or going succeeds
            if stack.protected:
                raise cfn_error('Stack [%s] cannot be deleted while TerminationProtection is enabled' % stack.name)
            if stack.busy:
                stack.pending_delete = True
                return None
            self._stack_event(stack, 'DELETE_IN_PROGRESS', 'User Initiated')
            stack.busy = True
        threading.Thread(target=self._work, args=(stack, 'delete'), daemon=True, name='cfn-' + stack.name).start()
        return None

    def _describe(self, stack):
        template = stack.template
        params = []
        for key, value in stack.values.items():
            noecho = str(template.parameters[key].get('NoEcho', False)).lower() == 'true'
            params.append(('member', [('ParameterKey', key), ('ParameterValue', '****' if noecho else value)]))
        outputs = None
        if stack.outputs is not None and stack.status != 'DELETE_COMPLETE':
            outputs = [('member', [(k, out.get(k)) for k in ('OutputKey', 'OutputValue', 'Description',
                                                              'ExportName')])
                       for out in stack.outputs]
        return [('StackId', stack.id), ('StackName', stack.name), ('Description', template.description),
                ('Parameters', params), ('CreationTime', cfn_time(stack.created)),
                ('DeletionTime', cfn_time(stack.deleted) if stack.deleted else None),
                ('RollbackConfiguration', []),
                ('StackStatus', stack.status), ('StackStatusReason', stack.reason),
                ('DisableRollback', stack.on_failure == 'DO_NOTHING'), ('NotificationARNs', []),
                ('TimeoutInMinutes', stack.timeout),
                ('Capabilities', [('member', c) for c in stack.capabilities] or None),
                ('Outputs', outputs),
                ('Tags', [('member', [('Key', k), ('Value', v)]) for k, v in stack.tags]),
                ('EnableTerminationProtection', stack.protected),
                ('DriftInformation', [('StackDriftStatus', 'NOT_CHECKED')])]

    def describe_stacks(self, form):
        with self.lock:
            if form.get('StackName'):
                stacks = [self._need(form)]
            else:
                stacks = [s for s in reversed(self.stacks) if s.status != 'DELETE_COMPLETE']
            return [('Stacks', [('member', self._describe(s)) for s in stacks])]

    PAGE = 100

    def describe_stack_events(self, form):
        with self.lock:
            stack = self._need(form, 'Stack [%s] does not exist')
            end = len(stack.events)
            token = form.get('NextToken')
            if token:
                try:
                    ident, _, mark = base64.b64decode(token, validate=True).decode().rpartition('|')
                    end = int(mark)
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    ident = None
                if ident != stack.id or not 0 <= end <= len(stack.events):
                    raise cfn_error('Invalid NextToken')
            start = max(0, end - self.PAGE)
            page = stack.events[start:end][::-1]
            members = []
            for e in page:
                members.append(('member', [
                    ('StackId', stack.id), ('EventId', e['EventId']), ('StackName', stack.name),
                    ('LogicalResourceId', e['LogicalResourceId']), ('PhysicalResourceId', e['PhysicalResourceId']),
                    ('ResourceType', e['ResourceType']), ('Timestamp', cfn_time(e['Timestamp'])),
                    ('ResourceStatus', e['ResourceStatus']), ('ResourceStatusReason', e['ResourceStatusReason']),
                    ('ResourceProperties', e.get('ResourceProperties'))]))
            next_token = base64.b64encode(('%s|%d' % (stack.id, start)).encode()).decode() if start else None
            return [('StackEvents', members), ('NextToken', next_token)]

    def _resources(self, form):
        stack = self._need(form)
        wanted_logical, wanted_physical = form.get('LogicalResourceId'), form.get('PhysicalResourceId')
        out = []
        for logical in stack.order:
            res = stack.resources[logical]
            if res.status is None or (wanted_logical and logical != wanted_logical) or \
                    (wanted_physical and res.physical != wanted_physical):
                continue
            out.append((stack, res))
        return out

    def describe_stack_resources(self, form):
        with self.lock:
            return [('StackResources', [('member', [
                ('StackName', stack.name), ('StackId', stack.id), ('LogicalResourceId', res.logical),
                ('PhysicalResourceId', res.physical if res.announced else None),
                ('ResourceType', res.rtype), ('Timestamp', cfn_time(res.updated)), ('ResourceStatus', res.status),
                ('ResourceStatusReason', res.reason),
                ('DriftInformation', [('StackResourceDriftStatus', 'NOT_CHECKED')])])
                for stack, res in self._resources(form)])]

    def list_stack_resources(self, form):
        with self.lock:
            return [('StackResourceSummaries', [('member', [
                ('LogicalResourceId', res.logical),
                ('PhysicalResourceId', res.physical if res.announced else None),
                ('ResourceType', res.rtype), ('LastUpdatedTimestamp', cfn_time(res.updated)),
                ('ResourceStatus', res.status), ('ResourceStatusReason', res.reason),
                ('DriftInformation', [('StackResourceDriftStatus', 'NOT_CHECKED')])])
                for stack, res in self._resources(form)])]

    def list_stacks(self, form):
        wanted = set(query_members(form, 'StackStatusFilter'))
        with self.lock:
            return [('StackSummaries', [('member', [
                ('StackId', s.id), ('StackName', s.name), ('TemplateDescription', s.template.description),
                ('CreationTime', cfn_time(s.created)),
                ('DeletionTime', cfn_time(s.deleted) if s.deleted else None), ('StackStatus', s.status),
                ('StackStatusReason', s.reason), ('DriftInformation', [('StackDriftStatus', 'NOT_CHECKED')])])
                for s in reversed(self.stacks) if not wanted or s.status in wanted])]

    actions = {'CreateStack': create_stack, 'DeleteStack': delete_stack, 'DescribeStacks': describe_stacks,
               'DescribeStackEvents': describe_stack_events, 'DescribeStackResources': describe_stack_resources,
               'ListStackResources': list_stack_resources, 'ListStacks': list_stacks,
               'ValidateTemplate': validate_template}
