"""Hot reload: SIGHUP, or a change of the config file, swaps routes and backends atomically.

The file is polled (mtime, size, then content hash) rather than watched with inotify, so it works
the same on every platform and for editors that replace the file instead of writing it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("wfgateway.routing")


def _digest(path: Path) -> tuple[float, int, str] | None:
    try:
        st = path.stat()
        return st.st_mtime, st.st_size, hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


async def watch_config(router: Any, path: Path, interval_s: float) -> None:
    """Reload whenever the file's content changes (checked every ``interval_s``)."""
    last = _digest(path)
    while True:
        await asyncio.sleep(interval_s)
        try:
            st = path.stat()
        except OSError:
            continue
        if last is not None and (st.st_mtime, st.st_size) == last[:2]:
            continue
        current = _digest(path)
        if current is None or (last is not None and current[2] == last[2]):
            last = current or last
            continue
        last = current
        log.info("config file %s changed; reloading routes and backends", path)
        await router.reload_file()


def install_sighup(router: Any) -> bool:
    """SIGHUP -> reload (only possible in the main thread, as when served by `wfgateway serve`)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        return False
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        log.info("SIGHUP: reloading routes and backends")
        task = loop.create_task(router.reload_file())
        router._closing.add(task)
        task.add_done_callback(router._closing.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (NotImplementedError, RuntimeError):
        return False
    return True
