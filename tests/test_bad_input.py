"""Bad input: every row is a clear Python exception, and nothing changed.

The table below is the single source of docs/bad-input.md:
``python tests/test_bad_input.py > docs/bad-input.md`` regenerates it, and
test_docs_table_is_current fails when the page is stale.

Every row runs on a classic version (1.22) and on the default Swiss version
(pymap.DEFAULT_GO), except the rows of one implementation's own API (hash0
and start_bucket on a classic map; seed and entry_offset/dir_offset on a
Swiss map), which run on that implementation only.
"""
from __future__ import annotations

import copy
import pickle
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import pymap

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"


CLASSIC_GO = "1.22"
GOS = (CLASSIC_GO, pymap.DEFAULT_GO)  # one classic, one Swiss version


def _growth_point(go: str) -> int:
    """Entries at a growth point: classic 26 (B = 2, the next insert doubles
    it), Swiss 28 (a full 32-slot table, the next insert rehashes it)."""
    return 28 if pymap.version_facts(go).map_impl == "swiss" else 26


def _map(key: str = "int64", elem: str = "int64", go: str = CLASSIC_GO, n: int | None = None) -> pymap.GoMap:
    """A map at a growth point by default (see _growth_point)."""
    if n is None:
        n = _growth_point(go)
    m = pymap.Runtime(go=go, seed=9).make_map(pymap.MapType(key, elem))
    if key == "int64":
        m.insert_range(0, n) if elem == "int64" else m.insert_many(np.arange(n))
    return m


def _state(m: pymap.GoMap) -> str:
    m.check()
    rt = m.runtime
    rt.heap_check()
    if m.impl == "swiss":
        shape = (m.used, m.seed, m.dir_len, m.global_depth, m.clear_seq, m.tombstone_possible,
                 m.small_group(), m.tables(), m.directory())
    else:
        shape = (m.B, m.hash0, m.noverflow, m.buckets())
    return repr((len(m), shape, m.memory(), rt.memstats(), rt.pacer(), rt.gctrace))


def _dropped(go: str) -> pymap.GoMap:
    m = pymap.Runtime(go=go, seed=1).make_map(pymap.MapType("int64", "int64"))
    m.drop()
    return m


def _rand_returning(v: Any, go: str) -> pymap.Runtime:
    return pymap.Runtime(go=go, rand=lambda purpose: v)


def _rand_raising(purpose: str) -> int:
    raise KeyError("rand is broken")


class _Huge:
    def __index__(self) -> int:
        return 1 << 70


# (what, the call on a fresh map m -- or None when no map is involved, exception, message part)
ROWS: list[tuple[str, Callable[[pymap.GoMap], Any], type, str]] = [
    ("key of the wrong Python type", lambda m: m.__setitem__("7", 1), TypeError, "int64 value must be an int"),
    ("elem of the wrong Python type", lambda m: m.__setitem__(7, 1.5), TypeError, "must be an int"),
    ("bool where an integer is expected", lambda m: m.__setitem__(True, 1), TypeError, "not bool"),
    ("integer out of the kind's range", lambda m: m.__setitem__(1 << 63, 1), OverflowError, "out of range for int64"),
    ("integer out of range in a lookup", lambda m: m.get(-(1 << 64)), OverflowError, "out of range"),
    ("bytes of the wrong length for [N]byte",
     lambda m: _map("[4]byte", "int8", m.runtime.go).__setitem__(b"abc", 1), ValueError, "exactly 4 bytes"),
    ("unknown type spelling", lambda m: pymap.MapType("int63", "int64"), ValueError, "unknown Go type spelling"),
    ("interface key types", lambda m: pymap.MapType("any", "int64"), ValueError, "interface types are not modelled"),
    ("unknown Go version", lambda m: pymap.Runtime(go="1.18"), ValueError, "1.18"),
    ("a -noswiss build of Go 1.26 or newer (GOEXPERIMENT=noswissmap is gone)",
     lambda m: pymap.Runtime(go="1.26-noswiss"), ValueError, "unknown Go version '1.26-noswiss'"),
    ("hint outside Go's int64", lambda m: pymap.GoMap(m.type, 1 << 63, m.runtime), OverflowError, "outside Go's int range"),
    ("hint that is not an int", lambda m: pymap.GoMap(m.type, 2.0, m.runtime), TypeError, "hint must be an int"),
    ("hint whose buckets or groups exceed max_alloc (negative hints and hints over 2^48 bytes are 0, as in Go)",
     lambda m: pymap.GoMap(m.type, 1 << 36, m.runtime), MemoryError, "max_alloc"),
    ("hashkey of the wrong shape", lambda m: pymap.Runtime(go="1.23", hashkey=(1, 3, 5)), ValueError, "hashkey"),
    ("an even hashkey word on Go <= 1.22", lambda m: pymap.Runtime(go="1.22", hashkey=(2, 3, 5, 7)), ValueError, "odd"),
    ("seed together with rand", lambda m: pymap.Runtime(go="1.23", seed=1, rand=lambda p: 0), ValueError, "seed"),
    ("rand returning a non-int", lambda m: _rand_returning("x", m.runtime.go).make_map(m.type), TypeError,
     "expected an int"),
    ("rand returning an int out of range", lambda m: _rand_returning(-1, m.runtime.go).make_map(m.type),
     ValueError, "outside [0, 2**64)"),
    ("rand raising", lambda m: pymap.Runtime(go=m.runtime.go, rand=_rand_raising).make_map(m.type), KeyError,
     "rand is broken"),
    ("setting hash0 on a non-empty map (classic)", lambda m: setattr(m, "hash0", 5), ValueError, "empty"),
    ("hash0 out of range (classic)", lambda m: setattr(m, "hash0", 1 << 32), ValueError, "2**32"),
    ("setting seed on a non-empty map (Swiss)", lambda m: setattr(m, "seed", 5), ValueError, "empty"),
    ("seed out of range (Swiss)", lambda m: setattr(m, "seed", 1 << 64), ValueError, "2**64"),
    ("a classic-only attribute of a Swiss map", lambda m: m.B, AttributeError, "belongs to the classic map"),
    ("a Swiss-only attribute of a classic map", lambda m: m.tables(), AttributeError, "belongs to the swiss map"),
    ("an allocation larger than max_alloc (the machine's limit by default)",
     lambda m: (setattr(m.runtime, "max_alloc", 1000), m.__setitem__(len(m), 0))[1], MemoryError,
     "exceeds max_alloc"),
    ("bulk keys of the wrong dtype", lambda m: m.insert_many(np.arange(3, dtype=np.int32)), TypeError, "dtype int64"),
    ("bulk keys and elems of different lengths",
     lambda m: m.insert_many(np.arange(3), np.arange(4)), ValueError, "differ in length"),
    ("strided bulk input", lambda m: m.lookup_many(np.arange(10)[::2]), ValueError, "contiguous"),
    ("2-D bulk input", lambda m: m.delete_many(np.zeros((2, 2), dtype=np.int64)), ValueError, "one-dimensional"),
    ("insert_range on a map of other kinds",
     lambda m: _map("int64", "float64", m.runtime.go).insert_range(5), TypeError,
     "insert_range needs integer or string keys"),
    ("insert_range values that do not fit", lambda m: _map("int8", "int8", m.runtime.go).insert_range(0, 300),
     OverflowError, "int8"),
    ("insert_range of more than 2**48 items (no call could finish it)", lambda m: m.insert_range(1 << 62),
     ValueError, "more work than one call may do"),
    ("a scenario whose work (operations, repeat iterations, GC cycles) exceeds 2**48",
     lambda m: pymap.Scenario([{"op": "repeat", "count": 1 << 30, "body": [{"op": "lookup_range", "stop": 1 << 30}]}],
                              runtime=m.runtime), ValueError, "more than one run may do"),
    ("a scenario repeat count over 2**48",
     lambda m: pymap.Scenario([{"op": "repeat", "count": 1 << 62, "body": []}], runtime=m.runtime), ValueError,
     "repeat count"),
    ("gctrace_keep outside [0, 10,000,000]", lambda m: setattr(m.runtime, "gctrace_keep", -1), ValueError,
     "gctrace_keep"),
    ("iterator start outside the table (classic)", lambda m: m.items(start_bucket=99, offset=0), ValueError,
     "start_bucket"),
    ("only one of entry_offset and dir_offset (Swiss)", lambda m: m.items(entry_offset=1), ValueError,
     "give both entry_offset and dir_offset"),
    ("unknown scenario op", lambda m: pymap.Scenario([{"op": "fill"}]), ValueError, "unknown op"),
    ("scenario op on a slot with no map",
     lambda m: pymap.Scenario([{"op": "clear", "map": 2}], runtime=m.runtime).run(), ValueError, "holds no map"),
    ("scenario maps from another runtime",
     lambda m: pymap.Scenario([{"op": "clear"}]).run(maps={0: m}), ValueError, "another Runtime"),
    ("use of a map after drop() (m = nil)", lambda m: _dropped(m.runtime.go).__setitem__(1, 1),
     pymap.MapDroppedError, "dropped"),
    ("len() of a dropped map", lambda m: len(_dropped(m.runtime.go)), pymap.MapDroppedError, "dropped"),
    ("a Pool.put of something that is not a GoMap",
     lambda m: m.runtime.new_pool().put({1: 2}), TypeError, "a Pool holds GoMaps"),
    ("a Pool.put of a map from another Runtime",
     lambda m: pymap.Runtime(go=m.runtime.go, seed=1).new_pool().put(m), ValueError, "another Runtime"),
    ("a Pool.put of a dropped map", lambda m: m.runtime.new_pool().put(_dropped(m.runtime.go)),
     pymap.MapDroppedError, "dropped"),
    ("a Pool P outside GOMAXPROCS", lambda m: m.runtime.new_pool().get(pid=1), ValueError, "GOMAXPROCS"),
    ("a negative GOGC (None is off)", lambda m: setattr(m.runtime, "gogc", -1), ValueError, "gogc must be >= 0"),
    ("a negative memory limit", lambda m: setattr(m.runtime, "memory_limit", -1), ValueError, "memory_limit"),
    ("GOMAXPROCS of 0", lambda m: pymap.Runtime(go="1.23", gomaxprocs=0), ValueError, "gomaxprocs"),
    ("advancing the clock by NaN or a negative time",
     lambda m: m.runtime.advance(float("nan")), ValueError, "finite and >= 0"),
    ("*[0]byte elems", lambda m: pymap.MapType("int64", "*[0]byte"), ValueError, "pointees of 1..2**24"),
    ("*[N]byte keys", lambda m: pymap.MapType("*[8]byte", "int64"), ValueError, "elem type only"),
    ("*[N]byte contents longer than N",
     lambda m: _map("int64", "*[4]byte", m.runtime.go, n=0).__setitem__(1, b"12345"), ValueError, "at most 4 bytes"),
    ("bulk elems for *[N]byte",
     lambda m: _map("int64", "*[4]byte", m.runtime.go, n=0).insert_many(np.arange(3), np.arange(3)),
     TypeError, "insert_many takes no"),
    ("a float64 key beyond float64 (2**1024)",
     lambda m: _map("float64", "int64", m.runtime.go, n=0).__setitem__(2 ** 1024, 1), OverflowError,
     "out of range for float64"),
    ("an array length that is not a Go integer literal (Unicode digits, 08, 1__0)",
     lambda m: pymap.MapType("[\u0664]byte", "int64"), ValueError, "not a Go integer literal"),
    ("an array length of 5000 digits", lambda m: pymap.MapType("[" + "9" * 5000 + "]byte", "int64"),
     ValueError, "arrays over 2**24 bytes are not modelled"),
    ("a map type spelling that is not map[K]V", lambda m: pymap.MapType("map[string]"), ValueError,
     "not a map type spelling"),
    ("a string key that is neither str nor bytes",
     lambda m: _map("string", "int64", m.runtime.go, n=0).__setitem__(5, 1), TypeError, "must be a str or bytes"),
    ("Runtime(max_alloc=-5)", lambda m: pymap.Runtime(go=m.runtime.go, max_alloc=-5), ValueError,
     "max_alloc must be in [0, 2**64)"),
    ("Scenario(maps=1.5)", lambda m: pymap.Scenario([{"op": "clear"}], maps=1.5), TypeError,  # type: ignore[arg-type]
     "maps (the number of map slots) must be an int"),
    ("a scenario slot or copy source of 2**40",
     lambda m: pymap.Scenario([{"op": "copy", "map": 0, "src": 1 << 40}]), ValueError, "too large"),
    ("Scenario.run(maps=) with a dropped map", lambda m: pymap.Scenario([{"op": "clear"}], runtime=m.runtime,
                                                                      maps=2).run(maps={0: m, 1: _dropped(m.runtime.go)}),
     pymap.MapDroppedError, "dropped"),
    ("copy.copy of a map (use m.clone())", lambda m: copy.copy(m), TypeError, "m.clone()"),
    ("pickling a Runtime", lambda m: pickle.dumps(m.runtime), TypeError, "cannot be copied or pickled"),
    ("setting an attribute of a map, a type or a runtime",
     lambda m: setattr(m.type, "indirect_key", True), AttributeError, "immutable"),
    ("running __init__ again on a live map", lambda m: m.__init__(m.type), TypeError, "cannot run again"),
    ("subclassing GoMap", lambda m: type("Mine", (pymap.GoMap,), {}), TypeError, "cannot be subclassed"),
]


def _row_impl(what: str) -> str | None:
    """The implementation a row is about, from its marker: None for both."""
    if what.endswith("(classic)") or what.startswith("a Swiss-only attribute"):
        return "classic"
    if what.endswith("(Swiss)") or what.startswith("a classic-only attribute"):
        return "swiss"
    return None


CASES = [pytest.param(go, *row, id=f"{go}-{row[0]}") for row in ROWS for go in GOS
         if _row_impl(row[0]) in (None, pymap.version_impl(go))]


@pytest.mark.parametrize("go,what,call,exc,match", CASES)
def test_bad_input(go, what, call, exc, match):
    m = _map(go=go)
    before = _state(m)
    with pytest.raises(exc) as ei:
        call(m)
    assert match in str(ei.value), f"{what}: message {str(ei.value)!r} lacks {match!r}"
    m.runtime.max_alloc = 1 << 40
    assert _state(m) == before, f"{what}: the map changed"


def markdown() -> str:
    lines = [
        "# Bad input",
        "",
        "Every row is checked by `tests/test_bad_input.py` (which generates this page): the call raises",
        "the exception named, with a message containing the text shown, and the map it was given is",
        "unchanged -- same buckets (classic) or groups and tables (Swiss), same header, same memory.",
        "Each row is checked on a classic version and on the default Swiss version; rows marked",
        "(classic) or (Swiss) are about that implementation's own API.",
        "",
        "| input | exception | message contains |",
        "|---|---|---|",
    ]
    for what, _, exc, match in ROWS:
        lines.append(f"| {what} | `{exc.__name__}` | {match.replace('|', '/')} |")
    lines += ["", "Concurrent use of one map from several threads raises `pymap.ConcurrentMapWrite`,",
              "`ConcurrentMapReadWrite` or `ConcurrentMapIterationWrite` (all `ConcurrentMapError`), before",
              "anything changes: see `tests/test_threads.py`.", ""]
    return "\n".join(lines)


def test_docs_table_is_current():
    assert DOC.read_text() == markdown(), "docs/bad-input.md is stale: python tests/test_bad_input.py > docs/bad-input.md"


if __name__ == "__main__":
    sys.stdout.write(markdown())
