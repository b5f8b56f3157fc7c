"""``pymap layout KEY ELEM``: how a map[K]V is laid out, measured on the model.

Every size and offset comes from pymap.MapType (the C core's layout, the
compiler's rules) and the version table; what the heap charges for the
header, tables and extras, the load limit and the bytes per entry are
measured on maps the model makes and fills.  On a Swiss version the group
is shown beside the classic bucket of the same types.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from .. import MapType, Runtime, __version__, version_facts
from ._common import CLASSIC_REF, DEFAULT_GO, Output, Table, impl_label, is_swiss
from .grow import Inserter, map_type, swiss_timeline, timeline

SCHEMA_VERSION = 2

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
    facts = version_facts(go)
    fresh = rt.make_map(t)
    hmap_charged = fresh.memory().hmap
    has_seq = facts.classic_clear_seq
    hmap_struct = facts.classic_hmap_size
    # make with a hint of 8 buckets' worth preallocates overflow buckets: mapextra holds the next one
    pre = rt.make_map(t, 16 * 8)
    extra_charged = pre.memory().extra if pre.extra_allocated else None

    ks, es, bs = t.key_slot_size, t.elem_slot_size, t.bucket_size
    keys_off, elems_off, ovf_off = t.bucket_keys_offset, t.bucket_elems_offset, t.bucket_overflow_offset
    padding = ovf_off - (elems_off + 8 * es)    # what the layout leaves between the elems and the overflow pointer

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
    seed = 1 if args.seed is None else args.seed
    if is_swiss(go):
        return swiss_command(t, go, seed, args, out)
    lay = measure(t, go, seed)
    if args.json:
        json.dump({"schema": "pymap.layout", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
                   "impl": "classic", **lay.__dict__}, out.stream, indent=1)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap layout map[{t.key}]{t.elem}: Go {go} ({impl_label(go)}, modelled by pymap "
                f"{__version__}; 64-bit)")
    out.print("")
    out.table(bucket_table(t, lay))
    out.print("")
    classic_properties(t, lay, out)
    return 0


def bucket_table(t: MapType, lay: Layout) -> Table:
    b = Table(["offset", "size", "<field", "<note"], title=f"bucket (bmap): {lay.bucket_size} B")
    b.add(0, 8, "tophash [8]uint8", "top byte of each slot's hash, or a slot state (empty, evacuated)")
    kname = "*" + t.key if lay.indirect_key else t.key
    ename = "*" + t.elem if lay.indirect_elem else t.elem
    b.add(lay.keys_offset, 8 * lay.key_slot_size, f"keys [8]{kname}", f"8 slots of {lay.key_slot_size} B")
    b.add(lay.elems_offset, 8 * lay.elem_slot_size, f"elems [8]{ename}", f"8 slots of {lay.elem_slot_size} B")
    if lay.padding:
        b.add(lay.elems_offset + 8 * lay.elem_slot_size, lay.padding, "(padding)", "aligns the overflow pointer")
    b.add(lay.overflow_offset, 8, "overflow *bmap", "the next bucket of the chain")
    return b


def classic_properties(t: MapType, lay: Layout, out: Output) -> None:
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


# ---- the Swiss map ------------------------------------------------------------------------

@dataclass
class SwissLayout:
    go: str
    key: str
    elem: str
    key_size: int
    elem_size: int
    key_slot_size: int           #: K' (a pointer when K is over 128 B)
    elem_slot_size: int
    key_align: int
    elem_align: int
    indirect_key: bool
    indirect_elem: bool
    has_pointers: bool
    need_key_update: bool
    reflexive_key: bool
    assign_path: str             #: the insert path Go's compiler picks for the key type
    prunes: bool                 #: this version prunes tombstones on that path before a rehash
    ctrl_size: int               #: the control word
    slot_size: int               #: sizeof(struct{K'; V'})
    elem_offset: int             #: V' in a slot
    slot_padding: int            #: bytes of a slot that are neither K' nor V'
    group_size: int
    group_padding: int           #: bytes of a group after its 8 slots (zero-size slots)
    map_charged: int             #: the heap charges for the Map header (measured, fresh map)
    table_charged: Optional[int]  #: ... for one table struct (measured, first table)
    load_limit: float            #: growthLeft / capacity of a fresh 1,024-slot table (measured)
    bytes_per_slot: float        #: group_size / 8
    bytes_per_entry_load_limit: float  #: bytes per slot / load limit: groups only
    bytes_per_entry_max_load: Optional[float]    #: measured just before the largest rehash reached
    entries_at_max_load: Optional[int]
    capacity_at_max_load: Optional[int]
    rehash_at: Optional[int]     #: the insert of that rehash
    rehash_kind: Optional[str]   #: small -> table | doubling | split
    bytes_per_entry_after_rehash: Optional[float]
    first_table_at: Optional[int]  #: the insert that turns the small map into a table
    max_keys: int
    classic: dict                #: the classic bucket of the same types (version CLASSIC_REF)


def swiss_measure(t: MapType, go: str, seed: int = 1) -> SwissLayout:
    rt = Runtime(go=go, seed=seed)
    ins = Inserter(t)
    map_charged = rt.make_map(t).memory().map
    big = rt.make_map(t, 896)                    # hint 449..896: one 1,024-slot table
    tab = big.tables()[0] if big.dir_len else None
    load_limit = tab.growth_left / tab.capacity if tab else 7 / 8
    table_charged = big.memory().tables if tab else None
    # Fill up to the first split (897 keys), or as far as the key type has keys.
    n = min(ins.max_keys, 897)
    events, _ = swiss_timeline(t, go, n, seed=seed, nsamples=1)
    rehashes = [e for e in events if e.kind in ("small -> table", "doubling", "split")]
    first_table = next((e.insert for e in rehashes if e.kind == "small -> table"), None)
    bpe_max = entries = cap = at = kind = bpe_after = None
    if rehashes:
        r = rehashes[-1]
        at, kind = r.insert, r.kind
        before, _ = swiss_timeline(t, go, at - 1, seed=seed, nsamples=1)
        s = before[-1].state
        if s.len:
            bpe_max, entries, cap = s.bytes / s.len, s.len, s.capacity
        bpe_after = r.state.bytes / r.state.len
    per_slot = t.group_size / 8
    ref = measure(t, CLASSIC_REF, seed)
    cls = dict(go=CLASSIC_REF, bucket_size=t.bucket_size, keys_offset=t.bucket_keys_offset,
               elems_offset=t.bucket_elems_offset, overflow_offset=t.bucket_overflow_offset,
               load_factor=ref.load_factor, load_limit=(ref.load_factor / 8) if ref.load_factor else None,
               bytes_per_slot=t.bucket_size / 8,
               bytes_per_entry_load_limit=(t.bucket_size / ref.load_factor) if ref.load_factor else None,
               bytes_per_entry_max_load=ref.bytes_per_entry_max_load, grow_at=ref.grow_at,
               bytes_per_entry_after_grow=ref.bytes_per_entry_after_grow, hmap_charged=ref.hmap_charged)
    return SwissLayout(
        go, t.key, t.elem, t.key_size, t.elem_size, t.key_slot_size, t.elem_slot_size, t.key_align, t.elem_align,
        t.indirect_key, t.indirect_elem, t.has_pointers, t.need_key_update, t.reflexive_key, t.assign_path,
        t.assign_path in version_facts(go).swiss_prune_paths, 8, t.slot_size, t.elem_offset,
        t.slot_size - t.key_slot_size - t.elem_slot_size, t.group_size, t.group_size - 8 - 8 * t.slot_size,
        map_charged, table_charged, load_limit, per_slot, per_slot / load_limit, bpe_max, entries, cap, at, kind,
        bpe_after, first_table, ins.max_keys, cls)


def _f(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.2f}"


def swiss_command(t: MapType, go: str, seed: int, args: Any, out: Output) -> int:
    lay = swiss_measure(t, go, seed)
    if args.json:
        json.dump({"schema": "pymap.layout", "schema_version": SCHEMA_VERSION, "pymap_version": __version__,
                   "impl": "swiss", **lay.__dict__}, out.stream, indent=1)
        out.stream.write("\n")
        return 0
    out.heading(f"pymap layout map[{t.key}]{t.elem}: Go {go} ({impl_label(go)}, modelled by pymap "
                f"{__version__}; 64-bit)")
    out.print("")
    kname = "*" + t.key if lay.indirect_key else t.key
    ename = "*" + t.elem if lay.indirect_elem else t.elem
    g = Table(["offset", "size", "<field", "<note"],
              title=f"group: {lay.group_size} B = {lay.ctrl_size}-B control word + 8 slots of {lay.slot_size} B"
                    + (f" + {lay.group_padding} B padding" if lay.group_padding else ""))
    g.add(0, lay.ctrl_size, "ctrl uint64", "one byte per slot: 0x80 empty, 0xFE deleted, else H2 (hash & 0x7F)")
    g.add(8, 8 * lay.slot_size, f"slots [8]struct{{key {kname}; elem {ename}}}", f"8 slots of {lay.slot_size} B, "
          "key and elem side by side")
    if lay.group_padding:
        g.add(8 + 8 * lay.slot_size, lay.group_padding, "(padding)", "a group is never 8 B or less")
    out.table(g)
    out.print("")
    sl = Table(["offset", "size", "<field", "<note"], title=f"slot: {lay.slot_size} B (a Go struct {{K'; V'}})")
    sl.add(0, lay.key_slot_size, f"key {kname}", _slot("key", t.key, lay.key_size, lay.key_slot_size, lay.indirect_key)
           .replace("in the bucket", "in the slot"))
    if lay.elem_offset > lay.key_slot_size:
        sl.add(lay.key_slot_size, lay.elem_offset - lay.key_slot_size, "(padding)", f"aligns the elem to {lay.elem_align} B")
    sl.add(lay.elem_offset, lay.elem_slot_size, f"elem {ename}",
           _slot("elem", t.elem, lay.elem_size, lay.elem_slot_size, lay.indirect_elem).replace("in the bucket", "in the slot"))
    tail = lay.slot_size - lay.elem_offset - lay.elem_slot_size
    if tail:
        sl.add(lay.elem_offset + lay.elem_slot_size, tail, "(padding)",
               "a struct ending in a zero-size field is padded (golang/go#71368)" if lay.elem_slot_size == 0
               else "rounds the slot up to its alignment")
    if not out.rich:
        import textwrap
        sl.rows = [r[:3] + ["\n".join(textwrap.wrap(r[3], 72))] for r in sl.rows]
    out.table(sl)
    out.print("")

    p = Table(["<property", "<value"], title="map")
    p.add("group has pointers", "yes: the GC scans group arrays" if lay.has_pointers
          else "no: the GC skips group arrays")
    p.add("insert path", f"{lay.assign_path}: " + ("on this version it prunes tombstones before a rehash"
                                                     if lay.prunes else "it never prunes tombstones on this version"))
    if lay.need_key_update:
        p.add("key update", "an assignment to an existing key also rewrites the stored key "
                            "(floats: +0.0 and -0.0; strings: the new backing array)")
    if not lay.reflexive_key:
        p.add("reflexive key", "no: NaN != NaN, so each NaN insert adds an entry no lookup finds")
    p.add("Map header", f"48 B struct; the heap charges {lay.map_charged} B (measured on a fresh map)")
    if lay.table_charged is not None:
        p.add("table", f"32 B struct; the heap charges {lay.table_charged} B; at most 1,024 slots "
                       "(128 groups), then it splits")
    p.add("load limit", f"{lay.load_limit:g} of a table's slots (measured: growthLeft of a fresh "
                        f"1,024-slot table is {round(lay.load_limit * 1024):,})")
    p.add("bytes per slot", f"{lay.bytes_per_slot:.2f} (group / 8)")
    p.add("bytes per entry at the load limit", f"{lay.bytes_per_entry_load_limit:.2f} (groups only)")
    if lay.bytes_per_entry_max_load is not None:
        p.add("bytes per entry at full load", f"{lay.bytes_per_entry_max_load:.2f} (measured: {lay.entries_at_max_load:,} "
                                              f"entries in {lay.capacity_at_max_load:,} slots; all the map's objects)")
    if lay.bytes_per_entry_after_rehash is not None:
        what = {"split": "split", "doubling": "table doubling", "small -> table": "growth to a table"}[lay.rehash_kind]
        p.add(f"bytes per entry after that {what}", f"{lay.bytes_per_entry_after_rehash:.2f} (measured at insert "
                                                    f"#{lay.rehash_at:,})")
    if lay.rehash_kind != "split":
        p.add("split", f"not reached: map[{t.key}]... has only {lay.max_keys:,} distinct keys")
    if not out.rich:
        import textwrap
        p.rows = [[r[0], "\n".join(textwrap.wrap(r[1], 96))] for r in p.rows]
    out.table(p)
    out.print("")

    c = lay.classic
    cmp_ = Table(["<", f"Swiss group (Go {go})", f"classic bucket (Go {c['go']})"],
                 title="beside the classic map of the same types")
    cmp_.add("layout", "ctrl word, 8 x {key; elem}", "tophash, 8 keys, 8 elems, overflow ptr")
    cmp_.add("group / bucket", f"{lay.group_size} B", f"{c['bucket_size']} B")
    cmp_.add("bytes per slot", _f(lay.bytes_per_slot), _f(c["bytes_per_slot"]))
    cmp_.add("load limit", f"{lay.load_limit:g}", "-" if c["load_limit"] is None else f"{c['load_limit']:g} "
             f"({c['load_factor']:g} per bucket)")
    cmp_.add("bytes per entry at the load limit", _f(lay.bytes_per_entry_load_limit), _f(c["bytes_per_entry_load_limit"]))
    cmp_.add("bytes per entry at full load (measured)", _f(lay.bytes_per_entry_max_load), _f(c["bytes_per_entry_max_load"]))
    cmp_.add("header (heap charge)", f"{lay.map_charged} B", f"{c['hmap_charged']} B")
    out.table(cmp_)
    out.print("")
    first = f"insert #{lay.first_table_at}" if lay.first_table_at else "the 9th distinct key"
    out.para(f"Stack: if the map does not escape (go build -gcflags=-m reports \"make(map[{t.key}]{t.elem}) "
             f"does not escape\") and make has no hint or a hint <= 8, the compiler puts the Map header and one "
             f"{lay.group_size}-B group on the stack: up to 8 entries need no heap allocation, and {first} "
             f"(small -> table) puts the table, its groups and the directory on the heap. pymap's heap "
             f"accounting assumes the map escapes.")
    return 0
