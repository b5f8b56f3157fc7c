"""MapType, GoMap and its two implementations (SwissMap, ClassicMap), and the iterator.

This layer only converts values and errors; every Go behaviour lives in
csrc/.  It is deliberately thin: one cffi call per map operation.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Optional

import numpy as np

from . import _bulk
from ._errors import InvariantError, MapDroppedError
from ._errors import raise_for as _raise
from ._native import ffi, lib
from ._process import ForkSafeLock
from ._runtime import (_ASSIGN_PATHS, _IMPL_NAMES, _INT64_MAX, _INT64_MIN, Runtime,  # noqa: F401
                       default_runtime)
from ._frozen import Frozen, init_once, set_attr, value_class
from ._types import Decoder, Kind, parse_kind, split_map_type

_TYPES: dict[tuple[str, str], "MapType"] = {}   # interned by canonical spelling
_TYPES_BY_PTR: dict[int, "MapType"] = {}       # the C map type's address -> its MapType
_TYPES_LOCK = ForkSafeLock()   # unlocked in a forked child (_process)


class MapType:
    """map[K]V as the Go compiler lays it out on 64-bit platforms.

    ``MapType("string", "int64")`` or, as Go spells it,
    ``MapType("map[string]int64")``.  Array lengths are Go integer literals
    (``[0x10]byte``, ``[1_024]byte``, ``[010]byte`` is [8]byte) and
    ``[N]uint8`` is ``[N]byte``.

    Immutable and interned: ``MapType("int64", "int64")`` is always the same
    object, so a map coming back from the C core (a Pool, a scenario) finds
    its type (``MapType._of``).  Every layout fact is computed by the C core.
    """

    __slots__ = ("key", "elem", "_k", "_e", "_ptr", "key_size", "elem_size", "key_slot_size",
                 "elem_slot_size", "bucket_size", "key_align", "elem_align", "bucket_keys_offset",
                 "bucket_elems_offset", "bucket_overflow_offset", "slot_size", "elem_offset",
                 "group_size", "assign_path", "indirect_key", "indirect_elem", "reflexive_key",
                 "need_key_update", "has_pointers", "_zero", "_is_str_elem", "_is_ptr_elem",
                 "_elem_ref", "_elem_img", "_i64", "__weakref__")

    def __new__(cls, key: str, elem: Optional[str] = None) -> "MapType":
        if elem is None and isinstance(key, str):
            key, elem = split_map_type(key)      # MapType("map[string]int64")
        if not isinstance(key, str) or not isinstance(elem, str):
            raise TypeError("MapType(key, elem) takes two Go type spellings (str), or one map[K]V")
        k, e = parse_kind(key), parse_kind(elem)
        with _TYPES_LOCK:
            t = _TYPES.get((k.spelling, e.spelling))
            if t is None:
                t = object.__new__(cls)
                t._build(key, elem, k, e)
                _TYPES[(k.spelling, e.spelling)] = t
                _TYPES_BY_PTR[int(ffi.cast("uintptr_t", t._ptr))] = t
        return t

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"pymap.MapType is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"pymap.MapType is immutable: cannot delete {name!r}")

    def __copy__(self) -> "MapType":
        return self

    def __deepcopy__(self, memo: Any) -> "MapType":
        return self

    def __reduce__(self) -> Any:
        return (MapType, (self.key, self.elem))

    @staticmethod
    def _of(ptr: Any) -> "MapType":
        """The MapType of a C map type (every C type comes from a MapType)."""
        return _TYPES_BY_PTR[int(ffi.cast("uintptr_t", ptr))]

    def _build(self, key: str, elem: str, k: Kind, e: Kind) -> None:
        set_ = object.__setattr__
        if k.code == lib.PM_KIND_PTRBYTES:
            raise ValueError(f"{key!r}: *[N]byte is modelled as an elem type only")
        ptr = lib.pm_maptype_new(k.code, k.size, e.code, e.size)
        if ptr == ffi.NULL:
            raise ValueError(ffi.string(lib.pm_last_error()).decode())
        set_(self, "key", key)
        set_(self, "elem", elem)
        set_(self, "_k", k)
        set_(self, "_e", e)
        set_(self, "_ptr", ffi.gc(ptr, lib.pm_maptype_free))
        info = ffi.new("pm_typeinfo *")
        lib.pm_maptype_info(self._ptr, info)
        facts = {
            "key_size": info.key_size, "elem_size": info.elem_size,
            "key_slot_size": info.key_slot_size, "elem_slot_size": info.elem_slot_size,
            "bucket_size": info.bucket_size, "key_align": info.key_align, "elem_align": info.elem_align,
            "bucket_keys_offset": info.bucket_keys_offset, "bucket_elems_offset": info.bucket_elems_offset,
            "bucket_overflow_offset": info.bucket_overflow_offset,
            "slot_size": info.slot_size,          # Swiss: sizeof(struct{K'; V'})
            "elem_offset": info.elem_offset,      # Swiss: V's offset in a slot
            "group_size": info.group_size,        # Swiss: control word + 8 slots
            "assign_path": _ASSIGN_PATHS[info.assign_path],
            "indirect_key": bool(info.indirect_key), "indirect_elem": bool(info.indirect_elem),
            "reflexive_key": bool(info.reflexive_key), "need_key_update": bool(info.need_key_update),
            "has_pointers": bool(info.has_pointers),
        }
        for name, v in facts.items():
            set_(self, name, v)
        is_str, is_ptr = e.code == lib.PM_KIND_STRING, e.code == lib.PM_KIND_PTRBYTES
        set_(self, "_zero", e.encode(_zero_value(e)))
        set_(self, "_is_str_elem", is_str)
        set_(self, "_is_ptr_elem", is_ptr)
        # The elem image holds a counted reference the reader releases.
        set_(self, "_elem_ref", is_str or is_ptr)
        set_(self, "_elem_img", 16 if is_str else 8 if is_ptr else e.size)
        set_(self, "_i64", all(x.code == lib.PM_KIND_INT and x.size == 8 for x in (k, e)))

    def __repr__(self) -> str:
        return f"pymap.MapType({self.key!r}, {self.elem!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MapType) and (self._k.spelling, self._e.spelling) == (other._k.spelling, other._e.spelling)

    def __hash__(self) -> int:
        return hash((self._k.spelling, self._e.spelling))

def _zero_value(k: Kind) -> Any:
    c = k.code
    if c == lib.PM_KIND_BOOL:
        return False
    if c in (lib.PM_KIND_INT, lib.PM_KIND_UINT, lib.PM_KIND_POINTER):
        return 0
    if c == lib.PM_KIND_FLOAT:
        return 0.0
    if c == lib.PM_KIND_COMPLEX:
        return 0j
    if c == lib.PM_KIND_STRING:
        return ""
    if c == lib.PM_KIND_BYTES:
        return bytes(k.size)
    return None


@value_class
class Bucket:
    """One bucket of a chain: the decoded contents of every slot, whatever its tophash."""

    tophash: bytes
    keys: tuple
    elems: tuple
    origin: str  # "array" | "prealloc" | "heap"
    index: Optional[int]  # position in its array; None for heap buckets


@value_class
class Group:
    """One Swiss group: the control word and the decoded contents of all 8
    slots, stale bytes as Go leaves them (cleared pointerful slots decode as
    zero values)."""

    ctrl: bytes   # byte i is slot i: 0x80 empty, 0xFE deleted, else H2 of its key
    keys: tuple
    elems: tuple


@value_class
class Table:
    """One table of a Swiss map (table.go)."""

    index: int          # first directory entry of its run
    local_depth: int
    capacity: int       # slots
    used: int
    growth_left: int
    tombstones: int     # 0xFE control bytes, counted
    groups: list


@value_class
class SwissMapMemory:
    """Bytes charged to a Swiss map, each object at the size class its Go version charges."""

    map: int            # the 48-byte maps.Map
    directory: int      # the []*table directory
    tables: int         # the 32-byte table objects
    groups: int         # the tables' group arrays
    small_group: int    # a small map's one group
    indirect: int       # boxes of keys/elems over 128 bytes
    pointees: int       # what *[N]byte elems point at
    total: int          # everything reachable from the map
    allocated: int      # bytes charged since make (its TotalAlloc share)


@value_class
class MapMemory:
    """Bytes charged to a classic map, each object at the slot size its Go version charges."""

    hmap: int
    extra: int
    buckets: int
    oldbuckets: int
    overflow: int
    overflow_slice: int
    indirect: int
    pointees: int
    total: int
    allocated: int


@value_class
class FreeListStats:
    """The model's own bucket free list (never part of Go's accounting)."""

    hits: int           #: allocations served from the list
    misses: int         #: recyclable allocations that went to malloc
    bytes_held: int
    objects_held: int
    max_bytes: int      #: bound on bytes_held
    max_object: int     #: larger objects are never held


def freelist_stats() -> FreeListStats:
    """Counters of the process-wide bucket free list that recycles the model's memory."""
    st = ffi.new("pm_freelist_stats *")
    lib.pm_freelist_get_stats(st)
    return FreeListStats(st.hits, st.misses, st.bytes_held, st.objects_held, st.max_bytes, st.max_object)


def freelist_trim() -> None:
    """Return everything the free list holds to malloc."""
    lib.pm_freelist_trim()


_ORIGINS = {lib.PM_ORIGIN_ARRAY: "array", lib.PM_ORIGIN_PREALLOC: "prealloc", lib.PM_ORIGIN_HEAP: "heap"}


class GoMap(Frozen):
    """A Go map held by the C model: a SwissMap on Go 1.24+ (the default
    builds), a ClassicMap (hmap/bmap) on 1.19-1.23 and the "-noswiss" rows.

    GoMap has the Go operations; each subclass adds the inspection of its
    implementation, and asking one for the other's (``m.B`` on a Swiss map)
    raises AttributeError naming both.  GoMap is not registered as a
    collections.abc.MutableMapping on purpose: Go maps differ from Python
    mappings (NaN keys are never found and each insert adds an entry;
    deleting a missing key is not an error in Go; iteration order is
    randomised and mutation during iteration is legal).
    """

    __slots__ = ("_t", "_rt", "_ptr", "_kenc", "_venc", "_vdec", "_outlen", "__weakref__")

    _impl = ""
    _copy_hint = "use m.clone() (Go's maps.Clone) for a second map"

    def __init_subclass__(cls, **kw: Any) -> None:
        # The handle's class is its state (drop() swaps it, the int64 fast
        # paths are subclasses): a class from outside pymap cannot join in.
        if cls.__module__ != __name__:
            raise TypeError("pymap.GoMap cannot be subclassed; wrap a GoMap in your own class instead")
        super().__init_subclass__(**kw)

    def __new__(cls, t: MapType, hint: int = 0, runtime: Optional[Runtime] = None) -> "GoMap":
        rt = runtime if runtime is not None else default_runtime()
        if isinstance(rt, Runtime) and isinstance(t, MapType):
            cls = _map_class(cls, rt.map_impl, t)
        return object.__new__(cls)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: name the implementation that has it.
        for other in (ClassicMap, SwissMap):
            if other._impl != self._impl and hasattr(other, name) and not hasattr(GoMap, name):
                raise AttributeError(
                    f"{name!r} belongs to the {other._impl} map; this map (Go {self._rt.go}) is "
                    f"a {self._impl} map" + (" (a Swiss table)" if self._impl == "swiss" else ""))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init__(self, t: MapType, hint: int = 0, runtime: Optional[Runtime] = None) -> None:
        init_once(self, "_ptr")
        if not isinstance(t, MapType):
            raise TypeError(f"t must be a pymap.MapType, not {type(t).__name__}")
        if isinstance(hint, bool) or not hasattr(type(hint), "__index__"):
            raise TypeError(f"hint must be an int, not {type(hint).__name__}")
        hint = operator.index(hint)
        if not _INT64_MIN <= hint <= _INT64_MAX:
            raise OverflowError(f"hint {hint} is outside Go's int range")
        rt = runtime if runtime is not None else default_runtime()
        if not isinstance(rt, Runtime):
            raise TypeError("runtime must be a pymap.Runtime")
        out = ffi.new("pm_map **")
        rc = lib.pm_makemap(rt._ptr, t._ptr, hint, out)
        if rc != lib.PM_OK:
            _raise(rc, rt)
        self._setup(out[0], t, rt)

    @classmethod
    def _adopt(cls, ptr: Any, t: MapType, rt: Runtime) -> "GoMap":
        """Wrap a map reference handed over by the C core (the scenario runner, pools)."""
        self = object.__new__(_map_class(GoMap, _IMPL_NAMES[lib.pm_map_impl(ptr)], t))
        self._setup(ptr, t, rt)
        return self

    def drop(self) -> None:
        """Go's ``m = nil`` for this handle.  The map becomes garbage when no
        other root (another handle, an iterator, a Pool) reaches it; a GC
        cycle then frees it.  Any further use of this handle raises
        MapDroppedError."""
        # The class first: from here on every use raises MapDroppedError.
        # Then the reference goes, when the last in-flight call using it
        # returns (CPython refcounting): another thread mid-call is never
        # cut off.
        set_attr(self, "__class__", _DroppedMap)
        set_attr(self, "_ptr", None)

    @property
    def dropped(self) -> bool:
        """True once drop() was called on this handle."""
        return False

    def _setup(self, ptr: Any, t: MapType, rt: Runtime) -> None:
        set_attr(self, "_t", t)
        set_attr(self, "_rt", rt)
        set_attr(self, "_ptr", ffi.gc(ptr, lib.pm_map_release))
        set_attr(self, "_kenc", t._k.encode)
        set_attr(self, "_venc", t._e.encode)
        set_attr(self, "_vdec", t._e.decode)
        set_attr(self, "_outlen", max(t._elem_img, 1))

    # -- Go operations ---------------------------------------------------
    def __setitem__(self, key: Any, value: Any) -> None:
        k = self._kenc(key)
        v = self._venc(value)
        rc = lib.pm_mapassign(self._ptr, k, len(k), v, len(v))
        if rc:
            _raise(rc, self._rt)

    def _lookup(self, key: Any) -> tuple[bool, Any]:
        k = self._kenc(key)
        out = ffi.new("uint8_t[]", self._outlen)   # per call: lookups may run in several threads
        rc = lib.pm_mapaccess(self._ptr, k, len(k), out)
        if rc <= 0:
            if rc < 0:
                _raise(rc, self._rt)
            return False, None
        if self._t._elem_ref:
            try:
                return True, self._vdec(out)
            finally:
                lib.pm_string_release(lib.pm_deref(out))
        return True, self._vdec(out)

    def __getitem__(self, key: Any) -> Any:
        found, v = self._lookup(key)
        if not found:
            raise KeyError(key)
        return v

    def get(self, key: Any, default: Any = None) -> Any:
        found, v = self._lookup(key)
        return v if found else default

    def __contains__(self, key: Any) -> bool:
        return self._lookup(key)[0]

    def lookup(self, key: Any) -> tuple[Any, bool]:
        """Go's ``v, ok := m[k]``: the elem (zero value when absent) and ok."""
        found, v = self._lookup(key)
        return (v if found else _zero_value(self._t._e)), found

    def delete(self, key: Any) -> bool:
        """Go's delete(m, k); returns whether the key was present."""
        k = self._kenc(key)
        deleted = ffi.new("int *")
        rc = lib.pm_mapdelete(self._ptr, k, len(k), deleted)
        if rc:
            _raise(rc, self._rt)
        return bool(deleted[0])

    def __delitem__(self, key: Any) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def clear(self) -> None:
        """clear(m) from Go 1.21; on 1.19/1.20 the compiled range-delete idiom."""
        rc = lib.pm_mapclear(self._ptr)
        if rc:
            _raise(rc, self._rt)

    def __len__(self) -> int:
        return lib.pm_map_len(self._ptr)

    # -- bulk operations: one call, the loop in C --------------------------
    def _bulk_fail(self, rc: int, done: int, n: int) -> None:
        if rc == lib.PM_EARG and done == 0:
            raise ValueError(ffi.string(lib.pm_last_error()).decode())
        try:
            _raise(rc, self._rt)
        except (Exception, KeyboardInterrupt) as e:   # KeyboardInterrupt: Ctrl-C stopped the loop
            if done:  # operations 0..done-1 took effect, as they would have in Go
                e.args = (f"{e.args[0] if e.args else e} (at operation {done} of {n}: "
                          f"the first {done} took effect)",) + e.args[1:]
            raise

    def insert_many(self, keys: Any, elems: Any = None) -> None:
        """``m[keys[i]] = elems[i]`` for each i in order (elems=None: zero values).

        Exactly the same steps as one assignment at a time.  Arrays are read in
        place; see the dtype table in the README.  If operation k fails
        (MemoryError from max_alloc, a failing rand), the first k took effect.
        """
        t = self._t
        kv = _bulk.to_vec(t._k, keys, "keys")
        if elems is None:
            ev = _bulk.Vec(kv.n)
        elif t._is_ptr_elem:
            raise TypeError(f"insert_many takes no {t.elem} elems (elems=None stores nil): "
                            "use insert_range for new([N]byte) pointees, or assign one by one")
        else:
            ev = _bulk.to_vec(t._e, elems, "elems")
            if ev.n != kv.n:
                raise ValueError(f"keys and elems differ in length ({kv.n} != {ev.n})")
        done = ffi.new("int64_t *")
        rc = lib.pm_assign_many(self._ptr, kv.c, ev.c, done)
        if rc:
            self._bulk_fail(rc, done[0], kv.n)

    def lookup_many(self, keys: Any) -> tuple[Any, np.ndarray]:
        """``v, ok := m[k]`` for each key: (elems, found) as NumPy arrays.

        Missing keys give the zero value.  [N]byte elems come back as V{N},
        string elems as an object array of str, struct{} elems as None.
        """
        t = self._t
        if t._is_ptr_elem:
            raise TypeError(f"lookup_many does not return {t.elem} elems: look keys up one by one")
        kv = _bulk.to_vec(t._k, keys, "keys")
        found = np.zeros(kv.n, dtype=np.bool_)
        out, outp = _bulk.elems_out(t._e, kv.n)
        done = ffi.new("int64_t *")
        fp = _bulk._buf(found) if kv.n else ffi.NULL
        rc = lib.pm_access_many(self._ptr, kv.c, outp, fp, done)
        if t._is_str_elem:
            out = _bulk.decode_strings(out[: done[0]], found[: done[0]]) if rc else _bulk.decode_strings(out, found)
        if rc:
            self._bulk_fail(rc, 0, kv.n)
        return out, found

    def delete_many(self, keys: Any) -> int:
        """``delete(m, k)`` for each key in order; returns how many were present."""
        kv = _bulk.to_vec(self._t._k, keys, "keys")
        deleted = ffi.new("int64_t *")
        done = ffi.new("int64_t *")
        rc = lib.pm_delete_many(self._ptr, kv.c, deleted, done)
        if rc:
            self._bulk_fail(rc, done[0], kv.n)
        return deleted[0]

    def insert_range(self, start: int, stop: Optional[int] = None, step: int = 1) -> None:
        """``for i in range(start, stop, step): m[key(i)] = elem(i)``, in C.

        Integer kinds take i itself, strings ``"key-<i>"``, and a ``*[N]byte``
        elem is a fresh ``new([N]byte)`` for every i."""
        if stop is None:
            start, stop = 0, start
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if isinstance(v, bool) or not hasattr(type(v), "__index__"):
                raise TypeError(f"{name} must be an int, not {type(v).__name__}")
            if not _INT64_MIN <= operator.index(v) <= _INT64_MAX:
                raise OverflowError(f"{name} {v} is outside int64")
        start, stop, step = operator.index(start), operator.index(stop), operator.index(step)
        if step == 0:
            raise ValueError("step must not be zero")
        ints = (lib.PM_KIND_INT, lib.PM_KIND_UINT)
        t = self._t
        if t._k.code not in ints + (lib.PM_KIND_STRING,) or \
                t._e.code not in ints + (lib.PM_KIND_STRING, lib.PM_KIND_PTRBYTES):
            raise TypeError(f"insert_range needs integer or string keys and integer, string or "
                            f"*[N]byte elems, not map[{t.key}]{t.elem}")
        r = range(start, stop, step)
        if r:
            for k in (t._k, t._e):
                if k.code in ints:
                    k.encode(r[0])   # OverflowError naming the kind's range
                    k.encode(r[-1])
        done = ffi.new("int64_t *")
        rc = lib.pm_assign_range(self._ptr, start, stop, step, done)
        if rc:
            self._bulk_fail(rc, done[0], len(r))


    def __iter__(self) -> "MapIterator":
        return MapIterator(self, "keys")

    @property
    def type(self) -> MapType:
        return self._t

    @property
    def runtime(self) -> Runtime:
        return self._rt

    @property
    def impl(self) -> str:
        """"swiss" or "classic"."""
        return self._impl

    def check(self) -> None:
        """Run the consistency checker; raises InvariantError."""
        rc = lib.pm_map_check(self._ptr)
        if rc == lib.PM_EBUSY:
            _raise(rc, self._rt)
        if rc:
            raise InvariantError(ffi.string(lib.pm_last_error()).decode())


    def clone(self) -> "GoMap":
        """maps.Clone(m): a new map in the same runtime (Go 1.25+ Swiss: the same
        structure; 1.24 Swiss: rebuilt with hint = len)."""
        out = ffi.new("pm_map **")
        rc = lib.pm_mapclone(self._ptr, out)
        if rc:
            _raise(rc, self._rt)
        return GoMap._adopt(out[0], self._t, self._rt)

    def _memory(self) -> Any:
        m = ffi.new("pm_memory *")
        rc = lib.pm_map_memory(self._ptr, m)
        if rc:
            _raise(rc, self._rt)
        return m

    def _read_locked(self, fn: Callable[[], Any]) -> Any:
        """Run fn under the map's read lock (a concurrent write raises)."""
        how = lib.pm_map_read_lock(self._ptr)
        if how < 0:
            _raise(how, self._rt)
        try:
            return fn()
        finally:
            lib.pm_map_read_unlock(self._ptr, how)


class ClassicMap(GoMap):
    """Go's classic map (hmap/bmap buckets, incremental evacuation)."""

    __slots__ = ()
    _impl = "classic"

    def keys(self, start_bucket: Optional[int] = None, offset: Optional[int] = None) -> "MapIterator":
        return MapIterator(self, "keys", start_bucket, offset)

    def values(self, start_bucket: Optional[int] = None, offset: Optional[int] = None) -> "MapIterator":
        return MapIterator(self, "values", start_bucket, offset)

    def items(self, start_bucket: Optional[int] = None, offset: Optional[int] = None) -> "MapIterator":
        return MapIterator(self, "items", start_bucket, offset)

    # -- state -----------------------------------------------------------
    def _header(self) -> Any:
        h = ffi.new("pm_header *")
        rc = lib.pm_map_header(self._ptr, h)
        if rc:
            _raise(rc, self._rt)
        return h

    count = property(lambda self: lib.pm_map_len(self._ptr), doc="hmap.count")
    B = property(lambda self: self._header().B, doc="log2 of the number of buckets")
    flags = property(lambda self: self._header().flags, doc="hmap.flags (1 iterator, 2 oldIterator, 8 sameSizeGrow)")
    noverflow = property(lambda self: self._header().noverflow, doc="approximate overflow bucket count")
    nevacuate = property(lambda self: self._header().nevacuate, doc="evacuation progress")
    growing = property(lambda self: bool(self._header().growing))
    same_size_grow = property(lambda self: bool(self._header().same_size_grow))
    clear_seq = property(lambda self: self._header().clear_seq, doc="hmap.clearSeq (1.24-noswiss; else 0)")
    extra_allocated = property(lambda self: bool(self._header().extra_allocated))

    @property
    def next_overflow(self) -> Optional[int]:
        """Array index of the next preallocated overflow bucket, or None."""
        n = self._header().next_overflow
        return None if n < 0 else n

    @property
    def hash0(self) -> int:
        return self._header().hash0

    @hash0.setter
    def hash0(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("hash0 must be an int")
        if not 0 <= value < 1 << 32:
            raise ValueError("hash0 must be in [0, 2**32)")
        rc = lib.pm_set_hash0(self._ptr, value)
        if rc:
            _raise(rc, self._rt)

    def overflow_slices(self) -> dict[str, Optional[tuple[int, int]]]:
        """(len, cap) of extra.overflow and extra.oldoverflow, or None when absent."""
        h = self._header()
        return {
            "overflow": None if h.overflow_len < 0 else (h.overflow_len, h.overflow_cap),
            "oldoverflow": None if h.oldoverflow_len < 0 else (h.oldoverflow_len, h.oldoverflow_cap),
        }

    def _chains(self, old: int) -> Optional[list[list[Bucket]]]:
        """Walk the chains under the map's read lock (a concurrent write raises)."""
        how = lib.pm_map_read_lock(self._ptr)
        if how < 0:
            _raise(how, self._rt)
        try:
            return self._chains_locked(old)
        finally:
            lib.pm_map_read_unlock(self._ptr, how)

    def _chains_locked(self, old: int) -> Optional[list[list[Bucket]]]:
        t = self._t
        origin = ffi.new("int *")
        aidx = ffi.new("int64_t *")
        kdec, edec = t._k.decode, t._e.decode
        ks, es = t.key_slot_size, t.elem_slot_size
        chains: list[list[Bucket]] = []
        i = 0
        while True:
            n = lib.pm_chain_len(self._ptr, old, i)
            if n < 0:
                break
            chain = []
            for pos in range(n):
                b = lib.pm_chain_bucket(self._ptr, old, i, pos, origin, aidx)
                keys, elems = [], []
                for s in range(8):
                    kp = b + 8 + s * ks
                    ep = b + 8 + 8 * ks + s * es
                    keys.append(_decode_slot(kp, t.indirect_key, kdec))
                    elems.append(_decode_slot(ep, t.indirect_elem, edec))
                chain.append(Bucket(bytes(ffi.buffer(b, 8)), tuple(keys), tuple(elems),
                                    _ORIGINS[origin[0]], None if aidx[0] < 0 else aidx[0]))
            chains.append(chain)
            i += 1
        if i == 0:
            return None
        return chains

    def buckets(self) -> list[list[Bucket]]:
        """One chain per bucket index (array bucket first, then overflow buckets); [] while unallocated."""
        return self._chains(0) or []

    def oldbuckets(self) -> Optional[list[list[Bucket]]]:
        """The same over the old array while growing, else None."""
        return self._chains(1)

    def memory(self) -> MapMemory:
        m = self._memory()
        return MapMemory(m.hmap, m.extra, m.buckets, m.oldbuckets, m.overflow, m.overflow_slice,
                         m.indirect, m.pointees, m.total, m.allocated)

    def __repr__(self) -> str:
        h = self._header()
        return f"<pymap.GoMap map[{self._t.key}]{self._t.elem} go={self._rt.go} len={h.count} B={h.B}>"



class SwissMap(GoMap):
    """Go's Swiss-table map (internal/runtime/maps): a small group, or a
    directory of tables of groups."""

    __slots__ = ()
    _impl = "swiss"

    def keys(self, entry_offset: Optional[int] = None, dir_offset: Optional[int] = None) -> "MapIterator":
        return MapIterator(self, "keys", entry_offset, dir_offset)

    def values(self, entry_offset: Optional[int] = None, dir_offset: Optional[int] = None) -> "MapIterator":
        return MapIterator(self, "values", entry_offset, dir_offset)

    def items(self, entry_offset: Optional[int] = None, dir_offset: Optional[int] = None) -> "MapIterator":
        """A range loop; explicit entry_offset and dir_offset (both or neither) draw nothing."""
        return MapIterator(self, "items", entry_offset, dir_offset)

    def _sheader(self) -> Any:
        h = ffi.new("pm_swiss_header *")
        rc = lib.pm_swiss_header_read(self._ptr, h)
        if rc:
            _raise(rc, self._rt)
        return h

    used = property(lambda self: lib.pm_map_len(self._ptr), doc="Map.used: live entries (len)")
    dir_len = property(lambda self: self._sheader().dir_len, doc="directory entries; 0 for a small map")
    global_depth = property(lambda self: self._sheader().global_depth, doc="top hash bits selecting a table")
    global_shift = property(lambda self: self._sheader().global_shift, doc="64 - globalDepth (0 before any table)")
    clear_seq = property(lambda self: self._sheader().clear_seq, doc="clears that did work")
    tombstone_possible = property(lambda self: bool(self._sheader().tombstone_possible),
                                  doc="Map.tombstonePossible (always False on 1.24)")
    small = property(lambda self: bool(self._sheader().small), doc="dirLen == 0 and the group exists")

    @property
    def seed(self) -> int:
        """The 64-bit hash seed; settable while the map is empty (replaying a real run)."""
        return self._sheader().seed

    @seed.setter
    def seed(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("seed must be an int")
        if not 0 <= value < 1 << 64:
            raise ValueError("seed must be in [0, 2**64)")
        rc = lib.pm_set_seed(self._ptr, value)
        if rc:
            _raise(rc, self._rt)

    def _group(self, table: int, g: int) -> "Group":
        t = self._t
        p = lib.pm_swiss_group(self._ptr, table, g)
        kdec, edec = t._k.decode, t._e.decode
        kz, ez = _zero_value(t._k), _zero_value(t._e)
        keys, elems = [], []
        for s in range(8):
            # A nil box (a cleared indirect slot) decodes as the zero value, as Go's memory reads.
            kp = p + 8 + s * t.slot_size
            k = _decode_slot(kp, t.indirect_key, kdec)
            e = _decode_slot(kp + t.elem_offset, t.indirect_elem, edec)
            keys.append(kz if k is None and t.indirect_key else k)
            elems.append(ez if e is None and t.indirect_elem else e)
        return Group(bytes(ffi.buffer(p, 8)), tuple(keys), tuple(elems))

    def small_group(self) -> Optional["Group"]:
        """The small map's group, or None."""
        return self._read_locked(lambda: self._group(-1, 0) if lib.pm_swiss_group(self._ptr, -1, 0) != ffi.NULL else None)

    def _tables_locked(self, groups: bool = True) -> list["Table"]:
        h = ffi.new("pm_swiss_header *")
        lib.pm_swiss_header_read(self._ptr, h)
        out = []
        info = ffi.new("pm_swiss_table *")
        for k in range(h.ntables):
            rc = lib.pm_swiss_table_read(self._ptr, k, info)
            if rc:
                _raise(rc, self._rt)
            gs = [self._group(k, g) for g in range(info.ngroups)] if groups else []
            out.append(Table(info.index, info.local_depth, info.capacity, info.used, info.growth_left,
                             info.tombstones, gs))
        return out

    def tables(self, groups: bool = True) -> list["Table"]:
        """Each distinct table once, in directory order of its first entry
        (``groups=False``: the tables' fields only, each ``groups`` empty)."""
        return self._read_locked(lambda: self._tables_locked(groups))

    def directory(self) -> list[int]:
        """Per directory entry, the position in tables() of its table."""
        def read() -> list[int]:
            n = lib.pm_swiss_header_read(self._ptr, h) or h.dir_len
            out = ffi.new("int64_t[]", max(n, 1))
            rc = lib.pm_swiss_directory(self._ptr, out, n)
            if rc:
                _raise(rc, self._rt)
            return list(out[0:n])
        h = ffi.new("pm_swiss_header *")
        return self._read_locked(read)

    def memory(self) -> "SwissMapMemory":
        m = self._memory()
        return SwissMapMemory(m.map, m.directory, m.tables, m.groups, m.small_group, m.indirect,
                              m.pointees, m.total, m.allocated)

    def __repr__(self) -> str:
        h = self._sheader()
        return (f"<pymap.GoMap map[{self._t.key}]{self._t.elem} go={self._rt.go} swiss len={h.used} "
                f"dirLen={h.dir_len}>")


_assign_i64 = lib.pm_assign_i64
_access_i64 = lib.pm_access_i64
# What pm_access_i64 returns for "absent": a fixed odd value; an elem that
# happens to equal it is confirmed through the generic path.
_MISS = -0x5EED_F00D_0BAD_CAFE


class _DroppedMap(GoMap):
    """What a GoMap becomes after drop(): every use raises MapDroppedError."""

    __slots__ = ()
    _ALLOWED = frozenset({"__class__", "dropped", "__repr__", "_rt", "_t", "drop", "_impl"})

    def __getattribute__(self, name: str) -> Any:
        if name in _DroppedMap._ALLOWED:
            return object.__getattribute__(self, name)
        raise MapDroppedError("the map was dropped (m = nil): this handle can no longer be used")

    @property
    def dropped(self) -> bool:
        return True

    def drop(self) -> None:
        pass  # m = nil twice is still nil

    def __repr__(self) -> str:
        return "pymap.GoMap(<dropped>)"


class _I64Ops(GoMap):
    """map[int64]int64: ``m[k] = v`` and ``m[k]`` in one C call with ints by
    value (no encoding).  Everything else is the implementation's."""

    __slots__ = ()

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(key) is int and type(value) is int:
            try:
                rc = _assign_i64(self._ptr, key, value)
            except OverflowError:
                pass   # the generic path names the value and the range
            else:
                if rc:
                    _raise(rc, self._rt)
                return
        GoMap.__setitem__(self, key, value)

    def __getitem__(self, key: Any) -> Any:
        if type(key) is int:
            try:
                v = _access_i64(self._ptr, key, _MISS)
            except OverflowError:
                pass
            else:
                if v != _MISS:
                    return v
        return GoMap.__getitem__(self, key)



class _ClassicMapI64(_I64Ops, ClassicMap):
    __slots__ = ()


class _SwissMapI64(_I64Ops, SwissMap):
    __slots__ = ()


def _map_class(cls: type, impl: str, t: MapType) -> type:
    """The class a new map of implementation `impl` gets, asked for as `cls`."""
    base = SwissMap if impl == "swiss" else ClassicMap
    if cls in (GoMap, ClassicMap, SwissMap):
        if cls is not GoMap and cls is not base:
            raise TypeError(f"a {impl} runtime makes {base.__name__}s, not {cls.__name__}s")
        return (_SwissMapI64 if impl == "swiss" else _ClassicMapI64) if t._i64 else base
    return cls

def _decode_slot(p: Any, indirect: bool, dec: Decoder) -> Any:
    if indirect:
        q = lib.pm_deref(p)
        return None if q == ffi.NULL else dec(q)
    return dec(p)


_END = object()        # the iteration is over
_NOT_READ = object()   # the first entry was handed out: advance on the next call


class MapIterator(Frozen):
    """A one-shot Go range loop over a GoMap (mapiterinit / Iter.Init, then
    one mapiternext / Iter.Next per step).

    Creating it is the init: on an empty map nothing is drawn or allocated;
    otherwise it draws the start (unless given) and advances to the first
    entry.  The start is (start_bucket, offset) on a classic map and
    (entry_offset, dir_offset) on a Swiss map.
    """

    __slots__ = ("_m", "_it", "_mode", "_first", "_klen", "_elen", "_start")
    _copy_hint = "a Go range loop cannot be copied; start another with m.items()/keys()/values()"

    def __init__(self, m: GoMap, mode: str = "items", a: Optional[int] = None,
                 b: Optional[int] = None) -> None:
        init_once(self, "_m")
        if not isinstance(m, GoMap):
            raise TypeError(f"m must be a pymap.GoMap, not {type(m).__name__}")
        names = ("start_bucket", "offset") if m._impl == "classic" else ("entry_offset", "dir_offset")
        if (a is None) != (b is None):
            raise ValueError(f"give both {names[0]} and {names[1]}, or neither")
        given, av, bv = 0, 0, 0
        if a is not None:
            if isinstance(a, bool) or isinstance(b, bool):
                raise TypeError(f"{names[0]} and {names[1]} must be ints")
            av, bv = operator.index(a), operator.index(b)  # type: ignore[arg-type]
            if m._impl == "classic":
                nb = 1 << m.B
                if not 0 <= av < nb:
                    raise ValueError(f"start_bucket must be in [0, {nb})")
                if not 0 <= bv < 8:
                    raise ValueError("offset must be in [0, 8)")
            elif not (0 <= av < 1 << 64 and 0 <= bv < 1 << 64):
                raise ValueError("entry_offset and dir_offset must be in [0, 2**64)")
            given = 1
        nonempty = len(m) > 0
        out = ffi.new("pm_iter **")
        rc = lib.pm_iter_new(m._ptr, given, av, bv, out)
        if rc:
            _raise(rc, m._rt, "iter")
        set_attr(self, "_m", m)
        set_attr(self, "_it", ffi.gc(out[0], lib.pm_iter_free))
        set_attr(self, "_mode", mode)
        t = m._t
        set_attr(self, "_klen", max(t._k.size if t._k.code != lib.PM_KIND_STRING else 16, 1))
        set_attr(self, "_elen", max(t._elem_img, 1))
        ap = ffi.new("uint64_t *")
        bp = ffi.new("uint64_t *")
        lib.pm_iter_start(self._it, ap, bp)
        # An init on an empty map returns before choosing a start.
        set_attr(self, "_start", (ap[0], bp[0]) if nonempty else None)
        # A range loop reads its first entry at init: copy it now, so a write
        # to the map before the first __next__ cannot free what it reads.
        set_attr(self, "_first", self._read(0))

    def _start_part(self, impl: str, i: int) -> Optional[int]:
        if self._m._impl != impl:
            raise AttributeError(f"this iterator ranges over a {self._m._impl} map")
        return None if self._start is None else self._start[i]

    start_bucket = property(lambda self: self._start_part("classic", 0), doc="classic: the random start bucket")
    offset = property(lambda self: self._start_part("classic", 1), doc="classic: the in-bucket offset")
    entry_offset = property(lambda self: self._start_part("swiss", 0), doc="Swiss: Iter.entryOffset")
    dir_offset = property(lambda self: self._start_part("swiss", 1), doc="Swiss: Iter.dirOffset")

    def _read(self, advance: int) -> Any:
        # Buffers per call: another thread may be reading the same iterator.
        kbuf = ffi.new("uint8_t[]", self._klen)
        ebuf = ffi.new("uint8_t[]", self._elen)
        rc = lib.pm_iter_read(self._it, advance, kbuf, ebuf)
        if rc <= 0:
            if rc < 0:
                _raise(rc, self._m._rt, "iter" if rc != lib.PM_EBUSY_ITER else "")
            return _END
        t = self._m._t
        k = e = None
        try:
            if self._mode != "values":
                k = t._k.decode(kbuf)
            if self._mode != "keys":
                e = t._e.decode(ebuf)
        finally:
            if t._k.code == lib.PM_KIND_STRING:
                lib.pm_string_release(lib.pm_deref(kbuf))
            if t._elem_ref:
                lib.pm_string_release(lib.pm_deref(ebuf))
        if self._mode == "keys":
            return k
        if self._mode == "values":
            return e
        return k, e

    def __iter__(self) -> "MapIterator":
        return self

    def __next__(self) -> Any:
        v = self._first
        if v is not _NOT_READ:
            set_attr(self, "_first", _NOT_READ)
        else:
            v = self._read(1)
        if v is _END:
            set_attr(self, "_first", _END)
            raise StopIteration
        return v
