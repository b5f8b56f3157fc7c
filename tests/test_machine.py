"""Hypothesis state machines: every version (classic and Swiss) x several key
kinds, against a dict model.

The machines come from pymap.testing.map_machine (the same factory users get);
m.check() runs after every step.  Settings keep the whole file well under
90 s on 2 cores; raise them with a Hypothesis profile for longer runs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pymap
from pymap.testing import (
    MapModel,
    apply_op,
    canonical,
    growth_counts,
    hints,
    is_nan_key,
    map_machine,
    map_types,
    nth_value,
    op_sequences,
    token,
    tombstone_check,
    values,
)

# key kind -> elem used with it
KINDS = {
    "int64": "int64",
    "int32": "int8",
    "string": "string",
    "float64": "int64",
    "[3]byte": "int16",
    "[129]byte": "[129]byte",  # indirect key and elem
    "struct{}": "int64",
}

MACHINE_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _name(go, key):
    return "Test_" + "".join(c if c.isalnum() else "_" for c in f"{key}_{go}")


for _go in pymap.GO_VERSIONS:
    for _key, _elem in KINDS.items():
        _tc = map_machine(go=_go, key=_key, elem=_elem, seed=None).TestCase
        _tc.settings = MACHINE_SETTINGS
        globals()[_name(_go, _key)] = _tc
del _go, _key, _elem, _tc

# The documented spelling, with a fixed runtime seed.
TestInt64_123 = map_machine(go="1.23", key="int64", elem="int64", seed=0).TestCase
TestInt64_123.settings = MACHINE_SETTINGS
# The default version (a Swiss-table map), as map_machine() gives it.
TestDefault = map_machine(key="string", elem="int64", seed=0).TestCase
TestDefault.settings = MACHINE_SETTINGS


def test_map_machine_defaults_to_default_go():
    assert map_machine().go_version == pymap.DEFAULT_GO


# ---------------------------------------------------------------------------
# The exported strategies and helpers


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(go=st.sampled_from(pymap.GO_VERSIONS),
       kv=st.sampled_from([("int64", "int64"), ("string", "int64"), ("float64", "string"),
                           ("[3]byte", "[129]byte"), ("int8", "bool")]),
       data=st.data())
def test_op_sequences_against_model(go, kv, data):
    key, elem = kv
    ops = data.draw(op_sequences(key, elem, go=go, max_count=300, max_churn=200))
    m = pymap.Runtime(go=go, seed=1).make_map(pymap.MapType(key, elem))
    model = MapModel(key, elem, go)
    for op in ops:
        apply_op(m, op, model)
    m.check()
    assert len(m) == len(model)
    model.check_items(list(m.items()))
    if m.impl == "classic":
        tombstone_check(m.buckets())
    else:
        assert m.used == len(model)


@settings(max_examples=40, deadline=None)
@given(t=map_types())
def test_map_types_strategy(t):
    assert isinstance(t, pymap.MapType)
    assert t.bucket_size == 8 + 8 * t.key_slot_size + 8 * t.elem_slot_size + 8
    # the Swiss group: a control word and 8 slots; zero-size slots still get the
    # trailing padding word (golang/go#71368), so the smallest group is 16 bytes
    assert t.group_size == (8 + 8 * t.slot_size if t.slot_size else 16)
    assert 0 <= t.elem_offset <= t.slot_size


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), spelling=st.sampled_from(
    ["bool", "int8", "uint16", "int32", "uint64", "rune", "float32", "float64", "complex64",
     "complex128", "string", "pointer", "struct{}", "[0]byte", "[5]byte", "[200]byte"]))
def test_values_round_trip(data, spelling):
    """Every generated value is accepted and comes back as canonical(value)."""
    m = pymap.Runtime(go="1.23", seed=2).make_map(pymap.MapType("int8", spelling))
    v = data.draw(values(spelling))
    m[1] = v
    assert token(spelling, m[1]) == token(spelling, canonical(spelling, v))


@settings(max_examples=30, deadline=None)
@given(h=hints(), go=st.sampled_from(pymap.GO_VERSIONS))
def test_hints_strategy_is_usable(h, go):
    m = pymap.Runtime(go=go, seed=3).make_map(pymap.MapType("int64", "int64"), hint=h)
    assert len(m) == 0
    if h < 0 or h >= 1 << 62:  # bogus: Go treats it as 0
        if m.impl == "classic":
            assert m.count == 0 and m.B == 0
        else:
            assert m.used == 0 and m.dir_len == 0 and m.tables() == []


def test_growth_counts_cover_boundaries():
    from hypothesis import find

    for b in (8, 13, 26, 52, 104, 12, 24, 48, 96, 14, 28, 56, 112):
        assert find(growth_counts(max_count=200), lambda n, b=b: n == b + 1) == b + 1
    for b in (8, 14, 28, 56, 112, 224, 448, 896):  # the Swiss boundaries of a Swiss version
        assert find(growth_counts(pymap.DEFAULT_GO, max_count=1000), lambda n, b=b: n == b + 1) == b + 1
    swiss = [v for v in pymap.GO_VERSIONS if pymap.version_facts(v).map_impl == "swiss"]
    assert find(hints(go=swiss[0]), lambda h: h == 897) == 897
    assert find(hints(), lambda h: h == 1792) == 1792


def test_version_boundaries_follow_version_facts():
    from pymap.testing import BOUNDARY_COUNTS_65, BOUNDARY_COUNTS_121, BOUNDARY_COUNTS_SWISS, _boundaries

    for v in pymap.GO_VERSIONS:
        f = pymap.version_facts(v)
        want = (BOUNDARY_COUNTS_SWISS if f.map_impl == "swiss"
                else BOUNDARY_COUNTS_121 if f.classic_load_factor == 6.0 else BOUNDARY_COUNTS_65)
        assert _boundaries(v) == want


@pytest.mark.parametrize("spelling", ["int8", "bool", "[1]byte", "struct{}", "float32", "string", "[129]byte"])
def test_nth_value_distinct(spelling):
    from pymap.testing import key_space

    n = min(key_space(spelling) or 1000, 1000)
    vals = {canonical(spelling, nth_value(spelling, i)) for i in range(n)}
    assert len(vals) == n
    assert not any(is_nan_key(spelling, nth_value(spelling, i)) for i in range(n))


def test_map_machine_rejects_unknown_version():
    with pytest.raises(ValueError):
        map_machine(go="1.18")
    with pytest.raises(ValueError):
        map_machine(go="1.27-noswiss")
