"""Go type spellings and the codecs between Python values and Go memory images.

A key or elem crosses into the C core as the bytes Go would hold in memory
(little-endian, ``sizeof(T)`` bytes), except strings, which cross as their
contents.  Each kind has one encoder (Python value -> image, raising
TypeError/OverflowError/ValueError naming what was expected) and one
decoder (image -> Python value).
"""
from __future__ import annotations

import operator
import re
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._native import ffi, lib

Encoder = Callable[[Any], bytes]
Decoder = Callable[[Any], Any]  # takes a cdata uint8_t* to the image

_INT_ALIASES = {"int": "int64", "uint": "uint64", "uintptr": "uint64", "byte": "uint8", "rune": "int32"}

# An array length as Go reads it: an integer literal (ASCII only), with
# underscores between digits and its four bases; a leading 0 alone is octal
# ("[010]byte" is [8]byte).  The element is byte or its alias uint8.
_INT_LIT = (r"0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*"
            r"|[1-9](?:_?[0-9])*")
_BYTES_RE = re.compile(r"\[(" + _INT_LIT + r")\](?:byte|uint8)", re.ASCII)
_PTRBYTES_RE = re.compile(r"\*\[(" + _INT_LIT + r")\](?:byte|uint8)", re.ASCII)
_ARRAY_RE = re.compile(r"\*?\[([^\]]*)\](?:byte|uint8)")


def _array_len(lit: str) -> int:
    """The value of a Go integer literal already matched by _INT_LIT."""
    digits = lit.replace("_", "")
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "01234567":
        return int(digits[1:], 8)      # legacy octal: 010 == 8
    if digits[0] != "0" and len(digits) > 20:
        return 1 << 64                 # decimal beyond int64 (and int()'s digit limit)
    return int(digits, 0)


def split_map_type(spelling: str) -> tuple[str, str]:
    """``map[K]V`` -> (K, V); the key may hold brackets (``map[[4]byte]int64``)."""
    s = spelling.strip()
    if not s.startswith("map["):
        raise ValueError(f"{_short(spelling)} is not a map type spelling map[K]V")
    depth = 0
    for i in range(3, len(s)):
        depth += {"[": 1, "]": -1}.get(s[i], 0)
        if depth == 0:
            key, elem = s[4:i].strip(), s[i + 1:].strip()
            if key and elem:
                return key, elem
            break
    raise ValueError(f"{_short(spelling)} is not a map type spelling map[K]V")


@dataclass(frozen=True)
class Kind:
    """One Go type as pymap models it: spelling, kind code, size and codecs."""

    spelling: str
    code: int
    size: int
    encode: Encoder
    decode: Decoder


def _int_codec(name: str, size: int, signed: bool) -> tuple[Encoder, Decoder]:
    code = {1: "b", 2: "h", 4: "i", 8: "q"}[size]
    fmt = struct.Struct("<" + (code if signed else code.upper()))
    lo, hi = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
    pack, unpack = fmt.pack, fmt.unpack

    def encode(v: Any) -> bytes:
        if type(v) is not int:
            if isinstance(v, bool) or not hasattr(type(v), "__index__"):
                raise TypeError(f"{name} value must be an int, not {type(v).__name__}")
            v = operator.index(v)
        if not lo <= v <= hi:
            raise OverflowError(f"{v} is out of range for {name} [{lo}, {hi}]")
        return pack(v)

    def decode(p: Any) -> int:
        return unpack(ffi.buffer(p, size))[0]

    return encode, decode


def _short(v: Any) -> str:
    """repr(v), cut to a readable length (an int of 300 digits names itself by size)."""
    r = repr(v)
    return r if len(r) <= 40 else f"{r[:20]}...({len(r)} characters)"


def _float_codec(name: str, size: int) -> tuple[Encoder, Decoder]:
    fmt = struct.Struct("<f" if size == 4 else "<d")
    pack, unpack = fmt.pack, fmt.unpack

    def encode(v: Any) -> bytes:
        if type(v) is not float and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise TypeError(f"{name} value must be a float or int, not {type(v).__name__}")
        try:
            return pack(float(v))     # an int beyond float64 overflows here, not in struct
        except OverflowError:
            raise OverflowError(f"{_short(v)} is out of range for {name}") from None

    def decode(p: Any) -> float:
        return unpack(ffi.buffer(p, size))[0]

    return encode, decode


def _complex_codec(name: str, size: int) -> tuple[Encoder, Decoder]:
    fmt = struct.Struct("<ff" if size == 8 else "<dd")
    pack, unpack = fmt.pack, fmt.unpack

    def encode(v: Any) -> bytes:
        if isinstance(v, bool) or not isinstance(v, (complex, float, int)):
            raise TypeError(f"{name} value must be a complex, float or int, not {type(v).__name__}")
        try:
            c = complex(v)
            return pack(c.real, c.imag)
        except OverflowError:
            raise OverflowError(f"{_short(v)} is out of range for {name}") from None

    def decode(p: Any) -> complex:
        re_, im = unpack(ffi.buffer(p, size))
        return complex(re_, im)

    return encode, decode


def _encode_bool(v: Any) -> bytes:
    if type(v) is not bool and not isinstance(v, np.bool_):
        raise TypeError(f"bool value must be a bool or numpy.bool_, not {type(v).__name__}")
    return b"\x01" if v else b"\x00"


def _decode_bool(p: Any) -> bool:
    return p[0] != 0


def _encode_string(v: Any) -> bytes:
    if isinstance(v, str):      # str and its subclasses (numpy.str_)
        # surrogateescape: the str a key with invalid UTF-8 decodes to
        # ("\udcff" for b"\xff") finds that key again.
        return v.encode("utf-8", "surrogateescape")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"string value must be a str or bytes, not {type(v).__name__}")


_HEADER = struct.Struct("<QQ")   # a Go string header: data pointer, length


def _decode_string(p: Any) -> str:
    data, n = _HEADER.unpack(ffi.buffer(p, 16))
    raw = ffi.buffer(ffi.cast("uint8_t *", data), n)[:] if n and data else b""
    return raw.decode("utf-8", "surrogateescape")


def _bytes_codec(n: int) -> tuple[Encoder, Decoder]:
    name = f"[{n}]byte"

    def encode(v: Any) -> bytes:
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name} value must be bytes of length {n}, not {type(v).__name__}")
        b = bytes(v)
        if len(b) != n:
            raise ValueError(f"{name} value must be exactly {n} bytes, got {len(b)}")
        return b

    def decode(p: Any) -> bytes:
        return ffi.buffer(p, n)[:] if n else b""

    return encode, decode


def _encode_empty(v: Any) -> bytes:
    if v is not None:
        raise TypeError(f"struct{{}} value must be None, not {type(v).__name__}")
    return b""


def _encode_pointer(v: Any) -> bytes:
    if isinstance(v, bool) or not hasattr(type(v), "__index__"):
        raise TypeError(f"pointer value must be an int address, not {type(v).__name__}")
    v = operator.index(v)
    if not 0 <= v < 1 << 64:
        raise OverflowError(f"pointer address {v} is out of range [0, 2**64)")
    return v.to_bytes(8, "little")


def _decode_pointer(p: Any) -> int:
    return int.from_bytes(ffi.buffer(p, 8), "little")


def _ptrbytes_codec(n: int) -> tuple[Encoder, Decoder]:
    name = f"*[{n}]byte"

    def encode(v: Any) -> bytes:
        """None is nil; bytes (at most N) are the contents of a new([N]byte)."""
        if v is None:
            return b""
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name} value must be None (nil) or bytes (the new pointee's contents), "
                            f"not {type(v).__name__}")
        b = bytes(v)
        if len(b) > n:
            raise ValueError(f"{name} value must be at most {n} bytes, got {len(b)}")
        return b + bytes(n - len(b))

    def decode(p: Any) -> Any:
        addr = int.from_bytes(ffi.buffer(p, 8), "little")
        return ffi.buffer(ffi.cast("uint8_t *", addr), n)[:] if addr else None

    return encode, decode


def parse_kind(spelling: str) -> Kind:
    """Return the Kind for a Go type spelling, or raise ValueError."""
    if not isinstance(spelling, str):
        raise TypeError(f"a Go type spelling must be a str, not {type(spelling).__name__}")
    s = spelling.strip()
    s = _INT_ALIASES.get(s, s)
    m = re.fullmatch(r"(u?)int(8|16|32|64)", s)
    if m:
        size = int(m.group(2)) // 8
        enc, dec = _int_codec(s, size, signed=not m.group(1))
        return Kind(spelling, lib.PM_KIND_UINT if m.group(1) else lib.PM_KIND_INT, size, enc, dec)
    if s == "bool":
        return Kind(spelling, lib.PM_KIND_BOOL, 1, _encode_bool, _decode_bool)
    if s in ("float32", "float64"):
        size = int(s[5:]) // 8
        enc, dec = _float_codec(s, size)
        return Kind(spelling, lib.PM_KIND_FLOAT, size, enc, dec)
    if s in ("complex64", "complex128"):
        size = int(s[7:]) // 8
        enc, dec = _complex_codec(s, size)
        return Kind(spelling, lib.PM_KIND_COMPLEX, size, enc, dec)
    if s == "string":
        return Kind(spelling, lib.PM_KIND_STRING, 16, _encode_string, _decode_string)
    if s in ("pointer", "unsafe.Pointer"):
        return Kind(spelling, lib.PM_KIND_POINTER, 8, _encode_pointer, _decode_pointer)
    if s.replace(" ", "") == "struct{}":
        return Kind(spelling, lib.PM_KIND_EMPTY, 0, _encode_empty, lambda p: None)
    compact = s.replace(" ", "")
    a = _ARRAY_RE.fullmatch(compact)
    if a and not re.fullmatch(_INT_LIT, a.group(1), re.ASCII):
        lit = a.group(1) if len(a.group(1)) <= 20 else a.group(1)[:20] + "..."
        raise ValueError(f"the array length {lit!r} is not a Go integer literal of at most 2**24 "
                         "(decimal, 0x hex, 0o or 0 octal, 0b binary; ASCII digits)")
    m = _BYTES_RE.fullmatch(compact)
    if m:
        n = _array_len(m.group(1))
        if n > 1 << 24:
            raise ValueError(f"{_short(spelling)}: arrays over 2**24 bytes are not modelled")
        enc, dec = _bytes_codec(n)
        return Kind(f"[{n}]byte", lib.PM_KIND_BYTES, n, enc, dec)   # one spelling per type
    m = _PTRBYTES_RE.fullmatch(compact)
    if m:
        n = _array_len(m.group(1))
        if not 1 <= n <= 1 << 24:
            raise ValueError(f"{_short(spelling)}: pointees of 1..2**24 bytes are modelled")
        enc, dec = _ptrbytes_codec(n)
        return Kind(f"*[{n}]byte", lib.PM_KIND_PTRBYTES, n, enc, dec)
    if s in ("any", "interface{}", "error") or s.startswith("interface"):
        raise ValueError(f"{_short(spelling)}: interface types are not modelled by pymap")
    raise ValueError(
        f"unknown Go type spelling {_short(spelling)}; expected bool, int8..int64, uint8..uint64, int, uint, "
        "uintptr, byte, rune, float32, float64, complex64, complex128, string, pointer, [N]byte, "
        "*[N]byte (elems) or struct{}"
    )
