"""``pymap claims``: common claims about Go maps and the GC, checked live.

Every claim runs the model (maps, the heap, the pacer, sync.Pool) for the
chosen Go version; the verdict is derived from the numbers measured, never
written down in advance.  The claims are about the classic map, so the
command keeps to classic versions (CLAIMS_GO by default); claims about the
Swiss map, and comparisons between versions, come with a later release.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import MapType, Runtime, Scenario, __version__, version_facts
from ._common import (CLAIMS_GO, CLASSIC_VERSIONS, DEFAULT_GO, CLIError, Output, Table, fmt_bytes,
                      has_clear_builtin, is_swiss, parse_count, progress)

SCHEMA_VERSION = 2
SWISS_NOTE = ("claims about the Swiss map come with a later pymap release (the Swiss map is Go's default "
              "map since 1.24 and the only one since 1.26)")
I64 = ("int64", "int64")
MiB = 1 << 20


@dataclass
class Claim:
    id: str
    claim: str
    verdict: str            #: "true", "false" or "partly true"
    evidence: str           #: the numbers behind the verdict, in words
    numbers: dict[str, Any] = field(default_factory=dict)


def _rt(go: str, **kw: Any) -> Runtime:
    return Runtime(go=go, seed=1, **kw)


def _clear_name(go: str) -> str:
    return "clear(m)" if has_clear_builtin(go) else "the range-delete idiom (mapclear; no clear() before 1.21)"


def _hmap_struct(go: str) -> tuple[int, int, bool, int]:
    """(struct bytes, charged bytes, has clearSeq, clearSeq after one clear) of a fresh map on `go`."""
    m = _rt(go).make_map(MapType(*I64))
    charged = m.memory().hmap
    m[1] = 1
    m.clear()
    facts = version_facts(go)
    return facts.classic_hmap_size, charged, facts.classic_clear_seq, m.clear_seq


def hmap_size(go: str, n: int) -> Claim:
    struct, charged, has_seq, seq = _hmap_struct(go)
    with56 = [v for v in CLASSIC_VERSIONS if _hmap_struct(v)[0] == 56]
    if struct == 56:
        verdict = "true"
        ev = f"the hmap struct is {struct} B on Go {go} (it has clearSeq: clear(m) set it to {seq})"
        if charged != struct:
            verdict = "partly true"
            ev += f", but the heap charges {charged} B for it (its size class)"
    else:
        verdict = "false"
        ev = (f"hmap is {struct} B on Go {go} (the heap charges {charged} B); of the modelled versions only "
              f"{', '.join(with56) or 'none'} ha{'s' if len(with56) == 1 else 've'} a 56-B hmap (classic versions; "
              f"the Swiss map's header is another struct)")
    return Claim("hmap-56", "The hmap header of a map is 56 bytes", verdict, ev,
                 {"struct_bytes": struct, "charged_bytes": charged, "clear_seq_field": has_seq,
                  "versions_with_56": with56})


def grow_at_52(go: str, n: int) -> Claim:
    rt = _rt(go)
    m = rt.make_map(MapType(*I64))
    points = []
    last = m.B
    for i in range(2000):
        m[i] = i
        if m.B != last:
            points.append((i + 1, m.B))
            last = m.B
    # growth happens when count (before the insert) exceeds loadFactor * 2^B
    lfs = sorted({(c - 1) / (1 << (b - 1)) for c, b in points if b >= 2})
    over52 = [c for c, _ in points if c == 53]
    if all(c == 53 for c, _ in points):
        verdict = "true"
    elif over52:
        verdict = "false"
    else:
        verdict = "false"
    pts = ", ".join(f"{c} (B {b - 1}->{b})" for c, b in points[:6])
    lf = "/".join(f"{x:g}" for x in lfs)
    ev = (f"a map doubles at inserts {pts}, ...: when count > {lf} x 2^B (the first at 9: the one bucket is full)"
          + ("; 52 is only the B=3 case (8 buckets)" if over52 else "; no grow happens at count > 52"))
    return Claim("grow-52", "A map grows when its count exceeds 52", verdict, ev,
                 {"grow_inserts": [c for c, _ in points], "load_factor": lfs})


def _parts(mem: Any) -> str:
    """The non-zero parts of a MapMemory, largest first."""
    names = (("buckets", "bucket array"), ("oldbuckets", "old array of the grow in progress"),
             ("overflow", "overflow buckets"), ("indirect", "key/elem boxes"), ("pointees", "pointees"))
    parts = [(getattr(mem, f), name) for f, name in names if getattr(mem, f)]
    return ", ".join(f"{name} {v:,} B" for v, name in sorted(parts, reverse=True)) or "nothing"


def _freed(before: Any, after: Any) -> str:
    names = (("buckets", "bucket array"), ("oldbuckets", "old array"), ("overflow", "overflow buckets"),
             ("overflow_slice", "overflow slices"), ("indirect", "boxes"), ("pointees", "pointees"))
    parts = [(getattr(before, f) - getattr(after, f), name) for f, name in names
             if getattr(before, f) > getattr(after, f)]
    return ", ".join(f"{name} {v:,} B" for v, name in sorted(parts, reverse=True)) or "nothing"


def clear_frees(go: str, n: int) -> Claim:
    rt = _rt(go)
    m = rt.make_map(MapType(*I64))
    m.insert_range(n)
    before, B0 = m.memory(), m.B
    m.clear()
    rt.gc()
    after, B1 = m.memory(), m.B
    verdict = "false" if after.buckets >= before.buckets and after.total >= before.total / 2 else "partly true"
    ev = (f"{n:,} entries (B={B0}): {_parts(before)}. After {_clear_name(go)} and runtime.GC(): B={B1}, "
          f"the map still holds {after.total:,} B ({_parts(after)}); freed: {_freed(before, after)}")
    return Claim("clear-frees", "clear(m) frees the map's memory", verdict, ev,
                 {"n": n, "bytes_before": before.total, "bytes_after_gc": after.total,
                  "bucket_array_after_gc": after.buckets, "B_before": B0, "B_after": B1})


def delete_shrinks(go: str, n: int) -> Claim:
    rt = _rt(go)
    m = rt.make_map(MapType(*I64))
    m.insert_range(n)
    before, B0 = m.memory(), m.B
    sc = Scenario([{"op": "delete_range", "stop": n}, {"op": "gc"}], runtime=rt)
    res = sc.run(maps={0: m})
    m = res.maps[0]
    after, B1 = m.memory(), m.B
    verdict = "false" if B1 >= B0 and after.buckets >= before.buckets else "true"
    ev = (f"deleting all {n:,} keys one by one, then runtime.GC(): len {len(m)}, B stays {B1} (was {B0}); "
          f"the map holds {after.total:,} B (was {before.total:,} B; freed: {_freed(before, after)}). "
          f"A map never shrinks: copy it into a new one")
    return Claim("delete-shrinks", "Deleting keys shrinks a map", verdict, ev,
                 {"n": n, "B_before": B0, "B_after": B1, "bytes_before": before.total, "bytes_after": after.total})


def gc_after_clear(go: str, n: int) -> Claim:
    size = 64
    k = max(1, n // 10)
    t = MapType("int64", f"*[{size}]byte")
    rt = _rt(go)
    m = rt.make_map(t)
    m.insert_range(k)
    full = m.memory()
    m.clear()
    cleared = m.memory()
    h1 = rt.memstats().heap_alloc
    rt.gc()
    h2 = rt.memstats().heap_alloc
    kept = m.memory().buckets
    freed = h1 - h2
    # The same without runtime.GC(): later allocations start and finish a paced cycle.
    rt2 = _rt(go)
    m2 = rt2.make_map(t)
    m2.insert_range(k)
    m2.clear()
    dead0 = rt2.pacer().dead_bytes
    later = []
    while rt2.memstats().num_gc == 0 and len(later) < 64:
        later.append(rt2.make_map(MapType(*I64), 100_000))   # pointer-free, no garbage of its own
    dead1 = rt2.pacer().dead_bytes
    paced = rt2.memstats().num_gc
    verdict = "partly true" if freed > 0 and kept > 0 else ("true" if freed > 0 else "false")
    ev = (f"map[int64]*[{size}]byte with {k:,} entries: {_clear_name(go)} left garbage: {_freed(full, cleared)}; "
          f"runtime.GC() then freed {freed:,} B (that and the fill's old bucket arrays) but never the "
          f"{kept:,}-B bucket array m still holds. Without it, {len(later)} later allocations started "
          f"{paced} paced cycle(s), which took the garbage from {dead0:,} B to {dead1:,} B")
    return Claim("gc-after-clear", "runtime.GC() after clear(m) is needed to free the memory", verdict, ev,
                 {"entries": k, "heap_alloc_after_clear": h1, "heap_alloc_after_gc": h2, "freed_by_gc": freed,
                  "made_garbage_by_clear": full.total - cleared.total, "bucket_array_kept": kept,
                  "garbage_before_paced_gc": dead0, "garbage_after_paced_gc": dead1})


def pool_one_gc(go: str, n: int) -> Claim:
    rt = _rt(go)
    t = MapType(*I64)
    base = rt.memstats().heap_alloc
    pool = rt.new_pool()
    m = rt.make_map(t)
    m.insert_range(min(n, 10_000))
    size = m.memory().total
    pool.put(m)
    m.drop()
    del m
    held = []
    for _ in range(3):
        rt.gc()
        held.append(rt.memstats().heap_alloc - base)
    survived = sum(1 for h in held if h >= size)
    st = pool.stats
    verdict = "partly true" if survived == 1 else ("false" if survived == 0 else "false")
    ev = (f"an idle pooled map of {size:,} B: heap above baseline after GC 1, 2, 3: "
          f"{', '.join(f'{h:,} B' for h in held)}: it survives {survived} GC (in the victim cache) and the next one "
          f"frees it ({st.dropped_by_gc} dropped by GC), so at most one; a Get before that takes it back")
    return Claim("pool-one-gc", "sync.Pool objects survive exactly one GC", verdict, ev,
                 {"map_bytes": size, "heap_above_baseline_after_gcs": held, "gcs_survived": survived})


def min_heap_4mb(go: str, n: int) -> Claim:
    goals = {g: _rt(go, gogc=g).memstats().next_gc for g in (50, 100, 200)}
    limited = {lim: _rt(go, memory_limit=lim * MiB).memstats().next_gc for lim in (3, 6)}
    fixed = len(set(goals.values())) == 1 and all(v == 4 * MiB for v in limited.values())
    verdict = "true" if fixed else "false"
    ev = (f"the first heap goal (NextGC) is {', '.join(f'{fmt_bytes(v)} at GOGC={g}' for g, v in goals.items())}: "
          f"4 MiB x GOGC/100; with GOMEMLIMIT=3MiB or 6MiB (GOGC=100) it is "
          f"{' or '.join(fmt_bytes(v) for v in limited.values())}: the limit's goal can be lower")
    return Claim("min-heap-4mb", "The minimum heap goal is a fixed 4 MB", verdict, ev,
                 {"next_gc_by_gogc": goals, "next_gc_by_memlimit_mib": limited})


def rate_or_count_trigger(go: str, n: int) -> Claim:
    count = max(8, n * 10 // 8 * 8)
    rt = _rt(go)
    res = Scenario([{"op": "make", "key": "int64", "elem": "*[1]byte"},
                    {"op": "repeat", "count": count // 8, "body": [{"op": "insert_range", "stop": 8}]}],
                   runtime=rt).run()
    ms = res.steps[-1].memstats
    ps = rt.pacer()
    secs = ps.clock_ns / 1e9
    rate = ms.mallocs / secs if secs else float("inf")
    rt2 = _rt(go)
    res2 = Scenario([{"op": "make", "key": "int64", "elem": "*[1024]byte"},
                     {"op": "repeat", "count": 1024, "body": [{"op": "insert_range", "stop": 8}]}],
                    runtime=rt2).run()
    ms2 = res2.steps[-1].memstats
    verdict = "false" if ms.num_gc == 0 and ms2.num_gc > 0 else "true"
    ev = (f"{ms.mallocs:,} allocations (mostly tiny new([1]byte)) at {rate:,.0f}/s of virtual time reach "
          f"HeapAlloc {fmt_bytes(ms.heap_alloc)} < trigger "
          f"{fmt_bytes(ps.trigger)}: {ms.num_gc} GCs; 8,192 allocations of 1 KiB (8 MiB): {ms2.num_gc} GCs. "
          f"Cycles start on heap size (and the 2-minute periodic GC, runtime.GC(), the memory limit) only")
    return Claim("rate-count-trigger", "The GC also starts on allocation rate or object count", verdict, ev,
                 {"tiny_allocations": ms.mallocs, "tiny_heap_alloc": ms.heap_alloc, "tiny_num_gc": ms.num_gc,
                  "trigger": ps.trigger, "virtual_seconds": secs, "kib_allocations": 8192,
                  "kib_num_gc": ms2.num_gc})


def nil_frees_now(go: str, n: int) -> Claim:
    rt = _rt(go)
    m = rt.make_map(MapType(*I64))
    m.insert_range(n)
    h0 = rt.memstats().heap_alloc
    m.drop()
    h1 = rt.memstats().heap_alloc
    rt.gc()
    h2 = rt.memstats().heap_alloc
    verdict = "false" if h1 == h0 else "true"
    ev = (f"{n:,} entries: HeapAlloc {h0:,} B before m = nil, {h1:,} B right after it, {h2:,} B after the next GC: "
          f"the map is garbage until a cycle sweeps it")
    return Claim("nil-frees-now", "m = nil frees the map's memory immediately", verdict, ev,
                 {"heap_before": h0, "heap_after_nil": h1, "heap_after_gc": h2})


def struct_values_free(go: str, n: int) -> Claim:
    sizes = {}
    for elem in ("struct{}", "bool"):
        rt = _rt(go)
        t = MapType("int64", elem)
        m = rt.make_map(t)
        from .grow import Inserter
        Inserter(t).insert(m, 0, n, False)
        sizes[elem] = (t.elem_slot_size, t.bucket_size, m.memory().total)
    e, b = sizes["struct{}"], sizes["bool"]
    verdict = "true" if e[0] == 0 and e[2] < b[2] else "false"
    ev = (f"map[int64]struct{{}}: elem slots of {e[0]} B, {e[1]}-B buckets, {e[2]:,} B for {n:,} keys; "
          f"map[int64]bool: {b[0]}-B slots, {b[1]}-B buckets, {b[2]:,} B")
    return Claim("struct-values", "map[K]struct{} stores its values in zero bytes", verdict, ev,
                 {"struct_map_bytes": e[2], "bool_map_bytes": b[2], "struct_bucket": e[1], "bool_bucket": b[1]})


def hint_avoids_growth(go: str, n: int) -> Claim:
    out = {}
    for hint in (0, n):
        rt = _rt(go)
        m = rt.make_map(MapType(*I64), hint)
        B0 = m.B
        m.insert_range(n)
        out[hint] = (B0, m.B, m.memory().allocated, m.memory().total)
    h, z = out[n], out[0]
    verdict = "true" if h[0] == h[1] else "false"
    ev = (f"make(map[int64]int64, {n:,}) starts at B={h[0]} and inserting {n:,} keys leaves B={h[1]}: "
          f"{h[2]:,} B allocated in all; without the hint the map grows B 0->{z[1]} and allocates {z[2]:,} B")
    return Claim("hint", "make(map[K]V, n) avoids growing while n keys are inserted", verdict, ev,
                 {"B_start": h[0], "B_end": h[1], "allocated_with_hint": h[2], "allocated_without_hint": z[2]})


def big_values_indirect(go: str, n: int) -> Claim:
    flags = {size: MapType("int64", f"[{size}]byte").indirect_elem for size in (128, 129)}
    kflags = {size: MapType(f"[{size}]byte", "int64").indirect_key for size in (128, 129)}
    verdict = "true" if not flags[128] and flags[129] and not kflags[128] and kflags[129] else "false"
    def yn(b: bool) -> str:
        return "by pointer" if b else "inline"

    ev = (f"a [128]byte elem is stored {yn(flags[128])}, a [129]byte elem {yn(flags[129])}; keys: "
          f"{yn(kflags[128])}, {yn(kflags[129])}: a larger key or elem is a pointer to its own allocation")
    return Claim("indirect-128", "Keys and values over 128 bytes are stored by pointer", verdict, ev,
                 {"elem_indirect": flags, "key_indirect": kflags})


CLAIMS: tuple[Callable[[str, int], Claim], ...] = (
    hmap_size, grow_at_52, clear_frees, delete_shrinks, gc_after_clear, pool_one_gc, min_heap_4mb,
    rate_or_count_trigger, nil_frees_now, struct_values_free, hint_avoids_growth, big_values_indirect,
)


def evaluate(go: str, n: int, bar: Any = None) -> list[Claim]:
    out = []
    for f in CLAIMS:
        out.append(f(go, n))
        if bar is not None:
            bar.advance()
    return out


def command(args: Any, out: Output) -> int:
    go = args.go or CLAIMS_GO
    if is_swiss(go):
        raise CLIError(f"pymap claims checks the classic map, and Go {go} runs the Swiss-table map: "
                       f"{SWISS_NOTE}",
                       f"run it on a classic version (default {CLAIMS_GO}): {', '.join(CLASSIC_VERSIONS)}")
    n = parse_count(args.n, "--n", 16) if args.n is not None else 100_000
    with progress(len(CLAIMS), "checking claims") as bar:
        claims = evaluate(go, n, bar)
    if args.json:
        json.dump({"schema": "pymap.claims", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
                   "go": go, "impl": "classic", "note": SWISS_NOTE, "n": n,
                   "claims": [c.__dict__ for c in claims]}, out.stream, indent=1, default=str)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap claims: Go {go} (classic hmap/bmap map and heap, modelled by pymap {__version__}); "
                f"every verdict measured just now")
    out.para(f"These claims are checked on the classic map (Go {go}; the default is {CLAIMS_GO} while "
             f"the other commands default to {DEFAULT_GO}); {SWISS_NOTE}.")
    t = Table(["#", "<claim", "<verdict", "<the numbers"],
              styles={2: {"true": "green", "false": "red", "partly true": "yellow"}})
    for i, c in enumerate(claims, 1):
        t.add(i, c.claim, c.verdict, c.evidence)
    if not out.rich:   # wrap the evidence for a plain terminal
        import textwrap
        t.rows = [r[:3] + ["\n".join(textwrap.wrap(r[3], 72))] for r in t.rows]
        t.rows = [r[:1] + ["\n".join(textwrap.wrap(r[1], 34))] + r[2:] for r in t.rows]
    out.table(t)
    return 0
