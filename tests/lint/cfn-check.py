#!/usr/bin/python3
"""cfn-check.py [--spec DB.json.gz] TEMPLATE - check a CloudFormation
template against the current CloudFormation resource schemas.

The schemas are @aws-cdk/aws-service-spec's db.json.gz (npm, pinned in
tests/lint/package-lock.json; its default place is
tests/lint/node_modules/@aws-cdk/aws-service-spec/db.json.gz): every
resource type with its properties, their types (string, integer, number,
boolean, lists, maps, JSON, tags, nested property types, unions), the
required ones, the allowed values where the schema lists them, and each
type's Fn::GetAtt attributes.

The template is read as CloudFormation reads it, short-form tags (!Ref,
!Sub, !GetAtt A.B, ...) included, with the emulator's loader
(tests/emu/awsemu/cfn_template.py). Checked:
  - the sections and each resource's keys (Type, Properties, DependsOn, ...);
  - the resource type exists;
  - every property is one of its type's (a near miss gets "did you mean");
  - the required properties are there;
  - every value has its property's type: scalars, lists, maps, JSON, tags,
    nested property types, each property of those in turn; an intrinsic
    function stands for a value of the type it yields (Fn::Sub a string,
    Fn::GetAZs a list, Fn::GetAtt its attribute's type, Ref a parameter's
    type or a resource's id), and both branches of Fn::If are checked;
  - allowed values, where the schema lists them, for literals, Fn::If
    branches and the AllowedValues and Default of a parameter given by Ref;
  - Ref names a parameter, a resource or a pseudo parameter (in Conditions,
    no resource); Fn::GetAtt (and ${A.B} in Fn::Sub) names a resource and an
    attribute of its type; Fn::If and Condition name a condition; DependsOn
    names other resources; Outputs have a Value; parameters have a known
    Type, a Default among their AllowedValues and a Description of at most
    4,000 characters (the template's: 1,024 bytes).

Each error is one line, FILE:LINE: PATH: message, PATH as in
Resources.JobDefinition.Properties.ContainerProperties.Environment[2].Name.
Deprecated properties are reported as warnings. A last line sums up what
was checked. Exit 0 with no error, 1 with errors, 2 when the template or
the schemas cannot be read.
"""

import difflib
import gzip
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'emu'))
from awsemu.cfn_template import PSEUDO, RESOURCE_KEYS, TEMPLATE_SECTIONS, _CfnLoader  # noqa: E402

SPEC_PACKAGE = os.path.join(HERE, 'node_modules', '@aws-cdk', 'aws-service-spec')
PARAMETER_KEYS = {'Type', 'Default', 'Description', 'AllowedValues', 'AllowedPattern', 'MinLength', 'MaxLength',
                  'MinValue', 'MaxValue', 'NoEcho', 'ConstraintDescription'}
OUTPUT_KEYS = {'Description', 'Value', 'Export', 'Condition'}
PARAMETER_TYPES = {'String', 'Number', 'List<Number>', 'CommaDelimitedList'}
SCALARS = {'string', 'integer', 'number', 'boolean', 'date-time'}
OBJECTS = {'ref', 'map', 'json', 'tag'}
TAG = {'Key': {'type': {'type': 'string'}, 'required': True},
       'Value': {'type': {'type': 'string'}, 'required': True}}
# What an intrinsic function yields: 'string', 'integer', 'list' or 'any'.
YIELDS = {'Fn::Sub': 'string', 'Fn::Join': 'string', 'Fn::Base64': 'string', 'Fn::ToJsonString': 'string',
          'Fn::Split': 'list', 'Fn::GetAZs': 'list', 'Fn::Cidr': 'list', 'Fn::Length': 'integer',
          'Fn::Select': 'any', 'Fn::FindInMap': 'any', 'Fn::ImportValue': 'any'}
CONDITION_FUNCTIONS = {'Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not'}


class Spec:
    """The resource types and property types of db.json.gz."""

    def __init__(self, path):
        db = json.load(gzip.open(path))['schema']
        self.resources = {r['cloudFormationType']: r for r in db['resource']['entities']}
        self.types = {t['$id']: t for t in db['typeDefinition']['entities']}


def load(path):
    """(the template, {path tuple: line}) of the YAML or JSON file path."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    loader = _CfnLoader(text)
    try:
        node = loader.get_single_node()
        doc = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines = {}

    def walk(n, where):
        if n.tag.startswith('!'):       # a short-form tag: the data has its Fn:: key
            suffix = n.tag[1:]
            where = where + (suffix if suffix in ('Ref', 'Condition') else 'Fn::' + suffix,)
            lines.setdefault(where, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                p = where + (k.value if isinstance(k, yaml.ScalarNode) else None,)
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                lines[where + (i,)] = v.start_mark.line + 1
                walk(v, where + (i,))
    if node is not None:
        walk(node, ())
    return doc, lines


def dotted(where):
    out = ''
    for p in where:
        out += '[%d]' % p if isinstance(p, int) else ('.' if out else '') + str(p)
    return out


def near(word, choices, cutoff=0.7):
    """' (did you mean X?)' for the closest of choices, else ''."""
    choices = list(choices)
    for c in choices:
        if str(c).lower() == str(word).lower():
            return ' (did you mean %s?)' % c
    best = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return ' (did you mean %s?)' % best[0] if best else ''


def intrinsic(v, conditions=False):
    """The function name if v is an intrinsic function call ({'Ref': ...},
    {'Fn::X': ...}; in Conditions {'Condition': ...} too), else None."""
    if isinstance(v, dict) and len(v) == 1:
        key = next(iter(v))
        if key == 'Ref' or str(key).startswith('Fn::') or (conditions and key == 'Condition'):
            return key
    return None


def shape(t):
    """'scalar', 'list', 'object' or 'any' for a schema type."""
    kind = t['type']
    if kind in SCALARS:
        return 'scalar'
    if kind == 'array':
        return 'list'
    if kind in OBJECTS:
        return 'object'
    return 'any'


def describe(t):
    kind = t['type']
    if kind == 'array':
        return 'a list of ' + describe(t['element']).replace('a ', '', 1).replace('an ', '', 1) + 's'
    if kind == 'map':
        return 'a map of ' + describe(t['element']).replace('a ', '', 1).replace('an ', '', 1) + 's'
    if kind == 'union':
        return ' or '.join(describe(x) for x in t['types'])
    if kind == 'ref':
        return 'a property object'
    if kind == 'json':
        return 'a JSON object'
    if kind == 'tag':
        return 'a tag (Key, Value)'
    return ('an ' if kind[0] in 'aeiou' else 'a ') + kind


class Checker:
    def __init__(self, spec, doc, lines, name):
        self.spec, self.doc, self.lines, self.name = spec, doc, lines, name
        self.errors, self.warnings = [], []
        self.values = 0         # property values checked against a schema type
        self.refs = 0           # Ref, Fn::GetAtt, ${...}, condition and DependsOn names checked
        self.types = set()

    def line(self, where):
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def err(self, where, message):
        self.errors.append((self.line(where), dotted(where), message))

    # ---- the template

    def run(self):
        doc = self.doc
        if not isinstance(doc, dict):
            self.err((), 'a template is a mapping of sections')
            return
        for key in doc:
            if key not in TEMPLATE_SECTIONS:
                self.err((key,), 'unknown template section' + near(key, TEMPLATE_SECTIONS))
        description = doc.get('Description')
        if description is not None and (not isinstance(description, str) or len(description.encode()) > 1024):
            self.err(('Description',), "a template's Description is a string of at most 1,024 bytes")
        self.parameters = self.section('Parameters')
        self.conditions = self.section('Conditions')
        self.resources = self.section('Resources')
        self.outputs = self.section('Outputs')
        if not self.resources:
            self.err(('Resources',), 'a template needs at least one resource')
        for name, p in self.parameters.items():
            self.parameter(name, p, ('Parameters', name))
        for name, c in self.conditions.items():
            self.names(c, ('Conditions', name), resources=False)
        for logical, r in self.resources.items():
            self.resource(logical, r, ('Resources', logical))
        for name, o in self.outputs.items():
            where = ('Outputs', name)
            if not isinstance(o, dict) or 'Value' not in o:
                self.err(where, 'an output needs a Value')
                continue
            for key in o:
                if key not in OUTPUT_KEYS:
                    self.err(where + (key,), 'unknown output key' + near(key, OUTPUT_KEYS))
            self.condition_name(o.get('Condition'), where + ('Condition',))
            self.names(o, where)

    def section(self, name):
        value = self.doc.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.err((name,), 'must be a mapping')
            return {}
        return value

    def parameter(self, name, p, where):
        if not isinstance(p, dict) or not isinstance(p.get('Type'), str):
            self.err(where, 'a parameter needs a Type')
            return
        for key in p:
            if key not in PARAMETER_KEYS:
                self.err(where + (key,), 'unknown parameter key' + near(key, PARAMETER_KEYS))
        description = p.get('Description')
        if description is not None and (not isinstance(description, str) or len(description) > 4000):
            self.err(where + ('Description',), "a parameter's Description is a string of at most 4,000 characters")
        ptype = p['Type']
        if ptype not in PARAMETER_TYPES and not ptype.startswith(('AWS::', 'List<AWS::')):
            self.err(where + ('Type',), "unknown parameter type '%s'" % ptype + near(ptype, PARAMETER_TYPES))
        allowed = p.get('AllowedValues')
        if allowed is not None and 'Default' in p and str(p['Default']) not in [str(a) for a in allowed]:
            self.err(where + ('Default',), "the default '%s' is not one of its AllowedValues" % p['Default'])

    def resource(self, logical, r, where):
        if not re.fullmatch(r'[A-Za-z0-9]+', str(logical)):
            self.err(where, 'a logical id is letters and digits only')
        if not isinstance(r, dict):
            self.err(where, 'a resource is a mapping with a Type')
            return
        for key in r:
            if key not in RESOURCE_KEYS:
                self.err(where + (key,), 'unknown resource key' + near(key, RESOURCE_KEYS))
        rtype = r.get('Type')
        if not isinstance(rtype, str):
            self.err(where, 'a resource needs a Type')
            return
        depends = r.get('DependsOn', [])
        for i, d in enumerate([depends] if isinstance(depends, str) else depends if isinstance(depends, list) else [None]):
            at = where + ('DependsOn',) + ((i,) if isinstance(depends, list) else ())
            self.refs += 1
            if not isinstance(d, str):
                self.err(at, 'DependsOn is a resource name or a list of them')
            elif d == logical:
                self.err(at, 'a resource cannot depend on itself')
            elif d not in self.resources:
                self.err(at, "DependsOn names no resource '%s'" % d + near(d, self.resources))
        self.condition_name(r.get('Condition'), where + ('Condition',))
        props = r.get('Properties')
        self.names(props, where + ('Properties',))
        self.names(r.get('Metadata'), where + ('Metadata',))
        if rtype.startswith('Custom::') or rtype == 'AWS::CloudFormation::CustomResource':
            return
        schema = self.spec.resources.get(rtype)
        if schema is None:
            self.err(where + ('Type',), "unknown resource type '%s'" % rtype + near(rtype, self.spec.resources, 0.8))
            return
        self.types.add(rtype)
        if props is None:
            props = {}
        self.properties(schema['properties'], props, where + ('Properties',), rtype)

    # ---- properties and values

    def properties(self, schema, v, where, what):
        """v against a mapping of property schemas (a resource's or a property type's)."""
        if not isinstance(v, dict):
            self.err(where, '%s is a mapping of properties, not %s' % (what, kind_of(v)))
            return
        for key, value in v.items():
            at = where + (key,)
            prop = schema.get(key)
            if prop is None:
                self.err(at, "unknown property '%s' of %s" % (key, what) + near(key, schema))
                continue
            self.values += 1
            if prop.get('deprecated'):
                self.warnings.append((self.line(at), dotted(at), 'deprecated property of %s' % what))
            if value is None:
                self.err(at, 'has no value (expected %s)' % describe(prop['type']))
                continue
            self.value(prop['type'], value, at, what + '.' + str(key))
        for key, prop in schema.items():
            if prop.get('required') and key not in v:
                self.err(where, "required property '%s' of %s is missing" % (key, what))

    def value(self, t, v, where, what):
        kind = t['type']
        fn = intrinsic(v)
        if fn is not None:
            self.function(t, fn, v[fn], where + (fn,), what)
            return
        if kind == 'union':
            self.union(t, v, where, what)
            return
        if kind in SCALARS:
            self.scalar(t, v, where)
        elif kind == 'array':
            if not isinstance(v, list):
                self.err(where, 'expected %s, not %s' % (describe(t), kind_of(v)))
                return
            for i, item in enumerate(v):
                if item == {'Ref': 'AWS::NoValue'}:
                    continue
                self.value(t['element'], item, where + (i,), what)
        elif kind == 'map':
            if not isinstance(v, dict):
                self.err(where, 'expected %s, not %s' % (describe(t), kind_of(v)))
                return
            for key, item in v.items():
                self.value(t['element'], item, where + (key,), what)
        elif kind == 'json':
            if not isinstance(v, dict):
                self.err(where, 'expected a JSON object, not %s' % kind_of(v))
        elif kind == 'tag':
            self.properties(TAG, v, where, 'a tag')
        elif kind == 'ref':
            typedef = self.spec.types[t['reference']['$ref']]
            self.properties(typedef['properties'], v, where, what.split('.')[0] + '.' + typedef['name'])

    def scalar(self, t, v, where):
        kind = t['type']
        if isinstance(v, (dict, list)):
            self.err(where, 'expected %s, not %s' % (describe(t), kind_of(v)))
            return
        if kind == 'boolean':
            ok = isinstance(v, bool) or v in ('true', 'false')
        elif kind == 'integer':
            ok = (isinstance(v, int) and not isinstance(v, bool)) or (
                isinstance(v, str) and re.fullmatch(r'-?[0-9]+', v) is not None)
        elif kind == 'number':
            ok = (isinstance(v, (int, float)) and not isinstance(v, bool)) or (
                isinstance(v, str) and re.fullmatch(r'-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?', v) is not None)
        else:                           # string, date-time: a number is written as its digits
            ok = isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool))
        if not ok:
            self.err(where, 'expected %s, not %s' % (describe(t), kind_of(v)))
            return
        self.allowed(t, v, where, "'%s'" % v)

    def allowed(self, t, v, where, what):
        allowed = t.get('allowedValues')
        if allowed and str(v) not in allowed:
            self.err(where, '%s is not one of %s' % (what, ', '.join(allowed)) + near(v, allowed, 0.6))

    def union(self, t, v, where, what):
        """v matches one of t's types; else the errors of the one of its shape."""
        attempts = []
        for member in t['types']:
            saved, values = self.errors, self.values
            self.errors = []
            self.value(member, v, where, what)
            attempts.append((member, self.errors))
            if not self.errors:
                self.errors = saved
                return
            self.errors, self.values = saved, values
        vshape = 'list' if isinstance(v, list) else 'object' if isinstance(v, dict) else 'scalar'
        alike = [errs for member, errs in attempts if shape(member) == vshape]
        if len(alike) == 1:
            self.errors += alike[0]
        else:
            self.err(where, 'expected %s, not %s' % (describe(t), kind_of(v)))

    # ---- intrinsic functions as values

    def function(self, t, fn, arg, where, what):
        """An intrinsic function where a value of type t is expected."""
        if fn == 'Fn::If':
            if not isinstance(arg, list) or len(arg) != 3:
                self.err(where, 'Fn::If takes [condition, value if true, value if false]')
                return
            for i in (1, 2):
                if arg[i] != {'Ref': 'AWS::NoValue'}:
                    self.value(t, arg[i], where + (i,), what)
            return
        if fn == 'Ref':
            self.ref_value(t, arg, where)
            return
        if fn == 'Fn::GetAtt':
            got = self.getatt_type(arg)
            yields = 'any' if got is None else 'list' if got['type'] == 'array' else 'string'
        elif fn in YIELDS:
            yields = YIELDS[fn]
        elif fn in CONDITION_FUNCTIONS:
            self.err(where, '%s belongs in Conditions, not in a property value' % fn)
            return
        else:
            self.err(where, 'unknown intrinsic function %s' % fn + near(fn, list(YIELDS) + ['Fn::If', 'Fn::GetAtt']))
            return
        self.fits(t, yields, fn, where)

    def fits(self, t, yields, who, where):
        if yields == 'any':
            return
        if t['type'] == 'union':
            if any(self.fits_shape(m, yields) for m in t['types']):
                return
        elif self.fits_shape(t, yields):
            return
        self.err(where, '%s gives %s where %s is expected' % (
            who, 'a list' if yields == 'list' else 'an integer' if yields == 'integer' else 'a string', describe(t)))

    @staticmethod
    def fits_shape(t, yields):
        s = shape(t)
        if s == 'any':
            return True
        if yields == 'list':
            return s == 'list'
        if t['type'] == 'boolean' and yields == 'integer':
            return False
        return s == 'scalar'

    def ref_value(self, t, name, where):
        if not isinstance(name, str):
            self.err(where, 'Ref takes a name')
            return
        if name in self.parameters and isinstance(self.parameters[name], dict):
            p = self.parameters[name]
            ptype = str(p.get('Type', ''))
            yields = 'list' if ptype.startswith('List<') or ptype == 'CommaDelimitedList' else 'string'
            self.fits(t, yields, 'Ref %s (a %s parameter)' % (name, ptype), where)
            if t['type'] in SCALARS and yields == 'string':
                # What the parameter may be must be what the property takes.
                for key in ('AllowedValues', 'Default'):
                    values = p.get(key)
                    if values is None:
                        continue
                    for value in values if isinstance(values, list) else [values]:
                        before = len(self.errors)
                        self.scalar(t, value, where)
                        for i in range(before, len(self.errors)):
                            line, path, message = self.errors[i]
                            self.errors[i] = (line, path, 'parameter %s may be %s: %s' % (name, value, message))
        elif name in self.resources:
            self.fits(t, 'string', 'Ref %s (a resource)' % name, where)
        elif name == 'AWS::NotificationARNs':
            self.fits(t, 'list', 'Ref ' + name, where)
        elif name in PSEUDO:
            self.fits(t, 'string', 'Ref ' + name, where)
        # an unknown name is reported by names()

    def getatt_type(self, arg):
        """The schema type of Fn::GetAtt arg's attribute, or None when unknown."""
        if isinstance(arg, str):
            arg = arg.split('.', 1)
        if not isinstance(arg, list) or len(arg) != 2 or not all(isinstance(a, str) for a in arg):
            return None
        r = self.resources.get(arg[0])
        schema = self.spec.resources.get(r.get('Type')) if isinstance(r, dict) else None
        attr = schema['attributes'].get(arg[1]) if schema else None
        return attr['type'] if attr else None

    # ---- names: Ref, Fn::GetAtt, Fn::Sub, conditions

    def condition_name(self, name, where):
        if name is None:
            return
        self.refs += 1
        if not isinstance(name, str) or name not in self.conditions:
            self.err(where, "no condition '%s'" % name + near(name, self.conditions))

    def ref_name(self, name, where, resources):
        self.refs += 1
        if not isinstance(name, str):
            self.err(where, 'Ref takes a name')
        elif name in self.parameters or name in PSEUDO:
            return
        elif name in self.resources:
            if not resources:
                self.err(where, "Ref %s: a condition cannot refer to a resource" % name)
        else:
            choices = list(self.parameters) + list(PSEUDO) + (list(self.resources) if resources else [])
            self.err(where, "Ref names no parameter, resource or pseudo parameter '%s'" % name + near(name, choices))

    def getatt_name(self, resource, attr, where, resources):
        self.refs += 1
        r = self.resources.get(resource) if resources else None
        if not isinstance(r, dict):
            self.err(where, "Fn::GetAtt names no resource '%s'" % resource + near(resource, self.resources))
            return
        schema = self.spec.resources.get(r.get('Type'))
        if schema is None or attr is None:
            return
        if attr not in schema['attributes']:
            names = sorted(schema['attributes'])
            self.err(where, "Fn::GetAtt %s.%s: %s has no attribute %s (it has %s)" % (
                resource, attr, r['Type'], attr, ', '.join(names) or 'none') + near(attr, names))

    def names(self, node, where, resources=True):
        """Check every name node refers to, anywhere in it."""
        if isinstance(node, list):
            for i, item in enumerate(node):
                self.names(item, where + (i,), resources)
            return
        if not isinstance(node, dict):
            return
        fn = intrinsic(node, conditions=not resources)
        arg = node[fn] if fn else None
        at = where + (fn,) if fn else where
        if fn == 'Ref':
            self.ref_name(arg, at, resources)
            return
        if fn == 'Condition' and isinstance(arg, str):
            self.condition_name(arg, at)
            return
        if fn == 'Fn::GetAtt':
            parts = arg.split('.', 1) if isinstance(arg, str) else arg
            if not isinstance(parts, list) or len(parts) != 2 or not isinstance(parts[0], str):
                self.err(at, 'Fn::GetAtt takes [resource, attribute] or resource.attribute')
                return
            self.getatt_name(parts[0], parts[1] if isinstance(parts[1], str) else None, at, resources)
            if not isinstance(parts[1], str):
                self.names(parts[1], at + (1,), resources)
            return
        if fn == 'Fn::Sub':
            text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (arg, {})
            if not isinstance(text, str) or not isinstance(variables, dict):
                self.err(at, 'Fn::Sub takes a string or [string, {name: value}]')
                return
            self.names(variables, at + (1,), resources)
            for inner in re.findall(r'\$\{([^}]*)\}', text):
                inner = inner.strip()
                if inner.startswith('!') or inner in variables:
                    continue
                if '.' in inner and not inner.startswith('AWS::'):
                    self.getatt_name(*inner.split('.', 1), at, resources)
                else:
                    self.ref_name(inner, at, resources)
            return
        if fn == 'Fn::If':
            if isinstance(arg, list) and arg:
                self.condition_name(arg[0], at + (0,))
                for i, item in enumerate(arg[1:], 1):
                    self.names(item, at + (i,), resources)
            return
        for key, value in node.items():
            self.names(value, at + ((key,) if not fn else ()), resources)


def kind_of(v):
    if isinstance(v, bool):
        return 'a boolean (%s)' % ('true' if v else 'false')
    if isinstance(v, (int, float)):
        return 'a number (%s)' % v
    if isinstance(v, str):
        return "a string ('%s')" % (v if len(v) <= 40 else v[:37] + '...')
    if isinstance(v, list):
        return 'a list'
    if isinstance(v, dict):
        return 'a mapping'
    return 'nothing'


def spec_version(spec_path):
    try:
        with open(os.path.join(os.path.dirname(spec_path), 'package.json'), encoding='utf-8') as f:
            return json.load(f).get('version', '?')
    except (OSError, ValueError):
        return '?'


def main(argv):
    spec_path = os.path.join(SPEC_PACKAGE, 'db.json.gz')
    args = list(argv)
    if len(args) >= 2 and args[0] == '--spec':
        spec_path, args = args[1], args[2:]
    if len(args) != 1 or args[0].startswith('-'):
        print('usage: cfn-check.py [--spec DB.json.gz] TEMPLATE', file=sys.stderr)
        return 2
    name = args[0]
    try:
        spec = Spec(spec_path)
    except (OSError, ValueError, KeyError) as e:
        print('cfn-check: cannot read the resource schemas %s: %s (run: make test-deps)' % (spec_path, e),
              file=sys.stderr)
        return 2
    try:
        doc, lines = load(name)
    except OSError as e:
        print('cfn-check: cannot read %s: %s' % (name, e.strerror), file=sys.stderr)
        return 2
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        print('%s:%d: not well-formed YAML: %s' % (name, mark.line + 1 if mark else 0, getattr(e, 'problem', e)))
        return 1
    c = Checker(spec, doc, lines, name)
    c.run()
    for line, path, message in sorted(c.warnings):
        print('%s:%d: %s: warning: %s' % (name, line, path, message))
    for line, path, message in c.errors:
        print('%s:%d: %s: %s' % (name, line, path, message))
    print('%s: %d resources of %d types, %d property values and %d names checked against '
          '@aws-cdk/aws-service-spec %s: %s' % (name, len(c.resources), len(c.types), c.values, c.refs,
                                                   spec_version(spec_path), '%d error%s' % (
                                                       len(c.errors), '' if len(c.errors) == 1 else 's')
                                                   if c.errors else 'no errors'))
    return 1 if c.errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
