"""CloudFormation templates as CreateStack reads them: YAML with short-form
tags or JSON, checked as AWS checks them (sections, references,
parameters, capabilities), the resource types the emulator models, and
the intrinsic functions."""

import base64
import ipaddress
import json
import re
import time
import types

try:
    import yaml     # python3-yaml: only CloudFormation's YAML templates need it
except ImportError:
    yaml = None

from .common import ACCOUNT, ApiError, rand
from .secretsmanager import secret_arn

CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/'
UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
STACK_NAME_RE = re.compile(r'^[a-zA-Z][-a-zA-Z0-9]{0,127}$')
TEMPLATE_SECTIONS = {'AWSTemplateFormatVersion', 'Description', 'Metadata', 'Parameters', 'Rules', 'Mappings',
                     'Conditions', 'Transform', 'Resources', 'Outputs'}
RESOURCE_KEYS = {'Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'Metadata',
                 'CreationPolicy', 'UpdatePolicy'}
PSEUDO = ('AWS::AccountId', 'AWS::Region', 'AWS::StackName', 'AWS::StackId', 'AWS::Partition', 'AWS::URLSuffix',
          'AWS::NoValue', 'AWS::NotificationARNs')
# Resources that need CAPABILITY_IAM, and the properties that name them (which need CAPABILITY_NAMED_IAM).
IAM_TYPES = {'AWS::IAM::AccessKey': None, 'AWS::IAM::Group': 'GroupName', 'AWS::IAM::InstanceProfile':
             'InstanceProfileName', 'AWS::IAM::ManagedPolicy': 'ManagedPolicyName', 'AWS::IAM::Policy': None,
             'AWS::IAM::Role': 'RoleName', 'AWS::IAM::User': 'UserName', 'AWS::IAM::UserToGroupAddition': None}
NOVALUE = object()      # Ref AWS::NoValue: the property or list item goes away


def cfn_time(epoch):
    ms = int(round(epoch * 1000))
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ms // 1000)) + '.%03dZ' % (ms % 1000)


def cfn_error(message):
    return ApiError(400, 'ValidationError', message)


def _short_form(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ('Ref', 'Condition'):
        return {suffix: value}
    if suffix == 'GetAtt' and isinstance(value, str):
        value = value.split('.', 1)
    return {'Fn::' + suffix: value}


if yaml is not None:
    class _CfnLoader(yaml.SafeLoader):
        """YAML as CloudFormation reads it: short-form intrinsics (!Ref, !Sub,
        !GetAtt A.B, ...) and no timestamps (2012-10-17 stays a string)."""

    _CfnLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != 'tag:yaml.org,2002:timestamp']
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    _CfnLoader.add_multi_constructor('!', _short_form)


def _physical_name(stack, logical, limit=128):
    """CloudFormation's generated names: stack-Logical-RANDOM, cut to fit."""
    room = limit - 14                   # two dashes and 12 random characters
    head = stack.name[:max(room // 2, room - len(logical))]
    return '%s-%s-%s' % (head, logical[:room - len(head)], rand(12, UPPER_DIGITS))


def _hex_id(prefix):
    return '%s-%s' % (prefix, rand(17, '0123456789abcdef'))


# Each resource type the emulator knows: what Ref gives and the Fn::GetAtt
# attributes, from the stack, the logical id and the evaluated properties.
# Other AWS:: types get a generated name and any attribute.
def _iam(kind, name_prop, id_attr=None, id_prefix=None):
    def make(stack, logical, props):
        name = props.get(name_prop) or _physical_name(stack, logical, 64)
        path = props.get('Path') or '/'
        arn = 'arn:aws:iam::%s:%s%s%s' % (ACCOUNT, kind, path, name)
        if kind == 'policy':        # a managed policy: Ref is its ARN
            return arn, {'PolicyArn': arn, 'PolicyId': 'ANPA' + rand(17, UPPER_DIGITS)}
        attrs = {'Arn': arn}
        if id_attr:
            attrs[id_attr] = id_prefix + rand(17, UPPER_DIGITS)
        return name, attrs
    return make


def _batch(kind, name_prop, arn_attr, suffix=''):
    def make(stack, logical, props):
        name = props.get(name_prop) or '%s-%s' % (logical[:100], rand(16))
        arn = 'arn:aws:batch:%s:%s:%s/%s%s' % (stack.region, ACCOUNT, kind, name, suffix)
        return arn, ({arn_attr: arn} if arn_attr else {})
    return make


def _inline_policy(stack, logical, props):
    ident = '%s-%s' % (stack.name[:20], rand(12, UPPER_DIGITS))
    return ident, {'Id': ident}


def _ec2(prefix, **attrs):
    def make(stack, logical, props):
        ident = _hex_id(prefix)
        out = {}
        for attr, how in attrs.items():
            out[attr] = ident if how == 'id' else how(stack, props) if callable(how) else how
        return ident, out
    return make


def _secret(stack, logical, props):
    name = props.get('Name') or '%s-%s' % (logical, rand(12))
    arn = secret_arn(stack.region, name)
    return arn, {'Id': arn}


def _bucket(stack, logical, props):
    name = props.get('BucketName') or _physical_name(stack, logical, 63).lower()
    return name, {'Arn': 'arn:aws:s3:::' + name, 'DomainName': name + '.s3.amazonaws.com',
                  'DualStackDomainName': '%s.s3.dualstack.%s.amazonaws.com' % (name, stack.region),
                  'RegionalDomainName': '%s.s3.%s.amazonaws.com' % (name, stack.region),
                  'WebsiteURL': 'http://%s.s3-website-%s.amazonaws.com' % (name, stack.region)}


def _log_group(stack, logical, props):
    name = props.get('LogGroupName') or _physical_name(stack, logical, 512)
    return name, {'Arn': 'arn:aws:logs:%s:%s:log-group:%s:*' % (stack.region, ACCOUNT, name)}


def _ssm_parameter(stack, logical, props):
    name = props.get('Name') or 'CFN-%s-%s' % (logical, rand(12))
    return name, {'Type': props.get('Type', 'String'), 'Value': props.get('Value', '')}


def _subnet_az(stack, props):
    return props.get('AvailabilityZone') or stack.region + 'a'


RESOURCE_TYPES = {
    'AWS::IAM::Role': _iam('role', 'RoleName', 'RoleId', 'AROA'),
    'AWS::IAM::InstanceProfile': _iam('instance-profile', 'InstanceProfileName'),
    'AWS::IAM::User': _iam('user', 'UserName'),
    'AWS::IAM::Group': _iam('group', 'GroupName'),
    'AWS::IAM::ManagedPolicy': _iam('policy', 'ManagedPolicyName'),
    'AWS::IAM::Policy': _inline_policy,
    'AWS::SecretsManager::Secret': _secret,
    'AWS::Batch::ComputeEnvironment': _batch('compute-environment', 'ComputeEnvironmentName', 'ComputeEnvironmentArn'),
    'AWS::Batch::JobQueue': _batch('job-queue', 'JobQueueName', 'JobQueueArn'),
    'AWS::Batch::JobDefinition': _batch('job-definition', 'JobDefinitionName', None, ':1'),
    'AWS::Batch::SchedulingPolicy': _batch('scheduling-policy', 'Name', 'Arn'),
    'AWS::EC2::VPC': _ec2('vpc', VpcId='id', CidrBlock=lambda s, p: p.get('CidrBlock', '10.0.0.0/16'),
                          DefaultSecurityGroup=lambda s, p: _hex_id('sg'),
                          DefaultNetworkAcl=lambda s, p: _hex_id('acl'),
                          CidrBlockAssociations=lambda s, p: [_hex_id('vpc-cidr-assoc')], Ipv6CidrBlocks=[]),
    'AWS::EC2::Subnet': _ec2('subnet', SubnetId='id', AvailabilityZone=_subnet_az,
                             AvailabilityZoneId=lambda s, p: 'use1-az1', VpcId=lambda s, p: p.get('VpcId'),
                             CidrBlock=lambda s, p: p.get('CidrBlock'), Ipv6CidrBlocks=[],
                             NetworkAclAssociationId=lambda s, p: _hex_id('aclassoc'), OutpostArn=''),
    'AWS::EC2::InternetGateway': _ec2('igw', InternetGatewayId='id'),
    'AWS::EC2::VPCGatewayAttachment': lambda s, l, p: ('IGW|%s' % p.get('VpcId'), {}),
    'AWS::EC2::RouteTable': _ec2('rtb', RouteTableId='id'),
    'AWS::EC2::Route': lambda s, l, p: ('%s|%s' % (p.get('RouteTableId'), p.get('DestinationCidrBlock')), {}),
    'AWS::EC2::SubnetRouteTableAssociation': _ec2('rtbassoc', Id='id'),
    'AWS::EC2::SecurityGroup': _ec2('sg', GroupId='id', VpcId=lambda s, p: p.get('VpcId')),
    'AWS::EC2::SecurityGroupIngress': _ec2('sgr', Id='id'),
    'AWS::EC2::SecurityGroupEgress': _ec2('sgr', Id='id'),
    'AWS::EC2::VPCEndpoint': _ec2('vpce', Id='id', CreationTimestamp=lambda s, p: cfn_time(time.time()),
                                  DnsEntries=[], NetworkInterfaceIds=[]),
    'AWS::EC2::LaunchTemplate': _ec2('lt', LaunchTemplateId='id', LatestVersionNumber='1', DefaultVersionNumber='1'),
    'AWS::S3::Bucket': _bucket,
    'AWS::Logs::LogGroup': _log_group,
    'AWS::SSM::Parameter': _ssm_parameter,
}


class CfnTemplate:
    """A template, parsed and checked as CreateStack and ValidateTemplate check
    it; evaluate() binds parameters, conditions and (fake) resources."""

    def __init__(self, text):
        if text.lstrip().startswith('{'):
            try:
                doc = json.loads(text)
            except ValueError as e:
                raise cfn_error('Template format error: JSON not well-formed. (line %d, column %d)' % (
                    getattr(e, 'lineno', 0), getattr(e, 'colno', 0))) from None
        elif yaml is None:
            raise ApiError(500, 'InternalFailure', 'emulator: YAML templates need python3-yaml '
                           '(apt-get install python3-yaml)')
        else:
            try:
                doc = yaml.load(text, Loader=_CfnLoader)
            except yaml.YAMLError as e:
                mark = getattr(e, 'problem_mark', None)
                raise cfn_error('Template format error: YAML not well-formed. (line %d, column %d)' % (
                    mark.line + 1 if mark else 0, mark.column + 1 if mark else 0)) from None
        if not isinstance(doc, dict):
            raise cfn_error('Template format error: unsupported structure.')
        unknown = sorted(set(map(str, doc)) - TEMPLATE_SECTIONS)
        if unknown:
            raise cfn_error('Template format error: Invalid template property or properties [%s]' % ', '.join(unknown))
        self.doc = doc
        self.description = doc.get('Description')
        self.parameters = self._section('Parameters')
        self.mappings = self._section('Mappings')
        self.conditions = self._section('Conditions')
        self.resources = self._section('Resources')
        self.outputs = self._section('Outputs')
        if not self.resources:
            raise cfn_error('Template format error: At least one Resources member must be defined.')
        for name, param in self.parameters.items():
            if not isinstance(param, dict) or not isinstance(param.get('Type'), str):
                raise cfn_error('Template format error: Every Parameters object must contain a Type member.')
            ptype = param['Type']
            if not (ptype in ('String', 'Number', 'List<Number>', 'CommaDelimitedList') or
                    ptype.startswith(('AWS::', 'List<AWS::'))):
                raise cfn_error('Template format error: Unrecognized parameter type: %s' % ptype)
        bad_types = []
        for logical, res in self.resources.items():
            if not isinstance(res, dict) or not isinstance(res.get('Type'), str):
                raise cfn_error('Template format error: [/Resources/%s] Every Resources object must contain a '
                                'Type member.' % logical)
            for key in res:
                if key not in RESOURCE_KEYS:
                    raise cfn_error("Template format error: Invalid template resource property '%s'" % key)
            if not res['Type'].startswith(('AWS::', 'Custom::', 'Alexa::')) or res['Type'].count('::') < 2 and \
                    not res['Type'].startswith('Custom::'):
                bad_types.append(res['Type'])
        if bad_types:
            raise cfn_error('Template format error: Unrecognized resource types: [%s]' % ', '.join(bad_types))
        for name, out in self.outputs.items():
            if not isinstance(out, dict) or 'Value' not in out:
                raise cfn_error('Template format error: Every Outputs member must contain a Value object')
        self._check_references()
        self.deps = {logical: self._dependencies(res) for logical, res in self.resources.items()}
        self.order = self.ordered(self.resources)

    def _section(self, name):
        value = self.doc.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise cfn_error('Template format error: %s must be an object' % name)
        return {str(k): v for k, v in value.items()}

    # --- references

    @staticmethod
    def walk(node):
        """What node refers to: ('ref', name), ('getatt', resource, attribute), ('cond', name)."""
        if isinstance(node, list):
            for item in node:
                yield from CfnTemplate.walk(item)
            return
        if not isinstance(node, dict):
            return
        if len(node) == 1:
            key, arg = next(iter(node.items()))
            if key == 'Ref' and isinstance(arg, str):
                yield ('ref', arg)
                return
            if key == 'Fn::GetAtt':
                if isinstance(arg, str):
                    arg = arg.split('.', 1)
                if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
                    if isinstance(arg[1], str):
                        yield ('getatt', arg[0], arg[1])
                    else:
                        yield ('getatt', arg[0], None)
                        yield from CfnTemplate.walk(arg[1])
                    return
            if key == 'Fn::Sub':
                text, names = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (arg, {})
                if isinstance(names, dict):
                    yield from CfnTemplate.walk(list(names.values()))
                for inner in re.findall(r'\$\{([^}]*)\}', text if isinstance(text, str) else ''):
                    inner = inner.strip()
                    if inner.startswith('!') or (isinstance(names, dict) and inner in names):
                        continue
                    if '.' in inner and not inner.startswith('AWS::'):
                        resource, attr = inner.split('.', 1)
                        yield ('getatt', resource, attr)
                    else:
                        yield ('ref', inner)
                return
            if key == 'Fn::If' and isinstance(arg, list) and arg:
                yield ('cond', arg[0])
                yield from CfnTemplate.walk(arg[1:])
                return
            if key == 'Condition' and isinstance(arg, str):
                yield ('cond', arg)
                return
        for value in node.values():
            yield from CfnTemplate.walk(value)

    def _check_references(self):
        def check(block, node, allow_resources=True):
            missing = []
            for kind, name, *rest in self.walk(node):
                if kind == 'ref' and not (name in self.parameters or name in PSEUDO or
                                          (allow_resources and name in self.resources)):
                    missing.append(name)
                elif kind == 'getatt':
                    res = self.resources.get(name) if allow_resources else None
                    if res is None:
                        raise cfn_error('Template error: instance of Fn::GetAtt references undefined resource %s'
                                        % name)
                    attrs = self.known_attributes(res['Type'])
                    if rest[0] is not None and attrs is not None and rest[0] not in attrs:
                        raise cfn_error('Template error: resource %s does not support attribute type %s in '
                                        'Fn::GetAtt' % (name, rest[0]))
                elif kind == 'cond' and name not in self.conditions:
                    raise cfn_error('Template format error: Unresolved condition dependency %s in Fn::If' % name)
            if missing:
                raise cfn_error('Template format error: Unresolved resource dependencies [%s] in the %s block of '
                                'the template' % (', '.join(dict.fromkeys(missing)), block))
        check('Conditions', list(self.conditions.values()), allow_resources=False)
        for logical, res in self.resources.items():
            depends = res.get('DependsOn', [])
            depends = [depends] if isinstance(depends, str) else depends
            missing = [d for d in depends if d not in self.resources]
            if missing:
                raise cfn_error('Template format error: Unresolved resource dependencies [%s] in the Resources '
                                'block of the template' % ', '.join(missing))
            if 'Condition' in res and res['Condition'] not in self.conditions:
                raise cfn_error('Template format error: Unresolved condition dependency %s in Fn::If'
                                % res['Condition'])
            check('Resources', [res.get('Properties'), res.get('Metadata')])
        for name, out in self.outputs.items():
            if 'Condition' in out and out['Condition'] not in self.conditions:
                raise cfn_error('Template format error: Unresolved condition dependency %s in Fn::If'
                                % out['Condition'])
            check('Outputs', [out.get('Value'), out.get('Export')])

    @staticmethod
    def known_attributes(rtype):
        """The Fn::GetAtt attributes of a type the emulator knows, or None (any)."""
        make = RESOURCE_TYPES.get(rtype)
        if make is None:
            return None
        return set(make(types.SimpleNamespace(name='probe', region='us-east-1'), 'Probe', {})[1])

    def _dependencies(self, res):
        depends = res.get('DependsOn', [])
        found = [depends] if isinstance(depends, str) else list(depends)
        for kind, name, *_ in self.walk(res.get('Properties')):
            if kind in ('ref', 'getatt') and name in self.resources:
                found.append(name)
        return list(dict.fromkeys(found))

    def ordered(self, active):
        """The resources in an order that respects dependencies, template order among equals."""
        done, order = set(), []
        pending = [name for name in self.resources if name in active]
        while pending:
            ready = [n for n in pending if all(d in done or d not in active for d in self.deps[n])]
            if not ready:
                raise cfn_error('Circular dependency between resources: [%s]' % ', '.join(pending))
            for name in ready:
                done.add(name)
                order.append(name)
            pending = [n for n in pending if n not in done]
        return order

    def capabilities(self):
        """(the capability the template needs or None, the resource types that need it)."""
        need, types = None, []
        for res in self.resources.values():
            if res['Type'] in IAM_TYPES:
                types.append(res['Type'])
                named = IAM_TYPES[res['Type']]
                if named and named in (res.get('Properties') or {}):
                    need = 'CAPABILITY_NAMED_IAM'
                elif need is None:
                    need = 'CAPABILITY_IAM'
        return need, list(dict.fromkeys(types))

    def bind(self, given):
        """Parameter values: given ones checked against the template, then defaults."""
        unknown = [k for k in given if k not in self.parameters]
        if unknown:
            raise cfn_error('Parameters: [%s] do not exist in the template' % ', '.join(unknown))
        missing = [k for k, p in self.parameters.items() if k not in given and 'Default' not in p]
        if missing:
            raise cfn_error('Parameters: [%s] must have values' % ', '.join(missing))
        values = {}
        for name, param in self.parameters.items():
            value = given.get(name, param.get('Default'))
            value = scalar_text(value) if not isinstance(value, list) else ','.join(map(scalar_text, value))
            self._check_parameter(name, param, value)
            values[name] = value
        return values

    @staticmethod
    def _check_parameter(name, param, value):
        constraint = param.get('ConstraintDescription')

        def fail(message):
            raise cfn_error("Parameter '%s' %s" % (name, ('failed to satisfy constraint: ' + constraint)
                                                   if constraint else message))
        if param['Type'] == 'Number':
            try:
                number = float(value)
            except ValueError:
                raise cfn_error("Parameter '%s' must be a number." % name) from None
            if 'MinValue' in param and number < float(param['MinValue']):
                fail('must be a number not less than %s' % param['MinValue'])
            if 'MaxValue' in param and number > float(param['MaxValue']):
                fail('must be a number not greater than %s' % param['MaxValue'])
        allowed = param.get('AllowedValues')
        if allowed is not None and value not in [scalar_text(v) for v in allowed]:
            fail('must be one of AllowedValues')
        pattern = param.get('AllowedPattern')
        if pattern is not None and not re.fullmatch(pattern, value):
            fail('must match pattern %s' % pattern)
        if 'MinLength' in param and len(value) < int(param['MinLength']):
            fail('must contain at least %s characters' % param['MinLength'])
        if 'MaxLength' in param and len(value) > int(param['MaxLength']):
            fail('must not contain more than %s characters' % param['MaxLength'])


def scalar_text(value):
    """A template scalar as CloudFormation turns it into a string."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return '' if value is None else str(value)


class Evaluator:
    """The intrinsic functions, over a stack's parameters, conditions and
    resources (whose Ref values and attributes are made before they are used)."""

    def __init__(self, stack):
        self.stack = stack
        self.cond_values = {}

    def condition(self, name, seen=()):
        if name not in self.cond_values:
            if name in seen:
                raise cfn_error('Template error: circular condition dependency %s' % name)
            self.cond_values[name] = self.truth(self.stack.template.conditions[name], seen + (name,))
        return self.cond_values[name]

    def truth(self, node, seen=()):
        if isinstance(node, dict) and len(node) == 1:
            key, arg = next(iter(node.items()))
            if key == 'Condition':
                return self.condition(arg, seen)
            if key == 'Fn::Equals' and isinstance(arg, list) and len(arg) == 2:
                return self.text(self.eval(arg[0])) == self.text(self.eval(arg[1]))
            if key in ('Fn::And', 'Fn::Or') and isinstance(arg, list):
                values = [self.truth(a, seen) for a in arg]
                return all(values) if key == 'Fn::And' else any(values)
            if key == 'Fn::Not' and isinstance(arg, list) and len(arg) == 1:
                return not self.truth(arg[0], seen)
        value = self.eval(node)
        if isinstance(value, bool):
            return value
        raise cfn_error('Template error: a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition')

    @staticmethod
    def text(value):
        if isinstance(value, list):
            return ','.join(map(scalar_text, value))
        return scalar_text(value)

    def ref(self, name):
        stack = self.stack
        if name in stack.values:
            value = stack.values[name]
            ptype = stack.template.parameters[name]['Type']
            return value.split(',') if ptype.startswith('List<') or ptype == 'CommaDelimitedList' else value
        pseudo = {'AWS::AccountId': ACCOUNT, 'AWS::Region': stack.region, 'AWS::StackName': stack.name,
                  'AWS::StackId': stack.id, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com',
                  'AWS::NoValue': NOVALUE, 'AWS::NotificationARNs': []}
        if name in pseudo:
            return pseudo[name]
        res = stack.resources.get(name)
        if res is None or res.physical is None:
            raise cfn_error('Template format error: Unresolved resource dependencies [%s] in the Resources block '
                            'of the template' % name)
        return res.physical

    def getatt(self, name, attr):
        res = self.stack.resources.get(name)
        if res is None or res.physical is None:
            raise cfn_error('Template error: instance of Fn::GetAtt references undefined resource %s' % name)
        if attr in res.attrs and res.attrs[attr] is not None:
            return res.attrs[attr]
        if res.rtype in RESOURCE_TYPES:
            raise cfn_error('Template error: resource %s does not support attribute type %s in Fn::GetAtt'
                            % (name, attr))
        # A type the emulator does not model: something well-formed.
        if attr == 'Arn':
            service, kind = res.rtype.split('::')[1:3]
            return 'arn:aws:%s:%s:%s:%s/%s' % (service.lower(), self.stack.region, ACCOUNT, kind.lower(),
                                               res.physical)
        return '%s.%s' % (res.physical, attr)

    def sub(self, arg):
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict):
            text, names = arg[0], {k: self.eval(v) for k, v in arg[1].items()}
        else:
            text, names = arg, {}
        if not isinstance(text, str):
            raise cfn_error('Template error: Fn::Sub expects a string or a [string, map] list')

        def one(m):
            inner = m.group(1).strip()
            if inner.startswith('!'):
                return '${' + inner[1:] + '}'
            if inner in names:
                return self.text(names[inner])
            if '.' in inner and not inner.startswith('AWS::'):
                return self.text(self.getatt(*inner.split('.', 1)))
            return self.text(self.ref(inner))
        return re.sub(r'\$\{([^}]*)\}', one, text)

    def eval(self, node):
        if isinstance(node, list):
            return [v for v in (self.eval(x) for x in node) if v is not NOVALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            key, arg = next(iter(node.items()))
            if key == 'Ref':
                return self.ref(arg)
            if key.startswith('Fn::'):
                return self.function(key, arg)
        out = {}
        for key, value in node.items():
            value = self.eval(value)
            if value is not NOVALUE:
                out[key] = value
        return out

    def function(self, key, arg):
        def bad():
            return cfn_error('Template error: every %s object requires the right arguments' % key)
        if key == 'Fn::GetAtt':
            if isinstance(arg, str):
                arg = arg.split('.', 1)
            if not isinstance(arg, list) or len(arg) != 2:
                raise bad()
            return self.getatt(arg[0], self.text(self.eval(arg[1])))
        if key == 'Fn::Sub':
            return self.sub(arg)
        if key == 'Fn::If':
            if not isinstance(arg, list) or len(arg) != 3:
                raise bad()
            return self.eval(arg[1] if self.condition(arg[0]) else arg[2])
        if key in ('Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not'):
            return self.truth({key: arg})
        arg = self.eval(arg)
        if key == 'Fn::Join':
            if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[1], list):
                raise bad()
            return self.text(arg[0]).join(self.text(v) for v in arg[1])
        if key == 'Fn::Select':
            if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[1], list):
                raise bad()
            try:
                return arg[1][int(arg[0])]
            except (ValueError, IndexError):
                raise cfn_error('Template error: Fn::Select cannot select nonexistent value at index %s'
                                % arg[0]) from None
        if key == 'Fn::Split':
            if not isinstance(arg, list) or len(arg) != 2:
                raise bad()
            return self.text(arg[1]).split(self.text(arg[0]))
        if key == 'Fn::GetAZs':
            region = self.text(arg) or self.stack.region
            return ['%s%s' % (region, z) for z in 'abcdef']
        if key == 'Fn::FindInMap':
            try:
                return self.stack.template.mappings[arg[0]][arg[1]][arg[2]]
            except (KeyError, IndexError, TypeError):
                raise cfn_error('Template error: Unable to get mapping for %s' % '::'.join(map(str, arg))) from None
        if key == 'Fn::Base64':
            return base64.b64encode(self.text(arg).encode()).decode()
        if key == 'Fn::Cidr':
            try:
                block, count, bits = ipaddress.ip_network(self.text(arg[0])), int(arg[1]), int(arg[2])
                return [str(n) for n in block.subnets(new_prefix=block.max_prefixlen - bits)][:count]
            except (ValueError, IndexError, TypeError):
                raise bad() from None
        if key == 'Fn::ImportValue':
            value = self.stack.cfn.export(self.text(arg))
            if value is None:
                raise cfn_error('No export named %s found.' % self.text(arg))
            return value
        if key == 'Fn::Length':
            if not isinstance(arg, list):
                raise bad()
            return len(arg)
        if key == 'Fn::ToJsonString':
            return json.dumps(arg, separators=(',', ':'))
        raise cfn_error('Template error: unsupported function %s' % key)
