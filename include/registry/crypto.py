"""Encryption of cluster credentials at rest with Airflow's Fernet key (MultiFernet)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CredentialCipher:
    """Encrypts JSON credential documents; several comma-separated keys allow key rotation.

    The first key encrypts, every key decrypts (the same convention as Airflow's ``fernet_key``).
    """

    def __init__(self, fernet_keys: str | list[str]) -> None:
        keys = fernet_keys.split(",") if isinstance(fernet_keys, str) else list(fernet_keys)
        keys = [k.strip() for k in keys if k and k.strip()]
        if not keys:
            raise ValueError(
                "a Fernet key is required to store cluster credentials; set Airflow's [core] fernet_key"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ValueError("the Fernet key is not a valid url-safe base64 32-byte key") from exc

    def encrypt(self, document: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(document, sort_keys=True).encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            plain = self._fernet.decrypt(token.encode("ascii"))
        except InvalidToken as exc:
            raise ValueError(
                "cluster credentials cannot be decrypted with the configured Fernet key"
            ) from exc
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise ValueError("decrypted credentials are not a JSON object")
        return value

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the primary key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
