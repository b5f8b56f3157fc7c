"""pymap vs real Go runtimes: the full map state after every operation.

For every available toolchain, hypothesis generates traces (traces.py), the
Go oracle runs them on real maps (GODEBUG=cpu.aes=off), and replay.py runs
them in pymap with the oracle's hashkey and replayed random draws.  Any
difference in any field of the hmap, mapextra or any bucket slot fails the
test with the shrunk trace, the first differing field and both values.

Default run: >= 200 traces per version.  `-m slow`: >= 10,000 per version.
Results feed the fidelity matrix (docs/fidelity.md, README).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

import goruntime  # noqa: E402
import replay  # noqa: E402
import traces as tr  # noqa: E402
import fidelity  # noqa: E402

DEFAULT_TRACES = int(os.environ.get("PYMAP_CONFORMANCE_TRACES", "200"))
SLOW_TRACES = 10_000


def _oracle(version: str) -> goruntime.Oracle:
    go = goruntime.toolchain(version, install=True)
    if go is None:
        reason = f"Go {version} toolchain unavailable: {goruntime.why_missing(version)}"
        if os.environ.get("CI") == "true" and version != "1.19":
            pytest.fail(reason)
        pytest.skip(reason)
    return goruntime.Oracle(version).start()


@pytest.fixture(scope="module", params=goruntime.CLASSIC_VERSIONS)
def oracle(request):
    import pymap
    if request.param not in pymap.GO_VERSIONS:
        pytest.skip(f"pymap does not model Go {request.param} yet")
    o = _oracle(request.param)
    yield request.param, o
    o.close()


def _check(version: str, o: goruntime.Oracle, trace: dict, kind: str) -> None:
    import pymap
    if pymap.version_facts(version).maps_clone:
        # maps.Clone of whatever state the trace left (growing, NaNs, overflow)
        trace = dict(trace, ops=trace["ops"] + [{"op": "clone"}])
    records = o.run(trace)
    mm, compared = replay.replay(version, o.hashkey, trace, records)
    s = fidelity.stats(version, kind)
    s["traces"] += 1
    s["ops"] += compared
    if mm is not None:
        s["mismatches"] += 1
        raise AssertionError(f"Go {version}: {mm}")


def _run(version: str, o: goruntime.Oracle, n: int, kind: str) -> None:
    @settings(max_examples=n, deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(tr.traces())
    def check(trace: dict) -> None:
        _check(version, o, trace, kind)

    check()


def test_traces(oracle):
    version, o = oracle
    _run(version, o, DEFAULT_TRACES, "default")


@pytest.mark.slow
def test_traces_slow(oracle):
    version, o = oracle
    _run(version, o, SLOW_TRACES, "slow")


def test_large_map_noverflow_draws(oracle):
    """From B = 16 the runtime counts a new overflow bucket with probability
    1/2^(B-15): a 250,000-entry fill of a B = 16 map (about 1% of the chains
    overflow) compared header by header, then in full at the end."""
    version, o = oracle
    trace = {"kind": "trace", "key": "int64", "elem": "int64", "hint": 13 * 2**14 + 1, "dump": "last",
             "ops": [{"op": "assign", "k": i * 7919, "v": i} for i in range(250_000)]
             + [{"op": "delete", "k": i * 7919} for i in range(0, 250_000, 5)]}
    records = o.run(trace)
    assert records[0]["state"]["B"] == 16 and records[-1]["state"]["noverflow"] > 0
    mm, compared = replay.replay(version, o.hashkey, trace, records)
    assert mm is None, f"Go {version}: {mm}"
    s = fidelity.stats(version, "default")
    s["traces"] += 1
    s["ops"] += compared


# ------------------------------------------------------------------ memory
MEMORY_SIZES = [0, 1, 8, 9, 14, 27, 53, 1000, 100_000]
MEMORY_CASES = [(k, e, n, hint) for (k, e) in tr.PAIRS for n in MEMORY_SIZES for hint in (0, n)]
MEMORY_CASES += [("int64", "*int", 27, 27), ("int64", "*int", 14, 14), ("string", "[14]byte", 53, 53)]


def _fill_keys(key: str, n: int) -> list:
    """The oracle's memory-mode keys: K(i) for integers (wrapping), float(i), "key-%d", LE bytes."""
    bits = {"int64": 64, "int32": 32, "int8": 8}
    out: list = []
    for i in range(n):
        if key in bits:
            b = bits[key]
            v = i % (1 << b)
            out.append(v - (1 << b) if v >= 1 << (b - 1) else v)
        elif key == "float64":
            out.append(float(i))
        elif key == "string":
            out.append(f"key-{i}")
        elif key.startswith("["):
            w = int(key[1:key.index("]")])
            out.append(i.to_bytes(8, "little")[:w].ljust(w, b"\x00"))
        elif key == "struct{}":
            out.append(None)
    return out


def test_memory(oracle):
    """TotalAlloc, HeapAlloc (after GC) and the range loop's allocation, per type and size:
    the heap model's MemStats deltas against the real runtime's."""
    import pymap
    version, o = oracle
    s = fidelity.stats(version, "default")
    failures = []
    for key, elem, n, hint in MEMORY_CASES:
        got = o.memory(key, elem, n, hint)
        count = got["count"]
        # Same hashkey and hash0 as the measured Go map: same collisions.
        rt = pymap.Runtime(go=version, hashkey=o.hashkey, seed=1)
        m = rt.make_map(pymap.MapType(replay.model_spelling(key), replay.model_spelling(elem)), hint)
        m.hash0 = got["hash0"]
        zero = m.lookup(_fill_keys(key, 1)[0])[0] if count else None
        for k in _fill_keys(key, count):
            m[k] = zero
        # The heap model's MemStats deltas, as the Go program measures them:
        # TotalAlloc over make + inserts, HeapAlloc after runtime.GC(), and
        # TotalAlloc over the first step of a range loop.
        base = rt.baseline
        total_alloc = rt.memstats().total_alloc - base.total_alloc
        rt.gc()
        heap_alloc = rt.memstats().heap_alloc - base.heap_alloc
        mem = m.memory()
        assert (mem.allocated, mem.total) == (total_alloc, heap_alloc), "map accounting != heap model"
        before = rt.memstats().total_alloc
        for _ in m:
            break
        ranged = rt.memstats().total_alloc - before
        want = (got["total_alloc"], got["heap_alloc"], got["range_alloc"], got["B"])
        have = (total_alloc, heap_alloc, ranged, m.B)
        s["memory_total"] += 1
        if want == have:
            s["memory"] += 1
        else:
            failures.append(f"make(map[{key}]{elem}, {hint}) + {count} inserts: "
                            f"Go (TotalAlloc, HeapAlloc, range, B) = {want}, pymap {have}")
    assert not failures, "\n".join(failures)
