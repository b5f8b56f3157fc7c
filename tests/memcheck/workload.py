"""A representative workload for valgrind memcheck (see .ci/run and the README):
make, grow, delete, clear, iterate (abandoned mid-way too), bulk calls, a
scenario, drop, maps.Clone -- over several key/elem kinds and versions of
both map implementations (classic buckets and Swiss tables: small maps,
table growth, splits and directory doubling, tombstones, clear during an
iteration, explicit iterator starts) -- and the Go heap
around the maps: *[N]byte pointees (tiny, small, large), GC cycles (forced,
paced, periodic), sync.Pools (victim cache, a pool freed while it holds
maps), m.drop() with iterators and pools still holding the map, GOGC and
memory-limit changes, FreeOSMemory, gctrace, and the scenario heap ops."""
import numpy as np

import pymap

# classic versions, and Swiss ones (1.24: no pruning, clone rebuilds; 1.27: the default)
def clone(m):
    """maps.Clone(m), checked; None before Go 1.21 (no maps package)."""
    try:
        c = m.clone()
    except AttributeError:
        return None
    c.check()
    return c


MAP_VERSIONS = ("1.19", "1.21", "1.23", "1.24-noswiss", "1.24", "1.27")
HEAP_VERSIONS = ("1.19", "1.22", "1.23", "1.24-noswiss", "1.27")

for go in MAP_VERSIONS:
    rt = pymap.Runtime(go=go, seed=5)
    swiss = rt.map_impl == "swiss"
    for key, elem in [("int64", "int64"), ("string", "string"), ("[130]byte", "[200]byte"), ("float64", "string")]:
        t = pymap.MapType(key, elem)
        m = rt.make_map(t, hint=3)
        for i in range(400):
            k = f"k{i}" if key == "string" else (i.to_bytes(130, "little") if key.startswith("[") else i)
            m[k] = (f"v{i}" if elem == "string" else (bytes(200) if elem.startswith("[") else i))
            if i % 7 == 0:
                m.delete(k)
        if key == "float64":
            m[float("nan")] = "nan"
        c = clone(m)                                       # maps.Clone

        it = m.items()
        next(it)
        m.clear()
        for _ in m.items():
            pass
        for _ in it:                                       # an iterator across a clear
            pass
        if swiss:
            m.tables(), m.directory(), m.small_group()
            for kk, vv in list(c.items())[:5]:            # refill the cleared tables
                m[kk] = vv
            list(m.items(entry_offset=3, dir_offset=1))
        del it, m, c
    m = rt.make_map(pymap.MapType("int64", "int64"))
    m.insert_range(0, 3000)                                # Swiss: splits, directory doubling
    m.lookup_many(np.arange(4000))
    m.delete_many(np.arange(0, 3000, 2))                   # Swiss: tombstones
    m.insert_range(5000, 6500)                             # Swiss: pruning or growth over tombstones
    clone(m)
    if swiss:
        for g in (rt.make_map(pymap.MapType("int64", "string"), hint=h) for h in (8, 897, 1792)):
            g.insert_many(np.arange(900), [str(i) for i in range(900)])
            g.check()
        s = rt.make_map(pymap.MapType("string", "int64"))
        for i in range(8):
            s[str(i)] = i
        s["0"] = -1                                        # an update to a full small map
        it = s.items()
        next(it)
        s["new"] = 1                                       # the small map grows under the iterator
        for _ in it:
            pass
        del it, s, g
    pymap.Scenario([{"op": "make", "key": "string", "elem": "int64"},
                    {"op": "repeat", "count": 50, "body": [{"op": "insert_range", "stop": 100},
                                                           {"op": "iterate"}, {"op": "clear"}]},
                    {"op": "make", "map": 1, "key": "string", "elem": "int64"},
                    {"op": "insert_range", "stop": 500},
                    {"op": "copy", "map": 1, "src": 0},
                    {"op": "drop"}], runtime=rt).run()

# ---- the Go heap ---------------------------------------------------------------
for go in HEAP_VERSIONS:
    rt = pymap.Runtime(go=go, seed=7, gomaxprocs=2)
    pool = rt.new_pool()
    # Pointees: tiny (N < 16, packed into shared 16-byte blocks), small, large (own span).
    for key, elem in [("int64", "*[8]byte"), ("string", "*[3]byte"), ("string", "*[64]byte"),
                      ("int64", "*[1024]byte"), ("int64", "*[40000]byte")]:
        t = pymap.MapType(key, elem)
        m = rt.make_map(t)
        n = 40 if elem == "*[40000]byte" else 300
        m.insert_range(n)                                      # a new([N]byte) per key
        k = (lambda i: f"key-{i}") if key == "string" else (lambda i: i)
        for i in range(0, n, 3):
            m[k(i)] = b"\x01" * (i % 3 + 1)                    # overwrite: the old pointee is garbage
        for i in range(0, n, 5):
            m[k(i)] = None                                     # nil
        for i in range(0, n, 7):
            m.delete(k(i))
        assert m.get(k(3))[:1] == b"\x01" and m.get(k(1))[:1] == b"\x00" and m.get(k(5)) is None and k(5) in m
        m.delete_many([k(i) for i in range(0, n, 11)])
        m.insert_many([k(i) for i in range(n, n + 20)])        # nil pointers in bulk
        it = m.items()
        next(it)
        m.drop()                                               # the iterator keeps it alive
        rt.gc()
        for _ in it:
            pass
        del it
        m2 = rt.make_map(t)
        m2.insert_range(n)
        pool.put(m2, pid=1)                                    # P 1's private slot
        m2.drop()
        m3 = rt.make_map(t)
        m3.insert_range(n // 2)
        m3.clear()
        pool.put(m3, pid=1)                                    # P 1's shared list
        m3.drop()
        got = pool.get(pid=0)                                  # stolen from P 1
        rt.gc()                                                # the rest go to the victim cache
        again = pool.get(pid=1)                                # a victim hit
        got.drop()
        del again
    rt.advance(30)
    rt.gogc = 50
    m = rt.make_map(pymap.MapType("string", "string"))
    m.insert_range(20000)                                      # paced cycles
    rt.advance(300)                                            # periodic cycles
    rt.gogc = None
    rt.memory_limit = 4 << 20
    m2 = rt.make_map(pymap.MapType("int64", "*[16]byte"))
    m2.insert_range(30000)                                     # cycles paced by the memory limit
    rt.memory_limit = None
    rt.gogc = 100
    m.clear()
    m2.drop()
    rt.free_os_memory()
    rt.pacer()
    rt.memstats()
    assert rt.gctrace
    rt.heap_check()
    # A pool dropped while it holds maps (its slots and its victim cache).
    doomed = rt.new_pool()
    for i in range(6):
        pm = rt.make_map(pymap.MapType("int64", "*[32]byte"))
        pm.insert_range(50)
        doomed.put(pm, pid=i % 2)
        pm.drop()
        if i == 3:
            rt.gc()
    del doomed, pm
    # The scenario heap ops.
    res = pymap.Scenario([
        {"op": "make", "key": "string", "elem": "*[24]byte"},
        {"op": "insert_range", "stop": 400},
        {"op": "pool_put"},
        {"op": "gc"},
        {"op": "pool_get", "key": "string", "elem": "*[24]byte"},
        {"op": "pool_get", "map": 1, "pool": 1, "key": "int64", "elem": "*[5]byte", "hint": 9},
        {"op": "insert_range", "map": 1, "stop": 300},
        {"op": "pool_put", "map": 1, "pool": 1},
        {"op": "set_gogc", "gogc": 25},
        {"op": "repeat", "count": 20, "body": [{"op": "make", "map": 2, "key": "int64", "elem": "*[8]byte"},
                                               {"op": "insert_range", "map": 2, "stop": 200},
                                               {"op": "advance", "seconds": 10},
                                               {"op": "pool_put", "map": 2, "pool": 2}]},
        {"op": "set_memory_limit", "limit": 8 << 20},
        {"op": "set_gogc", "gogc": "off"},
        {"op": "pool_get", "map": 2, "pool": 2},
        {"op": "drop", "map": 2},
        {"op": "set_memory_limit", "limit": None},
        {"op": "set_gogc", "gogc": 100},
        {"op": "free_os_memory"},
        {"op": "advance", "seconds": 250},
        {"op": "gc"},
    ], runtime=rt).run()
    assert res.pools and res.steps[-1].memstats.num_gc > 0
    del res
    m.drop()
    rt.gc()
    rt.gc()
    rt.heap_check()
    assert rt.memstats().heap_alloc == rt.baseline.heap_alloc, (go, rt.memstats())
    del pool
pymap.freelist_trim()
print("workload done")
