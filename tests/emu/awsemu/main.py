"""The emulator's process: arguments, s3rver as a child, the server, and
stopping both on SIGTERM, SIGINT or the death of the parent."""

import argparse
import logging
import os
import signal
import subprocess
import sys

from botocore.credentials import Credentials

from .batch import Batch
from .cloudformation import CloudFormation
from .common import log
from .credentials import ContainerCredentials
from .metadata import Metadata
from .s3 import S3, Upstream, set_parent_death_signal, start_s3rver
from .secretsmanager import SecretsManager
from .server import Emulator
from .sigv4 import Verifier


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
    ap.add_argument('--batch-dir', help="where Batch jobs run and log (default: batch beside --data)")
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


def services(args, s3rver_port, credentials, metadata):
    """Every emulated AWS service. This is where a service joins: a module
    with a Service subclass (its operations in `actions`, its control
    endpoints in control_routes()), constructed here."""
    data = os.path.abspath(args.data)
    s3 = S3(data, Upstream(s3rver_port), args.region)
    secrets = SecretsManager(args.region)
    for item in args.secret:
        name, _, value = item.partition('=')
        secrets.set(name, value)
    # Not under --data: s3rver takes every folder there for a bucket.
    batch_dir = os.path.abspath(args.batch_dir or os.path.join(os.path.dirname(data), 'batch'))
    batch = Batch(args.region, batch_dir, credentials, metadata)
    cfn = CloudFormation(args.region, secrets, s3, batch)
    return [s3, secrets, cfn, batch]


def main(argv):
    args = parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.INFO, format='%(asctime)s %(message)s')
    parent = os.getppid()
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    os.makedirs(args.data, exist_ok=True)
    proc = None
    server = None
    batch = None
    try:
        proc, s3rver_port = start_s3rver(os.path.abspath(args.data), args.bucket)
        credentials, metadata = ContainerCredentials(args.creds, args.container_auth), Metadata()
        emulated = services(args, s3rver_port, credentials, metadata)
        server = Emulator(Verifier(args.creds, args.region), emulated, [credentials, metadata])
        port = server.server_address[1]
        for service in emulated:
            if isinstance(service, Batch):
                batch = service
                batch.attach('http://127.0.0.1:%d' % port)
        tmp = '%s.%d.tmp' % (args.port_file, os.getpid())
        with open(tmp, 'w') as f:
            f.write('%d\n' % port)
        os.rename(tmp, args.port_file)
        log.info('serving on 127.0.0.1:%d, s3rver on 127.0.0.1:%d (pid %d)', port, s3rver_port, proc.pid)
        server.serve_forever(poll_interval=0.5)
    finally:
        if batch is not None:
            batch.shutdown()
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

