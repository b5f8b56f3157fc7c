"""Threads: cffi releases the GIL inside every C call, so several Python
threads really are inside one map at once.  The per-map try-locks must turn
every such overlap into one of Go's three errors (ConcurrentMapError
subclasses) before anything changes, and nothing may crash or corrupt.

The Go heap is shared by every map of a Runtime: while threads hammer maps
(shared ones, private ones, *[N]byte-elem ones whose pointees come and go),
other operations run GC cycles, read MemStats and gctrace, move the virtual
clock, change GOGC and the memory limit, pass maps through sync.Pools and
drop handles.  The heap's own checker holds throughout, and once every map
is dropped two GC cycles bring HeapAlloc back to the runtime's baseline.

PYMAP_STRESS_SECONDS raises the duration (default 3 s of 8 threads).
Each test runs on a classic version and on the default Swiss version.
"""
from __future__ import annotations

import gc
import os
import random
import re
import threading
import time

import numpy as np
import pytest

import pymap

THREADS = 8
SECONDS = float(os.environ.get("PYMAP_STRESS_SECONDS", "3"))
TYPES = [("int64", "int64"), ("string", "string"), ("[130]byte", "[200]byte"), ("float64", "string"),
         ("string", "*[64]byte"), ("int64", "*[8]byte")]
PAIR = ("1.23", pymap.DEFAULT_GO)   # one classic, one Swiss version
TRACE_LINE = re.compile(r"^(gc (\d+) @\d+\.\d{3}s \d+%: .* P( \(forced\))?|GC forced)$")


def pointee_size(t: pymap.MapType) -> int:
    """N for a *[N]byte elem, else 0."""
    g = re.fullmatch(r"\*\[(\d+)\]byte", t.elem)
    return int(g.group(1)) if g else 0


def key_of(t: pymap.MapType, i: int):
    if t.key == "string":
        return f"k{i}"
    if t.key.startswith("["):
        return i.to_bytes(130, "little")
    if t.key == "float64":
        return float(i) if i % 17 else float("nan")
    return i


def elem_of(t: pymap.MapType, i: int):
    n = pointee_size(t)
    if n:   # a fresh new([N]byte) holding a prefix, or nil
        return None if i % 11 == 0 else bytes([i % 256]) * min(n, 1 + i % 70)
    if t.elem == "string":
        return "v" * (i % 40)
    if t.elem.startswith("["):
        return bytes([i % 256]) * 200
    return i


def check_value(t: pymap.MapType, v) -> None:
    """What a lookup returned has the elem type's shape (pointees: nil or N bytes)."""
    n = pointee_size(t)
    if n and v is not None:
        assert isinstance(v, bytes) and len(v) == n, (t, v)


def one_op(rng: random.Random, m: pymap.GoMap) -> None:
    t = m.type
    i = rng.randrange(300)
    op = rng.randrange(16)
    ptr = pointee_size(t) > 0
    if op <= 4:
        m[key_of(t, i)] = elem_of(t, i)
    elif op <= 6:
        m.delete(key_of(t, i))
    elif op <= 8:
        check_value(t, m.get(key_of(t, i)))
    elif op == 9:
        it = m.items()
        for _ in range(rng.randrange(20)):
            kv = next(it, None)
            if kv is None:
                break
            check_value(t, kv[1])
            if rng.random() < 0.2:
                m[key_of(t, rng.randrange(300))] = elem_of(t, i)   # same-thread write: legal
    elif op == 10 and rng.random() < 0.2:
        m.clear()
    elif op == 11:
        keys = [key_of(t, rng.randrange(300)) for _ in range(20)]
        if t.key == "int64":
            keys = np.array(keys, dtype=np.int64)
        choice = rng.randrange(3)
        if choice == 0:
            m.insert_many(keys)          # *[N]byte: nil pointers
        elif choice == 1 and not ptr:
            m.lookup_many(keys)
        else:
            m.delete_many(keys)
    elif op == 12:
        len(m), header(m), m.memory()
    elif op == 13 and rng.random() < 0.1:
        layout(m)
    elif op == 14 and (t.key == "int64" or (t.key == "string" and t.elem in ("string", "int64") or ptr)):
        m.insert_range(i, i + 50)        # *[N]byte: a new pointee per key
    else:
        m.check()


def header(m: pymap.GoMap) -> tuple:
    """Header fields of either implementation."""
    if m.impl == "swiss":
        return (m.used, m.seed, m.dir_len, m.global_depth)
    return (m.count, m.hash0, m.B)


def layout(m: pymap.GoMap) -> list:
    """The slots of either implementation (buckets, or the small group and tables)."""
    if m.impl == "swiss":
        return [m.small_group()] + m.tables()
    return m.buckets()


def heap_op(rng: random.Random, rt: pymap.Runtime, shared: list) -> int:
    """One runtime-wide heap operation; every reading is checked on the spot.
    Returns the conflicts met (a scenario run on a map other threads use)."""
    op = rng.randrange(13)
    if op == 0 and rng.random() < 0.3:
        rt.gc()
    elif op == 1 and rng.random() < 0.05:
        rt.free_os_memory()
    elif op <= 3:
        ms = rt.memstats()
        assert ms.heap_objects == ms.mallocs - ms.frees, ms
        assert ms.heap_inuse >= ms.heap_alloc >= rt.baseline.heap_alloc, ms
        assert ms.heap_idle == ms.heap_sys - ms.heap_inuse and ms.heap_released <= ms.heap_idle, ms
        assert ms.num_forced_gc <= ms.num_gc, ms
    elif op == 4:
        lines = rt.gctrace
        for line in lines[-5:]:
            assert TRACE_LINE.match(line), line
    elif op == 5:
        rt.advance(rng.random() * 20)    # virtual seconds: the 2-minute periodic GC fires now and then
    elif op == 6:
        rt.gogc = rng.choice([None, 10, 50, 100, 100, 400])
    elif op == 7 and rng.random() < 0.2:
        rt.memory_limit = rng.choice([None, None, 1 << 20, 64 << 20])
    elif op == 8:
        rt.pacer()
    elif op == 9 and rng.random() < 0.2:
        steps = pymap.Scenario([
            {"op": "make", "key": "string", "elem": "*[24]byte"},
            {"op": "insert_range", "stop": rng.randrange(1, 200)},
            {"op": "pool_put"},
            {"op": "gc"},
            {"op": "pool_get", "key": "int64", "elem": "*[4]byte"},
            {"op": "insert_range", "stop": 30},
            {"op": "advance", "seconds": 0.5},
            {"op": "drop"},
        ], runtime=rt).run().steps
        assert steps[2].live is False and steps[-1].live is False
    elif op == 10 and rng.random() < 0.2:   # a scenario on a shared map: its ops conflict like any others
        m = rng.choice(shared)
        # (other threads' GC cycles may empty the pool first: then New makes a map)
        ops = [{"op": "iterate"}, {"op": "pool_put"}, {"op": "gc"}, {"op": "pool_get", "type": m.type},
               {"op": "advance", "seconds": 1}]
        if m.type.key in ("int64", "string") and m.type.elem in ("int64", "string", "*[8]byte", "*[64]byte"):
            ops += [{"op": "insert_range", "start": 300, "stop": 350}, {"op": "delete_range", "start": 300, "stop": 350}]
        try:
            res = pymap.Scenario(ops, runtime=rt).run(maps={0: m})
        except pymap.ConcurrentMapError:
            return 1
        assert res.maps[0].type == m.type
    else:
        rt.heap_check()
    return 0


@pytest.mark.parametrize("go", PAIR)
def test_threads_hammering_shared_and_private_maps(go):
    rt = pymap.Runtime(go=go, seed=11)
    shared = [rt.make_map(pymap.MapType(k, e)) for k, e in TYPES]
    # Maps only ever handed over whole (put, then the handle dropped): whoever
    # gets one owns it, so no use of them may conflict.
    owned_pool = rt.new_pool()
    # The shared maps themselves are put here (their handles kept): a Get is
    # one more handle on a map other threads are using.
    shared_pool = rt.new_pool()
    errors: list[BaseException] = []
    conflicts = {"shared": 0, "private": 0}
    counts = {"ops": 0, "heap": 0, "pool": 0, "drops": 0, "after_drop": 0}
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        private = [rt.make_map(pymap.MapType(k, e)) for k, e in TYPES]
        n = {k: 0 for k in counts}
        try:
            while time.monotonic() < stop:
                n["ops"] += 1
                r = rng.random()
                if r < 0.07:
                    n["heap"] += 1
                    c = heap_op(rng, rt, shared)
                    if c:
                        with lock:
                            conflicts["shared"] += c
                    continue
                if r < 0.10:             # m = nil on a private map, a fresh one in its place
                    n["drops"] += 1
                    j = rng.randrange(len(private))
                    m = private[j]
                    t = m.type
                    it = iter(m.items()) if rng.random() < 0.3 else None
                    m.drop()
                    private[j] = rt.make_map(t)
                    with pytest.raises(pymap.MapDroppedError):
                        one_op(rng, m)
                    n["after_drop"] += 1
                    if it is not None:   # the range loop keeps the dropped map alive
                        for kv in it:
                            check_value(t, kv[1])
                    continue
                if r < 0.16:             # sync.Pool traffic
                    n["pool"] += 1
                    if rng.random() < 0.75:
                        j = rng.randrange(len(private))
                        t = private[j].type
                        owned_pool.put(private[j])
                        private[j].drop()
                        got = owned_pool.get()
                        if got is None:
                            got = rt.make_map(t)
                        try:
                            one_op(rng, got)
                        except pymap.ConcurrentMapError:
                            with lock:
                                conflicts["private"] += 1
                        # keep it in the slot if it has the slot's type, else hand it back
                        if got.type == t:
                            private[j] = got
                        else:
                            owned_pool.put(got)
                            got.drop()
                            private[j] = rt.make_map(t)
                    else:
                        shared_pool.put(rng.choice(shared))
                        got = shared_pool.get()
                        if got is not None:
                            try:
                                one_op(rng, got)
                            except pymap.ConcurrentMapError:
                                with lock:
                                    conflicts["shared"] += 1
                            got.drop()   # this handle only: the other threads go on
                    continue
                which = "shared" if r < 0.75 else "private"
                m = rng.choice(shared if which == "shared" else private)
                try:
                    one_op(rng, m)
                except pymap.ConcurrentMapError:
                    with lock:
                        conflicts[which] += 1
            for m in private:
                m.check()
                m.drop()
        except BaseException as e:  # anything else is a failure
            errors.append(e)
        with lock:
            for k in counts:
                counts[k] += n[k]

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:3]
    assert conflicts["private"] == 0
    for m in shared:
        m.check()
    rt.heap_check()
    lines = rt.gctrace
    numbered = [int(g.group(2)) for g in map(TRACE_LINE.match, lines) if g and g.group(2)]
    assert numbered == list(range(1, rt.memstats().num_gc + 1))
    assert counts["ops"] > 1000

    # Every map dropped (pools and the Python handles too): two cycles empty
    # the pools' victim caches and sweep everything.
    rt.gogc, rt.memory_limit = 100, None
    for m in shared:
        m.drop()
    shared.clear()
    del m
    gc.collect()
    rt.gc()
    rt.gc()
    ms = rt.memstats()
    assert owned_pool.stats.held == owned_pool.stats.held_victim == 0
    assert shared_pool.stats.held == shared_pool.stats.held_victim == 0
    assert ms.heap_alloc == rt.baseline.heap_alloc, (ms.heap_alloc - rt.baseline.heap_alloc, ms)
    assert ms.heap_objects == rt.baseline.heap_objects, ms
    assert rt.pacer().dead_bytes == 0
    rt.heap_check()
    print(f"\n{THREADS} threads x {SECONDS:g} s: {counts['ops']} operations ({counts['heap']} heap, "
          f"{counts['pool']} pool, {counts['drops']} drops), {ms.num_gc} GC cycles, "
          f"{conflicts['shared']} conflicts reported as ConcurrentMapError")


@pytest.mark.parametrize("go", PAIR)
def test_one_iterator_used_from_two_threads(go):
    m = pymap.GoMap(pymap.MapType("string", "string"), runtime=pymap.Runtime(go=go, seed=3))
    for i in range(2000):
        m[f"k{i}"] = "v" * (i % 50)
    it = m.items()
    seen: list = []
    errors: list = []

    def drain() -> None:
        try:
            while True:
                try:
                    seen.append(next(it))
                except pymap.ConcurrentMapError:
                    continue
        except StopIteration:
            pass
        except BaseException as e:
            errors.append(e)

    ts = [threading.Thread(target=drain) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert set(seen) == set(m.items())   # (the first entry may come out twice: Python-level race)


@pytest.mark.parametrize("go", PAIR)
def test_rand_callback_may_inspect_but_not_write_the_map(go):
    """A rand callback runs inside the operation, on the thread holding the
    write lock: reading the header is allowed (the conformance replay needs
    it), writing is a concurrent write."""
    seen = []
    holder: dict = {}

    def rand(purpose: str) -> int:
        m = holder.get("m")
        if m is not None and purpose == "nanhash":
            seen.append((header(m), len(m), m.memory().total))
            if holder.get("write"):
                m[1.0] = 1
        return 12345

    rt = pymap.Runtime(go=go, rand=rand)
    m = rt.make_map(pymap.MapType("float64", "int64"))
    holder["m"] = m
    m[float("nan")] = 1
    assert seen and seen[-1][1] == 0 and len(m) == 1
    holder["write"] = True
    before = repr((header(m), layout(m)))
    with pytest.raises(pymap.ConcurrentMapWrite):
        m[float("nan")] = 2
    assert repr((header(m), layout(m))) == before and len(m) == 1


@pytest.mark.parametrize("go", PAIR)
def test_drop_while_other_threads_use_the_same_handle(go):
    """m = nil in one goroutine while others still use the same variable: each
    use either works, or raises MapDroppedError (or a ConcurrentMapError).
    (Releasing the map releases the GIL: a drop() that let the reference go
    before switching the class let other threads pass None to cffi.)"""
    rt = pymap.Runtime(go=go, seed=2)
    unexpected: list[BaseException] = []
    for _ in range(40):
        m = rt.make_map(pymap.MapType("int64", "*[64]byte"))
        m.insert_range(5000)            # releasing a big map takes a while
        start = threading.Event()

        def use() -> None:
            start.wait()
            for i in range(2000):
                try:
                    m.get(i)
                except pymap.MapDroppedError:
                    return
                except pymap.ConcurrentMapError:
                    pass
                except BaseException as e:
                    unexpected.append(e)
                    return

        ts = [threading.Thread(target=use) for _ in range(3)]
        for th in ts:
            th.start()
        start.set()
        m.drop()
        for th in ts:
            th.join()
    del m
    rt.gc()
    rt.gc()
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc
    assert not unexpected, unexpected[:3]


@pytest.mark.parametrize("go", PAIR)
def test_iterators_opened_while_another_thread_clears(go):
    """MapIterator() is two C calls (mapiterinit, then the read of the first
    entry); another thread's clear or delete may land between them.  With
    indirect keys and elems (boxes the write frees) the first entry must still
    be read safely: a key with its own elem, or a ConcurrentMapError."""
    t = pymap.MapType("[130]byte", "[200]byte")
    m = pymap.Runtime(go=go, seed=5).make_map(t)
    stop = time.monotonic() + min(SECONDS, 1.0)
    errors: list[BaseException] = []

    def writer() -> None:
        rng = random.Random(1)
        try:
            while time.monotonic() < stop and not errors:
                try:
                    for i in range(rng.randrange(1, 20)):
                        m[key_of(t, i)] = elem_of(t, i)
                    if rng.random() < 0.5:
                        m.clear()
                    else:
                        m.delete_many([key_of(t, i) for i in range(20)])
                    pymap.freelist_trim()   # freed boxes really go (ASan sees a use after free)
                except pymap.ConcurrentMapError:
                    pass
        except BaseException as e:
            errors.append(e)

    def reader() -> None:
        try:
            while time.monotonic() < stop and not errors:
                try:
                    for k, v in m.items():
                        assert v == elem_of(t, int.from_bytes(k, "little")), (k[:8], v[:8])
                        break
                except pymap.ConcurrentMapError:
                    pass
        except BaseException as e:
            errors.append(e)

    ts = [threading.Thread(target=writer), threading.Thread(target=reader), threading.Thread(target=reader)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    assert not errors, errors[:3]
    m.check()
