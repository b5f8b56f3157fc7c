"""The draw state belongs to the operation, not to the Runtime.

A Runtime(rand=...) serves every draw of every map it made through one
callback.  What an operation does with its draws (the failed flag, the
record a classic grow takes on a clone and replays, the entry a NaN draw is
for) must stay with that operation:

* two threads sharing the Runtime: a failed draw is reported to the
  operation whose draw failed, in its own thread, and only that operation
  changes nothing (test_failed_draws_stay_in_their_thread);
* a callback that runs operations of its own (on other maps of the same
  Runtime, drawing themselves, growing, failing) does not change what the
  served operation does with the values it was given
  (test_callback_side_effects_do_not_reach_the_served_map: the served map
  ends in the same state as when the side maps live in another Runtime).
"""
from __future__ import annotations

import itertools
import math
import random
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap

VERSIONS = ["1.23", "1.27"]   # one classic (grows replay on a clone), one Swiss


def shape(m: pymap.GoMap) -> str:
    """The map's complete state, as text (NaN keys never compare equal)."""
    m.check()
    if m.impl == "swiss":
        return repr((len(m), m.used, m.seed, m.dir_len, m.global_depth, m.small_group(), m.tables(),
                     m.directory()))
    return repr((len(m), m.B, m.hash0, m.noverflow, m.buckets()))


class SideEffects:
    """A rand callback that runs operations on side maps before answering.

    Draws of the served operations take values from `main`; draws made by
    the side operations (NaN hashes, iteration starts, overflow counts)
    take values from `side`, so the served map sees the same values
    whichever Runtime the side maps belong to."""

    def __init__(self, plan: list[int], seed: int) -> None:
        self.main = random.Random(seed)
        self.side = random.Random(seed + 1)
        self.plan = itertools.cycle(plan or [0])
        self.depth = 0
        self.side_maps: list[pymap.GoMap] = []
        self.failures = 0

    def __call__(self, purpose: str) -> int:
        if self.depth:
            return self.side.getrandbits(64)
        v = self.main.getrandbits(64)
        self.depth += 1
        try:
            self.side_effect(next(self.plan))
        finally:
            self.depth -= 1
        return v

    def side_effect(self, what: int) -> None:
        if not self.side_maps:
            return
        m = self.side_maps[what % len(self.side_maps)]
        kind = what % 6
        if kind == 0:
            m.insert_many([float(len(m) + i) for i in range(40)] + [math.nan] * 3)
        elif kind == 1:
            m[math.nan] = 1
        elif kind == 2:
            for k in list(itertools.islice(m.keys(), 5)):
                m.delete(k)
        elif kind == 3:
            m.clear()
        elif kind == 4:
            sum(1 for _ in m.items())
        else:
            # An operation of the side map whose own draw fails: its error
            # is its own, caught here, and never reaches the served map.
            def failing(purpose: str) -> int:
                raise LookupError("side rand")
            try:
                pymap.Runtime(go=m.runtime.go, rand=failing).make_map(m.type)[math.nan] = 1
            except LookupError:
                self.failures += 1


def run_served(go: str, keys: list[float], plan: list[int], side_in_same_runtime: bool) -> str:
    cb = SideEffects(plan, seed=7)
    hk = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x2545F4914F6CDD1D)
    rt = pymap.Runtime(go=go, rand=cb, hashkey=hk)
    side_rt = rt if side_in_same_runtime else pymap.Runtime(go=go, rand=lambda p: cb.side.getrandbits(64),
                                                          hashkey=hk)
    t = pymap.MapType("float64", "int64")
    m = rt.make_map(t)
    cb.depth = 1     # the side maps' seeds are side draws too
    cb.side_maps = [side_rt.make_map(t) for _ in range(2)]
    cb.depth = 0
    for i, k in enumerate(keys):
        if k < 0 and len(m):
            m.delete(next(iter(m.keys())))
        else:
            m[k if k >= 0 else math.nan] = i
    for s in cb.side_maps:
        s.check()
    return shape(m)


keys_st = st.lists(st.one_of(st.floats(0, 1e6, allow_nan=False), st.just(math.nan), st.just(-1.0)),
                   min_size=20, max_size=300)


@pytest.mark.parametrize("go", VERSIONS)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(keys=keys_st, plan=st.lists(st.integers(0, 1000), max_size=20))
def test_callback_side_effects_do_not_reach_the_served_map(go, keys, plan):
    assert run_served(go, keys, plan, True) == run_served(go, keys, plan, False)


@pytest.mark.parametrize("go", VERSIONS)
def test_callback_side_effects_through_a_classic_replayed_grow(go):
    """The reproducer: NaN keys through several grows (a classic grow with
    NaN keys runs on a clone, recording its draws, then replays them)."""
    keys = [float(i) if i % 3 else math.nan for i in range(3000)]
    assert run_served(go, keys, [0, 1, 4, 2, 5, 3], True) == run_served(go, keys, [0, 1, 4, 2, 5, 3], False)


@pytest.mark.parametrize("go", VERSIONS)
def test_failed_draws_stay_in_their_thread(go):
    """Thread B's callback raises on every draw; thread A's never does.  A
    sees none of B's errors, and each of B's NaN inserts fails with B's own
    exception and changes nothing."""
    class BError(Exception):
        pass

    def rand(purpose: str) -> int:
        if threading.current_thread().name == "B":
            raise BError(purpose)
        return random.getrandbits(64)

    rt = pymap.Runtime(go=go, rand=rand)
    t = pymap.MapType("float64", "int64")
    ma, mb = rt.make_map(t), rt.make_map(t)
    n = 3000
    a_errors: list[BaseException] = []
    b_outcomes: list[bool] = []

    def a() -> None:
        for i in range(n):
            try:
                ma[math.nan] = i
                ma[float(i)] = i
            except BaseException as e:   # noqa: BLE001 - any error is the defect
                a_errors.append(e)

    def b() -> None:
        for i in range(n):
            try:
                mb[math.nan] = i
                b_outcomes.append(True)
            except BError:
                b_outcomes.append(False)

    ta, tb = threading.Thread(target=a, name="A"), threading.Thread(target=b, name="B")
    ta.start(), tb.start()
    ta.join(), tb.join()
    assert a_errors == []
    assert len(ma) == 2 * n
    assert b_outcomes == [False] * n
    assert len(mb) == 0
    ma.check(), mb.check()
