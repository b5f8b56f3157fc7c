"""The pymap (and plain-dict) side of the benchmark workloads.

The same workloads are written in Go in ``benchmarks/go/main.go``; the ids,
sizes and cycle counts here must match it.  ``benchmarks/compare.py`` runs
both and prints the table; ``benchmarks/test_workloads.py`` runs the pymap
and dict cases under pytest-benchmark.  See docs/benchmarks.md.

A *case* is one workload for one implementation: ``setup()`` builds the
state (untimed), ``run(state)`` is the timed part, and ``check(state,
result)`` asserts the result (untimed).  For pymap the timed part is a single
call that runs in C (the bulk API or the scenario runner), so it measures
the model, not the Python boundary; for dict it is the Python loop.

Command line (used by compare.py; one JSON line per workload, like the Go
twin)::

    python benchmarks/workloads.py --impl pymap|dict [--w W1,clear] [--reps 3]
    python benchmarks/workloads.py --impl perop [--reps 3]   # m[k] = v, m[k] vs the bare cffi call
    python benchmarks/workloads.py --mem                     # RSS of a 1e6-entry map[int64]int64
"""
from __future__ import annotations

import os

# NumPy's OpenBLAS threads spin on the second core after a BLAS call; pymap
# uses no BLAS, and Go has no such threads: keep them out of the comparison.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gc
import json
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

# ---- the workload definitions (keep in step with go/main.go) ----

N = 1_000_000                 # W1-W4, W6
W5_CYCLES = 100_000           # W5: make, 16 inserts, clear
W5_SIZE = 16
STRATEGIES = ("clear", "drop-make", "delete-loop", "make-hint", "copy")
STRATEGY_SIZES = (16, 1024, 65536)
GO_VERSION = "1.23"           # the model's version; compare.py builds the twin with Go 1.23.9
SEED = 1


def strategy_cycles(n: int) -> int:
    """Cycles timed for a clearing strategy at size n (~2M refilled entries)."""
    return max(32, (1 << 21) // n)


BASIC_IDS = ("W1", "W2", "W2b", "W3", "W4", "W5", "W6")
WORKLOAD_IDS = BASIC_IDS + tuple(f"{s}/{n}" for s in STRATEGIES for n in STRATEGY_SIZES)

DESCRIPTIONS = {
    "W1": "insert keys 0..1e6-1 (elem = key) into an empty map[int64]int64; per insert",
    "W2": "look up all 1e6 keys of the full map (hits); per lookup",
    "W2b": "look up 1e6 absent keys (1e6..2e6-1); per lookup",
    "W3": "clear(m) of the full 1e6 map; per clear call",
    "W4": "delete keys 0..1e6-1 one by one; per delete",
    "W5": "m = make(map[int64]int64); 16 inserts; clear(m) -- 100,000 times; per cycle",
    "W6": 'insert 1e6 keys "key-<n>" into an empty map[string]int64; per insert',
    "clear": "clear(m), refill n",
    "drop-make": "m = make(map[int64]int64), refill n",
    "delete-loop": "delete keys 0..n-1 one by one, refill n",
    "make-hint": "m = make(map[int64]int64, n), refill n",
    "copy": "m2 := make(.., len(m)); for k, v := range m { m2[k] = v }; m = m2 (no refill)",
}


def describe(wid: str) -> str:
    if wid in DESCRIPTIONS:
        return DESCRIPTIONS[wid]
    s, n = wid.split("/")
    return f"{DESCRIPTIONS[s]}; n = {n}, {strategy_cycles(int(n))} cycles from a full map; per cycle"


def select(spec: str) -> list[str]:
    """Workload ids matching a comma-separated spec: ids, strategy names (all
    sizes), prefixes ending in '*', or 'all' -- as the Go twin's -w."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    out = []
    for wid in WORKLOAD_IDS:
        for p in parts:
            if (p == "all" or p == wid or wid.startswith(p + "/")
                    or (p.endswith("*") and wid.startswith(p[:-1]))):
                out.append(wid)
                break
    return out


@dataclass
class Case:
    id: str
    impl: str
    ops: int                                  # operations (or cycles) timed by one run
    setup: Callable[[], Any]                  # untimed: returns the state
    run: Callable[[Any], Any]                 # timed
    check: Callable[[Any, Any], None]         # untimed: raises AssertionError if wrong


def measure(case: Case) -> float:
    """One timed run of a case: ns per op."""
    state = case.setup()
    gc.collect()
    t0 = time.perf_counter_ns()
    result = case.run(state)
    t1 = time.perf_counter_ns()
    case.check(state, result)
    return (t1 - t0) / case.ops


# ---- pymap cases ----

def _pymap():
    import pymap  # noqa: PLC0415  (imported lazily: the dict side must work without it)
    return pymap


def _needs(wid: str) -> tuple[str, ...]:
    """The pymap features a workload uses."""
    return {
        "W1": ("GoMap.insert_range",),
        "W2": ("GoMap.insert_range", "GoMap.lookup_many"),
        "W2b": ("GoMap.insert_range", "GoMap.lookup_many"),
        "W3": ("GoMap.insert_range",),
        "W4": ("GoMap.insert_range", "GoMap.delete_many"),
        "W6": ("GoMap.insert_many",),
    }.get(wid, ("Scenario",))


def pymap_available(wid: Optional[str] = None) -> tuple[bool, str]:
    """Whether this pymap build has what workload `wid` (default: every
    workload) needs: the bulk API and the scenario runner."""
    try:
        pymap = _pymap()
    except Exception as e:  # noqa: BLE001
        return False, f"import pymap failed: {e}"
    needed = _needs(wid) if wid else sorted({f for w in WORKLOAD_IDS for f in _needs(w)})
    missing = []
    for feat in needed:
        obj: Any = pymap
        for part in feat.split("."):
            obj = getattr(obj, part, None)
        if obj is None:
            missing.append(feat)
    if missing:
        return False, "this pymap build lacks " + ", ".join(missing)
    return True, ""


def _i64_map(hint: int = 0, fill: int = 0):
    pymap = _pymap()
    rt = pymap.Runtime(go=GO_VERSION, seed=SEED)
    m = rt.make_map(pymap.MapType("int64", "int64"), hint=hint)
    if fill:
        m.insert_range(0, fill)
    return m


def _op_make(slot: int, hint: int = 0) -> dict:
    return {"op": "make", "map": slot, "key": "int64", "elem": "int64", "hint": hint}


def _op_range(op: str, slot: int, start: int, stop: int) -> dict:
    return {"op": op, "map": slot, "start": start, "stop": stop}


def pymap_case(wid: str, cycles: Optional[int] = None) -> Case:
    """The pymap case for a workload; `cycles` overrides a clearing strategy's
    cycle count (the tests use fewer when they run once)."""
    pymap = _pymap()
    np = __import__("numpy")

    if wid == "W1":
        def check(m, _):
            assert len(m) == N
            assert m[N - 1] == N - 1
        return Case(wid, "pymap", N, lambda: _i64_map(), lambda m: m.insert_range(0, N), check)

    if wid in ("W2", "W2b"):
        lo = 0 if wid == "W2" else N

        def setup():
            return _i64_map(fill=N), np.arange(lo, lo + N, dtype=np.int64)

        def check(state, result):
            elems, found = result
            if wid == "W2":
                assert bool(found.all()), "W2: a key was not found"
                assert bool((elems == state[1]).all()), "W2: wrong elems"
            else:
                assert not bool(found.any()), "W2b: a miss was found"
        return Case(wid, "pymap", N, setup, lambda s: s[0].lookup_many(s[1]), check)

    if wid == "W3":
        def check(m, _):
            assert len(m) == 0
        return Case(wid, "pymap", 1, lambda: _i64_map(fill=N), lambda m: m.clear(), check)

    if wid == "W4":
        def check(state, deleted):
            assert deleted == N, f"W4: {deleted} deleted"
            assert len(state[0]) == 0
        return Case(wid, "pymap", N,
                    lambda: (_i64_map(fill=N), np.arange(N, dtype=np.int64)),
                    lambda s: s[0].delete_many(s[1]), check)

    if wid == "W5":
        prog = [{"op": "repeat", "count": W5_CYCLES, "body": [
            _op_make(0),
            _op_range("insert_range", 0, 0, W5_SIZE),
            {"op": "clear", "map": 0},
        ]}]

        def setup():
            return pymap.Scenario(prog, runtime=pymap.Runtime(go=GO_VERSION, seed=SEED))

        def check(_, res):
            assert len(res.steps) == 1 and res.steps[0].count == 0
            assert res.steps[0].ops == W5_CYCLES * (W5_SIZE + 2), res.steps[0]
        return Case(wid, "pymap", W5_CYCLES, setup, lambda sc: sc.run(), check)

    if wid == "W6":
        def setup():
            rt = pymap.Runtime(go=GO_VERSION, seed=SEED)
            m = rt.make_map(pymap.MapType("string", "int64"))
            keys = string_keys_array(N)
            return m, keys, np.arange(N, dtype=np.int64)

        def check(state, _):
            m = state[0]
            assert len(m) == N
            assert m[b"key-123456"] == 123456 and m[b"key-0"] == 0 and m[b"key-999999"] == 999999
        return Case(wid, "pymap", N, setup, lambda s: s[0].insert_many(s[1], s[2]), check)

    strat, n_s = wid.split("/")
    n = int(n_s)
    cycles = cycles or strategy_cycles(n)
    fill = _op_range("insert_range", 0, 0, n)
    if strat == "clear":
        body = [{"op": "clear", "map": 0}, fill]
    elif strat == "drop-make":
        body = [_op_make(0), fill]
    elif strat == "delete-loop":
        body = [_op_range("delete_range", 0, 0, n), fill]
    elif strat == "make-hint":
        body = [_op_make(0, hint=n), fill]
    elif strat == "copy":
        # m2 := make(..., len(m)); copy; m = m2 -- alternating between two
        # slots, each half dropping the map it copied from.
        cycles = max(2, cycles - cycles % 2)
        body = [_op_make(1, hint=n), {"op": "copy", "map": 1, "src": 0}, {"op": "drop", "map": 0},
                _op_make(0, hint=n), {"op": "copy", "map": 0, "src": 1}, {"op": "drop", "map": 1}]
    else:
        raise KeyError(wid)
    count = cycles // 2 if strat == "copy" else cycles
    prog = [{"op": "repeat", "count": count, "body": body}]

    def setup():
        # The full map is built here and handed to the program's slot 0, so
        # the timed call runs only the cycles.
        m = _i64_map(fill=n)
        return pymap.Scenario(prog, runtime=m.runtime), m

    def run(state):
        sc, m = state
        return sc.run(maps={0: m})

    def check(_, res):
        # (copy's last op drops slot 1; slot 0 holds the copy)
        assert set(res.maps) == {0}, f"{wid}: slots {sorted(res.maps)} hold maps"
        m = res.maps[0]
        assert len(m) == n and m[n - 1] == n - 1 and m[0] == 0, f"{wid}: {m!r}"
    return Case(wid, "pymap", cycles, setup, run, check)


def string_keys_array(n: int):
    """The W6 keys b"key-0" .. as a NumPy S array (fixed width, NUL-padded)."""
    np = __import__("numpy")
    width = len(str(max(n - 1, 0)))
    digits = np.arange(n, dtype=np.int64).astype(f"S{width}")
    keys = np.char.add(b"key-", digits)
    return keys.astype(f"S{4 + width}")  # S10 for 1e6 keys


# ---- dict cases (the analogous Python code, for context) ----

def _dict_fill(n: int) -> dict:
    return {i: i for i in range(n)}


def _d_w1(d):
    for i in range(N):
        d[i] = i
    return d


def _d_w2(d):
    s = 0
    for i in range(N):
        s += d[i]
    return s


def _d_w2b(d):
    c = 0
    for i in range(N, 2 * N):
        if i in d:
            c += 1
    return c


def _d_w4(d):
    for i in range(N):
        del d[i]


def _d_w5(_):
    d = None
    for _c in range(W5_CYCLES):
        d = {}
        for i in range(W5_SIZE):
            d[i] = i
        d.clear()
    return d


def _d_w6(state):
    d, keys = state
    for i, k in enumerate(keys):
        d[k] = i


def _d_strategy(strat: str, n: int, cycles: int) -> Callable[[dict], dict]:
    r = range(n)
    if strat == "clear":
        def f(d):
            for _c in range(cycles):
                d.clear()
                for i in r:
                    d[i] = i
            return d
    elif strat == "drop-make":
        def f(d):
            for _c in range(cycles):
                d = {}
                for i in r:
                    d[i] = i
            return d
    elif strat == "delete-loop":
        def f(d):
            for _c in range(cycles):
                for i in r:
                    del d[i]
                for i in r:
                    d[i] = i
            return d
    elif strat == "copy":
        def f(d):
            for _c in range(cycles):
                d2 = {}
                for k, v in d.items():
                    d2[k] = v
                d = d2
            return d
    else:
        raise KeyError(strat)
    return f


def dict_case(wid: str, cycles: Optional[int] = None) -> Optional[Case]:
    """The analogous dict code, or None when there is none (make-hint)."""
    if wid == "W1":
        return Case(wid, "dict", N, dict, _d_w1, lambda d, _: _assert(len(d) == N))
    if wid == "W2":
        return Case(wid, "dict", N, lambda: _dict_fill(N), _d_w2,
                    lambda _, s: _assert(s == N * (N - 1) // 2))
    if wid == "W2b":
        return Case(wid, "dict", N, lambda: _dict_fill(N), _d_w2b, lambda _, c: _assert(c == 0))
    if wid == "W3":
        return Case(wid, "dict", 1, lambda: _dict_fill(N), lambda d: d.clear(),
                    lambda d, _: _assert(len(d) == 0))
    if wid == "W4":
        return Case(wid, "dict", N, lambda: _dict_fill(N), _d_w4, lambda d, _: _assert(len(d) == 0))
    if wid == "W5":
        return Case(wid, "dict", W5_CYCLES, lambda: None, _d_w5, lambda _, d: _assert(len(d) == 0))
    if wid == "W6":
        return Case(wid, "dict", N, lambda: ({}, [b"key-%d" % i for i in range(N)]), _d_w6,
                    lambda s, _: _assert(len(s[0]) == N and s[0][b"key-123456"] == 123456))
    strat, n_s = wid.split("/")
    if strat == "make-hint":
        return None  # Python dicts take no size hint
    n = int(n_s)
    cycles = cycles or strategy_cycles(n)
    return Case(wid, "dict", cycles, lambda: _dict_fill(n), _d_strategy(strat, n, cycles),
                lambda _, d: _assert(len(d) == n and d[n - 1] == n - 1))


def _assert(cond: bool, what: str = "wrong result") -> None:
    if not cond:
        raise AssertionError(what)


def make_case(impl: str, wid: str, cycles: Optional[int] = None) -> Optional[Case]:
    return pymap_case(wid, cycles) if impl == "pymap" else dict_case(wid, cycles)


# ---- per-operation Python API vs the bare cffi call ----

PEROP_K = 200_000


def per_op(reps: int = 3) -> list[dict]:
    """ns per `m[k] = v` (insert into an empty map[int64]int64) and per
    `m[k]` (hit), each beside the same loop calling a do-nothing C function
    with the fast path's signature, and a dict.  Loop overhead is included
    in every row alike."""
    pymap = _pymap()
    from pymap._native import lib  # noqa: PLC0415
    K = PEROP_K
    rows: dict[str, list[float]] = {}

    def add(name: str, ns: int) -> None:
        rows.setdefault(name, []).append(ns / K)

    have_nop = hasattr(lib, "pm_bench_nop_assign_i64") and hasattr(lib, "pm_bench_nop_access_i64")
    for _ in range(reps):
        rt = pymap.Runtime(go=GO_VERSION, seed=SEED)
        t = pymap.MapType("int64", "int64")
        m = rt.make_map(t)
        gc.collect()
        t0 = time.perf_counter_ns()
        for k in range(K):
            m[k] = k
        add("m[k] = v", time.perf_counter_ns() - t0)
        assert len(m) == K
        t0 = time.perf_counter_ns()
        s = 0
        for k in range(K):
            s += m[k]
        add("m[k]", time.perf_counter_ns() - t0)
        assert s == K * (K - 1) // 2
        if have_nop:
            f, p = lib.pm_bench_nop_assign_i64, m._ptr
            t0 = time.perf_counter_ns()
            for k in range(K):
                f(p, k, k)
            add("nop assign", time.perf_counter_ns() - t0)
            g = lib.pm_bench_nop_access_i64
            t0 = time.perf_counter_ns()
            s = 0
            for k in range(K):
                s += g(p, k, 0)
            add("nop access", time.perf_counter_ns() - t0)
        d: dict = {}
        t0 = time.perf_counter_ns()
        for k in range(K):
            d[k] = k
        add("dict d[k] = v", time.perf_counter_ns() - t0)
        t0 = time.perf_counter_ns()
        s = 0
        for k in range(K):
            s += d[k]
        add("dict d[k]", time.perf_counter_ns() - t0)
        del m, d
    out = [{"perop": name, "ns_per_op": statistics.median(v), "runs": v, "ops": K}
           for name, v in rows.items()]
    if not have_nop:
        out.append({"perop": "nop", "error": "pymap._native.lib has no pm_bench_nop_*_i64"})
    return out


# ---- memory: the model's resident memory for a 1e6-entry map ----

def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory() -> dict:
    """RSS delta of building a 1e6-entry map[int64]int64 with insert_range
    (no hint).  Meant to run in a fresh process (compare.py does that)."""
    pymap = _pymap()
    rt = pymap.Runtime(go=GO_VERSION, seed=SEED)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    gc.collect()
    before = _rss_bytes()
    m.insert_range(0, N)
    after = _rss_bytes()
    assert len(m) == N
    out = {"mem": "map[int64]int64", "n": len(m), "rss_delta": after - before,
           "model_bytes": int(m.memory().total), "B": int(m.B)}
    try:
        from pymap._native import ffi, lib  # noqa: PLC0415
        st = ffi.new("pm_freelist_stats *")
        lib.pm_freelist_get_stats(st)
        out["freelist_bytes_held"] = int(st.bytes_held)
    except Exception:  # noqa: BLE001  (older builds have no free list)
        pass
    return out


# ---- command line ----

def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", choices=("pymap", "dict", "perop"), default="pymap")
    ap.add_argument("--w", default="all", help="workloads (as the Go twin's -w)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions; the median is reported")
    ap.add_argument("--mem", action="store_true", help="print the RSS of a 1e6-entry map and exit")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)

    def emit(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    if a.list:
        for wid in WORKLOAD_IDS:
            print(wid, "--", describe(wid))
        return 0
    if a.mem:
        emit(memory())
        return 0
    if a.impl == "perop":
        try:
            for row in per_op(max(1, a.reps)):
                emit(row)
        except Exception as e:  # noqa: BLE001
            emit({"perop": "all", "error": f"{type(e).__name__}: {e}"})
        return 0
    for wid in select(a.w):
        if a.impl == "pymap":
            ok, why = pymap_available(wid)
            if not ok:
                emit({"workload": wid, "error": why})
                continue
        try:
            case = make_case(a.impl, wid)
            if case is None:
                emit({"workload": wid, "error": "n/a"})
                continue
            runs = [measure(case) for _ in range(max(1, a.reps))]
            emit({"workload": wid, "ns_per_op": statistics.median(runs), "ops": case.ops,
                  "reps": len(runs), "runs": runs})
        except Exception as e:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            emit({"workload": wid, "error": f"{type(e).__name__}: {e}"})
        gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
