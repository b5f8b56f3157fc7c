"""Hypothesis strategies and a ready-made state machine for testing pymap.

This module is the public testing toolkit of pymap.  It needs the optional
dependency `hypothesis`; install it with ``pip install "pymap[testing]"``.

Strategies
----------
- :func:`go_versions` -- the modelled Go versions (``pymap.GO_VERSIONS``).
- :func:`type_spellings` / :func:`map_types` -- Go type spellings such as
  ``"int64"``, ``"string"``, ``"[129]byte"`` and ``pymap.MapType`` objects
  built from them.
- :func:`values` -- Python values accepted by pymap for one Go type
  (``values("float64")`` includes NaN, -0.0 and infinities).
- :func:`growth_counts` -- entry counts biased to the growth boundaries of
  the map implementation: the classic load-factor boundaries (8, 13, 26, 52,
  104, ... and the 6.0-per-bucket ones of Go 1.21: 12, 24, 48, 96, ...) and
  the Swiss-table ones at 7/8 of a power-of-two capacity (8 for a small map,
  then 14, 28, 56, 112, 224, 448, 896: the next insert grows, and the one
  after 896 splits a 1024-slot table and doubles the directory).
- :func:`hints` -- ``make(map, hint)`` sizes: tiny, near the boundaries of
  both implementations (897 and 1792 included), moderate, and the bogus
  huge/negative hints Go ignores.
- :func:`op_sequences` -- lists of operations (see :func:`apply_op`) made of
  fill-to-a-boundary blocks, sliding-window churn (insert a new key, delete
  the oldest: it drives same-size growth on a classic map and tombstones,
  pruning or growth on a Swiss map) and single random operations.

State machine
-------------
:func:`map_machine` returns a configured
:class:`hypothesis.stateful.RuleBasedStateMachine` subclass that drives one
``pymap.GoMap`` against a plain-dict model (:class:`MapModel`) and calls
``m.check()`` after every step.  It works for both map implementations
(Swiss-table versions such as the default ``pymap.DEFAULT_GO`` and the
classic ones); what it checks and where it biases sizes follows
``pymap.version_facts(go)``::

    from pymap.testing import map_machine
    TestInt64 = map_machine(go="1.23", key="int64", elem="int64").TestCase
    TestSwiss = map_machine(go="1.27", key="string", elem="int64", seed=0).TestCase

Helpers
-------
:func:`nth_value` (deterministic distinct values), :func:`canonical`,
:func:`token`, :func:`is_nan_key`, :func:`key_space`, :func:`tombstone_check`
and :class:`MapModel` are exported for writing further tests.
"""

from __future__ import annotations

try:
    from hypothesis import HealthCheck, assume, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        RuleBasedStateMachine,
        initialize,
        invariant,
        precondition,
        rule,
    )
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "pymap.testing needs the optional dependency 'hypothesis'; "
        'install it with: pip install "pymap[testing]"'
    ) from exc

import math
import operator
import re
import struct
from collections import Counter
from typing import Any, Iterable

import pymap

__all__ = [
    "BOUNDARY_COUNTS",
    "BOGUS_HINTS",
    "KEY_SPELLINGS",
    "ELEM_SPELLINGS",
    "MapModel",
    "apply_op",
    "canonical",
    "go_versions",
    "growth_counts",
    "hints",
    "is_nan_key",
    "key_space",
    "map_machine",
    "map_types",
    "normalize_spelling",
    "nth_value",
    "op_sequences",
    "token",
    "tombstone_check",
    "type_spellings",
    "values",
]

# ---------------------------------------------------------------------------
# Go type spellings

_INTS = {
    "int8": (True, 8),
    "int16": (True, 16),
    "int32": (True, 32),
    "int64": (True, 64),
    "int": (True, 64),
    "rune": (True, 32),
    "uint8": (False, 8),
    "byte": (False, 8),
    "uint16": (False, 16),
    "uint32": (False, 32),
    "uint64": (False, 64),
    "uint": (False, 64),
    "uintptr": (False, 64),
}
_ARRAY = re.compile(r"^\[(\d+)\]byte$")

#: Key spellings the strategies draw from by default (every kind, several
#: array sizes: zero-size, odd sizes, the 128-byte inline limit, indirect).
KEY_SPELLINGS: tuple[str, ...] = (
    "bool", "int8", "int16", "int32", "int64", "int", "uint8", "uint16",
    "uint32", "uint64", "uint", "uintptr", "byte", "rune", "float32",
    "float64", "complex64", "complex128", "string", "pointer", "struct{}",
    "[0]byte", "[1]byte", "[3]byte", "[8]byte", "[16]byte", "[17]byte",
    "[128]byte", "[129]byte", "[200]byte",
)
#: Elem spellings the strategies draw from by default.
ELEM_SPELLINGS: tuple[str, ...] = KEY_SPELLINGS

#: Entry counts at the classic doubling boundaries: 6.5 per bucket (8 for
#: B = 0), then the Go 1.21 boundaries at 6.0 per bucket.
BOUNDARY_COUNTS_65: tuple[int, ...] = (8, 13, 26, 52, 104, 208, 416, 832, 1664, 3328)
BOUNDARY_COUNTS_121: tuple[int, ...] = (8, 12, 24, 48, 96, 192, 384, 768, 1536, 3072)
#: Entry counts at the Swiss-table growth boundaries: a full small map (8),
#: then 7/8 of each table capacity 16..1024 (the next insert rehashes; after
#: 896 a 1024-slot table splits and the directory doubles), then 2 and 4
#: full 1024-slot tables.
BOUNDARY_COUNTS_SWISS: tuple[int, ...] = (8, 14, 28, 56, 112, 224, 448, 896, 1792, 3584)
#: Every boundary of every modelled version.
BOUNDARY_COUNTS: tuple[int, ...] = tuple(sorted(set(BOUNDARY_COUNTS_65 + BOUNDARY_COUNTS_121
                                                    + BOUNDARY_COUNTS_SWISS)))

#: Hints Go ignores (treated as 0): negative, or hint * bucketsize over 2**48
#: (or overflowing uintptr) for every bucket size >= 16.
BOGUS_HINTS: tuple[int, ...] = (-1, -(1 << 30), -(1 << 63), 1 << 62, (1 << 63) - 1)


def normalize_spelling(spelling: str) -> str:
    """Return `spelling` without blanks (``"struct {}"`` -> ``"struct{}"``)."""
    if not isinstance(spelling, str):
        raise TypeError(f"a Go type spelling must be a str, not {type(spelling).__name__}")
    return re.sub(r"\s+", "", spelling)


def _kind(spelling: str) -> tuple:
    s = normalize_spelling(spelling)
    if s in _INTS:
        return ("int",) + _INTS[s]
    if s == "bool":
        return ("bool",)
    if s in ("float32", "float64"):
        return ("float", int(s[5:]))
    if s in ("complex64", "complex128"):
        return ("complex", int(s[7:]))
    if s == "string":
        return ("string",)
    if s == "pointer":
        return ("pointer",)
    if s == "struct{}":
        return ("empty",)
    m = _ARRAY.match(s)
    if m:
        return ("bytes", int(m.group(1)))
    raise ValueError(f"unknown Go type spelling {spelling!r}")


def _spelling_of(t: Any, which: str) -> str:
    """Accept a spelling or a pymap.MapType (its `key`/`elem` attribute)."""
    if isinstance(t, str):
        return normalize_spelling(t)
    for attr in (which, which + "_type", which + "_spelling"):
        v = getattr(t, attr, None)
        if isinstance(v, str):
            return normalize_spelling(v)
    raise TypeError(f"cannot find the {which} spelling of {t!r}")


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def key_space(spelling: str) -> int | None:
    """Number of distinct keys of this type, or None when practically unbounded."""
    k = _kind(spelling)
    if k[0] == "int":
        return 1 << k[2]
    if k[0] == "bool":
        return 2
    if k[0] == "empty":
        return 1
    if k[0] == "bytes":
        return 256 ** k[1] if k[1] < 8 else None
    return None


def nth_value(spelling: str, i: int) -> Any:
    """The i-th value of a deterministic sequence of distinct values.

    Values repeat only after :func:`key_space` of them (e.g. every 256 for
    int8, every value for struct{}).  Float and complex values are never NaN.
    """
    k = _kind(spelling)
    kind = k[0]
    if kind == "int":
        signed, bits = k[1], k[2]
        v = i % (1 << bits)
        if signed and v >= 1 << (bits - 1):
            v -= 1 << bits
        return v
    if kind == "bool":
        return bool(i & 1)
    if kind == "float":
        return float(i)
    if kind == "complex":
        return complex(float(i), 0.5)
    if kind == "string":
        return f"k{i}"
    if kind == "pointer":
        return (i * 8) % (1 << 64)
    if kind == "empty":
        return None
    n = k[1]
    if n == 0:
        return b""
    if n < 8:
        i %= 256 ** n
    return i.to_bytes(8, "little")[:n] if n <= 8 else i.to_bytes(8, "little") + bytes(n - 8)


def is_nan_key(spelling: str, value: Any) -> bool:
    """True if `value` is a non-reflexive key (a NaN, or a complex with a NaN part)."""
    kind = _kind(spelling)[0]
    if kind == "float":
        return math.isnan(float(value))
    if kind == "complex":
        c = complex(value)
        return math.isnan(c.real) or math.isnan(c.imag)
    return False


def canonical(spelling: str, value: Any) -> Any:
    """The value pymap would store and return, as a hashable Python object.

    Python equality on canonical values equals Go's ``==`` for every
    non-NaN value (``0.0 == -0.0`` in both); the sign of zero is kept.
    ints (and ``__index__`` objects) -> int; floats rounded to float32 for
    float32; strings -> str (bytes decoded with surrogateescape);
    [N]byte -> bytes; struct{} -> None.
    """
    k = _kind(spelling)
    kind = k[0]
    if kind == "int":
        return operator.index(value)
    if kind == "bool":
        return bool(value)
    if kind == "float":
        x = float(value)
        return _f32(x) if k[1] == 32 else x
    if kind == "complex":
        c = complex(value)
        if k[1] == 64:
            c = complex(_f32(c.real), _f32(c.imag))
        return c
    if kind == "string":
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8", "surrogateescape")
        return value
    if kind == "pointer":
        return operator.index(value)
    if kind == "empty":
        return None
    return bytes(value)


def _ftok(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def token(spelling: str, value: Any) -> Any:
    """An exact comparison token: like :func:`canonical`, but -0.0 differs
    from +0.0 and every NaN is the same token."""
    kind = _kind(spelling)[0]
    c = canonical(spelling, value)
    if kind == "float":
        return ("f", _ftok(c))
    if kind == "complex":
        return ("c", _ftok(c.real), _ftok(c.imag))
    return (kind, c)


# ---------------------------------------------------------------------------
# Strategies


def go_versions() -> st.SearchStrategy[str]:
    """The modelled Go versions, ``pymap.GO_VERSIONS``."""
    return st.sampled_from(tuple(pymap.GO_VERSIONS))


def type_spellings(spellings: Iterable[str] = KEY_SPELLINGS, *, arrays: bool = True) -> st.SearchStrategy[str]:
    """Go type spellings: those given, plus (if `arrays`) ``[N]byte`` for any
    N in 0..300 (inline up to 128, indirect above)."""
    base = st.sampled_from(tuple(spellings))
    if not arrays:
        return base
    return st.one_of(base, st.integers(0, 300).map(lambda n: f"[{n}]byte"))


def map_types(keys: st.SearchStrategy[str] | None = None,
              elems: st.SearchStrategy[str] | None = None) -> st.SearchStrategy:
    """``pymap.MapType`` objects built from key and elem spelling strategies."""
    keys = keys if keys is not None else type_spellings()
    elems = elems if elems is not None else type_spellings(ELEM_SPELLINGS)
    return st.builds(pymap.MapType, keys, elems)


def values(spelling: Any, *, which: str = "key", allow_nan: bool = True,
           max_string: int = 24) -> st.SearchStrategy:
    """Python values pymap accepts for one Go type.

    `spelling` is a Go spelling, or a MapType together with ``which="key"``
    or ``"elem"``.  Every generated value round-trips through pymap to
    :func:`canonical` of itself (float32 values are exactly representable,
    strings are valid UTF-8).
    """
    s = _spelling_of(spelling, which)
    k = _kind(s)
    kind = k[0]
    if kind == "int":
        signed, bits = k[1], k[2]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        edges = st.sampled_from(sorted({lo, hi, 0, 1, min(hi, 8), max(lo, -1)}))
        return st.one_of(edges, st.integers(lo, hi), st.integers(max(lo, -20), min(hi, 300)))
    if kind == "bool":
        return st.booleans()
    if kind == "float":
        fl = st.floats(width=k[1], allow_nan=allow_nan)
        special = [0.0, -0.0, 1.0, math.inf, -math.inf] + ([math.nan] if allow_nan else [])
        return st.one_of(st.sampled_from(special), fl, st.integers(-50, 50).map(float))
    if kind == "complex":
        part = st.one_of(st.sampled_from([0.0, -0.0, 1.0]), st.floats(width=k[1] // 2, allow_nan=allow_nan))
        return st.builds(complex, part, part)
    if kind == "string":
        return st.one_of(st.sampled_from(["", "a", "k1", "\u00e9", "x" * 40]),
                         st.text(st.characters(codec="utf-8"), max_size=max_string))
    if kind == "pointer":
        return st.one_of(st.sampled_from([0, 8, (1 << 64) - 8]), st.integers(0, (1 << 64) - 1))
    if kind == "empty":
        return st.none()
    n = k[1]
    if n == 0:
        return st.just(b"")
    return st.one_of(st.binary(min_size=n, max_size=n),
                     st.integers(0, 255).map(lambda b: bytes([b]) * n),
                     st.integers(0, 1000).map(lambda i: nth_value(s, i)))


def _boundaries(go: str | None) -> tuple[int, ...]:
    """The growth boundaries of version `go` (every version's when None)."""
    if go is None:
        return BOUNDARY_COUNTS
    facts = pymap.version_facts(go)
    if facts.map_impl == "swiss":
        return BOUNDARY_COUNTS_SWISS
    return BOUNDARY_COUNTS_121 if facts.classic_load_factor == 6.0 else BOUNDARY_COUNTS_65


def growth_counts(go: str | None = None, *, max_count: int = 1700) -> st.SearchStrategy[int]:
    """Entry counts biased to the growth boundaries (each boundary -1, +0, +1).

    With `go` given only that version's boundaries are used, as
    ``pymap.version_facts(go)`` describes its map: the Swiss-table ones
    (8, 9, 14, 15, 28, 29, ... 896, 897) on a Swiss version, the classic
    ones at the version's load factor (6.0 or 6.5 per bucket) otherwise;
    counts above `max_count` are left out.
    """
    bounds = _boundaries(go)
    near = sorted({b + d for b in bounds for d in (-1, 0, 1) if 0 <= b + d <= max_count})
    return st.one_of(st.sampled_from(near), st.integers(0, max_count))


def hints(*, max_hint: int = 2000, go: str | None = None) -> st.SearchStrategy[int]:
    """``make`` hints: tiny (-2..9), near the growth boundaries (of the map
    implementation of version `go` -- both classic load factors on a classic
    version, the Swiss-table boundaries with 897 and 1792 on a Swiss one --
    or of every version when None), moderate (0..max_hint) and huge or
    negative ones that Go treats as 0."""
    if go is None:
        bounds = BOUNDARY_COUNTS
    elif pymap.version_facts(go).map_impl == "swiss":
        bounds = BOUNDARY_COUNTS_SWISS
    else:
        bounds = tuple(sorted(set(BOUNDARY_COUNTS_65 + BOUNDARY_COUNTS_121)))
    near = sorted({b + d for b in bounds for d in (-1, 0, 1) if b + d <= max_hint})
    return st.one_of(st.integers(-2, 9), st.sampled_from(near),
                     st.integers(0, max_hint), st.sampled_from(BOGUS_HINTS))


@st.composite
def op_sequences(draw, key: str = "int64", elem: str = "int64", *, go: str | None = None,
                 max_blocks: int = 12, max_count: int = 500, max_churn: int = 300):
    """Lists of operations for one map, as tuples understood by :func:`apply_op`:

    ``("insert", k, v)``, ``("lookup", k)``, ``("delete", k)``, ``("clear",)``
    and ``("iterate",)``.  Blocks are: fill with fresh keys up to a count
    near a growth boundary of `go` (see :func:`growth_counts`); sliding-window
    churn (insert a fresh key, delete the oldest live one, repeated -- this
    drives same-size growth on a classic map, and tombstones, pruning or
    growth on a Swiss map); and single operations on random or previously
    used keys.
    """
    key, elem = normalize_spelling(key), normalize_spelling(elem)
    ops: list[tuple] = []
    live: dict = {}  # canonical -> key, in insertion order (approximation of the map)
    counter = 0
    space = key_space(key)

    def fresh():
        nonlocal counter
        for _ in range(space or 1 << 20):
            k = nth_value(key, counter)
            counter += 1
            if is_nan_key(key, k) or canonical(key, k) not in live:
                return k
        return None

    for _ in range(draw(st.integers(1, max_blocks))):
        block = draw(st.sampled_from(("fill", "churn", "single", "single", "single")))
        if block == "fill":
            target = draw(growth_counts(go, max_count=max_count))
            while len(live) < target:
                k = fresh()
                if k is None:
                    break
                ops.append(("insert", k, nth_value(elem, counter)))
                live[canonical(key, k)] = k
        elif block == "churn":
            steps = draw(st.integers(1, max_churn))
            for _ in range(steps):
                k = fresh()
                if k is None:
                    break
                ops.append(("insert", k, nth_value(elem, counter)))
                live[canonical(key, k)] = k
                if len(live) > 1:
                    oldest = next(iter(live))
                    ops.append(("delete", live.pop(oldest)))
        else:
            op = draw(st.sampled_from(("insert", "lookup", "delete", "clear", "iterate")))
            if op in ("insert", "lookup", "delete"):
                if live and draw(st.booleans()):
                    k = draw(st.sampled_from(list(live.values())))
                else:
                    k = draw(values(key))
                if op == "insert":
                    ops.append(("insert", k, draw(values(elem))))
                    if not is_nan_key(key, k):
                        live.setdefault(canonical(key, k), k)
                elif op == "delete":
                    ops.append(("delete", k))
                    if not is_nan_key(key, k):
                        live.pop(canonical(key, k), None)
                else:
                    ops.append(("lookup", k))
            elif op == "clear":
                ops.append(("clear",))
                live.clear()
            else:
                ops.append(("iterate",))
    return ops


def apply_op(m: "pymap.GoMap", op: tuple, model: "MapModel | None" = None) -> Any:
    """Apply one operation of :func:`op_sequences` to `m` (and to `model`).

    Returns the lookup result (or the sentinel ``MISSING``), the bool of a
    delete, or the list of items of an iteration.  When `model` is given the
    result is checked against it and AssertionError raised on a mismatch.
    """
    name = op[0]
    if name == "insert":
        m[op[1]] = op[2]
        if model is not None:
            model.assign(op[1], op[2])
        return None
    if name == "lookup":
        got = m.get(op[1], MISSING)
        if model is not None:
            found, want = model.lookup(op[1])
            if found:
                _check(got is not MISSING and token(model.elem, got) == token(model.elem, want),
                       f"lookup {op[1]!r}: got {got!r}, want {want!r}")
            else:
                _check(got is MISSING, f"lookup {op[1]!r}: got {got!r}, want missing")
        return got
    if name == "delete":
        got = m.delete(op[1])
        if model is not None:
            want = model.delete(op[1])
            _check(got == want, f"delete {op[1]!r}: got {got!r}, want {want!r}")
        return got
    if name == "clear":
        m.clear()
        if model is not None:
            model.clear()
        return None
    if name == "iterate":
        items = list(m.items())
        if model is not None:
            model.check_items(items)
        return items
    raise ValueError(f"unknown operation {op!r}")


class _Missing:
    def __repr__(self):
        return "MISSING"


#: Sentinel returned by lookups of absent keys in :func:`apply_op`.
MISSING = _Missing()


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


# ---------------------------------------------------------------------------
# The dict model


class MapModel:
    """What a Go map holds, as a plain dict plus a list of NaN entries.

    ``entries`` maps :func:`canonical` keys to ``(stored_key, elem)``; the
    stored key is the last one assigned (Go overwrites the key on update for
    float, complex and string keys, so +0 then -0 stores -0).  Entries with
    NaN keys are kept in ``nans`` (their elems): every NaN assignment adds
    one, lookups and deletes never find them, and only a real clear removes
    them -- on versions without the clear builtin (``version_facts(go).
    clear_builtin`` is False: Go 1.19, 1.20) ``m.clear()`` is the
    range-delete idiom, which for non-reflexive key types is an
    iterate-and-delete loop that leaves NaN entries in place.
    """

    def __init__(self, key: str, elem: str, go: str):
        self.key = normalize_spelling(key)
        self.elem = normalize_spelling(elem)
        self.go = go
        self.clear_builtin = pymap.version_facts(go).clear_builtin
        self.reflexive = _kind(self.key)[0] not in ("float", "complex")
        self.entries: dict = {}
        self.nans: list = []

    def __len__(self) -> int:
        return len(self.entries) + len(self.nans)

    def contains(self, k) -> bool:
        return not is_nan_key(self.key, k) and canonical(self.key, k) in self.entries

    def assign(self, k, v) -> None:
        v = canonical(self.elem, v)
        if is_nan_key(self.key, k):
            self.nans.append(v)
        else:
            c = canonical(self.key, k)
            self.entries[c] = (c, v)

    def lookup(self, k) -> tuple[bool, Any]:
        if is_nan_key(self.key, k):
            return False, None
        e = self.entries.get(canonical(self.key, k))
        return (False, None) if e is None else (True, e[1])

    def delete(self, k) -> bool:
        if is_nan_key(self.key, k):
            return False
        return self.entries.pop(canonical(self.key, k), None) is not None

    def clear(self) -> None:
        self.entries.clear()
        if self.reflexive or self.clear_builtin:
            self.nans.clear()

    def stored_keys(self) -> list:
        return [e[0] for e in self.entries.values()]

    def oldest(self):
        return next(iter(self.entries.values()))[0]

    def items_counter(self) -> Counter:
        c = Counter((token(self.key, k), token(self.elem, v)) for k, v in self.entries.values())
        nan_tok = ("f", "nan") if _kind(self.key)[0] == "float" else "nan-complex"
        for v in self.nans:
            c[(nan_tok, token(self.elem, v))] += 1
        return c

    def key_token(self, k):
        """:func:`token` of a key, with one shared token for every NaN key."""
        if is_nan_key(self.key, k):
            return ("f", "nan") if _kind(self.key)[0] == "float" else "nan-complex"
        return token(self.key, k)

    def _item_token(self, k, v):
        return (self.key_token(k), token(self.elem, v))

    def check_items(self, items: list) -> None:
        """Check that `items` (a full iteration) is exactly the model's content."""
        got = Counter(self._item_token(k, v) for k, v in items)
        want = self.items_counter()
        if got != want:
            extra = got - want
            missing = want - got
            raise AssertionError(
                f"iteration mismatch: {len(items)} items, model has {len(self)}; "
                f"unexpected {list(extra.items())[:5]}, missing {list(missing.items())[:5]}")


# ---------------------------------------------------------------------------
# Tombstone layout (TestMapTombstones)


def tombstone_check(chains: list) -> None:
    """Go's MapTombstoneCheck over ``m.buckets()``.

    In every chain the tophash sequence must be [live | emptyOne]* followed by
    emptyRest*, and the last slot that is not emptyRest must not be emptyOne.
    """
    for idx, chain in enumerate(chains):
        tops = b"".join(bytes(b.tophash) for b in chain)
        n = sum(1 for t in tops if t != 0)
        for pos, t in enumerate(tops):
            if pos < n and t == 0:
                raise AssertionError(f"chain {idx}: early emptyRest at slot {pos}: {tops.hex()}")
            if pos >= n and t != 0:
                raise AssertionError(f"chain {idx}: late non-emptyRest at slot {pos}: {tops.hex()}")
            if pos == n - 1 and t == 1:
                raise AssertionError(f"chain {idx}: last non-emptyRest slot {pos} is emptyOne: {tops.hex()}")


# ---------------------------------------------------------------------------
# The state machine


def map_machine(go: str = pymap.DEFAULT_GO, key: str = "int64", elem: str = "int64",
                seed: int | None = 0, *, max_count: int | None = None, check_tombstones: bool = True,
                max_examples: int | None = None, stateful_step_count: int | None = None):
    """Return a configured ``RuleBasedStateMachine`` subclass for one map type.

    ``go`` is one of ``pymap.GO_VERSIONS`` (default ``pymap.DEFAULT_GO``), a
    Swiss-table or a classic version: ``pymap.version_facts(go)`` decides
    which; ``key``/``elem`` are Go spellings; ``seed`` seeds
    ``pymap.Runtime(go, seed=seed)`` of every test case (``None``:
    Hypothesis draws the seed, so it is part of the example).  Fill rules
    never go past ``max_count`` entries (default: 420 on a classic version,
    900 on a Swiss one, so that the 897th insert splits a 1024-slot table
    and doubles the directory).  Bind it for pytest with
    ``TestX = map_machine(...).TestCase``; adjust its settings through
    ``TestX.settings = hypothesis.settings(...)``.

    Rules: make (initialize, with :func:`hints` of the version), remake,
    insert, fill to a growth-boundary count of the version (:func:`growth_counts`),
    update (on a full 8-entry small map too), lookup (present and random;
    string keys also looked up as bytes), delete present, delete absent,
    clear, sliding-window churn, full iteration (random or explicit start:
    ``start_bucket``/``offset`` on a classic map, ``entry_offset``/
    ``dir_offset`` on a Swiss map), and iteration with inserts, updates and
    deletes while iterating (plus clear where a clear ends what live
    iterators still produce: on a Swiss map, and on the classic versions
    with ``version_facts(go).classic_clear_seq``).  The iteration checks Go's
    guarantees: an entry present for the whole iteration is produced exactly
    once, a deleted entry not yet reached is never produced, every produced
    key and elem is current, and no entry removed by a clear is produced
    after it.

    Invariants after every step: ``m.check()`` (the implementation's
    consistency checker), and ``len(m)`` equals the model size and the
    header's count (``m.count`` classic, ``m.used`` Swiss).  On a classic
    map with ``check_tombstones``, :func:`tombstone_check` over
    ``m.buckets()``; on a Swiss map, ``m.tombstone_possible`` stays False
    where the version has no such flag, and a small map has exactly
    ``len(m)`` full slots.
    """
    if go not in pymap.GO_VERSIONS:
        raise ValueError(f"go must be one of {pymap.GO_VERSIONS}, not {go!r}")
    facts = pymap.version_facts(go)
    swiss = facts.map_impl == "swiss"
    if max_count is None:
        max_count = 900 if swiss else 420
    key = normalize_spelling(key)
    elem = normalize_spelling(elem)
    mtype = pymap.MapType(key, elem)
    key_values = values(key)
    elem_values = values(elem)
    space = key_space(key)
    kkind = _kind(key)[0]
    nonreflexive = kkind in ("float", "complex")
    nan_key = math.nan if kkind == "float" else complex(math.nan, 0.0)
    actions = ["insert", "delete", "update", "stop"]
    if nonreflexive:
        actions.append("insert_nan")
    if swiss or facts.classic_clear_seq:
        actions.append("clear")
    actions = tuple(actions)

    class GoMapMachine(RuleBasedStateMachine):
        go_version = go
        key_spelling = key
        elem_spelling = elem
        map_type = mtype

        def __init__(self):
            super().__init__()
            self.rt = None
            self.m = None
            self.model = MapModel(key, elem, go)
            self.counter = 0

        # -- helpers -------------------------------------------------------
        def _fresh_key(self, avoid=frozenset()):
            entries = self.model.entries
            limit = space if space is not None else 1 << 30
            if len(entries) + len(avoid) >= limit:
                return None
            for _ in range(min(limit, 1 << 20)):
                k = nth_value(key, self.counter)
                self.counter += 1
                c = canonical(key, k)
                if c not in entries and c not in avoid:
                    return k
            return None

        def _put(self, k, v):
            self.m[k] = v
            self.model.assign(k, v)

        # -- rules ---------------------------------------------------------
        @initialize(hint=hints(go=go), rt_seed=st.just(seed) if seed is not None else st.integers(0, (1 << 64) - 1))
        def make(self, hint, rt_seed):
            self.rt = pymap.Runtime(go=go, seed=rt_seed)
            self.m = self.rt.make_map(mtype, hint=hint)
            self.model = MapModel(key, elem, go)

        def _header_count(self):
            return self.m.used if swiss else self.m.count

        @rule(hint=hints(go=go))
        def remake(self, hint):
            self.m = self.rt.make_map(mtype, hint=hint)
            self.model = MapModel(key, elem, go)
            _check(self._header_count() == 0 and len(self.m) == 0, "a new map is not empty")

        @rule(k=key_values, v=elem_values)
        def insert(self, k, v):
            self._put(k, v)

        @rule(count=growth_counts(go, max_count=max_count))
        def fill_to(self, count):
            while len(self.model) < count:
                k = self._fresh_key()
                if k is None:
                    break
                self._put(k, nth_value(elem, self.counter))

        @precondition(lambda self: len(self.model.entries) > 0)
        @rule(data=st.data(), v=elem_values)
        def update(self, data, v):
            k = data.draw(st.sampled_from(self.model.stored_keys()), label="key")
            self._put(k, v)

        @rule(k=key_values, as_bytes=st.booleans())
        def lookup(self, k, as_bytes):
            q = k.encode("utf-8") if (as_bytes and kkind == "string") else k
            found, want = self.model.lookup(k)
            got = self.m.get(q, MISSING)
            if found:
                _check(got is not MISSING and token(elem, got) == token(elem, want),
                       f"m.get({q!r}) = {got!r}, want {want!r}")
            else:
                _check(got is MISSING, f"m.get({q!r}) = {got!r}, want the default")
                try:
                    self.m[q]
                except KeyError:
                    pass
                else:
                    raise AssertionError(f"m[{q!r}] did not raise KeyError")
            _check((q in self.m) == found, f"({q!r} in m) != {found}")

        @precondition(lambda self: len(self.model.entries) > 0)
        @rule(data=st.data())
        def lookup_present(self, data):
            k = data.draw(st.sampled_from(self.model.stored_keys()), label="key")
            got = self.m[k]
            want = self.model.lookup(k)[1]
            _check(token(elem, got) == token(elem, want), f"m[{k!r}] = {got!r}, want {want!r}")

        @precondition(lambda self: len(self.model.entries) > 0)
        @rule(data=st.data(), use_del=st.booleans())
        def delete_present(self, data, use_del):
            k = data.draw(st.sampled_from(self.model.stored_keys()), label="key")
            if use_del:
                del self.m[k]
            else:
                _check(self.m.delete(k) is True, f"m.delete({k!r}) of a present key is not True")
            self.model.delete(k)

        @rule(k=key_values, use_del=st.booleans())
        def delete_absent(self, k, use_del):
            assume(not self.model.contains(k))
            if use_del:
                try:
                    del self.m[k]
                except KeyError:
                    pass
                else:
                    raise AssertionError(f"del m[{k!r}] of an absent key did not raise KeyError")
            else:
                _check(self.m.delete(k) is False, f"m.delete({k!r}) of an absent key is not False")

        @rule()
        def clear(self):
            self.m.clear()
            self.model.clear()

        @rule(steps=st.one_of(st.sampled_from([1, 8, 64, 300]), st.integers(1, 400)))
        def churn(self, steps):
            for _ in range(steps):
                k = self._fresh_key()
                if k is None:
                    break
                self._put(k, nth_value(elem, self.counter))
                if len(self.model.entries) > 1:
                    old = self.model.oldest()
                    del self.m[old]
                    self.model.delete(old)

        @rule(data=st.data(), method=st.sampled_from(["items", "keys", "values", "iter"]),
              explicit=st.booleans())
        def iterate(self, data, method, explicit):
            kw = {}
            if explicit and swiss:
                offsets = st.one_of(st.integers(0, 16), st.integers(0, (1 << 64) - 1))
                kw["entry_offset"] = data.draw(offsets, label="entry_offset")
                kw["dir_offset"] = data.draw(offsets, label="dir_offset")
            elif explicit:
                kw["start_bucket"] = data.draw(st.integers(0, (1 << self.m.B) - 1), label="start_bucket")
                kw["offset"] = data.draw(st.integers(0, 7), label="offset")
            if method == "iter":
                it = iter(self.m) if not kw else self.m.keys(**kw)
            else:
                it = getattr(self.m, method)(**kw)
            if explicit and len(self.model):
                start = (it.entry_offset, it.dir_offset) if swiss else (it.start_bucket, it.offset)
                _check(start == tuple(kw.values()), f"explicit iterator start {kw} not kept: {start}")
            got = list(it)
            if method == "items":
                self.model.check_items(got)
                return
            want = self.model.items_counter()
            if method in ("keys", "iter"):
                gotc = Counter(self.model.key_token(k) for k in got)
                wantc = Counter(kt for (kt, _), n in want.items() for _ in range(n))
            else:
                gotc = Counter(token(elem, v) for v in got)
                wantc = Counter(vt for (_, vt), n in want.items() for _ in range(n))
            _check(gotc == wantc, f"{method}() mismatch: got {len(got)}, model {len(self.model)}")

        @precondition(lambda self: len(self.model) > 0)
        @rule(data=st.data())
        def iterate_mutating(self, data):
            n0 = len(self.model)
            plan = data.draw(st.lists(
                st.tuples(st.integers(0, n0 - 1), st.sampled_from(actions), st.integers(1, 40)),
                min_size=1, max_size=4), label="plan")
            at: dict = {}
            for pos, act, cnt in plan:
                at.setdefault(pos, []).append((act, cnt))
            model = self.model
            start_keys = set(model.entries)
            start_nans = Counter(token(elem, v) for v in model.nans)
            nan_added: Counter = Counter()
            nan_after_clear: Counter = Counter()  # NaN entries inserted after the last clear
            nan_seen_after_clear: Counter = Counter()
            touched: set = set()  # canonical keys deleted or inserted during the iteration
            deleted: set = set()
            seen: Counter = Counter()
            nan_seen: Counter = Counter()
            cleared = False
            completed = True
            for pos, (k, v) in enumerate(self.m.items()):
                if is_nan_key(key, k):
                    if cleared:
                        # A clear removes every NaN entry; on a Swiss map a NaN
                        # inserted after the clear may still be reached.
                        vt = token(elem, v)
                        nan_seen_after_clear[vt] += 1
                        _check(swiss and nan_seen_after_clear[vt] <= nan_after_clear[vt],
                               f"NaN entry {v!r} produced after clear on {go}")
                    nan_seen[token(elem, v)] += 1
                else:
                    c = canonical(key, k)
                    _check(c not in deleted, f"iterator produced {k!r} after it was deleted")
                    _check(c in model.entries, f"iterator produced {k!r}, which is not in the map")
                    sk, sv = model.entries[c]
                    _check(token(key, k) == token(key, sk), f"iterator produced key {k!r}, stored {sk!r}")
                    _check(token(elem, v) == token(elem, sv), f"iterator produced {k!r}: {v!r}, current {sv!r}")
                    seen[c] += 1
                    _check(seen[c] == 1, f"iterator produced {k!r} twice")
                stop = False
                for act, cnt in at.get(pos, ()):
                    if act == "stop":
                        stop = True
                    elif act == "insert":
                        for _ in range(cnt):
                            nk = self._fresh_key(avoid=touched)
                            if nk is None:
                                break
                            touched.add(canonical(key, nk))
                            self._put(nk, nth_value(elem, self.counter))
                    elif act == "insert_nan":
                        for _ in range(cnt):
                            nv = nth_value(elem, self.counter)
                            self.counter += 1
                            self._put(nan_key, nv)
                            nan_added[token(elem, canonical(elem, nv))] += 1
                            nan_after_clear[token(elem, canonical(elem, nv))] += 1
                    elif act in ("delete", "update"):
                        for _ in range(cnt):
                            if not model.entries:
                                break
                            dk = data.draw(st.sampled_from(model.stored_keys()), label=act)
                            if act == "delete":
                                del self.m[dk]
                                model.delete(dk)
                                touched.add(canonical(key, dk))
                                deleted.add(canonical(key, dk))
                            else:
                                self._put(dk, data.draw(elem_values, label="elem"))
                    elif act == "clear":
                        self.m.clear()
                        deleted |= set(model.entries)
                        touched |= set(model.entries)
                        model.clear()
                        cleared = True
                        nan_after_clear.clear()
                        nan_seen_after_clear.clear()
                    self.m.check()
                if stop:
                    completed = False
                    break
            if completed and not cleared:
                for c in start_keys - deleted:
                    _check(seen[c] == 1, f"iterator missed {model.entries[c][0]!r}")
                _check(not (start_nans - nan_seen), f"iterator missed NaN entries {start_nans - nan_seen}")
            _check(not (nan_seen - (start_nans + nan_added)), f"unexpected NaN entries {nan_seen}")

        # -- invariants ----------------------------------------------------
        @invariant()
        def consistent(self):
            if self.m is None:
                return
            self.m.check()
            n = len(self.m)
            hc = self._header_count()
            _check(n == hc, f"len(m) = {n} but m.{'used' if swiss else 'count'} = {hc}")
            _check(n == len(self.model), f"len(m) = {n}, model has {len(self.model)}")
            if swiss:
                if not facts.swiss_tombstone_possible:
                    _check(not self.m.tombstone_possible, f"tombstonePossible set on {go}")
                if self.m.small:
                    full = sum(1 for c in self.m.small_group().ctrl if c < 0x80)
                    _check(full == n, f"small map: {full} full slots, len {n}")
            elif check_tombstones and self.m.B <= 8:
                tombstone_check(self.m.buckets())

    safe = re.sub(r"\W", "_", f"{go}_{key}_{elem}")
    GoMapMachine.__name__ = GoMapMachine.__qualname__ = f"GoMapMachine_{safe}"
    cfg = dict(deadline=None, suppress_health_check=list(HealthCheck))
    if max_examples is not None:
        cfg["max_examples"] = max_examples
    if stateful_step_count is not None:
        cfg["stateful_step_count"] = stateful_step_count
    GoMapMachine.TestCase.settings = settings(**cfg)
    return GoMapMachine
