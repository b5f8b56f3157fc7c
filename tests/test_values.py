"""Values and spellings: what pymap accepts is what Go would hold.

* Bulk input of every fixed-size kind, generated as arbitrary bytes viewed
  with the kind's dtype: the map ends with exactly the keys Go would have
  (NaNs each distinct, -0.0 == +0.0, any non-zero bool byte is true and
  stored as 1), and the checker, which now also verifies that every key and
  elem image is a value of its kind, passes.
* What pymap hands out comes back: a string key decoded from invalid UTF-8
  finds its entry through every scalar call; numpy scalars and U arrays
  are accepted like their Python counterparts.
* Spellings Go programmers type: map[K]V as one argument, [N]uint8, array
  lengths as Go integer literals (the real compiler judges these in
  tests/conformance/test_type_spellings.py).
"""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap

GOS = ("1.23", pymap.DEFAULT_GO)
FIXED = ["bool", "int8", "uint16", "int32", "int64", "float32", "float64", "complex64", "complex128", "[3]byte"]


def go_key(kind: str, raw: bytes):
    """The Go value a key image denotes, as a Python object for counting distinct keys."""
    if kind == "bool":
        return raw != b"\x00"
    if kind.startswith("float") or kind.startswith("complex"):
        fmt = {"float32": "<f", "float64": "<d", "complex64": "<ff", "complex128": "<dd"}[kind]
        parts = struct.unpack(fmt, raw)
        if any(math.isnan(p) for p in parts):
            return object()                # NaN: never equal to anything
        return tuple(p + 0.0 for p in parts)   # -0.0 == +0.0
    return raw


@pytest.mark.parametrize("go", GOS)
@pytest.mark.parametrize("kind", FIXED)
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_bytes_of_any_pattern(go, kind, data):
    t = pymap.MapType(kind, "bool")
    size = t.key_size
    n = data.draw(st.integers(0, 60))
    raw = data.draw(st.binary(min_size=n * size, max_size=n * size))
    if kind == "bool":   # weight toward the bytes the defect was about
        raw = bytes(data.draw(st.sampled_from([0, 1, 2, 3, 255])) for _ in range(n))
    dt = np.dtype("S3") if kind == "[3]byte" else pymap._bulk.dtype_of(t._k)
    keys = np.frombuffer(raw, dtype=np.uint8).view(dt) if n else np.empty(0, dt)
    elems = np.frombuffer(bytes(data.draw(st.sampled_from([0, 1, 7])) for _ in range(n)),
                          dtype=np.uint8).view(np.bool_) if n else np.empty(0, np.bool_)
    m = pymap.Runtime(go=go, seed=1).make_map(t)
    m.insert_many(keys, elems)
    m.check()
    distinct = {}
    for i in range(n):
        distinct[go_key(kind, raw[i * size:(i + 1) * size])] = None
    assert len(m) == len(distinct)
    for _, e in m.items():
        assert e in (True, False)
    if kind == "bool":
        assert sorted(k for k in m.keys()) == sorted(distinct)


@pytest.mark.parametrize("go", GOS)
def test_invalid_utf8_keys_round_trip(go):
    m = pymap.Runtime(go=go, seed=1).make_map(pymap.MapType("string", "int64"))
    m[b"\xff"] = 1
    m[b"ok\x80\x81"] = 2
    handed = list(m.keys())
    assert sorted(handed) == sorted(["\udcff", "ok\udc80\udc81"])
    for k in handed:
        assert m[k] in (1, 2) and m.get(k) in (1, 2)
    found, _ = m.lookup_many(handed)
    assert found.all()
    for k in handed:
        assert m.delete(k) is True
    assert len(m) == 0


@pytest.mark.parametrize("go", GOS)
def test_numpy_scalars_and_unicode_arrays(go):
    rt = pymap.Runtime(go=go, seed=1)
    ms = rt.make_map(pymap.MapType("string", "int64"))
    ms.insert_many(np.array(["a", "bb", "ccc"]), np.arange(3))
    ms[np.str_("dd")] = 3
    assert sorted(ms.keys()) == ["a", "bb", "ccc", "dd"] and ms["bb"] == 1
    mb = rt.make_map(pymap.MapType("bool", "int64"))
    mb[np.bool_(True)] = 1
    mb[np.bool_(False)] = 2
    assert mb[True] == 1 and mb[False] == 2 and len(mb) == 2
    mb.check(), ms.check()


def test_go_spellings():
    assert pymap.MapType("map[string]int64") is pymap.MapType("string", "int64")
    assert pymap.MapType("map[[4]byte]map_elem".replace("map_elem", "int64")) is pymap.MapType("[4]byte", "int64")
    assert pymap.MapType("[16]uint8", "int64") is pymap.MapType("[16]byte", "int64")
    assert pymap.MapType("[010]byte", "int64").key_size == 8       # Go's legacy octal
    assert pymap.MapType("[0x10]byte", "int64").key_size == 16
    assert pymap.MapType("[1_0]byte", "int64").key_size == 10
    assert pymap.MapType("int64", "*[0o20]byte").elem == "*[0o20]byte"
    for bad in ("[\u0664]byte", "[\U0001d7e0]byte", "[08]byte", "[1__0]byte", "[0x]byte"):
        with pytest.raises(ValueError, match="not a Go integer literal"):
            pymap.MapType(bad, "int64")


@pytest.mark.parametrize("go", GOS)
def test_scenario_copy_between_two_slots_of_one_map(go):
    """for k, v := range m { m[k] = v }: legal Go in one goroutine."""
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(0, 1000)
    res = pymap.Scenario([{"op": "copy", "map": 0, "src": 1}], runtime=rt, maps=2).run(maps={0: m, 1: m})
    assert res.steps[-1].result == 1000 and len(m) == 1000
    m.check()
