"""Hypothesis state machines for the Swiss-table map: Swiss versions x key kinds, against a dict model.

One machine per key kind; each example draws its Go version (1.24-1.27), hint and runtime seed.
After every step: m.check(), len(m) == m.used == the model's size, the header invariants, and
(up to one table always, otherwise every fourth step) the full structure check re-derived from
the inspection API -- directory runs, counted growthLeft, tombstone placement and, for integer
keys, each key's H2 byte, table and probe path under the fallback hash (spec §2-§3).

Rules are biased to what the spec says matters: fills to the growth points 9, 15, 29, 57, 113,
225, 449, 897 (and 1792/1793), single growth events verified one at a time (doubling, split,
directory doubling), delete/insert churn, full small maps (the 1.24-1.26 update grows, 1.27
does not), hints 897 and 1792, clear per version, clones, and iteration with explicit or
drawn offsets checked slot by slot against the documented order (spec §4).

Settings keep the file under about a minute; PYMAP_SWISS_EXAMPLES / PYMAP_SWISS_STEPS raise them.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import pymap


from pymap.testing import MapModel, canonical, is_nan_key, token, values

SWISS = ("1.24", "1.25", "1.26", "1.27")
SMALL_UPDATE_GROWS = ("1.24", "1.25", "1.26")
EMPTY, DELETED = 0x80, 0xFE
NAN = float("nan")

# kind name -> (key, elem).  Insert paths (spec §2.8): fast64, fast32, faststr, generic (float64,
# [16]byte, bool), fast64 with a zero-size elem, generic with indirect key and elem.
KINDS = {
    "int64": ("int64", "int64"),
    "int32": ("int32", "int32"),
    "string": ("string", "int64"),
    "float64": ("float64", "int64"),
    "bytes16": ("[16]byte", "bool"),
    "bool": ("bool", "int64"),
    "structelem": ("int64", "struct{}"),
    "indirect": ("[129]byte", "[200]byte"),
}

HINTS = st.one_of(
    st.sampled_from([0, 0, 0, 1, 8, 9, 14, 15, 28, 29, 100, 448, 449, 896, 897, 897, 1792, 1792,
                     1793, -1, 1 << 62]),
    st.integers(-2, 300),
)
GROWTH_POINTS = (9, 15, 29, 57, 113, 225, 449, 897)
FILL_TARGETS = st.sampled_from(sorted({p + d for p in GROWTH_POINTS for d in (-1, 0)}
                                      | {1, 7, 8, 1792, 1793, 1000}))
MAX_LIVE = 2200
OFFSET = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2100))

MACHINE_SETTINGS = settings(
    max_examples=int(os.environ.get("PYMAP_SWISS_EXAMPLES", "30")),
    stateful_step_count=int(os.environ.get("PYMAP_SWISS_STEPS", "40")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

# ---------------------------------------------------------------------------
# Helpers (kept local: this file and test_swiss.py are independent modules)

M64 = (1 << 64) - 1
M5 = 0x1D8E4E27C47D124F


def _mix(a, b):
    p = (a & M64) * (b & M64)
    return ((p >> 64) ^ p) & M64


def fallback_hash(spelling, k, seed, hk):
    """Spec §3: the fallback hash of 8- and 4-byte integer keys (None for other kinds)."""
    if spelling == "int64":
        a = k & M64
        return _mix(M5 ^ 8, _mix(a ^ hk[1], a ^ seed ^ hk[0]))
    if spelling == "int32":
        a = k & 0xFFFFFFFF
        return _mix(M5 ^ 4, _mix(a ^ hk[1], a ^ seed ^ hk[0]))
    return None


def is_full(c):
    return c & 0x80 == 0


def max_growth_left(cap):
    return cap - 1 if cap <= 8 else cap * 7 // 8


def unhinted_capacity(n):
    """Spec §2.5: the single table's capacity after n fresh inserts (9 <= n <= 896)."""
    cap = 16
    while n > cap * 7 // 8:
        cap *= 2
    return cap


def structure_check(m, key_spelling):
    go = m.runtime.go
    n = len(m)
    if go == "1.24":
        assert m.tombstone_possible is False
    if m.dir_len == 0:
        assert (m.global_depth, m.global_shift) == (0, 0)
        g = m.small_group()
        assert m.small == (g is not None)
        if g is None:
            assert n == 0
            return
        assert DELETED not in g.ctrl and sum(is_full(c) for c in g.ctrl) == n
        assert all(c == EMPTY or is_full(c) for c in g.ctrl)
        for s in range(8):
            if is_full(g.ctrl[s]):
                h = fallback_hash(key_spelling, g.keys[s], m.seed, m.runtime.hashkey)
                if h is None:
                    break
                assert g.ctrl[s] == h & 0x7F
        return
    assert not m.small and m.small_group() is None
    gd = m.global_depth
    assert m.dir_len == 1 << gd and m.global_shift == 64 - gd
    tables, d = m.tables(), m.directory()
    assert len(d) == m.dir_len and sorted(set(d)) == list(range(len(tables)))
    hk = m.runtime.hashkey
    hashed = fallback_hash(key_spelling, 0, 0, hk) is not None
    used = 0
    for p, t in enumerate(tables):
        run = 1 << (gd - t.local_depth)
        assert t.local_depth <= gd and t.index % run == 0 and t.index == d.index(p)
        assert d[t.index:t.index + run] == [p] * run and d.count(p) == run
        cap = t.capacity
        assert cap & (cap - 1) == 0 and 8 <= cap <= 1024 and len(t.groups) == cap // 8
        ctrl = b"".join(g.ctrl for g in t.groups)
        full = sum(is_full(c) for c in ctrl)
        dead = ctrl.count(DELETED)
        assert t.used == full and t.tombstones == dead
        assert t.growth_left + full + dead == max_growth_left(cap)
        if dead and go != "1.24":
            assert m.tombstone_possible
        used += full
        ngroups = cap // 8
        for gi, g in enumerate(t.groups):
            assert not (DELETED in g.ctrl and EMPTY in g.ctrl)
            if not hashed:
                continue
            for s in range(8):
                if not is_full(g.ctrl[s]):
                    continue
                h = fallback_hash(key_spelling, g.keys[s], m.seed, hk)
                assert g.ctrl[s] == h & 0x7F
                top = 0 if m.dir_len == 1 else h >> (64 - gd)
                assert t.index <= top < t.index + run
                probe = (h >> 7) & (ngroups - 1)
                for i in range(ngroups):
                    if probe == gi:
                        break
                    assert EMPTY not in t.groups[probe].ctrl
                    probe = (probe + i + 1) & (ngroups - 1)
                else:
                    raise AssertionError("key not on its probe sequence")
    assert used == n


def expected_order(m, entry_offset, dir_offset):
    """Go's iteration order for the given offsets (spec §4), from the inspection API."""
    out = []
    if len(m) == 0:
        return out
    if m.dir_len == 0:
        g = m.small_group()
        for i in range(8):
            s = (i + entry_offset) % 8
            if is_full(g.ctrl[s]):
                out.append((g.keys[s], g.elems[s]))
        return out
    tables, d, n = m.tables(), m.directory(), m.dir_len
    pos = tables[d[dir_offset & (n - 1)]].index
    covered = 0
    while covered < n:
        t = tables[d[pos]]
        cap = t.capacity
        for j in range(cap):
            e = (j + entry_offset) & (cap - 1)
            g = t.groups[e >> 3]
            if is_full(g.ctrl[e & 7]):
                out.append((g.keys[e & 7], g.elems[e & 7]))
        run = 1 << (m.global_depth - t.local_depth)
        covered += run
        pos = (pos + run) & (n - 1)
    return out


def layout_sig(m):
    """What changes at every growth event, cheaply: small, dirLen, group bytes."""
    return m.small, m.dir_len, m.memory().groups


def table_shape(m):
    return m.global_depth, [(t.index, t.local_depth, t.capacity) for t in m.tables()]


def key_of(spelling, i):
    if spelling in ("int64", "int32"):
        return i
    if spelling == "string":
        return f"key-{i}"
    if spelling == "float64":
        return float(i)
    if spelling == "bool":
        return bool(i & 1)
    n = int(spelling[1:spelling.index("]")])
    return i.to_bytes(n, "little")


def elem_of(spelling, i):
    if spelling in ("int64", "int32"):
        return i
    if spelling == "bool":
        return bool(i & 1)
    return None   # struct{} and [200]byte: bulk calls store zero values


def zero_of(spelling):
    if spelling == "struct{}":
        return None
    if spelling == "bool":
        return False
    if spelling.startswith("["):
        return bytes(int(spelling[1:spelling.index("]")]))
    return 0


def np_keys(spelling, ks):
    if spelling == "int64":
        return np.array(ks, dtype="<i8")
    if spelling == "int32":
        return np.array(ks, dtype="<i4")
    if spelling == "float64":
        return np.array(ks, dtype="<f8")
    if spelling == "bool":
        return np.array(ks, dtype=bool)
    if spelling == "string":
        return list(ks)
    if spelling == "struct{}":
        return [None] * len(ks)
    n = int(spelling[1:spelling.index("]")])
    return np.frombuffer(b"".join(ks), dtype=np.uint8).reshape(len(ks), n)


def np_elems(spelling, vs):
    if spelling == "int64":
        return np.array(vs, dtype="<i8")
    if spelling == "int32":
        return np.array(vs, dtype="<i4")
    if spelling == "bool":
        return np.array(vs, dtype=bool)
    return None


# ---------------------------------------------------------------------------
# The machine


def swiss_machine(kind):
    key, elem = KINDS[kind]
    mtype = pymap.MapType(key, elem)
    key_values = values(key)
    elem_values = values(elem)
    floaty = key == "float64"
    unbounded = key != "bool"
    range_ok = key in ("int64", "int32", "string") and elem in ("int64", "int32")

    def model_key(k):
        return canonical(key, k)

    class SwissMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.m = None
            self.steps = 0

        # -- helpers -------------------------------------------------------
        def _new_map(self, hint):
            self.m = self.rt.make_map(mtype, hint=hint)
            self.model = MapModel(key, elem, self.go)
            self.counter = 0
            # Only fresh inserts into an unhinted map so far: growth points are known exactly.
            self.pure = hint <= 8 or hint >= 1 << 61
            assert self.m.impl == "swiss" and len(self.m) == 0

        def _fresh(self, n, avoid=frozenset()):
            out = []
            while len(out) < n:
                if not unbounded and len(self.model.entries) + len(out) >= 2:
                    break
                k = key_of(key, self.counter)
                self.counter += 1
                if not self.model.contains(k) and k not in out and model_key(k) not in avoid:
                    out.append(k)
            return out

        def _elem(self, i):
            v = elem_of(elem, i)
            return zero_of(elem) if v is None else v

        def _assign(self, k, v):
            self.m[k] = v
            self.model.assign(k, v)

        def _insert_batch(self, ks, method):
            if not ks:
                return
            idx = [self.counter - len(ks) + j for j in range(len(ks))]
            vs = [elem_of(elem, i) for i in idx]
            contiguous = all(ks[j] == key_of(key, idx[0] + j) for j in range(len(ks)))
            if method == "range" and range_ok and contiguous and all(v == i for v, i in zip(vs, idx)):
                self.m.insert_range(idx[0], idx[0] + len(ks))
            elif method in ("many", "range"):
                self.m.insert_many(np_keys(key, ks), np_elems(elem, vs))
            else:
                for k, v in zip(ks, vs):
                    self.m[k] = v if v is not None else zero_of(elem)
            for k, v in zip(ks, vs):
                self.model.assign(k, v if v is not None else zero_of(elem))

        def _small_full_update_check(self, was_small_full, added):
            m = self.m
            if not was_small_full:
                return
            if added or self.go in SMALL_UPDATE_GROWS:
                # growToTable: a 16-slot table with 14 - used growthLeft (spec §1.7).
                assert not m.small and m.dir_len == 1
                [t] = m.tables()
                assert (t.capacity, t.local_depth, t.index) == (16, 0, 0)
                assert t.growth_left == 14 - len(m)
            else:
                assert m.small, "1.27: an update of a full small map stays small"

        # -- rules ---------------------------------------------------------
        @initialize(go=st.sampled_from(SWISS), hint=HINTS, seed=st.integers(0, 2**64 - 1))
        def make(self, go, hint, seed):
            self.go = go
            self.rt = pymap.Runtime(go=go, seed=seed)
            assert self.rt.map_impl == "swiss"
            self._new_map(hint)

        @rule(hint=HINTS)
        def remake(self, hint):
            self._new_map(hint)

        @rule(k=key_values, v=elem_values)
        def insert(self, k, v):
            m = self.m
            was_small_full = m.small and len(m) == 8
            added = is_nan_key(key, k) or not self.model.contains(k)
            self._assign(k, v)
            self.pure &= added
            self._small_full_update_check(was_small_full, added)

        @precondition(lambda self: self.m is not None and len(self.model.entries) > 0)
        @rule(data=st.data(), v=elem_values)
        def update(self, data, v):
            k = data.draw(st.sampled_from(self.model.stored_keys()), label="key")
            was_small_full = self.m.small and len(self.m) == 8
            self._assign(k, v)
            self.pure = False
            self._small_full_update_check(was_small_full, False)

        @precondition(lambda self: self.m is not None and unbounded)
        @rule(count=FILL_TARGETS, method=st.sampled_from(["range", "many", "loop"]))
        def fill_to(self, count, method):
            need = min(count, MAX_LIVE) - len(self.model)
            if need <= 0:
                return
            self._insert_batch(self._fresh(need), method)
            if self.pure:
                n = len(self.m)
                if n <= 8:
                    assert self.m.small
                elif n <= 896:
                    assert self.m.dir_len == 1
                    assert [t.capacity for t in self.m.tables()] == [unhinted_capacity(n)]
                else:
                    assert self.m.dir_len >= 2

        @precondition(lambda self: self.m is not None and unbounded and len(self.model) < MAX_LIVE)
        @rule(method=st.sampled_from(["range", "many", "loop"]))
        def grow_step(self, method):
            """Insert right up to the next growth event, then one key at a time through it,
            and check that exactly one documented event happened."""
            m = self.m
            if m.dir_len:
                tabs = m.tables()
                safe = min(t.growth_left for t in tabs)
                bound = sum(t.growth_left + t.tombstones for t in tabs) + 2
            else:
                safe = 8 - len(m) if m.small else 0
                bound = 10
            before_sig = layout_sig(m)
            before_small = m.small
            before_shape = table_shape(m) if m.dir_len else None
            self._insert_batch(self._fresh(safe), method)
            assert layout_sig(m) == before_sig, "no table can grow before its growthLeft runs out"
            n_before = len(m)
            for _ in range(bound):
                [k] = self._fresh(1)
                self._assign(k, self._elem(self.counter))
                if layout_sig(m) != before_sig:
                    break
            else:
                raise AssertionError(f"no growth within {bound} fresh inserts")
            n = len(m)
            if self.pure and n_before < 897:
                nxt = min(p for p in (1,) + GROWTH_POINTS if p > n_before)
                assert n == nxt, f"growth at {n}, expected at {nxt} (spec §2.5)"
            if before_shape is None:
                if not before_small:
                    assert m.small and n == n_before + 1, "the first insert allocates the small group"
                else:
                    assert m.dir_len == 1 and [t.capacity for t in m.tables()] == [16] and n == 9
                return
            old_gd, old = before_shape
            gd, cur = table_shape(m)
            doubled = gd == old_gd + 1
            assert gd in (old_gd, old_gd + 1)
            mapped = [(2 * ix if doubled else ix, ld, c) for ix, ld, c in old]
            removed = [x for x in mapped if x not in cur]
            added = [x for x in cur if x not in mapped]
            assert len(removed) == 1, (old, cur)
            (ix, ld, c), = removed
            if len(added) == 1:
                assert added == [(ix, ld, 2 * c)] and 2 * c <= 1024 and not doubled
            else:
                run = 1 << (gd - (ld + 1))
                assert c == 1024 and sorted(added) == [(ix, ld + 1, 1024), (ix + run, ld + 1, 1024)]
                assert doubled == (ld == old_gd)

        @precondition(lambda self: self.m is not None and len(self.model.entries) > 0)
        @rule(data=st.data(), use_del=st.booleans())
        def delete_present(self, data, use_del):
            k = data.draw(st.sampled_from(self.model.stored_keys()), label="key")
            if use_del:
                del self.m[k]
            else:
                assert self.m.delete(k) is True
            self.model.delete(k)
            self.pure = False

        @rule(k=key_values)
        def delete_absent(self, k):
            if self.model.contains(k):
                return
            n = len(self.m)
            assert self.m.delete(k) is False
            assert len(self.m) == n

        @precondition(lambda self: self.m is not None and len(self.model.entries) > 1)
        @rule(data=st.data(), frac=st.sampled_from([0.1, 0.5, 0.9, 1.0]))
        def delete_batch(self, data, frac):
            ks = self.model.stored_keys()
            ks = ks[:max(1, int(len(ks) * frac))]
            absent = self._fresh(3)
            got = self.m.delete_many(np_keys(key, ks + absent))
            assert got == len(ks)
            for k in ks:
                self.model.delete(k)
            self.pure = False

        @precondition(lambda self: self.m is not None and unbounded)
        @rule(steps=st.one_of(st.sampled_from([1, 8, 64, 300]), st.integers(1, 400)))
        def churn(self, steps):
            for _ in range(steps):
                [k] = self._fresh(1)
                self._assign(k, self._elem(self.counter))
                if len(self.model.entries) > 1:
                    old = self.model.oldest()
                    del self.m[old]
                    self.model.delete(old)
            self.pure = False

        @rule()
        def clear(self):
            m = self.m
            works = len(m) > 0 or (self.go != "1.24" and m.tombstone_possible)
            seq, seed = m.clear_seq, m.seed
            shape0 = [(t.index, t.local_depth, t.capacity) for t in m.tables()]
            ctrl0 = [g.ctrl for t in m.tables() for g in t.groups]
            small0 = m.small
            m.clear()
            self.model.clear()
            self.pure = False
            assert len(m) == 0 and m.small == small0
            assert [(t.index, t.local_depth, t.capacity) for t in m.tables()] == shape0, "capacity kept"
            if works:
                assert m.clear_seq == seq + 1 and m.seed != seed and m.tombstone_possible is False
                for t in m.tables():
                    assert t.growth_left == max_growth_left(t.capacity) and t.tombstones == 0
                    assert all(g.ctrl == bytes([EMPTY]) * 8 for g in t.groups)
                if m.small:
                    assert m.small_group().ctrl == bytes([EMPTY]) * 8
            else:
                assert m.clear_seq == seq and m.seed == seed, "a clear that does nothing draws nothing"
                assert [g.ctrl for t in m.tables() for g in t.groups] == ctrl0

        @precondition(lambda self: self.m is not None and floaty)
        @rule(v=elem_values, times=st.integers(1, 10))
        def insert_nan(self, v, times):
            for _ in range(times):
                was_small_full = self.m.small and len(self.m) == 8
                self._assign(NAN, v)
                self._small_full_update_check(was_small_full, True)

        @precondition(lambda self: self.m is not None and floaty)
        @rule(a=elem_values, b=elem_values, neg_first=st.booleans())
        def signed_zero(self, a, b, neg_first):
            first, second = (-0.0, 0.0) if neg_first else (0.0, -0.0)
            self._assign(first, a)
            self._assign(second, b)
            self.pure = False
            [k] = [k for k in self.m if k == 0.0]
            assert math.copysign(1.0, k) == math.copysign(1.0, second), "NeedKeyUpdate"

        @rule(e=OFFSET, d=OFFSET, method=st.sampled_from(["items", "keys", "values"]))
        def iterate_explicit(self, e, d, method):
            m = self.m
            want = expected_order(m, e, d)
            it = getattr(m, method)(entry_offset=e, dir_offset=d)
            if len(m):
                assert it.entry_offset == e
            got = list(it)
            if method == "items":
                assert [(token(key, k), token(elem, v)) for k, v in got] == \
                       [(token(key, k), token(elem, v)) for k, v in want]
                self.model.check_items(got)
            elif method == "keys":
                assert [token(key, k) for k in got] == [token(key, k) for k, _ in want]
            else:
                assert [token(elem, v) for v in got] == [token(elem, v) for _, v in want]

        @rule()
        def iterate_drawn(self):
            m = self.m
            it = m.items()
            if len(m) == 0:
                assert list(it) == []
                return
            want = expected_order(m, it.entry_offset, it.dir_offset)
            got = list(it)
            assert [(token(key, k), token(elem, v)) for k, v in got] == \
                   [(token(key, k), token(elem, v)) for k, v in want]
            self.model.check_items(got)

        @precondition(lambda self: self.m is not None and len(self.model) > 0)
        @rule(data=st.data())
        def iterate_mutating(self, data):
            n0 = len(self.model)
            acts = ["insert", "delete", "update", "stop"] * 3 + ["clear"] + (["insert_nan"] * 2 if floaty else [])
            plan = data.draw(st.lists(
                st.tuples(st.integers(0, n0 - 1), st.sampled_from(acts),
                          st.one_of(st.integers(1, 40), st.sampled_from([300, 600]))),
                min_size=1, max_size=4), label="plan")
            at: dict = {}
            for pos, act, cnt in plan:
                at.setdefault(pos, []).append((act, cnt))
            model = self.model
            start = set(model.entries)
            start_nans = Counter(token(elem, v) for v in model.nans)
            nan_added: Counter = Counter()
            deleted, seen, nan_seen = set(), Counter(), Counter()
            cleared = False
            completed = True
            self.pure = False
            for pos, (k, v) in enumerate(self.m.items()):
                if is_nan_key(key, k):
                    nan_seen[token(elem, v)] += 1
                else:
                    c = model.entries.get(model_key(k))
                    assert model_key(k) not in deleted, f"{k!r} produced after its delete"
                    assert c is not None, f"{k!r} produced but not in the map"
                    assert token(key, k) == token(key, c[0]) and token(elem, v) == token(elem, c[1])
                    seen[model_key(k)] += 1
                    assert seen[model_key(k)] == 1, f"{k!r} produced twice"
                stop = False
                for act, cnt in at.get(pos, ()):
                    if act == "stop":
                        stop = True
                    elif act == "insert":
                        ks = self._fresh(max(0, min(cnt, MAX_LIVE - len(model))), avoid=deleted) if unbounded else []
                        self._insert_batch(ks, "many" if cnt > 50 else "loop")
                    elif act == "insert_nan":
                        for j in range(min(cnt, 20)):
                            self._assign(NAN, j)
                            nan_added[token(elem, j)] += 1
                    elif act in ("delete", "update"):
                        for _ in range(min(cnt, 30)):
                            if not model.entries:
                                break
                            dk = data.draw(st.sampled_from(model.stored_keys()), label=act)
                            if act == "delete":
                                del self.m[dk]
                                model.delete(dk)
                                deleted.add(model_key(dk))
                            else:
                                self._assign(dk, data.draw(elem_values, label="elem"))
                    elif act == "clear":
                        deleted |= set(model.entries)
                        self.m.clear()
                        model.clear()
                        cleared = True
                    self.m.check()
                if stop:
                    completed = False
                    break
            if completed and not cleared:
                for c in start - deleted:
                    assert seen[c] == 1, f"missed {model.entries[c][0]!r}"
                assert not (start_nans - nan_seen), "missed NaN entries"
            if not cleared:
                assert not (nan_seen - (start_nans + nan_added)), "unexpected NaN entries"

        @rule()
        def clone(self):
            m = self.m
            seed, seq, tp = m.seed, m.clear_seq, m.tombstone_possible
            c = m.clone()
            assert c.impl == "swiss" and len(c) == len(m)
            c.check()
            structure_check(c, key)
            self.model.check_items(list(c.items()))
            if self.go == "1.24":
                assert c.clear_seq == 0 and c.tombstone_possible is False
                if len(m) <= 8:
                    assert c.dir_len == 0
            else:
                assert (c.seed, c.clear_seq, c.tombstone_possible) == (seed, seq, tp)
                assert (c.dir_len, c.small) == (m.dir_len, m.small)
                assert [(t.index, t.local_depth, t.capacity, t.growth_left) for t in c.tables()] == \
                       [(t.index, t.local_depth, t.capacity, t.growth_left) for t in m.tables()]
                assert [g.ctrl for t in c.tables() for g in t.groups] == \
                       [g.ctrl for t in m.tables() for g in t.groups]
            assert (m.seed, m.clear_seq) == (seed, seq), "cloning leaves the source alone"
            c.drop()

        @precondition(lambda self: self.m is not None and len(self.model.entries) > 0)
        @rule()
        def verify_all(self):
            for k, (sk, v) in list(self.model.entries.items()):
                got = self.m.get(sk, MISSING)
                assert got is not MISSING and token(elem, got) == token(elem, v), (sk, got, v)
                assert sk in self.m

        @rule(s=st.integers(0, 2**64 - 1))
        def set_seed(self, s):
            if len(self.m) == 0:
                self.m.seed = s
                assert self.m.seed == s
            else:
                old = self.m.seed
                with pytest.raises(ValueError):
                    self.m.seed = s
                assert self.m.seed == old

        # -- invariants ----------------------------------------------------
        @invariant()
        def consistent(self):
            m = self.m
            if m is None:
                return
            self.steps += 1
            m.check()
            assert len(m) == m.used == len(self.model)
            if m.dir_len == 0:
                assert m.global_shift == 0
            else:
                assert m.dir_len == 1 << m.global_depth and m.global_shift == 64 - m.global_depth
            if self.go == "1.24":
                assert m.tombstone_possible is False
            if m.dir_len <= 1 or self.steps % 4 == 0:
                structure_check(m, key)

    SwissMachine.__name__ = SwissMachine.__qualname__ = f"SwissMachine_{kind}"
    SwissMachine.TestCase.settings = MACHINE_SETTINGS
    return SwissMachine


class _Missing:
    pass


MISSING = _Missing()

for _kind in KINDS:
    globals()[f"TestSwiss_{_kind}"] = swiss_machine(_kind).TestCase
del _kind


def test_testing_map_machine_127_runs():
    """pymap.testing.map_machine works on the Swiss default version (issue 12 §4)."""
    import pymap.testing

    tc = pymap.testing.map_machine(go="1.27", key="string", elem="int64", seed=0).TestCase
    tc.settings = settings(max_examples=10, stateful_step_count=20, deadline=None,
                           suppress_health_check=list(HealthCheck))
    tc("runTest").runTest()
