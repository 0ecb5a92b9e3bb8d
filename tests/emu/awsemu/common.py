"""What every module of the emulator shares: the request and response
objects, the error exceptions, XML text helpers, the account, the log."""

import logging
import random
import re
import time
import urllib.parse

ACCOUNT = '123456789012'
ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

log = logging.getLogger('emu')


def rand(n, alphabet=ALNUM):
    return ''.join(random.choice(alphabet) for _ in range(n))


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


class ControlError(Exception):
    """A control request refused with that HTTP status (a ValueError is a 400)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Request:
    """One request as received: raw target split at '?', headers, body."""

    def __init__(self, method, target, headers, body, rid):
        self.method, self.target, self.headers, self.body, self.rid = method, target, headers, body, rid
        self.path, _, self.query = target.partition('?')
        self.params = dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))
