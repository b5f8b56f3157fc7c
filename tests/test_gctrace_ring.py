"""gctrace is bounded: a ring of the latest lines plus the count of every
line ever produced (#13 item 10).

Before: rt.advance(1e7) repeated grew the gctrace text by ~12 MB a call and
nothing could trim it.  Now the runtime keeps the last ``gctrace_keep``
lines (10,000 by default) and counts them all; the ring's memory does not
grow with the number of cycles.
"""
from __future__ import annotations

import re
import threading

import pytest

import pymap
from pymap import _heap

PAIR = ("1.23", pymap.DEFAULT_GO)
LINE = re.compile(r"^(gc (\d+) @\d+\.\d{3}s \d+%: .* P( \(forced\))?|GC forced)$")


def gc_numbers(lines: list[str]) -> list[int]:
    for line in lines:
        assert LINE.match(line), line
    return [int(g.group(2)) for g in map(LINE.match, lines) if g.group(2)]


def state(rt: pymap.Runtime) -> _heap.GCTraceState:
    return _heap.gctrace_state(rt._ptr)


@pytest.mark.parametrize("go", PAIR)
def test_default_ring_is_bounded_and_counts_every_line(go):
    rt = pymap.Runtime(go=go, seed=1)
    assert rt.gctrace_keep == 10_000 and rt.gctrace == [] and rt.gctrace_total == 0
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(10_000)
    rt.gc()                                    # one line: "... (forced)"
    held = []
    for _ in range(4):
        rt.advance(1e7)                        # 83,333 periodic cycles: "GC forced" + a gc line each
        held.append(state(rt).bytes_held)
        rt.heap_check()                        # the ring's invariants too
    ms = rt.memstats()
    periodic = ms.num_gc - ms.num_forced_gc
    assert ms.num_forced_gc == 1 and periodic > 4 * 83_000
    assert rt.gctrace_total == 1 + 2 * periodic
    lines = rt.gctrace
    assert len(lines) == 10_000
    nums = gc_numbers(lines)
    assert nums == list(range(ms.num_gc - len(nums) + 1, ms.num_gc + 1))   # the latest, in order
    assert lines[-1].startswith(f"gc {ms.num_gc} ") and lines[-2] == "GC forced"
    st = state(rt)
    assert (st.kept, st.keep, st.lines) == (10_000, 10_000, rt.gctrace_total)
    text = sum(len(line) + 1 for line in lines)
    assert st.end - st.start == text
    # The memory: the text (in a ring at most twice its size) and the line index.
    assert st.bytes_held <= 2 * text + 8 * st.keep
    assert held[1:] == held[:-1] == [held[0]] * 3   # does not grow with the cycles
    assert st.bytes_held < 4 << 20


@pytest.mark.parametrize("go", PAIR)
def test_keep_is_configurable(go):
    rt = pymap.Runtime(go=go, seed=1, gctrace_keep=100)
    assert rt.gctrace_keep == 100
    rt.gc()
    rt.advance(1e6)                            # 8,333 cycles
    total = rt.gctrace_total
    assert total == 1 + 2 * (rt.memstats().num_gc - 1)
    lines = rt.gctrace
    assert len(lines) == 100
    rt.gctrace_keep = 10                       # keeps the newest 10
    assert rt.gctrace == lines[-10:] and rt.gctrace_total == total
    assert state(rt).bytes_held <= 4096 + 80
    rt.gctrace_keep = 0                        # only the count
    assert rt.gctrace == []
    rt.gc()
    assert rt.gctrace == [] and rt.gctrace_total == total + 1
    assert state(rt).bytes_held == 0
    rt.gctrace_keep = 3
    assert rt.gctrace == []
    for _ in range(5):
        rt.gc()
    assert len(rt.gctrace) == 3 and rt.gctrace_total == total + 6
    assert gc_numbers(rt.gctrace) == list(range(rt.memstats().num_gc - 2, rt.memstats().num_gc + 1))
    rt.heap_check()


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (10_000_001, ValueError), (2**64, ValueError),
                                     ("10", TypeError), (True, TypeError), (1.5, TypeError)])
def test_bad_keep_changes_nothing(bad, exc):
    with pytest.raises(exc, match="gctrace_keep"):
        pymap.Runtime(seed=1, gctrace_keep=bad)
    rt = pymap.Runtime(seed=1, gctrace_keep=20)
    for _ in range(30):
        rt.gc()
    before = (rt.gctrace, rt.gctrace_total, rt.gctrace_keep)
    with pytest.raises(exc, match="gctrace_keep"):
        rt.gctrace_keep = bad
    assert (rt.gctrace, rt.gctrace_total, rt.gctrace_keep) == before


@pytest.mark.parametrize("go", PAIR)
def test_scenario_steps_keep_what_the_ring_holds(go):
    rt = pymap.Runtime(go=go, seed=1, gctrace_keep=50)
    res = pymap.Scenario([{"op": "gc"}, {"op": "advance", "seconds": 1e5}, {"op": "gc"}], runtime=rt).run()
    first, middle, last = (s.gctrace for s in res.steps)
    assert first == ()                                    # pushed out of the ring
    assert len(middle) == 49 and middle[-1].startswith("gc ")
    assert len(last) == 1 and last[0].endswith("(forced)")
    assert list(middle + last) == rt.gctrace
    assert rt.gctrace_total == 1 + 2 * 833 + 1


def test_readers_see_whole_lines_while_cycles_run():
    rt = pymap.Runtime(seed=1, gctrace_keep=500)
    rt.gc()
    stop = threading.Event()

    def cycles():
        while not stop.is_set():
            rt.advance(1e5)

    th = threading.Thread(target=cycles)
    th.start()
    try:
        seen = 0
        for _ in range(300):
            lines = rt.gctrace
            assert len(lines) <= 500
            gc_numbers(lines)                  # every line whole and well formed
            n = rt.gctrace_total
            assert n >= seen
            seen = n
    finally:
        stop.set()
        th.join()
    rt.heap_check()
