"""``pymap demo``: a short demonstration of a Go map's life.

Makes a map[int64]int64 on the chosen Go version, fills it past several
growth points, clears it, runs the GC, drops it and runs the GC again, and
prints at each step the map's state (B, the overflow buckets, evacuation
progress, the bytes it holds) and the modelled heap's (HeapAlloc, GC cycles).
(This was ``python -m pymap`` before the subcommands; its output is unchanged.)
"""
from __future__ import annotations

from typing import Any, TextIO

from .. import MapType, Runtime
from ._common import DEFAULT_GO, has_clear_builtin


def run(go: str, n: int, seed: int, out: TextIO) -> int:
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


def command(args: Any, out: Any) -> int:
    return run(args.go or DEFAULT_GO, args.n, args.seed if args.seed is not None else 1, out.stream)
