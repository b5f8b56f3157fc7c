"""``python -m pymap``: a short demonstration of a Go map's life.

Makes a map[int64]int64 on the chosen Go version, fills it past several
growth points, clears it, runs the GC, drops it and runs the GC again, and
prints at each step the map's state (B, the overflow buckets, evacuation
progress, the bytes it holds) and the modelled heap's (HeapAlloc, GC cycles).
"""
from __future__ import annotations

import argparse
import sys

from . import GO_VERSIONS, MapType, Runtime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pymap", description=__doc__.splitlines()[1])
    p.add_argument("--go", default="1.23", help=f"Go version to model ({', '.join(GO_VERSIONS)})")
    p.add_argument("--n", type=int, default=2000, help="entries to insert")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    try:
        rt = Runtime(go=a.go, seed=a.seed)
    except (ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.n < 0:
        print("error: --n must be >= 0", file=sys.stderr)
        return 2
    t = MapType("int64", "int64")
    m = rt.make_map(t)
    print(f"map[{t.key}]{t.elem} on Go {a.go} (classic hmap/bmap map; bucket = {t.bucket_size} B)")
    header = (f"{'step':<26}{'len':>8}{'B':>4}{'noverflow':>11}{'growing':>9}{'nevacuate':>11}"
              f"{'map B':>11}{'HeapAlloc':>12}{'GCs':>5}")
    print(header)
    print("-" * len(header))

    def row(step: str) -> None:
        ms = rt.memstats()
        if m.dropped:
            print(f"{step:<26}{'-':>8}{'-':>4}{'-':>11}{'-':>9}{'-':>11}{'-':>11}"
                  f"{ms.heap_alloc:>12}{ms.num_gc:>5}")
            return
        print(f"{step:<26}{len(m):>8}{m.B:>4}{m.noverflow:>11}{str(m.growing):>9}{m.nevacuate:>11}"
              f"{m.memory().total:>11}{ms.heap_alloc:>12}{ms.num_gc:>5}")

    row("make")
    lastB = m.B
    for i in range(a.n):
        m[i] = i
        if m.B != lastB:
            row(f"insert #{i + 1} (grow)")
            lastB = m.B
    row(f"after {a.n} inserts")
    for i in range(0, a.n, 2):
        del m[i]
    row("delete every other key")
    m.clear()
    row("clear(m)" if a.go not in ("1.19", "1.20") else "range-delete idiom")
    rt.gc()
    row("runtime.GC()")
    m.drop()
    row("m = nil")
    rt.gc()
    row("runtime.GC()")
    print(f"\nclear(m) keeps B and the bucket array: after a GC the heap still holds them. "
          f"m = nil makes the map garbage,\nand the next GC returns HeapAlloc to the process "
          f"baseline ({rt.baseline.heap_alloc} B, measured on Go {a.go}'s toolchain).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
