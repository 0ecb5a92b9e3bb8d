"""Credentials served to rapid the way AWS serves them inside a task: the
ECS container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI),
at /__emu/container-credentials."""

import time

from .common import ControlError


class ContainerCredentials:
    """The first credential that has a session token, valid for an hour, to
    a caller that sends the authorization token the emulator was started
    with (--container-auth)."""

    def __init__(self, creds, auth):
        self.creds = creds      # access key id -> botocore Credentials
        self.auth = auth

    def control_routes(self):
        return {('GET', 'container-credentials'): self.serve}

    def reset(self):
        pass

    def serve(self, req, spec):
        if req.headers.get('Authorization') != self.auth:
            raise ControlError(401, 'bad or missing Authorization')
        cred = next((c for c in self.creds.values() if c.token), None)
        if cred is None:
            raise ControlError(404, 'no credential with a session token (--cred AKID:SECRET:TOKEN)')
        expires = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 3600))
        return {'AccessKeyId': cred.access_key, 'SecretAccessKey': cred.secret_key,
                'Token': cred.token, 'Expiration': expires}
