"""Bad input: every row is a clear Python exception, and nothing changed.

The table below is the single source of docs/bad-input.md:
``python tests/test_bad_input.py > docs/bad-input.md`` regenerates it, and
test_docs_table_is_current fails when the page is stale.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import pymap

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"


def _map(key: str = "int64", elem: str = "int64", go: str = "1.22", n: int = 26) -> pymap.GoMap:
    """A map at a growth point by default: 26 entries, B = 2, the next insert doubles it."""
    m = pymap.Runtime(go=go, seed=9).make_map(pymap.MapType(key, elem))
    if key == "int64":
        m.insert_range(0, n) if elem == "int64" else m.insert_many(np.arange(n))
    return m


def _state(m: pymap.GoMap) -> str:
    m.check()
    rt = m.runtime
    rt.heap_check()
    return repr((len(m), m.B, m.hash0, m.noverflow, m.buckets(), m.memory(), rt.memstats(), rt.pacer(),
                 rt.gctrace))


def _dropped() -> pymap.GoMap:
    m = pymap.Runtime(go="1.23", seed=1).make_map(pymap.MapType("int64", "int64"))
    m.drop()
    return m


def _rand_returning(v: Any) -> pymap.Runtime:
    return pymap.Runtime(go="1.23", rand=lambda purpose: v)


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
     lambda m: _map("[4]byte", "int8").__setitem__(b"abc", 1), ValueError, "exactly 4 bytes"),
    ("unknown type spelling", lambda m: pymap.MapType("int63", "int64"), ValueError, "unknown Go type spelling"),
    ("interface key types", lambda m: pymap.MapType("any", "int64"), ValueError, "interface types are not modelled"),
    ("unknown Go version", lambda m: pymap.Runtime(go="1.18"), ValueError, "1.18"),
    ("Go 1.24 or newer without -noswiss", lambda m: pymap.Runtime(go="1.24"), ValueError, "Swiss"),
    ("hint outside Go's int64", lambda m: pymap.GoMap(m.type, 1 << 63, m.runtime), OverflowError, "outside Go's int range"),
    ("hint that is not an int", lambda m: pymap.GoMap(m.type, 2.0, m.runtime), TypeError, "hint must be an int"),
    ("hint whose buckets exceed max_alloc (negative hints and hints over 2^48 bytes are 0, as in Go)",
     lambda m: pymap.GoMap(m.type, 1 << 40, m.runtime), MemoryError, "exceeds max_alloc"),
    ("hashkey of the wrong shape", lambda m: pymap.Runtime(go="1.23", hashkey=(1, 3, 5)), ValueError, "hashkey"),
    ("an even hashkey word on Go <= 1.22", lambda m: pymap.Runtime(go="1.22", hashkey=(2, 3, 5, 7)), ValueError, "odd"),
    ("seed together with rand", lambda m: pymap.Runtime(go="1.23", seed=1, rand=lambda p: 0), ValueError, "seed"),
    ("rand returning a non-int", lambda m: _rand_returning("x").make_map(m.type), TypeError, "expected an int"),
    ("rand returning an int out of range", lambda m: _rand_returning(-1).make_map(m.type), ValueError, "outside [0, 2**64)"),
    ("rand raising", lambda m: pymap.Runtime(go="1.23", rand=_rand_raising).make_map(m.type), KeyError, "rand is broken"),
    ("setting hash0 on a non-empty map", lambda m: setattr(m, "hash0", 5), ValueError, "empty"),
    ("hash0 out of range", lambda m: setattr(m, "hash0", 1 << 32), ValueError, "2**32"),
    ("an allocation larger than max_alloc (the machine's limit by default)",
     lambda m: (setattr(m.runtime, "max_alloc", 1000), m.__setitem__(26, 26))[1], MemoryError, "exceeds max_alloc"),
    ("bulk keys of the wrong dtype", lambda m: m.insert_many(np.arange(3, dtype=np.int32)), TypeError, "dtype int64"),
    ("bulk keys and elems of different lengths",
     lambda m: m.insert_many(np.arange(3), np.arange(4)), ValueError, "differ in length"),
    ("strided bulk input", lambda m: m.lookup_many(np.arange(10)[::2]), ValueError, "contiguous"),
    ("2-D bulk input", lambda m: m.delete_many(np.zeros((2, 2), dtype=np.int64)), ValueError, "one-dimensional"),
    ("insert_range on a map of other kinds",
     lambda m: _map("int64", "float64").insert_range(5), TypeError, "insert_range needs integer or string keys"),
    ("insert_range values that do not fit", lambda m: _map("int8", "int8").insert_range(0, 300), OverflowError, "int8"),
    ("iterator start outside the table", lambda m: m.items(start_bucket=99, offset=0), ValueError, "start_bucket"),
    ("unknown scenario op", lambda m: pymap.Scenario([{"op": "fill"}]), ValueError, "unknown op"),
    ("scenario op on a slot with no map",
     lambda m: pymap.Scenario([{"op": "clear", "map": 2}], runtime=m.runtime).run(), ValueError, "holds no map"),
    ("scenario maps from another runtime",
     lambda m: pymap.Scenario([{"op": "clear"}]).run(maps={0: m}), ValueError, "another Runtime"),
    ("use of a map after drop() (m = nil)", lambda m: _dropped().__setitem__(1, 1), pymap.MapDroppedError, "dropped"),
    ("len() of a dropped map", lambda m: len(_dropped()), pymap.MapDroppedError, "dropped"),
    ("a Pool.put of something that is not a GoMap",
     lambda m: m.runtime.new_pool().put({1: 2}), TypeError, "a Pool holds GoMaps"),
    ("a Pool.put of a map from another Runtime",
     lambda m: pymap.Runtime(go="1.23", seed=1).new_pool().put(m), ValueError, "another Runtime"),
    ("a Pool.put of a dropped map", lambda m: m.runtime.new_pool().put(_dropped()), pymap.MapDroppedError, "dropped"),
    ("a Pool P outside GOMAXPROCS", lambda m: m.runtime.new_pool().get(pid=1), ValueError, "GOMAXPROCS"),
    ("a negative GOGC (None is off)", lambda m: setattr(m.runtime, "gogc", -1), ValueError, "gogc must be >= 0"),
    ("a negative memory limit", lambda m: setattr(m.runtime, "memory_limit", -1), ValueError, "memory_limit"),
    ("GOMAXPROCS of 0", lambda m: pymap.Runtime(go="1.23", gomaxprocs=0), ValueError, "gomaxprocs"),
    ("advancing the clock by NaN or a negative time",
     lambda m: m.runtime.advance(float("nan")), ValueError, "finite and >= 0"),
    ("*[0]byte elems", lambda m: pymap.MapType("int64", "*[0]byte"), ValueError, "pointees of 1..2**24"),
    ("*[N]byte keys", lambda m: pymap.MapType("*[8]byte", "int64"), ValueError, "elem type only"),
    ("*[N]byte contents longer than N", lambda m: _map("int64", "*[4]byte", n=0).__setitem__(1, b"12345"),
     ValueError, "at most 4 bytes"),
    ("bulk elems for *[N]byte", lambda m: _map("int64", "*[4]byte", n=0).insert_many(np.arange(3), np.arange(3)),
     TypeError, "insert_many takes no"),
]


@pytest.mark.parametrize("what,call,exc,match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input(what, call, exc, match):
    m = _map()
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
        "unchanged -- same buckets, same header, same memory.",
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
