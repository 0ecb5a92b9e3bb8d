"""Credentials served to rapid the way AWS serves them inside a task: the
ECS container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI),
at /__emu/container-credentials."""

import secrets
import threading
import time

from .common import ControlError


class ContainerCredentials:
    """A credential valid for an hour, to a caller that sends a token it
    knows in Authorization: the token the emulator was started with
    (--container-auth) gets the first credential that has a session token;
    a token granted to a Batch task (grant()) gets the credential it was
    granted for (the job role), until it is revoked."""

    def __init__(self, creds, auth):
        self.creds = creds      # access key id -> botocore Credentials
        self.auth = auth
        self.lock = threading.Lock()
        self.grants = {}        # task token -> access key id (None: the default)

    def control_routes(self):
        return {('GET', 'container-credentials'): self.serve}

    def reset(self):
        pass

    def grant(self, akid=None):
        """A new authorization token for a task, served akid's credential
        (None: the first with a session token)."""
        token = 'emu-task-' + secrets.token_hex(16)
        with self.lock:
            self.grants[token] = akid
        return token

    def revoke(self, token):
        with self.lock:
            self.grants.pop(token, None)

    def serve(self, req, spec):
        given = req.headers.get('Authorization')
        with self.lock:
            granted = given in self.grants
            akid = self.grants.get(given)
        if given != self.auth and not granted:
            raise ControlError(401, 'bad or missing Authorization')
        if akid is not None:
            cred = self.creds.get(akid)
        else:
            cred = next((c for c in self.creds.values() if c.token), None)
        if cred is None:
            raise ControlError(404, 'no credential with a session token (--cred AKID:SECRET:TOKEN)')
        expires = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 3600))
        out = {'AccessKeyId': cred.access_key, 'SecretAccessKey': cred.secret_key, 'Expiration': expires}
        if cred.token:
            out['Token'] = cred.token
        return out
