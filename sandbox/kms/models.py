"""Secrets Manager state and behaviour: Python arguments in, typed errors out, no HTTP.

Secret values are kept encrypted (Fernet, a key in ``kms-master.key`` of the state dir, 0600), as a
real KMS keeps them under a key: the saved world and ``GET /_sandbox/state`` hold ciphertext only.
A secret that was read by an instance during its simulated boot is recorded in the call log as a
``GetSecretValue`` call, like any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from sandbox.core.errors import InvalidParameter
from sandbox.kms import exceptions as exc

SECRET_NAME = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,192}$")
SECRET_DATA_LIMIT = 30_720
MAX_SECRETS = 10_000
MAX_TAGS = 20
DEFAULT_RECOVERY_DAYS = 30
KEY_FILE = "kms-master.key"


@dataclass
class SecretVersion:
    version_id: str
    ciphertext: str
    created_at: float
    stages: list[str] = field(default_factory=lambda: ["ACSCurrent"])


@dataclass
class Secret:
    name: str
    arn: str
    secret_type: str
    data_type: str
    description: str
    encryption_key_id: str | None
    created_at: float
    updated_at: float
    tags: dict[str, str]
    versions: dict[str, SecretVersion]
    planned_delete_at: float | None = None

    def current(self) -> SecretVersion:
        return next(v for v in self.versions.values() if "ACSCurrent" in v.stages)

    def to_state(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["versions"] = [asdict(v) for v in self.versions.values()]
        return raw

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Secret:
        versions = {v["version_id"]: SecretVersion(**v) for v in raw.pop("versions")}
        return cls(**raw, versions=versions)


class KmsBackend:
    """The secrets of the region. Registered as the world section ``kms``."""

    def __init__(self, world: Any):
        self.world = world
        self.secrets: dict[str, Secret] = {}
        self._fernet = Fernet(self._master_key())

    # -- world section ------------------------------------------------------------------------

    def _master_key(self) -> bytes:
        state_dir: Path | None = getattr(self.world, "state_dir", None)
        if state_dir is None:
            return Fernet.generate_key()
        path = Path(state_dir) / KEY_FILE
        if path.exists():
            return path.read_bytes().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(key)
        tmp.chmod(0o600)
        tmp.replace(path)
        return key

    def to_state(self) -> dict[str, Any]:
        return {"secrets": [s.to_state() for s in self.secrets.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.secrets = {raw["name"]: Secret.from_state(dict(raw)) for raw in state.get("secrets", [])}

    def reset(self) -> None:
        self.secrets = {}

    # -- helpers ------------------------------------------------------------------------------

    def _arn(self, name: str) -> str:
        from sandbox.world import ACCOUNT_ID, REGION_ID

        return f"acs:kms:{REGION_ID}:{ACCOUNT_ID}:secret/{name}"

    def _name(self, name_or_arn: str) -> str:
        return name_or_arn.split(":secret/", 1)[1] if name_or_arn.startswith("acs:kms:") else name_or_arn

    def _expire(self, now: float) -> None:
        for name in [
            n for n, s in self.secrets.items() if s.planned_delete_at and s.planned_delete_at <= now
        ]:
            del self.secrets[name]

    def find(self, name_or_arn: str, now: float) -> Secret:
        """The secret, usable: not found raises ``Forbidden.ResourceNotFound``."""
        self._expire(now)
        secret = self.secrets.get(self._name(name_or_arn))
        if secret is None:
            raise exc.ResourceNotFound()
        return secret

    def decrypt(self, secret: Secret) -> str:
        try:
            return self._fernet.decrypt(secret.current().ciphertext.encode()).decode()
        except InvalidToken as error:  # the key file was replaced: the value is gone
            raise exc.ResourceNotFound(
                "The resource is not found (its value cannot be decrypted with the current master key)."
            ) from error

    # -- operations ---------------------------------------------------------------------------

    def create_secret(
        self,
        *,
        name: str,
        data: str,
        version_id: str,
        data_type: str,
        secret_type: str,
        description: str,
        tags: dict[str, str],
        encryption_key_id: str | None,
        now: float,
    ) -> Secret:
        if not SECRET_NAME.match(name) or name.startswith("acs/"):
            raise InvalidParameter(
                "SecretName", "It must be 1-192 letters, digits or _/+=.@- and must not start with acs/."
            )
        if secret_type != "Generic":  # noqa: S105 (a secret type)
            raise InvalidParameter("SecretType", "The sandbox supports Generic secrets only.")
        if data_type not in ("text", "binary"):
            raise InvalidParameter("SecretDataType", "Valid values: text, binary.")
        if len(data.encode()) > SECRET_DATA_LIMIT:
            raise InvalidParameter("SecretData", f"It can be up to {SECRET_DATA_LIMIT} bytes.")
        if not version_id or len(version_id) > 64:
            raise InvalidParameter("VersionId", "It is required and can be up to 64 characters.")
        if len(tags) > MAX_TAGS:
            raise InvalidParameter("Tags", f"At most {MAX_TAGS} tags are allowed.")
        for key, value in tags.items():
            if not key or len(key) > 128 or len(value) > 128 or key.startswith(("aliyun", "acs:")):
                raise InvalidParameter("Tags", f"Tag key {key!r} or its value is not valid.")
        self._expire(now)
        existing = self.secrets.get(name)
        if existing is not None:
            raise exc.ResourceInDeleteWindow() if existing.planned_delete_at else exc.ResourceExist()
        if len(self.secrets) >= MAX_SECRETS:
            raise exc.LimitExceeded()
        ciphertext = self._fernet.encrypt(data.encode()).decode()
        secret = Secret(
            name=name,
            arn=self._arn(name),
            secret_type=secret_type,
            data_type=data_type,
            description=description,
            encryption_key_id=encryption_key_id,
            created_at=now,
            updated_at=now,
            tags=dict(tags),
            versions={version_id: SecretVersion(version_id, ciphertext, now)},
        )
        self.secrets[name] = secret
        return secret

    def get_secret_value(self, name_or_arn: str, now: float) -> tuple[Secret, str]:
        secret = self.find(name_or_arn, now)
        if secret.planned_delete_at:
            raise exc.ResourceInDeleteWindow()
        return secret, self.decrypt(secret)

    def delete_secret(self, name_or_arn: str, *, force: bool, recovery_days: int, now: float) -> Secret:
        secret = self.find(name_or_arn, now)
        if force:
            del self.secrets[secret.name]
            secret.planned_delete_at = now
        else:
            secret.planned_delete_at = now + recovery_days * 86400
        secret.updated_at = now
        return secret

    def list_secrets(self, filters: list[dict[str, Any]], now: float) -> list[Secret]:
        """Secrets matching every filter (values of one filter are alternatives)."""
        self._expire(now)
        found = sorted(self.secrets.values(), key=lambda s: (s.created_at, s.name))
        for item in filters:
            key, values = item.get("Key"), [str(v) for v in item.get("Values") or []]
            if key == "SecretName":
                found = [s for s in found if s.name in values]
            elif key == "Description":
                found = [s for s in found if s.description in values]
            elif key == "TagKey":
                found = [s for s in found if any(k in values for k in s.tags)]
            elif key == "TagValue":
                found = [s for s in found if any(v in values for v in s.tags.values())]
            elif key == "SecretType":
                found = [s for s in found if s.secret_type in values]
            else:
                raise InvalidParameter("Filters", f"Unsupported filter key {key!r}.")
        return found


def parse_tags(raw: str | None) -> dict[str, str]:
    """``Tags`` of CreateSecret: a JSON array ``[{"TagKey": "k", "TagValue": "v"}]``."""
    if not raw:
        return {}
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise InvalidParameter("Tags", "It must be a JSON array of {TagKey, TagValue}.") from error
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("TagKey") for i in items):
        raise InvalidParameter("Tags", "It must be a JSON array of {TagKey, TagValue}.")
    return {str(i["TagKey"]): str(i.get("TagValue", "")) for i in items}
