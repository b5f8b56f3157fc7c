"""Coverage-guided fuzzing of the C core through the Python API (atheris).

Each input is decoded into: a Go version, a map type, a hint, and a
sequence of operations -- single assigns, lookups, deletes, clears, partial
iterations with writes in between, and the bulk calls (insert_many,
lookup_many, delete_many, insert_range) -- applied to a GoMap and to a
plain-Python reference model (pymap.testing.MapModel).  After every
operation the consistency checker runs and the lookups, deletes, lengths
and full iterations must agree with the model.

Run for a while (hours, in a build with PYMAP_SANITIZE=1 for memory errors):

    pip install atheris
    python tests/fuzz/fuzz_map.py tests/fuzz/corpus -max_total_time=3600

`one_input(data)` is also called by tests/test_fuzz.py on the seed corpus
(tests/fuzz/corpus/) and on random inputs, without atheris.
"""
from __future__ import annotations

import random
import sys
from typing import Any

import numpy as np

import pymap
from pymap.testing import MapModel, apply_op, nth_value

TYPES = [
    ("int64", "int64"), ("int8", "uint16"), ("uint32", "int64"), ("string", "string"),
    ("float64", "int64"), ("float32", "string"), ("complex64", "int8"), ("[3]byte", "[5]byte"),
    ("[130]byte", "[200]byte"), ("struct{}", "int64"), ("int64", "struct{}"), ("bool", "float64"),
    ("string", "[129]byte"), ("pointer", "int32"),
]


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


def value(r: Reader, spelling: str) -> Any:
    """A value of a Go type: mostly small indices (collisions, growth), sometimes raw."""
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


def one_input(data: bytes) -> None:
    r = Reader(data)
    go = pymap.GO_VERSIONS[r.byte() % len(pymap.GO_VERSIONS)]
    key, elem = TYPES[r.byte() % len(TYPES)]
    rt = pymap.Runtime(go=go, seed=r.u16())
    t = pymap.MapType(key, elem)
    m = rt.make_map(t, hint=[0, 0, 8, 9, 100, 1000, -1, 1 << 50][r.byte() & 7])
    model = MapModel(key, elem, go)
    steps = 0
    while r.more() and steps < 400:
        steps += 1
        op = r.byte() % 12
        if op <= 2:
            apply_op(m, ("insert", value(r, key), value(r, elem)), model)
        elif op == 3:
            apply_op(m, ("lookup", value(r, key)), model)
        elif op == 4:
            apply_op(m, ("delete", value(r, key)), model)
        elif op == 5:
            apply_op(m, ("clear",), model)
        elif op == 6:
            apply_op(m, ("iterate",), model)
        elif op == 7:   # partial iteration with writes in between (legal in Go)
            it = m.items()
            for _ in range(r.byte() & 15):
                if next(it, None) is None:
                    break
                if r.byte() & 1:
                    apply_op(m, ("insert", value(r, key), value(r, elem)), model)
                else:
                    apply_op(m, ("delete", value(r, key)), model)
        elif op == 8:   # fill a run of fresh keys: growth and evacuation
            base = r.u16()
            for i in range(r.byte()):
                apply_op(m, ("insert", nth_value(key, base + i), nth_value(elem, i)), model)
        elif op == 9:
            n = r.byte() & 63
            keys = [value(r, key) for _ in range(n)]
            elems = [value(r, elem) for _ in range(n)]
            m.insert_many(bulk_keys(t, keys), elems if elem != "struct{}" else None)
            for k, v in zip(keys, elems):
                model.assign(k, v)
        elif op == 10:
            keys = [value(r, key) for _ in range(r.byte() & 63)]
            got, found = m.lookup_many(bulk_keys(t, keys))
            for i, k in enumerate(keys):
                assert bool(found[i]) == model.lookup(k)[0], (k, found[i])
            deleted = m.delete_many(bulk_keys(t, keys[: len(keys) // 2]))
            assert deleted == sum(model.delete(k) for k in keys[: len(keys) // 2])
        else:
            if key in ("int64", "int8", "uint32") and elem in ("int64", "uint16"):
                start = r.byte() - 20
                stop = start + (r.byte() if r.byte() & 1 else -r.byte())
                step = [1, 2, -1, 3][r.byte() & 3]
                try:
                    m.insert_range(start, stop, step)
                except OverflowError:
                    continue   # a value does not fit: nothing changed
                for i in range(start, stop, step):
                    model.assign(i, i)
        m.check()
        assert len(m) == len(model), (len(m), len(model))
    apply_op(m, ("iterate",), model)


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
