#!/usr/bin/env python3
"""Measure the baseline of the modelled Go process on the real Go toolchains
and write pymap/_baselines.py (or, with --check, verify it).

    python tools/measure_baselines.py                 # measure, write pymap/_baselines.py
    python tools/measure_baselines.py --check         # re-measure, exit 1 on a difference
    python tools/measure_baselines.py --runs 31 --versions 1.21 1.23 --stdout
    python tools/measure_baselines.py --merge --versions 1.27   # re-measure 1.27 only,
                                                  # keep every other measured row

What is measured
----------------
The "baseline" scenario of tests/conformance/heap_oracle (the program the heap
facts are judged with) is run in a fresh process, ``--runs`` times per Go
version, with GOMAXPROCS=1 and every other GO* variable unset (GOGC=100, no
memory limit).  The figures are taken at its "gc" point: right after the
process's first runtime.GC(), before any map is made.  The statistic is the
median: each field's median over the runs (statistics.median_low: for an
odd number of runs the middle value), and the stored figures are those of
the "median process", the one run nearest those per-field medians (see
median_process()), so that they are one process's mutually consistent
MemStats.  Where that run is off a field's median, BASELINE_SOURCE says by
how much (it is not, in the usual majority state).  Fields and sources: see
FIELDS below.

Even with GOMAXPROCS=1 the absolute figures are not deterministic: in a
minority of processes the runtime makes a few more allocations (most often a
jump of ~1.8-3 KiB in 3-5 objects, the size of an extra m plus its g0/gsignal,
i.e. one more OS thread started; ~5.3-5.9 KiB in 6-9 objects on 1.24-1.27,
where the two states are about equally common; on 1.23+ also 32-1056 B
steps).  Hence the median, the observed spread stored next to it, and
TOLERANCE.  Which state is the majority can change from one batch of runs to
the next (seen: 1.21's +288 B state, 1.22's +2.9 KiB one), so two
generations may differ by one such step -- within TOLERANCE.  Where a
version's spread is wider than TOLERANCE in some field (1.26+: HeapSys and
HeapReleased +4 MiB together in a minority of runs), TOLERANCE_BY_VERSION
widens that field for that version only.

Go 1.19 has no /gc/scan/* metrics.  Its substitute is GODEBUG=gcpacertrace=1:
at the end of each GC cycle whose heap grew during marking, the 1.19 runtime
(gcControllerState.endCycle) prints

    pacer: ...% CPU (25 exp.) for H+S+G B work (E B exp.) in ...

where G is the globals scan work of that cycle (the whole data+bss, i.e.
globalsScan) and E = lastHeapScan + lastStackScan + globalsScan as left by
the *previous* cycle.  The baseline scenario has a single, forced GC whose
end line is never printed (the heap does not grow while it marks), so the
substitute runs fill-clear-gc (same code up to its "baseline" point, then a
map fill that triggers automatic GCs) and reads cycle 2's line: G is
`globals`, E - G is `heap_scan_plus_stacks` of the state after GC 1.  The
split between heap_scan and stacks is not printed anywhere on 1.19: those two
fields are not measured there (NOT_MEASURED).  The same reading is taken on
1.21+ and compared with /gc/scan/* of the same process (SUBSTITUTE_CHECK):
it must agree exactly.

Versions without a toolchain (1.20: goruntime installs none) get the values
of the nearest measured version (ties: the older one, as pymap infers 1.20
from 1.19); BASELINE_SOURCE says so.  The version names written are those of
the existing --output file, the measured ones and, if the package imports,
pymap.GO_VERSIONS: measuring never needs pymap (its C core may be mid-rebuild).

--merge re-measures only --versions and keeps every other measured row of the
existing --output file as it is (figures, spread, source text, substitute
check, measurement date in MEASURED_ON).  It refuses when the heap_oracle
sources changed since that file was generated (the kept rows would belong to
another program).

The figures belong to heap_oracle: another program has other globals and
init-time allocations.  HEAP_ORACLE_SOURCES fingerprints the sources they
were measured from; regenerate after changing the program.

Standard library only, plus tests/conformance/heapfacts.py (and goruntime.py,
which installs missing toolchains on demand); pymap is imported only, and
optionally, for the list of version names.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import inspect
import re
import statistics
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "conformance"))

import goruntime  # noqa: E402
import heapfacts as hf  # noqa: E402

OUTPUT = REPO / "pymap" / "_baselines.py"
DEFAULT_RUNS = 101
GOMAXPROCS = 1
# Keys of the fill in the pacer-trace runs: enough for several automatic GCs
# (> 4 MiB of buckets), ~20-30 ms per run.  Only the prefix up to the second
# GC matters.
PACER_FILL_N = 100_000
# Pacer-trace runs may lack cycle 2's end line: endCycle returns early unless
# heapLive > triggered, and 1.21+ set triggered to heapLive at the cycle's
# start (so the heap must grow while cycle 2 marks), 1.19 to the trigger
# point (its line was printed in every run seen).  Seen in 45-95% of 1.21+ runs when idle,
# 15-65% under CPU load; hence up to max(4 x runs, PACER_MIN_ATTEMPTS) tries.
PACER_ATTEMPTS_PER_RUN = 4
PACER_MIN_ATTEMPTS = 40

FIELDS: dict[str, str] = {
    "heap_alloc": "MemStats.HeapAlloc (B)",
    "heap_objects": "MemStats.HeapObjects",
    "heap_inuse": "MemStats.HeapInuse (B)",
    "heap_sys": "MemStats.HeapSys (B)",
    "heap_released": "MemStats.HeapReleased (B)",
    "total_alloc": "MemStats.TotalAlloc (B)",
    "mallocs": "MemStats.Mallocs",
    "frees": "MemStats.Frees",
    "other_sys": "MemStats.Sys - MemStats.HeapSys (B)",
    "globals": "/gc/scan/globals:bytes (gcController.globalsScan: data + bss); "
               "1.19: globals scan work of GC 2 in the gcpacertrace line",
    "stacks": "/gc/scan/stack:bytes (lastStackScan: stack bytes scanned by the GC)",
    "heap_scan": "/gc/scan/heap:bytes (heapScan: scannable heap bytes)",
    "heap_scan_plus_stacks": "heap_scan + stacks; "
                             "1.19: E - G of GC 2's gcpacertrace line (see the module doc)",
}

_MEMSTATS = {
    "heap_alloc": "HeapAlloc", "heap_objects": "HeapObjects", "heap_inuse": "HeapInuse",
    "heap_sys": "HeapSys", "heap_released": "HeapReleased", "total_alloc": "TotalAlloc",
    "mallocs": "Mallocs", "frees": "Frees",
}
_METRICS = {
    "globals": "/gc/scan/globals:bytes",
    "stacks": "/gc/scan/stack:bytes",
    "heap_scan": "/gc/scan/heap:bytes",
}

# Largest accepted |re-measured - stored|, per field.  Chosen from the spread
# seen over 200 idle + 100 loaded runs per version (GOMAXPROCS=1, heap_oracle
# of 2026-11-26), largest deviation of one run from the median:
#   globals, stacks: 0 (identical in every run);
#   heap_alloc / total_alloc: up to 5.7 KiB (1.24-noswiss), heap_scan 3.3 KiB;
#   heap_objects / mallocs: up to 8; frees: up to 3;
#   heap_inuse: up to two pages (16 KiB); heap_sys / heap_released: up to 72 KiB
#   (the heap grows by 32/64 KiB more in some runs, the scavenger releases
#   what it releases); other_sys: +32/+64 KiB in the same runs.
# A re-measurement (the median process of a few runs in the test, of --runs
# runs with --check) is compared with the same bounds.
TOLERANCE: dict[str, int] = {
    "globals": 0,
    "stacks": 0,
    "heap_alloc": 8 << 10,
    "total_alloc": 8 << 10,
    "heap_scan": 8 << 10,
    "heap_scan_plus_stacks": 8 << 10,
    "heap_objects": 16,
    "mallocs": 16,
    "frees": 4,
    "heap_inuse": 32 << 10,
    "heap_sys": 128 << 10,
    "heap_released": 128 << 10,
    "other_sys": 256 << 10,
}

# Per-version widenings of TOLERANCE, where the spread seen (OBSERVED_SPREAD;
# 101 runs at generation plus ~100 trial and test runs per version,
# 2026-12-02) is wider than the default allows:
#   1.26, 1.27: in ~5-25% of processes HeapSys and HeapReleased are both
#     exactly 4 MiB higher (heap_sys 8,126,464-8,159,232 instead of
#     3,932,160-3,964,928): the heap mapped one more 4 MiB and released it at
#     once, so nothing else moves (cause not identified; not seen on 1.21-1.25).
#   1.25-1.27 (and 1.25-noswiss): other_sys has two families of values,
#     3,922,184 / 3,954,952 / 3,991,832 and 4,184,328 / 4,217,096, up to
#     294,912 B apart (over the default 256 KiB).  1.25-noswiss shows both in
#     one batch (~15-20% low), 1.26 the high one rarely (once in ~200 runs),
#     1.25 only the high and 1.27 only the low one so far: the same runtime
#     behaviour, so the same bound for all four.
_HEAP_SYS_4MIB = (4 << 20) + (128 << 10)
_OTHER_SYS_125 = 512 << 10
TOLERANCE_BY_VERSION: dict[str, dict[str, int]] = {
    "1.25-noswiss": {"other_sys": _OTHER_SYS_125},
    "1.25": {"other_sys": _OTHER_SYS_125},
    "1.26": {"heap_sys": _HEAP_SYS_4MIB, "heap_released": _HEAP_SYS_4MIB,
             "other_sys": _OTHER_SYS_125},
    "1.27": {"heap_sys": _HEAP_SYS_4MIB, "heap_released": _HEAP_SYS_4MIB,
             "other_sys": _OTHER_SYS_125},
}


def tolerance_for(version: str, table: dict[str, dict[str, int]] | None = None,
                  default: dict[str, int] | None = None) -> dict[str, int]:
    """TOLERANCE with `version`'s widenings applied (from `table`, default
    TOLERANCE_BY_VERSION)."""
    table = TOLERANCE_BY_VERSION if table is None else table
    return {**(TOLERANCE if default is None else default), **table.get(version, {})}


_PACER_START = re.compile(r"^pacer: assist ratio=")
_PACER_END = re.compile(
    r"^pacer: -?\d+% CPU \(\d+ exp\.\) for (\d+)\+(\d+)\+(\d+) B work \((\d+) B exp\.\)")


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

def sources_hash() -> str:
    """Fingerprint of the heap_oracle sources (.go files and go.mod)."""
    h = hashlib.sha256()
    for p in sorted(q for q in hf.SRC.iterdir()
                    if q.is_file() and (q.suffix == ".go" or q.name == "go.mod")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def available(version: str, install: bool = True) -> bool:
    return goruntime.toolchain(version, install=install) is not None


def baseline_once(version: str) -> tuple[dict[str, int], str]:
    """One run of the baseline scenario: the fields at its "gc" point, and
    runtime.Version() of the process."""
    r = hf.run(version, "baseline", gomaxprocs=GOMAXPROCS)
    p = r.points["gc"]
    out = {k: int(getattr(p.memstats, f)) for k, f in _MEMSTATS.items()}
    out["other_sys"] = p.memstats.Sys - p.memstats.HeapSys
    for k, name in _METRICS.items():
        if name in p.metrics:
            out[k] = p.metrics[name]
    if "heap_scan" in out and "stacks" in out:
        out["heap_scan_plus_stacks"] = out["heap_scan"] + out["stacks"]
    return out, str(r.header.get("go", ""))


def pacer_cycle(stderr: str, cycle: int = 2) -> tuple[int, int, int, int] | None:
    """(heap work, stack work, globals work, expected work) of GC `cycle`'s
    end-of-cycle gcpacertrace line, or None if the runtime did not print it.

    Cycle k's lines come after the k-th "pacer: assist ratio=" line (printed
    by gcControllerState.startCycle) and before the next one."""
    n = 0
    for line in stderr.splitlines():
        if _PACER_START.match(line):
            n += 1
            if n > cycle:
                return None
        elif n == cycle:
            m = _PACER_END.match(line)
            if m:
                return int(m[1]), int(m[2]), int(m[3]), int(m[4])
    return None


def pacer_once(version: str) -> dict[str, int] | None:
    """One fill-clear-gc run with GODEBUG=gcpacertrace=1 and GOMAXPROCS=1:
    {"globals", "heap_scan_plus_stacks"} from GC 2's end line, plus the
    /gc/scan/* figures of the same process's "baseline" point where the
    version has them ("metric_globals", "metric_heap_scan_plus_stacks").
    None if GC 2's end line was not printed."""
    kw = {}
    if "n" in inspect.signature(hf.run).parameters:
        kw["n"] = PACER_FILL_N
    r = hf.run(version, "fill-clear-gc", godebug="gcpacertrace=1", gomaxprocs=GOMAXPROCS, **kw)
    c = pacer_cycle(r.stderr)
    if c is None:
        return None
    _, _, glob, expected = c
    out = {"globals": glob, "heap_scan_plus_stacks": expected - glob}
    m = r.points["baseline"].metrics
    if all(_METRICS[k] in m for k in ("globals", "stacks", "heap_scan")):
        out["metric_globals"] = m[_METRICS["globals"]]
        out["metric_heap_scan_plus_stacks"] = m[_METRICS["heap_scan"]] + m[_METRICS["stacks"]]
    return out


def pacer_runs(version: str, runs: int) -> tuple[list[dict[str, int]], int]:
    """Up to `runs` readings of pacer_once(), and the number of processes
    started to get them (at most max(4 x runs, PACER_MIN_ATTEMPTS))."""
    got: list[dict[str, int]] = []
    attempts = 0
    while len(got) < runs and attempts < max(runs * PACER_ATTEMPTS_PER_RUN, PACER_MIN_ATTEMPTS):
        attempts += 1
        p = pacer_once(version)
        if p is not None:
            got.append(p)
    return got, attempts


@dataclass
class Measurement:
    version: str
    go: str
    runs: int
    values: dict[str, int]                        # the chosen process's figures
    spread: dict[str, tuple[int, int]]            # (min - value, max - value)
    off_median: dict[str, int]                    # value - per-field median, where not 0
    not_measured: tuple[str, ...]
    substitutes: dict[str, str] = field(default_factory=dict)   # field -> how
    substitute_check: dict[str, int] = field(default_factory=dict)
    measured_on: str = ""                         # UTC date; "" = today
    source: str = ""                              # kept BASELINE_SOURCE text (--merge)


def _median(xs: list[int]) -> int:
    return int(statistics.median_low(xs))


def median_process(samples: list[dict[str, int]],
                   tolerance: dict[str, int] | None = None) -> tuple[dict[str, int], dict[str, int]]:
    """The figures of the "median process": the run nearest the per-field
    medians (distance: sum over fields of |value - median| / tolerance,
    default TOLERANCE;
    ties: the earliest run).  Taking one process instead of each field's
    own median keeps the figures mutually consistent (HeapObjects =
    Mallocs - Frees, TotalAlloc - HeapAlloc = bytes freed, ...); with the
    usual majority state it equals the per-field medians in every field.
    Returns (figures, {field: figure - median} for the fields that differ)."""
    tol = TOLERANCE if tolerance is None else tolerance
    keys = list(samples[0])
    med = {k: _median([s[k] for s in samples]) for k in keys}

    def dist(s: dict[str, int]) -> float:
        return sum(abs(s[k] - med[k]) / max(tol.get(k, 1), 1) for k in keys)

    best = min(range(len(samples)), key=lambda i: (dist(samples[i]), i))
    chosen = dict(samples[best])
    return chosen, {k: chosen[k] - med[k] for k in keys if chosen[k] != med[k]}


def measure(version: str, runs: int) -> Measurement:
    """Measure `version`: `runs` baseline processes (the median process's
    figures), plus `runs` gcpacertrace processes (1.19: the substitute
    fields, per-field medians; 1.21+: the substitute's check)."""
    samples: list[dict[str, int]] = []
    gos: set[str] = set()
    for _ in range(runs):
        vals, go = baseline_once(version)
        gos.add(go)
        samples.append(vals)
    if len(gos) != 1:
        raise RuntimeError(f"Go {version}: runs reported different versions {sorted(gos)}")
    values, off = median_process(samples, tolerance_for(version))
    columns = {k: [s[k] for s in samples] for k in values}
    substitutes: dict[str, str] = {}
    check: dict[str, int] = {}
    pac, attempts = pacer_runs(version, runs)
    if "globals" not in values:
        # No /gc/scan/* (1.19): the gcpacertrace substitute.
        if not pac:
            raise hf.HeapOracleError(
                f"Go {version}: no gcpacertrace end line for GC 2 in {attempts} fill-clear-gc runs")
        how = (f"GODEBUG=gcpacertrace=1, GC 2's end-of-cycle line in fill-clear-gc "
               f"(-n {PACER_FILL_N}), median of {len(pac)} runs")
        for k in ("globals", "heap_scan_plus_stacks"):
            columns[k] = [p[k] for p in pac]
            values[k] = _median(columns[k])
            substitutes[k] = how
    else:
        # Validate the substitute where the metrics exist ("runs" may be 0:
        # then it was not checked).
        check["runs"] = len(pac)
        check["globals_mismatches"] = sum(p["globals"] != p["metric_globals"] for p in pac)
        check["heap_scan_plus_stacks_mismatches"] = sum(
            p["heap_scan_plus_stacks"] != p["metric_heap_scan_plus_stacks"] for p in pac)
        if pac:
            check["substitute_median_minus_baseline_median"] = (
                _median([p["heap_scan_plus_stacks"] for p in pac])
                - _median(columns["heap_scan_plus_stacks"]))
    values = {k: values[k] for k in FIELDS if k in values}
    spread = {k: (min(columns[k]) - values[k], max(columns[k]) - values[k]) for k in values}
    not_measured = tuple(k for k in FIELDS if k not in values)
    return Measurement(version, gos.pop(), runs, values, spread, off, not_measured,
                       substitutes, check)


def _vkey(v: str) -> tuple[int, int]:
    major, minor = v.split("-")[0].split(".")[:2]
    return int(major), int(minor)


def _distance(a: str, b: str) -> int:
    (x, y), (u, w) = _vkey(a), _vkey(b)
    return abs((x * 100 + y) - (u * 100 + w))


def nearest(version: str, measured: list[str]) -> tuple[str, list[str]]:
    """The measured version nearest to `version` (ties: the older one, as
    pymap infers 1.20 from 1.19), and the other measured versions as near."""
    best = min(measured, key=lambda m: (_distance(version, m), _vkey(m)))
    ties = [m for m in measured if m != best and _distance(version, m) == _distance(version, best)]
    return best, ties


def pymap_versions() -> tuple[str, ...]:
    """pymap.GO_VERSIONS, or () when the package does not import (measuring
    must not depend on it: its C core may be mid-rebuild)."""
    try:
        import pymap
        return tuple(pymap.GO_VERSIONS)
    except Exception:   # ImportError, a stale or missing compiled core, ...
        return ()


def _order(v: str) -> tuple[int, int, int, str]:
    """Version order: by release, the classic (-noswiss) build before the
    default one of the same release."""
    major, minor = _vkey(v)
    return major, minor, 0 if v.endswith("-noswiss") else 1, v


def version_names(*groups: object) -> tuple[str, ...]:
    """The union of the given name lists, in version order."""
    names: set[str] = set()
    for g in groups:
        names.update(g)  # type: ignore[arg-type]
    return tuple(sorted(names, key=_order))


def stored_measurements(path: Path) -> tuple[dict[str, Measurement], dict[str, object]]:
    """The measured rows of an existing generated file, as Measurements that
    render() writes back unchanged; and the file's namespace."""
    ns = load_stored(path)
    base: dict[str, dict[str, int]] = ns["BASELINES"]  # type: ignore[assignment]
    gos: dict[str, str] = ns["GO_VERSION_STRINGS"]  # type: ignore[assignment]
    src: dict[str, str] = ns["BASELINE_SOURCE"]  # type: ignore[assignment]
    spread: dict[str, dict[str, tuple[int, int]]] = ns["OBSERVED_SPREAD"]  # type: ignore[assignment]
    checks: dict[str, dict[str, int]] = ns.get("SUBSTITUTE_CHECK", {})  # type: ignore[assignment]
    not_meas: dict[str, tuple[str, ...]] = ns.get("NOT_MEASURED", {})  # type: ignore[assignment]
    dates: dict[str, str] = ns.get("MEASURED_ON", {})  # type: ignore[assignment]
    runs = ns.get("RUNS")
    out: dict[str, Measurement] = {}
    for v, go in gos.items():
        r = runs.get(v) if isinstance(runs, dict) else runs
        out[v] = Measurement(
            version=v, go=go, runs=int(r), values=dict(base[v]),  # type: ignore[arg-type]
            spread=dict(spread[v]), off_median={}, not_measured=tuple(not_meas.get(v, ())),
            substitute_check=dict(checks.get(v, {})),
            measured_on=dates.get(v, str(ns.get("GENERATED", ""))), source=src[v])
    return out, ns


# --------------------------------------------------------------------------
# Writing pymap/_baselines.py
# --------------------------------------------------------------------------

def _fmt(obj: object, indent: int = 0) -> str:
    """A Python literal for obj (dicts, tuples, str, int), one entry a line,
    long strings split into adjacent literals."""
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{_fmt(k)}: {_fmt(v, indent + 4)}," for k, v in obj.items()]
        return "{\n" + "\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, tuple):
        return "(" + ", ".join(_fmt(x, indent) for x in obj) + ("," if len(obj) == 1 else "") + ")"
    if isinstance(obj, str) and len(obj) > 72:
        parts = textwrap.wrap(obj, 72, drop_whitespace=False, break_on_hyphens=False)
        if "".join(parts) != obj:  # never seen; fall back to one literal
            return _str(obj)
        return "(\n" + "\n".join(f"{inner}{_str(x)}" for x in parts) + "\n" + pad + ")"
    if isinstance(obj, str):
        return _str(obj)
    if isinstance(obj, int) and not isinstance(obj, bool):
        return repr(obj)
    raise TypeError(f"cannot render {type(obj).__name__}")


def _str(x: str) -> str:
    r = repr(x)
    if "\"" not in x and "\\" not in r:
        r = '"' + x + '"'
    return r


def render(ms: dict[str, Measurement], names: tuple[str, ...], runs: int) -> str:
    names = version_names(names, ms)
    measured = [v for v in names if v in ms]
    if not measured:
        raise RuntimeError("no version could be measured")
    baselines: dict[str, dict[str, int]] = {}
    source: dict[str, str] = {}
    not_measured: dict[str, tuple[str, ...]] = {}
    for v in names:
        m = ms.get(v)
        if m is not None and m.source:
            desc = m.source
        elif m is not None:
            desc = f"measured: {m.go}, GOMAXPROCS={GOMAXPROCS}, median process of {m.runs} runs"
            if m.off_median:
                desc += " (off the per-field median: " + ", ".join(
                    f"{k} {d:+}" for k, d in m.off_median.items()) + ")"
            if m.substitutes:
                subs = sorted(m.substitutes)
                desc += (f"; {', '.join(subs)} from {m.substitutes[subs[0]]} "
                         f"(no /gc/scan/* metrics in this version)")
            if m.not_measured:
                desc += f"; not measured: {', '.join(m.not_measured)}"
        else:
            near, ties = nearest(v, measured)
            m = ms[near]
            why = ("tests/conformance/goruntime.py installs none" if v not in hf.RUNNABLE
                   else "unavailable when generated")
            desc = (f"not measured (no Go {v} toolchain: {why}): copy of {m.version} "
                    f"({m.go}), the nearest measured version")
            if ties:
                desc += f" (as near: {', '.join(ties)}; the older one is taken"
                if (v, m.version) == ("1.20", "1.19"):
                    desc += ", as pymap models 1.20's maps on 1.19"
                desc += ")"
            if m.not_measured:
                desc += f"; so not measured either: {', '.join(m.not_measured)}"
        baselines[v] = {k: m.values[k] for k in FIELDS if k in m.values}
        source[v] = desc
        if m.not_measured:
            not_measured[v] = m.not_measured
    go_strings = {v: ms[v].go for v in measured}
    spread = {v: {k: ms[v].spread[k] for k in FIELDS if k in ms[v].spread} for v in measured}
    checks = {v: ms[v].substitute_check for v in measured if ms[v].substitute_check}
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    dates = {v: ms[v].measured_on or today for v in measured}
    run_counts = {v: ms[v].runs for v in measured}
    runs_lit = (str(next(iter(run_counts.values()))) if len(set(run_counts.values())) == 1
                else _fmt(run_counts))
    tol_by_v = {v: TOLERANCE_BY_VERSION[v] for v in measured if v in TOLERANCE_BY_VERSION}
    go_list = "\n".join(textwrap.wrap(
        "toolchains (" + ", ".join(f"{v}: {g}" for v, g in go_strings.items()) + ").", 76))
    doc = f'''"""Baseline of the modelled Go process, per Go version.  GENERATED: do not edit.

Produced by tools/measure_baselines.py on {today} (UTC) from the real Go
{go_list}
Rows kept from an earlier generation by --merge keep their date (MEASURED_ON).
Regenerate:  python tools/measure_baselines.py
             python tools/measure_baselines.py --merge --versions V...  (only V...)
Verify:      python tools/measure_baselines.py --check   (exits 1 on a difference)
Tested by:   tests/conformance/test_baselines.py

Each version's process is tests/conformance/heap_oracle's "baseline"
scenario (sources fingerprint HEAP_ORACLE_SOURCES), run with GOMAXPROCS=1 and
GOGC/GOMEMLIMIT/GODEBUG unset; the figures are those right after its first
runtime.GC(), before any map exists.  Statistic: the median over RUNS fresh
processes -- the figures of the one process nearest every field's median
(statistics.median_low), so they are mutually consistent; BASELINE_SOURCE
notes any field where it is off its median.  They are the figures of that
program: another one has other globals and init allocations.

Even with one P the runtime sometimes allocates a little more (an extra OS
thread: ~1.8-3 KiB in 3-5 objects, ~5.3-5.9 KiB in 6-9 objects on 1.24-1.27;
on 1.23+ also 32-1056 B steps; on 1.26+ HeapSys and HeapReleased sometimes
4 MiB higher): OBSERVED_SPREAD gives min - stored and max - stored per field,
TOLERANCE the accepted difference on re-measurement (0 for globals and
stacks, which never varied), widened per version by TOLERANCE_BY_VERSION.

Go 1.19 has no /gc/scan/* metrics: its globals and heap_scan_plus_stacks come
from GODEBUG=gcpacertrace=1 (GC 2's end-of-cycle line carries the globals scan
work and lastHeapScan + lastStackScan + globalsScan left by GC 1; checked
against /gc/scan/* on 1.21+, see SUBSTITUTE_CHECK), and its heap_scan and
stacks are not measured (NOT_MEASURED; absent from BASELINES).  Versions
without a toolchain take the values of the nearest measured one
(BASELINE_SOURCE).
"""
'''
    body = [
        doc,
        "from __future__ import annotations\n",
        f"GENERATED = {_str(today)}",
        f"GOMAXPROCS = {GOMAXPROCS}",
        f"RUNS = {runs_lit}",
        'STATISTIC = "median process of RUNS: the run nearest every field\'s median_low"',
        f"HEAP_ORACLE_SOURCES = {_str(sources_hash())}",
        "",
        "# UTC date each measured version's figures were taken (rows kept by",
        "# --merge keep their date).",
        f"MEASURED_ON: dict[str, str] = {_fmt(dates)}",
        "",
        "# runtime.Version() of each measured process.",
        f"GO_VERSION_STRINGS: dict[str, str] = {_fmt(go_strings)}",
        "",
        "# What each field is (all taken at the baseline scenario's \"gc\" point).",
        f"FIELDS: dict[str, str] = {_fmt(FIELDS)}",
        "",
        f"BASELINES: dict[str, dict[str, int]] = {_fmt(baselines)}",
        "",
        f"BASELINE_SOURCE: dict[str, str] = {_fmt(source)}",
        "",
        "# Fields absent from BASELINES[version]: no measurement exists for them.",
        f"NOT_MEASURED: dict[str, tuple[str, ...]] = {_fmt(not_measured)}",
        "",
        "# (min - stored, max - stored) over the RUNS processes, per measured version.",
        f"OBSERVED_SPREAD: dict[str, dict[str, tuple[int, int]]] = {_fmt(spread)}",
        "",
        "# Largest accepted |re-measured - stored| per field (one run or a median).",
        f"TOLERANCE: dict[str, int] = {_fmt(TOLERANCE)}",
        "",
        "# Per-version widenings of TOLERANCE (tools/measure_baselines.py says why);",
        "# a version's accepted difference is {**TOLERANCE, **TOLERANCE_BY_VERSION[v]}.",
        f"TOLERANCE_BY_VERSION: dict[str, dict[str, int]] = {_fmt(tol_by_v)}",
        "",
        "# The gcpacertrace reading vs /gc/scan/* of the same process (1.21+):",
        "# mismatches must be 0; the last figure is the substitute's median (a",
        "# fill-clear-gc process) minus the baseline scenario's median (noise: a",
        "# different process, with the same few-KiB extra-thread wobble).",
        f"SUBSTITUTE_CHECK: dict[str, dict[str, int]] = {_fmt(checks)}",
        "",
    ]
    return "\n".join(body)


# --------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------

def compare(stored: dict[str, int], got: dict[str, int],
            tolerance: dict[str, int] | None = None) -> list[str]:
    """Differences beyond `tolerance` (default TOLERANCE) between stored and
    re-measured fields (fields present in both)."""
    tolerance = TOLERANCE if tolerance is None else tolerance
    bad = []
    for k, want in stored.items():
        if k not in got:
            continue
        tol = tolerance.get(k, 0)
        if abs(got[k] - want) > tol:
            bad.append(f"{k}: stored {want}, measured {got[k]} "
                       f"(diff {got[k] - want:+}, tolerance {tol})")
    return bad


def load_stored(path: Path) -> dict[str, object]:
    ns: dict[str, object] = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    return ns


def check(path: Path, versions: list[str], runs: int, install: bool) -> int:
    ns = load_stored(path)
    baselines: dict[str, dict[str, int]] = ns["BASELINES"]  # type: ignore[assignment]
    go_strings: dict[str, str] = ns["GO_VERSION_STRINGS"]  # type: ignore[assignment]
    status = 0
    if ns.get("HEAP_ORACLE_SOURCES") != sources_hash():
        print(f"note: heap_oracle sources changed since generation "
              f"({ns.get('HEAP_ORACLE_SOURCES')} -> {sources_hash()})")
    for v in versions:
        if v not in go_strings:
            print(f"{v}: not measured when generated; skipped")
            continue
        if not available(v, install):
            print(f"{v}: no toolchain ({goruntime.why_missing(v)}); not checked")
            continue
        m = measure(v, runs)
        if m.go != go_strings[v]:
            print(f"{v}: note: toolchain is {m.go}, stored figures are from {go_strings[v]}")
        bad = compare(baselines[v], m.values, tolerance_for(v))
        for k in ("globals_mismatches", "heap_scan_plus_stacks_mismatches"):
            if m.substitute_check.get(k):
                bad.append(f"gcpacertrace substitute disagrees with /gc/scan/*: {k}={m.substitute_check[k]}")
        if bad:
            status = 1
            print(f"{v}: DIFFERS ({m.go}, median process of {runs} runs)")
            for b in bad:
                print("    " + b)
        else:
            print(f"{v}: ok ({m.go}, median process of {runs} runs, {len(baselines[v])} fields)")
    return status


# --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=DEFAULT_RUNS,
                    help=f"processes per version (default {DEFAULT_RUNS})")
    ap.add_argument("--versions", nargs="*", choices=hf.RUNNABLE, default=list(hf.RUNNABLE),
                    help="versions to measure (with --merge and none given: rewrite the "
                         "stored rows only, e.g. after a change to TOLERANCE_BY_VERSION)")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--stdout", action="store_true", help="print the module instead of writing it")
    ap.add_argument("--check", action="store_true",
                    help="re-measure and compare with --output; exit 1 on a difference")
    ap.add_argument("--no-install", action="store_true", help="do not install missing toolchains")
    ap.add_argument("--merge", action="store_true",
                    help="measure only --versions and keep every other measured row of --output")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs must be >= 1")
    if not a.versions and not a.merge:
        ap.error("--versions: give at least one version (or --merge)")
    if a.check:
        return check(a.output, a.versions, a.runs, not a.no_install)
    ms: dict[str, Measurement] = {}
    stored_names: tuple[str, ...] = ()
    if a.output.exists():
        stored_names = tuple(load_stored(a.output)["BASELINES"])  # type: ignore[arg-type]
    if a.merge:
        if not a.output.exists():
            ap.error(f"--merge: {a.output} does not exist")
        kept, ns = stored_measurements(a.output)
        if ns.get("HEAP_ORACLE_SOURCES") != sources_hash():
            print(f"--merge: the heap_oracle sources changed since {a.output} was generated "
                  f"({ns.get('HEAP_ORACLE_SOURCES')} -> {sources_hash()}): its rows belong to "
                  f"another program; regenerate every version", file=sys.stderr)
            return 2
        ms.update(kept)
    for v in a.versions:
        if not available(v, not a.no_install):
            print(f"{v}: no toolchain ({goruntime.why_missing(v)}); not measured"
                  + ("; the stored row is kept" if v in ms else ""), file=sys.stderr)
            continue
        ms[v] = measure(v, a.runs)
        print(f"{v}: {ms[v].go}: {ms[v].values}", file=sys.stderr)
    text = render(ms, version_names(pymap_versions(), stored_names), a.runs)
    if a.stdout:
        sys.stdout.write(text)
    else:
        a.output.write_text(text)
        print(f"wrote {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
