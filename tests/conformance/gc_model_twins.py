"""pymap's side of the GC twins: each heap_oracle scenario of gc_twins.TWINS
re-enacted on a pymap.Runtime with the same Go version and environment.

    from gc_model_twins import run_model
    rt = run_model(gc_twins.twin("fill-clear-gc"), "1.23")
    rt.gctrace        # to compare with gc_twins.run_twin(...).gctrace

Command line: python tests/conformance/gc_model_twins.py [--version 1.23]
[--twin NAME ...] [--go-vs-go] prints, per twin, the real and the model's
traces side by side (heap numbers only) and the deviations gc_twins.compare
finds; --go-vs-go also runs Go a second time and reports compare(go1, go2).

    python tests/conformance/gc_model_twins.py --markdown --go-vs-go > docs/gc-twins.md

runs every twin once on Go and once on the model for each version (default
1.21 1.22 1.23 1.24-noswiss) and prints the markdown page docs/gc-twins.md
(progress goes to stderr).
"""
from __future__ import annotations

import argparse
import datetime
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

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


# --------------------------------------------------------------------------
# Go against the model (and Go against Go), twin by twin
# --------------------------------------------------------------------------

MARKDOWN_VERSIONS = ("1.21", "1.22", "1.23", "1.24-noswiss")
EXCERPT_VERSION = "1.23"
EXCERPT_CYCLES = 8
DEVIATIONS_SHOWN = 10


@dataclass
class TwinResult:
    """One twin on one version: the real run, the model's trace from the
    real run's baseline, compare(go, model); with go_vs_go, a second real run
    and compare(go, go2) (and compare(go2, model)).  error: why the twin could not be run."""
    spec: gc_twins.TwinSpec
    version: str
    go: Optional[gc_twins.TwinRun] = None
    model: list[Any] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    model_wall_s: float = 0.0
    go2: Optional[gc_twins.TwinRun] = None
    go_deviations: Optional[list[str]] = None
    go_identical: Optional[bool] = None
    model_vs_go2: Optional[list[str]] = None
    error: Optional[str] = None

    @property
    def model_forced(self) -> int:
        return sum(gc_twins._forced(t) for t in self.model)

    @property
    def model_paced(self) -> int:
        return len(self.model) - self.model_forced


def evaluate(spec: gc_twins.TwinSpec, version: str, go_vs_go: bool = False) -> TwinResult:
    """Run `spec` once on Go `version` and once on the model (from the real
    run's baseline); with go_vs_go, run Go a second time too."""
    res = TwinResult(spec, version)
    try:
        res.go = gc_twins.run_twin(spec, version)
        base = res.go.points.get("baseline")
        t0 = time.perf_counter()
        rt = run_model(spec, version, baseline_of(base) if base is not None else None)
        res.model_wall_s = time.perf_counter() - t0
        res.model = gc_twins.as_trace(rt.gctrace)
        res.deviations = gc_twins.compare(res.go.gctrace, res.model)
        if go_vs_go:
            res.go2 = gc_twins.run_twin(spec, version)
            res.go_deviations = gc_twins.compare(res.go.gctrace, res.go2.gctrace)
            res.model_vs_go2 = gc_twins.compare(res.go2.gctrace, res.model)
            res.go_identical = (gc_twins.heap_numbers(res.go.gctrace)
                                == gc_twins.heap_numbers(res.go2.gctrace))
    except Exception as e:  # a missing toolchain, a failed run: reported, not fatal
        res.error = f"{type(e).__name__}: {e}"
    return res


def _paced_diff_pct(go_paced: int, model_paced: int) -> str:
    if go_paced == 0:
        return "0" if model_paced == 0 else f"+{model_paced} cycles (Go 0)"
    return f"{100.0 * (model_paced - go_paced) / go_paced:+.1f}%"


def _cycles(forced: int, paced: int) -> str:
    return f"{forced + paced} ({forced}+{paced})"


def _go_vs_go_cell(r: TwinResult) -> str:
    if r.go_deviations is None:
        return "–"
    if r.go_identical:
        return "0 (identical)"
    return str(len(r.go_deviations))


def _verdict(r: TwinResult) -> str:
    if r.error:
        return "not run"
    return "meets the rule" if not r.deviations else "deviates"


def _heap_cell(rec: Any) -> str:
    forced = " (forced)" if gc_twins._forced(rec) else ""
    return f"{rec.heap0_mb}->{rec.heap1_mb}->{rec.marked_mb}, {rec.goal_mb} goal{forced}"


def _git_describe() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _native_stamp() -> Optional[float]:
    """mtime of the loaded native module, to notice a rebuild during a run."""
    try:
        import pymap._native as native  # type: ignore[import-not-found]
        return Path(native.__file__).stat().st_mtime
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def _deviation_list(devs: list[str], shown: int = DEVIATIONS_SHOWN) -> list[str]:
    lines = [f"  - `{d}`" for d in devs[:shown]]
    if len(devs) > shown:
        lines.append(f"  - … and {len(devs) - shown} more")
    return lines


def markdown(results: Sequence[TwinResult], versions: Sequence[str],
             specs: Sequence[gc_twins.TwinSpec], go_vs_go: bool, command: str,
             revision: Optional[str] = None, excerpt_version: str = EXCERPT_VERSION, excerpt_cycles: int = EXCERPT_CYCLES) -> str:
    """The page docs/gc-twins.md from evaluate()'s results."""
    by = {(r.version, r.spec.name): r for r in results}
    go_strings = {}
    for v in versions:
        for s in specs:
            r = by.get((v, s.name))
            if r is not None and r.go is not None and r.go.run.header.get("go"):
                go_strings.setdefault(v, r.go.run.header["go"])
    L: list[str] = []
    add = L.append

    add("# GC twins: pymap's GC model against the real runtime")
    add("")
    add("A *twin* is a scripted heap_oracle program (`tests/conformance/heap_oracle`, scenarios "
        "listed in `tests/conformance/gc_twins.py`) run on the real Go toolchain with "
        "`GODEBUG=gctrace=1`, and the same program re-enacted on pymap's heap model "
        "(`gc_model_twins.run_model`), starting from the real run's own live heap at its "
        "`baseline` point (`baseline_of`). Each twin's gctrace lines are compared with the "
        "model's by the acceptance rule `gc_twins.compare`: **forced** cycles (`runtime.GC()`) must "
        "be as many and agree *exactly* on C (MiB marked live, the third number of A->B->C) "
        "and on the goal; **paced** cycles may differ in number by at most max(1, 2% of Go's "
        "count), and the i-th paced cycles of each must agree on C and goal within "
        "max(1 MiB, 3% of Go's value). Every run uses GOMAXPROCS=1; GOGC and GOMEMLIMIT are "
        "as listed per twin.")
    add("")
    vs = ", ".join(f"{v}: `{go_strings.get(v, 'not run')}`" for v in versions)
    rev = _git_describe() if revision is None else revision
    add(f"Toolchains: {vs}. Generated on {datetime.date.today().isoformat()}"
        + (f" at pymap `{rev}`" if rev else "")
        + f" (pymap {getattr(pymap, '__version__', '?')}) by")
    add("")
    add("```")
    add(command)
    add("```")
    add("")
    add("Each twin was run once on Go and once on the model per version"
        + ("; the *Go vs Go* column runs Go a second time and applies the same rule to the two "
           "real runs (`compare(go1, go2)`), to show how far the real runtime itself is from "
           "meeting it. \"identical\" means the two runs' A->B->C and goal agree on every cycle. "
           "The last column applies the rule to the model's trace against that second Go run "
           "(the model still starts from the first run's baseline)."
           if go_vs_go else ".")
        + " Where the model deviates, `tests/conformance/test_gc_twins.py` states and asserts "
          "the weaker rule it is held to.")
    add("")

    # Summary
    add("## Summary")
    add("")
    add("Deviations from the rule, model against Go"
        + (" (and Go against Go)" if go_vs_go else "") + ":")
    add("")
    add("| twin | " + " | ".join(versions) + " |")
    add("|---|" + "---|" * len(versions))
    for s in specs:
        cells = []
        for v in versions:
            r = by.get((v, s.name))
            if r is None or r.error:
                cells.append("not run")
                continue
            c = "meets" if not r.deviations else f"deviates ({len(r.deviations)})"
            if go_vs_go:
                c += f"; Go vs Go {len(r.go_deviations or [])}"
            cells.append(c)
        add(f"| {s.name} | " + " | ".join(cells) + " |")
    add("")

    # Per twin
    add("## Twins")
    for s in specs:
        add("")
        add(f"### {s.name}")
        add("")
        env = " ".join(f"{k}={val}" for k, val in gc_twins.effective_env(s).items())
        flags = " ".join(f"-{k} {val}" for k, val in s.flags.items())
        add(f"{s.doc}. Scenario `{s.scenario}`{' `' + flags + '`' if flags else ''}, `{env}`.")
        add("")
        head = ["version", "Go cycles (forced+paced)", "model cycles (forced+paced)",
                "paced count difference", "deviations", "verdict"]
        if go_vs_go:
            head += ["Go vs Go deviations", "model vs 2nd Go run"]
        add("| " + " | ".join(head) + " |")
        add("|---|" + "---:|" * 4 + "---|" + ("---:|" * 2 if go_vs_go else ""))
        for v in versions:
            r = by.get((v, s.name))
            if r is None:
                continue
            if r.error or r.go is None:
                row = [v, "–", "–", "–", "–", f"not run: {r.error}"]
                if go_vs_go:
                    row += ["–", "–"]
            else:
                row = [v, _cycles(r.go.forced, r.go.paced), _cycles(r.model_forced, r.model_paced),
                       _paced_diff_pct(r.go.paced, r.model_paced), str(len(r.deviations)), _verdict(r)]
                if go_vs_go:
                    row += [_go_vs_go_cell(r),
                            "–" if r.model_vs_go2 is None else str(len(r.model_vs_go2))]
            add("| " + " | ".join(row) + " |")

    # Deviations
    add("")
    add("## Deviations")
    add("")
    add(f"Every deviation `compare(go, model)` returned (lists longer than {DEVIATIONS_SHOWN} are "
        f"cut after the first {DEVIATIONS_SHOWN}). `paced #i` pairs Go's i-th paced cycle with "
        "the model's i-th; `gc n` is the cycle number in each trace.")
    any_dev = False
    for s in specs:
        rs = [by[(v, s.name)] for v in versions if (v, s.name) in by]
        bad = [r for r in rs if r.deviations or r.error]
        if not bad:
            continue
        any_dev = True
        add("")
        add(f"### {s.name}")
        add("")
        for r in bad:
            if r.error:
                add(f"- **{r.version}**: not run: {r.error}")
                continue
            add(f"- **{r.version}** ({len(r.deviations)}):")
            L.extend(_deviation_list(r.deviations))
    if not any_dev:
        add("")
        add("None.")

    if go_vs_go:
        add("")
        add("## Go vs Go")
        add("")
        add("The same rule between two real runs of each twin, `compare(go1, go2)`, for the twins and "
            "versions where it finds anything (first run as \"Go\", second as \"model\").")
        any_gg = False
        for s in specs:
            rs = [by[(v, s.name)] for v in versions if (v, s.name) in by]
            bad = [r for r in rs if r.go_deviations]
            if not bad:
                continue
            any_gg = True
            add("")
            add(f"### {s.name}")
            add("")
            for r in bad:
                assert r.go is not None and r.go2 is not None and r.go_deviations is not None
                add(f"- **{r.version}** ({len(r.go_deviations)}; cycles "
                    f"{_cycles(r.go.forced, r.go.paced)} and {_cycles(r.go2.forced, r.go2.paced)}):")
                L.extend(_deviation_list(r.go_deviations))
        if not any_gg:
            add("")
            add("None: the two real runs of every twin meet the rule.")

    # Excerpts
    add("")
    add(f"## First {excerpt_cycles} cycles, Go {excerpt_version}")
    add("")
    add("Heap numbers of each gctrace line, A->B->C MB and the goal (MB), Go and model side by "
        "side (Go: the first run); ✗ marks a cycle whose numbers differ.")
    for s in specs:
        r = by.get((excerpt_version, s.name))
        if r is None or r.go is None or r.error:
            continue
        add("")
        add(f"### {s.name}")
        add("")
        add("| gc | Go | model | |")
        add("|---:|---|---|---|")
        go, mo = list(r.go.gctrace), list(r.model)
        for i in range(min(excerpt_cycles, max(len(go), len(mo)))):
            g = go[i] if i < len(go) else None
            m = mo[i] if i < len(mo) else None
            gc = _heap_cell(g) if g is not None else "–"
            mc = _heap_cell(m) if m is not None else "–"
            same = (g is not None and m is not None
                    and gc_twins.heap_numbers([g])[0][1:] == gc_twins.heap_numbers([m])[0][1:])
            add(f"| {i + 1} | {gc} | {mc} | {'' if same else '✗'} |")
    add("")
    return "\n".join(L)


def _text_report(r: TwinResult, lines: int) -> None:
    if r.error or r.go is None:
        print(f"== {r.version} {r.spec.name}: not run: {r.error}")
        return
    print(f"== {r.version} {r.spec.name}: Go {len(r.go.gctrace)} cycles, model "
          f"{len(r.model)}; {len(r.deviations)} deviations")
    if r.go_deviations is not None:
        print(f"   Go vs Go: {len(r.go_deviations)} deviations"
              + (" (heap numbers identical)" if r.go_identical else ""))
    gn = gc_twins.heap_numbers(r.go.gctrace)
    mn = gc_twins.heap_numbers(r.model)
    for i in range(min(lines, max(len(gn), len(mn)))):
        print(f"   {gn[i] if i < len(gn) else '-'!s:40} {mn[i] if i < len(mn) else '-'}")
    for d in r.deviations[:10]:
        print("   !", d)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="append",
                    help="repeatable; default 1.23 (--markdown: 1.21 1.22 1.23 1.24-noswiss)")
    ap.add_argument("--twin", action="append", help="repeatable; default every twin in TWINS")
    ap.add_argument("--lines", type=int, default=12)
    ap.add_argument("--markdown", action="store_true",
                    help="print the markdown page docs/gc-twins.md instead of the text report")
    ap.add_argument("--go-vs-go", action="store_true",
                    help="also run Go a second time and report compare(go1, go2)")
    a = ap.parse_args(argv)
    versions = a.version or (list(MARKDOWN_VERSIONS) if a.markdown else ["1.23"])
    if a.twin:
        unknown = set(a.twin) - {s.name for s in gc_twins.TWINS}
        if unknown:
            ap.error(f"unknown twin(s) {sorted(unknown)}; known: {[s.name for s in gc_twins.TWINS]}")
    specs = [s for s in gc_twins.TWINS if not a.twin or s.name in a.twin]
    results = []
    revision, stamp = _git_describe(), _native_stamp()
    for version in versions:
        for spec in specs:
            t0 = time.perf_counter()
            r = evaluate(spec, version, a.go_vs_go)
            results.append(r)
            if a.markdown:
                gg = "" if r.go_deviations is None else f", Go vs Go {len(r.go_deviations)}"
                print(f"{version} {spec.name}: " + (f"error {r.error}" if r.error else
                      f"{len(r.deviations)} deviations{gg}") + f" ({time.perf_counter() - t0:.1f} s)",
                      file=sys.stderr, flush=True)
            else:
                _text_report(r, a.lines)
                sys.stdout.flush()
    if _native_stamp() != stamp:
        print("warning: pymap's native module was rebuilt during the run; the model results "
              "come from the build loaded at the start (rerun for the current one)",
              file=sys.stderr)
    if a.markdown:
        cmd = ["python", "tests/conformance/gc_model_twins.py", "--markdown"]
        if a.go_vs_go:
            cmd.append("--go-vs-go")
        if a.version:
            cmd += [x for v in a.version for x in ("--version", v)]
        if a.twin:
            cmd += [x for t in a.twin for x in ("--twin", t)]
        print(markdown(results, versions, specs, a.go_vs_go,
                       shlex.join(cmd) + " > docs/gc-twins.md", revision))
    return 1 if any(r.deviations or r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
