"""Coverage-guided fuzzing of the C core through the Python API (atheris).

Each input is decoded into: a Go version (any of pymap.GO_VERSIONS: the
Swiss-table versions and the classic ones), a map type, a hint, and a
sequence of operations -- single assigns, lookups, deletes, clears, partial
iterations with writes in between, and the bulk calls (insert_many,
lookup_many, delete_many, insert_range) -- applied to a GoMap and to a
plain-Python reference model (pymap.testing.MapModel).  After every
operation the consistency checker runs and the lookups, deletes, lengths
and full iterations must agree with the model.

The Go heap around the map is fuzzed too: GC cycles, the virtual clock,
GOGC and memory-limit changes, FreeOSMemory, m.drop() (the map replaced by
a fresh one), sync.Pool put/get (the pool's maps keep their models), held
iterators, and `*[N]byte` elem types whose pointees are allocated per
insert (tiny, small and large ones).  After every operation the heap's own
checker runs and MemStats must be self-consistent; whenever two GC cycles
run back to back with no iterator held (and at the end of every input),
HeapAlloc must be the runtime's baseline plus the bytes of the map.

Run for a while (hours, in a build with PYMAP_SANITIZE=1 for memory errors):

    pip install atheris
    python tests/fuzz/fuzz_map.py tests/fuzz/corpus -max_total_time=3600

`one_input(data)` is also called by tests/test_fuzz.py on the seed corpus
(tests/fuzz/corpus/) and on random inputs, without atheris.
"""
from __future__ import annotations

import random
import re
import sys
from collections import Counter
from typing import Any

import numpy as np

import pymap
from pymap._native import ffi
from pymap.testing import MISSING, MapModel, apply_op, canonical, nth_value, token

TYPES = [
    ("int64", "int64"), ("int8", "uint16"), ("uint32", "int64"), ("string", "string"),
    ("float64", "int64"), ("float32", "string"), ("complex64", "int8"), ("[3]byte", "[5]byte"),
    ("[130]byte", "[200]byte"), ("struct{}", "int64"), ("int64", "struct{}"), ("bool", "float64"),
    ("string", "[129]byte"), ("pointer", "int32"),
    # *[N]byte elems: every non-nil assignment allocates a new([N]byte)
    ("string", "*[64]byte"), ("int64", "*[8]byte"), ("int64", "*[3]byte"), ("string", "*[12]byte"),
    ("int64", "*[1024]byte"), ("string", "*[33000]byte"),
]
# Operation bytes below HEAP_OPS_FROM pick a map operation (byte % 12, as
# before the heap ops existed); the rest pick a heap operation.
HEAP_OPS_FROM = 216
GOGC = [None, 0, 10, 50, 100, 100, 200, 1000]
LIMITS = [None, None, 0, 1 << 20, 4 << 20, 64 << 20]
ADVANCE = [0.0, 0.001, 1.0, 30.0, 119.0, 121.0, 300.0, 1e4]


class Reader:
    """Bytes to decisions; past the end every read is 0 (inputs may be short)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        b = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return b

    def u16(self) -> int:
        return self.byte() | self.byte() << 8

    def more(self) -> bool:
        return self.pos < len(self.data)


_SIZES: dict = {}


def pointee_size(elem: str) -> int:
    """N for "*[N]byte", else 0 (cached: value() asks for every value)."""
    n = _SIZES.get(elem)
    if n is None:
        g = re.fullmatch(r"\*\[(\d+)\]byte", elem)
        n = _SIZES[elem] = int(g.group(1)) if g else 0
    return n


def tiny_per_block(n: int) -> int:
    """How many new([n]byte) fit in one 16-byte tiny block (Go's alignment rule)."""
    align = 8 if n % 8 == 0 else 4 if n % 4 == 0 else 2 if n % 2 == 0 else 1
    step = -(-n // align) * align
    return (16 - n) // step + 1


class PtrModel(MapModel):
    """MapModel for map[K]*[N]byte (K reflexive): an elem is nil or N bytes."""

    def __init__(self, key: str, n: int, go: str):
        super().__init__(key, "struct{}", go)
        self.n = n

    def assign(self, k, v) -> None:
        c = canonical(self.key, k)
        self.entries[c] = (c, None if v is None else bytes(v) + bytes(self.n - len(v)))

    def check_items(self, items: list) -> None:
        got = Counter((token(self.key, k), v) for k, v in items)
        want = Counter((token(self.key, k), v) for k, v in self.entries.values())
        assert got == want, (got - want, want - got)


def value(r: Reader, spelling: str) -> Any:
    """A value of a Go type: mostly small indices (collisions, growth), sometimes raw."""
    n = pointee_size(spelling)
    if n:   # nil, or the contents of a new([N]byte) (a prefix; the rest is zero)
        mode = r.byte()
        return None if mode & 7 == 0 else bytes([r.byte()]) * min(n, r.byte() * (mode >> 3))
    mode = r.byte()
    if mode & 3 == 3 and spelling in ("float64", "float32"):
        return [float("nan"), -0.0, 0.0, float("inf")][r.byte() & 3]
    return nth_value(spelling, r.u16() % 600 if mode & 1 else r.byte())


def bulk_keys(t: pymap.MapType, keys: list) -> Any:
    if t.key in ("int64", "uint32", "int8", "float64") and r_np(t.key):
        return np.array(keys, dtype=r_np(t.key))
    return keys


def r_np(spelling: str) -> Any:
    return {"int64": np.int64, "uint32": np.uint32, "int8": np.int8, "float64": np.float64}.get(spelling)


def addr(m: pymap.GoMap) -> int:
    return int(ffi.cast("uintptr_t", m._ptr))


# memory().pointees counts every pointee a slot of the map holds exactly
# once -- including evacuated old slots that still hold theirs (a
# preallocated overflow bucket of the old array, or any old bucket while an
# iterator is open), as Go's GC scanning the old array would -- so a growing
# pointee map's bytes are checked exactly.  (True would check them between
# bounds, as before walk_array deduplicated pointees.)
POINTEES_DOUBLE_COUNTED_WHILE_GROWING = False

_charges: dict = {}


def pointee_charge(go: str, elem: str) -> int:
    """The bytes a map is charged for one new([N]byte), measured on a probe map."""
    if (go, elem) not in _charges:
        probe = pymap.Runtime(go=go, seed=0).make_map(pymap.MapType("int64", elem))
        probe[0] = b""
        _charges[go, elem] = probe.memory().pointees
    return _charges[go, elem]


def check_heap(rt: pymap.Runtime, m: pymap.GoMap, model: MapModel, exact: bool, full: bool = True) -> None:
    """The heap's invariants; with `full`, also against the map's bytes; with
    `exact` (two GC cycles just ran, nothing but the map is reachable),
    HeapAlloc is the baseline plus the map's bytes."""
    rt.heap_check()
    ms = rt.memstats()
    base = rt.baseline.heap_alloc
    assert ms.heap_objects == ms.mallocs - ms.frees, ms
    assert ms.heap_inuse >= ms.heap_alloc >= base, ms
    assert ms.heap_idle == ms.heap_sys - ms.heap_inuse and ms.heap_released <= ms.heap_idle, ms
    assert ms.num_forced_gc <= ms.num_gc, ms
    if not (full or exact):
        return
    mem = m.memory()
    n = model.n if isinstance(model, PtrModel) else 0
    # A classic map mid-grow may hold a pointee in an old and a new slot; a
    # Swiss map rehashes at once (a stale table only lives on in an iterator,
    # and no exact check runs while one is held).
    growing = m.impl == "classic" and mem.oldbuckets > 0
    lo = hi = mem.total           # bounds on the bytes the GC finds from the map
    if n:
        charge = pointee_charge(rt.go, m.type.elem)
        live = sum(v is not None for _, v in model.entries.values())
        if growing:
            assert mem.pointees >= live * charge, (mem, live)
        else:
            assert mem.pointees == live * charge, (mem, live)
        rest = mem.total - mem.pointees
        # pointees held: at least the model's live ones; at most what memory() says
        held_lo = live if POINTEES_DOUBLE_COUNTED_WHILE_GROWING and growing else mem.pointees // charge
        held_hi = mem.pointees // charge
        if n < 16:   # tiny: the heap holds the 16-byte blocks they share
            lo = rest + 16 * -(-held_lo // tiny_per_block(n))
            hi = rest + 16 * held_hi
        else:
            lo, hi = rest + held_lo * charge, rest + held_hi * charge
    assert ms.heap_alloc - base >= lo, (ms.heap_alloc - base, lo, mem)
    dead = rt.pacer().dead_bytes
    assert dead <= ms.heap_alloc - base
    if exact:
        assert dead == 0
        assert lo <= ms.heap_alloc - base <= hi, (ms.heap_alloc - base, lo, hi, mem)


#: The versions an input's first byte picks from: every modelled one, Swiss
#: (1.24-1.27) and classic (1.19-1.23, the "-noswiss" builds).
VERSIONS = tuple(pymap.GO_VERSIONS)


def one_input(data: bytes) -> None:
    r = Reader(data)
    go = VERSIONS[r.byte() % len(VERSIONS)]
    key, elem = TYPES[r.byte() % len(TYPES)]
    seed = r.u16()
    # A small gctrace ring (8..263 lines) so that inputs wrap it.
    rt = pymap.Runtime(go=go, seed=seed, gomaxprocs=1 + seed % 3, gctrace_keep=8 + (seed >> 8))
    t = pymap.MapType(key, elem)
    n = pointee_size(elem)
    hints = [0, 0, 8, 9, 100, 1000, -1, 1 << 50]   # 8/9: a full small map (Swiss) or B = 0 -> 1
    m = rt.make_map(t, hint=hints[r.byte() & 7])

    def new_model() -> MapModel:
        return PtrModel(key, n, go) if n else MapModel(key, elem, go)

    model = new_model()
    models = {addr(m): model}       # hmap address -> the model of that map (pooled maps keep theirs)
    pool = rt.new_pool()
    held: list = []                 # iterators kept alive across operations
    gcs_in_row = 0
    steps = 0

    def do(op: tuple) -> None:
        if not n:
            apply_op(m, op, model)
        elif op[0] == "insert":
            m[op[1]] = op[2]
            model.assign(op[1], op[2])
        elif op[0] == "lookup":
            got = m.get(op[1], MISSING)
            found, want = model.lookup(op[1])
            assert (got == want) if found else got is MISSING, (op, got, want)
        elif op[0] == "delete":
            assert m.delete(op[1]) == model.delete(op[1]), op
        elif op[0] == "clear":
            m.clear()
            model.clear()
        else:
            model.check_items(list(m.items()))

    def replace(new: Any) -> None:
        """Make `new` the map under test: a map from the pool, or (None) a fresh one."""
        nonlocal m, model
        m.drop()
        if new is None:
            m = rt.make_map(t, hint=hints[r.byte() & 7])
            models[addr(m)] = new_model()   # (its address may be a dead map's)
        else:
            m = new
        model = models[addr(m)]

    while r.more() and steps < 400:
        steps += 1
        b = r.byte()
        gc_op = False
        if b < HEAP_OPS_FROM:
            op = b % 12
            if op <= 2:
                do(("insert", value(r, key), value(r, elem)))
            elif op == 3:
                do(("lookup", value(r, key)))
            elif op == 4:
                do(("delete", value(r, key)))
            elif op == 5:
                do(("clear",))
            elif op == 6:
                do(("iterate",))
            elif op == 7:   # partial iteration with writes in between (legal in Go)
                it = m.items()
                for _ in range(r.byte() & 15):
                    if next(it, None) is None:
                        break
                    if r.byte() & 1:
                        do(("insert", value(r, key), value(r, elem)))
                    else:
                        do(("delete", value(r, key)))
                it = None
            elif op == 8:   # fill a run of fresh keys: growth and evacuation
                base = r.u16()
                for i in range(r.byte()):
                    do(("insert", nth_value(key, base + i), bytes([i & 255]) if n else nth_value(elem, i)))
            elif op == 9:
                cnt = r.byte() & 63
                keys = [value(r, key) for _ in range(cnt)]
                if n:   # bulk stores nil pointers only
                    m.insert_many(bulk_keys(t, keys))
                    for k in keys:
                        model.assign(k, None)
                else:
                    elems = [value(r, elem) for _ in range(cnt)]
                    m.insert_many(bulk_keys(t, keys), elems if elem != "struct{}" else None)
                    for k, v in zip(keys, elems):
                        model.assign(k, v)
            elif op == 10:
                keys = [value(r, key) for _ in range(r.byte() & 63)]
                if n:   # no bulk lookups of pointees
                    for k in keys:
                        do(("lookup", k))
                else:
                    got, found = m.lookup_many(bulk_keys(t, keys))
                    for i, k in enumerate(keys):
                        assert bool(found[i]) == model.lookup(k)[0], (k, found[i])
                deleted = m.delete_many(bulk_keys(t, keys[: len(keys) // 2]))
                assert deleted == sum(model.delete(k) for k in keys[: len(keys) // 2])
            else:
                if (key in ("int64", "int8", "uint32") and elem in ("int64", "uint16")) or n:
                    start = r.byte() - 20
                    stop = start + (r.byte() if r.byte() & 1 else -r.byte())
                    step = [1, 2, -1, 3][r.byte() & 3]
                    try:
                        m.insert_range(start, stop, step)
                    except OverflowError:
                        continue   # a value does not fit: nothing changed
                    for i in range(start, stop, step):
                        if n:   # a fresh zeroed new([N]byte) per key
                            model.assign(f"key-{i}" if key == "string" else i, b"")
                        else:
                            model.assign(i, i)
        else:
            op = (b - HEAP_OPS_FROM) % 10
            if op == 0:
                rt.gc()
                gc_op = True
            elif op == 1:   # m = nil; m = make(...)
                old = m
                replace(None)
                try:
                    len(old)
                    raise AssertionError("a dropped map's handle still works")
                except pymap.MapDroppedError:
                    pass
                old = None
            elif op == 2:   # pool.Put(m), and perhaps m = nil; m = pool.Get() (or a new map)
                c = r.byte()
                pool.put(m, pid=c % rt.gomaxprocs)
                if c & 16:
                    got = pool.get(pid=(c >> 5) % rt.gomaxprocs)
                    replace(got)
                    got = None
            elif op == 3:   # m = pool.Get(), if the pool has one
                got = pool.get(pid=r.byte() % rt.gomaxprocs)
                if got is not None:
                    replace(got)
                got = None
            elif op == 4:
                rt.advance(ADVANCE[r.byte() & 7])
            elif op == 5:
                rt.gogc = GOGC[r.byte() & 7]
            elif op == 6:
                rt.memory_limit = LIMITS[r.byte() % len(LIMITS)]
            elif op == 7:
                rt.free_os_memory()
            elif op == 8:   # hold an iterator (it keeps its map alive), or let them all go
                c = r.byte()
                if c & 1 and len(held) < 4:
                    it = m.items()
                    for _ in range(c >> 4):
                        if next(it, None) is None:
                            break
                    held.append(it)
                    it = None
                else:
                    for it in held:   # finish them: the maps they range over may be dropped
                        for _ in it:
                            pass
                    held.clear()
                    it = None
            else:
                check_gctrace(rt)
        gcs_in_row = gcs_in_row + 1 if gc_op else 0
        m.check()
        assert len(m) == len(model), (len(m), len(model))
        check_heap(rt, m, model, exact=gcs_in_row >= 2 and not held, full=steps % 8 == 0)
    do(("iterate",))
    held.clear()
    rt.gc()
    rt.gc()
    check_heap(rt, m, model, exact=True)
    check_gctrace(rt)


def check_gctrace(rt: pymap.Runtime) -> None:
    """The ring holds the latest min(total, keep) lines; its gc lines are
    numbered consecutively up to NumGC, and every cycle was counted."""
    lines, total, keep, num_gc = rt.gctrace, rt.gctrace_total, rt.gctrace_keep, rt.memstats().num_gc
    assert len(lines) == min(total, keep), (len(lines), total, keep)
    numbered = [int(line.split()[1]) for line in lines if line.startswith("gc ")]
    assert numbered == list(range(num_gc - len(numbered) + 1, num_gc + 1)), numbered
    assert num_gc <= total <= 2 * num_gc


def random_inputs(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.randrange(4, 600))) for _ in range(n)]


if __name__ == "__main__":
    import atheris

    def fuzz_one(data: bytes) -> None:
        one_input(data)

    if hasattr(atheris, "instrument_all"):   # coverage of pymap's Python layer too
        atheris.instrument_all()
    atheris.Setup(sys.argv, fuzz_one)
    atheris.Fuzz()
