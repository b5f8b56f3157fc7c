"""pymap: a byte-exact C model of Go's maps, and of the heap around them.

Two map implementations share one runtime: the Swiss-table map of Go 1.24+
(the default from 1.24, the only map from 1.26; DEFAULT_GO is 1.27) and the
classic bucket map of Go 1.19-1.23 and of 1.24/1.25 built with
GOEXPERIMENT=noswissmap ("1.24-noswiss", "1.25-noswiss").  Placement is
byte-exact for the runtime's non-AES fallback hash (GODEBUG=cpu.aes=off);
growth points and bytes do not depend on the hash.

    >>> import pymap
    >>> rt = pymap.Runtime(go="1.27", seed=1)
    >>> m = rt.make_map(pymap.MapType("int64", "int64"))
    >>> for i in range(9): m[i] = i
    >>> m.dir_len, [t.capacity for t in m.tables()]
    (1, [16])
"""
from ._native import lib as _lib, ffi as _ffi

__version__ = "0.1.0"

_built = _ffi.string(_lib.pm_build_version()).decode()
if _built != __version__:  # a stale editable build (C edits need `pip install -e .` again)
    raise ImportError(f"pymap._native was built for pymap {_built}, but this is pymap {__version__}: rebuild it")

from ._errors import (  # noqa: E402
    ConcurrentMapError,
    ConcurrentMapIterationWrite,
    ConcurrentMapReadWrite,
    ConcurrentMapWrite,
    InvariantError,
)
from ._runtime import (  # noqa: E402
    DEFAULT_GO,
    GO_VERSIONS,
    Runtime,
    VersionFacts,
    default_runtime,
    version_facts,
    version_impl,
)
from ._map import (  # noqa: E402
    Bucket,
    ClassicMap,
    GoMap,
    Group,
    MapIterator,
    MapMemory,
    MapType,
    SwissMap,
    SwissMapMemory,
    Table,
    freelist_stats,
    freelist_trim,
)
from ._scenario import Scenario, ScenarioResult, Step  # noqa: E402
from ._heap import Baseline, MapDroppedError, MemStats, PacerState, Pool, PoolStats  # noqa: E402

__all__ = [
    "GO_VERSIONS",
    "DEFAULT_GO",
    "ClassicMap",
    "Group",
    "SwissMap",
    "SwissMapMemory",
    "Table",
    "VersionFacts",
    "version_facts",
    "version_impl",
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
