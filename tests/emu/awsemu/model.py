"""A request body checked against botocore's service model, as AWS's
front end checks it before the service sees it: every member known, of its
shape's type, required members present, enum values among the enum, and
the model's min/max (length for strings, lists and maps; value for
numbers). Any JSON service (awsJson or REST-JSON) can use it:

    errors = check(service_model.operation_model('SubmitJob').input_shape, body)

check() returns the problems as sentences naming each member by its path
(containerOverrides.environment[0].name), in the words AWS's validation
layer uses ("1 validation error detected: Value null at 'jobQueue' failed
to satisfy constraint: Member must not be null"); message() joins them
into one error message. Members sent elsewhere than the body (a header, the
URI, the query string) are left out of the body's check."""

import json

import botocore.session

_session = None


def service_model(name):
    """botocore's model of service name (the loaders' cache is kept)."""
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    return _session.get_service_model(name)


def _show(value):
    if value is None:
        return 'null'
    text = json.dumps(value) if not isinstance(value, str) else value
    return "'%s'" % (text if len(text) <= 200 else text[:200] + '...')


def _constraint(path, value, rule):
    return 'Value %s at \'%s\' failed to satisfy constraint: %s' % (_show(value), path, rule)


def _join(path, name):
    return '%s.%s' % (path, name) if path else name


def check(shape, value, path=''):
    """The problems of value against shape: a list of sentences (empty: valid)."""
    errors = []
    _check(shape, value, path, errors, top=True)
    return errors


def message(errors):
    """The one message AWS answers for these problems."""
    unknown = [e for e in errors if e.startswith('Unrecognized field')]
    if unknown:
        return unknown[0]
    return '%d validation error%s detected: %s' % (len(errors), '' if len(errors) == 1 else 's', '; '.join(errors))


def _number_ok(type_name, value):
    if isinstance(value, bool):
        return False
    if type_name in ('integer', 'long'):
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, (int, float))


def _check(shape, value, path, errors, top=False):
    type_name = shape.type_name
    if value is None:
        return      # an explicit null is as good as absent, except where required (checked by the parent)
    if type_name == 'structure':
        if not isinstance(value, dict):
            errors.append(_constraint(path or shape.name, value, 'Member must be a structure (%s)' % shape.name))
            return
        members = {name: member for name, member in shape.members.items()
                   if not (top and member.serialization.get('location'))}
        for name in value:
            if name not in members:
                errors.append('Unrecognized field "%s" at \'%s\' (not a member of %s)' % (
                    name, _join(path, name), shape.name))
        for name in shape.required_members:
            if name in members and value.get(name) is None:
                errors.append(_constraint(_join(path, name), None, 'Member must not be null'))
        if shape.metadata.get('union') and sum(1 for v in value.values() if v is not None) > 1:
            errors.append(_constraint(path or shape.name, value, 'Member must have exactly one member set'))
        for name, item in value.items():
            if name in members:
                _check(members[name], item, _join(path, name), errors)
        return
    if type_name == 'list':
        if not isinstance(value, list):
            errors.append(_constraint(path, value, 'Member must be a list'))
            return
        _length(shape, value, path, errors)
        for i, item in enumerate(value):
            if item is None:
                errors.append(_constraint('%s[%d]' % (path, i), None, 'Member must not be null'))
            else:
                _check(shape.member, item, '%s[%d]' % (path, i), errors)
        return
    if type_name == 'map':
        if not isinstance(value, dict):
            errors.append(_constraint(path, value, 'Member must be a map'))
            return
        _length(shape, value, path, errors)
        for key, item in value.items():
            _check(shape.key, key, '%s.key' % path, errors)
            if item is None:
                errors.append(_constraint('%s.%s' % (path, key), None, 'Member must not be null'))
            else:
                _check(shape.value, item, '%s.%s' % (path, key), errors)
        return
    if type_name == 'string':
        if not isinstance(value, str):
            errors.append(_constraint(path, value, 'Member must be a string'))
            return
        enum = shape.enum
        if enum and value not in enum:
            errors.append(_constraint(path, value, 'Member must satisfy enum value set: [%s]' % ', '.join(enum)))
        _length(shape, value, path, errors)
        return
    if type_name == 'boolean':
        if not isinstance(value, bool):
            errors.append(_constraint(path, value, 'Member must be a boolean'))
        return
    if type_name in ('integer', 'long', 'double', 'float'):
        if not _number_ok(type_name, value):
            errors.append(_constraint(path, value, 'Member must be %s' % (
                'an integer' if type_name in ('integer', 'long') else 'a number')))
            return
        if type_name == 'integer' and not -2 ** 31 <= value < 2 ** 31:
            errors.append(_constraint(path, value, 'Member must fit in 32 bits'))
        low, high = shape.metadata.get('min'), shape.metadata.get('max')
        if low is not None and value < low:
            errors.append(_constraint(path, value, 'Member must have value greater than or equal to %s' % low))
        if high is not None and value > high:
            errors.append(_constraint(path, value, 'Member must have value less than or equal to %s' % high))
        return
    if type_name == 'timestamp':
        if not (_number_ok('double', value) or isinstance(value, str)):
            errors.append(_constraint(path, value, 'Member must be a timestamp'))
        return
    if type_name == 'blob':
        if not isinstance(value, str):
            errors.append(_constraint(path, value, 'Member must be base64-encoded bytes'))
        return
    # document and anything newer: any JSON value


def _length(shape, value, path, errors):
    low, high = shape.metadata.get('min'), shape.metadata.get('max')
    if low is not None and len(value) < low:
        errors.append(_constraint(path, value, 'Member must have length greater than or equal to %s' % low))
    if high is not None and len(value) > high:
        errors.append(_constraint(path, value, 'Member must have length less than or equal to %s' % high))
