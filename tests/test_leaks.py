"""Leaks: resident memory stays flat across many map lifetimes.

Each test warms up first (malloc arenas, the model's free list, Python's
allocator), then measures the process's resident set around the real run;
growth must stay under 5 MB.  Linux only (/proc/self/statm).
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


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cycles(n: int, key: str, elem: str) -> pymap.Scenario:
    return pymap.Scenario([{"op": "repeat", "count": n, "body": [
        {"op": "make", "key": key, "elem": elem},
        {"op": "insert_range", "stop": 20},
        {"op": "iterate"},
        {"op": "drop"},
    ]}])


@pytest.mark.parametrize("key,elem", [("int64", "int64"), ("string", "string"), ("int64", "[200]byte")])
def test_million_make_fill_drop_cycles_in_c(key, elem):
    cycles(20_000, key, elem).run()
    before = rss()
    cycles(1_000_000, key, elem).run()
    assert rss() - before < LIMIT


def test_maps_and_bulk_calls_from_python():
    rt = pymap.Runtime(go="1.23", seed=3)

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


def test_abandoned_iterators():
    m = pymap.GoMap(pymap.MapType("string", "[130]byte"))
    for i in range(300):
        m[f"key{i}"] = bytes([i % 256]) * 130

    def abandon(n: int) -> None:
        for i in range(n):
            it = m.items()
            for _ in range(i % 7):
                next(it)
            if i % 5 == 0:   # a write mid-iteration: grows keep old arrays alive for the iterator
                m[f"extra{i % 50}"] = bytes(130)
            del it

    abandon(1000)
    before = rss()
    abandon(10_000)
    assert rss() - before < LIMIT
