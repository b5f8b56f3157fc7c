"""Replay an oracle trace in pymap and compare the full map state after every op.

The Go oracle (tests/conformance/oracle) runs a trace on a real map and
reports, after every operation, the hmap header, mapextra and every bucket
of the main and old arrays.  `replay()` runs the same trace in pymap with
the oracle's hashkey and a `rand(purpose)` that reproduces Go's draws:

- "hash0": the hash0 the oracle observed after the operation that drew it;
- "iter": the start the oracle observed (explicit starts need no draw);
- "noverflow" (B >= 16): 0 (counted) for the first k draws of an operation,
  k being the observed noverflow increase, then 1 (not counted);
- "nanhash": an R that puts the NaN being hashed where Go put it.  c1 is
  odd, so R = (H * c1^-1 mod 2^64) ^ c0 ^ hash0 for any H we choose; we
  choose H whose low B bits are the observed chain and whose top byte is the
  observed tophash.  The NaN is identified by its elem (traces give every
  NaN a distinct elem): the op's own elem for an assign, or the elem of the
  entry evacuate is rehashing (pymap exposes it during the draw).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Optional

import pymap
from pymap._native import ffi, lib

C0 = 33054211828000289
C1 = 23344194077549503
C1_INV = pow(C1, -1, 1 << 64)
M64 = (1 << 64) - 1


# ---------------------------------------------------------------- values
def to_model(spelling: str, v: Any) -> Any:
    """JSON value (oracle encoding) -> the Python value pymap takes."""
    if spelling == "float64":
        return struct.unpack("<d", struct.pack("<Q", v))[0]
    if spelling == "float32":
        return struct.unpack("<f", struct.pack("<I", v))[0]
    if spelling == "complex128":
        return complex(struct.unpack("<d", struct.pack("<Q", v[0]))[0], struct.unpack("<d", struct.pack("<Q", v[1]))[0])
    if spelling == "string" or spelling.startswith("["):
        return bytes.fromhex(v)
    if spelling == "bool":
        return bool(v)
    if spelling in ("pointer", "*int"):
        return v
    return v


def to_json(spelling: str, v: Any) -> Any:
    """Python value decoded by pymap -> the oracle's JSON encoding."""
    if v is None:
        return None
    if spelling == "float64":
        return struct.unpack("<Q", struct.pack("<d", v))[0]
    if spelling == "float32":
        return struct.unpack("<I", struct.pack("<f", v))[0]
    if spelling == "complex128":
        return [struct.unpack("<Q", struct.pack("<d", v.real))[0], struct.unpack("<Q", struct.pack("<d", v.imag))[0]]
    if spelling == "string":
        return v.encode("utf-8", "surrogateescape").hex()
    if spelling.startswith("["):
        return v.hex()
    if spelling == "bool":
        return int(v)
    return v


def model_spelling(spelling: str) -> str:
    return "pointer" if spelling in ("*int", "unsafe.Pointer") else spelling


# ---------------------------------------------------------------- state
def chains_json(chains: Optional[list], key: str, elem: str) -> Optional[list]:
    if chains is None:
        return None
    out = []
    for chain in chains:
        out.append([
            {"o": b.origin, "x": b.index, "th": b.tophash.hex(),
             "k": [to_json(key, k) for k in b.keys], "e": [to_json(elem, e) for e in b.elems]}
            for b in chain
        ])
    return out


def model_state(m: pymap.GoMap, key: str, elem: str, buckets: bool = True) -> dict:
    h = m._header()
    sl = m.overflow_slices()
    head = {
        "count": h.count, "flags": h.flags, "B": h.B, "noverflow": h.noverflow, "hash0": h.hash0,
        "nevacuate": h.nevacuate, "clearseq": h.clear_seq, "extra": bool(h.extra_allocated),
        "nextoverflow": None if h.next_overflow < 0 else h.next_overflow,
        "overflow": None if sl["overflow"] is None else sl["overflow"][0],
        "oldoverflow": None if sl["oldoverflow"] is None else sl["oldoverflow"][0],
    }
    if buckets:  # the oracle omits them from records it was asked not to dump
        bk = m.buckets()
        head["buckets"] = chains_json(bk, key, elem) if bk else None
        head["oldbuckets"] = chains_json(m.oldbuckets(), key, elem)
    return head


def first_difference(a: Any, b: Any, path: str = "") -> Optional[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                continue
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return (f"{path} (length)", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else (path, a, b)


# ---------------------------------------------------------------- draws
def _tophash(h: int) -> int:
    top = h >> 56
    return top + 5 if top < 5 else top


def nan_draw_for(chain: int, top: Optional[int], B: int, hash0: int, bits: int) -> int:
    """An R for which c1 * (c0 ^ hash0 ^ R) lands in `chain` (low B bits) with
    tophash `top` (None: any tophash)."""
    mask = (1 << B) - 1
    if bits == 64:
        H = ((top if top is not None else 0x80) << 56) | (chain & mask)  # tophash(t << 56) == t for t >= 5
        return ((H * C1_INV) & M64) ^ C0 ^ hash0
    # 32-bit draws: R < 2^32.  Fix the low B bits of x = c0 ^ hash0 ^ R so the
    # bucket matches, then search the free high bits of R for the tophash.
    base = C0 ^ hash0
    want_low = (chain * (C1_INV & mask)) & mask if B else 0
    for hi in range(1 << min(32 - B, 24)):
        R = ((hi << B) | ((want_low ^ base) & mask)) & 0xFFFFFFFF
        H = (C1 * (base ^ R)) & M64
        if (H & mask) == (chain & mask) and (top is None or _tophash(H) == top):
            return R
    raise AssertionError(f"no 32-bit NaN draw reaches chain {chain} with tophash {top}")


@dataclass
class OpContext:
    after: dict                 # the oracle's state after this top-level op
    before: Optional[dict]      # the model's header before it
    own_elem: Any = None        # elem of a NaN assign
    iter_r: Optional[int] = None
    nested_hash0: Optional[int] = None  # hash0 after the nested op being run
    nan_target: Optional[int] = None    # old bucket a NaN delete's growWork must evacuate
    nan_state: Optional[dict] = None    # where to look a NaN up (a clone's state; default: after)


class ReplayRand:
    """rand(purpose) replaying Go's draws from the oracle's observations."""

    def __init__(self, version: str, key: str, elem: str) -> None:
        self.version = version
        self.key, self.elem = key, elem
        self.ctx: Optional[OpContext] = None
        self.noverflow_left = 0
        self.m: Optional[pymap.GoMap] = None
        self.rt: Optional[pymap.Runtime] = None
        self.bits = 32 if version in ("1.19", "1.20", "1.21") else 64

    def begin(self, after: dict, before_hdr: Optional[dict], own_elem: Any = None, iter_r: Optional[int] = None) -> None:
        self.ctx = OpContext(after, before_hdr, own_elem, iter_r)
        if before_hdr is None:
            k = after["noverflow"]
        else:
            # hashGrow resets noverflow: a doubling grow changes B, a same-size
            # grow sets sameSizeGrow (8).
            grew = after["B"] != before_hdr["B"] or (not before_hdr["growing"] and after["flags"] & 8)
            k = after["noverflow"] if grew else (after["noverflow"] - before_hdr["noverflow"]) % 65536
        self.noverflow_left = k

    def __call__(self, purpose: str) -> int:
        ctx = self.ctx
        assert ctx is not None
        if purpose == "hash0":
            return ctx.after["hash0"] if ctx.nested_hash0 is None else ctx.nested_hash0
        if purpose == "iter":
            return ctx.iter_r if ctx.iter_r is not None else 0
        if purpose == "noverflow":
            if self.noverflow_left > 0:
                self.noverflow_left -= 1
                return 0
            return 1
        if purpose == "nanhash":
            return self._nan()
        raise AssertionError(purpose)

    def _nan(self) -> int:
        assert self.rt is not None and self.m is not None and self.ctx is not None
        p = lib.pm_runtime_draw_elem(self.rt._ptr)
        if p != ffi.NULL:
            target = to_json(self.elem, self.m.type._e.decode(p))
        elif self.ctx.own_elem is not None:
            target = self.ctx.own_elem
        elif self.ctx.nan_target is not None:
            # A NaN delete during a grow: its random hash picks the old bucket
            # growWork evacuates.  Aim at the one Go evacuated.
            B = self.m.B
            return nan_draw_for(self.ctx.nan_target, None, B, self.m.hash0, self.bits)
        else:
            return 0  # a lookup of a NaN: the draw changes nothing
        after = self.ctx.nan_state if self.ctx.nan_state is not None else self.ctx.after
        for j, chain in enumerate(after.get("buckets") or []):
            for b in chain:
                th = bytes.fromhex(b["th"])
                for s in range(8):
                    if th[s] >= 5 and b["e"][s] == target and _is_nan_json(self.key, b["k"][s]):
                        return nan_draw_for(j, th[s], after["B"], self.m.hash0, self.bits)
        return 0  # not observable afterwards (e.g. cleared in the same op)


def _is_nan_json(key: str, v: Any) -> bool:
    if key == "float64":
        f = struct.unpack("<d", struct.pack("<Q", v))[0]
        return f != f
    if key == "float32":
        f = struct.unpack("<f", struct.pack("<I", v))[0]
        return f != f
    return False


# ---------------------------------------------------------------- replay
@dataclass
class Mismatch:
    op_index: int
    op: Any
    path: str
    go: Any
    model: Any

    def __str__(self) -> str:
        return (f"after op #{self.op_index} {self.op}: first difference at {self.path}: "
                f"Go {self.go!r} vs pymap {self.model!r}")


def _header_dict(m: pymap.GoMap) -> dict:
    h = m._header()
    return {"B": h.B, "noverflow": h.noverflow, "growing": bool(h.growing)}


def replay(version: str, hashkey: tuple, trace: dict, records: list[dict]) -> tuple[Optional[Mismatch], int]:
    """Replay `trace` against the oracle's `records`; return (first mismatch or None, ops compared)."""
    key, elem = trace["key"], trace["elem"]
    rnd = ReplayRand(version, key, elem)
    rt = pymap.Runtime(go=version, hashkey=tuple(hashkey), rand=rnd)
    rnd.rt = rt
    t = pymap.MapType(model_spelling(key), model_spelling(elem))
    rnd.begin(records[0]["state"], None)
    m = rt.make_map(t, trace["hint"])
    rnd.m = m
    compared = 0

    def compare(i: int, op: Any, rec: dict, result: Any) -> Optional[Mismatch]:
        got = model_state(m, key, elem, "buckets" in rec["state"])
        d = first_difference(rec["state"], got, "state")
        if d is None and rec.get("result") is not None and result is not None:
            d = first_difference(rec["result"], result, "result")
        if d:
            return Mismatch(i, op, d[0], d[1], d[2])
        return None

    mm = compare(0, {"op": "make", "hint": trace["hint"]}, records[0], None)
    if mm:
        return mm, compared
    compared += 1
    for i, op in enumerate(trace["ops"], start=1):
        rec = records[i]
        before = _header_dict(m)
        result = _run_op(m, op, rec, rnd, key, elem, before)
        mm = compare(i, op, rec, result)
        if mm:
            return mm, compared
        compared += 1
    return None, compared


def _own_nan_elem(key: str, op: dict) -> Any:
    if op["op"] == "assign" and _is_nan_json(key, op["k"]):
        return op["v"]
    return None


def _run_op(m: pymap.GoMap, op: dict, rec: dict, rnd: ReplayRand, key: str, elem: str, before: dict) -> Any:
    name = op["op"]
    res = rec.get("result")
    iter_r = None
    if name == "clear" and res and res.get("start") is not None:
        iter_r = res["start"] | (res["offset"] << m.B)
    rnd.begin(rec["state"], before, _own_nan_elem(key, op), iter_r)
    if name == "delete" and _is_nan_json(key, op["k"]) and m.growing:
        rnd.ctx.nan_target = _evacuated_target(m, rec["state"])  # type: ignore[union-attr]
    return _exec(m, op, res, rnd, key, elem)


def _evacuated_target(m: pymap.GoMap, after: dict) -> int:
    """The old bucket growWork(hash) evacuated in Go, given the states around it.

    growWork evacuates hash & oldmask, then nevacuate; a newly evacuated
    bucket other than the model's nevacuate was the hash's (evacuation order
    does not change the result, so any consistent pick works)."""
    def evac(th: str) -> bool:
        return 2 <= int(th[:2], 16) <= 4
    before = {i for i, ch in enumerate(m.oldbuckets() or []) if evac(ch[0].tophash.hex())}
    go_after = {i for i, ch in enumerate(after.get("oldbuckets") or []) if evac(ch[0]["th"])}
    nv = m.nevacuate
    if after.get("oldbuckets") is None:
        # the grow finished in this op: every old bucket got evacuated
        go_after = set(range(len(m.oldbuckets() or [])))
    newly = sorted(go_after - before - {nv})
    if newly:
        return newly[0]
    # Only nevacuate's bucket moved: the hash hit a bucket evacuated earlier
    # (a no-op), unless there is none.
    return min(before) if before else nv


def _exec(m: pymap.GoMap, op: dict, res: Any, rnd: ReplayRand, key: str, elem: str) -> Any:
    name = op["op"]
    if name == "assign":
        m[to_model(key, op["k"])] = to_model(elem, op["v"])
        return None
    if name == "delete":
        m.delete(to_model(key, op["k"]))
        return None
    if name == "lookup":
        v, ok = m.lookup(to_model(key, op["k"]))
        return {"found": ok, "v": to_json(elem, v)}
    if name == "clear":
        # Go 1.19's range-delete loop (non-reflexive keys) reports the start it
        # drew; it is replayed as the "iter" draw and echoed back.
        if res and res.get("start") is not None:
            rnd.ctx.iter_r = res["start"] | (res["offset"] << m.B)  # type: ignore[union-attr]
        m.clear()
        return res if res and res.get("start") is not None else None
    if name == "clone":
        # A clone of a growing map rehashes the NaNs of the buckets not yet
        # evacuated: each lands where Go's clone has it, not the source.
        ctx = rnd.ctx
        assert ctx is not None
        ctx.nan_state = (res or {}).get("state")
        try:
            c = m.clone()
        finally:
            ctx.nan_state = None
        return {"state": model_state(c, key, elem, "buckets" in ((res or {}).get("state") or {}))}
    if name == "iter":
        if op.get("stop") == 0:   # reflect.MapIter never called Next: no mapiterinit
            return {"start": None, "offset": None, "seq": [], "results": {}}
        if res is None or res.get("start") is None:
            it = m.items()
        else:
            it = m.items(start_bucket=res["start"], offset=res["offset"])
        out: dict = {"start": it.start_bucket, "offset": it.offset, "seq": [], "results": {}, "hash0s": {}}
        go_h0s = (res or {}).get("hash0s") or {}
        during = {int(k): v for k, v in (op.get("during") or {}).items()}
        stop = op.get("stop")
        n = 0
        for k, v in it:
            out["seq"].append([to_json(key, k), to_json(elem, v)])
            if n in during:
                rs = []
                go_rs = ((res or {}).get("results") or {}).get(str(n)) or []
                h0s = go_h0s.get(str(n)) or []
                ctx = rnd.ctx
                assert ctx is not None
                for j, sub in enumerate(during[n]):
                    ctx.own_elem = _own_nan_elem(key, sub)
                    ctx.nested_hash0 = h0s[j] if j < len(h0s) else None
                    rs.append(_exec(m, sub, go_rs[j] if j < len(go_rs) else None, rnd, key, elem))
                    out["hash0s"].setdefault(str(n), []).append(m.hash0)
                ctx.nested_hash0 = None
                out["results"][str(n)] = rs
            n += 1
            if stop is not None and n >= stop:
                break
        return out
    raise ValueError(f"unknown op {name!r}")
