"""Saves the world to $SANDBOX_STATE_DIR/state.json whenever it changed (checked every second)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
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
        text = json.dumps(state, sort_keys=True, indent=1)
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
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.save_if_changed()
            except Exception:
                log.exception("saving the sandbox state failed")
