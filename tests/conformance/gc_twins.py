"""GC twins: real-Go reference runs for validating pymap's GC model against
``GODEBUG=gctrace=1``.

Each twin is a scripted heap_oracle scenario (heap_oracle/main.go) with a
fixed environment.  ``run_twin`` runs it on a real toolchain with gctrace on
and returns the parsed gctrace records and measurement points; ``compare``
is the acceptance rule a model's trace of the same twin has to pass.
Standard library only; nothing here imports pymap.

    from gc_twins import TWINS, twin, run_twin, compare
    r = run_twin(twin("fill-clear-gc"), "1.23")
    r.gctrace                 # heapfacts.GCTrace records, cycles of the scenario
    r.points["cleared-gc"]    # heapfacts.Point
    compare(r.gctrace, model_lines)   # [] = pass; model_lines may be Go-format text

Command line (prints a table; ``--repeat 2`` also reports whether the heap
numbers A->B->C and goal are identical between runs)::

    python tests/conformance/gc_twins.py [--version 1.23 --version 1.21]
        [--twin NAME ...] [--repeat 2] [--lines 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heapfacts as hf  # noqa: E402

__all__ = [
    "TwinSpec", "TwinRun", "TWINS", "EXTRA_TWINS", "twin", "effective_env",
    "run_twin", "compare", "heap_numbers", "stability", "as_trace",
]

DEFAULT_GOMAXPROCS = "1"
ENV_KEYS = ("GOGC", "GOMEMLIMIT", "GOMAXPROCS")


# --------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class TwinSpec:
    """One reference run: heap_oracle `scenario` under `env` with `flags`.

    env holds GOGC / GOMEMLIMIT / GOMAXPROCS as the process sees them; a key
    left out means the runtime default (GOGC=100, no limit), except
    GOMAXPROCS, which is 1 unless given (effective_env).  flags are the
    heap_oracle flags: "n" (keys of the fill scenarios), "cycles" (churn)."""
    name: str
    scenario: str
    env: Mapping[str, str] = field(default_factory=dict)
    flags: Mapping[str, int] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self) -> None:
        if self.scenario not in hf.SCENARIOS:
            raise ValueError(f"{self.name}: unknown scenario {self.scenario!r}")
        if set(self.env) - set(ENV_KEYS):
            raise ValueError(f"{self.name}: env keys must be among {ENV_KEYS}")
        if set(self.flags) - {"n", "cycles"}:
            raise ValueError(f"{self.name}: flags must be among ('n', 'cycles')")


def _churn(gogc: int) -> TwinSpec:
    return TwinSpec(f"churn-gogc{gogc}", "churn-gogc", {"GOGC": str(gogc)}, {"cycles": 100_000},
                    f"1e5 x (make map[int64]int64, fill 1024, drop), GOGC={gogc}; only paced cycles")


# The twins the GC model is validated on.
TWINS: tuple[TwinSpec, ...] = (
    TwinSpec("fill-clear-gc", "fill-clear-gc", {}, {"n": 1_000_000},
             "map[int64]int64: fill 1e6 (no hint), GC, clear (mapclear), GC, drop, GC"),
    TwinSpec("fill-drop-gc", "fill-drop-gc", {}, {"n": 1_000_000},
             "map[int64]int64: fill 1e6, GC, drop, GC, refill 1e6 with make(map, 1e6), GC"),
    _churn(50),
    _churn(100),
    _churn(200),
    TwinSpec("ptr-values", "ptr-values", {}, {"n": 100_000},
             "map[string]*[1024]byte: fill 1e5, delete even keys, GC, clear, GC, drop, GC"),
    TwinSpec("pool", "pool", {}, {},
             "sync.Pool of a 1024-key map: Put, 3 GCs; then Put/k GCs/Get trials (k = 0..3)"),
    TwinSpec("memlimit-gogc100", "memlimit-fill", {"GOGC": "100", "GOMEMLIMIT": "64MiB"},
             {"n": 4_000_000}, "map[int64]int64: fill 4e6 under GOMEMLIMIT=64MiB, GOGC=100, GC"),
    TwinSpec("memlimit-gogcoff", "memlimit-fill", {"GOGC": "off", "GOMEMLIMIT": "64MiB"},
             {"n": 4_000_000}, "map[int64]int64: fill 4e6 under GOMEMLIMIT=64MiB, GOGC=off, GC"),
)

# Not required by the issue; churn under the memory limit (the live heap
# stays far below it, so it should pace like GOGC=100).
EXTRA_TWINS: tuple[TwinSpec, ...] = (
    TwinSpec("churn-memlimit", "churn-gogc", {"GOMEMLIMIT": "64MiB"}, {"cycles": 100_000},
             "churn at GOGC=100 under GOMEMLIMIT=64MiB"),
)


def twin(name: str) -> TwinSpec:
    for s in TWINS + EXTRA_TWINS:
        if s.name == name:
            return s
    raise KeyError(f"no twin {name!r}; known: {[s.name for s in TWINS + EXTRA_TWINS]}")


def effective_env(spec: TwinSpec) -> dict[str, str]:
    """The spec's env with the GOMAXPROCS=1 default applied."""
    env = dict(spec.env)
    env.setdefault("GOMAXPROCS", DEFAULT_GOMAXPROCS)
    return env


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

@dataclass
class TwinRun:
    """One real run of a twin.

    gctrace holds the cycles that completed by the scenario's last point
    (NumGC there): the scenario's own cycles.  Cycles the program runs
    afterwards, while encoding its JSON output, are in `tail` -- a model of
    the scenario should not reproduce them."""
    spec: TwinSpec
    version: str
    env: dict[str, str]
    run: hf.Run
    wall_s: float
    gctrace: list[hf.GCTrace]
    tail: list[hf.GCTrace]

    @property
    def points(self) -> dict[str, hf.Point]:
        return self.run.points

    @property
    def forced(self) -> int:
        return sum(t.forced for t in self.gctrace)

    @property
    def paced(self) -> int:
        return sum(not t.forced for t in self.gctrace)


def run_twin(spec: TwinSpec | str, version: str, *, timeout: float = 120.0) -> TwinRun:
    """Run `spec` on Go `version` (a heapfacts version, e.g. "1.23") in a
    fresh process with gctrace=1.  wall_s is the process's wall time (the
    binary is built, or taken from the cache, before the clock starts)."""
    if isinstance(spec, str):
        spec = twin(spec)
    env = effective_env(spec)
    hf.build(version)
    t0 = time.perf_counter()
    r = hf.run(version, spec.scenario, gogc=env.get("GOGC"), gomemlimit=env.get("GOMEMLIMIT"),
               gomaxprocs=int(env["GOMAXPROCS"]), gctrace=True,
               cycles=spec.flags.get("cycles"), n=spec.flags.get("n"), timeout=timeout)
    wall = time.perf_counter() - t0
    if not r.points:
        raise hf.HeapOracleError(f"{spec.name} on Go {version}: no points")
    last = list(r.points.values())[-1].memstats.NumGC
    trace = [t for t in r.gctrace if t.n <= last]
    if [t.n for t in trace] != list(range(1, last + 1)):
        raise hf.HeapOracleError(
            f"{spec.name} on Go {version}: gctrace cycles {[t.n for t in trace][:20]}... "
            f"do not number 1..{last} (NumGC at the last point)")
    return TwinRun(spec=spec, version=version, env=env, run=r, wall_s=wall,
                   gctrace=trace, tail=[t for t in r.gctrace if t.n > last])


# --------------------------------------------------------------------------
# The acceptance rule
# --------------------------------------------------------------------------

# Paced cycles: GC count within max(PACED_COUNT_ABS, PACED_COUNT_REL x Go's
# count); goal and C of each pair within max(PACED_MB_ABS MiB, PACED_MB_REL x
# Go's value).  Forced cycles: C and goal exact.
PACED_COUNT_ABS = 1
PACED_COUNT_REL = 0.02
PACED_MB_ABS = 1
PACED_MB_REL = 0.03


def as_trace(x: Any) -> list[Any]:
    """Normalise a trace: gctrace text (str or bytes), an iterable of
    Go-format lines, an object with a .gctrace list (heapfacts.Run,
    TwinRun), or an iterable of records (heapfacts.GCTrace or anything with
    the fields marked_mb, goal_mb, and forced or line)."""
    if isinstance(x, bytes):
        x = x.decode()
    if isinstance(x, str):
        return hf.parse_gctrace(x if x.endswith("\n") else x + "\n")
    if hasattr(x, "gctrace"):
        return list(x.gctrace)
    items = list(x)
    if items and all(isinstance(i, str) for i in items):
        return hf.parse_gctrace("\n".join(i.rstrip("\n") for i in items) + "\n")
    return items


def _forced(rec: Any) -> bool:
    f = getattr(rec, "forced", None)
    if f is None:
        return str(rec.line).rstrip().endswith("(forced)")
    return bool(f)


def _label(rec: Any) -> str:
    n = getattr(rec, "n", None)
    return f"gc {n}" if n is not None else "gc ?"


def compare(go_trace: Any, model_trace: Any) -> list[str]:
    """The acceptance rule for a model's gctrace against Go's; returns the
    deviations (an empty list is a pass).

    * Forced cycles (runtime.GC(); lines ending "(forced)"): the model must
      have as many, and the i-th forced cycle of each must agree exactly on
      C (MiB marked live) and on the goal.
    * Paced cycles (all others): the counts may differ by at most
      max(1, 2% of Go's count); the i-th paced cycle of each, for every i
      both have, must agree on goal and on C within max(1 MiB, 3% of Go's
      value).

    Both traces may be given in any form as_trace accepts; MiB values are
    the gctrace integers (bytes >> 20)."""
    go, model = as_trace(go_trace), as_trace(model_trace)
    out: list[str] = []

    go_f = [t for t in go if _forced(t)]
    mo_f = [t for t in model if _forced(t)]
    if len(go_f) != len(mo_f):
        out.append(f"forced cycles: Go {len(go_f)}, model {len(mo_f)}")
    for i, (g, m) in enumerate(zip(go_f, mo_f), 1):
        for what, gv, mv in (("C", g.marked_mb, m.marked_mb), ("goal", g.goal_mb, m.goal_mb)):
            if gv != mv:
                out.append(f"forced #{i} (Go {_label(g)}, model {_label(m)}): {what} "
                           f"Go {gv} MB, model {mv} MB (must be equal)")

    go_p = [t for t in go if not _forced(t)]
    mo_p = [t for t in model if not _forced(t)]
    tol_n = max(PACED_COUNT_ABS, PACED_COUNT_REL * len(go_p))
    if abs(len(mo_p) - len(go_p)) > tol_n:
        out.append(f"paced cycles: Go {len(go_p)}, model {len(mo_p)} "
                   f"(allowed difference {tol_n:g})")
    for i, (g, m) in enumerate(zip(go_p, mo_p), 1):
        for what, gv, mv in (("goal", g.goal_mb, m.goal_mb), ("C", g.marked_mb, m.marked_mb)):
            tol = max(PACED_MB_ABS, PACED_MB_REL * gv)
            if abs(mv - gv) > tol:
                out.append(f"paced #{i} (Go {_label(g)}, model {_label(m)}): {what} "
                           f"Go {gv} MB, model {mv} MB (allowed difference {tol:g})")
    return out


# --------------------------------------------------------------------------
# Run-to-run stability of the real runtime
# --------------------------------------------------------------------------

def heap_numbers(trace: Any) -> list[tuple[int, bool, int, int, int, int]]:
    """(n, forced, A, B, C, goal) per cycle: the gctrace numbers a model
    reproduces (times and CPU percentages are left out)."""
    return [(t.n, _forced(t), t.heap0_mb, t.heap1_mb, t.marked_mb, t.goal_mb) for t in as_trace(trace)]


def stability(a: Any, b: Any) -> dict[str, Any]:
    """How two runs of the same twin differ in (forced, A, B, C, goal):
    identical, the cycle counts, the number of paired cycles that differ
    (and per field), the first differing pair, and compare(a, b)."""
    ha, hb = heap_numbers(a), heap_numbers(b)
    fields = ("forced", "A", "B", "C", "goal")
    per_field = dict.fromkeys(fields, 0)
    differing = 0
    first = None
    maxdiff = dict.fromkeys(fields[1:], 0)
    for x, y in zip(ha, hb):
        if x[1:] != y[1:]:
            differing += 1
            if first is None:
                first = (x, y)
        for j, f in enumerate(fields, 1):
            if x[j] != y[j]:
                per_field[f] += 1
                if f != "forced":
                    maxdiff[f] = max(maxdiff[f], abs(x[j] - y[j]))
    return {
        "identical": ha == hb,
        "cycles": (len(ha), len(hb)),
        "differing_pairs": differing,
        "per_field": per_field,
        "max_abs_mb": maxdiff,
        "first_difference": first,
        "compare": compare(a, b),
    }


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _stab_text(s: dict[str, Any]) -> str:
    if s["identical"]:
        return "identical"
    na, nb = s["cycles"]
    bits = [f"cycles {na}/{nb}"]
    if s["differing_pairs"]:
        fields = ",".join(f"{k}:{v}" for k, v in s["per_field"].items() if v)
        bits.append(f"{s['differing_pairs']} pairs differ ({fields}; max |d| MB "
                    + ",".join(f"{k}={v}" for k, v in s["max_abs_mb"].items() if v) + ")")
    bits.append("rule passes" if not s["compare"] else f"rule: {len(s['compare'])} deviations")
    return "; ".join(bits)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="append", choices=hf.RUNNABLE,
                    help="repeatable; default 1.23 and 1.21")
    ap.add_argument("--twin", action="append", help="repeatable; default: every twin in TWINS")
    ap.add_argument("--extra", action="store_true", help="also run EXTRA_TWINS")
    ap.add_argument("--repeat", type=int, default=2, help="runs per twin (default 2)")
    ap.add_argument("--lines", type=int, default=3, help="gctrace lines shown per twin")
    ap.add_argument("--json", action="store_true", help="one JSON object per run instead of the table")
    a = ap.parse_args(argv)
    versions = a.version or ["1.23", "1.21"]
    specs: Iterable[TwinSpec] = [twin(n) for n in a.twin] if a.twin else list(TWINS)
    if a.extra and not a.twin:
        specs = list(specs) + list(EXTRA_TWINS)

    rows = []
    for v in versions:
        for spec in specs:
            runs = [run_twin(spec, v) for _ in range(max(1, a.repeat))]
            if a.json:
                for i, r in enumerate(runs):
                    print(json.dumps({
                        "version": v, "twin": spec.name, "run": i, "env": r.env,
                        "flags": dict(spec.flags), "go": r.run.header.get("go"),
                        "wall_s": round(r.wall_s, 3), "forced": r.forced, "paced": r.paced,
                        "tail": len(r.tail), "gctrace": [t.line for t in r.gctrace],
                    }))
                continue
            stab = [stability(runs[0].gctrace, r.gctrace) for r in runs[1:]]
            rows.append((v, spec, runs, stab))
            r0 = runs[0]
            env = " ".join(f"{k}={val}" for k, val in r0.env.items())
            flags = " ".join(f"-{k} {val}" for k, val in spec.flags.items())
            print(f"## Go {v} ({r0.run.header.get('go')})  {spec.name}: {spec.scenario} {flags}  [{env}]")
            print(f"   cycles {len(r0.gctrace)} = {r0.forced} forced + {r0.paced} paced"
                  f" (+{len(r0.tail)} after the last point)"
                  f"; wall {', '.join(f'{r.wall_s:.2f}' for r in runs)} s")
            for i, s in enumerate(stab, 2):
                print(f"   run 1 vs run {i}: {_stab_text(s)}")
                if s["first_difference"] is not None:
                    print(f"     first difference (n, forced, A, B, C, goal): {s['first_difference']}")
            for t in r0.gctrace[:a.lines]:
                print("   " + t.line)
            sys.stdout.flush()
    if a.json:
        return 0

    print()
    hdr = f"{'version':8} {'twin':18} {'cycles':>7} {'forced':>6} {'paced':>7} {'tail':>4} {'wall s':>14}  stability"
    print(hdr)
    print("-" * len(hdr))
    for v, spec, runs, stab in rows:
        r0 = runs[0]
        counts = "/".join(str(len(r.gctrace)) for r in runs)
        walls = "/".join(f"{r.wall_s:.1f}" for r in runs)
        st = "; ".join(_stab_text(s) for s in stab) or "-"
        print(f"{v:8} {spec.name:18} {counts:>7} {r0.forced:>6} {r0.paced:>7} {len(r0.tail):>4} {walls:>14}  {st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
