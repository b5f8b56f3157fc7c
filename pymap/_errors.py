"""pymap's exceptions, and the one place a C status code becomes one.

Errors travel from the C core as PM_E* codes; the message beside a code is
for people and is never parsed.  PM_EINTR (Ctrl-C stopped a long call)
becomes the KeyboardInterrupt of Python's own SIGINT handler (_process).
"""
from __future__ import annotations

from typing import Any

from . import _process
from ._native import ffi, lib

class InvariantError(AssertionError):
    """The consistency checker found a broken invariant."""


class ConcurrentMapError(RuntimeError):
    """Two threads were inside the same map at once (Go would abort)."""


class ConcurrentMapWrite(ConcurrentMapError):
    """Go: fatal error: concurrent map writes."""


class ConcurrentMapReadWrite(ConcurrentMapError):
    """Go: fatal error: concurrent map read and map write."""


class ConcurrentMapIterationWrite(ConcurrentMapError):
    """Go: fatal error: concurrent map iteration and map write."""


class MapDroppedError(RuntimeError):
    """The GoMap handle was dropped (``m.drop()``, Go's ``m = nil``) and cannot be used."""


def raise_for(rc: int, rt: Any, what: str = "") -> None:
    if rc == lib.PM_EINTR:
        # SIGINT stopped the call between two operations: the signal the C
        # core held back is raised now, and Python's handler raises the
        # KeyboardInterrupt (see _process).
        _process.deliver_sigint(ffi.string(lib.pm_last_error()).decode())
    if lib.pm_intr_take_held():
        # A SIGINT came while the call failed for another reason: the
        # KeyboardInterrupt wins, the call's own error is its __context__.
        try:
            _raise_code(rc, rt, what)
        except BaseException:
            _process.deliver_sigint("interrupted (SIGINT)")
    _raise_code(rc, rt, what)


def _raise_code(rc: int, rt: Any, what: str) -> None:
    msg = ffi.string(lib.pm_last_error()).decode()
    if rc == lib.PM_ERAND:
        # The callback's own exception, or the TypeError/ValueError naming
        # what it returned; either way the operation changed nothing.
        pending = rt._rand_errors
        err, pending.error = getattr(pending, "error", None), None
        if err is None:
            raise RuntimeError(msg)
        raise err
    if rc in (lib.PM_ENOMEM, lib.PM_EMAXALLOC):
        raise MemoryError(msg or "out of memory: the process could not allocate what the model needed")
    if rc in (lib.PM_EBUSY, lib.PM_EBUSY_WRITES):
        if what == "iter":
            raise ConcurrentMapIterationWrite("concurrent map iteration and map write")
        if rc == lib.PM_EBUSY_WRITES:
            raise ConcurrentMapWrite(msg)
        raise ConcurrentMapReadWrite(msg)
    if rc == lib.PM_EBUSY_ITER:
        raise ConcurrentMapError("concurrent use of one MapIterator")
    if rc in (lib.PM_ECHECK, lib.PM_EINVARIANT):
        raise InvariantError(msg)
    if rc == lib.PM_EIMPL:
        raise AttributeError(msg)
    raise ValueError(msg)
