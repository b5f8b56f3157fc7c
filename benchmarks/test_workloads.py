"""The comparison workloads (docs/benchmarks.md) under pytest-benchmark.

Run: python -m pytest benchmarks/test_workloads.py --benchmark-enable --benchmark-only
One group per workload (W1 ... W6, clear/16 ... copy/65536), holding the
pymap case and, where Python has an analogue, the dict case.  Only the
measured part is timed (pedantic mode: the map is built in the untimed
setup); extra_info["ops"] is the number of operations (or cycles) in one
timed call, so ns/op = time / ops.  The Go figures come from
benchmarks/compare.py, which runs the Go twin on the same workloads.

In the default test run (--benchmark-disable) every case runs once and its
result is checked; the clearing strategies then run 1/16 of their cycles.
"""
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as W  # noqa: E402

ROUNDS = 5  # timed rounds per case when benchmarking is enabled


def _params(impl):
    out = []
    for wid in W.WORKLOAD_IDS:
        if impl == "dict" and wid.startswith("make-hint/"):
            continue  # dicts take no size hint
        out.append(pytest.param(wid, id=wid, marks=pytest.mark.benchmark(group=wid)))
    return out


def _cycles(benchmark, wid):
    if "/" not in wid or not benchmark.disabled:
        return None
    return max(4, W.strategy_cycles(int(wid.split("/")[1])) // 16)


def _bench(benchmark, case):
    benchmark.extra_info.update(impl=case.impl, workload=case.id, ops=case.ops,
                                description=W.describe(case.id))

    def setup():
        return (case.setup(),), {}

    def target(state):
        return state, case.run(state)

    state, result = benchmark.pedantic(target, setup=setup, rounds=1 if benchmark.disabled else ROUNDS)
    case.check(state, result)
    return state, result


@pytest.mark.parametrize("wid", _params("pymap"))
def test_pymap(benchmark, wid):
    case = W.pymap_case(wid, _cycles(benchmark, wid))
    state, result = _bench(benchmark, case)
    if wid == "W1":
        assert len(state) == W.N
    elif wid in ("W2", "W2b"):
        _elems, found = result
        assert int(found.sum()) == (W.N if wid == "W2" else 0)
    elif wid in ("W3", "W4"):
        assert len(state if wid == "W3" else state[0]) == 0
    elif wid == "W6":
        assert len(state[0]) == W.N


@pytest.mark.parametrize("wid", _params("dict"))
def test_dict(benchmark, wid):
    case = W.dict_case(wid, _cycles(benchmark, wid))
    _bench(benchmark, case)


def test_ids_match_go_twin():
    """The Go twin registers the same workload ids (a cheap text check)."""
    src = (Path(__file__).resolve().parent / "go" / "main.go").read_text()
    for s in W.STRATEGIES:
        assert f'"{s}"' in src, s
    for wid in W.BASIC_IDS:
        assert f'"{wid}"' in src, wid
    for n in W.STRATEGY_SIZES:
        assert str(n) in src
    consts = dict(re.findall(r"^\s*(\w+)\s*=\s*([\d_]+)\s*$", src, re.M))
    assert int(consts["bigN"]) == W.N
    assert int(consts["w5Cycles"]) == W.W5_CYCLES and int(consts["w5Size"]) == W.W5_SIZE
    assert "(1 << 21) / n" in src and "c < 32" in src  # strategyCycles, as W.strategy_cycles
