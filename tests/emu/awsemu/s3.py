"""S3, path-style, in front of an s3rver child that holds the bytes; what
s3rver lacks or gets wrong is answered here (listings, conditional writes,
digests, suffix ranges, multipart bookkeeping, bucket regions)."""

import base64
import binascii
import bisect
import calendar
import concurrent.futures
import ctypes
import hashlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from .common import ApiError, Response, elem, esc, iso8601, log, xml_doc
from .service import Service
from .sigv4 import AMZ_DATE

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S3RVER_BIN = os.path.join(HERE, 'node_modules', 's3rver', 'bin', 's3rver.js')
S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'
OWNER = '<ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>emu</DisplayName>'
MIN_PART = 5 * 1024 * 1024
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

    def control_routes(self):
        return {('POST', 'bucket-region'): lambda req, spec: self.set_region(spec) or {},
                ('POST', 'seed'): self.control_seed}

    def control_seed(self, req, spec):
        started = time.monotonic()
        created = self.seed(spec)
        return {'created': created, 'seconds': round(time.monotonic() - started, 3)}

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




def set_parent_death_signal(sig):
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
                            preexec_fn=lambda: set_parent_death_signal(signal.SIGKILL))
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
