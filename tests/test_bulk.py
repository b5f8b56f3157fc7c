"""Bulk operations, the scenario runner and the free list.

The contract under test: a bulk call or a scenario is exactly the loop of
single operations -- same buckets, same memory, same header, same random
draws -- and bad input raises before anything changes.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap
from pymap.testing import go_versions, values

# key spelling -> elem spelling; each pair exercises a different vec path
PAIRS = {
    "int64": "int64",
    "uint8": "int16",
    "int32": "uint32",
    "float64": "bool",
    "complex64": "float32",
    "string": "string",
    "[3]byte": "[5]byte",
    "[130]byte": "int64",        # indirect key
    "struct{}": "int8",
    "pointer": "struct{}",
}


def snapshot(m: pymap.GoMap) -> str:
    """Everything observable about m (repr: NaN slots compare equal), for
    either implementation."""
    m.check()
    if m.impl == "swiss":
        return repr((len(m), m.used, m.seed, m.dir_len, m.global_depth, m.global_shift, m.clear_seq,
                     m.tombstone_possible, m.small, m.small_group(), m.tables(), m.directory(),
                     m.memory()))
    return repr((len(m), m.B, m.noverflow, m.nevacuate, m.hash0, m.flags, m.growing, m.next_overflow,
            m.overflow_slices(), m.buckets(), m.oldbuckets(), m.memory()))


def has_no_storage(m: pymap.GoMap) -> bool:
    """No bucket array (classic) / no small group and no table (Swiss)."""
    if m.impl == "swiss":
        return m.small_group() is None and m.tables() == []
    return m.buckets() == []


def twins(go: str, key: str, elem: str, seed: int, hint: int = 0) -> tuple[pymap.GoMap, pymap.GoMap]:
    t = pymap.MapType(key, elem)
    return (pymap.Runtime(go=go, seed=seed).make_map(t, hint), pymap.Runtime(go=go, seed=seed).make_map(t, hint))


def as_input(spelling: str, vals: list, form: str):
    """vals as the bulk API takes them: a list, or the kind's NumPy array."""
    if form == "list" or spelling == "struct{}":
        return list(vals)
    if spelling == "string":
        return list(vals)
    if spelling.startswith("["):
        n = int(spelling[1:spelling.index("]")])
        return np.array(vals, dtype=f"V{n}") if form == "array" else np.frombuffer(b"".join(vals), np.uint8).reshape(-1, n).copy()
    from pymap._bulk import dtype_of
    from pymap._types import parse_kind

    return np.array(vals, dtype=dtype_of(parse_kind(spelling)))


@st.composite
def bulk_programs(draw, key: str, elem: str):
    t = pymap.MapType(key, elem)
    small = st.lists(values(t, which="key"), max_size=40)
    prog = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["insert", "insert", "insert_zero", "delete", "lookup"]))
        keys = draw(small if kind != "insert" else st.lists(values(t, which="key"), max_size=120))
        elems = [draw(values(t, which="elem")) for _ in keys] if kind == "insert" else None
        prog.append((kind, keys, elems, draw(st.sampled_from(["list", "array", "2d"]))))
    return prog


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), go=go_versions(), pair=st.sampled_from(sorted(PAIRS.items())), seed=st.integers(0, 2**32))
def test_bulk_equals_one_by_one(data, go, pair, seed):
    key, elem = pair
    bulk, single = twins(go, key, elem, seed, hint=data.draw(st.sampled_from([0, 0, 9, 100])))
    for kind, keys, elems, form in data.draw(bulk_programs(key, elem)):
        kin = as_input(key, keys, form)
        if kind == "insert":
            bulk.insert_many(kin, as_input(elem, elems, form) if elem != "struct{}" else None)
            for k, v in zip(keys, elems):
                single[k] = v
        elif kind == "insert_zero":
            bulk.insert_many(kin)
            zero = pymap._map._zero_value(single.type._e)
            for k in keys:
                single[k] = zero
        elif kind == "delete":
            n = bulk.delete_many(kin)
            assert n == sum(single.delete(k) for k in keys)
        else:
            got, found = bulk.lookup_many(kin)
            want = [single.lookup(k) for k in keys]
            assert list(found) == [ok for _, ok in want]
            if elem == "struct{}":
                assert got is None
            elif elem == "string":
                assert list(got) == [v for v, _ in want]
            elif elem.startswith("["):
                assert [bytes(x) for x in got] == [v for v, _ in want]
            else:
                assert [x.item() for x in got] == pytest.approx([v for v, _ in want], nan_ok=True)
        assert snapshot(bulk) == snapshot(single)


@pytest.mark.parametrize("go", pymap.GO_VERSIONS)
def test_insert_range_equals_one_by_one(go):
    for start, stop, step in [(0, 2000, 1), (5000, -3000, -7), (-(2**62), 2**62, 2**57)]:
        bulk, single = twins(go, "int64", "int64", 7)
        bulk.insert_range(start, stop, step)
        for i in range(start, stop, step):
            single[i] = i
        assert snapshot(bulk) == snapshot(single)


def test_insert_range_one_argument_and_errors():
    m = pymap.GoMap(pymap.MapType("int8", "uint16"))
    m.insert_range(100)
    assert len(m) == 100 and m[99] == 99
    before = snapshot(m)
    with pytest.raises(OverflowError, match="int8"):
        m.insert_range(0, 200)
    with pytest.raises(OverflowError, match="uint16"):
        m.insert_range(-1, 5)
    with pytest.raises(ValueError, match="zero"):
        m.insert_range(0, 5, 0)
    with pytest.raises(OverflowError, match="int64"):
        m.insert_range(0, 2**63)
    with pytest.raises(TypeError, match="int"):
        m.insert_range(0, 5.0)
    assert snapshot(m) == before
    for key, elem in [("float64", "int64"), ("int64", "float64"), ("int64", "struct{}")]:
        with pytest.raises(TypeError, match="insert_range needs integer or string keys"):
            pymap.GoMap(pymap.MapType(key, elem)).insert_range(3)


BAD_INPUTS = [
    ("int64", np.arange(3, dtype=np.int32), TypeError, "int64"),
    ("int64", np.arange(3, dtype=np.uint64), TypeError, "int64"),
    ("int64", np.arange(6, dtype=np.int64)[::2], ValueError, "contiguous"),
    ("int64", np.arange(6, dtype=np.int64).reshape(2, 3), ValueError, "one-dimensional"),
    ("int64", [1, 2, "x"], TypeError, "int"),
    ("int8", [1, 2, 300], OverflowError, "300"),
    ("int64", 12, TypeError, "NumPy array"),
    ("[4]byte", np.zeros(3, dtype="S3"), TypeError, r"\[4\]byte"),
    ("[4]byte", np.zeros((3, 5), dtype=np.uint8), TypeError, r"\[4\]byte"),
    ("[4]byte", [b"abc"], ValueError, "exactly 4"),
    ("string", np.zeros(3, dtype=np.int64), TypeError, "string"),
    ("string", ["a", 3], TypeError, r"keys\[1\]"),
    ("string", "abc", TypeError, "sequence"),
    ("float32", np.zeros(2, dtype=np.float64), TypeError, "float32"),
    ("bool", np.zeros(2, dtype=np.uint8), TypeError, "bool"),
    ("struct{}", [None, 1], TypeError, "None"),
]


@pytest.mark.parametrize("key,keys,exc,match", BAD_INPUTS)
def test_bad_bulk_input_changes_nothing(key, keys, exc, match):
    m = pymap.GoMap(pymap.MapType(key, "int64"))
    m.insert_many(as_input(key, [pymap.testing.nth_value(key, i) for i in range(20)], "array"))
    before = snapshot(m)
    for call in (lambda: m.insert_many(keys), lambda: m.lookup_many(keys), lambda: m.delete_many(keys)):
        with pytest.raises(exc, match=match):
            call()
        assert snapshot(m) == before


def test_mismatched_lengths_and_elem_dtype():
    m = pymap.GoMap(pymap.MapType("int64", "int32"))
    with pytest.raises(ValueError, match="differ in length"):
        m.insert_many(np.arange(3), np.arange(2, dtype=np.int32))
    with pytest.raises(TypeError, match="elems"):
        m.insert_many(np.arange(3), np.arange(3, dtype=np.int64))
    assert len(m) == 0 and has_no_storage(m)


def test_strings_numpy_s_arrays_strip_trailing_nuls():
    m = pymap.GoMap(pymap.MapType("string", "string"))
    m.insert_many(np.array([b"a", b"bb\0", b""]), np.array([b"x\0y", b"", b"zz"]))
    assert sorted(m.items()) == [("", "zz"), ("a", "x\0y"), ("bb", "")]
    m.insert_many([b"a\0"], ["nul"])       # a list keeps trailing NULs
    assert m["a\0"] == "nul" and m["a"] == "x\0y"
    got, found = m.lookup_many(np.array([b"bb", b"q"]))
    assert got.dtype == object and list(got) == ["", ""] and list(found) == [True, False]


def test_lookup_many_result_dtypes():
    m = pymap.GoMap(pymap.MapType("int16", "[3]byte"))
    m.insert_many(np.array([1, 2], dtype=np.int16), np.array([b"abc", b"de\0"], dtype="S3"))
    got, found = m.lookup_many(np.array([2, 1, 9], dtype=np.int16))
    assert got.dtype == np.dtype("V3") and [bytes(x) for x in got] == [b"de\0", b"abc", b"\0\0\0"]
    assert found.dtype == np.bool_ and list(found) == [True, True, False]
    s = pymap.GoMap(pymap.MapType("int64", "struct{}"))
    s.insert_many(np.arange(4))
    assert s.lookup_many(np.arange(6))[0] is None


@pytest.mark.parametrize("go", pymap.GO_VERSIONS)
def test_bulk_failure_midway_keeps_the_completed_prefix(go):
    bulk, single = twins(go, "int64", "int64", 3)
    for m in (bulk, single):
        # classic: the grow to B = 6 (9216 B) is refused; Swiss: the rehash
        # to a 512-slot table (64 groups of 136 B) is refused
        m.runtime.max_alloc = 5000
    keys = np.arange(500, dtype=np.int64)
    with pytest.raises(MemoryError, match="took effect"):
        bulk.insert_many(keys, keys)
    for k in keys:
        try:
            single[int(k)] = int(k)
        except MemoryError:
            break
    assert snapshot(bulk) == snapshot(single)


# ---- the scenario runner ----

def python_twin(prog, rt):
    """Run a scenario's ops one by one from Python (no repeat blocks)."""
    maps: dict = {}
    for d in prog:
        op, slot = d["op"], d.get("map", 0)
        r = range(d.get("start", 0), d.get("stop", 0), d.get("step", 1))
        if op == "make":
            maps[slot] = rt.make_map(pymap.MapType(d["key"], d["elem"]), d.get("hint", 0))
        elif op == "drop":
            maps.pop(slot, None)
        elif op == "insert_range":
            for i in r:
                maps[slot][i] = i
        elif op == "delete_range":
            for i in r:
                maps[slot].delete(i)
        elif op == "lookup_range":
            for i in r:
                maps[slot].get(i)
        elif op == "clear":
            maps[slot].clear()
        elif op == "iterate":
            for _ in maps[slot].items():
                pass
        elif op == "copy":
            for k, v in list(maps[d["src"]].items()):
                maps[slot][k] = v
    return maps


@st.composite
def scenario_programs(draw):
    prog = [{"op": "make", "map": 0, "key": "int32", "elem": "int64", "hint": draw(st.integers(-5, 300))}]
    live = {0}
    for _ in range(draw(st.integers(1, 12))):
        slot = draw(st.sampled_from([0, 1]))
        if slot not in live:
            prog.append({"op": "make", "map": slot, "key": "int32", "elem": "int64"})
            live.add(slot)
            continue
        op = draw(st.sampled_from(["insert_range", "insert_range", "delete_range", "lookup_range",
                                   "clear", "iterate", "copy", "drop", "make"]))
        d = {"op": op, "map": slot}
        if op.endswith("_range"):
            d.update(start=draw(st.integers(-50, 400)), stop=draw(st.integers(-50, 900)),
                     step=draw(st.sampled_from([1, 1, 2, 3, -1, -5])))
        elif op == "copy":
            src = 1 - slot
            if src not in live:
                continue
            d["src"] = src
        elif op == "make":
            d.update(key="int32", elem="int64", hint=draw(st.integers(0, 100)))
        elif op == "drop":
            live.discard(slot)
        prog.append(d)
    return prog


@settings(max_examples=200, deadline=None)
@given(prog=scenario_programs(), go=go_versions(), seed=st.integers(0, 2**32))
def test_scenario_equals_one_by_one(prog, go, seed):
    res = pymap.Scenario(prog, runtime=pymap.Runtime(go=go, seed=seed)).run()
    want = python_twin(prog, pymap.Runtime(go=go, seed=seed))
    assert sorted(res.maps) == sorted(want)
    for slot, m in want.items():
        assert snapshot(res.maps[slot]) == snapshot(m)
    assert len(res.steps) == len(prog)
    last = res.steps[-1]
    if last.live:
        m = want[last.map]
        assert last.impl == m.impl
        assert (last.count, last.bytes, last.allocated) == (len(m), m.memory().total, m.memory().allocated)
        if m.impl == "classic":
            assert (last.B, last.noverflow, last.growing, last.nevacuate) == (
                m.B, m.noverflow, m.growing, m.nevacuate)
        else:
            tables = m.tables()
            cap = sum(t.capacity for t in tables) if tables else (8 if m.small else 0)
            assert (last.dir_len, last.ntables, last.capacity, last.global_depth) == (
                m.dir_len, len(tables), cap, m.global_depth)


def test_scenario_repeat_and_results():
    rt = pymap.Runtime(go="1.23", seed=1)
    sc = pymap.Scenario([
        {"op": "make", "key": "string", "elem": "int64"},
        {"op": "repeat", "count": 3, "body": [
            {"op": "insert_range", "start": 0, "stop": 100},
            {"op": "lookup_range", "start": 50, "stop": 150},
            {"op": "delete_range", "start": 0, "stop": 10},
        ]},
        {"op": "iterate"},
    ], runtime=rt)
    res = sc.run()
    assert [s.op for s in res.steps] == ["make", "delete_range", "iterate"]
    rep = res.steps[1]
    assert rep.count == 90 and rep.result == 3 * 100 + (50 + 50 + 50) + 3 * 10
    assert rep.ops == 3 * (100 + 100 + 10)
    assert res.steps[2].result == 90
    assert res.maps[0]["key-42"] == 42 and "key-5" not in res.maps[0]


def test_scenario_takes_existing_maps_and_shares_them():
    rt = pymap.Runtime(go="1.22", seed=5)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m[7] = 1
    res = pymap.Scenario([{"op": "insert_range", "stop": 50}], runtime=rt).run(maps={0: m})
    assert len(m) == 50 and m[7] == 7
    assert res.maps[0].memory() == m.memory()


@pytest.mark.parametrize("prog,exc,match", [
    ([{"op": "nope"}], ValueError, "unknown op 'nope'"),
    ([{"op": "clear", "slot": 1}], ValueError, "unknown field"),
    ([{"op": "insert_range"}], ValueError, "missing field 'stop'"),
    ([{"op": "make", "key": "int64"}], ValueError, "key and elem"),
    ([{"op": "make", "key": "int64", "elem": "map"}], ValueError, "unknown Go type"),
    ([{"op": "insert_range", "stop": 2**64}], OverflowError, "int64"),
    ([{"op": "insert_range", "stop": 5, "step": 0}], ValueError, "zero"),
    ([{"op": "copy", "map": 1, "src": 1}], ValueError, "differ"),
    ([{"op": "repeat", "count": -1, "body": []}], ValueError, ">= 0"),
    ([{"op": "repeat", "count": 1, "body": "clear"}], TypeError, "list"),
    (["clear"], TypeError, "dict"),
    ([{"op": "clear", "map": -1}], ValueError, ">= 0"),
])
def test_scenario_bad_programs(prog, exc, match):
    with pytest.raises(exc, match=match):
        pymap.Scenario(prog)


def test_scenario_runtime_errors_keep_reached_state():
    rt = pymap.Runtime(go="1.23", seed=2)
    sc = pymap.Scenario([
        {"op": "make", "key": "int8", "elem": "int64"},
        {"op": "insert_range", "stop": 100},
        {"op": "insert_range", "stop": 300},   # int8 keys cannot hold 128..299
        {"op": "clear"},
    ], runtime=rt)
    with pytest.raises(ValueError, match="record 2.*do not fit int8") as ei:
        sc.run()
    res = ei.value.result
    assert [s.op for s in res.steps] == ["make", "insert_range", "insert_range"]
    assert len(res.maps[0]) == 100
    with pytest.raises(ValueError, match="holds no map"):
        pymap.Scenario([{"op": "clear", "map": 3}], runtime=rt).run()


@pytest.mark.parametrize("go", ["1.23", "1.27"])
def test_free_list_recycles_and_is_bounded(go):
    # Start empty: the list is process-wide and has 64 size bins, which the
    # tests run before this one (in this worker) may all have taken.
    pymap.freelist_trim()
    before = pymap.freelist_stats()
    pymap.Scenario([{"op": "repeat", "count": 2000, "body": [
        {"op": "make", "key": "int64", "elem": "int64"},
        {"op": "insert_range", "stop": 64},
        {"op": "drop"},
    ]}], runtime=pymap.Runtime(go=go, seed=1)).run()
    after = pymap.freelist_stats()
    # Every array after the first cycle comes back: classic 5 bucket arrays
    # (B = 0..4) a cycle, Swiss 4 group arrays (small, 16, 32, 64 slots).
    assert after.hits - before.hits >= 1999 * 4
    assert after.bytes_held <= after.max_bytes and after.max_object <= after.max_bytes
    pymap.freelist_trim()
    assert pymap.freelist_stats().bytes_held == 0 and pymap.freelist_stats().objects_held == 0


def test_c_api_refuses_vectors_reaching_past_their_data():
    """pm_vec carries the readable length: the C core never reads beyond it."""
    from pymap._native import ffi, lib

    m = pymap.GoMap(pymap.MapType("string", "int64"))
    blob = ffi.from_buffer("uint8_t[]", b"abcdef")
    offs = ffi.new("int64_t[]", [0, 3, 9])      # the second key would end past the blob
    keys = ffi.new("pm_vec *", {"data": blob, "offsets": offs, "n": 2, "data_len": 6, "noffsets": 3})
    none = ffi.new("pm_vec *", {"n": 2})
    done = ffi.new("int64_t *")
    assert lib.pm_assign_many(m._ptr, keys, none, done) == lib.PM_EARG
    assert "past the data" in ffi.string(lib.pm_last_error()).decode()
    keys.noffsets = 2                            # fewer offsets than n + 1
    assert lib.pm_assign_many(m._ptr, keys, none, done) == lib.PM_EARG
    n = pymap.GoMap(pymap.MapType("int64", "int64"))
    ints = ffi.new("int64_t[]", 3)
    vec = ffi.new("pm_vec *", {"data": ffi.cast("uint8_t *", ints), "stride": 8, "n": 4, "data_len": 24})
    assert lib.pm_assign_many(n._ptr, vec, none, done) == lib.PM_EARG
    assert len(m) == 0 and len(n) == 0 and done[0] == 0
