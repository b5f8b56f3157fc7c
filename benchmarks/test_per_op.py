"""Per-operation cost of the Python API vs a dict (pytest-benchmark).

Run: python -m pytest benchmarks/ --benchmark-enable --benchmark-only --benchmark-json=bench.json
Each benchmark inserts or looks up N keys through the Python API, so the
figure per op is time / N.  Compare groups as ratios (pymap / dict); one
cffi call costs a few hundred ns here, so the per-op path is dominated by
the boundary crossing, not by the model.
"""
import pytest

import pymap

N = 10_000


def _fill_pymap(rt, t):
    m = rt.make_map(t)
    for i in range(N):
        m[i] = i
    return m


def _fill_dict():
    d = {}
    for i in range(N):
        d[i] = i
    return d


@pytest.mark.benchmark(group="assign-10k")
def test_assign_pymap(benchmark):
    rt = pymap.Runtime(go="1.23", seed=1)
    t = pymap.MapType("int64", "int64")
    m = benchmark(_fill_pymap, rt, t)
    benchmark.extra_info["impl"] = "pymap"
    assert len(m) == N


@pytest.mark.benchmark(group="assign-10k")
def test_assign_dict(benchmark):
    d = benchmark(_fill_dict)
    benchmark.extra_info["impl"] = "dict"
    assert len(d) == N


@pytest.mark.benchmark(group="lookup-10k")
def test_lookup_pymap(benchmark):
    m = _fill_pymap(pymap.Runtime(go="1.23", seed=1), pymap.MapType("int64", "int64"))
    total = benchmark(lambda: sum(m[i] for i in range(N)))
    assert total == N * (N - 1) // 2


@pytest.mark.benchmark(group="lookup-10k")
def test_lookup_dict(benchmark):
    d = _fill_dict()
    total = benchmark(lambda: sum(d[i] for i in range(N)))
    assert total == N * (N - 1) // 2
