"""pymap.Scenario: a program of map operations run entirely in C.

A scenario is a list of op dicts -- the same names the ``pymap`` command's
scenario files use.  Every op acts on a map slot (``"map"``, default 0):

==============  =====================================================  ======================
op              meaning (Go)                                           fields
==============  =====================================================  ======================
make            ``m = make(map[K]V, hint)`` (the old map is garbage)   key, elem (or type), hint=0
insert_range    ``for i in range(start, stop, step): m[key(i)] = elem(i)``  start=0, stop, step=1
delete_range    ``... delete(m, key(i))``                              start=0, stop, step=1
lookup_range    ``... _, ok := m[key(i)]``                             start=0, stop, step=1
clear           ``clear(m)`` (1.19/1.20: the range-delete idiom)
drop            ``m = nil``
iterate         ``for k, v := range m {}``
copy            ``for k, v := range maps[src] { m[k] = v }``           src
repeat          run ``body`` ``count`` times (one step)                count, body
gc              ``runtime.GC()``
free_os_memory  ``debug.FreeOSMemory()``
advance         ``seconds`` of virtual time pass (the 2-minute GC)     seconds
set_gogc        ``debug.SetGCPercent(gogc)``; None or "off" = off      gogc
set_memory_limit ``debug.SetMemoryLimit(limit)`` (bytes; None = none)  limit
pool_put        ``pools[pool].Put(m); m = nil``                        pool=0
pool_get        ``m = pools[pool].Get()``; when empty, New =           pool=0, key, elem (or
                ``make(map[K]V, hint)`` if a type is given, else nil   type), hint=0
==============  =====================================================  ======================

Range values: an integer kind takes i itself (it must fit), float and
complex kinds ``T(i)``, strings ``"key-<i>"``, ``*[N]byte`` a fresh
``new([N]byte)``; other elem kinds the zero value.  ``run()`` returns one
:class:`Step` per top-level op (a repeat block is one step) with the state
of the map the step acted on last, the runtime's MemStats after it and the
gctrace lines it produced.  The pools are the result's ``pools``, made
fresh for each run.

Bounds and Ctrl-C: a program whose work (map operations, repeat iterations
and GC cycles, counted through every repeat) exceeds ``MAX_WORK`` = 2**48 is
a ValueError when it is compiled.  Ctrl-C during ``run()`` stops it between
two operations: the KeyboardInterrupt names the record and carries
``e.result``, the steps and maps reached, as every failed run does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from . import _heap
from ._frozen import Frozen, init_once, set_attr, value_class
from ._heap import MapDroppedError, MemStats
from ._native import ffi, lib

if TYPE_CHECKING:
    from ._map import MapType

OPS: dict[str, int] = {
    "make": lib.PM_OP_MAKE,
    "insert_range": lib.PM_OP_INSERT_RANGE,
    "delete_range": lib.PM_OP_DELETE_RANGE,
    "lookup_range": lib.PM_OP_LOOKUP_RANGE,
    "clear": lib.PM_OP_CLEAR,
    "drop": lib.PM_OP_DROP,
    "iterate": lib.PM_OP_ITERATE,
    "copy": lib.PM_OP_COPY,
    "repeat": lib.PM_OP_REPEAT,
    "gc": lib.PM_OP_GC,
    "free_os_memory": lib.PM_OP_FREE_OS_MEMORY,
    "advance": lib.PM_OP_ADVANCE,
    "set_gogc": lib.PM_OP_SET_GOGC,
    "set_memory_limit": lib.PM_OP_SET_MEMORY_LIMIT,
    "pool_put": lib.PM_OP_POOL_PUT,
    "pool_get": lib.PM_OP_POOL_GET,
}
_OP_NAMES = {v: k for k, v in OPS.items()}

_FIELDS: dict[str, dict[str, Any]] = {   # allowed fields and their defaults (None: required)
    "make": {"map": 0, "key": None, "elem": None, "type": None, "hint": 0},
    "insert_range": {"map": 0, "start": 0, "stop": None, "step": 1},
    "delete_range": {"map": 0, "start": 0, "stop": None, "step": 1},
    "lookup_range": {"map": 0, "start": 0, "stop": None, "step": 1},
    "clear": {"map": 0},
    "drop": {"map": 0},
    "iterate": {"map": 0},
    "copy": {"map": 0, "src": None},
    "repeat": {"count": None, "body": None},
    "gc": {},
    "free_os_memory": {},
    "advance": {"seconds": None},
    "set_gogc": {"gogc": None},
    "set_memory_limit": {"limit": None},
    "pool_put": {"map": 0, "pool": 0},
    "pool_get": {"map": 0, "pool": 0, "key": None, "elem": None, "type": None, "hint": 0},
}
_RUNTIME_OPS = ("gc", "free_os_memory", "advance", "set_gogc", "set_memory_limit")

_INT64 = (-(1 << 63), (1 << 63) - 1)


@value_class
class Step:
    """The state after one top-level op of a scenario."""

    op: str            #: the op (for a repeat block: the last op of its body)
    map: int           #: the slot it acted on last
    live: bool         #: the slot holds a map (False after drop)
    B: int             #: classic: log2 of the buckets (0 for a Swiss map)
    count: int         #: len(m)
    noverflow: int     #: classic
    growing: bool      #: classic: an evacuation is in progress
    same_size_grow: bool  #: classic
    nevacuate: int     #: classic
    bytes: int         #: the map's bytes now (memory().total)
    allocated: int     #: cumulative bytes charged to the map (its TotalAlloc share)
    result: int        #: lookups: hits; deletes: deletions; iterate/copy: entries ranged over; insert: inserts
    ops: int           #: map operations the step executed
    memstats: MemStats  #: the runtime's MemStats after the step
    gctrace: tuple[str, ...]  #: gctrace lines the step produced (those the runtime's ring still keeps)
    impl: str = "classic"     #: "classic" or "swiss": which fields above and below apply
    dir_len: int = 0          #: Swiss: directory entries (0: small map or no storage)
    ntables: int = 0          #: Swiss: distinct tables
    capacity: int = 0         #: Swiss: slots in all tables (8 for a small map)
    global_depth: int = 0     #: Swiss


@value_class
class ScenarioResult:
    steps: list[Step]
    maps: dict[int, Any]   #: slot -> GoMap for the slots holding a map at the end
    pools: list[Any]       #: the run's pymap.Pool objects (they hold their maps while kept)


MAX_SLOTS = 1 << 16    # map slots of one scenario
MAX_WORK = lib.PM_MAX_WORK   # 2**48: map operations + repeat iterations + GC cycles of one run
_RANGE_OPS = (lib.PM_OP_INSERT_RANGE, lib.PM_OP_DELETE_RANGE, lib.PM_OP_LOOKUP_RANGE)
_FORCEGC_NS = 120 * 10**9   # advance: a periodic GC cycle per 2 minutes


def _work(records: list[tuple[int, int, int, int, int]], lo: int, hi: int, mult: int) -> int:
    """Work of records [lo, hi) run `mult` times: map operations, repeat
    iterations and GC cycles (an iterate or copy counts 1: its length is
    bounded by the map's memory)."""
    total, i = 0, lo
    while i < hi:
        code, _, a, b, c = records[i]
        if code == lib.PM_OP_REPEAT:
            total += mult * a + _work(records, i + 1, i + 1 + b, mult * a)
            i += 1 + b
            continue
        if code in _RANGE_OPS:
            total += mult * len(range(a, b, c))
        elif code == lib.PM_OP_ADVANCE:
            total += mult * (1 + a // _FORCEGC_NS)
        else:
            total += mult
        i += 1
    return total


def _slot_field(op: str, name: str, v: Any) -> int:
    slot = _int_field(op, name, v, lo=0)
    if slot >= MAX_SLOTS:
        raise ValueError(f"{op}: map slot {slot} is too large (at most {MAX_SLOTS - 1})")
    return slot


def _int_field(op: str, name: str, v: Any, lo: int = _INT64[0]) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{op}: {name} must be an int, not {type(v).__name__}")
    if not _INT64[0] <= v <= _INT64[1]:
        raise OverflowError(f"{op}: {name} {v} is outside int64")
    if v < lo:
        raise ValueError(f"{op}: {name} must be >= {lo}, got {v}")
    return v


class Scenario(Frozen):
    """A compiled scenario program; ``run()`` executes it in C.

    >>> sc = Scenario([{"op": "make", "key": "int64", "elem": "int64"},
    ...                {"op": "insert_range", "stop": 1000},
    ...                {"op": "clear"}])
    >>> [s.count for s in sc.run().steps]
    [0, 1000, 0]
    """

    __slots__ = ("runtime", "ops", "_types", "_records", "_nslots", "_npools", "_nsteps", "_cops")
    _copy_hint = "compile the same ops again: Scenario(sc.ops, runtime=sc.runtime)"

    def __init__(self, ops: Sequence[Mapping[str, Any]], runtime: Any = None,
                 maps: Optional[int] = None) -> None:
        from ._runtime import Runtime, default_runtime

        init_once(self, "runtime")
        rt = runtime if runtime is not None else default_runtime()
        if not isinstance(rt, Runtime):
            raise TypeError("runtime must be a pymap.Runtime")
        set_attr(self, "runtime", rt)
        set_attr(self, "_types", [])
        set_attr(self, "_records", [])
        set_attr(self, "_nslots", 0)
        set_attr(self, "_npools", 0)
        set_attr(self, "ops", ops)
        set_attr(self, "_nsteps", self._compile(ops, "ops", top=True))
        work = _work(self._records, 0, len(self._records), 1)
        if work > MAX_WORK:
            raise ValueError(f"ops: the program would run {work:.3g} operations, loop iterations and GC "
                             f"cycles, more than one run may do (2**48 = {MAX_WORK:.3g}: months of "
                             "work); lower its repeat counts or ranges")
        if maps is not None:
            if isinstance(maps, bool) or not isinstance(maps, int):
                raise TypeError(f"maps (the number of map slots) must be an int, not {type(maps).__name__}")
            if maps > MAX_SLOTS:
                raise ValueError(f"maps={maps}: at most {MAX_SLOTS} map slots")
            if maps < self._nslots:
                raise ValueError(f"maps={maps}, but the program uses slot {self._nslots - 1}")
            set_attr(self, "_nslots", maps)
        set_attr(self, "_nslots", max(self._nslots, 1))
        set_attr(self, "_cops", ffi.new("pm_op[]", max(len(self._records), 1)))
        for i, r in enumerate(self._records):
            c = self._cops[i]
            c.op, c.map, c.a, c.b, c.c = r

    def _type_index(self, where: str, d: Mapping[str, Any]) -> int:
        from ._map import MapType

        t = d.get("type")
        if t is not None:
            if "key" in d or "elem" in d:
                raise ValueError(f"{where}: give type, or key and elem, not both")
            if not isinstance(t, MapType):
                raise TypeError(f"{where}: type must be a pymap.MapType")
        else:
            if d.get("key") is None or d.get("elem") is None:
                raise ValueError(f"{where}: make needs key and elem (Go type spellings) or type")
            try:
                t = MapType(d["key"], d["elem"])
            except (TypeError, ValueError) as e:
                raise type(e)(f"{where}: {e}") from None
        for i, u in enumerate(self._types):
            if u == t:
                return i
        self._types.append(t)
        return len(self._types) - 1

    def _compile(self, ops: Sequence[Mapping[str, Any]], where: str, top: bool = False) -> int:
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence):
            raise TypeError(f"{where} must be a list of op dicts")
        for i, d in enumerate(ops):
            w = f"{where}[{i}]"
            if not isinstance(d, Mapping):
                raise TypeError(f"{w} must be a dict, not {type(d).__name__}")
            name = d.get("op")
            if name not in OPS:
                raise ValueError(f"{w}: unknown op {name!r}; ops are {', '.join(OPS)}")
            w = f"{w} ({name})"
            allowed = _FIELDS[name]
            extra = set(d) - set(allowed) - {"op"}
            if extra:
                raise ValueError(f"{w}: unknown field(s) {', '.join(sorted(extra))}; "
                                 f"{name} takes {', '.join(allowed) or 'no fields'}")
            for f, dflt in allowed.items():
                if dflt is None and f not in d and f not in ("key", "elem", "type"):
                    raise ValueError(f"{w}: missing field {f!r}")
            code = OPS[name]
            if name in _RUNTIME_OPS:
                a = 0
                if name == "advance":
                    try:
                        a = _heap.check_seconds(d["seconds"])
                    except (TypeError, ValueError, OverflowError) as e:
                        raise type(e)(f"{w}: {e}") from None
                elif name == "set_gogc":
                    g = None if d["gogc"] == "off" else d["gogc"]
                    try:
                        a = _heap.check_gogc(g)
                    except (TypeError, ValueError) as e:
                        raise type(e)(f"{w}: {e}") from None
                elif name == "set_memory_limit":
                    lim = None if d["limit"] == "off" else d["limit"]
                    try:
                        a = _heap.check_memory_limit(lim)
                    except (TypeError, ValueError) as e:
                        raise type(e)(f"{w}: {e}") from None
                self._records.append((code, 0, a, 0, 0))
                continue
            if name == "repeat":
                count = _int_field(w, "count", d["count"], lo=0)
                if count > MAX_WORK:
                    raise ValueError(f"{w}: a repeat count of {count} is more than one run may do "
                                     f"(at most 2**48 = {MAX_WORK:,})")
                pos = len(self._records)
                self._records.append((code, 0, count, 0, 0))
                self._compile(d["body"], f"{w}.body")
                self._records[pos] = (code, 0, count, len(self._records) - pos - 1, 0)
                continue
            slot = _slot_field(w, "map", d.get("map", 0))
            set_attr(self, "_nslots", max(self._nslots, slot + 1))
            a = b = c = 0
            if name == "make":
                a = self._type_index(w, d)
                b = _int_field(w, "hint", d.get("hint", 0))
            elif name.endswith("_range"):
                a = _int_field(w, "start", d.get("start", 0))
                b = _int_field(w, "stop", d["stop"])
                c = _int_field(w, "step", d.get("step", 1))
                if c == 0:
                    raise ValueError(f"{w}: step must not be zero")
            elif name in ("pool_put", "pool_get"):
                a = _int_field(w, "pool", d.get("pool", 0), lo=0)
                if a >= 1 << 10:
                    raise ValueError(f"{w}: pool index {a} is too large (at most 1023)")
                set_attr(self, "_npools", max(self._npools, a + 1))
                if name == "pool_get":
                    has_type = any(d.get(f) is not None for f in ("key", "elem", "type"))
                    b = self._type_index(w, d) if has_type else -1
                    c = _int_field(w, "hint", d.get("hint", 0))
            elif name == "copy":
                a = _slot_field(w, "src", d["src"])
                if a == slot:
                    raise ValueError(f"{w}: src must differ from map")
                set_attr(self, "_nslots", max(self._nslots, a + 1))
            self._records.append((code, slot, a, b, c))
        return len(ops)

    def run(self, maps: Optional[Mapping[int, Any]] = None) -> ScenarioResult:
        """Run the program once.  ``maps`` optionally puts existing GoMaps in slots
        (they are shared, as Go map values are); the result carries the maps the
        slots hold at the end."""
        from ._map import GoMap, MapType, _raise

        rt = self.runtime
        if maps is not None and not isinstance(maps, Mapping):
            raise TypeError(f"maps must be a mapping of slot -> GoMap, not {type(maps).__name__}")
        given: list[tuple[int, Any]] = []
        for k, m in (maps or {}).items():
            if not isinstance(m, GoMap):
                raise TypeError(f"maps[{k!r}] must be a pymap.GoMap, not {type(m).__name__}")
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self._nslots:
                raise ValueError(f"maps: slot {k!r} outside 0..{self._nslots - 1}")
            if m.dropped:
                raise MapDroppedError(f"maps[{k}] was dropped (m = nil): it cannot be put in a slot")
            if m._rt is not rt:
                raise ValueError(f"maps[{k}] belongs to another Runtime")
            given.append((k, m._ptr))
        # Everything that can fail comes before the slots take their references.
        slots = ffi.new("pm_map *[]", self._nslots)
        types = ffi.new("pm_maptype *[]", [t._ptr for t in self._types] or [ffi.NULL])
        snaps = ffi.new("pm_snapshot[]", max(self._nsteps, 1))
        nsnaps = ffi.new("int64_t *")
        failed = ffi.new("int64_t *")
        pools = [rt.new_pool() for _ in range(self._npools)]
        cpools = ffi.new("pm_pool *[]", [p._ptr for p in pools] or [ffi.NULL])
        trace_start = _heap.gctrace_state(rt._ptr).end
        for k, ptr in given:
            lib.pm_map_retain(ptr)
            slots[k] = ptr
        rc = lib.pm_run(rt._ptr, types, len(self._types), slots, self._nslots, cpools, self._npools,
                        self._cops, len(self._records), snaps, nsnaps, failed)
        final: dict[int, Any] = {}
        for k in range(self._nslots):
            if slots[k] != ffi.NULL:
                final[k] = GoMap._adopt(slots[k], MapType._of(lib.pm_map_type(slots[k])), rt)
        n = nsnaps[0]
        trace_end = snaps[n - 1].gctrace_end if n else trace_start
        # The lines the runtime's ring still keeps (Step.gctrace).
        text_start, text = _heap.gctrace_text(rt._ptr, trace_start, trace_end)
        steps, prev = [], trace_start
        for i in range(n):
            end = snaps[i].gctrace_end
            lo, hi = max(prev, text_start) - text_start, max(end, text_start) - text_start
            steps.append(self._step(snaps[i], tuple(text[lo:hi].splitlines())))
            prev = end
        result = ScenarioResult(steps, final, pools)
        if rc:
            try:
                _raise(rc, rt)
            except (Exception, KeyboardInterrupt) as e:   # KeyboardInterrupt: Ctrl-C stopped the run
                where = f"scenario record {failed[0]}" if failed[0] >= 0 else "scenario"
                e.args = (f"{where}: {e.args[0] if e.args else e}",) + e.args[1:]
                e.result = result  # type: ignore[attr-defined]  # the steps and maps reached
                raise
        return result

    @staticmethod
    def _step(s: Any, gctrace: tuple[str, ...]) -> Step:
        ms = MemStats(**{f: getattr(s.ms, f) for f in MemStats.__dataclass_fields__})
        return Step(_OP_NAMES.get(s.op, "?"), s.map, bool(s.live), s.B, s.count, s.noverflow,
                    bool(s.growing), bool(s.same_size_grow), s.nevacuate, s.bytes, s.allocated,
                    s.result, s.ops, ms, gctrace, "swiss" if s.impl == lib.PM_IMPL_SWISS else "classic",
                    s.dir_len, s.ntables, s.capacity, s.global_depth)

    def __repr__(self) -> str:
        return f"<pymap.Scenario {self._nsteps} steps, {len(self._records)} records, {self._nslots} map slots>"
