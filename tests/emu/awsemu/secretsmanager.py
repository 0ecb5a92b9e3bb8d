"""Secrets Manager (JSON 1.1), answered from memory."""

import threading
import time
import uuid

from .common import ACCOUNT, ApiError, rand
from .service import JsonService


def secret_arn(region, name):
    """A new secret's ARN: its name, '-', six random letters."""
    return 'arn:aws:secretsmanager:%s:%s:secret:%s-%s' % (
        region, ACCOUNT, name, rand(6, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'))


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

    def control_routes(self):
        return {('POST', 'secret'): self.control_secret}

    def control_secret(self, req, spec):
        """{"name": "rapid/test", "value": "..."}: create or update a secret."""
        name, value = spec.get('name'), spec.get('value')
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise ValueError('"name" and "value" must be strings')
        self.set(name, value)
        return {}

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
