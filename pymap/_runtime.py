"""The modelled Go process: the version table as Python sees it, and Runtime.

Layering: _errors <- _runtime (this file; versions, Runtime, the rand
callback) <- _map (MapType, GoMap and its implementations).  Runtime's two
factories (make_map, new_pool) import upward at call time; nothing else does.
"""
from __future__ import annotations

import operator
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _heap
from ._errors import InvariantError, raise_for
from ._frozen import Frozen, init_once, set_attr, value_class
from ._heap import Baseline, MemStats, PacerState
from ._native import ffi, lib
from ._process import ForkSafeLock

if TYPE_CHECKING:
    from ._heap import Pool
    from ._map import GoMap, MapType

GO_VERSIONS: tuple[str, ...] = tuple(ffi.string(lib.pm_version_name(i)).decode() for i in range(lib.pm_version_count()))
"""Modelled Go versions.  1.19-1.23 and the "-noswiss" rows (Go built with
GOEXPERIMENT=noswissmap) run the classic map; 1.24-1.27 the Swiss-table map.
"1.20" is inferred from 1.19 (no toolchain exists to test it)."""

DEFAULT_GO = "1.27"
"""The newest Go release: the default version everywhere (Runtime, GoMap, the CLI)."""

_IMPL_NAMES = {lib.PM_IMPL_CLASSIC: "classic", lib.PM_IMPL_SWISS: "swiss"}

RAND_PURPOSES: tuple[str, ...] = ("hash0", "iter", "noverflow", "nanhash", "seed")

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

_ASSIGN_PATHS = ("mapassign", "mapassign_fast32", "mapassign_fast64", "mapassign_fast64ptr",
                 "mapassign_faststr")


def _version_index(go: str) -> int:
    if not isinstance(go, str):
        raise TypeError(f"go must be a version string, not {type(go).__name__}")
    if go in GO_VERSIONS:
        return GO_VERSIONS.index(go)
    raise ValueError(f"unknown Go version {go!r}; supported: {', '.join(GO_VERSIONS)}")


def version_impl(go: str) -> str:
    """"classic" or "swiss": the builtin map of Go version `go` (the version table's map_impl)."""
    return _IMPL_NAMES[lib.pm_version_map_impl(_version_index(go))]


@value_class
class VersionFacts:
    """One row of the C core's version table (csrc/runtime/version.c): what
    differs between Go versions, as the model applies it."""

    go: str
    map_impl: str                  #: "classic" | "swiss"
    tested: bool                   #: a real toolchain exists to test against
    clear_builtin: bool            #: clear(m) exists (else the range-delete idiom)
    maps_clone: bool               #: maps.Clone exists
    hashkey_odd: bool              #: hashkey words forced odd
    alloc_headers: bool            #: 8-byte malloc headers for pointerful objects > 512 B
    rand64: bool                   #: 64-bit draws for iteration and NaN hashes
    classic_load_factor: float     #: entries per bucket before growing (classic)
    classic_hmap_size: int
    classic_clear_marks_empty: bool
    classic_clear_seq: bool
    swiss_tombstone_possible: bool
    swiss_small_update_grows: bool  #: an update to a full small map grows it
    swiss_clone_structural: bool
    swiss_clear_mode: int           #: 0 every group, 1 groups with a full slot, 2 + density heuristic
    swiss_prune_paths: tuple        #: the assign paths (MapType.assign_path names) that prune


def version_facts(go: str) -> VersionFacts:
    """The version table's row for Go version `go`."""
    v = ffi.new("pm_versioninfo *")
    lib.pm_version_info(_version_index(go), v)
    return VersionFacts(
        go, _IMPL_NAMES[v.map_impl], bool(v.tested), bool(v.clear_builtin), bool(v.maps_clone), bool(v.hashkey_odd),
        bool(v.alloc_headers), bool(v.rand64), v.classic_load_factor_num / 2, v.classic_hmap_size,
        bool(v.classic_clear_marks_empty), bool(v.classic_clear_seq), bool(v.swiss_tombstone_possible),
        bool(v.swiss_small_update_grows), bool(v.swiss_clone_structural), v.swiss_clear_mode,
        tuple(p for i, p in enumerate(_ASSIGN_PATHS) if v.swiss_prune_paths >> i & 1))


class Runtime(Frozen):
    """A modelled Go process: version, hashkey, random source, allocation
    limit, and the Go heap around its maps.

    ``seed`` selects SplitMix64 (stable across pymap releases); ``rand`` is
    ``rand(purpose) -> int`` in [0, 2**64), purpose one of "hash0", "iter",
    "noverflow", "nanhash" (classic) or "seed", "iter", "nanhash" (Swiss),
    called once per random draw the runtime makes.
    With neither, the source is seeded from os.urandom.  ``hashkey`` is the
    runtime's 4-word hashkey (each word odd for Go <= 1.22).

    The heap: ``gogc`` (GOGC; None = off), ``memory_limit`` (GOMEMLIMIT in
    bytes; None = no limit), ``gomaxprocs`` (the Ps of sync.Pool and
    gctrace), ``gctrace`` (also echo each trace line to stderr),
    ``gctrace_keep`` (how many of the latest gctrace lines ``rt.gctrace``
    keeps: 10,000 by default, at most 10,000,000) and ``baseline`` (the
    process's own heap, globals and stacks before the first map; default:
    measured on the real toolchain of ``go``, see ``pymap.Baseline``).

    The model itself: ``max_alloc`` bounds one modelled allocation and
    ``model_memory`` the C core's total memory for this runtime (both
    default to half the machine's physical memory); past either, new work
    raises MemoryError and changes nothing.
    """

    __slots__ = ("_rand", "_rand_errors", "_handle", "_ptr", "go", "seed", "baseline",
                 "_gomaxprocs", "__weakref__")
    _copy_hint = "make another Runtime with the same arguments"

    def __init__(
        self,
        go: str = DEFAULT_GO,
        seed: Optional[int] = None,
        hashkey: Optional[tuple[int, int, int, int]] = None,
        rand: Optional[Callable[[str], int]] = None,
        max_alloc: Optional[int] = None,
        *,
        gogc: Optional[int] = 100,
        memory_limit: Optional[int] = None,
        gomaxprocs: int = 1,
        gctrace: bool = False,
        baseline: Optional[Baseline] = None,
        model_memory: Optional[int] = None,
        gctrace_keep: int = lib.PM_GCTRACE_KEEP,
    ) -> None:
        init_once(self, "_ptr")
        vi = _version_index(go)
        gogc_c = _heap.check_gogc(gogc)
        limit_c = _heap.check_memory_limit(memory_limit)
        keep_c = _heap.check_gctrace_keep(gctrace_keep)
        if isinstance(gomaxprocs, bool) or not isinstance(gomaxprocs, int):
            raise TypeError(f"gomaxprocs must be an int, not {type(gomaxprocs).__name__}")
        if not 1 <= gomaxprocs <= 1024:
            raise ValueError(f"gomaxprocs must be in [1, 1024], not {gomaxprocs}")
        if baseline is None:
            baseline = _heap.default_baseline(go)
        elif not isinstance(baseline, Baseline):
            raise TypeError(f"baseline must be a pymap.Baseline, not {type(baseline).__name__}")
        base_c = baseline._c()
        if seed is not None and rand is not None:
            raise ValueError("seed and rand are mutually exclusive")
        if rand is not None and not callable(rand):
            raise TypeError("rand must be callable: rand(purpose) -> int")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise TypeError("seed must be an int")
            seed &= (1 << 64) - 1
        else:
            seed = int.from_bytes(os.urandom(8), "little")
        hk = ffi.NULL
        if hashkey is not None:
            words = tuple(hashkey)
            if len(words) != 4 or not all(isinstance(w, int) and not isinstance(w, bool) for w in words):
                raise ValueError("hashkey must be 4 ints")
            if not all(0 <= w < 1 << 64 for w in words):
                raise ValueError("hashkey words must be in [0, 2**64)")
            if lib.pm_version_hashkey_odd(vi) and not all(w & 1 for w in words):
                raise ValueError(f"Go {go} forces every hashkey word odd; an even word cannot occur")
            hk = ffi.new("uint64_t[4]", list(words))
        elif rand is not None:
            # Generating the hashkey never calls rand.
            hk = ffi.new("uint64_t[4]")
            for i in range(4):
                w = int.from_bytes(os.urandom(8), "little")
                hk[i] = w | 1 if lib.pm_version_hashkey_odd(vi) else w
        max_alloc = _default_max_alloc() if max_alloc is None else _check_max_alloc(max_alloc)
        budget = _default_max_alloc() if model_memory is None else _check_max_alloc(model_memory, "model_memory")
        set_attr(self, "_rand", rand)
        # The callback's exception waits here for the C call to return: per
        # thread, as the C core's draw state is per operation (a thread's
        # failed draw is never reported to another thread's operation).
        set_attr(self, "_rand_errors", threading.local())
        set_attr(self, "_handle", ffi.new_handle(self))
        ptr = lib.pm_runtime_new(
            vi, hk, seed, lib.pm_py_rand if rand is not None else ffi.NULL,
            self._handle if rand is not None else ffi.NULL, max_alloc,
        )
        if ptr == ffi.NULL:
            raise MemoryError(ffi.string(lib.pm_last_error()).decode() or "out of memory making a Runtime")
        set_attr(self, "_ptr", ffi.gc(ptr, lib.pm_runtime_free))
        lib.pm_runtime_set_model_budget(self._ptr, budget)
        rc = lib.pm_heap_configure(self._ptr, base_c, gogc_c, limit_c, gomaxprocs, bool(gctrace))
        if rc != lib.PM_OK:
            raise ValueError(ffi.string(lib.pm_last_error()).decode())
        set_attr(self, "go", go)
        set_attr(self, "seed", seed if rand is None else None)
        set_attr(self, "baseline", baseline)
        set_attr(self, "_gomaxprocs", gomaxprocs)
        if keep_c != lib.PM_GCTRACE_KEEP:
            rc = lib.pm_gctrace_set_keep(self._ptr, keep_c)
            if rc != lib.PM_OK:
                raise_for(rc, self)

    # -- the Go heap -------------------------------------------------------

    def memstats(self) -> MemStats:
        """runtime.ReadMemStats: the fields the model keeps."""
        return _heap.read_memstats(self._ptr)[0]

    def pacer(self) -> PacerState:
        """The pacer's state (heapLive, heapMarked, trigger, goal) and the virtual clock."""
        return _heap.read_memstats(self._ptr)[1]

    def gc(self) -> None:
        """runtime.GC(): a full cycle, sweep included; counted in num_forced_gc."""
        lib.pm_gc(self._ptr)

    def free_os_memory(self) -> None:
        """debug.FreeOSMemory(): runtime.GC(), then every free page is released."""
        lib.pm_free_os_memory(self._ptr)

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass: sysmon's periodic GC runs every
        2 minutes after the last cycle (once one happened; never with GOGC off).
        Ctrl-C stops it between two cycles (KeyboardInterrupt; the clock
        stands at the last cycle that ran)."""
        rc = lib.pm_advance(self._ptr, _heap.check_seconds(seconds))
        if rc:
            raise_for(rc, self)

    @property
    def gctrace(self) -> list[str]:
        """The last ``gctrace_keep`` GODEBUG=gctrace=1 lines (10,000 by
        default), oldest first, in Go's format.  Go's gctrace is a stream: the
        runtime keeps a ring of the latest lines, so a program running
        millions of cycles holds a bounded text; ``gctrace_total`` counts every
        line ever produced, and ``Runtime(gctrace=True)`` also streams each
        line to stderr as it happens."""
        return _heap.gctrace_lines(self._ptr)

    @property
    def gctrace_total(self) -> int:
        """Lines of gctrace produced since the runtime started, kept or not."""
        return _heap.gctrace_state(self._ptr).lines

    @property
    def gctrace_keep(self) -> int:
        """How many of the latest gctrace lines the runtime keeps (``gctrace``);
        0 keeps only the count.  Setting it drops the oldest lines beyond it."""
        return _heap.gctrace_state(self._ptr).keep

    @gctrace_keep.setter
    def gctrace_keep(self, value: int) -> None:
        rc = lib.pm_gctrace_set_keep(self._ptr, _heap.check_gctrace_keep(value))
        if rc:
            raise_for(rc, self)

    @property
    def gogc(self) -> Optional[int]:
        """GOGC (debug.SetGCPercent); None = off."""
        v = self.pacer().gogc
        return v

    @gogc.setter
    def gogc(self, value: Optional[int]) -> None:
        lib.pm_set_gogc(self._ptr, _heap.check_gogc(value))

    @property
    def memory_limit(self) -> Optional[int]:
        """GOMEMLIMIT in bytes (debug.SetMemoryLimit); None = no limit."""
        return self.pacer().memory_limit

    @memory_limit.setter
    def memory_limit(self, value: Optional[int]) -> None:
        lib.pm_set_memory_limit(self._ptr, _heap.check_memory_limit(value))

    @property
    def gomaxprocs(self) -> int:
        return self._gomaxprocs

    def new_pool(self, new: Optional[Callable[[], "GoMap"]] = None) -> "Pool":
        """A sync.Pool of maps in this runtime; `new` is Pool.New."""
        return _heap.Pool(self, new)

    def prometheus_text(self) -> str:
        """MemStats in the Prometheus text format, under the Go client's metric
        names (``go_memstats_heap_alloc_bytes``, ...): only the fields the model has."""
        from .cli.prometheus import prometheus_text   # lazy: prometheus_client loads on use
        return prometheus_text(self)

    def heap_check(self) -> None:
        """Run the heap's consistency checker (raises InvariantError)."""
        if lib.pm_heap_check(self._ptr) != lib.PM_OK:
            raise InvariantError(ffi.string(lib.pm_last_error()).decode())

    @property
    def hashkey(self) -> tuple[int, int, int, int]:
        out = ffi.new("uint64_t[4]")
        lib.pm_runtime_hashkey(self._ptr, out)
        return (out[0], out[1], out[2], out[3])

    @property
    def max_alloc(self) -> int:
        """Largest single modelled allocation allowed (bytes); larger ones raise MemoryError."""
        return lib.pm_runtime_max_alloc(self._ptr)

    @max_alloc.setter
    def max_alloc(self, value: int) -> None:
        lib.pm_runtime_set_max_alloc(self._ptr, _check_max_alloc(value, "max_alloc"))

    @property
    def model_memory(self) -> int:
        """The budget for the model's own memory in this runtime (bytes the C
        core holds for its maps: buckets, groups, tables, boxes, string data,
        with their headers).  Default: half the machine's physical memory.
        New work that would pass it (an insert, a grow, a make) raises
        MemoryError and changes nothing; a bulk call keeps the entries before
        the one that failed (see ``model_bytes``)."""
        return lib.pm_runtime_model_budget(self._ptr)

    @model_memory.setter
    def model_memory(self, value: int) -> None:
        lib.pm_runtime_set_model_budget(self._ptr, _check_max_alloc(value, "model_memory"))

    @property
    def model_bytes(self) -> int:
        """Bytes the C core holds now for this runtime's objects (counted against model_memory)."""
        return lib.pm_runtime_model_bytes(self._ptr)

    @property
    def map_impl(self) -> str:
        """"swiss" or "classic": the builtin map of this runtime's Go version."""
        return _IMPL_NAMES[lib.pm_runtime_map_impl(self._ptr)]

    def make_map(self, t: "MapType", hint: int = 0) -> "GoMap":
        """make(map[K]V, hint) in this runtime: a SwissMap or a ClassicMap."""
        from ._map import GoMap   # the upward factory (see the module docstring)
        return GoMap(t, hint, runtime=self)

    def __repr__(self) -> str:
        return f"pymap.Runtime(go={self.go!r})"


def _check_max_alloc(value: Any, name: str = "max_alloc") -> int:
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name} must be an int (bytes), not {type(value).__name__}")
    value = operator.index(value)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{name} must be in [0, 2**64) bytes, not {value}")
    return value


def _default_max_alloc() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 1 << 32


@ffi.def_extern()
def pm_py_rand(ctx: Any, purpose: int, err: Any) -> int:
    rt: Runtime = ffi.from_handle(ctx)
    name = RAND_PURPOSES[purpose]
    pending = rt._rand_errors
    # An operation the callback runs reports its own failed draws; the
    # outer operation's pending error (if an earlier draw failed) waits.
    outer, pending.error = getattr(pending, "error", None), None
    try:
        v = rt._rand(name)  # type: ignore[misc]
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"rand({name!r}) returned {type(v).__name__}, expected an int")
        if not 0 <= v < 1 << 64:
            raise ValueError(f"rand({name!r}) returned {v}, outside [0, 2**64)")
        return v
    except BaseException as e:  # reported after the C call returns
        if outer is None:
            outer = e
        err[0] = 1
        return 0
    finally:
        pending.error = outer


_default_rt: Optional[Runtime] = None
_default_lock = ForkSafeLock()   # unlocked in a forked child


def default_runtime() -> Runtime:
    """The Runtime used by GoMap(...) without runtime=: DEFAULT_GO, seeded from os.urandom."""
    global _default_rt
    with _default_lock:
        if _default_rt is None:
            _default_rt = Runtime()
        return _default_rt
