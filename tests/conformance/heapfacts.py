"""Real-Go heap facts: runs the scripted scenarios of heap_oracle/ on the real
toolchains and returns what the runtime reported, as dataclasses.

This is the judge for a future model of the Go heap around maps (size
classes, MemStats, the GC pacer, gctrace, sync.Pool).  Standard library only.

    from heapfacts import run
    r = run("1.23", "fill-clear-gc", gogc=100, gctrace=True)
    r.points["cleared-gc"].memstats.HeapAlloc
    r.points["baseline"].metrics["/gc/scan/globals:bytes"]
    [t.forced for t in r.gctrace]

Command line::

    python tests/conformance/heapfacts.py --version 1.23 --scenario fill-clear-gc [--gogc 50]
        [--gomemlimit 3MiB] [--gctrace] [--cycles N] [--n N] [--repeat K] [--json]

Scenarios and their points are listed in heap_oracle/main.go.  ``n`` (``-n``)
is the key count of the fill scenarios (fill-clear-gc, fill-drop-gc: 1e6;
ptr-values: 1e5; memlimit-fill: 4e6 when not given); ``cycles`` the
make/fill/drop cycles of churn-gogc (1e5 when not given).

Binaries are cached as ``<cache>/heap-oracle-bin/heap-oracle-<version>-<hash>``,
keyed by the heap_oracle sources, the version and the toolchain's
``go version`` (the same scheme goruntime uses for the map oracle).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import goruntime  # noqa: E402

HERE = Path(__file__).resolve().parent
SRC = HERE / "heap_oracle"

# Versions the heap facts are checked on.  The program clears with the
# range-delete idiom, so it also builds with 1.19 (`--version 1.19` runs it),
# but 1.19's runtime/metrics lack /gc/scan/* and /gc/heap/live and several
# facts below differ there: 1.19 is not asserted yet.  On every version the
# compiler turns that idiom (int64 and string keys are reflexive) into
# runtime.mapclear, the function the clear builtin (1.21+) calls: checked in
# the 1.24-1.27 and 1.25-noswiss binaries with `go tool objdump`.
CLASSIC_VERSIONS = ("1.21", "1.22", "1.23", "1.24-noswiss", "1.25-noswiss")
SWISS_VERSIONS = ("1.24", "1.25", "1.26", "1.27")
VERSIONS = CLASSIC_VERSIONS + SWISS_VERSIONS
RUNNABLE = ("1.19",) + VERSIONS


def map_impl(version: str) -> str:
    """"swiss" or "classic": the map implementation of a heap-facts version."""
    if version in SWISS_VERSIONS:
        return "swiss"
    if version in RUNNABLE:
        return "classic"
    raise ValueError(f"unknown version {version!r}; expected one of {RUNNABLE}")
SCENARIOS = ("baseline", "fill-clear-gc", "fill-drop-gc", "pool", "churn-gogc",
             "ptr-values", "memlimit-fill")
# Scenarios that take -n (number of keys); the others ignore it.
N_SCENARIOS = ("fill-clear-gc", "fill-drop-gc", "ptr-values", "memlimit-fill")

__all__ = [
    "VERSIONS", "CLASSIC_VERSIONS", "SWISS_VERSIONS", "RUNNABLE", "map_impl",
    "SCENARIOS", "N_SCENARIOS", "MemStats", "Point", "PoolTrial", "GCTrace", "Run",
    "HeapOracleError", "build", "run", "parse_gctrace", "GCTRACE_RE",
]


class HeapOracleError(RuntimeError):
    """Building or running heap_oracle failed."""


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class MemStats:
    """The runtime.MemStats fields the program reports (bytes / counts)."""
    HeapAlloc: int
    HeapInuse: int
    HeapIdle: int
    HeapReleased: int
    HeapSys: int
    HeapObjects: int
    Mallocs: int
    Frees: int
    TotalAlloc: int
    NextGC: int
    NumGC: int
    NumForcedGC: int
    Sys: int


@dataclass(frozen=True)
class Point:
    """One named measurement point: MemStats plus every uint64 runtime/metrics
    value the version offers (e.g. "/gc/scan/globals:bytes")."""
    name: str
    memstats: MemStats
    metrics: dict[str, int]

    def metric(self, name: str) -> int:
        return self.metrics[name]


@dataclass(frozen=True)
class PoolTrial:
    """Put, `gcs` x runtime.GC(), Get: did Get return the object put?"""
    gcs: int
    same: bool
    put_id: int
    got_id: int


@dataclass(frozen=True)
class GCTrace:
    """One GODEBUG=gctrace=1 line (runtime/mgc.go, gcMarkTermination)."""
    n: int                      # cycle number (memstats.numgc)
    at_s: float                 # @N.NNNs since process start
    cpu_pct: int                # cumulative GC CPU %
    clock_ms: tuple[float, float, float]  # sweep term + mark + mark term
    cpu_ms: tuple[float, float, float, float, float]  # stw, assist, bg, idle, stw
    heap0_mb: int               # heapLive at GC start
    heap1_mb: int               # heapLive at mark termination
    marked_mb: int              # bytes marked live
    goal_mb: int
    stacks_mb: int | None       # absent before the field was added
    globals_mb: int | None
    procs: int
    forced: bool
    line: str


@dataclass
class Run:
    version: str
    scenario: str
    env: dict[str, str]
    header: dict[str, Any]
    points: dict[str, Point]
    pool_trials: list[PoolTrial] = field(default_factory=list)
    gctrace: list[GCTrace] = field(default_factory=list)
    stderr: str = ""

    def ms(self, point: str) -> MemStats:
        return self.points[point].memstats


# --------------------------------------------------------------------------
# gctrace
# --------------------------------------------------------------------------

# "gc 7 @0.551s 2%: 0.031+0.58+0.083 ms clock, 0.062+0/0.15/0.087+0.16 ms cpu,
#  38->38->38 MB, 76 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)"
# The stacks/globals fields are printed by 1.21-1.24 (checked in each
# toolchain's runtime/mgc.go) and by 1.25-1.27 (every line of their
# fill-clear-gc and churn-gogc runs has them); older runtimes lack them,
# hence optional.
_NUM = r"(\d+(?:\.\d+)?)"
GCTRACE_RE = re.compile(
    r"^gc (?P<n>\d+) @(?P<at>\d+\.\d+)s (?P<pct>\d+)%: "
    rf"{_NUM}\+{_NUM}\+{_NUM} ms clock, "
    rf"{_NUM}\+{_NUM}/{_NUM}/{_NUM}\+{_NUM} ms cpu, "
    r"(?P<h0>\d+)->(?P<h1>\d+)->(?P<h2>\d+) MB, (?P<goal>\d+) MB goal, "
    r"(?:(?P<stacks>\d+) MB stacks, (?P<globals>\d+) MB globals, )?"
    r"(?P<procs>\d+) P(?P<forced> \(forced\))?$"
)


def parse_gctrace(text: str) -> list[GCTrace]:
    """Parse every gctrace line of `text`; other lines ("GC forced", program
    output) are skipped, but a line starting "gc <n> @" that does not match
    raises ValueError (the format changed).  An unterminated last line is a
    cycle whose line was cut off by the process exiting: it is dropped."""
    out: list[GCTrace] = []
    lines = text.split("\n")
    cut = lines.pop() if lines else ""   # "" when text ends with a newline
    for line in lines + [cut]:
        line = line.rstrip()
        if not re.match(r"^gc \d+ @", line):
            continue
        m = GCTRACE_RE.match(line)
        if m is None:
            if line == cut.rstrip():
                continue
            raise ValueError(f"unparsable gctrace line: {line!r}")
        g = m.groups()
        out.append(GCTrace(
            n=int(m["n"]), at_s=float(m["at"]), cpu_pct=int(m["pct"]),
            clock_ms=(float(g[3]), float(g[4]), float(g[5])),
            cpu_ms=(float(g[6]), float(g[7]), float(g[8]), float(g[9]), float(g[10])),
            heap0_mb=int(m["h0"]), heap1_mb=int(m["h1"]), marked_mb=int(m["h2"]),
            goal_mb=int(m["goal"]),
            stacks_mb=None if m["stacks"] is None else int(m["stacks"]),
            globals_mb=None if m["globals"] is None else int(m["globals"]),
            procs=int(m["procs"]), forced=m["forced"] is not None, line=line,
        ))
    return out


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------

_built: dict[str, Path] = {}
_lock = threading.Lock()


def _sources() -> list[Path]:
    return sorted(p for p in SRC.iterdir() if p.is_file() and (p.suffix == ".go" or p.name == "go.mod"))


def _hash(version: str, go_version: str) -> str:
    h = hashlib.sha256(f"{version}\0{go_version}\0".encode())
    for p in _sources():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def build(version: str) -> Path:
    """Build (or reuse) heap_oracle for `version`.  Raises
    goruntime.ToolchainMissing without a toolchain, HeapOracleError if the
    build fails."""
    if version not in RUNNABLE:
        raise ValueError(f"unknown version {version!r}; expected one of {RUNNABLE}")
    with _lock:
        if version in _built and _built[version].exists():
            return _built[version]
    go = goruntime.toolchain(version)
    if go is None:
        raise goruntime.ToolchainMissing(f"Go {version}: {goruntime.why_missing(version)}")
    go_version = goruntime._go_version(go) or ""
    out_dir = goruntime.cache_root() / "heap-oracle-bin"
    out = out_dir / f"heap-oracle-{version}-{_hash(version, go_version)}"
    if not out.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        with goruntime._file_lock(out_dir / f".build-{version}.lock"):
            if not out.exists():
                tmp = out.with_name(out.name + f".tmp{os.getpid()}")
                cmd = [str(go), "build", "-trimpath", "-o", str(tmp), "."]
                proc = subprocess.run(cmd, cwd=SRC, capture_output=True, text=True,
                                      env=goruntime._go_env(go, version))
                if proc.returncode != 0:
                    with contextlib.suppress(OSError):
                        tmp.unlink()
                    raise HeapOracleError(
                        f"building heap_oracle with Go {version} failed:\n"
                        f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
                os.replace(tmp, out)
                for old in out_dir.glob(f"heap-oracle-{version}-*"):
                    if old != out and ".tmp" not in old.name:
                        with contextlib.suppress(OSError):
                            old.unlink()
    with _lock:
        _built[version] = out
    return out


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

def run(version: str, scenario: str, *, gogc: int | str | None = None,
        gomemlimit: str | None = None, gctrace: bool = False,
        godebug: str | None = None, gomaxprocs: int | None = None,
        cycles: int | None = None, n: int | None = None,
        timeout: float = 300.0) -> Run:
    """Run one scenario in a fresh process and parse its output.

    gogc/gomemlimit/gomaxprocs set GOGC/GOMEMLIMIT/GOMAXPROCS (unset: the
    runtime defaults); gctrace adds gctrace=1 to GODEBUG (lines go to
    stderr and are parsed into Run.gctrace).  cycles is churn-gogc's cycle
    count, n the key count of the fill scenarios (None: the program's
    default; the value used is in Run.header["n"])."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {SCENARIOS}")
    binary = build(version)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    set_env: dict[str, str] = {}
    if gogc is not None:
        set_env["GOGC"] = str(gogc)
    if gomemlimit is not None:
        set_env["GOMEMLIMIT"] = gomemlimit
    if gomaxprocs is not None:
        set_env["GOMAXPROCS"] = str(gomaxprocs)
    dbg = [d for d in (godebug, "gctrace=1" if gctrace else None) if d]
    if dbg:
        set_env["GODEBUG"] = ",".join(dbg)
    env.update(set_env)
    cmd = [str(binary), "-scenario", scenario]
    if cycles is not None:
        cmd += ["-cycles", str(cycles)]
    if n is not None:
        cmd += ["-n", str(n)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise HeapOracleError(f"Go {version} heap_oracle {scenario}: timed out after {timeout}s") from e
    if proc.returncode != 0:
        raise HeapOracleError(
            f"Go {version} heap_oracle {scenario} exited {proc.returncode}:\n{proc.stderr[-5000:]}")
    header: dict[str, Any] = {}
    points: dict[str, Point] = {}
    trials: list[PoolTrial] = []
    done = False
    for line in proc.stdout.splitlines():
        obj = json.loads(line)
        kind = obj.get("kind")
        if kind == "header":
            header = obj
        elif kind == "point":
            points[obj["name"]] = Point(obj["name"], MemStats(**obj["memstats"]),
                                        {k: int(v) for k, v in obj["metrics"].items()})
        elif kind == "pool":
            trials = [PoolTrial(**t) for t in obj["trials"]]
        elif kind == "done":
            done = True
        else:
            raise HeapOracleError(f"unexpected output line: {line[:300]!r}")
    if not done:
        raise HeapOracleError(f"Go {version} heap_oracle {scenario}: output truncated:\n{proc.stdout[-2000:]}")
    return Run(version=version, scenario=scenario, env=set_env, header=header, points=points,
               pool_trials=trials, gctrace=parse_gctrace(proc.stderr), stderr=proc.stderr)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

_SHOW_METRICS = ("/gc/heap/live:bytes", "/gc/heap/goal:bytes", "/gc/scan/globals:bytes",
                 "/gc/scan/stack:bytes", "/memory/classes/heap/objects:bytes")


def _print_run(r: Run, as_json: bool) -> None:
    if as_json:
        print(json.dumps(dataclasses.asdict(r), default=str))
        return
    print(f"# {r.header.get('go')} scenario={r.scenario} env={r.env} gomaxprocs={r.header.get('gomaxprocs')}"
          f" n={r.header.get('n')} cycles={r.header.get('cycles')}")
    base = r.points.get("baseline")
    for p in r.points.values():
        ms = p.memstats
        line = (f"{p.name:>12}: HeapAlloc={ms.HeapAlloc} HeapInuse={ms.HeapInuse} HeapIdle={ms.HeapIdle} "
                f"HeapReleased={ms.HeapReleased} HeapObjects={ms.HeapObjects} Mallocs={ms.Mallocs} "
                f"Frees={ms.Frees} TotalAlloc={ms.TotalAlloc} NextGC={ms.NextGC} NumGC={ms.NumGC} "
                f"NumForcedGC={ms.NumForcedGC}")
        if base is not None:
            line += (f" | dHeapAlloc={ms.HeapAlloc - base.memstats.HeapAlloc}"
                     f" dHeapObjects={ms.HeapObjects - base.memstats.HeapObjects}")
        print(line)
        print(" " * 14 + " ".join(f"{k}={p.metrics[k]}" for k in _SHOW_METRICS if k in p.metrics))
    for t in r.pool_trials:
        print(f"pool: Put, {t.gcs} GC(s), Get -> {'same object' if t.same else 'New'} "
              f"(put id {t.put_id}, got id {t.got_id})")
    if r.gctrace:
        print(f"gctrace: {len(r.gctrace)} cycles, {sum(t.forced for t in r.gctrace)} forced")
        for t in r.gctrace[:3] + (r.gctrace[3:][-2:] if len(r.gctrace) > 3 else []):
            print("  " + t.line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", required=True, choices=RUNNABLE)
    ap.add_argument("--scenario", required=True, choices=SCENARIOS)
    ap.add_argument("--gogc")
    ap.add_argument("--gomemlimit")
    ap.add_argument("--gomaxprocs", type=int)
    ap.add_argument("--gctrace", action="store_true")
    ap.add_argument("--cycles", type=int)
    ap.add_argument("--n", type=int, help="keys of the fill scenarios")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for _ in range(a.repeat):
        r = run(a.version, a.scenario, gogc=a.gogc, gomemlimit=a.gomemlimit,
                gctrace=a.gctrace or a.scenario == "churn-gogc", gomaxprocs=a.gomaxprocs,
                cycles=a.cycles, n=a.n)
        _print_run(r, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
