"""``pymap grow``: a map's growth timeline, insert by insert.

Inserting one key at a time from Python and reading the header after each
costs ~15 us; a million inserts would take many seconds.

Classic map: two identical maps (two Runtimes with the same seed make the
same draws) go through the same inserts: the *leader* takes a chunk in C,
and when its state changed within the chunk (B, a grow starting or ending,
noverflow falling back as a same-size grow resets it) the *trailer* replays
that chunk one insert at a time to find the exact insert; otherwise the
trailer takes the chunk in C too.  At the end both maps must be identical.

Swiss map: a table rehashes (doubles or splits) only on the insert of a new
key that finds its growthLeft at 0, and the small map grows on its 9th key.
Every key here is new, so the next insert that can change the structure is
the first key that arrives at a table already holding growthLeft new keys
since the last look.  The keys' hashes (the model's hasher, with the map's
seed) and the directory say which table each key goes to; the keys before
that one go in as one C call, and after it the tables are read back and
must be exactly as predicted (used and growthLeft per table, nothing
rehashed), else the command stops with an internal error.  The one key is
then inserted alone and the change it made is the event.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from .. import GoMap, MapType, Runtime, __version__
from .._native import ffi, lib
from .._types import parse_kind
from ._common import DEFAULT_GO, CLIError, Output, Table, fmt_bytes, impl_label, is_swiss, progress

SCHEMA_VERSION = 2
_INTS = (lib.PM_KIND_INT, lib.PM_KIND_UINT)


def map_type(key: str, elem: str) -> MapType:
    """MapType(key, elem), with the model's message as a CLIError."""
    try:
        return MapType(key, elem)
    except (TypeError, ValueError) as e:
        raise CLIError(str(e), "Go spellings: int64, uint8, string, float64, bool, [16]byte, struct{}, "
                               "pointer; *[N]byte as an elem") from None


class Inserter:
    """Inserts keys key(i) for i in [a, b): insert_range (C) where the model
    can make the keys and elems from i, else insert_many with generated
    keys and zero elems."""

    def __init__(self, t: MapType) -> None:
        self.t = t
        k, e = parse_kind(t.key), parse_kind(t.elem)
        self.kcode, self.ksize = k.code, k.size
        self.max_keys = self._max_keys(k.code, k.size)
        elem_ok = e.code in (lib.PM_KIND_STRING, lib.PM_KIND_PTRBYTES) or e.code in _INTS
        self.elem_max = (None if e.code not in _INTS else
                         (1 << (8 * e.size - 1)) if e.code == lib.PM_KIND_INT else 1 << (8 * e.size))
        self.range_ok = (k.code in _INTS + (lib.PM_KIND_STRING,)) and elem_ok
        self.ecode = e.code

    @staticmethod
    def _max_keys(code: int, size: int) -> int:
        if code == lib.PM_KIND_INT:
            return 1 << (8 * size - 1)          # keys 0, 1, 2, ...
        if code == lib.PM_KIND_UINT:
            return 1 << (8 * size)
        if code == lib.PM_KIND_BOOL:
            return 2
        if code == lib.PM_KIND_EMPTY:
            return 1
        if code == lib.PM_KIND_BYTES:
            return 256 ** min(size, 8)
        if code == lib.PM_KIND_FLOAT:          # float(i) is exact up to the mantissa
            return 1 << (24 if size == 4 else 53)
        if code == lib.PM_KIND_COMPLEX:
            return 1 << (24 if size == 8 else 53)
        return 1 << 63

    def describe(self, n: int) -> str:
        """What the inserts are, in Go."""
        kcode, ecode, rng = self.kcode, self.ecode, self.use_range(n)
        keys = {lib.PM_KIND_STRING: '"key-<i>"', lib.PM_KIND_BOOL: "false, true", lib.PM_KIND_EMPTY: "struct{}{}",
                lib.PM_KIND_BYTES: "i as little-endian bytes", lib.PM_KIND_FLOAT: "float(i)",
                lib.PM_KIND_COMPLEX: "complex(i, 0)", lib.PM_KIND_POINTER: "address i"}.get(kcode, "i")
        if ecode == lib.PM_KIND_PTRBYTES:
            val = f"new([{parse_kind(self.t.elem).size}]byte)" if rng else "nil"
        elif ecode == lib.PM_KIND_STRING and rng:
            val = '"key-<i>"'
        elif ecode in _INTS and rng:
            val = "i"
        else:
            val = "the zero value"
        return f"m[{keys}] = {val}"

    def check(self, n: int) -> None:
        if n > self.max_keys:
            raise CLIError(f"map[{self.t.key}]{self.t.elem} has at most {self.max_keys:,} distinct keys "
                           f"the model can generate, so --n {n:,} is too many", "use a wider key type or a smaller --n")

    def use_range(self, n: int) -> bool:
        return self.range_ok and (self.elem_max is None or n <= self.elem_max)

    def insert(self, m: GoMap, a: int, b: int, use_range: bool) -> None:
        if use_range:
            m.insert_range(a, b)
            return
        m.insert_many(self.keys(a, b), None)

    def keys(self, a: int, b: int) -> Any:
        c, s = self.kcode, self.ksize
        if c in _INTS:
            return np.arange(a, b, dtype=np.dtype(("<i" if c == lib.PM_KIND_INT else "<u") + str(s)))
        if c == lib.PM_KIND_STRING:
            return [f"key-{i}" for i in range(a, b)]
        if c == lib.PM_KIND_FLOAT:
            return np.arange(a, b, dtype=np.dtype(f"<f{s}"))
        if c == lib.PM_KIND_COMPLEX:
            return np.arange(a, b).astype(np.dtype(f"<c{s}"))
        if c == lib.PM_KIND_BOOL:
            return np.array([False, True][a:b], dtype=np.bool_)
        if c == lib.PM_KIND_POINTER:
            return np.arange(a, b, dtype=np.uint64)
        if c == lib.PM_KIND_BYTES:
            out = np.zeros((b - a, s), dtype=np.uint8)
            idx = np.arange(a, b, dtype=np.uint64)
            for j in range(min(s, 8)):
                out[:, j] = (idx >> np.uint64(8 * j)) & np.uint64(0xFF)
            return out
        if c == lib.PM_KIND_EMPTY:
            return [None] * (b - a)
        raise CLIError(f"cannot generate keys of type {self.t.key}")  # pragma: no cover


@dataclass
class State:
    inserts: int
    len: int
    B: int
    growing: bool
    same_size_grow: bool
    noverflow: int
    nevacuate: int
    old_buckets: int
    bytes: int
    allocated: int
    heap_alloc: int
    num_gc: int


@dataclass
class Event:
    insert: int
    kind: str      # make | grow | same-size grow | evacuated | end
    text: str
    state: State


def _key(m: GoMap) -> tuple:
    return (m.B, m.growing, m.same_size_grow, m.noverflow)


def _changed(before: tuple, after: tuple) -> bool:
    return before[:3] != after[:3] or after[3] < before[3]


def _state(m: GoMap, rt: Runtime, inserts: int) -> State:
    mem = m.memory()
    ms = rt.memstats()
    B, growing, same = m.B, m.growing, m.same_size_grow
    old = 0
    if growing:
        old = 1 << (B if same else B - 1)
    return State(inserts, len(m), B, growing, same, m.noverflow, m.nevacuate, old, mem.total, mem.allocated,
                 ms.heap_alloc, ms.num_gc)


def _describe(prev: tuple, s: State) -> tuple[str, str]:
    pB, pgrow, psame, pnov = prev
    if s.B > pB:
        if s.growing:
            return "grow", f"grow starts: B {pB}->{s.B}, {1 << s.B:,} buckets; {s.old_buckets:,} old to evacuate"
        return "grow", f"grow: B {pB}->{s.B} ({1 << s.B:,} buckets), evacuated within the insert"
    if s.growing and s.same_size_grow and not (pgrow and psame):
        return "same-size grow", (f"same-size grow starts (B={s.B}): {pnov:,} overflow buckets, "
                                  f"{s.old_buckets:,} buckets to re-pack")
    if not s.growing and s.noverflow < pnov and s.B == pB and not pgrow:
        return "same-size grow", f"same-size grow (B={s.B}) of {pnov:,} overflow buckets, done within the insert"
    if pgrow and not s.growing:
        return "evacuated", f"evacuation done (B={s.B}): the old array is garbage"
    return "change", "state change"


def timeline(t: MapType, go: str, n: int, hint: int = 0, seed: int = 1, chunk: Optional[int] = None,
             bar: Any = None, nsamples: int = 250) -> tuple[list[Event], list[State]]:
    """Events (exact inserts) and about `nsamples` evenly spaced samples (plus one
    per event) of inserting key(0..n-1) into make(map[K]V, hint).  Reading a
    map's bytes walks its buckets, so samples are rationed."""
    ins = Inserter(t)
    ins.check(n)
    use_range = ins.use_range(n)
    rt_l, rt_t = Runtime(go=go, seed=seed), Runtime(go=go, seed=seed)
    lead, trail = rt_l.make_map(t, hint), rt_t.make_map(t, hint)
    if chunk is None:
        chunk = min(4096, max(64, n // 2000))
    s0 = _state(trail, rt_t, 0)
    events = [Event(0, "make", f"make(map[{t.key}]{t.elem}{', ' + format(hint, ',') if hint else ''})", s0)]
    samples = [s0]
    every = max(chunk, n // max(1, nsamples))
    next_sample = every
    pos = 0
    after = _key(lead)
    while pos < n:
        end = min(n, pos + chunk)
        before = after
        ins.insert(lead, pos, end, use_range)
        after = _key(lead)
        if _changed(before, after):
            prev = _key(trail)
            for i in range(pos, end):
                ins.insert(trail, i, i + 1, use_range)
                cur = _key(trail)
                if _changed(prev, cur) or (cur[1] and cur[0] != prev[0]):
                    s = _state(trail, rt_t, i + 1)
                    kind, text = _describe(prev, s)
                    events.append(Event(i + 1, kind, text, s))
                    samples.append(s)
                prev = cur
        else:
            ins.insert(trail, pos, end, use_range)
        pos = end
        if pos >= next_sample and pos < n:
            samples.append(_state(trail, rt_t, pos))
            next_sample = pos + every
        if bar is not None:
            bar.update(pos)
    final_l, final_t = _state(lead, rt_l, n), _state(trail, rt_t, n)
    if final_l != final_t:   # pragma: no cover - the two runs must agree
        raise RuntimeError(f"internal error: leader and trailer maps differ: {final_l} != {final_t}")
    events.append(Event(n, "end", f"after {n:,} insert{'s' if n != 1 else ''}", final_t))
    samples.append(final_t)
    return events, samples


# ---- the Swiss map ----------------------------------------------------------------------

class Snapshot:
    """The structure of a Swiss map: the header, and per table (in the order
    of m.tables()) index, localDepth, capacity, used and growthLeft as arrays
    (no groups: m.tables() decodes every slot), and the directory."""

    __slots__ = ("used", "has_storage", "small", "dir_len", "global_depth", "global_shift", "seed",
                 "idx", "ld", "cap", "tused", "gl", "directory")

    def __init__(self, h: Any, rows: np.ndarray, directory: np.ndarray) -> None:
        self.used, self.has_storage, self.small = int(h.used), bool(h.has_storage), bool(h.small)
        self.dir_len, self.global_depth, self.global_shift = int(h.dir_len), int(h.global_depth), int(h.global_shift)
        self.seed = int(h.seed)
        self.idx, self.ld, self.cap, self.tused, self.gl = (rows[:, k].copy() for k in range(5))
        self.directory = directory

    @property
    def ntables(self) -> int:
        return len(self.cap)

    @property
    def capacity(self) -> int:
        return int(self.cap.sum()) if self.ntables else (8 if self.small else 0)

    @property
    def growth_left(self) -> int:
        return int(self.gl.sum()) if self.ntables else (8 - self.used if self.small else 0)

    def same(self, other: "Snapshot") -> bool:
        return ((self.used, self.has_storage, self.small, self.dir_len, self.global_depth, self.seed) ==
                (other.used, other.has_storage, other.small, other.dir_len, other.global_depth, other.seed) and
                all(np.array_equal(getattr(self, f), getattr(other, f)) for f in ("idx", "ld", "cap", "tused", "gl")))


_EMPTY_ROWS = np.zeros((0, 5), dtype=np.int64)


def _header(m: GoMap) -> Any:
    h = ffi.new("pm_swiss_header *")
    if lib.pm_swiss_header_read(m._ptr, h):
        raise RuntimeError(ffi.string(lib.pm_last_error()).decode())
    return h


def _table_rows(m: GoMap, which: Any) -> np.ndarray:
    info = ffi.new("pm_swiss_table *")
    rows = []
    for k in which:
        if lib.pm_swiss_table_read(m._ptr, k, info):
            raise RuntimeError(ffi.string(lib.pm_last_error()).decode())
        rows.append((info.index, info.local_depth, info.capacity, info.used, info.growth_left))
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def snapshot(m: GoMap) -> Snapshot:
    """Read the whole structure, under the map's read lock."""
    def read() -> Snapshot:
        h = _header(m)
        return Snapshot(h, _table_rows(m, range(h.ntables)), np.asarray(m.directory(), dtype=np.int64))
    return m._read_locked(read)


def tombstones(m: GoMap) -> int:
    """Deleted slots (0xFE control bytes) in all of a Swiss map's tables."""
    def read() -> int:
        info = ffi.new("pm_swiss_table *")
        total = 0
        for k in range(_header(m).ntables):
            if lib.pm_swiss_table_read(m._ptr, k, info):
                raise RuntimeError(ffi.string(lib.pm_last_error()).decode())
            total += info.tombstones
        return total
    return m._read_locked(read)


def _after_event(m: GoMap, before: Snapshot, p: int) -> Snapshot:
    """The structure after an insert that rehashed table p: only table p (or
    the two that replace it) is read again; the directory is read again."""
    def read() -> Snapshot:
        h = _header(m)
        rows = np.stack([before.idx, before.ld, before.cap, before.tused, before.gl], axis=1)
        if h.ntables == before.ntables:
            rows[p] = _table_rows(m, [p])[0]
        elif h.ntables == before.ntables + 1:
            ratio = h.dir_len // before.dir_len
            rows[:, 0] *= ratio
            rows = np.concatenate([rows[:p], _table_rows(m, [p, p + 1]), rows[p + 1:]])
        else:   # pragma: no cover
            raise RuntimeError(f"internal error: one insert took the map from {before.ntables} to "
                               f"{h.ntables} tables")
        return Snapshot(h, rows, np.asarray(m.directory(), dtype=np.int64))
    return m._read_locked(read)


def _after_bulk(before: Snapshot, counts: Optional[np.ndarray], k: int) -> Snapshot:
    """The structure predicted after k inserts that rehash nothing."""
    s = Snapshot.__new__(Snapshot)
    for f in Snapshot.__slots__:
        setattr(s, f, getattr(before, f))
    s.used = before.used + k
    if counts is not None:
        s.tused, s.gl = before.tused + counts, before.gl - counts
    return s


@dataclass
class SwissState:
    inserts: int
    len: int
    small: bool
    dir_len: int
    global_depth: int
    tables: int
    capacity: int        #: slots in all tables (8 for the small group)
    growth_left: int     #: summed over the tables
    bytes: int
    allocated: int
    heap_alloc: int
    num_gc: int


def _sstate(m: GoMap, rt: Runtime, inserts: int, snap: Snapshot) -> SwissState:
    mem = m.memory()
    ms = rt.memstats()
    return SwissState(inserts, snap.used, snap.small, snap.dir_len, snap.global_depth, snap.ntables,
                      snap.capacity, snap.growth_left, mem.total, mem.allocated, ms.heap_alloc, ms.num_gc)


class _Hasher:
    """hash(key(i)) with the map's seed, by the model's hasher (pm_hash_key);
    keys are asked for in increasing order, so a window of them is kept."""

    CHUNK = 65536

    def __init__(self, rt: Runtime, t: MapType, ins: Inserter, n: int) -> None:
        self.rt, self.t, self.ins, self.n = rt, t, ins, n
        self._out = ffi.new("uint64_t *")
        self._fixed = ins.kcode in _INTS
        self._lo = self._hi = 0
        self._seed: Optional[int] = None
        self._cache = np.empty(0, dtype=np.uint64)

    def hashes(self, a: int, b: int, seed: int) -> np.ndarray:
        if seed != self._seed or not (self._lo <= a and b <= self._hi):
            hi = min(self.n, max(b, a + self.CHUNK))
            self._cache, self._lo, self._hi, self._seed = self._compute(a, hi, seed), a, hi, seed
        return self._cache[a - self._lo: b - self._lo]

    def _compute(self, a: int, b: int, seed: int) -> np.ndarray:
        out = np.empty(b - a, dtype=np.uint64)
        o, f, rtp, tp = self._out, lib.pm_hash_key, self.rt._ptr, self.t._ptr
        keys = self.ins.keys(a, b)
        if self._fixed:
            arr = np.ascontiguousarray(keys)
            size = arr.dtype.itemsize
            p = ffi.cast("uint8_t *", ffi.from_buffer(arr))
            for j in range(b - a):
                if f(rtp, tp, p + j * size, size, seed, o):
                    raise RuntimeError(ffi.string(lib.pm_last_error()).decode())
                out[j] = o[0]
            return out
        if isinstance(keys, np.ndarray):
            keys = [bytes(r) for r in keys] if keys.ndim == 2 else keys.tolist()
        enc = self.t._k.encode
        for j, k in enumerate(keys):
            img = enc(k)
            if f(rtp, tp, img, len(img), seed, o):
                raise RuntimeError(ffi.string(lib.pm_last_error()).decode())
            out[j] = o[0]
        return out


def _tables_of(snap: Snapshot, hasher: _Hasher, a: int, b: int) -> np.ndarray:
    """The table (its position in m.tables()) each of keys a..b-1 goes to:
    the top globalDepth bits of its hash index the directory (spec §1.5)."""
    h = hasher.hashes(a, b, snap.seed)
    if snap.dir_len > 1:
        return snap.directory[(h >> np.uint64(snap.global_shift)).astype(np.int64)]
    return np.zeros(b - a, dtype=np.int64)


def _next_rehash(snap: Snapshot, tab: np.ndarray) -> Optional[int]:
    """The first of these keys (all new, tab[j] its table) whose table has no
    growthLeft left when it arrives, or None."""
    T = snap.ntables
    order = np.argsort(tab, kind="stable")
    sorted_t = tab[order]
    starts = np.searchsorted(sorted_t, np.arange(T), "left")
    ends = np.searchsorted(sorted_t, np.arange(T), "right")
    over = starts + snap.gl < ends                 # tables that receive more than growthLeft keys
    if not over.any():
        return None
    return int(order[(starts + snap.gl)[over]].min())


def _swiss_events(before: Snapshot, after: Snapshot, p: int) -> list[tuple[str, str]]:
    """What one insert changed in the structure (table p rehashed): (kind, text) pairs."""
    if not before.has_storage and after.small:
        return [("small group", "small group allocated (8 slots), by the first insert")]
    if before.small and after.dir_len:
        return [("small -> table", f"small -> table: {int(after.cap[0])} slots ({before.used} entries move)")]
    out: list[tuple[str, str]] = []
    x = (int(before.idx[p]), int(before.ld[p]), int(before.cap[p])) if p < before.ntables else None
    if x is None:
        return out
    if after.ntables == before.ntables and after.cap[p] == 2 * x[2]:
        out.append(("doubling", f"table doubling: table {p} (dir {x[0]}) {x[2]:,} -> {int(after.cap[p]):,} slots"))
    elif after.ntables == before.ntables + 1 and after.ld[p] == after.ld[p + 1] == x[1] + 1:
        out.append(("split", f"split: table {p} (dir {x[0]}, localDepth {x[1]}) "
                             f"-> 2 x {int(after.cap[p]):,} slots, localDepth {int(after.ld[p])}"))
    if out and after.dir_len > before.dir_len:
        out.append(("directory", f"directory doubling: dirLen {before.dir_len:,} -> {after.dir_len:,}"))
    return out


WINDOW = 4096   #: keys looked at (and inserted in one C call) at a time
CHECKS = 25     #: full reads of the structure to compare with the prediction


@dataclass
class SwissEvent:
    insert: int
    kind: str      # make | small group | small -> table | doubling | split | directory | end
    text: str
    state: SwissState


def swiss_timeline(t: MapType, go: str, n: int, hint: int = 0, seed: int = 1, bar: Any = None,
                   nsamples: int = 250) -> tuple[list[SwissEvent], list[SwissState]]:
    """Events (exact inserts) and about `nsamples` evenly spaced samples (plus
    one per event) of inserting key(0..n-1) into make(map[K]V, hint) on a
    Swiss version (see the module docstring for how the inserts are found)."""
    ins = Inserter(t)
    ins.check(n)
    use_range = ins.use_range(n)
    rt = Runtime(go=go, seed=seed)
    m = rt.make_map(t, hint)
    hasher = _Hasher(rt, t, ins, n)
    snap = snapshot(m)
    s0 = _sstate(m, rt, 0, snap)
    events = [SwissEvent(0, "make", f"make(map[{t.key}]{t.elem}{', ' + format(hint, ',') if hint else ''})", s0)]
    samples = [s0]
    every = max(64, n // max(1, nsamples))
    next_sample = every
    check_every = max(1, nsamples // CHECKS)
    nsampled = 0
    pos = 0

    def check(where: str) -> None:
        real = snapshot(m)
        if not real.same(snap):   # pragma: no cover - the placement rules above and the model disagree
            raise RuntimeError(f"internal error: map[{t.key}]{t.elem} (Go {go}) after {where}: the tables "
                               f"differ from the prediction by the keys' hashes")

    while pos < n:
        # the next insert that can change the structure, and which table each key before it goes to
        tab = None
        p = 0
        if not snap.has_storage:
            nxt: Optional[int] = pos
        elif snap.small:
            nxt = pos + (8 - snap.used)
        else:
            # by pigeonhole, one of the next sum(growthLeft) + 1 keys finds its table full
            end = min(n, pos + snap.growth_left + 1, pos + WINDOW)
            tab = _tables_of(snap, hasher, pos, end)
            first = _next_rehash(snap, tab)
            nxt = None if first is None else pos + first
            if first is not None:
                p = int(tab[first])
        stop = min(n, next_sample, nxt if nxt is not None else n, pos + WINDOW)
        if stop > pos:
            ins.insert(m, pos, stop, use_range)
            counts = None if tab is None else np.bincount(tab[: stop - pos], minlength=snap.ntables)
            snap = _after_bulk(snap, counts, stop - pos)
            h = _header(m)
            if (h.used, h.ntables, h.dir_len) != (snap.used, snap.ntables, snap.dir_len):  # pragma: no cover
                raise RuntimeError(f"internal error: inserts {pos + 1:,}..{stop:,} of map[{t.key}]{t.elem} "
                                   f"(Go {go}) changed the map's structure where no table could rehash")
            pos = stop
        if pos < n and nxt is not None and pos == nxt:
            ins.insert(m, pos, pos + 1, use_range)
            after = snapshot(m) if not snap.ntables else _after_event(m, snap, p)
            found = _swiss_events(snap, after, p)
            if not found:   # pragma: no cover
                raise RuntimeError(f"internal error: insert {pos + 1:,} of map[{t.key}]{t.elem} (Go {go}) "
                                   f"found no growthLeft in table {p} but did not rehash it")
            pos += 1
            snap = after
            st = _sstate(m, rt, pos, snap)
            for kind, text in found:
                events.append(SwissEvent(pos, kind, text, st))
            samples.append(st)
        if pos >= next_sample and pos < n:
            nsampled += 1
            if nsampled % check_every == 0:
                check(f"{pos:,} inserts")
            samples.append(_sstate(m, rt, pos, snap))
            next_sample = pos + every
        if bar is not None:
            bar.update(pos)
    check(f"all {n:,} inserts")
    final = _sstate(m, rt, n, snap)
    events.append(SwissEvent(n, "end", f"after {n:,} insert{'s' if n != 1 else ''}", final))
    samples.append(final)
    return events, samples


def swiss_grow_table(events: list[SwissEvent], every: bool = False) -> Table:
    """One row per event; with many, the splits that do not double the directory
    are counted in one row per run (every=True: one row each)."""
    t = Table(["insert", "<event", "len", "dirLen", "tables", "capacity", "map bytes", "allocated"])
    rows: list[Any] = []
    many = len(events) > 60 and not every
    run: list[SwissEvent] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            rows.append(run[0])
        else:
            rows.append(SwissEvent(run[-1].insert, "splits",
                                   f"{len(run):,} splits, inserts {run[0].insert:,} to {run[-1].insert:,}", run[-1].state))
        run.clear()

    for i, e in enumerate(events):
        nxt = events[i + 1] if i + 1 < len(events) else None
        lone_split = e.kind == "split" and not (nxt is not None and nxt.kind == "directory" and nxt.insert == e.insert)
        if many and lone_split:
            run.append(e)
            continue
        flush()
        rows.append(e)
    flush()
    for e in rows:
        s = e.state
        t.add(e.insert, e.text, s.len, s.dir_len, s.tables, s.capacity, s.bytes, s.allocated)
    return t


def evac(s: State) -> str:
    return f"{s.nevacuate:,}/{s.old_buckets:,}" if s.growing else "-"


def grow_table(events: list[Event]) -> Table:
    t = Table(["insert", "<event", "len", "B", "overflow", "evacuated", "map bytes", "allocated"])
    for e in events:
        s = e.state
        t.add(e.insert, e.text, s.len, s.B, s.noverflow, evac(s), s.bytes, s.allocated)
    return t


def _plural(k: int, word: str) -> str:
    return f"{k:,} {word}{'' if k == 1 else 's'}"


def _inserts(evs: list[Any], limit: int = 12) -> str:
    pts = [format(e.insert, ",") for e in evs]
    if len(pts) > limit:
        pts = pts[: limit - 2] + ["...", pts[-1]]
    return ", ".join(pts)


def swiss_summary(events: list[SwissEvent]) -> str:
    kinds = {k: [e for e in events if e.kind == k] for k in ("small group", "small -> table", "doubling",
                                                             "split", "directory")}
    last = events[-1].state
    parts = []
    if kinds["small -> table"]:
        parts.append(f"small -> table at insert {kinds['small -> table'][0].insert:,}")
    d, sp, dd = kinds["doubling"], kinds["split"], kinds["directory"]
    parts.append(_plural(len(d), "table doubling") + (f" (inserts {_inserts(d)})" if d else ""))
    parts.append(_plural(len(sp), "split") + (f" (the first at insert {sp[0].insert:,})" if sp else ""))
    parts.append(_plural(len(dd), "directory doubling") + (f" (inserts {_inserts(dd)})" if dd else ""))
    shape = (f"{_plural(last.tables, 'table')} with {last.capacity:,} slots in all, directory of {last.dir_len:,}"
             if last.tables else "its small group" if last.small else "no storage")
    return (f"{'; '.join(parts)}. The map ends with {shape}; it holds {fmt_bytes(last.bytes)} and allocated "
            f"{fmt_bytes(last.allocated)} in all ({fmt_bytes(last.allocated - last.bytes)} became garbage: "
            f"the replaced small group, tables, group arrays and directories).")


def command(args: Any, out: Output) -> int:
    from ._common import parse_count
    t = map_type(args.key, args.elem)
    n = parse_count(args.n, "--n", 0)
    hint = parse_count(args.hint, "--hint", 0) if args.hint is not None else 0
    go = args.go or DEFAULT_GO
    seed = 1 if args.seed is None else args.seed
    swiss = is_swiss(go)
    if getattr(args, "all", False) and not swiss:
        raise CLIError("--all belongs to Swiss versions (it lists every table split)")
    with progress(max(n, 1), f"inserting {n:,} keys", enabled=n >= 200_000) as bar:
        if swiss:
            events, samples = swiss_timeline(t, go, n, hint, seed, bar=bar)
        else:
            events, samples = timeline(t, go, n, hint, seed, bar=bar)
    ins = Inserter(t)
    if args.plot:
        from .plot import plot_grow
        plot_grow(args.plot, t, go, n, hint, events, samples)
    if args.json:
        doc = {"schema": "pymap.grow", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
               "go": go, "impl": "swiss" if swiss else "classic", "key": t.key, "elem": t.elem, "n": n,
               "hint": hint, "seed": seed, "inserts": ins.describe(n),
               "events": [dict(insert=e.insert, kind=e.kind, text=e.text, state=asdict(e.state)) for e in events],
               "samples": [asdict(s) for s in samples]}
        json.dump(doc, out.stream, indent=1)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap grow map[{t.key}]{t.elem} --n {n:,}{f' --hint {hint:,}' if hint else ''}: "
                f"Go {go} ({impl_label(go)}, modelled by pymap {__version__})")
    keys = f"for i = 0, 1, ..., {n - 1:,}" if n > 1 else ("for i = 0" if n == 1 else "(none)")
    if swiss:
        out.print(f"group = {t.group_size} B (8 slots of {t.slot_size} B); inserts {ins.describe(n)} {keys}")
        out.print("")
        out.table(swiss_grow_table(events, getattr(args, "all", False)))
        out.print("")
        out.para(swiss_summary(events))
    else:
        out.print(f"bucket = {t.bucket_size} B; inserts {ins.describe(n)} {keys}")
        out.print("")
        out.table(grow_table(events))
        grows = [e for e in events if e.kind == "grow"]
        same = [e for e in events if e.kind == "same-size grow"]
        last = events[-1].state
        out.print("")
        out.para(f"{len(grows)} doubling grow{'s' if len(grows) != 1 else ''}"
                 f"{' at inserts ' + ', '.join(format(e.insert, ',') for e in grows) if grows else ''}; "
                 f"{len(same)} same-size grow{'s' if len(same) != 1 else ''}. "
                 f"The map holds {fmt_bytes(last.bytes)} and allocated {fmt_bytes(last.allocated)} in all "
                 f"({fmt_bytes(last.allocated - last.bytes)} became garbage: old bucket arrays).")
    if args.plot:
        out.print(f"plot written to {args.plot}")
    return 0
