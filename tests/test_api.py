"""The public Python API contract of pymap (issue 2, sections 3 and 4)."""

from __future__ import annotations

import dataclasses
import struct
import os
import subprocess
import sys

import pytest

import pymap

VERSIONS = tuple(pymap.GO_VERSIONS)
FACTS = {v: pymap.version_facts(v) for v in VERSIONS}
CLASSIC = tuple(v for v in VERSIONS if FACTS[v].map_impl == "classic")
SWISS = tuple(v for v in VERSIONS if FACTS[v].map_impl == "swiss")
OLD_HASHKEY = tuple(v for v in VERSIONS if FACTS[v].hashkey_odd)  # hashkey words forced odd
NEW_HASHKEY = tuple(v for v in VERSIONS if not FACTS[v].hashkey_odd)


def reseed_purpose(go):
    """The rand purpose of a map's seed draw: "hash0" (classic) or "seed" (Swiss)."""
    return "seed" if FACTS[go].map_impl == "swiss" else "hash0"


def seed_of(m):
    return m.seed if m.impl == "swiss" else m.hash0


def hmap_bytes(go):
    """The classic hmap at its size class: 48, or 64 for the 56-byte hmap with clearSeq."""
    return 64 if FACTS[go].classic_hmap_size > 48 else 48


class Recorder:
    """A rand(purpose) callback that logs every call and replays a script."""

    def __init__(self, values=None, default=0x0123456789ABCDEF):
        self.calls: list[str] = []
        self.values = dict(values or {})
        self.default = default

    def __call__(self, purpose):
        self.calls.append(purpose)
        v = self.values.get(purpose, self.default)
        if isinstance(v, list):
            return v.pop(0) if v else self.default
        return v


def rt_for(go, **kw):
    if "rand" not in kw and "seed" not in kw:
        kw["seed"] = 12345
    return pymap.Runtime(go=go, **kw)


def snapshot(m):
    """Everything observable about a map's state, for 'nothing changed' checks."""

    def chains(cs):
        if cs is None:
            return None
        return [[(bytes(b.tophash), tuple(b.keys), tuple(b.elems), b.origin, b.index) for b in c] for c in cs]

    if m.impl == "swiss":
        return (len(m), m.used, m.seed, m.dir_len, m.global_depth, m.global_shift, m.clear_seq,
                m.tombstone_possible, m.small, m.small_group(), m.tables(), m.directory(), m.memory())
    return (m.count, len(m), m.B, m.flags, m.noverflow, m.hash0, m.nevacuate, m.growing,
            m.same_size_grow, m.clear_seq, m.next_overflow, m.extra_allocated,
            chains(m.buckets()), chains(m.oldbuckets()), m.memory())


# ---------------------------------------------------------------------------
# Versions and Runtime


def test_go_versions():
    assert pymap.GO_VERSIONS == ("1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.24-noswiss",
                                 "1.25", "1.25-noswiss", "1.26", "1.27")
    assert isinstance(pymap.GO_VERSIONS, tuple)
    assert pymap.DEFAULT_GO == "1.27" and pymap.DEFAULT_GO in pymap.GO_VERSIONS
    assert SWISS == ("1.24", "1.25", "1.26", "1.27")
    assert CLASSIC == ("1.19", "1.20", "1.21", "1.22", "1.23", "1.24-noswiss", "1.25-noswiss")
    for v in VERSIONS:
        assert pymap.version_impl(v) == FACTS[v].map_impl and FACTS[v].go == v


def test_default_go_everywhere():
    assert pymap.Runtime().go == pymap.DEFAULT_GO
    assert pymap.default_runtime().go == pymap.DEFAULT_GO
    m = pymap.GoMap(pymap.MapType("int64", "int64"))
    assert m.runtime.go == pymap.DEFAULT_GO and m.impl == pymap.version_impl(pymap.DEFAULT_GO)


@pytest.mark.parametrize("go", SWISS)
def test_swiss_versions_accepted(go):
    """"1.24" and newer no longer mean "refused": they are the Swiss map."""
    rt = pymap.Runtime(go=go, seed=1)
    assert rt.go == go and rt.map_impl == "swiss"
    m = rt.make_map(pymap.MapType("int64", "int64"))
    assert m.impl == "swiss" and isinstance(m, pymap.SwissMap)


@pytest.mark.parametrize("go", CLASSIC)
def test_classic_versions_make_classic_maps(go):
    m = pymap.Runtime(go=go, seed=1).make_map(pymap.MapType("int64", "int64"))
    assert m.impl == "classic" and isinstance(m, pymap.ClassicMap)


@pytest.mark.parametrize("go", ["1.18", "2.0", "go1.23", "", "1.23.9x", "noswiss", "1.26-noswiss",
                                "1.27-noswiss", "1.28", "1.23-noswiss"])
def test_unknown_versions_refused(go):
    with pytest.raises(ValueError):
        pymap.Runtime(go=go)


@pytest.mark.parametrize("go", VERSIONS)
def test_runtime_attributes(go):
    rt = pymap.Runtime(go=go, seed=1)
    assert rt.go == go
    hk = rt.hashkey
    assert isinstance(hk, tuple) and len(hk) == 4
    assert all(isinstance(w, int) and 0 <= w < 2**64 for w in hk)
    if go in OLD_HASHKEY:
        assert all(w & 1 for w in hk), "hashkey words are forced odd up to 1.22"
    assert isinstance(rt.max_alloc, int) and rt.max_alloc > 0
    assert rt.map_impl == FACTS[go].map_impl


def test_seed_is_deterministic():
    a = pymap.Runtime(go="1.23", seed=7)
    b = pymap.Runtime(go="1.23", seed=7)
    c = pymap.Runtime(go="1.23", seed=8)
    assert a.hashkey == b.hashkey
    assert a.hashkey != c.hashkey
    t = pymap.MapType("int64", "int64")
    ma, mb = a.make_map(t), b.make_map(t)
    assert ma.hash0 == mb.hash0
    for i in range(100):
        ma[i] = i
        mb[i] = i
    assert list(ma.items()) == list(mb.items())


def test_default_runtime_is_random():
    hks = {pymap.Runtime(go="1.23").hashkey for _ in range(4)}
    assert len(hks) > 1


def test_seed_and_rand_exclusive():
    with pytest.raises(ValueError):
        pymap.Runtime(go="1.23", seed=1, rand=lambda p: 0)


@pytest.mark.parametrize("go", OLD_HASHKEY)
def test_even_hashkey_refused_up_to_122(go):
    with pytest.raises(ValueError):
        pymap.Runtime(go=go, hashkey=(2, 1, 1, 1))
    with pytest.raises(ValueError):
        pymap.Runtime(go=go, hashkey=(1, 1, 1, 4))
    rt = pymap.Runtime(go=go, hashkey=(1, 3, 5, 2**64 - 1), seed=0)
    assert rt.hashkey == (1, 3, 5, 2**64 - 1)


@pytest.mark.parametrize("go", NEW_HASHKEY)
def test_even_hashkey_allowed_from_123(go):
    rt = pymap.Runtime(go=go, hashkey=[2, 4, 0, 2**64 - 2], seed=0)
    assert rt.hashkey == (2, 4, 0, 2**64 - 2)


@pytest.mark.parametrize("bad", [(1, 1, 1), (1, 1, 1, 1, 1), (1, 1, 1, -1), (1, 1, 1, 2**64 + 1)])
def test_bad_hashkey_shape_or_range(bad):
    with pytest.raises((ValueError, OverflowError, TypeError)):
        pymap.Runtime(go="1.23", hashkey=bad)


@pytest.mark.parametrize("go", VERSIONS)
def test_hashkey_generation_never_calls_rand(go):
    rec = Recorder()
    rt = pymap.Runtime(go=go, rand=rec)
    assert rec.calls == []
    if go in OLD_HASHKEY:
        assert all(w & 1 for w in rt.hashkey)


# ---------------------------------------------------------------------------
# The rand(purpose) contract


@pytest.mark.parametrize("go", CLASSIC)
def test_rand_hash0_low_32_bits(go):
    rec = Recorder({"hash0": 0xDEADBEEF_12345678})
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    assert rec.calls == ["hash0"]
    assert m.hash0 == 0x12345678
    m2 = rt.make_map(pymap.MapType("string", "int64"), hint=100)
    assert rec.calls == ["hash0", "hash0"]
    assert m2.hash0 == 0x12345678


@pytest.mark.parametrize("go", VERSIONS)
def test_rand_plain_ops_draw_nothing(go):
    rec = Recorder()
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    for i in range(200):
        m[i] = i
    for i in range(0, 200, 2):
        del m[i]
    _ = m.get(1), 3 in m, m.delete(10**9)
    assert rec.calls == [reseed_purpose(go)]


@pytest.mark.parametrize("go", CLASSIC)
def test_rand_iter_draw_and_start(go):
    r = 0xFFFFFFFF_00000000 | (0b101 << 2) | 0b10  # start bucket 2 (B=2), offset 5
    rec = Recorder({"iter": r})
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("int64", "int64"), hint=14)
    assert m.B == 2
    empty_it = iter(m)
    assert list(empty_it) == []
    assert rec.calls == ["hash0"], "iterating an empty map draws nothing"
    assert m.flags == 0, "iterating an empty map sets no flags"
    m[1] = 1
    it = m.items()
    assert rec.calls == ["hash0", "iter"]
    assert it.start_bucket == 2 and it.offset == 5
    assert m.flags & 3 == 3  # iterator | oldIterator
    assert list(it) == [(1, 1)]
    m.keys(start_bucket=0, offset=0)
    list(m.values(start_bucket=3, offset=7))
    assert rec.calls == ["hash0", "iter"], "an explicit start draws nothing"


@pytest.mark.parametrize("go", CLASSIC)
def test_rand_iter_offset_b0(go):
    rec = Recorder({"iter": 0xABCDEF00_00000006})
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    for i in range(8):
        m[i] = i
    it = iter(m)
    assert (it.start_bucket, it.offset) == (0, 6)


@pytest.mark.parametrize("go", VERSIONS)
def test_rand_delete_to_empty_and_clear_reseed(go):
    p = reseed_purpose(go)
    rec = Recorder({p: [0x1111, 0x2222, 0x3333, 0x4444]})
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("int64", "int64"))
    assert seed_of(m) == 0x1111
    m[5] = 5
    m[6] = 6
    del m[5]
    assert rec.calls == [p]
    assert m.delete(6) is True
    assert rec.calls == [p, p], "a delete that empties the map reseeds"
    assert seed_of(m) == 0x2222
    assert m.delete(6) is False  # empty map: returns before anything
    m.clear()  # no-op on an empty map
    assert rec.calls == [p, p]
    assert seed_of(m) == 0x2222
    m[1] = 1
    m.clear()
    assert rec.calls == [p, p, p]
    assert seed_of(m) == 0x3333


@pytest.mark.parametrize("go", VERSIONS)
def test_rand_nanhash(go):
    rec = Recorder({"nanhash": 0})
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("float64", "int64"))
    nan = float("nan")
    h = reseed_purpose(go)
    assert m.get(nan) is None and (nan in m) is False and m.delete(nan) is False
    assert rec.calls == [h], "NaN lookups on an empty map draw nothing"
    m[nan] = 1
    assert rec.calls == [h, "nanhash"]
    m[nan] = 2
    assert len(m) == 2
    assert (nan in m) is False
    assert m.delete(nan) is False
    with pytest.raises(KeyError):
        m[nan]
    assert rec.calls == [h] + ["nanhash"] * 5
    m[1.5] = 3  # ordinary floats draw nothing
    assert rec.calls == [h] + ["nanhash"] * 5


@pytest.mark.parametrize("go", CLASSIC)
def test_rand_noverflow_draws_from_b16(go):
    """incrnoverflow draws only for B >= 16: one draw per new overflow bucket;
    with B = 16 noverflow grows when the draw's low bit is 0."""
    nan = float("nan")
    for draw, want in ((0, 1), (1, 0)):
        rec = Recorder({"nanhash": 0, "noverflow": draw})
        rt = pymap.Runtime(go=go, rand=rec)
        m = rt.make_map(pymap.MapType("float64", "int64"), hint=390_000)
        assert m.B == 16 and m.next_overflow == 1 << 16
        for i in range(9):  # every NaN gets the same hash: one chain
            m[nan] = i
        assert rec.calls == ["hash0"] + ["nanhash"] * 9 + ["noverflow"]
        assert m.noverflow == want
        assert m.next_overflow == (1 << 16) + 1, "the overflow bucket came from the preallocation"
    # below B = 16 no draw (hint 40: B = 3 on every version, no growth)
    rec = Recorder({"nanhash": 0})
    m = pymap.Runtime(go=go, rand=rec).make_map(pymap.MapType("float64", "int64"), hint=40)
    assert m.B == 3
    for i in range(9):
        m[nan] = i
    assert "noverflow" not in rec.calls
    assert m.noverflow == 1


@pytest.mark.parametrize("go", VERSIONS)
def test_rand_called_with_known_purposes_only(go):
    rec = Recorder()
    rt = pymap.Runtime(go=go, rand=rec)
    m = rt.make_map(pymap.MapType("float64", "string"))
    for i in range(300):
        m[float(i) if i % 7 else float("nan")] = str(i)
        if i % 5 == 0:
            list(m.items())
    m.clear()
    if m.impl == "swiss":
        assert set(rec.calls) <= {"seed", "iter", "nanhash"}
    else:
        assert set(rec.calls) <= {"hash0", "iter", "noverflow", "nanhash"}


class Boom(Exception):
    pass


def _failing_rand_map(go, setup):
    fail = set()

    def rand(purpose):
        if purpose in fail or (purpose == "seed" and "hash0" in fail):  # "hash0": the reseed
            raise Boom(purpose)
        return 0x5555_5555_5555_5555

    m = pymap.Runtime(go=go, rand=rand).make_map(pymap.MapType("float64", "int64"))
    setup(m)
    return m, fail


RAND_FAILURES = {
    # name: (setup, purpose that fails, operation)
    "nan-assign": (lambda m: m.__setitem__(1.0, 1), "nanhash", lambda m: m.__setitem__(float("nan"), 2)),
    "nan-assign-at-growth": (lambda m: [m.__setitem__(float(i), i) for i in range(8)], "nanhash",
                             lambda m: m.__setitem__(float("nan"), 2)),
    "nan-lookup": (lambda m: m.__setitem__(1.0, 1), "nanhash", lambda m: m.get(float("nan"))),
    "iter-draw": (lambda m: m.__setitem__(1.0, 1), "iter", lambda m: iter(m)),
    "reseed-on-delete": (lambda m: m.__setitem__(1.0, 1), "hash0", lambda m: m.delete(1.0)),
    "reseed-on-clear": (lambda m: m.__setitem__(1.0, 1), "hash0", lambda m: m.clear()),
}


@pytest.mark.parametrize("case", sorted(RAND_FAILURES))
@pytest.mark.parametrize("go", ["1.19", "1.23", "1.24-noswiss", "1.24", pymap.DEFAULT_GO])
def test_rand_error_propagates_and_changes_nothing(go, case):
    """The callback's exception (or a RuntimeError chained to it) propagates,
    and, as for any error, the map is left exactly as it was."""
    setup, purpose, op = RAND_FAILURES[case]
    m, fail = _failing_rand_map(go, setup)
    before = snapshot(m)
    fail.add(purpose)
    with pytest.raises((Boom, RuntimeError)) as ei:
        op(m)
    assert isinstance(ei.value, Boom) or isinstance(ei.value.__cause__, Boom)
    fail.clear()
    assert snapshot(m) == before


# ---------------------------------------------------------------------------
# MapType


TYPE_TABLE = [
    # key, elem, key_size, elem_size, key_slot, elem_slot, bucket, ind_k, ind_e, reflexive, needupd, ptrs
    ("int64", "int64", 8, 8, 8, 8, 144, False, False, True, False, False),
    ("int32", "int8", 4, 1, 4, 1, 56, False, False, True, False, False),
    ("int8", "int64", 1, 8, 1, 8, 88, False, False, True, False, False),
    ("string", "int", 16, 8, 16, 8, 208, False, False, True, True, True),
    ("string", "pointer", 16, 8, 16, 8, 208, False, False, True, True, True),
    ("[200]byte", "int", 200, 8, 8, 8, 144, True, False, True, False, True),
    ("int", "[200]byte", 8, 200, 8, 8, 144, False, True, True, False, True),
    ("struct{}", "struct{}", 0, 0, 0, 0, 16, False, False, True, False, False),
    ("[128]byte", "[128]byte", 128, 128, 128, 128, 2064, False, False, True, False, False),
    ("[129]byte", "[129]byte", 129, 129, 8, 8, 144, True, True, True, False, True),
    ("[3]byte", "int16", 3, 2, 3, 2, 56, False, False, True, False, False),
    ("float64", "int", 8, 8, 8, 8, 144, False, False, False, True, False),
    ("int64", "struct{}", 8, 0, 8, 0, 80, False, False, True, False, False),
    ("float32", "bool", 4, 1, 4, 1, 56, False, False, False, True, False),
    ("complex128", "complex64", 16, 8, 16, 8, 208, False, False, False, True, False),
    ("pointer", "int64", 8, 8, 8, 8, 144, False, False, True, False, True),
    ("uintptr", "rune", 8, 4, 8, 4, 112, False, False, True, False, False),
    ("byte", "uint16", 1, 2, 1, 2, 40, False, False, True, False, False),
    ("[0]byte", "uint", 0, 8, 0, 8, 80, False, False, True, False, False),
    ("int64", "string", 8, 16, 8, 16, 208, False, False, True, False, True),
    ("[4096]byte", "[4096]byte", 4096, 4096, 8, 8, 144, True, True, True, False, True),
]


@pytest.mark.parametrize("row", TYPE_TABLE, ids=lambda r: f"map[{r[0]}]{r[1]}")
def test_maptype_properties(row):
    key, elem, ks, es, kslot, eslot, bsize, ik, ie, refl, upd, ptrs = row
    t = pymap.MapType(key, elem)
    assert (t.key_size, t.elem_size) == (ks, es)
    assert (t.key_slot_size, t.elem_slot_size) == (kslot, eslot)
    assert t.bucket_size == bsize
    assert t.bucket_size == 8 + 8 * kslot + 8 * eslot + 8
    assert (t.indirect_key, t.indirect_elem) == (ik, ie)
    assert t.reflexive_key is refl
    assert t.need_key_update is upd
    assert t.has_pointers is ptrs


@pytest.mark.parametrize("alias,canon", [("byte", "uint8"), ("rune", "int32"), ("int", "int64"),
                                         ("uint", "uint64"), ("uintptr", "uint64")])
def test_maptype_aliases_same_layout(alias, canon):
    a, b = pymap.MapType(alias, alias), pymap.MapType(canon, canon)
    assert (a.key_size, a.bucket_size) == (b.key_size, b.bucket_size)


@pytest.mark.parametrize("spelling", ["any", "interface{}", "error", "int128", "[-1]byte",
                                      "[3]int", "map[int]int", "float16", "[]byte", ""])
def test_maptype_refuses(spelling):
    with pytest.raises(ValueError):
        pymap.MapType(spelling, "int")
    with pytest.raises(ValueError):
        pymap.MapType("int", spelling)


def test_maptype_whitespace_struct():
    t = pymap.MapType("struct {}", "struct{}")
    assert t.bucket_size == 16


# ---------------------------------------------------------------------------
# Value conversion


@pytest.mark.parametrize("spelling,lo,hi", [
    ("int8", -128, 127), ("int16", -2**15, 2**15 - 1), ("int32", -2**31, 2**31 - 1),
    ("int64", -2**63, 2**63 - 1), ("int", -2**63, 2**63 - 1), ("rune", -2**31, 2**31 - 1),
    ("uint8", 0, 255), ("byte", 0, 255), ("uint16", 0, 65535), ("uint32", 0, 2**32 - 1),
    ("uint64", 0, 2**64 - 1), ("uint", 0, 2**64 - 1), ("uintptr", 0, 2**64 - 1),
])
def test_int_ranges(spelling, lo, hi):
    m = rt_for("1.23").make_map(pymap.MapType(spelling, spelling))
    m[lo] = hi
    m[hi] = lo
    assert m[lo] == hi and m[hi] == lo
    before = snapshot(m)
    for bad in (lo - 1, hi + 1):
        with pytest.raises(OverflowError):
            m[bad] = 0
        with pytest.raises(OverflowError):
            m[0] = bad
    assert snapshot(m) == before


class Idx:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def test_int_accepts_index_objects_not_bool_or_float():
    np = pytest.importorskip("numpy")
    m = rt_for("1.23").make_map(pymap.MapType("int64", "int32"))
    m[Idx(5)] = Idx(7)
    m[np.int64(6)] = np.int32(8)
    assert m[5] == 7 and m[6] == 8 and m[Idx(6)] == 8
    before = snapshot(m)
    for bad in (True, 1.0, "1", b"1", None, 1j):
        with pytest.raises(TypeError, match="int64"):
            m[bad] = 1
        with pytest.raises(TypeError, match="int32"):
            m[1] = bad
    assert snapshot(m) == before


def test_bool():
    m = rt_for("1.23").make_map(pymap.MapType("bool", "bool"))
    m[True] = False
    m[False] = True
    assert m[True] is False and m[False] is True and len(m) == 2
    for bad in (1, 0, None, "x"):
        with pytest.raises(TypeError, match="bool"):
            m[bad] = True


def test_float_kinds():
    m = rt_for("1.23").make_map(pymap.MapType("float64", "float32"))
    m[1] = 0.1
    assert m[1.0] == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert list(m.keys()) == [1.0] and isinstance(list(m.keys())[0], float)
    m[2.5] = 3
    assert m[2.5] == 3.0
    # float32 rounds to nearest even: 1 + 2**-24 is halfway between 1 and 1 + 2**-23
    m[3.0] = 1 + 2**-24
    assert m[3.0] == 1.0
    m[4.0] = 1 + 3 * 2**-24
    assert m[4.0] == 1 + 2**-22
    for bad in ("1", None, 1j, b"x"):
        with pytest.raises(TypeError, match="float64"):
            m[bad] = 1.0
        with pytest.raises(TypeError, match="float32"):
            m[1.0] = bad
    k = rt_for("1.23").make_map(pymap.MapType("float32", "int8"))
    k[0.1] = 1
    assert list(k.keys()) == [struct.unpack("<f", struct.pack("<f", 0.1))[0]]


def test_complex_kinds():
    m = rt_for("1.23").make_map(pymap.MapType("complex128", "complex64"))
    m[1 + 2j] = 0.1 + 0.2j
    got = m[1 + 2j]
    f = lambda x: struct.unpack("<f", struct.pack("<f", x))[0]
    assert got == complex(f(0.1), f(0.2))
    assert (complex(-0.0, 1) in m) is False
    m[complex(0.0, 1)] = 1
    assert m[complex(-0.0, 1)] == 1
    with pytest.raises(TypeError, match="complex128"):
        m["x"] = 1


def test_string_str_bytes_equivalence():
    m = rt_for("1.23").make_map(pymap.MapType("string", "string"))
    m["a"] = b"x"
    assert m[b"a"] == "x" and isinstance(m[b"a"], str)
    m[b"a"] = "y"
    assert len(m) == 1 and m["a"] == "y"
    m["\u00e9"] = "e"
    assert m["\u00e9".encode()] == "e"
    # invalid UTF-8 bytes are a valid Go string; returned with surrogateescape
    m[b"\xff\xfe"] = "bad"
    assert "\udcff\udcfe" in list(m.keys())
    assert m[b"\xff\xfe"] == "bad"
    m["v"] = b"\x80"
    assert m["v"] == "\udc80"
    before = snapshot(m)
    with pytest.raises(ValueError):  # lone surrogates are not UTF-8 (UnicodeEncodeError)
        m["\ud800"] = "x"
    for bad in (1, None, 1.0):
        with pytest.raises(TypeError, match="string"):
            m[bad] = "x"
        with pytest.raises(TypeError, match="string"):
            m["q"] = bad
    assert snapshot(m) == before


def test_byte_arrays():
    m = rt_for("1.23").make_map(pymap.MapType("[3]byte", "[5]byte"))
    m[b"abc"] = bytearray(b"12345")
    m[bytearray(b"abd")] = memoryview(b"54321")
    assert m[memoryview(b"abc")] == b"12345" and isinstance(m[b"abc"], bytes)
    assert m[b"abd"] == b"54321"
    before = snapshot(m)
    for bad in (b"ab", b"abcd", b""):
        with pytest.raises(ValueError):
            m[bad] = b"12345"
    for bad in (b"1234", b"123456"):
        with pytest.raises(ValueError):
            m[b"abc"] = bad
    for bad in ("abc", 1, None):
        with pytest.raises(TypeError, match=r"\[3\]byte"):
            m[bad] = b"12345"
    assert snapshot(m) == before
    z = rt_for("1.23").make_map(pymap.MapType("[0]byte", "int8"))
    z[b""] = 1
    z[b""] = 2
    assert len(z) == 1 and z[b""] == 2


def test_struct_and_pointer():
    m = rt_for("1.23").make_map(pymap.MapType("struct{}", "pointer"))
    m[None] = 0xC000010000
    assert m[None] == 0xC000010000 and len(m) == 1
    m[None] = 2**64 - 1
    assert m[None] == 2**64 - 1 and len(m) == 1
    with pytest.raises(TypeError, match=r"struct\{\}"):
        m[0] = 1
    with pytest.raises(OverflowError):
        m[None] = -1
    with pytest.raises(OverflowError):
        m[None] = 2**64
    with pytest.raises(TypeError, match="pointer"):
        m[None] = "x"
    e = rt_for("1.23").make_map(pymap.MapType("int64", "struct{}"))
    e[1] = None
    assert e[1] is None and list(e.items()) == [(1, None)]
    with pytest.raises(TypeError):
        e[2] = 0


# ---------------------------------------------------------------------------
# Map protocol


@pytest.mark.parametrize("go", VERSIONS)
def test_keyerror_and_get_semantics(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    with pytest.raises(KeyError):
        m[1]
    with pytest.raises(KeyError):
        del m[1]
    assert m.get(1) is None and m.get(1, "d") == "d"
    assert m.delete(1) is False
    m[1] = 10
    assert m[1] == 10 and m.get(1) == 10 and 1 in m and 2 not in m
    with pytest.raises(KeyError):
        del m[2]
    assert len(m) == 1
    del m[1]
    assert len(m) == 0 and 1 not in m
    m[1] = 11
    assert m.delete(1) is True and m.delete(1) is False


def test_goMap_constructor_and_default_runtime():
    t = pymap.MapType("int64", "int64")
    m = pymap.GoMap(t)
    assert isinstance(m, pymap.GoMap)
    rt = pymap.default_runtime()
    assert isinstance(rt, pymap.Runtime) and pymap.default_runtime() is rt
    m2 = pymap.GoMap(t, hint=100, runtime=pymap.Runtime(go="1.21", seed=3))
    assert m2.B == 5  # 1.21: 97..192 -> 5


def test_not_a_mutable_mapping():
    import collections.abc

    m = rt_for("1.23").make_map(pymap.MapType("int64", "int64"))
    assert not isinstance(m, collections.abc.MutableMapping)


@pytest.mark.parametrize("go", CLASSIC)
def test_hash0_setter(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    m.hash0 = 0xCAFEBABE
    assert m.hash0 == 0xCAFEBABE
    m[1] = 1
    with pytest.raises(ValueError):
        m.hash0 = 5
    assert m.hash0 == 0xCAFEBABE
    del m[1]
    m.hash0 = 5
    assert m.hash0 == 5
    for bad in (-1, 2**32):
        with pytest.raises((ValueError, OverflowError)):
            m.hash0 = bad
    assert m.hash0 == 5


def test_hash0_replay_reproduces_layout():
    """Same hashkey and hash0 -> byte-identical buckets."""
    t = pymap.MapType("string", "int64")
    rt_a = pymap.Runtime(go="1.23", seed=1)
    a = rt_a.make_map(t)
    b = pymap.Runtime(go="1.23", hashkey=rt_a.hashkey).make_map(t)  # random seed
    b.hash0 = a.hash0
    for i in range(100):
        a[f"k{i}"] = i
        b[f"k{i}"] = i
    tops = lambda m: [[bytes(bk.tophash) for bk in c] for c in m.buckets()]
    assert tops(a) == tops(b)


# ---------------------------------------------------------------------------
# Iteration


@pytest.mark.parametrize("go", VERSIONS)
def test_iterators_are_one_shot_and_kinds(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "string"))
    for i in range(20):
        m[i] = str(i)
    it = m.items()
    assert isinstance(it, pymap.MapIterator)
    assert iter(it) is it
    got = list(it)
    assert sorted(got) == sorted((i, str(i)) for i in range(20))
    assert list(it) == []
    assert sorted(m.keys()) == list(range(20))
    assert sorted(m.values()) == sorted(str(i) for i in range(20))
    assert sorted(iter(m)) == list(range(20))


@pytest.mark.parametrize("go", CLASSIC)
def test_explicit_start_validation(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"), hint=14)
    m[1] = 1
    assert m.B == 2
    for kw in ({"start_bucket": 0}, {"offset": 0}):
        with pytest.raises((ValueError, TypeError)):
            m.items(**kw)
    for sb, off in ((4, 0), (-1, 0), (0, 8), (0, -1), (2**64, 0)):
        with pytest.raises((ValueError, OverflowError)):
            m.keys(start_bucket=sb, offset=off)
    it = m.values(start_bucket=3, offset=7)
    assert (it.start_bucket, it.offset) == (3, 7)
    assert list(it) == [1]


def expected_order(m, start_bucket, offset):
    """mapiternext's order over a map that is not growing, from buckets()."""
    chains = m.buckets()
    n = len(chains)
    out = []
    for j in range(n):
        for b in chains[(start_bucket + j) % n]:
            for i in range(8):
                s = (i + offset) & 7
                if b.tophash[s] >= 5:
                    out.append((b.keys[s], b.elems[s]))
    return out


@pytest.mark.parametrize("go", CLASSIC)
def test_explicit_start_order_matches_buckets(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    for i in range(40):
        m[i * 7919] = i
    for i in range(0, 40, 3):
        del m[i * 7919]
    while m.growing:  # finish any grow
        m[0] = 0
        del m[0]
    assert not m.growing
    for sb in range(1 << m.B):
        for off in range(8):
            assert list(m.items(start_bucket=sb, offset=off)) == expected_order(m, sb, off)


@pytest.mark.parametrize("go", CLASSIC)
def test_explicit_start_on_empty_and_lazy_map(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    assert list(m.items(start_bucket=0, offset=3)) == []
    with pytest.raises((ValueError, OverflowError)):
        m.items(start_bucket=1, offset=0)


@pytest.mark.parametrize("go", CLASSIC)
def test_iterating_pointer_free_map_allocates_extra(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    m[1] = 1
    before = m.memory()
    assert before.extra == 0 and not m.extra_allocated
    list(m.items())
    after = m.memory()
    assert after.extra == 24 and m.extra_allocated
    assert after.overflow_slice == 24  # the slice header, no backing array yet
    assert after.allocated - before.allocated == 48
    list(m.items())
    assert m.memory().allocated == after.allocated
    p = rt_for(go).make_map(pymap.MapType("string", "int64"))
    p["a"] = 1
    b0 = p.memory()
    list(p.items())
    assert p.memory() == b0 and not p.extra_allocated


# ---------------------------------------------------------------------------
# buckets(), oldbuckets(), memory()


@pytest.mark.parametrize("go", CLASSIC)
def test_buckets_shape(go):
    t = pymap.MapType("int64", "int64")
    m = rt_for(go).make_map(t)
    assert m.buckets() == [] and m.oldbuckets() is None
    m[12345] = 1
    ch = m.buckets()
    assert len(ch) == 1 and len(ch[0]) == 1
    b = ch[0][0]
    assert isinstance(b, pymap.Bucket)
    assert isinstance(b.tophash, bytes) and len(b.tophash) == 8
    assert isinstance(b.keys, tuple) and isinstance(b.elems, tuple)
    assert len(b.keys) == 8 and len(b.elems) == 8
    assert b.origin == "array" and b.index == 0
    assert b.tophash[0] >= 5 and b.keys[0] == 12345 and b.elems[0] == 1
    assert b.tophash[1:] == bytes(7) and b.keys[1:] == (0,) * 7
    h = rt_for(go).make_map(t, hint=53)
    ch = h.buckets()
    assert len(ch) == 16 and all(len(c) == 1 for c in ch)
    assert [c[0].index for c in ch] == list(range(16))
    assert all(c[0].origin == "array" for c in ch)
    assert h.next_overflow == 16


def test_bucket_decoding_zero_values():
    rt = rt_for("1.23")
    m = rt.make_map(pymap.MapType("string", "[129]byte"))
    m["x"] = b"\x01" * 129
    b = m.buckets()[0][0]
    assert b.keys[0] == "x" and b.elems[0] == b"\x01" * 129
    assert b.keys[1:] == ("",) * 7
    assert b.elems[1:] == (None,) * 7  # nil indirect slots
    s = rt.make_map(pymap.MapType("struct{}", "[2]byte"))
    s[None] = b"ab"
    b = s.buckets()[0][0]
    assert b.keys == (None,) * 8 and b.elems == (b"ab",) + (b"\0\0",) * 7


@pytest.mark.parametrize("go", CLASSIC)
def test_oldbuckets_during_growth(go):
    m = rt_for(go).make_map(pymap.MapType("string", "int64"))
    i = 0
    while not m.growing or m.B < 3:
        m[f"k{i}"] = i
        i += 1
        assert i < 10_000
    old = m.oldbuckets()
    assert old is not None and len(old) == 1 << (m.B - 1)
    assert all(isinstance(c, list) and c for c in old)
    assert m.nevacuate < len(old)
    while m.growing:
        m[f"k{i}"] = i
        i += 1
    assert m.oldbuckets() is None
    assert m.nevacuate == 1 << (m.B - 1)


@pytest.mark.parametrize("go", SWISS)
def test_memory_fields_swiss(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    mem = m.memory()
    assert isinstance(mem, pymap.SwissMapMemory) and dataclasses.is_dataclass(mem)
    names = ("map", "directory", "tables", "groups", "small_group", "indirect", "pointees",
             "total", "allocated")
    for n in names:
        assert isinstance(getattr(mem, n), int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mem.total = 0
    assert mem.map == 48 and mem.total == 48 and mem.allocated == 48
    assert mem.directory == mem.tables == mem.groups == mem.small_group == 0
    m[1] = 1
    mem = m.memory()
    assert mem.small_group == 144 and mem.total == 48 + 144  # 8 + 8 * 16 bytes: class 144
    for i in range(2000):
        m[i] = i
    mem = m.memory()
    assert mem.small_group == 0 and mem.groups > 0 and mem.tables > 0 and mem.directory > 0
    assert mem.total == sum(getattr(mem, n) for n in names[:-2])
    assert mem.allocated >= mem.total


@pytest.mark.parametrize("go", CLASSIC)
def test_memory_fields(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    mem = m.memory()
    assert isinstance(mem, pymap.MapMemory) and dataclasses.is_dataclass(mem)
    names = ("hmap", "extra", "buckets", "oldbuckets", "overflow", "overflow_slice",
             "indirect", "pointees", "total", "allocated")
    for n in names:
        assert isinstance(getattr(mem, n), int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mem.total = 0
    hmap = hmap_bytes(go)
    assert mem.hmap == hmap and mem.total == hmap and mem.allocated == hmap
    assert mem.buckets == mem.extra == mem.oldbuckets == mem.overflow == 0
    m[1] = 1
    mem = m.memory()
    assert mem.buckets == 144 and mem.total == hmap + 144
    for i in range(2000):
        m[i] = i
    mem = m.memory()
    parts = sum(getattr(mem, n) for n in names[:-2])
    assert mem.total == parts
    assert mem.allocated >= mem.total


def test_memory_indirect_boxes():
    m = rt_for("1.23").make_map(pymap.MapType("[200]byte", "[129]byte"))
    m[bytes(200)] = bytes(129)
    mem = m.memory()
    assert mem.indirect == 208 + 144  # size classes of 200 and 129 bytes
    m.delete(bytes(200))
    assert m.memory().indirect == 0


def test_make_map_memoryerror_changes_nothing():
    rt = rt_for("1.23")
    t = pymap.MapType("int64", "int64")
    with pytest.raises(MemoryError):
        rt.make_map(t, hint=2**40)  # 2**40 * 144 < 2**48: honoured, far above max_alloc
    m = rt.make_map(t, hint=2**62)  # bogus: treated as 0
    assert m.B == 0


# ---------------------------------------------------------------------------
# On any error nothing changes


@pytest.mark.parametrize("go", VERSIONS)
def test_failed_insert_at_growth_point_changes_nothing(go):
    m = rt_for(go).make_map(pymap.MapType("int64", "string"))
    for i in range(8):
        m[i] = str(i)
    before = snapshot(m)
    with pytest.raises(TypeError):
        m[8] = 8  # would be the growing insert
    with pytest.raises(OverflowError):
        m[2**63] = "x"
    with pytest.raises(TypeError):
        m["8"] = "x"
    with pytest.raises(TypeError):
        m.get("x")
    with pytest.raises(TypeError):
        m.delete("x")
    with pytest.raises(TypeError):
        "x" in m
    assert snapshot(m) == before
    m[8] = "8"
    if m.impl == "classic":
        assert m.B == 1 and len(m) == 9
    else:  # the 9th key makes a 16-slot table
        assert not m.small and m.dir_len == 1 and len(m) == 9


@pytest.mark.parametrize("go", CLASSIC)
def test_failed_ops_during_growth_change_nothing(go):
    m = rt_for(go).make_map(pymap.MapType("[3]byte", "int64"))
    i = 0
    while not m.growing or m.B < 4:
        m[i.to_bytes(3, "little")] = i
        i += 1
    before = snapshot(m)
    for bad in (b"ab", "abc", 1):
        with pytest.raises((TypeError, ValueError)):
            m[bad] = 1
        with pytest.raises((TypeError, ValueError)):
            del m[bad]
    with pytest.raises(KeyError):
        m[b"\xff\xff\xff"]
    assert snapshot(m) == before


# ---------------------------------------------------------------------------
# pymap.testing without hypothesis


def test_testing_module_needs_hypothesis():
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"
        "try:\n"
        "    import pymap.testing\n"
        "except ImportError as e:\n"
        "    print('IMPORTERROR', e)\n"
    )
    # Run beside the pymap this test imported (an installed one in CI's debug
    # venv, the work tree with an editable install): `-c` puts cwd on sys.path.
    where = os.path.dirname(os.path.dirname(os.path.abspath(pymap.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=where)
    assert "IMPORTERROR" in out.stdout, out.stderr
    assert "pymap[testing]" in out.stdout


@pytest.mark.parametrize("go", SWISS)
def test_max_alloc_memoryerror_on_growth_changes_nothing_swiss(go):
    """A table rehash whose group array is over max_alloc raises MemoryError
    and changes nothing: groups of map[int64]int64 are 136 bytes, so the
    512-slot table (64 groups, 8704 B) needed by the 225th insert is refused."""
    r = rt_for(go)
    r.max_alloc = 5000
    t = pymap.MapType("int64", "int64")
    with pytest.raises(MemoryError):
        r.make_map(t, hint=300)
    m = r.make_map(t)
    i = 0
    while True:
        before = snapshot(m)
        try:
            m[i] = i
        except MemoryError:
            break
        i += 1
        assert i < 1000
    assert i == 224 and [tb.capacity for tb in m.tables()] == [256]
    assert snapshot(m) == before
    m.check()
    assert len(m) == i and m.get(i) is None


@pytest.mark.parametrize("go", CLASSIC)
def test_max_alloc_memoryerror_on_growth_changes_nothing(go):
    r = rt_for(go)
    r.max_alloc = 5000  # B = 5 array of map[int64]int64 is 37 * 144 = 5328 bytes
    assert r.max_alloc == 5000
    t = pymap.MapType("int64", "int64")
    with pytest.raises(MemoryError):
        r.make_map(t, hint=200)
    m = r.make_map(t)
    i = 0
    while True:
        before = snapshot(m)
        try:
            m[i] = i
        except MemoryError:
            break
        i += 1
        assert i < 1000
    assert m.B == 4 and i == int(FACTS[go].classic_load_factor * 16)
    assert snapshot(m) == before
    m.check()
    assert len(m) == i and m.get(i) is None


# ---------------------------------------------------------------------------
# The consistency checker


def test_invariant_error_is_assertion_error():
    assert issubclass(pymap.InvariantError, AssertionError)


@pytest.mark.parametrize("go", SWISS)
@pytest.mark.parametrize("where", ["small", "table"])
@pytest.mark.parametrize("corruption", ["h2", "empty", "tombstone", "key"])
def test_check_detects_corruption_swiss(go, where, corruption):
    """The Swiss checker is not vacuous: corrupt group memory behind the API's back."""
    native = pytest.importorskip("pymap._native")
    ffi, lib = native.ffi, native.lib
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"), hint=0 if where == "small" else 14)
    for i in range(5):
        m[i] = i
    m.check()
    if where == "small":
        g = ffi.cast("uint8_t *", lib.pm_swiss_group(m._ptr, -1, 0))
    else:
        gi = next(j for j, grp in enumerate(m.tables()[0].groups) if any(c < 0x80 for c in grp.ctrl))
        g = ffi.cast("uint8_t *", lib.pm_swiss_group(m._ptr, 0, gi))
    s = next(j for j in range(8) if g[j] < 0x80)  # a full slot
    if corruption == "h2":
        g[s] ^= 0x01  # the control byte no longer matches H2 of the key
    elif corruption == "empty":
        g[s] = 0x80  # used no longer matches the full slots
    elif corruption == "tombstone":
        g[s] = 0xFE  # a tombstone in a small map, or beside empty slots, breaks the counts
    else:
        g[8 + 16 * s] ^= 0x40  # the key changed: its H2 or probe path is wrong
    with pytest.raises(pymap.InvariantError):
        m.check()


@pytest.mark.parametrize("go", CLASSIC)
@pytest.mark.parametrize("corruption", ["tophash", "emptyrest", "key"])
def test_check_detects_corruption(go, corruption):
    """m.check() is not vacuous: corrupt bucket memory behind the API's back."""
    native = pytest.importorskip("pymap._native")
    ffi, lib = native.ffi, native.lib
    m = rt_for(go).make_map(pymap.MapType("int64", "int64"))
    for i in range(5):
        m[i] = i
    m.check()
    origin = ffi.new("int *")
    aidx = ffi.new("int64_t *")
    b = ffi.cast("uint8_t *", lib.pm_chain_bucket(m._ptr, 0, 0, 0, origin, aidx))
    if corruption == "tophash":
        b[1] = 5 if b[1] != 5 else 6  # tophash no longer matches the key's hash
    elif corruption == "emptyrest":
        b[1] = 0  # emptyRest before live slots; count no longer matches
    else:
        b[8 + 8 * 2] ^= 0x40  # key of slot 2 changed: tophash mismatch or duplicate
    with pytest.raises(pymap.InvariantError):
        m.check()


# ---------------------------------------------------------------------------
# A rand() failing in the middle of an operation (after its first change)


def _counting_rand(fail_at):
    calls = []

    def rand(purpose):
        calls.append(purpose)
        if fail_at[0] is not None and len(calls) == fail_at[0]:
            raise Boom(purpose)
        return (len(calls) * 0x9E3779B97F4A7C15) % 2**64

    return rand, calls


@pytest.mark.parametrize("go", ["1.19", "1.21", "1.23", "1.24-noswiss"])
def test_rand_failure_during_nan_evacuation_changes_nothing(go):
    fail_at = [None]
    rand, calls = _counting_rand(fail_at)
    m = pymap.Runtime(go=go, rand=rand).make_map(pymap.MapType("float64", "int64"))
    for i in range(8):
        m[float("nan")] = i                   # B = 0, 8 NaN entries
    before = repr(snapshot(m))
    fail_at[0] = len(calls) + 3               # the grow evacuates 8 NaNs: fail on the 3rd draw
    with pytest.raises(Boom):
        m[1.5] = 1                            # count 9 > 8: grow 0 -> 1, evacuate
    assert repr(snapshot(m)) == before
    fail_at[0] = None
    n = len(calls)
    m[1.5] = 1
    assert len(calls) - n == 8                # one draw per NaN evacuated, each made once
    assert m.B == 1 and len(m) == 9
    m.check()


@pytest.mark.parametrize("go", ["1.19", "1.23"])
def test_rand_failure_in_noverflow_draw_changes_nothing(go):
    """From B = 16 each new overflow bucket draws to decide whether noverflow counts it."""
    fail_at = [None]
    rand, calls = _counting_rand(fail_at)
    rt = pymap.Runtime(go=go, rand=rand, hashkey=(1, 3, 5, 7))
    t = pymap.MapType("int64", "int64")
    m = rt.make_map(t, 13 * 2**14 + 1)        # smallest hint giving B = 16
    assert m.B == 16
    from pymap._native import ffi, lib
    out = ffi.new("uint64_t *")
    same = []
    k = 0
    while len(same) < 9:                      # 9 keys of one chain: the 9th needs an overflow bucket
        img = k.to_bytes(8, "little", signed=True)
        assert lib.pm_hash_key(rt._ptr, t._ptr, img, 8, m.hash0, out) == 0
        if out[0] & 0xFFFF == 0:
            same.append(k)
        k += 1
    for key in same[:8]:
        m[key] = key
    before = snapshot(m)
    fail_at[0] = len(calls) + 1
    with pytest.raises(Boom):
        m[same[8]] = 1
    assert snapshot(m) == before
    fail_at[0] = None
    m[same[8]] = 1
    assert len(m) == 9 and len(m.buckets()[0]) == 2
    m.check()
