"""The Python process around the model: Ctrl-C in long C calls, and fork().

Ctrl-C.  cffi releases the GIL for the whole of a C call, and Python runs
signal handlers only between bytecodes of the main thread, so Ctrl-C
during a long C loop (a scenario repeat, a bulk range, ``rt.advance`` over
a big heap) would wait for the loop's end.  At import, while SIGINT has
Python's default handler (``signal.default_int_handler``), pymap wraps the
process's SIGINT handler in the C core's (csrc/runtime/process.c).  When
SIGINT comes while the main thread is inside such a call, the C core holds
it back, the call stops between two operations and returns PM_EINTR, and
``deliver_sigint`` raises the signal again once the Python layer has done
its bookkeeping: Python's handler raises the one KeyboardInterrupt.  The
state is then exactly what the first k operations made it, as after the
calls' other errors (a bulk call's message says k; an interrupted
``Scenario.run`` carries ``e.result``).

A program that sets its own SIGINT handler or ignores SIGINT (before or
after importing pymap) keeps exactly its own behaviour: the C call runs to
its end and the program's handler runs after it.  (Setting a handler
replaces the wrapper for good: a program that later restores
``signal.default_int_handler`` calls ``install_sigint()`` to wrap it
again.)  Other threads' C calls are never interrupted, as Python raises
KeyboardInterrupt in the main thread only.

fork().  Every lock of the C core is fork-safe (process.c): a fork waits
for C work in progress to reach a consistent heap, and the child gets every
lock free.  A map that another thread was inside at the fork stays locked
in the child: its operations raise ConcurrentMapWrite (or
ConcurrentMapReadWrite), ``len()`` answers, and dropping it leaks it rather
than free what may be mid-write.  The Python layer's own locks are
``ForkSafeLock``: a forked child gets them unlocked, whatever another
thread of the parent was doing.
"""
from __future__ import annotations

import os
import signal
import threading
import weakref
from typing import Any, NoReturn

from ._native import lib


def install_sigint() -> bool:
    """Wrap SIGINT's handler so that Ctrl-C stops the main thread's long C
    calls; True if installed.  Left alone when SIGINT does not have Python's
    default handler (the program's own handler, SIG_IGN, SIG_DFL)."""
    if os.name != "posix" or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return False
    return bool(lib.pm_intr_install(threading.main_thread().ident or 0))


def deliver_sigint(message: str) -> NoReturn:
    """The SIGINT the C core held back for a call that returned PM_EINTR:
    Python's handler runs now and raises KeyboardInterrupt (its args: the
    C core's message)."""
    if threading.current_thread() is threading.main_thread():
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt as e:
            e.args = (message,)
            raise
    # The handler changed since the signal came (or this is not the main
    # thread): the call was interrupted all the same.
    raise KeyboardInterrupt(message)


class ForkSafeLock:
    """A ``threading.Lock`` that a forked child gets unlocked (the thread
    that held it in the parent does not exist there).  Use it as a context
    manager."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _LOCKS.add(self)

    def __enter__(self) -> "ForkSafeLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()


_LOCKS: "weakref.WeakSet[ForkSafeLock]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for lk in list(_LOCKS):
        lk._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

SIGINT_INSTALLED = install_sigint()
"""Whether Ctrl-C stops long C calls in this process (see the module docstring)."""
