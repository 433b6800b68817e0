"""When checks run: debounced, one at a time, and a stale one cancelled.

Edits come in bursts (a keystroke each); a check is worth running once the burst pauses for
:data:`DEBOUNCE` seconds. Checks run on one worker thread, since the parser is not reentrant
and the event loop must keep answering hover and completion meanwhile. When an edit arrives
for a file whose check is running, that check is stale: the worker is interrupted (an
asynchronous :class:`Cancelled` raised in its thread, as Ctrl-C interrupts a script) and the
file is checked again after the new debounce.
"""

from __future__ import annotations

import ctypes
import threading
import time
from contextlib import contextmanager
from typing import Callable

__all__ = ["Scheduler", "Cancelled", "DEBOUNCE"]

DEBOUNCE = 0.03                       # seconds of quiet after an edit before its check starts


class Cancelled(BaseException):
    """Raised inside a stale check (a BaseException: no `except Exception` swallows it)."""


class Scheduler:
    """Runs ``check(key)`` on a worker thread for each key requested, latest request first; the
    part of it inside :meth:`cancellable` is interrupted when its key is requested again."""

    def __init__(self, check: Callable[[str], None], debounce: float = DEBOUNCE):
        self._check = check
        self.debounce = debounce
        self._due: dict[str, float] = {}
        self._cond = threading.Condition()
        self._running: str | None = None
        self._cancellable = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="geno-check", daemon=True)
        self._thread.start()

    def request(self, keys, delay: float | None = None) -> None:
        """Check each of ``keys`` once the edits pause; cancel a running check of one of them."""
        at = time.monotonic() + (self.debounce if delay is None else delay)
        with self._cond:
            for key in keys:
                self._due[key] = at
                if key == self._running and self._cancellable:
                    self._cancel()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._due and self._running is None

    @contextmanager
    def cancellable(self):
        """The part of a check that a new request for its key interrupts (the front end's
        work, not the sending of its results)."""
        with self._cond:
            self._cancellable = True
        try:
            yield
        finally:
            # a cancel lands only while _cancellable is set, so at the latest in here
            with self._cond:
                self._cancellable = False

    def _cancel(self) -> None:
        # called with the condition held while the worker is inside a check (_cancellable)
        self._cancellable = False
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident), ctypes.py_object(Cancelled))

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                ready = [k for k, at in self._due.items() if at <= now]
                if ready:
                    key = min(ready, key=self._due.__getitem__)
                    del self._due[key]
                    self._running = key
                    return key
                wait = min(self._due.values()) - now if self._due else None
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        while not self._stopped:
            try:
                self._one()
            except Cancelled:               # a stale check, interrupted: its key is due again
                pass
            except Exception:               # noqa: BLE001 -- a check reports its own errors; never die
                pass

    def _one(self) -> None:
        key = self._next()
        if key is None:
            return
        try:
            self._check(key)
        finally:
            with self._cond:
                self._cancellable = False
                self._running = None
