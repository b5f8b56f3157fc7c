"""Hypothesis strategies for conformance traces (oracle JSON encoding).

Traces are biased to what exercises the runtime: growth boundaries (fills
to 8/9, 12/13, 13/14, 26/27, 52/53, 104/105 entries), sliding-window churn
(insert a new key, delete the oldest: it drives same-size growth once
overflow buckets pile up), deletes down to empty (hash0 reseeds), clears
in the middle of a grow, NaN keys, and iteration during growth with
inserts, deletes and clears inside the loop.
"""
from __future__ import annotations

import struct
from typing import Any

from hypothesis import strategies as st

# (key, elem) pairs the oracle supports and the conformance suite covers.
PAIRS = [
    ("int64", "int64"), ("int32", "int8"), ("int8", "int64"), ("string", "int64"),
    ("float64", "int64"), ("[3]byte", "int16"), ("[16]byte", "struct{}"), ("[129]byte", "int64"),
    ("int64", "[200]byte"), ("struct{}", "int64"), ("int64", "pointer"), ("string", "[14]byte"),
]
# More hashers: f32hash, c128hash (NaN keys only for float64, whose draws replay.py can aim).
TRACE_PAIRS = PAIRS + [("float32", "int64"), ("complex128", "int64")]

NAN = 0x7FF8000000000001            # Go's math.NaN()
NEG_ZERO = 0x8000000000000000
BOUNDARY_FILLS = [8, 9, 12, 13, 14, 24, 25, 26, 27, 48, 49, 52, 53, 96, 97, 104, 105]
HINTS = [0, 0, 0, 1, 8, 9, 13, 14, 26, 27, 52, 53, 100, -1, -(1 << 30), 1 << 62]


def key_json(key: str, i: int) -> Any:
    """The i-th distinct key of a type, in the oracle's JSON encoding."""
    if key == "int64":
        return (i * 7919) - (1 << 20)
    if key == "int32":
        return i * 104729 % (1 << 31)
    if key == "int8":
        return (i % 256) - 128
    if key == "string":
        return f"key-{i}".encode().hex()
    if key == "float64":
        return struct.unpack("<Q", struct.pack("<d", i * 0.5 + 1.0))[0]
    if key == "float32":
        return struct.unpack("<I", struct.pack("<f", i * 0.25 - 3.0))[0]
    if key == "complex128":
        return [struct.unpack("<Q", struct.pack("<d", float(i)))[0],
                struct.unpack("<Q", struct.pack("<d", -0.5 * i))[0]]
    if key.startswith("["):
        n = int(key[1:key.index("]")])
        return (i % (1 << (8 * min(n, 8)))).to_bytes(min(n, 8), "little").ljust(n, b"\x00").hex()
    if key == "struct{}":
        return None
    raise ValueError(key)


def key_space(key: str) -> int:
    return {"int8": 256, "struct{}": 1, "[3]byte": 1 << 24}.get(key, 1 << 30)


def elem_json(elem: str, i: int) -> Any:
    if elem in ("int64", "int16", "int8"):
        bits = {"int64": 63, "int16": 15, "int8": 7}[elem]
        return i % (1 << bits)
    if elem == "pointer":
        return 0
    if elem == "struct{}":
        return None
    if elem.startswith("["):
        n = int(elem[1:elem.index("]")])
        return (i % (1 << 32)).to_bytes(4, "little").ljust(n, b"\x07").hex()
    raise ValueError(elem)


@st.composite
def traces(draw: Any, pairs: list = TRACE_PAIRS, max_ops: int = 400) -> dict:
    key, elem = draw(st.sampled_from(pairs))
    hint = draw(st.sampled_from(HINTS) | st.integers(0, 300))
    space = key_space(key)
    ops: list[dict] = []
    live: list[int] = []          # key indices believed present (reflexive keys)
    nxt = 0                       # next fresh key index
    nan_elem = 1 << 20            # NaN entries get distinct elems
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

    n_blocks = draw(st.integers(1, 6))
    for _ in range(n_blocks):
        if len(ops) >= max_ops:
            break
        kind = draw(st.sampled_from(["fill", "fill", "churn", "delete_all", "delete_some", "clear",
                                     "iter", "lookup", "nan", "update"]))
        if kind == "fill":
            n = draw(st.sampled_from(BOUNDARY_FILLS) | st.integers(1, 120))
            for _ in range(n):
                i = fresh()
                ops.append(assign(i))
                live.append(i)
        elif kind == "churn":
            n = draw(st.integers(10, 150))
            for _ in range(n):
                i = fresh()
                ops.append(assign(i))
                live.append(i)
                if len(live) > 20:
                    old = live.pop(0)
                    ops.append({"op": "delete", "k": key_json(key, old)})
        elif kind == "delete_all":
            for i in live:
                ops.append({"op": "delete", "k": key_json(key, i)})
            ops.append({"op": "delete", "k": key_json(key, fresh())})   # absent
            live.clear()
        elif kind == "delete_some" and live:
            k = draw(st.integers(1, len(live)))
            for i in live[:k]:
                ops.append({"op": "delete", "k": key_json(key, i)})
            del live[:k]
        elif kind == "clear":
            ops.append({"op": "clear"})
            live.clear()
        elif kind == "lookup":
            probe = live[:3] + [fresh()]
            ops += [{"op": "lookup", "k": key_json(key, i)} for i in probe]
        elif kind == "update" and live:
            i = draw(st.sampled_from(live))
            ops.append(assign(i))
        elif kind == "nan" and key == "float64":
            for _ in range(draw(st.integers(1, 12))):
                nan_elem += 1
                ops.append({"op": "assign", "k": NAN, "v": nan_elem})
            ops.append({"op": "assign", "k": 0, "v": 1})
            ops.append({"op": "assign", "k": NEG_ZERO, "v": 2})
            ops.append({"op": "lookup", "k": NAN})
            ops.append({"op": "delete", "k": NAN})
        elif kind == "iter":
            during: dict[str, list] = {}
            for _ in range(draw(st.integers(0, 3))):
                at = draw(st.integers(0, 20))
                sub = draw(st.sampled_from(["insert", "delete", "clear", "lookup", "grow"]))
                if sub == "insert":
                    i = fresh()
                    live.append(i)
                    during.setdefault(str(at), []).append(assign(i))
                elif sub == "grow":
                    for _ in range(draw(st.integers(5, 60))):
                        i = fresh()
                        live.append(i)
                        during.setdefault(str(at), []).append(assign(i))
                elif sub == "delete" and live:
                    i = live.pop(draw(st.integers(0, len(live) - 1)))
                    during.setdefault(str(at), []).append({"op": "delete", "k": key_json(key, i)})
                elif sub == "clear":
                    during.setdefault(str(at), []).append({"op": "clear"})
                    live.clear()
                elif sub == "lookup":
                    during.setdefault(str(at), []).append({"op": "lookup", "k": key_json(key, fresh())})
            stop = draw(st.none() | st.integers(0, 30))
            ops.append({"op": "iter", "stop": stop, "during": during})
    return {"kind": "trace", "key": key, "elem": elem, "hint": hint, "ops": ops[:max_ops]}
