"""KMS Secrets Manager (API 2016-01-20) of the simulated region: delivery secrets for node bootstrap.

The backend is a world section (saved, restored and reset with the world); ``kms_backend(world)``
returns it, creating and registering it on first use.
"""

from __future__ import annotations

import weakref
from typing import Any

from sandbox.kms.models import KmsBackend

SECTION = "kms"
_BACKENDS: weakref.WeakKeyDictionary[Any, KmsBackend] = weakref.WeakKeyDictionary()


def kms_backend(world: Any) -> KmsBackend:
    """The ``KmsBackend`` of ``world`` (registered as section ``kms`` on first use)."""
    with world.lock:
        backend = _BACKENDS.get(world)
        if backend is None:
            backend = KmsBackend(world)
            world.register_section(SECTION, backend)
            _BACKENDS[world] = backend
        return backend


__all__ = ["SECTION", "KmsBackend", "kms_backend"]
