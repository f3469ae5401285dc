"""The simulated world: every piece of sandbox state, the clock, tickers and persistence hooks.

All request handlers and tickers run under ``world.lock``. Products (ECS, SLB, Alidns) keep their
state in backends hanging off the world; other parts (the simulated Kubernetes clusters) attach
their own state with ``register_section`` so that persistence and reset cover them too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sandbox.config import TIMINGS, Timings
from sandbox.core.calls import CallLog
from sandbox.core.faults import FaultInjector
from sandbox.core.quotas import MinuteQuotas
from sandbox.core.throttle import Throttler

log = logging.getLogger("sandbox.world")

REGION_ID = "cn-hangzhou"
REGION_NAME = "China (Hangzhou)"
ACCOUNT_ID = "1234567890123456"
STATE_VERSION = 1

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class Section(Protocol):
    def to_state(self) -> dict[str, Any]: ...

    def load_state(self, state: dict[str, Any]) -> None: ...

    def reset(self) -> None: ...


@dataclass
class Zone:
    """An availability zone: ``outage`` takes it down, ``stock`` is instances left per type."""

    zone_id: str
    local_name: str
    outage: bool = False
    stock: dict[str, int] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "local_name": self.local_name,
            "outage": self.outage,
            "stock": self.stock,
        }

    @classmethod
    def from_state(cls, raw: dict[str, Any]) -> Zone:
        return cls(raw["zone_id"], raw["local_name"], bool(raw["outage"]), dict(raw["stock"]))


SEED_ZONES = (
    ("cn-hangzhou-h", "Hangzhou Zone H"),
    ("cn-hangzhou-i", "Hangzhou Zone I"),
    ("cn-hangzhou-j", "Hangzhou Zone J"),
)
SEED_STOCK_PER_TYPE = 300


class World:
    """Holds all sandbox state. Create with ``World(seed, timings)``; ``reset()`` reseeds it."""

    def __init__(self, seed: int = 0, timings: Timings | None = None, state_dir: Path | None = None):
        from sandbox.alidns.models import AlidnsBackend
        from sandbox.ecs.models import EcsBackend
        from sandbox.slb.models import SlbBackend

        self.lock = threading.RLock()
        self.seed = seed
        self.timings = timings or TIMINGS["fast"]
        self.state_dir = state_dir
        self.clock: Callable[[], float] = time.time
        self.calls = CallLog(clock=self.now)
        self.faults = FaultInjector()
        self.throttle = Throttler(clock=self.now)
        self.quotas = MinuteQuotas(clock=self.now)
        self.zones: dict[str, Zone] = {}
        self._counters: dict[str, int] = {}
        self._tickers: list[Callable[[float], None]] = []
        self._sections: dict[str, Section] = {}
        self._pending_sections: dict[str, dict[str, Any]] = {}
        self.ecs = EcsBackend(self)
        self.slb = SlbBackend(self)
        self.alidns = AlidnsBackend(self)
        self._seed_world()

    # -- clock and ids ------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def new_id(self, prefix: str, length: int = 20) -> str:
        """A deterministic, unique id: same seed and same order of creation give the same ids."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        digest = hashlib.sha256(f"{self.seed}:{prefix}:{n}".encode()).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(length):
            number, rem = divmod(number, len(_ID_ALPHABET))
            chars.append(_ID_ALPHABET[rem])
        return prefix + "".join(chars)

    def next_number(self, name: str, start: int = 1) -> int:
        """A deterministic counter (record ids and the like)."""
        n = self._counters.get(name, start - 1) + 1
        self._counters[name] = n
        return n

    # -- sections, tickers ----------------------------------------------------------------------

    def register_section(self, name: str, obj: Section) -> None:
        """Attach state that is saved, restored and reset with the world's own."""
        with self.lock:
            if name in ("zones", "ecs", "slb", "alidns", "meta"):
                raise ValueError(f"section name {name!r} is reserved")
            self._sections[name] = obj
            pending = self._pending_sections.pop(name, None)
            if pending is not None:
                obj.load_state(pending)

    def add_ticker(self, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` on every tick (under the world lock)."""
        with self.lock:
            self._tickers.append(fn)

    def tick(self) -> None:
        with self.lock:
            now = self.now()
            self.ecs.tick(now)
            for fn in list(self._tickers):
                try:
                    fn(now)
                except Exception:
                    log.exception("ticker %r failed", fn)

    # -- zones ----------------------------------------------------------------------------------

    def zone(self, zone_id: str) -> Zone | None:
        return self.zones.get(zone_id)

    def set_zone(self, zone_id: str, outage: bool | None = None, stock: dict[str, int] | None = None) -> Zone:
        with self.lock:
            zone = self.zones[zone_id]
            if outage is not None:
                zone.outage = outage
            if stock is not None:
                zone.stock.update(stock)
            return zone

    # -- seeding, reset, persistence ------------------------------------------------------------

    def _seed_world(self) -> None:
        self._counters = {}
        self.zones = {
            zone_id: Zone(zone_id, name, False, {t: SEED_STOCK_PER_TYPE for t in self.ecs.seed_type_names()})
            for zone_id, name in SEED_ZONES
        }
        self.ecs.reset()
        self.slb.reset()
        self.alidns.reset()

    def reset(self) -> None:
        """Back to the seeded world: products, sections, faults, limits, per-minute quotas, call log."""
        with self.lock:
            self._seed_world()
            for section in self._sections.values():
                section.reset()
            self._pending_sections.clear()
            self.faults.clear()
            self.throttle.reset()
            self.quotas.clear()
            self.calls.clear()

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "meta": {
                    "version": STATE_VERSION,
                    "seed": self.seed,
                    "counters": dict(self._counters),
                    "saved_at": self.now(),
                },
                "zones": {zone_id: zone.to_state() for zone_id, zone in self.zones.items()},
                "ecs": self.ecs.to_state(),
                "slb": self.slb.to_state(),
                "alidns": self.alidns.to_state(),
                "sections": {name: section.to_state() for name, section in self._sections.items()},
            }

    def load_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            meta = state["meta"]
            if meta.get("version") != STATE_VERSION:
                raise ValueError(f"state file version {meta.get('version')} is not {STATE_VERSION}")
            self.seed = int(meta["seed"])
            self._counters = {k: int(v) for k, v in meta["counters"].items()}
            self.zones = {zone_id: Zone.from_state(raw) for zone_id, raw in state["zones"].items()}
            self.ecs.load_state(state["ecs"])
            self.slb.load_state(state["slb"])
            self.alidns.load_state(state["alidns"])
            sections = dict(state.get("sections", {}))
            for name, section in self._sections.items():
                if name in sections:
                    section.load_state(sections.pop(name))
            self._pending_sections = sections

    @property
    def state_file(self) -> Path | None:
        return self.state_dir / "state.json" if self.state_dir else None

    def restore(self) -> bool:
        """Load state.json if present; returns whether a saved world was restored."""
        path = self.state_file
        if path is None or not path.exists():
            return False
        self.load_state(json.loads(path.read_text(encoding="utf-8")))
        return True
