"""One thread writes every log line, so a request on the event loop only enqueues its record.

Access-log records arrive as dicts and are serialised on the writer thread (the request path pays
one ``SimpleQueue.put``); every other log record is formatted where it is logged (its arguments may
change later) and handed over as a finished line.  The thread wakes once per burst, lets it gather for
20 ms and writes it with one call (a wake-up and a write per request cost more than the request's own
logging), and ``close`` writes out whatever is still queued (process exit calls it).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from queue import SimpleQueue
from typing import Any, TextIO

from wfgateway.sanitize import json_line

_STOP = object()
_GATHER_S = 0.02  # a log line reaches the stream at most this much later than it was logged


class LineWriter:
    """The writer thread and its queue: ``access(record)`` and ``line(text)`` never block on I/O."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.queue: SimpleQueue[Any] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="wfgateway-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def access(self, record: dict[str, Any]) -> None:
        self.queue.put(record)

    def line(self, text: str) -> None:
        self.queue.put(text)

    def close(self) -> None:
        if self._thread.is_alive():
            self.queue.put(_STOP)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        queue = self.queue
        while True:
            batch = [queue.get()]  # sleep until there is something to write
            time.sleep(_GATHER_S)  # then let a burst gather: one wake-up and one write per burst
            while not queue.empty():
                batch.append(queue.get_nowait())
            stop = any(item is _STOP for item in batch)
            lines = [item if isinstance(item, str) else json_line(item) for item in batch if item is not _STOP]
            try:
                if lines:
                    self.stream.write("\n".join(lines) + "\n")
            except Exception:  # a closed or broken stream must not kill the writer
                pass
            self._flush()
            if stop:
                return

    def _flush(self) -> None:
        try:
            self.stream.flush()
        except Exception:
            pass


class QueuedLineHandler(logging.Handler):
    """A logging handler that formats in the caller and leaves the writing to a ``LineWriter``."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.line(self.format(record))
        except Exception:
            self.handleError(record)
