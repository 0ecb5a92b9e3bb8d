#!/usr/bin/python3
"""emu.py - the loopback AWS endpoint rapid's tests run against.

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
  * Each service is a Service subclass, registered in Emulator.services
    under its signing name: a request goes to the service its credential
    scope names.
  * Faults are injected on request, requests are counted by operation, and
    every request is kept in a log a test can search (a secret written to
    Secrets Manager excepted), to prove where a secret did not go.

Run it with Debian's /usr/bin/python3 (package python3-botocore):

  /usr/bin/python3 tests/emu/emu.py --data DIR --port-file FILE [--log FILE]
      --cred AKID:SECRET[:TOKEN]... [--bucket NAME]... [--secret NAME=VALUE]...
      [--region us-east-1]

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
  POST /__emu/reset     zero the counters; clear the faults, the clock offset,
                        the request log, and CloudFormation's pace and injected
                        failures (stacks and secrets stay)
  POST /__emu/faults    {"next": ["slowdown", "reset"]}: the next requests fail
                        {"rate": 0.2, "kinds": ["500"], "seed": 7}: each
                        request fails with that probability (kinds default
                        slowdown, 500, reset); both may take "ops": [names]
                        (only those operations) and "delay_ms" (for delay,
                        default 1000). {} clears. Kinds: slowdown (503
                        SlowDown), 500 (InternalError), reset (connection
                        reset after reading the request), delay (then served),
                        error200 (200 with an <Error> body), truncate (served,
                        then only the first half of its body is sent, with a
                        Content-Length to match), garbage (200 with a body that
                        is neither XML nor JSON). A faulted request never
                        reaches s3rver, except a delayed or truncated one.
  POST /__emu/clock     {"offset_s": -1200}: the emulator's clock runs that
                        much off (S3 refuses requests more than 15 minutes off,
                        other services 5)
  POST /__emu/secret    {"name": "rapid/test", "value": "..."}: create or
                        update a secret
  GET  /__emu/container-credentials  container credentials as ECS serves
                        them: the first --cred with a session token, to a
                        request whose Authorization is --container-auth
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
  GET  /__emu/cfn       {"step_ms", "fail", "fail_delete", "reason", "stacks":
                        [{"name", "id", "status"}]}
  POST /__emu/bucket-region  {"bucket": "b", "region": "eu-west-1"}: the bucket
                        (which must exist) is said to be in that region:
                        HeadBucket answers 301 with x-amz-bucket-region,
                        GetBucketLocation that region, other requests 400
                        AuthorizationHeaderMalformed with <Region>
  POST /__emu/seed      {"bucket": "b", "prefix": "p/", "count": 25000,
                        "body": "x"} (keys p/000000, p/000001, ...) or
                        {"bucket": "b", "keys": [...], "body": "x"}: objects
                        written straight into s3rver's store, not counted
"""

import argparse
import base64
import bisect
import binascii
import calendar
import collections
import concurrent.futures
import ctypes
import hashlib
import hmac
import http.client
import http.server
import ipaddress
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import types
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

try:
    import yaml     # python3-yaml: only CloudFormation's YAML templates need it
except ImportError:
    yaml = None

from botocore.auth import (S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth,
                           SigV4QueryAuth)
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
S3RVER_BIN = os.path.join(HERE, 'node_modules', 's3rver', 'bin', 's3rver.js')
ALGORITHM = 'AWS4-HMAC-SHA256'
AMZ_DATE = '%Y%m%dT%H%M%SZ'
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
ACCOUNT = '123456789012'
OWNER = '<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>emu</DisplayName>'
MIN_PART = 5 * 1024 * 1024
FAULT_KINDS = ('slowdown', '500', 'reset', 'delay', 'error200', 'truncate', 'garbage')
# Query parameters of a presigned URL: checked here, never forwarded.
PRESIGN_PARAMS = {'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
                  'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'}
# Request headers that stop here: hop-by-hop, or credentials s3rver must not see.
NOT_FORWARDED = {'host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'expect',
                 'content-length', 'authorization', 'x-amz-security-token', 'proxy-authorization'}
NOT_RELAYED = {'connection', 'keep-alive', 'transfer-encoding', 'date', 'server'}
# s3rver's on-disk store: <data>/<bucket>/<key dirs>/<last segment><suffix>.
OBJ, MD5, META = '._S3rver_object', '._S3rver_object.md5', '._S3rver_metadata.json'
UPLOADS = '._S3rver_uploads'
BUCKET_RE = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
BAD_ESCAPE_RE = re.compile(r'%(?![0-9A-Fa-f]{2})')
UPLOAD_ID_RE = re.compile(r'^[0-9a-f]{32}$')

log = logging.getLogger('emu')


def esc(text):
    return (str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            .replace('"', '&quot;'))


def elem(tag, text):
    return '<%s>%s</%s>' % (tag, esc(text), tag)


def xml_doc(inner):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + inner).encode('utf-8', 'surrogateescape')


def iso8601(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(epoch))


def redact(text):
    """Drop the values a log or an error body must not carry."""
    text = re.sub(r'(?im)((?:^|[?&])(?:X-Amz-Signature|X-Amz-Security-Token|Signature))=[^&\s]*', r'\1=REDACTED', text)
    return re.sub(r'(?im)^(x-amz-security-token):.*$', r'\1:REDACTED', text)


class Response:
    """What goes back: status, headers, body; or, with reset, a connection reset."""

    def __init__(self, status, body=b'', headers=(), reset=False):
        self.status, self.body, self.headers, self.reset = status, body, list(headers), reset


class ApiError(Exception):
    """An error answer, in whatever format the service speaks."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


class AuthFailure(Exception):
    """Why a request's authentication was refused; each service words it its own way.
    kind: missing, malformed, unsupported, unknown_key, bad_token, bad_date, skewed,
    expired, region, unsigned_headers, no_content_sha, streaming, mismatch,
    noncanonical (signed as sent, but not sent as SigV4 encodes), payload_mismatch."""

    def __init__(self, kind, message=None, **extra):
        super().__init__(kind)
        self.kind, self.message, self.extra = kind, message, extra


class Request:
    """One request as received: raw target split at '?', headers, body."""

    def __init__(self, method, target, headers, body, rid):
        self.method, self.target, self.headers, self.body, self.rid = method, target, headers, body, rid
        self.path, _, self.query = target.partition('?')
        self.params = dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))


# ---------------------------------------------------------------- signatures

class _ExactHeaders:
    """botocore picks the headers to sign itself; a verifier must use exactly
    the ones the request names in SignedHeaders."""
    signed = ()

    def headers_to_sign(self, request):
        picked = HTTPHeaders()
        for name in self.signed:
            for value in request.headers.get_all(name) or ():
                picked[name] = value
        return picked


# S3 signers use the path as given (no normalization, no second encoding), so
# feeding them the raw path verifies exactly what went over the wire.
class _S3HeaderSigner(_ExactHeaders, S3SigV4Auth):
    pass


class _S3QuerySigner(_ExactHeaders, S3SigV4QueryAuth):
    pass


class _HeaderSigner(_ExactHeaders, SigV4Auth):
    pass


class _QuerySigner(_ExactHeaders, SigV4QueryAuth):
    pass


def _signing_headers(message):
    """The request's headers for botocore. http.server decodes header bytes as
    Latin-1; the client signed their UTF-8 text."""
    headers = HTTPHeaders()
    for name, value in message.items():
        try:
            value = value.encode('latin-1').decode('utf-8')
        except UnicodeError:
            pass
        headers[name] = value
    return headers


def canonical_target(path, query):
    """Path and query as SigV4 encodes them (RFC 3986: unreserved characters
    as they are, every other byte %XX; '/' kept in the path). http.server
    hands over the request line decoded as Latin-1."""
    def encode(raw, safe):
        return urllib.parse.quote(urllib.parse.unquote_to_bytes(raw.encode('latin-1')), safe=safe)
    pairs = []
    for pair in query.split('&') if query else ():
        name, eq, value = pair.partition('=')
        pairs.append(encode(name, '') + eq + encode(value, ''))
    return encode(path, '/') + ('?' + '&'.join(pairs) if pairs else '')


class Verifier:
    """SigV4 checks against a table of credentials and a clock that can be set off."""

    def __init__(self, creds, region):
        self.creds = creds          # access key id -> Credentials
        self.region = region
        self.offset_s = 0.0

    def now(self):
        return time.time() + self.offset_s

    def verify(self, req, service):
        auth = req.headers.get('Authorization')
        presigned = 'X-Amz-Algorithm' in req.params
        if auth is not None and presigned:
            raise AuthFailure('malformed', 'Only one auth mechanism allowed')
        if auth is None and not presigned:
            raise AuthFailure('unsupported' if 'Signature' in req.params else 'missing')
        if auth is not None:
            if not auth.startswith(ALGORITHM + ' '):
                raise AuthFailure('unsupported')
            fields = {}
            for part in auth[len(ALGORITHM):].split(','):
                name, _, value = part.strip().partition('=')
                fields[name] = value
            credential, signed, signature = (fields.get('Credential'), fields.get('SignedHeaders'),
                                             fields.get('Signature'))
            amz_date = req.headers.get('X-Amz-Date')
            token = req.headers.get('X-Amz-Security-Token')
            query = req.query
        else:
            p = req.params
            if p['X-Amz-Algorithm'] != ALGORITHM:
                raise AuthFailure('unsupported')
            credential, signed, signature = (p.get('X-Amz-Credential'), p.get('X-Amz-SignedHeaders'),
                                             p.get('X-Amz-Signature'))
            amz_date, token, expires = p.get('X-Amz-Date'), p.get('X-Amz-Security-Token'), p.get('X-Amz-Expires')
            query = '&'.join(pair for pair in req.query.split('&')
                             if pair.partition('=')[0] != 'X-Amz-Signature')
        if not credential or not signed or not signature:
            raise AuthFailure('malformed', 'The authorization header is malformed; '
                              'Credential, SignedHeaders and Signature are required')
        scope = credential.split('/')
        if len(scope) != 5 or scope[4] != 'aws4_request':
            raise AuthFailure('malformed', 'The authorization header is malformed; '
                              'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
        akid, _, region, scope_service, _ = scope
        cred = self.creds.get(akid)
        if cred is None:
            raise AuthFailure('unknown_key', AWSAccessKeyId=akid)
        try:
            when = calendar.timegm(time.strptime(amz_date or '', AMZ_DATE))
        except ValueError:
            raise AuthFailure('bad_date') from None
        if region != self.region:
            raise AuthFailure('region', Region=self.region, Given=region)
        now = self.now()
        if auth is not None:
            if abs(when - now) > service.max_skew_s:
                raise AuthFailure('skewed', RequestTime=amz_date, ServerTime=time.strftime(AMZ_DATE, time.gmtime(now)),
                                  MaxAllowedSkewMilliseconds=service.max_skew_s * 1000)
        else:
            if not (expires or '').isdigit() or not 1 <= int(expires) <= 604800:
                raise AuthFailure('malformed', 'X-Amz-Expires must be between 1 and 604800 seconds')
            if now > when + int(expires):
                raise AuthFailure('expired', Expires=iso8601(when + int(expires)), ServerTime=iso8601(now))
        if not hmac.compare_digest((token or '').encode(), (cred.token or '').encode()):
            raise AuthFailure('bad_token')
        signed_names = signed.split(';')
        content_sha = req.headers.get('x-amz-content-sha256')
        if service.name == 's3' and auth is not None:
            if content_sha is None:
                raise AuthFailure('no_content_sha')
            if content_sha.startswith('STREAMING-'):
                raise AuthFailure('streaming', Header='x-amz-content-sha256')
            unsigned = sorted({n.lower() for n in req.headers.keys()
                               if n.lower().startswith('x-amz-') and n.lower() not in signed_names})
            if unsigned:
                raise AuthFailure('unsigned_headers', HeadersNotSigned=', '.join(unsigned))

        s3 = service.name == 's3'
        cls = (_S3HeaderSigner if s3 else _HeaderSigner) if auth is not None else \
              (_S3QuerySigner if s3 else _QuerySigner)
        signer = cls(Credentials(akid, cred.secret_key, cred.token), scope_service, region)
        signer.signed = signed_names
        areq = AWSRequest(method=req.method, url='http://emu' + req.path + ('?' + query if query else ''),
                          data=req.body)
        areq.headers = _signing_headers(req.headers)
        areq.context['timestamp'] = amz_date
        canonical = signer.canonical_request(areq)
        string_to_sign = signer.string_to_sign(areq, canonical)
        if not hmac.compare_digest(signer.signature(string_to_sign, areq).encode(), signature.encode()):
            raise AuthFailure('mismatch', CanonicalRequest=redact(canonical), StringToSign=string_to_sign)
        wire = req.path + ('?' + query if query else '')
        expected = canonical_target(req.path, query)
        if wire != expected:
            raise AuthFailure('noncanonical', 'emulator: the signature matches the request as sent, but its path or '
                              'query is not encoded as SigV4 encodes it (%s), and AWS may canonicalize it before '
                              'checking: send exactly what you sign, encoded that way' % redact(expected))
        if content_sha not in (None, UNSIGNED_PAYLOAD):
            computed = hashlib.sha256(req.body).hexdigest()
            if content_sha != computed:
                # Other services hash the body themselves: a wrong header is a wrong signature.
                raise AuthFailure('payload_mismatch' if s3 else 'mismatch', ClientComputedContentSHA256=content_sha,
                                  S3ComputedContentSHA256=computed)


# ------------------------------------------------------------------ services

class Service:
    """One emulated AWS service: its signing name, how it names a request's
    operation, how it answers, and its error format. A new service (Batch,
    CloudFormation) is a subclass registered in Emulator.services."""
    name = ''
    max_skew_s = 300

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


class SecretsManager(JsonService):
    """Secrets Manager from memory: versions with AWSCURRENT/AWSPREVIOUS
    stages; a secret is found by name, by ARN, or by ARN without its suffix.
    DeleteSecret schedules deletion (the secret then refuses reads and writes
    until RestoreSecret) unless ForceDeleteWithoutRecovery, which is what
    CloudFormation uses for the secrets of a stack."""

    def __init__(self, region):
        super().__init__('secretsmanager')
        self.region = region
        self.lock = threading.Lock()
        self.secrets = {}   # name -> dict

    NOT_FOUND = "Secrets Manager can't find the specified secret."
    MARKED = "You can't perform this operation on the secret because it was marked for deletion."

    def _find(self, secret_id, live=True):
        if not isinstance(secret_id, str) or not secret_id:
            raise ApiError(400, 'InvalidParameterException', 'You must specify a SecretId.')
        for secret in self.secrets.values():
            if secret_id in (secret['Name'], secret['ARN'], secret['ARN'][:-7]):
                if live and secret.get('DeletedDate') is not None:
                    raise ApiError(400, 'InvalidRequestException', self.MARKED)
                return secret
        raise ApiError(400, 'ResourceNotFoundException', self.NOT_FOUND)

    def _add_version(self, secret, body):
        value, binary = body.get('SecretString'), body.get('SecretBinary')
        if (value is None) == (binary is None):
            raise ApiError(400, 'InvalidParameterException',
                           'You must provide either SecretString or SecretBinary.')
        version_id = body.get('ClientRequestToken') or str(uuid.uuid4())
        old = secret['versions'].get(version_id)
        if old is not None:
            if (old['SecretString'], old['SecretBinary']) != (value, binary):
                raise ApiError(400, 'ResourceExistsException',
                               'You can\'t modify an existing version, you can only create a new version.')
            return version_id
        for version in secret['versions'].values():
            version['stages'].discard('AWSPREVIOUS')
            if 'AWSCURRENT' in version['stages']:
                version['stages'] = {'AWSPREVIOUS'}
        secret['versions'][version_id] = {'SecretString': value, 'SecretBinary': binary, 'stages': {'AWSCURRENT'},
                                          'created': time.time()}
        secret['LastChangedDate'] = time.time()
        return version_id

    def arn_for(self, name):
        """A new secret's ARN: its name, '-', six random letters."""
        return secret_arn(self.region, name)

    def create(self, name, body, arn=None):
        """Create a secret (the caller holds the lock); arn chosen by the caller
        (CloudFormation knows it before it creates the secret) or made here."""
        old = self.secrets.get(name)
        if old is not None and old.get('DeletedDate') is not None:
            raise ApiError(400, 'InvalidRequestException', "You can't create this secret because a secret with "
                           "this name is already scheduled for deletion.")
        if old is not None:
            raise ApiError(400, 'ResourceExistsException',
                           'The operation failed because the secret %s already exists.' % name)
        secret = {'Name': name, 'ARN': arn or self.arn_for(name), 'Description': body.get('Description'),
                  'CreatedDate': time.time(), 'versions': {}}
        version_id = self._add_version(secret, body) if ('SecretString' in body or 'SecretBinary' in body) else None
        self.secrets[name] = secret
        return secret, version_id

    def set(self, name, value):
        """Create the secret or give it a new current value (the control API, --secret)."""
        with self.lock:
            if name in self.secrets:
                self._add_version(self.secrets[name], {'SecretString': value})
            else:
                self.create(name, {'SecretString': value})

    def remove(self, arn):
        """Delete a secret at once, without recovery (CloudFormation deleting a stack's secret)."""
        with self.lock:
            for name, secret in list(self.secrets.items()):
                if secret['ARN'] == arn:
                    del self.secrets[name]

    def create_secret(self, body):
        name = body.get('Name')
        if not isinstance(name, str) or not name:
            raise ApiError(400, 'InvalidParameterException', 'You must specify a Name.')
        with self.lock:
            secret, version_id = self.create(name, body)
        out = {'ARN': secret['ARN'], 'Name': name}
        if version_id:
            out['VersionId'] = version_id
        return out

    def put_secret_value(self, body):
        with self.lock:
            secret = self._find(body.get('SecretId'))
            version_id = self._add_version(secret, body)
            stages = sorted(secret['versions'][version_id]['stages'])
        return {'ARN': secret['ARN'], 'Name': secret['Name'], 'VersionId': version_id, 'VersionStages': stages}

    def get_secret_value(self, body):
        with self.lock:
            secret = self._find(body.get('SecretId'))
            version_id, stage = body.get('VersionId'), body.get('VersionStage')
            if version_id is None:
                stage = stage or 'AWSCURRENT'
                version_id = next((v for v, d in secret['versions'].items() if stage in d['stages']), None)
            version = secret['versions'].get(version_id)
            if version is None or (stage and stage not in version['stages']):
                raise ApiError(400, 'ResourceNotFoundException',
                               "Secrets Manager can't find the specified secret value for %s: %s" % (
                                   'staging label' if stage else 'VersionId', stage or version_id))
            out = {'ARN': secret['ARN'], 'Name': secret['Name'], 'VersionId': version_id,
                   'VersionStages': sorted(version['stages']), 'CreatedDate': version['created']}
            for field in ('SecretString', 'SecretBinary'):
                if version[field] is not None:
                    out[field] = version[field]
        return out

    def _describe(self, secret):
        out = {'ARN': secret['ARN'], 'Name': secret['Name'], 'CreatedDate': secret['CreatedDate']}
        if secret['versions']:
            out['VersionIdsToStages'] = {v: sorted(d['stages']) for v, d in secret['versions'].items()}
        for field in ('Description', 'LastChangedDate', 'DeletedDate'):
            if secret.get(field) is not None:
                out[field] = secret[field]
        return out

    def describe_secret(self, body):
        with self.lock:
            return self._describe(self._find(body.get('SecretId'), live=False))

    def delete_secret(self, body):
        force, window = body.get('ForceDeleteWithoutRecovery'), body.get('RecoveryWindowInDays')
        if force and window is not None:
            raise ApiError(400, 'InvalidParameterException', "You can't use ForceDeleteWithoutRecovery in "
                           "conjunction with RecoveryWindowInDays.")
        if window is None:
            window = 30
        if not isinstance(window, int) or isinstance(window, bool) or not 7 <= window <= 30:
            raise ApiError(400, 'InvalidParameterException',
                           'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).')
        with self.lock:
            secret = self._find(body.get('SecretId'))
            now = time.time()
            if force:
                del self.secrets[secret['Name']]
                when = now
            else:
                secret['DeletedDate'] = now
                when = now + window * 86400
        return {'ARN': secret['ARN'], 'Name': secret['Name'], 'DeletionDate': when}

    def restore_secret(self, body):
        with self.lock:
            secret = self._find(body.get('SecretId'), live=False)
            secret.pop('DeletedDate', None)
        return {'ARN': secret['ARN'], 'Name': secret['Name']}

    def list_secrets(self, body):
        with self.lock:
            listed = [self._describe(s) for s in sorted(self.secrets.values(), key=lambda s: s['CreatedDate'])
                      if body.get('IncludePlannedDeletion') or s.get('DeletedDate') is None]
        for entry in listed:
            if 'VersionIdsToStages' in entry:
                entry['SecretVersionsToStages'] = entry.pop('VersionIdsToStages')
        return {'SecretList': listed}

    actions = {'CreateSecret': create_secret, 'PutSecretValue': put_secret_value,
               'GetSecretValue': get_secret_value, 'DescribeSecret': describe_secret,
               'DeleteSecret': delete_secret, 'RestoreSecret': restore_secret, 'ListSecrets': list_secrets}


class Upstream:
    """Keep-alive connections to s3rver, shared by all handler threads."""
    IDLE_S = 4.0    # Node closes idle connections after 5 s

    def __init__(self, port):
        self.port = port
        self.host = '127.0.0.1:%d' % port
        self.lock = threading.Lock()
        self.idle = []  # (connection, last used)

    def _take(self):
        with self.lock:
            while self.idle:
                conn, used = self.idle.pop()
                if time.monotonic() - used < self.IDLE_S:
                    return conn, True
                conn.close()
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=120), False

    def request(self, method, target, headers, body):
        """(status, headers, body) of s3rver's answer."""
        while True:
            conn, reused = self._take()
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value)
                conn.endheaders(body or None)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if reused:      # a pooled connection s3rver had closed: the request never got there
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                with self.lock:
                    self.idle.append((conn, time.monotonic()))
            return resp.status, resp.getheaders(), data


class S3(Service):
    """S3, path-style, in front of s3rver."""
    name = 's3'
    max_skew_s = 900
    AUTH = {
        'missing': (403, 'AccessDenied', 'Access Denied'),
        'malformed': (400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.'),
        'unsupported': (400, 'InvalidRequest', 'The authorization mechanism you have provided is not supported. '
                        'Please use AWS4-HMAC-SHA256.'),
        'unknown_key': (403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'),
        'bad_token': (400, 'InvalidToken', 'The provided token is malformed or otherwise invalid.'),
        'bad_date': (403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'),
        'skewed': (403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'),
        'expired': (403, 'AccessDenied', 'Request has expired'),
        'region': (400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; the region is wrong.'),
        'unsigned_headers': (403, 'AccessDenied', 'There were headers present in the request which were not signed'),
        'no_content_sha': (400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'),
        'streaming': (501, 'NotImplemented', 'A header you provided implies functionality that is not implemented'),
        'mismatch': (403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature '
                     'you provided. Check your key and signing method.'),
        'noncanonical': (403, 'SignatureDoesNotMatch', ''),
        'payload_mismatch': (400, 'XAmzContentSHA256Mismatch',
                             "The provided 'x-amz-content-sha256' header does not match what was computed."),
    }
    # Sub-resources that name an operation other than the plain one.
    BUCKET_OPS = {'GET': [('uploads', 'ListMultipartUploads'), ('location', 'GetBucketLocation'),
                          ('versioning', 'GetBucketVersioning'), ('acl', 'GetBucketAcl'), ('cors', 'GetBucketCors'),
                          ('policy', 'GetBucketPolicy'), ('tagging', 'GetBucketTagging'),
                          ('website', 'GetBucketWebsite')],
                  'PUT': [('cors', 'PutBucketCors'), ('website', 'PutBucketWebsite'), ('policy', 'PutBucketPolicy'),
                          ('tagging', 'PutBucketTagging'), ('versioning', 'PutBucketVersioning')],
                  'DELETE': [('cors', 'DeleteBucketCors'), ('website', 'DeleteBucketWebsite')],
                  'POST': [('delete', 'DeleteObjects')]}
    OBJECT_OPS = {'GET': [('uploadId', 'ListParts'), ('acl', 'GetObjectAcl'), ('tagging', 'GetObjectTagging')],
                  'PUT': [('partNumber', 'UploadPart'), ('tagging', 'PutObjectTagging'), ('acl', 'PutObjectAcl')],
                  'POST': [('uploads', 'CreateMultipartUpload'), ('uploadId', 'CompleteMultipartUpload')],
                  'DELETE': [('uploadId', 'AbortMultipartUpload'), ('tagging', 'DeleteObjectTagging')]}
    PLAIN_BUCKET_OPS = {'GET': 'ListObjects', 'HEAD': 'HeadBucket', 'PUT': 'CreateBucket', 'DELETE': 'DeleteBucket',
                        'POST': 'PostObject'}
    PLAIN_OBJECT_OPS = {'GET': 'GetObject', 'HEAD': 'HeadObject', 'PUT': 'PutObject', 'DELETE': 'DeleteObject'}
    # Operations on one key, serialized per key (s3rver writes in place).
    KEYED = {'GetObject', 'HeadObject', 'PutObject', 'CopyObject', 'DeleteObject', 'CompleteMultipartUpload'}

    def __init__(self, data_dir, upstream, region='us-east-1'):
        self.data = data_dir
        self.upstream = upstream
        self.region = region
        self.regions = {}       # bucket -> region, for buckets said to live elsewhere
        self.locks = [threading.Lock() for _ in range(256)]

    # --- naming

    @staticmethod
    def _decode(raw):
        """Percent-decoded UTF-8, or None if raw is not that."""
        if BAD_ESCAPE_RE.search(raw):
            return None
        try:
            return urllib.parse.unquote(raw, errors='strict')
        except UnicodeDecodeError:
            return None

    def locate(self, req):
        """(bucket, key) from the raw path, decoded; either may be None if undecodable."""
        raw_bucket, _, raw_key = req.path[1:].partition('/')
        return self._decode(raw_bucket), self._decode(raw_key)

    def operation(self, req):
        bucket, key = self.locate(req)
        copy = 'x-amz-copy-source' in req.headers
        if not bucket:
            return 'ListBuckets' if req.method == 'GET' else 'Unknown'
        table, plain = (self.OBJECT_OPS, self.PLAIN_OBJECT_OPS) if key else (self.BUCKET_OPS, self.PLAIN_BUCKET_OPS)
        for param, op in table.get(req.method, ()):
            if param in req.params:
                return 'UploadPartCopy' if op == 'UploadPart' and copy else op
        if not key and req.method == 'GET' and req.params.get('list-type') == '2':
            return 'ListObjectsV2'
        if key and req.method == 'PUT' and copy:
            return 'CopyObject'
        return plain.get(req.method, 'Unknown')

    # --- error formats

    def error(self, req, status, code, message, extra=None):
        inner = '<Error>' + elem('Code', code) + elem('Message', message)
        inner += ''.join(elem(k, v) for k, v in (extra or {}).items())
        inner += elem('RequestId', req.rid) + '</Error>'
        return Response(status, xml_doc(inner), [('Content-Type', 'application/xml')])

    def auth_error(self, req, failure):
        status, code, message = self.AUTH[failure.kind]
        extra = dict(failure.extra)
        if failure.kind == 'region':
            message = "The authorization header is malformed; the region '%s' is wrong; expecting '%s'" % (
                extra.pop('Given'), extra['Region'])
        elif failure.kind == 'skewed':
            extra['ServerTime'] = iso8601(calendar.timegm(time.strptime(extra['ServerTime'], AMZ_DATE)))
        elif failure.message:
            message = failure.message
        return self.error(req, status, code, message, extra)

    SLOWDOWN = (503, 'SlowDown', 'Please reduce your request rate.')
    INTERNAL = (500, 'InternalError', 'We encountered an internal error. Please try again.')

    # --- s3rver's store

    def store_path(self, bucket, key, suffix):
        """Where s3rver keeps key's file with that suffix (its Node path.join
        collapses '.', '..' and empty segments the same way)."""
        *dirs, last = key.split('/')
        return os.path.normpath(os.path.join(self.data, bucket, *dirs, last + suffix))

    def upload_dir(self, bucket, upload_id):
        return os.path.join(self.data, bucket, UPLOADS, upload_id)

    @staticmethod
    def key_stays_in_bucket(key):
        depth = 0
        for segment in key.split('/')[:-1]:
            if segment == '..':
                depth -= 1
                if depth < 0:
                    return False
            elif segment not in ('', '.'):
                depth += 1
        return True

    def stored_etag(self, bucket, key):
        """The object's ETag without quotes, or None if it does not exist."""
        if not os.path.isfile(self.store_path(bucket, key, OBJ)):
            return None
        try:
            with open(self.store_path(bucket, key, MD5)) as f:
                return f.read().strip()
        except FileNotFoundError:
            with open(self.store_path(bucket, key, OBJ), 'rb') as f:
                return hashlib.md5(f.read()).hexdigest()

    # --- requests

    def handle(self, req, op):
        try:
            return self._handle(req, op)
        except ApiError as e:
            return self.error(req, e.status, e.code, e.message, e.extra)

    def _handle(self, req, op):
        bucket, key = self.locate(req)
        if bucket is None or key is None:
            raise ApiError(400, 'InvalidURI', "Couldn't parse the specified URI.", URI=req.path)
        if bucket and not BUCKET_RE.match(bucket):
            raise ApiError(400, 'InvalidBucketName', 'The specified bucket is not valid.', BucketName=bucket)
        if len(key.encode('utf-8', 'surrogateescape')) > 1024:
            raise ApiError(400, 'KeyTooLongError', 'Your key is too long')
        if not self.key_stays_in_bucket(key):
            raise ApiError(400, 'InvalidArgument', "emulator: s3rver's store cannot hold a key that climbs out "
                           "of its bucket with '..'", Key=key)
        if bucket and not key and op in ('HeadBucket', 'GetBucketLocation'):
            return self.bucket_answer(op, bucket)
        home = self.regions.get(bucket, self.region)
        if bucket and home != self.region:
            response = self.error(req, 400, 'AuthorizationHeaderMalformed', "The authorization header is malformed; "
                                  "the region '%s' is wrong; expecting '%s'" % (self.region, home), {'Region': home})
            response.headers.append(('x-amz-bucket-region', home))
            return response
        self.check_digests(req, op)
        local = {'ListObjectsV2': self.list_objects, 'ListObjects': self.list_objects,
                 'ListMultipartUploads': self.list_uploads, 'AbortMultipartUpload': self.abort_upload}
        if op in local:
            if not os.path.isdir(os.path.join(self.data, bucket)):
                raise ApiError(404, 'NoSuchBucket', 'The specified bucket does not exist', BucketName=bucket)
            return local[op](req, bucket, key)
        if op in ('UploadPart', 'CompleteMultipartUpload'):
            self.check_upload(req, bucket, key)
        if op == 'UploadPart':
            number = req.params.get('partNumber', '')
            if not number.isdigit() or not 1 <= int(number) <= 10000:
                raise ApiError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive',
                               ArgumentName='partNumber', ArgumentValue=number)
        if op not in self.KEYED:
            return self.forward(req, bucket, key)
        with self.locks[hash((bucket, key)) % len(self.locks)]:
            if op in ('PutObject', 'CompleteMultipartUpload'):
                self.check_conditions(req, bucket, key)
            if op == 'GetObject':
                self.resolve_suffix_range(req, bucket, key)
            parts = self.check_parts(req, bucket) if op == 'CompleteMultipartUpload' else None
            response = self.forward(req, bucket, key)
            if parts and response.status == 200 and b'<Error>' not in response.body:
                self.finish_multipart(bucket, key, parts, response)
            return response

    def bucket_answer(self, op, bucket):
        """HeadBucket and GetBucketLocation as S3 answers them (s3rver sends no
        x-amz-bucket-region and puts LocationConstraint in a wrong namespace).
        A bucket set in another region (POST /__emu/bucket-region) answers
        HeadBucket with 301, as S3 does."""
        exists = os.path.isdir(os.path.join(self.data, bucket))
        home = self.regions.get(bucket, self.region)
        if op == 'HeadBucket':
            if not exists:
                return Response(404, b'', [('Content-Type', 'application/xml')])
            return Response(200 if home == self.region else 301, b'',
                            [('Content-Type', 'application/xml'), ('x-amz-bucket-region', home)])
        if not exists:
            raise ApiError(404, 'NoSuchBucket', 'The specified bucket does not exist', BucketName=bucket)
        inner = ('<LocationConstraint xmlns="%s"/>' % S3_NS if home == 'us-east-1' else
                 '<LocationConstraint xmlns="%s">%s</LocationConstraint>' % (S3_NS, esc(home)))
        return Response(200, xml_doc(inner), [('Content-Type', 'application/xml')])

    def set_region(self, spec):
        bucket, region = spec.get('bucket'), spec.get('region')
        if not isinstance(bucket, str) or not os.path.isdir(os.path.join(self.data, bucket)):
            raise ValueError('no such bucket: %r' % bucket)
        if not isinstance(region, str) or not re.match(r'^[a-z]{2}(-[a-z]+)+-[0-9]$', region):
            raise ValueError('"region" must be a region name such as eu-west-1')
        self.regions[bucket] = region

    def check_digests(self, req, op):
        md5 = req.headers.get('Content-MD5')
        if md5 is not None:
            try:
                digest = base64.b64decode(md5, validate=True)
            except binascii.Error:
                digest = b''
            if len(digest) != 16:
                raise ApiError(400, 'InvalidDigest', 'The Content-MD5 you specified was invalid.')
            if digest != hashlib.md5(req.body).digest():
                raise ApiError(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.',
                               ExpectedDigest=md5)
        sha = req.headers.get('x-amz-checksum-sha256')
        if sha is not None:
            try:
                digest = base64.b64decode(sha, validate=True)
            except binascii.Error:
                digest = b''
            if len(digest) != 32:
                raise ApiError(400, 'InvalidRequest', 'Value for x-amz-checksum-sha256 header is invalid.')
            if digest != hashlib.sha256(req.body).digest():
                raise ApiError(400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.')
        if op == 'DeleteObjects' and md5 is None and not any(
                n.lower().startswith('x-amz-checksum-') for n in req.headers.keys()):
            raise ApiError(400, 'InvalidRequest', 'Missing required header for this request: Content-Md5.')

    def check_conditions(self, req, bucket, key):
        """If-None-Match: * and If-Match on a write, which s3rver ignores."""
        none_match, match = req.headers.get('If-None-Match'), req.headers.get('If-Match')
        if none_match is None and match is None:
            return
        if none_match is not None and none_match.strip() != '*':
            raise ApiError(501, 'NotImplemented', 'A header you provided implies functionality that is not '
                           'implemented', Header='If-None-Match')
        etag = self.stored_etag(bucket, key)
        if none_match is not None and etag is not None:
            raise ApiError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold',
                           Condition='If-None-Match')
        if match is not None:
            if etag is None:
                raise ApiError(404, 'NoSuchKey', 'The specified key does not exist.', Key=key)
            if match.strip().strip('"') not in (etag, '*'):
                raise ApiError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did '
                               'not hold', Condition='If-Match')

    def resolve_suffix_range(self, req, bucket, key):
        """Range: bytes=-N means the last N bytes; s3rver reads it as bytes 0-N."""
        m = re.fullmatch(r'bytes=-(\d+)', (req.headers.get('Range') or '').strip())
        if not m:
            return
        try:
            size = os.path.getsize(self.store_path(bucket, key, OBJ))
        except OSError:
            return      # s3rver answers NoSuchKey
        if int(m.group(1)) == 0 or size == 0:
            raise ApiError(416, 'InvalidRange', 'The requested range is not satisfiable',
                           RangeRequested=req.headers['Range'], ActualObjectSize=size)
        req.headers.replace_header('Range', 'bytes=%d-%d' % (max(0, size - int(m.group(1))), size - 1))

    def check_upload(self, req, bucket, key):
        upload_id = req.params.get('uploadId', '')
        try:
            with open(os.path.join(self.upload_dir(bucket, upload_id), 'key'), encoding='utf-8',
                      errors='surrogateescape') as f:
                found = UPLOAD_ID_RE.match(upload_id) and f.read() == key
        except OSError:
            found = False
        if not found:
            raise ApiError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, '
                           'or the upload may have been aborted or completed.', UploadId=upload_id)
        return upload_id

    def check_parts(self, req, bucket):
        """The parts of a CompleteMultipartUpload as S3 checks them (s3rver
        does not): [(number, md5 hex)]."""
        try:
            root = ET.fromstring(req.body)
        except ET.ParseError:
            root = None
        local = lambda el: el.tag.rpartition('}')[2]
        if root is None or local(root) != 'CompleteMultipartUpload':
            raise ApiError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate '
                           'against our published schema.')
        listed = []
        for part in (el for el in root if local(el) == 'Part'):
            fields = {local(child): (child.text or '').strip() for child in part}
            if not fields.get('PartNumber', '').isdigit():
                raise ApiError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate '
                               'against our published schema.')
            listed.append((int(fields['PartNumber']), fields.get('ETag', '').strip('"')))
        if not listed:
            raise ApiError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate '
                           'against our published schema.')
        if any(a[0] >= b[0] for a, b in zip(listed, listed[1:])):
            raise ApiError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be '
                           'ordered by part number.')
        directory = self.upload_dir(bucket, req.params['uploadId'])
        parts = []
        for i, (number, etag) in enumerate(listed):
            path = os.path.join(directory, str(number))
            try:
                with open(path + '.md5') as f:
                    stored = f.read().strip()
                size = os.path.getsize(path)
            except OSError:
                stored = None
            if stored != etag:
                raise ApiError(400, 'InvalidPart', 'One or more of the specified parts could not be found. The part '
                               'may not have been uploaded, or the specified entity tag may not match the part\'s '
                               'entity tag.', PartNumber=number, ETag=etag)
            if size < MIN_PART and i < len(listed) - 1:
                raise ApiError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed '
                               'object size.', ProposedSize=size, MinSizeAllowed=MIN_PART, PartNumber=number)
            parts.append((number, stored))
        return parts

    def finish_multipart(self, bucket, key, parts, response):
        """Give the object S3's multipart ETag (MD5 of the parts' MD5s, '-',
        the number of parts) where s3rver gives the whole object's MD5."""
        etag = '%s-%d' % (hashlib.md5(b''.join(bytes.fromhex(md5) for _, md5 in parts)).hexdigest(), len(parts))
        with open(self.store_path(bucket, key, MD5), 'w') as f:
            f.write(etag)
        response.body = re.sub(rb'<ETag>[^<]*</ETag>', ('<ETag>&quot;%s&quot;</ETag>' % etag).encode(),
                               response.body, count=1)

    def forward(self, req, bucket, key):
        # The key goes as one percent-encoded segment: s3rver's router refuses
        # empty segments ("a//b"), and decodes the segment back to the same key.
        target = '/' + bucket + ('/' + urllib.parse.quote(key, safe='') if key else '')
        query = '&'.join(pair for pair in req.query.split('&')
                         if pair and urllib.parse.unquote(pair.partition('=')[0]) not in PRESIGN_PARAMS)
        if query:
            target += '?' + query
        headers = [(n, v) for n, v in req.headers.items() if n.lower() not in NOT_FORWARDED]
        headers += [('Host', self.upstream.host), ('Content-Length', str(len(req.body)))]
        try:
            status, upstream_headers, body = self.upstream.request(req.method, target, headers, req.body)
        except OSError as e:
            log.error('s3rver did not answer %s %s: %s', req.method, target, e)
            raise ApiError(500, 'InternalError', 'emulator: s3rver did not answer') from None
        return Response(status, body, [(n, v) for n, v in upstream_headers if n.lower() not in NOT_RELAYED])

    # --- what the emulator answers itself

    def walk_keys(self, bucket, prefix):
        """Every key of bucket under prefix, in S3's order (UTF-8 byte order,
        which is code point order)."""
        root = os.path.join(self.data, bucket)
        head = prefix.rpartition('/')[0]
        start, rel = root, ''
        # Start at the prefix's directory when it names one plainly.
        if head and all(seg not in ('', '.', '..') for seg in head.split('/')):
            start, rel = os.path.join(root, head), head + '/'
        keys, stack = [], [(start, rel)]
        while stack:
            directory, rel = stack.pop()
            try:
                names = os.listdir(directory)
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                if name.endswith(OBJ):
                    key = rel + name[:-len(OBJ)]
                    if key.startswith(prefix):
                        keys.append(key)
                elif not (name.endswith(MD5) or name.endswith(META) or (directory == root and name == UPLOADS)):
                    path = os.path.join(directory, name)
                    if os.path.isdir(path):
                        stack.append((path, rel + name + '/'))
        keys.sort()
        return keys

    @staticmethod
    def _max_keys(req, name):
        value = req.params.get(name, '1000')
        if not value.isdigit():
            raise ApiError(400, 'InvalidArgument', 'Provided %s not an integer or within integer range' % name,
                           ArgumentName=name, ArgumentValue=value)
        return int(value)

    def list_objects(self, req, bucket, _key):
        p = req.params
        v2 = p.get('list-type') == '2'
        prefix, delimiter = p.get('prefix', ''), p.get('delimiter', '')
        max_keys = self._max_keys(req, 'max-keys')
        encoding = p.get('encoding-type')
        if encoding not in (None, 'url'):
            raise ApiError(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request',
                           ArgumentName='encoding-type', ArgumentValue=encoding)
        enc = (lambda s: urllib.parse.quote_plus(s, safe='/')) if encoding else (lambda s: s)
        token = p.get('continuation-token')
        if v2 and token is not None:
            try:
                after = base64.b64decode(token, validate=True).decode('utf-8', 'surrogateescape')
            except (binascii.Error, ValueError):
                raise ApiError(400, 'InvalidArgument', 'The continuation token provided is incorrect',
                               ArgumentName='continuation-token') from None
        else:
            after = p.get('start-after' if v2 else 'marker', '')

        entries, truncated, last_prefix = [], False, None
        limit = min(max_keys, 1000)
        keys = self.walk_keys(bucket, prefix) if limit else []
        for key in keys[bisect.bisect_right(keys, after):]:
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[:cut + len(delimiter)]
                if common == last_prefix:
                    continue
                last_prefix = common
                if common == after:     # the page before ended on this common prefix
                    continue
                entry = (True, common)
            else:
                entry = (False, key)
            if len(entries) == limit:
                truncated = True
                break
            entries.append(entry)

        out = [elem('Name', bucket), elem('Prefix', enc(prefix))]
        if v2:
            if 'start-after' in p:
                out.append(elem('StartAfter', enc(p['start-after'])))
            if token is not None:
                out.append(elem('ContinuationToken', token))
            out.append(elem('KeyCount', len(entries)))
        else:
            out.append(elem('Marker', enc(after)))
        out.append(elem('MaxKeys', max_keys))
        if delimiter:
            out.append(elem('Delimiter', enc(delimiter)))
        if encoding:
            out.append(elem('EncodingType', encoding))
        out.append(elem('IsTruncated', 'true' if truncated else 'false'))
        if truncated:
            last = entries[-1][1]
            if v2:
                out.append(elem('NextContinuationToken',
                                base64.b64encode(last.encode('utf-8', 'surrogateescape')).decode()))
            elif delimiter:
                out.append(elem('NextMarker', enc(last)))
        for is_prefix, key in entries:
            if is_prefix:
                continue
            try:
                st = os.stat(self.store_path(bucket, key, OBJ))
                etag = self.stored_etag(bucket, key)
            except FileNotFoundError:
                continue    # deleted while listing
            owner = '<Owner>%s</Owner>' % OWNER if (not v2 or p.get('fetch-owner') == 'true') else ''
            out.append('<Contents>%s%s<ETag>&quot;%s&quot;</ETag>%s%s%s</Contents>' % (
                elem('Key', enc(key)), elem('LastModified', iso8601(st.st_mtime)), esc(etag), elem('Size', st.st_size),
                owner, elem('StorageClass', 'STANDARD')))
        out.extend('<CommonPrefixes>%s</CommonPrefixes>' % elem('Prefix', enc(key))
                   for is_prefix, key in entries if is_prefix)
        body = xml_doc('<ListBucketResult xmlns="%s">%s</ListBucketResult>' % (S3_NS, ''.join(out)))
        return Response(200, body, [('Content-Type', 'application/xml')])

    def list_uploads(self, req, bucket, _key):
        p = req.params
        if 'delimiter' in p:
            raise ApiError(501, 'NotImplemented', 'emulator: ListMultipartUploads with a delimiter')
        prefix, key_marker, id_marker = p.get('prefix', ''), p.get('key-marker', ''), p.get('upload-id-marker', '')
        max_uploads = self._max_keys(req, 'max-uploads')
        enc = (lambda s: urllib.parse.quote_plus(s, safe='/')) if p.get('encoding-type') == 'url' else (lambda s: s)
        uploads = []
        root = os.path.join(self.data, bucket, UPLOADS)
        for upload_id in (os.listdir(root) if os.path.isdir(root) else ()):
            try:
                path = os.path.join(root, upload_id, 'key')
                with open(path, encoding='utf-8', errors='surrogateescape') as f:
                    key = f.read()
                uploads.append((key, os.path.getmtime(path), upload_id))
            except OSError:
                continue    # completed or aborted meanwhile
        uploads.sort()
        uploads = [u for u in uploads if u[0].startswith(prefix) and
                   (u[0] > key_marker or (id_marker and u[0] == key_marker and u[2] > id_marker))]
        limit = min(max_uploads, 1000)
        truncated = len(uploads) > limit
        uploads = uploads[:limit]
        out = [elem('Bucket', bucket), elem('KeyMarker', enc(key_marker)), elem('UploadIdMarker', id_marker)]
        if truncated:
            out += [elem('NextKeyMarker', enc(uploads[-1][0])), elem('NextUploadIdMarker', uploads[-1][2])]
        if prefix:
            out.append(elem('Prefix', enc(prefix)))
        out += [elem('MaxUploads', max_uploads), elem('IsTruncated', 'true' if truncated else 'false')]
        if 'encoding-type' in p:
            out.append(elem('EncodingType', p['encoding-type']))
        for key, initiated, upload_id in uploads:
            out.append('<Upload>%s%s<Initiator>%s</Initiator><Owner>%s</Owner>%s%s</Upload>' % (
                elem('Key', enc(key)), elem('UploadId', upload_id), OWNER, OWNER, elem('StorageClass', 'STANDARD'),
                elem('Initiated', iso8601(initiated))))
        body = xml_doc('<ListMultipartUploadsResult xmlns="%s">%s</ListMultipartUploadsResult>' % (S3_NS, ''.join(out)))
        return Response(200, body, [('Content-Type', 'application/xml')])

    def abort_upload(self, req, bucket, key):
        shutil.rmtree(self.upload_dir(bucket, self.check_upload(req, bucket, key)), ignore_errors=True)
        return Response(204)

    def seed(self, spec):
        """Objects written straight into s3rver's store: 25,000 in seconds,
        where PUTs through s3rver would take about a minute."""
        bucket = spec.get('bucket')
        if not isinstance(bucket, str) or not BUCKET_RE.match(bucket) or \
                not os.path.isdir(os.path.join(self.data, bucket)):
            raise ValueError('no such bucket: %r' % bucket)
        keys = spec.get('keys')
        if keys is None:
            count, prefix = spec.get('count'), spec.get('prefix', '')
            if not isinstance(count, int) or count < 0 or not isinstance(prefix, str):
                raise ValueError('seed needs "keys" or a "count" (and a "prefix")')
            width = max(6, len(str(count - 1)))
            keys = ['%s%0*d' % (prefix, width, i) for i in range(count)]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k and self.key_stays_in_bucket(k)
                                                 for k in keys):
            raise ValueError('"keys" must be a list of key names')
        body = spec.get('body', '')
        if not isinstance(body, str):
            raise ValueError('"body" must be a string')
        body = body.encode()
        paths = [self.store_path(bucket, key, OBJ) for key in keys]
        for directory in {os.path.dirname(path) for path in paths}:
            os.makedirs(directory, exist_ok=True)

        # Only the object file: s3rver computes the .md5 beside it on first
        # read, and no metadata file means no stored headers. File creation
        # waits on the disk, so a few threads help.
        def write(some):
            for path in some:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, body)
                finally:
                    os.close(fd)
                for stale in (path[:-len(OBJ)] + MD5, path[:-len(OBJ)] + META):
                    try:
                        os.unlink(stale)
                    except FileNotFoundError:
                        pass
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(write, [paths[i::4] for i in range(4)]))
        return len(keys)


# ------------------------------------------------------------ CloudFormation

CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/'
ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
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


def rand(n, alphabet=ALNUM):
    return ''.join(random.choice(alphabet) for _ in range(n))


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


def secret_arn(region, name):
    """A new secret's ARN: its name, '-', six random letters."""
    return 'arn:aws:secretsmanager:%s:%s:secret:%s-%s' % (
        region, ACCOUNT, name, rand(6, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'))


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
    Deleted stacks stay visible by stack id, as in AWS."""
    name = 'cloudformation'
    namespace = CFN_NS
    version = '2010-05-15'
    STEP_MS = 50
    MAX_BODY = 51200

    def __init__(self, region, secrets, s3):
        self.region, self.secrets, self.s3 = region, secrets, s3
        self.lock = threading.Lock()
        self.stacks = []        # every stack, oldest first, deleted ones too
        self.reset()

    def reset(self):
        """Back to the default pace, nothing injected (the stacks stay)."""
        with self.lock:
            self.step_ms, self.fail, self.fail_reason, self.fail_delete = self.STEP_MS, None, None, None

    def configure(self, spec):
        unknown = set(spec) - {'step_ms', 'fail', 'reason', 'fail_delete'}
        if unknown:
            raise ValueError('unknown cfn fields: %s' % ', '.join(sorted(unknown)))
        step = spec.get('step_ms', self.step_ms)
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 60000:
            raise ValueError('"step_ms" must be a whole number of milliseconds up to 60000')
        for field in ('fail', 'reason', 'fail_delete'):
            if not isinstance(spec.get(field), (str, type(None))):
                raise ValueError('"%s" must be a string (or null)' % field)
        with self.lock:
            self.step_ms = step
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
                    'reason': self.fail_reason,
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
        with self.lock:
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
        return None

    def _unprovision(self, stack, res):
        if res.rtype == 'AWS::SecretsManager::Secret':
            self.secrets.remove(res.physical)

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


# ------------------------------------------------------------- request log

class RequestLog:
    """Every AWS request received (control requests aside), so that a test
    can prove where a secret did and did not travel: operation, method,
    path, query, headers and body text. Not kept: the SecretString and
    SecretBinary of CreateSecret, PutSecretValue and UpdateSecret (replaced
    by a marker), object data (PutObject, UploadPart), any body over 1 MiB,
    and every response (GetSecretValue's included). Signatures and session
    tokens are masked. At most MAX_RECORDS requests and about MAX_TEXT
    characters are kept; the oldest go first and are counted as dropped."""
    MAX_BODY = 1 << 20
    MAX_TEXT = 64 << 20
    MAX_RECORDS = 200000
    OBJECT_DATA = {'PutObject', 'UploadPart', 'PostObject'}
    SECRET_WRITES = {'CreateSecret', 'PutSecretValue', 'UpdateSecret'}
    MARKER = '(not kept by emu)'

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        with self.lock:
            self.records, self.text, self.dropped, self.seq = collections.deque(), 0, 0, 0

    def add(self, service, op, req):
        body, note, text = req.body, None, None
        if not body:
            pass
        elif op in self.OBJECT_DATA and service == 's3':
            note = 'object data not kept'
        elif len(body) > self.MAX_BODY:
            note = 'body over 1 MiB not kept'
        elif service == 'secretsmanager' and op in self.SECRET_WRITES:
            try:
                doc = json.loads(body)
                for field in ('SecretString', 'SecretBinary'):
                    if field in doc:
                        doc[field] = self.MARKER
                text = json.dumps(doc)
                note = 'secret value not kept'
            except (ValueError, TypeError):
                note = 'unreadable secret write not kept'
        else:
            text = body.decode('utf-8', 'replace')
        headers = {}
        for name, value in req.headers.items():
            if name.lower() == 'authorization':
                value = re.sub(r'Signature=[0-9a-fA-F]*', 'Signature=REDACTED', value)
            elif name.lower() == 'x-amz-security-token':
                value = 'REDACTED'
            headers[name] = value
        record = {'service': service, 'op': op, 'method': req.method, 'path': req.path,
                  'query': redact(req.query), 'headers': headers, 'body': text, 'body_bytes': len(body)}
        if note:
            record['note'] = note
        ctype = req.headers.get('Content-Type', '').partition(';')[0].strip().lower()
        if text is not None and ctype == 'application/x-www-form-urlencoded':
            record['form'] = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        size = 2 * len(text or '') + len(req.path) + len(req.query) + sum(len(n) + len(v) for n, v in headers.items())
        with self.lock:
            self.seq += 1
            record['seq'] = self.seq
            self.records.append((size, record))
            self.text += size
            while len(self.records) > self.MAX_RECORDS or self.text > self.MAX_TEXT:
                self.text -= self.records.popleft()[0]
                self.dropped += 1

    @staticmethod
    def haystack(record):
        """Every form a value can take in the request: as sent and percent-decoded."""
        parts = [record['path'], urllib.parse.unquote(record['path']), record['query'],
                 urllib.parse.unquote_plus(record['query']), record['body'] or '']
        parts += list(record['headers'].values()) + list(record.get('form', {}).values())
        if record['body']:
            parts.append(urllib.parse.unquote_plus(record['body']))
            try:
                doc = json.loads(record['body'])
            except ValueError:
                doc = None
            stack = [doc]
            while stack:        # a JSON body's strings, unescaped
                item = stack.pop()
                if isinstance(item, str):
                    parts.append(item)
                elif isinstance(item, dict):
                    stack += list(item.keys()) + list(item.values())
                elif isinstance(item, list):
                    stack += item
        return '\n'.join(parts)

    def dump(self, contains=None, op=None):
        with self.lock:
            records = [record for _, record in self.records]
            dropped = self.dropped
        if op is not None:
            records = [r for r in records if r['op'] == op]
        if contains is not None:
            records = [r for r in records if contains in self.haystack(r)]
        return {'count': len(records), 'dropped': dropped, 'requests': records}


# ------------------------------------------------------------------ faults

class Faults:
    """What the next requests suffer: a queue of kinds, then a rate."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self._set([], 0.0, [], None, 1000, None)

    def _set(self, queue, rate, kinds, ops, delay_ms, seed):
        with self.lock:
            self.queue, self.rate, self.kinds, self.ops = queue, rate, kinds, ops
            self.delay_ms, self.rng = delay_ms, random.Random(seed)

    def configure(self, spec):
        unknown = set(spec) - {'next', 'rate', 'kinds', 'seed', 'ops', 'delay_ms'}
        if unknown:
            raise ValueError('unknown fault fields: %s' % ', '.join(sorted(unknown)))
        queue = spec.get('next', [])
        kinds = spec.get('kinds', ['slowdown', '500', 'reset'])
        rate = spec.get('rate', 0.0)
        ops = spec.get('ops')
        delay_ms = spec.get('delay_ms', 1000)
        for name, value in (('next', queue), ('kinds', kinds)):
            if not isinstance(value, list) or any(k not in FAULT_KINDS for k in value):
                raise ValueError('"%s" must list fault kinds among %s' % (name, ', '.join(FAULT_KINDS)))
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1 or (rate and not kinds):
            raise ValueError('"rate" must be between 0 and 1, with "kinds"')
        if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
            raise ValueError('"ops" must list operation names')
        if not isinstance(delay_ms, int) or delay_ms < 0:
            raise ValueError('"delay_ms" must be a whole number of milliseconds')
        if not isinstance(spec.get('seed'), (int, str, type(None))):
            raise ValueError('"seed" must be a number or a string')
        self._set(list(queue), float(rate), list(kinds), set(ops) if ops is not None else None, delay_ms,
                  spec.get('seed'))

    def draw(self, op):
        """The fault kind this request suffers, or None."""
        with self.lock:
            if self.ops is not None and op not in self.ops:
                return None
            if self.queue:
                return self.queue.pop(0)
            if self.rate and self.rng.random() < self.rate:
                return self.rng.choice(self.kinds)
        return None


# ------------------------------------------------------------------ server

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'rapid-emu'
    sys_version = ''
    timeout = 300   # an idle keep-alive connection gives its thread back

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's
        # algorithm and the client's delayed ACK cost 40 ms a response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_request(self):
        self.server.serve(self)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_request

    def log_message(self, fmt, *args):
        log.debug('%s %s', self.address_string(), fmt % args)


class Emulator(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, verifier, s3, secrets):
        super().__init__(('127.0.0.1', 0), Handler)
        self.verifier, self.s3, self.secrets = verifier, s3, secrets
        self.cfn = CloudFormation(verifier.region, secrets, s3)
        self.container_auth = 'emu-container-auth'
        self.services = {'s3': s3, 'secretsmanager': secrets, 'cloudformation': self.cfn}
        self.requests = RequestLog()
        self.faults = Faults()
        self.counts_lock = threading.Lock()
        self.counts = collections.Counter()

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, OSError):      # the client went away
            log.info('connection from port %d ended: %s', client_address[1], error)
        else:
            log.exception('connection from port %d failed', client_address[1])

    def count(self, *names):
        with self.counts_lock:
            self.counts.update(names)

    def service_for(self, headers, params):
        """The service a request is for: its credential scope says, else its X-Amz-Target, else S3."""
        auth = headers.get('Authorization', '')
        m = re.search(r'Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]+)/', auth)
        scope = m.group(1) if m else (params.get('X-Amz-Credential', '').split('/') + [''] * 4)[3]
        if not scope:
            target_prefix = headers.get('X-Amz-Target', '').partition('.')[0]
            scope = next((s.name for s in self.services.values()
                          if isinstance(s, JsonService) and s.target_prefix == target_prefix), 's3')
        return self.services.get(scope) or JsonService(scope)

    def serve(self, h):
        started = time.monotonic()
        target = h.requestline.split()[1]   # h.path has leading '//' collapsed
        rid = uuid.uuid4().hex[:16].upper()
        params = dict(urllib.parse.parse_qsl(target.partition('?')[2], keep_blank_values=True))
        control = target.startswith('/__emu/')
        service = None if control else self.service_for(h.headers, params)
        length = h.headers.get('Content-Length')
        if 'Transfer-Encoding' in h.headers or (length is not None and not length.isdigit()):
            # The body's end is unknown: answer, then close.
            h.close_connection = True
            req = Request(h.command, target, h.headers, b'', rid)
            if service is not None:
                self.requests.add(service.name, service.operation(req), req)
            if service is None:
                response = Response(400, b'{"error": "a control request needs a Content-Length"}')
            elif length is None or length.isdigit():
                response = service.error(req, 501, 'NotImplemented', 'A header you provided implies functionality '
                                         'that is not implemented', {'Header': 'Transfer-Encoding'})
            else:
                response = service.error(req, 400, 'BadRequest', 'An error occurred when parsing the HTTP request.')
            return self.send(h, req, response, service, '-', started)
        body = h.rfile.read(int(length)) if length else b''
        if len(body) != int(length or 0):
            h.close_connection = True
            return None
        req = Request(h.command, target, h.headers, body, rid)
        if control:
            return self.send(h, req, self.control(req), None, 'control', started)
        op = service.operation(req)
        self.count(op)
        self.requests.add(service.name, op, req)
        if length is None and req.method == 'PUT':
            response = service.error(req, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.')
            return self.send(h, req, response, service, op, started)
        try:
            self.verifier.verify(req, service)
        except AuthFailure as failure:
            self.count('rejected', *(('mismatches',) if failure.kind in ('mismatch', 'noncanonical') else ()))
            log.info('refused %s %s: %s %s%s', req.method, redact(target), failure.kind, failure.message or '',
                     ''.join('\n  %s:\n%s' % (k, v) for k, v in failure.extra.items()
                             if k in ('CanonicalRequest', 'StringToSign')))
            return self.send(h, req, service.auth_error(req, failure), service, op, started)
        kind = self.faults.draw(op)
        if kind:
            self.count('faults')
            log.info('fault %s on %s', kind, op)
            if kind == 'delay':
                time.sleep(self.faults.delay_ms / 1000)
        if kind == 'garbage':
            response = Response(200, b'\x00<<not { a [ response', [('Content-Type', 'application/xml')])
        elif kind and kind not in ('delay', 'truncate'):
            response = service.fault(req, kind)
        else:
            try:
                response = service.handle(req, op)
            except Exception:
                log.exception('%s %s failed', req.method, redact(target))
                response = service.error(req, 500, 'InternalError', 'emulator: internal error (see its log)')
            if kind == 'truncate':
                response.body = response.body[:len(response.body) // 2]
                response.headers = [(n, v) for n, v in response.headers if n.lower() != 'content-length']
        return self.send(h, req, response, service, op, started)

    def send(self, h, req, response, service, op, started):
        if response.reset:
            # A real reset: RST, no FIN, nothing written.
            h.close_connection = True
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            os.close(h.connection.detach())
        else:
            h.send_response(response.status)
            headers = list(response.headers)
            if isinstance(service, S3) and not any(n.lower() == 'x-amz-request-id' for n, _ in headers):
                headers.append(('x-amz-request-id', req.rid))
            has_length = any(n.lower() == 'content-length' for n, _ in headers)
            if req.method != 'HEAD':
                headers = [(n, v) for n, v in headers if n.lower() != 'content-length']
                has_length = False
            if not has_length and response.status not in (204, 304):
                headers.append(('Content-Length', str(len(response.body))))
            if h.close_connection:
                headers.append(('Connection', 'close'))
            for name, value in headers:
                h.send_header(name, value)
            h.end_headers()
            if req.method != 'HEAD' and response.status not in (204, 304):
                h.wfile.write(response.body)
        log.info('%s %s %s -> %s %s %dB %.1fms', h.client_address[1], req.method, redact(req.target),
                 'reset' if response.reset else response.status, op, len(response.body),
                 (time.monotonic() - started) * 1000)

    # --- control API

    def control(self, req):
        def reply(status, obj):
            return Response(status, json.dumps(obj, sort_keys=True).encode(), [('Content-Type', 'application/json')])
        route = (req.method, req.path)
        try:
            spec = json.loads(req.body or b'{}')
            if not isinstance(spec, dict):
                raise ValueError('the body must be a JSON object')
            if route == ('GET', '/__emu/counters'):
                with self.counts_lock:
                    counts = dict(self.counts)
                for name in ('faults', 'mismatches', 'rejected'):
                    counts.setdefault(name, 0)
                return reply(200, counts)
            if route == ('POST', '/__emu/reset'):
                with self.counts_lock:
                    self.counts.clear()
                self.faults.clear()
                self.verifier.offset_s = 0.0
                self.requests.clear()
                self.cfn.reset()
                return reply(200, {})
            if route == ('POST', '/__emu/faults'):
                self.faults.configure(spec)
                return reply(200, {})
            if route == ('POST', '/__emu/clock'):
                offset = spec.get('offset_s')
                if not isinstance(offset, (int, float)):
                    raise ValueError('"offset_s" must be a number of seconds')
                self.verifier.offset_s = float(offset)
                return reply(200, {})
            if route == ('POST', '/__emu/secret'):
                name, value = spec.get('name'), spec.get('value')
                if not isinstance(name, str) or not name or not isinstance(value, str):
                    raise ValueError('"name" and "value" must be strings')
                self.secrets.set(name, value)
                return reply(200, {})
            if route == ('GET', '/__emu/container-credentials'):
                # The ECS container credentials endpoint
                # (AWS_CONTAINER_CREDENTIALS_FULL_URI): the first credential
                # that has a session token, valid for an hour, to a caller
                # that sends the authorization token it was started with.
                if req.headers.get('Authorization') != self.container_auth:
                    return reply(401, {'error': 'bad or missing Authorization'})
                cred = next((c for c in self.verifier.creds.values() if c.token), None)
                if cred is None:
                    return reply(404, {'error': 'no credential with a session token (--cred AKID:SECRET:TOKEN)'})
                expires = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 3600))
                return reply(200, {'AccessKeyId': cred.access_key, 'SecretAccessKey': cred.secret_key,
                                   'Token': cred.token, 'Expiration': expires})
            if route == ('GET', '/__emu/requests'):
                params = dict(urllib.parse.parse_qsl(req.query, keep_blank_values=True))
                return reply(200, self.requests.dump(params.get('contains'), params.get('op')))
            if route == ('GET', '/__emu/cfn'):
                return reply(200, self.cfn.summary())
            if route == ('POST', '/__emu/cfn'):
                self.cfn.configure(spec)
                return reply(200, {})
            if route == ('POST', '/__emu/bucket-region'):
                self.s3.set_region(spec)
                return reply(200, {})
            if route == ('POST', '/__emu/seed'):
                started = time.monotonic()
                created = self.s3.seed(spec)
                return reply(200, {'created': created, 'seconds': round(time.monotonic() - started, 3)})
        except ValueError as e:
            return reply(400, {'error': str(e)})
        return reply(404, {'error': 'no control endpoint %s %s' % route})


# ------------------------------------------------------------------ process

def _set_parent_death_signal(sig):
    """Linux: have the kernel send sig to this process when its parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(sig), 0, 0, 0)     # PR_SET_PDEATHSIG


def start_s3rver(data_dir, buckets):
    """s3rver as a child that dies with us; (process, port) once it answers."""
    node = shutil.which('node')
    if node is None or not os.path.isfile(S3RVER_BIN):
        raise SystemExit('emu: need node and %s (run tests/ensure-deps.sh)' % S3RVER_BIN)
    cmd = [node, '--openssl-legacy-provider', S3RVER_BIN, '--directory', data_dir, '--address', '127.0.0.1',
           '--port', '0', '--silent', '--no-vhost-buckets']
    for bucket in buckets:
        cmd += ['--configure-bucket', bucket]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: _set_parent_death_signal(signal.SIGKILL))
    found = threading.Event()
    port = []

    def relay():
        for line in proc.stdout:
            text = line.decode('utf-8', 'replace').rstrip()
            m = re.search(r'listening on [0-9.]+:(\d+)', text)
            if m and not port:
                port.append(int(m.group(1)))
                found.set()
            elif text:
                log.info('s3rver: %s', text)
        found.set()
    threading.Thread(target=relay, daemon=True).start()
    found.wait(30)
    if not port:
        proc.kill()
        raise SystemExit('emu: s3rver did not start (exit status %s)' % proc.poll())
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = http.client.HTTPConnection('127.0.0.1', port[0], timeout=5)
            conn.request('GET', '/')
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port[0]
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit('emu: s3rver does not answer on port %d' % port[0])
        time.sleep(0.05)


def parse_args(argv):
    ap = argparse.ArgumentParser(description='Loopback AWS emulator for rapid tests.')
    ap.add_argument('--data', required=True, help="s3rver's data directory")
    ap.add_argument('--port-file', required=True, help='written with the port once serving')
    ap.add_argument('--log', help='log file (default: stderr)')
    ap.add_argument('--cred', action='append', default=[], required=True, metavar='AKID:SECRET[:TOKEN]')
    ap.add_argument('--bucket', action='append', default=[], help='bucket to create at start')
    ap.add_argument('--secret', action='append', default=[], metavar='NAME=VALUE', help='Secrets Manager secret')
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('--container-auth', default='emu-container-auth',
                    help='the Authorization value /__emu/container-credentials wants')
    args = ap.parse_args(argv)
    creds = {}
    for item in args.cred:
        parts = item.split(':', 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            ap.error('--cred wants AKID:SECRET[:TOKEN]')
        creds[parts[0]] = Credentials(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
    args.creds = creds
    for item in args.secret:
        if '=' not in item:
            ap.error('--secret wants NAME=VALUE')
    return args


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.INFO, format='%(asctime)s %(message)s')
    parent = os.getppid()
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    os.makedirs(args.data, exist_ok=True)
    proc = None
    server = None
    try:
        proc, s3rver_port = start_s3rver(os.path.abspath(args.data), args.bucket)
        secrets = SecretsManager(args.region)
        for item in args.secret:
            name, _, value = item.partition('=')
            secrets.set(name, value)
        server = Emulator(Verifier(args.creds, args.region),
                          S3(os.path.abspath(args.data), Upstream(s3rver_port), args.region), secrets)
        server.container_auth = args.container_auth
        port = server.server_address[1]
        tmp = '%s.%d.tmp' % (args.port_file, os.getpid())
        with open(tmp, 'w') as f:
            f.write('%d\n' % port)
        os.rename(tmp, args.port_file)
        log.info('serving on 127.0.0.1:%d, s3rver on 127.0.0.1:%d (pid %d)', port, s3rver_port, proc.pid)
        server.serve_forever(poll_interval=0.5)
    finally:
        if server is not None:
            server.server_close()
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.info('stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
