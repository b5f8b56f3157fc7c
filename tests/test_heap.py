"""The Go heap around the maps: accounting, GC cycles, the pacer, gctrace,
sync.Pool and m.drop(), checked against the model's own invariants and the
facts the real runtime established (tests/conformance/test_heap_facts.py and
test_gc_twins.py compare with real Go directly)."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap

I64 = pymap.MapType("int64", "int64")
GCTRACE = re.compile(
    r"^gc (\d+) @(\d+\.\d{3})s (\d+)%: [\d.]+\+[\d.]+\+[\d.]+ ms clock, "
    r"[\d.]+\+[\d.]+/[\d.]+/[\d.]+\+[\d.]+ ms cpu, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, "
    r"(\d+) MB stacks, (\d+) MB globals, (\d+) P( \(forced\))?$")


# The heap does not depend on the map implementation: its tests run on a
# classic and a Swiss version (those with numbers measured on one real
# toolchain keep to it).
PAIR = ("1.23", pymap.DEFAULT_GO)
CLASSIC_CLEAR = [v for v in pymap.GO_VERSIONS
                 if pymap.version_impl(v) == "classic" and pymap.version_facts(v).clear_builtin]


def rt_(go: str = "1.23", **kw) -> pymap.Runtime:
    return pymap.Runtime(go=go, seed=1, **kw)


# ---- the facts -------------------------------------------------------

@pytest.mark.parametrize("gogc,goal", [(50, 2 << 20), (100, 4 << 20), (200, 8 << 20)])
@pytest.mark.parametrize("go", pymap.GO_VERSIONS)
def test_next_gc_at_start(go, gogc, goal):
    assert rt_(go, gogc=gogc).memstats().next_gc == goal


@pytest.mark.parametrize("go", CLASSIC_CLEAR)
def test_fill_clear_gc_keeps_the_bucket_array(go):
    rt = rt_(go)
    base = rt.memstats().heap_alloc
    assert base == rt.baseline.heap_alloc
    m = rt.make_map(I64)
    m.insert_range(1_000_000)
    assert m.B == 18
    m.clear()
    before_gc = rt.memstats().heap_alloc
    rt.gc()
    hmap = 64 if pymap.version_facts(go).classic_hmap_size > 48 else 48   # 56 B with clearSeq: class 64
    assert rt.memstats().heap_alloc == base + hmap + 24 + 40_108_032   # 278,528 buckets x 144 B
    assert before_gc > rt.memstats().heap_alloc, "clear's garbage (overflow buckets) waits for the GC"
    m.drop()
    assert rt.memstats().heap_alloc > base, "a dropped map is garbage until a cycle sweeps it"
    rt.gc()
    ms = rt.memstats()
    assert ms.heap_alloc == base
    assert ms.heap_objects == rt.baseline.heap_objects
    assert ms.num_forced_gc == 2
    rt.heap_check()


@pytest.mark.parametrize("go", PAIR)
def test_pooled_map_survives_one_gc(go):
    rt = rt_(go)
    base = rt.memstats().heap_alloc
    pool = rt.new_pool(new=lambda: rt.make_map(I64))
    m = pool.get()
    m.insert_range(1024)
    size = m.memory().total
    pool.put(m)
    m.drop()
    rt.gc()
    assert rt.memstats().heap_alloc == base + size, "survives the first GC (in the victim cache)"
    assert pool.stats.held_victim == 1
    rt.gc()
    assert rt.memstats().heap_alloc == base, "collected by the second"
    assert pool.stats.dropped_by_gc == 1
    got = pool.get()
    assert len(got) == 0 and pool.stats.news == 2


@pytest.mark.parametrize("go", PAIR)
def test_pool_get_from_victim_and_other_p(go):
    rt = rt_(go, gomaxprocs=2)
    pool = rt.new_pool()
    m = rt.make_map(I64)
    m[1] = 2
    pool.put(m, pid=1)             # P 1's private slot: only P 1 gets it
    assert pool.get(pid=0) is None
    m2 = rt.make_map(I64)
    m2[1] = 2
    pool.put(m2, pid=1)            # private taken: P 1's shared list
    got = pool.get(pid=0)          # stolen from P 1's shared tail
    assert got is not None and got[1] == 2
    pool.put(got)
    rt.gc()
    again = pool.get()
    assert again is not None and again[1] == 2
    assert pool.stats.victim_hits == 1
    assert pool.get() is None      # no New


# ---- garbage waits for the sweep ----------------------------------------------

@pytest.mark.parametrize("go", PAIR)
def test_heap_alloc_counts_garbage_until_gc(go):
    rt = rt_(go)
    base = rt.memstats().heap_alloc
    m = rt.make_map(I64)
    m.insert_range(100)
    total = m.memory().total
    allocated = m.memory().allocated
    ms = rt.memstats()
    assert ms.total_alloc - rt.baseline.total_alloc == allocated
    assert ms.heap_alloc == base + allocated, "the grows' old arrays are garbage, still counted"
    rt.gc()
    assert rt.memstats().heap_alloc == base + total
    ms = rt.memstats()
    assert ms.heap_inuse >= ms.heap_alloc and ms.heap_inuse % 8192 == 0
    assert ms.heap_idle == ms.heap_sys - ms.heap_inuse
    assert ms.mallocs - ms.frees == ms.heap_objects


@pytest.mark.parametrize("go", PAIR)
def test_iterator_keeps_a_dropped_map_alive(go):
    rt = rt_(go)
    base = rt.memstats().heap_alloc
    m = rt.make_map(I64)
    m.insert_range(1000)
    it = iter(m.items())
    next(it)
    total = m.memory().total
    m.drop()
    rt.gc()
    assert rt.memstats().heap_alloc >= base + total
    del it
    rt.gc()
    assert rt.memstats().heap_alloc == base


@pytest.mark.parametrize("go", PAIR)
def test_pointees_die_with_their_slots(go):
    rt = rt_(go)
    base = rt.memstats().heap_alloc
    m = rt.make_map(pymap.MapType("string", "*[1024]byte"))
    m.insert_range(1000)
    assert m.memory().pointees == 1000 * 1024
    m.delete_many([f"key-{i}" for i in range(0, 1000, 2)])
    assert m.memory().pointees == 500 * 1024
    rt.gc()
    assert rt.memstats().heap_alloc == base + m.memory().total
    m["key-1"] = b"abc"            # overwrite: the old pointee is garbage
    assert m["key-1"][:4] == b"abc\0"
    m["key-3"] = None              # nil: no pointee
    assert m["key-3"] is None
    rt.gc()
    assert rt.memstats().heap_alloc == base + m.memory().total
    m.clear()
    rt.gc()
    assert m.memory().pointees == 0
    assert rt.memstats().heap_alloc == base + m.memory().total
    rt.heap_check()


@pytest.mark.parametrize("go", PAIR)
def test_tiny_pointees_share_blocks(go):
    rt = rt_(go)
    m = rt.make_map(pymap.MapType("int64", "*[8]byte"))
    ms0 = rt.memstats()
    for i in range(10):
        m[i] = bytes([i])
    ms1 = rt.memstats()
    assert ms1.mallocs - ms0.mallocs >= 10 + 5   # 10 tiny allocations + 5 blocks (+ the map)
    assert m[3] == bytes([3]) + bytes(7)
    m.drop()
    rt.gc()
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc
    rt.heap_check()


@pytest.mark.parametrize("go", PAIR)
def test_drop_semantics(go):
    rt = rt_(go)
    m = rt.make_map(I64)
    m[1] = 1
    m.drop()
    assert m.dropped
    m.drop()                       # m = nil twice is still nil
    with pytest.raises(pymap.MapDroppedError):
        m[1]
    with pytest.raises(pymap.MapDroppedError):
        m.insert_range(3)
    with pytest.raises(pymap.MapDroppedError):
        len(m)
    assert "dropped" in repr(m)


# ---- GC cycles, the pacer, gctrace ---------------------------------------------

def test_gctrace_format_and_forced_lines():
    rt = rt_(gomaxprocs=2)
    m = rt.make_map(I64)
    m.insert_range(1_000_000)
    rt.gc()
    lines = rt.gctrace
    assert len(lines) == rt.memstats().num_gc
    for i, line in enumerate(lines, 1):
        g = GCTRACE.match(line)
        assert g, line
        assert int(g.group(1)) == i and g.group(10) == "2"
    assert lines[-1].endswith("(forced)") and not lines[0].endswith("(forced)")
    # The real runtime's paced cycles for this fill (go1.23.9, heapfacts fill-clear-gc):
    heaps = [tuple(int(x) for x in GCTRACE.match(x).group(4, 5, 6, 7)) for x in lines[:5]]
    assert heaps == [(5, 5, 3, 5), (9, 9, 7, 9), (18, 18, 15, 18), (36, 36, 30, 36), (72, 72, 60, 72)]


@pytest.mark.parametrize("go", PAIR)
def test_periodic_gc_needs_a_first_gc_and_gogc(go):
    rt = rt_(go)
    rt.advance(600)
    assert rt.memstats().num_gc == 0, "sysmon forces a GC only after a first one"
    rt.gc()
    rt.advance(121)
    ms = rt.memstats()
    assert ms.num_gc == 2 and ms.num_forced_gc == 1
    assert rt.gctrace[-2] == "GC forced"
    assert not rt.gctrace[-1].endswith("(forced)")
    rt.advance(360)
    assert rt.memstats().num_gc == 5
    rt.gogc = None
    rt.advance(600)
    assert rt.memstats().num_gc == 5, "GOGC=off disables the periodic GC"


@pytest.mark.parametrize("go", PAIR)
def test_gogc_off_and_memory_limit(go):
    rt = rt_(go, gogc=None)
    m = rt.make_map(I64)
    m.insert_range(1_000_000)
    assert rt.memstats().num_gc == 0
    # The GOGC goal is 2^64-1; NextGC is the memory-limit goal at MaxInt64,
    # minus 3% headroom (as tests/conformance/test_heap_facts.py measured).
    max_int64 = (1 << 63) - 1
    assert max_int64 - max_int64 // 100 * 4 < rt.memstats().next_gc <= max_int64 - max_int64 // 100 * 3
    rt2 = rt_(go, gogc=None, memory_limit=64 << 20)
    m2 = rt2.make_map(I64)
    m2.insert_range(2_000_000)
    assert rt2.memstats().num_gc > 0, "the memory limit paces the GC with GOGC off"
    assert rt2.memory_limit == 64 << 20 and rt2.gogc is None
    rt2.heap_check()


@pytest.mark.parametrize("go", PAIR)
def test_free_os_memory_releases_idle_pages(go):
    rt = rt_(go)
    m = rt.make_map(I64)
    m.insert_range(100_000)
    m.drop()
    rt.free_os_memory()
    ms = rt.memstats()
    assert ms.heap_released == ms.heap_idle
    assert ms.num_forced_gc == 1


@pytest.mark.parametrize("go", PAIR)
def test_gctrace_echo(go, capfd):
    rt = rt_(go, gctrace=True)
    rt.gc()
    assert capfd.readouterr().err.startswith("gc 1 @")


# ---- properties -------------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["make", "fill", "delete", "clear", "drop", "gc", "put", "get",
                                          "iter", "advance"]),
                         st.integers(0, 3), st.integers(0, 3000)), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, go=st.sampled_from(pymap.GO_VERSIONS), elem=st.sampled_from(["int64", "*[64]byte", "string"]))
def test_heap_accounting_matches_the_maps(ops, go, elem):
    """Whatever happens, the heap's checker holds after every step, and once
    two GCs have emptied the pool, HeapAlloc is the baseline plus the bytes of
    the maps still held."""
    from pymap._native import ffi

    rt = rt_(go)
    t = pymap.MapType("int64", elem)
    pool = rt.new_pool()
    maps: dict[int, pymap.GoMap] = {}
    iters = []
    got = it = None
    for op, slot, n in ops:
        m = maps.get(slot)
        if op == "make":
            maps[slot] = rt.make_map(t, n % 100)
        elif m is None:
            continue
        elif op == "fill":
            m.insert_range(n)
        elif op == "delete":
            m.delete_many(list(range(0, n, 3)))
        elif op == "clear":
            m.clear()
        elif op == "drop":
            m.drop()
            del maps[slot]
        elif op == "gc":
            rt.gc()
        elif op == "put":
            pool.put(m)
        elif op == "get":
            got = pool.get()
            if got is not None:
                maps[slot] = got   # the slot's old handle goes away
        elif op == "iter":
            it = iter(m.items())
            next(it, None)
            iters.append(it)
        elif op == "advance":
            rt.advance(n / 10)
        rt.heap_check()
        ms = rt.memstats()
        assert ms.heap_objects == ms.mallocs - ms.frees
        assert ms.heap_inuse >= ms.heap_alloc
    iters.clear()
    m = got = it = None            # a Python reference is a root too
    rt.gc()
    rt.gc()                        # the second cycle empties the victim cache
    held = {int(ffi.cast("uintptr_t", m._ptr)): m for m in maps.values()}
    live = sum(m.memory().total for m in held.values())
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc + live
    assert rt.pacer().dead_bytes == 0
    rt.heap_check()


# ---- the scenario runner's heap ops ----------------------------------------------

HEAP_PROGRAM = [
    {"op": "make", "key": "int64", "elem": "int64"},
    {"op": "insert_range", "stop": 200_000},
    {"op": "clear"},
    {"op": "gc"},
    {"op": "pool_put", "pool": 1},
    {"op": "gc"},
    {"op": "pool_get", "pool": 1},                       # from the victim cache
    {"op": "pool_put", "pool": 1},
    {"op": "gc"}, {"op": "gc"},                          # now collected
    {"op": "pool_get", "pool": 1, "key": "int64", "elem": "int64", "hint": 100},   # New
    {"op": "set_gogc", "gogc": 50},
    {"op": "insert_range", "stop": 100_000},
    {"op": "set_memory_limit", "limit": 8 << 20},
    {"op": "advance", "seconds": 250},
    {"op": "set_gogc", "gogc": "off"},
    {"op": "drop"},
    {"op": "free_os_memory"},
]


def _python_twin(rt: pymap.Runtime) -> list[tuple]:
    """HEAP_PROGRAM through the Python API, one snapshot per op."""
    pool = [None, rt.new_pool()]
    out = []
    m = rt.make_map(I64)
    steps = [
        lambda: m.insert_range(200_000), m.clear, rt.gc, lambda: pool[1].put(m), rt.gc,
        lambda: pool[1].get(), None, rt.gc, rt.gc, None,
        lambda: setattr(rt, "gogc", 50), None, lambda: setattr(rt, "memory_limit", 8 << 20),
        lambda: rt.advance(250), lambda: setattr(rt, "gogc", None), None, rt.free_os_memory,
    ]
    out.append((rt.memstats(), tuple(rt.gctrace)))
    for i, f in enumerate(steps):
        seen = len(rt.gctrace)
        if i == 3:
            pool[1].put(m)
            m.drop()
        elif i == 5:
            m = pool[1].get()
        elif i == 6:
            pool[1].put(m)
            m.drop()
        elif i == 9:
            m = pool[1].get() or rt.make_map(I64, 100)
        elif i == 11:
            m.insert_range(100_000)
        elif i == 15:
            m.drop()
        else:
            f()
        out.append((rt.memstats(), tuple(rt.gctrace[seen:])))
    return out


@pytest.mark.parametrize("go", PAIR)
def test_scenario_heap_ops_match_the_python_api(go):
    res = pymap.Scenario(HEAP_PROGRAM, runtime=rt_(go)).run()
    twin = _python_twin(rt_(go))
    assert [(s.memstats, s.gctrace) for s in res.steps] == twin
    ops = [s.op for s in res.steps]
    assert ops[3] == "gc" and res.steps[3].gctrace[-1].endswith("(forced)")
    assert res.steps[6].result == 1 and res.steps[10].live
    assert any(line == "GC forced" for line in res.steps[14].gctrace)
    assert res.steps[-1].memstats.heap_released == res.steps[-1].memstats.heap_idle
    assert len(res.pools) == 2


@pytest.mark.parametrize("op,msg", [
    ({"op": "advance", "seconds": -1}, "finite and >= 0"),
    ({"op": "set_gogc", "gogc": -5}, "gogc must be >= 0"),
    ({"op": "set_memory_limit", "limit": "lots"}, "memory_limit must be an int"),
    ({"op": "pool_get", "pool": -1}, "pool must be >= 0"),
    ({"op": "gc", "map": 0}, "unknown field"),
])
def test_scenario_heap_op_errors(op, msg):
    with pytest.raises((TypeError, ValueError), match=msg):
        pymap.Scenario([op])


@pytest.mark.parametrize("go", PAIR)
def test_periodic_gc_after_allocation_time(go):
    """The 2-minute clock counts from the last cycle, whatever advanced it."""
    rt = rt_(go)
    rt.gc()
    rt.advance(119)
    assert rt.memstats().num_gc == 1
    rt.advance(2)
    assert rt.memstats().num_gc == 2
    with pytest.raises(ValueError, match="at most"):
        rt.advance(1e8)
    # 8,333 more cycles 2 minutes (plus the cycle's own sub-millisecond clock) apart
    rt.advance(1e6)
    assert rt.memstats().num_gc == 2 + 8_333


def test_periodic_gc_over_a_long_advance():
    """1e7 s on 1.23: 83,333 cycles; the cycles' own clock time (which grows
    with the version's baseline heap) leaves 1.23 just inside the last one."""
    rt = rt_("1.23")
    rt.gc()
    rt.advance(121)
    rt.advance(1e7)
    assert rt.memstats().num_gc == 2 + 83_333
