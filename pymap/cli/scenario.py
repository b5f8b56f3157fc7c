"""``pymap scenario``: built-in and user scenarios, run in C by pymap.Scenario.

A scenario is one or more *variants*; a variant is a program of *steps*
(the rows of its table), and a step is one or more scenario-runner ops.
Every op is a top-level op of one ``pymap.Scenario`` run per variant, so
the runner returns a snapshot (map state, MemStats, gctrace lines) after
each op: the table shows the last snapshot of each step and the gctrace
lines of all its ops; the plot uses every snapshot.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .. import Runtime, Scenario, __version__
from .._heap import MemStats
from ._common import (DEFAULT_GO, has_clear_builtin, CLIError, Output, Table, fmt_bytes, fmt_gogc, fmt_limit,
                      impl_label, is_swiss, parse_bytes, parse_go, progress)

SCHEMA_VERSION = 2
FILL_CHUNKS = 16          # a fill is split into this many insert_range ops (finer plots)


# ---- programs ---------------------------------------------------------------------

@dataclass
class StepDef:
    label: str                 #: the step as Go code or prose (table rows)
    ops: list[dict]            #: scenario-runner ops
    tag: str = ""              #: short name for plots


@dataclass
class Variant:
    name: str
    steps: list[StepDef]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    go: str = DEFAULT_GO
    seed: int = 1
    gogc: Optional[int] = 100
    memory_limit: Optional[int] = None
    n: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    index: int
    label: str
    tag: str
    ops: list[str]
    live: bool
    map: dict[str, Any]          #: len, bytes, allocated and the implementation's fields (see map_fields)
    result: int
    memstats: MemStats
    gctrace: list[str]
    first_sample: int            #: index into VariantResult.samples of the step's first op
    last_sample: int


@dataclass
class Sample:
    """The state after one op (index 0: before the first op)."""

    step: int                    #: the row it belongs to (-1 for the start)
    memstats: MemStats
    live: bool
    count: int
    B: int                       #: classic
    noverflow: int               #: classic
    bytes: int
    dir_len: int = 0             #: Swiss
    ntables: int = 0             #: Swiss
    capacity: int = 0            #: Swiss: slots in all tables (8 for the small group)


@dataclass
class VariantResult:
    variant: Variant
    rows: list[Row]
    samples: list[Sample]
    baseline_heap: int
    pool_stats: list[dict]
    seconds: float
    tombstones: Optional[int] = None   #: Swiss: deleted slots in map slot 0 at the end (None: no such map)


def chunks(start: int, stop: int, parts: int = FILL_CHUNKS) -> list[tuple[int, int]]:
    """[start, stop) cut into at most `parts` contiguous pieces."""
    n = stop - start
    if n <= 0:
        return []
    k = max(1, min(parts, n))
    edges = [start + n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def fill_ops(slot: int, start: int, stop: int, parts: int = FILL_CHUNKS) -> list[dict]:
    return [{"op": "insert_range", "map": slot, "start": a, "stop": b} for a, b in chunks(start, stop, parts)]


def run_variant(v: Variant, cfg: Config) -> VariantResult:
    """Run one variant in a fresh Runtime: one pymap.Scenario of all its ops."""
    rt = Runtime(go=cfg.go, seed=cfg.seed, gogc=cfg.gogc, memory_limit=cfg.memory_limit)
    flat: list[dict] = []
    owner: list[int] = []
    for i, s in enumerate(v.steps):
        for op in s.ops:
            flat.append(op)
            owner.append(i)
    try:
        sc = Scenario(flat, runtime=rt)
    except (TypeError, ValueError, OverflowError) as e:
        raise CLIError(f"{v.name}: {_op_where(e, owner, v)}",
                       "the ops and their fields are listed in docs/cli/scenario.md") from None
    start = rt.memstats()
    t0 = time.perf_counter()
    failure: Optional[BaseException] = None
    try:
        res = sc.run()
        steps = res.steps
        pools = res.pools
    except Exception as e:   # the runner stopped: show the steps reached, then the error
        failure = e
        partial = getattr(e, "result", None)
        steps = partial.steps if partial is not None else []
        pools = partial.pools if partial is not None else []
    seconds = time.perf_counter() - t0
    samples = [Sample(-1, start, False, 0, 0, 0, 0)]
    for k, st in enumerate(steps):
        samples.append(Sample(owner[k], st.memstats, st.live, st.count, st.B, st.noverflow, st.bytes,
                              getattr(st, "dir_len", 0), getattr(st, "ntables", 0), getattr(st, "capacity", 0)))
    rows: list[Row] = []
    done = len(steps) - (1 if failure is not None else 0)   # the failed op's snapshot is the last
    by_step: dict[int, list[int]] = {}
    for j in range(done):
        by_step.setdefault(owner[j], []).append(j)
    for i, sd in enumerate(v.steps):
        idx = by_step.get(i, [])
        if len(idx) < len(sd.ops):
            break
        last = steps[idx[-1]]
        rows.append(Row(
            index=i, label=sd.label, tag=sd.tag or sd.label, ops=[steps[j].op for j in idx], live=last.live,
            map=map_fields(last),
            result=sum(steps[j].result for j in idx), memstats=last.memstats,
            gctrace=[line for j in idx for line in steps[j].gctrace],
            first_sample=idx[0] + 1, last_sample=idx[-1] + 1))
    tomb = None
    final = res.maps.get(0) if failure is None else None
    if final is not None and getattr(final, "impl", "") == "swiss":
        from .grow import tombstones
        tomb = tombstones(final)
    out = VariantResult(v, rows, samples, rt.baseline.heap_alloc,
                        [dataclasses.asdict(p.stats) for p in pools], seconds, tomb)
    if failure is not None:
        failed_step = owner[len(steps) - 1] if steps else 0
        msg = str(failure.args[0] if failure.args else failure)
        msg = re.sub(r"^scenario record \d+: ", "", msg)
        hint = ("the maps grew past the model's allocation limit: try a smaller --n"
                if isinstance(failure, MemoryError) else
                "a range op needs a map in its slot (make it first), and its keys must fit the key type")
        err = CLIError(f"{v.name}: the model stopped in step {failed_step + 1} "
                       f"({v.steps[failed_step].label}): {type(failure).__name__ + ': ' if isinstance(failure, MemoryError) else ''}{msg}",
                       hint, code=1)
        err.partial = out  # type: ignore[attr-defined]
        raise err
    return out


def map_fields(st: Any) -> dict[str, Any]:
    """The map part of a step, by implementation: classic len, B, noverflow,
    growing, same_size_grow, nevacuate; Swiss len, dir_len, tables, capacity,
    global_depth; both bytes and allocated."""
    if getattr(st, "impl", "classic") == "swiss":
        return dict(impl="swiss", len=st.count, dir_len=st.dir_len, tables=st.ntables, capacity=st.capacity,
                    global_depth=st.global_depth, bytes=st.bytes, allocated=st.allocated)
    return dict(impl="classic", len=st.count, B=st.B, noverflow=st.noverflow, growing=st.growing,
                same_size_grow=st.same_size_grow, nevacuate=st.nevacuate, bytes=st.bytes, allocated=st.allocated)


def _op_where(e: BaseException, owner: list[int], v: Variant) -> str:
    """Name the step of the op a compile error is about ("ops[12] ...")."""
    msg = str(e)
    m = re.match(r"ops\[(\d+)\](.*)", msg)
    if m and int(m.group(1)) < len(owner):
        i = owner[int(m.group(1))]
        return f"step {i + 1} ({v.steps[i].label}){m.group(2)}"
    return msg


# ---- the built-in scenarios ------------------------------------------------------------

@dataclass
class Builtin:
    name: str
    title: str
    description: str
    default_n: int
    build: Callable[[Config], list[Variant]]
    summarize: Callable[[Config, list[VariantResult], Output], None]
    annotate: Optional[Callable[[Config, VariantResult, Row], str]] = None


def _clear_label(go: str) -> str:
    return "clear(m)" if has_clear_builtin(go) else "for k := range m { delete(m, k) }"


def _build_clear_vs_drop(cfg: Config) -> list[Variant]:
    n = cfg.n
    mk = {"op": "make", "key": "int64", "elem": "int64"}
    strategies: list[tuple[str, str, list[StepDef], int]] = [
        ("clear", _clear_label(cfg.go), [StepDef(_clear_label(cfg.go), [{"op": "clear"}], "clear")], 0),
        ("nil", "m = nil", [StepDef("m = nil", [{"op": "drop"}], "m = nil")], 0),
        ("make", "m = make(map[int64]int64)",
         [StepDef("m = make(map[int64]int64)", [dict(mk)], "make")], 0),
        ("delete", "delete(m, i) for every key",
         [StepDef("for i := range n { delete(m, i) }", [{"op": "delete_range", "stop": n}], "delete")], 0),
        ("copy", "delete every key, copy into a new map", [
            StepDef("for i := range n { delete(m, i) }", [{"op": "delete_range", "stop": n}], "delete"),
            StepDef("m2 := make(map[int64]int64); copy m into m2", [dict(mk, map=1), {"op": "copy", "map": 1, "src": 0}],
                    "copy"),
            StepDef("m = m2 (the old map is garbage)",
                    [{"op": "drop", "map": 0}, {"op": "lookup_range", "map": 1, "stop": 0}], "m = m2"),
        ], 1),
    ]
    out = []
    for key, name, reset, slot in strategies:
        for gc in (False, True):
            steps = [StepDef("m := make(map[int64]int64)", [dict(mk)], "make"),
                     StepDef(f"m[i] = i for i < {n:,}", fill_ops(0, 0, n), "fill")]
            steps += reset
            if gc:
                steps.append(StepDef("runtime.GC()", [{"op": "gc"}], "GC"))
            refill = fill_ops(slot, 0, n)
            if key == "nil":
                steps.append(StepDef(f"m = make(...); m[i] = i for i < {n:,}", [dict(mk)] + refill, "refill"))
            else:
                steps.append(StepDef(f"refill: m[i] = i for i < {n:,}", refill, "refill"))
            out.append(Variant(f"{name}{', then runtime.GC()' if gc else ', no runtime.GC()'}", steps,
                               {"strategy": key, "gc": gc, "reset_steps": len(reset)}))
    return out


def _shape(row: Row) -> str:
    """What the map's storage is, in the implementation's terms."""
    m = row.map
    if m.get("impl") == "swiss":
        if m["tables"]:
            return f"{m['tables']:,} table{'s' if m['tables'] != 1 else ''}, {m['capacity']:,} slots"
        return "its small group" if m["capacity"] else "no storage"
    return f"its bucket array, B={m['B']}"


def _storage_word(cfg: Config) -> str:
    return "tables" if is_swiss(cfg.go) else "bucket array"


def _summarize_clear_vs_drop(cfg: Config, results: list[VariantResult], out: Output) -> None:
    swiss = is_swiss(cfg.go)
    shape_cols = ["tables", "capacity"] if swiss else ["B"]
    t = Table(["<strategy", "<runtime.GC()", "len"] + shape_cols + ["map bytes", "HeapAlloc", "HeapInuse",
               "refill allocs", "GCs"],
              title=f"Summary (Go {cfg.go}): the heap after each reset, and what refilling {cfg.n:,} entries "
                    f"allocates")
    names = {"clear": _clear_label(cfg.go).split(" {")[0], "nil": "m = nil", "make": "m = make(...)",
             "delete": "delete loop", "copy": "delete + copy"}
    kept: dict[str, tuple] = {}
    for r in results:
        p = r.variant.params
        reset_end = r.rows[1 + p["reset_steps"] + (1 if p["gc"] else 0)]   # the last step before the refill
        refill = r.rows[-1]
        before_refill = reset_end.memstats
        live = reset_end.live
        shape = ([reset_end.map["tables"], reset_end.map["capacity"]] if swiss else [reset_end.map["B"]]) \
            if live else ["-"] * len(shape_cols)
        t.add(names[p["strategy"]], "yes" if p["gc"] else "no",
              reset_end.map["len"] if live else "-", *shape,
              reset_end.map["bytes"] if live else 0,
              before_refill.heap_alloc, before_refill.heap_inuse,
              refill.memstats.total_alloc - before_refill.total_alloc, refill.memstats.num_gc)
        if p["gc"]:
            kept[p["strategy"]] = (reset_end.map["bytes"] if live else 0, before_refill.heap_alloc,
                                   refill.memstats.total_alloc - before_refill.total_alloc,
                                   reset_end if live else None, r.rows[1], refill)
    t.notes.append("map bytes: what m itself holds after the reset (0 when m is nil); refill allocs: "
                   "TotalAlloc during the refill.")
    out.table(t)
    if {"clear", "nil"} <= kept.keys():
        c, z = kept["clear"], kept["nil"]
        clear = _clear_label(cfg.go)
        word = _storage_word(cfg)
        cleared, filled = c[3], c[4]
        same = cleared is not None and all(cleared.map.get(k) == filled.map.get(k)
                                           for k in ("B", "dir_len", "tables", "capacity"))
        what = _shape(cleared) if cleared is not None else "nothing"
        out.para(f"After runtime.GC(), {clear} still holds {fmt_bytes(c[0])} ({what}"
                 f"{', as after the fill' if same else ''}) and HeapAlloc is {fmt_bytes(c[1])}; "
                 f"after m = nil it is {fmt_bytes(z[1])}.")
        if c[2] == 0:
            after = f"nothing after {clear}"
        else:
            after = f"{fmt_bytes(c[2])} after {clear}" + (f" ({z[2] / c[2]:.0f}x less)" if z[2] > c[2] else "")
        tail = ""
        if same and c[2] < z[2]:
            tail = f": {clear} keeps its {word}, and the refill reuses {'them' if swiss else 'it'}"
            refilled = c[5].map
            if c[2] and swiss and refilled["tables"] > cleared.map["tables"]:
                k = refilled["tables"] - cleared.map["tables"]
                tail += (f"; {k:,} table{'s' if k != 1 else ''} split during the refill (clear reseeds the map, "
                         f"so the same keys spread over the tables differently)")
            elif c[2] and not swiss and refilled["B"] == cleared.map["B"]:
                tail += " at the same B; what it allocates is overflow buckets"
        out.para(f"Refilling allocates {after} and {fmt_bytes(z[2])} after m = nil{tail}.")


def _short(n: int) -> str:
    """1,234,567 -> "1.23M" (plot labels)."""
    for unit, size in (("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _build_churn(cfg: Config) -> list[Variant]:
    n = cfg.n
    w = cfg.extra.get("window") or max(8, n // 100)
    if w >= n:
        raise CLIError(f"--window {w:,} must be smaller than --n {n:,}", "churn inserts --n keys in total, "
                       "keeping the last --window of them")
    rounds = 20
    # batches: small enough that the map never holds much more than the window,
    # bounded so that the program stays at most ~40,000 ops
    b = max(1, w // 16, math.ceil((n - w) / 20000))
    steps = [StepDef("m := make(map[int64]int64)", [{"op": "make", "key": "int64", "elem": "int64"}], "make"),
             StepDef(f"fill the window: m[i] = i for i < {w:,}", fill_ops(0, 0, w), "fill")]
    batches = [(s, min(s + b, n)) for s in range(w, n, b)]
    for lo, hi in chunks(0, len(batches), rounds):   # rows: groups of whole batches
        ops = []
        for s, e in batches[lo:hi]:
            ops.append({"op": "insert_range", "start": s, "stop": e})
            ops.append({"op": "delete_range", "start": s - w, "stop": e - w})
        first, last = batches[lo][0], batches[hi - 1][1]
        steps.append(StepDef(f"insert i, delete i-{w:,} for i in [{first:,}, {last:,})", ops, _short(last)))
    return [Variant(f"sliding window of {w:,} keys over {n:,} inserts (batches of {b:,})", steps,
                    {"window": w, "batch": b})]


def _is_swiss_result(r: VariantResult) -> bool:
    return bool(r.rows) and r.rows[0].map.get("impl") == "swiss"


def churn_events(r: VariantResult) -> list[dict]:
    """Grow events seen between snapshots.  Classic: B increased (doubling) or
    noverflow fell with B unchanged (hashGrow resets noverflow: a same-size
    grow).  Swiss: the tables' capacity grew; each new table is a split, the
    rest of the growth is table doublings."""
    ev: list[dict] = []
    prev = None
    swiss = _is_swiss_result(r)
    for i, s in enumerate(r.samples):
        if prev is not None and s.live and prev.live:
            if swiss:
                if s.capacity > prev.capacity and prev.capacity:
                    splits = s.ntables - prev.ntables
                    ev.append({"sample": i, "kind": "growth", "slots": s.capacity - prev.capacity,
                               "splits": splits, "capacity": s.capacity, "tables": s.ntables})
            elif s.B > prev.B:
                for b in range(prev.B + 1, s.B + 1):
                    ev.append({"sample": i, "kind": "doubling", "B": b})
            elif s.noverflow < prev.noverflow and s.count > 0:
                ev.append({"sample": i, "kind": "same-size", "B": s.B})
        prev = s
    return ev


def _annotate_churn(cfg: Config, r: VariantResult, row: Row) -> str:
    ev = [e for e in churn_events(r) if row.first_sample <= e["sample"] <= row.last_sample]
    parts = []
    if _is_swiss_result(r):
        slots = sum(e.get("slots", 0) for e in ev)
        splits = sum(e.get("splits", 0) for e in ev)
        if slots:
            parts.append(f"+{slots:,} slots" + (f" ({splits} split{'s' if splits != 1 else ''})" if splits else ""))
        return ", ".join(parts)
    d = sum(e["kind"] == "doubling" for e in ev)
    s = sum(e["kind"] == "same-size" for e in ev)
    if d:
        parts.append(f"{d} doubling")
    if s:
        parts.append(f"{s} same-size grow{'s' if s > 1 else ''}")
    return ", ".join(parts)


def _summarize_churn(cfg: Config, results: list[VariantResult], out: Output) -> None:
    r = results[0]
    fill = r.rows[1]
    ev = [e for e in churn_events(r) if e["sample"] > fill.last_sample]
    last = r.rows[-1]
    t = Table(["<measure", "value"], title=f"Summary (Go {cfg.go})")
    t.add("entries at the end (the window)", last.map["len"])
    if _is_swiss_result(r):
        from .. import MapType, version_facts
        growths = len(ev)
        t.add("tables after filling the window", fill.map["tables"])
        t.add("tables at the end", last.map["tables"])
        t.add("capacity (slots) after filling the window", fill.map["capacity"])
        t.add("capacity (slots) at the end", last.map["capacity"])
        t.add("snapshots in which the capacity grew", growths)
        t.add("splits during the churn", sum(e["splits"] for e in ev))
        t.add("tombstones at the end", "-" if r.tombstones is None else r.tombstones)
        t.add("map bytes after filling the window", fill.map["bytes"])
        t.add("map bytes at the end", last.map["bytes"])
        t.add("bytes the map allocated in total", last.map["allocated"])
        t.add("GC cycles", last.memstats.num_gc)
        t.notes.append("Growth is seen between snapshots (every batch): a split adds a table, a table doubling "
                       "only slots.")
        out.table(t)
        path = MapType("int64", "int64").assign_path
        prunes = path in version_facts(cfg.go).swiss_prune_paths
        c0, c1 = fill.map["capacity"], last.map["capacity"]
        grew = (f"grew from {c0:,} to {c1:,} slots ({fill.map['tables']:,} -> {last.map['tables']:,} tables)"
                if c1 > c0 else f"stayed at {c1:,} slots in {last.map['tables']:,} tables")
        out.para(f"With {last.map['len']:,} entries throughout the churn, the map {grew}; it ends with "
                 f"{'an unknown number of' if r.tombstones is None else format(r.tombstones, ',')} tombstones. "
                 f"A delete leaves a tombstone when its group has no empty slot, and a tombstone counts against "
                 f"growthLeft until a rehash (a doubling or a split, never a same-size rebuild)"
                 + (f"; on Go {cfg.go} the {path} insert path of map[int64]int64 also prunes tombstones before "
                    f"it rehashes." if prunes else
                    f"; on Go {cfg.go} the {path} insert path of map[int64]int64 never prunes them."))
        return
    same = sum(e["kind"] == "same-size" for e in ev)
    dbl = sum(e["kind"] == "doubling" for e in ev)
    peak = max((s.noverflow for s in r.samples if s.live), default=0)
    t.add("B after filling the window", fill.map["B"])
    t.add("B at the end", last.map["B"])
    t.add("doubling grows during the churn", dbl)
    t.add("same-size grows during the churn", same)
    t.add("most overflow buckets (noverflow) seen", peak)
    t.add("map bytes after filling the window", fill.map["bytes"])
    t.add("map bytes at the end", last.map["bytes"])
    t.add("bytes the map allocated in total", last.map["allocated"])
    t.add("GC cycles", last.memstats.num_gc)
    t.notes.append("Grows are counted between snapshots (every batch): a same-size grow shows as noverflow "
                   "falling back (hashGrow resets it) with B unchanged.")
    out.table(t)
    out.para(f"Deleting keeps the map's buckets: churn leaves a map of {last.map['len']:,} entries with "
             f"{last.map['noverflow']:,} overflow buckets"
             + (f"; {same} same-size grow{'s' if same != 1 else ''} rebuilt the array to pack the chains."
                if same else "; no same-size grow happened."))


def _build_pool(cfg: Config) -> list[Variant]:
    n = cfg.n
    get_new = {"op": "pool_get", "key": "int64", "elem": "int64"}
    steps = [
        StepDef("m := pool.Get() (New: make(map[int64]int64))", [dict(get_new)], "Get"),
        StepDef(f"m[i] = i for i < {n:,}", fill_ops(0, 0, n), "fill"),
        StepDef("clear(m); pool.Put(m)" if has_clear_builtin(cfg.go) else "range-delete m; pool.Put(m)",
                [{"op": "clear"}, {"op": "pool_put"}], "Put"),
        StepDef("runtime.GC()", [{"op": "gc"}], "GC"),
        StepDef("m = pool.Get()", [dict(get_new)], "Get"),
        StepDef(f"m[i] = i for i < {n:,}", fill_ops(0, 0, n), "fill"),
        StepDef("clear(m); pool.Put(m)" if has_clear_builtin(cfg.go) else "range-delete m; pool.Put(m)",
                [{"op": "clear"}, {"op": "pool_put"}], "Put"),
        StepDef("runtime.GC()", [{"op": "gc"}], "GC"),
        StepDef("runtime.GC()", [{"op": "gc"}], "GC"),
        StepDef("m = pool.Get()", [dict(get_new)], "Get"),
        StepDef(f"m[i] = i for i < {n:,}", fill_ops(0, 0, n), "fill"),
    ]
    return [Variant(f"a sync.Pool of map[int64]int64 ({n:,} entries per use)", steps)]


def _annotate_pool(cfg: Config, r: VariantResult, row: Row) -> str:
    prev = r.rows[row.index - 1] if row.index > 0 else None
    if row.ops == ["pool_get"]:
        kept = row.map.get("B", 0) > 0 or row.map.get("capacity", 0) > 0 or row.map["allocated"] > row.map["bytes"]
        if not kept:
            return "New() made a fresh map"
        return (f"a pooled map ({row.map['tables']} tables, {row.map['capacity']:,} slots kept)"
                if row.map.get("impl") == "swiss" else f"a pooled map (B={row.map['B']} kept)")
    if row.ops == ["gc"] and prev is not None:
        freed = prev.memstats.heap_alloc - row.memstats.heap_alloc
        return f"freed {fmt_bytes(freed)}"
    if row.tag == "fill" and prev is not None:
        return f"allocated {fmt_bytes(row.memstats.total_alloc - prev.memstats.total_alloc)}"
    return ""


def _summarize_pool(cfg: Config, results: list[VariantResult], out: Output) -> None:
    r = results[0]
    st = r.pool_stats[0] if r.pool_stats else {}
    t = Table(["<sync.Pool counter", "value"], title=f"Pool statistics at the end (Go {cfg.go})")
    for k, name in (("gets", "Get calls"), ("puts", "Put calls"), ("news", "New calls (misses)"),
                    ("victim_hits", "Gets served from the victim cache"),
                    ("dropped_by_gc", "maps dropped by GC cleanup"), ("held", "maps held now")):
        t.add(name, st.get(k, 0))
    out.table(t)
    rows = r.rows
    gcs = [row for row in rows if row.ops == ["gc"]]
    gets = [row for row in rows if row.ops == ["pool_get"]]
    if len(gcs) == 3 and len(gets) >= 2 and gets[1].live:
        size = gets[1].map["bytes"]     # the map the pool held, as the second Get returned it
        held = [g.memstats.heap_alloc - r.baseline_heap >= size for g in gcs]
        words = ", ".join(f"GC {i + 1} {'kept it' if h else 'freed it'} (HeapAlloc {fmt_bytes(g.memstats.heap_alloc)})"
                          for i, (g, h) in enumerate(zip(gcs, held)))
        out.para(f"The pooled map ({fmt_bytes(size)}) idle in the pool: {words}; the process baseline is "
                 f"{fmt_bytes(r.baseline_heap)}.")


def _build_pointer_values(cfg: Config) -> list[Variant]:
    n, size = cfg.n, cfg.extra.get("size") or 1024
    t = f"*[{size}]byte"
    mk = {"op": "make", "key": "string", "elem": t}
    out = []
    for key, label, ops in (
            ("delete", 'for i := range n { delete(m, "key-"+i) }', [{"op": "delete_range", "stop": n}]),
            ("clear", _clear_label(cfg.go), [{"op": "clear"}]),
            ("nil", "m = nil", [{"op": "drop"}])):
        steps = [StepDef(f"m := make(map[string]{t})", [mk], "make"),
                 StepDef(f'm["key-"+i] = new([{size}]byte) for i < {n:,}', fill_ops(0, 0, n), "fill"),
                 StepDef(label, ops, key),
                 StepDef("runtime.GC()", [{"op": "gc"}], "GC"),
                 StepDef("runtime.GC()", [{"op": "gc"}], "GC")]
        out.append(Variant(f"{label.split(' {')[0] if key != 'delete' else 'delete each key'}", steps,
                           {"strategy": key, "size": size}))
    return out


def _summarize_pointer_values(cfg: Config, results: list[VariantResult], out: Output) -> None:
    t = Table(["<strategy", "map bytes filled", "map bytes after", "HeapAlloc after", "HeapAlloc after GC",
               "freed by the GC", "<left after the GC"],
              title=f"Summary: when the pointees are freed (Go {cfg.go})")
    for r in results:
        fill, op, gc = r.rows[1], r.rows[2], r.rows[3]
        kept = gc.map["bytes"] if gc.live else 0
        left = gc.memstats.heap_alloc - r.baseline_heap
        t.add(r.variant.params["strategy"], fill.map["bytes"], op.map["bytes"] if op.live else 0,
              op.memstats.heap_alloc, gc.memstats.heap_alloc, op.memstats.heap_alloc - gc.memstats.heap_alloc,
              "only the map's own bytes" if left == kept and kept else "nothing" if left == 0 == kept
              else f"{left:,} B above the baseline")
    t.notes.append("map bytes include the pointees the map still points to. The pointees become garbage at "
                   "delete/clear/m = nil but stay in HeapAlloc until a GC cycle sweeps them; left after the GC: "
                   "HeapAlloc above the process baseline.")
    out.table(t)


BUILTINS: dict[str, Builtin] = {
    "clear-vs-drop": Builtin(
        "clear-vs-drop", "clear(m) vs m = nil vs make vs the delete loop vs copying into a new map",
        "Fill a map[int64]int64 with --n entries, reset it five ways, each with and without runtime.GC(), "
        "then refill it: what the heap keeps and what refilling allocates.",
        100_000, _build_clear_vs_drop, _summarize_clear_vs_drop),
    "churn": Builtin(
        "churn", "sliding-window churn: deletes and inserts at a constant size",
        "Insert --n keys in total into a map[int64]int64, deleting the key --window inserts back, in "
        "batches, so that the map's size stays constant: what that does to its storage (classic map: overflow "
        "buckets and same-size grows; Swiss map: tombstones, table doublings and splits).",
        1_000_000, _build_churn, _summarize_churn, _annotate_churn),
    "pool": Builtin(
        "pool", "a sync.Pool of maps across GCs",
        "Get a map[int64]int64 from a sync.Pool, fill it with --n entries, clear it and Put it back, across "
        "runtime.GC() calls: the victim cache keeps it through one GC, the next one frees it.",
        100_000, _build_pool, _summarize_pool, _annotate_pool),
    "pointer-values": Builtin(
        "pointer-values", "map[string]*[N]byte: delete vs clear vs m = nil, when the pointees are freed",
        "Fill a map[string]*[--size]byte with --n entries, empty it by deleting every key, by clear(m) or by "
        "m = nil, then run runtime.GC() twice: when the pointees leave the heap.",
        10_000, _build_pointer_values, _summarize_pointer_values),
}


# ---- scenario files (TOML) ----------------------------------------------------------------

_N_EXPR = re.compile(r"^\s*(?:(\d+)\s*\*\s*)?n\s*(?:([*/])\s*(\d+))?\s*$")


def _subst_n(v: Any, n: int, where: str) -> Any:
    """Integer fields may be written "n", "n/2", "n*4" or "2*n" (n: --n, or the file's n)."""
    if isinstance(v, str):
        m = _N_EXPR.match(v)
        if m:
            x = n * int(m.group(1) or 1)
            if m.group(2) == "*":
                x *= int(m.group(3))
            elif m.group(2) == "/":
                if int(m.group(3)) == 0:
                    raise CLIError(f"{where}: division by zero in {v!r}")
                x //= int(m.group(3))
            return x
    if isinstance(v, list):
        return [_subst_n(x, n, where) for x in v]
    if isinstance(v, dict):
        return {k: _subst_n(x, n, f"{where}.{k}") for k, x in v.items()}
    return v


def load_toml(path: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise CLIError(f"scenario file {path!r} does not exist") from None
    except OSError as e:
        raise CLIError(f"cannot read scenario file {path!r}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise CLIError(f"{path} is not valid TOML: {e}") from None


_FILE_KEYS = {"title", "description", "go", "gogc", "memory_limit", "seed", "n", "step"}


def variant_from_file(doc: dict, path: str, n: Optional[int]) -> tuple[Variant, dict]:
    """The program of a scenario file, and its settings (go, gogc, memory_limit, seed, n)."""
    extra = set(doc) - _FILE_KEYS
    if extra:
        raise CLIError(f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}",
                       f"a scenario file has {', '.join(sorted(_FILE_KEYS))}")
    settings: dict[str, Any] = {}
    if "go" in doc:
        settings["go"] = parse_go(str(doc["go"]))
    if "gogc" in doc:
        g = doc["gogc"]
        if g == "off":
            settings["gogc"] = None
        elif isinstance(g, int) and not isinstance(g, bool) and g >= 0:
            settings["gogc"] = g
        else:
            raise CLIError(f"{path}: gogc must be an integer >= 0 or \"off\", not {g!r}")
    if "memory_limit" in doc:
        lim = doc["memory_limit"]
        if isinstance(lim, int) and not isinstance(lim, bool):
            if lim < 0:
                raise CLIError(f"{path}: memory_limit must be >= 0")
            settings["memory_limit"] = lim
        elif isinstance(lim, str):
            settings["memory_limit"] = parse_bytes(lim, f"{path}: memory_limit")
        else:
            raise CLIError(f"{path}: memory_limit must be bytes (an integer or a string like \"64MiB\") or \"off\"")
    if "seed" in doc:
        if not isinstance(doc["seed"], int) or isinstance(doc["seed"], bool):
            raise CLIError(f"{path}: seed must be an integer")
        settings["seed"] = doc["seed"]
    file_n = doc.get("n")
    if file_n is not None and (not isinstance(file_n, int) or isinstance(file_n, bool) or file_n < 0):
        raise CLIError(f"{path}: n must be an integer >= 0")
    nn = n if n is not None else file_n
    steps_doc = doc.get("step")
    if not isinstance(steps_doc, list) or not steps_doc:
        raise CLIError(f"{path}: no steps", "write each step as a [[step]] table with an op (see docs/cli/scenario.md)")
    steps = []
    for i, s in enumerate(steps_doc):
        where = f"{path}: step {i + 1}"
        if not isinstance(s, dict):
            raise CLIError(f"{where} must be a table")
        s = dict(s)
        label = s.pop("label", None)
        if "ops" in s:
            ops = s.pop("ops")
            if s:
                raise CLIError(f"{where}: a step with ops takes only label besides, not {', '.join(sorted(s))}")
            if not isinstance(ops, list) or not ops or not all(isinstance(o, dict) for o in ops):
                raise CLIError(f"{where}: ops must be a non-empty list of op tables")
        elif "op" in s:
            ops = [s]
        else:
            raise CLIError(f"{where} has no op", "each [[step]] needs op = \"...\" (or ops = [...])")
        if nn is None and any(isinstance(x, str) and _N_EXPR.match(x) for o in ops for x in _walk(o)):
            raise CLIError(f"{where} uses n, but neither --n nor the file's n = ... gives it")
        ops = [_subst_n(o, nn or 0, where) for o in ops]
        if label is None:
            label = "; ".join(_describe_op(o) for o in ops)
        label = str(label)
        steps.append(StepDef(label, ops, label if len(label) <= 20 else label[:19].rstrip() + "\u2026"))
    name = str(doc.get("title") or path)
    return Variant(name, steps), dict(settings, n=nn)


def _walk(x: Any) -> list:
    if isinstance(x, dict):
        return [y for v in x.values() for y in _walk(v)]
    if isinstance(x, list):
        return [y for v in x for y in _walk(v)]
    return [x]


def _describe_op(o: dict) -> str:
    """An op in Go terms, for the rows of a scenario file without labels."""
    op = o.get("op", "?")
    if not isinstance(op, str):
        return "?"

    def m(slot: Any) -> str:
        return "m" if not slot else f"m{slot}"

    mm = m(o.get("map", 0))
    rng = f"i in [{o.get('start', 0)}, {o.get('stop', '?')})" + (f" step {o['step']}" if "step" in o else "")
    if op == "make" or op == "pool_get":
        t = f"map[{o.get('key', '?')}]{o.get('elem', '?')}" if "key" in o or "elem" in o else ""
        hint = f", {o['hint']}" if o.get("hint") else ""
        if op == "make":
            return f"{mm} = make({t}{hint})"
        return f"{mm} = pools[{o.get('pool', 0)}].Get()" + (f" (New: make({t}{hint}))" if t else "")
    return {
        "insert_range": f"{mm}[key(i)] = elem(i), {rng}",
        "delete_range": f"delete({mm}, key(i)), {rng}",
        "lookup_range": f"_, ok := {mm}[key(i)], {rng}",
        "clear": f"clear({mm})",
        "drop": f"{mm} = nil",
        "iterate": f"for k, v := range {mm} {{}}",
        "copy": f"copy {m(o.get('src'))} into {mm}",
        "repeat": f"{o.get('count', '?')} x [{'; '.join(_describe_op(b) for b in o.get('body') or [] if isinstance(b, dict))}]",
        "gc": "runtime.GC()",
        "free_os_memory": "debug.FreeOSMemory()",
        "advance": f"{o.get('seconds', '?')} s pass",
        "set_gogc": f"debug.SetGCPercent({o.get('gogc', '?')})",
        "set_memory_limit": f"debug.SetMemoryLimit({o.get('limit', '?')})",
        "pool_put": f"pools[{o.get('pool', 0)}].Put({mm}); {mm} = nil",
    }.get(op, op)


# ---- output --------------------------------------------------------------------------

def step_table(cfg: Config, r: VariantResult, annotate: Optional[Callable] = None) -> Table:
    swiss = is_swiss(cfg.go)
    shape = ["dirLen", "tables", "capacity"] if swiss else ["B", "overflow"]
    cols = ["#", "<step", "len"] + shape + ["map bytes", "HeapAlloc", "HeapInuse", "HeapObjects", "NextGC", "GCs"]
    if annotate:
        cols.append("<note")
    t = Table(cols)
    for row in r.rows:
        m, ms = row.map, row.memstats
        if not row.live:
            sh = ["-"] * len(shape)
        elif swiss:
            sh = [m["dir_len"], m["tables"], m["capacity"]]
        else:
            sh = [m["B"], m["noverflow"]]
        cells = [row.index + 1, row.label, m["len"] if row.live else "-", *sh, m["bytes"] if row.live else "-",
                 ms.heap_alloc, ms.heap_inuse, ms.heap_objects, ms.next_gc, ms.num_gc]
        if annotate:
            cells.append(annotate(cfg, r, row))
        t.add(*cells)
    return t


def print_variant(out: Output, cfg: Config, r: VariantResult, annotate: Optional[Callable] = None,
                  number: Optional[int] = None, heading: bool = True) -> None:
    if heading:
        out.heading(f"{'[' + str(number) + '] ' if number else ''}{r.variant.name}")
    out.table(step_table(cfg, r, annotate))
    lines = [(row.index + 1, line) for row in r.rows for line in row.gctrace]
    if lines:
        out.print("gctrace:")
        for i, line in lines:
            out.print(f"  step {i:>2}: {line}")
    else:
        out.print("gctrace: (no GC cycle)")
    out.print("")


def settings_line(cfg: Config) -> str:
    return (f"Go {cfg.go} ({impl_label(cfg.go)}, modelled by pymap {__version__}); GOGC={fmt_gogc(cfg.gogc)}, "
            f"GOMEMLIMIT={fmt_limit(cfg.memory_limit)}, seed {cfg.seed}")


def to_json(name: str, title: str, cfg: Config, results: list[VariantResult]) -> dict:
    def ms(m: MemStats) -> dict:
        return m.as_dict()

    return {
        "schema": "pymap.scenario",
        "schema_version": SCHEMA_VERSION,
        "pymap_version": __version__,
        "scenario": name,
        "title": title,
        "go": cfg.go,
        "settings": {"n": cfg.n, "gogc": cfg.gogc, "memory_limit": cfg.memory_limit, "seed": cfg.seed,
                     **cfg.extra},
        "variants": [{
            "name": r.variant.name,
            "params": {k: v for k, v in r.variant.params.items() if k != "reset_steps"},
            "baseline_heap_alloc": r.baseline_heap,
            "steps": [{
                "index": row.index + 1,
                "label": row.label,
                "ops": row.ops,
                "map": dict(row.map, live=row.live) if row.live else {"live": False},
                "result": row.result,
                "memstats": ms(row.memstats),
                "gctrace": row.gctrace,
            } for row in r.rows],
            "pools": r.pool_stats,
        } for r in results],
    }


def prometheus_output(name: str, cfg: Config, results: list[VariantResult]) -> str:
    from .prometheus import memstats_text
    samples = []
    for r in results:
        labels = {"variant": r.variant.name} if len(results) > 1 else {}
        samples.append((labels, r.rows[-1].memstats))
    head = f"# pymap scenario {name}: MemStats after the last step; {settings_line(cfg)}\n"
    return head + memstats_text(samples)


# ---- the command ---------------------------------------------------------------------

def command(args: Any, out: Output) -> int:
    if args.list:
        t = Table(["<scenario", "--n default", "<what it shows"])
        for b in BUILTINS.values():
            t.add(b.name, b.default_n, b.title)
        out.table(t)
        return 0
    if args.name and args.file:
        raise CLIError("give a scenario NAME or --file, not both")
    if not args.name and not args.file:
        raise CLIError("which scenario?", f"give a NAME ({', '.join(BUILTINS)}) or --file SCENARIO.toml")
    if args.json and args.prometheus:
        raise CLIError("--json and --prometheus are two different outputs: choose one")
    if args.window is not None and args.name != "churn":
        raise CLIError("--window belongs to the churn scenario")
    if args.size is not None and args.name != "pointer-values":
        raise CLIError("--size belongs to the pointer-values scenario")
    if args.size is not None and not 1 <= args.size <= 1 << 24:
        raise CLIError(f"--size must be in 1..16777216 (bytes of the [N]byte pointee), not {args.size}")

    summarize = annotate = None
    if args.file:
        doc = load_toml(args.file)
        variant, settings = variant_from_file(doc, args.file, args.n)
        cfg = Config(go=args.go or settings.get("go", DEFAULT_GO),
                     seed=args.seed if args.seed is not None else settings.get("seed", 1),
                     gogc=args.gogc if args.gogc_given else settings.get("gogc", 100),
                     memory_limit=args.memlimit if args.memlimit_given else settings.get("memory_limit"),
                     n=settings.get("n") or 0)
        name, title, variants = args.file, variant.name, [variant]
        description = str(doc.get("description", ""))
    else:
        if args.name not in BUILTINS:
            raise CLIError(f"unknown scenario {args.name!r}", f"built-in scenarios: {', '.join(BUILTINS)}")
        b = BUILTINS[args.name]
        n = args.n if args.n is not None else b.default_n
        if n < 1:
            raise CLIError("--n must be at least 1")
        extra = {}
        if args.window is not None:
            extra["window"] = args.window
        if args.size is not None:
            extra["size"] = args.size
        cfg = Config(go=args.go or DEFAULT_GO, seed=1 if args.seed is None else args.seed, gogc=args.gogc,
                     memory_limit=args.memlimit, n=n, extra=extra)
        variants = b.build(cfg)
        if b.name == "churn":
            cfg.extra = {"window": variants[0].params["window"], "batch": variants[0].params["batch"]}
        if b.name == "pointer-values":
            cfg.extra = {"size": variants[0].params["size"]}
        name, title, description = b.name, b.title, b.description
        summarize, annotate = b.summarize, b.annotate

    results: list[VariantResult] = []
    with progress(len(variants), f"scenario {name}") as bar:
        for v in variants:
            bar.describe(v.name)
            results.append(run_variant(v, cfg))
            bar.advance()

    if args.plot:
        from .plot import plot_scenario
        plot_scenario(args.plot, title, cfg, results)
    if args.json:
        json.dump(to_json(name, title, cfg, results), out.stream, indent=1)
        out.stream.write("\n")
        return 0
    if args.prometheus:
        out.stream.write(prometheus_output(name, cfg, results))
        return 0
    out.heading(f"pymap scenario {name}: {title}")
    out.print(settings_line(cfg))
    if description:
        out.para(description)
    out.print("")
    for i, r in enumerate(results, 1):
        print_variant(out, cfg, r, annotate, i if len(results) > 1 else None, heading=r.variant.name != title)
    if summarize:
        summarize(cfg, results, out)
    if args.plot:
        out.print(f"plot written to {args.plot}")
    return 0
