"""The Go heap around the maps, seen from Python: MemStats, the pacer's
state, gctrace, the process baseline and sync.Pool.

Every Go behaviour lives in csrc/heap.c and csrc/pool.c; this module
converts values and checks arguments.
"""
from __future__ import annotations

import dataclasses
import math
import operator
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._errors import MapDroppedError  # noqa: F401  (re-exported)
from ._frozen import Frozen, init_once, set_attr, value_class
from ._native import ffi, lib

if TYPE_CHECKING:  # pragma: no cover
    from ._map import GoMap
    from ._runtime import Runtime

_INT64_MAX = (1 << 63) - 1
MAX_ADVANCE_S = 1e7   # per advance() call; pm_advance clamps to the same



@value_class
class MemStats:
    """runtime.MemStats fields the model keeps (bytes, counts, nanoseconds)."""

    heap_alloc: int
    heap_inuse: int
    heap_idle: int
    heap_released: int
    heap_sys: int
    heap_objects: int
    total_alloc: int
    mallocs: int
    frees: int
    next_gc: int
    num_gc: int
    num_forced_gc: int
    last_gc_ns: int
    pause_total_ns: int
    gc_cpu_fraction: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@value_class
class PacerState:
    """The model's pacer and clock (mgcpacer.go names), for explanations and tests."""

    clock_ns: int        #: the virtual clock
    heap_live: int       #: gcController.heapLive
    heap_marked: int     #: bytes marked live by the last cycle
    trigger: int         #: heapLive at which the next cycle starts
    goal: int            #: the heap goal (NextGC)
    live_bytes: int      #: allocated and reachable
    dead_bytes: int      #: allocated, unreachable, not yet swept
    spans: int           #: in-use spans of the modelled objects
    gogc: Optional[int]
    memory_limit: Optional[int]
    gomaxprocs: int


@value_class
class Baseline:
    """The modelled process before the program's first map: its live heap,
    scannable globals and goroutine stacks (measured per Go version)."""

    heap_alloc: int = 0
    heap_objects: int = 0
    heap_inuse: int = 0
    heap_sys: int = 0
    heap_released: int = 0
    total_alloc: int = 0
    mallocs: int = 0
    frees: int = 0
    globals: int = 0
    stacks: int = 0
    heap_scan: int = 0
    other_sys: int = 0

    def _c(self) -> Any:
        b = ffi.new("pm_baseline *")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"baseline.{f.name} must be an int, not {type(v).__name__}")
            if not 0 <= v < 1 << 63:
                raise ValueError(f"baseline.{f.name} must be in [0, 2**63)")
            setattr(b, f.name, v)
        return b


def default_baseline(go: str) -> Baseline:
    """The measured baseline of a minimal program on Go `go` (pymap/_baselines.py)."""
    try:
        from ._baselines import BASELINES
    except ImportError:  # pragma: no cover - the generated table ships with pymap
        return Baseline()
    d = BASELINES.get(go)
    if d is None:
        return Baseline()
    names = {f.name for f in dataclasses.fields(Baseline)}
    vals = {k: int(v) for k, v in d.items() if k in names and v is not None}
    if "heap_scan" not in vals and "heap_scan_plus_stacks" in d:
        # 1.19 reports only the sum (gcpacertrace); the pacer uses the sum.
        vals["heap_scan"] = int(d["heap_scan_plus_stacks"]) - vals.get("stacks", 0)
    return Baseline(**vals)


def check_gogc(value: Optional[int]) -> int:
    if value is None:
        return -1
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"gogc must be an int or None (off), not {type(value).__name__}")
    v = operator.index(value)
    if not 0 <= v <= _INT64_MAX:
        raise ValueError(f"gogc must be >= 0 or None (off), not {v}")
    return v


def check_memory_limit(value: Optional[int]) -> int:
    if value is None:
        return _INT64_MAX
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"memory_limit must be an int (bytes) or None, not {type(value).__name__}")
    v = operator.index(value)
    if not 0 <= v <= _INT64_MAX:
        raise ValueError(f"memory_limit must be in [0, 2**63), not {v}")
    return v


def check_seconds(seconds: float) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be finite and >= 0, not {seconds}")
    if seconds > MAX_ADVANCE_S:
        raise ValueError(f"seconds must be at most {MAX_ADVANCE_S:.0f} (115 days: 83,000 periodic GCs) "
                         f"per call, not {seconds}")
    return int(seconds * 1e9)


def read_memstats(rt_ptr: Any) -> tuple[MemStats, PacerState]:
    m = ffi.new("pm_memstats *")
    lib.pm_memstats_read(rt_ptr, m)
    ms = MemStats(**{f.name: getattr(m, f.name) for f in dataclasses.fields(MemStats)})
    ps = PacerState(
        clock_ns=m.clock_ns, heap_live=m.heap_live, heap_marked=m.heap_marked,
        trigger=m.trigger, goal=m.next_gc, live_bytes=m.live_bytes, dead_bytes=m.dead_bytes,
        spans=m.spans, gogc=None if m.gogc < 0 else m.gogc,
        memory_limit=None if m.memory_limit == _INT64_MAX else m.memory_limit,
        gomaxprocs=m.gomaxprocs,
    )
    return ms, ps


@value_class
class GCTraceState:
    """Where a runtime's gctrace stands (the C core's ring of the latest lines)."""

    start: int        #: byte offset of the oldest kept line (offsets count from the first line ever)
    end: int          #: byte offset after the newest line
    lines: int        #: lines ever produced
    kept: int         #: lines kept now (the last ``kept`` of them)
    keep: int         #: the ring's size in lines
    bytes_held: int   #: the model's memory for the ring (text and line index)


def gctrace_state(rt_ptr: Any) -> GCTraceState:
    st = ffi.new("pm_gctrace_state *")
    lib.pm_gctrace_state_read(rt_ptr, st)
    return GCTraceState(st.start, st.end, st.lines, st.kept, st.keep, st.bytes_held)


def gctrace_text(rt_ptr: Any, start: int, end: int) -> tuple[int, str]:
    """The kept gctrace text in [start, end), as (where it starts, text): the
    start is raised past lines the ring has dropped since (whole lines)."""
    frm = ffi.new("uint64_t *", start)
    size = max(end - start, 0)
    buf = ffi.new("char[]", max(size, 1))
    lib.pm_gctrace_read(rt_ptr, frm, buf, size)
    got = min(max(end - frm[0], 0), size)
    return frm[0], ffi.unpack(buf, got).decode()


def gctrace_lines(rt_ptr: Any) -> list[str]:
    """Every kept gctrace line, oldest first."""
    while True:
        st = gctrace_state(rt_ptr)
        frm = ffi.new("uint64_t *", st.start)
        buf = ffi.new("char[]", max(st.end - st.start, 1))
        end = lib.pm_gctrace_read(rt_ptr, frm, buf, st.end - st.start)
        if frm[0] == st.start and end == st.end:   # else another thread's cycle came between
            return ffi.unpack(buf, st.end - st.start).decode().splitlines()


def check_gctrace_keep(keep: Any) -> int:
    if isinstance(keep, bool) or not hasattr(type(keep), "__index__"):
        raise TypeError(f"gctrace_keep must be an int (lines), not {type(keep).__name__}")
    keep = operator.index(keep)
    if not 0 <= keep <= lib.PM_GCTRACE_KEEP_MAX:
        raise ValueError(f"gctrace_keep must be in [0, {lib.PM_GCTRACE_KEEP_MAX:,}] lines, not {keep}")
    return keep


@value_class
class PoolStats:
    """sync.Pool counters: Get calls, Put calls, New calls (misses), Gets
    served from the victim cache, maps dropped by GC cleanup; maps held now."""

    gets: int
    puts: int
    news: int
    victim_hits: int
    dropped_by_gc: int
    held: int
    held_victim: int


class Pool(Frozen):
    """sync.Pool of maps in one Runtime: ``get()`` and ``put(m)`` as Go's,
    with per-P private slots and shared lists (``pid`` picks the P, 0 by
    default, as for a single goroutine) and the victim cache."""

    __slots__ = ("_rt", "_ptr", "_new", "__weakref__")
    _copy_hint = "a second pool is rt.new_pool()"

    def __init__(self, rt: "Runtime", new: Optional[Callable[[], "GoMap"]] = None) -> None:
        init_once(self, "_rt")
        if new is not None and not callable(new):
            raise TypeError("new must be callable: new() -> GoMap")
        from ._runtime import Runtime
        if not isinstance(rt, Runtime):
            raise TypeError(f"rt must be a pymap.Runtime, not {type(rt).__name__}")
        ptr = lib.pm_pool_new(rt._ptr)
        if ptr == ffi.NULL:
            raise MemoryError(ffi.string(lib.pm_last_error()).decode() or "out of memory making a Pool")
        set_attr(self, "_rt", rt)
        set_attr(self, "_ptr", ffi.gc(ptr, lib.pm_pool_free))
        set_attr(self, "_new", new)

    def _pid(self, pid: int) -> int:
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise TypeError(f"pid must be an int, not {type(pid).__name__}")
        if not 0 <= pid < self._rt.gomaxprocs:
            raise ValueError(f"pid must be in [0, {self._rt.gomaxprocs}) (GOMAXPROCS)")
        return pid

    def put(self, m: "GoMap", pid: int = 0) -> None:
        """pool.Put(m): the pool keeps the map alive until Get or GC cleanup."""
        from ._map import GoMap
        pid = self._pid(pid)
        if m is None:
            return  # Put(nil) is ignored
        if not isinstance(m, GoMap):
            raise TypeError(f"a Pool holds GoMaps, not {type(m).__name__}")
        if m.dropped:
            raise MapDroppedError("cannot put a dropped map into a Pool")
        if m._rt is not self._rt:
            raise ValueError("the map belongs to another Runtime than the Pool")
        rc = lib.pm_pool_put(self._ptr, m._ptr, pid)
        if rc != lib.PM_OK:
            msg = ffi.string(lib.pm_last_error()).decode()
            raise MemoryError(msg) if rc == lib.PM_ENOMEM else ValueError(msg)

    def get(self, pid: int = 0) -> Optional["GoMap"]:
        """pool.Get(): a pooled map (a new handle), else New(), else None."""
        from ._map import GoMap, MapType
        pid = self._pid(pid)
        h = lib.pm_pool_get(self._ptr, pid)
        if h != ffi.NULL:
            return GoMap._adopt(h, MapType._of(lib.pm_map_type(h)), self._rt)
        if self._new is None:
            return None
        m = self._new()
        if not isinstance(m, GoMap):
            raise TypeError(f"Pool.new must return a GoMap, not {type(m).__name__}")
        return m

    @property
    def stats(self) -> PoolStats:
        s = ffi.new("pm_pool_stats *")
        lib.pm_pool_get_stats(self._ptr, s)
        return PoolStats(s.gets, s.puts, s.news, s.victim_hits, s.dropped_by_gc, s.held, s.held_victim)

    def __repr__(self) -> str:
        s = self.stats
        return f"pymap.Pool(held={s.held}, victim={s.held_victim})"
