"""The HTTP server: one threaded HTTP/1.1 listener on 127.0.0.1 that sends
each request to its service (by the signing name of its credential
scope), after the signature check and the faults; and the control API."""

import http.server
import json
import os
import re
import select
import socket
import struct
import sys
import time
import urllib.parse
import uuid

from .audit import Counters, InFlight, RequestLog
from .common import AuthFailure, ControlError, Request, Response, log, redact
from .faults import SLOW_KINDS, Faults
from .s3 import S3
from .service import JsonService


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

    def __init__(self, verifier, services, helpers=()):
        """services: the emulated AWS services (Service), each found by its
        signing name; helpers: other providers of control endpoints (the
        container credentials)."""
        super().__init__(('127.0.0.1', 0), Handler)
        self.verifier = verifier
        self.services = {s.name: s for s in services}
        self.requests = RequestLog()
        self.faults = Faults()
        self.counters = Counters()
        self.in_flight = InFlight()
        self.resettable = list(services) + list(helpers)
        self.routes = {('GET', 'counters'): lambda req, spec: self.counters.dump(),
                       ('POST', 'reset'): self.control_reset,
                       ('POST', 'faults'): lambda req, spec: self.faults.configure(spec) or {},
                       ('POST', 'clock'): self.control_clock,
                       ('GET', 'requests'): self.control_requests,
                       ('GET', 'in-flight'): lambda req, spec: self.in_flight.dump()}
        self.prefixes = {}      # (method, 'name/'): fn(req, spec, rest of the name)
        for provider in self.resettable:
            for route, fn in provider.control_routes().items():
                if route in self.routes:
                    raise ValueError('two control endpoints %s /__emu/%s' % route)
                self.routes[route] = fn
            if hasattr(provider, 'control_prefixes'):
                self.prefixes.update(provider.control_prefixes())

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, OSError):      # the client went away
            log.info('connection from port %d ended: %s', client_address[1], error)
        else:
            log.exception('connection from port %d failed', client_address[1])

    def service_for(self, headers, params, method=None, path=None):
        """The service a request is for: its credential scope says, else its
        X-Amz-Target, else a REST service that claims its path, else S3."""
        auth = headers.get('Authorization', '')
        m = re.search(r'Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]+)/', auth)
        scope = m.group(1) if m else (params.get('X-Amz-Credential', '').split('/') + [''] * 4)[3]
        if not scope:
            target_prefix = headers.get('X-Amz-Target', '').partition('.')[0]
            scope = next((s.name for s in self.services.values()
                          if isinstance(s, JsonService) and s.target_prefix == target_prefix), None)
        if not scope and path is not None:
            scope = next((s.name for s in self.services.values()
                          if hasattr(s, 'claims') and s.claims(method, path)), None)
        scope = scope or 's3'
        return self.services.get(scope) or JsonService(scope)

    def serve(self, h):
        started = time.monotonic()
        target = h.requestline.split()[1]   # h.path has leading '//' collapsed
        rid = uuid.uuid4().hex[:16].upper()
        params = dict(urllib.parse.parse_qsl(target.partition('?')[2], keep_blank_values=True))
        control = target.startswith('/__emu/')
        service = None if control else self.service_for(h.headers, params, h.command, target.partition('?')[0])
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
        self.counters.add(op)
        self.requests.add(service.name, op, req)
        upload_id = req.params.get('uploadId') if isinstance(service, S3) else None
        with self.in_flight.serving(op, upload_id):
            return self.serve_aws(h, req, service, op, length, started)

    def serve_aws(self, h, req, service, op, length, started):
        """A request for an AWS service, its body read: the checks, the faults, the answer."""
        target = req.target
        if length is None and req.method == 'PUT':
            response = service.error(req, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.')
            return self.send(h, req, response, service, op, started)
        try:
            self.verifier.verify(req, service)
        except AuthFailure as failure:
            self.counters.add('rejected', *(('mismatches',) if failure.kind in ('mismatch', 'noncanonical') else ()))
            log.info('refused %s %s: %s %s%s', req.method, redact(target), failure.kind, failure.message or '',
                     ''.join('\n  %s:\n%s' % (k, v) for k, v in failure.extra.items()
                             if k in ('CanonicalRequest', 'StringToSign')))
            return self.send(h, req, service.auth_error(req, failure), service, op, started)
        kind = self.faults.draw(op)
        if kind:
            self.counters.add('faults')
            log.info('fault %s on %s', kind, op)
            if kind == 'delay':
                time.sleep(self.faults.delay_ms / 1000)
        if kind == 'blackhole':
            log.info('blackhole: %s %s gets no answer', req.method, redact(target))
            return self.hold(h)
        if kind == 'garbage':
            response = Response(200, b'\x00<<not { a [ response', [('Content-Type', 'application/xml')])
        elif kind and kind not in ('delay', 'truncate', 'trickle', 'stall'):
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
        return self.send(h, req, response, service, op, started, kind if kind in SLOW_KINDS else None)

    @staticmethod
    def hold(h, limit_s=3600):
        """Keep the connection open, answering nothing, until the client
        closes it (or limit_s has passed); then close it."""
        h.close_connection = True
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            ready, _, _ = select.select([h.connection], [], [], 0.5)
            if not ready:
                continue
            try:
                if not h.connection.recv(65536):
                    return
            except OSError:
                return

    def send(self, h, req, response, service, op, started, slow=None):
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
            if slow:
                h.close_connection = True
            h.end_headers()
            if slow == 'stall':
                log.info('stall: %s %s gets its headers only', req.method, redact(req.target))
                return self.hold(h)
            if req.method != 'HEAD' and response.status not in (204, 304):
                if slow == 'trickle':
                    return self.trickle(h, response.body)
                h.wfile.write(response.body)
        log.info('%s %s %s -> %s %s %dB %.1fms', h.client_address[1], req.method, redact(req.target),
                 'reset' if response.reset else response.status, op, len(response.body),
                 (time.monotonic() - started) * 1000)

    def trickle(self, h, body):
        """Send body trickle_bytes every trickle_ms, until done or the client goes."""
        pause, step, sent = self.faults.trickle_ms / 1000, self.faults.trickle_bytes, 0
        try:
            while sent < len(body):
                h.wfile.write(body[sent:sent + step])
                h.wfile.flush()
                sent += len(body[sent:sent + step])
                if sent < len(body):
                    time.sleep(pause)
        except OSError as e:
            log.info('trickle: the client left after %d of %d bytes: %s', sent, len(body), e)

    # --- control API: /__emu/<name>, unsigned, JSON in and out

    def control(self, req):
        def reply(status, obj):
            return Response(status, json.dumps(obj, sort_keys=True).encode(), [('Content-Type', 'application/json')])
        route = (req.method, req.path[len('/__emu/'):])
        fn = self.routes.get(route)
        if fn is None:
            for (method, prefix), handler in self.prefixes.items():
                if method == route[0] and route[1].startswith(prefix) and len(route[1]) > len(prefix):
                    rest = route[1][len(prefix):]
                    fn = lambda req, spec, handler=handler, rest=rest: handler(req, spec, rest)
                    break
        if fn is None:
            return reply(404, {'error': 'no control endpoint %s /__emu/%s' % route})
        try:
            spec = json.loads(req.body or b'{}')
            if not isinstance(spec, dict):
                raise ValueError('the body must be a JSON object')
            result = fn(req, spec)
            # a provider that speaks another protocol (IMDS) answers itself
            return result if isinstance(result, Response) else reply(200, result)
        except ControlError as e:
            return reply(e.status, {'error': str(e)})
        except ValueError as e:
            return reply(400, {'error': str(e)})

    def control_reset(self, req, spec):
        """Zero the counters and the in-flight peaks; clear the faults, the
        clock offset, the request log, and each service's own settings."""
        self.counters.clear()
        self.in_flight.clear()
        self.faults.clear()
        self.verifier.offset_s = 0.0
        self.requests.clear()
        for provider in self.resettable:
            provider.reset()
        return {}

    def control_clock(self, req, spec):
        offset = spec.get('offset_s')
        if not isinstance(offset, (int, float)):
            raise ValueError('"offset_s" must be a number of seconds')
        self.verifier.offset_s = float(offset)
        return {}

    def control_requests(self, req, spec):
        params = dict(urllib.parse.parse_qsl(req.query, keep_blank_values=True))
        return self.requests.dump(params.get('contains'), params.get('op'))
