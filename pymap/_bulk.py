"""Bulk inputs and outputs: NumPy arrays and buffers to and from the C core's pm_vec.

Inputs are read in place (``ffi.from_buffer``), so the dtype must be the
kind's exact memory image:

=================  ==============================================================
kind               accepted input
=================  ==============================================================
intN / uintN       that exact width and signedness (``<i8`` for int64, ...)
float / complex    ``<f4``/``<f8`` / ``<c8``/``<c16``
bool               ``bool``
pointer            ``<u8`` (opaque addresses)
[N]byte            ``S{N}`` or ``V{N}``, or an (n, N) ``uint8`` array
string             a NumPy ``S`` array (trailing NULs stripped, NumPy's
                   semantics), or a list of str/bytes (str encoded as UTF-8
                   once; keys that end in NUL must go this way)
struct{}           a sequence of None (keys); ``None`` for elems
=================  ==============================================================

Lists and tuples of numbers are converted to the kind's dtype first (a copy;
NumPy raises OverflowError for values out of range).  Every check happens
before the C call, and the C core checks lengths again before its first
operation, so bad input changes nothing.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._native import ffi, lib
from ._types import Kind

_NUMERIC = {
    lib.PM_KIND_INT: "i",
    lib.PM_KIND_UINT: "u",
    lib.PM_KIND_FLOAT: "f",
    lib.PM_KIND_COMPLEX: "c",
}


def dtype_of(k: Kind) -> Optional[np.dtype]:
    """The NumPy dtype of a kind's memory image (None for strings and struct{})."""
    c = k.code
    if c in _NUMERIC:
        return np.dtype("<" + _NUMERIC[c] + str(k.size))
    if c == lib.PM_KIND_BOOL:
        return np.dtype(np.bool_)
    if c == lib.PM_KIND_POINTER:
        return np.dtype("<u8")
    if c == lib.PM_KIND_BYTES:
        return np.dtype(f"V{k.size}")
    return None


class Vec:
    """A pm_vec over Python-owned memory; keeps that memory alive."""

    __slots__ = ("c", "n", "_keep")

    def __init__(self, n: int, data: Any = ffi.NULL, stride: int = 0, offsets: Any = ffi.NULL,
                 keep: tuple = ()) -> None:
        self.c = ffi.new("pm_vec *", {
            "data": data, "offsets": offsets, "stride": stride, "n": n,
            "data_len": 0 if data == ffi.NULL else ffi.sizeof(data),
            "noffsets": 0 if offsets == ffi.NULL else ffi.sizeof(offsets) // 8,
        })
        self.n = n
        self._keep = keep


def _buf(x: Any) -> Any:
    return ffi.from_buffer("uint8_t[]", x)


_ONE = b"\0"  # a valid address for empty inputs


def _contiguous_1d(a: np.ndarray, what: str) -> None:
    if a.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{what} must be contiguous (strided views are refused: pass a copy)")


def _as_array(obj: Any, what: str) -> Any:
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, (list, tuple, str)):
        return None
    try:
        return np.asarray(memoryview(obj))
    except TypeError:
        raise TypeError(f"{what} must be a NumPy array, a buffer, a list or a tuple, not {type(obj).__name__}") from None


def _string_vec(obj: Any, what: str) -> Vec:
    arr = _as_array(obj, what)
    if arr is not None and arr.dtype.kind == "S":
        _contiguous_1d(arr, what)
        n = len(arr)
        if arr.dtype.itemsize == 0 or n == 0:
            return Vec(n, _buf(_ONE), 0, keep=(arr,))
        return Vec(n, _buf(arr), arr.dtype.itemsize, keep=(arr,))
    if arr is not None and arr.dtype.kind not in "UO":
        raise TypeError(f"{what}: a string map takes a NumPy S array or a list of str/bytes, not dtype {arr.dtype}")
    items = list(arr) if arr is not None else obj
    if isinstance(items, str):
        raise TypeError(f"{what} must be a sequence of strings, not one str")
    enc = []
    for i, v in enumerate(items):
        if isinstance(v, str):   # str, numpy.str_ (the items of a U array)
            enc.append(v.encode("utf-8", "surrogateescape"))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            enc.append(bytes(v))
        else:
            raise TypeError(f"{what}[{i}] must be a str or bytes, not {type(v).__name__}")
    blob = b"".join(enc) or b"\0"
    offsets = np.zeros(len(enc) + 1, dtype=np.int64)
    if enc:
        np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=offsets[1:])
    return Vec(len(enc), _buf(blob), 0, ffi.from_buffer("int64_t[]", offsets),
               keep=(blob, offsets))


def to_vec(k: Kind, obj: Any, what: str) -> Vec:
    """Validate obj against kind k and view it as a pm_vec (zero-copy for arrays)."""
    if k.code == lib.PM_KIND_STRING:
        return _string_vec(obj, what)
    if k.code == lib.PM_KIND_EMPTY:
        if isinstance(obj, np.ndarray) or not isinstance(obj, (list, tuple)):
            raise TypeError(f"{what}: struct{{}} keys go as a list of None")
        for i, v in enumerate(obj):
            if v is not None:
                raise TypeError(f"{what}[{i}] must be None for struct{{}}, not {type(v).__name__}")
        return Vec(len(obj), _buf(_ONE), 0)
    want = dtype_of(k)
    assert want is not None
    arr = _as_array(obj, what)
    if arr is None:
        if k.code == lib.PM_KIND_BYTES:
            arr = np.array([k.encode(v) for v in obj], dtype=want) if len(obj) else np.empty(0, want)
        else:
            for v in obj:
                k.encode(v)  # the scalar codec's TypeError/OverflowError, naming the value
            arr = np.array(obj, dtype=want) if len(obj) else np.empty(0, want)
    if k.code == lib.PM_KIND_BYTES:
        if arr.ndim == 2 and arr.dtype == np.uint8 and arr.shape[1] == k.size:
            if not arr.flags.c_contiguous:
                raise ValueError(f"{what} must be contiguous (strided views are refused: pass a copy)")
            n = arr.shape[0]
            return Vec(n, _buf(arr) if arr.size else _buf(_ONE), k.size, keep=(arr,))
        if arr.dtype.kind not in "SV" or arr.dtype.itemsize != k.size or arr.dtype.names is not None:
            raise TypeError(f"{what}: [{k.size}]byte takes dtype S{k.size} or V{k.size} "
                            f"or an (n, {k.size}) uint8 array, not {arr.dtype} with shape {arr.shape}")
    elif arr.dtype != want:
        raise TypeError(f"{what}: a {k.spelling} map takes dtype {want} ({want.name}), not {arr.dtype}")
    _contiguous_1d(arr, what)
    n = len(arr)
    if n == 0 or k.size == 0:
        return Vec(n, _buf(_ONE), k.size, keep=(arr,))
    if k.code == lib.PM_KIND_BOOL and (arr.view(np.uint8) > 1).any():
        # A NumPy bool byte other than 0/1 (a view of other bytes) is True, as
        # NumPy reads it; Go's bool is the byte 1.  Normalised on a copy.
        arr = arr.view(np.uint8) != 0
    return Vec(n, _buf(arr), k.size, keep=(arr,))


def elems_out(k: Kind, n: int) -> tuple[Any, Any]:
    """(NumPy output array or None, the C buffer lookups write into)."""
    if k.code == lib.PM_KIND_STRING:
        hdr = np.zeros((n, 2), dtype=np.uint64)
        return hdr, _buf(hdr) if n else ffi.NULL
    if k.code == lib.PM_KIND_EMPTY:
        return None, ffi.NULL
    out = np.zeros(n, dtype=dtype_of(k))
    return out, _buf(out) if n and k.size else ffi.NULL


def decode_strings(hdr: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Turn the 16-byte string headers lookups wrote into an object array of str, releasing them."""
    n = len(hdr)
    res = np.empty(n, dtype=object)
    res[:] = ""
    try:
        for i in np.flatnonzero(found):
            p, ln = int(hdr[i, 0]), int(hdr[i, 1])
            if p and ln:
                res[i] = ffi.buffer(ffi.cast("uint8_t *", p), ln)[:].decode("utf-8", "surrogateescape")
    finally:
        if n:
            lib.pm_release_strings(_buf(hdr), n)
    return res
