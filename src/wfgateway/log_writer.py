"""One thread writes every log line, so a request on the event loop only enqueues its record.

Access-log records arrive as dicts and are serialised on the writer thread (the request path pays
one ``SimpleQueue.put``); every other log record is formatted where it is logged (its arguments may
change later) and handed over as a finished line.  The stream is flushed whenever the queue runs dry,
and ``close`` writes out whatever is still queued (process exit calls it).
"""

from __future__ import annotations

import atexit
import logging
import threading
from queue import SimpleQueue
from typing import Any, TextIO

from wfgateway.sanitize import json_line

_STOP = object()


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
        queue, write = self.queue, self.stream.write
        while True:
            item = queue.get()
            while True:
                if item is _STOP:
                    self._flush()
                    return
                try:
                    write((item if isinstance(item, str) else json_line(item)) + "\n")
                except Exception:  # a closed or broken stream must not kill the writer
                    pass
                if queue.empty():
                    break
                item = queue.get()
            self._flush()

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
