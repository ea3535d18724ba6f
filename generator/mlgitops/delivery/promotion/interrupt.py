"""SIGTERM and SIGINT as one exception, for a section of `promote` that must be all or nothing.

Python turns SIGINT into KeyboardInterrupt, but SIGTERM (what a CI runner, `timeout` or Kubernetes
sends) ends the process where it stands: `promote` interrupted between writing the model file and
finishing the render would leave the file edited and the generated tree stale. Inside `interruptible()`
the first of these signals raises `Interrupted` where the program is (so the caller's `except`
undoes or completes its work), and any later one only waits: the clean-up itself is not interrupted.
On leaving, the previous handlers are back, and a signal that arrived is delivered again to them
(SIGTERM then ends the process as it would have, SIGINT raises KeyboardInterrupt). A signal the process
ignores is left ignored.

    with interruptible() as guard:
        try:
            work()
            guard.disarm()                   # done: a signal from here on waits for the exit
        except BaseException:
            guard.disarm()
            undo()
            raise
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """A SIGTERM or SIGINT arrived inside `interruptible()` (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class Guard:
    """Whether a signal still raises (`armed`), and the first one that arrived."""

    def __init__(self) -> None:
        self.armed = True
        self.received: int | None = None

    def disarm(self) -> None:
        self.armed = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        if self.armed:
            self.armed = False
            raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[Guard]:
    """See the module docstring. Outside the main thread (no signal handlers there) it only yields."""
    guard = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    # A signal the process ignores (nohup, a background job of a script) stays ignored: its starter chose that.
    handled = [signum for signum in SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]
    previous: dict[int, Any] = {signum: signal.signal(signum, guard.handle) for signum in handled}
    try:
        yield guard
    finally:
        guard.armed = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if guard.received is not None:
            _redeliver(guard.received, previous[guard.received])


def _redeliver(signum: int, handler: Callable[[int, FrameType | None], Any] | int | None) -> None:
    """Hand a signal that arrived to the handler the process had: its usual ending.

    A Python handler (SIGINT's default raises KeyboardInterrupt) is called here and now: a signal sent with
    `os.kill` only marks it pending until the interpreter next checks, and an exception unwinding to the exit
    may never give it the chance (the process then ended with a traceback of `Interrupted`). SIG_DFL and
    SIG_IGN are left to the operating system.
    """
    if callable(handler):
        handler(signum, None)
    else:
        os.kill(os.getpid(), signum)
