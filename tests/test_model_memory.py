"""The model's own memory: counted per Runtime, bounded by model_memory.

``rt.model_bytes`` counts what the C core holds for the runtime's objects
(bucket arrays, groups, tables, key/elem boxes, string data, pointees, with
their headers) and returns to 0 when every map is gone.  New work that would
pass ``rt.model_memory`` raises MemoryError: a scalar call changes nothing,
a bulk call keeps the entries before the one that failed (its message says
how many), and the map stays consistent and usable for reads and deletes.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap

GOS = ("1.23", pymap.DEFAULT_GO)
TYPES = [("int64", "int64"), ("string", "int64"), ("[200]byte", "[300]byte"), ("int64", "*[64]byte"),
         ("float64", "string")]
SLACK = 64 << 10    # one assign's own allocations may pass the budget (its string, box, overflow bucket)


def key(t: pymap.MapType, i: int):
    k = t.key
    if k == "string":
        return f"key-{i}"
    if k.startswith("["):
        return i.to_bytes(t.key_size, "little")
    if k == "float64":
        return float(i)
    return i


def elem(t: pymap.MapType, i: int):
    e = t.elem
    if e == "string":
        return f"elem-{i}"
    if e.startswith("*["):
        return b"p"
    if e.startswith("["):
        return bytes(t.elem_size)
    return i


def test_default_follows_the_machine():
    phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert pymap.Runtime().model_memory == phys // 2


@pytest.mark.parametrize("go", GOS)
@pytest.mark.parametrize("kt,et", TYPES)
def test_model_bytes_return_to_zero(go, kt, et):
    rt = pymap.Runtime(go=go, seed=1)
    t = pymap.MapType(kt, et)
    m = rt.make_map(t)
    for i in range(3000):
        m[key(t, i)] = elem(t, i)
    c = m.clone()
    for i in range(0, 3000, 3):
        m.delete(key(t, i))
    assert rt.model_bytes > 3000 * t.key_size
    m.drop(), c.drop()
    rt.gc()
    assert rt.model_bytes == 0


@pytest.mark.parametrize("go", GOS)
def test_bulk_keeps_the_first_k(go):
    rt = pymap.Runtime(go=go, seed=1, model_memory=3 << 20)
    m = rt.make_map(pymap.MapType("string", "int64"))
    with pytest.raises(MemoryError, match=r"model_memory .*the first (\d+) took effect") as ei:
        m.insert_many([f"k{i}" for i in range(200_000)], np.arange(200_000))
    k = int(ei.value.args[0].rsplit("the first ", 1)[1].split()[0])
    assert len(m) == k > 0
    m.check()
    assert sorted(m.keys())[:3] == sorted(f"k{i}" for i in range(k))[:3]
    # reads and deletes still work at the budget; an insert is refused
    assert m["k0"] == 0
    assert m.delete("k1") is True
    rt.model_memory = 1 << 30
    m["again"] = 1
    assert rt.model_bytes <= (3 << 20) + SLACK


@pytest.mark.parametrize("go", GOS)
@pytest.mark.parametrize("kt,et", TYPES)
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(budget=st.integers(0, 1 << 21), n=st.integers(1, 4000), hint=st.integers(0, 5000))
def test_budget_is_never_passed_by_more_than_one_assign(go, kt, et, budget, n, hint):
    rt = pymap.Runtime(go=go, seed=1, model_memory=budget)
    t = pymap.MapType(kt, et)
    try:
        m = rt.make_map(t, hint)
    except MemoryError as e:
        assert "model_memory" in str(e) and rt.model_bytes == 0
        return
    for i in range(n):
        before = (len(m), rt.model_bytes)
        try:
            m[key(t, i)] = elem(t, i)
        except MemoryError as e:
            assert "model_memory" in str(e)
            assert (len(m), rt.model_bytes) == before     # nothing changed
            break
        assert rt.model_bytes <= budget + SLACK
    m.check()
    m.drop()
    rt.gc()
    assert rt.model_bytes == 0


def test_bad_budgets():
    for bad, exc in ((-1, ValueError), (1.5, TypeError), (1 << 64, ValueError), (True, TypeError)):
        with pytest.raises(exc, match="model_memory"):
            pymap.Runtime(model_memory=bad)
        rt = pymap.Runtime()
        with pytest.raises(exc, match="model_memory"):
            rt.model_memory = bad
