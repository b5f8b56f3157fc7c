//go:build go1.27

package main

import "unsafe"

// abi.MapType of 1.27 after the 48-byte abi.Type: Key, Elem, Group, Hasher,
// GroupSize, KeysOff, KeyStride, ElemsOff, ElemStride, ElemOff (interleaved
// layout only), Flags.
func readSwissDesc(rt unsafe.Pointer) swissDesc {
	word := func(off uintptr) uintptr { return *(*uintptr)(unsafe.Add(rt, off)) }
	return swissDesc{
		groupSize:  word(typeSize + 32),
		keysOff:    word(typeSize + 40),
		keyStride:  word(typeSize + 48),
		elemsOff:   word(typeSize + 56),
		elemStride: word(typeSize + 64),
		elemOff:    word(typeSize + 72),
		flags:      *(*uint32)(unsafe.Add(rt, typeSize+80)),
	}
}
