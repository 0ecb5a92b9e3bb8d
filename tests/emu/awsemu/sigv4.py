"""SigV4 verification: every request's signature recomputed with botocore,
AWS's own signer, over exactly what went over the wire."""

import calendar
import hashlib
import hmac
import time
import urllib.parse

from botocore.auth import (S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth,
                           SigV4QueryAuth)
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from .common import AuthFailure, iso8601, redact

ALGORITHM = 'AWS4-HMAC-SHA256'
AMZ_DATE = '%Y%m%dT%H%M%SZ'
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'

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
