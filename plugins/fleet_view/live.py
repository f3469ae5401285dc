"""Live figures of a cluster (nodes Ready per zone, pending pods), read where it is cheap and bounded.

A page load must never wait on, or fail because of, a slow cluster. :class:`LiveReader` reads each
cluster at most once per ``ttl_s`` (answers and errors alike are cached), never runs two reads of
one cluster at once, runs at most ``workers`` reads in parallel, and waits for them at most
``deadline_s``: a cluster not answered by then is reported ``unavailable`` for this request while
its read finishes in the background and fills the cache for the next one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from include.fleetview.times import iso

#: ``read(cluster) -> {"nodes": {zone: {"ready", "total"}}, "pending_pods": int}``; raises on failure
ClusterRead = Callable[[str], dict[str, Any]]


def unavailable(error: str) -> dict[str, Any]:
    return {"status": "unavailable", "error": error, "nodes": None, "pending_pods": None, "read_at": None}


class LiveReader:
    """Cached, bounded, deduplicated live reads (see the module docstring)."""

    def __init__(
        self,
        read: ClusterRead,
        *,
        ttl_s: float = 15.0,
        deadline_s: float = 3.0,
        workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.ttl_s = ttl_s
        self.deadline_s = deadline_s
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleet-live")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._inflight: dict[str, Future[dict[str, Any]]] = {}

    def _one(self, cluster: str) -> dict[str, Any]:
        try:
            found = self._read(cluster)
        except Exception as exc:  # a page never fails because a cluster does
            reading = unavailable(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
        else:
            reading = {"status": "ok", "error": None, **found}
        reading["read_at"] = iso(datetime.now(UTC))
        with self._lock:
            self._cache[cluster] = (self._clock() + self.ttl_s, reading)
            self._inflight.pop(cluster, None)
        return reading

    def read(self, clusters: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{cluster: reading}``: ``status`` ``ok`` (with ``nodes``, ``pending_pods``, ``read_at``) or
        ``unavailable`` (with ``error``)."""
        names = list(dict.fromkeys(clusters))
        answers: dict[str, dict[str, Any]] = {}
        waiting: dict[str, Future[dict[str, Any]]] = {}
        now = self._clock()
        with self._lock:
            for name in names:
                cached = self._cache.get(name)
                if cached is not None and cached[0] > now:
                    answers[name] = cached[1]
                    continue
                future = self._inflight.get(name)
                if future is None:
                    future = self._inflight[name] = self._pool.submit(self._one, name)
                waiting[name] = future
        if waiting:
            wait(list(waiting.values()), timeout=self.deadline_s)
        for name, future in waiting.items():
            if future.done():
                answers[name] = future.result()
            else:
                answers[name] = unavailable(f"no answer within {self.deadline_s:g} s; read again shortly")
        return {name: answers[name] for name in names}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
