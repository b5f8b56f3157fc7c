"""Replay an oracle trace on a pymap Swiss map and compare the full state.

Mirrors replay.py (the classic comparison) for Go's Swiss-table map:

- the model runs with the oracle process's hashkey (Runtime(hashkey=...));
- "seed" draws (make, delete to empty, a clear that did work, the clone of
  1.24) return the seed the oracle observed after the operation (for nested
  ops inside an iteration: the seed observed after that nested op; for a
  1.24 clone: the clone's seed);
- iteration is replayed with explicit offsets, the entryOffset/dirOffset the
  oracle read from the runtime's iterator (an explicit start draws nothing);
  1.24's maps.Clone draws "iter" twice: the offsets the oracle found to
  reproduce the clone;
- "nanhash": an R that puts the NaN being hashed where Go put it.  Go hashes
  a NaN float as c1 * (c0 ^ seed ^ R), c1 odd, so for any wanted hash H,
  R = (H * c1^-1 mod 2^64) ^ c0 ^ seed.  H is built from the NaN's observed
  position: its table's directory index in the top globalDepth bits, its
  group in H1's low bits (bits 7..), its control byte as H2.  The NaN is
  identified by its elem (traces give every NaN a distinct elem): the op's
  own elem for an insert, else the elem of the entry a grow is rehashing
  (pm_runtime_draw_elem, when the model exposes it).

Records the oracle was asked not to dump carry no groups; they are compared
on everything else (header, directory, every table's fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pymap

from replay import C0, C1_INV, M64, Mismatch, _is_nan_json, first_difference, model_spelling, to_json, to_model
from swiss_state import model_state


def nan_hash_target(state: dict, elem_json: Any, key: str) -> Optional[int]:
    """A hash that places the NaN entry whose elem is elem_json where the
    oracle's state shows it (None: not found / not dumped)."""
    g = state.get("small_group")
    if state.get("small") and g:
        ctrl = bytes.fromhex(g["ctrl"])
        for s in range(8):
            if ctrl[s] < 0x80 and g["e"][s] == elem_json and _is_nan_json(key, g["k"][s]):
                return ctrl[s]
        return None
    gd = state["global_depth"]
    for ti, t in enumerate(state["tables"]):
        groups = t.get("groups")
        if not groups:
            continue
        idx = state["directory"].index(ti)
        top = (idx << (64 - gd)) & M64 if gd else 0
        for gi, gr in enumerate(groups):
            ctrl = bytes.fromhex(gr["ctrl"])
            for s in range(8):
                if ctrl[s] < 0x80 and gr["e"][s] == elem_json and _is_nan_json(key, gr["k"][s]):
                    return top | (gi << 7) | ctrl[s]
    return None


def nan_draw_for_hash(H: int, seed: int) -> int:
    return ((H * C1_INV) & M64) ^ C0 ^ seed


@dataclass
class Ctx:
    after: dict                          # the oracle's state after this top-level op
    own_elem: Any = None                 # elem of a NaN insert (its first nanhash draw)
    own_drawn: bool = False
    nested_seed: Optional[int] = None    # seed after the nested op being run
    seed_queue: list = field(default_factory=list)   # seeds to hand out first (1.24 clone)
    iter_queue: list = field(default_factory=list)   # "iter" draws (1.24 clone)
    nan_state: Optional[dict] = None     # where to look a NaN up (a clone's state)


class SwissReplayRand:
    def __init__(self, version: str, key: str, elem: str) -> None:
        self.version, self.key, self.elem = version, key, elem
        self.ctx: Optional[Ctx] = None
        self.rt: Any = None
        self.m: Any = None
        self.draws: list[str] = []

    def begin(self, after: dict, own_elem: Any = None) -> Ctx:
        self.ctx = Ctx(after, own_elem)
        return self.ctx

    def __call__(self, purpose: str) -> int:
        ctx = self.ctx
        assert ctx is not None
        self.draws.append(purpose)
        if purpose == "seed":
            if ctx.seed_queue:
                return ctx.seed_queue.pop(0)
            return ctx.after["seed"] if ctx.nested_seed is None else ctx.nested_seed
        if purpose == "iter":
            return ctx.iter_queue.pop(0) if ctx.iter_queue else 0
        if purpose == "nanhash":
            return self._nan()
        raise AssertionError(f"unexpected rand purpose {purpose!r}")

    def _draw_elem(self) -> Any:
        try:
            from pymap._native import ffi, lib
            p = lib.pm_runtime_draw_elem(self.rt._ptr)
            if p != ffi.NULL:
                return to_json(self.elem, self.m.type._e.decode(p))
        except Exception:  # noqa: BLE001 - the hook is optional for the Swiss model
            pass
        return None

    def _nan(self) -> int:
        ctx = self.ctx
        assert ctx is not None and self.m is not None
        target = self._draw_elem()
        if target is None and ctx.own_elem is not None and not ctx.own_drawn:
            ctx.own_drawn = True
            target = ctx.own_elem
        if target is None:
            return 0   # a lookup/delete of a NaN: the draw changes nothing
        H = nan_hash_target(ctx.nan_state or ctx.after, target, self.key)
        if H is None:
            return 0   # not observable afterwards (cleared, or not dumped)
        # A clone hashes with its own seed (the 1.24 rebuild draws a new one).
        seed = ctx.nan_state["seed"] if ctx.nan_state is not None else self.m.seed
        return nan_draw_for_hash(H, seed)


def _own_nan_elem(key: str, op: dict) -> Any:
    if op["op"] == "assign" and _is_nan_json(key, op["k"]):
        return op["v"]
    return None


def replay(version: str, hashkey: tuple, trace: dict, records: list[dict],
           key_of: Any = None) -> tuple[Optional[Mismatch], int]:
    """Replay `trace` on pymap against the oracle's `records`.

    key_of converts a key of the trace's ops into the oracle's JSON value
    (pointer keys: arena index -> address); default identity.
    Returns (first mismatch or None, records compared)."""
    key, elem = trace["key"], trace["elem"]
    conv = key_of or (lambda v: v)
    rnd = SwissReplayRand(version, key, elem)
    rt = pymap.Runtime(go=version, hashkey=tuple(hashkey), rand=rnd)
    rnd.rt = rt
    t = pymap.MapType(model_spelling(key), model_spelling(elem))
    rnd.begin(records[0]["state"])
    m = rt.make_map(t, trace["hint"])
    rnd.m = m
    if m.used == 0 and m.seed != records[0]["state"]["seed"]:
        m.seed = records[0]["state"]["seed"]
    compared = 0

    def compare(i: int, op: Any, rec: dict, result: Any) -> Optional[Mismatch]:
        st = rec["state"]
        got = model_state(m, key, elem, groups="small_group" in st)   # dumped records only
        d = first_difference(st, got, "state")
        if d is None and rec.get("result") is not None and result is not None:
            d = first_difference(rec["result"], result, "result")
        return Mismatch(i, op, d[0], d[1], d[2]) if d else None

    mm = compare(0, {"op": "make", "hint": trace["hint"]}, records[0], None)
    if mm:
        return mm, compared
    compared += 1
    for i, op in enumerate(trace["ops"], start=1):
        rec = records[i]
        rnd.begin(rec["state"], _own_nan_elem(key, op))
        result = _exec(m, op, rec.get("result"), rnd, key, elem, conv)
        mm = compare(i, op, rec, result)
        if mm:
            return mm, compared
        compared += 1
    return None, compared


def _exec(m: Any, op: dict, res: Any, rnd: SwissReplayRand, key: str, elem: str, conv: Any) -> Any:
    name = op["op"]
    if name == "assign":
        m[to_model(key, conv(op["k"]))] = to_model(elem, op["v"])
        return None
    if name == "delete":
        m.delete(to_model(key, conv(op["k"])))
        return None
    if name == "lookup":
        k = to_model(key, conv(op["k"]))
        ok = k in m
        out: dict = {"found": ok}
        if ok:   # Go reports the zero value when absent; pymap's get() gives None
            out["v"] = to_json(elem, m.get(k))
        return out
    if name == "clear":
        m.clear()
        return None
    if name == "clone":
        ctx = rnd.ctx
        assert ctx is not None
        cstate = (res or {}).get("state")
        if cstate is not None:
            ctx.seed_queue.append(cstate["seed"])
            it = (res or {}).get("iter")
            if it:
                ctx.iter_queue += [it["entry_offset"], it["dir_offset"]]
            ctx.nan_state = cstate
        c = m.clone()
        ctx.seed_queue.clear()
        ctx.iter_queue.clear()
        ctx.nan_state = None
        cl: dict = {"state": model_state(c, key, elem)}
        if res and "iter" in res:
            cl["iter"] = res["iter"]   # echoed: what was replayed
        return cl
    if name == "iter":
        return _iter(m, op, res, rnd, key, elem, conv)
    raise ValueError(f"unknown op {name!r}")


def _iter(m: Any, op: dict, res: Any, rnd: SwissReplayRand, key: str, elem: str, conv: Any) -> dict:
    res = res or {}
    out: dict = {"entry_offset": res.get("entry_offset"), "dir_offset": res.get("dir_offset"),
                 "seq": [], "results": {}, "seeds": {}}
    if res.get("entry_offset") is None:
        # Go never initialised the iterator (stop 0, or an empty map): no draws.
        return out
    it = m.items(entry_offset=res["entry_offset"], dir_offset=res["dir_offset"])
    out["entry_offset"], out["dir_offset"] = it.entry_offset, it.dir_offset
    go_seeds = res.get("seeds") or {}
    go_rs = res.get("results") or {}
    during = {int(k): v for k, v in (op.get("during") or {}).items()}
    stop = op.get("stop")
    ctx = rnd.ctx
    assert ctx is not None
    n = 0
    for k, v in it:
        out["seq"].append([to_json(key, k), to_json(elem, v)])
        if n in during:
            rs = []
            seeds = go_seeds.get(str(n)) or []
            subres = go_rs.get(str(n)) or []
            for j, sub in enumerate(during[n]):
                ctx.own_elem, ctx.own_drawn = _own_nan_elem(key, sub), False
                ctx.nested_seed = seeds[j] if j < len(seeds) else None
                rs.append(_exec(m, sub, subres[j] if j < len(subres) else None, rnd, key, elem, conv))
                out["seeds"].setdefault(str(n), []).append(m.seed)
            ctx.nested_seed = None
            out["results"][str(n)] = rs
        n += 1
        if stop is not None and n >= stop:
            break
    return out
