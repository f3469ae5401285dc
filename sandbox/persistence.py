"""Saves the world to $SANDBOX_STATE_DIR/state.json whenever it changed.

The check serialises the whole world, so it runs every second for small worlds and less often for
large ones (never more than about 5% of one core).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.world import World

log = logging.getLogger("sandbox.persistence")


class StateSaver:
    def __init__(self, world: World, interval_s: float = 1.0):
        self.world = world
        self.interval_s = interval_s
        self._last_digest = ""

    def save_if_changed(self) -> bool:
        path = self.world.state_file
        if path is None:
            return False
        with self.world.lock:
            state = self.world.to_state()
        state["meta"].pop("saved_at", None)
        text = json.dumps(state, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest == self._last_digest:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self._last_digest = digest
        return True

    async def run(self) -> None:
        pause = self.interval_s
        while True:
            await asyncio.sleep(pause)
            started = time.perf_counter()
            try:
                self.save_if_changed()
            except Exception:
                log.exception("saving the sandbox state failed")
            pause = max(self.interval_s, 20 * (time.perf_counter() - started))
