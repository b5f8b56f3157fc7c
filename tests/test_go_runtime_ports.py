"""Go's runtime map tests, ported as behaviour and applied where valid per version.

Sources: src/runtime/map_test.go (1.21-1.23), map_test.go and map_noswiss_test.go
(1.24), test/fixedbugs/issue59411.go and issue70189.go, and the facts of
go-classic-map.md / go-heap-gc-pool.md (growth points, memory vectors,
mapclear, mapdelete).  Each test names the Go test it ports.

Tests of classic internals (buckets, B, tophash, evacuation, overflow
buckets) run over the classic versions (CLASSIC: 1.19-1.23 and the
"-noswiss" builds); tests of behaviour (values, NaN and -0 keys, iteration
guarantees, clear) run over every version, Swiss tables included, and a
few check the Swiss analogue of a classic fact (slot contents after a
delete, the fallback hash through the control bytes).  What differs per
version comes from pymap.version_facts, never from version names.
"""

from __future__ import annotations

import math
import random

import pytest

import pymap

VERSIONS = tuple(pymap.GO_VERSIONS)
FACTS = {v: pymap.version_facts(v) for v in VERSIONS}
CLASSIC = tuple(v for v in VERSIONS if FACTS[v].map_impl == "classic")
LF65 = tuple(v for v in CLASSIC if FACTS[v].classic_load_factor == 6.5)  # load factor 6.5
LF60 = tuple(v for v in CLASSIC if FACTS[v].classic_load_factor == 6.0)  # golang/go#63438
CLEAR_BUILTIN = tuple(v for v in VERSIONS if FACTS[v].clear_builtin)  # clear(m) exists
CLASSIC_CLEAR_BUILTIN = tuple(v for v in CLASSIC if FACTS[v].clear_builtin)
HEADERS = tuple(v for v in VERSIONS if FACTS[v].alloc_headers)  # allocation headers
NAN = float("nan")

INT = pymap.MapType("int", "int")


@pytest.fixture(params=VERSIONS)
def go(request):
    return request.param


def rt(go, seed=20240501, **kw):
    return pymap.Runtime(go=go, seed=seed, **kw)


def hmap_size(go):
    """Bytes charged for the hmap: its size (56 with clearSeq) at its size class."""
    return class_of(FACTS[go].classic_hmap_size)


def reseed_purpose(go):
    """The rand purpose of the draw that reseeds a map (hash0 classic, seed Swiss)."""
    return "seed" if FACTS[go].map_impl == "swiss" else "hash0"


def max_count(go, B):
    """The largest count a map of 2**B buckets holds without growing."""
    if B == 0:
        return 8
    return int(FACTS[go].classic_load_factor * 2) * (1 << B) // 2


def finish_growth(m, spare_key):
    """Finish a grow by deleting a key not in the map (growWork still runs)."""
    while m.growing:
        assert m.delete(spare_key) is False


# ---------------------------------------------------------------------------
# Size classes and bucket arrays (go-heap-gc-pool.md §1-§3, go-classic-map.md §4.4)

CLASS_SIZES = (
    8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
    352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
    2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
    9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264,
    28672, 32768,
)


def class_of(size):
    for c in CLASS_SIZES:
        if c >= size:
            return c
    raise AssertionError(size)


def pages(size):
    return -(-size // 8192) * 8192


def roundupsize(size, pointerful, go):
    """Usable bytes of the allocation a request of `size` gets."""
    if go in HEADERS:
        if size <= 32760:
            req = size + 8 if pointerful and size > 512 else size
            return class_of(req) - (req - size)
        return pages(size)
    return class_of(size) if size < 32768 else pages(size)


def charged(size, pointerful, go):
    """Bytes charged (slot size) for one allocation of `size` bytes."""
    if size == 0:
        return 0
    if go in HEADERS:
        if size <= 32760:
            return class_of(size + 8 if pointerful and size > 512 else size)
        return pages(size)
    return class_of(size) if size <= 32768 else pages(size)


def bucket_array(t, B, go):
    """(number of buckets, bytes charged) of makeBucketArray(t, B)."""
    bs = t.bucket_size
    nb = 1 << B
    if B >= 4:
        nb += 1 << (B - 4)
        up = roundupsize(bs * nb, t.has_pointers, go)
        if up != bs * nb:
            nb = up // bs
    return nb, charged(bs * nb, t.has_pointers, go)


def make_bytes(t, B, go):
    """hmap + bucket array + mapextra charged by make(map, hint) giving B (B >= 1)."""
    nb, arr = bucket_array(t, B, go)
    return hmap_size(go) + arr + (24 if nb > (1 << B) else 0)


def test_size_class_helpers_match_spec_examples():
    # go-heap-gc-pool.md §2.4 (E2) and §2.2
    assert [charged(s, False, "1.19") for s in (17, 25, 513, 1025, 32768, 32769, 40000)] == \
        [24, 32, 576, 1152, 32768, 40960, 40960]
    assert charged(1016, True, "1.22") == 1024 and charged(1017, True, "1.22") == 1152
    assert bucket_array(pymap.MapType("int64", "int64"), 4, "1.19") == (18, 2688)


# ---------------------------------------------------------------------------
# TestHmapSize


def test_hmap_size(go):
    m = rt(go).make_map(INT)
    if m.impl == "classic":
        assert m.memory().hmap == hmap_size(go)
        assert m.memory().total == hmap_size(go)
    else:  # the 48-byte Map header; the small group comes with the first insert
        assert m.memory().map == 48
        assert m.memory().total == 48


# ---------------------------------------------------------------------------
# TestMapBuckets

BUCKETS_119 = [(-(1 << 30), 1), (-1, 1), (0, 1), (1, 1), (8, 1), (9, 2), (13, 2), (14, 4), (26, 4)]
BUCKETS_121 = [(-(1 << 30), 1), (-1, 1), (0, 1), (1, 1), (8, 1), (9, 2), (12, 2), (14, 4),
               (24, 4), (27, 8), (48, 8), (53, 16)]


def _buckets_after(go, n, way):
    m = rt(go).make_map(INT, hint=n if way in ("makemap", "makemap64") else 0)
    if way in ("makemap", "makemap64") and n > 8:
        assert m.buckets(), "an escaping map with more than one bucket has a bucket array"
    for i in range(n):
        m[i] = i
    return 1 << m.B


@pytest.mark.parametrize("way", ["mapliteral", "nohint", "makemap", "makemap64"])
@pytest.mark.parametrize("go", LF65)
def test_map_buckets_119_table(go, way):
    for n, want in BUCKETS_119:
        assert _buckets_after(go, n, way) == want, (n, way)


@pytest.mark.parametrize("way", ["mapliteral", "nohint", "makemap", "makemap64"])
@pytest.mark.parametrize("go", CLASSIC_CLEAR_BUILTIN)
def test_map_buckets_121_table(go, way):
    for n, want in BUCKETS_121:
        assert _buckets_after(go, n, way) == want, (n, way)


@pytest.mark.parametrize("way", ["nohint", "makemap"])
@pytest.mark.parametrize("go", LF60)
def test_map_buckets_121_load_factor_6(go, way):
    """golang/go#63438: 1.21 grows at 6.0, so the 1.19 table fails there."""
    assert _buckets_after(go, 13, way) == 4
    assert _buckets_after(go, 26, way) == 8
    assert _buckets_after(go, 52, way) == 16


# ---------------------------------------------------------------------------
# TestLoadFactor and hint -> B


@pytest.mark.parametrize("go", CLASSIC)
def test_load_factor_via_hints(go):
    """overLoadFactor(c, B) false and overLoadFactor(c+1, B) true for B = 0..19,
    observed through makemap: hint c gives B, hint c+1 gives B+1."""
    t = pymap.MapType("struct{}", "struct{}")  # 16-byte buckets keep B = 20 cheap
    r = rt(go)
    for B in range(20):
        c = max_count(go, B)
        assert r.make_map(t, hint=c).B == B, (B, c)
        assert r.make_map(t, hint=c + 1).B == B + 1, (B, c + 1)


@pytest.mark.parametrize("go", CLASSIC)
def test_load_factor_via_inserts(go):
    """The same thresholds through growth: a map made with hint c stays at B
    for c inserts and doubles on insert c+1 (B = 0..11)."""
    r = rt(go)
    for B in range(12):
        c = max_count(go, B)
        m = r.make_map(INT, hint=c)
        assert m.B == B
        for i in range(c):
            m[i] = i
        assert m.B == B and not m.growing
        m[c] = c
        assert m.B == B + 1, (B, c)


@pytest.mark.parametrize("go", CLASSIC)
def test_hint_ranges(go):
    r = rt(go)
    if FACTS[go].classic_load_factor == 6.0:
        table = [(8, 0), (9, 1), (12, 1), (13, 2), (24, 2), (25, 3), (48, 3), (49, 4), (96, 4), (97, 5), (192, 5)]
    else:
        table = [(8, 0), (9, 1), (13, 1), (14, 2), (26, 2), (27, 3), (52, 3), (53, 4), (104, 4), (105, 5), (208, 5)]
    for hint, B in table:
        assert r.make_map(INT, hint=hint).B == B, hint


# ---------------------------------------------------------------------------
# Growth points (go-classic-map.md §5.7, E7)

GROWTH_65 = [9, 14, 27, 53, 105, 209, 417, 833, 1665, 3329]
GROWTH_121 = [9, 13, 25, 49, 97, 193, 385, 769, 1537, 3073]


@pytest.mark.parametrize("key", ["int64", "string", "[3]byte"])
@pytest.mark.parametrize("go", CLASSIC)
def test_growth_points(go, key):
    t = pymap.MapType(key, "int64")
    m = rt(go).make_map(t)
    want = GROWTH_121 if FACTS[go].classic_load_factor == 6.0 else GROWTH_65
    points = []
    B = m.B
    for n in range(1, want[-1] + 1):
        if key == "int64":
            k = n * 7919
        elif key == "string":
            k = f"key-{n}"
        else:
            k = n.to_bytes(3, "little")
        m[k] = n
        if m.B != B:
            assert m.B == B + 1
            points.append(n)
            B = m.B
            if n == 9:
                assert not m.growing, "the B 0 -> 1 grow finishes at once"
    assert points == want


# ---------------------------------------------------------------------------
# TestNegativeZero, TestMapAssignmentNan, TestMapOperatorAssignmentNan


def test_negative_zero(go):
    r = rt(go)
    m = r.make_map(pymap.MapType("float64", "bool"))
    m[0.0] = True
    m[-0.0] = True  # overwrites the +0 entry, and its key (needkeyupdate)
    assert len(m) == 1
    assert [math.copysign(1, k) for k in m] == [-1.0]
    m = r.make_map(pymap.MapType("float64", "bool"))
    m[-0.0] = True
    m[0.0] = True
    assert len(m) == 1
    assert [math.copysign(1, k) for k in m] == [1.0]
    # the same for float32 and complex parts
    f = r.make_map(pymap.MapType("float32", "int8"))
    f[0.0] = 1
    f[-0.0] = 2
    assert [(math.copysign(1, k), v) for k, v in f.items()] == [(-1.0, 2)]
    c = r.make_map(pymap.MapType("complex128", "int8"))
    c[complex(0.0, -0.0)] = 1
    c[complex(-0.0, 0.0)] = 2
    [(k, v)] = list(c.items())
    assert v == 2 and math.copysign(1, k.real) < 0 and math.copysign(1, k.imag) > 0


def _check_nan_map(m):
    assert len(m) == 3
    s = 0
    for k, v in m.items():
        assert k != k, "NaN disappeared"
        assert v & (v - 1) == 0
        s |= v
    assert s == 7


def test_map_assignment_nan(go):
    m = rt(go).make_map(pymap.MapType("float64", "int"))
    m[NAN] = 1
    m[NAN] = 2
    m[NAN] = 4
    _check_nan_map(m)


def test_map_operator_assignment_nan(go):
    m = rt(go).make_map(pymap.MapType("float64", "int"))
    for v in (1, 2, 4):
        m[NAN] = m.get(NAN, 0) + v  # m[nan] += v
    _check_nan_map(m)


# ---------------------------------------------------------------------------
# TestGrowWithNaN, TestGrowWithNegativeZero, TestMapNanGrowIterator


def test_grow_with_nan(go):
    m = rt(go).make_map(pymap.MapType("float64", "int"), hint=4)
    m[NAN] = 1
    m[NAN] = 2
    m[NAN] = m.get(NAN, 0) + 4
    cnt = s = 0
    growflag = True
    for k, v in m.items():
        if growflag:
            for i in range(50):
                m[float(i)] = i
            for i in range(50, 100):
                m[float(i)] = m.get(float(i), 0) + i
            growflag = False
        if k != k:
            cnt += 1
            s |= v
        m.check()
    assert cnt == 3, "NaN keys lost during grow"
    assert s == 7, "NaN values lost during grow"


def test_grow_with_negative_zero(go):
    """Go uses struct{x float64; y int} keys; a complex128 with the sign of
    zero in the real part and the index in the imaginary part behaves alike
    (not reflexive, needkeyupdate, +0 == -0)."""
    m = rt(go).make_map(pymap.MapType("complex128", "int"), hint=4)
    m[complex(0.0, 0)] = 1
    m[complex(0.0, 1)] = m.get(complex(0.0, 1), 0) + 2
    m[complex(0.0, 2)] = m.get(complex(0.0, 2), 0) + 4
    m[complex(0.0, 3)] = 8
    growflag = True
    s = cnt = negcnt = 0
    for k, v in m.items():
        if v == 0:
            continue  # entries added to grow the table
        cnt += 1
        if math.copysign(1, k.real) < 0:
            assert v & 16, "key/value not updated together 1"
            negcnt += 1
            s |= v & 15
        else:
            assert not v & 16, "key/value not updated together 2"
            s |= v
        if growflag:
            for i in range(100):
                m[complex(3.0, i)] = 0
            for i in range(4):
                m[complex(-0.0, i)] = (1 << i) | 16
            growflag = False
    assert s == 15, "entry missing"
    assert cnt == 4, "wrong number of entries returned by iterator"
    assert negcnt == 3, "update to negzero missed by iteration"


@pytest.mark.parametrize("go", CLASSIC)
def test_map_nan_grow_iterator(go):
    m = rt(go).make_map(pymap.MapType("float64", "int"))
    nbuckets = 16
    nkeys = max_count(go, 4)  # 16 * runtime.HashLoad
    for i in range(nkeys):
        m[NAN] = i
    assert m.B == 4 and not m.growing
    m[1.0] = 1  # trigger a grow
    m.delete(1.0)
    assert m.growing and m.B == 5
    found = set()
    it = m.values()
    for v in it:
        if v != -1:
            assert v not in found, f"repeat of value {v}"
            found.add(v)
        if len(found) == nkeys // 2:
            for _ in range(nbuckets):  # finish the grow halfway through
                m.delete(1.0)
            assert not m.growing
    assert len(found) == nkeys, "missing value"


# ---------------------------------------------------------------------------
# TestIterGrowAndDelete, TestIterGrowWithGC, TestMapIterDeleteReplace


def test_iter_grow_and_delete(go):
    m = rt(go).make_map(INT, hint=4)
    for i in range(100):
        m[i] = i
    growflag = True
    for k in m:
        if growflag:
            for i in range(100, 1000):
                m[i] = i
            for i in range(1, 1000, 2):
                m.delete(i)
            growflag = False
        else:
            assert k & 1 == 0, "odd value returned"
    assert len(m) == 500


def test_iter_grow_with_gc(go):
    m = rt(go).make_map(INT, hint=4)
    for i in range(8):
        m[i] = i
    for i in range(8, 16):
        m[i] = m.get(i, 0) + i
    growflag = True
    bitmask = 0
    for k in m:
        if k < 16:
            bitmask |= 1 << k
        if growflag:
            for i in range(100, 1000):
                m[i] = i
            growflag = False
    assert bitmask == (1 << 16) - 1, "missing key"


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 13, 14, 100, 1000, 2500])
def test_map_iter_delete_replace(go, n):
    m = rt(go).make_map(pymap.MapType("int", "bool"))
    for j in range(n):
        m[j] = False
    for k in m:
        m.delete(k)
        m[k] = True
    m.check()
    assert len(m) == n
    assert all(v for v in m.values())


# ---------------------------------------------------------------------------
# TestMapIterOrder, TestMapSparseIterOrder, TestMapIterDuplicate


def test_map_iter_order(go):
    r = rt(go)
    for n in (3, 7, 9, 15):
        for _ in range(20):
            m = r.make_map(pymap.MapType("int", "bool"))
            for i in range(n):
                m[i] = True
            first = list(m)
            assert any(list(m) != first for _ in range(100)), f"n={n}: constant order {first}"


def _sparse_map(r):
    """1000 keys inserted, all but 0..19 deleted (TestMapSparseIterOrder, TestMapIterDuplicate)."""
    m = r.make_map(pymap.MapType("int", "bool"))
    for i in range(1000):
        m[i] = True
    for i in range(20, 1000):
        m.delete(i)
    return m


def test_map_sparse_iter_order(go):
    r = rt(go)
    for rnd in range(3):
        m = _sparse_map(r)
        first = list(m)
        assert any(list(m) != first for _ in range(800)), f"constant iteration order on round {rnd}"


def test_map_iter_duplicate(go):
    r = rt(go)
    for _ in range(10):
        assert sorted(_sparse_map(r)) == list(range(20))


# ---------------------------------------------------------------------------
# TestEmptyKeyAndValue, TestBigItems, TestMapLarge*NoPointer, TestSingleBucket*,
# TestMapStringBytesLookup, TestIgnoreBogusMapHint


def test_empty_key_and_value(go):
    r = rt(go)
    a = r.make_map(pymap.MapType("int", "struct{}"), hint=4)
    b = r.make_map(pymap.MapType("struct{}", "int"), hint=4)
    c = r.make_map(pymap.MapType("struct{}", "struct{}"), hint=4)
    a[0] = None
    b[None] = 0
    b[None] = 1
    c[None] = None
    assert len(a) == 1, "empty value insert problem"
    assert b[None] == 1 and len(b) == 1, "empty key returned wrong value"
    assert len(c) == 1 and list(c.items()) == [(None, None)]
    for m in (a, b, c):
        m.check()


def test_big_items(go):
    """[256]string keys and elems in Go (4096 bytes with pointers); here
    [4096]byte, which is indirect the same way."""
    m = rt(go).make_map(pymap.MapType("[4096]byte", "[4096]byte"), hint=4)
    base = bytearray(b"foo".ljust(16, b"\0") * 256)

    def item(i):
        k = bytearray(base)
        k[37 * 16:38 * 16] = f"string{i:02d}".encode().ljust(16, b"\0")
        return bytes(k)

    for i in range(100):
        m[item(i)] = item(i)
    keys = sorted(k[37 * 16:38 * 16].rstrip(b"\0").decode() for k in m.keys())
    vals = sorted(v[37 * 16:38 * 16].rstrip(b"\0").decode() for v in m.values())
    want = [f"string{i:02d}" for i in range(100)]
    assert keys == want and vals == want
    m.check()


@pytest.mark.parametrize("which", ["key", "elem"])
def test_map_large_no_pointer(go, which):
    """TestMapLargeKeyNoPointer / TestMapLargeValNoPointer: [64]int = 512 bytes, indirect."""
    t = pymap.MapType("[512]byte", "int") if which == "key" else pymap.MapType("int", "[512]byte")

    def v(i):
        return b"".join(((i + j) % (1 << 64)).to_bytes(8, "little") for j in range(64))

    m = rt(go).make_map(t)
    for i in range(1000):
        if which == "key":
            m[v(i)] = i
        else:
            m[i] = v(i)
    for i in range(1000):
        if which == "key":
            assert m[v(i)] == i
        else:
            assert m[i] == v(i)


@pytest.mark.parametrize("dup", [True, False])
def test_single_bucket_string_keys(go, dup):
    d = {"x": "x1val", "xx": "x2val", "foo": "fooval", "xxxx": "x4val"}
    if dup:
        d.update({"bar": "barval", "x" * 128: "longval1", "y" * 128: "longval2"})
    else:
        d.update({"xxxxx": "x5val", "xxxxxx": "x6val", "x" * 128: "longval"})
    m = rt(go).make_map(pymap.MapType("string", "string"))
    for k, v in d.items():
        m[k] = v
    if m.impl == "classic":
        assert m.B == 0
    else:  # 7 entries: still the small map's single group
        assert m.small and m.dir_len == 0
    for k, v in m.items():
        assert m[k] == v == d[k]


def test_map_string_bytes_lookup(go):
    m = rt(go).make_map(pymap.MapType("string", "int"))
    m["1000000000000000000000000000000000000000000000000"] = 1
    m["2000000000000000000000000000000000000000000000000"] = 2
    buf = bytearray(b"1000000000000000000000000000000000000000000000000")
    assert m[bytes(buf)] == 1
    buf[0] = ord("2")
    assert m[bytes(buf)] == 2


@pytest.mark.parametrize("hint", [-1, 1 << 62, -(1 << 63), (1 << 63) - 1])
def test_ignore_bogus_map_hint(go, hint):
    m = rt(go).make_map(INT, hint=hint)
    if m.impl == "classic":
        assert m.B == 0 and m.buckets() == []
        assert m.memory().total == hmap_size(go)
    else:  # hint 0: the Map header only, no directory, tables or group
        assert m.dir_len == 0 and m.tables() == [] and m.small_group() is None
        assert m.memory().total == m.memory().map == 48
    m[1] = 1
    assert m[1] == 1


# ---------------------------------------------------------------------------
# TestIncrementAfterDelete*, TestIncrementAfterBulkClearKeyStringValueInt (issue 25936)


@pytest.mark.parametrize("key,elem,k1,k2,zero,inc", [
    ("int", "int", 12, 13, 0, 1),
    ("int", "int32", 12, 13, 0, 1),
    ("int", "int64", 12, 13, 0, 1),
    ("string", "int", "", "x", 0, 1),
    ("string", "string", "", "x", "", "1"),
])
def test_increment_after_delete(go, key, elem, k1, k2, zero, inc):
    m = rt(go).make_map(pymap.MapType(key, elem))

    def slots():  # the first bucket, or the small map's group
        return m.buckets()[0][0] if m.impl == "classic" else m.small_group()

    m[k1] = 99 if elem != "string" else "99"
    del m[k1]
    b = slots()
    assert b.elems[0] == zero, "a deleted elem is cleared"
    m[k2] = m.get(k2, zero) + inc
    assert m[k2] == inc
    assert slots().keys[0] == k2 and slots().elems[0] == inc


def test_increment_after_bulk_clear(go):
    m = rt(go).make_map(pymap.MapType("string", "int"))
    m[""] = 99
    m.clear()  # the range-delete idiom; mapclear for string keys on every version
    m["x"] = m.get("x", 0) + 1
    assert m["x"] == 1 and len(m) == 1


# ---------------------------------------------------------------------------
# TestMapTombstones


def tombstone_check(m):
    for idx, chain in enumerate(m.buckets()):
        tops = b"".join(b.tophash for b in chain)
        n = sum(1 for t in tops if t != 0)
        for pos, t in enumerate(tops):
            assert not (pos < n and t == 0), f"chain {idx}: early emptyRest"
            assert not (pos >= n and t != 0), f"chain {idx}: late non-emptyRest"
            assert not (pos == n - 1 and t == 1), f"chain {idx}: last non-emptyRest entry is emptyOne"


@pytest.mark.parametrize("go", CLASSIC)
def test_map_tombstones(go):
    m = rt(go).make_map(INT)
    N = 10000
    for i in range(N):
        m[i] = i
    tombstone_check(m)
    for i in range(0, N, 2):
        del m[i]
    tombstone_check(m)
    for i in range(N, 3 * N // 2):
        m[i] = i
    tombstone_check(m)
    for i in range(3 * N // 2):
        m.delete(i)
    tombstone_check(m)
    assert len(m) == 0
    m.check()


# ---------------------------------------------------------------------------
# Clear during iteration: golang/go#59411 and #70189 (need the clear builtin)


@pytest.mark.parametrize("go", CLEAR_BUILTIN)
def test_issue_59411_clear_stops_iteration(go):
    for seed in range(5):
        m = rt(go, seed=seed).make_map(pymap.MapType("float64", "int"))
        N = 13 << 4
        for i in range(N):
            m[NAN] = i
        m[NAN] = N  # trigger growth (6.5 versions; Swiss: a 256-slot table)
        i = 0
        for _ in m.items():
            if i == 6:
                m.clear()
            else:
                assert i < 6, "iteration continued after clear"
            i += 1
        assert i == 7
        assert len(m) == 0


@pytest.mark.parametrize("go", CLEAR_BUILTIN)
def test_issue_70189_entries_after_clear(go):
    """Fixed by clearSeq: the classic "-noswiss" builds and the Swiss map
    produce no stale NaN entry after a clear; 1.21-1.23 produce 7."""
    fixed = FACTS[go].map_impl == "swiss" or FACTS[go].classic_clear_seq
    want = 0 if fixed else 7
    for seed in range(5):
        m = rt(go, seed=seed).make_map(pymap.MapType("float64", "int"))
        for i in range(8):
            m[NAN] = i
        assert m.B == 0 if m.impl == "classic" else m.small
        start = True
        stale = 0
        for _ in m.values():
            if start:
                for i in range(10):
                    m[float(i)] = 10 + i
                m.clear()
                start = False
            else:
                stale += 1
        assert stale == want
        assert len(m) == 0


# ---------------------------------------------------------------------------
# mapdelete (§6): a pointer-free key stays visible; pointerful keys are cleared


def test_deleted_pointer_free_key_stays_visible(go):
    m = rt(go).make_map(pymap.MapType("int64", "int64"))
    m[12345] = 1
    m[777] = 2
    del m[12345]
    if m.impl == "classic":
        b = m.buckets()[0][0]
        assert b.tophash[0] == 1  # emptyOne: slot 1 is still live
    else:
        b = m.small_group()
        assert b.ctrl[0] == 0x80  # a small map's delete empties the slot (no tombstone)
    assert b.keys[0] == 12345 and b.elems[0] == 0
    assert b.keys[1] == 777 and b.elems[1] == 2


def test_deleted_pointerful_and_indirect_keys_cleared(go):
    r = rt(go)
    s = r.make_map(pymap.MapType("string", "string"))
    s["a"] = "x"
    s["b"] = "y"
    del s["a"]
    if s.impl == "classic":
        b = s.buckets()[0][0]
        assert b.tophash[0] == 1 and b.keys[0] == "" and b.elems[0] == ""
    else:
        b = s.small_group()
        assert b.ctrl[0] == 0x80 and b.keys[0] == "" and b.elems[0] == ""
        assert b.keys[1] == "b" and b.elems[1] == "y"
    i = r.make_map(pymap.MapType("[129]byte", "[3]byte"))
    i[b"a" * 129] = b"xyz"
    i[b"b" * 129] = b"uvw"
    del i[b"a" * 129]
    if i.impl == "classic":
        b = i.buckets()[0][0]
        assert b.tophash[0] == 1 and b.keys[0] is None and b.elems[0] == b"\0\0\0"
    else:  # the indirect key's pointer is cleared: it reads as the zero value
        b = i.small_group()
        assert b.ctrl[0] == 0x80 and b.keys[0] == bytes(129) and b.elems[0] == b"\0\0\0"
        assert b.keys[1] == b"b" * 129 and b.elems[1] == b"uvw"


@pytest.mark.parametrize("go", CLASSIC)
def test_delete_last_slot_becomes_empty_rest(go):
    m = rt(go).make_map(pymap.MapType("int64", "int64"))
    for k in (1, 2, 3):
        m[k] = k
    del m[2]
    assert m.buckets()[0][0].tophash[1] == 1
    del m[3]  # slot 2 -> emptyRest, and back-propagates over slot 1
    tops = m.buckets()[0][0].tophash
    assert tops[1] == 0 and tops[2] == 0 and tops[0] >= 5


@pytest.mark.parametrize("go", CLASSIC)
def test_delete_missing_does_grow_work(go):
    """Deleting a missing key of a non-empty growing map still evacuates."""
    m = rt(go).make_map(INT)
    i = 0
    while not (m.growing and m.B >= 5):
        m[i] = i
        i += 1
    nev = m.nevacuate
    assert m.delete(-1) is False
    assert m.nevacuate > nev or not m.growing


# ---------------------------------------------------------------------------
# mapclear (§7)


@pytest.mark.parametrize("go", CLASSIC)
def test_clear_keeps_b_and_array_and_reseeds(go):
    draws = []
    src = random.Random(5)

    def rand(purpose):
        draws.append(purpose)
        return src.getrandbits(64)

    m = pymap.Runtime(go=go, rand=rand).make_map(pymap.MapType("int64", "int64"))
    for i in range(2000):
        m[i * 7919] = i
    finish_growth(m, -1)
    B = m.B
    assert B == 9
    mem = m.memory()
    assert m.noverflow > 0 and mem.overflow_slice > 0
    n0 = len(draws)
    m.clear()
    assert draws[n0:] == ["hash0"], "mapclear reseeds once"
    assert len(m) == 0 and m.count == 0
    assert m.B == B, "mapclear never shrinks"
    assert m.noverflow == 0 and m.nevacuate == 0 and not m.growing
    assert m.next_overflow == 1 << B, "the preallocated overflow buckets are reinstalled"
    after = m.memory()
    assert after.buckets == mem.buckets
    assert after.overflow == 0 and after.overflow_slice == 0
    assert after.extra == 24, "the mapextra allocation is kept"
    assert after.total == hmap_size(go) + 24 + mem.buckets
    chains = m.buckets()
    assert len(chains) == 1 << B and all(len(c) == 1 for c in chains)
    assert all(c[0].tophash == bytes(8) for c in chains)
    assert m.clear_seq == (1 if FACTS[go].classic_clear_seq else 0)
    m.check()
    for i in range(100):
        m[i] = i
    assert m.B == B and len(m) == 100


@pytest.mark.parametrize("go", CLASSIC)
def test_clear_mid_grow_keeps_new_array(go):
    m = rt(go).make_map(INT)
    i = 0
    while not (m.growing and m.B == 6):
        m[i] = i
        i += 1
    assert m.oldbuckets() is not None
    m.clear()
    assert m.B == 6 and not m.growing and m.oldbuckets() is None
    assert m.memory().oldbuckets == 0
    assert len(m.buckets()) == 64
    m.check()


def test_clear_empty_map_is_noop(go):
    draws = []
    m = pymap.Runtime(go=go, rand=lambda p: draws.append(p) or 7).make_map(INT, hint=100)
    seed = m.hash0 if m.impl == "classic" else m.seed
    m.clear()
    assert draws == [reseed_purpose(go)], "make draws the seed; clearing an empty map draws nothing"
    assert (m.hash0 if m.impl == "classic" else m.seed) == seed
    if m.impl == "swiss" or FACTS[go].classic_clear_seq:
        assert m.clear_seq == 0


@pytest.mark.parametrize("go", VERSIONS)
def test_clear_nan_keys(go):
    """clear(m) removes NaN keys where the builtin exists (1.21+, every Swiss
    version); on 1.19/1.20 m.clear() is the range-delete idiom, an
    iterate-and-delete loop for float keys: NaNs stay."""
    draws = []
    src = random.Random(1)
    m = pymap.Runtime(go=go, rand=lambda p: draws.append(p) or src.getrandbits(64)).make_map(
        pymap.MapType("float64", "int"))
    for i in range(5):
        m[float(i)] = i
    for i in range(3):
        m[NAN] = 10 + i
    del draws[:]
    m.clear()
    if not FACTS[go].clear_builtin:
        # mapiterinit draws, each delete(m, NaN) hashes (draws) and finds nothing
        assert draws[0] == "iter" and sorted(draws) == ["iter"] + ["nanhash"] * 3
        assert len(m) == 3
        assert sorted(m.values()) == [10, 11, 12]
    else:
        assert len(m) == 0
        assert draws == [reseed_purpose(go)]


def test_clear_reflexive_idiom_on_old_versions_is_mapclear(go):
    draws = []
    m = pymap.Runtime(go=go, rand=lambda p: draws.append(p) or 3).make_map(pymap.MapType("string", "int"))
    for i in range(50):
        m[str(i)] = i
    del draws[:]
    m.clear()
    assert draws == [reseed_purpose(go)], "mapclear, not an iterate-and-delete loop"


# ---------------------------------------------------------------------------
# Memory: E1 table (go-heap-gc-pool.md §3) and allocation-header vectors (§4.4)

E1 = {
    # hint: (map[int]int, map[string]int, map[int64]struct{})
    0: (48, 48, 48),
    8: (48, 48, 48),
    9: (336, 464, 208),
    14: (624, 944, 368),
    27: (1200, 1840, 688),
    53: (2760, 4168, 1480),
    105: (5448, 8264, 3144),
    1665: (81992, 114760, 49224),
    100000: (2506824, 3620936, 1392712),
}
E1_TYPES = (("int", "int"), ("string", "int"), ("int64", "struct{}"))


@pytest.mark.parametrize("hint", sorted(E1))
@pytest.mark.parametrize("go", CLASSIC)
def test_e1_make_memory(go, hint):
    for col, (k, e) in enumerate(E1_TYPES):
        t = pymap.MapType(k, e)
        m = rt(go).make_map(t, hint=hint)
        mem = m.memory()
        got = mem.hmap + mem.buckets + mem.extra
        assert got == mem.total == mem.allocated
        if FACTS[go].classic_load_factor == 6.0 and hint == 100000:
            assert m.B == 15  # load factor 6.0
            assert got == make_bytes(t, 15, go)
            continue
        want = E1[hint][col] + hmap_size(go) - 48  # the 56-byte hmap with clearSeq: class 64
        assert got == want, (k, e, hint)
        if m.B:
            assert got == make_bytes(t, m.B, go)


@pytest.mark.parametrize("go", CLASSIC)
def test_e1_example_53(go):
    m = rt(go).make_map(INT, hint=53)
    mem = m.memory()
    assert (m.B, mem.hmap, mem.buckets, mem.extra) == (4, hmap_size(go), 2688, 24)
    assert mem.total == 2760 + hmap_size(go) - 48


@pytest.mark.parametrize("hint,B,old,new,v124", [(27, 3, 1200, 1328, 1344), (14, 2, 624, 688, 704)])
@pytest.mark.parametrize("go", CLASSIC)
def test_allocation_header_vectors(go, hint, B, old, new, v124):
    m = rt(go).make_map(pymap.MapType("int64", "pointer"), hint=hint)
    assert m.B == B
    if FACTS[go].classic_hmap_size > 48:  # the "-noswiss" builds: hmap with clearSeq
        want = v124
    else:
        want = new if go in HEADERS else old
    assert m.memory().total == want


@pytest.mark.parametrize("key,elem,B", [
    ("int64", "int64", 4), ("int64", "int64", 5), ("int64", "int64", 8),
    ("string", "int", 4), ("string", "int", 5), ("string", "int", 8),
    ("string", "[14]byte", 4), ("int64", "pointer", 4), ("int64", "pointer", 6),
    ("[129]byte", "[22]byte", 4), ("int32", "int8", 7),
])
@pytest.mark.parametrize("go", CLASSIC)
def test_preallocated_overflow_count(go, key, elem, B):
    """Number of buckets makeBucketArray allocates, counted by using up the
    preallocated overflow buckets (noverflow when nextOverflow runs out)."""
    t = pymap.MapType(key, elem)
    nb, arr = bucket_array(t, B, go)
    table = {("int64", "int64", 4): 18, ("int64", "int64", 5): 37, ("int64", "int64", 8): 284,
             ("string", "int", 4): 19, ("string", "int", 5): 39, ("string", "int", 8): 275}
    if (key, elem, B) in table:
        assert nb == table[(key, elem, B)]
    if (key, elem) == ("string", "[14]byte"):
        assert nb == (18 if go in HEADERS else 19)
    m = rt(go).make_map(t, hint=6 << B)
    assert m.B == B and m.next_overflow == 1 << B
    assert m.memory().buckets == arr
    cap = 6 << B
    fresh = iter(range(10**9))

    def key_of(i):
        if key == "string":
            return f"s{i}"
        if key.startswith("["):
            return i.to_bytes(8, "little") + bytes(121)
        return i

    if elem.startswith("["):
        val = bytes(int(elem[1:elem.index("]")]))
    else:
        val = 8 if elem == "pointer" else 1
    live = []
    while m.next_overflow is not None:
        if len(live) == cap:  # delete first: 1.21 holds at most 6 * 2**B
            del m[live.pop(0)]
        k = key_of(next(fresh))
        m[k] = val
        live.append(k)
        assert m.B == B and not m.growing
    assert m.noverflow == nb - (1 << B)


# ---------------------------------------------------------------------------
# The overflow slice (§5.2)


def slice_caps(n, go):
    """Capacities of a []*bmap grown by appending one element n times."""
    cap = 0
    caps = []
    for length in range(1, n + 1):
        if length <= cap:
            continue
        newcap = cap
        if length > 2 * cap:
            newcap = length
        elif cap < 256:
            newcap = 2 * cap
        else:
            while newcap < length:
                newcap += (newcap + 3 * 256) // 4
        cap = roundupsize(newcap * 8, True, go) // 8
        caps.append(cap)
    return caps


def test_slice_caps_helper():
    assert slice_caps(200, "1.19")[-1] == 256
    assert slice_caps(200, "1.22")[-1] == 287
    assert slice_caps(100, "1.22")[-1] == 143


@pytest.mark.parametrize("go", LF65)
def test_overflow_slice_capacity_vector(go):
    """map[int64]int64 with 6,656 keys (multiples of 7919): overflow-slice
    capacity 256 on 1.19 and 287 on 1.22+ (2048 B + header -> class 2304)."""
    m = rt(go).make_map(pymap.MapType("int64", "int64"))
    for i in range(6656):
        m[i * 7919] = i
    assert m.B == 10 and not m.growing
    n = sum(len(c) - 1 for c in m.buckets())
    lo, hi = (143, 287) if go in HEADERS else (128, 256)
    assert lo < n <= hi, f"{n} overflow buckets: outside the range of the spec vector"
    want_cap = 287 if go in HEADERS else 256
    mem = m.memory()
    assert mem.overflow_slice == 24 + charged(want_cap * 8, True, go)
    sl = getattr(m, "overflow_slices", None)
    if sl is not None:
        assert sl()["overflow"] == (n, want_cap)


@pytest.mark.parametrize("go", CLASSIC)
def test_overflow_slice_growth_follows_append(go):
    """For every count of overflow buckets of a pointer-free map, the slice
    bytes are header + the growslice capacity charged as a pointerful array,
    and overflow buckets past the preallocated ones are charged one by one.
    rand() == 0 gives every NaN the same hash: one ever-growing chain."""
    t = pymap.MapType("float64", "int64")
    m = pymap.Runtime(go=go, rand=lambda p: 0).make_map(t, hint=3000)
    assert m.B == 9
    prealloc = bucket_array(t, 9, go)[0] - 512
    for i in range(3000):
        m[NAN] = i
        nover = m.noverflow  # exact below B = 16, no grow here
        assert nover == (i + 1 - 1) // 8
        mem = m.memory()
        if nover == 0:
            assert mem.overflow_slice == 0
            continue
        cap = slice_caps(nover, go)[-1]
        assert mem.overflow_slice == 24 + charged(cap * 8, True, go), (i, nover, cap)
        assert mem.overflow == max(0, nover - prealloc) * 144
    chain = max(m.buckets(), key=len)
    assert len(chain) == 375 and [b.origin for b in chain[1:prealloc + 1]] == ["prealloc"] * prealloc
    assert {b.origin for b in chain[prealloc + 1:]} == {"heap"}
    m.check()


# ---------------------------------------------------------------------------
# Same-size growth through churn (sliding window)


@pytest.mark.parametrize("go", CLASSIC)
def test_same_size_grow_from_churn(go):
    m = rt(go).make_map(INT)
    for i in range(48):
        m[i] = i
    assert m.B == 3
    nxt, oldest = 48, 0
    seen = False
    for _ in range(200_000):
        del m[oldest]  # delete first: 48 is the most B = 3 holds on 1.21
        m[nxt] = nxt
        if m.same_size_grow:
            seen = True
            assert m.growing and m.B == 3 and m.flags & 8
            assert m.noverflow < 8, "hashGrow resets noverflow"
            assert len(m.oldbuckets()) == 8
            break
        nxt += 1
        oldest += 1
    assert seen, "churn never caused a same-size grow"
    finish_growth(m, -1)
    assert m.B == 3 and not m.same_size_grow and not m.flags & 8
    m.check()


# ---------------------------------------------------------------------------
# The fallback hash (go-classic-map.md §9): bucket index and tophash of every
# key, recomputed from the spec's formulas

M64 = (1 << 64) - 1
HM1, HM2, HM3, HM4, HM5 = (0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3,
                           0x589965cc75374cc3, 0x1d8e4e27c47d124f)
FC0, FC1 = 33054211828000289, 23344194077549503
# The fallback hash before 1.23 (hashkey[0] ^ m1, then the m2..m4 constants):
# Go 1.23 switched to the 4 hashkey words and stopped forcing them odd in
# the same change, so the version table's hashkey_odd column tells them apart.
OLD_HASH = tuple(v for v in VERSIONS if FACTS[v].hashkey_odd)


def _mix(a, b):
    p = (a & M64) * (b & M64)
    return (p >> 64) ^ (p & M64)


def _r4(b, i):
    return int.from_bytes(b[i:i + 4], "little")


def _r8(b, i):
    return int.from_bytes(b[i:i + 8], "little")


def memhash(go, hk, p, seed):
    k0, k1, k2, k3 = (hk[0] ^ HM1, HM2, HM3, HM4) if go in OLD_HASH else hk
    s = len(p)
    seed ^= k0
    if s == 0:
        return seed
    if s < 4:
        a, b = p[0] | p[s >> 1] << 8 | p[s - 1] << 16, 0
    elif s == 4:
        a = b = _r4(p, 0)
    elif s < 8:
        a, b = _r4(p, 0), _r4(p, s - 4)
    elif s == 8:
        a = b = _r8(p, 0)
    elif s <= 16:
        a, b = _r8(p, 0), _r8(p, s - 8)
    else:
        off, l = 0, s
        if l > 48:
            seed1 = seed2 = seed
            while l > 48:
                seed = _mix(_r8(p, off) ^ k1, _r8(p, off + 8) ^ seed)
                seed1 = _mix(_r8(p, off + 16) ^ k2, _r8(p, off + 24) ^ seed1)
                seed2 = _mix(_r8(p, off + 32) ^ k3, _r8(p, off + 40) ^ seed2)
                off += 48
                l -= 48
            seed ^= seed1 ^ seed2
        while l > 16:
            seed = _mix(_r8(p, off) ^ k1, _r8(p, off + 8) ^ seed)
            off += 16
            l -= 16
        a, b = _r8(p, off + l - 16), _r8(p, off + l - 8)
    return _mix(HM5 ^ s, _mix(a ^ k1, b ^ seed))


def go_hash(go, hk, spelling, key, seed, nan_r=None):
    """The runtime's hash of `key` (fixed-size hashers reduce to memhash)."""
    import struct as _st

    if spelling == "float64":
        if key == 0:
            return (FC1 * (FC0 ^ seed)) & M64
        if key != key:
            return (FC1 * (FC0 ^ seed ^ nan_r)) & M64
        return memhash(go, hk, _st.pack("<d", key), seed)
    if spelling == "float32":
        if key == 0:
            return (FC1 * (FC0 ^ seed)) & M64
        return memhash(go, hk, _st.pack("<f", key), seed)
    if spelling == "string":
        return memhash(go, hk, key.encode(), seed)
    if spelling in ("[0]byte", "struct{}"):
        return seed  # memhash0: zero-size keys hash to the seed
    if spelling in ("int64", "int32", "int16", "int8"):
        n = int(spelling[3:]) // 8
        return memhash(go, hk, (key % (1 << (8 * n))).to_bytes(n, "little"), seed)
    return memhash(go, hk, bytes(key), seed)


def tophash_of(h):
    t = h >> 56
    return t + 5 if t < 5 else t


HASH_KEYS = {
    "int64": [0, 1, -1, 12345, 2**63 - 1, 7919 * 77],
    "int32": [0, 1, -1, 2**31 - 1, 424242],
    "int16": [0, 7, -300],
    "int8": [0, 5, -128],
    "string": ["", "a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghi", "0123456789abcdef",
               "0123456789abcdefg", "x" * 47, "y" * 48, "z" * 49, "w" * 100, "v" * 200, "\u00e9t\u00e9"],
    "float64": [0.5, -1.25, 1e300, -0.0, 0.0, float("inf")],
    "float32": [0.5, -1.25, 0.0],
    "[3]byte": [b"abc", b"\0\0\0", b"\xff\x00\x7f"],
    "[16]byte": [bytes(range(16)), b"\xaa" * 16],
    "[129]byte": [bytes(range(129)), b"\x01" * 129],
    "[0]byte": [b""],
    "struct{}": [None],
}


@pytest.mark.parametrize("spelling", sorted(HASH_KEYS))
@pytest.mark.parametrize("go", CLASSIC)
def test_fallback_hash_placement(go, spelling):
    hk = (0x0123456789ABCDEF, 0xFEDCBA9876543211, 0x1111111111111111, 0x2222222222222223)
    m = pymap.Runtime(go=go, hashkey=hk, seed=1).make_map(pymap.MapType(spelling, "int8"), hint=40)
    assert m.B == 3
    m.hash0 = 0x9E3779B9
    keys = HASH_KEYS[spelling]
    for i, k in enumerate(keys):
        m[k] = i
    chains = m.buckets()
    for i, k in enumerate(keys):
        if spelling == "float64" and k == 0.0 and i != keys.index(k):
            continue  # -0.0 and 0.0 are one key
        h = go_hash(go, hk, spelling, k, 0x9E3779B9)
        slots = [(b.tophash[s], b.keys[s]) for b in chains[h & 7] for s in range(8)]
        assert (tophash_of(h), k) in slots or (spelling == "float64" and k == 0), (k, hex(h))


SWISS = tuple(v for v in VERSIONS if FACTS[v].map_impl == "swiss")
SWISS_SEED = 0x9E3779B97F4A7C15  # a full 64-bit seed


def _swiss_slots(m):
    """(ctrl byte, key, elem) of every full slot of a Swiss map."""
    groups = [m.small_group()] if m.small else [g for t in m.tables() for g in t.groups]
    return [(g.ctrl[s], g.keys[s], g.elems[s]) for g in groups for s in range(8) if g.ctrl[s] < 0x80]


@pytest.mark.parametrize("spelling", sorted(HASH_KEYS))
@pytest.mark.parametrize("go", SWISS)
def test_fallback_hash_placement_swiss(go, spelling):
    """The same hashers with the 64-bit seed: every key's control byte is
    H2 = hash & 0x7F, and a single-table map keeps it in its probe
    sequence's first group when that group has room (a table of 64 slots
    for hint 40, at most 16 keys)."""
    hk = (0x0123456789ABCDEF, 0xFEDCBA9876543211, 0x1111111111111111, 0x2222222222222223)
    m = pymap.Runtime(go=go, hashkey=hk, seed=1).make_map(pymap.MapType(spelling, "int8"), hint=40)
    assert m.dir_len == 1 and [t.capacity for t in m.tables()] == [64]
    m.seed = SWISS_SEED
    keys = HASH_KEYS[spelling]
    for i, k in enumerate(keys):
        m[k] = i
    slots = _swiss_slots(m)
    for i, k in enumerate(keys):
        if spelling == "float64" and k == 0.0 and i != keys.index(k):
            continue  # -0.0 and 0.0 are one key
        h = go_hash(go, hk, spelling, k, SWISS_SEED)
        assert any(c == h & 0x7F and sk == k for c, sk, _ in slots) or (spelling == "float64" and k == 0), \
            (k, hex(h))


@pytest.mark.parametrize("go", SWISS)
def test_nan_hash_uses_draw_swiss(go):
    """A NaN key's hash uses a fresh 64-bit draw: H2 of c1 * (c0 ^ seed ^ R)."""
    seed = 0x12345678_9ABCDEF0
    rs = [0x0000000012345677, 0xFFFF0000A5A5A5A5, 0xFFFFFFFF00000000]
    draws = {"seed": [seed], "nanhash": list(rs)}
    m = pymap.Runtime(go=go, rand=lambda p: draws[p].pop(0) if draws.get(p) else 0).make_map(
        pymap.MapType("float64", "int8"), hint=40)
    assert m.seed == seed
    for i in range(len(rs)):
        m[NAN] = i
    assert not draws["nanhash"], "one draw per NaN insert"
    slots = _swiss_slots(m)
    for i, r in enumerate(rs):
        h = (FC1 * (FC0 ^ seed ^ r)) & M64
        assert (h & 0x7F, i) in [(c, e) for c, _, e in slots], (i, hex(h))


@pytest.mark.parametrize("go", CLASSIC)
def test_nan_hash_uses_draw(go):
    """NaN hash = c1 * (c0 ^ hash0 ^ R); 1.19-1.21 draw 32 bits (the low 32
    bits of rand()), 1.22+ use all 64."""
    h0 = 0x12345678
    rs = [0x0000000012345677, 0xFFFF0000A5A5A5A5, 0xFFFFFFFF00000000]
    draws = {"hash0": [h0], "nanhash": list(rs)}
    m = pymap.Runtime(go=go, rand=lambda p: draws[p].pop(0) if draws.get(p) else 0).make_map(
        pymap.MapType("float64", "int8"), hint=40)
    assert m.hash0 == h0
    for i in range(len(rs)):
        m[NAN] = i
    chains = m.buckets()
    for i, r in enumerate(rs):
        if not FACTS[go].rand64:
            r &= 0xFFFFFFFF
        h = (FC1 * (FC0 ^ h0 ^ r)) & M64
        vals = [b.elems[s] for b in chains[h & 7] for s in range(8) if b.tophash[s] == tophash_of(h)]
        assert i in vals, (i, hex(h))


# ---------------------------------------------------------------------------
# evacuate (§5.5): the NaN X/Y rule and the clearing of pointerful old buckets


H0 = 4  # hash0 for the evacuation tests: every NaN hash is H = c1*(c0^4)


def _nan_map(go, elem, pointerful):
    r = pymap.Runtime(go=go, rand=lambda p: H0 if p == "hash0" else 0)
    m = r.make_map(pymap.MapType("float64", elem), hint=14)
    assert m.B == 2 and m.hash0 == H0
    n = max_count(go, 2)
    val = (lambda i: str(i)) if pointerful else (lambda i: i)
    for i in range(n):
        m[NAN] = val(i)
    return r, m, n, val


def _key_in_old_bucket(go, hk, b, lo=1):
    return next(float(x) for x in range(lo, lo + 1000) if go_hash(go, hk, "float64", float(x), H0) & 3 == b)


@pytest.mark.parametrize("elem,pointerful", [("int64", False), ("string", True)])
@pytest.mark.parametrize("with_iter", [False, True])
@pytest.mark.parametrize("go", CLASSIC)
def test_evacuate_nan_rule(go, elem, pointerful, with_iter):
    """hash0 = 4 and every NaN draw 0: all NaNs share H = c1*(c0^4), old
    bucket H & 3 = 3.  Evacuated without an iterator they follow the fresh
    hash (new bucket H & 7 = 3); with the iterator flag set (an iterator
    started mid-grow) they follow tophash & 1 (new bucket 3 + 4 = 7)."""
    H = (FC1 * (FC0 ^ H0)) & M64
    assert H & 7 == 3 and tophash_of(H) & 1 == 1
    r, m, n, val = _nan_map(go, elem, pointerful)
    assert [len(c) for c in m.buckets()] == [1, 1, 1, -(-n // 8)]
    hk = r.hashkey
    m[_key_in_old_bucket(go, hk, 0)] = val(99)  # hashGrow; growWork evacuates old 0 and 1
    assert m.growing and m.B == 3 and m.nevacuate == 2
    assert m.oldbuckets()[3][0].tophash[0] >= 5, "the NaN chain is not evacuated yet"
    if with_iter:
        it = m.items()
        assert m.flags & 1
    assert m.delete(_key_in_old_bucket(go, hk, 3, lo=1000)) is False  # growWork evacuates old 3
    finish_growth(m, -12345.5)
    want_idx = 7 if with_iter else 3
    chain = m.buckets()[want_idx]
    nans = [(b.tophash[s], b.elems[s]) for b in chain for s in range(8) if b.tophash[s] >= 5 and b.keys[s] != b.keys[s]]
    assert sorted(v for _, v in nans) == sorted(val(i) for i in range(n))
    assert {t for t, _ in nans} == {tophash_of(H)}
    m.check()
    if with_iter:
        got = sorted(v for _, v in it)
        assert got == sorted([val(i) for i in range(n)] + [val(99)])


@pytest.mark.parametrize("elem,pointerful", [("int64", False), ("string", True)])
@pytest.mark.parametrize("with_iter", [False, True])
@pytest.mark.parametrize("go", CLASSIC)
def test_evacuated_old_bucket_contents(go, elem, pointerful, with_iter):
    """A pointerful old bucket is cleared after evacuation (keys, elems and
    its overflow pointer: the old overflow chain becomes unreachable), unless
    an iterator started before the grow (oldIterator); pointer-free old
    buckets are never cleared."""
    r, m, n, val = _nan_map(go, elem, pointerful)
    bs = m.type.bucket_size if hasattr(m, "type") else pymap.MapType("float64", elem).bucket_size
    if with_iter:
        _it = m.items()  # before the grow: hashGrow turns the flag into oldIterator
    nchain = -(-n // 8)
    assert m.memory().overflow == (nchain - 1) * bs
    m[_key_in_old_bucket(go, r.hashkey, 3)] = val(99)  # the NaN chain is evacuated now
    assert m.growing
    chain = m.oldbuckets()[3]
    assert all(2 <= x <= 4 for b in chain for x in b.tophash), "evacuation marks every slot"
    if pointerful and not with_iter:
        assert len(chain) == 1, "clearing the head bucket unlinks the old overflow chain"
        assert chain[0].keys == (0.0,) * 8 and chain[0].elems == ("",) * 8
    else:
        assert len(chain) == nchain
        assert all(k != k for k in chain[0].keys), "old keys kept"

    def reachable_overflow():
        old = m.oldbuckets() or []
        return bs * (sum(len(c) - 1 for c in m.buckets()) + sum(len(c) - 1 for c in old))

    assert m.memory().overflow == reachable_overflow()
    m.check()
    finish_growth(m, -12345.5)
    assert m.memory().overflow == reachable_overflow()


# ---------------------------------------------------------------------------
# Iteration order during growth (§8.3), recomputed from buckets()/oldbuckets()


def _keyof(spelling, i):
    return f"k{i}" if spelling == "string" else i * 7919


def _expected_midgrow(m, go, hk, spelling, sb, off):
    """mapiternext for an iterator started mid-grow (it.B == h.B), no mutation."""
    new, old = m.buckets(), m.oldbuckets()
    nb = len(new)
    oldmask = len(old) - 1
    out = []
    for j in range(nb):
        bucket = (sb + j) % nb
        oc = old[bucket & oldmask]
        if not 1 < oc[0].tophash[0] < 5:
            chain, check = oc, bucket
        else:
            chain, check = new[bucket], None
        for b in chain:
            for i in range(8):
                s = (i + off) & 7
                t = b.tophash[s]
                if t <= 1 or t == 4:
                    continue
                k = b.keys[s]
                if check is not None and not m.same_size_grow:
                    if k != k:
                        if (check >> (m.B - 1)) != (t & 1):
                            continue
                    elif go_hash(go, hk, spelling, k, m.hash0) & (nb - 1) != check:
                        continue
                out.append((k, b.elems[s]))
    return out


@pytest.mark.parametrize("spelling", ["int64", "string"])
@pytest.mark.parametrize("go", CLASSIC)
def test_iteration_started_mid_grow_order(go, spelling):
    r = rt(go)
    m = r.make_map(pymap.MapType(spelling, "int64"))
    i = 0
    while not (m.growing and m.B == 6):
        m[_keyof(spelling, i)] = i
        i += 1
    assert m.nevacuate < 32
    for sb, off in ((0, 0), (5, 3), (33, 7), (63, 1)):
        got = list(m.items(start_bucket=sb, offset=off))
        assert got == _expected_midgrow(m, go, r.hashkey, spelling, sb, off)
        assert len(got) == len(m)


@pytest.mark.parametrize("go", CLASSIC)
def test_iteration_started_mid_grow_nan_order(go):
    r = pymap.Runtime(go=go, rand=lambda p: H0 if p == "hash0" else 0)
    m = r.make_map(pymap.MapType("float64", "int64"), hint=14)
    for i in range(max_count(go, 2)):
        m[NAN if i % 3 else float(i)] = i
    k = _key_in_old_bucket(go, r.hashkey, 0, lo=5000)
    m[k] = -1
    assert m.growing and m.B == 3 and m.oldbuckets()[3][0].tophash[0] >= 5
    for sb in range(8):
        got = list(m.items(start_bucket=sb, offset=sb % 8))
        want = _expected_midgrow(m, go, r.hashkey, "float64", sb, sb % 8)
        assert [(repr(a), b) for a, b in got] == [(repr(a), b) for a, b in want]


@pytest.mark.parametrize("spelling", ["int64", "string"])
@pytest.mark.parametrize("go", CLASSIC)
def test_iteration_across_a_grow_order(go, spelling):
    """An iterator started before a grow keeps walking its snapshot; evacuated
    slots are looked up again in the live map (deleted keys are skipped)."""
    r = rt(go)
    m = r.make_map(pymap.MapType(spelling, "int64"))
    n = max_count(go, 4)
    for i in range(n):
        m[_keyof(spelling, i)] = i
    assert m.B == 4 and not m.growing
    snap = m.buckets()
    sb, off = 9, 5
    order = []
    for j in range(16):
        for b in snap[(sb + j) % 16]:
            for i in range(8):
                s = (i + off) & 7
                if b.tophash[s] >= 5:
                    order.append(b.keys[s])
    it = m.items(start_bucket=sb, offset=off)
    first = next(it)
    assert first[0] == order[0]
    for i in range(n, n + 40):  # the first insert grows; new keys go to the new array
        m[_keyof(spelling, i)] = i
    for i in range(0, n, 5):
        m.delete(_keyof(spelling, i))
    for i in range(1, n, 7):
        if _keyof(spelling, i) in m:
            m[_keyof(spelling, i)] = -i
    assert m.B == 5
    want = [first] + [(k, m[k]) for k in order[1:] if k in m]
    assert [first] + list(it) == want
