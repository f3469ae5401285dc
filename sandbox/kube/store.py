"""The object store of one cluster: objects as JSON dicts, resourceVersion, uid, watch history."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections import deque
from typing import Any

from sandbox.kube.errors import already_exists, not_found, stale
from sandbox.kube.resources import STORED, ResourceType

WATCH_HISTORY = 5000


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class ObjectStore:
    """Objects per resource type keyed by ``(namespace, name)``; every write bumps ``resourceVersion``."""

    def __init__(self, cluster: str, epoch: float):
        self.cluster = cluster
        self.epoch = epoch
        self.rv = 0
        self.serial = 0
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {rt.key: {} for rt in STORED}
        # (resourceVersion, event type, resource key, object) for watches that resume from a version.
        self.history: deque[tuple[int, str, str, dict[str, Any]]] = deque(maxlen=WATCH_HISTORY)

    # -- persistence --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "epoch": self.epoch,
            "rv": self.rv,
            "serial": self.serial,
            "objects": {key: list(objs.values()) for key, objs in self.objects.items()},
        }

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> ObjectStore:
        store = cls(raw["cluster"], float(raw["epoch"]))
        store.rv, store.serial = int(raw["rv"]), int(raw["serial"])
        for key, objs in raw["objects"].items():
            bucket = store.objects.setdefault(key, {})
            for obj in objs:
                meta = obj["metadata"]
                bucket[(meta.get("namespace", ""), meta["name"])] = obj
        return store

    # -- ids ----------------------------------------------------------------------------------

    def _bump(self) -> str:
        self.rv += 1
        return str(self.rv)

    def new_uid(self) -> str:
        self.serial += 1
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"yunfleet-sandbox/{self.cluster}/{self.epoch}/{self.serial}")
        )

    def suffix(self, length: int = 5) -> str:
        """Deterministic random-looking name suffix, as the API server makes for generateName."""
        alphabet = "bcdfghjklmnpqrstvwxz2456789"
        self.serial += 1
        number = uuid.uuid5(uuid.NAMESPACE_URL, f"suffix/{self.cluster}/{self.epoch}/{self.serial}").int
        chars = []
        for _ in range(length):
            number, rem = divmod(number, len(alphabet))
            chars.append(alphabet[rem])
        return "".join(chars)

    # -- reads --------------------------------------------------------------------------------

    def peek(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        """The stored object itself (not a copy) or None; for the simulation's own use."""
        return self.objects[rt.key].get((namespace if rt.namespaced else "", name))

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.peek(rt, namespace, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return copy.deepcopy(obj)

    def items(self, rt: ResourceType, namespace: str | None = None) -> list[dict[str, Any]]:
        """Stored objects (not copies), sorted by namespace and name."""
        bucket = self.objects[rt.key]
        keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    # -- writes -------------------------------------------------------------------------------

    def create(self, rt: ResourceType, obj: dict[str, Any], now: float) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rt.namespaced else ""
        if not rt.namespaced:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self.suffix()
        key = (namespace, meta["name"])
        if key in self.objects[rt.key]:
            raise already_exists(rt.plural, rt.group, meta["name"])
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta["uid"] = self.new_uid()
        meta["creationTimestamp"] = rfc3339(now)
        meta["resourceVersion"] = self._bump()
        if rt.has_status and rt.kind != "Namespace":
            meta.setdefault("generation", 1)
        meta.pop("deletionTimestamp", None)
        self.objects[rt.key][key] = obj
        self.history.append((self.rv, "ADDED", rt.key, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def replace(self, rt: ResourceType, obj: dict[str, Any], expect_rv: str | None = None) -> dict[str, Any]:
        """Store ``obj`` over the existing object; ``expect_rv`` (when given) must match (else 409)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        current = self.objects[rt.key].get(key)
        if current is None:
            raise not_found(rt.plural, rt.group, meta["name"])
        if expect_rv and expect_rv != current["metadata"]["resourceVersion"]:
            raise stale(rt.plural, rt.group, meta["name"])
        meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        for field in ("uid", "creationTimestamp"):
            meta[field] = current["metadata"][field]
        if obj == current:
            return copy.deepcopy(obj)
        meta["resourceVersion"] = self._bump()
        self.objects[rt.key][key] = obj
        self.history.append((self.rv, "MODIFIED", rt.key, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def touch(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """Record an in-place change the simulation made to a stored object."""
        obj["metadata"]["resourceVersion"] = self._bump()
        self.history.append((self.rv, "MODIFIED", rt.key, copy.deepcopy(obj)))

    def delete(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        key = (namespace if rt.namespaced else "", name)
        obj = self.objects[rt.key].pop(key, None)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        obj["metadata"]["resourceVersion"] = self._bump()
        self.history.append((self.rv, "DELETED", rt.key, copy.deepcopy(obj)))
        return copy.deepcopy(obj)
