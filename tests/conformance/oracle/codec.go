package main

// Value codecs: how a Go value of each supported type is read from a JSON
// request and written into a JSON response.
//
//   integer kinds, bool     JSON integer (signed kinds signed; bool 0/1)
//   float32/float64         IEEE bit pattern as an unsigned integer
//   complex64/complex128    [realbits, imagbits]
//   string, [N]byte         lowercase hex of the bytes
//   struct{}                null
//   unsafe.Pointer, *T      integer address (requests may only pass 0/null)

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unsafe"
)

type codec[T any] struct {
	name string
	// parse decodes a request value.
	parse func(raw []byte) (T, error)
	// appendJSON appends the JSON encoding of *p.
	appendJSON func(buf []byte, p *T) []byte
	// gen returns the i-th key used by memory requests.
	gen func(i int) T
	// distinct is the number of distinct values gen can produce (0: unbounded).
	distinct int
}

func trimRaw(raw []byte) []byte { return bytes.TrimSpace(raw) }

func isNull(raw []byte) bool {
	raw = trimRaw(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// parseBits parses a JSON integer (possibly negative, or true/false) into a
// bit pattern of the given width, accepting both the signed and the unsigned
// spelling of the same bits.
func parseBits(raw []byte, bits int) (uint64, error) {
	s := string(trimRaw(raw))
	switch s {
	case "true":
		return 1, nil
	case "false", "null", "":
		return 0, nil
	}
	var u uint64
	if len(s) > 0 && s[0] == '-' {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		if bits < 64 && (v < -(int64(1) << (bits - 1))) {
			return 0, fmt.Errorf("value %s out of range for %d bits", s, bits)
		}
		u = uint64(v)
	} else {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, err
		}
		if bits < 64 && v >= uint64(1)<<bits {
			return 0, fmt.Errorf("value %s out of range for %d bits", s, bits)
		}
		u = v
	}
	if bits < 64 {
		u &= uint64(1)<<bits - 1
	}
	return u, nil
}

type signedInt interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

type unsignedInt interface {
	~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

func signedCodec[T signedInt](name string) codec[T] {
	bits := int(unsafe.Sizeof(T(0))) * 8
	distinct := 0
	if bits < 32 {
		distinct = 1 << bits
	}
	return codec[T]{
		name: name,
		parse: func(raw []byte) (T, error) {
			u, err := parseBits(raw, bits)
			if err != nil {
				return 0, err
			}
			return T(int64(u<<(64-bits)) >> (64 - bits)), nil
		},
		appendJSON: func(buf []byte, p *T) []byte { return strconv.AppendInt(buf, int64(*p), 10) },
		gen:        func(i int) T { return T(i) },
		distinct:   distinct,
	}
}

func unsignedCodec[T unsignedInt](name string) codec[T] {
	bits := int(unsafe.Sizeof(T(0))) * 8
	distinct := 0
	if bits < 32 {
		distinct = 1 << bits
	}
	return codec[T]{
		name: name,
		parse: func(raw []byte) (T, error) {
			u, err := parseBits(raw, bits)
			return T(u), err
		},
		appendJSON: func(buf []byte, p *T) []byte { return strconv.AppendUint(buf, uint64(*p), 10) },
		gen:        func(i int) T { return T(i) },
		distinct:   distinct,
	}
}

func boolCodec() codec[bool] {
	return codec[bool]{
		name: "bool",
		parse: func(raw []byte) (bool, error) {
			u, err := parseBits(raw, 8)
			if err != nil {
				return false, err
			}
			if u > 1 {
				return false, fmt.Errorf("bool value must be 0 or 1")
			}
			return u == 1, nil
		},
		appendJSON: func(buf []byte, p *bool) []byte {
			// Read the raw byte: a stale slot could in principle hold any byte.
			return strconv.AppendUint(buf, uint64(*(*uint8)(unsafe.Pointer(p))), 10)
		},
		gen:      func(i int) bool { return i == 1 },
		distinct: 2,
	}
}

func float64Codec() codec[float64] {
	return codec[float64]{
		name: "float64",
		parse: func(raw []byte) (float64, error) {
			u, err := parseBits(raw, 64)
			return math.Float64frombits(u), err
		},
		appendJSON: func(buf []byte, p *float64) []byte {
			return strconv.AppendUint(buf, math.Float64bits(*p), 10)
		},
		gen: func(i int) float64 { return float64(i) },
	}
}

func float32Codec() codec[float32] {
	return codec[float32]{
		name: "float32",
		parse: func(raw []byte) (float32, error) {
			u, err := parseBits(raw, 32)
			return math.Float32frombits(uint32(u)), err
		},
		appendJSON: func(buf []byte, p *float32) []byte {
			return strconv.AppendUint(buf, uint64(math.Float32bits(*p)), 10)
		},
		gen: func(i int) float32 { return float32(i) },
	}
}

// splitPair splits a JSON array of two scalars "[a, b]".
func splitPair(raw []byte) ([]byte, []byte, error) {
	raw = trimRaw(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, nil, errors.New("complex value must be [realbits, imagbits]")
	}
	parts := bytes.Split(raw[1:len(raw)-1], []byte(","))
	if len(parts) != 2 {
		return nil, nil, errors.New("complex value must be [realbits, imagbits]")
	}
	return parts[0], parts[1], nil
}

func complex128Codec() codec[complex128] {
	return codec[complex128]{
		name: "complex128",
		parse: func(raw []byte) (complex128, error) {
			if isNull(raw) {
				return 0, nil
			}
			a, b, err := splitPair(raw)
			if err != nil {
				return 0, err
			}
			re, err := parseBits(a, 64)
			if err != nil {
				return 0, err
			}
			im, err := parseBits(b, 64)
			if err != nil {
				return 0, err
			}
			return complex(math.Float64frombits(re), math.Float64frombits(im)), nil
		},
		appendJSON: func(buf []byte, p *complex128) []byte {
			buf = append(buf, '[')
			buf = strconv.AppendUint(buf, math.Float64bits(real(*p)), 10)
			buf = append(buf, ',')
			buf = strconv.AppendUint(buf, math.Float64bits(imag(*p)), 10)
			return append(buf, ']')
		},
		gen: func(i int) complex128 { return complex(float64(i), 0) },
	}
}

func complex64Codec() codec[complex64] {
	return codec[complex64]{
		name: "complex64",
		parse: func(raw []byte) (complex64, error) {
			if isNull(raw) {
				return 0, nil
			}
			a, b, err := splitPair(raw)
			if err != nil {
				return 0, err
			}
			re, err := parseBits(a, 32)
			if err != nil {
				return 0, err
			}
			im, err := parseBits(b, 32)
			if err != nil {
				return 0, err
			}
			return complex(math.Float32frombits(uint32(re)), math.Float32frombits(uint32(im))), nil
		},
		appendJSON: func(buf []byte, p *complex64) []byte {
			buf = append(buf, '[')
			buf = strconv.AppendUint(buf, uint64(math.Float32bits(real(*p))), 10)
			buf = append(buf, ',')
			buf = strconv.AppendUint(buf, uint64(math.Float32bits(imag(*p))), 10)
			return append(buf, ']')
		},
		gen: func(i int) complex64 { return complex(float32(i), 0) },
	}
}

// parseHexString decodes a JSON string of hex digits.
func parseHexString(raw []byte) ([]byte, error) {
	raw = trimRaw(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, errors.New("expected a hex string")
	}
	out := make([]byte, hex.DecodedLen(len(raw)-2))
	_, err := hex.Decode(out, raw[1:len(raw)-1])
	return out, err
}

func appendHexString(buf []byte, b []byte) []byte {
	const digits = "0123456789abcdef"
	buf = append(buf, '"')
	for _, c := range b {
		buf = append(buf, digits[c>>4], digits[c&15])
	}
	return append(buf, '"')
}

func stringCodec() codec[string] {
	return codec[string]{
		name: "string",
		parse: func(raw []byte) (string, error) {
			b, err := parseHexString(raw)
			return string(b), err
		},
		appendJSON: func(buf []byte, p *string) []byte {
			type stringHeader struct {
				data unsafe.Pointer
				n    int
			}
			h := (*stringHeader)(unsafe.Pointer(p))
			if h.data == nil || h.n <= 0 {
				return append(buf, `""`...)
			}
			return appendHexString(buf, unsafe.Slice((*byte)(h.data), h.n))
		},
		gen: func(i int) string { return fmt.Sprintf("key-%d", i) },
	}
}

// byteArrayCodec serves any [N]byte type (and any other plain-memory type
// whose value is written as its raw bytes).
func byteArrayCodec[T any](name string) codec[T] {
	var zero T
	size := int(unsafe.Sizeof(zero))
	distinct := 0
	if size < 4 {
		distinct = 1 << (8 * size)
	}
	return codec[T]{
		name: name,
		parse: func(raw []byte) (T, error) {
			var v T
			b, err := parseHexString(raw)
			if err != nil {
				return v, err
			}
			if b != nil && len(b) != size {
				return v, fmt.Errorf("%s needs %d bytes, got %d", name, size, len(b))
			}
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), size), b)
			return v, nil
		},
		appendJSON: func(buf []byte, p *T) []byte {
			return appendHexString(buf, unsafe.Slice((*byte)(unsafe.Pointer(p)), size))
		},
		gen: func(i int) T {
			var v T
			b := unsafe.Slice((*byte)(unsafe.Pointer(&v)), size)
			for j := 0; j < size && j < 8; j++ {
				b[j] = byte(uint64(i) >> (8 * j))
			}
			return v
		},
		distinct: distinct,
	}
}

func emptyStructCodec() codec[struct{}] {
	return codec[struct{}]{
		name: "struct{}",
		parse: func(raw []byte) (struct{}, error) {
			if !isNull(raw) {
				return struct{}{}, errors.New("struct{} value must be null")
			}
			return struct{}{}, nil
		},
		appendJSON: func(buf []byte, p *struct{}) []byte { return append(buf, "null"...) },
		gen:        func(i int) struct{} { return struct{}{} },
		distinct:   1,
	}
}

// ptrArena gives pointer keys distinct, valid addresses: a request value
// 1..len(ptrArena) stands for &ptrArena[value-1] (0/null is nil), and an
// address inside the arena is accepted as itself. The header reports the
// arena ("ptr_arena": [base address, length, stride]).
var ptrArena [1 << 16]int64

func arenaBase() uintptr { return uintptr(unsafe.Pointer(&ptrArena[0])) }

// pointerCodec serves unsafe.Pointer and *T. Requests may only store nil or
// arena addresses: fabricated addresses would crash the garbage collector.
func pointerCodec[T any](name string) codec[T] {
	return codec[T]{
		name: name,
		parse: func(raw []byte) (T, error) {
			var v T
			u, err := parseBits(raw, 64)
			if err != nil {
				return v, err
			}
			base := uint64(arenaBase())
			switch {
			case u == 0:
			case u <= uint64(len(ptrArena)):
				*(*unsafe.Pointer)(unsafe.Pointer(&v)) = unsafe.Pointer(&ptrArena[u-1])
			case u >= base && u < base+8*uint64(len(ptrArena)) && (u-base)%8 == 0:
				*(*unsafe.Pointer)(unsafe.Pointer(&v)) = unsafe.Pointer(&ptrArena[(u-base)/8])
			default:
				return v, fmt.Errorf("%s values must be 0/null (nil), an arena index 1..%d or an arena address", name, len(ptrArena))
			}
			return v, nil
		},
		appendJSON: func(buf []byte, p *T) []byte {
			return strconv.AppendUint(buf, uint64(*(*uintptr)(unsafe.Pointer(p))), 10)
		},
		gen: func(i int) T {
			var v T
			*(*unsafe.Pointer)(unsafe.Pointer(&v)) = unsafe.Pointer(&ptrArena[i%len(ptrArena)])
			return v
		},
		distinct: len(ptrArena),
	}
}

// keyReflexive reports whether k == k for every value of the type (the
// compiler's types.IsReflexive): false for floats, complex, interfaces and
// aggregates containing them.
func keyReflexive(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.Interface:
		return false
	case reflect.Array:
		return keyReflexive(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !keyReflexive(t.Field(i).Type) {
				return false
			}
		}
	}
	return true
}
