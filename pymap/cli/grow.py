"""``pymap grow``: a map's growth timeline, insert by insert.

Inserting one key at a time from Python and reading the header after each
costs ~15 us; a million inserts would take many seconds.  So two identical
maps (two Runtimes with the same seed make the same draws) go through the
same inserts: the *leader* takes a chunk in C, and when its state changed
within the chunk (B, a grow starting or ending, noverflow falling back as a
same-size grow resets it) the *trailer* replays that chunk one insert at a
time to find the exact insert; otherwise the trailer takes the chunk in C
too.  At the end both maps must be identical.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from .. import GoMap, MapType, Runtime, __version__
from .._native import lib
from .._types import parse_kind
from ._common import DEFAULT_GO, CLIError, Output, Table, fmt_bytes, progress

SCHEMA_VERSION = 1
_INTS = (lib.PM_KIND_INT, lib.PM_KIND_UINT)


def map_type(key: str, elem: str) -> MapType:
    """MapType(key, elem), with the model's message as a CLIError."""
    try:
        return MapType(key, elem)
    except (TypeError, ValueError) as e:
        raise CLIError(str(e), "Go spellings: int64, uint8, string, float64, bool, [16]byte, struct{}, "
                               "pointer; *[N]byte as an elem") from None


class Inserter:
    """Inserts keys key(i) for i in [a, b): insert_range (C) where the model
    can make the keys and elems from i, else insert_many with generated
    keys and zero elems."""

    def __init__(self, t: MapType) -> None:
        self.t = t
        k, e = parse_kind(t.key), parse_kind(t.elem)
        self.kcode, self.ksize = k.code, k.size
        self.max_keys = self._max_keys(k.code, k.size)
        elem_ok = e.code in (lib.PM_KIND_STRING, lib.PM_KIND_PTRBYTES) or e.code in _INTS
        self.elem_max = (None if e.code not in _INTS else
                         (1 << (8 * e.size - 1)) if e.code == lib.PM_KIND_INT else 1 << (8 * e.size))
        self.range_ok = (k.code in _INTS + (lib.PM_KIND_STRING,)) and elem_ok
        self.ecode = e.code

    @staticmethod
    def _max_keys(code: int, size: int) -> int:
        if code == lib.PM_KIND_INT:
            return 1 << (8 * size - 1)          # keys 0, 1, 2, ...
        if code == lib.PM_KIND_UINT:
            return 1 << (8 * size)
        if code == lib.PM_KIND_BOOL:
            return 2
        if code == lib.PM_KIND_EMPTY:
            return 1
        if code == lib.PM_KIND_BYTES:
            return 256 ** min(size, 8)
        if code == lib.PM_KIND_FLOAT:          # float(i) is exact up to the mantissa
            return 1 << (24 if size == 4 else 53)
        if code == lib.PM_KIND_COMPLEX:
            return 1 << (24 if size == 8 else 53)
        return 1 << 63

    def describe(self, n: int) -> str:
        """What the inserts are, in Go."""
        kcode, ecode, rng = self.kcode, self.ecode, self.use_range(n)
        keys = {lib.PM_KIND_STRING: '"key-<i>"', lib.PM_KIND_BOOL: "false, true", lib.PM_KIND_EMPTY: "struct{}{}",
                lib.PM_KIND_BYTES: "i as little-endian bytes", lib.PM_KIND_FLOAT: "float(i)",
                lib.PM_KIND_COMPLEX: "complex(i, 0)", lib.PM_KIND_POINTER: "address i"}.get(kcode, "i")
        if ecode == lib.PM_KIND_PTRBYTES:
            val = f"new([{parse_kind(self.t.elem).size}]byte)" if rng else "nil"
        elif ecode == lib.PM_KIND_STRING and rng:
            val = '"key-<i>"'
        elif ecode in _INTS and rng:
            val = "i"
        else:
            val = "the zero value"
        return f"m[{keys}] = {val}"

    def check(self, n: int) -> None:
        if n > self.max_keys:
            raise CLIError(f"map[{self.t.key}]{self.t.elem} has at most {self.max_keys:,} distinct keys "
                           f"the model can generate, so --n {n:,} is too many", "use a wider key type or a smaller --n")

    def use_range(self, n: int) -> bool:
        return self.range_ok and (self.elem_max is None or n <= self.elem_max)

    def insert(self, m: GoMap, a: int, b: int, use_range: bool) -> None:
        if use_range:
            m.insert_range(a, b)
            return
        m.insert_many(self.keys(a, b), None)

    def keys(self, a: int, b: int) -> Any:
        c, s = self.kcode, self.ksize
        if c in _INTS:
            return np.arange(a, b, dtype=np.dtype(("<i" if c == lib.PM_KIND_INT else "<u") + str(s)))
        if c == lib.PM_KIND_STRING:
            return [f"key-{i}" for i in range(a, b)]
        if c == lib.PM_KIND_FLOAT:
            return np.arange(a, b, dtype=np.dtype(f"<f{s}"))
        if c == lib.PM_KIND_COMPLEX:
            return np.arange(a, b).astype(np.dtype(f"<c{s}"))
        if c == lib.PM_KIND_BOOL:
            return np.array([False, True][a:b], dtype=np.bool_)
        if c == lib.PM_KIND_POINTER:
            return np.arange(a, b, dtype=np.uint64)
        if c == lib.PM_KIND_BYTES:
            out = np.zeros((b - a, s), dtype=np.uint8)
            idx = np.arange(a, b, dtype=np.uint64)
            for j in range(min(s, 8)):
                out[:, j] = (idx >> np.uint64(8 * j)) & np.uint64(0xFF)
            return out
        if c == lib.PM_KIND_EMPTY:
            return [None] * (b - a)
        raise CLIError(f"cannot generate keys of type {self.t.key}")  # pragma: no cover


@dataclass
class State:
    inserts: int
    len: int
    B: int
    growing: bool
    same_size_grow: bool
    noverflow: int
    nevacuate: int
    old_buckets: int
    bytes: int
    allocated: int
    heap_alloc: int
    num_gc: int


@dataclass
class Event:
    insert: int
    kind: str      # make | grow | same-size grow | evacuated | end
    text: str
    state: State


def _key(m: GoMap) -> tuple:
    return (m.B, m.growing, m.same_size_grow, m.noverflow)


def _changed(before: tuple, after: tuple) -> bool:
    return before[:3] != after[:3] or after[3] < before[3]


def _state(m: GoMap, rt: Runtime, inserts: int) -> State:
    mem = m.memory()
    ms = rt.memstats()
    B, growing, same = m.B, m.growing, m.same_size_grow
    old = 0
    if growing:
        old = 1 << (B if same else B - 1)
    return State(inserts, len(m), B, growing, same, m.noverflow, m.nevacuate, old, mem.total, mem.allocated,
                 ms.heap_alloc, ms.num_gc)


def _describe(prev: tuple, s: State) -> tuple[str, str]:
    pB, pgrow, psame, pnov = prev
    if s.B > pB:
        if s.growing:
            return "grow", f"grow starts: B {pB}->{s.B}, {1 << s.B:,} buckets; {s.old_buckets:,} old to evacuate"
        return "grow", f"grow: B {pB}->{s.B} ({1 << s.B:,} buckets), evacuated within the insert"
    if s.growing and s.same_size_grow and not (pgrow and psame):
        return "same-size grow", (f"same-size grow starts (B={s.B}): {pnov:,} overflow buckets, "
                                  f"{s.old_buckets:,} buckets to re-pack")
    if not s.growing and s.noverflow < pnov and s.B == pB and not pgrow:
        return "same-size grow", f"same-size grow (B={s.B}) of {pnov:,} overflow buckets, done within the insert"
    if pgrow and not s.growing:
        return "evacuated", f"evacuation done (B={s.B}): the old array is garbage"
    return "change", "state change"


def timeline(t: MapType, go: str, n: int, hint: int = 0, seed: int = 1, chunk: Optional[int] = None,
             bar: Any = None, nsamples: int = 250) -> tuple[list[Event], list[State]]:
    """Events (exact inserts) and about `nsamples` evenly spaced samples (plus one
    per event) of inserting key(0..n-1) into make(map[K]V, hint).  Reading a
    map's bytes walks its buckets, so samples are rationed."""
    ins = Inserter(t)
    ins.check(n)
    use_range = ins.use_range(n)
    rt_l, rt_t = Runtime(go=go, seed=seed), Runtime(go=go, seed=seed)
    lead, trail = rt_l.make_map(t, hint), rt_t.make_map(t, hint)
    if chunk is None:
        chunk = min(4096, max(64, n // 2000))
    s0 = _state(trail, rt_t, 0)
    events = [Event(0, "make", f"make(map[{t.key}]{t.elem}{', ' + format(hint, ',') if hint else ''})", s0)]
    samples = [s0]
    every = max(chunk, n // max(1, nsamples))
    next_sample = every
    pos = 0
    after = _key(lead)
    while pos < n:
        end = min(n, pos + chunk)
        before = after
        ins.insert(lead, pos, end, use_range)
        after = _key(lead)
        if _changed(before, after):
            prev = _key(trail)
            for i in range(pos, end):
                ins.insert(trail, i, i + 1, use_range)
                cur = _key(trail)
                if _changed(prev, cur) or (cur[1] and cur[0] != prev[0]):
                    s = _state(trail, rt_t, i + 1)
                    kind, text = _describe(prev, s)
                    events.append(Event(i + 1, kind, text, s))
                    samples.append(s)
                prev = cur
        else:
            ins.insert(trail, pos, end, use_range)
        pos = end
        if pos >= next_sample and pos < n:
            samples.append(_state(trail, rt_t, pos))
            next_sample = pos + every
        if bar is not None:
            bar.update(pos)
    final_l, final_t = _state(lead, rt_l, n), _state(trail, rt_t, n)
    if final_l != final_t:   # pragma: no cover - the two runs must agree
        raise RuntimeError(f"internal error: leader and trailer maps differ: {final_l} != {final_t}")
    events.append(Event(n, "end", f"after {n:,} insert{'s' if n != 1 else ''}", final_t))
    samples.append(final_t)
    return events, samples


def evac(s: State) -> str:
    return f"{s.nevacuate:,}/{s.old_buckets:,}" if s.growing else "-"


def grow_table(events: list[Event]) -> Table:
    t = Table(["insert", "<event", "len", "B", "overflow", "evacuated", "map bytes", "allocated"])
    for e in events:
        s = e.state
        t.add(e.insert, e.text, s.len, s.B, s.noverflow, evac(s), s.bytes, s.allocated)
    return t


def command(args: Any, out: Output) -> int:
    from ._common import parse_count
    t = map_type(args.key, args.elem)
    n = parse_count(args.n, "--n", 0)
    hint = parse_count(args.hint, "--hint", 0) if args.hint is not None else 0
    go = args.go or DEFAULT_GO
    seed = 1 if args.seed is None else args.seed
    with progress(max(n, 1), f"inserting {n:,} keys", enabled=n >= 200_000) as bar:
        events, samples = timeline(t, go, n, hint, seed, bar=bar)
    ins = Inserter(t)
    if args.plot:
        from .plot import plot_grow
        plot_grow(args.plot, t, go, n, hint, events, samples)
    if args.json:
        doc = {"schema": "pymap.grow", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
               "go": go, "key": t.key, "elem": t.elem, "n": n, "hint": hint, "seed": seed,
               "inserts": ins.describe(n),
               "events": [dict(insert=e.insert, kind=e.kind, text=e.text, state=asdict(e.state)) for e in events],
               "samples": [asdict(s) for s in samples]}
        json.dump(doc, out.stream, indent=1)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap grow map[{t.key}]{t.elem} --n {n:,}{f' --hint {hint:,}' if hint else ''}: "
                f"Go {go} (classic hmap/bmap map, modelled by pymap {__version__})")
    keys = f"for i = 0, 1, ..., {n - 1:,}" if n > 1 else ("for i = 0" if n == 1 else "(none)")
    out.print(f"bucket = {t.bucket_size} B; inserts {ins.describe(n)} {keys}")
    out.print("")
    out.table(grow_table(events))
    grows = [e for e in events if e.kind == "grow"]
    same = [e for e in events if e.kind == "same-size grow"]
    last = events[-1].state
    out.print("")
    out.para(f"{len(grows)} doubling grow{'s' if len(grows) != 1 else ''}"
              f"{' at inserts ' + ', '.join(format(e.insert, ',') for e in grows) if grows else ''}; "
              f"{len(same)} same-size grow{'s' if len(same) != 1 else ''}. "
              f"The map holds {fmt_bytes(last.bytes)} and allocated {fmt_bytes(last.allocated)} in all "
              f"({fmt_bytes(last.allocated - last.bytes)} became garbage: old bucket arrays).")
    if args.plot:
        out.print(f"plot written to {args.plot}")
    return 0
