"""pymap's side of the GC twins: each heap_oracle scenario of gc_twins.TWINS
re-enacted on a pymap.Runtime with the same Go version and environment.

    from gc_model_twins import run_model
    rt = run_model(gc_twins.twin("fill-clear-gc"), "1.23")
    rt.gctrace        # to compare with gc_twins.run_twin(...).gctrace

Command line: python tests/conformance/gc_model_twins.py [--version 1.23]
[--twin NAME ...] prints, per twin, the real and the model's traces side by
side (heap numbers only) and the deviations gc_twins.compare finds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gc_twins  # noqa: E402

import pymap  # noqa: E402

I64 = pymap.MapType("int64", "int64")


def _bytes(spec: str) -> int:
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "B": 1}
    for u, f in units.items():
        if spec.endswith(u):
            return int(spec[: -len(u)]) * f
    return int(spec)


def baseline_of(point) -> pymap.Baseline:
    """The model's baseline from a real run's point right after its first GC:
    the twin starts from exactly the real program's live heap (its globals,
    stacks, the keys a scenario built before the point ...)."""
    ms, mt = point.memstats, point.metrics
    return pymap.Baseline(
        heap_alloc=ms.HeapAlloc, heap_objects=ms.HeapObjects, heap_inuse=ms.HeapInuse,
        heap_sys=ms.HeapSys, heap_released=ms.HeapReleased, total_alloc=ms.TotalAlloc,
        mallocs=ms.Mallocs, frees=ms.Frees, other_sys=ms.Sys - ms.HeapSys,
        globals=mt.get("/gc/scan/globals:bytes", 0), stacks=mt.get("/gc/scan/stack:bytes", 0),
        heap_scan=mt.get("/gc/scan/heap:bytes", 0))


def runtime_for(spec: gc_twins.TwinSpec, version: str,
                baseline: Optional[pymap.Baseline] = None) -> pymap.Runtime:
    env = gc_twins.effective_env(spec)
    gogc_s = env.get("GOGC", "100")
    gogc: Optional[int] = None if gogc_s == "off" else int(gogc_s)
    limit = _bytes(env["GOMEMLIMIT"]) if "GOMEMLIMIT" in env else None
    return pymap.Runtime(go=version, seed=1, gogc=gogc, memory_limit=limit,
                         gomaxprocs=int(env.get("GOMAXPROCS", "1")), baseline=baseline)


def run_model(spec: gc_twins.TwinSpec, version: str,
              baseline: Optional[pymap.Baseline] = None) -> pymap.Runtime:
    """Run the twin's program on the model; returns the runtime (its gctrace,
    memstats) after the scenario's last point.  `baseline`: the real run's
    (baseline_of), else pymap's measured default for the version."""
    rt = runtime_for(spec, version, baseline)
    n = spec.flags.get("n", 0)
    sc = spec.scenario
    if sc in ("fill-clear-gc", "fill-drop-gc", "memlimit-fill"):
        rt.gc()                                  # record("start"); runtime.GC()
        m = rt.make_map(I64)
        m.insert_range(n)
        rt.gc()                                  # filled-gc
        if sc == "fill-clear-gc":
            m.clear()
            rt.gc()
            m.drop()
            rt.gc()
        elif sc == "fill-drop-gc":
            m.drop()
            rt.gc()
            m = rt.make_map(I64, n)
            m.insert_range(n)
            rt.gc()
    elif sc == "churn-gogc":
        cycles = spec.flags.get("cycles", 100_000)
        pymap.Scenario([{"op": "repeat", "count": cycles, "body": [
            {"op": "make", "type": I64}, {"op": "insert_range", "stop": 1024}]},
            {"op": "drop"}], runtime=rt).run()
    elif sc == "ptr-values":
        rt.gc()
        m = rt.make_map(pymap.MapType("string", "*[1024]byte"))
        m.insert_range(n)                        # m[key(i)] = new([1024]byte)
        pymap.Scenario([{"op": "delete_range", "start": 0, "stop": n, "step": 2}],
                       runtime=rt).run(maps={0: m})
        rt.gc()
        m.clear()
        rt.gc()
        m.drop()
        rt.gc()
    elif sc == "pool":
        def new() -> pymap.GoMap:
            m = rt.make_map(I64)
            m.insert_range(1024)
            return m
        pool = rt.new_pool(new)
        rt.gc()                                  # baseline
        box = pool.get()
        pool.put(box)
        box.drop()
        for _ in range(3):
            rt.gc()
        for k in range(4):                       # the identity trials
            x = pool.get()
            pool.put(x)
            x.drop()
            for _ in range(k):
                rt.gc()
            y = pool.get()
            y.drop()
    else:
        raise ValueError(f"no model for scenario {sc!r}")
    return rt


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="append")
    ap.add_argument("--twin", action="append")
    ap.add_argument("--lines", type=int, default=12)
    a = ap.parse_args(argv)
    bad = 0
    for version in a.version or ["1.23"]:
        for spec in gc_twins.TWINS:
            if a.twin and spec.name not in a.twin:
                continue
            go = gc_twins.run_twin(spec, version)
            base = go.points.get("baseline")
            rt = run_model(spec, version, baseline_of(base) if base is not None else None)
            dev = gc_twins.compare(go.gctrace, rt.gctrace)
            bad += bool(dev)
            print(f"== {version} {spec.name}: Go {len(go.gctrace)} cycles, model "
                  f"{rt.memstats().num_gc}; {len(dev)} deviations")
            gn = gc_twins.heap_numbers(go.gctrace)
            mn = gc_twins.heap_numbers(gc_twins.as_trace(rt.gctrace))
            for i in range(min(a.lines, max(len(gn), len(mn)))):
                print(f"   {gn[i] if i < len(gn) else '-'!s:40} {mn[i] if i < len(mn) else '-'}")
            for d in dev[:10]:
                print("   !", d)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
