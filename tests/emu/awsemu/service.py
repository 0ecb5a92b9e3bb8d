"""The base of every emulated service: how it names a request's operation,
answers it, words its errors and its refused signatures; the JSON 1.1 and
Query protocol families."""

import calendar
import json
import re
import time
import urllib.parse

from .common import ApiError, Response, esc
from .sigv4 import AMZ_DATE


class Service:
    """One emulated AWS service: its signing name, how it names a request's
    operation, how it answers, and its error format. A new service (Batch)
    is a module with a subclass, listed in main.services(); the server sends
    it the requests whose credential scope names it.

    Its operations: `actions` maps an operation name to the method that
    answers it (JsonService and QueryService dispatch through it). Its
    control endpoints: control_routes() maps (method, name) to a function
    of (request, JSON body) served at /__emu/<name>; reset() is its part of
    POST /__emu/reset."""
    name = ''
    max_skew_s = 300
    actions = {}

    def control_routes(self):
        return {}

    def reset(self):
        pass

    def operation(self, req):
        raise NotImplementedError

    def handle(self, req, op):
        raise NotImplementedError

    def error(self, req, status, code, message, extra=None):
        raise NotImplementedError

    # The faults' answers: (status, code, message) for slowdown and for
    # the internal errors (500, and error200 with status 200).
    SLOWDOWN = (400, 'ThrottlingException', 'Rate exceeded')
    INTERNAL = (500, 'InternalServiceError', 'An error occurred on the server side.')

    def auth_error(self, req, failure):
        """The non-S3 services' answer to a refused signature."""
        status, code, message = self.AUTH[failure.kind]
        if failure.kind == 'skewed':
            message = skew_message(failure, self.max_skew_s)
        elif failure.kind == 'mismatch' and 'CanonicalRequest' in failure.extra:
            message += ("\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                        "The String-to-Sign should have been\n'%s'\n") % (
                            failure.extra['CanonicalRequest'], failure.extra['StringToSign'])
        elif failure.message:
            message = failure.message
        return self.error(req, status, code, message)

    def fault(self, req, kind):
        if kind == 'reset':
            return Response(0, reset=True)
        if kind == 'slowdown':
            return self.error(req, *self.SLOWDOWN)
        response = self.error(req, *self.INTERNAL)
        if kind == 'error200':
            response.status = 200
        return response


def skew_message(failure, max_skew_s):
    """How AWS's non-S3 services word a request time too far from theirs."""
    request_time, server_time = failure.extra['RequestTime'], failure.extra['ServerTime']
    late = request_time < server_time
    bound = time.strftime(AMZ_DATE, time.gmtime(
        calendar.timegm(time.strptime(server_time, AMZ_DATE)) + (-max_skew_s if late else max_skew_s)))
    return ('Signature expired: %s is now earlier than %s (%s - 5 min.)' if late else
            'Signature not yet current: %s is still later than %s (%s + 5 min.)') % (request_time, bound, server_time)


class JsonService(Service):
    """An awsJson1.1 service (X-Amz-Target: <prefix>.<Action>). With no
    actions, it is what a signed request for an unemulated service meets."""
    actions = {}
    AUTH = {
        'missing': (400, 'MissingAuthenticationTokenException', 'Missing Authentication Token'),
        'malformed': (400, 'IncompleteSignatureException', 'The request signature does not conform to AWS standards.'),
        'unsupported': (400, 'IncompleteSignatureException', 'Unsupported authorization type'),
        'unknown_key': (400, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
        'bad_token': (400, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
        'bad_date': (400, 'IncompleteSignatureException',
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."),
        'skewed': (400, 'InvalidSignatureException', 'Signature expired'),
        'expired': (400, 'InvalidSignatureException', 'Signature expired'),
        'region': (400, 'InvalidSignatureException', 'Credential should be scoped to a valid region.'),
        'mismatch': (400, 'InvalidSignatureException',
                     'The request signature we calculated does not match the signature you provided. '
                     'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'),
        'noncanonical': (400, 'InvalidSignatureException', ''),
    }

    def __init__(self, name, target_prefix=None):
        self.name = name
        self.target_prefix = target_prefix or name

    def operation(self, req):
        target = req.headers.get('X-Amz-Target', '')
        prefix, _, action = target.partition('.')
        return action if prefix == self.target_prefix and action else 'Unknown'

    def reply(self, req, status, obj):
        return Response(status, json.dumps(obj).encode(),
                        [('Content-Type', 'application/x-amz-json-1.1'), ('x-amzn-RequestId', req.rid)])

    def error(self, req, status, code, message, extra=None):
        return self.reply(req, status, {'__type': code, 'message': message})

    def handle(self, req, op):
        action = self.actions.get(op)
        if action is None:
            return self.error(req, 400, 'UnknownOperationException', 'Unknown operation %s' % op)
        try:
            body = json.loads(req.body or b'{}')
            if not isinstance(body, dict):
                raise ValueError('not an object')
        except ValueError:
            return self.error(req, 400, 'SerializationException', 'The request body is not a JSON object.')
        try:
            return self.reply(req, 200, action(self, body))
        except ApiError as e:
            return self.error(req, e.status, e.code, e.message)


def xml_node(tag, value, depth=1):
    """One element, indented as AWS's query services indent their answers:
    value is text, a list of (tag, value) children (an empty list gives
    <Tag/>), or None (left out). tag may carry attributes."""
    if value is None:
        return ''
    pad = '  ' * depth
    name = tag.split(' ', 1)[0]
    if isinstance(value, list):
        inner = ''.join(xml_node(t, v, depth + 1) for t, v in value)
        return '%s<%s>\n%s%s</%s>\n' % (pad, tag, inner, pad, name) if inner else '%s<%s/>\n' % (pad, tag)
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    return '%s<%s>%s</%s>\n' % (pad, tag, esc(value), name)


class QueryService(Service):
    """An awsQuery service (CloudFormation; IAM and STS speak it too):
    Action=...&Version=... form-encoded in a POST body (or in the query
    string), answered in XML in the service's namespace as
    <XResponse><XResult>...</XResult><ResponseMetadata><RequestId>, errors
    as <ErrorResponse><Error><Type><Code><Message></Error><RequestId>."""
    namespace = ''
    version = ''
    actions = {}
    AUTH = {
        'missing': (403, 'MissingAuthenticationToken', 'Request is missing Authentication Token'),
        'malformed': (400, 'IncompleteSignature', 'The request signature does not conform to AWS standards.'),
        'unsupported': (400, 'IncompleteSignature', 'Unsupported authorization type'),
        'unknown_key': (403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
        'bad_token': (403, 'InvalidClientTokenId', 'The security token included in the request is invalid.'),
        'bad_date': (400, 'IncompleteSignature',
                     "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."),
        'skewed': (403, 'SignatureDoesNotMatch', 'Signature expired'),
        'expired': (403, 'SignatureDoesNotMatch', 'Signature expired'),
        'region': (403, 'SignatureDoesNotMatch', 'Credential should be scoped to a valid region.'),
        'mismatch': (403, 'SignatureDoesNotMatch',
                     'The request signature we calculated does not match the signature you provided. '
                     'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'),
        'noncanonical': (403, 'SignatureDoesNotMatch', ''),
    }

    @staticmethod
    def form(req):
        """The request's parameters: its query string, then its form-encoded body."""
        if getattr(req, 'form', None) is None:
            pairs = urllib.parse.parse_qsl(req.query, keep_blank_values=True)
            ctype = req.headers.get('Content-Type', '').partition(';')[0].strip().lower()
            if req.method == 'POST' and ctype == 'application/x-www-form-urlencoded':
                pairs += urllib.parse.parse_qsl(req.body.decode('utf-8', 'replace'), keep_blank_values=True)
            req.form = dict(pairs)
        return req.form

    def operation(self, req):
        return self.form(req).get('Action') or 'Unknown'

    def reply(self, req, action, result):
        """result: the children of <ActionResult>, or None for an answer without one."""
        body = '<%sResponse xmlns="%s">\n%s%s</%sResponse>\n' % (
            action, self.namespace, xml_node(action + 'Result', result),
            xml_node('ResponseMetadata', [('RequestId', req.rid)]), action)
        return Response(200, body.encode('utf-8', 'surrogateescape'),
                        [('Content-Type', 'text/xml'), ('x-amzn-RequestId', req.rid)])

    def error(self, req, status, code, message, extra=None):
        body = '<ErrorResponse xmlns="%s">\n%s%s</ErrorResponse>\n' % (
            self.namespace, xml_node('Error', [('Type', 'Receiver' if status >= 500 else 'Sender'),
                                              ('Code', code), ('Message', message)]),
            xml_node('RequestId', req.rid))
        return Response(status, body.encode('utf-8', 'surrogateescape'),
                        [('Content-Type', 'text/xml'), ('x-amzn-RequestId', req.rid)])

    SLOWDOWN = (400, 'Throttling', 'Rate exceeded')
    INTERNAL = (500, 'InternalFailure', 'An internal error has occurred.')

    def handle(self, req, op):
        form = self.form(req)
        if 'Action' not in form:
            return self.error(req, 400, 'MissingAction', 'Missing Action')
        if 'Version' not in form:
            return self.error(req, 400, 'MissingParameter', 'The request must contain the parameter Version')
        action = self.actions.get(op)
        if action is None or form['Version'] != self.version:
            return self.error(req, 400, 'InvalidAction', 'Could not find operation %s for version %s' % (
                op, form['Version']))
        try:
            return self.reply(req, op, action(self, form))
        except ApiError as e:
            return self.error(req, e.status, e.code, e.message)


def query_members(form, prefix):
    """A list parameter of the query protocol: Prefix.member.N (strings) or
    Prefix.member.N.Field (dicts), in N's order."""
    pattern = re.compile(re.escape(prefix) + r'\.member\.(\d+)(?:\.(.+))?$')
    found = {}
    for name, value in form.items():
        m = pattern.match(name)
        if m and m.group(2):
            entry = found.setdefault(int(m.group(1)), {})
            if isinstance(entry, dict):
                entry[m.group(2)] = value
        elif m:
            found[int(m.group(1))] = value
    return [found[n] for n in sorted(found)]
