"""``pymap layout KEY ELEM``: how a map[K]V is laid out, measured on the model.

The bucket's sizes and flags come from pymap.MapType (the compiler's
layout); the hmap and mapextra sizes are what the model charges for a real
map of this type; the load factor and bytes per entry are measured by
filling a map past a grow.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from .. import MapType, Runtime, __version__
from ._common import DEFAULT_GO, Output, Table
from .grow import Inserter, map_type, timeline

SCHEMA_VERSION = 1

#: Go's hmap fields on 64-bit platforms (runtime/map.go; map_noswiss.go in 1.24), in order.
HMAP_FIELDS = (("count", "int", 8), ("flags", "uint8", 1), ("B", "uint8", 1), ("noverflow", "uint16", 2),
               ("hash0", "uint32", 4), ("buckets", "unsafe.Pointer", 8), ("oldbuckets", "unsafe.Pointer", 8),
               ("nevacuate", "uintptr", 8), ("clearSeq", "uint64", 8), ("extra", "*mapextra", 8))
#: mapextra: the overflow slices and the next preallocated overflow bucket.
EXTRA_FIELDS = (("overflow", "*[]*bmap", 8), ("oldoverflow", "*[]*bmap", 8), ("nextOverflow", "*bmap", 8))


@dataclass
class Layout:
    go: str
    key: str
    elem: str
    bucket_size: int
    key_size: int
    elem_size: int
    key_slot_size: int
    elem_slot_size: int
    indirect_key: bool
    indirect_elem: bool
    has_pointers: bool
    need_key_update: bool
    reflexive_key: bool
    keys_offset: int
    elems_offset: int
    overflow_offset: int
    padding: int
    hmap_struct: int           #: sum of the hmap fields the version has
    hmap_has_clear_seq: bool   #: measured: clear(m) bumps hmap.clearSeq
    hmap_charged: int          #: bytes the model charges for a fresh map's hmap
    extra_struct: int
    extra_charged: Optional[int]
    load_factor: Optional[float]       #: measured: entries per bucket at which a map doubles
    grow_at: Optional[int]             #: the insert that doubled 2^grow_B buckets
    grow_B: Optional[int]
    bytes_per_entry_full: float        #: bucket_size / 8: every slot used
    bytes_per_entry_max_load: Optional[float]   #: measured just before that grow
    bytes_per_entry_after_grow: Optional[float]  #: measured right after its evacuation
    first_grow_at: Optional[int]       #: the insert at which a map made without a hint first grows
    max_keys: int


def measure(t: MapType, go: str, seed: int = 1) -> Layout:
    rt = Runtime(go=go, seed=seed)
    ins = Inserter(t)
    fresh = rt.make_map(t)
    hmap_charged = fresh.memory().hmap
    ins.insert(fresh, 0, 1, ins.use_range(1))
    fresh.clear()
    has_seq = fresh.clear_seq > 0
    hmap_struct = sum(size for name, _, size in HMAP_FIELDS if name != "clearSeq" or has_seq)
    # make with a hint of 8 buckets' worth preallocates overflow buckets: mapextra holds the next one
    pre = rt.make_map(t, 16 * 8)
    extra_charged = pre.memory().extra if pre.extra_allocated else None

    ks, es, bs = t.key_slot_size, t.elem_slot_size, t.bucket_size
    keys_off, elems_off, ovf_off = 8, 8 + 8 * ks, bs - 8
    padding = ovf_off - (8 + 8 * ks + 8 * es)

    # Fill past the grow that takes a map from 2^10 to 2^11 buckets (or the largest one the key
    # type has keys for), and measure bytes per entry before it and after its evacuation.
    n = min(ins.max_keys, 8 * 1024)
    events, _ = timeline(t, go, n, seed=seed)
    grows = [e for e in events if e.kind == "grow"]
    first_grow = grows[0].insert if grows else None
    lf = bpe_max = bpe_after = grow_at = grow_B = None
    big = [e for e in grows if e.state.B >= 2]
    if big:
        g = big[-1]
        grow_at, grow_B = g.insert, g.state.B - 1
        lf = (g.insert - 1) / (1 << grow_B)
        end, _ = timeline(t, go, g.insert - 1, seed=seed, nsamples=1)
        s = end[-1].state
        bpe_max = s.bytes / s.len if s.len else None
        done = [e for e in events if e.kind == "evacuated" and e.insert > g.insert]
        if done:
            bpe_after = done[0].state.bytes / done[0].state.len
        elif not g.state.growing:
            bpe_after = g.state.bytes / g.state.len
    return Layout(go, t.key, t.elem, bs, t.key_size, t.elem_size, ks, es, t.indirect_key, t.indirect_elem,
                  t.has_pointers, t.need_key_update, t.reflexive_key, keys_off, elems_off, ovf_off, padding,
                  hmap_struct, has_seq, hmap_charged, sum(f[2] for f in EXTRA_FIELDS), extra_charged,
                  lf, grow_at, grow_B, bs / 8, bpe_max, bpe_after, first_grow, ins.max_keys)


def _slot(kind: str, spelling: str, size: int, slot: int, indirect: bool) -> str:
    if spelling.replace(" ", "").startswith("*["):
        return (f"{spelling}: a pointer ({size} B) stored inline; each non-nil value is a separate "
                f"{spelling[1:]} object on the heap")
    if indirect:
        return f"{spelling} is {size:,} B > 128 B: the slot holds a pointer (8 B) to a separate {size:,}-B object"
    return f"{spelling}: {size:,} B, stored inline in the bucket"


def command(args: Any, out: Output) -> int:
    t = map_type(args.key, args.elem)
    go = args.go or DEFAULT_GO
    lay = measure(t, go, 1 if args.seed is None else args.seed)
    if args.json:
        json.dump({"schema": "pymap.layout", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
                   **lay.__dict__}, out.stream, indent=1)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap layout map[{t.key}]{t.elem}: Go {go} (classic hmap/bmap map, modelled by pymap "
                f"{__version__}; 64-bit)")
    out.print("")
    b = Table(["offset", "size", "<field", "<note"], title=f"bucket (bmap): {lay.bucket_size} B")
    b.add(0, 8, "tophash [8]uint8", "top byte of each slot's hash, or a slot state (empty, evacuated)")
    kname = "*" + t.key if lay.indirect_key else t.key
    ename = "*" + t.elem if lay.indirect_elem else t.elem
    b.add(lay.keys_offset, 8 * lay.key_slot_size, f"keys [8]{kname}", f"8 slots of {lay.key_slot_size} B")
    b.add(lay.elems_offset, 8 * lay.elem_slot_size, f"elems [8]{ename}", f"8 slots of {lay.elem_slot_size} B")
    if lay.padding:
        b.add(lay.elems_offset + 8 * lay.elem_slot_size, lay.padding, "(padding)", "aligns the overflow pointer")
    b.add(lay.overflow_offset, 8, "overflow *bmap", "the next bucket of the chain")
    out.table(b)
    out.print("")

    p = Table(["<property", "<value"], title="map")
    p.add("key", _slot("key", t.key, lay.key_size, lay.key_slot_size, lay.indirect_key))
    p.add("elem", _slot("elem", t.elem, lay.elem_size, lay.elem_slot_size, lay.indirect_elem))
    p.add("bucket has pointers", f"{'yes: the GC scans bucket arrays' if lay.has_pointers else 'no: the GC skips bucket arrays'}")
    if lay.need_key_update:
        p.add("key update", "an assignment to an existing key also rewrites the stored key "
                            "(floats: +0.0 and -0.0; strings: the new backing array)")
    if not lay.reflexive_key:
        p.add("reflexive key", "no: NaN != NaN, so each NaN insert adds an entry no lookup finds")
    p.add("hmap", f"{lay.hmap_struct} B struct{' (with clearSeq)' if lay.hmap_has_clear_seq else ''}; "
                  f"the heap charges {lay.hmap_charged} B (its size class)")
    p.add("mapextra", f"{lay.extra_struct} B struct; " +
          (f"the heap charges {lay.extra_charged} B; " if lay.extra_charged else "") +
          ("allocated for overflow buckets of a pointer-free bucket type and when make preallocates "
           "overflow buckets (B >= 4)"))
    if lay.load_factor is not None:
        p.add("load factor", f"{lay.load_factor:g} entries per bucket (measured: insert #{lay.grow_at:,} "
                             f"doubles {1 << lay.grow_B:,} buckets)")
    p.add("bytes per entry, every slot used", f"{lay.bytes_per_entry_full:.2f}")
    if lay.bytes_per_entry_max_load is not None:
        p.add("bytes per entry at full load", f"{lay.bytes_per_entry_max_load:.2f} (measured: {lay.grow_at - 1:,} "
                                              f"entries in {1 << lay.grow_B:,} buckets; all the map's objects)")
    if lay.bytes_per_entry_after_grow is not None:
        p.add("bytes per entry after that grow", f"{lay.bytes_per_entry_after_grow:.2f} (measured when its evacuation ends)")
    if lay.load_factor is None:
        p.add("load factor", f"not measurable: map[{t.key}]... has only {lay.max_keys:,} distinct keys")
    if not out.rich:
        import textwrap
        p.rows = [[r[0], "\n".join(textwrap.wrap(r[1], 96))] for r in p.rows]
    out.table(p)
    out.print("")
    first = f"insert #{lay.first_grow_at}" if lay.first_grow_at else "the first grow"
    out.para(f"Stack: if the map does not escape (go build -gcflags=-m reports \"make(map[{t.key}]{t.elem}) "
              f"does not escape\") and make has no hint or a hint <= 8, the compiler puts the hmap and one "
              f"{lay.bucket_size}-B bucket on the stack: up to 8 entries need no heap allocation, and "
              f"{first} (the first grow) moves the buckets to the heap. pymap's heap accounting assumes "
              f"the map escapes.")
    return 0
