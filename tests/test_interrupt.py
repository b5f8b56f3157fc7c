"""Ctrl-C stops every long C call, and nothing runs unbounded (#13 item 2).

cffi releases the GIL for a whole C call, so Python's own SIGINT handling
cannot run while a C loop does.  Each long call below runs on the main
thread while another thread sends it SIGINT after ~0.3 s: the call must end
in one KeyboardInterrupt within a few seconds, with the map consistent
(check(), the heap checker), the "first k took effect" semantics of the
call's other errors, and the runtime usable afterwards.  Programs with
their own SIGINT handler, or ignoring SIGINT, keep their behaviour (run in
subprocesses, so this process's handlers stay as they are).  And work
larger than a lifetime is a ValueError up front.
"""
from __future__ import annotations

import re
import signal
import subprocess
import tempfile
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import pymap
from pymap import _process

PAIR = ("1.23", pymap.DEFAULT_GO)   # one classic, one Swiss version
DELAY = 0.3                         # seconds before the SIGINT
DEADLINE = 5.0                      # the call must have stopped by then
HUGE = 1 << 47                      # under the 2**48 bound: days of work


@pytest.fixture
def sigint():
    """SIGINT with Python's default handler, wrapped by pymap's, on the main
    thread (where Python raises KeyboardInterrupt)."""
    assert threading.current_thread() is threading.main_thread()
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert _process.install_sigint()
    yield


def interrupt(call, delay: float = DELAY):
    """Run call() on the main thread while a thread sends SIGINT after
    `delay`; returns (the KeyboardInterrupt, seconds from the signal to it)."""
    main = threading.main_thread().ident
    sent = []

    def kick():
        time.sleep(delay)
        sent.append(time.monotonic())
        signal.pthread_kill(main, signal.SIGINT)

    th = threading.Thread(target=kick)
    th.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            try:
                call()
            finally:
                th.join()   # the signal was sent during the call, never after the test
        return info.value, time.monotonic() - sent[0]
    finally:
        th.join()


def usable(rt: pymap.Runtime) -> None:
    """The runtime works after an interrupt."""
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(5000)
    assert len(m) == 5000 and m[4999] == 4999
    m.check()
    rt.gc()
    rt.heap_check()
    assert rt.memstats().num_gc >= 1
    m.drop()


def first_k(e: BaseException) -> int:
    """k of "(at operation k of n: the first k took effect)"."""
    g = re.search(r"at operation (\d+) of (\d+): the first \1 took effect", str(e))
    assert g, e
    return int(g.group(1))


@pytest.mark.parametrize("go", PAIR)
def test_scenario_repeat(go, sigint):
    rt = pymap.Runtime(go=go, seed=1)
    sc = pymap.Scenario([{"op": "repeat", "count": HUGE, "body": []}], runtime=rt)
    e, late = interrupt(sc.run)
    assert late < DEADLINE
    assert "scenario record 0: interrupted (SIGINT)" in str(e)
    assert len(e.result.steps) == 1
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
@pytest.mark.parametrize("op", ["lookup_range", "delete_range"])
def test_scenario_range(go, op, sigint):
    rt = pymap.Runtime(go=go, seed=1)
    sc = pymap.Scenario([{"op": "make", "key": "int64", "elem": "int64"},
                         {"op": "insert_range", "stop": 1000},
                         {"op": op, "start": 10**6, "stop": 10**6 + HUGE}], runtime=rt)
    e, late = interrupt(sc.run)
    assert late < DEADLINE
    assert str(e).startswith("scenario record 2: interrupted")
    res = e.result
    assert [s.op for s in res.steps] == ["make", "insert_range", op]
    assert 0 < res.steps[2].ops < HUGE and res.steps[2].result == 0
    m = res.maps[0]
    assert len(m) == 1000
    m.check()
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_scenario_insert_range(go, sigint):
    # float32 keys: (float32)(i) for i near 2**60 takes one value per 2**37,
    # so the range updates ~1,024 keys again and again: long, and no growth.
    rt = pymap.Runtime(go=go, seed=1)
    start = 1 << 60
    sc = pymap.Scenario([{"op": "make", "key": "float32", "elem": "int64"},
                         {"op": "insert_range", "start": start, "stop": start + HUGE}], runtime=rt)
    e, late = interrupt(sc.run)
    assert late < DEADLINE
    step = e.result.steps[1]
    assert 0 < step.ops == step.result < HUGE
    m = e.result.maps[0]
    assert len(m) <= 1025
    m.check()
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_scenario_repeat_of_advance_and_gc(go, sigint):
    rt = pymap.Runtime(go=go, seed=1)
    sc = pymap.Scenario([{"op": "make", "key": "int64", "elem": "*[8]byte"},
                         {"op": "insert_range", "stop": 20000},
                         {"op": "repeat", "count": 1 << 20,
                          "body": [{"op": "gc"}, {"op": "advance", "seconds": 1e7}, {"op": "iterate"}]}],
                        runtime=rt)
    e, late = interrupt(sc.run)
    assert late < DEADLINE
    assert re.match(r"scenario record [2-5]: interrupted", str(e)), e
    assert e.result.steps[-1].memstats.num_gc > 1
    e.result.maps[0].check()
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_insert_range(go, sigint):
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(pymap.MapType("int32", "int32"))
    e, late = interrupt(lambda: m.insert_range(0, (1 << 31) - 1))
    assert late < DEADLINE
    k = first_k(e)
    assert len(m) == k > 0
    assert m[k - 1] == k - 1 and m.get(k) is None
    m.check()
    rt.heap_check()
    usable(rt)


def nan_runtime(go: str) -> tuple[pymap.Runtime, pymap.GoMap]:
    """A rand= runtime and a float64-keyed map: every NaN key is one
    "nanhash" draw through Python (~1 us), so bulk calls over NaN keys are
    long without a big map."""
    state = [1]

    def rand(purpose: str) -> int:
        state[0] = state[0] * 6364136223846793005 + 1442695040888963407 & (1 << 64) - 1
        return state[0]

    rt = pymap.Runtime(go=go, rand=rand)
    m = rt.make_map(pymap.MapType("float64", "int64"))
    m.insert_many(np.arange(100, dtype=np.float64), np.arange(100))
    return rt, m


@pytest.mark.parametrize("go", PAIR)
@pytest.mark.parametrize("call", ["lookup_many", "delete_many"])
def test_bulk_arrays(go, call, sigint):
    rt, m = nan_runtime(go)
    keys = np.full(1 << 22, np.nan)    # ~4 s of draws
    e, late = interrupt(lambda: getattr(m, call)(keys))
    assert late < DEADLINE
    if call == "delete_many":
        assert first_k(e) > 0
    assert len(m) == 100
    m.check()
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_insert_many(go, sigint):
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(pymap.MapType("int32", "int32"))
    keys = np.arange(1 << 24, dtype=np.int32)
    e, late = interrupt(lambda: m.insert_many(keys, keys))
    assert late < DEADLINE
    k = first_k(e)
    assert len(m) == k > 0 and m[k - 1] == k - 1 and m.get(k) is None
    m.check()
    rt.heap_check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_advance_with_live_pointees(go, sigint):
    # The case: rt.advance(1e7) with 1M live pointees took 39 s.
    # Every periodic cycle sweeps every span: 100,000 *[256]byte pointees
    # (3,000 spans, 35 MB) make the call ~15 s long.
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(pymap.MapType("int64", "*[256]byte"))
    m.insert_range(100_000)
    rt.gc()
    before = rt.pacer().clock_ns
    e, late = interrupt(lambda: rt.advance(1e7))
    assert late < DEADLINE
    assert "interrupted (SIGINT)" in str(e)
    clock = rt.pacer().clock_ns
    assert before < clock < before + 10**16   # stopped between two cycles, well short of 1e7 s
    assert rt.memstats().last_gc_ns <= clock
    m.check()
    rt.heap_check()
    rt.advance(1000)      # time still passes
    assert rt.pacer().clock_ns > clock
    usable(rt)


class Draws:
    """A rand callback whose behaviour a test switches: "plain" draws, or
    send this thread SIGINT and then "fail" (raise) or "return"."""

    def __init__(self) -> None:
        self.mode = "plain"
        self.main = threading.main_thread().ident

    def __call__(self, purpose: str) -> int:
        if self.mode != "plain":
            signal.pthread_kill(self.main, signal.SIGINT)   # comes while the call runs: held
            if self.mode == "fail":
                raise LookupError("the callback fails")
        return 0x9E3779B97F4A7C15


@pytest.mark.parametrize("go", PAIR)
def test_sigint_held_with_another_error(go, sigint):
    """A SIGINT during a call that then fails for another reason: one
    KeyboardInterrupt, the call's own error as its context."""
    draws = Draws()
    rt = pymap.Runtime(go=go, rand=draws)
    m = rt.make_map(pymap.MapType("float64", "int64"))
    m[1.0] = 1
    draws.mode = "fail"
    with pytest.raises(KeyboardInterrupt) as info:
        m.lookup_many(np.array([np.nan, 2.0]))
    assert isinstance(info.value.__context__, LookupError)
    draws.mode = "plain"
    for _ in range(10**6):   # no second KeyboardInterrupt
        pass
    assert len(m) == 1
    m.check()
    usable(rt)


@pytest.mark.parametrize("go", PAIR)
def test_sigint_as_the_call_completes(go, sigint):
    """A SIGINT after a call's last poll: the call did all its work, and the
    KeyboardInterrupt says so."""
    draws = Draws()
    rt = pymap.Runtime(go=go, rand=draws)
    m = rt.make_map(pymap.MapType("float64", "int64"))
    m[1.0] = 1
    draws.mode = "return"
    with pytest.raises(KeyboardInterrupt, match="as the call completed: all of its work took effect"):
        m.delete_many(np.array([2.0, np.nan]))
    draws.mode = "plain"
    for _ in range(10**6):
        pass
    assert len(m) == 1
    m.check()
    usable(rt)


def test_outside_long_calls_sigint_is_pythons(sigint):
    """Between C calls the wrapper chains at once: Python's KeyboardInterrupt,
    once."""
    main = threading.main_thread().ident
    with pytest.raises(KeyboardInterrupt):
        signal.pthread_kill(main, signal.SIGINT)
        for _ in range(10**6):
            pass
    for _ in range(10**6):   # no second one
        pass


def test_other_threads_calls_run_on(sigint):
    """Python raises KeyboardInterrupt in the main thread only: a worker's
    long call is never cut short."""
    rt = pymap.Runtime(seed=1)
    sc = pymap.Scenario([{"op": "repeat", "count": 1 << 29, "body": []}], runtime=rt)
    out = []
    worker = threading.Thread(target=lambda: out.append(sc.run()))
    worker.start()
    got = False
    try:
        time.sleep(DELAY)
        assert worker.is_alive()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        while worker.is_alive():
            time.sleep(0.01)
    except KeyboardInterrupt:
        got = True
    worker.join()
    assert got and len(out) == 1 and len(out[0].steps) == 1


CHILD = textwrap.dedent("""
    import os, signal, sys, threading, time
    setup = sys.argv[1]
    got = []
    if setup == "handler-before":
        signal.signal(signal.SIGINT, lambda s, f: got.append(s))
    import pymap
    from pymap import _process
    if setup == "handler-after":
        signal.signal(signal.SIGINT, lambda s, f: got.append(s))
    elif setup == "ignore":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    rt = pymap.Runtime(seed=1)
    sc = pymap.Scenario([{"op": "repeat", "count": 1 << 28, "body": []}], runtime=rt)
    main = threading.main_thread().ident
    kick = threading.Thread(target=lambda: (time.sleep(0.2), signal.pthread_kill(main, signal.SIGINT)))
    kick.start()
    t = time.monotonic()
    res = sc.run()
    took = time.monotonic() - t
    kick.join()
    for _ in range(10**5):
        pass
    print(setup, _process.SIGINT_INSTALLED, len(res.steps), len(got), took > 0.2)
""")


@pytest.mark.parametrize("setup,installed,handled", [
    ("handler-before", False, 1), ("handler-after", True, 1), ("ignore", True, 0)])
def test_programs_with_their_own_sigint(setup, installed, handled):
    """A program's own SIGINT handler (set before or after importing pymap)
    or SIG_IGN keeps its behaviour: the C call runs to its end and the
    program's handler runs once after it (or never, when ignored)."""
    # cwd outside the checkout: a non-editable install (the sanitizer venv)
    # must import the installed pymap, not the source tree beside the tests.
    out = subprocess.run([sys.executable, "-c", CHILD, setup], capture_output=True, text=True,
                         timeout=120, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [setup, str(installed), "1", str(handled), "True"], out.stdout


# ---- bounds: work no call could finish ----------------------------------------

@pytest.mark.parametrize("go", PAIR)
def test_range_bound(go):
    rt = pymap.Runtime(go=go, seed=1)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(10)
    before = (len(m), rt.memstats(), rt.gctrace_total)
    for args in [(1 << 62,), (-(1 << 62), 1 << 62, 1 << 13), ((1 << 48) + 1,)]:
        with pytest.raises(ValueError, match="more work than one call may do"):
            m.insert_range(*args)
    assert (len(m), rt.memstats(), rt.gctrace_total) == before
    m.insert_range(0, 1 << 48, 1 << 40)   # 256 items of a wide range: fine
    assert len(m) == 256 + 10 - 1
    m.check()


@pytest.mark.parametrize("ops", [
    [{"op": "repeat", "count": 1 << 62, "body": []}],
    [{"op": "repeat", "count": (1 << 48) + 1, "body": []}],
    [{"op": "repeat", "count": 1 << 30, "body": [{"op": "repeat", "count": 1 << 30, "body": [{"op": "gc"}]}]}],
    [{"op": "make", "key": "int64", "elem": "int64"}, {"op": "lookup_range", "stop": 1 << 62}],
    [{"op": "make", "key": "int64", "elem": "int64"},
     {"op": "repeat", "count": 1 << 20, "body": [{"op": "insert_range", "stop": 1 << 29}]}],
    [{"op": "repeat", "count": 1 << 32, "body": [{"op": "advance", "seconds": 1e7}]}],   # 83,334 cycles each
])
def test_scenario_bound(ops):
    with pytest.raises(ValueError, match="more than one run may do"):
        pymap.Scenario(ops)


def test_scenario_bound_counts_through_repeats():
    # 2**24 x (1 iteration + 2**24 - 1 inserts) = 2**48 exactly: allowed (not run)
    pymap.Scenario([{"op": "repeat", "count": 1 << 24, "body": [{"op": "insert_range", "stop": (1 << 24) - 1}]}])
    with pytest.raises(ValueError, match="more than one run may do"):
        pymap.Scenario([{"op": "repeat", "count": 1 << 24, "body": [{"op": "insert_range", "stop": 1 << 24}]}])
    # a repeat that runs nothing costs nothing inside
    pymap.Scenario([{"op": "repeat", "count": 0,
                     "body": [{"op": "repeat", "count": 1 << 47, "body": [{"op": "repeat", "count": 1 << 47, "body": []}]}]}])
    # a count over the bound is refused wherever it is
    with pytest.raises(ValueError, match="repeat count"):
        pymap.Scenario([{"op": "repeat", "count": 0, "body": [{"op": "repeat", "count": 1 << 62, "body": []}]}])
