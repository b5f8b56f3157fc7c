"""A pymap Swiss map's state in exactly the JSON shape the Go oracle emits.

The oracle (tests/conformance/oracle, Swiss versions) reports after every
operation::

    {"used", "seed", "dir_len", "global_depth", "global_shift",
     "tombstone_possible", "clear_seq", "small",
     "small_group": Group | null,            # only in dumped records
     "directory": [table position per directory entry],
     "tables": [{"index", "local_depth", "capacity", "used", "growth_left",
                 "tombstones",                # counted 0xFE control bytes
                 "groups": [Group, ...]}]}    # groups only in dumped records
    Group = {"ctrl": "<16 hex digits: byte i = slot i>",
             "k": [8 keys], "e": [8 elems]}   # oracle value encoding (codec.go)

`model_state(m, key, elem)` builds the same object from the contract API of
pymap's Swiss map only (m.used, m.seed, m.dir_len, ..., m.small_group(),
m.tables(), m.directory()).
"""
from __future__ import annotations

from typing import Any, Optional

from replay import to_json


def _spelling(m: Any, which: str) -> str:
    t = getattr(m, "type", None)
    for attr in (which, f"{which}_spelling", f"{which}_name"):
        v = getattr(t, attr, None)
        if isinstance(v, str):
            return v
    raise ValueError(f"pass the {which} spelling explicitly")


def group_json(g: Any, key: str, elem: str) -> dict:
    ctrl = bytes(g.ctrl)
    assert len(ctrl) == 8, ctrl
    return {"ctrl": ctrl.hex(),
            "k": [to_json(key, k) for k in g.keys],
            "e": [to_json(elem, e) for e in g.elems]}


def table_json(t: Any, key: str, elem: str, groups: bool = True) -> dict:
    out = {"index": t.index, "local_depth": t.local_depth, "capacity": t.capacity, "used": t.used,
           "growth_left": t.growth_left, "tombstones": t.tombstones}
    if groups:
        out["groups"] = [group_json(g, key, elem) for g in t.groups]
    return out


def model_state(m: Any, key: Optional[str] = None, elem: Optional[str] = None, groups: bool = True) -> dict:
    """The oracle's "state" object for the pymap Swiss map m.

    key/elem are the oracle spellings of the types (default: m.type's);
    groups=False leaves out what the oracle leaves out of records it was not
    asked to dump (small_group and every table's groups)."""
    key = key or _spelling(m, "key")
    elem = elem or _spelling(m, "elem")
    st: dict = {
        "used": m.used, "seed": m.seed, "dir_len": m.dir_len, "global_depth": m.global_depth,
        "global_shift": m.global_shift, "tombstone_possible": bool(m.tombstone_possible),
        "clear_seq": m.clear_seq, "small": bool(m.small),
    }
    if groups:
        g = m.small_group()
        st["small_group"] = group_json(g, key, elem) if (m.small and g is not None) else None
    st["directory"] = list(m.directory())
    st["tables"] = [table_json(t, key, elem, groups) for t in m.tables(groups=groups)]
    return st


def capacities(m: Any) -> list[int]:
    """Per directory entry, its table's capacity (the memory response's shape)."""
    tabs = m.tables(groups=False)
    return [tabs[j].capacity for j in m.directory()]
