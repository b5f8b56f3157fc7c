"""``pymap demo``: a short demonstration of a Go map's life.

Makes a map[int64]int64 on the chosen Go version, fills it past several
growth points, clears it, runs the GC, drops it and runs the GC again, and
prints at each step the map's state (classic: B, the overflow buckets,
evacuation progress; Swiss: the directory, tables and slots; both: the
bytes it holds) and the modelled heap's (HeapAlloc, GC cycles).  (This was
``python -m pymap`` before the subcommands; on classic versions its output
is unchanged.)
"""
from __future__ import annotations

from typing import Any, TextIO

from .. import MapType, Runtime
from ._common import DEFAULT_GO, has_clear_builtin, is_swiss


def run(go: str, n: int, seed: int, out: TextIO) -> int:
    if is_swiss(go):
        return run_swiss(go, n, seed, out)
    rt = Runtime(go=go, seed=seed)
    t = MapType("int64", "int64")
    m = rt.make_map(t)

    def p(text: str = "") -> None:
        out.write(text + "\n")

    p(f"map[{t.key}]{t.elem} on Go {go} (classic hmap/bmap map; bucket = {t.bucket_size} B)")
    header = (f"{'step':<26}{'len':>8}{'B':>4}{'noverflow':>11}{'growing':>9}{'nevacuate':>11}"
              f"{'map B':>11}{'HeapAlloc':>12}{'GCs':>5}")
    p(header)
    p("-" * len(header))

    def row(step: str) -> None:
        ms = rt.memstats()
        if m.dropped:
            p(f"{step:<26}{'-':>8}{'-':>4}{'-':>11}{'-':>9}{'-':>11}{'-':>11}"
              f"{ms.heap_alloc:>12}{ms.num_gc:>5}")
            return
        p(f"{step:<26}{len(m):>8}{m.B:>4}{m.noverflow:>11}{str(m.growing):>9}{m.nevacuate:>11}"
          f"{m.memory().total:>11}{ms.heap_alloc:>12}{ms.num_gc:>5}")

    row("make")
    lastB = m.B
    for i in range(n):
        m[i] = i
        if m.B != lastB:
            row(f"insert #{i + 1} (grow)")
            lastB = m.B
    row(f"after {n} inserts")
    for i in range(0, n, 2):
        del m[i]
    row("delete every other key")
    m.clear()
    row("clear(m)" if has_clear_builtin(go) else "range-delete idiom")
    rt.gc()
    row("runtime.GC()")
    m.drop()
    row("m = nil")
    rt.gc()
    row("runtime.GC()")
    p(f"\nclear(m) keeps B and the bucket array: after a GC the heap still holds them. "
      f"m = nil makes the map garbage,\nand the next GC returns HeapAlloc to the process "
      f"baseline ({rt.baseline.heap_alloc} B, measured on Go {go}'s toolchain).")
    return 0


def run_swiss(go: str, n: int, seed: int, out: TextIO) -> int:
    from .grow import snapshot
    rt = Runtime(go=go, seed=seed)
    t = MapType("int64", "int64")
    m = rt.make_map(t)

    def p(text: str = "") -> None:
        out.write(text + "\n")

    p(f"map[{t.key}]{t.elem} on Go {go} (Swiss-table map; group = {t.group_size} B)")
    header = (f"{'step':<28}{'len':>8}{'dirLen':>8}{'tables':>8}{'capacity':>10}{'tombstones':>12}"
              f"{'map B':>11}{'HeapAlloc':>12}{'GCs':>5}")
    p(header)
    p("-" * len(header))

    def shape() -> tuple:
        s = snapshot(m)
        return s.dir_len, s.ntables, s.capacity, s.small

    def row(step: str) -> None:
        ms = rt.memstats()
        if m.dropped:
            p(f"{step:<28}{'-':>8}{'-':>8}{'-':>8}{'-':>10}{'-':>12}{'-':>11}{ms.heap_alloc:>12}{ms.num_gc:>5}")
            return
        from .grow import tombstones
        d, k, c, _ = shape()
        p(f"{step:<28}{len(m):>8}{d:>8}{k:>8}{c:>10}{tombstones(m):>12}{m.memory().total:>11}"
          f"{ms.heap_alloc:>12}{ms.num_gc:>5}")

    row("make")
    last = shape()
    for i in range(n):
        m[i] = i
        now = shape()
        if now != last:
            what = ("small group" if now[3] and not last[3] else "table" if now[1] > last[1] and last[1] == 0
                    else "split" if now[1] > last[1] else "doubling")
            row(f"insert #{i + 1} ({what})")
            last = now
    row(f"after {n} inserts")
    for i in range(0, n, 2):
        del m[i]
    row("delete every other key")
    before = m.memory().total, shape()
    m.clear()
    row("clear(m)")
    rt.gc()
    row("runtime.GC()")
    kept = m.memory().total
    m.drop()
    row("m = nil")
    rt.gc()
    row("runtime.GC()")
    end = rt.memstats().heap_alloc
    d, k, c, _ = before[1]
    what = ("its table" if k == 1 else f"its {k} tables") + f" ({c} slots)" if k else "its storage"
    first = (f"clear(m) kept {what}: the map still holds {kept} B after a GC" if kept == before[0] else
             f"clear(m) left the map holding {kept} B of {before[0]} B after a GC")
    p(f"\n{first}.\nm = nil makes the map garbage, and the next GC "
      + (f"returns HeapAlloc to the process baseline ({rt.baseline.heap_alloc} B, measured on Go {go}'s toolchain)."
         if end == rt.baseline.heap_alloc else
         f"leaves HeapAlloc at {end} B (the process baseline is {rt.baseline.heap_alloc} B)."))
    return 0


def command(args: Any, out: Any) -> int:
    return run(args.go or DEFAULT_GO, args.n, args.seed if args.seed is not None else 1, out.stream)
