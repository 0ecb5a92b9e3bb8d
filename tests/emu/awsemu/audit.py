"""The record of what the emulator received, for tests to count and search
instead of timing: requests counted by operation, the most requests of an
operation served at once, and every AWS request (a secret's value
excepted)."""

import collections
import contextlib
import json
import re
import threading
import urllib.parse

from .common import redact


class Counters:
    """Requests by operation as AWS names it, and the emulator's own events
    (faults, mismatches, rejected)."""
    ALWAYS = ('faults', 'mismatches', 'rejected')

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()

    def add(self, *names):
        with self.lock:
            self.counts.update(names)

    def clear(self):
        with self.lock:
            self.counts.clear()

    def dump(self):
        with self.lock:
            counts = dict(self.counts)
        for name in self.ALWAYS:
            counts.setdefault(name, 0)
        return counts


class InFlight:
    """How many requests were being served at once: the peak since start or
    reset, by operation and by multipart upload (the uploadId of UploadPart,
    ListParts, CompleteMultipartUpload...). A request is in flight from the
    moment its body has been read until its answer has been sent, so a
    delayed answer (the delay fault) keeps it there: a client that sends its
    parts one after the other never has two in flight."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        with self.lock:
            self.now, self.peak = collections.Counter(), collections.Counter()

    def _enter(self, keys):
        with self.lock:
            for key in keys:
                self.now[key] += 1
                self.peak[key] = max(self.peak[key], self.now[key])

    def _leave(self, keys):
        with self.lock:
            for key in keys:
                self.now[key] -= 1

    @contextlib.contextmanager
    def serving(self, op, upload_id=None):
        keys = [('op', op)] + ([('upload', upload_id)] if upload_id else [])
        self._enter(keys)
        try:
            yield
        finally:
            self._leave(keys)

    def dump(self):
        """{"ops": {op: peak}, "uploads": {upload id: peak}}."""
        with self.lock:
            out = {'ops': {}, 'uploads': {}}
            for (kind, name), peak in self.peak.items():
                out['ops' if kind == 'op' else 'uploads'][name] = peak
        return out

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
