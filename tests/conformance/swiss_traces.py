"""Hypothesis strategies for Swiss-map conformance traces (oracle encoding).

Biased to what exercises Go's Swiss table: fills to the growth points
(8/9, 14/15, 28/29, 56/57, 112/113, 224/225, 448/449, 896/897: small ->
table, doublings, the first split), big fills that split tables and double
the directory, delete/insert churn at constant size (tombstones, 1.25+
pruning on the fast paths, golang/go#70886 on 1.24), full small maps and
updates to them (1.24-1.26 grow them, 1.27 does not), hints 897 and 1792
(512-slot tables that must grow), clears with tombstones (and of maps
emptied by deletes: the 1.24 no-op), NaN keys, iteration with inserts,
deletes and clears during it, and maps.Clone.

Pointer keys are arena indices 1..65536 in requests (the oracle maps them to
distinct addresses, reported in its header as "ptr_arena").
"""
from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

from traces import NAN, NEG_ZERO, elem_json as _classic_elem_json

# (key, elem) pairs, by the insert path Go's compiler picks (cmd/compile
# walk.go mapfast): fast32, fast64, fast64ptr, faststr, generic; then
# indirect keys/elems and zero-size slots.
PAIRS_BY_PATH = {
    "fast32": [("int32", "int8"), ("uint32", "uint32"), ("[4]byte", "int64")],
    "fast64": [("int64", "int64"), ("uint64", "uint64"), ("[8]byte", "int64")],
    "fast64ptr": [("pointer", "int64")],
    "faststr": [("string", "int64"), ("string", "string")],
    "generic": [("bool", "int64"), ("int16", "int64"), ("float64", "int64"), ("[16]byte", "bool"),
                ("[16]byte", "struct{}"), ("[3]byte", "int16"), ("int8", "int64"),
                ("int64", "[200]byte"), ("string", "[200]byte")],   # elem > 128 B: generic path
    "indirect": [("[129]byte", "int64"), ("[129]byte", "[200]byte")],
    "zero-size": [("struct{}", "int64"), ("int64", "struct{}"), ("struct{}", "struct{}")],
}
PAIRS = [p for ps in PAIRS_BY_PATH.values() for p in ps]

GROWTH_FILLS = [7, 8, 9, 14, 15, 28, 29, 56, 57, 112, 113, 224, 225, 448, 449, 896, 897]
HINTS = [0, 0, 0, 1, 8, 9, 14, 15, 28, 29, 100, 448, 449, 896, 897, 1792, 1793, -1, -(1 << 30), 1 << 62]
BIG_HINTS = (897, 1792, 1793)


FLOAT_KEYS = ("float32", "float64", "complex64", "complex128")


def key_json(key: str, i: int) -> Any:
    """The i-th distinct key of a type, in the oracle's JSON encoding."""
    if key == "int64":
        return (i * 7919) - (1 << 20)
    if key == "uint64":
        return (i * 0x9E3779B97F4A7C15) & ((1 << 64) - 1)
    if key == "int32":
        return i * 104729 % (1 << 31)
    if key == "uint32":
        return (i * 2654435761) % (1 << 32)
    if key == "int16":
        return (i % 65536) - 32768
    if key == "int8":
        return (i % 256) - 128
    if key == "bool":
        return i % 2
    if key == "string":
        return f"key-{i}".encode().hex()
    if key == "float64":
        return struct.unpack("<Q", struct.pack("<d", i * 0.5 + 1.0))[0]
    if key == "pointer":
        return i % 65536 + 1
    if key.startswith("["):
        n = int(key[1:key.index("]")])
        return (i % (1 << (8 * min(n, 8)))).to_bytes(min(n, 8), "little").ljust(n, b"\x00").hex()
    if key == "struct{}":
        return None
    raise ValueError(key)


def key_space(key: str) -> int:
    return {"int8": 256, "int16": 65536, "bool": 2, "struct{}": 1, "[3]byte": 1 << 24,
            "pointer": 65536}.get(key, 1 << 30)


def elem_json(elem: str, i: int) -> Any:
    if elem in ("uint64", "uint32"):
        return i % (1 << (64 if elem == "uint64" else 32))
    if elem == "bool":
        return i % 2
    if elem == "string":
        return f"v{i}".encode().hex()
    return _classic_elem_json(elem, i)


@st.composite
def swiss_traces(draw: Any, pairs: list = PAIRS, max_ops: int = 600, big: bool = True) -> dict:
    key, elem = draw(st.sampled_from(pairs))
    space = key_space(key)
    hint = draw(st.sampled_from(HINTS) | st.integers(0, 300))
    limit = max_ops
    if big and draw(st.integers(0, 9)) == 0:
        limit = 4000            # splits, directory doubling
    ops: list[dict] = []
    live: list[int] = []
    nxt = 0
    nan_elem = 1 << 20
    ev = 0

    def fresh() -> int:
        nonlocal nxt
        i = nxt % space
        nxt += 1
        return i

    def assign(i: int) -> dict:
        nonlocal ev
        ev += 1
        return {"op": "assign", "k": key_json(key, i), "v": elem_json(elem, ev)}

    def fill(n: int) -> None:
        for _ in range(n):
            i = fresh()
            ops.append(assign(i))
            if i not in live:
                live.append(i)

    if hint in BIG_HINTS and limit > max_ops and draw(st.booleans()):
        fill(hint)              # a hinted map filled to its hint
    for _ in range(draw(st.integers(1, 7))):
        if len(ops) >= limit:
            break
        kind = draw(st.sampled_from(["fill", "fill", "churn", "delete_all", "delete_some", "clear",
                                     "iter", "lookup", "nan", "update", "small_full", "clone", "big"]))
        if kind == "fill":
            target = draw(st.sampled_from(GROWTH_FILLS) | st.integers(1, 120))
            fill(max(0, target - len(live)) if draw(st.booleans()) else target)
        elif kind == "big" and limit > max_ops:
            fill(draw(st.sampled_from([897, 1000, 1793, 2000, 3000])))
        elif kind == "churn":
            window = draw(st.sampled_from([7, 8, 20, 100, 112, 400]))
            for _ in range(draw(st.integers(10, 300))):
                i = fresh()
                ops.append(assign(i))
                live.append(i)
                if len(live) > window:
                    ops.append({"op": "delete", "k": key_json(key, live.pop(0))})
        elif kind == "delete_all":
            for i in live:
                ops.append({"op": "delete", "k": key_json(key, i)})
            ops.append({"op": "delete", "k": key_json(key, fresh())})   # absent
            live.clear()
            if draw(st.booleans()):
                ops.append({"op": "clear"})      # 1.24: no-op even with tombstones
        elif kind == "delete_some" and live:
            k = draw(st.integers(1, len(live)))
            for i in live[:k]:
                ops.append({"op": "delete", "k": key_json(key, i)})
            del live[:k]
        elif kind == "clear":
            ops.append({"op": "clear"})
            live.clear()
        elif kind == "lookup":
            ops += [{"op": "lookup", "k": key_json(key, i)} for i in live[:3] + [fresh()]]
        elif kind == "update" and live:
            ops.append(assign(draw(st.sampled_from(live))))
        elif kind == "small_full" and len(live) <= 8:
            fill(8 - len(live))
            if live:
                ops.append(assign(live[draw(st.integers(0, len(live) - 1))]))   # update of a full small map
        elif kind == "nan" and key == "float64":
            for _ in range(draw(st.integers(1, 12))):
                nan_elem += 1
                ops.append({"op": "assign", "k": NAN, "v": nan_elem})
            ops.append({"op": "assign", "k": 0, "v": 1})
            ops.append({"op": "assign", "k": NEG_ZERO, "v": 2})
            ops.append({"op": "lookup", "k": NAN})
            ops.append({"op": "delete", "k": NAN})
        elif kind == "clone":
            ops.append({"op": "clone"})
        elif kind == "iter":
            during: dict[str, list] = {}
            # The replay places a NaN where the record after the op shows it;
            # a batch of inserts during one iteration can rehash a NaN twice
            # within that op, and where the first rehash put it is seen in no
            # record (it decides slot order in the second).  So float keys get
            # no batches: at most 3 inserts, which cannot cross two growth points.
            subs = ["insert", "delete", "clear", "lookup"] + ([] if key in FLOAT_KEYS else ["grow"])
            for _ in range(draw(st.integers(0, 3))):
                at = str(draw(st.integers(0, 20)))
                sub = draw(st.sampled_from(subs))
                if sub == "insert":
                    i = fresh()
                    live.append(i)
                    during.setdefault(at, []).append(assign(i))
                elif sub == "grow":
                    for _ in range(draw(st.sampled_from([5, 20, 60, 500]))):
                        i = fresh()
                        live.append(i)
                        during.setdefault(at, []).append(assign(i))
                elif sub == "delete" and live:
                    i = live.pop(draw(st.integers(0, len(live) - 1)))
                    during.setdefault(at, []).append({"op": "delete", "k": key_json(key, i)})
                elif sub == "clear":
                    during.setdefault(at, []).append({"op": "clear"})
                    live.clear()
                elif sub == "lookup":
                    during.setdefault(at, []).append({"op": "lookup", "k": key_json(key, fresh())})
            ops.append({"op": "iter", "stop": draw(st.none() | st.integers(0, 30)), "during": during})
    ops = ops[:limit]
    return {"kind": "trace", "key": key, "elem": elem, "hint": hint, "ops": ops, "dump": dump_spec(ops, key)}


def dump_spec(ops: list, key: str = "") -> Any:
    """Which records carry groups: all of them for short traces and for float
    keys (the replay places each NaN where the oracle's groups show it, so
    every record a NaN is hashed in must carry them); for long ones every
    37th, and the last 16 (headers, directory and table fields are in every
    record)."""
    n = len(ops) + 1
    if n <= 400 or key in ("float32", "float64", "complex64", "complex128"):
        return "all"
    return sorted(set(range(0, n, 37)) | set(range(max(0, n - 16), n)))
