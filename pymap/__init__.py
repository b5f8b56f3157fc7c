"""pymap: a byte-exact C model of Go's classic map, and of the heap around it.

pymap models the bucket-based map of Go 1.19-1.23 and of Go 1.24 built with
GOEXPERIMENT=noswissmap ("1.24-noswiss").  Go's default map since 1.24 is a
Swiss table, which pymap does not model.  Bucket placement is byte-exact for
the runtime's non-AES fallback hash (GODEBUG=cpu.aes=off); doubling growth
points and bucket-array bytes do not depend on the hash.

    >>> import pymap
    >>> rt = pymap.Runtime(go="1.23", seed=1)
    >>> m = rt.make_map(pymap.MapType("int64", "int64"))
    >>> for i in range(9): m[i] = i
    >>> m.B
    1
"""
from ._native import lib as _lib, ffi as _ffi

__version__ = "0.1.0"

_built = _ffi.string(_lib.pm_build_version()).decode()
if _built != __version__:  # a stale editable build (C edits need `pip install -e .` again)
    raise ImportError(f"pymap._native was built for pymap {_built}, but this is pymap {__version__}: rebuild it")

from ._map import (  # noqa: E402
    GO_VERSIONS,
    Bucket,
    ConcurrentMapError,
    ConcurrentMapIterationWrite,
    ConcurrentMapReadWrite,
    ConcurrentMapWrite,
    GoMap,
    InvariantError,
    MapIterator,
    MapMemory,
    MapType,
    Runtime,
    default_runtime,
    freelist_stats,
    freelist_trim,
)
from ._scenario import Scenario, ScenarioResult, Step  # noqa: E402
from ._heap import Baseline, MapDroppedError, MemStats, PacerState, Pool, PoolStats  # noqa: E402

__all__ = [
    "GO_VERSIONS",
    "Baseline",
    "MapDroppedError",
    "MemStats",
    "PacerState",
    "Pool",
    "PoolStats",
    "Bucket",
    "ConcurrentMapError",
    "ConcurrentMapIterationWrite",
    "ConcurrentMapReadWrite",
    "ConcurrentMapWrite",
    "GoMap",
    "InvariantError",
    "MapIterator",
    "MapMemory",
    "MapType",
    "Runtime",
    "Scenario",
    "ScenarioResult",
    "Step",
    "default_runtime",
    "freelist_stats",
    "freelist_trim",
]
