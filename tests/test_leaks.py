"""Leaks: resident memory stays flat across many map lifetimes.

Each test warms up first (malloc arenas, the model's free list, Python's
allocator), then measures the process's resident set around the real run;
growth must stay under 5 MB.  Linux only (/proc/self/statm).  Each test
runs on a classic version and on the default Swiss version (the whole-runtime
test cycles through every version).
"""
from __future__ import annotations

import gc
import os
import sys

import numpy as np
import pytest

import pymap

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm"),
    # ASan keeps freed memory in quarantine: resident memory grows by design there
    # (its own leak and use-after-free checks cover the same ground).
    pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""), reason="under AddressSanitizer"),
]

LIMIT = 5 << 20
PAIR = ("1.23", pymap.DEFAULT_GO)   # one classic, one Swiss version


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cycles(n: int, key: str, elem: str, go: str) -> pymap.Scenario:
    return pymap.Scenario([{"op": "repeat", "count": n, "body": [
        {"op": "make", "key": key, "elem": elem},
        {"op": "insert_range", "stop": 20},   # Swiss: a small map, then a 32-slot table
        {"op": "iterate"},
        {"op": "drop"},
    ]}], runtime=pymap.Runtime(go=go, seed=2))


@pytest.mark.parametrize("key,elem", [("int64", "int64"), ("string", "string"), ("int64", "[200]byte")])
@pytest.mark.parametrize("go", PAIR)
def test_million_make_fill_drop_cycles_in_c(go, key, elem):
    cycles(20_000, key, elem, go).run()
    before = rss()
    cycles(1_000_000, key, elem, go).run()
    assert rss() - before < LIMIT


@pytest.mark.parametrize("go", PAIR)
def test_maps_and_bulk_calls_from_python(go):
    rt = pymap.Runtime(go=go, seed=3)

    def work(n: int) -> None:
        for i in range(n):
            m = rt.make_map(pymap.MapType("string", "string"))
            m.insert_many([f"k{j}" for j in range(40)], [f"v{j}" * 3 for j in range(40)])
            m.lookup_many(np.array([b"k1", b"k2", b"zz"]))
            m.delete_many([f"k{j}" for j in range(0, 40, 3)])
            if i % 3 == 0:
                m.clear()

    work(500)
    before = rss()
    work(10_000)
    assert rss() - before < LIMIT


@pytest.mark.parametrize("go", PAIR)
def test_abandoned_iterators(go):
    m = pymap.GoMap(pymap.MapType("string", "[130]byte"), runtime=pymap.Runtime(go=go, seed=1))
    for i in range(300):
        m[f"key{i}"] = bytes([i % 256]) * 130

    def abandon(n: int) -> None:
        for i in range(n):
            it = m.items()
            for _ in range(i % 7):
                next(it)
            if i % 5 == 0:   # a write mid-iteration: grows keep old arrays (tables) alive for the iterator
                m[f"extra{i % 50}"] = bytes(130)
            del it

    abandon(1000)
    before = rss()
    abandon(10_000)
    assert rss() - before < LIMIT


# ---- the Go heap: pointees, GC cycles, pools, drops, whole runtimes ------------

def heap_cycles(n: int, elem: str, go: str) -> pymap.Scenario:
    """make/fill/iterate/drop with a GC cycle after every 100, through a pool every time."""
    return pymap.Scenario([{"op": "repeat", "count": n // 100, "body": [
        {"op": "repeat", "count": 100, "body": [
            {"op": "pool_get", "key": "int64", "elem": elem},
            {"op": "insert_range", "stop": 20},
            {"op": "iterate"},
            {"op": "pool_put"},
            {"op": "make", "map": 1, "key": "string", "elem": elem},
            {"op": "insert_range", "map": 1, "stop": 10},
            {"op": "drop", "map": 1},
        ]},
        {"op": "gc"},
        {"op": "advance", "seconds": 1},
    ]}], runtime=pymap.Runtime(go=go, seed=4))


@pytest.mark.parametrize("elem", ["*[8]byte", "*[64]byte", "*[3000]byte"])
@pytest.mark.parametrize("go", PAIR)
def test_pointee_maps_through_pools_and_gc_cycles_in_c(go, elem):
    sc = heap_cycles(20_000, elem, go)
    sc.run()
    before = rss()
    sc.run()
    sc.run()
    sc.run()
    assert rss() - before < LIMIT
    rt = sc.runtime
    rt.gc()
    rt.gc()
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc
    rt.heap_check()


@pytest.mark.parametrize("go", ("1.22", pymap.DEFAULT_GO))
def test_pools_drops_and_gc_from_python(go):
    rt = pymap.Runtime(go=go, seed=8, gomaxprocs=2)
    pool = rt.new_pool(new=lambda: rt.make_map(pymap.MapType("string", "*[24]byte")))

    def work(n: int) -> None:
        held = []
        for i in range(n):
            m = pool.get(pid=i % 2)
            m.insert_range(i % 40)
            m[f"x{i % 7}"] = b"abc"
            if i % 3:
                pool.put(m, pid=(i >> 1) % 2)
            if i % 5 == 0:
                held.append(iter(m.items()))   # an iterator keeps the dropped map alive
                next(held[-1], None)
            m.drop()
            if i % 50 == 0:
                held.clear()
                rt.gc()
                rt.memstats()
                rt.gctrace
        held.clear()

    work(1000)
    before = rss()
    work(20_000)
    assert rss() - before < LIMIT
    rt.gc()
    rt.gc()
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc


def test_whole_runtimes_with_pools_holding_maps():
    """A Runtime's heap (spans, tiny blocks, gctrace text) and its pools go with it,
    even when the pool still holds maps and no GC ever swept them."""
    def work(n: int) -> None:
        for i in range(n):
            rt = pymap.Runtime(go=pymap.GO_VERSIONS[i % len(pymap.GO_VERSIONS)], seed=i, gomaxprocs=1 + i % 3)
            pool = rt.new_pool()
            m = rt.make_map(pymap.MapType("int64", "*[5]byte"))
            m.insert_range(60)
            pool.put(m, pid=i % rt.gomaxprocs)
            big = rt.make_map(pymap.MapType("string", "*[40000]byte"))
            big.insert_range(3)
            if i % 2:
                rt.gc()
                pool.put(big)
            del m, big
            if i % 3 == 0:
                del pool   # the pool before the runtime
            else:
                del rt     # the runtime object first: the pool keeps the C runtime alive

    work(300)
    before = rss()
    work(5000)
    assert rss() - before < LIMIT
