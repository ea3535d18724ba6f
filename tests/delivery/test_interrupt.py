"""`interruptible()`: a signal inside raises Interrupted, and on leaving reaches the handler the process had,
at once (a pending signal may never be handled by an exception unwinding to the exit)."""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

import pytest

from mlgitops.delivery.promotion.interrupt import Interrupted, interruptible


def _wait_for_signal() -> None:
    for _ in range(200):  # the signal is handled at the next check of the interpreter
        time.sleep(0.01)
    pytest.fail("the signal never arrived")


def test_sigint_inside_leaves_as_keyboard_interrupt_caused_by_interrupted() -> None:
    # Python's own SIGINT handler (a test run started in the background may have SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as caught, interruptible():
            os.kill(os.getpid(), signal.SIGINT)
            _wait_for_signal()
        assert isinstance(caught.value.__context__, Interrupted)
        assert caught.value.__context__.signum == signal.SIGINT
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is back
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with interruptible() as guard:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert guard.received is None
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_previous_python_handler_runs_before_the_block_is_left() -> None:
    seen: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    try:
        try:
            with interruptible():
                os.kill(os.getpid(), signal.SIGTERM)
                _wait_for_signal()
        except Interrupted as exc:
            assert seen == [signal.SIGTERM]  # already delivered, not pending
            assert exc.signum == signal.SIGTERM
        else:
            pytest.fail("no Interrupted")
        assert signal.getsignal(signal.SIGTERM) is record
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_signal_after_disarm_waits_for_the_end_of_the_block() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with interruptible() as guard:
            guard.disarm()
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            assert seen == []  # the clean-up is not interrupted
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
